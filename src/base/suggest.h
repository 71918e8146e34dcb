/* "Did you mean …?": the closest of a set of names to what a person typed (edit distance). */
#ifndef CF_SUGGEST_H
#define CF_SUGGEST_H

#include <stddef.h>

/* Optimal-string-alignment distance between a and b (insertions, deletions, substitutions and
 * swaps of two neighbours each count 1), on bytes. Strings longer than 255 bytes compare as far
 * apart (SIZE_MAX). */
size_t cf_edit_distance(const char *a, const char *b);

/* Collects candidates and keeps the one closest to typed. A candidate that typed is a prefix of
 * counts as closest (an abbreviation); otherwise it must be within a distance of 2, and less
 * than half the length of typed. Holds pointers only: the strings must outlive the search. */
typedef struct cf_suggestion {
    const char *typed;
    const char *best; /* NULL while nothing is close */
    size_t best_score;
} cf_suggestion;

void cf_suggestion_init(cf_suggestion *s, const char *typed);
void cf_suggestion_add(cf_suggestion *s, const char *candidate);
/* The closest candidate, or NULL when none is close enough to suggest. */
const char *cf_suggestion_get_best(const cf_suggestion *s);

#endif
