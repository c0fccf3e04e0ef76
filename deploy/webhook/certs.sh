#!/usr/bin/env bash
# Makes a CA and a serving certificate for primehub-admission.<namespace>.svc (as PrimeHub's
# chart does with genCA/genSignedCert: 3650 days, SANs primehub-admission.<ns> and
# primehub-admission.<ns>.svc) and writes them into <dir>: ca.pem, cert.pem, key.pem.
#
#   deploy/webhook/certs.sh <namespace> <dir>
#
# Then store cert.pem and key.pem as the Secret the Deployment mounts:
#   kubectl -n <namespace> create secret generic primehub-admission-webhook-certs \
#     --from-file=cert.pem=<dir>/cert.pem --from-file=key.pem=<dir>/key.pem
# and give <dir>/ca.pem to apply.sh. primehub-webhook reloads the files when the Secret
# changes, so a renewed certificate needs no restart.
set -euo pipefail
namespace=${1:?usage: certs.sh <namespace> <dir>}
dir=${2:?usage: certs.sh <namespace> <dir>}
mkdir -p "$dir"
service=primehub-admission
openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=primehub-admission-webhook-certs" \
  -keyout "$dir/ca-key.pem" -out "$dir/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=$service" \
  -keyout "$dir/key.pem" -out "$dir/cert.csr" 2>/dev/null
printf 'subjectAltName=DNS:%s.%s,DNS:%s.%s.svc\nextendedKeyUsage=serverAuth\n' \
  "$service" "$namespace" "$service" "$namespace" > "$dir/ext.cnf"
openssl x509 -req -in "$dir/cert.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca-key.pem" -CAcreateserial \
  -days 3650 -extfile "$dir/ext.cnf" -out "$dir/cert.pem" 2>/dev/null
rm -f "$dir/cert.csr" "$dir/ext.cnf" "$dir/ca.srl"
echo "$dir/ca.pem $dir/cert.pem $dir/key.pem"
