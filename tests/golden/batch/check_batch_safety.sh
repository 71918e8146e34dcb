#!/usr/bin/env bash
# End-to-end checks of issue 11 (batch and the issue path): the list read once (a FIFO that
# serves another list on every later open), identity on every page of every file and of the
# combined job, outputs checked against each other and the inputs before the first write,
# dangling links and special files never replaced, archive before delivery, permissions under
# umask 000, manifest cells that cannot run as formulas, identity conflicts inside one list,
# the default name from the form's own label fields, interrupt + --resume, --check.
# Prints "ok"/"FAIL" per check.
set -u
bin=${CF_BINARY:?}
src=${CF_SOURCE_DIR:?}
tmp=$(mktemp -d)
writer=
cleanup() {
    [ -n "$writer" ] && kill "$writer" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1767225600}
failures=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
form=nerve-root-injection
csv=$src/samples/patients.csv
pages_of() { pdfinfo "$1" 2>/dev/null | awk '/^Pages:/ { print $2 }'; }
# Manifest rows with status ok as "row|file|docid|name|hn" (no quoted cells in these lists).
ok_rows() { tr -d '\r' <"$1" | awk -F, '$2 == "ok" { print $1 "|" $3 "|" $4 "|" $8 "|" $9 }'; }

# 1. A list that changes while the batch runs: a FIFO serves list A to the first open and list
#    B (other patients, same row count) to every later one. Read once, only A is printed, and
#    every page carries the identity its file name, manifest row and document id say.
printf 'patient_name,hospital_no,episode_no\r\n陳大文,HN10000001(1),E1\r\n李小明,HN10000002(2),E2\r\n張美玲,HN10000003(3),E3\r\n' >"$tmp/A.csv"
printf 'patient_name,hospital_no,episode_no\r\n王五,HN90000001(1),E1\r\n趙六,HN90000002(2),E2\r\n孫七,HN90000003(3),E3\r\n' >"$tmp/B.csv"
#    The writer must not open the FIFO for B while the batch still holds its first open: a reader
#    that has not yet seen the end of A would then read A and B through that one open (the
#    bytes of two writers in one stream, which no reader can tell apart). So B is served only
#    once the batch has closed the list (seen in /proc), and from then on to every open.
mkfifo "$tmp/list.csv"
timeout 120 "$bin" batch --allow-draft "$form" --csv "$tmp/list.csv" --out-dir "$tmp/fifo" --combined "$tmp/fifo/all.pdf" --jobs 2 2>"$tmp/err" &
batch=$!
fifo_id=$(stat -c %d:%i "$tmp/list.csv")
holds_list() { # by device and inode: the path a link in /proc shows may be spelled otherwise
    local l
    for l in /proc/"$1"/fd/*; do [ "$(stat -L -c %d:%i "$l" 2>/dev/null)" = "$fifo_id" ] && return 0; done
    return 1
}
(
    cat "$tmp/A.csv" >"$tmp/list.csv"
    # The first open is the timeout's child (the batch); wait until no process of it holds the list.
    while kill -0 "$batch" 2>/dev/null; do
        held=0
        for p in "$batch" $(pgrep -P "$batch"); do holds_list "$p" && held=1; done
        [ $held -eq 0 ] && break
        sleep 0.02
    done
    for _ in 1 2 3 4 5; do cat "$tmp/B.csv" >"$tmp/list.csv"; done
) &
writer=$!
wait "$batch"
st=$?
# Let the writer finish (each open of the FIFO takes one copy of B).
for _ in 1 2 3 4 5; do kill -0 "$writer" 2>/dev/null || break; timeout 2 cat "$tmp/list.csv" >/dev/null 2>&1; done
kill "$writer" 2>/dev/null; writer=
bad=0; checked=0
while IFS='|' read -r row file docid name hn; do
    f=$tmp/fifo/$file
    case "$file" in "${hn}_"*) ;; *) bad=1; echo "file $file does not carry $hn" ;; esac
    n=$(pages_of "$f")
    for p in $(seq 1 "${n:-0}"); do
        t=$(pdftotext -f "$p" -l "$p" "$f" - 2>/dev/null)
        echo "$t" | grep -qF "$hn" && echo "$t" | grep -qF "$docid" || { bad=1; echo "$file page $p lacks $hn/$docid"; }
        echo "$t" | grep -q 'HN9000000' && { bad=1; echo "$file page $p shows a patient of list B"; }
        checked=$((checked + 1))
    done
    pdftotext "$f" - 2>/dev/null | grep -qF "$name" || { bad=1; echo "$file lacks $name"; }
done < <(ok_rows "$tmp/fifo/manifest.csv")
# The combined job: every page's document id is a manifest row whose hospital number is there.
total=$(pages_of "$tmp/fifo/all.pdf")
for p in $(seq 1 "${total:-0}"); do
    t=$(pdftotext -f "$p" -l "$p" "$tmp/fifo/all.pdf" - 2>/dev/null)
    docid=$(echo "$t" | grep -o 'Document ID [0-9A-Z]*' | awk '{ print $3 }')
    hn=$(ok_rows "$tmp/fifo/manifest.csv" | awk -F'|' -v d="$docid" '$3 == d { print $5 }')
    { [ -n "$docid" ] && [ -n "$hn" ] && echo "$t" | grep -qF "$hn"; } || { bad=1; echo "combined page $p: id '$docid' hn '$hn'"; }
    checked=$((checked + 1))
done
if [ $st -eq 0 ] && [ "$(ok_rows "$tmp/fifo/manifest.csv" | wc -l)" -eq 3 ] && [ $bad -eq 0 ] && [ "${total:-0}" -gt 0 ]; then
    ok "list from a FIFO that changes after the first read: 3 patients of list A, $checked pages checked"
else
    fail "changing list: exit $st, bad=$bad: $(cat "$tmp/err")"
fi

# 2. --combined naming one of the rows' files: refused before anything is written.
"$bin" batch --allow-draft "$form" --csv "$csv" --out-dir "$tmp/c1" --combined "$tmp/c1/HN12345678(9)_HE1234567_$form.pdf" 2>"$tmp/err"
st=$?
if [ $st -eq 73 ] && [ -z "$(ls -A "$tmp/c1" 2>/dev/null)" ] && grep -q 'also the file of row' "$tmp/err"; then ok "--combined over a row's file: exit 73, nothing written"; else fail "--combined over a row: exit $st: $(cat "$tmp/err"); $(ls "$tmp/c1" 2>/dev/null | head -3)"; fi
mkdir -p "$tmp/c2"
"$bin" batch --allow-draft "$form" --csv "$csv" --out-dir "$tmp/c2" 2>/dev/null
cp -r "$tmp/c2" "$tmp/c2.before"
"$bin" batch --allow-draft "$form" --csv "$csv" --out-dir "$tmp/c2" --force --combined "$tmp/c2/./HN12345678(9)_HE1234567_$form.pdf" 2>"$tmp/err"
st=$?
if [ $st -eq 73 ] && diff -r "$tmp/c2" "$tmp/c2.before" >/dev/null; then ok "--force --combined over a row's file: exit 73, every file as it was"; else fail "--force --combined over a row: exit $st"; fi
# The list itself (a hard link in the output folder) is never an output.
mkdir -p "$tmp/c3"
ln "$tmp/A.csv" "$tmp/c3/manifest.csv"
"$bin" batch --allow-draft "$form" --csv "$tmp/A.csv" --out-dir "$tmp/c3" --force 2>"$tmp/err"
st=$?
if [ $st -eq 73 ] && cmp -s "$tmp/A.csv" "$tmp/c3/manifest.csv" && grep -q 'is the patient list' "$tmp/err"; then ok "manifest.csv that is the list (hard link): exit 73, list intact"; else fail "manifest = list: exit $st: $(cat "$tmp/err")"; fi

# 3. Dangling symbolic links named like an output file or manifest.csv: found before any write.
mkdir -p "$tmp/s1" "$tmp/s2"
ln -s "$tmp/nowhere.pdf" "$tmp/s1/HN12345678(9)_HE1234567_$form.pdf"
"$bin" batch --allow-draft "$form" --csv "$csv" --out-dir "$tmp/s1" 2>"$tmp/err"
st=$?
if [ $st -eq 73 ] && [ "$(ls "$tmp/s1" | wc -l)" -eq 1 ] && [ ! -e "$tmp/nowhere.pdf" ]; then ok "dangling link named like a row's file: exit 73, nothing written"; else fail "dangling link: exit $st, $(ls "$tmp/s1" | wc -l) files"; fi
ln -s "$tmp/nowhere.csv" "$tmp/s2/manifest.csv"
"$bin" batch --allow-draft "$form" --csv "$csv" --out-dir "$tmp/s2" --force 2>"$tmp/err"
st=$?
if [ $st -eq 73 ] && [ "$(ls "$tmp/s2" | wc -l)" -eq 1 ] && [ ! -e "$tmp/nowhere.csv" ]; then ok "dangling link as manifest.csv (even with --force): exit 73, nothing written"; else fail "dangling manifest link: exit $st, $(ls "$tmp/s2" | wc -l) files"; fi

# 4. Only regular files are ever replaced: a FIFO (or a device) at -o with --force stays.
mkfifo "$tmp/pipe.pdf"
"$bin" render --allow-draft "$form" --patient-name 陳大文 --hospital-no 'HN1(1)' --episode-no E1 -o "$tmp/pipe.pdf" --force 2>"$tmp/err"
st=$?
if [ $st -eq 73 ] && [ -p "$tmp/pipe.pdf" ] && [ -z "$(ls -A "$tmp" | grep '^\.pipe')" ]; then ok "render -o FIFO --force: exit 73, the FIFO is still there"; else fail "render -o FIFO --force: exit $st"; fi
if [ "$(id -u)" -eq 0 ]; then
    mknod "$tmp/null.pdf" c 1 3
    "$bin" render --allow-draft "$form" --patient-name 陳大文 --hospital-no 'HN1(1)' --episode-no E1 -o "$tmp/null.pdf" --force 2>/dev/null
    st=$?
    [ $st -eq 73 ] && [ -c "$tmp/null.pdf" ] && ok "render -o DEVICE --force as root: the device node stays" || fail "device node replaced (exit $st)"
fi

cp "$src/forms/$form.xml" "$tmp/$form.xml"
"$bin" render --allow-draft "$tmp/$form.xml" --patient-name 陳大文 --hospital-no 'HN1(1)' --episode-no E1 -o "$tmp/$form.xml" --force 2>/dev/null
st=$?
[ $st -eq 73 ] && cmp -s "$src/forms/$form.xml" "$tmp/$form.xml" && ok "render -o FORM --force: exit 73, the form intact" || fail "render over its form: exit $st"

# 5. Permissions: at most 0644/0755 under umask 000; 0600/0700 with --private.
( umask 000; "$bin" batch --allow-draft "$form" --csv "$tmp/A.csv" --out-dir "$tmp/p1" 2>/dev/null
  "$bin" batch --allow-draft "$form" --csv "$tmp/A.csv" --out-dir "$tmp/p2" --private 2>/dev/null
  "$bin" render --allow-draft "$form" --patient-name 陳大文 --hospital-no 'HN1(1)' --episode-no E1 -o "$tmp/p3.pdf" 2>/dev/null )
m1=$(stat -c %a "$tmp/p1" "$tmp/p1"/*.pdf "$tmp/p1/manifest.csv" | sort -u | tr '\n' ' ')
m2=$(stat -c %a "$tmp/p2" "$tmp/p2"/*.pdf "$tmp/p2/manifest.csv" | sort -u | tr '\n' ' ')
m3=$(stat -c %a "$tmp/p3.pdf")
if [ "$m1" = "644 755 " ] && [ "$m2" = "600 700 " ] && [ "$m3" = 644 ]; then ok "umask 000: 0755/0644; --private: 0700/0600; render 0644"; else fail "modes: '$m1' '$m2' '$m3'"; fi

# 6. Archive first: a store that refuses the operator name gets no PDF written; a delivery that
#    fails after the record is voided "not delivered"; ids unique under SOURCE_DATE_EPOCH.
store=$tmp/store
"$bin" archive init "$store" 2>/dev/null
long=$(printf 'x%.0s' $(seq 1 300))
"$bin" render --allow-draft "$form" --patient-name 陳大文 --hospital-no 'HN1(1)' --episode-no E1 -o "$tmp/a1.pdf" --archive "$store" --operator "$long" 2>"$tmp/err"
st=$?
if [ $st -ne 0 ] && [ ! -e "$tmp/a1.pdf" ] && [ -z "$(ls -A "$tmp" | grep '^\.a1')" ]; then ok "render: archive refuses, no PDF (exit $st)"; else fail "render with a refusing store: exit $st, file: $(ls "$tmp/a1.pdf" 2>&1)"; fi
"$bin" batch --allow-draft "$form" --csv "$tmp/A.csv" --out-dir "$tmp/a2" --archive "$store" --operator "$long" 2>"$tmp/err"
st=$?
if [ $st -ne 0 ] && [ -z "$(find "$tmp/a2" -name '*.pdf' 2>/dev/null)" ] && [ "$(tr -d '\r' <"$tmp/a2/manifest.csv" | grep -c ',error,')" -eq 3 ]; then ok "batch: archive refuses, rows fail, no PDF (exit $st)"; else fail "batch with a refusing store: exit $st: $(ls "$tmp/a2")"; fi
if [ -w /dev/full ]; then
    "$bin" render --allow-draft "$form" --patient-name 陳大文 --hospital-no 'HN1(1)' --episode-no E1 -o - --archive "$store" --operator ward7 >/dev/full 2>"$tmp/err"
    st=$?
    id=$("$bin" archive list "$store" 2>/dev/null | grep -o '^[0-9A-Z]\{13\}' | head -1)
    if [ $st -eq 74 ] && [ -n "$id" ] && "$bin" archive show "$store" "$id" 2>/dev/null | grep -q 'not delivered'; then ok "-o - to a full device: exit 74, the archive says not delivered"; else fail "undelivered: exit $st, id '$id': $(cat "$tmp/err")"; fi
fi
"$bin" render --allow-draft "$form" --patient-name 陳大文 --hospital-no 'HN1(1)' --episode-no E1 -o "$tmp/u1.pdf" --archive "$store" --operator ward7 2>"$tmp/e1"
"$bin" render --allow-draft "$form" --patient-name 陳大文 --hospital-no 'HN1(1)' --episode-no E1 -o "$tmp/u2.pdf" --archive "$store" --operator ward7 2>"$tmp/e2"
i1=$(grep -o 'document ID [0-9A-Z]*' "$tmp/e1"); i2=$(grep -o 'document ID [0-9A-Z]*' "$tmp/e2")
if [ -n "$i1" ] && [ "$i1" != "$i2" ]; then ok "two issues under SOURCE_DATE_EPOCH with --archive: two ids"; else fail "ids: '$i1' '$i2'"; fi

# 7. Manifest cells that a spreadsheet would run get a leading '.
printf 'patient_name,hospital_no,episode_no\r\n=1+2,HN1(1),E1\r\n@SUM(A1),HN2(2),E2\r\n' >"$tmp/inj.csv"
"$bin" batch --allow-draft "$form" --csv "$tmp/inj.csv" --out-dir "$tmp/inj" 2>/dev/null
m=$(tr -d '\r' <"$tmp/inj/manifest.csv")
if echo "$m" | grep -q ",'=1+2," && echo "$m" | grep -q ",'@SUM(A1)," && ! echo "$m" | grep -q ',=1+2,'; then ok "manifest: =, @ cells written with a leading '"; else fail "manifest injection: $m"; fi

# 8. One list: a hospital number with two names fails both rows; the same patient twice, the second.
printf 'patient_name,hospital_no,episode_no\r\n陳大文,HN1(1),E1\r\n李小明,HN1(1),E2\r\n張美玲,HN3(3),E3\r\n張美玲,HN3(3),E4\r\n' >"$tmp/dup.csv"
"$bin" batch --allow-draft "$form" --csv "$tmp/dup.csv" --out-dir "$tmp/dup" 2>"$tmp/err"
st=$?
m=$(tr -d '\r' <"$tmp/dup/manifest.csv")
if [ $st -eq 65 ] && echo "$m" | grep -q '^2,error,' && echo "$m" | grep -q '^3,error,' && echo "$m" | grep -q '^4,ok,' && echo "$m" | grep -q '^5,error,.*same patient'; then ok "hospital number with two names: both rows fail; same patient twice: the second"; else fail "identity conflicts: exit $st: $m"; fi

# 9. The default file name comes from the form's label fields; {row} is zero-padded.
mkdir -p "$tmp/noepisode"
# The element may span lines (aliases=...): delete from its start to its "/>".
sed '/label-field key="episode_no"/,/\/>/d' "$src/forms/$form.xml" >"$tmp/noepisode/$form.xml"
printf 'patient_name,hospital_no\r\n陳大文,HN1(1)\r\n' >"$tmp/noep.csv"
"$bin" batch --allow-draft "$tmp/noepisode/$form.xml" --csv "$tmp/noep.csv" --out-dir "$tmp/noep" 2>"$tmp/err"
st=$?
if [ $st -eq 0 ] && [ -e "$tmp/noep/HN1(1)_$form.pdf" ]; then ok "form without episode_no: default name HN1(1)_$form.pdf"; else fail "no episode_no: exit $st: $(ls "$tmp/noep" 2>&1) $(cat "$tmp/err")"; fi
awk 'NR == 1 { print; next } NR == 2 { row = $0 } END { for (i = 0; i < 11; i++) { r = row; sub(/HN[0-9]+/, sprintf("HN%08d", 40000000 + i), r); print r } }' "$csv" >"$tmp/eleven.csv"
"$bin" batch --allow-draft "$form" --csv "$tmp/eleven.csv" --out-dir "$tmp/rows" --name '{row}_{form}.pdf' --check 2>/dev/null
if tr -d '\r' <"$tmp/rows/manifest.csv" | grep -q "^2,ok,02_$form.pdf," && tr -d '\r' <"$tmp/rows/manifest.csv" | grep -q "^12,ok,12_$form.pdf,"; then ok "{row} zero-padded to the last row's width"; else fail "{row}: $(head -3 "$tmp/rows/manifest.csv")"; fi

# 10. --check: every row checked and named, the manifest written, no PDF.
if [ -z "$(find "$tmp/rows" -name '*.pdf')" ] && [ "$(tr -d '\r' <"$tmp/rows/manifest.csv" | grep -c ',ok,.*--check')" -eq 11 ]; then ok "--check: 11 rows ok in the manifest, no PDF"; else fail "--check: $(ls "$tmp/rows")"; fi
"$bin" batch --allow-draft "$form" --csv "$tmp/eleven.csv" --out-dir "$tmp/chk2" --check --archive "$tmp/nostore" 2>/dev/null
st=$?
if [ $st -ne 0 ] && [ ! -e "$tmp/chk2" ]; then ok "--check with a folder that is no store: exit $st, nothing written"; else fail "--check, no store: exit $st"; fi
"$bin" batch --allow-draft "$form" --csv "$tmp/eleven.csv" --out-dir "$tmp/rows" --name '{row}_{form}.pdf' --resume 2>"$tmp/err"
st=$?
if [ $st -eq 0 ] && [ "$(find "$tmp/rows" -name '*.pdf' | wc -l)" -eq 11 ]; then ok "--resume after --check prints the 11 rows"; else fail "resume after check: exit $st: $(cat "$tmp/err")"; fi

# 11. SIGINT: no new rows, a manifest with not-printed rows, exit 130, no hidden files; --resume
#     finishes, keeping (and not archiving again) what was printed.
awk 'NR == 1 { print; next } NR == 2 { row = $0 } END { for (i = 0; i < 150; i++) { r = row; sub(/HN[0-9]+/, sprintf("HN%08d", 50000000 + i), r); print r } }' "$csv" >"$tmp/long.csv"
store2=$tmp/store2
"$bin" archive init "$store2" 2>/dev/null
"$bin" batch --allow-draft "$form" --csv "$tmp/long.csv" --out-dir "$tmp/int" --jobs 1 --archive "$store2" --operator ward7 2>"$tmp/err" &
pid=$!
for _ in $(seq 1 200); do [ "$(find "$tmp/int" -name '*.pdf' 2>/dev/null | wc -l)" -ge 3 ] && break; sleep 0.05; done
kill -INT $pid
wait $pid
st=$?
m=$(tr -d '\r' <"$tmp/int/manifest.csv" 2>/dev/null)
n_ok=$(echo "$m" | grep -c ',ok,'); n_np=$(echo "$m" | grep -c ',not-printed,.*interrupted')
if [ $st -eq 130 ] && [ "$n_ok" -ge 3 ] && [ "$n_np" -ge 1 ] && [ $((n_ok + n_np)) -eq 150 ] &&
    [ "$(find "$tmp/int" -name '*.pdf' | wc -l)" -eq "$n_ok" ] && [ -z "$(ls -A "$tmp/int" | grep '^\.')" ]; then
    ok "SIGINT: exit 130, $n_ok printed, $n_np not-printed in the manifest, no hidden files"
else
    fail "SIGINT: exit $st, ok $n_ok, not-printed $n_np: $(tail -2 "$tmp/err")"
fi
"$bin" batch --allow-draft "$form" --csv "$tmp/long.csv" --out-dir "$tmp/int" --jobs 2 --archive "$store2" --operator ward7 --resume 2>"$tmp/err"
st=$?
docs=$("$bin" archive list "$store2" 2>/dev/null | grep -c '^[0-9A-Z]\{13\}')
kept=$(tr -d '\r' <"$tmp/int/manifest.csv" | grep -c 'kept from the earlier run')
if [ $st -eq 0 ] && [ "$(find "$tmp/int" -name '*.pdf' | wc -l)" -eq 150 ] && [ "$kept" -eq "$n_ok" ] && [ "$docs" -eq 150 ]; then
    ok "--resume: 150 files, $kept kept, 150 documents in the archive (none twice)"
else
    fail "--resume: exit $st, kept $kept, archive $docs: $(tail -3 "$tmp/err")"
fi
printf 'patient_name,hospital_no,episode_no\r\n陳大文,HN1(1),E1\r\n' >"$tmp/other.csv"
"$bin" batch --allow-draft "$form" --csv "$tmp/other.csv" --out-dir "$tmp/int" --resume 2>"$tmp/err"
st=$?
if [ $st -eq 65 ] && grep -q 'SHA-256 differs' "$tmp/err"; then ok "--resume with another list: refused (exit 65)"; else fail "--resume other list: exit $st: $(cat "$tmp/err")"; fi

# A header line among the rows: two Excel exports joined (the second with its own BOM and
# header), a list pasted twice, another export's header. Each is an error for its row (row
# number, "this row repeats the header line" or the cell that holds a column name); no PDF for
# a patient called "Patient Name"; the real patients of both halves print.
{
    printf '\xef\xbb\xbfPatient Name,HN,Episode No,Ward\r\n陳大文,HN10000001(1),E1,3A\r\n'
    printf '\xef\xbb\xbfPatient Name,HN,Episode No,Ward\r\n李小明,HN10000002(2),E2,3B\r\n'
    printf 'Patient Name,HN,Episode No,Ward\r\n姓名,病歷號碼,Case No,Ward\r\n張美玲,Hospital No,E3,3C\r\n'
} >"$tmp/joined.csv"
"$bin" batch --allow-draft "$form" --csv "$tmp/joined.csv" --out-dir "$tmp/joined" 2>"$tmp/err"
st=$?
m=$(tr -d '\r' <"$tmp/joined/manifest.csv" 2>/dev/null)
n_pdf=$(find "$tmp/joined" -name '*.pdf' | wc -l)
if [ $st -eq 65 ] && [ "$n_pdf" -eq 2 ] &&
    echo "$m" | grep -q '^3,error,,,,,"this row repeats the header line' &&
    echo "$m" | grep -q '^5,error,,,,,"this row repeats the header line' &&
    echo "$m" | grep -q '^6,error,,,,,"the patient_name cell (column 1, Patient Name) holds ""姓名""' &&
    echo "$m" | grep -q '^7,error,,,,,"the hospital_no cell (column 2, HN) holds ""Hospital No""' &&
    grep -q 'joined.csv:3: this row repeats the header line' "$tmp/err" &&
    ! find "$tmp/joined" -iname '*patient*' | grep -q . && ! grep -rqi 'Patient Name' "$tmp/joined"/*.pdf; then
    ok "header line among the rows: rows 3, 5, 6, 7 refused (exit 65), the 2 patients printed"
else
    fail "header among rows: exit $st, $n_pdf PDFs: $m $(cat "$tmp/err")"
fi

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
