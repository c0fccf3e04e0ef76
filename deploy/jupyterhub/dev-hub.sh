#!/usr/bin/env bash
# Run JupyterHub with PrimeHub's configuration against a running `primehub dev` (README
# "Notebooks on primehub dev"). In the foreground; Ctrl-C stops the hub, its proxy and notebooks.
#
#   deploy/jupyterhub/dev-hub.sh --shared-secret S [--primehub http://127.0.0.1:8080] [--port 8000]
#
# It installs the hub's packages once (tools/jupyterhub/jupyterhub.sh), reads the `jupyterhub`
# client's secret from the fake cluster (Secret hub/primehub-client-jupyterhub), registers
# http://127.0.0.1:<port>/hub/oauth_callback as a redirect URI of that client (Keycloak admin
# REST, master admin/admin as `primehub dev` sets it up), writes the kubeconfig of the fake
# cluster, and starts the hub with deploy/jupyterhub/jupyterhub_config.py. Hub state (database,
# cookie secret) lives in ${PRIMEHUB_CACHE:-$HOME/.cache/primehub-rs}/jupyterhub/dev-hub-<port>/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
primehub="http://127.0.0.1:8080" port=8000 secret="${GRAPHQL_SHARED_SECRET:-}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --primehub) primehub="${2%/}"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --shared-secret) secret="$2"; shift 2 ;;
    *) echo "usage: $0 --shared-secret S [--primehub URL] [--port N]" >&2; exit 2 ;;
  esac
done
[[ -n "$secret" ]] || { echo "--shared-secret: the one given to primehub dev" >&2; exit 2; }
curl -fsS "$primehub/readyz" >/dev/null || { echo "primehub dev does not answer at $primehub" >&2; exit 1; }
# shellcheck disable=SC1090
source <("$root/tools/jupyterhub/jupyterhub.sh" env)
state="${PRIMEHUB_CACHE:-$HOME/.cache/primehub-rs}/jupyterhub/dev-hub-$port"
mkdir -p "$state"
hub="http://127.0.0.1:$port"
client_secret=$("$PRIMEHUB_JUPYTERHUB_PYTHON" - "$primehub" "$hub/hub/oauth_callback" "$state/kubeconfig" <<'PY'
import base64, sys, requests
dev, callback, kubeconfig = sys.argv[1:]
s = requests.get(f"{dev}/api/v1/namespaces/hub/secrets/primehub-client-jupyterhub", timeout=30).json()
token = requests.post(f"{dev}/realms/master/protocol/openid-connect/token", timeout=30, data={
    "grant_type": "password", "client_id": "admin-cli", "username": "admin", "password": "admin"}).json()["access_token"]
h = {"Authorization": f"Bearer {token}"}
url = f"{dev}/admin/realms/primehub/clients"
client = requests.get(url, params={"clientId": "jupyterhub"}, headers=h, timeout=30).json()[0]
if callback not in client.get("redirectUris", []):
    client["redirectUris"] = client.get("redirectUris", []) + [callback]
    requests.put(f"{url}/{client['id']}", json=client, headers=h, timeout=30).raise_for_status()
with open(kubeconfig, "w") as f:
    f.write(f"""apiVersion: v1
kind: Config
clusters: [{{name: primehub-dev, cluster: {{server: "{dev}"}}}}]
users: [{{name: primehub-dev, user: {{}}}}]
contexts: [{{name: primehub-dev, context: {{cluster: primehub-dev, user: primehub-dev, namespace: hub}}}}]
current-context: primehub-dev
""")
print(base64.b64decode(s["data"]["client_secret"]).decode())
PY
)
[[ -f "$state/crypt-key" ]] || "$PRIMEHUB_JUPYTERHUB_PYTHON" -c 'import secrets; print(secrets.token_hex(32))' >"$state/crypt-key"
echo "JupyterHub on $hub (log in with a PrimeHub user, e.g. phadmin)" >&2
export PRIMEHUB_API_URL="$primehub" GRAPHQL_SHARED_SECRET="$secret" KEYCLOAK_URL="$primehub" \
  KEYCLOAK_REALM=primehub KC_CLIENT_SECRET="$client_secret" OAUTH_CALLBACK_URL="$hub/hub/oauth_callback" \
  JUPYTERHUB_CRYPT_KEY="$(cat "$state/crypt-key")" POD_NAMESPACE=hub KUBECONFIG="$state/kubeconfig" \
  PRIMEHUB_HUB_BIND_URL="$hub" PRIMEHUB_HUB_IP=127.0.0.1 PRIMEHUB_HUB_CONNECT_URL="http://127.0.0.1:8081" \
  PRIMEHUB_HUB_STATE_DIR="$state"
cd "$state"
exec jupyterhub -f "$here/jupyterhub_config.py"
