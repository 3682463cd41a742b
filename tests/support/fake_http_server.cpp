#include "fake_http_server.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <thread>

namespace haven::test {
namespace {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
}  // namespace

struct fake_http_server::impl {
  reply canned;
  net::io_context ioc;
  tcp::acceptor acceptor{ioc, {net::ip::make_address("127.0.0.1"), 0}};
  mutable std::mutex mutex;
  std::string target, body;  // guarded by mutex
  std::thread thread;

  // One connection: one request, one reply, then the next connection.
  void serve() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;
      auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
      auto buffer = std::make_shared<beast::flat_buffer>();
      auto request = std::make_shared<http::request<http::string_body>>();
      http::async_read(*stream, *buffer, *request,
                       [this, stream, buffer, request](beast::error_code ec, std::size_t) {
                         if (ec) return serve();
                         {
                           std::lock_guard lock(mutex);
                           target = std::string(request->target());
                           body = request->body();
                         }
                         auto response = std::make_shared<http::response<http::string_body>>(
                             static_cast<http::status>(canned.status), request->version());
                         response->set(http::field::content_type, "application/json");
                         if (!canned.retry_after.empty())
                           response->set(http::field::retry_after, canned.retry_after);
                         response->body() = canned.body;
                         response->keep_alive(false);
                         response->prepare_payload();
                         http::async_write(
                             *stream, *response,
                             [this, stream, response](beast::error_code, std::size_t) {
                               beast::error_code ignored;
                               stream->socket().shutdown(tcp::socket::shutdown_send, ignored);
                               serve();
                             });
                       });
    });
  }
};

fake_http_server::fake_http_server(int status, std::string body, std::string retry_after)
    : impl_(std::make_unique<impl>()) {
  impl_->canned = {status, std::move(body), std::move(retry_after)};
  impl_->serve();
  impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

fake_http_server::~fake_http_server() {
  impl_->ioc.stop();
  impl_->thread.join();
}

std::string fake_http_server::address() const {
  return "127.0.0.1:" + std::to_string(impl_->acceptor.local_endpoint().port());
}

std::string fake_http_server::last_target() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->target;
}

std::string fake_http_server::last_body() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->body;
}

}  // namespace haven::test
