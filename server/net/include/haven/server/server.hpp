#pragma once
// havend: the sync endpoint (/sync, WebSocket) and the HTTP API on one port,
// over one io_context run by N threads. Store work runs on a separate small
// pool so that no network thread waits for a commit.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <haven/schema/schema.hpp>
#include <haven/server/access_registry.hpp>
#include <haven/server/connection_budget.hpp>
#include <haven/server/login_guard.hpp>
#include <haven/sync/protocol.hpp>
#include <memory>
#include <string>
#include <vector>

namespace haven::server {

struct server_config {
  std::filesystem::path db;
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;                       // 0: a free port
  std::shared_ptr<const schema> record_schema;  // nullptr: the built-in schema
  unsigned threads = 0;                         // 0: hardware threads
  // The sessions' logic and the store's work. One more than the 2 a store
  // keeps busy, so that while a group of pushes commits, the pushes that
  // arrive wait together and commit in the next group (sqlite_central_store).
  // More threads gave pushes little more on 2 cores, and every thread's
  // allocations cost a pull time and havend 3 MB (haven_bench, README).
  unsigned store_threads = 3;
  sync::frame_limits limits;
  std::uint64_t max_skew_ms = 5 * 60 * 1000;
  // Abuse limits, each with a safe default.
  // From connecting to a valid hello (TLS, the HTTP upgrade and the hello
  // together), and to each complete HTTP request of a connection that has
  // shown no coordinator token.
  std::chrono::seconds handshake_timeout{10};
  std::chrono::seconds idle_timeout{300};  // a silent sync connection is closed
  // The newest sync protocol version offered: an operator may hold every
  // device at an older one (sync::oldest_protocol_version at least).
  std::uint32_t max_protocol = sync::protocol_version;
  // Connections not signed in per client address, signed in per device or
  // coordinator, and in all (connection_budget.hpp).
  connection_budget::settings connections;
  // Reverse proxies (IP addresses) whose word on the client's address is
  // taken: a PROXY protocol v2 header when a connection from one starts with
  // its signature, else X-Forwarded-For on each HTTP request. The
  // per-address limit, the login back-off and the audit log then see the
  // client's address. From any other peer both are ignored.
  std::vector<std::string> trusted_proxies;
  login_guard::settings login;  // failed sign-ins per address, then a back-off
  // The public view of the tallies hides cells of fewer than public_k persons
  // (or, in a tally without persons, records), and what would reveal them.
  std::int64_t public_k = 5;
  // A team that has not synced for this many days is flagged stale in each
  // tally's completeness (completeness.hpp).
  std::int64_t stale_after_days = 14;
  // Coordinators' live event streams (GET /api/events) open at once; one
  // more is answered 503. Each also counts as a connection.
  unsigned max_event_streams = 64;
  // false (--dev-no-auth): no access registry is opened; any device may sync
  // and the tallies need no token. For development on loopback only.
  bool authenticate = true;
  // TLS: PEM files of the certificate (chain) and its private key. When both
  // are set every connection is TLS (wss:// and https://); when neither is,
  // the server listens only on a loopback address (127.0.0.0/8, ::1).
  std::filesystem::path tls_cert;
  std::filesystem::path tls_key;
};

class server {
 public:
  // Loads the TLS certificate and key, opens the store and binds the address.
  // Throws haven::failure: errc::invalid_input for an unreadable or
  // mismatched certificate or key, only one of the two, or a non-loopback
  // address without TLS; errc::unavailable if the address cannot be bound.
  explicit server(server_config config);
  ~server();

  // "HOST:PORT" actually bound.
  std::string address() const;
  // Serves until stop() or SIGINT/SIGTERM; then stops accepting, ends the
  // sessions, lets the store finish the transaction in flight, and returns.
  void run();
  // Thread-safe; makes run() return.
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace haven::server
