#include <cstdint>
#include <haven/core/result.hpp>
#include <haven/core/varint.hpp>
#include <haven/sqlite/packed_cells.hpp>

namespace haven::sqlite {
namespace {

enum class kind : std::uint8_t { null = 0, integer = 1, code = 2, date = 3, boolean = 4 };
constexpr std::uint8_t kind_mask = 0x07, true_bit = 0x08, time_bit = 0x10, node_bit = 0x20,
                       seq_bit = 0x40;

[[noreturn]] void damaged(const std::string& what) {
  throw failure(errc::store, "store: a record's cells are damaged (" + what + ")");
}
using reader = varint::reader<&damaged>;

}  // namespace

cell_packer::cell_packer(std::size_t count) : left_(count) {
  varint::writer(out_).varint(count);
}

void cell_packer::add(std::int64_t key, const value& v, sync::stamp at,
                      std::optional<std::int64_t> seq) {
  if (key <= key_ || left_ == 0)
    throw failure(errc::invalid_input, "cell_packer: keys out of order or too many cells");
  varint::writer w(out_);
  w.varint(static_cast<std::uint64_t>(key - key_));
  std::uint8_t tag = 0;
  std::string value_bytes;
  varint::writer vw(value_bytes);
  std::visit(
      [&](const auto& x) {
        using X = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<X, std::monostate>) {
          tag = static_cast<std::uint8_t>(kind::null);
        } else if constexpr (std::is_same_v<X, std::int64_t>) {
          tag = static_cast<std::uint8_t>(kind::integer);
          vw.signed_varint(x);
        } else if constexpr (std::is_same_v<X, std::string>) {
          tag = static_cast<std::uint8_t>(kind::code);
          vw.varint(x.size());
          vw.bytes(x);
        } else if constexpr (std::is_same_v<X, date>) {
          tag = static_cast<std::uint8_t>(kind::date);
          vw.signed_varint(x.days);
        } else if constexpr (std::is_same_v<X, bool>) {
          tag = static_cast<std::uint8_t>(kind::boolean) | (x ? true_bit : 0);
        } else {
          throw failure(errc::invalid_input, "a set value cannot be stored as one cell");
        }
      },
      v);
  const bool new_time = first_ || at.time != at_.time, new_node = first_ || at.node != at_.node;
  tag |= (new_time ? time_bit : 0) | (new_node ? node_bit : 0) | (seq ? seq_bit : 0);
  w.byte(tag);
  w.bytes(value_bytes);
  if (new_time)
    w.signed_varint(static_cast<std::int64_t>(at.time.packed - (first_ ? 0 : at_.time.packed)));
  if (new_node) w.varint(at.node);
  if (seq) {
    w.signed_varint(*seq - seq_);
    seq_ = *seq;
  }
  key_ = key;
  at_ = at;
  first_ = false;
  --left_;
}

std::string cell_packer::take() {
  if (left_ != 0) throw failure(errc::invalid_input, "cell_packer: fewer cells than counted");
  return std::move(out_);
}

std::vector<stored_cell> unpack_cells(std::string_view packed) {
  std::vector<stored_cell> out;
  if (packed.empty()) return out;
  reader r(packed);
  // A cell takes at least two bytes (its key and its tag).
  const std::size_t n = r.count(packed.size() / 2, 2, "a record's cells");
  out.reserve(n);
  std::int64_t key = 0;
  std::uint64_t seq = 0;  // summed as unsigned: damaged bytes cannot overflow it
  sync::stamp at{};
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t step = r.varint();
    if (step == 0 || step > static_cast<std::uint64_t>(INT64_MAX - key))
      damaged("a key out of order");
    key += static_cast<std::int64_t>(step);
    const std::uint8_t tag = r.byte();
    if (tag & 0x80) damaged("an unknown tag");
    stored_cell c{key, {}, {}, std::nullopt};
    switch (static_cast<kind>(tag & kind_mask)) {
      case kind::null:
        break;
      case kind::integer:
        c.val = r.signed_varint();
        break;
      case kind::code:
        c.val = std::string(r.bytes(r.count(packed.size(), 1, "a code")));
        break;
      case kind::date: {
        const std::int64_t days = r.signed_varint();
        if (days < INT32_MIN || days > INT32_MAX) damaged("a date out of range");
        c.val = date{static_cast<std::int32_t>(days)};
        break;
      }
      case kind::boolean:
        c.val = (tag & true_bit) != 0;
        break;
      default:
        damaged("an unknown value kind");
    }
    if (tag & time_bit) at.time.packed += static_cast<std::uint64_t>(r.signed_varint());
    if (tag & node_bit)
      at.node = r.varint();
    else if (i == 0)
      damaged("the first cell has no node");
    c.at = at;
    if (tag & seq_bit) {
      seq += static_cast<std::uint64_t>(r.signed_varint());
      if (seq > static_cast<std::uint64_t>(INT64_MAX)) damaged("a seq out of range");
      c.seq = static_cast<std::int64_t>(seq);
    }
    out.push_back(std::move(c));
  }
  if (r.remaining() != 0) damaged("bytes after the last cell");
  return out;
}

std::size_t packed_count(std::string_view packed) {
  if (packed.empty()) return 0;
  reader r(packed);
  return static_cast<std::size_t>(r.varint());
}

std::size_t count_seq_above(std::string_view packed, std::uint64_t seq) {
  std::size_t n = 0;
  for (const stored_cell& c : unpack_cells(packed))
    n += c.seq && *c.seq > static_cast<std::int64_t>(seq);
  return n;
}

}  // namespace haven::sqlite
