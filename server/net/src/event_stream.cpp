#include "event_stream.hpp"

#include <haven/server/log.hpp>

namespace haven::server {
namespace {

// The event that tells a dashboard why its stream ends (`reason` needs no
// JSON escapes).
std::shared_ptr<const std::string> end_event(const std::string& reason) {
  return std::make_shared<const std::string>("event: end\ndata: {\"reason\":\"" + reason +
                                             "\"}\n\n");
}

}  // namespace

template <class Stream>
basic_event_stream<Stream>::basic_event_stream(Stream&& stream, server_context& ctx,
                                               connection_budget::slot slot, unsigned version,
                                               std::string authorization)
    : stream_(std::move(stream)),
      ctx_(ctx),
      slot_(std::move(slot)),
      version_(version),
      authorization_(std::move(authorization)) {}

template <class Stream>
basic_event_stream<Stream>::~basic_event_stream() {
  if (registered_) {
    ctx_.events.remove(this);
    log_repeated(log_level::info, "event stream closed", slot_.address(),
                 "event stream closed remote=" + slot_.address());
  }
}

template <class Stream>
void basic_event_stream<Stream>::run(const std::string& credential) {
  registered_ = ctx_.events.add(this->shared_from_this());
  if (!registered_) return refuse();
  if (!credential.empty()) slot_.sign_in(credential);
  log_repeated(log_level::info, "event stream opened", slot_.address(),
               "event stream opened remote=" + slot_.address());
  slot_.on_notice([weak = weak_from_this(),
                   per = ctx_.budget.limits().per_credential](connection_budget::notice why) {
    if (auto self = weak.lock())
      self->end(end_event(why == connection_budget::notice::replaced
                              ? "this coordinator opened more than " + std::to_string(per) +
                                    " live streams, and this one was the oldest"
                              : "closed to make room: the server holds all the connections it "
                                "takes"));
  });
  header_.version(version_);
  header_.result(http::status::ok);
  header_.set(http::field::server, "havend");
  header_.set(http::field::content_type, "text/event-stream; charset=utf-8");
  header_.set(http::field::cache_control, "no-store");
  header_.set("X-Content-Type-Options", "nosniff");
  header_.set("X-Accel-Buffering", "no");  // a proxy (nginx) passes each event on at once
  header_.keep_alive(false);               // the connection ends with the stream
  if (version_ >= 11) header_.chunked(true);
  serializer_.emplace(header_);
  beast::get_lowest_layer(stream_).expires_after(write_timeout);
  http::async_write_header(
      stream_, *serializer_,
      beast::bind_front_handler(&basic_event_stream::on_header, shared_from_this()));
}

template <class Stream>
void basic_event_stream<Stream>::refuse() {
  log_repeated(log_level::warn, "event stream refused", slot_.address(),
               "event stream refused remote=" + slot_.address() +
                   " open=" + std::to_string(ctx_.events.size()));
  refusal_ = std::make_shared<http::response<http::string_body>>(http::status::service_unavailable,
                                                                 version_);
  refusal_->set(http::field::server, "havend");
  refusal_->set(http::field::content_type, "application/json");
  refusal_->set(http::field::cache_control, "no-store");
  refusal_->set(http::field::retry_after, "10");
  refusal_->body() =
      ctx_.events.closing()
          ? std::string("{\"error\":\"the server is shutting down; try again in a moment\"}")
          : "{\"error\":\"the server holds its most live event streams (" +
                std::to_string(ctx_.events.limit()) +
                ", --max-event-streams); close a dashboard or try again in a moment\"}";
  refusal_->keep_alive(false);
  refusal_->prepare_payload();
  beast::get_lowest_layer(stream_).expires_after(write_timeout);
  http::async_write(
      stream_, *refusal_,
      [self = shared_from_this()](beast::error_code, std::size_t) { self->do_close(); });
}

template <class Stream>
void basic_event_stream<Stream>::on_header(beast::error_code ec, std::size_t) {
  if (ec) {
    closed_ = true;
    return;
  }
  started_ = true;
  // The read below has no timeout (each write sets its own): it waits for
  // the client to go away.
  beast::get_lowest_layer(stream_).expires_never();
  do_read();
  if (!ending_) {
    auto latest = ctx_.events.latest();
    queue_.push_front(latest ? latest : std::make_shared<const std::string>(": live\n\n"));
  }
  do_write();
}

template <class Stream>
void basic_event_stream<Stream>::do_read() {
  stream_.async_read_some(
      net::buffer(discard_),
      beast::bind_front_handler(&basic_event_stream::on_read, shared_from_this()));
}

template <class Stream>
void basic_event_stream<Stream>::on_read(beast::error_code ec, std::size_t) {
  if (!ec) return do_read();  // a client has nothing to say here: ignored
  if (closed_) return;
  closed_ = true;  // the client went away (or the connection was closed)
  beast::error_code ignored;
  beast::get_lowest_layer(stream_).socket().close(ignored);
}

template <class Stream>
void basic_event_stream<Stream>::send(std::shared_ptr<const std::string> event) {
  net::post(stream_.get_executor(),
            [self = shared_from_this(), event = std::move(event)] { self->enqueue(event); });
}

template <class Stream>
void basic_event_stream<Stream>::enqueue(std::shared_ptr<const std::string> event) {
  if (closed_ || ending_) return;
  // Past the bound the newest replaces the last one waiting (not the one
  // being written, at the front).
  if (queue_.size() >= max_queued && queue_.size() > 1)
    queue_.back() = std::move(event);
  else
    queue_.push_back(std::move(event));
  if (started_ && !writing_) do_write();
}

template <class Stream>
void basic_event_stream<Stream>::end(std::shared_ptr<const std::string> last) {
  net::post(stream_.get_executor(), [self = shared_from_this(), last = std::move(last)] {
    if (self->closed_ || self->ending_ || !self->registered_) return;
    self->ending_ = true;
    if (last) self->queue_.push_back(last);
    if (self->started_ && !self->writing_) self->do_write();
  });
}

template <class Stream>
void basic_event_stream<Stream>::do_write() {
  if (closed_) return;
  if (queue_.empty()) {
    if (ending_) finish();
    return;
  }
  writing_ = true;
  const auto& event = *queue_.front();
  beast::get_lowest_layer(stream_).expires_after(write_timeout);
  auto done = beast::bind_front_handler(&basic_event_stream::on_write, shared_from_this());
  if (version_ >= 11)
    net::async_write(stream_, http::make_chunk(net::buffer(event)), std::move(done));
  else
    net::async_write(stream_, net::buffer(event), std::move(done));
}

template <class Stream>
void basic_event_stream<Stream>::on_write(beast::error_code ec, std::size_t) {
  writing_ = false;
  if (ec) {
    closed_ = true;
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().close(ignored);
    return;
  }
  queue_.pop_front();
  do_write();
}

template <class Stream>
void basic_event_stream<Stream>::finish() {
  closed_ = true;
  if (version_ < 11) return do_close();
  beast::get_lowest_layer(stream_).expires_after(write_timeout);
  net::async_write(
      stream_, http::make_chunk_last(),
      [self = shared_from_this()](beast::error_code, std::size_t) { self->do_close(); });
}

template <class Stream>
void basic_event_stream<Stream>::do_close() {
  // The response is complete (its last chunk, or the refusal): close. (No
  // TLS close_notify exchange, which would race the pending read.)
  closed_ = true;
  auto& socket = beast::get_lowest_layer(stream_).socket();
  beast::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_send, ignored);
  socket.close(ignored);  // ends the pending read as well
}

template class basic_event_stream<plain_stream>;
template class basic_event_stream<tls_stream>;

}  // namespace haven::server
