//! What a user may launch in a group: images, instance types and datasets.
//!
//! PrimeHub grants a resource to a group by mapping the realm role named after it (`img:<n>`,
//! `it:<n>`, `ds:<n>`, `ds:rw:<n>`) onto the group; a role mapped onto the hidden `everyone`
//! group makes the resource *global*. This module turns a user's groups and their role mappings
//! into the launch choices JupyterHub's spawner and the job controller offer
//! (`primehub-datamodel.md` §2.3, §4.2, §10; `primehub-controllers.md` §5):
//!
//! * **images and instance types** of a launch group are those bound to it plus the global ones,
//!   de-duplicated with the group's own first. An image's `spec.groupName` (set on images a group
//!   admin created) does not filter anything: the role mapping alone decides, as in JupyterHub's
//!   spawner (InfuseAI/primehub `chart/scripts/jupyterhub/config/jupyterhub_profiles.py`) and the
//!   job spawner (InfuseAI/primehub-controller `pkg/graphql/spawn.go`, `findImage`), which never
//!   read it;
//! * **datasets** follow the user's effective roles over all their groups: a dataset is mounted
//!   when the user holds `ds:<n>` or `ds:rw:<n>` through any group and it is global, or not
//!   `launchGroupOnly`, or bound to the launch group. It is writable when the launch group holds
//!   `ds:rw:<n>`, or it is global and `everyone` holds `ds:rw:<n>`;
//! * roles of another cluster's prefix and roles that are not resource roles are ignored, as are
//!   roles whose resource does not exist;
//! * a **job** whose `groupName` is empty runs in `everyone` ([`job_launchable`]), as the job
//!   spawner maps it (`spawn.go`, `NewSpawnerByData`: `if groupName == "" { groupName =
//!   "everyone" }`); notebooks ([`launchable`]) always need a real group.
//!
//! ```
//! use primehub_model::binding::{launchable, Catalog, GroupRoles};
//! use primehub_model::crd::instance_type::InstanceType;
//! use primehub_model::roles::RoleNaming;
//!
//! let it: InstanceType = serde_json::from_value(serde_json::json!({
//!     "apiVersion": "primehub.io/v1alpha1", "kind": "InstanceType",
//!     "metadata": {"name": "cpu-1"}, "spec": {"limits.cpu": 1, "limits.memory": "2G"}
//! }))?;
//! let everyone_roles = vec!["it:cpu-1".to_owned()];
//! let groups = [
//!     GroupRoles { name: "everyone", roles: &everyone_roles },
//!     GroupRoles { name: "phusers", roles: &[] },
//! ];
//! let catalog = Catalog { instance_types: std::slice::from_ref(&it), ..Catalog::default() };
//! let choice = launchable(&groups, "phusers", &RoleNaming::default(), &catalog)?;
//! assert_eq!(choice.instance_types[0].name, "cpu-1");
//! assert!(choice.instance_types[0].global);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeSet;

use crate::crd::dataset::Dataset;
use crate::crd::image::Image;
use crate::crd::instance_type::InstanceType;
use crate::error::{Error, Result};
use crate::roles::{RoleKind, RoleNaming};

/// The name of the hidden group every user belongs to; its roles are the global resources.
pub const EVERYONE: &str = "everyone";

/// A group the user belongs to and the realm roles mapped onto it.
#[derive(Debug, Clone, Copy)]
pub struct GroupRoles<'a> {
    /// The group name (`everyone` for the hidden default group).
    pub name: &'a str,
    /// Names of the realm roles mapped onto the group.
    pub roles: &'a [String],
}

/// The resources that exist (the custom resources in the PrimeHub namespace).
#[derive(Debug, Clone, Copy, Default)]
pub struct Catalog<'a> {
    /// Images.
    pub images: &'a [Image],
    /// Instance types.
    pub instance_types: &'a [InstanceType],
    /// Datasets (volumes).
    pub datasets: &'a [Dataset],
}

/// A bound image or instance type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundResource {
    /// The resource name (`metadata.name`).
    pub name: String,
    /// Whether it is bound through `everyone`.
    pub global: bool,
}

/// A dataset the user may mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundDataset {
    /// The dataset name.
    pub name: String,
    /// Whether it is bound through `everyone`.
    pub global: bool,
    /// Whether it is mounted read-write.
    pub writable: bool,
}

/// What a user may launch with one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launchable {
    /// The launch group.
    pub group: String,
    /// Images: the group's own first, then global ones, each by name.
    pub images: Vec<BoundResource>,
    /// Instance types, ordered like images.
    pub instance_types: Vec<BoundResource>,
    /// Datasets by name.
    pub datasets: Vec<BoundDataset>,
}

/// The resource names one group's roles grant, parsed once: what the launch rules need of a
/// group. Independent of the user, so a caller may keep it per group while the group's role
/// mappings do not change.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GroupGrants {
    images: BTreeSet<String>,
    instance_types: BTreeSet<String>,
    datasets: BTreeSet<String>,
    writable_datasets: BTreeSet<String>,
}

impl GroupGrants {
    /// The grants of a group whose realm roles are `roles`; roles of another prefix and roles
    /// that are not resource roles are ignored.
    pub fn parse(roles: &[String], naming: &RoleNaming) -> GroupGrants {
        let mut grants = GroupGrants::default();
        for role in roles.iter().filter_map(|r| naming.parse_own(r)) {
            let set = match (role.kind, role.writable) {
                (RoleKind::Image, _) => &mut grants.images,
                (RoleKind::InstanceType, _) => &mut grants.instance_types,
                (RoleKind::Dataset, false) => &mut grants.datasets,
                (RoleKind::Dataset, true) => &mut grants.writable_datasets,
                (RoleKind::Announcement, _) => continue,
            };
            set.insert(role.name);
        }
        grants
    }

    /// Whether the group holds `ds:<name>` or `ds:rw:<name>`.
    pub fn has_dataset(&self, name: &str) -> bool {
        self.datasets.contains(name) || self.writable_datasets.contains(name)
    }

    /// Every dataset the group holds (read or read-write), in name order, each once.
    pub fn datasets(&self) -> impl Iterator<Item = &str> {
        let mut read = self.datasets.iter().peekable();
        let mut rw = self.writable_datasets.iter().peekable();
        std::iter::from_fn(move || match (read.peek(), rw.peek()) {
            (Some(a), Some(b)) if a == b => {
                rw.next();
                read.next().map(String::as_str)
            }
            (Some(a), Some(b)) if a < b => read.next().map(String::as_str),
            (Some(_), Some(_)) | (None, Some(_)) => rw.next().map(String::as_str),
            (Some(_), None) => read.next().map(String::as_str),
            (None, None) => None,
        })
    }
}

/// The images and instance types a launch group offers: its own first, then the global ones,
/// each existing one once. The same for every member, so a caller may keep it per group while
/// the group's and `everyone`'s mappings and the resources do not change.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupOffer {
    /// Images, ordered as [`Launchable::images`].
    pub images: Vec<BoundResource>,
    /// Instance types, ordered as [`Launchable::instance_types`].
    pub instance_types: Vec<BoundResource>,
}

/// What launch group `own` offers with the global grants `global` (those of `everyone`).
pub fn group_offer(
    own: &GroupGrants,
    global: &GroupGrants,
    resources: &dyn ResourceLookup,
) -> GroupOffer {
    GroupOffer {
        images: ordered(&own.images, &global.images, |n| resources.has_image(n)),
        instance_types: ordered(&own.instance_types, &global.instance_types, |n| {
            resources.has_instance_type(n)
        }),
    }
}

/// Whether a user may mount dataset `name` (which exists; `launch_group_only` is its flag and
/// the user holds it through some group) with launch group `own`, and how: `Some((global,
/// writable))`, or `None` when it stays unmounted (see the [module docs](self) for the rule).
pub fn dataset_mount(
    name: &str,
    launch_group_only: bool,
    own: &GroupGrants,
    global: &GroupGrants,
) -> Option<(bool, bool)> {
    let is_global = global.has_dataset(name);
    let in_launch = own.has_dataset(name);
    if !(is_global || in_launch || !launch_group_only) {
        return None;
    }
    let writable = own.writable_datasets.contains(name)
        || (is_global && global.writable_datasets.contains(name));
    Some((is_global, writable))
}

/// The datasets a user may mount with launch group `own`, given `held`, every dataset the user
/// holds through any group in name order ([`dataset_mount`] for each that exists).
pub fn launch_datasets<'n>(
    held: impl IntoIterator<Item = &'n str>,
    own: &GroupGrants,
    global: &GroupGrants,
    resources: &dyn ResourceLookup,
) -> Vec<BoundDataset> {
    held.into_iter()
        .filter_map(|name| {
            let launch_group_only = resources.dataset_launch_group_only(name)?;
            let (global, writable) = dataset_mount(name, launch_group_only, own, global)?;
            Some(BoundDataset {
                name: name.to_owned(),
                global,
                writable,
            })
        })
        .collect()
}

fn ordered(
    own: &BTreeSet<String>,
    global: &BTreeSet<String>,
    exists: impl Fn(&str) -> bool,
) -> Vec<BoundResource> {
    let mut out: Vec<BoundResource> = own
        .iter()
        .filter(|n| exists(n))
        .map(|n| BoundResource {
            name: n.clone(),
            global: global.contains(n),
        })
        .collect();
    out.extend(
        global
            .iter()
            .filter(|n| !own.contains(*n) && exists(n))
            .map(|n| BoundResource {
                name: n.clone(),
                global: true,
            }),
    );
    out
}

/// What the user whose groups are `user_groups` (including `everyone`, when they are in it) may
/// launch in `launch_group` (a notebook: JupyterHub's spawner offers only real groups). Errors
/// when `launch_group` is `everyone` or not one of the user's groups.
pub fn launchable(
    user_groups: &[GroupRoles<'_>],
    launch_group: &str,
    naming: &RoleNaming,
    catalog: &Catalog<'_>,
) -> Result<Launchable> {
    if launch_group == EVERYONE {
        return Err(Error::InvalidField {
            field: "group".to_owned(),
            rule: "cannot launch with the everyone group; choose one of the user's groups"
                .to_owned(),
        });
    }
    launchable_in(user_groups, launch_group, naming, catalog)
}

/// What a PhJob whose `spec.groupName` is `group_name` may use, as the job spawner resolves it:
/// an empty group name means `everyone` (only the global resources), and `everyone` itself is
/// accepted. Errors when the group is not one of the user's groups.
///
/// ```
/// use primehub_model::binding::{job_launchable, Catalog, GroupRoles};
/// use primehub_model::roles::RoleNaming;
///
/// let groups = [GroupRoles { name: "everyone", roles: &[] }];
/// let choice = job_launchable(&groups, "", &RoleNaming::default(), &Catalog::default())?;
/// assert_eq!(choice.group, "everyone");
/// # Ok::<(), primehub_model::Error>(())
/// ```
pub fn job_launchable(
    user_groups: &[GroupRoles<'_>],
    group_name: &str,
    naming: &RoleNaming,
    catalog: &Catalog<'_>,
) -> Result<Launchable> {
    job_launchable_with(user_groups, group_name, naming, catalog)
}

/// [`job_launchable`] over any [`ResourceLookup`] (indexed stores), as the PhSchedule
/// controller validates a job template.
pub fn job_launchable_with(
    user_groups: &[GroupRoles<'_>],
    group_name: &str,
    naming: &RoleNaming,
    resources: &dyn ResourceLookup,
) -> Result<Launchable> {
    let group = if group_name.is_empty() {
        EVERYONE
    } else {
        group_name
    };
    launchable_in(user_groups, group, naming, resources)
}

/// Which resources exist: the lookups the binding needs, so a caller with indexed stores answers
/// each in O(1) or O(log n) ([`Catalog`] answers by scanning its slices).
pub trait ResourceLookup {
    /// Whether the image `name` exists.
    fn has_image(&self, name: &str) -> bool;
    /// Whether the instance type `name` exists.
    fn has_instance_type(&self, name: &str) -> bool;
    /// The dataset's `launchGroupOnly` flag, or `None` when the dataset does not exist.
    fn dataset_launch_group_only(&self, name: &str) -> Option<bool>;
}

impl ResourceLookup for Catalog<'_> {
    fn has_image(&self, name: &str) -> bool {
        self.images
            .iter()
            .any(|i| i.metadata.name.as_deref() == Some(name))
    }

    fn has_instance_type(&self, name: &str) -> bool {
        self.instance_types
            .iter()
            .any(|i| i.metadata.name.as_deref() == Some(name))
    }

    fn dataset_launch_group_only(&self, name: &str) -> Option<bool> {
        self.datasets
            .iter()
            .find(|d| d.metadata.name.as_deref() == Some(name))
            .map(Dataset::launch_group_only)
    }
}

/// [`launchable`] over any [`ResourceLookup`]; the cost depends on the roles the user holds, not
/// on how many resources exist.
pub fn launchable_with(
    user_groups: &[GroupRoles<'_>],
    launch_group: &str,
    naming: &RoleNaming,
    resources: &dyn ResourceLookup,
) -> Result<Launchable> {
    if launch_group == EVERYONE {
        return Err(Error::InvalidField {
            field: "group".to_owned(),
            rule: "cannot launch with the everyone group; choose one of the user's groups"
                .to_owned(),
        });
    }
    launchable_in(user_groups, launch_group, naming, resources)
}

fn launchable_in(
    user_groups: &[GroupRoles<'_>],
    launch_group: &str,
    naming: &RoleNaming,
    resources: &dyn ResourceLookup,
) -> Result<Launchable> {
    let parsed = Parsed::of(user_groups, naming);
    let launch = parsed
        .groups
        .iter()
        .find(|(name, _)| *name == launch_group)
        .ok_or_else(|| Error::InvalidField {
            field: "group".to_owned(),
            rule: format!("the user is not a member of group {launch_group:?}"),
        })?;
    Ok(parsed.launchable(launch_group, &launch.1, resources))
}

/// A user's groups with their roles parsed once, for any number of launch groups.
struct Parsed<'a> {
    /// Every group of the user, `everyone` included, in the order given.
    groups: Vec<(&'a str, GroupGrants)>,
    /// Where `everyone` is in `groups` (the first one, as a lookup by name finds it).
    everyone: Option<usize>,
    /// Every dataset the user holds through any group, in name order.
    held: BTreeSet<String>,
}

/// No grants: the global ones of a user outside `everyone`.
static NO_GRANTS: GroupGrants = GroupGrants {
    images: BTreeSet::new(),
    instance_types: BTreeSet::new(),
    datasets: BTreeSet::new(),
    writable_datasets: BTreeSet::new(),
};

impl<'a> Parsed<'a> {
    fn of(user_groups: &[GroupRoles<'a>], naming: &RoleNaming) -> Parsed<'a> {
        let groups: Vec<(&str, GroupGrants)> = user_groups
            .iter()
            .map(|group| (group.name, GroupGrants::parse(group.roles, naming)))
            .collect();
        let everyone = groups.iter().position(|(name, _)| *name == EVERYONE);
        let held = groups
            .iter()
            .flat_map(|(_, grants)| grants.datasets().map(str::to_owned))
            .collect();
        Parsed {
            groups,
            everyone,
            held,
        }
    }

    fn launchable(
        &self,
        launch_group: &str,
        own: &GroupGrants,
        resources: &dyn ResourceLookup,
    ) -> Launchable {
        let global = self.everyone.map_or(&NO_GRANTS, |i| &self.groups[i].1);
        let offer = group_offer(own, global, resources);
        Launchable {
            group: launch_group.to_owned(),
            images: offer.images,
            instance_types: offer.instance_types,
            datasets: launch_datasets(self.held.iter().map(String::as_str), own, global, resources),
        }
    }
}

/// [`launchable_with`] for every group of the user except `everyone`, in the order given, with
/// each group's roles parsed once (the cost of one call, not one per group).
pub fn launchable_groups_with(
    user_groups: &[GroupRoles<'_>],
    naming: &RoleNaming,
    resources: &dyn ResourceLookup,
) -> Vec<Launchable> {
    let parsed = Parsed::of(user_groups, naming);
    parsed
        .groups
        .iter()
        .filter(|(name, _)| *name != EVERYONE)
        .map(|(name, own)| parsed.launchable(name, own, resources))
        .collect()
}

/// [`launchable`] for every group of the user except `everyone`, in the order given.
pub fn launchable_groups(
    user_groups: &[GroupRoles<'_>],
    naming: &RoleNaming,
    catalog: &Catalog<'_>,
) -> Result<Vec<Launchable>> {
    Ok(launchable_groups_with(user_groups, naming, catalog))
}
