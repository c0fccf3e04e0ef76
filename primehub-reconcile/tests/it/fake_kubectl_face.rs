//! What kubectl sees of the fake cluster over HTTP: discovery (aggregated and legacy), Table
//! output, kube-apiserver's answers for odd paths, and DELETE answers — each checked against
//! what a real kube-apiserver v1.37 answered for the same request (the expectations below were
//! taken from one), and kubectl 1.33 itself run against the fake (and compared with the real
//! server when `PRIMEHUB_TEST_KUBECONFIG` is set).

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use futures::StreamExt;
use jiff::{SignedDuration, Timestamp};
use primehub_model::clock::ManualClock;
use primehub_reconcile::fake::FakeCluster;
use serde_json::{Value, json};
use tower::ServiceExt;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
const AGGREGATED: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

struct Answer {
    status: StatusCode,
    content_type: String,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
}

async fn call(
    cluster: &FakeCluster,
    method: Method,
    path: &str,
    accept: Option<&str>,
    body: Option<Value>,
) -> Result<Answer, Box<dyn std::error::Error>> {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(a) = accept {
        request = request.header(header::ACCEPT, a);
    }
    let request = match body {
        Some(b) => request
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string()))?,
        None => request.body(Body::empty())?,
    };
    let response = cluster.router().oneshot(request).await?;
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
    Ok(Answer {
        status,
        content_type,
        text: String::from_utf8(bytes.to_vec())?,
    })
}

async fn create(cluster: &FakeCluster, path: &str, body: Value) -> TestResult {
    let answer = call(cluster, Method::POST, path, None, Some(body)).await?;
    assert_eq!(
        answer.status,
        StatusCode::CREATED,
        "{path}: {}",
        answer.text
    );
    Ok(())
}

const T0: &str = "2026-12-04T10:00:00Z";

fn clocked() -> Result<(FakeCluster, Arc<ManualClock>), Box<dyn std::error::Error>> {
    let clock = Arc::new(ManualClock::at(T0.parse::<Timestamp>()?));
    Ok((FakeCluster::with_clock(clock.clone()), clock))
}

/// The objects the Table expectations print (as a real kube-apiserver stores them, defaults
/// written out, since the fake does not default).
async fn seed(cluster: &FakeCluster) -> TestResult {
    let ns = "/api/v1/namespaces/discovery-a";
    create(
        cluster,
        "/api/v1/namespaces",
        json!({"metadata": {"name": "discovery-a"}}),
    )
    .await?;
    create(
        cluster,
        &format!("{ns}/pods"),
        json!({
            "metadata": {"name": "p1", "labels": {"app": "web"}},
            "spec": {"nodeName": "n1", "containers": [
                {"name": "main", "image": "busybox"}, {"name": "side", "image": "nginx"}]},
        }),
    )
    .await?;
    let status = json!({"status": {
        "phase": "Running",
        "podIPs": [{"ip": "10.1.2.3"}],
        "containerStatuses": [
            {"name": "main", "ready": true, "restartCount": 2, "state": {"running": {}},
             "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2026-12-04T10:00:30Z"}}},
            {"name": "side", "ready": false, "restartCount": 0,
             "state": {"waiting": {"reason": "CrashLoopBackOff"}}},
        ],
    }});
    let request = Request::builder()
        .method(Method::PATCH)
        .uri(format!("{ns}/pods/p1/status"))
        .header(header::CONTENT_TYPE, "application/merge-patch+json")
        .body(Body::from(status.to_string()))?;
    assert_eq!(
        cluster.router().oneshot(request).await?.status(),
        StatusCode::OK
    );
    create(cluster, &format!("{ns}/services"), json!({"metadata": {"name": "s1"}, "spec": {
        "type": "ClusterIP", "clusterIP": "10.0.0.158", "clusterIPs": ["10.0.0.158"],
        "selector": {"app": "web"},
        "ports": [{"name": "http", "port": 80, "protocol": "TCP"}, {"name": "q", "port": 443, "protocol": "UDP"}]}})).await?;
    create(
        cluster,
        &format!("{ns}/services"),
        json!({"metadata": {"name": "s2"}, "spec": {
        "type": "NodePort", "clusterIPs": ["10.0.0.29"],
        "ports": [{"port": 80, "protocol": "TCP", "nodePort": 31065}]}}),
    )
    .await?;
    create(
        cluster,
        &format!("{ns}/configmaps"),
        json!({"metadata": {"name": "c1"},
        "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AAE="}}),
    )
    .await?;
    create(
        cluster,
        &format!("{ns}/secrets"),
        json!({"metadata": {"name": "sec1"}, "type": "Opaque", "data": {"a": "MQ=="}}),
    )
    .await?;
    let template = |app: &str, containers: Value| json!({"metadata": {"labels": {"app": app}}, "spec": {"containers": containers}});
    let two = json!([{"name": "main", "image": "busybox"}, {"name": "side", "image": "nginx"}]);
    let one = json!([{"name": "main", "image": "busybox"}]);
    create(cluster, "/apis/apps/v1/namespaces/discovery-a/deployments", json!({"metadata": {"name": "d1"}, "spec": {
        "replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": template("web", two)}})).await?;
    create(cluster, "/apis/apps/v1/namespaces/discovery-a/statefulsets", json!({"metadata": {"name": "st1"}, "spec": {
        "replicas": 1, "serviceName": "s1", "selector": {"matchLabels": {"app": "st"}}, "template": template("st", one.clone())}})).await?;
    let mut ds_template = template("ds", one);
    ds_template["spec"]["nodeSelector"] = json!({"disk": "ssd"});
    create(
        cluster,
        "/apis/apps/v1/namespaces/discovery-a/daemonsets",
        json!({"metadata": {"name": "ds1"}, "spec": {
        "selector": {"matchLabels": {"app": "ds"}}, "template": ds_template}}),
    )
    .await?;
    create(cluster, &format!("{ns}/persistentvolumeclaims"), json!({"metadata": {"name": "pvc1"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, "volumeMode": "Filesystem"}})).await?;
    create(cluster, "/api/v1/persistentvolumes", json!({"metadata": {"name": "discovery-pv1"}, "spec": {
        "capacity": {"storage": "2Gi"}, "accessModes": ["ReadWriteOnce", "ReadOnlyMany"], "hostPath": {"path": "/tmp/x"},
        "claimRef": {"namespace": "discovery-a", "name": "pvc1"}, "persistentVolumeReclaimPolicy": "Retain",
        "volumeMode": "Filesystem"}})).await?;
    create(
        cluster,
        &format!("{ns}/serviceaccounts"),
        json!({"metadata": {"name": "sa1"}}),
    )
    .await?;
    create(cluster, &format!("{ns}/events"), json!({"metadata": {"name": "e1"},
        "involvedObject": {"kind": "Pod", "name": "p1", "namespace": "discovery-a", "fieldPath": "spec.containers{main}"},
        "reason": "Started", "message": "Started container main", "type": "Normal",
        "source": {"component": "kubelet", "host": "node-1"}, "count": 3,
        "firstTimestamp": "2026-12-04T09:00:00Z", "lastTimestamp": "2026-12-04T09:30:00Z"})).await?;
    create(
        cluster,
        "/apis/networking.k8s.io/v1/namespaces/discovery-a/ingresses",
        json!({"metadata": {"name": "i1"}, "spec": {
        "ingressClassName": "nginx", "tls": [{"hosts": ["a.example.com"]}],
        "rules": [{"host": "a.example.com"}, {"host": "b.example.com"}]}}),
    )
    .await?;
    create(cluster, "/apis/networking.k8s.io/v1/namespaces/discovery-a/networkpolicies", json!({"metadata": {"name": "np1"}, "spec": {"podSelector": {"matchLabels": {"app": "web"}}}})).await?;
    create(
        cluster,
        "/apis/networking.k8s.io/v1/namespaces/discovery-a/networkpolicies",
        json!({"metadata": {"name": "np2"}, "spec": {"podSelector": {}}}),
    )
    .await?;
    create(
        cluster,
        "/apis/coordination.k8s.io/v1/namespaces/discovery-a/leases",
        json!({"metadata": {"name": "l1"}, "spec": {"holderIdentity": "me"}}),
    )
    .await?;
    create(
        cluster,
        "/apis/rbac.authorization.k8s.io/v1/namespaces/discovery-a/roles",
        json!({"metadata": {"name": "r1"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]}),
    )
    .await?;
    create(
        cluster,
        "/apis/rbac.authorization.k8s.io/v1/namespaces/discovery-a/rolebindings",
        json!({"metadata": {"name": "rb1"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r1"},
        "subjects": [{"kind": "User", "name": "alice"}, {"kind": "Group", "name": "devs"},
                     {"kind": "ServiceAccount", "name": "sa1", "namespace": "discovery-a"}]}),
    )
    .await?;
    create(cluster, "/apis/primehub.io/v1alpha1/namespaces/discovery-a/phjobs", json!({"apiVersion": "primehub.io/v1alpha1", "kind": "PhJob", "metadata": {"name": "j1"}, "spec": {
        "command": "echo hi", "userName": "alice", "userId": "uid", "groupName": "g1", "groupId": "gid",
        "instanceType": "cpu-1", "image": "base", "displayName": "J"}})).await?;
    create(
        cluster,
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        widget_crd(),
    )
    .await?;
    let widgets = "/apis/discovery.example.com/v1/namespaces/discovery-a/widgets";
    for (name, spec) in [
        (
            "w1",
            json!({"size": 3, "ratio": 1.5, "on": true, "when": "2026-12-01T00:00:00Z", "obj": {"a": [1, 2]}, "list": [{"name": "x"}]}),
        ),
        (
            "w2",
            json!({"size": 3.7, "ratio": 2, "on": "yes", "when": "bad", "obj": "str"}),
        ),
        (
            "w3",
            json!({"ratio": 1e23, "obj": 1e21, "size": 12_345_678_901_234_i64, "list": [], "on": null}),
        ),
        (
            "w4",
            json!({"obj": 0.1, "size": "7", "ratio": "x", "when": 5}),
        ),
        ("w5", json!({"obj": true, "size": -2})),
        ("w6", json!({"obj": [1, "a", null], "size": 2.0})),
        ("w7", json!({"obj": 123_456_789, "size": 1000.0})),
    ] {
        create(
            cluster,
            widgets,
            json!({"apiVersion": "discovery.example.com/v1", "kind": "Widget",
            "metadata": {"name": name}, "spec": spec}),
        )
        .await?;
    }
    Ok(())
}

fn widget_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.discovery.example.com"},
        "spec": {
            "group": "discovery.example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget",
                      "shortNames": ["wd"], "categories": ["all", "discovery"]},
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
                "additionalPrinterColumns": [
                    {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
                    {"name": "Ratio", "type": "number", "jsonPath": ".spec.ratio"},
                    {"name": "On", "type": "boolean", "jsonPath": ".spec.on"},
                    {"name": "When", "type": "date", "jsonPath": ".spec.when"},
                    {"name": "Obj", "type": "string", "jsonPath": ".spec.obj"},
                    {"name": "Num", "type": "string", "jsonPath": ".spec.size"},
                    {"name": "First", "type": "string", "jsonPath": ".spec.list[0].name", "priority": 1},
                ],
            }],
        },
    })
}

async fn table(cluster: &FakeCluster, path: &str) -> Result<Value, Box<dyn std::error::Error>> {
    let answer = call(cluster, Method::GET, path, Some(TABLE), None).await?;
    assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.text);
    let table = answer.json();
    assert_eq!(table["kind"], "Table", "{path}");
    assert_eq!(table["apiVersion"], "meta.k8s.io/v1", "{path}");
    Ok(table)
}

fn column_names(table: &Value) -> Vec<String> {
    table["columnDefinitions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| c["name"].as_str().unwrap_or("").to_owned())
        .collect()
}

fn rows(table: &Value) -> Vec<Value> {
    table["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| r["cells"].clone())
        .collect()
}

#[tokio::test]
async fn tables_print_each_kind_as_kube_apiserver() -> TestResult {
    let (cluster, clock) = clocked()?;
    seed(&cluster).await?;
    clock.advance(SignedDuration::from_secs(90));
    let ns = "namespaces/discovery-a";
    let cases: Vec<(String, Vec<&str>, Vec<Value>)> = vec![
        (
            format!("/api/v1/{ns}/pods"),
            vec![
                "Name",
                "Ready",
                "Status",
                "Restarts",
                "Age",
                "IP",
                "Node",
                "Nominated Node",
                "Readiness Gates",
            ],
            vec![json!([
                "p1",
                "1/2",
                "CrashLoopBackOff",
                "2 (60s ago)",
                "90s",
                "10.1.2.3",
                "n1",
                "<none>",
                "<none>"
            ])],
        ),
        (
            "/api/v1/namespaces/discovery-a".into(),
            vec!["Name", "Status", "Age"],
            vec![json!(["discovery-a", "Active", "90s"])],
        ),
        (
            format!("/api/v1/{ns}/services"),
            vec![
                "Name",
                "Type",
                "Cluster-IP",
                "External-IP",
                "Port(s)",
                "Age",
                "Selector",
            ],
            vec![
                json!([
                    "s1",
                    "ClusterIP",
                    "10.0.0.158",
                    "<none>",
                    "80/TCP,443/UDP",
                    "90s",
                    "app=web"
                ]),
                json!([
                    "s2",
                    "NodePort",
                    "10.0.0.29",
                    "<none>",
                    "80:31065/TCP",
                    "90s",
                    "<none>"
                ]),
            ],
        ),
        (
            format!("/api/v1/{ns}/configmaps"),
            vec!["Name", "Data", "Age"],
            vec![json!(["c1", 3, "90s"])],
        ),
        (
            format!("/api/v1/{ns}/secrets"),
            vec!["Name", "Type", "Data", "Age"],
            vec![json!(["sec1", "Opaque", 1, "90s"])],
        ),
        (
            format!("/apis/apps/v1/{ns}/deployments"),
            vec![
                "Name",
                "Ready",
                "Up-to-date",
                "Available",
                "Age",
                "Containers",
                "Images",
                "Selector",
            ],
            vec![json!([
                "d1",
                "0/2",
                0,
                0,
                "90s",
                "main,side",
                "busybox,nginx",
                "app=web"
            ])],
        ),
        (
            format!("/apis/apps/v1/{ns}/statefulsets"),
            vec!["Name", "Ready", "Age", "Containers", "Images"],
            vec![json!(["st1", "0/1", "90s", "main", "busybox"])],
        ),
        (
            format!("/apis/apps/v1/{ns}/daemonsets"),
            vec![
                "Name",
                "Desired",
                "Current",
                "Ready",
                "Up-to-date",
                "Available",
                "Node Selector",
                "Age",
                "Containers",
                "Images",
                "Selector",
            ],
            vec![json!([
                "ds1", 0, 0, 0, 0, 0, "disk=ssd", "90s", "main", "busybox", "app=ds"
            ])],
        ),
        (
            format!("/api/v1/{ns}/persistentvolumeclaims"),
            vec![
                "Name",
                "Status",
                "Volume",
                "Capacity",
                "Access Modes",
                "StorageClass",
                "VolumeAttributesClass",
                "Age",
                "VolumeMode",
            ],
            vec![json!([
                "pvc1",
                "Pending",
                "",
                "",
                "",
                "",
                "<unset>",
                "90s",
                "Filesystem"
            ])],
        ),
        (
            "/api/v1/persistentvolumes/discovery-pv1".into(),
            vec![
                "Name",
                "Capacity",
                "Access Modes",
                "Reclaim Policy",
                "Status",
                "Claim",
                "StorageClass",
                "VolumeAttributesClass",
                "Reason",
                "Age",
                "VolumeMode",
            ],
            vec![json!([
                "discovery-pv1",
                "2Gi",
                "RWO,ROX",
                "Retain",
                "Pending",
                "discovery-a/pvc1",
                "",
                "<unset>",
                "",
                "90s",
                "Filesystem"
            ])],
        ),
        (
            format!("/api/v1/{ns}/serviceaccounts"),
            vec!["Name", "Age"],
            vec![json!(["sa1", "90s"])],
        ),
        (
            format!("/api/v1/{ns}/events"),
            vec![
                "Last Seen",
                "Type",
                "Reason",
                "Object",
                "Subobject",
                "Source",
                "Message",
                "First Seen",
                "Count",
                "Name",
            ],
            vec![json!([
                "31m",
                "Normal",
                "Started",
                "pod/p1",
                "spec.containers{main}",
                "kubelet, node-1",
                "Started container main",
                "61m",
                3,
                "e1"
            ])],
        ),
        (
            format!("/apis/events.k8s.io/v1/{ns}/events"),
            vec![
                "Last Seen",
                "Type",
                "Reason",
                "Object",
                "Subobject",
                "Source",
                "Message",
                "First Seen",
                "Count",
                "Name",
            ],
            vec![json!([
                "31m",
                "Normal",
                "Started",
                "pod/p1",
                "spec.containers{main}",
                "kubelet, node-1",
                "Started container main",
                "61m",
                3,
                "e1"
            ])],
        ),
        (
            format!("/apis/networking.k8s.io/v1/{ns}/ingresses"),
            vec!["Name", "Class", "Hosts", "Address", "Ports", "Age"],
            vec![json!([
                "i1",
                "nginx",
                "a.example.com,b.example.com",
                "",
                "80, 443",
                "90s"
            ])],
        ),
        (
            format!("/apis/networking.k8s.io/v1/{ns}/networkpolicies"),
            vec!["Name", "Pod-Selector", "Age"],
            vec![
                json!(["np1", "app=web", "90s"]),
                json!(["np2", "<none>", "90s"]),
            ],
        ),
        (
            format!("/apis/coordination.k8s.io/v1/{ns}/leases"),
            vec!["Name", "Holder", "Age"],
            vec![json!(["l1", "me", "90s"])],
        ),
        (
            format!("/apis/rbac.authorization.k8s.io/v1/{ns}/roles"),
            vec!["Name", "Created At"],
            vec![json!(["r1", T0])],
        ),
        (
            format!("/apis/rbac.authorization.k8s.io/v1/{ns}/rolebindings"),
            vec!["Name", "Role", "Age", "Users", "Groups", "ServiceAccounts"],
            vec![json!([
                "rb1",
                "Role/r1",
                "90s",
                "alice",
                "devs",
                "discovery-a/sa1"
            ])],
        ),
        (
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.discovery.example.com"
                .into(),
            vec![
                "Name",
                "Scope",
                "Versions",
                "Created At",
                "Group",
                "Kind",
                "ShortNames",
                "Established",
            ],
            vec![json!([
                "widgets.discovery.example.com",
                "Namespaced",
                "v1(storage)",
                T0,
                "discovery.example.com",
                "Widget",
                "wd",
                true
            ])],
        ),
        (
            format!("/apis/primehub.io/v1alpha1/{ns}/phjobs"),
            vec!["Name", "User", "Group", "Status", "Age"],
            vec![json!(["j1", "alice", "g1", null, "90s"])],
        ),
        (
            format!("/apis/discovery.example.com/v1/{ns}/widgets"),
            vec!["Name", "Size", "Ratio", "On", "When", "Obj", "Num", "First"],
            vec![
                json!(["w1", 3, 1.5, true, "3d10h", "{\"a\":[1,2]}", "3", "x"]),
                json!(["w2", 3, 2, null, "<invalid>", "str", "3.7", null]),
                json!([
                    "w3",
                    12_345_678_901_234_i64,
                    1e23,
                    null,
                    null,
                    "1e+21",
                    "12345678901234",
                    null
                ]),
                json!(["w4", null, null, null, null, "0.1", "7", null]),
                json!(["w5", -2, null, null, null, "true", "-2", null]),
                json!(["w6", 2, null, null, null, "[1,\"a\",null]", "2", null]),
                json!(["w7", 1000, null, null, null, "123456789", "1000", null]),
            ],
        ),
    ];
    for (path, columns, want) in cases {
        let t = table(&cluster, &path).await?;
        assert_eq!(column_names(&t), columns, "{path}");
        assert_eq!(rows(&t), want, "{path}");
    }
    // A CRD without printer columns prints Name and Age.
    let t = table(
        &cluster,
        "/apis/primehub.io/v1alpha1/namespaces/discovery-a/phapptemplates",
    )
    .await?;
    assert_eq!(column_names(&t), ["Name", "Age"]);
    Ok(())
}

#[tokio::test]
async fn table_rows_carry_what_include_object_asks_for() -> TestResult {
    let (cluster, _clock) = clocked()?;
    create(
        &cluster,
        "/api/v1/namespaces/hub/configmaps",
        json!({"metadata": {"name": "c"}, "data": {"a": "b"}}),
    )
    .await?;
    let path = "/api/v1/namespaces/hub/configmaps";
    let metadata = table(&cluster, path).await?;
    let object = &metadata["rows"][0]["object"];
    assert_eq!(object["kind"], "PartialObjectMetadata");
    assert_eq!(object["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(object["metadata"]["name"], "c");
    assert!(object.get("data").is_none());
    assert!(metadata["metadata"]["resourceVersion"].is_string());

    let whole = table(&cluster, &format!("{path}?includeObject=Object")).await?;
    assert_eq!(whole["rows"][0]["object"]["data"], json!({"a": "b"}));
    let none = table(&cluster, &format!("{path}?includeObject=None")).await?;
    assert_eq!(none["rows"][0]["object"], Value::Null);

    // One object: a one-row Table with the object's resourceVersion.
    let one = table(&cluster, &format!("{path}/c")).await?;
    assert_eq!(rows(&one), [json!(["c", 1, "0s"])]);

    // v1beta1 only.
    let beta = call(
        &cluster,
        Method::GET,
        path,
        Some("application/json;as=Table;v=v1beta1;g=meta.k8s.io"),
        None,
    )
    .await?;
    assert_eq!(beta.json()["apiVersion"], "meta.k8s.io/v1beta1");
    assert_eq!(
        beta.json()["rows"][0]["object"]["apiVersion"],
        "meta.k8s.io/v1beta1"
    );

    // Without a Table in Accept: the list.
    let plain = call(&cluster, Method::GET, path, Some("application/json"), None).await?;
    assert_eq!(plain.json()["kind"], "ConfigMapList");

    let bad = call(
        &cluster,
        Method::GET,
        &format!("{path}?includeObject=Foo"),
        Some(TABLE),
        None,
    )
    .await?;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        bad.json()["message"],
        "Unable to convert to Table as requested: includeObject: Invalid value: \"Foo\": must be 'Metadata', 'Object', 'None', or empty"
    );
    // An empty list still has its columns and an empty rows array.
    let empty = table(&cluster, "/api/v1/namespaces/hub/secrets").await?;
    assert_eq!(column_names(&empty), ["Name", "Type", "Data", "Age"]);
    assert_eq!(empty["rows"], json!([]));
    Ok(())
}

#[tokio::test]
async fn watches_send_table_rows_with_the_columns_once() -> TestResult {
    let (cluster, _clock) = clocked()?;
    create(
        &cluster,
        "/api/v1/namespaces/hub/configmaps",
        json!({"metadata": {"name": "a"}}),
    )
    .await?;
    let request = Request::builder()
        .uri("/api/v1/namespaces/hub/configmaps?watch=true&includeObject=None")
        .header(header::ACCEPT, TABLE)
        .body(Body::empty())?;
    let response = cluster.router().oneshot(request).await?;
    let mut body = response.into_body().into_data_stream();
    let mut buffer = String::new();
    let mut next_event = async || -> Result<Value, Box<dyn std::error::Error>> {
        loop {
            if let Some(i) = buffer.find('\n') {
                let line: String = buffer.drain(..=i).collect();
                return Ok(serde_json::from_str(&line)?);
            }
            let chunk = tokio::time::timeout(std::time::Duration::from_secs(5), body.next())
                .await?
                .ok_or("the watch ended")??;
            buffer.push_str(std::str::from_utf8(&chunk)?);
        }
    };
    let first = next_event().await?;
    assert_eq!(first["type"], "ADDED");
    assert_eq!(first["object"]["kind"], "Table");
    assert_eq!(column_names(&first["object"]), ["Name", "Data", "Age"]);
    assert_eq!(rows(&first["object"]), [json!(["a", 0, "0s"])]);
    assert_eq!(first["object"]["rows"][0]["object"], Value::Null);

    create(
        &cluster,
        "/api/v1/namespaces/hub/configmaps",
        json!({"metadata": {"name": "b"}, "data": {"x": "y"}}),
    )
    .await?;
    let second = next_event().await?;
    assert_eq!(second["type"], "ADDED");
    assert_eq!(second["object"]["columnDefinitions"], Value::Null);
    assert_eq!(rows(&second["object"]), [json!(["b", 1, "0s"])]);
    assert!(second["object"]["metadata"]["resourceVersion"].is_string());
    Ok(())
}

fn resource<'a>(doc: &'a Value, group: &str, version: &str, plural: &str) -> Option<&'a Value> {
    doc["items"]
        .as_array()?
        .iter()
        .find(|g| g["metadata"]["name"].as_str().unwrap_or("") == group)?["versions"]
        .as_array()?
        .iter()
        .find(|v| v["version"] == version)?["resources"]
        .as_array()?
        .iter()
        .find(|r| r["resource"] == plural)
}

#[tokio::test]
async fn aggregated_discovery_lists_names_categories_verbs_and_subresources() -> TestResult {
    let cluster = FakeCluster::new();
    create(
        &cluster,
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        widget_crd(),
    )
    .await?;
    let core = call(&cluster, Method::GET, "/api", Some(AGGREGATED), None).await?;
    assert_eq!(core.status, StatusCode::OK);
    assert_eq!(
        core.content_type,
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    );
    let core = core.json();
    assert_eq!(core["kind"], "APIGroupDiscoveryList");
    assert_eq!(core["apiVersion"], "apidiscovery.k8s.io/v2");
    // As kube-apiserver v1.37 lists pods (with the subresources the fake serves).
    assert_eq!(
        resource(&core, "", "v1", "pods"),
        Some(&json!({
            "resource": "pods", "responseKind": {"group": "", "version": "", "kind": "Pod"},
            "scope": "Namespaced", "singularResource": "pod",
            "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
            "shortNames": ["po"], "categories": ["all"],
            "subresources": [
                {"subresource": "log", "responseKind": {"group": "", "version": "", "kind": "Pod"}, "verbs": ["get"]},
                {"subresource": "status", "responseKind": {"group": "", "version": "", "kind": "Pod"}, "verbs": ["get", "patch", "update"]},
            ],
        }))
    );
    let namespaces = resource(&core, "", "v1", "namespaces").ok_or("namespaces")?;
    assert_eq!(
        namespaces["verbs"],
        json!([
            "create", "delete", "get", "list", "patch", "update", "watch"
        ])
    );
    assert_eq!(namespaces["scope"], "Cluster");
    assert_eq!(namespaces["shortNames"], json!(["ns"]));
    for (plural, short) in [
        ("configmaps", "cm"),
        ("services", "svc"),
        ("persistentvolumeclaims", "pvc"),
        ("persistentvolumes", "pv"),
        ("serviceaccounts", "sa"),
        ("events", "ev"),
    ] {
        assert_eq!(
            resource(&core, "", "v1", plural).ok_or(plural)?["shortNames"],
            json!([short]),
            "{plural}"
        );
    }
    assert!(
        resource(&core, "", "v1", "secrets")
            .ok_or("secrets")?
            .get("shortNames")
            .is_none()
    );

    let groups = call(&cluster, Method::GET, "/apis", Some(AGGREGATED), None)
        .await?
        .json();
    let names: Vec<&str> = groups["items"]
        .as_array()
        .ok_or("items")?
        .iter()
        .filter_map(|g| g["metadata"]["name"].as_str())
        .collect();
    // kube-apiserver's group priority order, then CRD groups by name.
    assert_eq!(
        names,
        [
            "apps",
            "events.k8s.io",
            "networking.k8s.io",
            "rbac.authorization.k8s.io",
            "apiextensions.k8s.io",
            "coordination.k8s.io",
            "discovery.example.com",
            "primehub.io"
        ]
    );
    for (group, plural, short, all) in [
        ("apps", "deployments", "deploy", true),
        ("apps", "statefulsets", "sts", true),
        ("apps", "daemonsets", "ds", true),
        ("networking.k8s.io", "ingresses", "ing", false),
        ("networking.k8s.io", "networkpolicies", "netpol", false),
    ] {
        let r = resource(&groups, group, "v1", plural).ok_or(plural)?;
        assert_eq!(r["shortNames"], json!([short]), "{plural}");
        assert_eq!(r.get("categories").is_some(), all, "{plural}");
    }
    let crds = resource(
        &groups,
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
    )
    .ok_or("crds")?;
    assert_eq!(crds["shortNames"], json!(["crd", "crds"]));
    assert_eq!(crds["categories"], json!(["api-extensions"]));
    let widgets = resource(&groups, "discovery.example.com", "v1", "widgets").ok_or("widgets")?;
    assert_eq!(widgets["shortNames"], json!(["wd"]));
    assert_eq!(widgets["categories"], json!(["all", "discovery"]));
    assert_eq!(
        widgets["responseKind"],
        json!({"group": "discovery.example.com", "version": "v1", "kind": "Widget"})
    );
    assert_eq!(
        widgets["verbs"],
        json!([
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "create",
            "update",
            "watch"
        ])
    );
    let phjobs = resource(&groups, "primehub.io", "v1alpha1", "phjobs").ok_or("phjobs")?;
    assert_eq!(phjobs["subresources"][0]["subresource"], "status");

    // The legacy documents without the aggregated media type.
    let legacy = call(
        &cluster,
        Method::GET,
        "/api",
        Some("application/json"),
        None,
    )
    .await?
    .json();
    assert_eq!(legacy["kind"], "APIVersions");
    let v1 = call(&cluster, Method::GET, "/api/v1", None, None)
        .await?
        .json();
    let cm = v1["resources"]
        .as_array()
        .ok_or("resources")?
        .iter()
        .find(|r| r["name"] == "configmaps")
        .ok_or("cm")?;
    assert_eq!(cm["storageVersionHash"], "qFsyl6wFWjQ=");
    assert_eq!(cm["shortNames"], json!(["cm"]));
    let names: Vec<&str> = v1["resources"]
        .as_array()
        .ok_or("resources")?
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert!(names.windows(2).all(|w| w[0] <= w[1]), "{names:?}");
    assert!(names.contains(&"pods/log"));
    let widgets = call(
        &cluster,
        Method::GET,
        "/apis/discovery.example.com/v1",
        None,
        None,
    )
    .await?
    .json();
    assert_eq!(
        widgets["resources"][0]["categories"],
        json!(["all", "discovery"])
    );
    Ok(())
}

#[tokio::test]
async fn odd_paths_are_answered_as_kube_apiserver_answers_them() -> TestResult {
    let cluster = FakeCluster::new();
    create(
        &cluster,
        "/api/v1/namespaces/hub/configmaps",
        json!({"metadata": {"name": "c"}}),
    )
    .await?;
    let not_found = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "the server could not find the requested resource", "reason": "NotFound", "details": {}, "code": 404});
    let not_allowed = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "the server does not allow this method on the requested resource", "reason": "MethodNotAllowed", "details": {}, "code": 405});
    // Trailing slashes name the same thing.
    for (path, kind) in [
        ("/api/", "APIVersions"),
        ("/apis/", "APIGroupList"),
        ("/apis/apps/", "APIGroup"),
        ("/apis/apps/v1/", "APIResourceList"),
        ("/api/v1/namespaces/", "NamespaceList"),
        ("/api/v1/pods/", "PodList"),
        ("/api/v1/namespaces/hub/", "Namespace"),
        ("/api/v1/namespaces/hub/configmaps/c/", "ConfigMap"),
        ("/api/v1/namespaces//configmaps", "ConfigMapList"),
    ] {
        let answer = call(&cluster, Method::GET, path, None, None).await?;
        assert_eq!(
            (answer.status, answer.json()["kind"].clone()),
            (StatusCode::OK, json!(kind)),
            "{path}"
        );
    }
    // In kube-apiserver's own groups: a JSON Status with empty details.
    for path in [
        "/api/v2",
        "/apis/apps/v9",
        "/api/v1/foos",
        "/apis/apps/v1/foos",
        "/api//v1/namespaces",
        "/api/v1/namespaces/hub/configmaps/c/status",
        "/api/v1/namespaces/hub/configmaps/c/foo",
    ] {
        let answer = call(&cluster, Method::GET, path, None, None).await?;
        assert_eq!(
            (answer.status, answer.json()),
            (StatusCode::NOT_FOUND, not_found.clone()),
            "{path}"
        );
        assert_eq!(answer.content_type, "application/json");
    }
    // Elsewhere: Go's plain-text 404.
    for path in [
        "/apis/nope.io",
        "/apis/nope.io/v1",
        "/apis/primehub.io/v1",
        "/apis/primehub.io/v1alpha1/foos",
        "/foo",
    ] {
        let answer = call(&cluster, Method::GET, path, None, None).await?;
        assert_eq!(
            (answer.status, answer.text.as_str()),
            (StatusCode::NOT_FOUND, "404 page not found\n"),
            "{path}"
        );
        assert_eq!(answer.content_type, "text/plain; charset=utf-8");
    }
    for (method, path) in [
        (Method::POST, "/api"),
        (Method::POST, "/api/v1"),
        (Method::POST, "/apis/apps/v1"),
        (Method::DELETE, "/api/v1/namespaces"),
        (Method::PUT, "/api/v1/namespaces/hub/configmaps"),
        (Method::POST, "/api/v1/namespaces/hub/configmaps/c"),
        (Method::POST, "/api/v1/configmaps"),
        (Method::POST, "/version"),
    ] {
        let answer = call(&cluster, method.clone(), path, None, None).await?;
        assert_eq!(
            (answer.status, answer.json()),
            (StatusCode::METHOD_NOT_ALLOWED, not_allowed.clone()),
            "{method} {path}"
        );
    }
    // kube-apiserver answers these whatever the method.
    for (path, kind) in [
        ("/apis", "APIGroupList"),
        ("/apis/apps", "APIGroup"),
        ("/apis/primehub.io/v1alpha1", "APIResourceList"),
    ] {
        let answer = call(&cluster, Method::POST, path, None, None).await?;
        assert_eq!(
            (answer.status, answer.json()["kind"].clone()),
            (StatusCode::OK, json!(kind)),
            "{path}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn deletes_answer_the_object_or_a_success_status_per_kind() -> TestResult {
    let (cluster, _clock) = clocked()?;
    let ns = "/api/v1/namespaces/hub";
    let delete = async |path: &str| -> Result<Value, Box<dyn std::error::Error>> {
        let answer = call(&cluster, Method::DELETE, path, None, None).await?;
        assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.text);
        Ok(answer.json())
    };
    let uid_of = async |path: &str| -> Result<Value, Box<dyn std::error::Error>> {
        Ok(call(&cluster, Method::GET, path, None, None).await?.json()["metadata"]["uid"].clone())
    };

    // Deleted at once: a Success Status naming the object.
    create(
        &cluster,
        &format!("{ns}/configmaps"),
        json!({"metadata": {"name": "c"}}),
    )
    .await?;
    let uid = uid_of(&format!("{ns}/configmaps/c")).await?;
    assert_eq!(
        delete(&format!("{ns}/configmaps/c")).await?,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Success", "details": {"name": "c", "kind": "configmaps", "uid": uid}})
    );
    create(
        &cluster,
        "/apis/apps/v1/namespaces/hub/deployments",
        json!({"metadata": {"name": "d"}, "spec": {
            "selector": {"matchLabels": {"app": "d"}},
            "template": {"metadata": {"labels": {"app": "d"}},
                "spec": {"containers": [{"name": "m", "image": "x"}]}}}}),
    )
    .await?;
    let answer = delete("/apis/apps/v1/namespaces/hub/deployments/d").await?;
    assert_eq!(answer["details"]["group"], "apps");
    assert_eq!(answer["details"]["kind"], "deployments");

    // Pods: the object, marked as gracefully deleted.
    create(
        &cluster,
        &format!("{ns}/pods"),
        json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "m", "image": "x"}]}}),
    )
    .await?;
    let pod = delete(&format!("{ns}/pods/p")).await?;
    assert_eq!(pod["kind"], "Pod");
    assert_eq!(pod["metadata"]["deletionTimestamp"], T0);
    assert_eq!(pod["metadata"]["deletionGracePeriodSeconds"], 0);
    assert_eq!(pod["metadata"]["generation"], 2);
    assert_eq!(
        call(&cluster, Method::GET, &format!("{ns}/pods/p"), None, None)
            .await?
            .status,
        StatusCode::NOT_FOUND
    );

    // Services and service accounts: the object as it was.
    create(
        &cluster,
        &format!("{ns}/services"),
        json!({"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}]}}),
    )
    .await?;
    let service = delete(&format!("{ns}/services/s")).await?;
    assert_eq!(service["kind"], "Service");
    assert!(service["metadata"].get("deletionTimestamp").is_none());

    // Held by a finalizer: the object as stored, marked.
    create(
        &cluster,
        &format!("{ns}/configmaps"),
        json!({"metadata": {"name": "held", "finalizers": ["x/y"]}}),
    )
    .await?;
    let held = delete(&format!("{ns}/configmaps/held")).await?;
    assert_eq!(held["kind"], "ConfigMap");
    assert_eq!(held["metadata"]["finalizers"], json!(["x/y"]));
    assert!(held["metadata"]["deletionTimestamp"].is_string());

    // Orphan and foreground propagation: the object with the garbage collector's finalizer.
    for (policy, finalizer) in [("Orphan", "orphan"), ("Foreground", "foregroundDeletion")] {
        create(
            &cluster,
            "/apis/apps/v1/namespaces/hub/deployments",
            json!({"metadata": {"name": "g"}, "spec": {
                "selector": {"matchLabels": {"app": "g"}},
                "template": {"metadata": {"labels": {"app": "g"}},
                    "spec": {"containers": [{"name": "m", "image": "x"}]}}}}),
        )
        .await?;
        let answer = delete(&format!(
            "/apis/apps/v1/namespaces/hub/deployments/g?propagationPolicy={policy}"
        ))
        .await?;
        assert_eq!(answer["kind"], "Deployment", "{policy}");
        assert_eq!(
            answer["metadata"]["finalizers"],
            json!([finalizer]),
            "{policy}"
        );
        assert!(
            answer["metadata"]["deletionTimestamp"].is_string(),
            "{policy}"
        );
    }

    // A namespace: the object, terminating.
    create(
        &cluster,
        "/api/v1/namespaces",
        json!({"metadata": {"name": "gone"}}),
    )
    .await?;
    let namespace = delete("/api/v1/namespaces/gone").await?;
    assert_eq!(namespace["kind"], "Namespace");
    assert_eq!(namespace["status"]["phase"], "Terminating");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// kubectl 1.33 against the fake (and the real kube-apiserver when configured).

/// kubectl 1.33: `PRIMEHUB_TEST_KUBECTL`, `kubectl.1.33` on the PATH or next to gcloud.
fn kubectl() -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("PRIMEHUB_TEST_KUBECTL") {
        return Some(p.into());
    }
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join("kubectl.1.33");
        if candidate.is_file() {
            return Some(candidate);
        }
        let gcloud = dir.join("gcloud");
        if let Ok(real) = std::fs::canonicalize(&gcloud)
            && let Some(sibling) = real.parent().map(|d| d.join("kubectl.1.33"))
            && sibling.is_file()
        {
            return Some(sibling);
        }
    }
    None
}

fn run_kubectl(
    kubectl: &std::path::Path,
    kubeconfig: &std::path::Path,
    cache: &std::path::Path,
    args: &[&str],
) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let output = std::process::Command::new(kubectl)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("--cache-dir")
        .arg(cache)
        .args(args)
        .output()?;
    let stdout = String::from_utf8(output.stdout)?;
    let stderr = String::from_utf8(output.stderr)?;
    if !output.status.success() {
        return Err(format!("kubectl {args:?} failed: {stderr}{stdout}").into());
    }
    Ok(stdout + &stderr)
}

/// kubectl's output with ages (`5s`, `3m12s`, `2d`) replaced, so two servers compare.
fn without_ages(text: &str) -> String {
    text.lines()
        .map(|line| {
            line.split_whitespace()
                .map(|w| {
                    let is_age = w.len() > 1
                        && w.chars().next().is_some_and(|c| c.is_ascii_digit())
                        && w.chars().all(|c| c.is_ascii_digit() || "smhdy".contains(c))
                        && w.chars().last().is_some_and(|c| "smhdy".contains(c));
                    if is_age { "AGE" } else { w }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Objects both servers store alike (every field a real server defaults written out).
fn kubectl_objects(namespace: &str) -> Vec<(String, Value)> {
    let ns = format!("/api/v1/namespaces/{namespace}");
    vec![
        (
            format!("{ns}/configmaps"),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c1"}, "data": {"a": "1", "b": "2"}}),
        ),
        (
            format!("{ns}/serviceaccounts"),
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "sa1"}}),
        ),
        (
            format!("/apis/apps/v1/namespaces/{namespace}/deployments"),
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d1"}, "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "main", "image": "busybox"}]}}}}),
        ),
        (
            format!("/apis/networking.k8s.io/v1/namespaces/{namespace}/networkpolicies"),
            json!({"apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy", "metadata": {"name": "np1"}, "spec": {"podSelector": {"matchLabels": {"app": "web"}}}}),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_gets_lists_and_discovers_as_on_a_real_server() -> TestResult {
    let Some(kubectl) = kubectl() else {
        eprintln!("\n*** SKIPPED: kubectl 1.33 not found (set PRIMEHUB_TEST_KUBECTL) ***\n");
        return Ok(());
    };
    let dir = std::env::temp_dir().join(format!("primehub-kubectl-face-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir)?;
    let cluster = FakeCluster::new();
    let server = cluster.serve(tokio::net::TcpListener::bind("127.0.0.1:0").await?)?;
    let kubeconfig = dir.join("fake.kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\ncurrent-context: fake\nusers:\n- name: fake\n  user: {{}}\n",
            server.url()
        ),
    )?;
    let namespace = "discovery-kubectl";
    create(
        &cluster,
        "/api/v1/namespaces",
        json!({"metadata": {"name": namespace}}),
    )
    .await?;
    for (path, body) in kubectl_objects(namespace) {
        create(&cluster, &path, body).await?;
    }
    create(
        &cluster,
        &format!("/api/v1/namespaces/{namespace}/pods"),
        json!({"metadata": {"name": "p1"},
        "spec": {"nodeName": "n1", "containers": [{"name": "main", "image": "busybox"}]}}),
    )
    .await?;

    let fake_cache = dir.join("cache-fake");
    let run = {
        let (kubectl, kubeconfig, cache) =
            (kubectl.clone(), kubeconfig.clone(), fake_cache.clone());
        move |args: Vec<String>| {
            let (kubectl, kubeconfig, cache) = (kubectl.clone(), kubeconfig.clone(), cache.clone());
            tokio::task::spawn_blocking(move || {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                run_kubectl(&kubectl, &kubeconfig, &cache, &args).map_err(|e| e.to_string())
            })
        }
    };
    let args = |s: &str| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>();

    let got = run(args(&format!("get po,ns,cm,deploy -n {namespace}"))).await??;
    assert!(got.contains("pod/p1"), "{got}");
    assert!(got.contains("namespace/discovery-kubectl"), "{got}");
    assert!(got.contains("configmap/c1"), "{got}");
    assert!(got.contains("deployment.apps/d1"), "{got}");
    let all = run(args(&format!("get all -n {namespace}"))).await??;
    assert!(
        all.contains("pod/p1") && all.contains("deployment.apps/d1"),
        "{all}"
    );
    assert!(!all.contains("configmap"), "{all}");
    let wide = run(args(&format!("get pods -o wide -n {namespace}"))).await??;
    assert_eq!(
        without_ages(&wide),
        "NAME READY STATUS RESTARTS AGE IP NODE NOMINATED NODE READINESS GATES\np1 0/1 Pending 0 AGE <none> n1 <none> <none>"
    );
    let resources = run(args("api-resources")).await??;
    for line in [
        "pods po v1 true Pod",
        "deployments deploy apps/v1 true Deployment",
        "customresourcedefinitions crd,crds apiextensions.k8s.io/v1 false CustomResourceDefinition",
        "phjobs primehub.io/v1alpha1 true PhJob",
    ] {
        assert!(
            without_ages(&resources).lines().any(|l| l == line),
            "{line} in {resources}"
        );
    }

    // The same requests against the real kube-apiserver print the same.
    if let Some(real) = std::env::var_os("PRIMEHUB_TEST_KUBECONFIG").filter(|v| !v.is_empty()) {
        let real = std::path::PathBuf::from(real);
        let real_namespace = format!(
            "discovery-kubectl-{}",
            &uuid::Uuid::new_v4().to_string()[..8]
        );
        let real_cache = dir.join("cache-real");
        let on_real = {
            let (kubectl, real, cache) = (kubectl.clone(), real.clone(), real_cache.clone());
            move |args: Vec<String>| {
                let (kubectl, real, cache) = (kubectl.clone(), real.clone(), cache.clone());
                tokio::task::spawn_blocking(move || {
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    run_kubectl(&kubectl, &real, &cache, &args).map_err(|e| e.to_string())
                })
            }
        };
        on_real(args(&format!("create namespace {real_namespace}"))).await??;
        let manifests = dir.join("objects.json");
        let items: Vec<Value> = kubectl_objects(&real_namespace)
            .into_iter()
            .map(|(_, v)| v)
            .collect();
        std::fs::write(
            &manifests,
            json!({"apiVersion": "v1", "kind": "List", "items": items}).to_string(),
        )?;
        let created = on_real(vec![
            "create".into(),
            "-n".into(),
            real_namespace.clone(),
            "-f".into(),
            manifests.display().to_string(),
        ])
        .await?;
        let mut compared = Ok(());
        if let Err(e) = created {
            compared = Err(e);
        } else {
            for what in [
                "get cm,sa,deploy,netpol -o wide",
                "get deploy -o wide",
                "get netpol",
            ] {
                let fake = run(args(&format!("{what} -n {namespace}"))).await??;
                let real = on_real(args(&format!("{what} -n {real_namespace}"))).await??;
                // kube-root-ca.crt and the default service account are the controller-manager's
                // (not running on the test server): drop them from both.
                let keep = |t: &str| {
                    without_ages(t)
                        .lines()
                        .filter(|l| {
                            !l.contains("kube-root-ca") && !l.starts_with("serviceaccount/default")
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                };
                if keep(&fake) != keep(&real) {
                    compared = Err(format!("{what}: fake\n{fake}\nreal\n{real}"));
                    break;
                }
            }
            let real_resources = on_real(args("api-resources")).await??;
            for line in without_ages(&resources).lines().skip(1) {
                if !without_ages(&real_resources).lines().any(|l| l == line) {
                    compared = Err(format!(
                        "api-resources line {line:?} not on the real server"
                    ));
                }
            }
        }
        let _ = on_real(args(&format!(
            "delete namespace {real_namespace} --wait=false"
        )))
        .await;
        if let Err(e) = compared {
            return Err(e.into());
        }
    } else {
        eprintln!(
            "\n*** SKIPPED: the comparison with a real kube-apiserver (PRIMEHUB_TEST_KUBECONFIG not set) ***\n"
        );
    }
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// kube-apiserver reads `watch` (and every boolean query flag) as Go's bool conversion does:
/// anything but `0` and `false` in any case. kubernetes_asyncio, which KubeSpawner uses, sends
/// `watch=True`; a fake that answered it with a list made KubeSpawner's reflector re-list in a
/// loop. Confirmed on the real server by `tests/compat` scenario `watch-flag-spellings`.
#[tokio::test]
async fn the_watch_flag_is_read_as_go_reads_booleans() -> TestResult {
    let (cluster, _clock) = clocked()?;
    create(
        &cluster,
        "/api/v1/namespaces/hub/configmaps",
        json!({"metadata": {"name": "a"}}),
    )
    .await?;
    for (value, watches) in [
        ("True", true),
        ("TRUE", true),
        ("yes", true),
        ("", true),
        ("0", false),
        ("FALSE", false),
        ("false", false),
    ] {
        let request = Request::builder()
            .uri(format!(
                "/api/v1/namespaces/hub/configmaps?watch={value}&timeoutSeconds=1"
            ))
            .body(Body::empty())?;
        let response = cluster.router().oneshot(request).await?;
        assert_eq!(response.status(), StatusCode::OK, "watch={value}");
        let body = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            axum::body::to_bytes(response.into_body(), usize::MAX),
        )
        .await??;
        let first: Value = serde_json::from_str(
            std::str::from_utf8(&body)?
                .lines()
                .next()
                .ok_or("an empty answer")?,
        )?;
        if watches {
            assert_eq!(first["type"], "ADDED", "watch={value} starts a watch");
        } else {
            assert_eq!(first["kind"], "ConfigMapList", "watch={value} lists");
        }
    }
    Ok(())
}
