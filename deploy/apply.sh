#!/usr/bin/env bash
# Applies a component's manifests into a namespace (PrimeHub's default is `hub`); each
# component's own apply.sh (deploy/apiserver/apply.sh, deploy/controller/apply.sh) calls this
# with its files.
#
#   deploy/apply.sh [--dry-run] <namespace> <manifest.yaml>…
#
# --dry-run asks the API server to validate everything (schema, RBAC, admission) without
# storing anything (`kubectl --dry-run=server`). kubectl comes from $KUBECTL, else `kubectl` on
# PATH; the cluster from $KUBECONFIG or kubectl's defaults.
set -euo pipefail

dry_run=()
if [[ "${1:-}" == "--dry-run" ]]; then
  dry_run=(--dry-run=server)
  shift
fi
namespace=${1:?usage: apply.sh [--dry-run] <namespace> <manifest.yaml>…}
shift
if [[ ! "$namespace" =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]]; then
  echo "apply.sh: $namespace is not a namespace name (DNS-1123 label)" >&2
  exit 2
fi
if [[ $# -eq 0 ]]; then
  echo "apply.sh: no manifest given" >&2
  exit 2
fi
kubectl=${KUBECTL:-kubectl}

for file in "$@"; do
  # The manifests name the namespace `hub` (metadata and the RoleBinding's subject).
  # Cluster-scoped objects of one install are named `…-hub` (deploy/controller/clusterrole.yaml):
  # the suffix becomes the namespace, so installs in several namespaces do not share them.
  sed -E -e "s/^([[:space:]]*)namespace: hub[[:space:]]*$/\1namespace: $namespace/" \
    -e "s/^([[:space:]]*name: [a-z0-9-]+)-hub[[:space:]]*$/\1-$namespace/" "$file"
  echo "---"
done | "$kubectl" apply "${dry_run[@]}" -f -
