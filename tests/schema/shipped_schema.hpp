#pragma once
// What the schema tests share: the shipped schema, records written as a user
// types them, and the fields that validation issues name.

#include <catch2/catch.hpp>
#include <haven/schema/schema.hpp>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace haven::test {

// schema/haven.schema.json, loaded once for the whole binary.
inline const schema& shipped_schema() {
  static const std::shared_ptr<const schema> loaded = [] {
    auto r = schema::load(HAVEN_DEFAULT_SCHEMA);
    if (!r) throw std::runtime_error(r.err().describe());
    return std::move(r).value();
  }();
  return *loaded;
}

inline const record_type& type_of(const schema& s, std::string_view name) {
  const record_type* t = s.type(name);
  if (!t) throw std::runtime_error("no record type " + std::string(name));
  return *t;
}

inline const record_type& shipped_type(std::string_view name) {
  return type_of(shipped_schema(), name);
}

// The four shipped record types.
inline const record_type& pats() {
  return shipped_type("pats_session");
}
inline const record_type& assistance() {
  return shipped_type("assistance_case");
}
inline const record_type& on_call() {
  return shipped_type("on_call_event");
}
inline const record_type& workshop() {
  return shipped_type("prevention_workshop");
}

inline const field_def& field_of(const record_type& t, std::string_view key) {
  const field_def* f = t.field(key);
  if (!f) throw std::runtime_error(t.name + " has no field " + std::string(key));
  return *f;
}

// The value of `text` typed into field `key`; fails the test if it is refused.
inline value parsed(const record_type& t, std::string_view key, std::string_view text) {
  auto r = field_of(t, key).parse(text);
  if (!r) FAIL(t.name << "." << key << " refused \"" << text << "\": " << r.err().message);
  return std::move(r).value();
}

// The message that refuses `text` in field `key`; fails the test if it is accepted.
inline std::string refusal(const record_type& t, std::string_view key, std::string_view text) {
  auto r = field_of(t, key).parse(text);
  if (r) FAIL(t.name << "." << key << " accepted \"" << text << "\"");
  CHECK(r.err().code == errc::invalid_input);
  return r.err().message;
}

// A record as (key, typed text) pairs, in the order a form would list them.
using typed_fields = std::vector<std::pair<std::string, std::string>>;

inline field_map record_of(const record_type& t, const typed_fields& typed) {
  field_map out;
  for (const auto& [key, text] : typed) out[key] = parsed(t, key, text);
  return out;
}

// The fields the issues name, in order ("" for a record-level issue).
inline std::vector<std::string> fields_named(const std::vector<field_issue>& issues) {
  std::vector<std::string> out;
  for (const auto& i : issues) out.push_back(i.field);
  return out;
}

// "field: message" lines, for failure output.
inline std::string describe(const std::vector<field_issue>& issues) {
  return error{errc::invalid_input, "issues:", issues}.describe();
}

// The error of a schema document that must be refused.
inline error schema_error(std::string_view json) {
  auto r = schema::parse(json);
  if (r) FAIL("the schema was accepted:\n" << json);
  return r.err();
}

}  // namespace haven::test

// Issues print as {field: message} in failed assertions.
template <>
struct Catch::StringMaker<haven::field_issue> {
  static std::string convert(const haven::field_issue& i) {
    return "{" + i.field + ": " + i.message + "}";
  }
};
