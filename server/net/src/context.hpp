#pragma once
// What every connection of one havend shares. Owned by the server; outlives
// every session (the server joins its threads before destroying it).

#include <algorithm>
#include <haven/server/access_registry.hpp>
#include <haven/server/connection_budget.hpp>
#include <haven/server/http_api.hpp>
#include <haven/server/metrics.hpp>
#include <haven/server/sync_service.hpp>
#include <string>
#include <vector>

#include "event_streams.hpp"
#include "net.hpp"
#include "session_registry.hpp"

namespace haven::server {

struct server_context {
  sync_service& service;
  http_api& api;
  metrics& counters;
  session_registry& registry;
  net::thread_pool& store_pool;  // every store call runs here, off the network threads
  sync::frame_limits limits;
  // To a valid hello, and to each HTTP request of a connection not signed in.
  std::chrono::seconds handshake_timeout;
  std::chrono::seconds idle_timeout;
  std::uint32_t max_protocol;  // the newest sync protocol version offered
  access_registry* access;     // nullptr when authentication is off (--dev-no-auth)
  login_guard& guard;          // failed authentications per address
  connection_budget& budget;   // open connections per client address, per credential, in all
  // The --trusted-proxy addresses, canonical (proxy_protocol.hpp).
  std::vector<std::string> trusted_proxies;
  event_streams& events;  // the coordinators' live streams (GET /api/events)

  bool trusted_proxy(const std::string& address) const {
    return std::find(trusted_proxies.begin(), trusted_proxies.end(), address) !=
           trusted_proxies.end();
  }
};

}  // namespace haven::server
