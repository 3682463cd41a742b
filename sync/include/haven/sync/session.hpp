#pragma once
// The sync protocol's session state machines, sans I/O: they take frames in
// and give frames out through a `transport`, and reach the data through a
// backend interface (the device store on one side, the central store on the
// other). Storage and sockets are adapters around them, so two peers can run
// in one test process over a loopback transport.
//
// A session is not thread-safe: feed it from one thread or strand at a time.

#include <cstdint>
#include <haven/core/result.hpp>
#include <haven/sync/protocol.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace haven::sync {

// Where a session's frames go. send() queues one frame; close() ends the
// connection after the queued frames.
class transport {
 public:
  virtual ~transport() = default;
  virtual void send(std::string frame) = 0;
  virtual void close() = 0;
};

// ---------------------------------------------------------------- server side

// The device a server session talks to, as established by its hello.
struct peer {
  std::string device_id;
  std::string team;
  node_id node = 0;
  std::string address;  // remote address of the connection
};

// What the server knows of a connection before its hello.
struct handshake {
  std::string nonce;    // the challenge sent to the device
  std::string address;  // the remote address, for the audit log and back-off
  // The connection's TLS channel binding, which the device signed too; empty
  // for a plain connection (loopback, or behind a proxy that terminates TLS).
  std::string channel_binding;
};

// The server's answer to a hello. A retired device may still push; once it
// has pushed everything (its first pull) it is told to wipe. A revoked one is
// told to wipe at once: no welcome, no data.
struct admission {
  welcome greeting;
  standing wipe = standing::active;  // the device's standing
};

// The central store as a server session needs it. Each call is one durable
// step; errors are thrown as haven::failure and end the session with an
// error frame carrying the error's code and message.
class server_backend {
 public:
  virtual ~server_backend() = default;
  // A fresh random nonce for a new connection's challenge.
  virtual std::string nonce() = 0;
  // Authenticates a device's hello (signed over the handshake's nonce) and
  // accepts it, or refuses it by throwing (errc::unauthorized, forbidden ...).
  // The welcome carries the device's committed push cursor.
  virtual admission admit(const hello& h, const handshake& hs) = 0;
  // Merges a push batch in one transaction and records the device's cursor;
  // returns only after the commit. Refuses (errc::clock_skew) cells stamped
  // too far ahead of the server's clock, applying none of the batch.
  virtual push_ack push(const peer& p, const push_batch& batch) = 0;
  // The team's cells after server position `since`, at most `max_cells`,
  // without the device's own cells; more = not yet caught up.
  virtual change_batch pull(const peer& p, std::uint64_t since, std::uint32_t max_cells) = 0;
  // pull()'s batch with the frame that carries it in protocol `version`
  // under `limits`. This default encodes pull()'s batch; a backend that hands
  // many devices the same batch may hand them the same frame.
  struct encoded_batch {
    std::uint64_t up_to = 0;
    bool more = false;
    bool empty = true;  // no changes
    std::shared_ptr<const std::string> frame;
  };
  virtual encoded_batch pull_encoded(const peer& p, std::uint64_t since, std::uint32_t max_cells,
                                     std::uint32_t version, const frame_limits& limits);
  static encoded_batch encode_batch(const change_batch& batch, std::uint32_t version,
                                    const frame_limits& limits);
  // The device asked for and received every change up to the log's head.
  virtual void caught_up(const peer& p) = 0;
  // The device confirmed that it erased its store after a wipe order.
  virtual void wiped(const peer& p) = 0;
  // The device's standing now (an unknown device: revoked). A
  // session asks again before every push, pull and live batch, so a device
  // retired or revoked while connected is told to wipe at its next step.
  virtual sync::standing standing(const peer& p) = 0;
};

class server_session {
 public:
  enum class state { idle, awaiting_hello, open, live, wiping, closed };

  // `address` is the device's remote address (for the audit log and
  // back-off); `channel_binding` the connection's TLS channel binding, or
  // empty for a plain connection.
  server_session(server_backend& backend, transport& out, frame_limits limits = {},
                 std::string address = {}, std::string channel_binding = {});

  // Sends the challenge, announcing the newest version both sides speak:
  // the lower of `device_offer` (the highest version the device announced
  // when it connected; oldest_protocol_version when it announced none, as a
  // device of that release does) and max_protocol. The session then awaits
  // the hello, whose version (oldest_protocol_version up to the announced
  // one) is the version of every frame after it.
  void start(std::uint32_t device_offer = protocol_version);
  // Handles one frame from the device. Anything malformed or out of order
  // sends an error frame and closes; backend failures likewise.
  void on_frame(std::string_view frame);
  // New changes may exist for `team`: a live session sends them now.
  void on_changes(std::string_view team);
  // Ends the session with an error frame (e.g. server shutting down, timeout).
  void fail(errc code, const std::string& message);

  state current() const { return state_; }
  const peer& device() const { return peer_; }
  // Why the session was ended by this side, if it was (the error frame's message).
  const std::string& refusal() const { return refusal_; }
  // A live session that could not send all new changes in one batch; call
  // on_changes() again once the last frame is written.
  bool behind() const { return behind_; }
  std::uint32_t max_pull_cells = 8000;
  // The newest protocol version this server speaks (lower only to test old servers).
  std::uint32_t max_protocol = protocol_version;
  // The version the hello chose; oldest_protocol_version before it.
  std::uint32_t version() const { return version_; }

 private:
  void forward_live();
  // The cells a pull may ask for: at most max_pull_cells, and few enough that
  // the batch fits a frame.
  std::uint32_t pull_cells(std::uint32_t asked) const;
  void send(const message& m);

  void order_wipe();
  // Asks the backend for the device's standing; true if it is told to wipe now
  // (revoked, or retired and `drained`: it has nothing more to push).
  bool wipe_now(bool drained);

  server_backend& backend_;
  transport& out_;
  frame_limits limits_;
  handshake handshake_;
  state state_ = state::idle;
  peer peer_;
  standing wipe_ = standing::active;  // the wipe order the device's standing calls for, if any
  std::uint64_t live_cursor_ = 0;     // server position sent to a live device
  std::uint32_t announced_ = oldest_protocol_version;  // in the challenge
  std::uint32_t version_ = oldest_protocol_version;    // of the frames after the hello
  bool behind_ = false;
  std::string refusal_;
};

// ---------------------------------------------------------------- device side

// The device store as a client session needs it.
class client_backend {
 public:
  virtual ~client_backend() = default;
  // The hello for the server's challenge, signed over its nonce (and the TLS
  // channel binding when it is channel_bound) when the device is enrolled.
  // c.version is the version the session speaks (the lower of the server's
  // and the device's): the hello carries it, inside what is signed.
  virtual hello greeting(const challenge& c) = 0;
  // The server's welcome: its schema and what it has committed of our pushes.
  virtual void welcomed(const welcome& w) = 0;
  // The next push batch of at most about max_cells cells (records are not
  // split) and at most max_records records; an empty one means the outbox is drained.
  virtual push_batch next_push(std::size_t max_cells, std::size_t max_records) = 0;
  virtual void acknowledged(const push_ack& ack) = 0;
  // Merges a batch of the server's changes and moves the pull cursor to its
  // up_to. While pulling, the session has already asked for the batch after
  // it (so that the server reads it meanwhile): at most one more is on its way.
  virtual void received(const change_batch& batch) = 0;
  virtual std::uint64_t pulled_seq() = 0;
  // Erases the store on the server's order. May refuse by throwing (e.g. a
  // "retired" order while changes are still unsent); then nothing is erased.
  virtual void wipe(const wipe_order& order) = 0;
};

// Counts for progress lines and the summary.
struct sync_progress {
  std::size_t batches_up = 0, batches_down = 0;
  std::size_t changes_up = 0, changes_down = 0;  // cells
  std::uint32_t protocol = 0;                    // the version spoken; 0 before the challenge
};

class client_session {
 public:
  enum class state { idle, greeting, pushing, pulling, live, done, wiped, failed };
  struct options {
    bool stay_live = false;  // after catching up, keep receiving live changes
    // 12,000 rather than 4,000: havend commits a batch (and its tally) in
    // one transaction, and three times the cells a commit took 19 % less of
    // its CPU per cell (push 10 10000).
    std::size_t max_push_cells = 12000;
    std::uint32_t max_pull_cells = 8000;
    // The newest protocol version this device speaks (lower only to test or
    // measure a device of an older release).
    std::uint32_t max_protocol = protocol_version;
  };

  client_session(client_backend& backend, transport& out, options opts, frame_limits limits = {});
  client_session(client_backend& backend, transport& out)
      : client_session(backend, out, options{}) {}

  // Starts the session: the hello follows the server's challenge.
  void start();
  // Handles one frame from the server.
  void on_frame(std::string_view frame);
  // Local changes were written: a live session pushes them.
  void on_local_changes();

  state current() const { return state_; }
  const sync_progress& progress() const { return progress_; }
  // Why the session failed (state failed), e.g. the server's refusal.
  const std::optional<error>& failure_reason() const { return failure_; }
  // The wipe order carried out (state wiped): retired or revoked; active before.
  standing wipe_reason() const { return wipe_reason_; }
  // The protocol version spoken, chosen on the challenge.
  std::uint32_t version() const { return version_; }

 private:
  void push_next();
  // Asks for the changes after the backend's pull cursor.
  void pull_next();
  // Asks for the changes after `since`.
  void pull_from(std::uint64_t since);
  // Ends the session; tells the server why unless the server ended it.
  void fail(error e, bool tell_server = true);
  void send(const message& m);

  client_backend& backend_;
  transport& out_;
  options opts_;
  frame_limits limits_;
  state state_ = state::idle;
  bool push_in_flight_ = false;
  bool hello_sent_ = false;
  std::uint32_t version_ = oldest_protocol_version;  // chosen on the challenge
  std::size_t batch_records_ = 0;  // the most records per push: ours and the server's limit
  sync_progress progress_;
  std::optional<error> failure_;
  standing wipe_reason_ = standing::active;
};

}  // namespace haven::sync
