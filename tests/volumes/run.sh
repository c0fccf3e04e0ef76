#!/usr/bin/env bash
# The README's volume walkthrough, run: on `primehub dev`, enabling a group's shared volume and
# a dataset's upload server through GraphQL makes their children appear in the fake cluster,
# and kubectl 1.33 sees them; switching them off and deleting the group removes them.
#
#   tests/volumes/run.sh [path/to/primehub]
#
# The primehub binary defaults to $PRIMEHUB_BIN, else $CARGO_TARGET_DIR/debug/primehub; kubectl
# comes from $KUBECTL, else kubectl.1.33 next to gcloud. Each step prints its duration; the dev
# process is stopped whatever happens (its log is printed when a step fails).
set -euo pipefail
export LC_ALL=C

die() { echo "volumes: $*" >&2; exit 1; }

binary="${PRIMEHUB_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/primehub-rs/target}/debug/primehub}"
[[ $# -gt 0 ]] && binary="$1"
[[ -x "$binary" ]] || die "no primehub binary at $binary (cargo build -p primehub)"
kubectl="${KUBECTL:-}"
if [[ -z "$kubectl" ]]; then
  gcloud_path="$(command -v gcloud || true)"
  [[ -n "$gcloud_path" ]] && kubectl="$(dirname "$(readlink -f "$gcloud_path")")/kubectl.1.33"
fi
[[ -n "$kubectl" && -x "$kubectl" ]] || die "kubectl 1.33 not found: set KUBECTL"

work="$(mktemp -d)"
dev_pid=""
finish() {
  local status=$?
  if [[ -n "$dev_pid" ]]; then
    kill "$dev_pid" 2>/dev/null || true
    wait "$dev_pid" 2>/dev/null || true
  fi
  if [[ $status -ne 0 && -f "$work/dev.log" ]]; then
    echo "---- primehub dev log (last 40 lines)" >&2
    tail -40 "$work/dev.log" >&2
  fi
  rm -rf "$work"
  exit $status
}
trap finish EXIT

step_started=0
step() { step_started=$(date +%s%N); echo "==> $*"; }
done_step() { echo "<== ok ($(( ($(date +%s%N) - step_started) / 1000000 )) ms)"; }

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
export KUBECONFIG="$work/kubeconfig"

step "start primehub dev"
"$binary" dev --listen "127.0.0.1:$port" --admin-password change-me \
  --write-kubeconfig "$KUBECONFIG" --no-notebook-processes >"$work/dev.log" 2>&1 &
dev_pid=$!
for _ in $(seq 1 300); do
  curl -sf "$base/readyz" >/dev/null 2>&1 && break
  kill -0 "$dev_pid" 2>/dev/null || die "primehub dev exited"
  sleep 0.1
done
curl -sf "$base/readyz" >/dev/null || die "primehub dev not ready at $base"
token="$(curl -sf -d username=phadmin -d password=change-me "$base/api/token" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["apiToken"])')"
done_step

# q QUERY: posts a GraphQL query as the administrator; fails on an `errors` answer.
q() {
  local body
  body="$(python3 -c 'import json,sys; print(json.dumps({"query": sys.argv[1]}))' "$1")"
  local answer
  answer="$(curl -sf -H "authorization: Bearer $token" -H 'content-type: application/json' \
    "$base/api/graphql" -d "$body")"
  python3 -c 'import json,sys; a=json.loads(sys.argv[1]); sys.exit("GraphQL errors: %s" % a["errors"]) if a.get("errors") else print(json.dumps(a["data"]))' "$answer"
}
k() { "$kubectl" "$@"; }
# until_gone KIND/NAME [-n NS]: kubectl waits for the deletion.
until_gone() {
  if ! k wait --for=delete "$@" --timeout=30s >/dev/null 2>&1; then
    if k get "$@" >/dev/null 2>&1; then die "$* still exists"; fi
  fi
}

step "createGroup with a shared volume: claim, NFS Service and StatefulSet, PersistentVolume"
group="$(q 'mutation { createGroup(data: {name: "ml-team", enabledSharedVolume: true, sharedVolumeCapacity: 2}) { id sharedVolumeState { phase } } }')"
[[ "$group" == *'"phase": "Pending"'* ]] || die "sharedVolumeState after createGroup: $group"
group_id="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["createGroup"]["id"])' "$group")"
for _ in $(seq 1 100); do k get pv hub-nfs-project-ml-team >/dev/null 2>&1 && break; sleep 0.1; done
k -n hub get pvc/project-ml-team svc/nfs-project-ml-team statefulset/nfs-project-ml-team
[[ "$(k -n hub get pvc project-ml-team -o jsonpath='{.metadata.annotations.primehub-group}')" == ml-team ]] \
  || die "the claim is not annotated primehub-group: ml-team"
ip="$(k -n hub get svc nfs-project-ml-team -o jsonpath='{.spec.clusterIP}')"
[[ -n "$ip" ]] || die "the NFS Service has no cluster IP"
[[ "$(k get pv hub-nfs-project-ml-team -o jsonpath='{.spec.nfs.server} {.spec.capacity.storage} {.metadata.labels.primehub-namespace}')" == "$ip 2Gi hub" ]] \
  || die "the volume does not point at the Service: $(k get pv hub-nfs-project-ml-team -o yaml)"
[[ "$(k -n hub get statefulset nfs-project-ml-team -o jsonpath='{.metadata.ownerReferences[0].name}')" == project-ml-team ]] \
  || die "the StatefulSet is not owned by the claim"
done_step

step "createDataset with an upload server: Deployment, Service and Ingress dataset-upload-photos"
q 'mutation { createDataset(data: {name: "photos", type: "pv", volumeName: "photos", pvProvisioning: "auto", volumeSize: 1, enableUploadServer: true}) { id uploadServerSecret { username } } }' >/dev/null
for _ in $(seq 1 100); do k -n hub get ingress dataset-upload-photos >/dev/null 2>&1 && break; sleep 0.1; done
k -n hub get deploy,svc,ingress dataset-upload-photos
[[ "$(k -n hub get ingress dataset-upload-photos -o jsonpath='{.metadata.annotations.nginx\.ingress\.kubernetes\.io/auth-secret}')" == dataset-photos ]] \
  || die "the Ingress does not name the htpasswd Secret"
k -n hub get secret dataset-photos -o jsonpath='{.data.auth}' | base64 -d | grep -q '^dataset-photos:\$2' \
  || die "the htpasswd Secret has no bcrypt line for dataset-photos"
done_step

step "upload server switched off: its children are removed"
q 'mutation { updateDataset(where: {id: "photos"}, data: {enableUploadServer: false}) { id } }' >/dev/null
until_gone -n hub deploy/dataset-upload-photos
until_gone -n hub svc/dataset-upload-photos
until_gone -n hub ingress/dataset-upload-photos
done_step

step "deleteGroup: the claim, and with it the NFS server and the volume, are removed"
q "mutation { deleteGroup(where: {id: \"$group_id\"}) { id } }" >/dev/null
until_gone -n hub pvc/project-ml-team
until_gone -n hub statefulset/nfs-project-ml-team
until_gone -n hub svc/nfs-project-ml-team
until_gone pv/hub-nfs-project-ml-team
done_step

echo "volumes: every step passed"
