#!/usr/bin/env bash
# Batch benchmark (not a test): generates N synthetic patients (default 1000), prints labelled
# forms for all of them with 1 and 2 jobs and into one combined PDF, and reports wall time,
# forms per second, ms per form, peak RSS and the average PDF size. With a second argument M it
# also runs M patients, to show that memory does not grow with the list.
# Targets (2 cores): 1000 two-page forms < 5 s with 2 jobs; 1000 combined < 3 s; RSS < 100 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
form=${FORM:-nerve-root-injection}
ninja -C "$build" consentform >/dev/null
bin=$build/consentform
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1767225600}

make_csv() { # n file
    awk -v n="$1" 'BEGIN {
        split("陳大文 李志堃 張喆 黃燊 何淼 林峯 王邨 CHAN^Tai^Man 周美玲 吳家豪", names, " ")
        printf "\xef\xbb\xbfpatient_name,hospital_no,episode_no\r\n"
        for (i = 0; i < n; i++) {
            name = names[i % 10 + 1]; gsub(/\^/, " ", name)
            printf "%s,HN%08d(%d),HE%07d\r\n", name, 10000000 + i, i % 10, 1000000 + i
        }
    }' > "$2"
}

run() { # label n args...
    local label=$1 n=$2
    shift 2
    rm -rf "$tmp/out"
    /usr/bin/time -f '%e %M' -o "$tmp/time" "$bin" batch "$form" --allow-draft --csv "$tmp/p$n.csv" \
        --out-dir "$tmp/out" "$@" 2>/dev/null || true
    read -r secs rss < <(tail -1 "$tmp/time")
    local pdfs bytes
    pdfs=$(find "$tmp/out" -name '*.pdf' ! -name all.pdf | wc -l)
    bytes=$(find "$tmp/out" -name '*.pdf' ! -name all.pdf -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
    awk -v l="$label" -v n="$n" -v s="$secs" -v r="$rss" -v p="$pdfs" -v b="$bytes" 'BEGIN {
        printf "%-34s N=%-6d %6.2f s  %7.0f forms/s  %6.2f ms/form  peak RSS %5.1f MB", l, n, s, n / s, s * 1000 / n, r / 1024
        if (p > 0) printf "  %5.1f KB/PDF", b / p / 1024
        printf "\n" }'
    if [ -f "$tmp/out/all.pdf" ]; then
        echo "    combined PDF: $(pdfinfo "$tmp/out/all.pdf" | awk '/^Pages:/ { print $2 }') pages, $(( $(stat -c %s "$tmp/out/all.pdf") / 1024 )) KB"
    fi
}

echo "form $form, $(nproc) processors"
for n in "${1:-1000}" ${2:-}; do
    make_csv "$n" "$tmp/p$n.csv"
    run "separate PDFs, 1 job" "$n" --jobs 1
    run "separate PDFs, 2 jobs" "$n" --jobs 2
    run "separate PDFs + --combined, 2 jobs" "$n" --jobs 2 --combined "$tmp/out/all.pdf"
    run "--only-combined (one PDF), 2 jobs" "$n" --jobs 2 --combined "$tmp/out/all.pdf" --only-combined
done
