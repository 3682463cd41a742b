#!/usr/bin/env bash
# Installs the Debian packages Haven builds with, if any is missing.
# Safe to run again: it only calls apt-get when something is absent.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libboost-program-options1.81-dev
  libsqlite3-dev sqlite3 libcereal-dev catch2 libssl-dev zlib1g-dev
  bsdextrautils curl
  clang-14 libclang-rt-14-dev clang-format
  libqrencode-dev
  coinor-libclp-dev
  chromium
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js and npm for the browser test, from Debian unless some other install provides them.
command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The browser test's driver, playwright-core, pinned by tests/browser/package-lock.json
# (it drives the chromium above: no browser is downloaded).
browser_test=$(dirname "$0")/../tests/browser
pinned=$(grep -o '"playwright-core": "[^"]*"' "$browser_test/package.json" | cut -d'"' -f4 || true)
installed=$(grep -so '"version": "[^"]*"' "$browser_test/node_modules/playwright-core/package.json" | cut -d'"' -f4 || true)
if [[ $installed != "$pinned" ]]; then
  echo "setup: installing playwright-core for the browser test (npm ci)" >&2
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix "$browser_test" --no-audit --no-fund >/dev/null
fi
