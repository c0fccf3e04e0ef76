# JupyterHub configuration for PrimeHub (deploy/jupyterhub/README.md).
#
# Everything deployment-specific comes from the environment, so the same file serves
# `primehub dev` on a laptop and a cluster (Zero-to-JupyterHub loads primehub_hub.py and the
# same settings through values-z2jh.yaml instead):
#
#   PRIMEHUB_API_URL             PrimeHub's API server (GraphQL at /api/graphql, /api/notebook/*)
#   PRIMEHUB_GRAPHQL_ENDPOINT    optional, default $PRIMEHUB_API_URL/api/graphql
#   GRAPHQL_SHARED_SECRET        the shared secret of server-to-server callers
#   KEYCLOAK_URL                 Keycloak as the hub reaches it
#   KEYCLOAK_APP_URL             Keycloak as browsers reach it (default KEYCLOAK_URL)
#   KEYCLOAK_REALM               the realm (default primehub)
#   KC_CLIENT_SECRET             the secret of the realm's `jupyterhub` client
#                                (Secret hub/primehub-client-jupyterhub, key client_secret)
#   OAUTH_CALLBACK_URL           https://<hub>/hub/oauth_callback (a redirect URI of the client)
#   JUPYTERHUB_CRYPT_KEY         32 bytes hex: encrypts auth_state (required by JupyterHub)
#   POD_NAMESPACE                where notebook pods go (default hub)
#   PRIMEHUB_HUB_BIND_URL        optional: where the proxy listens (default http://:8000)
#   PRIMEHUB_HUB_CONNECT_URL     optional: how notebook servers reach the hub API
#   PRIMEHUB_HUB_IP, PRIMEHUB_HUB_PORT   optional: where the hub API listens
#   PRIMEHUB_START_TIMEOUT       optional: seconds a notebook may take to answer (default 300)
#   PRIMEHUB_KERNEL_GATEWAY, PRIMEHUB_SSH_SERVER   "true" to offer those options
#   PRIMEHUB_HUB_STATE_DIR       optional: directory of the hub's database and cookie secret
# The Kubernetes API comes from the pod's service account, or KUBECONFIG outside a cluster.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from primehub_hub import PrimeHubAuthenticator, PrimeHubSpawner  # noqa: E402

c = get_config()  # noqa: F821  (JupyterHub's config loader provides it)
env = os.environ.get


def flag(name):
    return env(name, "").lower() in ("1", "true", "yes", "on")


# -- PrimeHub's API
c.PrimeHub.api_url = env("PRIMEHUB_API_URL", "")
if env("PRIMEHUB_GRAPHQL_ENDPOINT"):
    c.PrimeHub.graphql_endpoint = env("PRIMEHUB_GRAPHQL_ENDPOINT")
c.PrimeHub.shared_secret = env("GRAPHQL_SHARED_SECRET", "")

# -- Login: OIDC code flow with the realm's `jupyterhub` client
c.JupyterHub.authenticator_class = PrimeHubAuthenticator
c.PrimeHubAuthenticator.keycloak_url = env("KEYCLOAK_URL", "")
if env("KEYCLOAK_APP_URL"):
    c.PrimeHubAuthenticator.keycloak_app_url = env("KEYCLOAK_APP_URL")
c.PrimeHubAuthenticator.realm = env("KEYCLOAK_REALM", "primehub")
c.PrimeHubAuthenticator.client_secret = env("KC_CLIENT_SECRET", "")
# oauthenticator reads OAUTH_CALLBACK_URL itself.

# -- Notebook pods: KubeSpawner with PrimeHub's parts
c.JupyterHub.spawner_class = PrimeHubSpawner
c.KubeSpawner.namespace = env("POD_NAMESPACE", "hub")
c.PrimeHubSpawner.enable_kernel_gateway = flag("PRIMEHUB_KERNEL_GATEWAY")
c.PrimeHubSpawner.enable_ssh_server = flag("PRIMEHUB_SSH_SERVER")
c.Spawner.start_timeout = int(env("PRIMEHUB_START_TIMEOUT", "300"))
c.Spawner.http_timeout = 30
c.Spawner.cmd = ["jupyterhub-singleuser"]

# -- Where the hub listens (defaults are JupyterHub's)
if env("PRIMEHUB_HUB_BIND_URL"):
    c.JupyterHub.bind_url = env("PRIMEHUB_HUB_BIND_URL")
if env("PRIMEHUB_HUB_IP"):
    c.JupyterHub.hub_ip = env("PRIMEHUB_HUB_IP")
if env("PRIMEHUB_HUB_PORT"):
    c.JupyterHub.hub_port = int(env("PRIMEHUB_HUB_PORT"))
if env("PRIMEHUB_HUB_CONNECT_URL"):
    c.JupyterHub.hub_connect_url = env("PRIMEHUB_HUB_CONNECT_URL")
if env("PRIMEHUB_HUB_STATE_DIR"):
    state = env("PRIMEHUB_HUB_STATE_DIR")
    c.JupyterHub.db_url = f"sqlite:///{state}/jupyterhub.sqlite"
    c.JupyterHub.cookie_secret_file = f"{state}/jupyterhub_cookie_secret"
    c.ConfigurableHTTPProxy.pid_file = f"{state}/jupyterhub-proxy.pid"
