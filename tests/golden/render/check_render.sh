#!/usr/bin/env bash
# End-to-end checks of `consentform render` on both shipped forms (issue: render). Each check
# prints "ok" or "FAIL: why"; the script fails when any check failed. CF_REGENERATE=1 rewrites
# the pdftotext goldens (tests/golden/render/*.txt); review the diff like code.
#
# Needs: $CF_BINARY, $CF_SOURCE_DIR (set by meson), pdftotext, pdffonts, pdfinfo (poppler-utils),
# gs (ghostscript), qpdf, and for the QR check zbarimg (zbar-tools) and pdftoppm.
set -u  # no pipefail: `grep -q` may close a pipe early on purpose
bin=${CF_BINARY:?}
src=${CF_SOURCE_DIR:?}
golden_dir=$src/tests/golden/render
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1767225600}
failures=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

name=陳大文
hn='HN12345678(9)'
ep=HE1234567
patient=(--patient-name "$name" --hospital-no "$hn" --episode-no "$ep")
# The Taiwan consent's label: 姓名, 病歷號碼, 出生日期 (no episode number); birth_date has no
# option of its own and is given with --set.
born=1950-03-02
tw_patient=(--patient-name "$name" --hospital-no "$hn" --set birth_date=$born)
dpn_sets=(--set procedures=d5w --set site=tarsal_tunnel --set side=left --set procedure_date=2026-12-01)

render() { # form out [args...]
    local form=$1 out=$2
    shift 2
    "$bin" render --allow-draft "$form" -o "$out" "$@" 2>"$tmp/stderr"
}

for form in nerve-root-injection dpn-injection-consent; do
    extra=() who=("${patient[@]}") third=$ep
    if [ "$form" = dpn-injection-consent ]; then
        extra=("${dpn_sets[@]}") who=("${tw_patient[@]}") third=$born
    fi
    pdf=$tmp/$form.pdf
    if ! render "$form" "$pdf" "${who[@]}" "${extra[@]}"; then
        fail "$form: render failed: $(cat "$tmp/stderr")"
        continue
    fi
    ok "$form: rendered ($(stat -c %s "$pdf") bytes)"

    if qpdf --check "$pdf" >"$tmp/qpdf" 2>&1; then ok "$form: qpdf --check"; else fail "$form: qpdf --check: $(tail -3 "$tmp/qpdf")"; fi

    # Every font embedded as a subset (pdffonts: columns emb and sub are "yes").
    fonts=$(pdffonts "$pdf" | tail -n +3)
    if [ -n "$fonts" ] && ! echo "$fonts" | awk '{ if ($(NF-4) != "yes" || $(NF-3) != "yes") bad = 1 } END { exit !bad }'; then
        ok "$form: $(echo "$fonts" | wc -l) fonts, all embedded subsets"
    else
        fail "$form: fonts not all embedded subsets:"; pdffonts "$pdf"
    fi

    # The patient's identity and the page count on every page.
    pages=$(pdfinfo "$pdf" 2>/dev/null | awk '/^Pages:/ { print $2 }')
    for ((p = 1; p <= pages; p++)); do
        text=$(pdftotext -f "$p" -l "$p" -enc UTF-8 "$pdf" - 2>/dev/null)
        for want in "$name" "$hn" "$third" "第 $p 頁，共 $pages 頁"; do
            if [[ "$text" != *"$want"* ]]; then fail "$form page $p: \"$want\" missing"; fi
        done
    done
    ok "$form: identity and 第 n 頁，共 $pages 頁 on each of $pages pages"
    # The leaflet declares <layout max-pages="2">: one duplex sheet, like the paper leaflet.
    if [ "$form" = nerve-root-injection ]; then
        if [ "$pages" = 2 ]; then ok "$form: 2 pages (max-pages)"; else fail "$form: $pages pages, not 2"; fi
    fi

    # pdftotext golden.
    pdftotext -enc UTF-8 "$pdf" "$tmp/$form.txt" 2>/dev/null
    if [ "${CF_REGENERATE:-}" = 1 ]; then
        cp "$tmp/$form.txt" "$golden_dir/$form.txt"
        ok "$form: rewrote $golden_dir/$form.txt"
    elif diff -u "$golden_dir/$form.txt" "$tmp/$form.txt" >"$tmp/diff"; then
        ok "$form: pdftotext matches the golden text"
    else
        fail "$form: pdftotext differs from $golden_dir/$form.txt:"; head -30 "$tmp/diff"
    fi

    # A second reader: Ghostscript draws every page without a complaint and extracts the same
    # characters as poppler (the font objects and ToUnicode maps are ours, not libharu's).
    if gs -q -dNOPAUSE -dBATCH -dSAFER -sDEVICE=txtwrite -sOutputFile="$tmp/$form-gs.txt" "$pdf" \
        >"$tmp/gs.log" 2>&1 && [ ! -s "$tmp/gs.log" ]; then
        # Distinct characters, spaces left out (poppler writes U+3000 and U+00A0 as spaces, gs
        # keeps them).
        chars() {
            sed 's/\xe3\x80\x80//g; s/\xc2\xa0//g' "$1" | tr -d ' \t\r\n\f' | LC_ALL=C.UTF-8 grep -o . |
                LC_ALL=C.UTF-8 sort -u | tr -d '\n'
        }
        if [ "$(chars "$tmp/$form-gs.txt")" = "$(chars "$tmp/$form.txt")" ]; then
            ok "$form: Ghostscript extracts the same characters as pdftotext"
        else
            fail "$form: Ghostscript extracts other characters: $(chars "$tmp/$form-gs.txt" | head -c 200)"
        fi
    else
        fail "$form: Ghostscript cannot read the PDF: $(head -5 "$tmp/gs.log")"
    fi

    # Same inputs and SOURCE_DATE_EPOCH: same bytes, also under a decimal-comma locale.
    render "$form" "$tmp/$form-again.pdf" "${who[@]}" "${extra[@]}"
    if cmp -s "$pdf" "$tmp/$form-again.pdf"; then ok "$form: byte-identical on a second run"; else fail "$form: second run differs"; fi
    if locale -a 2>/dev/null | grep -qi '^de_DE.utf-\?8$'; then
        LC_ALL=de_DE.UTF-8 "$bin" render --allow-draft "$form" -o "$tmp/$form-de.pdf" "${who[@]}" "${extra[@]}" 2>/dev/null
        if cmp -s "$pdf" "$tmp/$form-de.pdf"; then ok "$form: identical under LC_ALL=de_DE.UTF-8"; else fail "$form: de_DE.UTF-8 output differs"; fi
    fi
done

# The QR code on page 2 holds "document id/2/pages/form@version"; the id is in the footer and
# in the document information.
pdf=$tmp/nerve-root-injection.pdf
if command -v zbarimg >/dev/null && [ -f "$pdf" ]; then
    pages=$(pdfinfo "$pdf" 2>/dev/null | awk '/^Pages:/ { print $2 }')
    pdftoppm -r 150 -f 2 -l 2 -png "$pdf" "$tmp/page" 2>/dev/null
    qr=$(zbarimg -q --raw "$tmp"/page*.png 2>/dev/null | head -1)
    id=${qr%%/*}
    if [[ "$qr" =~ ^[0-9A-Z]{13}/2/$pages/nerve-root-injection@1\.1$ ]] &&
        pdftotext -f 2 -l 2 "$pdf" - 2>/dev/null | grep -q "Document ID $id" &&
        pdfinfo "$pdf" 2>/dev/null | grep -q "^Keywords: *$id"; then
        ok "QR on page 2 decodes to $qr"
    else
        fail "QR on page 2 decodes to \"$qr\""
    fi
else
    echo "skip QR check (zbarimg not installed)"
fi

# A Hong Kong name beyond U+FFFF (U+20779, HKSCS) prints on both forms (HK and TW faces): every
# page's label gives the exact characters back, and the fonts are embedded subsets with
# ToUnicode maps.
hk_name="李$(printf '\xf0\xa0\x9d\xb9')明"
for form in nerve-root-injection dpn-injection-consent; do
    extra=(--episode-no "$ep")
    [ "$form" = dpn-injection-consent ] && extra=(--set birth_date=$born "${dpn_sets[@]}")
    pdf=$tmp/$form-hk-name.pdf
    if ! render "$form" "$pdf" --patient-name "$hk_name" --hospital-no "$hn" "${extra[@]}"; then
        fail "$form: name with U+20779 refused: $(cat "$tmp/stderr")"
        continue
    fi
    pages=$(pdfinfo "$pdf" 2>/dev/null | awk '/^Pages:/ { print $2 }')
    found=$(pdftotext -enc UTF-8 "$pdf" - 2>&1 | grep -c -- "$hk_name")
    fonts=$(pdffonts "$pdf" 2>&1 | tail -n +3)
    if [ "${pages:-0}" -ge 1 ] && [ "$found" -ge "$pages" ] &&
        ! echo "$fonts" | grep -qv 'CID TrueType  *Identity-H  *yes yes yes' &&
        qpdf --check "$pdf" >/dev/null 2>&1; then
        ok "$form: name with U+20779 printed, pdftotext gives it back on all $pages pages"
    else
        fail "$form: name with U+20779: $found of ${pages:-?} pages give it back; fonts: $fonts"
    fi
done

# Rejections: exit status, a message naming the problem, and no file.
reject() { # want_status phrase description args...
    local want=$1 phrase=$2 what=$3
    shift 3
    rm -f "$tmp/rejected.pdf"
    "$bin" render --allow-draft "$@" 2>"$tmp/stderr" >/dev/null
    local got=$?
    if [ "$got" -ne "$want" ]; then fail "$what: exit $got, wanted $want: $(cat "$tmp/stderr")"
    elif ! grep -qF -- "$phrase" "$tmp/stderr"; then fail "$what: message lacks \"$phrase\": $(cat "$tmp/stderr")"
    elif [ -e "$tmp/rejected.pdf" ]; then fail "$what: a file was written"
    else ok "$what: exit $got, \"$phrase\""
    fi
}
out=(-o "$tmp/rejected.pdf")
reject 65 U+1F600 "name with U+1F600 (beyond the BMP, not in the font)" nerve-root-injection \
    "${out[@]}" --patient-name "陳$(printf '\xf0\x9f\x98\x80')文" --hospital-no "$hn" --episode-no "$ep"
reject 65 U+0E01 "name with a character the font lacks" nerve-root-injection "${out[@]}" \
    --patient-name "陳$(printf '\xe0\xb8\x81')" --hospital-no "$hn" --episode-no "$ep"
reject 65 patient_name "name with a tab" nerve-root-injection "${out[@]}" \
    --patient-name "$(printf '陳\t大文')" --hospital-no "$hn" --episode-no "$ep"
reject 65 patient_name "name with invalid UTF-8" nerve-root-injection "${out[@]}" \
    --patient-name "$(printf '\xe9\x99')" --hospital-no "$hn" --episode-no "$ep"
reject 65 hospital_no "missing hospital number" nerve-root-injection "${out[@]}" --patient-name "$name"
reject 65 procedure_date "impossible date" dpn-injection-consent "${out[@]}" "${tw_patient[@]}" \
    --set procedure_date=2026-02-30
reject 65 birth_date "Taiwan label without its birth date" dpn-injection-consent "${out[@]}" \
    --patient-name "$name" --hospital-no "$hn" "${dpn_sets[@]}"
reject 65 nosuchfield "unknown --set field" nerve-root-injection "${out[@]}" "${patient[@]}" --set nosuchfield=1
reject 66 no-such-form "unknown form" no-such-form "${out[@]}" "${patient[@]}"
reject 64 --blank "--blank with patient values" nerve-root-injection "${out[@]}" --blank --patient-name "$name"
reject 64 "-o" "no output" nerve-root-injection "${patient[@]}"
# A blank form is never issued: --blank --archive is refused before anything is written, and
# the store is left as it was (not even created).
reject 64 "never archived; drop --archive" "--blank with --archive" nerve-root-injection \
    "${out[@]}" --blank --archive "$tmp/blank-store"
if [ -e "$tmp/blank-store" ]; then fail "--blank --archive: the store was created"; else ok "--blank --archive: no store made"; fi
printf 'keep me' >"$tmp/exists.pdf"
"$bin" render --allow-draft nerve-root-injection -o "$tmp/exists.pdf" "${patient[@]}" 2>"$tmp/stderr"
st=$?
if [ "$st" -eq 73 ] && [ "$(cat "$tmp/exists.pdf")" = "keep me" ]; then ok "existing file kept without --force (exit 73)"; else fail "existing file: exit $st"; fi
if "$bin" render --allow-draft nerve-root-injection -o "$tmp/exists.pdf" --force "${patient[@]}" 2>/dev/null && head -c 5 "$tmp/exists.pdf" | grep -q '%PDF-'; then ok "--force replaces it"; else fail "--force did not replace the file"; fi

# -o - writes the PDF to stdout; --blank renders without patient values.
if "$bin" render --allow-draft nerve-root-injection -o - "${patient[@]}" 2>/dev/null >"$tmp/stdout.pdf" && cmp -s "$tmp/stdout.pdf" "$tmp/nerve-root-injection.pdf"; then
    ok "-o - writes the same PDF to stdout"
else
    fail "-o - output differs"
fi
if render dpn-injection-consent "$tmp/blank.pdf" --blank && qpdf --check "$tmp/blank.pdf" >/dev/null 2>&1 &&
    ! pdftotext "$tmp/blank.pdf" - 2>/dev/null | grep -q "$name"; then
    ok "--blank renders a valid PDF without patient values"
else
    fail "--blank: $(cat "$tmp/stderr")"
fi
# No document id on a blank form: every footer says so, the PDF's keywords say "blank", and
# the command's message names none (the QR code's BLANK payload: tests/unit/scan).
blank_text=$(pdftotext -enc UTF-8 "$tmp/blank.pdf" - 2>/dev/null)
blank_pages=$(pdfinfo "$tmp/blank.pdf" 2>/dev/null | awk '/^Pages:/ {print $2}')
if [[ "$blank_text" != *"Document ID"* ]] &&
    [ "$(grep -c "空白表格 Blank form, no document ID" <<<"$blank_text")" = "$blank_pages" ] &&
    pdfinfo "$tmp/blank.pdf" 2>/dev/null | grep -q '^Keywords: *blank form-sha256=[0-9a-f]\{64\}$' &&
    grep -q "blank form, no document ID" "$tmp/stderr"; then
    ok "--blank: no document id in the footers ($blank_pages pages say \"Blank form\"), keywords or message"
else
    fail "--blank shows a document id or lacks the blank-form footer: $(cat "$tmp/stderr")"
fi
if render nerve-root-injection "$tmp/letter.pdf" "${patient[@]}" --paper letter && pdfinfo "$tmp/letter.pdf" 2>/dev/null | grep -q '612 x 792'; then
    ok "--paper letter gives 612 x 792 pt pages"
else
    fail "--paper letter"
fi

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
