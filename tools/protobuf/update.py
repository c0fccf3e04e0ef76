#!/usr/bin/env python3
"""Regenerate the protobuf schema the fake cluster decodes request bodies with.

    tools/protobuf/update.py           # from the k8s.io modules tools/kube-apiserver pins

kubectl's typed commands (`kubectl create configmap|secret|deployment|…`) send their objects as
`application/vnd.kubernetes.protobuf` and do not fall back to JSON on a 415 (client-go only does
for CBOR). The fake cluster (`primehub_reconcile::fake`) decodes those bodies with this schema:
for every protobuf message of the packages of the built-in kinds it serves, its fields by number
with their protobuf type (from the packages' `generated.proto`) and how Go's encoding/json writes
them (from the Go struct tags in the same packages: JSON name, pointer, `omitempty`, `omitzero`,
embedded = inline). The modules are the k8s.io/api, k8s.io/apimachinery and
k8s.io/apiextensions-apiserver versions the real tier runs (`tools/kube-apiserver/go.mod`),
fetched through the Go module proxy. One gzip file (deterministic: no timestamp, sorted keys)
is written at OUTPUT and committed.

Output: {"kubernetes": "<k8s.io/api version>", "groups": {"<group>": "<proto package>"},
         "messages": {"<full message name>": [[number, jsonName, type, label, flags], …]}}
with label "opt" | "rep" | "map:<key type>" and flags a string of "p" (Go pointer), "o"
(omitempty), "z" (omitzero), "i" (embedded: the fields are written inline).
"""
import gzip
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUTPUT = os.path.join(ROOT, "primehub-reconcile", "src", "fake", "protobuf", "kubernetes.json.gz")

# (module, package directory, API group or None for support packages). The groups are those of
# the built-in kinds the fake serves (primehub-reconcile/src/fake/kinds.rs, Kinds::standard).
PACKAGES = [
    ("k8s.io/api", "core/v1", ""),
    ("k8s.io/api", "apps/v1", "apps"),
    ("k8s.io/api", "networking/v1", "networking.k8s.io"),
    ("k8s.io/api", "coordination/v1", "coordination.k8s.io"),
    ("k8s.io/api", "events/v1", "events.k8s.io"),
    ("k8s.io/api", "rbac/v1", "rbac.authorization.k8s.io"),
    ("k8s.io/apiextensions-apiserver", "pkg/apis/apiextensions/v1", "apiextensions.k8s.io"),
    ("k8s.io/apimachinery", "pkg/apis/meta/v1", None),
    ("k8s.io/apimachinery", "pkg/runtime", None),
    ("k8s.io/apimachinery", "pkg/runtime/schema", None),
    ("k8s.io/apimachinery", "pkg/api/resource", None),
    ("k8s.io/apimachinery", "pkg/util/intstr", None),
]
# Messages whose Go types have custom JSON (the fake converts them by name) or no struct tags.
UNTAGGED = {"Time", "MicroTime", "Timestamp", "Duration", "FieldsV1", "Quantity", "QuantityValue",
            "IntOrString", "RawExtension", "Unknown", "TypeMeta", "JSON", "JSONSchemaPropsOrArray",
            "JSONSchemaPropsOrBool", "JSONSchemaPropsOrStringArray", "Verbs", "ExtraValue",
            "StringArray", "Fields", "GroupKind", "GroupVersionKind", "GroupVersionResource",
            "GroupResource", "GroupVersion", "GroupVersionForDiscovery"}
SCALARS = {"string", "bytes", "bool", "int32", "int64", "double", "float", "uint32", "uint64"}


def module_version(module):
    with open(os.path.join(ROOT, "tools", "kube-apiserver", "go.mod")) as f:
        text = f.read()
    m = re.search(r"^\s*" + re.escape(module) + r"\s*=>\s*\S+\s+(v\S+)", text, re.M) or \
        re.search(r"^\s*(?:require\s+)?" + re.escape(module) + r"\s+(v\S+)", text, re.M)
    if not m:
        sys.exit(f"no {module} requirement in tools/kube-apiserver/go.mod")
    return m.group(1)


def module_dir(module):
    out = subprocess.run(["go", "mod", "download", "-json", f"{module}@{module_version(module)}"],
                         cwd=os.path.join(ROOT, "tools", "kube-apiserver"),
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["Dir"]


def strip_comments(text):
    return re.sub(r"//[^\n]*", "", re.sub(r"/\*.*?\*/", "", text, flags=re.S))


FIELD = re.compile(r"^\s*(optional|repeated)\s+([\w.]+)\s+(\w+)\s*=\s*(\d+)\s*;")
MAP_FIELD = re.compile(r"^\s*map\s*<\s*(\w+)\s*,\s*([\w.]+)\s*>\s+(\w+)\s*=\s*(\d+)\s*;")


def parse_proto(path):
    """package, {message: [(number, proto name, type, label)]}"""
    text = strip_comments(open(path).read())
    package = re.search(r"^package\s+([\w.]+)\s*;", text, re.M).group(1)
    messages = {}
    current = None
    for line in text.splitlines():
        m = re.match(r"^message\s+(\w+)\s*\{", line)
        if m:
            current = messages.setdefault(m.group(1), [])
            continue
        if re.match(r"^\}", line):
            current = None
            continue
        if current is None:
            continue
        m = FIELD.match(line)
        if m:
            label, type_, name, number = m.groups()
            current.append((int(number), name, resolve(type_, package), "rep" if label == "repeated" else "opt"))
            continue
        m = MAP_FIELD.match(line)
        if m:
            key, value, name, number = m.groups()
            current.append((int(number), name, resolve(value, package), "map:" + key))
            continue
        if line.strip():
            sys.exit(f"{path}: cannot parse {line!r}")
    return package, messages


def resolve(type_, package):
    if type_ in SCALARS:
        return type_
    return type_.lstrip(".") if "." in type_ else f"{package}.{type_}"


GO_FIELD = re.compile(r"^\s*(?:(\w+)\s+)?(\*?)([\w.\[\]*]+)\s+`([^`]*)`")


def parse_go(directory):
    """{struct: {field number: (json name, flags)}}"""
    structs = {}
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".go") or name.endswith("_test.go") or name.startswith("zz_generated") \
                or name.startswith("generated."):
            continue
        current = None
        for line in open(os.path.join(directory, name)):
            m = re.match(r"^type\s+(\w+)\s+struct\s*\{", line)
            if m:
                current = structs.setdefault(m.group(1), {})
                continue
            if line.startswith("}"):
                current = None
                continue
            if current is None:
                continue
            m = GO_FIELD.match(line)
            if not m:
                continue
            field, pointer, _type, tags = m.groups()
            proto = re.search(r'protobuf:"([^"]*)"', tags)
            if not proto or proto.group(1) == "-":
                continue
            number = int(proto.group(1).split(",")[1])
            js = re.search(r'json:"([^"]*)"', tags)
            parts = js.group(1).split(",") if js else [field or ""]
            json_name = parts[0] or ("" if field is None else field)
            flags = ""
            if pointer:
                flags += "p"
            if "omitempty" in parts[1:]:
                flags += "o"
            if "omitzero" in parts[1:]:
                flags += "z"
            if field is None and not parts[0]:
                flags += "i"
                json_name = ""
            current[number] = (json_name, flags)
    return structs


def main():
    dirs = {}
    out = {"kubernetes": module_version("k8s.io/api"), "groups": {}, "messages": {}}
    for module, package_dir, group in PACKAGES:
        if module not in dirs:
            dirs[module] = module_dir(module)
        directory = os.path.join(dirs[module], package_dir)
        package, messages = parse_proto(os.path.join(directory, "generated.proto"))
        structs = parse_go(directory)
        if group is not None:
            out["groups"][group] = package
        for message, fields in messages.items():
            go = structs.get(message, {})
            missing = [name for number, name, _, _ in fields if number not in go]
            if missing and message not in UNTAGGED:
                print(f"warning: {package}.{message}: no Go struct tags for {missing}", file=sys.stderr)
            rows = []
            for number, name, type_, label in sorted(fields):
                json_name, flags = go.get(number, (name, "o"))
                rows.append([number, json_name, type_, label, flags])
            out["messages"][f"{package}.{message}"] = rows
    os.makedirs(os.path.dirname(OUTPUT), exist_ok=True)
    data = json.dumps(out, sort_keys=True, separators=(",", ":")).encode()
    with open(OUTPUT, "wb") as f:
        with gzip.GzipFile(fileobj=f, mode="wb", mtime=0, filename="") as gz:
            gz.write(data)
    print(f"{OUTPUT}: {len(out['messages'])} messages, {len(data)} bytes of JSON")


if __name__ == "__main__":
    main()
