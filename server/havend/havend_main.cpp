// havend: the Haven sync server, and offline commands on its store.
#include <chrono>
#include <cstdio>
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <qrencode.h>

#include <boost/json.hpp>
#include <haven/net/loopback.hpp>
#include <haven/server/access_registry.hpp>
#include <haven/server/central_store.hpp>
#include <haven/server/log.hpp>
#include <haven/core/terminal_text.hpp>
#include <haven/server/proxy_protocol.hpp>
#include <haven/server/server.hpp>

#include "dev_cert.hpp"
#include <haven/server/report_year.hpp>

namespace {

using namespace haven;

constexpr int exit_ok = 0, exit_failed = 1, exit_usage = 2;

struct usage_error {
  std::string message;
};

constexpr const char* usage_text =
    "havend - the Haven sync server\n\n"
    "usage:\n"
    "  havend --db PATH --listen HOST:PORT [--schema FILE] [--threads N] [--verbose]\n"
    "         [--max-frame-bytes N] [--handshake-timeout S] [--idle-timeout S]\n"
    "         [--max-connections-per-address N] [--max-connections-per-device N]\n"
    "         [--max-connections N] [--max-batch-records N] [--max-failed-logins N]\n"
    "         [--login-backoff-max S] [--trusted-proxy ADDRESS]... [--tls-cert FILE --tls-key FILE]\n"
    "         [--dev-no-auth]\n"
    "      Serves devices on ws://HOST:PORT/sync and the tally on http://HOST:PORT/;\n"
    "      with --tls-cert and --tls-key (PEM) on wss:// and https:// only. Without TLS\n"
    "      it listens only on a loopback address (127.0.0.1, ::1, localhost).\n"
    "      Port 0 picks a free port. The first line on stdout is \"listening on HOST:PORT\".\n"
    "      Limits (defaults): frames 4194304 bytes, 2000 records per batch (at most 2000;\n"
    "      devices are told), hello within 10 s of connecting, idle 300 s, 5 failed sign-ins per\n"
    "      address, then a back-off doubling from 1 s up to 900 s; connections: 32 per address\n"
    "      not signed in yet (one more closes the address's oldest of them), 4 per device or\n"
    "      coordinator token once signed in (one more replaces its oldest), 2048 in all.\n"
    "      --trusted-proxy ADDRESS (repeatable): a reverse proxy whose word on the client's\n"
    "      address is taken, from that peer only: a PROXY protocol v2 header when the\n"
    "      connection starts with one (nginx stream proxy_protocol on, HAProxy send-proxy-v2),\n"
    "      else the rightmost untrusted X-Forwarded-For entry of each HTTP request. The\n"
    "      per-address limit, back-off and audit log then count the client's address.\n"
    "      From any other peer both are ignored.\n"
    "      --dev-no-auth: no enrollment and no tokens; any device may sync and anyone\n"
    "      may read the tallies. For development, on a loopback address only.\n"
    "  The commands below need a store that exists (serving creates one).\n"
    "  havend --db PATH tally ID --year YYYY [--month M] [--format json|csv]\n"
    "      Prints a tally from the store, without a running server. YYYY is four digits,\n"
    "      1900-2200. In CSV, a text cell beginning with = + - @ tab or CR is prefixed with '.\n"
    "  havend --db PATH tallies      Lists the tallies.\n"
    "  havend --db PATH devices      Lists the devices: enrolled ones and those that have synced.\n"
    "  havend --db PATH enroll --name NAME --team TEAM [--role worker|coordinator]\n"
    "         [--expires DURATION] [--json]\n"
    "      Prints a one-time enrollment code for a new device (and as a QR code), valid\n"
    "      for DURATION (30m, 24h, 7d; default 24h). --json prints {\"code\", \"expires\"}.\n"
    "  havend --db PATH token --name NAME\n"
    "      Prints a coordinator bearer token for the tallies, once; it replaces NAME's\n"
    "      earlier token.\n"
    "  havend --db PATH retire DEVICE   A device handed back: it syncs once more, then wipes.\n"
    "  havend --db PATH revoke DEVICE   A device lost or stolen: refused from now on.\n"
    "  havend --db PATH audit [--limit N]\n"
    "      The audit log (enrollments, refusals, standing changes, tokens), newest first.\n"
    "  havend dev-cert --cert FILE --key FILE [--host NAME]... [--days N]\n"
    "      Writes a self-signed certificate (for localhost, 127.0.0.1, ::1 and each NAME;\n"
    "      30 days by default) and its key, for testing TLS. Never overwrites a file.\n";

// Options as name -> value; flags without a value map to "".
std::map<std::string, std::string> parse_options(const std::vector<std::string>& args, std::vector<std::string>& rest) {
  static const std::map<std::string, bool> known{{"db", true},   {"listen", true}, {"schema", true}, {"threads", true},
                                                 {"max-frame-bytes", true}, {"handshake-timeout", true},
                                                 {"idle-timeout", true}, {"max-connections-per-address", true},
                                                 {"max-connections-per-device", true}, {"max-connections", true},
                                                 {"max-batch-records", true}, {"max-failed-logins", true},
                                                 {"login-backoff-max", true}, {"trusted-proxy", true},
                                                 {"tls-cert", true}, {"tls-key", true},
                                                 {"year", true}, {"month", true},  {"format", true}, {"verbose", false},
                                                 {"help", false}, {"dev-no-auth", false}, {"name", true},
                                                 {"team", true}, {"role", true}, {"expires", true}, {"json", false},
                                                 {"limit", true}};
  std::map<std::string, std::string> out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i].rfind("--", 0) != 0) {
      rest.push_back(args[i]);
      continue;
    }
    std::string name = args[i].substr(2), value;
    if (const auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    } else if (known.count(name) && known.at(name)) {
      if (i + 1 >= args.size()) throw usage_error{"--" + name + " needs a value"};
      value = args[++i];
    }
    if (!known.count(name)) throw usage_error{"unknown option --" + name};
    if (name == "trusted-proxy" && out.count(name)) value = out[name] + "\n" + value;  // repeatable
    out[name] = value;
  }
  return out;
}

int to_int(const std::string& text, const char* what) {
  try {
    std::size_t used = 0;
    const int n = std::stoi(text, &used);
    if (used == text.size()) return n;
  } catch (const std::exception&) {
  }
  throw usage_error{std::string(what) + " must be a number (got \"" + text + "\")"};
}

std::shared_ptr<const schema> load_schema(const std::map<std::string, std::string>& o) {
  return o.count("schema") ? unwrap(schema::load(o.at("schema"))) : schema::builtin();
}

std::string when(std::optional<std::int64_t> ms) {
  return ms ? utc_time(*ms, "%Y-%m-%d %H:%M UTC") : "never";
}

// "2026-05-01T12:00:00Z"
std::string iso_utc(std::int64_t ms) { return utc_time(ms); }

// "30m", "24h", "7d" (or "90s") as seconds.
std::chrono::seconds parse_duration(const std::string& text) {
  const auto bad = usage_error{"--expires takes a duration like 30m, 24h or 7d (got \"" + text + "\")"};
  if (text.size() < 2) throw bad;
  const char unit = text.back();
  const std::int64_t scale = unit == 's' ? 1 : unit == 'm' ? 60 : unit == 'h' ? 3600 : unit == 'd' ? 86400 : 0;
  const std::string digits = text.substr(0, text.size() - 1);
  if (!scale || digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 6) throw bad;
  const std::int64_t n = std::stoll(digits);
  if (n < 1) throw usage_error{"--expires must be at least 1s"};
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

int enroll(const std::map<std::string, std::string>& o) {
  if (!o.count("name") || !o.count("team"))
    throw usage_error{"enroll needs --name NAME (the device or its holder) and --team TEAM"};
  const std::string role_text = o.count("role") ? o.at("role") : "worker";
  const auto role = server::parse_role(role_text);
  if (!role) throw usage_error{"--role is worker or coordinator (got \"" + role_text + "\")"};
  const std::string expires = o.count("expires") ? o.at("expires") : "24h";
  const auto ttl = parse_duration(expires);
  const auto code = server::open_sqlite_registry(o.at("db"))->issue_code(o.at("name"), o.at("team"), *role, ttl, unix_ms_now());
  if (o.count("json")) {
    std::cout << boost::json::serialize(boost::json::object{{"code", code.code}, {"expires", iso_utc(code.expires_ms)}})
              << "\n";
    return exit_ok;
  }
  std::cout << "Enrollment code for \"" << printable(o.at("name")) << "\", a "
            << printable(role_text) << " of team " << printable(o.at("team")) << ":\n\n    "
            << code.code << "\n\n"
            << "Valid once, until " << when(code.expires_ms) << " (" << expires
            << "). Enter it on the device, or scan it:\n\n"
            << qr_code(code.code) << "\nNot shown again; if it is lost, run enroll again.\n";
  return exit_ok;
}

int token(const std::map<std::string, std::string>& o) {
  if (!o.count("name")) throw usage_error{"token needs --name NAME (the coordinator it is for)"};
  const std::string t = server::open_sqlite_registry(o.at("db"))->issue_token(o.at("name"), unix_ms_now());
  std::cout << "Coordinator token for \"" << o.at("name") << "\" (shown only now; it replaces any earlier one):\n\n    "
            << t << "\n\n"
            << "Send it with every request for the tallies as the header\n"
            << "    Authorization: Bearer " << t << "\n"
            << "e.g. curl -H \"Authorization: Bearer " << t << "\" http://HOST:PORT/api/tallies\n"
            << "The dashboard at http://HOST:PORT/ asks for it. Keep it like a password.\n";
  return exit_ok;
}

int set_standing(const std::map<std::string, std::string>& o, const std::vector<std::string>& rest) {
  if (rest.size() != 2) throw usage_error{rest[0] + " needs one device id (havend --db PATH devices lists them)"};
  const bool revoke = rest[0] == "revoke";
  const auto d = server::open_sqlite_registry(o.at("db"))
                     ->set_standing(rest[1], revoke ? server::device_standing::revoked : server::device_standing::retired,
                                    unix_ms_now());
  std::cout << "Device " << printable(d.device_id) << " (\"" << printable(d.name) << "\", team "
            << printable(d.team) << ") is now " << server::to_string(d.standing) << ".\n";
  if (!revoke) {
    std::cout << "When it next syncs, its pending changes are accepted; then it is told to erase its store.\n";
    return exit_ok;
  }
  std::optional<std::int64_t> last_sync;
  for (const auto& seen : server::open_sqlite_store(o.at("db"), load_schema(o))->devices())
    if (seen.device_id == d.device_id) last_sync = seen.last_sync_ms;
  std::cout << "It can no longer sync; if it connects, it is told to erase its store.\n";
  if (last_sync)
    std::cout << "Its last sync was " << when(last_sync) << ": changes it recorded after " << when(last_sync)
              << " are lost with the device.\n";
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

int devices(const std::map<std::string, std::string>& o) {
  auto enrolled = server::open_sqlite_registry(o.at("db"))->devices();
  const auto seen = server::open_sqlite_store(o.at("db"), load_schema(o))->devices();
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
    std::vector<std::string> row{d.device_id, "\"" + d.name + "\"", d.team, std::string(server::to_string(d.role)),
                                 std::string(server::to_string(d.standing))};
    for (auto& cell : sync_cells(it == by_id.end() ? nullptr : it->second)) row.push_back(std::move(cell));
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

int audit(const std::map<std::string, std::string>& o) {
  const int limit = o.count("limit") ? to_int(o.at("limit"), "--limit") : 50;
  if (limit < 1) throw usage_error{"--limit must be at least 1"};
  for (const auto& e : server::open_sqlite_registry(o.at("db"))->audit_log(static_cast<std::size_t>(limit)))
    std::cout << iso_utc(e.at_ms) << "  " << printable(e.event) << "  " << printable(e.subject)
              << (e.address.empty() ? "" : "  from " + printable(e.address)) << "  "
              << printable(e.detail) << "\n";
  return exit_ok;
}

// True for 127.0.0.0/8, ::1 and localhost.
int serve(const std::map<std::string, std::string>& o) {
  if (!o.count("listen")) throw usage_error{"give the address to serve on with --listen HOST:PORT (e.g. 127.0.0.1:8080)"};
  const std::string listen = o.at("listen");
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) throw usage_error{"--listen takes HOST:PORT (got \"" + listen + "\")"};
  server::server_config config;
  config.db = o.at("db");
  config.host = listen.substr(0, colon);
  if (config.host.size() > 2 && config.host.front() == '[') config.host = config.host.substr(1, config.host.size() - 2);
  const int port = to_int(listen.substr(colon + 1), "the port");
  if (port < 0 || port > 65535) throw usage_error{"the port must be 0-65535"};
  config.port = static_cast<std::uint16_t>(port);
  config.record_schema = load_schema(o);
  if (o.count("dev-no-auth")) {
    if (!streams::is_loopback_host(config.host))
      throw usage_error{"--dev-no-auth lets anyone sync and read the tallies, so it listens only on a loopback "
                        "address (127.0.0.1, ::1, localhost), not on \"" + config.host + "\""};
    config.authenticate = false;
    std::cerr << "havend: WARNING: --dev-no-auth: authentication is OFF. Any device may sync and anyone may read "
                 "the tallies. Never use this with real data.\n";
  }
  if (o.count("threads")) config.threads = static_cast<unsigned>(std::max(1, to_int(o.at("threads"), "--threads")));
  if (o.count("verbose")) server::set_log_level(server::log_level::debug);
  auto positive = [&](const char* name) {
    const int n = to_int(o.at(name), name);
    if (n < 1) throw usage_error{std::string("--") + name + " must be at least 1"};
    return n;
  };
  if (o.count("max-frame-bytes")) {
    const int bytes = positive("max-frame-bytes");
    if (bytes < 65536) throw usage_error{"--max-frame-bytes must be at least 65536"};
    config.limits.max_frame_bytes = static_cast<std::size_t>(bytes);
  }
  if (o.count("handshake-timeout")) config.handshake_timeout = std::chrono::seconds(positive("handshake-timeout"));
  if (o.count("idle-timeout")) config.idle_timeout = std::chrono::seconds(positive("idle-timeout"));
  if (o.count("max-connections-per-address"))
    config.connections.per_address = static_cast<unsigned>(positive("max-connections-per-address"));
  if (o.count("max-connections-per-device"))
    config.connections.per_credential =
        static_cast<unsigned>(positive("max-connections-per-device"));
  if (o.count("max-connections"))
    config.connections.total = static_cast<unsigned>(positive("max-connections"));
  if (o.count("max-batch-records")) {
    const int records = positive("max-batch-records");
    // Devices decode pull batches with the protocol's own limit, whatever this one is.
    const auto device_limit = sync::frame_limits{}.max_records;
    if (static_cast<std::size_t>(records) > device_limit)
      throw usage_error{"--max-batch-records must be at most " + std::to_string(device_limit) +
                        ", the most records a device takes in one batch"};
    config.limits.max_records = static_cast<std::size_t>(records);
  }
  if (o.count("max-failed-logins"))
    config.login.free_failures = static_cast<unsigned>(positive("max-failed-logins"));
  if (o.count("login-backoff-max"))
    config.login.max_backoff = std::chrono::seconds(positive("login-backoff-max"));
  if (o.count("trusted-proxy")) {
    std::istringstream proxies(o.at("trusted-proxy"));
    for (std::string address; std::getline(proxies, address);) {
      if (!server::canonical_address(address))
        throw usage_error{"--trusted-proxy takes the proxy's IP address (got \"" + address + "\")"};
      config.trusted_proxies.push_back(address);
    }
  }
  if (o.count("tls-cert")) config.tls_cert = o.at("tls-cert");
  if (o.count("tls-key")) config.tls_key = o.at("tls-key");
  server::server s(config);
  std::cout << "listening on " << s.address() << std::endl;
  server::log(server::log_level::info, "listening address=" + s.address() + " db=" + config.db.string() +
                                           (config.tls_cert.empty() ? "" : " tls=on"));
  s.run();
  return exit_ok;
}

int tally(const std::map<std::string, std::string>& o, const std::vector<std::string>& rest) {
  if (rest.size() != 2) throw usage_error{"tally needs one tally id (havend --db PATH tallies lists them)"};
  if (!o.count("year")) throw usage_error{"tally needs --year YYYY"};
  if (const auto problem = server::year_problem("--year", o.at("year")); !problem.empty())
    throw usage_error{problem};
  const int year = *server::four_digit_year(o.at("year"));
  std::optional<int> month;
  if (o.count("month")) month = to_int(o.at("month"), "--month");
  const std::string format = o.count("format") ? o.at("format") : "json";
  if (format != "json" && format != "csv") throw usage_error{"--format is json or csv"};
  auto store = server::open_sqlite_store(o.at("db"), load_schema(o));
  store->refresh_tally();
  auto report = format == "csv" ? store->tally_csv(rest[1], year, month) : store->tally_json(rest[1], year, month);
  if (!report) throw failure(report.err());
  std::cout << report.value() << (format == "json" ? "\n" : "");
  return exit_ok;
}

int dev_cert(const std::vector<std::string>& args) {
  if (std::find(args.begin(), args.end(), "--help") != args.end()) {
    std::cout << usage_text;
    return exit_ok;
  }
  auto request = server::parse_dev_cert_args(args);
  if (!request) throw usage_error{request.err().message};
  if (auto written = server::write_dev_cert(request.value()); !written) throw failure(written.err());
  std::cout << "wrote " << request->cert.string() << " and " << request->key.string()
            << " (self-signed, " << request->days << " days); devices pin it with haven sync --ca "
            << request->cert.string() << "\n";
  return exit_ok;
}

int run(int argc, char** argv) {
  if (argc > 1 && std::string_view(argv[1]) == "dev-cert") return dev_cert({argv + 2, argv + argc});
  std::vector<std::string> rest;
  const auto o = parse_options({argv + 1, argv + argc}, rest);
  if (o.count("help") || argc == 1) {
    std::cout << usage_text;
    return argc == 1 ? exit_usage : exit_ok;
  }
  if (!o.count("db")) throw usage_error{"give the store with --db PATH"};
  if (rest.empty()) return serve(o);
  // The commands work on a store havend has served: a path that does not
  // exist is a typo (it would answer "no devices"), never a new store.
  if (!std::filesystem::exists(o.at("db")))
    throw failure(errc::not_found, "no central store at " + o.at("db") +
                                       ": check the path (havend --db PATH, without a command, creates a store and "
                                       "serves it)");
  if (rest[0] == "tally") return tally(o, rest);
  if (rest[0] == "tallies") {
    std::cout << server::open_sqlite_store(o.at("db"), load_schema(o))->tally_list_json() << "\n";
    return exit_ok;
  }
  if (rest[0] == "devices") return devices(o);
  if (rest[0] == "enroll") return enroll(o);
  if (rest[0] == "token") return token(o);
  if (rest[0] == "retire" || rest[0] == "revoke") return set_standing(o, rest);
  if (rest[0] == "audit") return audit(o);
  throw usage_error{"unknown command \"" + rest[0] + "\""};
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const usage_error& e) {
    std::cerr << "havend: " << e.message << "\n\n" << usage_text;
    return exit_usage;
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
