#!/usr/bin/env python3
"""Writes cases.json: pairs of v1 specs whose diff.Diff update.sh asks Go for (the oracle of the
fake's rendering in primehub-reconcile/src/fake/godiff.rs). Deterministic (fixed seed)."""
import copy
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))

POD = {
    "volumes": [
        {"name": "cache", "emptyDir": {"medium": "Memory", "sizeLimit": "0.5Gi"}},
        {"name": "conf", "configMap": {"name": "conf", "items": [{"key": "a", "path": "a.conf", "mode": 0o400}], "defaultMode": 0o440, "optional": False}},
        {"name": "sec", "secret": {"secretName": "s"}},
        {"name": "host", "hostPath": {"path": "/var/x", "type": "DirectoryOrCreate"}},
        {"name": "proj", "projected": {"sources": [{"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}},
                                                    {"downwardAPI": {"items": [{"path": "cpu", "resourceFieldRef": {"containerName": "main", "resource": "limits.cpu", "divisor": "1m"}}]}}]}},
        {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {
            "metadata": {"labels": {"tier": "scratch"}, "annotations": {"a": "<b> & c"}, "creationTimestamp": "2024-01-02T03:04:05Z",
                         "managedFields": [{"manager": "m", "operation": "Update", "fieldsType": "FieldsV1", "fieldsV1": {"f:a": {".": {}}, "f:b": {}}}]},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, "dataSourceRef": {"kind": "Snap", "name": "s", "apiGroup": "x.io"}}}}},
    ],
    "initContainers": [{"name": "init", "image": "busybox", "command": ["true"], "restartPolicy": "Always"}],
    "containers": [
        {"name": "main", "image": "nginx:1.27", "command": ["sh", "-c"], "args": ["echo \"hi\"\t\u2028 é\u0001"],
         "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP", "hostPort": 8080}],
         "env": [{"name": "X", "value": "1"}, {"name": "N", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.nodeName"}}},
                 {"name": "M", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}}],
         "envFrom": [{"prefix": "P_", "configMapRef": {"name": "conf"}}],
         "resources": {"requests": {"cpu": "0.5", "memory": "1.5Gi", "ephemeral-storage": "1e3"}, "limits": {"cpu": "1000m", "memory": "2048Mi"}},
         "readinessProbe": {"httpGet": {"path": "/ready", "port": "http", "httpHeaders": [{"name": "H", "value": "v"}]}, "periodSeconds": 5},
         "livenessProbe": {"tcpSocket": {"port": 8080}, "initialDelaySeconds": 3, "terminationGracePeriodSeconds": 10},
         "startupProbe": {"grpc": {"port": 9090}},
         "lifecycle": {"preStop": {"sleep": {"seconds": 5}}, "postStart": {"exec": {"command": ["x"]}}},
         "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"], "add": ["NET_ADMIN"]}, "runAsNonRoot": True,
                             "seccompProfile": {"type": "RuntimeDefault"}},
         "volumeMounts": [{"name": "cache", "mountPath": "/cache"}, {"name": "conf", "mountPath": "/etc/conf", "readOnly": True, "subPath": "a"}],
         "imagePullPolicy": "IfNotPresent", "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
         "resizePolicy": [{"resourceName": "cpu", "restartPolicy": "NotRequired"}]},
        {"name": "side", "image": "busybox:1.36", "stdin": True, "tty": True, "workingDir": "/w"},
    ],
    "restartPolicy": "Always",
    "terminationGracePeriodSeconds": 30,
    "activeDeadlineSeconds": 100,
    "dnsPolicy": "ClusterFirst",
    "nodeSelector": {"zone": "a", "disk": "ssd"},
    "serviceAccountName": "sa",
    "serviceAccount": "sa",
    "automountServiceAccountToken": False,
    "hostNetwork": True,
    "hostPID": False,
    "shareProcessNamespace": True,
    "securityContext": {"runAsUser": 1000, "fsGroup": 2000, "supplementalGroups": [3000, 3001], "sysctls": [{"name": "net.x", "value": "1"}],
                        "seLinuxOptions": {"level": "s0"}},
    "imagePullSecrets": [{"name": "reg"}],
    "hostname": "h",
    "subdomain": "s",
    "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "k", "operator": "In", "values": ["a", "b"]}]}]}},
        "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 10, "podAffinityTerm": {
            "labelSelector": {"matchLabels": {"app": "x"}}, "topologyKey": "zone", "matchLabelKeys": ["pod-template-hash"]}}]}},
    "schedulerName": "default-scheduler",
    "tolerations": [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}, {"key": "t", "operator": "Equal", "value": "v", "effect": "NoExecute", "tolerationSeconds": 300}],
    "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["a", "b"]}],
    "priorityClassName": "high",
    "priority": 1000,
    "dnsConfig": {"nameservers": ["1.1.1.1"], "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]},
    "readinessGates": [{"conditionType": "x.io/ready"}],
    "runtimeClassName": "rc",
    "enableServiceLinks": True,
    "preemptionPolicy": "Never",
    "overhead": {"cpu": "250m"},
    "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchExpressions": [{"key": "a", "operator": "Exists"}]}, "minDomains": 2}],
    "setHostnameAsFQDN": False,
    "os": {"name": "linux"},
    "hostUsers": True,
    "schedulingGates": [{"name": "g"}],
    "resourceClaims": [{"name": "rc", "resourceClaimTemplateName": "t"}],
    "resources": {"limits": {"cpu": "2"}},
}

PVC = {"accessModes": ["ReadWriteOnce", "ReadOnlyMany"], "selector": {"matchLabels": {"a": "b"}},
       "resources": {"requests": {"storage": "1Gi"}, "limits": {"storage": "10Gi"}}, "volumeName": "pv",
       "storageClassName": "standard", "volumeMode": "Filesystem", "dataSource": {"kind": "PersistentVolumeClaim", "name": "src"},
       "volumeAttributesClassName": "gold"}

QUANTITIES = ["0", "1", "1000m", "0.5", "1.5Gi", "2048Ki", "1e3", "1E3", "+5", "01Ki", "0.0000000001", "1.5e3", "12e2",
              "123456789012345678901", "9E", "10E", "-1.5", "0.5Ki", "1023Ki", "1025Ki", "100k", "1000k", "3Ki", "1024", "1536Mi", "7.5"]


def paths(value, prefix=()):
    """Every path to a leaf or a container in value."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from paths(v, prefix + (i,))


def get(value, path):
    for p in path:
        value = value[p]
    return value


def mutate(r, spec):
    out = copy.deepcopy(spec)
    for _ in range(r.randint(1, 4)):
        path = r.choice([p for p in paths(out) if p])
        parent, key = get(out, path[:-1]), path[-1]
        old = parent[key]
        if isinstance(old, bool):
            parent[key] = not old
        elif isinstance(old, int):
            parent[key] = old + r.randint(1, 5)
        elif isinstance(old, str):
            parent[key] = old + "x" if not path[-1] in ("cpu", "memory", "storage", "sizeLimit", "divisor", "ephemeral-storage") else r.choice(QUANTITIES)
        elif isinstance(old, list) and old:
            del parent[key][r.randrange(len(old))]
        elif isinstance(parent, dict):
            del parent[key]
    return out


def main():
    r = random.Random(1037)
    cases = [
        {"name": "empty pod specs", "root": "PodSpec", "old": {}, "new": {}},
        {"name": "a pod spec from nothing", "root": "PodSpec", "old": {}, "new": POD},
        {"name": "empty lists and maps against missing ones", "root": "PodSpec", "old": {"containers": [{"name": "a", "image": "x"}]},
         "new": {"containers": [{"name": "a", "image": "x", "env": [], "command": []}], "nodeSelector": {}, "volumes": [], "tolerations": None}},
        {"name": "an int port and a named one", "root": "PodSpec",
         "old": {"containers": [{"name": "a", "livenessProbe": {"httpGet": {"port": 80}}}]},
         "new": {"containers": [{"name": "a", "livenessProbe": {"httpGet": {"port": "http"}}}]}},
        {"name": "a PVC spec from nothing", "root": "PersistentVolumeClaimSpec", "old": {}, "new": PVC},
    ]
    for q in QUANTITIES:
        cases.append({"name": f"quantity {q}", "root": "PersistentVolumeClaimSpec",
                      "old": {"resources": {"requests": {"storage": "1"}}}, "new": {"resources": {"requests": {"storage": q}}}})
    pv = {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "hostPath": {"path": "/data", "type": "Directory"}}
    cases += [
        {"name": "a PV source from nothing", "root": "PersistentVolumeSource", "old": {}, "new": pv},
        {"name": "a PV source changed", "root": "PersistentVolumeSource", "old": pv,
         "new": {**pv, "hostPath": {"path": "/other"}}},
        {"name": "a PV source replaced", "root": "PersistentVolumeSource", "old": pv,
         "new": {"csi": {"driver": "d", "volumeHandle": "h", "volumeAttributes": {"b": "2", "a": "1"}, "nodePublishSecretRef": {"name": "s"}}}},
        {"name": "PV sources with a local path and NFS", "root": "PersistentVolumeSource",
         "old": {"local": {"path": "/mnt", "fsType": "ext4"}}, "new": {"nfs": {"server": "10.0.0.2", "path": "/export", "readOnly": True}}},
    ]
    for i in range(40):
        cases.append({"name": f"random pod change {i}", "root": "PodSpec", "old": POD, "new": mutate(r, POD)})
    for i in range(10):
        cases.append({"name": f"random claim change {i}", "root": "PersistentVolumeClaimSpec", "old": PVC, "new": mutate(r, PVC)})
    with open(os.path.join(HERE, "cases.json"), "w") as f:
        json.dump(cases, f, indent=1, sort_keys=False)
        f.write("\n")


if __name__ == "__main__":
    main()
