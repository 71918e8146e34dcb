/* Private to src/form/: the content model of a form, one table row per element (in its
 * context): which attributes it takes (with their value types), what it may contain, how often
 * and in which order. The loader decides every question of containment here, in one place (as
 * cmark's S_can_contain does), and its tests compare the table with the RELAX NG schema. Enum
 * values (frequencies, states, roles, ...) are listed here only. */
#ifndef CF_FORM_CONTENT_MODEL_H
#define CF_FORM_CONTENT_MODEL_H

#include <stdbool.h>
#include <stddef.h>

typedef enum cf_attr_kind {
    CF_ATTR_TEXT,    /* caption-like text: not empty; normalised */
    CF_ATTR_ID,      /* [a-z0-9][a-z0-9-]* */
    CF_ATTR_KEY,     /* [a-z][a-z0-9_]* */
    CF_ATTR_VERSION, /* [0-9]+(.[0-9]+)* */
    CF_ATTR_DATE,    /* [0-9]{4}-[0-9]{2}-[0-9]{2} (the calendar is a semantic check) */
    CF_ATTR_START,   /* 1..999999 */
    CF_ATTR_WIDTH,   /* [0-9]+(.[0-9]+)? */
    CF_ATTR_LANG,    /* BCP 47-like tag */
    CF_ATTR_ENUM,    /* one of values */
    CF_ATTR_PATTERN, /* a POSIX extended regular expression that compiles */
} cf_attr_kind;

typedef struct cf_attr_spec {
    const char *name; /* "xml:lang" for the XML namespace's lang */
    cf_attr_kind kind;
    bool required;
    const char *const *values; /* CF_ATTR_ENUM: NULL-terminated */
} cf_attr_spec;

typedef enum cf_content_kind {
    CF_CONTENT_EMPTY,    /* attributes only */
    CF_CONTENT_TEXT,     /* plain text, no elements */
    CF_CONTENT_INLINE,   /* text with <b> and <field ref="…"/> */
    CF_CONTENT_ELEMENTS, /* child elements only (white space between them) */
} cf_content_kind;

typedef struct cf_child_rule {
    const char *name;
    unsigned min, max;        /* how often; max 0: unbounded */
    const char *missing_hint; /* added to "<P> has no <X>"; NULL: "give it at least one" */
} cf_child_rule;

typedef struct cf_element_rule {
    const char *name;
    const char *parent; /* the row applies inside this parent only; NULL: wherever allowed */
    cf_content_kind content;
    const cf_attr_spec *attrs;
    size_t n_attrs;
    const cf_child_rule *children; /* CF_CONTENT_ELEMENTS */
    size_t n_children;
    bool ordered;     /* children in the order listed (else in any order) */
    const char *home; /* where the element belongs, for "not allowed here" messages */
} cf_element_rule;

/* Every row of the table; *n set. Static data. */
const cf_element_rule *cf_content_model(size_t *n);

/* The row of element name as a child of parent (NULL parent: the root), or NULL when the
 * parent may not contain it (S_can_contain); inline content (<b>, <field ref>) is included. */
const cf_element_rule *cf_content_model_child(const cf_element_rule *parent, const char *name);

/* The row of the root element <form>. */
const cf_element_rule *cf_content_model_root(void);

/* Any row named name (for "where does it belong" messages), or NULL for an unknown element. */
const cf_element_rule *cf_content_model_find(const char *name);

/* The child rule of name in parent, or NULL. */
const cf_child_rule *cf_content_model_child_rule(const cf_element_rule *parent, const char *name);

/* The attribute spec named name of rule (index in *index), or NULL. */
const cf_attr_spec *cf_content_model_attr(const cf_element_rule *rule, const char *name,
                                          size_t *index);

/* The enum values, in one place: index order is the model's enum order where one exists. */
extern const char *const cf_model_frequency_values[]; /* cf_frequency order */
extern const char *const cf_model_state_values[];     /* <status state> */
extern const char *const cf_model_role_values[];      /* cf_signer_role order */
extern const char *const cf_model_section_role_values[];
extern const char *const cf_model_field_type_values[]; /* cf_field_type order */
extern const char *const cf_model_bool_values[];

#endif
