# Sourced by the archive's shell tests: files that the store accepts as signed copies, because
# they parse as what they claim (the store opens every PDF with libqpdf and decodes every
# image). Each call makes a different file, so that every add writes a new object.

# A 16 x 16 grey PNG; bytes after its IEND chunk are not part of the image.
cf_png_bytes='\211\120\116\107\015\012\032\012\000\000\000\015\111\110\104\122\000\000\000\020\000\000\000\020\010\000\000\000\000\072\230\240\275\000\000\000\017\111\104\101\124\170\332\143\150\100\003\014\043\133\000\000\005\014\200\001\343\063\131\212\000\000\000\000\111\105\116\104\256\102\140\202'

# cf_make_png OUT LABEL [NOISE_FILE BYTES]: the PNG, then LABEL (and BYTES of noise) after it.
cf_make_png() {
    {
        printf "$cf_png_bytes"
        printf '%s\n' "$2"
        [ -n "${3:-}" ] && head -c "$4" "$3"
    } >"$1"
}

# cf_make_pdf OUT TEXT [NOISE_FILE BYTES]: a one-page PDF showing TEXT, with a correct
# cross-reference table; with NOISE_FILE, an unreferenced stream of BYTES random bytes makes it
# larger (an add then takes longer, as a real scan's would).
cf_make_pdf() {
    local out=$1 text=$2 noise=${3:-} n=${4:-0} content offsets=() i
    content="BT /F1 18 Tf 72 720 Td ($text) Tj ET"
    printf '%%PDF-1.4\n' >"$out"
    local objs=(
        '<< /Type /Catalog /Pages 2 0 R >>'
        '<< /Type /Pages /Kids [3 0 R] /Count 1 >>'
        '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>'
        "<< /Length ${#content} >>
stream
$content
endstream"
        '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>'
    )
    for i in 0 1 2 3 4; do
        offsets+=("$(stat -c %s "$out")")
        printf '%d 0 obj\n%s\nendobj\n' $((i + 1)) "${objs[$i]}" >>"$out"
    done
    local count=6
    if [ -n "$noise" ] && [ "$n" -gt 0 ]; then
        offsets+=("$(stat -c %s "$out")")
        { printf '6 0 obj\n<< /Length %d >>\nstream\n' "$n"; head -c "$n" "$noise"; printf '\nendstream\nendobj\n'; } >>"$out"
        count=7
    fi
    local xref
    xref=$(stat -c %s "$out")
    {
        printf 'xref\n0 %d\n0000000000 65535 f \n' "$count"
        for i in "${offsets[@]}"; do printf '%010d 00000 n \n' "$i"; done
        printf 'trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n' "$count" "$xref"
    } >>"$out"
}
