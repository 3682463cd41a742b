#include "http_session.hpp"

#include <chrono>
#include <haven/server/log.hpp>
#include <haven/server/proxy_protocol.hpp>

#include "event_stream.hpp"
#include "ws_session.hpp"

namespace haven::server {
namespace {
constexpr auto request_timeout = std::chrono::seconds(30);
constexpr std::size_t max_request_body = 16 * 1024;
}  // namespace

template <class Stream>
void basic_http_session<Stream>::run() {
  watch_slot();
  if constexpr (is_tls<Stream>) {
    beast::get_lowest_layer(stream_).expires_at(deadline_);
    stream_.async_handshake(
        ssl::stream_base::server,
        beast::bind_front_handler(&basic_http_session::on_handshake, shared_from_this()));
  } else {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&basic_http_session::do_read, shared_from_this()));
  }
}

template <class Stream>
void basic_http_session<Stream>::watch_slot() {
  slot_->on_notice([weak = this->weak_from_this(),
                    generation = ++slot_generation_](connection_budget::notice) {
    if (auto self = weak.lock())
      net::post(self->stream_.get_executor(), [self, generation] { self->on_notice(generation); });
  });
}

template <class Stream>
void basic_http_session<Stream>::on_notice(std::uint64_t generation) {
  // A notice for a slot this session no longer holds (handed on to a
  // ws_session, or exchanged for a forwarded client's) is not for it.
  if (!slot_ || generation != slot_generation_) return;
  if (owes_reply_) {
    close_after_reply_ = true;
    return;
  }
  beast::get_lowest_layer(stream_).close();  // ends the pending handshake or read
}

template <class Stream>
void basic_http_session<Stream>::on_handshake(beast::error_code ec) {
  if (ec) {
    if (ec == net::error::operation_aborted) return;  // given notice
    beast::error_code ignored;
    const auto remote = beast::get_lowest_layer(stream_).socket().remote_endpoint(ignored);
    const std::string address = remote.address().to_string();
    log_repeated(log_level::warn, "tls handshake failed", address,
                 "tls handshake failed remote=" + address + " error=\"" + ec.message() + "\"");
    return;
  }
  do_read();
}

template <class Stream>
void basic_http_session<Stream>::do_read() {
  parser_.emplace();
  parser_->body_limit(max_request_body);
  parser_->header_limit(8 * 1024);
  if (signed_in_)
    beast::get_lowest_layer(stream_).expires_after(request_timeout);
  else
    beast::get_lowest_layer(stream_).expires_at(deadline_);
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&basic_http_session::on_read, shared_from_this()));
}

template <class Stream>
void basic_http_session<Stream>::on_read(beast::error_code ec, std::size_t) {
  if (ec == http::error::end_of_stream) return do_close();
  if (ec) {
    if (ec != beast::error::timeout && ec != net::error::operation_aborted)
      log(log_level::debug, "http read failed error=\"" + ec.message() + "\"");
    return;
  }
  const auto& req = parser_->get();
  owes_reply_ = true;
  if (forwarded_for_ && !take_forwarded_client(req)) return;
  const std::string target(req.target());
  if (websocket::is_upgrade(req)) {
    if (target == "/sync" && req.count(http::field::authorization)) {
      // Bearer tokens are for coordinators reading tallies; devices sign in
      // with their key inside the session.
      http::response<http::string_body> res{http::status::forbidden, req.version()};
      res.set(http::field::content_type, "application/json");
      res.body() =
          R"({"error":"refused: /sync is for enrolled devices, which sign in with their key; a coordinator token reads tallies under /api/tallies"})";
      res.keep_alive(false);
      return write(std::move(res));
    }
    if (target == "/sync") {
      const std::string remote = slot_->address();
      try {
        auto slot = std::move(*slot_);
        slot_.reset();
        std::make_shared<basic_ws_session<Stream>>(std::move(stream_), ctx_, std::move(slot),
                                                   deadline_)
            ->run(parser_->release());
      } catch (const std::exception& e) {  // the connection closes with the stream
        log_repeated(log_level::warn, "sync session refused", remote,
                     "sync session refused remote=" + remote + " error=\"" + e.what() + "\"");
      }
      return;
    }
    http::response<http::string_body> res{http::status::not_found, req.version()};
    res.set(http::field::content_type, "application/json");
    res.body() = R"({"error":"the sync endpoint is /sync"})";
    res.keep_alive(false);
    return write(std::move(res));
  }
  const std::string method(req.method_string());
  const unsigned version = req.version();
  const bool keep_alive = req.keep_alive();
  std::string authorization(req[http::field::authorization]), body = req.body();
  std::string remote = slot_ ? slot_->address() : std::string();
  net::post(ctx_.store_pool, [self = shared_from_this(), method, target, version, keep_alive,
                              authorization = std::move(authorization), body = std::move(body),
                              remote = std::move(remote)] {
    http_reply reply = self->ctx_.api.handle({method, target, authorization, body, remote});
    ++self->ctx_.counters.http_requests;
    if (reply.status == 200 && reply.content_type == "text/event-stream" && method == "GET")
      return net::post(self->stream_.get_executor(),
                       [self, version, authorization, coordinator = std::move(reply.coordinator)] {
                         self->start_events(version, coordinator, authorization);
                       });
    http::response<http::string_body> res{static_cast<http::status>(reply.status), version};
    res.set(http::field::server, "havend");
    res.set(http::field::content_type, reply.content_type);
    res.set(http::field::cache_control, "no-store");
    res.set("X-Content-Type-Options", "nosniff");
    if (!reply.content_disposition.empty())
      res.set(http::field::content_disposition, reply.content_disposition);
    for (const auto& [name, value] : reply.headers) res.set(name, value);
    res.keep_alive(keep_alive);
    res.body() = method == "HEAD" ? std::string() : reply.body;
    res.prepare_payload();
    if (method == "HEAD") res.content_length(reply.body.size());
    net::post(self->stream_.get_executor(),
              [self, res = std::move(res), coordinator = std::move(reply.coordinator)]() mutable {
                if (!coordinator.empty() && self->slot_) {
                  self->slot_->sign_in("coordinator:" + coordinator);
                  self->signed_in_ = true;
                }
                self->write(std::move(res));
              });
  });
}

template <class Stream>
void basic_http_session<Stream>::start_events(unsigned version, const std::string& coordinator,
                                              const std::string& authorization) {
  if (!slot_) return;
  auto slot = std::move(*slot_);
  slot_.reset();
  // Streams count against their coordinator apart from the requests, so
  // that a dashboard's fetches do not replace its own stream.
  std::make_shared<basic_event_stream<Stream>>(std::move(stream_), ctx_, std::move(slot), version,
                                               authorization)
      ->run(coordinator.empty() ? std::string() : "events:coordinator:" + coordinator);
}

template <class Stream>
bool basic_http_session<Stream>::take_forwarded_client(
    const http::request<http::string_body>& req) {
  std::string client = proxy_;
  if (const auto header = req["X-Forwarded-For"]; !header.empty()) {
    const auto named =
        forwarded_client(std::string_view(header.data(), header.size()), ctx_.trusted_proxies);
    if (!named) {
      refuse(http::status::bad_request, req.version(),
             R"({"error":"X-Forwarded-For from the trusted proxy names no client IP address"})");
      return false;
    }
    client = *named;
  }
  if (client == slot_->address()) return true;
  // Another client through the same connection: it has signed in as nobody.
  slot_.reset();
  signed_in_ = false;
  auto slot = ctx_.budget.admit(client);
  if (!slot) {
    log_repeated(log_level::warn, "connection refused", client,
                 "connection refused remote=" + client + " via=" + proxy_ +
                     " reason=\"the server holds its most connections, all signed in\"");
    refuse(http::status::service_unavailable, req.version(),
           R"({"error":"the server holds all the connections it takes; try again in a moment"})");
    return false;
  }
  slot_.emplace(std::move(*slot));
  watch_slot();
  return true;
}

template <class Stream>
void basic_http_session<Stream>::refuse(http::status status, unsigned version,
                                        const std::string& body) {
  http::response<http::string_body> res{status, version};
  res.set(http::field::content_type, "application/json");
  res.body() = body;
  res.keep_alive(false);
  res.prepare_payload();
  write(std::move(res));
}

template <class Stream>
void basic_http_session<Stream>::write(http::response<http::string_body> response) {
  if (close_after_reply_) response.keep_alive(false);
  response_ = std::make_shared<http::response<http::string_body>>(std::move(response));
  beast::get_lowest_layer(stream_).expires_after(signed_in_ ? request_timeout
                                                            : ctx_.handshake_timeout);
  http::async_write(stream_, *response_,
                    beast::bind_front_handler(&basic_http_session::on_write, shared_from_this(),
                                              response_->keep_alive()));
}

template <class Stream>
void basic_http_session<Stream>::on_write(bool keep_alive, beast::error_code ec, std::size_t) {
  if (ec) return;
  response_.reset();
  owes_reply_ = false;
  if (!keep_alive) return do_close();
  deadline_ = std::chrono::steady_clock::now() + ctx_.handshake_timeout;  // for the next request
  do_read();
}

template <class Stream>
void basic_http_session<Stream>::do_close() {
  if constexpr (is_tls<Stream>) {
    beast::get_lowest_layer(stream_).expires_after(ctx_.handshake_timeout);
    stream_.async_shutdown([self = shared_from_this()](beast::error_code) {});
  } else {
    // The connection is done: its room in the budget is free before the
    // client sees it end (the session itself may outlive this call a while,
    // held by a handler still unwinding on the store pool), so a client that
    // connects again at once is not counted twice.
    slot_.reset();
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }
}

template class basic_http_session<plain_stream>;
template class basic_http_session<tls_stream>;

}  // namespace haven::server
