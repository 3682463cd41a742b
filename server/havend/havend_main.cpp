// havend: the Haven sync server, and offline commands on its store.
#include <qrencode.h>

#include <algorithm>
#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <haven/core/command_line.hpp>
#include <haven/core/terminal_text.hpp>
#include <haven/net/loopback.hpp>
#include <haven/server/access_registry.hpp>
#include <haven/server/central_store.hpp>
#include <haven/server/log.hpp>
#include <haven/server/proxy_protocol.hpp>
#include <haven/server/report_year.hpp>
#include <haven/server/server.hpp>
#include <haven/server/tally_reports.hpp>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "dev_cert.hpp"

namespace {

using namespace haven;

namespace cl = command_line;
namespace po = boost::program_options;
using cl::exit_failed, cl::exit_ok, cl::exit_usage, cl::usage_error;

// N from min to max, stored into `into` once the command line is parsed; the
// default shown in --help is what `into` holds (server_config's default).
template <class T>
po::typed_value<long long>* number(const char* flag, T& into, long long min, long long max) {
  return po::value<long long>()
      ->default_value(static_cast<long long>(into))
      ->value_name("N")
      ->notifier([flag, &into, min, max](long long n) {
        cl::require_range(flag, n, min, max);
        into = static_cast<T>(n);
      });
}

// Seconds from min to max, as number() does, into a duration of any unit.
template <class Duration>
po::typed_value<long long>* seconds(const char* flag, Duration& into, long long min,
                                    long long max) {
  return po::value<long long>()
      ->default_value(std::chrono::duration_cast<std::chrono::seconds>(into).count())
      ->value_name("S")
      ->notifier([flag, &into, min, max](long long n) {
        cl::require_range(flag, n, min, max);
        into = std::chrono::seconds(n);
      });
}

// A text option that takes one of `allowed`, with `fallback` as its default.
po::typed_value<std::string>* one_of(const char* flag, std::vector<std::string> allowed,
                                     std::string fallback) {
  std::string names;
  for (const auto& a : allowed) names += (names.empty() ? "" : "|") + a;
  return po::value<std::string>()->default_value(fallback)->value_name(names)->notifier(
      [flag, allowed, names](const std::string& v) {
        if (std::find(allowed.begin(), allowed.end(), v) == allowed.end())
          throw usage_error(std::string(flag) + " is " + names + " (got \"" + printable(v) + "\")");
      });
}

// The central store every command but dev-cert works on.
po::options_description store_options() {
  po::options_description o("Store");
  o.add_options()("db", po::value<std::string>()->value_name("PATH"),
                  "the central store (serving creates it)")(
      "schema", po::value<std::string>()->value_name("FILE"),
      "a schema file instead of the built-in one");
  return o;
}

// What serving takes; the notifiers write into `config`, whose defaults they show.
po::options_description serve_options(server::server_config& c) {
  const long long int_max = std::numeric_limits<int>::max();
  // Devices decode pull batches with the protocol's own limit, whatever this one is.
  const auto device_limit = static_cast<long long>(sync::frame_limits{}.max_records);
  po::options_description o("Serving (havend --db PATH --listen HOST:PORT)");
  o.add_options()("listen", po::value<std::string>()->value_name("HOST:PORT"),
                  "the address to serve on, e.g. 127.0.0.1:8080 or [::1]:8443; port 0 picks a free "
                  "port. Without TLS "
                  "only a loopback address (127.0.0.1, ::1, localhost)")(
      "threads", po::value<long long>()->value_name("N")->notifier([&c](long long n) {
        cl::require_range("--threads", n, 1, 1024);
        c.threads = static_cast<unsigned>(n);
      }),
      "I/O threads, 1-1024 (default: one per hardware thread)")("verbose", po::bool_switch(),
                                                                "log every session at debug level")(
      "max-frame-bytes", number("--max-frame-bytes", c.limits.max_frame_bytes, 65536, int_max),
      "the largest frame a device may send, at least 65536")(
      "max-batch-records",
      po::value<long long>()
          ->default_value(static_cast<long long>(c.limits.max_records))
          ->value_name("N")
          ->notifier([&c, device_limit](long long n) {
            if (n > device_limit)
              throw usage_error("--max-batch-records must be at most " +
                                std::to_string(device_limit) +
                                ", the most records a device takes in one batch");
            cl::require_range("--max-batch-records", n, 1, device_limit);
            c.limits.max_records = static_cast<std::size_t>(n);
          }),
      ("records per batch (devices are told), 1-" + std::to_string(device_limit)).c_str())(
      "handshake-timeout", seconds("--handshake-timeout", c.handshake_timeout, 1, int_max),
      "seconds from connecting to a valid hello")(
      "idle-timeout", seconds("--idle-timeout", c.idle_timeout, 1, int_max),
      "seconds a silent sync connection stays open")(
      "max-protocol",
      number("--max-protocol", c.max_protocol, sync::oldest_protocol_version,
             sync::protocol_version),
      ("the newest sync protocol version offered to devices, " +
       std::to_string(sync::oldest_protocol_version) + "-" +
       std::to_string(sync::protocol_version) + " (default " +
       std::to_string(sync::protocol_version) + "): holds every device at an older wire format")
          .c_str())(
      "public-k", number("--public-k", c.public_k, 2, 1000),
      "the public view of a tally hides cells of fewer than K persons (or records), 2-1000")(
      "stale-after-days", number("--stale-after-days", c.stale_after_days, 1, 3650),
      "a team that has not synced for N days is flagged in each tally's completeness, 1-3650")(
      "max-event-streams", number("--max-event-streams", c.max_event_streams, 1, 100000),
      "live dashboard streams (/api/events) open at once; one more is answered 503")(
      "max-connections-per-address",
      number("--max-connections-per-address", c.connections.per_address, 1, int_max),
      "connections not signed in yet, per address (one more closes the address's oldest)")(
      "max-connections-per-device",
      number("--max-connections-per-device", c.connections.per_credential, 1, int_max),
      "connections per device or coordinator token once signed in (one more replaces its oldest)")(
      "max-connections", number("--max-connections", c.connections.total, 1, int_max),
      "connections in all")("max-failed-logins",
                            number("--max-failed-logins", c.login.free_failures, 1, int_max),
                            "failed sign-ins per address before the back-off")(
      "login-backoff-first", seconds("--login-backoff-first", c.login.first_backoff, 1, int_max),
      "the first back-off, in seconds (at most --login-backoff-max)")(
      "login-backoff-max", seconds("--login-backoff-max", c.login.max_backoff, 1, int_max),
      "the longest back-off, in seconds; it doubles from the first")(
      "trusted-proxy",
      po::value<std::vector<std::string>>()->composing()->value_name("ADDRESS")->notifier(
          [&c](const std::vector<std::string>& proxies) {
            for (const auto& address : proxies) {
              if (!server::canonical_address(address))
                throw usage_error("--trusted-proxy takes the proxy's IP address (got \"" +
                                  printable(address) + "\")");
              c.trusted_proxies.push_back(address);
            }
          }),
      "(repeatable) a reverse proxy whose word on the client's address is taken, from that peer "
      "only: a PROXY "
      "protocol v2 header when the connection starts with one, else the rightmost untrusted "
      "X-Forwarded-For "
      "entry of each HTTP request")("tls-cert", po::value<std::string>()->value_name("FILE"),
                                    "the certificate (PEM): serve wss:// and https:// only")(
      "tls-key", po::value<std::string>()->value_name("FILE"), "its private key (PEM)")(
      "dev-no-auth", po::bool_switch(),
      "no enrollment and no tokens: any device may sync and anyone may read the tallies. For "
      "development, on a "
      "loopback address only");
  return o;
}

// One of havend's commands on a store (or dev-cert): its usage line, what it
// does, its options and its arguments.
struct command {
  const char* usage;
  const char* help;
  std::function<po::options_description()> options;
  std::vector<const char*> arguments;  // names of the positional arguments, in order
  std::function<int(const po::variables_map&, const std::vector<std::string>&)> run;
};

// The value of a text option, or "" when it was not given.
std::string text(const po::variables_map& o, const char* name) {
  return o.count(name) ? o[name].as<std::string>() : std::string();
}

std::shared_ptr<const schema> load_schema(const po::variables_map& o) {
  return o.count("schema") ? unwrap(schema::load(text(o, "schema"))) : schema::builtin();
}

std::string when(std::optional<std::int64_t> ms) {
  return ms ? utc_time(*ms, "%Y-%m-%d %H:%M UTC") : "never";
}

// "2026-05-01T12:00:00Z"
std::string iso_utc(std::int64_t ms) {
  return utc_time(ms);
}

// "30m", "24h", "7d" (or "90s") as seconds.
std::chrono::seconds parse_duration(const std::string& text) {
  const auto bad =
      usage_error("--expires takes a duration like 30m, 24h or 7d (got \"" + text + "\")");
  if (text.size() < 2) throw bad;
  const char unit = text.back();
  const std::int64_t scale = unit == 's'   ? 1
                             : unit == 'm' ? 60
                             : unit == 'h' ? 3600
                             : unit == 'd' ? 86400
                                           : 0;
  const std::string digits = text.substr(0, text.size() - 1);
  if (!scale || digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 6)
    throw bad;
  const std::int64_t n = std::stoll(digits);
  if (n < 1) throw usage_error("--expires must be at least 1s");
  return std::chrono::seconds(n * scale);
}

// The QR code of `text` in Unicode half blocks, two rows of modules per line,
// with a quiet zone. Light modules are drawn, as `qrencode -t UTF8` does, so
// that the code reads right on a terminal with a dark background.
std::string qr_code(const std::string& text) {
  std::unique_ptr<QRcode, decltype(&QRcode_free)> qr(
      QRcode_encodeString(text.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1), &QRcode_free);
  if (!qr) return {};
  constexpr int quiet = 4;  // modules, as the QR standard asks
  const int width = qr->width, size = width + 2 * quiet;
  const auto light = [&](int row, int col) {
    row -= quiet;
    col -= quiet;
    if (row < 0 || col < 0 || row >= width || col >= width) return true;
    return (qr->data[row * width + col] & 1) == 0;
  };
  std::string out;
  for (int row = 0; row < size; row += 2) {
    for (int col = 0; col < size; ++col) {
      const bool top = light(row, col), bottom = row + 1 < size ? light(row + 1, col) : false;
      out += top && bottom ? "\u2588" : top ? "\u2580" : bottom ? "\u2584" : " ";
    }
    out += "\n";
  }
  return out;
}

int enroll(const po::variables_map& o, const std::vector<std::string>&) {
  const std::string name = text(o, "name"), team = text(o, "team"), db = text(o, "db");
  const std::string role_text = text(o, "role");
  const auto role = server::parse_role(role_text);
  if (!role)
    throw usage_error("--role is worker or coordinator (got \"" + printable(role_text) + "\")");
  const std::string expires = text(o, "expires");
  const auto ttl = parse_duration(expires);
  const auto code =
      server::open_sqlite_registry(db)->issue_code(name, team, *role, ttl, unix_ms_now());
  if (o["json"].as<bool>()) {
    std::cout << boost::json::serialize(boost::json::object{{"code", code.code},
                                                            {"expires", iso_utc(code.expires_ms)}})
              << "\n";
    return exit_ok;
  }
  std::cout << "Enrollment code for \"" << printable(name) << "\", a " << printable(role_text)
            << " of team " << printable(team) << ":\n\n    " << code.code << "\n\n"
            << "Valid once, until " << when(code.expires_ms) << " (" << expires
            << "). Enter it on the device, or scan it:\n\n"
            << qr_code(code.code) << "\nNot shown again; if it is lost, run enroll again.\n";
  return exit_ok;
}

int token(const po::variables_map& o, const std::vector<std::string>&) {
  const std::string name = text(o, "name");
  const std::string t =
      server::open_sqlite_registry(text(o, "db"))->issue_token(name, unix_ms_now());
  std::cout << "Coordinator token for \"" << name
            << "\" (shown only now; it replaces any earlier one):\n\n    " << t << "\n\n"
            << "Send it with every request for the tallies as the header\n"
            << "    Authorization: Bearer " << t << "\n"
            << "e.g. curl -H \"Authorization: Bearer " << t << "\" http://HOST:PORT/api/tallies\n"
            << "The dashboard at http://HOST:PORT/ asks for it. Keep it like a password.\n";
  return exit_ok;
}

// rest: the command (retire or revoke) and the device id.
int set_standing(const po::variables_map& o, const std::vector<std::string>& rest) {
  const bool revoke = rest[0] == "revoke";
  const auto d =
      server::open_sqlite_registry(text(o, "db"))
          ->set_standing(
              rest[1], revoke ? server::device_standing::revoked : server::device_standing::retired,
              unix_ms_now());
  std::cout << "Device " << printable(d.device_id) << " (\"" << printable(d.name) << "\", team "
            << printable(d.team) << ") is now " << server::to_string(d.standing) << ".\n";
  if (!revoke) {
    std::cout << "When it next syncs, its pending changes are accepted; then it is told to erase "
                 "its store.\n";
    return exit_ok;
  }
  const auto seen = server::open_sqlite_store(text(o, "db"), load_schema(o))->device(d.device_id);
  std::optional<std::int64_t> last_sync;
  if (seen) last_sync = seen->last_sync_ms;
  std::cout << "It can no longer sync; if it connects, it is told to erase its store.\n";
  if (last_sync)
    std::cout << "Its last sync was " << when(last_sync) << ": changes it recorded after "
              << when(last_sync) << " are lost with the device.\n";
  else
    std::cout << "It never completed a sync: everything it recorded is lost with the device.\n";
  return exit_ok;
}

// Rows of text as columns, each as wide as its widest cell, two spaces apart;
// every cell escaped (see printable), as what devices sent may be in them.
void print_table(std::vector<std::vector<std::string>> rows) {
  for (auto& row : rows)
    for (auto& cell : row) cell = printable(cell);
  std::vector<std::size_t> width;
  for (const auto& row : rows)
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], row[i].size());
    }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i)
      line += i + 1 < row.size() ? row[i] + std::string(width[i] - row[i].size() + 2, ' ') : row[i];
    std::cout << line << "\n";
  }
}

int devices(const po::variables_map& o, const std::vector<std::string>&) {
  auto enrolled = server::open_sqlite_registry(text(o, "db"))->devices();
  const auto seen = server::open_sqlite_store(text(o, "db"), load_schema(o))->devices();
  std::map<std::string, const server::device_info*> by_id;
  for (const auto& d : seen) by_id[d.device_id] = &d;
  std::vector<std::vector<std::string>> rows{
      {"DEVICE", "NAME", "TEAM", "ROLE", "STANDING", "LAST SEEN", "LAST SYNC", "PUSHED", "ERASED"}};
  // The sync columns: when it was last seen and synced, and its pushes the server has.
  const auto sync_cells = [](const server::device_info* d) -> std::vector<std::string> {
    if (!d) return {"never", "never", "0"};
    return {when(d->last_seen_ms), when(d->last_sync_ms), std::to_string(d->acked_seq)};
  };
  for (const auto& d : enrolled) {
    const auto it = by_id.find(d.device_id);
    std::vector<std::string> row{d.device_id, "\"" + d.name + "\"", d.team,
                                 std::string(server::to_string(d.role)),
                                 std::string(server::to_string(d.standing))};
    for (auto& cell : sync_cells(it == by_id.end() ? nullptr : it->second))
      row.push_back(std::move(cell));
    row.push_back(d.wiped_ms ? when(d.wiped_ms) : "no");
    rows.push_back(std::move(row));
    if (it != by_id.end()) by_id.erase(it);
  }
  for (const auto& d : seen)
    if (by_id.count(d.device_id)) {
      std::vector<std::string> row{d.device_id, "(not enrolled)", d.team, "-", "-"};
      for (auto& cell : sync_cells(&d)) row.push_back(std::move(cell));
      row.push_back("-");
      rows.push_back(std::move(row));
    }
  if (rows.size() == 1) {
    std::cout << "No device has enrolled or synced yet (havend --db PATH enroll issues a code).\n";
    return exit_ok;
  }
  print_table(std::move(rows));
  return exit_ok;
}

int audit(const po::variables_map& o, const std::vector<std::string>&) {
  const auto limit = o["limit"].as<long long>();
  for (const auto& e :
       server::open_sqlite_registry(text(o, "db"))->audit_log(static_cast<std::size_t>(limit)))
    std::cout << iso_utc(e.at_ms) << "  " << printable(e.event) << "  " << printable(e.subject)
              << (e.address.empty() ? "" : "  from " + printable(e.address)) << "  "
              << printable(e.detail) << "\n";
  return exit_ok;
}

// Serves until stopped; `config` holds the options notify() wrote into it.
int serve(const po::variables_map& o, server::server_config& config) {
  if (!o.count("listen"))
    throw usage_error("give the address to serve on with --listen HOST:PORT (e.g. 127.0.0.1:8080)");
  const std::string listen = text(o, "listen");
  const auto address = cl::parse_host_port(listen);
  if (!address)
    throw usage_error(
        "--listen takes HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080, with a port 0-65535 (got \"" +
        printable(listen) + "\")");
  config.db = text(o, "db");
  config.host = address->host;
  config.port = address->port;
  config.record_schema = load_schema(o);
  if (o["dev-no-auth"].as<bool>()) {
    if (!streams::is_loopback_host(config.host))
      throw usage_error(
          "--dev-no-auth lets anyone sync and read the tallies, so it listens only on a loopback "
          "address (127.0.0.1, ::1, localhost), not on \"" +
          config.host + "\"");
    config.authenticate = false;
    std::cerr << "havend: WARNING: --dev-no-auth: authentication is OFF. Any device may sync and "
                 "anyone may read "
                 "the tallies. Never use this with real data.\n";
  }
  if (o["verbose"].as<bool>()) server::set_log_level(server::log_level::debug);
  config.tls_cert = text(o, "tls-cert");
  config.tls_key = text(o, "tls-key");
  server::server s(config);
  std::cout << "listening on " << s.address() << std::endl;
  server::log(server::log_level::info, "listening address=" + s.address() +
                                           " db=" + config.db.string() +
                                           (config.tls_cert.empty() ? "" : " tls=on"));
  s.run();
  return exit_ok;
}

// The options a published figure depends on: the view and k, and the
// language of its labels.
po::options_description view_options() {
  po::options_description o("View");
  o.add_options()("view", one_of("--view", {"internal", "public"}, "internal"),
                  "internal: every figure; public: safe to publish (small cells hidden, audited)")(
      "lang", one_of("--lang", {"en", "sl"}, "en"), "the labels' language: English or Slovenian")(
      "public-k",
      po::value<long long>()->default_value(5)->value_name("K")->notifier(
          [](long long k) { cl::require_range("--public-k", k, 2, 1000); }),
      "the public view hides cells of fewer than K persons (or records)");
  return o;
}

server::presentation view_of(const po::variables_map& o) {
  return {
      text(o, "view") == "public" ? server::tally_view::published : server::tally_view::internal,
      *parse_language(text(o, "lang"))};
}

// A tally report (report_json's shape) as an aligned table: a title line,
// then a header, a line per row (subtotal rows first, their rows indented
// under them) and the total, numbers right-aligned.
void print_tally_table(const boost::json::object& report) {
  namespace json = boost::json;
  const auto str = [](const json::value& v) {
    return v.is_string() ? std::string(v.get_string()) : std::string();
  };
  std::vector<std::string> measures, titles;  // ids, labels
  for (const auto& m : report.at("measures").as_array()) {
    measures.push_back(str(m.at("id")));
    titles.push_back(str(m.at("title")));
  }
  const std::string total = str(report.at("total_label"));
  std::vector<std::pair<std::string, std::string>> columns;  // code, label
  for (const auto& c : report.at("columns").as_array())
    columns.emplace_back(str(c.at("code")), str(c.at("label")));
  std::string rows_title;
  for (const auto& r : report.at("row_labels").as_array())
    rows_title += (rows_title.empty() ? "" : " / ") + str(r);
  const auto numbers = [&](const json::value& values) {
    std::vector<std::string> out;
    for (const auto& m : measures) {
      const auto* n = values.as_object().if_contains(m);
      out.push_back(!n ? "0" : n->is_string() ? std::string(n->get_string()) : json::serialize(*n));
    }
    return out;
  };
  std::vector<std::vector<std::string>> table{{rows_title}};
  for (const auto& [code, label] : columns)
    for (const auto& m : titles) table[0].push_back(titles.size() == 1 ? label : label + ": " + m);
  for (const auto& m : titles)
    table[0].push_back(columns.empty() ? m : titles.size() == 1 ? total : total + ": " + m);
  const auto line = [&](std::string first, const json::object& row_or_totals,
                        const json::value& total) {
    std::vector<std::string> cells{std::move(first)};
    if (const auto* by_column = row_or_totals.if_contains("by_column"))
      for (const auto& [code, label] : columns)
        for (auto& n : numbers(by_column->as_object().at(code))) cells.push_back(std::move(n));
    for (auto& n : numbers(total)) cells.push_back(std::move(n));
    table.push_back(std::move(cells));
  };
  for (const auto& row : report.at("table").as_array()) {
    const auto& r = row.as_object();
    const auto depth = static_cast<std::size_t>(r.at("depth").to_number<std::int64_t>());
    line(std::string(2 * (depth - 1), ' ') + str(r.at("label")), r, r.at("total"));
  }
  json::object totals;
  if (!columns.empty()) totals["by_column"] = report.at("column_totals");
  line(total, totals, report.at("total"));

  for (auto& row : table)
    for (auto& cell : row) cell = printable(cell);
  std::vector<std::size_t> width(table[0].size(), 0);
  for (const auto& row : table)
    for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  const auto& month = report.at("month");
  std::cout << printable(str(report.at("title"))) << ", "
            << report.at("year").to_number<std::int64_t>()
            << (month.is_null() ? "" : "-" + std::to_string(month.to_number<std::int64_t>()))
            << "\n\n";
  for (const auto& row : table) {
    std::string out = row[0] + std::string(width[0] - row[0].size(), ' ');
    for (std::size_t i = 1; i < row.size(); ++i)
      out += "  " + std::string(width[i] - row[i].size(), ' ') + row[i];
    std::cout << out << "\n";
  }
}

// rest: "tally" and the tally id.
int tally(const po::variables_map& o, const std::vector<std::string>& rest) {
  const std::string year_text = text(o, "year");
  if (const auto problem = server::year_problem("--year", year_text); !problem.empty())
    throw usage_error(problem);
  const int year = *server::four_digit_year(year_text);
  std::optional<int> month;
  if (o.count("month")) month = static_cast<int>(o["month"].as<long long>());
  const std::string format = text(o, "format");
  const auto record_schema = load_schema(o);
  auto store = server::open_sqlite_store(text(o, "db"), record_schema);
  store->refresh();
  const server::tally_reports tallies(*store, record_schema, o["public-k"].as<long long>());
  auto report = format == "csv"     ? tallies.csv(rest[1], year, month, view_of(o))
                : format == "codes" ? tallies.codes_csv(rest[1], year, month, view_of(o))
                                    : tallies.json(rest[1], year, month, view_of(o));
  if (!report) throw failure(report.err());
  if (format == "table")
    print_tally_table(boost::json::parse(report.value()).as_object());
  else
    std::cout << report.value() << (format == "json" ? "\n" : "");
  return exit_ok;
}

int annual_report(const po::variables_map& o, const std::vector<std::string>&) {
  const std::string year_text = text(o, "year");
  if (const auto problem = server::year_problem("--year", year_text); !problem.empty())
    throw usage_error(problem);
  const auto record_schema = load_schema(o);
  auto store = server::open_sqlite_store(text(o, "db"), record_schema);
  store->refresh();
  const server::tally_reports tallies(*store, record_schema, o["public-k"].as<long long>());
  const int year = *server::four_digit_year(year_text);
  std::optional<int> from;
  if (o.count("from")) {
    const std::string from_text = text(o, "from");
    if (const auto problem = server::year_problem("--from", from_text); !problem.empty())
      throw usage_error(problem);
    from = *server::four_digit_year(from_text);
    if (const auto problem = server::years_problem("--from", *from, "--year", year);
        !problem.empty())
      throw usage_error(problem);
  }
  auto html = tallies.html(year, view_of(o), from);
  if (!html) throw failure(html.err());
  if (!o.count("out")) {
    std::cout << html.value();
    return exit_ok;
  }
  const std::string out = text(o, "out");
  std::ofstream file(out, std::ios::binary | std::ios::trunc);
  if (!(file << html.value()) || !file.flush())
    throw failure(errc::store, "cannot write " + out + ": check the folder exists and is writable");
  std::cout << "wrote " << out << " (" << text(o, "view") << " view; open it in a browser, print "
            << "to PDF for A4)\n";
  return exit_ok;
}

int tallies(const po::variables_map& o, const std::vector<std::string>&) {
  const auto record_schema = load_schema(o);
  const auto store = server::open_sqlite_store(text(o, "db"), record_schema);
  const std::string list = server::tally_reports(*store, record_schema).list_json();
  if (text(o, "format") == "json") {
    std::cout << list << "\n";
    return exit_ok;
  }
  std::vector<std::vector<std::string>> rows{{"TALLY", "RECORD TYPE", "TITLE"}};
  const boost::json::value parsed = boost::json::parse(list);
  for (const auto& t : parsed.as_array())
    rows.push_back({std::string(t.at("id").as_string()), std::string(t.at("type").as_string()),
                    std::string(t.at("title").as_string())});
  print_table(std::move(rows));
  return exit_ok;
}

int dev_cert(const po::variables_map& o, const std::vector<std::string>&) {
  auto request = server::dev_cert_request_of(o);
  if (!request) throw usage_error(request.err().message);
  if (auto written = server::write_dev_cert(request.value()); !written)
    throw failure(written.err());
  std::cout << "wrote " << request->cert.string() << " and " << request->key.string()
            << " (self-signed, " << request->days << " days); devices pin it with haven sync --ca "
            << request->cert.string() << "\n";
  return exit_ok;
}

po::options_description with_store(po::options_description own) {
  own.add(store_options());
  return own;
}

const std::map<std::string, command>& commands() {
  static const std::map<std::string, command> table{
      {"tally",
       {"havend --db PATH tally ID --year YYYY [--month M] [--format "
        "table|json|csv|codes] [--view internal|public] [--lang en|sl]",
        "Prints a tally from the store, without a running server: a table, or the JSON and CSV the "
        "HTTP API\n"
        "serves. In CSV, a text cell beginning with = + - @ tab or CR is prefixed with '.",
        [] {
          po::options_description o("Options");
          o.add_options()("year", po::value<std::string>()->required()->value_name("YYYY"),
                          "the year, four digits, 1900-2200")(
              "month", po::value<long long>()->value_name("M")->notifier([](long long m) {
                cl::require_range("--month", m, 1, 12);
              }),
              "one month, 1-12 (default: the whole year)")(
              "format", one_of("--format", {"table", "json", "csv", "codes"}, "table"),
              "how to print it (codes: a CSV of codes for a machine, e.g. the Eurostat return)");
          o.add(view_options());
          return with_store(o);
        },
        {"ID"},
        tally}},
      {"report",
       {"havend --db PATH report --year YYYY [--from YYYY] [--view internal|public] [--lang en|sl] "
        "[--out FILE]",
        "Writes the annual report: every tally of the year with a chart, what it counts, and the "
        "view\n(the public view with its disclosure rule and audit), as one HTML file that prints "
        "to A4.",
        [] {
          po::options_description o("Options");
          o.add_options()("year", po::value<std::string>()->required()->value_name("YYYY"),
                          "the year, four digits, 1900-2200")(
              "from", po::value<std::string>()->value_name("YYYY"),
              "with each tally's years from YYYY to --year side by side")(
              "out", po::value<std::string>()->value_name("FILE"),
              "the file to write (default: standard output)");
          o.add(view_options());
          return with_store(o);
        },
        {},
        annual_report}},
      {"tallies",
       {"havend --db PATH tallies [--format table|json]",
        "Lists the tallies: id, the record type they count, title.",
        [] {
          po::options_description o("Options");
          o.add_options()("format", one_of("--format", {"table", "json"}, "table"),
                          "how to print them");
          return with_store(o);
        },
        {},
        tallies}},
      {"devices",
       {"havend --db PATH devices",
        "Lists the devices: enrolled ones and those that have synced.",
        [] { return with_store(po::options_description("Options")); },
        {},
        devices}},
      {"enroll",
       {"havend --db PATH enroll --name NAME --team TEAM [--role worker|coordinator] [--expires "
        "DURATION] [--json]",
        "Prints a one-time enrollment code for a new device (and as a QR code).",
        [] {
          po::options_description o("Options");
          o.add_options()("name", po::value<std::string>()->required()->value_name("NAME"),
                          "the device or its holder")(
              "team", po::value<std::string>()->required()->value_name("TEAM"),
              "the team it records for")("role",
                                         one_of("--role", {"worker", "coordinator"}, "worker"),
                                         "a coordinator also gets a token for the tallies")(
              "expires", po::value<std::string>()->default_value("24h")->value_name("DURATION"),
              "how long the code is valid: 30m, 24h, 7d")("json", po::bool_switch(),
                                                          "print {\"code\", \"expires\"} instead");
          return with_store(o);
        },
        {},
        enroll}},
      {"token",
       {"havend --db PATH token --name NAME",
        "Prints a coordinator bearer token for the tallies, once; it replaces NAME's earlier "
        "token.",
        [] {
          po::options_description o("Options");
          o.add_options()("name", po::value<std::string>()->required()->value_name("NAME"),
                          "the coordinator it is for");
          return with_store(o);
        },
        {},
        token}},
      {"retire",
       {"havend --db PATH retire DEVICE",
        "A device handed back: it syncs once more, then wipes.",
        [] { return with_store(po::options_description("Options")); },
        {"DEVICE"},
        set_standing}},
      {"revoke",
       {"havend --db PATH revoke DEVICE",
        "A device lost or stolen: refused from now on.",
        [] { return with_store(po::options_description("Options")); },
        {"DEVICE"},
        set_standing}},
      {"audit",
       {"havend --db PATH audit [--limit N]",
        "The audit log (enrollments, refusals, standing changes, tokens), newest first.",
        [] {
          po::options_description o("Options");
          o.add_options()(
              "limit",
              po::value<long long>()->default_value(50)->value_name("N")->notifier([](long long n) {
                cl::require_range("--limit", n, 1, std::numeric_limits<int>::max());
              }),
              "how many entries");
          return with_store(o);
        },
        {},
        audit}},
      {"dev-cert",
       {"havend dev-cert --cert FILE --key FILE [--host NAME]... [--days N]",
        "Writes a self-signed certificate (for localhost, 127.0.0.1, ::1 and each NAME) and its "
        "key,\n"
        "for testing TLS. Never overwrites a file.",
        server::dev_cert_options,
        {},
        dev_cert}},
  };
  return table;
}

po::options_description global_options(server::server_config& config) {
  po::options_description o;
  po::options_description general("General");
  general.add_options()("help,h", po::bool_switch(), "print this help")(
      "version", po::bool_switch(), "print havend's version");
  o.add(general).add(store_options()).add(serve_options(config));
  return o;
}

void print_help(const po::options_description& global) {
  std::cout
      << "havend - the Haven sync server\n\n"
         "usage:\n"
         "  havend --db PATH --listen HOST:PORT [options]\n"
         "      Serves devices on ws://HOST:PORT/sync and the tally on http://HOST:PORT/; with\n"
         "      --tls-cert and --tls-key on wss:// and https:// only. The first line on stdout is\n"
         "      \"listening on HOST:PORT\".\n";
  for (const auto& [name, c] : commands()) std::cout << "  " << c.usage << "\n";
  std::cout
      << "\nThe commands need a store that exists (serving creates one). 'havend COMMAND --help'\n"
         "explains a command.\n\n"
      << global;
}

// Runs `name` with the arguments after it; usage errors are reported as "havend NAME: ...".
int run_command(const std::string& name, const command& c, po::variables_map& o,
                const std::vector<std::string>& args) {
  const std::string program = "havend " + name;
  try {
    po::options_description visible = c.options();
    visible.add_options()("help,h", po::bool_switch(), "print this help");
    po::options_description all(visible);
    po::positional_options_description positional;
    for (const char* a : c.arguments) {
      all.add_options()(a, po::value<std::string>());
      positional.add(a, 1);
    }
    // --help before anything else is checked, so that it answers even on an incomplete line.
    if (std::find(args.begin(), args.end(), "--help") != args.end() ||
        std::find(args.begin(), args.end(), "-h") != args.end()) {
      std::cout << "usage: " << c.usage << "\n\n" << c.help << "\n\n" << visible;
      return exit_ok;
    }
    cl::parse(args, all, positional, o);
    std::vector<std::string> rest{name};
    for (const char* a : c.arguments) {
      if (!o.count(a)) throw usage_error(name + " needs " + a + " (" + c.usage + ")");
      rest.push_back(o[a].as<std::string>());
    }
    if (name != "dev-cert") {
      if (!o.count("db")) throw usage_error("give the store with --db PATH");
      // The commands work on a store havend has served: a path that does not
      // exist is a typo (it would answer "no devices"), never a new store.
      if (!std::filesystem::exists(text(o, "db")))
        throw failure(errc::not_found,
                      "no central store at " + text(o, "db") +
                          ": check the path (havend --db PATH, without a command, creates a store "
                          "and serves it)");
    }
    return c.run(o, rest);
  } catch (const usage_error& e) {
    return cl::report(program, e.what());
  }
}

int run(int argc, char** argv) {
  server::server_config config;
  const po::options_description global = global_options(config);
  po::variables_map o;
  cl::invocation invocation;
  try {
    invocation = cl::parse_global(argc, argv, global, o);
  } catch (const usage_error& e) {
    return cl::report("havend", e.what());
  }
  if (o["help"].as<bool>() || argc == 1) {
    print_help(global);
    return argc == 1 ? exit_usage : exit_ok;
  }
  if (o["version"].as<bool>()) {
    std::cout << "havend " << cl::version() << "\n";
    return exit_ok;
  }
  try {
    if (invocation.command.empty()) {
      if (!o.count("db")) throw usage_error("give the store with --db PATH");
      return serve(o, config);
    }
    const auto serving = serve_options(config);
    for (const auto& option : serving.options()) {
      const auto& given = o[option->long_name()];
      if (!given.empty() && !given.defaulted())
        throw usage_error("--" + option->long_name() +
                          " is for serving (havend --db PATH --listen HOST:PORT), not for " +
                          invocation.command);
    }
  } catch (const usage_error& e) {
    return cl::report("havend", e.what());
  }
  const auto it = commands().find(invocation.command);
  if (it == commands().end())
    return cl::report("havend", "unknown command \"" + printable(invocation.command) + "\"");
  return run_command(it->first, it->second, o, invocation.args);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const usage_error& e) {
    return cl::report("havend", e.what());
  } catch (const failure& f) {
    std::cerr << "havend: " << printable(f.err().message) << "\n";
    for (const auto& issue : f.err().issues)
      std::cerr << "  " << (issue.field.empty() ? "" : printable(issue.field) + ": ")
                << printable(issue.message) << "\n";
    return exit_failed;
  } catch (const std::exception& e) {
    std::cerr << "havend: " << printable(e.what()) << "\n";
    return exit_failed;
  }
}
