#!/usr/bin/env python3
"""Regenerate the Kubernetes OpenAPI documents the fake cluster serves.

    tools/openapi/update.py                # from the k8s.io/kubernetes module tools/kube-apiserver pins
    tools/openapi/update.py --from-server  # from the API server KUBECONFIG points at (kubectl)

The fake cluster (`primehub_reconcile::fake`) serves `/openapi/v2` and `/openapi/v3` so kubectl
validates, explains and diffs against it as against a real API server. The built-in kinds'
documents come from Kubernetes itself: `api/openapi-spec/swagger.json` (v2) and
`api/openapi-spec/v3/*.json` in the k8s.io/kubernetes module of the version the real tier runs
(`tools/kube-apiserver/go.mod`), fetched through the Go module proxy. This script keeps only what
the fake serves — the paths of its built-in resources and the schemas they reference — and writes
one gzip file (deterministic: no timestamp, sorted keys), committed at OUTPUT. Our CRDs' schemas
are not in it: the fake adds them at run time from the CRDs it serves.

`--from-server` takes the documents a running kube-apiserver of that version publishes instead
(`kubectl get --raw /openapi/v2`, `/openapi/v3/<gv>`): they carry what the committed
openapi-spec files lack, the `enum`s and "Possible enum values" descriptions kube-apiserver adds
at run time (the OpenAPIEnums feature), which `kubectl explain` prints. The committed document
comes from the server (`tools/kube-apiserver/apiserver.sh env` for the kubeconfig).

To move to another Kubernetes minor: change the version in tools/kube-apiserver/go.mod (the real
tier), run this script, and run the tests (a test checks every served built-in kind is in the
document).
"""
import gzip
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUTPUT = os.path.join(ROOT, "primehub-reconcile", "src", "fake", "openapi", "kubernetes.json.gz")

# The built-in resources the fake serves (primehub-reconcile/src/fake/kinds.rs, Kinds::standard):
# group-version path prefix -> plurals. A test in primehub-reconcile checks the two agree.
SERVED = {
    "api/v1": ["namespaces", "pods", "services", "persistentvolumeclaims", "secrets", "configmaps",
               "events", "persistentvolumes", "serviceaccounts"],
    "apis/apps/v1": ["deployments", "statefulsets", "daemonsets"],
    "apis/networking.k8s.io/v1": ["ingresses", "networkpolicies"],
    "apis/coordination.k8s.io/v1": ["leases"],
    "apis/events.k8s.io/v1": ["events"],
    "apis/rbac.authorization.k8s.io/v1": ["roles", "rolebindings"],
    "apis/apiextensions.k8s.io/v1": ["customresourcedefinitions"],
}
# Subresources the fake serves: status where the kind has it, pods' log.
SUBRESOURCES = {"", "status", "log"}


def kubernetes_version():
    with open(os.path.join(ROOT, "tools", "kube-apiserver", "go.mod")) as f:
        for line in f:
            m = re.match(r"\s*(?:require\s+)?k8s\.io/kubernetes (v[0-9.]+)", line)
            if m:
                return m.group(1)
    sys.exit("no k8s.io/kubernetes requirement in tools/kube-apiserver/go.mod")


def module_dir(version):
    out = subprocess.run(["go", "mod", "download", "-json", f"k8s.io/kubernetes@{version}"],
                         cwd=os.path.join(ROOT, "tools", "kube-apiserver"),
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["Dir"]


PATH_RE = re.compile(
    r"^/(api/v1|apis/[^/]+/[^/]+)/(?:watch/)?(?:namespaces/\{namespace\}/)?([a-z0-9]+)"
    r"(?:/\{name\}(?:/([a-z]+))?)?/?$")


def served_path(path):
    m = PATH_RE.match(path)
    if not m:
        return False
    gv, plural, sub = m.group(1), m.group(2), m.group(3) or ""
    if plural not in SERVED.get(gv, []):
        return False
    # `namespaces/{namespace}/<x>` without a name matches with plural "namespaces" wrongly only
    # for /api/v1/namespaces/{name}/<sub>: the regexp reads those as name + subresource.
    return sub in SUBRESOURCES and not (sub == "log" and plural != "pods")


def refs(node, found):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                found.add(v)
            else:
                refs(v, found)
    elif isinstance(node, list):
        for v in node:
            refs(v, found)


def closure(doc, roots, prefix, table):
    """Names of the entries of doc[table...] reachable from roots through $refs under prefix."""
    keep, todo = set(), list(roots)
    while todo:
        ref = todo.pop()
        if not ref.startswith(prefix):
            continue
        name = ref[len(prefix):]
        if name in keep or name not in table:
            continue
        keep.add(name)
        found = set()
        refs(table[name], found)
        todo.extend(found)
    return keep


def filter_v2(doc):
    paths = {p: v for p, v in doc["paths"].items() if served_path(p)}
    roots = set()
    refs(paths, roots)
    params = {r[len("#/parameters/"):] for r in roots if r.startswith("#/parameters/")}
    parameters = {k: v for k, v in doc.get("parameters", {}).items() if k in params}
    refs(parameters, roots)
    defs = closure(doc, roots, "#/definitions/", doc["definitions"])
    out = dict(doc)
    out["paths"] = paths
    out["parameters"] = parameters
    out["definitions"] = {k: v for k, v in doc["definitions"].items() if k in defs}
    return out


def filter_v3(doc):
    paths = {p: v for p, v in doc["paths"].items() if served_path(p)}
    roots = set()
    refs(paths, roots)
    schemas = doc.get("components", {}).get("schemas", {})
    keep = closure(doc, roots, "#/components/schemas/", schemas)
    out = dict(doc)
    out["paths"] = paths
    out["components"] = dict(doc.get("components", {}))
    out["components"]["schemas"] = {k: v for k, v in schemas.items() if k in keep}
    return out


def from_server(path):
    out = subprocess.run(["kubectl", "get", "--raw", path], check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out)


def main():
    version = kubernetes_version()
    v3 = {}
    if "--from-server" in sys.argv[1:]:
        v2 = filter_v2(from_server("/openapi/v2"))
        for gv in SERVED:
            v3[gv] = filter_v3(from_server(f"/openapi/v3/{gv}"))
    else:
        spec = os.path.join(module_dir(version), "api", "openapi-spec")
        with open(os.path.join(spec, "swagger.json")) as f:
            v2 = filter_v2(json.load(f))
        for gv in SERVED:
            name = gv.replace("/", "__") + "_openapi.json"
            with open(os.path.join(spec, "v3", name)) as f:
                v3[gv] = filter_v3(json.load(f))
    document = {"kubernetes": version, "v2": v2, "v3": v3}
    raw = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    os.makedirs(os.path.dirname(OUTPUT), exist_ok=True)
    with open(OUTPUT, "wb") as f:
        with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0, compresslevel=9) as z:
            z.write(raw)
    print(f"{OUTPUT}: Kubernetes {version}, {len(v2['paths'])} v2 paths, "
          f"{len(v2['definitions'])} definitions, {len(v3)} v3 group-versions, "
          f"{len(raw)} bytes, {os.path.getsize(OUTPUT)} gzipped")


if __name__ == "__main__":
    main()
