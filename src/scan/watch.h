/* Watching a folder a scanner or a ward's copier writes into (scan-to-folder): every file that
 * lands there is handed, once it is complete, to a callback (the filing command files it).
 *
 * A file is complete when its size and modification time have not changed for stable_ms: a
 * copier writing a file over the network, or a scanner writing one page after the other, leaves
 * it growing until then. Changes are seen by inotify (IN_CLOSE_WRITE, IN_MOVED_TO) and by
 * reading the folder every poll_ms as well, because inotify sees nothing of what other machines
 * write on a network mount. Names a writer uses while it is still busy are left alone: a leading
 * '.' or '~', a trailing '~', and the suffixes ".tmp" and ".part" (any case). Only regular files
 * are taken (no folders, links or pipes). */
#ifndef CF_SCAN_WATCH_H
#define CF_SCAN_WATCH_H

#include "base/diag.h"
#include "base/status.h"

#include <signal.h>
#include <stdbool.h>

typedef struct cf_scan_watch_options {
    unsigned stable_ms; /* unchanged this long before a file is taken; 0 = 2000 */
    unsigned poll_ms;   /* the folder is read at least this often; 0 = 3000 */
    bool no_inotify;    /* polling only (tests; folders where inotify cannot be set up are
                           polled anyway) */
} cf_scan_watch_options;

/* Called with each complete file (DIR/NAME; valid during the call) on the watcher's thread.
 * The callback files it and removes it when done, or leaves it in place (a failure it has
 * reported itself). A file left in place is not handed again until it changes (size, time or
 * inode: a new copy dropped under the same name). Returns CF_OK, or the status of that file's
 * failure: the watch goes on either way, except after CF_ERR_NOMEM, which ends it. */
typedef cf_status (*cf_scan_watch_fn)(const char *path, void *ctx);

/* Watches dir until *stop becomes non-zero (a signal handler sets it; the watch notices within
 * a tenth of a second and never starts another file once it is set). Files already in dir when
 * the watch starts are taken too, once stable; files are handed in name order among those
 * found stable at the same time. opt may be NULL (defaults). CF_OK when stopped;
 * CF_ERR_NOINPUT when dir cannot be read at the start (message in diag naming it); a folder
 * that becomes unreadable later (a network mount gone) is reported once in diag and read again
 * at the next poll. CF_ERR_NOMEM when out of memory or when fn returned it. */
cf_status cf_scan_watch_run(const char *dir, cf_scan_watch_fn fn, void *ctx,
                            const volatile sig_atomic_t *stop, const cf_scan_watch_options *opt,
                            cf_diag *diag);

#endif
