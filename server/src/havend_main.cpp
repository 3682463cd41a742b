// havend: the Haven sync server, and offline commands on its store.
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <haven/server/central_store.hpp>
#include <haven/server/log.hpp>
#include <haven/server/server.hpp>

#include "dev_cert.hpp"

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
    "         [--max-connections-per-address N] [--tls-cert FILE --tls-key FILE]\n"
    "      Serves devices on ws://HOST:PORT/sync and the tally on http://HOST:PORT/;\n"
    "      with --tls-cert and --tls-key (PEM) on wss:// and https:// only. Without TLS\n"
    "      it listens only on a loopback address (127.0.0.1, ::1, localhost).\n"
    "      Port 0 picks a free port. The first line on stdout is \"listening on HOST:PORT\".\n"
    "      Limits (defaults): frames 4194304 bytes, hello within 10 s, idle 300 s,\n"
    "      32 connections per address.\n"
    "  havend --db PATH tally ID --year YYYY [--month M] [--format json|csv]\n"
    "      Prints a tally from the store, without a running server.\n"
    "  havend --db PATH tallies      Lists the tallies.\n"
    "  havend --db PATH devices      Lists the devices that have synced.\n"
    "  havend dev-cert --cert FILE --key FILE [--host NAME]... [--days N]\n"
    "      Writes a self-signed certificate (for localhost, 127.0.0.1, ::1 and each NAME;\n"
    "      30 days by default) and its key, for testing TLS. Never overwrites a file.\n";

// Options as name -> value; flags without a value map to "".
std::map<std::string, std::string> parse_options(const std::vector<std::string>& args, std::vector<std::string>& rest) {
  static const std::map<std::string, bool> known{{"db", true},   {"listen", true}, {"schema", true}, {"threads", true},
                                                 {"max-frame-bytes", true}, {"handshake-timeout", true},
                                                 {"idle-timeout", true}, {"max-connections-per-address", true},
                                                 {"tls-cert", true}, {"tls-key", true},
                                                 {"year", true}, {"month", true},  {"format", true}, {"verbose", false},
                                                 {"help", false}};
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
  if (!ms) return "never";
  const std::time_t t = static_cast<std::time_t>(*ms / 1000);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &utc);
  return buf;
}

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
    config.max_connections_per_address = static_cast<unsigned>(positive("max-connections-per-address"));
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
  const int year = to_int(o.at("year"), "--year");
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
  if (rest[0] == "tally") return tally(o, rest);
  if (rest[0] == "tallies") {
    std::cout << server::open_sqlite_store(o.at("db"), load_schema(o))->tally_list_json() << "\n";
    return exit_ok;
  }
  if (rest[0] == "devices") {
    for (const auto& d : server::open_sqlite_store(o.at("db"), load_schema(o))->devices())
      std::cout << d.device_id << "  team " << d.team << "  last seen " << when(d.last_seen_ms) << "  last sync "
                << when(d.last_sync_ms) << "  pushed up to " << d.acked_seq << "\n";
    return exit_ok;
  }
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
    std::cerr << "havend: " << f.err().describe() << "\n";
    return exit_failed;
  } catch (const std::exception& e) {
    std::cerr << "havend: " << e.what() << "\n";
    return exit_failed;
  }
}
