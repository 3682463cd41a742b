// libFuzzer target: both session state machines, fed hostile frame sequences.
//
// The input is a mode byte, then frames (fuzz_check.hpp: a 2-byte length
// before each). The same frames go, one by one, to a fresh server_session (as
// if a device sent them, after the session's challenge) and to a fresh
// client_session after start() (as if the server sent them, challenge first), each over in-memory
// stubs. Neither may crash; every frame a session sends must decode; a session that sent an error
// frame has closed its transport; once closed it sends nothing more, whatever else arrives; and its
// state says closed exactly when its transport is.
//
// Mode bits pick what the stubs do, so more states are reachable:
//   1: the client stays live after catching up
//   2: the server backend refuses pushes (haven::failure, clock_skew)
//   4: the server's first pull answers "more" (not caught up yet)
//   8: the client has one batch to push (so it refuses a "retired" wipe order)
//  16: the server admits the device as retired (wipe once everything is pushed)
//  32: the server admits the device as revoked (wipe at once)
//  64: the server refuses a hello whose proof is not its nonce

#include <cstddef>
#include <cstdint>
#include <haven/sync/session.hpp>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "fuzz_check.hpp"

using namespace haven;
using namespace haven::sync;

namespace {

// Checks every frame a session sends; refuses sends after close().
class capturing_transport : public transport {
 public:
  void send(std::string frame) override {
    fuzz::require(!closed_, "a session sent a frame after closing its transport");
    auto decoded = decode(frame);
    fuzz::require(decoded.ok(), "a session sent a frame that does not decode: " +
                                    (decoded ? std::string() : decoded.err().message));
    if (std::holds_alternative<error_frame>(decoded.value())) sent_error_ = true;
    ++sent_;
  }
  void close() override { closed_ = true; }

  bool closed() const { return closed_; }
  bool sent_error() const { return sent_error_; }
  std::size_t sent() const { return sent_; }

 private:
  bool closed_ = false;
  bool sent_error_ = false;
  std::size_t sent_ = 0;
};

record_change some_change() {
  record_change c;
  c.id.bytes[15] = 1;
  c.type = "pats_session";
  c.team = "pats";
  c.cells.push_back(
      cell{"site", value{std::string("vic")}, stamp{hlc::make(1'700'000'000'000, 0), 7}});
  return c;
}

// The standing the mode gives the device: bit 16 retired, bit 32 revoked.
sync::standing standing_of(unsigned mode) {
  return mode & 16   ? sync::standing::retired
         : mode & 32 ? sync::standing::revoked
                     : sync::standing::active;
}

class stub_server_backend : public server_backend {
 public:
  explicit stub_server_backend(unsigned mode) : mode_(mode) {}
  std::string nonce() override { return std::string(32, 'n'); }
  admission admit(const hello& h, const handshake& hs) override {
    if ((mode_ & 64) && h.proof != hs.nonce)
      throw failure(errc::unauthorized, "refused: bad signature");
    welcome w;
    w.schema_version = h.schema_version;
    w.acked_seq = h.acked_seq;
    return {w, standing_of(mode_)};
  }
  push_ack push(const peer&, const push_batch& batch) override {
    if (mode_ & 2) throw failure(errc::clock_skew, "refused: the sending device's clock is ahead");
    return push_ack{batch.last_seq};
  }
  change_batch pull(const peer&, std::uint64_t since, std::uint32_t) override {
    change_batch batch;
    batch.up_to = since;
    batch.more = (mode_ & 4) && pulls_++ == 0;
    return batch;
  }
  void caught_up(const peer&) override {}
  void wiped(const peer&) override {}
  sync::standing standing(const peer&) override { return standing_of(mode_); }

 private:
  unsigned mode_;
  int pulls_ = 0;
};

class stub_client_backend : public client_backend {
 public:
  explicit stub_client_backend(unsigned mode) : pending_(mode & 8 ? 1 : 0) {}
  hello greeting(const challenge& c) override {
    hello h;
    h.version = c.version;
    h.device_id = "fuzz-device";
    h.team = "pats";
    h.node = 7;
    h.proof = c.nonce;
    return h;
  }
  void wipe(const wipe_order& order) override {
    if (order.reason == sync::standing::retired && pending_ > 0)
      throw failure(errc::invalid_input, "changes unsent");
    pending_ = 0;
  }
  void welcomed(const welcome&) override {}
  push_batch next_push(std::size_t, std::size_t) override {
    push_batch batch;
    if (pending_ > 0) {
      --pending_;
      batch.last_seq = 1;
      batch.changes.push_back(some_change());
    }
    return batch;
  }
  void acknowledged(const push_ack&) override {}
  void received(const change_batch& batch) override { pulled_ = batch.up_to; }
  std::uint64_t pulled_seq() override { return pulled_; }

 private:
  int pending_;
  std::uint64_t pulled_ = 0;
};

// Runs one step of a session and checks what it did: its state says closed
// exactly when its transport is; an error frame means closed; a closed session
// stays silent.
template <class Step, class Closed>
void checked(const capturing_transport& out, Step step, Closed closed) {
  const std::size_t sent_before = out.sent();
  const bool was_closed = out.closed();
  step();
  fuzz::require(closed() == out.closed(),
                "a session's state and its transport disagree about closing");
  fuzz::require(!out.sent_error() || out.closed(),
                "a session sent an error frame but did not close");
  fuzz::require(!was_closed || out.sent() == sent_before, "a closed session sent a frame");
}

void run_server(unsigned mode, const std::vector<std::string_view>& frames) {
  stub_server_backend backend(mode);
  capturing_transport out;
  server_session session(backend, out);
  auto closed = [&] { return session.current() == server_session::state::closed; };
  session.start();
  fuzz::require(out.sent() == 1 && !out.closed(), "start() did not send exactly the challenge");
  for (std::string_view frame : frames) {
    checked(
        out, [&] { session.on_frame(frame); }, closed);
    checked(
        out, [&] { session.on_changes(session.device().team); }, closed);  // live: nothing new
  }
  checked(
      out, [&] { session.fail(errc::unavailable, "server shutting down"); }, closed);
  fuzz::require(out.closed(), "fail() left the session open");
}

void run_client(unsigned mode, const std::vector<std::string_view>& frames) {
  stub_client_backend backend(mode);
  capturing_transport out;
  client_session::options opts;
  opts.stay_live = mode & 1;
  client_session session(backend, out, opts);
  auto closed = [&] {
    return session.current() == client_session::state::done ||
           session.current() == client_session::state::wiped ||
           session.current() == client_session::state::failed;
  };
  session.start();
  fuzz::require(out.sent() == 0 && !out.closed(),
                "start() sent a frame before the server's challenge");
  for (std::string_view frame : frames) {
    checked(
        out, [&] { session.on_frame(frame); }, closed);
    checked(
        out, [&] { session.on_local_changes(); }, closed);
  }
  fuzz::require(
      session.current() != client_session::state::failed || session.failure_reason().has_value(),
      "a failed client session has no reason");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const unsigned mode = data[0];
  const auto frames =
      fuzz::split_frames(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  run_server(mode, frames);
  run_client(mode, frames);
  return 0;
}
