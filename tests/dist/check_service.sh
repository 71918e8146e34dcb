#!/usr/bin/env bash
# dist/consentform.service (issue 15 item 9): `systemd-analyze verify` accepts it (with ExecStart
# pointing at this build's binary, the only thing verify needs to exist), and it keeps the
# promises made for it: a dedicated user, the store the only writable path, no new privileges,
# a private /tmp, SIGTERM with a stop timeout, and the same store in ExecStart and
# ReadWritePaths. Exit 77 (skipped) without systemd-analyze. Needs $CF_SOURCE_DIR, $CF_BINARY.
set -u
src=${CF_SOURCE_DIR:?}
bin=${CF_BINARY:?}
unit=$src/dist/consentform.service
command -v systemd-analyze >/dev/null || { echo "no systemd-analyze: skipped"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

sed "s|^ExecStart=/usr/bin/consentform |ExecStart=$bin |" "$unit" >"$tmp/consentform.service"
if systemd-analyze verify --man=no "$tmp/consentform.service" >"$tmp/out" 2>&1 && ! [ -s "$tmp/out" ]; then
    ok "systemd-analyze verify: no complaint"
else
    fail "systemd-analyze verify: $(cat "$tmp/out")"
fi
# A unit that verify must refuse, so that the check above can fail.
sed 's/^ProtectSystem=strict/ProtectSystem=very-strict/' "$tmp/consentform.service" >"$tmp/bad.service"
systemd-analyze verify --man=no "$tmp/bad.service" >"$tmp/out" 2>&1
grep -qi "protect system" "$tmp/out" && ok "verify reports a bad setting" ||
    fail "verify let ProtectSystem=very-strict pass: $(cat "$tmp/out")"

# value KEY: the values of KEY= in the [Service] section, one per line.
value() { sed -n '/^\[Service\]/,/^\[/p' "$unit" | sed -n "s/^$1=//p"; }
want() {
    local key=$1 expected=$2 got
    got=$(value "$key" | tr '\n' ' ' | sed 's/ $//')
    [ "$got" = "$expected" ] && ok "$key=$expected" || fail "$key is [$got], expected [$expected]"
}
want User consentform
want ProtectSystem strict
want ReadWritePaths /var/lib/consentform
want NoNewPrivileges yes
want PrivateTmp yes
want KillSignal SIGTERM
want CapabilityBoundingSet ""
[ -n "$(value TimeoutStopSec)" ] && ok "TimeoutStopSec=$(value TimeoutStopSec)" || fail "no TimeoutStopSec"
store=$(value ExecStart | sed -n 's/.* --store \([^ ]*\).*/\1/p')
[ "$store" = "$(value ReadWritePaths)" ] && ok "ExecStart serves the writable store $store" ||
    fail "ExecStart's store [$store] is not ReadWritePaths"
grep -q '^ExecStart=/usr/bin/consentform serve ' "$unit" && ok "ExecStart runs consentform serve" ||
    fail "ExecStart: $(value ExecStart)"

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
