// tally_book::amounts: the stored amounts of one period of a tally; and the
// packing of a tally_value row's amounts.

#include <haven/core/varint.hpp>
#include <haven/server/tally_book.hpp>
#include <haven/sqlite/sqlite.hpp>

#include "tally_tables.hpp"

namespace haven::server {
namespace {

constexpr const char* read_period_sql =
    "SELECT path, amounts FROM tally_value WHERE tally = ?1 AND period = ?2";
constexpr const char* replay_message =
    "tally: the tallies were counted under other declarations and wait for a replay";
constexpr const char* recount_message =
    "tally: the tallies are being counted again from the records (after an upgrade of havend or a "
    "change of the schema's tallies), while havend takes pushes; try again in a minute";

[[noreturn]] void damaged(const std::string&) {
  throw failure(errc::store, "store: a tally row is damaged (reset and replay the tally)");
}

}  // namespace

std::string tally_tables::pack(const packed_amounts& amounts) {
  std::string out;
  varint::writer w(out);
  for (const auto& a : amounts) {
    w.varint(a.column.size());
    w.bytes(a.column);
    w.signed_varint(a.measure);
    w.signed_varint(a.value);
  }
  return out;
}

tally_tables::packed_amounts tally_tables::unpack(std::span<const std::uint8_t> bytes) {
  packed_amounts out;
  varint::reader<damaged> r(sqlite::as_chars(bytes));
  while (r.remaining() > 0) {
    packed_amount a;
    a.column = r.bytes(r.varint());
    a.measure = r.signed_varint();
    a.value = r.signed_varint();
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
    if (recounted_to()) throw failure(errc::unavailable, recount_message);
    std::vector<tally::stored_amount> out;
    const auto index = static_cast<std::int64_t>(t - schema_->tallies().data());
    auto& st = db_.cached(read_period_sql).bind(1, index).bind(2, std::int64_t{period.number()});
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
