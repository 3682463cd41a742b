#pragma once
// One coordinator's live event stream (GET /api/events): a chunked
// text/event-stream response that stays open, taken over from the HTTP
// session whose request carried a valid token. Sends the latest event
// first, then whatever the server publishes (event_streams), one write in
// flight and at most max_queued events waiting (past that the newest replaces
// the last waiting one: each says only "the tallies changed, as of head H").
// A pending read notices the client going away; each write must finish
// within write_timeout. Beyond the server's limit of streams it answers 503
// and closes. Ended by the budget's notice, a token no longer valid, or the
// server's shutdown: the last event, the last chunk, then close.
// Lives through shared_from_this() in its handlers.
// Instantiated for plain_stream and tls_stream in event_stream.cpp.

#include <array>
#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "context.hpp"
#include "event_streams.hpp"

namespace haven::server {

template <class Stream>
class basic_event_stream : public event_stream,
                           public std::enable_shared_from_this<basic_event_stream<Stream>> {
 public:
  // Takes over the connection's stream and slot. `version`: the request's
  // HTTP version (11 for HTTP/1.1: chunked; 10: until close).
  basic_event_stream(Stream&& stream, server_context& ctx, connection_budget::slot slot,
                     unsigned version, std::string authorization);
  ~basic_event_stream() override;

  // Registers the stream, signs its slot in as `credential` ("" for none:
  // only once admitted, so that a refused stream replaces none of its
  // coordinator's), and writes the response's header and the latest event;
  // or, when the server holds its most streams, answers 503.
  void run(const std::string& credential);
  void send(std::shared_ptr<const std::string> event) override;
  void end(std::shared_ptr<const std::string> last) override;
  const std::string& authorization() const override { return authorization_; }

  static constexpr std::size_t max_queued = 4;
  static constexpr std::chrono::seconds write_timeout{30};

 private:
  using std::enable_shared_from_this<basic_event_stream>::shared_from_this;
  using std::enable_shared_from_this<basic_event_stream>::weak_from_this;

  void refuse();
  void on_header(beast::error_code ec, std::size_t bytes);
  void do_read();
  void on_read(beast::error_code ec, std::size_t bytes);
  void enqueue(std::shared_ptr<const std::string> event);  // stream strand
  void do_write();                                         // stream strand
  void on_write(beast::error_code ec, std::size_t bytes);
  void finish();  // stream strand: the last chunk, then close
  void do_close();

  Stream stream_;
  server_context& ctx_;
  connection_budget::slot slot_;
  unsigned version_;
  std::string authorization_;
  http::response<http::empty_body> header_;
  std::optional<http::response_serializer<http::empty_body>> serializer_;  // of header_
  std::shared_ptr<http::response<http::string_body>> refusal_;             // kept until written
  std::deque<std::shared_ptr<const std::string>> queue_;                   // stream strand only
  bool writing_ = false;                                                   // stream strand only
  bool started_ = false;  // stream strand only: the header is written
  bool ending_ = false;   // stream strand only: end() was called
  bool closed_ = false;   // stream strand only
  bool registered_ = false;
  std::array<char, 256> discard_{};
};

}  // namespace haven::server
