/* consentform archive: init, add, list, show, export, verify, void and rebuild-index on an
 * archive store. */
#include "cli/cli.h"

#include "archive/archive.h"
#include "base/alloc.h"
#include "base/diag.h"
#include "base/file.h"
#include "render/docid.h"
#include "render/document.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

const char cf_usage_archive[] =
    "usage: consentform archive init STORE\n"
    "       consentform archive add STORE --doc-id ID SCAN [--operator NAME]\n"
    "                   [--unregistered --form ID --patient-name S --hospital-no S\n"
    "                    --episode-no S]\n"
    "       consentform archive list STORE [--hospital-no HN] [--form ID] [--unsigned]\n"
    "       consentform archive show STORE ID\n"
    "       consentform archive export STORE ID -o DIR [--force]\n"
    "       consentform archive verify STORE [--record] [--operator NAME]\n"
    "       consentform archive void STORE ID --reason TEXT [--operator NAME]\n"
    "       consentform archive rebuild-index STORE [--force]\n"
    "\n"
    "The archive keeps every issued PDF (render and batch with --archive STORE) and every\n"
    "signed copy filed back with `add` (PDF, PNG, JPEG or TIFF scans), named by their\n"
    "SHA-256, never overwritten or deleted. A second scan of a document is a new version (the\n"
    "same file again changes nothing). `list --unsigned` shows the forms issued but not yet\n"
    "returned signed; `verify` re-hashes every file, compares every index row with its record\n"
    "object and checks the chain of events, and exits 65 naming the document and patient of\n"
    "anything changed. A lost or empty index.sqlite is restored from a backup, or rebuilt\n"
    "from the objects with `rebuild-index` (the old index is kept beside it).\n"
    "The operator is --operator, else $USER. Document ids may be typed in lower case and\n"
    "with hyphens.\n";

/* The operator recorded with a change. */
const char *cf_cli_operator(const char *given)
{
    if (given != NULL && given[0] != '\0')
        return given;
    const char *user = getenv("USER");
    return user != NULL && user[0] != '\0' ? user : "unknown";
}

enum {
    OPT_DOC_ID = 256,
    OPT_OPERATOR,
    OPT_UNREGISTERED,
    OPT_FORM,
    OPT_PATIENT_NAME,
    OPT_HOSPITAL_NO,
    OPT_EPISODE_NO,
    OPT_UNSIGNED,
    OPT_RECORD,
    OPT_REASON,
};

typedef struct archive_args {
    const char *doc_id, *operator_name, *form, *patient_name, *hospital_no, *episode_no;
    const char *output, *reason;
    bool unregistered, unsigned_only, record, force;
    const char *positional[3];
    int n_positional;
} archive_args;

static int parse(int argc, char **argv, archive_args *a)
{
    static const struct option options[] = {
        {"doc-id", required_argument, NULL, OPT_DOC_ID},
        {"operator", required_argument, NULL, OPT_OPERATOR},
        {"unregistered", no_argument, NULL, OPT_UNREGISTERED},
        {"form", required_argument, NULL, OPT_FORM},
        {"patient-name", required_argument, NULL, OPT_PATIENT_NAME},
        {"hospital-no", required_argument, NULL, OPT_HOSPITAL_NO},
        {"episode-no", required_argument, NULL, OPT_EPISODE_NO},
        {"unsigned", no_argument, NULL, OPT_UNSIGNED},
        {"record", no_argument, NULL, OPT_RECORD},
        {"reason", required_argument, NULL, OPT_REASON},
        {"output", required_argument, NULL, 'o'},
        {"force", no_argument, NULL, 'f'},
        {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof *a);
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "o:f", options, NULL)) != -1) {
        switch (c) {
        case OPT_DOC_ID:
            a->doc_id = optarg;
            break;
        case OPT_OPERATOR:
            a->operator_name = optarg;
            break;
        case OPT_UNREGISTERED:
            a->unregistered = true;
            break;
        case OPT_FORM:
            a->form = optarg;
            break;
        case OPT_PATIENT_NAME:
            a->patient_name = optarg;
            break;
        case OPT_HOSPITAL_NO:
            a->hospital_no = optarg;
            break;
        case OPT_EPISODE_NO:
            a->episode_no = optarg;
            break;
        case OPT_UNSIGNED:
            a->unsigned_only = true;
            break;
        case OPT_RECORD:
            a->record = true;
            break;
        case OPT_REASON:
            a->reason = optarg;
            break;
        case 'o':
            a->output = optarg;
            break;
        case 'f':
            a->force = true;
            break;
        default:
            return cf_cli_usage_error(cf_usage_archive,
                                      "archive: unknown option or missing value in \"%s\"",
                                      argv[optind - 1]);
        }
    }
    for (int i = optind; i < argc; i++) {
        if (a->n_positional == 3)
            return cf_cli_usage_error(cf_usage_archive, "archive: unexpected argument \"%s\"",
                                      argv[i]);
        a->positional[a->n_positional++] = argv[i];
    }
    return EX_OK;
}

/* Accepts an id as a person types it; ids of this tool are normalised and checked. */
static bool document_id_arg(const char *typed, char out[CF_DOCUMENT_ID_SIZE], cf_diag *diag)
{
    if (typed != NULL && cf_docid_normalize(typed, out))
        return true;
    cf_diag_error(diag, NULL, 0,
                  "\"%s\" is not a document id (13 characters: digits and capital letters, the "
                  "last one a check character; look again at the form's footer)",
                  typed != NULL ? typed : "");
    return false;
}

int cf_cmd_archive(int argc, char **argv)
{
    if (argc < 2)
        return cf_cli_usage_error(cf_usage_archive, "archive: name what to do (init, add, "
                                                    "list, show, export, verify, void, "
                                                    "rebuild-index)");
    const char *sub = argv[1];
    archive_args a;
    int rc = parse(argc - 1, argv + 1, &a);
    if (rc != EX_OK)
        return rc;
    if (a.n_positional < 1)
        return cf_cli_usage_error(cf_usage_archive, "archive %s: name the STORE folder", sub);
    const char *store = a.positional[0];
    cf_diag *diag = cf_diag_new();
    if (diag == NULL)
        return EX_SOFTWARE;
    cf_diag_set_echo(diag, stderr);
    cf_status st = CF_OK;
    cf_archive *ar = NULL;
    char id[CF_DOCUMENT_ID_SIZE];
    const char *op = cf_cli_operator(a.operator_name);
    long long now = (long long)time(NULL); /* events record when they happened */

    if (strcmp(sub, "init") == 0) {
        st = cf_archive_init(store, diag);
        if (st == CF_OK)
            fprintf(stderr, "consentform: made an empty archive store in %s\n", store);
    } else if (strcmp(sub, "add") == 0) {
        if (a.n_positional != 2 || a.doc_id == NULL) {
            cf_diag_free(diag);
            return cf_cli_usage_error(cf_usage_archive,
                                      "archive add: give STORE, --doc-id ID and one SCAN file");
        }
        if (a.unregistered && (a.form == NULL || a.patient_name == NULL || a.hospital_no == NULL)) {
            cf_diag_free(diag);
            return cf_cli_usage_error(cf_usage_archive,
                                      "archive add --unregistered needs --form, --patient-name "
                                      "and --hospital-no (and --episode-no if known)");
        }
        if (!a.unregistered && (a.form != NULL || a.patient_name != NULL || a.hospital_no != NULL ||
                                a.episode_no != NULL)) {
            cf_diag_free(diag);
            return cf_cli_usage_error(cf_usage_archive,
                                      "archive add: --form and the label values are only used "
                                      "with --unregistered (a document issued from the store "
                                      "has them already)");
        }
        const char *scan = a.positional[1];
        char *data = NULL;
        size_t len = 0;
        if (!document_id_arg(a.doc_id, id, diag))
            st = CF_ERR_DATA;
        if (st == CF_OK) {
            st = cf_file_read(scan, CF_ARCHIVE_SCAN_MAX, &data, &len, diag);
            if (st == CF_ERR_LIMIT)
                cf_diag_error(diag, scan, 0,
                              "a scan may have at most %zu MB; scan it again at a lower "
                              "resolution",
                              CF_ARCHIVE_SCAN_MAX >> 20);
        }
        /* Checked here too, so that the message names the file. */
        if (st == CF_OK && cf_archive_sniff((const unsigned char *)data, len) == NULL) {
            cf_diag_error(diag, scan, 0, "is not a PDF, PNG, JPEG or TIFF file; nothing was filed");
            st = CF_ERR_DATA;
        }
        if (st == CF_OK)
            st = cf_archive_open(store, false, &ar, diag);
        if (st == CF_OK) {
            cf_archive_label labels[3];
            size_t n = 0;
            if (a.unregistered) {
                labels[n++] = (cf_archive_label){"patient_name", a.patient_name};
                labels[n++] = (cf_archive_label){"hospital_no", a.hospital_no};
                if (a.episode_no != NULL)
                    labels[n++] = (cf_archive_label){"episode_no", a.episode_no};
            }
            int version = 0;
            bool again = false;
            st = cf_archive_add_scan(ar, id, (const unsigned char *)data, len, now, op, a.form,
                                     a.unregistered ? labels : NULL, n, &version, &again, diag);
            if (st == CF_OK && again)
                printf("%s: %s was already filed as signed copy version %d; %s\n", id, scan,
                       version,
                       cf_diag_contains(diag, "has been repaired")
                           ? "its damaged stored copy was repaired from this file"
                           : "nothing changed");
            else if (st == CF_OK)
                printf("%s: signed copy version %d filed (%zu bytes)\n", id, version, len);
        }
        cf_free(data);
    } else if (strcmp(sub, "list") == 0) {
        st = cf_archive_open(store, true, &ar, diag);
        if (st == CF_OK) {
            cf_archive_filter f = {
                .hospital_no = a.hospital_no, .form_id = a.form, .unsigned_only = a.unsigned_only};
            size_t count = 0;
            st = cf_archive_list(ar, &f, stdout, &count, diag);
            if (st == CF_OK)
                fprintf(stderr, "consentform: %zu document%s\n", count, count == 1 ? "" : "s");
        }
    } else if (strcmp(sub, "show") == 0 || strcmp(sub, "export") == 0 || strcmp(sub, "void") == 0) {
        if (a.n_positional != 2) {
            cf_diag_free(diag);
            return cf_cli_usage_error(cf_usage_archive, "archive %s: give STORE and ID", sub);
        }
        if (strcmp(sub, "export") == 0 && a.output == NULL) {
            cf_diag_free(diag);
            return cf_cli_usage_error(cf_usage_archive, "archive export: say where with -o DIR");
        }
        if (strcmp(sub, "void") == 0 && a.reason == NULL) {
            cf_diag_free(diag);
            return cf_cli_usage_error(cf_usage_archive, "archive void: give --reason TEXT");
        }
        if (!document_id_arg(a.positional[1], id, diag))
            st = CF_ERR_DATA;
        if (st == CF_OK)
            st = cf_archive_open(store, strcmp(sub, "void") != 0, &ar, diag);
        if (st == CF_OK && strcmp(sub, "show") == 0)
            st = cf_archive_show(ar, id, stdout, diag);
        else if (st == CF_OK && strcmp(sub, "export") == 0)
            st = cf_archive_export(ar, id, a.output, a.force, diag);
        else if (st == CF_OK)
            st = cf_archive_void(ar, id, a.reason, now, op, diag);
    } else if (strcmp(sub, "verify") == 0) {
        st = cf_archive_open(store, !a.record, &ar, diag);
        size_t problems = 0;
        if (st == CF_OK)
            st = cf_archive_verify(ar, stdout, a.record, now, op, &problems, diag);
        if (st == CF_OK && problems > 0)
            st = CF_ERR_DATA;
    } else if (strcmp(sub, "rebuild-index") == 0) {
        if (a.n_positional != 1) {
            cf_diag_free(diag);
            return cf_cli_usage_error(cf_usage_archive, "archive rebuild-index: give STORE only");
        }
        size_t documents = 0, events = 0, problems = 0;
        st = cf_archive_rebuild_index(store, a.force, stdout, &documents, &events, &problems, diag);
        if (st == CF_OK && problems > 0)
            st = CF_ERR_DATA;
    } else {
        cf_diag_free(diag);
        return cf_cli_usage_error(cf_usage_archive, "archive: unknown action \"%s\"", sub);
    }
    cf_archive_close(ar);
    cf_diag_free(diag);
    return cf_status_exit_code(st);
}
