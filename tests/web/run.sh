#!/usr/bin/env bash
# Runs one browser spec (tests/web/NAME.spec.js) against a fresh `consentform serve`:
#   1. skips (exit 77) when this binary has no `serve` command yet, when Debian's chromium is
#      not installed, or when tests/web/node_modules lacks playwright-core (scripts/setup.sh
#      runs `npm ci` here);
#   2. makes a fresh store with a nurse and an admin (CONSENTFORM_TEST_ARGON2=fast: cheap
#      hashes, for tests only);
#   3. starts `consentform serve --store STORE` on a free loopback port and waits until it
#      answers (tests/serve/serve_lib.sh);
#   4. runs the spec with node; its screenshots go to $CF_BUILD_DIR/meson-logs/web/NAME/;
#   5. stops the server with SIGTERM (it must exit 0 within 20 s) and keeps its log there too.
# Usage: run.sh SPEC.js. Needs $CF_BINARY, $CF_BUILD_DIR (set by meson). Loopback only.
set -u
spec=${1:?usage: run.sh SPEC.js}
bin=${CF_BINARY:?}
build=${CF_BUILD_DIR:?}
here=$(cd "$(dirname "$0")" && pwd)
name=$(basename "$spec" .spec.js)
chromium=${CF_CHROMIUM:-/usr/bin/chromium}

if ! "$bin" serve --help >/dev/null 2>&1; then
    echo "skipped: this consentform has no serve command yet"
    exit 77
fi
[ -x "$chromium" ] || { echo "skipped: no $chromium (apt-get install chromium)"; exit 77; }
command -v node >/dev/null || { echo "skipped: no node (apt-get install nodejs npm)"; exit 77; }
[ -f "$here/node_modules/playwright-core/package.json" ] ||
    { echo "skipped: no playwright-core in $here/node_modules (scripts/setup.sh runs npm ci)"; exit 77; }

logs=$build/meson-logs/web/$name
rm -rf "$logs"
mkdir -p "$logs"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=../serve/serve_lib.sh
. "$here/../serve/serve_lib.sh"

export CONSENTFORM_TEST_ARGON2=fast
store=$tmp/store
"$bin" archive init "$store" 2>/dev/null || { echo "FAIL archive init"; exit 1; }
nurse=chan.tm nurse_pw='nurse password 1' admin=it.admin admin_pw='admin password 1'
clerk=wong.clerk clerk_pw='clerk password 1'
printf '%s\n' "$nurse_pw" | "$bin" user add "$store" "$nurse" --role nurse 2>/dev/null &&
    printf '%s\n' "$admin_pw" | "$bin" user add "$store" "$admin" --role admin 2>/dev/null &&
    printf '%s\n' "$clerk_pw" | "$bin" user add "$store" "$clerk" --role clerk 2>/dev/null ||
    { echo "FAIL user add"; exit 1; }

# The test forms (tests/data/form: an approved consent with every kind of field, judged on a day
# it is in force) before the shipped drafts, which only an admin may issue.
CONSENTFORM_TODAY=2025-06-01 cf_serve_start "$logs/serve.log" "$store" \
    "${CF_SOURCE_DIR:?}/tests/data/form" || exit 1
echo "serve listening on ${cf_url#http://} (pid $cf_server); screenshots in $logs"

CF_WEB_URL=$cf_url CF_WEB_USER=$nurse CF_WEB_PASSWORD=$nurse_pw \
    CF_WEB_ADMIN=$admin CF_WEB_ADMIN_PASSWORD=$admin_pw CF_WEB_CLERK=$clerk \
    CF_WEB_CLERK_PASSWORD=$clerk_pw CF_WEB_STORE=$store CF_WEB_SHOTS=$logs \
    CF_CHROMIUM=$chromium NODE_PATH=$here/node_modules \
    node "$spec"
st=$?
cf_serve_stop || st=1
if [ "$st" -ne 0 ]; then
    echo "--- serve log (last 30 lines) ---"
    tail -30 "$logs/serve.log"
fi
echo "screenshots: $(ls "$logs"/*.png 2>/dev/null | wc -l) in $logs"
exit "$st"
