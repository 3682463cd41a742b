// The C ABI: each function is one call into the C++ API behind capture().
#include <haven/client/haven.h>

#include <cstring>
#include <haven/client/enrollment.hpp>
#include <haven/client/pseudonym.hpp>
#include <haven/client/record_json.hpp>
#include <haven/client/store.hpp>
#include <haven/client/sync_client.hpp>

struct haven_store {
  std::unique_ptr<haven::client::store> impl;
};

// report() passes error codes through as they are.
static_assert(HAVEN_INVALID_INPUT == static_cast<int>(haven::errc::invalid_input) &&
              HAVEN_NOT_FOUND == static_cast<int>(haven::errc::not_found) &&
              HAVEN_SCHEMA_ERROR == static_cast<int>(haven::errc::schema) &&
              HAVEN_STORE_ERROR == static_cast<int>(haven::errc::store) &&
              HAVEN_PROTOCOL_ERROR == static_cast<int>(haven::errc::protocol) &&
              HAVEN_CLOCK_SKEW == static_cast<int>(haven::errc::clock_skew) &&
              HAVEN_ALREADY_EXISTS == static_cast<int>(haven::errc::already_exists) &&
              HAVEN_UNAVAILABLE == static_cast<int>(haven::errc::unavailable) &&
              HAVEN_UNAUTHORIZED == static_cast<int>(haven::errc::unauthorized) &&
              HAVEN_FORBIDDEN == static_cast<int>(haven::errc::forbidden) &&
              HAVEN_CANCELLED == static_cast<int>(haven::errc::cancelled) &&
              HAVEN_AMBIGUOUS == static_cast<int>(haven::errc::ambiguous) &&
              HAVEN_INTERNAL_ERROR == static_cast<int>(haven::errc::internal));

namespace {

thread_local std::string last_error;

void copy_message(const std::string& from, char* to, std::size_t size) {
  const std::size_t n = std::min(from.size(), size - 1);
  std::memcpy(to, from.data(), n);
  to[n] = '\0';
}

// Reports r's outcome through err and the thread's last error.
template <class T>
bool report(const haven::result<T>& r, haven_error* err) {
  if (r.ok()) {
    last_error.clear();
    if (err) {
      err->code = HAVEN_OK;
      err->message[0] = '\0';
    }
    return true;
  }
  last_error = r.err().describe();
  if (err) {
    err->code = static_cast<haven_status>(r.err().code);
    copy_message(last_error, err->message, sizeof err->message);
  }
  return false;
}

haven::error missing(const char* what) {
  return haven::error{haven::errc::invalid_input, std::string(what) + " must not be NULL", {}};
}

haven::sync::record_id parse_id(const char* id) {
  auto parsed = id ? haven::sync::record_id::parse(id) : std::nullopt;
  if (!parsed) throw haven::failure(haven::errc::invalid_input, "a record id is 32 hex characters");
  return *parsed;
}

// A nullable C string as an optional argument of the C++ API.
std::optional<std::string> optional_text(const char* text) {
  return text ? std::optional<std::string>(text) : std::nullopt;
}

char* duplicate(const std::string& s) {
  char* out = static_cast<char*>(std::malloc(s.size() + 1));
  if (!out) throw std::bad_alloc();
  std::memcpy(out, s.c_str(), s.size() + 1);
  return out;
}

// Relays a sync's progress to a C callback: after each batch with the new
// counts, and at each should_stop() poll in between with the same counts. A
// nonzero answer stops the sync, and the callback is not asked again.
class progress_relay {
 public:
  progress_relay(haven_sync_progress_fn fn, void* user_data) : fn_(fn), user_data_(user_data) {}

  // Makes `o` report to the callback, if there is one. Requires: this outlives the sync.
  void attach(haven::client::sync_options& o) {
    if (!fn_) return;
    o.on_progress = [this](const haven::sync::sync_progress& p) {
      counts_ = {.batches_up = p.batches_up,
                 .changes_up = p.changes_up,
                 .batches_down = p.batches_down,
                 .changes_down = p.changes_down};
      ask();
      just_asked_ = true;  // the poll that follows every frame need not ask again
    };
    o.should_stop = [this] {
      if (!just_asked_) ask();
      just_asked_ = false;
      return cancelled_;
    };
  }

 private:
  void ask() {
    if (!cancelled_ && fn_(&counts_, user_data_) != 0) cancelled_ = true;
  }

  haven_sync_progress_fn fn_;
  void* user_data_;
  haven_sync_progress counts_{};
  bool just_asked_ = false;
  bool cancelled_ = false;
};

// Runs fn (which returns a result) with exceptions captured, then reports it.
template <class F>
bool call(haven_error* err, F&& fn) noexcept {
  auto r = haven::capture([&] { return haven::unwrap(fn()); });
  return report(r, err);
}

}  // namespace

extern "C" {

bool haven_store_create(const char* path, const char* team, haven_store** out,
                        haven_error* err) noexcept {
  if (!path || !team || !out)
    return report(haven::result<void>(missing("path, team and out")), err);
  return call(err, [&]() -> haven::result<void> {
    auto s = haven::client::store::create(path, team);
    if (!s) return s.err();
    *out = new haven_store{std::move(s).value()};
    return {};
  });
}

bool haven_store_open(const char* path, haven_store** out, haven_error* err) noexcept {
  if (!path || !out) return report(haven::result<void>(missing("path and out")), err);
  return call(err, [&]() -> haven::result<void> {
    auto s = haven::client::store::open(path);
    if (!s) return s.err();
    *out = new haven_store{std::move(s).value()};
    return {};
  });
}

void haven_store_close(haven_store* store) noexcept {
  delete store;
}

bool haven_record_add(haven_store* store, const char* type, const char* team,
                      const char* fields_json, char out_id[33], haven_error* err) noexcept {
  if (!store || !type || !fields_json || !out_id)
    return report(haven::result<void>(missing("store, type, fields_json and out_id")), err);
  return call(err, [&]() -> haven::result<void> {
    auto fields = haven::client::parse_fields_json(fields_json);
    if (!fields) return fields.err();
    auto id = store->impl->add({type, team ? team : "", std::move(fields).value()});
    if (!id) return id.err();
    copy_message(id->hex(), out_id, 33);
    return {};
  });
}

bool haven_record_check(haven_store* store, const char* type, const char* fields_json,
                        char** out_json, haven_error* err) noexcept {
  if (!store || !type || !fields_json || !out_json)
    return report(haven::result<void>(missing("store, type, fields_json and out_json")), err);
  return call(err, [&]() -> haven::result<void> {
    auto fields = haven::client::parse_fields_json(fields_json);
    if (!fields) return fields.err();
    auto issues = store->impl->check({type, "", std::move(fields).value()});
    if (!issues) return issues.err();
    *out_json = duplicate(haven::client::to_json(issues.value()));
    return {};
  });
}

bool haven_record_edit(haven_store* store, const char* id, const char* edits_json,
                       haven_error* err) noexcept {
  if (!store || !edits_json)
    return report(haven::result<void>(missing("store and edits_json")), err);
  return call(err, [&]() -> haven::result<void> {
    auto edits = haven::client::parse_edits_json(edits_json);
    if (!edits) return edits.err();
    return store->impl->edit(parse_id(id), edits.value());
  });
}

bool haven_record_delete(haven_store* store, const char* id, haven_error* err) noexcept {
  if (!store) return report(haven::result<void>(missing("store")), err);
  return call(err, [&] { return store->impl->remove(parse_id(id)); });
}

bool haven_record_get(haven_store* store, const char* id, char** out_json,
                      haven_error* err) noexcept {
  if (!store || !out_json) return report(haven::result<void>(missing("store and out_json")), err);
  return call(err, [&]() -> haven::result<void> {
    const auto record_id = parse_id(id);
    auto r = store->impl->get(record_id);
    if (!r) return r.err();
    if (!r.value()) return haven::error{haven::errc::not_found, "no record " + record_id.hex(), {}};
    *out_json = duplicate(haven::client::to_json(*r.value()));
    return {};
  });
}

bool haven_record_list(haven_store* store, const char* type, char** out_json,
                       haven_error* err) noexcept {
  if (!store || !out_json) return report(haven::result<void>(missing("store and out_json")), err);
  return call(err, [&]() -> haven::result<void> {
    auto records = store->impl->list(type ? std::optional<std::string_view>(type) : std::nullopt);
    if (!records) return records.err();
    *out_json = duplicate(haven::client::to_json(records.value()));
    return {};
  });
}

bool haven_import_jsonl(haven_store* store, const char* jsonl, size_t* out_count,
                        haven_error* err) noexcept {
  if (!store || !jsonl) return report(haven::result<void>(missing("store and jsonl")), err);
  return call(err, [&]() -> haven::result<void> {
    auto ids = haven::client::import_jsonl(*store->impl, jsonl);
    if (!ids) return ids.err();
    if (out_count) *out_count = ids->size();
    return {};
  });
}

bool haven_store_status(haven_store* store, char** out_json, haven_error* err) noexcept {
  if (!store || !out_json) return report(haven::result<void>(missing("store and out_json")), err);
  return call(err, [&]() -> haven::result<void> {
    auto s = store->impl->status();
    if (!s) return s.err();
    *out_json = duplicate(haven::client::to_json(s.value()));
    return {};
  });
}

bool haven_enroll(haven_store* store, const char* server_url, const char* code, const char* ca_pem,
                  char** out_json, haven_error* err) noexcept {
  if (!store || !server_url || !code || !out_json)
    return report(haven::result<void>(missing("store, server_url, code and out_json")), err);
  return call(err, [&]() -> haven::result<void> {
    auto enrolled = haven::client::enroll(*store->impl, server_url, code, ca_pem ? ca_pem : "");
    if (!enrolled) return enrolled.err();
    *out_json = duplicate(haven::client::to_json(enrolled.value()));
    return {};
  });
}

bool haven_sync(haven_store* store, const char* server_url, const char* ca_pem, char** out_json,
                haven_error* err) noexcept {
  return haven_sync_observed(store, server_url, ca_pem, nullptr, nullptr, out_json, err);
}

bool haven_sync_observed(haven_store* store, const char* server_url, const char* ca_pem,
                         haven_sync_progress_fn progress, void* user_data, char** out_json,
                         haven_error* err) noexcept {
  if (!store || !out_json) return report(haven::result<void>(missing("store and out_json")), err);
  progress_relay relay(progress, user_data);
  return call(err, [&]() -> haven::result<void> {
    auto options = haven::client::sync_options_for(*store->impl, optional_text(server_url),
                                                   optional_text(ca_pem));
    if (!options) return options.err();
    relay.attach(options.value());
    auto summary = haven::client::sync_now(*store->impl, options.value());
    if (!summary) return summary.err();
    *out_json = duplicate(haven::client::to_json(summary.value()));
    return {};
  });
}

bool haven_person_code(haven_store* store, const char* given_name, const char* family_name,
                       const char* birth_date, const char* nationality, char** out_code,
                       haven_error* err) noexcept {
  if (!store || !given_name || !family_name || !birth_date || !nationality || !out_code)
    return report(haven::result<void>(missing("store, the four attributes and out_code")), err);
  return call(err, [&]() -> haven::result<void> {
    auto key = haven::client::pseudonym_key(*store->impl);
    if (!key) return key.err();
    // Assigned in place, so that no temporary copy escapes the wiping destructor.
    haven::client::person_attributes person;
    person.given_name = given_name;
    person.family_name = family_name;
    person.birth_date = birth_date;
    person.nationality = nationality;
    auto code = haven::client::person_code(key.value(), person);
    if (!code) return code.err();
    *out_code = duplicate(code.value());
    return {};
  });
}

void haven_string_free(char* s) noexcept {
  std::free(s);
}

const char* haven_last_error(void) noexcept {
  return last_error.c_str();
}

}  // extern "C"
