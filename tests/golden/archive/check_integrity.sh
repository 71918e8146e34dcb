#!/usr/bin/env bash
# End-to-end checks of the archive's integrity (issue 11, items 12-16): a zero-byte index.sqlite
# (what a failed copy or restore leaves) is never made afresh by any command, every object stays,
# and `archive rebuild-index` restores every document and event from the record objects; an
# UPDATE made with the sqlite3 tool is refused by trigger, and one made with the trigger dropped
# is found by `verify`, which names the document and the patient and exits 65; the issued PDF,
# a 5-byte %PDF- and an HTML page with a PDF header are refused as signed copies; archive times
# come from the real clock whatever SOURCE_DATE_EPOCH says.
set -u
bin=${CF_BINARY:?}
src=${CF_SOURCE_DIR:?}
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
export SOURCE_DATE_EPOCH=1000000000 # 2001-09-09: must not date anything in the archive
failures=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
. "$src/tests/unit/archive/scan_files.sh"
store=$tmp/store

"$bin" archive init "$store" 2>/dev/null || { echo "archive init failed"; exit 1; }
"$bin" batch --allow-draft nerve-root-injection --csv "$src/samples/patients.csv" --out-dir "$tmp/out" \
    --archive "$store" --operator ward7 >/dev/null 2>&1 || fail "batch --archive"
ids=$(tr -d '\r' <"$tmp/out/manifest.csv" | sed 1d | cut -d, -f4 | grep -v '^$')
first=$(echo "$ids" | sed -n 1p)
second=$(echo "$ids" | sed -n 2p)
first_file=$(tr -d '\r' <"$tmp/out/manifest.csv" | sed -n 2p | cut -d, -f3)
[ "$(echo "$ids" | wc -l)" -ge 10 ] && ok "batch of $(echo "$ids" | wc -l) archived" || fail "batch: ids '$ids'"

# Item 15: what is not a signed scan is refused, and nothing is filed.
printf '%%PDF-' >"$tmp/five.pdf"
printf '%%PDF-1.4\n<!DOCTYPE html>\n<html><head><title>Consent form</title></head><body><p>This page was saved by a browser, not scanned.</p></body></html>\n' >"$tmp/page.html"
for f in "$tmp/five.pdf" "$tmp/page.html" "$tmp/out/$first_file"; do
    "$bin" archive add "$store" --doc-id "$first" "$f" >"$tmp/add" 2>&1; st=$?
    [ $st -eq 65 ] && ok "refused as a signed copy: $(basename "$f") ($(tail -1 "$tmp/add" | cut -c1-110))" ||
        fail "$(basename "$f") filed as signed (exit $st)"
done
grep -q 'this is the unsigned copy that was printed' "$tmp/add" || fail "the issued PDF: wrong message"
"$bin" archive list "$store" --unsigned 2>/dev/null | grep -q "$first" && ok "the document is still unsigned" || fail "a refused file marked it signed"

# A real scan, a void, a verification; item 16: the times are today's, not 2001's.
cf_make_pdf "$tmp/signed.pdf" "signed by the patient"
"$bin" archive add "$store" --doc-id "$first" "$tmp/signed.pdf" >/dev/null 2>&1 || fail "add a scan"
"$bin" archive void "$store" "$second" --reason "wrong side" >/dev/null 2>&1 || fail "void"
"$bin" archive verify "$store" --record >/dev/null 2>&1 || fail "verify --record"
"$bin" archive show "$store" "$first" 2>/dev/null | grep -q '2001-09-09' &&
    fail "SOURCE_DATE_EPOCH dated the archive" || ok "archive times are the real clock's, not SOURCE_DATE_EPOCH's"

# archive list / find: a header row, filters, local time with its offset or UTC.
"$bin" archive list "$store" >"$tmp/list" 2>/dev/null
head -1 "$tmp/list" | grep -q '^DOCUMENT .*PATIENT$' && [ "$(sed 1d "$tmp/list" | wc -l)" -eq "$(echo "$ids" | wc -l)" ] &&
    grep -q ' [+-][0-9][0-9][0-9][0-9] ' "$tmp/list" && ok "list: a header row, every document, local times with their offset" || fail "list: $(cat "$tmp/list")"
"$bin" archive find "$store" --patient-name 黃阿強 --utc 2>/dev/null | sed 1d >"$tmp/list"
[ "$(wc -l <"$tmp/list")" -eq 1 ] && grep -q 'HN20000002(1).*UTC\|UTC.*HN20000002(1)' "$tmp/list" && ok "find --patient-name (part of the name) --utc" || fail "find --patient-name: $(cat "$tmp/list")"
[ "$("$bin" archive list "$store" --status signed 2>/dev/null | sed 1d | wc -l)" -eq 1 ] &&
    [ "$("$bin" archive list "$store" --status void 2>/dev/null | sed 1d | grep -c "$second")" -eq 1 ] &&
    [ "$("$bin" archive list "$store" --status signature-missing 2>/dev/null | sed 1d | wc -l)" -eq $(($(echo "$ids" | wc -l) - 2)) ] &&
    ok "list --status signed, void, signature-missing" || fail "list --status"
today=$(date +%Y-%m-%d)
[ "$("$bin" archive list "$store" --from "$today" --to "$today" 2>/dev/null | sed 1d | wc -l)" -eq "$(echo "$ids" | wc -l)" ] &&
    [ "$("$bin" archive list "$store" --to 2001-09-09 2>/dev/null | sed 1d | wc -l)" -eq 0 ] &&
    ok "list --from/--to: issued today, none on 2001-09-09" || fail "list --from/--to"
"$bin" archive list "$store" --status maybe >/dev/null 2>&1; st1=$?
"$bin" archive list "$store" --frm 2026-01-01 >/dev/null 2>&1; st2=$?
"$bin" archive list "$store" --from 2026-02-31 >/dev/null 2>&1; st3=$?
[ $st1 -eq 64 ] && [ $st2 -eq 64 ] && [ $st3 -eq 64 ] && ok "list: a bad status, an unknown option, a bad date are usage errors" || fail "list usage: $st1 $st2 $st3"

for id in $ids; do "$bin" archive show "$store" "$id" >"$tmp/show.$id" 2>&1; done
(cd "$store" && find objects -type f | sort) >"$tmp/objects.before"

# Item 12: the index emptied. No command makes it afresh; every object stays.
cp -a "$store" "$tmp/backup"
: >"$store/index.sqlite"
rm -f "$store/index.sqlite-wal" "$store/index.sqlite-shm"
"$bin" archive verify "$store" --record >"$tmp/verify" 2>&1; st=$?
[ $st -eq 65 ] && grep -q 'from the latest backup' "$tmp/verify" && grep -q 'rebuild-index' "$tmp/verify" &&
    ! grep -q '0 problems' "$tmp/verify" && ok "zero-byte index: verify --record refuses, says how to restore (exit 65)" ||
    fail "zero-byte index: verify --record exit $st: $(cat "$tmp/verify")"
for cmd in "list $store" "add $store --doc-id $first $tmp/signed.pdf" "void $store $first --reason x" "init $store"; do
    # shellcheck disable=SC2086
    "$bin" archive $cmd >/dev/null 2>&1 && fail "zero-byte index: archive $cmd succeeded"
done
[ ! -s "$store/index.sqlite" ] && ok "zero-byte index: list, add, void and init leave it as it is" || fail "the empty index was made afresh"
(cd "$store" && find objects -type f | sort) | cmp -s - "$tmp/objects.before" &&
    ok "zero-byte index: every object is still there" || fail "objects changed"
"$bin" archive rebuild-index "$store" >"$tmp/rebuild" 2>&1; st=$?
[ $st -eq 0 ] && ok "rebuild-index: $(tail -1 "$tmp/rebuild")" || fail "rebuild-index exit $st: $(cat "$tmp/rebuild")"
same=0
for id in $ids; do
    "$bin" archive show "$store" "$id" 2>&1 | cmp -s - "$tmp/show.$id" && same=$((same + 1)) ||
        fail "$id: not restored as it was"
done
[ "$same" -eq "$(echo "$ids" | wc -l)" ] && ok "rebuild-index restored all $same documents with every event" || true
"$bin" archive verify "$store" >"$tmp/verify" 2>&1 && ok "verify after rebuild: $(tail -1 "$tmp/verify")" || fail "verify after rebuild: $(cat "$tmp/verify")"
ls "$store" | grep -q '^index.sqlite.replaced-' && ok "the empty index was kept aside, not deleted" || fail "the old index is gone"

# An index of another store restored here by mistake is refused.
"$bin" archive init "$tmp/other" 2>/dev/null
cp "$tmp/other/index.sqlite" "$tmp/backup/index.sqlite"
rm -f "$tmp/backup/index.sqlite-wal" "$tmp/backup/index.sqlite-shm"
"$bin" archive list "$tmp/backup" >/dev/null 2>"$tmp/err"; st=$?
[ $st -eq 65 ] && grep -q 'belongs to another store' "$tmp/err" && ok "an index of another store is refused" || fail "foreign index: exit $st $(cat "$tmp/err")"

# Item 13: rows edited with the sqlite3 tool.
sqlite3 "$store/index.sqlite" "UPDATE documents SET hospital_no = 'HN00000000(0)' WHERE id = '$first'" 2>/dev/null &&
    fail "UPDATE documents was allowed" || ok "UPDATE documents is refused by trigger"
sqlite3 "$store/index.sqlite" "UPDATE events SET operator = 'x'" 2>/dev/null && fail "UPDATE events was allowed" || ok "UPDATE events is refused by trigger"
# The first row of the list (file HN12345678(9)_...) is the patient of $first.
name='陳大文, hospital no HN12345678(9)'
case $first_file in HN12345678*) ;; *) fail "the first row's file is $first_file" ;; esac
sqlite3 "$store/index.sqlite" "DROP TRIGGER documents_no_update;
  UPDATE documents SET labels = (SELECT labels FROM documents WHERE id = '$second'),
  hospital_no = (SELECT hospital_no FROM documents WHERE id = '$second') WHERE id = '$first'" || fail "sqlite3 edit"
"$bin" archive verify "$store" >"$tmp/verify" 2>&1; st=$?
[ $st -eq 65 ] && grep "document $first" "$tmp/verify" | grep -q "patient $name" &&
    ok "an edited row: verify names document $first and patient $name, exit 65" ||
    fail "an edited row: verify exit $st: $(cat "$tmp/verify")"
sqlite3 "$store/index.sqlite" "DROP TRIGGER events_append_only_delete; DELETE FROM events WHERE seq = 5" || fail "sqlite3 delete"
"$bin" archive verify "$store" >"$tmp/verify" 2>&1; st=$?
[ $st -eq 65 ] && grep 'breaks the chain' "$tmp/verify" | grep -q '(patient ' &&
    ok "a removed event: verify names the broken link's document and patient, exit 65" ||
    fail "a removed event: verify exit $st: $(cat "$tmp/verify")"

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
