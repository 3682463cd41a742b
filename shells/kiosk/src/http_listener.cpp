#include "http_listener.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <haven/crypto/crypto.hpp>

#include "assets.hpp"

namespace haven::kiosk {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

constexpr auto request_timeout = std::chrono::seconds(30);
constexpr std::size_t max_request_body = 64 * 1024;
constexpr std::string_view secret_placeholder = "%HAVEN_KIOSK_SECRET%";

using request = http::request<http::string_body>;
using response = http::response<http::string_body>;

// Headers on every answer: nothing cached (records and the secret are in
// them), nothing framed or fetched from elsewhere.
void protect(response& res) {
  res.set(http::field::cache_control, "no-store");
  res.set(http::field::pragma, "no-cache");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("X-Frame-Options", "DENY");
  res.set("Referrer-Policy", "no-referrer");
  res.set("Cross-Origin-Resource-Policy", "same-origin");
  res.set("Content-Security-Policy",
          "default-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; "
          "frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
}

response answer(const request& req, unsigned status, std::string_view type, std::string body) {
  response res{static_cast<http::status>(status), req.version()};
  res.set(http::field::content_type, type);
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  protect(res);
  res.prepare_payload();
  return res;
}

std::string error_body(const std::string& message) {
  return boost::json::serialize(
      boost::json::object{{"error", message}, {"issues", boost::json::array{}}});
}

}  // namespace

struct http_listener::impl {
  net::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  net::signal_set signals{ioc, SIGINT, SIGTERM};
  std::unique_ptr<local_guard> guard;
  std::string authority;
  local_api* api = nullptr;

  response serve(request& req);
  void accept();
};

// One connection: read a request, answer it, keep alive.
class kiosk_session : public std::enable_shared_from_this<kiosk_session> {
 public:
  kiosk_session(tcp::socket socket, http_listener::impl& owner)
      : stream_(std::move(socket)), owner_(owner) {}

  void do_read() {
    parser_.emplace();
    parser_->body_limit(max_request_body);
    parser_->header_limit(8 * 1024);
    stream_.expires_after(request_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&kiosk_session::on_read, shared_from_this()));
  }

 private:
  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return close();
    request req = parser_->release();
    response_ = std::make_shared<response>(owner_.serve(req));
    // Person attributes and PINs pass through request bodies: overwrite them.
    crypto::wipe(req.body());
    http::async_write(stream_, *response_,
                      beast::bind_front_handler(&kiosk_session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec) return close();
    if (!response_->keep_alive()) return close();
    response_.reset();
    do_read();
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<response> response_;
  http_listener::impl& owner_;
};

response http_listener::impl::serve(request& req) {
  if (req.count(http::field::host) != 1 || req.count(http::field::origin) > 1)
    return answer(req, 400, "text/plain; charset=utf-8", "one Host header is required\n");
  const std::string host(req[http::field::host]);
  const std::string origin(req[http::field::origin]);
  const std::string target(req.target());
  const std::string path = target.substr(0, target.find('?'));
  if (path.starts_with("/api/")) {
    if (auto why = guard->refuse_api(host, origin, req["X-Haven-Kiosk"]))
      return answer(req, 403, "application/json", error_body(*why));
    const api_response r = api->handle({std::string(req.method_string()), target, req.body()});
    return answer(req, r.status, "application/json", r.body);
  }
  if (auto why = guard->refuse_page(host, origin))
    return answer(req, 403, "text/plain; charset=utf-8", *why + "\n");
  if (req.method() != http::verb::get && req.method() != http::verb::head)
    return answer(req, 405, "text/plain; charset=utf-8", "only GET is served here\n");
  const std::string wanted = path == "/" ? "/index.html" : path;
  for (const auto& a : assets()) {
    if (a.path != wanted) continue;
    std::string body(a.body);
    if (wanted == "/index.html") {
      // The secret reaches only this page: another site cannot read it (no
      // CORS), and a rebound name is refused by the Host check above.
      const auto at = body.find(secret_placeholder);
      if (at != std::string::npos) body.replace(at, secret_placeholder.size(), guard->secret());
    }
    return answer(req, 200, a.content_type, std::move(body));
  }
  return answer(req, 404, "text/plain; charset=utf-8", "not found: " + path + "\n");
}

void http_listener::impl::accept() {
  acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted) return;
    if (!ec) std::make_shared<kiosk_session>(std::move(socket), *this)->do_read();
    accept();
  });
}

http_listener::http_listener(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
http_listener::~http_listener() = default;

result<std::unique_ptr<http_listener>> http_listener::bind(const std::string& host,
                                                           std::uint16_t port, local_api& api) {
  return capture([&] {
    beast::error_code ec;
    const auto address = net::ip::make_address(host, ec);
    if (ec || !address.is_loopback())
      throw failure(errc::invalid_input,
                    "--listen must be a loopback address such as 127.0.0.1:8731 (the app is "
                    "for this device only), not \"" +
                        host + "\"");
    auto p = std::make_unique<impl>();
    const tcp::endpoint endpoint{address, port};
    p->acceptor.open(endpoint.protocol(), ec);
    if (!ec) p->acceptor.bind(endpoint, ec);
    if (!ec) p->acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (ec)
      throw failure(errc::unavailable, "cannot listen on " + host + ":" + std::to_string(port) +
                                           " (" + ec.message() +
                                           "): choose another port, or stop what uses it");
    const auto bound = p->acceptor.local_endpoint();
    p->authority =
        (address.is_v6() ? "[" + bound.address().to_string() + "]" : bound.address().to_string()) +
        ":" + std::to_string(bound.port());
    p->guard = std::make_unique<local_guard>(p->authority);
    p->api = &api;
    p->accept();
    p->signals.async_wait([raw = p.get()](beast::error_code, int) { raw->ioc.stop(); });
    return std::unique_ptr<http_listener>(new http_listener(std::move(p)));
  });
}

const std::string& http_listener::authority() const {
  return impl_->authority;
}
const local_guard& http_listener::guard() const {
  return *impl_->guard;
}
void http_listener::run() {
  impl_->ioc.run();
}
void http_listener::stop() {
  impl_->ioc.stop();
}

}  // namespace haven::kiosk
