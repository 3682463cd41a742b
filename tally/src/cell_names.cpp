#include <haven/tally/cell_names.hpp>

namespace haven::tally {

cell_names::cell_names() {
  number("");
  number("*");
}

std::uint32_t cell_names::number(std::string_view name) {
  if (const auto it = numbers_.find(name); it != numbers_.end()) return it->second;
  // A path's parent drops its last code: "a/b/" -> "a/"; a code has none.
  shape s;
  if (name.ends_with('/')) {
    const auto cut =
        name.size() < 2 ? std::string_view::npos : name.find_last_of('/', name.size() - 2);
    s.parent = number(name.substr(0, cut == std::string_view::npos ? 0 : cut + 1));
    s.depth = shape_[s.parent].depth + 1;
  }
  const auto n = static_cast<std::uint32_t>(names_.size());
  names_.emplace_back(name);
  shape_.push_back(s);
  if (s.depth == 0 && !name.empty()) shape_.back().parent = n;  // a code: its own
  numbers_.emplace(names_.back(), n);
  return n;
}

bool cell_names::leads_to(std::uint32_t above, std::uint32_t path) const {
  const std::uint32_t depth = shape_[above].depth;
  while (shape_[path].depth > depth) path = shape_[path].parent;
  return path == above;
}

}  // namespace haven::tally
