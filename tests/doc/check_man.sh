#!/usr/bin/env bash
# The manual pages built from doc/*.scd (issue 16 item 2): every page renders with `man -l`
# without a warning from groff, has its NAME section, and `consentform help batch` of this
# build-tree binary opens the page built here. Needs $CF_BINARY, $CF_BUILD_DIR (set by meson).
set -u
bin=${CF_BINARY:?}
build=${CF_BUILD_DIR:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
export LC_ALL=C.UTF-8 MANWIDTH=80 MANPAGER=cat PAGER=cat

for page in consentform.1 consentform-list.1 consentform-validate.1 consentform-render.1 \
    consentform-batch.1 consentform-archive.1 consentform-user.1 consentform-forms.5; do
    file=$build/doc/$page
    if [ ! -f "$file" ]; then fail "$page not built"; continue; fi
    man --warnings -l "$file" >"$tmp/out" 2>"$tmp/err"
    st=$?
    name=${page%.*}
    if [ $st -eq 0 ] && [ ! -s "$tmp/err" ] && grep -q "^NAME" "$tmp/out" &&
        grep -q "$name - " "$tmp/out"; then
        ok "man -l $page renders ($(wc -l <"$tmp/out") lines)"
    else
        fail "man -l $page: exit $st: $(head -5 "$tmp/err")"
    fi
done

"$bin" help batch >"$tmp/out" 2>"$tmp/err"
if grep -q "consentform-batch - print a form for every patient" "$tmp/out"; then
    ok "consentform help batch shows consentform-batch(1)"
else
    fail "consentform help batch: $(head -5 "$tmp/out" "$tmp/err")"
fi
echo "$failures failure(s)"
[ "$failures" -eq 0 ]
