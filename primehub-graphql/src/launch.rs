//! What each group offers for launching, kept between requests: `me.effectiveGroups` resolves
//! a user's groups from these instead of parsing every role and looking up every resource
//! again.
//!
//! The rules are `primehub_model::binding`'s, split in its two parts: what a group offers
//! ([`GroupGrants`], [`group_offer`]) is the same for every member and is kept per group; the
//! datasets ([`dataset_mount`]) depend on all of the user's groups and are merged per request
//! from the kept grants. Kept entries belong to one table, valid while the Keycloak snapshot
//! has the same groups and role mappings
//! ([`Snapshot::same_groups_and_roles`]) and the stores the same images, instance types and
//! datasets ([`ResourceStores::catalog_version`]); any change starts a new table, filled again
//! group by group as requests need them.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use primehub_keycloak::cache::Snapshot;
use primehub_model::binding::{GroupGrants, ResourceLookup, dataset_mount, group_offer};
use primehub_model::crd::dataset::Dataset as DatasetCr;
use primehub_model::crd::image::Image as ImageCr;
use primehub_model::crd::instance_type::InstanceType as InstanceTypeCr;
use primehub_model::roles::RoleNaming;
use primehub_reconcile::stores::ResourceStores;

type ById<V> = HashMap<String, V, foldhash::fast::RandomState>;

/// What one group offers: its grants, and the images and instance types (its own first, then
/// the global ones) as custom resources, in the order `me` lists them.
#[derive(Debug)]
pub struct GroupLaunch {
    grants: GroupGrants,
    images: Vec<Arc<ImageCr>>,
    instance_types: Vec<Arc<InstanceTypeCr>>,
    /// The datasets of `grants` that exist, in name order.
    datasets: Vec<(String, Arc<DatasetCr>)>,
}

impl GroupLaunch {
    /// What group `gid` of `snap` offers with the global grants `global`.
    fn new(
        snap: &Snapshot,
        stores: &ResourceStores,
        naming: &RoleNaming,
        gid: &str,
        global: Option<&GroupGrants>,
    ) -> GroupLaunch {
        let grants = GroupGrants::parse(snap.group_roles(gid), naming);
        let none = GroupGrants::default();
        let offer = group_offer(&grants, global.unwrap_or(&none), &StoreLookup(stores));
        let datasets = grants
            .datasets()
            .filter_map(|name| Some((name.to_owned(), stores.dataset(name)?)))
            .collect();
        GroupLaunch {
            images: offer
                .images
                .iter()
                .filter_map(|r| stores.image(&r.name))
                .collect(),
            instance_types: offer
                .instance_types
                .iter()
                .filter_map(|r| stores.instance_type(&r.name))
                .collect(),
            grants,
            datasets,
        }
    }

    /// Images the group offers, its own first.
    pub fn images(&self) -> &[Arc<ImageCr>] {
        &self.images
    }

    /// Instance types the group offers, its own first.
    pub fn instance_types(&self) -> &[Arc<InstanceTypeCr>] {
        &self.instance_types
    }
}

/// What one user may launch with one of their groups.
#[derive(Debug)]
pub struct UserLaunch {
    /// The group's offer, shared by its members.
    pub offer: Arc<GroupLaunch>,
    /// The datasets the user may mount with this group, with whether read-write.
    pub datasets: Vec<(Arc<DatasetCr>, bool)>,
}

/// The kept group offers of one Keycloak snapshot and catalog version.
struct Table {
    snapshot: Arc<Snapshot>,
    catalog: u64,
    groups: RwLock<ById<Arc<GroupLaunch>>>,
}

/// Group offers kept between requests (see the [module docs](self)).
#[derive(Default)]
pub struct LaunchCache {
    table: RwLock<Option<Arc<Table>>>,
}

impl std::fmt::Debug for LaunchCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LaunchCache").finish_non_exhaustive()
    }
}

impl LaunchCache {
    /// An empty cache.
    pub fn new() -> LaunchCache {
        LaunchCache::default()
    }

    /// What `user_id` may launch with each of their groups in `snap` (`everyone` excluded),
    /// keyed by group id.
    pub fn user_launch(
        &self,
        snap: &Arc<Snapshot>,
        stores: &ResourceStores,
        naming: &RoleNaming,
        user_id: &str,
    ) -> ById<UserLaunch> {
        // Before any store read: a table built from newer stores is only rebuilt once more.
        let catalog = stores.catalog_version();
        let table = self.table_for(snap, catalog);
        let everyone = snap.everyone_group_id();
        let user_groups = snap.user_group_ids(user_id);
        // The global resources count for members of `everyone` (every user, normally).
        let in_everyone = everyone.is_some_and(|e| user_groups.iter().any(|g| g == e));
        let global = everyone
            .filter(|_| in_everyone)
            .map(|id| table.offer(snap, stores, naming, id, None));
        let mut offers: Vec<(&str, Arc<GroupLaunch>)> = Vec::new();
        for gid in user_groups {
            if Some(gid.as_str()) == everyone {
                continue;
            }
            let offer = match &global {
                Some(global) => table.offer(snap, stores, naming, gid, Some(&global.grants)),
                // Not kept: the table's offers include the global resources.
                None => Arc::new(GroupLaunch::new(snap, stores, naming, gid, None)),
            };
            offers.push((gid, offer));
        }
        // Every dataset the user holds, through any group, once, in name order.
        let mut held: Vec<&(String, Arc<DatasetCr>)> = offers
            .iter()
            .map(|(_, o)| o)
            .chain(&global)
            .flat_map(|o| &o.datasets)
            .collect();
        held.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        held.dedup_by(|a, b| a.0 == b.0);
        let no_grants = GroupGrants::default();
        let global_grants = global.as_ref().map_or(&no_grants, |g| &g.grants);
        offers
            .iter()
            .map(|(gid, offer)| {
                let datasets = held
                    .iter()
                    .filter_map(|(name, cr)| {
                        let (_, writable) = dataset_mount(
                            name,
                            cr.launch_group_only(),
                            &offer.grants,
                            global_grants,
                        )?;
                        Some((cr.clone(), writable))
                    })
                    .collect();
                let launch = UserLaunch {
                    offer: offer.clone(),
                    datasets,
                };
                ((*gid).to_owned(), launch)
            })
            .collect()
    }

    /// The table for `snap` and `catalog`: the kept one when it fits, else a new one, kept
    /// when `snap` is at least as new as the kept one's.
    fn table_for(&self, snap: &Arc<Snapshot>, catalog: u64) -> Arc<Table> {
        let kept = self
            .table
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        if let Some(table) = &kept
            && table.catalog == catalog
            && table.snapshot.same_groups_and_roles(snap)
        {
            return table.clone();
        }
        let table = Arc::new(Table {
            snapshot: snap.clone(),
            catalog,
            groups: RwLock::default(),
        });
        // A request holding an older snapshot than the kept table's does not replace it.
        let older = kept.is_some_and(|k| k.snapshot.synced_at() > snap.synced_at());
        if !older {
            *self
                .table
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(table.clone());
        }
        table
    }
}

impl Table {
    /// The offer of group `gid`, kept or computed; `global` is `everyone`'s grants (`None` when
    /// computing `everyone` itself, which offers only its own).
    fn offer(
        &self,
        snap: &Snapshot,
        stores: &ResourceStores,
        naming: &RoleNaming,
        gid: &str,
        global: Option<&GroupGrants>,
    ) -> Arc<GroupLaunch> {
        if let Some(found) = self
            .groups
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(gid)
        {
            return found.clone();
        }
        let launch = Arc::new(GroupLaunch::new(snap, stores, naming, gid, global));
        self.groups
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(gid.to_owned())
            .or_insert(launch)
            .clone()
    }
}

/// Existence answered by the stores.
struct StoreLookup<'a>(&'a ResourceStores);

impl ResourceLookup for StoreLookup<'_> {
    fn has_image(&self, name: &str) -> bool {
        self.0.image(name).is_some()
    }

    fn has_instance_type(&self, name: &str) -> bool {
        self.0.instance_type(name).is_some()
    }

    fn dataset_launch_group_only(&self, name: &str) -> Option<bool> {
        self.0.dataset(name).map(|d| d.launch_group_only())
    }
}
