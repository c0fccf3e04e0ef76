#!/usr/bin/env bash
# Applies primehub-webhook's manifests into a namespace (PrimeHub's default is `hub`), with
# the CA that signed its serving certificate as the webhooks' caBundle, and labels the
# namespace so the webhooks act in it (primehub.io/admission-webhook=enabled).
#
#   deploy/webhook/apply.sh [--dry-run] <namespace> <ca.pem> [manifest.yaml…]
#
# Without files, every manifest of this folder. --dry-run asks the API server to validate
# everything (schema, RBAC, admission) without storing anything (`kubectl --dry-run=server`)
# and does not label the namespace. kubectl comes from $KUBECTL, else `kubectl` on PATH; the
# cluster from $KUBECONFIG or kubectl's defaults. certs.sh makes a CA and certificate.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
dry_run=()
if [[ "${1:-}" == "--dry-run" ]]; then
  dry_run=(--dry-run=server)
  shift
fi
usage="usage: apply.sh [--dry-run] <namespace> <ca.pem> [manifest.yaml…]"
namespace=${1:?$usage}
ca=${2:?$usage}
shift 2
if [[ ! "$namespace" =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]]; then
  echo "apply.sh: $namespace is not a namespace name (DNS-1123 label)" >&2
  exit 2
fi
if ! grep -q 'BEGIN CERTIFICATE' "$ca" 2>/dev/null; then
  echo "apply.sh: $ca is not a PEM certificate (the CA of the webhook's serving certificate)" >&2
  exit 2
fi
ca_bundle=$(base64 < "$ca" | tr -d '\n')
files=("$@")
if [[ ${#files[@]} -eq 0 ]]; then
  files=("$here/serviceaccount.yaml" "$here/role.yaml" "$here/service.yaml" "$here/deployment.yaml" "$here/webhooks.yaml")
fi
kubectl=${KUBECTL:-kubectl}

for file in "${files[@]}"; do
  # The manifests name the namespace `hub` (metadata, subjects, the webhooks' service).
  sed -E -e "s/^([[:space:]]*)namespace: hub[[:space:]]*$/\1namespace: $namespace/" \
    -e "s|caBundle: CA_BUNDLE|caBundle: $ca_bundle|" "$file"
  echo "---"
done | "$kubectl" apply "${dry_run[@]}" -f -
if [[ ${#dry_run[@]} -eq 0 ]]; then
  "$kubectl" label namespace "$namespace" primehub.io/admission-webhook=enabled --overwrite
fi
