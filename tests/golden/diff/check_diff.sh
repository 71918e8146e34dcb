#!/usr/bin/env bash
# End-to-end checks of `consentform diff`: DPN consent 1.0 against 1.1 lists every change of the
# clinical review and nothing else (golden file, reviewed like code; CF_REGENERATE=1 rewrites
# it), a form against itself re-indented says the same (exit 0), --format html marks changes
# with <del>/<ins> and is well-formed, and bad input gives the documented exit statuses.
#
# Needs: $CF_BINARY, $CF_SOURCE_DIR (set by meson), xmllint (libxml2-utils).
set -u
bin=${CF_BINARY:?}
src=${CF_SOURCE_DIR:?}
golden=$src/tests/golden/diff/dpn-1.0-1.1.txt
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

cd "$src" || exit 1
old=tests/data/form/dpn-1.0/dpn-injection-consent.xml
new=forms/dpn-injection-consent.xml

"$bin" diff "$old" "$new" >"$tmp/out.txt" 2>"$tmp/err"
rc=$?
if [ "$rc" = 1 ]; then ok "1.0 against 1.1: exit 1 (they differ)"; else fail "1.0 against 1.1: exit $rc: $(cat "$tmp/err")"; fi
if [ "${CF_REGENERATE:-}" = 1 ]; then
    cp "$tmp/out.txt" "$golden"
    ok "rewrote $golden"
elif diff -u "$golden" "$tmp/out.txt" >"$tmp/golden.diff"; then
    ok "1.0 against 1.1 matches the golden file"
else
    fail "1.0 against 1.1 differs from the golden file:"
    head -40 "$tmp/golden.diff"
fi

# The same form re-indented, its attributes reordered and a comment added: the same words.
sed -e '2,$s/^\( *\)/\1\1  /' -e 's/<form id="\([^"]*\)" version="\([^"]*\)"/<form version="\2" id="\1"/' \
    -e 's|</body>|  <!-- a comment --></body>|' "$new" >"$tmp/dpn-injection-consent.xml"
if cmp -s "$new" "$tmp/dpn-injection-consent.xml"; then fail "the re-indented copy is not different bytes"; fi
"$bin" diff "$new" "$tmp/dpn-injection-consent.xml" >"$tmp/same.txt" 2>"$tmp/err"
rc=$?
if [ "$rc" = 0 ] && grep -q "The forms say the same" "$tmp/same.txt"; then
    ok "re-indented copy: exit 0, the forms say the same"
else
    fail "re-indented copy: exit $rc: $(head -5 "$tmp/same.txt") $(cat "$tmp/err")"
fi

# One edit of the form (a sed expression) must give exactly one change line, matching a pattern.
one_change() { # what sed-expression grep-pattern
    sed "$2" "$new" >"$tmp/dpn-injection-consent.xml"
    "$bin" diff "$new" "$tmp/dpn-injection-consent.xml" >"$tmp/edit.txt" 2>/dev/null
    local rc=$?
    if [ "$rc" = 1 ] && [ "$(grep -c '^[-+~>] ' "$tmp/edit.txt")" = 1 ] && grep -q "$3" "$tmp/edit.txt"; then
        ok "$1: one change, named"
    else
        fail "$1: exit $rc: $(cat "$tmp/edit.txt")"
    fi
}
# One character changed is found and marked.
one_change "one changed character" 's/每天檢查雙腳，穿合腳的鞋襪/每天檢查雙腳，穿合適的鞋襪/' '穿合\[-腳-\]{+適+}的鞋襪'
# A signature no longer required (which signatures a signed copy needs) is a change.
one_change "a signature no longer required" 's/ required="doctor">/>/' \
    '^~ signature block (doctor):.*\[-; required: doctor-\]'
# A risk moved to another band is reported as such, nothing else.
one_change "a risk moved from rare to common" \
    's/<risk frequency="rare">注射處感染/<risk frequency="common">注射處感染/' '^> risk: 注射處感染.*: 罕見 → 常見$'

# HTML for the committee: well-formed, with the changes marked.
"$bin" diff "$old" "$new" --format html >"$tmp/out.html" 2>"$tmp/err"
rc=$?
if [ "$rc" = 1 ] && xmllint --html --noout "$tmp/out.html" 2>"$tmp/lint" && [ ! -s "$tmp/lint" ] &&
    grep -q '<del>' "$tmp/out.html" && grep -q '<ins>' "$tmp/out.html" &&
    grep -q 'Anaesthesia, Pain &amp; Intensive Care' "$tmp/out.html"; then
    ok "--format html: well-formed, <del>/<ins>, text escaped"
else
    fail "--format html: exit $rc: $(head -3 "$tmp/lint") $(cat "$tmp/err")"
fi

# Errors: exit status above 1, as diff(1).
"$bin" diff "$old" no/such/form.xml >/dev/null 2>"$tmp/err"
rc=$?
if [ "$rc" = 66 ] && grep -q "form.xml" "$tmp/err"; then ok "missing form: exit 66, named"; else fail "missing form: exit $rc: $(cat "$tmp/err")"; fi
printf '<form>' >"$tmp/broken.xml"
"$bin" diff "$tmp/broken.xml" "$new" >/dev/null 2>"$tmp/err"
rc=$?
if [ "$rc" = 65 ]; then ok "invalid form: exit 65"; else fail "invalid form: exit $rc"; fi
"$bin" diff "$old" >/dev/null 2>&1
rc=$?
if [ "$rc" = 64 ]; then ok "one form only: exit 64"; else fail "one form only: exit $rc"; fi
"$bin" diff "$old" "$new" --format pdf >/dev/null 2>&1
rc=$?
if [ "$rc" = 64 ]; then ok "--format pdf: exit 64"; else fail "--format pdf: exit $rc"; fi
# Options follow the rules of every command (cf_cli_getopt): written in full, with a hint.
"$bin" diff "$old" "$new" --form html >/dev/null 2>"$tmp/err"
rc=$?
if [ "$rc" = 64 ] && grep -q 'did you mean --format' "$tmp/err"; then ok "--form is not --format: exit 64, did you mean"; else fail "--form: exit $rc: $(cat "$tmp/err")"; fi
"$bin" diff "$old" "$new" --colour >/dev/null 2>"$tmp/err"
rc=$?
if [ "$rc" = 64 ] && grep -q 'unknown option "--colour"' "$tmp/err"; then ok "unknown option named"; else fail "--colour: exit $rc: $(cat "$tmp/err")"; fi

[ "$failures" = 0 ] || { echo "$failures check(s) failed"; exit 1; }
