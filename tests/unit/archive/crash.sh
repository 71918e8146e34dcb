#!/usr/bin/env bash
# Crash safety of the archive store. `consentform archive add` is killed with SIGKILL at random
# points of its run (the delay is drawn from 0 to 1.5 times the time an add takes here), often
# with a second add to the same store running at the same moment; `archive init` is killed the
# same way. Afterwards `archive verify` must pass (an object nobody refers to is only a note),
# every add that reported success must be in the store with its exact bytes, and each document's
# versions must run 1..N without a gap; then, with the index emptied, rebuild-index must bring
# every document and event back from the record objects. CF_CRASH_ROUNDS sets the number of adds (default 60).
set -u
bin=${CF_BINARY:?set CF_BINARY to the consentform binary}
rounds=${CF_CRASH_ROUNDS:-60}
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
failures=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
# Milliseconds now, from bash itself (5.0 or later; a `date` process would skew the timing).
now_ms() { local t=${EPOCHREALTIME/[.,]/}; now=$((t / 1000)); }
# Sleeps a random part of $1 milliseconds without starting a process (that alone takes several
# milliseconds on a busy machine): a read with a timeout on a pipe nobody writes to.
exec {never}<> <(:)
random_sleep() {
    local d
    printf -v d '0.%03d' $((RANDOM % $1))
    read -r -t "$d" -u "$never" _
}

store=$tmp/store
"$bin" archive init "$store" 2>/dev/null || { echo "archive init failed"; exit 1; }
ids=(0000000000000 P0MQ7266T32TK 1FMRZJE5VE4MW 5JBNR0BKTJB0C)
head -c 600000 /dev/urandom >"$tmp/noise"

# Files the store accepts as scans (they parse as PDF or PNG).
. "$(dirname "$0")/scan_files.sh"

# A scan: a PDF or a PNG naming the round, with random bytes of random length (in an
# unreferenced stream of the PDF, after the PNG's end).
make_scan() {
    if [ $((RANDOM % 3)) -eq 0 ]; then
        cf_make_png /dev/stdout "scan $1" "$tmp/noise" $((1000 + RANDOM * 12))
    else
        cf_make_pdf "$tmp/make_scan.pdf" "scan $1" "$tmp/noise" $((1000 + RANDOM * 12))
        cat "$tmp/make_scan.pdf"
    fi
}

# Starts one add in the background; its pid in $!.
start_add() { # id scan out
    "$bin" archive add "$store" --doc-id "$1" "$2" --operator crash --unregistered \
        --form crash-test --patient-name 'Test Patient' --hospital-no HN0 >"$3" 2>&1 &
}

# Kills the add pid after a random part of the window; an add that finished first is recorded
# as completed (id and its scan's hash), a killed one counted.
kill_add() { # pid id scan
    random_sleep "$window"
    kill -9 "$1" 2>/dev/null
    if wait "$1" 2>/dev/null; then
        echo "$2 $(sha256sum <"$3" | cut -c1-64)" >>"$tmp/completed"
    else
        killed=$((killed + 1))
    fi
}

# How long an add takes here (the quickest of three), to spread the kills over its whole run.
: >"$tmp/completed"
add_ms=100000
for k in 1 2 3; do
    make_scan "timing$k" >"$tmp/timing$k"
    now_ms
    t0=$now
    start_add 5JBNR0BKTJB0C "$tmp/timing$k" "$tmp/timing.out"
    wait $!
    st=$?
    now_ms
    t=$((now - t0))
    [ $st -eq 0 ] && echo "5JBNR0BKTJB0C $(sha256sum <"$tmp/timing$k" | cut -c1-64)" >>"$tmp/completed"
    [ "$t" -lt "$add_ms" ] && add_ms=$t
done
[ "$add_ms" -ge 4 ] || add_ms=4
window=$((add_ms * 5 / 4))
[ "$window" -le 999 ] || window=999
echo "an add takes $add_ms ms here; each kill falls 0 to $window ms after the start"

killed=0
for i in $(seq 1 "$rounds"); do
    id=${ids[$((RANDOM % ${#ids[@]}))]}
    make_scan "$i" >"$tmp/scan$i"
    start_add "$id" "$tmp/scan$i" "$tmp/out$i"
    pid=$!
    other=
    if [ $((i % 2)) -eq 0 ]; then # a second writer at the same time, not killed
        id2=${ids[$((RANDOM % ${#ids[@]}))]}
        make_scan "$i-b" >"$tmp/scan$i-b"
        start_add "$id2" "$tmp/scan$i-b" "$tmp/out$i-b"
        other=$!
    fi
    kill_add "$pid" "$id" "$tmp/scan$i"
    if [ -n "$other" ]; then
        if wait "$other"; then
            echo "$id2 $(sha256sum <"$tmp/scan$i-b" | cut -c1-64)" >>"$tmp/completed"
        else
            fail "an add running beside a killed one failed: $(cat "$tmp/out$i-b")"
        fi
    fi
done
# The last writer killed too, with nobody after it to tidy up: verify finds what it left.
for k in 1 2 3; do
    make_scan "final$k" >"$tmp/final$k"
    start_add 0000000000000 "$tmp/final$k" "$tmp/final.out"
    kill_add $! 0000000000000 "$tmp/final$k"
done
rounds=$((rounds + 3))
completed=$(wc -l <"$tmp/completed")

"$bin" archive verify "$store" >"$tmp/verify" 2>&1
st=$?
if [ $st -eq 0 ] && ! grep -v ': note: ' "$tmp/verify" | grep -vq 'objects\? checked:'; then
    ok "verify passes after $killed of $rounds adds were killed ($(tail -1 "$tmp/verify"))"
else
    fail "verify after the kills: exit $st"
    sed 's/^/     /' "$tmp/verify"
fi

# Every completed add is there, byte for byte; versions run 1..N.
missing=0
filed=0
for id in "${ids[@]}"; do
    rm -rf "$tmp/export"
    if ! "$bin" archive show "$store" "$id" >/dev/null 2>&1; then
        grep -q "^$id " "$tmp/completed" && { fail "$id: completed adds, but no document"; missing=$((missing + 1)); }
        continue
    fi
    if ! "$bin" archive export "$store" "$id" -o "$tmp/export" 2>"$tmp/err"; then
        fail "export $id: $(cat "$tmp/err")"
        continue
    fi
    versions=$(grep -o '"version": [0-9]*' "$tmp/export/record.json" | cut -d' ' -f2 | sort -n | tr '\n' ' ')
    n=$(echo "$versions" | wc -w)
    filed=$((filed + n))
    expected=$(seq 1 "$n" | tr '\n' ' ')
    [ "$versions" = "$expected" ] || fail "$id: versions are '$versions', not 1..$n"
    while read -r cid sha; do
        [ "$cid" = "$id" ] || continue
        if ! grep -q "\"sha256\": \"$sha\"" "$tmp/export/record.json"; then
            fail "$id: a completed add (sha256 $sha) is not in the store"
            missing=$((missing + 1))
        fi
    done <"$tmp/completed"
    for f in "$tmp/export"/signed-*; do
        sha=$(sha256sum <"$f" | cut -c1-64)
        grep -q "\"sha256\": \"$sha\"" "$tmp/export/record.json" || fail "$id: exported $(basename "$f") does not match its record"
    done
done
[ "$missing" -eq 0 ] && ok "all $completed completed adds are in the store ($filed versions filed; an add killed after its commit counts too)"

# The store keeps working: one more add, and verify --record.
make_scan last >"$tmp/last"
"$bin" archive add "$store" --doc-id 0000000000000 "$tmp/last" --unregistered --form crash-test \
    --patient-name 'Test Patient' --hospital-no HN0 >/dev/null 2>&1 &&
    "$bin" archive verify "$store" --record >/dev/null 2>&1 &&
    ok "the store is usable after the kills" || fail "the store is not usable after the kills"

# The record objects written beside the rows survived the kills too: with the index lost
# (zero bytes, as a failed copy leaves it), rebuild-index restores every document and event
# that the index had, and nothing else: the records of a change cut off before its commit were
# listed in pending-records, and the add after the kills moved them to rolled-back/.
cp -a "$store" "$tmp/rebuilt"
: >"$tmp/rebuilt/index.sqlite"
rm -f "$tmp/rebuilt/index.sqlite-wal" "$tmp/rebuilt/index.sqlite-shm"
if "$bin" archive rebuild-index "$tmp/rebuilt" >"$tmp/rebuild" 2>&1 &&
    "$bin" archive verify "$tmp/rebuilt" >"$tmp/verify" 2>&1; then
    lost=0
    for id in "${ids[@]}"; do
        "$bin" archive show "$store" "$id" >"$tmp/show.before" 2>/dev/null || continue
        "$bin" archive show "$tmp/rebuilt" "$id" >"$tmp/show.after" 2>/dev/null
        if grep -vxFf "$tmp/show.after" "$tmp/show.before" | grep -q .; then
            lost=$((lost + 1))
            fail "$id: rebuild-index lost: $(grep -vxFf "$tmp/show.after" "$tmp/show.before")"
        fi
        if grep -vxFf "$tmp/show.before" "$tmp/show.after" | grep -q .; then
            lost=$((lost + 1))
            fail "$id: rebuild-index restored what the index never had: $(grep -vxFf "$tmp/show.before" "$tmp/show.after")"
        fi
    done
    [ "$lost" -eq 0 ] && ok "index lost after the kills: rebuild-index restores every document and event, and no other ($(tail -1 "$tmp/rebuild"))"
else
    fail "rebuild-index after the kills: $(cat "$tmp/rebuild" "$tmp/verify")"
fi

# init killed at random: init again, or the first change, finishes it; verify then passes.
bad_inits=0
for i in $(seq 1 15); do
    "$bin" archive init "$tmp/init$i" >/dev/null 2>&1 &
    pid=$!
    random_sleep 40
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    "$bin" archive init "$tmp/init$i" >"$tmp/err" 2>&1
    st=$?
    if { [ $st -ne 0 ] && ! grep -q 'already an archive store' "$tmp/err"; } ||
        ! "$bin" archive verify "$tmp/init$i" >"$tmp/verify" 2>&1; then
        bad_inits=$((bad_inits + 1))
        fail "init killed at random, then init again (exit $st): $(cat "$tmp/err" "$tmp/verify")"
    fi
done
[ "$bad_inits" -eq 0 ] && ok "15 inits killed at random: each store is whole after init is run again"

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
