#!/usr/bin/env bash
# Remakes docs/report.png, the README's picture of the HTML report: the top of the shapes
# suite's report, rendered by headless Chromium. Run the suites first
# (`cargo test --test robustness`) so that target/shakedown/shapes.json exists.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
results="${SHAKEDOWN_RESULTS:-$target/shakedown}"
cargo build --quiet --bin shakedown
page="$(mktemp -d)/shapes.html"
"$target/debug/shakedown" report "$results/shapes.json" -o "$page"
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,1500 \
  --user-data-dir="$(dirname "$page")/profile" --screenshot="$PWD/docs/report.png" "file://$page"
ls -l docs/report.png
