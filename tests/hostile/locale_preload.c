/* Preloaded (LD_PRELOAD) into every test program by the decimal-comma run of scripts/test.sh:
 * switches the C library to the locale named by LC_ALL before main runs, as an application
 * embedding our library would. consentform itself never calls setlocale, so without this the
 * run would not change how printf writes numbers; with it, a number written through the
 * locale ("1,5" for 1.5) shows up in the golden and unit tests. Messages (strerror) stay in
 * English: the tests compare them, and their language is not what this run checks. */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>

__attribute__((constructor)) static void use_environment_locale(void)
{
    if (setlocale(LC_ALL, "") == NULL || setlocale(LC_MESSAGES, "C") == NULL) {
        fprintf(stderr, "locale_preload: the locale %s is not installed\n",
                getenv("LC_ALL") ? getenv("LC_ALL") : "(LC_ALL unset)");
        exit(1);
    }
}
