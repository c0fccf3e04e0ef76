//! The reflector stores the GraphQL API server reads PrimeHub's objects and usage from.
//!
//! [`ResourceStores::start`] runs one kube-runtime `watcher` + `reflector` per kind in PrimeHub's
//! namespace and gives the stores and the driver future that keeps them filled:
//!
//! | kind | what is kept |
//! |---|---|
//! | `Image`, `InstanceType`, `Dataset` (`primehub.io/v1alpha1`) | every object, without `managedFields` |
//! | `Secret` | the secrets PrimeHub's `secrets` query shows: names starting with `gitsync-secret-` (git dataset credentials, `Opaque`) or `image-` (image pull secrets, `kubernetes.io/dockerconfigjson`), as primehub-console's `K8sSecret.find` filters them ([`StoresConfig::secret_name_prefixes`]) |
//! | `PersistentVolumeClaim` | every claim (group shared volumes `project-<group>`, dataset volumes `dataset-<name>`) |
//! | `StatefulSet` (`apps/v1`) | the NFS servers `nfs-<claim>` of shared volumes ([`NFS_SERVER_SELECTOR`]), for [`ResourceStores::shared_volume_state`] |
//! | `Pod` | slim [`PodView`]s of the pods carrying the `primehub.io/group` label, and a [`UsageLedger`] fed from the same watch ([`PodUsage`]) |
//!
//! Reads are in memory: lists are sorted by name, lookups by name are hash lookups, and usage
//! figures ([`ResourceStores::group_usage`], [`ResourceStores::user_usage`]) cost the same with
//! 10 or 10 000 pods. Usage follows PrimeHub's rule through [`PodCharge::of_pod`](primehub_model::quota::PodCharge::of_pod): the limits of
//! the containers of `Pending` and `Running` pods labelled with a group (and a user, for the
//! user's share); finished pods and deleted pods stop counting.
//!
//! **Watch errors never end the driver.** Connection losses and error answers are retried with
//! kube-runtime's default backoff (`WatchStreamExt::default_backoff`), and a watch whose history
//! has expired (`410 Gone`) lists again: the store and the usage ledger are then rebuilt from
//! the new list and replace the old ones at once (`Init` … `InitDone`), so pods deleted while the
//! watch was cut off leave no charge behind and none is counted twice. Until then readers see
//! the last synced state; [`ResourceStores::status`] tells how old it is.
//!
//! **Read-your-writes.** After the API server writes an object it waits, before answering,
//! until the store shows the write: [`ResourceStores::wait_for_version`] (the resourceVersion
//! the write returned, or a later one) and [`ResourceStores::wait_for_deletion`]. The waits are
//! event-driven — each applied watch event signals a `tokio::sync::watch` channel the waiters
//! listen on — and bounded by a timeout, after which they log a warning and return `false`:
//! the write itself succeeded, only the next read may not show it yet.
//!
//! resourceVersions are opaque in Kubernetes; here they are compared as integers when both
//! parse as one (they are etcd revisions on a real API server and a counter on the fake), and
//! for equality otherwise.
//!
//! # Example: stores on the fake cluster, and a read after a write
//!
//! ```
//! # #[cfg(feature = "fake")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use kube::api::{Api, PostParams};
//! use primehub_model::crd::{Image, ImageCrdSpec};
//! use primehub_reconcile::fake::FakeCluster;
//! use primehub_reconcile::stores::{ResourceStores, StoresConfig};
//!
//! let cluster = FakeCluster::new();
//! let client = cluster.client(); // a kube::Client, in process
//! let (stores, driver) = ResourceStores::start(client.clone(), StoresConfig::new("hub"));
//! tokio::spawn(driver);
//! stores.wait_ready(Duration::from_secs(10)).await?;
//!
//! // The API server writes an image, then waits until its store shows the write.
//! let images: Api<Image> = Api::namespaced(client, "hub");
//! let spec = ImageCrdSpec { display_name: Some("Base".into()), ..Default::default() };
//! let created = images.create(&PostParams::default(), &Image::new("base-notebook", spec)).await?;
//! let version = created.metadata.resource_version.unwrap_or_default();
//! assert!(stores.wait_for_version::<Image>("base-notebook", &version, Duration::from_secs(5)).await);
//!
//! // The next query reads the store.
//! let names: Vec<String> = stores.images().iter().filter_map(|i| i.metadata.name.clone()).collect();
//! assert_eq!(names, ["base-notebook"]);
//! assert!(stores.group_usage("phusers").is_zero());
//! # Ok(()) }
//! # #[cfg(not(feature = "fake"))]
//! # fn main() {}
//! ```

use crate::webhook::in_flight::InFlight;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, Secret};
use kube::Resource;
use kube::api::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{self, ObjectRef, Store, store::Writer};
use kube::runtime::watcher::{self, Event};
use primehub_model::crd::{Dataset, Image, InstanceType};
use primehub_model::names::LABEL_GROUP;
use primehub_model::pod::ResourceObjects;
use primehub_model::quota::{ResourceAmounts, UsageLedger};
use serde::de::DeserializeOwned;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::error::{KubeError, Result};
use crate::runtime::projection::{PodView, project_event};

/// The name prefix of PrimeHub's git-sync secrets (`Opaque`, key `ssh`), shown by the
/// `secrets` query with type `opaque`.
pub const GITSYNC_SECRET_PREFIX: &str = "gitsync-secret-";
/// The name prefix of PrimeHub's image pull secrets (`kubernetes.io/dockerconfigjson`), shown
/// by the `secrets` query with type `kubernetes`.
pub const IMAGE_SECRET_PREFIX: &str = "image-";
/// The label selector of the StatefulSets the stores keep: the NFS servers `nfs-<claim>` of
/// group shared volumes, labelled so by PrimeHub's `nfs-for-pvc` hook and by our group-volume
/// controller ([`primehub_model::group_volume::desired_stateful_set`]).
pub const NFS_SERVER_SELECTOR: &str = "app=primehub-group,role=nfs-server";

/// What [`ResourceStores::start`] watches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoresConfig {
    /// PrimeHub's namespace (`K8S_CRD_NAMESPACE`): every kind is watched there only.
    pub namespace: String,
    /// Secrets are kept when their name starts with one of these; empty keeps every secret.
    /// Default: [`GITSYNC_SECRET_PREFIX`] and [`IMAGE_SECRET_PREFIX`], the secrets PrimeHub's
    /// `secrets` query lists (primehub-console `k8sResource/k8sSecret.ts`, `find`). Secrets
    /// carry no label to select on, so every secret of the namespace is watched and the others
    /// are dropped before they reach the store. PrimeHub's `secret(where: {id})` reads any
    /// secret of the namespace; the store answers only for these.
    pub secret_name_prefixes: Vec<String>,
    /// The label selector of the watched pods. Default `primehub.io/group` (the label exists):
    /// the pods usage counts, as no other pod is ever charged.
    pub pod_label_selector: Option<String>,
}

impl StoresConfig {
    /// The defaults for `namespace`.
    pub fn new(namespace: impl Into<String>) -> StoresConfig {
        StoresConfig {
            namespace: namespace.into(),
            secret_name_prefixes: vec![
                GITSYNC_SECRET_PREFIX.to_owned(),
                IMAGE_SECRET_PREFIX.to_owned(),
            ],
            pod_label_selector: Some(LABEL_GROUP.to_owned()),
        }
    }

    fn keeps_secret(&self, name: &str) -> bool {
        self.secret_name_prefixes.is_empty()
            || self
                .secret_name_prefixes
                .iter()
                .any(|p| name.starts_with(p.as_str()))
    }
}

/// The kinds the stores keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StoreKind {
    /// `images.primehub.io`.
    Image,
    /// `instancetypes.primehub.io`.
    InstanceType,
    /// `datasets.primehub.io`.
    Dataset,
    /// Core `secrets` (PrimeHub's, see [`StoresConfig::secret_name_prefixes`]).
    Secret,
    /// Core `persistentvolumeclaims`.
    PersistentVolumeClaim,
    /// `apps/v1` `statefulsets`: the NFS servers of group shared volumes only
    /// ([`NFS_SERVER_SELECTOR`]).
    StatefulSet,
    /// Core `pods` (as [`PodView`]s).
    Pod,
}

impl StoreKind {
    /// Every kind, in this order.
    pub const ALL: [StoreKind; 7] = [
        StoreKind::Image,
        StoreKind::InstanceType,
        StoreKind::Dataset,
        StoreKind::Secret,
        StoreKind::PersistentVolumeClaim,
        StoreKind::StatefulSet,
        StoreKind::Pod,
    ];

    /// The resource's plural name (`images`, `instancetypes`, `datasets`, `secrets`,
    /// `persistentvolumeclaims`, `statefulsets`, `pods`), for logs and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            StoreKind::Image => "images",
            StoreKind::InstanceType => "instancetypes",
            StoreKind::Dataset => "datasets",
            StoreKind::Secret => "secrets",
            StoreKind::PersistentVolumeClaim => "persistentvolumeclaims",
            StoreKind::StatefulSet => "statefulsets",
            StoreKind::Pod => "pods",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for StoreKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for primehub_model::crd::Image {}
    impl Sealed for primehub_model::crd::InstanceType {}
    impl Sealed for primehub_model::crd::Dataset {}
    impl Sealed for k8s_openapi::api::core::v1::Secret {}
    impl Sealed for k8s_openapi::api::core::v1::PersistentVolumeClaim {}
    impl Sealed for k8s_openapi::api::apps::v1::StatefulSet {}
    impl Sealed for crate::runtime::projection::PodView {}
}

/// A type the stores keep, for the typed waits ([`ResourceStores::wait_for_version`]).
/// Implemented for `Image`, `InstanceType`, `Dataset`, `Secret`, `PersistentVolumeClaim`,
/// `StatefulSet` and [`PodView`] (pods).
pub trait StoredKind: Resource + sealed::Sealed {
    /// The store that keeps this type.
    const KIND: StoreKind;
}

impl StoredKind for Image {
    const KIND: StoreKind = StoreKind::Image;
}
impl StoredKind for InstanceType {
    const KIND: StoreKind = StoreKind::InstanceType;
}
impl StoredKind for Dataset {
    const KIND: StoreKind = StoreKind::Dataset;
}
impl StoredKind for Secret {
    const KIND: StoreKind = StoreKind::Secret;
}
impl StoredKind for PersistentVolumeClaim {
    const KIND: StoreKind = StoreKind::PersistentVolumeClaim;
}
impl StoredKind for StatefulSet {
    const KIND: StoreKind = StoreKind::StatefulSet;
}
impl StoredKind for PodView {
    const KIND: StoreKind = StoreKind::Pod;
}

/// What a wait waits for ([`ResourceStores::wait_for`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Awaited {
    /// The object at this resourceVersion or a later one (or a later change of its kind, for
    /// an object deleted since).
    Version(String),
    /// The object gone from the store.
    Deleted,
}

/// The state of one kind's store, for `/metrics` and `/readyz`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindStatus {
    /// The kind.
    pub kind: StoreKind,
    /// Objects in the store.
    pub objects: usize,
    /// Whether the first list has been applied.
    pub ready: bool,
    /// Time since the last watch event (including the end of a relist); `None` before the
    /// first. A quiet kind has an old last event while its watch is healthy.
    pub last_event_age: Option<Duration>,
    /// Watch errors so far (each one retried with backoff).
    pub watch_errors: u64,
    /// The last watch error and how long ago it happened.
    pub last_error: Option<(String, Duration)>,
}

#[derive(Debug, Default)]
struct Health {
    last_event: Option<Instant>,
    errors: u64,
    last_error: Option<(String, Instant)>,
}

/// A watch event as the waits see it: its phase and its object's resourceVersion.
#[derive(Debug, Clone, Copy)]
enum Step {
    Init,
    InitApply(Option<u64>),
    InitDone,
    Change(Option<u64>),
}

impl Step {
    fn of<K: Resource>(event: &Event<K>) -> Step {
        let version = |o: &K| {
            o.meta()
                .resource_version
                .as_deref()
                .and_then(|v| v.parse::<u64>().ok())
        };
        match event {
            Event::Init => Step::Init,
            Event::InitApply(o) => Step::InitApply(version(o)),
            Event::InitDone => Step::InitDone,
            Event::Apply(o) | Event::Delete(o) => Step::Change(version(o)),
        }
    }
}

/// The bookkeeping of one kind's watch: readiness, the highest resourceVersion seen, health,
/// and the channel every applied event is signalled on.
#[derive(Debug)]
struct KindState {
    kind: StoreKind,
    ready: AtomicBool,
    /// The highest resourceVersion of an event the store shows, when they parse as integers.
    max_version: AtomicU64,
    /// The highest resourceVersion of the relist in progress.
    relist_version: AtomicU64,
    health: Mutex<Health>,
    /// Bumped after each applied event (the store already shows it).
    changed: watch::Sender<u64>,
    /// How many events were recorded: bumped once the store shows an event, so a view of the
    /// store built after reading it is at least as new as that count.
    recorded: AtomicU64,
}

impl KindState {
    fn new(kind: StoreKind) -> KindState {
        KindState {
            kind,
            ready: AtomicBool::new(false),
            max_version: AtomicU64::new(0),
            relist_version: AtomicU64::new(0),
            health: Mutex::new(Health::default()),
            changed: watch::Sender::new(0),
            recorded: AtomicU64::new(0),
        }
    }

    fn health(&self) -> std::sync::MutexGuard<'_, Health> {
        self.health
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Records a watch event the store applied, or one of an object it does not keep, and
    /// signals the waiters. The objects of a relist show only at its end (the reflector swaps
    /// the store then), so their versions count from `InitDone` on.
    fn record(&self, step: Step) {
        let version = |v: Option<u64>| v.unwrap_or(0);
        match step {
            Step::Init => self.relist_version.store(0, Ordering::Release),
            Step::InitApply(v) => {
                self.relist_version.fetch_max(version(v), Ordering::AcqRel);
            }
            Step::InitDone => {
                let listed = self.relist_version.load(Ordering::Acquire);
                self.max_version.fetch_max(listed, Ordering::AcqRel);
                self.ready.store(true, Ordering::Release);
            }
            Step::Change(v) => {
                self.max_version.fetch_max(version(v), Ordering::AcqRel);
            }
        }
        self.health().last_event = Some(Instant::now());
        self.recorded.fetch_add(1, Ordering::AcqRel);
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    fn failed(&self, error: &watcher::Error) {
        let message = error.to_string();
        tracing::warn!(kind = %self.kind, "watch failed, retrying with backoff: {message}");
        let mut health = self.health();
        health.errors = health.errors.saturating_add(1);
        health.last_error = Some((message, Instant::now()));
    }

    /// Waits until `reached()` holds, re-checking after every applied event.
    async fn until(&self, reached: impl Fn() -> bool) {
        let mut changes = self.changed.subscribe();
        // The sender lives as long as `self`, so this ends only when `reached` holds.
        let _ = changes.wait_for(|_| reached()).await;
    }

    fn status(&self, objects: usize) -> KindStatus {
        let health = self.health();
        KindStatus {
            kind: self.kind,
            objects,
            ready: self.is_ready(),
            last_event_age: health.last_event.map(|t| t.elapsed()),
            watch_errors: health.errors,
            last_error: health
                .last_error
                .as_ref()
                .map(|(m, t)| (m.clone(), t.elapsed())),
        }
    }
}

/// Whether an object at `have` shows a write that returned `want`.
fn version_reached(have: &str, want: &str) -> bool {
    match (have.parse::<u64>(), want.parse::<u64>()) {
        (Ok(have), Ok(want)) => have >= want,
        _ => have == want,
    }
}

/// Runs `api`'s watcher through `transform` into `writer`'s store, signalling `state` after
/// every applied event. Never ends: errors are retried with kube-runtime's default backoff.
async fn drive<K, P, F>(
    api: Api<K>,
    config: watcher::Config,
    writer: Writer<P>,
    state: Arc<KindState>,
    mut transform: F,
) where
    K: Resource + Clone + DeserializeOwned + Debug + Send + 'static,
    P: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
    F: FnMut(Event<K>) -> Option<Event<P>> + Send + 'static,
{
    let dropped = state.clone();
    let events = watcher::watcher(api, config)
        .default_backoff()
        .filter_map(move |item| {
            let item = match item {
                Ok(event) => {
                    // A dropped event still advances the kind's resourceVersion: a write of
                    // an object the store does not keep has been seen.
                    let step = Step::of(&event);
                    let kept = transform(event);
                    if kept.is_none() {
                        dropped.record(step);
                    }
                    kept.map(Ok)
                }
                Err(e) => Some(Err(e)),
            };
            futures::future::ready(item)
        });
    let mut applied = std::pin::pin!(reflector::reflector(writer, events.boxed()));
    while let Some(item) = applied.next().await {
        match item {
            Ok(event) => state.record(Step::of(&event)),
            Err(error) => state.failed(&error),
        }
    }
    // The backoff never gives up, so the stream does not end; say so if it ever does.
    tracing::error!(kind = %state.kind, "watch stream ended");
}

/// Drops `managedFields` (often the biggest part of an object, and no reader needs them).
fn without_managed_fields<K: Resource>(mut object: K) -> K {
    object.meta_mut().managed_fields = None;
    object
}

fn object_key<K: Resource>(object: &K) -> String {
    let meta = object.meta();
    format!(
        "{}/{}",
        meta.namespace.as_deref().unwrap_or(""),
        meta.name.as_deref().unwrap_or("")
    )
}

fn write_ledger(ledger: &RwLock<UsageLedger>) -> std::sync::RwLockWriteGuard<'_, UsageLedger> {
    ledger
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn charge_pod(ledger: &mut UsageLedger, pod: &Pod) {
    let key = object_key(pod);
    if let Err(e) = ledger.apply_pod(&key, pod) {
        tracing::warn!(pod = %key, "pod not counted toward usage: {e}");
    }
}

/// Pods and the usage they are charged: a reflector store of [`PodView`]s and a
/// [`UsageLedger`] fed from the same watch. The admission webhook uses it alone; the API
/// server gets it inside [`ResourceStores`]. Cheap to clone: clones share the state.
#[derive(Clone)]
pub struct PodUsage {
    namespace: Arc<str>,
    pods: Store<PodView>,
    ledger: Arc<RwLock<UsageLedger>>,
    in_flight: InFlight,
    state: Arc<KindState>,
    generation: tokio::sync::watch::Sender<u64>,
}

impl Debug for PodUsage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PodUsage")
            .field("namespace", &self.namespace)
            .field("pods", &self.pods.len())
            .field("ready", &self.is_ready())
            .finish_non_exhaustive()
    }
}

impl PodUsage {
    /// Starts the pod watch in `namespace` (pods matching `label_selector`, when given) and
    /// returns the usage and the driver future that runs the watch (spawn it; it never ends).
    ///
    /// The ledger is keyed by `namespace/name`: a pod's change replaces its charge, its
    /// deletion removes it, and a relist (after `410 Gone`) builds a new ledger from the list
    /// that replaces the old one when the list is complete.
    pub fn start(
        client: kube::Client,
        namespace: &str,
        label_selector: Option<&str>,
    ) -> (PodUsage, impl Future<Output = ()> + Send + 'static) {
        PodUsage::start_with(client, namespace, label_selector, InFlight::default())
    }

    /// [`start`](Self::start) with the admission webhook's reservations of admitted pods
    /// (released as the watch delivers each pod, after its charge is in the ledger).
    pub fn start_with(
        client: kube::Client,
        namespace: &str,
        label_selector: Option<&str>,
        in_flight: InFlight,
    ) -> (PodUsage, impl Future<Output = ()> + Send + 'static) {
        let (pods, writer) = reflector::store::<PodView>();
        let ledger = Arc::new(RwLock::new(UsageLedger::new()));
        let state = Arc::new(KindState::new(StoreKind::Pod));
        let generation = tokio::sync::watch::Sender::new(0u64);
        let usage = PodUsage {
            namespace: Arc::from(namespace),
            pods,
            ledger: ledger.clone(),
            in_flight: in_flight.clone(),
            state: state.clone(),
            generation: generation.clone(),
        };
        let api: Api<Pod> = Api::namespaced(client, namespace);
        let mut config = watcher::Config::default();
        if let Some(selector) = label_selector {
            config = config.labels(selector);
        }
        // The ledger being rebuilt during a relist; it replaces the live one at `InitDone`,
        // together with the reflector's store.
        let mut rebuilding: Option<UsageLedger> = None;
        // Pods of the relist that may release a reservation once the new ledger is live.
        let mut rebuilt_pods: Vec<Pod> = Vec::new();
        let transform = move |event: Event<Pod>| {
            match &event {
                Event::Init => {
                    rebuilding = Some(UsageLedger::new());
                    rebuilt_pods.clear();
                }
                Event::InitApply(pod) => {
                    charge_pod(rebuilding.get_or_insert_with(UsageLedger::new), pod);
                    if !in_flight.is_empty() {
                        rebuilt_pods.push(pod.clone());
                    }
                }
                Event::InitDone => {
                    let rebuilt = rebuilding.take().unwrap_or_default();
                    *write_ledger(&ledger) = rebuilt;
                    // Pods listed again are in the ledger now; release their reservations.
                    for pod in rebuilt_pods.drain(..) {
                        in_flight.observed(&pod);
                    }
                }
                Event::Apply(pod) => {
                    charge_pod(&mut write_ledger(&ledger), pod);
                    // After the ledger: a decision in between counts the pod twice, never
                    // not at all.
                    in_flight.observed(pod);
                }
                Event::Delete(pod) => write_ledger(&ledger).remove(&object_key(pod)),
            }
            if !matches!(event, Event::Init | Event::InitApply(_)) {
                generation.send_modify(|g| *g += 1);
            }
            Some(project_event(event, PodView::from))
        };
        (usage, drive(api, config, writer, state, transform))
    }

    /// The usage of group `group_name` (unescaped, as in Keycloak): all its counted pods.
    pub fn group(&self, group_name: &str) -> ResourceAmounts {
        self.with_ledger(|l| l.group(group_name))
    }

    /// The usage of `user` (username) inside group `group_name`.
    pub fn user_in_group(&self, group_name: &str, user: &str) -> ResourceAmounts {
        self.with_ledger(|l| l.user_in_group(group_name, user))
    }

    /// Runs `read` on the ledger (read-locked; keep it short).
    pub fn with_ledger<R>(&self, read: impl FnOnce(&UsageLedger) -> R) -> R {
        read(
            &self
                .ledger
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// A receiver that sees a new value after each pod change reaches the ledger and the store
    /// (and after a relist is complete): the job scheduler waits on it.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.generation.subscribe()
    }

    /// The admitted pods not yet seen by the watch (the admission webhook's reservations).
    pub fn in_flight(&self) -> &InFlight {
        &self.in_flight
    }

    /// How many pods are charged.
    pub fn counted_pods(&self) -> usize {
        self.with_ledger(UsageLedger::len)
    }

    /// The pod store (slim [`PodView`]s).
    pub fn pods(&self) -> &Store<PodView> {
        &self.pods
    }

    /// The pod `name`, if in the store.
    pub fn pod(&self, name: &str) -> Option<Arc<PodView>> {
        self.pods.get(&ObjectRef::new(name).within(&self.namespace))
    }

    /// Whether the first pod list has been applied.
    pub fn is_ready(&self) -> bool {
        self.state.is_ready()
    }

    /// Waits for the first pod list, at most `timeout`; after it, a
    /// [`KubeError::Transport`] naming the last watch error.
    pub async fn wait_ready(&self, timeout: Duration) -> Result<()> {
        wait_all_ready(std::slice::from_ref(&self.state), timeout).await
    }

    /// The watch's state.
    pub fn status(&self) -> KindStatus {
        self.state.status(self.pods.len())
    }
}

async fn wait_all_ready(states: &[Arc<KindState>], timeout: Duration) -> Result<()> {
    let all = async {
        for state in states {
            state.until(|| state.is_ready()).await;
        }
    };
    if tokio::time::timeout(timeout, all).await.is_ok() {
        return Ok(());
    }
    let pending: Vec<String> = states
        .iter()
        .filter(|s| !s.is_ready())
        .map(|s| match &s.health().last_error {
            Some((message, _)) => format!("{} (last watch error: {message})", s.kind),
            None => s.kind.to_string(),
        })
        .collect();
    Err(KubeError::Transport {
        message: format!(
            "resource stores not synced after {timeout:?}: {}",
            pending.join(", ")
        ),
    })
}

/// The images, instance types and datasets of [`ResourceStores`] by name, taken at one moment
/// and shared (no copies of the objects): the [`ResourceObjects`] a workload pod is built from
/// (job pods in the job controllers, notebook parts in the API). Made by
/// [`ResourceStores::objects`].
pub struct StoreObjects {
    images: NameMap<Image>,
    instance_types: NameMap<InstanceType>,
    datasets: NameMap<Dataset>,
}

impl Debug for StoreObjects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreObjects")
            .field("images", &self.images.len())
            .field("instance_types", &self.instance_types.len())
            .field("datasets", &self.datasets.len())
            .finish()
    }
}

fn name_map<K: Resource>(items: Vec<Arc<K>>) -> NameMap<K> {
    items
        .into_iter()
        .filter_map(|o| Some((o.meta().name.clone()?, o)))
        .collect()
}

impl ResourceObjects for StoreObjects {
    fn image(&self, name: &str) -> Option<&Image> {
        self.images.get(name).map(Arc::as_ref)
    }

    fn instance_type(&self, name: &str) -> Option<&InstanceType> {
        self.instance_types.get(name).map(Arc::as_ref)
    }

    fn dataset(&self, name: &str) -> Option<&Dataset> {
        self.datasets.get(name).map(Arc::as_ref)
    }
}

/// The stores of PrimeHub's objects in its namespace, and the pod usage. Cheap to clone:
/// clones share the stores. See the [module docs](self).
#[derive(Clone)]
pub struct ResourceStores {
    inner: Arc<Inner>,
}

/// A by-name view of one kind's store, for the lookups a query makes by the dozen: a name is
/// hashed as it is, where the reflector's store builds and SipHashes an `ObjectRef` (two
/// allocations) per lookup. Rebuilt from the store by the first lookup after the store
/// changed, so it never shows less than the store did when the lookup began.
struct NameIndex<K> {
    built: std::sync::RwLock<Option<(u64, NameMap<K>)>>,
}

type NameMap<K> = std::collections::HashMap<String, Arc<K>, foldhash::fast::RandomState>;

impl<K: Resource<DynamicType = ()> + Clone> NameIndex<K> {
    fn new() -> NameIndex<K> {
        NameIndex {
            built: std::sync::RwLock::new(None),
        }
    }

    fn get(&self, store: &Store<K>, state: &KindState, name: &str) -> Option<Arc<K>> {
        // Read before the store: a view built from a newer store is only rebuilt once more.
        let recorded = state.recorded.load(Ordering::Acquire);
        if let Some((at, map)) = self
            .built
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            && *at == recorded
        {
            return map.get(name).cloned();
        }
        let map: NameMap<K> = store
            .state()
            .into_iter()
            .filter_map(|o| Some((o.meta().name.clone()?, o)))
            .collect();
        let found = map.get(name).cloned();
        *self
            .built
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((recorded, map));
        found
    }
}

struct Inner {
    namespace: String,
    images: Store<Image>,
    instance_types: Store<InstanceType>,
    datasets: Store<Dataset>,
    image_names: NameIndex<Image>,
    instance_type_names: NameIndex<InstanceType>,
    dataset_names: NameIndex<Dataset>,
    secrets: Store<Secret>,
    pvcs: Store<PersistentVolumeClaim>,
    stateful_sets: Store<StatefulSet>,
    usage: PodUsage,
    /// Indexed by [`StoreKind::index`]; the pods' state is `usage.state`.
    states: Vec<Arc<KindState>>,
}

impl Debug for ResourceStores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceStores")
            .field("namespace", &self.inner.namespace)
            .field("counts", &self.counts())
            .field("ready", &self.is_ready())
            .finish()
    }
}

/// A store of `K` filled by a watch in `namespace` (objects without `managedFields`, and only
/// those `keep` accepts), its state, and its driver.
fn kind_store<K>(
    client: &kube::Client,
    namespace: &str,
    kind: StoreKind,
    selector: Option<&str>,
    keep: impl Fn(&K) -> bool + Send + 'static,
) -> (Store<K>, Arc<KindState>, BoxFuture<'static, ()>)
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Debug
        + Send
        + Sync
        + 'static,
{
    let (store, writer) = reflector::store::<K>();
    let state = Arc::new(KindState::new(kind));
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    let transform = move |event: Event<K>| match event {
        Event::Apply(o) | Event::InitApply(o) | Event::Delete(o) if !keep(&o) => None,
        other => Some(project_event(other, without_managed_fields)),
    };
    let mut config = watcher::Config::default();
    if let Some(selector) = selector {
        config = config.labels(selector);
    }
    let driver = drive(api, config, writer, state.clone(), transform).boxed();
    (store, state, driver)
}

fn sorted_by_name<K: Resource>(mut objects: Vec<Arc<K>>) -> Vec<Arc<K>> {
    objects.sort_by(|a, b| a.meta().name.cmp(&b.meta().name));
    objects
}

impl ResourceStores {
    /// Starts watchers for `Image`, `InstanceType`, `Dataset`, `Secret` (PrimeHub's, see
    /// [`StoresConfig::secret_name_prefixes`]), `PersistentVolumeClaim` and `StatefulSet`
    /// ([`NFS_SERVER_SELECTOR`]) in `config.namespace`, and for pods ([`PodUsage`]); returns the stores and the driver
    /// future that runs them all. Spawn the driver: it never ends (watch errors are retried
    /// with backoff); abort its task to stop the watches.
    pub fn start(
        client: kube::Client,
        config: StoresConfig,
    ) -> (ResourceStores, impl Future<Output = ()> + Send + 'static) {
        let ns = config.namespace.as_str();
        let (images, images_state, images_driver) =
            kind_store::<Image>(&client, ns, StoreKind::Image, None, |_| true);
        let (instance_types, instance_types_state, instance_types_driver) =
            kind_store::<InstanceType>(&client, ns, StoreKind::InstanceType, None, |_| true);
        let (datasets, datasets_state, datasets_driver) =
            kind_store::<Dataset>(&client, ns, StoreKind::Dataset, None, |_| true);
        let secret_config = config.clone();
        let (secrets, secrets_state, secrets_driver) =
            kind_store::<Secret>(&client, ns, StoreKind::Secret, None, move |s| {
                secret_config.keeps_secret(s.metadata.name.as_deref().unwrap_or(""))
            });
        let (pvcs, pvcs_state, pvcs_driver) = kind_store::<PersistentVolumeClaim>(
            &client,
            ns,
            StoreKind::PersistentVolumeClaim,
            None,
            |_| true,
        );
        let (stateful_sets, stateful_sets_state, stateful_sets_driver) = kind_store::<StatefulSet>(
            &client,
            ns,
            StoreKind::StatefulSet,
            Some(NFS_SERVER_SELECTOR),
            |_| true,
        );
        let (usage, usage_driver) =
            PodUsage::start(client, ns, config.pod_label_selector.as_deref());
        let states = vec![
            images_state,
            instance_types_state,
            datasets_state,
            secrets_state,
            pvcs_state,
            stateful_sets_state,
            usage.state.clone(),
        ];
        let drivers = vec![
            images_driver,
            instance_types_driver,
            datasets_driver,
            secrets_driver,
            pvcs_driver,
            stateful_sets_driver,
            usage_driver.boxed(),
        ];
        let stores = ResourceStores {
            inner: Arc::new(Inner {
                namespace: config.namespace,
                images,
                instance_types,
                datasets,
                image_names: NameIndex::new(),
                instance_type_names: NameIndex::new(),
                dataset_names: NameIndex::new(),
                secrets,
                pvcs,
                stateful_sets,
                usage,
                states,
            }),
        };
        (stores, futures::future::join_all(drivers).map(|_| ()))
    }

    /// The namespace watched.
    pub fn namespace(&self) -> &str {
        &self.inner.namespace
    }

    fn state(&self, kind: StoreKind) -> &KindState {
        &self.inner.states[kind.index()]
    }

    fn key<K>(&self, name: &str) -> ObjectRef<K>
    where
        K: Resource<DynamicType = ()>,
    {
        ObjectRef::new(name).within(&self.inner.namespace)
    }

    /// Waits until every kind's first list has been applied, at most `timeout`; after it, a
    /// [`KubeError::Transport`] naming the kinds still listing and their last watch errors.
    pub async fn wait_ready(&self, timeout: Duration) -> Result<()> {
        wait_all_ready(&self.inner.states, timeout).await
    }

    /// Whether every kind's first list has been applied.
    pub fn is_ready(&self) -> bool {
        self.inner.states.iter().all(|s| s.is_ready())
    }

    /// A number that changes whenever the images, instance types or datasets the stores show
    /// change (the events recorded for them). Read it before reading the stores: what was
    /// derived from them is at least as new as the number, and is rebuilt once more at worst.
    pub fn catalog_version(&self) -> u64 {
        [
            StoreKind::Image,
            StoreKind::InstanceType,
            StoreKind::Dataset,
        ]
        .iter()
        .map(|kind| self.state(*kind).recorded.load(Ordering::Acquire))
        .fold(0u64, u64::wrapping_add)
    }

    /// Every image, sorted by name.
    pub fn images(&self) -> Vec<Arc<Image>> {
        sorted_by_name(self.inner.images.state())
    }

    /// The image `name`.
    pub fn image(&self, name: &str) -> Option<Arc<Image>> {
        let inner = &self.inner;
        inner
            .image_names
            .get(&inner.images, self.state(StoreKind::Image), name)
    }

    /// Every instance type, sorted by name.
    pub fn instance_types(&self) -> Vec<Arc<InstanceType>> {
        sorted_by_name(self.inner.instance_types.state())
    }

    /// The instance type `name`.
    pub fn instance_type(&self, name: &str) -> Option<Arc<InstanceType>> {
        let inner = &self.inner;
        inner.instance_type_names.get(
            &inner.instance_types,
            self.state(StoreKind::InstanceType),
            name,
        )
    }

    /// Every dataset, sorted by name.
    pub fn datasets(&self) -> Vec<Arc<Dataset>> {
        sorted_by_name(self.inner.datasets.state())
    }

    /// The dataset `name`.
    pub fn dataset(&self, name: &str) -> Option<Arc<Dataset>> {
        let inner = &self.inner;
        inner
            .dataset_names
            .get(&inner.datasets, self.state(StoreKind::Dataset), name)
    }

    /// PrimeHub's secrets ([`StoresConfig::secret_name_prefixes`]), sorted by name.
    pub fn secrets(&self) -> Vec<Arc<Secret>> {
        sorted_by_name(self.inner.secrets.state())
    }

    /// The secret `name` (the full object name, such as `image-registry`), if it is one of
    /// PrimeHub's.
    pub fn secret(&self, name: &str) -> Option<Arc<Secret>> {
        self.inner.secrets.get(&self.key(name))
    }

    /// The images, instance types and datasets as they are now, by name (see
    /// [`StoreObjects`]).
    pub fn objects(&self) -> StoreObjects {
        StoreObjects {
            images: name_map(self.inner.images.state()),
            instance_types: name_map(self.inner.instance_types.state()),
            datasets: name_map(self.inner.datasets.state()),
        }
    }

    /// Every persistent volume claim, sorted by name.
    pub fn pvcs(&self) -> Vec<Arc<PersistentVolumeClaim>> {
        sorted_by_name(self.inner.pvcs.state())
    }

    /// The persistent volume claim `name`.
    pub fn pvc(&self, name: &str) -> Option<Arc<PersistentVolumeClaim>> {
        self.inner.pvcs.get(&self.key(name))
    }

    /// The NFS server StatefulSet `name` of a group shared volume (`nfs-<claim>`; the store
    /// keeps only those, see [`NFS_SERVER_SELECTOR`]).
    pub fn nfs_server(&self, name: &str) -> Option<Arc<StatefulSet>> {
        self.inner.stateful_sets.get(&self.key(name))
    }

    /// How far the shared volume behind the claim `claim` (`project-<group>`,
    /// `dataset-<name>`) has come, from the claim and its NFS server as the stores show them
    /// ([`shared_volume_state`](primehub_model::group_volume::shared_volume_state)); `None`
    /// when there is no such claim. The PersistentVolume is cluster-scoped and these stores
    /// are namespaced, so a volume's own `Failed` phase is not seen here (a claim that lost
    /// its volume is); the group-volume controller's `/metrics` sees it.
    pub fn shared_volume_state(
        &self,
        claim: &str,
    ) -> Option<primehub_model::group_volume::SharedVolumeState> {
        let claim = self.pvc(claim)?;
        let server = claim
            .metadata
            .name
            .as_deref()
            .and_then(|n| self.nfs_server(&primehub_model::group_volume::server_name(n)));
        Some(primehub_model::group_volume::shared_volume_state(
            &claim,
            server.as_deref(),
            None,
        ))
    }

    /// The pods and their usage.
    pub fn usage(&self) -> &PodUsage {
        &self.inner.usage
    }

    /// The usage of group `group_name` (unescaped, as in Keycloak): the limits of its
    /// `Pending` and `Running` pods. Constant time.
    pub fn group_usage(&self, group_name: &str) -> ResourceAmounts {
        self.inner.usage.group(group_name)
    }

    /// The usage of `user` (username) inside group `group_name`. Constant time.
    pub fn user_usage(&self, group_name: &str, user: &str) -> ResourceAmounts {
        self.inner.usage.user_in_group(group_name, user)
    }

    /// Objects in each store.
    pub fn counts(&self) -> BTreeMap<StoreKind, usize> {
        StoreKind::ALL
            .into_iter()
            .map(|kind| (kind, self.count(kind)))
            .collect()
    }

    fn count(&self, kind: StoreKind) -> usize {
        let inner = &self.inner;
        match kind {
            StoreKind::Image => inner.images.len(),
            StoreKind::InstanceType => inner.instance_types.len(),
            StoreKind::Dataset => inner.datasets.len(),
            StoreKind::Secret => inner.secrets.len(),
            StoreKind::PersistentVolumeClaim => inner.pvcs.len(),
            StoreKind::StatefulSet => inner.stateful_sets.len(),
            StoreKind::Pod => inner.usage.pods.len(),
        }
    }

    /// Each kind's state: objects, readiness, last event, watch errors.
    pub fn status(&self) -> Vec<KindStatus> {
        StoreKind::ALL
            .into_iter()
            .map(|kind| self.state(kind).status(self.count(kind)))
            .collect()
    }

    /// Time since the most recent watch event of any kind (`None` before the first), the
    /// "cache age" of `/metrics`. Watches stay quiet while nothing changes, so an old age alone
    /// is not staleness; [`status`](Self::status) also gives the watch errors.
    pub fn last_event_age(&self) -> Option<Duration> {
        self.inner
            .states
            .iter()
            .filter_map(|s| s.health().last_event)
            .max()
            .map(|t| t.elapsed())
    }

    /// The resourceVersion of `kind`'s object `name` in the store (`Some(None)` when the
    /// object has none), or `None` when the store does not have it.
    fn version_of(&self, kind: StoreKind, name: &str) -> Option<Option<String>> {
        fn rv<K: Resource>(object: Option<Arc<K>>) -> Option<Option<String>> {
            object.map(|o| o.meta().resource_version.clone())
        }
        let inner = &self.inner;
        match kind {
            StoreKind::Image => rv(inner.images.get(&self.key(name))),
            StoreKind::InstanceType => rv(inner.instance_types.get(&self.key(name))),
            StoreKind::Dataset => rv(inner.datasets.get(&self.key(name))),
            StoreKind::Secret => rv(inner.secrets.get(&self.key(name))),
            StoreKind::PersistentVolumeClaim => rv(inner.pvcs.get(&self.key(name))),
            StoreKind::StatefulSet => rv(inner.stateful_sets.get(&self.key(name))),
            StoreKind::Pod => rv(inner.usage.pods.get(&self.key(name))),
        }
    }

    /// Whether `kind`'s store shows what `awaited` asks of object `name`.
    fn shows(&self, kind: StoreKind, name: &str, awaited: &Awaited) -> bool {
        let state = self.state(kind);
        if !state.is_ready() {
            return false;
        }
        match awaited {
            Awaited::Deleted => self.version_of(kind, name).is_none(),
            Awaited::Version(want) => {
                let object_shows = self
                    .version_of(kind, name)
                    .flatten()
                    .is_some_and(|have| version_reached(&have, want));
                // A later event of the kind means the write was applied too (the object may
                // have changed or gone since).
                object_shows
                    || want
                        .parse::<u64>()
                        .is_ok_and(|want| state.max_version.load(Ordering::Acquire) >= want)
            }
        }
    }

    /// Waits until `kind`'s store shows `awaited` for object `name`, at most `timeout`.
    /// Returns whether it did; after the timeout it logs a warning and returns `false` (the
    /// write succeeded; only the store lags). Event-driven: it re-checks after each event
    /// the store applies.
    pub async fn wait_for(
        &self,
        kind: StoreKind,
        name: &str,
        awaited: &Awaited,
        timeout: Duration,
    ) -> bool {
        let state = self.state(kind);
        let seen = tokio::time::timeout(timeout, state.until(|| self.shows(kind, name, awaited)))
            .await
            .is_ok();
        if !seen {
            tracing::warn!(
                %kind,
                name,
                ?awaited,
                ?timeout,
                "the store did not show the write in time; answering anyway"
            );
        }
        seen
    }

    /// Read-your-writes after a create, update or patch: waits until the store has object
    /// `name` of `K` at `resource_version` (the one the write returned) or later, at most
    /// `timeout`. See [`wait_for`](Self::wait_for).
    pub async fn wait_for_version<K: StoredKind>(
        &self,
        name: &str,
        resource_version: &str,
        timeout: Duration,
    ) -> bool {
        self.wait_for(
            K::KIND,
            name,
            &Awaited::Version(resource_version.to_owned()),
            timeout,
        )
        .await
    }

    /// Read-your-writes after a delete: waits until object `name` of `K` is gone from the
    /// store, at most `timeout`. See [`wait_for`](Self::wait_for).
    pub async fn wait_for_deletion<K: StoredKind>(&self, name: &str, timeout: Duration) -> bool {
        self.wait_for(K::KIND, name, &Awaited::Deleted, timeout)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_as_integers_when_they_are_and_by_equality_otherwise() {
        assert!(version_reached("12", "12"));
        assert!(version_reached("13", "12"));
        assert!(!version_reached("9", "12"), "9 < 12, not a string compare");
        assert!(version_reached("abc", "abc"));
        assert!(!version_reached("abd", "abc"));
        assert!(!version_reached("12", "abc"));
    }

    #[test]
    fn a_relists_versions_count_only_once_the_relist_is_applied() {
        let state = KindState::new(StoreKind::Image);
        state.record(Step::Init);
        state.record(Step::InitApply(Some(10)));
        assert_eq!(state.max_version.load(Ordering::Acquire), 0);
        assert!(!state.is_ready());
        state.record(Step::InitDone);
        assert_eq!(state.max_version.load(Ordering::Acquire), 10);
        assert!(state.is_ready());
        state.record(Step::Change(Some(12)));
        // A relist after 410 Gone: until its end, the store shows the old state.
        state.record(Step::Init);
        state.record(Step::InitApply(Some(20)));
        assert_eq!(state.max_version.load(Ordering::Acquire), 12);
        state.record(Step::InitDone);
        assert_eq!(state.max_version.load(Ordering::Acquire), 20);
    }

    #[test]
    fn primehubs_secrets_are_the_gitsync_and_image_ones() {
        let config = StoresConfig::new("hub");
        assert!(config.keeps_secret("gitsync-secret-repo"));
        assert!(config.keeps_secret("image-registry"));
        assert!(!config.keeps_secret("primehub-client-admin-ui"));
        assert!(!config.keeps_secret("default-token-abcde"));
        let all = StoresConfig {
            secret_name_prefixes: Vec::new(),
            ..config
        };
        assert!(all.keeps_secret("primehub-client-admin-ui"));
    }
}
