#!/usr/bin/env bash
# Checks the operations kit: deploy/prometheus (recording rules, alerts, their unit tests) and
# deploy/grafana/nudge.json, statically and against a real Prometheus server scraping a real
# `nudge run`. Run from anywhere; exits non-zero on the first failing step.
#
#   static  promtool check rules on every rules file; promtool test rules on every test file;
#           tests/ops/check.py static (names and labels against the metric catalog, alert
#           annotations, a firing and a quiet test per alert, a test per recording rule,
#           dashboard structure).
#   live    nudge dev-broker (2 partitions) + nudge run (metrics on a free port) + nudge
#           simulate --brokers (history, then live traffic on a fast clock) + a few malformed,
#           unknown and late records, scraped every second by a Prometheus server that loads
#           the rules; then promtool check metrics on /metrics and tests/ops/check.py live
#           (every rule healthy, every recording rule has a value, every dashboard query runs
#           and returns data, names used exist on /metrics, /metrics documented in README).
#
# Installs what is missing: promtool and prometheus (Debian package `prometheus`, without
# starting its service) and PyYAML. Stops everything it started. About 90 s once built.
set -euo pipefail
cd "$(dirname "$0")/../.."
started=$SECONDS
say() { echo "ops: $*"; }

sudo=
[ "$(id -u)" = 0 ] || sudo=sudo

# --- Tools ------------------------------------------------------------------------------------
if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
  say "installing prometheus and promtool (Debian package prometheus)"
  # Keep the package from starting its service: policy-rc.d (as in Docker images) is obeyed
  # by invoke-rc.d and deb-systemd-invoke alike. Put one in place only for the install.
  policy_added=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod +x /usr/sbin/policy-rc.d
    policy_added=1
  fi
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  [ -z "$policy_added" ] || $sudo rm -f /usr/sbin/policy-rc.d
  if [ -d /run/systemd/system ] && systemctl is-enabled --quiet prometheus 2>/dev/null; then
    $sudo systemctl disable --now prometheus
  fi
fi
if ! python3 -c 'import yaml' 2>/dev/null; then
  say "installing PyYAML"
  python3 -m pip install -q pyyaml 2>/dev/null ||
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-yaml >/dev/null
  python3 -c 'import yaml' || { echo "ops: could not install PyYAML for $(command -v python3)" >&2; exit 1; }
fi
say "$(promtool --version 2>&1 | head -1)"

# --- Static -----------------------------------------------------------------------------------
say "promtool check rules"
promtool check rules deploy/prometheus/rules/*.yml
say "promtool test rules"
for t in deploy/prometheus/tests/*.yml; do
  promtool test rules "$t"
done
say "names, labels, annotations, test coverage, dashboard"
python3 tests/ops/check.py static

say "static checks done ($((SECONDS - started)) s)"

# --- Live -------------------------------------------------------------------------------------
cargo build -q -p nudge
say "nudge built ($((SECONDS - started)) s)"
nudge=$PWD/target/debug/nudge
work=$(mktemp -d -t nudge-ops.XXXXXX)
pids=()
# stop PID: SIGTERM, up to 10 s to finish, then SIGKILL.
stop() {
  kill -TERM "$1" 2>/dev/null || { wait "$1" 2>/dev/null; return 0; }
  for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
# Stop in reverse order of start, each by its pid: nudge run commits and leaves the group
# while the broker still runs.
cleanup() {
  local status=$? i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do stop "${pids[i]}"; done
  if [ "$status" != 0 ]; then
    for log in "$work"/*.log; do
      [ -s "$log" ] && { echo "--- $log (last 20 lines)"; tail -n 20 "$log"; }
    done
  fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# http_wait URL SECONDS: until URL answers 200.
http_wait() {
  python3 - "$1" "$2" <<'PY'
import sys, time, urllib.request
url, deadline = sys.argv[1], time.time() + float(sys.argv[2])
while time.time() < deadline:
    try:
        if urllib.request.urlopen(url, timeout=2).status == 200:
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.2)
sys.exit(f"ops: {url} did not answer 200 in {sys.argv[2]} s")
PY
}
# alive PID NAME: fail when a process we started has exited.
alive() { kill -0 "$1" 2>/dev/null || { echo "ops: $2 exited early" >&2; exit 1; }; }

# Short detector delays and no quiet hours so triggers fire within the run; half the
# customers in the holdout so both arms have triggers and conversions; a short group session
# timeout for a fast start.
cat >"$work/nudge.toml" <<'TOML'
[kafka]
"session.timeout.ms" = "6000"
[session]
timeout = "5m"
[detectors.cart_abandoned]
after = "1m"
[detectors.checkout_abandoned]
after = "1m"
[policy]
quiet_hours = { enabled = false }
holdout_percent = 50
TOML

"$nudge" dev-broker --partitions 2 --config "$work/nudge.toml" >"$work/broker.out" 2>"$work/broker.log" &
pids+=($!)
broker_pid=$!
for _ in $(seq 1 100); do grep -q bootstrap "$work/broker.out" 2>/dev/null && break; sleep 0.1; done
brokers=$(sed -n 's/^bootstrap.servers=//p' "$work/broker.out")
[ -n "$brokers" ] || { echo "ops: nudge dev-broker printed no address" >&2; exit 1; }

mport=$(free_port)
RUST_LOG=warn "$nudge" run --config "$work/nudge.toml" --brokers "$brokers" \
  --metrics-listen "127.0.0.1:$mport" --instance-id ops >"$work/run.log" 2>&1 &
pids+=($!)
run_pid=$!

pport=$(free_port)
cat >"$work/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $PWD/deploy/prometheus/rules/*.yml
scrape_configs:
  - job_name: nudge
    static_configs:
      - targets: ["127.0.0.1:$mport"]
YAML
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$pport" --log.level=warn >"$work/prometheus.log" 2>&1 &
pids+=($!)
prom_pid=$!
prom="http://127.0.0.1:$pport"
metrics="http://127.0.0.1:$mport/metrics"

http_wait "$prom/-/ready" 30
http_wait "http://127.0.0.1:$mport/readyz" 60
say "broker $brokers, nudge run :$mport ready, prometheus :$pport ready ($((SECONDS - started)) s)"

# Malformed (dead-lettered), unknown-type and late records, so those series exist and move.
# The late page view is two hours old: behind the watermark whatever the traffic.
odd_records() {
  local dir=$work/odd$1 ts
  mkdir -p "$dir"
  ts=$(($(date +%s) * 1000 - 7200000))
  {
    echo '{"customer_id": "c-odd-1", "type": "page_view", "ts": '
    echo 'not json at all'
    echo '{"customer_id": "c-odd-2", "type": "teleport", "ts": '"$ts"'}'
    echo '{"customer_id": "c-odd-3", "type": "page_view", "ts": '"$ts"', "path": "/"}'
  } >"$dir/clickstream.ndjson"
  echo '{"type": "open"}' >"$dir/email.ndjson"
  "$nudge" produce --input "$dir" --brokers "$brokers" --config "$work/nudge.toml" 2>>"$work/produce.log"
}

# Three hours of history first (sessions, triggers and their conversions already in flight),
# then live traffic on a clock 30 times faster than the wall clock.
live_for=70
"$nudge" simulate --brokers "$brokers" --config "$work/nudge.toml" --customers 20000 \
  --rate 2000 --speed 30 --history 3h --duration "${live_for}s" >"$work/simulate.log" 2>&1 &
pids+=($!)
sim_pid=$!
odd_records 1
sleep 30
odd_records 2
wait "$sim_pid" || { echo "ops: nudge simulate failed" >&2; exit 1; }
alive "$run_pid" "nudge run"; alive "$prom_pid" prometheus; alive "$broker_pid" "nudge dev-broker"
sleep 5   # the last scrapes and rule evaluations
say "traffic done ($((SECONDS - started)) s)"

say "promtool check metrics on /metrics"
python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1]).read().decode())' \
  "$metrics" >"$work/metrics.txt"
lint=$(promtool check metrics <"$work/metrics.txt" 2>&1) || { echo "$lint"; exit 1; }
[ -z "$lint" ] || { echo "$lint"; echo "ops: promtool check metrics reported problems" >&2; exit 1; }

say "rules, dashboard queries and metric names against the live server"
python3 tests/ops/check.py live --prom "$prom" --metrics "$metrics" --job nudge
say "ok in $((SECONDS - started)) s"
