#!/usr/bin/env bash
# Form status enforced wherever a document is issued (issue 13 item 1), and batch's share of
# render's options (issue 12 item 6): retired and not-yet-effective forms are refused by render
# and batch whatever is allowed; an expired form prints only with --allow-expired and a draft
# only with --allow-draft, each override in manifest.csv and the archive record; validate
# refuses an approval date after today and a review-by date before the effective date.
# "Today" is fixed with the test hook CONSENTFORM_TODAY. Prints "ok"/"FAIL" per check.
set -u
bin=${CF_BINARY:?}
src=${CF_SOURCE_DIR:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1767225600}
export CONSENTFORM_TODAY=2026-12-06
failures=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
form=nerve-root-injection
id=(--patient-name 陳大文 --hospital-no 'HN12345678(9)' --episode-no HE1234567)
printf 'patient_name,hospital_no,episode_no\r\n陳大文,HN12345678(9),HE1\r\n李小明,HN00023456,HE2\r\n' >"$tmp/list.csv"

# variant NAME META...: a copy of the nerve-root leaflet in $tmp/NAME/ whose <status> line is
# replaced by META (the status and any <effective>/<review-by>).
variant() {
    local name=$1
    shift
    mkdir -p "$tmp/$name"
    local meta
    meta=$(printf '%s' "$*" | sed 's/[&|]/\\&/g')
    sed "s|<status state=\"draft\"/>|$meta|" "$src/forms/$form.xml" >"$tmp/$name/$form.xml"
    grep -qF -- "$1" "$tmp/$name/$form.xml" || echo "variant $name: status line not found" >&2
}
approved='<status state="approved" by="醫療品質委員會" date="2026-11-20"/>'
variant approved "$approved"
variant retired '<status state="retired" by="醫療品質委員會" date="2024-01-10"/>'
variant future "$approved<effective>2027-01-01</effective>"
variant expired "$approved<effective>2026-11-21</effective><review-by>2026-12-01</review-by>"
variant approved-later '<status state="approved" by="醫療品質委員會" date="2030-01-01"/>'
variant review-first "$approved<effective>2026-12-01</effective><review-by>2026-11-30</review-by>"

# run NAME WANT NEEDLE WHAT -- ARGS: runs the binary, checks the exit status and that stderr
# holds NEEDLE ("" for none).
run() {
    local want=$1 needle=$2 what=$3
    shift 4
    "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
    local st=$?
    if [ "$st" -ne "$want" ]; then
        fail "$what: exit $st, expected $want: $(head -3 "$tmp/err")"
        return 1
    elif [ -n "$needle" ] && ! grep -qF -- "$needle" "$tmp/err"; then
        fail "$what: no \"$needle\" in: $(head -3 "$tmp/err")"
        return 1
    fi
    ok "$what"
}
batch() { # DIR FORMS-DIR [ARGS...]
    local out=$1 dir=$2
    shift 2
    echo batch "$form" --forms-dir "$tmp/$dir" --csv "$tmp/list.csv" --out-dir "$tmp/$out" "$@"
}

# An approved form in force prints with no flag; nothing is overridden.
run 0 "" "approved form: render" -- render "$form" --forms-dir "$tmp/approved" -o "$tmp/a.pdf" "${id[@]}"
run 0 "" "approved form: batch --forms-dir" -- $(batch b-approved approved)
if tr -d '\r' <"$tmp/b-approved/manifest.csv" | grep -q '^2,ok,.*,HN12345678(9),,[0-9a-f]\{64\}$'; then ok "approved: manifest override empty"; else fail "approved manifest: $(cat "$tmp/b-approved/manifest.csv")"; fi

# Retired: refused by render and batch, whatever is allowed; nothing written.
run 65 "is retired" "retired form: render refused" -- render "$form" --forms-dir "$tmp/retired" \
    -o "$tmp/r.pdf" "${id[@]}" --allow-draft --allow-expired
[ ! -e "$tmp/r.pdf" ] && ok "retired: no PDF" || fail "retired: a PDF was written"
run 65 "is retired" "retired form: batch refused" -- $(batch b-retired retired --allow-draft --allow-expired)
[ ! -e "$tmp/b-retired" ] && ok "retired batch: nothing written" || fail "retired batch wrote $(ls "$tmp/b-retired")"
run 65 "is retired" "retired form: batch --check refused" -- $(batch b-retired retired --check)

# Effective in the future: refused until that day, then printed.
run 65 "takes effect on 2027-01-01" "future form: render refused" -- render "$form" \
    --forms-dir "$tmp/future" -o "$tmp/f.pdf" "${id[@]}" --allow-draft --allow-expired
run 65 "takes effect on 2027-01-01" "future form: batch refused" -- $(batch b-future future --allow-expired)
[ ! -e "$tmp/f.pdf" ] && [ ! -e "$tmp/b-future" ] && ok "future: nothing written" || fail "future: something written"
CONSENTFORM_TODAY=2027-01-01 run 0 "" "future form: printed on its effective day" -- render "$form" \
    --forms-dir "$tmp/future" -o "$tmp/f.pdf" "${id[@]}"

# Expired: refused naming --allow-expired; printed with it, the override in the archive record
# and the manifest. On the review-by day itself it is still in force.
CONSENTFORM_TODAY=2026-12-01 run 0 "" "expired form: in force on its review-by day" -- render "$form" \
    --forms-dir "$tmp/expired" -o "$tmp/e0.pdf" "${id[@]}"
run 65 "--allow-expired" "expired form: render refused, naming --allow-expired" -- render "$form" \
    --forms-dir "$tmp/expired" -o "$tmp/e.pdf" "${id[@]}"
[ ! -e "$tmp/e.pdf" ] && ok "expired: no PDF without the flag" || fail "expired: PDF written"
run 65 "--allow-expired" "expired form: batch refused, naming --allow-expired" -- $(batch b-expired expired)
[ ! -e "$tmp/b-expired" ] && ok "expired batch: nothing written" || fail "expired batch wrote files"
store=$tmp/store
"$bin" archive init "$store" >/dev/null 2>&1 || fail "archive init"
run 0 "override: expired" "expired form: render --allow-expired --archive" -- render "$form" \
    --forms-dir "$tmp/expired" -o "$tmp/e.pdf" "${id[@]}" --allow-expired --archive "$store"
doc=$(sed -n 's/.*document ID \([0-9A-Z-]*\).*/\1/p' "$tmp/err")
if [ -n "$doc" ] && "$bin" archive show "$store" "$doc" 2>/dev/null | grep -q '"_override": *"expired"'; then
    ok "expired: archive show names the override"
else
    fail "expired: archive show $doc: $("$bin" archive show "$store" "$doc" 2>&1 | head -5)"
fi
run 0 "" "expired form: batch --allow-expired --archive" -- $(batch b-expired expired --allow-expired --archive "$store")
m=$(tr -d '\r' <"$tmp/b-expired/manifest.csv" 2>/dev/null)
if echo "$m" | head -1 | grep -q ',hospital_no,override,form_sha256$' && [ "$(echo "$m" | grep -c ',expired,[0-9a-f]\{64\}$')" -eq 2 ]; then
    ok "expired batch: manifest override column says expired on every row"
else
    fail "expired batch manifest: $m"
fi
bdoc=$(echo "$m" | sed -n '2p' | cut -d, -f4)
if [ -n "$bdoc" ] && "$bin" archive show "$store" "$bdoc" 2>/dev/null | grep -q '"_override": *"expired"'; then
    ok "expired batch: the archive record names the override"
else
    fail "expired batch: archive show $bdoc: $("$bin" archive show "$store" "$bdoc" 2>&1 | head -5)"
fi

# Draft (the shipped forms): needs --allow-draft; the pages keep the DRAFT mark; both overrides
# together are recorded as draft,expired.
run 65 "--allow-draft" "draft: render refused, naming --allow-draft" -- render "$form" -o "$tmp/d.pdf" "${id[@]}"
run 65 "--allow-draft" "draft: batch refused, naming --allow-draft" -- batch "$form" --csv "$tmp/list.csv" --out-dir "$tmp/b-draft"
[ ! -e "$tmp/d.pdf" ] && [ ! -e "$tmp/b-draft" ] && ok "draft: nothing written" || fail "draft: something written"
run 0 "override: draft" "draft: render --allow-draft" -- render "$form" -o "$tmp/d.pdf" "${id[@]}" --allow-draft
if pdftotext "$tmp/d.pdf" - 2>/dev/null | grep -q 'DRAFT'; then ok "draft: pages say DRAFT"; else fail "draft: no DRAFT mark"; fi
variant draft-expired '<status state="draft"/><review-by>2026-01-01</review-by>'
run 0 "" "draft and expired: batch with both flags" -- $(batch b-both draft-expired --allow-draft --allow-expired)
if tr -d '\r' <"$tmp/b-both/manifest.csv" | grep -q ',"draft,expired",[0-9a-f]\{64\}$'; then ok "draft and expired: manifest says draft,expired"; else fail "both: $(cat "$tmp/b-both/manifest.csv")"; fi
grep -q 'override: draft,expired' "$tmp/err" && ok "draft and expired: the summary names the override" || fail "summary: $(cat "$tmp/err")"
# --resume keeps the files and the override they were issued under.
run 0 "" "draft and expired: --resume keeps the files" -- $(batch b-both draft-expired --allow-draft --allow-expired --resume)
m=$(tr -d '\r' <"$tmp/b-both/manifest.csv")
if [ "$(echo "$m" | grep -c 'kept from the earlier run.*,"draft,expired",[0-9a-f]\{64\}$')" -eq 2 ]; then ok "resume: kept rows keep their override"; else fail "resume manifest: $m"; fi

# validate: an approval after today and a review-by before the effective date are errors.
run 65 "2030-01-01 is in the future" "validate refuses an approval date in the future" -- validate "$tmp/approved-later/$form.xml"
run 65 "comes before the effective date" "validate refuses review-by before effective" -- validate "$tmp/review-first/$form.xml"
run 0 "" "validate takes the approved form" -- validate "$tmp/approved/$form.xml"
CONSENTFORM_TODAY=26-12-06 run 65 "CONSENTFORM_TODAY" "a malformed test hook is refused" -- render "$form" --forms-dir "$tmp/approved" -o "$tmp/x.pdf" "${id[@]}"

# batch refuses render's identity options: one name would print on every row.
run 64 "render's option" "batch refuses --patient-name" -- $(batch b-id approved) --patient-name 陳大文
[ ! -e "$tmp/b-id" ] && ok "batch --patient-name: nothing written" || fail "batch --patient-name wrote files"
run 64 "render's option" "batch refuses --hospital-no" -- $(batch b-id approved) --hospital-no=HN1

if [ "$failures" -ne 0 ]; then
    echo "$failures check(s) failed"
    exit 1
fi
echo "all status checks passed"
