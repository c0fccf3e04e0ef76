//! Kubernetes for PrimeHub: the access layer every controller and the API server use.
//!
//! PrimeHub's other half of state is Kubernetes objects: its `primehub.io/v1alpha1` custom
//! resources, and the pods, PVCs and secrets behind them. This crate gives integrators and tests
//! one way to reach them (DESIGN §5):
//!
//! | piece | what it is |
//! |---|---|
//! | [`KubeApi`] | one object-safe trait over dynamic objects: get, list (label and field selectors, paging), create, replace (optimistic concurrency) and merge/JSON patch of the main resource or the status subresource ([`Subresource`]; `replace_status`/`patch_status` are provided helpers), delete (propagation, preconditions), `delete_collection` by selector, watch from a resourceVersion, and pod logs (follow, tail, since) |
//! | [`Typed`] | the same operations for a concrete `kube::Resource` type in one namespace, like `kube::Api<K>`: `Typed::<PhJob>::namespaced(api, "hub")` or `Typed::<Namespace>::all(api)`; typed `list` (with resourceVersion and continue token) and typed `watch` |
//! | blanket impls | `Arc<T>` and `Box<T>` of a `KubeApi` are `KubeApi`s, so decorators (counting, caching) wrap any implementation |
//! | `MockKubeApi` (feature `mock`) | mockall mocks for interaction assertions |
//! | [`kube_client::KubeClient`] | the implementation on kube-rs, for a real API server |
//! | `fake` (feature `fake`) | an in-memory API server with real semantics — resourceVersions, generation, status subresource, finalizers, owner-reference GC, watches with 410 Gone, admission hooks, pod logs a test writes, timestamps from an injected [`Clock`](primehub_model::clock::Clock) — and a **Kubernetes API face over HTTP**, so an unmodified `kube::Client` (typed `Api<K>`, `runtime::watcher`, `Discovery`, `Api::<Pod>::logs`) works against it: a fake cluster for kube-rs users, something its users have asked for and no maintained crate offers |
//! | `fake::FakeCluster::client()` (feature `fake`) | a `kube::Client` that talks to the fake cluster **in process** — a tower service over the fake's router, no socket — so kube-runtime itself (`watcher`, reflector `Store`, `Controller`, finalizer helpers, the event `Recorder`) runs unchanged on the fake, as on a real API server |
//! | [`runtime`] | what PrimeHub's controllers share on top of kube-runtime: slim projected stores ([`runtime::projection::PodView`]), [`runtime::ControllerRuntime`] (our [`Error`], per-object exponential backoff for transient errors, a long delay for permanent ones, Prometheus metrics with a text encoder for `/metrics`), [`runtime::job_summary`], a small level-based controller as the worked example, and [`runtime::schedule`], PrimeHub's PhSchedule controller (recurring jobs on the injected clock, no in-memory cron table) |
//! | [`admission`] | admission on `kube::core::admission` types: one [`admission::AdmissionHandler`] and one entry point ([`admission::review`]) called both by the fake cluster in process and by the `POST /mutate` route ([`admission::router`]) a real API server calls |
//! | [`webhook`] | PrimeHub's admission webhooks on that entry point: resource validation (user and group quotas decided from the pod ledger plus in-flight admissions, quotas from a [`webhook::quotas::QuotaSource`]: the Keycloak cache or PrimeHub's GraphQL API), `pvc-check.primehub.io` (drops volumes whose claim is missing), `pod-image-mutating-webhook.primehub.io` (the air-gap image prefix) and `license-validating-webhook.primehub.io` (the License's platform), with metrics and the HTTP routes `primehub-webhook` serves |
//! | [`bootstrap`] | the Kubernetes side of PrimeHub's bootstrap: the client Secrets `primehub-client-admin-ui` and `primehub-client-jupyterhub`, written from a realm bootstrap's outcome |
//! | [`selector`] | Kubernetes label selectors: parse and match |
//! | [`stores`] | the reflector stores the GraphQL API server reads from: [`stores::ResourceStores`] watches `Image`, `InstanceType`, `Dataset`, PrimeHub's `Secret`s, `PersistentVolumeClaim`s and pods in PrimeHub's namespace, keeps usage in a `UsageLedger` ([`stores::PodUsage`], which the admission webhook can run alone), retries watch errors and rebuilds after `410 Gone`, and gives read-your-writes waits (`wait_for_version`, `wait_for_deletion`) that end on the watch event, not by polling; the module docs run it on the fake cluster |
//! | [`conformance`] | the behaviour every implementation must show; it runs against the fake, against `KubeClient` pointed at the fake's HTTP face, and against a real kube-apiserver v1.37.2 with etcd (`tools/kube-apiserver/`) |
//!
//! `conformance_kinds` (feature `conformance`) holds the checks of the kinds the fake serves for
//! later work (core and `events.k8s.io` Events, PersistentVolumes, ServiceAccounts, Roles,
//! RoleBindings) and of kube-runtime's `Recorder` on them, through a `kube::Client`; they run
//! against the fake in process and against the real kube-apiserver.
//!
//! # A fake cluster for kube-rs users
//!
//! With the `fake` feature, `FakeCluster::new().client()` is a `kube::Client` on an in-memory
//! API server with real semantics (resourceVersions and conflicts, generation, status
//! subresources, finalizers, owner-reference garbage collection, watches with `410 Gone`,
//! admission webhooks), discovery included. Controllers written for kube-runtime are tested on
//! it unchanged, in process, with tokio's paused clock — the test double kube-rs users have
//! asked for. `FakeCluster::expire_watch_history` forces the `410 Gone` path a long-running
//! watcher meets on a real cluster. See [`runtime`] for a controller running on it.
//!
//! Why a trait over `DynamicObject`s and not generics over `kube::Resource`: one
//! `Arc<dyn KubeApi>` serves built-in kinds and PrimeHub's custom resources alike, the fake
//! implements each operation once, and the typed layer costs one serde conversion per call,
//! which is nothing next to a network round trip.
//!
//! All errors are [`KubeError`]: `NotFound`, `AlreadyExists`, `Conflict` (with a
//! [`ConflictKind`]: stale resourceVersion, uid precondition, other), `Invalid` (with the
//! server's causes), `Forbidden`, `Gone`, `BadRequest`, `Transport`, `Config` (an unusable
//! kubeconfig, naming the file), `Unexpected`; [`KubeError::is_transient`] tells what a retry
//! can fix.
//!
//! The real API server for tests is built from Go modules (`tools/kube-apiserver/`,
//! Kubernetes v1.37.2 + embedded etcd 3.7.0): about 15 minutes and 2.4 GB peak memory for the
//! first build on 2 cores, cached by version afterwards; it is ready about 6 s after start and
//! holds about 300 MiB.
//!
//! # Example: a controller-style loop on the fake
//!
//! ```
//! # #[cfg(feature = "fake")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> primehub_reconcile::Result<()> {
//! use std::sync::Arc;
//! use futures::StreamExt;
//! use primehub_model::crd::{PhJob, PhJobSpec};
//! use primehub_reconcile::fake::FakeCluster;
//! use primehub_reconcile::{KubeApi, ListOptions, PatchBody, Typed, WatchEvent};
//!
//! let api: Arc<dyn KubeApi> = Arc::new(FakeCluster::new());
//! let jobs = Typed::<PhJob>::namespaced(api, "hub");
//! let listed = jobs.list(&ListOptions::default()).await?;
//! let mut events = jobs.watch(&ListOptions::default(), &listed.resource_version).await?;
//!
//! let job = PhJob::new("job-202611290000-abcdef", PhJobSpec {
//!     display_name: "train".into(),
//!     user_id: "u-1".into(),
//!     group_id: "g-1".into(),
//!     group_name: "phusers".into(),
//!     instance_type: "cpu-1".into(),
//!     image: "base-notebook".into(),
//!     command: "python train.py".into(),
//!     ..Default::default()
//! });
//! jobs.create(&job).await?;
//!
//! // The controller sees the new job and moves it to Pending through the status subresource.
//! if let Some(Ok(WatchEvent::Added(seen))) = events.next().await {
//!     let name = seen.metadata.name.unwrap_or_default();
//!     let status = PatchBody::Merge(serde_json::json!({"status": {"phase": "Pending"}}));
//!     let updated = jobs.patch_status(&name, &status).await?;
//!     let phase = updated.status.and_then(|s| s.phase);
//!     assert_eq!(phase.as_ref().map(|p| p.as_str()), Some("Pending"));
//! }
//! # Ok(()) }
//! # #[cfg(not(feature = "fake"))]
//! # fn main() {}
//! ```
#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used)]

pub mod admission;
pub mod api;
pub mod bootstrap;
#[cfg(feature = "conformance")]
pub mod conformance;
#[cfg(feature = "conformance")]
pub mod conformance_defaults;
#[cfg(feature = "conformance")]
pub mod conformance_kinds;
#[cfg(feature = "conformance")]
pub mod conformance_validation;
pub mod error;
#[cfg(feature = "fake")]
pub mod fake;
pub mod kube_client;
pub mod role_sync;
pub mod runtime;
pub mod selector;
pub mod stores;
pub mod webhook;

#[cfg(feature = "mock")]
pub use api::MockKubeApi;
pub use api::{
    DeleteOptions, KubeApi, ListOptions, LogOptions, LogStream, ObjectList, PatchBody, Propagation,
    ResourceKind, Subresource, Typed, WatchEvent, WatchStream,
};
pub use error::{ConflictKind, Error, InvalidCause, KubeError, Result};
