#pragma once
// Who holds havend's connections: per client address until sign-in, per
// credential after, and a total, a newcomer evicting the oldest unsigned
// connection rather than being refused. Thread-safe; outlives its slots.

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace haven::server {

class metrics;

class connection_budget {
 public:
  struct settings {
    unsigned per_address = 32;    // connections not signed in, per client address
    unsigned per_credential = 4;  // signed-in connections per device or coordinator
    unsigned total = 2048;        // every open connection
  };
  // Why a slot was given notice.
  enum class notice {
    address_full,  // its address's pool was full and a newer connection came
    server_full,   // the server held `total` connections and a newer one came
    replaced,      // its credential opened a newer connection beyond per_credential
  };
  using closer = std::function<void(notice)>;

  // `counters`, when given, gets the gauges and counters of /metrics
  // (open and waiting connections, evictions, replacements, refusals) and
  // must outlive the budget.
  explicit connection_budget(settings s, metrics* counters = nullptr)
      : settings_(s), metrics_(counters) {}

  // One open connection's claim. Move-only; its destructor frees the room.
  class slot {
   public:
    slot(slot&& other) noexcept
        : owner_(std::exchange(other.owner_, nullptr)),
          id_(other.id_),
          address_(std::move(other.address_)) {}
    slot& operator=(slot&&) = delete;
    ~slot();
    // The client address the slot was admitted under.
    const std::string& address() const { return address_; }
    // Sets the function that closes this connection when it is given
    // notice (replacing an earlier one: the slot may pass from one session
    // object to another). Called at once if notice was given already.
    void on_notice(closer close);
    // The connection signed in as `credential` (e.g. "device:" + its id): it
    // leaves its address's pool for the credential's, where the oldest
    // beyond per_credential is replaced. Again with the same credential: no
    // change. No effect on a slot given notice.
    void sign_in(std::string_view credential);

   private:
    friend class connection_budget;
    slot(connection_budget& owner, std::uint64_t id, std::string address)
        : owner_(&owner), id_(id), address_(std::move(address)) {}
    connection_budget* owner_;
    std::uint64_t id_;
    std::string address_;
  };

  // A slot for a new connection from `address`, having given notice to the
  // connection it takes the place of, if any; nullopt when the server holds
  // `total` connections that have all signed in.
  std::optional<slot> admit(const std::string& address);

  const settings& limits() const { return settings_; }

  struct counts {
    std::size_t open = 0;     // slots counted, signed in or not
    std::size_t waiting = 0;  // of those, not signed in
  };
  counts current() const;

 private:
  struct entry {
    std::string address;
    std::string credential;          // "" until signed in
    std::uint64_t signed_in_at = 0;  // orders a credential's slots, oldest first
    closer close;
    std::optional<notice> noticed;  // given notice: counted no more
  };
  struct pending_close {
    closer close;
    notice why;
  };

  // Requires: mutex_ held. Takes `id` out of its pool and the counts, and
  // adds its closer to `out`.
  void give_notice(std::uint64_t id, notice why, std::vector<pending_close>& out);
  // Requires: mutex_ held. Takes `id` out of its address's or credential's pool.
  void leave_pool(std::uint64_t id, const entry& e);
  void release(std::uint64_t id);
  void set_closer(std::uint64_t id, closer close);
  void sign_in(std::uint64_t id, std::string_view credential);
  void publish();  // Requires: mutex_ held.

  const settings settings_;
  metrics* metrics_;
  mutable std::mutex mutex_;
  std::uint64_t next_ = 0;                  // guarded by mutex_
  std::map<std::uint64_t, entry> entries_;  // guarded by mutex_: by id, i.e. in order of admission
  std::set<std::uint64_t> waiting_;         // guarded by mutex_: ids not signed in, oldest first
  std::map<std::string, std::set<std::uint64_t>, std::less<>>
      waiting_by_address_;  // guarded by mutex_
  // signed_in_at -> id, per credential. guarded by mutex_
  std::map<std::string, std::map<std::uint64_t, std::uint64_t>, std::less<>> by_credential_;
  std::size_t open_ = 0;  // guarded by mutex_: entries not given notice
};

}  // namespace haven::server
