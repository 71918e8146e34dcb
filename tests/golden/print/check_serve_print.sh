#!/usr/bin/env bash
# The web page's printer (issue 15 items 2 and 3) through a real CUPS scheduler: the private
# cupsd of cupsd.sh, then `consentform serve --printer ward` on an ephemeral loopback port with
# a scratch store and users. With curl, as the page's forms do (session cookie, CSRF token):
#   1. a nurse prints one form: the page shows the job id; the queue wrote exactly the PDF the
#      store keeps (fetched through /doc/pdf); duplex, A4; the store records the print
#      (sent-to-printer, the queue, the job, the nurse); the job's name has no patient value;
#   2. a clerk runs a 30-row list to the printer: one job, duplex A4, every patient's document
#      in it, each document's record says which job and who;
#   3. a stopped queue: the page shows the job id and says the printer is stopped and the job
#      waits; once the queue is started again the job prints;
#   4. a queue that refuses jobs, then cupsd down: the page says it was not printed and why, and
#      that the document is issued and archived; the store has it and /doc/pdf gives it.
# Skips (exit 77) only when not run as root (cupsd needs it).
#
# Needs: $CF_BINARY, $CF_SOURCE_DIR (set by meson); curl, cupsd, lpadmin, lpstat, cupsdisable,
# cupsenable, cupsreject (cups-client), pdftotext, pdfinfo (poppler-utils).
set -u
bin=${CF_BINARY:?}
src=${CF_SOURCE_DIR:?}
. "$(dirname "$0")/cupsd.sh"
# shellcheck source=../../serve/serve_lib.sh
. "$(dirname "$0")/../../serve/serve_lib.sh"
for tool in curl cupsdisable cupsenable cupsreject; do
    command -v "$tool" >/dev/null || { echo "FAIL $tool is missing (scripts/setup.sh installs it)"; exit 1; }
done

cd "$tmp/work" || exit 1
export CONSENTFORM_TEST_ARGON2=fast
store=$tmp/work/store
"$bin" archive init "$store" 2>/dev/null || { fail "archive init"; exit 1; }
printf '%s\n' 'nurse password 1' | "$bin" user add "$store" chan.tm --role nurse 2>/dev/null &&
    printf '%s\n' 'clerk password 1' | "$bin" user add "$store" wong.clerk --role clerk 2>/dev/null ||
    { fail "user add"; exit 1; }

# The test forms (tests/data/form, approved, judged on a day they are in force), on a free
# loopback port (serve_lib.sh, which stops the server on exit before cupsd.sh's trap stops cupsd).
# CUPS's own reasons (a queue not accepting jobs) come in the server's language: English
# (LC_ALL=C.UTF-8) here, which the checks below read.
CONSENTFORM_TODAY=2025-06-01 cf_serve_start "$tmp/serve.log" "$store" "$src/tests/data/form" \
    --printer ward || exit 1
grep -q 'printer ward' "$tmp/serve.log" && ok "serve on ${cf_url#http://} with printer ward" ||
    fail "serve does not say it prints to ward: $(cat "$tmp/serve.log")"

# issue NAME HN: a nurse's POST /issue of sample-consent; the page to $tmp/page.html.
issue() {
    curl -s -o "$tmp/page.html" -w '%{http_code}' -b "$cf_jar" \
        --data-urlencode "csrf=$cf_csrf" --data-urlencode form=sample-consent \
        --data-urlencode "f_patient_name=$1" --data-urlencode "f_hospital_no=$2" \
        --data-urlencode f_episode_no=HE7654321 --data-urlencode f_procedure_date=2025-06-03 \
        --data-urlencode f_side=right "$cf_url/issue"
}
page_id() { sed -n 's/.*Issued and archived<\/span>: <strong>\([0-9A-Z-]*\)<\/strong>.*/\1/p' "$tmp/page.html"; }
page_job() { sed -n 's/.*id="print-job">\([0-9]*\)<.*/\1/p' "$tmp/page.html" | head -1; }
fetch_pdf() { # ID FILE: the issued PDF as the store keeps it
    curl -s -o "$2" -w '%{http_code}' -b "$cf_jar" "$cf_url/doc/pdf?id=$1"
}
printed_event() { # ID JOB USER: the store's record says the document went to ward as JOB by USER
    "$bin" archive show "$store" "$1" 2>/dev/null |
        grep -q "sent-to-printer *by $3 .*reason: print queue ward job $2\$"
}

cf_serve_login chan.tm 'nurse password 1' && ok "nurse logged in (session cookie, CSRF token)" ||
    { fail "nurse login"; exit 1; }

# 1. One form.
name=陳大文
code=$(issue "$name" 'HN00012345(6)')
id=$(page_id)
job=$(page_job)
if [ "$code" = 200 ] && [ -n "$id" ] && [ -n "$job" ]; then
    ok "issue: document $id, the page shows print job $job"
else
    fail "issue: HTTP $code, id '$id', job '$job': $(sed -n 's/.*role="alert"//p' "$tmp/page.html" | head -3)"
fi
if [ -n "$job" ] && wait_job "$job"; then
    code=$(fetch_pdf "$id" issued.pdf)
    if [ "$code" = 200 ] && cmp -s issued.pdf "$tmp/out/ward.pdf"; then
        ok "issue: the queue wrote exactly the archived PDF ($(stat -c %s issued.pdf) bytes)"
    else
        fail "issue: /doc/pdf HTTP $code; the queue wrote $(stat -c %s "$tmp/out/ward.pdf" 2>/dev/null) bytes"
    fi
    pdftotext "$tmp/out/ward.pdf" - 2>/dev/null | grep -q "$name" &&
        ok "issue: pdftotext of the printed file has $name" || fail "issue: no $name in the printed file"
    opts=$(job_options "$job")
    [[ $opts == *sides=two-sided-long-edge* && $opts == *media=iso_a4_210x297mm* ]] &&
        ok "issue: job options two-sided-long-edge, A4" || fail "issue: job options: $opts"
    grep -q "\[Job $job\].*$name" "$tmp/log/error_log" &&
        fail "issue: the patient's name is in the job's attributes" ||
        ok "issue: the job's name and options carry no patient name"
else
    fail "issue: job '$job' not completed: $(lpstat -o 2>&1)"
fi
printed_event "$id" "$job" chan.tm && ok "issue: the store records sent-to-printer, ward job $job, by chan.tm" ||
    fail "issue: no sent-to-printer event: $("$bin" archive show "$store" "$id" 2>&1 | tail -4)"

# 2. Tomorrow's list, 30 rows, to the printer as one job.
cf_serve_login wong.clerk 'clerk password 1' || fail "clerk login"
{
    printf '\xef\xbb\xbfPatient Name,病歷號碼,procedure_date,side\r\n'
    for i in $(seq 0 29); do
        printf '病人%02d 陳,HN%08d(%d),2025-06-0%d,%s\r\n' "$i" $((20000000 + i)) $((i % 10)) \
            $((1 + i % 5)) "$([ $((i % 2)) -eq 1 ] && echo left || echo right)"
    done
} >list.csv
curl -s -o "$tmp/page.html" -b "$cf_jar" -F "csrf=$cf_csrf" -F form=sample-consent \
    -F 'csv=@list.csv;type=text/csv' "$cf_url/list/upload"
token=$(sed -n 's/.*name="list" value="\([0-9a-f]*\)".*/\1/p' "$tmp/page.html" | head -1)
grep -q '30 行' "$tmp/page.html" && grep -q '30 可列印' "$tmp/page.html" && [ -n "$token" ] &&
    ok "list: uploaded, the preflight finds 30 good rows" ||
    fail "list: upload/preflight: $(grep -o 'class="error".*' "$tmp/page.html" | head -3)"
code=$(curl -s -o "$tmp/page.html" -w '%{http_code}' -b "$cf_jar" \
    --data-urlencode "csrf=$cf_csrf" --data-urlencode "list=$token" --data-urlencode action=print \
    --data-urlencode maps= "$cf_url/list/run")
job=$(page_job)
ids=$(grep -o '/doc/pdf?id=[0-9A-Z-]*' "$tmp/page.html" | cut -d= -f2 | sort -u)
n_ids=$(printf '%s\n' "$ids" | grep -c .)
if [ "$code" = 200 ] && [ -n "$job" ] && [ "$n_ids" -eq 30 ]; then
    ok "list: the page shows print job $job and the 30 documents issued"
else
    fail "list: HTTP $code, job '$job', $n_ids documents: $(grep -o 'role="alert".*' "$tmp/page.html" | head -3)"
fi
if [ -n "$job" ] && wait_job "$job"; then
    opts=$(job_options "$job")
    [[ $opts == *sides=two-sided-long-edge* && $opts == *media=iso_a4_210x297mm* ]] &&
        ok "list: one job, options two-sided-long-edge, A4" || fail "list: job options: $opts"
    pdftotext "$tmp/out/ward.pdf" printed.txt 2>/dev/null
    missing=0
    for d in $ids; do grep -q "$d" printed.txt || missing=$((missing + 1)); done
    names=$(grep -c '病人[0-9][0-9] 陳' printed.txt)
    if [ "$n_ids" -eq 30 ] && [ "$missing" -eq 0 ] && [ "$names" -ge 30 ]; then
        ok "list: the printed job holds the 30 documents ($(pdfinfo "$tmp/out/ward.pdf" | awk '/^Pages:/ { print $2 }') pages)"
    else
        fail "list: $missing of $n_ids document ids not in the printed job, $names name lines"
    fi
    # Each document's PDF in the store is one of the job's parts: same text.
    first=$(printf '%s\n' "$ids" | head -1)
    fetch_pdf "$first" first.pdf >/dev/null
    pdftotext first.pdf - 2>/dev/null | head -5 | grep -q . && grep -qF "$(pdftotext first.pdf - | sed -n 3p)" printed.txt &&
        ok "list: the stored PDF of $first reads as its part of the job" ||
        fail "list: the stored PDF of $first is not in the job's text"
else
    fail "list: job '$job' not completed"
fi
bad=0
for d in $ids; do printed_event "$d" "$job" wong.clerk || bad=$((bad + 1)); done
[ -n "$job" ] && [ "$bad" -eq 0 ] && ok "list: each of the 30 records says sent-to-printer, ward job $job, by wong.clerk" ||
    fail "list: $bad documents without the sent-to-printer event"

# 3. A stopped queue takes the job and holds it: the page says so.
cf_serve_login chan.tm 'nurse password 1' || fail "nurse login again"
cupsdisable -r 'paper jam' ward 2>/dev/null
code=$(issue 李小明 'HN00055555(5)')
id=$(page_id)
job=$(page_job)
if [ "$code" = 200 ] && [ -n "$job" ] && grep -q '打印機暫停' "$tmp/page.html" &&
    grep -q 'is stopped.*paper jam.*job '"$job"' waits' "$tmp/page.html"; then
    ok "stopped queue: the page shows job $job and says it waits: $(grep -o 'print queue .* is stopped[^<]*' "$tmp/page.html" | head -1)"
else
    fail "stopped queue: HTTP $code, job '$job': $(grep -A2 'role="alert"' "$tmp/page.html" | head -4)"
fi
cupsenable ward 2>/dev/null
if [ -n "$job" ] && wait_job "$job" && fetch_pdf "$id" held.pdf >/dev/null && cmp -s held.pdf "$tmp/out/ward.pdf"; then
    ok "stopped queue: once started again, job $job printed the archived PDF"
else
    fail "stopped queue: job '$job' did not print after cupsenable"
fi

# 4. A queue that refuses jobs, then no print server: not printed, said so, nothing lost.
cupsreject ward 2>/dev/null
code=$(issue 張三 'HN00066666(6)')
id=$(page_id)
if [ "$code" = 200 ] && [ -n "$id" ] && [ -z "$(page_job)" ] && grep -q '未能列印' "$tmp/page.html" &&
    grep -q 'issued and archived, nothing is lost' "$tmp/page.html" &&
    grep -q 'not accepting' "$tmp/page.html" && ! grep -q "$tmp" "$tmp/page.html"; then
    ok "refusing queue: the page says not printed ($(grep -o 'print queue .*not accepting[^<]*' "$tmp/page.html" | head -1)), no server path"
else
    fail "refusing queue: HTTP $code: $(grep -A3 'role="alert"' "$tmp/page.html" | head -5)"
fi
[ "$(fetch_pdf "$id" refused.pdf)" = 200 ] && pdftotext refused.pdf - | grep -q 張三 &&
    ok "refusing queue: document $id is issued and archived (/doc/pdf)" || fail "refusing queue: $id not in the store"
cupsaccept ward 2>/dev/null

kill "$cupsd_pid" 2>/dev/null
wait "$cupsd_pid" 2>/dev/null
cupsd_pid=
code=$(issue 王五 'HN00077777(7)')
id=$(page_id)
if [ "$code" = 200 ] && [ -n "$id" ] && [ -z "$(page_job)" ] && grep -q '未能列印' "$tmp/page.html" &&
    grep -q 'cannot be reached' "$tmp/page.html" && grep -q 'nothing is lost' "$tmp/page.html"; then
    ok "cupsd down: the page says not printed: $(grep -o 'the print server [^<]*' "$tmp/page.html" | head -1)"
else
    fail "cupsd down: HTTP $code: $(grep -A3 'role="alert"' "$tmp/page.html" | head -5)"
fi
"$bin" archive show "$store" "$id" 2>/dev/null | grep -q 'issued *by chan.tm' &&
    ! "$bin" archive show "$store" "$id" 2>/dev/null | grep -q sent-to-printer &&
    [ "$(fetch_pdf "$id" down.pdf)" = 200 ] &&
    ok "cupsd down: document $id is issued and archived, no print recorded" ||
    fail "cupsd down: $id: $("$bin" archive show "$store" "$id" 2>&1 | tail -3)"
"$bin" archive verify "$store" >/dev/null 2>&1 && ok "archive verify: the store is sound" ||
    fail "archive verify: $("$bin" archive verify "$store" 2>&1 | tail -3)"

cf_serve_stop || failures=$((failures + 1))
if [ $failures -ne 0 ]; then
    echo "$failures check(s) failed"
    exit 1
fi
echo "all checks of the web page's printer passed"
