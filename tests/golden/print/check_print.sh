#!/usr/bin/env bash
# Printing through a real CUPS scheduler (issue 15 item 7): starts its own cupsd as root on a
# loopback port, with its own configuration, spool and logs in a temporary folder, and a queue
# whose device is a file (FileDevice Yes) behind a PDF pass-through filter (CUPS writes nothing
# to a file device without a filter). `render --print` sends a form and `batch --print` a
# combined job; once each job is completed, the file the queue wrote must be the PDF written
# (same bytes, the patient's name in pdftotext), and the job's options as cupsd passed them to
# the filter (its debug log) must say two-sided long edge and A4. cupsd is always stopped.
# Skips (exit 77) only when not run as root: cupsd needs it.
#
# Needs: $CF_BINARY, $CF_SOURCE_DIR (set by meson); cupsd (cups-daemon), lpadmin, lpstat
# (cups-client), pdftotext (poppler-utils).
set -u
bin=${CF_BINARY:?}
src=${CF_SOURCE_DIR:?}
if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: starting a private cupsd needs root; run the suite as root to test printing"
    exit 77
fi
for tool in /usr/sbin/cupsd lpadmin lpstat pdftotext; do
    command -v "$tool" >/dev/null || { echo "FAIL $tool is missing (scripts/setup.sh installs it)"; exit 1; }
done
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1767225600}
# CUPS's own tools speak the user's language; the checks read their English output.
lpstat() { LC_ALL=C command lpstat "$@"; }
lpadmin() { LC_ALL=C command lpadmin "$@"; }
tmp=$(mktemp -d)
chmod 755 "$tmp" # the filter runs as lp and must reach its own folder
cupsd_pid=
stop_cupsd() {
    if [ -n "$cupsd_pid" ]; then
        kill "$cupsd_pid" 2>/dev/null
        wait "$cupsd_pid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap stop_cupsd EXIT
trap 'exit 1' INT TERM
failures=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

etc=$tmp/etc
mkdir -p "$etc/ppd" "$etc/ssl" "$tmp/spool/tmp" "$tmp/cache" "$tmp/state" "$tmp/log" "$tmp/out" \
    "$tmp/filter" "$tmp/work"
chmod 755 "$tmp"/*
cat >"$etc/cups-files.conf" <<CONF
FileDevice Yes
ServerRoot $etc
RequestRoot $tmp/spool
TempDir $tmp/spool/tmp
CacheDir $tmp/cache
StateDir $tmp/state
ErrorLog $tmp/log/error_log
AccessLog $tmp/log/access_log
PageLog $tmp/log/page_log
Printcap $tmp/printcap
ServerBin /usr/lib/cups
DataDir /usr/share/cups
SystemGroup root
User lp
Group lp
CONF
# The filter: what it is given goes to the device unchanged.
cat >"$tmp/filter/cf-pdf-pass" <<'FILTER'
#!/bin/sh
if [ -n "$6" ]; then exec cat "$6"; fi
exec cat
FILTER
chmod 755 "$tmp/filter/cf-pdf-pass"
cat >"$tmp/pass.ppd" <<PPD
*PPD-Adobe: "4.3"
*FormatVersion: "4.3"
*FileVersion: "1.0"
*LanguageVersion: English
*LanguageEncoding: ISOLatin1
*PCFileName: "CFPASS.PPD"
*Manufacturer: "consentform tests"
*Product: "(PDF pass-through)"
*ModelName: "PDF pass-through"
*ShortNickName: "PDF pass-through"
*NickName: "PDF pass-through"
*PSVersion: "(3010.000) 0"
*LanguageLevel: "3"
*ColorDevice: False
*DefaultColorSpace: Gray
*FileSystem: False
*Throughput: "1"
*cupsFilter: "application/pdf 0 $tmp/filter/cf-pdf-pass"
*OpenUI *PageSize/Media Size: PickOne
*OrderDependency: 10 AnySetup *PageSize
*DefaultPageSize: A4
*PageSize A4/A4: ""
*PageSize Letter/Letter: ""
*CloseUI: *PageSize
*OpenUI *PageRegion: PickOne
*OrderDependency: 10 AnySetup *PageRegion
*DefaultPageRegion: A4
*PageRegion A4/A4: ""
*PageRegion Letter/Letter: ""
*CloseUI: *PageRegion
*DefaultImageableArea: A4
*ImageableArea A4/A4: "0 0 595 842"
*ImageableArea Letter/Letter: "0 0 612 792"
*DefaultPaperDimension: A4
*PaperDimension A4/A4: "595 842"
*PaperDimension Letter/Letter: "612 792"
*OpenUI *Duplex/Two-Sided: PickOne
*OrderDependency: 20 AnySetup *Duplex
*DefaultDuplex: None
*Duplex None/Off: ""
*Duplex DuplexNoTumble/Long Edge: ""
*Duplex DuplexTumble/Short Edge: ""
*CloseUI: *Duplex
PPD

# A free loopback port: a few tries, each with a fresh cupsd.
for attempt in 1 2 3 4 5; do
    port=$((20000 + (RANDOM % 20000)))
    cat >"$etc/cupsd.conf" <<CONF
Listen 127.0.0.1:$port
LogLevel debug
Browsing No
WebInterface No
DefaultAuthType None
<Location />
  Order allow,deny
  Allow 127.0.0.1
</Location>
<Policy default>
  <Limit All>
    Order deny,allow
  </Limit>
</Policy>
CONF
    /usr/sbin/cupsd -f -c "$etc/cupsd.conf" -s "$etc/cups-files.conf" >"$tmp/log/cupsd.out" 2>&1 &
    cupsd_pid=$!
    export CUPS_SERVER=127.0.0.1:$port
    for _ in $(seq 50); do
        lpstat -r 2>/dev/null | grep -q 'is running' && break
        kill -0 "$cupsd_pid" 2>/dev/null || break
        sleep 0.1
    done
    lpstat -r 2>/dev/null | grep -q 'is running' && break
    kill "$cupsd_pid" 2>/dev/null
    wait "$cupsd_pid" 2>/dev/null
    cupsd_pid=
done
if [ -z "$cupsd_pid" ]; then
    echo "FAIL cupsd did not start: $(tail -5 "$tmp/log/cupsd.out" "$tmp/log/error_log" 2>/dev/null)"
    exit 1
fi
ok "cupsd running on 127.0.0.1:$port (pid $cupsd_pid)"
if lpadmin -p ward -v "file://$tmp/out/ward.pdf" -P "$tmp/pass.ppd" -E 2>"$tmp/err" &&
    lpstat -p ward 2>/dev/null | grep -q enabled; then
    ok "queue ward: file device behind a PDF pass-through filter"
else
    fail "lpadmin: $(cat "$tmp/err")"
    exit 1
fi

# Waits until job $1 of the queue is completed (at most 30 s); fails when it is not.
wait_job() {
    for _ in $(seq 300); do
        lpstat -W completed -o ward 2>/dev/null | grep -q "^ward-$1 " && return 0
        sleep 0.1
    done
    return 1
}
# The options cupsd gave the filter for job $1 (argv[5] in its debug log).
job_options() {
    grep "\[Job $1\] argv\[5\]=" "$tmp/log/error_log" | head -1
}
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
