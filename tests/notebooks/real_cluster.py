"""The real tier of the notebook test (``run.sh --real``): notebook pods on a real
kube-apiserver with PrimeHub's admission webhook registered (tests/notebooks/README.md).

``RealCluster.setup`` makes, on the kube-apiserver of ``tools/kube-apiserver/apiserver.sh``
(PRIMEHUB_TEST_KUBE_URL, PRIMEHUB_TEST_KUBE_TOKEN, PRIMEHUB_TEST_KUBE_CA_FILE,
PRIMEHUB_TEST_KUBECONFIG):

* a fresh namespace ``nb-real-<random>`` labelled ``primehub.io/admission-webhook=enabled``;
* the webhook's ServiceAccount and Role there (deploy/webhook/apply.sh with
  serviceaccount.yaml and role.yaml, kubectl from $KUBECTL) and a kubeconfig with a token of
  that ServiceAccount (TokenRequest), so the webhook reads pods with exactly its RBAC;
* a test CA and a serving certificate for 127.0.0.1 (openssl; deploy/webhook/certs.sh makes
  the in-cluster names ``primehub-admission.<ns>.svc``, which a URL on 127.0.0.1 cannot use);
* the ``primehub-webhook`` binary with ``--quota-source graphql`` against ``primehub dev``
  (the shared secret), watching that namespace;
* a MutatingWebhookConfiguration as deploy/webhook/webhooks.yaml registers
  ``resources-validation-webhook.primehub.io`` (pods, CREATE, failurePolicy Ignore), with
  ``clientConfig.url`` = https://127.0.0.1:<port>/ and the test CA as caBundle; its
  namespaceSelector also names the namespace (``kubernetes.io/metadata.name``) so the webhook
  is never asked about other tests' pods on the shared server. Setup waits until the API
  server really calls it (a dry-run create comes back without the admission sentinel).

``teardown`` removes the configuration, the pods and claims, the webhook's objects and the
namespace (which stays Terminating: there is no namespace controller), whatever happened.
"""

import base64
import json
import os
import secrets
import subprocess

import requests

from notebooks_e2e import ROOT, SENTINEL, Cluster, Failure, free_port, wait_for

WEBHOOK_NAME = "resources-validation-webhook.primehub.io"


def kubectl_path():
    """$KUBECTL, else the kubectl 1.33 beside gcloud, else ``kubectl`` on PATH."""
    if os.environ.get("KUBECTL"):
        return os.environ["KUBECTL"]
    gcloud = subprocess.run(["sh", "-c", "command -v gcloud"], capture_output=True, text=True)
    if gcloud.returncode == 0 and gcloud.stdout.strip():
        candidate = os.path.join(os.path.dirname(os.path.realpath(gcloud.stdout.strip())),
                                 "kubectl.1.33")
        if os.access(candidate, os.X_OK):
            return candidate
    return "kubectl"


def openssl(*args):
    r = subprocess.run(["openssl", *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise Failure(f"openssl {' '.join(args[:2])}: {r.stderr[-500:]}")


def make_certs(directory):
    """A CA and a serving certificate for 127.0.0.1 signed by it: (ca, cert, key) paths."""
    ca, ca_key = os.path.join(directory, "ca.pem"), os.path.join(directory, "ca-key.pem")
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    csr, ext = os.path.join(directory, "cert.csr"), os.path.join(directory, "ext.cnf")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=primehub notebooks real tier CA", "-keyout", ca_key, "-out", ca)
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=primehub-admission",
            "-keyout", key, "-out", csr)
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
            "-days", "1", "-extfile", ext, "-out", cert)
    return ca, cert, key


class RealCluster(Cluster):
    """A namespace of the real kube-apiserver with primehub-webhook registered for it."""

    def __init__(self, webhook_binary):
        missing = [v for v in ("PRIMEHUB_TEST_KUBE_URL", "PRIMEHUB_TEST_KUBE_TOKEN",
                               "PRIMEHUB_TEST_KUBE_CA_FILE", "PRIMEHUB_TEST_KUBECONFIG")
                   if not os.environ.get(v)]
        if missing:
            raise Failure(f"no real kube-apiserver: {', '.join(missing)} unset "
                          "(source <(tools/kube-apiserver/apiserver.sh env))")
        super().__init__(os.environ["PRIMEHUB_TEST_KUBE_URL"],
                         "nb-real-" + secrets.token_hex(4),
                         os.environ["PRIMEHUB_TEST_KUBECONFIG"],
                         token=os.environ["PRIMEHUB_TEST_KUBE_TOKEN"],
                         ca_file=os.environ["PRIMEHUB_TEST_KUBE_CA_FILE"])
        self.webhook_binary = webhook_binary
        self.kubectl = kubectl_path()
        self.config_name = f"primehub-notebooks-{self.namespace}"
        self.created_namespace = False
        self.registered = False
        self.webhook_metrics = None
        self.baseline = {}

    # ---------------------------------------------------------------- setup
    def setup(self, test):
        """Namespace, the webhook's RBAC, certificate, process and registration."""
        version = self.request("GET", "/version")
        self.request("POST", "/api/v1/namespaces", {
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": self.namespace,
                         "labels": {"primehub.io/admission-webhook": "enabled"}}})
        self.created_namespace = True
        work = os.path.join(test.work, "webhook")
        os.makedirs(work)
        ca, cert, key = make_certs(work)
        # deploy/webhook's ServiceAccount and Role, as apply.sh installs them (it also labels
        # the namespace for the webhooks)
        env = dict(os.environ, KUBECTL=self.kubectl, KUBECONFIG=self.kubeconfig)
        deploy = os.path.join(ROOT, "deploy", "webhook")
        r = subprocess.run([os.path.join(deploy, "apply.sh"), self.namespace, ca,
                            os.path.join(deploy, "serviceaccount.yaml"),
                            os.path.join(deploy, "role.yaml")],
                           env=env, capture_output=True, text=True)
        if r.returncode != 0:
            raise Failure(f"deploy/webhook/apply.sh: {r.stdout[-800:]} {r.stderr[-800:]}")
        webhook_kubeconfig = self.service_account_kubeconfig(work, "primehub-webhook")
        secret_file = os.path.join(work, "shared-secret")
        with open(secret_file, "w") as f:
            f.write(test.secret)
        http_port, https_port = free_port(), free_port()
        self.webhook_metrics = f"http://127.0.0.1:{http_port}/metrics"
        test.procs.start("primehub-webhook", [
            self.webhook_binary,
            "--listen", f"127.0.0.1:{http_port}", "--tls-listen", f"127.0.0.1:{https_port}",
            "--tls-cert-file", cert, "--tls-key-file", key,
            "--quota-source", "graphql", "--graphql-endpoint", f"{test.dev}/api/graphql",
            "--graphql-shared-secret-file", secret_file,
            "--kubeconfig", webhook_kubeconfig, "--namespace", self.namespace,
            "--log-format", "human"], dict(os.environ))
        wait_for("primehub-webhook /readyz", lambda: requests.get(
            f"http://127.0.0.1:{http_port}/readyz", timeout=2).ok, 30)
        self.register(ca, https_port)
        self.baseline = self.decisions()
        print(f"    kube-apiserver {version.get('gitVersion')} at {self.base}; namespace "
              f"{self.namespace}; primehub-webhook at https://127.0.0.1:{https_port}/ "
              f"(ServiceAccount primehub-webhook, quotas from {test.dev}/api/graphql), "
              f"registered as {self.config_name}")

    def service_account_kubeconfig(self, directory, account):
        """A kubeconfig of this server with a token of ServiceAccount `account`; waits until
        its RBAC lets it list the namespace's pods."""
        answer = self.request(
            "POST", self.path("serviceaccounts", f"{account}/token"),
            {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
             "spec": {"expirationSeconds": 3600}})
        token = answer["status"]["token"]
        path = os.path.join(directory, f"{account}.kubeconfig")
        with open(path, "w") as f:  # JSON is YAML
            json.dump({"apiVersion": "v1", "kind": "Config",
                       "clusters": [{"name": "real", "cluster": {
                           "server": self.base, "certificate-authority": self.verify}}],
                       "users": [{"name": account, "user": {"token": token}}],
                       "contexts": [{"name": account,
                                     "context": {"cluster": "real", "user": account}}],
                       "current-context": account}, f)
        wait_for(f"{account}'s Role applies", lambda: requests.get(
            f"{self.base}{self.path('pods')}", headers={"Authorization": f"Bearer {token}"},
            verify=self.verify, timeout=10).status_code == 200, 30)
        return path

    def register(self, ca, https_port):
        """The webhook as deploy/webhook/webhooks.yaml registers it, at a URL on 127.0.0.1."""
        with open(ca, "rb") as f:
            ca_bundle = base64.b64encode(f.read()).decode()
        self.request("POST", "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations", {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": self.config_name,
                         "labels": {"app.kubernetes.io/name": "primehub-webhook",
                                    "app.kubernetes.io/part-of": "primehub"}},
            "webhooks": [{
                "name": WEBHOOK_NAME,
                "clientConfig": {"url": f"https://127.0.0.1:{https_port}/", "caBundle": ca_bundle},
                "rules": [{"apiGroups": ["*"], "apiVersions": ["*"], "operations": ["CREATE"],
                           "resources": ["pods"]}],
                "namespaceSelector": {"matchLabels": {
                    "primehub.io/admission-webhook": "enabled",
                    "kubernetes.io/metadata.name": self.namespace}},
                "failurePolicy": "Ignore",
                "sideEffects": "None",
                "admissionReviewVersions": ["v1"],
            }]})
        self.registered = True
        # The API server picks the configuration up within moments: dry-run creates (webhooks
        # with sideEffects None are called for them) until the sentinel comes back removed.
        probe = {"apiVersion": "v1", "kind": "Pod",
                 "metadata": {"name": "probe", "labels": {"primehub.io/group": "escaped-probe",
                                                          "primehub.io/user": "escaped-probe"}},
                 "spec": {"initContainers": [{"name": SENTINEL, "image": SENTINEL,
                                              "command": ["false"]}],
                          "containers": [{"name": "main", "image": "busybox", "resources": {
                              "limits": {"cpu": "100m", "memory": "64Mi"}}}]}}

        def called():
            pod = self.request("POST", self.path("pods"), probe, params={"dryRun": "All"})
            return not (pod["spec"].get("initContainers") or [])
        wait_for("the API server calls the webhook", called, 30, 0.3)

    # ---------------------------------------------------------------- checks
    def decisions(self):
        """primehub-webhook's quota decisions so far, by outcome."""
        text = requests.get(self.webhook_metrics, timeout=10).text
        out = {}
        for line in text.splitlines():
            if line.startswith("primehub_webhook_quota_decisions_total{"):
                series, value = line.rsplit(" ", 1)
                outcome = series.split('outcome="', 1)[1].split('"', 1)[0]
                out[outcome] = float(value)
        return out

    def check_decisions(self, **want):
        """The webhook's quota decisions since registration (the probes are not counted: their
        group is unknown) are `want` (e.g. allowed=2, denied=1); the counts."""
        now = self.decisions()
        since = {k: now.get(k, 0) - self.baseline.get(k, 0) for k in set(now) | set(want)}
        got = {k: since.get(k, 0) for k in want}
        if got != {k: float(v) for k, v in want.items()}:
            raise Failure(f"primehub-webhook's quota decisions since registration: {since}, "
                          f"expected {want}")
        return {k: int(v) for k, v in since.items() if v}

    # ---------------------------------------------------------------- teardown
    def release_claims(self):
        """The API server gives every claim the ``kubernetes.io/pvc-protection`` finalizer,
        which kube-controller-manager removes once no pod uses the claim; there is none here,
        so the test does it (its pods are gone) and the deleted claims really go."""
        for pvc in self.request("GET", self.path("persistentvolumeclaims")).get("items", []):
            self.request("PATCH", self.path("persistentvolumeclaims", pvc["metadata"]["name"]),
                         {"metadata": {"finalizers": None}}, ok=(200, 404),
                         headers={"Content-Type": "application/merge-patch+json"})
        wait_for("the claims gone", lambda: not self.request(
            "GET", self.path("persistentvolumeclaims")).get("items"), 30)

    def teardown(self):
        """Removes what setup made, each step whatever the others did; the errors."""
        errors = []

        def attempt(what, fn):
            try:
                fn()
            except Exception as e:  # noqa: BLE001  (clean up the rest, report it)
                errors.append(f"{what}: {e}")

        if self.registered:
            attempt("deleting the webhook configuration", lambda: self.request(
                "DELETE", "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/"
                + self.config_name, ok=(200, 202, 404)))
        if self.created_namespace:
            for resource in ("pods", "persistentvolumeclaims"):
                attempt(f"deleting the namespace's {resource}", lambda r=resource: self.request(
                    "DELETE", self.path(r), ok=(200, 202, 404)))
            attempt("releasing the claims", self.release_claims)
            for path in (f"/apis/rbac.authorization.k8s.io/v1/namespaces/{self.namespace}/rolebindings/primehub-webhook",
                         f"/apis/rbac.authorization.k8s.io/v1/namespaces/{self.namespace}/roles/primehub-webhook",
                         self.path("serviceaccounts", "primehub-webhook")):
                attempt(f"deleting {path}", lambda p=path: self.request("DELETE", p, ok=(200, 202, 404)))
            # stays Terminating: the namespace controller is kube-controller-manager's
            attempt("deleting the namespace", lambda: self.request(
                "DELETE", f"/api/v1/namespaces/{self.namespace}", ok=(200, 202, 404)))
        return errors

