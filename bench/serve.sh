#!/usr/bin/env bash
# Load benchmark of `consentform serve` (not a test): single leaflets (FORM, default
# nerve-root-injection, issued by an admin with the draft override) issued through POST /issue
# in open loop (bench/serve_load.py: requests at a fixed rate, not waiting for replies) on
# 127.0.0.1 only. First RATE (default 100/s) for SECONDS (default 30): achieved rate, p50, p99,
# peak RSS; then rising rates, 10 s each, up to the highest with p99 <= 100 ms and no error.
# Every document goes into a scratch store, removed at the end. Bounded: at most 8 steps.
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
python3 bench/serve_load.py "$port" "$pid" "$cookie" "$csrf" "$rate" "$seconds" "$form" || true
best=0
for r in 50 100 150 200 300 400 600 800; do
    if python3 bench/serve_load.py "$port" "$pid" "$cookie" "$csrf" "$r" 10 "$form"; then
        best=$r
    else
        break
    fi
done
echo "highest rate tried with p99 <= 100 ms and no error: ${best}/s"
