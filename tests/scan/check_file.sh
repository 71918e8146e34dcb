#!/usr/bin/env bash
# End-to-end checks of `consentform archive file` on the test set (tests/scan/make_scans.sh):
# the 30-document shuffled stack (200 dpi JPEG in PDF, mixed rotation) into a store that issued
# the 31 documents: every complete document filed with its pages in order and no page of
# another document, the missing pages' documents and the blotted page in the inbox with file and
# page, the slipped-in page in the inbox as its own document's page, the unsigned documents
# signature-missing; the same stack as a 300 dpi CCITT G4 TIFF gives the same result; assign
# resolves an item; --doc-id naming another document is refused; --move; the issued PDF is
# refused; and `archive file` killed with SIGKILL at random points: verify passes and every page
# is committed or still in its source file.
set -u
bin=${CF_BINARY:?}
src=${CF_SOURCE_DIR:?}
build=${CF_BUILD_DIR:?}
scans=$build/scans
probe=$build/tests/unit/scan/scan_probe
"$src/tests/scan/make_scans.sh" "$build" "$scans" || { echo "FAIL making the test set"; exit 1; }
truth=$scans/truth.tsv
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1767225600}
failures=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

# A store that issued the test set's 31 documents (the same ids as the scans' QR codes).
forms=$src/forms
. "$src/tests/scan/testset_store.sh"
id_of() { awk -v i="$1" '$1 == "doc" && $5 == i { print $2 }' "$truth"; }
pages_of() { awk -v d="$1" '$1 == "doc" && $2 == d { print $3 }' "$truth"; }

# What the stack must give: documents with all pages present and a readable QR on each are
# filed; every page of the others is in the inbox.
incomplete=" $(awk '$1 == "missing" { print $2 }' "$truth" | sort -u | tr '\n' ' ')"
blotted_id=$(awk '$1 == "sheet" && $5 == 1 { print $3 }' "$truth")
blotted_sheet=$(awk '$1 == "sheet" && $5 == 1 { print $2 + 1 }' "$truth")
incomplete="$incomplete$blotted_id "
slipped_id=$(id_of 31)
slipped_sheet=$(awk -v d="$slipped_id" '$1 == "sheet" && $3 == d { print $2 + 1 }' "$truth")
expected_filed=$(for i in $(seq 1 30); do d=$(id_of "$i"); case $incomplete in *" $d "*) ;; *) echo "$d" ;; esac; done | sort)
expected_inbox=$(awk -v inc="$incomplete" -v sl="$slipped_id" '$1 == "sheet" && (index(inc, " " $3 " ") || $3 == sl) { print $2 + 1 }' "$truth" | sort -n)
unsigned_ids=$(for i in 5 12 21; do id_of "$i"; done | sort)

check_stack() { # LABEL STORE SCAN
    local label=$1 store=$2 scan=$3
    "$bin" archive file "$store" "$scan" --operator ward7 >"$tmp/out" 2>"$tmp/err"; local st=$?
    [ $st -eq 65 ] && ok "$label: exit 65 (pages went to the inbox)" || fail "$label: exit $st $(tail -3 "$tmp/err")"
    local filed
    filed=$(awk '$1 == "signed" || $1 == "signature-missing" { print $2 }' "$tmp/out" | sort)
    [ "$filed" = "$expected_filed" ] && ok "$label: the $(echo "$filed" | wc -l) complete documents filed" ||
        fail "$label: filed $(echo "$filed" | tr '\n' ' ') expected $(echo "$expected_filed" | tr '\n' ' ')"
    local missing
    missing=$(awk '$1 == "signature-missing" { print $2 }' "$tmp/out" | sort)
    [ "$missing" = "$unsigned_ids" ] && ok "$label: documents 5, 12, 21 signature-missing, 24 (guardian) signed" ||
        fail "$label: signature-missing $(echo "$missing" | tr '\n' ' ')"
    grep -q "^signature-missing $(id_of 21) .*doctor not signed (page 5 doctor signature empty)" "$tmp/out" &&
        ok "$label: the reason names page and role" || fail "$label: reason $(grep "$(id_of 21)" "$tmp/out")"
    local inbox
    inbox=$(awk '$1 == "inbox" { print $5 }' "$tmp/out" | tr -d : | sort -n)
    [ "$inbox" = "$expected_inbox" ] && ok "$label: inbox holds exactly the $(echo "$inbox" | wc -l) pages of incomplete documents and the blotted page" ||
        fail "$label: inbox pages $(echo "$inbox" | tr '\n' ' ') expected $(echo "$expected_inbox" | tr '\n' ' ')"
    grep -q "^inbox [0-9a-f]*  $scan page $blotted_sheet: no QR code" "$tmp/out" &&
        ok "$label: the blotted page in the inbox with file and page" || fail "$label: blotted page"
    grep -q "^inbox [0-9a-f]*  $scan page $slipped_sheet: document $slipped_id: page 1 of 2 missing" "$tmp/out" &&
        ok "$label: the slipped-in page in the inbox as a page of its own document" || fail "$label: slipped-in page"
    "$bin" archive inbox "$store" 2>/dev/null | grep -c "^[0-9a-f]\{12\}  $scan " >"$tmp/n"
    [ "$(cat "$tmp/n")" = "$(echo "$expected_inbox" | wc -l)" ] && ok "$label: archive inbox lists them" || fail "$label: archive inbox"
    "$bin" archive list "$store" --unsigned 2>/dev/null | grep -q "$(id_of 12).*signature-missing.*consenter not signed" &&
        ok "$label: list --unsigned shows the reason" || fail "$label: list --unsigned"
    # Pages in order, and not one page of another document: the QR of every page filed.
    local wrong=0 checked=0
    for d in $filed; do
        rm -rf "$tmp/x"
        "$bin" archive export "$store" "$d" -o "$tmp/x" >/dev/null 2>&1 || { wrong=$((wrong + 1)); continue; }
        qpdf --check "$tmp/x/signed-1.pdf" >/dev/null 2>&1 || wrong=$((wrong + 1))
        local n=0
        while read -r _ page text; do
            n=$((n + 1))
            [ "$text" = "$d/$page/$(pages_of "$d")" ] || wrong=$((wrong + 1))
        done < <("$probe" decode zxing "$tmp/x/signed-1.pdf" 2>/dev/null)
        [ "$n" = "$(pages_of "$d")" ] || wrong=$((wrong + 1))
        checked=$((checked + n))
    done
    [ $wrong -eq 0 ] && ok "$label: $checked pages filed, each in its place, qpdf --check passes; 0 under a wrong document" ||
        fail "$label: $wrong pages out of place or under a wrong document"
    "$bin" archive verify "$store" >"$tmp/v" 2>&1 && ok "$label: verify: $(tail -1 "$tmp/v")" || fail "$label: verify $(cat "$tmp/v")"
}

testset_issue_all "$tmp/jpeg" || { echo "FAIL issuing the test set"; exit 1; }
check_stack "200 dpi JPEG stack" "$tmp/jpeg" "$scans/stack-200-jpeg.pdf"
cp "$tmp/out" "$tmp/out-jpeg"
# The same stack again changes nothing.
"$bin" archive file "$tmp/jpeg" "$scans/stack-200-jpeg.pdf" >"$tmp/again" 2>/dev/null
[ "$(grep -c 'filed before; nothing changed' "$tmp/again")" = "$(echo "$expected_filed" | wc -l)" ] &&
    [ "$("$bin" archive inbox "$tmp/jpeg" 2>/dev/null | tail -n +2 | wc -l)" = "$(echo "$expected_inbox" | wc -l)" ] &&
    ok "filing the stack again adds nothing" || fail "filing again: $(head -3 "$tmp/again")"

testset_issue_all "$tmp/g4" || { echo "FAIL issuing the test set"; exit 1; }
check_stack "300 dpi G4 TIFF stack" "$tmp/g4" "$scans/stack-300-g4.tif"
norm() { sed -e 's/^inbox [0-9a-f]*  [^ ]* /inbox /' "$1" | sort; }
[ "$(norm "$tmp/out")" = "$(norm "$tmp/out-jpeg")" ] && ok "the G4 TIFF stack gives the same result as the JPEG one" ||
    fail "G4 and JPEG differ: $(diff <(norm "$tmp/out-jpeg") <(norm "$tmp/out") | head -5)"

# assign: the blotted page is page 1 of its document, whose page 2 waits in the inbox.
item=$("$bin" archive inbox "$tmp/jpeg" 2>/dev/null | awk -v p="$blotted_sheet" '$3 == p { print $1 }')
"$bin" archive assign "$tmp/jpeg" "$item" --doc-id "$blotted_id" --page 3 >/dev/null 2>"$tmp/err"; st=$?
[ $st -eq 65 ] && grep -q 'has 2 pages; there is no page 3' "$tmp/err" && ok "assign: a page beyond the document refused" || fail "assign page 3: exit $st"
bad=$(echo "$blotted_id" | sed 's/.$/0/'); [ "$bad" = "$blotted_id" ] && bad=$(echo "$blotted_id" | sed 's/.$/1/')
"$bin" archive assign "$tmp/jpeg" "$item" --doc-id "$bad" --page 1 >/dev/null 2>"$tmp/err"; st=$?
[ $st -eq 65 ] && ok "assign: a wrong check character refused" || fail "assign bad id: exit $st"
"$bin" archive assign "$tmp/jpeg" "$item" --doc-id "$(echo "$blotted_id" | tr A-Z a-z)" --page 1 >"$tmp/out" 2>"$tmp/err"; st=$?
[ $st -eq 0 ] && grep -q "^signed $blotted_id  2 pages" "$tmp/out" && ok "assign: the item completes its document, which is filed" ||
    fail "assign: exit $st $(cat "$tmp/out" "$tmp/err")"
"$bin" archive inbox "$tmp/jpeg" 2>/dev/null | grep -q "$blotted_id" && fail "assign: items stay in the inbox" || ok "assign: its items leave the inbox"
"$bin" archive verify "$tmp/jpeg" >/dev/null 2>&1 && ok "verify after assign" || fail "verify after assign"
# rebuild-index restores the inbox.
cp -a "$tmp/jpeg" "$tmp/rebuilt"
before=$("$bin" archive inbox "$tmp/jpeg" 2>/dev/null)
"$bin" archive rebuild-index "$tmp/rebuilt" --force >/dev/null 2>&1
[ "$("$bin" archive inbox "$tmp/rebuilt" 2>/dev/null)" = "$before" ] && ok "rebuild-index restores the inbox" || fail "rebuild-index: inbox differs"

# --doc-id naming another document: refused, nothing filed.
events() { "$bin" archive list "$1" 2>/dev/null | md5sum; }
b=$(events "$tmp/g4")
"$bin" archive file "$tmp/g4" "$scans/stack-200-jpeg.pdf" --doc-id "$(id_of 1)" >/dev/null 2>"$tmp/err"; st=$?
[ $st -eq 65 ] && grep -q 'nothing was filed' "$tmp/err" && [ "$(events "$tmp/g4")" = "$b" ] &&
    ok "--doc-id refuses a stack whose QR codes name other documents (exit 65, nothing filed)" || fail "--doc-id: exit $st $(cat "$tmp/err")"

# The issued PDF (no scanned image) is not a signed copy.
"$bin" archive file "$tmp/g4" "$tmp/g4.pdf/doc1.pdf" >"$tmp/out" 2>"$tmp/err"; st=$?
[ $st -eq 65 ] && ! grep -q '^signed' "$tmp/out" && ok "the issued PDF is refused (exit 65, not filed)" || fail "issued PDF: exit $st $(cat "$tmp/out")"

# --move: a folder; a file leaves only when all of it is committed.
mkdir "$tmp/drop"
cp "$scans/stack-page.jpg" "$scans/stack-page.png" "$tmp/drop/"
printf 'not a scan' >"$tmp/drop/notes.txt"
"$bin" archive file "$tmp/g4" "$tmp/drop" --move >"$tmp/out" 2>"$tmp/err"; st=$?
[ $st -eq 65 ] && [ ! -e "$tmp/drop/stack-page.jpg" ] && [ ! -e "$tmp/drop/stack-page.png" ] && [ -e "$tmp/drop/notes.txt" ] &&
    grep -q "^not-read  $tmp/drop/notes.txt" "$tmp/out" &&
    ok "--move: the scans committed are removed, the file that could not be read stays" || fail "--move: exit $st $(ls "$tmp/drop") $(cat "$tmp/out")"

# kill -9 at random points of `archive file --move` on the stack split into one file per sheet.
crash=$tmp/crash
testset_issue_all "$crash" || { echo "FAIL issuing the test set"; exit 1; }
mkdir "$tmp/sheets"
qpdf --split-pages "$scans/stack-200-jpeg.pdf" "$tmp/sheets/sheet-%d.pdf"
total=$(ls "$tmp/sheets" | wc -l)
start=$(date +%s%N)
for round in 1 2 3 4 5 6; do
    "$bin" archive file "$crash" "$tmp/sheets" --move >/dev/null 2>&1 &
    pid=$!
    sleep "$(awk -v r=$RANDOM -v round=$round 'BEGIN { printf "%.2f", (r % 1000) / 1000 * 4 * round / 3 }')"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    "$bin" archive verify "$crash" >"$tmp/v" 2>&1 || fail "kill round $round: verify $(cat "$tmp/v")"
done
ok "6 runs killed with SIGKILL, verify passed after each"
"$bin" archive file "$crash" "$tmp/sheets" --move >/dev/null 2>&1
left=$(ls "$tmp/sheets" | wc -l)
# Every page is now committed: the pages filed plus the inbox items are the pages of the stack.
filed_pages=0
for d in $(awk '$1 == "doc" { print $2 }' "$truth"); do
    "$bin" archive show "$crash" "$d" 2>/dev/null | grep -q 'signed-copy-added' && filed_pages=$((filed_pages + $(pages_of "$d")))
done
in_inbox=$("$bin" archive inbox "$crash" 2>/dev/null | tail -n +2 | wc -l)
[ "$left" -eq 0 ] && [ $((filed_pages + in_inbox)) -eq "$total" ] &&
    ok "after the kills: every one of the $total pages is committed ($filed_pages filed, $in_inbox in the inbox), no source left" ||
    fail "after the kills: $left files left, $filed_pages filed + $in_inbox inbox != $total"
"$bin" archive verify "$crash" >"$tmp/v" 2>&1 && ok "verify after the kills: $(tail -1 "$tmp/v")" || fail "verify after the kills"

[ $failures -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
echo "all archive-file checks passed"
