#!/usr/bin/env bash
# The bash completion (completion/consentform.bash, issue 16 item 3): sourced into a bash and
# called as bash-completion would, with COMP_WORDS and COMP_CWORD set. Each check prints "ok" or
# "FAIL: why". Needs $CF_BINARY, $CF_SOURCE_DIR and $CONSENTFORM_FORMS (set by meson).
# shellcheck source=tests/check_prologue.sh
source "${CF_SOURCE_DIR:?}/tests/check_prologue.sh"

# shellcheck source=/dev/null
source "$src/completion/consentform.bash"
if [ "$(complete -p consentform 2>/dev/null)" = "complete -F _consentform consentform" ]; then
    ok "the file registers _consentform for consentform"
else
    fail "complete -p consentform: $(complete -p consentform 2>&1)"
fi

# complete WORD... : completes the last word of the line "WORD..."; the answers in $reply.
complete_line() {
    COMP_WORDS=("$@")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMP_LINE="$*"
    COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    _consentform consentform "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
    reply=" ${COMPREPLY[*]} "
}

# expect "DESCRIPTION" "WANTED ANSWER" WORD... : the answer is among the completions.
expect() {
    local what=$1 want=$2
    shift 2
    complete_line "$@"
    if [[ $reply == *" $want "* ]]; then ok "$what → $want"; else fail "$what: got [$reply], expected $want"; fi
}

expect "consentform ren<TAB>" render "$bin" ren
complete_line "$bin" ren
[ "$reply" = " render " ] && ok "ren completes to render alone" || fail "ren: [$reply]"
expect "consentform v<TAB>" validate "$bin" v
expect "consentform -<TAB>" --version "$bin" -
expect "consentform help b<TAB>" batch "$bin" help b
expect "consentform render nerve<TAB> (a form id)" nerve-root-injection "$bin" render nerve
expect "consentform batch dpn<TAB> (a form id)" dpn-injection-consent "$bin" batch dpn
expect "consentform validate <TAB>" nerve-root-injection "$bin" validate ""
expect "consentform render x --pat<TAB>" --patient-name "$bin" render x --pat
expect "consentform render x --paper <TAB>" letter "$bin" render x --paper ""
expect "consentform batch x --enc<TAB>" --encoding "$bin" batch x --enc
expect "consentform archive ver<TAB>" verify "$bin" archive ver
expect "consentform us<TAB>" user "$bin" us
expect "consentform user dis<TAB>" disable "$bin" user dis
expect "consentform user add s --role <TAB>" clerk "$bin" user add s anna --role ""
expect "consentform user add s anna --ro<TAB>" --role "$bin" user add s anna --ro
mkdir -p "$tmp/ward-store"
expect "consentform user add <TAB> completes a store folder" "$tmp/ward-store" "$bin" user add "$tmp/ward-"
expect "consentform archive fi<TAB>" file "$bin" archive fi
expect "consentform archive file STORE --mo<TAB>" --move "$bin" archive file STORE --mo
expect "consentform archive file STORE --wa<TAB>" --watch "$bin" archive file STORE --wa

# A form id from the --forms-dir of the line, and file names where a file is expected.
mkdir -p "$tmp/forms"
cp "$src/forms/nerve-root-injection.xml" "$tmp/forms/my-local-form.xml"
expect "a form id from --forms-dir" my-local-form "$bin" render --forms-dir "$tmp/forms" my-
touch "$tmp/patients.csv"
expect "--csv completes a file name" "$tmp/patients.csv" "$bin" batch x --csv "$tmp/pat"
expect "--out-dir completes a folder" "$tmp/forms" "$bin" batch x --out-dir "$tmp/fo"
complete_line "$bin" render x --patient-name ""
[ "$reply" = "  " ] && ok "a patient value completes nothing" || fail "--patient-name completed [$reply]"

# The options of this version: the new ones complete, with their values, and every option that
# `render --help` and `batch --help` define is offered (the completion cannot fall behind).
expect "consentform batch x --allow-d<TAB>" --allow-draft "$bin" batch x --allow-d
expect "consentform render x --allow-e<TAB>" --allow-expired "$bin" render x --allow-e
expect "consentform batch x --forms<TAB>" --forms-dir "$bin" batch x --forms
expect "consentform batch x --map-<TAB>" --map-file "$bin" batch x --map-
expect "consentform batch x --encoding <TAB>" utf-16 "$bin" batch x --encoding ""
expect "consentform batch x --delimiter <TAB>" tab "$bin" batch x --delimiter ""
expect "consentform diff a b --format <TAB>" html "$bin" diff a b --format ""
for command in render batch; do
    complete_line "$bin" "$command" x --
    missing=""
    for option in $("$bin" "$command" --help | grep -E '^ +(-[a-z], )?--[a-z]' |
        grep -oE -- '--[a-z][a-z-]*' | sort -u); do
        # only the first option named on each definition line counts
        [[ $reply == *" $option "* ]] || missing="$missing $option"
    done
    [ -z "$missing" ] && ok "$command: every option of --help completes" || fail "$command: not completed:$missing"
done
complete_line "$bin" batch x --pat
[ "$reply" = "  " ] && ok "batch does not offer --patient-name" || fail "batch offers [$reply]"

check_summary
