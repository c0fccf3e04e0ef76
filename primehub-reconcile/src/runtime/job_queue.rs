//! The PhJob queue: moves pending jobs to `Preparing` when their group's and user's quotas
//! allow (PrimeHub's job scheduler, `primehub-controllers.md` §4.3).
//!
//! The decision is [`primehub_model::job_queue::plan`], on the same quota arithmetic and the
//! same pod ledger ([`PodUsage`]) the admission webhook decides with; this module feeds it and
//! writes its outcome:
//!
//! * **what is queued**: the PhJobs of the namespace in phase `Pending` (or with no status yet),
//!   not cancelled, from a reflector store of slim [`PhJobView`]s (a few hundred bytes a job,
//!   where a whole `PhJob` keeps its command script and managed fields);
//! * **what a job asks**: its instance type's limits as its pod will carry them
//!   ([`InstanceTypeResources::limits`]); a job whose instance type does not exist stays
//!   pending (PrimeHub's behaviour) and is logged;
//! * **quotas**: a [`QuotaSource`] (the Keycloak cache in the controller);
//! * **usage**: the pod ledger plus a **reservation** for every job in `Preparing` whose pod is
//!   not in the pod store yet — so a job started by one pass counts until its pod is counted,
//!   and two passes never start two jobs into one slot. A job this queue just started counts
//!   as `Preparing` even before the job watch shows the write;
//! * **outcome**: `Start` → `status.phase: Preparing`; a job bigger than its whole quota →
//!   `Failed`, reason `OverQuota`, PrimeHub's message, `finishTime`; a job whose group the quota
//!   source does not know waits: the PhJob controller stops the jobs of a deleted group
//!   ([`primehub_model::job_lifecycle::group_gone`]; PrimeHub's scheduler fails them with
//!   `cannot get group info` instead, and leaves their running jobs running). Each write is
//!   a merge patch of the status subresource with the job's `resourceVersion` as a
//!   precondition: a job changed meanwhile (cancelled, say) is decided again next pass.
//!
//! **When it runs.** Event-driven, not PrimeHub's 1-second poll: a pass runs after any PhJob
//! change, any pod change in the ledger ([`PodUsage::subscribe`]) and any quota change the
//! source reports ([`QuotaSource::changes`]), at most once per [`JobQueueConfig::min_gap`],
//! plus a safety pass every [`JobQueueConfig::safety_interval`] (instance types, or a source
//! that cannot report changes).
//!
//! **Metrics** (registered on the controller's [`Metrics`]):
//! `primehub_controller_job_queue_length{group}` (jobs waiting after the last pass),
//! `primehub_controller_jobs{phase}`, `primehub_controller_job_queue_pass_seconds`,
//! `primehub_controller_job_queue_started` and `…_failed` (counters).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::Resource;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::reflector::Store;
use kube::runtime::watcher;
use primehub_model::clock::Clock;
use primehub_model::crd::job::{PhJob, PhJobPhase, PhJobReason};
use primehub_model::job_queue::{Decision, NEVER_FITS_MESSAGE, QueuedJob, WithReservations, plan};
use primehub_model::pod::InstanceTypeResources;
use primehub_model::quota::{GroupQuotas, PodCharge, ResourceAmounts, UsageLedger};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use serde_json::json;
use std::borrow::Cow;

use crate::error::Error;
use crate::runtime::Metrics;
use crate::runtime::projection::{projected_store, slim_metadata};
use crate::stores::{PodUsage, ResourceStores};
use crate::webhook::quotas::QuotaSource;

/// A PhJob as the queue and the job metrics need it: slim metadata with the creation time,
/// group, user, instance type, `cancel` and the phase.
#[derive(Debug, Clone, PartialEq)]
pub struct PhJobView {
    /// [`slim_metadata`] plus `creationTimestamp`.
    pub metadata: ObjectMeta,
    /// `spec.groupName`.
    pub group: String,
    /// `spec.userName` (empty when unset).
    pub user: String,
    /// `spec.instanceType`.
    pub instance_type: String,
    /// `spec.cancel`.
    pub cancel: bool,
    /// `status.phase`, `Pending` when there is none yet.
    pub phase: PhJobPhase,
    /// `status.finishTime` (the cleaner's clock).
    pub finish_time: Option<jiff::Timestamp>,
}

impl From<PhJob> for PhJobView {
    fn from(job: PhJob) -> PhJobView {
        let phase = job.phase();
        let finish_time = job
            .status
            .as_ref()
            .and_then(|s| s.finish_time.as_ref())
            .map(|t| t.0);
        let created = job.metadata.creation_timestamp.clone();
        let mut metadata = slim_metadata(job.metadata);
        metadata.creation_timestamp = created;
        // The queue never reads them, and a job's annotations can be large.
        metadata.annotations = None;
        PhJobView {
            metadata,
            group: job.spec.group_name,
            user: job.spec.user_name.unwrap_or_default(),
            instance_type: job.spec.instance_type,
            cancel: job.spec.cancel,
            phase,
            finish_time,
        }
    }
}

impl Resource for PhJobView {
    type DynamicType = ();
    type Scope = NamespaceResourceScope;

    fn kind(_: &()) -> Cow<'_, str> {
        PhJob::kind(&())
    }

    fn group(_: &()) -> Cow<'_, str> {
        PhJob::group(&())
    }

    fn version(_: &()) -> Cow<'_, str> {
        PhJob::version(&())
    }

    fn plural(_: &()) -> Cow<'_, str> {
        PhJob::plural(&())
    }

    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

/// When the queue runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobQueueConfig {
    /// A pass runs at least this often, whatever happens (default 30 s).
    pub safety_interval: Duration,
    /// At most one pass per this interval, however many events arrive (default 200 ms).
    pub min_gap: Duration,
}

impl Default for JobQueueConfig {
    fn default() -> Self {
        JobQueueConfig {
            safety_interval: Duration::from_secs(30),
            min_gap: Duration::from_millis(200),
        }
    }
}

/// What one pass decided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PassReport {
    /// Jobs moved to `Preparing`.
    pub started: Vec<String>,
    /// Jobs failed (never fit, unknown group).
    pub failed: Vec<String>,
    /// Jobs still waiting, per group.
    pub waiting: BTreeMap<String, usize>,
    /// Jobs left out of the pass: missing or invalid instance type, a quota lookup that
    /// failed, a write that conflicted.
    pub skipped: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct GroupLabel {
    group: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct PhaseLabel {
    phase: String,
}

#[derive(Clone)]
struct QueueMetrics {
    waiting: Family<GroupLabel, Gauge>,
    jobs: Family<PhaseLabel, Gauge>,
    pass_seconds: Histogram,
    started: Counter,
    failed: Counter,
}

impl QueueMetrics {
    fn register(metrics: &Metrics) -> QueueMetrics {
        let m = QueueMetrics {
            waiting: Family::default(),
            jobs: Family::default(),
            pass_seconds: Histogram::new(exponential_buckets(0.0005, 2.0, 14)),
            started: Counter::default(),
            failed: Counter::default(),
        };
        metrics.register(
            "job_queue_length",
            "Pending jobs waiting for quota after the last pass, per group",
            m.waiting.clone(),
        );
        metrics.register("jobs", "PhJobs by phase", m.jobs.clone());
        metrics.register(
            "job_queue_pass_seconds",
            "How long a job queue pass took",
            m.pass_seconds.clone(),
        );
        metrics.register(
            "job_queue_started",
            "Jobs the queue moved to Preparing",
            m.started.clone(),
        );
        metrics.register(
            "job_queue_failed",
            "Jobs the queue failed (bigger than their quota, unknown group)",
            m.failed.clone(),
        );
        m
    }
}

/// A job this queue wrote, until the job store shows the write.
#[derive(Debug, Clone)]
struct Written {
    /// The resourceVersion the decision was made on.
    seen: Option<String>,
    /// The phase written.
    phase: PhJobPhase,
}

struct Inner {
    namespace: String,
    api: Api<PhJob>,
    stores: ResourceStores,
    jobs: Store<PhJobView>,
    jobs_ready: AtomicBool,
    quotas: Arc<dyn QuotaSource>,
    clock: Arc<dyn Clock>,
    metrics: QueueMetrics,
    written: Mutex<HashMap<String, Written>>,
    config: JobQueueConfig,
}

/// The job queue of one namespace. Cheap to clone. See the [module docs](self).
#[derive(Clone)]
pub struct JobQueue {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for JobQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobQueue")
            .field("namespace", &self.inner.namespace)
            .field("jobs", &self.inner.jobs.len())
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl JobQueue {
    /// A queue for the PhJobs of `stores`' namespace, and the driver future that watches the
    /// jobs and runs the passes (spawn it; it never ends). `stores` must be running (their
    /// driver spawned): the queue reads instance types and pod usage from them.
    pub fn start(
        client: kube::Client,
        stores: ResourceStores,
        quotas: Arc<dyn QuotaSource>,
        clock: Arc<dyn Clock>,
        metrics: &Metrics,
        config: JobQueueConfig,
    ) -> (JobQueue, impl Future<Output = ()> + Send + 'static) {
        let namespace = stores.namespace().to_owned();
        let api: Api<PhJob> = Api::namespaced(client, &namespace);
        let (jobs, events) =
            projected_store(api.clone(), watcher::Config::default(), PhJobView::from);
        let queue = JobQueue {
            inner: Arc::new(Inner {
                namespace,
                api,
                stores,
                jobs,
                jobs_ready: AtomicBool::new(false),
                quotas,
                clock,
                metrics: QueueMetrics::register(metrics),
                written: Mutex::new(HashMap::new()),
                config,
            }),
        };
        let wake = Arc::new(tokio::sync::Notify::new());
        let watch = {
            let queue = queue.clone();
            let wake = wake.clone();
            events.for_each(move |event| {
                match event {
                    Ok(watcher::Event::InitApply(_) | watcher::Event::Init) => {}
                    Ok(watcher::Event::InitDone) => {
                        queue.inner.jobs_ready.store(true, Ordering::Release);
                        wake.notify_one();
                    }
                    Ok(_) => wake.notify_one(),
                    Err(error) => tracing::warn!(%error, "PhJob watch failed; retrying"),
                }
                futures::future::ready(())
            })
        };
        let passes = queue.clone().run_passes(wake);
        let driver = futures::future::join(watch, passes).map(|_| ());
        (queue, driver)
    }

    async fn run_passes(self, wake: Arc<tokio::sync::Notify>) {
        let mut pods = self.inner.stores.usage().subscribe();
        let mut quotas = self.inner.quotas.changes();
        let config = self.inner.config;
        loop {
            let quota_change = async {
                match quotas.as_mut() {
                    Some(rx) => {
                        if rx.changed().await.is_err() {
                            std::future::pending::<()>().await;
                        }
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            let pod_change = async {
                if pods.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                () = wake.notified() => {}
                () = pod_change => {}
                () = quota_change => {}
                () = tokio::time::sleep(config.safety_interval) => {}
            }
            if self.is_ready()
                && let Err(error) = self.pass().await
            {
                tracing::warn!(%error, "job queue pass failed");
            }
            tokio::time::sleep(config.min_gap).await;
        }
    }

    /// Whether the job list, the stores and the quota source are ready for a pass.
    pub fn is_ready(&self) -> bool {
        self.inner.jobs_ready.load(Ordering::Acquire)
            && self.inner.stores.is_ready()
            && self.inner.quotas.is_ready()
    }

    /// The store of jobs the queue reads.
    pub fn jobs(&self) -> &Store<PhJobView> {
        &self.inner.jobs
    }

    /// What a job of `instance_type` asks, read and parsed once per pass (`requests`): an
    /// instance type is shared by many jobs.
    fn request(
        &self,
        instance_type: &str,
        requests: &mut HashMap<String, Option<ResourceAmounts>>,
    ) -> Option<ResourceAmounts> {
        if let Some(known) = requests.get(instance_type) {
            return *known;
        }
        let request = match self.inner.stores.instance_type(instance_type) {
            None => {
                tracing::info!(
                    instance_type,
                    "an instance type jobs name does not exist; they stay pending"
                );
                None
            }
            Some(it) => match InstanceTypeResources::from_instance_type(&it) {
                Ok(resources) => Some(resources.limits()),
                Err(error) => {
                    tracing::warn!(instance_type, %error, "an instance type jobs name is invalid; they stay pending");
                    None
                }
            },
        };
        requests.insert(instance_type.to_owned(), request);
        request
    }

    /// Runs one pass now: decides every pending job and writes the outcome (see the
    /// [module docs](self)).
    ///
    /// # Errors
    ///
    /// None today beyond what is logged per job; the `Result` leaves room for a failure of
    /// the whole pass.
    pub async fn pass(&self) -> Result<PassReport, Error> {
        let started_at = tokio::time::Instant::now();
        let jobs = self.inner.jobs.state();
        let mut report = PassReport::default();
        let effective = self.effective_phases(&jobs);
        self.count_phases(&jobs, &effective);

        // Reservations for started jobs whose pods are not in the store yet, and the queue.
        let mut reserved = UsageLedger::new();
        let mut requests: HashMap<String, Option<ResourceAmounts>> = HashMap::new();
        let mut pending: Vec<(Arc<PhJobView>, ResourceAmounts)> = Vec::new();
        for (job, phase) in jobs.iter().zip(&effective) {
            if job.cancel {
                continue;
            }
            match phase {
                PhJobPhase::Pending => match self.request(&job.instance_type, &mut requests) {
                    Some(request) => pending.push((job.clone(), request)),
                    None => report.skipped.push(name(job).to_owned()),
                },
                PhJobPhase::Preparing if self.inner.stores.usage().pod(name(job)).is_none() => {
                    if let Some(request) = self.request(&job.instance_type, &mut requests) {
                        reserved.apply(
                            &format!("{}/{}", self.inner.namespace, name(job)),
                            Some(PodCharge {
                                group: job.group.clone(),
                                user: Some(job.user.clone()).filter(|u| !u.is_empty()),
                                amounts: request,
                            }),
                        );
                    }
                }
                _ => {}
            }
        }

        // Quotas, once per group; a group whose lookup fails sits this pass out.
        let mut quotas: HashMap<String, Option<GroupQuotas>> = HashMap::new();
        let groups: HashSet<&str> = pending.iter().map(|(j, _)| j.group.as_str()).collect();
        for group in groups {
            match self.inner.quotas.group_quotas(group).await {
                Ok(q) => {
                    quotas.insert(group.to_owned(), q);
                }
                Err(error) => {
                    tracing::warn!(group, %error, "cannot read the group's quotas; its jobs wait");
                }
            }
        }
        pending.retain(|(job, _)| {
            let known = quotas.contains_key(&job.group);
            if !known {
                report.skipped.push(name(job).to_owned());
            }
            known
        });

        let queued: Vec<QueuedJob<'_>> = pending
            .iter()
            .map(|(job, request)| QueuedJob {
                name: name(job),
                group: &job.group,
                user: &job.user,
                created: created(job),
                request: *request,
            })
            .collect();
        let decisions = self.inner.stores.usage().with_ledger(|ledger| {
            let usage = WithReservations {
                usage: ledger,
                reserved: &reserved,
            };
            plan(&queued, |g| quotas.get(g).copied().flatten(), &usage)
        });

        let mut waiting: HashMap<&str, usize> = HashMap::new();
        for ((job, _), decision) in pending.iter().zip(decisions) {
            let status = match decision {
                Decision::Start => json!({"phase": PhJobPhase::Preparing}),
                Decision::NeverFits => {
                    self.failed_status(PhJobReason::OverQuota, NEVER_FITS_MESSAGE)
                }
                Decision::UnknownGroup => {
                    tracing::debug!(job = %name(job), group = %job.group, "the group is unknown: the job waits (the PhJob controller stops the jobs of a deleted group)");
                    *waiting.entry(job.group.as_str()).or_default() += 1;
                    continue;
                }
                Decision::WaitUser(_) | Decision::WaitGroup(_) | Decision::Queued => {
                    *waiting.entry(job.group.as_str()).or_default() += 1;
                    continue;
                }
            };
            let phase = if decision == Decision::Start {
                PhJobPhase::Preparing
            } else {
                PhJobPhase::Failed
            };
            match self.write(job, status).await {
                Ok(()) => {
                    lock(&self.inner.written).insert(
                        name(job).to_owned(),
                        Written {
                            seen: job.metadata.resource_version.clone(),
                            phase: phase.clone(),
                        },
                    );
                    if phase == PhJobPhase::Preparing {
                        tracing::info!(job = %name(job), group = %job.group, user = %job.user, "scheduled: Preparing");
                        self.inner.metrics.started.inc();
                        report.started.push(name(job).to_owned());
                    } else {
                        tracing::info!(job = %name(job), group = %job.group, ?decision, "failed by the queue");
                        self.inner.metrics.failed.inc();
                        report.failed.push(name(job).to_owned());
                    }
                }
                Err(error) => {
                    tracing::info!(job = %name(job), %error, "status write refused; the job is decided again next pass");
                    report.skipped.push(name(job).to_owned());
                }
            }
        }

        report.waiting = waiting
            .into_iter()
            .map(|(group, n)| (group.to_owned(), n))
            .collect();
        self.inner.metrics.waiting.clear();
        for (group, n) in &report.waiting {
            self.inner
                .metrics
                .waiting
                .get_or_create(&GroupLabel {
                    group: group.clone(),
                })
                .set(i64::try_from(*n).unwrap_or(i64::MAX));
        }
        self.inner
            .metrics
            .pass_seconds
            .observe(started_at.elapsed().as_secs_f64());
        Ok(report)
    }

    /// Each job's phase, counting this queue's writes the store has not shown yet; forgets
    /// the writes the store shows (or whose job is gone).
    fn effective_phases(&self, jobs: &[Arc<PhJobView>]) -> Vec<PhJobPhase> {
        let mut written = lock(&self.inner.written);
        if written.is_empty() {
            // The common case: nothing written that the store has not shown yet.
            return jobs.iter().map(|job| job.phase.canonical()).collect();
        }
        let mut still: HashMap<String, Written> = HashMap::new();
        let phases = jobs
            .iter()
            .map(|job| match written.remove(name(job)) {
                Some(w) if w.seen == job.metadata.resource_version => {
                    let phase = w.phase.clone();
                    still.insert(name(job).to_owned(), w);
                    phase
                }
                _ => job.phase.canonical(),
            })
            .collect();
        *written = still;
        phases
    }

    fn count_phases(&self, jobs: &[Arc<PhJobView>], phases: &[PhJobPhase]) {
        let mut counts: BTreeMap<String, i64> = [
            PhJobPhase::Pending,
            PhJobPhase::Preparing,
            PhJobPhase::Running,
            PhJobPhase::Succeeded,
            PhJobPhase::Failed,
            PhJobPhase::Cancelled,
            PhJobPhase::Unknown,
        ]
        .iter()
        .map(|p| (p.to_string(), 0))
        .collect();
        let mut by_phase: HashMap<&PhJobPhase, i64> = HashMap::new();
        for phase in phases.iter().take(jobs.len()) {
            *by_phase.entry(phase).or_default() += 1;
        }
        for (phase, n) in by_phase {
            *counts.entry(phase.to_string()).or_default() += n;
        }
        for (phase, n) in counts {
            self.inner
                .metrics
                .jobs
                .get_or_create(&PhaseLabel { phase })
                .set(n);
        }
    }

    fn failed_status(&self, reason: PhJobReason, message: &str) -> serde_json::Value {
        json!({
            "phase": PhJobPhase::Failed,
            "reason": reason,
            "message": message,
            "finishTime": Time(self.inner.clock.now()),
        })
    }

    async fn write(&self, job: &PhJobView, status: serde_json::Value) -> Result<(), Error> {
        let patch = json!({
            "metadata": {"resourceVersion": job.metadata.resource_version},
            "status": status,
        });
        self.inner
            .api
            .patch_status(name(job), &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map(|_| ())
            .map_err(|e| Error::KubeClient(Box::new(e)))
    }
}

fn name(job: &PhJobView) -> &str {
    job.metadata.name.as_deref().unwrap_or("")
}

fn created(job: &PhJobView) -> jiff::Timestamp {
    job.metadata
        .creation_timestamp
        .as_ref()
        .map(|t| t.0)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

/// The stores the queue needs, for tests and wiring: the pod usage.
impl JobQueue {
    /// The pod usage the queue decides on.
    pub fn usage(&self) -> &PodUsage {
        self.inner.stores.usage()
    }
}
