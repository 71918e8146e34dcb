#!/usr/bin/env bash
# Body pages made once (issue 17 item 2, the PDF side): a small list printed with the body
# cache (the body of each page painted once into a content stream of its own, the same bytes in
# every PDF) and without it (CONSENTFORM_NO_BODY_CACHE=1) gives, for every row and for the
# combined print job, the same pdftotext output and the same pixels (pdftoppm at 100 dpi);
# qpdf --check passes. Prints "ok"/"FAIL" per check.
set -u
bin=${CF_BINARY:?}
tmp=$(mktemp -d)
# shellcheck source=varied_lib.sh
. "$(dirname "$0")/varied_lib.sh"
trap 'rm -rf "$tmp" "$cf_shm"' EXIT
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1767225600}
unset CONSENTFORM_NO_BODY_CACHE CONSENTFORM_NO_BATCH_FONTS
failures=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
form=nerve-root-injection

# Everyday names, a long one, HKSCS beyond U+FFFF, Latin only.
printf '\xef\xbb\xbfpatient_name,hospital_no,episode_no\r\n' >"$tmp/list.csv"
i=0
for name in 陳大文 李𠝹明 "CHAN Tai Man" 歐陽鑫燚犇龘麤彧淼燊峯邨喆堃 何家燊 \
    "MONTGOMERY-WORTHINGTON Christopher Alexander" 司徒𠵱𡁻𠱁 張喆; do
    printf '%s,HN%08d(%d),HE%07d\r\n' "$name" $((30000000 + i * 7919)) $((i % 10)) $((2000000 + i)) \
        >>"$tmp/list.csv"
    i=$((i + 1))
done
rows=$i

run() { # dir [env...]: separate PDFs and the combined job
    local dir=$1
    shift
    env "$@" "$bin" batch "$form" --allow-draft --csv "$tmp/list.csv" --out-dir "$tmp/$dir" \
        --jobs 2 --combined "$tmp/$dir-all.pdf" >/dev/null 2>"$tmp/$dir.err"
}
run cached
st1=$?
run plain CONSENTFORM_NO_BODY_CACHE=1
st2=$?
n1=$(find "$tmp/cached" -name '*.pdf' | wc -l)
n2=$(find "$tmp/plain" -name '*.pdf' | wc -l)
if [ $st1 -eq 0 ] && [ $st2 -eq 0 ] && [ "$n1" -eq "$rows" ] && [ "$n2" -eq "$rows" ]; then
    ok "both paths printed all $rows rows and the combined job"
else
    fail "cached: exit $st1, $n1 PDFs ($(head -3 "$tmp/cached.err")); uncached: exit $st2, $n2 PDFs ($(head -3 "$tmp/plain.err"))"
fi

: >"$tmp/diffs"
for f in $(cd "$tmp/cached" && ls -- *.pdf); do
    cf_compare_pdf "$tmp/cached/$f" "$tmp/plain/$f" "$f" >>"$tmp/diffs" 2>&1
done
cf_compare_pdf "$tmp/cached-all.pdf" "$tmp/plain-all.pdf" combined >>"$tmp/diffs" 2>&1
if [ "$n1" -gt 0 ] && [ ! -s "$tmp/diffs" ]; then
    ok "$n1 rows and the combined job: the same text and pixels at 100 dpi, qpdf --check passes"
else
    fail "cached and uncached PDFs differ: $(head -5 "$tmp/diffs")"
fi

# The cached path: pages show a body stream first (/Contents [body own]), whose raw bytes are
# the same in two patients' PDFs; the uncached path has none. In the combined job a body is
# one object per part, far fewer than its pages.
body_hash() { # pdf: sha256 of the raw (compressed) bytes of page 1's first content stream
    local page contents
    page=$(qpdf --show-pages "$1" 2>/dev/null | awk '/^page 1:/ { print $3; exit }')
    contents=$(qpdf --show-object="$page" "$1" 2>/dev/null | grep -o '/Contents \[ *[0-9]*' | grep -o '[0-9]*$')
    [ -n "$contents" ] && qpdf --show-object="$contents" --raw-stream-data "$1" | sha256sum | cut -d' ' -f1
}
f1=$(cd "$tmp/cached" && ls -- *.pdf | sed -n 1p)
f2=$(cd "$tmp/cached" && ls -- *.pdf | sed -n 5p)
h1=$(body_hash "$tmp/cached/$f1")
h2=$(body_hash "$tmp/cached/$f2")
arrays_plain=$(cat "$tmp"/plain/*.pdf | grep -a -c '/Contents \[' || true)
refs=$(grep -a -o '/Contents \[ *[0-9]*' "$tmp/cached-all.pdf" | sort | uniq -c | sort -rn | head -1 | awk '{ print $1 }')
if [ -n "$h1" ] && [ "$h1" = "$h2" ] && [ "$arrays_plain" -eq 0 ] && [ "${refs:-0}" -ge 2 ]; then
    ok "a body stream is the same bytes in two PDFs, one object for ${refs} pages of the combined job"
else
    fail "body streams: '$h1' / '$h2', $arrays_plain arrays without the cache, $refs pages per body object"
fi

[ "$failures" -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
