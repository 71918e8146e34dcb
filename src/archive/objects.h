/* The content-addressed files of an archive store (private to src/archive): STORE/objects/ab/
 * cdef..., each named by the SHA-256 of its bytes (64 lower-case hex digits, the first two as
 * a folder), written once through a temporary file and made read-only (0400). Knows nothing of
 * the index; store.c decides what an object means.
 *
 * Thread-safe without a lock: two writers of the same bytes race harmlessly, because the object
 * is linked into place (link(2) never replaces a file) and both then find the same content. */
#ifndef CF_ARCHIVE_OBJECTS_H
#define CF_ARCHIVE_OBJECTS_H

#include "base/diag.h"
#include "base/hash.h"
#include "base/status.h"

#include <stdbool.h>
#include <stddef.h>

/* Writes data as the object hex (its SHA-256) under the objects folder: temporary file, fsync,
 * chmod 0400, link into place, fsync of the folder. An object already there is re-hashed: a
 * sound one is left alone; a damaged or missing one is repaired from data (the damaged file is
 * kept in STORE/damaged/, *repaired (may be NULL) set true), provided data hash to hex
 * (CF_ERR_DATA otherwise). CF_ERR_CANTCREAT when the store cannot be written (read-only,
 * permissions), CF_ERR_IO when the disk fails or is full. On failure no temporary file is left
 * behind. */
cf_status cf_object_write(const char *objects, const char *hex, const unsigned char *data,
                          size_t len, bool *repaired, cf_diag *diag);

/* Reads the object hex into *data (caller frees with cf_free) and checks that its bytes still
 * hash to its name: CF_ERR_DATA when they do not, CF_ERR_NOINPUT when it is missing. */
cf_status cf_object_load(const char *objects, const char *hex, char **data, size_t *len,
                         cf_diag *diag);

/* What cf_object_check found. */
typedef enum cf_object_state {
    CF_OBJECT_SOUND,      /* present, and its bytes hash to its name */
    CF_OBJECT_MISSING,    /* no such file */
    CF_OBJECT_UNREADABLE, /* present but cannot be read (errno in *error) */
    CF_OBJECT_CHANGED,    /* its bytes hash to something else (in actual_hex) */
} cf_object_state;

typedef struct cf_object_report {
    cf_object_state state;
    long long size;                      /* bytes read */
    bool writable;                       /* someone may write it (objects are kept 0400) */
    int error;                           /* errno for CF_OBJECT_UNREADABLE */
    char actual_hex[CF_SHA256_HEX_SIZE]; /* the SHA-256 of what was read */
} cf_object_report;

/* Re-hashes the object hex, streaming (any size, little memory). */
void cf_object_check(const char *objects, const char *hex, cf_object_report *report);

/* A file found under the objects folder by cf_object_scan_dir. */
typedef enum cf_object_entry {
    CF_OBJECT_ENTRY_OBJECT,   /* named like an object; hex holds its name */
    CF_OBJECT_ENTRY_LEFTOVER, /* a temporary file of an interrupted write */
    CF_OBJECT_ENTRY_STRAY,    /* anything else: no file of ours is named so */
} cf_object_entry;

/* Calls visit once for every file under the objects folder, with its path relative to the
 * store ("objects/ab/cdef...") and, for an object, its hash. Stops when visit returns false.
 * CF_ERR_NOINPUT when the objects folder cannot be read. */
cf_status cf_object_scan_dir(const char *objects,
                             bool (*visit)(void *context, cf_object_entry kind,
                                           const char *relative_path, const char *hex),
                             void *context, cf_diag *diag);

/* True when the store is shared by a group (`archive init --group`): its folders are setgid
 * 2770 and objects are written 0440 instead of 0700 and 0400. */
bool cf_object_shared(const char *objects);

/* True when s is 64 lower-case hex digits (a SHA-256 as the store names it). */
bool cf_object_is_hash(const char *s);

#endif
