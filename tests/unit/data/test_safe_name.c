/* Tests of the reduction of values to safe file-name characters (data/file_name.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/buf.h"
#include "data/file_name.h"

#include <string.h>

/* Issue 11.2: a bidi override or another invisible character never reaches a file name, where
 * it would reorder the name as shown ("HN1<U+202E>fdp.exe"); Unicode spaces become '_'. */
static void test_hidden_characters_reduced(void **state)
{
    (void)state;
    static const struct {
        const char *value, *safe;
    } cases[] = {
        {"HN1\u202Efdp.exe", "HN1_fdp.exe"},
        {"HN1\u2066x\u2069", "HN1_x_"},
        {"陳\u00AD大文", "陳_大文"},
        {"陳\u200B大文", "陳_大文"},
        {"CHAN\u00A0Tai\u2003Man", "CHAN_Tai_Man"},
        {"a\u205Fb\u202Fc", "a_b_c"},
        {"HN12345678(9)", "HN12345678(9)"},
        {"李\uF907明", "李\uF907明"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cf_buf out;
        cf_buf_init(&out, 1024);
        cf_file_name_append_safe(&out, cases[i].value);
        assert_string_equal(out.data, cases[i].safe);
        cf_buf_cleanup(&out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hidden_characters_reduced),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
