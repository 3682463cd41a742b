// Convergence of SQLite stores: several devices record, edit and delete
// offline with their own clocks, while a relay playing the server moves
// their outboxes around in random order, duplicated, lost and retried, and
// acknowledges pushes only sometimes. Once everything is exchanged, every
// store must show the same records, and exactly what the reference merge
// (sync::memory_replica fed every change any store sent) computes.

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <haven/client/record_json.hpp>
#include <haven/client/store.hpp>
#include <haven/sync/merge.hpp>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "../support/dice.hpp"
#include "scratch_store.hpp"

using namespace haven;
using namespace haven::test;

namespace {

const date first_day = *parse_date("2026-01-01");

std::string day(std::int64_t offset) {
  return to_string(date{static_cast<std::int32_t>(first_day.days + offset)});
}

// A few of the field's codes, comma-separated (possibly none).
std::string some_codes(dice& d, const field_def& f, std::size_t at_least = 0) {
  std::string out;
  std::size_t n = 0;
  for (const auto& c : f.codes)
    if (d.chance(0.25)) out += (n++ ? "," : "") + c;
  if (n < at_least) out = d.pick(f.codes);
  return out;
}

std::string pseudonym(dice& d) {
  std::string p = "P-";
  for (int i = 0; i < 7; ++i) p += crockford_base32[d.below(32)];
  return with_check_symbol(p);
}

// A valid new record of a random type.
record_input random_record(dice& d, const schema& s) {
  const auto codes = [&](const char* type, const char* field) -> const field_def& {
    return *s.type(type)->field(field);
  };
  auto code = [&](const char* type, const char* field) { return d.pick(codes(type, field).codes); };
  record_input in;
  in.team = d.chance(0.15) ? "team-b" : "";
  auto maybe = [&](const char* key, std::string text) {
    if (d.chance(0.6)) in.fields.emplace_back(key, std::move(text));
  };
  switch (d.below(5)) {
    case 0:
    case 1: {
      const bool individual = d.chance(0.5);
      in.type = "pats_session";
      in.fields = {{"date", day(d.between(0, 300))},
                   {"site", code("pats_session", "site")},
                   {"format", individual ? "individual" : "group"}};
      if (individual)
        in.fields.emplace_back("person", pseudonym(d));
      else
        in.fields.emplace_back("participants", std::to_string(d.between(2, 60)));
      maybe("sex", code("pats_session", "sex"));
      maybe("age_band", code("pats_session", "age_band"));
      maybe("nationality", code("pats_session", "nationality"));
      maybe("status", code("pats_session", "status"));
      maybe("topics", some_codes(d, codes("pats_session", "topics")));
      maybe("referral", code("pats_session", "referral"));
      break;
    }
    case 2: {
      const std::int64_t admitted = d.between(0, 300);
      in.type = "assistance_case";
      in.fields = {{"programme", code("assistance_case", "programme")},
                   {"person", pseudonym(d)},
                   {"sex", code("assistance_case", "sex")},
                   {"nationality", code("assistance_case", "nationality")},
                   {"admitted", day(admitted)}};
      maybe("discharged", day(admitted + d.between(0, 29)));
      maybe("age_band", code("assistance_case", "age_band"));
      maybe("services", some_codes(d, codes("assistance_case", "services"), 1));
      maybe("exploitation", some_codes(d, codes("assistance_case", "exploitation")));
      maybe("referred_by", code("assistance_case", "referred_by"));
      break;
    }
    case 3:
      in.type = "on_call_event";
      in.fields = {{"date", day(d.between(0, 300))},
                   {"caller", code("on_call_event", "caller")},
                   {"outcome", code("on_call_event", "outcome")}};
      maybe("response_minutes", std::to_string(d.between(0, 240)));
      break;
    default:
      in.type = "prevention_workshop";
      in.fields = {{"date", day(d.between(0, 300))},
                   {"audience", code("prevention_workshop", "audience")},
                   {"region", code("prevention_workshop", "region")},
                   {"participants", std::to_string(d.between(1, 120))}};
      maybe("teachers", std::to_string(d.between(0, 6)));
  }
  return in;
}

// One to three edits that keep the record valid whatever other devices do
// to it concurrently: the fields the rules tie together (format, person,
// programme, admitted) are left alone, participants of an individual
// interview too, and a discharge stays within 29 days of the admission.
std::vector<field_edit> random_edits(dice& d, const record& r, const record_type& t) {
  std::vector<const field_def*> editable;
  for (const auto& f : t.fields) {
    if (f.key == "format" || f.key == "person" || f.key == "programme" || f.key == "admitted")
      continue;
    if (f.key == "participants" && r.type == "pats_session" && text_of(r, "format") != "group")
      continue;
    if (f.key == "discharged" && !r.fields.count("admitted")) continue;  // not all arrived yet
    editable.push_back(&f);
  }
  std::vector<field_edit> edits;
  const std::size_t n = 1 + d.below(3);
  for (std::size_t i = 0; i < n; ++i) {
    const field_def& f = *d.pick(editable);
    const bool clear = !f.required && d.chance(0.15);
    switch (f.kind) {
      case field_kind::code_set:
        switch (d.below(3)) {
          case 0:
            edits.push_back(add_elements(f.key, some_codes(d, f, 1)));
            break;
          case 1:
            edits.push_back(remove_elements(f.key, some_codes(d, f, 1)));
            break;
          default:
            edits.push_back(set_field(f.key, some_codes(d, f)));
        }
        break;
      case field_kind::integer:
        edits.push_back(set_field(
            f.key,
            clear ? "" : std::to_string(d.between(f.min.value_or(0), f.min.value_or(0) + 80))));
        break;
      case field_kind::date:
        if (f.key == "discharged") {
          const auto admitted = std::get<date>(r.fields.at("admitted"));
          edits.push_back(set_field(
              f.key, clear ? "" : day(admitted.days - first_day.days + d.between(0, 29))));
        } else {
          edits.push_back(set_field(f.key, day(d.between(0, 300))));
        }
        break;
      default:
        edits.push_back(set_field(f.key, clear ? "" : d.pick(f.codes)));
    }
  }
  return edits;
}

struct device {
  std::unique_ptr<store> db;
  std::uint64_t pulled = 0;
};

// The server's part, played in the test: it carries outboxes to the other
// devices and records every change any device sent in the oracle.
class relay {
 public:
  relay(dice& d, std::vector<device>& devices) : d_(d), devices_(devices) {}

  // Takes a push from one device: a random part of its outbox, perhaps lost,
  // perhaps delivered twice, acknowledged only sometimes.
  void push(std::size_t from) {
    const auto batch = must(devices_[from].db->outbox(1 + d_.below(25)));
    if (batch.cells == 0) return;
    for (const auto& c : batch.changes) oracle_.apply(c);
    ++pushes_;
    if (d_.chance(0.1)) return;  // lost on the way: not delivered, not acknowledged
    for (std::size_t to = 0; to < devices_.size(); ++to) {
      if (to == from) continue;
      in_flight_.push_back({to, batch.changes});
      if (d_.chance(0.15)) in_flight_.push_back({to, batch.changes});
    }
    if (d_.chance(0.6)) must(devices_[from].db->acknowledge(batch.last_seq));
  }

  // Delivers to one device, in one pull batch, a random part of what is in
  // flight for it, in random order. A pull may be lost (retried later), and
  // a delivered batch is sometimes kept to be delivered again.
  void deliver_some() {
    if (in_flight_.empty()) return;
    const std::size_t to = in_flight_[d_.below(in_flight_.size())].to;
    if (d_.chance(0.1)) return;  // lost; everything stays in flight
    std::vector<std::size_t> chosen;
    for (std::size_t i = 0; i < in_flight_.size(); ++i)
      if (in_flight_[i].to == to && (chosen.empty() || d_.chance(0.6))) chosen.push_back(i);
    std::vector<record_change> pull;
    for (std::size_t k = 0; k < chosen.size(); ++k) {
      const std::size_t j = k + d_.below(chosen.size() - k);
      std::swap(chosen[k], chosen[j]);
      const auto& changes = in_flight_[chosen[k]].changes;
      pull.insert(pull.end(), changes.begin(), changes.end());
    }
    deliver({to, std::move(pull)});
    std::sort(chosen.rbegin(), chosen.rend());
    for (const std::size_t i : chosen)
      if (!d_.chance(0.1)) in_flight_.erase(in_flight_.begin() + static_cast<std::ptrdiff_t>(i));
  }

  // Everything still in flight, then every outbox in full, until nothing is left.
  void exchange_all() {
    for (int round = 0;; ++round) {
      REQUIRE(round < 4);
      // What is in flight arrives, one pull batch per device.
      std::vector<delivery> pulls(devices_.size());
      for (auto& f : in_flight_)
        pulls[f.to].changes.insert(pulls[f.to].changes.end(), f.changes.begin(), f.changes.end());
      in_flight_.clear();
      for (std::size_t to = 0; to < pulls.size(); ++to)
        if (!pulls[to].changes.empty()) deliver({to, std::move(pulls[to].changes)});
      bool sent = false;
      for (std::size_t from = 0; from < devices_.size(); ++from) {
        const auto batch = must(devices_[from].db->outbox(1'000'000));
        if (batch.cells == 0) continue;
        sent = true;
        for (const auto& c : batch.changes) oracle_.apply(c);
        for (std::size_t to = 0; to < devices_.size(); ++to)
          if (to != from) in_flight_.push_back({to, batch.changes});
        must(devices_[from].db->acknowledge(batch.last_seq));
      }
      if (!sent && in_flight_.empty()) return;
    }
  }

  const sync::memory_replica& oracle() const { return oracle_; }
  std::size_t pushes() const { return pushes_; }

 private:
  struct delivery {
    std::size_t to;
    std::vector<record_change> changes;
  };
  void deliver(const delivery& f) {
    device& dev = devices_[f.to];
    must(dev.db->apply_remote(f.changes, ++position_));
    dev.pulled = position_;
  }

  dice& d_;
  std::vector<device>& devices_;
  sync::memory_replica oracle_;
  std::vector<delivery> in_flight_;
  std::uint64_t position_ = 0;
  std::size_t pushes_ = 0;
};

struct tally {
  std::size_t adds = 0, edits = 0, deletes = 0, refused = 0, incomplete = 0;
};

// One random local action on a device, through the public API only.
void act(dice& d, store& db, const sync::memory_replica& seen, tally& done) {
  const auto live = must(db.list());
  const std::size_t roll = d.below(100);
  if (roll < 25 || live.empty()) {
    if (d.chance(0.1)) {
      must(db.add_all({random_record(d, db.schema()), random_record(d, db.schema())}));
      done.adds += 2;
    } else {
      must(db.add(random_record(d, db.schema())));
      ++done.adds;
    }
  } else if (roll < 85) {
    const record& r = d.pick(live);
    const auto edits = random_edits(d, r, *db.schema().type(r.type));
    const auto ok = db.edit(r.id, edits);
    if (ok) {
      ++done.edits;
    } else {
      // A push may end in the middle of a new record's cells, so a device
      // can hold a record whose required fields have not all arrived yet;
      // edits of it are refused until they do. Nothing else may refuse.
      INFO("editing " << to_json(r) << "\n" << ok.err().describe());
      REQUIRE(ok.err().code == errc::invalid_input);
      for (const auto& issue : ok.err().issues)
        CHECK_THAT(issue.message, Catch::StartsWith("is required"));
      ++done.incomplete;
    }
  } else if (roll < 93) {
    must(db.remove(d.pick(live).id));
    ++done.deletes;
  } else {
    // A record this device knows is deleted can be neither edited nor deleted.
    for (const auto& [id, state] : seen.records()) {
      if (!state.deleted) continue;
      const auto r = must(db.get(id));
      if (!r || !r->deleted) continue;
      must_fail(db.edit(id, {set_field("date", day(1))}), errc::not_found);
      must_fail(db.remove(id), errc::not_found);
      ++done.refused;
      break;
    }
  }
}

// Every record the store holds, in id order, as JSON without the pending flag.
std::string replica_text(store& db, const sync::memory_replica& oracle) {
  std::string out;
  for (const auto& [id, state] : oracle.records()) {
    auto r = must(db.get(id));
    if (!r) {
      out += id.hex() + " missing\n";
      continue;
    }
    r->pending = false;
    out += to_json(*r) + "\n";
  }
  return out;
}

// The live records as list() shows them, sorted by id, without the pending flag.
std::string list_text(store& db) {
  auto records = must(db.list());
  std::sort(records.begin(), records.end(),
            [](const record& a, const record& b) { return a.id < b.id; });
  std::string out;
  for (auto& r : records) {
    r.pending = false;
    out += to_json(r) + "\n";
  }
  return out;
}

std::string fields_text(const field_map& fields) {
  std::string out;
  for (const auto& [k, v] : fields)
    out += k + "=" + to_text(v) + " (kind " + std::to_string(v.index()) + "); ";
  return out;
}

// How the store differs from the oracle; empty when it agrees on every record.
std::string differences(store& db, const sync::memory_replica& oracle) {
  std::string out;
  std::size_t live = 0;
  for (const auto& [id, state] : oracle.records()) {
    const auto r = must(db.get(id));
    if (!r) {
      out += id.hex() + ": missing\n";
      continue;
    }
    std::vector<cell> cells;
    for (const auto& [key, c] : state.cells) cells.push_back(c);
    const field_map expected = sync::fields_from_cells(cells);
    if (r->deleted != state.deleted)
      out += id.hex() + ": deleted " + std::to_string(r->deleted) + "\n";
    if (r->type != state.type || r->team != state.team)
      out += id.hex() + ": type/team " + r->type + "/" + r->team + "\n";
    if (r->fields != expected)
      out += id.hex() + ": fields " + fields_text(r->fields) + " expected " +
             fields_text(expected) + "\n";
    if (r->deleted && !r->fields.empty())
      out += id.hex() + ": deleted but holds " + fields_text(r->fields) + "\n";
    if (!state.deleted) ++live;
  }
  const auto s = must(db.status());
  if (s.records != live)
    out += "status().records " + std::to_string(s.records) + " expected " + std::to_string(live) +
           "\n";
  if (must(db.list()).size() != live) out += "list() size differs\n";
  return out;
}

}  // namespace

TEST_CASE("convergence: SQLite stores agree with each other and with the merge oracle",
          "[client][convergence][property]") {
  const std::uint64_t seed = GENERATE(range<std::uint64_t>(1, 31));
  INFO("seed " << seed);
  dice d(seed);

  temp_dir dir;
  fake_time time;
  std::vector<device> devices(3 + d.below(2));
  for (std::size_t i = 0; i < devices.size(); ++i) {
    // Each device has its own clock: the shared time plus its own error.
    const auto file = dir.file("device-" + std::to_string(i) + ".db");
    devices[i].db = must(store::create(file, "team-a", with_clock(time, d.between(-3000, 3000))));
  }
  relay server(d, devices);
  tally done;

  const int steps = 140;
  for (int step = 0; step < steps; ++step) {
    if (!d.chance(0.3)) time.advance(static_cast<std::uint64_t>(d.between(0, 4000)));
    const std::size_t roll = d.below(100);
    if (roll < 45)
      act(d, *d.pick(devices).db, server.oracle(), done);
    else if (roll < 65)
      server.push(d.below(devices.size()));
    else
      server.deliver_some();
  }
  server.exchange_all();

  const auto& oracle = server.oracle();
  REQUIRE_FALSE(oracle.records().empty());
  CHECK(done.adds > 0);
  CHECK(done.edits > 0);

  const std::string first_replica = replica_text(*devices[0].db, oracle);
  const std::string first_list = list_text(*devices[0].db);
  for (std::size_t i = 0; i < devices.size(); ++i) {
    INFO("device " << i);
    store& db = *devices[i].db;
    CHECK(replica_text(db, oracle) == first_replica);
    CHECK(list_text(db) == first_list);
    CHECK(differences(db, oracle) == "");
    const auto s = must(db.status());
    CHECK(s.pending_cells == 0);
    CHECK(s.pending_records == 0);
    CHECK(s.pulled_seq == devices[i].pulled);
    CHECK(must(db.outbox()).cells == 0);
  }
}

TEST_CASE("convergence: concurrent edits of one record from every device",
          "[client][convergence]") {
  // The same record edited on three devices between syncs: set elements
  // added concurrently all survive, a scalar edited everywhere ends with the
  // latest write, and a deletion anywhere wins.
  temp_dir dir;
  fake_time time;
  std::vector<device> devices(3);
  for (std::size_t i = 0; i < devices.size(); ++i)
    devices[i].db =
        must(store::create(dir.file("d" + std::to_string(i) + ".db"), "team-a", with_clock(time)));
  dice d(7);
  relay server(d, devices);

  const record_id id = must(devices[0].db->add(crisis_case()));
  server.exchange_all();

  time.advance(1000);
  must(devices[0].db->edit(id,
                           {add_elements("services", "escort"), set_field("referred_by", "ngo")}));
  time.advance(1000);
  must(devices[1].db->edit(
      id, {add_elements("services", "interpreting"), remove_elements("services", "food"),
           set_field("referred_by", "embassy")}));
  time.advance(1000);
  must(devices[2].db->edit(
      id, {add_elements("services", "legal-information"), set_field("referred_by", "self")}));
  server.exchange_all();

  for (auto& dev : devices) {
    const record r = get_record(*dev.db, id);
    CHECK(text_of(r, "services") ==
          "accommodation,escort,interpreting,legal-information,psychological");
    CHECK(text_of(r, "referred_by") == "self");
  }
  CHECK(differences(*devices[1].db, server.oracle()) == "");

  // A deletion on one device and an edit on another, offline at the same time.
  time.advance(1000);
  must(devices[2].db->edit(id, {set_field("sex", "male")}));
  must(devices[1].db->remove(id));
  server.exchange_all();
  for (auto& dev : devices) {
    const record r = get_record(*dev.db, id);
    CHECK(r.deleted);
    CHECK(r.fields.empty());
    CHECK(must(dev.db->list()).empty());
  }
  CHECK(differences(*devices[2].db, server.oracle()) == "");
}
