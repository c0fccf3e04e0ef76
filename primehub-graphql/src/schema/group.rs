//! Groups: `group`, `groups`, `groupsConnection` and the group mutations.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use primehub_keycloak::cache::Snapshot;
use primehub_keycloak::representation::NewGroup;
use primehub_keycloak::{ConflictField, KeycloakError};
use primehub_model::attributes::{Capacity, EnvEntry, GroupAttributes};
use primehub_model::crd::dataset::Dataset as DatasetCr;
use primehub_model::crd::image::Image as ImageCr;
use primehub_model::crd::instance_type::InstanceType as InstanceTypeCr;
use primehub_model::quantity::{Cpu, Gpu, Memory};
use primehub_model::roles::RoleKind;
use serde::Serialize;

use super::common::{
    EnvVar, Json, connection, json_f64, json_str, page_args, string_set, where_unique,
};
use super::dataset::Dataset;
use super::image::{Image, QueryImageMode};
use super::instance_type::InstanceType;
use super::leaf::Leaf;
use super::user::{User, UserCreateManyInput, UserUpdateManyInput, where_json};
use super::{snapshot, state};
use crate::auth::Caller;
use crate::error::{Error, ErrorCode, Result};
use crate::guard::{Allow, caller, denied};
use crate::launch::UserLaunch;
use crate::list::{self, Listable};
use crate::undo::Undo;

connection!(GroupConnection, GroupEdge, Group);

where_unique!(
    /// Selects one group by its Keycloak id.
    GroupWhereUniqueInput
);
string_set!(
    /// Accepted and ignored, as in PrimeHub.
    DatasetPlaceHolder
);
string_set!(
    /// Accepted and ignored, as in PrimeHub.
    ImagePlaceHolder
);
string_set!(
    /// Accepted and ignored, as in PrimeHub.
    InstancePlaceHolder
);

/// `connect` groups when creating (`create` is accepted and ignored, as in PrimeHub).
#[derive(InputObject, Debug, Clone, Default, Serialize)]
pub struct GroupCreateManyInput {
    /// Ignored.
    pub create: Option<Vec<GroupCreateInput>>,
    /// Groups to join.
    pub connect: Option<Vec<GroupWhereUniqueInput>>,
}

/// `connect`/`disconnect` groups when updating (`create`/`delete` ignored, as in PrimeHub).
#[derive(InputObject, Debug, Clone, Default, Serialize)]
pub struct GroupUpdateManyInput {
    /// Ignored.
    pub create: Option<Vec<GroupCreateInput>>,
    /// Groups to join.
    pub connect: Option<Vec<GroupWhereUniqueInput>>,
    /// Groups to leave.
    pub disconnect: Option<Vec<GroupWhereUniqueInput>>,
    /// Ignored.
    pub delete: Option<Vec<GroupWhereUniqueInput>>,
}

/// Filters of the group lists.
#[derive(InputObject, Debug, Clone, Default, Serialize)]
pub struct GroupWhereInput {
    /// Exactly this id.
    pub id: Option<ID>,
    /// Names containing this text.
    #[graphql(name = "name_contains")]
    pub name_contains: Option<String>,
    /// Display names containing this text.
    #[graphql(name = "displayName_contains")]
    #[serde(rename = "displayName_contains")]
    pub display_name_contains: Option<String>,
    /// Name or display name containing this text.
    pub search: Option<String>,
}

/// The order of the group lists: one field, `"asc"` or `"desc"`.
#[derive(InputObject, Debug, Clone, Default, Serialize)]
#[allow(missing_docs)]
pub struct GroupOrderByInput {
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub shared_volume_capacity: Option<String>,
    pub quota_cpu: Option<String>,
    pub quota_gpu: Option<String>,
    pub project_quota_cpu: Option<String>,
    pub project_quota_gpu: Option<String>,
}

/// A group's current usage (from the pods counted by the usage ledger).
#[derive(SimpleObject, Debug, Clone)]
pub struct ResourceStatus {
    /// The group's id.
    pub group_id: Option<String>,
    /// CPU cores in use, e.g. `"1.5"`.
    pub cpu_usage: Option<String>,
    /// Memory in use in GiB with one decimal, e.g. `"2.0"`.
    pub mem_usage: Option<String>,
    /// GPUs in use.
    pub gpu_usage: Option<String>,
}

/// How far a shared volume has come (ours; PrimeHub has no such type). See
/// [`primehub_model::group_volume::SharedVolumeState`].
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(rename_items = "PascalCase")]
pub enum SharedVolumePhase {
    /// Being made: the NFS server or the volume does not exist yet, or the claim is not bound.
    Pending,
    /// The claim is bound to its volume, but the NFS server is not ready.
    Bound,
    /// Pods can mount it.
    Ready,
    /// It cannot become ready without help; `reason` says why.
    Failed,
}

/// A group's shared-volume state (ours: PrimeHub shows none), from the claim `project-<group>`
/// and its NFS server as the API's stores show them — the same function the group-volume
/// controller exports in `/metrics` as `primehub_controller_group_volume_state`.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
pub struct SharedVolumeState {
    /// The phase.
    pub phase: SharedVolumePhase,
    /// Why it failed, naming the object (`claim project-x: lost its volume …`,
    /// `statefulset nfs-project-x: …`); null unless `Failed`.
    pub reason: Option<String>,
}

impl SharedVolumeState {
    fn of(state: primehub_model::group_volume::SharedVolumeState) -> SharedVolumeState {
        use primehub_model::group_volume::SharedVolumeState as S;
        let (phase, reason) = match state {
            S::Pending => (SharedVolumePhase::Pending, None),
            S::Bound => (SharedVolumePhase::Bound, None),
            S::Ready => (SharedVolumePhase::Ready, None),
            S::Failed { reason } => (SharedVolumePhase::Failed, Some(reason)),
        };
        SharedVolumeState { phase, reason }
    }
}

/// A group's MLflow settings.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(name = "MLflowSetting")]
pub struct MlflowSetting {
    /// The tracking URI.
    pub tracking_uri: Option<String>,
    /// The UI URL.
    pub ui_url: Option<String>,
    /// Environment variables for tracking.
    pub tracking_envs: Option<Vec<Option<EnvVar>>>,
    /// Environment variables for artifacts.
    pub artifact_envs: Option<Vec<Option<EnvVar>>>,
}

/// Which user's view of a group: in `me.effectiveGroups` the resources granted to `everyone`
/// (and, for datasets, those the user holds elsewhere) are merged in.
#[derive(Clone)]
pub(crate) struct Effective {
    user_id: String,
    /// The user's launchable resources in each of their groups, by group id: shared by the
    /// groups of one `effectiveGroups` list and computed once, at the first `images`,
    /// `instanceTypes` or `datasets` field any of them resolves, from the API's
    /// [`LaunchCache`](crate::launch::LaunchCache).
    all: Arc<std::sync::OnceLock<EffectiveResources>>,
}

/// What one `effectiveGroups` list resolves once for all its groups, by group id.
pub(crate) type EffectiveResources =
    std::collections::HashMap<String, UserLaunch, foldhash::fast::RandomState>;

/// A PrimeHub group (a Keycloak group and its attributes).
#[derive(Clone)]
pub struct Group {
    pub(crate) snap: Arc<Snapshot>,
    pub(crate) id: String,
    pub(crate) effective: Option<Effective>,
    /// Set when the group is listed as a dataset's group: whether it holds `ds:rw:`.
    pub(crate) writable: Option<bool>,
}

/// Milli-units as a float, for the API's float fields (exact for every value below 2^53).
#[allow(clippy::cast_precision_loss)]
fn cpu_f64(cpu: Cpu) -> f64 {
    cpu.millis() as f64 / 1000.0
}

#[allow(clippy::cast_precision_loss)]
fn gib_f64(memory: Memory) -> f64 {
    memory.bytes() as f64 / f64::from(1u32 << 30)
}

fn gpu_i32(gpu: Gpu) -> i32 {
    i32::try_from(gpu.count()).unwrap_or(i32::MAX)
}

fn capacity_i32(capacity: Capacity) -> i32 {
    i32::try_from(capacity.gigabytes).unwrap_or(i32::MAX)
}

impl Group {
    /// The group `id` in `snap`, if it exists.
    pub(crate) fn find(snap: &Arc<Snapshot>, id: &str) -> Option<Group> {
        snap.group(id).map(|_| Group {
            snap: snap.clone(),
            id: id.to_owned(),
            effective: None,
            writable: None,
        })
    }

    /// This group as `user_id` sees it in `me.effectiveGroups`; `all` is shared by the groups
    /// of the same list.
    pub(crate) fn effective_for(
        mut self,
        user_id: &str,
        all: &Arc<std::sync::OnceLock<EffectiveResources>>,
    ) -> Group {
        self.effective = Some(Effective {
            user_id: user_id.to_owned(),
            all: all.clone(),
        });
        self
    }

    fn rep(&self) -> Option<&primehub_keycloak::representation::Group> {
        self.snap.group(&self.id).map(|g| &g.group)
    }

    pub(crate) fn group_name(&self) -> String {
        self.rep().map(|g| g.name.clone()).unwrap_or_default()
    }

    /// The group's PrimeHub attributes (parsed once, when cached).
    pub(crate) fn attrs(&self) -> std::borrow::Cow<'_, GroupAttributes> {
        match self.snap.group(&self.id) {
            Some(g) => std::borrow::Cow::Borrowed(&g.attributes),
            None => std::borrow::Cow::Owned(GroupAttributes::default()),
        }
    }

    /// The realm roles mapped to this group.
    fn roles(&self) -> &[String] {
        self.snap.group_roles(&self.id)
    }

    /// What the user may launch with this group, as `me.effectiveGroups` resolves it (the
    /// binding model shared with the spawner); `None` outside `effectiveGroups`.
    fn launchable(&self, ctx: &Context<'_>) -> Option<&UserLaunch> {
        let effective = self.effective.as_ref()?;
        let all = effective.all.get_or_init(|| {
            let state = state(ctx);
            state.launch.user_launch(
                &self.snap,
                &state.stores,
                &state.config.naming,
                &effective.user_id,
            )
        });
        all.get(&self.id)
    }

    /// Names of resources of `kind` bound to this group by its own roles, with `ds:rw:`.
    fn own(&self, ctx: &Context<'_>, kind: RoleKind) -> Vec<(String, bool)> {
        let naming = &state(ctx).config.naming;
        let mut out: BTreeMap<String, bool> = BTreeMap::new();
        for role in self.roles().iter().filter_map(|r| naming.parse_own(r)) {
            if role.kind == kind {
                let writable = out.entry(role.name).or_insert(false);
                *writable |= role.writable;
            }
        }
        out.into_iter().collect()
    }

    /// The group's images: in `effectiveGroups` the launchable ones, else those of its own roles.
    fn image_crs(&self, ctx: &Context<'_>) -> Vec<Arc<ImageCr>> {
        match self.launchable(ctx) {
            Some(launch) => launch.offer.images().to_vec(),
            None => {
                let stores = &state(ctx).stores;
                self.own(ctx, RoleKind::Image)
                    .iter()
                    .filter_map(|(n, _)| stores.image(n))
                    .collect()
            }
        }
    }
}

impl Listable for Group {
    fn id(&self) -> &str {
        &self.id
    }

    fn field(&self, name: &str) -> serde_json::Value {
        let attrs = self.attrs();
        match name {
            "id" => json_str(Some(&self.id)),
            "name" => json_str(self.rep().map(|g| g.name.as_str())),
            "displayName" => json_str(attrs.display_name.as_deref()),
            "quotaCpu" => json_f64(attrs.quota_cpu.map(cpu_f64)),
            "quotaGpu" => attrs
                .quota_gpu
                .map(|g| g.count().into())
                .unwrap_or_default(),
            "quotaMemory" => json_f64(attrs.quota_memory.map(gib_f64)),
            "projectQuotaCpu" => json_f64(attrs.project_quota_cpu.map(cpu_f64)),
            "projectQuotaGpu" => attrs
                .project_quota_gpu
                .map(|g| g.count().into())
                .unwrap_or_default(),
            "projectQuotaMemory" => json_f64(attrs.project_quota_memory.map(gib_f64)),
            "sharedVolumeCapacity" => attrs
                .shared_volume_capacity
                .map(|c| c.gigabytes.into())
                .unwrap_or_default(),
            _ => serde_json::Value::Null,
        }
    }
}

fn env_vars(entries: &[EnvEntry]) -> Option<Vec<Option<EnvVar>>> {
    Some(
        entries
            .iter()
            .map(|e| {
                Some(EnvVar {
                    name: Some(e.name.clone()),
                    value: Some(e.value.clone()),
                })
            })
            .collect(),
    )
}

/// `"1.5"`-style text of a usage figure, as PrimeHub's numbers serialize.
fn usage_text(value: f64) -> String {
    format!("{value}")
}

#[Object]
impl Group {
    /// The Keycloak id.
    async fn id(&self) -> ID {
        ID(self.id.clone())
    }
    /// The group name.
    async fn name(&self) -> String {
        self.group_name()
    }
    /// The display name.
    async fn display_name(&self) -> Option<String> {
        self.attrs().display_name.clone()
    }
    /// Per-user CPU limit inside the group (cores); null = unlimited.
    async fn quota_cpu(&self) -> Option<f64> {
        self.attrs().quota_cpu.map(cpu_f64)
    }
    /// Per-user GPU limit; null = unlimited.
    async fn quota_gpu(&self) -> Option<i32> {
        self.attrs().quota_gpu.map(gpu_i32)
    }
    /// Per-user memory limit in GB; null = unlimited.
    async fn quota_memory(&self) -> Option<f64> {
        self.attrs().quota_memory.map(gib_f64)
    }
    /// Members' default home volume size in GB.
    async fn user_volume_capacity(&self) -> Option<i32> {
        self.attrs().user_volume_capacity.map(capacity_i32)
    }
    /// Whole-group CPU limit (cores); null = unlimited.
    async fn project_quota_cpu(&self) -> Option<f64> {
        self.attrs().project_quota_cpu.map(cpu_f64)
    }
    /// Whole-group GPU limit; null = unlimited.
    async fn project_quota_gpu(&self) -> Option<i32> {
        self.attrs().project_quota_gpu.map(gpu_i32)
    }
    /// Whole-group memory limit in GB; null = unlimited.
    async fn project_quota_memory(&self) -> Option<f64> {
        self.attrs().project_quota_memory.map(gib_f64)
    }
    /// The members (for a user, not an administrator or the shared-secret client, the members
    /// of `everyone` are not listed: that would be every user of the platform).
    async fn users(&self, ctx: &Context<'_>) -> Vec<Option<User>> {
        let everyone = Some(self.id.as_str()) == self.snap.everyone_group_id();
        if everyone && !caller(ctx).is_ok_and(|c| c.is_admin() || c.is_client()) {
            return Vec::new();
        }
        self.snap
            .members(&self.id)
            .iter()
            .filter_map(|uid| User::find(&self.snap, uid))
            .map(Some)
            .collect()
    }
    /// Instance types bound to the group (with the global ones in `effectiveGroups`).
    async fn instance_types(&self, ctx: &Context<'_>) -> Vec<Option<Leaf<InstanceType>>> {
        let crs: Vec<Arc<InstanceTypeCr>> = match self.launchable(ctx) {
            Some(launch) => launch.offer.instance_types().to_vec(),
            None => {
                let stores = &state(ctx).stores;
                self.own(ctx, RoleKind::InstanceType)
                    .iter()
                    .filter_map(|(n, _)| stores.instance_type(n))
                    .collect()
            }
        };
        crs.into_iter()
            .map(|it| Some(Leaf(InstanceType::new(it, self.snap.clone()))))
            .collect()
    }
    /// Images bound to the group (with the global ones in `effectiveGroups`), filtered by
    /// `mode`: `SYSTEM_ONLY` images without a group, `GROUP_ONLY` group images, `ALL`.
    async fn images(
        &self,
        ctx: &Context<'_>,
        mode: Option<QueryImageMode>,
    ) -> Vec<Option<Leaf<Image>>> {
        self.image_crs(ctx)
            .into_iter()
            .filter(|image| mode.unwrap_or(QueryImageMode::All).admits(image))
            .map(|image| Some(Leaf(Image::new(image, self.snap.clone()))))
            .collect()
    }
    /// Group images (with a `groupName`) bound to the group.
    async fn group_images(&self, ctx: &Context<'_>) -> Vec<Option<Leaf<Image>>> {
        self.image_crs(ctx)
            .into_iter()
            .filter(|image| QueryImageMode::GroupOnly.admits(image))
            .map(|image| Some(Leaf(Image::new(image, self.snap.clone()))))
            .collect()
    }
    /// Datasets bound to the group; in `effectiveGroups` also the global ones and those the
    /// user holds through another group unless they are launch-group-only. `writable` tells
    /// whether the group (or `everyone`, for global ones) holds `ds:rw:`.
    async fn datasets(&self, ctx: &Context<'_>) -> Vec<Option<Leaf<Dataset>>> {
        let crs: Vec<(Arc<DatasetCr>, bool)> = match self.launchable(ctx) {
            Some(launch) => launch.datasets.clone(),
            None => {
                let stores = &state(ctx).stores;
                self.own(ctx, RoleKind::Dataset)
                    .into_iter()
                    .filter_map(|(n, writable)| stores.dataset(&n).map(|d| (d, writable)))
                    .collect()
            }
        };
        crs.into_iter()
            .map(|(d, writable)| {
                Some(Leaf(
                    Dataset::new(d, self.snap.clone()).with_writable(writable),
                ))
            })
            .collect()
    }
    /// What the group's running and pending pods use now.
    async fn resource_status(&self, ctx: &Context<'_>) -> Option<ResourceStatus> {
        let usage = state(ctx).stores.group_usage(&self.group_name());
        // Rounded to one decimal as PrimeHub shows memory.
        let gib_tenths = (u128::from(usage.memory.bytes()) * 10 + (1u128 << 29)) >> 30;
        Some(ResourceStatus {
            group_id: Some(self.id.clone()),
            cpu_usage: Some(usage_text(cpu_f64(usage.cpu))),
            mem_usage: Some(format!("{}.{}", gib_tenths / 10, gib_tenths % 10)),
            gpu_usage: Some(usage.gpu.count().to_string()),
        })
    }
    /// Set when listed as a dataset's group: whether it may write the dataset.
    async fn writable(&self) -> Option<bool> {
        self.writable
    }
    /// Whether the group has a shared volume.
    async fn enabled_shared_volume(&self) -> Option<bool> {
        Some(self.attrs().enabled_shared_volume.unwrap_or(false))
    }
    /// The shared volume's size in GB.
    async fn shared_volume_capacity(&self) -> Option<i32> {
        self.attrs().shared_volume_capacity.map(capacity_i32)
    }
    /// Ours (PrimeHub has no such field): how far the shared volume has come — `Pending`,
    /// `Bound`, `Ready`, or `Failed` with the reason from the claim or the NFS server. Null
    /// when the group has no shared volume (not enabled and no claim `project-<group>`);
    /// `Failed` when it is enabled but its claim does not exist. A volume made by a
    /// `ReadWriteMany` storage class is `Ready` once its claim is bound.
    async fn shared_volume_state(&self, ctx: &Context<'_>) -> Option<SharedVolumeState> {
        let claim = primehub_model::names::project_pvc_name(&self.group_name());
        match state(ctx).stores.shared_volume_state(&claim) {
            Some(found) => Some(SharedVolumeState::of(found)),
            None if self.attrs().enabled_shared_volume == Some(true) => Some(SharedVolumeState {
                phase: SharedVolumePhase::Failed,
                reason: Some(format!("claim {claim}: does not exist")),
            }),
            None => None,
        }
    }
    /// Whether the shared volume is linked into home directories.
    async fn home_symlink(&self) -> Option<bool> {
        self.attrs().home_symlink
    }
    /// Whether the shared volume is mounted only when launching with this group.
    async fn launch_group_only(&self) -> Option<bool> {
        self.attrs().launch_group_only
    }
    /// Whether model deployment is enabled.
    async fn enabled_deployment(&self) -> Option<bool> {
        self.attrs().enabled_deployment
    }
    /// The most deployments the group may run.
    async fn max_deploy(&self) -> Option<i32> {
        self.attrs()
            .max_deploy
            .map(|n| i32::try_from(n).unwrap_or(i32::MAX))
    }
    /// Running deployments (model deployment is not served by this API yet: null).
    async fn deployments_usage(&self) -> Option<i32> {
        None
    }
    /// The default job timeout in seconds.
    async fn job_default_active_deadline_seconds(&self) -> Option<i32> {
        self.attrs()
            .job_default_active_deadline_seconds
            .map(|n| i32::try_from(n).unwrap_or(i32::MAX))
    }
    /// Group administrators' usernames, comma-separated (`""` when none).
    async fn admins(&self) -> Option<String> {
        Some(self.attrs().admins.join(","))
    }
    /// MLflow settings.
    async fn mlflow(&self) -> Option<MlflowSetting> {
        let attrs = self.attrs();
        Some(MlflowSetting {
            tracking_uri: attrs.mlflow_tracking_uri.clone(),
            ui_url: attrs.mlflow_ui_url.clone(),
            tracking_envs: env_vars(&attrs.mlflow_tracking_envs),
            artifact_envs: env_vars(&attrs.mlflow_artifact_envs),
        })
    }
}

/// Fields of a new group.
#[derive(InputObject, Debug, Clone, Default, Serialize)]
pub struct GroupCreateInput {
    /// The name: lower-case letters, digits, `-` and `_`, at least 2 characters.
    pub name: String,
    /// The display name.
    pub display_name: Option<String>,
    /// Per-user CPU limit (cores, ≥ 0).
    pub quota_cpu: Option<f64>,
    /// Per-user GPU limit (≥ 0).
    pub quota_gpu: Option<i32>,
    /// Per-user memory limit in GB (≥ 0).
    pub quota_memory: Option<f64>,
    /// Members' default home volume size in GB (≥ 0).
    pub user_volume_capacity: Option<i32>,
    /// Whole-group CPU limit (cores, ≥ 0).
    pub project_quota_cpu: Option<f64>,
    /// Whole-group GPU limit (≥ 0).
    pub project_quota_gpu: Option<i32>,
    /// Whole-group memory limit in GB (≥ 0).
    pub project_quota_memory: Option<f64>,
    /// Members to add (`connect`).
    pub users: Option<UserCreateManyInput>,
    /// Ignored.
    pub writable: Option<bool>,
    /// Create the group's shared volume (needs `sharedVolumeCapacity`).
    pub enabled_shared_volume: Option<bool>,
    /// The shared volume's size in GB.
    pub shared_volume_capacity: Option<i32>,
    /// Link the shared volume into home directories (forced on with a shared volume).
    pub home_symlink: Option<bool>,
    /// Mount the shared volume only when launching with this group (default true).
    pub launch_group_only: Option<bool>,
    /// Ignored.
    pub datasets: Option<DatasetPlaceHolder>,
    /// Ignored.
    pub images: Option<ImagePlaceHolder>,
    /// Ignored.
    pub instance_types: Option<InstancePlaceHolder>,
    /// Enable model deployment.
    pub enabled_deployment: Option<bool>,
    /// The most deployments (≥ 0).
    pub max_deploy: Option<i32>,
    /// The default job timeout in seconds (≥ 0).
    pub job_default_active_deadline_seconds: Option<i32>,
    /// Group administrators' usernames, comma-separated.
    pub admins: Option<String>,
}

/// Changes to a group (the name cannot change).
#[derive(InputObject, Debug, Clone, Default, Serialize)]
#[allow(missing_docs)]
pub struct GroupUpdateInput {
    /// Must equal the current name when given.
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub quota_cpu: Option<f64>,
    pub quota_gpu: Option<i32>,
    pub user_volume_capacity: Option<i32>,
    pub quota_memory: Option<f64>,
    pub project_quota_cpu: Option<f64>,
    pub project_quota_gpu: Option<i32>,
    pub project_quota_memory: Option<f64>,
    /// Members to add (`connect`) or remove (`disconnect`).
    pub users: Option<UserUpdateManyInput>,
    pub writable: Option<bool>,
    pub enabled_shared_volume: Option<bool>,
    pub shared_volume_capacity: Option<i32>,
    pub home_symlink: Option<bool>,
    pub launch_group_only: Option<bool>,
    pub datasets: Option<DatasetPlaceHolder>,
    pub images: Option<ImagePlaceHolder>,
    pub instance_types: Option<InstancePlaceHolder>,
    pub enabled_deployment: Option<bool>,
    pub max_deploy: Option<i32>,
    pub job_default_active_deadline_seconds: Option<i32>,
    pub admins: Option<String>,
    pub tracking_uri: Option<String>,
    pub ui_url: Option<String>,
    /// `[{name, value}]`.
    pub tracking_envs: Option<Json>,
    /// `[{name, value}]`.
    pub artifact_envs: Option<Json>,
}

/// A non-negative float of the API as an exact CPU amount.
pub(crate) fn cpu_input(field: &str, value: f64) -> Result<Cpu> {
    if !value.is_finite() || value < 0.0 {
        return Err(Error::invalid(field, "must be a number ≥ 0"));
    }
    Cpu::parse_cores(field, &format!("{value}")).map_err(|e| Error::invalid(field, e.to_string()))
}

/// A non-negative float of GB as an exact memory quota (`"<n>G"` = n GiB).
pub(crate) fn memory_input(field: &str, value: f64) -> Result<Memory> {
    if !value.is_finite() || value < 0.0 {
        return Err(Error::invalid(field, "must be a number ≥ 0"));
    }
    Memory::parse_quota(field, &format!("{value}G"))
        .map_err(|e| Error::invalid(field, e.to_string()))
}

fn non_negative(field: &str, value: i32) -> Result<u64> {
    u64::try_from(value).map_err(|_| Error::invalid(field, "must be 0 or more"))
}

/// The rule of environment variable names, as PrimeHub checks them (`[-._a-zA-Z][-._a-zA-Z0-9]*`).
pub(crate) const ENV_NAME_RULE: &str = "must be an environment variable name (letters, digits, '_', '-', '.', not starting with a digit)";

/// Whether `name` is an environment variable name PrimeHub accepts.
pub(crate) fn is_env_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn env_entries(field: &str, value: &Json) -> Result<Vec<EnvEntry>> {
    let items = value
        .0
        .as_array()
        .ok_or_else(|| Error::invalid(field, "must be a list of {name, value}"))?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let name = item.get("name").and_then(|v| v.as_str());
            let value = item.get("value").and_then(|v| v.as_str()).unwrap_or("");
            match name {
                Some(n) if !n.is_empty() => {
                    if !is_env_name(n) {
                        return Err(Error::invalid(
                            format!("{field}[{i}].name"),
                            format!("{ENV_NAME_RULE}, not {n:?}"),
                        ));
                    }
                    Ok(EnvEntry::new(n, value))
                }
                _ => Err(Error::invalid(format!("{field}[{i}].name"), "is required")),
            }
        })
        .collect()
}

/// The fields shared by the create and update inputs, applied onto `attrs` (null = unchanged,
/// as PrimeHub: a quota cannot be cleared by sending null).
#[allow(clippy::too_many_arguments)]
fn apply_common(
    attrs: &mut GroupAttributes,
    display_name: Option<&String>,
    quota_cpu: Option<f64>,
    quota_gpu: Option<i32>,
    quota_memory: Option<f64>,
    user_volume_capacity: Option<i32>,
    project_quota_cpu: Option<f64>,
    project_quota_gpu: Option<i32>,
    project_quota_memory: Option<f64>,
    shared: (Option<bool>, Option<i32>, Option<bool>, Option<bool>),
    deploy: (Option<bool>, Option<i32>, Option<i32>),
    admins: Option<&String>,
) -> Result<()> {
    if let Some(v) = display_name {
        attrs.display_name = Some(v.clone());
    }
    if let Some(v) = quota_cpu {
        attrs.quota_cpu = Some(cpu_input("data.quotaCpu", v)?);
    }
    if let Some(v) = quota_gpu {
        attrs.quota_gpu = Some(Gpu::from_count(non_negative("data.quotaGpu", v)?));
    }
    if let Some(v) = quota_memory {
        attrs.quota_memory = Some(memory_input("data.quotaMemory", v)?);
    }
    if let Some(v) = user_volume_capacity {
        attrs.user_volume_capacity =
            Some(Capacity::new(non_negative("data.userVolumeCapacity", v)?));
    }
    if let Some(v) = project_quota_cpu {
        attrs.project_quota_cpu = Some(cpu_input("data.projectQuotaCpu", v)?);
    }
    if let Some(v) = project_quota_gpu {
        attrs.project_quota_gpu = Some(Gpu::from_count(non_negative("data.projectQuotaGpu", v)?));
    }
    if let Some(v) = project_quota_memory {
        attrs.project_quota_memory = Some(memory_input("data.projectQuotaMemory", v)?);
    }
    let (enabled, capacity, home_symlink, launch_group_only) = shared;
    let was_enabled = attrs.enabled_shared_volume.unwrap_or(false);
    if let Some(v) = capacity {
        attrs.shared_volume_capacity =
            Some(Capacity::new(non_negative("data.sharedVolumeCapacity", v)?));
    }
    if let Some(v) = home_symlink {
        attrs.home_symlink = Some(v);
    }
    if let Some(v) = launch_group_only {
        attrs.launch_group_only = Some(v);
    }
    if let Some(v) = enabled {
        attrs.enabled_shared_volume = Some(v);
    }
    if attrs.enabled_shared_volume == Some(true) {
        if attrs.shared_volume_capacity.is_none() {
            return Err(Error::invalid(
                "data.sharedVolumeCapacity",
                "is required when enabledSharedVolume is true",
            ));
        }
        attrs.home_symlink = Some(true);
        if !was_enabled && launch_group_only.is_none() {
            attrs.launch_group_only = Some(true);
        }
    }
    let (enabled_deployment, max_deploy, deadline) = deploy;
    if let Some(v) = enabled_deployment {
        attrs.enabled_deployment = Some(v);
    }
    if let Some(v) = max_deploy {
        let n = non_negative("data.maxDeploy", v)?;
        attrs.max_deploy = Some(u32::try_from(n).unwrap_or(u32::MAX));
    }
    if let Some(v) = deadline {
        attrs.job_default_active_deadline_seconds =
            Some(non_negative("data.jobDefaultActiveDeadlineSeconds", v)?);
    }
    if let Some(v) = admins {
        attrs.admins = v
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
    }
    Ok(())
}

/// The user queries.
#[derive(Default)]
pub struct GroupQuery;

fn group_list(snap: &Arc<Snapshot>, where_: Option<&GroupWhereInput>) -> Result<Vec<Group>> {
    let everyone = snap.everyone_group_id().map(str::to_owned);
    let all: Vec<Group> = snap
        .groups()
        .iter()
        .filter(|g| Some(&g.group.id) != everyone.as_ref())
        .map(|g| Group {
            snap: snap.clone(),
            id: g.group.id.clone(),
            effective: None,
            writable: None,
        })
        .collect();
    let mut filtered = list::filter(all, where_json(where_)?.as_ref(), &[]);
    if let Some(search) = where_.and_then(|w| w.search.as_deref()) {
        filtered.retain(|g| {
            let attrs = g.attrs();
            g.group_name().contains(search)
                || attrs
                    .display_name
                    .as_deref()
                    .is_some_and(|d| d.contains(search))
        });
    }
    Ok(filtered)
}

fn ordered(mut groups: Vec<Group>, order_by: Option<&GroupOrderByInput>) -> Result<Vec<Group>> {
    let order = where_json(order_by)?;
    list::order(&mut groups, &order.unwrap_or_default())?;
    Ok(groups)
}

/// Whether `caller` may read group `id`: administrators, the shared-secret client, the group's
/// admins and its members.
pub(crate) fn may_read_group(snap: &Snapshot, caller: &Caller, id: &str) -> bool {
    match caller {
        Caller::Admin(_) | Caller::Client => true,
        Caller::User(identity) => {
            snap.user_group_ids(&identity.user_id)
                .iter()
                .any(|g| g == id)
                || snap
                    .group(id)
                    .is_some_and(|g| g.attributes.is_admin(&identity.username))
        }
    }
}

/// Keeps the groups `caller` may read ([`may_read_group`]): a user reaching groups through
/// another object (an instance type's, image's or dataset's `groups`, a co-member's `groups`)
/// sees only the groups they are a member or an admin of; administrators and the shared-secret
/// client see all.
pub(crate) fn retain_readable<T>(
    ctx: &Context<'_>,
    snap: &Snapshot,
    items: &mut Vec<T>,
    id: impl Fn(&T) -> &str,
) {
    match caller(ctx) {
        Ok(c) if c.is_admin() || c.is_client() => {}
        Ok(c) => items.retain(|item| may_read_group(snap, c, id(item))),
        Err(_) => items.clear(),
    }
}

#[Object]
impl GroupQuery {
    /// One group: administrators, the shared-secret client, the group's admins and members.
    #[graphql(guard = "Allow::Authenticated")]
    async fn group(
        &self,
        ctx: &Context<'_>,
        r#where: GroupWhereUniqueInput,
    ) -> async_graphql::Result<Option<Group>> {
        let snap = snapshot(ctx);
        if !may_read_group(&snap, caller(ctx)?, &r#where.id) {
            // Not revealing whether the group exists.
            return Err(denied().into());
        }
        Ok(Group::find(&snap, &r#where.id))
    }

    /// Groups, `everyone` left out (administrators and the shared-secret client).
    #[graphql(guard = "Allow::AdminOrClient")]
    #[allow(clippy::too_many_arguments)]
    async fn groups(
        &self,
        ctx: &Context<'_>,
        r#where: Option<GroupWhereInput>,
        page: Option<i32>,
        order_by: Option<GroupOrderByInput>,
        before: Option<String>,
        after: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> async_graphql::Result<Vec<Option<Group>>> {
        let groups = ordered(
            group_list(&snapshot(ctx), r#where.as_ref())?,
            order_by.as_ref(),
        )?;
        let paged = list::paginate(groups, &page_args(page, before, after, first, last));
        Ok(paged.items.into_iter().map(Some).collect())
    }

    /// Groups as a connection (administrators and the shared-secret client).
    #[graphql(guard = "Allow::AdminOrClient")]
    #[allow(clippy::too_many_arguments)]
    async fn groups_connection(
        &self,
        ctx: &Context<'_>,
        r#where: Option<GroupWhereInput>,
        page: Option<i32>,
        order_by: Option<GroupOrderByInput>,
        before: Option<String>,
        after: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> async_graphql::Result<GroupConnection> {
        let groups = ordered(
            group_list(&snapshot(ctx), r#where.as_ref())?,
            order_by.as_ref(),
        )?;
        let paged = list::paginate(groups, &page_args(page, before, after, first, last));
        Ok(GroupConnection::new(
            paged.items.into_iter().map(|g| (g.id.clone(), g)).collect(),
            paged.page_info,
        ))
    }
}

/// The group mutations.
#[derive(Default)]
pub struct GroupMutation;

pub(crate) fn user_ids(
    snap: &Snapshot,
    field: &str,
    items: Option<&Vec<super::user::UserWhereUniqueInput>>,
) -> Result<Vec<String>> {
    super::common::existing_ids(
        field,
        "user",
        items.into_iter().flatten().map(|item| &item.id),
        |id| snap.user(id).is_some(),
    )
}

fn group_conflict() -> Error {
    Error::Conflict {
        code: ErrorCode::GroupConflictName,
        message: "Group exists with same name".into(),
    }
}

async fn create_group(ctx: &Context<'_>, data: GroupCreateInput) -> Result<Group> {
    let state = state(ctx);
    let snap = state.keycloak.snapshot();
    primehub_model::names::validate_group_name("data.name", &data.name)?;
    let path = primehub_model::names::group_path(&data.name);
    if snap
        .groups()
        .iter()
        .any(|g| primehub_model::names::group_path(&g.group.name) == path)
    {
        return Err(group_conflict());
    }
    let mut attrs = GroupAttributes::default();
    apply_common(
        &mut attrs,
        data.display_name.as_ref(),
        data.quota_cpu,
        data.quota_gpu,
        data.quota_memory,
        data.user_volume_capacity,
        data.project_quota_cpu,
        data.project_quota_gpu,
        data.project_quota_memory,
        (
            data.enabled_shared_volume,
            data.shared_volume_capacity,
            data.home_symlink,
            data.launch_group_only,
        ),
        (
            data.enabled_deployment,
            data.max_deploy,
            data.job_default_active_deadline_seconds,
        ),
        data.admins.as_ref(),
    )?;
    let members = user_ids(
        &snap,
        "data.users.connect",
        data.users.as_ref().and_then(|u| u.connect.as_ref()),
    )?;
    let claim = primehub_model::names::project_pvc_name(&data.name);
    if attrs.enabled_shared_volume == Some(true) && state.stores.pvc(&claim).is_some() {
        return Err(Error::Conflict {
            code: ErrorCode::ResourceConflict,
            message: format!("PVC {claim} already exist"),
        });
    }

    let id = state
        .admin
        .create_group(&NewGroup {
            name: data.name.clone(),
            attributes: attrs.to_map(),
        })
        .await
        .map_err(|e| match e.conflict_field() {
            Some(ConflictField::GroupName) => group_conflict(),
            _ => Error::Keycloak(e),
        })?;
    // The claim and the members; when one fails the group goes again, with what was made.
    let mut undo = Undo::new();
    undo.group_created(&id);
    let rest = async {
        if attrs.enabled_shared_volume == Some(true)
            && let Some(capacity) = attrs.shared_volume_capacity
        {
            crate::resources::create_group_volume(state, &data.name, capacity).await?;
            undo.claim_created(&primehub_model::names::project_pvc_name(&data.name));
        }
        for user in &members {
            state.admin.add_member(&id, user).await?;
        }
        Ok::<(), Error>(())
    }
    .await;
    if let Err(error) = rest {
        tracing::warn!(group = %data.name, error = %error, "createGroup failed after creating the group: rolling back");
        undo.undo(state).await;
        return Err(error);
    }
    Group::find(&state.keycloak.snapshot(), &id).ok_or(Error::NotFound {
        kind: "group",
        name: id,
    })
}

/// A group admin (not a system administrator) may change their group's display name, members,
/// admins and MLflow settings, but not the limits an administrator set: quotas, volume sizes,
/// the shared volume, deployments and the job deadline (PrimeHub lets a group admin change
/// every attribute, raising their own quotas included). Sending an unchanged value is fine.
fn limits_unchanged(before: &GroupAttributes, after: &GroupAttributes) -> Result<()> {
    let changed = [
        ("data.quotaCpu", before.quota_cpu != after.quota_cpu),
        ("data.quotaGpu", before.quota_gpu != after.quota_gpu),
        (
            "data.quotaMemory",
            before.quota_memory != after.quota_memory,
        ),
        (
            "data.projectQuotaCpu",
            before.project_quota_cpu != after.project_quota_cpu,
        ),
        (
            "data.projectQuotaGpu",
            before.project_quota_gpu != after.project_quota_gpu,
        ),
        (
            "data.projectQuotaMemory",
            before.project_quota_memory != after.project_quota_memory,
        ),
        (
            "data.userVolumeCapacity",
            before.user_volume_capacity != after.user_volume_capacity,
        ),
        (
            "data.enabledSharedVolume",
            before.enabled_shared_volume != after.enabled_shared_volume,
        ),
        (
            "data.sharedVolumeCapacity",
            before.shared_volume_capacity != after.shared_volume_capacity,
        ),
        (
            "data.enabledDeployment",
            before.enabled_deployment != after.enabled_deployment,
        ),
        ("data.maxDeploy", before.max_deploy != after.max_deploy),
        (
            "data.jobDefaultActiveDeadlineSeconds",
            before.job_default_active_deadline_seconds != after.job_default_active_deadline_seconds,
        ),
    ];
    match changed.iter().find(|(_, changed)| *changed) {
        Some((field, _)) => Err(Error::NotAuth(format!(
            "{}: {field} can be changed only by a system administrator",
            crate::guard::NOT_PERMITTED
        ))),
        None => Ok(()),
    }
}

async fn update_group(ctx: &Context<'_>, id: &str, data: GroupUpdateInput) -> Result<Group> {
    let state = state(ctx);
    let snap = state.keycloak.snapshot();
    let caller = caller(ctx).map_err(|_| denied())?;
    let current = snap.group(id).ok_or_else(|| Error::NotFound {
        kind: "group",
        name: id.to_owned(),
    })?;
    let mut attrs = GroupAttributes::read(&current.group.attributes).value;
    let is_group_admin = caller
        .identity()
        .is_some_and(|i| attrs.is_admin(&i.username));
    if !(caller.is_admin() || is_group_admin)
        || Some(id) == snap.everyone_group_id() && !caller.is_admin()
    {
        return Err(denied());
    }
    if let Some(name) = data.name.as_deref()
        && name != current.group.name
    {
        return Err(Error::invalid("data.name", "cannot be changed"));
    }
    let had_volume = attrs.enabled_shared_volume == Some(true);
    let before = attrs.clone();
    apply_common(
        &mut attrs,
        data.display_name.as_ref(),
        data.quota_cpu,
        data.quota_gpu,
        data.quota_memory,
        data.user_volume_capacity,
        data.project_quota_cpu,
        data.project_quota_gpu,
        data.project_quota_memory,
        (
            data.enabled_shared_volume,
            data.shared_volume_capacity,
            data.home_symlink,
            data.launch_group_only,
        ),
        (
            data.enabled_deployment,
            data.max_deploy,
            data.job_default_active_deadline_seconds,
        ),
        data.admins.as_ref(),
    )?;
    if !caller.is_admin() {
        limits_unchanged(&before, &attrs)?;
    }
    if let Some(v) = &data.tracking_uri {
        attrs.mlflow_tracking_uri = Some(v.clone());
    }
    if let Some(v) = &data.ui_url {
        attrs.mlflow_ui_url = Some(v.clone());
    }
    if let Some(v) = &data.tracking_envs {
        attrs.mlflow_tracking_envs = env_entries("data.trackingEnvs", v)?;
    }
    if let Some(v) = &data.artifact_envs {
        attrs.mlflow_artifact_envs = env_entries("data.artifactEnvs", v)?;
    }
    let connect = user_ids(
        &snap,
        "data.users.connect",
        data.users.as_ref().and_then(|u| u.connect.as_ref()),
    )?;
    let disconnect = user_ids(
        &snap,
        "data.users.disconnect",
        data.users.as_ref().and_then(|u| u.disconnect.as_ref()),
    )?;
    let mut map = current.group.attributes.clone();
    attrs.write_to(&mut map);
    let mut undo = Undo::new();
    let steps = async {
        undo.set_group_attributes(state, id, map, current.group.attributes.clone())
            .await?;
        if !had_volume
            && attrs.enabled_shared_volume == Some(true)
            && let Some(capacity) = attrs.shared_volume_capacity
        {
            // Only a claim this request made is deleted on undo (an existing
            // `project-<group>` is kept, as PrimeHub keeps it).
            match crate::resources::create_group_volume(state, &current.group.name, capacity).await
            {
                Ok(()) => undo.claim_created(&primehub_model::names::project_pvc_name(
                    &current.group.name,
                )),
                Err(Error::Conflict { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        let members = snap.members(id);
        for user in connect.iter().filter(|u| !members.contains(u)) {
            undo.set_member(state, id, user, true).await?;
        }
        for user in disconnect.iter().filter(|u| members.contains(u)) {
            undo.set_member(state, id, user, false).await?;
        }
        Ok(())
    }
    .await;
    if let Err(e) = steps {
        undo.undo(state).await;
        return Err(e);
    }
    Group::find(&state.keycloak.snapshot(), id).ok_or_else(|| Error::NotFound {
        kind: "group",
        name: id.to_owned(),
    })
}

#[Object]
impl GroupMutation {
    /// Creates a group with its attributes, shared volume and members; rolls back on failure.
    #[graphql(guard = "Allow::Admin")]
    async fn create_group(
        &self,
        ctx: &Context<'_>,
        data: GroupCreateInput,
    ) -> async_graphql::Result<Group> {
        Ok(create_group(ctx, data).await?)
    }

    /// Updates a group: system administrators, or the group's admins.
    #[graphql(guard = "Allow::AdminOrUser")]
    async fn update_group(
        &self,
        ctx: &Context<'_>,
        data: GroupUpdateInput,
        r#where: GroupWhereUniqueInput,
    ) -> async_graphql::Result<Option<Group>> {
        Ok(Some(update_group(ctx, &r#where.id, data).await?))
    }

    /// Deletes a group and its shared volume's claim.
    #[graphql(guard = "Allow::Admin")]
    async fn delete_group(
        &self,
        ctx: &Context<'_>,
        r#where: GroupWhereUniqueInput,
    ) -> async_graphql::Result<Option<Group>> {
        let state = state(ctx);
        let snap = state.keycloak.snapshot();
        if Some(r#where.id.as_str()) == snap.everyone_group_id() {
            return Err(Error::invalid("where.id", "the everyone group cannot be deleted").into());
        }
        let group = Group::find(&snap, &r#where.id).ok_or_else(|| Error::NotFound {
            kind: "group",
            name: r#where.id.to_string(),
        })?;
        state
            .admin
            .delete_group(&r#where.id)
            .await
            .map_err(|e: KeycloakError| Error::from(e))?;
        crate::resources::delete_group_volume(state, &group.group_name()).await;
        Ok(Some(group))
    }
}
