#pragma once
// The structured input of fuzz_push_validator: bytes that pick a record type,
// cell keys and raw values out of a schema, so that the validator sees mostly
// well-formed record changes that carry hostile values (long strings, control
// characters, integers and dates beyond their bounds, repeated set elements,
// codes that are almost codes). make_corpus.cpp writes seeds in this format
// with change_script.
//
// The bytes are TYPE TEAM (KEY VALUE)*, up to max_cells cells; a token that the
// input ends in the middle of reads zeros. Each token is a selector byte, then
// its operands:
//   TYPE   n < 0xf0: the schema's record type n % types; else a raw string
//   TEAM   0: "pats"; 1: "crisis"; 2: ""; else a raw string
//   KEY    n < 0xf0: field n % fields of the type, and for a set field the
//            element named by the next byte (a code, % codes; 0xff: a raw string)
//          0xf0: "_deleted"; 0xf1: a raw string; 0xf2: a field (next byte), a dot
//          and a raw string; 0xf3: the previous cell's key again
//   VALUE  n % 8 == 0: null
//          1: an integer: next byte b, b % 9 < 8 one of the field's bounds, one
//             beyond them, ±10^12 (the absolute bound) and beyond, INT64_MIN/MAX;
//             else 8 bytes, little-endian
//          2: one of the field's codes (next byte, % codes)
//          3: one of its codes with one byte replaced or appended (code, offset, byte)
//          4: a raw string
//          5: a long string: 2-byte length (% 1025), then the byte it repeats
//          6: a date: 2-byte signed offset in days from `today`; with n & 8, 4
//             bytes of days since 1970 instead
//          7: a boolean, n & 8
//   A raw string is a length byte, then that many bytes.
// Fields without codes (dates, integers, pseudonyms) pick from other_values,
// text that belongs to another kind of field. Every cell gets one stamp.

#include <cstdint>
#include <haven/schema/schema.hpp>
#include <haven/sync/change.hpp>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace haven::fuzz {

inline constexpr std::size_t max_cells = 64;
inline constexpr std::uint8_t key_deleted = 0xf0, key_raw = 0xf1, key_dotted = 0xf2,
                              key_again = 0xf3;
enum value_pick : std::uint8_t {
  pick_null,
  pick_integer,
  pick_code,
  pick_changed_code,
  pick_raw,
  pick_long,
  pick_date,
  pick_boolean
};

// Text for a field that has no code list: each the kind of value another field holds.
inline const std::vector<std::string>& other_values() {
  static const std::vector<std::string> values = {
      "vic", "SI", "si", "P-SYNCED-00016", "true", "2026-03-01", "12", "services.food", "", "x"};
  return values;
}

inline const std::vector<std::string>& codes_of(const field_def& f) {
  return f.codes.empty() ? other_values() : f.codes;
}

// Reads the tokens; past the end every byte reads as zero.
class byte_reader {
 public:
  explicit byte_reader(std::string_view bytes) : bytes_(bytes) {}
  bool done() const { return bytes_.empty(); }
  std::uint8_t u8() {
    if (bytes_.empty()) return 0;
    const auto b = static_cast<std::uint8_t>(bytes_.front());
    bytes_.remove_prefix(1);
    return b;
  }
  std::uint64_t little_endian(int n) {
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= std::uint64_t{u8()} << (8 * i);
    return v;
  }
  std::string raw() {
    const std::size_t n = u8();
    std::string s(bytes_.substr(0, n));
    bytes_.remove_prefix(s.size());
    return s;
  }

 private:
  std::string_view bytes_;
};

inline std::int64_t integer_pick(const field_def& f, byte_reader& in) {
  constexpr std::int64_t lowest = std::numeric_limits<std::int64_t>::min();
  constexpr std::int64_t highest = std::numeric_limits<std::int64_t>::max();
  const std::int64_t min = f.min.value_or(-max_integer_magnitude);
  const std::int64_t max = f.max.value_or(max_integer_magnitude);
  switch (const std::uint8_t b = in.u8(); b % 9) {
    case 0:
      return min;
    case 1:
      return max;
    case 2:
      return min == lowest ? min : min - 1;
    case 3:
      return max == highest ? max : max + 1;
    case 4:
      return b & 0x10 ? max_integer_magnitude : -max_integer_magnitude;
    case 5:
      return b & 0x10 ? max_integer_magnitude + 1 : -max_integer_magnitude - 1;
    case 6:
      return b & 0x10 ? highest : lowest;
    case 7:
      return b & 0x10 ? 0 : -1;
    default:
      return static_cast<std::int64_t>(in.little_endian(8));
  }
}

inline value value_pick(const field_def& f, date today, byte_reader& in) {
  const std::uint8_t n = in.u8();
  switch (n % 8) {
    case pick_null:
      return value{};
    case pick_integer:
      return value{integer_pick(f, in)};
    case pick_code: {
      const auto& codes = codes_of(f);
      return value{codes[in.u8() % codes.size()]};
    }
    case pick_changed_code: {
      const auto& codes = codes_of(f);
      std::string code = codes[in.u8() % codes.size()];
      const std::size_t at = in.u8() % (code.size() + 1);
      const char byte = static_cast<char>(in.u8());
      if (at < code.size())
        code[at] = byte;
      else
        code += byte;
      return value{code};
    }
    case pick_raw:
      return value{in.raw()};
    case pick_long: {
      const std::size_t length = in.little_endian(2) % 1025;  // 8 times what a frame holds
      return value{std::string(length, static_cast<char>(in.u8()))};
    }
    case pick_date:
      if (n & 8)
        return value{
            date{static_cast<std::int32_t>(static_cast<std::uint32_t>(in.little_endian(4)))}};
      return value{date{
          today.days + static_cast<std::int16_t>(static_cast<std::uint16_t>(in.little_endian(2)))}};
    default:
      return value{(n & 8) != 0};
  }
}

// The record change the bytes describe (see the top of this file).
inline sync::record_change hostile_change(std::string_view bytes, const schema& s, date today) {
  byte_reader in(bytes);
  sync::record_change change;
  change.id.bytes[0] = 0x42;
  const std::uint8_t type = in.u8();
  const record_type* t = nullptr;
  if (type < 0xf0 && !s.types().empty()) {
    t = &s.types()[type % s.types().size()];
    change.type = t->name;
  } else {
    change.type = in.raw();
    t = s.type(change.type);
  }
  switch (in.u8()) {
    case 0:
      change.team = "pats";
      break;
    case 1:
      change.team = "crisis";
      break;
    case 2:
      break;
    default:
      change.team = in.raw();
  }
  static const field_def no_field{};  // the values a key outside the type gets
  const sync::stamp at{sync::hlc::make(1'772'409'600'000, 0), 0x0123456789abcdefull};
  while (!in.done() && change.cells.size() < max_cells) {
    const std::uint8_t k = in.u8();
    std::string key;
    const field_def* f = &no_field;
    if (k < 0xf0 && t && !t->fields.empty()) {
      f = &t->fields[k % t->fields.size()];
      key = f->key;
      if (f->is_set()) {
        const std::uint8_t c = in.u8();
        key =
            sync::element_key(f->key, c == 0xff ? in.raw() : codes_of(*f)[c % codes_of(*f).size()]);
      }
    } else if (k == key_deleted) {
      key = std::string(sync::deleted_key);
    } else if (k == key_dotted && t && !t->fields.empty()) {
      f = &t->fields[in.u8() % t->fields.size()];
      key = sync::element_key(f->key, in.raw());
    } else if (k == key_again && !change.cells.empty()) {
      key = change.cells.back().key;
    } else {
      key = in.raw();
    }
    change.cells.push_back({std::move(key), value_pick(*f, today, in), at});
  }
  return change;
}

// Writes the bytes of a hostile change, token by token (for the seed corpus).
struct change_script {
  std::string bytes;
  change_script& u8(std::uint8_t b) {
    bytes += static_cast<char>(b);
    return *this;
  }
  change_script& raw(std::string_view s) {  // Requires: s.size() <= 255
    u8(static_cast<std::uint8_t>(s.size()));
    bytes += s;
    return *this;
  }
  change_script& little_endian(std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) u8(static_cast<std::uint8_t>(v >> (8 * i)));
    return *this;
  }
  change_script& u16(std::uint16_t v) { return little_endian(v, 2); }
};

}  // namespace haven::fuzz
