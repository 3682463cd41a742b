#include "sync_fixture.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <haven/client/record_json.hpp>
#include <map>
#include <set>

namespace haven::test {

device& sync_fixture::add_device(const std::string& team) {
  auto d = std::make_unique<device>();
  d->name = "device" + std::to_string(devices_.size());
  d->team = team;
  auto created = client::store::create(dir_.file(d->name + ".db"), team);
  REQUIRE(created.ok());
  d->db = std::move(created).value();
  devices_.push_back(std::move(d));
  return *devices_.back();
}

client::sync_options sync_fixture::sync_options(const std::string& url) {
  client::sync_options o;
  o.server_url = url.empty() ? server_.sync_url() : url;
  o.connect_timeout = std::chrono::seconds(5);
  o.idle_timeout = std::chrono::seconds(20);
  return o;
}

result<client::sync_summary> sync_fixture::sync(device& d, const std::string& url) {
  return client::sync_now(*d.db, sync_options(url));
}

void sync_fixture::sync_everyone() {
  for (int round = 0; round < 2; ++round)
    for (auto& d : devices_) {
      auto r = sync(*d);
      INFO(d->name << ": " << (r.ok() ? "" : r.err().describe()));
      REQUIRE(r.ok());
    }
}

std::string sync_fixture::records_of(device& d) {
  return records_json(*d.db);
}

void sync_fixture::check_teams_agree() {
  std::map<std::string, std::string> first;
  for (auto& d : devices_) {
    const std::string mine = records_of(*d);
    auto [it, inserted] = first.emplace(d->team, mine);
    INFO(d->name << " of team " << d->team);
    CHECK(mine == it->second);
  }
}

void sync_fixture::check_tallies(const std::vector<int>& years) {
  // The merged records as the server holds them: what a fresh device of
  // each team pulls (the devices themselves may not have synced yet).
  std::set<std::string> teams;
  for (auto& d : devices_) teams.insert(d->team);
  std::vector<oracle_record> records;
  for (const auto& team : teams) {
    device auditor{"auditor", team, nullptr};
    const auto file = dir_.file("auditor-" + team + ".db");
    std::filesystem::remove(file);
    auditor.db = client::store::create(file, team).value();
    auto pulled = sync(auditor);
    REQUIRE(pulled.ok());
    const auto mine = oracle_records(*auditor.db);
    records.insert(records.end(), mine.begin(), mine.end());
  }
  check_served_tallies(server_.address(), records, years);
}

std::string records_json(client::store& db) {
  auto records = db.list();
  REQUIRE(records.ok());
  auto list = std::move(records).value();
  for (auto& r : list) r.pending = false;
  std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return client::to_json(list);
}

std::vector<oracle_record> oracle_records(client::store& db) {
  auto list = db.list();
  REQUIRE(list.ok());
  std::vector<oracle_record> records;
  for (const auto& r : list.value()) records.push_back({r.id.hex(), r.type, r.fields, r.deleted});
  return records;
}

void check_served_tallies(const std::string& address, const std::vector<oracle_record>& records,
                          const std::vector<int>& years, const std::string& token) {
  using namespace std::chrono;
  const date today{
      static_cast<std::int32_t>(floor<days>(system_clock::now()).time_since_epoch().count())};
  std::vector<std::pair<std::string, std::string>> headers;
  if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
  const auto s = schema::builtin();
  for (const auto& t : s->tallies())
    for (int year : years)
      for (std::optional<int> month :
           {std::optional<int>{}, std::optional<int>{1}, std::optional<int>{12}}) {
        const std::string path = "/api/tallies/" + t.id + "?year=" + std::to_string(year) +
                                 (month ? "&month=" + std::to_string(*month) : "");
        const http_response res = http_send(address, "GET", path, "", headers);
        INFO("GET " << path);
        REQUIRE(res.status == 200);
        CHECK(compare_report(res.body, *s, t, records, today, year, month) == "");
      }
}

}  // namespace haven::test
