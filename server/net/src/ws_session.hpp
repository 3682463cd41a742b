#pragma once
// One device's sync connection: the WebSocket stream, its write queue, and
// the protocol's server_session. Frames are read one at a time and handled on
// a strand of the store pool (the protocol calls the store); replies come
// back to the stream's strand. One write in flight; the next frame is read
// only after the previous one is handled and while the outgoing queue is
// under its bound (max_queued_frames, max_queued_bytes), so a device that
// sends requests and reads no answer cannot make the server hold more than
// one bounded queue for it: it waits, and the idle timeout drops it. Live
// changes are forwarded only once the queue is empty. Until its hello
// verifies, a session takes frames of at most max_hello_frame_bytes (a hello
// is under 1 KiB), counts against its address in the connection budget and
// must say hello by the connection's sign-in deadline; then it counts
// against its device. Given notice by the budget, it ends with an error
// frame that says why. Lives through shared_from_this() in its handlers.
//
// basic_ws_session<Stream> is the ws_session (session_registry.hpp) over a plain or a TLS stream
// (instantiated for plain_stream and tls_stream in ws_session.cpp).

#include <atomic>
#include <chrono>
#include <deque>
#include <haven/sync/session.hpp>
#include <memory>
#include <string>

#include "context.hpp"

namespace haven::server {

template <class Stream>
class basic_ws_session : public ws_session,
                         public std::enable_shared_from_this<basic_ws_session<Stream>>,
                         private sync::transport {
 public:
  // Takes over the connection's stream (TLS already negotiated) and its
  // slot; the hello is due by `hello_due`. Throws haven::failure if a TLS
  // connection has no channel binding.
  basic_ws_session(Stream&& stream, server_context& ctx, connection_budget::slot slot,
                   std::chrono::steady_clock::time_point hello_due);
  ~basic_ws_session() override;

  // Accepts the WebSocket upgrade in `request` and starts the session.
  void run(http::request<http::string_body> request);
  void notify() override;
  void shutdown(const std::string& reason) override;

  // The outgoing queue's bound: while it holds this many frames, or this
  // many bytes, no further frame is read from the device.
  static constexpr std::size_t max_queued_frames = 4;
  static constexpr std::size_t max_queued_bytes = 4 << 20;
  // The largest frame taken before the hello verifies.
  static constexpr std::size_t max_hello_frame_bytes = 16 << 10;

 private:
  using std::enable_shared_from_this<basic_ws_session>::shared_from_this;
  using std::enable_shared_from_this<basic_ws_session>::weak_from_this;

  void on_notice(connection_budget::notice why);  // stream strand
  void on_accept(beast::error_code ec);
  void expect_hello();
  void do_read();
  void read_when_room();  // stream strand
  void on_read(beast::error_code ec, std::size_t bytes);
  void handle(std::string frame);  // on the logic strand
  // Once the hello verified: into the device's pool and the team's
  // registry, once. True if the session has joined. On the logic strand.
  bool join_if_signed_in();
  void forward_if_idle();  // on the logic strand
  void send(std::string frame) override;
  void close() override;
  void do_write();
  void on_write(beast::error_code ec, std::size_t bytes);
  void do_close();
  void fail(beast::error_code ec, const char* what);

  websocket::stream<Stream> ws_;
  server_context& ctx_;
  connection_budget::slot slot_;
  std::chrono::steady_clock::time_point hello_due_;
  net::steady_timer hello_deadline_;  // stream strand only
  std::string remote_;
  net::strand<net::thread_pool::executor_type> logic_strand_;
  sync::server_session logic_;                                  // used on logic_strand_ only
  std::uint32_t device_offer_ = sync::oldest_protocol_version;  // from the upgrade request
  bool joined_ = false;                                         // logic_strand_ only
  beast::flat_buffer buffer_;
  std::deque<std::string> queue_;  // stream strand only
  std::size_t queued_bytes_ = 0;   // stream strand only: the bytes in queue_
  bool read_wanted_ =
      false;               // stream strand only: the last frame is handled, the next not yet read
  bool accepted_ = false;  // stream strand only: the WebSocket handshake is done
  bool closing_ = false;   // stream strand only
  bool closed_ = false;    // stream strand only
  std::atomic<std::size_t> unsent_{0};
  std::atomic<bool> dirty_{false};
  // The logic was behind the log when it last sent a frame: once the queue
  // is written, it forwards more. Set before the frame is queued.
  std::atomic<bool> behind_{false};
};

}  // namespace haven::server
