#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <fstream>
#include <haven/schema/schema.hpp>
#include <sstream>

#include "parse.hpp"

namespace haven {
namespace json = boost::json;

std::string_view to_string(field_kind kind) {
  switch (kind) {
    case field_kind::date:
      return "date";
    case field_kind::integer:
      return "integer";
    case field_kind::code:
      return "code";
    case field_kind::code_set:
      return "set";
    case field_kind::boolean:
      return "boolean";
    case field_kind::country:
      return "country";
    case field_kind::pseudonym:
      return "pseudonym";
  }
  return "code";
}

namespace {

std::string join(const std::vector<std::string>& items, std::string_view sep = ", ") {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

[[noreturn]] void bad_schema(const std::string& where, const std::string& what) {
  throw failure(errc::schema, "schema: " + where + ": " + what);
}

// Reads a JSON document's members with errors that name the path.
class reader {
 public:
  reader(const json::value& v, std::string path) : v_(v), path_(std::move(path)) {}

  const json::object& object() const {
    if (!v_.is_object()) bad_schema(path_, "expected an object");
    return v_.get_object();
  }
  const json::value* find(std::string_view key) const { return object().if_contains(key); }
  reader at(std::string_view key) const {
    const json::value* v = find(key);
    if (!v) bad_schema(path_, "missing \"" + std::string(key) + "\"");
    return reader(*v, path_ + "." + std::string(key));
  }
  std::string string() const {
    if (!v_.is_string()) bad_schema(path_, "expected a string");
    return std::string(v_.get_string());
  }
  std::int64_t integer() const {
    if (!v_.is_int64()) bad_schema(path_, "expected an integer");
    return v_.get_int64();
  }
  bool boolean() const {
    if (!v_.is_bool()) bad_schema(path_, "expected true or false");
    return v_.get_bool();
  }
  std::vector<std::string> strings() const {
    if (!v_.is_array()) bad_schema(path_, "expected an array of strings");
    std::vector<std::string> out;
    for (std::size_t i = 0; i < v_.get_array().size(); ++i)
      out.push_back(reader(v_.get_array()[i], path_ + "[" + std::to_string(i) + "]").string());
    return out;
  }
  const std::string& path() const { return path_; }
  const json::value& raw() const { return v_; }

 private:
  const json::value& v_;
  std::string path_;
};

using detail::is_code;

constexpr field_kind field_kinds[] = {
    field_kind::date,    field_kind::integer, field_kind::code,     field_kind::code_set,
    field_kind::boolean, field_kind::country, field_kind::pseudonym};

field_kind kind_of(const reader& r) {
  const std::string t = r.string();
  for (const auto kind : field_kinds)
    if (t == to_string(kind)) return kind;
  bad_schema(r.path(), "unknown field type \"" + t +
                           "\" (use date, integer, code, set, boolean, country or pseudonym)");
}

std::vector<std::string> checked_codes(const reader& r) {
  auto codes = r.strings();
  if (codes.empty()) bad_schema(r.path(), "needs at least one code");
  for (const auto& c : codes)
    if (!is_code(c)) bad_schema(r.path(), "\"" + c + "\" is not a code ([A-Za-z0-9_-], 1-64)");
  auto sorted = codes;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
    bad_schema(r.path(), "lists a code twice");
  return codes;
}

field_def parse_field(const std::string& key, const reader& r, const json::object& code_lists) {
  field_def f;
  f.key = key;
  if (!is_code(key) || key.front() == '_')
    bad_schema(r.path(), "field keys are codes and may not start with _");
  f.kind = kind_of(r.at("type"));
  if (auto* v = r.find("required")) f.required = reader(*v, r.path() + ".required").boolean();
  if (auto* v = r.find("min")) f.min = reader(*v, r.path() + ".min").integer();
  if (auto* v = r.find("max")) f.max = reader(*v, r.path() + ".max").integer();
  if ((f.min || f.max) && f.kind != field_kind::integer)
    bad_schema(r.path(), "min and max apply to integer fields only");
  for (const auto bound : {f.min, f.max})
    if (bound && (*bound > max_integer_magnitude || *bound < -max_integer_magnitude))
      bad_schema(r.path(), "min and max must lie within -" + std::to_string(max_integer_magnitude) +
                               " and " + std::to_string(max_integer_magnitude));
  if (auto* v = r.find("not_future")) f.not_future = reader(*v, r.path() + ".not_future").boolean();
  if (f.not_future && f.kind != field_kind::date)
    bad_schema(r.path(), "not_future applies to date fields only");
  if (f.min && f.max && *f.min > *f.max)
    bad_schema(r.path(), "min is above max: no value could be valid");
  switch (f.kind) {
    case field_kind::code:
    case field_kind::code_set:
      f.codes = checked_codes(r.at("codes"));
      break;
    case field_kind::country: {
      const json::value* list = code_lists.if_contains("country");
      if (!list) bad_schema(r.path(), "type country needs code_lists.country");
      f.codes = checked_codes(reader(*list, "code_lists.country"));
      break;
    }
    default:
      if (r.find("codes")) bad_schema(r.path(), "codes apply to code, set and country fields");
  }
  f.index_codes();
  if (auto* v = r.find("default")) {
    const json::value& d = *v;
    std::string text = d.is_string() ? std::string(d.get_string()) : json::serialize(d);
    auto parsed = f.parse(text);
    if (!parsed) bad_schema(r.path() + ".default", parsed.err().message);
    f.default_value = std::move(parsed).value();
  }
  return f;
}

std::vector<std::pair<std::string, std::int64_t>> int_map(const reader& r) {
  std::vector<std::pair<std::string, std::int64_t>> out;
  for (const auto& [k, v] : r.object())
    out.emplace_back(k, reader(v, r.path() + "." + std::string(k)).integer());
  return out;
}

rule_def parse_rule(const reader& r, const record_type& t) {
  rule_def rule;
  // The field `key` of t, which must be of one of `kinds` (a derived field counts as an integer).
  auto field_of = [&](const std::string& key, const std::string& where,
                      std::initializer_list<field_kind> kinds,
                      bool derived_ok) -> const field_def* {
    const bool is_derived = std::any_of(t.derived.begin(), t.derived.end(),
                                        [&](const derived_def& d) { return d.key == key; });
    if (derived_ok && is_derived) return nullptr;
    const field_def* f = t.field(key);
    if (!f) bad_schema(where, "names unknown field \"" + key + "\"");
    if (kinds.size() && std::find(kinds.begin(), kinds.end(), f->kind) == kinds.end())
      bad_schema(where, "field \"" + key + "\" is not of a type this rule part works on");
    return f;
  };
  for (const auto& [k, v] : r.object()) {
    const reader m(v, r.path() + "." + std::string(k));
    if (k == "when") {
      for (const auto& [field, codes] : m.object()) {
        const std::string key(field);
        const field_def* f =
            field_of(key, m.path(), {field_kind::code, field_kind::country}, false);
        auto listed = reader(codes, m.path() + "." + key).strings();
        for (const auto& c : listed)
          if (!f->has_code(c))
            bad_schema(m.path() + "." + key, "\"" + c + "\" is not a code of " + key);
        rule.when.emplace_back(key, std::move(listed));
      }
    } else if (k == "require" || k == "forbid") {
      auto fields = m.strings();
      for (const auto& f : fields) field_of(f, m.path(), {}, false);
      (k == "require" ? rule.require : rule.forbid) = std::move(fields);
    } else if (k == "equals" || k == "max") {
      auto pairs = int_map(m);
      for (const auto& p : pairs) field_of(p.first, m.path(), {field_kind::integer}, k == "max");
      (k == "equals" ? rule.equals : rule.max) = std::move(pairs);
    } else if (k == "not_before") {
      auto fields = m.strings();
      if (fields.size() != 2) bad_schema(m.path(), "needs two date fields [later, earlier]");
      for (const auto& f : fields) field_of(f, m.path(), {field_kind::date}, false);
      rule.not_before.emplace(fields[0], fields[1]);
    } else {
      bad_schema(m.path(),
                 "unknown rule part (use when, require, forbid, equals, max, not_before)");
    }
  }
  return rule;
}

// A mapped field: {"map": SOURCE, "to": {CODE: [codes] | "else"}, "not_recorded": CODE}.
mapped_def parse_mapped(const std::string& key, const reader& d, const record_type& t) {
  for (const auto& [member, v] : d.object())
    if (member != "map" && member != "to" && member != "not_recorded")
      bad_schema(d.path(), "unknown member \"" + std::string(member) +
                               "\" of a mapped field (use map, to, not_recorded)");
  mapped_def m;
  m.source = d.at("map").string();
  const field_def* source = t.field(m.source);
  if (!source || (source->kind != field_kind::code && source->kind != field_kind::code_set &&
                  source->kind != field_kind::country))
    bad_schema(d.path() + ".map",
               "names \"" + m.source + "\", which is not a code, set or country field of the type");
  m.field.key = key;
  m.field.kind = source->is_set() ? field_kind::code_set : field_kind::code;
  const reader to = d.at("to");
  for (const auto& [target, sources] : to.object()) {
    const std::string code(target), where = to.path() + "." + code;
    if (!is_code(code)) bad_schema(where, "\"" + code + "\" is not a code ([A-Za-z0-9_-], 1-64)");
    m.field.codes.push_back(code);
    if (sources.is_string() && sources.get_string() == "else") {
      if (m.otherwise)
        bad_schema(where, "only one code may take every other code (\"else\"): " + *m.otherwise +
                              " does already");
      m.otherwise = code;
      continue;
    }
    if (!sources.is_array())
      bad_schema(where, "expected a list of codes of " + m.source + ", or \"else\"");
    for (const auto& c : reader(sources, where).strings()) {
      if (!source->has_code(c)) bad_schema(where, "\"" + c + "\" is not a code of " + m.source);
      if (auto [at, fresh] = m.target_of.emplace(c, code); !fresh)
        bad_schema(where, "\"" + c + "\" maps to " + at->second + " already");
    }
  }
  if (m.field.codes.empty()) bad_schema(to.path(), "needs at least one code");
  m.field.index_codes();
  if (!m.otherwise)
    for (const auto& c : source->codes)
      if (!m.target_of.count(c))
        bad_schema(to.path(), "does not map \"" + c + "\" of " + m.source +
                                  " (list it under a code, or give one code \"else\")");
  if (auto* n = d.find("not_recorded")) {
    m.not_recorded = reader(*n, d.path() + ".not_recorded").string();
    if (!m.field.has_code(*m.not_recorded))
      bad_schema(d.path() + ".not_recorded", "\"" + *m.not_recorded + "\" is not one of its codes");
  }
  return m;
}

record_type parse_type(const std::string& name, const reader& r, const json::object& code_lists,
                       const date_range& dates) {
  record_type t;
  t.name = name;
  t.dates = dates;
  if (!is_code(name)) bad_schema(r.path(), "record type names are codes");
  if (auto* v = r.find("title")) t.title = reader(*v, r.path() + ".title").string();
  const reader fields = r.at("fields");
  for (const auto& [key, def] : fields.object())
    t.fields.push_back(parse_field(
        std::string(key), reader(def, fields.path() + "." + std::string(key)), code_lists));
  if (t.fields.empty()) bad_schema(fields.path(), "a record type needs at least one field");
  if (auto* v = r.find("derived")) {
    const reader derived(*v, r.path() + ".derived");
    for (const auto& [key, def] : derived.object()) {
      const reader d(def, derived.path() + "." + std::string(key));
      if (t.field(key)) bad_schema(d.path(), "a derived field may not share a stored field's key");
      if (d.find("map")) {
        t.mapped.push_back(parse_mapped(std::string(key), d, t));
        continue;
      }
      derived_def dd;
      dd.key = key;
      auto between = d.at("days_between").strings();
      if (between.size() != 2) bad_schema(d.path(), "days_between needs [from, to]");
      for (const auto& f : between) {
        const field_def* fd = t.field(f);
        if (!fd || fd->kind != field_kind::date)
          bad_schema(d.path(), "days_between names \"" + f + "\", which is not a date field");
      }
      dd.from = between[0];
      dd.to = between[1];
      if (auto* m = d.find("min")) dd.min = reader(*m, d.path() + ".min").integer();
      if (auto* m = d.find("max")) dd.max = reader(*m, d.path() + ".max").integer();
      if (dd.max && *dd.max < dd.min)
        bad_schema(d.path(), "max is below min: no value could be valid");
      t.derived.push_back(std::move(dd));
    }
  }
  if (auto* v = r.find("rules")) {
    const reader rules(*v, r.path() + ".rules");
    if (!v->is_array()) bad_schema(rules.path(), "expected an array");
    for (std::size_t i = 0; i < v->get_array().size(); ++i)
      t.rules.push_back(
          parse_rule(reader(v->get_array()[i], rules.path() + "[" + std::to_string(i) + "]"), t));
  }
  return t;
}

// True when parsing the text form of `v` (of f's kind) is sure to give `v`
// back, decided without the text: a date parse_date reads (years 1900-2200),
// an integer within f's bounds, a boolean, a code of f's list (a country code
// as the list writes it, a set of codes of its list). False when unsure:
// check_value then parses the text, which also says what is wrong. Pulled
// batches check every cell.
bool reparses_as_itself(const field_def& f, const value& v) {
  switch (f.kind) {
    case field_kind::date: {
      static const date earliest = from_civil(1900, 1, 1), latest = from_civil(2200, 12, 31);
      const date* d = std::get_if<date>(&v);
      return d && !(*d < earliest) && !(latest < *d);
    }
    case field_kind::integer: {
      const std::int64_t* n = std::get_if<std::int64_t>(&v);
      return n && *n >= std::max(f.min.value_or(-max_integer_magnitude), -max_integer_magnitude) &&
             *n <= std::min(f.max.value_or(max_integer_magnitude), max_integer_magnitude);
    }
    case field_kind::boolean:
      return std::holds_alternative<bool>(v);
    case field_kind::code: {
      const std::string* s = std::get_if<std::string>(&v);
      return s && !s->empty() && f.has_code(*s);
    }
    case field_kind::country: {
      const std::string* s = std::get_if<std::string>(&v);
      return s && !s->empty() &&
             std::none_of(s->begin(), s->end(), [](char c) { return c >= 'a' && c <= 'z'; }) &&
             f.has_code(*s);
    }
    case field_kind::code_set: {  // a schema's codes are [A-Za-z0-9_-]: no ',', no space
      const code_set* set = std::get_if<code_set>(&v);
      return set && std::all_of(set->begin(), set->end(), [&f](const std::string& code) {
               return !code.empty() && f.has_code(code);
             });
    }
    default:
      return false;
  }
}

bool holds_kind(const field_def& f, const value& v) {
  switch (f.kind) {
    case field_kind::date:
      return std::holds_alternative<date>(v);
    case field_kind::integer:
      return std::holds_alternative<std::int64_t>(v);
    case field_kind::boolean:
      return std::holds_alternative<bool>(v);
    case field_kind::code_set:
      return std::holds_alternative<code_set>(v);
    default:
      return std::holds_alternative<std::string>(v);
  }
}

}  // namespace

bool detail::is_code(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

bool valid_team(std::string_view team) {
  return !team.empty() && team.size() <= 32 && team.front() != '-' &&
         std::all_of(team.begin(), team.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
         });
}

bool field_def::has_code(std::string_view c) const {
  if (code_order_.size() != codes.size())
    return std::find(codes.begin(), codes.end(), c) != codes.end();
  const auto at =
      std::lower_bound(code_order_.begin(), code_order_.end(), c,
                       [&](std::uint32_t i, std::string_view v) { return codes[i] < v; });
  return at != code_order_.end() && codes[*at] == c;
}

void field_def::index_codes() {
  code_order_.resize(codes.size());
  for (std::uint32_t i = 0; i < code_order_.size(); ++i) code_order_[i] = i;
  std::sort(code_order_.begin(), code_order_.end(),
            [&](std::uint32_t a, std::uint32_t b) { return codes[a] < codes[b]; });
}

result<value> field_def::parse(std::string_view text) const {
  auto invalid = [](std::string msg) { return error{errc::invalid_input, std::move(msg), {}}; };
  auto quoted = [](std::string_view s) { return "\"" + std::string(s) + "\""; };
  if (text.empty()) return value{};
  switch (kind) {
    case field_kind::date:
      if (auto d = parse_date(text)) return value{*d};
      return invalid("must be a date YYYY-MM-DD that is on the calendar, from 1900 to 2200 (got " +
                     quoted(text) + ")");
    case field_kind::integer: {
      std::int64_t n = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
      if (ec != std::errc{} || end != text.data() + text.size())
        return invalid("must be a whole number (got " + quoted(text) + ")");
      const std::int64_t lowest =
          std::max(min.value_or(-max_integer_magnitude), -max_integer_magnitude);
      const std::int64_t highest =
          std::min(max.value_or(max_integer_magnitude), max_integer_magnitude);
      if (n < lowest)
        return invalid("must be at least " + std::to_string(lowest) + " (got " + std::string(text) +
                       ")");
      if (n > highest)
        return invalid("must be at most " + std::to_string(highest) + " (got " + std::string(text) +
                       ")");
      return value{n};
    }
    case field_kind::boolean:
      if (text == "true" || text == "yes" || text == "1") return value{true};
      if (text == "false" || text == "no" || text == "0") return value{false};
      return invalid("must be true or false (got " + quoted(text) + ")");
    case field_kind::code:
      if (has_code(text)) return value{std::string(text)};
      return invalid("must be one of: " + join(codes) + " (got " + quoted(text) + ")");
    case field_kind::country: {
      std::string upper(text);
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (has_code(upper)) return value{upper};
      return invalid(
          "must be an ISO 3166-1 alpha-2 country code such as SI or UA, or XX for unknown or "
          "stateless (got " +
          quoted(text) + ")");
    }
    case field_kind::pseudonym:
      if (auto code = canonical_pseudonym(text)) return value{std::move(*code)};
      return invalid(
          "must be a person code such as P-46PN-8HHA-AAKG-C9YS (from person-code or a printed "
          "card): groups of at most 8 letters and digits joined by '-', ending in its check "
          "character (got " +
          std::to_string(text.size()) + " characters that are none); never a name");
    case field_kind::code_set: {
      code_set out;
      std::size_t start = 0;
      while (start <= text.size()) {
        std::size_t comma = text.find(',', start);
        if (comma == std::string_view::npos) comma = text.size();
        std::string_view element = text.substr(start, comma - start);
        while (!element.empty() && element.front() == ' ') element.remove_prefix(1);
        while (!element.empty() && element.back() == ' ') element.remove_suffix(1);
        if (!element.empty()) {
          if (!has_code(element))
            return invalid("must be codes from: " + join(codes) + " (got " + quoted(element) + ")");
          out.emplace(element);
        }
        start = comma + 1;
      }
      return value{std::move(out)};
    }
  }
  return invalid("unsupported field type");
}

const field_def* record_type::field(std::string_view key) const {
  for (const auto& f : fields)
    if (f.key == key) return &f;
  return nullptr;
}

const mapped_def* record_type::mapping(std::string_view key) const {
  for (const auto& m : mapped)
    if (m.field.key == key) return &m;
  return nullptr;
}

const field_def* record_type::dimension(std::string_view key) const {
  if (const field_def* f = field(key)) return f;
  const mapped_def* m = mapping(key);
  return m ? &m->field : nullptr;
}

value mapped_def::map(const value& v) const {
  const auto code_for = [&](const std::string& source_code) -> std::string {
    if (auto it = target_of.find(source_code); it != target_of.end()) return it->second;
    return otherwise.value_or(source_code);
  };
  const bool empty = std::holds_alternative<std::monostate>(v) ||
                     (std::holds_alternative<std::string>(v) && std::get<std::string>(v).empty()) ||
                     (std::holds_alternative<code_set>(v) && std::get<code_set>(v).empty());
  if (empty) {
    if (!not_recorded) return std::monostate{};
    if (field.is_set()) return code_set{*not_recorded};
    return *not_recorded;
  }
  if (const auto* code = std::get_if<std::string>(&v)) {
    if (field.is_set()) return code_set{code_for(*code)};
    return code_for(*code);
  }
  if (const auto* codes = std::get_if<code_set>(&v)) {
    code_set out;
    for (const auto& c : *codes) out.insert(code_for(c));
    return out;
  }
  return std::monostate{};  // not a value of a code field
}

bool mapped_def::recorded(std::string_view code) const {
  if (otherwise == code || not_recorded == code) return true;
  return std::any_of(target_of.begin(), target_of.end(),
                     [&](const auto& source_target) { return source_target.second == code; });
}

std::optional<std::int64_t> record_type::derive(std::string_view key,
                                                const field_map& values) const {
  for (const auto& d : derived) {
    if (d.key != key) continue;
    auto from = values.find(d.from), to = values.find(d.to);
    if (from == values.end() || to == values.end()) return std::nullopt;
    const date* a = std::get_if<date>(&from->second);
    const date* b = std::get_if<date>(&to->second);
    if (!a || !b) return std::nullopt;
    return std::max<std::int64_t>(d.min, std::int64_t{b->days} - a->days);
  }
  return std::nullopt;
}

std::optional<std::string> record_type::check_value(const field_def& f, const value& v,
                                                    std::optional<date> today) const {
  if (is_null(v)) return std::nullopt;
  if (!holds_kind(f, v)) return "holds a value of the wrong type";
  // Re-parse the text form: one place holds the range and code checks. The
  // value must also be what parsing gives (not "", not "si" for "SI", no
  // set element that is itself a list).
  if (auto* set = std::get_if<code_set>(&v); set && set->empty())
    return std::nullopt;  // no element: fine
  if (!reparses_as_itself(f, v)) {
    auto parsed = f.parse(to_text(v));
    if (!parsed) return parsed.err().message;
    if (parsed.value() != v)
      return is_null(parsed.value()) ? "must not be empty"
                                     : "must be written as \"" + to_text(parsed.value()) + "\"";
  }
  if (const date* d = std::get_if<date>(&v)) {
    if (*d < dates.earliest)
      return "must not be before " + to_string(dates.earliest) + " (got " + to_string(*d) + ")";
    if (today && f.not_future && *d > *today)
      return "must not be in the future (got " + to_string(*d) + ", and today is " +
             to_string(*today) + ")";
    if (today) {
      const civil_date c = to_civil(*today);
      const date latest =
          from_civil(c.year + dates.years_ahead, c.month, c.month == 2 && c.day == 29 ? 28 : c.day);
      if (*d > latest)
        return "must not be after " + to_string(latest) + " (got " + to_string(*d) + ")";
    }
  }
  return std::nullopt;
}

std::vector<field_issue> record_type::validate(const field_map& values, std::optional<date> today,
                                               extent of) const {
  const bool whole = of == extent::whole;
  std::vector<field_issue> issues;
  auto set = [&](const std::string& key) {
    auto it = values.find(key);
    return it != values.end() && !is_null(it->second) &&
           !(std::holds_alternative<code_set>(it->second) &&
             std::get<code_set>(it->second).empty());
  };
  for (const auto& [key, v] : values) {
    const field_def* f = field(key);
    if (!f) {
      std::vector<std::string> keys;
      for (const auto& fd : fields) keys.push_back(fd.key);
      issues.push_back({key, "is not a field of " + name + " (fields: " + join(keys) + ")"});
      continue;
    }
    if (auto why = check_value(*f, v, today)) issues.push_back({key, std::move(*why)});
  }
  for (const auto& f : fields)
    if (whole && f.required && !set(f.key)) issues.push_back({f.key, "is required for " + name});

  for (const auto& d : derived) {
    auto from = values.find(d.from), to = values.find(d.to);
    const date* a = from == values.end() ? nullptr : std::get_if<date>(&from->second);
    const date* b = to == values.end() ? nullptr : std::get_if<date>(&to->second);
    if (a && b && d.max && std::int64_t{b->days} - a->days > *d.max)
      issues.push_back({d.to, "must be at most " + std::to_string(*d.max) + " days after " +
                                  d.from + " (got " +
                                  std::to_string(std::int64_t{b->days} - a->days) + " days)"});
  }
  for (const auto& rule : rules) {
    std::string condition;
    bool applies = true;
    for (const auto& [key, codes] : rule.when) {
      auto it = values.find(key);
      const std::string* code =
          it == values.end() ? nullptr : std::get_if<std::string>(&it->second);
      if (!code || std::find(codes.begin(), codes.end(), *code) == codes.end())
        applies = false;
      else
        condition += (condition.empty() ? " when " : " and ") + key + " is " + *code;
    }
    if (!applies) continue;
    for (const auto& key : rule.require)
      if (whole && !set(key)) issues.push_back({key, "is required" + condition});
    for (const auto& key : rule.forbid)
      if (set(key)) issues.push_back({key, "must be empty" + condition});
    for (const auto& [key, n] : rule.equals) {
      auto it = values.find(key);
      const auto* i = it == values.end() ? nullptr : std::get_if<std::int64_t>(&it->second);
      if (i && *i != n)
        issues.push_back({key, "must be " + std::to_string(n) + condition + " (got " +
                                   std::to_string(*i) + ")"});
    }
    for (const auto& [key, n] : rule.max) {
      std::optional<std::int64_t> actual = derive(key, values);
      if (auto it = values.find(key); !actual && it != values.end())
        if (auto* i = std::get_if<std::int64_t>(&it->second)) actual = *i;
      if (actual && *actual > n)
        issues.push_back({key, "must be at most " + std::to_string(n) + condition + " (got " +
                                   std::to_string(*actual) + ")"});
    }
    if (rule.not_before) {
      const auto& [later, earlier] = *rule.not_before;
      auto l = values.find(later), e = values.find(earlier);
      const date* ld = l == values.end() ? nullptr : std::get_if<date>(&l->second);
      const date* ed = e == values.end() ? nullptr : std::get_if<date>(&e->second);
      if (ld && ed && *ld < *ed)
        issues.push_back({later, "must not be before " + earlier + " (" + to_string(*ld) + " < " +
                                     to_string(*ed) + ")"});
    }
  }
  return issues;
}

result<std::shared_ptr<const schema>> schema::parse(std::string_view text) {
  return capture([&] {
    boost::system::error_code ec;
    json::stream_parser parser;
    const std::size_t used = parser.write_some(text.data(), text.size(), ec);
    if (!ec) parser.finish(ec);
    if (ec) {
      const std::string_view before = text.substr(0, std::min(used, text.size()));
      const auto line = 1 + std::count(before.begin(), before.end(), '\n');
      const auto column =
          used - (before.rfind('\n') == std::string_view::npos ? 0 : before.rfind('\n') + 1) + 1;
      throw failure(errc::schema, "schema: not valid JSON at line " + std::to_string(line) +
                                      ", column " + std::to_string(column) + ": " + ec.message());
    }
    json::value doc = parser.release();
    const reader root(doc, "schema");
    auto s = std::make_shared<schema>();
    s->source_ = std::string(text);
    s->version_ = root.at("version").integer();
    if (s->version_ < 1) bad_schema("schema.version", "must be 1 or more");
    json::object no_lists;
    const json::object* lists = &no_lists;
    if (auto* v = root.find("code_lists")) lists = &reader(*v, "schema.code_lists").object();
    date_range dates;
    if (auto* v = root.find("dates")) {
      const reader d(*v, "schema.dates");
      if (auto* e = d.find("earliest")) {
        const reader earliest(*e, d.path() + ".earliest");
        const auto parsed = parse_date(earliest.string());
        if (!parsed) bad_schema(earliest.path(), "must be a date YYYY-MM-DD from 1900 to 2200");
        dates.earliest = *parsed;
      }
      if (auto* y = d.find("years_ahead")) {
        const reader ahead(*y, d.path() + ".years_ahead");
        const std::int64_t n = ahead.integer();
        if (n < 0 || n > 10) bad_schema(ahead.path(), "must be from 0 to 10");
        dates.years_ahead = static_cast<int>(n);
      }
    }
    const reader types = root.at("record_types");
    for (const auto& [name, def] : types.object())
      s->types_.push_back(parse_type(std::string(name),
                                     reader(def, "schema.record_types." + std::string(name)),
                                     *lists, dates));
    if (s->types_.empty()) bad_schema("schema.record_types", "declares no record type");
    if (auto* v = root.find("tallies")) s->tallies_ = detail::parse_tallies(*v, s->types_);
    s->labels_ = detail::parse_labels(root.find("labels"), s->types_, s->tallies_);
    return std::shared_ptr<const schema>(std::move(s));
  });
}

result<std::shared_ptr<const schema>> schema::load(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return error{errc::not_found, "cannot read schema file " + file.string(), {}};
  std::ostringstream text;
  text << in.rdbuf();
  auto parsed = parse(text.str());
  if (!parsed) {
    error e = parsed.err();
    e.message = file.string() + ": " + e.message;
    return e;
  }
  return parsed;
}

std::shared_ptr<const schema> schema::builtin() {
  static const std::shared_ptr<const schema> shipped = unwrap(parse(builtin_source()));
  return shipped;
}

const record_type* schema::type(std::string_view name) const {
  for (const auto& t : types_)
    if (t.name == name) return &t;
  return nullptr;
}

const tally_def* schema::tally(std::string_view id) const {
  for (const auto& t : tallies_)
    if (t.id == id) return &t;
  return nullptr;
}

}  // namespace haven
