#!/usr/bin/env bash
# End-to-end test of PrimeHub's notebook path on `primehub dev` with real JupyterHub,
# KubeSpawner, oauthenticator and configurable-http-proxy (tests/notebooks/README.md).
#
#   tests/notebooks/run.sh [path/to/primehub] [--keep-logs DIR] [--no-kernel]
#   tests/notebooks/run.sh [path/to/primehub] --real [--keep-logs DIR]
#
# --real: the same login and spawn with the notebook pods on the real kube-apiserver of
# tools/kube-apiserver/apiserver.sh (started by .ci/run; its env is read here when
# PRIMEHUB_TEST_KUBECONFIG is unset) and primehub-webhook registered there ($PRIMEHUB_WEBHOOK_BIN,
# else primehub-webhook beside the primehub binary); kubectl from $KUBECTL, else the 1.33 beside
# gcloud. It stops at admission: that server has no kubelet.
#
# The primehub binary defaults to $PRIMEHUB_BIN, else $CARGO_TARGET_DIR/debug/primehub. The hub's
# packages come from tools/jupyterhub/jupyterhub.sh (a virtualenv and an npm prefix cached
# outside the repository, installed on first use). Every process the test starts is stopped
# when it ends, whatever happens.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export PYTHONDONTWRITEBYTECODE=1   # a clean clone stays clean

binary="${PRIMEHUB_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/primehub-rs/target}/debug/primehub}"
if [[ $# -gt 0 && "$1" != --* ]]; then binary="$1"; shift; fi
[[ -x "$binary" ]] || { echo "no primehub binary at $binary (cargo build -p primehub)" >&2; exit 2; }

extra=()
for arg in "$@"; do
  if [[ "$arg" == --real ]]; then
    webhook="${PRIMEHUB_WEBHOOK_BIN:-$(dirname "$binary")/primehub-webhook}"
    [[ -x "$webhook" ]] || { echo "no primehub-webhook binary at $webhook (cargo build -p primehub-webhook)" >&2; exit 2; }
    extra=(--webhook "$webhook")
    if [[ -z "${PRIMEHUB_TEST_KUBECONFIG:-}" ]]; then
      # shellcheck disable=SC1090
      source <("$root/tools/kube-apiserver/apiserver.sh" env)
    fi
  fi
done

# jupyterhub, jupyterhub-singleuser (which primehub dev runs for each notebook pod) and
# configurable-http-proxy first on PATH
# shellcheck disable=SC1090
source <("$root/tools/jupyterhub/jupyterhub.sh" env)
exec "$PRIMEHUB_JUPYTERHUB_PYTHON" "$here/notebooks_e2e.py" --primehub "$binary" "${extra[@]}" "$@"
