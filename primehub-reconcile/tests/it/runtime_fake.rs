//! kube-runtime on the fake cluster in process (`FakeCluster::client()`): typed APIs, discovery,
//! the event recorder, projected reflector stores, and the job-summary controller — including
//! its recovery when the watch history expires (410 Gone) while it is cut off.
//!
//! Time is tokio's paused clock: waits are on conditions, and "nothing happens for ten minutes"
//! is ten virtual minutes in which every timer (requeues, watch timeouts) fires.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use k8s_openapi::api::events::v1::Event as EventsV1Event;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::core::DynamicObject;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::{Resource, ResourceExt};
use primehub_model::crd::{PhJob, PhJobSpec};
use primehub_reconcile::admission::{AdmissionHandler, AdmissionRequest, AdmissionResponse};
use primehub_reconcile::fake::FakeCluster;
use primehub_reconcile::runtime::job_summary::{self, SUMMARY_LABEL, summary_name};
use primehub_reconcile::runtime::projection::{PodView, pod_store};
use primehub_reconcile::runtime::{ControllerRuntime, Metrics, RetryPolicy};
use primehub_reconcile::{ConflictKind, Error, KubeError};
use serde_json::json;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Polls `check` every 10 ms (virtual) until it gives a value; fails after 60 s.
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    for _ in 0..6000 {
        if let Some(v) = check().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

fn job(name: &str, command: &str) -> PhJob {
    let mut job = PhJob::new(
        name,
        PhJobSpec {
            display_name: format!("job {name}"),
            user_id: "u-1".into(),
            user_name: Some("phadmin".into()),
            group_id: "g-1".into(),
            group_name: "phusers".into(),
            instance_type: "cpu-1".into(),
            image: "base-notebook".into(),
            command: command.into(),
            ..PhJobSpec::default()
        },
    );
    job.metadata.namespace = Some("hub".into());
    job
}

/// The command in a summary ConfigMap, if it exists.
async fn summary_command(maps: &Api<ConfigMap>, job: &str) -> Option<String> {
    let map = maps.get_opt(&summary_name(job)).await.ok()??;
    map.data?.get("command").cloned()
}

#[tokio::test(start_paused = true)]
async fn a_kube_client_works_in_process() -> TestResult {
    let cluster = FakeCluster::new();
    let client = cluster.client();
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), "hub");

    // Watch through the client: the response streams events as they happen.
    let mut watch = maps
        .watch(&Default::default(), &cluster.resource_version())
        .await?
        .boxed();
    let mut map = ConfigMap::default();
    map.metadata.name = Some("settings".into());
    map.data = Some([("k".to_owned(), "v".to_owned())].into());
    let created = maps.create(&PostParams::default(), &map).await?;
    assert!(created.metadata.uid.is_some());
    match watch.next().await {
        Some(Ok(kube::api::WatchEvent::Added(seen))) => {
            assert_eq!(seen.metadata.uid, created.metadata.uid)
        }
        other => panic!("expected an ADDED event, got {other:?}"),
    }

    // Errors come back as the API server's Status.
    match maps.create(&PostParams::default(), &map).await {
        Err(kube::Error::Api(status)) => assert_eq!(status.code, 409),
        other => panic!("expected AlreadyExists, got {other:?}"),
    }

    // The state is the cluster's: what the client wrote, `KubeApi` reads.
    let listed = primehub_reconcile::KubeApi::list(
        &cluster,
        &primehub_reconcile::ResourceKind::of::<ConfigMap>(),
        Some("hub"),
        &Default::default(),
    )
    .await?;
    assert_eq!(listed.items.len(), 1);
    Ok(())
}

#[tokio::test]
async fn discovery_sees_the_kinds_later_work_writes() -> TestResult {
    let cluster = FakeCluster::new();
    let discovery = kube::Discovery::new(cluster.client()).run().await?;
    let mut found = Vec::new();
    for group in discovery.groups() {
        for (resource, _) in group.recommended_resources() {
            found.push(format!("{}/{}", resource.api_version, resource.plural));
        }
    }
    for expected in [
        "v1/events",
        "events.k8s.io/v1/events",
        "v1/persistentvolumes",
        "v1/serviceaccounts",
        "rbac.authorization.k8s.io/v1/roles",
        "rbac.authorization.k8s.io/v1/rolebindings",
    ] {
        assert!(
            found.iter().any(|f| f == expected),
            "{expected} not discovered in {found:?}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn the_event_recorder_publishes_and_counts_a_series() -> TestResult {
    let cluster = FakeCluster::new();
    let client = cluster.client();
    let jobs: Api<PhJob> = Api::namespaced(client.clone(), "hub");
    let created = jobs
        .create(&PostParams::default(), &job("job-1", "echo"))
        .await?;
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: "test-controller".into(),
            instance: None,
        },
    );
    let event = Event {
        type_: EventType::Warning,
        reason: "Stuck".into(),
        note: Some("the job waits".into()),
        action: "Check".into(),
        secondary: None,
    };
    recorder.publish(&event, &created.object_ref(&())).await?;
    // The same event again is a series: kube-runtime patches the stored event.
    recorder.publish(&event, &created.object_ref(&())).await?;

    let events: Api<EventsV1Event> = Api::namespaced(client, "hub");
    let list = events.list(&Default::default()).await?;
    assert_eq!(list.items.len(), 1);
    let stored = &list.items[0];
    assert_eq!(stored.reason.as_deref(), Some("Stuck"));
    assert_eq!(stored.type_.as_deref(), Some("Warning"));
    assert_eq!(
        stored.reporting_controller.as_deref(),
        Some("test-controller")
    );
    let regarding = stored.regarding.clone().unwrap_or_default();
    assert_eq!(regarding.name.as_deref(), Some("job-1"));
    assert_eq!(regarding.uid, created.metadata.uid);
    assert_eq!(stored.series.as_ref().map(|s| s.count), Some(2));
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_pod_store_keeps_slim_pods_and_follows_changes() -> TestResult {
    let cluster = FakeCluster::new();
    let client = cluster.client();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "hub");
    let (store, stream) = pod_store(pods.clone(), Default::default());
    tokio::spawn(stream.for_each(|_| async {}));

    let pod: Pod = serde_json::from_value(json!({
        "metadata": {
            "name": "job-1-pod", "labels": {"app": "primehub-job"},
            "annotations": {"primehub.io/group": "phusers"},
            "ownerReferences": [{"apiVersion": "primehub.io/v1alpha1", "kind": "PhJob", "name": "job-1", "uid": "u-1", "controller": true}],
            "finalizers": ["primehub.io/test"],
            "managedFields": [{"manager": "primehub", "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:containers": {}}}}],
        },
        "spec": {
            "initContainers": [{"name": "init", "image": "busybox", "resources": {"limits": {"cpu": "100m"}}}],
            "containers": [{
                "name": "main", "image": "infuseai/base-notebook:latest",
                "command": ["sh", "-c", "python train.py"],
                "env": [{"name": "GROUP", "value": "phusers"}, {"name": "USER", "value": "phadmin"}],
                "resources": {"limits": {"cpu": "2", "memory": "4Gi", "nvidia.com/gpu": "1"}, "requests": {"cpu": "2", "memory": "4Gi"}},
                "volumeMounts": [{"name": "data", "mountPath": "/home/jovyan"}],
            }],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}],
            "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        },
    }))?;
    pods.create(&PostParams::default(), &pod).await?;
    let full = pods.get("job-1-pod").await?;

    let view = eventually("the pod in the store", || async {
        store.get(&kube::runtime::reflector::ObjectRef::new("job-1-pod").within("hub"))
    })
    .await;
    assert_eq!(view.phase.as_deref(), Some("Pending"));
    assert_eq!(view.containers.len(), 1);
    assert_eq!(view.containers[0].limits["nvidia.com/gpu"].0, "1");
    assert_eq!(view.containers[0].limits["memory"].0, "4Gi");
    assert_eq!(view.init_containers[0].limits["cpu"].0, "100m");
    assert_eq!(view.metadata.uid, full.metadata.uid);
    assert_eq!(view.labels()["app"], "primehub-job");
    assert_eq!(view.annotations()["primehub.io/group"], "phusers");
    assert_eq!(view.owner_references()[0].name, "job-1");
    assert!(view.metadata.managed_fields.is_none());
    assert!(view.metadata.finalizers.is_none());
    assert!(view.metadata.creation_timestamp.is_none());

    // The projection is a fraction of the pod (serialised sizes, a proxy for heap use).
    let full_size = serde_json::to_vec(&full)?.len();
    let view_size = serde_json::to_vec(&*view)?.len();
    assert!(
        view_size * 2 < full_size,
        "view {view_size} B vs pod {full_size} B"
    );

    // The store follows status changes.
    pods.patch_status(
        "job-1-pod",
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"phase": "Running"}})),
    )
    .await?;
    eventually("the phase change in the store", || async {
        store
            .state()
            .iter()
            .any(|p: &Arc<PodView>| p.phase.as_deref() == Some("Running"))
            .then_some(())
    })
    .await;
    Ok(())
}

/// Starts the job-summary controller on `client` for namespace `hub`.
fn start_controller(client: kube::Client, metrics: &Metrics) {
    let runtime = ControllerRuntime::new("job-summary", metrics);
    tokio::spawn(job_summary::run(client, Some("hub"), &runtime).for_each(|_| async {}));
}

#[tokio::test(start_paused = true)]
async fn the_job_summary_controller_converges_and_then_writes_nothing() -> TestResult {
    let cluster = FakeCluster::new();
    let client = cluster.client();
    let metrics = Metrics::new();
    start_controller(client.clone(), &metrics);

    let jobs: Api<PhJob> = Api::namespaced(client.clone(), "hub");
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), "hub");
    let created = jobs
        .create(&PostParams::default(), &job("job-1", "python a.py"))
        .await?;
    eventually("the summary", || async {
        summary_command(&maps, "job-1").await
    })
    .await;
    let summary = maps.get(&summary_name("job-1")).await?;
    let owner = &summary.owner_references()[0];
    assert_eq!(owner.uid, created.uid().unwrap_or_default());
    assert_eq!(owner.controller, Some(true));
    assert_eq!(summary.labels()[SUMMARY_LABEL], "job-1");
    let data = summary.data.clone().unwrap_or_default();
    assert_eq!(data["displayName"], "job job-1");
    assert_eq!(data["userName"], "phadmin");
    assert_eq!(data["group"], "phusers");

    // It reported what it did.
    let events: Api<EventsV1Event> = Api::namespaced(client.clone(), "hub");
    let reasons: Vec<String> = events
        .list(&Default::default())
        .await?
        .items
        .into_iter()
        .filter_map(|e| e.reason)
        .collect();
    assert_eq!(reasons, ["SummaryCreated"]);

    // Steady state: ten minutes (every requeue and watch timeout included) and no write.
    tokio::time::sleep(Duration::from_secs(60)).await;
    let settled = cluster.resource_version();
    let reconciles = metrics.reconciles("job-summary");
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert_eq!(
        cluster.resource_version(),
        settled,
        "the controller wrote at steady state"
    );
    assert_eq!(metrics.errors("job-summary", true), 0);
    assert!(reconciles >= 1);

    // A spec change is followed; a hand edit of the summary is put right (level-based).
    jobs.patch(
        "job-1",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"command": "python b.py"}})),
    )
    .await?;
    eventually("the new command", || async {
        (summary_command(&maps, "job-1").await.as_deref() == Some("python b.py")).then_some(())
    })
    .await;
    maps.patch(
        &summary_name("job-1"),
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"command": "rm -rf /"}})),
    )
    .await?;
    eventually("the summary put right", || async {
        (summary_command(&maps, "job-1").await.as_deref() == Some("python b.py")).then_some(())
    })
    .await;

    // Deleting the job removes the summary (the fake garbage-collects owned objects).
    jobs.delete("job-1", &DeleteParams::default()).await?;
    eventually("the summary gone", || async {
        maps.get_opt(&summary_name("job-1"))
            .await
            .ok()
            .and_then(|m| m.is_none().then_some(()))
    })
    .await;

    let text = metrics.encode();
    assert!(
        text.contains("primehub_controller_reconciles_total{controller=\"job-summary\"}"),
        "{text}"
    );
    assert!(text.contains("primehub_controller_reconcile_duration_seconds_count"));
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn the_controller_recovers_when_the_watch_history_expires_while_it_is_cut_off() -> TestResult
{
    let cluster = FakeCluster::new();
    // The controller's connection: a gate that holds watch requests while closed, and a
    // count of the PhJob lists (a relist is the watcher's answer to 410 Gone).
    let (gate, gate_rx) = tokio::sync::watch::channel(true);
    let job_lists = Arc::new(AtomicUsize::new(0));
    let lists = job_lists.clone();
    let router = cluster.router().layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let mut gate = gate_rx.clone();
            let lists = lists.clone();
            async move {
                let query = request.uri().query().unwrap_or("");
                if query.contains("watch=true") {
                    let _ = gate.wait_for(|open| *open).await;
                } else if request.uri().path().ends_with("/phjobs") {
                    lists.fetch_add(1, Ordering::SeqCst);
                }
                next.run(request).await
            }
        },
    ));
    let metrics = Metrics::new();
    start_controller(FakeCluster::client_for(router), &metrics);

    // Everyone else uses an ungated client.
    let client = cluster.client();
    let jobs: Api<PhJob> = Api::namespaced(client.clone(), "hub");
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), "hub");
    for (name, command) in [("job-a", "a1"), ("job-b", "b1")] {
        jobs.create(&PostParams::default(), &job(name, command))
            .await?;
    }
    for name in ["job-a", "job-b"] {
        eventually("the first summaries", || async {
            summary_command(&maps, name).await
        })
        .await;
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    let lists_before = job_lists.load(Ordering::SeqCst);

    // Cut the controller off: its watches end and it cannot start new ones.
    gate.send_replace(false);
    cluster.close_watches();
    tokio::time::sleep(Duration::from_secs(5)).await;

    // Changes it does not see: a spec change, a lost child, a new job.
    jobs.patch(
        "job-a",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"command": "a2"}})),
    )
    .await?;
    maps.delete(&summary_name("job-b"), &DeleteParams::default())
        .await?;
    jobs.create(&PostParams::default(), &job("job-c", "c1"))
        .await?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        summary_command(&maps, "job-a").await.as_deref(),
        Some("a1"),
        "the controller saw a change while cut off"
    );

    // The history it would resume from expires; then it is reconnected.
    cluster.expire_watch_history();
    gate.send_replace(true);

    eventually("convergence after the gap", || async {
        let a = summary_command(&maps, "job-a").await;
        let b = summary_command(&maps, "job-b").await;
        let c = summary_command(&maps, "job-c").await;
        (a.as_deref() == Some("a2") && b.as_deref() == Some("b1") && c.as_deref() == Some("c1"))
            .then_some(())
    })
    .await;
    assert!(
        job_lists.load(Ordering::SeqCst) > lists_before,
        "the watcher did not list again after 410 Gone"
    );
    Ok(())
}

/// Fails the first `failures` ConfigMap creates with HTTP 500, then allows.
struct FlakyConfigMaps {
    failures: AtomicUsize,
}

#[async_trait]
impl AdmissionHandler for FlakyConfigMaps {
    fn name(&self) -> &str {
        "flaky.primehub.io"
    }

    fn handles(
        &self,
        resource: &kube::core::GroupVersionResource,
        operation: &kube::core::admission::Operation,
    ) -> bool {
        resource.resource == "configmaps" && *operation == kube::core::admission::Operation::Create
    }

    async fn review(&self, request: &AdmissionRequest<DynamicObject>) -> AdmissionResponse {
        let response = AdmissionResponse::from(request);
        let left = self.failures.load(Ordering::SeqCst);
        if left == 0 {
            return response;
        }
        self.failures.store(left - 1, Ordering::SeqCst);
        let mut denied = response.deny("try again later");
        denied.result.code = 500;
        denied
    }
}

#[tokio::test(start_paused = true)]
async fn transient_errors_are_retried_with_backoff_and_counted() -> TestResult {
    let cluster = FakeCluster::new();
    cluster.add_admission_handler(Arc::new(FlakyConfigMaps {
        failures: AtomicUsize::new(3),
    }));
    let client = cluster.client();
    let metrics = Metrics::new();
    start_controller(client.clone(), &metrics);
    let jobs: Api<PhJob> = Api::namespaced(client.clone(), "hub");
    let maps: Api<ConfigMap> = Api::namespaced(client, "hub");
    let start = tokio::time::Instant::now();
    jobs.create(&PostParams::default(), &job("job-1", "x"))
        .await?;
    eventually("the summary after the failures", || async {
        summary_command(&maps, "job-1").await
    })
    .await;
    // Three failures: retried after 1 s, 2 s and 4 s.
    assert!(
        start.elapsed() >= Duration::from_secs(7),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(metrics.errors("job-summary", true), 3);
    assert_eq!(metrics.errors("job-summary", false), 0);
    assert!(metrics.encode().contains(
        "primehub_controller_reconcile_errors_total{controller=\"job-summary\",kind=\"transient\"} 3"
    ));
    Ok(())
}

#[test]
fn the_retry_policy_backs_off_transient_errors_and_waits_long_after_permanent_ones() {
    let policy = RetryPolicy::default();
    let transient = Error::Kube(KubeError::Unexpected {
        status: 503,
        message: "unavailable".into(),
    });
    let conflict = Error::Kube(KubeError::Conflict {
        kind: ConflictKind::ResourceVersion,
        message: "modified".into(),
    });
    let permanent = Error::Kube(KubeError::Forbidden {
        message: "no".into(),
    });
    let secs = |n| Duration::from_secs(n);
    assert_eq!(policy.delay(1, &transient), secs(1));
    assert_eq!(policy.delay(2, &transient), secs(2));
    assert_eq!(policy.delay(3, &conflict), secs(4));
    assert_eq!(policy.delay(9, &transient), secs(256));
    assert_eq!(policy.delay(10, &transient), secs(300));
    assert_eq!(policy.delay(1000, &transient), secs(300));
    assert_eq!(policy.delay(1, &permanent), secs(3600));

    // Per object, and the count starts again after a success (here: another object).
    let runtime = ControllerRuntime::new("test", &Metrics::new());
    let action = |key: &str, e: &Error| runtime.error_action(key, e);
    assert_eq!(
        action("hub/a", &transient),
        kube::runtime::controller::Action::requeue(secs(1))
    );
    assert_eq!(
        action("hub/a", &transient),
        kube::runtime::controller::Action::requeue(secs(2))
    );
    assert_eq!(
        action("hub/b", &transient),
        kube::runtime::controller::Action::requeue(secs(1))
    );
    assert_eq!(
        action("hub/b", &permanent),
        kube::runtime::controller::Action::requeue(secs(3600))
    );
}

#[tokio::test]
async fn the_new_kinds_pass_their_conformance_checks_on_the_fake() {
    let cluster = FakeCluster::new();
    primehub_reconcile::conformance_kinds::run_all(&cluster.client()).await;
}

#[tokio::test]
async fn a_watch_through_events_k8s_io_sees_core_events_converted() -> TestResult {
    let cluster = FakeCluster::new();
    let client = cluster.client();
    let events: Api<EventsV1Event> = Api::namespaced(client.clone(), "hub");
    let mut watch = events
        .watch(
            &kube::api::WatchParams::default().fields("regarding.name=job-1"),
            &cluster.resource_version(),
        )
        .await?
        .boxed();
    let core: Api<k8s_openapi::api::core::v1::Event> = Api::namespaced(client, "hub");
    for (name, regarding) in [("other.1", "job-2"), ("job-1.1", "job-1")] {
        core.create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "metadata": {"name": name},
                "involvedObject": {"kind": "PhJob", "name": regarding, "namespace": "hub"},
                "reason": "Started", "message": format!("{regarding} started"), "type": "Normal",
            }))?,
        )
        .await?;
    }
    match watch.next().await {
        Some(Ok(kube::api::WatchEvent::Added(event))) => {
            assert_eq!(event.metadata.name.as_deref(), Some("job-1.1"));
            assert_eq!(event.note.as_deref(), Some("job-1 started"));
            assert_eq!(
                event.regarding.and_then(|r| r.name).as_deref(),
                Some("job-1")
            );
        }
        other => panic!("expected the converted event, got {other:?}"),
    }
    Ok(())
}

/// A controller that keeps the `primehub.io/cleanup` finalizer on PhJobs with kube-runtime's
/// finalizer helper and records the names it cleaned up.
#[tokio::test(start_paused = true)]
async fn the_finalizer_helper_runs_on_the_fake() -> TestResult {
    use kube::runtime::finalizer::{Event as Finalizer, finalizer};
    const FINALIZER: &str = "primehub.io/cleanup";

    let cluster = FakeCluster::new();
    let client = cluster.client();
    let cleaned = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let jobs: Api<PhJob> = Api::namespaced(client.clone(), "hub");
    let controller = kube::runtime::Controller::new(jobs.clone(), Default::default());
    let runtime = ControllerRuntime::new("cleanup", &Metrics::new());
    let reconcile = {
        let jobs = jobs.clone();
        let cleaned = cleaned.clone();
        move |job: Arc<PhJob>, _ctx: Arc<()>| {
            let jobs = jobs.clone();
            let cleaned = cleaned.clone();
            async move {
                finalizer(&jobs, FINALIZER, job, |event| async move {
                    if let Finalizer::Cleanup(job) = event
                        && let Ok(mut list) = cleaned.lock()
                    {
                        list.push(job.name_any());
                    }
                    Ok::<_, Error>(kube::runtime::controller::Action::await_change())
                })
                .await
                .map_err(primehub_reconcile::runtime::finalizer_error)
            }
        }
    };
    tokio::spawn(
        runtime
            .run(controller, reconcile, Arc::new(()))
            .for_each(|_| async {}),
    );

    jobs.create(&PostParams::default(), &job("job-1", "x"))
        .await?;
    eventually("the finalizer", || async {
        let job = jobs.get("job-1").await.ok()?;
        job.finalizers()
            .contains(&FINALIZER.to_owned())
            .then_some(())
    })
    .await;

    jobs.delete("job-1", &DeleteParams::default()).await?;
    eventually("the job gone after its cleanup", || async {
        jobs.get_opt("job-1")
            .await
            .ok()
            .and_then(|j| j.is_none().then_some(()))
    })
    .await;
    assert_eq!(
        cleaned.lock().map(|l| l.clone()).unwrap_or_default(),
        ["job-1"]
    );
    Ok(())
}

/// kubectl (when installed) discovers the new kinds and reads them from the fake over HTTP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_sees_the_new_kinds() -> TestResult {
    if std::process::Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_err()
    {
        eprintln!("*** SKIPPED: kubectl is not installed (kubectl_sees_the_new_kinds) ***");
        return Ok(());
    }
    let cluster = FakeCluster::new();
    let server = cluster.serve(tokio::net::TcpListener::bind("127.0.0.1:0").await?)?;
    let roles: Api<k8s_openapi::api::rbac::v1::Role> = Api::namespaced(cluster.client(), "hub");
    roles
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "job-reader"}, "rules": []}))?,
        )
        .await?;
    let url = server.url().to_owned();
    let cache_dir = std::env::temp_dir().join(format!("kubectl-cache-{}", uuid::Uuid::new_v4()));
    let cache = cache_dir.clone();
    let kubectl = move |args: &'static [&'static str]| {
        let url = url.clone();
        let cache = cache.clone();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new("kubectl")
                .arg(format!("--server={url}"))
                .arg(format!("--cache-dir={}", cache.display()))
                .args(args)
                .output()
        })
    };
    let out = kubectl(&["api-resources", "--no-headers", "-o", "name"]).await??;
    let names = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for expected in [
        "events",
        "events.events.k8s.io",
        "persistentvolumes",
        "serviceaccounts",
        "roles.rbac.authorization.k8s.io",
        "rolebindings.rbac.authorization.k8s.io",
    ] {
        assert!(
            names.lines().any(|l| l.trim() == expected),
            "kubectl api-resources lacks {expected}: {names}"
        );
    }
    let out = kubectl(&["get", "roles", "-n", "hub", "-o", "name"]).await??;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "role.rbac.authorization.k8s.io/job-reader"
    );
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(&cache_dir);
    Ok(())
}
