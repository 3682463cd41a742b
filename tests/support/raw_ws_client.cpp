#include "raw_ws_client.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <haven/sync/protocol.hpp>
#include <optional>
#include <stdexcept>

namespace haven::test {
namespace {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
constexpr auto op_timeout = std::chrono::seconds(10);
}  // namespace

struct raw_ws_client::impl {
  net::io_context ioc;
  websocket::stream<tcp::socket> ws{ioc};
  beast::flat_buffer buffer;

  // Starts an async operation with `start(handler)` and runs it to its end,
  // or closes the socket (which ends it) after `timeout`. Returns its error.
  template <class Start>
  beast::error_code run(Start&& start, std::chrono::milliseconds timeout) {
    std::optional<beast::error_code> result;
    start([&](beast::error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    ioc.run_for(timeout);
    if (!result) {
      beast::error_code ignored;
      ws.next_layer().close(ignored);
      ioc.restart();
      ioc.run_for(std::chrono::seconds(5));  // the cancelled operation completes
      result = net::error::timed_out;
    }
    return *result;
  }

  std::string send(std::string_view bytes, bool binary) {
    ws.binary(binary);
    const auto ec =
        run([&](auto handler) { ws.async_write(net::buffer(bytes.data(), bytes.size()), handler); },
            op_timeout);
    return ec ? ec.message() : "";
  }
};

raw_ws_client::raw_ws_client(const std::string& address, const std::string& path,
                             std::optional<std::uint32_t> announced)
    : impl_(std::make_unique<impl>()) {
  const auto colon = address.rfind(':');
  const tcp::endpoint endpoint(net::ip::make_address(address.substr(0, colon)),
                               static_cast<unsigned short>(std::stoi(address.substr(colon + 1))));
  auto& ws = impl_->ws;
  if (const auto ec = impl_->run(
          [&](auto handler) { ws.next_layer().async_connect(endpoint, handler); }, op_timeout))
    throw std::runtime_error("raw_ws_client cannot connect to " + address + ": " + ec.message());
  ws.read_message_max(64 << 20);
  ws.set_option(websocket::stream_base::decorator([announced](websocket::request_type& req) {
    if (announced) req.set(sync::protocol_offer_header, std::to_string(*announced));
  }));
  if (const auto ec =
          impl_->run([&](auto handler) { ws.async_handshake(address, path, handler); }, op_timeout))
    throw std::runtime_error("raw_ws_client handshake with " + address +
                             " failed: " + ec.message());
}

std::string raw_ws_client::read_challenge() {
  const reply r = read();
  if (r.closed) throw std::runtime_error("raw_ws_client: no challenge from the server: " + r.error);
  auto m = sync::decode(r.frame);
  if (!m || !std::holds_alternative<sync::challenge>(m.value()))
    throw std::runtime_error("raw_ws_client: the server's first message is not a challenge");
  return std::get<sync::challenge>(m.value()).nonce;
}

raw_ws_client::~raw_ws_client() {
  beast::error_code ignored;
  impl_->ws.next_layer().close(ignored);
}

std::string raw_ws_client::send_binary(std::string_view bytes) {
  return impl_->send(bytes, true);
}

std::string raw_ws_client::send_text(std::string_view text) {
  return impl_->send(text, false);
}

std::string raw_ws_client::send_raw(std::string_view bytes) {
  const auto ec = impl_->run(
      [&](auto handler) {
        net::async_write(impl_->ws.next_layer(), net::buffer(bytes.data(), bytes.size()), handler);
      },
      op_timeout);
  return ec ? ec.message() : "";
}

raw_ws_client::reply raw_ws_client::read(std::chrono::milliseconds timeout) {
  auto& buffer = impl_->buffer;
  buffer.consume(buffer.size());
  const auto ec = impl_->run([&](auto handler) { impl_->ws.async_read(buffer, handler); }, timeout);
  reply r;
  if (!ec) {
    r.frame = beast::buffers_to_string(buffer.data());
    return r;
  }
  r.closed = true;
  r.timed_out = ec == net::error::timed_out;
  r.error = ec.message();
  r.close_code = static_cast<int>(impl_->ws.reason().code);
  return r;
}

}  // namespace haven::test
