# shellcheck shell=bash
# A real `consentform serve` for the shell tests (sourced by tests/serve/check_fonts.sh,
# tests/golden/print/check_serve_print.sh and tests/web/run.sh): started on a free loopback port
# under LC_ALL=C.UTF-8 (its messages, and CUPS's reasons it passes on, in English), waited for
# until it answers HTTP, a user logged in with a cookie jar, and stopped when the test exits.
# Port 0: the kernel picks a port nobody listens on and the server says which ("serving on
# http://127.0.0.1:PORT/"), so no other process can take it between the choice and the bind.
# Needs: $CF_BINARY, curl, $tmp (a private scratch folder, for the cookie jar).
# Gives:
#   cf_serve_start LOG STORE FORMS_DIR [SERVE_OPTION...]: starts `consentform serve --store
#       STORE --forms-dir FORMS_DIR` with the options, its stdout and stderr in LOG (made anew).
#       Variables for the server go before the call (NAME=VALUE cf_serve_start ...). Sets
#       $cf_url (http://127.0.0.1:PORT) and $cf_server (its pid). When it has not answered
#       within $cf_serve_wait seconds (20), prints "FAIL ..." with the end of LOG and returns 1.
#   cf_serve_login NAME PASSWORD: logs in as the login form does; the session cookie goes into
#       the jar $cf_jar (curl -b "$cf_jar"), the CSRF token of the forms page into $cf_csrf.
#       Returns 1 when either is missing. A second login replaces the first.
#   cf_serve_stop: SIGTERM, then up to 20 s for the server to end; prints "FAIL ..." and returns
#       1 when it does not end in time or ends with a status other than 0. Nothing to do when no
#       server runs. cf_serve_start adds it to the front of the EXIT trap (keeping the trap the
#       test set before), so a test that stops early leaves no server behind.

cf_server=
cf_url=
cf_csrf=
cf_jar=${tmp:?serve_lib.sh needs \$tmp}/cf-serve.cookies
cf_serve_wait=${cf_serve_wait:-20}

cf_serve_start() {
    local log=$1 store=$2 forms=$3 options=("${@:4}") code deadline
    [ -z "$cf_server" ] || { echo "FAIL cf_serve_start: a server runs already (pid $cf_server)"; return 1; }
    # Once: stop the server first on exit, then whatever the test's own trap does.
    local trap_now
    trap_now=$(trap -p EXIT)
    if [[ $trap_now != *cf_serve_stop* ]]; then
        eval "set -- $trap_now"
        # shellcheck disable=SC2064 # the test's trap as it is now, then and there
        trap "cf_serve_stop; ${3:-}" EXIT
    fi
    LC_ALL=C.UTF-8 "${CF_BINARY:?}" serve --store "$store" --listen 127.0.0.1:0 \
        --forms-dir "$forms" "${options[@]}" >"$log" 2>&1 &
    cf_server=$!
    cf_url=
    deadline=$((SECONDS + cf_serve_wait))
    while [ "$SECONDS" -lt "$deadline" ]; do
        if [ -z "$cf_url" ]; then
            cf_url=$(sed -n 's/.*serving on \(http:\/\/127\.0\.0\.1:[0-9]*\)\/.*/\1/p' "$log" | head -1)
        fi
        if [ -n "$cf_url" ]; then
            code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$cf_url/login")
            [ "$code" != 000 ] && return 0
        fi
        kill -0 "$cf_server" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$cf_server" 2>/dev/null; then
        echo "FAIL consentform serve did not answer within $cf_serve_wait s (${cf_url:-no address in its log}); its log ($log):"
        kill -KILL "$cf_server" 2>/dev/null
        wait "$cf_server" 2>/dev/null
    else
        wait "$cf_server"
        echo "FAIL consentform serve ended with status $? before it answered; its log ($log):"
    fi
    cf_server=
    cf_url=
    tail -n 40 "$log" | sed 's/^/    /'
    return 1
}

cf_serve_login() {
    rm -f "$cf_jar"
    cf_csrf=
    curl -s -o /dev/null -c "$cf_jar" --data-urlencode "name=$1" --data-urlencode "password=$2" \
        "$cf_url/login"
    grep -q 'cf_session' "$cf_jar" 2>/dev/null || return 1
    cf_csrf=$(curl -s -b "$cf_jar" "$cf_url/" |
        sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' | head -1)
    [ -n "$cf_csrf" ]
}

cf_serve_stop() {
    [ -n "$cf_server" ] || return 0
    local pid=$cf_server i st
    cf_server=
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 200; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "FAIL consentform serve did not stop within 20 s of SIGTERM"
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        return 1
    fi
    wait "$pid"
    st=$?
    [ "$st" -eq 0 ] || { echo "FAIL consentform serve exited $st on SIGTERM (expected 0)"; return 1; }
}
