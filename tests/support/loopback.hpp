#pragma once
// Two sync sessions in one test process with no sockets (LiteCore's
// LoopbackWebSocket idea): a wire that queues the frames both sides send and
// lets the test deliver them in order, duplicate, drop or cut them; a device
// (a client_backend over a memory_replica and an outbox of stamped local
// cells with its two cursors) and a central store model (a server_backend
// over a merged memory_replica, a log of positions, device cursors and an
// HLC skew check), both driven by one physical clock the test sets by hand.
//
// The models are small and plain on purpose: the session state machines are
// what is under test, and the models are their reference environment.

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <haven/sync/hlc.hpp>
#include <haven/sync/merge.hpp>
#include <haven/sync/protocol.hpp>
#include <haven/sync/session.hpp>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace haven::test {

using sync::change_batch;
using sync::client_session;
using sync::error_frame;
using sync::message;
using sync::pull_request;
using sync::push_ack;
using sync::push_batch;
using sync::server_session;
using sync::welcome;

constexpr std::uint64_t epoch_ms = 1'770'000'000'000;  // February 2026

// The physical time every clock of a test reads; the test moves it.
struct manual_time {
  std::uint64_t ms = epoch_ms;
  // A clock that runs `offset_ms` ahead of (or behind) the shared time.
  sync::hlc_clock clock(std::int64_t offset_ms = 0,
                        std::uint64_t max_skew = sync::hlc_clock::default_max_skew_ms) {
    return sync::hlc_clock(max_skew, [this, offset_ms] {
      return static_cast<std::uint64_t>(static_cast<std::int64_t>(ms) + offset_ms);
    });
  }
};

// "hello", "welcome", "push", ... for a frame; "garbage" if it does not decode.
inline std::string name_of(std::string_view frame) {
  static constexpr const char* names[] = {"hello",      "welcome",  "push",  "ack",
                                          "pull",       "changes",  "error", "challenge",
                                          "wipe order", "wipe done"};
  auto m = sync::decode(frame);
  return m ? names[m.value().index()] : "garbage";
}

// The message in a frame that must decode.
inline message decoded(std::string_view frame) {
  auto m = sync::decode(frame);
  if (!m) FAIL("a session sent a frame that does not decode: " << m.err().message);
  return std::move(m).value();
}

template <class T>
T decoded_as(std::string_view frame) {
  message m = decoded(frame);
  if (!std::holds_alternative<T>(m)) FAIL("expected another message than " << name_of(frame));
  return std::get<T>(std::move(m));
}

// ------------------------------------------------------------------ the wire

// Both directions of one connection as a single queue in send order, the way
// a test sees a conversation. Frames sent after a side closed are counted, not queued.
class wire {
 public:
  enum class side { device, server };  // who sent the frame
  struct frame {
    side from;
    std::string bytes;
  };

  class end final : public sync::transport {
   public:
    end(wire& w, side s) : wire_(w), side_(s) {}
    void send(std::string bytes) override {
      if (closed_) {
        ++sent_after_close;
      } else {
        wire_.queue_.push_back({side_, bytes});
        sent.push_back(std::move(bytes));
      }
    }
    void close() override { closed_ = true; }
    bool closed() const { return closed_; }

    std::vector<std::string> sent;  // every frame this side sent, in order
    std::size_t sent_after_close = 0;

   private:
    wire& wire_;
    side side_;
    bool closed_ = false;
  };

  end& device_end() { return device_; }
  end& server_end() { return server_; }
  std::deque<frame>& queue() { return queue_; }

 private:
  std::deque<frame> queue_;
  end device_{*this, side::device};
  end server_{*this, side::server};
};

// ------------------------------------------------------------------ the device

// A device store reduced to what sync needs: its replica, every cell it wrote
// itself with a local sequence number (the outbox is those after the server's
// acknowledgement that the replica still holds), and its two cursors.
class device final : public sync::client_backend {
 public:
  device(std::string name, std::string team, sync::node_id node, manual_time& time,
         std::int64_t clock_offset_ms = 0)
      : name_(std::move(name)),
        team_(std::move(team)),
        node_(node),
        clock_(time.clock(clock_offset_ms)) {}

  // Writes fields of record `id` (created if new) in this device's team, each
  // cell stamped by the device clock with the next local sequence number.
  void write(const sync::record_id& id, const std::string& type,
             const std::vector<std::pair<std::string, value>>& fields) {
    sync::record_change change{id, type, team_, {}};
    for (const auto& [key, v] : fields) change.cells.push_back({key, v, {clock_.now(), node_}});
    apply_own(change);
  }
  void remove(const sync::record_id& id, const std::string& type) {
    write(id, type, {{std::string(sync::deleted_key), true}});
  }

  const std::string& name() const { return name_; }
  const std::string& team() const { return team_; }
  sync::node_id node() const { return node_; }
  const sync::memory_replica& replica() const { return replica_; }
  std::uint64_t local_seq() const { return local_seq_; }
  std::uint64_t acked_seq() const { return acked_; }
  std::uint64_t pulled() const { return pulled_; }
  std::size_t outbox_cells() const {
    return count(outbox(std::numeric_limits<std::size_t>::max()));
  }
  const std::vector<welcome>& welcomes() const { return welcomes_; }
  const std::vector<push_ack>& acks() const { return acks_; }
  const std::vector<change_batch>& batches() const { return batches_; }

  // The max_records of every next_push() call.
  std::vector<std::size_t> next_push_records;
  // Fails the next call of the named backend function with this exception.
  std::function<void(const char* what)> fault;

  // client_backend
  // The model's "signature" is the nonce itself: the central model checks
  // that a hello answers the challenge of its own connection.
  sync::hello greeting(const sync::challenge& c) override {
    maybe_fail("greeting");
    return sync::hello{c.version, name_, team_, node_, 1, acked_, pulled_, c.nonce};
  }
  // Erases the replica and every own cell; refuses a retired order while
  // own cells are unsent (nothing is erased then).
  void wipe(const sync::wipe_order& order) override {
    maybe_fail("wipe");
    if (order.reason == sync::standing::retired && outbox_cells() > 0)
      throw failure(errc::invalid_input, "refusing to wipe: changes are unsent");
    replica_ = {};
    own_.clear();
    acked_ = local_seq_;
    pulled_ = 0;
    wiped_ = order.reason;
  }
  // The reason of the wipe carried out; active if none was.
  sync::standing wiped() const { return wiped_; }
  void welcomed(const welcome& w) override {
    maybe_fail("welcomed");
    welcomes_.push_back(w);
    // The server may have committed pushes whose acknowledgement never arrived.
    if (w.acked_seq > acked_ && w.acked_seq <= local_seq_) acked_ = w.acked_seq;
  }
  push_batch next_push(std::size_t max_cells, std::size_t max_records) override {
    maybe_fail("next_push");
    next_push_records.push_back(max_records);
    return outbox(max_cells, max_records);
  }
  void acknowledged(const push_ack& ack) override {
    maybe_fail("acknowledged");
    acks_.push_back(ack);
    acked_ = std::max(acked_, std::min(ack.acked_seq, local_seq_));
  }
  void received(const change_batch& batch) override {
    maybe_fail("received");
    batches_.push_back(batch);
    for (const auto& change : batch.changes) {
      for (const auto& c : change.cells) clock_.restore(c.at.time);
      replica_.apply(change);
    }
    pulled_ = std::max(pulled_, batch.up_to);
  }
  std::uint64_t pulled_seq() override { return pulled_; }

 private:
  struct own_cell {
    sync::record_id id;
    std::string type, team;
    sync::cell cell;
  };

  static std::size_t count(const push_batch& b) {
    std::size_t n = 0;
    for (const auto& c : b.changes) n += c.cells.size();
    return n;
  }

  void maybe_fail(const char* what) {
    if (fault) fault(what);
  }

  void apply_own(const sync::record_change& change) {
    replica_.apply(change);
    for (const auto& c : change.cells)
      own_[++local_seq_] = {change.id, change.type, change.team, c};
  }

  // The own cells after the acknowledgement that the replica still holds (a
  // field written twice is sent once, at its last value; a cell that lost a
  // merge or whose record was deleted is not sent), in seq order, grouping
  // consecutive cells of one record, at most max_cells and max_records.
  push_batch outbox(std::size_t max_cells,
                    std::size_t max_records = std::numeric_limits<std::size_t>::max()) const {
    push_batch b;
    std::size_t cells = 0;
    // As the device's store does: a record's consecutive cells stay together,
    // and the batch ends at the first record boundary once max_cells are in.
    for (auto it = own_.upper_bound(acked_); it != own_.end(); ++it) {
      const auto& [seq, own] = *it;
      const auto& rec = replica_.records().at(own.id);
      const auto held = rec.cells.find(own.cell.key);
      if (held == rec.cells.end() || !(held->second == own.cell)) continue;
      if (b.changes.empty() || b.changes.back().id != own.id) {
        if (b.changes.size() == max_records || cells >= max_cells) break;
        b.changes.push_back({own.id, own.type, own.team, {}});
      }
      b.changes.back().cells.push_back(own.cell);
      b.last_seq = seq;
      ++cells;
    }
    return b;
  }

  std::string name_, team_;
  sync::node_id node_;
  sync::hlc_clock clock_;
  sync::memory_replica replica_;
  std::map<std::uint64_t, own_cell> own_;  // by local seq
  std::uint64_t local_seq_ = 0, acked_ = 0, pulled_ = 0;
  std::vector<welcome> welcomes_;
  std::vector<push_ack> acks_;
  std::vector<change_batch> batches_;
  sync::standing wiped_ = sync::standing::active;
};

// ------------------------------------------------------------------ the central store

// The central store reduced to what sync needs: the merged replica, each
// cell's log position (a cell moves to the head when it changes, so "changes
// since N" is each changed cell once, at its current value), device cursors,
// and the server clock that refuses cells stamped too far ahead.
class central final : public sync::server_backend {
 public:
  struct device_entry {
    std::string team;
    sync::node_id node = 0;
    std::uint64_t acked_seq = 0;
    int admitted = 0, caught_up = 0;
  };

  explicit central(manual_time& time) : clock_(time.clock()) {}

  const sync::memory_replica& merged() const { return merged_; }
  std::uint64_t head() const { return head_; }
  const std::map<std::string, device_entry>& devices() const { return devices_; }
  // Log positions of the cells the log holds (one per held cell).
  std::size_t log_size() const { return log_.size(); }

  // Called with each team of a push that changed something (like sync_service).
  std::function<void(const std::string& team)> on_team_changed;
  // Throws from the named backend function before it does anything.
  std::function<void(const char* what)> fault;

  // Wipe orders by device id: retired or revoked.
  std::map<std::string, sync::standing> wipe_orders;
  // Devices that confirmed a wipe.
  std::vector<std::string> wipe_confirmations;
  // What admit() was told of each connection.
  std::vector<sync::handshake> handshakes;

  // server_backend
  std::string nonce() override {
    const std::string n = std::to_string(++nonces_);
    return "nonce-" + std::string(16 - n.size(), '0') + n;
  }
  sync::admission admit(const sync::hello& h, const sync::handshake& hs) override {
    maybe_fail("admit");
    handshakes.push_back(hs);
    if (h.proof != hs.nonce)
      throw failure(errc::unauthorized, "the hello does not answer this connection's challenge");
    const auto order = wipe_orders.find(h.device_id);
    const sync::standing wipe = order == wipe_orders.end() ? sync::standing::active : order->second;
    if (wipe == sync::standing::revoked) return {{}, wipe};
    device_entry& d = devices_[h.device_id];
    d.team = h.team;
    d.node = h.node;
    ++d.admitted;
    welcome w;
    w.schema_version = 1;
    w.schema_json = "{}";
    w.server_time = clock_.now();
    w.acked_seq = d.acked_seq;
    return {w, wipe};
  }

  push_ack push(const sync::peer& p, const push_batch& batch) override {
    maybe_fail("push");
    for (const auto& change : batch.changes)
      for (const auto& c : change.cells)
        if (auto ok = clock_.check(c.at.time); !ok) throw failure(ok.err());
    std::set<std::string> changed;
    for (const auto& change : batch.changes)
      for (const auto& c : change.cells)
        if (apply(change, c)) changed.insert(merged_.records().at(change.id).team);
    device_entry& d = devices_[p.device_id];
    d.acked_seq = std::max(d.acked_seq, batch.last_seq);
    if (on_team_changed)
      for (const auto& team : changed) on_team_changed(team);
    return push_ack{d.acked_seq};
  }

  change_batch pull(const sync::peer& p, std::uint64_t since, std::uint32_t max_cells) override {
    maybe_fail("pull");
    change_batch b;
    std::size_t read = 0;
    std::uint64_t last = since;
    const sync::record_id* current = nullptr;  // record of the last cell read
    for (auto it = log_.upper_bound(since); it != log_.end(); ++it) {
      const auto& [seq, where] = *it;
      const auto& rec = merged_.records().at(where.first);
      if (rec.team != p.team) continue;
      if ((!current || *current != where.first) && read >= max_cells) {
        b.more = true;
        break;
      }
      current = &where.first;
      ++read;
      last = seq;
      const sync::cell& c = rec.cells.at(where.second);
      if (c.at.node == p.node) continue;  // never a device's own cells
      if (b.changes.empty() || b.changes.back().id != where.first)
        b.changes.push_back({where.first, rec.type, rec.team, {}});
      b.changes.back().cells.push_back(c);
    }
    b.up_to = b.more ? last : std::max(since, head_);
    return b;
  }

  void caught_up(const sync::peer& p) override { ++devices_[p.device_id].caught_up; }
  void wiped(const sync::peer& p) override { wipe_confirmations.push_back(p.device_id); }
  sync::standing standing(const sync::peer& p) override {
    const auto order = wipe_orders.find(p.device_id);
    return order == wipe_orders.end() ? sync::standing::active : order->second;
  }

 private:
  void maybe_fail(const char* what) {
    if (fault) fault(what);
  }

  // Merges one cell; true if it changed the replica.
  bool apply(const sync::record_change& change, const sync::cell& c) {
    const sync::merge_stats stats = merged_.apply({change.id, change.type, change.team, {c}});
    if (stats.record_deleted)  // the record's other cells leave the log with their values
      for (auto it = log_.begin(); it != log_.end();) {
        if (it->second.first != change.id) {
          ++it;
          continue;
        }
        position_.erase(it->second);
        it = log_.erase(it);
      }
    if (stats.applied == 0) return false;
    const auto key = std::make_pair(change.id, c.key);
    if (auto old = position_.find(key); old != position_.end()) log_.erase(old->second);
    position_[key] = ++head_;
    log_[head_] = key;
    return true;
  }

  sync::hlc_clock clock_;
  sync::memory_replica merged_;
  std::uint64_t head_ = 0;
  std::map<std::uint64_t, std::pair<sync::record_id, std::string>>
      log_;  // position -> (record, key)
  std::map<std::pair<sync::record_id, std::string>, std::uint64_t>
      position_;  // (record, key) -> position
  std::map<std::string, device_entry> devices_;
  std::uint64_t nonces_ = 0;
};

// ------------------------------------------------------------------ a connection

// One connection between a device and a server backend (the central model,
// or the real sync_service): a client_session and a server_session on the two
// ends of a wire, frames delivered when the test says so.
class connection {
 public:
  connection(device& d, sync::server_backend& c, client_session::options opts = {},
             sync::frame_limits limits = {})
      : device_(d),
        offer_(opts.max_protocol),
        client_(d, wire_.device_end(), opts, limits),
        server_(c, wire_.server_end(), limits) {}
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  client_session& client() { return client_; }
  server_session& server() { return server_; }
  wire& line() { return wire_; }
  const std::vector<std::string>& sent_by_device() { return wire_.device_end().sent; }
  const std::vector<std::string>& sent_by_server() { return wire_.server_end().sent; }
  // The names of the frames delivered so far, in order.
  const std::vector<std::string>& transcript() const { return transcript_; }
  std::size_t delivered() const { return transcript_.size(); }

  // Delivers the oldest queued frame; false if none is queued.
  bool step() {
    auto& q = wire_.queue();
    if (q.empty()) return false;
    wire::frame f = std::move(q.front());
    q.pop_front();
    deliver(f);
    return true;
  }
  // Delivers the oldest queued frame and leaves it queued, to arrive again.
  void duplicate() {
    REQUIRE_FALSE(wire_.queue().empty());
    deliver(wire_.queue().front());
  }
  // Loses the oldest queued frame.
  void drop() {
    REQUIRE_FALSE(wire_.queue().empty());
    wire_.queue().pop_front();
  }
  // The connection breaks: every queued frame is lost.
  void cut() { wire_.queue().clear(); }

  // Starts the client and delivers frames until none are queued or `limit`
  // frames are delivered; returns how many were delivered.
  std::size_t run(std::size_t limit = std::numeric_limits<std::size_t>::max()) {
    if (client_.current() == client_session::state::idle) client_.start();
    // The challenge, to the version the device announced when it connected.
    if (server_.current() == server_session::state::idle) server_.start(offer_);
    return pump(limit);
  }
  std::size_t pump(std::size_t limit = std::numeric_limits<std::size_t>::max()) {
    std::size_t n = 0;
    while (n < limit && step()) ++n;
    return n;
  }

 private:
  void deliver(const wire::frame& f) {
    transcript_.push_back(name_of(f.bytes));
    if (f.from == wire::side::device)
      server_.on_frame(f.bytes);
    else
      client_.on_frame(f.bytes);
  }

  device& device_;
  std::uint32_t offer_;  // as the device's upgrade request announces it
  wire wire_;
  client_session client_;
  server_session server_;
  std::vector<std::string> transcript_;
};

// One complete session of `d` with `c`; REQUIREs that it ends done.
inline void sync_once(device& d, sync::server_backend& c, client_session::options opts = {}) {
  connection link(d, c, opts);
  link.run();
  INFO(d.name() << " session: "
                << (link.client().failure_reason() ? link.client().failure_reason()->message : ""));
  REQUIRE(link.client().current() == client_session::state::done);
}

// The records of `team` in a replica, to compare a device with the server.
inline std::map<sync::record_id, sync::memory_replica::record_state> team_view(
    const sync::memory_replica& r, const std::string& team) {
  std::map<sync::record_id, sync::memory_replica::record_state> out;
  for (const auto& [id, rec] : r.records())
    if (rec.team == team) out.emplace(id, rec);
  return out;
}

// Every cell of the batches the server sent down a connection.
inline std::vector<sync::cell> cells_sent_down(connection& link) {
  std::vector<sync::cell> out;
  for (const auto& f : link.sent_by_server())
    if (name_of(f) == "changes")
      for (const auto& change : decoded_as<change_batch>(f).changes)
        out.insert(out.end(), change.cells.begin(), change.cells.end());
  return out;
}

}  // namespace haven::test
