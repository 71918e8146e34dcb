#!/usr/bin/env bash
# Batch benchmark (not a test): generates N synthetic patients, prints labelled forms for all of
# them as separate PDFs with --jobs 1 and --jobs 2, with --combined, and as one --only-combined
# PDF, and reports per run: wall time, ms per form (wall), CPU ms per form (user + system, all
# threads), peak RSS and the average PDF size. Then, where a `typst` binary is installed, the
# same N patients as Typst documents (one `typst compile` per patient, 1 and 2 at a time).
#
# usage: bench/batch.sh [N] [M]     N patients (default 1000); M: a second, larger list
#        BENCH_LARGE=1 bench/batch.sh   also N = 100,000 (long: minutes per run)
#        RUNS=k                     each run k times, medians printed (default 1)
#        BENCH_ONLY=jobs1,jobs2,combined,only-combined,typst   a subset of the runs
#        CONSENTFORM_NO_BATCH_FONTS=1 is passed through (the uncached path, for A/B runs)
# Targets (issue 17, 2 cores): 1,000 leaflets --jobs 2 <= 1.2 s wall; <= 1.2 ms CPU per form
# at --jobs 1; --only-combined 1,000 <= 0.6 s; <= 110 KB per leaflet; RSS < 100 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
form=${FORM:-nerve-root-injection}
runs=${RUNS:-1}
only=${BENCH_ONLY:-jobs1,jobs2,combined,only-combined,typst}
ninja -C "$build" consentform >/dev/null
bin=$build/consentform
[ -x /usr/bin/time ] || { echo "bench/batch.sh: needs /usr/bin/time (Debian package time)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1767225600}

wanted() { [[ ",$only," == *",$1,"* ]]; }

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

# Median of the numbers on stdin.
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# report label n "wall cpu rss" lines... : prints medians over the runs.
report() { # label n pdfs bytes timesfile
    local label=$1 n=$2 pdfs=$3 bytes=$4 f=$5
    local secs cpu user sys rss
    secs=$(awk '{ print $1 }' "$f" | median)
    cpu=$(awk '{ print $2 + $3 }' "$f" | median)
    user=$(awk '{ print $2 }' "$f" | median)
    sys=$(awk '{ print $3 }' "$f" | median)
    rss=$(awk '{ print $4 }' "$f" | median)
    awk -v l="$label" -v n="$n" -v s="$secs" -v c="$cpu" -v r="$rss" -v p="$pdfs" -v b="$bytes" \
        -v u="$user" -v y="$sys" -v k="$(wc -l < "$f")" 'BEGIN {
        printf "%-34s N=%-6d %7.2f s %7.3f ms/form  CPU %7.3f ms/form (user %.3f, sys %.3f)  RSS %6.1f MB", l, n, s, s * 1000 / n, c * 1000 / n, u * 1000 / n, y * 1000 / n, r / 1024
        if (p > 0) printf "  %6.1f KB/PDF", b / p / 1024
        if (k > 1) printf "  (medians of %d)", k
        printf "\n" }'
}

# Each run writes into a directory of its own (@OUT@ in its arguments), and all of them are deleted
# only at the end: on ext4 without a journal, creating a file skips every inode freed in the last
# 60 s (fs/ext4/ialloc.c, recently_deleted), so a run right after deleting the last run's
# thousand files measured that search (0.4 to 0.6 ms of kernel time per file here), which a
# ward's batch into its own directory does not meet. A large list's output (100,000 PDFs are
# about 10 GB) is deleted after its run instead, and the next run waits those 60 s.
out_seq=0

run() { # label n args...
    local label=$1 n=$2
    shift 2
    : > "$tmp/times"
    local pdfs=0 bytes=0
    local out args combined
    for ((k = 0; k < runs; k++)); do
        out_seq=$((out_seq + 1))
        out=$tmp/out.$out_seq
        args=("${@//@OUT@/$out}")
        /usr/bin/time -f '%e %U %S %M' -o "$tmp/time" "$bin" batch "$form" --allow-draft \
            --csv "$tmp/p$n.csv" --out-dir "$out" "${args[@]}" 2>"$tmp/err" ||
            { echo "$label: consentform failed:" >&2; tail -5 "$tmp/err" >&2; }
        tail -1 "$tmp/time" >> "$tmp/times"
        pdfs=$(find "$out" -name '*.pdf' ! -name all.pdf | wc -l)
        bytes=$(find "$out" -name '*.pdf' ! -name all.pdf -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
        combined=
        if [ -f "$out/all.pdf" ]; then
            combined="$(pdfinfo "$out/all.pdf" | awk '/^Pages:/ { print $2 }') pages, $(( $(stat -c %s "$out/all.pdf") / 1024 )) KB"
        fi
        if [ "$n" -ge 10000 ]; then
            rm -rf "$out"
            sleep 61
        fi
    done
    report "$label" "$n" "$pdfs" "$bytes" "$tmp/times"
    [ -z "$combined" ] || echo "    combined PDF: $combined"
}

# The same patients as Typst documents: the form's text (from a consentform PDF of it) with the
# patient's label, one `typst compile` per patient, `jobs` at a time.
typst_run() { # n jobs
    local n=$1 jobs=$2 typst
    typst=$(command -v typst) || return 0
    mkdir -p "$tmp/typst"
    if [ ! -f "$tmp/typst/body.txt" ]; then
        "$bin" render "$form" --allow-draft --blank -o "$tmp/typst/form.pdf" --force 2>/dev/null
        pdftotext -layout "$tmp/typst/form.pdf" - | sed 's/[\\#*_`$<>@=~/\[\]-]/\\&/g' > "$tmp/typst/body.txt"
    fi
    tail -n +2 "$tmp/p$n.csv" | tr -d '\r' | awk -F, -v dir="$tmp/typst" '{
        f = sprintf("%s/%06d.typ", dir, NR)
        printf "#set page(paper: \"a4\", margin: 2cm)\n#set text(font: (\"Noto Sans CJK TC\", \"Noto Sans\"), size: 10pt)\n" > f
        printf "#box(stroke: 0.5pt, inset: 6pt)[%s #h(1em) %s #h(1em) %s]\n\n", $1, $2, $3 > f
        printf "#raw(read(\"body.txt\"))\n" > f
        close(f) }'
    : > "$tmp/times"
    for ((k = 0; k < runs; k++)); do
        rm -f "$tmp"/typst/*.pdf
        /usr/bin/time -f '%e %U %S %M' -o "$tmp/time" sh -c \
            'ls "$1"/*.typ | xargs -P "$2" -I{} "$3" compile {} >/dev/null 2>&1' sh "$tmp/typst" "$jobs" "$typst" || true
        tail -1 "$tmp/time" >> "$tmp/times"
    done
    local pdfs bytes
    pdfs=$(find "$tmp/typst" -name '*.pdf' ! -name form.pdf | wc -l)
    bytes=$(find "$tmp/typst" -name '*.pdf' ! -name form.pdf -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
    report "typst, $jobs at a time" "$n" "$pdfs" "$bytes" "$tmp/times"
    rm -f "$tmp"/typst/[0-9]*.typ "$tmp"/typst/[0-9]*.pdf
}

echo "form $form, $(nproc) processors, load $(cut -d' ' -f1-3 /proc/loadavg)"
sizes=("${1:-1000}")
[ -n "${2:-}" ] && sizes+=("$2")
[ "${BENCH_LARGE:-0}" = 1 ] && sizes+=(100000)
for n in "${sizes[@]}"; do
    make_csv "$n" "$tmp/p$n.csv"
    wanted jobs1 && run "separate PDFs, 1 job" "$n" --jobs 1
    wanted jobs2 && run "separate PDFs, 2 jobs" "$n" --jobs 2
    wanted combined && run "separate PDFs + --combined, 2 jobs" "$n" --jobs 2 --combined @OUT@/all.pdf
    wanted only-combined && run "--only-combined (one PDF), 2 jobs" "$n" --jobs 2 --combined @OUT@/all.pdf --only-combined
    if wanted typst; then
        if command -v typst >/dev/null; then
            typst_run "$n" 1
            typst_run "$n" 2
        else
            echo "typst: not installed, skipped"
        fi
    fi
done
