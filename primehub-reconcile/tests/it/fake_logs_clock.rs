//! Fake-only behaviour of pod logs and the cluster's clock.
//!
//! Reading lines a container wrote cannot be checked on the real test API server: it has no
//! nodes and no kubelet, so no pod there ever has a log (`conformance::pod_logs_without_a_kubelet`
//! checks what both tiers can answer). Here a test writes the lines, with times from a
//! `ManualClock`, and reads them back through the trait and through the HTTP face with kube-rs.

use std::sync::Arc;
use std::time::Duration;

use futures::{AsyncBufReadExt, StreamExt, TryStreamExt};
use jiff::SignedDuration;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{Api, DeleteParams, ListParams, LogParams, PostParams};
use primehub_model::clock::ManualClock;
use primehub_reconcile::fake::FakeCluster;
use primehub_reconcile::{DeleteOptions, KubeApi, KubeError, LogOptions, Typed};
use serde_json::json;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const T0: &str = "2026-12-03T10:00:00Z";

fn pod(name: &str, containers: &[&str], node: Option<&str>) -> Result<Pod, serde_json::Error> {
    let containers: Vec<_> = containers
        .iter()
        .map(|c| json!({"name": c, "image": "busybox"}))
        .collect();
    let mut spec = json!({"containers": containers});
    if let Some(node) = node {
        spec["nodeName"] = json!(node);
    }
    serde_json::from_value(json!({"metadata": {"name": name}, "spec": spec}))
}

/// A cluster at T0 with the pod `job` (container `main`) holding four lines: `epoch 1` at T0,
/// `epoch 2` at T0+10s, `epoch 3` and `epoch 4` (written as one text) at T0+20s.
async fn cluster_with_log()
-> Result<(FakeCluster, Arc<ManualClock>, Typed<Pod>), Box<dyn std::error::Error>> {
    let clock = Arc::new(ManualClock::at(T0.parse()?));
    let cluster = FakeCluster::with_clock(clock.clone());
    let pods = Typed::<Pod>::namespaced(Arc::new(cluster.clone()), "hub");
    pods.create(&pod("job", &["main"], None)?).await?;
    cluster.append_pod_log("hub", "job", "main", "epoch 1")?;
    clock.advance(SignedDuration::from_secs(10));
    cluster.append_pod_log("hub", "job", "main", "epoch 2")?;
    clock.advance(SignedDuration::from_secs(10));
    cluster.append_pod_log("hub", "job", "main", "epoch 3\nepoch 4")?;
    Ok((cluster, clock, pods))
}

#[tokio::test]
async fn log_lines_are_read_with_tail_since_and_timestamps() -> TestResult {
    let (_cluster, _clock, pods) = cluster_with_log().await?;
    let read = |options: LogOptions| {
        let pods = pods.clone();
        async move { pods.logs_string("job", &options).await }
    };
    assert_eq!(
        read(LogOptions::default()).await?,
        "epoch 1\nepoch 2\nepoch 3\nepoch 4\n"
    );
    assert_eq!(
        read(LogOptions {
            tail_lines: Some(2),
            ..LogOptions::default()
        })
        .await?,
        "epoch 3\nepoch 4\n"
    );
    assert_eq!(
        read(LogOptions {
            tail_lines: Some(0),
            ..LogOptions::default()
        })
        .await?,
        ""
    );
    // Now is T0+20s: the last 15 seconds hold the lines of T0+10s and T0+20s.
    assert_eq!(
        read(LogOptions {
            since_seconds: Some(15),
            ..LogOptions::default()
        })
        .await?,
        "epoch 2\nepoch 3\nepoch 4\n"
    );
    assert_eq!(
        read(LogOptions {
            since_time: Some("2026-12-03T10:00:20Z".parse()?),
            ..LogOptions::default()
        })
        .await?,
        "epoch 3\nepoch 4\n"
    );
    assert_eq!(
        read(LogOptions {
            timestamps: true,
            tail_lines: Some(3),
            ..LogOptions::default()
        })
        .await?,
        "2026-12-03T10:00:10Z epoch 2\n2026-12-03T10:00:20Z epoch 3\n2026-12-03T10:00:20Z epoch 4\n"
    );
    Ok(())
}

#[tokio::test]
async fn follow_delivers_new_lines_until_the_container_ends() -> TestResult {
    let (cluster, clock, pods) = cluster_with_log().await?;
    let mut lines = pods
        .logs(
            "job",
            &LogOptions {
                follow: true,
                tail_lines: Some(1),
                ..LogOptions::default()
            },
        )
        .await?;
    assert_eq!(lines.next().await.transpose()?.as_deref(), Some("epoch 4"));
    clock.advance(SignedDuration::from_secs(1));
    cluster.append_pod_log("hub", "job", "main", "epoch 5")?;
    let next = tokio::time::timeout(Duration::from_secs(5), lines.next()).await?;
    assert_eq!(next.transpose()?.as_deref(), Some("epoch 5"));
    cluster.finish_pod_log("hub", "job", "main")?;
    let end = tokio::time::timeout(Duration::from_secs(5), lines.next()).await?;
    assert!(end.is_none(), "the follow ends when the container does");
    // A finished log is read to its end at once, even with follow.
    let all = pods
        .logs_string(
            "job",
            &LogOptions {
                follow: true,
                ..LogOptions::default()
            },
        )
        .await?;
    assert_eq!(all.lines().count(), 5);
    Ok(())
}

#[tokio::test]
async fn writing_to_a_missing_pod_or_container_fails_as_a_read_would() -> TestResult {
    let (cluster, _clock, pods) = cluster_with_log().await?;
    assert!(matches!(
        cluster.append_pod_log("hub", "nope", "main", "x"),
        Err(KubeError::NotFound { .. })
    ));
    match cluster.append_pod_log("hub", "job", "sidecar", "x") {
        Err(KubeError::BadRequest { message }) => {
            assert_eq!(message, "container sidecar is not valid for pod job");
        }
        other => panic!("expected BadRequest, got {other:?}"),
    }
    // A pod created again under the same name starts with an empty log.
    pods.delete("job", &DeleteOptions::default()).await?;
    pods.create(&pod("job", &["main"], None)?).await?;
    assert_eq!(pods.logs_string("job", &LogOptions::default()).await?, "");
    // Once a test writes for a pod, the fake plays its kubelet even when it names a node.
    pods.create(&pod("placed", &["main"], Some("node-1"))?)
        .await?;
    assert!(matches!(
        pods.logs_string("placed", &LogOptions::default()).await,
        Err(KubeError::NotFound { .. })
    ));
    cluster.append_pod_log("hub", "placed", "main", "hello")?;
    assert_eq!(
        pods.logs_string("placed", &LogOptions::default()).await?,
        "hello\n"
    );
    Ok(())
}

#[tokio::test]
async fn creation_and_deletion_timestamps_come_from_the_clock() -> TestResult {
    let clock = Arc::new(ManualClock::at(T0.parse()?));
    let cluster = FakeCluster::with_clock(clock.clone());
    let maps = Typed::<ConfigMap>::namespaced(Arc::new(cluster.clone()), "hub");
    let held: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "held", "finalizers": ["primehub.io/test"]},
    }))?;
    let created = maps.create(&held).await?;
    assert_eq!(
        created.metadata.creation_timestamp.map(|t| t.0.to_string()),
        Some(T0.to_owned())
    );
    clock.advance(SignedDuration::from_secs(90));
    maps.delete("held", &DeleteOptions::default()).await?;
    let deleting = maps.get("held").await?;
    assert_eq!(
        deleting
            .metadata
            .deletion_timestamp
            .map(|t| t.0.to_string()),
        Some("2026-12-03T10:01:30Z".to_owned())
    );
    assert_eq!(
        deleting
            .metadata
            .creation_timestamp
            .map(|t| t.0.to_string()),
        Some(T0.to_owned()),
        "the creationTimestamp stays"
    );
    Ok(())
}

#[tokio::test]
async fn kube_rs_reads_logs_from_the_http_face() -> TestResult {
    let (cluster, clock, _pods) = cluster_with_log().await?;
    let server = cluster.serve(tokio::net::TcpListener::bind("127.0.0.1:0").await?)?;
    let client = kube::Client::try_from(kube::Config::new(server.url().parse()?))?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "hub");

    let text = pods
        .logs(
            "job",
            &LogParams {
                tail_lines: Some(2),
                timestamps: true,
                ..LogParams::default()
            },
        )
        .await?;
    assert_eq!(
        text,
        "2026-12-03T10:00:20Z epoch 3\n2026-12-03T10:00:20Z epoch 4\n"
    );

    let mut follow = pods
        .log_stream(
            "job",
            &LogParams {
                follow: true,
                since_seconds: Some(5),
                ..LogParams::default()
            },
        )
        .await?
        .lines();
    assert_eq!(follow.try_next().await?.as_deref(), Some("epoch 3"));
    assert_eq!(follow.try_next().await?.as_deref(), Some("epoch 4"));
    clock.advance(SignedDuration::from_secs(1));
    cluster.append_pod_log("hub", "job", "main", "epoch 5")?;
    let next = tokio::time::timeout(Duration::from_secs(5), follow.try_next()).await??;
    assert_eq!(next.as_deref(), Some("epoch 5"));
    cluster.finish_pod_log("hub", "job", "main")?;
    let end = tokio::time::timeout(Duration::from_secs(5), follow.try_next()).await??;
    assert_eq!(end, None);

    // An unscheduled pod without lines: 204 and an empty log, as kube-apiserver answers.
    pods.create(&PostParams::default(), &pod("idle", &["main"], None)?)
        .await?;
    assert_eq!(pods.logs("idle", &LogParams::default()).await?, "");

    let status = |e: kube::Error| match e {
        kube::Error::Api(s) => (s.code, s.reason.clone(), s.message.clone()),
        other => (0, String::new(), other.to_string()),
    };
    let missing = pods
        .logs("nope", &LogParams::default())
        .await
        .map_err(status);
    assert_eq!(
        missing.err(),
        Some((404, "NotFound".into(), "pods \"nope\" not found".into()))
    );
    let container = pods
        .logs(
            "job",
            &LogParams {
                container: Some("sidecar".into()),
                ..LogParams::default()
            },
        )
        .await
        .map_err(status);
    assert_eq!(
        container.err(),
        Some((
            400,
            "BadRequest".into(),
            "container sidecar is not valid for pod job".into()
        ))
    );
    let negative = pods
        .logs(
            "job",
            &LogParams {
                tail_lines: Some(-1),
                ..LogParams::default()
            },
        )
        .await
        .map_err(status);
    assert_eq!(
        negative.err(),
        Some((
            422,
            "Invalid".into(),
            "PodLogOptions \"job\" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0".into()
        ))
    );
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn deletecollection_over_http_as_kube_apiserver() -> TestResult {
    let cluster = FakeCluster::new();
    let server = cluster.serve(tokio::net::TcpListener::bind("127.0.0.1:0").await?)?;
    let client = kube::Client::try_from(kube::Config::new(server.url().parse()?))?;
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), "hub");
    for (name, tier) in [("a", "web"), ("b", "db")] {
        let cm: ConfigMap =
            serde_json::from_value(json!({"metadata": {"name": name, "labels": {"tier": tier}}}))?;
        maps.create(&PostParams::default(), &cm).await?;
    }
    let all: Api<ConfigMap> = Api::all(client);
    match all
        .delete_collection(&DeleteParams::default(), &ListParams::default())
        .await
    {
        Err(kube::Error::Api(s)) => {
            assert_eq!((s.code, s.reason.as_str()), (405, "MethodNotAllowed"));
        }
        other => {
            panic!("a cluster-wide deletecollection of a namespaced kind is 405, got {other:?}")
        }
    }
    let deleted = maps
        .delete_collection(
            &DeleteParams::default(),
            &ListParams::default().labels("tier=web"),
        )
        .await?;
    let names: Vec<String> = deleted
        .left()
        .map(|l| {
            l.items
                .into_iter()
                .filter_map(|o| o.metadata.name)
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(names, ["a"]);
    let left: Vec<String> = maps
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter_map(|o| o.metadata.name)
        .collect();
    assert_eq!(left, ["b"]);
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn the_trait_reads_logs_through_the_http_face_too() -> TestResult {
    let (cluster, _clock, _pods) = cluster_with_log().await?;
    let server = cluster.serve(tokio::net::TcpListener::bind("127.0.0.1:0").await?)?;
    let api = primehub_reconcile::kube_client::KubeClient::for_url(server.url(), None, false)?;
    let lines: Vec<String> = api
        .logs(
            "hub",
            "job",
            &LogOptions {
                tail_lines: Some(2),
                ..LogOptions::default()
            },
        )
        .await?
        .try_collect()
        .await?;
    assert_eq!(lines, ["epoch 3", "epoch 4"]);
    server.shutdown().await;
    Ok(())
}
