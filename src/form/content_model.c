/* The content model of a form (content_model.h): one row per element; FORMAT.md describes the
 * same structure in words and forms/schema/consent-form.rng as RELAX NG (test_form compares
 * the schema with this table). */
#include "form/content_model.h"

#include "form/form.h"

#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

const char *const cf_model_frequency_values[] = {"very-common", "common",  "uncommon", "rare",
                                                 "very-rare",   "unknown", NULL};
/* In cf_form_state order: the loader sets the state by its index here. */
const char *const cf_model_state_values[] = {"draft", "approved", "retired", NULL};
const char *const cf_model_role_values[] = {"patient",  "doctor",      "witness",
                                            "guardian", "interpreter", NULL};
const char *const cf_model_section_role_values[] = {"body", "disclaimer", "references", "signing",
                                                    NULL};
const char *const cf_model_field_type_values[] = {"text", "date", "choice", "multi-choice", NULL};
const char *const cf_model_bool_values[] = {"true", "false", NULL};
_Static_assert(N(cf_model_frequency_values) == CF_FREQ_COUNT + 1,
               "one frequency name per cf_frequency, in its order");
static const char *const form_kinds[] = {"leaflet", "consent", NULL};
static const char *const form_langs[] = {"zh-Hant-HK", "zh-Hant-TW", NULL};
static const char *const note_kinds[] = {"info", "warning", NULL};
static const char *const instruction_whens[] = {"before", "after", NULL};

/* ---- attributes ---- */

static const cf_attr_spec form_attrs[] = {
    {"id", CF_ATTR_ID, true, NULL},
    {"version", CF_ATTR_VERSION, true, NULL},
    {"kind", CF_ATTR_ENUM, true, form_kinds},
    {"xml:lang", CF_ATTR_ENUM, true, form_langs},
};
static const cf_attr_spec status_attrs[] = {
    {"state", CF_ATTR_ENUM, true, cf_model_state_values},
    {"by", CF_ATTR_TEXT, false, NULL},
    {"date", CF_ATTR_DATE, false, NULL},
};
static const cf_attr_spec label_attrs[] = {{"caption", CF_ATTR_TEXT, true, NULL}};
/* label-field and field share their first four attributes (the loader relies on it). */
static const cf_attr_spec label_field_attrs[] = {
    {"key", CF_ATTR_KEY, true, NULL},
    {"caption", CF_ATTR_TEXT, true, NULL},
    {"required", CF_ATTR_ENUM, false, cf_model_bool_values},
    {"aliases", CF_ATTR_TEXT, false, NULL},
    {"pattern", CF_ATTR_PATTERN, false, NULL},
    {"identifier", CF_ATTR_ENUM, false, cf_model_bool_values},
};
static const cf_attr_spec field_attrs[] = {
    {"key", CF_ATTR_KEY, true, NULL},
    {"caption", CF_ATTR_TEXT, true, NULL},
    {"required", CF_ATTR_ENUM, false, cf_model_bool_values},
    {"aliases", CF_ATTR_TEXT, false, NULL},
    {"type", CF_ATTR_ENUM, true, cf_model_field_type_values},
};
static const cf_attr_spec option_attrs[] = {
    {"key", CF_ATTR_KEY, true, NULL},
    {"other", CF_ATTR_ENUM, false, cf_model_bool_values},
};
static const cf_attr_spec bands_attrs[] = {
    {"show-meaning", CF_ATTR_ENUM, false, cf_model_bool_values},
};
static const cf_attr_spec band_attrs[] = {
    {"frequency", CF_ATTR_ENUM, true, cf_model_frequency_values},
    {"caption", CF_ATTR_TEXT, true, NULL},
    {"meaning", CF_ATTR_TEXT, false, NULL},
};
static const cf_attr_spec layout_attrs[] = {{"max-pages", CF_ATTR_START, false, NULL}};
static const cf_attr_spec section_attrs[] = {
    {"id", CF_ATTR_ID, false, NULL},
    {"title", CF_ATTR_TEXT, false, NULL},
    {"role", CF_ATTR_ENUM, false, cf_model_section_role_values},
};
static const cf_attr_spec lang_attrs[] = {{"xml:lang", CF_ATTR_LANG, false, NULL}};
static const cf_attr_spec start_attrs[] = {{"start", CF_ATTR_START, false, NULL}};
static const cf_attr_spec instruction_li_attrs[] = {
    {"xml:lang", CF_ATTR_LANG, false, NULL},
    {"applies-to", CF_ATTR_KEY, false, NULL},
};
static const cf_attr_spec col_attrs[] = {{"width", CF_ATTR_WIDTH, true, NULL}};
static const cf_attr_spec checkboxes_attrs[] = {{"field", CF_ATTR_KEY, true, NULL}};
static const cf_attr_spec note_attrs[] = {
    {"kind", CF_ATTR_ENUM, false, note_kinds},
    {"title", CF_ATTR_TEXT, false, NULL},
    {"applies-to", CF_ATTR_KEY, false, NULL},
};
static const cf_attr_spec risk_attrs[] = {
    {"frequency", CF_ATTR_ENUM, true, cf_model_frequency_values},
    {"rate", CF_ATTR_TEXT, false, NULL},
    {"applies-to", CF_ATTR_KEY, false, NULL},
    {"cites", CF_ATTR_TEXT, false, NULL}, /* ids separated by spaces: the loader splits them */
};
static const cf_attr_spec instructions_attrs[] = {
    {"when", CF_ATTR_ENUM, true, instruction_whens},
};
static const cf_attr_spec signature_attrs[] = {
    {"role", CF_ATTR_ENUM, true, cf_model_role_values},
    {"caption", CF_ATTR_TEXT, true, NULL},
    {"sign", CF_ATTR_TEXT, true, NULL},
    {"date", CF_ATTR_TEXT, true, NULL},
    {"name", CF_ATTR_TEXT, false, NULL},
    {"time", CF_ATTR_TEXT, false, NULL},
    {"relationship", CF_ATTR_TEXT, false, NULL}, /* guardian only: a semantic check */
    {"language", CF_ATTR_TEXT, false, NULL},     /* interpreter only: a semantic check */
    {"required", CF_ATTR_KEY, false, NULL},      /* signature group the document needs */
};
static const cf_attr_spec ref_attrs[] = {{"id", CF_ATTR_ID, false, NULL}};
static const cf_attr_spec field_ref_attrs[] = {{"ref", CF_ATTR_KEY, true, NULL}};

/* ---- children ---- */

static const cf_child_rule form_children[] = {
    {"meta", 1, 1, "; it comes first and holds the title"},
    {"label", 1, 1, " (the patient label box)"},
    {"fields", 0, 1, NULL},
    {"risk-bands", 0, 1, NULL},
    {"layout", 0, 1, NULL},
    {"body", 1, 1, ""},
};
static const cf_child_rule meta_children[] = {
    {"title", 1, 1, "; every form needs one"},
    {"subtitle", 0, 1, NULL},
    {"status", 1, 1,
     "; write <status state=\"draft\"/> or <status state=\"approved\" by=\"…\" "
     "date=\"YYYY-MM-DD\"/>"},
    {"source", 0, 1, NULL},
    {"effective", 0, 1, NULL},
    {"review-by", 0, 1, NULL},
};
static const cf_child_rule label_children[] = {
    {"label-field", 1, 0, "; give it at least one (e.g. patient_name)"},
};
static const cf_child_rule fields_children[] = {{"field", 0, 0, NULL}};
static const cf_child_rule field_children[] = {{"option", 0, 0, NULL}};
static const cf_child_rule bands_children[] = {{"band", 1, 0, NULL}};
static const cf_child_rule body_children[] = {{"section", 1, 0, NULL}};
static const cf_child_rule section_children[] = {
    {"h", 0, 0, NULL},
    {"p", 0, 0, NULL},
    {"ul", 0, 0, NULL},
    {"ol", 0, 0, NULL},
    {"table", 0, 0, NULL},
    {"checkboxes", 0, 0, NULL},
    {"note", 0, 0, NULL},
    {"risks", 0, 0, NULL},
    {"instructions", 0, 0, NULL},
    {"declarations", 0, 0, NULL},
    {"signatures", 0, 0, NULL},
    {"references", 0, 0, NULL},
};
static const cf_child_rule li_children[] = {{"li", 1, 0, NULL}};
static const cf_child_rule table_children[] = {
    {"col", 0, 0, NULL},
    {"thead", 0, 1, NULL},
    {"row", 1, 0, NULL},
};
static const cf_child_rule thead_children[] = {{"row", 1, 1, NULL}};
static const cf_child_rule row_children[] = {{"cell", 1, 0, NULL}};
static const cf_child_rule checkboxes_children[] = {{"prompt", 0, 1, NULL}};
static const cf_child_rule note_children[] = {{"p", 1, 0, NULL}};
static const cf_child_rule risks_children[] = {{"risk", 1, 0, NULL}};
static const cf_child_rule signatures_children[] = {{"signature", 1, 0, NULL}};
static const cf_child_rule signature_children[] = {{"statement", 0, 1, NULL}};
static const cf_child_rule references_children[] = {{"ref", 1, 0, NULL}};

#define ATTRS(a) a, N(a)
#define NO_ATTRS NULL, 0
#define KIDS(c) c, N(c)
#define NO_KIDS NULL, 0

static const cf_element_rule model[] = {
    {"form", NULL, CF_CONTENT_ELEMENTS, ATTRS(form_attrs), KIDS(form_children), true,
     "the root of the file"},
    {"meta", "form", CF_CONTENT_ELEMENTS, NO_ATTRS, KIDS(meta_children), false, "<form>"},
    {"title", "meta", CF_CONTENT_TEXT, NO_ATTRS, NO_KIDS, false, "<meta>"},
    {"subtitle", "meta", CF_CONTENT_TEXT, NO_ATTRS, NO_KIDS, false, "<meta>"},
    {"status", "meta", CF_CONTENT_EMPTY, ATTRS(status_attrs), NO_KIDS, false, "<meta>"},
    {"source", "meta", CF_CONTENT_TEXT, NO_ATTRS, NO_KIDS, false, "<meta>"},
    {"effective", "meta", CF_CONTENT_TEXT, NO_ATTRS, NO_KIDS, false, "<meta>"},
    {"review-by", "meta", CF_CONTENT_TEXT, NO_ATTRS, NO_KIDS, false, "<meta>"},
    {"label", "form", CF_CONTENT_ELEMENTS, ATTRS(label_attrs), KIDS(label_children), false,
     "<form>"},
    {"label-field", "label", CF_CONTENT_EMPTY, ATTRS(label_field_attrs), NO_KIDS, false, "<label>"},
    {"fields", "form", CF_CONTENT_ELEMENTS, NO_ATTRS, KIDS(fields_children), false, "<form>"},
    {"field", "fields", CF_CONTENT_ELEMENTS, ATTRS(field_attrs), KIDS(field_children), false,
     "<fields>, or inside text as <field ref=\"…\"/>"},
    {"option", "field", CF_CONTENT_INLINE, ATTRS(option_attrs), NO_KIDS, false,
     "a <field> of type choice or multi-choice"},
    {"risk-bands", "form", CF_CONTENT_ELEMENTS, ATTRS(bands_attrs), KIDS(bands_children), false,
     "<form>"},
    {"band", "risk-bands", CF_CONTENT_EMPTY, ATTRS(band_attrs), NO_KIDS, false, "<risk-bands>"},
    {"layout", "form", CF_CONTENT_EMPTY, ATTRS(layout_attrs), NO_KIDS, false, "<form>"},
    {"body", "form", CF_CONTENT_ELEMENTS, NO_ATTRS, KIDS(body_children), false, "<form>"},
    {"section", "body", CF_CONTENT_ELEMENTS, ATTRS(section_attrs), KIDS(section_children), false,
     "<body>"},
    {"h", "section", CF_CONTENT_INLINE, NO_ATTRS, NO_KIDS, false, "<section>"},
    {"p", NULL, CF_CONTENT_INLINE, ATTRS(lang_attrs), NO_KIDS, false, "<section> or <note>"},
    {"ul", "section", CF_CONTENT_ELEMENTS, NO_ATTRS, KIDS(li_children), false, "<section>"},
    {"ol", "section", CF_CONTENT_ELEMENTS, ATTRS(start_attrs), KIDS(li_children), false,
     "<section>"},
    {"li", "instructions", CF_CONTENT_INLINE, ATTRS(instruction_li_attrs), NO_KIDS, false,
     "<ul>, <ol>, <instructions> or <declarations>"},
    {"li", NULL, CF_CONTENT_INLINE, ATTRS(lang_attrs), NO_KIDS, false,
     "<ul>, <ol>, <instructions> or <declarations>"},
    {"table", "section", CF_CONTENT_ELEMENTS, NO_ATTRS, KIDS(table_children), true, "<section>"},
    {"col", "table", CF_CONTENT_EMPTY, ATTRS(col_attrs), NO_KIDS, false, "<table>"},
    {"thead", "table", CF_CONTENT_ELEMENTS, NO_ATTRS, KIDS(thead_children), false, "<table>"},
    {"row", NULL, CF_CONTENT_ELEMENTS, NO_ATTRS, KIDS(row_children), false, "<table> or <thead>"},
    {"cell", "row", CF_CONTENT_INLINE, NO_ATTRS, NO_KIDS, false, "<row>"},
    {"checkboxes", "section", CF_CONTENT_ELEMENTS, ATTRS(checkboxes_attrs),
     KIDS(checkboxes_children), false, "<section>"},
    {"prompt", "checkboxes", CF_CONTENT_INLINE, NO_ATTRS, NO_KIDS, false, "<checkboxes>"},
    {"note", "section", CF_CONTENT_ELEMENTS, ATTRS(note_attrs), KIDS(note_children), false,
     "<section>"},
    {"risks", "section", CF_CONTENT_ELEMENTS, NO_ATTRS, KIDS(risks_children), false, "<section>"},
    {"risk", "risks", CF_CONTENT_INLINE, ATTRS(risk_attrs), NO_KIDS, false, "<risks>"},
    {"instructions", "section", CF_CONTENT_ELEMENTS, ATTRS(instructions_attrs), KIDS(li_children),
     false, "<section>"},
    {"declarations", "section", CF_CONTENT_ELEMENTS, ATTRS(start_attrs), KIDS(li_children), false,
     "<section>"},
    {"signatures", "section", CF_CONTENT_ELEMENTS, NO_ATTRS, KIDS(signatures_children), false,
     "<section>"},
    {"signature", "signatures", CF_CONTENT_ELEMENTS, ATTRS(signature_attrs),
     KIDS(signature_children), false, "<signatures>"},
    {"statement", "signature", CF_CONTENT_INLINE, NO_ATTRS, NO_KIDS, false, "<signature>"},
    {"references", "section", CF_CONTENT_ELEMENTS, NO_ATTRS, KIDS(references_children), false,
     "<section>"},
    {"ref", "references", CF_CONTENT_INLINE, ATTRS(ref_attrs), NO_KIDS, false, "<references>"},
    /* Inline content: inside any element whose content is CF_CONTENT_INLINE (and <b>). */
    {"b", NULL, CF_CONTENT_INLINE, NO_ATTRS, NO_KIDS, false, "text such as <p> or <li>"},
    {"field", NULL, CF_CONTENT_EMPTY, ATTRS(field_ref_attrs), NO_KIDS, false,
     "<fields>, or inside text as <field ref=\"…\"/>"},
};

const cf_element_rule *cf_content_model(size_t *n)
{
    *n = N(model);
    return model;
}

const cf_element_rule *cf_content_model_root(void)
{
    return &model[0];
}

const cf_element_rule *cf_content_model_find(const char *name)
{
    for (size_t i = 0; i < N(model); i++)
        if (strcmp(model[i].name, name) == 0)
            return &model[i];
    return NULL;
}

const cf_child_rule *cf_content_model_child_rule(const cf_element_rule *parent, const char *name)
{
    for (size_t i = 0; parent && i < parent->n_children; i++)
        if (strcmp(parent->children[i].name, name) == 0)
            return &parent->children[i];
    return NULL;
}

/* The row for name inside parent: one bound to that parent first, then a general one. */
static const cf_element_rule *row_in(const char *parent, const char *name)
{
    for (size_t i = 0; i < N(model); i++)
        if (model[i].parent && strcmp(model[i].name, name) == 0 &&
            strcmp(model[i].parent, parent) == 0)
            return &model[i];
    for (size_t i = 0; i < N(model); i++)
        if (!model[i].parent && strcmp(model[i].name, name) == 0)
            return &model[i];
    return NULL;
}

const cf_element_rule *cf_content_model_child(const cf_element_rule *parent, const char *name)
{
    if (!parent)
        return strcmp(name, "form") == 0 ? &model[0] : NULL;
    if (parent->content == CF_CONTENT_INLINE) {
        /* Text holds <b> and <field ref>; <b> holds <field ref> only (bold does not nest). */
        if (strcmp(name, "field") == 0 || (strcmp(name, "b") == 0 && strcmp(parent->name, "b")))
            return row_in("", name);
        return NULL;
    }
    if (!cf_content_model_child_rule(parent, name))
        return NULL;
    return row_in(parent->name, name);
}

const cf_attr_spec *cf_content_model_attr(const cf_element_rule *rule, const char *name,
                                          size_t *index)
{
    for (size_t i = 0; rule && i < rule->n_attrs; i++) {
        if (strcmp(rule->attrs[i].name, name) == 0) {
            if (index)
                *index = i;
            return &rule->attrs[i];
        }
    }
    return NULL;
}
