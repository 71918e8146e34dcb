# Sourced by the shell checks (tests/cli/check_cli.sh, tests/doc/check_completion.sh,
# tests/golden/format/check_format_examples.sh) as their first line:
#     source "${CF_SOURCE_DIR:?}/tests/check_prologue.sh"
# Gives them $bin (the consentform under test, $CF_BINARY) and $src (the source tree,
# $CF_SOURCE_DIR), both set by meson; $tmp, a folder removed on exit; ok and fail, which print
# one line per check ("ok   ..." or "FAIL ...") and count the failures; and check_summary, the
# last line of a check: prints the count and gives the script's exit status.
set -u
bin=${CF_BINARY:?}
src=${CF_SOURCE_DIR:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
ok() { echo "ok   $*"; }
fail() {
    echo "FAIL $*"
    failures=$((failures + 1))
}
check_summary() {
    echo "$failures failure(s)"
    [ "$failures" -eq 0 ]
}
