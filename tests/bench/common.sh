# Shared by the bench scripts (sourced, not run): a work directory and the processes started,
# both cleaned up on exit, and the helpers that start things.
#
#   bench_setup NAME    sets $work (a fresh temporary directory) and $nudge (the release build)
#   pids+=($!)          stops a background process on exit
#   free_port           prints a free TCP port on 127.0.0.1
#   start_dev_broker P  starts `nudge dev-broker` with P partitions and $work/nudge.toml, sets
#                       $brokers

bench_setup() {
  cargo build --release -q -p nudge
  nudge=target/release/nudge
  work=$(mktemp -d -t "nudge-$1.XXXXXX")
  pids=()
  trap bench_cleanup EXIT
}

bench_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_dev_broker() {
  "$nudge" dev-broker --partitions "$1" --config "$work/nudge.toml" >"$work/dev.out" 2>/dev/null &
  pids+=($!)
  for _ in $(seq 1 50); do grep -q bootstrap "$work/dev.out" 2>/dev/null && break; sleep 0.1; done
  brokers=$(sed -n 's/bootstrap.servers=//p' "$work/dev.out")
}
