#!/usr/bin/env bash
# Install and describe the public PrimeHub Python SDK (PyPI `primehub-python-sdk`) for the
# compatibility tests (tests/sdk/). Nothing is started: the SDK is a client.
#
#   tools/python-sdk/sdk.sh install   # create the virtualenv once (idempotent), print where it is
#   tools/python-sdk/sdk.sh env       # print exports (source it: `source <(… env)`); installs if needed
#   tools/python-sdk/sdk.sh path      # print the virtualenv directory; installs if needed
#
# The SDK comes from PyPI, installed ONCE into a virtualenv outside the repository, keyed by
# version: ${PRIMEHUB_CACHE:-$HOME/.cache/primehub-rs}/python-sdk/<version>/venv/. A venv whose
# package does not import, or has another version, is rebuilt.
#
# The env output exports PRIMEHUB_SDK_VENV (the virtualenv), PRIMEHUB_SDK_CLI (its `primehub`
# entry point), PRIMEHUB_SDK_PYTHON (its python) and PRIMEHUB_SDK_VERSION.
#
# Environment:
#   PRIMEHUB_SDK_VERSION   primehub-python-sdk version (default 0.4.2)
#   PYTHON                 Python >= 3.7 to build the virtualenv with (default python3)
#   PRIMEHUB_CACHE         cache root (default $HOME/.cache/primehub-rs)
set -euo pipefail

version="${PRIMEHUB_SDK_VERSION:-0.4.2}"
python="${PYTHON:-python3}"
cache_root="${PRIMEHUB_CACHE:-$HOME/.cache/primehub-rs}"
venv="$cache_root/python-sdk/$version/venv"

say() { printf '[python-sdk] %s\n' "$*" >&2; }
die() { printf '[python-sdk] ERROR: %s\n' "$*" >&2; exit 1; }

installed_ok() {
  [[ -x "$venv/bin/python" && -x "$venv/bin/primehub" ]] || return 1
  local got
  got=$("$venv/bin/python" - <<'PY' 2>/dev/null
import importlib.metadata as m
import primehub  # noqa: F401  (the package must import, not only be recorded)
print(m.version("primehub-python-sdk"))
PY
) || return 1
  [[ "$got" == "$version" ]]
}

ensure_venv() {
  installed_ok && return
  command -v "$python" >/dev/null 2>&1 || die "$python not found (set PYTHON)"
  say "creating $venv with primehub-python-sdk==$version (once)"
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  "$python" -m venv "$venv" || die "python -m venv failed (install the venv module)"
  if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "primehub-python-sdk==$version"; then
    rm -rf "$venv"; die "pip install primehub-python-sdk==$version failed"
  fi
  installed_ok || { rm -rf "$venv"; die "primehub-python-sdk $version not importable after install"; }
}

cmd_install() {
  ensure_venv
  say "primehub-python-sdk $version in $venv (CLI $venv/bin/primehub)"
  echo "$venv"
}

cmd_env() {
  ensure_venv
  cat <<ENV
export PRIMEHUB_SDK_VERSION=$version
export PRIMEHUB_SDK_VENV=$venv
export PRIMEHUB_SDK_PYTHON=$venv/bin/python
export PRIMEHUB_SDK_CLI=$venv/bin/primehub
ENV
}

cmd_path() {
  ensure_venv
  echo "$venv"
}

case "${1:-}" in
  install) cmd_install ;;
  env) cmd_env ;;
  path) cmd_path ;;
  *) echo "usage: $0 install|env|path" >&2; exit 2 ;;
esac
