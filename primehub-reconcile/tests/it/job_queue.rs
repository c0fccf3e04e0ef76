//! `runtime::job_queue::JobQueue` on the fake cluster in process: PrimeHub's two scheduling
//! examples end to end, reservations until a started job's pod is counted, the queue moving
//! when a pod finishes or a quota grows (events, not a poll), jobs that can never fit and jobs
//! of an unknown group failed with PrimeHub's reasons and messages, cancelled jobs left alone,
//! and the queue metrics.
//!
//! Time is tokio's paused clock (waits are on conditions) and the fake's timestamps come from
//! a `ManualClock` advanced between job creations, so the queue's creation order is exact.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Patch, PatchParams, PostParams};
use primehub_model::clock::{Clock, ManualClock};
use primehub_model::crd::{InstanceType, PhJob, PhJobPhase, PhJobReason, PhJobSpec};
use primehub_model::job_queue::NEVER_FITS_MESSAGE;
use primehub_model::names::{LABEL_GROUP, LABEL_USER, escape_label};
use primehub_model::quantity::Gpu;
use primehub_model::quota::{GroupQuotas, Quota};
use primehub_reconcile::Error;
use primehub_reconcile::fake::FakeCluster;
use primehub_reconcile::runtime::Metrics;
use primehub_reconcile::runtime::job_queue::{JobQueue, JobQueueConfig};
use primehub_reconcile::stores::{ResourceStores, StoresConfig};
use primehub_reconcile::webhook::quotas::QuotaSource;
use serde_json::json;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const NS: &str = "hub";

/// Quotas a test sets, reporting each change as the Keycloak cache does.
struct TestQuotas {
    groups: Mutex<HashMap<String, GroupQuotas>>,
    changes: tokio::sync::watch::Sender<u64>,
}

impl TestQuotas {
    fn new(groups: &[(&str, GroupQuotas)]) -> Arc<TestQuotas> {
        Arc::new(TestQuotas {
            groups: Mutex::new(groups.iter().map(|(n, q)| ((*n).to_owned(), *q)).collect()),
            changes: tokio::sync::watch::Sender::new(0),
        })
    }

    fn set(&self, group: &str, quotas: GroupQuotas) {
        self.groups
            .lock()
            .expect("lock")
            .insert(group.to_owned(), quotas);
        self.changes.send_modify(|g| *g += 1);
    }
}

#[async_trait]
impl QuotaSource for TestQuotas {
    fn describe(&self) -> String {
        "test".to_owned()
    }

    async fn group_quotas(&self, group_name: &str) -> Result<Option<GroupQuotas>, Error> {
        Ok(self.groups.lock().expect("lock").get(group_name).copied())
    }

    fn changes(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        Some(self.changes.subscribe())
    }
}

fn gpus(n: u64) -> GroupQuotas {
    let q = Quota {
        gpu: Some(Gpu::from_count(n)),
        ..Quota::UNLIMITED
    };
    GroupQuotas { user: q, group: q }
}

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

struct Setup {
    clock: Arc<ManualClock>,
    jobs: Api<PhJob>,
    pods: Api<Pod>,
    queue: JobQueue,
    metrics: Metrics,
}

async fn setup(
    quotas: Arc<dyn QuotaSource>,
    config: JobQueueConfig,
) -> Result<Setup, Box<dyn std::error::Error>> {
    let clock = Arc::new(ManualClock::at("2026-12-04T08:00:00Z".parse()?));
    let cluster = FakeCluster::with_clock(clock.clone());
    let client = cluster.client();
    let its: Api<InstanceType> = Api::namespaced(client.clone(), NS);
    for (name, n) in [("gpu-1", 1), ("gpu-2", 2), ("gpu-4", 4), ("gpu-8", 8)] {
        let it: InstanceType = serde_json::from_value(json!({
            "apiVersion": "primehub.io/v1alpha1", "kind": "InstanceType",
            "metadata": {"name": name},
            "spec": {"limits.cpu": 1, "limits.memory": "1G", "limits.nvidia.com/gpu": n},
        }))?;
        its.create(&PostParams::default(), &it).await?;
    }
    let (stores, driver) = ResourceStores::start(client.clone(), StoresConfig::new(NS));
    tokio::spawn(driver);
    stores.wait_ready(Duration::from_secs(10)).await?;
    let metrics = Metrics::new();
    let (queue, driver) = JobQueue::start(
        client.clone(),
        stores,
        quotas,
        clock.clone() as Arc<dyn Clock>,
        &metrics,
        config,
    );
    tokio::spawn(driver);
    eventually("the queue is ready", || async {
        queue.is_ready().then_some(())
    })
    .await;
    Ok(Setup {
        clock,
        jobs: Api::namespaced(client.clone(), NS),
        pods: Api::namespaced(client, NS),
        queue,
        metrics,
    })
}

impl Setup {
    /// Creates a pending job one second after the previous one.
    async fn submit(&self, name: &str, group: &str, user: &str, instance_type: &str) -> TestResult {
        self.clock.advance(jiff::SignedDuration::from_secs(1));
        let mut job = PhJob::new(
            name,
            PhJobSpec {
                display_name: name.to_owned(),
                user_id: format!("id-{user}"),
                user_name: Some(user.to_owned()),
                group_id: format!("id-{group}"),
                group_name: group.to_owned(),
                instance_type: instance_type.to_owned(),
                image: "base".to_owned(),
                command: "echo".to_owned(),
                ..PhJobSpec::default()
            },
        );
        job.metadata.namespace = Some(NS.to_owned());
        self.jobs.create(&PostParams::default(), &job).await?;
        self.jobs
            .patch_status(
                name,
                &PatchParams::default(),
                &Patch::Merge(json!({"status": {"phase": "Pending", "reason": "OverQuota", "message": "Insufficient group/user quota"}})),
            )
            .await?;
        Ok(())
    }

    async fn phase(&self, name: &str) -> PhJobPhase {
        self.jobs.get(name).await.expect("the job exists").phase()
    }

    async fn wait_phase(&self, name: &str, phase: PhJobPhase) {
        eventually(&format!("{name} in {phase}"), || async {
            (self.phase(name).await == phase).then_some(())
        })
        .await;
    }

    /// The job's pod, as the PhJob controller will create it (group and user labels, the
    /// instance type's GPUs), in `phase`.
    async fn pod(&self, job: &str, group: &str, user: &str, gpus: u32, phase: &str) -> TestResult {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": job, "labels": {
                LABEL_GROUP: escape_label(group), LABEL_USER: escape_label(user), "app": "primehub-job"}},
            "spec": {"containers": [{"name": "main", "image": "base",
                "resources": {"limits": {"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": gpus.to_string()}}}]},
        }))?;
        self.pods.create(&PostParams::default(), &pod).await?;
        self.pod_phase(job, phase).await
    }

    async fn pod_phase(&self, name: &str, phase: &str) -> TestResult {
        self.pods
            .patch_status(
                name,
                &PatchParams::default(),
                &Patch::Merge(json!({"status": {"phase": phase}})),
            )
            .await?;
        Ok(())
    }

    /// Lets every pending event reach the queue and its passes run (virtual time).
    async fn settle(&self) {
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// The safety pass far away, so whatever happens in a test happened because of an event.
fn events_only() -> JobQueueConfig {
    JobQueueConfig {
        safety_interval: Duration::from_secs(24 * 3600),
        ..JobQueueConfig::default()
    }
}

#[tokio::test(start_paused = true)]
async fn primehub_example_1_the_group_quota_holds_the_queue_in_order() -> TestResult {
    let s = setup(TestQuotas::new(&[("ml", gpus(4))]), events_only()).await?;
    s.submit("a", "ml", "bob", "gpu-2").await?;
    s.submit("b", "ml", "pan", "gpu-4").await?;
    s.submit("c", "ml", "lin", "gpu-2").await?;
    s.wait_phase("a", PhJobPhase::Preparing).await;
    s.settle().await;
    assert_eq!(s.phase("b").await, PhJobPhase::Pending);
    assert_eq!(
        s.phase("c").await,
        PhJobPhase::Pending,
        "c waits behind b (strict FIFO) though 2 GPUs are free"
    );
    let metrics = s.metrics.encode();
    assert!(
        metrics.contains("primehub_controller_job_queue_length{group=\"ml\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("primehub_controller_jobs{phase=\"Preparing\"} 1"),
        "{metrics}"
    );

    // a's pod runs: it is counted by the ledger instead of the reservation; nothing moves.
    s.pod("a", "ml", "bob", 2, "Running").await?;
    s.settle().await;
    assert_eq!(s.phase("b").await, PhJobPhase::Pending);
    // a's pod finishes: the pod event wakes the queue, b takes the 4 GPUs, c still waits.
    s.pod_phase("a", "Succeeded").await?;
    s.wait_phase("b", PhJobPhase::Preparing).await;
    s.settle().await;
    assert_eq!(s.phase("c").await, PhJobPhase::Pending);
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn primehub_example_2_a_user_over_quota_does_not_block_others() -> TestResult {
    let s = setup(TestQuotas::new(&[("ml", gpus(4))]), events_only()).await?;
    s.submit("a", "ml", "bob", "gpu-2").await?;
    s.submit("b", "ml", "bob", "gpu-4").await?;
    s.submit("c", "ml", "lin", "gpu-2").await?;
    s.wait_phase("c", PhJobPhase::Preparing).await;
    assert_eq!(s.phase("a").await, PhJobPhase::Preparing);
    assert_eq!(
        s.phase("b").await,
        PhJobPhase::Pending,
        "bob has 2 GPUs left"
    );
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_started_job_counts_until_its_pod_is_counted() -> TestResult {
    let s = setup(TestQuotas::new(&[("ml", gpus(2))]), events_only()).await?;
    s.submit("first", "ml", "bob", "gpu-2").await?;
    s.wait_phase("first", PhJobPhase::Preparing).await;
    s.submit("second", "ml", "lin", "gpu-1").await?;
    // Passes run (the job events wake the queue, and a pass is forced here), but the first
    // job's 2 GPUs are reserved though no pod exists yet.
    s.settle().await;
    let report = s.queue.pass().await?;
    assert!(report.started.is_empty(), "{report:?}");
    assert_eq!(report.waiting.get("ml"), Some(&1));
    assert_eq!(s.phase("second").await, PhJobPhase::Pending);
    // The pod exists and is pending: the ledger counts it, still no room.
    s.pod("first", "ml", "bob", 2, "Pending").await?;
    s.settle().await;
    assert_eq!(s.phase("second").await, PhJobPhase::Pending);
    // It failed: no longer counted, the second job starts.
    s.pod_phase("first", "Failed").await?;
    s.wait_phase("second", PhJobPhase::Preparing).await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_bigger_quota_starts_waiting_jobs_at_once() -> TestResult {
    let quotas = TestQuotas::new(&[("ml", gpus(1))]);
    let s = setup(quotas.clone(), events_only()).await?;
    s.submit("a", "ml", "bob", "gpu-1").await?;
    s.submit("b", "ml", "bob", "gpu-1").await?;
    s.wait_phase("a", PhJobPhase::Preparing).await;
    s.settle().await;
    assert_eq!(s.phase("b").await, PhJobPhase::Pending);
    quotas.set("ml", gpus(2));
    s.wait_phase("b", PhJobPhase::Preparing).await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_job_bigger_than_its_quota_fails_with_primehubs_message() -> TestResult {
    let s = setup(TestQuotas::new(&[("ml", gpus(4))]), events_only()).await?;
    s.submit("huge", "ml", "bob", "gpu-8").await?;
    s.submit("small", "ml", "bob", "gpu-1").await?;
    s.wait_phase("huge", PhJobPhase::Failed).await;
    let status = s.jobs.get("huge").await?.status.expect("a status");
    assert_eq!(status.reason, Some(PhJobReason::OverQuota));
    assert_eq!(status.message.as_deref(), Some(NEVER_FITS_MESSAGE));
    assert_eq!(
        status.finish_time.map(|t| t.0),
        Some(s.clock.now()),
        "finishTime from the injected clock"
    );
    s.wait_phase("small", PhJobPhase::Preparing).await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_job_of_an_unknown_group_waits_and_a_cancelled_one_is_left_alone() -> TestResult {
    let s = setup(TestQuotas::new(&[("ml", gpus(4))]), events_only()).await?;
    s.submit("orphan", "deleted-group", "bob", "gpu-1").await?;
    s.submit("other", "ml", "bob", "gpu-1").await?;
    s.wait_phase("other", PhJobPhase::Preparing).await;
    s.settle().await;
    assert_eq!(
        s.phase("orphan").await,
        PhJobPhase::Pending,
        "the queue neither starts nor fails it: the PhJob controller stops the jobs of a deleted group"
    );

    s.submit("cancelled", "ml", "bob", "gpu-1").await?;
    s.jobs
        .patch(
            "cancelled",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"cancel": true}})),
        )
        .await?;
    s.settle().await;
    s.queue.pass().await?;
    assert_eq!(
        s.phase("cancelled").await,
        PhJobPhase::Pending,
        "the PhJob controller cancels it; the queue does not start it"
    );
    // A job whose instance type does not exist stays pending (PrimeHub's behaviour).
    s.submit("no-it", "ml", "bob", "missing").await?;
    s.settle().await;
    let report = s.queue.pass().await?;
    assert!(report.skipped.contains(&"no-it".to_owned()), "{report:?}");
    assert_eq!(s.phase("no-it").await, PhJobPhase::Pending);
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn the_safety_pass_runs_without_events() -> TestResult {
    // A source that cannot report changes: the periodic pass picks a new quota up.
    struct Quiet(Mutex<GroupQuotas>);
    #[async_trait]
    impl QuotaSource for Quiet {
        fn describe(&self) -> String {
            "quiet".to_owned()
        }
        async fn group_quotas(&self, _: &str) -> Result<Option<GroupQuotas>, Error> {
            Ok(Some(*self.0.lock().expect("lock")))
        }
    }
    let quotas = Arc::new(Quiet(Mutex::new(gpus(0))));
    let config = JobQueueConfig {
        safety_interval: Duration::from_secs(30),
        ..JobQueueConfig::default()
    };
    let s = setup(quotas.clone(), config).await?;
    // One GPU, taken by another user's running pod.
    *quotas.0.lock().expect("lock") = gpus(1);
    s.pod("other", "ml", "lin", 1, "Running").await?;
    s.submit("a", "ml", "bob", "gpu-1").await?;
    s.settle().await;
    assert_eq!(s.phase("a").await, PhJobPhase::Pending);
    *quotas.0.lock().expect("lock") = gpus(2);
    let before = tokio::time::Instant::now();
    s.wait_phase("a", PhJobPhase::Preparing).await;
    assert!(
        before.elapsed() <= Duration::from_secs(31),
        "started by the safety pass within its interval"
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The PhJob controller with the queue and the resource-validation webhook, in process.

use kube::{Resource, ResourceExt};
use primehub_model::job_lifecycle::{
    CANCELLED_MESSAGE, COMPLETED_MESSAGE, LifecycleConfig, RUNNING_MESSAGE,
};
use primehub_reconcile::runtime::ControllerRuntime;
use primehub_reconcile::runtime::phjob::{self, Cleaner, JobEnvironment};
use primehub_reconcile::webhook::quotas::StaticQuotas;
use primehub_reconcile::webhook::resources::ResourcesValidation;

/// Builds a job's pod as the real builder lays out what the webhook counts: the group and
/// user labels, the instance type's GPUs, the owner reference; `Image not found: <image>`
/// for an image named `missing`.
struct TestEnvironment;

#[async_trait]
impl JobEnvironment for TestEnvironment {
    async fn group_default_deadline(&self, group_name: &str) -> Option<u64> {
        (group_name == "short").then_some(30)
    }

    async fn build_pod(&self, job: &PhJob) -> Result<Pod, String> {
        if job.spec.image == "missing" {
            return Err(format!("Image not found: {}", job.spec.image));
        }
        let gpus = job.spec.instance_type.trim_start_matches("gpu-").to_owned();
        let mut pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": job.name_any(), "namespace": NS, "labels": {
                "app": "primehub-job",
                LABEL_GROUP: escape_label(&job.spec.group_name),
                LABEL_USER: escape_label(job.spec.user_name.as_deref().unwrap_or(""))}},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "base",
                "resources": {"limits": {"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": gpus}}}]},
        }))
        .map_err(|e| e.to_string())?;
        pod.metadata.owner_references = job.controller_owner_ref(&()).map(|o| vec![o]);
        Ok(pod)
    }
}

struct Platform {
    s: Setup,
    cleaner: Cleaner,
}

/// The queue (quotas `queue`), the PhJob controller and the resource-validation webhook
/// (quotas `webhook`) on one fake cluster.
async fn platform(
    queue: &[(&str, GroupQuotas)],
    webhook: &[(&str, GroupQuotas)],
) -> Result<Platform, Box<dyn std::error::Error>> {
    let clock = Arc::new(ManualClock::at("2026-12-04T08:00:00Z".parse()?));
    let cluster = FakeCluster::with_clock(clock.clone());
    let client = cluster.client();
    let (usage, driver) =
        primehub_reconcile::stores::PodUsage::start(client.clone(), NS, Some(LABEL_GROUP));
    tokio::spawn(driver);
    let webhook_quotas = Arc::new(StaticQuotas::new(
        webhook.iter().map(|(n, q)| ((*n).to_owned(), *q)),
    ));
    cluster.add_admission_handler(Arc::new(
        ResourcesValidation::new(webhook_quotas).watching(NS, usage),
    ));
    let its: Api<InstanceType> = Api::namespaced(client.clone(), NS);
    for (name, n) in [("gpu-0", 0), ("gpu-1", 1), ("gpu-2", 2), ("gpu-4", 4)] {
        let it: InstanceType = serde_json::from_value(json!({
            "apiVersion": "primehub.io/v1alpha1", "kind": "InstanceType",
            "metadata": {"name": name},
            "spec": {"limits.cpu": 1, "limits.memory": "1Gi", "limits.nvidia.com/gpu": n},
        }))?;
        its.create(&PostParams::default(), &it).await?;
    }
    let (stores, driver) = ResourceStores::start(client.clone(), StoresConfig::new(NS));
    tokio::spawn(driver);
    stores.wait_ready(Duration::from_secs(10)).await?;
    let metrics = Metrics::new();
    let (job_queue, driver) = JobQueue::start(
        client.clone(),
        stores,
        TestQuotas::new(queue),
        clock.clone() as Arc<dyn Clock>,
        &metrics,
        events_only(),
    );
    tokio::spawn(driver);
    let context = phjob::Context::new(
        client.clone(),
        Arc::new(TestEnvironment),
        clock.clone() as Arc<dyn Clock>,
        LifecycleConfig::default(),
    );
    let runtime = ControllerRuntime::new("phjob", &metrics);
    let controller = phjob::run(client.clone(), NS, context, &runtime);
    tokio::spawn(futures::StreamExt::for_each(controller, |_| async {}));
    eventually("the queue is ready", || async {
        job_queue.is_ready().then_some(())
    })
    .await;
    let cleaner = Cleaner::new(
        client.clone(),
        NS,
        job_queue.jobs().clone(),
        clock.clone() as Arc<dyn Clock>,
        3600,
        2,
    );
    Ok(Platform {
        s: Setup {
            clock,
            jobs: Api::namespaced(client.clone(), NS),
            pods: Api::namespaced(client, NS),
            queue: job_queue,
            metrics,
        },
        cleaner,
    })
}

impl Setup {
    /// Creates a job as GraphQL does (no status: the controller initialises it).
    async fn create_job(
        &self,
        name: &str,
        group: &str,
        user: &str,
        it: &str,
        image: &str,
        extra: serde_json::Value,
    ) -> TestResult {
        self.clock.advance(jiff::SignedDuration::from_secs(1));
        let mut spec = json!({
            "displayName": name, "userId": format!("id-{user}"), "userName": user,
            "groupId": format!("id-{group}"), "groupName": group, "instanceType": it,
            "image": image, "command": "echo hi",
        });
        if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
            spec.extend(extra.clone());
        }
        let job: PhJob = serde_json::from_value(json!({
            "apiVersion": "primehub.io/v1alpha1", "kind": "PhJob",
            "metadata": {"name": name, "namespace": NS}, "spec": spec,
        }))?;
        self.jobs.create(&PostParams::default(), &job).await?;
        Ok(())
    }

    async fn status(&self, name: &str) -> primehub_model::crd::PhJobStatus {
        self.jobs
            .get(name)
            .await
            .expect("the job")
            .status
            .unwrap_or_default()
    }
}

#[tokio::test(start_paused = true)]
async fn a_job_runs_from_submission_to_success_and_its_pod_goes_after_the_ttl() -> TestResult {
    let p = platform(&[("ml", gpus(4))], &[("ml", gpus(4))]).await?;
    let s = &p.s;
    s.create_job("train", "ml", "bob", "gpu-2", "base", json!({}))
        .await?;
    // The controller fills in the defaults; the queue starts it; the controller creates the
    // pod through the webhook, which admits it.
    eventually("the pod", || async {
        s.pods.get_opt("train").await.ok().flatten()
    })
    .await;
    let job = s.jobs.get("train").await?;
    assert_eq!(job.spec.active_deadline_seconds, Some(86_400));
    assert_eq!(job.spec.ttl_seconds_after_finished, Some(604_800));
    eventually("podName", || async { s.status("train").await.pod_name }).await;
    let pod = s.pods.get("train").await?;
    assert_eq!(pod.owner_references()[0].name, "train");
    assert!(pod.owner_references()[0].controller == Some(true));

    s.pod_phase("train", "Running").await?;
    s.wait_phase("train", PhJobPhase::Running).await;
    let status = s.status("train").await;
    assert_eq!(status.message.as_deref(), Some(RUNNING_MESSAGE));
    assert_eq!(status.start_time.map(|t| t.0), Some(s.clock.now()));

    s.clock.advance(jiff::SignedDuration::from_secs(60));
    s.pod_phase("train", "Succeeded").await?;
    s.wait_phase("train", PhJobPhase::Succeeded).await;
    let status = s.status("train").await;
    assert_eq!(status.message.as_deref(), Some(COMPLETED_MESSAGE));
    assert_eq!(status.finish_time.map(|t| t.0), Some(s.clock.now()));
    // Each phase change is its own Event with its own note (the recorder folds events of one
    // action into a series keeping the first note; found on the real API server, where the
    // Succeeded change showed as a second count of "Running").
    let events: Api<k8s_openapi::api::events::v1::Event> =
        Api::namespaced(s.jobs.clone().into_client(), NS);
    let notes = eventually("the phase-change Events", || async {
        let mut notes: Vec<String> = events
            .list(&Default::default())
            .await
            .ok()?
            .items
            .into_iter()
            .filter(|e| {
                e.reason.as_deref() == Some("PhJobPhaseChanged")
                    && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("train")
            })
            .filter_map(|e| e.note)
            .collect();
        notes.sort();
        notes
            .iter()
            .any(|n| n.starts_with("Succeeded"))
            .then_some(notes)
    })
    .await;
    assert!(
        notes.contains(&format!("Running: {RUNNING_MESSAGE}")),
        "{notes:?}"
    );
    assert!(
        notes.contains(&format!("Succeeded: {COMPLETED_MESSAGE}")),
        "{notes:?}"
    );

    // A week later (the default TTL) the pod is deleted; the job stays.
    s.clock.advance(jiff::SignedDuration::from_secs(604_801));
    tokio::time::sleep(Duration::from_secs(604_801)).await;
    eventually("the pod deleted", || async {
        s.pods
            .get_opt("train")
            .await
            .ok()
            .flatten()
            .is_none()
            .then_some(())
    })
    .await;
    assert_eq!(s.phase("train").await, PhJobPhase::Succeeded);
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_job_loses_its_pod_and_the_group_deadline_applies() -> TestResult {
    let p = platform(&[("short", gpus(4))], &[("short", gpus(4))]).await?;
    let s = &p.s;
    s.create_job("c", "short", "bob", "gpu-1", "base", json!({}))
        .await?;
    eventually("the pod", || async {
        s.pods.get_opt("c").await.ok().flatten()
    })
    .await;
    assert_eq!(
        s.jobs.get("c").await?.spec.active_deadline_seconds,
        Some(30),
        "the group's job-default-active-deadline-seconds"
    );
    s.jobs
        .patch(
            "c",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"cancel": true}})),
        )
        .await?;
    s.wait_phase("c", PhJobPhase::Cancelled).await;
    let status = s.status("c").await;
    assert_eq!(status.reason, Some(PhJobReason::Cancelled));
    assert_eq!(status.message.as_deref(), Some(CANCELLED_MESSAGE));
    eventually("the pod deleted", || async {
        s.pods
            .get_opt("c")
            .await
            .ok()
            .flatten()
            .is_none()
            .then_some(())
    })
    .await;

    // The deadline: 30 s after the pod is first seen running, the job fails.
    s.create_job("d", "short", "bob", "gpu-1", "base", json!({}))
        .await?;
    eventually("the pod", || async {
        s.pods.get_opt("d").await.ok().flatten()
    })
    .await;
    s.pod_phase("d", "Running").await?;
    s.wait_phase("d", PhJobPhase::Running).await;
    s.clock.advance(jiff::SignedDuration::from_secs(30));
    tokio::time::sleep(Duration::from_secs(31)).await;
    s.wait_phase("d", PhJobPhase::Failed).await;
    assert_eq!(
        s.status("d").await.reason,
        Some(PhJobReason::OverActivateDeadline)
    );
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_webhook_refusal_requeues_until_the_requeue_limit() -> TestResult {
    // The queue thinks 2 GPUs fit; the webhook's quota says 1: every pod is refused.
    let p = platform(&[("ml", gpus(4))], &[("ml", gpus(1))]).await?;
    let s = &p.s;
    s.create_job(
        "r",
        "ml",
        "bob",
        "gpu-2",
        "base",
        json!({"requeueLimit": 1}),
    )
    .await?;
    eventually("a first refusal", || async {
        let st = s.status("r").await;
        (st.requeued >= Some(1)).then_some(())
    })
    .await;
    s.wait_phase("r", PhJobPhase::Failed).await;
    let status = s.status("r").await;
    assert_eq!(status.reason, Some(PhJobReason::OverRequeueLimit));
    assert_eq!(status.requeued, Some(2));
    assert!(s.pods.get_opt("r").await?.is_none(), "no pod was admitted");
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_pod_that_cannot_be_built_fails_the_job_and_the_cleaner_keeps_the_newest() -> TestResult {
    let p = platform(&[("ml", gpus(4))], &[("ml", gpus(4))]).await?;
    let s = &p.s;
    s.create_job("bad", "ml", "bob", "gpu-1", "missing", json!({}))
        .await?;
    s.wait_phase("bad", PhJobPhase::Failed).await;
    let status = s.status("bad").await;
    assert_eq!(status.reason, Some(PhJobReason::PodCreationFailed));
    assert_eq!(status.message.as_deref(), Some("Image not found: missing"));

    for name in ["bad-2", "bad-3"] {
        s.create_job(name, "ml", "bob", "gpu-1", "missing", json!({}))
            .await?;
        s.wait_phase(name, PhJobPhase::Failed).await;
    }
    eventually("the queue's store shows the three failures", || async {
        (s.queue
            .jobs()
            .state()
            .iter()
            .filter(|j| j.phase == PhJobPhase::Failed)
            .count()
            == 3)
            .then_some(())
    })
    .await;
    // Limit 2: the oldest goes.
    assert_eq!(p.cleaner.sweep().await, ["bad"]);
    // An hour (the cleaner's TTL) later, the others go too.
    s.clock.advance(jiff::SignedDuration::from_secs(3601));
    eventually("the store drops bad", || async {
        (s.queue.jobs().state().len() == 2).then_some(())
    })
    .await;
    let mut swept = p.cleaner.sweep().await;
    swept.sort();
    assert_eq!(swept, ["bad-2", "bad-3"]);
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn with_the_pod_simulator_a_job_runs_by_itself_and_logs_its_echoes() -> TestResult {
    use primehub_reconcile::fake::kubelet::{PodSimulator, SimulatorConfig};
    let clock = Arc::new(ManualClock::at("2026-12-04T08:00:00Z".parse()?));
    let cluster = FakeCluster::with_clock(clock.clone());
    let client = cluster.client();
    tokio::spawn(PodSimulator::new(cluster.clone(), NS, SimulatorConfig::default()).run());
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    for (name, script) in [
        ("ok", "sleep 1\nsleep 30; echo done"),
        ("bad", "echo oops; exit 2"),
    ] {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": name, "labels": {LABEL_GROUP: "ml"}},
            "spec": {"containers": [{"name": "main", "image": "base",
                "command": ["/scripts/run-job.sh"], "args": [script]}]},
        }))?;
        pods.create(&PostParams::default(), &pod).await?;
    }
    let phase = |name: &'static str| {
        let pods = pods.clone();
        async move {
            pods.get(name)
                .await
                .ok()
                .and_then(|p| p.status)
                .and_then(|s| s.phase)
                .unwrap_or_default()
        }
    };
    let started = tokio::time::Instant::now();
    eventually("ok running", || async {
        (phase("ok").await == "Running").then_some(())
    })
    .await;
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "pending for start_after"
    );
    eventually("ok succeeded", || async {
        (phase("ok").await == "Succeeded").then_some(())
    })
    .await;
    assert!(
        started.elapsed() >= Duration::from_secs(33),
        "ran its 31 s of sleeps"
    );
    let logs = pods.logs("ok", &Default::default()).await?;
    assert_eq!(logs, "done\n");
    eventually("bad failed", || async {
        (phase("bad").await == "Failed").then_some(())
    })
    .await;
    let bad = pods.get("bad").await?;
    let terminated = bad
        .status
        .and_then(|s| s.container_statuses)
        .and_then(|c| c.into_iter().next())
        .and_then(|c| c.state)
        .and_then(|s| s.terminated)
        .expect("a terminated state");
    assert_eq!(
        (terminated.exit_code, terminated.reason.as_deref()),
        (2, Some("Error"))
    );
    Ok(())
}
