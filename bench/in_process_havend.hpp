#pragma once
// havend served in this process on 127.0.0.1, for the benchmarks that talk
// to a server and need no separate process.

#include <filesystem>
#include <haven/server/server.hpp>
#include <string>
#include <thread>
#include <utility>

#include "scratch_dir.hpp"

namespace haven::bench {

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
