//! A large PrimeHub on the fakes, for the load program (`examples/graphql_load.rs`) and the
//! benchmarks (feature `fake`): many users, groups and resources seeded directly on the fake
//! Keycloak realm and the fake cluster — not through the API — then the Keycloak cache resynced
//! and the resource stores awaited, so the API starts warm.
//!
//! The shape ([`Scale::default`], DESIGN §9): 10 000 users, each in 3 of 1 000 groups (and in
//! `everyone`); 1 000 resources — images, instance types and datasets in turn — of which 20 are
//! global (mapped to `everyone`) and each group is granted 10. Every user's password is
//! [`USER_PASSWORD`]; usernames are [`username`]`(i)`.
//!
//! ```no_run
//! # async fn run() -> primehub_graphql::Result<()> {
//! use primehub_graphql::dev::{DevOptions, DevPlatform, Seed};
//! use primehub_graphql::scale::{self, Scale};
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
//! let options = DevOptions { seed: Seed::Empty, ..DevOptions::default() };
//! let platform = DevPlatform::start(listener, &options).await?;
//! let seeded = scale::seed(&platform, &Scale::default()).await?;
//! let token = platform.access_token(&seeded.usernames[0], scale::USER_PASSWORD)?;
//! # let _ = token;
//! # Ok(()) }
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Toleration;
use primehub_keycloak::KeycloakAdmin;
use primehub_keycloak::representation::{NewGroup, NewUser, RealmSettingsUpdate};
use primehub_model::crd::dataset::{Dataset, DatasetSpec, DatasetType};
use primehub_model::crd::image::{Image, ImageCrdSpec, ImageType};
use primehub_model::crd::instance_type::{InstanceType, InstanceTypeSpec};
use primehub_model::roles::RoleNaming;
use primehub_reconcile::api::Typed;
use primehub_reconcile::stores::StoreKind;

use crate::dev::{DevPlatform, NAMESPACE};
use crate::error::{Error, ErrorCode, Result};

/// Every seeded user's password.
pub const USER_PASSWORD: &str = "load-test";

/// How large to make the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scale {
    /// Users to create.
    pub users: usize,
    /// Groups to create (besides `everyone`).
    pub groups: usize,
    /// Groups each user is a member of (besides `everyone`).
    pub groups_per_user: usize,
    /// Resources: images, instance types and datasets in turn.
    pub resources: usize,
    /// Resources granted to each group.
    pub resources_per_group: usize,
    /// Resources granted to `everyone`.
    pub global_resources: usize,
}

impl Default for Scale {
    fn default() -> Self {
        Scale {
            users: 10_000,
            groups: 1_000,
            groups_per_user: 3,
            resources: 1_000,
            resources_per_group: 10,
            global_resources: 20,
        }
    }
}

impl Scale {
    /// A small shape for CI: 1 000 users, 100 groups, 100 resources (5 global).
    pub fn small() -> Scale {
        Scale {
            users: 1_000,
            groups: 100,
            resources: 100,
            global_resources: 5,
            ..Scale::default()
        }
    }

    /// Checks that the numbers fit together.
    pub fn check(&self) -> Result<()> {
        let rule = |field: &str, rule: &str| Err(Error::invalid(field, rule));
        if self.users == 0 {
            return rule("users", "must be at least 1");
        }
        if self.groups == 0 || self.groups < self.groups_per_user {
            return rule("groups", "must be at least 1 and at least groups_per_user");
        }
        if self.resources == 0 {
            return rule("resources", "must be at least 1");
        }
        if self.global_resources > self.resources
            || self.resources_per_group > self.resources - self.global_resources
        {
            return rule(
                "resources",
                "must hold the global resources and, apart from them, each group's",
            );
        }
        Ok(())
    }

    /// The groups (indexes) of user `u`: spread evenly over all groups.
    pub fn groups_of(&self, u: usize) -> impl Iterator<Item = usize> + use<> {
        let (groups, per_user) = (self.groups, self.groups_per_user);
        let stride = groups / per_user.max(1);
        (0..per_user).map(move |j| (u + j * stride) % groups)
    }

    /// The resources (indexes) granted to group `g`: consecutive ones after the global ones,
    /// so the kinds are mixed.
    pub fn resources_of(&self, g: usize) -> impl Iterator<Item = usize> + use<> {
        let span = (self.resources - self.global_resources).max(1);
        let (per_group, global) = (self.resources_per_group, self.global_resources);
        (0..per_group).map(move |k| global + (g * per_group + k) % span)
    }
}

/// The kind of a seeded resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    /// An `Image`.
    Image,
    /// An `InstanceType`.
    InstanceType,
    /// A `Dataset`.
    Dataset,
}

/// Resource `i`: its kind and name (`image-<i>`, `it-<i>`, `ds-<i>`).
pub fn resource(i: usize) -> (ResourceKind, String) {
    match i % 3 {
        0 => (ResourceKind::Image, format!("image-{i}")),
        1 => (ResourceKind::InstanceType, format!("it-{i}")),
        _ => (ResourceKind::Dataset, format!("ds-{i}")),
    }
}

/// The realm role granting resource `i`.
pub fn role_of(naming: &RoleNaming, i: usize) -> String {
    match resource(i) {
        (ResourceKind::Image, name) => naming.image(&name),
        (ResourceKind::InstanceType, name) => naming.instance_type(&name),
        (ResourceKind::Dataset, name) => naming.dataset(&name, false),
    }
}

/// The name of user `u`.
pub fn username(u: usize) -> String {
    format!("user-{u:05}")
}

/// The name of group `g`.
pub fn group_name(g: usize) -> String {
    format!("group-{g:04}")
}

/// What [`seed`] made.
#[derive(Debug, Clone)]
pub struct Seeded {
    /// Images, instance types and datasets created.
    pub images: usize,
    /// Instance types created.
    pub instance_types: usize,
    /// Datasets created.
    pub datasets: usize,
    /// The usernames, by index.
    pub usernames: Vec<String>,
    /// The user ids, by index.
    pub user_ids: Vec<String>,
    /// The group ids, by index.
    pub group_ids: Vec<String>,
}

fn setup(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Coded {
        code: ErrorCode::InternalError,
        message: format!("{what}: {e}"),
    }
}

/// Seeds `platform` (started with `Seed::Empty`) to `scale`, resyncs the Keycloak cache and
/// waits until the resource stores hold every object. The realm's admin events are off while
/// seeding (the state is as if it had been there before), then on again.
pub async fn seed(platform: &DevPlatform, scale: &Scale) -> Result<Seeded> {
    scale.check()?;
    let (images, instance_types, datasets) = seed_cluster(platform, scale).await?;
    let (usernames, user_ids, group_ids) = seed_keycloak(platform, scale)
        .await
        .map_err(|e| setup("seeding the realm", e))?;
    let state = &platform.api.service.state;
    state.keycloak.resync().await?;
    let stores = &state.stores;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let have = stores.counts();
        let count = |k| have.get(&k).copied().unwrap_or(0);
        if count(StoreKind::Image) >= images
            && count(StoreKind::InstanceType) >= instance_types
            && count(StoreKind::Dataset) >= datasets
        {
            break;
        }
        if Instant::now() > deadline {
            return Err(setup(
                "waiting for the resource stores",
                format!("not filled after 120 s: {have:?}"),
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(Seeded {
        images,
        instance_types,
        datasets,
        usernames,
        user_ids,
        group_ids,
    })
}

fn toleration() -> Toleration {
    Toleration {
        key: Some("hub.jupyter.org/dedicated".into()),
        operator: Some("Equal".into()),
        value: Some("user".into()),
        effect: Some("NoSchedule".into()),
        ..Toleration::default()
    }
}

async fn seed_cluster(platform: &DevPlatform, scale: &Scale) -> Result<(usize, usize, usize)> {
    let api: Arc<dyn primehub_reconcile::KubeApi> = Arc::new(platform.cluster.clone());
    let images = Typed::<Image>::namespaced(api.clone(), NAMESPACE);
    let types = Typed::<InstanceType>::namespaced(api.clone(), NAMESPACE);
    let datasets = Typed::<Dataset>::namespaced(api, NAMESPACE);
    let mut counts = (0, 0, 0);
    let failed = |e| setup("seeding the fake cluster", e);
    for i in 0..scale.resources {
        match resource(i) {
            (ResourceKind::Image, name) => {
                let spec = ImageCrdSpec {
                    display_name: Some(format!("Image {i}")),
                    type_: Some(ImageType::Both),
                    url: Some(format!("registry.example/{name}:latest")),
                    ..ImageCrdSpec::default()
                };
                images
                    .create(&Image::new(&name, spec))
                    .await
                    .map_err(failed)?;
                counts.0 += 1;
            }
            (ResourceKind::InstanceType, name) => {
                let cpu = u32::try_from(i % 8).unwrap_or(0) + 1;
                let mut spec = InstanceTypeSpec::new(cpu.into(), "4G");
                spec.display_name = Some(format!("Instance type {i}"));
                spec.tolerations = vec![toleration()];
                types
                    .create(&InstanceType::new(&name, spec))
                    .await
                    .map_err(failed)?;
                counts.1 += 1;
            }
            (ResourceKind::Dataset, name) => {
                let mut spec = DatasetSpec::new(DatasetType::Env);
                spec.display_name = Some(format!("Dataset {i}"));
                datasets
                    .create(&Dataset::new(&name, spec))
                    .await
                    .map_err(failed)?;
                counts.2 += 1;
            }
        }
    }
    Ok(counts)
}

type Ids = (Vec<String>, Vec<String>, Vec<String>);

async fn seed_keycloak(platform: &DevPlatform, scale: &Scale) -> primehub_keycloak::Result<Ids> {
    let realm = platform.keycloak.realm(&platform.realm.realm)?;
    let naming = RoleNaming::unprefixed();
    let events = |on: bool| RealmSettingsUpdate {
        admin_events_enabled: Some(on),
        ..RealmSettingsUpdate::default()
    };
    realm.update_realm_settings(&events(false)).await?;
    for i in 0..scale.resources {
        // The watcher may have made it already, for the resource seeded just before.
        match realm.create_role(&role_of(&naming, i), None).await {
            Ok(()) => {}
            Err(e) if e.is_conflict() => {}
            Err(e) => return Err(e),
        }
    }
    let everyone = platform.realm.everyone_group_id.clone();
    let global: Vec<String> = (0..scale.global_resources)
        .map(|i| role_of(&naming, i))
        .collect();
    realm.add_group_roles(&everyone, &global).await?;
    let mut group_ids = Vec::with_capacity(scale.groups);
    for g in 0..scale.groups {
        let id = realm
            .create_group(&NewGroup {
                name: group_name(g),
                ..NewGroup::default()
            })
            .await?;
        let roles: Vec<String> = scale.resources_of(g).map(|i| role_of(&naming, i)).collect();
        realm.add_group_roles(&id, &roles).await?;
        group_ids.push(id);
    }
    let mut usernames = Vec::with_capacity(scale.users);
    let mut user_ids = Vec::with_capacity(scale.users);
    for u in 0..scale.users {
        let name = username(u);
        let id = realm
            .create_user(&NewUser {
                username: name.clone(),
                email: Some(format!("{name}@example.com")),
                enabled: true,
                password: Some(USER_PASSWORD.into()),
                ..NewUser::default()
            })
            .await?;
        realm.add_member(&everyone, &id).await?;
        for g in scale.groups_of(u) {
            realm.add_member(&group_ids[g], &id).await?;
        }
        usernames.push(name);
        user_ids.push(id);
    }
    realm.update_realm_settings(&events(true)).await?;
    Ok((usernames, user_ids, group_ids))
}
