#!/usr/bin/env bash
# Installs the Debian 12 packages consentform needs (only those missing), then configures and
# builds it in ./build (or $BUILD_DIR). Safe to run again: it does only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  # build
  gcc meson ninja-build pkg-config
  # libraries
  libhpdf-dev libxml2-dev zlib1g-dev libdeflate-dev libharfbuzz-dev libunibreak-dev libsqlite3-dev
  libqrencode-dev nettle-dev libcmocka-dev libicu-dev
  # archive: JSON record objects (jansson); checking filed scans parse as what they claim
  libjansson-dev libqpdf-dev libpng-dev libjpeg62-turbo-dev libtiff-dev
  # reading scans (src/scan/): QR decoders (zxing-cpp is C++, behind a C shim)
  g++ libzbar-dev libzxing-dev
  # printing (src/render/print.c)
  libcups2-dev
  # consentform serve (src/web/): HTTP with TLS; its tests speak HTTP through libcurl
  libmicrohttpd-dev libcurl4-openssl-dev python3
  # users of `serve`: Argon2id password hashes (src/web/auth.c)
  libargon2-dev
  # static libxml2, ICU and SQLite linked into the tool (meson.build): the C++ runtime ICU needs
  libstdc++-12-dev
  # tests: PDF inspection, schema checks, memory checks, locales
  poppler-utils qpdf ghostscript sqlite3 libxml2-utils valgrind locales zbar-tools
  # tests: SVG pages to PNG against the PDF's; a private CUPS scheduler with a file queue
  librsvg2-bin imagemagick cups-daemon cups-client cups-bsd cups-ipp-utils
  # the scan test set (tests/scan/make_scans.sh)
  img2pdf libtiff-tools
  # manual pages (scdoc), bash completion (its pkg-config file says where completions go), man(1)
  # for `consentform help COMMAND` and the man page test
  scdoc bash-completion man-db
  # the Debian package and its test (scripts/package-test.sh)
  debhelper dpkg-dev lintian debootstrap
  # benchmarks and static checks (fuzzing installs clang itself: scripts/fuzz.sh)
  time cppcheck clang-tidy
  # browser tests of `serve` (tests/web): Debian's chromium, driven by playwright-core from npm,
  # and CJK fonts for what the screenshots show
  chromium fonts-noto-cjk
)
# Node.js and npm for tests/web: Debian's, unless a node with its npm is installed already
# (NodeSource's nodejs carries npm and conflicts with Debian's npm package).
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: these Debian packages are missing and installing them needs root: ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# A decimal-comma locale for the test run that checks PDF numbers do not follow LC_NUMERIC.
if ! locale -a 2>/dev/null | grep -qi '^de_DE\.utf-\?8$'; then
  if [ "$(id -u)" -eq 0 ] && [ -f /etc/locale.gen ]; then
    sed -i 's/^# *\(de_DE.UTF-8 UTF-8\)/\1/' /etc/locale.gen
    grep -q '^de_DE.UTF-8 UTF-8' /etc/locale.gen || echo 'de_DE.UTF-8 UTF-8' >> /etc/locale.gen
    locale-gen >/dev/null
  fi
fi

# playwright-core for the browser tests, exactly as tests/web/package-lock.json pins it: `npm ci`
# (network) when the lock file changed since the last install here.
lock=tests/web/package-lock.json
stamp=tests/web/node_modules/.consentform-lock.sha256
if [ -f "$lock" ] && ! sha256sum --status -c "$stamp" 2>/dev/null; then
    echo "setup: npm ci in tests/web (playwright-core)" >&2
    (cd tests/web && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    sha256sum "$lock" >"$stamp"
fi

build=${BUILD_DIR:-build}
werror=false
[ "${CI:-}" = true ] && werror=true
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" --buildtype=debugoptimized -Dwerror="$werror" >/dev/null
fi
ninja -C "$build" >/dev/null
echo "setup: built $build/consentform" >&2
