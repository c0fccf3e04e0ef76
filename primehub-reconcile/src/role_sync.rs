//! PrimeHub's watcher: a Keycloak realm role follows every Image, InstanceType and Dataset
//! (`primehub-controllers.md` §2).
//!
//! * When a resource exists, its role exists: `img:<name>`, `it:<name>`, `ds:<name>`, with the
//!   configured prefix. Roles are created bare (no description, attributes or composites) and
//!   never mapped: granting, `everyone` included, is the API's job.
//! * A role is deleted only when this watcher saw its resource and then saw it deleted — by a
//!   watch event, or by a relist that no longer has it — and no resource of that name exists
//!   again by then (deleted and created anew: the new resource's role and its mappings stay).
//!   A dataset's `ds:rw:<name>` goes with it (PrimeHub leaves it behind). Roles whose resource this watcher never saw (the bootstrap's
//!   defaults, roles the API creates just before their resource, roles of another prefix or
//!   kind) are never touched.
//! * Level-based at start (every listed resource gets its role), then event-driven. Which roles
//!   exist is read once at start and kept up to date by this watcher's own writes; a role
//!   missing from that view is looked up before it is created, so a role another client made
//!   since costs a read, not a write. At steady state nothing is written, and each needed
//!   change is one write.
//! * A failed Keycloak call is retried with a doubling delay (1 s to 5 min by default) until it
//!   succeeds, in event order per kind; the watcher never ends on it.
//! * Ready ([`RoleSync::is_ready`]) once the first complete list of each kind is applied: every
//!   resource that existed at start has its role. What it did is in [`RoleSyncStats`], which
//!   [`RoleSync::register_metrics`] exposes as Prometheus metrics (`primehub_role_sync_*`).
//! * [`check_access`] makes the calls the watcher depends on once, so a process can tell a
//!   configuration that cannot work (refused credentials, missing CRDs or RBAC) from an outage
//!   before it starts the watcher, which retries everything forever.
//!
//! ```no_run
//! # async fn run(client: kube::Client, admin: std::sync::Arc<dyn primehub_keycloak::KeycloakAdmin>) {
//! use primehub_model::roles::RoleNaming;
//! use primehub_reconcile::role_sync::RoleSync;
//!
//! let sync = RoleSync::new(admin, RoleNaming::unprefixed());
//! sync.run(client, "hub").await; // runs until dropped
//! # }
//! ```

use std::collections::HashSet;
use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use kube::api::ListParams;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Resource};
use primehub_keycloak::{KeycloakAdmin, Page};
use primehub_model::crd::{Dataset, Image, InstanceType};
use primehub_model::roles::{RoleKind, RoleNaming};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use serde::de::DeserializeOwned;

use crate::error::Error;

/// How long the first retry of a failed Keycloak call waits, and the most any retry waits.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// The first delay; each later one doubles.
    pub first: Duration,
    /// The longest delay.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff {
            first: Duration::from_secs(1),
            max: Duration::from_secs(300),
        }
    }
}

/// What the watcher did, for `/metrics` and tests.
#[derive(Debug, Default)]
pub struct RoleSyncStats {
    /// Roles created.
    pub created: AtomicU64,
    /// Roles deleted (a role already gone counts too: the call was made).
    pub deleted: AtomicU64,
    /// Keycloak calls that failed and were retried.
    pub retries: AtomicU64,
    /// Complete lists applied (one per kind at start, one more per relist).
    pub lists_applied: AtomicU64,
    /// Deletions seen for a resource that exists again by the time they were handled (deleted
    /// and created anew): its roles were kept.
    pub kept_for_recreated: AtomicU64,
    /// Kinds whose first complete list was applied (each kind counts once per
    /// [`RoleSync::run`]); the watcher is ready at [`FOLLOWED_KINDS`].
    pub kinds_listed: AtomicU64,
}

/// How many kinds the watcher follows (images, instance types, datasets).
pub const FOLLOWED_KINDS: u64 = 3;

impl RoleSyncStats {
    /// Whether the first complete list of every followed kind was applied.
    pub fn is_ready(&self) -> bool {
        self.kinds_listed.load(Ordering::Relaxed) >= FOLLOWED_KINDS
    }
}

/// The stats as Prometheus metrics, read at each scrape: the counters
/// `role_sync_{created,deleted,retries,lists_applied,kept_for_recreated}_total` and the gauge
/// `role_sync_ready` (1 once ready), under the registry's prefix.
impl Collector for RoleSyncStats {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let counters = [
            (
                "created",
                "Realm roles created for new resources",
                &self.created,
            ),
            (
                "deleted",
                "Realm roles deleted with their resource",
                &self.deleted,
            ),
            (
                "retries",
                "Failed Keycloak or Kubernetes calls that were retried",
                &self.retries,
            ),
            (
                "lists_applied",
                "Complete lists of a kind applied (one per kind at start, one per relist)",
                &self.lists_applied,
            ),
            (
                "kept_for_recreated",
                "Deletions of a resource created anew by the time they were handled (roles kept)",
                &self.kept_for_recreated,
            ),
        ];
        for (name, help, value) in counters {
            let counter = ConstCounter::new(value.load(Ordering::Relaxed));
            let name = format!("role_sync_{name}");
            let metric = encoder.encode_descriptor(&name, help, None, counter.metric_type())?;
            counter.encode(metric)?;
        }
        let ready = ConstGauge::new(i64::from(self.is_ready()));
        let metric = encoder.encode_descriptor(
            "role_sync_ready",
            "1 once the first list of every followed kind was applied",
            None,
            ready.metric_type(),
        )?;
        ready.encode(metric)
    }
}

/// The grace period [`prune_orphan_roles`] should be given when the API may be writing: a
/// role counts as an orphan only when its resource is still missing this long after it was
/// first found missing. The API creates a role and then its resource in one request; the
/// role's creation (with a token refresh, each bounded by the Keycloak client's 10 s timeout)
/// and the resource's take seconds at worst, so one minute leaves a wide margin.
pub const DEFAULT_PRUNE_GRACE: Duration = Duration::from_secs(60);

/// The watcher (see the [module docs](self)).
pub struct RoleSync {
    admin: Arc<dyn KeycloakAdmin>,
    naming: RoleNaming,
    backoff: Backoff,
    /// The realm roles known to exist: listed once, then kept by this watcher's writes.
    roles: Mutex<Option<HashSet<String>>>,
    stats: Arc<RoleSyncStats>,
}

impl Debug for RoleSync {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoleSync")
            .field("naming", &self.naming)
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
}

/// The kinds followed, and their role.
trait Followed:
    Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
    + Clone
    + DeserializeOwned
    + Debug
    + Send
    + 'static
{
    const KIND: RoleKind;
}

impl Followed for Image {
    const KIND: RoleKind = RoleKind::Image;
}

impl Followed for InstanceType {
    const KIND: RoleKind = RoleKind::InstanceType;
}

impl Followed for Dataset {
    const KIND: RoleKind = RoleKind::Dataset;
}

impl RoleSync {
    /// A watcher writing through `admin` with role names from `naming`.
    pub fn new(admin: Arc<dyn KeycloakAdmin>, naming: RoleNaming) -> Arc<RoleSync> {
        RoleSync::with_backoff(admin, naming, Backoff::default())
    }

    /// [`new`](Self::new) with another retry delay.
    pub fn with_backoff(
        admin: Arc<dyn KeycloakAdmin>,
        naming: RoleNaming,
        backoff: Backoff,
    ) -> Arc<RoleSync> {
        Arc::new(RoleSync {
            admin,
            naming,
            backoff,
            roles: Mutex::new(None),
            stats: Arc::default(),
        })
    }

    /// What the watcher did so far.
    pub fn stats(&self) -> Arc<RoleSyncStats> {
        self.stats.clone()
    }

    /// Whether the watcher is ready: the first complete list of images, instance types and
    /// datasets was applied, so every resource that existed at start has its role. Before
    /// [`run`](Self::run) it is not; a later relist (after a watch error) does not make it
    /// unready again.
    pub fn is_ready(&self) -> bool {
        self.stats.is_ready()
    }

    /// Registers the watcher's [`RoleSyncStats`] in `registry`, read at each scrape. In a
    /// registry without a prefix the metrics are `primehub_role_sync_created_total`,
    /// `…_deleted_total`, `…_retries_total`, `…_lists_applied_total`,
    /// `…_kept_for_recreated_total` and the gauge `primehub_role_sync_ready`.
    pub fn register_metrics(&self, registry: &mut Registry) {
        registry
            .sub_registry_with_prefix("primehub")
            .register_collector(Box::new(self.stats.clone()));
    }

    /// Follows the three kinds in `namespace` until the future is dropped (it never ends on its
    /// own: watch errors and Keycloak errors are retried).
    pub async fn run(self: Arc<Self>, client: kube::Client, namespace: &str) {
        let images = self
            .clone()
            .follow::<Image>(Api::namespaced(client.clone(), namespace));
        let instance_types = self
            .clone()
            .follow::<InstanceType>(Api::namespaced(client.clone(), namespace));
        let datasets = self.follow::<Dataset>(Api::namespaced(client, namespace));
        futures::join!(images, instance_types, datasets);
    }

    async fn follow<K: Followed>(self: Arc<Self>, api: Api<K>) {
        let current = api.clone();
        // Names this watcher has seen exist; those of a relist in progress.
        let mut seen: HashSet<String> = HashSet::new();
        let mut relisted: HashSet<String> = HashSet::new();
        let mut first_list = true;
        let mut events =
            std::pin::pin!(watcher::watcher(api, watcher::Config::default()).default_backoff());
        while let Some(event) = events.next().await {
            let event = match event {
                Ok(event) => event,
                Err(error) => {
                    tracing::warn!(kind = ?K::KIND, %error, "watch failed, retrying");
                    continue;
                }
            };
            match event {
                Event::Init => relisted.clear(),
                Event::InitApply(object) => {
                    if let Some(name) = object.meta().name.clone() {
                        self.ensure(K::KIND, &name).await;
                        relisted.insert(name);
                    }
                }
                Event::InitDone => {
                    // Seen before, gone from the new list: deleted while the watch was down.
                    let gone: Vec<String> = seen.difference(&relisted).cloned().collect();
                    for name in gone {
                        self.remove(&current, &name).await;
                    }
                    seen = std::mem::take(&mut relisted);
                    self.stats.lists_applied.fetch_add(1, Ordering::Relaxed);
                    if std::mem::take(&mut first_list) {
                        self.stats.kinds_listed.fetch_add(1, Ordering::Relaxed);
                        tracing::info!(kind = ?K::KIND, "first list applied");
                    }
                }
                Event::Apply(object) => {
                    if let Some(name) = object.meta().name.clone()
                        && !seen.contains(&name)
                    {
                        self.ensure(K::KIND, &name).await;
                        seen.insert(name);
                    }
                }
                Event::Delete(object) => {
                    if let Some(name) = object.meta().name.clone() {
                        seen.remove(&name);
                        self.remove(&current, &name).await;
                    }
                }
            }
        }
        tracing::error!(kind = ?K::KIND, "watch stream ended");
    }

    /// Makes the role of resource `name` exist.
    async fn ensure(&self, kind: RoleKind, name: &str) {
        let role = self.naming.resource_role(kind, false, name).to_role_name();
        self.known_roles().await;
        if self.role_known(&role) {
            return;
        }
        // Another client may have made it since the roles were listed: a read, not a write.
        let exists = self
            .retrying("get_role", &role, || async {
                match self.admin.get_role(&role).await {
                    Ok(_) => Ok(true),
                    Err(e) if e.is_not_found() => Ok(false),
                    Err(e) => Err(e),
                }
            })
            .await;
        if !exists {
            self.retrying("create_role", &role, || async {
                match self.admin.create_role(&role, None).await {
                    Err(e) if !e.is_conflict() => Err(e),
                    _ => Ok(()),
                }
            })
            .await;
            self.stats.created.fetch_add(1, Ordering::Relaxed);
            tracing::info!(%role, "created the role of a new resource");
        }
        self.set_known(&role, true);
    }

    /// Deletes the roles of deleted resource `name` (`ds:rw:` too for a dataset) — unless a
    /// resource of that name exists again (deleted and created anew while the event waited:
    /// its new roles and their mappings must stay).
    async fn remove<K: Followed>(&self, api: &Api<K>, name: &str) {
        let exists = self
            .retrying("get", name, || async { api.get_metadata_opt(name).await })
            .await
            .is_some();
        if exists {
            self.stats
                .kept_for_recreated
                .fetch_add(1, Ordering::Relaxed);
            tracing::info!(kind = ?K::KIND, name, "deleted and created again: roles kept");
            return;
        }
        let kind = K::KIND;
        let mut roles = vec![self.naming.resource_role(kind, false, name).to_role_name()];
        if kind == RoleKind::Dataset {
            roles.push(self.naming.resource_role(kind, true, name).to_role_name());
        }
        self.known_roles().await;
        for role in roles {
            self.retrying("delete_role", &role, || async {
                match self.admin.delete_role(&role).await {
                    Err(e) if !e.is_not_found() => Err(e),
                    _ => Ok(()),
                }
            })
            .await;
            self.stats.deleted.fetch_add(1, Ordering::Relaxed);
            self.set_known(&role, false);
            tracing::info!(%role, "deleted the role of a deleted resource");
        }
    }

    /// Lists the realm roles once (retrying until it works).
    async fn known_roles(&self) {
        if self.lock_roles().is_some() {
            return;
        }
        let listed = self
            .retrying("list_roles", "", || async {
                all_roles(self.admin.as_ref()).await
            })
            .await
            .into_iter()
            .collect();
        self.lock_roles().get_or_insert(listed);
    }

    fn role_known(&self, role: &str) -> bool {
        self.lock_roles().as_ref().is_some_and(|r| r.contains(role))
    }

    fn set_known(&self, role: &str, exists: bool) {
        if let Some(roles) = self.lock_roles().as_mut() {
            if exists {
                roles.insert(role.to_owned());
            } else {
                roles.remove(role);
            }
        }
    }

    fn lock_roles(&self) -> std::sync::MutexGuard<'_, Option<HashSet<String>>> {
        self.roles
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `call` until it succeeds, waiting a doubling delay after each failure.
    async fn retrying<T, E, F, Fut>(&self, what: &str, object: &str, mut call: F) -> T
    where
        E: std::fmt::Display,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut delay = self.backoff.first;
        loop {
            match call().await {
                Ok(value) => return value,
                Err(error) => {
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(call = what, object, %error, retry_in = ?delay, "call failed, retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(self.backoff.max);
                }
            }
        }
    }
}

/// What [`prune_orphan_roles`] found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Whether it only reported (nothing deleted).
    pub dry_run: bool,
    /// Roles of our prefix whose image, instance type or dataset does not exist, by name.
    pub orphans: Vec<String>,
    /// The orphans deleted (empty in a dry run).
    pub deleted: Vec<String>,
}

impl std::fmt::Display for PruneReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verb = if self.dry_run {
            "would delete"
        } else {
            "deleted"
        };
        let listed = if self.dry_run {
            &self.orphans
        } else {
            &self.deleted
        };
        writeln!(
            f,
            "{} orphan role(s) found; {verb} {}",
            self.orphans.len(),
            listed.len()
        )?;
        for role in listed {
            writeln!(f, "  {role}")?;
        }
        Ok(())
    }
}

/// The names of every realm role, a page of 1000 at a time.
async fn all_roles(admin: &dyn KeycloakAdmin) -> primehub_keycloak::Result<Vec<String>> {
    const PAGE: u32 = 1000;
    let mut all = Vec::new();
    let mut first = 0;
    loop {
        let page = admin.list_roles(None, Page { first, max: PAGE }).await?;
        let full = page.len() == PAGE as usize;
        all.extend(page.into_iter().map(|r| r.name));
        if !full {
            return Ok(all);
        }
        first += PAGE;
    }
}

/// Roles of `naming`'s prefix for images, instance types and datasets (`ds:rw:` included)
/// whose resource does not exist in `namespace`. Announcement roles, other prefixes and other
/// roles are never candidates.
async fn orphans(
    admin: &dyn KeycloakAdmin,
    client: &kube::Client,
    namespace: &str,
    naming: &RoleNaming,
) -> Result<Vec<String>, Error> {
    // Roles first, then resources: a resource created after its role is then listed.
    let roles = all_roles(admin).await?;
    let names = |list: Vec<String>| list.into_iter().collect::<HashSet<String>>();
    let images = names(resource_names::<Image>(client, namespace).await?);
    let instance_types = names(resource_names::<InstanceType>(client, namespace).await?);
    let datasets = names(resource_names::<Dataset>(client, namespace).await?);
    let mut found: Vec<String> = roles
        .into_iter()
        .filter(|role| {
            let Some(parsed) = naming.parse_own(role) else {
                return false;
            };
            let existing = match parsed.kind {
                RoleKind::Image => &images,
                RoleKind::InstanceType => &instance_types,
                RoleKind::Dataset => &datasets,
                RoleKind::Announcement => return false,
            };
            !existing.contains(&parsed.name)
        })
        .collect();
    found.sort();
    Ok(found)
}

async fn resource_names<K: Followed>(
    client: &kube::Client,
    namespace: &str,
) -> Result<Vec<String>, Error> {
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    let list = api.list_metadata(&ListParams::default()).await?;
    Ok(list
        .items
        .into_iter()
        .filter_map(|o| o.metadata.name)
        .collect())
}

/// Makes the calls the watcher and the sweep depend on once: one page of realm roles (the
/// token grant works and the client may read the realm's roles) and one page of each followed
/// kind in `namespace` (the CRDs are installed and RBAC allows listing them). The watcher
/// retries every failure forever, so a process calls this first: it retries what
/// [`Error::is_transient`] says may pass (Keycloak or the API server unreachable) and stops on
/// the rest (refused credentials, an unknown realm, a missing CRD or Role), naming what to fix.
pub async fn check_access(
    admin: &dyn KeycloakAdmin,
    client: &kube::Client,
    namespace: &str,
) -> Result<(), Error> {
    admin.list_roles(None, Page::first(1)).await?;
    list_one::<Image>(client, namespace).await?;
    list_one::<InstanceType>(client, namespace).await?;
    list_one::<Dataset>(client, namespace).await
}

async fn list_one<K: Followed>(client: &kube::Client, namespace: &str) -> Result<(), Error> {
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    api.list_metadata(&ListParams::default().limit(1)).await?;
    Ok(())
}

/// The opt-in sweep (`--prune-orphan-roles`): deletes the roles of our prefix whose image,
/// instance type or dataset does not exist — roles the watcher cannot delete because it never
/// saw their resource deleted. A role counts as an orphan only when it is one twice, `grace`
/// apart (the API creates a role just before its resource: give [`DEFAULT_PRUNE_GRACE`] while
/// the API may be writing), and a dry run only reports. On an error the roles deleted so far
/// stay deleted (each deletion is logged).
pub async fn prune_orphan_roles(
    admin: &dyn KeycloakAdmin,
    client: &kube::Client,
    namespace: &str,
    naming: &RoleNaming,
    grace: Duration,
    dry_run: bool,
) -> Result<PruneReport, Error> {
    let first = orphans(admin, client, namespace, naming).await?;
    let mut report = PruneReport {
        dry_run,
        ..PruneReport::default()
    };
    if first.is_empty() {
        return Ok(report);
    }
    tokio::time::sleep(grace).await;
    let again: HashSet<String> = orphans(admin, client, namespace, naming)
        .await?
        .into_iter()
        .collect();
    report.orphans = first.into_iter().filter(|r| again.contains(r)).collect();
    if dry_run {
        return Ok(report);
    }
    for role in &report.orphans {
        match admin.delete_role(role).await {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
        tracing::info!(%role, "deleted an orphan role");
        report.deleted.push(role.clone());
    }
    Ok(report)
}
