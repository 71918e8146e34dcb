/* Subcommands: each is a row of the command table in main.c. */
#ifndef CF_CLI_H
#define CF_CLI_H

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

extern const char cf_usage_list[];
extern const char cf_usage_validate[];
extern const char cf_usage_render[];
extern const char cf_usage_batch[];
extern const char cf_usage_archive[];
extern const char cf_usage_diff[];

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
/* Prints "consentform: message" (or the pending message of cf_cli_getopt), the synopsis line of
 * usage and where the full help is, to stderr (a usage error); returns EX_USAGE. */
int cf_cli_usage_error(const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Shows the manual page consentform-COMMAND (consentform(1) for NULL) through man(1): the page
 * built in the build tree for a build-tree binary, else the installed one. False when there is
 * no such page or man cannot run (the caller prints the usage text instead). */
bool cf_cli_show_manual(const char *command);

#endif
