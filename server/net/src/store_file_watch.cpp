#include "store_file_watch.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <cstring>
#include <string_view>

namespace haven::server {

store_file_watch::store_file_watch(net::any_io_executor executor, const std::filesystem::path& db,
                                   std::function<void()> on_write)
    : name_(db.filename().string()), on_write_(std::move(on_write)) {
  const int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return;
  const auto folder = db.has_parent_path() ? db.parent_path() : std::filesystem::path(".");
  // Not IN_MODIFY: havend's own commits would wake it for every page they
  // write (6 % of its CPU in a push). `havend retire` and `revoke` commit and
  // close the store at once.
  if (inotify_add_watch(fd, folder.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
    ::close(fd);
    return;
  }
  descriptor_.emplace(executor, fd);
}

void store_file_watch::start() {
  if (descriptor_) read();
}

void store_file_watch::cancel() {
  boost::system::error_code ignored;
  if (descriptor_) descriptor_->cancel(ignored);
}

void store_file_watch::read() {
  descriptor_->async_read_some(net::buffer(events_), [this](const boost::system::error_code& ec,
                                                            std::size_t size) {
    if (ec) return;  // cancelled, or the watch broke: the caller's slow poll remains
    bool written = false;
    for (std::size_t at = 0; at + sizeof(inotify_event) <= size;) {
      inotify_event event;
      std::memcpy(&event, events_.data() + at, sizeof event);
      const std::string_view name(events_.data() + at + sizeof event,
                                  ::strnlen(events_.data() + at + sizeof event, event.len));
      written = written || (event.mask & IN_Q_OVERFLOW) || name == name_ || name == name_ + "-wal";
      at += sizeof event + event.len;
    }
    if (written) on_write_();
    read();
  });
}

}  // namespace haven::server
