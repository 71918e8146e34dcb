#!/usr/bin/env bash
# The form's fingerprint (issue 13 item 2): the SHA-256 of what the form says goes into the
# PDF's Keywords, the manifest (form_sha256) and the archive record; the store registers the
# fingerprint of each form id@version, and a changed text under the same version is refused by
# render and batch (exit 65, both fingerprints named, nothing written) until its version is
# raised. Re-indenting and comments change nothing. rebuild-index keeps the registry; without
# --archive there is nothing to check. Prints "ok"/"FAIL" per check.
set -u
bin=${CF_BINARY:?}
src=${CF_SOURCE_DIR:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1767225600}
export CONSENTFORM_TODAY=2026-12-06
failures=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
form=nerve-root-injection
id=(--patient-name 陳大文 --hospital-no 'HN12345678(9)' --episode-no HE1234567)
printf 'patient_name,hospital_no,episode_no\r\n陳大文,HN12345678(9),HE1\r\n李小明,HN00023456,HE2\r\n' >"$tmp/list.csv"
store=$tmp/store
"$bin" archive init "$store" 2>/dev/null || { echo "archive init failed"; exit 1; }

# copy NAME SED-SCRIPT: the shipped leaflet as $tmp/NAME/$form.xml, edited by SED-SCRIPT.
copy() {
    mkdir -p "$tmp/$1"
    sed "$2" "$src/forms/$form.xml" >"$tmp/$1/$form.xml"
    cmp -s "$src/forms/$form.xml" "$tmp/$1/$form.xml" && [ "$2" != "" ] &&
        echo "copy $1: the edit changed nothing" >&2
}
copy shipped ''
copy edited 's/再次注射而得到療效的機會是很微的/再次注射而得到療效的機會是很低的/'
# Re-indented (every line but the XML declaration), a comment added, attributes reordered.
copy reindented '2,$s/^/    /; s|<meta>|<!-- reviewed 2026-12: no change of text --><meta>|; s|<form id="nerve-root-injection" version="1.1" kind="leaflet" xml:lang="zh-Hant-HK">|<form xml:lang="zh-Hant-HK" kind="leaflet"\n    version="1.1" id="nerve-root-injection">|'
copy raised 's/再次注射而得到療效的機會是很微的/再次注射而得到療效的機會是很低的/; s/version="1.1" kind="leaflet"/version="1.2" kind="leaflet"/'
grep -q 'version="1.1" id=' "$tmp/reindented/$form.xml" || fail "reindented copy: attributes not reordered"

# keywords_fp PDF: the form-sha256 of the PDF's Keywords.
keywords_fp() { pdfinfo "$1" 2>/dev/null | sed -n 's/^Keywords: *.*form-sha256=\([0-9a-f]\{64\}\).*$/\1/p'; }
# render_to DIR OUT [ARGS...]: renders the leaflet from forms dir DIR into the store.
render_to() {
    local dir=$1 out=$2
    shift 2
    "$bin" render "$form" --forms-dir "$tmp/$dir" -o "$out" "${id[@]}" --allow-draft "$@" 2>"$tmp/err"
}

# 1. The first issue registers the text; the fingerprint is in the PDF, the record, the manifest.
render_to shipped "$tmp/a.pdf" --archive "$store"; st=$?
fp=$(keywords_fp "$tmp/a.pdf")
doc=$(pdfinfo "$tmp/a.pdf" 2>/dev/null | sed -n 's/^Keywords: *\([0-9A-Z-]*\) form-sha256=.*$/\1/p')
if [ $st -eq 0 ] && [ ${#fp} -eq 64 ] && [ -n "$doc" ]; then
    ok "render --archive: pdfinfo Keywords: $doc form-sha256=${fp:0:12}…"
else
    fail "render: exit $st, Keywords: $(pdfinfo "$tmp/a.pdf" 2>&1 | grep Keywords) $(cat "$tmp/err")"
fi
if "$bin" archive show "$store" "$doc" 2>/dev/null | grep -q "^  form_sha256 $fp\$"; then
    ok "archive show prints form_sha256"
else
    fail "archive show: $("$bin" archive show "$store" "$doc" 2>&1)"
fi
"$bin" archive export "$store" "$doc" -o "$tmp/export" >/dev/null 2>&1
grep -q "\"form_sha256\": *\"$fp\"" "$tmp/export/record.json" && ok "the exported record holds form_sha256" ||
    fail "record.json: $(head -c 600 "$tmp/export/record.json")"
"$bin" batch "$form" --forms-dir "$tmp/shipped" --csv "$tmp/list.csv" --out-dir "$tmp/b1" \
    --allow-draft --archive "$store" 2>"$tmp/err"; st=$?
m=$(tr -d '\r' <"$tmp/b1/manifest.csv" 2>/dev/null)
if [ $st -eq 0 ] && echo "$m" | head -1 | grep -q '^row,status,file,document_id,sha256,pages,message,patient_name,hospital_no,override,form_sha256$' &&
    [ "$(echo "$m" | grep -c ",draft,$fp\$")" -eq 2 ]; then
    ok "batch: manifest column form_sha256 after override, on every row"
else
    fail "batch: exit $st: $m $(cat "$tmp/err")"
fi
grep -q ",$fp" "$tmp/b1/manifest-source.csv" && ok "manifest-source.csv names the fingerprint" ||
    fail "manifest-source: $(cat "$tmp/b1/manifest-source.csv")"

# 2. One character changed, version kept: refused by render and batch, nothing written.
render_to edited "$tmp/e.pdf" --archive "$store"; st=$?
efp=$(grep -o 'this text form-sha256=[0-9a-f]*' "$tmp/err" | cut -d= -f2)
if [ $st -eq 65 ] && grep -q "the text of $form 1.1 changed: raise its version" "$tmp/err" &&
    grep -q "${fp:0:12}…" "$tmp/err" && grep -q "${efp:0:12}…" "$tmp/err" && [ ${#efp} -eq 64 ] &&
    [ "$efp" != "$fp" ] && grep -q "the archive's form-sha256=$fp" "$tmp/err" && [ ! -e "$tmp/e.pdf" ]; then
    ok "edited text: render refused (65), both fingerprints named, no PDF"
else
    fail "edited render: exit $st: $(cat "$tmp/err")"
fi
render_to edited - --archive "$store" >"$tmp/stdout"; st=$?
[ $st -eq 65 ] && [ ! -s "$tmp/stdout" ] && ok "edited text: render -o - writes nothing" || fail "render -o -: exit $st"
"$bin" batch "$form" --forms-dir "$tmp/edited" --csv "$tmp/list.csv" --out-dir "$tmp/b2" \
    --allow-draft --archive "$store" 2>"$tmp/err"; st=$?
if [ $st -eq 65 ] && grep -q "the text of $form 1.1 changed: raise its version" "$tmp/err" &&
    [ -z "$(find "$tmp/b2" -name '*.pdf' 2>/dev/null)" ] && [ "$(grep -c 'changed: raise' "$tmp/err")" -eq 1 ]; then
    ok "edited text: the batch is refused once, before the first row; no PDF"
else
    fail "edited batch: exit $st: $(cat "$tmp/err") $(ls "$tmp/b2" 2>&1)"
fi
"$bin" batch "$form" --forms-dir "$tmp/edited" --csv "$tmp/list.csv" --out-dir "$tmp/b3" \
    --allow-draft --archive "$store" --combined "$tmp/b3.pdf" 2>"$tmp/err"; st=$?
[ $st -eq 65 ] && [ ! -e "$tmp/b3.pdf" ] && ok "edited text: no combined job either" || fail "combined: exit $st"
# Without an archive there is no registry: the edited copy prints.
render_to edited "$tmp/e-noarchive.pdf"; st=$?
[ $st -eq 0 ] && [ "$(keywords_fp "$tmp/e-noarchive.pdf")" = "$efp" ] &&
    ok "without --archive nothing is checked; the PDF names the edited text's fingerprint" ||
    fail "no archive: exit $st: $(cat "$tmp/err")"

# 3. Re-indented, commented, attributes reordered: the same text, accepted.
render_to reindented "$tmp/r.pdf" --archive "$store"; st=$?
[ $st -eq 0 ] && [ "$(keywords_fp "$tmp/r.pdf")" = "$fp" ] &&
    ok "re-indented copy: the same fingerprint, accepted" || fail "reindented: exit $st: $(cat "$tmp/err")"

# 4. The edit with its version raised: accepted, registered under 1.2.
render_to raised "$tmp/v2.pdf" --archive "$store"; st=$?
fp2=$(keywords_fp "$tmp/v2.pdf")
[ $st -eq 0 ] && [ ${#fp2} -eq 64 ] && [ "$fp2" != "$fp" ] &&
    ok "version raised: accepted with a new fingerprint" || fail "raised: exit $st: $(cat "$tmp/err")"

# 5. rebuild-index keeps the registry; verify finds the store sound.
"$bin" archive rebuild-index --force "$store" >"$tmp/rebuild" 2>&1; st=$?
[ $st -eq 0 ] && grep -q '0 problems' "$tmp/rebuild" && ok "rebuild-index: $(tail -1 "$tmp/rebuild")" ||
    fail "rebuild-index: exit $st: $(cat "$tmp/rebuild")"
render_to edited "$tmp/e2.pdf" --archive "$store"; st=$?
[ $st -eq 65 ] && [ ! -e "$tmp/e2.pdf" ] && ok "after rebuild-index the edited text is still refused" ||
    fail "after rebuild: exit $st: $(cat "$tmp/err")"
"$bin" archive show "$store" "$doc" 2>/dev/null | grep -q "^  form_sha256 $fp\$" &&
    ok "after rebuild-index show prints the fingerprint" || fail "show after rebuild"
"$bin" archive verify "$store" >"$tmp/verify" 2>&1; st=$?
[ $st -eq 0 ] && grep -q ' 0 problems' "$tmp/verify" && ok "verify: $(tail -1 "$tmp/verify")" ||
    fail "verify: exit $st: $(cat "$tmp/verify")"

# 6. --resume: a manifest of an earlier consentform (no form_sha256 columns) is still read and
# its files kept (not credited with a fingerprint); another text of the form is refused.
"$bin" batch "$form" --forms-dir "$tmp/shipped" --csv "$tmp/list.csv" --out-dir "$tmp/old" \
    --allow-draft 2>/dev/null || fail "batch for --resume"
sed -i 's/,form_sha256\r$/\r/; s/,[0-9a-f]\{64\}\r$/\r/' "$tmp/old/manifest.csv" "$tmp/old/manifest-source.csv"
grep -q 'form_sha256\|,[0-9a-f]\{64\}.$' "$tmp/old/manifest.csv" "$tmp/old/manifest-source.csv" && fail "old manifest still has the column"
"$bin" batch "$form" --forms-dir "$tmp/shipped" --csv "$tmp/list.csv" --out-dir "$tmp/old" \
    --allow-draft --resume 2>"$tmp/err"; st=$?
m=$(tr -d '\r' <"$tmp/old/manifest.csv")
if [ $st -eq 0 ] && [ "$(echo "$m" | grep -c 'kept from the earlier run.*,draft,$')" -eq 2 ]; then
    ok "--resume reads a manifest without form_sha256 and keeps its files"
else
    fail "old resume: exit $st: $m $(cat "$tmp/err")"
fi
"$bin" batch "$form" --forms-dir "$tmp/shipped" --csv "$tmp/list.csv" --out-dir "$tmp/new" \
    --allow-draft 2>/dev/null || fail "batch for --resume (new)"
"$bin" batch "$form" --forms-dir "$tmp/edited" --csv "$tmp/list.csv" --out-dir "$tmp/new" \
    --allow-draft --resume 2>"$tmp/err"; st=$?
[ $st -eq 65 ] && grep -q 'another text of the form' "$tmp/err" &&
    ok "--resume with another text of the same version is refused" || fail "resume edited: exit $st: $(cat "$tmp/err")"

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
