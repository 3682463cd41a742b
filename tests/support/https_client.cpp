#include "https_client.hpp"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <stdexcept>

namespace haven::test {
namespace {
namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
}  // namespace

http_response https_get(const std::string& address, const std::string& path,
                        const std::string& ca_pem) {
  const auto colon = address.rfind(':');
  const std::string host = address.substr(0, colon);
  net::io_context ioc;
  ssl::context ctx(ssl::context::tls_client);
  ctx.add_certificate_authority(net::buffer(ca_pem));
  ctx.set_verify_mode(ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
  stream.set_verify_callback(ssl::host_name_verification(host));
  const tcp::endpoint endpoint(net::ip::make_address(host),
                               static_cast<unsigned short>(std::stoi(address.substr(colon + 1))));
  http::request<http::empty_body> request{http::verb::get, path, 11};
  request.set(http::field::host, address);
  request.keep_alive(false);
  http::response<http::string_body> response;
  beast::flat_buffer buffer;
  beast::error_code failed;
  const char* step = "connect";
  auto on = [&](const char* next, auto then) {
    return [&, next, then](beast::error_code ec, auto&&...) {
      if (ec) return void(failed = ec);
      step = next;
      then();
    };
  };
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(10));
  beast::get_lowest_layer(stream).async_connect(
      endpoint, on("handshake", [&] {
        stream.async_handshake(ssl::stream_base::client, on("write", [&] {
                                 http::async_write(stream, request, on("read", [&] {
                                                     http::async_read(stream, buffer, response,
                                                                      on("done", [] {}));
                                                   }));
                               }));
      }));
  ioc.run();
  if (failed)
    throw std::runtime_error(std::string("https_get ") + step + " failed: " + failed.message());
  return {
      .status = static_cast<int>(response.result_int()), .headers = {}, .body = response.body()};
}

}  // namespace haven::test
