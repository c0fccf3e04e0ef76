"""End to end: PrimeHub's notebook path with real JupyterHub, KubeSpawner, oauthenticator and
configurable-http-proxy against `primehub dev` (tests/notebooks/README.md).

Run by run.sh (which puts the virtualenv of tools/jupyterhub/jupyterhub.sh first on PATH):

    python notebooks_e2e.py --primehub path/to/primehub [--keep-logs DIR]
    python notebooks_e2e.py --primehub path/to/primehub --real --webhook path/to/primehub-webhook

Steps (each prints its duration):
  1. start `primehub dev` (shared secret, kubeconfig of its fake cluster);
  2. users through GraphQL: alice in phusers, bob in group `tiny` (per-user CPU quota 1) with a
     pod of 0.5 CPU already running there, so cpu-1 (1 CPU) fits the quota alone (the API lets
     it through) but not on top of the usage (the admission webhook refuses it);
  3. start JupyterHub with deploy/jupyterhub/jupyterhub_config.py (plus a test service token);
  4. alice logs in through the code flow as a browser does (login form posted);
  5. the options form lists her groups (phusers, not everyone) with cpu-1 and base-notebook;
  6. she posts the form; the pod and the home PVC appear and match POST /api/notebook/pod
     field by field; the webhook admitted it (sentinel init container gone);
  7. the server gets ready (the runner of `primehub dev` runs jupyterhub-singleuser) and
     /user/alice/api/status answers through the proxy; [moonshot] a kernel runs 1+1;
  8. stopping the server through the hub's REST API deletes the pod;
  9. bob's spawn shows the webhook's quota text in words.

With --real (real_cluster.py) the notebook pods go to a fresh namespace of the real
kube-apiserver with primehub-webhook registered there; `primehub dev` still serves Keycloak,
GraphQL and /api/notebook/*. Steps 1-6, 8 and 9 are the same code (bob's earlier pod and the
pods and PVC compared are read from the real server); 7 becomes "admitted and Pending, the
spawn still pending": there is no kubelet, so the test stops at admission and says so.
"""

import argparse
import asyncio
import http.cookiejar
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid

import requests
from bs4 import BeautifulSoup

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
HUB_CONFIG = os.path.join(ROOT, "deploy", "jupyterhub", "jupyterhub_config.py")
NAMESPACE = "hub"
REALM = "primehub"
WEBHOOK_NAME = "resources-validation-webhook.primehub.io"


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Steps:
    def __init__(self):
        self.start = time.monotonic()
        self.times = []

    def run(self, name, fn, *args):
        t = time.monotonic()
        print(f"==> {name}", flush=True)
        result = fn(*args)
        dt = time.monotonic() - t
        self.times.append((name, dt))
        print(f"<== {name}: ok ({dt:.1f} s)", flush=True)
        return result


class Processes:
    """What this test starts, each in its own process group, stopped on exit."""

    def __init__(self, logdir):
        self.logdir = logdir
        self.procs = []

    def start(self, name, argv, env):
        log = open(os.path.join(self.logdir, f"{name}.log"), "wb")
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        self.procs.append((name, proc))
        return proc

    def log(self, name):
        path = os.path.join(self.logdir, f"{name}.log")
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop_all(self):
        for name, proc in reversed(self.procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=5)


def wait_for(what, probe, timeout, interval=0.2):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            value = probe()
            if value:
                return value
        except Exception as e:  # noqa: BLE001  (keep polling, report the last error)
            last = e
        time.sleep(interval)
    raise Failure(f"timed out after {timeout} s waiting for {what} (last error: {last!r})")


class Cluster:
    """The Kubernetes API notebook pods go to: the fake cluster of `primehub dev` (plain http,
    no auth) or a real kube-apiserver (real_cluster.py: https, a token, the test CA)."""

    def __init__(self, base, namespace, kubeconfig, token=None, ca_file=None):
        self.base = base.rstrip("/")
        self.namespace = namespace
        self.kubeconfig = kubeconfig
        self.http = requests.Session()
        if token:
            self.http.headers["Authorization"] = f"Bearer {token}"
        # per request: requests lets REQUESTS_CA_BUNDLE override a session's `verify`
        self.verify = ca_file or True

    def request(self, method, path, body=None, ok=(200, 201), **kw):
        r = self.http.request(method, f"{self.base}{path}", json=body, timeout=30,
                              verify=self.verify, **kw)
        if r.status_code not in ok:
            raise Failure(f"{method} {path}: {r.status_code} {r.text[:500]}")
        return r.json() if r.text else {}

    def path(self, resource, name=""):
        """The path of a namespaced core/v1 resource (``pods``, ``persistentvolumeclaims``…)."""
        return f"/api/v1/namespaces/{self.namespace}/{resource}" + (f"/{name}" if name else "")

    def get(self, resource, name):
        """The object, or None when the API server answers 404."""
        r = self.http.get(f"{self.base}{self.path(resource, name)}", timeout=10, verify=self.verify)
        if r.status_code == 404:
            return None
        if r.status_code != 200:
            raise Failure(f"GET {resource}/{name}: {r.status_code} {r.text[:300]}")
        return r.json()


# bob's earlier work in `tiny`: 0.5 CPU, labelled as PrimeHub labels its pods, with the
# admission sentinel the webhook's patch removes (so the test sees it was admitted)
SENTINEL = "admission-is-not-found"
BOB_EARLIER_POD = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "bob-earlier-work",
                 "labels": {"primehub.io/group": "escaped-tiny",
                            "primehub.io/user": "escaped-bob"}},
    "spec": {"restartPolicy": "Never",
             "initContainers": [{"name": SENTINEL, "image": SENTINEL, "command": ["false"]}],
             "containers": [{
                 "name": "main", "image": "busybox", "command": ["sh", "-c", "sleep 3600"],
                 "resources": {"limits": {"cpu": "500m", "memory": "100Mi"}}}]}}


class Test:
    def __init__(self, args):
        self.args = args
        self.work = tempfile.mkdtemp(prefix="primehub-notebooks-")
        self.procs = Processes(self.work)
        self.secret = "nb-" + secrets.token_hex(16)
        self.admin_password = "Nb-" + secrets.token_urlsafe(12)
        self.passwords = {"alice": "Alice-" + secrets.token_urlsafe(9),
                          "bob": "Bob-" + secrets.token_urlsafe(9)}
        self.service_token = secrets.token_hex(24)
        self.user_ids = {}
        self.spawn_seconds = None

    # ---------------------------------------------------------------- primehub dev
    def start_dev(self):
        port = free_port()
        self.dev = f"http://127.0.0.1:{port}"
        self.kubeconfig = os.path.join(self.work, "kubeconfig")
        env = dict(os.environ)
        self.procs.start("primehub-dev", [
            self.args.primehub, "dev", "--listen", f"127.0.0.1:{port}",
            "--shared-secret", self.secret, "--admin-password", self.admin_password,
            "--write-kubeconfig", self.kubeconfig], env)
        wait_for("primehub dev /readyz",
                 lambda: requests.get(f"{self.dev}/readyz", timeout=2).ok, 60)
        wait_for("primehub dev's kubeconfig", lambda: os.path.exists(self.kubeconfig), 10, 0.1)
        self.api = self.dev
        # the fake cluster of primehub dev: its Secrets (the hub's client secret), and the
        # notebook pods unless --real puts them on a real kube-apiserver
        self.fake = Cluster(self.dev, NAMESPACE, self.kubeconfig)
        self.cluster = self.fake

    def graphql(self, query, variables=None):
        """GraphQL as PrimeHub's administrator (an API token of phadmin, as the console's)."""
        if not getattr(self, "admin_token", None):
            r = requests.post(f"{self.dev}/api/token", timeout=30,
                              data={"username": "phadmin", "password": self.admin_password})
            r.raise_for_status()
            self.admin_token = r.json()["apiToken"]
        r = requests.post(f"{self.dev}/api/graphql", timeout=30,
                          headers={"Authorization": f"Bearer {self.admin_token}"},
                          json={"query": query, "variables": variables or {}})
        r.raise_for_status()
        body = r.json()
        if body.get("errors"):
            raise Failure(f"GraphQL errors: {body['errors']}")
        return body["data"]

    def secret_value(self, name, key):
        import base64
        s = self.fake.request("GET", self.fake.path("secrets", name))
        return base64.b64decode(s["data"][key]).decode()

    def create_users(self):
        groups = {g["name"]: g["id"] for g in self.graphql("{ groups { id name } }")["groups"]}
        check("phusers" in groups, f"the demo seed has phusers: {groups}")
        tiny = self.graphql(
            """mutation ($data: GroupCreateInput!) { createGroup(data: $data) { id name } }""",
            {"data": {"name": "tiny", "displayName": "Tiny", "quotaCpu": 1.0}})["createGroup"]
        for name, group in (("alice", groups["phusers"]), ("bob", tiny["id"])):
            user = self.graphql(
                """mutation ($data: UserCreateInput!) { createUser(data: $data) { id username } }""",
                {"data": {"username": name, "email": f"{name}@example.com",
                          "groups": {"connect": [{"id": group}]}}})["createUser"]
            self.user_ids[name] = user["id"]
            self.graphql(
                """mutation ($id: String, $p: String) {
                     resetPassword(id: $id, password: $p, temporary: false) { id } }""",
                {"id": user["id"], "p": self.passwords[name]})
        # bob already uses 0.5 CPU in `tiny` (0.5 <= 1: the webhook admits it). On primehub dev
        # the pod simulator keeps it Running for the `sleep`; on a real kube-apiserver (no
        # kubelet) it stays Pending, which PrimeHub's rule counts as well.
        pod = self.cluster.request("POST", self.cluster.path("pods"), BOB_EARLIER_POD)
        check(not [c for c in pod["spec"].get("initContainers") or [] if c["name"] == SENTINEL],
              f"the webhook admitted bob's earlier pod (sentinel removed): {pod['spec']}")

    # ---------------------------------------------------------------- JupyterHub
    def start_hub(self):
        ports = [free_port() for _ in range(3)]
        self.hub = f"http://127.0.0.1:{ports[0]}"
        callback = f"{self.hub}/hub/oauth_callback"
        self.register_redirect_uri(callback)
        state = os.path.join(self.work, "hub")
        os.makedirs(state)
        config = os.path.join(state, "jupyterhub_test_config.py")
        with open(config, "w") as f:
            f.write(f"""# the deployment's configuration, plus what only this test needs
load_subconfig({HUB_CONFIG!r})
c.JupyterHub.services = [{{"name": "e2e", "api_token": {self.service_token!r}}}]
c.JupyterHub.load_roles = [{{"name": "e2e", "services": ["e2e"],
    "scopes": ["admin:users", "admin:servers", "access:servers", "read:users"]}}]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{ports[2]}"
c.JupyterHub.cleanup_servers = True
""")
        env = dict(os.environ)
        env.update({
            "PRIMEHUB_API_URL": self.api,
            "GRAPHQL_SHARED_SECRET": self.secret,
            "KEYCLOAK_URL": self.dev,
            "KEYCLOAK_REALM": REALM,
            "KC_CLIENT_SECRET": self.secret_value("primehub-client-jupyterhub", "client_secret"),
            "OAUTH_CALLBACK_URL": callback,
            "JUPYTERHUB_CRYPT_KEY": secrets.token_hex(32),
            "POD_NAMESPACE": self.cluster.namespace,
            "KUBECONFIG": self.cluster.kubeconfig,
            "PRIMEHUB_HUB_BIND_URL": self.hub,
            "PRIMEHUB_HUB_IP": "127.0.0.1",
            "PRIMEHUB_HUB_PORT": str(ports[1]),
            "PRIMEHUB_HUB_CONNECT_URL": f"http://127.0.0.1:{ports[1]}",
            "PRIMEHUB_START_TIMEOUT": "60",
            "PRIMEHUB_HUB_STATE_DIR": state,
        })
        self.procs.start("jupyterhub", ["jupyterhub", "-f", config], env)
        wait_for("JupyterHub /hub/health",
                 lambda: requests.get(f"{self.hub}/hub/health", timeout=2).ok, 60, 0.3)

    def register_redirect_uri(self, uri):
        """The hub's callback becomes a redirect URI of the `jupyterhub` client (PrimeHub's
        install registers its hub URL the same way)."""
        token = requests.post(f"{self.dev}/realms/master/protocol/openid-connect/token", timeout=30,
                              data={"grant_type": "password", "client_id": "admin-cli",
                                    "username": "admin", "password": "admin"}).json()["access_token"]
        h = {"Authorization": f"Bearer {token}"}
        url = f"{self.dev}/admin/realms/{REALM}/clients"
        client = requests.get(url, params={"clientId": "jupyterhub"}, headers=h, timeout=30).json()[0]
        client["redirectUris"] = client.get("redirectUris", []) + [uri]
        r = requests.put(f"{url}/{client['id']}", json=client, headers=h, timeout=30)
        check(r.status_code == 204, f"updating the jupyterhub client: {r.status_code} {r.text}")

    def hub_api(self, method, path, ok=(200, 201, 202, 204), **kw):
        r = requests.request(method, f"{self.hub}/hub/api{path}", timeout=30,
                             headers={"Authorization": f"token {self.service_token}"}, **kw)
        if r.status_code not in ok:
            raise Failure(f"hub API {method} {path}: {r.status_code} {r.text[:500]}")
        return r.json() if r.text else {}

    # ---------------------------------------------------------------- the browser
    def login(self, name):
        s = browser()
        r = s.get(f"{self.hub}/hub/login", timeout=30)
        check(r.ok, f"GET /hub/login: {r.status_code}")
        # JupyterHub's login page (a button to oauth_login) or straight the Keycloak form
        if "oauth_login" in r.text and "/realms/" not in r.url:
            r = s.get(f"{self.hub}/hub/oauth_login", timeout=30)
        check(r.ok and f"/realms/{REALM}/" in r.url, f"not at Keycloak's login: {r.status_code} {r.url}")
        form = next((f for f in BeautifulSoup(r.text, "html.parser").find_all("form")
                     if f.find("input", {"type": "password"})), None)
        check(form is not None, f"no login form at {r.url}")
        data = {i.get("name"): i.get("value", "") for i in form.find_all("input") if i.get("name")}
        data.update({"username": name, "password": self.passwords[name]})
        action = urllib.parse.urljoin(r.url, form.get("action") or r.url)
        r = s.post(action, data=data, timeout=30)
        check(r.ok, f"posting the login form to {action}: {r.status_code} "
                    f"{BeautifulSoup(r.text, 'html.parser').get_text(' ', strip=True)[:300]}")
        check(r.url.startswith(self.hub), f"not back at the hub after login: {r.url}")
        check(any(c.name.startswith("jupyterhub-session-id") or c.name == "jupyterhub-hub-login"
                  for c in s.cookies), f"no hub cookie after login: {[c.name for c in s.cookies]}")
        user = self.hub_api("GET", f"/users/{name}")
        check(user["name"] == name, f"hub user {user}")
        check(user["admin"] is False, f"{name} is not a PrimeHub admin: {user}")
        return s

    def spawn_form(self, s, name):
        r = s.get(f"{self.hub}/hub/spawn/{name}", timeout=30)
        check(r.ok, f"GET /hub/spawn: {r.status_code} {r.text[:300]}")
        r.encoding = "utf-8"
        soup = BeautifulSoup(r.text, "html.parser")
        form = soup.find("form", {"id": "spawn_form"})
        check(form is not None, f"no spawn form at {r.url}: {soup.get_text(' ', strip=True)[:500]}")
        # JupyterHub puts its XSRF token in the form's action (?_xsrf=...), as a browser posts it
        action = urllib.parse.urljoin(r.url, form.get("action") or r.url)
        groups = [i["value"] for i in form.find_all("input", {"name": "group"})]
        return soup, action, groups

    def alice_form(self):
        s = self.login("alice")
        soup, action, groups = self.spawn_form(s, "alice")
        check(groups == ["phusers"], f"alice's groups on the form: {groups}")
        fs = soup.find("fieldset", {"data-group": "phusers"})
        its = [i["value"] for i in fs.find_all("input", {"name": "instance_type"})]
        images = [i["value"] for i in fs.find_all("input", {"name": "image"})]
        check("cpu-1" in its, f"cpu-1 on the form: {its}")
        check("base-notebook" in images, f"base-notebook on the form: {images}")
        check("everyone" not in r_text(soup), "the form does not offer everyone")
        print(f"    form: groups {groups}, instance types {its}, images {images}; "
              f"{fs.find(class_='primehub-usage').get_text(strip=True)}")
        self.alice = s
        self.alice_action = action

    def alice_spawn(self):
        data = {"group": "phusers", "instance_type": "cpu-1", "image": "base-notebook"}
        self.post_time = time.monotonic()
        r = self.alice.post(self.alice_action, data=data, timeout=60,
                            allow_redirects=False)
        check(r.status_code in (302, 303), f"POST /hub/spawn: {r.status_code} {r.text[:2000]}")
        pod = wait_for("the pod jupyter-alice", lambda: self.get_pod("jupyter-alice"), 30)
        self.compare_pod(pod)

    def get_pod(self, name):
        return self.cluster.get("pods", name)

    def compare_pod(self, pod):
        meta, spec = pod["metadata"], pod["spec"]
        ann = meta.get("annotations", {})
        volume = next(v["name"] for v in spec["volumes"]
                      if (v.get("persistentVolumeClaim") or {}).get("claimName") == "claim-alice")
        r = requests.post(f"{self.api}/api/notebook/pod", timeout=30,
                          headers={"Authorization": f"Bearer {self.secret}"},
                          json={"userId": self.user_ids["alice"], "group": "phusers",
                                "instanceType": "cpu-1", "image": "base-notebook",
                                "spawner": {"podName": meta["name"], "homeVolume": volume,
                                            "homeClaim": "claim-alice"},
                                "launchId": ann.get("auditing.launch_id", "")})
        check(r.status_code == 200, f"POST /api/notebook/pod: {r.status_code} {r.text}")
        parts = r.json()
        nb = next(c for c in spec["containers"] if c["name"] == "notebook")
        diffs = []

        def same(what, got, want):
            if got != want:
                diffs.append(f"{what}: pod {json.dumps(got, sort_keys=True)} != parts "
                             f"{json.dumps(want, sort_keys=True)}")

        same("image", nb["image"], parts["image"])
        same("imagePullSecrets", spec.get("imagePullSecrets") or [], parts["imagePullSecrets"])
        same("resources", nb.get("resources"), parts["resources"])
        env = {e["name"]: e for e in nb.get("env", [])}
        for var in parts["env"]:
            same(f"env {var['name']}", env.get(var["name"]), var)
        check("JUPYTERHUB_API_TOKEN" in env, "KubeSpawner's JUPYTERHUB_* environment is kept")
        same("volumes", sorted(spec.get("volumes", []), key=lambda v: v["name"]),
             sorted(parts["volumes"], key=lambda v: v["name"]))
        same("volumeMounts", nb.get("volumeMounts"), parts["volumeMounts"])
        same("lifecycle", nb.get("lifecycle"), parts["lifecycle"])
        for k, v in parts["labels"].items():
            same(f"label {k}", meta["labels"].get(k), v)
        check(meta["labels"].get("component") == "singleuser-server", "KubeSpawner's labels kept")
        for k, v in parts["annotations"].items():
            same(f"annotation {k}", ann.get(k), v)
        admitted = [c for c in parts["initContainers"] if c["name"] != "admission-is-not-found"]
        check(len(admitted) < len(parts["initContainers"]), "the parts carry the sentinel")
        same("initContainers (the webhook removed the sentinel)",
             spec.get("initContainers") or [], admitted)
        same("extra containers", spec["containers"][1:], parts["extraContainers"])
        same("nodeSelector", spec.get("nodeSelector") or {}, parts["nodeSelector"])
        for t in parts["tolerations"]:
            check(t in (spec.get("tolerations") or []), f"toleration {t} in the pod")
        same("restartPolicy", spec.get("restartPolicy"), parts["restartPolicy"])
        same("shareProcessNamespace", bool(spec.get("shareProcessNamespace")),
             parts["shareProcessNamespace"])
        same("command", (nb.get("args") or [])[:len(parts["cmd"])], parts["cmd"])
        pvc = self.cluster.get("persistentvolumeclaims", "claim-alice")
        check(pvc is not None, "the PVC claim-alice exists")
        want = parts["homePvc"]["spec"]
        same("PVC size", pvc["spec"]["resources"]["requests"]["storage"], parts["storageCapacity"])
        same("PVC accessModes", pvc["spec"].get("accessModes"), want.get("accessModes"))
        same("PVC storageClassName", pvc["spec"].get("storageClassName"), want.get("storageClassName"))
        if diffs:
            raise Failure("the pod differs from POST /api/notebook/pod:\n  " + "\n  ".join(diffs))
        print(f"    pod {meta['name']} = parts: {len(parts['env'])} env, {len(parts['volumes'])} "
              f"volumes, {len(parts['labels'])} labels, {len(parts['annotations'])} annotations, "
              f"resources {parts['resources']}; sentinel removed (admitted); "
              f"PVC claim-alice {parts['storageCapacity']}")

    def alice_ready(self):
        def ready():
            server = self.hub_api("GET", "/users/alice")["servers"].get("")
            if server and not server.get("ready") and not server.get("pending"):
                raise Failure(f"alice's server is neither ready nor pending: {server}")
            return server and server.get("ready")
        wait_for("alice's server ready", ready, 60, 0.2)
        self.spawn_seconds = time.monotonic() - self.post_time
        pod = self.get_pod("jupyter-alice")
        print(f"    ready {self.spawn_seconds:.1f} s after the form was posted; "
              f"pod {pod['status'].get('phase')} at {pod['status'].get('podIP')}")
        # through the proxy: the server's version as the browser sees it, then an authenticated
        # call (a token the hub checks for the single-user server)
        r = self.alice.get(f"{self.hub}/user/alice/api", timeout=30)
        check(r.ok and "version" in r.json(), f"GET /user/alice/api: {r.status_code} {r.text[:300]}")
        r = requests.get(f"{self.hub}/user/alice/api/status", timeout=30,
                         headers={"Authorization": f"token {self.service_token}"})
        check(r.ok and "started" in r.json(),
              f"GET /user/alice/api/status: {r.status_code} {r.text[:300]}")
        print(f"    through the proxy: /user/alice/api {self.alice.get(f'{self.hub}/user/alice/api').json()}, "
              f"/api/status kernels={r.json().get('kernels')}")

    def alice_admitted_pending(self):
        """Real tier: the pod exists on the real API server, admitted, and stays Pending (no
        kubelet, no scheduler); the hub still waits for it. The test stops here."""
        pod = self.get_pod("jupyter-alice")
        check(pod["status"].get("phase") == "Pending", f"the pod is Pending: {pod['status']}")
        check(not pod["spec"].get("nodeName"), f"the pod is not bound: {pod['spec'].get('nodeName')}")
        server = self.hub_api("GET", "/users/alice")["servers"].get("") or {}
        check(server.get("pending") == "spawn" and not server.get("ready"),
              f"the hub is still spawning alice's server: {server}")
        decisions = self.cluster.check_decisions(allowed=2, denied=0)
        print(f"    pod jupyter-alice {pod['status'].get('phase')}, unscheduled; the hub's spawn "
              f"pending; the webhook's decisions since it was registered: {decisions}")
        print("    STOP AT ADMISSION: this kube-apiserver has no scheduler and no kubelet, so the "
              "pod never runs; the spawn is stopped here instead of waiting for the server")

    def alice_kernel(self):
        h = {"Authorization": f"token {self.service_token}"}
        base = f"{self.hub}/user/alice/api"
        r = requests.post(f"{base}/kernels", json={"name": "python3"}, headers=h, timeout=60)
        check(r.status_code in (200, 201), f"starting a kernel: {r.status_code} {r.text[:300]}")
        kernel = r.json()["id"]
        try:
            result = asyncio.run(run_cell(
                f"{self.hub.replace('http', 'ws', 1)}/user/alice/api/kernels/{kernel}/channels",
                self.service_token, "1+1"))
            check(result == "2", f"1+1 in the kernel gave {result!r}")
            print(f"    kernel {kernel}: 1+1 = {result}")
        finally:
            requests.delete(f"{base}/kernels/{kernel}", headers=h, timeout=30)

    def alice_stop(self):
        self.hub_api("DELETE", "/users/alice/server")
        wait_for("the pod jupyter-alice deleted", lambda: self.get_pod("jupyter-alice") is None, 60)
        user = self.hub_api("GET", "/users/alice")
        check("" not in user["servers"], f"alice's server still listed: {user['servers']}")

    def bob_denied(self):
        s = self.login("bob")
        _, action, groups = self.spawn_form(s, "bob")
        check(groups == ["tiny"], f"bob's groups on the form: {groups}")
        data = {"group": "tiny", "instance_type": "cpu-1", "image": "base-notebook"}
        r = s.post(action, data=data, timeout=60)
        r.encoding = "utf-8"
        want = "User bob exceeded cpu quota: 1"
        text = BeautifulSoup(r.text, "html.parser").get_text(" ", strip=True)
        if want not in text and "/spawn-pending/" in r.url:
            # the spawn outlived slow_spawn_timeout: the pending page's progress events say it
            text = progress_text(s, f"{self.hub}/hub/api/users/bob/server/progress")
        check(want in text, f"bob's spawn page does not say {want!r}: {r.status_code} {r.url} "
                            f"{text[:1500]}")
        check("Traceback" not in text and "ApiException" not in text, f"no stack trace: {text[:800]}")
        shown = re.search(r"User bob exceeded[^.<\n]*?requesting [0-9.]+", text)
        print(f"    bob sees: {shown.group(0) if shown else want}")
        check(self.get_pod("jupyter-bob") is None, "no pod for bob")
        if self.args.real:
            # the text came from the real API server's call of the webhook: its Status (as
            # KubeSpawner logs the refused create) names the webhook, and the webhook counted it
            refusals = [json.loads(line.split("HTTP response body: ", 1)[1])
                        for line in self.procs.log("jupyterhub").splitlines()
                        if "HTTP response body: " in line and "denied the request" in line]
            prefix = f'admission webhook "{WEBHOOK_NAME}" denied the request: {want}'
            check(any(r.get("message", "").startswith(prefix) for r in refusals),
                  f"the hub got the real API server's refusal {prefix!r}: {refusals}")
            self.cluster.check_decisions(allowed=2, denied=1)
            earlier = self.get_pod("bob-earlier-work")["status"].get("phase")
            check(earlier == "Pending", f"bob's earlier pod is Pending (no kubelet): {earlier}")
            status = next(r for r in refusals if r.get("message", "").startswith(prefix))
            print(f"    the real API server answered {status['code']}: {status['message']} "
                  f"(bob's earlier pod, {earlier}, counted)")


class BrowserCookies(http.cookiejar.DefaultCookiePolicy):
    """Browsers treat loopback as a secure context: `Secure` cookies (Keycloak marks its login
    cookies `Secure; SameSite=None` even over http) go to 127.0.0.1 over plain http too."""

    def return_ok_secure(self, cookie, request):
        host = urllib.parse.urlsplit(request.get_full_url()).hostname or ""
        if cookie.secure and (host == "localhost" or host.startswith("127.")):
            return True
        return super().return_ok_secure(cookie, request)


class Browser(requests.Session):
    """A session that sends cookies as a browser does on loopback. requests builds each
    request's Cookie header from a copy of the jar with the default policy, so the header is
    computed again here from the session's own jar and policy."""

    def __init__(self):
        super().__init__()
        self.cookies.set_policy(BrowserCookies())

    def prepare_request(self, request):
        prepared = super().prepare_request(request)
        prepared.headers.pop("Cookie", None)
        header = requests.cookies.get_cookie_header(self.cookies, prepared)
        if header:
            prepared.headers["Cookie"] = header
        return prepared


def browser():
    return Browser()


def r_text(soup):
    return " ".join(i.get("value", "") for i in soup.find_all("input"))


def progress_text(session, url):
    """The spawn progress event stream (what the spawn-pending page shows), as text."""
    lines = []
    with session.get(url, stream=True, timeout=60) as r:
        for line in r.iter_lines(decode_unicode=True):
            if line and line.startswith("data:"):
                event = json.loads(line[5:])
                lines.append(event.get("message", ""))
                if event.get("failed") or event.get("ready"):
                    break
    return "\n".join(lines)


async def run_cell(url, token, code):
    """Executes `code` on a kernel over the Jupyter websocket protocol; the text/plain result."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect
    ws = await websocket_connect(HTTPRequest(url, headers={"Authorization": f"token {token}"}))
    msg_id = uuid.uuid4().hex
    ws.write_message(json.dumps({
        "header": {"msg_id": msg_id, "username": "e2e", "session": uuid.uuid4().hex,
                   "msg_type": "execute_request", "version": "5.3"},
        "parent_header": {}, "metadata": {}, "channel": "shell",
        "content": {"code": code, "silent": False, "store_history": False,
                    "user_expressions": {}, "allow_stdin": False}}))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        raw = await asyncio.wait_for(ws.read_message(), 60)
        if raw is None:
            break
        msg = json.loads(raw)
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "execute_result":
            ws.close()
            return msg["content"]["data"]["text/plain"]
        if msg["msg_type"] == "error":
            ws.close()
            return f"error: {msg['content'].get('ename')}: {msg['content'].get('evalue')}"
    ws.close()
    return None


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--primehub", required=True, help="the primehub binary")
    p.add_argument("--keep-logs", default="", help="copy the processes' logs here")
    p.add_argument("--no-kernel", action="store_true", help="skip running a cell (moonshot)")
    p.add_argument("--real", action="store_true",
                   help="notebook pods on the real kube-apiserver (real_cluster.py) with "
                        "primehub-webhook registered; stops at admission")
    p.add_argument("--webhook", default="", help="the primehub-webhook binary (--real)")
    args = p.parse_args()
    for tool in ("jupyterhub", "jupyterhub-singleuser", "configurable-http-proxy"):
        if not shutil.which(tool):
            sys.exit(f"{tool} not on PATH: source <(tools/jupyterhub/jupyterhub.sh env)")
    # a SIGTERM (a CI timeout) ends the run through the cleanup below, as Ctrl-C does
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    t = Test(args)
    steps = Steps()
    real = None
    ok = False
    try:
        if args.real:
            # real_cluster imports this module by name: the same classes (Failure) as here
            sys.modules.setdefault("notebooks_e2e", sys.modules[__name__])
            from real_cluster import RealCluster
            check(os.access(args.webhook, os.X_OK), f"no primehub-webhook binary at {args.webhook!r}")
            real = RealCluster(args.webhook)
        steps.run("start primehub dev", t.start_dev)
        if real:
            steps.run("real kube-apiserver: namespace, primehub-webhook registered and called",
                      real.setup, t)
            t.cluster = real
        steps.run("alice in phusers; bob in tiny (user CPU quota 1) already using 0.5 CPU",
                  t.create_users)
        steps.run("start JupyterHub with deploy/jupyterhub", t.start_hub)
        steps.run("alice logs in (code flow) and sees her groups on the options form", t.alice_form)
        steps.run("alice spawns cpu-1 / base-notebook: pod and PVC = POST /api/notebook/pod",
                  t.alice_spawn)
        if real:
            steps.run("alice's pod admitted and Pending on the real server (no kubelet: stop here)",
                      t.alice_admitted_pending)
        else:
            steps.run("alice's server ready; /user/alice/api through the proxy", t.alice_ready)
            if not args.no_kernel:
                steps.run("alice runs a cell through the hub (kernel, 1+1)", t.alice_kernel)
        steps.run("stopping alice's server deletes the pod", t.alice_stop)
        steps.run("bob over quota: the webhook's text on the spawn page", t.bob_denied)
        ok = True
    except Failure as e:
        print(f"FAILED: {e}", file=sys.stderr)
    finally:
        t.procs.stop_all()
        if real:
            errors = real.teardown()
            for error in errors:
                print(f"cleanup of {real.namespace}: {error}", file=sys.stderr)
            if errors:
                ok = False
            else:
                print(f"removed the webhook configuration {real.config_name} and the objects of "
                      f"{real.namespace} (the namespace stays Terminating: no namespace controller)")
        if not ok or args.keep_logs:
            for name in ("primehub-dev", "primehub-webhook", "jupyterhub"):
                path = os.path.join(t.work, f"{name}.log")
                if os.path.exists(path):
                    if args.keep_logs:
                        os.makedirs(args.keep_logs, exist_ok=True)
                        shutil.copy(path, args.keep_logs)
                    if not ok:
                        tail = t.procs.log(name).splitlines()[-60:]
                        print(f"---- last lines of {name}.log", file=sys.stderr)
                        print("\n".join(tail), file=sys.stderr)
        shutil.rmtree(t.work, ignore_errors=True)
    total = time.monotonic() - steps.start
    print(f"\nsteps: {len(steps.times)}, total {total:.1f} s"
          + (f"; spawn (form posted -> server ready) {t.spawn_seconds:.1f} s"
             if t.spawn_seconds is not None else "")
          + ("; real kube-apiserver: stopped at admission (no kubelet)" if real else ""))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
