/* The form model: what a consent form or leaflet says, independent of XML and of layout.
 * Built by cf_form_load (loader.c), immutable afterwards; every string and array lives in the
 * form's arena and stays valid until cf_form_free. All strings are NFC UTF-8 with no control
 * characters (the loader guarantees this). */
#ifndef CF_FORM_H
#define CF_FORM_H

#include "base/diag.h"
#include "base/status.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum cf_form_kind {
    CF_FORM_KIND_LEAFLET,
    CF_FORM_KIND_CONSENT,
} cf_form_kind;

typedef enum cf_form_state {
    CF_FORM_STATE_DRAFT,
    CF_FORM_STATE_APPROVED,
    CF_FORM_STATE_RETIRED, /* withdrawn: never issued again */
} cf_form_state;

/* Risk frequency bands, in the order they are printed. */
typedef enum cf_frequency {
    CF_FREQ_VERY_COMMON,
    CF_FREQ_COMMON,
    CF_FREQ_UNCOMMON,
    CF_FREQ_RARE,
    CF_FREQ_VERY_RARE,
    CF_FREQ_UNKNOWN,
    CF_FREQ_COUNT
} cf_frequency;

/* "very-common", "common", ... as written in XML; NULL for an out-of-range value. */
const char *cf_frequency_name(cf_frequency frequency);
/* Parses the XML spelling; false when name is not one of the six. */
bool cf_frequency_parse(const char *name, cf_frequency *out);

/* One piece of inline text. */
typedef enum cf_span_kind {
    CF_SPAN_TEXT,  /* literal text */
    CF_SPAN_FIELD, /* the value of a label or fill-in field, or a blank line when unset */
} cf_span_kind;

typedef struct cf_span {
    cf_span_kind kind;
    const char *text;  /* CF_SPAN_TEXT: the text; CF_SPAN_FIELD: NULL */
    const char *field; /* CF_SPAN_FIELD: the field key; otherwise NULL */
    bool bold;         /* inside <b> */
} cf_span;

/* Inline text: a run of spans. Whitespace is already normalised by the loader: runs of XML
 * whitespace become one space, except that a space between two CJK characters (the hard line
 * breaks of a source document) is removed; no leading/trailing space. */
typedef struct cf_text {
    const cf_span *spans;
    size_t n_spans;
    const char *lang; /* NULL: the form's language; otherwise e.g. "en" */
    long line;        /* source line, for messages */
} cf_text;

typedef enum cf_field_type {
    CF_FIELD_TEXT,
    CF_FIELD_DATE,
    CF_FIELD_CHOICE,       /* exactly one option (or none when not required) */
    CF_FIELD_MULTI_CHOICE, /* any subset of the options */
} cf_field_type;

typedef struct cf_option {
    const char *key;     /* value used in --set / CSV, e.g. "prp" */
    const cf_text *text; /* what is printed beside the check box */
    bool other;          /* "other: ______" option with a write-in line */
} cf_option;

/* A field the patient record may fill: a label field (patient_name, ...) or a fill-in field. */
typedef struct cf_field {
    const char *key;     /* lower-case ASCII [a-z0-9_]+ */
    const char *caption; /* e.g. "Patient Name" or "手術日期" */
    /* Other names a CSV column may have for this field (the aliases attribute, split at ';'
     * and trimmed, none empty), e.g. "HN", "住院號碼"; NULL when none. */
    const char *const *aliases;
    size_t n_aliases;
    cf_field_type type;
    bool required;       /* must be given to render a labelled (non --blank) form */
    bool label;          /* printed in the patient label box */
    bool identifier;     /* label field holding an identifier (hospital, episode, chart number):
                            NFKC, upper case and trimmed before use (cf_identifier_normalize) */
    const char *pattern; /* label field: POSIX extended regex a value must match whole, or NULL */
    const cf_option *options; /* CF_FIELD_CHOICE / CF_FIELD_MULTI_CHOICE */
    size_t n_options;
    long line;
} cf_field;

typedef enum cf_block_kind {
    CF_BLOCK_HEADING, /* sub-heading inside a section */
    CF_BLOCK_PARAGRAPH,
    CF_BLOCK_BULLETS,  /* items: bullet list */
    CF_BLOCK_NUMBERED, /* items: numbered list, numbers from start */
    CF_BLOCK_TABLE,
    CF_BLOCK_CHECKBOXES, /* check-box group bound to a choice field */
    CF_BLOCK_NOTE,       /* note or warning box */
    CF_BLOCK_RISKS,
    CF_BLOCK_INSTRUCTIONS, /* before / after the procedure */
    CF_BLOCK_DECLARATIONS,
    CF_BLOCK_SIGNATURES,
    CF_BLOCK_REFERENCES, /* list of cited sources */
} cf_block_kind;

typedef struct cf_table {
    size_t n_columns;
    const cf_text *const *header;      /* n_columns cells; NULL when the table has no header */
    const cf_text *const *const *rows; /* n_rows arrays of n_columns cells */
    size_t n_rows;
    const double *widths; /* n_columns relative widths (sum 1.0) */
} cf_table;

typedef enum cf_note_kind {
    CF_NOTE_INFO,
    CF_NOTE_WARNING,
} cf_note_kind;

typedef struct cf_note {
    cf_note_kind kind;
    const char *title; /* may be NULL */
    const cf_text *const *paragraphs;
    size_t n_paragraphs;
    const char *applies_to; /* option key of a procedure choice field; NULL = all */
} cf_note;

typedef struct cf_risk {
    cf_frequency frequency;
    const cf_text *text;
    const char *rate;         /* optional published rate, e.g. "約 1/1,000"; NULL if none */
    const char *applies_to;   /* optional option key of a procedure choice field; NULL = all */
    const char *const *cites; /* ids of the form's references (<ref id>) it cites */
    size_t n_cites;
    long line;
} cf_risk;

typedef struct cf_risks {
    const cf_risk *risks; /* in document order; layout groups them by band */
    size_t n_risks;
} cf_risks;

typedef enum cf_when {
    CF_WHEN_BEFORE,
    CF_WHEN_AFTER,
} cf_when;

typedef struct cf_instructions {
    cf_when when;
    const cf_text *const *items;
    size_t n_items;
    const char *const *applies_to; /* n_items option keys (NULL = every procedure) */
} cf_instructions;

typedef enum cf_signer_role {
    CF_ROLE_PATIENT,
    CF_ROLE_DOCTOR,
    CF_ROLE_WITNESS,
    CF_ROLE_GUARDIAN,    /* has a relationship line */
    CF_ROLE_INTERPRETER, /* has a language line */
} cf_signer_role;

typedef struct cf_signature_block {
    cf_signer_role role;
    const char *caption;              /* e.g. "病人簽署" */
    const char *name_caption;         /* printed-name line caption, NULL = no such line */
    const char *signature_caption;    /* e.g. "簽署" */
    const char *date_caption;         /* e.g. "日期" */
    const char *time_caption;         /* NULL = no time line */
    const char *relationship_caption; /* guardian only, e.g. "與病人關係" */
    const char *language_caption;     /* interpreter only, e.g. "傳譯語言" */
    const cf_text *statement;         /* optional sentence printed above the lines; may be NULL */
    /* required="GROUP": a signed copy needs, for each distinct group of the form, at least one
     * block of that group signed (alternatives share a group); NULL = the block is optional. */
    const char *required;
    long line;
} cf_signature_block;

typedef struct cf_block {
    cf_block_kind kind;
    long line;
    union {
        const cf_text *text; /* HEADING, PARAGRAPH */
        struct {             /* BULLETS, NUMBERED, DECLARATIONS, REFERENCES */
            const cf_text *const *items;
            size_t n_items;
            unsigned start;         /* NUMBERED / DECLARATIONS: first number (default 1) */
            const char *const *ids; /* REFERENCES: n_items ids (<ref id>, NULL when none);
                                       NULL for the other kinds */
        } list;
        cf_table table;
        struct {                   /* CHECKBOXES */
            const char *field;     /* key of a CF_FIELD_CHOICE / MULTI_CHOICE field */
            const cf_text *prompt; /* optional line printed above the boxes; may be NULL */
        } checkboxes;
        cf_note note;
        cf_risks risks;
        cf_instructions instructions;
        struct { /* SIGNATURES */
            const cf_signature_block *blocks;
            size_t n_blocks;
        } signatures;
    } u;
} cf_block;

typedef enum cf_section_role {
    CF_SECTION_BODY,
    CF_SECTION_DISCLAIMER, /* the form's disclaimer (at most one) */
    CF_SECTION_REFERENCES, /* the form's references (at most one) */
    CF_SECTION_SIGNING,    /* declarations and signatures; kept together on one page if it fits */
} cf_section_role;

typedef struct cf_section {
    cf_section_role role;
    const char *id;    /* unique within the form; may be NULL */
    const char *title; /* printed as the section heading; may be NULL */
    const cf_block *blocks;
    size_t n_blocks;
    long line;
} cf_section;

/* Caption (and optional numeric meaning) of one frequency band. */
typedef struct cf_band {
    const char *caption; /* e.g. "常見風險"; NULL when the form declares none */
    const char *meaning; /* e.g. "每 100 人有 1 至 10 人"; NULL when none */
} cf_band;

typedef struct cf_form {
    const char *path;    /* file it was loaded from */
    const char *id;      /* e.g. "nerve-root-injection" (matches the file name) */
    const char *version; /* e.g. "1.0" */
    cf_form_state state;
    const char *approved_by;   /* approved (required) or retired (optional) only */
    const char *approved_date; /* YYYY-MM-DD, approved (required) or retired (optional) only */
    cf_form_kind kind;
    const char *lang;   /* full tag, e.g. "zh-Hant-HK" */
    const char *region; /* "HK" or "TW" (from lang) */
    const char *title;
    const char *subtitle;       /* may be NULL */
    const char *source;         /* metadata: who issued the source document; may be NULL */
    const char *effective_date; /* YYYY-MM-DD or NULL */
    const char *review_date;    /* YYYY-MM-DD or NULL */
    const char *label_caption;  /* caption of the label box, e.g. "Patient's Label" */

    const cf_field *fields; /* label fields first (in label order), then fill-in fields */
    size_t n_fields;
    size_t n_label_fields;

    cf_band bands[CF_FREQ_COUNT];
    bool show_band_meaning; /* print each band's numeric meaning next to its caption, for the
                               bands whose every risk cites a reference (cf_form_band_is_sourced) */
    unsigned max_pages;     /* <layout max-pages>: 0 = no limit */

    const cf_section *sections;
    size_t n_sections;

    struct cf_form_internal *internal; /* arena; opaque */
} cf_form;

/* Loads, validates (RELAX NG schema, then semantic checks) and builds a form. On failure
 * returns CF_ERR_NOINPUT / CF_ERR_DATA / CF_ERR_LIMIT / CF_ERR_NOMEM with messages in diag
 * ("FILE:LINE: what is wrong") and *out = NULL. Caller frees with cf_form_free.
 * schema_path: the .rng file; NULL = the default lookup (cf_form_schema_path). */
cf_status cf_form_load(const char *path, const char *schema_path, cf_form **out, cf_diag *diag);
/* Same from memory; name is used in messages. */
cf_status cf_form_load_memory(const char *data, size_t len, const char *name,
                              const char *schema_path, cf_form **out, cf_diag *diag);
void cf_form_free(cf_form *form);

/* True when the risk cites at least one reference and every id it cites is a <ref id> of the
 * form: only then is its own rate printed. */
bool cf_form_risk_is_sourced(const cf_form *form, const cf_risk *risk);

/* True when every risk of frequency band in the form cites at least one of the form's
 * references (and at least one risk has that frequency): only then may the band's numeric
 * meaning be printed. */
bool cf_form_band_is_sourced(const cf_form *form, cf_frequency band);

/* The numeric meaning of band to print beside its caption, or NULL when none is to be printed:
 * show-meaning off, no meaning given, or a risk of the band cites no reference. The "unknown"
 * band's meaning says there is no number, so it needs no citation. */
const char *cf_form_band_meaning(const cf_form *form, cf_frequency band);

/* "draft", "approved" or "retired" (as written in <status state>). */
const char *cf_form_state_name(cf_form_state state);

/* ---- Form status at issue time (governance.c) ---- */

/* The overrides an issuer may give for a form that is not plainly in force. */
enum {
    CF_FORM_ALLOW_DRAFT = 1u << 0,   /* --allow-draft: a draft may be issued (pages say DRAFT) */
    CF_FORM_ALLOW_EXPIRED = 1u << 1, /* --allow-expired: its review-by date has passed */
};
#define CF_FORM_DATE_SIZE 11 /* "YYYY-MM-DD" and its NUL */

/* Today's local date as YYYY-MM-DD, against which status dates are judged. The test hook
 * $CONSENTFORM_TODAY (YYYY-MM-DD; for tests only, not a user setting) replaces it; a malformed
 * value is CF_ERR_USAGE with a message. */
cf_status cf_form_today(char out[CF_FORM_DATE_SIZE], cf_diag *diag);

/* Whether form may be issued on the day today (YYYY-MM-DD) with the overrides allowed
 * (CF_FORM_ALLOW_*): a retired form or one effective after today is refused whatever is
 * allowed; a form whose review-by date is before today needs CF_FORM_ALLOW_EXPIRED, a draft
 * CF_FORM_ALLOW_DRAFT. Every refusal is reported ("FILE:LINE: ..." naming the option that
 * would allow it) and gives CF_ERR_DATA. *used (may be NULL) receives the overrides the
 * issue depends on (0 for a form in force), to be recorded with each document. */
cf_status cf_form_check_issuable(const cf_form *form, const char *today, unsigned allowed,
                                 unsigned *used, cf_diag *diag);

/* The overrides as recorded in manifests and archive records: "draft", "expired",
 * "draft,expired", or "" for none. Static storage. */
const char *cf_form_override_name(unsigned overrides);
/* The reverse of cf_form_override_name; false for any other text. */
bool cf_form_override_parse(const char *name, unsigned *overrides);

/* Field by key, or NULL. */
/* True for the keys whose values are identifiers when the form does not say (identifier=):
 * hospital_no, episode_no, chart_no, case_no. */
bool cf_field_key_is_identifier(const char *key);
const cf_field *cf_form_get_field(const cf_form *form, const char *key);

/* Writes a stable, human-readable text dump of the whole model (for golden tests). The dump
 * has one item per line, indented by nesting; caller frees *out with cf_free. */
cf_status cf_form_dump(const cf_form *form, char **out, size_t *len);

/* A directory searched for form ids and why: "--forms-dir", "$CONSENTFORM_FORMS",
 * "installed" or "source tree". */
typedef struct cf_forms_dir {
    const char *path;   /* forms_dir, the environment's value or static storage */
    const char *origin; /* static */
} cf_forms_dir;
#define CF_FORMS_DIRS_MAX 4
#define CF_FORM_ID_SUGGESTION_MAX 128
/* The directories searched for a form id, in order: forms_dir (when given), $CONSENTFORM_FORMS,
 * the installed data directory, and the source tree's forms/ only for a binary run from its
 * build tree (cf_paths_is_build_tree). The same directory is listed once. Returns the count. */
size_t cf_form_search_dirs(const char *forms_dir, cf_forms_dir dirs[CF_FORMS_DIRS_MAX]);
/* Resolves FORM as on the command line: a path when it contains '/' or ends in ".xml";
 * otherwise "<id>.xml" in the first of cf_form_search_dirs that has it. A copy of the same id
 * in a later directory is a warning in diag naming both; an id found nowhere is an error with
 * the closest known id ("did you mean"). Returns a newly allocated path (cf_free) or NULL. */
char *cf_form_resolve(const char *form, const char *forms_dir, cf_diag *diag);
/* The form id of the search directories closest to typed (see cf_suggestion), copied to out;
 * false when none is close. */
bool cf_form_suggest_id(const char *typed, const char *forms_dir, char *out, size_t out_size);
/* The first existing directory of cf_form_search_dirs (forms_dir itself when given); static
 * storage or forms_dir; NULL when there is none. */
const char *cf_form_default_dir(const char *forms_dir);
/* Path of consent-form.rng: in the installed data directory, or the source tree for a
 * build-tree binary; never in a forms folder. Static storage. */
const char *cf_form_schema_path(void);

#endif
