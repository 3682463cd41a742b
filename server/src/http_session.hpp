#pragma once
// One HTTP connection: reads requests (with size limits and a timeout),
// answers them from http_api on the store pool, and hands a WebSocket
// upgrade on /sync over to a ws_session. Over TLS it first completes the
// TLS handshake within the server's handshake timeout. Instantiated for
// plain_stream and tls_stream in http_session.cpp.

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
  basic_http_session(Stream&& stream, server_context& ctx, address_limiter::slot slot,
                     bool forwarded_for = false)
      : stream_(std::move(stream)),
        ctx_(ctx),
        slot_(std::move(slot)),
        forwarded_for_(forwarded_for) {
    if (forwarded_for_) proxy_ = slot_->address();
  }
  void run();

 private:
  using std::enable_shared_from_this<basic_http_session>::shared_from_this;

  void on_handshake(beast::error_code ec);
  void do_read();
  void on_read(beast::error_code ec, std::size_t bytes);
  // Counts the connection under the client X-Forwarded-For names (or the
  // proxy's own address without one); false after answering a refusal.
  bool take_forwarded_client(const http::request<http::string_body>& req);
  void refuse(http::status status, unsigned version, const std::string& body);
  void write(http::response<http::string_body> response);
  void on_write(bool keep_alive, beast::error_code ec, std::size_t bytes);
  void do_close();

  Stream stream_;
  server_context& ctx_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<http::response<http::string_body>> response_;  // kept until written
  std::optional<address_limiter::slot> slot_;                     // handed on to a ws_session
  bool forwarded_for_ = false;
  std::string proxy_;  // the trusted proxy's address, when forwarded_for_
};

}  // namespace haven::server
