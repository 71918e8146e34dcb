#!/usr/bin/env bash
# End-to-end checks of the ward a document is issued for (issue 15.5): `render --ward` and
# `batch --ward` record it in the archive; a list's ward column (Ward, 病房, 病區 ... or
# --map COL=ward) overrides it row by row; `archive list --ward` and `archive show` show it;
# a ward over 32 characters or with a control character is refused naming the option or the
# file and row, with nothing printed for that row. The ward is never printed on the form.
set -u
bin=${CF_BINARY:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1767225600}
unset CONSENTFORM_MAP
failures=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
form=nerve-root-injection
store=$tmp/store
"$bin" archive init "$store" 2>/dev/null || fail "archive init"

# 1. render --ward: trimmed, kept, shown; not on the paper.
"$bin" render --allow-draft "$form" -o "$tmp/one.pdf" --patient-name 陳大文 --hospital-no HN00012345 \
    --episode-no HE123 --archive "$store" --operator nurse1 --ward '  7A  ' 2>"$tmp/err"
st=$?
id=$("$bin" archive list "$store" --ward 7A 2>/dev/null | grep -o '^[0-9A-Z]\{13\}' | head -1)
if [ $st -eq 0 ] && [ -n "$id" ] && "$bin" archive show "$store" "$id" 2>/dev/null | grep -q '^  ward      7A$'; then
    ok "render --ward: kept trimmed, listed by list --ward, shown by show"
else
    fail "render --ward: exit $st, id '$id': $(cat "$tmp/err")"
fi
if ! pdftotext "$tmp/one.pdf" - 2>/dev/null | grep -q '7A'; then
    ok "the ward is not printed on the form"
else
    fail "the ward is on the paper"
fi
"$bin" archive list "$store" 2>/dev/null | head -1 | grep -q 'STATUS *WARD *HOSPITAL NO' &&
    ok "archive list has a WARD column" || fail "no WARD column: $("$bin" archive list "$store" 2>&1 | head -1)"

# 2. A bad --ward is a usage error (64) and nothing is written.
long=$(printf 'W%.0s' $(seq 1 33))
for bad in "$long" $'7\tA' $'7\nA'; do
    "$bin" render --allow-draft "$form" -o "$tmp/bad.pdf" --patient-name 陳大文 --hospital-no HN00012345 \
        --episode-no HE123 --archive "$store" --ward "$bad" 2>"$tmp/err"
    st=$?
    if [ $st -eq 64 ] && grep -q -- '--ward: the ward \(is longer than 32 characters\|holds a control character\)' "$tmp/err" &&
        [ ! -e "$tmp/bad.pdf" ]; then
        ok "render --ward refused (exit 64): $(head -1 "$tmp/err" | cut -c1-80)"
    else
        fail "bad --ward: exit $st: $(cat "$tmp/err")"
    fi
done
"$bin" render --allow-draft "$form" -o "$tmp/noarch.pdf" --patient-name 陳大文 --hospital-no HN00012345 \
    --episode-no HE123 --ward 7A 2>"$tmp/err"
st=$?
[ $st -eq 64 ] && grep -q -- '--ward is kept in the archive record' "$tmp/err" && [ ! -e "$tmp/noarch.pdf" ] &&
    ok "render --ward without --archive: exit 64" || fail "render --ward without --archive: exit $st: $(cat "$tmp/err")"
"$bin" batch --allow-draft "$form" --csv /dev/null --out-dir "$tmp/x" --ward 7A 2>"$tmp/err"
st=$?
[ $st -eq 64 ] && grep -q -- '--ward is kept in each archive record' "$tmp/err" &&
    ok "batch --ward without --archive: exit 64" || fail "batch --ward without --archive: exit $st: $(cat "$tmp/err")"
"$bin" archive list "$store" --ward "$long" >/dev/null 2>&1
[ $? -eq 64 ] && ok "archive list --ward over 32 characters: exit 64" || fail "list --ward long"

# 3. batch --ward for the whole list, a ward column overriding it per row (empty cell: --ward).
{
    printf '\xef\xbb\xbf病房 Ward,Bed,HN,Patient Name,Episode No\r\n'
    printf '3A,12,HN00012345,陳大文,HE123\r\n'
    printf ',14,HN00023456,李小明,HE456\r\n'
    printf ' 5B ,2,HN00034567,何美玲,HE789\r\n'
} >"$tmp/list.csv"
"$bin" batch --allow-draft "$form" --csv "$tmp/list.csv" --out-dir "$tmp/b" --jobs 1 \
    --archive "$store" --operator clerk --ward 9C 2>"$tmp/err"
st=$?
n3a=$("$bin" archive list "$store" --ward 3A 2>/dev/null | grep -c HN00012345)
n9c=$("$bin" archive list "$store" --ward 9C 2>/dev/null | grep -c HN00023456)
n5b=$("$bin" archive list "$store" --ward 5B 2>/dev/null | grep -c HN00034567)
if [ $st -eq 0 ] && [ "$n3a" -eq 1 ] && [ "$n9c" -eq 1 ] && [ "$n5b" -eq 1 ]; then
    ok "batch: the 病房 Ward column sets each row's ward, --ward the rest"
else
    fail "batch ward column: exit $st, 3A $n3a 9C $n9c 5B $n5b: $(cat "$tmp/err")"
fi
# The column is still an extra column of the manifest.
tr -d '\r' <"$tmp/b/manifest.csv" | head -1 | grep -q ',病房 Ward,Bed$' &&
    ok "the ward column stays in the manifest" || fail "manifest: $(head -1 "$tmp/b/manifest.csv")"

# 4. Other spellings of the column, and --map COL=ward for a name the rules do not know.
for header in WARD 病區 ward; do
    printf '%s,HN,Patient Name,Episode No\n8D,HN00045678,黃阿強,HE111\n' "$header" >"$tmp/h.csv"
    rm -rf "$tmp/h"
    "$bin" batch --allow-draft "$form" --csv "$tmp/h.csv" --out-dir "$tmp/h" --jobs 1 \
        --archive "$store" --operator clerk 2>"$tmp/err"
    st=$?
    n=$("$bin" archive list "$store" --ward 8D 2>/dev/null | sed 1d | wc -l)
    [ $st -eq 0 ] && [ "$n" -ge 1 ] && ok "a column named $header is the ward" || fail "$header: exit $st, $n: $(cat "$tmp/err")"
done
printf 'Unit,HN,Patient Name,Episode No\n11E,HN00056789,張三,HE222\n' >"$tmp/m.csv"
"$bin" batch --allow-draft "$form" --csv "$tmp/m.csv" --out-dir "$tmp/m" --jobs 1 \
    --archive "$store" --operator clerk --map Unit=ward 2>"$tmp/err"
st=$?
n=$("$bin" archive list "$store" --ward 11E 2>/dev/null | sed 1d | wc -l)
[ $st -eq 0 ] && [ "$n" -eq 1 ] && ok "--map Unit=ward" || fail "--map Unit=ward: exit $st, $n: $(cat "$tmp/err")"
printf 'Ward,病房,HN,Patient Name,Episode No\n1,2,HN00067890,李四,HE333\n' >"$tmp/two.csv"
"$bin" batch --allow-draft "$form" --csv "$tmp/two.csv" --out-dir "$tmp/two" --jobs 1 2>"$tmp/err"
st=$?
[ $st -eq 65 ] && grep -q 'could both be the ward; say which one holds it with --map "Ward=ward"' "$tmp/err" &&
    ok "two ward columns: exit 65, --map settles it" || fail "two ward columns: exit $st: $(cat "$tmp/err")"

# 5. A ward cell too long or with a control character: that row fails naming file and row;
#    the others print.
{
    printf 'Ward,HN,Patient Name,Episode No\n'
    printf '6F,HN00078901,王五,HE444\n'
    printf '%s,HN00089012,趙六,HE555\n' "$long"
    printf '"6\x01F",HN00090123,孫七,HE666\n'
} >"$tmp/badward.csv"
"$bin" batch --allow-draft "$form" --csv "$tmp/badward.csv" --out-dir "$tmp/bw" --jobs 1 \
    --archive "$store" --operator clerk 2>"$tmp/err"
st=$?
n_pdf=$(find "$tmp/bw" -name '*.pdf' | wc -l)
if [ $st -eq 65 ] && [ "$n_pdf" -eq 1 ] &&
    grep -q 'badward.csv:3: the ward cell (column 1, Ward) is longer than 32 characters' "$tmp/err" &&
    grep -q 'badward.csv:4: the ward cell (column 1, Ward) holds a control character' "$tmp/err" &&
    ! "$bin" archive list "$store" 2>/dev/null | grep -q HN00089012; then
    ok "bad ward cells: exit 65 naming file and row, those rows not printed or archived"
else
    fail "bad ward cells: exit $st, $n_pdf PDFs: $(cat "$tmp/err")"
fi
"$bin" archive verify "$store" >"$tmp/verify" 2>&1 && ok "verify: clean" || fail "verify: $(cat "$tmp/verify")"

if [ $failures -gt 0 ]; then
    echo "$failures check(s) failed"
    exit 1
fi
