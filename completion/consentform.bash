# bash completion for consentform(1): commands, options, form ids (from `consentform list`) and
# file names where a file is expected. Installed where bash-completion loads it on demand.

# The form ids that `consentform list` prints (with the --forms-dir of the line, if any).
_consentform_form_ids()
{
    local bin=$1 forms_dir=$2
    local -a args=(list)
    [[ -n $forms_dir ]] && args+=(--forms-dir "$forms_dir")
    "$bin" "${args[@]}" 2>/dev/null | while read -r id _; do
        [[ $id == [a-z0-9]* ]] && printf '%s\n' "$id"
    done
}

_consentform()
{
    local cur=${COMP_WORDS[COMP_CWORD]}
    local prev=${COMP_WORDS[COMP_CWORD-1]}
    local bin=${COMP_WORDS[0]}
    local commands="list validate render batch archive diff user serve help"
    COMPREPLY=()

    if ((COMP_CWORD == 1)); then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "-V --version -h --help" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$commands" -- "$cur"))
        fi
        return 0
    fi

    local command=${COMP_WORDS[1]} forms_dir="" i
    for ((i = 2; i < COMP_CWORD; i++)); do
        if [[ ${COMP_WORDS[i]} == --forms-dir ]]; then
            forms_dir=${COMP_WORDS[i+1]}
        elif [[ ${COMP_WORDS[i]} == --forms-dir=* ]]; then
            forms_dir=${COMP_WORDS[i]#--forms-dir=}
        fi
    done

    # The value of the option before the cursor.
    case $prev in
    -o | --output | --combined)
        compopt -o filenames 2>/dev/null
        COMPREPLY=($(compgen -f -X '!*.pdf' -- "$cur") $(compgen -d -- "$cur"))
        [[ $prev == -o && $command == render ]] && COMPREPLY+=($(compgen -W "-" -- "$cur"))
        return 0
        ;;
    --csv | --map-file | --tls-cert | --tls-key)
        compopt -o filenames 2>/dev/null
        COMPREPLY=($(compgen -f -- "$cur"))
        return 0
        ;;
    --out-dir | --forms-dir | --archive | --store)
        compopt -o filenames 2>/dev/null
        COMPREPLY=($(compgen -d -- "$cur"))
        return 0
        ;;
    --role)
        COMPREPLY=($(compgen -W "nurse clerk admin" -- "$cur"))
        return 0
        ;;
    --paper)
        COMPREPLY=($(compgen -W "a4 letter" -- "$cur"))
        return 0
        ;;
    --encoding)
        COMPREPLY=($(compgen -W "auto utf-8 utf-16 big5 big5-hkscs" -- "$cur"))
        return 0
        ;;
    --delimiter)
        COMPREPLY=($(compgen -W ", ; tab auto" -- "$cur"))
        return 0
        ;;
    --format)
        if [[ $command == render ]]; then
            COMPREPLY=($(compgen -W "pdf svg" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "text html" -- "$cur"))
        fi
        return 0
        ;;
    --print)
        # CUPS queues, when the lpstat client is there
        COMPREPLY=($(compgen -W "$(lpstat -e 2>/dev/null)" -- "$cur"))
        return 0
        ;;
    --patient-name | --hospital-no | --episode-no | --set | --jobs | --name | --operator | \
        --doc-id | --reason | --form | --map | --ward)
        return 0 # free text
        ;;
    esac

    local options=""
    case $command in
    list) options="--forms-dir" ;;
    validate) options="" ;;
    render)
        # render's own options, then those render and batch share (cf_cli_issue_getopt)
        options="--output --patient-name --hospital-no --episode-no --set --blank --format
                 --help --paper --archive --operator --ward --force --forms-dir --private
                 --allow-draft --allow-expired --print"
        ;;
    batch)
        options="--csv --out-dir --encoding --delimiter --name --map --map-file --combined
                 --simplex --only-combined --jobs --check --resume --help
                 --paper --archive --operator --ward --force --forms-dir --private --allow-draft
                 --allow-expired --print"
        ;;
    diff) options="--format --help" ;;
    archive)
        options="--doc-id --operator --unregistered --form --patient-name --hospital-no
                 --episode-no --unsigned --record --reason --output --force --move --page --watch
                 --ward --status --from --to --utc --group --help"
        ;;
    user) options="--role --operator --help" ;;
    serve)
        options="--store --forms-dir --listen --printer --tls-cert --tls-key --timeout --help"
        ;;
    help)
        ((COMP_CWORD == 2)) && COMPREPLY=($(compgen -W "$commands" -- "$cur"))
        return 0
        ;;
    *) return 0 ;;
    esac

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$options" -- "$cur"))
        return 0
    fi

    case $command in
    render | batch | validate | diff)
        # A form: an id, or a path to a .xml file.
        compopt -o filenames 2>/dev/null
        if [[ $cur == */* || $cur == .* ]]; then
            COMPREPLY=($(compgen -f -X '!*.xml' -- "$cur") $(compgen -d -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$(_consentform_form_ids "$bin" "$forms_dir")" -- "$cur")
                       $(compgen -f -X '!*.xml' -- "$cur"))
        fi
        ;;
    archive)
        if ((COMP_CWORD == 2)); then
            COMPREPLY=($(compgen -W "init add file inbox assign list show export verify void" -- "$cur"))
        else
            compopt -o filenames 2>/dev/null
            COMPREPLY=($(compgen -f -- "$cur"))
        fi
        ;;
    user)
        # user SUBCOMMAND STORE NAME: the store is a folder, a name is free text
        if ((COMP_CWORD == 2)); then
            COMPREPLY=($(compgen -W "add passwd disable list" -- "$cur"))
        elif ((COMP_CWORD == 3)); then
            compopt -o filenames 2>/dev/null
            COMPREPLY=($(compgen -d -- "$cur"))
        fi
        ;;
    esac
    return 0
}
complete -F _consentform consentform
