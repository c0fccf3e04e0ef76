#!/usr/bin/env bash
# End-to-end test of PrimeHub's notebook path on `primehub dev` with real JupyterHub,
# KubeSpawner, oauthenticator and configurable-http-proxy (tests/notebooks/README.md).
#
#   tests/notebooks/run.sh [path/to/primehub] [--keep-logs DIR] [--no-kernel]
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

# jupyterhub, jupyterhub-singleuser (which primehub dev runs for each notebook pod) and
# configurable-http-proxy first on PATH
# shellcheck disable=SC1090
source <("$root/tools/jupyterhub/jupyterhub.sh" env)
exec "$PRIMEHUB_JUPYTERHUB_PYTHON" "$here/notebooks_e2e.py" --primehub "$binary" "$@"
