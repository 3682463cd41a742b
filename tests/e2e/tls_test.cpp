// TLS end to end: a real havend serving wss:// and https:// with a pair
// made by the real `havend dev-cert`; devices that pin the certificate sync,
// devices that do not trust it refuse and change nothing; no plain text
// leaves a device or havend for anything but loopback.
#include <signal.h>
#include <sys/stat.h>

#include <boost/asio/ssl.hpp>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <haven/client/store.hpp>
#include <haven/client/sync_client.hpp>
#include <haven/net/streams.hpp>
#include <sstream>

#include "../support/cutting_proxy.hpp"
#include "../support/havend_process.hpp"
#include "../support/https_client.hpp"
#include "../support/process.hpp"
#include "../support/tls_relay.hpp"
#include "shell_fixture.hpp"

namespace haven::test {
namespace {

std::string slurp(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A certificate and key written by the real `havend dev-cert`.
struct dev_pair {
  std::string cert, key, pem;
  dev_pair(const temp_dir& dir, const std::string& name)
      : cert(dir.file(name + ".crt")), key(dir.file(name + ".key")) {
    const run_result r = run({HAVEND_PATH, "dev-cert", "--cert", cert, "--key", key});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    pem = slurp(cert);
  }
  std::vector<std::string> flags() const { return {"--tls-cert", cert, "--tls-key", key}; }
};

// Starts havend with `args` (stderr joined to stdout) and returns its first
// line and exit code; a havend that serves is killed and shows as "listening on".
std::pair<std::string, int> havend_refusal(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"/bin/sh", "-c", "exec \"$@\" 2>&1", "sh", HAVEND_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  child c(argv);
  std::string line;
  c.read_line(line);
  if (line.rfind("listening on", 0) == 0) c.kill_group(SIGTERM);
  return {line, c.wait()};
}

client::record_input session_record(const std::string& person) {
  return {"pats_session",
          "",
          {{"date", "2026-03-02"},
           {"site", "vic"},
           {"format", "individual"},
           {"person", person},
           {"nationality", "UA"}}};
}

result<client::sync_summary> sync(client::store& db, const std::string& url,
                                  const std::string& ca_pem) {
  client::sync_options o;
  o.server_url = url;
  o.ca_pem = ca_pem;
  o.connect_timeout = std::chrono::seconds(5);
  o.idle_timeout = std::chrono::seconds(20);
  return client::sync_now(db, o);
}

std::string wss_url(const havend_process& server) {
  return "wss://" + server.address() + "/sync";
}

// What a failed sync must leave as it was.
struct store_snapshot {
  std::size_t records = 0, pending = 0;
  std::uint64_t acked = 0, pulled = 0;
  std::optional<std::int64_t> last_sync;
  explicit store_snapshot(client::store& db) {
    const auto s = db.status().value();
    records = s.records, pending = s.pending_cells, acked = s.acked_seq, pulled = s.pulled_seq;
    last_sync = s.last_sync_ms;
  }
  bool operator==(const store_snapshot&) const = default;
};

// A havend serving TLS with a pair from dev-cert, and a field device holding one record.
struct tls_fixture {
  temp_dir dir;
  dev_pair pair{dir, "havend"};
  havend_process server{dir.file("central.db"), pair.flags()};
  std::unique_ptr<client::store> field =
      client::store::create(dir.file("field.db"), "outreach").value();
  tls_fixture() { REQUIRE(field->add(session_record("PK-T1S-0001N")).ok()); }
};

TEST_CASE_METHOD(tls_fixture,
                 "a device that pins havend's dev-cert syncs over wss, and havend serves https",
                 "[e2e][tls]") {
  REQUIRE(field->add(session_record("PK-T1S-0002K")).ok());

  auto pushed = sync(*field, wss_url(server), pair.pem);
  INFO((pushed ? "" : pushed.err().describe()));
  REQUIRE(pushed.ok());
  CHECK(pushed->progress.changes_up > 0);
  CHECK(pushed->pending_after == 0);

  // A second device of the team pulls them, over TLS too.
  auto office = client::store::create(dir.file("office.db"), "outreach").value();
  auto pulled = sync(*office, wss_url(server), pair.pem);
  INFO((pulled ? "" : pulled.err().describe()));
  REQUIRE(pulled.ok());
  CHECK(office->list()->size() == 2);

  // The HTTP API is on the same port, over TLS.
  const http_response health = https_get(server.address(), "/healthz", pair.pem);
  CHECK(health.status == 200);
  CHECK(has(health.body, "\"records\":2"));
  CHECK(https_get(server.address(), "/api/tallies", pair.pem).status == 200);
}

TEST_CASE_METHOD(
    tls_fixture,
    "a device refuses a server whose certificate it does not trust, and changes nothing",
    "[e2e][tls]") {
  const dev_pair stranger(dir, "stranger");
  const store_snapshot before(*field);

  SECTION("pinned to another certificate") {
    auto r = sync(*field, wss_url(server), stranger.pem);
    REQUIRE_FALSE(r.ok());
    INFO(r.err().describe());
    CHECK(r.err().code == errc::unauthorized);
    CHECK(has(r.err().message, "the server's certificate is not trusted ("));
    CHECK(has(r.err().message, "pin the server's certificate with --ca FILE"));
  }
  SECTION("trusting the system's authorities only") {
    auto r = sync(*field, wss_url(server), "");
    REQUIRE_FALSE(r.ok());
    INFO(r.err().describe());
    CHECK(r.err().code == errc::unauthorized);
    CHECK(has(r.err().message, "not trusted"));
  }
  CHECK(store_snapshot(*field) == before);
  CHECK(https_get(server.address(), "/healthz", pair.pem).body.find("\"records\":0") !=
        std::string::npos);
}

TEST_CASE_METHOD(tls_fixture,
                 "plain ws to havend's TLS port fails cleanly, and havend goes on serving TLS",
                 "[e2e][tls]") {
  const store_snapshot before(*field);

  auto plain = sync(*field, server.sync_url(), pair.pem);
  REQUIRE_FALSE(plain.ok());
  INFO(plain.err().describe());
  CHECK(plain.err().code == errc::unavailable);
  CHECK(has(plain.err().message, "use wss://"));
  CHECK(store_snapshot(*field) == before);

  auto secure = sync(*field, wss_url(server), pair.pem);
  INFO((secure ? "" : secure.err().describe()));
  CHECK(secure.ok());
}

TEST_CASE("a device refuses a certificate that does not name the address it connects to",
          "[e2e][tls]") {
  temp_dir dir;
  const dev_pair pair(dir, "havend");  // for localhost, 127.0.0.1 and ::1
  child server({"/bin/sh", "-c", "exec \"$@\" 2>/dev/null", "sh", HAVEND_PATH, "--db",
                dir.file("central.db"), "--listen", "127.0.0.2:0", "--tls-cert", pair.cert,
                "--tls-key", pair.key});
  std::string line;
  REQUIRE(server.read_line(line));
  REQUIRE(line.rfind("listening on 127.0.0.2:", 0) == 0);
  auto field = client::store::create(dir.file("field.db"), "outreach").value();
  auto r =
      sync(*field, "wss://" + line.substr(std::string("listening on ").size()) + "/sync", pair.pem);
  REQUIRE_FALSE(r.ok());
  INFO(r.err().describe());
  CHECK(r.err().code == errc::unauthorized);
  CHECK(has(r.err().message, "(hostname mismatch: it is not for 127.0.0.2)"));
  server.kill_group(SIGTERM);
  server.wait();
}

TEST_CASE("a device refuses to send records unencrypted to any host but loopback", "[e2e][tls]") {
  temp_dir dir;
  auto field = client::store::create(dir.file("field.db"), "outreach").value();
  REQUIRE(field->add(session_record("PK-T1S-0005D")).ok());
  const store_snapshot before(*field);
  auto r = sync(*field, "ws://192.0.2.7:8080/sync", "");
  REQUIRE_FALSE(r.ok());
  CHECK(r.err().code == errc::invalid_input);
  CHECK(r.err().message == "refusing to send records unencrypted to 192.0.2.7; use wss://");
  CHECK(store_snapshot(*field) == before);
}

TEST_CASE("havend refuses to listen on a non-loopback address without TLS", "[e2e][tls]") {
  temp_dir dir;
  const auto [line, code] =
      havend_refusal({"--db", dir.file("central.db"), "--listen", "0.0.0.0:0"});
  INFO(line);
  CHECK(code != 0);
  CHECK(has(line, "refusing to listen on 0.0.0.0 without TLS"));
  CHECK(has(line, "--tls-cert FILE --tls-key FILE"));
}

TEST_CASE("havend names a certificate or key it cannot use", "[e2e][tls]") {
  temp_dir dir;
  const dev_pair pair(dir, "havend");
  const dev_pair stranger(dir, "stranger");
  const std::string db = dir.file("central.db");
  auto listen = [&](const std::string& cert, const std::string& key) {
    return havend_refusal(
        {"--db", db, "--listen", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key});
  };
  {
    const auto [line, code] = listen(pair.cert, dir.file("missing.key"));
    CHECK(code != 0);
    CHECK(line == "havend: cannot load --tls-key " + dir.file("missing.key") +
                      ": No such file or directory");
  }
  {
    const auto [line, code] = listen(pair.cert, stranger.key);
    CHECK(code != 0);
    CHECK(line == "havend: cannot load --tls-key " + stranger.key +
                      ": it is not the private key of the certificate in " + pair.cert);
  }
  {
    const auto [line, code] = listen(pair.key, pair.key);
    CHECK(code != 0);
    CHECK(has(line, "havend: cannot load --tls-cert " + pair.key + ": not a PEM certificate"));
  }
}

TEST_CASE("dev-cert writes a private key only its owner reads, and never overwrites",
          "[e2e][tls]") {
  temp_dir dir;
  const dev_pair pair(dir, "havend");
  struct stat key_stat {};
  REQUIRE(stat(pair.key.c_str(), &key_stat) == 0);
  CHECK((key_stat.st_mode & 0777) == 0600);
  CHECK(has(pair.pem, "-----BEGIN CERTIFICATE-----"));
  const run_result help = run({HAVEND_PATH, "dev-cert", "--help"});
  CHECK(help.exit_code == 0);
  CHECK(has(help.out, "havend dev-cert --cert FILE --key FILE"));
  const std::string key_before = slurp(pair.key);

  const run_result again =
      run({HAVEND_PATH, "dev-cert", "--cert", dir.file("other.crt"), "--key", pair.key});
  CHECK(again.exit_code != 0);
  CHECK(has(again.err, pair.key + " exists; dev-cert never overwrites a file"));
  CHECK(slurp(pair.key) == key_before);
  CHECK_FALSE(std::filesystem::exists(dir.file("other.crt")));
}

TEST_CASE("haven sync --ca pins the certificate from the shell", "[e2e][tls][shell]") {
  shell device;
  const dev_pair pair(device.dir(), "havend");
  havend_process server(device.dir().file("central.db"), pair.flags());
  device.ok({"init", "--team", "outreach"});
  device.ok({"add", "--quiet", "pats_session", "date=2026-03-02", "site=vic", "format=individual",
             "person=PK-T1S-0006B"});

  const run_result untrusted = device({"sync", "--server", wss_url(server)});
  CHECK(untrusted.exit_code == 1);
  CHECK(has(untrusted.err, "sync failed: the server's certificate is not trusted"));

  const std::string out = device.ok({"sync", "--server", wss_url(server), "--ca", pair.cert});
  CHECK(has(out, "synced: pushed "));
  CHECK(has(out, "; 0 pending"));
}

TEST_CASE_METHOD(tls_fixture,
                 "haven enroll over https checks the server's certificate before it sends the code",
                 "[e2e][tls][enroll]") {
  shell device;
  const std::string url = "https://" + server.address();
  const run_result untrusted = device({"enroll", "--server", url, "--code", "K7-Q2M-19"});
  CHECK(untrusted.exit_code == 1);
  CHECK(
      has(untrusted.err,
          "enrollment failed: the server's certificate is not trusted (self-signed certificate)"));
  CHECK_FALSE(std::filesystem::exists(device.db()));

  // Pinned, the request reaches havend, whose answer (whatever it makes of this code) is reported.
  const run_result pinned =
      device({"enroll", "--server", url, "--code", "K7-Q2M-19", "--ca", pair.cert});
  CHECK(pinned.exit_code == 1);
  CHECK(has(pinned.err,
            "enrollment failed: the server at " + server.address() + " refused the enrollment: "));
}

// Both ends of one TLS connection over 127.0.0.1, handshaken in process; the
// client's context is given `configure` first (to limit its version or options).
struct tls_connection {
  boost::asio::io_context ioc;
  boost::asio::ssl::context server_ctx{boost::asio::ssl::context::tls_server};
  boost::asio::ssl::context client_ctx{boost::asio::ssl::context::tls_client};
  std::optional<streams::tls_stream> server_end, client_end;

  tls_connection(const dev_pair& pair, const std::function<void(SSL_CTX*)>& configure) {
    namespace net = boost::asio;
    server_ctx.use_certificate_chain_file(pair.cert);
    server_ctx.use_private_key_file(pair.key, net::ssl::context::pem);
    configure(client_ctx.native_handle());
    net::ip::tcp::acceptor acceptor(ioc, {net::ip::make_address("127.0.0.1"), 0});
    server_end.emplace(net::ip::tcp::socket(ioc), server_ctx);
    client_end.emplace(net::ip::tcp::socket(ioc), client_ctx);
    beast_error server_ec, client_ec;
    acceptor.async_accept(server_end->next_layer().socket(), [&](beast_error ec) {
      if (ec) return void(server_ec = ec);
      server_end->async_handshake(net::ssl::stream_base::server,
                                  [&](beast_error ec) { server_ec = ec; });
    });
    client_end->next_layer().socket().async_connect(acceptor.local_endpoint(), [&](beast_error ec) {
      if (ec) return void(client_ec = ec);
      client_end->async_handshake(net::ssl::stream_base::client,
                                  [&](beast_error ec) { client_ec = ec; });
    });
    ioc.run_for(std::chrono::seconds(10));
    INFO(server_ec.message() << " / " << client_ec.message());
    REQUIRE((!server_ec && !client_ec));
  }
  using beast_error = boost::system::error_code;
};

TEST_CASE(
    "the channel binding is the same at both ends of a connection, and only where TLS makes it "
    "unique",
    "[e2e][tls][security]") {
  temp_dir dir;
  const dev_pair pair(dir, "havend");
  const auto any = [](SSL_CTX*) {};
  const auto tls12 = [](SSL_CTX* c) { SSL_CTX_set_max_proto_version(c, TLS1_2_VERSION); };
  SECTION(
      "TLS 1.3, and TLS 1.2 with the extended master secret: both ends agree; another connection "
      "differs") {
    for (const auto& configure :
         {std::function<void(SSL_CTX*)>(any), std::function<void(SSL_CTX*)>(tls12)}) {
      tls_connection one(pair, configure), two(pair, configure);
      const std::string binding = streams::channel_binding(*one.client_end);
      CHECK(binding.size() == 32);
      CHECK(streams::channel_binding(*one.server_end) == binding);
      CHECK(streams::channel_binding(*two.client_end) != binding);
    }
  }
  SECTION("TLS 1.2 without the extended master secret: neither end binds") {
    tls_connection weak(pair, [](SSL_CTX* c) {
      SSL_CTX_set_max_proto_version(c, TLS1_2_VERSION);
      SSL_CTX_set_options(c, SSL_OP_NO_EXTENDED_MASTER_SECRET);
    });
    for (auto* end : {&*weak.client_end, &*weak.server_end}) {
      try {
        streams::channel_binding(*end);
        FAIL("a binding without the extended master secret");
      } catch (const failure& f) {
        CHECK(f.err().code == errc::protocol);
        CHECK(has(f.err().message, "extended master secret"));
      }
    }
  }
}

TEST_CASE("a relay holding a certificate the device trusts cannot sign in as the device",
          "[e2e][tls][security]") {
  // The attacker has havend's own certificate and key: the device cannot
  // tell the relay from havend. Its signed hello still binds its own TLS
  // connection, which is not the one the relay has with havend.
  shell device;
  const dev_pair pair(device.dir(), "havend");
  const std::string central = device.dir().file("central.db");
  havend_process server(central, pair.flags(), havend_process::authentication::on);
  const run_result code = run(
      {HAVEND_PATH, "--db", central, "enroll", "--name", "tablet", "--team", "outreach", "--json"});
  REQUIRE(code.exit_code == 0);
  const std::string enroll_code(boost::json::parse(code.out).as_object().at("code").as_string());
  device.ok({"enroll", "--server", "https://" + server.address(), "--code", enroll_code, "--ca",
             pair.cert});
  device.ok({"add", "--quiet", "pats_session", "date=2026-03-02", "site=vic", "format=individual",
             "person=PK-T1S-00079"});
  auto field = client::store::open(device.db()).value();
  const store_snapshot before(*field);

  tls_relay relay(server.address(), pair.cert, pair.key);
  auto relayed = sync(*field, relay.sync_url(), pair.pem);
  CHECK(relay.relayed() >= 1);  // TLS succeeded on both sides: the refusal is the signature's
  REQUIRE_FALSE(relayed.ok());
  INFO(relayed.err().describe());
  CHECK(relayed.err().code == errc::unauthorized);
  CHECK(has(relayed.err().message, "relayed"));
  CHECK(store_snapshot(*field) == before);
  CHECK(has(https_get(server.address(), "/healthz", pair.pem).body, "\"records\":0"));

  // A relay of TCP that leaves TLS to the two ends (a load balancer) is no relay of TLS.
  cutting_proxy tcp(server.address());
  auto through = sync(*field, "wss://" + tcp.address() + "/sync", pair.pem);
  INFO((through ? "" : through.err().describe()));
  REQUIRE(through.ok());
  CHECK(through->pending_after == 0);
  CHECK(has(https_get(server.address(), "/healthz", pair.pem).body, "\"records\":1"));
}

}  // namespace
}  // namespace haven::test
