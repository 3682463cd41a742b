#pragma once
// Tells havend at once when another process (`havend retire`, `revoke`) has
// written its store: an inotify watch on the store's folder that calls
// on_write, on the executor given, when the store's file or its WAL is
// closed after a write, or replaced. A process that writes and keeps the
// file open is noticed when it closes it (or by the caller's poll). Linux
// only; watching() is false where the folder cannot be watched, and the
// caller then polls.

#include <array>
#include <filesystem>
#include <functional>
#include <optional>

#include "net.hpp"

namespace haven::server {

class store_file_watch {
 public:
  store_file_watch(net::any_io_executor executor, const std::filesystem::path& db,
                   std::function<void()> on_write);
  bool watching() const { return descriptor_.has_value(); }
  void start();  // reads events until cancel()
  void cancel();

 private:
  void read();

  std::string name_;  // the store's file name; its WAL is name_ + "-wal"
  std::function<void()> on_write_;
  std::optional<net::posix::stream_descriptor> descriptor_;
  alignas(8) std::array<char, 4096> events_{};
};

}  // namespace haven::server
