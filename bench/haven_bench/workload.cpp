#include "workload.hpp"

#include <sys/resource.h>

#include <cstdio>
#include <haven/schema/pseudonym.hpp>
#include <optional>
#include <random>
#include <thread>

#include "field_work.hpp"
#include "report.hpp"

namespace haven::bench {
namespace {

template <std::size_t N>
const char* any(std::mt19937& rng, const char* const (&codes)[N]) {
  return codes[rng() % N];
}

// One to three different codes of `codes`, comma-separated.
template <std::size_t N>
std::string some(std::mt19937& rng, const char* const (&codes)[N]) {
  const std::size_t first = rng() % N, count = 1 + rng() % 3;
  std::string out;
  for (std::size_t i = 0; i < count && i < N; ++i)
    out += (i ? "," : "") + std::string(codes[(first + i) % N]);
  return out;
}

// A person code of a card, one of 100,000 per seed.
std::string person(unsigned seed, unsigned n) {
  char code[32];
  std::snprintf(code, sizeof code, "K-%04u-%05u", seed % 10000, n);
  return with_check_symbol(code);
}

}  // namespace

std::vector<client::record_input> assistance_cases(std::size_t n, unsigned seed) {
  static const char* const programmes[] = {"crisis-accommodation", "safe-accommodation",
                                           "reintegration"};
  static const char* const sexes[] = {"female", "male", "other", "unknown"};
  static const char* const ages[] = {"child", "adolescent", "adult", "unknown"};
  static const char* const nations[] = {"UA", "SY", "AF", "NG", "SI", "RO", "BG", "XX"};
  static const char* const exploitation[] = {"sexual", "forced-labour", "labour", "begging",
                                             "forced-marriage"};
  static const char* const offences[] = {"art113-thb", "art112-enslavement", "art175-prostitution"};
  static const char* const referrers[] = {"police", "ngo", "social-work-centre", "self"};
  static const char* const services[] = {"accommodation",     "food",         "psychological",
                                         "legal-information", "interpreting", "escort"};
  std::mt19937 rng(seed);
  std::vector<client::record_input> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    char admitted[16], discharged[16];
    const auto month = static_cast<unsigned>(1 + rng() % 11),
               day = static_cast<unsigned>(1 + rng() % 20);
    std::snprintf(admitted, sizeof admitted, "2025-%02u-%02u", month, day);
    std::snprintf(discharged, sizeof discharged, "2025-%02u-%02u", month,
                  static_cast<unsigned>(day + 1 + rng() % 8));
    out.push_back({"assistance_case",
                   "",
                   {{"programme", any(rng, programmes)},
                    {"person", person(seed, static_cast<unsigned>(rng() % 100000))},
                    {"sex", any(rng, sexes)},
                    {"age_band", any(rng, ages)},
                    {"nationality", any(rng, nations)},
                    {"exploitation", some(rng, exploitation)},
                    {"offence", some(rng, offences)},
                    {"referred_by", any(rng, referrers)},
                    {"admitted", admitted},
                    {"discharged", discharged},
                    {"services", some(rng, services)}}});
  }
  return out;
}

std::vector<client::record_input> field_records(std::size_t n, unsigned seed) {
  test::field_work work(seed, 5000);
  std::vector<client::record_input> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) out.push_back(work.new_record());
  return out;
}

void add_in_batches(client::store& db, const std::vector<client::record_input>& records,
                    std::size_t batch) {
  for (std::size_t i = 0; i < records.size(); i += batch) {
    const auto from = records.begin() + static_cast<std::ptrdiff_t>(i);
    unwrap(db.add_all(
        {from, from + static_cast<std::ptrdiff_t>(std::min(batch, records.size() - i))}));
  }
}

fleet::fleet(const scratch_dir& dir, const std::string& name, std::size_t devices,
             std::size_t per_device, const std::function<std::string(std::size_t)>& team) {
  for (std::size_t d = 0; d < devices; ++d) {
    stores_.push_back(
        unwrap(client::store::create(dir.file(name + "-" + std::to_string(d) + ".db"), team(d))));
    inputs_.push_back(field_records(per_device, static_cast<unsigned>(d + 1)));
    add_in_batches(*stores_.back(), inputs_.back(), 10000);
    cells_ += unwrap(stores_.back()->status()).pending_cells;
  }
}

double fleet::sync_all(const client::sync_options& options) {
  const auto start = clock_type::now();
  std::vector<std::thread> syncs;
  std::vector<std::optional<error>> failures(stores_.size());
  for (std::size_t d = 0; d < stores_.size(); ++d)
    syncs.emplace_back([&, d] {
      if (auto r = client::sync_now(*stores_[d], options); !r) failures[d] = r.err();
    });
  for (auto& s : syncs) s.join();
  for (auto& f : failures)
    if (f) throw failure(f->code, "a device's sync failed: " + f->message);
  return seconds_since(start);
}

std::size_t fleet::records() const {
  std::size_t n = 0;
  for (const auto& i : inputs_) n += i.size();
  return n;
}

std::vector<client::record_input> fleet::all_inputs() const {
  std::vector<client::record_input> all;
  for (const auto& i : inputs_) all.insert(all.end(), i.begin(), i.end());
  return all;
}

std::string solo_team(std::size_t d) {
  return "team-" + std::to_string(d);
}

havend_child::havend_child(const std::filesystem::path& db, std::vector<std::string> options,
                           bool authenticated)
    : db_(db),
      process_(db.string(), std::move(options),
               authenticated ? test::havend_process::authentication::on
                             : test::havend_process::authentication::off) {}

client::sync_options havend_child::sync_options() const {
  client::sync_options o;
  o.server_url = process_.sync_url();
  o.idle_timeout = std::chrono::minutes(10);
  return o;
}

std::uint64_t havend_child::peak_rss_bytes() const {
  return bench::peak_rss_bytes(process_.pid());
}

std::uint64_t havend_child::rss_bytes() const {
  return bench::rss_bytes(process_.pid());
}

std::uintmax_t havend_child::stop_and_measure_store() {
  if (!stopped_) process_.stop();
  stopped_ = true;
  return store_bytes(db_);
}

std::uint64_t raise_open_files_limit() {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &limit);
  ::getrlimit(RLIMIT_NOFILE, &limit);
  return limit.rlim_cur;
}

std::uintmax_t store_bytes(const std::filesystem::path& db) {
  std::uintmax_t n = 0;
  for (const char* suffix : {"", "-wal"}) {
    const auto f = db.string() + suffix;
    if (std::filesystem::exists(f)) n += std::filesystem::file_size(f);
  }
  return n;
}

}  // namespace haven::bench
