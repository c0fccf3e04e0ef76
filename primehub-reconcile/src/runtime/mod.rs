//! What PrimeHub's controllers share on top of kube-runtime.
//!
//! The controller machinery is kube-runtime itself — `watcher`, reflector `Store`s,
//! `Controller`, finalizer helpers, the event `Recorder` — over a `kube::Client` (a real one, or
//! `FakeCluster::client()` in process, feature `fake`). This module adds only
//! what every PrimeHub controller would otherwise repeat:
//!
//! - [`projection`]: reflector stores that keep only what readers need, such as
//!   [`projection::PodView`] (a slim pod: identity metadata, phase, container limits);
//! - [`finalizer_error`]: kube-runtime's `finalizer` helper with [`crate::Error`];
//! - [`ControllerRuntime`]: runs a `Controller` with [`crate::Error`] as the reconcile error,
//!   a [`RetryPolicy`] (transient errors requeued with exponential backoff per object,
//!   permanent ones after a long delay) and [`Metrics`] (reconciles, errors, durations) that
//!   [`Metrics::encode`] renders for `/metrics`;
//! - [`group_volume`]: the NFS server and PersistentVolume behind every `primehub-group`
//!   claim (PrimeHub's `groupvolume` metacontroller hooks), their removal, and each shared
//!   volume's readiness in `/metrics`;
//! - [`job_queue`]: the PhJob queue (Pending → Preparing) on the webhook's quota arithmetic
//!   and pod ledger, event-driven;
//! - [`phjob`]: the PhJob controller (a started job's pod and status, cancel, TTL, requeue
//!   limit, deadline) and the cleaner of finished jobs;
//! - [`job_world`]: the job controllers' view of PrimeHub (Keycloak cache and resource stores)
//!   and the job's pod built from it;
//! - [`jobs`]: the queue, the PhJob controller, the cleaner and the PhSchedule controller
//!   started together, as the binaries run them;
//! - [`dataset_children`]: the git-sync DaemonSets and upload servers of Datasets (PrimeHub's
//!   metacontroller hooks as two level-based controllers);
//! - [`leader`]: leader election on a Lease (client-go's protocol on the injected clock), so
//!   the controller runs with replicas;
//! - [`job_summary`]: a small level-based controller built with them, the worked example of
//!   the pattern (docs, `examples/job_summary_controller.rs`, tests on the fake and on a real
//!   API server);
//! - [`schedule`]: the PhSchedule controller (PrimeHub's recurring jobs), with its
//!   [`schedule::ScheduleContext`] (system time zone, job-template validation, deleted
//!   groups).
//!
//! A controller on the fake cluster, run until it has converged:
//!
//! ```
//! # #[cfg(feature = "fake")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use futures::StreamExt;
//! use k8s_openapi::api::core::v1::ConfigMap;
//! use primehub_model::crd::{PhJob, PhJobSpec};
//! use primehub_reconcile::fake::FakeCluster;
//! use primehub_reconcile::runtime::{job_summary, ControllerRuntime, Metrics};
//!
//! let cluster = FakeCluster::new();
//! let client = cluster.client(); // a kube::Client, in process
//!
//! let metrics = Metrics::new();
//! let runtime = ControllerRuntime::new("job-summary", &metrics);
//! let controller = job_summary::run(client.clone(), Some("hub"), &runtime);
//! tokio::spawn(controller.for_each(|_| async {}));
//!
//! let jobs: kube::Api<PhJob> = kube::Api::namespaced(client.clone(), "hub");
//! let job = PhJob::new("job-1", PhJobSpec { command: "python train.py".into(), ..Default::default() });
//! jobs.create(&Default::default(), &job).await?;
//!
//! // Level-based: the controller makes the ConfigMap the job asks for, owned by the job.
//! let maps: kube::Api<ConfigMap> = kube::Api::namespaced(client, "hub");
//! let summary = loop {
//!     if let Some(map) = maps.get_opt("job-1-summary").await? { break map; }
//!     tokio::time::sleep(std::time::Duration::from_millis(10)).await;
//! };
//! let data = summary.data.unwrap_or_default();
//! assert_eq!(data.get("command").map(String::as_str), Some("python train.py"));
//! assert_eq!(summary.metadata.owner_references.unwrap_or_default()[0].name, "job-1");
//! assert!(metrics.encode().contains("primehub_controller_reconciles_total"));
//! # Ok(()) }
//! # #[cfg(not(feature = "fake"))]
//! # fn main() {}
//! ```

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use futures::Stream;
use kube::Resource;
use kube::runtime::Controller;
use kube::runtime::controller::{self, Action};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::error::Error;

pub mod dataset_children;
pub mod group_volume;
pub mod job_queue;
pub mod job_summary;
pub mod job_world;
pub mod jobs;
pub mod leader;
pub mod phjob;
pub mod projection;
pub mod schedule;

/// Deletes `object` only if it is still the object that was read: the delete carries its uid
/// as a precondition (with `params`' propagation), so an object replaced since — same name,
/// new uid — is kept. `Ok(true)` when this call deleted it; `Ok(false)` when it was already
/// gone (404) or replaced (409); other failures are returned.
pub async fn delete_if_unchanged<K>(
    api: &kube::Api<K>,
    object: &K,
    params: kube::api::DeleteParams,
) -> Result<bool, kube::Error>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let params = kube::api::DeleteParams {
        preconditions: Some(kube::api::Preconditions {
            uid: object.meta().uid.clone(),
            resource_version: None,
        }),
        ..params
    };
    let name = object.meta().name.clone().unwrap_or_default();
    match api.delete(&name, &params).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(false),
        Err(e) => Err(e),
    }
}

/// The [`Error`] of a failed `kube::runtime::finalizer` call, so reconcilers that use
/// kube-runtime's finalizer helper return our error type: the reconcile's own error as it was,
/// the finalizer patches' errors as [`Error::KubeClient`] (their transience decides the retry),
/// and the helper's internal errors as a non-transient bad request.
pub fn finalizer_error(error: kube::runtime::finalizer::Error<Error>) -> Error {
    use kube::runtime::finalizer::Error as F;
    match error {
        F::ApplyFailed(e) | F::CleanupFailed(e) => e,
        F::AddFinalizer(e) | F::RemoveFinalizer(e) => Error::from(e),
        other => Error::Kube(crate::error::KubeError::BadRequest {
            message: other.to_string(),
        }),
    }
}

/// When a failed reconcile is retried.
///
/// Transient errors ([`Error::is_transient`]: timeouts, 429, 5xx, conflicts) are retried with
/// exponential backoff per object — `min_delay`, doubling on each consecutive failure, at most
/// `max_delay` — and the count starts again after a success. Permanent errors (4xx, model
/// errors) will not go away by retrying soon; they are retried after `permanent_delay`, or
/// earlier when the object changes (the controller's watch triggers a reconcile).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The delay after the first transient failure.
    pub min_delay: Duration,
    /// The longest delay between transient retries.
    pub max_delay: Duration,
    /// The delay after a permanent failure.
    pub permanent_delay: Duration,
}

impl Default for RetryPolicy {
    /// 1 s doubling up to 5 min for transient errors; 1 h for permanent ones.
    fn default() -> Self {
        RetryPolicy {
            min_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(300),
            permanent_delay: Duration::from_secs(3600),
        }
    }
}

impl RetryPolicy {
    /// The delay before the next attempt after `failures` consecutive failures (1 for the
    /// first) ending with `error`.
    pub fn delay(&self, failures: u32, error: &Error) -> Duration {
        if !error.is_transient() {
            return self.permanent_delay;
        }
        let attempt = usize::try_from(failures.saturating_sub(1)).unwrap_or(usize::MAX);
        ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_factor(2.0)
            .without_max_times()
            .build()
            .nth(attempt)
            .unwrap_or(self.max_delay)
    }
}

/// The labels of the per-controller metrics.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ControllerLabels {
    controller: String,
}

/// The labels of the error counter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ErrorLabels {
    controller: String,
    /// `transient` or `permanent`.
    kind: String,
}

/// The prefix of the controllers' metric names.
const PREFIX: &str = "primehub_controller";

type DurationFamily = Family<ControllerLabels, Histogram, fn() -> Histogram>;

fn duration_histogram() -> Histogram {
    // 1 ms … about 33 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// Prometheus metrics of the controllers in one process (prometheus-client).
///
/// - `primehub_controller_reconciles_total{controller}`: reconciles run (successful or not);
/// - `primehub_controller_reconcile_errors_total{controller,kind}`: failed reconciles, `kind`
///   `transient` or `permanent`;
/// - `primehub_controller_reconcile_duration_seconds{controller}`: reconcile durations.
///
/// Cheap to clone: clones share the counters.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Mutex<Registry>>,
    reconciles: Family<ControllerLabels, Counter>,
    errors: Family<ErrorLabels, Counter>,
    durations: DurationFamily,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Empty metrics in a registry of their own.
    pub fn new() -> Metrics {
        let mut root = Registry::default();
        let registry = root.sub_registry_with_prefix(PREFIX);
        let reconciles = Family::<ControllerLabels, Counter>::default();
        let errors = Family::<ErrorLabels, Counter>::default();
        let durations: DurationFamily = Family::new_with_constructor(duration_histogram);
        registry.register("reconciles", "Reconciles run", reconciles.clone());
        registry.register("reconcile_errors", "Failed reconciles", errors.clone());
        registry.register(
            "reconcile_duration_seconds",
            "How long reconciles took",
            durations.clone(),
        );
        Metrics {
            registry: Arc::new(Mutex::new(root)),
            reconciles,
            errors,
            durations,
        }
    }

    /// The metrics in the Prometheus text format (OpenMetrics), for a `/metrics` route.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let registry = self
            .registry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
        out
    }

    /// Adds `metric` to the registry [`encode`](Self::encode) renders (with the
    /// `primehub_controller_` prefix), for the controllers' own figures (the job queue's
    /// lengths, jobs by phase).
    pub fn register(
        &self,
        name: &str,
        help: &str,
        metric: impl prometheus_client::registry::Metric,
    ) {
        self.registry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .sub_registry_with_prefix(PREFIX)
            .register(name, help, metric);
    }

    /// Lets `register` add metrics under their own names (no prefix) to the registry
    /// [`encode`](Self::encode) renders: a binary serving one `/metrics` for several parts
    /// (the role watcher's `primehub_role_sync_*` beside these).
    pub fn register_unprefixed(&self, register: impl FnOnce(&mut Registry)) {
        register(
            &mut self
                .registry
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
    }

    /// Reconciles run by `controller` so far.
    pub fn reconciles(&self, controller: &str) -> u64 {
        self.reconciles
            .get_or_create(&ControllerLabels {
                controller: controller.to_owned(),
            })
            .get()
    }

    /// Failed reconciles of `controller` so far (`transient` or not).
    pub fn errors(&self, controller: &str, transient: bool) -> u64 {
        self.errors
            .get_or_create(&error_labels(controller, transient))
            .get()
    }
}

fn error_labels(controller: &str, transient: bool) -> ErrorLabels {
    ErrorLabels {
        controller: controller.to_owned(),
        kind: if transient { "transient" } else { "permanent" }.to_owned(),
    }
}

/// Runs kube-runtime `Controller`s the PrimeHub way: [`crate::Error`] as the reconcile error,
/// per-object retries by [`RetryPolicy`], and [`Metrics`]. Cheap to clone.
#[derive(Clone)]
pub struct ControllerRuntime {
    name: Arc<str>,
    retry: RetryPolicy,
    metrics: Metrics,
    /// Consecutive failures per object (`namespace/name`); cleared on success.
    failures: Arc<Mutex<HashMap<String, u32>>>,
}

impl std::fmt::Debug for ControllerRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControllerRuntime")
            .field("name", &self.name)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

fn object_key<K: Resource>(object: &K) -> String {
    let meta = object.meta();
    format!(
        "{}/{}",
        meta.namespace.as_deref().unwrap_or(""),
        meta.name.as_deref().unwrap_or("")
    )
}

impl ControllerRuntime {
    /// A runtime for the controller `name` (the `controller` label of its metrics), with the
    /// default [`RetryPolicy`].
    pub fn new(name: impl Into<String>, metrics: &Metrics) -> ControllerRuntime {
        ControllerRuntime {
            name: Arc::from(name.into()),
            retry: RetryPolicy::default(),
            metrics: metrics.clone(),
            failures: Arc::default(),
        }
    }

    /// The same runtime with another retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> ControllerRuntime {
        self.retry = retry;
        self
    }

    /// The controller's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What to do after reconciling `key` (`namespace/name`) failed with `error`: counts the
    /// failure and the error metric, and requeues after the [`RetryPolicy`]'s delay. This is
    /// the error policy [`run`](Self::run) gives kube-runtime.
    pub fn error_action(&self, key: &str, error: &Error) -> Action {
        let failures = {
            let mut map = self
                .failures
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let n = map.entry(key.to_owned()).or_insert(0);
            *n = n.saturating_add(1);
            *n
        };
        let transient = error.is_transient();
        self.metrics
            .errors
            .get_or_create(&error_labels(&self.name, transient))
            .inc();
        let delay = self.retry.delay(failures, error);
        tracing::warn!(controller = %self.name, object = key, failures, transient, ?delay, "reconcile failed: {error}");
        Action::requeue(delay)
    }

    fn succeeded(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(key);
    }

    /// Runs `controller` with `reconcile`, the retry policy and metrics. Drive the returned
    /// stream (for example `tokio::spawn(stream.for_each(|_| async {}))`); it ends when the
    /// controller shuts down (`Controller::graceful_shutdown_on`).
    pub fn run<K, Ctx, R, Fut>(
        &self,
        controller: Controller<K>,
        mut reconcile: R,
        context: Arc<Ctx>,
    ) -> impl Stream<Item = Result<(ObjectRef<K>, Action), controller::Error<Error, watcher::Error>>>
    + Send
    + use<K, Ctx, R, Fut>
    where
        K: Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + Sync + 'static,
        K::DynamicType: std::fmt::Debug + Eq + std::hash::Hash + Clone + Unpin + Send + Sync,
        Ctx: Send + Sync + 'static,
        R: FnMut(Arc<K>, Arc<Ctx>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Action, Error>> + Send + 'static,
    {
        let on_success = self.clone();
        let on_error = self.clone();
        controller.run(
            move |object: Arc<K>, ctx: Arc<Ctx>| {
                let runtime = on_success.clone();
                let key = object_key(object.as_ref());
                let work = reconcile(object, ctx);
                async move {
                    let start = tokio::time::Instant::now();
                    let result = work.await;
                    let labels = ControllerLabels {
                        controller: runtime.name.to_string(),
                    };
                    runtime.metrics.reconciles.get_or_create(&labels).inc();
                    runtime
                        .metrics
                        .durations
                        .get_or_create(&labels)
                        .observe(start.elapsed().as_secs_f64());
                    if result.is_ok() {
                        runtime.succeeded(&key);
                    }
                    result
                }
            },
            move |object: Arc<K>, error: &Error, _ctx: Arc<Ctx>| {
                on_error.error_action(&object_key(object.as_ref()), error)
            },
            context,
        )
    }
}
