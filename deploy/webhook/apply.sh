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
# cluster from $KUBECONFIG or kubectl's defaults. certs.sh makes a CA and a certificate; the
# rest of the work is done by deploy/apply.sh.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
options=()
if [[ "${1:-}" == "--dry-run" ]]; then
  options=(--dry-run)
  shift
fi
usage="usage: apply.sh [--dry-run] <namespace> <ca.pem> [manifest.yaml…]"
namespace=${1:?$usage}
ca=${2:?$usage}
shift 2
if ! grep -q 'BEGIN CERTIFICATE' "$ca" 2>/dev/null; then
  echo "apply.sh: $ca is not a PEM certificate (the CA of the webhook's serving certificate)" >&2
  exit 2
fi
files=("$@")
if [[ ${#files[@]} -eq 0 ]]; then
  files=("$here/serviceaccount.yaml" "$here/role.yaml" "$here/service.yaml" "$here/deployment.yaml" "$here/webhooks.yaml")
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ca_bundle=$(base64 < "$ca" | tr -d '\n')
filled=()
for file in "${files[@]}"; do
  out="$work/$(basename "$file")"
  sed "s|caBundle: CA_BUNDLE|caBundle: $ca_bundle|" "$file" > "$out"
  filled+=("$out")
done
"$here/../apply.sh" "${options[@]}" "$namespace" "${filled[@]}"
if [[ ${#options[@]} -eq 0 ]]; then
  "${KUBECTL:-kubectl}" label namespace "$namespace" primehub.io/admission-webhook=enabled --overwrite
fi
