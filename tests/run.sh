#!/usr/bin/env bash
# The test command: every test of the workspace (unit, property, golden, and end-to-end
# against real brokers), then the checks of deploy/ and of the report page. Needs only the Rust toolchain: it installs tansu when missing,
# starts it on a free port for the at-least-once suite, and stops it at the end. The
# exactly-once suites start their own `nudge dev-broker` processes.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v tansu >/dev/null 2>&1; then
  echo "tests/run.sh: installing tansu (a Kafka-protocol broker; about 7 minutes)" >&2
  cargo install tansu --locked --features dynostore,libsql
fi

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null \
  || shuf -i 20000-60000 -n 1)
log=$(mktemp -t tansu.XXXXXX.log)
tansu broker \
  --listener-url "tcp://127.0.0.1:${port}" \
  --advertised-listener-url "tcp://127.0.0.1:${port}" \
  --storage-engine memory://tansu/ >"$log" 2>&1 &
tansu_pid=$!
trap 'kill "$tansu_pid" 2>/dev/null || true; wait "$tansu_pid" 2>/dev/null || true; rm -f "$log"' EXIT

for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/${port}") 2>/dev/null; then break; fi
  if ! kill -0 "$tansu_pid" 2>/dev/null; then
    echo "tests/run.sh: tansu did not start:" >&2; cat "$log" >&2; exit 1
  fi
  sleep 0.1
done
export NUDGE_TEST_TANSU="127.0.0.1:${port}"

# The end-to-end tests run the nudge binary; build it first.
cargo build -p nudge
cargo test --workspace "$@"

# The operations kit, checked offline (Kubernetes and compose schemas, the Dockerfile), and
# the journey report in headless Chromium. Each installs its tools under target/ (and
# Debian's chromium) when missing; then Prometheus rules, alerts and the dashboard against a
# real Prometheus server scraping a live `nudge run`.
# The deploy check reads `cargo metadata --locked --offline`, as the Docker build does, and
# that needs the crates of every target platform, not only the ones this machine built.
cargo fetch --locked
tests/deploy/check.sh
tests/report/check.sh
tests/ops/check.sh
