//! An in-memory Kubernetes API server for tests and `primehub dev` (feature `fake`).
//!
//! [`FakeCluster`] implements [`KubeApi`] with a real API server's semantics, and
//! [`FakeCluster::router`] / [`FakeCluster::serve`] put the same state behind HTTP with the
//! Kubernetes REST paths, so an unmodified `kube::Client` (typed `Api<K>`, `watcher`,
//! `Discovery`) works against it. [`FakeCluster::client`] gives such a client **in process**
//! (a tower service over the router, no socket): kube-runtime's `watcher`, reflector stores,
//! `Controller`, finalizer helpers and event `Recorder` run on it unchanged (see
//! [`crate::runtime`]).
//!
//! Served kinds: namespaces, pods, services, PVCs, PersistentVolumes, secrets, ConfigMaps,
//! ServiceAccounts, core `v1` and `events.k8s.io/v1` Events (one collection seen through both
//! APIs with kube-apiserver's field conversion: `regarding` is `involvedObject`, `note` is
//! `message`, …), deployments, statefulsets,
//! daemonsets, ingresses, network policies, leases, Roles, RoleBindings,
//! CustomResourceDefinitions and every `primehub.io` kind, each in discovery.
//!
//! There is no kubelet: pods keep the phase a test writes. [`kubelet::PodSimulator`] is an
//! optional stand-in for demos (`primehub dev`): pods go `Running` after a delay and
//! `Succeeded` (or `Failed`) after the `sleep`s of their script, writing its `echo` lines to
//! the pod log. [`notebooks::NotebookRunner`] runs notebook pods (`component=singleuser-server`)
//! as local `jupyterhub-singleuser` processes, each on a loopback address of its own that it
//! reports as the pod's IP, so JupyterHub can reach them.
//!
//! What it implements, as kube-apiserver does:
//!
//! - one decimal `resourceVersion` counter for the whole store (lists return the current one);
//!   `uid` (UUID v4), `creationTimestamp` (RFC 3339, seconds), `metadata.generation` — on the
//!   kinds kube-apiserver keeps one for (pods, workloads, ingresses, network policies, CRDs and
//!   custom resources; not namespaces, services, PVCs, PVs, secrets, ConfigMaps,
//!   ServiceAccounts, events, leases or RBAC objects) — starting at 1 and bumped when anything
//!   but `metadata` changes — for kinds with a status subresource the status does not count
//!   either — and when deletion starts; `generateName`;
//! - defaulting on every create, update, patch and status write, as kube-apiserver v1.37
//!   (`fake/defaults.rs`, each default naming its Kubernetes source; the fixtures of
//!   `conformance_defaults` (feature `conformance`) were stored by a real kube-apiserver and the fake must
//!   store the same): pods and the pod templates of Deployments, StatefulSets and DaemonSets
//!   (`SetDefaults_PodSpec`, containers, probes, ports, env field refs, volumes; for pods also
//!   requests from limits, `enableServiceLinks`, host-network ports, `status.phase: Pending`
//!   and `qosClass`, and the `DefaultTolerationSeconds` and `Priority` admission plugins —
//!   only the built-in PriorityClasses exist); Deployments, StatefulSets (claim templates
//!   too), DaemonSets (`deprecated.daemonset.template.generation`); Services (type,
//!   sessionAffinity, ports' protocol and targetPort, traffic policies, `ipFamilies`,
//!   `ipFamilyPolicy`, a unique `clusterIP`/`clusterIPs` from the real tier's
//!   `10.0.0.0/24` — `None` kept, a given one checked, released on delete, kept by an update
//!   without one — and node ports from 30000–32767); PVCs and PVs (`volumeMode`, reclaim
//!   policy, `phase: Pending`, the `StorageObjectInUseProtection` finalizers — the fake plays
//!   the pvc/pv-protection controllers and removes them once a deleted claim is used by no
//!   pod, or a deleted volume is not bound); Namespaces (`kubernetes.io/metadata.name`,
//!   `spec.finalizers: [kubernetes]`, kept on update, `status.phase`); Secrets (`type:
//!   Opaque`, `stringData` written into `data`); NetworkPolicies (`policyTypes`, port
//!   protocol); RoleBindings (subjects' `apiGroup`); the fields Go always serialises
//!   (`status: {}` of a Deployment, a Role's `rules: null`, a Lease's `spec: {}`, …); and, for
//!   built-in kinds, empty lists and maps and nulls are not stored (`labels: {}`, `env: []`:
//!   the kind's OpenAPI schema tells lists and maps from structs like `emptyDir: {}`);
//! - immutable fields (`fake/immutable.rs`), refused with 422 Invalid naming the field path in
//!   kube-apiserver's words: a pod's containers (their number) and spec beyond images,
//!   `activeDeadlineSeconds` (set or lowered), added tolerations, removed scheduling gates
//!   (while gated: added node selector entries and node affinity requirements) and
//!   `terminationGracePeriodSeconds`; a PVC's spec (except `volumeName` while empty,
//!   `storageClassName` from nil and a bound claim's storage request); a PV's source and
//!   `volumeMode`; a Service's `clusterIP`; Deployment, StatefulSet and DaemonSet `spec.selector` (and a StatefulSet's
//!   `serviceName`, `podManagementPolicy`, `volumeClaimTemplates`); the data of a Secret or
//!   ConfigMap with `immutable: true`, and a Secret's `type`. A forbidden pod, PVC or
//!   PV spec change ends with kube-apiserver's diff of its internal Go structs, the same text
//!   (`fake/godiff.rs`: the structs' layout from `tools/internal-layout`, a port of go-difflib);
//! - `AlreadyExists` on a duplicate create, `Conflict` on a write with a stale
//!   `resourceVersion` (a write without one is unconditional), no-op writes keep the version and
//!   emit no event;
//! - the status subresource on pods, services, PVCs, PersistentVolumes, deployments, statefulsets, daemonsets,
//!   ingresses and the `primehub.io` kinds whose CRD declares it (ImageSpec, ImageSpecJob, PhJob,
//!   PhSchedule, PhDeployment, License): main writes keep the stored status, status writes keep
//!   everything else, and a create drops the status (pods and PersistentVolumes start with
//!   `phase: Pending`);
//! - namespaces: namespaced objects need an existing, non-terminating namespace; deleting a
//!   namespace deletes its objects and the namespace goes once it is empty;
//! - finalizers: a delete sets `deletionTimestamp` (and `deletionGracePeriodSeconds: 0`); the
//!   object goes when an update removes its last finalizer; no finalizer can be added meanwhile;
//! - owner-reference garbage collection: background (default: dependents whose owners are all
//!   gone are deleted, recursively), foreground (the owner carries `foregroundDeletion` until
//!   its dependents are gone) and orphan (owner references removed); delete preconditions (uid,
//!   resourceVersion) answer `Conflict`;
//! - label selectors ([`crate::selector`]; syntax errors answered with kube-apiserver's parser
//!   messages) and field selectors parsed as kube-apiserver parses them (sorted terms, `=`,
//!   `==`, `!=`, `\`-escapes) on the field labels each kind supports — `metadata.name` and
//!   `metadata.namespace`, plus pods' `spec.nodeName`, `spec.restartPolicy`,
//!   `spec.schedulerName`, `spec.serviceAccountName`, `spec.hostNetwork`, `status.phase`,
//!   `status.podIP(s)`, `status.nominatedNodeName`, secrets' `type`, services' `spec.clusterIP`
//!   and `spec.type`, events' `involvedObject.*`/`regarding.*`, `reason`, `type`, …, namespaces'
//!   `status.phase` (and not `metadata.namespace`), a CRD's `selectableFields` — any other
//!   label is a 400 worded as kube-apiserver words it, on list, watch and deletecollection;
//!   `limit`/`continue` paging with kube-apiserver's continue tokens (`continue_token.rs`:
//!   the same base64 JSON, forged or damaged tokens refused with its messages, Go's JSON
//!   errors included) and its order (storage keys as bytes: namespace `a-b` before `a`);
//! - request bodies as kube-apiserver reads them: JSON (also without a `Content-Type`), YAML,
//!   and — for built-in kinds — Kubernetes protobuf, which kubectl's typed commands
//!   (`kubectl create configmap|secret|deployment|…`) send and do not retry as JSON; other
//!   media types are 415, a body over 3 MiB is 413; answers in JSON or, when `Accept` prefers
//!   it, YAML (`yaml.rs`: errors too, keys sorted, strings a YAML 1.1 reader would misread
//!   quoted; a watch asked for YAML is 406 as on a real server); an `Accept` with neither
//!   (only protobuf, say) is 406; a body of another kind or group-version is 400;
//! - the `scale` subresource of Deployments and StatefulSets (`scale.rs`: get, update and
//!   every patch type of an `autoscaling/v1` Scale, with kube-apiserver's refusals), so
//!   `kubectl scale` works;
//! - label keys and values and annotation keys (qualified names, ≤ 63-byte values) and the
//!   256 KiB annotation total checked on every create, update and patch: 422 with every cause
//!   (the name's included) at kube-apiserver's field paths;
//! - watches from a resourceVersion with events in order, `Gone` (410) once the version has left
//!   the bounded history (10 000 events by default; the history starts after the initial
//!   namespaces, like a fresh API server's watch cache; [`FakeCluster::expire_watch_history`]
//!   expires it on demand), synthetic `Added` events when starting from
//!   `""` or `"0"`; a watch with a selector sees an object that starts (stops) matching as
//!   `Added` (`Deleted`);
//! - in-process admission webhooks ([`crate::admission::AdmissionHandler`], added with
//!   [`FakeCluster::add_admission_handler`]) on create and update, called with an
//!   `admission.k8s.io/v1` `AdmissionReview` as the API server calls mutating webhooks (before
//!   the name is generated and the server fields are filled); `JSONPatch` responses are applied
//!   and denials answered with the response's code and message;
//! - CustomResourceDefinitions created through the API register their kinds (deleting one
//!   takes it out of the OpenAPI documents, its kind stays served);
//! - strategic merge patches (`application/strategic-merge-patch+json`,
//!   [`PatchBody::Strategic`]) on the built-in kinds, with kube-apiserver's semantics
//!   (module `smp`): lists merged by the patch merge key of their field's OpenAPI definition
//!   (containers and env by `name`, ports by `containerPort`, …), primitive `merge` lists
//!   (finalizers) unioned, other lists replaced, `null` deleting, and the directives `$patch`,
//!   `$setElementOrder/…`, `$retainKeys` and `$deleteFromPrimitiveList/…` honoured and never
//!   stored; malformed patches get kube-apiserver's status and message (a merge-list element
//!   without its key is a 500, a bad `$retainKeys` a 400). Custom resources (the `primehub.io`
//!   kinds, kinds from CRDs) answer 415 with kube-apiserver's message, so kubectl falls back to
//!   a merge patch as it does against a real server;
//! - `dryRun=All` on create, update, patch, delete and deletecollection over HTTP: admission
//!   handlers are called (with `dryRun: true`) and the answer is the one the write would give
//!   (a dry-run create has a generated name, uid and creationTimestamp but no
//!   resourceVersion), but nothing is stored, no watch event is sent and the resourceVersion
//!   does not move; another dryRun value is refused with kube-apiserver's 422. ([`KubeApi`]
//!   itself has no dry runs.)
//! - `deletecollection` by label and field selector (not across all namespaces: HTTP 405, as
//!   kube-apiserver);
//! - pod logs (`…/pods/<name>/log`, [`FakeCluster::append_pod_log`]): the fake plays the
//!   kubelet for a pod once a test writes a line for it; before that it answers as
//!   kube-apiserver does for a pod no kubelet serves (see `append_pod_log`);
//! - time from one [`Clock`] ([`FakeCluster::with_clock`], `ManualClock` in tests):
//!   creationTimestamp, deletionTimestamp, log timestamps and the ages Tables print;
//! - discovery as kube-apiserver v1.37 serves it (`discovery.rs`): aggregated discovery
//!   (`apidiscovery.k8s.io/v2`, what kubectl asks for) and the legacy documents, with the
//!   built-in kinds' short names (`po`, `ns`, `cm`, `deploy`, `crd`, …), categories (`all`),
//!   verbs (no `deletecollection` of namespaces) and `storageVersionHash`, and the CRDs'
//!   `shortNames`/`categories` (PrimeHub's and those created through the API); groups in
//!   kube-apiserver's priority order, so `kubectl get po,all`, `kubectl api-resources` list
//!   what a real server lists for these kinds;
//! - `meta.k8s.io` Tables (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`, what
//!   `kubectl get` asks for, `table.rs`) on get, list and watch (the first watch event carries
//!   the columns), with `includeObject=None|Metadata|Object`: the built-in kinds printed as
//!   kube-apiserver's printers print them (all columns, priority 1 included, with its column
//!   definitions), custom resources from their CRD's `additionalPrinterColumns` (Age alone when
//!   it has none);
//! - kube-apiserver's answers for paths that name nothing: a JSON `Status` (404 or 405, empty
//!   `details`) in its own groups, Go's plain-text `404 page not found` for unknown groups,
//!   CRD groups' unknown versions and resources and unknown root paths; trailing slashes are
//!   ignored;
//! - DELETE answers as kube-apiserver's: a `Success` Status with `details` (name, group, kind,
//!   uid) for an object deleted at once; the object when finalizers keep it, with `Orphan` or
//!   `Foreground` propagation (carrying the garbage collector's finalizer), and for pods
//!   (marked as gracefully deleted), services, service accounts, PVCs, PersistentVolumes and
//!   namespaces.
//!
//! - OpenAPI: `/openapi/v2`, `/openapi/v3` and `/openapi/v3/<gv>` publish the built-in kinds'
//!   documents as kube-apiserver v1.37 serves them and every CRD's served versions as its CRD
//!   builder does (`io.primehub.v1alpha1.PhJob`, paths with their parameters; v2 cut down to
//!   what v2 can say); the v3 index `hash` follows the content, so `kubectl explain` and
//!   `kubectl apply` (which sends `fieldValidation=Strict`) work as against a real server;
//! - `fieldValidation` on create, update and patch (`Strict`: 400, or 422 on `patch` for
//!   patches; `Warn`, the default: a `Warning: 299` header per field; `Ignore`), for unknown
//!   fields (built-in kinds: by the v2 definitions; custom resources: by the CRD's structural
//!   schema) and duplicate fields; unknown fields are never stored;
//! - custom resources pruned (create, update, patch, status writes), defaulted and validated
//!   against their CRD's schema with kube-openapi's messages (422 with `details.causes`; see
//!   `schema.rs` for the rules covered), with validation ratcheting on updates;
//! - the body's `kind`/`apiVersion` checked against the path, with kube-apiserver's answers
//!   (built-in kinds may leave them out; custom resources must name both);
//! - built-in kinds' field types checked as kube-apiserver's Go decoder checks them
//!   (`builtin_types.rs`): a wrong JSON type is the 400 `… cannot be handled as a …: json:
//!   cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32`
//!   with Go's struct, field path and Go type (from the Go struct tags,
//!   `tools/gotypes/update.py`), fractions and out-of-range integers included, quantities,
//!   int-or-strings, times and base64 data decoded as Go decodes them; a patch whose result
//!   does not decode is the 422 `patch` cause;
//! - quantities stored as kube-apiserver's Go types write them back (`quantity.rs`): every
//!   `resource.Quantity` field of a built-in kind (found from the OpenAPI v2 definitions) is
//!   re-encoded on create, update, patch, status writes and dry runs — `1000m` → `1`, `1.5Gi`
//!   → `1536Mi`, `0.5` → `500m`, `2048Ki` → `2Mi`, with Go's quirks (`1e3`, `1E3`, `01Ki`, `+1`,
//!   `007` kept as written, `1e7` → `10e6`, values beyond `8Ei` in binary form capped) — and
//!   the resource lists of `core/v1` types (container, init and ephemeral container resources,
//!   pod templates, claim templates, PVC requests and capacity, PV capacity, …) are first
//!   rounded up to milli units (`1.0001` → `1001m`); custom resources are stored as sent, as
//!   kube-apiserver stores them; a fractional byte value of memory or ephemeral storage in a
//!   pod (on create) or a workload's template (on create and generation changes) gets
//!   kube-apiserver's `Warning` (`…limits[memory]: fractional byte value "500m" is invalid,
//!   must be an integer`; its other pod warnings — deprecated annotations and node labels, … —
//!   are not sent);
//! - built-in kinds validated as kube-apiserver validates them (`builtin_validation.rs`, the
//!   rules listed there): pod specs and the templates of Deployments, StatefulSets and
//!   DaemonSets (containers required, names, images, ports, env names, volume mounts, pull
//!   and restart policies, container resources as `ValidateResourceRequirements` — requests at
//!   most the limits, extended resources whole numbers (`must be an integer`), requested only
//!   with an equal limit, hugepages a multiple of their page size and only with cpu or memory
//!   —, …), workloads' replicas and selectors,
//!   Services' ports and type, PVCs' access modes and storage, ConfigMap and Secret keys and
//!   the keys a Secret type requires — one 422 `Invalid` with every cause, the metadata's and
//!   the immutable fields' included, on creates, updates, patches and dry runs alike.
//!
//! Simplifications: built-in kinds are validated by the rules `builtin_validation.rs` lists
//! (other rules of those kinds, and every rule of PersistentVolumes, Ingresses,
//! NetworkPolicies, Events, Leases and RBAC kinds, are not checked: such an invalid object is
//! stored); several type errors in one body are reported in sorted key order (Go: the first in
//! document order); defaulting leaves out
//! Events, CRDs, the kinds the fake does not serve (batch Jobs, …), pod-level
//! `spec.resources` in the QoS class, scheduling-gate conditions, and `omitempty` strings left
//! `""` (dropped only in pod specs); pods get no `serviceAccountName: default` (the real tier
//! runs without the ServiceAccount admission plugin); custom resources: causes come in schema order (kube-apiserver's order varies),
//! `allOf`/`anyOf`/`oneOf`/`not`, CEL rules and formats other than `date-time`, `date` and
//! `uuid` are not checked, duplicate fields are found in create and replace bodies only, and a
//! Strict patch failure quotes the object without `managedFields`; a patch that changes a
//! built-in object's kind is answered with the conversion error (kube-apiserver decodes it as
//! the other kind first); no server-side apply; a strategic merge patch's shape is not checked
//! against the schema beyond its merge keys; a dry-run delete does not show the garbage
//! collection it would cause; continue tokens are not snapshots (a page sees writes made after
//! the first page), a list ignores the requested resourceVersion and always serves the latest
//! state, grace periods are always zero, no bookmarks are sent, and a watch has an unbounded
//! queue. Events are not validated.
//! No protobuf answers (406 when the client accepts neither JSON, YAML nor a wildcard); a watch
//! refused for YAML lists only JSON as the stream type (kube-apiserver also lists protobuf);
//! Go's messages for a continue token or list order are exact, but a token's resourceVersion
//! is not used to read an older state (see above); protobuf bodies decode to the JSON Go would
//! write for them, but JSON and YAML bodies are stored as sent (no normalisation but of
//! quantities — a JSON number in a quantity field is read from its parsed value, so `1e3`
//! written as a number is stored `1k` where kube-apiserver keeps `1e3` — and
//! YAML's whole numbers written as floats, `2.0`, which arrive as integers as through
//! kube-apiserver's YAML-to-JSON; YAML 1.1's unquoted `y`/`yes`/`on`/`no`/`off`, booleans to
//! kube-apiserver, stay strings). A field selector compares the stored JSON, so a field the
//! real server defaults (`spec.hostNetwork=false`, `spec.restartPolicy=Always` on a pod that
//! does not set them) does not match. Several invalid
//! labels are reported in sorted key order (kube-apiserver walks Go maps at random).
//! Discovery lists only the subresources the fake serves (`status`, `pods/log`,
//! `deployments/scale`, `statefulsets/scale`; not `pods/exec`, `namespaces/finalize`, a CRD's
//! `scale`, …), orders a CRD group's legacy
//! resource list by name (kube-apiserver: by CRD), and sends no `ETag`; Tables are JSON only
//! (no YAML or protobuf Tables), print quantities as stored, take a Deployment's or
//! StatefulSet's missing `replicas` as kube-apiserver's default (1), and evaluate only simple
//! JSONPaths in printer columns (fields, indexes, `[*]` as the first element); with `Orphan`
//! or `Foreground` propagation the object is already gone when the answer (carrying the
//! garbage collector's finalizer) arrives, as the fake plays the garbage collector at once.
//!
//! A controller-style example: create a PhJob, watch it, and write its status.
//!
//! ```
//! use std::sync::Arc;
//! use futures::StreamExt;
//! use primehub_model::crd::{PhJob, PhJobSpec};
//! use primehub_reconcile::fake::FakeCluster;
//! use primehub_reconcile::{KubeApi, ListOptions, PatchBody, Typed, WatchEvent};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> primehub_reconcile::Result<()> {
//! let cluster = FakeCluster::new();
//! let jobs = Typed::<PhJob>::namespaced(Arc::new(cluster.clone()), "hub");
//! let start = cluster.resource_version();
//!
//! let created = jobs
//!     .create(&PhJob::new("job-1", PhJobSpec { command: "echo hi".into(), ..PhJobSpec::default() }))
//!     .await?;
//! assert_eq!(created.metadata.generation, Some(1));
//!
//! // Watch from before the create: the event history replays it.
//! let mut events = jobs.watch(&ListOptions::default(), &start).await?;
//! let first = events.next().await.transpose()?;
//! assert!(matches!(first, Some(WatchEvent::Added(_))));
//!
//! // The controller writes the status through the status subresource.
//! let patch = PatchBody::Merge(serde_json::json!({"status": {"phase": "Running"}}));
//! let running = jobs.patch_status("job-1", &patch).await?;
//! assert_eq!(running.metadata.generation, Some(1)); // status changes do not bump it
//!
//! let Some(Ok(WatchEvent::Modified(seen))) = events.next().await else { panic!("no event") };
//! assert_eq!(seen.status.and_then(|s| s.phase).map(|p| p.to_string()).as_deref(), Some("Running"));
//! # Ok(())
//! # }
//! ```
//!
//! Pod logs: a test writes the lines a container prints, stamped by the cluster's clock, and
//! reads them back as the API server serves them (tail, since, follow, timestamps):
//!
//! ```
//! use std::sync::Arc;
//! use k8s_openapi::api::core::v1::Pod;
//! use primehub_model::clock::ManualClock;
//! use primehub_reconcile::fake::FakeCluster;
//! use primehub_reconcile::{LogOptions, Typed};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let clock = Arc::new(ManualClock::at("2026-12-03T10:00:00Z".parse()?));
//! let cluster = FakeCluster::with_clock(clock.clone());
//! let pods = Typed::<Pod>::namespaced(Arc::new(cluster.clone()), "hub");
//! pods.create(&serde_json::from_value(serde_json::json!({
//!     "metadata": {"name": "job-1"},
//!     "spec": {"containers": [{"name": "main", "image": "busybox"}]},
//! }))?).await?;
//!
//! cluster.append_pod_log("hub", "job-1", "main", "epoch 1")?;
//! clock.advance(jiff::SignedDuration::from_secs(1));
//! cluster.append_pod_log("hub", "job-1", "main", "epoch 2")?;
//!
//! let last = LogOptions { tail_lines: Some(1), timestamps: true, ..LogOptions::default() };
//! assert_eq!(pods.logs_string("job-1", &last).await?, "2026-12-03T10:00:01Z epoch 2\n");
//! # Ok(())
//! # }
//! ```
//!
//! Over HTTP, with kube-rs:
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use k8s_openapi::api::core::v1::Pod;
//! let cluster = primehub_reconcile::fake::FakeCluster::new();
//! let server = cluster.serve(tokio::net::TcpListener::bind("127.0.0.1:0").await?)?;
//! let client = kube::Client::try_from(kube::Config::new(server.url().parse()?))?;
//! let pods: kube::Api<Pod> = kube::Api::namespaced(client, "hub");
//! assert!(pods.list(&Default::default()).await?.items.is_empty());
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```

use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use kube::api::DynamicObject;
use primehub_model::clock::{Clock, SystemClock};
use serde_json::Value;

use crate::admission::{self, AdmissionHandler, AdmissionReview, Operation};
use crate::api::{
    DeleteOptions, KubeApi, ListOptions, LogOptions, LogStream, ObjectList, PatchBody,
    ResourceKind, Subresource, WatchEvent, WatchStream,
};
use crate::error::{KubeError, Result};
use crate::selector::LabelSelector;

mod bodies;
mod builtin_types;
mod builtin_validation;
mod continue_token;
mod defaults;
mod discovery;
mod events;
mod field_selectors;
mod fields;
mod godiff;
mod gojson;
mod http;
mod immutable;
mod kinds;
pub mod kubelet;
mod label_selectors;
mod logs;
mod metadata_validation;
pub mod notebooks;
pub(crate) mod openapi;
mod openapi_crd;
mod protobuf;
mod quantity;
mod scale;
mod schema;
pub mod seed;
mod smp;
mod store;
mod table;
mod yaml;

pub use kinds::ServedKind;

use events::View;
use store::{EventType, FieldSelector, Filter, RawEvent, Store};

/// The message of a 404 for a resource type the fake does not serve.
pub(crate) const UNKNOWN_RESOURCE: &str = "the server could not find the requested resource";

/// The default number of events kept for watches from an older resourceVersion.
pub const DEFAULT_HISTORY_LIMIT: usize = 10_000;

struct Inner {
    store: Mutex<Store>,
    hooks: Mutex<Vec<Arc<dyn AdmissionHandler>>>,
    logs: Mutex<logs::Logs>,
    clock: Arc<dyn Clock>,
}

/// An in-memory Kubernetes API server (see the [module docs](self)). Cheap to clone: clones share
/// the state.
#[derive(Clone)]
pub struct FakeCluster {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for FakeCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeCluster")
            .field("resource_version", &self.lock().resource_version())
            .finish_non_exhaustive()
    }
}

impl Default for FakeCluster {
    fn default() -> Self {
        FakeCluster::new()
    }
}

/// Settings of a [`FakeCluster`] (see [`FakeCluster::builder`]).
#[derive(Debug)]
pub struct FakeClusterBuilder {
    history_limit: usize,
    clock: Arc<dyn Clock>,
}

impl FakeClusterBuilder {
    /// Keep `limit` events for watches (older versions are `Gone`); default
    /// [`DEFAULT_HISTORY_LIMIT`].
    pub fn history_limit(mut self, limit: usize) -> Self {
        self.history_limit = limit;
        self
    }

    /// Read the time from `clock` (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The cluster, with the namespaces `default`, `kube-system` and `hub`.
    pub fn build(self) -> FakeCluster {
        let mut store = Store::new(self.history_limit, Arc::clone(&self.clock));
        for ns in ["default", "kube-system", "hub"] {
            store.ensure_namespace(ns);
        }
        store.forget_history();
        FakeCluster {
            inner: Arc::new(Inner {
                store: Mutex::new(store),
                hooks: Mutex::new(Vec::new()),
                logs: Mutex::new(logs::Logs::default()),
                clock: self.clock,
            }),
        }
    }
}

/// How a stored object is changed.
pub(crate) enum Change {
    Replace(Value),
    Patch(PatchBody),
}

fn to_value(object: &DynamicObject) -> Result<Value> {
    serde_json::to_value(object).map_err(|e| KubeError::BadRequest {
        message: format!("cannot encode the object: {e}"),
    })
}

fn to_dynamic(object: Value) -> Result<DynamicObject> {
    serde_json::from_value(object).map_err(|e| KubeError::Unexpected {
        status: 500,
        message: format!("stored object is not a Kubernetes object: {e}"),
    })
}

/// The answer (415) of kube-apiserver to a strategic merge patch of a custom resource.
pub(crate) const SMP_UNSUPPORTED: &str = "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml";

/// kube-apiserver's message for a JSON patch that does not apply (422, no details).
pub(crate) const JSON_PATCH_REJECTED: &str =
    "the server rejected our request due to an error in our request";

/// Applies `patch` to `target`, an object of `kind` (whose OpenAPI definition a strategic merge
/// patch needs: without one, as for custom resources, the answer is kube-apiserver's 415).
pub(crate) fn apply_patch(kind: &ResourceKind, target: &Value, patch: &PatchBody) -> Result<Value> {
    let mut v = target.clone();
    match patch {
        PatchBody::Merge(p) => json_patch::merge(&mut v, p),
        PatchBody::Strategic(p) => {
            let definition = openapi::kubernetes()
                .definition_name(&kind.group, &kind.version, &kind.kind)
                .ok_or_else(|| KubeError::Unexpected {
                    status: 415,
                    message: SMP_UNSUPPORTED.into(),
                })?;
            v = smp::apply(&v, p, definition)?;
        }
        PatchBody::Json(p) => {
            for op in p.iter() {
                if test_null_on_missing(&v, op) {
                    continue;
                }
                json_patch::patch(&mut v, std::slice::from_ref(op)).map_err(|e| {
                    // kube-apiserver answers a JSON patch that does not apply (a failed
                    // `test`, a missing path) with this bare 422 and no details; the reason
                    // goes to the log only.
                    tracing::debug!("a JSON patch does not apply: {e}");
                    KubeError::Invalid {
                        message: JSON_PATCH_REJECTED.into(),
                        causes: Vec::new(),
                    }
                })?;
            }
        }
    }
    Ok(v)
}

/// Whether `op` is a `test` for `null` at a missing member of an existing object — which
/// kube-apiserver's JSON patch (evanphx/json-patch) passes, and kube-runtime's finalizer
/// helper relies on (`test /metadata/finalizers null` before adding the first finalizer).
fn test_null_on_missing(doc: &Value, op: &json_patch::PatchOperation) -> bool {
    let json_patch::PatchOperation::Test(test) = op else {
        return false;
    };
    if !test.value.is_null() {
        return false;
    }
    let path = test.path.as_str();
    let Some((parent, _)) = path.rsplit_once('/') else {
        return false;
    };
    doc.pointer(path).is_none() && doc.pointer(parent).is_some_and(Value::is_object)
}

/// The [`KubeError`] for an admission denial: HTTP `code` with `message`.
fn denial(code: u16, message: String) -> KubeError {
    match code {
        400 => KubeError::BadRequest { message },
        401 | 403 => KubeError::Forbidden { message },
        404 => KubeError::NotFound { what: message },
        409 => KubeError::conflict(message),
        410 => KubeError::Gone { message },
        422 => KubeError::Invalid {
            message,
            causes: Vec::new(),
        },
        status => KubeError::Unexpected { status, message },
    }
}

/// An admission webhook's call failed: kube-apiserver answers 500 with
/// `Internal error occurred: failed calling webhook "<name>": <why>` (webhooks fail closed).
fn webhook_failure(name: &str, why: &str) -> KubeError {
    KubeError::Unexpected {
        status: 500,
        message: format!("Internal error occurred: failed calling webhook {name:?}: {why}"),
    }
}

impl FakeCluster {
    /// A cluster with the namespaces `default`, `kube-system` and `hub`, serving the built-in
    /// kinds PrimeHub uses and every `primehub.io` kind.
    pub fn new() -> FakeCluster {
        FakeCluster::with_history_limit(DEFAULT_HISTORY_LIMIT)
    }

    /// Like [`new`](Self::new), keeping `limit` events for watches (older versions are `Gone`).
    pub fn with_history_limit(limit: usize) -> FakeCluster {
        FakeCluster::builder().history_limit(limit).build()
    }

    /// Like [`new`](Self::new), reading the time from `clock` (creationTimestamp,
    /// deletionTimestamp, log line timestamps).
    pub fn with_clock(clock: Arc<dyn Clock>) -> FakeCluster {
        FakeCluster::builder().clock(clock).build()
    }

    /// A builder for a cluster with other settings than [`new`](Self::new)'s.
    pub fn builder() -> FakeClusterBuilder {
        FakeClusterBuilder {
            history_limit: DEFAULT_HISTORY_LIMIT,
            clock: Arc::new(SystemClock),
        }
    }

    /// The clock the cluster reads the time from.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    fn lock(&self) -> MutexGuard<'_, Store> {
        self.inner
            .store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds a mutating admission webhook, called in process through [`admission::review`] on
    /// creates and updates of the resources it [`handles`](AdmissionHandler::handles), after the
    /// handlers added before it. As kube-apiserver does, the fake applies a `JSONPatch` response
    /// and rejects a denied request with the response's status code (403 below 400) and
    /// `admission webhook "<name>" denied the request: <message>`.
    pub fn add_admission_handler(&self, hook: Arc<dyn AdmissionHandler>) {
        self.inner
            .hooks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(hook);
    }

    /// Ends every open watch and log follow (their streams finish; clients re-list and watch
    /// again). Servers call it on shutdown so long-running responses do not hold the shutdown
    /// up.
    pub fn close_watches(&self) {
        self.lock().close_watches();
        self.inner
            .logs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .close_followers();
    }

    /// The store's current resourceVersion.
    pub fn resource_version(&self) -> String {
        self.lock().resource_version().to_string()
    }

    /// The served resource types.
    pub fn served_kinds(&self) -> Vec<ServedKind> {
        self.lock().served_kinds()
    }

    /// The served kind at `group`/`version` with plural `plural`.
    pub fn find_kind(&self, group: &str, version: &str, plural: &str) -> Option<ServedKind> {
        self.lock().find_kind(group, version, plural)
    }

    /// An axum router with the Kubernetes API face: discovery (`/api`, `/apis`, …),
    /// `/version`, and the REST paths of every served kind under `/api/…` and `/apis/…`.
    pub fn router(&self) -> axum::Router {
        http::router(self.clone())
    }

    /// A `kube::Client` that talks to this cluster **in process**: its requests go straight to
    /// [`router`](Self::router) as a tower service — no socket, no TLS, no port. Everything
    /// built on `kube::Client` runs on it unchanged: typed `Api<K>`, `Discovery`, and
    /// kube-runtime's `watcher` (watch responses are streamed), reflector `Store`s,
    /// `Controller`, finalizer helpers and the event `Recorder`. The default namespace is
    /// `default`.
    ///
    /// Call it inside a Tokio runtime (the client's request buffer is a spawned task). Clones
    /// of the client and of the cluster share the same state.
    pub fn client(&self) -> kube::Client {
        kube::Client::new(self.router(), "default")
    }

    /// Like [`client`](Self::client), over `router` (for example [`router`](Self::router) with
    /// an extra axum layer that a test uses to delay or fail requests).
    pub fn client_for(router: axum::Router) -> kube::Client {
        kube::Client::new(router, "default")
    }

    /// Expires the watch history, as when an API server's watch cache (or etcd compaction) has
    /// moved past a client: every open watch ends, and a watch from any resourceVersion older
    /// than the current one gets `410 Gone` ("too old resource version"), so clients must list
    /// again. kube-runtime's `watcher` does that by itself; tests use this to show a controller
    /// recovers.
    pub fn expire_watch_history(&self) {
        let mut store = self.lock();
        store.forget_history();
        store.close_watches();
    }

    /// Serves [`router`](Self::router) on `listener` in a spawned task, until the returned
    /// server is shut down or dropped.
    pub fn serve(&self, listener: tokio::net::TcpListener) -> Result<FakeServer> {
        let router = self.router();
        let cluster = self.clone();
        FakeServer::start(listener, move |_| router, move || cluster.close_watches()).map_err(|e| {
            KubeError::Transport {
                message: e.to_string(),
            }
        })
    }

    async fn admit(
        &self,
        operation: Operation,
        sk: &ServedKind,
        mut object: Value,
        old_object: Option<&Value>,
        dry_run: bool,
    ) -> Result<Value> {
        let kind = &sk.kind;
        let resource =
            kube::core::GroupVersionResource::gvr(&kind.group, &kind.version, &kind.plural);
        let hooks: Vec<Arc<dyn AdmissionHandler>> = self
            .inner
            .hooks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .filter(|h| h.handles(&resource, &operation))
            .cloned()
            .collect();
        for hook in hooks {
            let gvk = serde_json::json!({"group": kind.group, "version": kind.version, "kind": kind.kind});
            let gvr = serde_json::json!({"group": kind.group, "version": kind.version, "resource": kind.plural});
            let options_kind = match operation {
                Operation::Create => "CreateOptions",
                _ => "UpdateOptions",
            };
            let review = serde_json::json!({
                "apiVersion": "admission.k8s.io/v1",
                "kind": "AdmissionReview",
                "request": {
                    "uid": uuid::Uuid::new_v4().to_string(),
                    "kind": gvk,
                    "resource": gvr,
                    "requestKind": gvk,
                    "requestResource": gvr,
                    "name": object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or(""),
                    "namespace": object.pointer("/metadata/namespace").and_then(Value::as_str),
                    "operation": operation,
                    "userInfo": {"username": "system:admin", "groups": ["system:masters", "system:authenticated"]},
                    "object": object,
                    "oldObject": old_object,
                    "dryRun": dry_run,
                    "options": if dry_run {
                        serde_json::json!({"kind": options_kind, "apiVersion": "meta.k8s.io/v1", "dryRun": ["All"]})
                    } else {
                        serde_json::json!({"kind": options_kind, "apiVersion": "meta.k8s.io/v1"})
                    },
                },
            });
            let review: AdmissionReview<kube::core::DynamicObject> = serde_json::from_value(review)
                .map_err(|e| {
                    webhook_failure(
                        hook.name(),
                        &format!("cannot build the AdmissionReview: {e}"),
                    )
                })?;
            let reviewed = admission::review(hook.as_ref(), review).await;
            let Some(response) = reviewed.response else {
                return Err(webhook_failure(
                    hook.name(),
                    "the AdmissionReview has no response",
                ));
            };
            if !response.allowed {
                let (code, message) = admission::denial(hook.name(), &response);
                return Err(denial(code, message));
            }
            let patch = admission::response_patch(&response)
                .map_err(|why| webhook_failure(hook.name(), &why))?;
            if let Some(patch) = patch {
                object = apply_patch(kind, &object, &PatchBody::Json(patch)).map_err(|e| {
                    webhook_failure(hook.name(), &format!("the patch does not apply: {e}"))
                })?;
            }
        }
        Ok(object)
    }

    pub(crate) fn served(&self, kind: &ResourceKind) -> Result<ServedKind> {
        self.lock().served(kind)
    }

    /// The kind the store keeps `sk`'s objects as, and how they convert (`events.k8s.io/v1`
    /// Events are core `v1` Events seen through another API, as in kube-apiserver).
    fn storage(&self, sk: &ServedKind) -> (ServedKind, View) {
        match View::of(sk) {
            View::EventsV1 => match self.find_kind("", "v1", "events") {
                Some(core) => (core, View::EventsV1),
                None => (sk.clone(), View::Same),
            },
            View::Same => (sk.clone(), View::Same),
        }
    }

    pub(crate) fn get_value(
        &self,
        sk: &ServedKind,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Value> {
        let (stored, view) = self.storage(sk);
        let object = self.lock().get(&stored, namespace, name)?;
        Ok(view.served(object))
    }

    pub(crate) fn list_values(
        &self,
        sk: &ServedKind,
        namespace: Option<&str>,
        options: &ListOptions,
    ) -> Result<(Vec<Value>, String, Option<store::NextPage>)> {
        field_selectors::validate(sk, options.field_selector.as_deref().unwrap_or(""))?;
        let (stored, view) = self.storage(sk);
        let options = ListOptions {
            field_selector: view.field_selector(options.field_selector.as_deref()),
            ..options.clone()
        };
        let filter = filter(&stored, namespace, &options)?;
        let (items, rv, more) =
            self.lock()
                .list(&filter, options.limit, options.continue_token.as_deref())?;
        let items = items.into_iter().map(|o| view.served(o)).collect();
        Ok((items, rv, more))
    }

    pub(crate) async fn create_value(
        &self,
        sk: &ServedKind,
        namespace: Option<&str>,
        object: Value,
    ) -> Result<Value> {
        let check = fields::FieldCheck::default();
        Ok(self
            .create_value_with(sk, namespace, object, &check)
            .await?
            .0)
    }

    pub(crate) async fn update_value(
        &self,
        sk: &ServedKind,
        namespace: Option<&str>,
        name: &str,
        change: Change,
        status: bool,
    ) -> Result<Value> {
        let check = fields::FieldCheck::default();
        let (written, _) = self
            .update_value_with(sk, namespace, name, change, status, &check)
            .await?;
        Ok(written)
    }

    pub(crate) fn delete_value(
        &self,
        sk: &ServedKind,
        namespace: Option<&str>,
        name: &str,
        options: &DeleteOptions,
    ) -> Result<Value> {
        self.delete_value_with(sk, namespace, name, options, false)
    }

    /// `delete_value`; with `dry_run` answered as the delete would be, deleting nothing.
    pub(crate) fn delete_value_with(
        &self,
        sk: &ServedKind,
        namespace: Option<&str>,
        name: &str,
        options: &DeleteOptions,
        dry_run: bool,
    ) -> Result<Value> {
        let (stored, view) = self.storage(sk);
        let last = if dry_run {
            self.lock()
                .dry_run_delete(&stored, namespace, name, options)?
        } else {
            self.lock().delete(&stored, namespace, name, options)?
        };
        Ok(view.served(last))
    }

    /// Deletes what `list` selects (without paging), each as `delete_value` with `options`,
    /// and returns the objects as they were listed before, as kube-apiserver does.
    pub(crate) fn delete_collection_values(
        &self,
        sk: &ServedKind,
        namespace: Option<&str>,
        list: &ListOptions,
        options: &DeleteOptions,
    ) -> Result<Vec<Value>> {
        self.delete_collection_values_with(sk, namespace, list, options, false)
    }

    /// `delete_collection_values`; with `dry_run` deleting nothing.
    pub(crate) fn delete_collection_values_with(
        &self,
        sk: &ServedKind,
        namespace: Option<&str>,
        list: &ListOptions,
        options: &DeleteOptions,
        dry_run: bool,
    ) -> Result<Vec<Value>> {
        let list = ListOptions {
            limit: None,
            continue_token: None,
            ..list.clone()
        };
        let (items, _, _) = self.list_values(sk, namespace, &list)?;
        for item in &items {
            let name = item
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("");
            let ns = item.pointer("/metadata/namespace").and_then(Value::as_str);
            match self.delete_value_with(sk, ns, name, options, dry_run) {
                Ok(_) | Err(KubeError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(items)
    }

    pub(crate) fn watch_raw(
        &self,
        sk: &ServedKind,
        namespace: Option<&str>,
        options: &ListOptions,
        resource_version: &str,
    ) -> Result<RawEvents> {
        field_selectors::validate(sk, options.field_selector.as_deref().unwrap_or(""))?;
        let (stored, view) = self.storage(sk);
        let options = ListOptions {
            field_selector: view.field_selector(options.field_selector.as_deref()),
            ..options.clone()
        };
        let filter = filter(&stored, namespace, &options)?;
        let rx = self.lock().watch(filter, resource_version)?;
        Ok(RawEvents { rx, view })
    }
}

/// The events of one watch, as the watched kind is served.
pub(crate) struct RawEvents {
    rx: tokio::sync::mpsc::UnboundedReceiver<RawEvent>,
    view: View,
}

impl RawEvents {
    /// The next event; `None` once the watch has ended.
    pub(crate) async fn recv(&mut self) -> Option<RawEvent> {
        let mut event = self.rx.recv().await?;
        event.object = self.view.served(event.object);
        Some(event)
    }
}

fn filter(sk: &ServedKind, namespace: Option<&str>, options: &ListOptions) -> Result<Filter> {
    let labels = match options.label_selector.as_deref() {
        Some(text) if !text.trim().is_empty() => {
            label_selectors::validate(text)?;
            Some(LabelSelector::parse(text)?)
        }
        _ => None,
    };
    Ok(Filter {
        kind: (sk.kind.group.clone(), sk.kind.plural.clone()),
        namespace: namespace.filter(|_| sk.kind.namespaced).map(str::to_owned),
        labels,
        fields: FieldSelector::new(field_selectors::validate(
            sk,
            options.field_selector.as_deref().unwrap_or(""),
        )?),
    })
}

fn name_of(object: &DynamicObject) -> Result<&str> {
    object
        .metadata
        .name
        .as_deref()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| KubeError::BadRequest {
            message: "metadata.name is required".into(),
        })
}

#[async_trait]
impl KubeApi for FakeCluster {
    async fn get<'a>(
        &self,
        kind: &ResourceKind,
        namespace: Option<&'a str>,
        name: &str,
    ) -> Result<DynamicObject> {
        let sk = self.served(kind)?;
        to_dynamic(self.get_value(&sk, namespace, name)?)
    }

    async fn list<'a>(
        &self,
        kind: &ResourceKind,
        namespace: Option<&'a str>,
        options: &ListOptions,
    ) -> Result<ObjectList> {
        let sk = self.served(kind)?;
        let (items, resource_version, next) = self.list_values(&sk, namespace, options)?;
        Ok(ObjectList {
            items: items.into_iter().map(to_dynamic).collect::<Result<_>>()?,
            resource_version,
            continue_token: next.map(|n| n.token),
        })
    }

    async fn create<'a>(
        &self,
        kind: &ResourceKind,
        namespace: Option<&'a str>,
        object: &DynamicObject,
    ) -> Result<DynamicObject> {
        let sk = self.served(kind)?;
        to_dynamic(self.create_value(&sk, namespace, to_value(object)?).await?)
    }

    async fn replace<'a>(
        &self,
        kind: &ResourceKind,
        namespace: Option<&'a str>,
        object: &DynamicObject,
        subresource: Subresource,
    ) -> Result<DynamicObject> {
        let sk = self.served(kind)?;
        let name = name_of(object)?;
        to_dynamic(
            self.update_value(
                &sk,
                namespace,
                name,
                Change::Replace(to_value(object)?),
                subresource == Subresource::Status,
            )
            .await?,
        )
    }

    async fn patch<'a>(
        &self,
        kind: &ResourceKind,
        namespace: Option<&'a str>,
        name: &str,
        patch: &PatchBody,
        subresource: Subresource,
    ) -> Result<DynamicObject> {
        let sk = self.served(kind)?;
        to_dynamic(
            self.update_value(
                &sk,
                namespace,
                name,
                Change::Patch(patch.clone()),
                subresource == Subresource::Status,
            )
            .await?,
        )
    }

    async fn delete<'a>(
        &self,
        kind: &ResourceKind,
        namespace: Option<&'a str>,
        name: &str,
        options: &DeleteOptions,
    ) -> Result<()> {
        let sk = self.served(kind)?;
        self.delete_value(&sk, namespace, name, options).map(|_| ())
    }

    async fn delete_collection<'a>(
        &self,
        kind: &ResourceKind,
        namespace: Option<&'a str>,
        list: &ListOptions,
        options: &DeleteOptions,
    ) -> Result<Vec<DynamicObject>> {
        let sk = self.served(kind)?;
        if kind.namespaced && namespace.is_none_or(str::is_empty) {
            return Err(KubeError::BadRequest {
                message: format!(
                    "{kind} is namespaced: a namespace is required for \"(collection)\""
                ),
            });
        }
        self.delete_collection_values(&sk, namespace, list, options)?
            .into_iter()
            .map(to_dynamic)
            .collect()
    }

    async fn logs(&self, namespace: &str, pod: &str, options: &LogOptions) -> Result<LogStream> {
        match self.read_log(namespace, pod, options)? {
            logs::LogAnswer::NoContent => Ok(Box::pin(futures::stream::empty())),
            logs::LogAnswer::Lines(lines) => Ok(lines),
        }
    }

    async fn watch<'a>(
        &self,
        kind: &ResourceKind,
        namespace: Option<&'a str>,
        options: &ListOptions,
        resource_version: &str,
    ) -> Result<WatchStream> {
        let sk = self.served(kind)?;
        let rx = self.watch_raw(&sk, namespace, options, resource_version)?;
        let stream = futures::stream::unfold(rx, |mut rx| async move {
            let raw = rx.recv().await?;
            let event = to_dynamic(raw.object).map(|object| match raw.type_ {
                EventType::Added => WatchEvent::Added(object),
                EventType::Modified => WatchEvent::Modified(object),
                EventType::Deleted => WatchEvent::Deleted(object),
            });
            Some((event, rx))
        });
        Ok(Box::pin(stream))
    }
}

/// A running HTTP face of a [`FakeCluster`] (see [`FakeCluster::serve`]): the same server type
/// as the fake Keycloak's. Dropping it stops the server; `shutdown` also ends open watches.
pub use primehub_keycloak::fake::FakeServer;
