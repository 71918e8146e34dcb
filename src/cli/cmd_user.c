/* consentform user: add, passwd, disable and list the users of `consentform serve` in a store
 * (STORE/users.db, src/web/auth.c). */
#include "cli/cli.h"

#include "base/diag.h"
#include "web/auth.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

const char cf_usage_user[] =
    "usage: consentform user add STORE NAME --role nurse|clerk|admin [--operator NAME]\n"
    "       consentform user passwd STORE NAME [--operator NAME]\n"
    "       consentform user disable STORE NAME [--operator NAME]\n"
    "       consentform user list STORE\n"
    "\n"
    "The people who may log in to `consentform serve` on the store STORE (an archive store:\n"
    "`consentform archive init STORE` first), kept in STORE/users.db.\n"
    "\n"
    "  add       a new user with a role, nurse, clerk or admin, which limits what the user\n"
    "            may do in the pages (only an admin may issue a draft or expired form)\n"
    "  passwd    a new password for a user; the user's open sessions end\n"
    "  disable   the user can no longer log in, at once also in a running server; the name\n"
    "            stays (archive events name people) and is never given to someone else\n"
    "  list      every user with role and status, one line each\n"
    "\n"
    "options:\n"
    "  --role ROLE      nurse, clerk or admin (add only; needed)\n"
    "  --operator NAME  who makes the change, recorded with it (default $USER)\n"
    "\n"
    "The password is read from the terminal without echo, twice; when standard input is not\n"
    "a terminal, its first line is the password (for scripts: printf '%s\\n' \"$pw\" | ...).\n"
    "A password has at least 10 characters. User names are 1-63 letters A-Z a-z, digits and\n"
    ". _ - @, starting with a letter or digit; they are unique without regard to case.\n"
    "Five failed logins lock the account and the address for 15 minutes; a session ends after\n"
    "15 minutes without use.\n"
    "\n"
    "exit status: 0 ok, 64 usage, 65 bad name or password, 66 no such store or user,\n"
    "73 the user exists already, 74 I/O error.\n";

enum { OPT_ROLE = 256, OPT_OPERATOR };

typedef struct user_args {
    const char *role, *operator_name;
    const char *positional[2];
    int n_positional;
} user_args;

static int parse(int argc, char **argv, user_args *a)
{
    static const struct option options[] = {
        {"role", required_argument, NULL, OPT_ROLE},
        {"operator", required_argument, NULL, OPT_OPERATOR},
        {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof *a);
    optind = 1;
    opterr = 0;
    int c;
    while ((c = cf_cli_getopt(argc, argv, "", options, NULL)) != -1) {
        switch (c) {
        case OPT_ROLE:
            a->role = optarg;
            break;
        case OPT_OPERATOR:
            a->operator_name = optarg;
            break;
        default:
            return cf_cli_usage_error(
                cf_usage_user, "user: unknown option or missing value in \"%s\"", argv[optind - 1]);
        }
    }
    for (int i = optind; i < argc; i++) {
        if (a->n_positional == 2)
            return cf_cli_usage_error(cf_usage_user, "user: unexpected argument \"%s\"", argv[i]);
        a->positional[a->n_positional++] = argv[i];
    }
    return EX_OK;
}

/* The terminal's settings while echo is off, put back by a signal that ends the command. */
static struct termios saved_termios;
static volatile sig_atomic_t echo_off;

static void restore_echo(int sig)
{
    if (echo_off)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_termios);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Reads one line of at most size - 2 bytes from stdin into buf without its line end. False at
 * the end of input before any line, or for a longer line (*too_long set). */
static bool read_line(char *buf, size_t size, bool *too_long)
{
    *too_long = false;
    size_t n = 0;
    int c;
    bool any = false;
    while ((c = getchar()) != EOF && c != '\n') {
        any = true;
        if (n + 1 >= size) {
            *too_long = true;
            continue;
        }
        buf[n++] = (char)c;
    }
    buf[n] = '\0';
    if (n > 0 && buf[n - 1] == '\r')
        buf[--n] = '\0';
    return (any || c == '\n') && !*too_long;
}

/* Reads a line from the terminal with echo off, after prompt (on stderr). */
static bool read_hidden(const char *prompt, char *buf, size_t size, bool *too_long)
{
    struct termios quiet;
    bool ok = false;
    if (tcgetattr(STDIN_FILENO, &saved_termios) == 0) {
        quiet = saved_termios;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        quiet.c_lflag |= ECHONL;
        struct sigaction sa = {.sa_handler = restore_echo}, old[3];
        sigemptyset(&sa.sa_mask);
        static const int sigs[3] = {SIGINT, SIGTERM, SIGHUP};
        for (int i = 0; i < 3; i++)
            sigaction(sigs[i], &sa, &old[i]);
        echo_off = 1;
        /* The prompt only once echo is off: what is typed after it is never shown. */
        if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0) {
            fputs(prompt, stderr);
            fflush(stderr);
            ok = read_line(buf, size, too_long);
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_termios);
        }
        echo_off = 0;
        for (int i = 0; i < 3; i++)
            sigaction(sigs[i], &old[i], NULL);
    }
    return ok;
}

/* The new password of name into pw: from the terminal twice, or stdin's first line. */
static bool read_password(const char *name, char *pw, size_t size, cf_diag *diag)
{
    bool too_long = false;
    if (!isatty(STDIN_FILENO)) {
        if (!read_line(pw, size, &too_long)) {
            if (too_long)
                cf_diag_error(diag, "<stdin>", 1, "the password has more than %d bytes",
                              CF_AUTH_PASSWORD_MAX);
            else
                cf_diag_error(diag, "<stdin>", 0,
                              "no password: standard input is not a terminal, and its first "
                              "line is the password");
            return false;
        }
        return true;
    }
    char prompt[128], again[CF_AUTH_PASSWORD_MAX + 2];
    snprintf(prompt, sizeof prompt, "new password for %s: ", name);
    if (!read_hidden(prompt, pw, size, &too_long)) {
        cf_diag_error(diag, NULL, 0, too_long ? "the password is too long" : "no password read");
        return false;
    }
    if (!cf_auth_password_check(pw, diag))
        return false;
    bool ok = read_hidden("the same password again: ", again, sizeof again, &too_long) &&
              strcmp(pw, again) == 0;
    explicit_bzero(again, sizeof again);
    if (!ok)
        cf_diag_error(diag, NULL, 0, "the two passwords differ; nothing was changed");
    return ok;
}

static void print_user(void *ctx, const cf_auth_user_info *u)
{
    (void)ctx;
    char when[32];
    time_t t = (time_t)u->changed_at;
    struct tm tm;
    if (localtime_r(&t, &tm) != NULL)
        strftime(when, sizeof when, "%Y-%m-%d %H:%M %z", &tm);
    else
        snprintf(when, sizeof when, "-");
    printf("%-24s  %-5s  %-8s  %s\n", u->name, cf_role_name(u->role),
           u->disabled ? "disabled" : "active", when);
}

int cf_cmd_user(int argc, char **argv)
{
    if (argc < 2)
        return cf_cli_usage_error(cf_usage_user,
                                  "user: name what to do (add, passwd, disable, list)");
    const char *sub = argv[1];
    bool add = strcmp(sub, "add") == 0, passwd = strcmp(sub, "passwd") == 0,
         disable = strcmp(sub, "disable") == 0, list = strcmp(sub, "list") == 0;
    if (!add && !passwd && !disable && !list)
        return cf_cli_usage_error(cf_usage_user, "user: \"%s\" is not add, passwd, disable or list",
                                  sub);
    user_args a;
    int rc = parse(argc - 1, argv + 1, &a);
    if (rc != EX_OK)
        return rc;
    if (a.n_positional != (list ? 1 : 2))
        return cf_cli_usage_error(cf_usage_user,
                                  list ? "user list: name the STORE folder"
                                       : "user %s: name the STORE folder and the "
                                         "user's NAME",
                                  sub);
    cf_role role = CF_ROLE_NURSE;
    if (add && a.role == NULL)
        return cf_cli_usage_error(cf_usage_user, "user add: give the user's --role (nurse, clerk "
                                                 "or admin)");
    if (add && !cf_role_parse(a.role, &role))
        return cf_cli_usage_error(cf_usage_user,
                                  "user add: --role is nurse, clerk or admin, not \"%s\"", a.role);
    if (!add && a.role != NULL)
        return cf_cli_usage_error(cf_usage_user,
                                  "user %s: --role is given only with add (a user's role does "
                                  "not change; disable the user and add another name)",
                                  sub);
    const char *store = a.positional[0], *name = a.positional[1];
    cf_diag *diag = cf_diag_new();
    if (diag == NULL)
        return EX_SOFTWARE;
    cf_diag_set_echo(diag, stderr);
    cf_auth *auth = NULL;
    static char pw[CF_AUTH_PASSWORD_MAX + 2];
    cf_status st = CF_OK;
    /* The name is checked before a password is asked for. */
    if (!list && !cf_auth_name_check(name, diag))
        st = CF_ERR_DATA;
    if (st == CF_OK)
        st = cf_auth_open(store, &auth, diag);
    if (st == CF_OK)
        cf_auth_set_operator(auth, cf_cli_operator(a.operator_name));
    if (st == CF_OK && (add || passwd) && !read_password(name, pw, sizeof pw, diag))
        st = CF_ERR_DATA;
    if (st == CF_OK && add) {
        st = cf_auth_user_add(auth, name, role, pw, diag);
        if (st == CF_OK)
            fprintf(stderr, "consentform: added %s (%s) to %s/users.db\n", name, a.role, store);
    } else if (st == CF_OK && passwd) {
        st = cf_auth_user_passwd(auth, name, pw, diag);
        if (st == CF_OK)
            fprintf(stderr, "consentform: changed the password of %s\n", name);
    } else if (st == CF_OK && disable) {
        size_t notes = cf_diag_size(diag);
        st = cf_auth_user_disable(auth, name, diag);
        if (st == CF_OK && cf_diag_size(diag) == notes)
            fprintf(stderr, "consentform: disabled %s\n", name);
    } else if (st == CF_OK && list) {
        size_t count = 0;
        st = cf_auth_user_each(auth, print_user, NULL, &count, diag);
        if (st == CF_OK)
            fprintf(stderr, "consentform: %zu user%s\n", count, count == 1 ? "" : "s");
    }
    explicit_bzero(pw, sizeof pw);
    cf_auth_close(auth);
    cf_diag_free(diag);
    return cf_status_exit_code(st);
}
