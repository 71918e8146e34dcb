#!/usr/bin/env bash
# Render benchmark (not a test): wall time and peak RSS of one `consentform render` process, and
# documents per second rendering each form for N patients in one process (default 1000).
# Targets: one process <= 30 ms; <= 8 ms per document per core; <= 100 KB per 2-page form.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
n=${1:-1000}
ninja -C "$build" consentform bench/bench_render >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1767225600}
runs=${RUNS:-21}
# Best and median wall time (ms) of running "$@" $runs times, to the microsecond (bash's
# EPOCHREALTIME): prints "best median".
time_ms() {
    local times=() t0 t1
    for ((i = 0; i < runs; i++)); do
        t0=$EPOCHREALTIME
        "$@" >/dev/null 2>&1
        t1=$EPOCHREALTIME
        times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) * 1000 }')")
    done
    printf '%s\n' "${times[@]}" | sort -n |
        awk '{ v[NR] = $1 } END { printf "%s %s\n", v[1], v[int((NR + 1) / 2)] }'
}
median_ms() { time_ms "$@" | cut -d' ' -f2; }
# This machine's speed at the moment (virtual machines vary by tens of percent from hour to
# hour): an empty process, and the tool's start-up alone (loading its shared libraries).
echo "process start-up: /bin/true $(median_ms /bin/true) ms, consentform --version $(median_ms "$build/consentform" --version) ms (medians of $runs)"
for form in nerve-root-injection dpn-injection-consent; do
    args=(render "$form" --allow-draft -o "$tmp/$form.pdf" --force --patient-name 陳大文
          --hospital-no 'HN12345678(9)' --episode-no HE1234567)
    "$build/consentform" "${args[@]}" 2>/dev/null # warm the page cache
    # Including the durable write (fsync of the file and its folder).
    read -r best median < <(time_ms "$build/consentform" "${args[@]}")
    /usr/bin/time -f '%M' -o "$tmp/time" "$build/consentform" "${args[@]}" 2>/dev/null
    best_rss=$(tail -1 "$tmp/time")
    kb=$(( $(stat -c %s "$tmp/$form.pdf") / 1024 ))
    echo "render $form: one process ${median} ms median, ${best} ms best of $runs, peak RSS $((best_rss / 1024)) MB, ${kb} KB PDF"
    /usr/bin/time -f 'in-process peak RSS %M KB' "$build/bench/bench_render" "$form" "$n"
done
