/* consentform: the command table and dispatcher, nothing else. */
#include "cli/cli.h"

#include "base/suggest.h"
#include "cf_config.h"

#include <stdio.h>
#include <string.h>
#include <sysexits.h>

static const cf_command commands[] = {
    {"list", "list the forms available, one line each", cf_usage_list, cf_cmd_list},
    {"validate", "check forms against the schema and the content rules", cf_usage_validate,
     cf_cmd_validate},
    {"render", "render a form for one patient (or blank) to a PDF", cf_usage_render, cf_cmd_render},
    {"batch", "render a form for every patient of a CSV file", cf_usage_batch, cf_cmd_batch},
    {"archive", "keep issued and signed copies: init, add, list, show, export, verify",
     cf_usage_archive, cf_cmd_archive},
    {"diff", "what changed between two versions of a form", cf_usage_diff, cf_cmd_diff},
    {"serve", "serve the ward's web page: print, lists, find (log-in required)", cf_usage_serve,
     cf_cmd_serve},
    {"user", "the users of serve: add, passwd, disable, list", cf_usage_user, cf_cmd_user},
};

enum { N_COMMANDS = sizeof commands / sizeof commands[0] };

static void print_help(FILE *out)
{
    fprintf(out, "usage: consentform <command> [options]\n"
                 "       consentform -V | --version | -h | --help | help [COMMAND] | "
                 "<command> --help\n\n"
                 "Turns XML consent forms and leaflets into print-ready PDFs with the patient's "
                 "label.\n\ncommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "  %-10s %s\n", "help",
            "show the manual page of a command (man consentform-NAME)");
    fprintf(out, "\nexit status: 0 ok, 64 usage, 65 invalid data, 66 input not found,\n"
                 "73 output cannot be created, 74 I/O error, 70 internal error.\n");
}

/* The command named name, or NULL. */
static const cf_command *find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(name, commands[i].name) == 0)
            return &commands[i];
    return NULL;
}

/* "unknown command" with the closest command name, if one is close. */
static int unknown_command(const char *name)
{
    cf_suggestion s;
    cf_suggestion_init(&s, name);
    for (size_t i = 0; i < N_COMMANDS; i++)
        cf_suggestion_add(&s, commands[i].name);
    cf_suggestion_add(&s, "help");
    const char *best = cf_suggestion_get_best(&s);
    fprintf(stderr, "consentform: unknown command \"%s\"", name);
    if (best)
        fprintf(stderr, " (did you mean %s?)", best);
    fprintf(stderr, "; see consentform --help\n");
    return EX_USAGE;
}

/* consentform help [COMMAND]: the manual page of COMMAND through man(1) when it is there,
 * else the command's usage text. */
static int help(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        print_help(stdout);
        return EX_OK;
    }
    if (argc > 2) {
        fprintf(stderr, "consentform: help takes one command name\n");
        return EX_USAGE;
    }
    const cf_command *command = find_command(argv[1]);
    if (command == NULL && strcmp(argv[1], "help") != 0)
        return unknown_command(argv[1]);
    if (cf_cli_show_manual(command ? command->name : NULL))
        return EX_OK;
    if (command)
        fputs(command->usage, stdout);
    else
        print_help(stdout);
    return EX_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_help(stderr);
        return EX_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        print_help(stdout);
        return EX_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("consentform %s\n", CF_VERSION);
        return EX_OK;
    }
    if (strcmp(argv[1], "help") == 0)
        return help(argc - 1, argv + 1);
    const cf_command *command = find_command(argv[1]);
    if (command == NULL) {
        if (argv[1][0] == '-') {
            fprintf(stderr,
                    "consentform: unknown option \"%s\" (the options are -V, --version, "
                    "-h, --help); see consentform --help\n",
                    argv[1]);
            return EX_USAGE;
        }
        return unknown_command(argv[1]);
    }
    if (cf_cli_wants_help(argc - 1, argv + 1)) {
        fputs(command->usage, stdout);
        return EX_OK;
    }
    return command->run(argc - 1, argv + 1);
}
