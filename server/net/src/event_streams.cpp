#include "event_streams.hpp"

#include <vector>

namespace haven::server {

bool event_streams::add(const std::shared_ptr<event_stream>& s) {
  std::lock_guard lock(mutex_);
  if (closing_ || all_.size() >= limit_) return false;
  all_[s.get()] = s;
  return true;
}

void event_streams::remove(const event_stream* s) {
  std::lock_guard lock(mutex_);
  all_.erase(s);
}

void event_streams::broadcast(const std::shared_ptr<const std::string>& event) {
  end_if(nullptr, event);
}

void event_streams::publish(const std::shared_ptr<const std::string>& event) {
  {
    std::lock_guard lock(mutex_);
    latest_ = event;
  }
  broadcast(event);
}

std::shared_ptr<const std::string> event_streams::latest() const {
  std::lock_guard lock(mutex_);
  return latest_;
}

void event_streams::end_if(const std::function<bool(const event_stream&)>& ended,
                           const std::shared_ptr<const std::string>& last) {
  std::vector<std::weak_ptr<event_stream>> targets;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [_, weak] : all_) targets.push_back(weak);
  }
  for (const auto& weak : targets)
    if (auto s = weak.lock()) {
      if (!ended)
        s->send(last);
      else if (ended(*s))
        s->end(last);
    }
}

void event_streams::end_all(const std::shared_ptr<const std::string>& last) {
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  end_if([](const event_stream&) { return true; }, last);
}

bool event_streams::closing() const {
  std::lock_guard lock(mutex_);
  return closing_;
}

std::size_t event_streams::size() const {
  std::lock_guard lock(mutex_);
  return all_.size();
}

}  // namespace haven::server
