#!/usr/bin/env bash
# End-to-end throughput of `nudge run` against a real broker, compared with the limit: a plain
# librdkafka consume plus a serde_json parse of the same records in the same run.
#
#   tests/bench/e2e.sh                         # tansu, at-least-once, 600k records
#   BROKER=dev GUARANTEE=exactly_once RECORDS=250000 tests/bench/e2e.sh
#
# Env: RECORDS (default 600000), BROKER (tansu | dev), GUARANTEE (at_least_once |
# exactly_once), PARTITIONS (default 2), THREADS (default 2), COMMIT_INTERVAL (default 100ms),
# FETCH_WAIT (fetch.wait.max.ms of both consumers, default 100 as nudge's own default: tansu 0.6
# holds every fetch that long and answers at most 5 MB, so on tansu it paces both),
# KAFKA (lines added to the [kafka] table of nudge run, e.g. '"linger.ms" = "20"'), RUNTIME
# (lines added to its [runtime] table, e.g. 'buffered_records_per_partition = 100'), RUN_LOG
# (RUST_LOG of nudge run, default warn),
# PROFILE (a file: perf record of `nudge run` while it consumes, PROFILE_HZ samples a second
# (default 199), with DWARF call graphs since release builds keep no frame pointers; read it
# with `perf report --children`). The dev broker (librdkafka's mock cluster) keeps only
# 100,000 messages per partition: keep RECORDS/PARTITIONS under that.
set -euo pipefail
cd "$(dirname "$0")/../.."

records=${RECORDS:-600000}
broker=${BROKER:-tansu}
guarantee=${GUARANTEE:-at_least_once}
partitions=${PARTITIONS:-2}
threads=${THREADS:-2}
commit_interval=${COMMIT_INTERVAL:-100ms}
fetch_wait=${FETCH_WAIT:-100}

# shellcheck source=tests/bench/common.sh
. tests/bench/common.sh
bench_setup bench
cargo build --release -q -p nudge-e2e --bin consume-baseline

cpu_of() { awk '{print ($14 + $15) / 100}' "/proc/$1/stat"; }
metric() { curl -s "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 ~ "^"m"({|$)" {s += $NF} END {printf "%d\n", s}'; }

# About 6 to 7 records per simulated customer per day.
customers=$((records / 6))
"$nudge" simulate --out "$work/data" --customers "$customers" --duration 24h --days-ago 7 2>/dev/null
total=$(cat "$work/data"/*.ndjson | wc -l)

suffix=$(date +%s)
# After the last member of a group leaves, librdkafka's mock cluster holds a new member's join
# for the session timeout less a second (44 s by default), and the restore below starts such a
# member: on the dev broker the bench sets the timeout the tests use.
session_timeout=
[ "$broker" = dev ] && session_timeout='"session.timeout.ms" = "6000"'
cat >"$work/nudge.toml" <<TOML
[runtime]
processing_guarantee = "$guarantee"
threads = $threads
commit_interval = "$commit_interval"
${RUNTIME:-}
[kafka]
"group.id" = "bench-$suffix"
"fetch.wait.max.ms" = "$fetch_wait"
$session_timeout
${KAFKA:-}
[topics]
clickstream = "clickstream-$suffix"
email = "email-$suffix"
crm = "crm-$suffix"
trigger_prefix = "triggers-$suffix."
suppressed = "suppressed-$suffix"
sessions = "sessions-$suffix"
outcomes = "outcomes-$suffix"
dead_letters = "dlq-$suffix"
changelog = "changelog-$suffix"
TOML

case "$broker" in
  tansu)
    command -v tansu >/dev/null || cargo install tansu --locked --features dynostore,libsql
    port=$(free_port)
    tansu broker --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$port" \
      --storage-engine memory://tansu/ >"$work/tansu.log" 2>&1 &
    pids+=($!)
    broker_pid=$!
    brokers="127.0.0.1:$port"
    sleep 1
    "$nudge" topics create --brokers "$brokers" --partitions "$partitions" --config "$work/nudge.toml" >/dev/null
    ;;
  dev) start_dev_broker "$partitions"; broker_pid=${pids[-1]} ;;
  *) echo "BROKER is tansu or dev" >&2; exit 2 ;;
esac

"$nudge" produce --input "$work/data" --brokers "$brokers" --config "$work/nudge.toml" 2>/dev/null

b0=$(cpu_of "$broker_pid")
read -r base_n base_s base_cpu _ < <(FETCH_WAIT_MS=$fetch_wait target/release/consume-baseline "$brokers" "$total" \
  "clickstream-$suffix" "email-$suffix" "crm-$suffix")
b1=$(cpu_of "$broker_pid")

mport=$(free_port)
RUST_LOG=${RUN_LOG:-warn} "$nudge" run --config "$work/nudge.toml" --brokers "$brokers" \
  --metrics-listen "127.0.0.1:$mport" --instance-id bench &
run_pid=$!
pids+=($run_pid)
# The clock starts once the process is ready (assigned, nothing restored yet since the changelog
# is empty), before its first fetch: records are counted as consumed only once applied, and a
# clock started at the first applied one would leave out what was fetched and decoded before.
until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$mport/readyz")" = 200 ]; do sleep 0.01; done
t0=$(date +%s.%N); c0=$(cpu_of "$run_pid"); b2=$(cpu_of "$broker_pid")
if [ -n "${PROFILE:-}" ]; then
  perf record -F "${PROFILE_HZ:-199}" --call-graph dwarf,16384 -o "$PROFILE" -p "$run_pid" >/dev/null 2>&1 &
  pids+=($!)
fi
# Each scrape costs nudge CPU (about 0.4 ms to render the page): poll once a second until the
# last 5 %, then every 20 ms for the end time.
progress_at=$(date +%s); last_consumed=-1
while :; do
  consumed=$(metric "$mport" nudge_events_consumed_total)
  [ "$consumed" -ge "$total" ] && break
  if [ "$consumed" -ne "$last_consumed" ]; then
    last_consumed=$consumed; progress_at=$(date +%s)
  elif [ $(($(date +%s) - progress_at)) -ge 60 ]; then
    restored=$(metric "$mport" nudge_restored_customers_total)
    echo "e2e.sh: nudge applied $consumed of $total records and nothing more for 60 s" >&2
    if [ "$restored" -gt 0 ] && [ "$broker" = tansu ]; then
      echo "e2e.sh: its tasks were restored mid-run (a rebalance: a stream thread joined late) and" \
        "tansu 0.6 skips the rest of a record batch fetched from inside it; run again, or THREADS=1" >&2
    fi
    exit 1
  fi
  if [ $((consumed * 20)) -lt $((total * 19)) ]; then sleep 1; else sleep 0.02; fi
done
t1=$(date +%s.%N); c1=$(cpu_of "$run_pid"); b3=$(cpu_of "$broker_pid")
rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$run_pid/status")
customers_live=$(metric "$mport" nudge_active_customers)
changelog=$(metric "$mport" nudge_changelog_records_total)
outputs=$(metric "$mport" nudge_output_records_total)
commit_ms=$(curl -s "http://127.0.0.1:$mport/metrics" | awk '$1 == "nudge_commit_duration_seconds_sum" {printf "%d", $2 * 1000}')
commits=$(metric "$mport" nudge_commit_duration_seconds_count)
echo "changelog records written: $changelog, output records: $outputs; $commits commits took $commit_ms ms"
kill -TERM "$run_pid"; wait "$run_pid" || true

# Restore: a fresh process rebuilds every task from the changelog before it is ready.
RUST_LOG=${RESTORE_LOG:-warn} "$nudge" run --config "$work/nudge.toml" --brokers "$brokers" \
  --metrics-listen "127.0.0.1:$mport" --instance-id bench &
run_pid=$!
pids+=($run_pid)
r0=$(date +%s.%N)
until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$mport/readyz")" = 200 ]; do sleep 0.05; done
r1=$(date +%s.%N)
restored=$(metric "$mport" nudge_restored_customers_total)
restoring=$(curl -s "http://127.0.0.1:$mport/metrics" | awk '$1 == "nudge_restore_duration_seconds_sum" {print $2}')
restored_rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$run_pid/status")
kill -TERM "$run_pid"; wait "$run_pid" || true
python3 -c "import sys; t=float(sys.argv[2])-float(sys.argv[1]); n=int(sys.argv[3]); rss=int(sys.argv[4])/1024; r=float(sys.argv[5]); print(f'restore: {n:,} customers ready in {t:.2f} s from start ({n/t:,.0f} customers/s, process start and group join included; reading the changelog took {r:.2f} s summed over tasks); RSS then {rss:,.0f} MiB')" "$r0" "$r1" "$restored" "$restored_rss_kb" "${restoring:-0}"

python3 - "$total" "$base_s" "$base_cpu" "$t0" "$t1" "$c0" "$c1" "$rss_kb" "$customers_live" \
  "$b0" "$b1" "$b2" "$b3" "$broker" "$guarantee" "$partitions" "$threads" <<'PY'
import sys
n, bs, bc, t0, t1, c0, c1, rss, cust, b0, b1, b2, b3 = map(float, sys.argv[1:14])
broker, guarantee, parts, threads = sys.argv[14:18]
base_rate = n / bs
run_s = t1 - t0
run_rate = n / run_s
print(f"broker={broker} guarantee={guarantee} partitions={parts} threads={threads} records={int(n)}")
print(f"plain consume + JSON parse: {base_rate:,.0f} records/s ({bc / n * 1e6:.2f} us CPU per record; "
      f"broker meanwhile {(b1 - b0) / n * 1e6:.2f} us per record)")
print(f"nudge run:                  {run_rate:,.0f} records/s ({(c1 - c0) / n * 1e6:.2f} us CPU per record; "
      f"broker meanwhile {(b3 - b2) / n * 1e6:.2f} us per record)")
print(f"ratio nudge / plain: {run_rate / base_rate:.2%}")
print(f"peak RSS {rss / 1024:.0f} MiB with {int(cust):,} customers in state")
PY
