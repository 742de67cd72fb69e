#!/usr/bin/env bash
# The test command: every test of the workspace (unit, property, golden, and end-to-end
# against `nudge dev-broker` processes the tests start themselves).
set -euo pipefail
cd "$(dirname "$0")/.."

# The end-to-end tests run the nudge binary; build it first.
cargo build -p nudge
cargo test --workspace "$@"
