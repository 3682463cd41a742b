#pragma once
// The open event streams of coordinators' dashboards (GET /api/events), so
// that a commit can tell each of them that the tallies changed. Knows them
// only as event_stream, so that it compiles without Beast. At most `limit`
// at once. A small mutex; weak_ptrs are copied under it and used outside it.

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace haven::server {

// A stream as the registry sees it (basic_event_stream in event_stream.hpp).
class event_stream {
 public:
  virtual ~event_stream() = default;
  // Queues `event` (a complete server-sent event, or a comment) for the
  // client (any thread).
  virtual void send(std::shared_ptr<const std::string> event) = 0;
  // Sends `last` (may be empty), ends the response and closes (any thread).
  virtual void end(std::shared_ptr<const std::string> last) = 0;
  // The Authorization header the stream was opened with (immutable).
  virtual const std::string& authorization() const = 0;
};

class event_streams {
 public:
  explicit event_streams(std::size_t limit) : limit_(limit) {}

  // Registers `s`; false (nothing registered) when `limit` streams are
  // open, or once end_all() was called.
  bool add(const std::shared_ptr<event_stream>& s);
  void remove(const event_stream* s);
  // Sends `event` to every stream.
  void broadcast(const std::shared_ptr<const std::string>& event);
  // Sends `event` to every stream and keeps it as latest(), which a new
  // stream sends first.
  void publish(const std::shared_ptr<const std::string>& event);
  std::shared_ptr<const std::string> latest() const;
  // Ends every stream for which `ended` is true, with `last`.
  void end_if(const std::function<bool(const event_stream&)>& ended,
              const std::shared_ptr<const std::string>& last);
  // Ends every stream, and refuses new ones (the server is shutting down).
  void end_all(const std::shared_ptr<const std::string>& last);
  bool closing() const;
  std::size_t size() const;
  std::size_t limit() const { return limit_; }

 private:
  const std::size_t limit_;
  mutable std::mutex mutex_;
  std::map<const event_stream*, std::weak_ptr<event_stream>> all_;  // guarded by mutex_
  std::shared_ptr<const std::string> latest_;                       // guarded by mutex_
  bool closing_ = false;                                            // guarded by mutex_
};

}  // namespace haven::server
