#include <algorithm>
#include <haven/core/hex.hpp>
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
  const auto bytes = from_hex(hex);
  if (!bytes.ok()) return std::nullopt;
  record_id id;
  std::copy(bytes.value().begin(), bytes.value().end(), id.bytes.begin());
  return id;
}

std::string record_id::hex() const {
  return to_hex({reinterpret_cast<const char*>(bytes.data()), bytes.size()});
}

std::string element_key(std::string_view field, std::string_view code) {
  std::string key;
  key.reserve(field.size() + 1 + code.size());
  key += field;
  key += '.';
  key += code;
  return key;
}

std::optional<std::pair<std::string_view, std::string_view>> split_element_key(
    std::string_view key) {
  const auto dot = key.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  return std::pair{key.substr(0, dot), key.substr(dot + 1)};
}

std::size_t cell_count(const std::vector<record_change>& changes) {
  std::size_t n = 0;
  for (const auto& c : changes) n += c.cells.size();
  return n;
}

field_map fields_from_cells(const std::vector<cell>& cells) {
  field_map fields;
  for (const auto& c : cells) {
    if (c.key == deleted_key) continue;
    if (auto element = split_element_key(c.key)) {
      auto [it, _] = fields.try_emplace(std::string(element->first), code_set{});
      if (auto* set = std::get_if<code_set>(&it->second);
          set && std::get_if<bool>(&c.val) && std::get<bool>(c.val))
        set->emplace(element->second);
    } else if (!is_null(c.val)) {
      fields[c.key] = c.val;
    }
  }
  return fields;
}

}  // namespace haven::sync
