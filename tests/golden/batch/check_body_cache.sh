#!/usr/bin/env bash
# Body pages made once (issue 17 item 2): a 200-row varied list for each shipped form (long
# names, HKSCS names beyond U+FFFF, names sharing no character with the form, Latin names; for
# the DPN consent every pattern of the ticked procedures and sites, the side, and the inline
# fields set, empty, long and in characters the form lacks) printed by `consentform batch` on
# the cached path (the default) and on the uncached one (CONSENTFORM_NO_BODY_CACHE=1
# CONSENTFORM_NO_BATCH_FONTS=1) gives, row for row, the same pdftotext output and the same
# pixels (pdftoppm at 100 dpi), and every PDF passes qpdf --check; so does the --only-combined
# print job of each path. Every page's QR code of four rows of each list decodes at 150 dpi with
# the project's own reader (scan_probe decode). Prints "ok"/"FAIL" per check.
set -u
bin=${CF_BINARY:?}
probe=${CF_BUILD_DIR:?}/tests/unit/scan/scan_probe
tmp=$(mktemp -d)
# shellcheck source=varied_lib.sh
. "$(dirname "$0")/varied_lib.sh"
trap 'rm -rf "$tmp" "$cf_shm"' EXIT
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1767225600}
unset CONSENTFORM_NO_BODY_CACHE CONSENTFORM_NO_BATCH_FONTS
failures=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
rows=${ROWS:-200}
cf_varied_names >"$tmp/names"

# The leaflet: names and identities only (its body depends on the label box's height: a name
# on two lines takes the body a size down to keep two pages).
awk -v n="$rows" -v names="$tmp/names" '
function q(s) { if (s ~ /[",]/) { gsub(/"/, "\"\"", s); s = "\"" s "\"" } return s }
BEGIN {
    while ((getline line < names) > 0) name[k++] = line
    printf "\xef\xbb\xbfpatient_name,hospital_no,episode_no\r\n"
    for (i = 0; i < n; i++)
        printf "%s,HN%08d(%d),HE%07d\r\n", q(name[i % k]), 30000000 + i * 7919 % 1000000, i % 10, 2000000 + i
}' >"$tmp/nerve-root-injection.csv"

# The DPN consent: the first 128 rows tick every pattern of procedures (3 options) and sites
# (4), the rest again with other values; the side, diagnosis, doctor, date and fee each cycle
# through unset, set, long (wrapping their paragraph), characters no form text has.
awk -v n="$rows" -v names="$tmp/names" '
function q(s) { if (s ~ /[",]/) { gsub(/"/, "\"\"", s); s = "\"" s "\"" } return s }
function pick(list, i,   a, m) { m = split(list, a, "|"); return a[i % m + 1] }
function keys(list, mask,   a, m, j, s) {
    m = split(list, a, " "); s = ""
    for (j = 0; j < m; j++) if (int(mask / 2 ^ j) % 2) s = s (s == "" ? "" : ";") a[j + 1]
    return s
}
BEGIN {
    while ((getline line < names) > 0) name[k++] = line
    diag = "|糖尿病周邊神經病變|第二型糖尿病合併雙側下肢疼痛性周邊神經病變（Painful diabetic peripheral neuropathy of both lower limbs, suspected tarsal tunnel entrapment on the left, worse at night）|鑫燚犇𠝹 neuropathy"
    doc = "|林醫師|MONTGOMERY-WORTHINGTON Christopher Alexander 歐陽鑫燚|龘麤彧"
    date = "|2026-12-01|2027-02-28"
    fee = "|3,000|12,000（含 PRP 套組及超音波導引費用，分三次療程，每次 4,000 元）|𠝹鑫 800"
    side = "|left|right|both"
    printf "\xef\xbb\xbfpatient_name,hospital_no,birth_date,diagnosis,procedures,site,side,procedure_date,doctor_name,fee\r\n"
    for (i = 0; i < n; i++) {
        printf "%s,HN%08d(%d),19%02d-%02d-%02d,%s,%s,%s,%s,%s,%s,%s\r\n", q(name[(i * 7) % k]),
            30000000 + i * 7919 % 1000000, i % 10, 30 + i % 60, 1 + i % 12, 1 + i % 28,
            q(pick(diag, i)), keys("d5w prp botox", i % 8),
            keys("tarsal_tunnel common_peroneal tibial_branches other", int(i / 8) % 16),
            pick(side, i * 3 + int(i / 8)), pick(date, int(i / 3)), q(pick(doc, int(i / 2))),
            q(pick(fee, int(i / 5)))
    }
}' >"$tmp/dpn-injection-consent.csv"

# batch FORM DIR PAPER [options]: exit status, the PDFs, the manifest's ok rows.
run() {
    local form=$1 dir=$2 paper=$3
    shift 3
    "$bin" batch "$form" --allow-draft --csv "$tmp/$form.csv" --out-dir "$dir" --jobs 2 \
        --paper "$paper" "$@" >/dev/null 2>"$dir.err"
}
uncached() { CONSENTFORM_NO_BODY_CACHE=1 CONSENTFORM_NO_BATCH_FONTS=1 "$@"; }

# form paper-of-the-rows paper-of-the-combined-job
for spec in "nerve-root-injection a4 letter" "dpn-injection-consent letter a4"; do
    read -r form paper cpaper <<<"$spec"
    c=$tmp/$form-cached u=$tmp/$form-plain
    run "$form" "$c" "$paper"
    st1=$?
    uncached run "$form" "$u" "$paper"
    st2=$?
    n1=$(find "$c" -name '*.pdf' | wc -l)
    n2=$(find "$u" -name '*.pdf' | wc -l)
    m1=$(grep -c ',ok,' "$c/manifest.csv" 2>/dev/null)
    if [ $st1 -eq 0 ] && [ $st2 -eq 0 ] && [ "$n1" -eq "$rows" ] && [ "$n2" -eq "$rows" ] &&
        [ "$m1" -eq "$rows" ]; then
        ok "$form ($paper): both paths printed all $rows rows"
    else
        fail "$form: cached: exit $st1, $n1 PDFs, $m1 ok rows ($(head -3 "$c.err")); uncached: exit $st2, $n2 PDFs ($(head -3 "$u.err"))"
    fi

    # The two paths really are two: no PDF of one is byte for byte the other's.
    same=0
    for f in "$c"/*.pdf; do cmp -s "$f" "$u/${f##*/}" && same=$((same + 1)); done
    cf_compare_dirs "$c" "$u" >"$tmp/$form.diffs" 2>&1
    if [ "$n1" -gt 0 ] && [ ! -s "$tmp/$form.diffs" ] && [ "$same" -eq 0 ]; then
        ok "$form: $n1 rows: the same pdftotext output and pixels at 100 dpi both ways (different bytes), qpdf --check passes"
    else
        fail "$form: the cached and uncached PDFs differ ($(wc -l <"$tmp/$form.diffs") differences, $same byte-identical pairs): $(head -5 "$tmp/$form.diffs")"
    fi

    # The combined print job (padded to even pages), each path.
    run "$form" "$c-all" "$cpaper" --combined "$c-all/all.pdf" --only-combined
    st1=$?
    uncached run "$form" "$u-all" "$cpaper" --combined "$u-all/all.pdf" --only-combined
    st2=$?
    cf_compare_big "$c-all/all.pdf" "$u-all/all.pdf" "$form combined" >"$tmp/$form.cdiffs" 2>&1
    pages=$(pdfinfo "$c-all/all.pdf" 2>/dev/null | awk '/^Pages:/ { print $2 }')
    if [ $st1 -eq 0 ] && [ $st2 -eq 0 ] && [ ! -s "$tmp/$form.cdiffs" ] &&
        [ "${pages:-0}" -ge $((2 * rows)) ]; then
        ok "$form --only-combined ($cpaper): $pages pages, the same text and pixels both ways, qpdf --check passes"
    else
        fail "$form --only-combined: exit $st1/$st2, $pages pages: $(head -5 "$tmp/$form.cdiffs") $(head -2 "$c-all.err")"
    fi

    # Every page's QR code of four rows (list rows 1, 7, 16 and 108, or the last row of a
    # shorter list: long, HKSCS, everyday names) decodes at 150 dpi, with the project's own
    # reader, to the row's document id, page and page count.
    if [ -x "$probe" ]; then
        q=$cf_shm/qr-$form
        mkdir -p "$q"
        last=$((rows + 1 < 110 ? rows + 1 : 110))
        awk -F, -v last="$last" '$1 == 3 || $1 == 9 || $1 == 18 || $1 == last { print $1, $3, $4, $6 }' \
            "$c/manifest.csv" >"$q/sample"
        : >"$q/want"
        while read -r r f id n; do
            pdftoppm -r 150 -gray -png "$c/$f" "$q/$r"
            for ((p = 1; p <= n; p++)); do
                printf '%s/%s-%0*d.png 1 %s/%s/%s\n' "$q" "$r" "${#n}" "$p" "$id" "$p" "$n" >>"$q/want"
            done
        done <"$q/sample"
        "$probe" decode --jobs 2 zbar "$q"/*.png 2>/dev/null | sort >"$q/got"
        if [ "$(wc -l <"$q/sample")" -eq 4 ] && [ "$(wc -l <"$q/want")" -ge 8 ] &&
            cmp -s <(sort "$q/want") "$q/got"; then
            ok "$form: $(wc -l <"$q/want") pages of 4 rows: every QR code decodes at 150 dpi"
        else
            fail "$form: QR codes at 150 dpi: $(diff <(sort "$q/want") "$q/got" | grep '^[<>]' | head -4 | tr '\n' ' ')"
        fi
    else
        fail "scan_probe is not built ($probe)"
    fi
done

[ "$failures" -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
