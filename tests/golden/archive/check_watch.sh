#!/usr/bin/env bash
# `archive file STORE --watch DIR` (issue 14 item 2), a ward copier's scan-to-folder: a scan
# moved into the folder is filed by its QR codes and removed, one line for it; a blank form's
# page goes to the inbox (no document id: assigned by hand); busy and hidden names are left
# alone; SIGTERM stops the watch within two seconds with exit 0. Each check prints "ok" or
# "FAIL: why".
#
# Needs: $CF_BINARY, $CF_SOURCE_DIR (set by meson), pdftoppm, img2pdf, ImageMagick's convert.
# shellcheck source=tests/check_prologue.sh
source "${CF_SOURCE_DIR:?}/tests/check_prologue.sh"

store=$tmp/store
drop=$tmp/drop
mkdir "$drop"
"$bin" archive init "$store" >/dev/null 2>&1 || fail "archive init"

# scan_of PDF OUT: the PDF as a scanner would give it back (150 dpi grey JPEG pages in a PDF).
scan_of() {
    pdftoppm -r 150 -gray -png "$1" "$tmp/page" &&
        for p in "$tmp"/page-*.png; do convert "$p" -quality 85 "${p%.png}.jpg" && rm -f "$p"; done &&
        img2pdf "$tmp"/page-*.jpg -o "$2" && rm -f "$tmp"/page-*.jpg
}

"$bin" render --allow-draft nerve-root-injection -o "$tmp/doc.pdf" --archive "$store" \
    --patient-name 陳大文 --hospital-no 'HN12345678(9)' --episode-no HE1234567 2>"$tmp/err" ||
    fail "render --archive: $(cat "$tmp/err")"
id=$(sed -n 's/.*document ID \([0-9A-Z]*\).*/\1/p' "$tmp/err")
scan_of "$tmp/doc.pdf" "$tmp/scan.pdf" || fail "making the scan"
"$bin" render --allow-draft nerve-root-injection -o "$tmp/blank.pdf" --blank 2>/dev/null ||
    fail "render --blank"
pdftoppm -r 150 -gray -f 1 -l 1 -png "$tmp/blank.pdf" "$tmp/blank" && convert "$tmp"/blank-1.png "$tmp/blank.jpg" ||
    fail "making the blank form's scan"

# Names a writer still busy with, and hidden files: never taken.
for name in .hidden.pdf '~lock.pdf' scan.pdf.part copy.tmp; do cp "$tmp/scan.pdf" "$drop/$name"; done

# Wrong uses: exit 64 and 66, nothing watched.
"$bin" archive file "$store" --watch "$drop" "$tmp/scan.pdf" >/dev/null 2>"$tmp/err"
st=$?
[ $st -eq 64 ] && grep -q "give STORE only" "$tmp/err" && ok "--watch with a SCAN too: exit 64" ||
    fail "--watch with a SCAN: exit $st: $(cat "$tmp/err")"
"$bin" archive file "$store" --watch "$tmp/no-such-folder" >/dev/null 2>"$tmp/err"
st=$?
[ $st -eq 66 ] && grep -q "no-such-folder" "$tmp/err" && ok "--watch on a missing folder: exit 66 naming it" ||
    fail "--watch on a missing folder: exit $st: $(cat "$tmp/err")"

"$bin" archive file "$store" --watch "$drop" --operator ward-clerk >"$tmp/out" 2>"$tmp/watch-err" &
pid=$!
sleep 0.5
# The copier writes under a temporary name and renames; the blank form is copied straight in.
cp "$tmp/scan.pdf" "$drop/.incoming.tmp" && mv "$drop/.incoming.tmp" "$drop/ward-scan.pdf"
cp "$tmp/blank.jpg" "$drop/blank-form.jpg"
for _ in $(seq 1 120); do
    [ "$(wc -l <"$tmp/out")" -ge 2 ] && break
    sleep 0.5
done
start=$(date +%s%N)
kill -TERM $pid
wait $pid
st=$?
took=$((($(date +%s%N) - start) / 1000000))
[ $st -eq 0 ] && [ $took -lt 2000 ] && ok "SIGTERM stops the watch in ${took} ms, exit 0" ||
    fail "SIGTERM: exit $st after $took ms: $(cat "$tmp/watch-err")"

line=$(grep '^[^ ]*ward-scan.pdf: ' "$tmp/out")
if [[ $line == *"2 pages read, 1 document filed ($id signature-missing), 0 pages to the inbox; removed" ]] &&
    [ ! -e "$drop/ward-scan.pdf" ]; then
    ok "the scan is filed under its own document and removed: $line"
else
    fail "ward-scan.pdf: [$line] $(cat "$tmp/out" "$tmp/watch-err")"
fi
if "$bin" archive show "$store" "$id" 2>/dev/null | grep -q "signature-missing\|signed copy"; then
    ok "the store holds the signed copy of $id"
else
    fail "archive show $id: $("$bin" archive show "$store" "$id" 2>&1 | head -5)"
fi
line=$(grep '^[^ ]*blank-form.jpg: ' "$tmp/out")
if [[ $line == *"1 page read, 0 documents filed, 1 page to the inbox; removed" ]] &&
    "$bin" archive inbox "$store" 2>/dev/null | grep "blank-form.jpg" | grep -q "blank form (nerve-root-injection@"; then
    ok "the blank form's page is in the inbox as a blank form, to assign by hand"
else
    fail "blank-form.jpg: [$line] $("$bin" archive inbox "$store" 2>&1)"
fi
[ "$(wc -l <"$tmp/out")" -eq 2 ] && ok "one line per file, each file once" || fail "output: $(cat "$tmp/out")"
left=$(cd "$drop" && LC_ALL=C ls -A | LC_ALL=C sort | tr '\n' ' ')
[ "$left" = ".hidden.pdf copy.tmp scan.pdf.part ~lock.pdf " ] && ok "busy and hidden names left alone" ||
    fail "left in the folder: [$left]"
"$bin" archive verify "$store" >/dev/null 2>&1 && ok "verify passes" || fail "verify"

check_summary
