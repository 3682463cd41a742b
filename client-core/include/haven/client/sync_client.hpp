#pragma once
// Syncing a device store with havend over WebSocket (TLS: wss://): push the outbox, pull
// until caught up, and optionally stay connected for live changes,
// reconnecting with back-off when the server goes away.

#include <chrono>
#include <cstdint>
#include <functional>
#include <haven/client/store.hpp>
#include <haven/sync/session.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace haven::client {

struct sync_options {
  std::string server_url;  // wss://HOST:PORT/sync; ws:// only to a loopback address
  // wss://: the server's certificate must chain to one of these PEM
  // certificates (pinned, e.g. from `havend dev-cert`), or, when empty, to the
  // system's trusted authorities; and it must name the URL's host.
  std::string ca_pem;
  // Set by sync_options_for when an enrolled device follows its server to
  // server_url: a sync that succeeds keeps it as the device's server.
  bool remember_server = false;
  // The newest protocol version to speak: lower only to test or measure a
  // device of an older release (2: it announces no version, as those did).
  std::uint32_t max_protocol = sync::protocol_version;
  // The cells of one push batch (about 1,900 records; a frame holds at most
  // 16,384 cells): one commit on the server each. Lower it where a cut
  // connection is likely mid-batch, since a batch not acknowledged is sent
  // again whole.
  std::size_t max_push_cells = sync::client_session::options{}.max_push_cells;
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};  // no frame for this long: the connection is dead
  std::chrono::milliseconds poll_interval{1'000};  // watch: how often to look for new local records
  std::chrono::milliseconds max_backoff{30'000};   // watch: the longest wait between reconnects
  // Called after each batch up or down, and with one line per connection event.
  std::function<void(const sync::sync_progress&)> on_progress;
  std::function<void(std::string_view)> on_event;
  // Return true to stop. Asked after every frame and about every 100 ms from
  // the start, connecting and waiting for the server included, on the thread
  // that runs the sync. sync_now then ends at once with errc::cancelled;
  // sync_watch closes and returns its totals.
  std::function<bool()> should_stop;
};

struct sync_summary {
  sync::sync_progress progress;
  std::size_t pending_after = 0;  // cells still in the outbox
  std::uint64_t pulled_seq = 0;
  std::optional<wipe_mark> wiped;  // the server ordered a wipe, and the store was erased
};

// The options to sync `db` with, as the shells choose them: `server_url` and
// `ca_pem` where given, otherwise the server address and pinned certificates
// kept at enrollment (both empty when the store is not enrolled).
// An enrolled device follows its server to another `server_url` (wss://) when
// it pinned a certificate at enrollment: the pin, not any --ca, verifies the
// new address, and the address is kept once a sync with it succeeds
// (remember_server). Without a pin, or to a ws:// address, it does so only
// with `trust_new_server` (the user's word that the server moved); otherwise
// errc::invalid_input saying so, as for a `ca_pem` other than the pin with
// another server_url.
result<sync_options> sync_options_for(store& db, std::optional<std::string> server_url,
                                      std::optional<std::string> ca_pem,
                                      bool trust_new_server = false);

// One session: push everything pending, pull until caught up, close. A
// retired device is then told to wipe, and a revoked one at once: the store
// is erased and `wiped` says so. A wiped store is refused (errc::unauthorized).
// Errors say what a field worker can do: errc::unavailable "server
// unreachable ...", errc::clock_skew "refused: the device's clock is 3 days
// ahead ...", errc::unauthorized "the server's certificate is not trusted
// (...)", errc::invalid_input for no URL, a bad URL or ws:// to a host other than
// loopback, errc::protocol for a broken exchange. Nothing recorded is lost
// (nor changed, when the connection could not be opened); sync again later.
// When should_stop() says so, errc::cancelled "sync cancelled ...": what the
// server acknowledged and what was pulled so far are kept, the rest of the
// outbox stays pending for the next sync (a stop that comes once the session
// is done changes nothing: the sync succeeded). Only a DNS lookup under way
// is not cut short (a URL with an IP address needs none).
result<sync_summary> sync_now(store& db, const sync_options& options);

// Syncs, then stays connected applying live changes and pushing new local
// records, reconnecting after failures with exponential back-off (1 s, 2 s, 4 s
// ... up to max_backoff), until should_stop() says so. Returns the totals;
// fails only on errors that retrying cannot fix (refusals, a bad URL).
result<sync_summary> sync_watch(store& db, const sync_options& options);

}  // namespace haven::client
