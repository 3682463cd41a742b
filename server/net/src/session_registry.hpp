#pragma once
// The open sync sessions, by team, so that a commit can wake the live
// sessions of its team. Knows them only as ws_session, so that it compiles
// without Beast. A small mutex; weak_ptrs are copied under it and
// notified outside it.

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace haven::server {

// A sync session as the registry sees it (basic_ws_session in ws_session.hpp).
class ws_session {
 public:
  virtual ~ws_session() = default;
  // New changes for the session's team were committed (any thread).
  virtual void notify() = 0;
  // Ends the session with an error frame (any thread).
  virtual void shutdown(const std::string& reason) = 0;
};

class session_registry {
 public:
  void add(const std::shared_ptr<ws_session>& s);
  void remove(const ws_session* s);
  // The session's team is known (after its hello).
  void join(const std::string& team, const std::shared_ptr<ws_session>& s);
  // Wakes the sessions of `team`.
  void notify(std::string_view team);
  // Wakes every session that said hello (e.g. to look at its device's standing again).
  void notify_all();
  // Ends every session (server shutting down).
  void close_all();
  std::size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::map<const ws_session*, std::weak_ptr<ws_session>> all_;  // guarded by mutex_
  std::map<std::string, std::map<const ws_session*, std::weak_ptr<ws_session>>, std::less<>>
      teams_;  // guarded by mutex_
};

}  // namespace haven::server
