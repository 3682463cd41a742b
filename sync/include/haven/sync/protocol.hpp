#pragma once
// The sync protocol's messages and their binary frames, behind a one-byte
// message tag. Version 2 frames are Cereal portable binary. Version 3 keeps
// them for every message but the batches: push_batch and change_batch travel
// as compact frames (tags 10 and 11: varints, a per-batch table of strings
// and nodes, HLCs as deltas, see batch_codec.cpp), deflated when that pays.
// decode() reads both, so a frame says how it is encoded; which encoding a
// peer is sent follows the version negotiated in the handshake (session.hpp).
// decode() checks every length and count against `frame_limits` and against
// the bytes left in the frame before it allocates, so a hostile frame can
// neither make it allocate much nor loop; a compressed body is inflated into
// at most max_frame_bytes.

#include <cstdint>
#include <haven/core/result.hpp>
#include <haven/sync/change.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace haven::sync {

// The newest protocol version this build speaks, and the oldest it still
// serves (devices of the previous release).
inline constexpr std::uint32_t protocol_version = 3;
inline constexpr std::uint32_t oldest_protocol_version = 2;

// The WebSocket upgrade request's header in which a device announces the
// newest protocol version it speaks (a decimal number), so that the
// server's challenge can name a version that this device accepts: a device of
// the release before version 3 sends none, and accepts only a challenge of
// version 2. See parse_protocol_offer.
inline constexpr std::string_view protocol_offer_header = "Haven-Protocol";
// The version a device announced in protocol_offer_header's `value`:
// oldest_protocol_version when there is none or it is no decimal number.
std::uint32_t parse_protocol_offer(std::string_view value);

struct frame_limits {
  std::size_t max_frame_bytes = 4 << 20;
  std::size_t max_records = 2000;  // record_changes in one batch
  std::size_t max_cells_per_record = 512;
  // Cells in one batch (version 3 frames, where a cell can take 3 bytes, so
  // that a frame cannot decode into far more memory than it takes).
  std::size_t max_batch_cells = 16384;
  std::size_t max_key_bytes = 128;   // field keys, types, teams, codes
  std::size_t max_text_bytes = 256;  // device ids, error messages, proofs
  std::size_t max_schema_bytes = 1 << 20;
};

// Server -> device, first frame of a session: a fresh random nonce that the
// device's hello must sign, so that no hello can be replayed. When the server
// terminates TLS itself, channel_bound: the device signs its TLS connection's
// binding too (see proof_message), so that a relay holding a certificate the
// device trusts cannot pass the signature on to the server as its own.
struct challenge {
  std::uint32_t version = protocol_version;
  std::string nonce;
  bool channel_bound = false;
  bool operator==(const challenge&) const = default;
};

// Device -> server, the reply to the challenge.
struct hello {
  std::uint32_t version = protocol_version;
  std::string device_id;
  std::string team;  // the team whose records the device pulls
  node_id node = 0;
  std::int64_t schema_version = 0;
  std::uint64_t acked_seq = 0;   // highest local seq the device knows the server has
  std::uint64_t pulled_seq = 0;  // server log position the device has pulled up to
  std::string proof;             // Ed25519 signature of proof_message(); empty when not enrolled
  bool operator==(const hello&) const = default;
};

// The bytes a device signs: a domain tag, the server's nonce, the TLS
// channel binding (net's channel_binding() of the connection, when the
// challenge is channel_bound; else empty) and every other field of its hello,
// so that none of them can be changed, replayed or relayed.
std::string proof_message(const hello& h, std::string_view nonce,
                          std::string_view channel_binding = {});

// Server -> device, reply to hello.
struct welcome {
  std::uint32_t version = protocol_version;
  std::int64_t schema_version = 0;
  std::string schema_json;  // the schema, when the hello named an older schema_version; else empty
  hlc server_time;
  std::uint64_t acked_seq = 0;  // highest local seq of this device the server has committed
  std::uint32_t max_batch_records =
      0;  // the most records the server takes in one push (0: frame_limits' default)
  bool operator==(const welcome&) const = default;
};

// Device -> server: local changes up to local sequence number last_seq.
struct push_batch {
  std::uint64_t last_seq = 0;
  std::vector<record_change> changes;
  bool operator==(const push_batch&) const = default;
};

// Server -> device: everything up to acked_seq is durably committed.
struct push_ack {
  std::uint64_t acked_seq = 0;
  bool operator==(const push_ack&) const = default;
};

// Device -> server: send the team's changes after server position `since`.
struct pull_request {
  std::uint64_t since = 0;
  std::uint32_t max_cells = 0;
  bool operator==(const pull_request&) const = default;
};

// Server -> device: changes up to server position up_to; more = not caught up yet.
struct change_batch {
  std::uint64_t up_to = 0;
  bool more = false;
  std::vector<record_change> changes;
  bool operator==(const change_batch&) const = default;
};

// Either side: the session ends after this frame.
struct error_frame {
  std::uint16_t code = 0;  // an haven::errc value
  std::string message;
  bool operator==(const error_frame&) const = default;
};

// A device's standing with its server, and so the wipe order it is given.
// active: may sync. retired: handed back; its pending changes are accepted,
// then it is told to wipe. revoked: lost or stolen; refused, told to wipe.
enum class standing : std::uint8_t { active, retired, revoked };

// "active", "retired" or "revoked": how frames, the registry and people spell it.
std::string_view to_string(standing s);
// The standing spelt `text` by to_string, or nullopt.
std::optional<standing> parse_standing(std::string_view text);

// Server -> device: erase the local store, then answer wipe_done. retired:
// sent once the device has pushed everything; revoked: sent instead of a
// welcome, before any data moves. On the wire the reason is the text
// "retired" or "revoked"; encode() refuses an order for an active device and
// decode() any other text (errc::protocol).
struct wipe_order {
  standing reason = standing::revoked;
  bool operator==(const wipe_order&) const = default;
};

// Device -> server: the store is erased (the last frame of a device).
struct wipe_done {
  bool operator==(const wipe_done&) const = default;
};

using message = std::variant<hello, welcome, push_batch, push_ack, pull_request, change_batch,
                             error_frame, challenge, wipe_order, wipe_done>;

// The frame for a message in protocol `version` (2: every message as
// Cereal; 3 or later: batches as compact frames). Throws haven::failure
// (errc::protocol) if the message breaks `limits` (a too long string, too
// many cells, a code_set value): a peer would refuse such a frame.
std::string encode(const message& m, const frame_limits& limits = {},
                   std::uint32_t version = protocol_version);

// The message in a frame, or errc::protocol saying what is wrong with it:
// too large, unknown tag, truncated, a count or length over its limit, a
// table index out of range, a bad value kind, a compressed body that is
// corrupt or inflates to more than it declares, trailing bytes. Reads frames
// of every version this build speaks. Never throws.
result<message> decode(std::string_view frame, const frame_limits& limits = {});

// The first protocol version that has a frame of this kind: 3 for a compact
// batch frame, else 2. A session refuses a frame newer than its version, as
// a peer of that release would.
std::uint32_t frame_version(std::string_view frame);

}  // namespace haven::sync
