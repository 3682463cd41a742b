#include "plain_rows.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <set>

namespace haven::bench {
namespace {

// A column name for a field name ("set" fields keep their name).
std::string quoted(const std::string& name) {
  return "\"" + name + "\"";
}

}  // namespace

plain_rows::plain_rows(const std::filesystem::path& file,
                       const std::vector<client::record_input>& records)
    : file_(file), db_(file, sqlite::database::mode::create) {
  std::map<std::string, std::set<std::string>> fields;
  for (const auto& r : records)
    for (const auto& [name, text] : r.fields) fields[r.type].insert(name);
  for (const auto& [type, names] : fields) {
    std::string create = "CREATE TABLE " + quoted(type) + " (id BLOB PRIMARY KEY",
                insert = "INSERT INTO " + quoted(type) + " VALUES (?1";
    int n = 1;
    for (const auto& name : names) {
      create += ", " + quoted(name);
      insert += ", ?" + std::to_string(++n);
      columns_[type].push_back(name);
    }
    db_.exec(create + ")");
    inserts_[type] = std::make_unique<sqlite::statement>(db_, insert + ")");
  }
}

void plain_rows::insert(const client::record_input& r) {
  auto& st = *inserts_.at(r.type);
  // A random id as a record's, from a splitmix64 sequence.
  std::array<std::uint8_t, 16> id{};
  for (int half = 0; half < 2; ++half) {
    std::uint64_t z = (next_id_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    for (int b = 0; b < 8; ++b) id[half * 8 + b] = static_cast<std::uint8_t>(z >> (8 * b));
  }
  st.bind(1, std::span<const std::uint8_t>(id));
  const auto& names = columns_.at(r.type);
  for (std::size_t c = 0; c < names.size(); ++c) {
    const auto it = std::find_if(r.fields.begin(), r.fields.end(),
                                 [&](const auto& f) { return f.first == names[c]; });
    const int index = static_cast<int>(c) + 2;
    if (it == r.fields.end() || it->second.empty()) {
      st.bind_null(index);
      continue;
    }
    std::int64_t n = 0;
    const auto& text = it->second;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec == std::errc{} && end == text.data() + text.size())
      st.bind(index, n);
    else
      st.bind(index, std::string_view(text));
  }
  st.run();
  st.reset();
}

void plain_rows::insert_each(const std::vector<client::record_input>& records) {
  for (const auto& r : records) {
    sqlite::transaction tx(db_);
    insert(r);
    tx.commit();
  }
}

void plain_rows::insert_batched(const std::vector<client::record_input>& records, std::size_t batch,
                                durability d) {
  for (std::size_t i = 0; i < records.size(); i += batch) {
    sqlite::transaction tx(db_, sqlite::transaction::kind::write, d);
    for (std::size_t j = i; j < std::min(records.size(), i + batch); ++j) insert(records[j]);
    tx.commit();
  }
}

std::size_t plain_rows::values(const std::vector<client::record_input>& records) {
  std::size_t n = 0;
  for (const auto& r : records)
    for (const auto& f : r.fields) n += !f.second.empty();
  return n;
}

std::uintmax_t plain_rows::bytes() {
  db_.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  return std::filesystem::file_size(file_);
}

}  // namespace haven::bench
