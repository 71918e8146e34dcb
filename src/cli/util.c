/* Helpers shared by the subcommands: option parsing, usage errors, the operator name. */
#include "cli/cli.h"

#include "base/paths.h"
#include "base/suggest.h"
#include "form/form.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

extern char **environ;

int cf_cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return 0;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    }
    return 0;
}

/* The message of the last option error cf_cli_getopt found, until cf_cli_usage_error prints
 * it instead of the caller's more general one. */
static char pending_option_error[512];

/* Options that carry a patient's identity: given once, and never with a value that looks like
 * an option unless attached with '='. */
static const char *const identity_options[] = {"patient-name", "hospital-no", "episode-no"};
enum { N_IDENTITY_OPTIONS = sizeof identity_options / sizeof identity_options[0] };

static int identity_index(const char *name)
{
    for (int i = 0; i < N_IDENTITY_OPTIONS; i++)
        if (strcmp(name, identity_options[i]) == 0)
            return i;
    return -1;
}

static void option_error(const char *command, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Keeps "COMMAND: message" as the pending option error. */
static void option_error(const char *command, const char *fmt, ...)
{
    int w = snprintf(pending_option_error, sizeof pending_option_error, "%s: ", command);
    if (w < 0 || (size_t)w >= sizeof pending_option_error)
        w = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pending_option_error + w, sizeof pending_option_error - (size_t)w, fmt, ap);
    va_end(ap);
}

/* " (did you mean --a or --b?)" for the long options that typed (the name without "--",
 * len bytes) abbreviates, else for the one closest to it; "" when none is close. */
static void suggest_long(const struct option *longopts, const char *typed, size_t len, char *out,
                         size_t out_size)
{
    char name[128];
    if (len >= sizeof name)
        len = sizeof name - 1;
    memcpy(name, typed, len);
    name[len] = '\0';
    out[0] = '\0';
    size_t used = 0, n_prefix = 0;
    for (const struct option *o = longopts; len > 0 && o->name; o++) {
        if (strncmp(o->name, name, len) != 0)
            continue;
        int w = snprintf(out + used, out_size - used, "%s--%s", n_prefix ? " or " : "", o->name);
        if (w > 0 && (size_t)w < out_size - used)
            used += (size_t)w;
        n_prefix++;
    }
    if (n_prefix == 0) {
        cf_suggestion s;
        cf_suggestion_init(&s, name);
        for (const struct option *o = longopts; o->name; o++)
            cf_suggestion_add(&s, o->name);
        const char *best = cf_suggestion_get_best(&s);
        if (best)
            snprintf(out, out_size, "--%s", best);
    }
    if (out[0]) {
        char hint[256];
        snprintf(hint, sizeof hint, " (did you mean %s?)", out);
        snprintf(out, out_size, "%s", hint);
    }
}

/* The long option whose val is c, for naming a short option's long spelling; NULL if none. */
static const char *long_name_of(const struct option *longopts, int c)
{
    for (const struct option *o = longopts; o->name; o++)
        if (!o->flag && o->val == c)
            return o->name;
    return NULL;
}

int cf_cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts,
                  int *longindex)
{
    static char **parsed_argv;
    static bool identity_seen[N_IDENTITY_OPTIONS];
    if (argv == NULL || argc < 1 || argv[0] == NULL)
        return -1;
    if (optind <= 1 || argv != parsed_argv) {
        parsed_argv = argv;
        memset(identity_seen, 0, sizeof identity_seen);
        pending_option_error[0] = '\0';
    }
    opterr = 0;
    const char *command = argv[0];
    int index = -1;
    int c = getopt_long(argc, argv, shortopts, longopts, &index);
    if (longindex)
        *longindex = index;
    if (c == -1)
        return c;

    if (c != '?' && c != ':' && index >= 0) {
        const struct option *o = &longopts[index];
        /* getopt_long has consumed the option and, when given apart, its value. */
        bool value_apart =
            o->has_arg != no_argument && optarg && optind >= 2 && optarg == argv[optind - 1];
        const char *element = argv[optind - (value_apart ? 2 : 1)];
        const char *typed = element + 2;
        size_t typed_len = strcspn(typed, "=");
        if (strncmp(element, "--", 2) != 0 || typed_len != strlen(o->name) ||
            strncmp(typed, o->name, typed_len) != 0) {
            option_error(command,
                         "write options in full: \"--%.*s\" is not an option (did you "
                         "mean --%s?)",
                         (int)typed_len, typed, o->name);
            return '?';
        }
        int identity = identity_index(o->name);
        if (identity >= 0) {
            if (value_apart && optarg[0] == '-') {
                option_error(command,
                             "--%s \"%s\": a patient value that starts with \"-\" looks like an "
                             "option; if it really is the value, write --%s=%s",
                             o->name, optarg, o->name, optarg);
                return '?';
            }
            if (identity_seen[identity]) {
                option_error(command, "--%s is given twice: give each patient field once", o->name);
                return '?';
            }
            identity_seen[identity] = true;
        }
        return c;
    }
    if (c != '?' && c != ':')
        return c; /* a short option */

    /* An unknown option, an ambiguous abbreviation or a missing value. */
    const char *element = optind >= 1 && optind <= argc ? argv[optind - 1] : "";
    if (strncmp(element, "--", 2) == 0) {
        const char *typed = element + 2;
        size_t typed_len = strcspn(typed, "=");
        for (const struct option *o = longopts; o->name; o++) {
            if (strlen(o->name) != typed_len || strncmp(o->name, typed, typed_len) != 0)
                continue;
            if (o->has_arg == no_argument && typed[typed_len] == '=')
                option_error(command, "--%s takes no value", o->name);
            else
                option_error(command, "--%s needs a value", o->name);
            return c;
        }
        char hint[320];
        suggest_long(longopts, typed, typed_len, hint, sizeof hint);
        option_error(command, "unknown option \"--%.*s\"%s", (int)typed_len, typed, hint);
        return c;
    }
    const char *long_name = optopt > 0 ? long_name_of(longopts, optopt) : NULL;
    if (optopt > 0 && optopt < 128 && strchr(shortopts, optopt))
        option_error(command, "-%c%s%s%s needs a value", optopt, long_name ? " (--" : "",
                     long_name ? long_name : "", long_name ? ")" : "");
    else if (optopt > 0 && optopt < 128)
        option_error(command, "unknown option \"-%c\"", optopt);
    else
        option_error(command, "unknown option \"%s\"", element);
    return c;
}

/* The options shared by the commands that issue documents (render, batch): one table, one
 * parser (cf_cli_issue_getopt). */
enum {
    OPT_PAPER = 0x1100,
    OPT_ARCHIVE,
    OPT_OPERATOR,
    OPT_FORMS_DIR,
    OPT_PRIVATE,
    OPT_ALLOW_DRAFT,
    OPT_ALLOW_EXPIRED,
    OPT_PRINT,
    OPT_WARD,
};

static const struct option issue_options[] = {
    {"paper", required_argument, NULL, OPT_PAPER},
    {"archive", required_argument, NULL, OPT_ARCHIVE},
    {"operator", required_argument, NULL, OPT_OPERATOR},
    {"force", no_argument, NULL, 'f'},
    {"forms-dir", required_argument, NULL, OPT_FORMS_DIR},
    {"private", no_argument, NULL, OPT_PRIVATE},
    {"allow-draft", no_argument, NULL, OPT_ALLOW_DRAFT},
    {"allow-expired", no_argument, NULL, OPT_ALLOW_EXPIRED},
    {"print", required_argument, NULL, OPT_PRINT},
    {"ward", required_argument, NULL, OPT_WARD},
    {NULL, 0, NULL, 0},
};
static const char issue_shortopts[] = "f";

/* The options that carry one patient's identity: render's alone, refused by batch. */
static const struct option identity_option_table[] = {
    {"patient-name", required_argument, NULL, CF_CLI_OPT_PATIENT_NAME},
    {"hospital-no", required_argument, NULL, CF_CLI_OPT_HOSPITAL_NO},
    {"episode-no", required_argument, NULL, CF_CLI_OPT_EPISODE_NO},
    {NULL, 0, NULL, 0},
};

/* Appends the {NULL}-ended options from to p->table at *n; false when the table is full. */
static bool append_options(cf_cli_issue_parser *p, size_t *n, const struct option *from)
{
    const size_t cap = sizeof p->table / sizeof p->table[0] - 1; /* room for the end */
    for (const struct option *o = from; o != NULL && o->name != NULL; o++) {
        if (*n >= cap)
            return false;
        p->table[(*n)++] = *o;
    }
    p->table[*n] = (struct option){NULL, 0, NULL, 0};
    return true;
}

/* Fills p->table and p->shorts: the command's options, then the identity and shared ones. */
static bool build_parser(cf_cli_issue_parser *p)
{
    size_t n = 0;
    if (!append_options(p, &n, p->options) || !append_options(p, &n, identity_option_table) ||
        !append_options(p, &n, issue_options))
        return false;
    int w = snprintf(p->shorts, sizeof p->shorts, "%s%s", p->shortopts ? p->shortopts : "",
                     issue_shortopts);
    return w > 0 && (size_t)w < sizeof p->shorts;
}

int cf_cli_issue_getopt(cf_cli_issue_parser *p, int argc, char **argv, cf_cli_issue_options *shared,
                        int *longindex)
{
    if (p->table[0].name == NULL && !build_parser(p)) {
        option_error(p->command, "too many options for one command (internal error)");
        return '?';
    }
    for (;;) {
        int index = -1;
        int c = cf_cli_getopt(argc, argv, p->shorts, p->table, &index);
        if (longindex != NULL)
            *longindex = index;
        switch (c) {
        case OPT_PAPER:
            if (strcmp(optarg, "a4") == 0 || strcmp(optarg, "A4") == 0) {
                shared->paper = CF_PAPER_A4;
            } else if (strcmp(optarg, "letter") == 0) {
                shared->paper = CF_PAPER_LETTER;
            } else {
                option_error(p->command, "--paper is a4 or letter, not \"%s\"", optarg);
                return '?';
            }
            break;
        case OPT_ARCHIVE:
            shared->archive_dir = optarg;
            break;
        case OPT_OPERATOR:
            shared->operator_name = optarg;
            break;
        case 'f':
            shared->force = true;
            break;
        case OPT_FORMS_DIR:
            shared->forms_dir = optarg;
            break;
        case OPT_PRIVATE:
            shared->private_files = true;
            break;
        case OPT_ALLOW_DRAFT:
            shared->allow |= CF_FORM_ALLOW_DRAFT;
            break;
        case OPT_ALLOW_EXPIRED:
            shared->allow |= CF_FORM_ALLOW_EXPIRED;
            break;
        case OPT_PRINT:
            if (optarg[0] == '\0') {
                option_error(p->command, "--print names a printer queue");
                return '?';
            }
            shared->print_queue = optarg;
            break;
        case OPT_WARD: {
            const char *why = NULL;
            if (cf_ward_clean(optarg, shared->ward, &why) != CF_OK) {
                option_error(p->command, "--ward: the ward %s", why);
                return '?';
            }
            break;
        }
        case CF_CLI_OPT_PATIENT_NAME:
        case CF_CLI_OPT_HOSPITAL_NO:
        case CF_CLI_OPT_EPISODE_NO:
            if (p->identity)
                return c;
            option_error(p->command,
                         "--%s is render's option for one patient; here each patient's values "
                         "come from the list's columns (one value would print on every row)",
                         index >= 0 ? p->table[index].name : "patient-name");
            return '?';
        default:
            return c;
        }
    }
}

/* "consentform CMD" from the first line of a usage text ("usage: consentform CMD ..."). */
static void usage_command(const char *usage, char *out, size_t out_size)
{
    const char *p = strstr(usage, "consentform");
    size_t len = 0;
    if (p) {
        const char *end = strchr(p + sizeof "consentform", ' ');
        const char *line_end = strchr(p, '\n');
        if (!end || (line_end && line_end < end))
            end = line_end;
        len = end ? (size_t)(end - p) : strlen(p);
    }
    if (!p || len >= out_size) {
        snprintf(out, out_size, "consentform");
        return;
    }
    memcpy(out, p, len);
    out[len] = '\0';
}

int cf_cli_usage_error(const char *usage, const char *fmt, ...)
{
    fputs("consentform: ", stderr);
    if (pending_option_error[0]) {
        fputs(pending_option_error, stderr);
        pending_option_error[0] = '\0';
    } else {
        va_list ap;
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
    }
    fputc('\n', stderr);
    if (usage) {
        /* The synopsis line and where the rest is: a whole help text hides the message. */
        size_t first = strcspn(usage, "\n");
        char command[64];
        usage_command(usage, command, sizeof command);
        const char *name = strchr(command, ' ');
        fprintf(stderr, "%.*s\n(more: %s --help%s%s)\n", (int)first, usage, command,
                name ? ", consentform help" : "", name ? name : "");
    }
    return EX_USAGE;
}

/* Runs argv (argv[0] looked up in PATH) with stdout and stderr to /dev/null when quiet; returns
 * its exit status, or -1 when it could not run. */
static int run_program(char *const argv[], bool quiet)
{
    posix_spawn_file_actions_t actions;
    if (posix_spawn_file_actions_init(&actions) != 0)
        return -1;
    if (quiet) {
        posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    }
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0)
        return -1;
    int wstatus;
    while (waitpid(pid, &wstatus, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
}

bool cf_cli_show_manual(const char *command)
{
    char page[96], man[] = "man", local[] = "-l", where_flag[] = "-w";
    snprintf(page, sizeof page, "consentform%s%s", command ? "-" : "", command ? command : "");
    /* A build-tree binary shows the pages built next to it; an installed one asks man. */
    const char *build = cf_paths_build_dir();
    if (build) {
        char path[PATH_MAX];
        struct stat st;
        int w = snprintf(path, sizeof path, "%s/doc/%s.1", build, page);
        if (w > 0 && (size_t)w < sizeof path && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            char *argv[] = {man, local, path, NULL};
            return run_program(argv, false) == 0;
        }
    }
    char *where[] = {man, where_flag, page, NULL};
    if (run_program(where, true) != 0)
        return false;
    fflush(stdout);
    char *show[] = {man, page, NULL};
    return run_program(show, false) == 0;
}
