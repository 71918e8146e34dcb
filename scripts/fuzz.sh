#!/usr/bin/env bash
# Runs one libFuzzer harness: scripts/fuzz.sh NAME [SECONDS] (NAME: form, csv, pipeline, sniff;
# default 600 s). Installs clang when missing, builds with -Dfuzz=true and ASan/UBSan in its
# own build folder ($FUZZ_BUILD_DIR, default build-fuzz/), and fuzzes from the seed corpus with
# the harness's dictionary, in one process at the lowest priority (the machine is shared). New
# inputs go to BUILD/corpus-NAME; crashes to BUILD/crash-NAME-*: copy a fixed crash's input into
# tests/fuzz/crashes/NAME/ so that `meson test` replays it from then on.
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:?usage: scripts/fuzz.sh form|csv|pipeline|sniff [SECONDS]}
seconds=${2:-600}
if ! command -v clang >/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "fuzz: clang is missing; install it with: apt-get install clang" >&2
    exit 69
  fi
  apt-get install -y -qq --no-install-recommends clang >/dev/null
fi
scripts/setup.sh >/dev/null
build=${FUZZ_BUILD_DIR:-build-fuzz}
if [ ! -f "$build/build.ninja" ]; then
  CC=clang meson setup "$build" -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
    -Dc_args=-fsanitize=fuzzer-no-link >/dev/null
fi
ninja -C "$build" "tests/fuzz/fuzz_$name" >/dev/null
corpus=$build/corpus-$name
mkdir -p "$corpus"
case $name in
  form) seeds=(forms tests/data/form tests/data/form/bad); dict=(-dict=tests/fuzz/form.dict) ;;
  csv) seeds=(tests/data/csv samples tests/fuzz/corpus/csv); dict=(-dict=tests/fuzz/csv.dict) ;;
  pipeline) seeds=(tests/fuzz/corpus/pipeline); dict=(-dict=tests/fuzz/form.dict) ;;
  sniff) seeds=(tests/fuzz/corpus/sniff); dict=() ;;
  *) echo "fuzz: unknown harness $name" >&2; exit 64 ;;
esac
export CF_SOURCE_DIR=$PWD CONSENTFORM_FONTS=$PWD/fonts CONSENTFORM_FORMS=$PWD/forms
exec nice -n 19 "$build/tests/fuzz/fuzz_$name" "${dict[@]}" -max_total_time="$seconds" \
  -max_len=65536 -rss_limit_mb=1024 -timeout=60 -print_final_stats=1 \
  -artifact_prefix="$build/crash-$name-" "$corpus" "${seeds[@]}" "tests/fuzz/crashes/$name"
