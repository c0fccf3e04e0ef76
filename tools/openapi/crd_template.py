#!/usr/bin/env python3
"""Cuts the OpenAPI paths kube-apiserver publishes for a custom resource into a template.

The fake cluster (primehub-reconcile/src/fake/openapi.rs) publishes every CRD's kinds the way
kube-apiserver's CRD OpenAPI builder does (k8s.io/apiextensions-apiserver/pkg/controller/openapi/
builder). The paths and their parameters are the same for every CRD up to the names, so this
script takes them from a real API server for two throw-away CRDs (one namespaced, one
cluster-scoped, both with a status subresource) and writes them with placeholders:

    ${group} ${groupRev} ${groupTag} ${GroupOp} ${version} ${VersionOp}
    ${kind} ${listKind} ${plural} ${a}  (the article kube-apiserver puts before the kind)

Usage (with KUBECONFIG pointing at a real kube-apiserver of the version in
tools/kube-apiserver/go.mod; the script creates and deletes the CRDs):

    tools/openapi/crd_template.py > primehub-reconcile/src/fake/openapi/crd-template.json
"""
import json
import subprocess
import sys
import time

GROUP = "tmplgrp.example.com"
VERSION = "v7beta3"
KINDS = {"namespaced": "Zqnsthing", "cluster": "Zqclthing"}


def kubectl(*args, stdin=None):
    return subprocess.run(["kubectl", *args], input=stdin, capture_output=True, text=True, check=True).stdout


def crd(scope, kind):
    plural = kind.lower() + "s"
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "names": {"kind": kind, "listKind": kind + "List", "plural": plural, "singular": kind.lower()},
            "scope": "Namespaced" if scope == "namespaced" else "Cluster",
            "versions": [{
                "name": VERSION, "served": True, "storage": True,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {"type": "object"}}}},
            }],
        },
    }


def placeholders(text, kind):
    plural = kind.lower() + "s"
    for old, new in [
        (kind + "List", "${listKind}"),
        (" a " + kind, " ${a} " + kind),
        (kind, "${kind}"),
        (plural, "${plural}"),
        ("TmplgrpExampleCom", "${GroupOp}"),
        ("tmplgrpExampleCom", "${groupTag}"),
        ("com.example.tmplgrp", "${groupRev}"),
        (GROUP, "${group}"),
        ("V7beta3", "${VersionOp}"),
        (VERSION, "${version}"),
    ]:
        text = text.replace(old, new)
    return text


def main():
    docs = [crd(scope, kind) for scope, kind in KINDS.items()]
    kubectl("apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}))
    try:
        time.sleep(5)
        v2 = json.loads(kubectl("get", "--raw", "/openapi/v2"))
        v3 = json.loads(kubectl("get", "--raw", f"/openapi/v3/apis/{GROUP}/{VERSION}"))
    finally:
        kubectl("delete", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}))
    out = {"v2": {}, "v3": {}}
    parameters = set()
    for scope, kind in KINDS.items():
        plural = kind.lower() + "s"
        v2_paths = {p: o for p, o in v2["paths"].items() if f"/{plural}" in p}
        v3_paths = {p: o for p, o in v3["paths"].items() if f"/{plural}" in p}
        for text in [json.dumps(v2_paths)]:
            for part in text.split('"#/parameters/')[1:]:
                parameters.add(part.split('"')[0])
        out["v2"][scope] = json.loads(placeholders(json.dumps(v2_paths), kind))
        out["v3"][scope] = json.loads(placeholders(json.dumps(v3_paths), kind))
    out["v2_parameters"] = {p: v2["parameters"][p] for p in sorted(parameters)}
    out["v3_info"] = v3["info"]
    out["v3_schemas"] = {
        name: schema for name, schema in v3["components"]["schemas"].items() if name.startswith("io.k8s.")
    }
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
