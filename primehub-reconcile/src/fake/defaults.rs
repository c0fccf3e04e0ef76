//! Defaulting, as kube-apiserver v1.37 applies it: the `SetDefaults_*` functions of the
//! versioned API (run when a body is decoded, so on create, update, patch and status writes),
//! the strategies' `PrepareForCreate`/`PrepareForUpdate`, the mutating admission plugins the
//! API server runs by default (`DefaultTolerationSeconds`, `Priority`,
//! `StorageObjectInUseProtection`), Service IP and node-port allocation, and the fields Go
//! always serialises (a Deployment's `status: {}`, a Role's `rules: null`, …).
//!
//! Everything here is a pure function over `serde_json::Value`, except allocation, which is
//! given the values already taken. Each function names its Kubernetes source
//! (`pkg/apis/<group>/v1/defaults.go`, `pkg/registry/<group>/<kind>/strategy.go`,
//! `plugin/pkg/admission/...`). What was checked against the real kube-apiserver is in
//! `conformance_defaults`.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use base64::Engine;
use primehub_model::quantity::{Cpu, Memory};
use serde_json::{Map, Value, json};

use crate::api::ResourceKind;
use crate::error::{InvalidCause, KubeError, Result};

/// The Service cluster IP range of the real tier, `10.0.0.0/24` (`tools/kube-apiserver`:
/// `--service-cluster-ip-range=10.0.0.0/24`).
const SERVICE_NET: [u8; 3] = [10, 0, 0];
/// `10.0.0.1` is the `kubernetes` Service's in a real cluster; never handed out.
const KUBERNETES_SERVICE_HOST: u8 = 1;
/// kube-apiserver's default `--service-node-port-range`.
const NODE_PORTS: std::ops::RangeInclusive<u16> = 30000..=32767;

/// The finalizer `StorageObjectInUseProtection` puts on every PVC.
pub(crate) const PVC_PROTECTION: &str = "kubernetes.io/pvc-protection";
/// The finalizer `StorageObjectInUseProtection` puts on every PersistentVolume.
pub(crate) const PV_PROTECTION: &str = "kubernetes.io/pv-protection";

fn is(kind: &ResourceKind, group: &str, plural: &str) -> bool {
    kind.group == group && kind.plural == plural
}

/// Whether the kind's objects carry `metadata.generation` (kube-apiserver sets it in the
/// strategies of these kinds only; custom resources always have it).
pub(crate) fn has_generation(kind: &ResourceKind) -> bool {
    let core_without = [
        "namespaces",
        "services",
        "persistentvolumeclaims",
        "persistentvolumes",
        "secrets",
        "configmaps",
        "serviceaccounts",
        "events",
        "endpoints",
    ];
    match kind.group.as_str() {
        "" => !core_without.contains(&kind.plural.as_str()),
        "coordination.k8s.io" | "rbac.authorization.k8s.io" | "events.k8s.io" => false,
        _ => true,
    }
}

// ---------------------------------------------------------------------------------------------
// Small helpers over JSON
// ---------------------------------------------------------------------------------------------

/// Whether a Go pointer/slice/map field is unset (absent or null).
fn missing(m: &Map<String, Value>, key: &str) -> bool {
    m.get(key).is_none_or(Value::is_null)
}

/// Whether a Go string field is unset (absent, null or "").
fn empty_str(m: &Map<String, Value>, key: &str) -> bool {
    match m.get(key) {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(_) => false,
    }
}

fn default(m: &mut Map<String, Value>, key: &str, value: Value) {
    if missing(m, key) {
        m.insert(key.into(), value);
    }
}

fn default_str(m: &mut Map<String, Value>, key: &str, value: &str) {
    if empty_str(m, key) {
        m.insert(key.into(), json!(value));
    }
}

/// The object at `key`, made one (from absent or null) if needed; `None` if it is another type.
fn object_at<'a>(m: &'a mut Map<String, Value>, key: &str) -> Option<&'a mut Map<String, Value>> {
    let v = m.entry(key).or_insert_with(|| json!({}));
    if v.is_null() {
        *v = json!({});
    }
    v.as_object_mut()
}

/// The object at `key` if there is one.
fn existing<'a>(m: &'a mut Map<String, Value>, key: &str) -> Option<&'a mut Map<String, Value>> {
    m.get_mut(key)?.as_object_mut()
}

/// Each object of the array at `key`.
fn each<'a>(
    m: &'a mut Map<String, Value>,
    key: &str,
) -> impl Iterator<Item = &'a mut Map<String, Value>> {
    m.get_mut(key)
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object_mut)
}

fn str_at<'a>(m: &'a Map<String, Value>, key: &str) -> &'a str {
    m.get(key).and_then(Value::as_str).unwrap_or("")
}

// ---------------------------------------------------------------------------------------------
// Defaulting on every write (decode-time SetDefaults_* and conversion)
// ---------------------------------------------------------------------------------------------

/// Fills in the defaults kube-apiserver applies when it decodes a body of `kind` (create,
/// update, patch result and status writes alike). Idempotent.
pub(crate) fn apply(kind: &ResourceKind, object: &mut Value) {
    prune_empty(kind, object);
    let Some(o) = object.as_object_mut() else {
        return;
    };
    match (kind.group.as_str(), kind.plural.as_str()) {
        ("", "pods") => pod(o),
        ("", "services") => service(o),
        ("", "persistentvolumeclaims") => pvc(o),
        ("", "persistentvolumes") => pv(o),
        ("", "namespaces") => namespace(o),
        ("", "secrets") => secret(o),
        ("apps", "deployments") => deployment(o),
        ("apps", "statefulsets") => statefulset(o),
        ("apps", "daemonsets") => daemonset(o),
        ("networking.k8s.io", "ingresses") => {
            // IngressStatus is a struct Go always serialises: `status: {loadBalancer: {}}`.
            if let Some(s) = object_at(o, "status") {
                default(s, "loadBalancer", json!({}));
            }
        }
        ("networking.k8s.io", "networkpolicies") => network_policy(o),
        // LeaseSpec is a struct Go always serialises.
        ("coordination.k8s.io", "leases") => default(o, "spec", json!({})),
        // `Role.rules` has no `omitempty`: an empty Role reads back `rules: null`.
        ("rbac.authorization.k8s.io", "roles") => {
            o.entry("rules").or_insert(Value::Null);
        }
        ("rbac.authorization.k8s.io", "rolebindings") => {
            // rbac/v1 SetDefaults_Subject.
            for s in each(o, "subjects") {
                if empty_str(s, "apiGroup") && matches!(str_at(s, "kind"), "User" | "Group") {
                    s.insert("apiGroup".into(), json!("rbac.authorization.k8s.io"));
                }
            }
        }
        _ => {}
    }
    // The Go structs' quantities, as kube-apiserver writes them back.
    super::quantity::canonicalize(kind, object);
}

/// Drops the empty lists and maps (and nulls) of a built-in kind, as kube-apiserver's
/// protobuf storage does: an empty slice or map is stored as nil, which Go's `omitempty`
/// leaves out (`labels: {}`, `env: []`, `resources.limits: {}` are not stored). Which fields
/// are lists and maps comes from the kind's OpenAPI schema; empty structs (`emptyDir: {}`,
/// `podSelector: {}`) stay. Custom resources are stored as JSON and keep them.
fn prune_empty(kind: &ResourceKind, object: &mut Value) {
    let api = super::openapi::kubernetes();
    let Some(name) = api.definition_name(&kind.group, &kind.version, &kind.kind) else {
        return;
    };
    if let Some(schema) = api.definition(name) {
        prune(api, schema, object, 0);
    }
}

fn resolve<'a>(api: &'a super::openapi::KubernetesOpenApi, schema: &'a Value) -> &'a Value {
    match schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/definitions/"))
    {
        Some(name) => api.definition(name).unwrap_or(schema),
        None => schema,
    }
}

fn prune(api: &super::openapi::KubernetesOpenApi, schema: &Value, value: &mut Value, depth: u8) {
    if depth > 40 {
        return;
    }
    let schema = resolve(api, schema);
    match value {
        Value::Object(map) => {
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                map.retain(|k, v| {
                    let Some(field) = props.get(k) else {
                        return true;
                    };
                    let field = resolve(api, field);
                    let collection = field.get("type").and_then(Value::as_str) == Some("array")
                        || field.get("additionalProperties").is_some();
                    let empty = v.is_null()
                        || (collection
                            && (v.as_array().is_some_and(Vec::is_empty)
                                || v.as_object().is_some_and(Map::is_empty)));
                    !empty
                });
                for (k, v) in map.iter_mut() {
                    if let Some(field) = props.get(k) {
                        prune(api, field, v, depth + 1);
                    }
                }
            } else if let Some(values) = schema.get("additionalProperties") {
                for v in map.values_mut() {
                    prune(api, values, v, depth + 1);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = schema.get("items") {
                for v in items.iter_mut() {
                    prune(api, item, v, depth + 1);
                }
            }
        }
        _ => {}
    }
}

/// core/v1 SetDefaults_Pod (+ SetDefaults_PodSpec and the container defaults).
fn pod(o: &mut Map<String, Value>) {
    let Some(spec) = object_at(o, "spec") else {
        return;
    };
    pod_spec(spec);
    // SetDefaults_Pod: requests default to limits, for containers and init containers.
    for key in ["containers", "initContainers"] {
        for c in each(spec, key) {
            let Some(r) = existing(c, "resources") else {
                continue;
            };
            let Some(limits) = r.get("limits").and_then(Value::as_object).cloned() else {
                continue;
            };
            if let Some(requests) = object_at(r, "requests") {
                for (name, q) in limits {
                    requests.entry(name).or_insert(q);
                }
            }
        }
    }
    default(spec, "enableServiceLinks", json!(true));
    // SetDefaults_Pod: host-network pods get hostPort = containerPort (not in templates since
    // v1.28: the DefaultHostNetworkHostPortsInPodTemplates gate is off).
    if spec.get("hostNetwork") == Some(&json!(true)) {
        for key in ["containers", "initContainers"] {
            for c in each(spec, key) {
                for p in each(c, "ports") {
                    if p.get("hostPort").and_then(Value::as_i64).unwrap_or(0) == 0
                        && let Some(cp) = p.get("containerPort").cloned()
                    {
                        p.insert("hostPort".into(), cp);
                    }
                }
            }
        }
    }
}

/// The pod template of a workload: SetDefaults_PodSpec and the container defaults.
fn template(spec: &mut Map<String, Value>) {
    if let Some(t) = existing(spec, "template")
        && let Some(s) = object_at(t, "spec")
    {
        pod_spec(s);
    }
}

/// core/v1 SetDefaults_PodSpec, the v1 conversion of `serviceAccount`, and every container
/// and volume of the spec.
fn pod_spec(spec: &mut Map<String, Value>) {
    default_str(spec, "dnsPolicy", "ClusterFirst");
    default_str(spec, "restartPolicy", "Always");
    default(spec, "securityContext", json!({}));
    default(spec, "terminationGracePeriodSeconds", json!(30));
    default_str(spec, "schedulerName", "default-scheduler");
    // Convert_v1_PodSpec_To_core_PodSpec / back: `serviceAccount` is the deprecated alias.
    let sa = str_at(spec, "serviceAccountName").to_owned();
    let deprecated = str_at(spec, "serviceAccount").to_owned();
    if !sa.is_empty() {
        spec.insert("serviceAccount".into(), json!(sa));
    } else if !deprecated.is_empty() {
        spec.insert("serviceAccountName".into(), json!(deprecated));
    }
    // `omitempty` strings: "" is not stored.
    for key in [
        "nodeName",
        "serviceAccountName",
        "serviceAccount",
        "hostname",
        "subdomain",
        "priorityClassName",
    ] {
        if spec.get(key).and_then(Value::as_str) == Some("") {
            spec.remove(key);
        }
    }
    for key in ["containers", "initContainers", "ephemeralContainers"] {
        for c in each(spec, key) {
            container(c);
        }
    }
    for v in each(spec, "volumes") {
        volume(v);
    }
}

/// core/v1 SetDefaults_Container (+ ports, env field refs, probes, lifecycle handlers).
fn container(c: &mut Map<String, Value>) {
    // ResourceRequirements is a struct Go always serialises.
    default(c, "resources", json!({}));
    if empty_str(c, "imagePullPolicy") {
        let policy = if image_tag(str_at(c, "image")) == "latest" {
            "Always"
        } else {
            "IfNotPresent"
        };
        c.insert("imagePullPolicy".into(), json!(policy));
    }
    default_str(c, "terminationMessagePath", "/dev/termination-log");
    default_str(c, "terminationMessagePolicy", "File");
    // SetDefaults_ContainerPort.
    for p in each(c, "ports") {
        default_str(p, "protocol", "TCP");
    }
    for e in each(c, "env") {
        if let Some(from) = existing(e, "valueFrom") {
            env_source(from);
        }
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = existing(c, probe) {
            // SetDefaults_Probe.
            default(p, "timeoutSeconds", json!(1));
            default(p, "periodSeconds", json!(10));
            default(p, "successThreshold", json!(1));
            default(p, "failureThreshold", json!(3));
            handler(p);
        }
    }
    if let Some(l) = existing(c, "lifecycle") {
        for hook in ["postStart", "preStop"] {
            if let Some(h) = existing(l, hook) {
                handler(h);
            }
        }
    }
}

/// SetDefaults_HTTPGetAction (`path: /`, `scheme: HTTP`) and SetDefaults_GRPCAction
/// (`service: ""`).
fn handler(h: &mut Map<String, Value>) {
    if let Some(get) = existing(h, "httpGet") {
        default_str(get, "path", "/");
        default_str(get, "scheme", "HTTP");
    }
    if let Some(grpc) = existing(h, "grpc") {
        default(grpc, "service", json!(""));
    }
}

/// SetDefaults_ObjectFieldSelector (`apiVersion: v1`) and the resource field ref's divisor
/// (a Quantity struct serialised as "0").
fn env_source(from: &mut Map<String, Value>) {
    if let Some(f) = existing(from, "fieldRef") {
        default_str(f, "apiVersion", "v1");
    }
    if let Some(r) = existing(from, "resourceFieldRef") {
        default(r, "divisor", json!("0"));
    }
}

/// The tag kube-apiserver's `parsers.ParseImageName` finds: `latest` when there is neither a
/// tag nor a digest.
fn image_tag(image: &str) -> &str {
    if image.is_empty() {
        return "";
    }
    let (name, digest) = match image.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (image, None),
    };
    let last = name.rsplit('/').next().unwrap_or(name);
    match last.split_once(':') {
        Some((_, tag)) => tag,
        None if digest.is_some() => "",
        None => "latest",
    }
}

/// core/v1 SetDefaults_Volume and the volume sources' defaults (also used for the sources of
/// a PersistentVolume's spec).
fn volume(v: &mut Map<String, Value>) {
    const SOURCES: &[&str] = &[
        "hostPath",
        "emptyDir",
        "gcePersistentDisk",
        "awsElasticBlockStore",
        "gitRepo",
        "secret",
        "nfs",
        "iscsi",
        "glusterfs",
        "persistentVolumeClaim",
        "rbd",
        "flexVolume",
        "cinder",
        "cephfs",
        "flocker",
        "downwardAPI",
        "fc",
        "azureFile",
        "configMap",
        "vsphereVolume",
        "quobyte",
        "azureDisk",
        "photonPersistentDisk",
        "projected",
        "portworxVolume",
        "scaleIO",
        "storageos",
        "csi",
        "ephemeral",
        "image",
    ];
    if SOURCES.iter().all(|s| missing(v, s)) {
        v.insert("emptyDir".into(), json!({}));
    }
    volume_sources(v);
    for (key, mode) in [("secret", 420), ("configMap", 420), ("downwardAPI", 420)] {
        if let Some(s) = existing(v, key) {
            default(s, "defaultMode", json!(mode));
        }
    }
    if let Some(d) = existing(v, "downwardAPI") {
        downward_items(d);
    }
    if let Some(p) = existing(v, "projected") {
        default(p, "defaultMode", json!(420));
        for s in each(p, "sources") {
            if let Some(t) = existing(s, "serviceAccountToken") {
                default(t, "expirationSeconds", json!(3600));
            }
            if let Some(d) = existing(s, "downwardAPI") {
                downward_items(d);
            }
        }
    }
    if let Some(e) = existing(v, "ephemeral")
        && let Some(t) = existing(e, "volumeClaimTemplate")
    {
        default(t, "metadata", json!({}));
        if let Some(s) = object_at(t, "spec") {
            pvc_spec(s);
        }
    }
}

fn downward_items(d: &mut Map<String, Value>) {
    for item in each(d, "items") {
        env_source(item);
    }
}

/// The defaults of the volume sources a Pod volume and a PersistentVolume share.
fn volume_sources(v: &mut Map<String, Value>) {
    if let Some(h) = existing(v, "hostPath") {
        // SetDefaults_HostPathVolumeSource: HostPathUnset.
        default(h, "type", json!(""));
    }
    if let Some(i) = existing(v, "iscsi") {
        default_str(i, "iscsiInterface", "default");
    }
    if let Some(r) = existing(v, "rbd") {
        default_str(r, "pool", "rbd");
        default_str(r, "user", "admin");
        default_str(r, "keyring", "/etc/ceph/keyring");
    }
    if let Some(a) = existing(v, "azureDisk") {
        default(a, "cachingMode", json!("ReadWrite"));
        default(a, "fsType", json!("ext4"));
        default(a, "readOnly", json!(false));
        default(a, "kind", json!("Shared"));
    }
    if let Some(s) = existing(v, "scaleIO") {
        default_str(s, "storageMode", "ThinProvisioned");
        default_str(s, "fsType", "xfs");
    }
}

/// core/v1 SetDefaults_Service (the allocated fields come from [`allocate_service`]).
fn service(o: &mut Map<String, Value>) {
    let Some(spec) = object_at(o, "spec") else {
        return;
    };
    default_str(spec, "sessionAffinity", "None");
    match str_at(spec, "sessionAffinity") {
        "None" => {
            spec.remove("sessionAffinityConfig");
        }
        "ClientIP" => {
            let has_timeout = spec
                .get("sessionAffinityConfig")
                .and_then(|c| c.get("clientIP"))
                .and_then(|c| c.get("timeoutSeconds"))
                .is_some_and(|t| !t.is_null());
            if !has_timeout {
                spec.insert(
                    "sessionAffinityConfig".into(),
                    json!({"clientIP": {"timeoutSeconds": 10800}}),
                );
            }
        }
        _ => {}
    }
    default_str(spec, "type", "ClusterIP");
    for p in each(spec, "ports") {
        default_str(p, "protocol", "TCP");
        let unset = match p.get("targetPort") {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.is_empty(),
            Some(Value::Number(n)) => n.as_i64() == Some(0),
            Some(_) => false,
        };
        if unset && let Some(port) = p.get("port").cloned() {
            p.insert("targetPort".into(), port);
        }
    }
    let type_ = str_at(spec, "type").to_owned();
    let external_ips = spec
        .get("externalIPs")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    let externally_accessible = matches!(type_.as_str(), "LoadBalancer" | "NodePort")
        || (type_ == "ClusterIP" && external_ips);
    if externally_accessible {
        default_str(spec, "externalTrafficPolicy", "Cluster");
    }
    if matches!(type_.as_str(), "ClusterIP" | "NodePort" | "LoadBalancer") {
        default(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    if type_ == "LoadBalancer" {
        default(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
    // ServiceStatus is a struct Go always serialises.
    if let Some(s) = object_at(o, "status") {
        default(s, "loadBalancer", json!({}));
    }
}

/// core/v1 SetDefaults_PersistentVolumeClaimSpec.
fn pvc_spec(spec: &mut Map<String, Value>) {
    default_str(spec, "volumeMode", "Filesystem");
}

/// core/v1 SetDefaults_PersistentVolumeClaim (+ its spec).
fn pvc(o: &mut Map<String, Value>) {
    if let Some(spec) = object_at(o, "spec") {
        pvc_spec(spec);
    }
    if let Some(status) = object_at(o, "status") {
        default_str(status, "phase", "Pending");
    }
}

/// core/v1 SetDefaults_PersistentVolume (+ its volume source).
fn pv(o: &mut Map<String, Value>) {
    if let Some(spec) = object_at(o, "spec") {
        default_str(spec, "persistentVolumeReclaimPolicy", "Retain");
        default_str(spec, "volumeMode", "Filesystem");
        volume_sources(spec);
    }
    if let Some(status) = object_at(o, "status") {
        default_str(status, "phase", "Pending");
    }
}

/// core/v1 SetDefaults_Namespace (the `kubernetes.io/metadata.name` label, always) and
/// SetDefaults_NamespaceStatus.
fn namespace(o: &mut Map<String, Value>) {
    let name = o
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if !name.is_empty()
        && let Some(m) = object_at(o, "metadata")
        && let Some(labels) = object_at(m, "labels")
    {
        labels.insert("kubernetes.io/metadata.name".into(), json!(name));
    }
    default(o, "spec", json!({}));
    if let Some(status) = object_at(o, "status") {
        default_str(status, "phase", "Active");
    }
}

/// core/v1 SetDefaults_Secret (`type: Opaque`) and Convert_v1_Secret_To_core_Secret
/// (`stringData` is written into `data`, base64, and never stored).
fn secret(o: &mut Map<String, Value>) {
    default_str(o, "type", "Opaque");
    if let Some(Value::Object(string_data)) = o.remove("stringData")
        && let Some(data) = object_at(o, "data")
    {
        for (k, v) in string_data {
            let text = v.as_str().unwrap_or("");
            data.insert(
                k,
                json!(base64::engine::general_purpose::STANDARD.encode(text)),
            );
        }
    }
}

/// apps/v1 SetDefaults_Deployment (+ the template).
fn deployment(o: &mut Map<String, Value>) {
    let Some(spec) = object_at(o, "spec") else {
        return;
    };
    default(spec, "replicas", json!(1));
    if let Some(strategy) = object_at(spec, "strategy") {
        default_str(strategy, "type", "RollingUpdate");
        if str_at(strategy, "type") == "RollingUpdate"
            && let Some(r) = object_at(strategy, "rollingUpdate")
        {
            default(r, "maxUnavailable", json!("25%"));
            default(r, "maxSurge", json!("25%"));
        }
    }
    default(spec, "revisionHistoryLimit", json!(10));
    default(spec, "progressDeadlineSeconds", json!(600));
    template(spec);
    default(o, "status", json!({}));
}

/// apps/v1 SetDefaults_StatefulSet (+ the template and the claim templates).
fn statefulset(o: &mut Map<String, Value>) {
    let Some(spec) = object_at(o, "spec") else {
        return;
    };
    default_str(spec, "podManagementPolicy", "OrderedReady");
    if let Some(strategy) = object_at(spec, "updateStrategy") {
        if empty_str(strategy, "type") {
            strategy.insert("type".into(), json!("RollingUpdate"));
            default(strategy, "rollingUpdate", json!({}));
        }
        if str_at(strategy, "type") == "RollingUpdate"
            && let Some(r) = existing(strategy, "rollingUpdate")
        {
            default(r, "partition", json!(0));
            default(r, "maxUnavailable", json!(1));
        }
    }
    if let Some(policy) = object_at(spec, "persistentVolumeClaimRetentionPolicy") {
        default_str(policy, "whenDeleted", "Retain");
        default_str(policy, "whenScaled", "Retain");
    }
    default(spec, "replicas", json!(1));
    default(spec, "revisionHistoryLimit", json!(10));
    // `serviceName` has no `omitempty`.
    default(spec, "serviceName", json!(""));
    template(spec);
    for claim in each(spec, "volumeClaimTemplates") {
        claim.insert("apiVersion".into(), json!("v1"));
        claim.insert("kind".into(), json!("PersistentVolumeClaim"));
        pvc(claim);
    }
    // StatefulSetStatus: `replicas` and `availableReplicas` have no `omitempty`.
    if let Some(status) = object_at(o, "status") {
        default(status, "replicas", json!(0));
        default(status, "availableReplicas", json!(0));
    }
}

/// apps/v1 SetDefaults_DaemonSet (+ the template).
fn daemonset(o: &mut Map<String, Value>) {
    let Some(spec) = object_at(o, "spec") else {
        return;
    };
    if let Some(strategy) = object_at(spec, "updateStrategy") {
        default_str(strategy, "type", "RollingUpdate");
        if str_at(strategy, "type") == "RollingUpdate"
            && let Some(r) = object_at(strategy, "rollingUpdate")
        {
            default(r, "maxUnavailable", json!(1));
            default(r, "maxSurge", json!(0));
        }
    }
    default(spec, "revisionHistoryLimit", json!(10));
    template(spec);
    // DaemonSetStatus: four counters without `omitempty`.
    if let Some(status) = object_at(o, "status") {
        for f in [
            "currentNumberScheduled",
            "numberMisscheduled",
            "desiredNumberScheduled",
            "numberReady",
        ] {
            default(status, f, json!(0));
        }
    }
}

/// networking/v1 SetDefaults_NetworkPolicy and SetDefaults_NetworkPolicyPort.
fn network_policy(o: &mut Map<String, Value>) {
    let Some(spec) = object_at(o, "spec") else {
        return;
    };
    for rules in ["ingress", "egress"] {
        for rule in each(spec, rules) {
            for p in each(rule, "ports") {
                default(p, "protocol", json!("TCP"));
            }
        }
    }
    let has_types = spec
        .get("policyTypes")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    if !has_types {
        let egress = spec
            .get("egress")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty());
        let types = if egress {
            json!(["Ingress", "Egress"])
        } else {
            json!(["Ingress"])
        };
        spec.insert("policyTypes".into(), types);
    }
}

// ---------------------------------------------------------------------------------------------
// Create and update: strategies and admission plugins
// ---------------------------------------------------------------------------------------------

/// What the strategy's `PrepareForCreate` and the default mutating admission plugins do to a
/// new object (after its status was dropped for kinds with a status subresource): Pod
/// `status.phase`/`qosClass`, tolerations and priority; PVC/PV protection finalizers and
/// phases; Namespace `spec.finalizers` and phase; the DaemonSet template generation.
/// `now` is the RFC 3339 time of the create.
pub(crate) fn prepare_for_create(kind: &ResourceKind, object: &mut Value, now: &str) -> Result<()> {
    let Some(o) = object.as_object_mut() else {
        return Ok(());
    };
    if is(kind, "", "pods") {
        pod_admission(o, None, &name_of(o))?;
        // pod strategy PrepareForCreate: status = {phase: Pending, qosClass}.
        let qos = o.get("spec").map_or("BestEffort", qos_class);
        o.insert(
            "status".into(),
            json!({"phase": "Pending", "qosClass": qos}),
        );
    } else if is(kind, "", "persistentvolumeclaims") {
        add_finalizer(o, PVC_PROTECTION);
        o.insert("status".into(), json!({"phase": "Pending"}));
    } else if is(kind, "", "persistentvolumes") {
        add_finalizer(o, PV_PROTECTION);
        // persistentvolume strategy PrepareForCreate.
        o.insert(
            "status".into(),
            json!({"phase": "Pending", "lastPhaseTransitionTime": now}),
        );
    } else if is(kind, "", "namespaces") {
        // namespace strategy PrepareForCreate: the `kubernetes` finalizer, phase Active.
        if let Some(spec) = object_at(o, "spec") {
            let list = spec.entry("finalizers").or_insert_with(|| json!([]));
            if !list.is_array() {
                *list = json!([]);
            }
            if let Some(a) = list.as_array_mut()
                && !a.iter().any(|f| f == "kubernetes")
            {
                a.push(json!("kubernetes"));
            }
        }
        o.insert("status".into(), json!({"phase": "Active"}));
    } else if is(kind, "apps", "daemonsets") {
        // daemonset strategy PrepareForCreate: templateGeneration 1 unless given (kept in the
        // `deprecated.daemonset.template.generation` annotation by the v1 conversion).
        let given = template_generation(o).filter(|g| *g >= 1).unwrap_or(1);
        set_template_generation(o, given);
    }
    Ok(())
}

/// What the strategy's `PrepareForUpdate` and the default mutating admission plugins do to an
/// update of `old` into `new` (main writes; status writes keep everything but the status).
pub(crate) fn prepare_for_update(kind: &ResourceKind, old: &Value, new: &mut Value) -> Result<()> {
    let (Some(o), Some(old_o)) = (new.as_object_mut(), old.as_object()) else {
        return Ok(());
    };
    if is(kind, "", "pods") {
        pod_admission(o, Some(old_o), &name_of(old_o))?;
    } else if is(kind, "", "namespaces") {
        // namespace strategy PrepareForUpdate: spec.finalizers change only through /finalize.
        let finalizers = old_o.get("spec").and_then(|s| s.get("finalizers")).cloned();
        if let Some(spec) = object_at(o, "spec") {
            match finalizers {
                Some(f) => spec.insert("finalizers".into(), f),
                None => spec.remove("finalizers"),
            };
        }
        if let Some(status) = old_o.get("status") {
            o.insert("status".into(), status.clone());
        }
    } else if is(kind, "apps", "daemonsets") {
        // daemonset strategy PrepareForUpdate: the template generation is the old one, plus
        // one when the template changed.
        let old_generation = template_generation(old_o).unwrap_or(1);
        let changed = old_o.get("spec").and_then(|s| s.get("template"))
            != o.get("spec").and_then(|s| s.get("template"));
        set_template_generation(o, old_generation + i64::from(changed));
    } else if is(kind, "", "services") {
        service_update(o, old_o);
    }
    Ok(())
}

fn name_of(o: &Map<String, Value>) -> String {
    o.get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned()
}

fn add_finalizer(o: &mut Map<String, Value>, finalizer: &str) {
    let Some(m) = object_at(o, "metadata") else {
        return;
    };
    let list = m.entry("finalizers").or_insert_with(|| json!([]));
    if !list.is_array() {
        *list = json!([]);
    }
    if let Some(a) = list.as_array_mut()
        && !a.iter().any(|f| f == finalizer)
    {
        a.push(json!(finalizer));
    }
}

const TEMPLATE_GENERATION: &str = "deprecated.daemonset.template.generation";

fn template_generation(o: &Map<String, Value>) -> Option<i64> {
    o.get("metadata")?
        .get("annotations")?
        .get(TEMPLATE_GENERATION)?
        .as_str()?
        .parse()
        .ok()
}

fn set_template_generation(o: &mut Map<String, Value>, generation: i64) {
    if let Some(m) = object_at(o, "metadata")
        && let Some(a) = object_at(m, "annotations")
    {
        a.insert(TEMPLATE_GENERATION.into(), json!(generation.to_string()));
    }
}

/// The built-in PriorityClasses kube-apiserver creates.
fn system_priority(class: &str) -> Option<i64> {
    match class {
        "system-node-critical" => Some(2_000_001_000),
        "system-cluster-critical" => Some(2_000_000_000),
        _ => None,
    }
}

/// The `DefaultTolerationSeconds` and `Priority` admission plugins on a pod create
/// (`old: None`) or update.
fn pod_admission(
    o: &mut Map<String, Value>,
    old: Option<&Map<String, Value>>,
    name: &str,
) -> Result<()> {
    let Some(spec) = object_at(o, "spec") else {
        return Ok(());
    };
    // plugin/pkg/admission/defaulttolerationseconds: unless a toleration covers the taint.
    for key in [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    ] {
        let tolerated = spec
            .get("tolerations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|t| {
                let k = t.get("key").and_then(Value::as_str).unwrap_or("");
                let e = t.get("effect").and_then(Value::as_str).unwrap_or("");
                (k == key || k.is_empty()) && (e == "NoExecute" || e.is_empty())
            });
        if !tolerated {
            let list = spec.entry("tolerations").or_insert_with(|| json!([]));
            if !list.is_array() {
                *list = json!([]);
            }
            if let Some(a) = list.as_array_mut() {
                a.push(json!({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}));
            }
        }
    }
    // plugin/pkg/admission/priority.
    match old {
        Some(old) => {
            let old_spec = old.get("spec").and_then(Value::as_object);
            for f in ["priority", "preemptionPolicy"] {
                if missing(spec, f)
                    && let Some(v) = old_spec.and_then(|s| s.get(f))
                {
                    spec.insert(f.into(), v.clone());
                }
            }
        }
        None => {
            let class = str_at(spec, "priorityClassName").to_owned();
            let computed = if class.is_empty() {
                0
            } else {
                system_priority(&class).ok_or_else(|| KubeError::Forbidden {
                    message: format!(
                        "pods {name:?} is forbidden: no PriorityClass with name {class} was found"
                    ),
                })?
            };
            if let Some(given) = spec.get("priority").and_then(Value::as_i64)
                && given != computed
            {
                return Err(KubeError::Forbidden {
                    message: format!(
                        "pods {name:?} is forbidden: the integer value of priority ({given}) must not be provided in pod spec; priority admission controller computed {computed} from the given PriorityClass name"
                    ),
                });
            }
            spec.insert("priority".into(), json!(computed));
            default_str(spec, "preemptionPolicy", "PreemptLowerPriority");
        }
    }
    Ok(())
}

/// The pod's QoS class (`pkg/apis/core/helper/qos.ComputePodQOS`): requests and limits of
/// CPU and memory summed over all containers.
fn qos_class(spec: &Value) -> &'static str {
    let mut requests = [0i128; 2];
    let mut limits = [0i128; 2];
    let mut seen_requests = [false; 2];
    let mut seen_limits = [false; 2];
    let mut guaranteed = true;
    let containers = ["containers", "initContainers"]
        .into_iter()
        .filter_map(|k| spec.get(k).and_then(Value::as_array))
        .flatten();
    for c in containers {
        let resources = c.get("resources");
        let mut found = [false; 2];
        for (section, sums, seen) in [
            ("requests", &mut requests, &mut seen_requests),
            ("limits", &mut limits, &mut seen_limits),
        ] {
            for (i, name) in ["cpu", "memory"].into_iter().enumerate() {
                let Some(text) = resources
                    .and_then(|r| r.get(section))
                    .and_then(|s| s.get(name))
                    .and_then(Value::as_str)
                else {
                    continue;
                };
                let amount = quantity(name, text);
                if amount > 0 {
                    sums[i] += amount;
                    seen[i] = true;
                    if section == "limits" {
                        found[i] = true;
                    }
                }
            }
        }
        if !found.iter().all(|f| *f) {
            guaranteed = false;
        }
    }
    if !seen_requests.iter().any(|s| *s) && !seen_limits.iter().any(|s| *s) {
        return "BestEffort";
    }
    let all_match =
        (0..2).all(|i| !seen_requests[i] || (seen_limits[i] && limits[i] == requests[i]));
    let same_count =
        seen_requests.iter().filter(|s| **s).count() == seen_limits.iter().filter(|s| **s).count();
    if guaranteed && all_match && same_count {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

/// A CPU (millicores) or memory (bytes) quantity; 0 when it does not parse.
fn quantity(name: &str, text: &str) -> i128 {
    if name == "cpu" {
        Cpu::parse(name, text).map_or(0, |c| i128::from(c.millis()))
    } else {
        Memory::parse(name, text).map_or(0, |m| i128::from(m.bytes()))
    }
}

// ---------------------------------------------------------------------------------------------
// Services: cluster IPs and node ports
// ---------------------------------------------------------------------------------------------

/// The cluster IPs and node ports held by other Services.
#[derive(Debug, Default)]
pub(crate) struct Allocated {
    ips: BTreeSet<Ipv4Addr>,
    node_ports: BTreeSet<u16>,
}

impl Allocated {
    /// What `services` hold.
    pub(crate) fn of<'a>(services: impl Iterator<Item = &'a Value>) -> Allocated {
        let mut allocated = Allocated::default();
        for s in services {
            let Some(spec) = s.get("spec") else { continue };
            for ip in spec
                .get("clusterIPs")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if let Ok(ip) = ip.parse() {
                    allocated.ips.insert(ip);
                }
            }
            for p in spec
                .get("ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(n) = p.get("nodePort").and_then(Value::as_u64)
                    && let Ok(n) = u16::try_from(n)
                {
                    allocated.node_ports.insert(n);
                }
            }
        }
        allocated
    }
}

fn invalid(kind: &str, name: &str, causes: Vec<InvalidCause>) -> KubeError {
    let rendered: Vec<String> = causes
        .iter()
        .map(|c| format!("{}: {}", c.field, c.message))
        .collect();
    let summary = if rendered.len() == 1 {
        rendered.join("")
    } else {
        format!("[{}]", rendered.join(", "))
    };
    KubeError::Invalid {
        message: format!("{kind} {name:?} is invalid: {summary}"),
        causes,
    }
}

/// One cause of an `Invalid` answer.
pub(crate) fn cause(field: &str, reason: &str, message: String) -> InvalidCause {
    InvalidCause {
        field: field.into(),
        reason: reason.into(),
        message,
    }
}

/// `Invalid` (422) for `kind` `name` (kind as kube-apiserver qualifies it, e.g.
/// `Deployment.apps`), with its causes in kube-apiserver's format.
pub(crate) fn invalid_object(kind: &str, name: &str, causes: Vec<InvalidCause>) -> KubeError {
    invalid(kind, name, causes)
}

fn ips_json(ips: &[Value]) -> String {
    serde_json::to_string(ips).unwrap_or_default()
}

/// `patchAllocatedValues` and `dropTypeDependentFields` of the service REST's update: an
/// update without a cluster IP keeps the allocated one (and its node ports), and a change to
/// `ExternalName` drops what only the other types have.
fn service_update(o: &mut Map<String, Value>, old: &Map<String, Value>) {
    let Some(old_spec) = old.get("spec").and_then(Value::as_object) else {
        return;
    };
    let Some(spec) = object_at(o, "spec") else {
        return;
    };
    // service strategy normalizeClusterIPs: a changed `clusterIP` with unchanged `clusterIPs`
    // re-initialises the plural.
    if spec.get("clusterIP") != old_spec.get("clusterIP")
        && spec.get("clusterIPs") == old_spec.get("clusterIPs")
    {
        if empty_str(spec, "clusterIP") {
            spec.remove("clusterIPs");
        } else if let Some(ip) = spec.get("clusterIP").cloned() {
            spec.insert("clusterIPs".into(), json!([ip]));
        }
    }
    let old_type = str_at(old_spec, "type");
    let new_type = str_at(spec, "type").to_owned();
    if new_type == "ExternalName" {
        if old_type != "ExternalName" {
            for f in [
                "clusterIP",
                "clusterIPs",
                "ipFamilies",
                "ipFamilyPolicy",
                "internalTrafficPolicy",
            ] {
                if spec.get(f) == old_spec.get(f) {
                    spec.remove(f);
                }
            }
        }
        return;
    }
    if old_type != "ExternalName"
        && empty_str(spec, "clusterIP")
        && spec
            .get("clusterIPs")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty)
    {
        for f in ["clusterIP", "clusterIPs"] {
            if let Some(v) = old_spec.get(f) {
                spec.insert(f.into(), v.clone());
            }
        }
    }
    if matches!(new_type.as_str(), "NodePort" | "LoadBalancer") {
        let old_ports: Vec<&Value> = old_spec
            .get("ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .collect();
        for p in each(spec, "ports") {
            if p.get("nodePort").and_then(Value::as_u64).unwrap_or(0) != 0 {
                continue;
            }
            let same = old_ports.iter().find(|op| {
                op.get("port") == p.get("port") && op.get("protocol") == p.get("protocol")
            });
            if let Some(n) = same.and_then(|op| op.get("nodePort")) {
                p.insert("nodePort".into(), n.clone());
            }
        }
    }
}

/// Allocates a Service's cluster IP (`clusterIP`/`clusterIPs`, from `10.0.0.0/24`, random
/// and unique; `None` kept), its IP families and policy, and its node ports (30000–32767),
/// as the service REST does on create and update. `old` is the stored Service on updates;
/// `taken` what the other Services hold.
pub(crate) fn allocate_service(
    object: &mut Value,
    old: Option<&Value>,
    taken: &Allocated,
) -> Result<()> {
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut) else {
        return Ok(());
    };
    let type_ = str_at(spec, "type").to_owned();
    if type_ == "ExternalName" {
        return Ok(());
    }
    // Conversion: `clusterIP` is `clusterIPs[0]`.
    let mut ips: Vec<Value> = spec
        .get("clusterIPs")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let ip = str_at(spec, "clusterIP").to_owned();
    if ips.is_empty() && !ip.is_empty() {
        ips = vec![json!(ip)];
    }
    let first = ips.first().and_then(Value::as_str).unwrap_or("").to_owned();
    if !ip.is_empty() && first != ip {
        return Err(invalid(
            "Service",
            &name,
            vec![cause(
                "spec.clusterIPs",
                "FieldValueInvalid",
                format!(
                    "Invalid value: {}: first value must match `clusterIP`",
                    ips_json(&ips)
                ),
            )],
        ));
    }
    let old_ip = old
        .and_then(|o| o.pointer("/spec/clusterIP"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let chosen = if first == "None" {
        "None".to_owned()
    } else if first.is_empty() {
        let host = free_ip(taken).ok_or_else(|| KubeError::Unexpected {
            status: 500,
            message: "Internal error occurred: failed to allocate a serviceIP: range is full"
                .into(),
        })?;
        host.to_string()
    } else {
        let parsed: Ipv4Addr = first.parse().map_err(|_| {
            invalid(
                "Service",
                &name,
                vec![cause(
                    "spec.clusterIPs[0]",
                    "FieldValueInvalid",
                    format!(
                        "Invalid value: {first:?}: must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
                    ),
                )],
            )
        })?;
        if first != old_ip {
            let octets = parsed.octets();
            let why = if octets[..3] != SERVICE_NET || octets[3] == 0 || octets[3] == 255 {
                Some("the provided network does not match the current range")
            } else if taken.ips.contains(&parsed) || octets[3] == KUBERNETES_SERVICE_HOST {
                Some("provided IP is already allocated")
            } else {
                None
            };
            if let Some(why) = why {
                return Err(invalid(
                    "Service",
                    &name,
                    vec![cause(
                        "spec.clusterIPs",
                        "FieldValueInvalid",
                        format!(
                            "Invalid value: {}: failed to allocate IP {first}: {why}",
                            ips_json(&ips)
                        ),
                    )],
                ));
            }
        }
        first
    };
    spec.insert("clusterIP".into(), json!(chosen));
    spec.insert("clusterIPs".into(), json!([chosen]));
    let headless_without_selector = chosen == "None"
        && spec
            .get("selector")
            .and_then(Value::as_object)
            .is_none_or(Map::is_empty);
    if headless_without_selector {
        default_str(spec, "ipFamilyPolicy", "RequireDualStack");
    } else {
        default_str(spec, "ipFamilyPolicy", "SingleStack");
    }
    if missing(spec, "ipFamilies") {
        let families = if str_at(spec, "ipFamilyPolicy") == "SingleStack" {
            json!(["IPv4"])
        } else if chosen == "None" {
            json!(["IPv4", "IPv6"])
        } else {
            json!(["IPv4"])
        };
        spec.insert("ipFamilies".into(), families);
    }
    let node_ports = type_ == "NodePort"
        || (type_ == "LoadBalancer"
            && spec.get("allocateLoadBalancerNodePorts") != Some(&json!(false)));
    if node_ports {
        let mut used = taken.node_ports.clone();
        for p in each(spec, "ports") {
            if let Some(n) = p.get("nodePort").and_then(Value::as_u64)
                && n != 0
                && let Ok(n) = u16::try_from(n)
            {
                used.insert(n);
            }
        }
        for p in each(spec, "ports") {
            if p.get("nodePort").and_then(Value::as_u64).unwrap_or(0) == 0 {
                let port = free_node_port(&used).ok_or_else(|| KubeError::Unexpected {
                    status: 500,
                    message:
                        "Internal error occurred: failed to allocate a nodePort: range is full"
                            .into(),
                })?;
                used.insert(port);
                p.insert("nodePort".into(), json!(port));
            }
        }
    }
    Ok(())
}

fn random_u32() -> u32 {
    let b = uuid::Uuid::new_v4().into_bytes();
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// A free IP: random in the dynamic (upper) band first, as kube-apiserver's allocator, then
/// the static band (the first 16 addresses).
fn free_ip(taken: &Allocated) -> Option<Ipv4Addr> {
    let ip = |h: u8| Ipv4Addr::new(SERVICE_NET[0], SERVICE_NET[1], SERVICE_NET[2], h);
    let free = |h: &u8| *h != KUBERNETES_SERVICE_HOST && !taken.ips.contains(&ip(*h));
    let upper: Vec<u8> = (17..=254).filter(free).collect();
    let pool = if upper.is_empty() {
        (1..=16).filter(free).collect()
    } else {
        upper
    };
    if pool.is_empty() {
        return None;
    }
    let pick = random_u32() as usize % pool.len();
    pool.get(pick).map(|h| ip(*h))
}

fn free_node_port(used: &BTreeSet<u16>) -> Option<u16> {
    let free: Vec<u16> = NODE_PORTS.filter(|p| !used.contains(p)).collect();
    if free.is_empty() {
        return None;
    }
    free.get(random_u32() as usize % free.len()).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_tags_decide_the_pull_policy() {
        assert_eq!(image_tag("busybox"), "latest");
        assert_eq!(image_tag("busybox:1.36"), "1.36");
        assert_eq!(image_tag("registry:5000/team/app"), "latest");
        assert_eq!(image_tag("registry:5000/team/app:v1"), "v1");
        assert_eq!(image_tag("busybox@sha256:abc"), "");
        assert_eq!(image_tag("busybox:latest@sha256:abc"), "latest");
    }

    #[test]
    fn qos_classes() {
        let spec =
            |resources: Value| json!({"containers": [{"name": "c", "resources": resources}]});
        assert_eq!(qos_class(&spec(json!({}))), "BestEffort");
        assert_eq!(
            qos_class(&spec(
                json!({"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1000m", "memory": "1Gi"}})
            )),
            "Guaranteed"
        );
        assert_eq!(
            qos_class(&spec(
                json!({"limits": {"cpu": "1"}, "requests": {"cpu": "1"}})
            )),
            "Burstable"
        );
        assert_eq!(
            qos_class(&spec(json!({"requests": {"cpu": "100m"}}))),
            "Burstable"
        );
    }

    #[test]
    fn allocation_avoids_taken_ips() {
        let mut taken = Allocated::default();
        for h in 2..=254u8 {
            if h != 100 {
                taken.ips.insert(Ipv4Addr::new(10, 0, 0, h));
            }
        }
        assert_eq!(free_ip(&taken), Some(Ipv4Addr::new(10, 0, 0, 100)));
        taken.ips.insert(Ipv4Addr::new(10, 0, 0, 100));
        assert_eq!(free_ip(&taken), None);
    }
}
