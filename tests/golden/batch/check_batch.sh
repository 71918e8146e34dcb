#!/usr/bin/env bash
# End-to-end checks of `consentform batch` (issue: batch): the sample CSV in UTF-8 and in
# Big5-HKSCS, bad rows reported by row number while good rows are printed, the manifest, no
# overwriting without --force, identical files on a forced re-run, --combined with page numbers
# per patient and --duplex, hostile file-name templates. Prints "ok"/"FAIL" per check.
set -u  # no pipefail: `grep -q` may close a pipe early on purpose
bin=${CF_BINARY:?}
src=${CF_SOURCE_DIR:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1767225600}
failures=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
form=nerve-root-injection
csv=$src/samples/patients.csv

# 1. The sample list: 13 patients, 13 PDFs, a manifest row each, exit 0.
"$bin" batch --allow-draft "$form" --csv "$csv" --out-dir "$tmp/a" --jobs 2 2>"$tmp/err"
st=$?
n_pdf=$(find "$tmp/a" -name '*.pdf' | wc -l)
n_ok=$(grep -c ',ok,' "$tmp/a/manifest.csv" 2>/dev/null)
if [ "$st" -eq 0 ] && [ "$n_pdf" -eq 13 ] && [ "$n_ok" -eq 13 ]; then ok "sample CSV: 13 PDFs, 13 ok rows, exit 0"; else fail "sample CSV: exit $st, $n_pdf PDFs, $n_ok ok rows: $(cat "$tmp/err")"; fi
if head -1 "$tmp/a/manifest.csv" | grep -q $'^row,status,file,document_id,sha256,pages,message,patient_name,hospital_no,override,form_sha256\r$'; then ok "manifest header (CRLF)"; else fail "manifest header: $(head -1 "$tmp/a/manifest.csv" | od -c | head -2)"; fi
# Every PDF's hash is in the manifest, and its text holds that row's patient.
bad=0
while IFS=, read -r row status file docid sha pages msg name hn override form_sha; do
    [ "$row" = row ] && continue
    [ "$(sha256sum "$tmp/a/$file" | cut -d' ' -f1)" = "$sha" ] || bad=1
    pdftotext "$tmp/a/$file" - 2>/dev/null | grep -q "$docid" || bad=1
done < <(tr -d '\r' < "$tmp/a/manifest.csv" | grep ',ok,' | grep -v '"')
[ $bad -eq 0 ] && ok "manifest hashes and document ids match the files" || fail "manifest hash or id mismatch"
if pdftotext "$tmp/a/HN20000003(A)_HE2000003_$form.pdf" - 2>/dev/null | grep -q '李志堃'; then ok "HKSCS name 李志堃 printed"; else fail "李志堃 missing"; fi

# 2. The same list saved by Excel as Big5-HKSCS: the same files, byte for byte.
"$bin" batch --allow-draft "$form" --csv "$src/samples/patients-big5hkscs.csv" --encoding big5-hkscs --out-dir "$tmp/b" 2>"$tmp/err"
if [ $? -eq 0 ] && diff -r -x manifest-source.csv "$tmp/a" "$tmp/b" >/dev/null; then ok "Big5-HKSCS CSV gives identical PDFs and manifest"; else fail "Big5-HKSCS run differs: $(cat "$tmp/err")"; fi
"$bin" batch --allow-draft "$form" --csv "$src/samples/patients-big5hkscs.csv" --out-dir "$tmp/c" 2>"$tmp/err"
st=$?
if [ $st -eq 65 ] && grep -q -- '--encoding big5-hkscs' "$tmp/err" && [ ! -e "$tmp/c/manifest.csv" ]; then ok "auto encoding on Big5 stops, suggesting --encoding big5-hkscs"; else fail "auto on Big5: exit $st: $(cat "$tmp/err")"; fi

# 3. Bad rows: reported with their row numbers; every good row still printed; exit 65.
{
    printf '\xef\xbb\xbfpatient_name,hospital_no,episode_no\r\n'
    printf '陳大文,HN1,E1\r\n'                              # row 2 ok
    printf '陳\xf0\x9f\x98\x80,HN2,E2\r\n'                   # row 3 U+1F600, not in the font
    printf '李小明,,E3\r\n'                                  # row 4 no hospital no
    printf '"張\n三",HN4,E4\r\n'                              # row 5 line break in a label value
    printf '陳大文,hn1,E1\r\n'                               # row 6 (rows count records, as a
    printf ',,\r\n'                                          # row 7  spreadsheet does): same file
    printf '何美玲,HN5,E5\r\n'                               # row 8  name as row 2; empty; ok
} >"$tmp/bad.csv"
"$bin" batch --allow-draft "$form" --csv "$tmp/bad.csv" --out-dir "$tmp/d" 2>"$tmp/err"
st=$?
m=$(tr -d '\r' < "$tmp/d/manifest.csv" 2>/dev/null)
if [ $st -eq 65 ] && [ "$(find "$tmp/d" -name '*.pdf' | wc -l)" -eq 2 ] &&
    echo "$m" | grep -q '^2,ok,' && echo "$m" | grep -q '^8,ok,' &&
    echo "$m" | grep '^3,error,' | grep -q 'U+1F600' && echo "$m" | grep '^4,error,' | grep -q 'hospital_no' &&
    echo "$m" | grep -q '^5,error,' && echo "$m" | grep -q '^6,error,' && echo "$m" | grep -q '^7,skipped,' &&
    grep -q ':6: .*same patient as row 2' "$tmp/err"; then
    ok "bad rows 3, 4, 5, 6 reported, empty row 7 skipped, rows 2 and 8 printed, exit 65"
else
    fail "bad rows: exit $st; manifest:"; echo "$m"; cat "$tmp/err"
fi
if grep -q 'bad.csv:3:' "$tmp/err" && grep -q 'bad.csv:4:' "$tmp/err"; then ok "messages name the CSV row"; else fail "messages lack rows: $(cat "$tmp/err")"; fi

# 4. No overwriting without --force; a forced re-run gives identical files.
cp -r "$tmp/a" "$tmp/a.before"
"$bin" batch --allow-draft "$form" --csv "$csv" --out-dir "$tmp/a" 2>"$tmp/err"
st=$?
if [ $st -eq 73 ] && diff -r "$tmp/a" "$tmp/a.before" >/dev/null; then ok "existing output: exit 73, nothing touched"; else fail "existing output: exit $st"; fi
"$bin" batch --allow-draft "$form" --csv "$csv" --out-dir "$tmp/a" --force --jobs 1 2>"$tmp/err"
if [ $? -eq 0 ] && diff -r "$tmp/a" "$tmp/a.before" >/dev/null; then ok "--force re-run (1 job) gives identical files"; else fail "--force re-run differs"; fi

# 5. --combined: every patient in CSV order, pages numbered per patient, each patient padded to an
# even page count by a 此頁空白 page carrying the patient's header (issue 11 item 10).
"$bin" batch --allow-draft "$form" --csv "$csv" --out-dir "$tmp/e" --combined "$tmp/e/all.pdf" 2>"$tmp/err"
per=$(pdfinfo "$tmp/a/HN12345678(9)_HE1234567_$form.pdf" | awk '/^Pages:/ { print $2 }')
per2=$((per + per % 2))
total=$(pdfinfo "$tmp/e/all.pdf" 2>/dev/null | awk '/^Pages:/ { print $2 }')
if [ "${total:-0}" -eq $((13 * per2)) ] && pdftotext -f $((per2 + 1)) -l $((per2 + 1)) "$tmp/e/all.pdf" - 2>/dev/null | grep -q "第 1 頁，共 $per2 頁" &&
    pdftotext -f $((per2 + 1)) -l $((per2 + 1)) "$tmp/e/all.pdf" - 2>/dev/null | grep -q 'HN20000001(3)'; then
    ok "--combined: $total pages, second patient starts at page $((per2 + 1)) with 第 1 頁"
else
    fail "--combined: $total pages (per form $per)"
fi
qpdf --check "$tmp/e/all.pdf" >/dev/null 2>&1 && ok "combined PDF passes qpdf --check" || fail "combined PDF: qpdf"
if [ $((per % 2)) -eq 1 ]; then
    pad=$(pdftotext -f "$per2" -l "$per2" "$tmp/e/all.pdf" - 2>/dev/null)
    if echo "$pad" | grep -q '此頁空白' && echo "$pad" | grep -q 'This page is intentionally left blank' &&
        echo "$pad" | grep -q 'HN12345678(9)' && echo "$pad" | grep -q "第 $per2 頁，共 $per2 頁"; then
        ok "padding page $per2: 此頁空白 with the first patient's header and footer"
    else
        fail "padding page: $pad"
    fi
fi
"$bin" batch --allow-draft "$form" --csv "$csv" --out-dir "$tmp/f" --combined "$tmp/f/all.pdf" --duplex 2>"$tmp/err"
total=$(pdfinfo "$tmp/f/all.pdf" 2>/dev/null | awk '/^Pages:/ { print $2 }')
want=$((13 * per2))
if [ "${total:-0}" -eq "$want" ]; then ok "--duplex (kept as a no-op): $total pages"; else fail "--duplex: $total pages, wanted $want"; fi
"$bin" batch --allow-draft "$form" --csv "$csv" --out-dir "$tmp/s" --combined "$tmp/s/all.pdf" --simplex 2>"$tmp/err"
total=$(pdfinfo "$tmp/s/all.pdf" 2>/dev/null | awk '/^Pages:/ { print $2 }')
if [ "${total:-0}" -eq $((13 * per)) ]; then ok "--simplex: $total pages, no padding"; else fail "--simplex: $total pages, wanted $((13 * per))"; fi
# A print job longer than one part (100 patients): parts joined, padding in every part.
awk 'NR == 1 { print; next } NR == 2 { row = $0 } END { for (i = 0; i < 203; i++) { r = row; sub(/HN[0-9]+/, sprintf("HN%08d", 30000000 + i), r); print r } }' "$csv" >"$tmp/long.csv"
"$bin" batch --allow-draft "$form" --csv "$tmp/long.csv" --out-dir "$tmp/l" --combined "$tmp/l/all.pdf" --only-combined 2>"$tmp/err"
total=$(pdfinfo "$tmp/l/all.pdf" 2>/dev/null | awk '/^Pages:/ { print $2 }')
want=$((203 * per2))
last=$(pdftotext -f "$want" -l "$want" "$tmp/l/all.pdf" - 2>/dev/null)
if [ "${total:-0}" -eq "$want" ] && qpdf --check "$tmp/l/all.pdf" >/dev/null 2>&1 &&
    fonts=$(pdffonts "$tmp/l/all.pdf" | tail -n +3 | awk '{ print $1 }') &&
    # The batch's font per style, and the job's other characters in one more: each once.
    [ "$(echo "$fonts" | wc -l)" -le 4 ] && [ "$(echo "$fonts" | sort -u | wc -l)" -eq "$(echo "$fonts" | wc -l)" ] &&
    echo "$last" | grep -q 'HN30000202' &&
    echo "$last" | grep -q "第 $per2 頁，共 $per2 頁"; then
    ok "203 patients in 3 joined parts: $total pages, fonts once, last page is patient 203's"
else
    fail "long combined job: $total pages, wanted $want"
fi

# 6. File names never leave the output folder.
"$bin" batch --allow-draft "$form" --csv "$csv" --out-dir "$tmp/g" --name '../{hospital_no}.pdf' 2>"$tmp/err"
st=$?
if [ $st -eq 64 ] && [ -z "$(ls "$tmp" | grep -v -E '^(a|a.before|b|c|d|e|f|g|l|s|long.csv|err|bad.csv)$')" ]; then ok "--name '../x' refused (exit 64)"; else fail "--name ../: exit $st"; fi
printf 'patient_name,hospital_no,episode_no\r\n陳大文,../../etc,E1\r\n' >"$tmp/evil.csv"
"$bin" batch --allow-draft "$form" --csv "$tmp/evil.csv" --out-dir "$tmp/h" 2>"$tmp/err"
if [ -z "$(find "$tmp" -maxdepth 1 -name '*.pdf')" ] && [ "$(find "$tmp/h" -name '*.pdf' | wc -l)" -eq 1 ] && ! find "$tmp/h" -name '*.pdf' | grep -q '\.\./'; then
    ok "a value with ../ stays inside the output folder: $(cd "$tmp/h" && ls *.pdf)"
else
    fail "value ../ escaped"
fi

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
