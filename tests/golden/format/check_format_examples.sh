#!/usr/bin/env bash
# forms/FORMAT.md is the forms officer's only guide: the two complete forms it gives to copy (the
# ```xml file=NAME blocks) must validate without a warning and render, labelled and blank. They
# are extracted from FORMAT.md itself, so the guide cannot drift from what the program accepts.
#
# Needs: $CF_BINARY, $CF_SOURCE_DIR (set by meson), pdftotext.
# shellcheck source=tests/check_prologue.sh
source "${CF_SOURCE_DIR:?}/tests/check_prologue.sh"

awk -v dir="$tmp" '
    /^```xml file=/ { f = dir "/" substr($2, 6); n++; next }
    /^```/ { f = ""; next }
    f != "" { print > f }
    END { if (n != 2) exit 1 }' "$src/forms/FORMAT.md" || fail "FORMAT.md does not hold exactly two examples"

# Drafts need --allow-draft where the program enforces form status.
allow=()
if "$bin" render --allow-draft --help 2>/dev/null | grep -q -- '--allow-draft'; then allow=(--allow-draft); fi

for form in example-leaflet example-consent; do
    xml=$tmp/$form.xml
    if [ ! -s "$xml" ]; then fail "$form: not found in FORMAT.md"; continue; fi
    if "$bin" validate "$xml" >"$tmp/out" 2>"$tmp/err" && [ ! -s "$tmp/err" ]; then
        ok "$form: validates without a warning"
    else
        fail "$form: validate: $(cat "$tmp/err")"
    fi
    if [ "$form" = example-leaflet ]; then
        who=(--patient-name 陳大文 --hospital-no 'HN12345678(9)' --episode-no HE1234567)
        third=HE1234567
    else
        who=(--patient-name 陳大文 --hospital-no A123456789 --set birth_date=1950-03-02
             --set procedures=ha --set procedure_date=2026-12-01 --set fee=3000)
        third=1950-03-02
    fi
    if "$bin" render --allow-draft "$xml" -o "$tmp/$form.pdf" "${allow[@]}" "${who[@]}" 2>"$tmp/err" &&
        text=$(pdftotext -enc UTF-8 "$tmp/$form.pdf" - 2>/dev/null) &&
        [[ "$text" == *陳大文* && "$text" == *"$third"* ]]; then
        ok "$form: renders for a patient"
    else
        fail "$form: render: $(cat "$tmp/err")"
    fi
    if "$bin" render --allow-draft "$xml" -o "$tmp/$form-blank.pdf" "${allow[@]}" --blank 2>"$tmp/err"; then
        ok "$form: renders blank"
    else
        fail "$form: render --blank: $(cat "$tmp/err")"
    fi
done

# What the guide says of the consent example holds: the ticked procedure's risks only, numbers
# for the cited bands, （適用於：…） on the blank form.
text=$(pdftotext -enc UTF-8 "$tmp/example-consent.pdf" - 2>/dev/null)
if [[ "$text" == *"常見（每 100 人有 1 至 10 人）"* && "$text" != *"血糖暫時上升"* ]]; then
    ok "example-consent: cited band numbers print, the unticked procedure's risk is left out"
else
    fail "example-consent: band numbers or applies-to not as FORMAT.md says"
fi
blank=$(pdftotext -enc UTF-8 "$tmp/example-consent-blank.pdf" - 2>/dev/null)
if [[ "$blank" == *"血糖暫時上升。（適用於：類固醇注射）"* ]]; then
    ok "example-consent blank: （適用於：…） printed"
else
    fail "example-consent blank: no （適用於：…）"
fi

check_summary
