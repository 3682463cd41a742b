#include <algorithm>
#include <boost/json.hpp>
#include <haven/schema/tally.hpp>
#include <set>

#include "parse.hpp"

namespace haven {
namespace json = boost::json;

std::string_view to_string(measure_kind kind) {
  switch (kind) {
    case measure_kind::count:
      return "count";
    case measure_kind::sum:
      return "sum";
    case measure_kind::distinct:
      return "distinct";
  }
  return "count";
}

const measure_def* tally_def::measure(std::string_view measure_id) const {
  for (const auto& m : measures)
    if (m.id == measure_id) return &m;
  return nullptr;
}

namespace detail {
namespace {

std::string in_quotes(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

// Reads one tally declaration; every error names the tally.
class tally_reader {
 public:
  tally_reader(const json::value& v, std::size_t index, const std::vector<record_type>& types)
      : types_(types), where_("tallies[" + std::to_string(index) + "]") {
    if (!v.is_object()) fail("expected an object");
    object_ = &v.get_object();
  }

  tally_def read() {
    tally_def t;
    t.id = text("id");
    if (!is_code(t.id)) fail("id " + in_quotes(t.id) + " is not a code ([A-Za-z0-9_-], 1-64)");
    where_ = "tally " + in_quotes(t.id);
    for (const auto& member : *object_)
      if (!known_member(member.key()))
        fail("unknown member " + in_quotes(member.key()) +
             " (use id, title, type, filter, rows, column, measures, date, period)");
    t.title = optional_text(*object_, "title").value_or(t.id);
    t.type = text("type");
    type_ = find_type(t.type);
    if (!type_)
      fail("counts unknown record type " + in_quotes(t.type) + " (types: " + type_names() + ")");
    t.filter = filter();
    t.rows = strings(member("rows"), "rows");
    if (t.rows.empty()) fail("rows needs at least one field");
    for (const auto& key : t.rows) breakdown_field(key, "rows");
    if (const json::value* c = object_->if_contains("column")) {
      if (!c->is_string()) fail("column must be a field key");
      t.column = std::string(c->get_string());
      breakdown_field(*t.column, "column");
    }
    std::set<std::string> used(t.rows.begin(), t.rows.end());
    if (used.size() != t.rows.size() || (t.column && used.count(*t.column)))
      fail("a field appears twice in rows and column");
    t.measures = measures();
    t.dates = dates();
    return t;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw failure(errc::schema, "schema: " + where_ + ": " + what);
  }

  static bool known_member(std::string_view key) {
    for (std::string_view k :
         {"id", "title", "type", "filter", "rows", "column", "measures", "date", "period"})
      if (key == k) return true;
    return false;
  }

  const record_type* find_type(std::string_view name) const {
    for (const auto& t : types_)
      if (t.name == name) return &t;
    return nullptr;
  }

  std::string type_names() const {
    std::string out;
    for (const auto& t : types_) out += (out.empty() ? "" : ", ") + t.name;
    return out;
  }

  const json::value& member(std::string_view key) const {
    const json::value* v = object_->if_contains(key);
    if (!v) fail("missing " + in_quotes(key));
    return *v;
  }

  std::optional<std::string> optional_text(const json::object& o, std::string_view key) const {
    const json::value* v = o.if_contains(key);
    if (!v) return std::nullopt;
    if (!v->is_string()) fail(std::string(key) + " must be a string");
    return std::string(v->get_string());
  }

  std::string text(std::string_view key) const { return text_in(*object_, key, std::string(key)); }

  std::string text_in(const json::object& o, std::string_view key, const std::string& what) const {
    auto s = optional_text(o, key);
    if (!s) fail("missing " + in_quotes(key) + " in " + what);
    return *s;
  }

  std::vector<std::string> strings(const json::value& v, const std::string& what) const {
    if (!v.is_array()) fail(what + " must be an array of strings");
    std::vector<std::string> out;
    for (const auto& e : v.get_array()) {
      if (!e.is_string()) fail(what + " must be an array of strings");
      out.emplace_back(e.get_string());
    }
    return out;
  }

  // The field `key` of the type, or an error that says where it was named.
  const field_def& field(std::string_view key, const std::string& where) const {
    const field_def* f = type_->field(key);
    if (!f) fail(where + " names unknown field " + in_quotes(key) + " of " + type_->name);
    return *f;
  }

  // Rows, columns and filters break records down by codes; rows and
  // columns may name a mapped field too.
  const field_def& breakdown_field(std::string_view key, const std::string& where,
                                   bool mapped_ok = true) const {
    const field_def* mapped = mapped_ok ? type_->dimension(key) : nullptr;
    const field_def& f = mapped ? *mapped : field(key, where);
    switch (f.kind) {
      case field_kind::code:
      case field_kind::code_set:
      case field_kind::country:
      case field_kind::boolean:
        return f;
      default:
        fail(where + " names " + in_quotes(key) +
             ", which is not a code, country, set or boolean field");
    }
  }

  std::vector<tally_filter> filter() const {
    std::vector<tally_filter> out;
    const json::value* v = object_->if_contains("filter");
    if (!v) return out;
    if (!v->is_object()) fail("filter must be an object {field: [codes]}");
    for (const auto& [key, codes] : v->get_object()) {
      const field_def& f = breakdown_field(key, "filter", false);
      tally_filter flt{std::string(key), strings(codes, "filter." + std::string(key))};
      if (flt.codes.empty()) fail("filter." + flt.field + " lists no code");
      for (const auto& c : flt.codes) {
        const bool valid =
            f.kind == field_kind::boolean ? (c == "true" || c == "false") : f.has_code(c);
        if (!valid)
          fail("filter." + flt.field + " lists " + in_quotes(c) +
               ", which is not a code of that field");
      }
      out.push_back(std::move(flt));
    }
    return out;
  }

  std::vector<measure_def> measures() const {
    const json::value& v = member("measures");
    if (!v.is_array() || v.get_array().empty()) fail("measures must be a non-empty array");
    std::vector<measure_def> out;
    for (const auto& e : v.get_array()) {
      if (!e.is_object()) fail("each measure must be an object");
      const json::object& o = e.get_object();
      measure_def m;
      m.id = text_in(o, "id", "a measure");
      if (!is_code(m.id)) fail("measure id " + in_quotes(m.id) + " is not a code");
      for (const auto& prev : out)
        if (prev.id == m.id) fail("declares measure " + in_quotes(m.id) + " twice");
      m.title = optional_text(o, "title").value_or(m.id);
      const std::string what = "measure " + in_quotes(m.id);
      int kinds = 0;
      for (const auto& member : o) {
        const std::string_view k = member.key();
        if (k == "id" || k == "title") continue;
        ++kinds;
        if (k == "count") {
          if (!member.value().is_bool() || !member.value().get_bool())
            fail(what + ": count must be true");
          m.kind = measure_kind::count;
        } else if (k == "sum") {
          m.kind = measure_kind::sum;
          m.field = text_in(o, k, what);
          const bool derived = std::any_of(type_->derived.begin(), type_->derived.end(),
                                           [&](const derived_def& d) { return d.key == m.field; });
          if (!derived && field(m.field, what + ": sum").kind != field_kind::integer)
            fail(what + ": sum of " + in_quotes(m.field) +
                 ", which is not an integer or derived field");
        } else if (k == "distinct") {
          m.kind = measure_kind::distinct;
          m.field = text_in(o, k, what);
          if (field(m.field, what + ": distinct").kind != field_kind::pseudonym)
            fail(what + ": distinct of " + in_quotes(m.field) + ", which is not a pseudonym field");
        } else {
          fail(what + ": unknown member " + in_quotes(k) +
               " (use id, title and one of count, sum, distinct)");
        }
      }
      if (kinds != 1)
        fail(what + " needs exactly one of \"count\": true, \"sum\": FIELD, \"distinct\": FIELD");
      out.push_back(std::move(m));
    }
    return out;
  }

  void date_field(const std::string& key, const std::string& where) const {
    if (field(key, where).kind != field_kind::date)
      fail(where + " names " + in_quotes(key) + ", which is not a date field");
  }

  tally_dates dates() const {
    const json::value* date = object_->if_contains("date");
    const json::value* period = object_->if_contains("period");
    if (!date == !period)
      fail(std::string(date ? "gives both" : "needs one") +
           " of the date rules \"date\": FIELD and \"period\": {\"from\": FIELD, \"to\": FIELD}");
    tally_dates d;
    if (date) {
      d.date = text("date");
      date_field(d.date, "date");
      return d;
    }
    if (!period->is_object()) fail("period must be {\"from\": FIELD, \"to\": FIELD}");
    d.from = text_in(period->get_object(), "from", "period");
    d.to = text_in(period->get_object(), "to", "period");
    date_field(d.from, "period.from");
    date_field(d.to, "period.to");
    if (d.from == d.to) fail("period.from and period.to name the same field");
    return d;
  }

  const std::vector<record_type>& types_;
  const json::object* object_ = nullptr;
  const record_type* type_ = nullptr;
  std::string where_;
};

}  // namespace

std::vector<tally_def> parse_tallies(const json::value& tallies,
                                     const std::vector<record_type>& types) {
  if (!tallies.is_array()) throw failure(errc::schema, "schema: tallies must be an array");
  std::vector<tally_def> out;
  for (std::size_t i = 0; i < tallies.get_array().size(); ++i) {
    tally_def t = tally_reader(tallies.get_array()[i], i, types).read();
    for (const auto& prev : out)
      if (prev.id == t.id)
        throw failure(errc::schema, "schema: tally " + in_quotes(t.id) + " is declared twice");
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace detail
}  // namespace haven
