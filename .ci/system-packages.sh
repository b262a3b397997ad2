#!/usr/bin/env bash
# CI: the Debian packages that the tests need, installed when missing: Chromium and its driver for the
# browser tests (tests/browser.py), the full MyThes thesaurus (tests/test_augment.py), and Java for MXNet
# Model Server's frontend (tests/test_serving.py), OpenBLAS and LAPACKE for the arm64 stand-in's own test
# (tests/test_arm64.py), Node and npm to build the static demo's onnxruntime-web files (tests/test_web.py
# runs `npm ci` in web/).
# CI runs as root on Debian; elsewhere this only says what it would need.
set -euo pipefail
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
[ -f /usr/share/mythes/th_en_US_v2.dat ] || missing+=(mythes-en-us)
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
ldconfig -p | grep -q 'libopenblas\.so\.0 ' || missing+=(libopenblas0-openmp)
ldconfig -p | grep -q 'liblapacke\.so\.3 ' || missing+=(liblapacke)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "system-packages: ${missing[*]} missing and this is not root on Debian; install them (see docs/tests.md)" >&2
    exit 1
fi
echo "system-packages: installing ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
