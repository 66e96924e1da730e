#!/usr/bin/env bash
# Make sure a Chromium for the browser tests is installed, and print its path.
#
# The browser tests (tests/e2e/test_browser.py) drive Debian's `chromium` headless with
# Playwright; this installs the package if it is missing (root or sudo needed then), or
# uses the browser named by PYTEST_CHROMIUM.
set -euo pipefail

if [[ -n "${PYTEST_CHROMIUM:-}" ]]; then
    echo "$PYTEST_CHROMIUM"
    exit 0
fi

found=$(command -v chromium || command -v chromium-browser || true)
if [[ -z "$found" ]]; then
    echo "ensure-chromium: installing Chromium (Debian package)..." >&2
    if [[ $(id -u) -eq 0 ]]; then as_root=(); elif sudo -n true 2>/dev/null; then as_root=(sudo); else
        echo "ensure-chromium: Chromium is missing and installing it needs root (or sudo);" \
            "install the 'chromium' package or set PYTEST_CHROMIUM" >&2
        exit 1
    fi
    "${as_root[@]}" apt-get update -qq
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    found=$(command -v chromium)
fi
echo "$found"
