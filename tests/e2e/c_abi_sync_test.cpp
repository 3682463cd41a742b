// haven_sync_observed, the C ABI's sync with progress and cancel, against a
// real havend on 127.0.0.1 with small batches (--max-batch-records): the
// callback's counts grow batch by batch up to the summary's; a sync cancelled
// from the callback keeps the batch the server acknowledged, leaves the rest
// in the outbox, and the next haven_sync sends it, so the server and a device
// that pulls from it hold every record. (tests/client/c_api_test.cpp cancels
// while a server never answers.)
#include <haven/client/haven.h>

#include <algorithm>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <functional>
#include <string>
#include <vector>

#include "../support/havend_process.hpp"
#include "../support/process.hpp"

namespace haven::test {
namespace {

boost::json::object object_of(const std::string& json) {
  return boost::json::parse(json).as_object();
}

// The string a C ABI call returned through char**, freed.
std::string take(char* s) {
  std::string out = s ? s : "";
  haven_string_free(s);
  return out;
}

// A device store made through the C ABI in team "outreach", holding `records`
// prevention workshops; closed by the destructor.
struct c_device {
  haven_store* db = nullptr;

  c_device(const temp_dir& dir, const std::string& name, int records) {
    haven_error err{};
    REQUIRE(haven_store_create(dir.file(name + ".db").c_str(), "outreach", &db, &err));
    if (records == 0) return;
    std::string jsonl;
    for (int i = 0; i < records; ++i)
      jsonl +=
          R"({"type": "prevention_workshop", "team": "outreach", "fields": {"date": "2026-03-10", )"
          R"("audience": "secondary-school", "region": "podravska", "participants": )" +
          std::to_string(10 + i) + "}}\n";
    size_t imported = 0;
    INFO(err.message);
    REQUIRE(haven_import_jsonl(db, jsonl.c_str(), &imported, &err));
    REQUIRE(imported == static_cast<size_t>(records));
  }
  ~c_device() { haven_store_close(db); }
  c_device(const c_device&) = delete;
  c_device& operator=(const c_device&) = delete;

  boost::json::object status() const {
    haven_error err{};
    char* json = nullptr;
    REQUIRE(haven_store_status(db, &json, &err));
    return object_of(take(json));
  }
};

// What a progress callback saw; it cancels the first time cancel_when says so.
struct progress_log {
  std::function<bool(const haven_sync_progress&)> cancel_when = [](const auto&) { return false; };
  std::vector<haven_sync_progress> seen;
  std::size_t cancelled_at = 0;  // 1-based call number of the cancel; 0: none
};

int log_progress(const haven_sync_progress* p, void* user_data) {
  auto& log = *static_cast<progress_log*>(user_data);
  log.seen.push_back(*p);
  if (log.cancelled_at || !log.cancel_when(*p)) return 0;
  log.cancelled_at = log.seen.size();
  return 1;
}

// haven_sync_observed of `d` with `server`, reporting to `log`: the summary
// JSON, or an empty object with `err` filled on failure.
boost::json::object sync_observed(c_device& d, const havend_process& server, progress_log& log,
                                  haven_error& err) {
  char* json = nullptr;
  if (!haven_sync_observed(d.db, server.sync_url().c_str(), nullptr, log_progress, &log, &json,
                           &err))
    return {};
  return object_of(take(json));
}

std::int64_t records_on(const havend_process& server) {
  const auto health = http_get(server.address(), "/healthz");
  REQUIRE(health.status == 200);
  return object_of(health.body).at("records").as_int64();
}

// Each count of every call is at least the one of the call before.
void check_growing(const std::vector<haven_sync_progress>& seen) {
  for (std::size_t i = 1; i < seen.size(); ++i) {
    INFO("call " << i + 1);
    CHECK(seen[i].batches_up >= seen[i - 1].batches_up);
    CHECK(seen[i].changes_up >= seen[i - 1].changes_up);
    CHECK(seen[i].batches_down >= seen[i - 1].batches_down);
    CHECK(seen[i].changes_down >= seen[i - 1].changes_down);
  }
}

void check_counts(const haven_sync_progress& p, const boost::json::object& summary) {
  CHECK(static_cast<std::int64_t>(p.batches_up) == summary.at("batches_up").as_int64());
  CHECK(static_cast<std::int64_t>(p.changes_up) == summary.at("changes_up").as_int64());
  CHECK(static_cast<std::int64_t>(p.batches_down) == summary.at("batches_down").as_int64());
  CHECK(static_cast<std::int64_t>(p.changes_down) == summary.at("changes_down").as_int64());
}

// havend taking at most `max_batch` records per push, and a tablet with `records` to push.
struct small_batches {
  temp_dir dir;
  havend_process server;
  c_device tablet;
  std::int64_t pending;  // the tablet's changes before it syncs

  small_batches(int max_batch, int records)
      : server(dir.file("central.db"), {"--max-batch-records", std::to_string(max_batch)}),
        tablet(dir, "tablet", records),
        pending(tablet.status().at("pending_changes").as_int64()) {}
};

}  // namespace

TEST_CASE("haven_sync_observed reports counts that grow batch by batch to the summary's",
          "[e2e][c_abi][sync]") {
  small_batches f(10, 45);
  auto& [dir, server, tablet, pending] = f;
  haven_error err{};

  progress_log up;
  const auto pushed = sync_observed(tablet, server, up, err);
  INFO(err.message);
  REQUIRE(err.code == HAVEN_OK);
  CHECK(pushed.at("batches_up").as_int64() == 5);  // 10 + 10 + 10 + 10 + 5 records
  CHECK(pushed.at("changes_up").as_int64() == pending);
  REQUIRE_FALSE(up.seen.empty());
  check_growing(up.seen);
  check_counts(up.seen.back(), pushed);
  // Every batch up was reported as it went.
  for (std::size_t batch = 1; batch <= 5; ++batch) {
    INFO("batch " << batch);
    CHECK(std::count_if(up.seen.begin(), up.seen.end(),
                        [&](const auto& p) { return p.batches_up == batch; }) > 0);
  }
  CHECK(records_on(server) == 45);

  // Another device pulls them, in batches of at most 10 records too, and is told so.
  c_device phone(dir, "phone", 0);
  progress_log down;
  const auto pulled = sync_observed(phone, server, down, err);
  INFO(err.message);
  REQUIRE(err.code == HAVEN_OK);
  REQUIRE_FALSE(down.seen.empty());
  check_growing(down.seen);
  check_counts(down.seen.back(), pulled);
  CHECK(pulled.at("batches_down").as_int64() == 5);
  CHECK(pulled.at("changes_down").as_int64() == pending);
  CHECK(phone.status().at("records").as_int64() == 45);
}

TEST_CASE(
    "a sync cancelled from its progress callback keeps what was acknowledged and the next sync "
    "sends the rest",
    "[e2e][c_abi][sync]") {
  small_batches f(5, 40);
  auto& [dir, server, tablet, pending] = f;
  haven_error err{};

  // The second batch is sent once the first is acknowledged: cancel then.
  progress_log log;
  log.cancel_when = [](const haven_sync_progress& p) { return p.batches_up == 2; };
  const auto cancelled = sync_observed(tablet, server, log, err);
  INFO(err.message);
  CHECK(cancelled.empty());
  CHECK(err.code == HAVEN_CANCELLED);
  CHECK_THAT(std::string(err.message), Catch::Contains("sync cancelled"));
  REQUIRE(log.cancelled_at > 0);
  CHECK(log.seen.size() == log.cancelled_at);  // not called again once it said stop

  // The first batch stays acknowledged; the others, the one in flight too, stay pending.
  const auto first_batch = std::find_if(log.seen.begin(), log.seen.end(),
                                        [](const auto& p) { return p.batches_up == 1; });
  REQUIRE(first_batch != log.seen.end());
  const auto after = tablet.status();
  CHECK(after.at("acked_seq").as_int64() > 0);
  CHECK(after.at("pending_changes").as_int64() ==
        pending - static_cast<std::int64_t>(first_batch->changes_up));
  const auto held = records_on(server);
  CHECK(held >= 5);
  CHECK(held <= 10);  // the batch in flight may have been committed

  // A later sync completes: nothing pending, every record on the server.
  char* json = nullptr;
  REQUIRE(haven_sync(tablet.db, server.sync_url().c_str(), nullptr, &json, &err));
  const auto resumed = object_of(take(json));
  CHECK(resumed.at("pending_changes").as_int64() == 0);
  CHECK(tablet.status().at("pending_changes").as_int64() == 0);
  CHECK(records_on(server) == 40);
  c_device phone(dir, "phone", 0);
  REQUIRE(haven_sync(phone.db, server.sync_url().c_str(), nullptr, &json, &err));
  haven_string_free(json);
  CHECK(phone.status().at("records").as_int64() == 40);
}

}  // namespace haven::test
