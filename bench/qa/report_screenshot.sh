#!/usr/bin/env bash
# Renders a `sluice eval --report` HTML file to a PNG with headless Chromium (installed from
# Debian's packages when missing), for README. The report is self-contained (inline SVG, no
# network), so the page renders offline.
#
#   bench/qa/report_screenshot.sh eval.html docs/eval-report.png [WIDTHxHEIGHT]
set -euo pipefail
report=${1:?usage: report_screenshot.sh REPORT.html OUT.png [WIDTHxHEIGHT]}
out=${2:?usage: report_screenshot.sh REPORT.html OUT.png [WIDTHxHEIGHT]}
size=${3:-1280x1600}
if ! command -v chromium >/dev/null; then
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
  --window-size="${size/x/,}" --screenshot="$(realpath -m "$out")" \
  "file://$(realpath "$report")" 2>/dev/null
echo "wrote $out"
