// The C ABI called from C++ and checked through the C++ API: haven_record_add
// from fields JSON; enrollment (against a stand-in server on 127.0.0.1), the
// status of an enrolled and a wiped store, person codes, the sync summary;
// a sync cancelled from its progress callback while a silent listener on
// 127.0.0.1 never answers (tests/e2e/c_abi_sync_test.cpp syncs with havend).

#include <arpa/inet.h>
#include <haven/client/haven.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <cstring>
#include <haven/client/pseudonym.hpp>
#include <haven/client/record_json.hpp>
#include <haven/crypto/crypto.hpp>
#include <string>
#include <vector>

#include "../support/fake_http_server.hpp"
#include "scratch_store.hpp"

using namespace haven::test;

namespace {

// A new store in its own temporary directory, made through the C ABI; closed by the destructor.
struct c_store {
  temp_dir dir;
  haven_store* db = nullptr;

  explicit c_store(const char* team) {
    haven_error err{};
    const std::string path = dir.file("c.db").string();
    REQUIRE(haven_store_create(path.c_str(), team, &db, &err));
  }
  ~c_store() { haven_store_close(db); }
};

}  // namespace

TEST_CASE("c_api: haven_record_add adds a record from fields JSON", "[client][c_api]") {
  c_store store("team-a");
  haven_store* db = store.db;
  haven_error err{};

  char id[33] = "";
  const bool ok = haven_record_add(
      db, "on_call_event", nullptr,
      R"({"date": "2026-03-01", "caller": "police", "outcome": "admitted"})", id, &err);
  INFO(err.message);
  CHECK(ok);
  CHECK(std::strlen(id) == 32);
  // A bad field is named, not "missing type".
  CHECK_FALSE(haven_record_add(db, "on_call_event", nullptr, R"({"caller": "ghost"})", id, &err));
  CHECK(err.code == HAVEN_INVALID_INPUT);
  CHECK_THAT(std::string(err.message), Catch::Contains("caller"));
}

// --- enrollment, status, person codes and sync through the C ABI -----------------------

namespace {

// A store enrolled through the C++ API with made-up credentials, and a C handle on its file.
struct enrolled_c_store {
  scratch_store cpp{"placeholder"};
  haven::client::credentials device{"wss://haven.example.org:8443/sync",
                                    "dev-c0ffee",
                                    "outreach",
                                    "worker",
                                    haven::crypto::generate_signing_key().private_key,
                                    haven::crypto::random_bytes(32),
                                    ""};
  haven_store* db = nullptr;

  enrolled_c_store() {
    must(cpp->enroll(device));
    haven_error err{};
    const std::string path = cpp.file().string();
    REQUIRE(haven_store_open(path.c_str(), &db, &err));
  }
  ~enrolled_c_store() { haven_store_close(db); }
};

// The string a C ABI call returned through char**, freed.
std::string take(char* s) {
  std::string out = s ? s : "";
  haven_string_free(s);
  return out;
}

std::string status_of(haven_store* db) {
  haven_error err{};
  char* json = nullptr;
  REQUIRE(haven_store_status(db, &json, &err));
  return take(json);
}

boost::json::object object_of(const std::string& json) {
  return boost::json::parse(json).as_object();
}

std::string person_code_of(haven_store* db, const char* given, const char* family,
                           const char* birth, const char* country, haven_error& err) {
  char* code = nullptr;
  if (!haven_person_code(db, given, family, birth, country, &code, &err)) return {};
  return take(code);
}

}  // namespace

TEST_CASE("c_api: a person code is the C++ library's under the enrolled key", "[client][c_api]") {
  enrolled_c_store s;
  haven_error err{};
  const std::string code = person_code_of(s.db, "Olena", "Kovalenko", "1990-04-12", "UA", err);
  INFO(err.message);
  REQUIRE(err.code == HAVEN_OK);
  const auto expected = haven::client::person_code(s.device.pseudonym_key,
                                                   {"Olena", "Kovalenko", "1990-04-12", "UA"});
  REQUIRE(expected.ok());
  CHECK(code == expected.value());
  CHECK(code.rfind("P-", 0) == 0);
  // The same person typed differently; another person.
  CHECK(person_code_of(s.db, " OLENA ", "kovalénko", "1990-04-12", "ua", err) == code);
  CHECK(person_code_of(s.db, "Olena", "Kovalenko", "1990-04-13", "UA", err) != code);

  CHECK(person_code_of(s.db, "Olena", "Kovalenko", "12.4.1990", "UA", err).empty());
  CHECK(err.code == HAVEN_INVALID_INPUT);
  CHECK_THAT(std::string(err.message), Catch::Contains("birth date"));
  CHECK(person_code_of(s.db, "Olena", "", "1990-04-12", "UA", err).empty());
  CHECK(err.code == HAVEN_INVALID_INPUT);
  CHECK_THAT(std::string(err.message), Catch::Contains("family name"));
  CHECK(person_code_of(s.db, "Olena", "Kovalenko", "1990-04-12", "Ukraine", err).empty());
  CHECK(err.code == HAVEN_INVALID_INPUT);
  CHECK_THAT(std::string(haven_last_error()), Catch::Contains("nationality"));
}

TEST_CASE("c_api: status shows the device id, then the wipe mark and no keys after a wipe",
          "[client][c_api]") {
  enrolled_c_store s;
  const auto enrolled = object_of(status_of(s.db));
  CHECK(enrolled.at("device_id").as_string() == "dev-c0ffee");
  CHECK(enrolled.at("default_team").as_string() == "outreach");
  CHECK(enrolled.at("wiped").is_null());

  must(s.cpp->wipe(haven::sync::standing::retired, 1'772'323'200'000));
  const auto wiped = object_of(status_of(s.db));
  CHECK(wiped.at("device_id").is_null());
  REQUIRE(wiped.at("wiped").is_object());
  CHECK(wiped.at("wiped").at("reason").as_string() == "retired");
  CHECK(wiped.at("wiped").at("at_ms").as_int64() == 1'772'323'200'000);

  haven_error err{};
  CHECK(person_code_of(s.db, "Olena", "Kovalenko", "1990-04-12", "UA", err).empty());
  CHECK(err.code == HAVEN_NOT_FOUND);
  CHECK_THAT(std::string(err.message), Catch::Contains("enroll it first"));
  // A wiped store neither syncs (no connection is tried) nor takes records.
  char* json = nullptr;
  CHECK_FALSE(haven_sync(s.db, "ws://127.0.0.1:9/sync", nullptr, &json, &err));
  CHECK(err.code == HAVEN_UNAUTHORIZED);
  CHECK_THAT(std::string(err.message), Catch::Contains("erased because the device was retired"));
  CHECK(json == nullptr);
  char id[33] = "";
  CHECK_FALSE(haven_record_add(
      s.db, "on_call_event", nullptr,
      R"({"date": "2026-03-01", "caller": "police", "outcome": "admitted"})", id, &err));
  CHECK(err.code == HAVEN_UNAUTHORIZED);
}

TEST_CASE("c_api: haven_enroll keeps the enrollment and returns it without keys",
          "[client][c_api]") {
  c_store store("unenrolled");
  haven_store* db = store.db;
  haven_error err{};
  const std::string key_hex(64, 'b');
  char* json = nullptr;

  SECTION("a worker") {
    fake_http_server server(200,
                            R"({"device_id": "dev-7f3a", "team": "outreach", "role": "worker",)"
                            R"( "pseudonym_key": ")" +
                                key_hex + R"("})");
    const std::string url = "http://" + server.address();
    const bool ok = haven_enroll(db, url.c_str(), "K7-Q2M-19", nullptr, &json, &err);
    INFO(err.message);
    REQUIRE(ok);
    const std::string out = take(json);
    const auto o = object_of(out);
    CHECK(o.at("device_id").as_string() == "dev-7f3a");
    CHECK(o.at("team").as_string() == "outreach");
    CHECK(o.at("role").as_string() == "worker");
    CHECK(o.at("server_url").as_string() == "ws://" + server.address() + "/sync");
    CHECK_FALSE(o.contains("token"));
    CHECK(out.find(key_hex) == std::string::npos);
    CHECK(object_of(server.last_body()).at("code").as_string() == "K7-Q2M-19");

    const auto status = object_of(status_of(db));
    CHECK(status.at("device_id").as_string() == "dev-7f3a");
    CHECK(status.at("default_team").as_string() == "outreach");
    // The key the server gave is the one person codes use.
    const auto expected = haven::client::person_code(std::string(32, '\xbb'),
                                                     {"Olena", "Kovalenko", "1990-04-12", "UA"});
    CHECK(person_code_of(db, "Olena", "Kovalenko", "1990-04-12", "UA", err) == expected.value());

    CHECK_FALSE(haven_enroll(db, url.c_str(), "K7-Q2M-20", nullptr, &json, &err));
    CHECK(err.code == HAVEN_ALREADY_EXISTS);
  }
  SECTION("a coordinator gets its token once") {
    fake_http_server server(
        200, R"({"device_id": "dev-c00d", "team": "national", "role": "coordinator",)"
             R"( "token": "tok-123456", "pseudonym_key": ")" +
                 key_hex + R"("})");
    const std::string url = "ws://" + server.address();
    REQUIRE(haven_enroll(db, url.c_str(), "C0-ORD", nullptr, &json, &err));
    CHECK(object_of(take(json)).at("token").as_string() == "tok-123456");
    CHECK(status_of(db).find("tok-123456") == std::string::npos);
  }
  SECTION("a refused code: the server's message, nothing kept") {
    const std::string before = status_of(db);
    fake_http_server server(401, R"({"error": "unknown or expired enrollment code"})");
    const std::string url = "http://" + server.address();
    CHECK_FALSE(haven_enroll(db, url.c_str(), "NOPE", nullptr, &json, &err));
    CHECK(err.code == HAVEN_UNAUTHORIZED);
    CHECK_THAT(std::string(err.message), Catch::Contains("unknown or expired enrollment code"));
    CHECK(json == nullptr);
    CHECK(status_of(db) == before);
  }
}

TEST_CASE("c_api: the sync summary JSON says whether the store was wiped", "[client][c_api]") {
  haven::client::sync_summary summary;
  summary.progress = {1, 2, 3, 4};
  summary.pending_after = 0;
  summary.pulled_seq = 17;
  auto o = object_of(haven::client::to_json(summary));
  CHECK(o.at("batches_up").as_int64() == 1);
  CHECK(o.at("batches_down").as_int64() == 2);
  CHECK(o.at("changes_up").as_int64() == 3);
  CHECK(o.at("changes_down").as_int64() == 4);
  CHECK(o.at("pending_changes").as_int64() == 0);
  CHECK(o.at("pulled_seq").as_int64() == 17);
  CHECK(o.at("wiped").is_null());

  summary.wiped = haven::client::wipe_mark{haven::sync::standing::revoked, 1'772'323'200'000};
  o = object_of(haven::client::to_json(summary));
  CHECK(o.at("wiped").at("reason").as_string() == "revoked");
  CHECK(o.at("wiped").at("at_ms").as_int64() == 1'772'323'200'000);
}

// --- cancelling a sync through haven_sync_observed's callback ------------------------------

namespace {

// A TCP listener on 127.0.0.1 that never accepts, so it never speaks: a
// connection to it completes in the kernel and then waits for an answer.
// With `full`, its one-place accept queue is taken first, so that a
// connection attempt gets no answer at all and waits in connect().
class silent_listener {
 public:
  explicit silent_listener(bool full) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(listener_ >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(listener_, 0) == 0);
    socklen_t size = sizeof address;
    REQUIRE(::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size) == 0);
    port_ = ntohs(address.sin_port);
    if (!full) return;
    // Non-blocking, and given a second to land: if the queue had no place
    // even for it, a connection attempt waits all the same.
    filler_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    REQUIRE(filler_ >= 0);
    ::connect(filler_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    pollfd connected{filler_, POLLOUT, 0};
    ::poll(&connected, 1, 1000);
  }
  ~silent_listener() {
    if (filler_ >= 0) ::close(filler_);
    ::close(listener_);
  }
  silent_listener(const silent_listener&) = delete;
  silent_listener& operator=(const silent_listener&) = delete;

  std::string sync_url() const { return "ws://127.0.0.1:" + std::to_string(port_) + "/sync"; }

 private:
  int listener_ = -1;
  int filler_ = -1;
  int port_ = 0;
};

// What a progress callback saw; it cancels on its `cancel_at`-th call.
struct progress_log {
  int cancel_at = 0;
  std::vector<haven_sync_progress> seen;
};

int log_progress(const haven_sync_progress* p, void* user_data) {
  auto& log = *static_cast<progress_log*>(user_data);
  log.seen.push_back(*p);
  return static_cast<int>(log.seen.size()) == log.cancel_at ? 1 : 0;
}

}  // namespace

TEST_CASE("c_api: a sync cancelled while the server never answers ends with HAVEN_CANCELLED",
          "[client][c_api]") {
  c_store store("team-a");
  char id[33] = "";
  haven_error err{};
  REQUIRE(haven_record_add(store.db, "on_call_event", nullptr,
                           R"({"date": "2026-03-01", "caller": "police", "outcome": "admitted"})",
                           id, &err));
  const std::string before = status_of(store.db);

  // No timeout is near: connecting may take 10 s, the WebSocket handshake 10 s more.
  const bool full = GENERATE(true, false);
  INFO((full ? "connecting to a full accept queue" : "waiting for a server that never speaks"));
  silent_listener server(full);
  progress_log log{3, {}};
  char* json = nullptr;
  const bool ok = haven_sync_observed(store.db, server.sync_url().c_str(), nullptr, log_progress,
                                      &log, &json, &err);
  INFO(err.message);
  CHECK_FALSE(ok);
  CHECK(json == nullptr);
  CHECK(err.code == HAVEN_CANCELLED);
  CHECK_THAT(std::string(err.message),
             Catch::Contains("sync cancelled") && Catch::Contains("pending"));
  CHECK(log.seen.size() == 3);  // asked while waiting, and not again once it said stop
  for (const auto& p : log.seen)
    CHECK(p.batches_up + p.changes_up + p.batches_down + p.changes_down == 0);
  CHECK(status_of(store.db) == before);
}
