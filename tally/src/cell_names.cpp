#include <haven/tally/cell_names.hpp>

namespace haven::tally {

cell_names::cell_names() {
  number("");
  number("*");
}

std::uint32_t cell_names::number(std::string_view name) {
  if (const auto it = numbers_.find(name); it != numbers_.end()) return it->second;
  if (!name.ends_with('/')) return add(name, {grand_total, 0, name.empty()});
  // A path: its shorter paths first, each the one before and a code.
  std::uint32_t parent = grand_total;
  for (std::size_t end = name.find('/'); end != std::string_view::npos;
       end = name.find('/', end + 1)) {
    const std::string_view prefix = name.substr(0, end + 1);
    const auto it = numbers_.find(prefix);
    parent =
        it != numbers_.end() ? it->second : add(prefix, {parent, shape_[parent].depth + 1, true});
  }
  return parent;
}

std::uint32_t cell_names::add(std::string_view name, shape s) {
  const auto n = static_cast<std::uint32_t>(names_.size());
  names_.emplace_back(name);
  shape_.push_back(s);
  numbers_.emplace(names_.back(), n);
  return n;
}

bool cell_names::leads_to(std::uint32_t above, std::uint32_t path) const {
  const std::uint32_t depth = shape_[above].depth;
  while (shape_[path].depth > depth) path = shape_[path].parent;
  return path == above;
}

}  // namespace haven::tally
