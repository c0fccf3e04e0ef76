//! Conformance checks of defaulting and immutable fields (feature `conformance`): what
//! kube-apiserver v1.37 fills in when it stores an object, and which updates it refuses.
//!
//! The fixtures (`conformance_defaults.json`, a minimal and a typical object of each built-in
//! kind PrimeHub writes) carry the object as the real kube-apiserver of `tools/kube-apiserver`
//! stored it, modulo the server-set identity fields (`uid`, `resourceVersion`,
//! `creationTimestamp`, `managedFields`) and the allocated values (`clusterIP`, `nodePort`,
//! `lastPhaseTransitionTime`); `@NS@` stands for the test namespace. The same checks run
//! against the fake and against the real server, so the fake stores what a real server
//! stores, and a real server confirms the expectations.
//! `tools/defaults-fixtures/regenerate.py` rewrites the expectations from a real server.
//!
//! Each check takes a `kube::Client`, works in a fresh namespace and **panics** naming the
//! broken rule.

use std::fmt::Debug;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{
    ConfigMap, Namespace, PersistentVolume, PersistentVolumeClaim, Pod, Secret, Service,
};
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch};
use kube::api::{PatchParams, PostParams};
use kube::{Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// The fixtures and what kube-apiserver v1.37.2 stored for each.
const FIXTURES: &str = include_str!("conformance_defaults.json");

/// Runs every check, in order.
pub async fn run_all(client: &Client) {
    created_objects_are_defaulted(client).await;
    updates_keep_allocated_and_server_set_fields(client).await;
    immutable_fields_are_refused(client).await;
    pod_admission_rejects_a_given_priority(client).await;
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

fn ok<T, E: Debug>(result: Result<T, E>, what: &str) -> T {
    match result {
        Ok(t) => t,
        Err(e) => panic!("conformance: {what} failed: {e:?}"),
    }
}

fn decode<K: DeserializeOwned>(value: Value) -> K {
    match serde_json::from_value(value) {
        Ok(k) => k,
        Err(e) => panic!("conformance: a test object does not decode: {e}"),
    }
}

fn encode<K: Serialize>(k: &K) -> Value {
    ok(serde_json::to_value(k), "encoding an object")
}

async fn create_namespace(client: &Client, name: &str) {
    let api: Api<Namespace> = Api::all(client.clone());
    ok(
        api.create(
            &PostParams::default(),
            &decode(json!({"metadata": {"name": name}})),
        )
        .await,
        "creating the test namespace",
    );
}

/// Deletes a namespace, first removing the finalizers of its claims (no pvc-protection
/// controller runs beside the real test server).
async fn delete_namespace(client: &Client, name: &str) {
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), name);
    if let Ok(list) = claims.list(&Default::default()).await {
        for claim in list {
            if let Some(n) = claim.metadata.name {
                let _ = claims
                    .patch(
                        &n,
                        &PatchParams::default(),
                        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
                    )
                    .await;
                let _ = claims.delete(&n, &DeleteParams::default()).await;
            }
        }
    }
    let api: Api<Namespace> = Api::all(client.clone());
    let _ = api.delete(name, &DeleteParams::default()).await;
}

/// The stored object without what differs between two servers and two runs.
pub fn normalize(mut object: Value, namespace: &str) -> Value {
    if let Some(m) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        for f in [
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "managedFields",
        ] {
            m.remove(f);
        }
    }
    let text = object.to_string().replace(namespace, "@NS@");
    let mut object: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut) {
        let ip = spec.get("clusterIP").and_then(Value::as_str).unwrap_or("");
        if !ip.is_empty() && ip != "None" {
            spec.insert("clusterIP".into(), json!("@IP@"));
            spec.insert("clusterIPs".into(), json!(["@IP@"]));
        }
        if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
            for p in ports.iter_mut().filter_map(Value::as_object_mut) {
                if p.contains_key("nodePort") {
                    p.insert("nodePort".into(), json!("@PORT@"));
                }
            }
        }
    }
    if let Some(status) = object.get_mut("status").and_then(Value::as_object_mut)
        && status.contains_key("lastPhaseTransitionTime")
    {
        status.insert("lastPhaseTransitionTime".into(), json!("@TIME@"));
    }
    object
}

/// The differences between `expected` and `actual`, one line per JSON path.
pub fn json_diff(expected: &Value, actual: &Value, path: &str, out: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                let p = format!("{path}.{k}");
                match a.get(k) {
                    Some(av) => json_diff(ev, av, &p, out),
                    None => out.push(format!("{p}: missing (expected {ev})")),
                }
            }
            for (k, av) in a {
                if !e.contains_key(k) {
                    out.push(format!("{path}.{k}: unexpected {av}"));
                }
            }
        }
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => {
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                json_diff(ev, av, &format!("{path}[{i}]"), out);
            }
        }
        _ if expected != actual => out.push(format!("{path}: expected {expected}, got {actual}")),
        _ => {}
    }
}

struct Fixture {
    resource: ApiResource,
    namespaced: bool,
    object: Value,
    expected: Value,
}

fn fixtures() -> Vec<Fixture> {
    let all: Vec<Value> = ok(serde_json::from_str(FIXTURES), "reading the fixtures");
    all.into_iter()
        .map(|f| {
            let resource = f["resource"].as_str().unwrap_or("").to_owned();
            let object = f["object"].clone();
            let (group_version, plural) = resource.rsplit_once('/').unwrap_or(("", ""));
            let (group, version) = group_version
                .rsplit_once('/')
                .unwrap_or(("", group_version));
            let kind = object["kind"].as_str().unwrap_or("");
            let gvk = GroupVersionKind::gvk(group, version, kind);
            Fixture {
                resource: ApiResource::from_gvk_with_plural(&gvk, plural),
                namespaced: !matches!(plural, "namespaces" | "persistentvolumes"),
                object,
                expected: f["expected"].clone(),
            }
        })
        .collect()
}

/// Every fixture, created, reads back as kube-apiserver stored it: every default, every field
/// Go serialises, the server-set status, finalizers and metadata (modulo identity and the
/// allocated values).
pub async fn created_objects_are_defaulted(client: &Client) {
    let ns = unique("defaults");
    create_namespace(client, &ns).await;
    let mut failures = Vec::new();
    let mut cluster_scoped = Vec::new();
    for f in fixtures() {
        let body: Value = ok(
            serde_json::from_str(&f.object.to_string().replace("@NS@", &ns)),
            "placing a fixture",
        );
        let api: Api<DynamicObject> = if f.namespaced {
            Api::namespaced_with(client.clone(), &ns, &f.resource)
        } else {
            Api::all_with(client.clone(), &f.resource)
        };
        let name = body["metadata"]["name"].as_str().unwrap_or("").to_owned();
        let created = match api.create(&PostParams::default(), &decode(body)).await {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("{}/{name}: create failed: {e}", f.resource.plural));
                continue;
            }
        };
        if !f.namespaced {
            cluster_scoped.push((api.clone(), name.clone()));
        }
        let stored = ok(api.get(&name).await, "reading a fixture back");
        for (what, object) in [("create answer", created), ("stored object", stored)] {
            let mut diffs = Vec::new();
            json_diff(
                &f.expected,
                &normalize(encode(&object), &ns),
                "",
                &mut diffs,
            );
            if !diffs.is_empty() {
                failures.push(format!(
                    "{}/{name} ({what}):\n    {}",
                    f.resource.plural,
                    diffs.join("\n    ")
                ));
            }
        }
    }
    for (api, name) in cluster_scoped {
        let _ = api
            .patch(
                &name,
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"finalizers": null}})),
            )
            .await;
        let _ = api.delete(&name, &DeleteParams::default()).await;
    }
    delete_namespace(client, &ns).await;
    assert!(
        failures.is_empty(),
        "conformance: objects must be stored with kube-apiserver's defaults:\n{}",
        failures.join("\n")
    );
}

fn api_error<T: Debug>(result: kube::Result<T>, what: &str) -> (u16, String) {
    match result {
        Err(kube::Error::Api(status)) => (status.code, status.message.clone()),
        other => panic!("conformance: {what} must be refused, got {other:?}"),
    }
}

fn assert_invalid<T: Debug>(result: kube::Result<T>, what: &str, message: &str) {
    let (code, got) = api_error(result, what);
    assert_eq!(code, 422, "conformance: {what} is 422 Invalid ({got})");
    assert_eq!(
        got, message,
        "conformance: {what}: kube-apiserver's message"
    );
}

fn merge(v: Value) -> Patch<Value> {
    Patch::Merge(v)
}

async fn create<K>(api: &Api<K>, object: Value) -> K
where
    K: Resource + Clone + DeserializeOwned + Serialize + Debug,
{
    ok(
        api.create(&PostParams::default(), &decode(object)).await,
        "creating a test object",
    )
}

/// Updates keep what the server set: a Service replaced without its cluster IP keeps it, a
/// Namespace keeps its name label and `spec.finalizers`, a DaemonSet counts its template
/// generations, and each Service gets its own IP from the service range.
pub async fn updates_keep_allocated_and_server_set_fields(client: &Client) {
    let ns = unique("defaults-upd");
    create_namespace(client, &ns).await;
    let pp = PatchParams::default();

    let services: Api<Service> = Api::namespaced(client.clone(), &ns);
    let a = create(
        &services,
        json!({"metadata": {"name": "a"}, "spec": {"ports": [{"port": 80}]}}),
    )
    .await;
    let b = create(
        &services,
        json!({"metadata": {"name": "b"}, "spec": {"ports": [{"port": 80}]}}),
    )
    .await;
    let ip = |s: &Service| {
        s.spec
            .as_ref()
            .and_then(|s| s.cluster_ip.clone())
            .unwrap_or_default()
    };
    assert!(
        ip(&a).parse::<std::net::Ipv4Addr>().is_ok() && ip(&a) != ip(&b),
        "conformance: each Service gets its own cluster IP ({} and {})",
        ip(&a),
        ip(&b)
    );
    let replaced = ok(
        services
            .replace(
                "a",
                &PostParams::default(),
                &decode(json!({"metadata": {"name": "a"}, "spec": {"ports": [{"port": 81}]}})),
            )
            .await,
        "replacing a Service without its clusterIP",
    );
    assert_eq!(
        ip(&replaced),
        ip(&a),
        "conformance: a Service keeps its cluster IP"
    );

    let namespaces: Api<Namespace> = Api::all(client.clone());
    let updated = ok(
        namespaces
            .replace(
                &ns,
                &PostParams::default(),
                &decode(json!({"metadata": {"name": ns, "labels": {"x": "y"}}})),
            )
            .await,
        "replacing the namespace",
    );
    assert_eq!(
        encode(&updated.metadata.labels),
        json!({"kubernetes.io/metadata.name": ns, "x": "y"}),
        "conformance: a Namespace always carries its name label"
    );
    assert_eq!(
        encode(&updated.spec),
        json!({"finalizers": ["kubernetes"]}),
        "conformance: a Namespace's spec.finalizers change only through /finalize"
    );

    let daemonsets: Api<DaemonSet> = Api::namespaced(client.clone(), &ns);
    create(&daemonsets, json!({"metadata": {"name": "ds"}, "spec": {"selector": {"matchLabels": {"app": "ds"}}, "template": {"metadata": {"labels": {"app": "ds"}}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}})).await;
    let patched = ok(
        daemonsets
            .patch("ds", &pp, &merge(json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox:2"}]}}}})))
            .await,
        "changing a DaemonSet's template",
    );
    assert_eq!(
        patched
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("deprecated.daemonset.template.generation"))
            .map(String::as_str),
        Some("2"),
        "conformance: a DaemonSet's template generation counts template changes"
    );
    delete_namespace(client, &ns).await;
}

/// Updates of immutable fields are 422 Invalid, naming the field, in kube-apiserver's words.
pub async fn immutable_fields_are_refused(client: &Client) {
    let ns = unique("defaults-imm");
    create_namespace(client, &ns).await;
    let pp = PatchParams::default();

    let services: Api<Service> = Api::namespaced(client.clone(), &ns);
    create(
        &services,
        json!({"metadata": {"name": "svc"}, "spec": {"ports": [{"port": 80}]}}),
    )
    .await;
    let stored = ok(services.get("svc").await, "reading the Service");
    let current = stored.spec.and_then(|s| s.cluster_ip).unwrap_or_default();
    let other = if current == "10.0.0.250" {
        "10.0.0.251"
    } else {
        "10.0.0.250"
    };
    assert_invalid(
        services
            .patch("svc", &pp, &merge(json!({"spec": {"clusterIP": other}})))
            .await,
        "changing a Service's clusterIP",
        &format!(
            "Service \"svc\" is invalid: spec.clusterIPs[0]: Invalid value: [\"{other}\"]: may not change once set"
        ),
    );
    assert_invalid(
        services.create(&PostParams::default(), &decode(json!({"metadata": {"name": "dup"}, "spec": {"clusterIP": current, "ports": [{"port": 80}]}}))).await,
        "creating a Service with a taken clusterIP",
        &format!("Service \"dup\" is invalid: spec.clusterIPs: Invalid value: [\"{current}\"]: failed to allocate IP {current}: provided IP is already allocated"),
    );

    let template = |app: &str| json!({"metadata": {"labels": {"app": app}}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}});
    let new_selector = json!({"spec": {"selector": {"matchLabels": {"app": "e"}}, "template": {"metadata": {"labels": {"app": "e"}}}}});
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    create(&deployments, json!({"metadata": {"name": "d"}, "spec": {"selector": {"matchLabels": {"app": "d"}}, "template": template("d")}})).await;
    assert_invalid(
        deployments
            .patch("d", &pp, &merge(new_selector.clone()))
            .await,
        "changing a Deployment's selector",
        "Deployment.apps \"d\" is invalid: spec.selector: Invalid value: {\"matchLabels\":{\"app\":\"e\"}}: field is immutable",
    );
    let statefulsets: Api<StatefulSet> = Api::namespaced(client.clone(), &ns);
    create(&statefulsets, json!({"metadata": {"name": "s"}, "spec": {"selector": {"matchLabels": {"app": "s"}}, "template": template("s")}})).await;
    assert_invalid(
        statefulsets
            .patch("s", &pp, &merge(new_selector.clone()))
            .await,
        "changing a StatefulSet's selector",
        "StatefulSet.apps \"s\" is invalid: spec.selector: Invalid value: {\"matchLabels\":{\"app\":\"e\"}}: field is immutable",
    );
    assert_invalid(
        statefulsets
            .patch(
                "s",
                &pp,
                &merge(json!({"spec": {"serviceName": "x", "podManagementPolicy": "Parallel"}})),
            )
            .await,
        "changing a StatefulSet's serviceName and podManagementPolicy",
        "StatefulSet.apps \"s\" is invalid: [spec.serviceName: Invalid value: \"x\": field is immutable, spec.podManagementPolicy: Invalid value: \"Parallel\": field is immutable]",
    );
    ok(
        statefulsets
            .patch(
                "s",
                &pp,
                &merge(json!({"spec": {"replicas": 3, "revisionHistoryLimit": 3}})),
            )
            .await,
        "scaling a StatefulSet",
    );
    let daemonsets: Api<DaemonSet> = Api::namespaced(client.clone(), &ns);
    create(&daemonsets, json!({"metadata": {"name": "ds"}, "spec": {"selector": {"matchLabels": {"app": "ds"}}, "template": template("ds")}})).await;
    assert_invalid(
        daemonsets.patch("ds", &pp, &merge(new_selector)).await,
        "changing a DaemonSet's selector",
        "DaemonSet.apps \"ds\" is invalid: spec.selector: Invalid value: {\"matchLabels\":{\"app\":\"e\"}}: field is immutable",
    );

    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    create(&pods, json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "busybox:1", "imagePullPolicy": "IfNotPresent"}], "activeDeadlineSeconds": 30}})).await;
    create(
        &pods,
        json!({"metadata": {"name": "q"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}),
    )
    .await;
    let moved = ok(
        pods.patch("p", &pp, &merge(json!({"spec": {"containers": [{"name": "c", "image": "busybox:2", "imagePullPolicy": "IfNotPresent"}], "activeDeadlineSeconds": 20}}))).await,
        "changing a pod's image and lowering its deadline",
    );
    assert_eq!(
        moved.metadata.generation,
        Some(2),
        "conformance: a pod spec change bumps the generation"
    );
    // The message ends with kube-apiserver's diff.Diff of the internal Go structs: Go field
    // names, every field (zero values too), go-difflib's unified diff with 3 lines of context.
    assert_invalid(
        pods.patch(
            "p",
            &pp,
            &merge(json!({"spec": {"restartPolicy": "Never"}})),
        )
        .await,
        "changing a pod's restartPolicy",
        &format!(
            "Pod \"p\" is invalid: spec: {}\n{}",
            crate_pod_prefix(),
            concat!(
                "@@ -35,7 +35,7 @@\n",
                "   }\n",
                "  ],\n",
                "  \"EphemeralContainers\": null,\n",
                "- \"RestartPolicy\": \"Always\",\n",
                "+ \"RestartPolicy\": \"Never\",\n",
                "  \"TerminationGracePeriodSeconds\": 30,\n",
                "  \"ActiveDeadlineSeconds\": 20,\n",
                "  \"DNSPolicy\": \"ClusterFirst\",\n",
            )
        ),
    );
    assert_invalid(
        pods.patch(
            "q",
            &pp,
            &merge(json!({"spec": {"containers": [{"name": "c", "image": "busybox:3"}]}})),
        )
        .await,
        "a pod image change that also defaults another imagePullPolicy (Always for busybox, IfNotPresent for busybox:3)",
        &format!(
            "Pod \"q\" is invalid: spec: {}\n{}",
            crate_pod_prefix(),
            concat!(
                "@@ -27,7 +27,7 @@\n",
                "    \"Lifecycle\": null,\n",
                "    \"TerminationMessagePath\": \"/dev/termination-log\",\n",
                "    \"TerminationMessagePolicy\": \"File\",\n",
                "-   \"ImagePullPolicy\": \"Always\",\n",
                "+   \"ImagePullPolicy\": \"IfNotPresent\",\n",
                "    \"SecurityContext\": null,\n",
                "    \"Stdin\": false,\n",
                "    \"StdinOnce\": false,\n",
            )
        ),
    );
    assert_invalid(
        pods.patch(
            "q",
            &pp,
            &merge(json!({"spec": {"containers": [{"name": "c", "image": "busybox"}, {"name": "d", "image": "busybox"}]}})),
        )
        .await,
        "adding a container to a pod",
        "Pod \"q\" is invalid: spec.containers: Forbidden: pod updates may not add or remove containers",
    );
    assert_invalid(
        pods.patch(
            "p",
            &pp,
            &merge(json!({"spec": {"activeDeadlineSeconds": 60}})),
        )
        .await,
        "raising a pod's activeDeadlineSeconds",
        "Pod \"p\" is invalid: spec.activeDeadlineSeconds: Invalid value: 60: must be less than or equal to previous value",
    );
    ok(
        pods.patch(
            "p",
            &pp,
            &merge(json!({"spec": {"tolerations": [{"key": "x", "operator": "Exists"}]}})),
        )
        .await,
        "adding a pod toleration (the default ones come back)",
    );
    assert_invalid(
        pods.patch(
            "p",
            &pp,
            &merge(json!({"spec": {"tolerations": [{"key": "y", "operator": "Exists"}]}})),
        )
        .await,
        "removing a pod's tolerations",
        "Pod \"p\" is invalid: spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds",
    );

    // A pod with scheduling gates may gain node selector entries, not change them.
    create(&pods, json!({"metadata": {"name": "g"}, "spec": {"schedulingGates": [{"name": "x.io/wait"}], "nodeSelector": {"disk": "ssd"}, "containers": [{"name": "c", "image": "busybox"}]}})).await;
    ok(
        pods.patch(
            "g",
            &pp,
            &merge(json!({"spec": {"nodeSelector": {"gpu": "yes"}}})),
        )
        .await,
        "adding a node selector entry to a gated pod",
    );
    assert_invalid(
        pods.patch(
            "g",
            &pp,
            &merge(json!({"spec": {"nodeSelector": {"disk": "hdd"}}})),
        )
        .await,
        "changing a gated pod's node selector entry",
        "Pod \"g\" is invalid: spec.nodeSelector: Invalid value: {\"disk\":\"hdd\",\"gpu\":\"yes\"}: only additions to spec.nodeSelector are allowed (no mutations or deletions)",
    );
    assert_invalid(
        pods.patch(
            "g",
            &pp,
            &merge(
                json!({"spec": {"schedulingGates": [{"name": "x.io/wait"}, {"name": "x.io/new"}]}}),
            ),
        )
        .await,
        "adding a scheduling gate",
        "Pod \"g\" is invalid: spec.schedulingGates[1].name: Forbidden: only deletion is allowed, but found new scheduling gate 'x.io/new'",
    );

    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &ns);
    create(&claims, json!({"metadata": {"name": "c"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})).await;
    assert_invalid(
        claims
            .patch(
                "c",
                &pp,
                &merge(json!({"spec": {"resources": {"requests": {"storage": "2Gi"}}}})),
            )
            .await,
        "resizing an unbound claim",
        concat!(
            "PersistentVolumeClaim \"c\" is invalid: spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n",
            "@@ -6,7 +6,7 @@\n",
            "  \"Resources\": {\n",
            "   \"Limits\": null,\n",
            "   \"Requests\": {\n",
            "-   \"storage\": \"1Gi\"\n",
            "+   \"storage\": \"2Gi\"\n",
            "   }\n",
            "  },\n",
            "  \"VolumeName\": \"\",\n",
        ),
    );
    assert_invalid(
        claims
            .patch(
                "c",
                &pp,
                &merge(json!({"spec": {"accessModes": ["ReadWriteMany"]}})),
            )
            .await,
        "changing a claim's access modes",
        concat!(
            "PersistentVolumeClaim \"c\" is invalid: spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n",
            "@@ -1,6 +1,6 @@\n",
            " {\n",
            "  \"AccessModes\": [\n",
            "-  \"ReadWriteOnce\"\n",
            "+  \"ReadWriteMany\"\n",
            "  ],\n",
            "  \"Selector\": null,\n",
            "  \"Resources\": {\n",
        ),
    );
    ok(
        claims
            .patch(
                "c",
                &pp,
                &merge(json!({"spec": {"volumeName": "pv-1", "storageClassName": "standard"}})),
            )
            .await,
        "binding a claim to a volume (volumeName and storageClassName were unset)",
    );
    assert_invalid(
        claims
            .patch("c", &pp, &merge(json!({"spec": {"volumeName": "pv-2"}})))
            .await,
        "changing a claim's volumeName",
        concat!(
            "PersistentVolumeClaim \"c\" is invalid: spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n",
            "@@ -9,7 +9,7 @@\n",
            "    \"storage\": \"1Gi\"\n",
            "   }\n",
            "  },\n",
            "- \"VolumeName\": \"pv-1\",\n",
            "+ \"VolumeName\": \"pv-2\",\n",
            "  \"StorageClassName\": \"standard\",\n",
            "  \"VolumeMode\": \"Filesystem\",\n",
            "  \"DataSource\": null,\n",
        ),
    );

    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    create(
        &secrets,
        json!({"metadata": {"name": "s"}, "immutable": true, "data": {"a": "Yg=="}}),
    )
    .await;
    assert_invalid(
        secrets
            .patch("s", &pp, &merge(json!({"data": {"a": "Yw=="}})))
            .await,
        "changing an immutable Secret's data",
        "Secret \"s\" is invalid: data: Forbidden: field is immutable when `immutable` is set",
    );
    assert_invalid(
        secrets
            .patch("s", &pp, &merge(json!({"immutable": false})))
            .await,
        "making an immutable Secret mutable",
        "Secret \"s\" is invalid: immutable: Forbidden: field is immutable when `immutable` is set",
    );
    assert_invalid(
        secrets.patch("s", &pp, &merge(json!({"type": "x"}))).await,
        "changing a Secret's type",
        "Secret \"s\" is invalid: type: Invalid value: \"x\": field is immutable",
    );
    ok(
        secrets
            .patch(
                "s",
                &pp,
                &merge(json!({"metadata": {"labels": {"a": "b"}}})),
            )
            .await,
        "labelling an immutable Secret",
    );
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    create(
        &config_maps,
        json!({"metadata": {"name": "cm"}, "immutable": true, "data": {"a": "b"}}),
    )
    .await;
    assert_invalid(
        config_maps
            .patch("cm", &pp, &merge(json!({"data": {"a": "c"}})))
            .await,
        "changing an immutable ConfigMap's data",
        "ConfigMap \"cm\" is invalid: data: Forbidden: field is immutable when `immutable` is set",
    );
    assert_invalid(
        config_maps
            .patch("cm", &pp, &merge(json!({"immutable": null})))
            .await,
        "making an immutable ConfigMap mutable",
        "ConfigMap \"cm\" is invalid: immutable: Forbidden: field is immutable when `immutable` is set",
    );

    // A PersistentVolume (cluster-scoped: named after the namespace, removed before asserting).
    let volumes: Api<PersistentVolume> = Api::all(client.clone());
    create(&volumes, json!({"metadata": {"name": ns}, "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "hostPath": {"path": "/data", "type": "Directory"}}})).await;
    let source = volumes
        .patch(
            &ns,
            &pp,
            &merge(json!({"spec": {"hostPath": {"path": "/other"}}})),
        )
        .await;
    let mode = volumes
        .patch(&ns, &pp, &merge(json!({"spec": {"volumeMode": "Block"}})))
        .await;
    let _ = volumes
        .patch(&ns, &pp, &merge(json!({"metadata": {"finalizers": null}})))
        .await;
    let _ = volumes.delete(&ns, &DeleteParams::default()).await;
    assert_invalid(
        source,
        "changing a PersistentVolume's source",
        &format!(
            "PersistentVolume \"{ns}\" is invalid: spec.persistentvolumesource: Forbidden: spec.persistentvolumesource is immutable after creation\n{}",
            concat!(
                "@@ -2,7 +2,7 @@\n",
                "  \"GCEPersistentDisk\": null,\n",
                "  \"AWSElasticBlockStore\": null,\n",
                "  \"HostPath\": {\n",
                "-  \"Path\": \"/data\",\n",
                "+  \"Path\": \"/other\",\n",
                "   \"Type\": \"Directory\"\n",
                "  },\n",
                "  \"Glusterfs\": null,\n",
            )
        ),
    );
    assert_invalid(
        mode,
        "changing a PersistentVolume's volumeMode",
        &format!(
            "PersistentVolume \"{ns}\" is invalid: volumeMode: Invalid value: \"Block\": field is immutable"
        ),
    );
    delete_namespace(client, &ns).await;
}

fn crate_pod_prefix() -> &'static str {
    "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"
}

/// The `Priority` admission plugin computes a pod's priority: a given one that differs, or an
/// unknown PriorityClass, is 403 Forbidden.
pub async fn pod_admission_rejects_a_given_priority(client: &Client) {
    let ns = unique("defaults-prio");
    create_namespace(client, &ns).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let (code, message) = api_error(
        pods.create(&PostParams::default(), &decode(json!({"metadata": {"name": "p"}, "spec": {"priority": 5, "containers": [{"name": "c", "image": "x"}]}}))).await,
        "a pod with a priority",
    );
    assert_eq!(
        (code, message.as_str()),
        (
            403,
            "pods \"p\" is forbidden: the integer value of priority (5) must not be provided in pod spec; priority admission controller computed 0 from the given PriorityClass name"
        )
    );
    let (code, message) = api_error(
        pods.create(&PostParams::default(), &decode(json!({"metadata": {"name": "p"}, "spec": {"priorityClassName": "nope", "containers": [{"name": "c", "image": "x"}]}}))).await,
        "a pod with an unknown PriorityClass",
    );
    assert_eq!(
        (code, message.as_str()),
        (
            403,
            "pods \"p\" is forbidden: no PriorityClass with name nope was found"
        )
    );
    let critical = create(&pods, json!({"metadata": {"name": "critical"}, "spec": {"priorityClassName": "system-cluster-critical", "containers": [{"name": "c", "image": "x"}]}})).await;
    assert_eq!(
        critical.spec.and_then(|s| s.priority),
        Some(2_000_000_000),
        "conformance: system-cluster-critical is priority 2000000000"
    );
    delete_namespace(client, &ns).await;
}
