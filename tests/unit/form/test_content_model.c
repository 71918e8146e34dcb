/* The loader's content-model table (src/form/content_model.c) and the RELAX NG schema
 * (forms/schema/consent-form.rng) describe the same forms: for every <element> of the schema
 * there is a row of the table with the same name, the same attribute names and the same
 * child elements, and every row of the table is such an element of the schema. libxml2 reads
 * the schema here as a plain XML file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "form/content_model.h"
#include "test_util.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define MAX_NAMES 32

/* A set of names, small and fixed. */
typedef struct name_set {
    const char *names[MAX_NAMES];
    size_t n;
} name_set;

static void set_add(name_set *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->names[i], name) == 0)
            return;
    assert_true(s->n < MAX_NAMES);
    s->names[s->n++] = name;
}

static bool set_equal(const name_set *a, const name_set *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++) {
        bool found = false;
        for (size_t k = 0; k < b->n && !found; k++)
            found = strcmp(a->names[i], b->names[k]) == 0;
        if (!found)
            return false;
    }
    return true;
}

static void set_print(const char *what, const name_set *s)
{
    fprintf(stderr, "  %s:", what);
    for (size_t i = 0; i < s->n; i++)
        fprintf(stderr, " %s", s->names[i]);
    fprintf(stderr, "\n");
}

static bool is_rng(const xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

static const char *prop(const xmlNode *n, const char *name)
{
    for (const xmlAttr *a = n->properties; a; a = a->next)
        if (strcmp((const char *)a->name, name) == 0 && a->children)
            return (const char *)a->children->content;
    return NULL;
}

static const xmlNode *define_named(const xmlNode *grammar, const char *name)
{
    for (const xmlNode *c = grammar->children; c; c = c->next)
        if (is_rng(c, "define") && strcmp(prop(c, "name"), name) == 0)
            return c;
    fail_msg("the schema has no define \"%s\"", name);
    return NULL;
}

/* Collects what the pattern n allows directly inside its element: attribute names and child
 * element names, following <ref> and stopping at each child <element>. */
static void collect(const xmlNode *grammar, const xmlNode *n, name_set *attrs, name_set *kids,
                    int depth)
{
    assert_true(depth < 64);
    for (const xmlNode *c = n->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (is_rng(c, "attribute"))
            set_add(attrs, prop(c, "name"));
        else if (is_rng(c, "element"))
            set_add(kids, prop(c, "name"));
        else if (is_rng(c, "ref"))
            collect(grammar, define_named(grammar, prop(c, "name")), attrs, kids, depth + 1);
        else
            collect(grammar, c, attrs, kids, depth + 1);
    }
}

/* The table's view of a row: attribute names and the elements it may contain. */
static void row_sets(const cf_element_rule *r, name_set *attrs, name_set *kids)
{
    for (size_t i = 0; i < r->n_attrs; i++)
        set_add(attrs, r->attrs[i].name);
    for (size_t i = 0; i < r->n_children; i++)
        set_add(kids, r->children[i].name);
    if (r->content == CF_CONTENT_INLINE) {
        if (strcmp(r->name, "b") != 0)
            set_add(kids, "b");
        set_add(kids, "field");
    }
}

/* Every element of the schema, by a walk of the whole document. */
static void check_elements(const xmlNode *grammar, const xmlNode *n, bool *matched,
                           size_t *n_elements)
{
    size_t n_rows;
    const cf_element_rule *rows = cf_content_model(&n_rows);
    for (const xmlNode *c = n->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (is_rng(c, "element")) {
            (*n_elements)++;
            const char *name = prop(c, "name");
            name_set attrs = {0}, kids = {0};
            collect(grammar, c, &attrs, &kids, 0);
            bool found = false;
            for (size_t i = 0; i < n_rows; i++) {
                if (strcmp(rows[i].name, name) != 0)
                    continue;
                name_set row_attrs = {0}, row_kids = {0};
                row_sets(&rows[i], &row_attrs, &row_kids);
                if (set_equal(&attrs, &row_attrs) && set_equal(&kids, &row_kids)) {
                    matched[i] = true;
                    found = true;
                }
            }
            if (!found) {
                fprintf(stderr, "schema element <%s> (line %d) has no row of the same content:\n",
                        name, c->line);
                set_print("attributes", &attrs);
                set_print("children", &kids);
                fail();
            }
        }
        check_elements(grammar, c, matched, n_elements);
    }
}

static void test_schema_matches_table(void **state)
{
    (void)state;
    char path[1024];
    test_source_path(path, sizeof path, "forms/schema/consent-form.rng");
    xmlDocPtr doc = xmlReadFile(path, NULL, XML_PARSE_NONET);
    assert_non_null(doc);
    const xmlNode *grammar = xmlDocGetRootElement(doc);
    assert_true(is_rng(grammar, "grammar"));
    size_t n_rows;
    const cf_element_rule *rows = cf_content_model(&n_rows);
    bool matched[128] = {false};
    assert_true(n_rows <= 128);
    size_t n_elements = 0;
    check_elements(grammar, grammar, matched, &n_elements);
    assert_true(n_elements >= n_rows);
    for (size_t i = 0; i < n_rows; i++)
        if (!matched[i])
            fail_msg("table row <%s> (in %s) is no element of the schema", rows[i].name,
                     rows[i].parent ? rows[i].parent : "any parent");
    xmlFreeDoc(doc);
}

/* Containment is decided in one place: a few answers of it. */
static void test_can_contain(void **state)
{
    (void)state;
    const cf_element_rule *form = cf_content_model_root();
    assert_string_equal(form->name, "form");
    assert_non_null(cf_content_model_child(NULL, "form"));
    assert_null(cf_content_model_child(NULL, "meta"));
    const cf_element_rule *body = cf_content_model_child(form, "body");
    const cf_element_rule *section = cf_content_model_child(body, "section");
    assert_non_null(section);
    assert_null(cf_content_model_child(section, "li"));
    const cf_element_rule *instructions = cf_content_model_child(section, "instructions");
    const cf_element_rule *ul = cf_content_model_child(section, "ul");
    const cf_element_rule *li = cf_content_model_child(instructions, "li");
    assert_non_null(cf_content_model_attr(li, "applies-to", NULL));
    assert_null(cf_content_model_attr(cf_content_model_child(ul, "li"), "applies-to", NULL));
    const cf_element_rule *p = cf_content_model_child(section, "p");
    const cf_element_rule *b = cf_content_model_child(p, "b");
    assert_non_null(b);
    assert_null(cf_content_model_child(b, "b")); /* bold does not nest */
    const cf_element_rule *ref = cf_content_model_child(b, "field");
    assert_non_null(cf_content_model_attr(ref, "ref", NULL));
    const cf_element_rule *fields = cf_content_model_child(form, "fields");
    assert_non_null(cf_content_model_attr(cf_content_model_child(fields, "field"), "type", NULL));
    assert_null(cf_content_model_child(p, "ul"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schema_matches_table),
        cmocka_unit_test(test_can_contain),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    xmlCleanupParser();
    return failed;
}
