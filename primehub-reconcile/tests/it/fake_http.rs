//! The fake cluster's HTTP face with an unmodified `kube::Client`.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Container, Pod, PodSpec};
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::runtime::watcher;
use primehub_model::crd::{InstanceType, PhJob, PhJobSpec};
use primehub_reconcile::fake::FakeCluster;
use serde_json::json;

type TestResult = Result<(), Box<dyn std::error::Error>>;

async fn start(
    cluster: &FakeCluster,
) -> Result<(primehub_reconcile::fake::FakeServer, kube::Client), Box<dyn std::error::Error>> {
    let server = cluster.serve(tokio::net::TcpListener::bind("127.0.0.1:0").await?)?;
    let client = kube::Client::try_from(kube::Config::new(server.url().parse()?))?;
    Ok((server, client))
}

fn pod(name: &str, labels: &[(&str, &str)]) -> Pod {
    let mut pod = Pod::default();
    pod.metadata.name = Some(name.into());
    pod.metadata.labels = Some(
        labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<BTreeMap<_, _>>(),
    );
    pod.spec = Some(PodSpec {
        containers: vec![Container {
            name: "main".into(),
            image: Some("busybox".into()),
            ..Container::default()
        }],
        ..PodSpec::default()
    });
    pod
}

fn api_code(error: &kube::Error) -> Option<(u16, String)> {
    match error {
        kube::Error::Api(status) => Some((status.code, status.reason.clone())),
        _ => None,
    }
}

#[tokio::test]
async fn typed_pod_crud() -> TestResult {
    let cluster = FakeCluster::new();
    let (server, client) = start(&cluster).await?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "hub");

    let created = pods
        .create(&PostParams::default(), &pod("a", &[("app", "x")]))
        .await?;
    assert_eq!(created.metadata.generation, Some(1));
    assert!(created.metadata.uid.is_some());
    assert_eq!(
        created.status.and_then(|s| s.phase).as_deref(),
        Some("Pending")
    );
    pods.create(&PostParams::default(), &pod("b", &[("app", "y")]))
        .await?;

    // AlreadyExists.
    let err = pods
        .create(&PostParams::default(), &pod("a", &[]))
        .await
        .err()
        .and_then(|e| api_code(&e));
    assert_eq!(err, Some((409, "AlreadyExists".into())));

    // Get, list with a label selector.
    assert_eq!(pods.get("a").await?.metadata.name.as_deref(), Some("a"));
    let listed = pods.list(&ListParams::default().labels("app=x")).await?;
    assert_eq!(listed.items.len(), 1);
    let all: Api<Pod> = Api::all(client.clone());
    assert_eq!(all.list(&ListParams::default()).await?.items.len(), 2);

    // Replace; a stale resourceVersion conflicts.
    let mut current = pods.get("a").await?;
    let stale = current.clone();
    current.metadata.labels = Some([("app".to_owned(), "z".to_owned())].into());
    let replaced = pods.replace("a", &PostParams::default(), &current).await?;
    assert_ne!(
        replaced.metadata.resource_version,
        stale.metadata.resource_version
    );
    let err = pods
        .replace("a", &PostParams::default(), &stale)
        .await
        .err()
        .and_then(|e| api_code(&e));
    assert_eq!(err, Some((409, "Conflict".into())));

    // Merge and JSON patches.
    let merged = pods
        .patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"k": "v"}}})),
        )
        .await?;
    assert_eq!(
        merged
            .metadata
            .annotations
            .and_then(|a| a.get("k").cloned())
            .as_deref(),
        Some("v")
    );
    let patch: json_patch::Patch = serde_json::from_value(json!([
        {"op": "replace", "path": "/metadata/labels/app", "value": "w"}
    ]))?;
    let patched = pods
        .patch("a", &PatchParams::default(), &Patch::<()>::Json(patch))
        .await?;
    assert_eq!(
        patched
            .metadata
            .labels
            .and_then(|l| l.get("app").cloned())
            .as_deref(),
        Some("w")
    );

    // Pod status subresource.
    let running = pods
        .patch_status(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Running"}})),
        )
        .await?;
    assert_eq!(
        running.status.and_then(|s| s.phase).as_deref(),
        Some("Running")
    );

    // Delete; then 404.
    pods.delete("a", &DeleteParams::default()).await?;
    let err = pods.get("a").await.err().and_then(|e| api_code(&e));
    assert_eq!(err, Some((404, "NotFound".into())));
    // A missing namespace.
    let missing: Api<Pod> = Api::namespaced(client, "nope");
    let err = missing
        .create(&PostParams::default(), &pod("a", &[]))
        .await
        .err()
        .and_then(|e| api_code(&e));
    assert_eq!(err, Some((404, "NotFound".into())));
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn phjob_status_subresource() -> TestResult {
    let cluster = FakeCluster::new();
    let (server, client) = start(&cluster).await?;
    let jobs: Api<PhJob> = Api::namespaced(client, "hub");
    let job = PhJob::new(
        "job-1",
        PhJobSpec {
            command: "echo".into(),
            ..PhJobSpec::default()
        },
    );
    let created = jobs.create(&PostParams::default(), &job).await?;

    // Status through the main resource is ignored.
    let mut with_status = created.clone();
    with_status.status = Some(serde_json::from_value(json!({"phase": "Running"}))?);
    with_status.spec.command = "echo 2".into();
    let replaced = jobs
        .replace("job-1", &PostParams::default(), &with_status)
        .await?;
    assert!(replaced.status.is_none());
    assert_eq!(replaced.metadata.generation, Some(2));

    // replace_status changes only the status.
    let mut status_write = replaced.clone();
    status_write.status = Some(serde_json::from_value(json!({"phase": "Running"}))?);
    status_write.spec.command = "ignored".into();
    let written = jobs
        .replace_status("job-1", &PostParams::default(), &status_write)
        .await?;
    assert_eq!(written.spec.command, "echo 2");
    assert_eq!(written.metadata.generation, Some(2));
    assert_eq!(serde_json::to_value(&written.status)?["phase"], "Running");

    let patched = jobs
        .patch_status(
            "job-1",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Succeeded"}})),
        )
        .await?;
    assert_eq!(serde_json::to_value(&patched.status)?["phase"], "Succeeded");

    // Every primehub.io kind is served; InstanceType has no status subresource.
    let its: Api<InstanceType> = Api::namespaced(jobs.clone().into_client(), "hub");
    assert!(its.list(&ListParams::default()).await?.items.is_empty());
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn watcher_sees_changes_in_order_and_old_versions_are_gone() -> TestResult {
    let cluster = FakeCluster::with_history_limit(5);
    let (server, client) = start(&cluster).await?;
    let pods: Api<Pod> = Api::namespaced(client, "hub");
    let old_rv = pods
        .list(&ListParams::default())
        .await?
        .metadata
        .resource_version
        .unwrap_or_default();

    let mut events = watcher(pods.clone(), watcher::Config::default()).boxed();
    // The initial list is empty.
    loop {
        match events.try_next().await? {
            Some(watcher::Event::InitDone) => break,
            Some(_) => {}
            None => return Err("watcher ended".into()),
        }
    }
    pods.create(&PostParams::default(), &pod("w", &[])).await?;
    pods.patch(
        "w",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"x": "1"}}})),
    )
    .await?;
    pods.delete("w", &DeleteParams::default()).await?;
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let next = tokio::time::timeout(Duration::from_secs(10), events.try_next()).await??;
        match next {
            Some(watcher::Event::Apply(p)) => seen.push(format!(
                "apply:{}",
                p.metadata
                    .labels
                    .and_then(|l| l.get("x").cloned())
                    .unwrap_or_default()
            )),
            Some(watcher::Event::Delete(_)) => seen.push("delete".into()),
            Some(_) => {}
            None => return Err("watcher ended".into()),
        }
    }
    assert_eq!(seen, ["apply:", "apply:1", "delete"]);

    // Push the old version out of the (5-event) history: the watch answers 410.
    for n in 0..6 {
        pods.create(&PostParams::default(), &pod(&format!("p{n}"), &[]))
            .await?;
    }
    let mut stream = pods.watch(&WatchParams::default(), &old_rv).await?.boxed();
    match stream.try_next().await? {
        Some(WatchEvent::Error(e)) => assert_eq!(e.code, 410),
        other => return Err(format!("expected a 410 error event, got {other:?}").into()),
    }
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn discovery_and_errors() -> TestResult {
    let cluster = FakeCluster::new();
    let (server, client) = start(&cluster).await?;
    let discovery = kube::Discovery::new(client.clone()).run().await?;
    let primehub = discovery
        .groups()
        .find(|g| g.name() == "primehub.io")
        .ok_or("no primehub.io group")?;
    let kinds: Vec<String> = primehub
        .recommended_resources()
        .into_iter()
        .map(|(r, _)| r.kind)
        .collect();
    assert!(kinds.contains(&"PhJob".to_owned()));
    assert_eq!(kinds.len(), primehub_model::crd::all().len());
    assert!(
        client
            .apiserver_version()
            .await?
            .minor
            .parse::<u32>()
            .is_ok()
    );

    // Server-side apply is refused with 415.
    let pods: Api<Pod> = Api::namespaced(client, "hub");
    pods.create(&PostParams::default(), &pod("a", &[])).await?;
    let err = pods
        .patch(
            "a",
            &PatchParams::apply("test"),
            &Patch::Apply(json!({"apiVersion": "v1", "kind": "Pod"})),
        )
        .await
        .err()
        .and_then(|e| api_code(&e));
    assert_eq!(err.map(|e| e.0), Some(415));
    server.shutdown().await;
    Ok(())
}

/// Pages of an unfiltered list say how many items follow (`remainingItemCount`), as
/// kube-apiserver's do; a filtered list cannot know and says nothing.
#[tokio::test]
async fn list_pages_count_what_remains_unless_filtered() -> TestResult {
    let cluster = FakeCluster::new();
    let (_server, client) = start(&cluster).await?;
    let pods: Api<Pod> = Api::namespaced(client, "hub");
    for name in ["a", "b", "c", "d", "e"] {
        pods.create(&PostParams::default(), &pod(name, &[("app", "x")]))
            .await?;
    }
    let first = pods.list(&ListParams::default().limit(2)).await?;
    assert_eq!(first.items.len(), 2);
    assert_eq!(first.metadata.remaining_item_count, Some(3));
    let token = first.metadata.continue_.clone().unwrap_or_default();
    let second = pods
        .list(&ListParams::default().limit(2).continue_token(&token))
        .await?;
    assert_eq!(second.metadata.remaining_item_count, Some(1));
    let token = second.metadata.continue_.clone().unwrap_or_default();
    let last = pods
        .list(&ListParams::default().limit(2).continue_token(&token))
        .await?;
    assert_eq!(last.items.len(), 1);
    assert_eq!(last.metadata.remaining_item_count, None);
    let filtered = pods
        .list(&ListParams::default().limit(2).labels("app=x"))
        .await?;
    assert!(filtered.metadata.continue_.is_some());
    assert_eq!(filtered.metadata.remaining_item_count, None);
    Ok(())
}

/// A JSON patch that does not apply (a failed `test`, a missing path) is kube-apiserver's bare
/// 422: no name, no details, its fixed message (kubectl prints "The request is invalid").
#[tokio::test]
async fn a_json_patch_that_does_not_apply_is_a_bare_422() -> TestResult {
    let cluster = FakeCluster::new();
    let (_server, client) = start(&cluster).await?;
    let pods: Api<Pod> = Api::namespaced(client, "hub");
    pods.create(&PostParams::default(), &pod("a", &[("app", "x")]))
        .await?;
    for ops in [
        json!([{"op": "test", "path": "/metadata/labels/app", "value": "y"}]),
        json!([{"op": "replace", "path": "/metadata/annotations/nope/x", "value": "2"}]),
    ] {
        let patch: json_patch::Patch = serde_json::from_value(ops)?;
        let Err(kube::Error::Api(status)) = pods
            .patch("a", &PatchParams::default(), &Patch::Json::<()>(patch))
            .await
        else {
            panic!("the patch applied");
        };
        assert_eq!(
            (status.code, status.reason.as_str(), status.message.as_str()),
            (
                422,
                "Invalid",
                "the server rejected our request due to an error in our request"
            )
        );
        assert!(status.details.is_none_or(|d| d.name.is_empty()));
    }
    Ok(())
}
