#!/usr/bin/env bash
# Run the primehub-python-sdk 0.4.2 compatibility checks against a running API server.
#
#   PRIMEHUB_SDK_ENDPOINT=http://127.0.0.1:8080/api/graphql \
#   PRIMEHUB_SDK_TOKEN=<admin access token> tests/sdk/run.sh
#
#   tests/sdk/run.sh --self-test   # the harness's own tests (no server needed)
#
# Installs the SDK once (tools/python-sdk/sdk.sh, cached outside the repository), then runs
# tests/sdk/run_sdk_compat.py with its CLI. Prints `ok <check>` / `FAIL <check>: <why>` lines and
# `sdk: N passed, M failed`; exits non-zero when a check failed. See run_sdk_compat.py --help.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
source <("$root/tools/python-sdk/sdk.sh" env)

if [[ "${1:-}" == "--self-test" ]]; then
  exec "$PRIMEHUB_SDK_PYTHON" -m unittest discover -s "$here" -p 'test_*.py' -v
fi
exec "$PRIMEHUB_SDK_PYTHON" "$here/run_sdk_compat.py" "$@"
