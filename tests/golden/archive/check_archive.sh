#!/usr/bin/env bash
# End-to-end checks of the archive (issue: archive): init, a batch of 13 with --archive, a signed
# scan filed back, `list --unsigned`, `verify` (clean, then with one flipped byte), export, the
# privacy of the store, and crash safety: `archive add` and `batch --archive` killed with
# SIGKILL at random points, after which `verify` passes and every completed add is there.
set -u  # no pipefail: `grep -q` may close a pipe early on purpose
bin=${CF_BINARY:?}
src=${CF_SOURCE_DIR:?}
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1767225600}
failures=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
store=$tmp/store
# Files the store accepts as scans (they parse as PDF or PNG).
. "$src/tests/unit/archive/scan_files.sh"

"$bin" archive init "$store" 2>/dev/null && ok "archive init" || fail "archive init"
"$bin" archive init "$store" 2>"$tmp/err"; st=$?
[ $st -eq 73 ] && grep -q 'already an archive store' "$tmp/err" && ok "init twice: exit 73" || fail "init twice: exit $st"
"$bin" batch --allow-draft nerve-root-injection --csv "$src/samples/patients.csv" --out-dir "$tmp/out" \
    --archive "$store" --operator ward7 2>"$tmp/err"
[ $? -eq 0 ] && ok "batch of 13 with --archive" || fail "batch --archive: $(cat "$tmp/err")"
row=$(tr -d '\r' < "$tmp/out/manifest.csv" | sed -n 3p)
id=$(echo "$row" | cut -d, -f4)
file=$(echo "$row" | cut -d, -f3)
# The printed PDF itself is not a signed copy; a scan of the signed form is filed, the id typed
# in lower case with hyphens.
"$bin" archive add "$store" --doc-id "$id" "$tmp/out/$file" --operator ward7 >"$tmp/add" 2>&1; st=$?
[ $st -eq 65 ] && grep -q 'this is the unsigned copy that was printed' "$tmp/add" &&
    ok "the issued PDF itself is refused as a signed copy" || fail "issued PDF filed as signed: exit $st $(cat "$tmp/add")"
cf_make_pdf "$tmp/signed.pdf" "signed by the patient"
typed=$(echo "$id" | tr 'A-Z' 'a-z' | sed 's/^\(....\)\(....\)/\1-\2-/')
"$bin" archive add "$store" --doc-id "$typed" "$tmp/signed.pdf" --operator ward7 >"$tmp/add" 2>&1
grep -q "version 1 filed" "$tmp/add" && ok "archive add (id typed as $typed)" || fail "archive add: $(cat "$tmp/add")"
n=$("$bin" archive list "$store" --unsigned 2>/dev/null | sed 1d | wc -l) # after the header row
[ "$n" -eq 12 ] && ok "list --unsigned shows the other 12" || fail "list --unsigned shows $n"
# Issue 11.5: a hospital number is searched in the spelling it is printed in (NFKC, upper case).
n=$("$bin" archive list "$store" --hospital-no ' ｈｎ２００００００１（３） ' 2>/dev/null | sed 1d | wc -l)
[ "$n" -eq 1 ] && ok "list --hospital-no in full width, lower case finds HN20000001(3)" || fail "normalised --hospital-no search found $n"
"$bin" archive list "$store" --unsigned 2>/dev/null | grep -q "$id" && fail "the signed one is listed as unsigned" || true
"$bin" archive list "$store" --hospital-no 'HN20000001(3)' 2>/dev/null | grep -q "signed(1)" && ok "list --hospital-no shows it signed" || fail "list --hospital-no"
"$bin" archive verify "$store" >"$tmp/verify" 2>&1 && ok "verify exits 0: $(tail -1 "$tmp/verify")" || fail "verify: $(cat "$tmp/verify")"
"$bin" archive show "$store" "$id" 2>/dev/null | grep -q 'signed-copy-added by ward7' && ok "show: history" || fail "show"
"$bin" archive export "$store" "$id" -o "$tmp/export" 2>/dev/null &&
    cmp -s "$tmp/export/issued.pdf" "$tmp/out/$file" && grep -q '"signed-copy-added"' "$tmp/export/record.json" &&
    cmp -s "$tmp/export/signed-1.pdf" "$tmp/signed.pdf" &&
    ok "export: issued.pdf identical to the printed file, record.json" || fail "export"
printf 'not a scan' >"$tmp/bad.txt"
"$bin" archive add "$store" --doc-id "$id" "$tmp/bad.txt" 2>"$tmp/err"; st=$?
[ $st -eq 65 ] && grep -q 'not a PDF, PNG, JPEG or TIFF' "$tmp/err" && ok "a text file is refused as a scan" || fail "bad scan: exit $st"
"$bin" archive add "$store" --doc-id 0000000000000 "$tmp/signed.pdf" 2>"$tmp/err"; st=$?
[ $st -eq 65 ] && ok "unknown document id refused (exit 65)" || fail "unknown id: exit $st $(cat "$tmp/err")"

# Privacy: owner-only folder and files, no patient value in any file name.
perm_dir=$(stat -c %a "$store")
perm_db=$(stat -c %a "$store/index.sqlite")
obj=$(find "$store/objects" -type f | head -1)
perm_obj=$(stat -c %a "$obj")
[ "$perm_dir" = 700 ] && [ "$perm_db" = 600 ] && [ "$perm_obj" = 400 ] && ok "permissions: store 700, index 600, objects 400" || fail "permissions $perm_dir $perm_db $perm_obj"
find "$store" | grep -q 'HN2000\|陳' && fail "a patient value in a file name" || ok "no patient value in file names"

# Flipping one byte of an object: verify names it and exits non-zero.
cp -a "$store" "$tmp/flipped"
victim=$(find "$tmp/flipped/objects" -type f | sort | sed -n 5p)
chmod u+w "$victim"
printf '\xff' | dd of="$victim" bs=1 seek=200 conv=notrunc 2>/dev/null
name=objects/$(basename "$(dirname "$victim")")/$(basename "$victim")
"$bin" archive verify "$tmp/flipped" >"$tmp/verify" 2>&1; st=$?
[ $st -ne 0 ] && grep -q "$name: content changed" "$tmp/verify" && ok "flipped byte: verify names $name, exit $st" || fail "flipped byte: exit $st: $(cat "$tmp/verify")"

# Crash safety: kill -9 at random points of `archive add`; completed adds must all be there.
crash=$tmp/crash
"$bin" archive init "$crash" 2>/dev/null
"$bin" render --allow-draft nerve-root-injection -o "$tmp/one.pdf" --archive "$crash" --patient-name 陳大文 \
    --hospital-no 'HN12345678(9)' --episode-no HE1234567 2>"$tmp/err"
cid=$(grep -o 'document ID [0-9A-Z]*' "$tmp/err" | cut -d' ' -f3)
head -c 300000 /dev/urandom >"$tmp/noise"
completed=0
for i in $(seq 1 40); do
    # Each scan differs (a PDF header and random bytes), so every add writes a new object.
    cf_make_pdf "$tmp/scan$i.pdf" "scan $i" "$tmp/noise" $((20000 + RANDOM))
    "$bin" archive add "$crash" --doc-id "$cid" "$tmp/scan$i.pdf" >/dev/null 2>&1 &
    pid=$!
    sleep "$(printf '0.%03d' $((RANDOM % 500)))" # an add takes a few hundred ms (fsyncs)
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null && completed=$((completed + 1))
done
# A batch with --archive killed half-way.
"$bin" batch --allow-draft nerve-root-injection --csv "$src/samples/patients.csv" --out-dir "$tmp/out2" \
    --archive "$crash" --jobs 2 >/dev/null 2>&1 &
pid=$!
sleep 0.15
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
"$bin" archive verify "$crash" >"$tmp/verify" 2>&1; st=$?
versions=$("$bin" archive show "$crash" "$cid" 2>/dev/null | grep -c 'signed-copy-added')
if [ $st -eq 0 ] && [ "$versions" -ge "$completed" ]; then
    ok "40 adds and a batch killed at random: verify passes; $completed adds completed, $versions versions filed ($(tail -1 "$tmp/verify"))"
else
    fail "after kills: verify exit $st, $completed completed, $versions filed: $(cat "$tmp/verify")"
fi
# The store still works after the crashes.
cf_make_pdf "$tmp/after.pdf" "after the crashes"
"$bin" archive add "$crash" --doc-id "$cid" "$tmp/after.pdf" >/dev/null 2>&1 && "$bin" archive verify "$crash" >/dev/null 2>&1 &&
    ok "store usable after the crashes" || fail "store unusable after the crashes"

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
