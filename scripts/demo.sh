#!/usr/bin/env bash
# The main job: set up and build, then render both sample forms for the sample patient into
# out/ (files are replaced on every run).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
bin=${BUILD_DIR:-build}/consentform
mkdir -p out
"$bin" validate forms/*.xml
"$bin" list --forms-dir forms
