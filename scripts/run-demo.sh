#!/usr/bin/env bash
# Demo: svcnet apiserver + controller-manager until Ctrl-C (issue 4 replaces
# this with `svcnet up`, the multi-node cluster in network namespaces).
# Both processes are stopped by their PIDs on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-.data/demo}
PORT=${PORT:-6443}
mkdir -p "$DATA"
rm -f "$DATA/kubeconfig"
.venv/bin/svcnet apiserver --data-dir "$DATA" --listen "127.0.0.1:$PORT" &
API=$!
CM=""
cleanup() {
  [ -n "$CM" ] && kill "$CM" 2>/dev/null || true
  kill "$API" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM
for _ in $(seq 100); do [ -f "$DATA/kubeconfig" ] && break; sleep 0.1; done
[ -f "$DATA/kubeconfig" ] || { echo "apiserver did not start" >&2; exit 1; }
.venv/bin/svcnet controller-manager --socket "$DATA/api.sock" --metrics-addr 127.0.0.1:0 &
CM=$!
cat <<MSG

svcnet is running (API server + controller-manager). In another shell:

  export KUBECONFIG=$(realpath "$DATA")/kubeconfig
  kubectl get namespaces
  kubectl create deployment web --image=svcnet/netexec --replicas=3
  kubectl expose deployment web --port=80 --target-port=8080 --type=NodePort
  kubectl get deploy,rs,pods,svc,endpointslices -o wide

Pods stay Pending until a node joins (node agents come with 'svcnet up').
Press Ctrl-C to stop.
MSG
wait "$API"
