#!/usr/bin/env bash
# Fonts made once per batch (issue 17 item 1): a 200-row varied list (long names, HKSCS names
# beyond U+FFFF, names sharing no character with the form, Latin names) printed with the
# batch's fonts and without them (CONSENTFORM_NO_BATCH_FONTS=1, a subset per document) gives,
# for every row, the same pdftotext output and the same pixels (pdftoppm at 100 dpi); the
# batch's font is the same object in every PDF, a patient's new characters are in a second
# subset font of the document, and every PDF passes qpdf --check. Prints "ok"/"FAIL" per check.
set -u
bin=${CF_BINARY:?}
tmp=$(mktemp -d)
# shellcheck source=varied_lib.sh
. "$(dirname "$0")/varied_lib.sh"
trap 'rm -rf "$tmp" "$cf_shm"' EXIT
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1767225600}
unset CONSENTFORM_NO_BATCH_FONTS
failures=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
form=nerve-root-injection
rows=${ROWS:-200}

# The varied names (varied_lib.sh), with identities.
cf_varied_names >"$tmp/names"
awk -v n="$rows" -v names="$tmp/names" 'BEGIN {
    while ((getline name < names) > 0) names_[k++] = name
    printf "\xef\xbb\xbfpatient_name,hospital_no,episode_no\r\n"
    for (i = 0; i < n; i++) {
        name = names_[i % k]
        if (index(name, ",") || index(name, "\"")) { gsub(/"/, "\"\"", name); name = "\"" name "\"" }
        printf "%s,HN%08d(%d),HE%07d\r\n", name, 30000000 + i * 7919 % 1000000, i % 10, 2000000 + i
    }
}' >"$tmp/list.csv"

"$bin" batch "$form" --allow-draft --csv "$tmp/list.csv" --out-dir "$tmp/cached" --jobs 2 \
    >/dev/null 2>"$tmp/err1"
st1=$?
CONSENTFORM_NO_BATCH_FONTS=1 "$bin" batch "$form" --allow-draft --csv "$tmp/list.csv" \
    --out-dir "$tmp/plain" --jobs 2 >/dev/null 2>"$tmp/err2"
st2=$?
n1=$(find "$tmp/cached" -name '*.pdf' | wc -l)
n2=$(find "$tmp/plain" -name '*.pdf' | wc -l)
if [ $st1 -eq 0 ] && [ $st2 -eq 0 ] && [ "$n1" -eq "$rows" ] && [ "$n2" -eq "$rows" ]; then
    ok "both paths printed all $rows rows"
else
    fail "cached: exit $st1, $n1 PDFs ($(head -3 "$tmp/err1")); uncached: exit $st2, $n2 PDFs ($(head -3 "$tmp/err2"))"
fi

# Text and pixels of every row, both paths (varied_lib.sh).
cf_compare_dirs "$tmp/cached" "$tmp/plain" >"$tmp/diffs" 2>&1
if [ "$n1" -gt 0 ] && [ ! -s "$tmp/diffs" ]; then
    ok "$n1 rows: the same pdftotext output and the same pixels at 100 dpi, qpdf --check passes"
else
    fail "cached and uncached PDFs differ: $(head -5 "$tmp/diffs")"
fi

# The names came out whole, beyond U+FFFF included.
hkscs=$(find "$tmp/cached" -name '*.pdf' | head -n 40 | while read -r f; do pdftotext "$f" -; done)
if grep -q '李𠝹明' <<<"$hkscs" && grep -q '歐陽𡃁𨋢' <<<"$hkscs" && grep -q '司徒𠵱𡁻𠱁' <<<"$hkscs" &&
    grep -q '鑫燚犇' <<<"$hkscs"; then
    ok "HKSCS names beyond U+FFFF and names sharing no character with the form extract whole"
else
    fail "names missing from the extracted text"
fi

# The cached path: one font per style for the whole batch (the same bytes in every PDF) and a
# second, small subset for a patient's own characters; the uncached path has only one.
f1=$(grep -l . "$tmp/cached"/*.pdf | head -1)
fonts_c=$(pdffonts "$f1" 2>/dev/null | awk 'NR > 2 { print $1 }' | sort | tr '\n' ' ')
row2=$(awk -F, 'NR == 3 { print $2 }' "$tmp/list.csv") # 李𠝹明: 𠝹 is in no form text
f2=$(find "$tmp/cached" -name "${row2}_*.pdf")
fonts_2=$(pdffonts "$f2" 2>/dev/null | awk 'NR > 2 { print $1 }' | sort | tr '\n' ' ')
fonts_p=$(pdffonts "$tmp/plain/${f2##*/}" 2>/dev/null | awk 'NR > 2 { print $1 }' | sort | tr '\n' ' ')
ref() { # pdf object key: the object number the key of object refers to
    qpdf --show-object="$2" "$1" 2>/dev/null | grep -o "/$3 \[* *[0-9]* 0 R" | grep -o '[0-9][0-9]* 0 R' | cut -d' ' -f1
}
font_stream() { # pdf: sha256 of the compressed FontFile2 of the batch's regular font CFSAAA
    local type0 cid desc file
    type0=$(pdffonts "$1" 2>/dev/null | awk '$1 ~ /^CFSAAA\+/ { print $(NF - 1) }')
    cid=$(ref "$1" "$type0" DescendantFonts)
    desc=$(ref "$1" "$cid" FontDescriptor)
    file=$(ref "$1" "$desc" FontFile2)
    [ -n "$file" ] && qpdf --show-object="$file" --raw-stream-data "$1" | sha256sum | cut -d' ' -f1
}
h1=$(font_stream "$f1")
h2=$(font_stream "$f2")
if [[ "$fonts_2" == *CFSAAA* && "$fonts_2" =~ CFSAA[CD] && ! "$fonts_p" =~ CFSAA[CD] ]] &&
    [ -n "$h1" ] && [ "$h1" = "$h2" ]; then
    ok "the batch's font is the same in every PDF; a patient's new characters are a second subset ($fonts_2)"
else
    fail "fonts: first row: $fonts_c; row 2: $fonts_2; uncached: $fonts_p; font file $h1 / $h2"
fi

# Every page's QR code (one image mask) decodes at 150 dpi to "id/page/pages/form@version".
if command -v zbarimg >/dev/null; then
    bad=0
    checked=0
    for f in $(cd "$tmp/cached" && ls -- *.pdf | head -n 12); do
        id=$(pdfinfo "$tmp/cached/$f" | awk '/^Keywords:/ { print $2 }')
        pages=$(pdfinfo "$tmp/cached/$f" | awk '/^Pages:/ { print $2 }')
        rm -f "$tmp"/qr-*.pgm
        pdftoppm -r 150 -gray "$tmp/cached/$f" "$tmp/qr"
        for ((p = 1; p <= pages; p++)); do
            img=$(ls "$tmp"/qr-*"$p".pgm | head -1)
            checked=$((checked + 1))
            [ "$(zbarimg -q --raw "$img" 2>/dev/null)" = "$id/$p/$pages/$form@1.1" ] || bad=$((bad + 1))
        done
    done
    if [ "$checked" -gt 0 ] && [ "$bad" -eq 0 ]; then
        ok "$checked pages: every QR code decodes at 150 dpi"
    else
        fail "$bad of $checked QR codes do not decode at 150 dpi"
    fi
else
    echo "skip QR check (zbarimg not installed)"
fi

# The combined print job of the same list (parts made on two threads, joined in order): every
# part has the same fonts, the text is that of the uncached path, row by row in list order.
"$bin" batch "$form" --allow-draft --csv "$tmp/list.csv" --out-dir "$tmp/cc" --jobs 2 \
    --combined "$tmp/cc/all.pdf" --only-combined >/dev/null 2>"$tmp/err3"
st3=$?
CONSENTFORM_NO_BATCH_FONTS=1 "$bin" batch "$form" --allow-draft --csv "$tmp/list.csv" \
    --out-dir "$tmp/cp" --jobs 1 --combined "$tmp/cp/all.pdf" --only-combined >/dev/null 2>"$tmp/err4"
st4=$?
pages=$(pdfinfo "$tmp/cc/all.pdf" 2>/dev/null | awk '/^Pages:/ { print $2 }')
hn_order=$(pdftotext "$tmp/cc/all.pdf" - 2>/dev/null | grep -o 'HN[0-9]\{8\}([0-9])' | uniq | tr '\n' ' ')
want_order=$(awk -F, 'NR > 1 { print $(NF - 1) }' "$tmp/list.csv" | tr '\n' ' ')
if [ $st3 -eq 0 ] && [ $st4 -eq 0 ] && qpdf --check "$tmp/cc/all.pdf" >/dev/null 2>&1 &&
    [ "${pages:-0}" -ge $((2 * rows)) ] &&
    cmp -s <(pdftotext -layout "$tmp/cc/all.pdf" -) <(pdftotext -layout "$tmp/cp/all.pdf" -) &&
    [ "$hn_order" = "$want_order" ]; then
    ok "--only-combined on 2 threads: $pages pages in list order, the same text as the uncached path"
else
    fail "--only-combined: exit $st3/$st4, $pages pages: $(head -3 "$tmp/err3")"
fi

[ "$failures" -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
