#!/usr/bin/env bash
# Runs every case of tests/hostile/cases.tsv through the command line: each must end with the
# expected exit status, a message containing the expected phrase, within the time and memory
# limits, and leave no output file behind (no partial PDF, no manifest, nothing outside the
# output folder). Needs $CF_BINARY and $CF_SOURCE_DIR (set by meson). Limits per case:
# $CF_HOSTILE_MAX_SECONDS (default 30) and, for each run of the binary, a peak resident size
# of $CF_HOSTILE_MAX_MB (default 40; measured with GNU time when installed, not under ASan,
# whose shadow memory would be counted).
set -u
src=${CF_SOURCE_DIR:?}
here=$src/tests/hostile
max_seconds=${CF_HOSTILE_MAX_SECONDS:-30}
max_mb=${CF_HOSTILE_MAX_MB:-40}
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
bin=${CF_BINARY:?}
# Every run of the binary goes through a wrapper that appends its peak resident size (KB) to
# $tmp/rss, so that each case can be held to the memory limit.
measure=false
if [ -x /usr/bin/time ] && ! { ldd "$bin" 2>/dev/null | grep -q libasan; } &&
    ! nm "$bin" 2>/dev/null | grep -q __asan_init; then
    measure=true
    printf '#!/bin/sh\nexec /usr/bin/time -a -o %q -f %%M %q "$@"\n' "$tmp/rss" "$bin" >"$tmp/consentform"
    chmod 0755 "$tmp/consentform"
    bin=$tmp/consentform
fi
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1767225600}
failures=0
patient=(--patient-name 陳大文 --hospital-no 'HN12345678(9)' --episode-no HE1234567)

form_head='<?xml version="1.0" encoding="UTF-8"?>
<form id="hostile" version="1" kind="leaflet" xml:lang="zh-Hant-HK">
<meta><title>測試</title><status state="draft"/></meta>
<label caption="Label"><label-field key="patient_name" caption="Patient Name" required="true"/><label-field key="hospital_no" caption="Hospital No" required="true"/><label-field key="episode_no" caption="Episode No" required="true"/></label>
<body><section id="a" title="說明">'
form_tail='</section></body></form>'

# Makes the input of a gen:NAME case; prints its path (or, for names, the value itself). Forms
# are named hostile.xml (a form's file name is its id) in a folder of their own.
generate() {
    mkdir -p "$tmp/gen-$1"
    local out=$tmp/gen-$1/hostile
    case $1 in
    deep-nesting)
        { printf '%s<p>' "$form_head"; head -c 200000 /dev/zero | tr '\0' 'x' | sed 's/x/<b>/g'; } >"$out.xml" ;;
    big-form)
        { printf '%s' "$form_head"; yes '<p>神經根管注射是在脊椎旁邊注射局部麻醉藥。</p>' | head -c 52428800; printf '%s' "$form_tail"; } >"$out.xml" ;;
    long-word)
        { printf '%s<p>' "$form_head"; head -c 50000 /dev/zero | tr '\0' 'W'; printf '</p>%s' "$form_tail"; } >"$out.xml" ;;
    tall-row)
        { printf '%s<table><col width="1"/><col width="3"/><row><cell>甲</cell><cell>' "$form_head"
          yes '說明文字很長。' | head -n 2000 | tr -d '\n'
          printf '</cell></row></table>%s' "$form_tail"; } >"$out.xml" ;;
    long-name) printf 'CHAN %.0s' $(seq 1 60); return ;;
    thai-name) printf '陳\xe0\xb8\x81'; return ;;
    hk-name) printf '陳\xf0\xa0\x9d\xb9文'; return ;;        # U+20779, in the fonts (HKSCS)
    emoji-name) printf '陳\xf0\x9f\x98\x80文'; return ;;   # U+1F600, beyond the BMP and the fonts
    tab-name) printf '陳\t大文'; return ;;
    nbsp-name) printf '\xc2\xa0\xc2\xa0'; return ;;
    em-space-name) printf '\xe2\x80\x83\xe3\x80\x80\xe2\x80\x89'; return ;;
    shy-name) printf '陳\xc2\xad大文'; return ;;
    rlo-name) printf '陳\xe2\x80\xae大文'; return ;;
    bad-utf8-name) printf '\xe9\x99'; return ;;
    wide-csv)
        { printf 'patient_name,hospital_no,episode_no'; head -c 100000 /dev/zero | tr '\0' ','; printf '\r\n陳大文,HN1,E1\r\n'; } >"$out.csv" ;;
    big-field)
        { printf 'patient_name,hospital_no,episode_no\r\n'; head -c 10485760 /dev/zero | tr '\0' 'A'; printf ',HN1,E1\r\n'; } >"$out.csv" ;;
    esac
    ls "$out".* 2>/dev/null | head -1
}

input_path() {
    case $1 in
    bad:*) echo "$src/tests/data/form/bad/${1#bad:}" ;;
    gen:*) generate "${1#gen:}" ;;
    *) echo "$here/$1" ;;
    esac
}

# Runs "$bin ARGS..." with $tmp/out as a folder it may not write into, leaving the folder empty
# and writable again afterwards. Root ignores permission bits, so as root the command runs as
# nobody (setpriv) when nobody can read the binary, forms, fonts and CSV; failing that, in a
# read-only tmpfs; failing that, with a file in the way of the folder.
read_only_folder() {
    local s nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
    mkdir -p "$tmp/out"
    if [ "$(id -u)" -ne 0 ]; then
        chmod 0555 "$tmp/out"
        "$bin" "$@"; s=$?
    elif chmod 0755 "$tmp" && "${nobody[@]}" test -r "$src/samples/patients.csv" 2>/dev/null &&
        "${nobody[@]}" "$bin" render --allow-draft nerve-root-injection -o - "${patient[@]}" >/dev/null 2>&1; then
        chmod 0555 "$tmp/out"
        "${nobody[@]}" "$bin" "$@"; s=$?
    elif mount -t tmpfs -o ro,size=64k tmpfs "$tmp/out" 2>/dev/null; then
        "$bin" "$@"; s=$?
        umount "$tmp/out"
    else
        rmdir "$tmp/out" && printf 'x' >"$tmp/out"
        local args=("${@/#$tmp\/out/$tmp/out/sub}")
        "$bin" "${args[@]}"; s=$?
        rm -f "$tmp/out" && mkdir "$tmp/out"
    fi
    chmod 0755 "$tmp/out"
    chmod 0700 "$tmp"
    return $s
}

# Runs a special case (output folders and files); sets the command's exit status in $st.
special() {
    local csv=$src/samples/patients.csv
    case $1 in
    name-template)
        "$bin" batch --allow-draft nerve-root-injection --jobs 2 --csv "$csv" --out-dir "$tmp/out" --name '../{hospital_no}.pdf' ;;
    existing-output)
        mkdir -p "$tmp/out" && printf 'keep' >"$tmp/out/keep.pdf"
        "$bin" render --allow-draft nerve-root-injection -o "$tmp/out/keep.pdf" "${patient[@]}"
        local s=$?
        [ "$(cat "$tmp/out/keep.pdf")" = keep ] || echo "hostile: the existing file was changed" >&2
        rm -f "$tmp/out/keep.pdf"
        return $s ;;
    read-only-dir)
        read_only_folder render --allow-draft nerve-root-injection -o "$tmp/out/a.pdf" "${patient[@]}" ;;
    read-only-dir-batch)
        read_only_folder batch --allow-draft nerve-root-injection --jobs 2 --csv "$csv" --out-dir "$tmp/out" ;;
    missing-parent)
        "$bin" render --allow-draft nerve-root-injection -o "$tmp/out/no/such/dir/a.pdf" "${patient[@]}" ;;
    missing-parent-batch)
        "$bin" batch --allow-draft nerve-root-injection --jobs 2 --csv "$csv" --out-dir "$tmp/out/no/such/dir" ;;
    name-dotdot)
        "$bin" batch --allow-draft nerve-root-injection --jobs 2 --csv "$csv" --out-dir "$tmp/out" --name '../x' ;;
    name-absolute)
        "$bin" batch --allow-draft nerve-root-injection --jobs 2 --csv "$csv" --out-dir "$tmp/out" --name "$tmp/escape-{row}.pdf" ;;
    existing-output-batch)
        # One of the batch's files exists: nothing at all is written, the file is kept.
        mkdir -p "$tmp/out" && printf 'keep' >"$tmp/out/HN20000003(A)_HE2000003_nerve-root-injection.pdf"
        "$bin" batch --allow-draft nerve-root-injection --jobs 2 --csv "$csv" --out-dir "$tmp/out"
        local s=$?
        [ "$(cat "$tmp/out/HN20000003(A)_HE2000003_nerve-root-injection.pdf")" = keep ] ||
            echo "hostile: the existing file was changed" >&2
        [ "$(find "$tmp/out" -type f | wc -l)" -eq 1 ] || echo "hostile: a batch with an existing file wrote files" >&2
        rm -f "$tmp/out/HN20000003(A)_HE2000003_nerve-root-injection.pdf"
        return $s ;;
    write-failure-batch)
        # The write fails part-way through the batch: the files finished before it are whole
        # PDFs; the one being written and all later ones leave nothing (no temporary file).
        CONSENTFORM_FAIL_WRITE_AFTER=250000 "$bin" batch --allow-draft nerve-root-injection --csv "$csv" --out-dir "$tmp/out" --jobs 1
        local s=$? f
        for f in "$tmp"/out/*.pdf; do
            [ -e "$f" ] || continue
            tail -c 8 "$f" | grep -q '%%EOF' || echo "hostile: a partial PDF was left: $f" >&2
            rm -f "$f"
        done
        return $s ;;
    full-disk)
        # A small tmpfs where mounting is permitted (root in CI); otherwise an injected failure.
        mkdir -p "$tmp/out"
        if mount -t tmpfs -o size=400k tmpfs "$tmp/out" 2>/dev/null; then
            "$bin" archive init "$tmp/out/store" >/dev/null 2>&1
            # Filled but for 32 KiB: room for SQLite's shared-memory file (without it the store
            # cannot even be read), none for a PDF or an object. Measured, not a fixed filler,
            # so that the index's size (which grows with its schema) does not decide the case.
            local avail
            avail=$(df --output=avail -B1 "$tmp/out" | tail -1)
            head -c $((avail - 32768)) /dev/zero >"$tmp/out/filler"
            # The PDF on the full disk fails; then the PDF elsewhere and the store full.
            "$bin" render --allow-draft nerve-root-injection -o "$tmp/out/a.pdf" "${patient[@]}"
            local s=$?
            [ $s -eq 74 ] || echo "hostile: a PDF on a full disk gave exit $s" >&2
            mkdir -p "$tmp/kept"
            "$bin" render --allow-draft nerve-root-injection -o "$tmp/kept/a.pdf" --archive "$tmp/out/store" "${patient[@]}"
            s=$?
            "$bin" archive verify "$tmp/out/store" >/dev/null || echo "hostile: the store is not consistent" >&2
            umount "$tmp/out"
            return $s
        fi
        CONSENTFORM_FAIL_WRITE_AFTER=1000 "$bin" render --allow-draft nerve-root-injection -o "$tmp/out/a.pdf" "${patient[@]}" ;;
    write-failure)
        mkdir -p "$tmp/out"
        CONSENTFORM_FAIL_WRITE_AFTER=1000 "$bin" render --allow-draft nerve-root-injection -o "$tmp/out/a.pdf" "${patient[@]}" ;;
    esac
}

while IFS=$'\t' read -r name how input want phrase; do
    case $name in '#'* | '') continue ;; esac
    rm -rf "$tmp/out" "$tmp"/gen-*
    : >"$tmp/rss" && chmod 0666 "$tmp/rss"
    start=$(date +%s%N)
    case $how in
    validate)
        "$bin" validate "$(input_path "$input")" >/dev/null 2>"$tmp/err"; st=$? ;;
    render-form)
        mkdir -p "$tmp/out"
        "$bin" render --allow-draft "$(input_path "$input")" -o "$tmp/out/a.pdf" "${patient[@]}" >/dev/null 2>"$tmp/err"; st=$? ;;
    render-name)
        mkdir -p "$tmp/out"
        value=$(input_path "$input")
        "$bin" render --allow-draft nerve-root-injection -o "$tmp/out/a.pdf" --patient-name "$value" \
            --hospital-no 'HN12345678(9)' --episode-no HE1234567 >/dev/null 2>"$tmp/err"; st=$? ;;
    batch)
        "$bin" batch --allow-draft nerve-root-injection --jobs 2 --csv "$(input_path "$input")" --out-dir "$tmp/out" >/dev/null 2>"$tmp/err"; st=$? ;;
    batch-rows) # row errors: the good rows and manifest.csv are written, the status is 65
        "$bin" batch --allow-draft nerve-root-injection --jobs 2 --csv "$(input_path "$input")" --out-dir "$tmp/out" >/dev/null 2>"$tmp/err"; st=$? ;;
    batch-semicolon)
        "$bin" batch --allow-draft nerve-root-injection --jobs 2 --delimiter ';' --csv "$(input_path "$input")" --out-dir "$tmp/out" >/dev/null 2>"$tmp/err"; st=$? ;;
    batch-big5)
        "$bin" batch --allow-draft nerve-root-injection --jobs 2 --encoding big5 --csv "$(input_path "$input")" --out-dir "$tmp/out" >/dev/null 2>"$tmp/err"; st=$? ;;
    special)
        special "$input" >/dev/null 2>"$tmp/err"; st=$? ;;
    esac
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    # Peak resident size of the largest run of the binary in this case (GNU time also writes
    # "Command exited with non-zero status N" lines; only the numbers count).
    peak=$(grep -E '^[0-9]+$' "$tmp/rss" | sort -n | tail -1)
    mb=$(( ${peak:-0} / 1024 ))
    problem=
    [ "$ms" -le $((max_seconds * 1000)) ] || problem="took $ms ms, more than the limit of $max_seconds s"
    if $measure && [ "$mb" -gt "$max_mb" ]; then problem="used $mb MB, more than the limit of $max_mb MB"; fi
    [ "$st" -eq "$want" ] || problem="exit $st, wanted $want"
    if [ -z "$problem" ] && [ "$phrase" != - ] && ! grep -qF -- "$phrase" "$tmp/err"; then
        problem="message lacks \"$phrase\""
    fi
    # A message never shows a bidi override or another hidden character raw (issue 11.2).
    if [ -z "$problem" ] && LC_ALL=C grep -q "$(printf '\xe2\x80[\xaa-\xae\x8b-\x8f]\|\xc2\xad')" "$tmp/err"; then
        problem="a message holds a hidden character raw"
    fi
    if [ -z "$problem" ] && [ "$want" -ne 0 ] && [ "$how" != batch-rows ] && [ -d "$tmp/out" ] &&
        [ -n "$(find "$tmp/out" -type f \( -name '*.pdf' -o -name 'manifest.csv' -o -name '.*' \) 2>/dev/null)" ]; then
        problem="left a file behind: $(find "$tmp/out" -type f | head -3)"
    fi
    if [ -z "$problem" ] && [ -n "$(find "$tmp" -maxdepth 1 -name '*.pdf')$(find /tmp -maxdepth 1 -name 'escape*' -newer "$tmp/err" 2>/dev/null)" ]; then
        problem="a file was written outside the output folder"
    fi
    if [ -z "$problem" ] && [ "$how" = batch ] && [ "$want" -eq 0 ] &&
        [ -n "$(find "$tmp/out" -name '*.pdf' -path '*..*')" ]; then
        problem="a file name holds .."
    fi
    # A special case reports what else went wrong on lines starting "hostile: ".
    if grep -q '^hostile: ' "$tmp/err"; then problem=$(grep '^hostile: ' "$tmp/err" | sed 's/^hostile: //' | paste -sd ';'); fi
    if [ -n "$problem" ]; then
        echo "FAIL $name ($ms ms$($measure && echo ", $mb MB")): $problem"
        sed 's/^/     | /' "$tmp/err" | head -5
        failures=$((failures + 1))
    else
        echo "ok   $name ($ms ms$($measure && echo ", $mb MB")): exit $st$([ "$phrase" != - ] && echo ", \"$phrase\"")"
    fi
done <"$here/cases.tsv"
echo "$failures failure(s)"
[ "$failures" -eq 0 ]
