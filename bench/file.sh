#!/usr/bin/env bash
# Filing benchmark (not a test): `consentform archive file` on the test set's shuffled stacks
# (tests/scan/make_scans.sh; made first if missing) into a store that issued their documents:
# pages per second at 200 dpi (grey JPEG in PDF) and 300 dpi (bilevel G4 TIFF), wall and CPU
# time, and peak RSS; then a stack of about 1,000 pages (the 200 dpi stack repeated) to show
# that memory stays flat. Goal on 2 cores: at least 10 pages/s at 200 dpi.
# The wall time includes the store's fsyncs (every object and every commit is synced); on a
# disk with slow syncs that, not the reading, sets the pace.
#   bench/file.sh
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
ninja -C "$build" consentform tests/unit/scan/scan_probe tests/unit/scan/scan_sheet >/dev/null
probe=$build/tests/unit/scan/scan_probe
scans=$build/scans
[ -f "$scans/truth.tsv" ] || tests/scan/make_scans.sh "$build" "$scans"
export CONSENTFORM_FORMS=$PWD/forms CONSENTFORM_FONTS=$PWD/fonts
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1767225600}
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT

bin=$build/consentform
forms=$PWD/forms
. tests/scan/testset_store.sh

run() { # LABEL FILE
    local store=$tmp/store-$RANDOM
    testset_issue_all "$store"
    /usr/bin/time -f '%e %U %S %M' -o "$tmp/time" "$build/consentform" archive file "$store" "$2" \
        --operator bench >"$tmp/out" 2>"$tmp/err" || true
    read -r secs user sys rss < <(tail -1 "$tmp/time")
    local pages
    pages=$(sed -n 's/.* \([0-9]*\) pages\? read.*/\1/p' "$tmp/err")
    awk -v l="$1" -v s="$secs" -v u="$user" -v y="$sys" -v r="$rss" -v n="$pages" 'BEGIN {
        printf "%-34s %5d pages %6.1f s %5.1f pages/s  CPU %5.1f s (%4.0f ms/page)  peak RSS %6.1f MB\n",
               l, n, s, n / s, u + y, (u + y) * 1000 / n, r / 1024 }'
    rm -rf "$store" "$store.pdf"
}

run "200 dpi grey JPEG-in-PDF" "$scans/stack-200-jpeg.pdf"
run "300 dpi bilevel G4 TIFF" "$scans/stack-300-g4.tif"
# About 1,000 pages: the 200 dpi stack 11 times (the copies are identical scans: read, hashed and
# decoded like the first, not filed twice).
qpdf --empty --pages $(for i in $(seq 1 11); do echo "$scans/stack-200-jpeg.pdf"; done) -- "$tmp/big.pdf"
run "200 dpi stack x11 (memory)" "$tmp/big.pdf"
