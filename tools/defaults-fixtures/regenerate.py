"""Regenerates primehub-reconcile/src/conformance_defaults.json: creates every fixture of
fixtures.py on the real kube-apiserver of tools/kube-apiserver and records what it stored.

    source <(tools/kube-apiserver/apiserver.sh env)
    python3 tools/defaults-fixtures/regenerate.py > primehub-reconcile/src/conformance_defaults.json
"""
import json, os, ssl, subprocess, sys, urllib.request, uuid
url = os.environ["PRIMEHUB_TEST_KUBE_URL"]; tok = os.environ["PRIMEHUB_TEST_KUBE_TOKEN"]
ctx = ssl.create_default_context(cafile=os.environ["PRIMEHUB_TEST_KUBE_CA_FILE"])
def req(method, path, body=None, ct="application/json"):
    data = json.dumps(body).encode() if body is not None else None
    r = urllib.request.Request(url + path, data=data, method=method, headers={"Authorization": "Bearer " + tok, "Content-Type": ct})
    try:
        with urllib.request.urlopen(r, context=ctx) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())
def base(resource):
    parts = resource.split("/")
    return ("/api/" + parts[0] if len(parts) == 2 else "/apis/" + "/".join(parts[:2])), parts[-1]
CLUSTER = {"namespaces", "persistentvolumes"}
def path(resource, ns):
    b, plural = base(resource)
    return f"{b}/{plural}" if plural in CLUSTER else f"{b}/namespaces/{ns}/{plural}"
def normalize(o, ns):
    m = o.get("metadata", {})
    for f in ["uid", "resourceVersion", "creationTimestamp", "managedFields"]:
        m.pop(f, None)
    s = json.dumps(o).replace(ns, "@NS@")
    o = json.loads(s)
    spec = o.get("spec", {})
    if isinstance(spec, dict) and spec.get("clusterIP") not in (None, "None", ""):
        spec["clusterIP"] = "@IP@"; spec["clusterIPs"] = ["@IP@"]
    if isinstance(spec, dict):
        for p in spec.get("ports", []) or []:
            if "nodePort" in p: p["nodePort"] = "@PORT@"
    st = o.get("status", {})
    if isinstance(st, dict) and "lastPhaseTransitionTime" in st: st["lastPhaseTransitionTime"] = "@TIME@"
    return o
if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    fixtures = json.loads(subprocess.run([sys.executable, os.path.join(here, "fixtures.py")], check=True, capture_output=True, text=True).stdout)
    ns = "defaults-r" + uuid.uuid4().hex[:6]
    req("POST", "/api/v1/namespaces", {"metadata": {"name": ns}})
    out = []
    for f in fixtures:
        body = json.loads(json.dumps(f["object"]).replace("@NS@", ns))
        code, got = req("POST", path(f["resource"], ns), body)
        assert code == 201, got
        expected = normalize(got, ns)
        obj = {"apiVersion": expected["apiVersion"], "kind": expected["kind"], **f["object"]}
        out.append({"resource": f["resource"], "object": obj, "expected": expected})
    json.dump(out, sys.stdout, indent=2)
    print()
