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
 */
#ifndef HAVEN_CLIENT_HAVEN_H
#define HAVEN_CLIENT_HAVEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
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
  HAVEN_INTERNAL_ERROR = 99
} haven_status;

typedef struct haven_error {
  haven_status code;
  char message[1024]; /* truncated if longer; one line per field problem */
} haven_error;

typedef struct haven_store haven_store;

/* Creates a new store file with a default team (1-32 chars of a-z, 0-9, -). */
bool haven_store_create(const char* path, const char* team, haven_store** out, haven_error* err);
/* Opens an existing store; HAVEN_NOT_FOUND if there is none. */
bool haven_store_open(const char* path, haven_store** out, haven_error* err);
/* Closes the store; NULL is allowed. */
void haven_store_close(haven_store* store);

/* Adds a record. fields_json: {"date": "2026-03-01", "site": "vic", ...}.
 * team may be NULL for the store's default team. On success writes the new
 * id (32 hex chars + NUL) to out_id. */
bool haven_record_add(haven_store* store, const char* type, const char* team, const char* fields_json,
                      char out_id[33], haven_error* err);
/* Edits a record: {"site": "vic", "services+": ["escort"], "services-": ["food"], "discharged": null}. */
bool haven_record_edit(haven_store* store, const char* id, const char* edits_json, haven_error* err);
/* Deletes a record; its values are erased. */
bool haven_record_delete(haven_store* store, const char* id, haven_error* err);
/* The record as JSON: {"id", "type", "team", "deleted", "pending", "fields", "derived"}. */
bool haven_record_get(haven_store* store, const char* id, char** out_json, haven_error* err);
/* Live records as a JSON array; type may be NULL for all types. */
bool haven_record_list(haven_store* store, const char* type, char** out_json, haven_error* err);
/* Imports JSON lines ({"type", "team", "fields"} each), all or none. */
bool haven_import_jsonl(haven_store* store, const char* jsonl, size_t* out_count, haven_error* err);
/* Pending changes, cursors and counts as a JSON object. */
bool haven_store_status(haven_store* store, char** out_json, haven_error* err);

void haven_string_free(char* s);
/* The message of this thread's last failure, "" if none. Valid until the next call on this thread. */
const char* haven_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* HAVEN_CLIENT_HAVEN_H */
