#!/usr/bin/env bash
# End-to-end checks of how `consentform batch` finds a list's columns (issue 12, items 1-2): a
# list as a Hong Kong hospital system and Excel write it (header Ward,Bed,HN,Patient Name,Sex,
# DOB,Episode No; UTF-8 with BOM; CRLF) prints every row with no flag but --csv; --name can
# use any column; an English and a Chinese name column need --map; --map-file and
# $CONSENTFORM_MAP. Prints "ok"/"FAIL" per check.
set -u
bin=${CF_BINARY:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1767225600}
unset CONSENTFORM_MAP
failures=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
form=nerve-root-injection

{
    printf '\xef\xbb\xbfWard,Bed,HN,Patient Name,Sex,DOB,Episode No\r\n'
    printf '3A,12,HN00012345,陳大文,M,1950-01-02,HE123\r\n'
    printf '3A,14,HN00023456,李小明,F,1960-03-04,HE456\r\n'
    printf '5B,2,HN00034567,何美玲,F,1972-11-30,HE789\r\n'
} >"$tmp/export.csv"

# 1. No flag but --csv: every row printed, extra columns no error and no warning.
"$bin" batch --allow-draft "$form" --csv "$tmp/export.csv" --out-dir "$tmp/a" --jobs 1 2>"$tmp/err"
st=$?
n_pdf=$(find "$tmp/a" -name '*.pdf' | wc -l)
if [ $st -eq 0 ] && [ "$n_pdf" -eq 3 ] && [ -e "$tmp/a/HN00012345_HE123_$form.pdf" ] &&
    ! grep -q -i 'warning\|ignored' "$tmp/err"; then
    ok "hospital export: 3 rows printed with no flag but --csv"
else
    fail "hospital export: exit $st, $n_pdf PDFs: $(cat "$tmp/err")"
fi
# The manifest carries the row's name and hospital number and every extra column, in order.
m=$(tr -d '\r' <"$tmp/a/manifest.csv")
if echo "$m" | head -1 | grep -q '^row,status,file,document_id,sha256,pages,message,patient_name,hospital_no,override,form_sha256,Ward,Bed,Sex,DOB$' &&
    echo "$m" | grep -q '^3,ok,HN00023456_HE456_[^,]*,.*,李小明,HN00023456,draft,[0-9a-f]\{64\},3A,14,F,1960-03-04$'; then
    ok "manifest.csv: name, hospital number and the extra columns of each row"
else
    fail "manifest extras: $(echo "$m" | head -3)"
fi
# A failed row keeps its extra columns too, so it is found without going back to Excel.
{
    printf 'Ward,Bed,HN,Patient Name,Episode No\r\n'
    printf '7C,9,HN00099999,,HE999\r\n'
} >"$tmp/bad.csv"
"$bin" batch --allow-draft "$form" --csv "$tmp/bad.csv" --out-dir "$tmp/bad" --jobs 1 2>/dev/null
if tr -d '\r' <"$tmp/bad/manifest.csv" | grep -q '^2,error,.*,7C,9$'; then
    ok "a failed row keeps its extra columns in the manifest"
else
    fail "failed row extras: $(cat "$tmp/bad/manifest.csv")"
fi
if pdftotext "$tmp/a/HN00023456_HE456_$form.pdf" - 2>/dev/null | grep -q '李小明'; then
    ok "the Patient Name column is the name printed"
else
    fail "李小明 not on its form"
fi

# 1b. The same list as Excel's other shapes: Unicode Text (UTF-16LE with BOM, tabs) and Big5.
# Every one prints with no flag but --csv, and gives the same PDFs byte for byte.
{
    printf '\xff\xfe'
    tail -c +4 "$tmp/export.csv" | tr ',' '\t' | iconv -f UTF-8 -t UTF-16LE
} >"$tmp/export-utf16.txt"
tail -c +4 "$tmp/export.csv" | iconv -f UTF-8 -t BIG5-HKSCS >"$tmp/export-big5.csv"
for shape in utf16.txt big5.csv; do
    "$bin" batch --allow-draft "$form" --csv "$tmp/export-$shape" --out-dir "$tmp/s-$shape" \
        --jobs 1 --name '{ward}-{bed}-{hn}.pdf' 2>"$tmp/err"
    st=$?
    same=0
    # Each file of this run beside the same patient's file of the UTF-8 run (default names).
    for pair in 3A-12-HN00012345:HN00012345_HE123 3A-14-HN00023456:HN00023456_HE456 \
        5B-2-HN00034567:HN00034567_HE789; do
        cmp -s "$tmp/s-$shape/${pair%%:*}.pdf" "$tmp/a/${pair#*:}_$form.pdf" && same=$((same + 1))
    done
    if [ $st -eq 0 ] && [ $same -eq 3 ]; then
        ok "the export as $shape: 3 rows printed with no flag but --csv, the same PDFs byte for byte"
    else
        fail "the export as $shape: exit $st, $same of 3 PDFs the same: $(cat "$tmp/err")"
    fi
done
# A Hong Kong name beyond U+FFFF (李𠝹明, U+20779): printed, given back by pdftotext, and the
# same name in the manifest and in the archive record.
"$bin" archive init "$tmp/store" 2>/dev/null
{
    printf 'Ward,Bed,HN,Patient Name,Episode No\r\n'
    printf '3A,15,HN00045678,李\xf0\xa0\x9d\xb9明,HE321\r\n'
} >"$tmp/hkscs.csv"
"$bin" batch --allow-draft "$form" --csv "$tmp/hkscs.csv" --out-dir "$tmp/h" --jobs 1 \
    --archive "$tmp/store" 2>"$tmp/err"
st=$?
name=$(printf '李\xf0\xa0\x9d\xb9明')
doc=$(tr -d '\r' <"$tmp/h/manifest.csv" | awk -F, 'NR == 2 { print $4 }')
if [ $st -eq 0 ] && pdftotext "$tmp/h/HN00045678_HE321_$form.pdf" - 2>/dev/null | grep -q "$name" &&
    tr -d '\r' <"$tmp/h/manifest.csv" | grep -q ",$name,HN00045678," &&
    "$bin" archive show "$tmp/store" "$doc" 2>/dev/null | grep -q "$name"; then
    ok "李𠝹明: printed, pdftotext gives U+20779 back, the manifest and the archive hold the name"
else
    fail "李𠝹明: exit $st: $(cat "$tmp/err")"
fi

# 2. --name with extra columns and an alias column's own name.
"$bin" batch --allow-draft "$form" --csv "$tmp/export.csv" --out-dir "$tmp/b" --jobs 1 \
    --name '{ward}-{bed}-{hn}.pdf' 2>"$tmp/err"
st=$?
if [ $st -eq 0 ] && [ -e "$tmp/b/3A-12-HN00012345.pdf" ] && [ -e "$tmp/b/3A-14-HN00023456.pdf" ] &&
    [ -e "$tmp/b/5B-2-HN00034567.pdf" ]; then
    ok "--name '{ward}-{bed}-{hn}.pdf' names the files"
else
    fail "--name with columns: exit $st: $(ls "$tmp/b" 2>/dev/null | tr '\n' ' ') $(cat "$tmp/err")"
fi
if cmp -s "$tmp/a/HN00012345_HE123_$form.pdf" "$tmp/b/3A-12-HN00012345.pdf"; then
    ok "the same PDF whatever the file name"
else
    fail "PDF differs with --name"
fi
"$bin" batch --allow-draft "$form" --csv "$tmp/export.csv" --out-dir "$tmp/b2" --jobs 1 \
    --name '{WARD}_{Episode No}_{dob}.pdf' 2>"$tmp/err"
if [ $? -eq 0 ] && [ -e "$tmp/b2/3A_HE123_1950-01-02.pdf" ]; then
    ok "placeholders match columns ignoring case and spaces"
else
    fail "{WARD}_{Episode No}_{dob}: $(ls "$tmp/b2" 2>/dev/null | tr '\n' ' ') $(cat "$tmp/err")"
fi
"$bin" batch --allow-draft "$form" --csv "$tmp/export.csv" --out-dir "$tmp/b3" --name '{room}.pdf' 2>"$tmp/err"
st=$?
if [ $st -eq 65 ] && grep -q '{room}, which is neither a field of the form nor a column' "$tmp/err"; then
    ok "a placeholder naming no column is refused, naming it"
else
    fail "{room}: exit $st: $(cat "$tmp/err")"
fi

# 3. An English-name and a Chinese-name column: neither is used, --map decides.
{
    printf 'HN,Name,中文姓名,Episode\r\n'
    printf 'HN1,CHAN TAI MAN,陳大文,E1\r\n'
} >"$tmp/two.csv"
"$bin" batch --allow-draft "$form" --csv "$tmp/two.csv" --out-dir "$tmp/c" 2>"$tmp/err"
st=$?
if [ $st -eq 65 ] && grep -q 'column 2 (Name) and column 3 (中文姓名) could both be patient_name' "$tmp/err" &&
    grep -q -- '--map "Name=patient_name"' "$tmp/err" && [ ! -e "$tmp/c/manifest.csv" ]; then
    ok "two name columns: an error naming both and --map, nothing written"
else
    fail "two name columns: exit $st: $(cat "$tmp/err")"
fi
"$bin" batch --allow-draft "$form" --csv "$tmp/two.csv" --out-dir "$tmp/d" --map '中文姓名=patient_name' \
    --name '{hn}-{name}.pdf' 2>"$tmp/err"
st=$?
if [ $st -eq 0 ] && [ -e "$tmp/d/HN1-CHAN_TAI_MAN.pdf" ] &&
    pdftotext "$tmp/d/HN1-CHAN_TAI_MAN.pdf" - 2>/dev/null | grep -q '陳大文'; then
    ok "--map 中文姓名=patient_name prints the Chinese name; Name stays a column for --name"
else
    fail "--map: exit $st: $(cat "$tmp/err")"
fi

# 4. A site's map file, by option and by $CONSENTFORM_MAP; --map wins over it.
{
    printf 'PID,Pt,Visit\r\n'
    printf 'HN7,王小二,V7\r\n'
} >"$tmp/site.csv"
printf 'column,field\nPID,hospital_no\nPt,patient_name\nVisit,episode_no\n出生日期,birth_date\n' >"$tmp/site-map.csv"
"$bin" batch --allow-draft "$form" --csv "$tmp/site.csv" --out-dir "$tmp/e" --map-file "$tmp/site-map.csv" 2>"$tmp/err"
if [ $? -eq 0 ] && [ -e "$tmp/e/HN7_V7_$form.pdf" ]; then ok "--map-file"; else fail "--map-file: $(cat "$tmp/err")"; fi
CONSENTFORM_MAP="$tmp/site-map.csv" "$bin" batch --allow-draft "$form" --csv "$tmp/site.csv" --out-dir "$tmp/f" 2>"$tmp/err"
if [ $? -eq 0 ] && cmp -s "$tmp/e/HN7_V7_$form.pdf" "$tmp/f/HN7_V7_$form.pdf"; then ok "\$CONSENTFORM_MAP"; else fail "\$CONSENTFORM_MAP: $(cat "$tmp/err")"; fi
"$bin" batch --allow-draft "$form" --csv "$tmp/site.csv" --out-dir "$tmp/g" 2>"$tmp/err"
st=$?
if [ $st -eq 65 ] && grep -q 'needs a column hospital_no' "$tmp/err" && grep -q -- '--map "COLUMN=hospital_no"' "$tmp/err" &&
    grep -q 'its columns are: PID, Pt, Visit' "$tmp/err"; then
    ok "without the map: the missing column's message lists the columns and says how to map"
else
    fail "no map: exit $st: $(cat "$tmp/err")"
fi
CONSENTFORM_MAP="$tmp/nowhere.csv" "$bin" batch --allow-draft "$form" --csv "$tmp/site.csv" --out-dir "$tmp/h" 2>"$tmp/err"
st=$?
if [ $st -eq 66 ] && grep -q 'nowhere.csv' "$tmp/err"; then ok "a missing map file: exit 66 naming it"; else fail "missing map file: exit $st: $(cat "$tmp/err")"; fi
"$bin" batch --allow-draft "$form" --csv "$tmp/site.csv" --out-dir "$tmp/i" --map 'PID' 2>"$tmp/err"
st=$?
if [ $st -eq 64 ] && grep -q 'COLUMN=FIELD' "$tmp/err"; then ok "--map without '=': usage error"; else fail "--map PID: exit $st: $(cat "$tmp/err")"; fi

if [ $failures -gt 0 ]; then
    echo "$failures check(s) failed"
    exit 1
fi
