//! The reflector stores of PrimeHub's jobs and schedules (`PhJob`, `PhSchedule`), which the
//! job API reads from.
//!
//! PrimeHub's console keeps a cached list of every PhJob (`PhJobCacheList`) and filters it per
//! request; here a kube-runtime `watcher` + `reflector` keeps each kind in memory, so a list
//! costs a pass over the store and a lookup by name a hash lookup, with no API-server call.
//! Jobs pile up (PrimeHub's controller keeps finished jobs for a week by default), so the job
//! store keeps a **slim projection** ([`slim_job`]): the name, namespace, creation time,
//! resourceVersion, the one label the API shows (`phjob.primehub.io/scheduledBy`), and the
//! spec and status, which are a dozen short strings. Labels, annotations, managedFields,
//! finalizers and owner references are dropped as each event is decoded. Schedules are few and
//! kept whole (without `managedFields`).
//!
//! Writes read their own result as the other stores do: after a create or patch the API waits
//! (event-driven, at most [`crate::resources::READ_YOUR_WRITES_TIMEOUT`]) until the store shows
//! the resourceVersion the write returned, or the deletion. Watch errors are retried with
//! kube-runtime's default backoff; a watch whose history expired lists again.
//!
//! These stores live here rather than in `primehub_reconcile::stores::ResourceStores` because
//! only the API reads them; moving them there (with the controller's job store) is a
//! mechanical change.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use kube::api::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::watcher::{self, Event};
use primehub_model::crd::job::LABEL_SCHEDULED_BY;
use primehub_model::crd::{PhJob, PhSchedule};
use serde::de::DeserializeOwned;
use tokio::sync::watch;

/// The job store's projection of a PhJob: the metadata the API shows (name, namespace,
/// creationTimestamp, resourceVersion, the `phjob.primehub.io/scheduledBy` label) with the
/// spec and status as they are.
pub fn slim_job(job: PhJob) -> PhJob {
    let meta = job.metadata;
    let labels = meta.labels.and_then(|mut labels| {
        let scheduled_by = labels.remove(LABEL_SCHEDULED_BY)?;
        Some(std::collections::BTreeMap::from([(
            LABEL_SCHEDULED_BY.to_owned(),
            scheduled_by,
        )]))
    });
    PhJob {
        metadata: ObjectMeta {
            name: meta.name,
            namespace: meta.namespace,
            creation_timestamp: meta.creation_timestamp,
            resource_version: meta.resource_version,
            labels,
            ..ObjectMeta::default()
        },
        spec: job.spec,
        status: job.status,
    }
}

fn without_managed_fields(mut schedule: PhSchedule) -> PhSchedule {
    schedule.metadata.managed_fields = None;
    schedule
}

/// What a write waits for in a store.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Awaited {
    /// The object at this resourceVersion or later.
    Version(String),
    /// The object gone.
    Deleted,
}

/// One kind's store, its readiness and its change signal.
struct Kind<K: Resource<DynamicType = ()> + Clone + 'static> {
    store: Store<K>,
    ready: Arc<AtomicBool>,
    changed: watch::Receiver<u64>,
}

impl<K: Resource<DynamicType = ()> + Clone + 'static> Kind<K> {
    fn get(&self, namespace: &str, name: &str) -> Option<Arc<K>> {
        self.store.get(&ObjectRef::new(name).within(namespace))
    }

    fn shows(&self, namespace: &str, name: &str, awaited: &Awaited) -> bool {
        if !self.ready.load(Ordering::Acquire) {
            return false;
        }
        let found = self.get(namespace, name);
        match awaited {
            Awaited::Deleted => found.is_none(),
            Awaited::Version(want) => found
                .and_then(|o| o.meta().resource_version.clone())
                .is_some_and(|have| version_reached(&have, want)),
        }
    }

    async fn wait_for(
        &self,
        namespace: &str,
        name: &str,
        awaited: &Awaited,
        timeout: Duration,
    ) -> bool {
        let mut changed = self.changed.clone();
        let until = async {
            loop {
                if self.shows(namespace, name, awaited) {
                    return;
                }
                if changed.changed().await.is_err() {
                    // The driver stopped: nothing will change any more.
                    std::future::pending::<()>().await;
                }
            }
        };
        let seen = tokio::time::timeout(timeout, until).await.is_ok();
        if !seen {
            tracing::warn!(
                kind = %K::kind(&()),
                name,
                ?awaited,
                "the store did not show the write in time; answering anyway"
            );
        }
        seen
    }
}

/// resourceVersions compared as integers when both are, else for equality.
fn version_reached(have: &str, want: &str) -> bool {
    match (have.parse::<u64>(), want.parse::<u64>()) {
        (Ok(h), Ok(w)) => h >= w,
        _ => have == want,
    }
}

/// A watch of `K` in `namespace` through `project` into a store, and its driver.
fn kind<K>(
    client: &kube::Client,
    namespace: &str,
    project: fn(K) -> K,
) -> (Kind<K>, futures::future::BoxFuture<'static, ()>)
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let (store, writer) = reflector::store::<K>();
    let ready = Arc::new(AtomicBool::new(false));
    let (tx, rx) = watch::channel(0u64);
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    let events = watcher::watcher(api, watcher::Config::default())
        .default_backoff()
        .map(move |event| {
            event.map(|e| primehub_reconcile::runtime::projection::project_event(e, project))
        });
    let flag = ready.clone();
    let driver = reflector::reflector(writer, events.boxed())
        .for_each(move |event| {
            match &event {
                Ok(Event::InitDone) => flag.store(true, Ordering::Release),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(kind = %K::kind(&()), error = %e, "watch failed; retrying")
                }
            }
            tx.send_modify(|n| *n = n.wrapping_add(1));
            futures::future::ready(())
        })
        .boxed();
    (
        Kind {
            store,
            ready,
            changed: rx,
        },
        driver,
    )
}

/// The job and schedule stores. Cheap to clone: clones share the stores.
#[derive(Clone)]
pub struct JobStores {
    inner: Arc<Inner>,
}

struct Inner {
    namespace: String,
    jobs: Kind<PhJob>,
    schedules: Kind<PhSchedule>,
}

impl std::fmt::Debug for JobStores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobStores")
            .field("namespace", &self.inner.namespace)
            .field("jobs", &self.inner.jobs.store.len())
            .field("schedules", &self.inner.schedules.store.len())
            .field("ready", &self.is_ready())
            .finish()
    }
}

impl JobStores {
    /// Starts the watches of PhJobs and PhSchedules in `namespace`; returns the stores and the
    /// driver future that keeps them filled (spawn it; it never ends, abort its task to stop).
    pub fn start(
        client: kube::Client,
        namespace: impl Into<String>,
    ) -> (JobStores, impl Future<Output = ()> + Send + 'static) {
        let namespace = namespace.into();
        let (jobs, jobs_driver) = kind::<PhJob>(&client, &namespace, slim_job);
        let (schedules, schedules_driver) =
            kind::<PhSchedule>(&client, &namespace, without_managed_fields);
        let stores = JobStores {
            inner: Arc::new(Inner {
                namespace,
                jobs,
                schedules,
            }),
        };
        (
            stores,
            futures::future::join(jobs_driver, schedules_driver).map(|_| ()),
        )
    }

    /// Whether both stores have their first list.
    pub fn is_ready(&self) -> bool {
        self.inner.jobs.ready.load(Ordering::Acquire)
            && self.inner.schedules.ready.load(Ordering::Acquire)
    }

    /// Waits until both stores have their first list, at most `timeout`.
    pub async fn wait_ready(&self, timeout: Duration) -> crate::Result<()> {
        let both = async {
            let _ = self.inner.jobs.store.wait_until_ready().await;
            let _ = self.inner.schedules.store.wait_until_ready().await;
            let mut jobs = self.inner.jobs.changed.clone();
            let mut schedules = self.inner.schedules.changed.clone();
            while !self.is_ready() {
                tokio::select! {
                    r = jobs.changed() => if r.is_err() { std::future::pending::<()>().await },
                    r = schedules.changed() => if r.is_err() { std::future::pending::<()>().await },
                }
            }
        };
        tokio::time::timeout(timeout, both)
            .await
            .map_err(|_| crate::Error::Coded {
                code: crate::ErrorCode::ApiUnavailable,
                message: format!(
                    "the PhJob and PhSchedule stores did not fill within {timeout:?} (are the CRDs installed and may the server list and watch them?)"
                ),
            })
    }

    /// Every PhJob (slim, see [`slim_job`]), in no particular order.
    pub fn jobs(&self) -> Vec<Arc<PhJob>> {
        self.inner.jobs.store.state()
    }

    /// The PhJob `name`.
    pub fn job(&self, name: &str) -> Option<Arc<PhJob>> {
        self.inner.jobs.get(&self.inner.namespace, name)
    }

    /// Every PhSchedule, in no particular order.
    pub fn schedules(&self) -> Vec<Arc<PhSchedule>> {
        self.inner.schedules.store.state()
    }

    /// The PhSchedule `name`.
    pub fn schedule(&self, name: &str) -> Option<Arc<PhSchedule>> {
        self.inner.schedules.get(&self.inner.namespace, name)
    }

    /// How many PhJobs the store holds.
    pub fn job_count(&self) -> usize {
        self.inner.jobs.store.len()
    }

    /// Waits until the job store shows PhJob `name` at `resource_version` or later, at most
    /// `timeout`; whether it did.
    pub async fn wait_for_job(
        &self,
        name: &str,
        resource_version: &str,
        timeout: Duration,
    ) -> bool {
        let awaited = Awaited::Version(resource_version.to_owned());
        self.inner
            .jobs
            .wait_for(&self.inner.namespace, name, &awaited, timeout)
            .await
    }

    /// Waits until the schedule store shows PhSchedule `name` at `resource_version` or later.
    pub async fn wait_for_schedule(
        &self,
        name: &str,
        resource_version: &str,
        timeout: Duration,
    ) -> bool {
        let awaited = Awaited::Version(resource_version.to_owned());
        self.inner
            .schedules
            .wait_for(&self.inner.namespace, name, &awaited, timeout)
            .await
    }

    /// Waits until PhSchedule `name` is gone from the store.
    pub async fn wait_for_schedule_deletion(&self, name: &str, timeout: Duration) -> bool {
        self.inner
            .schedules
            .wait_for(&self.inner.namespace, name, &Awaited::Deleted, timeout)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_projection_keeps_what_the_api_shows_only() {
        let job: PhJob = serde_json::from_value(serde_json::json!({
            "apiVersion": "primehub.io/v1alpha1", "kind": "PhJob",
            "metadata": {"name": "job-1", "namespace": "hub", "uid": "u", "resourceVersion": "7",
                "creationTimestamp": "2026-12-04T10:00:00Z",
                "labels": {"primehub.io/group": "escaped-g", "phjob.primehub.io/scheduledBy": "schedule-a"},
                "annotations": {"a": "b"},
                "managedFields": [{"manager": "x"}]},
            "spec": {"displayName": "d", "userId": "u1", "groupId": "g1", "groupName": "g",
                "instanceType": "cpu-1", "image": "base", "command": "echo"},
            "status": {"phase": "Running", "podName": "job-1"}
        }))
        .expect("a PhJob");
        let slim = slim_job(job.clone());
        assert_eq!(slim.spec, job.spec);
        assert_eq!(slim.status, job.status);
        assert_eq!(slim.metadata.name.as_deref(), Some("job-1"));
        assert_eq!(slim.metadata.resource_version.as_deref(), Some("7"));
        assert!(slim.metadata.creation_timestamp.is_some());
        assert_eq!(
            slim.metadata.labels,
            Some([(LABEL_SCHEDULED_BY.to_owned(), "schedule-a".to_owned())].into())
        );
        assert!(slim.metadata.annotations.is_none());
        assert!(slim.metadata.managed_fields.is_none());
        assert!(slim.metadata.uid.is_none());
    }

    #[test]
    fn versions_compare_as_numbers() {
        assert!(version_reached("10", "9"));
        assert!(!version_reached("9", "10"));
        assert!(version_reached("a", "a"));
        assert!(!version_reached("a", "b"));
    }
}
