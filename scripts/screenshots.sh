#!/usr/bin/env bash
# Regenerates the README's screenshots (docs/*.png) with `npm run playground:screenshot`, after
# installing from Debian what Chromium needs to draw them when it is missing: Chromium itself,
# and an emoji font (without one, every emoji of the page is drawn as an empty box).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
if [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
  missing+=(chromium)
fi
# fc-list (package fontconfig) is how the screenshot script confirms the font.
if ! command -v fc-list >/dev/null 2>&1; then
  missing+=(fontconfig fonts-noto-color-emoji)
elif ! fc-list : family | grep -qi emoji; then
  missing+=(fonts-noto-color-emoji)
fi

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing: ${missing[*]}. Install with: sudo apt-get install -y ${missing[*]} (or run this script as root)" >&2
    exit 1
  fi
  echo "installing from Debian: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

npm run -s playground:screenshot
