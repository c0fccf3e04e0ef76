//! The group-volume controller: an NFS server and a PersistentVolume behind every
//! `primehub-group` claim, in place of PrimeHub's metacontroller hooks.
//!
//! PrimeHub runs two metacontroller `DecoratorController`s with jsonnet hooks (reference
//! `primehub-controllers.md` §3.1): `primehub-group-pvc` (claim → Service and StatefulSet
//! `nfs-<claim>`) and `primehub-group-pvc-pv` (Service → PersistentVolume
//! `<namespace>-nfs-<claim>`). This module is one level-based controller on kube-runtime doing
//! both, with the objects of [`primehub_model::group_volume`] (PrimeHub's shapes exactly):
//!
//! - **parent**: the PersistentVolumeClaims of the namespace with the annotation
//!   `primehub-group` (any value); other claims — the storage-class mode, where the API creates
//!   the claim with a `ReadWriteMany` class and no annotation — get no children, and the
//!   gauge below for the shared-volume ones (`project-…`, `dataset-…`);
//! - **one step per reconcile**: the first of Service, StatefulSet, PersistentVolume that is
//!   missing is created, or that differs is updated in place (a replace carrying the
//!   resourceVersion read, so a concurrent change is a conflict that is retried), then the
//!   controller looks again; at steady state a reconcile reads and writes nothing
//!   ([`Step::Steady`]);
//! - **adoption**: children of the same names made by PrimeHub's hooks are taken over, not
//!   duplicated. Their labels and annotations are kept and ours added; a controller owner
//!   reference is replaced by ours (metacontroller's points at the same claim with the same
//!   flags, so an adopted Service or StatefulSet usually needs no write at all); other owner
//!   references are kept. The volume gets our label
//!   [`LABEL_VOLUME_CLAIM`] and loses any
//!   owner reference (metacontroller's points a cluster-scoped object at a namespaced Service,
//!   which the garbage collector cannot resolve);
//! - **what is compared**: only what the desired object sets, and only fields the API server
//!   lets change (Service: selector, ports; StatefulSet: replicas, pod template; volume:
//!   access modes, capacity, mount options; labels, annotations and owner references of all
//!   three). Fields the server fills in (defaults, cluster IP) are not differences. Immutable
//!   fields that differ — a StatefulSet's claim template after the claim was resized, a volume's
//!   `nfs.server` after the Service was recreated — are logged, not written (the server would
//!   refuse); the NFS server's own claim `data-nfs-<claim>-0` is not resized;
//! - **removal**: the Service and StatefulSet are owned by the claim, so the garbage collector
//!   removes them with it. A claim that loses its annotation (the volume switched off by hand;
//!   PrimeHub's API never removes it) has them deleted by the controller ([`Step::Removed`],
//!   only those it owns as controller). The volume is cluster-scoped and cannot be owned by the claim: a
//!   second controller, the **sweeper**, watches the volumes carrying our label (and the
//!   claims, to be woken when one goes) and deletes a volume whose claim is gone, is no longer
//!   annotated, or was recreated (the volume's `claimRef` names another uid: it would stay
//!   `Released` and never bind again; the claim controller then makes a fresh one). A sweep of
//!   the labelled volumes rather than a finalizer on the claim: it writes nothing to the
//!   claims PrimeHub's API owns, never keeps a claim from being deleted while the controller is
//!   down, and catches up after a restart from the volumes alone. Data is never deleted by us:
//!   deleting a volume object leaves its storage to the volume's reclaim policy (`Retain`, the
//!   API server's default for a volume made by hand, which these are), and the data itself
//!   lives on the StatefulSet's claim `data-nfs-<claim>-0`, which Kubernetes keeps when the
//!   StatefulSet goes (and a re-enabled volume of the same name mounts again);
//! - **readiness** (ours): each claim's
//!   [`shared_volume_state`](primehub_model::group_volume::shared_volume_state) is exported
//!   as `primehub_controller_group_volume_state{namespace,claim,state}` (1 for the current
//!   state, 0 for the others), computed when `/metrics` is read from what the last reconcile
//!   saw, for the claims still in the controller's store.
//!
//! Binding the claim to the volume and garbage collection are done by Kubernetes'
//! controller-manager (the PV controller, the garbage collector). The fake cluster plays the
//! garbage collector but **not** the PV controller: a claim on the fake stays `Pending` unless
//! a test binds it (sets `spec.volumeName` and the phases), as the real tier's bare API server
//! does too.
//!
//! ```
//! # #[cfg(feature = "fake")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use futures::StreamExt;
//! use k8s_openapi::api::apps::v1::StatefulSet;
//! use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
//! use primehub_reconcile::fake::FakeCluster;
//! use primehub_reconcile::runtime::group_volume::{self, GroupVolumeConfig};
//! use primehub_reconcile::runtime::Metrics;
//!
//! let cluster = FakeCluster::new();
//! let client = cluster.client();
//! let metrics = Metrics::new();
//! let driver = group_volume::start(client.clone(), "hub", GroupVolumeConfig::default(), &metrics);
//! tokio::spawn(driver);
//!
//! // The claim PrimeHub's API writes when the group `ml-team` enables its shared volume.
//! let claims: kube::Api<PersistentVolumeClaim> = kube::Api::namespaced(client.clone(), "hub");
//! claims.create(&Default::default(), &serde_json::from_value(serde_json::json!({
//!     "metadata": {"name": "project-ml-team",
//!         "annotations": {"primehub-group": "ml-team", "primehub-group-sc": "standard"}},
//!     "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": "",
//!         "resources": {"requests": {"storage": "1Gi"}},
//!         "selector": {"matchLabels": {"primehub-group": "ml-team", "primehub-namespace": "hub"}}}
//! }))?).await?;
//!
//! let volumes: kube::Api<PersistentVolume> = kube::Api::all(client.clone());
//! let volume = loop {
//!     if let Some(v) = volumes.get_opt("hub-nfs-project-ml-team").await? { break v; }
//!     tokio::time::sleep(std::time::Duration::from_millis(10)).await;
//! };
//! let servers: kube::Api<StatefulSet> = kube::Api::namespaced(client, "hub");
//! assert!(servers.get_opt("nfs-project-ml-team").await?.is_some());
//! assert_eq!(volume.spec.and_then(|s| s.capacity).map(|c| c["storage"].0.clone()).as_deref(), Some("1Gi"));
//! // The claim is not bound (no PV controller on the fake): the volume is pending.
//! let pending = r#"primehub_controller_group_volume_state{namespace="hub",claim="project-ml-team",state="Pending"} 1"#;
//! while !metrics.encode().contains(pending) {
//!     tokio::time::sleep(std::time::Duration::from_millis(10)).await;
//! }
//! # Ok(()) }
//! # #[cfg(not(feature = "fake"))]
//! # fn main() {}
//! ```

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Service};
use kube::api::{Api, DeleteParams, PostParams};

use super::delete_if_unchanged;
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{Controller, watcher};
use kube::{Client, ResourceExt};
use primehub_model::group_volume::{
    self as model, LABEL_NAMESPACE, LABEL_VOLUME_CLAIM, NfsServerConfig, SharedVolumeState,
};
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{ControllerRuntime, Metrics};
use crate::error::{Error, KubeError};

/// The claim controller's name (the `controller` label of its metrics).
pub const CONTROLLER: &str = "group-volume";
/// The volume sweeper's name (the `controller` label of its metrics).
pub const SWEEPER: &str = "group-volume-sweeper";

/// The controller's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupVolumeConfig {
    /// How the NFS servers run (PrimeHub's `groupvolume.nfs.image.*`).
    pub nfs: NfsServerConfig,
    /// How soon to look again after a write (the watches usually wake the controller first).
    pub after_write: Duration,
    /// The longest time between two reconciles of a claim at steady state.
    pub resync: Duration,
}

impl Default for GroupVolumeConfig {
    /// PrimeHub's NFS image; 1 s after a write; a 10-minute resync.
    fn default() -> Self {
        GroupVolumeConfig {
            nfs: NfsServerConfig::default(),
            after_write: Duration::from_secs(1),
            resync: Duration::from_secs(600),
        }
    }
}

/// Which child a [`Step`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Child {
    /// The Service `nfs-<claim>`.
    Service,
    /// The StatefulSet `nfs-<claim>`.
    StatefulSet,
    /// The PersistentVolume `<namespace>-nfs-<claim>`.
    Volume,
}

/// What one reconcile of a claim did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The claim has no `primehub-group` annotation (any more) and no child of ours is left:
    /// nothing to do.
    NotAnnotated,
    /// The claim lost its `primehub-group` annotation (the volume was switched off): a Service
    /// or StatefulSet it owns was deleted (the sweeper removes the volume).
    Removed(Child),
    /// The claim is being deleted: the garbage collector and the sweeper remove the children.
    Deleting,
    /// A missing child was created.
    Created(Child),
    /// A child was updated in place (or adopted).
    Updated(Child),
    /// The Service has no cluster IP yet; the volume waits for it.
    WaitingForClusterIp,
    /// Everything is as desired; nothing was written.
    Steady(SharedVolumeState),
}

impl Step {
    /// Whether the step wrote to the API server.
    pub fn wrote(&self) -> bool {
        matches!(self, Step::Created(_) | Step::Updated(_) | Step::Removed(_))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct StateLabels {
    namespace: String,
    claim: String,
    state: String,
}

/// The last state seen per claim, rendered at scrape time for the claims still in the
/// controller's store.
#[derive(Clone, Default)]
struct States {
    seen: Arc<Mutex<BTreeMap<(String, String), SharedVolumeState>>>,
    claims: Arc<Mutex<Option<Store<PersistentVolumeClaim>>>>,
}

impl std::fmt::Debug for States {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("States").finish_non_exhaustive()
    }
}

impl States {
    fn set(&self, namespace: &str, claim: &str, state: SharedVolumeState) {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert((namespace.to_owned(), claim.to_owned()), state);
    }

    fn snapshot(&self) -> Vec<((String, String), SharedVolumeState)> {
        let store = self
            .claims
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(store) = store {
            // Forget the claims that are gone (or no longer annotated).
            seen.retain(|(ns, name), _| {
                store
                    .get(&ObjectRef::new(name).within(ns))
                    .is_some_and(|c| model::is_group_volume_claim(&c))
            });
        }
        seen.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}

impl prometheus_client::collector::Collector for States {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let family = Family::<StateLabels, Gauge>::default();
        for ((namespace, claim), state) in self.snapshot() {
            for name in SharedVolumeState::NAMES {
                family
                    .get_or_create(&StateLabels {
                        namespace: namespace.clone(),
                        claim: claim.clone(),
                        state: name.to_owned(),
                    })
                    .set(i64::from(name == state.name()));
            }
        }
        let metric = encoder.encode_descriptor(
            "primehub_controller_group_volume_state",
            "The state of each group shared volume (1 for the current state)",
            None,
            family.metric_type(),
        )?;
        family.encode(metric)
    }
}

/// What the reconciles need.
#[derive(Clone)]
pub struct Context {
    /// The client (real, or the fake's in-process one).
    pub client: Client,
    /// Settings.
    pub config: GroupVolumeConfig,
    states: States,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Context {
    /// A context on `client` with `config`.
    pub fn new(client: Client, config: GroupVolumeConfig) -> Context {
        Context {
            client,
            config,
            states: States::default(),
        }
    }

    /// Exports the claims' states in `metrics` (`primehub_controller_group_volume_state`).
    pub fn register_metrics(&self, metrics: &Metrics) {
        let states = self.states.clone();
        metrics.register_unprefixed(|registry| registry.register_collector(Box::new(states)));
    }

    /// The state the last reconcile of the claim `namespace/claim` saw, if any.
    pub fn state(&self, namespace: &str, claim: &str) -> Option<SharedVolumeState> {
        self.states
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&(namespace.to_owned(), claim.to_owned()))
            .cloned()
    }
}

fn bad(message: String) -> Error {
    Error::Kube(KubeError::BadRequest { message })
}

fn to_json<T: Serialize>(value: &T) -> Result<Value, Error> {
    serde_json::to_value(value).map_err(|e| bad(format!("cannot serialise: {e}")))
}

fn from_json<T: DeserializeOwned>(value: Value) -> Result<T, Error> {
    serde_json::from_value(value).map_err(|e| bad(format!("cannot read back: {e}")))
}

/// Whether every field `desired` sets is in `actual` with the same value (lists: the same
/// length, each element contained).
fn contains(actual: &Value, desired: &Value) -> bool {
    match (actual, desired) {
        (Value::Object(a), Value::Object(d)) => d
            .iter()
            .all(|(k, dv)| a.get(k).is_some_and(|av| contains(av, dv))),
        (Value::Array(a), Value::Array(d)) => {
            a.len() == d.len() && a.iter().zip(d).all(|(av, dv)| contains(av, dv))
        }
        (a, d) => a == d,
    }
}

fn pointer_mut<'a>(value: &'a mut Value, path: &[&str]) -> &'a mut Value {
    let mut at = value;
    for key in path {
        if !at.is_object() {
            *at = Value::Object(serde_json::Map::new());
        }
        at = match at {
            Value::Object(map) => map.entry((*key).to_owned()).or_insert(Value::Null),
            // Made an object just above.
            other => other,
        };
    }
    at
}

/// `actual`'s owner references with `desired`'s controller reference in place of any
/// controller reference (or reference to the same owner) it had.
fn merged_owners(actual: &Value, desired: &Value) -> Value {
    let wanted: Vec<Value> = desired
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let uids: Vec<&Value> = wanted.iter().filter_map(|r| r.get("uid")).collect();
    let mut kept: Vec<Value> = actual
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .map(|refs| {
            refs.iter()
                .filter(|r| {
                    r.get("controller") != Some(&Value::Bool(true))
                        && r.get("uid").is_none_or(|u| !uids.contains(&u))
                })
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    kept.extend(wanted);
    Value::Array(kept)
}

fn merged_map(actual: &Value, desired: &Value, path: &str) -> Value {
    let mut map = actual
        .pointer(path)
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if let Some(d) = desired.pointer(path).and_then(Value::as_object) {
        map.extend(d.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    Value::Object(map)
}

/// What to write to bring `actual` to `desired` on the fields [`Child`] manages, or `None`
/// when there is nothing to change. `spec_fields` are the mutable spec fields taken from
/// `desired`; `owned`: whether owner references are managed (else removed).
fn update_of(actual: &Value, desired: &Value, spec_fields: &[&str], owned: bool) -> Option<Value> {
    let mut updated = actual.clone();
    for map in ["labels", "annotations"] {
        let path = format!("/metadata/{map}");
        if desired.pointer(&path).is_some() {
            *pointer_mut(&mut updated, &["metadata", map]) = merged_map(actual, desired, &path);
        }
    }
    let owners = if owned {
        merged_owners(actual, desired)
    } else {
        Value::Array(Vec::new())
    };
    if let Value::Object(meta) = pointer_mut(&mut updated, &["metadata"]) {
        if owners.as_array().is_some_and(Vec::is_empty) {
            meta.remove("ownerReferences");
        } else {
            meta.insert("ownerReferences".into(), owners);
        }
    }
    for field in spec_fields {
        if let Some(value) = desired.pointer(&format!("/spec/{field}")) {
            *pointer_mut(&mut updated, &["spec", field]) = value.clone();
        }
    }
    // Compare what we manage: the desired fields are in the actual object and the owner
    // references are exactly the merged ones.
    let mut wanted = serde_json::json!({});
    for map in ["labels", "annotations"] {
        if let Some(v) = desired.pointer(&format!("/metadata/{map}")) {
            *pointer_mut(&mut wanted, &["metadata", map]) = v.clone();
        }
    }
    for field in spec_fields {
        if let Some(v) = desired.pointer(&format!("/spec/{field}")) {
            *pointer_mut(&mut wanted, &["spec", field]) = v.clone();
        }
    }
    let actual_owners = actual
        .pointer("/metadata/ownerReferences")
        .cloned()
        .unwrap_or(Value::Array(Vec::new()));
    let same_owners = if owned {
        actual_owners == merged_owners(actual, desired)
    } else {
        actual_owners.as_array().is_some_and(Vec::is_empty)
    };
    if same_owners && contains(actual, &wanted) {
        None
    } else {
        Some(updated)
    }
}

/// Immutable fields of `desired` that differ in `actual` (logged, never written).
fn immutable_drift(actual: &Value, desired: &Value, fields: &[&str]) -> Vec<String> {
    fields
        .iter()
        .filter(|f| {
            let path = format!("/spec/{f}");
            match (actual.pointer(&path), desired.pointer(&path)) {
                (Some(a), Some(d)) => !contains(a, d),
                _ => false,
            }
        })
        .map(|f| format!("spec.{f}"))
        .collect()
}

/// Creates `desired` if `actual` is `None`, else updates the managed fields if they differ.
async fn converge<K>(
    api: &Api<K>,
    actual: Option<&K>,
    desired: &K,
    child: Child,
    spec_fields: &[&str],
    immutable: &[&str],
    owned: bool,
) -> Result<Option<Step>, Error>
where
    K: kube::Resource + Clone + Serialize + DeserializeOwned + std::fmt::Debug,
{
    let Some(actual) = actual else {
        match api.create(&PostParams::default(), desired).await {
            Ok(_) => return Ok(Some(Step::Created(child))),
            // Made meanwhile (a watch lagging behind): look again.
            Err(kube::Error::Api(s)) if s.code == 409 => return Ok(Some(Step::Updated(child))),
            Err(e) => return Err(e.into()),
        }
    };
    let actual_json = to_json(actual)?;
    let desired_json = to_json(desired)?;
    let drift = immutable_drift(&actual_json, &desired_json, immutable);
    if !drift.is_empty() {
        tracing::warn!(object = %actual.name_any(), ?child, fields = ?drift,
            "immutable fields differ from the desired ones; left as they are");
    }
    let Some(updated) = update_of(&actual_json, &desired_json, spec_fields, owned) else {
        return Ok(None);
    };
    let updated: K = from_json(updated)?;
    api.replace(&actual.name_any(), &PostParams::default(), &updated)
        .await?;
    tracing::info!(object = %actual.name_any(), ?child, "updated in place");
    Ok(Some(Step::Updated(child)))
}

/// One level-based step for `claim`: creates or updates the first child that is missing or
/// differs, or, when all are as desired, records the volume's state and writes nothing.
pub async fn reconcile_step(claim: &PersistentVolumeClaim, ctx: &Context) -> Result<Step, Error> {
    let name = claim
        .metadata
        .name
        .clone()
        .ok_or_else(|| bad("the claim has no name".into()))?;
    let namespace = claim
        .metadata
        .namespace
        .clone()
        .ok_or_else(|| bad("the claim has no namespace".into()))?;
    if claim.metadata.deletion_timestamp.is_some() {
        return Ok(Step::Deleting);
    }
    if !model::is_group_volume_claim(claim) {
        // Shared volumes of the storage-class mode, and claims switched off: only the claims
        // PrimeHub's API makes for them (`project-…`, `dataset-…`), not users' home claims.
        if !is_shared_volume_claim_name(&name) {
            return Ok(Step::NotAnnotated);
        }
        ctx.states.set(
            &namespace,
            &name,
            model::shared_volume_state(claim, None, None),
        );
        return remove_owned_children(claim, &namespace, &name, ctx).await;
    }
    let server_name = model::server_name(&name);
    let services: Api<Service> = Api::namespaced(ctx.client.clone(), &namespace);
    let servers: Api<StatefulSet> = Api::namespaced(ctx.client.clone(), &namespace);
    let volumes: Api<PersistentVolume> = Api::all(ctx.client.clone());

    let desired_service = model::desired_service(claim)?;
    let service = services.get_opt(&server_name).await?;
    if let Some(step) = converge(
        &services,
        service.as_ref(),
        &desired_service,
        Child::Service,
        &["selector", "ports"],
        &[],
        true,
    )
    .await?
    {
        return Ok(step);
    }
    let desired_server = model::desired_stateful_set(claim, &ctx.config.nfs)?;
    let server = servers.get_opt(&server_name).await?;
    if let Some(step) = converge(
        &servers,
        server.as_ref(),
        &desired_server,
        Child::StatefulSet,
        &["replicas", "template"],
        &["selector", "serviceName", "volumeClaimTemplates"],
        true,
    )
    .await?
    {
        return Ok(step);
    }
    // The Service exists (converge returned None for it).
    let Some(desired_volume) = service
        .as_ref()
        .map(model::desired_volume)
        .transpose()?
        .flatten()
    else {
        return Ok(Step::WaitingForClusterIp);
    };
    let volume_name = model::volume_name(&namespace, &name);
    let volume = volumes.get_opt(&volume_name).await?;
    if let Some(step) = converge(
        &volumes,
        volume.as_ref(),
        &desired_volume,
        Child::Volume,
        &["accessModes", "capacity", "mountOptions"],
        &["nfs"],
        false,
    )
    .await?
    {
        return Ok(step);
    }
    let state = model::shared_volume_state(claim, server.as_ref(), volume.as_ref());
    ctx.states.set(&namespace, &name, state.clone());
    Ok(Step::Steady(state))
}

/// Whether `name` is a claim PrimeHub's API makes for a shared volume: `project-<group>` or
/// `dataset-<volumeName>`.
fn is_shared_volume_claim_name(name: &str) -> bool {
    name.starts_with("project-") || name.starts_with("dataset-")
}

/// A claim that is no longer annotated: deletes the first of its Service and StatefulSet
/// `nfs-<claim>` that it owns as controller (never one another owner made), with the child's
/// uid as precondition. The NFS server's data claim `data-nfs-<claim>-0` stays.
async fn remove_owned_children(
    claim: &PersistentVolumeClaim,
    namespace: &str,
    name: &str,
    ctx: &Context,
) -> Result<Step, Error> {
    let Some(uid) = claim.metadata.uid.as_deref() else {
        return Ok(Step::NotAnnotated);
    };
    let server_name = model::server_name(name);
    let services: Api<Service> = Api::namespaced(ctx.client.clone(), namespace);
    let servers: Api<StatefulSet> = Api::namespaced(ctx.client.clone(), namespace);
    if let Some(service) = services.get_opt(&server_name).await?
        && owned_by(service.owner_references(), uid)
    {
        delete_if_unchanged(&services, &service, DeleteParams::default()).await?;
        tracing::info!(object = %server_name, child = ?Child::Service, claim = %name,
            "removed: the claim is no longer a group volume");
        return Ok(Step::Removed(Child::Service));
    }
    if let Some(server) = servers.get_opt(&server_name).await?
        && owned_by(server.owner_references(), uid)
    {
        delete_if_unchanged(&servers, &server, DeleteParams::default()).await?;
        tracing::info!(object = %server_name, child = ?Child::StatefulSet, claim = %name,
            "removed: the claim is no longer a group volume");
        return Ok(Step::Removed(Child::StatefulSet));
    }
    Ok(Step::NotAnnotated)
}

fn owned_by(
    owners: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference],
    uid: &str,
) -> bool {
    owners
        .iter()
        .any(|o| o.uid == uid && o.controller == Some(true))
}

/// The reconcile function for kube-runtime: [`reconcile_step`], then look again soon after a
/// write or at the resync.
pub async fn reconcile(
    claim: Arc<PersistentVolumeClaim>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let step = reconcile_step(&claim, &ctx).await?;
    tracing::debug!(claim = %claim.name_any(), ?step, "reconciled");
    Ok(match step {
        Step::Created(_) | Step::Updated(_) | Step::Removed(_) | Step::WaitingForClusterIp => {
            Action::requeue(ctx.config.after_write)
        }
        Step::Deleting => Action::await_change(),
        Step::NotAnnotated | Step::Steady(_) => Action::requeue(ctx.config.resync),
    })
}

fn claim_of_volume(volume: &PersistentVolume) -> Option<(String, String)> {
    let labels = volume.metadata.labels.as_ref()?;
    Some((
        labels.get(LABEL_NAMESPACE)?.clone(),
        labels.get(LABEL_VOLUME_CLAIM)?.clone(),
    ))
}

/// The claim of a volume PrimeHub's hook made (no label of ours yet), from its name
/// `<namespace>-nfs-<claim>` and its `primehub-namespace` label.
fn claim_of_primehub_volume(volume: &PersistentVolume) -> Option<(String, String)> {
    if let Some(found) = claim_of_volume(volume) {
        return Some(found);
    }
    let namespace = volume.metadata.labels.as_ref()?.get(LABEL_NAMESPACE)?;
    let claim = volume
        .metadata
        .name
        .as_deref()?
        .strip_prefix(&format!("{namespace}-nfs-"))?;
    Some((namespace.clone(), claim.to_owned()))
}

/// What one sweep of a volume did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sweep {
    /// The volume is not ours (no [`LABEL_VOLUME_CLAIM`]), or of another namespace.
    NotOurs,
    /// Its claim is there and annotated: kept.
    Kept,
    /// Deleted: its claim is gone, not annotated any more, or was recreated.
    Deleted {
        /// Why.
        reason: String,
    },
}

/// One step of the sweeper for `volume` in `namespace`: deletes it (uid precondition) when its
/// claim is gone, no longer annotated, or is another claim of the same name than the one it
/// was bound to.
pub async fn sweep_step(
    volume: &PersistentVolume,
    namespace: &str,
    client: &Client,
) -> Result<Sweep, Error> {
    let Some((claim_namespace, claim_name)) = claim_of_volume(volume) else {
        return Ok(Sweep::NotOurs);
    };
    if claim_namespace != namespace || volume.metadata.deletion_timestamp.is_some() {
        return Ok(Sweep::NotOurs);
    }
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), namespace);
    let claim = claims.get_opt(&claim_name).await?;
    let bound_uid = volume
        .spec
        .as_ref()
        .and_then(|s| s.claim_ref.as_ref())
        .and_then(|r| r.uid.clone());
    let reason = match &claim {
        None => format!("claim {claim_name} is gone"),
        Some(c) if !model::is_group_volume_claim(c) => {
            format!("claim {claim_name} is no longer a group volume")
        }
        Some(c) if bound_uid.is_some() && c.metadata.uid != bound_uid => {
            format!("claim {claim_name} was recreated; the volume was bound to the old one")
        }
        Some(_) => return Ok(Sweep::Kept),
    };
    let volumes: Api<PersistentVolume> = Api::all(client.clone());
    delete_if_unchanged(&volumes, volume, DeleteParams::default()).await?;
    tracing::info!(volume = %volume.name_any(), %reason, "group volume removed");
    Ok(Sweep::Deleted { reason })
}

/// The claim controller: annotated claims of `namespace`, their Services and StatefulSets
/// (owned), and the volumes labelled `primehub-namespace=<namespace>` (PrimeHub's and ours).
pub fn controller(client: Client, namespace: &str) -> Controller<PersistentVolumeClaim> {
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), namespace);
    let services: Api<Service> = Api::namespaced(client.clone(), namespace);
    let servers: Api<StatefulSet> = Api::namespaced(client.clone(), namespace);
    let volumes: Api<PersistentVolume> = Api::all(client);
    Controller::new(claims, watcher::Config::default())
        .owns(services, watcher::Config::default())
        .owns(servers, watcher::Config::default())
        .watches(
            volumes,
            watcher::Config::default().labels(&format!("{LABEL_NAMESPACE}={namespace}")),
            |volume| {
                claim_of_primehub_volume(&volume)
                    .map(|(ns, claim)| ObjectRef::new(&claim).within(&ns))
            },
        )
}

/// The sweeper: volumes carrying [`LABEL_VOLUME_CLAIM`] of `namespace`, woken also by the
/// claims of the namespace (a deleted claim wakes its volume).
pub fn sweeper(client: Client, namespace: &str) -> Controller<PersistentVolume> {
    let volumes: Api<PersistentVolume> = Api::all(client.clone());
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client, namespace);
    Controller::new(
        volumes,
        watcher::Config::default().labels(&format!(
            "{LABEL_NAMESPACE}={namespace},{LABEL_VOLUME_CLAIM}"
        )),
    )
    .watches(claims, watcher::Config::default(), |claim| {
        let namespace = claim.namespace()?;
        Some(ObjectRef::new(&model::volume_name(
            &namespace,
            &claim.name_any(),
        )))
    })
}

/// Starts the claim controller and the sweeper in `namespace` with `config`, exporting their
/// metrics (and the volumes' states) in `metrics`; returns the driver future (spawn it; it ends
/// only if a controller's stream ends).
pub fn start(
    client: Client,
    namespace: &str,
    config: GroupVolumeConfig,
    metrics: &Metrics,
) -> impl Future<Output = ()> + Send + 'static {
    let ctx = Context::new(client.clone(), config);
    start_with(ctx, namespace, metrics)
}

/// [`start`] with a [`Context`] the caller keeps (to read [`Context::state`]).
pub fn start_with(
    ctx: Context,
    namespace: &str,
    metrics: &Metrics,
) -> impl Future<Output = ()> + Send + 'static {
    ctx.register_metrics(metrics);
    let client = ctx.client.clone();
    let claims = controller(client.clone(), namespace);
    *ctx.states
        .claims
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(claims.store());
    let claim_runtime = ControllerRuntime::new(CONTROLLER, metrics);
    let claim_driver = claim_runtime
        .run(claims, reconcile, Arc::new(ctx))
        .for_each(|_| async {});
    let sweep_runtime = ControllerRuntime::new(SWEEPER, metrics);
    let sweep_ns: Arc<str> = Arc::from(namespace);
    let sweep_driver = sweep_runtime
        .run(
            sweeper(client.clone(), namespace),
            move |volume: Arc<PersistentVolume>, client: Arc<Client>| {
                let namespace = sweep_ns.clone();
                async move {
                    sweep_step(&volume, &namespace, &client).await?;
                    Ok(Action::await_change())
                }
            },
            Arc::new(client),
        )
        .for_each(|_| async {});
    futures::future::select(claim_driver.boxed(), sweep_driver.boxed())
        .map(|_| tracing::error!("a group-volume controller ended"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn contains_ignores_server_defaults() {
        let actual = json!({"spec": {"ports": [{"name": "nfs", "port": 2049, "protocol": "TCP", "targetPort": 2049}],
            "clusterIP": "10.0.0.1"}});
        let desired = json!({"spec": {"ports": [{"name": "nfs", "port": 2049}]}});
        assert!(contains(&actual, &desired));
        let more =
            json!({"spec": {"ports": [{"name": "nfs", "port": 2049}, {"name": "x", "port": 1}]}});
        assert!(!contains(&actual, &more));
    }

    #[test]
    fn metacontrollers_owner_reference_is_replaced_others_kept() {
        let ours = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "name": "c", "uid": "u1",
            "controller": true, "blockOwnerDeletion": true});
        let desired = json!({"metadata": {"ownerReferences": [ours.clone()]}});
        let other = json!({"apiVersion": "v1", "kind": "ConfigMap", "name": "x", "uid": "u9"});
        let stale = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "name": "c", "uid": "u0",
            "controller": true});
        let actual = json!({"metadata": {"ownerReferences": [stale, other.clone()]}});
        assert_eq!(merged_owners(&actual, &desired), json!([other, ours]));
    }

    #[test]
    fn update_keeps_foreign_labels_and_only_writes_differences() {
        let desired = json!({"metadata": {"labels": {"a": "1"}}, "spec": {"replicas": 1}});
        let actual = json!({"metadata": {"labels": {"a": "1", "metacontroller": "x"}, "resourceVersion": "5"},
            "spec": {"replicas": 1, "serviceName": "nfs-server"}});
        assert_eq!(update_of(&actual, &desired, &["replicas"], true), None);
        let actual2 =
            json!({"metadata": {"labels": {"metacontroller": "x"}}, "spec": {"replicas": 2}});
        let updated = update_of(&actual2, &desired, &["replicas"], true).unwrap();
        assert_eq!(
            updated["metadata"]["labels"],
            json!({"a": "1", "metacontroller": "x"})
        );
        assert_eq!(updated["spec"]["replicas"], 1);
    }

    #[test]
    fn unowned_children_lose_owner_references() {
        let desired = json!({"metadata": {"labels": {"a": "1"}}});
        let actual = json!({"metadata": {"labels": {"a": "1"},
            "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": "nfs-c", "uid": "s"}]}});
        let updated = update_of(&actual, &desired, &[], false).unwrap();
        assert!(updated["metadata"].get("ownerReferences").is_none());
    }

    #[test]
    fn volumes_name_their_claim() {
        let v: PersistentVolume =
            serde_json::from_value(json!({"metadata": {"name": "hub-nfs-project-a",
            "labels": {"primehub-namespace": "hub", "primehub-group": "a"}}}))
            .unwrap();
        assert_eq!(claim_of_volume(&v), None);
        assert_eq!(
            claim_of_primehub_volume(&v),
            Some(("hub".to_owned(), "project-a".to_owned()))
        );
    }
}
