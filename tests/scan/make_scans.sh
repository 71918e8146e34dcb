#!/usr/bin/env bash
# Makes a test set of real-looking scans from our own PDFs: 31 documents issued with
# `consentform render` (SOURCE_DATE_EPOCH: the same ids every run), rasterised with pdftoppm,
# signed on most signature lines by a pen stroke (scan_sheet), fed rotated and skewed, with
# noise and blur, then wrapped as scanners write them: JPEG-in-PDF (img2pdf) and multi-page
# CCITT G4 TIFF (tiffcp; tiff2pdf for CCITT-in-PDF). The pages of documents 1-30 are shuffled
# into one stack; three pages are left out, one QR is blotted out, and one page of document 31
# (another patient) is slipped in.
#
#   make_scans.sh BUILD_DIR OUT_DIR [--all]
#
# OUT_DIR/stack-200-jpeg.pdf  200 dpi grey, JPEG in PDF       (the unit tests)
# OUT_DIR/stack-300-g4.tif    300 dpi bilevel, CCITT G4 TIFF  (the unit tests)
# OUT_DIR/stack-300-g4.pdf    the same in a PDF (tiff2pdf: CCITT in PDF)
# OUT_DIR/stack-page.jpg/.png the first sheet alone, as JPEG and PNG files
# with --all also, for the decoder measurements in README.md:
#   stack-150-jpeg.pdf, stack-300-jpeg.pdf (grey), stack-150-g4.pdf (CCITT in PDF, tiff2pdf),
#   stack-200-g4.tif (bilevel) and stack-600-g4.tif (the first 12 sheets at 600 dpi)
# OUT_DIR/truth.tsv           what the stack holds, for the tests:
#   doc ID PAGES FORM INDEX          a document (INDEX 1..31)
#   sheet K ID PAGE BLOTTED          stack position K (0-based) holds page PAGE of ID
#   missing ID PAGE                  a page left out of the stack
#   area ID PAGE ROLE LINE X1 Y1 X2 Y2 SIGNED   a signature/date/time line (points)
#   qr ID PAGE X Y SIDE              the QR square of a page (points)
set -euo pipefail

build=$(cd "$1" && pwd)
out=$2
all=${3:-}
src=$(cd "$(dirname "$0")/../.." && pwd)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1767225600}
export CONSENTFORM_FORMS=$src/forms CONSENTFORM_FONTS=$src/fonts
cf=$build/consentform
# The set is made again only when what it is made from changed: this script and the forms.
key=$(cat "$0" "$src"/forms/*.xml | sha256sum | cut -c1-64)
if [ -f "$out/truth.tsv" ] && [ "$(cat "$out/inputs.sha256" 2>/dev/null)" = "$key" ]; then
  exit 0
fi
rm -rf "$out"
probe=$build/tests/unit/scan/scan_probe
sheet=$build/tests/unit/scan/scan_sheet
for tool in pdftoppm img2pdf tiffcp tiff2pdf convert; do
  command -v "$tool" >/dev/null || { echo "make_scans: $tool is missing (scripts/setup.sh)" >&2; exit 1; }
done

work=$out.tmp
rm -rf "$work"
mkdir -p "$work"
: > "$work/truth.tsv"

# Documents: every third one the 5-page DPN consent (Taiwan), the others the 2-page nerve-root
# leaflet (Hong Kong). Document 31 is the other patient's.
for i in $(seq 1 31); do
  args=(--patient-name "CHAN Tai Man $i" --hospital-no "HN$((20000000 + i))(1)")
  probe_args=("patient_name=CHAN Tai Man $i" "hospital_no=HN$((20000000 + i))(1)")
  if ((i % 3 == 0)); then
    # The Taiwan label carries a birth date where the Hong Kong one has an episode number.
    form=dpn-injection-consent
    args+=(--set birth_date=1950-03-04 --set doctor_name="LEE Ka Wai" --set procedure_date=2026-01-20)
    probe_args+=("birth_date=1950-03-04" "doctor_name=LEE Ka Wai" "procedure_date=2026-01-20")
  else
    form=nerve-root-injection
    args+=(--episode-no "HE$((3000000 + i))")
    probe_args+=("episode_no=HE$((3000000 + i))")
  fi
  "$cf" render --allow-draft "$form" -o "$work/doc$i.pdf" "${args[@]}" 2>/dev/null
  "$probe" areas "$src/forms/$form.xml" "${probe_args[@]}" > "$work/doc$i.areas"
  read -r _ id pages < "$work/doc$i.areas"
  echo "doc $id $pages $form $i" >> "$work/truth.tsv"
  echo "$i $id $pages" >> "$work/docs"
done

# Who signs: patient and doctor on every line (signature, date, time); witness, guardian and
# interpreter lines stay empty. Exceptions: document 5 without the patient's signature,
# document 12 without any of the patient's lines, document 21 without the doctor's signature,
# document 24 signed by the guardian instead of the patient.
signed() { # INDEX ROLE LINE -> 0/1
  local i=$1 role=$2 line=$3
  case "$i:$role:$line" in
    5:0:0 | 12:0:* | 21:1:0 | 24:0:*) echo 0; return ;;
    24:3:0 | 24:3:1) echo 1; return ;;
  esac
  if ((role == 0 || role == 1)); then echo 1; else echo 0; fi
}

# The stack: every page of documents 1-30 but three, shuffled; one page of document 31 in it.
while read -r i id pages; do
  ((i <= 30)) || continue
  for p in $(seq 1 "$pages"); do
    case "$i:$p" in 8:2 | 19:1 | 27:4) echo "missing $id $p" >> "$work/truth.tsv"; continue ;; esac
    echo "$i $p"
  done
done < "$work/docs" | awk 'BEGIN { srand(14) } { print rand() "\t" $0 }' | sort -n | cut -f2 > "$work/order"
# Document 31's page 2 goes in the middle of the stack.
awk 'NR == 40 { print "31 2" } { print }' "$work/order" > "$work/order2"
mv "$work/order2" "$work/order"

# Rasterise each document once per resolution used (PGM: no PNG compression to pay for).
resolutions="200 300"
[ "$all" = --all ] && resolutions="150 200 300 600"
for i in $(seq 1 31); do
  for r in $resolutions; do
    [ "$r" = 600 ] && ! grep -q "^$i " <(head -12 "$work/order") && continue
    pdftoppm -r "$r" -gray "$work/doc$i.pdf" "$work/r$r-doc$i"
  done
done

# One scan_sheet command per sheet and output: pen strokes, blot, rotation, skew, noise, blur.
k=0
: > "$work/jobs"
while read -r i p; do
  id=$(awk -v i="$i" '$1 == i { print $2 }' "$work/docs")
  pages=$(awk -v i="$i" '$1 == i { print $3 }' "$work/docs")
  blotted=0
  [ "$i:$p" = 4:1 ] && blotted=1
  echo "sheet $k $id $p $blotted" >> "$work/truth.tsv"
  marks=()
  while read -r kind pg role line x1 y1 x2 y2; do
    [ "$kind" = area ] && [ "$pg" = "$p" ] || continue
    s=$(signed "$i" "$role" "$line")
    if ((s)); then
      if ((line == 0)); then marks+=(--sign "$x1,$y1,$x2,$y2"); else marks+=(--date "$x1,$y1,$x2,$y2"); fi
    fi
  done < "$work/doc$i.areas"
  while read -r kind pg a b c d; do
    [ "$kind" = qr ] && [ "$pg" = "$p" ] && ((blotted)) && marks+=(--blot "$a,$b,$c")
  done < "$work/doc$i.areas"
  # Feeding: a quarter of the sheets turned by 90, 180 or 270 degrees, a third skewed 1-4
  # degrees either way; noise on all, blur on half.
  base=0
  case $((k % 8)) in 2) base=90 ;; 4) base=180 ;; 6) base=270 ;; esac
  skew=0
  if ((k % 3 == 0)); then
    skew=$(awk -v k="$k" 'BEGIN { s = 1 + (k * 7 % 31) / 10; if (k % 2) s = -s; print s }')
  fi
  angle=$(awk -v b="$base" -v s="$skew" 'BEGIN { print b + s }')
  fx=(--rotate "$angle" --noise $((3 + k % 5)) --seed "$k")
  ((k % 2 == 0)) && fx+=(--blur)
  n=$(printf %04d "$k")
  pg=$p
  ((pages >= 10)) && pg=$(printf %02d "$p")
  emit() { # RES OUTPUT [--bilevel]
    printf '%q ' "$sheet" "$work/r$1-doc$i-$pg.pgm" "$work/$2" "$1" "${fx[@]}" "${marks[@]}" "${@:3}" >> "$work/jobs"
    echo >> "$work/jobs"
  }
  emit 200 "a200-$n.jpg"
  emit 300 "b300-$n.tif"
  if [ "$all" = --all ]; then
    emit 150 "c150-$n.jpg"
    emit 300 "d300-$n.jpg"
    emit 150 "e150-$n.tif"
    emit 200 "f200-$n.tif"
    ((k < 12)) && emit 600 "g600-$n.tif"
  fi
  k=$((k + 1))
done < "$work/order"
for i in $(seq 1 31); do
  while read -r kind pg role line x1 y1 x2 y2; do
    case $kind in
      area) id=$(awk -v i="$i" '$1 == i { print $2 }' "$work/docs")
            echo "area $id $pg $role $line $x1 $y1 $x2 $y2 $(signed "$i" "$role" "$line")" ;;
      qr) echo "qr $(awk -v i="$i" '$1 == i { print $2 }' "$work/docs") $pg $role $line $x1" ;;
    esac
  done < "$work/doc$i.areas"
done >> "$work/truth.tsv"
xargs -P 2 -d '\n' -I{} sh -c '{}' < "$work/jobs"

# Wrap the sheets as scanners write them.
img2pdf -o "$work/stack-200-jpeg.pdf" "$work"/a200-*.jpg
tiffcp "$work"/b300-*.tif "$work/stack-300-g4.tif"
tiff2pdf -o "$work/stack-300-g4.pdf" "$work/stack-300-g4.tif"
# The first sheet also as a lone JPEG and PNG file (a copier scanning to a folder).
cp "$work/a200-0000.jpg" "$work/stack-page.jpg"
convert "$work/a200-0000.jpg" "$work/stack-page.png"
if [ "$all" = --all ]; then
  img2pdf -o "$work/stack-150-jpeg.pdf" "$work"/c150-*.jpg
  img2pdf -o "$work/stack-300-jpeg.pdf" "$work"/d300-*.jpg
  tiffcp "$work"/e150-*.tif "$work/stack-150-g4.tif"
  tiff2pdf -o "$work/stack-150-g4.pdf" "$work/stack-150-g4.tif"
  tiffcp "$work"/f200-*.tif "$work/stack-200-g4.tif"
  tiffcp "$work"/g600-*.tif "$work/stack-600-g4.tif"
fi

mkdir -p "$out"
echo "$key" > "$work/inputs.sha256"
mv "$work"/stack-* "$work/truth.tsv" "$work/inputs.sha256" "$out/"
rm -rf "$work"
echo "make_scans: $k sheets in $out" >&2
