#!/usr/bin/env bash
# The main job: set up and build, then render both sample forms for a sample patient and the
# nerve-root leaflet for every patient of samples/patients.csv into out/ (replaced on every run).
# Both shipped forms are drafts until a committee approves them: --allow-draft prints them (every
# page says 草稿 DRAFT, and the override is recorded in the manifest and the archive).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
bin=${BUILD_DIR:-build}/consentform
mkdir -p out
"$bin" validate forms/*.xml
"$bin" render nerve-root-injection --allow-draft -o out/nerve-root-injection.pdf --force \
    --patient-name 陳大文 --hospital-no 'HN12345678(9)' --episode-no HE1234567
"$bin" render dpn-injection-consent --allow-draft -o out/dpn-injection-consent.pdf --force \
    --patient-name 陳大文 --hospital-no A123456789 --set birth_date=1950-03-02 \
    --set diagnosis=糖尿病周邊神經病變 --set procedures=d5w --set site=tarsal_tunnel \
    --set side=both --set procedure_date=2026-12-01 --set doctor_name=李醫師 --set fee=3000
"$bin" render dpn-injection-consent --allow-draft -o out/dpn-injection-consent-blank.pdf --force --blank
"$bin" batch nerve-root-injection --allow-draft --csv samples/patients.csv --out-dir out/batch --force \
    --combined out/batch/all-patients.pdf
echo "demo: PDFs are in out/ and out/batch/ (manifest: out/batch/manifest.csv)"
