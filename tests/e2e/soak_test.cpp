// A soak, against a real havend with authentication on: honest devices of
// three teams record, edit, delete and sync through the real `haven` shell,
// while hostile clients from the same address (127.0.0.1) try bad enrollment
// codes and coordinator tokens, ask for pulls they never read, send frames
// over and at the size limit, and push records with free text in a code
// field, an unknown field, an out-of-range integer and a name for a
// pseudonym. Bounded in count (rounds, attempts) and in time (the hostile
// loops stop when the honest work is done, or at a deadline).
//
// Afterwards: each team's devices hold the same records; every tally equals
// the oracle over them; havend's RSS stayed within a bound over its filled
// baseline; the audit log holds a bounded number of rows that still account
// for every refusal; and nothing of a hostile push is kept anywhere: not in a
// tally, a device, the central store's files (audit log included) or the log.
#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <functional>
#include <haven/client/store.hpp>
#include <haven/sync/protocol.hpp>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../support/file_bytes.hpp"
#include "../support/raw_ws_client.hpp"
#include "fair_share.hpp"
#include "secured_fixture.hpp"
#include "sync_fixture.hpp"

namespace haven::test {
namespace {

using clock_type = std::chrono::steady_clock;

// Rounds per honest device. Under AddressSanitizer every program the test
// starts runs about 8 times slower (havend and ~5 `haven` runs per round).
#if defined(__SANITIZE_ADDRESS__)
constexpr int rounds = 4;
#else
constexpr int rounds = 20;
#endif
constexpr std::size_t fill_records = 1500;  // pushed before the soak, for the slow readers
constexpr int slow_readers = 2, slow_requests = 1000;
constexpr std::uint32_t cells_per_pull = 8000;        // the server's most per batch
constexpr int min_attempts = 40, max_attempts = 300;  // per hostile loop
constexpr auto deadline = std::chrono::seconds(45);   // the hostile loops stop by then
// Growth allowed over the filled baseline, with havend started so that RSS
// measures what it holds (with_measurable_rss). Each slow reader's queue
// stops at 4 frames or 4 MiB, a frame before hello is at most 16 KiB while it is read
// and decoded, and the honest sessions come and go: about 15 MB in all here
// (11-16 MB under ASan). With unbounded queues the two slow readers grew
// havend by 167-222 MB in this soak.
constexpr long rss_bound_kb = 64 * 1024;
// havend's defaults (havend --help): 5 failures from an address are free,
// then it backs off 1 s, doubling; the first 5 failures of a kind from an
// address in each minute get an audit row each, the rest one summary row.
constexpr int free_failures = 5, audited_per_minute = 5;

// What went wrong in a thread: Catch2 must not assert outside the test's own
// thread, so the workers note it here and the test reports it at the end.
class trouble {
 public:
  void note(std::string what) {
    std::lock_guard lock(mutex_);
    if (notes_.size() < 50) notes_.push_back(std::move(what));
    ++count_;
  }
  std::size_t count() const {
    std::lock_guard lock(mutex_);
    return count_;
  }
  std::string text() const {
    std::lock_guard lock(mutex_);
    std::string out;
    for (const auto& n : notes_) out += n + "\n";
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> notes_;  // guarded by mutex_
  std::size_t count_ = 0;           // guarded by mutex_
};

// What the hostile clients and the coordinator were answered; any other
// answer is trouble.
struct answers {
  std::atomic<int> code_401{0}, code_429{0};    // bad enrollment codes
  std::atomic<int> token_401{0}, token_429{0};  // bad coordinator tokens
  std::atomic<int> coordinator_200{0};          // the coordinator's own token
  std::atomic<int> oversized_closed{0};         // a frame over the limit: closed
  std::atomic<int> at_limit_refused{0};         // a frame at the limit: an error frame
};

// Runs a hostile loop: at least min_attempts, at most max_attempts, and no
// more once `stop` is set; 20 ms apart, so that two cores serve the honest
// devices too.
void attempts(const std::atomic<bool>& stop, const std::function<void(int)>& attempt) {
  for (int i = 0; i < max_attempts && (i < min_attempts || !stop); ++i) {
    attempt(i);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// The next message on a raw connection, or nullopt and a note.
std::optional<sync::message> next_message(raw_ws_client& ws, trouble& t, const std::string& what) {
  const auto reply = ws.read();
  if (reply.closed) {
    t.note(what + ": closed (" + reply.error + ")");
    return std::nullopt;
  }
  auto m = sync::decode(reply.frame);
  if (!m) {
    t.note(what + ": undecodable reply");
    return std::nullopt;
  }
  return std::move(m).value();
}

// A raw session of enrolled device `c`, past its welcome (nullptr and a note if not).
std::unique_ptr<raw_ws_client> joined(const std::string& address, const client::credentials& c,
                                      trouble& t) {
  try {
    auto ws = std::make_unique<raw_ws_client>(address);
    const std::string nonce = ws->read_challenge();
    if (const auto e = ws->send_binary(sync::encode(signed_hello(c, c.private_key, nonce)));
        !e.empty()) {
      t.note("hello: " + e);
      return nullptr;
    }
    const auto m = next_message(*ws, t, "hello");
    if (!m || !std::holds_alternative<sync::welcome>(*m)) {
      if (m) t.note("hello: no welcome");
      return nullptr;
    }
    return ws;
  } catch (const std::exception& e) {
    t.note(std::string("connect: ") + e.what());
    return nullptr;
  }
}

// A push that breaks one rule of the schema with a value that must never be
// kept; `marker` is a part of that value to look for afterwards.
struct hostile_push {
  std::string what;
  std::string marker;
  std::string says;  // in the refusal
  sync::push_batch batch;
  std::atomic<int> refused{0};
};

// `batch` with the first cell keyed `key` given `v` (or, if no cell has that
// key, a new one in the first record).
sync::push_batch with_cell(sync::push_batch batch, const std::string& key, value v) {
  for (auto& change : batch.changes)
    for (auto& c : change.cells)
      if (c.key == key) {
        c.val = std::move(v);
        return batch;
      }
  auto& first = batch.changes.front();
  first.cells.push_back({key, std::move(v), first.cells.front().at});
  return batch;
}

// The valid records the hostile pushes are made of, in the hostile device's
// own store: an individual PATS interview (site, person) and a workshop
// (participants), drawn from field_work like every honest record.
sync::push_batch valid_push(const std::string& db) {
  auto store = client::store::open(db).value();
  field_work work(99);
  std::set<std::string> wanted{"pats_session", "prevention_workshop"};
  const std::pair<std::string, std::string> individual{"format", "individual"};
  while (!wanted.empty()) {
    const auto r = work.new_record();
    if (!wanted.count(r.type)) continue;
    if (r.type == "pats_session" &&
        std::find(r.fields.begin(), r.fields.end(), individual) == r.fields.end())
      continue;
    REQUIRE(store->add(r).ok());
    wanted.erase(r.type);
  }
  const auto outbox = store->outbox().value();
  return sync::push_batch{outbox.last_seq, outbox.changes};
}

// The four hostile pushes, each refused whole: the valid record beside the
// bad one is not kept either.
std::vector<std::unique_ptr<hostile_push>> hostile_pushes(const sync::push_batch& valid) {
  std::vector<std::unique_ptr<hostile_push>> out;
  auto add = [&](std::string what, std::string marker, std::string says, sync::push_batch b) {
    out.push_back(std::make_unique<hostile_push>());
    out.back()->what = std::move(what);
    out.back()->marker = std::move(marker);
    out.back()->says = std::move(says);
    out.back()->batch = std::move(b);
  };
  add("free text in a code field", "FX123456", "site: must be one of",
      with_cell(valid, "site",
                std::string("Olena Kovalenko, born 1990-04-12, Kyiv, passport FX123456")));
  add("a field the schema does not have", "+386 40 123 456",
      "(unknown, 5 bytes): is not a field of",
      with_cell(valid, "notes", std::string("trafficker: +386 40 123 456")));
  add("an integer beyond the field's bounds", "38640123456", "participants: must be at most",
      with_cell(valid, "participants", std::int64_t{38640123456}));
  add("a name in a pseudonym field", "Ana Novak", "person: must be a person code",
      with_cell(valid, "person", std::string("Ana Novak")));
  return out;
}

// Bad enrollment codes, each a new one: 401 while the address has free
// failures, then 429.
void bad_codes(const std::string& address, const std::atomic<bool>& stop, answers& a, trouble& t) {
  std::mt19937 rng(1);
  attempts(stop, [&](int) {
    std::string code = "ZZZZ-ZZZZ-";
    for (int i = 0; i < 4; ++i) code += "ABCDEFGHJKMNPQRSTVWXYZ0123456789"[rng() % 32];
    const std::string body = boost::json::serialize(
        boost::json::object{{"code", code}, {"public_key", std::string(64, '1')}});
    const int status =
        http_send(address, "POST", "/api/enroll", body, {{"Content-Type", "application/json"}})
            .status;
    if (status == 401) return void(++a.code_401);
    if (status == 429) return void(++a.code_429);
    t.note("bad code: HTTP " + std::to_string(status));
  });
}

// Bad coordinator tokens, each a new one.
void bad_tokens(const std::string& address, const std::atomic<bool>& stop, answers& a, trouble& t) {
  std::mt19937 rng(2);
  attempts(stop, [&](int) {
    std::string token;
    for (int i = 0; i < 64; ++i) token += "0123456789abcdef"[rng() % 16];
    const int status =
        http_send(address, "GET", "/api/tallies", "", {{"Authorization", "Bearer " + token}})
            .status;
    if (status == 401) return void(++a.token_401);
    if (status == 429) return void(++a.token_429);
    t.note("bad token: HTTP " + std::to_string(status));
  });
}

// The coordinator reads a tally every 100 ms, from the same address as the
// bad tokens: a valid token is let in during the address's back-off.
void coordinator_reads(const std::string& address, const std::string& token,
                       const std::atomic<bool>& stop, answers& a, trouble& t) {
  const std::string path = "/api/tallies/" + schema::builtin()->tallies().front().id + "?year=2026";
  while (!stop) {
    const int status =
        http_send(address, "GET", path, "", {{"Authorization", "Bearer " + token}}).status;
    if (status == 200)
      ++a.coordinator_200;
    else
      t.note("coordinator: HTTP " + std::to_string(status));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// Frames, before any hello, one byte over havend's limit until a hello
// verifies (16 KiB: closed below the protocol) and exactly at it (read
// whole, then refused with an error frame).
void oversized_frames(const std::string& address, const std::atomic<bool>& stop, answers& a,
                      trouble& t) {
  constexpr std::size_t max_frame = 16 << 10;
  std::string at_limit = sync::encode(
      sync::hello{sync::protocol_version, "d0123456789abcdef", "outreach", 1, 1, 0, 0, {}});
  at_limit.resize(max_frame, '\0');
  const std::string over(max_frame + 1, '\x02');
  attempts(stop, [&](int i) {
    const bool over_limit = i % 2 == 0;
    try {
      raw_ws_client ws(address);
      ws.read_challenge();
      // Cut off midway when refused early (over the limit).
      const std::string sent = ws.send_binary(over_limit ? over : at_limit);
      const auto reply = ws.read();
      if (over_limit) {
        if (reply.closed && !reply.timed_out) return void(++a.oversized_closed);
        return t.note("a frame over the limit: " +
                      (reply.closed ? reply.error : std::string("answered")));
      }
      if (reply.closed)
        return t.note("a frame at the limit: closed (" + reply.error + "; sending: " + sent + ")");
      auto m = sync::decode(reply.frame);
      const auto* e = m ? std::get_if<sync::error_frame>(&m.value()) : nullptr;
      if (e && e->message.find("unexpected bytes after the message") != std::string::npos)
        return void(++a.at_limit_refused);
      t.note("a frame at the limit: not refused");
    } catch (const std::exception& e) {
      t.note(std::string("oversized frames: ") + e.what());
    }
  });
}

// The hostile pushes in turn, from the enrolled device `c`, a new session
// each (a refusal ends the session).
void invalid_pushes(const std::string& address, const client::credentials& c,
                    std::vector<std::unique_ptr<hostile_push>>& pushes,
                    const std::atomic<bool>& stop, trouble& t) {
  attempts(stop, [&](int i) {
    auto& p = *pushes[static_cast<std::size_t>(i) % pushes.size()];
    auto ws = joined(address, c, t);
    if (!ws) return;
    if (const auto e = ws->send_binary(sync::encode(p.batch)); !e.empty())
      return t.note(p.what + ": " + e);
    const auto m = next_message(*ws, t, p.what);
    const auto* e = m ? std::get_if<sync::error_frame>(&*m) : nullptr;
    if (e && e->code == static_cast<std::uint16_t>(errc::invalid_input) &&
        e->message.find(p.says) != std::string::npos && ws->read().closed)
      ++p.refused;
    else if (m)
      t.note(p.what + ": not refused as expected" + (e ? ": " + e->message : ""));
  });
}

// A field_work edit as `haven edit` arguments.
std::vector<std::string> edit_args(const std::string& id,
                                   const std::vector<client::field_edit>& edits) {
  using op = client::field_edit::op;
  std::vector<std::string> args{"edit", id};
  for (const auto& e : edits) {
    const char* sign = e.action == op::add ? "+=" : "=";
    if (e.action == op::remove) sign = "-=";
    args.push_back(e.field + sign + e.text);
  }
  return args;
}

// An honest device's rounds: two new records, sometimes an edit of a record
// of its team (its own or pulled), every fourth round a deletion of its own,
// a sync. Returns how many records it deleted.
int honest_rounds(const enrolled_device& d, unsigned seed, trouble& t) {
  field_work work(seed);
  std::vector<std::string> mine;
  int deleted = 0;
  auto must = [&](const std::vector<std::string>& args) {
    const run_result r = d.haven(args);
    if (r.exit_code != 0) t.note("haven " + args.front() + ": " + r.err);
    return r;
  };
  for (int round = 0; round < rounds; ++round) {
    for (int i = 0; i < 2; ++i) {
      const auto record = work.new_record();
      std::vector<std::string> args{"add", "--quiet", record.type};
      for (const auto& [key, text] : record.fields) args.push_back(key + "=" + text);
      const run_result added = must(args);
      if (added.exit_code == 0) mine.push_back(added.out.substr(0, 32));
    }
    if (work.pick(2) == 0) {
      std::vector<client::record> live;  // read, and the store closed again, before haven edits
      if (auto store = client::store::open(d.haven.db()); !store.ok())
        t.note("open: " + store.err().describe());
      else if (auto list = store.value()->list(); !list.ok())
        t.note("list: " + list.err().describe());
      else
        live = std::move(list).value();
      if (!live.empty()) {
        const auto& r = live[static_cast<std::size_t>(work.pick(static_cast<int>(live.size())))];
        must(edit_args(r.id.hex(), work.edit(r)));
      }
    }
    if (round % 4 == 3 && !mine.empty()) {
      deleted += must({"delete", mine.front()}).exit_code == 0;
      mine.erase(mine.begin());
    }
    must({"sync"});
  }
  return deleted;
}

// The RSS of process `pid`, sampled every 100 ms until stop(): the highest seen.
class rss_peak {
 public:
  explicit rss_peak(int pid)
      : peak_kb_(rss_kb(pid)), sampler_([this, pid] {
          while (!done_) {
            peak_kb_ = std::max(peak_kb_.load(), rss_kb(pid));
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
          }
        }) {}
  ~rss_peak() { stop(); }
  long stop() {
    done_ = true;
    if (sampler_.joinable()) sampler_.join();
    return peak_kb_;
  }

 private:
  std::atomic<bool> done_{false};
  std::atomic<long> peak_kb_;
  std::thread sampler_;
};

// The audit log's rows (`havend audit`), each as its event and whole line.
std::vector<std::pair<std::string, std::string>> audit_log_rows(const secured_server& s) {
  const auto audit = s.havend({"audit", "--limit", "1000000"});
  REQUIRE(audit.exit_code == 0);
  std::vector<std::pair<std::string, std::string>> rows;
  std::istringstream lines(audit.out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string at, event;
    words >> at >> event;
    rows.emplace_back(event, line);
  }
  return rows;
}

// The count in a summary row: "… N more EVENT from this address …".
std::uint64_t suppressed_count(const std::string& line, const std::string& event) {
  const auto at = line.find(" more " + event);
  if (at == std::string::npos) return 0;
  const auto start = line.rfind(' ', at - 1) + 1;
  return std::stoull(line.substr(start, at - start));
}

}  // namespace

TEST_CASE(
    "soak: honest devices of three teams converge while hostile clients from their address are "
    "refused, with havend's memory and audit log bounded",
    "[e2e][soak]") {
  const auto test_started = clock_type::now();
  secured_server s = with_measurable_rss([] { return secured_server{}; });
  const std::string address = s.server.address();

  // Honest devices: three of team outreach (the first fills it), two each of
  // shelter and prevention. Hostile ones, enrolled in outreach: tablets in
  // hostile hands, which sign their hellos as a device does.
  const std::vector<std::string> teams{"outreach", "outreach",   "outreach",  "shelter",
                                       "shelter",  "prevention", "prevention"};
  std::vector<std::unique_ptr<enrolled_device>> honest, hostile;
  for (const auto& team : teams) {
    honest.push_back(std::make_unique<enrolled_device>());
    s.enroll(*honest.back(), team);
  }
  for (int i = 0; i < slow_readers + 1; ++i) {
    hostile.push_back(std::make_unique<enrolled_device>());
    s.enroll(*hostile.back(), "outreach");
  }
  const std::size_t enrolled = honest.size() + hostile.size();
  const std::string token = coordinator_token(s.db);
  {  // The first device fills team outreach, for the slow readers to ask for.
    auto store = client::store::open(honest.front()->haven.db()).value();
    field_work work(7, 400);
    std::vector<client::record_input> inputs;
    for (std::size_t i = 0; i < fill_records; ++i) inputs.push_back(work.new_record());
    REQUIRE(store->add_all(inputs).ok());
  }
  for (const auto& d : honest) REQUIRE(d->sync().exit_code == 0);
  const long baseline_kb = rss_kb(s.server.pid());
  const auto sent_before = metric(address, "haven_changes_sent_total");
  const client::credentials pusher = hostile.back()->credentials();
  const sync::push_batch valid = valid_push(hostile.back()->haven.db());
  auto pushes = hostile_pushes(valid);

  // The soak. The slow readers first: thousands of pull requests, none read
  // until the end.
  const auto soak_started = clock_type::now();
  rss_peak peak(s.server.pid());
  trouble problems;
  std::vector<std::unique_ptr<raw_ws_client>> readers;
  for (int i = 0; i < slow_readers; ++i) {
    readers.push_back(
        joined(address, hostile[static_cast<std::size_t>(i)]->credentials(), problems));
    REQUIRE(readers.back() != nullptr);
    const std::string pull = sync::encode(sync::pull_request{0, cells_per_pull});
    for (int r = 0; r < slow_requests; ++r) REQUIRE(readers.back()->send_binary(pull) == "");
  }
  answers seen;
  std::atomic<bool> stop{false};
  std::vector<std::thread> hostile_threads;
  hostile_threads.emplace_back([&] { bad_codes(address, stop, seen, problems); });
  hostile_threads.emplace_back([&] { bad_tokens(address, stop, seen, problems); });
  hostile_threads.emplace_back([&] { coordinator_reads(address, token, stop, seen, problems); });
  hostile_threads.emplace_back([&] { oversized_frames(address, stop, seen, problems); });
  hostile_threads.emplace_back([&] { invalid_pushes(address, pusher, pushes, stop, problems); });
  std::thread watchdog([&] {
    while (!stop && clock_type::now() - soak_started < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    stop = true;
  });
  std::vector<int> deletions(honest.size());
  std::vector<std::thread> honest_threads;
  for (std::size_t i = 0; i < honest.size(); ++i)
    honest_threads.emplace_back([&, i] {
      deletions[i] = honest_rounds(*honest[i], 100 + static_cast<unsigned>(i), problems);
    });
  for (auto& t : honest_threads) t.join();
  stop = true;
  watchdog.join();
  for (auto& t : hostile_threads) t.join();

  // Every device syncs twice over, so that all have everything.
  for (int round = 0; round < 2; ++round)
    for (const auto& d : honest) {
      const auto r = d->sync();
      INFO(r.err);
      REQUIRE(r.exit_code == 0);
    }
  // The slow readers' requests were held, not dropped: answers come once they read.
  for (auto& reader : readers)
    for (int i = 0; i < 3; ++i) {
      const auto reply = reader->read(std::chrono::seconds(30));
      REQUIRE_FALSE(reply.closed);
      auto batch = sync::decode(reply.frame);
      REQUIRE(batch.ok());
      CHECK(std::holds_alternative<sync::change_batch>(batch.value()));
    }
  const auto sent = metric(address, "haven_changes_sent_total") - sent_before;
  const long peak_kb = peak.stop();

  INFO("RSS filled " << baseline_kb << " kB, peak " << peak_kb << " kB; cells sent " << sent);
  INFO("bad codes 401/429: " << seen.code_401 << "/" << seen.code_429
                             << ", bad tokens 401/429: " << seen.token_401 << "/" << seen.token_429
                             << ", coordinator 200: " << seen.coordinator_200
                             << ", frames over/at the limit refused: " << seen.oversized_closed
                             << "/" << seen.at_limit_refused);
  INFO("trouble (" << problems.count() << "):\n" << problems.text());
  CHECK(problems.count() == 0);  // every answer was as expected, every honest command succeeded

  // The faults happened. Bad codes and tokens count against the one address
  // together: its free failures went to either, then both were answered 429.
  CHECK(seen.code_401 + seen.token_401 >= free_failures);
  CHECK(seen.code_401 + seen.code_429 >= min_attempts);
  CHECK(seen.token_401 + seen.token_429 >= min_attempts);
  CHECK(seen.code_429 >= 1);
  CHECK(seen.token_429 >= 1);
  CHECK(seen.coordinator_200 >= 1);
  CHECK(seen.oversized_closed >= min_attempts / 2);
  CHECK(seen.at_limit_refused >= min_attempts / 2);
  int refused_pushes = 0;
  for (const auto& p : pushes) {
    INFO(p->what);
    CHECK(p->refused >= min_attempts / static_cast<int>(pushes.size()));
    refused_pushes += p->refused;
  }
  // Far fewer cells left havend than the slow readers asked for: it stopped
  // reading their requests once their queues were full.
  CHECK(sent < std::uint64_t{slow_readers} * slow_requests * cells_per_pull / 2);
  CHECK(peak_kb - baseline_kb < rss_bound_kb);

  // Each team's devices hold the same records, with nothing pending.
  std::map<std::string, std::string> team_records;
  std::vector<oracle_record> merged;
  std::set<std::string> ids;
  std::string held;  // every device's records, as JSON
  for (std::size_t i = 0; i < honest.size(); ++i) {
    auto store = client::store::open(honest[i]->haven.db()).value();
    const std::string mine = records_json(*store);
    held += mine;
    CHECK(store->status().value().pending_cells == 0);
    const auto [first, inserted] = team_records.emplace(teams[i], mine);
    INFO("device " << i << " of team " << teams[i]);
    CHECK(mine == first->second);
    if (!inserted) continue;
    for (auto& r : oracle_records(*store)) {
      ids.insert(r.id);
      merged.push_back(std::move(r));
    }
  }
  // havend holds the honest records and no other (list() leaves out deleted
  // ones, /healthz counts them), and every tally equals the oracle over them.
  CHECK(s.records() == ids.size() + std::accumulate(deletions.begin(), deletions.end(), 0u));
  check_served_tallies(address, merged, {2025, 2026}, token);

  // Nothing of a hostile push was kept: none of its records, none of its
  // values in a tally, a device, the central store's files or havend's log.
  for (const auto& change : valid.changes) CHECK(ids.count(change.id.hex()) == 0);
  std::string served;
  for (const auto& t : schema::builtin()->tallies())
    for (int year : {2025, 2026})
      served += http_send(address, "GET", "/api/tallies/" + t.id + "?year=" + std::to_string(year),
                          "", {{"Authorization", "Bearer " + token}})
                    .body;
  const double seconds = std::chrono::duration<double>(clock_type::now() - soak_started).count();
  REQUIRE(s.server.stop() == 0);  // the counts of held-back audit rows are written at shutdown
  for (const auto& p : pushes) {
    INFO(p->what << ": " << p->marker);
    CHECK(served.find(p->marker) == std::string::npos);
    CHECK(held.find(p->marker) == std::string::npos);
    CHECK_FALSE(store_files_contain(s.db, p->marker));
    CHECK(file_bytes(s.server.log_file()).find(p->marker) == std::string::npos);
  }

  // The audit log is bounded, yet accounts for every refusal, by a row of
  // its own or in a summary row's count. Everything came from one address,
  // over `minutes` minutes (begun) of the rate limit:
  //   code_issued and enrolled: one per enrolled device; token_issued: one;
  //   token_refused, push_refused, login_failed: at most 5 rows and a
  //     summary row per minute each;
  //   enrollment_refused: not rate-limited, but no code is checked while the
  //     address is backed off: after the 5 free failures the k-th more
  //     waits 2^(k-1) s, so at most 5 + log2(seconds + 1) in all.
  const auto minutes = static_cast<std::uint64_t>(seconds / 60) + 1;
  const auto enrollment_bound =
      static_cast<std::uint64_t>(free_failures + std::floor(std::log2(seconds + 1)));
  const std::uint64_t bound =
      2 * enrolled + 1 + enrollment_bound + 3 * (audited_per_minute + 1) * minutes;
  std::map<std::string, std::uint64_t> rows, summaries, counted;
  const auto audit = audit_log_rows(s);
  for (const auto& [event, line] : audit) {
    ++rows[event];
    if (line.find("(suppressed)") == std::string::npos) continue;
    ++summaries[event];
    counted[event] += suppressed_count(line, event);
  }
  std::string by_event;
  for (const auto& [event, n] : rows) by_event += event + ": " + std::to_string(n) + "\n";
  INFO("audit rows over " << seconds << " s (" << audit.size() << " in all):\n" << by_event);
  CHECK(rows["code_issued"] == enrolled);
  CHECK(rows["enrolled"] == enrolled);
  CHECK(rows["token_issued"] == 1);
  CHECK(rows["enrollment_refused"] == static_cast<std::uint64_t>(seen.code_401));
  CHECK(rows["enrollment_refused"] <= enrollment_bound);
  for (const std::string event : {"token_refused", "push_refused", "login_failed"}) {
    INFO(event);
    CHECK(rows[event] - summaries[event] <= audited_per_minute * minutes);
    CHECK(summaries[event] <= minutes);
  }
  CHECK(rows["token_refused"] - summaries["token_refused"] + counted["token_refused"] ==
        static_cast<std::uint64_t>(seen.token_401 + seen.token_429));
  CHECK(rows["push_refused"] - summaries["push_refused"] + counted["push_refused"] ==
        static_cast<std::uint64_t>(refused_pushes));
  CHECK(audit.size() <= bound);

  std::cout << "soak: " << seconds << " s (whole test "
            << std::chrono::duration<double>(clock_type::now() - test_started).count()
            << " s); havend RSS filled " << baseline_kb << " kB, peak +" << peak_kb - baseline_kb
            << " kB (bound " << rss_bound_kb << "); audit " << audit.size() << " rows (bound "
            << bound << ") for " << refused_pushes << " refused pushes, "
            << seen.token_401 + seen.token_429 << " bad tokens, " << seen.code_401 + seen.code_429
            << " bad codes\n";
}

}  // namespace haven::test
