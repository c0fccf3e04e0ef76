//! Reflector stores that keep only what their readers need.
//!
//! A reflector `Store<Pod>` keeps every pod whole: the spec with its volumes, env, probes and
//! tolerations, the status with every condition and container state, and `managedFields`
//! (often the biggest part). PrimeHub's readers — quota usage, the admission ledger, job and
//! deployment status — need a pod's identity, labels, owner, phase and container limits.
//! [`projected_store`] maps each watch event into a projection type before it reaches the
//! store, so the full object is dropped as soon as it is decoded; [`pod_store`] does it with
//! [`PodView`].
//!
//! What it saves, measured by `examples/pod_store_memory.rs` (heap bytes a filled store keeps,
//! counted by a global allocator; 10 000 job-like pods on the fake cluster): whole `Pod`s cost
//! about 25 KB each (250 MB for the store), [`PodView`]s about 3.4 KB (34 MB) — a seventh.
//! A decoded k8s-openapi `Pod` costs far more than its JSON because its structs are wide
//! (every optional field of every container, volume and status takes room even when absent)
//! and every string and map is an allocation of its own; on a real cluster pods also carry
//! `managedFields`, which the fake drops, so the whole-pod figure is a lower bound. The
//! projection's cost is mostly its `ObjectMeta`, labels, annotations and the store's index.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::hash::Hash;

use futures::{Stream, StreamExt, TryStreamExt};
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::core::v1::{Container, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use kube::api::Api;
use kube::runtime::reflector::{self, Store};
use kube::runtime::watcher::{self, Event};
use kube::runtime::{WatchStreamExt, watcher as watch};
use serde::de::DeserializeOwned;
use std::borrow::Cow;

/// The metadata a projection keeps: name, namespace, uid, labels, annotations,
/// resourceVersion and ownerReferences (no managedFields, timestamps or finalizers).
pub fn slim_metadata(meta: ObjectMeta) -> ObjectMeta {
    ObjectMeta {
        name: meta.name,
        namespace: meta.namespace,
        uid: meta.uid,
        labels: meta.labels,
        annotations: meta.annotations,
        resource_version: meta.resource_version,
        owner_references: meta.owner_references,
        ..ObjectMeta::default()
    }
}

/// One container's name and resource limits.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ContainerLimits {
    /// The container's name.
    pub name: String,
    /// `resources.limits` (`cpu`, `memory`, `nvidia.com/gpu`, …).
    pub limits: BTreeMap<String, Quantity>,
}

impl ContainerLimits {
    fn of(container: Container) -> ContainerLimits {
        ContainerLimits {
            name: container.name,
            limits: container
                .resources
                .and_then(|r| r.limits)
                .unwrap_or_default(),
        }
    }
}

/// A pod as PrimeHub's readers need it: [`slim_metadata`], `status.phase`, and the limits of
/// its containers and init containers. It is a `kube::Resource` (a `Pod`), so it lives in a
/// reflector `Store<PodView>` and `ObjectRef`s to it are pod references.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodView {
    /// The slim metadata.
    pub metadata: ObjectMeta,
    /// `status.phase` (`Pending`, `Running`, `Succeeded`, `Failed`, `Unknown`).
    pub phase: Option<String>,
    /// `spec.containers`, names and limits.
    pub containers: Vec<ContainerLimits>,
    /// `spec.initContainers`, names and limits.
    pub init_containers: Vec<ContainerLimits>,
}

impl From<Pod> for PodView {
    fn from(pod: Pod) -> PodView {
        let (containers, init_containers) = match pod.spec {
            Some(spec) => (
                spec.containers
                    .into_iter()
                    .map(ContainerLimits::of)
                    .collect(),
                spec.init_containers
                    .unwrap_or_default()
                    .into_iter()
                    .map(ContainerLimits::of)
                    .collect(),
            ),
            None => (Vec::new(), Vec::new()),
        };
        PodView {
            metadata: slim_metadata(pod.metadata),
            phase: pod.status.and_then(|s| s.phase),
            containers,
            init_containers,
        }
    }
}

impl Resource for PodView {
    type DynamicType = ();
    type Scope = NamespaceResourceScope;

    fn kind(_: &()) -> Cow<'_, str> {
        Pod::kind(&())
    }

    fn group(_: &()) -> Cow<'_, str> {
        Pod::group(&())
    }

    fn version(_: &()) -> Cow<'_, str> {
        Pod::version(&())
    }

    fn plural(_: &()) -> Cow<'_, str> {
        Pod::plural(&())
    }

    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

/// Maps a watcher event's objects with `project`.
pub fn project_event<K, P>(event: Event<K>, project: impl Fn(K) -> P) -> Event<P> {
    match event {
        Event::Apply(o) => Event::Apply(project(o)),
        Event::Delete(o) => Event::Delete(project(o)),
        Event::Init => Event::Init,
        Event::InitApply(o) => Event::InitApply(project(o)),
        Event::InitDone => Event::InitDone,
    }
}

/// A reflector store of projections of `K`, and the stream that fills it.
///
/// The stream is kube-runtime's `watcher` (relisting after `410 Gone`, with its default
/// backoff on errors) mapped through `project` and into the store; drive it (for example
/// `tokio::spawn(stream.for_each(|_| async {}))`, or use it as a controller trigger) and read
/// the store (`store.wait_until_ready().await` waits for the first list).
pub fn projected_store<K, P>(
    api: Api<K>,
    config: watcher::Config,
    project: fn(K) -> P,
) -> (
    Store<P>,
    impl Stream<Item = watcher::Result<Event<P>>> + Send + use<K, P>,
)
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + 'static,
    P: Resource + Clone + Send + Sync + 'static,
    P::DynamicType: Eq + Hash + Clone + Default,
{
    let (reader, writer) = reflector::store::<P>();
    let events = watch::watcher(api, config)
        .default_backoff()
        .map_ok(move |event| project_event(event, project));
    (reader, reflector::reflector(writer, events.boxed()))
}

/// A reflector store of [`PodView`]s, and the stream that fills it (see [`projected_store`]).
pub fn pod_store(
    api: Api<Pod>,
    config: watcher::Config,
) -> (
    Store<PodView>,
    impl Stream<Item = watcher::Result<Event<PodView>>> + Send,
) {
    projected_store(api, config, PodView::from)
}
