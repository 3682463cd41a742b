// The coordinator's live events and each tally's completeness, end to end:
// a real havend with authentication on, real `haven` devices enrolled with
// its codes, and GET /api/events read as a dashboard reads it (a chunked
// text/event-stream over a plain socket). The event comes after a push and
// not before, the stream needs a token, one stream beyond the limit gets
// 503, a replaced token ends the stream, and shutdown ends it cleanly.
// Completeness lists the teams that hold records of a tally's type and
// flags one not synced for --stale-after-days (havend's clock moved on with
// HAVEN_TEST_CLOCK_OFFSET_MS, nothing slept).
#include <poll.h>
#include <sys/socket.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <string>

#include "../support/havend_process.hpp"
#include "../support/tcp.hpp"
#include "secured_fixture.hpp"

namespace haven::test {
namespace {

using namespace std::chrono_literals;

// GET /api/events on a connection of its own, read as it arrives.
class event_reader {
 public:
  event_reader(const std::string& address, const std::string& token) : connection_(address) {
    std::string request = "GET /api/events HTTP/1.1\r\nHost: " + address + "\r\n";
    if (!token.empty()) request += "Authorization: Bearer " + token + "\r\n";
    REQUIRE(connection_.send(request + "\r\n"));
  }

  // Reads until `text` has arrived (anywhere in what was received), the
  // server closes, or `within` passes; whether it has.
  bool wait_for(const std::string& text, std::chrono::milliseconds within = 10s) {
    const auto until = std::chrono::steady_clock::now() + within;
    while (received_.find(text) == std::string::npos && !closed_) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{connection_.fd(), POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buffer[4096];
      const auto n = ::recv(connection_.fd(), buffer, sizeof buffer, 0);
      if (n <= 0)
        closed_ = true;
      else
        received_.append(buffer, static_cast<std::size_t>(n));
    }
    return received_.find(text) != std::string::npos;
  }
  // Whether the stream opened (200) and its first event, which repeats the
  // latest one (or a comment when there was none), arrived.
  bool greeted() { return wait_for("HTTP/1.1 200 OK") && wait_for("\n\n\r\n"); }
  // Reads until the server closes the connection (within `within`).
  bool wait_closed(std::chrono::milliseconds within = 10s) {
    wait_for(std::string(1, '\0'), within);  // never sent: reads to the end
    return closed_;
  }
  const std::string& received() const { return received_; }

 private:
  tcp_connection connection_;
  std::string received_;
  bool closed_ = false;
};

// The heads the "tally" events in `text` carry, in order.
std::vector<std::uint64_t> heads_in(const std::string& text) {
  std::vector<std::uint64_t> out;
  for (auto at = text.find("event: tally\ndata: "); at != std::string::npos;
       at = text.find("event: tally\ndata: ", at + 1)) {
    const auto start = at + std::string("event: tally\ndata: ").size();
    const auto data = boost::json::parse(text.substr(start, text.find('\n', start) - start));
    out.push_back(data.as_object().at("head").to_number<std::uint64_t>());
  }
  return out;
}

std::uint64_t head_of(const secured_server& s) {
  return boost::json::parse(s.head()).as_object().at("head").to_number<std::uint64_t>();
}

}  // namespace

TEST_CASE("a coordinator's event stream tells of a push once it has committed, not before",
          "[e2e][live]") {
  secured_server s;
  enrolled_device d;
  s.enroll(d, "team-a");
  d.record("P-A1PHA-00011");
  const std::string token = coordinator_token(s.db);
  event_reader events(s.server.address(), token);
  REQUIRE(events.wait_for("HTTP/1.1 200 OK"));
  CHECK(events.wait_for("text/event-stream"));
  CHECK(events.wait_for("Transfer-Encoding: chunked"));
  const std::uint64_t before = head_of(s);
  // Whatever came before the push (the latest event, or a comment when there
  // was none) is of the head before it.
  REQUIRE(events.wait_for("\n\n\r\n"));  // the first event's chunk
  for (const auto head : heads_in(events.received())) CHECK(head == before);

  REQUIRE(d.sync().exit_code == 0);
  const std::uint64_t after = head_of(s);
  REQUIRE(after > before);
  REQUIRE(events.wait_for("\"head\":" + std::to_string(after)));
  const auto heads = heads_in(events.received());
  CHECK(heads.back() == after);
  CHECK(std::is_sorted(heads.begin(), heads.end()));
}

TEST_CASE("the event stream needs a valid coordinator token", "[e2e][live]") {
  secured_server s;
  const auto none = http_get(s.server.address(), "/api/events");
  CHECK(none.status == 401);
  CHECK_THAT(none.body, Catch::Matchers::Contains("coordinator token"));
  const auto wrong = http_send(s.server.address(), "GET", "/api/events", "",
                               {{"Authorization", "Bearer " + std::string(64, 'a')}});
  CHECK(wrong.status == 401);
}

TEST_CASE("one event stream beyond --max-event-streams is answered 503", "[e2e][live]") {
  secured_server s({"--max-event-streams", "1"});
  const std::string token = coordinator_token(s.db);
  event_reader first(s.server.address(), token);
  REQUIRE(first.wait_for("HTTP/1.1 200 OK"));
  event_reader second(s.server.address(), token);
  REQUIRE(second.wait_for("HTTP/1.1 503"));
  CHECK(second.wait_for("--max-event-streams"));
  CHECK(second.wait_closed());
  CHECK_FALSE(first.wait_closed(200ms));  // the first is still open
}

TEST_CASE("a replaced coordinator token ends its stream", "[e2e][live]") {
  secured_server s;
  const std::string token = coordinator_token(s.db);
  event_reader events(s.server.address(), token);
  REQUIRE(events.greeted());
  const std::string replacement = coordinator_token(s.db);  // the same name: replaces it
  REQUIRE(replacement != token);
  CHECK(events.wait_for("the coordinator token is no longer valid", 20s));
  CHECK(events.wait_for("\r\n0\r\n\r\n"));
  CHECK(events.wait_closed());
}

TEST_CASE("havend's shutdown ends the event streams cleanly", "[e2e][live]") {
  secured_server s;
  const std::string token = coordinator_token(s.db);
  event_reader events(s.server.address(), token);
  REQUIRE(events.greeted());
  CHECK(s.server.stop() == 0);
  CHECK(events.wait_for("the server is shutting down"));
  CHECK(events.wait_for("\r\n0\r\n\r\n"));  // the last chunk: the response is complete
  CHECK(events.wait_closed());
}

TEST_CASE("a tally's completeness lists the teams recording its type and flags a stale one",
          "[e2e][live]") {
  secured_server s({"--stale-after-days", "14"});
  enrolled_device a, b;
  s.enroll(a, "team-a");
  s.enroll(b, "team-b");
  a.record("P-A1PHA-00011");
  b.record("P-BRAV0-0001B");
  REQUIRE(a.sync().exit_code == 0);
  REQUIRE(b.sync().exit_code == 0);
  const std::string token = coordinator_token(s.db);
  const auto completeness = [&] {
    const auto r =
        http_send(s.server.address(), "GET", "/api/tallies/pats-individual-by-site?year=2026", "",
                  {{"Authorization", "Bearer " + token}});
    REQUIRE(r.status == 200);
    return boost::json::parse(r.body).as_object().at("completeness").as_object();
  };
  const auto fresh = completeness();
  CHECK(fresh.at("record_type") == "pats_session");
  CHECK(fresh.at("stale_after_days") == 14);
  REQUIRE(fresh.at("teams").as_array().size() == 2);
  CHECK(fresh.at("stale_teams") == 0);
  for (const auto& t : fresh.at("teams").as_array()) {
    CHECK_FALSE(t.at("stale").as_bool());
    CHECK(t.at("days_since") == 0);
  }
  // No on-call events were recorded: nobody contributes to that tally.
  const auto on_call =
      http_send(s.server.address(), "GET", "/api/tallies/on-call-by-outcome?year=2026", "",
                {{"Authorization", "Bearer " + token}});
  CHECK(boost::json::parse(on_call.body).at("completeness").at("teams").as_array().empty());

  // Twenty days later (havend's clock moved on) only team-a syncs again.
  const std::string twenty_days = std::to_string(20LL * 24 * 60 * 60 * 1000);
  ::setenv("HAVEN_TEST_CLOCK_OFFSET_MS", twenty_days.c_str(), 1);
  s.server.restart(true);
  ::unsetenv("HAVEN_TEST_CLOCK_OFFSET_MS");
  a.record("P-BRAV0-00029");
  REQUIRE(a.sync().exit_code == 0);
  const auto later = completeness();
  CHECK(later.at("stale_teams") == 1);
  const auto& teams = later.at("teams").as_array();
  REQUIRE(teams.size() == 2);
  CHECK(teams[0].at("team") == "team-a");
  CHECK_FALSE(teams[0].at("stale").as_bool());
  CHECK(teams[0].at("days_since") == 0);
  CHECK(teams[1].at("team") == "team-b");
  CHECK(teams[1].at("stale").as_bool());
  CHECK(teams[1].at("days_since") == 20);
  // The CSV keeps its shape: its last line still names the view.
  const auto csv =
      http_send(s.server.address(), "GET", "/api/tallies/pats-individual-by-site.csv?year=2026", "",
                {{"Authorization", "Bearer " + token}});
  CHECK_THAT(csv.body, Catch::Matchers::EndsWith("view,internal\r\n") ||
                           Catch::Matchers::EndsWith("view,internal\n"));
}

}  // namespace haven::test
