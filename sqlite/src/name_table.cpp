#include <haven/sqlite/name_table.hpp>

namespace haven::sqlite {

void name_table::refresh() {
  const std::uint64_t transaction = db_.transactions();
  if (checked_in_ == transaction && rollbacks_ == db_.rollbacks()) return;
  auto& version = db_.cached("PRAGMA data_version");
  version.step();
  const std::int64_t now = version.integer(0);
  if (data_version_ == now && rollbacks_ == db_.rollbacks()) {
    checked_in_ = transaction;
    return;
  }
  ids_.clear();
  names_.clear();
  ++generation_;
  auto& st = db_.cached(select_all_);
  while (st.step()) {
    std::string name = st.text(1);
    ids_.emplace(name, st.integer(0));
    names_.emplace(st.integer(0), std::move(name));
  }
  data_version_ = now;
  rollbacks_ = db_.rollbacks();
  checked_in_ = transaction;
}

std::int64_t name_table::intern(std::string_view name) {
  if (const auto it = ids_.find(name); it != ids_.end()) return it->second;
  auto& st = db_.cached(insert_);
  st.bind(1, name);
  if (!st.step()) db_.fail(std::string("adding a name to ") + table_);
  const std::int64_t id = st.integer(0);
  st.reset();
  if (!names_.emplace(id, std::string(name)).second) {  // a copy from before a rollback
    forget();
    throw failure(errc::store, std::string("store: ") + table_ +
                                   " gave an id twice; try again (the store's copy of it was "
                                   "out of date)");
  }
  ids_.emplace(std::string(name), id);
  return id;
}

const std::string& name_table::name_of(std::int64_t id) const {
  const std::string* name = find(id);
  if (!name)
    throw failure(errc::store, std::string("store: a name id that ") + table_ +
                                   " lacks is in use; the store is damaged");
  return *name;
}

const std::string* name_table::find(std::int64_t id) const {
  const auto it = names_.find(id);
  return it == names_.end() ? nullptr : &it->second;
}

void name_table::forget() {
  ++generation_;
  ids_.clear();
  names_.clear();
  data_version_.reset();
  checked_in_.reset();
}

}  // namespace haven::sqlite
