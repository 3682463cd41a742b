// Protocol version 3's batch frames (tags 10 push_batch, 11 change_batch):
// compact bodies with per-batch tables, deflated when that pays. Every batch
// round-trips; decode() refuses hostile frames with errc::protocol and a
// message saying what is wrong, before allocating what a frame claims; a
// compressed body never inflates to more than it declares, nor to more than
// max_frame_bytes.
//
// Frame layout: the tag, a compression byte (0 stored, 1 deflate), then the
// body, or its size as a varint and its raw deflate bytes. See
// sync/src/batch_codec.cpp for the body.

#include <zlib.h>

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

namespace {

constexpr char push_tag = 10, changes_tag = 11, stored = 0, deflated = 1;

// Builds a frame or body byte by byte, as the format describes it.
struct bytes_out {
  std::string s;
  bytes_out& byte(std::uint8_t b) {
    s.push_back(static_cast<char>(b));
    return *this;
  }
  bytes_out& varint(std::uint64_t v) {
    for (; v >= 0x80; v >>= 7) byte(static_cast<std::uint8_t>(v | 0x80));
    return byte(static_cast<std::uint8_t>(v));
  }
  bytes_out& text(std::string_view t) {
    varint(t.size());
    s += t;
    return *this;
  }
  bytes_out& raw(std::string_view t) {
    s += t;
    return *this;
  }
};

std::string raw_deflate(std::string_view in) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&z, static_cast<uLong>(in.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// A stored push frame around `body`.
std::string stored_push(std::string_view body) {
  return bytes_out{}.byte(push_tag).byte(stored).raw(body).s;
}

// A record whose fields look like the field's: a handful of codes, a date,
// a count, set elements, all written at one HLC by one node.
record_change field_record(std::mt19937_64& rng, std::uint64_t millis, node_id node) {
  static const char* sites[] = {"vic", "ljubljana", "maribor", "koper"};
  const stamp s = at(millis, 0, node);
  return change_of(
      random_id(rng),
      {make_cell("site", std::string(sites[rng() % 4]), s),
       make_cell("date", date{static_cast<std::int32_t>(19'000 + rng() % 700)}, s),
       make_cell("participants", static_cast<std::int64_t>(rng() % 40), s),
       make_cell("services.food", rng() % 2 == 0, s), make_cell("referral", value{}, s)});
}

// A random batch: every value kind, stamps anywhere in the 64 bits (and so
// deltas either way), seqs at their extremes, empty records and batches.
std::vector<record_change> random_changes(std::mt19937_64& rng) {
  std::vector<record_change> changes(rng() % 6);
  auto any_u64 = [&]() -> std::uint64_t {
    switch (rng() % 4) {
      case 0:
        return 0;
      case 1:
        return ~std::uint64_t{0};
      case 2:
        return rng() % 1000;
      default:
        return rng();
    }
  };
  for (auto& r : changes) {
    r.id = random_id(rng);
    r.type = rng() % 2 ? "pats_session" : std::string(rng() % 129, 't');
    r.team = rng() % 3 ? "team-a" : "";
    r.cells.resize(rng() % 8);
    for (cell& c : r.cells) {
      c.key = rng() % 4 ? "k" + std::to_string(rng() % 5) : std::string(128, 'k');
      c.at = stamp{hlc{any_u64()}, any_u64()};
      switch (rng() % 6) {
        case 0:
          c.val = value{};
          break;
        case 1:
          c.val = static_cast<std::int64_t>(any_u64());
          break;
        case 2:
          c.val = std::string(rng() % 129, static_cast<char>('a' + rng() % 3));
          break;
        case 3:
          c.val = date{static_cast<std::int32_t>(any_u64())};
          break;
        default:
          c.val = rng() % 2 == 0;
          break;
      }
    }
  }
  return changes;
}

std::vector<message> golden_messages() {
  std::mt19937_64 rng(12);
  std::vector<record_change> field;
  for (int i = 0; i < 20; ++i) field.push_back(field_record(rng, 1'700'000'000'000 + i, 0x51));
  return {
      push_batch{.last_seq = 12, .changes = sample_changes()},
      push_batch{},
      change_batch{.up_to = 8, .more = true, .changes = sample_changes()},
      change_batch{.up_to = ~std::uint64_t{0}, .more = false, .changes = {}},
      change_batch{.up_to = 20, .more = false, .changes = field},
  };
}

}  // namespace

TEST_CASE("a v3 push batch is laid out as the format says", "[sync][codec][v3]") {
  const stamp s = at(10, 0, 1);
  const std::string frame =
      encode(push_batch{.last_seq = 5,
                        .changes = {change_of(id_of(9), {make_cell("site", std::string("vic"), s),
                                                         make_cell("services.food", true, s)})}});
  const std::string expected = bytes_out{}
                                   .byte(push_tag)
                                   .byte(stored)  // too short to deflate
                                   .varint(5)     // last_seq
                                   .varint(5)     // strings, in order of first use
                                   .text("pats_session")
                                   .text("team-a")
                                   .text("site")
                                   .text("vic")
                                   .text("services.food")
                                   .varint(1)  // nodes
                                   .varint(1)
                                   .varint(1)  // records
                                   .raw(std::string(15, '\0') + '\x09')
                                   .varint(0)  // type
                                   .varint(1)  // team
                                   .varint(2)  // cells
                                   .varint(2 << 3 | 2)
                                   .varint(0)                        // "site", a code; node 1
                                   .varint(std::uint64_t{10} << 17)  // HLC 10 ms, zigzag, from 0
                                   .varint(3)                        // "vic"
                                   .varint(4 << 3 | 5)
                                   .varint(0)
                                   .varint(0)  // "services.food" true; node 1; same HLC
                                   .s;
  CHECK(hex_of(frame) == hex_of(expected));
}

TEST_CASE("v3 batch frames are what version 3 devices read (golden frames)",
          "[sync][codec][v3][golden]") {
  // golden_frames_v3.txt: one frame of golden_messages() per line, as hex,
  // written once by this test (HAVEN_WRITE_GOLDEN_FRAMES_V3=1). Every line
  // must decode to its message; a stored frame must also be encoded byte for
  // byte (a deflated one may differ with another zlib, and still decodes).
  const auto messages = golden_messages();
  std::vector<std::string> frames;
  for (const message& m : messages) frames.push_back(encode(m));
  const auto golden = golden_frames(HAVEN_GOLDEN_FRAMES_V3, "HAVEN_WRITE_GOLDEN_FRAMES_V3", frames);
  std::size_t deflated_frames = 0;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    CAPTURE(i);
    REQUIRE(golden[i].size() >= 2);
    const auto decoded = decode(golden[i]);
    REQUIRE(decoded);
    CHECK(decoded.value() == messages[i]);
    if (golden[i][1] == stored)
      CHECK(hex_of(frames[i]) == hex_of(golden[i]));
    else
      ++deflated_frames;
  }
  CHECK(deflated_frames > 0);
}

TEST_CASE("random v3 batches round-trip, stored and deflated", "[sync][codec][v3]") {
  std::mt19937_64 rng(20261207);
  std::size_t stored_frames = 0, deflated_frames = 0;
  for (int i = 0; i < 2000; ++i) {
    const bool push = i % 2 == 0;
    const std::uint64_t seq = i % 3 == 0 ? ~std::uint64_t{0} : rng() % 100;
    const message m = push ? message{push_batch{seq, random_changes(rng)}}
                           : message{change_batch{seq, rng() % 2 == 0, random_changes(rng)}};
    const std::string frame = encode(m);
    REQUIRE(frame.size() >= 2);
    CHECK(frame[0] == (push ? push_tag : changes_tag));
    (frame[1] == stored ? stored_frames : deflated_frames) += 1;
    const auto decoded = decode(frame);
    REQUIRE(decoded);
    REQUIRE(decoded.value() == m);
    CHECK(encode(decoded.value()) == frame);
    // The same message still goes out in version 2 for an old peer.
    CHECK(decode(encode(m, {}, oldest_protocol_version)).value() == m);
  }
  CHECK(stored_frames > 100);
  CHECK(deflated_frames > 100);
}

TEST_CASE("a v3 batch of field records is far smaller than its v2 frame", "[sync][codec][v3]") {
  std::mt19937_64 rng(7);
  change_batch batch{.up_to = 1000, .more = true, .changes = {}};
  for (int i = 0; i < 500; ++i)
    batch.changes.push_back(field_record(rng, 1'700'000'000'000 + 17 * i, 0x51 + i % 3));
  const std::size_t v2 = encode(batch, {}, oldest_protocol_version).size();
  const std::size_t v3 = encode(batch).size();
  INFO("v2 " << v2 << " bytes, v3 " << v3 << " bytes");
  CHECK(v3 * 4 < v2);
  CHECK(v3 < 500 * 32);  // the random 16-byte ids dominate what is left
}

TEST_CASE("decode refuses every truncation of a v3 frame", "[sync][codec][v3]") {
  for (const message& m : golden_messages()) {
    const std::string frame = encode(m);
    for (std::size_t n = 1; n < frame.size(); ++n) {
      CAPTURE(m.index(), n);
      refusal(frame.substr(0, n));
    }
  }
}

TEST_CASE("decode refuses trailing bytes after a v3 body", "[sync][codec][v3]") {
  const std::string frame = encode(push_batch{.last_seq = 1, .changes = {}});
  REQUIRE(frame[1] == stored);
  CHECK(refusal(frame + '\0').message == "1 unexpected bytes after the message");
}

TEST_CASE("decode refuses v3 counts and lengths over their limits or the bytes left",
          "[sync][codec][v3]") {
  // last_seq 0, no strings, no nodes, then:
  auto with_records = [](std::uint64_t n) {
    return bytes_out{}.varint(0).varint(0).varint(0).varint(n).s;
  };
  SECTION("records over max_records") {
    CHECK(refusal(stored_push(with_records(2001))).message ==
          "a batch has 2001 elements, over the limit of 2000");
  }
  SECTION("records over the bytes left") {
    CHECK(refusal(stored_push(with_records(3))).message ==
          "truncated frame: a batch claims 3 elements but only 0 bytes are left");
  }
  SECTION("a string table over the bytes left, before allocating it") {
    const std::string body = bytes_out{}.varint(0).varint(40'000).s;
    CHECK(refusal(stored_push(body)).message ==
          "a batch's string table has 40000 elements, over the limit of 36768");
    const std::string small = bytes_out{}.varint(0).varint(30'000).s;
    CHECK(refusal(stored_push(small)).message ==
          "truncated frame: a batch's string table claims 30000 elements but only 0 bytes are "
          "left");
  }
  SECTION("a string over max_key_bytes") {
    const std::string body = bytes_out{}.varint(0).varint(1).text(std::string(129, 'k')).s;
    CHECK(refusal(stored_push(body)).message == "a string has 129 elements, over the limit of 128");
  }
  SECTION("cells over max_cells_per_record and over max_batch_cells") {
    auto with_cells = [](std::uint64_t n, std::size_t records) {
      bytes_out b;
      b.varint(0).varint(1).text("k").varint(1).varint(7).varint(records);
      for (std::size_t r = 0; r < records; ++r) {
        b.raw(std::string(16, 'i')).varint(0).varint(0).varint(n);
        for (std::uint64_t c = 0; c < n; ++c) b.varint(0 << 3 | 0).varint(0).varint(0);  // null
      }
      return b.s;
    };
    REQUIRE(decode(stored_push(with_cells(512, 1))));
    CHECK(refusal(stored_push(with_cells(513, 1))).message ==
          "a record's cells has 513 elements, over the limit of 512");
    frame_limits few;
    few.max_batch_cells = 1000;
    CHECK(refusal(stored_push(with_cells(500, 3)), few).message ==
          "a batch's cells has 1500 elements, over the limit of 1000");
  }
}

TEST_CASE("decode refuses v3 table indexes out of range", "[sync][codec][v3]") {
  // One string "k", one node 7, one record of one cell.
  auto record = [](std::uint64_t type, std::uint64_t head, std::uint64_t node) {
    return bytes_out{}
        .varint(0)
        .varint(1)
        .text("k")
        .varint(1)
        .varint(7)
        .varint(1)
        .raw(std::string(16, 'i'))
        .varint(type)
        .varint(0)
        .varint(1)
        .varint(head)
        .varint(node)
        .varint(0)
        .s;
  };
  REQUIRE(decode(stored_push(record(0, 0, 0))));
  CHECK(refusal(stored_push(record(1, 0, 0))).message ==
        "a string index 1 is out of range: the batch's table has 1 strings");
  CHECK(refusal(stored_push(record(0, 1 << 3, 0))).message ==
        "a string index 1 is out of range: the batch's table has 1 strings");
  CHECK(refusal(stored_push(record(0, 0, 1))).message ==
        "a node index 1 is out of range: the batch's table has 1 nodes");
  CHECK(refusal(stored_push(record(0, 6, 0))).message == "unknown value kind 6");
}

TEST_CASE("decode refuses bad v3 varints and compression bytes", "[sync][codec][v3]") {
  CHECK(refusal(stored_push(bytes_out{}.byte(0x80).byte(0x00).s)).message ==
        "a varint with redundant trailing zero bytes");
  CHECK(refusal(stored_push(std::string(9, '\xff') + '\x02')).message ==
        "a varint overflows 64 bits");
  CHECK(refusal(bytes_out{}.byte(push_tag).byte(2).s).message ==
        "unknown compression 2 (0 stored or 1 deflate expected)");
  const std::string body = bytes_out{}.varint(0).varint(0).varint(0).varint(0).s;
  CHECK(refusal(bytes_out{}.byte(changes_tag).byte(stored).raw(body).s).message ==
        "truncated frame: it ends inside a message");  // no `more` byte
  CHECK(refusal(bytes_out{}.byte(changes_tag).byte(stored).varint(0).byte(2).raw(body.substr(1)).s)
            .message == "a boolean byte is 2, not 0 or 1");
}

TEST_CASE("decode refuses a compressed body that inflates to more than it declares (a bomb)",
          "[sync][codec][v3]") {
  const frame_limits limits;
  // 64 MiB of zeros deflate to about 64 KB: declaring the frame limit,
  // decoding stops there, having allocated no more.
  const std::string bomb = raw_deflate(std::string(64 << 20, '\0'));
  CHECK(
      refusal(bytes_out{}.byte(push_tag).byte(deflated).varint(limits.max_frame_bytes).raw(bomb).s)
          .message == "a compressed body inflates to more than the 4194304 bytes it declares");
  CHECK(
      refusal(
          bytes_out{}.byte(push_tag).byte(deflated).varint(limits.max_frame_bytes + 1).raw(bomb).s)
          .message ==
      "a compressed body declares 4194305 bytes; at least 1 and at most the frame limit of "
      "4194304 expected");
  // A few bytes cannot claim megabytes: refused before allocating them.
  CHECK(refusal(bytes_out{}.byte(push_tag).byte(deflated).varint(1 << 20).raw("abc").s).message ==
        "a compressed body of 3 bytes claims to inflate to 1048576, more than deflate can expand "
        "it");
  // Fewer bytes than declared, corrupt data, data after the stream.
  const std::string body = bytes_out{}.varint(0).varint(0).varint(0).varint(0).s;
  const std::string small = raw_deflate(body);
  CHECK(refusal(bytes_out{}.byte(push_tag).byte(deflated).varint(body.size() + 1).raw(small).s)
            .message == "a compressed body inflates to 4 bytes, not the 5 it declares");
  REQUIRE(decode(bytes_out{}.byte(push_tag).byte(deflated).varint(body.size()).raw(small).s));
  CHECK(refusal(bytes_out{}.byte(push_tag).byte(deflated).varint(body.size()).raw(small + "x").s)
            .message == "1 unexpected bytes after the compressed body");
  CHECK_THAT(
      refusal(bytes_out{}.byte(push_tag).byte(deflated).varint(4).raw("\xff\xff\xff").s).message,
      Catch::Matchers::StartsWith("a compressed body is not valid deflate data"));
}

TEST_CASE("encode refuses a v3 batch that a peer would refuse", "[sync][codec][v3]") {
  auto protocol_failure = [](const message& m, const frame_limits& limits = {}) {
    try {
      encode(m, limits);
    } catch (const failure& f) {
      CHECK(f.err().code == errc::protocol);
      return f.err();
    }
    FAIL("encode accepted the message");
    return haven::error{};
  };
  SECTION("a set value in a cell") {
    const cell set_cell = make_cell("services", code_set{"food"}, at(1, 0, 1));
    CHECK(protocol_failure(push_batch{.changes = {change_of(id_of(1), {set_cell})}}).message ==
          "a set value cannot be sent as one cell");
  }
  SECTION("a code over its limit") {
    const cell long_code = make_cell("k", std::string(129, 'x'), at(1, 0, 1));
    CHECK(protocol_failure(change_batch{.changes = {change_of(id_of(1), {long_code})}}).message ==
          "a string has 129 elements, over the limit of 128");
  }
  SECTION("more cells than max_batch_cells") {
    frame_limits few;
    few.max_batch_cells = 10;
    const std::vector<cell> cells(6, make_cell("k", value{}, at(1, 0, 1)));
    CHECK(protocol_failure(
              push_batch{.changes = {change_of(id_of(1), cells), change_of(id_of(2), cells)}}, few)
              .message == "a batch's cells has 12 elements, over the limit of 10");
  }
}

TEST_CASE("the protocol offer header reads a version or falls back to the oldest",
          "[sync][codec][v3]") {
  CHECK(parse_protocol_offer("3") == 3);
  CHECK(parse_protocol_offer("17") == 17);
  CHECK(parse_protocol_offer("") == oldest_protocol_version);
  CHECK(parse_protocol_offer("1") == oldest_protocol_version);
  CHECK(parse_protocol_offer("3x") == oldest_protocol_version);
  CHECK(parse_protocol_offer("99999999999") == oldest_protocol_version);
}
