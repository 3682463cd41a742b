#include <algorithm>
#include <haven/server/tally_labels.hpp>

namespace haven::server {

tally_labels::tally_labels(sqlite::database& db, tally::cell_names& names, std::size_t deepest)
    : table_(db, "tally_label", "SELECT id, name FROM tally_label",
             "INSERT INTO tally_label(name) VALUES (?) RETURNING id"),
      names_(names),
      deepest_(deepest),
      generation_(table_.generation()) {}

void tally_labels::refresh() {
  table_.refresh();
  check_generation();
}

void tally_labels::check_generation() {
  if (table_.generation() == generation_) return;
  label_of_.clear();
  number_of_.clear();
  generation_ = table_.generation();
}

std::int64_t tally_labels::label_of(std::uint32_t number) {
  check_generation();
  if (number < label_of_.size() && label_of_[number] != 0) return label_of_[number];
  const std::int64_t label = table_.intern(names_.name(number));
  check_generation();  // intern forgets the copy when it finds it out of date
  remember(number, label);
  return label;
}

std::optional<std::uint32_t> tally_labels::number_of(std::int64_t label) {
  check_generation();
  if (const auto it = number_of_.find(label); it != number_of_.end()) return it->second;
  const std::string* name = table_.find(label);
  if (!name || static_cast<std::size_t>(std::count(name->begin(), name->end(), '/')) > deepest_)
    return std::nullopt;
  const std::uint32_t number = names_.number(*name);
  remember(number, label);
  return number;
}

void tally_labels::remember(std::uint32_t number, std::int64_t label) {
  if (number >= label_of_.size()) label_of_.resize(number + 1, 0);
  label_of_[number] = label;
  number_of_.emplace(label, number);
}

}  // namespace haven::server
