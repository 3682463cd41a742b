#pragma once
// One HTTP connection: reads requests (with size limits and a timeout),
// answers them from http_api on the store pool, and hands a WebSocket
// upgrade on /sync over to a ws_session. Until a request carries a valid
// coordinator token the connection is not signed in: the TLS handshake and
// its first request must be done within the handshake timeout of connecting,
// each later request within the handshake timeout of the last reply, and it
// counts against its address in the connection budget; once signed in it
// counts against the coordinator, and a request may take 30 s. Given notice
// by the budget, it finishes the reply it owes (if any) and closes.
// Instantiated for plain_stream and tls_stream in http_session.cpp.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include "context.hpp"

namespace haven::server {

template <class Stream>
class basic_http_session : public std::enable_shared_from_this<basic_http_session<Stream>> {
 public:
  // `forwarded_for`: the peer is a trusted proxy that sent no PROXY header,
  // so each request's X-Forwarded-For names its client (the slot is moved to
  // that address, within its limit).
  basic_http_session(Stream&& stream, server_context& ctx, connection_budget::slot slot,
                     bool forwarded_for = false)
      : stream_(std::move(stream)),
        ctx_(ctx),
        slot_(std::move(slot)),
        deadline_(std::chrono::steady_clock::now() + ctx.handshake_timeout),
        forwarded_for_(forwarded_for) {
    if (forwarded_for_) proxy_ = slot_->address();
  }
  void run();

 private:
  using std::enable_shared_from_this<basic_http_session>::shared_from_this;

  void on_handshake(beast::error_code ec);
  // Gives the slot this session's closer (for the slot of `generation`).
  void watch_slot();
  void on_notice(std::uint64_t generation);
  void do_read();
  void on_read(beast::error_code ec, std::size_t bytes);
  // Counts the connection under the client X-Forwarded-For names (or the
  // proxy's own address without one); false after answering a refusal.
  bool take_forwarded_client(const http::request<http::string_body>& req);
  void refuse(http::status status, unsigned version, const std::string& body);
  // Hands the connection over to a live event stream (GET /api/events,
  // authorised by http_api), counted against `coordinator`'s streams.
  void start_events(unsigned version, const std::string& coordinator,
                    const std::string& authorization);
  void write(http::response<http::string_body> response);
  void on_write(bool keep_alive, beast::error_code ec, std::size_t bytes);
  void do_close();

  Stream stream_;
  server_context& ctx_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<http::response<http::string_body>> response_;  // kept until written
  std::optional<connection_budget::slot> slot_;                  // handed on to a ws_session
  std::uint64_t slot_generation_ = 0;  // counts the slots slot_ has held (a notice names its own)
  // Until signed in: when the TLS handshake and the request being read must
  // be done.
  std::chrono::steady_clock::time_point deadline_;
  bool signed_in_ = false;          // a request carried a valid coordinator token
  bool owes_reply_ = false;         // a request was read and its reply not yet written
  bool close_after_reply_ = false;  // given notice while owing a reply
  bool forwarded_for_ = false;
  std::string proxy_;  // the trusted proxy's address, when forwarded_for_
};

}  // namespace haven::server
