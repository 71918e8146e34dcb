#!/usr/bin/env bash
# Memory of `consentform batch` on a long list (issue 11 item 1): generates a list of ROWS
# patients (default 1,000,000), then prints the maximum resident set size (/usr/bin/time -v) of
# a whole --check run (manifest included) and of a --jobs 2 run of the first PRINT_ROWS rows
# (default 20,000). The goal is under 64 MB for both. Not a timed test; prints figures only.
# usage: bench/batch_memory.sh [BUILD_DIR]   (env: ROWS, PRINT_ROWS, KEEP=1 keeps the files)
set -eu
build=${1:-build}
bin=$build/consentform
rows=${ROWS:-1000000}
print_rows=${PRINT_ROWS:-20000}
src=$(cd "$(dirname "$0")/.." && pwd)
export CONSENTFORM_FORMS=${CONSENTFORM_FORMS:-$src/forms}
export CONSENTFORM_FONTS=${CONSENTFORM_FONTS:-$src/fonts}
tmp=$(mktemp -d)
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$tmp"' EXIT
[ -x /usr/bin/time ] || { echo "batch_memory: needs /usr/bin/time (Debian package time)" >&2; exit 1; }

# Names drawn from a few surnames and given names; hospital numbers unique per row.
awk -v n="$rows" 'BEGIN {
    split("陳 李 張 黃 何 林 王 吳 劉 蔡", s, " "); split("大文 小明 美玲 志強 嘉欣 家豪 淑芬 俊傑", g, " ");
    printf "patient_name,hospital_no,episode_no\r\n";
    for (i = 0; i < n; i++)
        printf "%s%s,HN%08d(%d),HE%07d\r\n", s[i % 10 + 1], g[int(i / 10) % 8 + 1], 10000000 + i, i % 10, i;
}' >"$tmp/list.csv"
head -n $((print_rows + 1)) "$tmp/list.csv" >"$tmp/print.csv"
echo "list: $rows rows, $(du -h "$tmp/list.csv" | cut -f1)"

rss() { awk -F': ' '/Maximum resident set size/ { printf "%.1f MB", $2 / 1024 }' "$1"; }
secs() { awk -F': ' '/Elapsed \(wall clock\)/ { print $2 }' "$1"; }

/usr/bin/time -v "$bin" batch nerve-root-injection --allow-draft --csv "$tmp/list.csv" --out-dir "$tmp/check" \
    --check 2>"$tmp/check.err" || true
echo "--check of $rows rows: max RSS $(rss "$tmp/check.err"), $(secs "$tmp/check.err") wall;" \
    "manifest rows: $(($(wc -l <"$tmp/check/manifest.csv") - 1))"

/usr/bin/time -v "$bin" batch nerve-root-injection --allow-draft --csv "$tmp/print.csv" --out-dir "$tmp/print" \
    --jobs 2 2>"$tmp/print.err" || true
echo "--jobs 2 of $print_rows rows: max RSS $(rss "$tmp/print.err"), $(secs "$tmp/print.err") wall;" \
    "PDFs: $(find "$tmp/print" -name '*.pdf' | wc -l)"
