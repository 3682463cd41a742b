#include "ws_session.hpp"

#include <algorithm>
#include <haven/server/log.hpp>

namespace haven::server {
namespace {

// What the device signs besides the nonce: the TLS connection's binding, or
// nothing over a plain connection.
template <class Stream>
std::string binding_of(Stream& stream) {
  if constexpr (is_tls<Stream>)
    return channel_binding(stream);
  else
    return {};
}

}  // namespace

template <class Stream>
basic_ws_session<Stream>::basic_ws_session(Stream&& stream, server_context& ctx,
                                           connection_budget::slot slot,
                                           std::chrono::steady_clock::time_point hello_due)
    : ws_(std::move(stream)),
      ctx_(ctx),
      slot_(std::move(slot)),
      hello_due_(hello_due),
      hello_deadline_(ws_.get_executor()),
      logic_strand_(net::make_strand(ctx.store_pool)),
      logic_(ctx.service, *this, ctx.limits, slot_.address(), binding_of(ws_.next_layer())) {
  beast::error_code ec;
  const auto endpoint = beast::get_lowest_layer(ws_).socket().remote_endpoint(ec);
  remote_ = ec ? "?" : endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
  logic_.max_protocol = ctx.max_protocol;
}

template <class Stream>
basic_ws_session<Stream>::~basic_ws_session() {
  ctx_.registry.remove(this);
  --ctx_.counters.connected_devices;
  const auto& device = logic_.device();
  log_repeated(log_level::info, "session closed", slot_.address(),
               "session closed remote=" + remote_ +
                   (device.device_id.empty() ? "" : " device=" + device.device_id));
}

template <class Stream>
void basic_ws_session<Stream>::run(http::request<http::string_body> request) {
  ++ctx_.counters.connected_devices;
  beast::get_lowest_layer(ws_).expires_never();  // the websocket timeouts take over
  auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::server);
  timeouts.handshake_timeout = ctx_.handshake_timeout;
  timeouts.idle_timeout = ctx_.idle_timeout;
  ws_.set_option(timeouts);
  ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(http::field::server, "havend"); }));
  ws_.read_message_max(std::min(ctx_.limits.max_frame_bytes, max_hello_frame_bytes));
  ws_.binary(true);
  slot_.on_notice([weak = weak_from_this()](connection_budget::notice why) {
    if (auto self = weak.lock())
      net::post(self->ws_.get_executor(), [self, why] { self->on_notice(why); });
  });
  device_offer_ = sync::parse_protocol_offer(request[sync::protocol_offer_header]);
  ws_.async_accept(request,
                   beast::bind_front_handler(&basic_ws_session::on_accept, shared_from_this()));
}

template <class Stream>
void basic_ws_session<Stream>::on_notice(connection_budget::notice why) {
  if (!accepted_) {
    beast::get_lowest_layer(ws_).close();  // ends the pending WebSocket handshake
    return;
  }
  using notice = connection_budget::notice;
  shutdown(why == notice::replaced ? "ended: this device opened a newer session (" +
                                         std::to_string(ctx_.budget.limits().per_credential) +
                                         " at most at once), and this one was its oldest"
           : why == notice::address_full ? "closed to make room: too many connections from your "
                                           "address had not signed in; sync again"
                                         : "closed to make room: the server holds all the "
                                           "connections it takes; sync again in a moment");
}

template <class Stream>
void basic_ws_session<Stream>::on_accept(beast::error_code ec) {
  if (ec) return fail(ec, "accept");
  accepted_ = true;
  ctx_.registry.add(shared_from_this());
  ++ctx_.counters.sessions_total;
  log_repeated(log_level::info, "session opened", slot_.address(),
               "session opened remote=" + remote_);
  expect_hello();
  net::post(logic_strand_, [self = shared_from_this()] {
    self->logic_.start(self->device_offer_);
  });  // the challenge
  do_read();
}

template <class Stream>
void basic_ws_session<Stream>::expect_hello() {
  hello_deadline_.expires_at(hello_due_);
  hello_deadline_.async_wait([weak = weak_from_this()](beast::error_code ec) {
    auto self = weak.lock();
    if (ec || !self) return;
    net::post(self->logic_strand_, [self] {
      const auto state = self->logic_.current();
      if (state != sync::server_session::state::idle &&
          state != sync::server_session::state::awaiting_hello)
        return;
      self->logic_.fail(errc::protocol, "no hello within " +
                                            std::to_string(self->ctx_.handshake_timeout.count()) +
                                            " s of connecting: a session starts with hello");
      ++self->ctx_.counters.refused_frames;
      log_repeated(log_level::warn, "session refused", self->slot_.address(),
                   "session refused remote=" + self->remote_ + " reason=\"no hello in time\"");
    });
  });
}

template <class Stream>
void basic_ws_session<Stream>::do_read() {
  ws_.async_read(buffer_,
                 beast::bind_front_handler(&basic_ws_session::on_read, shared_from_this()));
}

template <class Stream>
void basic_ws_session<Stream>::on_read(beast::error_code ec, std::size_t) {
  if (ec) return fail(ec, "read");
  std::string frame = beast::buffers_to_string(buffer_.data());
  buffer_.consume(buffer_.size());
  net::post(logic_strand_, [self = shared_from_this(), frame = std::move(frame)]() mutable {
    self->handle(std::move(frame));
  });
}

template <class Stream>
void basic_ws_session<Stream>::handle(std::string frame) {
  const bool was_joined = joined_;
  logic_.on_frame(frame);
  if (logic_.current() == sync::server_session::state::closed) {
    if (!logic_.refusal().empty()) {
      ++ctx_.counters.refused_frames;
      log_repeated(log_level::warn, "session refused", slot_.address(),
                   "session refused remote=" + remote_ + " device=" + logic_.device().device_id +
                       " reason=\"" + logic_.refusal() + "\"");
    }
    return;
  }
  const bool signed_in = !was_joined && join_if_signed_in();
  // Posted after any frame this one produced (same strand, in order), so the
  // queue already holds them when the stream strand decides to read on.
  net::post(ws_.get_executor(), [self = shared_from_this(), signed_in] {
    if (signed_in) self->ws_.read_message_max(self->ctx_.limits.max_frame_bytes);
    self->read_wanted_ = true;
    self->read_when_room();
  });
}

template <class Stream>
bool basic_ws_session<Stream>::join_if_signed_in() {
  using state = sync::server_session::state;
  const auto now = logic_.current();
  if (joined_ || now == state::idle || now == state::awaiting_hello || now == state::closed)
    return joined_;
  joined_ = true;
  // Out of its address's pool, into its device's (which may replace the
  // device's oldest session).
  slot_.sign_in("device:" + logic_.device().device_id);
  ctx_.registry.join(logic_.device().team, shared_from_this());
  log(log_level::info, "device connected remote=" + remote_ + " device=" +
                           logic_.device().device_id + " team=" + logic_.device().team);
  return true;
}

template <class Stream>
void basic_ws_session<Stream>::read_when_room() {
  if (!read_wanted_ || closed_ || closing_) return;
  if (queue_.size() >= max_queued_frames || queued_bytes_ >= max_queued_bytes)
    return;  // on_write comes back
  read_wanted_ = false;
  do_read();
}

template <class Stream>
void basic_ws_session<Stream>::notify() {
  dirty_ = true;
  net::post(logic_strand_, [self = shared_from_this()] { self->forward_if_idle(); });
}

template <class Stream>
void basic_ws_session<Stream>::forward_if_idle() {
  if (unsent_ > 0) return;  // on_write comes back here once the queue is empty
  if (!dirty_.exchange(false) && !logic_.behind()) return;
  logic_.on_changes(logic_.device().team);
}

template <class Stream>
void basic_ws_session<Stream>::shutdown(const std::string& reason) {
  net::post(logic_strand_, [self = shared_from_this(), reason] {
    if (self->logic_.current() == sync::server_session::state::closed) return;
    self->logic_.fail(errc::unavailable, reason);
  });
}

template <class Stream>
void basic_ws_session<Stream>::send(std::string frame) {
  // Called by the logic, on its strand. The welcome (or a wipe order) is the
  // first frame after the hello verified: the session leaves its address's
  // pool before it goes, so the device, once it reads it, can open another
  // connection from that address without crowding this one out.
  join_if_signed_in();
  behind_ = logic_.behind();
  ++unsent_;
  net::post(ws_.get_executor(), [self = shared_from_this(), frame = std::move(frame)]() mutable {
    if (self->closed_) return;
    self->queued_bytes_ += frame.size();
    self->queue_.push_back(std::move(frame));
    if (self->queue_.size() == 1) self->do_write();
  });
}

template <class Stream>
void basic_ws_session<Stream>::close() {
  net::post(ws_.get_executor(), [self = shared_from_this()] {
    self->closing_ = true;
    if (self->queue_.empty()) self->do_close();
  });
}

template <class Stream>
void basic_ws_session<Stream>::do_write() {
  ws_.async_write(net::buffer(queue_.front()),
                  beast::bind_front_handler(&basic_ws_session::on_write, shared_from_this()));
}

template <class Stream>
void basic_ws_session<Stream>::on_write(beast::error_code ec, std::size_t) {
  if (ec) return fail(ec, "write");
  queued_bytes_ -= queue_.front().size();
  queue_.pop_front();
  --unsent_;
  read_when_room();
  if (!queue_.empty()) return do_write();
  if (closing_) return do_close();
  // Back to the logic only if it has more to forward: a notify while the
  // queue was written (it left the forwarding to this write; dirty_ is
  // read after unsent_ fell), or a live batch cut short.
  if (unsent_ > 0 || (!dirty_ && !behind_)) return;
  net::post(logic_strand_, [self = shared_from_this()] { self->forward_if_idle(); });
}

template <class Stream>
void basic_ws_session<Stream>::do_close() {
  if (closed_) return;
  closed_ = true;
  ws_.async_close(websocket::close_code::normal, [self = shared_from_this()](beast::error_code) {});
}

template <class Stream>
void basic_ws_session<Stream>::fail(beast::error_code ec, const char* what) {
  closed_ = true;
  if (ec == websocket::error::closed || ec == net::error::operation_aborted ||
      ec == net::error::eof || ec == net::error::connection_reset ||
      ec == ssl::error::stream_truncated)
    return;
  log_repeated(log_level::warn, std::string("session ") + what + " failed", slot_.address(),
               std::string("session ") + what + " failed remote=" + remote_ + " error=\"" +
                   ec.message() + "\"");
}

template class basic_ws_session<plain_stream>;
template class basic_ws_session<tls_stream>;

}  // namespace haven::server
