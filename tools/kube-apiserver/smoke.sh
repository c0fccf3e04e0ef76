#!/usr/bin/env bash
# Smoke test of the real kube-apiserver from apiserver.sh, with curl only (no kubectl):
#   - /readyz; alice's token is authenticated but forbidden to list namespaces, admin's is not;
#   - create and delete a namespace;
#   - install every CRD of deploy/crds/primehub-crds.yaml, wait for Established, report any CRD the
#     server rejects with its message verbatim (the CRD file is never edited here);
#   - for each kind: create one minimal object (generated from the CRD's schema: required fields
#     only), read it back (and show what the server pruned or defaulted), delete it.
# Starts the apiserver if it is not running (and leaves it running; `apiserver.sh stop` stops it).
#
#   tools/kube-apiserver/smoke.sh [CRD_FILE]
#
# Exit status: 0 when everything passed, 1 otherwise. Needs curl and python3 with PyYAML.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
crd_file="${1:-$repo/deploy/crds/primehub-crds.yaml}"
ns="smoke-$$-$(date +%s)"
ok=0; bad=0
pass() { printf '  PASS %s\n' "$*"; ok=$((ok + 1)); }
fail() { printf '  FAIL %s\n' "$*"; bad=$((bad + 1)); }
step() { printf '== %s\n' "$*"; }

python3 -c 'import yaml' 2>/dev/null || { echo "python3 with PyYAML is needed (pip install pyyaml)" >&2; exit 1; }

"$here/apiserver.sh" status >/dev/null 2>&1 || "$here/apiserver.sh" start || exit 1
# shellcheck disable=SC1090
source <("$here/apiserver.sh" env)
url="$PRIMEHUB_TEST_KUBE_URL"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# req METHOD PATH TOKEN [BODY_FILE] -> sets $code, body in $work/out
req() {
  local args=(-s --cacert "$PRIMEHUB_TEST_KUBE_CA_FILE" -o "$work/out" -w '%{http_code}' -X "$1"
              -H "Authorization: Bearer $3" -H 'Accept: application/json')
  [[ -n "${4:-}" ]] && args+=(-H 'Content-Type: application/json' --data-binary "@$4")
  code="$(curl "${args[@]}" "$url$2")"
}
msg() { python3 -c 'import json,sys
try: print(json.load(open(sys.argv[1])).get("message",""))
except Exception: print(open(sys.argv[1]).read()[:2000])' "$work/out"; }
admin="$PRIMEHUB_TEST_KUBE_TOKEN"; alice="$PRIMEHUB_TEST_KUBE_USER_TOKEN"

step "server $url"
req GET /version "$admin"
[[ $code == 200 ]] && pass "GET /version: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["gitVersion"])' "$work/out")" || fail "GET /version -> $code"
req GET /readyz "$admin"; [[ $code == 200 ]] && pass "GET /readyz (admin) 200" || fail "GET /readyz -> $code"

step "authentication / RBAC"
req GET /api/v1/namespaces "$admin"; [[ $code == 200 ]] && pass "admin lists namespaces: 200" || fail "admin list namespaces -> $code: $(msg)"
req GET /api/v1/namespaces "$alice"
[[ $code == 403 ]] && pass "alice lists namespaces: 403 ($(msg))" || fail "alice list namespaces -> $code (want 403): $(msg)"
req GET /api/v1/namespaces "not-a-token"; [[ $code == 401 ]] && pass "bad token: 401" || fail "bad token -> $code (want 401)"
# alice is authenticated: a SelfSubjectReview names her
printf '{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}' > "$work/ssr.json"
req POST /apis/authentication.k8s.io/v1/selfsubjectreviews "$alice" "$work/ssr.json"
who="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["status"]["userInfo"]["username"])' "$work/out" 2>/dev/null)"
[[ $code == 201 && $who == alice ]] && pass "alice's SelfSubjectReview: username=alice" || fail "SelfSubjectReview -> $code user=$who"

step "namespace create/delete"
printf '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"%s-tmp"}}' "$ns" > "$work/ns.json"
req POST /api/v1/namespaces "$admin" "$work/ns.json"; [[ $code == 201 ]] && pass "create namespace $ns-tmp" || fail "create namespace -> $code: $(msg)"
req DELETE "/api/v1/namespaces/$ns-tmp" "$admin"; [[ $code == 200 || $code == 202 ]] && pass "delete namespace $ns-tmp ($code)" || fail "delete namespace -> $code: $(msg)"
printf '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"%s"}}' "$ns" > "$work/ns.json"
req POST /api/v1/namespaces "$admin" "$work/ns.json"; [[ $code == 201 ]] || fail "create test namespace $ns -> $code: $(msg)"

step "CRDs from ${crd_file#"$repo/"}"
# Split the multi-document YAML into one JSON per CRD, and a minimal object per kind generated
# from the storage version's schema (required fields only, first enum value, minimums).
python3 - "$crd_file" "$work" "$ns" <<'PY' || { echo "could not read $crd_file" >&2; exit 1; }
import json, re, sys, yaml
src, out, ns = sys.argv[1:4]

def minimal(s, name="x"):
    if not isinstance(s, dict):
        return "x"
    if "default" in s:
        return s["default"]
    if "enum" in s and s["enum"]:
        return s["enum"][0]
    if s.get("x-kubernetes-int-or-string"):
        return 1
    t = s.get("type")
    if t == "object" or "properties" in s:
        props = s.get("properties", {})
        return {k: minimal(props.get(k, {}), k) for k in s.get("required", [])}
    if t == "array":
        return [minimal(s.get("items", {})) for _ in range(s.get("minItems", 0))]
    if t == "integer":
        return int(s.get("minimum", 1))
    if t == "number":
        return s.get("minimum", 1)
    if t == "boolean":
        return False
    if t == "string":
        if s.get("format") == "date-time":
            return "2020-01-01T00:00:00Z"
        m = re.fullmatch(r"\^?\(?([A-Za-z0-9_.-]+)(\|[^)]*)?\)?\$?", s.get("pattern", ""))
        if m:  # an alternation such as ^(env|git|pv)$: its first choice
            return m.group(1)
        if "memory" in name.lower():
            return "1Gi"
        v = "x" if name == "x" else name.lower().replace("_", "-").replace(".", "-") + "-1"
        return v.ljust(s.get("minLength", 1), "x")
    return "x"

names = []
for d in yaml.safe_load_all(open(src)):
    if not d:
        continue
    plural = d["spec"]["names"]["plural"]
    names.append(plural)
    json.dump(d, open(f"{out}/crd-{plural}.json", "w"))
    ver = next((v for v in d["spec"]["versions"] if v.get("storage")), d["spec"]["versions"][0])
    schema = ver.get("schema", {}).get("openAPIV3Schema", {})
    obj = minimal(schema)
    obj = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
    obj.setdefault("spec", {})
    obj.update({"apiVersion": f'{d["spec"]["group"]}/{ver["name"]}', "kind": d["spec"]["names"]["kind"],
                "metadata": {"name": "smoke-1", "namespace": ns}})
    json.dump(obj, open(f"{out}/obj-{plural}.json", "w"))
    scope = d["spec"].get("scope", "Namespaced")
    with open(f"{out}/meta-{plural}", "w") as f:
        f.write(f'{d["metadata"]["name"]} {d["spec"]["group"]} {ver["name"]} {scope} {d["spec"]["names"]["kind"]}\n')
open(f"{out}/plurals", "w").write("\n".join(names) + "\n")
PY

accepted=(); rejected=()
while read -r plural; do
  [[ -n "$plural" ]] || continue
  read -r crd_name _ _ _ kind < "$work/meta-$plural"
  req DELETE "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/$crd_name" "$admin"  # leftovers
  if [[ $code == 200 ]]; then
    for _ in $(seq 1 60); do req GET "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/$crd_name" "$admin"; [[ $code == 404 ]] && break; sleep 0.5; done
  fi
  req POST /apis/apiextensions.k8s.io/v1/customresourcedefinitions "$admin" "$work/crd-$plural.json"
  if [[ $code != 201 ]]; then
    fail "CRD $crd_name REJECTED ($code):"
    msg | sed 's/^/      /'
    rejected+=("$crd_name"); continue
  fi
  established=""
  for _ in $(seq 1 60); do
    req GET "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/$crd_name" "$admin"
    established="$(python3 -c 'import json,sys
c=json.load(open(sys.argv[1])).get("status",{}).get("conditions",[])
print(" ".join(x["type"]+"="+x["status"] for x in c))' "$work/out")"
    [[ " $established " == *" Established=True "* ]] && break
    sleep 0.5
  done
  if [[ " $established " == *" Established=True "* ]]; then
    pass "CRD $crd_name accepted, $established"; accepted+=("$crd_name")
  else
    fail "CRD $crd_name created but not Established after 30 s: $established"; rejected+=("$crd_name")
  fi
done < "$work/plurals"

step "one object per kind in namespace $ns"
while read -r plural; do
  [[ -n "$plural" ]] || continue
  read -r crd_name group ver scope kind < "$work/meta-$plural"
  [[ " ${accepted[*]} " == *" $crd_name "* ]] || { fail "$kind: skipped (CRD not established)"; continue; }
  if [[ $scope == Namespaced ]]; then base="/apis/$group/$ver/namespaces/$ns/$plural"; else base="/apis/$group/$ver/$plural"; fi
  # The discovery/handler for a just-established CRD can lag a moment: retry 404s briefly.
  for _ in $(seq 1 20); do req POST "$base" "$admin" "$work/obj-$plural.json"; [[ $code == 404 ]] || break; sleep 0.5; done
  if [[ $code != 201 ]]; then
    fail "$kind: create -> $code: $(msg)"; echo "      object: $(cat "$work/obj-$plural.json")"; continue
  fi
  req GET "$base/smoke-1" "$admin"
  if [[ $code == 200 ]]; then
    diff="$(python3 -c 'import json,sys
a=json.load(open(sys.argv[1])).get("spec"); b=json.load(open(sys.argv[2])).get("spec")
print("" if a==b else "sent spec %s, read back %s" % (json.dumps(a,sort_keys=True), json.dumps(b,sort_keys=True)))' "$work/obj-$plural.json" "$work/out")"
    pass "$kind: created and read back${diff:+ (note: $diff)}"
  else
    fail "$kind: read back -> $code: $(msg)"
  fi
  req DELETE "$base/smoke-1" "$admin"
  [[ $code == 200 || $code == 202 ]] || fail "$kind: delete -> $code: $(msg)"
  req GET "$base/smoke-1" "$admin"; [[ $code == 404 ]] || fail "$kind: still there after delete ($code)"
done < "$work/plurals"

req DELETE "/api/v1/namespaces/$ns" "$admin"
step "summary"
echo "CRDs accepted (${#accepted[@]}): ${accepted[*]:-none}"
echo "CRDs rejected (${#rejected[@]}): ${rejected[*]:-none}"
echo "smoke: $ok passed, $bad failed"
(( bad == 0 ))
