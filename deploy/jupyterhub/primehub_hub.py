"""PrimeHub's JupyterHub integration, thin: the rules live in PrimeHub's API.

Three classes, configured by ``jupyterhub_config.py`` (which reads the environment):

``PrimeHub``
    The API client: ``/api/graphql`` (the launch-context query), ``GET /api/notebook/groups``
    (the options form) and ``POST /api/notebook/pod`` (PrimeHub's parts of the pod), all sent
    with ``Authorization: Bearer <shared secret>`` and the user's Keycloak id.

``PrimeHubAuthenticator`` (oauthenticator's ``GenericOAuthenticator``)
    OpenID Connect code flow with the realm's ``jupyterhub`` client; the hub user name is the
    ``preferred_username`` claim. On login and on every refresh it runs PrimeHub's
    launch-context query and keeps the answer in ``auth_state`` (``launch_context`` = the
    user, ``system``; ``error = "API_UNAVAILABLE"`` when the API does not answer), and the
    user is a hub admin exactly when ``launch_context.isAdmin`` is true.

``PrimeHubSpawner`` (KubeSpawner)
    The options form lists what ``GET /api/notebook/groups`` answers (the user's groups except
    ``everyone``, with ``everyone``'s instance types and images merged in, usage and quota).
    Before KubeSpawner makes the PVC and the pod (``load_user_options``, KubeSpawner's hook for
    user options), it asks ``POST /api/notebook/pod`` for the chosen group, instance type,
    image and options, with KubeSpawner's own pod name, home volume and claim names, and sets
    KubeSpawner's traits from the answer. KubeSpawner keeps its pod name, its labels and the
    ``JUPYTERHUB_*`` environment. The container's ``resources`` are put on the container as
    PrimeHub computed them (``extra_container_config``), so the admission webhook counts
    exactly what PrimeHub's quota code counts. The launch group is kept in the spawner state.

Denials are shown in words: an error of the API (``{"code", "field", "message"}``) and the
admission webhook's refusal of the pod (the Kubernetes API's 4xx on pod create) end the spawn
with an exception whose ``jupyterhub_message`` is that text; JupyterHub shows it on the spawn
form (when the spawn fails before ``slow_spawn_timeout``) or on the spawn-pending page and the
home page ("Spawn failed: ...").
"""

import copy
import html
import json
import urllib.parse

from kubernetes_asyncio.client.rest import ApiException
from kubespawner import KubeSpawner
from oauthenticator.generic import GenericOAuthenticator
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from traitlets import Bool, Float, Unicode, default
from traitlets.config import LoggingConfigurable

# PrimeHub's launch-context query (InfuseAI/primehub jupyterhub_profiles.py,
# GRAPHQL_LAUNCH_CONTEXT_QUERY), sent exactly as PrimeHub's hub sends it.
GRAPHQL_LAUNCH_CONTEXT_QUERY = '''query ($id: ID!) {
                    system { defaultUserVolumeCapacity }
                    user (where: { id: $id }) { id username isAdmin volumeCapacity
                    groups {
                            id
                            name
                            displayName
                            enabledSharedVolume
                            sharedVolumeCapacity
                            homeSymlink
                            launchGroupOnly
                            quotaCpu
                            quotaGpu
                            quotaMemory
                            projectQuotaCpu
                            projectQuotaGpu
                            projectQuotaMemory
                            instanceTypes { name displayName description spec global }
                            images { name displayName description spec global }
                            datasets { name displayName description spec global writable mountRoot homeSymlink launchGroupOnly }
                        }
                } }'''

# What PrimeHub's hub stores in auth_state when the API does not answer.
API_UNAVAILABLE = "API_UNAVAILABLE"


class PrimeHubError(web.HTTPError):
    """A refusal to show the user as it is: ``jupyterhub_message`` is what JupyterHub displays
    (on the spawn form, the spawn-pending page and the home page)."""

    def __init__(self, status_code, message, code=None):
        super().__init__(status_code, log_message=message.replace("%", "%%"))
        self.code = code
        self.jupyterhub_message = message

    def __str__(self):
        return self.jupyterhub_message


class PrimeHub(LoggingConfigurable):
    """PrimeHub's API as the hub calls it (server to server, with the shared secret)."""

    api_url = Unicode(
        "", config=True,
        help="Base URL of PrimeHub's API server (``/api/notebook/*`` is under it), e.g. "
             "http://primehub-graphql.hub or the URL of `primehub dev`.",
    )
    graphql_endpoint = Unicode(
        "", config=True, help="PrimeHub's GraphQL endpoint (default ``<api_url>/api/graphql``).",
    )
    shared_secret = Unicode(
        "", config=True,
        help="The shared secret of server-to-server callers (PrimeHub's GRAPHQL_SHARED_SECRET).",
    )
    request_timeout = Float(30.0, config=True, help="Seconds to wait for an answer of the API.")

    @default("graphql_endpoint")
    def _graphql_endpoint_default(self):
        return self.api_url.rstrip("/") + "/api/graphql"

    async def _call(self, method, url, body=None):
        request = HTTPRequest(
            url,
            method=method,
            headers={
                "Authorization": f"Bearer {self.shared_secret}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
            body=None if body is None else json.dumps(body),
            request_timeout=self.request_timeout,
        )
        try:
            response = await AsyncHTTPClient().fetch(request)
        except HTTPClientError as e:
            raise self._error(e) from None
        except OSError as e:
            raise PrimeHubError(503, f"PrimeHub's API is unavailable: {e}", API_UNAVAILABLE) from None
        return json.loads(response.body.decode("utf-8"))

    def _error(self, e):
        """The API's ``{"code", "field", "message"}`` as a PrimeHubError with its message."""
        status = e.code
        body = e.response.body if e.response is not None else b""
        try:
            err = json.loads(body.decode("utf-8"))
            message = err.get("message") or str(e)
            code = err.get("code")
        except (ValueError, AttributeError, UnicodeDecodeError):
            message, code = f"PrimeHub's API answered {status}: {body[:200]!r}", None
        if status in (599,):
            return PrimeHubError(503, f"PrimeHub's API is unavailable: {e}", API_UNAVAILABLE)
        # 4xx are the user's business (not allowed, over quota); 5xx are the platform's.
        return PrimeHubError(status if 400 <= status < 600 else 500, message, code)

    async def launch_context(self, user_id):
        """PrimeHub's launch-context query: ``{"system": ..., "user": ...}``."""
        answer = await self._call(
            "POST", self.graphql_endpoint,
            {"query": GRAPHQL_LAUNCH_CONTEXT_QUERY, "variables": {"id": user_id}},
        )
        if answer.get("errors"):
            raise PrimeHubError(503, f"PrimeHub's API: {answer['errors'][0].get('message')}",
                                API_UNAVAILABLE)
        return answer.get("data") or {}

    async def notebook_groups(self, user_id):
        """``GET /api/notebook/groups``: the groups the options form shows."""
        query = urllib.parse.urlencode({"userId": user_id})
        answer = await self._call("GET", f"{self.api_url.rstrip('/')}/api/notebook/groups?{query}")
        return answer.get("groups", [])

    async def notebook_pod(self, request):
        """``POST /api/notebook/pod``: PrimeHub's parts of the notebook pod and the home PVC."""
        return await self._call("POST", f"{self.api_url.rstrip('/')}/api/notebook/pod", request)


class PrimeHubAuthenticator(GenericOAuthenticator):
    """OIDC login against PrimeHub's Keycloak realm, with PrimeHub's launch context."""

    keycloak_url = Unicode(
        "", config=True, help="Keycloak as the hub reaches it (token and userinfo endpoints).",
    )
    keycloak_app_url = Unicode(
        "", config=True,
        help="Keycloak as the browser reaches it (authorization endpoint); default keycloak_url.",
    )
    realm = Unicode("primehub", config=True, help="PrimeHub's Keycloak realm.")

    @default("keycloak_app_url")
    def _keycloak_app_url_default(self):
        return self.keycloak_url

    def _realm_url(self, base):
        return f"{base.rstrip('/')}/realms/{self.realm}/protocol/openid-connect"

    @default("authorize_url")
    def _authorize_url_default(self):
        return self._realm_url(self.keycloak_app_url) + "/auth"

    @default("token_url")
    def _token_url_default(self):
        return self._realm_url(self.keycloak_url) + "/token"

    @default("userdata_url")
    def _userdata_url_default(self):
        return self._realm_url(self.keycloak_url) + "/userinfo"

    @default("logout_redirect_url")
    def _logout_redirect_url_default(self):
        return self._realm_url(self.keycloak_app_url) + "/logout"

    @default("client_id")
    def _client_id_default(self):
        return "jupyterhub"

    @default("username_claim")
    def _username_claim_default(self):
        return "preferred_username"

    @default("scope")
    def _scope_default(self):
        return ["openid"]

    @default("login_service")
    def _login_service_default(self):
        return "PrimeHub"

    @default("allow_all")
    def _allow_all_default(self):
        # Everyone of the realm may log in (PrimeHub's hub); groups decide what they launch.
        return True

    @default("enable_auth_state")
    def _enable_auth_state_default(self):
        return True

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.primehub = PrimeHub(parent=self)

    async def update_auth_model(self, auth_model):
        """Adds PrimeHub's launch context to ``auth_state`` and the admin flag from it.
        Called by ``authenticate`` (login) and ``refresh_user`` (before each spawn and after
        ``auth_refresh_age``), so the context follows changes of the user's groups."""
        auth_model = await super().update_auth_model(auth_model)
        auth_state = auth_model["auth_state"]
        user_id = (auth_state.get(self.user_auth_state_key) or {}).get("sub")
        auth_state.pop("error", None)
        try:
            if not user_id:
                raise PrimeHubError(403, "the token has no sub claim")
            ctx = await self.primehub.launch_context(user_id)
            auth_state["launch_context"] = ctx.get("user") or {}
            auth_state["system"] = ctx.get("system") or {}
        except PrimeHubError as e:
            self.log.error("PrimeHub launch context of %s: %s", auth_model["name"], e)
            auth_state["error"] = API_UNAVAILABLE
            auth_state["launch_context"] = {}
            auth_state["system"] = {}
            return auth_model
        auth_model["admin"] = bool(auth_state["launch_context"].get("isAdmin", False))
        return auth_model


def _literal(value):
    """``value`` with KubeSpawner's template braces escaped: KubeSpawner expands
    ``{username}``-style fields in labels, annotations, volumes, mounts, init and extra
    containers, the environment and extra pod config, and PrimeHub's values (the usage
    annotation is JSON) must come through unchanged."""
    if isinstance(value, str):
        return value.replace("{", "{{").replace("}", "}}")
    if isinstance(value, list):
        return [_literal(v) for v in value]
    if isinstance(value, dict):
        return {k: _literal(v) for k, v in value.items()}
    return value


# KubeSpawner traits PrimeHub's parts are added to; what the operator configured stays first.
_MERGED_TRAITS = (
    "volumes", "volume_mounts", "environment", "extra_labels", "extra_annotations",
    "init_containers", "extra_containers", "node_selector", "tolerations", "extra_pod_config",
    "extra_container_config", "image_pull_secrets",
)


class PrimeHubSpawner(KubeSpawner):
    """KubeSpawner with PrimeHub's options form and PrimeHub's parts of the pod."""

    enable_kernel_gateway = Bool(
        False, config=True, help="Offer the kernel-gateway option (PrimeHub's kernelGateway).",
    )
    enable_ssh_server = Bool(
        False, config=True, help="Offer the SSH server option (PrimeHub's sshServer.enabled).",
    )
    launch_group = Unicode(
        "", help="The group of the running (or last) launch; kept in the spawner state.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.primehub = PrimeHub(parent=self)
        # What the configuration set, before PrimeHub's parts are added for a launch.
        self._configured = {t: copy.deepcopy(getattr(self, t)) for t in _MERGED_TRAITS}

    # ---- state -------------------------------------------------------------------------------

    def get_state(self):
        state = super().get_state()
        if self.launch_group:
            state["launch_group"] = self.launch_group
        return state

    def load_state(self, state):
        super().load_state(state)
        self.launch_group = state.get("launch_group", "")

    def clear_state(self):
        super().clear_state()
        self.launch_group = ""

    # ---- the options form --------------------------------------------------------------------

    async def _user_id(self):
        auth_state = await self.user.get_auth_state() or {}
        if auth_state.get("error") == API_UNAVAILABLE:
            raise PrimeHubError(503, "Backend API unavailable. Please contact admin.", API_UNAVAILABLE)
        user_id = (auth_state.get("oauth_user") or {}).get("sub") or (
            auth_state.get("launch_context") or {}).get("id")
        if not user_id:
            raise PrimeHubError(403, "Sorry, but you need to relogin to continue.")
        return user_id

    @default("options_form")
    def _options_form_default(self):
        return self._render_options_form

    async def _render_options_form(self, spawner):
        try:
            groups = await self.primehub.notebook_groups(await self._user_id())
        except PrimeHubError as e:
            return _block(str(e))
        if not groups:
            return _block("No group is configured for you to launch a server. Please contact admin.")
        return _options_form_html(groups, self.launch_group, self.enable_kernel_gateway,
                                  self.enable_ssh_server)

    def options_from_form(self, formdata):
        def one(key):
            values = formdata.get(key) or [""]
            return values[0].strip()

        def on(key):
            return one(key) in ("on", "true", "1")

        options = {
            "group": one("group"),
            "instance_type": one("instance_type"),
            "image": one("image"),
            "safe_mode": on("safe_mode"),
            "ssh_server": on("ssh_server") and self.enable_ssh_server,
            "kernel_gateway": on("kernel_gateway") and self.enable_kernel_gateway,
        }
        for key in ("group", "instance_type", "image"):
            if not options[key]:
                raise PrimeHubError(400, f"Choose a {key.replace('_', ' ')}.")
        return options

    # ---- PrimeHub's parts of the pod ---------------------------------------------------------

    def _home_volume_name(self):
        # z2jh's home volume name for KubeSpawner's PVC (hub's dynamic storage).
        return self._expand_user_properties("volume-{user_server}")

    async def load_user_options(self):
        """Before KubeSpawner makes the PVC and the pod: PrimeHub's parts for the choice."""
        options = self.user_options or {}
        request = {
            "userId": await self._user_id(),
            "group": options.get("group", ""),
            "instanceType": options.get("instance_type", ""),
            "image": options.get("image", ""),
            "options": {
                "safeMode": bool(options.get("safe_mode")),
                "sshServer": bool(options.get("ssh_server")),
                "kernelGateway": bool(options.get("kernel_gateway")),
            },
            "spawner": {
                "podName": self.pod_name,
                "homeVolume": self._home_volume_name(),
                "homeClaim": self.pvc_name,
            },
        }
        parts = await self.primehub.notebook_pod(request)
        self.log.info("PrimeHub parts for %s: group %s, instance type %s, image %s",
                      self._log_name, request["group"], request["instanceType"], parts.get("image"))
        self.apply_parts(parts)
        await super().load_user_options()

    def apply_parts(self, parts):
        """Sets KubeSpawner's traits from PrimeHub's parts (``NotebookParts`` JSON)."""
        conf = {t: copy.deepcopy(v) for t, v in self._configured.items()}
        self.launch_group = parts["launchGroup"]
        self.image = parts["image"]
        self.image_pull_secrets = conf["image_pull_secrets"] + [
            s["name"] for s in parts.get("imagePullSecrets") or []]
        self.cmd = list(parts.get("cmd") or self.cmd)
        # Resources exactly as PrimeHub computed them; KubeSpawner's own resource traits off.
        self.cpu_limit = self.cpu_guarantee = None
        self.mem_limit = self.mem_guarantee = None
        self.extra_resource_limits, self.extra_resource_guarantees = {}, {}
        self.extra_container_config = {**conf["extra_container_config"],
                                       "resources": parts.get("resources") or {}}
        self.volumes = conf["volumes"] + _literal(parts.get("volumes") or [])
        self.volume_mounts = conf["volume_mounts"] + _literal(parts.get("volumeMounts") or [])
        env = dict(conf["environment"])
        for var in parts.get("env") or []:
            if "valueFrom" in var:
                env[var["name"]] = _literal({"valueFrom": var["valueFrom"]})
            else:
                env[var["name"]] = _literal(var.get("value", ""))
        self.environment = env
        self.lifecycle_hooks = parts.get("lifecycle") or {}
        self.extra_labels = {**conf["extra_labels"], **_literal(parts.get("labels") or {})}
        self.extra_annotations = {**conf["extra_annotations"],
                                  **_literal(parts.get("annotations") or {})}
        self.init_containers = conf["init_containers"] + _literal(parts.get("initContainers") or [])
        self.extra_containers = conf["extra_containers"] + _literal(parts.get("extraContainers") or [])
        self.node_selector = {**conf["node_selector"], **(parts.get("nodeSelector") or {})}
        self.tolerations = conf["tolerations"] + (parts.get("tolerations") or [])
        pod_config = dict(conf["extra_pod_config"])
        if parts.get("restartPolicy"):
            pod_config["restartPolicy"] = parts["restartPolicy"]
        if parts.get("shareProcessNamespace"):
            pod_config["shareProcessNamespace"] = True
        self.extra_pod_config = _literal(pod_config)
        # The home PVC: KubeSpawner makes it (its name is the one we passed) with PrimeHub's size.
        pvc_spec = (parts.get("homePvc") or {}).get("spec") or {}
        self.storage_pvc_ensure = True
        self.storage_capacity = parts.get("storageCapacity") or self.storage_capacity
        if pvc_spec.get("accessModes"):
            self.storage_access_modes = pvc_spec["accessModes"]
        if pvc_spec.get("storageClassName"):
            self.storage_class = pvc_spec["storageClassName"]

    async def start(self):
        """KubeSpawner's start, with the Kubernetes API's refusal (the admission webhook's quota
        text) turned into words for the user."""
        try:
            return await super().start()
        except ApiException as e:
            raise _kube_denial(e) from None


def _kube_denial(e):
    """A PrimeHubError from the Kubernetes API's refusal of a create (a Status object)."""
    try:
        message = json.loads(e.body).get("message") or e.reason
    except (TypeError, ValueError):
        message = e.reason or str(e)
    # kube-apiserver: 'admission webhook "<name>" denied the request: <the webhook's text>'
    _, sep, text = message.partition("denied the request: ")
    return PrimeHubError(e.status or 500, text if sep else message, "ADMISSION_DENIED")


# ---- HTML of the options form (JupyterHub puts it inside its own <form>) ------------------------

def _block(message):
    return f'<div class="alert alert-danger" id="primehub-block">{html.escape(message)}</div>'


def _num(value):
    if value is None:
        return "unlimited"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _choice(kind, item, checked):
    name = html.escape(item["name"])
    label = html.escape(item.get("displayName") or item["name"])
    description = html.escape(item.get("description") or "")
    return (
        f'<label class="primehub-{kind}" data-name="{name}" style="display:block">'
        f'<input type="radio" name="{kind}" value="{name}"{" checked" if checked else ""}> '
        f'{label} <small class="text-muted">{description}</small></label>'
    )


def _options_form_html(groups, last_group, kernel_gateway, ssh_server):
    chosen = next((g["name"] for g in groups if g["name"] == last_group), groups[0]["name"])
    out = ['<div id="primehub-options">']
    for g in groups:
        name = g["name"]
        on = name == chosen
        usage = g.get("usage") or {}
        quota = (
            f'CPU {_num(usage.get("cpu"))} / {_num(g.get("projectQuotaCpu"))} (you: {_num(g.get("quotaCpu"))}), '
            f'GPU {_num(usage.get("gpu"))} / {_num(g.get("projectQuotaGpu"))} (you: {_num(g.get("quotaGpu"))}), '
            f'memory {_num(usage.get("memory"))} / {_num(g.get("projectQuotaMemory"))} GB '
            f'(you: {_num(g.get("quotaMemory"))})'
        )
        out.append(
            f'<fieldset class="primehub-group" data-group="{html.escape(name)}"'
            f'{"" if on else " disabled"} style="margin-bottom:1em">'
            f'<legend><label><input type="radio" name="group" value="{html.escape(name)}"'
            f'{" checked" if on else ""} onchange="primehubGroup(this)"> '
            f'{html.escape(g.get("displayName") or name)}</label></legend>'
            f'<p class="primehub-usage">Group usage / group quota: {html.escape(quota)}</p>'
        )
        out.append('<h4>Instance type</h4>')
        out += [_choice("instance_type", it, i == 0) for i, it in enumerate(g.get("instanceTypes") or [])]
        if not g.get("instanceTypes"):
            out.append('<p class="text-danger">No instance type in this group.</p>')
        out.append('<h4>Image</h4>')
        out += [_choice("image", im, i == 0) for i, im in enumerate(g.get("images") or [])]
        if not g.get("images"):
            out.append('<p class="text-danger">No image in this group.</p>')
        out.append('</fieldset>')
    out.append('<label><input type="checkbox" name="safe_mode"> Safe mode (home at /home/jovyan/user)</label>')
    if ssh_server:
        out.append('<label><input type="checkbox" name="ssh_server"> SSH server</label>')
    if kernel_gateway:
        out.append('<label><input type="checkbox" name="kernel_gateway"> Kernel gateway</label>')
    # A group's fieldset is enabled only while the group is chosen, so only its choices post
    # (the group's own radio is in the fieldset's legend, which disabling leaves enabled).
    out.append(
        '<script>function primehubGroup(r){document.querySelectorAll('
        '"#primehub-options fieldset.primehub-group").forEach(function(f){'
        'f.disabled = f.dataset.group !== r.value;});}</script>'
    )
    out.append('</div>')
    return "\n".join(out)


__all__ = ["PrimeHub", "PrimeHubAuthenticator", "PrimeHubSpawner", "PrimeHubError",
           "GRAPHQL_LAUNCH_CONTEXT_QUERY", "API_UNAVAILABLE"]
