#!/usr/bin/env bash
# `consentform user add|passwd|disable|list STORE NAME` (issue 15 item 8): passwords from a pipe
# (its first line) and from a terminal (twice, never echoed; through script(1)'s pseudo-terminal),
# the password and name rules, the exit statuses, users.db's mode and history, a disabled user
# keeping the name, and the help text. Each check prints "ok" or "FAIL: why".
#
# Needs: $CF_BINARY (set by meson). Hashing runs at test costs (CONSENTFORM_TEST_ARGON2=fast,
# auth.h); one check adds a user at the real costs.
set -u
bin=${CF_BINARY:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
export CONSENTFORM_TEST_ARGON2=fast LC_ALL=C.UTF-8
store=$tmp/store

# expect STATUS "STDERR SUBSTRING" DESCRIPTION "STDIN" -- ARGS...: runs the binary with STDIN
# piped in, checks the exit status and that stderr (or stdout) holds the substring.
expect() {
    local want=$1 needle=$2 what=$3 input=$4
    shift 5
    printf '%s' "$input" | "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
    local st=$?
    if [ "$st" -ne "$want" ]; then
        fail "$what: exit $st, expected $want: $(head -3 "$tmp/err")"
    elif [ -n "$needle" ] && ! grep -qF -- "$needle" "$tmp/err" "$tmp/out"; then
        fail "$what: no \"$needle\" in: $(head -3 "$tmp/err" "$tmp/out")"
    else
        ok "$what"
    fi
}
sql() { sqlite3 "$store/users.db" "$1"; }

expect 66 "is not a consentform store" "a folder that is not a store is refused" \
    $'a good password\n' -- user add "$tmp" anna --role nurse
[ -e "$tmp/users.db" ] && fail "users.db made outside a store" || ok "no users.db outside a store"
"$bin" archive init "$store" 2>/dev/null || fail "archive init"

expect 0 "added anna (nurse)" "add with the password on a pipe" \
    $'anna\'s password\n' -- user add "$store" anna --role nurse --operator it-desk
mode=$(stat -c %a "$store/users.db")
[ "$mode" = 660 ] && ok "users.db is 0660" || fail "users.db is $mode"
grep -qa "anna's password" "$store"/users.db* && fail "the password is in users.db" ||
    ok "the password itself is not stored"
[ "$(sql "SELECT role || ' ' || substr(hash, 1, 10) FROM users WHERE name = 'anna'")" = \
    'nurse $argon2id$' ] && ok "an Argon2id hash is stored" || fail "users row: $(sql 'SELECT * FROM users')"
expect 0 "" "a password line ending CR LF, and a second line, are taken" \
    $'ben\'s password\r\nsecond line ignored\n' -- user add "$store" ben --role admin

expect 73 "user anna exists already" "a taken name is refused" \
    $'another password\n' -- user add "$store" anna --role clerk
expect 73 "user anna exists already" "names are compared without case" \
    $'another password\n' -- user add "$store" ANNA --role clerk
expect 65 "at least 10 characters (this one has 9)" "a 9-character password is refused" \
    $'123456789\n' -- user add "$store" carl --role clerk
expect 0 "added carl" "10 Chinese characters are a password" \
    $'護士站密碼護士站密碼\n' -- user add "$store" carl --role clerk
expect 65 "no password" "an empty input is no password" "" -- user add "$store" dora --role clerk
expect 65 "a user name holds only" "a name with a space is refused before any password" \
    "" -- user add "$store" "dora x" --role clerk
expect 65 "starts with a letter or digit" "a name like an option is refused" \
    $'a good password\n' -- user add "$store" .dora --role clerk
[ "$(sql "SELECT count(*) FROM users WHERE name LIKE '%dora%'")" = 0 ] &&
    ok "refused users were not added" || fail "a refused user was added"

expect 64 "give the user's --role" "add without --role" $'a good password\n' -- user add "$store" dora
expect 64 "--role is nurse, clerk or admin, not \"doctor\"" "an unknown role" \
    $'a good password\n' -- user add "$store" dora --role doctor
expect 64 "did you mean --role?" "an abbreviated option" $'a good password\n' -- user add "$store" dora --ro clerk
expect 64 "--role is given only with add" "passwd with --role" $'a good password\n' -- \
    user passwd "$store" anna --role admin
expect 64 "name the STORE folder and the user's NAME" "a missing NAME" "" -- user disable "$store"
expect 64 "is not add, passwd, disable or list" "an unknown subcommand" "" -- user remove "$store" anna

expect 0 "changed the password of anna" "passwd" $'anna\'s new password\n' -- \
    user passwd "$store" anna --operator it-desk
expect 66 "has no user nobody" "passwd of an unknown user" $'a good password\n' -- \
    user passwd "$store" nobody
expect 0 "disabled carl" "disable" "" -- user disable "$store" carl --operator it-desk
expect 0 "was disabled already" "disable twice is a note" "" -- user disable "$store" carl
expect 65 "is disabled and stays so" "no new password for a disabled user" \
    $'a good password\n' -- user passwd "$store" carl
expect 73 "user carl exists already (disabled" "a disabled user's name is not given again" \
    $'a good password\n' -- user add "$store" carl --role nurse
expect 0 "3 users" "list" "" -- user list "$store"
if grep -qE '^anna +nurse +active' "$tmp/out" && grep -qE '^carl +clerk +disabled' "$tmp/out"; then
    ok "list shows roles and status"
else
    fail "list: $(cat "$tmp/out")"
fi
history=$(sql "SELECT name || ' ' || action || ' ' || operator FROM user_events ORDER BY id" | tr '\n' ';')
want="anna added it-desk;ben added $(id -un);carl added $(id -un);anna password-changed it-desk;carl disabled it-desk;"
if [ "$history" = "$want" ] || [ "$history" = "${want//$(id -un)/${USER:-}}" ]; then
    ok "every change is a user_events row with its operator"
else
    fail "user_events: $history"
fi

# From a terminal: asked twice, nothing echoed; two different answers change nothing.
# feed LINE1 LINE2: types each line once the prompt for it is on the screen.
waitfor() { for _ in $(seq 150); do grep -q "$1" "$tmp/tty" 2>/dev/null && return 0; sleep 0.1; done; return 1; }
feed() {
    waitfor 'new password for' && printf '%s\n' "$1"
    waitfor 'same password again' && printf '%s\n' "$2"
}
rm -f "$tmp/tty"
feed 'typed at the terminal' 'typed at the terminal' |
    script -qec "'$bin' user add '$store' erin --role clerk" /dev/null >"$tmp/tty" 2>&1
st=$?
if [ $st -eq 0 ] && grep -q "added erin" "$tmp/tty" && ! grep -q "typed at the terminal" "$tmp/tty"; then
    ok "a terminal is asked twice and shows nothing typed"
else
    fail "terminal add: exit $st: $(tr -d '\r' <"$tmp/tty")"
fi
rm -f "$tmp/tty"
feed 'first password typed' 'second password typed' |
    script -qec "'$bin' user passwd '$store' erin" /dev/null >"$tmp/tty" 2>&1
st=$?
if [ $st -eq 65 ] && grep -q "the two passwords differ" "$tmp/tty" &&
    [ "$(sql "SELECT generation FROM users WHERE name = 'erin'")" = 1 ]; then
    ok "two different passwords at the terminal change nothing"
else
    fail "terminal mismatch: exit $st: $(tr -d '\r' <"$tmp/tty")"
fi

# The real costs (m = 64 MiB, t = 3) without the test setting.
printf 'a real-cost password\n' | env -u CONSENTFORM_TEST_ARGON2 "$bin" user add "$store" fay --role nurse 2>/dev/null
[ "$(sql "SELECT substr(hash, 1, 31) FROM users WHERE name = 'fay'")" = '$argon2id$v=19$m=65536,t=3,p=1$' ] &&
    ok "without the test setting passwords are hashed at m=64 MiB, t=3" ||
    fail "real-cost hash: $(sql "SELECT substr(hash, 1, 40) FROM users WHERE name = 'fay'")"

expect 0 "without echo, twice" "the help says where the password comes from" "" -- user --help
expect 0 "the users of serve" "consentform --help lists user" "" -- --help

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
