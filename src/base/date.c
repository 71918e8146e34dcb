#include "base/date.h"

#include <string.h>

bool cf_date_has_shape(const char *value)
{
    if (!value || strlen(value) != 10)
        return false;
    for (int i = 0; i < 10; i++) {
        bool dash = i == 4 || i == 7;
        if (dash ? value[i] != '-' : (value[i] < '0' || value[i] > '9'))
            return false;
    }
    return true;
}

bool cf_date_is_valid(const char *value)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (!cf_date_has_shape(value))
        return false;
    int year =
        (value[0] - '0') * 1000 + (value[1] - '0') * 100 + (value[2] - '0') * 10 + (value[3] - '0');
    int month = (value[5] - '0') * 10 + (value[6] - '0');
    int day = (value[8] - '0') * 10 + (value[9] - '0');
    if (year < 1000 || month < 1 || month > 12 || day < 1)
        return false;
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    int most = days[month - 1] + (month == 2 && leap ? 1 : 0);
    return day <= most;
}
