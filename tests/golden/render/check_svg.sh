#!/usr/bin/env bash
# End-to-end checks of `consentform render --format svg` (issue 15 item 6) on both shipped
# forms: every page is well-formed SVG that draws its text as outlines (no <text>, no font),
# and each page, converted to PNG with rsvg-convert, matches the same page of the PDF rendered
# by pdftoppm at the same resolution: at most MAX_DIFF_PERMILLE per mille of the pixels may
# differ by more than half the gray range (anti-aliasing differs along glyph edges). The same
# comparison of page 1 against page 2 must fail, so the check can tell pages apart. Prints the
# figures: SVG bytes per page, milliseconds per page, differing pixels.
#
# Needs: $CF_BINARY (set by meson), rsvg-convert (librsvg2-bin), pdftoppm (poppler-utils),
# compare (imagemagick), xmllint (libxml2-utils); zbarimg (zbar-tools) for the QR code.
set -u
bin=${CF_BINARY:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1767225600}
dpi=100
MAX_DIFF_PERMILLE=30
failures=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
for tool in rsvg-convert pdftoppm compare xmllint; do
    command -v "$tool" >/dev/null || { echo "FAIL $tool is missing (scripts/setup.sh installs it)"; exit 1; }
done

patient=(--patient-name 陳大文 --hospital-no 'HN12345678(9)' --episode-no HE1234567)
tw_patient=(--patient-name 陳大文 --hospital-no 'HN12345678(9)' --set birth_date=1950-03-04)
dpn_sets=(--set procedures=d5w --set site=tarsal_tunnel --set side=left --set procedure_date=2026-12-01)

# Pixels (per mille) of two PNGs that differ by more than half the gray range.
diff_permille() {
    local n total
    n=$(LC_ALL=C compare -metric AE -fuzz 50% "$1" "$2" null: 2>&1 | awk '{print $1}')
    total=$(LC_ALL=C identify -format '%[fx:w*h]' "$1")
    LC_ALL=C awk -v n="$n" -v t="$total" 'BEGIN { printf "%.1f", 1000 * n / t }'
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

for form in nerve-root-injection dpn-injection-consent; do
    who=("${patient[@]}")
    extra=()
    # The Taiwan label has a birth date instead of an episode number.
    [ "$form" = dpn-injection-consent ] && who=("${tw_patient[@]}") && extra=("${dpn_sets[@]}")
    out=$tmp/$form
    if ! "$bin" render --allow-draft "$form" -o "$out.pdf" "${who[@]}" "${extra[@]}" 2>"$tmp/err"; then
        fail "$form: PDF render failed: $(cat "$tmp/err")"
        continue
    fi
    t0=$(now_ms)
    if ! "$bin" render --allow-draft "$form" --format svg -o "$out/" "${who[@]}" "${extra[@]}" 2>"$tmp/err"; then
        fail "$form: SVG render failed: $(cat "$tmp/err")"
        continue
    fi
    t1=$(now_ms)
    pages=$(pdfinfo "$out.pdf" | awk '/^Pages:/ {print $2}')
    svgs=$(ls "$out" | wc -l)
    if [ "$svgs" -eq "$pages" ]; then
        ok "$form: $svgs SVG pages for $pages PDF pages, $(((t1 - t0) / pages)) ms a page (one process)"
    else
        fail "$form: $svgs SVG files for $pages PDF pages"
    fi
    docid=$(sed -n 's/.*(document ID \([0-9A-Z]*\))$/\1/p' "$tmp/err")
    grep -q "wrote $pages SVG pages: $out/page-1.svg" "$tmp/err" &&
        ok "$form: stderr names the first page" || fail "$form: stderr: $(cat "$tmp/err")"
    pdftoppm -r "$dpi" -png "$out.pdf" "$out-pdf"
    for ((p = 1; p <= pages; p++)); do
        svg=$out/page-$p.svg
        if ! xmllint --noout --nonet "$svg" 2>"$tmp/err"; then
            fail "$form page $p: not well-formed: $(head -3 "$tmp/err")"
            continue
        fi
        if grep -q -e '<text' -e 'font-family' "$svg"; then
            fail "$form page $p: needs a font to view"
        fi
        uses=$(grep -o '<use ' "$svg" | wc -l)
        defs=$(grep -o '<path id=' "$svg" | wc -l)
        ids=$(grep -o '<path id="[^"]*"' "$svg" | sort -u | wc -l)
        [ "$defs" -eq "$ids" ] || fail "$form page $p: an outline is defined twice"
        rsvg-convert -d "$dpi" -p "$dpi" -b white "$svg" -o "$out-svg-$p.png"
        pdfpng=$(ls "$out-pdf"-*"$p".png | grep -E -- "-0*$p\.png$" | head -1)
        d=$(diff_permille "$out-svg-$p.png" "$pdfpng")
        if LC_ALL=C awk -v d="$d" -v m="$MAX_DIFF_PERMILLE" 'BEGIN { exit !(d <= m) }'; then
            ok "$form page $p: $(stat -c %s "$svg") bytes, $uses glyphs drawn from $defs outlines, $d per mille of pixels differ from the PDF"
        else
            fail "$form page $p: $d per mille of pixels differ from the PDF page (at most $MAX_DIFF_PERMILLE)"
        fi
    done
    # The QR code drawn by the SVG backend reads back: document id, page, pages, form.
    if command -v zbarimg >/dev/null; then
        qr=$(zbarimg --raw -q "$out-svg-1.png" 2>/dev/null)
        [[ $qr == "$docid/1/$pages/$form@"* ]] && ok "$form: SVG page 1's QR code reads $qr" ||
            fail "$form: QR code of SVG page 1 reads \"$qr\", not $docid/1/$pages/$form@..."
    fi
    # The control: another page of the PDF is far from this one.
    if [ "$pages" -ge 2 ]; then
        other=$(ls "$out-pdf"-*.png | grep -E -- "-0*2\.png$")
        d=$(diff_permille "$out-svg-1.png" "$other")
        if LC_ALL=C awk -v d="$d" -v m="$MAX_DIFF_PERMILLE" 'BEGIN { exit !(d > m) }'; then
            ok "$form: control: SVG page 1 against PDF page 2 differs ($d per mille)"
        else
            fail "$form: control: SVG page 1 against PDF page 2 differs only $d per mille"
        fi
    fi
done

# Naming: a prefix gives PREFIX-N.svg; a final .svg is dropped.
if "$bin" render --allow-draft nerve-root-injection --format svg -o "$tmp/leaflet.svg" "${patient[@]}" 2>"$tmp/err" &&
    [ -f "$tmp/leaflet-1.svg" ] && [ ! -e "$tmp/leaflet.svg" ]; then
    ok "prefix naming: leaflet.svg gives leaflet-1.svg"
else
    fail "prefix naming: $(ls "$tmp"; cat "$tmp/err")"
fi
# All or nothing: one existing page stops the write, and nothing else appears.
mkdir "$tmp/again"
echo older >"$tmp/again/page-2.svg"
"$bin" render --allow-draft nerve-root-injection --format svg -o "$tmp/again" "${patient[@]}" 2>"$tmp/err"
rc=$?
if [ $rc -eq 73 ] && [ ! -e "$tmp/again/page-1.svg" ] && [ "$(cat "$tmp/again/page-2.svg")" = older ] &&
    grep -q 'page-2.svg: exists' "$tmp/err"; then
    ok "an existing page: exit 73, nothing written"
else
    fail "an existing page: exit $rc, $(ls "$tmp/again"), $(cat "$tmp/err")"
fi
"$bin" render --allow-draft nerve-root-injection --format svg -o "$tmp/again" --force "${patient[@]}" 2>/dev/null &&
    [ -s "$tmp/again/page-1.svg" ] && ok "--force replaces the pages" || fail "--force"
# A preview is neither archived nor printed, and is not written to stdout.
for bad in "--archive $tmp/store" "--print ward" "-o -"; do
    # shellcheck disable=SC2086
    "$bin" render --allow-draft nerve-root-injection --format svg -o "$tmp/x/" $bad "${patient[@]}" 2>"$tmp/err" >/dev/null
    rc=$?
    if [ $rc -eq 64 ] && [ ! -e "$tmp/x" ]; then
        ok "--format svg $bad: usage error"
    else
        fail "--format svg $bad: exit $rc: $(cat "$tmp/err")"
    fi
done
"$bin" render --allow-draft nerve-root-injection --format png -o "$tmp/y" "${patient[@]}" 2>/dev/null
[ $? -eq 64 ] && ok "--format png: usage error" || fail "--format png accepted"

if [ $failures -ne 0 ]; then
    echo "$failures check(s) failed"
    exit 1
fi
echo "all SVG checks passed"
