#!/usr/bin/env bash
# Applies the controller's manifests into a namespace (PrimeHub's default is `hub`).
#
#   deploy/controller/apply.sh [--dry-run] <namespace> [manifest.yaml…]
#
# Without files, every manifest of this folder. --dry-run asks the API server to validate
# everything (schema, RBAC, admission) without storing anything (`kubectl --dry-run=server`).
# kubectl comes from $KUBECTL, else `kubectl` on PATH; the cluster from $KUBECONFIG or kubectl's
# defaults. The work is done by deploy/apply.sh.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
options=()
if [[ "${1:-}" == "--dry-run" ]]; then
  options=(--dry-run)
  shift
fi
namespace=${1:?usage: apply.sh [--dry-run] <namespace> [manifest.yaml…]}
shift
files=("$@")
if [[ ${#files[@]} -eq 0 ]]; then
  files=("$here/serviceaccount.yaml" "$here/role.yaml" "$here/clusterrole.yaml" "$here/deployment.yaml")
fi
exec "$here/../apply.sh" "${options[@]}" "$namespace" "${files[@]}"
