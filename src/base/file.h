/* Reading whole files with a cap, and writing files atomically: a temporary file in the target
 * directory is written, fsynced and renamed into place, so a failure never leaves a partial file
 * and an existing file is never replaced unless the caller asks. */
#ifndef CF_FILE_H
#define CF_FILE_H

#include "base/diag.h"
#include "base/status.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Reads all of path (at most limit bytes) into *data (NUL-terminated; caller frees with cf_free).
 * CF_ERR_NOINPUT when missing/unreadable, CF_ERR_LIMIT when larger than limit, CF_ERR_IO. */
cf_status cf_file_read(const char *path, size_t limit, char **data, size_t *len, cf_diag *diag);

typedef struct cf_atomic_file cf_atomic_file;

/* Starts writing path through a temporary file beside it. Without force, an existing path is
 * CF_ERR_EXISTS (checked now and again at commit, so a racing writer is not clobbered). */
cf_status cf_atomic_file_open(const char *path, bool force, cf_atomic_file **out, cf_diag *diag);
/* Appends bytes; the first error sticks and is returned by every later call and by commit. */
cf_status cf_atomic_file_write(cf_atomic_file *file, const void *data, size_t len);
/* Asks the disk to start writing what was written so far (Linux's sync_file_range), so that
 * the commit's fsync, later and perhaps on another thread, has less to wait for. Changes no
 * guarantee: the commit still syncs. A no-op after an error or where unsupported. */
void cf_atomic_file_start_sync(cf_atomic_file *file);
/* Flushes, fsyncs, moves the file into place and fsyncs the directory; always frees file.
 * On any failure the temporary file is removed and nothing exists at path that did not before. */
cf_status cf_atomic_file_commit(cf_atomic_file *file, cf_diag *diag);
/* cf_atomic_file_commit without the folder's fsync (see cf_file_write_atomic_in_run). */
cf_status cf_atomic_file_commit_in_run(cf_atomic_file *file, cf_diag *diag);
/* Removes the temporary file and frees file (NULL is fine). */
void cf_atomic_file_abort(cf_atomic_file *file);

/* Writes data to path atomically (open + write + commit). */
cf_status cf_file_write_atomic(const char *path, const void *data, size_t len, bool force,
                               cf_diag *diag);

/* cf_file_write_atomic for one of many files written into one directory: the file's data are
 * fsynced before it gets its name (so the name never shows a partial file), but the directory
 * is not; the caller calls cf_file_sync_dir once when the last file is in place. Until then a
 * power failure may lose the newest names, never show a damaged file. */
cf_status cf_file_write_atomic_in_run(const char *path, const void *data, size_t len, bool force,
                                      cf_diag *diag);
/* fsyncs the directory dir, so that the files moved into it survive a power failure. */
cf_status cf_file_sync_dir(const char *dir, cf_diag *diag);

/* Files are created rw-r--r-- at most (less when the umask takes more away); with private_only
 * rw------- at most, and folders made by cf_file_make_dir rwx------. Process-wide (--private). */
void cf_file_set_private(bool private_only);
/* The mode new files get (see cf_file_set_private). */
mode_t cf_file_mode(void);
/* Creates the folder path (not its parents) when missing, rwxr-xr-x at most (rwx------ when
 * private); CF_OK when it is already a folder, CF_ERR_CANTCREAT otherwise. */
cf_status cf_file_make_dir(const char *path, cf_diag *diag);

/* Only regular files are ever replaced: with force, an existing symbolic link, device, folder,
 * pipe or socket at path is CF_ERR_CANTCREAT (checked at open and again at commit). */

/* Test hook: every atomic file write fails with EIO once this many bytes in total have been
 * written through cf_atomic_file_write; 0 turns it off. Also set by CONSENTFORM_FAIL_WRITE_AFTER
 * in the environment (read once, at the first open). */
void cf_atomic_file_fail_after(size_t bytes);

#endif
