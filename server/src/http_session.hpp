#pragma once
// One HTTP connection: reads requests (with size limits and a timeout),
// answers them from http_api on the store pool, and hands a WebSocket
// upgrade on /sync over to a ws_session.

#include <memory>
#include <optional>

#include "context.hpp"

namespace haven::server {

class http_session : public std::enable_shared_from_this<http_session> {
 public:
  http_session(tcp::socket&& socket, server_context& ctx, address_limiter::slot slot)
      : stream_(std::move(socket)), ctx_(ctx), slot_(std::move(slot)) {}
  void run();

 private:
  void do_read();
  void on_read(beast::error_code ec, std::size_t bytes);
  void write(http::response<http::string_body> response);
  void on_write(bool keep_alive, beast::error_code ec, std::size_t bytes);
  void do_close();

  beast::tcp_stream stream_;
  server_context& ctx_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<http::response<http::string_body>> response_;  // kept until written
  std::optional<address_limiter::slot> slot_;                     // handed on to a ws_session
};

}  // namespace haven::server
