#include "record_index.hpp"

#include <algorithm>

namespace haven::kiosk {

record_index::entry record_index::entry_of(const client::record& r) {
  entry e{r.id, r.type, date{}, next_order_++};
  if (const record_type* t = db_.schema().type(r.type))
    for (const auto& f : t->fields) {
      if (f.kind != field_kind::date) continue;
      const auto it = r.fields.find(f.key);
      if (it != r.fields.end() && std::holds_alternative<date>(it->second))
        e.day = std::get<date>(it->second);
      break;
    }
  return e;
}

void record_index::count(const client::record& r) {
  for (const auto& [key, v] : r.fields) {
    if (const auto* code = std::get_if<std::string>(&v)) ++usage_[key][*code];
    if (const auto* set = std::get_if<code_set>(&v))
      for (const auto& c : *set) ++usage_[key][c];
  }
}

void record_index::refresh() {
  if (!stale_.exchange(false)) return;
  entries_.clear();
  usage_.clear();
  for (const auto& r : unwrap(db_.list())) {  // oldest first
    entries_.push_back(entry_of(r));
    count(r);
  }
}

std::pair<std::vector<sync::record_id>, std::size_t> record_index::find(
    const std::optional<std::string>& type, std::optional<date> from, std::optional<date> to,
    std::size_t limit) {
  refresh();
  std::vector<const entry*> matching;
  for (const auto& e : entries_)
    if ((!type || e.type == *type) && (!from || e.day >= *from) && (!to || e.day <= *to))
      matching.push_back(&e);
  const std::size_t shown = std::min(limit, matching.size());
  std::partial_sort(matching.begin(), matching.begin() + static_cast<std::ptrdiff_t>(shown),
                    matching.end(), [](const entry* a, const entry* b) {
                      return a->day != b->day ? a->day > b->day : a->order > b->order;
                    });
  std::vector<sync::record_id> ids;
  for (std::size_t i = 0; i < shown; ++i) ids.push_back(matching[i]->id);
  return {std::move(ids), matching.size()};
}

const code_usage& record_index::usage() {
  refresh();
  return usage_;
}

void record_index::note_written(const client::record& r) {
  refresh();
  const auto it =
      std::find_if(entries_.begin(), entries_.end(), [&](const entry& e) { return e.id == r.id; });
  if (it == entries_.end()) {
    entries_.push_back(entry_of(r));
    count(r);
  } else {
    const auto order = it->order;
    *it = entry_of(r);
    it->order = order;
  }
}

void record_index::note_deleted(const sync::record_id& id) {
  refresh();
  std::erase_if(entries_, [&](const entry& e) { return e.id == id; });
}

}  // namespace haven::kiosk
