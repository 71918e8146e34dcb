/* Subcommands: each is a row of the command table in main.c. */
#ifndef CF_CLI_H
#define CF_CLI_H

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
/* Prints "consentform: message" to stderr (a usage error) and returns EX_USAGE. */
int cf_cli_usage_error(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
