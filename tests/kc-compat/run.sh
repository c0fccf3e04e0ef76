#!/usr/bin/env bash
# The same python-keycloak, Authlib and scripted-browser scenarios against the fake Keycloak of
# `primehub dev` and a real Keycloak 26, outcomes compared (tests/kc-compat/README.md).
#
#   tests/kc-compat/run.sh [--only REGEX] [--verbose] [--report FILE] [--jobs N]
#   tests/kc-compat/run.sh --self-test        # the comparison code's own tests (no server needed)
#
# Needs: the primehub binary ($PRIMEHUB_BIN, default $CARGO_TARGET_DIR/debug/primehub:
# `cargo build -p primehub`) and a running real Keycloak (PRIMEHUB_TEST_KEYCLOAK_URL/_ADMIN/
# _PASSWORD, or tools/keycloak/keycloak.sh env). The clients come from PyPI into a virtualenv
# outside the repository, keyed by their versions:
# ${PRIMEHUB_CACHE:-$HOME/.cache/primehub-rs}/venv-kc-compat-<versions>.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
export PYTHONDONTWRITEBYTECODE=1   # a clean clone stays clean
root="$(cd "$here/../.." && pwd)"
# pinned clients (KC_COMPAT_PYTHON_KEYCLOAK / _AUTHLIB / _REQUESTS override)
pk_version="${KC_COMPAT_PYTHON_KEYCLOAK:-7.1.1}"
authlib_version="${KC_COMPAT_AUTHLIB:-1.9.10}"
requests_version="${KC_COMPAT_REQUESTS:-2.34.2}"
cache_root="${PRIMEHUB_CACHE:-$HOME/.cache/primehub-rs}"
venv="$cache_root/venv-kc-compat-pk$pk_version-authlib$authlib_version-requests$requests_version"

say() { printf '[kc-compat] %s\n' "$*" >&2; }
die() { printf '[kc-compat] ERROR: %s\n' "$*" >&2; exit 1; }
step_start=$SECONDS
step() { say "$* ($((SECONDS - step_start)) s so far)"; }

# ---- the clients, once per set of versions
venv_ok() {
  [[ -x "$venv/bin/python" ]] && "$venv/bin/python" - "$pk_version" "$authlib_version" "$requests_version" <<'PY' 2>/dev/null
import sys, importlib.metadata as m
import keycloak, authlib, requests  # noqa: F401  (all must import)
want = dict(zip(("python-keycloak", "Authlib", "requests"), sys.argv[1:]))
sys.exit(0 if all(m.version(p) == v for p, v in want.items()) else 1)
PY
}
if ! venv_ok; then
  say "creating $venv (once)"
  rm -rf "$venv"
  mkdir -p "$cache_root"
  python3 -m venv "$venv" || die "python3 -m venv failed (install the venv module)"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "python-keycloak==$pk_version" "Authlib==$authlib_version" "requests==$requests_version" \
    || { rm -rf "$venv"; die "pip install of python-keycloak $pk_version, Authlib $authlib_version, requests $requests_version failed"; }
  venv_ok || { rm -rf "$venv"; die "the clients do not import after install"; }
fi
python="$venv/bin/python"

if [[ "${1:-}" == "--self-test" ]]; then
  exec "$python" -m unittest discover -s "$here" -p 'test_*.py' -v
fi

# ---- the primehub binary
binary="${PRIMEHUB_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/primehub-rs/target}/debug/primehub}"
[[ -x "$binary" ]] || die "no primehub binary at $binary (cargo build -p primehub, or set PRIMEHUB_BIN)"

# ---- the real Keycloak
if [[ -z "${PRIMEHUB_TEST_KEYCLOAK_URL:-}" ]]; then
  env_text="$("$root/tools/keycloak/keycloak.sh" env 2>/dev/null)" \
    || die "no real Keycloak: start it with tools/keycloak/keycloak.sh start (or set PRIMEHUB_TEST_KEYCLOAK_URL/_ADMIN/_PASSWORD)"
  # shellcheck disable=SC1090
  source <(printf '%s\n' "$env_text")
fi
real="${PRIMEHUB_TEST_KEYCLOAK_URL%/}"
real_admin="${PRIMEHUB_TEST_KEYCLOAK_ADMIN:-admin}"
real_password="${PRIMEHUB_TEST_KEYCLOAK_PASSWORD:-}"
curl -fsS "$real/realms/master" >/dev/null 2>&1 || die "the real Keycloak at $real does not answer"

# ---- one realm name and one phadmin password for both targets
realm="kcc-$("$python" -c 'import secrets; print(secrets.token_hex(4))')"
admin_password="Kcc-$("$python" -c 'import secrets; print(secrets.token_urlsafe(12))')"
work="$(mktemp -d)"
printf '%s' "$admin_password" >"$work/admin-password"
printf '%s' "$real_password" >"$work/master-password"
dev_pid=""
realm_created=""
cleanup() {
  if [[ -n "$dev_pid" ]]; then
    kill "$dev_pid" 2>/dev/null || true
    wait "$dev_pid" 2>/dev/null || true
  fi
  if [[ -n "$realm_created" ]]; then
    # the realm this run created on the shared real Keycloak goes again
    "$python" - "$real" "$real_admin" "$work/master-password" "$realm" <<'PY' >/dev/null 2>&1 || true
import sys, requests
url, user, password_file, realm = sys.argv[1:]
token = requests.post(f"{url}/realms/master/protocol/openid-connect/token", timeout=30,
                      data={"grant_type": "password", "client_id": "admin-cli", "username": user,
                            "password": open(password_file).read()}).json()["access_token"]
requests.delete(f"{url}/admin/realms/{realm}", headers={"Authorization": f"Bearer {token}"}, timeout=60)
PY
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# ---- the fake: primehub dev on a free port, realm $realm
port=$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
fake="http://127.0.0.1:$port"
"$binary" dev --listen "127.0.0.1:$port" --realm "$realm" --admin-password "$admin_password" >"$work/dev.log" 2>&1 &
dev_pid=$!
for _ in $(seq 1 150); do
  if curl -fsS "$fake/readyz" >/dev/null 2>&1; then break; fi
  kill -0 "$dev_pid" 2>/dev/null || { cat "$work/dev.log" >&2; die "primehub dev exited"; }
  sleep 0.2
done
curl -fsS "$fake/readyz" >/dev/null 2>&1 || { cat "$work/dev.log" >&2; die "primehub dev did not get ready"; }
step "primehub dev at $fake, realm $realm"

# ---- the real side: the same realm shape, set up by `primehub bootstrap`
realm_created=1
PRIMEHUB_KEYCLOAK_MASTER_PASSWORD="$real_password" "$binary" bootstrap --keycloak-url "$real" --realm "$realm" \
  --master-user "$real_admin" --admin-password-file "$work/admin-password" --json >"$work/bootstrap.json" 2>"$work/bootstrap.log" \
  || { cat "$work/bootstrap.log" >&2; die "primehub bootstrap of realm $realm on $real failed"; }
step "realm $realm bootstrapped on the real Keycloak at $real"

"$python" "$here/run_kc_compat.py" --fake-url "$fake" --real-url "$real" --realm "$realm" \
  --admin-password "$admin_password" --real-master "$real_admin:$real_password" \
  --report "${KC_COMPAT_REPORT:-${CARGO_TARGET_DIR:-$cache_root/target}/kc-compat-report.json}" "$@"
