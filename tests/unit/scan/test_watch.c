/* Unit tests of the scan-to-folder watcher (src/scan/watch.c), run on a thread of its own while
 * the test writes into a fresh folder: files present at the start and files written or moved
 * in later are each handed over once, busy and hidden names never; a file left in place comes
 * back only when it changes; a slowly growing file is taken only whole; polling alone finds
 * files; the stop flag ends the watch within a second; a missing folder is an error naming it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/diag.h"
#include "scan/watch.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_SEEN 16

typedef struct watch_run {
    char dir[512];
    cf_scan_watch_options opt;
    volatile sig_atomic_t stop;
    pthread_mutex_t lock;
    char seen[MAX_SEEN][64]; /* base names handed over, in order */
    long long size[MAX_SEEN];
    size_t n_seen;
    cf_status status;
    cf_diag *diag;
    pthread_t thread;
} watch_run;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* The callback: notes the file and its size, and leaves it in place (as a failed filing does). */
static cf_status on_file(const char *path, void *ctx)
{
    watch_run *r = ctx;
    struct stat st;
    const char *base = strrchr(path, '/');
    base = base != NULL ? base + 1 : path;
    pthread_mutex_lock(&r->lock);
    if (r->n_seen < MAX_SEEN) {
        snprintf(r->seen[r->n_seen], sizeof r->seen[0], "%s", base);
        r->size[r->n_seen] = stat(path, &st) == 0 ? (long long)st.st_size : -1;
        r->n_seen++;
    }
    pthread_mutex_unlock(&r->lock);
    return CF_OK;
}

static void *watch_thread(void *arg)
{
    watch_run *r = arg;
    r->status = cf_scan_watch_run(r->dir, on_file, r, &r->stop, &r->opt, r->diag);
    return NULL;
}

static void run_init(watch_run *r, unsigned stable_ms, unsigned poll_ms, bool no_inotify)
{
    memset(r, 0, sizeof *r);
    const char *tmp = getenv("TMPDIR");
    snprintf(r->dir, sizeof r->dir, "%s/cf-watch-XXXXXX",
             tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
    assert_non_null(mkdtemp(r->dir));
    r->opt = (cf_scan_watch_options){
        .stable_ms = stable_ms, .poll_ms = poll_ms, .no_inotify = no_inotify};
    pthread_mutex_init(&r->lock, NULL);
    r->diag = cf_diag_new();
    assert_non_null(r->diag);
}

static void run_start(watch_run *r)
{
    assert_int_equal(pthread_create(&r->thread, NULL, watch_thread, r), 0);
}

/* Sets the stop flag and waits for the watch to end; returns how long that took (ms). */
static long long run_stop(watch_run *r)
{
    long long t0 = now_ms();
    r->stop = 1;
    assert_int_equal(pthread_join(r->thread, NULL), 0);
    return now_ms() - t0;
}

static void run_cleanup(watch_run *r)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", r->dir);
    assert_int_equal(system(cmd), 0);
    pthread_mutex_destroy(&r->lock);
    cf_diag_free(r->diag);
}

static size_t seen_count(watch_run *r)
{
    pthread_mutex_lock(&r->lock);
    size_t n = r->n_seen;
    pthread_mutex_unlock(&r->lock);
    return n;
}

/* Waits until n files were handed over (false after timeout_ms). */
static bool wait_for(watch_run *r, size_t n, long long timeout_ms)
{
    long long end = now_ms() + timeout_ms;
    while (seen_count(r) < n && now_ms() < end)
        sleep_ms(20);
    return seen_count(r) >= n;
}

static void write_file(const watch_run *r, const char *name, const char *text, bool append)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", r->dir, name);
    FILE *f = fopen(path, append ? "ab" : "wb");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, true);
    assert_int_equal(fclose(f), 0);
}

static bool was_seen(watch_run *r, const char *name, size_t *count)
{
    *count = 0;
    for (size_t i = 0; i < r->n_seen; i++)
        *count += strcmp(r->seen[i], name) == 0;
    return *count > 0;
}

/* Files there at the start, written later, moved in under their final name: each once; busy
 * and hidden names, folders: never; a file left in place: again only once it changed. */
static void test_watch_files_appear(void **state)
{
    (void)state;
    watch_run r;
    char from[600], to[600];
    run_init(&r, 200, 500, false);
    write_file(&r, "before.pdf", "%PDF-1.4 before", false);
    static const char *const busy[] = {".hidden.pdf",  "~lock.pdf",    "copy.pdf~",
                                       "scan.pdf.tmp", "scan.PDF.TMP", "page.part"};
    for (size_t i = 0; i < sizeof busy / sizeof busy[0]; i++)
        write_file(&r, busy[i], "busy", false);
    snprintf(from, sizeof from, "%s/folder.pdf", r.dir);
    assert_int_equal(mkdir(from, 0700), 0);
    run_start(&r);
    sleep_ms(100);
    write_file(&r, "after.pdf", "%PDF-1.4 after", false);
    write_file(&r, "moved.pdf.part", "%PDF-1.4 moved", false);
    snprintf(from, sizeof from, "%s/moved.pdf.part", r.dir);
    snprintf(to, sizeof to, "%s/moved.pdf", r.dir);
    assert_int_equal(rename(from, to), 0);
    assert_true(wait_for(&r, 3, 5000));
    /* Longer than a poll and a stable time: nothing is handed a second time. */
    sleep_ms(1200);
    assert_int_equal(seen_count(&r), 3);
    /* Changed: handed again. */
    write_file(&r, "before.pdf", " more", true);
    assert_true(wait_for(&r, 4, 5000));
    sleep_ms(800);
    assert_true(run_stop(&r) < 1000);
    assert_int_equal(r.status, CF_OK);
    size_t count = 0;
    assert_int_equal(r.n_seen, 4);
    assert_true(was_seen(&r, "after.pdf", &count) && count == 1);
    assert_true(was_seen(&r, "moved.pdf", &count) && count == 1);
    assert_true(was_seen(&r, "before.pdf", &count) && count == 2);
    assert_string_equal(r.seen[3], "before.pdf");
    assert_int_equal(r.size[3], (long long)strlen("%PDF-1.4 before more"));
    run_cleanup(&r);
}

/* A file written a little at a time (a copier over the network) is taken only when it has
 * stopped growing, whole. */
static void test_watch_growing_file(void **state)
{
    (void)state;
    watch_run r;
    char path[600];
    run_init(&r, 500, 3000, false);
    run_start(&r);
    snprintf(path, sizeof path, "%s/stack.pdf", r.dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    char chunk[100];
    memset(chunk, 'x', sizeof chunk);
    for (int i = 0; i < 12; i++) { /* 1.8 s, far longer than the stable time between writes */
        assert_int_equal(write(fd, chunk, sizeof chunk), (ssize_t)sizeof chunk);
        sleep_ms(150);
        assert_int_equal(seen_count(&r), 0);
    }
    assert_int_equal(close(fd), 0);
    assert_true(wait_for(&r, 1, 5000));
    sleep_ms(700);
    run_stop(&r);
    assert_int_equal(r.n_seen, 1);
    assert_string_equal(r.seen[0], "stack.pdf");
    assert_int_equal(r.size[0], 1200);
    run_cleanup(&r);
}

/* Without inotify (as on a network mount) reading the folder finds the file. */
static void test_watch_polling(void **state)
{
    (void)state;
    watch_run r;
    run_init(&r, 200, 300, true);
    run_start(&r);
    sleep_ms(100);
    write_file(&r, "polled.tif", "II*\0", false);
    assert_true(wait_for(&r, 1, 3000));
    run_stop(&r);
    assert_int_equal(r.status, CF_OK);
    assert_int_equal(r.n_seen, 1);
    assert_string_equal(r.seen[0], "polled.tif");
    run_cleanup(&r);
}

/* The stop flag ends the watch within a second, whatever the poll and stable times; a flag set
 * before the start hands nothing over. */
static void test_watch_stop(void **state)
{
    (void)state;
    watch_run r;
    run_init(&r, 0, 0, false); /* the defaults: 2 s stable, 3 s poll */
    write_file(&r, "waiting.pdf", "%PDF", false);
    run_start(&r);
    sleep_ms(300);
    assert_true(run_stop(&r) < 1000);
    assert_int_equal(r.status, CF_OK);
    assert_int_equal(r.n_seen, 0); /* not stable yet when stopped */
    r.stop = 1;
    assert_int_equal(cf_scan_watch_run(r.dir, on_file, &r, &r.stop, NULL, r.diag), CF_OK);
    assert_int_equal(r.n_seen, 0);
    run_cleanup(&r);
}

/* A folder that is not there is an error naming it. */
static void test_watch_missing_folder(void **state)
{
    (void)state;
    watch_run r;
    char missing[600];
    run_init(&r, 100, 100, false);
    snprintf(missing, sizeof missing, "%s/no-such-folder", r.dir);
    assert_int_equal(cf_scan_watch_run(missing, on_file, &r, &r.stop, &r.opt, r.diag),
                     CF_ERR_NOINPUT);
    assert_true(cf_diag_contains(r.diag, "no-such-folder"));
    write_file(&r, "plain-file", "x", false);
    snprintf(missing, sizeof missing, "%s/plain-file", r.dir);
    assert_int_equal(cf_scan_watch_run(missing, on_file, &r, &r.stop, &r.opt, r.diag),
                     CF_ERR_NOINPUT);
    run_cleanup(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_watch_files_appear),   cmocka_unit_test(test_watch_growing_file),
        cmocka_unit_test(test_watch_polling),        cmocka_unit_test(test_watch_stop),
        cmocka_unit_test(test_watch_missing_folder),
    };
    return cmocka_run_group_tests_name("scan watch", tests, NULL, NULL);
}
