//! The fake cluster's HTTP face reads request bodies, media types, field selectors and label
//! syntax as kube-apiserver does (each expectation was checked against a real v1.37 server).

use primehub_reconcile::fake::{FakeCluster, FakeServer};
use serde_json::{Value, json};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// What `kubectl create deployment d4 --image=busybox -n bodies-a` (kubectl 1.33) sends: the
/// protobuf body from `-v=9`.
const KUBECTL_DEPLOYMENT: &str = "6b3873000a150a07617070732f7631120a4465706c6f796d656e7412b3010a250a02643412001a08626f646965732d6122002a003200380042005a090a0361707012026434127c0801120b0a090a03617070120264341a630a1b0a0012001a0022002a003200380042005a090a0361707012026434124412260a0762757379626f78120762757379626f782a0042006a007200800100880100900100a201001a00320042004a0052005800600068008201008a01009a0100c2010022020a00280038001a0c0800100018002000280038001a002200";
/// `kubectl create secret generic s1 --from-literal=a=b -n bodies-a`.
const KUBECTL_SECRET: &str = "6b3873000a0c0a027631120653656372657412260a1a0a02733112001a08626f646965732d6122002a0032003800420012060a01611201621a001a002200";
/// `kubectl create service clusterip svc1 --tcp=80:8080 -n bodies-a`.
const KUBECTL_SERVICE: &str = "6b3873000a0d0a02763112075365727669636512740a290a047376633112001a08626f646965732d6122002a003200380042005a0b0a0361707012047376633112430a1b0a0738302d38303830120354435018502207080010903f1a002800120b0a036170701204737663311a002209436c757374657249503a00420052005a00600068001a020a001a002200";

const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

struct Fake {
    _cluster: FakeCluster,
    server: FakeServer,
    http: reqwest::Client,
}

impl Fake {
    async fn start() -> Result<Fake, Box<dyn std::error::Error>> {
        let cluster = FakeCluster::new();
        let server = cluster.serve(tokio::net::TcpListener::bind("127.0.0.1:0").await?)?;
        let fake = Fake {
            _cluster: cluster,
            server,
            http: primehub_keycloak::transport::build_http_client(std::time::Duration::from_secs(
                30,
            ))?,
        };
        let (code, _) = fake
            .send(
                reqwest::Method::POST,
                "/api/v1/namespaces",
                "application/json",
                br#"{"metadata":{"name":"bodies-a"}}"#.to_vec(),
            )
            .await?;
        assert_eq!(code, 201);
        Ok(fake)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.url().trim_end_matches('/'))
    }

    /// Sends `body` with `content_type`; the status code and the JSON answer (`Null` if the
    /// answer is not JSON — which no answer of the fake may be).
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<(u16, Value), Box<dyn std::error::Error>> {
        let response = self
            .http
            .request(method, self.url(path))
            .header("Content-Type", content_type)
            .header(
                "Accept",
                "application/vnd.kubernetes.protobuf,application/json",
            )
            .body(body)
            .send()
            .await?;
        let code = response.status().as_u16();
        let json: Value = serde_json::from_slice(&response.bytes().await?)?;
        Ok((code, json))
    }

    async fn get(&self, path: &str) -> Result<(u16, Value), Box<dyn std::error::Error>> {
        let response = self.http.get(self.url(path)).send().await?;
        let code = response.status().as_u16();
        Ok((code, serde_json::from_slice(&response.bytes().await?)?))
    }
}

fn strip_server_fields(mut object: Value) -> Value {
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        for field in ["uid", "resourceVersion", "creationTimestamp", "generation"] {
            meta.remove(field);
        }
    }
    object
}

#[tokio::test]
async fn kubectl_protobuf_creates_store_what_go_would_write() -> TestResult {
    let fake = Fake::start().await?;
    let (code, created) = fake
        .send(
            reqwest::Method::POST,
            "/apis/apps/v1/namespaces/bodies-a/deployments",
            PROTOBUF,
            unhex(KUBECTL_DEPLOYMENT),
        )
        .await?;
    assert_eq!(code, 201, "{created}");
    assert_eq!(
        strip_server_fields(created),
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "d4", "namespace": "bodies-a", "labels": {"app": "d4"}},
            // The decoded body, with kube-apiserver's defaults on top (as it stores it).
            "spec": {
                "progressDeadlineSeconds": 600,
                "replicas": 1,
                "revisionHistoryLimit": 10,
                "selector": {"matchLabels": {"app": "d4"}},
                "strategy": {
                    "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
                    "type": "RollingUpdate",
                },
                "template": {
                    "metadata": {"labels": {"app": "d4"}},
                    "spec": {
                        "containers": [{
                            "name": "busybox", "image": "busybox", "imagePullPolicy": "Always",
                            "resources": {}, "terminationMessagePath": "/dev/termination-log",
                            "terminationMessagePolicy": "File",
                        }],
                        "dnsPolicy": "ClusterFirst",
                        "restartPolicy": "Always",
                        "schedulerName": "default-scheduler",
                        "securityContext": {},
                        "terminationGracePeriodSeconds": 30,
                    },
                },
            },
            "status": {},
        })
    );

    // Secret data are bytes: base64 in JSON.
    let (code, secret) = fake
        .send(
            reqwest::Method::POST,
            "/api/v1/namespaces/bodies-a/secrets",
            PROTOBUF,
            unhex(KUBECTL_SECRET),
        )
        .await?;
    assert_eq!(code, 201, "{secret}");
    assert_eq!(secret["data"], json!({"a": "Yg=="}));

    // A Service: targetPort is an IntOrString.
    let (code, service) = fake
        .send(
            reqwest::Method::POST,
            "/api/v1/namespaces/bodies-a/services",
            PROTOBUF,
            unhex(KUBECTL_SERVICE),
        )
        .await?;
    assert_eq!(code, 201, "{service}");
    assert_eq!(
        service["spec"]["ports"],
        json!([{"name": "80-8080", "port": 80, "protocol": "TCP", "targetPort": 8080}])
    );

    // A body that is not protobuf: kube-apiserver's 400.
    let (code, status) = fake
        .send(
            reqwest::Method::POST,
            "/api/v1/namespaces/bodies-a/configmaps",
            PROTOBUF,
            b"x".to_vec(),
        )
        .await?;
    assert_eq!(code, 400);
    assert_eq!(
        status["message"],
        "the object provided is unrecognized (must be of type ConfigMap): provided data does not appear to be a protobuf message, expected prefix [107 56 115 0] (78)"
    );
    // A protobuf Deployment posted as a ConfigMap.
    let (code, status) = fake
        .send(
            reqwest::Method::POST,
            "/api/v1/namespaces/bodies-a/configmaps",
            PROTOBUF,
            unhex(KUBECTL_DEPLOYMENT),
        )
        .await?;
    assert_eq!(code, 400, "{status}");
    fake.server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn media_types_are_negotiated_as_kube_apiserver_does() -> TestResult {
    let fake = Fake::start().await?;
    let cms = "/api/v1/namespaces/bodies-a/configmaps";

    // YAML on create and update.
    let yaml = b"metadata:\n  name: y1\ndata:\n  a: \"1\"\n".to_vec();
    let (code, created) = fake
        .send(reqwest::Method::POST, cms, "application/yaml", yaml)
        .await?;
    assert_eq!((code, &created["data"]), (201, &json!({"a": "1"})));
    let yaml = b"metadata:\n  name: y1\ndata:\n  a: \"2\"\n".to_vec();
    let (code, updated) = fake
        .send(
            reqwest::Method::PUT,
            &format!("{cms}/y1"),
            "application/yaml",
            yaml,
        )
        .await?;
    assert_eq!((code, &updated["data"]), (200, &json!({"a": "2"})));

    // Unknown content types: 415 with the real message.
    let accepted = "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf";
    for method in [reqwest::Method::POST, reqwest::Method::PUT] {
        let path = if method == reqwest::Method::POST {
            cms.to_owned()
        } else {
            format!("{cms}/y1")
        };
        let (code, status) = fake
            .send(method, &path, "text/plain", b"{}".to_vec())
            .await?;
        assert_eq!(code, 415);
        assert_eq!(status["reason"], "UnsupportedMediaType");
        assert_eq!(status["message"], accepted);
    }
    // Custom resources: other types are refused with the same message; protobuf is not
    // decoded for them.
    let (code, status) = fake
        .send(
            reqwest::Method::POST,
            "/apis/primehub.io/v1alpha1/namespaces/bodies-a/phjobs",
            "text/plain",
            b"{}".to_vec(),
        )
        .await?;
    assert_eq!((code, &status["message"]), (415, &json!(accepted)));
    let (code, status) = fake
        .send(
            reqwest::Method::POST,
            "/apis/primehub.io/v1alpha1/namespaces/bodies-a/phjobs",
            PROTOBUF,
            unhex(KUBECTL_SECRET),
        )
        .await?;
    assert_eq!(code, 415);
    assert_eq!(
        status["message"],
        "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml"
    );

    // Empty and malformed JSON.
    let (code, status) = fake
        .send(reqwest::Method::POST, cms, "application/json", Vec::new())
        .await?;
    assert_eq!(code, 400);
    assert_eq!(
        status["message"],
        "the object provided is unrecognized (must be of type ConfigMap): couldn't get version/kind; json parse error: unexpected end of JSON input (<empty>)"
    );
    // No Content-Type is JSON.
    let (code, _) = fake
        .send(
            reqwest::Method::POST,
            cms,
            "",
            br#"{"metadata":{"name":"x1"}}"#.to_vec(),
        )
        .await?;
    assert_eq!(code, 201);
    // Another kind in the body.
    let (code, status) = fake
        .send(
            reqwest::Method::POST,
            cms,
            "application/json",
            br#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"wk"}}"#.to_vec(),
        )
        .await?;
    assert_eq!(code, 400);
    assert_eq!(
        status["message"],
        "Secret in version \"v1\" cannot be handled as a ConfigMap: converting (v1.Secret) to (core.ConfigMap): unknown conversion"
    );

    // Accept: protobuf only is refused (the fake writes JSON); kubectl's list gets JSON.
    let response = fake
        .http
        .get(fake.url(cms))
        .header("Accept", PROTOBUF)
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 406);
    let status: Value = serde_json::from_slice(&response.bytes().await?)?;
    assert_eq!(status["reason"], "NotAcceptable");
    let response = fake
        .http
        .get(fake.url(cms))
        .header(
            "Accept",
            "application/vnd.kubernetes.protobuf,application/json",
        )
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 200);
    fake.server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn bodies_up_to_3_mib_are_read_and_longer_ones_refused() -> TestResult {
    let fake = Fake::start().await?;
    let limit = 3 * 1024 * 1024;
    let padded = |name: &str, size: usize| {
        let mut body = format!(r#"{{"metadata":{{"name":"{name}"}}}}"#).into_bytes();
        body.resize(size, b' ');
        body
    };
    let cms = "/api/v1/namespaces/bodies-a/configmaps";
    let (code, _) = fake
        .send(
            reqwest::Method::POST,
            cms,
            "application/json",
            padded("exact", limit),
        )
        .await?;
    assert_eq!(code, 201);
    for (method, path) in [
        (reqwest::Method::POST, cms.to_owned()),
        (reqwest::Method::PUT, format!("{cms}/exact")),
        (reqwest::Method::PATCH, format!("{cms}/exact")),
        (reqwest::Method::DELETE, format!("{cms}/exact")),
    ] {
        let content_type = if method == reqwest::Method::PATCH {
            "application/merge-patch+json"
        } else {
            "application/json"
        };
        let (code, status) = fake
            .send(
                method.clone(),
                &path,
                content_type,
                padded("exact", limit + 1),
            )
            .await?;
        assert_eq!(code, 413, "{method}");
        assert_eq!(
            status,
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                   "message": "Request entity too large: limit is 3145728",
                   "reason": "RequestEntityTooLarge", "code": 413})
        );
    }
    // Still there: the refused delete did nothing.
    assert_eq!(fake.get(&format!("{cms}/exact")).await?.0, 200);
    fake.server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn field_selectors_take_only_the_kinds_field_labels() -> TestResult {
    let fake = Fake::start().await?;
    let refused = |path: String, label: &'static str| {
        let fake = &fake;
        async move {
            let (code, status) = fake.get(&path).await?;
            assert_eq!(code, 400, "{path}");
            // ConfigMaps (no field labels of their own) word it as the default conversion does.
            let expected = if path.contains("/configmaps") {
                format!(
                    "{label:?} is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
                )
            } else {
                format!("field label not supported: {label}")
            };
            assert_eq!(status["message"], expected, "{path}");
            Ok::<_, Box<dyn std::error::Error>>(())
        }
    };
    // Lists, watches; the first unsupported label in sorted order is reported.
    refused(
        "/api/v1/namespaces/bodies-a/pods?fieldSelector=spec.foo%3Dx,spec.bar%3Dy".into(),
        "spec.bar",
    )
    .await?;
    refused(
        "/api/v1/namespaces/bodies-a/configmaps?watch=1&fieldSelector=data.a%3Dx".into(),
        "data.a",
    )
    .await?;
    refused(
        "/api/v1/namespaces?fieldSelector=metadata.namespace%3Dx".into(),
        "metadata.namespace",
    )
    .await?;
    refused(
        "/apis/events.k8s.io/v1/namespaces/bodies-a/events?fieldSelector=reportingComponent%3Dx"
            .into(),
        "reportingComponent",
    )
    .await?;
    refused(
        "/apis/primehub.io/v1alpha1/namespaces/bodies-a/phjobs?fieldSelector=spec.userName%3Dx"
            .into(),
        "spec.userName",
    )
    .await?;
    // Deletecollection refuses before deleting anything.
    let (code, status) = fake
        .send(
            reqwest::Method::DELETE,
            "/api/v1/namespaces/bodies-a/configmaps?fieldSelector=data.a%3Dx",
            "application/json",
            Vec::new(),
        )
        .await?;
    assert_eq!(
        (code, status["message"].as_str()),
        (
            400,
            Some(
                "\"data.a\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
            )
        )
    );

    // Supported labels select: pods by spec.nodeName (also as the legacy spec.host),
    // secrets by type, events.k8s.io events by regarding.name.
    for (path, body) in [
        (
            "/api/v1/namespaces/bodies-a/pods",
            json!({"metadata": {"name": "p1"}, "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "i"}]}}),
        ),
        (
            "/api/v1/namespaces/bodies-a/pods",
            json!({"metadata": {"name": "p2"}, "spec": {"nodeName": "n2", "containers": [{"name": "c", "image": "i"}]}}),
        ),
        (
            "/api/v1/namespaces/bodies-a/secrets",
            json!({"metadata": {"name": "s1"}, "type": "kubernetes.io/tls-x"}),
        ),
        (
            "/api/v1/namespaces/bodies-a/events",
            json!({"metadata": {"name": "e1"}, "involvedObject": {"kind": "Pod", "name": "p1"}, "reason": "R"}),
        ),
    ] {
        let (code, answer) = fake
            .send(
                reqwest::Method::POST,
                path,
                "application/json",
                serde_json::to_vec(&body)?,
            )
            .await?;
        assert_eq!(code, 201, "{answer}");
    }
    let names = |list: &Value| -> Vec<String> {
        list["items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| i["metadata"]["name"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    for (query, expected) in [
        (
            "/api/v1/namespaces/bodies-a/pods?fieldSelector=spec.nodeName%3Dn1",
            vec!["p1"],
        ),
        (
            "/api/v1/namespaces/bodies-a/pods?fieldSelector=spec.host%3D%3Dn2",
            vec!["p2"],
        ),
        (
            "/api/v1/namespaces/bodies-a/pods?fieldSelector=spec.nodeName%21%3Dn1",
            vec!["p2"],
        ),
        (
            "/api/v1/namespaces/bodies-a/secrets?fieldSelector=type%3Dkubernetes.io/tls-x",
            vec!["s1"],
        ),
        (
            "/apis/events.k8s.io/v1/namespaces/bodies-a/events?fieldSelector=regarding.name%3Dp1",
            vec!["e1"],
        ),
    ] {
        let (code, list) = fake.get(query).await?;
        assert_eq!(code, 200, "{query}: {list}");
        assert_eq!(names(&list), expected, "{query}");
    }
    // Malformed selectors.
    let (code, status) = fake
        .get("/api/v1/namespaces/bodies-a/pods?fieldSelector=spec.nodeName")
        .await?;
    assert_eq!(code, 400);
    assert_eq!(
        status["message"],
        "invalid selector: 'spec.nodeName'; can't understand 'spec.nodeName'"
    );
    fake.server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_crds_selectable_fields_are_field_labels() -> TestResult {
    let fake = Fake::start().await?;
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.bodies.example.com"},
        "spec": {
            "group": "bodies.example.com",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {"type": "object", "properties": {"color": {"type": "string"}}}}}},
                "selectableFields": [{"jsonPath": ".spec.color"}],
            }],
        },
    });
    let (code, answer) = fake
        .send(
            reqwest::Method::POST,
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            "application/json",
            serde_json::to_vec(&crd)?,
        )
        .await?;
    assert_eq!(code, 201, "{answer}");
    let widgets = "/apis/bodies.example.com/v1/namespaces/bodies-a/widgets";
    for (name, color) in [("red-one", "red"), ("blue-one", "blue")] {
        let body = json!({"apiVersion": "bodies.example.com/v1", "kind": "Widget", "metadata": {"name": name}, "spec": {"color": color}});
        let (code, _) = fake
            .send(
                reqwest::Method::POST,
                widgets,
                "application/json",
                serde_json::to_vec(&body)?,
            )
            .await?;
        assert_eq!(code, 201);
    }
    let (code, list) = fake
        .get(&format!("{widgets}?fieldSelector=spec.color%3Dred"))
        .await?;
    assert_eq!(code, 200);
    assert_eq!(list["items"][0]["metadata"]["name"], "red-one");
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
    let (code, status) = fake
        .get(&format!("{widgets}?fieldSelector=spec.size%3Dred"))
        .await?;
    assert_eq!(
        (code, status["message"].as_str()),
        (400, Some("field label not supported: spec.size"))
    );
    // Custom resources are unstructured: the kind is required.
    let (code, status) = fake
        .send(
            reqwest::Method::POST,
            widgets,
            "application/json",
            br#"{"metadata":{"name":"wk"}}"#.to_vec(),
        )
        .await?;
    assert_eq!(code, 400);
    assert_eq!(
        status["message"],
        r#"the object provided is unrecognized (must be of type Widget): Object 'Kind' is missing in '{"metadata":{"name":"wk"}}' ({"metadata":{"name":"wk"}})"#
    );
    fake.server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn label_and_annotation_syntax_is_validated_on_every_write() -> TestResult {
    let fake = Fake::start().await?;
    let cms = "/api/v1/namespaces/bodies-a/configmaps";
    // Name and labels in one answer, as kube-apiserver gives them.
    let (code, status) = fake
        .send(
            reqwest::Method::POST,
            cms,
            "application/json",
            br#"{"metadata":{"name":"BAD","labels":{"a":"b c"}}}"#.to_vec(),
        )
        .await?;
    assert_eq!(code, 422);
    let value_rule = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
    assert_eq!(
        status["message"],
        format!(
            "ConfigMap \"BAD\" is invalid: [metadata.name: Invalid value: \"BAD\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*'), metadata.labels: Invalid value: \"b c\": {value_rule}]"
        )
    );
    assert_eq!(
        status["details"]["causes"][1],
        json!({"field": "metadata.labels", "reason": "FieldValueInvalid", "message": format!("Invalid value: \"b c\": {value_rule}")})
    );

    // Patches are checked too; a valid one passes.
    let (code, _) = fake
        .send(
            reqwest::Method::POST,
            cms,
            "application/json",
            br#"{"metadata":{"name":"ok"}}"#.to_vec(),
        )
        .await?;
    assert_eq!(code, 201);
    let (code, status) = fake
        .send(
            reqwest::Method::PATCH,
            &format!("{cms}/ok"),
            "application/merge-patch+json",
            br#"{"metadata":{"annotations":{"a/b/c":"x"}}}"#.to_vec(),
        )
        .await?;
    assert_eq!(code, 422);
    assert_eq!(
        status["details"]["causes"][0]["field"],
        "metadata.annotations"
    );
    let (code, _) = fake
        .send(
            reqwest::Method::PATCH,
            &format!("{cms}/ok"),
            "application/merge-patch+json",
            br#"{"metadata":{"labels":{"example.com/tier":""},"annotations":{"Example.COM/Any":"any value !"}}}"#.to_vec(),
        )
        .await?;
    assert_eq!(code, 200);
    // Total annotation size.
    let big = json!({"metadata": {"annotations": {"a": "x".repeat(256 * 1024)}}});
    let (code, status) = fake
        .send(
            reqwest::Method::PATCH,
            &format!("{cms}/ok"),
            "application/merge-patch+json",
            serde_json::to_vec(&big)?,
        )
        .await?;
    assert_eq!(code, 422);
    assert_eq!(
        status["message"],
        "ConfigMap \"ok\" is invalid: metadata.annotations: Too long: may not be more than 262144 bytes"
    );
    fake.server.shutdown().await;
    Ok(())
}

/// kubectl (when installed) creates objects through its typed `create` subcommands — protobuf
/// bodies — and reads them back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_create_subcommands_work() -> TestResult {
    let kubectl = std::env::var("PRIMEHUB_TEST_KUBECTL").unwrap_or_else(|_| "kubectl".into());
    if std::process::Command::new(&kubectl)
        .args(["version", "--client"])
        .output()
        .is_err()
    {
        eprintln!("*** SKIPPED: kubectl is not installed (kubectl_create_subcommands_work) ***");
        return Ok(());
    }
    let fake = Fake::start().await?;
    let url = fake.server.url().to_owned();
    let cache = std::env::temp_dir().join(format!("kubectl-cache-{}", uuid::Uuid::new_v4()));
    let run = |args: Vec<String>| {
        let (url, cache, kubectl) = (url.clone(), cache.clone(), kubectl.clone());
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(kubectl)
                .arg(format!("--server={url}"))
                .arg(format!("--cache-dir={}", cache.display()))
                .args(["-n", "bodies-a"])
                .args(args)
                .output()
        })
    };
    let commands: &[&[&str]] = &[
        &["create", "configmap", "cm", "--from-literal=a=b"],
        &["create", "secret", "generic", "s", "--from-literal=a=b"],
        &["create", "namespace", "bodies-b"],
        &["create", "deployment", "d", "--image=nginx", "--replicas=0"],
        &["create", "service", "clusterip", "svc", "--tcp=80:8080"],
        &["create", "serviceaccount", "sa"],
        &["create", "role", "r", "--verb=get", "--resource=pods"],
        &["create", "rolebinding", "rb", "--role=r", "--user=alice"],
    ];
    for args in commands {
        let out = run(args.iter().map(|a| (*a).to_owned()).collect()).await??;
        assert!(
            out.status.success(),
            "kubectl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let (_, deployment) = fake
        .get("/apis/apps/v1/namespaces/bodies-a/deployments/d")
        .await?;
    assert_eq!(deployment["spec"]["replicas"], 0, "{deployment}");
    let (_, binding) = fake
        .get("/apis/rbac.authorization.k8s.io/v1/namespaces/bodies-a/rolebindings/rb")
        .await?;
    assert_eq!(
        binding["subjects"],
        json!([{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"}])
    );
    assert_eq!(
        binding["roleRef"],
        json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"})
    );
    let (_, role) = fake
        .get("/apis/rbac.authorization.k8s.io/v1/namespaces/bodies-a/roles/r")
        .await?;
    assert_eq!(
        role["rules"],
        json!([{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}])
    );
    let (code, _) = fake.get("/api/v1/namespaces/bodies-b").await?;
    assert_eq!(code, 200);
    let _ = std::fs::remove_dir_all(&cache);
    fake.server.shutdown().await;
    Ok(())
}
