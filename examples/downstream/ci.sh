#!/usr/bin/env bash
# shakedown in a user's own repository, as a user meets it: `shakedown init` writes this crate,
# the first run has no baselines and says how to accept them, accepted baselines pass in CI, and
# a changed model fails with a snapshot diff. Run from anywhere; `.ci/run` runs it.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
here="$root/examples/downstream"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
cd "$root"
cargo build --quiet --bin shakedown
shakedown="$CARGO_TARGET_DIR/debug/shakedown"
check="$(mktemp -d)"
suite="$here/suites/shapes.yaml"
cp "$suite" "$CARGO_TARGET_DIR/downstream-suite.yaml"
cleanup() {
  rm -rf "$check" "$here/suites/snapshots"
  cp "$CARGO_TARGET_DIR/downstream-suite.yaml" "$suite"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
expect() { # expect NEEDLE FILE: the output must say it
  grep -qF -- "$1" "$2" || { echo "expected \`$1\` in the output:"; cat "$2"; exit 1; }
}

step "1. the committed crate is what \`shakedown init\` writes"
init=(--path . --model examples/shapes/models/yolov8n.onnx --classes circle,square,triangle
  --annotations examples/shapes/val/annotations.json --images 'examples/shapes/val/images/0000*.jpg'
  --name shapes)
# The same layout elsewhere (the shapes example linked in), so relative paths come out the same.
mkdir -p "$check/examples" && ln -s "$root/examples/shapes" "$check/examples/shapes"
(cd "$check" && "$shakedown" init examples/downstream "${init[@]}" >/dev/null)
diff -r -x Cargo.lock -x ci.sh -x README.md -x snapshots -x target "$check/examples/downstream" "$here"

run() { # run LOG [ENV...]: the downstream crate's robustness tests
  local log="$1"; shift
  env "$@" cargo test --quiet --manifest-path "$here/Cargo.toml" --test robustness >"$log" 2>&1
}
log="$CARGO_TARGET_DIR/downstream.log"
rm -rf "$here/suites/snapshots"

step "2. first run: no baselines yet, and how to accept them"
if run "$log" CI=; then echo "a first run without baselines must fail"; exit 1; fi
expect "no baseline yet" "$log"
expect "cargo insta review" "$log"

step "3. accept them (what \`cargo insta accept\` does), then CI passes"
run "$log" INSTA_UPDATE=always
test -f "$here/suites/snapshots/shapes__yolov8n__clean.snap"
run "$log" CI=true
expect "test result: ok" "$log"

step "4. a changed model (the same network after 4 of its 10 epochs) shows a snapshot diff"
sed -i 's|models/yolov8n.onnx|models/yolov8n-epoch4.onnx|' "$suite"
if run "$log" CI=true; then echo "a changed model must fail"; exit 1; fi
expect "-old snapshot" "$log"
expect "moved beyond tolerance" "$log"
grep -F "moved beyond tolerance" "$log" | sed -n 1,3p  # sed reads it all: no SIGPIPE under pipefail
echo
echo "downstream: ok"
