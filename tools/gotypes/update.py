#!/usr/bin/env python3
"""Regenerate the Go field types the fake cluster names in kube-apiserver's decode errors.

    tools/gotypes/update.py           # from the k8s.io modules tools/kube-apiserver pins

kube-apiserver decodes a JSON body into the Go structs of the kind's API version; a value of the
wrong JSON type fails with Go's message, which names the Go type of the field as Go's reflection
prints it (`json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of
type int32`, `… of type v1.RestartPolicy`, `… of type []v1.Container`). The OpenAPI definitions
the fake ships (`tools/openapi/update.py`) give a field's JSON type but not its named Go type nor
the Go structs embedded inline (`Volume` embeds `VolumeSource`, which Go's message spells in the
field path: `spec.volumes.VolumeSource.hostPath`). This script reads them from the Go struct
tags of the packages of the built-in kinds the fake serves (the same modules and packages as
`tools/protobuf/update.py`) and writes one gzip file (deterministic, sorted keys), committed:

    {"kubernetes": "<k8s.io/api version>",
     "structs": {"<OpenAPI definition name>": {"<json field>": ["<Go type>", "<embedded path>"]}}}

The Go type is as `reflect.Type.String()` prints it after Go's decoder dereferences pointers
(`*int32` is `int32`, `metav1.Time` is `v1.Time`, `[]byte` is `[]uint8`); the embedded path is
the names of the inline-embedded structs the field is promoted from (`VolumeSource`), or "".
"""
import gzip
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools", "protobuf"))
import update as protobuf  # noqa: E402  (module_dir, module_version, PACKAGES)

OUTPUT = os.path.join(ROOT, "primehub-reconcile", "src", "fake", "openapi", "gotypes.json.gz")

BUILTIN = {"string", "bool", "int", "int8", "int16", "int32", "int64", "uint", "uint16", "uint32",
           "uint64", "uint8", "float32", "float64", "any", "interface{}"}
FIELD = re.compile(r"^\s*(?:(\w+)\s+)?([\w.\[\]*{}]+)\s+`([^`]*)`")
IDENT = re.compile(r"([A-Za-z_]\w*\.)?([A-Za-z_]\w*)")


def openapi_prefix(module, package_dir):
    """The OpenAPI definition prefix of a Go package: io.k8s.api.core.v1, …"""
    host, *rest = module.split("/")
    return ".".join(list(reversed(host.split("."))) + rest + package_dir.split("/"))


def imports(text):
    """{name used in the file: package name}"""
    out = {}
    for alias, path in re.findall(r'^\s*(?:import\s+)?(\w+\s+)?"([\w./-]+)"\s*$', text, re.M):
        out[(alias or path.rsplit("/", 1)[-1]).strip()] = path.rsplit("/", 1)[-1]
    return out


def go_type(expr, package, aliases):
    """reflect's spelling of a field type (the top-level pointer dereferenced)."""
    expr = expr.lstrip("*").replace("[]byte", "[]uint8")

    def name(m):
        qualifier, ident = m.group(1), m.group(2)
        if qualifier:
            return aliases.get(qualifier[:-1], qualifier[:-1]) + "." + ident
        if ident in BUILTIN or ident == "map":
            return "uint8" if ident == "byte" else ident
        return f"{package}.{ident}"

    return IDENT.sub(name, expr)


def parse_package(directory, package):
    """{struct: [(json name or None for embedded, Go type, embedded type name)]}"""
    structs = {}
    for file in sorted(os.listdir(directory)):
        if not file.endswith(".go") or file.endswith("_test.go") or file.startswith(("zz_generated", "generated.")):
            continue
        text = open(os.path.join(directory, file)).read()
        aliases = imports(text)
        current = None
        for line in text.splitlines():
            m = re.match(r"^type\s+(\w+)\s+struct\s*\{", line)
            if m:
                current = structs.setdefault(m.group(1), [])
                continue
            if line.startswith("}"):
                current = None
                continue
            if current is None:
                continue
            m = FIELD.match(line)
            if not m:
                continue
            field, expr, tags = m.groups()
            js = re.search(r'json:"([^"]*)"', tags)
            parts = js.group(1).split(",") if js else [field or ""]
            if parts[0] == "-":
                continue
            if field is None and not parts[0]:
                # embedded inline: its fields are promoted
                current.append((None, go_type(expr, package, aliases), expr.lstrip("*").split(".")[-1]))
            else:
                current.append((parts[0] or field, go_type(expr, package, aliases), ""))
    return structs


def main():
    dirs = {}
    packages = {}
    for module, package_dir, _ in protobuf.PACKAGES:
        if module not in dirs:
            dirs[module] = protobuf.module_dir(module)
        package = package_dir.rsplit("/", 1)[-1]
        packages[(openapi_prefix(module, package_dir), package)] = parse_package(
            os.path.join(dirs[module], package_dir), package)
    by_go = {}  # "v1.Container" may be ambiguous across packages: key by OpenAPI prefix
    for (prefix, package), structs in packages.items():
        for name, fields in structs.items():
            by_go[(prefix, name)] = fields

    def flatten(prefix, name, seen=()):
        out = {}
        for json_name, typ, embedded in by_go.get((prefix, name), []):
            if json_name is not None:
                out[json_name] = [typ, ""]
                continue
            # an embedded struct of the same package (or meta's TypeMeta/ListMeta)
            inner = embedded
            inner_prefix = prefix
            if (prefix, inner) not in by_go:
                inner_prefix = "io.k8s.apimachinery.pkg.apis.meta.v1"
            if inner in seen:
                continue
            for k, (t, path) in flatten(inner_prefix, inner, seen + (inner,)).items():
                out.setdefault(k, [t, inner + ("." + path if path else "")])
        return out

    out = {"kubernetes": protobuf.module_version("k8s.io/api"), "structs": {}}
    for (prefix, name) in sorted(by_go):
        fields = flatten(prefix, name)
        if fields:
            out["structs"][f"{prefix}.{name}"] = fields
    data = json.dumps(out, sort_keys=True, separators=(",", ":")).encode()
    with open(OUTPUT, "wb") as f:
        with gzip.GzipFile(fileobj=f, mode="wb", mtime=0, filename="") as gz:
            gz.write(data)
    print(f"{OUTPUT}: {len(out['structs'])} structs, {len(data)} bytes of JSON")


if __name__ == "__main__":
    main()
