#!/usr/bin/env bash
# CI: Debian's Chromium and its driver for the browser tests (tests/browser.py), when missing.
# CI runs as root on Debian; elsewhere this only says what it would need.
set -euo pipefail
if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "install-browser: chromium and chromium-driver are missing and this is not root on Debian;" \
         "install them (see README, Tests)" >&2
    exit 1
fi
echo "install-browser: installing chromium and chromium-driver"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
chromium --version
