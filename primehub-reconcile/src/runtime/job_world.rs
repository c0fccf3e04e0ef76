//! The job controllers' view of PrimeHub: users, groups, role mappings and settings from the
//! Keycloak cache, images, instance types and datasets from the resource stores — and from
//! them the job's pod ([`primehub_model::pod::job::build_job_pod`]), as PrimeHub's controller
//! builds it from its GraphQL answer (`primehub-controllers.md` §4.4).
//!
//! [`KeycloakJobWorld`] is the PhJob controller's [`JobEnvironment`]; its [`resolve`](KeycloakJobWorld::resolve)
//! is also what validates a schedule's job template
//! ([`KeycloakScheduleContext`](super::schedule::KeycloakScheduleContext)), so a template
//! that validates builds a pod, and one that does not fails with the same message.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use primehub_keycloak::cache::{KeycloakCache, Snapshot};
use primehub_model::attributes::SystemSettings;
use primehub_model::crd::job::{PhJob, PhJobSpec};
use primehub_model::pod::job::{JobPodConfig, JobPodInput, UserGroup, build_job_pod, resolve_job};
use primehub_model::roles::RoleNaming;

use super::phjob::JobEnvironment;
use crate::stores::ResourceStores;

/// See the [module docs](self). Cheap to clone.
#[derive(Clone)]
pub struct KeycloakJobWorld {
    cache: KeycloakCache,
    stores: ResourceStores,
    naming: RoleNaming,
    pod_config: Arc<JobPodConfig>,
    /// Groups this process saw disappear (by name): gone whatever the cache's age.
    removed: Arc<Mutex<HashSet<String>>>,
}

impl std::fmt::Debug for KeycloakJobWorld {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeycloakJobWorld")
            .field("naming", &self.naming)
            .finish_non_exhaustive()
    }
}

/// The groups of user `user_id` in `snap` (`everyone` included when the user is in it), in the
/// snapshot's order, with their realm roles and attributes: what a job pod or a notebook's parts
/// are built from. Empty for an unknown user.
pub fn user_groups<'s>(snap: &'s Snapshot, user_id: &str) -> Vec<UserGroup<'s>> {
    snap.user_group_ids(user_id)
        .iter()
        .filter_map(|id| {
            let group = snap.group(id)?;
            Some(UserGroup {
                name: group.group.name.as_str(),
                roles: snap.group_roles(id),
                attributes: &group.attributes,
            })
        })
        .collect()
}

/// The system settings of `snap` (the `everyone` group's attributes; the defaults when the
/// group is missing).
pub fn system_settings(snap: &Snapshot) -> SystemSettings {
    snap.everyone_group_id()
        .and_then(|id| snap.group(id))
        .map(|everyone| SystemSettings::read(&everyone.group.attributes).value)
        .unwrap_or_default()
}

impl KeycloakJobWorld {
    /// A world over `cache` (keep it following Keycloak) and `stores` (running in PrimeHub's
    /// namespace), with this install's role prefix and the operator's job pod settings.
    pub fn new(
        cache: KeycloakCache,
        stores: ResourceStores,
        naming: RoleNaming,
        pod_config: JobPodConfig,
    ) -> KeycloakJobWorld {
        KeycloakJobWorld {
            cache,
            stores,
            naming,
            pod_config: Arc::new(pod_config),
            removed: Arc::default(),
        }
    }

    /// The stores.
    pub fn stores(&self) -> &ResourceStores {
        &self.stores
    }

    /// The system time zone (`everyone`'s `timezone` attribute), if set.
    pub fn time_zone(&self) -> Option<String> {
        system_settings(&self.cache.snapshot()).timezone_name
    }

    /// Runs `f` on the pod input of `job` (its user's groups, the catalog, the time zone);
    /// `Err` with PrimeHub's message when the job's user does not exist.
    pub fn resolve<R>(
        &self,
        job: &PhJob,
        f: impl FnOnce(&JobPodInput<'_>) -> R,
    ) -> Result<R, String> {
        let snap = self.cache.snapshot();
        let user = snap
            .user(&job.spec.user_id)
            .ok_or_else(|| format!("User not found: {}", job.spec.user_id))?;
        let groups = user_groups(&snap, &job.spec.user_id);
        let objects = self.stores.objects();
        let time_zone = system_settings(&snap).timezone_name;
        let input = JobPodInput {
            job,
            user_name: user.user.username.as_str(),
            groups: &groups,
            naming: &self.naming,
            resources: &objects,
            time_zone: time_zone.as_deref(),
        };
        Ok(f(&input))
    }

    /// Whether the group a job (or a schedule's job template) names is gone: the spec names a
    /// group, neither its `groupId` nor its `groupName` is in Keycloak, and either this process
    /// saw the group disappear ([`JobEnvironment::removed_groups`]) or the cache's snapshot is
    /// newer than `created` (the object's creation; `None` never counts). A job created after
    /// the cache last heard from Keycloak is never taken for an orphan of a group the cache has
    /// not seen yet.
    pub fn group_gone_since(&self, spec: &PhJobSpec, created: Option<Timestamp>) -> bool {
        if spec.group_id.is_empty() && spec.group_name.is_empty() {
            return false;
        }
        let snap = self.cache.snapshot();
        let by_id = !spec.group_id.is_empty() && snap.group(&spec.group_id).is_some();
        let by_name = !spec.group_name.is_empty() && snap.group_by_name(&spec.group_name).is_some();
        if by_id || by_name {
            return false;
        }
        let seen_going = self
            .removed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(&spec.group_name);
        seen_going || created.is_some_and(|c| snap.synced_at() > c)
    }

    /// The names of the groups that disappear from the cache, in batches, as they go; each is
    /// remembered as gone (see [`group_gone_since`](Self::group_gone_since)).
    pub fn removed_group_names(&self) -> BoxStream<'static, Vec<String>> {
        let removed = self.removed.clone();
        removed_groups(self.cache.clone())
            .map(move |names| {
                removed
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .extend(names.iter().cloned());
                names
            })
            .boxed()
    }

    /// Whether `job` would build: its user, group, instance type and image exist and are
    /// granted (PrimeHub's spawner messages otherwise).
    pub fn validate(&self, job: &PhJob) -> Result<(), String> {
        self.resolve(job, |input| resolve_job(input).map(|_| ()))?
            .map_err(|e| e.to_string())
    }
}

#[async_trait]
impl JobEnvironment for KeycloakJobWorld {
    async fn group_default_deadline(&self, group_name: &str) -> Option<u64> {
        self.cache
            .snapshot()
            .group_by_name(group_name)
            .and_then(|g| g.attributes.job_default_active_deadline_seconds)
    }

    async fn build_pod(&self, job: &PhJob) -> Result<Pod, String> {
        self.resolve(job, |input| build_job_pod(input, &self.pod_config))?
            .map_err(|e| e.to_string())
    }

    fn group_gone(&self, job: &PhJob) -> bool {
        let created = job.metadata.creation_timestamp.as_ref().map(|t| t.0);
        self.group_gone_since(&job.spec, created)
    }

    fn removed_groups(&self) -> Option<BoxStream<'static, Vec<String>>> {
        Some(self.removed_group_names())
    }
}

fn group_names(cache: &KeycloakCache) -> HashSet<String> {
    cache
        .snapshot()
        .groups()
        .iter()
        .map(|g| g.group.name.clone())
        .collect()
}

/// The names of the groups that disappear from `cache`, in batches, as they go.
fn removed_groups(cache: KeycloakCache) -> BoxStream<'static, Vec<String>> {
    let changes = cache.subscribe();
    let known = group_names(&cache);
    futures::stream::unfold(
        (changes, known, cache),
        |(mut changes, mut known, cache)| async move {
            loop {
                changes.changed().await.ok()?;
                let now = group_names(&cache);
                let mut removed: Vec<String> = known.difference(&now).cloned().collect();
                known = now;
                if !removed.is_empty() {
                    removed.sort();
                    return Some((removed, (changes, known, cache)));
                }
            }
        },
    )
    .boxed()
}
