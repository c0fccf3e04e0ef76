//! The Dataset children controllers: PrimeHub's git-sync DaemonSets and dataset upload servers,
//! level-based on kube-runtime, in place of PrimeHub's metacontroller hooks (`gitsync`,
//! `dataset-upload`; reference `primehub-controllers.md` §3.2, §3.3).
//!
//! Two controllers, each enabled on its own as PrimeHub's `gitsync.enabled` and
//! `datasetUpload.enabled`:
//!
//! - [`Children::GitSync`] (`dataset-gitsync`): the DaemonSet `gitsync-<dataset>` of each git
//!   Dataset with the `primehub-gitsync` annotation key
//!   ([`primehub_model::dataset_children::gitsync`]);
//! - [`Children::UploadServer`] (`dataset-upload`): the Deployment, Service and Ingress
//!   `dataset-upload-<dataset>` while `dataset.primehub.io/uploadServer` is `"true"`
//!   ([`primehub_model::dataset_children::upload_server`]).
//!
//! # One reconcile
//!
//! The desired children come from the pure functions; for each child the reconcile reads the
//! object of that name and makes one idempotent step:
//!
//! | the child | wanted | not wanted |
//! |---|---|---|
//! | missing | created, owned by the Dataset (a controller owner reference) | nothing |
//! | as desired (every desired field equal, the server's defaults aside; ours) | nothing | deleted if ours |
//! | different, or not yet ours | replaced in place with its resourceVersion (a concurrent write is a conflict, retried) | — |
//! | controlled by something else than a Dataset | left alone: event `ChildOwnedByOther` | left alone |
//!
//! "Ours" is an owner reference with the Dataset's uid. A child whose controller reference
//! names a Dataset of the same name (a metacontroller child of an earlier incarnation) or
//! that has no controller at all (made by PrimeHub's metacontroller, whose reference this
//! install may have lost, or by hand) is **adopted**: its owner references are replaced by
//! the Dataset's, and the object is updated in place, never duplicated. Metacontroller's own
//! children already carry a controller reference with the Dataset's uid, so an existing
//! install's objects are taken over without a write when they are as desired. A child is
//! deleted only when it is ours (or a same-name Dataset's); the Dataset's deletion removes the
//! children through owner-reference garbage collection (before creating a child the Dataset
//! is read again, so a reconcile from a store that has not yet seen the deletion does not
//! make a child that outlives it). At steady state a reconcile writes
//! nothing (no update, no event).
//!
//! Updates replace the `spec` of DaemonSets, Deployments and Ingresses wholesale (fields the
//! Dataset no longer asks for go), merge it into a Service's (its `clusterIP` and other
//! allocated fields stay), add our labels and annotations to the object's, and remove the
//! nginx basic-auth annotations from an Ingress when the Dataset no longer names an auth
//! Secret.
//!
//! # Bad input
//!
//! A Dataset the pure functions reject (an empty URL, a branch with spaces, an nfs dataset
//! without a server, …) or that names a Secret that does not exist (`spec.gitsync.secret`, the
//! upload server's auth Secret — checks that need the cluster, so they are made here) is
//! reported, and no child is written (existing ones are left as they are):
//!
//! - a Warning Event on the Dataset whose reason names the rule ([`reason_for`]: `InvalidGitURL`,
//!   `GitSyncSecretMissing`, `UploadServerUnsupportedType`, …) and whose note is the error
//!   naming the field, published once per new reason (not on every reconcile);
//! - a log line (`warn`);
//! - in `/metrics`, `primehub_controller_dataset_children_invalid{controller,namespace,dataset,reason}`
//!   is 1 while it lasts, and `primehub_controller_dataset_children_invalidations_total{controller,reason}`
//!   counts the times a Dataset became invalid.
//!
//! The reconcile then succeeds and waits for a change: of the Dataset, of a child, or of a
//! Secret (the controllers watch the namespace's Secrets and reconcile the Datasets that name
//! one), so a missing Secret created later takes effect at once — no crash, no hot loop. Writes
//! are counted in `primehub_controller_dataset_children_writes_total{controller,kind,op}`.
//!
//! # The upload server's password
//!
//! The API's `regenerateUploadServerSecret` rewrites the Secret `dataset-<name>` (an htpasswd
//! line under `auth`) that the Ingress names in `nginx.ingress.kubernetes.io/auth-secret`;
//! nginx reads it, so a new password takes effect without touching the Deployment (the
//! Secret's change triggers a reconcile, which finds everything as desired and writes
//! nothing), and the old one stops working.
//!
//! ```
//! # #[cfg(feature = "fake")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::collections::BTreeMap;
//! use futures::StreamExt;
//! use k8s_openapi::api::apps::v1::DaemonSet;
//! use primehub_model::crd::{Dataset, DatasetSpec, DatasetType};
//! use primehub_reconcile::fake::FakeCluster;
//! use primehub_reconcile::runtime::dataset_children::{Children, ChildrenMetrics, DatasetChildren};
//! use primehub_reconcile::runtime::{ControllerRuntime, Metrics};
//!
//! let cluster = FakeCluster::new();
//! let client = cluster.client();
//! let metrics = Metrics::new();
//! let controller = DatasetChildren::new(
//!     client.clone(), Children::GitSync(Default::default()), &ChildrenMetrics::new(&metrics));
//! let runtime = ControllerRuntime::new(controller.name(), &metrics);
//! tokio::spawn(controller.run("hub", &runtime).for_each(|_| async {}));
//!
//! let mut spec = DatasetSpec::new(DatasetType::Git);
//! spec.url = Some("https://github.com/InfuseAI/primehub#master".into());
//! let mut dataset = Dataset::new("docs", spec);
//! dataset.metadata.annotations = Some(BTreeMap::from([("primehub-gitsync".into(), "true".into())]));
//! kube::Api::<Dataset>::namespaced(client.clone(), "hub").create(&Default::default(), &dataset).await?;
//!
//! let daemonsets: kube::Api<DaemonSet> = kube::Api::namespaced(client, "hub");
//! let made = loop {
//!     if let Some(d) = daemonsets.get_opt("gitsync-docs").await? { break d; }
//!     tokio::time::sleep(std::time::Duration::from_millis(10)).await;
//! };
//! assert_eq!(made.metadata.owner_references.unwrap_or_default()[0].name, "docs");
//! # Ok(()) }
//! # #[cfg(not(feature = "fake"))]
//! # fn main() {}
//! ```

use std::collections::HashMap;
use std::fmt::Debug;
use std::future::Future;
use std::sync::{Arc, Mutex};

use futures::{FutureExt, Stream, StreamExt};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::{Secret, Service};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, DeleteParams, PostParams};
use kube::runtime::controller::{self, Action};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{Controller, watcher};
use kube::{Client, Resource, ResourceExt};
use primehub_model::crd::Dataset;
use primehub_model::dataset_children::gitsync::{self, GitSyncConfig};
use primehub_model::dataset_children::upload_server::{self, UploadServerConfig};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{ControllerRuntime, Metrics};
use crate::error::{Error, KubeError};

/// The git-sync controller's name (the `controller` label of its metrics).
pub const GITSYNC_CONTROLLER: &str = "dataset-gitsync";
/// The upload-server controller's name.
pub const UPLOAD_CONTROLLER: &str = "dataset-upload";
/// The name of the event reporter (`reportingController`).
pub const REPORTER: &str = "primehub-dataset-children";

/// Which children a controller keeps, with the configuration the chart's values give.
#[derive(Debug, Clone, PartialEq)]
pub enum Children {
    /// The git-sync DaemonSet (PrimeHub's `gitsync.enabled`).
    GitSync(GitSyncConfig),
    /// The upload server (PrimeHub's `datasetUpload.enabled`).
    UploadServer(Box<UploadServerConfig>),
}

/// Both controllers' configuration; `None` disables one.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DatasetChildrenConfig {
    /// The git-sync controller.
    pub gitsync: Option<GitSyncConfig>,
    /// The upload-server controller.
    pub upload_server: Option<UploadServerConfig>,
}

impl DatasetChildrenConfig {
    /// Both controllers on, with PrimeHub's chart defaults.
    pub fn all() -> DatasetChildrenConfig {
        DatasetChildrenConfig {
            gitsync: Some(GitSyncConfig::default()),
            upload_server: Some(UploadServerConfig::default()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct WriteLabels {
    controller: String,
    kind: String,
    op: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct InvalidLabels {
    controller: String,
    namespace: String,
    dataset: String,
    reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ReasonLabels {
    controller: String,
    reason: String,
}

/// The controllers' own metrics, registered once in a [`Metrics`] and shared by both.
#[derive(Clone, Default)]
pub struct ChildrenMetrics {
    writes: Family<WriteLabels, Counter>,
    invalid: Family<InvalidLabels, Gauge>,
    invalid_total: Family<ReasonLabels, Counter>,
}

impl Debug for ChildrenMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChildrenMetrics").finish_non_exhaustive()
    }
}

impl ChildrenMetrics {
    /// The metrics, registered in `metrics` (`primehub_controller_dataset_children_*`).
    pub fn new(metrics: &Metrics) -> ChildrenMetrics {
        let own = ChildrenMetrics::default();
        metrics.register(
            "dataset_children_writes",
            "Children of Datasets created, updated or deleted",
            own.writes.clone(),
        );
        metrics.register(
            "dataset_children_invalid",
            "1 while a Dataset cannot be turned into its children (reason names the rule)",
            own.invalid.clone(),
        );
        metrics.register(
            "dataset_children_invalidations",
            "Times a Dataset became invalid for its children",
            own.invalid_total.clone(),
        );
        own
    }

    /// Writes (`op`: `create`, `update`, `delete`) of `kind` children by `controller` so far.
    pub fn writes(&self, controller: &str, kind: &str, op: &str) -> u64 {
        self.writes
            .get_or_create(&WriteLabels {
                controller: controller.to_owned(),
                kind: kind.to_owned(),
                op: op.to_owned(),
            })
            .get()
    }

    /// All writes by `controller` so far.
    pub fn all_writes(&self, controller: &str) -> u64 {
        ["DaemonSet", "Deployment", "Service", "Ingress"]
            .iter()
            .flat_map(|kind| {
                ["create", "update", "delete"].map(|op| self.writes(controller, kind, op))
            })
            .sum()
    }
}

/// A write a reconcile made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildWrite {
    /// `DaemonSet`, `Deployment`, `Service` or `Ingress`.
    pub kind: &'static str,
    /// The child's name.
    pub name: String,
    /// `create`, `update` or `delete`.
    pub op: &'static str,
}

/// What one reconcile did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The Dataset is being deleted: nothing to do (garbage collection removes the children).
    Deleting,
    /// The children are as the Dataset asks; the writes it took (none at steady state).
    Converged(Vec<ChildWrite>),
    /// The Dataset cannot be turned into its children: nothing written.
    Invalid {
        /// The Event's reason, naming the rule.
        reason: String,
        /// The error, naming the field.
        message: String,
    },
}

/// The Event reason of an invalid Dataset, from the field its error names.
pub fn reason_for(error: &primehub_model::Error) -> &'static str {
    let field = match error {
        primehub_model::Error::InvalidField { field, .. } => field.as_str(),
        _ => "",
    };
    match field {
        "spec.url" => "InvalidGitURL",
        "spec.gitsync.secret" => "InvalidGitSyncSecret",
        "spec.type" => "UploadServerUnsupportedType",
        "spec.volumeName" => "InvalidVolumeName",
        "metadata.name" | "metadata.namespace" => "InvalidName",
        f if f.starts_with("spec.nfs") => "InvalidNfs",
        f if f.starts_with("spec.hostPath") => "InvalidHostPath",
        f if f.contains("gitSyncHostRoot") => "InvalidGitSyncHostRoot",
        f if f.contains("uploadServerAuthSecretName") => "InvalidUploadAuthSecretName",
        _ => "InvalidDataset",
    }
}

/// A Dataset's children controller: the configuration, the client, events and metrics.
#[derive(Clone)]
pub struct DatasetChildren {
    client: Client,
    children: Children,
    recorder: Recorder,
    metrics: ChildrenMetrics,
    /// The reason each invalid Dataset (`namespace/name`) was last reported with.
    invalid: Arc<Mutex<HashMap<String, String>>>,
}

impl Debug for DatasetChildren {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatasetChildren")
            .field("children", &self.children)
            .finish_non_exhaustive()
    }
}

fn bad(message: impl Into<String>) -> Error {
    Error::Kube(KubeError::BadRequest {
        message: message.into(),
    })
}

fn to_json<T: Serialize>(value: &T) -> Result<Value, Error> {
    serde_json::to_value(value).map_err(|e| bad(format!("cannot serialise a child: {e}")))
}

fn is_resource_key(key: &str) -> bool {
    matches!(key, "limits" | "requests")
}

fn same_quantity(key: &str, want: &str, have: &str) -> bool {
    use primehub_model::quantity::{Cpu, Memory};
    if key == "cpu" {
        matches!((Cpu::parse(key, want), Cpu::parse(key, have)), (Ok(a), Ok(b)) if a == b)
    } else {
        matches!((Memory::parse(key, want), Memory::parse(key, have)), (Ok(a), Ok(b)) if a == b)
    }
}

/// Whether `have` (an object as the server returns it) has every field `want` sets, with the
/// same value: the server's defaults may add fields; an empty list or map in `want` matches a
/// missing one; quantities under `limits`/`requests` compare by value (`1000m` is `1`).
pub fn covers(want: &Value, have: &Value) -> bool {
    covers_in(want, have, false)
}

fn covers_in(want: &Value, have: &Value, quantities: bool) -> bool {
    match (want, have) {
        (Value::Null, _) => true,
        (Value::Object(w), Value::Object(h)) => w.iter().all(|(k, wv)| match h.get(k) {
            Some(hv) => {
                covers_in(wv, hv, is_resource_key(k)) || quantity_pair(k, wv, hv, quantities)
            }
            None => is_empty(wv),
        }),
        (Value::Object(w), Value::Null) => w.is_empty(),
        (Value::Array(w), Value::Array(h)) => {
            w.len() == h.len() && w.iter().zip(h).all(|(a, b)| covers_in(a, b, false))
        }
        (Value::Array(w), Value::Null) => w.is_empty(),
        (w, h) => w == h,
    }
}

fn quantity_pair(key: &str, want: &Value, have: &Value, quantities: bool) -> bool {
    match (want, have) {
        (Value::String(w), Value::String(h)) if quantities => same_quantity(key, w, h),
        _ => false,
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// How an update carries a child's `spec`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SpecUpdate {
    /// Replaced wholesale.
    Replace,
    /// Merged into the current one (objects merged, lists replaced): a Service keeps its
    /// allocated `clusterIP`.
    Merge,
}

fn merge_into(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                match t.get_mut(k) {
                    Some(existing) if existing.is_object() && v.is_object() => {
                        merge_into(existing, v);
                    }
                    _ => {
                        t.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

/// How the child relates to the Dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ownership {
    /// An owner reference with the Dataset's uid, marked controller.
    Ours,
    /// To adopt: no controller, or a controller reference to a Dataset of the same name (an
    /// earlier incarnation), or our uid without the controller mark.
    Adoptable,
    /// Controlled by something else.
    Foreign,
}

fn ownership(refs: &[OwnerReference], dataset: &Dataset) -> Ownership {
    let uid = dataset.metadata.uid.as_deref();
    if refs
        .iter()
        .any(|r| Some(r.uid.as_str()) == uid && r.controller == Some(true))
    {
        return Ownership::Ours;
    }
    match refs.iter().find(|r| r.controller == Some(true)) {
        None => Ownership::Adoptable,
        Some(r)
            if r.kind == "Dataset"
                && r.api_version.starts_with("primehub.io/")
                && Some(r.name.as_str()) == dataset.metadata.name.as_deref() =>
        {
            Ownership::Adoptable
        }
        Some(_) => Ownership::Foreign,
    }
}

/// Whether deleting the child is ours to do: an owner reference with the Dataset's uid, or a
/// controller reference to a Dataset of the same name.
fn deletable(refs: &[OwnerReference], dataset: &Dataset) -> bool {
    let uid = dataset.metadata.uid.as_deref();
    refs.iter().any(|r| {
        Some(r.uid.as_str()) == uid
            || (r.controller == Some(true)
                && r.kind == "Dataset"
                && r.api_version.starts_with("primehub.io/")
                && Some(r.name.as_str()) == dataset.metadata.name.as_deref())
    })
}

fn owner_reference(dataset: &Dataset) -> Result<OwnerReference, Error> {
    let uid = dataset
        .metadata
        .uid
        .clone()
        .ok_or_else(|| bad("the Dataset has no uid"))?;
    Ok(OwnerReference {
        api_version: Dataset::api_version(&()).into_owned(),
        kind: Dataset::kind(&()).into_owned(),
        name: dataset.name_any(),
        uid,
        controller: Some(true),
        block_owner_deletion: None,
    })
}

/// One child's desired state.
struct Slot<K> {
    kind: &'static str,
    name: String,
    want: Option<K>,
    spec: SpecUpdate,
    /// Annotations to remove when `want` does not set them.
    managed_annotations: &'static [&'static str],
}

/// Why a child could not be converged (reported like bad input).
struct Refused {
    reason: &'static str,
    message: String,
}

impl DatasetChildren {
    /// A controller of `children` on `client`, reporting events as [`REPORTER`] and counting in
    /// `metrics`.
    pub fn new(client: Client, children: Children, metrics: &ChildrenMetrics) -> DatasetChildren {
        let recorder = Recorder::new(
            client.clone(),
            Reporter {
                controller: REPORTER.into(),
                instance: None,
            },
        );
        DatasetChildren {
            client,
            children,
            recorder,
            metrics: metrics.clone(),
            invalid: Arc::default(),
        }
    }

    /// The controller's name: [`GITSYNC_CONTROLLER`] or [`UPLOAD_CONTROLLER`].
    pub fn name(&self) -> &'static str {
        match self.children {
            Children::GitSync(_) => GITSYNC_CONTROLLER,
            Children::UploadServer(_) => UPLOAD_CONTROLLER,
        }
    }

    /// The Secret names `dataset` refers to for these children (the git credentials, or the
    /// upload server's auth Secret) while it asks for them.
    pub fn secret_of<'a>(&self, dataset: &'a Dataset) -> Option<&'a str> {
        match self.children {
            Children::GitSync(_) if gitsync::wanted(dataset) => gitsync::secret_name(dataset),
            Children::UploadServer(_) if upload_server::wanted(dataset) => {
                upload_server::auth_secret_name(dataset)
            }
            _ => None,
        }
        .filter(|s| !s.is_empty())
    }

    async fn publish(&self, dataset: &Dataset, type_: EventType, reason: &str, note: String) {
        let event = Event {
            type_,
            reason: reason.into(),
            note: Some(note),
            action: "Reconcile".into(),
            secondary: None,
        };
        // Events are best effort: a failure to report is logged, not retried.
        if let Err(e) = self
            .recorder
            .publish(&event, &dataset.object_ref(&()))
            .await
        {
            tracing::warn!(dataset = %dataset.name_any(), "cannot publish event: {e}");
        }
    }

    fn key(dataset: &Dataset) -> String {
        format!(
            "{}/{}",
            dataset.namespace().unwrap_or_default(),
            dataset.name_any()
        )
    }

    fn invalid_labels(&self, dataset: &Dataset, reason: &str) -> InvalidLabels {
        InvalidLabels {
            controller: self.name().to_owned(),
            namespace: dataset.namespace().unwrap_or_default(),
            dataset: dataset.name_any(),
            reason: reason.to_owned(),
        }
    }

    /// Records `dataset` as invalid for `reason`: the gauge, and — when the reason is new —
    /// the counter, a log line and a Warning Event.
    async fn report_invalid(&self, dataset: &Dataset, reason: &str, message: &str) -> Step {
        let key = Self::key(dataset);
        let previous = self
            .invalid
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(key.clone(), reason.to_owned());
        if previous.as_deref() != Some(reason) {
            if let Some(old) = previous {
                self.metrics
                    .invalid
                    .remove(&self.invalid_labels(dataset, &old));
            }
            self.metrics
                .invalid
                .get_or_create(&self.invalid_labels(dataset, reason))
                .set(1);
            self.metrics
                .invalid_total
                .get_or_create(&ReasonLabels {
                    controller: self.name().to_owned(),
                    reason: reason.to_owned(),
                })
                .inc();
            tracing::warn!(controller = self.name(), dataset = %key, reason, "{message}");
            self.publish(dataset, EventType::Warning, reason, message.to_owned())
                .await;
        }
        Step::Invalid {
            reason: reason.to_owned(),
            message: message.to_owned(),
        }
    }

    fn clear_invalid(&self, dataset: &Dataset) {
        let key = Self::key(dataset);
        let previous = self
            .invalid
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&key);
        if let Some(old) = previous {
            self.metrics
                .invalid
                .remove(&self.invalid_labels(dataset, &old));
            tracing::info!(controller = self.name(), dataset = %key, "the Dataset is valid again");
        }
    }

    /// Whether the Dataset's Secret exists (when it names one).
    async fn secret_missing(
        &self,
        dataset: &Dataset,
        namespace: &str,
    ) -> Result<Option<String>, Error> {
        let Some(secret) = self.secret_of(dataset) else {
            return Ok(None);
        };
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        Ok(match secrets.get_metadata_opt(secret).await {
            Ok(Some(_)) => None,
            Ok(None) => Some(secret.to_owned()),
            Err(e) => return Err(e.into()),
        })
    }

    /// One level-based step for `dataset`: computes its children, checks the Secret it names,
    /// and creates, updates or deletes each child as needed (see the module documentation).
    ///
    /// # Errors
    ///
    /// API errors (retried by the runtime); bad input is not an error but [`Step::Invalid`].
    pub async fn reconcile_step(&self, dataset: &Dataset) -> Result<Step, Error> {
        if dataset.metadata.deletion_timestamp.is_some() {
            return Ok(Step::Deleting);
        }
        let namespace = dataset
            .namespace()
            .ok_or_else(|| bad("the Dataset has no namespace"))?;
        let name = dataset.name_any();
        let desired = match &self.children {
            Children::GitSync(config) => {
                gitsync::desired(dataset, config).map(|d| Desired::GitSync(d.map(Box::new)))
            }
            Children::UploadServer(config) => {
                upload_server::desired(dataset, config).map(|u| Desired::Upload(u.map(Box::new)))
            }
        };
        let desired = match desired {
            Ok(d) => d,
            Err(e) => {
                return Ok(self
                    .report_invalid(dataset, reason_for(&e), &e.to_string())
                    .await);
            }
        };
        if desired.any()
            && let Some(secret) = self.secret_missing(dataset, &namespace).await?
        {
            let (reason, field) = match self.children {
                Children::GitSync(_) => ("GitSyncSecretMissing", "spec.gitsync.secret".to_owned()),
                Children::UploadServer(_) => (
                    "UploadAuthSecretMissing",
                    format!(
                        "metadata.annotations[{}]",
                        primehub_model::crd::dataset::ANNOTATION_UPLOAD_SERVER_AUTH_SECRET_NAME
                    ),
                ),
            };
            let message = format!(
                "invalid {field}: the Secret {secret:?} does not exist in namespace {namespace}"
            );
            return Ok(self.report_invalid(dataset, reason, &message).await);
        }
        let owner = owner_reference(dataset)?;
        let mut writes = Vec::new();
        let outcome = match desired {
            Desired::GitSync(want) => {
                self.converge(
                    dataset,
                    &namespace,
                    &owner,
                    Slot::<DaemonSet> {
                        kind: "DaemonSet",
                        name: gitsync::daemonset_name(&name),
                        want: want.map(|d| *d),
                        spec: SpecUpdate::Replace,
                        managed_annotations: &[],
                    },
                    &mut writes,
                )
                .await
            }
            Desired::Upload(want) => {
                let (deployment, service, ingress) = match want {
                    Some(u) => {
                        let u = *u;
                        (Some(u.deployment), Some(u.service), Some(u.ingress))
                    }
                    None => (None, None, None),
                };
                let child = upload_server::resource_name(&name);
                let mut outcome = self
                    .converge(
                        dataset,
                        &namespace,
                        &owner,
                        Slot {
                            kind: "Deployment",
                            name: child.clone(),
                            want: deployment,
                            spec: SpecUpdate::Replace,
                            managed_annotations: &[],
                        },
                        &mut writes,
                    )
                    .await;
                if outcome.as_ref().is_ok_and(Result::is_ok) {
                    outcome = self
                        .converge(
                            dataset,
                            &namespace,
                            &owner,
                            Slot {
                                kind: "Service",
                                name: child.clone(),
                                want: service,
                                spec: SpecUpdate::Merge,
                                managed_annotations: &[],
                            },
                            &mut writes,
                        )
                        .await;
                }
                if outcome.as_ref().is_ok_and(Result::is_ok) {
                    outcome = self
                        .converge(
                            dataset,
                            &namespace,
                            &owner,
                            Slot {
                                kind: "Ingress",
                                name: child,
                                want: ingress,
                                spec: SpecUpdate::Replace,
                                managed_annotations: &upload_server::AUTH_ANNOTATIONS,
                            },
                            &mut writes,
                        )
                        .await;
                }
                outcome
            }
        };
        if let Err(refused) = outcome? {
            return Ok(self
                .report_invalid(dataset, refused.reason, &refused.message)
                .await);
        }
        self.clear_invalid(dataset);
        for write in &writes {
            let reason = match write.op {
                "create" => "ChildCreated",
                "update" => "ChildUpdated",
                _ => "ChildDeleted",
            };
            self.publish(
                dataset,
                EventType::Normal,
                reason,
                format!("{} {} {}d", write.kind, write.name, write.op),
            )
            .await;
        }
        Ok(Step::Converged(writes))
    }

    fn count(
        &self,
        kind: &'static str,
        name: &str,
        op: &'static str,
        writes: &mut Vec<ChildWrite>,
    ) {
        self.metrics
            .writes
            .get_or_create(&WriteLabels {
                controller: self.name().to_owned(),
                kind: kind.to_owned(),
                op: op.to_owned(),
            })
            .inc();
        tracing::info!(
            controller = self.name(),
            kind,
            child = name,
            op,
            "wrote a Dataset's child"
        );
        writes.push(ChildWrite {
            kind,
            name: name.to_owned(),
            op,
        });
    }

    /// Whether `dataset` (this incarnation: the same uid) still exists and is not being deleted.
    async fn still_exists(&self, dataset: &Dataset, namespace: &str) -> Result<bool, Error> {
        let datasets: Api<Dataset> = Api::namespaced(self.client.clone(), namespace);
        Ok(datasets
            .get_opt(&dataset.name_any())
            .await?
            .is_some_and(|d| d.uid() == dataset.uid() && d.metadata.deletion_timestamp.is_none()))
    }

    /// Brings one child to its desired state in one step.
    async fn converge<K>(
        &self,
        dataset: &Dataset,
        namespace: &str,
        owner: &OwnerReference,
        slot: Slot<K>,
        writes: &mut Vec<ChildWrite>,
    ) -> Result<Result<(), Refused>, Error>
    where
        K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + Debug
            + Serialize
            + DeserializeOwned,
    {
        let api: Api<K> = Api::namespaced(self.client.clone(), namespace);
        let current = api.get_opt(&slot.name).await?;
        let Some(mut want) = slot.want else {
            if let Some(current) = current
                && deletable(current.owner_references(), dataset)
            {
                // A child replaced since it was read is left for the reconcile its watch
                // event brings.
                if super::delete_if_unchanged(&api, &current, DeleteParams::background()).await? {
                    self.count(slot.kind, &slot.name, "delete", writes);
                }
            }
            return Ok(Ok(()));
        };
        want.meta_mut().owner_references = Some(vec![owner.clone()]);
        let Some(current) = current else {
            // The Dataset may be gone while the controller's store still has it (its children
            // were just garbage-collected, which triggered this reconcile): a child made now
            // would outlive it, so the Dataset is read once more before a create.
            if !self.still_exists(dataset, namespace).await? {
                return Ok(Ok(()));
            }
            match api.create(&PostParams::default(), &want).await {
                Ok(_) => self.count(slot.kind, &slot.name, "create", writes),
                // Made meanwhile (a watch event is on its way): converge on the next reconcile.
                Err(kube::Error::Api(s)) if s.code == 409 => {
                    return Err(Error::from(kube::Error::Api(s)));
                }
                Err(e) => return Err(e.into()),
            }
            return Ok(Ok(()));
        };
        let owned = ownership(current.owner_references(), dataset);
        if owned == Ownership::Foreign {
            return Ok(Err(Refused {
                reason: "ChildOwnedByOther",
                message: format!(
                    "{} {} exists and is controlled by another object: it is left alone",
                    slot.kind, slot.name
                ),
            }));
        }
        let want_json = to_json(&want)?;
        let have_json = to_json(&current)?;
        let stale_annotation = slot.managed_annotations.iter().any(|k| {
            want.annotations().get(*k).is_none() && current.annotations().contains_key(*k)
        });
        let up_to_date = owned == Ownership::Ours
            && !stale_annotation
            && covers(&want_json["spec"], &have_json["spec"])
            && covers(
                &want_json["metadata"]["labels"],
                &have_json["metadata"]["labels"],
            )
            && covers(
                &want_json["metadata"]["annotations"],
                &have_json["metadata"]["annotations"],
            );
        if up_to_date {
            return Ok(Ok(()));
        }
        let mut body = have_json;
        match slot.spec {
            SpecUpdate::Replace => body["spec"] = want_json["spec"].clone(),
            SpecUpdate::Merge => merge_into(&mut body["spec"], &want_json["spec"]),
        }
        let metadata = &mut body["metadata"];
        for key in ["labels", "annotations"] {
            let mut merged = metadata[key].as_object().cloned().unwrap_or_default();
            if key == "annotations" {
                for k in slot.managed_annotations {
                    merged.remove(*k);
                }
            }
            if let Some(ours) = want_json["metadata"][key].as_object() {
                merged.extend(ours.clone());
            }
            metadata[key] = Value::Object(merged);
        }
        let mut refs: Vec<OwnerReference> = current
            .owner_references()
            .iter()
            .filter(|r| r.controller != Some(true) && r.uid != owner.uid)
            .cloned()
            .collect();
        refs.push(owner.clone());
        metadata["ownerReferences"] = to_json(&refs)?;
        let updated: K = serde_json::from_value(body)
            .map_err(|e| bad(format!("cannot build the updated {}: {e}", slot.kind)))?;
        // Carries the resourceVersion read above: a concurrent write is a 409, retried.
        api.replace(&slot.name, &PostParams::default(), &updated)
            .await?;
        self.count(slot.kind, &slot.name, "update", writes);
        Ok(Ok(()))
    }

    /// The reconcile function for kube-runtime: [`reconcile_step`](Self::reconcile_step), then
    /// wait for the next change (of the Dataset, a child, or a Secret).
    pub async fn reconcile(
        dataset: Arc<Dataset>,
        ctx: Arc<DatasetChildren>,
    ) -> Result<Action, Error> {
        let step = ctx.reconcile_step(&dataset).await?;
        tracing::debug!(controller = ctx.name(), dataset = %dataset.name_any(), ?step, "reconciled");
        Ok(Action::await_change())
    }

    /// The kube-runtime `Controller`: Datasets in `namespace`, the children kinds they own, and
    /// the namespace's Secrets (a Secret's change reconciles the Datasets naming it).
    pub fn controller(&self, namespace: &str) -> Controller<Dataset> {
        let client = self.client.clone();
        let datasets: Api<Dataset> = Api::namespaced(client.clone(), namespace);
        let config = watcher::Config::default();
        let mut controller = Controller::new(datasets, config.clone());
        controller = match self.children {
            Children::GitSync(_) => controller.owns(
                Api::<DaemonSet>::namespaced(client.clone(), namespace),
                config.clone(),
            ),
            Children::UploadServer(_) => controller
                .owns(
                    Api::<Deployment>::namespaced(client.clone(), namespace),
                    config.clone(),
                )
                .owns(
                    Api::<Service>::namespaced(client.clone(), namespace),
                    config.clone(),
                )
                .owns(
                    Api::<Ingress>::namespaced(client.clone(), namespace),
                    config.clone(),
                ),
        };
        let store = controller.store();
        let this = self.clone();
        controller.watches(
            Api::<Secret>::namespaced(client, namespace),
            config,
            move |secret: Secret| {
                let name = secret.name_any();
                let ns = secret.namespace();
                store
                    .state()
                    .into_iter()
                    .filter(|d| d.namespace() == ns && this.secret_of(d) == Some(name.as_str()))
                    .map(|d| ObjectRef::from_obj(d.as_ref()))
                    .collect::<Vec<_>>()
            },
        )
    }

    /// Runs the controller in `namespace` with `runtime` until it shuts down; drive the
    /// returned stream.
    pub fn run(
        self,
        namespace: &str,
        runtime: &ControllerRuntime,
    ) -> impl Stream<
        Item = Result<(ObjectRef<Dataset>, Action), controller::Error<Error, watcher::Error>>,
    > + Send
    + use<> {
        let controller = self.controller(namespace);
        runtime.run(controller, DatasetChildren::reconcile, Arc::new(self))
    }
}

/// The desired children of one controller.
enum Desired {
    GitSync(Option<Box<DaemonSet>>),
    Upload(Option<Box<upload_server::UploadServer>>),
}

impl Desired {
    fn any(&self) -> bool {
        match self {
            Desired::GitSync(d) => d.is_some(),
            Desired::Upload(u) => u.is_some(),
        }
    }
}

/// Starts the enabled controllers of `config` in `namespace` (one [`ControllerRuntime`] each,
/// sharing `metrics`); returns the driver future (spawn it; it ends only if a controller's
/// stream ends, and never when none is enabled).
pub fn start(
    client: Client,
    namespace: &str,
    config: DatasetChildrenConfig,
    metrics: &Metrics,
) -> impl Future<Output = ()> + Send + 'static {
    let own = ChildrenMetrics::new(metrics);
    let mut drivers = Vec::new();
    let enabled = [
        config.gitsync.map(Children::GitSync),
        config
            .upload_server
            .map(|c| Children::UploadServer(Box::new(c))),
    ];
    for children in enabled.into_iter().flatten() {
        let controller = DatasetChildren::new(client.clone(), children, &own);
        let runtime = ControllerRuntime::new(controller.name(), metrics);
        drivers.push(
            controller
                .run(namespace, &runtime)
                .for_each(|_| async {})
                .boxed(),
        );
    }
    async move {
        if drivers.is_empty() {
            std::future::pending::<()>().await;
        }
        futures::future::select_all(drivers).await;
        tracing::error!("a Dataset children controller ended");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn covers_ignores_server_defaults_and_compares_quantities_by_value() {
        let want = json!({"a": {"resources": {"limits": {"cpu": "1000m", "memory": "2000Mi"}}}, "l": [], "m": {}});
        let have =
            json!({"a": {"resources": {"limits": {"cpu": "1", "memory": "2000Mi"}}, "extra": 1}});
        assert!(covers(&want, &have));
        let changed = json!({"a": {"resources": {"limits": {"cpu": "2", "memory": "2000Mi"}}}});
        assert!(!covers(&want, &changed));
        // Outside resources, strings compare as strings.
        assert!(!covers(&json!({"env": "1000m"}), &json!({"env": "1"})));
        // Lists must have the same length.
        assert!(!covers(&json!({"v": [1]}), &json!({"v": [1, 2]})));
        assert!(!covers(&json!({"v": [1]}), &json!({})));
    }

    #[test]
    fn reasons_name_the_rule() {
        let e = |field: &str| primehub_model::Error::InvalidField {
            field: field.into(),
            rule: "x".into(),
        };
        assert_eq!(reason_for(&e("spec.url")), "InvalidGitURL");
        assert_eq!(reason_for(&e("spec.nfs.server")), "InvalidNfs");
        assert_eq!(
            reason_for(&e(
                "metadata.annotations[dataset.primehub.io/gitSyncHostRoot]"
            )),
            "InvalidGitSyncHostRoot"
        );
        assert_eq!(reason_for(&e("spec.type")), "UploadServerUnsupportedType");
    }

    #[test]
    fn merge_keeps_what_the_patch_does_not_name() {
        let mut have =
            json!({"clusterIP": "10.0.0.1", "ports": [{"port": 1}], "selector": {"a": "b"}});
        merge_into(
            &mut have,
            &json!({"ports": [{"port": 2}], "selector": {"c": "d"}}),
        );
        assert_eq!(
            have,
            json!({"clusterIP": "10.0.0.1", "ports": [{"port": 2}], "selector": {"a": "b", "c": "d"}})
        );
    }
}
