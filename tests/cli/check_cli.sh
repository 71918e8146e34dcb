#!/usr/bin/env bash
# End-to-end checks of the command-line conventions (issue 11 item 4, issue 16 item 4): long
# options only in full, identity fields given once and never a value that looks like an option,
# "did you mean" for mistyped commands, options and form ids, -V, `help COMMAND`, and short usage
# errors that name the option and its values. Each check prints "ok" or "FAIL: why".
#
# Needs: $CF_BINARY, $CF_SOURCE_DIR (set by meson).
# shellcheck source=tests/check_prologue.sh
source "${CF_SOURCE_DIR:?}/tests/check_prologue.sh"

# expect STATUS "STDERR SUBSTRING" DESCRIPTION -- ARGS...: runs the binary, checks both.
expect() {
    local want=$1 needle=$2 what=$3
    shift 4
    "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
    local st=$?
    if [ "$st" -ne "$want" ]; then
        fail "$what: exit $st, expected $want: $(head -3 "$tmp/err")"
    elif [ -n "$needle" ] && ! grep -qF -- "$needle" "$tmp/err" "$tmp/out"; then
        fail "$what: no \"$needle\" in: $(head -3 "$tmp/err")"
    else
        ok "$what"
    fi
}

out=$tmp/out.pdf
id=(--patient-name 陳大文 --hospital-no 'HN12345678(9)' --episode-no HE1234567)
form=nerve-root-injection

# The baseline renders, so that the refusals below are about the options alone.
expect 0 "" "baseline render" -- render --allow-draft $form -o "$out" "${id[@]}"
rm -f "$out"

# Issue 11 item 4: no abbreviations; identity fields given once; values that look like options.
expect 64 "did you mean --patient-name?" "--pat after --patient-name refused" -- \
    render --allow-draft $form -o "$out" "${id[@]}" --pat 陳小文
expect 64 "did you mean --patient-name?" "--pat alone refused" -- \
    render --allow-draft $form -o "$out" --pat 陳小文 --hospital-no 'HN12345678(9)' --episode-no HE1234567
expect 64 "--hospital-no" "--hospital abbreviation refused" -- \
    render --allow-draft $form -o "$out" --patient-name 陳大文 --hospital 'HN12345678(9)' --episode-no HE1234567
expect 64 "--force" "--for (an abbreviation of a non-identity option) refused" -- \
    render --allow-draft $form -o "$out" "${id[@]}" --for
expect 64 "given twice" "--patient-name twice refused" -- \
    render --allow-draft $form -o "$out" "${id[@]}" --patient-name 陳小文
expect 64 "given twice" "--set PATIENT_NAME= after --patient-name refused" -- \
    render --allow-draft $form -o "$out" "${id[@]}" --set PATIENT_NAME=
expect 64 "given twice" "--set patient_name=x after --patient-name refused" -- \
    render --allow-draft $form -o "$out" "${id[@]}" --set patient_name=陳小文
expect 64 "given twice" "--patient-name after --set Patient_Name= refused" -- \
    render --allow-draft $form -o "$out" --set Patient_Name=陳小文 "${id[@]}"
dpn_sets=(--set procedures=d5w --set site=tarsal_tunnel --set procedure_date=2026-12-01)
expect 64 "given twice" "the same --set field twice refused" -- \
    render --allow-draft dpn-injection-consent -o "$out" "${id[@]}" "${dpn_sets[@]}" --set side=left --set SIDE=right
expect 64 "--patient-name=-o" "--patient-name -o refused" -- \
    render --allow-draft $form -o "$out" --patient-name -o "$tmp/x.pdf" --hospital-no 'HN12345678(9)' --episode-no HE1234567
expect 64 "--hospital-no=-" "--hospital-no -1 refused" -- \
    render --allow-draft $form -o "$out" --patient-name 陳大文 --hospital-no -1 --episode-no HE1234567
[ -e "$out" ] && fail "a refused render wrote $out" || ok "no refused render wrote a file"
# Written with '=', a value may start with '-' (it then meets the field rules like any other).
"$bin" render --allow-draft $form -o "$out" --patient-name=-陳大文 --hospital-no 'HN12345678(9)' --episode-no HE1234567 \
    >/dev/null 2>"$tmp/err"
grep -q "looks like an option" "$tmp/err" && fail "--patient-name=-x refused as an option" ||
    ok "--patient-name=-x is taken as a value"
rm -f "$out"
expect 64 "did you mean --patient-name?" "archive list --pat refused" -- archive list "$tmp/store" --pat x
expect 64 "--forms-dir" "list --forms refused" -- list --forms "$src/forms"
expect 64 "--csv" "batch --cs refused" -- batch --allow-draft $form --cs x.csv --out-dir "$tmp/b"

# Issue 16 item 4: -V, help, did you mean, short usage errors.
expect 0 "consentform " "-V prints the version" -- -V
[ "$(cat "$tmp/out")" = "$("$bin" --version)" ] && ok "-V = --version" || fail "-V differs from --version"
expect 64 "did you mean render?" "mistyped command rendr" -- rendr
expect 64 "did you mean validate?" "mistyped command valdiate" -- valdiate
expect 64 "did you mean --blank?" "mistyped option --blnk" -- render --allow-draft $form -o "$out" --blnk
expect 64 "did you mean --patient-name or --paper?" "ambiguous --pa lists both" -- render --allow-draft $form -o "$out" --pa x
expect 64 "a4 or letter" "bad --paper names its values" -- render --allow-draft $form -o "$out" "${id[@]}" --paper a5
if grep -q -- "--archive STORE" "$tmp/err"; then fail "a bad value printed the whole help"; else ok "a bad value prints no whole help"; fi
expect 64 "--forms-dir needs a value" "missing value named" -- list --forms-dir
expect 66 "did you mean nerve-root-injection?" "mistyped form id" -- \
    render --allow-draft nerve-root-injecton -o "$out" "${id[@]}"
expect 66 "did you mean nerve-root-injection?" "mistyped form id in validate" -- validate nerve-root-injectio
expect 64 "did you mean render?" "help with a mistyped command" -- help rendr

# help COMMAND: man(1) when the page exists, else the usage text. A stand-in man records calls.
mkdir -p "$tmp/bin"
cat >"$tmp/bin/man" <<'MAN'
#!/bin/sh
echo "man $*" >>"$MAN_LOG"
exit 0
MAN
chmod +x "$tmp/bin/man"
MAN_LOG=$tmp/man.log PATH="$tmp/bin:$PATH" "$bin" help batch >"$tmp/out" 2>&1
if grep -q "consentform-batch" "$tmp/man.log" 2>/dev/null; then ok "help batch opens the manual page: $(tail -1 "$tmp/man.log")"; else fail "help batch did not call man: $(cat "$tmp/out")"; fi
mkdir -p "$tmp/noman"
ln -s "$(command -v env)" "$tmp/noman/env"
PATH="$tmp/noman" "$bin" help render >"$tmp/out" 2>&1
if grep -q "usage: consentform render" "$tmp/out"; then ok "help render without man prints the usage"; else fail "help render without man: $(head -3 "$tmp/out")"; fi
expect 0 "usage: consentform <command>" "help alone prints the command list" -- help

# Issue 16 item 5: where forms come from. A copy of a form id in --forms-dir wins but is never
# silent: list shows the copy it shadows, render warns.
mkdir -p "$tmp/forms"
cp "$src/forms/$form.xml" "$tmp/forms/"
CONSENTFORM_FORMS=$src/forms "$bin" list --forms-dir "$tmp/forms" >"$tmp/out" 2>"$tmp/err"
if grep -q "^# $tmp/forms (--forms-dir)" "$tmp/out" && grep -q "^    shadows $src/forms/$form.xml" "$tmp/out" &&
    grep -q "^dpn-injection-consent" "$tmp/out"; then
    ok "list names each folder and the copy a form shadows"
else
    fail "list: $(cat "$tmp/out" "$tmp/err")"
fi
CONSENTFORM_FORMS=$src/forms "$bin" render --allow-draft $form --forms-dir "$tmp/forms" -o "$out" "${id[@]}" >/dev/null 2>"$tmp/err"
if grep -q "exists in more than one place" "$tmp/err" && grep -qF "$src/forms/$form.xml" "$tmp/err"; then
    ok "render warns about a form id found twice"
else
    fail "render did not warn about the shadowed copy: $(cat "$tmp/err")"
fi
rm -f "$out"
printf 'patient_name,hospital_no,episode_no\n陳大文,HN12345678(9),HE1234567\n' >"$tmp/list.csv"
CONSENTFORM_FORMS=$tmp/forms "$bin" batch --allow-draft $form --csv "$tmp/list.csv" --out-dir "$tmp/batch" >/dev/null 2>"$tmp/err"
if grep -q "exists in more than one place" "$tmp/err" && grep -qF "$tmp/forms/$form.xml" "$tmp/err"; then
    ok "batch warns about a form id found twice"
else
    fail "batch did not warn about the shadowed copy: $(cat "$tmp/err")"
fi
# A copy of the binary outside its build tree never reads the source tree, even though the source
# tree exists: no forms without CONSENTFORM_FORMS, and the schema is not taken from a forms folder.
cp "$bin" "$tmp/consentform-copy"
env -u CONSENTFORM_FORMS "$tmp/consentform-copy" list >"$tmp/out" 2>"$tmp/err"
if grep -qF "$src/forms" "$tmp/out" || grep -q "source tree" "$tmp/out"; then
    fail "a copied binary listed the source tree: $(cat "$tmp/out")"
else
    ok "a copied binary does not look at the source tree"
fi
env -u CONSENTFORM_FORMS "$tmp/consentform-copy" render --allow-draft $form -o "$out" "${id[@]}" >/dev/null 2>"$tmp/err"
st=$?
if [ $st -ne 0 ] && [ ! -e "$out" ]; then ok "a copied binary does not render a source-tree form (exit $st)"; else fail "a copied binary rendered from the source tree"; fi
# The schema belongs to the program: a forms folder with its own schema/ (here one that refuses
# every form) does not change the rules its forms are checked by.
mkdir -p "$tmp/forms/schema"
printf '<grammar xmlns="http://relaxng.org/ns/structure/1.0"><start><notAllowed/></start></grammar>\n' \
    >"$tmp/forms/schema/consent-form.rng"
CONSENTFORM_FORMS=$tmp/forms "$bin" validate $form >"$tmp/out" 2>"$tmp/err"
st=$?
if [ $st -eq 0 ] && ! grep -qF "$tmp/forms/schema" "$tmp/err"; then
    ok "the schema of a forms folder is not used"
else
    fail "validate with a forms folder's own schema: exit $st: $(head -3 "$tmp/err")"
fi

# Issue 13 item 4: validate reports the problems of every stage in one run, exit 65.
three=$src/tests/data/form/bad/three-stages.xml
"$bin" validate "$three" >"$tmp/out" 2>"$tmp/err"
st=$?
if [ $st -eq 65 ] && grep -qF "three-stages.xml:23:5: section does not take" "$tmp/err" &&
    grep -qF "three-stages.xml:24:16: a bare \"&\": to print an ampersand write &amp;" "$tmp/err" &&
    grep -qF "three-stages.xml:29:5: section id \"intro\" is used twice" "$tmp/err"; then
    ok "validate reports an XML, a schema and a semantic problem in one run"
else
    fail "validate of three-stages.xml: exit $st: $(cat "$tmp/err")"
fi

check_summary
