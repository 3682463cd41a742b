#include "session_registry.hpp"

#include <vector>

namespace haven::server {

void session_registry::add(const std::shared_ptr<ws_session>& s) {
  std::lock_guard lock(mutex_);
  all_[s.get()] = s;
}

void session_registry::remove(const ws_session* s) {
  std::lock_guard lock(mutex_);
  all_.erase(s);
  for (auto it = teams_.begin(); it != teams_.end();) {
    it->second.erase(s);
    it = it->second.empty() ? teams_.erase(it) : std::next(it);
  }
}

void session_registry::join(const std::string& team, const std::shared_ptr<ws_session>& s) {
  std::lock_guard lock(mutex_);
  teams_[team][s.get()] = s;
}

void session_registry::notify(std::string_view team) {
  std::vector<std::weak_ptr<ws_session>> targets;
  {
    std::lock_guard lock(mutex_);
    auto it = teams_.find(team);
    if (it == teams_.end()) return;
    for (const auto& [_, weak] : it->second) targets.push_back(weak);
  }
  for (const auto& weak : targets)
    if (auto s = weak.lock()) s->notify();
}

void session_registry::notify_all() {
  std::vector<std::weak_ptr<ws_session>> targets;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [_, team] : teams_)
      for (const auto& [_, weak] : team) targets.push_back(weak);
  }
  for (const auto& weak : targets)
    if (auto s = weak.lock()) s->notify();
}

void session_registry::close_all() {
  std::vector<std::weak_ptr<ws_session>> targets;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [_, weak] : all_) targets.push_back(weak);
  }
  for (const auto& weak : targets)
    if (auto s = weak.lock()) s->shutdown("the server is shutting down; sync again in a moment");
}

std::size_t session_registry::size() const {
  std::lock_guard lock(mutex_);
  return all_.size();
}

}  // namespace haven::server
