#!/usr/bin/env bash
# The batch's writer thread (issue 17 item 4): PDFs are synced and moved to their names on a
# thread of their own. Every row's file is in place when the run ends; when the last step
# fails for one row (CONSENTFORM_FAIL_COMMIT_ROW), that row fails with no file and no
# temporary file left, its archive record (committed first) is voided "not delivered", and the
# other rows are printed and archived. Prints "ok"/"FAIL" per check.
set -u
bin=${CF_BINARY:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1767225600}
unset CONSENTFORM_FAIL_COMMIT_ROW
failures=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
form=nerve-root-injection

{
    printf 'patient_name,hospital_no,episode_no\r\n'
    for i in 1 2 3 4 5 6 7 8; do printf '陳大文,HN0000000%d(%d),HE00%d\r\n' "$i" "$i" "$i"; done
} >"$tmp/list.csv"

# 1. Every row printed on 2 jobs and the writer: files in place, manifest ok, no temporary file.
"$bin" batch "$form" --allow-draft --csv "$tmp/list.csv" --out-dir "$tmp/a" --jobs 2 2>"$tmp/err"
st=$?
n=$(find "$tmp/a" -name '*.pdf' | wc -l)
okrows=$(tr -d '\r' <"$tmp/a/manifest.csv" | grep -c ',ok,')
if [ $st -eq 0 ] && [ "$n" -eq 8 ] && [ "$okrows" -eq 8 ] && [ "$(ls -A "$tmp/a" | grep -c '^\.')" -eq 0 ]; then
    ok "8 rows on 2 jobs: 8 PDFs in place, 8 ok rows, no temporary file"
else
    fail "exit $st, $n PDFs, $okrows ok rows: $(ls -A "$tmp/a") $(head -3 "$tmp/err")"
fi

# 2. The commit of row 4 (the third patient) fails on the writer thread.
store=$tmp/store
"$bin" archive init "$store" 2>/dev/null
CONSENTFORM_FAIL_COMMIT_ROW=4 "$bin" batch "$form" --allow-draft --csv "$tmp/list.csv" \
    --out-dir "$tmp/b" --jobs 2 --archive "$store" --operator ward7 2>"$tmp/err"
st=$?
n=$(find "$tmp/b" -name '*.pdf' | wc -l)
m=$(tr -d '\r' <"$tmp/b/manifest.csv")
row4=$(echo "$m" | awk -F, '$1 == 4')
id=$(echo "$row4" | cut -d, -f4)
if [ $st -ne 0 ] && [ "$n" -eq 7 ] && [ ! -e "$tmp/b/HN00000003(3)_HE003_$form.pdf" ] &&
    [ "$(ls -A "$tmp/b" | grep -c '^\.')" -eq 0 ] && [ "$(echo "$m" | grep -c ',ok,')" -eq 7 ] &&
    echo "$row4" | grep -q 'CONSENTFORM_FAIL_COMMIT_ROW'; then
    ok "a failed commit on the writer: exit $st, that row failed with no file, 7 printed"
else
    fail "failed commit: exit $st, $n PDFs: $row4 / $(head -3 "$tmp/err")"
fi
voided=$("$bin" archive list "$store" 2>/dev/null | wc -l)
if [ -n "$id" ] && "$bin" archive show "$store" "$id" 2>/dev/null | grep -q 'not delivered'; then
    ok "its archive record ($id) says not delivered"
else
    # The manifest may leave the id of a failed row out: find the voided record in the store.
    if "$bin" archive list "$store" 2>/dev/null | grep -o '^[0-9A-Z]\{13\}' | while read -r d; do
        "$bin" archive show "$store" "$d" 2>/dev/null | grep -q 'not delivered' && echo "$d"
    done | grep -q .; then
        ok "the failed row's archive record says not delivered ($voided records)"
    else
        fail "no archive record says not delivered ($voided records, id '$id')"
    fi
fi

[ "$failures" -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
