#!/usr/bin/env bash
# The whole test suite: set up and build, run every test (unit, golden, fuzz replays, hostile
# inputs); then the static checks, the suite again under a decimal-comma locale, the same suite
# built with AddressSanitizer + UBSan, and the unit tests under valgrind.
# Options: --quick runs only the normal build's tests. CF_PACKAGE_TEST=1 also builds, installs and
# purges the Debian package (scripts/package-test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
build=${BUILD_DIR:-build}
werror=false
[ "${CI:-}" = true ] && werror=true

echo "== tests (normal build)"
meson test -C "$build" --print-errorlogs --num-processes 2

if [ "${1:-}" = --quick ]; then
  exit 0
fi

# The 200-row comparisons of the cached and uncached paths (batch/run-fonts, batch/body-cache)
# ran in full above; the passes below take the same paths on 40 rows (the sanitizers make every
# page several times slower, and the locale changes no pixel).
export ROWS=40

echo "== static checks"
scripts/static-checks.sh

echo "== tests under LC_ALL=de_DE.UTF-8 (decimal comma: PDF numbers must still use a dot)"
# consentform never calls setlocale; tests/hostile/locale_preload.so does it in every test
# program, as an application embedding the library might, so that the locale really applies.
if locale -a 2>/dev/null | grep -qi '^de_DE\.utf-\?8$'; then
  LC_ALL=de_DE.UTF-8 meson test -C "$build" --print-errorlogs --num-processes 2 \
    --suite unit --suite golden --suite hostile \
    --wrap="env LD_PRELOAD=$(cd "$build" && pwd)/tests/hostile/locale_preload.so"
else
  echo "skipped: the de_DE.UTF-8 locale is missing (scripts/setup.sh generates it when root)"
fi

echo "== tests (AddressSanitizer + UndefinedBehaviorSanitizer)"
asan=${build}-asan
if [ ! -f "$asan/build.ninja" ]; then
  meson setup "$asan" --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false \
    -Dc_args=-fno-sanitize-recover=all -Dwerror="$werror" >/dev/null
fi
ninja -C "$asan" >/dev/null
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  meson test -C "$asan" --print-errorlogs --num-processes 2

echo "== unit tests under valgrind"
meson test -C "$build" --suite unit --print-errorlogs --num-processes 2 \
  --wrap='valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect --quiet' \
  --timeout-multiplier 10

# The Debian package: build, lintian, install in a fresh Debian 12 root, use, purge (several
# minutes and network access for debootstrap; off unless asked for).
if [ "${CF_PACKAGE_TEST:-}" = 1 ]; then
  echo "== Debian package (scripts/package-test.sh)"
  scripts/package-test.sh
fi

echo "== all passed in $((SECONDS / 60)) min $((SECONDS % 60)) s"
