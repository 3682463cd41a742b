#include <algorithm>
#include <haven/schema/schema.hpp>
#include <haven/sync/session.hpp>

namespace haven::sync {
namespace {

// The most records a push batch may carry is offered so that a batch of
// field records fits the server's frame: a record takes about 334 bytes in
// a version 2 frame and 30 in a version 3 one, so 2 KiB a record leaves a
// sixfold margin. At the default 4 MiB it is the frame's 2,000; a server run
// with a smaller --max-frame-bytes asks for smaller batches rather than
// refuse the device's (which it would send again and again).
constexpr std::size_t bytes_per_record = 2048;

template <class... F>
struct overloaded : F... {
  using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

const char* name_of(const message& m) {
  static constexpr const char* names[] = {"hello",      "welcome",  "push",  "ack",
                                          "pull",       "changes",  "error", "challenge",
                                          "wipe order", "wipe done"};
  return names[m.index()];
}

// Runs body(); a haven::failure or any other exception becomes on_error(error).
template <class Body, class OnError>
void guarded(Body&& body, OnError&& on_error) {
  try {
    body();
  } catch (const failure& f) {
    on_error(f.err());
  } catch (const std::exception& e) {
    on_error(error{errc::internal, std::string("internal error: ") + e.what(), {}});
  }
}

// Why a frame of a newer protocol version than the session's is refused.
std::string newer_frame(std::string_view frame, std::uint32_t version) {
  return "a protocol version " + std::to_string(frame_version(frame)) + " frame in a version " +
         std::to_string(version) + " session";
}

}  // namespace

// ---------------------------------------------------------------- server side

server_session::server_session(server_backend& backend, transport& out, frame_limits limits,
                               std::string address, std::string channel_binding)
    : backend_(backend),
      out_(out),
      limits_(limits),
      handshake_{{}, std::move(address), std::move(channel_binding)} {}

void server_session::start(std::uint32_t device_offer) {
  if (state_ != state::idle) return;
  guarded(
      [&] {
        handshake_.nonce = backend_.nonce();
        state_ = state::awaiting_hello;
        announced_ = std::max(oldest_protocol_version, std::min(device_offer, max_protocol));
        send(challenge{announced_, handshake_.nonce, !handshake_.channel_binding.empty()});
      },
      [&](const error& e) { fail(e.code, e.message); });
}

void server_session::order_wipe() {
  state_ = state::wiping;
  send(wipe_order{wipe_});
}

bool server_session::wipe_now(bool drained) {
  // A standing only ever moves towards revoked within a session.
  if (wipe_ != standing::revoked) wipe_ = std::max(wipe_, backend_.standing(peer_));
  if (wipe_ != standing::revoked && !(wipe_ == standing::retired && drained)) return false;
  order_wipe();
  return true;
}

server_backend::encoded_batch server_backend::pull_encoded(const peer& p, std::uint64_t since,
                                                           std::uint32_t max_cells,
                                                           std::uint32_t version,
                                                           const frame_limits& limits) {
  return encode_batch(pull(p, since, max_cells), version, limits);
}

server_backend::encoded_batch server_backend::encode_batch(const change_batch& batch,
                                                           std::uint32_t version,
                                                           const frame_limits& limits) {
  return {batch.up_to, batch.more, batch.changes.empty(),
          std::make_shared<const std::string>(encode(batch, limits, version))};
}

void server_session::send(const message& m) {
  out_.send(encode(m, limits_, version_));
}

void server_session::fail(errc code, const std::string& message) {
  if (state_ == state::closed) return;
  state_ = state::closed;
  refusal_ = message;
  try {
    out_.send(encode(
        error_frame{static_cast<std::uint16_t>(code), message.substr(0, limits_.max_text_bytes)},
        limits_));
  } catch (...) {  // nothing more to say
  }
  out_.close();
}

void server_session::on_frame(std::string_view frame) {
  if (state_ == state::closed) return;
  // Before the hello, only frames of the oldest version: the hello is one, and
  // a compact (deflated) batch from a peer not yet signed in would be inflated
  // and decoded for nothing, past the small frames such a peer is allowed.
  const bool greeted = state_ != state::idle && state_ != state::awaiting_hello;
  if (const std::uint32_t spoken = greeted ? version_ : oldest_protocol_version;
      frame_version(frame) > spoken)
    return fail(errc::protocol, greeted
                                    ? newer_frame(frame, spoken)
                                    : "a protocol version " + std::to_string(frame_version(frame)) +
                                          " frame before hello: a session starts with hello");
  auto decoded = decode(frame, limits_);
  if (!decoded) return fail(errc::protocol, decoded.err().message);
  auto require_open = [&](const char* what) {
    if (state_ == state::idle || state_ == state::awaiting_hello)
      throw failure(errc::protocol,
                    std::string(what) + " before hello: a session starts with hello");
    if (state_ == state::wiping)
      throw failure(errc::protocol, std::string(what) + " after a wipe order");
  };
  guarded(
      [&] {
        std::visit(
            overloaded{
                [&](const hello& h) {
                  if (state_ == state::idle)
                    throw failure(errc::protocol, "hello before the server's challenge");
                  if (state_ != state::awaiting_hello)
                    throw failure(errc::protocol, "a second hello in one session");
                  if (h.version < oldest_protocol_version || h.version > announced_)
                    throw failure(errc::protocol, "protocol version " + std::to_string(h.version) +
                                                      " is not supported (this server speaks " +
                                                      std::to_string(oldest_protocol_version) +
                                                      " to " + std::to_string(announced_) +
                                                      " with this device); update the app");
                  if (h.device_id.empty())
                    throw failure(errc::protocol, "hello without a device id");
                  if (!valid_team(h.team))
                    throw failure(errc::protocol, "hello with an invalid team \"" + h.team + "\"");
                  admission a = backend_.admit(h, handshake_);
                  peer_ = {h.device_id, h.team, h.node, handshake_.address};
                  // Signed in the hello's proof: a relay cannot change the version the
                  // device chose (it can lower the offer the device sees to the oldest,
                  // which has the same proof, checks and limits: SECURITY.md).
                  version_ = h.version;
                  wipe_ = a.wipe;
                  if (wipe_ == standing::revoked) return order_wipe();  // before any data moves
                  state_ = state::open;
                  a.greeting.version = version_;
                  a.greeting.max_batch_records = static_cast<std::uint32_t>(
                      std::min(limits_.max_records, limits_.max_frame_bytes / bytes_per_record));
                  send(a.greeting);
                },
                [&](const push_batch& b) {
                  require_open("push");
                  if (wipe_now(false)) return;  // revoked meanwhile: nothing more is taken
                  send(backend_.push(peer_, b));
                },
                [&](const pull_request& r) {
                  require_open("pull");
                  if (wipe_now(true)) return;  // a pull means everything is pushed
                  const auto batch = backend_.pull_encoded(
                      peer_, r.since, pull_cells(r.max_cells == 0 ? max_pull_cells : r.max_cells),
                      version_, limits_);
                  const bool caught_up = !batch.more;
                  live_cursor_ = batch.up_to;
                  out_.send(*batch.frame);
                  if (caught_up) {
                    backend_.caught_up(peer_);
                    state_ = state::live;
                  }
                },
                [&](const wipe_done&) {
                  if (state_ != state::wiping)
                    throw failure(errc::protocol, "a wipe confirmation without a wipe order");
                  backend_.wiped(peer_);
                  state_ = state::closed;
                  out_.close();
                },
                [&](const error_frame&) {  // the device gave up
                  state_ = state::closed;
                  out_.close();
                },
                [&](const auto&) {
                  throw failure(errc::protocol, std::string("unexpected ") +
                                                    name_of(decoded.value()) +
                                                    " frame from a device");
                }},
            decoded.value());
      },
      [&](const error& e) { fail(e.code, e.message); });
}

void server_session::on_changes(std::string_view team) {
  if (state_ != state::live || team != peer_.team) return;
  guarded([&] { forward_live(); }, [&](const error& e) { fail(e.code, e.message); });
}

std::uint32_t server_session::pull_cells(std::uint32_t asked) const {
  // A pull is cut after its last record, so a batch holds up to one record's
  // cells more than asked: it must still fit a frame's cells.
  const std::size_t fits = limits_.max_batch_cells - limits_.max_cells_per_record;
  return static_cast<std::uint32_t>(std::min<std::size_t>({asked, max_pull_cells, fits}));
}

void server_session::forward_live() {
  if (wipe_now(true)) return;
  const auto batch =
      backend_.pull_encoded(peer_, live_cursor_, pull_cells(max_pull_cells), version_, limits_);
  live_cursor_ = batch.up_to;
  behind_ = batch.more;
  if (!batch.empty) out_.send(*batch.frame);
}

// ---------------------------------------------------------------- device side

client_session::client_session(client_backend& backend, transport& out, options opts,
                               frame_limits limits)
    : backend_(backend), out_(out), opts_(opts), limits_(limits) {}

void client_session::send(const message& m) {
  out_.send(encode(m, limits_, version_));
}

void client_session::start() {
  state_ = state::greeting;
}

void client_session::fail(error e, bool tell_server) {
  if (state_ == state::failed || state_ == state::done || state_ == state::wiped) return;
  state_ = state::failed;
  if (tell_server) {
    try {  // say why, so the server's log shows it
      out_.send(encode(error_frame{static_cast<std::uint16_t>(e.code),
                                   e.message.substr(0, limits_.max_text_bytes)},
                       limits_));
    } catch (...) {  // nothing more to say
    }
  }
  failure_ = std::move(e);
  out_.close();
}

void client_session::on_frame(std::string_view frame) {
  if (state_ == state::failed || state_ == state::done || state_ == state::wiped) return;
  if (frame_version(frame) > version_)
    return fail(error{errc::protocol, newer_frame(frame, version_), {}});
  auto decoded = decode(frame, limits_);
  if (!decoded) return fail(decoded.err());
  auto unexpected = [&] {
    throw failure(errc::protocol, std::string("the server sent an unexpected ") +
                                      name_of(decoded.value()) + " frame");
  };
  guarded(
      [&] {
        std::visit(
            overloaded{
                [&](const error_frame& e) {
                  fail(error{static_cast<errc>(e.code), e.message, {}}, false);
                },
                [&](const challenge& c) {
                  if (state_ != state::greeting || hello_sent_) unexpected();
                  if (c.version < oldest_protocol_version)
                    throw failure(errc::protocol, "the server speaks protocol version " +
                                                      std::to_string(c.version) +
                                                      ", older than this app supports (" +
                                                      std::to_string(oldest_protocol_version) +
                                                      "); update the server");
                  if (c.nonce.size() < 16 || c.nonce.size() > 64)
                    throw failure(errc::protocol, "the server's challenge has a nonce of " +
                                                      std::to_string(c.nonce.size()) +
                                                      " bytes (16-64 expected)");
                  version_ = std::min(c.version, opts_.max_protocol);
                  progress_.protocol = version_;
                  challenge spoken = c;
                  spoken.version = version_;
                  hello h = backend_.greeting(spoken);
                  if (h.version != version_)
                    throw failure(errc::internal, "the hello names protocol version " +
                                                      std::to_string(h.version) + ", not " +
                                                      std::to_string(version_));
                  send(h);
                  hello_sent_ = true;
                },
                [&](const wipe_order& order) {
                  if (!hello_sent_) unexpected();
                  backend_.wipe(order);
                  wipe_reason_ = order.reason;
                  send(wipe_done{});
                  state_ = state::wiped;
                  out_.close();
                },
                [&](const welcome& w) {
                  if (state_ != state::greeting || !hello_sent_) unexpected();
                  if (w.version != version_)
                    throw failure(errc::protocol, "the server's welcome names protocol version " +
                                                      std::to_string(w.version) + ", not the " +
                                                      std::to_string(version_) + " of the hello");
                  backend_.welcomed(w);
                  batch_records_ =
                      w.max_batch_records == 0
                          ? limits_.max_records
                          : std::min<std::size_t>(w.max_batch_records, limits_.max_records);
                  state_ = state::pushing;
                  push_next();
                },
                [&](const push_ack& ack) {
                  if (!push_in_flight_) unexpected();
                  backend_.acknowledged(ack);
                  push_in_flight_ = false;
                  push_next();  // live too: whatever was written meanwhile
                },
                [&](const change_batch& batch) {
                  if (state_ != state::pulling && state_ != state::live) unexpected();
                  // Ask for the next batch before merging this one, so that the server
                  // reads and sends it meanwhile: one batch being merged and one on its
                  // way, never more. If the merge fails, the session fails and the
                  // answer is ignored; the cursor stays where the store has it.
                  const bool more = state_ == state::pulling && batch.more;
                  if (more) pull_from(batch.up_to);
                  backend_.received(batch);
                  ++progress_.batches_down;
                  progress_.changes_down += cell_count(batch.changes);
                  if (state_ != state::pulling || more) return;
                  if (opts_.stay_live) {
                    state_ = state::live;
                  } else {
                    state_ = state::done;
                    out_.close();
                  }
                },
                [&](const auto&) { unexpected(); }},
            decoded.value());
      },
      [&](const error& e) { fail(e); });
}

void client_session::push_next() {
  push_batch batch = backend_.next_push(opts_.max_push_cells, batch_records_);
  if (batch.changes.empty()) {
    if (state_ == state::pushing) {
      state_ = state::pulling;
      pull_next();
    }
    return;
  }
  ++progress_.batches_up;
  progress_.changes_up += cell_count(batch.changes);
  push_in_flight_ = true;
  send(batch);
}

void client_session::pull_next() {
  pull_from(backend_.pulled_seq());
}

void client_session::pull_from(std::uint64_t since) {
  send(pull_request{since, opts_.max_pull_cells});
}

void client_session::on_local_changes() {
  if (state_ != state::live || push_in_flight_) return;  // the ack pushes what is left
  guarded([&] { push_next(); }, [&](const error& e) { fail(e); });
}

}  // namespace haven::sync
