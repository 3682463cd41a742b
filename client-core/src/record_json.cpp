#include <boost/json.hpp>
#include <boost/json/basic_parser_impl.hpp>
#include <haven/client/record_json.hpp>
#include <istream>
#include <set>
#include <sstream>

namespace haven::client {
namespace json = boost::json;
namespace {

json::value to_json_value(const value& v) {
  return std::visit(
      [](const auto& x) -> json::value {
        using X = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<X, std::monostate>) {
          return nullptr;
        } else if constexpr (std::is_same_v<X, code_set>) {
          json::array a;
          for (const auto& c : x) a.emplace_back(c);
          return a;
        } else if constexpr (std::is_same_v<X, date>) {
          return json::string(to_string(x));
        } else if constexpr (std::is_same_v<X, std::string>) {
          return json::string(x);
        } else {
          return x;
        }
      },
      v);
}

json::object record_object(const record& r) {
  json::object fields;
  for (const auto& [key, v] : r.fields) fields[key] = to_json_value(v);
  json::object derived;
  for (const auto& [key, n] : r.derived) derived[key] = n;
  return {{"id", r.id.hex()},
          {"type", r.type},
          {"team", r.team},
          {"deleted", r.deleted},
          {"pending", r.pending},
          {"fields", std::move(fields)},
          {"derived", std::move(derived)}};
}

// A JSON scalar or array as the text a user would type for the field.
result<std::string> as_text(std::string_view key, const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return std::string();
    case json::kind::string:
      return std::string(v.get_string());
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::bool_:
      return json::serialize(v);
    case json::kind::array: {
      std::string out;
      for (const auto& element : v.get_array()) {
        if (!element.is_string())
          return error{errc::invalid_input,
                       "a field value has the wrong JSON type",
                       {{std::string(key), "a set is a list of code strings"}}};
        out += (out.empty() ? "" : ",") + std::string(element.get_string());
      }
      return out;
    }
    default:
      return error{errc::invalid_input,
                   "a field value has the wrong JSON type",
                   {{std::string(key), "must be a string, whole number, boolean, list or null"}}};
  }
}

// {"reason", "at_ms"}, or null when the store was not wiped.
json::value wipe_value(const std::optional<wipe_mark>& w) {
  if (!w) return nullptr;
  return json::object{{"reason", sync::to_string(w->reason)}, {"at_ms", w->at_ms}};
}

// A basic_parser handler that notes the first key an object gives twice
// (json::parse keeps the last one silently).
struct duplicate_key_finder {
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  std::vector<std::set<std::string, std::less<>>>
      keys;         // of each object being read, innermost last
  std::string key;  // the key being read
  std::optional<std::string> duplicate;

  bool on_document_begin(boost::system::error_code&) { return true; }
  bool on_document_end(boost::system::error_code&) { return true; }
  bool on_array_begin(boost::system::error_code&) { return true; }
  bool on_array_end(std::size_t, boost::system::error_code&) { return true; }
  bool on_object_begin(boost::system::error_code&) {
    keys.emplace_back();
    return true;
  }
  bool on_object_end(std::size_t, boost::system::error_code&) {
    keys.pop_back();
    return true;
  }
  bool on_string_part(json::string_view, std::size_t, boost::system::error_code&) { return true; }
  bool on_string(json::string_view, std::size_t, boost::system::error_code&) { return true; }
  bool on_key_part(json::string_view s, std::size_t, boost::system::error_code&) {
    key.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, boost::system::error_code&) {
    key.append(s.data(), s.size());
    if (!keys.back().insert(key).second && !duplicate) duplicate = key;
    key.clear();
    return true;
  }
  bool on_number_part(json::string_view, boost::system::error_code&) { return true; }
  bool on_int64(std::int64_t, json::string_view, boost::system::error_code&) { return true; }
  bool on_uint64(std::uint64_t, json::string_view, boost::system::error_code&) { return true; }
  bool on_double(double, json::string_view, boost::system::error_code&) { return true; }
  bool on_bool(bool, boost::system::error_code&) { return true; }
  bool on_null(boost::system::error_code&) { return true; }
  bool on_comment_part(json::string_view, boost::system::error_code&) { return true; }
  bool on_comment(json::string_view, boost::system::error_code&) { return true; }
};

// The first key some object of the (valid) JSON `text` gives twice.
std::optional<std::string> duplicate_key(std::string_view text) {
  json::basic_parser<duplicate_key_finder> parser{json::parse_options{}};
  boost::system::error_code ec;
  parser.write_some(false, text.data(), text.size(), ec);
  return parser.handler().duplicate;
}

result<json::object> parse_object(std::string_view text, const char* what) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return error{errc::invalid_input, std::string("not valid JSON: ") + ec.message(), {}};
  if (auto twice = duplicate_key(text))
    return error{
        errc::invalid_input, "the key \"" + *twice + "\" is given twice: give each key once", {}};
  if (!v.is_object())
    return error{errc::invalid_input, std::string("expected a JSON object ") + what, {}};
  return std::move(v.get_object());
}

}  // namespace

std::string to_json(const record& r) {
  return json::serialize(record_object(r));
}

std::string to_json(const std::vector<record>& records) {
  json::array a;
  for (const auto& r : records) a.push_back(record_object(r));
  return json::serialize(a);
}

std::string to_json(const store_status& s) {
  json::object o{{"node", std::to_string(s.node)},
                 {"default_team", s.default_team},
                 {"schema_version", s.schema_version},
                 {"records", s.records},
                 {"pending_records", s.pending_records},
                 {"pending_changes", s.pending_cells},
                 {"local_seq", s.local_seq},
                 {"acked_seq", s.acked_seq},
                 {"pulled_seq", s.pulled_seq}};
  o["last_sync_ms"] = s.last_sync_ms ? json::value(*s.last_sync_ms) : json::value(nullptr);
  o["device_id"] = s.device_id ? json::value(json::string(*s.device_id)) : json::value(nullptr);
  o["wiped"] = wipe_value(s.wiped);
  return json::serialize(o);
}

std::string to_json(const sync_summary& s) {
  const sync::sync_progress& p = s.progress;
  json::object o{{"batches_up", p.batches_up},         {"changes_up", p.changes_up},
                 {"batches_down", p.batches_down},     {"changes_down", p.changes_down},
                 {"pending_changes", s.pending_after}, {"pulled_seq", s.pulled_seq}};
  o["wiped"] = wipe_value(s.wiped);
  return json::serialize(o);
}

std::string to_json(const std::vector<field_issue>& issues) {
  json::array a;
  for (const auto& i : issues)
    a.push_back(json::object{{"field", i.field}, {"message", i.message}});
  return json::serialize(a);
}

std::string to_json(const enrollment_result& r) {
  json::object o{{"device_id", r.device.device_id},
                 {"team", r.device.team},
                 {"role", r.device.role},
                 {"server_url", r.device.server_url}};
  if (!r.coordinator_token.empty()) o["token"] = r.coordinator_token;
  return json::serialize(o);
}

namespace {
// The members of a fields object as the text a user would type for each.
result<std::vector<std::pair<std::string, std::string>>> fields_of(const json::object& object) {
  std::vector<std::pair<std::string, std::string>> fields;
  for (const auto& [field, v] : object) {
    auto t = as_text(field, v);
    if (!t) return t.err();
    fields.emplace_back(field, std::move(t).value());
  }
  return fields;
}
}  // namespace

result<std::vector<std::pair<std::string, std::string>>> parse_fields_json(std::string_view text) {
  auto object = parse_object(text, "of fields");
  if (!object) return object.err();
  return fields_of(object.value());
}

result<record_input> parse_record_json(std::string_view line) {
  auto object = parse_object(line, "{\"type\": ..., \"team\": ..., \"fields\": {...}}");
  if (!object) return object.err();
  record_input in;
  for (const auto& [key, v] : object.value()) {
    if (key == "type" && v.is_string()) {
      in.type = v.get_string();
    } else if (key == "team" && v.is_string()) {
      in.team = v.get_string();
    } else if (key == "fields" && v.is_object()) {
      auto fields = fields_of(v.get_object());
      if (!fields) return fields.err();
      in.fields = std::move(fields).value();
    } else {
      return error{
          errc::invalid_input,
          "unexpected \"" + std::string(key) +
              "\": a line holds \"type\" (string), \"team\" (string) and \"fields\" (object)",
          {}};
    }
  }
  if (in.type.empty()) return error{errc::invalid_input, "missing \"type\"", {}};
  return in;
}

namespace {

// Reads the next line of `in` (without its line break) into `line`, counting
// its bytes into `total`. False at the end of the input.
// errc::invalid_input when the line is longer than max_import_line_bytes or
// the input longer than max_import_bytes: nothing more is read.
bool next_line(std::istream& in, std::string& line, std::size_t line_no, std::size_t& total) {
  line.clear();
  std::streambuf* buf = in.rdbuf();
  if (!buf) return false;
  bool any = false;
  for (int c = buf->sbumpc(); c != std::char_traits<char>::eof(); c = buf->sbumpc()) {
    any = true;
    if (++total > max_import_bytes)
      throw failure(errc::invalid_input, "nothing imported: the input is longer than " +
                                             std::to_string(max_import_bytes / (1024 * 1024)) +
                                             " MiB; split it into smaller files");
    if (c == '\n') return true;
    if (line.size() == max_import_line_bytes)
      throw failure(errc::invalid_input,
                    "nothing imported: line " + std::to_string(line_no) + " is longer than " +
                        std::to_string(max_import_line_bytes) +
                        " bytes (one record per line; is this a file of JSON lines?)");
    line.push_back(static_cast<char>(c));
  }
  if (in.bad())
    throw failure(errc::store, "nothing imported: the input could not be read to its end");
  return any;
}

}  // namespace

result<std::vector<sync::record_id>> import_jsonl(store& db, std::istream& in) {
  return capture([&] {
    std::vector<record_input> inputs;
    std::vector<field_issue> issues;
    std::size_t line_no = 0, records = 0, bad_lines = 0, total = 0;
    std::string text;
    while (next_line(in, text, line_no + 1, total)) {
      ++line_no;
      std::string_view line = text;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
      if (++records > max_import_records)
        throw failure(errc::invalid_input, "nothing imported: the input holds more than " +
                                               std::to_string(max_import_records) +
                                               " records; split it into smaller files");
      const std::string where = "line " + std::to_string(line_no);
      const std::size_t before = issues.size();
      auto parsed = parse_record_json(line);
      if (!parsed) {
        if (parsed.err().issues.empty()) issues.push_back({where, parsed.err().message});
        for (const auto& i : parsed.err().issues)
          issues.push_back({where + ": " + i.field, i.message});
      } else {
        for (const auto& i : unwrap(db.check(parsed.value())))
          issues.push_back({where + ": " + i.field, i.message});
        inputs.push_back(std::move(parsed).value());
      }
      if (issues.size() != before) ++bad_lines;
    }
    if (!issues.empty())
      throw failure(error{errc::invalid_input,
                          "nothing imported: " + std::to_string(bad_lines) + " of " +
                              std::to_string(records) + " records are not valid",
                          std::move(issues)});
    return unwrap(db.add_all(inputs));
  });
}

result<std::vector<sync::record_id>> import_jsonl(store& db, std::string_view text) {
  std::istringstream in{std::string(text)};
  return import_jsonl(db, in);
}

result<std::vector<field_edit>> parse_edits_json(std::string_view text) {
  auto object = parse_object(text, "of field edits");
  if (!object) return object.err();
  std::vector<field_edit> edits;
  for (const auto& [raw_key, v] : object.value()) {
    std::string key(raw_key);
    field_edit e;
    if (!key.empty() && (key.back() == '+' || key.back() == '-')) {
      e.action = key.back() == '+' ? field_edit::op::add : field_edit::op::remove;
      key.pop_back();
    }
    auto t = as_text(key, v);
    if (!t) return t.err();
    e.field = key;
    e.text = std::move(t).value();
    edits.push_back(std::move(e));
  }
  return edits;
}

}  // namespace haven::client
