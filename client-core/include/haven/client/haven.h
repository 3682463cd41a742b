/* Haven client core: the C ABI for mobile shells (JNI on Android, Swift on iOS).
 *
 * Conventions:
 *  - Strings are UTF-8 and NUL-terminated. Strings returned through `char**`
 *    are owned by the caller and freed with haven_string_free().
 *  - Every function returns true on success. On failure it returns false and,
 *    if `err` is not NULL, fills it with a status code and a message that says
 *    what was wrong; the message is also kept per thread for haven_last_error().
 *    No C++ exception ever crosses this boundary.
 *  - A haven_store is used from one thread at a time.
 *  - To C++ callers every function is noexcept (HAVEN_NOEXCEPT).
 */
#ifndef HAVEN_CLIENT_HAVEN_H
#define HAVEN_CLIENT_HAVEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define HAVEN_NOEXCEPT noexcept
extern "C" {
#else
#define HAVEN_NOEXCEPT
#endif

typedef enum haven_status {
  HAVEN_OK = 0,
  HAVEN_INVALID_INPUT = 1, /* a field, value, argument or JSON document is wrong */
  HAVEN_NOT_FOUND = 2,     /* no such store or record */
  HAVEN_SCHEMA_ERROR = 3,
  HAVEN_STORE_ERROR = 4, /* I/O or database failure */
  HAVEN_PROTOCOL_ERROR = 5,
  HAVEN_CLOCK_SKEW = 6,
  HAVEN_ALREADY_EXISTS = 7,
  HAVEN_UNAVAILABLE = 8, /* server unreachable, busy or shutting down: try again later */
  HAVEN_UNAUTHORIZED =
      9, /* a code, device or certificate the server (or the device) refuses; a wiped store */
  HAVEN_FORBIDDEN = 10, /* known, but not allowed: another team's record, a role's limits */
  HAVEN_CANCELLED = 11, /* the caller cancelled (haven_sync_observed's callback): nothing is lost */
  HAVEN_AMBIGUOUS = 12, /* a name that fits more than one thing, e.g. a record id prefix */
  HAVEN_INTERNAL_ERROR = 99
} haven_status;

typedef struct haven_error {
  haven_status code;
  char message[1024]; /* truncated if longer; one line per field problem */
} haven_error;

typedef struct haven_store haven_store;

/* Creates a new store file with a default team (1-32 chars of a-z, 0-9, -). */
bool haven_store_create(const char* path, const char* team, haven_store** out,
                        haven_error* err) HAVEN_NOEXCEPT;
/* Opens an existing store; HAVEN_NOT_FOUND if there is none. */
bool haven_store_open(const char* path, haven_store** out, haven_error* err) HAVEN_NOEXCEPT;
/* Closes the store; NULL is allowed. */
void haven_store_close(haven_store* store) HAVEN_NOEXCEPT;

/* Adds a record. fields_json: {"date": "2026-03-01", "site": "vic", ...}.
 * team may be NULL for the store's default team. On success writes the new
 * id (32 hex chars + NUL) to out_id. */
bool haven_record_add(haven_store* store, const char* type, const char* team,
                      const char* fields_json, char out_id[33], haven_error* err) HAVEN_NOEXCEPT;
/* The problems haven_record_add would report for these fields, with nothing
 * written, for a form that checks as the person types: a JSON array
 * [{"field", "message"}, ...], "[]" when the record would be valid. */
bool haven_record_check(haven_store* store, const char* type, const char* fields_json,
                        char** out_json, haven_error* err) HAVEN_NOEXCEPT;
/* Edits a record: {"site": "vic", "services+": ["escort"], "services-": ["food"], "discharged":
 * null}. */
bool haven_record_edit(haven_store* store, const char* id, const char* edits_json,
                       haven_error* err) HAVEN_NOEXCEPT;
/* Deletes a record; its values are erased. */
bool haven_record_delete(haven_store* store, const char* id, haven_error* err) HAVEN_NOEXCEPT;
/* The record as JSON: {"id", "type", "team", "deleted", "pending", "fields", "derived"}. */
bool haven_record_get(haven_store* store, const char* id, char** out_json,
                      haven_error* err) HAVEN_NOEXCEPT;
/* Live records as a JSON array; type may be NULL for all types. */
bool haven_record_list(haven_store* store, const char* type, char** out_json,
                       haven_error* err) HAVEN_NOEXCEPT;
/* Imports JSON lines ({"type", "team", "fields"} each), all or none. */
bool haven_import_jsonl(haven_store* store, const char* jsonl, size_t* out_count,
                        haven_error* err) HAVEN_NOEXCEPT;
/* Pending changes, cursors and counts as a JSON object: {"node", "default_team",
 * "schema_version", "records", "pending_records", "pending_changes", "local_seq",
 * "acked_seq", "pulled_seq", "last_sync_ms", "device_id", "wiped"}. device_id is
 * null until the device is enrolled; wiped is null, or {"reason": "retired" or
 * "revoked", "at_ms": unix ms} once the store was erased on the server's order. */
bool haven_store_status(haven_store* store, char** out_json, haven_error* err) HAVEN_NOEXCEPT;

/* Enrolls the device with the server at server_url (wss://HOST:PORT or
 * https://HOST:PORT; ws:// or http:// to a loopback address only) with a
 * one-time code from `havend enroll`. Over TLS the server's certificate must
 * chain to ca_pem (PEM, e.g. from `havend dev-cert`), which the store keeps
 * for haven_sync; NULL: the system's trusted authorities. Enroll a store that
 * holds no records yet (made with haven_store_create and any placeholder
 * team): its default team becomes the enrolled one. Blocks for up to 30 s:
 * call it off the UI thread. On success out_json is {"device_id", "team",
 * "role", "server_url"} and, for a coordinator only, "token": shown once and
 * never stored, so keep it now. No key is ever in it.
 * Errors: HAVEN_ALREADY_EXISTS if the store is enrolled; HAVEN_INVALID_INPUT
 * for a bad URL, ws:// to another host, a code the server calls malformed, or
 * a store holding another team's records; HAVEN_UNAUTHORIZED for a refused
 * code or an untrusted certificate; HAVEN_UNAVAILABLE when the server cannot be
 * reached; each with the server's message. Nothing is kept unless it succeeds. */
bool haven_enroll(haven_store* store, const char* server_url, const char* code, const char* ca_pem,
                  char** out_json, haven_error* err) HAVEN_NOEXCEPT;

/* One sync session: pushes every pending change, pulls until caught up, closes.
 * The same as haven_sync_observed with no progress callback.
 * server_url (wss://HOST:PORT/sync) and ca_pem (PEM) may each be NULL for the
 * ones kept at enrollment. Blocks until done (connecting times out after 10 s,
 * a silent server after 60 s): call it off the UI thread, and use the store
 * from no other thread meanwhile. On success out_json is {"batches_up",
 * "changes_up", "batches_down", "changes_down", "pending_changes",
 * "pulled_seq", "wiped"}. wiped is null, or {"reason", "at_ms"} when the
 * server ordered this device's store erased and it was: "retired" (a device
 * handed back: everything it recorded reached the server first) or "revoked"
 * (lost or stolen: changes it had not synced are lost). Tell the user; the
 * store then refuses writes and syncs (HAVEN_UNAUTHORIZED) until enrolled
 * again. Errors: HAVEN_UNAVAILABLE "server unreachable ..." (try later),
 * HAVEN_CLOCK_SKEW (the device's clock is wrong), HAVEN_UNAUTHORIZED (refused,
 * or an untrusted certificate), HAVEN_INVALID_INPUT (no server: not enrolled
 * and server_url NULL; a bad URL; ws:// to a host other than loopback),
 * HAVEN_PROTOCOL_ERROR. Nothing recorded is lost; sync again later. */
bool haven_sync(haven_store* store, const char* server_url, const char* ca_pem, char** out_json,
                haven_error* err) HAVEN_NOEXCEPT;

/* How far a sync has got: batches and changes (cells) pushed and pulled so far. */
typedef struct haven_sync_progress {
  size_t batches_up;
  size_t changes_up;
  size_t batches_down;
  size_t changes_down;
} haven_sync_progress;

/* Told a sync's progress; returns 0 to go on, nonzero to cancel the sync.
 * `progress` is valid only during the call. */
typedef int (*haven_sync_progress_fn)(const haven_sync_progress* progress, void* user_data);

/* haven_sync, reporting progress and cancellable. progress(p, user_data) runs
 * on the calling thread, inside this call: after each batch up or down with
 * the counts so far (they only grow; the last ones equal the summary's), and
 * about every 100 ms in between with the same counts, while connecting and
 * waiting for the server too. It must not use this store. To cancel from
 * elsewhere (the user leaves the screen, the OS suspends the app), set a flag
 * (atomic) that the callback reads and returns. A nonzero return ends the sync
 * at once (the callback is not called again) with false and HAVEN_CANCELLED:
 * what the server acknowledged stays acknowledged and what was pulled is
 * kept; every other change stays pending (haven_store_status's
 * "pending_changes") and the next haven_sync sends it (a batch in flight that
 * reached the server is learnt of then, not sent twice). A cancel that comes
 * after the session is done changes nothing: true and the summary. Only a
 * DNS lookup under way is not cut short (a URL with an IP address needs none).
 * progress may be NULL: then it is haven_sync. */
bool haven_sync_observed(haven_store* store, const char* server_url, const char* ca_pem,
                         haven_sync_progress_fn progress, void* user_data, char** out_json,
                         haven_error* err) HAVEN_NOEXCEPT;

/* The person code (pseudonym) for a record's person field, e.g.
 * "P-7F3A-9C21-K8D2-M4QX": a keyed hash (HMAC-SHA-256 with the team's key
 * received at enrollment) of the normalised given name, family name, birth date
 * (YYYY-MM-DD, or YYYY-MM or YYYY if that is all that is known) and nationality
 * (ISO 3166-1 alpha-2, XX if unknown or stateless). Case, accents and spacing
 * are folded, so the same person typed differently gets the same code.
 * The attributes identify a person: the caller must never store, log or send
 * them, and should overwrite its buffers (e.g. explicit_bzero, or zero a
 * char array in Swift/JNI) as soon as this returns; the library wipes its own
 * copies. Errors: HAVEN_NOT_FOUND if the device is not enrolled (or was wiped),
 * HAVEN_INVALID_INPUT naming the attribute that is wrong. */
bool haven_person_code(haven_store* store, const char* given_name, const char* family_name,
                       const char* birth_date, const char* nationality, char** out_code,
                       haven_error* err) HAVEN_NOEXCEPT;

void haven_string_free(char* s) HAVEN_NOEXCEPT;
/* The message of this thread's last failure, "" if none. Valid until the next call on this thread.
 */
const char* haven_last_error(void) HAVEN_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif /* HAVEN_CLIENT_HAVEN_H */
