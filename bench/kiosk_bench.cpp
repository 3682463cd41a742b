// What a person at the kiosk waits for, with a store of N records: a real
// haven-kiosk on 127.0.0.1, asked over HTTP what the page asks for at each
// step (the browser's own drawing is not included). Prints one JSON object.
//   kiosk_bench [records]   (default 100000; --help)
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <haven/client/store.hpp>
#include <haven/core/command_line.hpp>
#include <iostream>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "../tests/support/havend_process.hpp"
#include "../tests/support/process.hpp"

namespace {

using namespace haven;
using clock_type = std::chrono::steady_clock;

double ms_since(clock_type::time_point start) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - start).count();
}

std::string day(int days_ago) {
  const auto t = std::chrono::system_clock::now() - std::chrono::hours(24 * days_ago);
  return to_string(date{static_cast<std::int32_t>(
      std::chrono::duration_cast<std::chrono::hours>(t.time_since_epoch()).count() / 24)});
}

// A mix of the four record types over the last year, as a busy team records them.
client::record_input contact(std::mt19937& rng) {
  const std::string when = day(static_cast<int>(rng() % 365));
  switch (rng() % 4) {
    case 0:
      return {"pats_session",
              "",
              {{"date", when}, {"site", "vic"}, {"format", "group"}, {"participants", "12"}}};
    case 1:
      return {"on_call_event", "", {{"date", when}, {"caller", "police"}, {"outcome", "admitted"}}};
    case 2:
      return {"prevention_workshop",
              "",
              {{"date", when},
               {"audience", "secondary-school"},
               {"region", "goriska"},
               {"participants", std::to_string(1 + rng() % 40)}}};
    default:
      return {"pats_session",
              "",
              {{"date", when}, {"site", "logatec"}, {"format", "group"}, {"participants", "7"}}};
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const auto args = haven::command_line::parse_counts(
      argc, argv, "kiosk_bench", "[records]: what a kiosk user waits for, printed as JSON",
      {{"records", 100000, 1, 1000000, "records in the store"}});
  if (args.exit_code) return *args.exit_code;
  const std::size_t n = args.values[0];

  test::temp_dir dir;
  const std::string db = dir.file("device.db");
  {
    auto store = unwrap(client::store::create(db, "bench"));
    std::mt19937 rng(42);
    std::vector<client::record_input> inputs;
    for (std::size_t i = 0; i < n; ++i) inputs.push_back(contact(rng));
    unwrap(store->add_all(inputs));
  }

  // Start to first screen: the program up, then what the page fetches before it draws.
  auto t = clock_type::now();
  test::child kiosk({HAVEN_KIOSK_PATH, "--db", db, "--listen", "127.0.0.1:0"});
  std::string url;
  if (!kiosk.read_line(url)) return std::cerr << "kiosk_bench: haven-kiosk did not start\n", 1;
  const double listening_ms = ms_since(t);
  const std::string address = url.substr(7, url.size() - 8);
  const auto page = test::http_get(address, "/");
  std::smatch m;
  std::regex_search(page.body, m, std::regex("content=\"([0-9a-f]{64})\""));
  const std::vector<std::pair<std::string, std::string>> own{{"X-Haven-Kiosk", m[1]},
                                                             {"Content-Type", "application/json"}};
  auto call = [&](const std::string& method, const std::string& path, const std::string& body) {
    const auto r = test::http_send(address, method, path, body, own);
    if (r.status >= 300) throw std::runtime_error(method + " " + path + ": " + r.body);
    return r;
  };
  test::http_get(address, "/app.js");
  test::http_get(address, "/app.css");
  call("GET", "/api/schema", "");
  call("GET", "/api/status", "");
  call("GET", "/api/records?from=" + day(6) + "&to=" + day(0), "");
  const double first_screen_ms = ms_since(t);

  const std::string form = R"({"type":"prevention_workshop","fields":{"date":")" + day(0) +
                           R"(","audience":"professionals","region":"koroska","participants":9}})";
  std::vector<double> open_form, save, home, all;
  for (int i = 0; i < 21; ++i) {
    t = clock_type::now();
    call(
        "POST", "/api/check",
        R"({"type":"prevention_workshop","fields":{"date":")" + day(0) + R"(","participants":1}})");
    open_form.push_back(ms_since(t));
    t = clock_type::now();
    call("POST", "/api/records", form);
    save.push_back(ms_since(t));
    t = clock_type::now();
    call("GET", "/api/records?from=" + day(6) + "&to=" + day(0), "");
    home.push_back(ms_since(t));
    t = clock_type::now();
    call("GET", "/api/records?type=pats_session", "");
    all.push_back(ms_since(t));
  }
  kiosk.kill_group(SIGTERM);
  kiosk.wait();
  std::cout << "{\"benchmark\":\"kiosk\",\"records\":" << n
            << ",\"program_listening_ms\":" << listening_ms
            << ",\"start_to_first_screen_ms\":" << first_screen_ms
            << ",\"open_form_check_ms_median\":" << median(open_form)
            << ",\"save_record_ms_median\":" << median(save)
            << ",\"back_home_week_list_ms_median\":" << median(home)
            << ",\"list_one_type_ms_median\":" << median(all)
            << ",\"note\":\"HTTP round trips of what the page asks for; the browser's drawing "
               "is not included\"}\n";
  return 0;
}
