#!/usr/bin/env bash
# The journey report in a real browser. Debian's chromium (installed when missing) opens the
# report pages headless, with no network, and tests/report/check.mjs (driving it through
# playwright-core from npm, installed under target/, never committed) checks that each page
# renders with no console error, makes no request at all, keeps its Content-Security-Policy
# (a fetch from the page is refused before it reaches the network) and that a screenshot is
# not blank. Run from the repository root; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ ! -x /usr/bin/chromium ]; then
  echo "tests/report/check.sh: installing chromium" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

node_dir="$PWD/target/report-check"
if [ ! -d "$node_dir/node_modules/playwright-core" ]; then
  echo "tests/report/check.sh: installing playwright-core into target/report-check" >&2
  mkdir -p "$node_dir"
  npm install --prefix "$node_dir" --no-audit --no-fund --silent playwright-core@1.65.1
fi

cargo build -q -p nudge
out=$(mktemp -d -t nudge-report.XXXXXX)
trap 'rm -rf "$out"' EXIT
./target/debug/nudge report --input tests/data/report --config tests/data/report/nudge.toml \
  --out "$out/golden.html" 2>/dev/null
./target/debug/nudge report --input tests/data/sample --config tests/data/sample/nudge.toml \
  --out "$out/sample.html" 2>/dev/null
./target/debug/nudge replay --input tests/data/sample --out "$out/sample.ndjson" 2>/dev/null
./target/debug/nudge report --from "$out/sample.ndjson" --out "$out/from-file.html" 2>/dev/null

REPORT_NODE_DIR="$node_dir" node tests/report/check.mjs \
  "$out/golden.html" "$out/sample.html" "$out/from-file.html"
