"""The fixtures of conformance_defaults: a minimal and a typical object of each kind (@NS@ is the test namespace)."""
import json
NS = "@NS@"
pod_typ_spec = {
  "initContainers": [{"name": "init", "image": "busybox:1.36", "command": ["true"]}],
  "containers": [{"name": "c", "image": "nginx:1.25",
     "ports": [{"containerPort": 80}, {"name": "m", "containerPort": 9090, "protocol": "UDP"}],
     "env": [{"name": "A", "value": "b"}, {"name": "F", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
     "resources": {"limits": {"cpu": "1", "memory": "1Gi"}},
     "volumeMounts": [{"name": "v", "mountPath": "/data"}],
     "livenessProbe": {"httpGet": {"path": "/", "port": 80}},
     "readinessProbe": {"exec": {"command": ["true"]}},
     "startupProbe": {"tcpSocket": {"port": 80}}}],
  "volumes": [{"name": "v", "emptyDir": {}}, {"name": "s", "secret": {"secretName": "x"}},
     {"name": "cm", "configMap": {"name": "y"}}, {"name": "pvc", "persistentVolumeClaim": {"claimName": "z"}},
     {"name": "hp", "hostPath": {"path": "/tmp"}},
     {"name": "proj", "projected": {"sources": [{"configMap": {"name": "y"}}, {"serviceAccountToken": {"path": "t"}}]}},
     {"name": "dapi", "downwardAPI": {"items": [{"path": "n", "fieldRef": {"fieldPath": "metadata.name"}}]}}],
  "nodeSelector": {"a": "b"}, "serviceAccountName": "sa",
  "tolerations": [{"key": "k", "operator": "Equal", "value": "v", "effect": "NoSchedule"}],
}
guaranteed = {"containers": [{"name": "c", "image": "busybox@sha256:0000000000000000000000000000000000000000000000000000000000000000",
   "resources": {"limits": {"cpu": "500m", "memory": "64Mi"}}, "imagePullPolicy": "Never",
   "securityContext": {"runAsUser": 1000}}],
   "restartPolicy": "Never", "hostNetwork": True, "dnsPolicy": "Default", "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "a", "operator": "In", "values": ["b"]}]}]}}},
   "securityContext": {"fsGroup": 100}, "priorityClassName": "", "automountServiceAccountToken": False}
burstable = {"containers": [{"name": "c", "image": "busybox:latest", "resources": {"requests": {"cpu": "100m"}}}],
   "hostNetwork": True, "restartPolicy": "OnFailure"}
tmpl = lambda labels, spec: {"metadata": {"labels": labels}, "spec": spec}
minimal_pod_spec = {"containers": [{"name": "c", "image": "busybox"}]}
F = [
 ("v1/namespaces", {"metadata": {"name": NS + "-min"}}),
 ("v1/namespaces", {"metadata": {"name": NS + "-typ", "labels": {"team": "a"}, "annotations": {"x": "y"}}, "spec": {"finalizers": ["kubernetes", "example.com/x"]}}),
 ("v1/pods", {"metadata": {"name": "pod-min"}, "spec": minimal_pod_spec}),
 ("v1/pods", {"metadata": {"name": "pod-typ", "labels": {"app": "x"}}, "spec": pod_typ_spec}),
 ("v1/pods", {"metadata": {"name": "pod-guaranteed"}, "spec": guaranteed}),
 ("v1/pods", {"metadata": {"name": "pod-burstable"}, "spec": burstable}),
 ("v1/services", {"metadata": {"name": "svc-min"}, "spec": {"ports": [{"port": 80}]}}),
 ("v1/services", {"metadata": {"name": "svc-typ", "labels": {"app": "x"}}, "spec": {"selector": {"app": "x"}, "ports": [{"name": "http", "port": 80, "targetPort": "web"}, {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 5353}]}}),
 ("v1/services", {"metadata": {"name": "svc-headless"}, "spec": {"clusterIP": "None", "selector": {"app": "x"}, "ports": [{"port": 80}]}}),
 ("v1/services", {"metadata": {"name": "svc-headless-noports"}, "spec": {"clusterIP": "None", "selector": {"app": "x"}}}),
 ("v1/services", {"metadata": {"name": "svc-extname"}, "spec": {"type": "ExternalName", "externalName": "example.com"}}),
 ("v1/services", {"metadata": {"name": "svc-affinity"}, "spec": {"sessionAffinity": "ClientIP", "ports": [{"port": 8080, "targetPort": 80}], "publishNotReadyAddresses": True}}),
 ("v1/persistentvolumeclaims", {"metadata": {"name": "pvc-min"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}),
 ("v1/persistentvolumeclaims", {"metadata": {"name": "pvc-typ"}, "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": "standard", "volumeMode": "Block", "resources": {"requests": {"storage": "10Gi"}}, "selector": {"matchLabels": {"a": "b"}}}}),
 ("v1/persistentvolumes", {"metadata": {"name": NS + "-pv-min"}, "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "hostPath": {"path": "/tmp/pv"}}}),
 ("v1/persistentvolumes", {"metadata": {"name": NS + "-pv-typ"}, "spec": {"capacity": {"storage": "5Gi"}, "accessModes": ["ReadWriteMany"], "nfs": {"server": "nfs.example.com", "path": "/x"}, "storageClassName": "nfs", "persistentVolumeReclaimPolicy": "Delete", "mountOptions": ["hard"]}}),
 ("v1/secrets", {"metadata": {"name": "secret-min"}}),
 ("v1/secrets", {"metadata": {"name": "secret-typ"}, "type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": "e30="}}),
 ("v1/secrets", {"metadata": {"name": "secret-string"}, "stringData": {"a": "b"}, "data": {"c": "ZA=="}}),
 ("v1/configmaps", {"metadata": {"name": "cm-min"}}),
 ("v1/configmaps", {"metadata": {"name": "cm-typ"}, "data": {"a": "b"}, "immutable": True}),
 ("v1/serviceaccounts", {"metadata": {"name": "sa-min"}}),
 ("v1/serviceaccounts", {"metadata": {"name": "sa-typ"}, "imagePullSecrets": [{"name": "x"}], "automountServiceAccountToken": False}),
 ("apps/v1/deployments", {"metadata": {"name": "deploy-min"}, "spec": {"selector": {"matchLabels": {"app": "d"}}, "template": tmpl({"app": "d"}, minimal_pod_spec)}}),
 ("apps/v1/deployments", {"metadata": {"name": "deploy-typ", "labels": {"app": "d"}}, "spec": {"replicas": 3, "strategy": {"type": "Recreate"}, "selector": {"matchLabels": {"app": "d2"}}, "template": tmpl({"app": "d2"}, pod_typ_spec)}}),
 ("apps/v1/deployments", {"metadata": {"name": "deploy-rolling"}, "spec": {"strategy": {"rollingUpdate": {"maxSurge": 1}}, "selector": {"matchLabels": {"app": "d3"}}, "template": tmpl({"app": "d3"}, {k: v for k, v in burstable.items() if k != "restartPolicy"})}}),
 ("apps/v1/statefulsets", {"metadata": {"name": "sts-min"}, "spec": {"selector": {"matchLabels": {"app": "s"}}, "template": tmpl({"app": "s"}, minimal_pod_spec)}}),
 ("apps/v1/statefulsets", {"metadata": {"name": "sts-typ"}, "spec": {"serviceName": "svc", "replicas": 2, "podManagementPolicy": "Parallel", "selector": {"matchLabels": {"app": "s2"}}, "template": tmpl({"app": "s2"}, {k: v for k, v in guaranteed.items() if k != "restartPolicy"}), "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}}),
 ("apps/v1/daemonsets", {"metadata": {"name": "ds-min"}, "spec": {"selector": {"matchLabels": {"app": "ds"}}, "template": tmpl({"app": "ds"}, minimal_pod_spec)}}),
 ("apps/v1/daemonsets", {"metadata": {"name": "ds-typ"}, "spec": {"updateStrategy": {"type": "OnDelete"}, "selector": {"matchLabels": {"app": "ds2"}}, "template": tmpl({"app": "ds2"}, pod_typ_spec)}}),
 ("networking.k8s.io/v1/ingresses", {"metadata": {"name": "ing-min"}, "spec": {"defaultBackend": {"service": {"name": "svc", "port": {"number": 80}}}}}),
 ("networking.k8s.io/v1/ingresses", {"metadata": {"name": "ing-typ"}, "spec": {"ingressClassName": "nginx", "tls": [{"hosts": ["a.example.com"], "secretName": "tls"}], "rules": [{"host": "a.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "svc", "port": {"name": "http"}}}}]}}]}}),
 ("networking.k8s.io/v1/networkpolicies", {"metadata": {"name": "np-min"}, "spec": {"podSelector": {}}}),
 ("networking.k8s.io/v1/networkpolicies", {"metadata": {"name": "np-typ"}, "spec": {"podSelector": {"matchLabels": {"a": "b"}}, "ingress": [{"from": [{"podSelector": {}}], "ports": [{"port": 80}]}], "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}]}}),
 ("coordination.k8s.io/v1/leases", {"metadata": {"name": "lease-min"}}),
 ("coordination.k8s.io/v1/leases", {"metadata": {"name": "lease-typ"}, "spec": {"holderIdentity": "me", "leaseDurationSeconds": 15}}),
 ("rbac.authorization.k8s.io/v1/roles", {"metadata": {"name": "role-min"}}),
 ("rbac.authorization.k8s.io/v1/roles", {"metadata": {"name": "role-typ"}, "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]}),
 ("rbac.authorization.k8s.io/v1/rolebindings", {"metadata": {"name": "rb-typ"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "role-typ"}, "subjects": [{"kind": "ServiceAccount", "name": "sa"}, {"kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"}]}),
 ("v1/events", {"metadata": {"name": "ev-min"}, "involvedObject": {"kind": "Pod", "name": "pod-min", "namespace": NS}, "reason": "Test", "message": "m"}),
]
hostnet = {"hostNetwork": True, "containers": [{"name": "c", "image": "registry.example.com:5000/team/app", "ports": [{"containerPort": 8080}],
   "env": [{"name": "R", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}}],
   "lifecycle": {"preStop": {"httpGet": {"port": 80}}, "postStart": {"exec": {"command": ["true"]}}},
   "livenessProbe": {"grpc": {"port": 9000}}}],
   "ephemeralContainers": [],
   "volumes": [{"name": "eph", "ephemeral": {"volumeClaimTemplate": {"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}}}, {"name": "nosource"}]}
F += [
 ("v1/pods", {"metadata": {"name": "pod-hostnet"}, "spec": hostnet}),
 ("apps/v1/deployments", {"metadata": {"name": "deploy-hostnet"}, "spec": {"selector": {"matchLabels": {"app": "h"}}, "template": tmpl({"app": "h"}, hostnet)}}),
 ("v1/services", {"metadata": {"name": "svc-headless-noselector"}, "spec": {"clusterIP": "None", "ports": [{"port": 80}]}}),
 ("v1/services", {"metadata": {"name": "svc-nodeport"}, "spec": {"type": "NodePort", "selector": {"a": "b"}, "ports": [{"port": 80}]}}),
 ("v1/services", {"metadata": {"name": "svc-lb"}, "spec": {"type": "LoadBalancer", "selector": {"a": "b"}, "ports": [{"port": 80}]}}),
 ("v1/services", {"metadata": {"name": "svc-externalips"}, "spec": {"externalIPs": ["1.2.3.4"], "ports": [{"port": 80}]}}),
 ("apps/v1/statefulsets", {"metadata": {"name": "sts-rolling"}, "spec": {"updateStrategy": {"type": "RollingUpdate"}, "selector": {"matchLabels": {"app": "s3"}}, "template": tmpl({"app": "s3"}, minimal_pod_spec)}}),
 ("apps/v1/daemonsets", {"metadata": {"name": "ds-rolling"}, "spec": {"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "10%"}}, "selector": {"matchLabels": {"app": "ds3"}}, "template": tmpl({"app": "ds3"}, minimal_pod_spec)}}),
 ("rbac.authorization.k8s.io/v1/rolebindings", {"metadata": {"name": "rb-min"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"}, "subjects": [{"kind": "User", "name": "bob"}, {"kind": "Group", "name": "devs"}]}),
]

F = [f for f in F if f[0] != "v1/events"]
F += [
 ("v1/configmaps", {"metadata": {"name": "cm-empty", "labels": {}, "annotations": {}, "finalizers": []}, "data": {}, "binaryData": {}}),
 ("v1/pods", {"metadata": {"name": "pod-empty"}, "spec": {"containers": [{"name": "c", "image": "x", "env": [], "command": [], "args": [], "ports": [], "volumeMounts": [], "resources": {"limits": {}, "requests": {}}}], "volumes": [], "nodeSelector": {}, "tolerations": [], "imagePullSecrets": [], "initContainers": []}}),
 ("rbac.authorization.k8s.io/v1/roles", {"metadata": {"name": "role-empty"}, "rules": []}),
 ("v1/services", {"metadata": {"name": "svc-empty"}, "spec": {"selector": {}, "ports": [{"port": 80}], "externalIPs": []}}),
 ("apps/v1/deployments", {"metadata": {"name": "deploy-empty", "labels": {}}, "spec": {"selector": {"matchLabels": {"app": "e"}, "matchExpressions": []}, "template": {"metadata": {"labels": {"app": "e"}, "annotations": {}}, "spec": {"containers": [{"name": "c", "image": "x", "env": []}], "volumes": [{"name": "v", "emptyDir": {}}]}}}}),
]

print(json.dumps([{"resource": r, "object": o} for r, o in F], indent=1))
