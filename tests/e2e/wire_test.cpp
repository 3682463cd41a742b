// Hostile input on the wire, sent to a real havend by a raw WebSocket client:
// malformed, out-of-order and oversized frames end that session (with an
// error frame saying what was wrong, or, beyond the WebSocket size limit, by
// closing), refused pushes change nothing, and the server keeps serving the
// other devices throughout.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <functional>
#include <haven/sync/protocol.hpp>
#include <optional>

#include "../support/cutting_proxy.hpp"
#include "../support/raw_ws_client.hpp"
#include "sync_fixture.hpp"

namespace haven::test {
namespace {

constexpr auto three_days_ms = std::uint64_t{3} * 24 * 60 * 60 * 1000;
const std::size_t max_frame = sync::frame_limits{}.max_frame_bytes;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A device's first frame, with the id a client store would send for its node.
sync::hello hello_from(sync::node_id node, const std::string& team = "outreach") {
  char id[17];
  std::snprintf(id, sizeof id, "%016llx", static_cast<unsigned long long>(node));
  return sync::hello{sync::protocol_version, id, team, node, 0, 0, 0, {}};
}

// The server's next message, decoded; REQUIREs one.
sync::message next_message(raw_ws_client& ws) {
  const auto reply = ws.read();
  INFO("the server ended the connection: " << reply.error);
  REQUIRE_FALSE(reply.closed);
  auto decoded = sync::decode(reply.frame);
  INFO((decoded.ok() ? "" : decoded.err().message));
  REQUIRE(decoded.ok());
  return std::move(decoded).value();
}

// Opens a session as a device would and returns the welcome.
sync::welcome greet(raw_ws_client& ws, const sync::hello& h) {
  REQUIRE(ws.send_binary(sync::encode(h)) == "");
  const auto m = next_message(ws);
  REQUIRE(std::holds_alternative<sync::welcome>(m));
  return std::get<sync::welcome>(m);
}

// REQUIREs that the server closes the connection without a message.
void expect_closed(raw_ws_client& ws) {
  const auto reply = ws.read();
  INFO("the server sent " << reply.frame.size() << " bytes instead of closing");
  CHECK(reply.closed);
  CHECK_FALSE(reply.timed_out);
}

// REQUIREs that the server answers with an error frame of `code` whose
// message contains `says`, and then closes the connection.
void expect_refusal(raw_ws_client& ws, errc code, const std::string& says) {
  const auto m = next_message(ws);
  const auto* e = std::get_if<sync::error_frame>(&m);
  REQUIRE(e != nullptr);
  INFO("error frame: " << e->code << " \"" << e->message << "\"");
  CHECK(e->code == static_cast<std::uint16_t>(code));
  CHECK(contains(e->message, says));
  expect_closed(ws);
}

// What havend serves: /healthz (log head, record count) and every tally.
std::string served_state(sync_fixture& f) {
  std::string state = http_get(f.server().address(), "/healthz").body;
  for (const auto& t : schema::builtin()->tallies())
    for (int year : {2025, 2026}) {
      auto tally = boost::json::parse(
          http_get(f.server().address(), "/api/tallies/" + t.id + "?year=" + std::to_string(year))
              .body);
      tally.as_object().erase("completeness");  // when teams last synced: a sync moves it
      state += boost::json::serialize(tally);
    }
  return state;
}

// A counter from /metrics.
double metric(sync_fixture& f, const std::string& name) {
  const std::string text = http_get(f.server().address(), "/metrics").body;
  const auto at = text.find("\n" + name + " ");
  REQUIRE(at != std::string::npos);
  return std::stod(text.substr(at + name.size() + 2));
}

// REQUIREs that havend still serves: a normal device records and syncs, /healthz answers.
void check_still_serving(sync_fixture& f, device& d, field_work& work) {
  REQUIRE(d.db->add(work.new_record()).ok());
  const auto r = f.sync(d);
  INFO((r.ok() ? "" : r.err().describe()));
  REQUIRE(r.ok());
  CHECK(r->pending_after == 0);
  CHECK(http_get(f.server().address(), "/healthz").status == 200);
}

// A device that records and syncs normally, to check havend keeps serving.
device& normal_device(sync_fixture& f, field_work& work) {
  device& d = f.add_device("outreach");
  check_still_serving(f, d, work);
  return d;
}

// The pending changes of a fresh device holding a few valid records.
sync::push_batch valid_push(sync_fixture& f, field_work& work, int records) {
  device& d = f.add_device("outreach");
  for (int i = 0; i < records; ++i) REQUIRE(d.db->add(work.new_record()).ok());
  auto batch = d.db->outbox();
  REQUIRE(batch.ok());
  return sync::push_batch{batch->last_seq, batch->changes};
}

// A 64-bit count in Cereal's portable binary (little-endian on the wire).
std::string count_bytes(std::uint64_t n) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i)
    out[static_cast<std::size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out;
}

TEST_CASE(
    "malformed, out-of-order and oversized frames end that session and havend keeps serving others",
    "[e2e][wire]") {
  sync_fixture f;
  field_work work(5);
  device& normal = normal_device(f, work);
  const sync::hello hello = hello_from(0x5eed);
  const std::string hello_frame = sync::encode(hello);
  const sync::push_batch push = valid_push(f, work, 2);

  // Each case sends something on a new connection; no `says` means the
  // server must close without an error frame (below the protocol layer).
  struct hostile {
    std::string what;
    std::function<void(raw_ws_client&)> send;
    std::optional<std::string> says;
  };
  auto frame = [](std::string bytes) {
    return [bytes](raw_ws_client& ws) { (void)ws.send_binary(bytes); };
  };
  auto after_hello = [&](std::string bytes) {
    return [&, bytes](raw_ws_client& ws) {
      greet(ws, hello);
      (void)ws.send_binary(bytes);
    };
  };
  sync::hello old_version = hello, bad_team = hello, no_id = hello, long_id = hello;
  old_version.version = sync::protocol_version + 1;
  bad_team.team = "Not A Team!";
  no_id.device_id.clear();
  long_id.device_id = std::string(300, 'x');
  sync::frame_limits loose;
  loose.max_text_bytes = 1000;
  // A push frame of version 2 (still read in a version 3 session) with a
  // forged record count: its tag, Cereal's byte order flag, last_seq, then the count.
  const std::string push_head =
      sync::encode(sync::push_batch{1, {}}, {}, sync::oldest_protocol_version);
  auto push_claiming = [&](std::uint64_t records) {
    return push_head.substr(0, push_head.size() - 8) + count_bytes(records);
  };
  // A deflated version 3 push (tag, compression 1, its inflated size as a
  // varint, the deflate stream) that declares 100 bytes: inflating it must
  // stop there, as it does for a deflate bomb.
  const std::string deflated_push = sync::encode(valid_push(f, work, 40));
  REQUIRE(deflated_push.substr(0, 2) == "\x0a\x01");
  std::size_t size_end = 2;
  while (static_cast<unsigned char>(deflated_push.at(size_end)) & 0x80) ++size_end;
  const std::string understated_push =
      deflated_push.substr(0, 2) + '\x64' + deflated_push.substr(size_end + 1);
  // At the limit, after hello: the WebSocket layer takes it, the decoder
  // finds a pull request and then padding. Before hello the limit is 16 KiB.
  std::string padded_pull = sync::encode(sync::pull_request{0, 100});
  padded_pull.resize(max_frame, '\0');
  std::string padded_hello = hello_frame;
  padded_hello.resize(std::size_t{16} << 10, '\0');

  std::vector<hostile> cases = {
      {"an empty binary frame", frame(""), "empty frame"},
      {"a text frame", [](raw_ws_client& ws) { (void)ws.send_text("hello, server"); },
       "unknown message tag 104"},
      {"a frame with an unknown tag", frame(std::string(1, '\x0c') + "1234"),
       "unknown message tag 12"},
      {"a compact push before hello (nothing is inflated for a peer not signed in)",
       frame(std::string(1, '\x0a') + "1234"), "a protocol version 3 frame before hello"},
      {"a compact push with an unknown compression", after_hello(std::string(1, '\x0a') + "1234"),
       "unknown compression 49"},
      {"a frame with tag 255", frame(std::string(1, '\xff')), "unknown message tag 255"},
      {"a truncated hello", frame(hello_frame.substr(0, hello_frame.size() - 5)),
       "truncated frame"},
      {"a hello cut after its tag", frame(hello_frame.substr(0, 1)), "truncated frame"},
      {"a hello with bytes after it", frame(hello_frame + "junk"),
       "4 unexpected bytes after the message"},
      {"a hello whose string is over its limit", frame(sync::encode(long_id, loose)),
       "over the limit of 256"},
      {"a push claiming 2^40 records", frame(push_claiming(1ull << 40)), "over the limit of 2000"},
      {"a push claiming more records than bytes left", frame(push_claiming(1000)),
       "truncated frame"},
      {"a push before hello", frame(sync::encode(push)), "a protocol version 3 frame before hello"},
      {"a version 2 push before hello",
       frame(sync::encode(push, {}, sync::oldest_protocol_version)), "push before hello"},
      {"a deflated push inflating to more than it declares", after_hello(understated_push),
       "a compressed body inflates to more than the 100 bytes it declares"},
      {"a pull before hello", frame(sync::encode(sync::pull_request{0, 100})), "pull before hello"},
      {"a second hello", after_hello(hello_frame), "a second hello"},
      {"a welcome sent by a device", after_hello(sync::encode(sync::welcome{})),
       "unexpected welcome frame from a device"},
      {"a change batch sent by a device", after_hello(sync::encode(sync::change_batch{})),
       "unexpected changes frame from a device"},
      {"an ack sent by a device", frame(sync::encode(sync::push_ack{7})),
       "unexpected ack frame from a device"},
      {"a hello of another protocol version", frame(sync::encode(old_version)),
       "protocol version " + std::to_string(old_version.version) + " is not supported"},
      {"a hello with a bad team", frame(sync::encode(bad_team)), "invalid team \"Not A Team!\""},
      {"a hello without a device id", frame(sync::encode(no_id)), "without a device id"},
      {"a frame of exactly max_frame_bytes after hello", after_hello(padded_pull),
       "unexpected bytes after the message"},
      {"a frame of 16 KiB before hello", frame(padded_hello), "unexpected bytes after the message"},
      {"a frame one byte over 16 KiB before hello (the WebSocket read limit until then)",
       frame(padded_hello + '\0'),
       {}},
      {"a frame one byte over max_frame_bytes after hello (the WebSocket read limit)",
       after_hello(std::string(max_frame + 1, '\0')),
       {}},
      {"a 16 MiB frame", frame(std::string(std::size_t{16} << 20, '\x02')), {}},
      {"a text frame that is not UTF-8",
       [](raw_ws_client& ws) { (void)ws.send_text("\xff\xfe\xfd"); },
       {}},
      {"bytes that are not WebSocket framing",
       [](raw_ws_client& ws) { (void)ws.send_raw("GET / HTTP/1.1\r\n\r\n"); },
       {}},
  };
  for (int i = 0; i < 4; ++i) {  // random bytes: any error frame will do
    std::string bytes(static_cast<std::size_t>(64 + work.pick(4033)), '\0');
    for (auto& c : bytes) c = static_cast<char>(work.pick(256));
    if (bytes[0] == 6) bytes[0] = 5;  // an error frame from a device ends the session silently
    cases.push_back({"random bytes #" + std::to_string(i), frame(bytes), ""});
  }

  const double refused_before = metric(f, "haven_refused_frames_total");
  double refusals = 0;
  for (const auto& c : cases) {
    INFO(c.what);
    {
      raw_ws_client ws(f.server().address());
      ws.read_challenge();
      c.send(ws);
      if (!c.says) {
        expect_closed(ws);
      } else {
        expect_refusal(ws, errc::protocol, *c.says);
        ++refusals;
      }
    }
    check_still_serving(f, normal, work);
  }
  CHECK(metric(f, "haven_refused_frames_total") - refused_before == refusals);

  // A device that says goodbye with an error frame just ends its session.
  {
    raw_ws_client ws(f.server().address());
    ws.read_challenge();
    greet(ws, hello);
    REQUIRE(ws.send_binary(sync::encode(sync::error_frame{1, "giving up"})) == "");
    expect_closed(ws);
  }
  check_still_serving(f, normal, work);
  f.check_tallies();
}

// A push whose first record's cells are stamped `ms_ahead` into the future.
sync::push_batch stamped_ahead(sync::push_batch b, std::uint64_t ms_ahead) {
  for (auto& c : b.changes.front().cells)
    c.at.time = sync::hlc::make(sync::hlc_clock::system_millis() + ms_ahead, 0);
  return b;
}

// A device store whose clock runs `ms_ahead` fast, holding one new record.
device skewed_device(sync_fixture& f, field_work& work, std::uint64_t ms_ahead) {
  client::store_options ahead;
  ahead.clock = [ms_ahead] { return sync::hlc_clock::system_millis() + ms_ahead; };
  device d{"skewed", "outreach", nullptr};
  d.db = client::store::create(f.dir().file("skewed.db"), "outreach", ahead).value();
  REQUIRE(d.db->add(work.new_record()).ok());
  return d;
}

TEST_CASE("pushes that break the server's rules are refused whole and change nothing",
          "[e2e][wire]") {
  sync_fixture f;
  field_work work(8);
  device& normal = normal_device(f, work);
  const sync::push_batch valid = valid_push(f, work, 3);

  // The first record breaks a rule; the others are valid: none may be applied.
  auto with = [&](const std::function<void(sync::record_change&)>& change) {
    sync::push_batch b = valid;
    change(b.changes.front());
    return b;
  };
  const struct {
    const char* what;
    sync::push_batch batch;
    errc code;
    std::string says;
  } cases[] = {
      {"a record of an unknown type", with([](auto& c) { c.type = "smuggled_record"; }),
       errc::invalid_input, "(unknown type, 15 bytes): type: is not a record type of this schema"},
      {"free text in a code field", with([](auto& c) {
         for (auto& cell : c.cells)
           if (std::holds_alternative<std::string>(cell.val)) {
             cell.val = std::string("Olena Kovalenko, born 1990-04-12, Kyiv, passport FX123456");
             break;
           }
       }),
       errc::invalid_input, ": must be "},
      {"a field the schema does not have", with([](auto& c) {
         c.cells.push_back(
             {"notes", std::string("trafficker: +386 40 123 456"), c.cells.front().at});
       }),
       errc::invalid_input, "(unknown, 5 bytes): is not a field of"},
      {"a record of another team", with([](auto& c) { c.team = "other-team"; }), errc::forbidden,
       "is of team other-team, and this device syncs team outreach only"},
      {"cells stamped 3 days ahead", stamped_ahead(valid, three_days_ms), errc::clock_skew,
       "clock is 3 days ahead"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    const std::string before = served_state(f);
    {
      raw_ws_client ws(f.server().address());
      ws.read_challenge();
      greet(ws, hello_from(0xbad0 + static_cast<sync::node_id>(&c - cases)));
      REQUIRE(ws.send_binary(sync::encode(c.batch)) == "");
      expect_refusal(ws, c.code, c.says);
    }
    CHECK(served_state(f) == before);
    check_still_serving(f, normal, work);
  }
  f.check_tallies();
}

// The skew is measured a little after the device stamped its cells, so the
// message must round to the nearest unit: 3 days, not 2 days 23 hours.
TEST_CASE("a device whose clock is 3 days ahead is refused, told so, and nothing of it is kept",
          "[e2e][wire]") {
  sync_fixture f;
  field_work work(9);
  device& normal = normal_device(f, work);
  const std::string before = served_state(f);

  device skewed = skewed_device(f, work, three_days_ms);
  const auto r = f.sync(skewed);
  REQUIRE_FALSE(r.ok());
  INFO(r.err().describe());
  CHECK(r.err().code == errc::clock_skew);
  CHECK(contains(r.err().message,
                 "clock is 3 days ahead; set its date and time correctly and sync again"));
  CHECK(skewed.db->status()->pending_cells > 0);  // kept, to send once the clock is right

  CHECK(served_state(f) == before);
  const auto pulled = f.sync(normal);
  REQUIRE(pulled.ok());
  CHECK(pulled->progress.changes_down == 0);
  f.check_tallies();
}

TEST_CASE("a push batch resent after its acknowledgement was cut off changes nothing",
          "[e2e][wire][fault]") {
  sync_fixture f;
  field_work work(10);
  device& d = f.add_device("outreach");
  for (int i = 0; i < 300; ++i) REQUIRE(d.db->add(work.new_record()).ok());
  const auto outbox = d.db->outbox().value();
  const sync::push_batch batch{outbox.last_seq, outbox.changes};
  const sync::hello hello = hello_from(d.db->node(), d.team);

  // Pushed through a proxy that cuts the connection inside the acknowledgement:
  // the server committed the batch, the device never heard so.
  {
    cutting_proxy proxy(
        f.server().address(),
        {cutting_proxy::direction::down, cutting_proxy::cut_rule{}.after_bytes,
         cutting_proxy::message_cut{
             static_cast<unsigned char>(sync::message(sync::push_ack{}).index()), 0, 4}});
    raw_ws_client ws(proxy.address());
    ws.read_challenge();
    greet(ws, hello);
    REQUIRE(ws.send_binary(sync::encode(batch)) == "");
    expect_closed(ws);
    INFO(proxy.cut_description());
    REQUIRE(proxy.cut());
  }
  const std::string committed = served_state(f);
  const double applied = metric(f, "haven_changes_applied_total");
  const double received = metric(f, "haven_changes_received_total");

  // The same batch again: acknowledged, and nothing changes.
  {
    raw_ws_client ws(f.server().address());
    ws.read_challenge();
    CHECK(greet(ws, hello).acked_seq == batch.last_seq);  // it was committed
    REQUIRE(ws.send_binary(sync::encode(batch)) == "");
    const auto m = next_message(ws);
    REQUIRE(std::holds_alternative<sync::push_ack>(m));
    CHECK(std::get<sync::push_ack>(m).acked_seq == batch.last_seq);
  }
  CHECK(metric(f, "haven_changes_received_total") - received == outbox.cells);
  CHECK(metric(f, "haven_changes_applied_total") == applied);
  CHECK(served_state(f) == committed);

  // The device itself then learns from the welcome that its batch is in.
  const auto r = f.sync(d);
  REQUIRE(r.ok());
  CHECK(r->pending_after == 0);
  CHECK(served_state(f) == committed);
  f.check_tallies();
}

}  // namespace
}  // namespace haven::test
