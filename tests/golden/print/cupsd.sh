# A private CUPS scheduler for the printing tests (sourced by check_print.sh and
# check_serve_print.sh): cupsd started as root on a free loopback port, with its own
# configuration, spool and logs in a temporary folder $tmp, and a queue "ward" whose device is a
# file ($tmp/out/ward.pdf, FileDevice Yes) behind a PDF pass-through filter (CUPS writes nothing
# to a file device without a filter). cupsd is stopped on exit (stop_cupsd, the EXIT trap; a
# test that starts more adds its own stop to the trap). Exits 77 when not run as root: cupsd
# needs it.
# Gives: $tmp, $port, $CUPS_SERVER (exported), ok/fail and $failures, lpstat/lpadmin in English,
# wait_job JOB (completed within 30 s), job_options JOB (the options cupsd gave the filter).
# Needs: cupsd (cups-daemon), lpadmin, lpstat (cups-client), pdftotext (poppler-utils).
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
