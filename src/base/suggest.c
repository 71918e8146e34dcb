/* Edit distance and "did you mean" suggestions for mistyped commands, options and form ids. */
#include "base/suggest.h"

#include <stdint.h>
#include <string.h>

#define MAX_LEN 255

size_t cf_edit_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > MAX_LEN || m > MAX_LEN)
        return SIZE_MAX;
    /* Three rows of the dynamic-programming table: two back (for swaps), one back, current. */
    size_t rows[3][MAX_LEN + 1];
    size_t *two_back = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= m; j++)
        prev[j] = j;
    for (size_t i = 1; i <= n; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= m; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = prev[j - 1] + cost;
            if (prev[j] + 1 < best)
                best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                two_back[j - 2] + 1 < best)
                best = two_back[j - 2] + 1;
            cur[j] = best;
        }
        size_t *spare = two_back;
        two_back = prev;
        prev = cur;
        cur = spare;
    }
    return prev[m];
}

void cf_suggestion_init(cf_suggestion *s, const char *typed)
{
    s->typed = typed;
    s->best = NULL;
    s->best_score = SIZE_MAX;
}

void cf_suggestion_add(cf_suggestion *s, const char *candidate)
{
    if (!s->typed || !candidate || !*s->typed)
        return;
    size_t typed_len = strlen(s->typed);
    size_t score;
    if (strncmp(candidate, s->typed, typed_len) == 0 && candidate[typed_len] != '\0') {
        score = 0; /* an abbreviation of candidate */
    } else {
        size_t d = cf_edit_distance(s->typed, candidate);
        if (d == 0 || d > 2 || 2 * d >= typed_len)
            return;
        score = d;
    }
    if (score < s->best_score) {
        s->best = candidate;
        s->best_score = score;
    }
}

const char *cf_suggestion_get_best(const cf_suggestion *s)
{
    return s->best;
}
