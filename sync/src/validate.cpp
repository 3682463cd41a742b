#include <haven/core/terminal_text.hpp>
#include <haven/sync/validate.hpp>

namespace haven::sync {
namespace {

bool is_field_name(std::string_view key) {
  return !key.empty() && key.size() <= 64 &&
         key.find_first_not_of(
             "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") ==
             std::string_view::npos;
}

// A key or type name as an issue names it: as is when `known`, else by its
// length only. What comes from the wire may be a name or a phone number where
// a field name belongs, and a refusal is logged and audited.
std::string shown(std::string_view key, bool known) {
  return known ? std::string(key) : "(unknown, " + std::to_string(key.size()) + " bytes)";
}

// A cell's key as its issue names it: a field of `t` by its name, an element
// of a set field of `t` by the field's name and the element's if it is a code.
std::string shown(const record_type& t, std::string_view key) {
  if (key == deleted_key || t.field(key)) return std::string(key);
  if (const auto element = split_element_key(key); element && t.field(element->first)) {
    const field_def& f = *t.field(element->first);
    return f.key + "." + shown(element->second, f.is_set() && f.has_code(element->second));
  }
  return shown(key, false);
}

// A value that carries no text beyond a code.
bool is_inert(const value& v) {
  if (const auto* text = std::get_if<std::string>(&v))
    return !text->empty() && text->size() <= 64 &&
           text->find_first_not_of(
               "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") ==
               std::string::npos;
  if (const auto* n = std::get_if<std::int64_t>(&v))
    return *n >= -max_integer_magnitude && *n <= max_integer_magnitude;
  return !std::holds_alternative<code_set>(v);
}

// A value's problem as a refusal says it: the rule only. The messages of
// record_type::check_value end with the value they got, " (got ...)", which
// from the wire may be a name or a phone number typed where a code belongs;
// a refusal is logged and audited, so it never repeats the value.
std::string rule_only(std::string why) {
  if (const auto at = why.find(" (got "); at != std::string::npos) why.erase(at);
  return why;
}

std::optional<std::string> check_cell(const record_type& t, const cell& c,
                                      std::optional<date> today, unknown_fields unknown) {
  // What a newer schema may hold that this one does not know.
  auto not_known = [&](std::string why) -> std::optional<std::string> {
    if (unknown == unknown_fields::keep_inert_values && is_field_name(c.key) && is_inert(c.val))
      return std::nullopt;
    return why;
  };
  if (c.key == deleted_key)
    return std::holds_alternative<bool>(c.val) && std::get<bool>(c.val)
               ? std::nullopt
               : std::optional<std::string>("must be true");
  if (const auto element = split_element_key(c.key)) {
    // An element a newer schema may know: kept only if it is code-like itself
    // (not empty, no '.'), since a device lists it as a code of its set.
    auto element_not_known = [&](std::string why) -> std::optional<std::string> {
      if (!is_inert(value{std::string(element->second)})) return why;
      return not_known(std::move(why));
    };
    const field_def* f = t.field(element->first);
    if (!f) return element_not_known("is not a set field of " + t.name);
    if (!f->is_set()) return "is not a set field of " + t.name;
    if (!f->has_code(element->second)) return element_not_known("is not a code of " + f->key);
    if (!std::holds_alternative<bool>(c.val) && !is_null(c.val))
      return "a set element holds true or false";
    return std::nullopt;
  }
  const field_def* f = t.field(c.key);
  if (!f) return not_known("is not a field of " + t.name);
  if (f->is_set()) return "is a set field, whose elements are cells of their own";
  if (auto why = t.check_value(*f, c.val, today)) return rule_only(std::move(*why));
  return std::nullopt;
}

}  // namespace

std::vector<field_issue> check_change(const schema& s, const record_change& change,
                                      std::optional<date> today, unknown_fields unknown) {
  const record_type* t = s.type(change.type);
  if (!t) return {{"type", "is not a record type of this schema"}};
  std::vector<field_issue> issues;
  if (!valid_team(change.team)) issues.push_back({"team", "is not a team code"});
  for (const auto& c : change.cells)
    if (auto why = check_cell(*t, c, today, unknown))
      issues.push_back({shown(*t, c.key), std::move(*why)});
  return issues;
}

std::string describe_issues(const schema& s, const record_id& id, std::string_view type,
                            const std::vector<field_issue>& issues) {
  std::string out = "record " + id.hex() + " (" +
                    (s.type(type) ? std::string(type)
                                  : "unknown type, " + std::to_string(type.size()) + " bytes") +
                    "): ";
  for (std::size_t i = 0; i < issues.size(); ++i) {
    if (i) out += "; ";
    out += issues[i].field + ": " + printable(rule_only(issues[i].message));
  }
  return out;
}

}  // namespace haven::sync
