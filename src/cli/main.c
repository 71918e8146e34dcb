/* consentform: the command table and dispatcher, nothing else. */
#include "cli/cli.h"

#include "cf_config.h"

#include <stdio.h>
#include <string.h>
#include <sysexits.h>

static const cf_command commands[] = {
    {"list", "list the forms available, one line each", cf_usage_list, cf_cmd_list},
    {"validate", "check forms against the schema and the content rules", cf_usage_validate,
     cf_cmd_validate},
    {"render", "render a form for one patient (or blank) to a PDF", cf_usage_render,
     cf_cmd_render},
    {"batch", "render a form for every patient of a CSV file", cf_usage_batch, cf_cmd_batch},
    {"archive", "keep issued and signed copies: init, add, list, show, export, verify",
     cf_usage_archive, cf_cmd_archive},
    {"diff", "what changed between two versions of a form", cf_usage_diff, cf_cmd_diff},
};

static void print_help(FILE *out)
{
    fprintf(out, "usage: consentform <command> [options]\n"
                 "       consentform --version | --help | <command> --help\n\n"
                 "Turns XML consent forms and leaflets into print-ready PDFs with the patient's "
                 "label.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nexit status: 0 ok, 64 usage, 65 invalid data, 66 input not found,\n"
                 "73 output cannot be created, 74 I/O error, 70 internal error.\n");
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
    if (strcmp(argv[1], "--version") == 0) {
        printf("consentform %s\n", CF_VERSION);
        return EX_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) != 0)
            continue;
        if (cf_cli_wants_help(argc - 1, argv + 1)) {
            fputs(commands[i].usage, stdout);
            return EX_OK;
        }
        return commands[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "consentform: unknown command \"%s\"; see consentform --help\n", argv[1]);
    return EX_USAGE;
}
