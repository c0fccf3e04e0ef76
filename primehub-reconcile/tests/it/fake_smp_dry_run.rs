//! Strategic merge patches and dry runs over the fake cluster's HTTP face, with the exact
//! requests kubectl 1.33 and the Python Kubernetes client send (taken with `kubectl -v=9`
//! against kube-apiserver v1.37, whose answers the assertions repeat).

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures::StreamExt;
use kube::api::DynamicObject;
use kube::core::admission::{AdmissionRequest, AdmissionResponse};
use primehub_reconcile::admission::AdmissionHandler;
use primehub_reconcile::fake::{FakeCluster, FakeServer};
use serde_json::{Value, json};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const SMP: &str = "application/strategic-merge-patch+json";

struct Http {
    _server: FakeServer,
    base: String,
    client: reqwest::Client,
}

impl Http {
    async fn start(cluster: &FakeCluster) -> Result<Http, Box<dyn std::error::Error>> {
        let server = cluster.serve(tokio::net::TcpListener::bind("127.0.0.1:0").await?)?;
        let base = server.url().trim_end_matches('/').to_owned();
        Ok(Http {
            _server: server,
            base,
            client: primehub_keycloak::transport::build_http_client(
                std::time::Duration::from_secs(30),
            )?,
        })
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        content_type: &str,
        body: &str,
    ) -> Result<(u16, Value), Box<dyn std::error::Error>> {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("Accept", "application/json");
        if !body.is_empty() {
            request = request
                .header("Content-Type", content_type)
                .body(body.to_owned());
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    async fn post(
        &self,
        path: &str,
        body: &Value,
    ) -> Result<(u16, Value), Box<dyn std::error::Error>> {
        self.send(
            reqwest::Method::POST,
            path,
            "application/json",
            &body.to_string(),
        )
        .await
    }

    async fn patch(
        &self,
        path: &str,
        content_type: &str,
        body: &str,
    ) -> Result<(u16, Value), Box<dyn std::error::Error>> {
        self.send(reqwest::Method::PATCH, path, content_type, body)
            .await
    }

    async fn get(&self, path: &str) -> Result<(u16, Value), Box<dyn std::error::Error>> {
        self.send(reqwest::Method::GET, path, "", "").await
    }
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .map(|l| l.iter().filter_map(|c| c["name"].as_str()).collect())
        .unwrap_or_default()
}

/// `kubectl apply -f d1.yaml`, then `kubectl apply -f d2.yaml` with finalizers, strategy,
/// container order, image, env, ports and volumes changed: the second apply's body, verbatim.
const KUBECTL_APPLY_SECOND: &str = r#"{"metadata":{"$deleteFromPrimitiveList/finalizers":["a.io/x"],"$setElementOrder/finalizers":["b.io/y","c.io/z"],"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{}\n"},"finalizers":["c.io/z"]},"spec":{"strategy":{"$retainKeys":["type"],"rollingUpdate":null,"type":"Recreate"},"template":{"spec":{"$setElementOrder/containers":[{"name":"side"},{"name":"main"}],"$setElementOrder/volumes":[{"name":"v2"}],"containers":[{"image":"busybox:2","name":"side"},{"$setElementOrder/env":[{"name":"C"},{"name":"A"}],"$setElementOrder/ports":[{"containerPort":80}],"env":[{"name":"C","value":"3"},{"$patch":"delete","name":"B"}],"image":"nginx:2","name":"main","ports":[{"$patch":"delete","containerPort":443}]}],"volumes":[{"configMap":{"name":"cm"},"name":"v2"},{"$patch":"delete","name":"v1"}]}}}}"#;

#[tokio::test]
async fn a_second_kubectl_apply_of_a_changed_deployment_merges_as_kube_apiserver() -> TestResult {
    let cluster = FakeCluster::new();
    let http = Http::start(&cluster).await?;
    let deployments = "/apis/apps/v1/namespaces/hub/deployments";
    let (code, _) = http
        .post(
            deployments,
            &json!({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "finalizers": ["a.io/x", "b.io/y"]},
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": {"app": "web"}},
                    "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
                    "template": {
                        "metadata": {"labels": {"app": "web"}},
                        "spec": {
                            "containers": [
                                {"name": "main", "image": "nginx:1",
                                 "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                                 "ports": [{"containerPort": 80}, {"containerPort": 443}]},
                                {"name": "side", "image": "busybox"},
                            ],
                            "volumes": [{"name": "v1", "emptyDir": {}}],
                        },
                    },
                },
            }),
        )
        .await?;
    assert_eq!(code, 201);
    let (code, patched) = http
        .patch(
            &format!(
                "{deployments}/web?fieldManager=kubectl-client-side-apply&fieldValidation=Strict"
            ),
            SMP,
            KUBECTL_APPLY_SECOND,
        )
        .await?;
    assert_eq!(code, 200, "{patched}");
    assert_eq!(
        patched["metadata"]["finalizers"],
        json!(["b.io/y", "c.io/z"])
    );
    assert_eq!(patched["spec"]["strategy"], json!({"type": "Recreate"}));
    let spec = &patched["spec"]["template"]["spec"];
    assert_eq!(
        spec["containers"],
        json!([
            {"name": "side", "image": "busybox:2", "imagePullPolicy": "Always", "resources": {},
             "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"},
            {"name": "main", "image": "nginx:2", "imagePullPolicy": "IfNotPresent", "resources": {},
             "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
             "env": [{"name": "C", "value": "3"}, {"name": "A", "value": "1"}],
             "ports": [{"containerPort": 80, "protocol": "TCP"}]},
        ])
    );
    assert_eq!(
        spec["volumes"],
        json!([{"name": "v2", "configMap": {"name": "cm", "defaultMode": 420}}])
    );
    // No directive is stored.
    assert!(!patched.to_string().contains("\"$"), "{patched}");
    Ok(())
}

async fn two_container_pod(http: &Http) -> TestResult {
    let (code, body) = http
        .post(
            "/api/v1/namespaces/hub/pods",
            &json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "p", "labels": {"app": "web"}},
                "spec": {"containers": [
                    {"name": "main", "image": "nginx:1", "env": [{"name": "A", "value": "1"}]},
                    {"name": "side", "image": "busybox"},
                ]},
            }),
        )
        .await?;
    assert_eq!(code, 201, "{body}");
    Ok(())
}

/// `kubectl patch pod p -p '{"spec":{"containers":[{"name":"main","image":"nginx:2"}]}}'`
/// (strategic by default) changes one container and keeps the other.
#[tokio::test]
async fn a_default_kubectl_patch_merges_containers_by_name() -> TestResult {
    let cluster = FakeCluster::new();
    let http = Http::start(&cluster).await?;
    two_container_pod(&http).await?;
    let (code, patched) = http
        .patch(
            "/api/v1/namespaces/hub/pods/p?fieldManager=kubectl-patch",
            SMP,
            r#"{"spec":{"containers":[{"name":"main","image":"nginx:2"}]}}"#,
        )
        .await?;
    assert_eq!(code, 200, "{patched}");
    let containers = &patched["spec"]["containers"];
    assert_eq!(names(containers), ["main", "side"]);
    assert_eq!(containers[0]["image"], "nginx:2");
    assert_eq!(containers[0]["env"], json!([{"name": "A", "value": "1"}]));
    Ok(())
}

/// The Python client's `patch_namespaced_pod(name, ns, body)` with a dict body sends a
/// strategic merge patch (`json.dumps` spacing).
#[tokio::test]
async fn the_python_clients_default_patch_is_strategic() -> TestResult {
    let cluster = FakeCluster::new();
    let http = Http::start(&cluster).await?;
    two_container_pod(&http).await?;
    let (code, patched) = http
        .patch(
            "/api/v1/namespaces/hub/pods/p",
            SMP,
            r#"{"metadata": {"labels": {"tier": "front"}}, "spec": {"containers": [{"name": "side", "image": "busybox:2"}]}}"#,
        )
        .await?;
    assert_eq!(code, 200, "{patched}");
    assert_eq!(
        patched["metadata"]["labels"],
        json!({"app": "web", "tier": "front"})
    );
    assert_eq!(names(&patched["spec"]["containers"]), ["main", "side"]);
    assert_eq!(
        patched["spec"]["containers"][1],
        json!({"name": "side", "image": "busybox:2", "imagePullPolicy": "Always", "resources": {},
               "terminationMessagePath": "/dev/termination-log",
               "terminationMessagePolicy": "File"})
    );
    Ok(())
}

#[tokio::test]
async fn strategic_patch_errors_and_custom_resources_answer_as_kube_apiserver() -> TestResult {
    let cluster = FakeCluster::new();
    let http = Http::start(&cluster).await?;
    two_container_pod(&http).await?;
    let pod = "/api/v1/namespaces/hub/pods/p";
    let (code, status) = http
        .patch(pod, SMP, r#"{"spec":{"containers":[{"image":"x"}]}}"#)
        .await?;
    assert_eq!(code, 500);
    assert_eq!(
        status,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": "map: map[image:x] does not contain declared merge key: name",
               "code": 500})
    );
    let (code, status) = http
        .patch(
            pod,
            SMP,
            r#"{"spec":{"$retainKeys":["foo"],"containers":[]}}"#,
        )
        .await?;
    assert_eq!((code, status["reason"].as_str()), (400, Some("BadRequest")));
    assert_eq!(status["message"], "invalid patch format of retainKeys");
    let (code, status) = http.patch(pod, "application/bogus", "{}").await?;
    assert_eq!(
        (code, status["reason"].as_str()),
        (415, Some("UnsupportedMediaType"))
    );
    assert_eq!(status["message"], "415: Unsupported Media Type");

    // A custom resource takes no strategic merge patch: 415, whether or not it exists, so
    // that clients fall back to a merge patch.
    let crd_415 = "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml";
    for name in ["missing", "job-1"] {
        if name == "job-1" {
            let (code, _) = http
                .post(
                    "/apis/primehub.io/v1alpha1/namespaces/hub/phjobs",
                    &json!({"apiVersion": "primehub.io/v1alpha1", "kind": "PhJob",
                            "metadata": {"name": "job-1"},
                            "spec": {"command": "echo", "displayName": "J", "groupId": "gid",
                                     "groupName": "g1", "image": "base", "instanceType": "cpu-1",
                                     "userId": "uid", "userName": "alice"}}),
                )
                .await?;
            assert_eq!(code, 201);
        }
        let (code, status) = http
            .patch(
                &format!("/apis/primehub.io/v1alpha1/namespaces/hub/phjobs/{name}"),
                SMP,
                r#"{"metadata":{"labels":{"a":"b"}}}"#,
            )
            .await?;
        assert_eq!(
            (code, status["reason"].as_str()),
            (415, Some("UnsupportedMediaType"))
        );
        assert_eq!(status["message"], crd_415);
    }
    Ok(())
}

/// Counts the admission reviews it sees, and whether they were dry runs.
#[derive(Default)]
struct Seen(Mutex<Vec<(String, bool)>>);

#[async_trait]
impl AdmissionHandler for Seen {
    fn name(&self) -> &str {
        "seen.primehub.io"
    }

    async fn review(&self, request: &AdmissionRequest<DynamicObject>) -> AdmissionResponse {
        if let Ok(mut seen) = self.0.lock() {
            seen.push((format!("{:?}", request.operation), request.dry_run));
        }
        AdmissionResponse::from(request)
    }
}

#[tokio::test]
async fn dry_runs_answer_as_kube_apiserver_and_change_nothing() -> TestResult {
    let cluster = FakeCluster::new();
    let seen = Arc::new(Seen::default());
    cluster.add_admission_handler(seen.clone());
    let http = Http::start(&cluster).await?;
    let maps = "/api/v1/namespaces/hub/configmaps";
    let (code, _) = http
        .post(
            maps,
            &json!({"metadata": {"name": "kept", "labels": {"l": "1"}}, "data": {"a": "b"}}),
        )
        .await?;
    assert_eq!(code, 201);
    let (_, before) = http.get(&format!("{maps}/kept")).await?;
    let rv = cluster.resource_version();
    let watched: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(cluster.client(), "hub");
    let mut events = watched
        .watch(&kube::api::WatchParams::default().timeout(1), &rv)
        .await?
        .boxed();

    // Create: a generated name, uid and creationTimestamp, but no resourceVersion.
    let (code, created) = http
        .post(
            &format!("{maps}?dryRun=All"),
            &json!({"metadata": {"generateName": "cm-"}, "data": {"a": "b"}}),
        )
        .await?;
    assert_eq!(code, 201, "{created}");
    let name = created["metadata"]["name"].as_str().unwrap_or_default();
    assert!(name.starts_with("cm-") && name.len() == 8, "{name}");
    assert!(created["metadata"]["uid"].is_string());
    assert!(created["metadata"]["creationTimestamp"].is_string());
    assert!(
        created["metadata"].get("resourceVersion").is_none(),
        "{created}"
    );
    assert_eq!(http.get(&format!("{maps}/{name}")).await?.0, 404);

    // Update and patch: the new content with the old resourceVersion; nothing stored.
    let (code, replaced) = http
        .send(
            reqwest::Method::PUT,
            &format!("{maps}/kept?dryRun=All"),
            "application/json",
            &json!({"metadata": {"name": "kept"}, "data": {"a": "c"}}).to_string(),
        )
        .await?;
    assert_eq!(code, 200, "{replaced}");
    assert_eq!(replaced["data"], json!({"a": "c"}));
    assert_eq!(
        replaced["metadata"]["resourceVersion"],
        before["metadata"]["resourceVersion"]
    );
    for (content_type, body) in [
        ("application/merge-patch+json", r#"{"data":{"a":"d"}}"#),
        (SMP, r#"{"data":{"a":"d"}}"#),
        (
            "application/json-patch+json",
            r#"[{"op":"replace","path":"/data/a","value":"d"}]"#,
        ),
    ] {
        let (code, patched) = http
            .patch(&format!("{maps}/kept?dryRun=All"), content_type, body)
            .await?;
        assert_eq!(code, 200, "{content_type}: {patched}");
        assert_eq!(patched["data"], json!({"a": "d"}));
        assert_eq!(
            patched["metadata"]["resourceVersion"],
            before["metadata"]["resourceVersion"]
        );
    }

    // Delete and deletecollection: answered, nothing deleted.
    let (code, _) = http
        .send(
            reqwest::Method::DELETE,
            &format!("{maps}/kept?dryRun=All"),
            "",
            "",
        )
        .await?;
    assert_eq!(code, 200);
    let (code, listed) = http
        .send(
            reqwest::Method::DELETE,
            &format!("{maps}?dryRun=All&labelSelector=l%3D1"),
            "",
            "",
        )
        .await?;
    assert_eq!(code, 200);
    assert_eq!(listed["items"][0]["metadata"]["name"], "kept");

    assert_eq!(http.get(&format!("{maps}/kept")).await?.1, before);
    assert_eq!(
        cluster.resource_version(),
        rv,
        "a dry run bumped the resourceVersion"
    );
    if let Some(event) = events.next().await {
        panic!("a dry run emitted {:?}", event?);
    }

    // Admission saw every dry-run write as one.
    let seen = seen.0.lock().map(|s| s.clone()).unwrap_or_default();
    assert_eq!(
        seen,
        [
            ("Create".to_owned(), false),
            ("Create".to_owned(), true),
            ("Update".to_owned(), true),
            ("Update".to_owned(), true),
            ("Update".to_owned(), true),
            ("Update".to_owned(), true),
        ]
    );
    Ok(())
}

#[tokio::test]
async fn an_unknown_dry_run_value_is_refused_as_kube_apiserver_refuses_it() -> TestResult {
    let cluster = FakeCluster::new();
    let http = Http::start(&cluster).await?;
    let maps = "/api/v1/namespaces/hub/configmaps";
    let (code, status) = http
        .post(
            &format!("{maps}?dryRun=Bogus"),
            &json!({"metadata": {"name": "x"}}),
        )
        .await?;
    assert_eq!(code, 422);
    assert_eq!(
        status,
        json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "CreateOptions.meta.k8s.io \"\" is invalid: dryRun: Unsupported value: [\"Bogus\"]: supported values: \"All\"",
            "reason": "Invalid",
            "details": {"group": "meta.k8s.io", "kind": "CreateOptions", "causes": [{
                "reason": "FieldValueNotSupported",
                "message": "Unsupported value: [\"Bogus\"]: supported values: \"All\"",
                "field": "dryRun",
            }]},
            "code": 422,
        })
    );
    let (code, status) = http
        .send(
            reqwest::Method::DELETE,
            &format!("{maps}/x?dryRun=All&dryRun=Bogus"),
            "",
            "",
        )
        .await?;
    assert_eq!(code, 422);
    assert_eq!(
        status["message"],
        "DeleteOptions.meta.k8s.io \"\" is invalid: dryRun: Unsupported value: [\"All\",\"Bogus\"]: supported values: \"All\""
    );
    // Several `All`s are one dry run.
    let (code, _) = http
        .post(
            &format!("{maps}?dryRun=All&dryRun=All"),
            &json!({"metadata": {"name": "x"}}),
        )
        .await?;
    assert_eq!(code, 201);
    assert_eq!(http.get(&format!("{maps}/x")).await?.0, 404);
    Ok(())
}
