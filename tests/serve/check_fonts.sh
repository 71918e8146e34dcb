#!/usr/bin/env bash
# Fonts once per form in a serve process (issue 17 item 1): `consentform serve` keeps, per form,
# the fonts every document of it embeds (subset, checked and compressed on the form's first
# issue) and a body cache. A served document must read and look exactly like `consentform
# render` of the same patient (a subset per document): the same pdftotext output (the document
# id aside, random in an archived issue) and the same pixels at 100 dpi everywhere but the
# footer strip that holds the id and the QR code. The served documents of a form embed the same
# font (the same compressed bytes), a patient's characters the form lacks (𠝹, beyond U+FFFF)
# go into a second, small subset font; with CONSENTFORM_NO_BATCH_FONTS=1 each document has its
# own subset again; the form's bodies, laid out once, are reused by the documents after the
# first. Prints "ok"/"FAIL" per check.
#
# Needs: $CF_BINARY, $CF_SOURCE_DIR (set by meson); curl, pdftotext, pdftoppm, pdffonts,
# pdfinfo (poppler-utils), qpdf, cmp.
set -u
bin=${CF_BINARY:?}
src=${CF_SOURCE_DIR:?}
for tool in curl pdftotext pdftoppm pdffonts qpdf; do
    command -v "$tool" >/dev/null || { echo "FAIL $tool is missing (scripts/setup.sh installs it)"; exit 1; }
done
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1767225600}
export CONSENTFORM_TODAY=2025-06-01 CONSENTFORM_TEST_ARGON2=fast
unset CONSENTFORM_NO_BATCH_FONTS CONSENTFORM_NO_BODY_CACHE
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=serve_lib.sh
. "$(dirname "$0")/serve_lib.sh"
failures=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
forms=$src/tests/data/form
form=sample-consent
cd "$tmp" || exit 1

# start_server STORE: serve (serve_lib.sh) on a free loopback port, logged in as the nurse; the
# server's variables go before the call.
start_server() {
    cf_serve_start "$tmp/serve.log" "$1" "$forms" || exit 1
    cf_serve_login chan.tm 'nurse password 1' || { echo "FAIL login: $(tail -3 "$tmp/serve.log")"; exit 1; }
}
new_store() {
    "$bin" archive init "$1" 2>/dev/null &&
        printf '%s\n' 'nurse password 1' | "$bin" user add "$1" chan.tm --role nurse 2>/dev/null ||
        { echo "FAIL store $1"; exit 1; }
}
# serve_issue NAME HN OUT.pdf: POST /issue as the form page sends it, then the issued PDF through
# /doc/pdf; prints the document id.
serve_issue() {
    curl -s -o issue.html -b "$cf_jar" --data-urlencode "csrf=$cf_csrf" \
        --data-urlencode form=$form --data-urlencode "f_patient_name=$1" \
        --data-urlencode "f_hospital_no=$2" --data-urlencode f_episode_no=HE7654321 \
        --data-urlencode f_procedure_date=2025-06-03 --data-urlencode f_side=right \
        --data-urlencode f_procedures=prp "$cf_url/issue"
    local id
    id=$(sed -n 's/.*Issued and archived<\/span>: <strong>\([0-9A-Z-]*\)<\/strong>.*/\1/p' issue.html)
    [ -n "$id" ] && curl -s -o "$3" -b "$cf_jar" "$cf_url/doc/pdf?id=$id"
    echo "$id"
}
# render_same NAME HN OUT.pdf: `consentform render` of the same patient; prints the id.
render_same() {
    "$bin" render "$forms/$form.xml" -o "$3" -f --patient-name "$1" --hospital-no "$2" \
        --episode-no HE7654321 --set procedure_date=2025-06-03 --set side=right \
        --set procedures=prp 2>render.err &&
        sed -n 's/.*document ID \([0-9A-Z-]*\)[;)].*/\1/p' render.err
}
# same_look SERVED SERVED_ID RENDERED RENDERED_ID: prints what differs (nothing when alike).
same_look() {
    local a=$1 b=$3 d p h
    cmp -s <(pdftotext "$a" - | sed "s/$2/DOCUMENT-ID/g") <(pdftotext "$b" - | sed "s/$4/DOCUMENT-ID/g") ||
        echo "text differs"
    [ "$(pdfinfo "$a" | grep Pages)" = "$(pdfinfo "$b" | grep Pages)" ] || echo "page counts differ"
    d=$(mktemp -d "$tmp/px.XXXXXX")
    # A4 at 100 dpi is 827 x 1170 pixels; the footer (document id, page, QR code) starts below
    # pixel 1070.
    h=1060
    pdftoppm -r 100 -gray -x 0 -y 0 -W 827 -H $h "$a" "$d/a" &&
        pdftoppm -r 100 -gray -x 0 -y 0 -W 827 -H $h "$b" "$d/b" || echo "pdftoppm failed"
    for p in "$d"/a-*.pgm; do
        [ -f "$p" ] || { echo "no page image"; break; }
        cmp -s "$p" "$d/b-${p##*/a-}" || echo "page ${p##*/a-} pixels differ"
    done
    rm -rf "$d"
}
ref() { # pdf object key: the object number the key of object refers to
    qpdf --show-object="$2" "$1" 2>/dev/null | grep -o "/$3 \[* *[0-9]* 0 R" | grep -o '[0-9][0-9]* 0 R' | cut -d' ' -f1
}
font_stream() { # pdf: sha256 of the compressed FontFile2 of the regular font CFSAAA
    local type0 cid desc file
    type0=$(pdffonts "$1" 2>/dev/null | awk '$1 ~ /^CFSAAA\+/ { print $(NF - 1) }')
    cid=$(ref "$1" "$type0" DescendantFonts)
    desc=$(ref "$1" "$cid" FontDescriptor)
    file=$(ref "$1" "$desc" FontFile2)
    [ -n "$file" ] && qpdf --show-object="$file" --raw-stream-data "$1" | sha256sum | cut -d' ' -f1
}
font_names() { pdffonts "$1" 2>/dev/null | awk 'NR > 2 { print substr($1, 1, 6) }' | sort -u | tr '\n' ' '; }

new_store store
start_server store
# Everyday name; a name with a character beyond U+FFFF no form text has; Latin only.
names=('陳大文' '李𠝹明' 'MONTGOMERY-WORTHINGTON Christopher')
hns=('HN00012345(6)' 'HN00023456(7)' 'HN00034567(8)')
first_font=
for i in 0 1 2; do
    sid=$(serve_issue "${names[$i]}" "${hns[$i]}" served-$i.pdf)
    rid=$(render_same "${names[$i]}" "${hns[$i]}" rendered-$i.pdf)
    if [ -z "$sid" ] || [ -z "$rid" ] || [ ! -s served-$i.pdf ]; then
        fail "${names[$i]}: served '$sid', rendered '$rid': $(cat render.err) $(grep -o 'role="alert".*' issue.html | head -2)"
        continue
    fi
    diffs=$(same_look served-$i.pdf "$sid" rendered-$i.pdf "$rid")
    [ -z "$diffs" ] && ok "${names[$i]}: served $sid reads and looks like render's $rid (text, pixels at 100 dpi)" ||
        fail "${names[$i]}: served and rendered differ: $diffs"
    qpdf --check served-$i.pdf >/dev/null 2>&1 || fail "${names[$i]}: qpdf --check fails on the served PDF"
    h=$(font_stream served-$i.pdf)
    [ -z "$first_font" ] && first_font=$h
    if [ -n "$h" ] && [ "$h" = "$first_font" ]; then
        ok "${names[$i]}: the form's font is the one made for the form (the same compressed bytes)"
    else
        fail "${names[$i]}: the regular font differs from the first document's ($h / $first_font)"
    fi
done
fonts_1=$(font_names served-1.pdf)
fonts_r=$(font_names rendered-1.pdf)
[[ $fonts_1 == *CFSAAA* && $fonts_1 =~ CFSAA[CD] && ! $fonts_r =~ CFSAA[CD] ]] &&
    ok "李𠝹明: the form's font and a second subset of the patient's own characters ($fonts_1)" ||
    fail "fonts: served $fonts_1, rendered $fonts_r"
pdftotext served-1.pdf - | grep -q '李𠝹明' && ok "李𠝹明 extracts whole from the served PDF" ||
    fail "李𠝹明 not in the served PDF's text"
# The preview is laid out as the issue is.
code=$(curl -s -o preview.html -w '%{http_code}' -b "$cf_jar" \
    --data-urlencode "csrf=$cf_csrf" --data-urlencode form=$form --data-urlencode 'f_patient_name=陳大文' \
    --data-urlencode 'f_hospital_no=HN00012345(6)' --data-urlencode f_episode_no=HE7654321 \
    --data-urlencode f_procedure_date=2025-06-03 --data-urlencode f_side=right \
    --data-urlencode f_procedures=prp "$cf_url/preview")
[ "$code" = 200 ] && grep -q '<svg' preview.html && ok "the preview draws its pages" ||
    fail "preview: HTTP $code"
cf_serve_stop || failures=$((failures + 1))
# The bodies laid out once: the documents after the first reuse them (the label differs, the
# fields the body shows do not).
reused=$(sed -n "s/^consentform: $form [^:]*: \([0-9]*\) bodies reused, \([0-9]*\) laid out$/\1 \2/p" "$tmp/serve.log")
if [ -n "$reused" ] && [ "${reused% *}" -ge 2 ]; then
    ok "the body cache: ${reused% *} bodies reused, ${reused#* } laid out"
else
    fail "the body cache reused no body: '$reused' $(tail -3 "$tmp/serve.log")"
fi

# CONSENTFORM_NO_BATCH_FONTS=1: a subset per document, as before.
new_store store2
CONSENTFORM_NO_BATCH_FONTS=1 CONSENTFORM_NO_BODY_CACHE=1 start_server store2
sid=$(serve_issue '李𠝹明' 'HN00023456(7)' plain.pdf)
rid=$(render_same '李𠝹明' 'HN00023456(7)' rendered-plain.pdf)
fonts_p=$(font_names plain.pdf)
if [ -n "$sid" ] && [[ ! $fonts_p =~ CFSAA[CD] ]] && [ -z "$(same_look plain.pdf "$sid" rendered-plain.pdf "$rid")" ]; then
    ok "CONSENTFORM_NO_BATCH_FONTS=1: one subset per document ($fonts_p), the same look"
else
    fail "CONSENTFORM_NO_BATCH_FONTS=1: $sid, fonts $fonts_p: $(same_look plain.pdf "$sid" rendered-plain.pdf "$rid")"
fi
cf_serve_stop || failures=$((failures + 1))

if [ $failures -ne 0 ]; then
    echo "$failures check(s) failed"
    exit 1
fi
echo "all checks of the served fonts passed"
