/* Document ids (see docid.h). */
#include "render/docid.h"

#include "base/hash.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static int value_of(char c)
{
    if (c >= 'a' && c <= 'z')
        c = (char)(c - 'a' + 'A');
    if (c == 'O')
        c = '0';
    if (c == 'I' || c == 'L')
        c = '1';
    const char *p = c != '\0' ? strchr(alphabet, c) : NULL;
    return p != NULL ? (int)(p - alphabet) : -1;
}

/* Luhn mod 32 over the 12 data characters. */
static char check_char(const char *data)
{
    int factor = 2, sum = 0;
    for (int i = 11; i >= 0; i--) {
        int addend = factor * value_of(data[i]);
        factor = factor == 2 ? 1 : 2;
        sum += addend / 32 + addend % 32;
    }
    return alphabet[(32 - sum % 32) % 32];
}

static void hash_str(cf_sha256 *h, const char *s)
{
    size_t n = s != NULL ? strlen(s) + 1 : 0;
    cf_sha256_update(h, s != NULL ? s : "", n > 0 ? n : 1);
}

void cf_docid_make(const cf_form *form, const cf_record *record, long long issued,
                   unsigned long sequence, bool random, char out[CF_DOCUMENT_ID_SIZE])
{
    cf_sha256 h;
    unsigned char digest[CF_SHA256_SIZE];
    char number[64];
    cf_sha256_init(&h);
    hash_str(&h, "consentform document id 1");
    hash_str(&h, form->id);
    hash_str(&h, form->version);
    /* Every field, in the form's order: two documents differ when any printed value does. */
    for (size_t i = 0; record != NULL && i < form->n_fields; i++) {
        hash_str(&h, form->fields[i].key);
        hash_str(&h, cf_record_get(record, form->fields[i].key));
    }
    snprintf(number, sizeof number, "%lld/%lu", issued, sequence);
    hash_str(&h, number);
    if (random) {
        unsigned char noise[16];
        struct timespec ts;
        if (getrandom(noise, sizeof noise, 0) != (ssize_t)sizeof noise) {
            /* No entropy source: the clock still separates two documents of one process. */
            clock_gettime(CLOCK_REALTIME, &ts);
            memcpy(noise, &ts, sizeof ts < sizeof noise ? sizeof ts : sizeof noise);
        }
        cf_sha256_update(&h, noise, sizeof noise);
    }
    cf_sha256_final(&h, digest);
    /* 60 bits of the digest, 5 at a time. */
    unsigned long long bits = 0;
    for (int i = 0; i < 8; i++)
        bits = bits << 8 | digest[i];
    for (int i = 0; i < 12; i++)
        out[i] = alphabet[(bits >> (59 - 5 * i)) & 31u];
    out[12] = check_char(out);
    out[13] = '\0';
}

bool cf_docid_normalize(const char *typed, char out[CF_DOCUMENT_ID_SIZE])
{
    size_t n = 0;
    if (typed == NULL)
        return false;
    for (const char *p = typed; *p != '\0'; p++) {
        if (*p == '-' || *p == ' ')
            continue;
        int v = value_of(*p);
        if (v < 0 || n == CF_DOCUMENT_ID_LEN)
            return false;
        out[n++] = alphabet[v];
    }
    out[n] = '\0';
    return n == CF_DOCUMENT_ID_LEN && check_char(out) == out[12];
}
