#pragma once
// What the benchmarks that talk to a server share: a scratch directory,
// havend served in this process on 127.0.0.1, and a stopwatch.

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <haven/server/server.hpp>
#include <string>
#include <thread>
#include <utility>

namespace haven::bench {

using clock_type = std::chrono::steady_clock;

inline double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

// A fresh directory under the system's temp directory, named after the
// benchmark and the process id; removed, with everything in it, when this is
// destroyed (so declare it before the stores and servers that use it).
class scratch_dir {
 public:
  explicit scratch_dir(const std::string& benchmark)
      : path_(std::filesystem::temp_directory_path() /
              ("haven-" + benchmark + "-bench-" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(path_);
  }
  ~scratch_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;

  std::filesystem::path file(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// havend with its store at `db`, on 127.0.0.1 and a free port, run on a
// thread of its own from construction until stop() or destruction. Owned by
// one thread; the server itself serves connections from any thread.
class in_process_havend {
 public:
  // `authenticate` false is --dev-no-auth: any device may sync, none is
  // enrolled. Throws haven::failure as server::server does.
  in_process_havend(std::filesystem::path db, bool authenticate)
      : server_(config(std::move(db), authenticate)), serving_([this] { server_.run(); }) {}
  ~in_process_havend() { stop(); }
  in_process_havend(const in_process_havend&) = delete;
  in_process_havend& operator=(const in_process_havend&) = delete;

  // "HOST:PORT" bound; the sync endpoint; the enrollment URL (client::enroll).
  std::string address() const { return server_.address(); }
  std::string sync_url() const { return "ws://" + address() + "/sync"; }
  std::string url() const { return "ws://" + address(); }

  // Ends the sessions and waits for run() to return; a second call does nothing.
  void stop() {
    if (!serving_.joinable()) return;
    server_.stop();
    serving_.join();
  }

 private:
  static server::server_config config(std::filesystem::path db, bool authenticate) {
    server::server_config c;
    c.db = std::move(db);
    c.authenticate = authenticate;
    return c;
  }

  server::server server_;
  std::thread serving_;
};

}  // namespace haven::bench
