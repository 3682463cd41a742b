// The device side of sync: the store as the protocol's client backend, and
// a single-threaded Beast WebSocket connection, plain or TLS, that carries
// the frames.
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <deque>
#include <haven/client/sync_client.hpp>
#include <haven/crypto/crypto.hpp>
#include <optional>
#include <thread>

#include "connection.hpp"

namespace haven::client {
namespace {

using namespace link;  // net, ssl, beast, tcp and the two streams
namespace websocket = beast::websocket;

constexpr std::string_view expected_url = "wss://HOST:PORT/sync, or ws:// to a loopback address";

result<link::server_url> parse_url(std::string_view url) {
  if (url.empty())
    return error{errc::invalid_input,
                 "no server to sync with: the device is not enrolled and no server address was "
                 "given (expected " +
                     std::string(expected_url) + ")",
                 {}};
  auto parsed = link::parse_server_url(url, {"wss", "ws"}, "/sync", expected_url);
  if (!parsed) return parsed;
  if (auto plain = link::require_encryption(parsed.value(), "records", "wss"); !plain)
    return plain.err();
  return parsed;
}

std::int64_t now_ms() {
  return static_cast<std::int64_t>(sync::hlc_clock::system_millis());
}

// The device store as the protocol's client backend.
class store_backend final : public sync::client_backend {
 public:
  explicit store_backend(store& db) : db_(db) {}

  // The TLS connection's channel binding, once its handshake is done.
  void bind_channel(std::string binding) { channel_binding_ = std::move(binding); }

  // An enrolled device names itself by its device id and signs the hello
  // with its key (over the channel binding too when the server asks); one
  // that is not enrolled (a server in --dev-no-auth mode) by its node id,
  // unsigned.
  sync::hello greeting(const sync::challenge& c) override {
    const sync_state s = unwrap(db_.sync_status());
    const std::optional<credentials> enrolled = unwrap(db_.enrollment());
    char node[17];
    std::snprintf(node, sizeof node, "%016llx", static_cast<unsigned long long>(s.node));
    pulled_ = s.pulled_seq;
    sync::hello h{c.version,        enrolled ? enrolled->device_id : node,
                  s.default_team,   s.node,
                  s.schema_version, s.acked_seq,
                  s.pulled_seq,     {}};
    if (c.channel_bound && channel_binding_.empty())
      throw failure(errc::protocol,
                    "the server asks to bind the sign-in to TLS, but this connection has no TLS");
    if (enrolled)
      h.proof = crypto::sign(
          enrolled->private_key,
          sync::proof_message(h, c.nonce, c.channel_bound ? channel_binding_ : std::string()));
    return h;
  }

  // A retired device erases its store only once nothing is left to send; a
  // revoked one at once (what it has not sent is lost with the device).
  void wipe(const sync::wipe_order& order) override {
    unwrap(db_.wipe(order.reason, now_ms()));  // retired refuses while changes are unsent
  }

  void welcomed(const sync::welcome& w) override {
    if (!w.schema_json.empty()) unwrap(db_.adopt_schema(w.schema_json));
    db_.note_server_clock(w.server_time);
    // The server may have committed pushes whose acknowledgement never
    // arrived; or it may have lost some (a store restored from a backup, a
    // new server), and then they are sent again.
    const sync_state s = unwrap(db_.sync_status());
    if (w.acked_seq > s.acked_seq && w.acked_seq <= s.local_seq)
      unwrap(db_.acknowledge(w.acked_seq));
    if (w.acked_seq < s.acked_seq) unwrap(db_.resend_after(w.acked_seq));
  }

  sync::push_batch next_push(std::size_t max_cells, std::size_t max_records) override {
    outbox_batch b = unwrap(db_.outbox(max_cells, max_records));
    return sync::push_batch{b.last_seq, std::move(b.changes)};
  }

  void acknowledged(const sync::push_ack& ack) override { unwrap(db_.acknowledge(ack.acked_seq)); }

  void received(const sync::change_batch& batch) override {
    unwrap(db_.apply_remote(batch.changes, batch.up_to));
    pulled_ = batch.up_to;
    if (!batch.more) unwrap(db_.mark_synced(now_ms()));
  }

  std::uint64_t pulled_seq() override { return pulled_; }

 private:
  store& db_;
  std::uint64_t pulled_ = 0;
  std::string channel_binding_;  // empty over a plain connection
};

// How often should_stop() is asked besides after every frame, so that a stop
// never waits for a connection attempt or a silent server to time out.
constexpr std::chrono::milliseconds stop_check_interval{100};

// One WebSocket connection running one client_session to its end, over
// link::plain_stream or link::tls_stream (constructed from `stream_args`
// and the connection's io_context).
template <class Stream>
class connection final : private sync::transport {
 public:
  template <class... StreamArgs>
  connection(store& db, const sync_options& options, const link::server_url& address, bool live,
             StreamArgs&... stream_args)
      : options_(options),
        address_(address),
        live_(live),
        resolver_(ioc_),
        ws_(ioc_, stream_args...),
        poll_(ioc_),
        stop_check_(ioc_),
        backend_(db),
        session_(backend_, *this,
                 sync::client_session::options{.stay_live = live,
                                               .max_push_cells = options.max_push_cells,
                                               .max_protocol = options.max_protocol}) {}

  // Runs the session to its end; returns how it ended.
  result<sync::sync_progress> run() {
    schedule_stop_check();
    link::async_open(ws_.next_layer(), resolver_, address_, options_.connect_timeout,
                     [this](std::optional<error> e) {
                       if (!e) return on_connect();
                       if (e->code == errc::unavailable) e->message += recoverable;
                       end(std::move(*e));
                     });
    ioc_.run();
    using state = sync::client_session::state;
    if (session_.current() == state::failed) return *session_.failure_reason();
    if (network_error_ && session_.current() != state::done && session_.current() != state::wiped)
      return *network_error_;
    return session_.progress();
  }

  bool reached_live() const { return reached_live_; }

 private:
  void on_connect() {
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = options_.connect_timeout;
    timeouts.idle_timeout = options_.idle_timeout;
    timeouts.keep_alive_pings = true;
    ws_.set_option(timeouts);
    ws_.binary(true);
    ws_.read_message_max(sync::frame_limits{}.max_frame_bytes);
    if (options_.max_protocol > sync::oldest_protocol_version)
      ws_.set_option(websocket::stream_base::decorator(
          [version = std::to_string(options_.max_protocol)](websocket::request_type& req) {
            req.set(sync::protocol_offer_header, version);
          }));
    ws_.async_handshake(address_.authority(), address_.target, [this](beast::error_code ec) {
      if (ec)
        return lost(ec, "the server at " + address_.authority() + " did not accept a sync session",
                    link::is_tls<Stream> ? "" : "; if it serves TLS, use wss://");
      if (options_.on_event)
        options_.on_event(std::string("connected to ") +
                          (link::is_tls<Stream> ? "wss://" : "ws://") + address_.authority());
      if constexpr (link::is_tls<Stream>)
        backend_.bind_channel(link::channel_binding(ws_.next_layer()));
      session_.start();
      do_read();
      schedule_poll();
    });
  }

  void do_read() {
    ws_.async_read(buffer_, [this](beast::error_code ec, std::size_t) {
      if (ec) {
        if (!closing_) lost(ec, "the connection to the server was lost during sync");
        return;
      }
      const std::string frame = beast::buffers_to_string(buffer_.data());
      buffer_.consume(buffer_.size());
      const auto before = session_.progress();
      session_.on_frame(frame);
      const auto& after = session_.progress();
      if (options_.on_progress &&
          (after.batches_up != before.batches_up || after.batches_down != before.batches_down))
        options_.on_progress(after);
      if (session_.current() == sync::client_session::state::live && !reached_live_) {
        reached_live_ = true;
        if (options_.on_event) options_.on_event("caught up; waiting for live changes");
      }
      if (!closing_ && !stopped()) do_read();
    });
  }

  void schedule_poll() {
    poll_.expires_after(options_.poll_interval);
    poll_.async_wait([this](beast::error_code ec) {
      if (ec || closing_) return;
      session_.on_local_changes();
      schedule_poll();
    });
  }

  // Asks should_stop() every stop_check_interval until the connection is
  // over; do_read asks it after every frame too.
  void schedule_stop_check() {
    if (!options_.should_stop) return;
    stop_check_.expires_after(stop_check_interval);
    stop_check_.async_wait([this](beast::error_code ec) {
      if (ec || finished_ || stopped()) return;
      schedule_stop_check();
    });
  }

  // True, and the connection ends, if should_stop() says so: a watching
  // session that has started closes cleanly and returns what it did; anything
  // else ends at once with errc::cancelled (a session already done still
  // returns its progress). Every frame handled so far is committed, so what
  // the server acknowledged stays acknowledged and the rest stays pending.
  bool stopped() {
    // Closing (e.g. a wipe_done on its way out): nothing is left to stop.
    if (closing_ || !options_.should_stop || !options_.should_stop()) return false;
    if (live_ && session_.current() != sync::client_session::state::idle)
      close();
    else
      end(error{errc::cancelled, std::string("sync cancelled") + cancelled_hint, {}});
    return true;
  }

  void send(std::string frame) override {
    queue_.push_back(std::move(frame));
    if (queue_.size() == 1) do_write();
  }

  void do_write() {
    ws_.async_write(net::buffer(queue_.front()), [this](beast::error_code ec, std::size_t) {
      if (ec) return lost(ec, "the connection to the server was lost during sync");
      queue_.pop_front();
      if (!queue_.empty()) return do_write();
      if (closing_) do_close();
    });
  }

  void close() override {
    if (closing_) return;
    closing_ = true;
    poll_.cancel();
    if (queue_.empty()) do_close();
  }

  void do_close() {
    ws_.async_close(websocket::close_code::normal, [this](beast::error_code) {
      beast::error_code ignored;
      beast::get_lowest_layer(ws_).socket().close(ignored);
      finished_ = true;
      stop_check_.cancel();
    });
  }

  void lost(beast::error_code ec, const std::string& what, std::string_view hint = "") {
    error e = link::network_error(ec, what);
    e.message += hint;
    e.message += recoverable;
    end(std::move(e));
  }

  // Ends the connection with `e` (the first error counts).
  void end(error e) {
    if (!network_error_) network_error_ = std::move(e);
    closing_ = true;
    finished_ = true;
    poll_.cancel();
    stop_check_.cancel();
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
    ioc_.stop();  // the connection is over: don't wait for the stream's timers
  }

  static constexpr const char* recoverable =
      "; nothing recorded is lost — sync again when the network is back";
  static constexpr const char* cancelled_hint =
      ": nothing recorded is lost — changes the server has not acknowledged stay pending for the "
      "next sync";

  const sync_options& options_;
  link::server_url address_;
  bool live_;
  net::io_context ioc_;
  tcp::resolver resolver_;
  websocket::stream<Stream> ws_;
  net::steady_timer poll_;
  net::steady_timer stop_check_;
  beast::flat_buffer buffer_;
  std::deque<std::string> queue_;
  bool closing_ = false;
  bool finished_ = false;  // the socket is closed: no more stop checks
  bool reached_live_ = false;
  std::optional<error> network_error_;
  store_backend backend_;
  sync::client_session session_;
};

sync_summary summarize(store& db, const sync::sync_progress& progress) {
  const sync_state s = unwrap(db.sync_status());
  return {progress, unwrap(db.outbox_cells()), s.pulled_seq, s.wiped};
}

// A wiped store has nothing to sync and no key to sign with.
void check_not_wiped(store& db) {
  if (const auto w = unwrap(db.sync_status()).wiped)
    throw failure(errc::unauthorized, "this device's store was erased because the device was " +
                                          std::string(sync::to_string(w->reason)) +
                                          "; enroll it again (haven enroll) before syncing");
}

void add(sync::sync_progress& total, const sync::sync_progress& more) {
  total.batches_up += more.batches_up;
  total.batches_down += more.batches_down;
  total.changes_up += more.changes_up;
  total.changes_down += more.changes_down;
  total.protocol = more.protocol;
}

// Runs one connection to `address`, plain or TLS: fn(connection&) with the
// connection constructed from (db, options, address, live).
template <class Fn>
auto with_connection(store& db, const sync_options& options, const link::server_url& address,
                     bool live, Fn&& fn) {
  if (!address.tls) {
    connection<link::plain_stream> c(db, options, address, live);
    return fn(c);
  }
  ssl::context tls = unwrap(link::client_tls_context(options.ca_pem));
  connection<link::tls_stream> c(db, options, address, live, tls);
  return fn(c);
}

}  // namespace

result<sync_options> sync_options_for(store& db, std::optional<std::string> server_url,
                                      std::optional<std::string> ca_pem, bool trust_new_server) {
  return capture([&] {
    sync_options o;
    if (auto enrolled = unwrap(db.enrollment())) {
      o.server_url = std::move(enrolled->server_url);
      o.ca_pem = std::move(enrolled->ca_pem);
      if (server_url && *server_url != o.server_url) {
        // An enrolled device signs its hellos for its own server only: another
        // address could be an impostor relaying them, or collecting what the
        // device pushes. The certificate pinned at enrollment proves that the
        // new address is the same server; nothing else does.
        const link::server_url moved = unwrap(parse_url(*server_url));
        const bool pinned = !o.ca_pem.empty();
        if (pinned && ca_pem && *ca_pem != o.ca_pem)
          throw failure(errc::invalid_input,
                        "this device is enrolled with " + o.server_url +
                            " and follows its server to " + *server_url +
                            " only if that server proves itself with the certificate pinned at "
                            "enrollment; leave "
                            "out --ca (a new certificate proves nothing about who holds it)");
        if (!(pinned && moved.tls) && !trust_new_server)
          throw failure(
              errc::invalid_input,
              "this device is enrolled with " + o.server_url + " and syncs only there, not with " +
                  *server_url + ": " +
                  (pinned
                       ? std::string("an unencrypted server cannot prove it holds the certificate "
                                     "pinned at enrollment")
                       : std::string(
                             "no certificate was pinned at enrollment, so nothing proves that "
                             "this is the same server")) +
                  ". If your coordinator told you the server has moved there, sync with --server " +
                  *server_url + " --trust-new-server");
        o.server_url = std::move(*server_url);
        o.remember_server = true;
      }
    } else if (server_url) {
      o.server_url = std::move(*server_url);
    }
    if (ca_pem) o.ca_pem = std::move(*ca_pem);
    return o;
  });
}

namespace {

// Keeps a server address the device followed, once a sync with it succeeded.
void remember_server(store& db, const sync_options& options) {
  if (options.remember_server && !unwrap(db.sync_status()).wiped)
    unwrap(db.move_server(options.server_url));
}

}  // namespace

result<sync_summary> sync_now(store& db, const sync_options& options) {
  return capture([&] {
    check_not_wiped(db);
    const link::server_url address = unwrap(parse_url(options.server_url));
    const auto progress =
        with_connection(db, options, address, false, [](auto& c) { return unwrap(c.run()); });
    remember_server(db, options);
    return summarize(db, progress);
  });
}

result<sync_summary> sync_watch(store& db, const sync_options& options) {
  return capture([&] {
    check_not_wiped(db);
    const link::server_url address = unwrap(parse_url(options.server_url));
    auto stop = [&] { return options.should_stop && options.should_stop(); };
    sync::sync_progress total;
    auto backoff = std::chrono::milliseconds(1000);
    bool remembered = false;
    while (!stop()) {
      bool reached_live = false;
      auto r = with_connection(db, options, address, true, [&](auto& c) {
        auto ended = c.run();
        reached_live = c.reached_live();
        return ended;
      });
      if (r) add(total, r.value());
      if (r && !remembered) {
        remember_server(db, options);
        remembered = true;
      }
      if (stop() || unwrap(db.sync_status()).wiped) break;
      if (!r && r.err().code != errc::unavailable) throw failure(r.err());
      if (reached_live) backoff = std::chrono::milliseconds(1000);
      if (options.on_event)
        options.on_event((r ? std::string("disconnected") : r.err().message) +
                         "; reconnecting in " + std::to_string(backoff.count() / 1000) + " s");
      for (auto waited = std::chrono::milliseconds(0); waited < backoff && !stop();
           waited += std::chrono::milliseconds(100))
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      backoff = std::min(backoff * 2, options.max_backoff);
    }
    return summarize(db, total);
  });
}

}  // namespace haven::client
