#include "tls_relay.hpp"

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <stdexcept>
#include <thread>

namespace haven::test {
namespace {

namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;
using tls_socket = ssl::stream<tcp::socket>;

tcp::endpoint endpoint_of(const std::string& address) {
  const auto colon = address.rfind(':');
  return {net::ip::make_address(address.substr(0, colon)),
          static_cast<unsigned short>(std::stoi(address.substr(colon + 1)))};
}

// One device's connection and the relay's own to the server.
class relayed_connection : public std::enable_shared_from_this<relayed_connection> {
 public:
  relayed_connection(tcp::socket device, ssl::context& as_server, ssl::context& as_client,
                     net::io_context& ioc)
      : device_(std::move(device), as_server), server_(ioc, as_client) {}

  void start(const tcp::endpoint& upstream, std::atomic<int>& relayed) {
    auto self = shared_from_this();
    device_.async_handshake(ssl::stream_base::server, [self, upstream, &relayed](error_code ec) {
      if (ec) return self->close();
      self->server_.next_layer().async_connect(upstream, [self, &relayed](error_code ec) {
        if (ec) return self->close();
        self->server_.async_handshake(ssl::stream_base::client, [self, &relayed](error_code ec) {
          if (ec) return self->close();
          ++relayed;
          self->pump(self->device_, self->server_, self->up_);
          self->pump(self->server_, self->device_, self->down_);
        });
      });
    });
  }

 private:
  using buffer = std::array<char, 16 * 1024>;

  // Reads from `from` and writes it all to `to`, until either ends.
  void pump(tls_socket& from, tls_socket& to, buffer& buf) {
    from.async_read_some(net::buffer(buf), [self = shared_from_this(), &from, &to, &buf](
                                               error_code ec, std::size_t n) {
      if (ec) return self->close();
      net::async_write(to, net::buffer(buf.data(), n),
                       [self, &from, &to, &buf](error_code ec, std::size_t) {
                         if (ec) return self->close();
                         self->pump(from, to, buf);
                       });
    });
  }

  void close() {
    error_code ignored;
    device_.lowest_layer().close(ignored);
    server_.lowest_layer().close(ignored);
  }

  tls_socket device_, server_;
  buffer up_{}, down_{};
};

}  // namespace

struct tls_relay::impl {
  net::io_context ioc;
  ssl::context as_server{ssl::context::tls_server};
  ssl::context as_client{ssl::context::tls_client};
  tcp::acceptor acceptor{ioc};
  tcp::endpoint upstream;
  std::string address;
  std::atomic<int> relayed{0};
  std::thread thread;

  void accept() {
    acceptor.async_accept([this](error_code ec, tcp::socket device) {
      if (ec) return;
      std::make_shared<relayed_connection>(std::move(device), as_server, as_client, ioc)
          ->start(upstream, relayed);
      accept();
    });
  }
};

tls_relay::tls_relay(const std::string& upstream, const std::string& cert_file,
                     const std::string& key_file)
    : impl_(std::make_unique<impl>()) {
  try {
    impl_->upstream = endpoint_of(upstream);
    impl_->as_server.use_certificate_chain_file(cert_file);
    impl_->as_server.use_private_key_file(key_file, ssl::context::pem);
    impl_->as_client.set_verify_mode(ssl::verify_none);
    const tcp::endpoint local{net::ip::make_address("127.0.0.1"), 0};
    impl_->acceptor.open(local.protocol());
    impl_->acceptor.bind(local);
    impl_->acceptor.listen();
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("the TLS relay cannot start: ") + e.what());
  }
  impl_->address = "127.0.0.1:" + std::to_string(impl_->acceptor.local_endpoint().port());
  impl_->accept();
  impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

tls_relay::~tls_relay() {
  impl_->ioc.stop();
  impl_->thread.join();
}

const std::string& tls_relay::address() const {
  return impl_->address;
}

int tls_relay::relayed() const {
  return impl_->relayed;
}

}  // namespace haven::test
