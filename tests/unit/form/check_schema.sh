#!/bin/sh
# Checks forms/schema/consent-form.rng with xmllint alone: the sample forms (and the shipped
# forms, when present) validate; every case of tests/data/form/bad/cases.tsv marked "invalid"
# fails, and every case marked "valid" (only the loader's semantic checks reject it) passes.
# usage: check_schema.sh XMLLINT SOURCE_DIR
set -u
xmllint=$1
root=$2
rng=$root/forms/schema/consent-form.rng
failures=0
count=0

check() { # expect(valid|invalid) file
    count=$((count + 1))
    if "$xmllint" --noout --nonet --relaxng "$rng" "$2" >/dev/null 2>&1; then
        got=valid
    else
        got=invalid
    fi
    if [ "$got" != "$1" ]; then
        echo "schema: $2: expected the schema to find it $1, it found it $got" >&2
        failures=$((failures + 1))
    fi
}

for f in "$root"/tests/data/form/sample-*.xml; do
    check valid "$f"
done
for id in nerve-root-injection dpn-injection-consent; do
    if [ -f "$root/forms/$id.xml" ]; then
        check valid "$root/forms/$id.xml"
    fi
done
tab=$(printf '\t')
while IFS="$tab" read -r file status line expect phrase; do
    case "$file" in '#'*|'') continue ;; esac
    case "$expect" in
        valid|invalid) check "$expect" "$root/tests/data/form/bad/$file" ;;
    esac
done < "$root/tests/data/form/bad/cases.tsv"

echo "schema: $count files checked, $failures failures"
[ "$failures" -eq 0 ]
