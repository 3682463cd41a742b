#include <sys/resource.h>

#include <array>
#include <atomic>
#include <haven/server/central_store.hpp>
#include <haven/server/log.hpp>
#include <haven/server/proxy_protocol.hpp>
#include <haven/server/server.hpp>
#include <haven/server/tally_reports.hpp>
#include <thread>

#include "context.hpp"
#include "http_session.hpp"
#include "store_file_watch.hpp"
#include "tls_context.hpp"

namespace haven::server {
namespace {

// The TLS context when the config names a certificate and key; nullptr for
// plain connections, which only a loopback address may serve.
std::unique_ptr<ssl::context> tls_context_for(const server_config& config) {
  if (config.tls_cert.empty() != config.tls_key.empty())
    throw failure(errc::invalid_input, "TLS needs both --tls-cert FILE and --tls-key FILE");
  if (!config.tls_cert.empty()) return make_server_tls_context(config.tls_cert, config.tls_key);
  if (!is_loopback_host(config.host))
    throw failure(errc::invalid_input,
                  "refusing to listen on " + config.host +
                      " without TLS: devices would send records unencrypted; give --tls-cert FILE "
                      "--tls-key FILE "
                      "(havend dev-cert makes a pair for testing), or listen on 127.0.0.1");
  return nullptr;
}

// Whom a recount of the tally tells once it ends: the server, once it
// serves (until it stops), so that dashboards fetch the figures again.
class recount_listener {
 public:
  void set(std::function<void()> on_done) {
    std::lock_guard lock(mutex_);
    on_done_ = std::move(on_done);
  }
  void done() {
    std::lock_guard lock(mutex_);
    if (on_done_) on_done_();
  }

 private:
  std::mutex mutex_;
  std::function<void()> on_done_;
};

// The central store's options: its pull batches fit the sessions' frame
// limits, and a recount of the tally runs while havend serves, logged every
// tenth of the way.
sqlite_store_options store_options_for(const server_config& config,
                                       std::shared_ptr<recount_listener> listener) {
  sqlite_store_options o;
  o.limits = config.limits;
  o.recount = sqlite_store_options::recount_mode::while_serving;
  o.on_recount = [listener, logged = std::int64_t{-1}](const recount_progress& p) mutable {
    if (!p.failure.empty()) {
      log(log_level::error,
          "tally recount failed: " + p.failure +
              "; the reports say so until havend is restarted, which tries again");
      return;
    }
    if (p.done) {
      log(log_level::info, "tally recounted: every record counted; the reports answer again");
      listener->done();
      return;
    }
    const std::int64_t tenth =
        p.last > 0 ? std::min<std::int64_t>(9, 10 * p.counted_to / p.last) : 0;
    if (tenth == logged) return;
    logged = tenth;
    log(log_level::info, "tally recount " + std::to_string(10 * tenth) + "% (record " +
                             std::to_string(p.counted_to) + " of " + std::to_string(p.last) +
                             "): the reports answer once it ends; pushes and pulls go on");
  };
  return o;
}

// Warns when the open-file limit is below --max-connections and a margin for
// the store and the log: past the limit connections wait in the kernel's
// queue (and accepting backs off), where the budget cannot make room.
void check_open_file_limit(const server_config& config) {
  constexpr rlim_t margin = 64;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return;
  if (limit.rlim_cur >= config.connections.total + margin) return;
  log(log_level::warn,
      "open-file limit " + std::to_string(limit.rlim_cur) + " is below --max-connections " +
          std::to_string(config.connections.total) + " plus " + std::to_string(margin) +
          " for the store and the log: raise it (ulimit -n, systemd LimitNOFILE) or lower "
          "--max-connections");
}

// The --trusted-proxy addresses, canonical. Throws haven::failure
// (errc::invalid_input) for one that is not an IP address.
std::vector<std::string> trusted_proxies_of(const server_config& config) {
  std::vector<std::string> out;
  for (const auto& text : config.trusted_proxies) {
    const auto address = canonical_address(text);
    if (!address)
      throw failure(errc::invalid_input,
                    "--trusted-proxy takes the proxy's IP address (got \"" + text + "\")");
    out.push_back(*address);
  }
  return out;
}

}  // namespace

struct server::impl {
  server_config config;
  std::unique_ptr<ssl::context> tls;  // nullptr: plain connections (loopback only)
  std::shared_ptr<const schema> record_schema;
  metrics counters;
  // Before the store, whose recount may end while it opens (then no
  // dashboard is open yet) or while it closes (told no one then).
  std::shared_ptr<recount_listener> recounted = std::make_shared<recount_listener>();
  std::unique_ptr<central_store> store;
  tally_reports tallies;
  std::unique_ptr<access_registry> access;  // nullptr when config.authenticate is false
  login_guard guard;
  sync_service service;
  http_api api;
  session_registry registry;
  event_streams events;
  connection_budget budget;
  // Sessions still open when the threads stop are destroyed with the
  // handlers that hold them, when `ioc` is: everything a session uses (the
  // registry, the budget, ctx, the store pool its logic strand runs on) is
  // declared before `ioc` so that it outlives it. `store_pool` holds no
  // handler by then (run() joins it after its work is done).
  net::thread_pool store_pool;
  server_context ctx;
  net::io_context ioc;
  // The acceptor, the signals and the timers are used on this strand only,
  // whichever io thread runs their handlers.
  net::strand<net::io_context::executor_type> control;
  tcp::acceptor acceptor;
  net::signal_set signals;
  net::steady_timer tally_refresh;
  // Standings: looked at when the store's file is written (store_writes),
  // and every standing_poll in case the watch misses a write.
  net::steady_timer standing_poll;
  store_file_watch store_writes;
  bool standings_checking = false, standings_check_again = false;  // on `control`
  std::int64_t standings_seen = 0;  // the standings job only: the registry's standings_version
  net::steady_timer grace;
  // Accepting again after the process ran out of file descriptors (or
  // buffers, or memory): a back-off from 100 ms doubling to 1 s, reset by an
  // accept that works. On `control`.
  net::steady_timer accept_pause;
  std::chrono::milliseconds accept_delay{0};
  // Writes the counts of suppressed log lines and audit rows now and then.
  net::steady_timer suppressed_flush;
  // Live events (GET /api/events), on `control`: a change is published at
  // once, or event_interval after the last event, one event for every change
  // in between; a heartbeat comment every heartbeat_interval.
  static constexpr auto event_interval = std::chrono::milliseconds(150);
  static constexpr auto heartbeat_interval = std::chrono::seconds(15);
  net::steady_timer event_due;
  bool event_scheduled = false;
  std::chrono::steady_clock::time_point last_event{};
  std::uint64_t event_version = 0;
  std::atomic<std::uint64_t> head{0};  // the store's head as last seen
  net::steady_timer heartbeat;
  bool stopping = false;  // on `control`

  explicit impl(server_config c)
      : config(std::move(c)),
        tls(tls_context_for(config)),
        record_schema(config.record_schema ? config.record_schema : schema::builtin()),
        store(open_sqlite_store(config.db, record_schema, store_options_for(config, recounted))),
        tallies(*store, record_schema, config.public_k),
        access(config.authenticate ? open_sqlite_registry(config.db) : nullptr),
        guard(config.login),
        service(*store, *store, record_schema, counters, access.get(), guard,
                sync::hlc_clock(config.max_skew_ms)),
        api(*store, *store, tallies, counters, access.get(), &guard),
        events(config.max_event_streams),
        budget(config.connections, &counters),
        store_pool(std::max(1u, config.store_threads)),
        ctx{service,
            api,
            counters,
            registry,
            store_pool,
            config.limits,
            config.handshake_timeout,
            config.idle_timeout,
            config.max_protocol,
            access.get(),
            guard,
            budget,
            trusted_proxies_of(config),
            events},
        ioc(static_cast<int>(thread_count())),
        control(net::make_strand(ioc)),
        acceptor(control),
        signals(control, SIGINT, SIGTERM),
        tally_refresh(control),
        standing_poll(control),
        store_writes(control, config.db,
                     [this] {
                       check_standings();
                       // Another process (havend token, revoke) may have replaced
                       // a coordinator's token; it writes no record, so no tally
                       // changed, and any write (an audit row, a checkpoint) is no
                       // reason for every dashboard to fetch again.
                       in_background(
                           "token check", [this] { check_tokens(); }, [] {});
                     }),
        grace(control),
        accept_pause(control),
        suppressed_flush(control),
        event_due(control),
        heartbeat(control) {
    recounted->set([this] { net::post(control, [this] { tallies_changed(); }); });
    service.on_team_changed([this](std::string_view team) { registry.notify(team); });
    service.on_committed([this](std::uint64_t at) {
      for (auto seen = head.load(); at > seen && !head.compare_exchange_weak(seen, at);) {
      }
      net::post(control, [this] { tallies_changed(); });
    });
    api.stale_after_days(config.stale_after_days);
    beast::error_code ec;
    const auto address =
        net::ip::make_address(config.host == "localhost" ? "127.0.0.1" : config.host, ec);
    if (ec)
      throw failure(errc::invalid_input,
                    "cannot listen on \"" + config.host + "\": not an IP address");
    const tcp::endpoint endpoint{address, config.port};
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (ec)
      throw failure(errc::unavailable, "cannot listen on " + config.host + ":" +
                                           std::to_string(config.port) + ": " + ec.message());
  }

  unsigned thread_count() const {
    return config.threads ? config.threads : std::max(1u, std::thread::hardware_concurrency());
  }

  void do_accept() {
    acceptor.async_accept(
        net::make_strand(ioc),
        net::bind_executor(control, [this](beast::error_code ec, tcp::socket socket) {
          if (ec) {
            if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
            if (out_of_resources(ec)) return pause_accepting(ec);
            log_repeated(log_level::warn, "accept failed", "",
                         "accept failed error=\"" + ec.message() + "\"");
          } else {
            accept_delay = std::chrono::milliseconds(0);
            serve(std::move(socket));
          }
          if (acceptor.is_open()) do_accept();
        }));
  }

  // Out of file descriptors, buffers or memory: accepting again at once
  // would fail again at once, with the connection still queued.
  static bool out_of_resources(const beast::error_code& ec) {
    return ec == net::error::no_descriptors || ec == net::error::no_buffer_space ||
           ec == net::error::no_memory || ec == beast::error_code(ENFILE, beast::system_category());
  }

  void pause_accepting(const beast::error_code& ec) {
    using namespace std::chrono_literals;
    accept_delay =
        accept_delay == 0ms ? 100ms : std::min<std::chrono::milliseconds>(accept_delay * 2, 1000ms);
    log_repeated(log_level::error, "accept paused", "",
                 "accept failed error=\"" + ec.message() +
                     "\" retry_in_ms=" + std::to_string(accept_delay.count()));
    accept_pause.expires_after(accept_delay);
    accept_pause.async_wait([this](beast::error_code wait_ec) {
      if (!wait_ec && acceptor.is_open()) do_accept();
    });
  }

  void serve(tcp::socket socket) {
    beast::error_code ignored;
    // The protocol takes turns; Nagle's algorithm would hold a message's
    // last segment until the device's delayed ACK (about 40 ms a turn).
    socket.set_option(tcp::no_delay(true), ignored);
    const auto peer = canonical_address(socket.remote_endpoint(ignored).address().to_string());
    if (!peer) return;  // gone already
    if (ctx.trusted_proxy(*peer))
      return std::make_shared<proxy_preamble>(*this, std::move(socket), *peer)->run();
    start_session(std::move(socket), *peer, false);
  }

  // Starts the connection's HTTP session, counted under `client`.
  void start_session(tcp::socket socket, const std::string& client, bool forwarded_for) {
    beast::error_code ignored;
    if (auto slot = budget.admit(client)) {
      if (tls)
        std::make_shared<basic_http_session<tls_stream>>(tls_stream(std::move(socket), *tls), ctx,
                                                         std::move(*slot), forwarded_for)
            ->run();
      else
        std::make_shared<basic_http_session<plain_stream>>(plain_stream(std::move(socket)), ctx,
                                                           std::move(*slot), forwarded_for)
            ->run();
    } else {
      log_repeated(log_level::warn, "connection refused", client,
                   "connection refused remote=" + client +
                       " reason=\"the server holds its most connections, all signed in\"");
      socket.close(ignored);
    }
  }

  // A connection from a trusted proxy: if it starts with the PROXY v2
  // signature, the header is read (and consumed) and the session counts the
  // client it names; otherwise nothing is consumed and the HTTP session takes
  // the client from X-Forwarded-For. Bounded: the header's size, and the
  // handshake timeout for the first bytes.
  class proxy_preamble : public std::enable_shared_from_this<proxy_preamble> {
   public:
    proxy_preamble(impl& server, tcp::socket socket, std::string proxy)
        : server_(server),
          socket_(std::move(socket)),
          deadline_(socket_.get_executor()),
          proxy_(std::move(proxy)) {}

    void run() {
      deadline_.expires_after(server_.config.handshake_timeout);
      deadline_.async_wait([self = shared_from_this()](beast::error_code ec) {
        if (ec) return;
        beast::error_code ignored;
        self->socket_.close(ignored);  // ends the pending wait or read
      });
      socket_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](beast::error_code ec) {
        self->on_readable(ec);
      });
    }

   private:
    void on_readable(beast::error_code ec) {
      if (ec) return;
      const std::size_t n = socket_.receive(net::buffer(bytes_.data(), proxy_v2_signature.size()),
                                            tcp::socket::message_peek, ec);
      if (ec || n == 0) return;
      if (parse_proxy_v2({bytes_.data(), n}).outcome == proxy_v2_result::status::not_proxy) {
        deadline_.cancel();
        return server_.start_session(std::move(socket_), proxy_, true);
      }
      read(proxy_v2_fixed_bytes);
    }

    void read(std::size_t total) {
      net::async_read(socket_, net::buffer(bytes_.data() + have_, total - have_),
                      [self = shared_from_this(), total](beast::error_code ec, std::size_t) {
                        if (ec) return;
                        self->have_ = total;
                        self->on_header();
                      });
    }

    void on_header() {
      const auto r = parse_proxy_v2({bytes_.data(), have_});
      using status = proxy_v2_result::status;
      if (r.outcome == status::need_more) return read(r.needed);
      deadline_.cancel();
      if (r.outcome != status::ok) {
        log_repeated(log_level::warn, "proxy header refused", proxy_,
                     "proxy header refused via=" + proxy_ + " error=\"" + r.error + "\"");
        beast::error_code ignored;
        socket_.close(ignored);
        return;
      }
      server_.start_session(std::move(socket_), r.source.empty() ? proxy_ : r.source, false);
    }

    impl& server_;
    tcp::socket socket_;
    net::steady_timer deadline_;
    std::string proxy_;
    std::array<char, proxy_v2_fixed_bytes + proxy_v2_max_payload> bytes_{};
    std::size_t have_ = 0;
  };

  // Every 10 s: the log lines and audit rows held back by their rate limits,
  // as one line or row per kind and address with the count.
  void schedule_suppressed_flush() {
    if (stopping) return;
    suppressed_flush.expires_after(std::chrono::seconds(10));
    suppressed_flush.async_wait([this](beast::error_code ec) {
      if (ec) return;
      in_background(
          "suppressed counts", [this] { flush_suppressed(false); },
          [this] { schedule_suppressed_flush(); });
    });
  }

  void flush_suppressed(bool everything) {
    flush_repeated_logs(everything);
    const auto rows = guard.suppressed_audits(unix_ms_now(), everything);
    if (access)
      for (const auto& row : rows) access->audit(row);
  }

  // Runs a periodic job on the store pool, then `next` (which schedules the
  // next round) on `control`. A failure (a busy or full disk) is logged and
  // the next round tries again: it must not end havend.
  template <class Job, class Next>
  void in_background(const char* what, Job job, Next next) {
    net::post(store_pool, [this, what, job = std::move(job), next = std::move(next)]() mutable {
      try {
        job();
      } catch (const std::exception& e) {
        log(log_level::error, std::string(what) + " failed error=\"" + e.what() + "\"");
      }
      net::post(control, std::move(next));
    });
  }

  // `havend retire` and `revoke` run as other processes and write the
  // registry: when a standing changed, every live session looks at its
  // device's standing again (one told to wipe is then told at once). One
  // check at a time; a write during one asks for one more.
  void check_standings() {
    if (!access || stopping) return;
    if (standings_checking) {
      standings_check_again = true;
      return;
    }
    standings_checking = true;
    in_background(
        "standing watch",
        [this] {
          if (const std::int64_t version = access->standings_version(); version != standings_seen) {
            standings_seen = version;
            service.standings_changed();
            registry.notify_all();
          }
        },
        [this] {
          standings_checking = false;
          if (std::exchange(standings_check_again, false)) check_standings();
        });
  }

  // The safety net beside the store's watch (every 2 s where there is none).
  void schedule_standing_poll() {
    if (!access || stopping) return;
    standing_poll.expires_after(store_writes.watching() ? std::chrono::seconds(60)
                                                        : std::chrono::seconds(2));
    standing_poll.async_wait([this](beast::error_code ec) {
      if (ec) return;
      check_standings();
      schedule_standing_poll();
    });
  }

  void schedule_tally_refresh() {
    if (stopping) return;
    tally_refresh.expires_after(std::chrono::hours(1));
    tally_refresh.async_wait([this](beast::error_code ec) {
      if (ec) return;
      in_background(
          "tally refresh", [this] { store->refresh(); }, [this] { schedule_tally_refresh(); });
    });
  }

  // On `control`: the tallies may have changed; an event is published now,
  // or when event_interval has passed since the last (one for all changes
  // meanwhile).
  void tallies_changed() {
    if (stopping || event_scheduled) return;
    event_scheduled = true;
    event_due.expires_at(std::max(std::chrono::steady_clock::now(), last_event + event_interval));
    event_due.async_wait([this](beast::error_code ec) {
      event_scheduled = false;
      if (ec || stopping) return;
      last_event = std::chrono::steady_clock::now();
      const std::string version = std::to_string(++event_version);
      const auto event = std::make_shared<const std::string>(
          "id: " + version + "\nevent: tally\ndata: {\"head\":" + std::to_string(head.load()) +
          ",\"version\":" + version + "}\n\n");
      // A write by another process may have replaced a coordinator's token.
      in_background(
          "event",
          [this, event] {
            check_tokens();
            events.publish(event);
          },
          [] {});
    });
  }

  // On the store pool: ends the streams whose token is no longer valid.
  void check_tokens() {
    if (!access || events.size() == 0) return;
    static const auto last = std::make_shared<const std::string>(
        "event: end\ndata: {\"reason\":\"the coordinator token is no longer valid\"}\n\n");
    events.end_if(
        [this](const event_stream& s) {
          try {
            return !api.token_still_valid(s.authorization());
          } catch (const std::exception& e) {  // the registry failed: the next check decides
            log(log_level::error, std::string("token check failed error=\"") + e.what() + "\"");
            return false;
          }
        },
        last);
  }

  void schedule_heartbeat() {
    if (stopping) return;
    heartbeat.expires_after(heartbeat_interval);
    heartbeat.async_wait([this](beast::error_code ec) {
      if (ec) return;
      static const auto comment = std::make_shared<const std::string>(": heartbeat\n\n");
      in_background(
          "heartbeat",
          [this] {
            check_tokens();
            events.broadcast(comment);
          },
          [this] { schedule_heartbeat(); });
    });
  }

  // The store's recount may still end while the store closes, after
  // `control` is gone: from now on it tells no one.
  ~impl() { recounted->set(nullptr); }

  // Stops accepting, ends the sessions with an error frame, and gives them a
  // moment to flush before the io_context stops.
  void begin_shutdown() {
    if (stopping) return;
    stopping = true;
    log(log_level::info, "shutting down sessions=" + std::to_string(registry.size()));
    beast::error_code ec;
    acceptor.close(ec);
    signals.cancel();
    tally_refresh.cancel();
    standing_poll.cancel();
    store_writes.cancel();
    accept_pause.cancel();
    suppressed_flush.cancel();
    event_due.cancel();
    heartbeat.cancel();
    registry.close_all();
    events.end_all(std::make_shared<const std::string>(
        "event: end\ndata: {\"reason\":\"the server is shutting down\"}\n\n"));
    // Give the sessions' error frames a moment to leave; none open: stop now.
    grace.expires_after(registry.size() + events.size() == 0 ? std::chrono::seconds(0)
                                                             : std::chrono::seconds(2));
    grace.async_wait([this](beast::error_code) { ioc.stop(); });
  }
};

server::server(server_config config) : impl_(std::make_unique<impl>(std::move(config))) {}

server::~server() = default;

std::string server::address() const {
  const auto endpoint = impl_->acceptor.local_endpoint();
  const auto address = endpoint.address();
  const std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  return host + ":" + std::to_string(endpoint.port());
}

void server::run() {
  impl& s = *impl_;
  check_open_file_limit(s.config);
  s.store->refresh();
  s.head = s.store->counts().head;
  s.signals.async_wait([&s](beast::error_code ec, int) {
    if (!ec) s.begin_shutdown();
  });
  s.do_accept();
  s.schedule_tally_refresh();
  s.store_writes.start();  // standings and tokens another process wrote
  s.schedule_standing_poll();
  s.schedule_heartbeat();
  s.schedule_suppressed_flush();
  std::vector<std::thread> threads;
  for (unsigned i = 1; i < s.thread_count(); ++i) threads.emplace_back([&s] { s.ioc.run(); });
  s.ioc.run();
  for (auto& t : threads) t.join();
  s.store_pool.join();  // the transaction in flight completes
  try {
    s.flush_suppressed(true);
  } catch (const std::exception& e) {
    log(log_level::error, std::string("suppressed counts failed error=\"") + e.what() + "\"");
  }
  log(log_level::info, "stopped");
}

void server::stop() {
  net::post(impl_->control, [this] { impl_->begin_shutdown(); });
}

}  // namespace haven::server
