#include "local_api.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <haven/client/enrollment.hpp>
#include <haven/client/pseudonym.hpp>
#include <haven/client/record_json.hpp>
#include <haven/crypto/crypto.hpp>
#include <map>

namespace haven::kiosk {
namespace json = boost::json;
namespace {

unsigned http_status(errc code) {
  switch (code) {
    case errc::invalid_input:
      return 422;
    case errc::not_found:
      return 404;
    case errc::already_exists:
      return 409;
    case errc::unauthorized:
      return 401;
    case errc::forbidden:
      return 403;
    case errc::unavailable:
      return 429;
    default:
      return 500;
  }
}

api_response error_response(const error& e) {
  return {http_status(e.code), "{\"error\":" + json::serialize(json::value(e.message)) +
                                   ",\"issues\":" + client::to_json(e.issues) + "}"};
}

std::optional<date> query_date(const boost::urls::url_view& u, std::string_view key) {
  const auto it = u.params().find(key);
  if (it == u.params().end()) return std::nullopt;
  auto d = parse_date((*it).value);
  if (!d) throw failure(errc::invalid_input, std::string(key) + " must be a date YYYY-MM-DD");
  return d;
}

json::object parse_object(std::string_view body) {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object())
    throw failure(errc::invalid_input, "the request body must be a JSON object");
  return std::move(v.as_object());
}

std::string member(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

// Overwrites the strings of a parsed request (person attributes, PINs).
void wipe_strings(json::object& o) {
  for (auto& [key, v] : o)
    if (v.is_string()) std::fill(v.get_string().begin(), v.get_string().end(), '\0');
}

}  // namespace

local_api::local_api(client::store& db, record_index& index, staff_pin& pin, sync_loop& sync,
                     api_settings settings)
    : db_(db), index_(index), pin_(pin), sync_(sync), settings_(std::move(settings)) {}

bool local_api::locked(clock::time_point now) {
  // Enrolled without a PIN (by haven enroll): locked until one is chosen.
  if (!pin_.is_set()) return unwrap(db_.enrollment()).has_value();
  if (now - last_activity_ > settings_.idle_lock) locked_ = true;
  return locked_;
}

api_response local_api::handle(const api_request& request, clock::time_point now) {
  try {
    return route(request, now);
  } catch (const failure& f) {
    return error_response(f.err());
  } catch (const std::exception& e) {
    return error_response(error{errc::internal, std::string("internal error: ") + e.what(), {}});
  }
}

api_response local_api::route(const api_request& request, clock::time_point now) {
  const auto parsed = boost::urls::parse_origin_form(request.target);
  if (!parsed) throw failure(errc::invalid_input, "malformed request target");
  const boost::urls::url_view url = *parsed;
  const std::string path = url.path();
  const std::string& method = request.method;

  if (path == "/api/status" && method == "GET") return {200, status_json(now)};
  if (path == "/api/schema" && method == "GET") return {200, schema_json()};
  if (path == "/api/enroll" && method == "POST") return {200, enroll(request.body, now)};
  if (path == "/api/lock" && method == "POST") {
    locked_ = true;
    return {200, status_json(now)};
  }
  if (path == "/api/pin" && method == "POST") {
    if (pin_.is_set() || !unwrap(db_.enrollment()))
      throw failure(errc::forbidden,
                    "a staff PIN is chosen once, when the device is set up: unlock with it");
    auto body = parse_object(request.body);
    auto chosen = pin_.choose(member(body, "pin"));
    wipe_strings(body);
    unwrap(std::move(chosen));
    locked_ = false;
    last_activity_ = now;
    return {200, status_json(now)};
  }
  if (path == "/api/unlock" && method == "POST") {
    auto body = parse_object(request.body);
    auto verified = pin_.verify(member(body, "pin"), now);
    wipe_strings(body);
    unwrap(std::move(verified));
    locked_ = false;
    last_activity_ = now;
    return {200, status_json(now)};
  }
  if (locked(now))
    return {423, json::serialize(
                     json::object{{"error", "the app is locked: type the staff PIN to unlock it"},
                                  {"issues", json::array{}}})};
  last_activity_ = now;

  if (path == "/api/records" && method == "GET")
    return {200, records_json(std::string(url.query()))};
  if (path == "/api/records" && method == "POST") {
    const auto id = unwrap(db_.add(unwrap(client::parse_record_json(request.body))));
    if (const auto r = unwrap(db_.get(id))) index_.note_written(*r);
    return {201, json::serialize(json::object{{"id", id.hex()}})};
  }
  if (path == "/api/check" && method == "POST") {
    const auto issues = unwrap(db_.check(unwrap(client::parse_record_json(request.body))));
    return {200, "{\"issues\":" + client::to_json(issues) + "}"};
  }
  if (path == "/api/person-code" && method == "POST") return {200, person_code(request.body)};
  if (path.starts_with("/api/records/")) {
    const std::string id_text = path.substr(std::string_view("/api/records/").size());
    if (method == "GET") {
      auto r = unwrap(db_.get(unwrap(db_.resolve_id(id_text))));
      if (!r || r->deleted) throw failure(errc::not_found, "this record was deleted");
      return {200, client::to_json(*r)};
    }
    if (method == "PUT") return {200, save_edit(id_text, request.body)};
    if (method == "DELETE") {
      const auto id = unwrap(db_.resolve_id(id_text));
      unwrap(db_.remove(id));
      index_.note_deleted(id);
      return {200, R"({"deleted":true})"};
    }
  }
  return {404, json::serialize(json::object{{"error", "no such API: " + method + " " + path},
                                            {"issues", json::array{}}})};
}

std::string local_api::status_json(clock::time_point now) {
  const auto s = unwrap(db_.status());
  if (s.wiped && pin_.is_set()) pin_.forget();  // the erased device's PIN goes with it
  auto o = json::parse(client::to_json(s)).as_object();
  const auto enrolled = unwrap(db_.enrollment());
  o["enrolled"] = enrolled.has_value();
  o["team"] = enrolled ? enrolled->team : "";
  o["server"] = enrolled ? enrolled->server_url : settings_.default_server;
  o["pin_set"] = pin_.is_set();
  o["locked"] = locked(now);
  o["idle_lock_s"] = settings_.idle_lock.count();
  const sync_state sync = sync_.state();
  o["online"] = sync.online;
  o["offline_since_ms"] = sync.offline_since_ms ? json::value(*sync.offline_since_ms) : nullptr;
  o["sync_problem"] = sync.last_problem;
  o["last_exchange_ms"] = sync.last_exchange_ms ? json::value(*sync.last_exchange_ms) : nullptr;
  return json::serialize(o);
}

std::string local_api::schema_json() {
  const schema& s = db_.schema();
  json::object labels;
  for (language lang : languages) {
    json::object by_key;
    for (const auto& [key, label] : s.labels().all(lang)) by_key[key] = label;
    labels[to_string(lang)] = std::move(by_key);
  }
  const code_usage& usage = index_.usage();  // the page offers the most used codes first
  json::array types;
  for (const auto& t : s.types()) {
    json::array fields;
    for (const auto& f : t.fields) {
      json::array codes(f.codes.begin(), f.codes.end());
      json::object used;
      if (const auto it = usage.find(f.key); it != usage.end())
        for (const auto& [code, n] : it->second) used[code] = n;
      fields.push_back(json::object{
          {"key", f.key},
          {"kind", to_string(f.kind)},
          {"required", f.required},
          {"min", f.min ? json::value(*f.min) : nullptr},
          {"max", f.max ? json::value(*f.max) : nullptr},
          {"not_future", f.not_future},
          {"codes", std::move(codes)},
          {"usage", std::move(used)},
          {"default", is_null(f.default_value) ? json::value(nullptr)
                                               : json::value(to_text(f.default_value))}});
    }
    json::array derived;
    for (const auto& d : t.derived) derived.push_back(json::value(d.key));
    types.push_back(json::object{{"name", t.name},
                                 {"title", t.title},
                                 {"fields", std::move(fields)},
                                 {"derived", std::move(derived)}});
  }
  return json::serialize(json::object{
      {"version", s.version()}, {"labels", std::move(labels)}, {"types", std::move(types)}});
}

std::string local_api::records_json(const std::string& query) {
  const std::string target = "/?" + query;  // the url_view below refers to it
  const auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) throw failure(errc::invalid_input, "malformed query");
  const boost::urls::url_view url = *parsed;
  std::optional<std::string> type;
  if (auto it = url.params().find("type"); it != url.params().end()) type = (*it).value;
  if (type && !db_.schema().type(*type))
    throw failure(errc::invalid_input, "unknown record type \"" + *type + "\"");
  const auto from = query_date(url, "from"), to = query_date(url, "to");
  std::size_t limit = 200;
  if (auto it = url.params().find("limit"); it != url.params().end())
    limit = std::clamp<std::size_t>(std::strtoul(std::string((*it).value).c_str(), nullptr, 10), 1,
                                    5000);
  const auto [ids, total] = index_.find(type, from, to, limit);
  std::vector<client::record> shown;
  for (const auto& id : ids)
    if (auto r = unwrap(db_.get(id)); r && !r->deleted) shown.push_back(std::move(*r));
  return "{\"total\":" + std::to_string(total) + ",\"records\":" + client::to_json(shown) + "}";
}

std::string local_api::enroll(std::string_view body, clock::time_point now) {
  auto request = parse_object(body);
  const std::string server =
      member(request, "server").empty() ? settings_.default_server : member(request, "server");
  const std::string code = member(request, "code");
  std::string pin = member(request, "pin");
  wipe_strings(request);
  if (server.empty())
    throw failure(errc::invalid_input,
                  "type the server's address your coordinator gave you (https://HOST:PORT)");
  if (code.empty()) throw failure(errc::invalid_input, "type the one-time enrollment code");
  if (pin.size() < 4 || pin.size() > 12 || pin.find_first_not_of("0123456789") != std::string::npos)
    throw failure(errc::invalid_input, "choose a staff PIN of 4 to 12 digits");
  auto enrolled = client::enroll(db_, server, code, settings_.ca_pem);
  if (!enrolled)
    throw failure(error{enrolled.err().code, "enrollment failed: " + enrolled.err().message,
                        enrolled.err().issues});
  unwrap(pin_.choose(pin));
  crypto::wipe(pin);
  locked_ = false;
  last_activity_ = now;
  sync_.wake();
  return client::to_json(enrolled.value());
}

std::string local_api::person_code(std::string_view body) {
  auto request = parse_object(body);
  client::person_attributes person(member(request, "given_name"), member(request, "family_name"),
                                   member(request, "birth_date"), member(request, "nationality"));
  wipe_strings(request);
  const auto key = client::pseudonym_key(db_);
  if (!key)
    throw failure(errc::not_found,
                  "this device has no team key: enroll it first, or type the code from a card");
  return json::serialize(json::object{{"code", unwrap(client::person_code(key.value(), person))}});
}

std::string local_api::save_edit(const std::string& id_text, std::string_view body) {
  const auto id = unwrap(db_.resolve_id(id_text));
  const auto current = unwrap(db_.get(id));
  if (!current || current->deleted)
    throw failure(errc::not_found, "this record was deleted: nothing to edit");
  const auto input = unwrap(client::parse_record_json(body));
  const record_type* t = db_.schema().type(current->type);
  if (!t) throw failure(errc::invalid_input, "this record's type is unknown to this device");
  // Every field of the type: the value given, or cleared when not given;
  // only what differs from the record is written.
  std::vector<client::field_edit> edits;
  for (const auto& f : t->fields) {
    std::string text;
    for (const auto& [key, given] : input.fields)
      if (key == f.key) text = given;
    const auto it = current->fields.find(f.key);
    const value held = it == current->fields.end() ? value{} : it->second;
    const auto given = f.parse(text);
    if (!given || given.value() != held)
      edits.push_back({f.key, client::field_edit::op::set, text});
  }
  if (!edits.empty()) {
    unwrap(db_.edit(id, edits));
    if (const auto r = unwrap(db_.get(id))) index_.note_written(*r);
  }
  return json::serialize(json::object{{"id", id.hex()}, {"changed", edits.size()}});
}

}  // namespace haven::kiosk
