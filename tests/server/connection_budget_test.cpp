// The connection budget: connections not signed in count against their
// address (the oldest gives way to a newcomer), signed-in ones against their
// device or coordinator (the oldest is replaced), and all against the total.
#include <catch2/catch.hpp>
#include <haven/server/connection_budget.hpp>
#include <haven/server/metrics.hpp>
#include <optional>
#include <string>
#include <vector>

namespace haven::test {
namespace {

using budget = server::connection_budget;
using notice = budget::notice;

// Slots admitted in order, each remembering the notice it was given.
struct admitted {
  budget& b;
  std::vector<std::optional<budget::slot>> slots{};
  std::vector<std::optional<notice>> notices{};

  // Admits one more from `address`; returns its index, or -1 if refused.
  int admit(const std::string& address) {
    auto s = b.admit(address);
    if (!s) return -1;
    const auto i = slots.size();
    slots.push_back(std::move(s));
    notices.emplace_back();
    slots[i]->on_notice([this, i](notice why) { notices[i] = why; });
    return static_cast<int>(i);
  }
  std::vector<std::size_t> noticed() const {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < notices.size(); ++i)
      if (notices[i]) out.push_back(i);
    return out;
  }
};

using list = std::vector<std::size_t>;

}  // namespace

TEST_CASE("budget: a newcomer from a full address takes the place of its oldest not signed in",
          "[server][budget]") {
  budget b({3, 2, 100});
  admitted a{b};
  for (int i = 0; i < 3; ++i) a.admit("10.0.0.1");
  CHECK(a.noticed().empty());
  CHECK(a.admit("10.0.0.1") == 3);
  CHECK(a.noticed() == list{0});
  CHECK(a.notices[0] == notice::address_full);
  CHECK(a.admit("10.0.0.1") == 4);
  CHECK(a.noticed() == list{0, 1});
  CHECK(b.current().open == 3);
  CHECK(b.current().waiting == 3);
  // Another address has a pool of its own.
  for (int i = 0; i < 3; ++i) a.admit("10.0.0.2");
  CHECK(a.noticed() == list{0, 1});
  // A slot given notice frees nothing more when it goes.
  a.slots[0].reset();
  CHECK(b.current().open == 6);
  // One that goes frees its room: the next newcomer needs no notice.
  a.slots[3].reset();
  a.admit("10.0.0.1");
  CHECK(a.noticed() == list{0, 1});
}

TEST_CASE("budget: signed-in connections leave their address's pool", "[server][budget]") {
  budget b({2, 4, 100});
  admitted a{b};
  for (int i = 0; i < 4; ++i) {
    a.admit("10.0.0.1");
    a.slots.back()->sign_in("device:d" + std::to_string(i));
  }
  // Two stalled ones fill the address's pool; a third takes the oldest's
  // place; none of the signed-in connections is touched.
  a.admit("10.0.0.1");
  a.admit("10.0.0.1");
  a.admit("10.0.0.1");
  CHECK(a.noticed() == list{4});
  CHECK(b.current().open == 6);
  CHECK(b.current().waiting == 2);
}

TEST_CASE("budget: a credential's newest connection replaces its oldest beyond its share",
          "[server][budget]") {
  server::metrics counters;
  budget b({32, 2, 100}, &counters);
  admitted a{b};
  for (int i = 0; i < 3; ++i) a.admit("10.0.0." + std::to_string(i));
  a.slots[0]->sign_in("device:d1");
  a.slots[1]->sign_in("device:d1");
  a.slots[0]->sign_in("device:d1");  // again: no change
  CHECK(a.noticed().empty());
  a.slots[2]->sign_in("device:d1");
  CHECK(a.noticed() == list{0});
  CHECK(a.notices[0] == notice::replaced);
  // Another device and a coordinator have shares of their own.
  a.admit("10.0.0.1");
  a.slots[3]->sign_in("coordinator:maja");
  CHECK(a.noticed() == list{0});
  // A slot given notice cannot sign in again.
  a.slots[0]->sign_in("device:d2");
  CHECK(b.current().open == 3);
  CHECK(counters.replaced_connections == 1);
  CHECK(counters.open_connections == 3);
  CHECK(counters.waiting_connections == 0);
}

TEST_CASE(
    "budget: at the total a newcomer takes the place of the oldest not signed in, else is refused",
    "[server][budget]") {
  server::metrics counters;
  budget b({32, 4, 3}, &counters);
  admitted a{b};
  a.admit("10.0.0.1");
  a.admit("10.0.0.2");
  a.admit("10.0.0.3");
  a.slots[0]->sign_in("device:d0");
  CHECK(a.admit("10.0.0.4") == 3);
  CHECK(a.noticed() == list{1});  // the oldest not signed in, whatever its address
  CHECK(a.notices[1] == notice::server_full);
  a.slots[2]->sign_in("device:d2");
  a.slots[3]->sign_in("device:d3");
  CHECK(a.admit("10.0.0.5") == -1);  // every one has signed in
  CHECK(counters.refused_connections == 1);
  CHECK(counters.evicted_connections == 1);
  a.slots[3].reset();
  CHECK(a.admit("10.0.0.5") == 4);
}

TEST_CASE("budget: a closer set after the notice is called at once, and a later one replaces it",
          "[server][budget]") {
  budget b({1, 4, 100});
  auto first = b.admit("10.0.0.1");
  std::vector<std::string> calls;
  first->on_notice([&](notice) { calls.push_back("old"); });
  first->on_notice([&](notice) { calls.push_back("new"); });  // the slot passed to another session
  auto second = b.admit("10.0.0.1");
  CHECK(calls == std::vector<std::string>{"new"});
  auto third = b.admit("10.0.0.1");  // second had no closer yet when it was given notice
  second->on_notice(
      [&](notice why) { calls.push_back(why == notice::address_full ? "late" : "?"); });
  CHECK(calls == std::vector<std::string>{"new", "late"});
}

}  // namespace haven::test
