# shellcheck shell=bash
# Sourced by the issue 17 comparisons (check_run_fonts.sh, check_body_cache.sh,
# check_body_streams.sh): the varied patient names, and two PDFs compared by their pdftotext
# output, their pixels at 100 dpi and qpdf --check. Needs $tmp (a private scratch folder); page
# images go to memory when it can take them (/dev/shm), into the folder $cf_shm this file makes
# and the caller removes on exit.

# One name a line: everyday ones, HKSCS characters beyond U+FFFF, characters no form uses,
# Latin only, long ones (shrunk or on two lines in the label box), and mixtures.
cf_varied_names() {
    printf '%s\n' '陳大文' '李𠝹明' '鑫燚犇' '龘麤彧' '歐陽𡃁𨋢' 'CHAN Tai Man' \
        'WONG Ah Keung "Johnny" 黃阿強' \
        'MONTGOMERY-WORTHINGTON Christopher Alexander Bartholomew' '司徒𠵱𡁻𠱁' '張喆' \
        '何家燊' '劉淼' '鄭峯' '林美邨' 'ZYGMUNTOWICZ Quentin' 'Ng Yuk-kwan 吳玉坤' \
        '歐陽鑫燚犇龘麤彧淼燊峯邨喆堃' "O'BRIEN Siobhan 𠝹"
}

cf_shm=$(mktemp -d "$([ -d /dev/shm ] && [ -w /dev/shm ] && echo /dev/shm || echo "$tmp")/cf-varied.XXXXXX")
export cf_shm

# cf_compare_pdf A B LABEL [FIRST LAST]: prints a line per difference (nothing when A and B
# are alike): pdftotext -layout output, the page images (pdftoppm -r 100 -gray, byte for byte;
# the differing page is named), and qpdf --check of each. With FIRST and LAST only those pages
# are rendered, and neither text nor qpdf is looked at (cf_compare_big does those once).
cf_compare_pdf() {
    local a=$1 b=$2 label=$3 range=() d
    [ $# -ge 5 ] && range=(-f "$4" -l "$5")
    d=$(mktemp -d "$cf_shm/cmp.XXXXXX")
    if [ $# -lt 5 ]; then
        if pdftotext -layout "$a" "$d/a.txt" 2>/dev/null && pdftotext -layout "$b" "$d/b.txt" 2>/dev/null &&
            [ -s "$d/a.txt" ]; then
            cmp -s "$d/a.txt" "$d/b.txt" ||
                echo "$label: pdftotext output differs: $(diff "$d/a.txt" "$d/b.txt" | sed -n 2p)"
        else
            echo "$label: pdftotext fails or extracts nothing"
        fi
    fi
    # The pages as one stream of PGM images each (with their headers), rendered side by side
    # and compared as they come (a failure makes the streams differ); a difference is looked
    # up page by page.
    if ! cmp -s <(pdftoppm "${range[@]}" -r 100 -gray "$a" 2>/dev/null || echo failed-a) \
        <(pdftoppm "${range[@]}" -r 100 -gray "$b" 2>/dev/null || echo failed-b); then
        pdftoppm "${range[@]}" -r 100 -gray "$a" "$d/a"
        pdftoppm "${range[@]}" -r 100 -gray "$b" "$d/b"
        local pa pb p
        pa=$(find "$d" -name 'a-*.pgm' | wc -l)
        pb=$(find "$d" -name 'b-*.pgm' | wc -l)
        [ "$pa" -gt 0 ] && [ "$pb" -gt 0 ] || echo "$label: pdftoppm fails"
        [ "$pa" -eq "$pb" ] || echo "$label: $pa pages against $pb"
        for p in "$d"/a-*.pgm; do
            [ -f "$p" ] || continue
            cmp -s "$p" "$d/b-${p##*/a-}" ||
                echo "$label: page $(basename "${p##*/a-}" .pgm | sed 's/^0*//') differs (pixels at 100 dpi)"
        done
    fi
    if [ $# -lt 5 ]; then
        qpdf --check "$a" >/dev/null 2>&1 || echo "$label: qpdf --check fails on the first PDF"
        qpdf --check "$b" >/dev/null 2>&1 || echo "$label: qpdf --check fails on the second PDF"
    fi
    rm -rf "$d"
}
export -f cf_compare_pdf

# cf_compare_big A B LABEL [nocheck]: two PDFs of many pages: the text page by page, the pages
# rendered in runs of 40, two runs at a time, and qpdf --check of each (not with nocheck).
# Prints "LABEL: page N ..." for every page that differs.
cf_compare_big() {
    local a=$1 b=$2 label=$3 pages d off
    pages=$(pdfinfo "$a" 2>/dev/null | awk '/^Pages:/ { print $2 }')
    [ -n "$pages" ] || { echo "$label: pdfinfo fails"; return; }
    [ "$pages" = "$(pdfinfo "$b" 2>/dev/null | awk '/^Pages:/ { print $2 }')" ] ||
        echo "$label: the page counts differ"
    d=$(mktemp -d "$cf_shm/big.XXXXXX")
    if pdftotext -layout "$a" "$d/a.txt" 2>/dev/null && pdftotext -layout "$b" "$d/b.txt" 2>/dev/null &&
        [ -s "$d/a.txt" ]; then
        # The page of the first difference: form feeds before it, plus one.
        off=$(cmp "$d/a.txt" "$d/b.txt" 2>/dev/null | awk '{ print $5 + 0 }')
        [ -z "$off" ] ||
            echo "$label: page $(($(head -c "$off" "$d/a.txt" | tr -cd '\f' | wc -c) + 1)) pdftotext output differs"
    else
        echo "$label: pdftotext fails or extracts nothing"
    fi
    rm -rf "$d"
    seq 1 40 "$pages" | xargs -r -P 2 -I{} bash -c \
        'cf_compare_pdf "$0" "$1" "$2" "$3" "$(($3 + 39 < $4 ? $3 + 39 : $4))"' \
        "$a" "$b" "$label" {} "$pages"
    if [ "${4:-}" != nocheck ]; then
        qpdf --check "$a" >/dev/null 2>&1 || echo "$label: qpdf --check fails on the first PDF"
        qpdf --check "$b" >/dev/null 2>&1 || echo "$label: qpdf --check fails on the second PDF"
    fi
}

# cf_compare_dirs A B: every PDF of folder A against its namesake in B, and the PDFs that only
# one folder has. Each folder's PDFs are joined into one (qpdf --pages) and compared with
# cf_compare_big, which renders thousands of pages in a few processes; a page that differs is
# traced to its row, whose two PDFs cf_compare_pdf then compares on their own. Every PDF passes
# qpdf --check. Prints a line per difference.
cf_compare_dirs() {
    local a=$1 b=$2 files d f
    d=$(mktemp -d "$cf_shm/dirs.XXXXXX")
    (cd "$a" && ls -- *.pdf 2>/dev/null) >"$d/a.list"
    (cd "$b" && ls -- *.pdf 2>/dev/null) >"$d/b.list"
    diff "$d/a.list" "$d/b.list" |
        sed -n 's/^< \(.*\)/\1: only in the first folder/p; s/^> \(.*\)/\1: only in the second folder/p'
    mapfile -t files <"$d/a.list"
    [ "${#files[@]}" -gt 0 ] || { echo "no PDF in $a"; rm -rf "$d"; return; }
    (cd "$a" && qpdf --empty --pages "${files[@]}" -- "$d/a.pdf" 2>/dev/null) &&
        (cd "$b" && qpdf --empty --pages "${files[@]}" -- "$d/b.pdf" 2>/dev/null) ||
        echo "qpdf cannot join the PDFs"
    cf_compare_big "$d/a.pdf" "$d/b.pdf" joined nocheck >"$d/pages"
    if [ -s "$d/pages" ]; then
        # Which row each differing page belongs to, then that row on its own.
        local first=1 n p
        for f in "${files[@]}"; do
            n=$(pdfinfo "$a/$f" 2>/dev/null | awk '/^Pages:/ { print $2 }')
            for p in $(sed -n 's/^joined: page \([0-9]*\) .*/\1/p' "$d/pages" | sort -un); do
                [ "$p" -ge "$first" ] && [ "$p" -lt "$((first + ${n:-1}))" ] && echo "$f" && break
            done
            first=$((first + ${n:-1}))
        done >"$d/rows"
        grep -v '^joined: page' "$d/pages"
        while read -r f; do
            cf_compare_pdf "$a/$f" "$b/$f" "$f"
        done <"$d/rows"
        [ -s "$d/rows" ] || cat "$d/pages"
    fi
    rm -rf "$d"
    # qpdf --check of every PDF, two at a time.
    (cd "$a" && printf '%s\n' "${files[@]}") | xargs -d '\n' -r -n 25 -P 2 bash -c \
        'a=$1 b=$2; shift 2; for f; do for d in "$a" "$b"; do qpdf --check "$d/$f" >/dev/null 2>&1 || echo "$f: qpdf --check fails in $d"; done; done' \
        _ "$a" "$b"
}
