/* Subcommands: each is a row of the command table in main.c. */
#ifndef CF_CLI_H
#define CF_CLI_H

#include "data/ward.h"
#include "layout/layout.h"

#include <getopt.h>
#include <stdbool.h>

typedef struct cf_command {
    const char *name;
    const char *summary; /* one line for `consentform --help` */
    const char *usage;   /* full text for `consentform NAME --help` */
    /* Runs the command with argv[0] = NAME; returns the process exit status (sysexits). */
    int (*run)(int argc, char **argv);
} cf_command;

int cf_cmd_list(int argc, char **argv);
int cf_cmd_validate(int argc, char **argv);
int cf_cmd_render(int argc, char **argv);
int cf_cmd_batch(int argc, char **argv);
int cf_cmd_archive(int argc, char **argv);
int cf_cmd_diff(int argc, char **argv);
int cf_cmd_serve(int argc, char **argv);
int cf_cmd_user(int argc, char **argv);

extern const char cf_usage_list[];
extern const char cf_usage_validate[];
extern const char cf_usage_render[];
extern const char cf_usage_batch[];
extern const char cf_usage_archive[];
extern const char cf_usage_diff[];
extern const char cf_usage_serve[];
extern const char cf_usage_user[];

/* The operator recorded with an archive change: given (--operator), else $USER, else
 * "unknown". */
const char *cf_cli_operator(const char *given);

/* True when argv holds -h or --help before a "--"; commands print their usage then. */
int cf_cli_wants_help(int argc, char **argv);
/* getopt_long (same arguments, same results, opterr off) with the rules every command follows:
 * a long option is written in full (no abbreviations: "--pat" is an error, not --patient-name);
 * an identity option (--patient-name, --hospital-no, --episode-no) is given once, and a value
 * of one that starts with '-' must be attached ("--patient-name=-x"). On any of these errors,
 * an unknown option or a missing value it returns '?' and keeps a precise message ("did you
 * mean --patient-name?") that the command's next cf_cli_usage_error prints instead of its own. */
int cf_cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts,
                  int *longindex);
/* The options of every command that issues documents (render, batch), declared once in
 * util.c and parsed by cf_cli_issue_getopt, so the commands cannot drift apart. A new shared
 * option is one row of that table, one field here and one case of its parser. */
typedef struct cf_cli_issue_options {
    cf_paper paper;            /* --paper a4|letter (default a4) */
    const char *archive_dir;   /* --archive STORE */
    const char *operator_name; /* --operator NAME (NULL: cf_cli_operator's default) */
    const char *forms_dir;     /* --forms-dir DIR */
    bool force;                /* -f, --force */
    bool private_files;        /* --private */
    unsigned allow;            /* CF_FORM_ALLOW_*: --allow-draft, --allow-expired */
    const char *print_queue;   /* --print QUEUE: send the written PDF to this CUPS queue */
    char ward[CF_WARD_SIZE];   /* --ward W, trimmed (cf_ward_clean); "": none */
} cf_cli_issue_options;

/* getopt values of the identity options (render's alone): what cf_cli_issue_getopt returns
 * for them when the parser accepts them. */
enum {
    CF_CLI_OPT_PATIENT_NAME = 0x1000,
    CF_CLI_OPT_HOSPITAL_NO,
    CF_CLI_OPT_EPISODE_NO,
};

/* One command's parser: its own options, and whether it takes a patient's identity. */
typedef struct cf_cli_issue_parser {
    const char *command;          /* "render", for messages */
    const char *shortopts;        /* the command's own short options */
    const struct option *options; /* the command's own long options, {NULL} ended */
    bool identity;                /* accepts --patient-name, --hospital-no, --episode-no;
                                     otherwise they are refused with the reason */
    /* Filled on the first call: the command's options, the shared ones, the identity ones. */
    struct option table[64];
    char shorts[64];
} cf_cli_issue_parser;

/* cf_cli_getopt over the parser's options plus the shared ones: a shared option is applied to
 * *shared and parsing goes on; returns the command's own options and (with identity) the
 * CF_CLI_OPT_* identity values as getopt would, -1 at the end, and '?' on any error (a shared
 * option's bad value, an identity option the command does not take), with the message pending
 * for cf_cli_usage_error. *longindex indexes p->table. Start with optind = 1 as for getopt. */
int cf_cli_issue_getopt(cf_cli_issue_parser *p, int argc, char **argv, cf_cli_issue_options *shared,
                        int *longindex);

/* Prints "consentform: message" (or the pending message of cf_cli_getopt), the synopsis line of
 * usage and where the full help is, to stderr (a usage error); returns EX_USAGE. */
int cf_cli_usage_error(const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Shows the manual page consentform-COMMAND (consentform(1) for NULL) through man(1): the page
 * built in the build tree for a build-tree binary, else the installed one. False when there is
 * no such page or man cannot run (the caller prints the usage text instead). */
bool cf_cli_show_manual(const char *command);

#endif
