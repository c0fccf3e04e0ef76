#!/usr/bin/env bash
# The same kubectl and Python-client scenarios against the fake cluster (`primehub dev`) and a real
# kube-apiserver, outcomes compared (tests/compat/README.md).
#
#   tests/compat/run.sh [--only REGEX] [--verbose] [--report FILE]
#   tests/compat/run.sh --self-test        # the comparison code's own tests (no server needed)
#
# Needs: kubectl 1.33 ($KUBECTL, or kubectl.1.33 next to gcloud), the primehub binary
# ($PRIMEHUB_BIN, default $CARGO_TARGET_DIR/debug/primehub: `cargo build -p primehub`), and a
# running real kube-apiserver (PRIMEHUB_TEST_KUBECONFIG, or tools/kube-apiserver/apiserver.sh
# env). The Python `kubernetes` client comes from PyPI into a virtualenv outside the repository,
# keyed by version: ${PRIMEHUB_CACHE:-$HOME/.cache/primehub-rs}/venv-compat-<version>.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
export PYTHONDONTWRITEBYTECODE=1   # a clean clone stays clean
root="$(cd "$here/../.." && pwd)"
client_version="${COMPAT_KUBERNETES_CLIENT:-37.0.2}"   # the Python client of Kubernetes 1.37
cache_root="${PRIMEHUB_CACHE:-$HOME/.cache/primehub-rs}"
venv="$cache_root/venv-compat-$client_version"

say() { printf '[compat] %s\n' "$*" >&2; }
die() { printf '[compat] ERROR: %s\n' "$*" >&2; exit 1; }
step_start=$SECONDS
step() { say "$* ($((SECONDS - step_start)) s so far)"; }

# ---- the Python client, once per version
venv_ok() {
  [[ -x "$venv/bin/python" ]] && "$venv/bin/python" - "$client_version" <<'PY' 2>/dev/null
import sys, importlib.metadata as m
import kubernetes, yaml  # noqa: F401  (both must import)
sys.exit(0 if m.version("kubernetes") == sys.argv[1] else 1)
PY
}
if ! venv_ok; then
  say "creating $venv with kubernetes==$client_version (once)"
  rm -rf "$venv"
  mkdir -p "$cache_root"
  python3 -m venv "$venv" || die "python3 -m venv failed (install the venv module)"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "kubernetes==$client_version" \
    || { rm -rf "$venv"; die "pip install kubernetes==$client_version failed"; }
  venv_ok || { rm -rf "$venv"; die "kubernetes $client_version does not import after install"; }
fi
python="$venv/bin/python"

if [[ "${1:-}" == "--self-test" ]]; then
  exec "$python" -m unittest discover -s "$here" -p 'test_*.py' -v
fi

# ---- kubectl 1.33
kubectl="${KUBECTL:-}"
if [[ -z "$kubectl" ]]; then
  gcloud_path="$(command -v gcloud || true)"
  [[ -n "$gcloud_path" ]] && kubectl="$(dirname "$(readlink -f "$gcloud_path")")/kubectl.1.33"
fi
[[ -n "$kubectl" && -x "$kubectl" ]] \
  || die "kubectl 1.33 not found: set KUBECTL, or install the Google Cloud SDK's kubectl.1.33 next to gcloud (looked for '${kubectl:-<no gcloud on PATH>}')"
kubectl_version="$("$kubectl" version --client 2>&1 || true)"
[[ "$kubectl_version" == *"Client Version: v1.33."* ]] || die "$kubectl is not kubectl 1.33: ${kubectl_version%%$'\n'*}"

# ---- the primehub binary
binary="${PRIMEHUB_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/primehub-rs/target}/debug/primehub}"
[[ -x "$binary" ]] || die "no primehub binary at $binary (cargo build -p primehub, or set PRIMEHUB_BIN)"

# ---- the real kube-apiserver
if [[ -z "${PRIMEHUB_TEST_KUBECONFIG:-}" ]]; then
  env_text="$("$root/tools/kube-apiserver/apiserver.sh" env 2>/dev/null)" \
    || die "no real kube-apiserver: start it with tools/kube-apiserver/apiserver.sh start (or set PRIMEHUB_TEST_KUBECONFIG)"
  # shellcheck disable=SC1090
  source <(printf '%s\n' "$env_text")
fi
[[ -r "${PRIMEHUB_TEST_KUBECONFIG:-}" ]] || die "PRIMEHUB_TEST_KUBECONFIG (${PRIMEHUB_TEST_KUBECONFIG:-unset}) is not a readable kubeconfig"
real="$PRIMEHUB_TEST_KUBECONFIG"
"$kubectl" --kubeconfig "$real" get --raw /readyz >/dev/null 2>&1 || die "the real kube-apiserver ($real) is not ready"

# ---- the fake: primehub dev on a free port
work="$(mktemp -d)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
fake="$work/fake.kubeconfig"
"$binary" dev --listen "127.0.0.1:$port" --write-kubeconfig "$fake" --admin-password "compat-$port" >"$work/dev.log" 2>&1 &
dev_pid=$!
cleanup() {
  kill "$dev_pid" 2>/dev/null || true
  wait "$dev_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 1 150); do
  if [[ -s "$fake" ]] && curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then break; fi
  kill -0 "$dev_pid" 2>/dev/null || { cat "$work/dev.log" >&2; die "primehub dev exited"; }
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 || { cat "$work/dev.log" >&2; die "primehub dev did not get ready"; }
step "primehub dev at http://127.0.0.1:$port"

# ---- our CRDs on the real server (the fake serves the primehub.io kinds built in)
"$binary" crds | "$kubectl" --kubeconfig "$real" apply -f - >/dev/null || die "installing the CRDs on the real server failed"
for crd in $("$binary" crds | "$python" -c 'import sys, yaml; [print(d["metadata"]["name"]) for d in yaml.safe_load_all(sys.stdin) if d]'); do
  "$kubectl" --kubeconfig "$real" wait --for=condition=Established --timeout=60s "crd/$crd" >/dev/null \
    || die "CRD $crd is not Established on the real server"
done
step "CRDs installed on the real server"

"$python" "$here/run_compat.py" --fake-kubeconfig "$fake" --real-kubeconfig "$real" --kubectl "$kubectl" \
  --report "${COMPAT_REPORT:-${CARGO_TARGET_DIR:-$cache_root/target}/compat-report.json}" "$@"
