/* The form loader, and the only file that includes libxml2. A form is read safely (size cap,
 * UTF-8 only, no DOCTYPE or entity declarations, an element nesting cap) in libxml2's recovery
 * mode, validated against the RELAX NG schema, then walked element by element while the model
 * is built into the form's arena: what each element may hold and which attributes it takes come
 * from the content-model table (content_model.c). The semantic checks (check.c) run last, and
 * every stage's messages are reported together, at FILE:LINE:COL (see load()). */
#include "form/form.h"
#include "form/content_model.h"
#include "form/form_internal.h"

#include "base/alloc.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/date.h"
#include "base/file.h"
#include "base/utf8.h"
#include "text/normalize.h"

#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/relaxng.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FORM_MAX_BYTES (2u * 1024u * 1024u) /* a form file is at most 2 MiB */
#define FORM_MAX_DEPTH 64                   /* element nesting; real forms use about 8 */
#define FORM_MAX_ATTRIBUTES 32              /* per start tag; a form element takes at most 8 */
#define FORM_MAX_ELEMENTS 50000             /* in all; a real form has a few hundred */
#define FORM_MAX_CHILDREN 5000              /* child elements of one element */
#define FORM_MAX_ERRORS 50                  /* the walk stops after this many problems */
#define FORM_ARENA_CAP (16u * 1024u * 1024u)
#define MESSAGE_SIZE 1024
#define QUOTE_SIZE 100  /* an echoed value is cut to fit here */
#define DETAIL_SIZE 512 /* a libxml2 message quoted inside ours */

/* ======================================================================================== */
/* libxml2 set-up and error plumbing                                                        */
/* ======================================================================================== */

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_init(void)
{
    xmlInitParser();
}

/* Copies s into out (QUOTE_SIZE bytes) for a message, cut at a character boundary with "…"
 * when long; invalid UTF-8 (never expected here) ends the copy. */
static const char *quote(const char *s, char out[QUOTE_SIZE])
{
    size_t len = strlen(s), pos = 0;
    const size_t room = QUOTE_SIZE - sizeof "…";
    while (pos < len) {
        uint32_t cp;
        size_t used = cf_utf8_decode(s + pos, len - pos, &cp);
        if (used == 0 || pos + used > room)
            break;
        pos += used;
    }
    memcpy(out, s, pos);
    out[pos] = '\0';
    if (pos < len)
        memcpy(out + pos, "…", sizeof "…");
    return out;
}

/* Errors that reach libxml2's thread-local handlers rather than a context's own (for instance
 * while the schema file itself is read) land here, never on stderr. */
typedef struct stray_sink {
    const char *file;
    cf_diag *diag;
    size_t count;
} stray_sink;

/* Drops libxml2's unstructured messages: every failure also raises a structured error. */
static void discard_generic_error(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

/* Message text of a libxml2 error without its trailing newline, cut to fit out. */
static const char *error_text(const xmlError *err, char *out, size_t size)
{
    snprintf(out, size, "%s", err->message ? err->message : "unknown error");
    size_t n = strlen(out);
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
        out[--n] = '\0';
    return out;
}

static void on_stray_error(void *ctx, xmlErrorPtr err)
{
    stray_sink *sink = ctx;
    if (!sink || !err || err->level == XML_ERR_WARNING)
        return;
    char text[MESSAGE_SIZE];
    cf_diag_error(sink->diag, err->file ? err->file : sink->file, err->line, "XML error: %s",
                  error_text(err, text, sizeof text));
    sink->count++;
}

typedef struct saved_handlers {
    xmlStructuredErrorFunc structured;
    void *structured_ctx;
    xmlGenericErrorFunc generic;
    void *generic_ctx;
} saved_handlers;

/* Points this thread's libxml2 error handlers at sink until restore_errors. */
static void redirect_errors(saved_handlers *saved, stray_sink *sink)
{
    saved->structured = xmlStructuredError;
    saved->structured_ctx = xmlStructuredErrorContext;
    saved->generic = xmlGenericError;
    saved->generic_ctx = xmlGenericErrorContext;
    xmlSetStructuredErrorFunc(sink, on_stray_error);
    xmlSetGenericErrorFunc(NULL, discard_generic_error);
}

static void restore_errors(const saved_handlers *saved)
{
    xmlSetStructuredErrorFunc(saved->structured_ctx, saved->structured);
    xmlSetGenericErrorFunc(saved->generic_ctx, saved->generic);
}

/* ======================================================================================== */
/* Byte-level checks before any XML parsing                                                 */
/* ======================================================================================== */

static bool ascii_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool ascii_iequal(const char *a, size_t a_len, const char *b)
{
    size_t b_len = strlen(b);
    if (a_len != b_len)
        return false;
    for (size_t i = 0; i < a_len; i++) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z')
            x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (char)(y - 'A' + 'a');
        if (x != y)
            return false;
    }
    return true;
}

/* An encoding named in the XML declaration must be UTF-8: the loader reads nothing else. */
static cf_status check_declaration(const char *p, size_t len, const char *file, cf_diag *diag)
{
    if (len < 6 || memcmp(p, "<?xml", 5) != 0 || !ascii_space(p[5]))
        return CF_OK;
    size_t end = 5;
    while (end + 1 < len && !(p[end] == '?' && p[end + 1] == '>'))
        end++;
    if (end + 1 >= len)
        return CF_OK; /* an unterminated declaration: the parser says so */
    static const char key[] = "encoding";
    const size_t key_len = sizeof key - 1;
    for (size_t i = 5; i + key_len <= end; i++) {
        if (memcmp(p + i, key, key_len) != 0 || !ascii_space(p[i - 1]))
            continue;
        size_t j = i + key_len;
        while (j < end && ascii_space(p[j]))
            j++;
        if (j >= end || p[j] != '=')
            continue;
        j++;
        while (j < end && ascii_space(p[j]))
            j++;
        if (j >= end || (p[j] != '"' && p[j] != '\''))
            return CF_OK;
        char q = p[j++];
        size_t v = j;
        while (j < end && p[j] != q)
            j++;
        size_t v_len = j - v;
        if (ascii_iequal(p + v, v_len, "utf-8") || ascii_iequal(p + v, v_len, "utf8"))
            return CF_OK;
        long line = 1;
        for (size_t k = 0; k < i; k++)
            line += p[k] == '\n';
        bool printable = v_len > 0 && v_len <= 40;
        for (size_t k = 0; printable && k < v_len; k++)
            printable = p[v + k] > ' ' && p[v + k] < 0x7F;
        cf_diag_error(diag, file, line,
                      "the form declares encoding=\"%.*s\"; forms must be UTF-8: save the file "
                      "as UTF-8 and write encoding=\"UTF-8\"",
                      printable ? (int)v_len : 1, printable ? p + v : "?");
        return CF_ERR_DATA;
    }
    return CF_OK;
}

static bool starts_with(const char *p, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && memcmp(p, prefix, n) == 0;
}

/* Skips from p[*i] to just after terminator, counting line breaks; to the end when missing. */
static void skip_past(const char *p, size_t len, size_t *i, const char *terminator, long *line)
{
    size_t n = strlen(terminator);
    while (*i < len && !(len - *i >= n && memcmp(p + *i, terminator, n) == 0)) {
        if (p[*i] == '\n')
            (*line)++;
        (*i)++;
    }
    *i = *i + n <= len ? *i + n : len;
}

/* libxml2 2.9 compares every attribute of a start tag with every other one, so a tag with
 * 100,000 attributes takes minutes: count them (the '=' outside quoted values) before the
 * parser sees the file. Comments, CDATA sections, processing instructions and declarations
 * are skipped; the parser judges everything else. */
static cf_status check_attribute_counts(const char *p, size_t len, const char *file, cf_diag *diag)
{
    long line = 1;
    size_t i = 0;
    while (i < len) {
        if (p[i] != '<') {
            line += p[i] == '\n';
            i++;
            continue;
        }
        if (starts_with(p + i, len - i, "<!--")) {
            i += 4;
            skip_past(p, len, &i, "-->", &line);
            continue;
        }
        if (starts_with(p + i, len - i, "<![CDATA[")) {
            i += 9;
            skip_past(p, len, &i, "]]>", &line);
            continue;
        }
        if (starts_with(p + i, len - i, "<?")) {
            i += 2;
            skip_past(p, len, &i, "?>", &line);
            continue;
        }
        if (starts_with(p + i, len - i, "<!") || starts_with(p + i, len - i, "</")) {
            i += 2;
            skip_past(p, len, &i, ">", &line);
            continue;
        }
        long tag_line = line;
        size_t count = 0;
        char in_quote = 0;
        for (i++; i < len; i++) {
            char c = p[i];
            line += c == '\n';
            if (in_quote) {
                if (c == in_quote)
                    in_quote = 0;
            } else if (c == '"' || c == '\'') {
                in_quote = c;
            } else if (c == '=') {
                if (++count > FORM_MAX_ATTRIBUTES) {
                    cf_diag_error(diag, file, tag_line,
                                  "a start tag has more than %d attributes; no form element "
                                  "takes more than 8, so the file is refused",
                                  FORM_MAX_ATTRIBUTES);
                    return CF_ERR_LIMIT;
                }
            } else if (c == '>' || c == '<') {
                break;
            }
        }
        if (i < len && p[i] == '>')
            i++;
    }
    return CF_OK;
}

/* Size cap, byte order mark, declared encoding, UTF-8 validity and control characters, each
 * reported with its line and column; then the attribute count of every start tag. */
static cf_status check_bytes(const char *data, size_t len, const char *file, cf_diag *diag)
{
    if (len > FORM_MAX_BYTES) {
        cf_diag_error(diag, file, 0,
                      "the form is %zu bytes, larger than the limit of %u bytes (2 MiB)", len,
                      FORM_MAX_BYTES);
        return CF_ERR_LIMIT;
    }
    const unsigned char *u = (const unsigned char *)data;
    if (len >= 2 && ((u[0] == 0xFE && u[1] == 0xFF) || (u[0] == 0xFF && u[1] == 0xFE))) {
        cf_diag_error(diag, file, 1,
                      "the file is UTF-16 or UTF-32 (it starts with that byte order mark); "
                      "forms must be saved as UTF-8");
        return CF_ERR_DATA;
    }
    if (len >= 4 && u[0] == 0 && u[1] == 0 && u[2] == 0xFE && u[3] == 0xFF) {
        cf_diag_error(diag, file, 1,
                      "the file is UTF-32 (it starts with that byte order mark); forms must "
                      "be saved as UTF-8");
        return CF_ERR_DATA;
    }
    size_t start = len >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF ? 3 : 0;
    cf_status st = check_declaration(data + start, len - start, file, diag);
    if (st)
        return st;

    /* Every bad byte and control character is reported (up to the cap), not only the
     * first: the parser cannot run on such a file, so this stage must say it all. */
    long line = 1, col = 1;
    size_t pos = start, found = 0;
    bool bad_run = false; /* the byte before was not UTF-8 either: one message per run */
    while (pos < len) {
        uint32_t cp;
        size_t used = cf_utf8_decode(data + pos, len - pos, &cp);
        if (used == 0) {
            bool run = bad_run;
            bad_run = true;
            if (!run && found++ < FORM_MAX_ERRORS)
                cf_diag_add(diag, CF_DIAG_ERROR, file, line, col,
                            "the file is not valid UTF-8 here (byte 0x%02X); forms must be "
                            "saved as UTF-8",
                            (unsigned)u[pos]);
            pos++;
            col++;
            continue;
        }
        bad_run = false;
        if (cp != '\t' && cp != '\n' && cp != '\r' && cf_text_is_control(cp)) {
            if (found++ < FORM_MAX_ERRORS)
                cf_diag_add(diag, CF_DIAG_ERROR, file, line, col,
                            "control character U+%04X is not allowed in a form; remove it",
                            (unsigned)cp);
        }
        if (cp == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
        pos += used;
    }
    if (found > FORM_MAX_ERRORS)
        cf_diag_add(diag, CF_DIAG_NOTE, file, 0, 0,
                    "%zu more bad bytes or control characters are not listed",
                    found - FORM_MAX_ERRORS);
    if (found)
        return CF_ERR_DATA;
    return check_attribute_counts(data + start, len - start, file, diag);
}

/* ======================================================================================== */
/* Parsing: libxml2 with our SAX hooks                                                      */
/* ======================================================================================== */

typedef struct parse_state {
    const char *file;
    cf_diag *diag;
    int depth;
    unsigned long elements;                /* elements seen so far */
    unsigned children[FORM_MAX_DEPTH + 2]; /* child elements of each open element */
    bool refused;      /* stopped by one of our own checks; its message is already in diag */
    cf_status refusal; /* ... and the status it gives */
    size_t errors;     /* well-formedness errors reported to diag so far */
    long last_line, last_col;
    bool broken;     /* an error in the tags themselves: the recovered tree is a guess */
    char *eof_error; /* "unexpected end of file" when the parser ran out inside an element */
    long eof_line;
} parse_state;

/* Line (and, when col is given, column in characters) of the '<' that starts the tag the
 * parser has just read: libxml2 gives the line where the tag ends, which differs for a start
 * tag spread over several lines. */
static long tag_start(xmlParserCtxtPtr ctxt, long *col)
{
    if (col)
        *col = 0;
    xmlParserInputPtr in = ctxt->input;
    if (!in)
        return 0;
    long line = in->line;
    if (!in->cur || !in->base)
        return line;
    const xmlChar *p = in->cur;
    while (p > in->base) {
        p--;
        if (*p == '<') {
            if (col) {
                long n = 1;
                for (const xmlChar *q = p; q > in->base && q[-1] != '\n'; q--)
                    n += (q[-1] & 0xC0) != 0x80; /* count characters, not bytes */
                *col = n;
            }
            return line > 0 ? line : in->line;
        }
        if (*p == '\n')
            line--;
    }
    return in->line;
}

static long tag_start_line(xmlParserCtxtPtr ctxt)
{
    return tag_start(ctxt, NULL);
}

/* An element's start position rides in its node's _private field (the node's own line field
 * is a short; psvi belongs to the RELAX NG validator): the line in the high bits and, where a
 * pointer has 64 bits, the column in the low 24. */
#define POS_COL_BITS 24
#define POS_WIDE (UINTPTR_MAX > 0xFFFFFFFFu)

static void *pos_pack(long line, long col)
{
    if (line < 0)
        line = 0;
    if (!POS_WIDE)
        return (void *)(uintptr_t)line;
    if (col < 0 || col >= (1L << POS_COL_BITS))
        col = 0;
    return (void *)(((uintptr_t)line << POS_COL_BITS) | (uintptr_t)col);
}

static long pos_line(const void *packed)
{
    uintptr_t v = (uintptr_t)packed;
    return (long)(POS_WIDE ? v >> POS_COL_BITS : v);
}

static long pos_col(const void *packed)
{
    uintptr_t v = (uintptr_t)packed;
    return POS_WIDE ? (long)(v & ((1u << POS_COL_BITS) - 1u)) : 0;
}

/* Reports one of our own refusals and stops the parser at once. */
static void refuse(xmlParserCtxtPtr ctxt, cf_status status, long line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void refuse(xmlParserCtxtPtr ctxt, cf_status status, long line, const char *fmt, ...)
{
    parse_state *ps = ctxt->_private;
    if (!ps->refused) {
        va_list ap;
        va_start(ap, fmt);
        cf_diag_vadd(ps->diag, CF_DIAG_ERROR, ps->file, line, 0, fmt, ap);
        va_end(ap);
        ps->refused = true;
        ps->refusal = status;
    }
    xmlStopParser(ctxt);
    ctxt->wellFormed = 0;
}

/* Any DOCTYPE (internal subset, external DTD) or entity declaration is refused before the
 * parser reads a single declaration: no XXE, no billion laughs, no network. */
static void refuse_dtd(void *ctx)
{
    xmlParserCtxtPtr ctxt = ctx;
    refuse(ctxt, CF_ERR_DATA, tag_start_line(ctxt),
           "a DOCTYPE or entity declaration is not allowed in a form; remove it (write "
           "characters as UTF-8 text or numeric references such as &#x6CBB;)");
}

static void on_internal_subset(void *ctx, const xmlChar *name, const xmlChar *external_id,
                               const xmlChar *system_id)
{
    (void)name;
    (void)external_id;
    (void)system_id;
    refuse_dtd(ctx);
}

static void on_entity_decl(void *ctx, const xmlChar *name, int type, const xmlChar *public_id,
                           const xmlChar *system_id, xmlChar *content)
{
    (void)name;
    (void)type;
    (void)public_id;
    (void)system_id;
    (void)content;
    refuse_dtd(ctx);
}

static xmlParserInputPtr on_resolve_entity(void *ctx, const xmlChar *public_id,
                                           const xmlChar *system_id)
{
    (void)public_id;
    (void)system_id;
    refuse_dtd(ctx);
    return NULL;
}

/* Only the five predefined entities exist in a form. */
static xmlEntityPtr on_get_entity(void *ctx, const xmlChar *name)
{
    (void)ctx;
    return xmlGetPredefinedEntity(name);
}

static void on_start_element(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                             const xmlChar *uri, int nb_namespaces, const xmlChar **namespaces,
                             int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
    xmlParserCtxtPtr ctxt = ctx;
    parse_state *ps = ctxt->_private;
    long col;
    long line = tag_start(ctxt, &col);
    if (++ps->depth > FORM_MAX_DEPTH) {
        char name[QUOTE_SIZE];
        refuse(ctxt, CF_ERR_LIMIT, line,
               "elements are nested more than %d deep (at <%s>); a form never needs that, so "
               "the file is refused",
               FORM_MAX_DEPTH, quote((const char *)localname, name));
        return;
    }
    /* Caps on the number of elements: libxml2's RELAX NG validation of mixed content takes
     * time that grows with the square of the number of children. */
    if (++ps->elements > FORM_MAX_ELEMENTS) {
        refuse(ctxt, CF_ERR_LIMIT, line,
               "the form has more than %d elements; a form never needs that, so the file is "
               "refused",
               FORM_MAX_ELEMENTS);
        return;
    }
    if (ps->depth > 1 && ++ps->children[ps->depth - 1] > FORM_MAX_CHILDREN) {
        char name[QUOTE_SIZE];
        const xmlChar *parent_name = ctxt->node ? ctxt->node->name : NULL;
        refuse(ctxt, CF_ERR_LIMIT, line,
               "<%s> holds more than %d elements; a form never needs that, so the file is "
               "refused",
               quote(parent_name ? (const char *)parent_name : "?", name), FORM_MAX_CHILDREN);
        return;
    }
    ps->children[ps->depth] = 0;
    xmlNodePtr parent = ctxt->node;
    xmlSAX2StartElementNs(ctx, localname, prefix, uri, nb_namespaces, namespaces, nb_attributes,
                          nb_defaulted, attributes);
    if (ctxt->node && ctxt->node != parent && ctxt->node->type == XML_ELEMENT_NODE)
        ctxt->node->_private = pos_pack(line, col);
}

static void on_end_element(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                           const xmlChar *uri)
{
    xmlParserCtxtPtr ctxt = ctx;
    parse_state *ps = ctxt->_private;
    ps->depth--;
    xmlSAX2EndElementNs(ctx, localname, prefix, uri);
}

/* A libxml2 well-formedness error in plain words (cf_malloc'd; NULL when out of memory). */
static char *translate_parse_error(const xmlError *err, bool at_eof)
{
    char text[MESSAGE_SIZE], a[QUOTE_SIZE], b[QUOTE_SIZE];
    const char *s1 = err->str1 ? err->str1 : "?";
    const char *s2 = err->str2 ? err->str2 : "?";
    char detail[DETAIL_SIZE];
    error_text(err, detail, sizeof detail);
    switch (err->code) {
    case XML_ERR_DOCUMENT_EMPTY:
        snprintf(text, sizeof text,
                 "the file holds no XML element; a form starts with <?xml version=\"1.0\" "
                 "encoding=\"UTF-8\"?> and a <form> element");
        break;
    case XML_ERR_DOCUMENT_END:
        snprintf(text, sizeof text,
                 "there is more after the end of the root element; a form is one <form> "
                 "element");
        break;
    case XML_ERR_TAG_NAME_MISMATCH:
        snprintf(text, sizeof text,
                 "</%s> on line %d does not close <%s>, which was opened on line %d; close "
                 "<%s> with </%s> first",
                 quote(s2, b), err->line, quote(s1, a), err->int1, a, a);
        break;
    case XML_ERR_NAME_REQUIRED:
        if (strstr(detail, "EntityRef"))
            snprintf(text, sizeof text,
                     "a bare \"&\": to print an ampersand write &amp; (an & always starts a "
                     "reference such as &amp; or &#x6CBB;)");
        else if (strstr(detail, "StartTag"))
            snprintf(text, sizeof text,
                     "a bare \"<\" that starts no tag: to print a less-than sign write &lt;");
        else
            snprintf(text, sizeof text, "not well-formed XML: %s", detail);
        break;
    case XML_ERR_ENTITYREF_SEMICOL_MISSING:
        snprintf(text, sizeof text,
                 "an \"&\" without a closing \";\": to print an ampersand write &amp;; a "
                 "reference ends with \";\", as in &#x6CBB;");
        break;
    case XML_ERR_LT_IN_ATTRIBUTE:
        snprintf(text, sizeof text,
                 "a \"<\" inside an attribute value: write &lt; (or close the quote of the "
                 "value before the next tag)");
        break;
    case XML_ERR_LT_REQUIRED:
    case XML_ERR_GT_REQUIRED:
        snprintf(text, sizeof text,
                 "a start tag is not closed: end it with \">\" (or \"/>\" for an element "
                 "without content); check for a missing quote in an attribute value");
        break;
    case XML_ERR_LTSLASH_REQUIRED:
        snprintf(text, sizeof text,
                 "an end tag is missing or broken here: close each element with </name>");
        break;
    case XML_ERR_ATTRIBUTE_NOT_STARTED:
    case XML_ERR_ATTRIBUTE_WITHOUT_VALUE:
        snprintf(text, sizeof text,
                 "an attribute without a quoted value: write name=\"value\" (in double or "
                 "single quotes)");
        break;
    case XML_ERR_ATTRIBUTE_NOT_FINISHED:
        snprintf(text, sizeof text,
                 "an attribute value is not closed: end it with the quote it starts with");
        break;
    case XML_ERR_EQUAL_REQUIRED:
        snprintf(text, sizeof text, "an attribute name without \"=\": write name=\"value\"");
        break;
    case XML_ERR_SPACE_REQUIRED:
        snprintf(text, sizeof text,
                 "attributes must be separated by a space: write a=\"1\" b=\"2\" (%s)", detail);
        break;
    case XML_ERR_HYPHEN_IN_COMMENT:
    case XML_ERR_COMMENT_NOT_FINISHED:
        snprintf(text, sizeof text,
                 "a comment is broken: write <!-- text --> with no \"--\" inside the text");
        break;
    case XML_ERR_RESERVED_XML_NAME:
        snprintf(text, sizeof text,
                 "the <?xml …?> declaration must be the very first thing in the file; remove "
                 "what stands before it");
        break;
    case XML_ERR_UNDECLARED_ENTITY:
    case XML_WAR_UNDECLARED_ENTITY:
        snprintf(text, sizeof text,
                 "unknown entity &%s;; a form may use only &amp; &lt; &gt; &quot; &apos; and "
                 "numeric references such as &#x6CBB;",
                 quote(s1, a));
        break;
    case XML_ERR_ATTRIBUTE_REDEFINED:
        if (err->str2)
            snprintf(text, sizeof text, "attribute %s:%s is given twice", quote(s1, a),
                     quote(s2, b));
        else
            snprintf(text, sizeof text, "attribute %s is given twice", quote(s1, a));
        break;
    default:
        if (at_eof)
            snprintf(text, sizeof text, "unexpected end of file (is the file cut short?): %s",
                     detail);
        else
            snprintf(text, sizeof text, "not well-formed XML: %s", detail);
        break;
    }
    return cf_strdup(text);
}

/* An error confined to a character, a reference or an attribute, after which the parser's
 * recovered tree is what the author meant. */
static bool is_local_error(const xmlError *err)
{
    switch (err->code) {
    case XML_ERR_ENTITYREF_SEMICOL_MISSING:
    case XML_ERR_UNDECLARED_ENTITY:
    case XML_WAR_UNDECLARED_ENTITY:
    case XML_ERR_ATTRIBUTE_REDEFINED:
    case XML_ERR_INVALID_CHAR:
    case XML_ERR_INVALID_CHARREF:
    case XML_ERR_INVALID_DEC_CHARREF:
    case XML_ERR_INVALID_HEX_CHARREF:
        return true;
    case XML_ERR_NAME_REQUIRED: /* a bare & or <: the parser skips just that character */
        return err->message &&
               (strstr(err->message, "EntityRef") || strstr(err->message, "StartTag"));
    default:
        return false;
    }
}

static void on_parse_error(void *ctx, xmlErrorPtr err)
{
    xmlParserCtxtPtr ctxt = ctx;
    parse_state *ps = ctxt ? ctxt->_private : NULL;
    if (!ps || !err || ps->refused || err->level == XML_ERR_WARNING ||
        err->code == XML_ERR_USER_STOP)
        return;
    bool at_eof =
        ctxt->input && ctxt->input->cur && ctxt->input->end && ctxt->input->cur >= ctxt->input->end;
    if (err->code == XML_ERR_TAG_NOT_FINISHED) {
        if (!ps->eof_error && !ps->broken) { /* after a broken tag: its consequence */
            char text[MESSAGE_SIZE], name[QUOTE_SIZE];
            snprintf(text, sizeof text,
                     "unexpected end of file (is the file cut short?): <%s>, opened on line %d, "
                     "is never closed",
                     quote(err->str1 ? err->str1 : "?", name), err->int1);
            ps->eof_error = cf_strdup(text);
            ps->eof_line = err->line;
            ps->broken = true;
        }
        return;
    }
    /* In recovery libxml2 raises several errors for one mistake at one place (keep the first),
     * and after a broken tag every later tag error is a consequence of its guess (keep only
     * errors confined to a character or an entity, which its guess cannot cause). */
    if (err->line == ps->last_line && err->int2 == ps->last_col)
        return;
    bool local = is_local_error(err);
    if (ps->broken && !local)
        return;
    ps->last_line = err->line;
    ps->last_col = err->int2;
    if (!local)
        ps->broken = true;
    if (ps->errors++ >= FORM_MAX_ERRORS)
        return;
    char *text = translate_parse_error(err, at_eof);
    cf_diag_add(ps->diag, CF_DIAG_ERROR, ps->file, err->line, err->int2, "%s",
                text ? text : "not well-formed XML");
    cf_free(text);
}

/* Parses data into a tree with the hooks above, in libxml2's recovery mode so that the later
 * stages can still look at a form that is not well-formed. Returns CF_OK; CF_ERR_DATA when
 * the file is not well-formed (every error is in diag, and *doc is the recovered tree or NULL
 * when nothing could be recovered; *broken when the tags themselves are wrong, so that the
 * tree is the parser's guess); or CF_ERR_DATA, CF_ERR_LIMIT or CF_ERR_NOMEM for a
 * refusal (DOCTYPE, one of the caps), with *doc NULL. The caller frees *doc with xmlFreeDoc. */
static cf_status parse(const char *data, size_t len, const char *file, cf_diag *diag,
                       xmlDocPtr *doc, bool *refused, bool *broken)
{
    *doc = NULL;
    *refused = false;
    *broken = false;
    parse_state ps = {.file = file, .diag = diag};
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    if (!ctxt || !ctxt->sax) {
        xmlFreeParserCtxt(ctxt);
        cf_diag_error(diag, file, 0, "out of memory while starting the XML parser");
        *refused = true;
        return CF_ERR_NOMEM;
    }
    ctxt->_private = &ps;
    xmlSAXHandlerPtr sax = ctxt->sax;
    sax->internalSubset = on_internal_subset;
    sax->externalSubset = on_internal_subset;
    sax->entityDecl = on_entity_decl;
    sax->resolveEntity = on_resolve_entity;
    sax->getEntity = on_get_entity;
    sax->getParameterEntity = on_get_entity;
    sax->startElementNs = on_start_element;
    sax->endElementNs = on_end_element;
    sax->serror = on_parse_error;

    /* No NOENT, DTDLOAD, DTDATTR, XINCLUDE or HUGE, ever. IGNORE_ENC with "UTF-8": the bytes
     * were checked to be UTF-8 above and are never converted from anything else. RECOVER:
     * a tree is kept after a well-formedness error so that every stage can report. */
    int options = XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_IGNORE_ENC | XML_PARSE_NOWARNING |
                  XML_PARSE_RECOVER;
    xmlDocPtr result = xmlCtxtReadMemory(ctxt, data, (int)len, file, "UTF-8", options);
    cf_status st = CF_OK;
    if (ps.refused) {
        st = ps.refusal; /* its message is in diag already */
        *refused = true;
        xmlFreeDoc(result);
        result = NULL;
    } else if (ps.errors || ps.eof_error || !result || !ctxt->wellFormed) {
        st = CF_ERR_DATA;
        if (ps.eof_error)
            cf_diag_error(diag, file, ps.eof_line, "%s", ps.eof_error);
        if (ps.errors > FORM_MAX_ERRORS)
            cf_diag_add(diag, CF_DIAG_NOTE, file, 0, 0,
                        "%zu more XML errors are not listed; fix these and validate again",
                        ps.errors - FORM_MAX_ERRORS);
        if (!ps.errors && !ps.eof_error)
            cf_diag_error(diag, file, 0, "the file is not well-formed XML");
        if (result && !xmlDocGetRootElement(result)) {
            xmlFreeDoc(result);
            result = NULL;
        }
    }
    *broken = ps.broken;
    cf_free(ps.eof_error);
    ctxt->_private = NULL;
    xmlFreeParserCtxt(ctxt);
    *doc = result;
    return st;
}

/* ======================================================================================== */
/* RELAX NG: the schema is parsed once per process (per path) and shared                    */
/* ======================================================================================== */

typedef struct schema_entry {
    char *path;
    xmlRelaxNGPtr schema;
    struct schema_entry *next;
} schema_entry;

/* Guards the cache and every validation: libxml2 does not promise that one parsed schema may
 * validate in two threads at once, and forms are small. */
static pthread_mutex_t schema_lock = PTHREAD_MUTEX_INITIALIZER;
static schema_entry *schema_cache;

typedef struct schema_errors {
    const char *file;
    cf_diag *diag;
    size_t count;
} schema_errors;

static void on_schema_parse_error(void *ctx, xmlErrorPtr err)
{
    schema_errors *se = ctx;
    if (!err || err->level == XML_ERR_WARNING)
        return;
    char text[MESSAGE_SIZE];
    cf_diag_error(se->diag, err->file ? err->file : se->file, err->line,
                  "the form schema is broken: %s", error_text(err, text, sizeof text));
    se->count++;
}

/* The parsed schema at path (cached); call with schema_lock held. */
static cf_status schema_get(const char *path, xmlRelaxNGPtr *out, cf_diag *diag)
{
    *out = NULL;
    for (schema_entry *e = schema_cache; e; e = e->next) {
        if (strcmp(e->path, path) == 0) {
            *out = e->schema;
            return CF_OK;
        }
    }
    if (access(path, R_OK) != 0) {
        cf_diag_error(diag, path, 0, "cannot read the form schema: %s", strerror(errno));
        return CF_ERR_NOINPUT;
    }
    schema_errors se = {.file = path, .diag = diag};
    xmlRelaxNGParserCtxtPtr pctxt = xmlRelaxNGNewParserCtxt(path);
    if (!pctxt) {
        cf_diag_error(diag, path, 0, "out of memory while reading the form schema");
        return CF_ERR_NOMEM;
    }
    xmlRelaxNGSetParserStructuredErrors(pctxt, on_schema_parse_error, &se);
    xmlRelaxNGPtr schema = xmlRelaxNGParse(pctxt);
    xmlRelaxNGFreeParserCtxt(pctxt);
    if (!schema) {
        if (se.count == 0)
            cf_diag_error(diag, path, 0, "the form schema cannot be loaded");
        return CF_ERR_INTERNAL;
    }
    schema_entry *entry = cf_calloc(1, sizeof *entry);
    char *copy = cf_strdup(path);
    if (!entry || !copy) {
        cf_free(entry);
        cf_free(copy);
        xmlRelaxNGFree(schema);
        cf_diag_error(diag, path, 0, "out of memory while reading the form schema");
        return CF_ERR_NOMEM;
    }
    entry->path = copy;
    entry->schema = schema;
    entry->next = schema_cache;
    schema_cache = entry;
    *out = schema;
    return CF_OK;
}

typedef struct rng_report {
    const char *file;
    cf_diag *specific; /* messages about one element or attribute */
    cf_diag *summary;  /* "element X failed to validate content": used only when alone */
} rng_report;

static long node_line(const xmlNode *node)
{
    if (!node)
        return 0;
    if (node->type == XML_ELEMENT_NODE && node->_private)
        return pos_line(node->_private);
    return xmlGetLineNo(node);
}

/* Column of an element's '<' (0 when unknown). */
static long node_col(const xmlNode *node)
{
    if (!node || node->type != XML_ELEMENT_NODE || !node->_private)
        return 0;
    return pos_col(node->_private);
}

static void on_validity_error(void *ctx, xmlErrorPtr err)
{
    rng_report *rr = ctx;
    if (!err || err->level == XML_ERR_WARNING)
        return;
    const xmlNode *node = err->node;
    long line = node ? node_line(node) : err->line;
    char text[MESSAGE_SIZE], a[QUOTE_SIZE], b[QUOTE_SIZE], detail[DETAIL_SIZE];
    const char *s1 = err->str1 ? err->str1 : "?";
    const char *s2 = err->str2 ? err->str2 : "?";
    error_text(err, detail, sizeof detail);
    cf_diag *to = rr->specific;
    switch (err->code) {
    case XML_RELAXNG_ERR_ELEMWRONG:
        snprintf(text, sizeof text, "<%s> is not allowed here", quote(s1, a));
        break;
    case XML_RELAXNG_ERR_NOELEM:
        snprintf(text, sizeof text, "an element <%s> is missing here", quote(s1, a));
        break;
    case XML_RELAXNG_ERR_ELEMNAME:
        snprintf(text, sizeof text, "expected <%s> here, found <%s>", quote(s1, a), quote(s2, b));
        break;
    case XML_RELAXNG_ERR_INVALIDATTR:
        snprintf(text, sizeof text, "%s does not take an attribute \"%s\"", quote(s2, b),
                 quote(s1, a));
        break;
    case XML_RELAXNG_ERR_TEXTWRONG:
        snprintf(text, sizeof text, "text is not allowed inside <%s>", quote(s1, a));
        break;
    case XML_RELAXNG_ERR_ELEMNOTEMPTY:
        snprintf(text, sizeof text, "<%s> must be empty", quote(s1, a));
        break;
    case XML_RELAXNG_ERR_ATTRVALID:
    case XML_RELAXNG_ERR_CONTENTVALID:
    case XML_RELAXNG_ERR_INTERSEQ:
    case XML_RELAXNG_ERR_EXTRACONTENT:
        to = rr->summary;
        snprintf(text, sizeof text, "does not match the form schema: %s", detail);
        break;
    default:
        snprintf(text, sizeof text, "does not match the form schema: %s", detail);
        break;
    }
    cf_diag_add(to, CF_DIAG_ERROR, rr->file, line, node ? node_col(node) : 0, "%s", text);
}

/* Validates doc; schema messages go to report (the caller decides whether to show them).
 * Returns an error only when the schema itself cannot be had. */
static cf_status validate(const char *schema_path, xmlDocPtr doc, rng_report *report, cf_diag *diag)
{
    pthread_mutex_lock(&schema_lock);
    xmlRelaxNGPtr schema;
    cf_status st = schema_get(schema_path, &schema, diag);
    if (st == CF_OK) {
        xmlRelaxNGValidCtxtPtr vctxt = xmlRelaxNGNewValidCtxt(schema);
        if (!vctxt) {
            cf_diag_error(diag, report->file, 0, "out of memory while validating the form");
            st = CF_ERR_NOMEM;
        } else {
            xmlRelaxNGSetValidStructuredErrors(vctxt, on_validity_error, report);
            int rc = xmlRelaxNGValidateDoc(vctxt, doc);
            xmlRelaxNGFreeValidCtxt(vctxt);
            if (rc != 0 && cf_diag_error_count(report->specific) == 0 &&
                cf_diag_error_count(report->summary) == 0)
                cf_diag_error(report->summary, report->file, 0,
                              "the form does not match the form schema");
        }
    }
    pthread_mutex_unlock(&schema_lock);
    return st;
}

/* ======================================================================================== */
/* Building the model, with precise structural checks                                       */
/* ======================================================================================== */

typedef struct builder {
    const char *file;
    cf_diag *diag; /* this stage's messages */
    cf_arena *arena;
    cf_form *form;
    struct cf_form_internal *internal;
    size_t errors;
    cf_status fatal;         /* CF_ERR_NOMEM or CF_ERR_LIMIT: stop at once */
    cf_inline_piece *pieces; /* scratch for the inline content of one element */
    size_t n_pieces, cap_pieces;
    cf_buf plain; /* scratch for text-only element content */
    cf_field *label_fields;
    size_t n_label_fields;
    cf_field *fill_fields;
    size_t n_fill_fields;
    bool checkable; /* the root is a <form>: the semantic checks may look at the model */
} builder;

static void vberror(builder *b, long line, long col, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

/* Reports one structural problem at line:col (col 0: the line only). */
static void vberror(builder *b, long line, long col, const char *fmt, va_list ap)
{
    if (b->errors >= FORM_MAX_ERRORS)
        return;
    cf_diag_vadd(b->diag, CF_DIAG_ERROR, b->file, line, col, fmt, ap);
    if (++b->errors == FORM_MAX_ERRORS) {
        cf_diag_add(b->diag, CF_DIAG_NOTE, b->file, 0, 0,
                    "stopped after %d problems; fix these and validate the form again",
                    FORM_MAX_ERRORS);
        if (!b->fatal)
            b->fatal = CF_ERR_DATA;
    }
}

static void berror(builder *b, long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void berror(builder *b, long line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vberror(b, line, 0, fmt, ap);
    va_end(ap);
}

static void berror_node(builder *b, const xmlNode *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Reports a problem at the start tag of n. */
static void berror_node(builder *b, const xmlNode *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vberror(b, node_line(n), node_col(n), fmt, ap);
    va_end(ap);
}

/* Records an arena failure once; the walk stops after it. */
static void arena_failed(builder *b)
{
    if (b->fatal)
        return;
    if (cf_arena_over_cap(b->arena)) {
        b->fatal = CF_ERR_LIMIT;
        berror(b, 0, "the form needs more than %u MiB of memory to load; split it",
               FORM_ARENA_CAP / (1024u * 1024u));
    } else {
        b->fatal = CF_ERR_NOMEM;
        berror(b, 0, "out of memory while loading the form");
    }
}

static void *balloc(builder *b, size_t count, size_t size)
{
    if (count == 0)
        count = 1;
    void *p = cf_arena_calloc(b->arena, count, size);
    if (!p)
        arena_failed(b);
    return p;
}

static const char *bstrdup(builder *b, const char *s)
{
    char *copy = cf_arena_strdup(b->arena, s);
    if (!copy)
        arena_failed(b);
    return copy;
}

static const char *name_of(const xmlNode *n)
{
    return (const char *)n->name;
}

static bool is_element(const xmlNode *n)
{
    return n->type == XML_ELEMENT_NODE;
}

static bool is_named(const xmlNode *n, const char *name)
{
    return is_element(n) && strcmp(name_of(n), name) == 0;
}

static bool is_text(const xmlNode *n)
{
    return n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE;
}

static bool blank(const char *s)
{
    for (; s && *s; s++)
        if (!ascii_space(*s))
            return false;
    return true;
}

/* Where an element belongs, for "not allowed here" messages (the content model says). */
static const char *home_of(const char *name)
{
    const cf_element_rule *rule = cf_content_model_find(name);
    return rule ? rule->home : NULL;
}

/* An element that may not stand where it is: unknown, or known but misplaced. */
static void bad_child(builder *b, const xmlNode *parent, const xmlNode *child)
{
    char c[QUOTE_SIZE];
    const char *home = home_of(name_of(child));
    if (home)
        berror_node(b, child, "<%s> is not allowed inside <%s> (it belongs in %s)",
                    quote(name_of(child), c), name_of(parent), home);
    else
        berror_node(b, child, "unknown element <%s> inside <%s>", quote(name_of(child), c),
                    name_of(parent));
}

/* Reports text where only elements may stand (once per parent). */
static void no_text(builder *b, const xmlNode *parent)
{
    for (const xmlNode *c = parent->children; c; c = c->next) {
        if (!is_text(c) || blank((const char *)c->content))
            continue;
        /* Quote the text up to its first line break. */
        char excerpt[QUOTE_SIZE], line_text[QUOTE_SIZE];
        const char *s = (const char *)c->content;
        while (ascii_space(*s))
            s++;
        size_t n = 0;
        while (s[n] && s[n] != '\n' && s[n] != '\r' && n < sizeof line_text - 1)
            n++;
        while (n > 0 && ascii_space(s[n - 1]))
            n--;
        memcpy(line_text, s, n);
        line_text[n] = '\0';
        s = line_text;
        long line = c->line > 0 && c->line < 65535 ? (long)c->line : node_line(parent);
        bool blocks = strcmp(name_of(parent), "section") == 0;
        berror(b, line, "text \"%s\" is not allowed directly inside <%s>%s", quote(s, excerpt),
               name_of(parent), blocks ? "; put it in a <p>" : "");
        return;
    }
}

/* An element that takes attributes only. */
static void expect_empty(builder *b, const xmlNode *n)
{
    for (const xmlNode *c = n->children; c; c = c->next)
        if (is_element(c))
            bad_child(b, n, c);
    for (const xmlNode *c = n->children; c; c = c->next) {
        if (is_text(c) && !blank((const char *)c->content)) {
            berror_node(b, n, "<%s> takes no text, only attributes; write <%s .../>", name_of(n),
                        name_of(n));
            return;
        }
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Attributes                                                                               */
/* ---------------------------------------------------------------------------------------- */

typedef cf_attr_spec attr_spec; /* the content model's (content_model.h) */

static bool is_lower(char c)
{
    return c >= 'a' && c <= 'z';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool matches_id(const char *s)
{
    if (!is_lower(*s) && !is_digit(*s))
        return false;
    for (s++; *s; s++)
        if (!is_lower(*s) && !is_digit(*s) && *s != '-')
            return false;
    return true;
}

static bool matches_key(const char *s)
{
    if (!is_lower(*s))
        return false;
    for (s++; *s; s++)
        if (!is_lower(*s) && !is_digit(*s) && *s != '_')
            return false;
    return true;
}

/* One or more groups of digits separated by single dots (dotted is false: no dots at all). */
static bool matches_dotted_digits(const char *s, bool dotted, size_t max_groups)
{
    size_t groups = 0;
    for (;;) {
        if (!is_digit(*s))
            return false;
        while (is_digit(*s))
            s++;
        groups++;
        if (*s == '\0')
            return true;
        if (*s != '.' || !dotted || groups >= max_groups)
            return false;
        s++;
    }
}

static bool matches_start(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 6 || s[0] == '0')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_digit(s[i]))
            return false;
    return true;
}

static bool matches_lang(const char *s)
{
    size_t n = 0;
    while (is_alpha(s[n]))
        n++;
    if (n < 2 || n > 3)
        return false;
    s += n;
    while (*s == '-') {
        s++;
        n = 0;
        while (is_alpha(s[n]) || is_digit(s[n]))
            n++;
        if (n < 1 || n > 8)
            return false;
        s += n;
    }
    return *s == '\0';
}

static bool parse_bool(const char *s)
{
    return strcmp(s, "true") == 0;
}

/* Locale-independent parse of a width matching [0-9]+(.[0-9]+)? (strtod would follow the
 * locale's decimal separator). */
static double parse_width(const char *s)
{
    double value = 0.0;
    for (; is_digit(*s); s++)
        value = value * 10.0 + (double)(*s - '0');
    if (*s == '.') {
        double scale = 0.1;
        for (s++; is_digit(*s); s++) {
            value += (double)(*s - '0') * scale;
            scale /= 10.0;
        }
    }
    return value;
}

static unsigned parse_start(const char *s)
{
    unsigned value = 0;
    for (; is_digit(*s); s++)
        value = value * 10u + (unsigned)(*s - '0');
    return value;
}

/* "a, b, c" from a NULL-terminated list. */
static void list_values(const char *const *values, char *out, size_t size)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; values[i]; i++) {
        int w = snprintf(out + n, size - n, "%s%s", i ? ", " : "", values[i]);
        if (w < 0 || (size_t)w >= size - n)
            return;
        n += (size_t)w;
    }
}

/* The attribute's name as written: "xml:lang", "prefix:name" or "name". */
static const char *attr_name(const xmlAttr *a, char *out, size_t size)
{
    if (a->ns && a->ns->href && xmlStrEqual(a->ns->href, XML_XML_NAMESPACE))
        snprintf(out, size, "xml:%s", (const char *)a->name);
    else if (a->ns && a->ns->prefix)
        snprintf(out, size, "%s:%s", (const char *)a->ns->prefix, (const char *)a->name);
    else
        snprintf(out, size, "%s", (const char *)a->name);
    return out;
}

/* The attribute's value; NULL only when out of memory. */
static const char *attr_raw(builder *b, const xmlAttr *a)
{
    const xmlNode *t = a->children;
    if (!t)
        return "";
    if (t->type == XML_TEXT_NODE && !t->next && t->content)
        return (const char *)t->content;
    xmlChar *s = xmlNodeListGetString(a->doc, t, 1);
    if (!s) {
        arena_failed(b);
        return NULL;
    }
    const char *copy = bstrdup(b, (const char *)s);
    xmlFree(s);
    return copy;
}

/* Checks one value against its spec; false (message given) when it does not fit. */
static bool check_value(builder *b, const xmlNode *n, const attr_spec *spec, const char *value)
{
    char v[QUOTE_SIZE], list[256];
    const char *el = name_of(n);
    quote(value, v);
    switch (spec->kind) {
    case CF_ATTR_TEXT:
        return true; /* checked after normalisation */
    case CF_ATTR_ENUM:
        for (size_t i = 0; spec->values[i]; i++)
            if (strcmp(value, spec->values[i]) == 0)
                return true;
        list_values(spec->values, list, sizeof list);
        berror_node(b, n, "%s has %s \"%s\"; use one of %s", el, spec->name, v, list);
        return false;
    case CF_ATTR_ID:
        if (matches_id(value))
            return true;
        berror_node(
            b, n,
            "%s has %s \"%s\"; an id is lower-case letters, digits and \"-\", starting with "
            "a letter or digit",
            el, spec->name, v);
        return false;
    case CF_ATTR_KEY:
        if (matches_key(value))
            return true;
        berror_node(
            b, n,
            "%s has %s \"%s\"; a key is a lower-case letter followed by lower-case letters, "
            "digits or \"_\"",
            el, spec->name, v);
        return false;
    case CF_ATTR_VERSION:
        if (matches_dotted_digits(value, true, 16))
            return true;
        berror_node(b, n, "%s has %s \"%s\"; a version is digits and dots, e.g. 1.0", el,
                    spec->name, v);
        return false;
    case CF_ATTR_DATE:
        if (cf_date_has_shape(value))
            return true;
        berror_node(b, n, "%s has %s \"%s\"; write a date as YYYY-MM-DD, e.g. 2024-05-01", el,
                    spec->name, v);
        return false;
    case CF_ATTR_START:
        if (matches_start(value))
            return true;
        berror_node(b, n, "%s has %s \"%s\"; use a whole number from 1 to 999999", el, spec->name,
                    v);
        return false;
    case CF_ATTR_WIDTH:
        if (matches_dotted_digits(value, true, 2) && parse_width(value) > 0.0 &&
            parse_width(value) < 1e6)
            return true;
        berror_node(b, n, "%s has %s \"%s\"; a width is a number above 0, such as 1 or 2.5", el,
                    spec->name, v);
        return false;
    case CF_ATTR_PATTERN: {
        regex_t re;
        int rc = value[0] ? regcomp(&re, value, REG_EXTENDED | REG_NOSUB) : REG_BADPAT;
        if (rc == 0) {
            regfree(&re);
            return true;
        }
        char why[128] = "it is empty";
        if (value[0])
            regerror(rc, NULL, why, sizeof why);
        berror_node(b, n,
                    "%s has %s \"%s\", which is not a POSIX extended regular expression (%s); e.g. "
                    "pattern=\"HN[0-9]{8}\\([0-9A]\\)\"",
                    el, spec->name, v, why);
        return false;
    }
    case CF_ATTR_LANG:
        if (matches_lang(value))
            return true;
        berror_node(b, n, "%s has %s \"%s\"; use a language tag such as en or zh-Hant", el,
                    spec->name, v);
        return false;
    }
    return false;
}

/* Reads n's attributes against specs: unknown ones, missing required ones and wrong values
 * are reported. values[i] is the checked value of specs[i] (CF_ATTR_TEXT: normalised, in the
 * arena; others: as written, valid while the tree lives) or NULL when absent or wrong. */
static void read_attrs(builder *b, const xmlNode *n, const attr_spec *specs, size_t n_specs,
                       const char **values)
{
    long line = node_line(n);
    for (size_t i = 0; i < n_specs; i++)
        values[i] = NULL;
    for (const xmlAttr *a = n->properties; a && !b->fatal; a = a->next) {
        char name[QUOTE_SIZE];
        attr_name(a, name, sizeof name);
        size_t i = 0;
        while (i < n_specs && strcmp(specs[i].name, name) != 0)
            i++;
        if (i == n_specs) {
            char allowed[256] = "";
            size_t len = 0;
            for (size_t k = 0; k < n_specs; k++) {
                int w = snprintf(allowed + len, sizeof allowed - len, "%s%s", k ? ", " : "",
                                 specs[k].name);
                if (w < 0 || (size_t)w >= sizeof allowed - len)
                    break;
                len += (size_t)w;
            }
            if (n_specs)
                berror_node(b, n, "%s does not take an attribute \"%s\" (it takes %s)", name_of(n),
                            name, allowed);
            else
                berror_node(b, n, "%s does not take an attribute \"%s\" (it takes none)",
                            name_of(n), name);
            continue;
        }
        const char *raw = attr_raw(b, a);
        if (!raw)
            return;
        if (!check_value(b, n, &specs[i], raw))
            continue;
        if (specs[i].kind == CF_ATTR_TEXT) {
            const char *text;
            cf_status st = cf_form_text_plain(b->arena, raw, strlen(raw), b->file, line, name_of(n),
                                              b->diag, &text);
            if (st == CF_ERR_DATA) {
                b->errors++;
                continue;
            }
            if (st) {
                b->fatal = st;
                return;
            }
            if (text[0] == '\0') {
                berror_node(b, n, "%s has an empty %s; write the text to print", name_of(n),
                            specs[i].name);
                continue;
            }
            values[i] = text;
        } else {
            values[i] = raw;
        }
    }
    for (size_t i = 0; i < n_specs; i++) {
        if (!specs[i].required)
            continue;
        bool present = false;
        for (const xmlAttr *a = n->properties; a && !present; a = a->next) {
            char name[QUOTE_SIZE];
            present = strcmp(attr_name(a, name, sizeof name), specs[i].name) == 0;
        }
        if (!present)
            berror_node(b, n, "%s is missing the required attribute \"%s\"", name_of(n),
                        specs[i].name);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* The content model: containment, order, counts and attributes from one table               */
/* ---------------------------------------------------------------------------------------- */

#define MAX_CHILD_RULES 16
#define MAX_ATTRS 10 /* attributes of one element in the table */

/* The row of element n in the content model: its parents decide (an <li> of <instructions>
 * takes applies-to, one of <ul> does not). NULL where some ancestor may not contain it. */
static const cf_element_rule *rule_of(const xmlNode *n)
{
    if (!n || !is_element(n))
        return NULL;
    const xmlNode *parent = n->parent && is_element(n->parent) ? n->parent : NULL;
    if (!parent)
        return cf_content_model_child(NULL, name_of(n));
    const cf_element_rule *outer = rule_of(parent);
    return outer ? cf_content_model_child(outer, name_of(n)) : NULL;
}

/* Reads n's attributes as its row of the table lists them: values[i] for rule->attrs[i]. */
static const cf_element_rule *read_own_attrs(builder *b, const xmlNode *n, const char **values,
                                             size_t n_values)
{
    for (size_t i = 0; i < n_values; i++)
        values[i] = NULL;
    const cf_element_rule *rule = rule_of(n);
    /* Never: the builder walks only what the model allows, with room for its attributes. */
    if (!rule || (rule->n_attrs > 0 && (values == NULL || n_values < rule->n_attrs))) {
        berror(b, node_line(n),
               "internal error: this element has no row of its own in the "
               "content model");
        return NULL;
    }
    if (rule->n_attrs > 0)
        read_attrs(b, n, rule->attrs, rule->n_attrs, values);
    else
        read_attrs(b, n, NULL, 0, NULL);
    return rule;
}

/* "<a>, <b> and <c>" of a row's children, for the out-of-order message. */
static void list_children(const cf_element_rule *rule, char *out, size_t size)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < rule->n_children; i++) {
        const char *sep = i == 0 ? "" : i + 1 == rule->n_children ? " and " : ", ";
        int w = snprintf(out + len, size - len, "%s<%s>", sep, rule->children[i].name);
        if (w < 0 || (size_t)w >= size - len)
            return;
        len += (size_t)w;
    }
}

/* Checks what n holds against its row: for elements-only content, text between them, unknown
 * or misplaced children, children given more often than allowed, out of order, or missing;
 * for empty content, anything at all. Text and inline content are read by build_plain and
 * build_inline. */
static void check_content(builder *b, const xmlNode *n, const cf_element_rule *rule)
{
    if (!rule)
        return;
    if (rule->content == CF_CONTENT_EMPTY) {
        expect_empty(b, n);
        return;
    }
    if (rule->content != CF_CONTENT_ELEMENTS)
        return;
    no_text(b, n);
    long first[MAX_CHILD_RULES] = {0};
    unsigned count[MAX_CHILD_RULES] = {0};
    size_t last = 0;
    for (const xmlNode *c = n->children; c && !b->fatal; c = c->next) {
        if (!is_element(c))
            continue;
        size_t k = 0;
        while (k < rule->n_children && strcmp(rule->children[k].name, name_of(c)) != 0)
            k++;
        if (k == rule->n_children || k >= MAX_CHILD_RULES) {
            bad_child(b, n, c);
            continue;
        }
        const cf_child_rule *cr = &rule->children[k];
        if (cr->max && count[k] >= cr->max) {
            if (cr->max == 1)
                berror_node(b, c, "<%s> is given twice in <%s> (first on line %ld)", cr->name,
                            rule->name, first[k]);
            else
                berror_node(b, c, "<%s> holds at most %u <%s>", rule->name, cr->max, cr->name);
            continue;
        }
        if (count[k]++ == 0)
            first[k] = node_line(c);
        if (rule->ordered && k < last) {
            char order[256];
            list_children(rule, order, sizeof order);
            berror_node(b, c, "<%s> is out of order: <%s> holds %s in that order", cr->name,
                        rule->name, order);
            continue;
        }
        last = k;
    }
    for (size_t k = 0; k < rule->n_children && k < MAX_CHILD_RULES && !b->fatal; k++) {
        const cf_child_rule *cr = &rule->children[k];
        if (count[k] < cr->min)
            berror_node(b, n, "<%s> has no <%s>%s", rule->name, cr->name,
                        cr->missing_hint ? cr->missing_hint : "; give it at least one");
    }
}

/* The first child element of n named name, or NULL. */
static const xmlNode *first_child(const xmlNode *n, const char *name)
{
    for (const xmlNode *c = n->children; c; c = c->next)
        if (is_named(c, name))
            return c;
    return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Text                                                                                      */
/* ---------------------------------------------------------------------------------------- */

static void push_piece(builder *b, const char *text, size_t len, const char *field, bool bold)
{
    if (b->fatal)
        return;
    if (b->n_pieces == b->cap_pieces) {
        cf_inline_piece *grown =
            cf_grow_array(b->pieces, &b->cap_pieces, b->n_pieces + 1, sizeof *grown, 16);
        if (!grown) {
            b->fatal = CF_ERR_NOMEM;
            berror(b, 0, "out of memory while loading the form");
            return;
        }
        b->pieces = grown;
    }
    b->pieces[b->n_pieces++] =
        (cf_inline_piece){.text = text, .len = len, .field = field, .bold = bold};
}

/* Collects the inline content of n: text, <b> (not nested) and <field ref="KEY"/>. */
static void collect_inline(builder *b, const xmlNode *holder, const xmlNode *n, bool bold)
{
    for (const xmlNode *c = n->children; c && !b->fatal; c = c->next) {
        if (is_text(c)) {
            const char *s = (const char *)c->content;
            if (s)
                push_piece(b, s, strlen(s), NULL, bold);
        } else if (is_named(c, "b")) {
            if (bold)
                berror_node(b, c, "<b> inside <b>: bold text does not nest");
            read_own_attrs(b, c, NULL, 0);
            collect_inline(b, holder, c, true);
        } else if (is_named(c, "field")) {
            const char *values[1]; /* ref */
            check_content(b, c, read_own_attrs(b, c, values, sizeof values / sizeof *values));
            if (values[0]) {
                const char *key = bstrdup(b, values[0]);
                if (key)
                    push_piece(b, NULL, 0, key, bold);
            }
        } else if (is_element(c)) {
            char name[QUOTE_SIZE];
            if (home_of(name_of(c)))
                berror_node(b, c,
                            "<%s> is not allowed inside <%s>; text there may hold only <b> and "
                            "<field ref=\"…\"/>",
                            quote(name_of(c), name), name_of(holder));
            else
                berror_node(b, c, "unknown element <%s> inside <%s>", quote(name_of(c), name),
                            name_of(holder));
        }
    }
}

/* The inline content of n as a normalised text; NULL after an error. lang may be NULL. */
static const cf_text *build_inline(builder *b, const xmlNode *n, const char *lang, bool allow_empty)
{
    b->n_pieces = 0;
    collect_inline(b, n, n, false);
    if (b->fatal)
        return NULL;
    cf_text *text = balloc(b, 1, sizeof *text);
    if (!text)
        return NULL;
    text->line = node_line(n);
    if (lang && !(text->lang = bstrdup(b, lang)))
        return NULL;
    cf_status st = cf_form_text_spans(b->arena, b->pieces, b->n_pieces, b->file, text->line,
                                      name_of(n), b->diag, &text->spans, &text->n_spans);
    if (st == CF_ERR_DATA) {
        b->errors++;
        return NULL;
    }
    if (st) {
        b->fatal = st;
        return NULL;
    }
    if (!allow_empty && text->n_spans == 0)
        berror_node(b, n, "<%s> is empty; write its text or remove it", name_of(n));
    return text;
}

/* The content of a text-only element (no attributes, no child elements); NULL after an
 * error. An empty result is an error unless allow_empty. */
static const char *build_plain(builder *b, const xmlNode *n, bool allow_empty)
{
    read_attrs(b, n, NULL, 0, NULL);
    cf_buf_reset(&b->plain);
    bool ok = true;
    for (const xmlNode *c = n->children; c; c = c->next) {
        if (is_text(c) && c->content) {
            if (cf_buf_append_str(&b->plain, (const char *)c->content)) {
                b->fatal = CF_ERR_NOMEM;
                berror_node(b, n, "out of memory while loading the form");
                return NULL;
            }
        } else if (is_element(c)) {
            char name[QUOTE_SIZE];
            berror_node(b, c, "<%s> holds plain text only; <%s> is not allowed inside it",
                        name_of(n), quote(name_of(c), name));
            ok = false;
        }
    }
    if (!ok)
        return NULL;
    const char *text;
    cf_status st = cf_form_text_plain(b->arena, b->plain.data ? b->plain.data : "", b->plain.len,
                                      b->file, node_line(n), name_of(n), b->diag, &text);
    if (st == CF_ERR_DATA) {
        b->errors++;
        return NULL;
    }
    if (st) {
        b->fatal = st;
        return NULL;
    }
    if (!allow_empty && text[0] == '\0') {
        berror_node(b, n, "<%s> is empty; write its text or remove it", name_of(n));
        return NULL;
    }
    return text;
}

/* Counts the element children of n named name (all element children when name is NULL). */
static size_t count_children(const xmlNode *n, const char *name)
{
    size_t count = 0;
    for (const xmlNode *c = n->children; c; c = c->next)
        if (is_element(c) && (!name || is_named(c, name)))
            count++;
    return count;
}

/* The items (<li>, <ref>, a note's <p>) of n, whose content check_content has judged: each
 * item's attributes as its row lists them. When extra_name is given, *extra_values gets each
 * item's value of that attribute (NULL where absent), in the arena. */
static void build_items(builder *b, const xmlNode *n, const char *item_name, const char *extra_name,
                        const char *const **extra_values, const cf_text *const **items,
                        size_t *n_items)
{
    *items = NULL;
    *n_items = 0;
    if (extra_values)
        *extra_values = NULL;
    size_t count = count_children(n, item_name);
    if (count == 0)
        return;
    const cf_text **array = balloc(b, count, sizeof *array);
    const char **extras = extra_name ? balloc(b, count, sizeof *extras) : NULL;
    if (!array || (extra_name && !extras))
        return;
    size_t k = 0;
    for (const xmlNode *c = n->children; c && !b->fatal; c = c->next) {
        if (!is_named(c, item_name))
            continue;
        const char *values[MAX_ATTRS] = {NULL};
        const cf_element_rule *rule = read_own_attrs(b, c, values, sizeof values / sizeof *values);
        size_t at = 0;
        const char *lang = cf_content_model_attr(rule, "xml:lang", &at) ? values[at] : NULL;
        const char *more =
            extra_name && cf_content_model_attr(rule, extra_name, &at) ? values[at] : NULL;
        const cf_text *text = build_inline(b, c, lang, false);
        if (!text)
            continue;
        if (extras) {
            extras[k] = more ? bstrdup(b, more) : NULL;
            if (more && !extras[k])
                return;
        }
        array[k++] = text;
    }
    *items = array;
    *n_items = k;
    if (extra_values)
        *extra_values = extras;
}

/* ---------------------------------------------------------------------------------------- */
/* Blocks                                                                                    */
/* ---------------------------------------------------------------------------------------- */

static void build_table(builder *b, const xmlNode *n, cf_table *table)
{
    check_content(b, n, read_own_attrs(b, n, NULL, 0));
    size_t n_cols = count_children(n, "col"), n_rows = count_children(n, "row");
    double *widths_given = balloc(b, n_cols, sizeof *widths_given);
    const cf_text ***rows = balloc(b, n_rows, sizeof *rows);
    if (!widths_given || !rows)
        return;
    const cf_text **header = NULL;
    size_t cols_seen = 0, rows_seen = 0, columns = 0;
    long first_row_line = 0;
    bool thead_seen = false;

    for (const xmlNode *c = n->children; c && !b->fatal; c = c->next) {
        if (is_named(c, "col")) {
            const char *width;
            check_content(b, c, read_own_attrs(b, c, &width, 1));
            widths_given[cols_seen++] = width ? parse_width(width) : 1.0;
            continue;
        }
        const xmlNode *row = c;
        bool is_head = is_named(c, "thead");
        if (is_head) {
            if (thead_seen) /* reported by check_content */
                continue;
            thead_seen = true;
            check_content(b, c, read_own_attrs(b, c, NULL, 0));
            if (count_children(c, "row") != 1)
                continue;
            row = first_child(c, "row");
            if (row == NULL)
                continue;
        } else if (!is_named(c, "row")) {
            continue;
        }
        /* A row: its cells. */
        check_content(b, row, read_own_attrs(b, row, NULL, 0));
        size_t n_cells = count_children(row, "cell");
        const cf_text **cells = balloc(b, n_cells, sizeof *cells);
        if (!cells)
            return;
        size_t k = 0;
        for (const xmlNode *cell = row->children; cell && !b->fatal; cell = cell->next) {
            if (!is_named(cell, "cell"))
                continue;
            read_own_attrs(b, cell, NULL, 0);
            const cf_text *text = build_inline(b, cell, NULL, /*allow_empty*/ true);
            if (text)
                cells[k++] = text;
        }
        if (n_cells == 0)
            continue;
        if (columns == 0) {
            columns = n_cells;
            first_row_line = node_line(row);
        } else if (n_cells != columns) {
            berror_node(b, row,
                        "this row has %zu cells but the table's first row (line %ld) has %zu; "
                        "every row needs the same number",
                        n_cells, first_row_line, columns);
            continue;
        }
        if (is_head)
            header = cells;
        else
            rows[rows_seen++] = cells;
    }
    if (b->fatal || n_rows == 0)
        return;
    if (cols_seen && columns && cols_seen != columns) {
        berror_node(b, n, "the table gives %zu <col> widths but has %zu columns", cols_seen,
                    columns);
        return;
    }
    double *widths = balloc(b, columns, sizeof *widths);
    if (!widths)
        return;
    double sum = 0.0;
    for (size_t i = 0; i < columns; i++)
        sum += cols_seen ? widths_given[i] : 1.0;
    for (size_t i = 0; i < columns; i++)
        widths[i] = (cols_seen ? widths_given[i] : 1.0) / sum;
    table->n_columns = columns;
    table->header = header;
    table->rows = (const cf_text *const *const *)rows;
    table->n_rows = rows_seen;
    table->widths = widths;
}

static void build_checkboxes(builder *b, const xmlNode *n, cf_block *block)
{
    const char *field;
    check_content(b, n, read_own_attrs(b, n, &field, 1));
    if (field)
        block->u.checkboxes.field = bstrdup(b, field);
    const xmlNode *prompt = first_child(n, "prompt");
    if (prompt) {
        read_own_attrs(b, prompt, NULL, 0);
        block->u.checkboxes.prompt = build_inline(b, prompt, NULL, false);
    }
}

static void build_note(builder *b, const xmlNode *n, cf_note *note)
{
    const char *values[3]; /* kind, title, applies-to */
    check_content(b, n, read_own_attrs(b, n, values, sizeof values / sizeof *values));
    if (values[2] && !(note->applies_to = bstrdup(b, values[2])))
        return;
    note->kind = values[0] && strcmp(values[0], "warning") == 0 ? CF_NOTE_WARNING : CF_NOTE_INFO;
    note->title = values[1];
    build_items(b, n, "p", NULL, NULL, &note->paragraphs, &note->n_paragraphs);
}

/* Splits cites="id id ..." (already normalised: single spaces) into risk->cites; each must be
 * an id (whether it names a <ref> is a semantic check). */
static void read_cites(builder *b, const xmlNode *n, const char *list, cf_risk *risk)
{
    size_t count = 1;
    for (const char *p = list; *p; p++)
        count += *p == ' ';
    const char **ids = balloc(b, count, sizeof *ids);
    size_t len = strlen(list);
    char *copy = balloc(b, len + 1, 1);
    if (!ids || !copy)
        return;
    memcpy(copy, list, len + 1);
    size_t k = 0;
    for (char *p = copy; p && *p;) {
        char *space = strchr(p, ' ');
        if (space)
            *space = '\0';
        if (!matches_id(p)) {
            char v[QUOTE_SIZE];
            berror_node(b, n,
                        "risk has cites=\"%s\"; cite references by their ids (lower-case letters, "
                        "digits and \"-\"), separated by spaces",
                        quote(list, v));
            return;
        }
        ids[k++] = p;
        p = space ? space + 1 : NULL;
    }
    risk->cites = ids;
    risk->n_cites = k;
}

static void build_risks(builder *b, const xmlNode *n, cf_risks *risks)
{
    check_content(b, n, read_own_attrs(b, n, NULL, 0));
    size_t count = count_children(n, "risk");
    if (count == 0)
        return;
    cf_risk *array = balloc(b, count, sizeof *array);
    if (!array)
        return;
    size_t k = 0;
    for (const xmlNode *c = n->children; c && !b->fatal; c = c->next) {
        if (!is_named(c, "risk"))
            continue;
        const char *values[4]; /* frequency, rate, applies-to, cites */
        read_own_attrs(b, c, values, sizeof values / sizeof *values);
        cf_risk *risk = &array[k];
        if (values[3])
            read_cites(b, c, values[3], risk);
        risk->line = node_line(c);
        risk->text = build_inline(b, c, NULL, false);
        if (!values[0] || !risk->text)
            continue;
        cf_frequency_parse(values[0], &risk->frequency);
        risk->rate = values[1];
        if (values[2] && !(risk->applies_to = bstrdup(b, values[2])))
            return;
        k++;
    }
    risks->risks = array;
    risks->n_risks = k;
}

static void build_signatures(builder *b, const xmlNode *n, cf_block *block)
{
    check_content(b, n, read_own_attrs(b, n, NULL, 0));
    size_t count = count_children(n, "signature");
    if (count == 0)
        return;
    cf_signature_block *array = balloc(b, count, sizeof *array);
    if (!array)
        return;
    size_t k = 0;
    for (const xmlNode *c = n->children; c && !b->fatal; c = c->next) {
        if (!is_named(c, "signature"))
            continue;
        /* role, caption, sign, date, name, time, relationship, language, required */
        const char *values[9];
        check_content(b, c, read_own_attrs(b, c, values, sizeof values / sizeof *values));
        cf_signature_block *sig = &array[k];
        sig->line = node_line(c);
        const xmlNode *statement = first_child(c, "statement");
        if (statement) {
            read_own_attrs(b, statement, NULL, 0);
            sig->statement = build_inline(b, statement, NULL, false);
        }
        if (!values[0] || !values[1] || !values[2] || !values[3])
            continue;
        for (size_t r = 0; cf_model_role_values[r]; r++)
            if (strcmp(values[0], cf_model_role_values[r]) == 0)
                sig->role = (cf_signer_role)r;
        sig->caption = values[1];
        sig->signature_caption = values[2];
        sig->date_caption = values[3];
        sig->name_caption = values[4];
        sig->time_caption = values[5];
        sig->relationship_caption = values[6];
        sig->language_caption = values[7];
        sig->required = values[8] ? bstrdup(b, values[8]) : NULL;
        k++;
    }
    block->u.signatures.blocks = array;
    block->u.signatures.n_blocks = k;
}

/* One block of a section; false when n is not a block element. */
static bool build_block(builder *b, const xmlNode *n, cf_block *block)
{
    const char *name = name_of(n);
    block->line = node_line(n);
    const char *values[MAX_ATTRS] = {NULL};
    if (strcmp(name, "h") == 0) {
        block->kind = CF_BLOCK_HEADING;
        read_own_attrs(b, n, NULL, 0);
        block->u.text = build_inline(b, n, NULL, false);
    } else if (strcmp(name, "p") == 0) {
        block->kind = CF_BLOCK_PARAGRAPH;
        read_own_attrs(b, n, values, sizeof values / sizeof *values);
        block->u.text = build_inline(b, n, values[0], false);
    } else if (strcmp(name, "ul") == 0) {
        block->kind = CF_BLOCK_BULLETS;
        check_content(b, n, read_own_attrs(b, n, NULL, 0));
        build_items(b, n, "li", NULL, NULL, &block->u.list.items, &block->u.list.n_items);
    } else if (strcmp(name, "ol") == 0 || strcmp(name, "declarations") == 0) {
        block->kind = name[0] == 'o' ? CF_BLOCK_NUMBERED : CF_BLOCK_DECLARATIONS;
        check_content(b, n, read_own_attrs(b, n, values, sizeof values / sizeof *values));
        block->u.list.start = values[0] ? parse_start(values[0]) : 1u;
        build_items(b, n, "li", NULL, NULL, &block->u.list.items, &block->u.list.n_items);
    } else if (strcmp(name, "references") == 0) {
        block->kind = CF_BLOCK_REFERENCES;
        check_content(b, n, read_own_attrs(b, n, NULL, 0));
        build_items(b, n, "ref", "id", &block->u.list.ids, &block->u.list.items,
                    &block->u.list.n_items);
    } else if (strcmp(name, "table") == 0) {
        block->kind = CF_BLOCK_TABLE;
        build_table(b, n, &block->u.table);
    } else if (strcmp(name, "checkboxes") == 0) {
        block->kind = CF_BLOCK_CHECKBOXES;
        build_checkboxes(b, n, block);
    } else if (strcmp(name, "note") == 0) {
        block->kind = CF_BLOCK_NOTE;
        build_note(b, n, &block->u.note);
    } else if (strcmp(name, "risks") == 0) {
        block->kind = CF_BLOCK_RISKS;
        build_risks(b, n, &block->u.risks);
    } else if (strcmp(name, "instructions") == 0) {
        block->kind = CF_BLOCK_INSTRUCTIONS;
        check_content(b, n, read_own_attrs(b, n, values, sizeof values / sizeof *values));
        block->u.instructions.when =
            values[0] && strcmp(values[0], "after") == 0 ? CF_WHEN_AFTER : CF_WHEN_BEFORE;
        build_items(b, n, "li", "applies-to", &block->u.instructions.applies_to,
                    &block->u.instructions.items, &block->u.instructions.n_items);
    } else if (strcmp(name, "signatures") == 0) {
        block->kind = CF_BLOCK_SIGNATURES;
        build_signatures(b, n, block);
    } else {
        return false;
    }
    return true;
}

static void build_section(builder *b, const xmlNode *n, cf_section *section)
{
    const char *values[3]; /* id, title, role */
    const cf_element_rule *rule = read_own_attrs(b, n, values, sizeof values / sizeof *values);
    section->line = node_line(n);
    if (values[0])
        section->id = bstrdup(b, values[0]);
    section->title = values[1];
    section->role = CF_SECTION_BODY;
    for (size_t r = 0; values[2] && cf_model_section_role_values[r]; r++)
        if (strcmp(values[2], cf_model_section_role_values[r]) == 0)
            section->role = (cf_section_role)r;
    check_content(b, n, rule);
    size_t count = count_children(n, NULL);
    cf_block *blocks = balloc(b, count, sizeof *blocks);
    if (!blocks)
        return;
    size_t k = 0;
    for (const xmlNode *c = n->children; c && !b->fatal; c = c->next)
        if (is_element(c) && cf_content_model_child(rule, name_of(c)) &&
            build_block(b, c, &blocks[k]))
            k++;
    section->blocks = blocks;
    section->n_blocks = k;
}

/* ---------------------------------------------------------------------------------------- */
/* Form, metadata, label, fields, bands, body                                               */
/* ---------------------------------------------------------------------------------------- */

static void build_meta(builder *b, const xmlNode *n)
{
    cf_form *form = b->form;
    check_content(b, n, read_own_attrs(b, n, NULL, 0));
    const xmlNode *c;
    if ((c = first_child(n, "title")))
        form->title = build_plain(b, c, false);
    if ((c = first_child(n, "subtitle")))
        form->subtitle = build_plain(b, c, false);
    if ((c = first_child(n, "source")))
        form->source = build_plain(b, c, false);
    if ((c = first_child(n, "status"))) {
        const char *values[3]; /* state, by, date */
        size_t errors_before = b->errors;
        const cf_element_rule *rule = read_own_attrs(b, c, values, sizeof values / sizeof *values);
        b->internal->status_bad = b->errors != errors_before;
        check_content(b, c, rule);
        b->internal->status_line = node_line(c);
        for (size_t i = 0; values[0] && cf_model_state_values[i]; i++)
            if (strcmp(values[0], cf_model_state_values[i]) == 0)
                form->state = (cf_form_state)i;
        /* An approved form names who approved it and when; a retired one may keep that. */
        if (form->state == CF_FORM_STATE_APPROVED || form->state == CF_FORM_STATE_RETIRED) {
            form->approved_by = values[1];
            if (values[2])
                form->approved_date = bstrdup(b, values[2]);
        } else if (values[0] && (values[1] || values[2])) {
            berror_node(b, c,
                        "status is \"%s\" but names %s; only an approved form has by and date "
                        "(set state=\"approved\" or remove them)",
                        values[0],
                        values[1] && values[2] ? "by and date"
                        : values[1]            ? "by"
                                               : "date");
        }
    }
    static const char *const dates[] = {"effective", "review-by"};
    for (size_t i = 0; i < 2 && !b->fatal; i++) {
        if (!(c = first_child(n, dates[i])))
            continue;
        const char *date = build_plain(b, c, false);
        char v[QUOTE_SIZE];
        if (date && !cf_date_has_shape(date)) {
            berror_node(b, c, "<%s> holds \"%s\"; write a date as YYYY-MM-DD, e.g. 2024-05-01",
                        dates[i], quote(date, v));
            continue;
        }
        if (i == 0) {
            form->effective_date = date;
            b->internal->effective_line = node_line(c);
        } else {
            form->review_date = date;
            b->internal->review_line = node_line(c);
        }
    }
}

/* Splits the aliases attribute (normalised text) at ';' into field's alias list, each trimmed
 * of spaces; an empty alias ("HN;;Hosp No") is an error. */
static void build_aliases(builder *b, const char *list, long line, cf_field *field)
{
    size_t count = 1;
    for (const char *p = list; *p; p++)
        count += *p == ';';
    const char **aliases = balloc(b, count, sizeof *aliases);
    if (!aliases)
        return;
    size_t k = 0;
    for (const char *p = list;;) {
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        size_t start = cf_utf8_space_prefix(p, len);
        len -= cf_utf8_space_suffix(p + start, len - start);
        if (len == start) {
            berror(b, line,
                   "field %s has an empty name in aliases; separate the names with single ';'",
                   field->key ? field->key : "?");
        } else {
            char *alias = cf_arena_strndup(b->arena, p + start, len - start);
            if (!alias) {
                arena_failed(b);
                return;
            }
            aliases[k++] = alias;
        }
        if (!end)
            break;
        p = end + 1;
    }
    field->aliases = aliases;
    field->n_aliases = k;
}

/* Reads one <label-field> or <field> into field. */
static void build_field(builder *b, const xmlNode *n, cf_field *field, bool label)
{
    /* values[0..3]: key, caption, required, aliases (the same in both rows); then type
     * (<field>) or pattern and identifier (<label-field>). */
    const char *values[MAX_ATTRS] = {NULL};
    const cf_element_rule *rule = read_own_attrs(b, n, values, sizeof values / sizeof *values);
    field->line = node_line(n);
    field->label = label;
    field->type = CF_FIELD_TEXT;
    if (values[0])
        field->key = bstrdup(b, values[0]);
    field->caption = values[1];
    field->required = values[2] && parse_bool(values[2]);
    if (values[3])
        build_aliases(b, values[3], field->line, field);
    for (size_t t = 0; !label && values[4] && cf_model_field_type_values[t]; t++)
        if (strcmp(values[4], cf_model_field_type_values[t]) == 0)
            field->type = (cf_field_type)t;
    check_content(b, n, rule);
    if (label) {
        if (values[4])
            field->pattern = bstrdup(b, values[4]);
        field->identifier =
            values[5] ? parse_bool(values[5]) : cf_field_key_is_identifier(field->key);
        return;
    }
    /* Options are kept for any type: the semantic checks say which types may have them. */
    size_t count = count_children(n, "option");
    cf_option *options = balloc(b, count, sizeof *options);
    if (!options)
        return;
    size_t k = 0;
    for (const xmlNode *c = n->children; c && !b->fatal; c = c->next) {
        if (!is_named(c, "option"))
            continue;
        const char *ov[2]; /* key, other */
        read_own_attrs(b, c, ov, sizeof ov / sizeof *ov);
        const cf_text *text = build_inline(b, c, NULL, false);
        if (!ov[0] || !text)
            continue;
        options[k].key = bstrdup(b, ov[0]);
        options[k].other = ov[1] && parse_bool(ov[1]);
        options[k].text = text;
        k++;
    }
    field->options = options;
    field->n_options = k;
}

static void build_label(builder *b, const xmlNode *n)
{
    check_content(b, n, read_own_attrs(b, n, &b->form->label_caption, 1));
    size_t count = count_children(n, "label-field");
    if (count == 0)
        return;
    cf_field *fields = balloc(b, count, sizeof *fields);
    if (!fields)
        return;
    size_t k = 0;
    for (const xmlNode *c = n->children; c && !b->fatal; c = c->next) {
        if (!is_named(c, "label-field"))
            continue;
        build_field(b, c, &fields[k], /*label*/ true);
        if (fields[k].key && fields[k].caption)
            k++;
    }
    b->label_fields = fields;
    b->n_label_fields = k;
}

static void build_fields(builder *b, const xmlNode *n)
{
    check_content(b, n, read_own_attrs(b, n, NULL, 0));
    size_t count = count_children(n, "field");
    cf_field *fields = balloc(b, count, sizeof *fields);
    if (!fields)
        return;
    size_t k = 0;
    for (const xmlNode *c = n->children; c && !b->fatal; c = c->next) {
        if (!is_named(c, "field"))
            continue;
        build_field(b, c, &fields[k], /*label*/ false);
        if (fields[k].key && fields[k].caption)
            k++;
    }
    b->fill_fields = fields;
    b->n_fill_fields = k;
}

static void build_bands(builder *b, const xmlNode *n)
{
    const char *show;
    check_content(b, n, read_own_attrs(b, n, &show, 1));
    b->form->show_band_meaning = show && parse_bool(show);
    b->internal->bands_line = node_line(n);
    for (const xmlNode *c = n->children; c && !b->fatal; c = c->next) {
        if (!is_named(c, "band"))
            continue;
        const char *values[3]; /* frequency, caption, meaning */
        check_content(b, c, read_own_attrs(b, c, values, sizeof values / sizeof *values));
        cf_frequency f;
        if (!values[0] || !cf_frequency_parse(values[0], &f))
            continue;
        if (b->internal->band_lines[f]) {
            berror_node(b, c, "band has frequency \"%s\" a second time (first on line %ld)",
                        values[0], b->internal->band_lines[f]);
            continue;
        }
        b->internal->band_lines[f] = node_line(c);
        b->form->bands[f].caption = values[1];
        b->form->bands[f].meaning = values[2];
    }
}

/* <layout max-pages="N"/>: how the form asks to be printed. */
static void build_layout(builder *b, const xmlNode *n)
{
    const char *max_pages;
    check_content(b, n, read_own_attrs(b, n, &max_pages, 1));
    if (max_pages)
        b->form->max_pages = parse_start(max_pages);
}

static void build_body(builder *b, const xmlNode *n)
{
    check_content(b, n, read_own_attrs(b, n, NULL, 0));
    size_t count = count_children(n, "section");
    if (count == 0)
        return;
    cf_section *sections = balloc(b, count, sizeof *sections);
    if (!sections)
        return;
    size_t k = 0;
    for (const xmlNode *c = n->children; c && !b->fatal; c = c->next)
        if (is_named(c, "section"))
            build_section(b, c, &sections[k++]);
    b->form->sections = sections;
    b->form->n_sections = k;
}

/* Reports the first element in a namespace: form elements have none. */
static bool check_namespaces(builder *b, const xmlNode *root)
{
    const xmlNode *n = root;
    while (n) {
        if (is_element(n) && n->ns) {
            char name[QUOTE_SIZE], uri[QUOTE_SIZE];
            berror_node(b, n,
                        "<%s> is in the namespace \"%s\"; form elements have no namespace (remove "
                        "the xmlns declaration)",
                        quote(name_of(n), name),
                        quote(n->ns->href ? (const char *)n->ns->href : "", uri));
            return false;
        }
        if (n->children && is_element(n)) {
            n = n->children;
            continue;
        }
        while (n && !n->next && n != root)
            n = n->parent;
        if (!n || n == root)
            break;
        n = n->next;
    }
    return true;
}

static void build_form(builder *b, const xmlNode *root)
{
    cf_form *form = b->form;
    b->internal->form_line = node_line(root);
    if (!check_namespaces(b, root))
        return;
    if (!is_named(root, "form")) {
        char name[QUOTE_SIZE];
        berror_node(b, root, "the root element is <%s>; a form's root element is <form>",
                    quote(name_of(root), name));
        return;
    }
    b->checkable = true;
    const char *values[4]; /* id, version, kind, xml:lang */
    const cf_element_rule *rule = read_own_attrs(b, root, values, sizeof values / sizeof *values);
    if (values[0])
        form->id = bstrdup(b, values[0]);
    if (values[1])
        form->version = bstrdup(b, values[1]);
    form->kind = values[2] && strcmp(values[2], "consent") == 0 ? CF_FORM_KIND_CONSENT
                                                                : CF_FORM_KIND_LEAFLET;
    if (values[3]) {
        form->lang = bstrdup(b, values[3]);
        form->region = bstrdup(b, values[3] + strlen(values[3]) - 2); /* "HK" or "TW" */
    }
    check_content(b, root, rule);
    const xmlNode *c;
    if ((c = first_child(root, "meta")))
        build_meta(b, c);
    if ((c = first_child(root, "label")))
        build_label(b, c);
    if ((c = first_child(root, "fields")))
        build_fields(b, c);
    if ((c = first_child(root, "risk-bands")))
        build_bands(b, c);
    if ((c = first_child(root, "layout")))
        build_layout(b, c);
    if ((c = first_child(root, "body")))
        build_body(b, c);
    if (b->fatal)
        return;

    /* Label fields first, then fill-in fields. */
    size_t n_fields = b->n_label_fields + b->n_fill_fields;
    cf_field *fields = balloc(b, n_fields, sizeof *fields);
    if (!fields)
        return;
    if (b->n_label_fields)
        memcpy(fields, b->label_fields, b->n_label_fields * sizeof *fields);
    if (b->n_fill_fields)
        memcpy(fields + b->n_label_fields, b->fill_fields, b->n_fill_fields * sizeof *fields);
    form->fields = fields;
    form->n_fields = n_fields;
    form->n_label_fields = b->n_label_fields;
}

/* Builds the model of doc into a new arena. *out is the form (caller frees with cf_form_free)
 * when no error was found, and also after errors when *checkable: then it holds what could
 * be built, for the semantic checks to look at, and must never be used otherwise. */
static cf_status build(xmlDocPtr doc, const char *file, cf_diag *diag, cf_form **out,
                       bool *checkable)
{
    *out = NULL;
    *checkable = false;
    builder b = {.file = file, .diag = diag};
    cf_buf_init(&b.plain, 2 * FORM_MAX_BYTES);
    cf_status st = CF_OK;
    b.arena = cf_arena_new(FORM_ARENA_CAP);
    if (!b.arena) {
        cf_diag_error(diag, file, 0, "out of memory while loading the form");
        st = CF_ERR_NOMEM;
        goto done;
    }
    b.form = balloc(&b, 1, sizeof *b.form);
    b.internal = balloc(&b, 1, sizeof *b.internal);
    if (!b.form || !b.internal) {
        st = b.fatal;
        goto done;
    }
    b.internal->arena = b.arena;
    b.form->internal = b.internal;
    b.form->path = bstrdup(&b, file);
    const xmlNode *root = xmlDocGetRootElement(doc);
    if (!root) {
        berror(&b, 0, "the file holds no XML element");
    } else {
        build_form(&b, root);
    }
    if (b.fatal)
        st = b.fatal;
    else if (b.errors)
        st = CF_ERR_DATA;

done:
    cf_buf_cleanup(&b.plain);
    cf_free(b.pieces);
    if (st == CF_OK || (st == CF_ERR_DATA && !b.fatal && b.checkable)) {
        *out = b.form;
        *checkable = true;
    } else {
        cf_arena_free(b.arena);
    }
    return st;
}

/* ======================================================================================== */
/* Loading                                                                                  */
/* ======================================================================================== */

static int compare_lines(const void *a, const void *b)
{
    const cf_diag_entry *x = *(const cf_diag_entry *const *)a;
    const cf_diag_entry *y = *(const cf_diag_entry *const *)b;
    /* Messages without a line (out of memory, "stopped after ...") come last. */
    long xl = x->line > 0 ? x->line : LONG_MAX, yl = y->line > 0 ? y->line : LONG_MAX;
    if (xl != yl)
        return xl < yl ? -1 : 1;
    if (x->col != y->col)
        return x->col < y->col ? -1 : 1;
    return x < y ? -1 : x > y; /* entries sit in one array: keeps the order they came in */
}

/* Where each line of the form starts, to give a column to messages that know only their
 * line (the semantic checks): the first character on the line that is not a space, which is
 * where the element the message is about starts. */
typedef struct line_index {
    const char *data;
    size_t len;
    size_t *starts; /* starts[i]: offset of line i + 1; NULL when out of memory */
    size_t n;
} line_index;

static void line_index_init(line_index *li, const char *data, size_t len)
{
    *li = (line_index){.data = data, .len = len};
    size_t n = 1;
    for (size_t i = 0; i < len; i++)
        n += data[i] == '\n';
    li->starts = cf_calloc(n, sizeof *li->starts);
    if (!li->starts)
        return;
    li->starts[li->n++] = 0;
    for (size_t i = 0; i < len; i++)
        if (data[i] == '\n')
            li->starts[li->n++] = i + 1;
}

/* Column (1-based, in characters) of the first non-blank character of line; 0 if unknown. */
static long line_index_col(const line_index *li, long line)
{
    if (!li->starts || line < 1 || (size_t)line > li->n)
        return 0;
    size_t p = li->starts[line - 1];
    long col = 1;
    while (p < li->len && (li->data[p] == ' ' || li->data[p] == '\t')) {
        p++;
        col++;
    }
    if (p >= li->len || li->data[p] == '\n' || li->data[p] == '\r')
        return 0;
    return col;
}

/* Copies every entry of the stages into to, ordered by position; an entry with a line but no
 * column gets the column of the line's first element. */
static void copy_sorted(cf_diag *const *from, size_t n_from, const line_index *li, cf_diag *to)
{
    size_t n = 0;
    for (size_t k = 0; k < n_from; k++)
        n += from[k] ? cf_diag_size(from[k]) : 0;
    if (n == 0)
        return;
    const cf_diag_entry **order = cf_calloc(n, sizeof *order);
    size_t m = 0;
    for (size_t k = 0; k < n_from; k++) {
        for (size_t i = 0; from[k] && i < cf_diag_size(from[k]); i++) {
            const cf_diag_entry *e = cf_diag_get(from[k], i);
            if (order)
                order[m++] = e;
            else /* out of memory: unsorted rather than lost */
                cf_diag_add(to, e->severity, e->file, e->line, e->col, "%s", e->message);
        }
    }
    if (!order)
        return;
    qsort(order, m, sizeof *order, compare_lines);
    for (size_t i = 0; i < m; i++) {
        const cf_diag_entry *e = order[i];
        long col = e->col > 0 || e->line <= 0 ? e->col : line_index_col(li, e->line);
        cf_diag_add(to, e->severity, e->file, e->line, col, "%s", e->message);
    }
    cf_free(order);
}

/* True when some error of d points at line. */
static bool has_error_on_line(const cf_diag *d, long line)
{
    for (size_t i = 0; i < cf_diag_size(d); i++) {
        const cf_diag_entry *e = cf_diag_get(d, i);
        if (e->severity == CF_DIAG_ERROR && e->line == line)
            return true;
    }
    return false;
}

/* The schema's own messages, when our walk of the tree (which words the same rules in plain
 * words, and more precisely) and the semantic checks (which word the schema's co-occurrence
 * rules) found nothing: then they name a rule only the schema knows. Its
 * bare summary ("element X failed to validate content") only when it has nothing specific. */
static void pick_schema_messages(const rng_report *report, const cf_diag *wf, const cf_diag *walk,
                                 const cf_diag *semantic, cf_diag *out)
{
    if (cf_diag_error_count(walk) || cf_diag_error_count(semantic))
        return;
    const cf_diag *from =
        cf_diag_error_count(report->specific) ? report->specific : report->summary;
    for (size_t i = 0; i < cf_diag_size(from); i++) {
        const cf_diag_entry *e = cf_diag_get(from, i);
        /* A line the XML errors explain is a recovered guess of the parser's. */
        if (has_error_on_line(wf, e->line) || (e->line <= 0 && cf_diag_error_count(wf)))
            continue;
        cf_diag_add(out, e->severity, e->file, e->line, e->col, "%s", e->message);
    }
}

/* Every stage that can run does, and the form's problems are reported together, ordered by
 * position: the bytes (a file that is not UTF-8 stops here: nothing else can read it), XML
 * well-formedness (libxml2 recovers a tree where it can: a bare & or <, an unknown entity, an
 * attribute given twice; a broken tag ends here), the RELAX NG schema and our walk of
 * the tree (which words the schema's rules in plain words), then the semantic checks on the
 * model as far as it could be built. A refusal (DOCTYPE, a cap) stops at once. */
static cf_status load(const char *data, size_t len, const char *file, const char *schema_path,
                      bool from_file, cf_form **out, cf_diag *diag)
{
    *out = NULL;
    if (!file)
        file = "(form)";
    cf_status st = check_bytes(data, len, file, diag);
    if (st)
        return st;
    pthread_once(&xml_once, xml_init);
    if (!schema_path)
        schema_path = cf_form_schema_path();

    saved_handlers saved;
    stray_sink sink = {.file = file, .diag = diag};
    redirect_errors(&saved, &sink);

    xmlDocPtr doc = NULL;
    cf_form *form = NULL;
    line_index li = {0};
    cf_diag *wf = cf_diag_new(), *walk = cf_diag_new(), *schema = cf_diag_new();
    cf_diag *semantic = cf_diag_new();
    rng_report report = {.file = file, .specific = cf_diag_new(), .summary = cf_diag_new()};
    if (!wf || !walk || !schema || !semantic || !report.specific || !report.summary) {
        cf_diag_error(diag, file, 0, "out of memory while loading the form");
        st = CF_ERR_NOMEM;
        goto done;
    }
    bool refused, broken;
    cf_status parse_st = parse(data, len, file, wf, &doc, &refused, &broken);
    if (refused) {
        cf_diag *stages[] = {wf};
        copy_sorted(stages, 1, &li, diag);
        st = parse_st;
        goto done;
    }
    cf_status build_st = CF_OK, check_st = CF_OK;
    /* After a broken tag the tree is the parser's guess, and what the later stages would say
     * about it would mislead more than help. */
    if (doc && !broken) {
        st = validate(schema_path, doc, &report, diag);
        if (st)
            goto done; /* the schema itself cannot be had */
        bool checkable;
        build_st = build(doc, file, walk, &form, &checkable);
        if (checkable)
            check_st = cf_form_check(form, file, from_file, semantic);
        pick_schema_messages(&report, wf, walk, semantic, schema);
    }
    line_index_init(&li, data, len);
    cf_diag *stages[] = {wf, schema, walk, semantic};
    copy_sorted(stages, 4, &li, diag);
    /* Running out of memory or over a cap outranks bad data. */
    if (build_st != CF_OK && build_st != CF_ERR_DATA)
        st = build_st;
    else if (check_st != CF_OK && check_st != CF_ERR_DATA)
        st = check_st;
    else if (parse_st || build_st || check_st || cf_diag_error_count(schema) || sink.count)
        st = CF_ERR_DATA;

done:
    restore_errors(&saved);
    xmlFreeDoc(doc);
    cf_free(li.starts);
    cf_diag_free(wf);
    cf_diag_free(walk);
    cf_diag_free(schema);
    cf_diag_free(semantic);
    cf_diag_free(report.specific);
    cf_diag_free(report.summary);
    if (st) {
        cf_form_free(form);
        return st;
    }
    *out = form;
    return CF_OK;
}

cf_status cf_form_load_memory(const char *data, size_t len, const char *name,
                              const char *schema_path, cf_form **out, cf_diag *diag)
{
    if (!data) {
        *out = NULL;
        cf_diag_error(diag, name, 0, "no form data given");
        return CF_ERR_NOINPUT;
    }
    return load(data, len, name, schema_path, /*from_file*/ false, out, diag);
}

cf_status cf_form_load(const char *path, const char *schema_path, cf_form **out, cf_diag *diag)
{
    *out = NULL;
    char *data = NULL;
    size_t len = 0;
    cf_status st = cf_file_read(path, FORM_MAX_BYTES, &data, &len, diag);
    if (st)
        return st;
    st = load(data, len, path, schema_path, /*from_file*/ true, out, diag);
    cf_free(data);
    return st;
}
