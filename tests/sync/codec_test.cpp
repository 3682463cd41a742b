// Protocol version 2 frames (what devices of that release send and read):
// every message round-trips, and decode() refuses hostile or broken frames
// with errc::protocol, without crashing or allocating what a frame merely
// claims. Version 3's compact batches: compact_codec_test.cpp.
//
// Frame layout (Cereal portable binary, little endian): byte 0 the message
// tag, byte 1 the endianness flag (1), then the fields in declaration order;
// strings and vectors are a u64 count then their elements; a cell is its key,
// a value-kind byte and payload, then the stamp (hlc u64, node u64).

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdlib>
#include <haven/sync/protocol.hpp>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "frame_checks.hpp"
#include "sample_changes.hpp"
#include "test_cells.hpp"

using namespace haven;
using namespace haven::sync;
using namespace haven::test;
using Catch::Matchers::Contains;

namespace {

constexpr std::size_t body_at = 2;  // after the tag and the endianness flag

std::string encode_v2(const message& m, const frame_limits& limits = {}) {
  return encode(m, limits, oldest_protocol_version);
}

std::uint64_t u64_at(const std::string& frame, std::size_t pos) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i)
    v |= std::uint64_t{static_cast<unsigned char>(frame.at(pos + i))} << (8 * i);
  return v;
}

std::string with_u64(std::string frame, std::size_t pos, std::uint64_t v) {
  for (std::size_t i = 0; i < 8; ++i) frame.at(pos + i) = static_cast<char>(v >> (8 * i));
  return frame;
}

std::string with_byte(std::string frame, std::size_t pos, std::uint8_t b) {
  frame.at(pos) = static_cast<char>(b);
  return frame;
}

hello device_hello() {
  hello h;
  h.version = oldest_protocol_version;
  h.device_id = "tablet-07";
  h.team = "crisis-team";
  h.node = 0x0123456789abcdefull;
  h.schema_version = 1;
  h.acked_seq = 41;
  h.pulled_seq = 9000;
  return h;
}

// Every field at its largest.
hello full_hello() {
  hello h;
  h.version = 0xffffffffu;
  h.device_id = std::string(256, 'd');
  h.team = std::string(128, 't');
  h.node = ~node_id{0};
  h.schema_version = -1;
  h.acked_seq = ~std::uint64_t{0};
  h.proof = std::string(256, 'p');
  return h;
}

// One message of every type, some at their limits; all small enough to
// decode every prefix of.
std::vector<message> sample_messages() {
  pull_request pull;
  pull.since = 100;
  pull.max_cells = 500;
  return {
      device_hello(),
      full_hello(),
      welcome{.version = oldest_protocol_version,
              .schema_version = 1,
              .schema_json = R"({"version": 1})",
              .server_time = hlc::make(1'700'000'000'000, 3),
              .acked_seq = 7},
      push_batch{.last_seq = 12, .changes = sample_changes()},
      push_batch{},
      push_ack{.acked_seq = ~std::uint64_t{0}},
      pull,
      pull_request{},
      change_batch{.up_to = 8, .more = true, .changes = sample_changes()},
      change_batch{.up_to = 0, .more = false, .changes = {}},
      error_frame{.code = static_cast<std::uint16_t>(errc::clock_skew),
                  .message = "refused: 3 days ahead"},
      error_frame{},
      sync::challenge{.version = oldest_protocol_version, .nonce = std::string(32, '\x9c')},
      sync::challenge{.version = oldest_protocol_version,
                      .nonce = std::string(32, '\x9d'),
                      .channel_bound = true},
      sync::wipe_order{.reason = sync::standing::revoked},
      sync::wipe_done{},
  };
}

// A push_batch of one change with two cells, and where its fields sit.
struct batch_frame {
  std::string frame;
  std::size_t count_at = body_at + 8;    // number of changes
  std::size_t change_at = count_at + 8;  // the change's id
  std::size_t type_len_at = change_at + 16;
  std::size_t team_len_at = type_len_at + 8 + 12;    // "pats_session"
  std::size_t cells_count_at = team_len_at + 8 + 6;  // "team-a"
  std::size_t cell_at = cells_count_at + 8;          // "site" = "vic"
  std::size_t kind_at = cell_at + 8 + 4;
  std::size_t code_len_at = kind_at + 1;
  std::size_t second_cell_at = code_len_at + 8 + 3 + 16;  // "services.food" = true
  std::size_t bool_at = second_cell_at + 8 + 13 + 1;

  batch_frame()
      : frame(encode_v2(push_batch{
            .last_seq = 5,
            .changes = {change_of(id_of(9), {make_cell("site", std::string("vic"), at(10, 0, 1)),
                                             make_cell("services.food", true, at(10, 0, 1))})}})) {
    // The layout above is what the encoder writes.
    REQUIRE(frame.size() == bool_at + 1 + 16);
    REQUIRE(u64_at(frame, count_at) == 1);
    REQUIRE(u64_at(frame, type_len_at) == 12);
    REQUIRE(u64_at(frame, team_len_at) == 6);
    REQUIRE(u64_at(frame, cells_count_at) == 2);
    REQUIRE(u64_at(frame, cell_at) == 4);
    REQUIRE(frame[kind_at] == 2);  // code
    REQUIRE(u64_at(frame, code_len_at) == 3);
    REQUIRE(u64_at(frame, second_cell_at) == 13);
    REQUIRE(frame[bool_at - 1] == 4);  // boolean
    REQUIRE(frame[bool_at] == 1);
  }
};

}  // namespace

TEST_CASE("every message round-trips through its frame", "[sync][codec]") {
  for (const message& m : sample_messages()) {
    CAPTURE(m.index());
    const std::string frame = encode_v2(m);
    REQUIRE(frame.size() >= 2);
    CHECK(static_cast<std::size_t>(frame[0]) == m.index());
    CHECK(frame[1] == 1);  // little endian
    const auto decoded = decode(frame);
    REQUIRE(decoded);
    CHECK(decoded.value() == m);
    CHECK(encode_v2(decoded.value()) == frame);
  }
}

TEST_CASE("every frame is byte for byte what protocol version 2 sends (golden frames)",
          "[sync][codec][golden]") {
  // golden_frames.txt holds one frame of sample_messages() per line, as hex,
  // written once by this test (HAVEN_WRITE_GOLDEN_FRAMES=1) from the encoder
  // deployed devices run. A change to the codec or the message variant that
  // moves a byte fails here: devices in the field would no longer understand it.
  const auto messages = sample_messages();
  std::vector<std::string> frames;
  for (const message& m : messages) frames.push_back(encode_v2(m));
  const auto golden = golden_frames(HAVEN_GOLDEN_FRAMES, "HAVEN_WRITE_GOLDEN_FRAMES", frames);
  for (std::size_t i = 0; i < messages.size(); ++i) {
    CAPTURE(i, messages[i].index());
    CHECK(hex_of(frames[i]) == hex_of(golden[i]));
    const auto decoded = decode(golden[i]);
    REQUIRE(decoded);
    CHECK(decoded.value() == messages[i]);
  }
}

TEST_CASE("a welcome carries a whole schema document", "[sync][codec]") {
  const welcome w{.schema_version = 1,
                  .schema_json = std::string(200'000, '{'),
                  .server_time = hlc::make(1, 2)};
  const auto decoded = decode(encode_v2(w));
  REQUIRE(decoded);
  CHECK(std::get<welcome>(decoded.value()) == w);
}

TEST_CASE("decode refuses an empty frame and unknown tags", "[sync][codec]") {
  const haven::error empty = refusal("");
  CHECK(empty.message == "empty frame");
  // Tags 10 and 11 are version 3's compact batches (compact_codec_test.cpp).
  constexpr int first_unknown = static_cast<int>(std::variant_size_v<message>) + 2;
  for (int tag : {first_unknown, first_unknown + 1, 0x7f, 0xff}) {
    CAPTURE(tag);
    std::string frame = encode_v2(push_ack{.acked_seq = 1});
    frame[0] = static_cast<char>(tag);
    const haven::error e = refusal(frame);
    CHECK(e.message == "unknown message tag " + std::to_string(tag));
  }
}

TEST_CASE("decode refuses every truncation of a valid frame", "[sync][codec]") {
  std::size_t prefixes = 0, wrong = 0;
  for (const message& m : sample_messages()) {
    const std::string frame = encode_v2(m);
    for (std::size_t n = 0; n < frame.size(); ++n, ++prefixes) {
      const auto r = decode(std::string_view(frame).substr(0, n));
      if (r || r.err().code != errc::protocol) {
        ++wrong;
        UNSCOPED_INFO("message " << m.index() << " cut to " << n << " of " << frame.size()
                                 << " bytes");
      }
    }
  }
  CHECK(prefixes > 1000);
  CHECK(wrong == 0);
}

TEST_CASE("decode refuses trailing bytes", "[sync][codec]") {
  for (const message& m : sample_messages()) {
    CAPTURE(m.index());
    const haven::error e = refusal(encode_v2(m) + std::string(1, '\0'));
    CHECK(e.message == "1 unexpected bytes after the message");
  }
  CHECK_THAT(refusal(encode_v2(push_ack{}) + "abc").message, Contains("3 unexpected bytes"));
}

TEST_CASE("frames over max_frame_bytes are refused both ways", "[sync][codec]") {
  welcome big;
  big.schema_json = std::string(1000, 'x');
  const std::string frame = encode_v2(big);
  const frame_limits small{.max_frame_bytes = frame.size() - 1};
  const haven::error e = refusal(frame, small);
  CHECK_THAT(e.message, Contains("over the limit of " + std::to_string(frame.size() - 1)));
  CHECK(decode(frame, frame_limits{.max_frame_bytes = frame.size()}));

  // With the default limit: refused before a byte of it is parsed.
  const std::string huge((4u << 20) + 1, '\x02');
  CHECK_THAT(refusal(huge).message, Contains("over the limit of 4194304"));

  try {
    (void)encode_v2(big, small);
    FAIL("encode wrote a frame over the limit");
  } catch (const haven::failure& f) {
    CHECK(f.err().code == errc::protocol);
    CHECK_THAT(f.err().message, Contains("send smaller batches"));
  }
}

// A frame whose length or count field at `at` is patched to claim `claimed`.
struct hostile_count {
  const char* what;
  std::string frame;
  std::size_t at;
  std::uint64_t claimed;
  frame_limits limits;
  std::string says;  // part of the refusal's message
};

void check_refusals(const std::vector<hostile_count>& cases) {
  for (const auto& c : cases) {
    SECTION(c.what) {
      CHECK_THAT(refusal(with_u64(c.frame, c.at, c.claimed), c.limits).message, Contains(c.says));
    }
  }
}

constexpr std::uint64_t two_to_60 = std::uint64_t{1} << 60;
constexpr std::size_t unlimited = std::numeric_limits<std::size_t>::max();

TEST_CASE("decode refuses a string length over its limit or the frame", "[sync][codec]") {
  const std::string frame = encode_v2(device_hello());
  const std::size_t len_at = body_at + 4;  // device_id, after the u32 version
  REQUIRE(u64_at(frame, len_at) == 9);
  const batch_frame b;
  frame_limits no_text_limit;
  no_text_limit.max_text_bytes = unlimited;

  check_refusals({
      {"over the text limit",
       frame,
       len_at,
       257,
       {},
       "a string has 257 elements, over the limit of 256"},
      {"a claimed 2^60 bytes",
       frame,
       len_at,
       two_to_60,
       {},
       "a string has 1152921504606846976 elements, over the limit"},
      {"a claimed 2^60 bytes with no limit but the frame", frame, len_at, two_to_60, no_text_limit,
       "truncated frame: a string claims 1152921504606846976 elements"},
      {"within the limit but longer than the frame",
       frame,
       len_at,
       200,
       {},
       "truncated frame: a string claims 200"},
      {"a type over the key limit",
       b.frame,
       b.type_len_at,
       129,
       {},
       "a string has 129 elements, over the limit of 128"},
      {"a code over the key limit",
       b.frame,
       b.code_len_at,
       129,
       {},
       "a string has 129 elements, over the limit of 128"},
      {"a stricter limit on the receiving side", frame, len_at, 9,
       frame_limits{.max_text_bytes = 8}, "a string has 9 elements, over the limit of 8"},
  });
}

TEST_CASE("decode refuses a vector count over its limit or the frame", "[sync][codec]") {
  const batch_frame b;
  REQUIRE(decode(b.frame));
  const std::string empty_batch = encode_v2(change_batch{.up_to = 3, .more = false, .changes = {}});
  const std::size_t empty_count_at = body_at + 8 + 1;  // after up_to and more
  REQUIRE(u64_at(empty_batch, empty_count_at) == 0);

  check_refusals({
      {"changes over max_records",
       b.frame,
       b.count_at,
       2001,
       {},
       "a batch has 2001 elements, over the limit of 2000"},
      {"a claimed 2^60 changes",
       b.frame,
       b.count_at,
       two_to_60,
       {},
       "a batch has 1152921504606846976 elements"},
      {"a claimed 2^60 changes with no limit but the frame", b.frame, b.count_at, two_to_60,
       frame_limits{.max_records = unlimited},
       "truncated frame: a batch claims 1152921504606846976 elements"},
      {"changes within the limit but more than the frame holds",
       b.frame,
       b.count_at,
       2000,
       {},
       "truncated frame: a batch claims 2000 elements"},
      {"one change more than sent", b.frame, b.count_at, 2, {}, "truncated frame"},
      {"cells over max_cells_per_record",
       b.frame,
       b.cells_count_at,
       513,
       {},
       "a record's cells has 513 elements, over the limit of 512"},
      {"a claimed 2^60 cells", b.frame, b.cells_count_at, two_to_60, {}, "over the limit of 512"},
      {"a claimed 2^60 cells with no limit but the frame", b.frame, b.cells_count_at, two_to_60,
       frame_limits{.max_cells_per_record = unlimited}, "truncated frame: a record's cells claims"},
      {"cells within the limit but more than the frame holds",
       b.frame,
       b.cells_count_at,
       512,
       {},
       "truncated frame: a record's cells claims 512 elements"},
      {"a stricter limit on the receiving side", b.frame, b.cells_count_at, 2,
       frame_limits{.max_cells_per_record = 1},
       "a record's cells has 2 elements, over the limit of 1"},
      {"a change_batch over max_records",
       empty_batch,
       empty_count_at,
       2001,
       {},
       "over the limit of 2000"},
      {"a change_batch claiming a change it lacks",
       empty_batch,
       empty_count_at,
       1,
       {},
       "truncated frame"},
  });
}

TEST_CASE("decode refuses a count whose size in bytes overflows", "[sync][codec]") {
  // With the count limits raised, n * min_bytes wraps around 2^64 to a small
  // number, so the "more than the frame holds" check passes and the decoder
  // tries to size a vector of n elements. It must still be a protocol error.
  const batch_frame b;
  const std::uint64_t changes =
      std::numeric_limits<std::uint64_t>::max() / 19 + 1;  // * 19 == 2 (mod 2^64)
  const std::uint64_t cells =
      std::numeric_limits<std::uint64_t>::max() / 18 + 1;  // * 18 == 2 (mod 2^64)
  REQUIRE(changes * 19 == 2);
  REQUIRE(cells * 18 == 2);
  const frame_limits open{.max_records = unlimited, .max_cells_per_record = unlimited};
  const haven::error many_changes = refusal(with_u64(b.frame, b.count_at, changes), open);
  CHECK_THAT(many_changes.message, Contains("a batch claims"));
  const haven::error many_cells = refusal(with_u64(b.frame, b.cells_count_at, cells), open);
  CHECK_THAT(many_cells.message, Contains("a record's cells claims"));
}

TEST_CASE("decode refuses a bad boolean byte", "[sync][codec]") {
  const std::string frame = encode_v2(change_batch{.up_to = 3, .more = true, .changes = {}});
  const std::size_t more_at = body_at + 8;
  REQUIRE(frame[more_at] == 1);
  CHECK(decode(with_byte(frame, more_at, 0)));
  for (std::uint8_t bad : {2, 0x80, 0xff}) {
    const haven::error e = refusal(with_byte(frame, more_at, bad));
    CHECK(e.message == "a boolean byte is " + std::to_string(bad) + ", not 0 or 1");
  }
  const batch_frame b;
  CHECK(refusal(with_byte(b.frame, b.bool_at, 7)).message == "a boolean byte is 7, not 0 or 1");
}

TEST_CASE("decode refuses an unknown value kind", "[sync][codec]") {
  const batch_frame b;
  for (std::uint8_t kind : {5, 6, 0x7f, 0xff}) {
    const haven::error e = refusal(with_byte(b.frame, b.kind_at, kind));
    CHECK(e.message == "unknown value kind " + std::to_string(kind));
  }
}

TEST_CASE("a wipe order's reason is the text retired or revoked on the wire, and nothing else",
          "[sync][codec]") {
  for (const standing s : {standing::retired, standing::revoked}) {
    const std::string frame = encode_v2(sync::wipe_order{.reason = s});
    CHECK(frame.substr(body_at + 8) == to_string(s));
    CHECK(std::get<sync::wipe_order>(decode(frame).value()).reason == s);
  }
  const std::string revoked = encode_v2(sync::wipe_order{.reason = standing::revoked});
  const std::string prefix = revoked.substr(0, body_at);
  for (const std::string text : {"active", "Revoked", "", "gone"}) {
    std::string frame = prefix;
    for (int i = 0; i < 8; ++i) frame += static_cast<char>(i == 0 ? text.size() : 0);
    CHECK_THAT(refusal(frame + text).message, Contains("a wipe order for an unknown reason"));
  }
  CHECK_THROWS_AS(encode_v2(sync::wipe_order{.reason = standing::active}), haven::failure);
}

TEST_CASE("encode refuses what a peer would refuse", "[sync][codec]") {
  auto protocol_failure = [](const message& m) {
    try {
      (void)encode_v2(m);
    } catch (const haven::failure& f) {
      return f.err();
    }
    FAIL("encode accepted the message");
    return haven::error{};
  };
  SECTION("a set value in a cell") {
    const auto e = protocol_failure(push_batch{
        .changes = {change_of(id_of(1), {make_cell("services", code_set{"food"}, at(1, 0, 1))})}});
    CHECK(e.code == errc::protocol);
    CHECK(e.message == "a set value cannot be sent as one cell");
  }
  SECTION("a text over its limit") {
    hello h;
    h.device_id = std::string(257, 'd');
    const auto e = protocol_failure(h);
    CHECK(e.code == errc::protocol);
    CHECK(e.message == "a string has 257 elements, over the limit of 256");
  }
  SECTION("a key or code over its limit") {
    CHECK(protocol_failure(
              push_batch{.changes = {change_of(
                             id_of(1), {make_cell(std::string(129, 'k'), value{}, at(1, 0, 1))})}})
              .code == errc::protocol);
    CHECK(protocol_failure(
              push_batch{.changes = {change_of(
                             id_of(1), {make_cell("k", std::string(129, 'v'), at(1, 0, 1))})}})
              .code == errc::protocol);
    CHECK(protocol_failure(push_batch{.changes = {change_of(id_of(1), {}, std::string(129, 't'))}})
              .code == errc::protocol);
  }
  SECTION("too many cells") {
    std::vector<cell> cells(513, make_cell("k", value{}, at(1, 0, 1)));
    CHECK(protocol_failure(push_batch{.changes = {change_of(id_of(1), cells)}}).message ==
          "a record's cells has 513 elements, over the limit of 512");
  }
}

TEST_CASE("decode never crashes on random or mutated frames", "[sync][codec]") {
  std::mt19937_64 rng(20240229);
  std::vector<std::string> valid;
  for (const message& m : sample_messages()) valid.push_back(encode_v2(m));

  std::size_t accepted = 0, refused = 0, wrong = 0;
  std::string first_wrong;
  auto check_frame = [&](const std::string& frame) {
    const auto r = decode(frame);
    bool ok = true;
    if (!r) {
      ++refused;
      ok = r.err().code == errc::protocol;
    } else {
      ++accepted;
      // An accepted frame is a message this side would also send.
      const auto again = haven::capture([&] { return encode_v2(r.value()); });
      ok = again && decode(again.value()) && decode(again.value()).value() == r.value();
    }
    if (!ok && wrong++ == 0) first_wrong = hex_of(frame);
  };

  for (int i = 0; i < 20'000; ++i) {
    std::string frame;
    if (i % 4 == 0) {
      // Random bytes behind a real tag and endianness flag.
      frame.resize(rng() % 64);
      for (char& c : frame) c = static_cast<char>(rng());
      if (frame.size() > 0) frame[0] = static_cast<char>(rng() % 8);
      if (frame.size() > 1 && rng() % 2) frame[1] = 1;
    } else {
      frame = valid[rng() % valid.size()];
      const int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits && !frame.empty(); ++e) {
        const std::size_t pos = rng() % frame.size();
        switch (rng() % 5) {
          case 0:
            frame[pos] = static_cast<char>(rng());
            break;  // a random byte
          case 1:
            frame[pos] = static_cast<char>(frame[pos] ^ (1 << (rng() % 8)));
            break;  // a flipped bit
          case 2:
            frame.resize(pos);
            break;  // cut short
          case 3:
            frame.insert(pos, 1, static_cast<char>(rng()));
            break;  // a byte too many
          default:
            frame.erase(pos, 1 + rng() % 8);
            break;  // bytes missing
        }
      }
    }
    check_frame(frame);
  }
  INFO("first wrong frame: " << first_wrong);
  CHECK(wrong == 0);
  CHECK(accepted > 0);  // some mutations land on payload bytes and stay valid
  CHECK(refused > 10'000);
}

TEST_CASE(
    "a hello's proof message covers the nonce, the channel binding and every field but the proof",
    "[sync][codec]") {
  const hello h = full_hello();
  const std::string base = sync::proof_message(h, "nonce-0000000000000001");
  CHECK(base.find("nonce-0000000000000001") != std::string::npos);
  CHECK(sync::proof_message(h, "nonce-0000000000000002") != base);
  // Another TLS connection has another binding; none is not the same as any,
  // and the nonce and binding cannot trade bytes.
  const std::string bound = sync::proof_message(h, "nonce-0000000000000001", std::string(32, 'b'));
  CHECK(bound != base);
  CHECK(sync::proof_message(h, "nonce-0000000000000001", std::string(32, 'c')) != bound);
  CHECK(sync::proof_message(h, "nonce-000000000000000", "1") !=
        sync::proof_message(h, "nonce-0000000000000001"));
  hello signed_again = h;
  signed_again.proof = "another signature";
  CHECK(sync::proof_message(signed_again, "nonce-0000000000000001") == base);
  auto changed = [&](auto edit) {
    hello other = h;
    edit(other);
    return sync::proof_message(other, "nonce-0000000000000001") != base;
  };
  CHECK(changed([](hello& x) { x.device_id.back() = 'e'; }));
  CHECK(changed([](hello& x) { x.team = "other-team"; }));
  CHECK(changed([](hello& x) { x.node ^= 1; }));
  CHECK(changed([](hello& x) { x.acked_seq += 1; }));
  CHECK(changed([](hello& x) { x.pulled_seq += 1; }));
  CHECK(changed([](hello& x) { x.schema_version += 1; }));
}
