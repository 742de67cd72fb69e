#!/usr/bin/env bash
# Trigger delay past due time on a live run: `nudge dev-broker` (exactly-once), `nudge run`
# on the system clock, and `nudge simulate --brokers` producing a day of history and then
# live traffic at journey speed 1. Detector delays are shortened so triggers fall due within
# the run; then the produce time of every committed trigger due after a warm-up (the history
# out and caught up) is compared with its due time.
#
#   tests/bench/trigger_delay.sh
#
# Env: CUSTOMERS (default 200000), HISTORY (default 24h), DURATION (of simulate, default
# 7m), WARMUP (seconds from simulate's start before due times count, default 180),
# PARTITIONS (default 16: the mock cluster keeps 100,000 records per partition), LATENESS
# ([runtime] allowed_lateness, default 5s), IDLE ([runtime] idle_timeout, default 10s),
# GUARANTEE (default exactly_once).
set -euo pipefail
cd "$(dirname "$0")/../.."

customers=${CUSTOMERS:-200000}
history=${HISTORY:-24h}
duration=${DURATION:-7m}
warmup=${WARMUP:-180}
partitions=${PARTITIONS:-16}
lateness=${LATENESS:-5s}
idle=${IDLE:-10s}
guarantee=${GUARANTEE:-exactly_once}

# shellcheck source=tests/bench/common.sh
. tests/bench/common.sh
bench_setup delay
cargo build --release -q -p nudge-e2e --bin trigger-delay

cat >"$work/nudge.toml" <<TOML
[runtime]
processing_guarantee = "$guarantee"
threads = 1
allowed_lateness = "$lateness"
idle_timeout = "$idle"
[kafka]
"session.timeout.ms" = "6000"
[detectors.cart_abandoned]
after = "2m"
[detectors.checkout_abandoned]
after = "2m"
[policy]
quiet_hours = { enabled = false }
TOML

start_dev_broker "$partitions"

mport=$(free_port)
RUST_LOG=warn "$nudge" run --config "$work/nudge.toml" --brokers "$brokers" \
  --metrics-listen "127.0.0.1:$mport" --instance-id delay &
run_pid=$!
pids+=($run_pid)
until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$mport/readyz")" = 200 ]; do sleep 0.1; done

since=$(( ($(date +%s) + warmup) * 1000 ))
"$nudge" simulate --brokers "$brokers" --config "$work/nudge.toml" --customers "$customers" \
  --history "$history" --duration "$duration" --speed 1
kill -TERM "$run_pid"; wait "$run_pid" || true

topics=$(printf 'triggers.%s ' cart_abandoned checkout_abandoned feedback_request browse_abandoned re_engagement)
echo "trigger delay past due ($guarantee, allowed_lateness $lateness, idle_timeout $idle, $partitions partitions, $customers customers, $history of history, due after ${warmup}s of $duration):"
# shellcheck disable=SC2086
target/release/trigger-delay "$brokers" "$since" $topics
