#!/usr/bin/env bash
# Runs the primehub-python-sdk 0.4.2 compatibility harness against a fresh `primehub dev`:
# starts it on a free loopback port with the demo seed, waits for /readyz, takes an API token
# from POST /api/token (an offline token, as PrimeHub's console issues them), runs
# tests/sdk/run.sh with it (and with the fake cluster's Kubernetes API on the same listener, which
# the job checks use to play the job controller), and stops the server whatever happens.
#
# Usage: tests/sdk/against_dev.sh [path/to/primehub]   (default: $CARGO_TARGET_DIR/debug/primehub)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
binary="${1:-${CARGO_TARGET_DIR:-$HOME/.cache/primehub-rs/target}/debug/primehub}"
[[ -x "$binary" ]] || { echo "no primehub binary at $binary (cargo build -p primehub)" >&2; exit 2; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
password="sdk-$(python3 -c 'import secrets; print(secrets.token_hex(8))')"
log=$(mktemp)
"$binary" dev --listen "127.0.0.1:$port" --admin-password "$password" >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -f "$log"' EXIT

for _ in $(seq 1 100); do
  if curl -fsS "$url/readyz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then echo "primehub dev exited:" >&2; cat "$log" >&2; exit 1; fi
  sleep 0.2
done
curl -fsS "$url/readyz" >/dev/null || { echo "primehub dev did not get ready:" >&2; cat "$log" >&2; exit 1; }

token=$(curl -fsS -X POST --data-urlencode "username=phadmin" --data-urlencode "password=$password" "$url/api/token" \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["apiToken"])')
echo "primehub dev at $url; running the SDK with an API token"
PRIMEHUB_SDK_ENDPOINT="$url/api/graphql" PRIMEHUB_SDK_TOKEN="$token" PRIMEHUB_SDK_KUBE_URL="$url" \
  PRIMEHUB_SDK_NAMESPACE=hub "$here/run.sh"
