#!/usr/bin/env bash
# Install and describe JupyterHub for the notebook tests (tests/notebooks/) and for running
# notebooks on `primehub dev` (deploy/jupyterhub/README.md). Nothing is started here.
#
#   tools/jupyterhub/jupyterhub.sh install   # create the virtualenv and the proxy once (idempotent)
#   tools/jupyterhub/jupyterhub.sh env       # print exports (source it: `source <(… env)`); installs if needed
#   tools/jupyterhub/jupyterhub.sh path      # print the virtualenv directory; installs if needed
#
# From PyPI, pinned, into ONE virtualenv outside the repository keyed by the pinned versions:
#   jupyterhub, jupyterhub-kubespawner, oauthenticator (the hub), jupyter_server + ipykernel (the
#   single-user server `jupyterhub-singleuser` that `primehub dev` runs for each notebook pod, and
#   its kernel), requests + beautifulsoup4 (the end-to-end test's scripted browser).
# From npm, pinned: configurable-http-proxy (the hub's proxy), into a prefix keyed by its version.
#   ${PRIMEHUB_CACHE:-$HOME/.cache/primehub-rs}/jupyterhub/venv-<versions>/
#   ${PRIMEHUB_CACHE:-$HOME/.cache/primehub-rs}/jupyterhub/chp-<version>/
# A virtualenv whose packages do not import, or have other versions, is rebuilt.
#
# The env output exports PATH (the venv's bin and the proxy's bin first: `jupyterhub`,
# `jupyterhub-singleuser`, `configurable-http-proxy`), PRIMEHUB_JUPYTERHUB_VENV,
# PRIMEHUB_JUPYTERHUB_PYTHON, PRIMEHUB_JUPYTERHUB_CHP (the proxy command) and
# PRIMEHUB_DEV_NOTEBOOK_COMMAND (the venv's jupyterhub-singleuser, for `primehub dev`).
#
# Environment (versions):
#   JUPYTERHUB_VERSION (6.1.1)  KUBESPAWNER_VERSION (7.1.0)  OAUTHENTICATOR_VERSION (17.4.0)
#   JUPYTER_SERVER_VERSION (2.21.1)  IPYKERNEL_VERSION (7.4.0)  REQUESTS_VERSION (2.34.2)
#   BEAUTIFULSOUP_VERSION (4.15.0)  CHP_VERSION (5.3.0)
#   PYTHON   Python >= 3.9 to build the virtualenv with (default python3)
#   NPM      npm to install the proxy with (default npm; Node.js >= 18)
#   PRIMEHUB_CACHE   cache root (default $HOME/.cache/primehub-rs)
set -euo pipefail

hub_version="${JUPYTERHUB_VERSION:-6.1.1}"
ks_version="${KUBESPAWNER_VERSION:-7.1.0}"
oa_version="${OAUTHENTICATOR_VERSION:-17.4.0}"
js_version="${JUPYTER_SERVER_VERSION:-2.21.1}"
ik_version="${IPYKERNEL_VERSION:-7.4.0}"
rq_version="${REQUESTS_VERSION:-2.34.2}"
bs_version="${BEAUTIFULSOUP_VERSION:-4.15.0}"
chp_version="${CHP_VERSION:-5.3.0}"
python="${PYTHON:-python3}"
npm="${NPM:-npm}"
cache_root="${PRIMEHUB_CACHE:-$HOME/.cache/primehub-rs}"
key="hub$hub_version-ks$ks_version-oa$oa_version-js$js_version-ik$ik_version-rq$rq_version-bs$bs_version"
venv="$cache_root/jupyterhub/venv-$key"
chp_prefix="$cache_root/jupyterhub/chp-$chp_version"
chp="$chp_prefix/node_modules/.bin/configurable-http-proxy"

say() { printf '[jupyterhub] %s\n' "$*" >&2; }
die() { printf '[jupyterhub] ERROR: %s\n' "$*" >&2; exit 1; }

pins() {
  printf '%s\n' "jupyterhub==$hub_version" "jupyterhub-kubespawner==$ks_version" \
    "oauthenticator==$oa_version" "jupyter_server==$js_version" "ipykernel==$ik_version" \
    "requests==$rq_version" "beautifulsoup4==$bs_version"
}

# A stamp with the pins, written after the imports succeeded once, makes `env` and `path` fast;
# `install` checks the imports again.
stamp="$venv/.primehub-pins"

venv_ok() {
  [[ -x "$venv/bin/python" && -x "$venv/bin/jupyterhub" && -x "$venv/bin/jupyterhub-singleuser" ]] || return 1
  if [[ "${1:-}" == quick && -f "$stamp" && "$(cat "$stamp")" == "$(pins)" ]]; then return 0; fi
  "$venv/bin/python" - $(pins) <<'PY' 2>/dev/null
import sys, importlib.metadata as m
import jupyterhub, kubespawner, oauthenticator, jupyter_server, ipykernel, requests, bs4  # noqa: F401
want = dict(a.split("==") for a in sys.argv[1:])
sys.exit(0 if all(m.version(p) == v for p, v in want.items()) else 1)
PY
}

chp_ok() {
  [[ -x "$chp" ]] && [[ "$("$chp" --version 2>/dev/null)" == "$chp_version" ]]
}

ensure_venv() {
  if venv_ok "${1:-}"; then pins >"$stamp"; return; fi
  command -v "$python" >/dev/null 2>&1 || die "$python not found (set PYTHON)"
  say "creating $venv (once): $(pins | tr '\n' ' ')"
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  "$python" -m venv "$venv" || die "python -m venv failed (install the venv module)"
  # shellcheck disable=SC2046
  if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check $(pins); then
    rm -rf "$venv"; die "pip install failed"
  fi
  venv_ok || { rm -rf "$venv"; die "the packages do not import after install"; }
  pins >"$stamp"
}

ensure_chp() {
  chp_ok && return
  command -v "$npm" >/dev/null 2>&1 || die "$npm not found (install Node.js >= 18, or set NPM)"
  say "installing configurable-http-proxy@$chp_version into $chp_prefix (once)"
  rm -rf "$chp_prefix"
  mkdir -p "$chp_prefix"
  if ! "$npm" install --prefix "$chp_prefix" --no-audit --no-fund --loglevel=error \
      "configurable-http-proxy@$chp_version" >&2; then
    rm -rf "$chp_prefix"; die "npm install configurable-http-proxy@$chp_version failed"
  fi
  chp_ok || { rm -rf "$chp_prefix"; die "configurable-http-proxy $chp_version does not run after install"; }
}

cmd_install() {
  ensure_venv
  ensure_chp
  say "JupyterHub $hub_version, KubeSpawner $ks_version, oauthenticator $oa_version in $venv"
  say "configurable-http-proxy $chp_version at $chp"
  echo "$venv"
}

cmd_env() {
  ensure_venv quick
  ensure_chp
  cat <<ENV
export PATH="$venv/bin:$chp_prefix/node_modules/.bin:\$PATH"
export PRIMEHUB_JUPYTERHUB_VENV=$venv
export PRIMEHUB_JUPYTERHUB_PYTHON=$venv/bin/python
export PRIMEHUB_JUPYTERHUB_CHP=$chp
export PRIMEHUB_DEV_NOTEBOOK_COMMAND=$venv/bin/jupyterhub-singleuser
ENV
}

cmd_path() {
  ensure_venv quick
  echo "$venv"
}

case "${1:-}" in
  install) cmd_install ;;
  env) cmd_env ;;
  path) cmd_path ;;
  *) echo "usage: $0 install|env|path" >&2; exit 2 ;;
esac
