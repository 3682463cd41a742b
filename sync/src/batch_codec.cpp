// Protocol version 3's compact batch body. All numbers are varints (see
// wire_bytes.hpp). Layout:
//   push_batch:   last_seq, changes
//   change_batch: up_to, more (one byte, 0 or 1), changes
//   changes:      string table: count, then each string as length + bytes
//                   (types, teams, field keys and codes, each once, in order of first use)
//                 node table: count, then each node id
//                 record count, then each record:
//                   id (16 bytes), type index, team index, cell count, cells
//   cell:         key index << 3 | value kind, node index,
//                 HLC as a zigzag delta from the previous cell's in the batch (0 before the first),
//                 payload: integer zigzag; code a string index; date days zigzag; none for
//                 null, false and true (kinds 0 null, 1 integer, 2 code, 3 date, 4 false, 5 true)
// A per-batch table keeps each frame self-describing: it needs no schema
// version and no state from earlier frames.
#include "batch_codec.hpp"

#include <limits>
#include <unordered_map>

#include "wire_bytes.hpp"

namespace haven::sync::wire {
namespace {

enum class kind : std::uint8_t { null = 0, integer = 1, code = 2, date = 3, no = 4, yes = 5 };
constexpr unsigned kind_bits = 3;
// The least bytes a record takes (id, type, team, cell count) and a cell (head, node, HLC).
constexpr std::size_t min_record_bytes = 16 + 3, min_cell_bytes = 3;

// The most strings a batch can refer to: a type and team per record, a key and code per cell.
std::size_t max_strings(const frame_limits& l) {
  return 2 * (l.max_records + l.max_batch_cells);
}

void check_limit(std::size_t n, std::size_t limit, const char* what) {
  if (n > limit)
    bad_frame(std::string(what) + " has " + std::to_string(n) + " elements, over the limit of " +
              std::to_string(limit));
}

// The string and node tables of a batch being encoded, in order of first use.
class tables {
 public:
  explicit tables(const frame_limits& l) : limits_(l) {}

  std::uint64_t string(std::string_view s) {
    check_limit(s.size(), limits_.max_key_bytes, "a string");
    const auto [it, added] = string_index_.try_emplace(s, strings_.size());
    if (added) strings_.push_back(s);
    return it->second;
  }
  std::uint64_t node(node_id n) {
    const auto [it, added] = node_index_.try_emplace(n, nodes_.size());
    if (added) nodes_.push_back(n);
    return it->second;
  }
  void write(byte_writer& w) const {
    w.varint(strings_.size());
    for (const std::string_view s : strings_) {
      w.varint(s.size());
      w.bytes(s);
    }
    w.varint(nodes_.size());
    for (const node_id n : nodes_) w.varint(n);
  }

 private:
  const frame_limits& limits_;
  std::vector<std::string_view> strings_;
  std::unordered_map<std::string_view, std::uint64_t> string_index_;
  std::vector<node_id> nodes_;
  std::unordered_map<node_id, std::uint64_t> node_index_;
};

void write_cell(byte_writer& w, tables& t, const cell& c, std::uint64_t& previous_hlc) {
  const std::uint64_t key = t.string(c.key) << kind_bits;
  std::visit(
      [&](const auto& x) {
        using X = std::decay_t<decltype(x)>;
        auto head = [&](kind k) {
          w.varint(key | static_cast<std::uint8_t>(k));
          w.varint(t.node(c.at.node));
          w.signed_varint(static_cast<std::int64_t>(c.at.time.packed - previous_hlc));
        };
        if constexpr (std::is_same_v<X, std::monostate>) {
          head(kind::null);
        } else if constexpr (std::is_same_v<X, std::int64_t>) {
          head(kind::integer);
          w.signed_varint(x);
        } else if constexpr (std::is_same_v<X, std::string>) {
          const std::uint64_t code = t.string(x);
          head(kind::code);
          w.varint(code);
        } else if constexpr (std::is_same_v<X, date>) {
          head(kind::date);
          w.signed_varint(x.days);
        } else if constexpr (std::is_same_v<X, bool>) {
          head(x ? kind::yes : kind::no);
        } else {
          bad_frame("a set value cannot be sent as one cell");
        }
      },
      c.val);
  previous_hlc = c.at.time.packed;
}

void write_changes(byte_writer& out, const std::vector<record_change>& changes,
                   const frame_limits& limits) {
  check_limit(changes.size(), limits.max_records, "a batch");
  tables t(limits);
  std::string records;
  byte_writer w(records);
  w.varint(changes.size());
  std::uint64_t previous_hlc = 0;
  std::size_t cells = 0;
  for (const record_change& r : changes) {
    check_limit(r.cells.size(), limits.max_cells_per_record, "a record's cells");
    cells += r.cells.size();
    check_limit(cells, limits.max_batch_cells, "a batch's cells");
    w.bytes({reinterpret_cast<const char*>(r.id.bytes.data()), r.id.bytes.size()});
    w.varint(t.string(r.type));
    w.varint(t.string(r.team));
    w.varint(r.cells.size());
    for (const cell& c : r.cells) write_cell(w, t, c, previous_hlc);
  }
  t.write(out);
  out.bytes(records);
}

// The tables of a batch being decoded.
struct read_tables {
  std::vector<std::string> strings;
  std::vector<node_id> nodes;

  const std::string& string(std::uint64_t index) const {
    if (index >= strings.size())
      bad_frame("a string index " + std::to_string(index) +
                " is out of range: the batch's table has " + std::to_string(strings.size()) +
                " strings");
    return strings[index];
  }
  node_id node(std::uint64_t index) const {
    if (index >= nodes.size())
      bad_frame("a node index " + std::to_string(index) +
                " is out of range: the batch's table has " + std::to_string(nodes.size()) +
                " nodes");
    return nodes[index];
  }
};

read_tables read_tables_of(byte_reader& r, const frame_limits& limits) {
  read_tables t;
  const std::size_t strings = r.count(max_strings(limits), 1, "a batch's string table");
  t.strings.reserve(strings);
  for (std::size_t i = 0; i < strings; ++i)
    t.strings.emplace_back(r.bytes(r.count(limits.max_key_bytes, 1, "a string")));
  t.nodes.resize(r.count(limits.max_batch_cells, 1, "a batch's node table"));
  for (node_id& n : t.nodes) n = r.varint();
  return t;
}

value read_value(byte_reader& r, const read_tables& t, kind k) {
  switch (k) {
    case kind::null:
      return std::monostate{};
    case kind::integer:
      return r.signed_varint();
    case kind::code:
      return t.string(r.varint());
    case kind::date: {
      const std::int64_t days = r.signed_varint();
      if (days < std::numeric_limits<std::int32_t>::min() ||
          days > std::numeric_limits<std::int32_t>::max())
        bad_frame("a date of " + std::to_string(days) + " days is out of range");
      return date{static_cast<std::int32_t>(days)};
    }
    case kind::no:
      return false;
    case kind::yes:
      return true;
  }
  bad_frame("unknown value kind " + std::to_string(static_cast<unsigned>(k)));
}

std::vector<record_change> read_changes(byte_reader& r, const frame_limits& limits) {
  const read_tables t = read_tables_of(r, limits);
  std::vector<record_change> changes(r.count(limits.max_records, min_record_bytes, "a batch"));
  std::uint64_t previous_hlc = 0;
  std::size_t cells = 0;
  for (record_change& rc : changes) {
    const std::string_view id = r.bytes(rc.id.bytes.size());
    std::copy(id.begin(), id.end(), rc.id.bytes.begin());
    rc.type = t.string(r.varint());
    rc.team = t.string(r.varint());
    const std::size_t n = r.count(limits.max_cells_per_record, min_cell_bytes, "a record's cells");
    cells += n;
    check_limit(cells, limits.max_batch_cells, "a batch's cells");
    rc.cells.resize(n);
    for (cell& c : rc.cells) {
      const std::uint64_t head = r.varint();
      const auto k = static_cast<kind>(head & ((1u << kind_bits) - 1));
      c.key = t.string(head >> kind_bits);
      c.at.node = t.node(r.varint());
      c.at.time.packed = previous_hlc + static_cast<std::uint64_t>(r.signed_varint());
      previous_hlc = c.at.time.packed;
      c.val = read_value(r, t, k);
    }
  }
  return changes;
}

void require_end(const byte_reader& r) {
  if (r.remaining() != 0)
    bad_frame(std::to_string(r.remaining()) + " unexpected bytes after the message");
}

bool read_bool(byte_reader& r) {
  const std::uint8_t b = r.byte();
  if (b > 1) bad_frame("a boolean byte is " + std::to_string(b) + ", not 0 or 1");
  return b == 1;
}

}  // namespace

std::string encode_body(const push_batch& b, const frame_limits& limits) {
  std::string out;
  byte_writer w(out);
  w.varint(b.last_seq);
  write_changes(w, b.changes, limits);
  return out;
}

std::string encode_body(const change_batch& b, const frame_limits& limits) {
  std::string out;
  byte_writer w(out);
  w.varint(b.up_to);
  w.byte(b.more ? 1 : 0);
  write_changes(w, b.changes, limits);
  return out;
}

push_batch decode_push_body(std::string_view body, const frame_limits& limits) {
  byte_reader r(body);
  push_batch b;
  b.last_seq = r.varint();
  b.changes = read_changes(r, limits);
  require_end(r);
  return b;
}

change_batch decode_change_body(std::string_view body, const frame_limits& limits) {
  byte_reader r(body);
  change_batch b;
  b.up_to = r.varint();
  b.more = read_bool(r);
  b.changes = read_changes(r, limits);
  require_end(r);
  return b;
}

}  // namespace haven::sync::wire
