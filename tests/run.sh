#!/usr/bin/env bash
# The test command: every test of the workspace (unit, property, integration, golden, doc).
# Run from anywhere; needs only the Rust toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --workspace "$@"
