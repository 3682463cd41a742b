// Frame encoding and bounded decoding of protocol messages: Cereal for every
// message of version 2 and all but the batches of version 3, whose compact
// bodies are batch_codec.cpp's, deflated by frame_deflate.cpp.
#include <cereal/archives/portable_binary.hpp>
#include <charconv>
#include <haven/sync/protocol.hpp>
#include <istream>
#include <ostream>
#include <sstream>
#include <streambuf>

#include "batch_codec.hpp"
#include "frame_deflate.hpp"
#include "wire_bytes.hpp"

namespace haven::sync {
namespace {

[[noreturn]] void bad_frame(const std::string& what) {
  throw failure(errc::protocol, what);
}

// An input buffer over the frame that knows how many bytes are left.
class frame_buf : public std::streambuf {
 public:
  explicit frame_buf(std::string_view bytes) {
    char* p = const_cast<char*>(bytes.data());  // only ever read
    setg(p, p, p + bytes.size());
  }
  std::size_t remaining() const { return static_cast<std::size_t>(egptr() - gptr()); }
};

struct codec_context {
  const frame_limits& limits;
  const frame_buf* in = nullptr;  // null while encoding
};
// Cereal archives that carry the codec context to the nested (de)serializers.
template <class Base>
class archive_with_context : public Base {
 public:
  template <class Stream>
  archive_with_context(const codec_context& ctx, Stream& stream) : Base(stream), ctx_(ctx) {}
  const codec_context& ctx() const { return ctx_; }

 private:
  const codec_context& ctx_;
};
using out_archive = archive_with_context<cereal::PortableBinaryOutputArchive>;
using in_archive = archive_with_context<cereal::PortableBinaryInputArchive>;

// Cereal hands nested serializers the base archive; the context is on ours.
template <class Archive>
const codec_context& context(Archive& ar) {
  if constexpr (Archive::is_loading::value)
    return dynamic_cast<const in_archive&>(ar).ctx();
  else
    return dynamic_cast<const out_archive&>(ar).ctx();
}

// Checks a length or count read from (or about to be written to) a frame:
// at most `limit`, and when reading, no more than the bytes left in the frame
// allow at `min_bytes` per element. Throws before anything is allocated.
void check_count(const codec_context& ctx, std::uint64_t n, std::size_t limit,
                 std::size_t min_bytes, const char* what) {
  if (n > limit)
    bad_frame(std::string(what) + " has " + std::to_string(n) + " elements, over the limit of " +
              std::to_string(limit));
  if (ctx.in && n > ctx.in->remaining() / min_bytes)
    bad_frame(std::string("truncated frame: ") + what + " claims " + std::to_string(n) +
              " elements but only " + std::to_string(ctx.in->remaining()) + " bytes are left");
}

enum class bound { key, text, schema };

std::size_t limit_of(const frame_limits& l, bound b) {
  switch (b) {
    case bound::key:
      return l.max_key_bytes;
    case bound::text:
      return l.max_text_bytes;
    case bound::schema:
      return l.max_schema_bytes;
  }
  return 0;
}

// A string with a length limit.
struct bounded_string {
  std::string& s;
  bound b;

  template <class A>
  void save(A& ar) const {
    check_count(context(ar), s.size(), limit_of(context(ar).limits, b), 1, "a string");
    ar(cereal::make_size_tag(static_cast<cereal::size_type>(s.size())));
    ar(cereal::binary_data(s.data(), s.size()));
  }
  template <class A>
  void load(A& ar) {
    cereal::size_type n = 0;
    ar(cereal::make_size_tag(n));
    check_count(context(ar), n, limit_of(context(ar).limits, b), 1, "a string");
    s.resize(static_cast<std::size_t>(n));
    ar(cereal::binary_data(s.data(), s.size()));
  }
};

// A vector with a count limit; min_bytes is the least an element can take.
template <class T>
struct bounded_vector {
  std::vector<T>& v;
  std::size_t frame_limits::*limit;
  std::size_t min_bytes;
  const char* what;

  template <class A>
  void save(A& ar) const {
    check_count(context(ar), v.size(), context(ar).limits.*limit, min_bytes, what);
    ar(cereal::make_size_tag(static_cast<cereal::size_type>(v.size())));
    for (const T& element : v) ar(element);
  }
  template <class A>
  void load(A& ar) {
    cereal::size_type n = 0;
    ar(cereal::make_size_tag(n));
    check_count(context(ar), n, context(ar).limits.*limit, min_bytes, what);
    v.resize(static_cast<std::size_t>(n));
    for (T& element : v) ar(element);
  }
};

// A boolean as one byte that must be 0 or 1.
struct strict_bool {
  bool& b;
  template <class A>
  void save(A& ar) const {
    ar(static_cast<std::uint8_t>(b ? 1 : 0));
  }
  template <class A>
  void load(A& ar) {
    std::uint8_t byte = 0;
    ar(byte);
    if (byte > 1) bad_frame("a boolean byte is " + std::to_string(byte) + ", not 0 or 1");
    b = byte == 1;
  }
};

enum class value_kind : std::uint8_t { null = 0, integer = 1, code = 2, date = 3, boolean = 4 };

// A cell value: a kind byte, then its payload.
struct value_io {
  value& v;

  template <class A>
  void save(A& ar) const {
    std::visit(
        [&](auto& x) {
          using X = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<X, std::monostate>) {
            ar(value_kind::null);
          } else if constexpr (std::is_same_v<X, std::int64_t>) {
            ar(value_kind::integer, x);
          } else if constexpr (std::is_same_v<X, std::string>) {
            ar(value_kind::code, bounded_string{x, bound::key});
          } else if constexpr (std::is_same_v<X, date>) {
            ar(value_kind::date, x.days);
          } else if constexpr (std::is_same_v<X, bool>) {
            ar(value_kind::boolean, strict_bool{x});
          } else {
            bad_frame("a set value cannot be sent as one cell");
          }
        },
        v);
  }
  template <class A>
  void load(A& ar) {
    std::uint8_t kind = 0;
    ar(kind);
    switch (static_cast<value_kind>(kind)) {
      case value_kind::null:
        v = std::monostate{};
        return;
      case value_kind::integer: {
        std::int64_t i = 0;
        ar(i);
        v = i;
        return;
      }
      case value_kind::code: {
        std::string s;
        ar(bounded_string{s, bound::key});
        v = std::move(s);
        return;
      }
      case value_kind::date: {
        date d;
        ar(d.days);
        v = d;
        return;
      }
      case value_kind::boolean: {
        bool b = false;
        ar(strict_bool{b});
        v = b;
        return;
      }
    }
    bad_frame("unknown value kind " + std::to_string(kind));
  }
};

}  // namespace

// Cereal finds these by argument-dependent lookup.
template <class A>
void serialize(A& ar, hlc& h) {
  ar(h.packed);
}
template <class A>
void serialize(A& ar, record_id& id) {
  ar(cereal::binary_data(id.bytes.data(), id.bytes.size()));
}
template <class A>
void serialize(A& ar, stamp& s) {
  ar(s.time, s.node);
}
template <class A>
void serialize(A& ar, cell& c) {
  ar(bounded_string{c.key, bound::key}, value_io{c.val}, c.at);
}
// Lengths and counts take 8 bytes each. A cell takes at least 8 (key length)
// + 1 (kind) + 16 (stamp) bytes; a record change 16 (id) + 3 * 8 (lengths).
constexpr std::size_t min_cell_bytes = 25, min_record_bytes = 40;
template <class A>
void serialize(A& ar, record_change& r) {
  ar(r.id, bounded_string{r.type, bound::key}, bounded_string{r.team, bound::key},
     bounded_vector<cell>{r.cells, &frame_limits::max_cells_per_record, min_cell_bytes,
                          "a record's cells"});
}
template <class A>
void serialize(A& ar, hello& m) {
  ar(m.version, bounded_string{m.device_id, bound::text}, bounded_string{m.team, bound::key},
     m.node, m.schema_version, m.acked_seq, m.pulled_seq, bounded_string{m.proof, bound::text});
}
template <class A>
void serialize(A& ar, welcome& m) {
  ar(m.version, m.schema_version, bounded_string{m.schema_json, bound::schema}, m.server_time,
     m.acked_seq, m.max_batch_records);
}
template <class A>
void serialize(A& ar, push_batch& m) {
  ar(m.last_seq, bounded_vector<record_change>{m.changes, &frame_limits::max_records,
                                               min_record_bytes, "a batch"});
}
template <class A>
void serialize(A& ar, push_ack& m) {
  ar(m.acked_seq);
}
template <class A>
void serialize(A& ar, pull_request& m) {
  ar(m.since, m.max_cells);
}
template <class A>
void serialize(A& ar, change_batch& m) {
  ar(m.up_to, strict_bool{m.more},
     bounded_vector<record_change>{m.changes, &frame_limits::max_records, min_record_bytes,
                                   "a batch"});
}
template <class A>
void serialize(A& ar, error_frame& m) {
  ar(m.code, bounded_string{m.message, bound::text});
}

template <class A>
void serialize(A& ar, challenge& m) {
  ar(m.version, bounded_string{m.nonce, bound::text}, strict_bool{m.channel_bound});
}
// A wipe order's reason as its text, the one place the wire spells a standing.
struct wipe_reason_io {
  standing& s;
  template <class A>
  void save(A& ar) const {
    if (s == standing::active) throw failure(errc::protocol, "a wipe order for an active device");
    std::string text(to_string(s));
    ar(bounded_string{text, bound::key});
  }
  template <class A>
  void load(A& ar) {
    std::string text;
    ar(bounded_string{text, bound::key});
    const auto parsed = parse_standing(text);
    if (!parsed || *parsed == standing::active)
      bad_frame("a wipe order for an unknown reason (neither retired nor revoked)");
    s = *parsed;
  }
};
template <class A>
void serialize(A& ar, wipe_order& m) {
  ar(wipe_reason_io{m.reason});
}
template <class A>
void serialize(A&, wipe_done&) {}

std::string proof_message(const hello& h, std::string_view nonce,
                          std::string_view channel_binding) {
  hello signed_fields = h;
  signed_fields.proof.clear();
  std::string out = "haven-sync-hello-v2";
  out += '\0';
  for (const std::string_view part : {nonce, channel_binding}) {
    out += static_cast<char>(part.size());
    out += part;
  }
  out +=
      encode(signed_fields, frame_limits{}, oldest_protocol_version);  // a hello is the same in all
  return out;
}

namespace {

// Version 3's batch frames: tag, compression (stored or deflate), then the
// body, or its size and its deflated bytes.
enum compact_tag : std::uint8_t { compact_push = 10, compact_changes = 11 };
enum class compression : std::uint8_t { stored = 0, deflate = 1 };
// Bodies shorter than this are sent as they are: deflate would not pay.
constexpr std::size_t min_deflate_bytes = 128;

void check_frame_size(std::size_t size, const frame_limits& limits, const char* what) {
  if (size > limits.max_frame_bytes)
    bad_frame(std::string(what) + " of " + std::to_string(size) + " bytes is over the limit of " +
              std::to_string(limits.max_frame_bytes) + "; send smaller batches");
}

std::string compact_frame(compact_tag tag, const std::string& body, const frame_limits& limits) {
  check_frame_size(body.size(), limits, "a batch body");
  std::string frame(1, static_cast<char>(tag));
  wire::byte_writer w(frame);
  if (body.size() >= min_deflate_bytes) {
    const std::string deflated = wire::deflate_body(body);
    if (deflated.size() + 8 < body.size()) {
      w.byte(static_cast<std::uint8_t>(compression::deflate));
      w.varint(body.size());
      w.bytes(deflated);
      check_frame_size(frame.size(), limits, "frame");
      return frame;
    }
  }
  w.byte(static_cast<std::uint8_t>(compression::stored));
  w.bytes(body);
  check_frame_size(frame.size(), limits, "frame");
  return frame;
}

// The body of a compact frame (after its tag), inflated if it is deflated.
std::string compact_body(std::string_view rest, const frame_limits& limits) {
  wire::byte_reader r(rest);
  const std::uint8_t how = r.byte();
  if (how == static_cast<std::uint8_t>(compression::stored))
    return std::string(r.bytes(r.remaining()));
  if (how != static_cast<std::uint8_t>(compression::deflate))
    bad_frame("unknown compression " + std::to_string(how) + " (0 stored or 1 deflate expected)");
  const std::uint64_t size = r.varint();
  if (size == 0 || size > limits.max_frame_bytes)
    bad_frame("a compressed body declares " + std::to_string(size) +
              " bytes; at least 1 and at most the frame limit of " +
              std::to_string(limits.max_frame_bytes) + " expected");
  return wire::inflate_body(r.bytes(r.remaining()), static_cast<std::size_t>(size));
}

}  // namespace

std::string encode(const message& m, const frame_limits& limits, std::uint32_t version) {
  if (version >= 3) {
    if (const auto* b = std::get_if<push_batch>(&m))
      return compact_frame(compact_push, wire::encode_body(*b, limits), limits);
    if (const auto* b = std::get_if<change_batch>(&m))
      return compact_frame(compact_changes, wire::encode_body(*b, limits), limits);
  }
  std::ostringstream out;
  out.put(static_cast<char>(m.index()));
  {
    codec_context ctx{limits, nullptr};
    out_archive ar(ctx, out);
    std::visit([&](const auto& body) { ar(body); }, m);
  }
  std::string frame = std::move(out).str();
  if (frame.size() > limits.max_frame_bytes)
    bad_frame("frame of " + std::to_string(frame.size()) + " bytes is over the limit of " +
              std::to_string(limits.max_frame_bytes) + "; send smaller batches");
  return frame;
}

namespace {
template <std::size_t I = 0>
message default_message(std::size_t index) {
  if constexpr (I < std::variant_size_v<message>) {
    if (index == I) return message{std::in_place_index<I>};
    return default_message<I + 1>(index);
  } else {
    bad_frame("unknown message tag " + std::to_string(index));
  }
}
}  // namespace

result<message> decode(std::string_view frame, const frame_limits& limits) {
  return capture([&]() -> message {
    if (frame.empty()) bad_frame("empty frame");
    if (frame.size() > limits.max_frame_bytes)
      bad_frame("frame of " + std::to_string(frame.size()) + " bytes is over the limit of " +
                std::to_string(limits.max_frame_bytes));
    const auto tag = static_cast<unsigned char>(frame.front());
    if (tag == compact_push)
      return wire::decode_push_body(compact_body(frame.substr(1), limits), limits);
    if (tag == compact_changes)
      return wire::decode_change_body(compact_body(frame.substr(1), limits), limits);
    message m = default_message(tag);
    frame_buf buf(frame.substr(1));
    std::istream in(&buf);
    codec_context ctx{limits, &buf};
    try {
      in_archive ar(ctx, in);
      std::visit([&](auto& body) { ar(body); }, m);
    } catch (const cereal::Exception&) {
      bad_frame("truncated frame: it ends inside a message");
    }
    if (buf.remaining() != 0)
      bad_frame(std::to_string(buf.remaining()) + " unexpected bytes after the message");
    return m;
  });
}

std::uint32_t frame_version(std::string_view frame) {
  if (!frame.empty() && (static_cast<unsigned char>(frame.front()) == compact_push ||
                         static_cast<unsigned char>(frame.front()) == compact_changes))
    return 3;
  return oldest_protocol_version;
}

std::uint32_t parse_protocol_offer(std::string_view value) {
  std::uint32_t v = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc{} || end != value.data() + value.size() || v < oldest_protocol_version)
    return oldest_protocol_version;
  return v;
}

std::string_view to_string(standing s) {
  switch (s) {
    case standing::retired:
      return "retired";
    case standing::revoked:
      return "revoked";
    case standing::active:
      break;
  }
  return "active";
}

std::optional<standing> parse_standing(std::string_view text) {
  for (const standing s : {standing::active, standing::retired, standing::revoked})
    if (text == to_string(s)) return s;
  return std::nullopt;
}

}  // namespace haven::sync
