//! The admission module: the `/mutate` route (tower `oneshot`, no socket) and the fake cluster
//! calling the same handler in process, with kube-apiserver's treatment of patches and denials.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::core::DynamicObject;
use primehub_reconcile::admission::{
    self, AdmissionHandler, AdmissionRequest, AdmissionResponse, AdmissionReview, Operation,
};
use primehub_reconcile::fake::FakeCluster;
use primehub_reconcile::{KubeApi, KubeError, PatchBody, ResourceKind, Subresource};
use serde_json::{Value, json};
use tower::ServiceExt;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Adds `admitted: yes` to pods, denies pods labelled `deny` (with the label's value as the
/// HTTP code when it is a number), and records what it saw.
#[derive(Default)]
struct PodPolicy {
    seen: Mutex<Vec<AdmissionRequest<DynamicObject>>>,
}

#[async_trait]
impl AdmissionHandler for PodPolicy {
    fn name(&self) -> &str {
        "pods.primehub.io"
    }

    fn handles(&self, resource: &kube::core::GroupVersionResource, _: &Operation) -> bool {
        resource.resource == "pods"
    }

    async fn review(&self, request: &AdmissionRequest<DynamicObject>) -> AdmissionResponse {
        if let Ok(mut seen) = self.seen.lock() {
            seen.push(request.clone());
        }
        let response = AdmissionResponse::from(request);
        let labels = request
            .object
            .as_ref()
            .and_then(|o| o.metadata.labels.clone())
            .unwrap_or_default();
        if let Some(code) = labels.get("deny") {
            let mut denied = response.deny("privileged pods are not allowed");
            denied.result.code = code.parse().unwrap_or(0);
            return denied;
        }
        let op = if labels.contains_key("bad-patch") {
            json!([{"op": "replace", "path": "/spec/nothing/here", "value": 1}])
        } else {
            json!([{"op": "add", "path": "/metadata/annotations", "value": {"admitted": "yes"}}])
        };
        match serde_json::from_value(op) {
            Ok(patch) => response.clone().with_patch(patch).unwrap_or(response),
            Err(_) => response,
        }
    }
}

fn review_body(uid: &str, object: Value) -> Value {
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": uid,
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "name": "p",
            "namespace": "hub",
            "operation": "CREATE",
            "userInfo": {"username": "phadmin"},
            "object": object,
            "oldObject": null,
            "dryRun": false,
        }
    })
}

async fn post(
    app: axum::Router,
    body: String,
) -> Result<(StatusCode, Value), Box<dyn std::error::Error>> {
    let response = app
        .oneshot(
            Request::post("/mutate")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body))?,
        )
        .await?;
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await?;
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Ok((status, value))
}

fn pod(labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "hub", "labels": labels}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
}

#[tokio::test]
async fn the_mutate_route_answers_an_admission_review() -> TestResult {
    let app = admission::router(Arc::new(PodPolicy::default()));

    let (status, body) = post(
        app.clone(),
        review_body("uid-1", pod(json!({}))).to_string(),
    )
    .await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(body["kind"], "AdmissionReview");
    let response = &body["response"];
    assert_eq!(response["uid"], "uid-1");
    assert_eq!(response["allowed"], true);
    assert_eq!(response["patchType"], "JSONPatch");
    let patch: Value = serde_json::from_slice(&patch_bytes(&response["patch"]))?;
    assert_eq!(patch[0]["path"], "/metadata/annotations");

    let (status, body) = post(
        app.clone(),
        review_body("uid-2", pod(json!({"deny": "422"}))).to_string(),
    )
    .await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["response"]["uid"], "uid-2");
    assert_eq!(body["response"]["allowed"], false);
    assert_eq!(body["response"]["status"]["code"], 422);
    assert_eq!(
        body["response"]["status"]["message"],
        "privileged pods are not allowed"
    );

    // A review without a request is answered, not allowed.
    let (status, body) = post(
        app.clone(),
        json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}).to_string(),
    )
    .await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["response"]["allowed"], false);

    // A body that is not an AdmissionReview is a client error.
    let (status, _) = post(app, "not json".into()).await?;
    assert!(status.is_client_error(), "{status}");
    Ok(())
}

/// The bytes of a `patch` field. It is `[]byte` in Go, which reads both forms: a base64 string
/// (what Go writes) and an array of numbers (what kube-rs writes).
fn patch_bytes(field: &Value) -> Vec<u8> {
    use base64::Engine;
    match field {
        Value::String(text) => base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap_or_default(),
        Value::Array(items) => items
            .iter()
            .filter_map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
            .collect(),
        _ => Vec::new(),
    }
}

#[tokio::test]
async fn review_copies_the_request_uid_into_the_response() {
    struct WrongUid;
    #[async_trait]
    impl AdmissionHandler for WrongUid {
        fn name(&self) -> &str {
            "wrong"
        }
        async fn review(&self, request: &AdmissionRequest<DynamicObject>) -> AdmissionResponse {
            let mut response = AdmissionResponse::from(request);
            response.uid = "something else".into();
            response
        }
    }
    let review: AdmissionReview<DynamicObject> =
        serde_json::from_value(review_body("uid-9", pod(json!({})))).expect("a review");
    let reviewed = admission::review(&WrongUid, review).await;
    assert_eq!(reviewed.types.api_version, "admission.k8s.io/v1");
    assert_eq!(reviewed.response.map(|r| r.uid).as_deref(), Some("uid-9"));
}

#[tokio::test]
async fn the_fake_calls_the_handler_with_an_admission_review_and_applies_its_patch() -> TestResult {
    let cluster = FakeCluster::new();
    let policy = Arc::new(PodPolicy::default());
    cluster.add_admission_handler(policy.clone());
    let pods: Api<Pod> = Api::namespaced(cluster.client(), "hub");

    let mut p: Pod = serde_json::from_value(pod(json!({})))?;
    p.metadata.name = None;
    p.metadata.generate_name = Some("job-".into());
    let created = pods.create(&PostParams::default(), &p).await?;
    assert_eq!(created.annotations()["admitted"], "yes");

    let name = created.metadata.name.clone().unwrap_or_default();
    pods.patch(
        &name,
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"x": "1"}}})),
    )
    .await?;
    // Status writes are not admitted (the webhook's rule is `pods`, not `pods/status`).
    pods.patch_status(
        &name,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"phase": "Running"}})),
    )
    .await?;

    let seen = policy.seen.lock().map(|s| s.clone()).unwrap_or_default();
    assert_eq!(seen.len(), 2);
    let create = &seen[0];
    assert_eq!(create.operation, Operation::Create);
    assert_eq!(
        create.name, "",
        "a create with generateName has no name yet"
    );
    assert_eq!(create.namespace.as_deref(), Some("hub"));
    assert_eq!(create.kind.kind, "Pod");
    assert_eq!(create.resource.resource, "pods");
    assert!(!create.uid.is_empty());
    assert!(create.old_object.is_none());
    let update = &seen[1];
    assert_eq!(update.operation, Operation::Update);
    assert_eq!(update.name, name);
    assert_eq!(
        update
            .old_object
            .as_ref()
            .and_then(|o| o.metadata.labels.clone()),
        None,
        "the pod was created with empty `labels`, which kube-apiserver (and the fake) does not store"
    );
    assert_eq!(
        update
            .object
            .as_ref()
            .and_then(|o| o.metadata.labels.clone())
            .and_then(|l| l.get("x").cloned())
            .as_deref(),
        Some("1")
    );
    assert_ne!(create.uid, update.uid);

    // Other kinds are not sent to it.
    let maps: Api<ConfigMap> = Api::namespaced(cluster.client(), "hub");
    let mut map = ConfigMap::default();
    map.metadata.name = Some("m".into());
    maps.create(&PostParams::default(), &map).await?;
    assert_eq!(policy.seen.lock().map(|s| s.len()).unwrap_or_default(), 2);
    Ok(())
}

use kube::ResourceExt;

#[tokio::test]
async fn the_fake_rejects_as_kube_apiserver_does() -> TestResult {
    let cluster = FakeCluster::new();
    cluster.add_admission_handler(Arc::new(PodPolicy::default()));
    let kind = ResourceKind::of::<Pod>();
    let object = |labels: Value| serde_json::from_value::<DynamicObject>(pod(labels));

    // No code (or one below 400): 403 Forbidden.
    match cluster
        .create(&kind, Some("hub"), &object(json!({"deny": ""}))?)
        .await
    {
        Err(KubeError::Forbidden { message }) => assert_eq!(
            message,
            "admission webhook \"pods.primehub.io\" denied the request: privileged pods are not allowed"
        ),
        other => panic!("expected Forbidden, got {other:?}"),
    }
    // The response's code is the answer's code.
    match cluster
        .create(&kind, Some("hub"), &object(json!({"deny": "422"}))?)
        .await
    {
        Err(KubeError::Invalid { message, .. }) => {
            assert!(message.contains("denied the request"), "{message}")
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    // Over HTTP, through kube::Client, the Status carries the code.
    let pods: Api<Pod> = Api::namespaced(cluster.client(), "hub");
    let denied: Pod = serde_json::from_value(pod(json!({"deny": "400"})))?;
    match pods.create(&PostParams::default(), &denied).await {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 400);
            assert!(
                status.message.contains("pods.primehub.io"),
                "{}",
                status.message
            );
        }
        other => panic!("expected a 400, got {other:?}"),
    }
    // A patch that does not apply fails the request (webhooks fail closed).
    match cluster
        .create(&kind, Some("hub"), &object(json!({"bad-patch": "1"}))?)
        .await
    {
        Err(KubeError::Unexpected { status, message }) => {
            assert_eq!(status, 500);
            assert!(
                message.contains("failed calling webhook \"pods.primehub.io\""),
                "{message}"
            );
        }
        other => panic!("expected a webhook failure, got {other:?}"),
    }
    // Nothing rejected was stored.
    let listed = cluster
        .list(&kind, Some("hub"), &Default::default())
        .await?;
    assert!(listed.items.is_empty());

    // An update can be denied too; the stored object stays as it was.
    let created = cluster
        .create(&kind, Some("hub"), &object(json!({}))?)
        .await?;
    let name = created.metadata.name.clone().unwrap_or_default();
    let deny = PatchBody::Merge(json!({"metadata": {"labels": {"deny": "409"}}}));
    match cluster
        .patch(&kind, Some("hub"), &name, &deny, Subresource::Main)
        .await
    {
        Err(KubeError::Conflict { .. }) => {}
        other => panic!("expected a Conflict, got {other:?}"),
    }
    let stored = cluster.get(&kind, Some("hub"), &name).await?;
    assert!(stored.labels().get("deny").is_none());
    Ok(())
}
