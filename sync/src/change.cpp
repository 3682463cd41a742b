#include <haven/sync/change.hpp>

#include <random>

namespace haven::sync {

record_id record_id::random() {
  static thread_local std::random_device device;  // getrandom(2) on Linux
  record_id id;
  for (std::size_t i = 0; i < id.bytes.size(); i += 4) {
    const std::uint32_t r = device();
    for (std::size_t j = 0; j < 4; ++j) id.bytes[i + j] = static_cast<std::uint8_t>(r >> (8 * j));
  }
  return id;
}

std::optional<record_id> record_id::parse(std::string_view hex) {
  if (hex.size() != 32) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  record_id id;
  for (std::size_t i = 0; i < 16; ++i) {
    const int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    id.bytes[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return id;
}

std::string record_id::hex() const {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(32, '0');
  for (std::size_t i = 0; i < 16; ++i) {
    out[2 * i] = digits[bytes[i] >> 4];
    out[2 * i + 1] = digits[bytes[i] & 0xf];
  }
  return out;
}

std::string element_key(std::string_view field, std::string_view code) {
  std::string key(field);
  key += '.';
  key += code;
  return key;
}

std::optional<std::pair<std::string_view, std::string_view>> split_element_key(std::string_view key) {
  const auto dot = key.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  return std::pair{key.substr(0, dot), key.substr(dot + 1)};
}

field_map fields_from_cells(const std::vector<cell>& cells) {
  field_map fields;
  for (const auto& c : cells) {
    if (c.key == deleted_key) continue;
    if (auto element = split_element_key(c.key)) {
      auto [it, _] = fields.try_emplace(std::string(element->first), code_set{});
      if (auto* set = std::get_if<code_set>(&it->second); set && std::get_if<bool>(&c.val) && std::get<bool>(c.val))
        set->emplace(element->second);
    } else if (!is_null(c.val)) {
      fields[c.key] = c.val;
    }
  }
  return fields;
}

}  // namespace haven::sync
