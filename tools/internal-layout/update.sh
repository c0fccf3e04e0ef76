#!/usr/bin/env bash
# Regenerates the committed data of the fake cluster's kube-apiserver diff (README.md):
#   primehub-reconcile/src/fake/godiff/layout.json.gz   the internal structs' layout
#   primehub-reconcile/src/fake/godiff/difflib.json.gz  go-difflib's answers (test oracle)
#   primehub-reconcile/src/fake/godiff/specs.json.gz    diff.Diff of the spec pairs cases.py writes (cases.json)
# Needs Go and the k8s.io modules (the Go module cache, or the Go proxy); CI does not run it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/../../primehub-reconcile/src/fake/godiff"
cd "$here"
export GOFLAGS=-mod=mod
go build -o "${TMPDIR:-/tmp}/internal-layout.$$" .
bin="${TMPDIR:-/tmp}/internal-layout.$$"
trap 'rm -f "$bin"' EXIT
"$bin" layout | gzip -n -9 > "$out/layout.json.gz"
"$bin" difflib | gzip -n -9 > "$out/difflib.json.gz"
python3 cases.py
"$bin" fixtures < cases.json | gzip -n -9 > "$out/specs.json.gz"
ls -l "$out"
