/* The C ABI as a mobile shell uses it, from plain C11: create and open a
 * store, add, get, list, edit, delete, import and status, and every failure
 * path: false, a non-zero code, a message that says what is wrong, the same
 * message from haven_last_error(). Enrollment, sync and person codes before
 * the device is enrolled: each refused with nothing written, and no network
 * (tests/client/c_api_test.cpp covers an enrolled and a wiped store).
 *
 * Usage: haven_c_abi_test [PARENT_DIR]
 * Works in a new directory made with mkdtemp under PARENT_DIR (default
 * $TMPDIR or /tmp) and removes it at the end. Prints one line per failed
 * check and a summary "c_abi: N passed, M failed"; exits 1 if any failed. */
#define _POSIX_C_SOURCE 200809L

#include <haven/client/haven.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int passed = 0;
static int failed = 0;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (cond) {                                                                \
      ++passed;                                                                \
    } else {                                                                   \
      ++failed;                                                                \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                          \
  } while (0)

/* The call succeeded: true, HAVEN_OK, empty message, empty last error. */
#define CHECK_OK(call, err)                                                                  \
  do {                                                                                       \
    bool ok_ = (call);                                                                       \
    CHECK(ok_);                                                                              \
    if (!ok_) fprintf(stderr, "  %s\n  -> %d: %s\n", #call, (int)(err).code, (err).message); \
    CHECK((err).code == HAVEN_OK);                                                           \
    CHECK((err).message[0] == '\0');                                                         \
    CHECK(haven_last_error()[0] == '\0');                                                    \
  } while (0)

/* The call failed as it should: false, the expected code, a message naming
 * `needle`, and haven_last_error() saying the same. */
static int check_fails(bool ok, const haven_error* err, haven_status expected, const char* needle,
                       const char* what, int line) {
  int bad = 0;
  if (ok) bad = 1;
  if (err->code != expected) bad = 1;
  if (err->message[0] == '\0') bad = 1;
  if (needle && !strstr(err->message, needle)) bad = 1;
  if (strncmp(haven_last_error(), err->message, sizeof err->message - 1) != 0) bad = 1;
  if (bad) {
    ++failed;
    fprintf(stderr, "%s:%d: expected %s to fail with code %d naming \"%s\"; got %s, code %d: %s\n",
            __FILE__, line, what, (int)expected, needle ? needle : "", ok ? "true" : "false",
            (int)err->code, err->message);
    return 0;
  }
  ++passed;
  return 1;
}
#define CHECK_FAILS(call, err, code, needle) \
  check_fails((call), &(err), (code), (needle), #call, __LINE__)

static int count_of(const char* haystack, const char* needle) {
  int n = 0;
  for (const char* p = strstr(haystack, needle); p; p = strstr(p + 1, needle)) ++n;
  return n;
}

/* The JSON of a record (haven_record_get) or of a list (haven_record_list,
 * type may be NULL); NULL after a failed check. Free with haven_string_free. */
static char* get_json(haven_store* db, const char* id) {
  haven_error err;
  char* json = NULL;
  CHECK_OK(haven_record_get(db, id, &json, &err), err);
  return json;
}
static char* list_json(haven_store* db, const char* type) {
  haven_error err;
  char* json = NULL;
  CHECK_OK(haven_record_list(db, type, &json, &err), err);
  return json;
}

/* Checks that `json` holds every string of `has` and none of `lacks`
 * (NULL-terminated lists) and, unless `ids` is negative, that many records;
 * then frees it. */
static void check_json(int line, char* json, int ids, const char* const* has,
                       const char* const* lacks) {
  if (!json) {
    ++failed;
    fprintf(stderr, "%s:%d: no JSON to check\n", __FILE__, line);
    return;
  }
  for (; *has; ++has) {
    if (strstr(json, *has)) {
      ++passed;
    } else {
      ++failed;
      fprintf(stderr, "%s:%d: JSON lacks %s:\n  %s\n", __FILE__, line, *has, json);
    }
  }
  for (; *lacks; ++lacks) {
    if (!strstr(json, *lacks)) {
      ++passed;
    } else {
      ++failed;
      fprintf(stderr, "%s:%d: JSON holds %s:\n  %s\n", __FILE__, line, *lacks, json);
    }
  }
  if (ids >= 0) {
    const int n = count_of(json, "\"id\":");
    if (n == ids) {
      ++passed;
    } else {
      ++failed;
      fprintf(stderr, "%s:%d: expected %d records, got %d:\n  %s\n", __FILE__, line, ids, n, json);
    }
  }
  haven_string_free(json);
}
#define LIST(...) ((const char* const[]){__VA_ARGS__, NULL})
#define NONE ((const char* const[]){NULL})
#define CHECK_JSON(json, ids, has, lacks) check_json(__LINE__, (json), (ids), (has), (lacks))

static int is_hex_id(const char* id) {
  if (strlen(id) != 32) return 0;
  for (const char* p = id; *p; ++p)
    if (!strchr("0123456789abcdef", *p)) return 0;
  return 1;
}

/* The store's status JSON (free with haven_string_free), NULL if it cannot be read. */
static char* status_json(haven_store* db) {
  haven_error err;
  char* json = NULL;
  CHECK(haven_store_status(db, &json, &err));
  return json;
}

/* Nothing was written between the two status snapshots; frees both. */
static void check_unchanged(char* before, char* after, int line) {
  if (before && after && strcmp(before, after) == 0) {
    ++passed;
  } else {
    ++failed;
    fprintf(stderr, "%s:%d: the store changed:\n  before %s\n  after  %s\n", __FILE__, line,
            before ? before : "?", after ? after : "?");
  }
  haven_string_free(before);
  haven_string_free(after);
}
#define CHECK_UNCHANGED(before, db) check_unchanged((before), status_json(db), __LINE__)

/* Adds a record with haven_record_add and checks the new id. */
static void add_record(haven_store* db, const char* type, const char* team, const char* fields_json,
                       char out_id[33]) {
  haven_error err;
  out_id[0] = '\0';
  const bool ok = haven_record_add(db, type, team, fields_json, out_id, &err);
  CHECK(ok);
  if (!ok) fprintf(stderr, "  haven_record_add(%s) -> %d: %s\n", type, (int)err.code, err.message);
  CHECK(err.code == HAVEN_OK);
  CHECK(haven_last_error()[0] == '\0');
  CHECK(is_hex_id(out_id));
}

/* A progress callback that counts its calls in *user_data and never cancels. */
static int count_progress(const haven_sync_progress* progress, void* user_data) {
  (void)progress;
  ++*(int*)user_data;
  return 0;
}

static void remove_store_files(const char* path) {
  char name[4096];
  const char* suffixes[] = {"", "-wal", "-shm", "-journal"};
  for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; ++i) {
    snprintf(name, sizeof name, "%s%s", path, suffixes[i]);
    unlink(name);
  }
}

int main(int argc, char** argv) {
  const char* parent = argc > 1 ? argv[1] : getenv("TMPDIR");
  if (!parent || !*parent) parent = "/tmp";
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/haven-c-abi-XXXXXX", parent);
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 2;
  }
  char path[4200], other[4200], missing_path[4200];
  snprintf(path, sizeof path, "%s/field.db", dir);
  snprintf(other, sizeof other, "%s/other.db", dir);
  snprintf(missing_path, sizeof missing_path, "%s/no-such-store.db", dir);

  haven_error err;
  haven_store* db = NULL;

  /* --- opening and creating ------------------------------------------------ */
  CHECK_FAILS(haven_store_open(missing_path, &db, &err), err, HAVEN_NOT_FOUND, "no-such-store.db");
  CHECK(db == NULL);
  CHECK(access(missing_path, F_OK) != 0);

  CHECK_FAILS(haven_store_create(other, "Team A", &db, &err), err, HAVEN_INVALID_INPUT, "team");
  CHECK(db == NULL);
  CHECK(access(other, F_OK) != 0);

  CHECK_OK(haven_store_create(path, "pats-vic", &db, &err), err);
  CHECK(db != NULL);
  if (!db) {
    fprintf(stderr, "cannot go on without a store\n");
    printf("c_abi: %d passed, %d failed\n", passed, failed + 1);
    return 1;
  }

  haven_store* again = NULL;
  CHECK_FAILS(haven_store_create(path, "pats-vic", &again, &err), err, HAVEN_ALREADY_EXISTS,
              "already exists");
  CHECK(again == NULL);

  /* --- NULL arguments -------------------------------------------------------- */
  char id[33] = "";
  char* json = NULL;
  CHECK_FAILS(haven_store_create(NULL, "team-a", &again, &err), err, HAVEN_INVALID_INPUT, "NULL");
  CHECK_FAILS(haven_store_create(other, NULL, &again, &err), err, HAVEN_INVALID_INPUT, "NULL");
  CHECK_FAILS(haven_store_create(other, "team-a", NULL, &err), err, HAVEN_INVALID_INPUT, "NULL");
  CHECK_FAILS(haven_store_open(NULL, &again, &err), err, HAVEN_INVALID_INPUT, "NULL");
  CHECK_FAILS(haven_store_open(path, NULL, &err), err, HAVEN_INVALID_INPUT, "NULL");
  CHECK_FAILS(haven_record_add(NULL, "on_call_event", NULL, "{}", id, &err), err,
              HAVEN_INVALID_INPUT, "NULL");
  CHECK_FAILS(haven_record_add(db, NULL, NULL, "{}", id, &err), err, HAVEN_INVALID_INPUT, "NULL");
  CHECK_FAILS(haven_record_add(db, "on_call_event", NULL, NULL, id, &err), err, HAVEN_INVALID_INPUT,
              "NULL");
  CHECK_FAILS(haven_record_add(db, "on_call_event", NULL, "{}", NULL, &err), err,
              HAVEN_INVALID_INPUT, "NULL");
  CHECK_FAILS(haven_record_edit(db, NULL, "{}", &err), err, HAVEN_INVALID_INPUT, "id");
  CHECK_FAILS(haven_record_edit(db, "00000000000000000000000000000001", NULL, &err), err,
              HAVEN_INVALID_INPUT, "NULL");
  CHECK_FAILS(haven_record_delete(NULL, "00000000000000000000000000000001", &err), err,
              HAVEN_INVALID_INPUT, "NULL");
  CHECK_FAILS(haven_record_delete(db, NULL, &err), err, HAVEN_INVALID_INPUT, "id");
  CHECK_FAILS(haven_record_get(db, NULL, &json, &err), err, HAVEN_INVALID_INPUT, "id");
  CHECK_FAILS(haven_record_get(db, "00000000000000000000000000000001", NULL, &err), err,
              HAVEN_INVALID_INPUT, "NULL");
  CHECK_FAILS(haven_record_list(NULL, NULL, &json, &err), err, HAVEN_INVALID_INPUT, "NULL");
  CHECK_FAILS(haven_record_list(db, NULL, NULL, &err), err, HAVEN_INVALID_INPUT, "NULL");
  CHECK_FAILS(haven_import_jsonl(db, NULL, NULL, &err), err, HAVEN_INVALID_INPUT, "NULL");
  CHECK_FAILS(haven_store_status(db, NULL, &err), err, HAVEN_INVALID_INPUT, "NULL");
  CHECK_FAILS(haven_record_check(db, "on_call_event", "{}", NULL, &err), err, HAVEN_INVALID_INPUT,
              "NULL");
  CHECK(json == NULL);

  /* --- checking as a form does, nothing written -------------------------------- */
  char* before_check = status_json(db);
  CHECK_OK(haven_record_check(db, "pats_session",
                              "{\"date\": \"2026-03-01\", \"site\": \"vic\", \"format\": "
                              "\"individual\", \"participants\": 2}",
                              &json, &err),
           err);
  CHECK(strstr(json, "\"field\":\"participants\"") != NULL);
  CHECK(strstr(json, "\"field\":\"person\"") != NULL);
  haven_string_free(json);
  CHECK_OK(haven_record_check(db, "on_call_event",
                              "{\"date\": \"2026-03-01\", \"caller\": \"police\", "
                              "\"outcome\": \"admitted\"}",
                              &json, &err),
           err);
  CHECK(strcmp(json, "[]") == 0);
  haven_string_free(json);
  json = NULL;
  CHECK_UNCHANGED(before_check, db);
  /* err may be NULL: the failure is still reported through haven_last_error. */
  CHECK(!haven_record_add(db, "on_call_event", NULL, "{\"caller\": \"ghost\"}", id, NULL));
  CHECK(strstr(haven_last_error(), "caller") != NULL);
  CHECK(!haven_record_edit(db, "xyz", "{}", NULL));
  CHECK(strstr(haven_last_error(), "32 hex") != NULL);
  haven_store_close(NULL);
  haven_string_free(NULL);

  /* --- add records of every type -------------------------------------------- */
  char individual[33] = "", group[33] = "", crisis[33] = "", call[33] = "", school[33] = "";
  add_record(db, "pats_session", NULL,
             "{\"date\": \"2026-03-02\", \"site\": \"vic\", \"format\": \"individual\","
             " \"person\": \"P-7F3A-9C21J\", \"sex\": \"female\", \"nationality\": \"UA\","
             " \"topics\": [\"thb\", \"gbv\"]}",
             individual);
  add_record(db, "pats_session", "pats-logatec",
             "{\"date\": \"2026-03-03\", \"site\": \"logatec\", \"format\": \"group\","
             " \"participants\": 14}",
             group);
  add_record(
      db, "assistance_case", NULL,
      "{\"programme\": \"crisis-accommodation\", \"person\": \"C-19B2-E04DT\", \"sex\": \"female\","
      " \"nationality\": \"NG\", \"admitted\": \"2026-03-01\", \"discharged\": \"2026-03-04\","
      " \"services\": [\"accommodation\", \"food\"]}",
      crisis);
  add_record(db, "on_call_event", NULL,
             "{\"date\": \"2026-03-01\", \"caller\": \"police\", \"outcome\": \"admitted\","
             " \"response_minutes\": 45}",
             call);
  add_record(
      db, "prevention_workshop", NULL,
      "{\"date\": \"2026-03-10\", \"audience\": \"secondary-school\", \"region\": \"podravska\","
      " \"participants\": 27}",
      school);
  CHECK(is_hex_id(individual));
  CHECK(is_hex_id(group));
  CHECK(is_hex_id(crisis));
  CHECK(is_hex_id(call));
  CHECK(is_hex_id(school));
  CHECK(strcmp(individual, group) != 0);
  CHECK(strcmp(crisis, call) != 0);
  CHECK(strcmp(call, school) != 0);

  /* --- get ---------------------------------------------------------------------- */
  CHECK_JSON(get_json(db, individual), -1,
             LIST(individual, "\"type\":\"pats_session\"", "\"team\":\"pats-vic\"",
                  "\"participants\":1" /* the default */, "\"topics\":[\"gbv\",\"thb\"]",
                  "\"deleted\":false", "\"pending\":true"),
             NONE);
  CHECK_JSON(get_json(db, group), -1, LIST("\"team\":\"pats-logatec\"", "\"participants\":14"),
             NONE);
  CHECK_JSON(get_json(db, crisis), -1, LIST("\"care_days\":3", "\"admitted\":\"2026-03-01\""),
             NONE);
  CHECK_FAILS(haven_record_get(db, "0123456789abcdef0123456789abcdef", &json, &err), err,
              HAVEN_NOT_FOUND, "0123456789abcdef0123456789abcdef");
  CHECK_FAILS(haven_record_get(db, "not-an-id", &json, &err), err, HAVEN_INVALID_INPUT, "32 hex");

  /* --- list --------------------------------------------------------------------- */
  CHECK_JSON(list_json(db, NULL), 5, LIST("[{\"id\":", school), NONE);
  CHECK_JSON(list_json(db, "pats_session"), 2, LIST(individual, group), LIST(crisis));
  CHECK_JSON(list_json(db, "no_such_type"), 0, LIST("[]"), NONE);

  /* --- add refused -------------------------------------------------------------- */
  char* before = status_json(db);
  /* Refused for its fields. */
  static const struct {
    const char *type, *team, *fields, *named;
  } refused[] = {
      {"on_call_event", NULL,
       "{\"date\": \"2026-03-01\", \"caller\": \"police\", \"outcome\": \"admitted\","
       " \"mood\": \"calm\"}",
       "mood"},
      {"pats_session", NULL,
       "{\"date\": \"2026-03-02\", \"site\": \"ljubljana\", \"format\": \"group\"}", "site"},
      {"pats_session", NULL,
       "{\"date\": \"2026-03-02\", \"site\": \"vic\", \"format\": \"individual\","
       " \"person\": \"P-7F3A-9C21J\", \"participants\": 3}",
       "participants"},
      {"assistance_case", NULL,
       "{\"programme\": \"crisis-accommodation\", \"person\": \"C-19B2-E04DT\", \"sex\": "
       "\"female\","
       " \"nationality\": \"NG\", \"admitted\": \"2026-03-01\", \"discharged\": \"2026-04-01\"}",
       "care_days"},
      {"on_call_event", "Team A",
       "{\"date\": \"2026-03-01\", \"caller\": \"police\", \"outcome\": \"admitted\"}", "team"},
      {"shelter_visit", NULL, "{}", "type"},
      {"on_call_event", NULL, "{\"date\": ", "JSON"},
      {"on_call_event", NULL, "{\"response_minutes\": 1.5}", "response_minutes"},
  };
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; ++i) {
    if (!CHECK_FAILS(
            haven_record_add(db, refused[i].type, refused[i].team, refused[i].fields, id, &err),
            err, HAVEN_INVALID_INPUT, refused[i].named))
      fprintf(stderr, "  (adding %s %s)\n", refused[i].type, refused[i].fields);
  }
  CHECK_UNCHANGED(before, db);

  /* --- edit ----------------------------------------------------------------------- */
  CHECK_OK(haven_record_edit(
               db, crisis,
               "{\"services+\": [\"escort\", \"psychological\"], \"services-\": [\"food\"]}", &err),
           err);
  CHECK_JSON(get_json(db, crisis), -1,
             LIST("\"services\":[\"accommodation\",\"escort\",\"psychological\"]"), NONE);
  CHECK_OK(
      haven_record_edit(
          db, crisis,
          "{\"services-\": \"escort\", \"discharged\": null, \"referred_by\": \"police\"}", &err),
      err);
  CHECK_JSON(
      get_json(db, crisis), -1,
      LIST("\"services\":[\"accommodation\",\"psychological\"]", "\"referred_by\":\"police\""),
      LIST("discharged", "care_days"));
  before = status_json(db);
  CHECK_FAILS(haven_record_edit(db, crisis, "{\"colour\": \"red\"}", &err), err,
              HAVEN_INVALID_INPUT, "colour");
  CHECK_FAILS(haven_record_edit(db, crisis, "{\"discharged\": \"2026-05-01\"}", &err), err,
              HAVEN_INVALID_INPUT, "care_days");
  CHECK_FAILS(haven_record_edit(db, crisis, "{\"services+\": [\"cash\"]}", &err), err,
              HAVEN_INVALID_INPUT, "services");
  CHECK_FAILS(haven_record_edit(db, crisis, "{\"sex+\": [\"male\"]}", &err), err,
              HAVEN_INVALID_INPUT, "sex");
  CHECK_FAILS(haven_record_edit(db, crisis, "[1, 2]", &err), err, HAVEN_INVALID_INPUT, "object");
  CHECK_FAILS(haven_record_edit(db, "xyz", "{\"sex\": \"male\"}", &err), err, HAVEN_INVALID_INPUT,
              "32 hex");
  CHECK_FAILS(
      haven_record_edit(db, "0123456789abcdef0123456789abcdef", "{\"sex\": \"male\"}", &err), err,
      HAVEN_NOT_FOUND, "0123456789abcdef0123456789abcdef");
  CHECK_UNCHANGED(before, db);

  /* --- delete ----------------------------------------------------------------------- */
  CHECK_OK(haven_record_delete(db, call, &err), err);
  CHECK_JSON(get_json(db, call), -1, LIST("\"deleted\":true", "\"fields\":{}"), LIST("police"));
  CHECK_JSON(list_json(db, NULL), 4, NONE, LIST(call));
  CHECK_FAILS(haven_record_delete(db, call, &err), err, HAVEN_NOT_FOUND, "deleted");
  CHECK_FAILS(haven_record_edit(db, call, "{\"caller\": \"ngo\"}", &err), err, HAVEN_NOT_FOUND,
              "deleted");
  CHECK_FAILS(haven_record_delete(db, "0123456789abcdef0123456789abcdeg", &err), err,
              HAVEN_INVALID_INPUT, "32 hex");

  /* --- import ----------------------------------------------------------------------- */
  /* Three records, a blank line and a CRLF line ending. */
  static const char good_lines[] =
      "{\"type\": \"on_call_event\", \"fields\": {\"date\": \"2026-03-05\","
      " \"caller\": \"ngo\", \"outcome\": \"advice-only\"}}\n"
      "\n"
      "{\"type\": \"prevention_workshop\", \"team\": \"schools\", \"fields\": {\"date\":"
      " \"2026-03-06\", \"audience\": \"professionals\", \"region\": \"goriska\","
      " \"participants\": 12}}\r\n"
      "{\"type\": \"pats_session\", \"fields\": {\"date\": \"2026-03-07\","
      " \"site\": \"postojna\", \"format\": \"group\", \"participants\": 9}}\n";
  /* Line 1 is good, line 2 has a bad site, line 3 is not JSON. */
  static const char bad_lines[] =
      "{\"type\": \"on_call_event\", \"fields\": {\"date\": \"2026-03-05\","
      " \"caller\": \"ngo\", \"outcome\": \"advice-only\"}}\n"
      "{\"type\": \"pats_session\", \"fields\": {\"date\": \"2026-03-07\","
      " \"site\": \"koper\", \"format\": \"group\"}}\n"
      "not json\n";
  size_t count = 99;
  CHECK_OK(haven_import_jsonl(db, good_lines, &count, &err), err);
  CHECK(count == 3);
  CHECK_JSON(list_json(db, NULL), 7, LIST("\"team\":\"schools\""), NONE);
  CHECK_OK(haven_import_jsonl(db, "", NULL, &err), err);

  before = status_json(db);
  count = 99;
  CHECK_FAILS(haven_import_jsonl(db, bad_lines, &count, &err), err, HAVEN_INVALID_INPUT,
              "line 2: site");
  CHECK(strstr(err.message, "line 3") != NULL);
  CHECK(strstr(err.message, "line 1") == NULL);
  CHECK(count == 99);
  CHECK_UNCHANGED(before, db);

  /* --- status ------------------------------------------------------------------------- */
  /* The deleted call is still to be pushed, so 8 records are pending. */
  CHECK_JSON(status_json(db), -1,
             LIST("\"default_team\":\"pats-vic\"", "\"records\":7", "\"pending_records\":8",
                  "\"acked_seq\":0", "\"pulled_seq\":0", "\"local_seq\":", "\"node\":\"",
                  "\"last_sync_ms\":null", "\"device_id\":null", "\"wiped\":null"),
             NONE);

  /* --- before enrollment: enroll refused, sync and person codes impossible ----------- */
  before = status_json(db);
  json = NULL;
  /* The code would travel unencrypted to another host: refused before any connection. */
  CHECK_FAILS(haven_enroll(db, "ws://192.0.2.7:8080", "K7-Q2M-19", NULL, &json, &err), err,
              HAVEN_INVALID_INPUT, "unencrypted to 192.0.2.7");
  CHECK_FAILS(haven_enroll(db, "http://192.0.2.7:8080", "K7-Q2M-19", NULL, &json, &err), err,
              HAVEN_INVALID_INPUT, "wss://");
  CHECK_FAILS(haven_enroll(db, "ftp://192.0.2.7", "K7-Q2M-19", NULL, &json, &err), err,
              HAVEN_INVALID_INPUT, "bad server address");
  CHECK_FAILS(haven_enroll(db, "wss://192.0.2.7:8443", "", NULL, &json, &err), err,
              HAVEN_INVALID_INPUT, "no enrollment code");
  CHECK_FAILS(haven_enroll(NULL, "wss://192.0.2.7:8443", "K7", NULL, &json, &err), err,
              HAVEN_INVALID_INPUT, "NULL");
  CHECK_FAILS(haven_enroll(db, NULL, "K7", NULL, &json, &err), err, HAVEN_INVALID_INPUT, "NULL");
  CHECK_FAILS(haven_enroll(db, "wss://192.0.2.7:8443", NULL, NULL, &json, &err), err,
              HAVEN_INVALID_INPUT, "NULL");
  CHECK_FAILS(haven_enroll(db, "wss://192.0.2.7:8443", "K7", NULL, NULL, &err), err,
              HAVEN_INVALID_INPUT, "NULL");
  /* Not enrolled and no server given: nothing to sync with. */
  CHECK_FAILS(haven_sync(db, NULL, NULL, &json, &err), err, HAVEN_INVALID_INPUT, "not enrolled");
  CHECK_FAILS(haven_sync(db, "ws://192.0.2.7:8080/sync", NULL, &json, &err), err,
              HAVEN_INVALID_INPUT, "unencrypted to 192.0.2.7");
  CHECK_FAILS(haven_sync(NULL, NULL, NULL, &json, &err), err, HAVEN_INVALID_INPUT, "NULL");
  CHECK_FAILS(haven_sync(db, NULL, NULL, NULL, &err), err, HAVEN_INVALID_INPUT, "NULL");
  /* The same through haven_sync_observed: refused before any progress. */
  int progress_calls = 0;
  CHECK_FAILS(haven_sync_observed(db, NULL, NULL, count_progress, &progress_calls, &json, &err),
              err, HAVEN_INVALID_INPUT, "not enrolled");
  CHECK_FAILS(haven_sync_observed(db, NULL, NULL, count_progress, &progress_calls, NULL, &err), err,
              HAVEN_INVALID_INPUT, "NULL");
  CHECK(progress_calls == 0);
  /* No pseudonym key before enrollment. */
  CHECK_FAILS(haven_person_code(db, "Olena", "Kovalenko", "1990-04-12", "UA", &json, &err), err,
              HAVEN_NOT_FOUND, "enroll it first");
  CHECK_FAILS(haven_person_code(db, "Olena", NULL, "1990-04-12", "UA", &json, &err), err,
              HAVEN_INVALID_INPUT, "NULL");
  CHECK_FAILS(haven_person_code(db, "Olena", "Kovalenko", "1990-04-12", "UA", NULL, &err), err,
              HAVEN_INVALID_INPUT, "NULL");
  CHECK(json == NULL);
  CHECK_UNCHANGED(before, db);

  /* --- close and open again --------------------------------------------------------- */
  haven_store_close(db);
  db = NULL;
  CHECK_OK(haven_store_open(path, &db, &err), err);
  if (db) {
    CHECK_JSON(get_json(db, crisis), -1, LIST("\"referred_by\":\"police\""), NONE);
    CHECK_JSON(list_json(db, NULL), 7, NONE, NONE);
    /* A second handle on the same file works too. */
    haven_store* second = NULL;
    CHECK_OK(haven_store_open(path, &second, &err), err);
    haven_store_close(second);
    haven_store_close(db);
  }

  remove_store_files(path);
  remove_store_files(other);
  if (rmdir(dir) != 0) {
    ++failed;
    perror("rmdir");
  }
  printf("c_abi: %d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
