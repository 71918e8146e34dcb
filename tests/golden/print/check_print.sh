#!/usr/bin/env bash
# Printing through a real CUPS scheduler (issue 15 item 7): starts its own cupsd as root on a
# loopback port, with its own configuration, spool and logs in a temporary folder, and a queue
# whose device is a file (FileDevice Yes) behind a PDF pass-through filter (CUPS writes nothing
# to a file device without a filter). `render --print` sends a form and `batch --print` a
# combined job; once each job is completed, the file the queue wrote must be the PDF written
# (same bytes, the patient's name in pdftotext), and the job's options as cupsd passed them to
# the filter (its debug log) must say two-sided long edge and A4; with --archive, the store
# records the print (sent-to-printer). cupsd (tests/golden/print/cupsd.sh) is always stopped.
# Skips (exit 77) only when not run as root: cupsd needs it.
#
# Needs: $CF_BINARY, $CF_SOURCE_DIR (set by meson); cupsd (cups-daemon), lpadmin, lpstat
# (cups-client), pdftotext (poppler-utils).
set -u
bin=${CF_BINARY:?}
src=${CF_SOURCE_DIR:?}
. "$(dirname "$0")/cupsd.sh"

# Job id from "consentform: sent FILE to print queue ward as job N" in $tmp/err.
job_id() {
    sed -n 's/^consentform: sent .* to print queue ward as job \([0-9][0-9]*\)$/\1/p' "$tmp/err"
}

cd "$tmp/work" || exit 1
name=陳大文
patient=(--patient-name "$name" --hospital-no 'HN12345678(9)' --episode-no HE1234567)

# 1. render --print: written and archived first, then one job, duplex A4, the same bytes.
"$bin" archive init store 2>/dev/null || fail "archive init"
"$bin" render --allow-draft nerve-root-injection -o form.pdf "${patient[@]}" --archive store --print ward \
    2>"$tmp/err"
rc=$?
job=$(job_id)
if [ $rc -eq 0 ] && [ -n "$job" ] && [ -s form.pdf ]; then
    ok "render --print: exit 0, form.pdf written, job $job reported"
else
    fail "render --print: exit $rc: $(cat "$tmp/err")"
fi
docid=$(sed -n 's/.*document ID \([0-9A-Z]*\)[;)].*/\1/p' "$tmp/err")
"$bin" archive show store "$docid" >/dev/null 2>&1 && ok "render --print: document $docid archived" ||
    fail "render --print: $docid not in the archive"
"$bin" archive show store "$docid" 2>/dev/null | grep -q "sent-to-printer .*reason: print queue ward job $job\$" &&
    ok "render --print: the store records sent-to-printer, ward job $job" ||
    fail "render --print: no sent-to-printer event: $("$bin" archive show store "$docid" 2>&1 | tail -3)"
if [ -n "$job" ] && wait_job "$job"; then
    ok "render --print: job $job completed"
    if cmp -s form.pdf "$tmp/out/ward.pdf"; then
        ok "render --print: the queue wrote the PDF ($(stat -c %s form.pdf) bytes, same bytes)"
    else
        fail "render --print: the queue wrote something else ($(ls -l "$tmp/out"))"
    fi
    pdftotext "$tmp/out/ward.pdf" - 2>/dev/null | grep -q "$name" &&
        ok "render --print: pdftotext of the printed file has $name" ||
        fail "render --print: no patient name in the printed file"
    opts=$(job_options "$job")
    if [[ $opts == *sides=two-sided-long-edge* && $opts == *media=iso_a4_210x297mm* &&
        $opts == *Duplex=DuplexNoTumble* && $opts == *PageSize=A4* ]]; then
        ok "render --print: job options two-sided-long-edge, A4 (Duplex=DuplexNoTumble PageSize=A4)"
    else
        fail "render --print: job options: $opts"
    fi
    grep -q "\[Job $job\].*$name" "$tmp/log/error_log" &&
        fail "render --print: the patient's name is in the job's attributes" ||
        ok "render --print: the job's name and options carry no patient name"
else
    fail "render --print: job $job not completed: $(lpstat -o 2>&1)"
fi

# 2. --paper letter asks for Letter.
"$bin" render --allow-draft nerve-root-injection -o letter.pdf "${patient[@]}" --paper letter --print ward \
    2>"$tmp/err"
job=$(job_id)
if [ -n "$job" ] && wait_job "$job" && [[ $(job_options "$job") == *media=na_letter_8.5x11in* ]]; then
    ok "render --paper letter --print: media na_letter_8.5x11in"
else
    fail "render --paper letter --print: $(cat "$tmp/err") $(job_options "$job")"
fi

# 3. batch --combined --only-combined --print: one job, the combined file, every patient.
csv=$src/samples/patients.csv
rows=$(($(wc -l <"$csv") - 1))
"$bin" batch --allow-draft nerve-root-injection --csv "$csv" --out-dir out --combined out/all.pdf --only-combined \
    --print ward --jobs 2 2>"$tmp/err"
rc=$?
job=$(job_id)
if [ -n "$job" ] && [ -s out/all.pdf ] && [ "$(grep -c 'as job' "$tmp/err")" -eq 1 ]; then
    ok "batch --print: exit $rc, out/all.pdf written, one job ($job) reported"
else
    fail "batch --print: exit $rc: $(cat "$tmp/err")"
fi
if [ -n "$job" ] && wait_job "$job"; then
    cmp -s out/all.pdf "$tmp/out/ward.pdf" &&
        ok "batch --print: the queue wrote the combined PDF ($(stat -c %s out/all.pdf) bytes)" ||
        fail "batch --print: the queue wrote something else"
    names=$(pdftotext "$tmp/out/ward.pdf" - 2>/dev/null | grep -c "$name")
    [ "$names" -ge 2 ] && ok "batch --print: pdftotext of the printed job has $name on its pages" ||
        fail "batch --print: $names lines with $name in the printed job"
    opts=$(job_options "$job")
    [[ $opts == *sides=two-sided-long-edge* && $opts == *media=iso_a4_210x297mm* ]] &&
        ok "batch --print: job options two-sided-long-edge, A4" ||
        fail "batch --print: job options: $opts"
else
    fail "batch --print: job $job not completed"
fi
manifest_rows=$(($(wc -l <out/manifest.csv) - 1))
[ "$manifest_rows" -eq "$rows" ] && ok "batch --print: the manifest lists the $rows rows" ||
    fail "batch --print: manifest has $manifest_rows rows for $rows"

# 4. --simplex prints one-sided.
# With --archive, every row is in the store before the job is sent.
"$bin" archive init store2 2>/dev/null || fail "archive init store2"
"$bin" batch --allow-draft nerve-root-injection --csv "$csv" --out-dir simplex --combined simplex/all.pdf \
    --simplex --archive store2 --print ward --jobs 2 2>"$tmp/err"
job=$(job_id)
if [ -n "$job" ] && wait_job "$job" && [[ $(job_options "$job") == *sides=one-sided* ]]; then
    ok "batch --simplex --print: sides=one-sided, per-row PDFs written too ($(ls simplex | wc -l) files)"
else
    fail "batch --simplex --print: $(cat "$tmp/err")"
fi
archived=$("$bin" archive list store2 2>/dev/null | grep -c nerve-root-injection)
[ "$archived" -eq "$rows" ] && ok "batch --archive --print: the $rows documents are in the store" ||
    fail "batch --archive --print: $archived documents in the store for $rows rows"
sent=0
for d in $(awk -F, 'NR > 1 && $2 == "ok" { print $4 }' simplex/manifest.csv); do
    "$bin" archive show store2 "$d" 2>/dev/null | grep -q "sent-to-printer .*reason: print queue ward job $job\$" &&
        sent=$((sent + 1))
done
[ "$sent" -eq "$rows" ] && ok "batch --archive --print: each of the $rows records says sent-to-printer, ward job $job" ||
    fail "batch --archive --print: $sent of $rows documents record the print"

# 5. batch --print without a combined job is a usage error, before anything is written.
"$bin" batch --allow-draft nerve-root-injection --csv "$csv" --out-dir nocombined --print ward 2>"$tmp/err"
rc=$?
if [ $rc -eq 64 ] && grep -q -- '--combined' "$tmp/err" && [ ! -e nocombined ]; then
    ok "batch --print without --combined: exit 64, says to add --combined"
else
    fail "batch --print without --combined: exit $rc: $(cat "$tmp/err")"
fi
"$bin" render --allow-draft nerve-root-injection -o - "${patient[@]}" --print ward 2>"$tmp/err" >/dev/null
[ $? -eq 64 ] && ok "render -o - --print: exit 64" || fail "render -o - --print: $(cat "$tmp/err")"

# 6. A queue that does not exist: the file is still written (and kept), the exit status says
# it was not printed.
"$bin" render --allow-draft nerve-root-injection -o nowhere.pdf "${patient[@]}" --print no-such-queue 2>"$tmp/err"
rc=$?
if [ $rc -eq 74 ] && [ -s nowhere.pdf ] && grep -q 'written, but not printed' "$tmp/err" &&
    grep -q 'has no queue "no-such-queue"' "$tmp/err"; then
    ok "render --print to a missing queue: exit 74, nowhere.pdf kept: $(grep 'not printed' "$tmp/err")"
else
    fail "render --print to a missing queue: exit $rc: $(cat "$tmp/err")"
fi

# 7. A server that cannot be reached (nothing listens on port 9 of loopback) is told apart.
CUPS_SERVER=127.0.0.1:9 "$bin" render --allow-draft nerve-root-injection -o unreachable.pdf "${patient[@]}" \
    --print ward 2>"$tmp/err"
rc=$?
if [ $rc -eq 74 ] && [ -s unreachable.pdf ] && grep -q '127.0.0.1:9 cannot be reached' "$tmp/err"; then
    ok "render --print, server down: exit 74, unreachable.pdf kept, says the server cannot be reached"
else
    fail "render --print, server down: exit $rc: $(cat "$tmp/err")"
fi

if [ $failures -ne 0 ]; then
    echo "$failures check(s) failed"
    exit 1
fi
echo "all printing checks passed"
