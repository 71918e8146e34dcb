#!/usr/bin/env bash
# Scan-reading benchmark (not a test): reads the test set's shuffled stacks (tests/scan/
# make_scans.sh; made first if missing) as the filing command would - every page decoded to
# grey, hashed, its QR found - with 1 and 2 threads, and reports pages per second, the share of
# pages decoded and peak RSS; then the same over a stack of about 1,000 pages (the stack
# repeated), to show that memory does not grow with the stack.
# Goal (2 cores): at least 10 pages/s at 200 dpi. Besides wall time it prints the CPU time per
# page and the rate two idle cores would give, which holds on a machine shared with other work.
#   bench/scan.sh [zxing|zbar]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
decoder=${1:-zxing}
ninja -C "$build" consentform tests/unit/scan/scan_probe tests/unit/scan/scan_sheet >/dev/null
probe=$build/tests/unit/scan/scan_probe
scans=$build/scans
[ -f "$scans/truth.tsv" ] || tests/scan/make_scans.sh "$build" "$scans"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run() { # label jobs file
    /usr/bin/time -f '%e %M' -o "$tmp/time" "$probe" decode --jobs "$2" "$decoder" "$3" \
        > "$tmp/out" 2> "$tmp/err" || true
    read -r secs rss < <(tail -1 "$tmp/time")
    local pages found
    pages=$(wc -l < "$tmp/out")
    found=$(grep -vc ' -$' "$tmp/out" || true)
    # CPU milliseconds per page (reading + QR): pages/s on 2 idle cores = 2000 / that.
    local cpu
    cpu=$(sed -n 's/.*per page \([0-9.]*\) ms reading, \([0-9.]*\) ms QR.*/\1 \2/p' "$tmp/err")
    awk -v l="$1" -v j="$2" -v s="$secs" -v r="$rss" -v n="$pages" -v f="$found" -v c="$cpu" 'BEGIN {
        split(c, ms, " ")
        printf "%-26s jobs=%d %5d pages %6.1f s %5.1f pages/s  CPU/page %4.0f ms read + %4.0f ms QR (2 idle cores: %4.1f pages/s)  %d/%d QR read  peak RSS %5.1f MB\n",
               l, j, n, s, n / s, ms[1], ms[2], 2000 / (ms[1] + ms[2]), f, n, r / 1024 }'
}

echo "decoder: $decoder" >&2
run "200 dpi grey JPEG-in-PDF" 1 "$scans/stack-200-jpeg.pdf"
run "200 dpi grey JPEG-in-PDF" 2 "$scans/stack-200-jpeg.pdf"
run "300 dpi bilevel G4 TIFF" 1 "$scans/stack-300-g4.tif"
run "300 dpi bilevel G4 TIFF" 2 "$scans/stack-300-g4.tif"
run "300 dpi bilevel G4-in-PDF" 2 "$scans/stack-300-g4.pdf"
# About 1,000 pages: the 200 dpi stack ten times over (qpdf copies, nothing re-encoded).
files=()
for i in $(seq 1 10); do files+=("$scans/stack-200-jpeg.pdf"); done
qpdf --empty --pages "${files[@]}" -- "$tmp/big.pdf"
run "1,000-page 200 dpi stack" 2 "$tmp/big.pdf"
