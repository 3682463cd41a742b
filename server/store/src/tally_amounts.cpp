// tally_book::amounts: the stored amounts of one period of a tally; and the
// packing of a tally_value row's amounts.

#include <haven/server/tally_book.hpp>

#include "tally_tables.hpp"

namespace haven::server {
namespace {

constexpr const char* read_period_sql =
    "SELECT path, amounts FROM tally_value WHERE tally = ?1 AND period = ?2";
constexpr const char* replay_message =
    "tally: the tallies were counted under other declarations and wait for a replay";

void put_varint(std::string& out, std::uint64_t v) {
  for (; v >= 0x80; v >>= 7) out.push_back(static_cast<char>(v | 0x80));
  out.push_back(static_cast<char>(v));
}

[[noreturn]] void corrupt() {
  throw failure(errc::store, "store: a tally row is damaged (reset and replay the tally)");
}

std::uint64_t take_varint(std::span<const std::uint8_t>& in) {
  std::uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (in.empty()) corrupt();
    const std::uint8_t b = in.front();
    in = in.subspan(1);
    v |= std::uint64_t{b & 0x7fu} << shift;
    if (!(b & 0x80)) return v;
  }
  corrupt();
}

std::uint64_t zigzag(std::int64_t v) {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
std::int64_t unzigzag(std::uint64_t u) {
  return static_cast<std::int64_t>(u >> 1) ^ -static_cast<std::int64_t>(u & 1);
}

}  // namespace

std::string tally_tables::pack(const packed_amounts& amounts) {
  std::string out;
  for (const auto& a : amounts) {
    put_varint(out, a.column.size());
    out += a.column;
    put_varint(out, zigzag(a.measure));
    put_varint(out, zigzag(a.value));
  }
  return out;
}

tally_tables::packed_amounts tally_tables::unpack(std::span<const std::uint8_t> bytes) {
  packed_amounts out;
  while (!bytes.empty()) {
    const std::uint64_t length = take_varint(bytes);
    if (length > bytes.size()) corrupt();
    packed_amount a;
    a.column.assign(reinterpret_cast<const char*>(bytes.data()), length);
    bytes = bytes.subspan(length);
    a.measure = unzigzag(take_varint(bytes));
    a.value = unzigzag(take_varint(bytes));
    out.push_back(std::move(a));
  }
  return out;
}

result<std::vector<tally::stored_amount>> tally_book::amounts(std::string_view id,
                                                              tally::tally_period period) const {
  return capture([&] {
    const tally_def* t = schema_->tally(id);
    if (!t) throw failure(tally::unknown_tally(*schema_, id));
    if (replay_pending_) throw failure(errc::store, replay_message);
    std::vector<tally::stored_amount> out;
    const auto index = static_cast<std::int64_t>(t - schema_->tallies().data());
    auto& st =
        db_.cached(read_period_sql).bind(1, index).bind(2, tally_tables::period_number(period));
    while (st.step()) {
      const std::string path = st.text(0);
      for (auto& a : tally_tables::unpack(st.blob(1))) {
        const std::int64_t m = a.measure;
        if (m != tally_tables::records_column &&
            (m < 0 || m >= static_cast<std::int64_t>(t->measures.size())))
          continue;
        out.push_back({path, std::move(a.column),
                       m == tally_tables::records_column ? tally::records_measure
                                                         : static_cast<std::uint32_t>(m),
                       a.value});
      }
    }
    st.reset();
    return out;
  });
}

}  // namespace haven::server
