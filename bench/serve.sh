#!/usr/bin/env bash
# Load benchmark of `consentform serve` (not a test): single leaflets (FORM, default
# nerve-root-injection, issued by an admin with the draft override) issued through POST /issue
# in open loop (bench/serve_load.py: requests at a fixed rate, not waiting for replies) on
# 127.0.0.1 only. First RATE (default 100/s) for SECONDS (default 30): achieved rate, p50, p99,
# peak RSS; then rising rates (10/s to 400/s, in steps of 10/s from 100/s to 150/s), 10 s
# each, up to the highest with p99 <= 100 ms and no error. The machine's load average is
# printed: other work on the cores shows in the figures.
# Every document goes into a scratch store, removed at the end. Bounded: at most 17 steps.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
form=${FORM:-nerve-root-injection}
rate=${1:-100}
seconds=${2:-30}
ninja -C "$build" consentform >/dev/null
bin=$(realpath "$build/consentform")
tmp=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
export CONSENTFORM_FORMS=$PWD/forms CONSENTFORM_FONTS=$PWD/fonts
"$bin" archive init "$tmp/store" 2>/dev/null
echo "bench-admin-password" | CONSENTFORM_TEST_ARGON2=fast "$bin" user add "$tmp/store" bench \
    --role admin >/dev/null 2>&1
"$bin" serve --store "$tmp/store" --listen 127.0.0.1:0 2>"$tmp/log" &
pid=$!
for _ in $(seq 100); do
    grep -q 'serving on' "$tmp/log" 2>/dev/null && break
    sleep 0.1
done
port=$(sed -n 's/.*serving on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/log")
[ -n "$port" ] || { cat "$tmp/log" >&2; exit 1; }
url=http://127.0.0.1:$port
cookie=$(curl -s -D - -o /dev/null -d 'name=bench&password=bench-admin-password' "$url/login" |
    sed -n 's/^Set-Cookie: cf_session=\([0-9a-f]*\);.*/\1/p')
csrf=$(curl -s -H "Cookie: cf_session=$cookie" "$url/" |
    sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' | head -1)
[ -n "$cookie" ] && [ -n "$csrf" ] || { echo "login failed" >&2; exit 1; }
echo "form $form, $(nproc) processors, server pid $pid, open loop on 127.0.0.1:$port"
# Between steps the server drains what is left of the last one (at most 120 s), so that each
# step starts from an idle server.
drain() {
    local i
    for ((i = 0; i < 240; i++)); do
        [ "$(ss -Htn state established "( sport = :$port )" 2>/dev/null | wc -l)" -eq 0 ] &&
            curl -s -m 1 -o /dev/null "$url/login" && return 0
        sleep 0.5
    done
}
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
# A warm-up of 3 s at 50/s, not counted: the form's fonts and bodies and each pool thread's
# glyph cache are made on first use, so the measured runs start from the memory a server in
# use holds (and "memory flat" means no growth per request).
echo "warm-up: $(python3 bench/serve_load.py "$port" "$pid" "$cookie" "$csrf" 50 3 "$form" 2>&1 |
    sed -n 's/.*\(server RSS start [^;]*\).*/\1/p')"
drain
python3 bench/serve_load.py "$port" "$pid" "$cookie" "$csrf" "$rate" "$seconds" "$form" || true
best=0
for r in 10 20 30 40 50 75 100 110 120 130 140 150 200 250 300 400; do
    drain
    if python3 bench/serve_load.py "$port" "$pid" "$cookie" "$csrf" "$r" 10 "$form"; then
        best=$r
    else
        break
    fi
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "highest rate tried with p99 <= 100 ms and no error: ${best}/s"
