/* Calendar dates written YYYY-MM-DD: the one date validator of the tree (form metadata, patient
 * field values, anything else that takes a date). */
#ifndef CF_DATE_H
#define CF_DATE_H

#include <stdbool.h>

/* True when value is written YYYY-MM-DD (ten characters, digits and two '-'), whatever the
 * numbers; NULL is not. */
bool cf_date_has_shape(const char *value);

/* True when value has that shape and is a real calendar date (years 1000 to 9999, leap years
 * by the Gregorian rule). */
bool cf_date_is_valid(const char *value);

#endif
