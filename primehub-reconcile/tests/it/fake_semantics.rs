//! The fake cluster's API-server semantics, in memory.

use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod};
use kube::api::DynamicObject;
use primehub_reconcile::admission::{
    AdmissionHandler, AdmissionRequest, AdmissionResponse, Operation,
};
use primehub_reconcile::fake::FakeCluster;
use primehub_reconcile::{
    DeleteOptions, KubeApi, KubeError, ListOptions, PatchBody, Propagation, ResourceKind,
    Subresource, WatchEvent,
};
use serde_json::{Value, json};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn cm(name: &str, extra: Value) -> Result<DynamicObject, serde_json::Error> {
    let mut v = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}});
    json_patch::merge(&mut v, &extra);
    serde_json::from_value(v)
}

fn owner(of: &DynamicObject) -> Value {
    json!({"metadata": {"ownerReferences": [{
        "apiVersion": "v1", "kind": "ConfigMap",
        "name": of.metadata.name, "uid": of.metadata.uid,
    }]}})
}

#[tokio::test]
async fn generate_name_generation_and_noop_writes() -> TestResult {
    let c = FakeCluster::new();
    let kind = ResourceKind::of::<ConfigMap>();
    let created = c
        .create(
            &kind,
            Some("hub"),
            &cm("", json!({"metadata": {"generateName": "x-"}}))?,
        )
        .await?;
    let name = created.metadata.name.clone().unwrap_or_default();
    assert!(name.starts_with("x-") && name.len() == 7, "{name}");
    // kube-apiserver keeps no generation for ConfigMaps (the conformance suite checks the
    // generation of the kinds that have one).
    assert_eq!(created.metadata.generation, None);
    // A no-op write keeps the resourceVersion.
    let same = c
        .replace(&kind, Some("hub"), &created, Subresource::Main)
        .await?;
    assert_eq!(
        same.metadata.resource_version,
        created.metadata.resource_version
    );
    // A data change writes, still without a generation.
    let patched = c
        .patch(
            &kind,
            Some("hub"),
            &name,
            &PatchBody::Merge(json!({"data": {"k": "w"}})),
            Subresource::Main,
        )
        .await?;
    assert_eq!(patched.metadata.generation, None);
    assert_ne!(
        patched.metadata.resource_version,
        created.metadata.resource_version
    );
    // Nor a label change.
    let labelled = c
        .patch(
            &kind,
            Some("hub"),
            &name,
            &PatchBody::Merge(json!({"metadata": {"labels": {"a": "b"}}})),
            Subresource::Main,
        )
        .await?;
    assert_eq!(labelled.metadata.generation, None);
    // Field selectors on the labels the kind supports; others are refused as kube-apiserver
    // refuses them.
    let list = c
        .list(
            &kind,
            None,
            &ListOptions {
                field_selector: Some(format!("metadata.name={name},metadata.namespace==hub")),
                ..ListOptions::default()
            },
        )
        .await?;
    assert_eq!(list.items.len(), 1);
    let refused = c
        .list(
            &kind,
            None,
            &ListOptions {
                field_selector: Some(format!("metadata.name={name},data.k=w")),
                ..ListOptions::default()
            },
        )
        .await
        .err();
    assert_eq!(
        refused,
        Some(KubeError::BadRequest {
            message: "\"data.k\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\"".into()
        })
    );
    Ok(())
}

#[tokio::test]
async fn garbage_collection_variants() -> TestResult {
    let c = FakeCluster::new();
    let kind = ResourceKind::of::<ConfigMap>();
    let ns = Some("hub");
    // Background (default): dependents go recursively.
    let root = c.create(&kind, ns, &cm("root", json!({}))?).await?;
    let child = c.create(&kind, ns, &cm("child", owner(&root))?).await?;
    c.create(&kind, ns, &cm("grandchild", owner(&child))?)
        .await?;
    c.delete(&kind, ns, "root", &DeleteOptions::default())
        .await?;
    assert!(
        c.list(&kind, ns, &ListOptions::default())
            .await?
            .items
            .is_empty()
    );

    // Orphan: dependents stay, without the owner reference.
    let root = c.create(&kind, ns, &cm("root", json!({}))?).await?;
    c.create(&kind, ns, &cm("child", owner(&root))?).await?;
    c.delete(
        &kind,
        ns,
        "root",
        &DeleteOptions {
            propagation: Some(Propagation::Orphan),
            ..DeleteOptions::default()
        },
    )
    .await?;
    let child = c.get(&kind, ns, "child").await?;
    assert!(child.metadata.owner_references.is_none());

    // Foreground: a dependent held by a finalizer keeps the owner (with foregroundDeletion).
    let root = c.create(&kind, ns, &cm("root", json!({}))?).await?;
    c.create(
        &kind,
        ns,
        &cm("held", {
            let mut o = owner(&root);
            o["metadata"]["finalizers"] = json!(["test/hold"]);
            o
        })?,
    )
    .await?;
    c.delete(
        &kind,
        ns,
        "root",
        &DeleteOptions {
            propagation: Some(Propagation::Foreground),
            ..DeleteOptions::default()
        },
    )
    .await?;
    let waiting = c.get(&kind, ns, "root").await?;
    assert!(waiting.metadata.deletion_timestamp.is_some());
    assert_eq!(
        waiting.metadata.finalizers,
        Some(vec!["foregroundDeletion".to_owned()])
    );
    // Releasing the dependent's finalizer lets both go.
    c.patch(
        &kind,
        ns,
        "held",
        &PatchBody::Merge(json!({"metadata": {"finalizers": null}})),
        Subresource::Main,
    )
    .await?;
    assert!(
        c.get(&kind, ns, "held")
            .await
            .is_err_and(|e| e.is_not_found())
    );
    assert!(
        c.get(&kind, ns, "root")
            .await
            .is_err_and(|e| e.is_not_found())
    );
    Ok(())
}

#[tokio::test]
async fn namespace_deletion_and_missing_namespaces() -> TestResult {
    let c = FakeCluster::new();
    let nss = ResourceKind::of::<Namespace>();
    let kind = ResourceKind::of::<ConfigMap>();
    c.create(
        &nss,
        None,
        &serde_json::from_value(json!({"metadata": {"name": "tmp"}}))?,
    )
    .await?;
    c.create(&kind, Some("tmp"), &cm("a", json!({}))?).await?;
    c.delete(&nss, None, "tmp", &DeleteOptions::default())
        .await?;
    assert!(
        c.get(&nss, None, "tmp")
            .await
            .is_err_and(|e| e.is_not_found())
    );
    match c.create(&kind, Some("tmp"), &cm("a", json!({}))?).await {
        Err(KubeError::NotFound { what }) => assert_eq!(what, "namespaces \"tmp\""),
        other => panic!("expected NotFound, got {other:?}"),
    }
    Ok(())
}

struct NoPrivileged;

#[async_trait::async_trait]
impl AdmissionHandler for NoPrivileged {
    fn name(&self) -> &str {
        "pods.primehub.io"
    }
    fn handles(&self, resource: &kube::core::GroupVersionResource, _: &Operation) -> bool {
        resource.resource == "pods"
    }
    async fn review(&self, request: &AdmissionRequest<DynamicObject>) -> AdmissionResponse {
        let allowed = AdmissionResponse::from(request);
        let labels = request
            .object
            .as_ref()
            .and_then(|o| o.metadata.labels.as_ref());
        if labels.is_some_and(|l| l.contains_key("deny")) {
            return allowed.deny("not allowed");
        }
        match serde_json::from_value(
            json!([{"op": "add", "path": "/metadata/annotations", "value": {"admitted": "yes"}}]),
        ) {
            Ok(patch) => allowed.clone().with_patch(patch).unwrap_or(allowed),
            Err(_) => allowed,
        }
    }
}

#[tokio::test]
async fn admission_hooks_mutate_and_deny() -> TestResult {
    let c = FakeCluster::new();
    c.add_admission_handler(Arc::new(NoPrivileged));
    let pods = ResourceKind::of::<Pod>();
    let pod = |labels: Value| -> Result<DynamicObject, serde_json::Error> {
        serde_json::from_value(
            json!({"metadata": {"generateName": "p-", "labels": labels}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}),
        )
    };
    let created = c.create(&pods, Some("hub"), &pod(json!({}))?).await?;
    assert_eq!(
        created
            .metadata
            .annotations
            .and_then(|a| a.get("admitted").cloned())
            .as_deref(),
        Some("yes")
    );
    match c
        .create(&pods, Some("hub"), &pod(json!({"deny": "1"}))?)
        .await
    {
        Err(KubeError::Forbidden { message }) => assert_eq!(
            message,
            "admission webhook \"pods.primehub.io\" denied the request: not allowed"
        ),
        other => panic!("expected a denial, got {other:?}"),
    }
    Ok(())
}

#[tokio::test]
async fn watch_with_selector_sees_objects_leave() -> TestResult {
    let c = FakeCluster::new();
    let kind = ResourceKind::of::<ConfigMap>();
    let start = c.resource_version();
    c.create(
        &kind,
        Some("hub"),
        &cm("a", json!({"metadata": {"labels": {"app": "x"}}}))?,
    )
    .await?;
    c.patch(
        &kind,
        Some("hub"),
        "a",
        &PatchBody::Merge(json!({"metadata": {"labels": {"app": "y"}}})),
        Subresource::Main,
    )
    .await?;
    let mut events = c
        .watch(
            &kind,
            Some("hub"),
            &ListOptions {
                label_selector: Some("app=x".into()),
                ..ListOptions::default()
            },
            &start,
        )
        .await?;
    assert!(matches!(
        events.next().await,
        Some(Ok(WatchEvent::Added(_)))
    ));
    assert!(matches!(
        events.next().await,
        Some(Ok(WatchEvent::Deleted(_)))
    ));
    Ok(())
}
