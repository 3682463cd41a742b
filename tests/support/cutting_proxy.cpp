#include "cutting_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <stdexcept>

#include "tcp.hpp"

namespace haven::test {
namespace {

constexpr int poll_ms = 50;  // how often the thread looks at the stop flag

// A blocked write gives up after this long, so a stuck peer cannot hang the thread.
void bound_writes(int fd) {
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

bool write_all(int fd, const unsigned char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0) return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

// Follows one direction of a WebSocket connection (the HTTP upgrade, then
// frame headers and payloads, masked or not) to find where a message_cut falls.
class message_cut_finder {
 public:
  explicit message_cut_finder(cutting_proxy::message_cut cut) : cut_(cut) {}

  // How many of these next bytes may pass before the cut: n if it is not among them.
  std::size_t pass(const unsigned char* p, std::size_t n) {
    std::size_t i = 0;
    while (i < n) {
      if (phase_ == phase::http) {
        window_ = (window_ << 8) | p[i++];
        if (window_ == 0x0d0a0d0a) phase_ = phase::header;  // "\r\n\r\n"
      } else if (phase_ == phase::header) {
        header_[have_++] = p[i++];
        if (have_ >= header_size()) start_frame();
      } else {
        if (!control_ && first_pending_) {  // the first payload byte of a data message: its tag
          const unsigned char tag = p[i] ^ (masked_ ? header_[have_ - 4] : 0);
          first_pending_ = false;
          target_ = tag == cut_.tag && matches_++ == cut_.nth;
          seen_ = 0;
        }
        std::uint64_t k = std::min<std::uint64_t>(left_, n - i);
        if (!control_ && target_) {
          k = std::min({k, left_ - (fin_ ? 1 : 0), cut_.offset - std::min(cut_.offset, seen_)});
          if (k == 0) {
            where = "inside message " + std::to_string(cut_.nth) + " with tag " +
                    std::to_string(cut_.tag) + " after " + std::to_string(seen_) + " payload bytes";
            return i;
          }
          seen_ += k;
        }
        left_ -= k;
        i += static_cast<std::size_t>(k);
        if (left_ == 0) next_header();
      }
    }
    return n;
  }

  std::string where;

 private:
  std::size_t header_size() const {
    if (have_ < 2) return 2;
    const unsigned len7 = header_[1] & 0x7f;
    return 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + ((header_[1] & 0x80) ? 4 : 0);
  }

  void start_frame() {
    const unsigned opcode = header_[0] & 0x0f;
    fin_ = (header_[0] & 0x80) != 0;
    control_ = opcode >= 8;
    masked_ = (header_[1] & 0x80) != 0;
    const unsigned len7 = header_[1] & 0x7f;
    const std::size_t ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
    left_ = ext == 0 ? len7 : 0;
    for (std::size_t b = 0; b < ext; ++b) left_ = (left_ << 8) | header_[2 + b];
    if (opcode == 1 || opcode == 2) {  // a new text or binary message
      first_pending_ = true;
      target_ = false;
    }
    phase_ = phase::payload;
    if (left_ == 0) next_header();
  }

  void next_header() {
    phase_ = phase::header;
    have_ = 0;
  }

  enum class phase { http, header, payload };
  cutting_proxy::message_cut cut_;
  phase phase_ = phase::http;
  std::uint32_t window_ = 0;
  std::array<unsigned char, 14> header_{};
  std::size_t have_ = 0;
  std::uint64_t left_ = 0;  // payload bytes left in the current frame
  bool fin_ = false, control_ = false, masked_ = false;
  bool first_pending_ = false;  // the next data payload byte starts a message
  bool target_ = false;         // the current message is the one to cut
  std::uint64_t seen_ = 0;      // payload bytes of the target forwarded
  unsigned matches_ = 0;
};

}  // namespace

cutting_proxy::cutting_proxy(std::string upstream, cut_rule rule)
    : upstream_(std::move(upstream)), rule_(rule) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = ipv4_address("127.0.0.1:0");
  socklen_t len = sizeof addr;
  if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listen_fd_, 8) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (listen_fd_ >= 0) close(listen_fd_);
    throw std::runtime_error("cutting_proxy cannot listen on 127.0.0.1");
  }
  address_ = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  thread_ = std::thread([this] { serve(); });
}

cutting_proxy::cutting_proxy(std::string upstream)
    : cutting_proxy(std::move(upstream), cut_rule{}) {}

cutting_proxy::~cutting_proxy() {
  stop_ = true;
  thread_.join();
  close(listen_fd_);
}

std::string cutting_proxy::cut_description() const {
  std::lock_guard lock(mutex_);
  return where_;
}

std::uint64_t cutting_proxy::bytes(direction d) const {
  switch (d) {
    case direction::up:
      return up_;
    case direction::down:
      return down_;
    case direction::both:
      return up_ + down_;
  }
  return 0;
}

void cutting_proxy::serve() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, poll_ms) <= 0) continue;
    const int client = accept(listen_fd_, nullptr, nullptr);
    if (client < 0) continue;
    const int server = connect_tcp(upstream_);
    if (server >= 0) {
      bound_writes(client);
      bound_writes(server);
      relay(client, server);
      close(server);
    }
    close(client);
  }
}

void cutting_proxy::relay(int client, int server) {
  struct side {
    int from, to;
    direction dir;
    std::atomic<std::uint64_t>& total;
    std::uint64_t forwarded = 0;  // on this connection
    bool open = true;
    std::optional<message_cut_finder> finder;
  };
  side sides[2] = {{client, server, direction::up, up_, 0, true, {}},
                   {server, client, direction::down, down_, 0, true, {}}};
  for (auto& s : sides)
    if (rule_.inside && rule_.dir == s.dir) s.finder.emplace(*rule_.inside);
  auto counted = [&] {  // bytes on this connection in the rule's direction(s)
    return rule_.dir == direction::both ? sides[0].forwarded + sides[1].forwarded
                                        : sides[rule_.dir == direction::up ? 0 : 1].forwarded;
  };
  std::array<unsigned char, 64 * 1024> buf;
  while (!stop_ && (sides[0].open || sides[1].open)) {
    pollfd fds[2] = {{sides[0].open ? client : -1, POLLIN, 0},
                     {sides[1].open ? server : -1, POLLIN, 0}};
    if (poll(fds, 2, poll_ms) <= 0) continue;
    for (int k = 0; k < 2; ++k) {
      side& s = sides[k];
      if (!s.open || (fds[k].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      const ssize_t got = read(s.from, buf.data(), buf.size());
      if (got <= 0) {  // that side closed: pass the close on
        s.open = false;
        shutdown(s.to, SHUT_WR);
        continue;
      }
      const auto n = static_cast<std::size_t>(got);
      std::size_t pass = n;
      const bool counts = rule_.dir == direction::both || rule_.dir == s.dir;
      if (counts)
        pass =
            static_cast<std::size_t>(std::min<std::uint64_t>(pass, rule_.after_bytes - counted()));
      std::string where;
      if (s.finder) {
        const std::size_t before_cut = s.finder->pass(buf.data(), n);
        if (before_cut < pass) {
          pass = before_cut;
          where = s.finder->where;
        }
      }
      if (!write_all(s.to, buf.data(), pass)) return;
      s.forwarded += pass;
      s.total += pass;
      if (where.empty() && counts && counted() >= rule_.after_bytes)
        where = "after " + std::to_string(counted()) + " bytes";
      if (!where.empty()) {
        std::lock_guard lock(mutex_);
        where_ = std::string(s.dir == direction::up ? "up" : "down") + " byte " +
                 std::to_string(s.forwarded) + ", " + where;
        cut_ = true;
        return;  // the caller closes both sockets
      }
    }
  }
}

}  // namespace haven::test
