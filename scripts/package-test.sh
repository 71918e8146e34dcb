#!/usr/bin/env bash
# Builds the Debian package from this tree and tries it as hospital IT would (issue 16 item 1):
#   1. dpkg-buildpackage -us -uc -b in a copy of the tree (nothing is written here);
#   2. lintian on the package: no errors;
#   3. a fresh Debian 12 root made by debootstrap from the package source apt already uses,
#      the package installed in it with `apt-get install ./consentform_*.deb`; where debootstrap
#      cannot reach that source, the script says so and uses this machine instead;
#   4. from `/`, with no source tree: `consentform list`, a render and a batch, man and help;
#   5. `apt-get purge` and a check that none of the package's files is left.
# Needs root (debootstrap, chroot, apt-get) and the packages in scripts/setup.sh. Not part of
# `meson test`; scripts/test.sh runs it when CF_PACKAGE_TEST=1. Keeps its work folder when
# CF_KEEP=1. Exit status 0 when every step passed.
set -euo pipefail
root_dir=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/consentform-package.XXXXXX)
chroot_dir=$work/root
mounted=()
cleanup() {
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}" 2>/dev/null || true; done
    if [ "${CF_KEEP:-}" = 1 ]; then echo "package-test: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
step() { echo "package-test: $*" >&2; }
die() { echo "package-test: FAIL: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot and apt-get install)"
for tool in dpkg-buildpackage lintian debootstrap; do
    command -v "$tool" >/dev/null || die "$tool is missing: run scripts/setup.sh"
done

# 1. Build from a copy of the tracked and new (not ignored) files: no build folder, no output
# next to the checkout.
step "copying the tree"
mkdir -p "$work/src"
if git -C "$root_dir" rev-parse --git-dir >/dev/null 2>&1; then
    (cd "$root_dir" && git ls-files -z --cached --others --exclude-standard |
        xargs -0 -I{} sh -c 'test -e "{}" && printf "%s\0" "{}"' |
        tar --null -T - -cf -) | tar -x -C "$work/src"
else
    tar -C "$root_dir" --exclude=./build --exclude='./obj-*' -cf - . | tar -x -C "$work/src"
fi
step "dpkg-buildpackage -us -uc -b"
start=$(date +%s)
(cd "$work/src" && dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1 ||
    { tail -40 "$work/build.log"; die "dpkg-buildpackage failed (log above)"; }
deb=$(ls "$work"/consentform_*.deb)
step "built $(basename "$deb") in $(($(date +%s) - start)) s ($(stat -c %s "$deb") bytes)"
dpkg-deb --contents "$deb" | awk '{ print $6 }' >"$work/contents"
for want in ./usr/bin/consentform ./usr/share/man/man1/consentform-batch.1.gz \
    ./usr/share/man/man5/consentform-forms.5.gz ./usr/share/bash-completion/completions/consentform \
    ./usr/share/consentform/forms/schema/consent-form.rng ./usr/share/consentform/fonts/OFL.txt \
    ./usr/share/doc/consentform/copyright; do
    grep -qxF "$want" "$work/contents" || die "the package lacks $want"
done
if dpkg-deb --contents "$deb" | grep -q 'tests/\|bench_render'; then die "the package holds tests"; fi
step "the package holds the binary, forms, fonts, man pages, completion and copyright"

# 2. lintian: errors fail, warnings are shown.
step "lintian"
lintian --fail-on error --tag-display-limit 0 "$deb" >"$work/lintian.log" 2>&1 ||
    { cat "$work/lintian.log" >&2; die "lintian reports errors"; }
tags=$(grep -cE '^[EWIPX]: ' "$work/lintian.log" || true)
grep -E '^[EWIPX]: ' "$work/lintian.log" >&2 || true
step "lintian: no errors ($tags tags in all)"

# 3. Where to install: a fresh Debian 12 root from apt's own package source, else this machine.
mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $3 ~ /^bookworm$/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
run=()          # prefix that runs a command in the target system
target=/        # the target system's root, as seen from here
step "debootstrap --variant=minbase bookworm from $mirror"
if debootstrap --variant=minbase bookworm "$chroot_dir" "$mirror" >"$work/debootstrap.log" 2>&1; then
    mount -t proc proc "$chroot_dir/proc" && mounted+=("$chroot_dir/proc")
    cp /etc/resolv.conf "$chroot_dir/etc/resolv.conf" 2>/dev/null || true
    run=(chroot "$chroot_dir" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8)
    target=$chroot_dir
    step "installing in the fresh root $chroot_dir"
else
    tail -5 "$work/debootstrap.log" >&2
    step "debootstrap cannot reach $mirror: installing on this machine instead (then purging)"
    run=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8)
fi
cp "$deb" "$target/tmp/"
debname=$(basename "$deb")
"${run[@]}" sh -c "cd /tmp && DEBIAN_FRONTEND=noninteractive apt-get install -y -q ./$debname" \
    >"$work/install.log" 2>&1 || { tail -20 "$work/install.log"; die "apt-get install failed"; }
step "installed: $("${run[@]}" consentform --version)"
"${run[@]}" dpkg -L consentform >"$work/files"

# 4. Used from /, as a nurse or clerk would: no source tree, no environment variables.
sample_csv='patient_name,hospital_no,episode_no
陳大文,HN12345678(9),HE1234567
李小明,HN23456789(0),HE2345678'
"${run[@]}" sh -euc "
cd /
out=\$(mktemp -d)
consentform list | tee \$out/list
grep -q '^# /usr/share/consentform/forms (installed)' \$out/list
grep -q '^nerve-root-injection ' \$out/list
! grep -q 'source tree' \$out/list
consentform render nerve-root-injection --allow-draft -o \$out/one.pdf --patient-name 陳大文 \
    --hospital-no 'HN12345678(9)' --episode-no HE1234567
head -c 5 \$out/one.pdf | grep -q '%PDF-'
printf '%s\n' '$sample_csv' >\$out/list.csv
consentform batch nerve-root-injection --allow-draft --csv \$out/list.csv --out-dir \$out/batch
test \$(ls \$out/batch/*.pdf | wc -l) -eq 2
test -s \$out/batch/manifest.csv
consentform validate nerve-root-injection
consentform -V
rm -rf \$out
" >"$work/use.log" 2>&1 || { cat "$work/use.log"; die "using the installed package from / failed"; }
step "list, render, batch and validate work from / ($(grep -c . "$work/use.log") lines of output)"
if "${run[@]}" sh -c 'command -v man >/dev/null'; then
    "${run[@]}" sh -c 'MANPAGER=cat MANWIDTH=80 consentform help batch' >"$work/man.txt" 2>&1 || true
    grep -q "consentform-batch - print a form" "$work/man.txt" &&
        step "consentform help batch shows the manual page" || die "help batch: $(head -5 "$work/man.txt")"
else
    step "no man(1) in the target (minbase): help batch prints the usage instead"
    "${run[@]}" consentform help batch | grep -q "usage: consentform batch" || die "help batch without man"
fi

"${run[@]}" sh -c 'MANPAGER=cat MANWIDTH=80 man consentform-batch' >"$work/man.txt" 2>&1 || true
if grep -q "consentform-batch - print a form" "$work/man.txt"; then
    step "man consentform-batch shows the page"
elif "${run[@]}" sh -c 'command -v man >/dev/null'; then
    die "man consentform-batch: $(head -5 "$work/man.txt")"
fi
# The installed completion, loaded as bash-completion would load it.
"${run[@]}" bash -c '
source /usr/share/bash-completion/completions/consentform
COMP_WORDS=(consentform ren); COMP_CWORD=1; _consentform
[ "${COMPREPLY[*]}" = render ] || { echo "ren: ${COMPREPLY[*]}"; exit 1; }
COMP_WORDS=(consentform render nerve); COMP_CWORD=2; _consentform
[[ " ${COMPREPLY[*]} " == *" nerve-root-injection "* ]] || { echo "form id: ${COMPREPLY[*]}"; exit 1; }
' >"$work/completion.log" 2>&1 || die "installed completion: $(cat "$work/completion.log")"
step "the installed completion completes ren to render and a form id"

# 5. Purge and check that nothing of the package is left.
"${run[@]}" sh -c 'DEBIAN_FRONTEND=noninteractive apt-get purge -y -q consentform' \
    >"$work/purge.log" 2>&1 || { tail -20 "$work/purge.log"; die "apt-get purge failed"; }
left=0
while read -r f; do
    case $f in /. | /usr | /usr/bin | /usr/share | /usr/share/man* | /usr/share/doc | \
        /usr/share/bash-completion | /usr/share/bash-completion/completions) continue ;; esac
    if [ -e "$target$f" ] || [ -L "$target$f" ]; then echo "left after purge: $f" >&2; left=1; fi
done <"$work/files"
[ -e "$target/usr/share/consentform" ] && { echo "left: /usr/share/consentform" >&2; left=1; }
"${run[@]}" dpkg -s consentform >/dev/null 2>&1 && { echo "dpkg still knows consentform" >&2; left=1; }
[ "$left" -eq 0 ] || die "files left after purge"
rm -f "$target/tmp/$debname"
step "purged; nothing left ($(wc -l <"$work/files") paths checked)"
step "ok"
