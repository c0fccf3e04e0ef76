"""The scenarios: each one is run the same way on both targets, in a fresh namespace of its own
(`t.ns`), and records what kubectl and the Python client answered (`t.kubectl`, `t.call`,
`t.raw`). A scenario never depends on another one having run.

Add one with `@scenario("id")`; the id is what `known_differences.txt` and
`allowed_differences.txt` name. Keep scenarios small (one behaviour each) so that a fix turns a
whole scenario from `known` to `agree`.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import threading
import time
from typing import Any, Callable, Dict, List

from compat import Ctx, normalize_table, normalize_text

SCENARIOS: Dict[str, Callable[[Ctx], None]] = {}


def scenario(sid: str):
    def register(fn: Callable[[Ctx], None]) -> Callable[[Ctx], None]:
        if sid in SCENARIOS:
            raise ValueError(f"scenario {sid} defined twice")
        SCENARIOS[sid] = fn
        fn.__doc__ = fn.__doc__ or sid
        return fn

    return register


# --------------------------------------------------------------------------------------------
# Manifests


def deployment(name: str = "web", containers: List[dict] = None, labels: Dict[str, str] = None) -> dict:
    labels = labels or {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": dict(labels)},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": dict(labels)},
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {"containers": containers or [container("main")]},
            },
        },
    }


def container(name: str, image: str = "nginx:1.27", env: Dict[str, str] = None, ports: List[int] = None) -> dict:
    c: Dict[str, Any] = {"name": name, "image": image}
    if env:
        c["env"] = [{"name": k, "value": v} for k, v in env.items()]
    if ports:
        c["ports"] = [{"containerPort": p, "name": f"p{p}"} for p in ports]
    return c


def pod(name: str = "p", containers: List[dict] = None, labels: Dict[str, str] = None) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels or {"app": name}},
        "spec": {"containers": containers or [container("main")]},
    }


def configmap(name: str, data: Dict[str, str] = None, labels: Dict[str, str] = None) -> dict:
    cm: Dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}
    if labels:
        cm["metadata"]["labels"] = labels
    if data is not None:
        cm["data"] = data
    return cm


def service(name: str = "web") -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]},
    }


def phjob(name: str = "job-1", **spec_overrides: Any) -> dict:
    spec = {
        "displayName": "a job",
        "userId": "u-1",
        "userName": "alice",
        "groupId": "g-1",
        "groupName": "phusers",
        "instanceType": "cpu-1",
        "image": "base-notebook",
        "command": "echo hi",
    }
    spec.update(spec_overrides)
    return {"apiVersion": "primehub.io/v1alpha1", "kind": "PhJob", "metadata": {"name": name}, "spec": spec}


def image(name: str = "img-1", **spec: Any) -> dict:
    body = {"displayName": "an image", "type": "cpu", "url": "jupyter/base-notebook"}
    body.update(spec)
    return {"apiVersion": "primehub.io/v1alpha1", "kind": "Image", "metadata": {"name": name}, "spec": body}


def apply(t: Ctx, step: str, obj: Any, *flags: str, out: str = "text", err: str = "text") -> subprocess.CompletedProcess:
    return t.kubectl(step, "apply", "-f", t.file(f"{step}.yaml", obj), *flags, out=out, err=err)


def get_json(t: Ctx, step: str, kind: str, name: str) -> subprocess.CompletedProcess:
    return t.kubectl(step, "get", kind, name, "-o", "json", out="json")


def slim_pod_spec(spec: dict) -> dict:
    """The part of a pod spec a patch test is about: the containers' names, images, env and
    ports, and any `$` key (a strategic-merge directive must never be stored). Defaults are
    left out so that a patch scenario does not also test defaulting."""
    def slim(value: Any, keys: tuple) -> Any:
        if not isinstance(value, dict):
            return value
        return {k: v for k, v in value.items() if k in keys or k.startswith("$")}

    out = slim(spec, ("containers",))
    out["containers"] = [
        {**slim(c, ("name", "image", "env")), **({"ports": [slim(p, ("containerPort", "name")) for p in c["ports"]]} if c.get("ports") else {})}
        for c in spec.get("containers", [])
    ]
    return out


def get_containers(t: Ctx, step: str, kind: str, name: str) -> None:
    """Records a Deployment's or Pod's labels and slimmed pod spec (`slim_pod_spec`)."""
    proc = t.kubectl(step, "get", kind, name, "-o", "json", out="ignore")
    if proc.returncode != 0:
        t.record(step + " (failed)", stderr=proc.stderr)
        return
    obj = json.loads(proc.stdout)
    spec = obj["spec"]["template"]["spec"] if kind.startswith("deploy") else obj["spec"]
    t.record(step + " containers", labels=obj["metadata"].get("labels"), spec=slim_pod_spec(spec))


def create(t: Ctx, obj: dict) -> None:
    """Creates an object as setup, with the Python client's dynamic create (recorded: a
    setup that fails on one target only is a difference too)."""
    kind = obj["kind"]
    if kind == "Deployment":
        t.call(f"setup {kind} {obj['metadata']['name']}", t.apps.create_namespaced_deployment, t.ns, obj, keep=lambda v: v["metadata"]["name"])
    elif kind == "Pod":
        t.call(f"setup {kind} {obj['metadata']['name']}", t.core.create_namespaced_pod, t.ns, obj, keep=lambda v: v["metadata"]["name"])
    elif kind == "ConfigMap":
        t.call(f"setup {kind} {obj['metadata']['name']}", t.core.create_namespaced_config_map, t.ns, obj, keep=lambda v: v["metadata"]["name"])
    elif kind == "Service":
        t.call(f"setup {kind} {obj['metadata']['name']}", t.core.create_namespaced_service, t.ns, obj, keep=lambda v: v["metadata"]["name"])
    elif obj["apiVersion"].startswith("primehub.io/"):
        plural = {"PhJob": "phjobs", "Image": "images"}[kind]
        t.call(f"setup {kind} {obj['metadata']['name']}", t.custom.create_namespaced_custom_object, "primehub.io", "v1alpha1", t.ns, plural, obj, keep=lambda v: v["metadata"]["name"])
    else:
        raise ValueError(kind)


# --------------------------------------------------------------------------------------------
# kubectl apply twice


@scenario("apply-deployment-lists")
def _(t: Ctx) -> None:
    """kubectl apply of a Deployment, then again with a changed container, env and port list
    (a container removed, one added, an env var changed and one removed, a port added)."""
    first = deployment(containers=[
        container("a", env={"X1": "1", "X2": "2"}, ports=[80]),
        container("b", image="busybox:1.36", env={"X3": "3"}),
    ])
    apply(t, "apply 1", first)
    second = deployment(containers=[
        container("a", env={"X1": "10"}, ports=[80, 443]),
        container("c", image="redis:7"),
    ])
    apply(t, "apply 2", second)
    get_containers(t, "get", "deployment", "web")


@scenario("apply-deployment-unchanged")
def _(t: Ctx) -> None:
    """kubectl apply of the same Deployment twice: the second answers `unchanged`."""
    d = deployment(containers=[container("a", env={"X": "1"}, ports=[80])])
    apply(t, "apply 1", d)
    apply(t, "apply 2", d)
    get_json(t, "get", "deployment", "web")


@scenario("apply-deployment-drops-field")
def _(t: Ctx) -> None:
    """A field set by the first apply and left out of the second is removed (three-way merge
    with last-applied-configuration), a field set by someone else is kept."""
    d = deployment(containers=[container("a", env={"X": "1"})])
    d["spec"]["minReadySeconds"] = 5
    apply(t, "apply 1", d)
    t.kubectl("label", "label", "deployment", "web", "extra=yes")
    d2 = copy.deepcopy(d)
    del d2["spec"]["minReadySeconds"]
    apply(t, "apply 2", d2)
    t.kubectl("get", "get", "deployment", "web", "-o", "jsonpath={.spec.minReadySeconds}|{.metadata.labels}")


@scenario("apply-pod-image")
def _(t: Ctx) -> None:
    """kubectl apply of a Pod, then again with another image of one of its two containers and a
    new label (the mutable parts of a pod)."""
    apply(t, "apply 1", pod(containers=[container("a"), container("b", image="busybox:1.36")]))
    apply(t, "apply 2", pod(containers=[container("a", image="nginx:1.28"), container("b", image="busybox:1.36")], labels={"app": "p", "v": "2"}))
    get_containers(t, "get", "pod", "p")


@scenario("apply-pod-env-forbidden")
def _(t: Ctx) -> None:
    """kubectl apply of a Pod, then again with a changed env and port list: pod specs are
    immutable beyond images (and a few fields), so the second apply is Invalid."""
    apply(t, "apply 1", pod(containers=[container("a", env={"X": "1"}, ports=[80])]))
    apply(t, "apply 2", pod(containers=[container("a", env={"X": "2"}, ports=[80, 81])]), err="reason")
    get_json(t, "get", "pod", "p")


# --------------------------------------------------------------------------------------------
# patch types


@scenario("patch-strategic-deployment-containers")
def _(t: Ctx) -> None:
    """kubectl patch (strategic merge by default) of a Deployment's containers: a container is
    merged by name, the others stay."""
    create(t, deployment(containers=[container("a"), container("b", image="busybox:1.36")]))
    t.kubectl("patch", "patch", "deployment", "web", "-p",
              '{"spec":{"template":{"spec":{"containers":[{"name":"b","image":"busybox:1.37","env":[{"name":"E","value":"1"}]}]}}}}')
    get_containers(t, "get", "deployment", "web")


@scenario("patch-strategic-delete-directive")
def _(t: Ctx) -> None:
    """A strategic merge patch with `$patch: delete` removes one container by name."""
    create(t, deployment(containers=[container("a"), container("b", image="busybox:1.36")]))
    t.kubectl("patch", "patch", "deployment", "web", "-p",
              '{"spec":{"template":{"spec":{"containers":[{"name":"a","$patch":"delete"}]}}}}')
    get_containers(t, "get", "deployment", "web")


@scenario("patch-strategic-labels")
def _(t: Ctx) -> None:
    """A strategic merge patch of labels (a map: merged, a null removes a key)."""
    create(t, configmap("c", {"a": "1"}, labels={"x": "1", "y": "2"}))
    t.kubectl("patch", "patch", "configmap", "c", "-p", '{"metadata":{"labels":{"y":null,"z":"3"}},"data":{"b":"2"}}')
    get_json(t, "get", "configmap", "c")


@scenario("patch-merge-deployment")
def _(t: Ctx) -> None:
    """kubectl patch --type merge replaces the container list."""
    create(t, deployment(containers=[container("a"), container("b", image="busybox:1.36")]))
    t.kubectl("patch", "patch", "deployment", "web", "--type", "merge", "-p",
              '{"spec":{"replicas":3,"template":{"spec":{"containers":[{"name":"c","image":"redis:7"}]}}}}')
    get_containers(t, "get", "deployment", "web")


@scenario("patch-json-deployment")
def _(t: Ctx) -> None:
    """kubectl patch --type json: add an env entry, replace an image, remove a label."""
    d = deployment(containers=[container("a", env={"X": "1"})])
    d["metadata"]["labels"]["extra"] = "yes"
    create(t, d)
    t.kubectl("patch", "patch", "deployment", "web", "--type", "json", "-p",
              '[{"op":"add","path":"/spec/template/spec/containers/0/env/-","value":{"name":"X2","value":"2"}},'
              '{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"nginx:1.28"},'
              '{"op":"remove","path":"/metadata/labels/extra"}]')
    get_containers(t, "get", "deployment", "web")


@scenario("patch-json-test-fails")
def _(t: Ctx) -> None:
    """A JSON patch whose `test` operation fails is refused and changes nothing."""
    create(t, configmap("c", {"a": "1"}))
    t.kubectl("patch", "patch", "configmap", "c", "--type", "json", "-p",
              '[{"op":"test","path":"/data/a","value":"2"},{"op":"replace","path":"/data/a","value":"3"}]')
    get_json(t, "get", "configmap", "c")


@scenario("patch-json-bad-path")
def _(t: Ctx) -> None:
    """A JSON patch removing a path that does not exist is refused."""
    create(t, configmap("c", {"a": "1"}))
    t.kubectl("patch", "patch", "configmap", "c", "--type", "json", "-p", '[{"op":"remove","path":"/data/nope"}]')


@scenario("apply-server-side")
def _(t: Ctx) -> None:
    """kubectl apply --server-side creates a ConfigMap, then updates it."""
    apply(t, "ssa 1", configmap("c", {"a": "1"}), "--server-side")
    apply(t, "ssa 2", configmap("c", {"a": "2", "b": "3"}), "--server-side")
    get_json(t, "get", "configmap", "c")


@scenario("py-patch-custom-object-default")
def _(t: Ctx) -> None:
    """The Python client's patch of a custom object with a dict body is sent as a strategic
    merge patch, which custom resources do not support."""
    create(t, phjob())
    t.call("patch", t.custom.patch_namespaced_custom_object, "primehub.io", "v1alpha1", t.ns, "phjobs", "job-1", {"spec": {"displayName": "renamed"}})
    get_json(t, "get", "phjob", "job-1")


@scenario("patch-merge-custom-object")
def _(t: Ctx) -> None:
    """kubectl patch --type merge of a PhJob."""
    create(t, phjob())
    t.kubectl("patch", "patch", "phjob", "job-1", "--type", "merge", "-p", '{"spec":{"displayName":"renamed","cancel":true}}')
    get_json(t, "get", "phjob", "job-1")


@scenario("patch-strategic-custom-object")
def _(t: Ctx) -> None:
    """kubectl patch (strategic by default) of a PhJob: kubectl asks for a merge patch
    for custom resources."""
    create(t, phjob())
    t.kubectl("patch", "patch", "phjob", "job-1", "-p", '{"spec":{"displayName":"renamed"}}')
    get_json(t, "get", "phjob", "job-1")


# --------------------------------------------------------------------------------------------
# kubectl create


@scenario("create-configmap")
def _(t: Ctx) -> None:
    t.kubectl("create", "create", "configmap", "c", "--from-literal=a=1", "--from-literal=b=two")
    get_json(t, "get", "configmap", "c")


@scenario("create-configmap-duplicate")
def _(t: Ctx) -> None:
    """A second create of the same name is AlreadyExists."""
    t.kubectl("create 1", "create", "configmap", "c", "--from-literal=a=1")
    t.kubectl("create 2", "create", "configmap", "c", "--from-literal=a=2")


@scenario("create-secret-generic")
def _(t: Ctx) -> None:
    t.kubectl("create", "create", "secret", "generic", "s", "--from-literal=password=hunter2", "--type=Opaque")
    get_json(t, "get", "secret", "s")


@scenario("create-namespace")
def _(t: Ctx) -> None:
    name = f"{t.ns}-x"
    t.extra_namespaces.append(name)
    t.kubectl("create", "create", "namespace", name, namespaced=False)
    t.kubectl("get", "get", "namespace", name, "-o", "json", out="json", namespaced=False)


@scenario("create-deployment")
def _(t: Ctx) -> None:
    """kubectl create deployment: the server's defaults on the stored object."""
    t.kubectl("create", "create", "deployment", "web", "--image=nginx:1.27", "--replicas=2", "--port=80")
    get_json(t, "get", "deployment", "web")


@scenario("create-service-clusterip")
def _(t: Ctx) -> None:
    """kubectl create service clusterip: defaults and an allocated cluster IP."""
    t.kubectl("create", "create", "service", "clusterip", "web", "--tcp=80:8080")
    get_json(t, "get", "service", "web")


@scenario("create-serviceaccount")
def _(t: Ctx) -> None:
    t.kubectl("create", "create", "serviceaccount", "robot")
    get_json(t, "get", "serviceaccount", "robot")


@scenario("create-invalid-name")
def _(t: Ctx) -> None:
    """A ConfigMap named with capitals is Invalid (DNS subdomain rule)."""
    t.kubectl("create", "create", "configmap", "Bad_Name", "--from-literal=a=1")


@scenario("create-pod-defaults")
def _(t: Ctx) -> None:
    """The Python client creates a minimal pod: the server's defaults on the answer."""
    t.call("create", t.core.create_namespaced_pod, t.ns, pod(containers=[container("a")]))


@scenario("create-pod-no-containers")
def _(t: Ctx) -> None:
    """A pod without containers is Invalid (spec.containers: Required value)."""
    t.call("create", t.core.create_namespaced_pod, t.ns, {"metadata": {"name": "p"}, "spec": {"containers": []}})


@scenario("create-label-invalid-value")
def _(t: Ctx) -> None:
    """A label value with a space is Invalid."""
    t.call("create", t.core.create_namespaced_config_map, t.ns, configmap("c", {"a": "1"}, labels={"x": "bad value"}))


@scenario("create-dry-run-server")
def _(t: Ctx) -> None:
    """kubectl create --dry-run=server prints the object as it would be stored; nothing is stored."""
    t.kubectl("create", "create", "configmap", "c", "--from-literal=a=1", "--dry-run=server", "-o", "json", out="json")
    t.kubectl("get", "get", "configmap", "c", "--ignore-not-found", "-o", "name")


# --------------------------------------------------------------------------------------------
# kubectl get: short names, Table output


for short in ("po", "ns", "cm", "deploy", "svc", "sa"):
    def _short(t: Ctx, short: str = short) -> None:
        create(t, configmap("c", {"a": "1"}))
        create(t, pod())
        create(t, deployment())
        create(t, service())
        t.call("setup ServiceAccount", t.core.create_namespaced_service_account, t.ns, {"metadata": {"name": "robot"}}, keep=lambda v: v["metadata"]["name"])
        if short == "ns":
            t.kubectl(f"get {short}", "get", short, t.ns, "-o", "name", namespaced=False)
        else:
            t.kubectl(f"get {short}", "get", short, "-o", "name", out="lines")

    _short.__doc__ = f"kubectl get {short} (a short name from discovery)"
    scenario(f"shortname-{short}")(_short)


@scenario("shortname-phjob")
def _(t: Ctx) -> None:
    """kubectl get phjob (the CRD's singular name) and phjobs."""
    create(t, phjob())
    t.kubectl("get phjob", "get", "phjob", "-o", "name")
    t.kubectl("get phjobs.primehub.io", "get", "phjobs.primehub.io", "-o", "name")


@scenario("get-all")
def _(t: Ctx) -> None:
    """kubectl get all (the `all` category) as a Table."""
    create(t, pod())
    create(t, deployment())
    create(t, service())
    create(t, configmap("c", {"a": "1"}))
    t.kubectl("get all", "get", "all", out="table")


TABLES = {
    "pods": lambda t: create(t, pod(containers=[container("a"), container("b", image="busybox:1.36")])),
    "configmaps": lambda t: (create(t, configmap("c", {"a": "1", "b": "2"})), create(t, configmap("empty"))),
    "deployments": lambda t: create(t, deployment()),
    "services": lambda t: create(t, service()),
    "secrets": lambda t: t.call("setup", t.core.create_namespaced_secret, t.ns, {"metadata": {"name": "s"}, "stringData": {"a": "1"}}, keep=lambda v: v["metadata"]["name"]),
    "serviceaccounts": lambda t: t.call("setup", t.core.create_namespaced_service_account, t.ns, {"metadata": {"name": "robot"}}, keep=lambda v: v["metadata"]["name"]),
    "phjobs": lambda t: create(t, phjob()),
    "images": lambda t: create(t, image()),
}

for plural, setup in TABLES.items():
    def _table(t: Ctx, plural: str = plural, setup=setup) -> None:
        setup(t)
        t.kubectl(f"get {plural}", "get", plural, out="table")

    _table.__doc__ = f"kubectl get {plural}: the server's Table (columns and rows, ages ignored)"
    scenario(f"table-{plural}")(_table)


@scenario("table-namespaces")
def _(t: Ctx) -> None:
    t.kubectl("get namespace", "get", "namespace", t.ns, out="table", namespaced=False)


@scenario("table-pods-wide")
def _(t: Ctx) -> None:
    create(t, pod())
    t.kubectl("get pods -o wide", "get", "pods", "-o", "wide", out="table")


@scenario("table-show-labels")
def _(t: Ctx) -> None:
    create(t, configmap("c", {"a": "1"}, labels={"x": "1", "y": "2"}))
    t.kubectl("get --show-labels", "get", "configmaps", "--show-labels", out="table")


@scenario("get-not-found")
def _(t: Ctx) -> None:
    t.kubectl("get pod", "get", "pod", "nope")
    t.kubectl("get phjob", "get", "phjob", "nope")


@scenario("get-empty")
def _(t: Ctx) -> None:
    t.kubectl("get pods", "get", "pods")


@scenario("discovery-api-resources")
def _(t: Ctx) -> None:
    """kubectl api-resources -o wide rows of the kinds both servers serve (names, short names,
    group-version, namespaced, kind, verbs, categories)."""
    proc = t.kubectl("api-resources", "api-resources", "-o", "wide", out="ignore", namespaced=False)
    wanted = {
        ("pods", "v1"), ("configmaps", "v1"), ("namespaces", "v1"), ("services", "v1"),
        ("secrets", "v1"), ("serviceaccounts", "v1"), ("persistentvolumeclaims", "v1"),
        ("deployments", "apps/v1"), ("statefulsets", "apps/v1"), ("daemonsets", "apps/v1"),
        ("ingresses", "networking.k8s.io/v1"), ("roles", "rbac.authorization.k8s.io/v1"),
        ("customresourcedefinitions", "apiextensions.k8s.io/v1"),
        ("phjobs", "primehub.io/v1alpha1"), ("images", "primehub.io/v1alpha1"),
    }
    lines = proc.stdout.splitlines()
    header = lines[0] if lines else ""
    starts = [m.start() for m in re.finditer(r"\S+", header)]
    picked = []
    for line in lines[1:]:
        cells = [line[a:b].strip() for a, b in zip(starts, starts[1:] + [len(line)])]
        if len(cells) > 2 and (cells[0], cells[2]) in wanted:
            picked.append(cells)
    t.record("rows", rows=sorted(picked))


# --------------------------------------------------------------------------------------------
# explain, diff, dry run


@scenario("explain-pod-containers")
def _(t: Ctx) -> None:
    t.kubectl("explain", "explain", "pod.spec.containers", namespaced=False)


@scenario("explain-deployment-strategy-recursive")
def _(t: Ctx) -> None:
    t.kubectl("explain", "explain", "deployment.spec.strategy", "--recursive", namespaced=False)


@scenario("explain-phjob-spec")
def _(t: Ctx) -> None:
    t.kubectl("explain", "explain", "phjob.spec", namespaced=False)


@scenario("diff-changed")
def _(t: Ctx) -> None:
    """kubectl diff of a changed Deployment: exit 1 and the server's dry-run result as a diff."""
    apply(t, "apply", deployment(containers=[container("a", env={"X": "1"})]))
    changed = deployment(containers=[container("a", image="nginx:1.28", env={"X": "2"}), container("b", image="redis:7")])
    t.kubectl("diff", "diff", "-f", t.file("changed.yaml", changed), out="diff")
    get_json(t, "get", "deployment", "web")


@scenario("diff-unchanged")
def _(t: Ctx) -> None:
    d = deployment(containers=[container("a", env={"X": "1"})])
    apply(t, "apply", d)
    t.kubectl("diff", "diff", "-f", t.file("same.yaml", d), out="diff")


@scenario("diff-new")
def _(t: Ctx) -> None:
    t.kubectl("diff", "diff", "-f", t.file("new.yaml", configmap("c", {"a": "1"})), out="diff")


@scenario("apply-dry-run-server-create")
def _(t: Ctx) -> None:
    apply(t, "apply", deployment(), "--dry-run=server", "-o", "json", out="json")
    t.kubectl("get", "get", "deployment", "web")


@scenario("apply-dry-run-server-update")
def _(t: Ctx) -> None:
    apply(t, "apply", configmap("c", {"a": "1"}))
    apply(t, "apply dry", configmap("c", {"a": "2"}), "--dry-run=server", "-o", "json", out="json")
    get_json(t, "get", "configmap", "c")


@scenario("apply-dry-run-server-invalid")
def _(t: Ctx) -> None:
    """A server dry run of an invalid object answers as the real write would."""
    bad = deployment()
    bad["spec"]["replicas"] = -1
    apply(t, "apply", bad, "--dry-run=server", err="reason")


# --------------------------------------------------------------------------------------------
# watch


@scenario("watch-python")
def _(t: Ctx) -> None:
    """A Python watch from a list's resourceVersion sees a create, a patch and a delete."""
    from kubernetes import watch

    rv = t.core.list_namespaced_config_map(t.ns).metadata.resource_version
    t.core.create_namespaced_config_map(t.ns, configmap("w", {"a": "1"}))
    t.core.patch_namespaced_config_map("w", t.ns, {"data": {"b": "2"}})
    t.core.delete_namespaced_config_map("w", t.ns)
    seen = []
    w = watch.Watch()
    for event in w.stream(t.core.list_namespaced_config_map, t.ns, resource_version=rv, timeout_seconds=3, _request_timeout=10):
        seen.append([event["type"], event["object"].metadata.name, event["object"].data])
        if event["type"] == "DELETED":
            w.stop()
    t.record("events", events=seen)


@scenario("watch-python-selector")
def _(t: Ctx) -> None:
    """A watch with a label selector: an object that starts matching is ADDED, one that stops
    matching is DELETED."""
    from kubernetes import watch

    rv = t.core.list_namespaced_config_map(t.ns).metadata.resource_version
    t.core.create_namespaced_config_map(t.ns, configmap("w", {"a": "1"}, labels={"sel": "no"}))
    t.core.patch_namespaced_config_map("w", t.ns, {"metadata": {"labels": {"sel": "yes"}}})
    t.core.patch_namespaced_config_map("w", t.ns, {"data": {"b": "2"}})
    t.core.patch_namespaced_config_map("w", t.ns, {"metadata": {"labels": {"sel": "no"}}})
    seen = []
    w = watch.Watch()
    for event in w.stream(t.core.list_namespaced_config_map, t.ns, label_selector="sel=yes", resource_version=rv, timeout_seconds=2, _request_timeout=10):
        seen.append([event["type"], event["object"].metadata.name, event["object"].metadata.labels])
        if event["type"] == "DELETED":
            w.stop()
    t.record("events", events=seen)


@scenario("watch-flag-spellings")
def _(t: Ctx) -> None:
    """The `watch` query flag as Go's bool conversion reads it: every value but `0` and `false`
    (any case) starts a watch, so kubernetes_asyncio's `watch=True` (KubeSpawner) is a watch."""
    from compat import raw_request

    t.core.create_namespaced_config_map(t.ns, configmap("w", {"a": "1"}))
    path = f"/api/v1/namespaces/{t.ns}/configmaps"
    for value in ["True", "TRUE", "yes", "", "0", "FALSE", "false"]:
        status, ctype, data = raw_request(t.api, "GET", path, query=[("watch", value), ("timeoutSeconds", "1")])
        first = json.loads(data.decode().splitlines()[0]) if status == 200 and data else {}
        t.record(f"watch={value}", status=status, kind=first.get("kind"), type=first.get("type"))


def kubectl_watch(t: Ctx, *output: str) -> None:
    create(t, configmap("c0", {"a": "1"}))
    argv = t.kubectl_argv(["get", "configmaps", "-w", "--output-watch-events", *output])
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    # a watch that never prints must not hang the run: kill kubectl after 15 s whatever happens
    watchdog = threading.Timer(15, proc.kill)
    watchdog.start()
    lines: List[str] = []
    try:
        assert proc.stdout is not None
        if not output:
            lines.append(proc.stdout.readline())  # header
        lines.append(proc.stdout.readline())  # ADDED c0: the watch is established
        t.core.create_namespaced_config_map(t.ns, configmap("w", {"a": "1"}))
        t.core.patch_namespaced_config_map("w", t.ns, {"data": {"b": "2"}})
        t.core.delete_namespaced_config_map("w", t.ns)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("DELETED") or '"DELETED"' in line:
                break
    finally:
        watchdog.cancel()
        proc.kill()
        proc.wait()
    if output:
        t.record("watch", lines=[normalize_text(line) for line in lines])
    else:
        t.record("watch", rows=normalize_table("".join(lines)))


@scenario("watch-kubectl")
def _(t: Ctx) -> None:
    """kubectl get -w --output-watch-events (a Table) while a ConfigMap is created, patched and
    deleted."""
    kubectl_watch(t)


@scenario("watch-kubectl-events")
def _(t: Ctx) -> None:
    """The same watch printed with a jsonpath of the events (type, name, data): the events
    themselves, without the Table."""
    kubectl_watch(t, "-o", "jsonpath={.type} {.object.metadata.name} {.object.data}{\"\\n\"}")


# --------------------------------------------------------------------------------------------
# selectors and paging


def labelled(t: Ctx) -> None:
    create(t, configmap("a1", {"k": "v"}, labels={"app": "a", "env": "x", "tier": "web"}))
    create(t, configmap("a2", {"k": "v"}, labels={"app": "a", "env": "y"}))
    create(t, configmap("b1", {"k": "v"}, labels={"app": "b", "env": "z"}))
    create(t, configmap("n1", {}))


@scenario("label-selector-kubectl")
def _(t: Ctx) -> None:
    labelled(t)
    for sel in ("app=a", "app!=a", "env in (x,z)", "env notin (x)", "tier", "!tier", "app=a,env=y", "app==b"):
        t.kubectl(f"-l {sel}", "get", "configmaps", "-l", sel, "-o", "name", out="lines")


@scenario("label-selector-invalid")
def _(t: Ctx) -> None:
    t.kubectl("-l a=b=c", "get", "configmaps", "-l", "a=b=c")
    t.kubectl("-l bad key", "get", "configmaps", "-l", "a b")


@scenario("field-selector-kubectl")
def _(t: Ctx) -> None:
    labelled(t)
    t.kubectl("name", "get", "configmaps", "--field-selector", "metadata.name=a2", "-o", "name", out="lines")
    t.kubectl("name!=", "get", "configmaps", "--field-selector", "metadata.name!=a2", "-o", "name", out="lines")
    t.kubectl("namespace", "get", "configmaps", "--field-selector", f"metadata.namespace={t.ns}", "-o", "name", out="lines")


@scenario("field-selector-pod-fields")
def _(t: Ctx) -> None:
    create(t, pod("p1"))
    t.kubectl("status.phase", "get", "pods", "--field-selector", "status.phase=Pending", "-o", "name", out="lines")
    t.kubectl("spec.restartPolicy", "get", "pods", "--field-selector", "spec.restartPolicy=Always", "-o", "name", out="lines")
    t.kubectl("spec.nodeName", "get", "pods", "--field-selector", "spec.nodeName=", "-o", "name", out="lines")


@scenario("field-selector-unsupported")
def _(t: Ctx) -> None:
    """A field label the kind does not support is BadRequest (only metadata.name and
    metadata.namespace for ConfigMaps)."""
    labelled(t)
    t.kubectl("data.k", "get", "configmaps", "--field-selector", "data.k=v")
    t.call("python", t.core.list_namespaced_config_map, t.ns, field_selector="spec.foo=bar")


@scenario("selectors-python")
def _(t: Ctx) -> None:
    labelled(t)
    names = lambda v: sorted(i["metadata"]["name"] for i in v["items"])
    t.call("label", t.core.list_namespaced_config_map, t.ns, label_selector="app=a,env!=y", keep=names)
    t.call("field", t.core.list_namespaced_config_map, t.ns, field_selector="metadata.name=b1", keep=names)
    t.call("both", t.core.list_namespaced_config_map, t.ns, label_selector="env", field_selector="metadata.name!=a1", keep=names)
    t.call("invalid label", t.core.list_namespaced_config_map, t.ns, label_selector="app in a")


def many(t: Ctx, n: int = 7) -> None:
    for i in range(n):
        t.core.create_namespaced_config_map(t.ns, configmap(f"c{i}", {"i": str(i)}))
    t.record("setup", count=n)


@scenario("paging-kubectl")
def _(t: Ctx) -> None:
    many(t)
    t.kubectl("--chunk-size=2", "get", "configmaps", "--chunk-size=2", "-o", "name")
    t.kubectl("--chunk-size=2 table", "get", "configmaps", "--chunk-size=2", out="table")


@scenario("paging-python")
def _(t: Ctx) -> None:
    many(t)
    pages = []
    token = None
    for _ in range(10):
        kw = {"limit": 3}
        if token:
            kw["_continue"] = token
        page = t.core.list_namespaced_config_map(t.ns, **kw)
        pages.append({
            "names": [i.metadata.name for i in page.items],
            "continue": bool(page.metadata._continue),
            "remaining": page.metadata.remaining_item_count,
        })
        token = page.metadata._continue
        if not token:
            break
    t.record("pages", pages=pages)


@scenario("paging-invalid-continue")
def _(t: Ctx) -> None:
    many(t, 2)
    t.call("bad token", t.core.list_namespaced_config_map, t.ns, limit=1, _continue="not-a-token")


# --------------------------------------------------------------------------------------------
# custom resources: validation and pruning


@scenario("crd-phjob-apply")
def _(t: Ctx) -> None:
    apply(t, "apply", phjob())
    get_json(t, "get", "phjob", "job-1")


@scenario("crd-phjob-invalid-type-apply")
def _(t: Ctx) -> None:
    apply(t, "apply", phjob(activeDeadlineSeconds="soon"))
    t.kubectl("get", "get", "phjob", "job-1")


@scenario("crd-phjob-missing-required-apply")
def _(t: Ctx) -> None:
    job = phjob()
    del job["spec"]["command"]
    apply(t, "apply", job)


@scenario("crd-phjob-unknown-field-apply")
def _(t: Ctx) -> None:
    """kubectl apply (strict field validation by default) of a PhJob with an unknown field."""
    apply(t, "apply", phjob(colour="blue"))
    t.kubectl("get", "get", "phjob", "job-1")


@scenario("crd-phjob-unknown-field-validate-false")
def _(t: Ctx) -> None:
    """With --validate=false the unknown field is pruned and the object stored."""
    apply(t, "apply", phjob(colour="blue"), "--validate=false")
    get_json(t, "get", "phjob", "job-1")


@scenario("crd-phjob-unknown-field-python")
def _(t: Ctx) -> None:
    """The Python client's create (no fieldValidation: the server warns) prunes the field."""
    t.call("create", t.custom.create_namespaced_custom_object, "primehub.io", "v1alpha1", t.ns, "phjobs", phjob(colour="blue"))
    t.call("create strict", t.custom.create_namespaced_custom_object, "primehub.io", "v1alpha1", t.ns, "phjobs", phjob("job-2", colour="blue"), field_validation="Strict")


@scenario("crd-phjob-invalid-type-python")
def _(t: Ctx) -> None:
    t.call("create", t.custom.create_namespaced_custom_object, "primehub.io", "v1alpha1", t.ns, "phjobs", phjob(requeueLimit="x"))


@scenario("crd-image-invalid-type-apply")
def _(t: Ctx) -> None:
    apply(t, "apply", image(imageSpec={"baseImage": "x", "cancel": "yes"}))


@scenario("crd-image-unknown-field-apply")
def _(t: Ctx) -> None:
    apply(t, "apply", image(shape="round"))


@scenario("crd-image-defaulting")
def _(t: Ctx) -> None:
    """The CRD's schema default (imageSpec.baseImage: "") is applied on create."""
    t.call("create", t.custom.create_namespaced_custom_object, "primehub.io", "v1alpha1", t.ns, "images", image(imageSpec={"packages": {"pip": ["numpy"]}}))


@scenario("builtin-unknown-field-apply")
def _(t: Ctx) -> None:
    """kubectl apply (strict) of a Deployment with an unknown field."""
    d = deployment()
    d["spec"]["colour"] = "blue"
    apply(t, "apply", d)


@scenario("builtin-unknown-field-validate-false")
def _(t: Ctx) -> None:
    d = deployment()
    d["spec"]["colour"] = "blue"
    apply(t, "apply", d, "--validate=false")
    get_json(t, "get", "deployment", "web")


@scenario("builtin-wrong-type-apply")
def _(t: Ctx) -> None:
    d = deployment()
    d["spec"]["replicas"] = "three"
    apply(t, "apply", d)


@scenario("builtin-wrong-type-apply-existing")
def _(t: Ctx) -> None:
    """kubectl apply of a wrong type onto an existing Deployment: a strategic merge patch whose
    result kube-apiserver cannot convert (422 quoting the patch as Go prints it)."""
    apply(t, "first", deployment())
    d = deployment()
    d["spec"]["replicas"] = "three"
    apply(t, "second", d)

@scenario("builtin-wrong-type-pod-python")
def _(t: Ctx) -> None:
    """Wrong JSON types in a Pod: kube-apiserver's 400 names the Go struct field and type."""
    # The Python client checks types itself: the bodies go raw, as another client's would.
    pods = f"/api/v1/namespaces/{t.ns}/pods"
    json_body = {"Content-Type": "application/json"}
    p = pod()
    p["spec"]["containers"][0]["ports"] = [{"containerPort": "80"}]
    t.raw("string port", "POST", pods, body=p, headers=json_body)
    p = pod()
    p["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "lots"}}
    t.raw("bad quantity", "POST", pods, body=p, headers=json_body)
    p = pod()
    p["spec"]["volumes"] = [{"name": "v", "hostPath": "/tmp"}]
    t.raw("string for a struct", "POST", pods, body=p, headers=json_body)
    p = pod()
    p["spec"]["activeDeadlineSeconds"] = 1.5
    t.raw("fraction for an integer", "POST", pods, body=p, headers=json_body)


@scenario("validate-pod-bad-port-kubectl")
def _(t: Ctx) -> None:
    """A container port out of range and a bad port name: 422 with both causes."""
    p = pod()
    p["spec"]["containers"][0]["ports"] = [{"containerPort": 70000, "name": "Web_Port"}]
    apply(t, "apply", p)


@scenario("validate-pod-bad-container-python")
def _(t: Ctx) -> None:
    """A bad container name, a missing image, a mount of no volume, a duplicate name."""
    p = pod(containers=[
        {"name": "Main", "image": ""},
        {"name": "side", "image": "busybox", "volumeMounts": [{"name": "data", "mountPath": "/data"}]},
        {"name": "side", "image": "busybox"},
    ])
    t.call("create", t.core.create_namespaced_pod, t.ns, p)


@scenario("validate-pod-requests-over-limits-dry-run")
def _(t: Ctx) -> None:
    """Requests above limits, in a server dry run: the quantities as kube-apiserver prints them."""
    p = pod()
    p["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1.5", "memory": "1024Mi"}}
    apply(t, "apply", p, "--dry-run=server")


@scenario("validate-deployment-selector-python")
def _(t: Ctx) -> None:
    """A Deployment whose selector does not match its template, and one without a selector."""
    d = deployment()
    d["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    t.call("mismatch", t.apps.create_namespaced_deployment, t.ns, d)
    d = deployment()
    del d["spec"]["selector"]
    t.raw("missing", "POST", f"/apis/apps/v1/namespaces/{t.ns}/deployments", body=d, headers={"Content-Type": "application/json"})


@scenario("validate-service-and-claim-kubectl")
def _(t: Ctx) -> None:
    """A Service without ports and a claim without access modes or storage."""
    s = service()
    s["spec"]["ports"] = []
    apply(t, "service", s)
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c"}, "spec": {"resources": {"requests": {}}}}
    apply(t, "claim", claim)


@scenario("validate-configmap-key-patch-python")
def _(t: Ctx) -> None:
    """A merge patch that adds a bad ConfigMap key is refused like a create."""
    create(t, configmap("c", {"a": "1"}))
    t.call("patch", t.core.patch_namespaced_config_map, "c", t.ns, {"data": {"bad key": "2"}})


# --------------------------------------------------------------------------------------------
# quantities: stored as kube-apiserver's Go types write them back


def odd_resources() -> dict:
    """Container resources written the long way round (`1000m`, `1.5Gi`, `0.5`, a value finer
    than milli units — a fractional byte value kube-apiserver warns about —, an exponent it keeps
    as written)."""
    return {
        "limits": {"cpu": "1000m", "memory": "1.5Gi", "ephemeral-storage": "1.0001", "example.com/gpu": "1e3"},
        "requests": {"cpu": "0.5", "memory": "2048Ki"},
    }


@scenario("quantities-apply-get-kubectl")
def _(t: Ctx) -> None:
    """kubectl apply of a pod, a Deployment and a claim with non-canonical quantities, then
    `get -o json`: each Quantity reads back in kube-apiserver's canonical form."""
    p = pod(containers=[{**container("main"), "resources": odd_resources()}])
    p["spec"]["initContainers"] = [{**container("init", image="busybox"), "resources": {"limits": {"cpu": "0.9995"}}}]
    p["spec"]["volumes"] = [{"name": "a", "emptyDir": {"sizeLimit": "0.0005"}}, {"name": "b", "emptyDir": {"sizeLimit": "1024Mi"}}]
    d = deployment(containers=[{**container("main"), "resources": {"limits": {"cpu": "100.0m", "memory": "0.5Gi"}}}])
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c"},
             "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1024Mi"}}}}
    apply(t, "apply", [p, d, claim])
    get_json(t, "get pod", "pod", "p")
    get_json(t, "get deployment", "deployment", "web")
    get_json(t, "get claim", "pvc", "c")
    # Applying the same values again changes nothing (no new generation).
    apply(t, "apply again", [p, d, claim])
    t.kubectl("generation", "get", "deployment", "web", "-o", "jsonpath={.metadata.generation}")


@scenario("quantities-python-read")
def _(t: Ctx) -> None:
    """The Python client creates a pod and a Deployment with non-canonical quantities and reads
    them back (get, list): the canonical strings survive its deserialization."""
    p = pod(containers=[{**container("main"), "resources": odd_resources()}])
    resources = lambda v: [c["resources"] for c in v["spec"]["containers"]]
    t.call("create pod", t.core.create_namespaced_pod, t.ns, p, keep=resources)
    t.call("read pod", t.core.read_namespaced_pod, "p", t.ns, keep=resources)
    t.call("list pods", t.core.list_namespaced_pod, t.ns, keep=lambda v: [resources(i) for i in v["items"]])
    d = deployment(containers=[{**container("main"), "resources": {"limits": {"cpu": "1.5", "memory": "1048576Ki"}}}])
    template = lambda v: [c["resources"] for c in v["spec"]["template"]["spec"]["containers"]]
    t.call("create deployment", t.apps.create_namespaced_deployment, t.ns, d, keep=template)
    t.call("patch deployment", t.apps.patch_namespaced_deployment, "web", t.ns,
           {"spec": {"template": {"spec": {"containers": [{"name": "main", "resources": {"limits": {"cpu": "2000m"}}}]}}}},
           keep=template)
    t.call("read deployment", t.apps.read_namespaced_deployment, "web", t.ns, keep=template)


@scenario("quantities-fractional-extended-resource")
def _(t: Ctx) -> None:
    """A fractional extended resource (`example.com/gpu: 0.5`) is refused with 422 `must be an
    integer`, by kubectl apply and by the Python client (and in a Deployment's template)."""
    p = pod(containers=[{**container("main"), "resources": {"limits": {"example.com/gpu": "0.5"}}}])
    apply(t, "apply", p)
    t.call("create", t.core.create_namespaced_pod, t.ns, p)
    d = deployment(containers=[{**container("main"), "resources": {"limits": {"example.com/gpu": "1.5"}}}])
    t.call("create deployment", t.apps.create_namespaced_deployment, t.ns, d)
    p = pod(containers=[{**container("main"), "resources": {"limits": {"example.com/gpu": "2"}, "requests": {"example.com/gpu": "1"}}}])
    apply(t, "request below limit", p)


# --------------------------------------------------------------------------------------------
# delete


@scenario("delete-kubectl")
def _(t: Ctx) -> None:
    create(t, configmap("a", {"k": "v"}))
    create(t, configmap("b", {"k": "v"}, labels={"x": "1"}))
    create(t, configmap("c", {"k": "v"}, labels={"x": "1"}))
    t.kubectl("delete one", "delete", "configmap", "a")
    t.kubectl("delete missing", "delete", "configmap", "a")
    t.kubectl("delete by label", "delete", "configmaps", "-l", "x=1", out="lines")
    t.kubectl("delete ignore", "delete", "configmap", "nope", "--ignore-not-found")
    t.kubectl("left", "get", "configmaps", "-o", "name")


@scenario("delete-pod-and-deployment-kubectl")
def _(t: Ctx) -> None:
    create(t, pod())
    create(t, deployment())
    t.kubectl("delete pod", "delete", "pod", "p")
    t.kubectl("delete deployment", "delete", "deployment", "web")
    t.kubectl("delete -o name", "delete", "pods,deployments", "--all", "-o", "name")


@scenario("delete-answers-python")
def _(t: Ctx) -> None:
    """The bodies DELETE answers: a Status for an object that is gone at once, the object for one
    that stays (a finalizer), NotFound for a missing one."""
    create(t, configmap("a", {"k": "v"}))
    create(t, pod())
    cm = configmap("f", {"k": "v"})
    cm["metadata"]["finalizers"] = ["example.com/keep"]
    create(t, cm)
    t.raw("delete configmap", "DELETE", f"/api/v1/namespaces/{t.ns}/configmaps/a")
    t.raw("delete pod", "DELETE", f"/api/v1/namespaces/{t.ns}/pods/p")
    t.raw("delete finalized", "DELETE", f"/api/v1/namespaces/{t.ns}/configmaps/f")
    t.raw("delete missing", "DELETE", f"/api/v1/namespaces/{t.ns}/configmaps/a")
    t.call("unfinalize", t.core.patch_namespaced_config_map, "f", t.ns, {"metadata": {"finalizers": None}}, keep=lambda v: v["metadata"]["name"])
    t.call("gone", t.core.read_namespaced_config_map, "f", t.ns)


@scenario("delete-collection-python")
def _(t: Ctx) -> None:
    labelled(t)
    t.raw("deletecollection", "DELETE", f"/api/v1/namespaces/{t.ns}/configmaps", query=[("labelSelector", "app=a")],
          keep_body=True)
    t.call("left", t.core.list_namespaced_config_map, t.ns, keep=lambda v: sorted(i["metadata"]["name"] for i in v["items"]))


# --------------------------------------------------------------------------------------------
# the Python client's CRUD


@scenario("py-pod-read")
def _(t: Ctx) -> None:
    t.call("create", t.core.create_namespaced_pod, t.ns, pod(), keep=lambda v: v["metadata"]["name"])
    t.call("read", t.core.read_namespaced_pod, "p", t.ns)
    t.call("read missing", t.core.read_namespaced_pod, "nope", t.ns)


@scenario("py-patch-pod-strategic")
def _(t: Ctx) -> None:
    """patch_namespaced_pod (a strategic merge patch) of one container's image by name on a
    pod with two containers."""
    create(t, pod(containers=[container("a"), container("b", image="busybox:1.36")]))
    t.call("patch", t.core.patch_namespaced_pod, "p", t.ns, {"spec": {"containers": [{"name": "b", "image": "busybox:1.37"}]}},
           keep=lambda v: slim_pod_spec(v["spec"]))


@scenario("py-patch-pod-labels")
def _(t: Ctx) -> None:
    create(t, pod())
    t.call("patch", t.core.patch_namespaced_pod, "p", t.ns, {"metadata": {"labels": {"v": "2"}, "annotations": {"note": "x"}}},
           keep=lambda v: v["metadata"])


@scenario("py-patch-pod-forbidden")
def _(t: Ctx) -> None:
    """Changing a pod's env through a patch is Invalid."""
    create(t, pod(containers=[container("a", env={"X": "1"})]))
    t.call("patch", t.core.patch_namespaced_pod, "p", t.ns, {"spec": {"containers": [{"name": "a", "env": [{"name": "X", "value": "2"}]}]}})


def rich_pod() -> dict:
    """A pod whose spec reaches many internal struct kinds: volumes (an emptyDir with a size
    limit, a ConfigMap with items, an ephemeral claim template with labels), probes with a
    named port, resources given in non-canonical quantities, security contexts, host
    networking, tolerations, a node selector, env from a field reference, DNS config."""
    main = container("main", env={"X": "1"}, ports=[8080])
    main.update({
        "command": ["sh", "-c"],
        "args": ["sleep 3600 && echo '<done>' & wait"],
        "env": main["env"] + [{"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
        "resources": {"requests": {"cpu": "0.5", "memory": "1.5Gi"}, "limits": {"cpu": "1000m", "memory": "2048Mi", "ephemeral-storage": "1G"}},
        "readinessProbe": {"httpGet": {"path": "/ready", "port": "p8080"}, "periodSeconds": 5},
        "livenessProbe": {"exec": {"command": ["true"]}, "initialDelaySeconds": 3},
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": True},
        "volumeMounts": [{"name": "cache", "mountPath": "/cache"}, {"name": "conf", "mountPath": "/etc/conf", "readOnly": True}],
    })
    side = container("side", image="busybox:1.36")
    side["command"] = ["sleep", "infinity"]
    p = pod(containers=[main, side])
    p["spec"].update({
        "hostNetwork": True,
        "nodeSelector": {"disk": "ssd", "zone": "a"},
        "securityContext": {"runAsUser": 1000, "fsGroup": 2000, "supplementalGroups": [3000]},
        "tolerations": [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}],
        "terminationGracePeriodSeconds": 20,
        "dnsConfig": {"options": [{"name": "ndots", "value": "2"}]},
        "volumes": [
            {"name": "cache", "emptyDir": {"sizeLimit": "0.5Gi"}},
            {"name": "conf", "configMap": {"name": "conf", "items": [{"key": "a", "path": "a.conf"}], "defaultMode": 0o440}},
            {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {
                "metadata": {"labels": {"tier": "scratch"}},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}}},
        ],
    })
    return p


@scenario("py-patch-pod-forbidden-nested")
def _(t: Ctx) -> None:
    """A forbidden change of a nested field (a probe's path) of a pod with a rich spec: the
    message's diff of the internal structs shows it with its context."""
    create(t, rich_pod())
    t.call("patch", t.core.patch_namespaced_pod, "p", t.ns,
           {"spec": {"containers": [{"name": "main", "readinessProbe": {"httpGet": {"path": "/healthz"}}}]}})


@scenario("py-patch-pod-forbidden-hunks")
def _(t: Ctx) -> None:
    """Forbidden changes far apart (a volume's size limit, an env value, the node selector and
    the DNS options): several hunks; the allowed image change and added toleration of the same
    patch are not in the diff."""
    create(t, rich_pod())
    t.call("patch", t.core.patch_namespaced_pod, "p", t.ns, {"spec": {
        "volumes": [{"name": "cache", "emptyDir": {"sizeLimit": "1Gi"}}],
        "containers": [{"name": "main", "image": "nginx:1.28", "env": [{"name": "X", "value": "2"}]},
                       {"name": "side", "image": "busybox:1.37"}],
        "nodeSelector": {"zone": "b"},
        "tolerations": [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}, {"key": "x", "operator": "Exists"}],
        "dnsConfig": {"options": [{"name": "ndots", "value": "5"}]},
    }})


@scenario("py-patch-pod-forbidden-claim-template")
def _(t: Ctx) -> None:
    """A change inside an ephemeral volume's claim template (its labels and storage request):
    the internal claim template embeds ObjectMeta, so its labels sit beside `Spec`."""
    create(t, rich_pod())
    t.call("patch", t.core.patch_namespaced_pod, "p", t.ns, {"spec": {"volumes": [{"name": "scratch", "ephemeral": {"volumeClaimTemplate": {
        "metadata": {"labels": {"tier": "fast"}}, "spec": {"resources": {"requests": {"storage": "2Gi"}}}}}}]}})


@scenario("py-replace-pod-forbidden-resources")
def _(t: Ctx) -> None:
    """A replace (PUT of the object the client read) changing a container's resources and the
    pod's security context: Forbidden with the diff."""
    create(t, rich_pod())
    current = t.core.read_namespaced_pod("p", t.ns)
    current.spec.containers[0].resources.requests["cpu"] = "750m"
    current.spec.security_context.run_as_user = 1001
    t.call("replace", t.core.replace_namespaced_pod, "p", t.ns, current)


@scenario("kubectl-patch-pod-forbidden")
def _(t: Ctx) -> None:
    """kubectl prints the whole message, diff included."""
    create(t, rich_pod())
    t.kubectl("patch", "patch", "pod", "p", "--type=merge", "-p", json.dumps({"spec": {"restartPolicy": "Never", "hostname": "h"}}))


@scenario("py-patch-pod-forbidden-grace-and-deadline")
def _(t: Ctx) -> None:
    """activeDeadlineSeconds may be set and terminationGracePeriodSeconds not: only the grace
    period is in the diff; then a container added is refused without a diff."""
    create(t, rich_pod())
    t.call("patch", t.core.patch_namespaced_pod, "p", t.ns, {"spec": {"activeDeadlineSeconds": 100, "terminationGracePeriodSeconds": 5}})
    t.call("add container", t.core.patch_namespaced_pod, "p", t.ns, {"spec": {"containers": [{"name": "more", "image": "busybox:1.36"}]}})


@scenario("py-patch-gated-pod")
def _(t: Ctx) -> None:
    """A pod with scheduling gates may gain node selector entries and node affinity
    requirements; other changes of them are Invalid naming the new value as Go writes the
    internal structs; gates may only be removed; once ungated, the node selector is frozen."""
    p = pod()
    term = {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}
    p["spec"].update({
        "schedulingGates": [{"name": "x.io/wait"}, {"name": "x.io/more"}],
        "nodeSelector": {"disk": "ssd"},
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}}},
    })
    create(t, p)
    patch = lambda step, body: t.call(step, t.core.patch_namespaced_pod, "p", t.ns, body,
                                      keep=lambda v: {k: v["spec"].get(k) for k in ("nodeSelector", "affinity", "schedulingGates")})
    merge = lambda step, body: t.call(step, t.core.patch_namespaced_pod, "p", t.ns, body, _content_type="application/merge-patch+json",
                                      keep=lambda v: {k: v["spec"].get(k) for k in ("nodeSelector", "affinity", "schedulingGates")})
    patch("add selector", {"spec": {"nodeSelector": {"gpu": "yes"}}})
    patch("change selector", {"spec": {"nodeSelector": {"disk": "hdd"}}})
    two = {"matchExpressions": term["matchExpressions"] + [{"key": "rack", "operator": "Exists"}]}
    patch("add requirement", {"spec": {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [two]}}}}})
    patch("add term", {"spec": {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [two, term]}}}}})
    patch("change requirement", {"spec": {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["a"]}]}]}}}}})
    merge("drop affinity", {"spec": {"affinity": None}})
    patch("add gate", {"spec": {"schedulingGates": [{"name": "x.io/wait"}, {"name": "x.io/more"}, {"name": "x.io/new"}]}})
    merge("remove a gate", {"spec": {"schedulingGates": [{"name": "x.io/wait"}]}})
    merge("ungate", {"spec": {"schedulingGates": None}})
    patch("selector after", {"spec": {"nodeSelector": {"late": "1"}}})


@scenario("py-patch-gated-pod-affinity")
def _(t: Ctx) -> None:
    """A gated pod without affinity may get node affinity, but no pod affinity."""
    p = pod()
    p["spec"]["schedulingGates"] = [{"name": "x.io/wait"}]
    create(t, p)
    na = {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}]}}
    t.call("node affinity", t.core.patch_namespaced_pod, "p", t.ns, {"spec": {"affinity": {"nodeAffinity": na}}}, keep=lambda v: v["spec"].get("affinity"))
    t.call("pod affinity too", t.core.patch_namespaced_pod, "p", t.ns, {"spec": {"affinity": {"podAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": "zone", "labelSelector": {"matchLabels": {"a": "b"}}}]}}}})


@scenario("py-patch-pv-forbidden")
def _(t: Ctx) -> None:
    """A PersistentVolume's source is immutable (the message ends with the diff of the internal
    PersistentVolumeSource), so is its volumeMode (path `volumeMode`); its capacity is not. The
    volume is cluster-scoped: the scenario removes its protection finalizer and deletes it."""
    name = f"pv-{t.ns}"[:63]
    pv = {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name},
          "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "hostPath": {"path": "/data", "type": "Directory"}}}
    keep = lambda v: {k: v["spec"].get(k) for k in ("capacity", "hostPath", "volumeMode")}
    t.call("setup volume", t.core.create_persistent_volume, pv, keep=lambda v: v["metadata"]["name"] == name)
    try:
        t.call("source", t.core.patch_persistent_volume, name, {"spec": {"hostPath": {"path": "/other"}}})
        t.call("mode", t.core.patch_persistent_volume, name, {"spec": {"volumeMode": "Block"}})
        t.call("capacity", t.core.patch_persistent_volume, name, {"spec": {"capacity": {"storage": "2Gi"}}}, keep=keep)
    finally:
        t.call("unprotect", t.core.patch_persistent_volume, name, {"metadata": {"finalizers": None}}, keep=lambda v: v["metadata"].get("finalizers"))
        t.call("delete", t.core.delete_persistent_volume, name, keep=lambda v: "deleted")


def claim(name: str = "c", **spec: Any) -> dict:
    body = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    body.update(spec)
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name}, "spec": body}


@scenario("py-patch-pvc-forbidden")
def _(t: Ctx) -> None:
    """Forbidden claim spec changes: the access modes and selector of one claim, the storage
    request of another (unbound) with a storage class: the diffs of the internal specs."""
    t.call("setup claim c", t.core.create_namespaced_persistent_volume_claim, t.ns,
           claim(selector={"matchLabels": {"disk": "ssd"}}, volumeMode="Filesystem"), keep=lambda v: v["metadata"]["name"])
    t.call("setup claim d", t.core.create_namespaced_persistent_volume_claim, t.ns,
           claim("d", storageClassName="standard", resources={"requests": {"storage": "0.5Gi"}, "limits": {"storage": "2Gi"}}),
           keep=lambda v: v["metadata"]["name"])
    t.call("access modes", t.core.patch_namespaced_persistent_volume_claim, "c", t.ns,
           {"spec": {"accessModes": ["ReadWriteMany"], "selector": {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]}}})
    t.call("storage", t.core.patch_namespaced_persistent_volume_claim, "d", t.ns, {"spec": {"resources": {"requests": {"storage": "3Gi"}}}})
    t.call("bind", t.core.patch_namespaced_persistent_volume_claim, "c", t.ns, {"spec": {"volumeName": "pv-1", "storageClassName": "fast"}},
           keep=lambda v: {k: v["spec"].get(k) for k in ("volumeName", "storageClassName")})
    t.call("class", t.core.patch_namespaced_persistent_volume_claim, "c", t.ns, {"spec": {"storageClassName": "slow"}})


@scenario("py-patch-deployment-strategic")
def _(t: Ctx) -> None:
    create(t, deployment(containers=[container("a", env={"X1": "1", "X2": "2"}, ports=[80]), container("b", image="busybox:1.36")]))
    t.call("patch", t.apps.patch_namespaced_deployment, "web", t.ns,
           {"spec": {"template": {"spec": {"containers": [{"name": "a", "env": [{"name": "X1", "value": "9"}], "ports": [{"containerPort": 81, "name": "p81"}]}]}}}},
           keep=lambda v: slim_pod_spec(v["spec"]["template"]["spec"]))


@scenario("py-patch-deployment-json")
def _(t: Ctx) -> None:
    """A list body is sent as a JSON patch."""
    create(t, deployment())
    t.call("patch", t.apps.patch_namespaced_deployment, "web", t.ns, [{"op": "replace", "path": "/spec/replicas", "value": 4}],
           keep=lambda v: v["spec"]["replicas"])


@scenario("py-replace-deployment")
def _(t: Ctx) -> None:
    create(t, deployment())
    current = t.apps.read_namespaced_deployment("web", t.ns)
    current.spec.replicas = 2
    current.spec.template.spec.containers[0].image = "nginx:1.28"
    t.call("replace", t.apps.replace_namespaced_deployment, "web", t.ns, current)
    t.call("read", t.apps.read_namespaced_deployment, "web", t.ns)


@scenario("py-replace-conflict")
def _(t: Ctx) -> None:
    """A replace with a stale resourceVersion is a Conflict."""
    create(t, configmap("c", {"a": "1"}))
    stale = t.core.read_namespaced_config_map("c", t.ns)
    t.core.patch_namespaced_config_map("c", t.ns, {"data": {"a": "2"}})
    stale.data = {"a": "3"}
    t.call("replace", t.core.replace_namespaced_config_map, "c", t.ns, stale)


@scenario("py-replace-pod")
def _(t: Ctx) -> None:
    create(t, pod())
    current = t.core.read_namespaced_pod("p", t.ns)
    current.metadata.labels["v"] = "2"
    current.spec.containers[0].image = "nginx:1.28"
    t.call("replace", t.core.replace_namespaced_pod, "p", t.ns, current, keep=lambda v: [v["metadata"]["labels"], v["spec"]["containers"][0]["image"]])


@scenario("py-delete-deployment")
def _(t: Ctx) -> None:
    create(t, deployment())
    t.call("delete", t.apps.delete_namespaced_deployment, "web", t.ns)
    t.call("read", t.apps.read_namespaced_deployment, "web", t.ns)


@scenario("py-list-pods")
def _(t: Ctx) -> None:
    create(t, pod("p1", labels={"app": "a"}))
    create(t, pod("p2", labels={"app": "b"}))
    t.call("list", t.core.list_namespaced_pod, t.ns, label_selector="app=a")
    t.call("list all namespaces", t.core.list_pod_for_all_namespaces, label_selector=f"app in (a,b)", field_selector=f"metadata.namespace={t.ns}",
           keep=lambda v: sorted(i["metadata"]["name"] for i in v["items"]))


@scenario("py-create-service")
def _(t: Ctx) -> None:
    t.call("create", t.core.create_namespaced_service, t.ns, service())


@scenario("immutable-configmap")
def _(t: Ctx) -> None:
    cm = configmap("c", {"a": "1"})
    cm["immutable"] = True
    create(t, cm)
    t.call("change data", t.core.patch_namespaced_config_map, "c", t.ns, {"data": {"a": "2"}})


@scenario("immutable-deployment-selector")
def _(t: Ctx) -> None:
    create(t, deployment())
    t.call("change selector", t.apps.patch_namespaced_deployment, "web", t.ns,
           {"spec": {"selector": {"matchLabels": {"app": "other"}}, "template": {"metadata": {"labels": {"app": "other"}}}}})


@scenario("immutable-service-clusterip")
def _(t: Ctx) -> None:
    create(t, service())
    t.call("change clusterIP", t.core.patch_namespaced_service, "web", t.ns, {"spec": {"clusterIP": "10.0.0.99"}}, message=False)


# --------------------------------------------------------------------------------------------
# bodies and media types


@scenario("body-yaml-request")
def _(t: Ctx) -> None:
    """A create whose body is YAML (Content-Type: application/yaml)."""
    t.raw("create", "POST", f"/api/v1/namespaces/{t.ns}/configmaps",
          body="apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  a: '1'\n",
          headers={"Content-Type": "application/yaml"})


@scenario("body-yaml-response")
def _(t: Ctx) -> None:
    """A read with Accept: application/yaml."""
    create(t, configmap("c", {"a": "1"}))
    t.raw("get", "GET", f"/api/v1/namespaces/{t.ns}/configmaps/c", headers={"Accept": "application/yaml"})


@scenario("body-protobuf-response")
def _(t: Ctx) -> None:
    """A read that accepts only protobuf."""
    create(t, configmap("c", {"a": "1"}))
    t.raw("get", "GET", f"/api/v1/namespaces/{t.ns}/configmaps/c", headers={"Accept": "application/vnd.kubernetes.protobuf"}, keep_body=False)


@scenario("body-protobuf-request")
def _(t: Ctx) -> None:
    """A create whose body is protobuf (kubectl and client-go send it for built-ins when asked)."""
    # A ConfigMap named "pb" in the Kubernetes protobuf envelope: magic "k8s\0", then a
    # runtime.Unknown with typeMeta {apiVersion v1, kind ConfigMap} and the raw object.
    meta = b"\x0a\x02pb"                    # ObjectMeta.name = "pb"
    obj = b"\x0a" + bytes([len(meta)]) + meta  # ConfigMap.metadata
    type_meta = b"\x0a\x02v1\x12\x09ConfigMap"
    unknown = b"\x0a" + bytes([len(type_meta)]) + type_meta + b"\x12" + bytes([len(obj)]) + obj
    body = b"k8s\x00" + unknown
    t.raw("create", "POST", f"/api/v1/namespaces/{t.ns}/configmaps", body=body,
          headers={"Content-Type": "application/vnd.kubernetes.protobuf"}, message=False)
    t.call("read", t.core.read_namespaced_config_map, "pb", t.ns, keep=lambda v: v["metadata"]["name"])


# --------------------------------------------------------------------------------------------
# other kubectl verbs that patch


@scenario("kubectl-label-annotate")
def _(t: Ctx) -> None:
    create(t, configmap("c", {"a": "1"}, labels={"x": "1"}))
    t.kubectl("label", "label", "configmap", "c", "y=2")
    t.kubectl("label conflict", "label", "configmap", "c", "x=3")
    t.kubectl("label overwrite", "label", "configmap", "c", "x=3", "--overwrite")
    t.kubectl("label remove", "label", "configmap", "c", "y-")
    t.kubectl("annotate", "annotate", "configmap", "c", "note=hello")
    get_json(t, "get", "configmap", "c")


@scenario("kubectl-set-image")
def _(t: Ctx) -> None:
    """kubectl set image (a strategic merge patch on the containers by name)."""
    create(t, deployment(containers=[container("a"), container("b", image="busybox:1.36")]))
    t.kubectl("set image", "set", "image", "deployment/web", "b=busybox:1.37")
    get_containers(t, "get", "deployment", "web")


@scenario("scale-python")
def _(t: Ctx) -> None:
    """The scale subresource through the Python client: read, patch, replace, and its refusals."""
    create(t, deployment())
    scale = lambda v: {"spec": v.get("spec"), "status": v.get("status"), "kind": v.get("kind")}  # noqa: E731
    t.call("read", t.apps.read_namespaced_deployment_scale, "web", t.ns, keep=scale)
    t.call("patch", t.apps.patch_namespaced_deployment_scale, "web", t.ns, {"spec": {"replicas": 2}}, keep=scale)
    t.call("patch negative", t.apps.patch_namespaced_deployment_scale, "web", t.ns, {"spec": {"replicas": -2}})
    body = {"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "web"}, "spec": {"replicas": 4}}
    t.call("replace", t.apps.replace_namespaced_deployment_scale, "web", t.ns, body, keep=scale)
    t.call("replace other name", t.apps.replace_namespaced_deployment_scale, "web", t.ns,
           {**body, "metadata": {"name": "other"}})
    t.call("replace stale", t.apps.replace_namespaced_deployment_scale, "web", t.ns,
           {**body, "metadata": {"name": "web", "resourceVersion": "1"}})
    t.call("replace zero", t.apps.replace_namespaced_deployment_scale, "web", t.ns,
           {**body, "spec": {}}, keep=scale)
    t.call("read missing", t.apps.read_namespaced_deployment_scale, "nope", t.ns)
    t.call("deployment", t.apps.read_namespaced_deployment, "web", t.ns,
           keep=lambda v: (v["spec"]["replicas"], v["metadata"]["generation"]))
    path = f"/apis/apps/v1/namespaces/{t.ns}/deployments/web/scale"
    t.raw("put string", "PUT", path, body={**body, "spec": {"replicas": "3"}})
    t.raw("put deployment", "PUT", path, body={"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}})
    t.raw("post", "POST", path, body=body)


@scenario("paging-forged-continue")
def _(t: Ctx) -> None:
    """Continue tokens a client made up: each refused with kube-apiserver's message."""
    import base64

    many(t, 2)

    def b64(text: str) -> str:
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    for token in ["abcde", "ab=c", "a.b", b64('{"v":"meta.k8s.io/v1","rv":0,"start":"/a"}'),
                  b64('{"v":"meta.k8s.io/v1","rv":3,"start":""}'),
                  b64('{"v":"meta.k8s.io/v1","rv":3,"start":"/a/../b"}'),
                  b64('{"v":"zz","rv":3,"start":"/a"}'),
                  b64('{"v":"meta.k8s.io/v1","rv":"3","start":"/a"}'),
                  b64('{"v":"meta.k8s.io/v1","rv":3.5,"start":"/a"}'),
                  b64('{"v":"meta.k8s.io/v1","rv":3,"start":"/a"'),
                  b64('{"v":"meta.k8s.io/v1" "rv":3}'), b64("[1]"), b64("nul")]:
        t.call(f"token {token}", t.core.list_namespaced_config_map, t.ns, limit=1, _continue=token)
    # A token that starts after c0 (its rv is checked, not used: see the known differences).
    page = t.core.list_namespaced_config_map(t.ns, limit=1)
    t.call("next page", t.core.list_namespaced_config_map, t.ns, limit=1, _continue=page.metadata._continue,
           keep=lambda v: [i["metadata"]["name"] for i in v["items"]])


@scenario("list-order-across-namespaces")
def _(t: Ctx) -> None:
    """Lists across namespaces come in storage-key order: namespace `x-b` before `x`."""
    other = f"{t.ns}-b"
    t.extra_namespaces.append(other)
    t.core.create_namespace({"metadata": {"name": other}})
    label = {"order": t.ns[-40:].strip("-")}
    for ns, name in [(t.ns, "z"), (other, "y"), (t.ns, "a")]:
        t.core.create_namespaced_config_map(ns, configmap(name, labels=label))
    selector = f"order={label['order']}"
    names = lambda v: [(i["metadata"]["namespace"].replace(t.ns, "NS"), i["metadata"]["name"]) for i in v["items"]]  # noqa: E731
    t.call("list", t.core.list_config_map_for_all_namespaces, label_selector=selector, keep=names)
    seen, token = [], None
    for _ in range(5):
        kw = {"limit": 1, "label_selector": selector}
        if token:
            kw["_continue"] = token
        page = t.core.list_config_map_for_all_namespaces(**kw)
        seen += [(i.metadata.namespace.replace(t.ns, "NS"), i.metadata.name) for i in page.items]
        token = page.metadata._continue
        if not token:
            break
    t.record("pages", seen=seen)


@scenario("body-yaml-more")
def _(t: Ctx) -> None:
    """YAML answers: a list, an error, discovery, and a preference for YAML over JSON."""
    create(t, configmap("c", {"yes": "on", "t": "2026-12-04T13:47:57Z", "n": "0x10", "e": "1e3", "m": "a\nb"}))
    t.raw("list", "GET", f"/api/v1/namespaces/{t.ns}/configmaps", headers={"Accept": "application/yaml"})
    t.raw("missing", "GET", f"/api/v1/namespaces/{t.ns}/configmaps/nope", headers={"Accept": "application/yaml"})
    t.raw("preferred", "GET", f"/api/v1/namespaces/{t.ns}/configmaps/c",
          headers={"Accept": "application/yaml, application/json"})
    t.raw("json first", "GET", f"/api/v1/namespaces/{t.ns}/configmaps/c",
          headers={"Accept": "application/json, application/yaml"})


@scenario("kubectl-scale")
def _(t: Ctx) -> None:
    """kubectl scale (the scale subresource)."""
    create(t, deployment())
    t.kubectl("scale", "scale", "deployment", "web", "--replicas=3")
    t.kubectl("replicas", "get", "deployment", "web", "-o", "jsonpath={.spec.replicas}")
