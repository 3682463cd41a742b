// libFuzzer target: the validator havend runs on every pushed change
// (sync::check_change with unknown_fields::refuse, the built-in schema and a
// fixed today), and that devices run on every pulled one (keep_inert_values).
//
// The first byte picks the mode. Even: the rest is a frame, and every change
// of the push (or pull) batch it decodes to is checked. Odd: the rest
// describes one record change (hostile_change.hpp), mostly well formed, with
// hostile values.
//
// Properties, for every change: no crash or undefined behaviour; the check is
// deterministic; describe_issues() of what it found holds no control
// character, bidi override or invalid UTF-8 (it goes to terminals and logs);
// whatever the server accepts a device accepts too. For a change the server
// accepts: each value re-parses to itself and passes check_value again, the
// fields folded from the cells pass too, no text is more than a code, and the
// change encodes and decodes to itself (it is what havend forwards to the
// team's devices). For a change a device accepts: every key
// could be a field name and every text is a code (no free text is kept).

#include <cstddef>
#include <cstdint>
#include <haven/schema/schema.hpp>
#include <haven/sync/protocol.hpp>
#include <haven/sync/validate.hpp>
#include <string>
#include <string_view>
#include <variant>

#include "fuzz_check.hpp"
#include "hostile_change.hpp"

using namespace haven;
using namespace haven::sync;

namespace {

const date today = from_civil(2026, 3, 2);

bool is_code_text(std::string_view s) {
  return !s.empty() && s.size() <= 128 &&
         s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") ==
             std::string_view::npos;
}

bool is_key_text(std::string_view s) {
  return !s.empty() && s.size() <= 64 &&
         s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") ==
             std::string_view::npos;
}

void require_printable_issues(const schema& s, const record_change& change,
                              const std::vector<field_issue>& issues, const char* side) {
  if (issues.empty()) return;
  const std::string line = describe_issues(s, change.id, change.type, issues);
  fuzz::require_printable(line,
                          std::string("describe_issues() of a change the ") + side + " refused");
  fuzz::require(line.find('\n') == std::string::npos, "describe_issues() is more than one line");
}

// A change the server accepted, checked cell by cell against the schema again.
void require_valid(const schema& s, const record_change& change) {
  const record_type* t = s.type(change.type);
  fuzz::require(t != nullptr, "the server accepted a change of an unknown type");
  fuzz::require(valid_team(change.team), "the server accepted a change whose team is no team code");
  for (const cell& c : change.cells) {
    fuzz::require(is_key_text(c.key), "the server accepted a key that is no field name");
    fuzz::require(!std::holds_alternative<code_set>(c.val),
                  "the server accepted a set as one cell");
    if (const auto* text = std::get_if<std::string>(&c.val))
      fuzz::require(is_code_text(*text), "the server accepted free text in " + c.key);
    if (c.key == deleted_key) {
      fuzz::require(c.val == value{true}, "the server accepted a deletion marker that is not true");
      continue;
    }
    if (const auto element = split_element_key(c.key)) {
      const field_def* f = t->field(element->first);
      fuzz::require(f && f->is_set() && f->has_code(element->second),
                    "the server accepted an element that is no code of a set field: " + c.key);
      fuzz::require(is_null(c.val) || std::holds_alternative<bool>(c.val),
                    "the server accepted a set element that is not a boolean: " + c.key);
      continue;
    }
    const field_def* f = t->field(c.key);
    fuzz::require(f && !f->is_set(), "the server accepted a cell of no plain field: " + c.key);
    if (is_null(c.val)) continue;
    auto parsed = f->parse(to_text(c.val));
    fuzz::require(parsed.ok(), "an accepted value of " + c.key + " does not parse: " +
                                   (parsed ? std::string() : parsed.err().message));
    fuzz::require(parsed.value() == c.val,
                  "an accepted value of " + c.key + " parses to another value");
    fuzz::require(!t->check_value(*f, c.val, today),
                  "an accepted value of " + c.key + " fails check_value");
    if (const auto* n = std::get_if<std::int64_t>(&c.val))
      fuzz::require(*n >= -max_integer_magnitude && *n <= max_integer_magnitude,
                    "the server accepted an integer beyond 10^12 in " + c.key);
  }
  for (const auto& [key, v] : fields_from_cells(change.cells)) {
    const field_def* f = t->field(key);
    fuzz::require(f != nullptr, "an accepted change folds into an unknown field " + key);
    if (auto why = t->check_value(*f, v, today))
      fuzz::fail("the folded value of " + key +
                 " of an accepted change fails check_value: " + *why);
  }
}

void check_one(const schema& s, const record_change& change) {
  const auto refused = check_change(s, change, today, unknown_fields::refuse);
  const auto kept = check_change(s, change, today, unknown_fields::keep_inert_values);
  fuzz::require(check_change(s, change, today, unknown_fields::refuse) == refused,
                "check_change() gave two answers for one change");
  require_printable_issues(s, change, refused, "server");
  require_printable_issues(s, change, kept, "device");
  fuzz::require(!refused.empty() || kept.empty(),
                "a device refuses a change that the server accepts");

  if (kept.empty()) {
    fuzz::require(s.type(change.type) && valid_team(change.team),
                  "a device accepted an unknown type or bad team");
    for (const cell& c : change.cells) {
      fuzz::require(is_key_text(c.key), "a device accepted a key that is no field name");
      if (const auto* text = std::get_if<std::string>(&c.val))
        fuzz::require(is_code_text(*text), "a device accepted free text in " + c.key);
      fuzz::require(!std::holds_alternative<code_set>(c.val),
                    "a device accepted a set as one cell");
    }
  }
  if (!refused.empty()) return;

  require_valid(s, change);
  const push_batch batch{1, {change}};
  std::string frame;
  try {
    frame = encode(batch);
  } catch (const failure& f) {
    fuzz::fail(std::string("a change the server accepted does not encode: ") + f.what());
  }
  auto decoded = decode(frame);
  fuzz::require(decoded.ok() && std::holds_alternative<push_batch>(decoded.value()) &&
                    std::get<push_batch>(decoded.value()) == batch,
                "an accepted change does not come back through the codec as itself");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto schema = haven::schema::builtin();
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) {
    check_one(*schema, fuzz::hostile_change(rest, *schema, today));
    return 0;
  }
  auto decoded = decode(rest);
  if (!decoded) return 0;
  if (const auto* push = std::get_if<push_batch>(&decoded.value()))
    for (const auto& change : push->changes) check_one(*schema, change);
  if (const auto* pull = std::get_if<change_batch>(&decoded.value()))
    for (const auto& change : pull->changes) check_one(*schema, change);
  return 0;
}
