#include "crowd.hpp"

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <haven/crypto/crypto.hpp>
#include <haven/schema/schema.hpp>
#include <haven/sync/session.hpp>
#include <optional>
#include <thread>

namespace haven::bench {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

// One listening device: its socket, its session and the backend that keeps
// nothing but the pull cursor and when changes last arrived. Lives on the
// crowd's io thread.
class listener final : public sync::client_backend, public sync::transport {
 public:
  listener(net::io_context& io, std::string team, std::size_t n,
           std::optional<crowd::identity> enrolled)
      : ws_(io),
        team_(std::move(team)),
        n_(n),
        enrolled_(std::move(enrolled)),
        session_(*this, *this, options()) {}

  void open(const tcp::endpoint& server, std::function<void(bool)> done) {
    beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(60));
    beast::get_lowest_layer(ws_).async_connect(server, [this, server, done](beast::error_code ec) {
      if (ec) return done(false);
      beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true));
      beast::get_lowest_layer(ws_).expires_never();
      ws_.binary(true);
      ws_.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
        req.set(sync::protocol_offer_header, std::to_string(sync::protocol_version));
      }));
      ws_.async_handshake(server.address().to_string() + ":" + std::to_string(server.port()),
                          "/sync", [this, done](beast::error_code ec) {
                            if (ec) return done(false);
                            on_live_ = std::move(done);
                            session_.start();
                            read();
                          });
    });
  }

  std::atomic<std::int64_t> last_batch_ns{0};  // steady clock, when changes last arrived

  // sync::client_backend
  sync::hello greeting(const sync::challenge& c) override {
    sync::hello h{c.version,
                  enrolled_ ? enrolled_->device_id : "crowd-" + std::to_string(n_),
                  team_,
                  0x4000'0000 + n_,
                  schema::builtin()->version(),
                  0,
                  pulled_,
                  {}};
    if (enrolled_)
      h.proof = crypto::sign(enrolled_->private_key, sync::proof_message(h, c.nonce, ""));
    return h;
  }
  void welcomed(const sync::welcome&) override {}
  sync::push_batch next_push(std::size_t, std::size_t) override { return {}; }
  void acknowledged(const sync::push_ack&) override {}
  void received(const sync::change_batch& batch) override {
    pulled_ = batch.up_to;
    if (!batch.changes.empty())
      last_batch_ns = std::chrono::steady_clock::now().time_since_epoch().count();
  }
  std::uint64_t pulled_seq() override { return pulled_; }
  void wipe(const sync::wipe_order&) override {}

  // sync::transport
  void send(std::string frame) override {
    queue_.push_back(std::move(frame));
    if (queue_.size() == 1) write();
  }
  void close() override {
    ws_.async_close(websocket::close_code::normal, [](beast::error_code) {});
  }

 private:
  static sync::client_session::options options() {
    sync::client_session::options o;
    o.stay_live = true;
    return o;
  }
  void read() {
    ws_.async_read(buffer_, [this](beast::error_code ec, std::size_t) {
      if (ec) {
        if (on_live_) std::exchange(on_live_, nullptr)(false);
        return;
      }
      session_.on_frame(beast::buffers_to_string(buffer_.data()));
      buffer_.consume(buffer_.size());
      if (session_.current() == sync::client_session::state::live && on_live_)
        std::exchange(on_live_, nullptr)(true);
      if (session_.current() == sync::client_session::state::failed && on_live_)
        std::exchange(on_live_, nullptr)(false);
      read();
    });
  }
  void write() {
    ws_.async_write(net::buffer(queue_.front()), [this](beast::error_code ec, std::size_t) {
      if (ec) return;
      queue_.pop_front();
      if (!queue_.empty()) write();
    });
  }

  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
  std::deque<std::string> queue_;
  std::string team_;
  std::size_t n_;
  std::optional<crowd::identity> enrolled_;
  std::uint64_t pulled_ = 0;
  std::function<void(bool)> on_live_;
  sync::client_session session_;
};

}  // namespace

struct crowd::impl {
  net::io_context io;
  net::executor_work_guard<net::io_context::executor_type> work{io.get_executor()};
  tcp::endpoint server;
  std::vector<std::unique_ptr<listener>> devices;
  std::atomic<std::size_t> live{0}, failed{0};
  std::size_t next = 0;  // the next device to connect (io thread)
  std::thread thread;

  void connect_next() {
    if (next == devices.size()) return;
    devices[next++]->open(server, [this](bool ok) {
      ++(ok ? live : failed);
      connect_next();
    });
  }
};

crowd::crowd(std::string address, std::string team, std::size_t devices,
             std::vector<identity> enrolled)
    : impl_(std::make_unique<impl>()) {
  if (!enrolled.empty() && enrolled.size() != devices)
    throw failure(errc::internal, "crowd: give every device an identity, or none");
  const auto colon = address.rfind(':');
  impl_->server = {net::ip::make_address(address.substr(0, colon)),
                   static_cast<unsigned short>(std::stoi(address.substr(colon + 1)))};
  for (std::size_t i = 0; i < devices; ++i)
    impl_->devices.push_back(std::make_unique<listener>(
        impl_->io, team, i,
        enrolled.empty() ? std::nullopt : std::optional(std::move(enrolled[i]))));
  impl_->thread = std::thread([this] { impl_->io.run(); });
}

crowd::~crowd() {
  impl_->work.reset();
  impl_->io.stop();
  impl_->thread.join();
}

std::size_t crowd::connect(std::size_t parallel, std::chrono::steady_clock::duration deadline) {
  net::post(impl_->io, [this, parallel] {
    for (std::size_t i = 0; i < parallel; ++i) impl_->connect_next();
  });
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (impl_->live + impl_->failed < impl_->devices.size() &&
         std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  return impl_->live;
}

std::vector<double> crowd::await_delivery(time_point sent,
                                          std::chrono::steady_clock::duration timeout) {
  const auto since = sent.time_since_epoch().count();
  const auto end = std::chrono::steady_clock::now() + timeout;
  std::vector<double> delays;
  for (;;) {
    delays.clear();
    for (const auto& d : impl_->devices)
      if (const auto at = d->last_batch_ns.load(); at > since) delays.push_back((at - since) / 1e9);
    if (delays.size() >= impl_->live || std::chrono::steady_clock::now() >= end) return delays;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace haven::bench
