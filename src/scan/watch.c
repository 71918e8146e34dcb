/* The scan-to-folder watcher (see watch.h): inotify wakes it early, reading the folder finds
 * everything, and each file is followed from first sight until it has stayed the same for
 * stable_ms, then handed over once. */
#include "scan/watch.h"

#include "base/alloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_STABLE_MS 2000u
#define DEFAULT_POLL_MS 3000u
/* How often the stop flag is looked at while waiting, and a growing file is looked at again. */
#define TICK_MS 100
#define PENDING_MS 250

/* One file seen in the folder. */
typedef struct watched {
    char *name; /* owned */
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    long long since; /* ms (monotonic) since when it has been unchanged */
    bool handled;    /* handed over, and unchanged since */
    bool seen;       /* found by the latest reading of the folder */
} watched;

typedef struct watcher {
    const char *dir;
    cf_diag *diag;
    unsigned stable_ms;
    watched *files;
    size_t n_files, cap;
    bool unreadable; /* the last reading of the folder failed (reported once) */
} watcher;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool has_suffix(const char *name, const char *suffix)
{
    size_t n = strlen(name), s = strlen(suffix);
    return n > s && strcasecmp(name + n - s, suffix) == 0;
}

/* Names a writer uses while it is still busy, and hidden files. */
static bool skipped_name(const char *name)
{
    size_t n = strlen(name);
    return n == 0 || name[0] == '.' || name[0] == '~' || name[n - 1] == '~' ||
           has_suffix(name, ".tmp") || has_suffix(name, ".part");
}

static bool same_file(const watched *w, const struct stat *st)
{
    return w->dev == st->st_dev && w->ino == st->st_ino && w->size == st->st_size &&
           w->mtime.tv_sec == st->st_mtim.tv_sec && w->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

static void take_stat(watched *w, const struct stat *st)
{
    w->dev = st->st_dev;
    w->ino = st->st_ino;
    w->size = st->st_size;
    w->mtime = st->st_mtim;
}

static watched *find(watcher *w, const char *name)
{
    for (size_t i = 0; i < w->n_files; i++)
        if (strcmp(w->files[i].name, name) == 0)
            return &w->files[i];
    return NULL;
}

/* Notes one directory entry: a new or changed file starts its stable time again. */
static cf_status note(watcher *w, int dfd, const char *name, long long now)
{
    struct stat st;
    if (skipped_name(name) || fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISREG(st.st_mode))
        return CF_OK; /* gone already, or not a file we take */
    watched *f = find(w, name);
    if (f == NULL) {
        watched *grown = cf_grow_array(w->files, &w->cap, w->n_files + 1, sizeof *grown, 16);
        if (grown == NULL)
            return CF_ERR_NOMEM;
        w->files = grown;
        f = &w->files[w->n_files];
        memset(f, 0, sizeof *f);
        f->name = cf_strdup(name);
        if (f->name == NULL)
            return CF_ERR_NOMEM;
        w->n_files++;
        take_stat(f, &st);
        f->since = now;
    } else if (!same_file(f, &st)) {
        take_stat(f, &st);
        f->since = now;
        f->handled = false;
    }
    f->seen = true;
    return CF_OK;
}

/* Reads the folder: notes every file, forgets those gone. */
static cf_status read_folder(watcher *w)
{
    DIR *d = opendir(w->dir);
    if (d == NULL) {
        if (!w->unreadable)
            cf_diag_warning(w->diag, w->dir, 0, "cannot read the folder (%s); trying again",
                            strerror(errno));
        w->unreadable = true;
        return CF_OK;
    }
    w->unreadable = false;
    for (size_t i = 0; i < w->n_files; i++)
        w->files[i].seen = false;
    long long now = now_ms();
    cf_status st = CF_OK;
    struct dirent *e;
    while (st == CF_OK && (e = readdir(d)) != NULL)
        st = note(w, dirfd(d), e->d_name, now);
    closedir(d);
    size_t kept = 0;
    for (size_t i = 0; i < w->n_files; i++) {
        if (w->files[i].seen || st != CF_OK)
            w->files[kept++] = w->files[i];
        else
            cf_free(w->files[i].name);
    }
    w->n_files = kept;
    return st;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const watched *)a)->name, ((const watched *)b)->name);
}

/* Hands over every file unchanged for stable_ms, in name order; *pending tells whether files
 * are still waiting to become stable. */
static cf_status hand_over(watcher *w, cf_scan_watch_fn fn, void *ctx,
                           const volatile sig_atomic_t *stop, bool *pending)
{
    *pending = false;
    if (w->n_files > 1)
        qsort(w->files, w->n_files, sizeof *w->files, by_name);
    size_t dir_len = strlen(w->dir);
    for (size_t i = 0; i < w->n_files && !*stop; i++) {
        watched *f = &w->files[i];
        if (f->handled)
            continue;
        if (now_ms() - f->since < (long long)w->stable_ms) {
            *pending = true;
            continue;
        }
        /* Looked at once more just before: a write since the last reading restarts the wait. */
        size_t size = dir_len + strlen(f->name) + 2;
        char *path = cf_malloc(size);
        if (path == NULL)
            return CF_ERR_NOMEM;
        snprintf(path, size, "%s%s%s", w->dir,
                 dir_len == 0 || w->dir[dir_len - 1] != '/' ? "/" : "", f->name);
        struct stat st;
        if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            f->handled = true; /* gone: forgotten at the next reading */
        } else if (!same_file(f, &st)) {
            take_stat(f, &st);
            f->since = now_ms();
            *pending = true;
        } else {
            cf_status st_fn = fn(path, ctx);
            /* Left in place: remembered as it is now, so that it comes back only changed. */
            if (lstat(path, &st) == 0)
                take_stat(f, &st);
            f->handled = true;
            if (st_fn == CF_ERR_NOMEM) {
                cf_free(path);
                return CF_ERR_NOMEM;
            }
        }
        cf_free(path);
    }
    return CF_OK;
}

/* Empties the inotify queue; true when it held an event. */
static bool drain(int fd)
{
    bool any = false;
    _Alignas(struct inotify_event) char buf[4096];
    while (read(fd, buf, sizeof buf) > 0)
        any = true;
    return any;
}

cf_status cf_scan_watch_run(const char *dir, cf_scan_watch_fn fn, void *ctx,
                            const volatile sig_atomic_t *stop, const cf_scan_watch_options *opt,
                            cf_diag *diag)
{
    watcher w = {.dir = dir, .diag = diag};
    w.stable_ms = opt != NULL && opt->stable_ms != 0 ? opt->stable_ms : DEFAULT_STABLE_MS;
    unsigned poll_ms = opt != NULL && opt->poll_ms != 0 ? opt->poll_ms : DEFAULT_POLL_MS;
    int in = -1;
    cf_status st = CF_OK;
    struct stat ds;
    DIR *probe = opendir(dir);
    if (probe == NULL || stat(dir, &ds) != 0 || !S_ISDIR(ds.st_mode)) {
        cf_diag_error(diag, dir, 0, "cannot watch this folder: %s",
                      strerror(probe == NULL ? errno : ENOTDIR));
        if (probe != NULL)
            closedir(probe);
        return CF_ERR_NOINPUT;
    }
    closedir(probe);
    if (opt == NULL || !opt->no_inotify) {
        in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (in >= 0 && inotify_add_watch(in, dir, IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
            close(in);
            in = -1; /* polling alone still finds every file */
        }
    }
    bool read_now = true, pending = false;
    long long last_read = 0;
    while (!*stop) {
        long long now = now_ms();
        if (read_now || now - last_read >= (long long)poll_ms ||
            (pending && now - last_read >= PENDING_MS)) {
            st = read_folder(&w);
            last_read = now_ms();
            read_now = false;
            if (st == CF_OK)
                st = hand_over(&w, fn, ctx, stop, &pending);
            if (st != CF_OK)
                break;
            continue;
        }
        /* Wait a tick at most: the stop flag is looked at every TICK_MS (a signal cuts the
         * wait short anyway). */
        struct pollfd pfd = {.fd = in, .events = POLLIN};
        int r = poll(&pfd, in >= 0 ? 1 : 0, TICK_MS);
        if (r > 0 && drain(in))
            read_now = true;
    }
    if (in >= 0)
        close(in);
    for (size_t i = 0; i < w.n_files; i++)
        cf_free(w.files[i].name);
    cf_free(w.files);
    return st;
}
