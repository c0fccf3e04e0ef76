//! The notebook pod: PrimeHub's parts of a JupyterHub single-user server pod, built as
//! PrimeHub's hub spawner builds them (InfuseAI/primehub
//! `chart/scripts/jupyterhub/config/jupyterhub_profiles.py`: `PrimeHubSpawner.options_from_form`,
//! `instance_type_to_override`, `image_to_override`, and `OIDCAuthenticator.pre_spawn_start`,
//! `mount_dataset`, `attach_auditing_annotations`, `attach_usage_annoations`,
//! `mutate_pod_spec_for_kernel_gateway`; reference `primehub-controllers.md` §5).
//!
//! JupyterHub's KubeSpawner builds the pod; PrimeHub only sets spawner traits. So the output is
//! [`NotebookParts`]: PrimeHub's share, which a hub merges into KubeSpawner's own pod (KubeSpawner
//! keeps its pod name, its labels and the `JUPYTERHUB_*` environment), and the home PVC.
//! [`NotebookParts::to_pod`] assembles a whole pod from the parts and KubeSpawner's share, for
//! tests and `primehub dev`.
//!
//! # What goes in
//!
//! [`NotebookPodInput`]: the user (name, `volumeCapacity`, time zone), the system's
//! `defaultUserVolumeCapacity`, every group of the user with its realm roles and attributes (as
//! the job path takes them, [`UserGroup`]), the launch choice (group, its id, instance type,
//! image, [`NotebookOptions`]), the resources that exist, and KubeSpawner's names for the pod
//! and the home volume ([`KubeSpawnerNames`]). [`NotebookPodConfig`] holds the operator's
//! settings (`grantSudo`, PHFS, the start-notebook ConfigMap, the kernel-gateway and SSH
//! features, KubeSpawner's default image).
//!
//! # Rules
//!
//! [`resolve_notebook`] finds what the launch uses, with the job path's resolution
//! ([`super::granted_instance_type_and_image`], [`crate::binding`]) and its messages:
//!
//! * the launch group must be one of the user's groups (`Group not found: <name>`) and not
//!   `everyone` (the hub's form never offers it);
//! * the instance type and the image must be bound to the launch group or to `everyone`
//!   (`InstanceType not found: <name>`, `Image not found: <name>`);
//! * a dataset is mounted when the user holds `ds:<name>` or `ds:rw:<name>` through any group
//!   and it is global, or bound to the launch group, or not `launchGroupOnly`; it is writable
//!   when the launch group holds `ds:rw:<name>`, or it is global and `everyone` does
//!   ([`crate::binding::dataset_mount`]). Datasets come in name order.
//!
//! [`build_notebook_parts`] then builds, in the hub's order:
//!
//! * **resources** from the instance type ([`InstanceTypeResources`]: exact quantities, GPUs of
//!   any vendor, requests only above 0); **node selector** and **tolerations** from it too;
//! * **image**: `urlForGpu` (falling back to `url`) when the instance type has a GPU, else
//!   `url`; `pullSecret` becomes `imagePullSecrets`;
//! * **volumes and mounts**: the home volume (KubeSpawner's `volume-<user>` of claim
//!   `claim-<user>`) at `/home/jovyan`; `start-notebook-d` (the start-notebook ConfigMap) at
//!   `/usr/local/bin/start-notebook.d` when configured; the datasets in place
//!   ([`DatasetLayout::notebook`]: `<mountRoot>/<name>`, `readOnly` unless writable, git
//!   datasets at `/gitsync/<name>` with a link, env datasets as variables); the group shared
//!   volumes ([`add_notebook_group_volumes`]: `project-<g>` at `/project/<g>` for the launch
//!   group and for groups not `launchGroupOnly`, `sharedVolumeCapacity` required); PHFS when
//!   enabled; `primehub-start-notebook` (mode 0777) at `/opt/primehub-start-notebook`;
//! * **environment**: `TZ` (the user's, `UTC` when unknown), `GROUP_ID`, `GROUP_NAME`,
//!   `INSTANCE_TYPE`, `IMAGE_NAME`, `GRANT_SUDO` (`yes`/`no`); `NVIDIA_VISIBLE_DEVICES=none`
//!   without a GPU (unless the kernel gateway runs the code); `PRIMEHUB_START_SSH=true` with SSH;
//!   the env datasets' variables; `CHOWN_EXTRA` (writable dataset mounts, group volumes,
//!   `/phfs`, `/home/jovyan`, joined with `,`); the kernel gateway's variables; `R2D_ENTRYPOINT`
//!   in safe mode;
//! * **lifecycle**: `postStart` `bash -c` of the links (first `ln -sf /datasets /home/jovyan/`),
//!   `preStop` `bash -c` of `chown -R 1000:100 /home/jovyan/.local/share/jupyter || true`;
//! * **command**: KubeSpawner's `cmd` becomes `/opt/primehub-start-notebook/primehub-entrypoint.sh`
//!   followed by KubeSpawner's own arguments;
//! * **labels**: `primehub.io/user` and `primehub.io/group` (escaped), `project=<group>`,
//!   `ssh-bastion-server/notebook=true` with SSH;
//! * **annotations**: `auditing.launch_id`, `auditing.pod_name`, `auditing.user_name`,
//!   `auditing.launch_group_name`, `auditing.instance_type`, `auditing.image`,
//!   `auditing.cpu_limit`, `auditing.mem_limit`, `auditing.gpu_limit`, and `primehub.io/usage`
//!   (`{"component": "notebook", "component_name": <pod>, "group": …, "user": …,
//!   "instance_type": …}`, Python's `json.dumps` text);
//! * **init containers**: the sentinel [`ADMISSION_SENTINEL`] (after the kernel gateway's
//!   `chown` container);
//! * **kernel gateway** (option, when the feature is on): the user's image and the instance
//!   type's resources move to an extra container `kernel` (root, the same mounts and lifecycle,
//!   `/opt/primehub-start-notebook/kernel_gateway.sh`); the notebook container runs
//!   KubeSpawner's default image without resources; `shareProcessNamespace: true`;
//! * **safe mode** (option): the home volume is mounted at `/home/jovyan/user` instead;
//! * **restart policy** `OnFailure` (the hub's `extra_pod_config`);
//! * **home PVC**: `<volumeCapacity or defaultUserVolumeCapacity or 20>Gi`, `ReadWriteOnce`.
//!
//! ```
//! use primehub_model::attributes::GroupAttributes;
//! use primehub_model::binding::Catalog;
//! use primehub_model::crd::{image::Image, instance_type::InstanceType};
//! use primehub_model::pod::job::UserGroup;
//! use primehub_model::pod::notebook::{
//!     build_notebook_parts, KubeSpawnerNames, KubeSpawnerPod, NotebookOptions,
//!     NotebookPodConfig, NotebookPodInput, NotebookUser,
//! };
//! use primehub_model::quota::pod_request;
//! use primehub_model::roles::RoleNaming;
//! use serde_json::json;
//!
//! let it: InstanceType = serde_json::from_value(json!({
//!     "apiVersion": "primehub.io/v1alpha1", "kind": "InstanceType", "metadata": {"name": "cpu-1"},
//!     "spec": {"limits.cpu": 1, "limits.memory": "2G"}}))?;
//! let image: Image = serde_json::from_value(json!({
//!     "metadata": {"name": "base-notebook"}, "spec": {"url": "jupyter/base-notebook"}}))?;
//! let global_roles = vec!["it:cpu-1".to_owned(), "img:base-notebook".to_owned()];
//! let attrs = GroupAttributes::default();
//! let groups = [
//!     UserGroup { name: "everyone", roles: &global_roles, attributes: &attrs },
//!     UserGroup { name: "phusers", roles: &[], attributes: &attrs },
//! ];
//! let names = KubeSpawnerNames::default_for("alice");
//! let input = NotebookPodInput {
//!     user: NotebookUser { name: "alice", volume_capacity: None, time_zone: None },
//!     default_user_volume_capacity: None,
//!     groups: &groups,
//!     launch_group: "phusers",
//!     launch_group_id: "g-1",
//!     instance_type: "cpu-1",
//!     image: "base-notebook",
//!     options: NotebookOptions::default(),
//!     naming: &RoleNaming::default(),
//!     resources: &Catalog { images: std::slice::from_ref(&image),
//!                           instance_types: std::slice::from_ref(&it), datasets: &[] },
//!     spawner: &names,
//!     launch_id: "0f3c",
//! };
//! let parts = build_notebook_parts(&input, &NotebookPodConfig::default())?;
//! assert_eq!(parts.image, "jupyter/base-notebook");
//! assert_eq!(parts.labels["primehub.io/group"], "escaped-phusers");
//! assert_eq!(parts.storage_capacity, "20Gi");
//! let env: Vec<_> = parts.env.iter().map(|e| e.name.as_str()).collect();
//! assert!(env.contains(&"NVIDIA_VISIBLE_DEVICES"));
//!
//! // The whole pod, as KubeSpawner would make it; the webhook counts the instance type.
//! let pod = parts.to_pod(&KubeSpawnerPod { name: &names.pod_name, namespace: "hub",
//!                                          ..KubeSpawnerPod::default() });
//! assert_eq!(pod_request(pod.spec.as_ref().expect("spec"))?.memory.bytes(), 2 << 30);
//!
//! // An image the group may not use is the job path's error.
//! let err = build_notebook_parts(&NotebookPodInput { image: "tf", ..input },
//!                                &NotebookPodConfig::default());
//! assert_eq!(err.unwrap_err().to_string(), "Image not found: tf");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Where we differ from PrimeHub, deliberately
//!
//! * **Exact, vendor-neutral resources.** The hub read `limits.nvidia.com/gpu` only and handed
//!   floats and `"2G"` strings to KubeSpawner; here the instance type's resources are
//!   [`InstanceTypeResources`], the same as job pods (GPUs of any vendor, binary memory
//!   `2G` → `2Gi`, requests only above 0). `NVIDIA_VISIBLE_DEVICES=none` and the GPU image
//!   follow the GPU count of any vendor. Under the kernel gateway the hub wrote the raw
//!   `limits.memory` text on the `kernel` container (`"2G"`, which Kubernetes reads as 2·10⁹
//!   bytes) and `requests` of `0`; the `kernel` container here carries the same exact
//!   resources as a notebook container would.
//! * **Auditing limits.** `auditing.cpu_limit` (Python's float text, `1.0`, `0.5`),
//!   `auditing.mem_limit` (bytes) and `auditing.gpu_limit` (the GPU count of any vendor) are the
//!   instance type's, also under the kernel gateway (where the hub wrote `None`, `None` and `0`).
//! * **The launch id** (`auditing.launch_id`, a random UUID hex in the hub) is an input, so the
//!   builder stays pure.
//! * **Options of a disabled feature** (SSH, kernel gateway) are an error naming the option; the
//!   hub's form never posted them, and it silently ignored them.
//! * **Datasets in name order** (the hub listed the Dataset resources, also by name) and
//!   env-dataset keys in name order (the hub kept the resource's key order); a `null` variable is
//!   skipped; a `pv` dataset without `volumeName` uses the claim `dataset-<name>` (the hub
//!   failed the spawn).
//! * **Fresh environment per launch.** The hub updated one environment dictionary kept on the
//!   spawner, so `NVIDIA_VISIBLE_DEVICES=none` from a CPU launch stayed on a later GPU launch of
//!   the same server; here each launch starts from nothing.
//! * **PHFS** is mounted only when its claim name is set, as for jobs.
//! * **An image without a usable URL** is an error, as for jobs.
//! * **Not built**: the legacy group-volume convention (`SUPPORT_OLD_GROUP_VOLUME_CONVENTION`,
//!   groups named `Project-…`, deprecated since PrimeHub 1.6), and KubeSpawner's own settings
//!   (affinities, `fsGid`, the pod name itself).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{
    Container, EnvVar, Lifecycle, LocalObjectReference, PersistentVolumeClaim,
    PersistentVolumeClaimSpec, PersistentVolumeClaimVolumeSource, Pod, PodSpec, SecurityContext,
    Toleration, Volume, VolumeMount, VolumeResourceRequirements,
};
use k8s_openapi::api::core::v1::{ContainerPort, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};

use crate::attributes::{Capacity, DEFAULT_USER_VOLUME_CAPACITY};
use crate::binding::{EVERYONE, GroupGrants, dataset_mount};
use crate::crd::image::Image;
use crate::crd::instance_type::InstanceType;
use crate::error::{Error, Result};
use crate::names;
use crate::quantity::{Cpu, Gpu};
use crate::roles::RoleNaming;

use super::job::UserGroup;
use super::parts::{
    ANNOTATION_USAGE, DatasetLayout, DatasetMount, GroupVolume, ImageChoice, PodParts,
    add_datasets, add_notebook_group_volumes, add_notebook_phfs, sentinel_init_container,
    shell_hook,
};
use super::{
    ADMISSION_SENTINEL, InstanceTypeResources, ResourceObjects, granted_instance_type_and_image,
    not_found,
};

/// The notebook user's home directory.
pub const NOTEBOOK_HOME: &str = "/home/jovyan";
/// Where safe mode mounts the home volume instead.
pub const SAFE_MODE_HOME: &str = "/home/jovyan/user";
/// The ConfigMap (and volume) of PrimeHub's notebook start scripts.
pub const START_NOTEBOOK_SCRIPTS: &str = "primehub-start-notebook";
/// Where the start scripts are mounted.
pub const START_NOTEBOOK_SCRIPTS_PATH: &str = "/opt/primehub-start-notebook";
/// The command every notebook runs, followed by KubeSpawner's arguments.
pub const NOTEBOOK_ENTRYPOINT: &str = "/opt/primehub-start-notebook/primehub-entrypoint.sh";
/// The command of the kernel gateway's `kernel` container.
pub const KERNEL_GATEWAY_COMMAND: &str = "/opt/primehub-start-notebook/kernel_gateway.sh";
/// `R2D_ENTRYPOINT` in safe mode (repo2docker images start through it).
pub const SAFE_MODE_R2D_ENTRYPOINT: &str =
    "/opt/primehub-start-notebook/primehub-start-notebook.sh";
/// The volume of the optional start-notebook ConfigMap ([`NotebookPodConfig::start_notebook_config_map`]).
pub const START_NOTEBOOK_D: &str = "start-notebook-d";
/// Where that ConfigMap is mounted.
pub const START_NOTEBOOK_D_PATH: &str = "/usr/local/bin/start-notebook.d";
/// KubeSpawner's name of the notebook container.
pub const NOTEBOOK_CONTAINER: &str = "notebook";
/// The kernel gateway's container running the user's code.
pub const KERNEL_CONTAINER: &str = "kernel";
/// The kernel gateway's init container fixing the home directory's owner.
pub const KERNEL_GATEWAY_CHOWN_CONTAINER: &str = "chown";
/// The image of that init container.
pub const KERNEL_GATEWAY_CHOWN_IMAGE: &str = "busybox";
/// Label `project`: the raw launch group name.
pub const LABEL_PROJECT: &str = "project";
/// Label marking a notebook the SSH bastion serves.
pub const LABEL_SSH_BASTION: &str = "ssh-bastion-server/notebook";
/// The first `postStart` command: the datasets directory linked into the home directory.
pub const DATASETS_HOME_LINK: &str = "ln -sf /datasets /home/jovyan/";
/// The `preStop` command: Jupyter's runtime files handed back to the notebook user.
pub const PRE_STOP_CHOWN: &str = "chown -R 1000:100 /home/jovyan/.local/share/jupyter || true";
/// `TZ` when the user's time zone is unknown.
pub const DEFAULT_TIME_ZONE: &str = "UTC";
/// The hub's pod restart policy (`extra_pod_config`).
pub const NOTEBOOK_RESTART_POLICY: &str = "OnFailure";
/// KubeSpawner's notebook port (the pod's `notebook-port`).
pub const NOTEBOOK_PORT: i32 = 8888;

/// The auditing annotations, in the hub's order.
pub mod auditing {
    /// A random id of this launch.
    pub const LAUNCH_ID: &str = "auditing.launch_id";
    /// KubeSpawner's pod name.
    pub const POD_NAME: &str = "auditing.pod_name";
    /// The user name.
    pub const USER_NAME: &str = "auditing.user_name";
    /// The raw launch group name.
    pub const LAUNCH_GROUP_NAME: &str = "auditing.launch_group_name";
    /// The instance type name.
    pub const INSTANCE_TYPE: &str = "auditing.instance_type";
    /// The image URL run.
    pub const IMAGE: &str = "auditing.image";
    /// The CPU limit in cores, as Python prints a float (`1.0`, `0.5`).
    pub const CPU_LIMIT: &str = "auditing.cpu_limit";
    /// The memory limit in bytes.
    pub const MEM_LIMIT: &str = "auditing.mem_limit";
    /// The GPU count.
    pub const GPU_LIMIT: &str = "auditing.gpu_limit";
}

/// The operator's settings for notebook pods (PrimeHub's `jupyterhub.primehub.*` chart values),
/// with PrimeHub's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotebookPodConfig {
    /// `grantSudo` (default true): `GRANT_SUDO=yes`, else `no`.
    pub grant_sudo: bool,
    /// `phfsEnabled` (default false).
    pub phfs_enabled: bool,
    /// `phfsPVC`: PHFS is mounted only when enabled and this is not empty.
    pub phfs_pvc: String,
    /// `startNotebookConfigMap`: a ConfigMap mounted at `/usr/local/bin/start-notebook.d`.
    pub start_notebook_config_map: Option<String>,
    /// `kernelGateway` (default off): the kernel-gateway option may be chosen.
    pub kernel_gateway_enabled: bool,
    /// `sshServer.enabled` (default off): the SSH option may be chosen.
    pub ssh_server_enabled: bool,
    /// KubeSpawner's default image (`singleuser.image`): the notebook container's image when the
    /// kernel gateway runs the user's image in `kernel`. Needed only for that option.
    pub default_image: String,
    /// The home PVC's storage class (KubeSpawner's `storage_class`); `None` for the cluster's
    /// default.
    pub home_storage_class: Option<String>,
}

impl Default for NotebookPodConfig {
    fn default() -> Self {
        NotebookPodConfig {
            grant_sudo: true,
            phfs_enabled: false,
            phfs_pvc: String::new(),
            start_notebook_config_map: None,
            kernel_gateway_enabled: false,
            ssh_server_enabled: false,
            default_image: String::new(),
            home_storage_class: None,
        }
    }
}

/// The options of the hub's form (`safe_mode`, `ssh_server`, `kernel_gateway`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotebookOptions {
    /// Mount the home volume at `/home/jovyan/user` (rescue a broken home).
    #[serde(default)]
    pub safe_mode: bool,
    /// Start an SSH server for the bastion (needs [`NotebookPodConfig::ssh_server_enabled`]).
    #[serde(default)]
    pub ssh_server: bool,
    /// Run the user's code in a `kernel` container behind a kernel gateway (needs
    /// [`NotebookPodConfig::kernel_gateway_enabled`]).
    #[serde(default)]
    pub kernel_gateway: bool,
}

/// KubeSpawner's names for a user's server: they stay KubeSpawner's, PrimeHub's parts only refer
/// to them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KubeSpawnerNames {
    /// The pod name (`auditing.pod_name`, the usage record's `component_name`).
    pub pod_name: String,
    /// The home volume's name in the pod.
    pub home_volume: String,
    /// The home PVC's name.
    pub home_claim: String,
}

impl KubeSpawnerNames {
    /// KubeSpawner's defaults for the default server of `username`: `jupyter-<u>`, `volume-<u>`
    /// and `claim-<u>`, where `<u>` is the name escaped as KubeSpawner escapes it
    /// ([`names::escape_to_dns_label`]).
    pub fn default_for(username: &str) -> KubeSpawnerNames {
        let escaped = names::escape_to_dns_label(username);
        KubeSpawnerNames {
            pod_name: format!("jupyter-{escaped}"),
            home_volume: format!("volume-{escaped}"),
            home_claim: names::home_pvc_name(username),
        }
    }
}

/// The user launching the notebook.
#[derive(Debug, Clone, Copy)]
pub struct NotebookUser<'a> {
    /// The user name as Keycloak has it.
    pub name: &'a str,
    /// The user's `volumeCapacity`; unset or 0 falls back to the system default.
    pub volume_capacity: Option<Capacity>,
    /// The user's time zone (the `timezone` claim of the user's token, as the hub reads it);
    /// `None` or empty means `UTC`.
    pub time_zone: Option<&'a str>,
}

/// Everything a notebook's parts are built from, besides the operator's [`NotebookPodConfig`].
#[derive(Clone, Copy)]
pub struct NotebookPodInput<'a> {
    /// The user.
    pub user: NotebookUser<'a>,
    /// The system's `defaultUserVolumeCapacity`; unset or 0 means 20 GB.
    pub default_user_volume_capacity: Option<Capacity>,
    /// Every group of the user (`everyone` included when the user is in it), in the launch
    /// context's order: shared volumes are mounted in this order.
    pub groups: &'a [UserGroup<'a>],
    /// The launch group's name.
    pub launch_group: &'a str,
    /// The launch group's id (`GROUP_ID`).
    pub launch_group_id: &'a str,
    /// The instance type's name.
    pub instance_type: &'a str,
    /// The image's name.
    pub image: &'a str,
    /// The form's options.
    pub options: NotebookOptions,
    /// The role prefix of this cluster.
    pub naming: &'a RoleNaming,
    /// The images, instance types and datasets that exist.
    pub resources: &'a dyn ResourceObjects,
    /// KubeSpawner's names for this server.
    pub spawner: &'a KubeSpawnerNames,
    /// This launch's id (`auditing.launch_id`; the hub used a random UUID's hex).
    pub launch_id: &'a str,
}

impl std::fmt::Debug for NotebookPodInput<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotebookPodInput")
            .field("user", &self.user)
            .field("groups", &self.groups)
            .field("launch_group", &self.launch_group)
            .field("instance_type", &self.instance_type)
            .field("image", &self.image)
            .field("options", &self.options)
            .field("spawner", &self.spawner)
            .finish_non_exhaustive()
    }
}

/// What a notebook launch uses, found among the user's groups.
#[derive(Debug, Clone)]
pub struct ResolvedNotebook<'a> {
    /// The instance type.
    pub instance_type: &'a InstanceType,
    /// The image.
    pub image: &'a Image,
    /// The datasets to mount, in name order.
    pub datasets: Vec<DatasetMount<'a>>,
}

/// Finds the instance type, image and datasets of a notebook launch (see the
/// [module docs](self) for the rules). Errors: the launch group is `everyone`
/// ([`Error::InvalidField`]) or not one of the user's (`Group not found: <name>`); the instance
/// type or image is not bound to the launch group or to `everyone` (`InstanceType not found:
/// <name>`, `Image not found: <name>`, [`Error::NotFound`]).
pub fn resolve_notebook<'a>(input: &NotebookPodInput<'a>) -> Result<ResolvedNotebook<'a>> {
    let launch_group = input.launch_group;
    if launch_group == EVERYONE {
        return Err(Error::InvalidField {
            field: "group".to_owned(),
            rule: "cannot launch with the everyone group; choose one of the user's groups"
                .to_owned(),
        });
    }
    let grants: Vec<(&str, GroupGrants)> = input
        .groups
        .iter()
        .map(|g| (g.name, GroupGrants::parse(g.roles, input.naming)))
        .collect();
    let own = grants
        .iter()
        .find(|(name, _)| *name == launch_group)
        .map(|(_, g)| g)
        .ok_or_else(|| not_found("group", format!("Group not found: {launch_group}")))?;
    let no_grants = GroupGrants::default();
    let global = grants
        .iter()
        .find(|(name, _)| *name == EVERYONE)
        .map_or(&no_grants, |(_, g)| g);
    let resources = input.resources;
    let (instance_type, image) = granted_instance_type_and_image(
        own,
        global,
        resources,
        (input.instance_type, "instance_type"),
        (input.image, "image"),
    )?;
    let held: BTreeSet<&str> = grants.iter().flat_map(|(_, g)| g.datasets()).collect();
    let datasets = held
        .into_iter()
        .filter_map(|name| {
            let dataset = resources.dataset(name)?;
            let (_, writable) = dataset_mount(name, dataset.launch_group_only(), own, global)?;
            Some(DatasetMount { dataset, writable })
        })
        .collect();
    Ok(ResolvedNotebook {
        instance_type,
        image,
        datasets,
    })
}

/// PrimeHub's parts of a notebook pod, for a hub to merge into KubeSpawner's pod, and the home
/// PVC. Serialises as camelCase JSON with Kubernetes' own JSON for the embedded objects.
///
/// Every value is final: a hub handing a value to a KubeSpawner trait that expands
/// `{username}`-style templates (`extra_annotations`, `extra_labels`, `environment`, volumes…)
/// must escape `{` and `}` first (the usage annotation is JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotebookParts {
    /// The launch group (the hub remembers it in the spawner's state, `launch_group`).
    pub launch_group: String,
    /// The notebook container's image (KubeSpawner's `image`).
    pub image: String,
    /// `imagePullSecrets` (KubeSpawner's `image_pull_secrets`).
    pub image_pull_secrets: Vec<LocalObjectReference>,
    /// KubeSpawner's `cmd`: KubeSpawner's own arguments follow it.
    pub cmd: Vec<String>,
    /// The notebook container's resources (empty with the kernel gateway, whose `kernel`
    /// container carries them).
    pub resources: ResourceRequirements,
    /// The pod's volumes, the home volume first (KubeSpawner's `volumes`).
    pub volumes: Vec<Volume>,
    /// The notebook container's mounts (KubeSpawner's `volume_mounts`).
    pub volume_mounts: Vec<VolumeMount>,
    /// The notebook container's environment, in the hub's order (KubeSpawner's `environment`;
    /// KubeSpawner adds its `JUPYTERHUB_*` variables).
    pub env: Vec<EnvVar>,
    /// The notebook container's `postStart` and `preStop` hooks (KubeSpawner's
    /// `lifecycle_hooks`).
    pub lifecycle: Lifecycle,
    /// Labels to add to KubeSpawner's (`extra_labels`).
    pub labels: BTreeMap<String, String>,
    /// Annotations (`extra_annotations`).
    pub annotations: BTreeMap<String, String>,
    /// Init containers, the sentinel last (`init_containers`).
    pub init_containers: Vec<Container>,
    /// Extra containers (`extra_containers`): `kernel` with the kernel gateway.
    pub extra_containers: Vec<Container>,
    /// The instance type's node selector (`node_selector`).
    pub node_selector: BTreeMap<String, String>,
    /// The instance type's tolerations (`tolerations`).
    pub tolerations: Vec<Toleration>,
    /// `shareProcessNamespace` (`extra_pod_config`; on with the kernel gateway).
    pub share_process_namespace: bool,
    /// `restartPolicy` (`extra_pod_config`): `OnFailure`.
    pub restart_policy: String,
    /// The home volume's size, `<N>Gi` (KubeSpawner's `storage_capacity`).
    pub storage_capacity: String,
    /// The home PVC (KubeSpawner's `pvc_name`, `storage_capacity`, `storage_class`,
    /// `storage_access_modes`).
    pub home_pvc: PersistentVolumeClaim,
}

/// KubeSpawner's share of the pod, for [`NotebookParts::to_pod`].
#[derive(Debug, Clone, Copy, Default)]
pub struct KubeSpawnerPod<'a> {
    /// The pod's name.
    pub name: &'a str,
    /// The pod's namespace.
    pub namespace: &'a str,
    /// KubeSpawner's arguments (after [`NotebookParts::cmd`]).
    pub args: &'a [String],
    /// KubeSpawner's environment (`JUPYTERHUB_*`), before PrimeHub's.
    pub env: &'a [EnvVar],
    /// KubeSpawner's labels; PrimeHub's are added over them.
    pub labels: Option<&'a BTreeMap<String, String>>,
}

fn check_options(options: &NotebookOptions, config: &NotebookPodConfig) -> Result<()> {
    let refuse = |field: &str, feature: &str| Error::InvalidField {
        field: field.to_owned(),
        rule: format!("this PrimeHub does not offer {feature} ({field} must be off)"),
    };
    if options.ssh_server && !config.ssh_server_enabled {
        return Err(refuse("ssh_server", "the SSH server"));
    }
    if options.kernel_gateway && !config.kernel_gateway_enabled {
        return Err(refuse("kernel_gateway", "the kernel gateway"));
    }
    if options.kernel_gateway && config.default_image.is_empty() {
        return Err(Error::InvalidField {
            field: "default_image".to_owned(),
            rule: "the kernel gateway needs KubeSpawner's default image for the notebook container"
                .to_owned(),
        });
    }
    Ok(())
}

fn check_names(names: &KubeSpawnerNames) -> Result<()> {
    for (field, value) in [
        ("pod_name", &names.pod_name),
        ("home_volume", &names.home_volume),
        ("home_claim", &names.home_claim),
    ] {
        if value.is_empty() {
            return Err(Error::InvalidField {
                field: field.to_owned(),
                rule: "KubeSpawner's name must not be empty".to_owned(),
            });
        }
    }
    Ok(())
}

/// The home volume's size: the user's `volumeCapacity`, else the system's
/// `defaultUserVolumeCapacity`, else 20 GB; a 0 counts as unset, as the hub's truth tests made
/// it.
pub fn notebook_volume_capacity(
    user: Option<Capacity>,
    system_default: Option<Capacity>,
) -> Capacity {
    let set = |c: Option<Capacity>| c.filter(|c| c.gigabytes > 0);
    set(user)
        .or(set(system_default))
        .unwrap_or(DEFAULT_USER_VOLUME_CAPACITY)
}

/// Python's `repr` of a float number of cores equal to `cpu`: `1.0`, `0.5`, `1.25`.
pub fn python_cores_text(cpu: Cpu) -> String {
    if cpu.millis().is_multiple_of(1000) {
        format!("{}.0", cpu.millis() / 1000)
    } else {
        cpu.to_cores_string()
    }
}

/// `s` as Python's `json.dumps` writes a string (`ensure_ascii`): `"` and `\` escaped, `\n`,
/// `\r`, `\t`, `\b`, `\f` as such, every other character outside ` `..`~` as `\uXXXX`
/// (lowercase hex, UTF-16 surrogate pairs above U+FFFF).
fn push_python_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            other => {
                let mut units = [0u16; 2];
                for unit in other.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}

/// The value of `primehub.io/usage` on a notebook pod: Python's `json.dumps` of
/// `{component, component_name, group, user, instance_type}` in that order (`", "` and `": "`
/// separators, non-ASCII escaped).
pub fn notebook_usage_annotation(
    pod_name: &str,
    group: &str,
    user: &str,
    instance_type: &str,
) -> String {
    let mut out = String::from("{");
    for (i, (key, value)) in [
        ("component", "notebook"),
        ("component_name", pod_name),
        ("group", group),
        ("user", user),
        ("instance_type", instance_type),
    ]
    .into_iter()
    .enumerate()
    {
        if i > 0 {
            out.push_str(", ");
        }
        push_python_json_string(&mut out, key);
        out.push_str(": ");
        push_python_json_string(&mut out, value);
    }
    out.push('}');
    out
}

fn env_var(name: &str, value: &str) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value: Some(value.to_owned()),
        value_from: None,
    }
}

fn as_root() -> SecurityContext {
    SecurityContext {
        run_as_user: Some(0),
        ..SecurityContext::default()
    }
}

/// Builds PrimeHub's parts of the notebook pod and the home PVC ([`resolve_notebook`], then the
/// [module docs](self)' rules). Errors: those of [`resolve_notebook`]; a group with an enabled
/// shared volume but no `shared-volume-capacity`; an option whose feature is off; the kernel
/// gateway without [`NotebookPodConfig::default_image`]; an empty KubeSpawner name; an invalid
/// instance type or an image without URL.
pub fn build_notebook_parts(
    input: &NotebookPodInput<'_>,
    config: &NotebookPodConfig,
) -> Result<NotebookParts> {
    let options = input.options;
    check_options(&options, config)?;
    check_names(input.spawner)?;
    let resolved = resolve_notebook(input)?;
    let resources = InstanceTypeResources::from_instance_type(resolved.instance_type)?;
    let image = ImageChoice::for_gpu(resolved.image, resources.gpu())?;
    let capacity = notebook_volume_capacity(
        input.user.volume_capacity,
        input.default_user_volume_capacity,
    );
    let user = input.user.name;
    let group = input.launch_group;
    let spawner = input.spawner;

    let mut parts = PodParts::new();
    // KubeSpawner's home volume (z2jh's dynamic storage) comes first.
    parts.mount(
        Volume {
            name: spawner.home_volume.clone(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: spawner.home_claim.clone(),
                read_only: None,
            }),
            ..Volume::default()
        },
        VolumeMount {
            name: spawner.home_volume.clone(),
            mount_path: NOTEBOOK_HOME.to_owned(),
            ..VolumeMount::default()
        },
    );

    let time_zone = input
        .user
        .time_zone
        .filter(|tz| !tz.is_empty())
        .unwrap_or(DEFAULT_TIME_ZONE);
    parts.set_env("TZ", time_zone);
    parts.set_env("GROUP_ID", input.launch_group_id);
    parts.set_env("GROUP_NAME", group);
    parts.set_env("INSTANCE_TYPE", input.instance_type);
    parts.set_env("IMAGE_NAME", input.image);
    parts.set_env("GRANT_SUDO", if config.grant_sudo { "yes" } else { "no" });
    let no_gpu = resources.gpu() == Gpu::ZERO;
    if no_gpu && !options.kernel_gateway {
        parts.set_env("NVIDIA_VISIBLE_DEVICES", "none");
    }
    if options.ssh_server {
        parts.set_env("PRIMEHUB_START_SSH", "true");
    }
    if let Some(config_map) = config
        .start_notebook_config_map
        .as_deref()
        .filter(|c| !c.is_empty())
    {
        parts.mount(
            Volume {
                name: START_NOTEBOOK_D.to_owned(),
                config_map: Some(k8s_openapi::api::core::v1::ConfigMapVolumeSource {
                    name: config_map.to_owned(),
                    ..Default::default()
                }),
                ..Volume::default()
            },
            VolumeMount {
                name: START_NOTEBOOK_D.to_owned(),
                mount_path: START_NOTEBOOK_D_PATH.to_owned(),
                ..VolumeMount::default()
            },
        );
    }

    parts.symlinks.push(DATASETS_HOME_LINK.to_owned());
    add_datasets(
        &mut parts,
        &resolved.datasets,
        &DatasetLayout::notebook(NOTEBOOK_HOME),
        NOTEBOOK_HOME,
    )?;
    let group_volumes: Vec<GroupVolume<'_>> = input
        .groups
        .iter()
        .map(|g| GroupVolume {
            name: g.name,
            attributes: g.attributes,
        })
        .collect();
    add_notebook_group_volumes(&mut parts, &group_volumes, group, NOTEBOOK_HOME)?;
    if config.phfs_enabled {
        add_notebook_phfs(&mut parts, &config.phfs_pvc, group, NOTEBOOK_HOME);
    }
    parts.chown_extra.push(NOTEBOOK_HOME.to_owned());
    let chown_extra = parts.chown_extra.join(",");
    parts.set_env("CHOWN_EXTRA", &chown_extra);
    let lifecycle = Lifecycle {
        post_start: Some(shell_hook("bash", &parts.symlinks)),
        pre_stop: Some(shell_hook("bash", &[PRE_STOP_CHOWN.to_owned()])),
        ..Lifecycle::default()
    };

    let mut labels = names::primehub_labels(user, group);
    labels.insert(LABEL_PROJECT.to_owned(), group.to_owned());
    if options.ssh_server {
        labels.insert(LABEL_SSH_BASTION.to_owned(), "true".to_owned());
    }
    let limits = resources.limits();
    let annotations = BTreeMap::from([
        (auditing::LAUNCH_ID.to_owned(), input.launch_id.to_owned()),
        (auditing::POD_NAME.to_owned(), spawner.pod_name.clone()),
        (auditing::USER_NAME.to_owned(), user.to_owned()),
        (auditing::LAUNCH_GROUP_NAME.to_owned(), group.to_owned()),
        (
            auditing::INSTANCE_TYPE.to_owned(),
            input.instance_type.to_owned(),
        ),
        (auditing::IMAGE.to_owned(), image.url.clone()),
        (
            auditing::CPU_LIMIT.to_owned(),
            python_cores_text(limits.cpu),
        ),
        (
            auditing::MEM_LIMIT.to_owned(),
            limits.memory.bytes().to_string(),
        ),
        (auditing::GPU_LIMIT.to_owned(), resources.gpu().to_string()),
        (
            ANNOTATION_USAGE.to_owned(),
            notebook_usage_annotation(&spawner.pod_name, group, user, input.instance_type),
        ),
    ]);

    parts.mount_config_map(
        START_NOTEBOOK_SCRIPTS,
        START_NOTEBOOK_SCRIPTS,
        0o777,
        START_NOTEBOOK_SCRIPTS_PATH,
    );

    let mut init_containers = Vec::new();
    let mut notebook_image = image.url.clone();
    let mut notebook_resources = resources.requirements();
    let mut kernel_env = Vec::new();
    if options.kernel_gateway {
        init_containers.push(Container {
            name: KERNEL_GATEWAY_CHOWN_CONTAINER.to_owned(),
            image: Some(KERNEL_GATEWAY_CHOWN_IMAGE.to_owned()),
            image_pull_policy: Some("IfNotPresent".to_owned()),
            security_context: Some(as_root()),
            volume_mounts: Some(vec![VolumeMount {
                name: spawner.home_volume.clone(),
                mount_path: NOTEBOOK_HOME.to_owned(),
                ..VolumeMount::default()
            }]),
            command: Some(vec!["sh".to_owned()]),
            args: Some(vec!["-c".to_owned(), "chown 1000 /home/jovyan".to_owned()]),
            ..Container::default()
        });
        notebook_image.clone_from(&config.default_image);
        notebook_resources = ResourceRequirements::default();
        kernel_env.push(env_var("JUPYTER_GATEWAY_ENV_WHITELIST", "HOME"));
        kernel_env.push(env_var("HOME", NOTEBOOK_HOME));
        if no_gpu {
            kernel_env.push(env_var("NVIDIA_VISIBLE_DEVICES", "none"));
        }
        parts.set_env("JUPYTER_GATEWAY_URL", "http://127.0.0.1:8889");
        parts.set_env("JUPYTER_GATEWAY_VALIDATE_CERT", "no");
        parts.set_env("LOG_LEVEL", "DEBUG");
        parts.set_env("JUPYTER_GATEWAY_REQUEST_TIMEOUT", "40");
        parts.set_env("JUPYTER_GATEWAY_CONNECT_TIMEOUT", "40");
        parts.set_env("KERNEL_IMAGE", &image.url);
    }
    if options.safe_mode {
        for mount in &mut parts.volume_mounts {
            if mount.mount_path == NOTEBOOK_HOME {
                SAFE_MODE_HOME.clone_into(&mut mount.mount_path);
            }
        }
        parts.set_env("R2D_ENTRYPOINT", SAFE_MODE_R2D_ENTRYPOINT);
    }
    let mut extra_containers = Vec::new();
    if options.kernel_gateway {
        extra_containers.push(Container {
            name: KERNEL_CONTAINER.to_owned(),
            image: Some(image.url.clone()),
            image_pull_policy: Some("IfNotPresent".to_owned()),
            security_context: Some(as_root()),
            volume_mounts: Some(parts.volume_mounts.clone()),
            lifecycle: Some(lifecycle.clone()),
            env: Some(kernel_env),
            command: Some(vec![KERNEL_GATEWAY_COMMAND.to_owned()]),
            resources: Some(resources.requirements()),
            ..Container::default()
        });
    }
    init_containers.push(sentinel_init_container());

    let placement = resources.placement();
    let storage_capacity = capacity.to_pvc_quantity();
    let home_pvc = PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(spawner.home_claim.clone()),
            ..ObjectMeta::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".to_owned()]),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([(
                    "storage".to_owned(),
                    K8sQuantity(storage_capacity.clone()),
                )])),
                ..VolumeResourceRequirements::default()
            }),
            storage_class_name: config.home_storage_class.clone(),
            ..PersistentVolumeClaimSpec::default()
        }),
        status: None,
    };
    Ok(NotebookParts {
        launch_group: group.to_owned(),
        image: notebook_image,
        image_pull_secrets: image.image_pull_secrets().unwrap_or_default(),
        cmd: vec![NOTEBOOK_ENTRYPOINT.to_owned()],
        resources: notebook_resources,
        volumes: parts.volumes,
        volume_mounts: parts.volume_mounts,
        env: parts.env,
        lifecycle,
        labels,
        annotations,
        init_containers,
        extra_containers,
        node_selector: placement.node_selector.clone(),
        tolerations: placement.tolerations.clone(),
        share_process_namespace: options.kernel_gateway,
        restart_policy: NOTEBOOK_RESTART_POLICY.to_owned(),
        storage_capacity,
        home_pvc,
    })
}

impl NotebookParts {
    /// A whole pod from these parts and KubeSpawner's share, merged as the hub merges them: the
    /// container `notebook` (KubeSpawner's port 8888 `notebook-port`, `IfNotPresent`) runs
    /// [`cmd`](Self::cmd) then KubeSpawner's arguments, with KubeSpawner's environment first and
    /// PrimeHub's set over it; PrimeHub's labels are set over KubeSpawner's; the extra
    /// containers follow `notebook`. The home PVC is [`home_pvc`](Self::home_pvc).
    pub fn to_pod(&self, spawner: &KubeSpawnerPod<'_>) -> Pod {
        let mut env = PodParts {
            env: spawner.env.to_vec(),
            ..PodParts::default()
        };
        for var in &self.env {
            match &var.value {
                Some(value) if var.value_from.is_none() => env.set_env(&var.name, value),
                _ => env.env.push(var.clone()),
            }
        }
        let mut labels = spawner.labels.cloned().unwrap_or_default();
        labels.extend(self.labels.clone());
        let resources = &self.resources;
        let has_resources = resources.limits.as_ref().is_some_and(|l| !l.is_empty())
            || resources.requests.as_ref().is_some_and(|r| !r.is_empty());
        let notebook = Container {
            name: NOTEBOOK_CONTAINER.to_owned(),
            image: Some(self.image.clone()),
            image_pull_policy: Some("IfNotPresent".to_owned()),
            command: Some(
                self.cmd
                    .iter()
                    .chain(spawner.args.iter())
                    .cloned()
                    .collect(),
            ),
            env: Some(env.env),
            ports: Some(vec![ContainerPort {
                name: Some("notebook-port".to_owned()),
                container_port: NOTEBOOK_PORT,
                ..ContainerPort::default()
            }]),
            resources: has_resources.then(|| resources.clone()),
            volume_mounts: Some(self.volume_mounts.clone()),
            lifecycle: Some(self.lifecycle.clone()),
            ..Container::default()
        };
        let mut containers = vec![notebook];
        containers.extend(self.extra_containers.iter().cloned());
        Pod {
            metadata: ObjectMeta {
                name: Some(spawner.name.to_owned()),
                namespace: Some(spawner.namespace.to_owned()).filter(|n| !n.is_empty()),
                labels: Some(labels),
                annotations: Some(self.annotations.clone()),
                ..ObjectMeta::default()
            },
            spec: Some(PodSpec {
                containers,
                init_containers: Some(self.init_containers.clone()),
                volumes: Some(self.volumes.clone()),
                image_pull_secrets: Some(self.image_pull_secrets.clone()).filter(|s| !s.is_empty()),
                node_selector: Some(self.node_selector.clone()).filter(|s| !s.is_empty()),
                tolerations: Some(self.tolerations.clone()).filter(|t| !t.is_empty()),
                restart_policy: Some(self.restart_policy.clone()),
                share_process_namespace: self.share_process_namespace.then_some(true),
                ..PodSpec::default()
            }),
            status: None,
        }
    }

    /// Whether the sentinel init container ([`ADMISSION_SENTINEL`]) is still in the parts.
    pub fn has_sentinel(&self) -> bool {
        self.init_containers
            .iter()
            .any(|c| c.name == ADMISSION_SENTINEL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_cores_text_is_float_repr() {
        for (millis, text) in [
            (1000, "1.0"),
            (500, "0.5"),
            (1250, "1.25"),
            (1, "0.001"),
            (100, "0.1"),
            (0, "0.0"),
        ] {
            assert_eq!(python_cores_text(Cpu::from_millis(millis)), text);
        }
    }

    #[test]
    fn usage_annotation_is_python_json_dumps() {
        assert_eq!(
            notebook_usage_annotation("jupyter-alice", "phusers", "alice", "cpu-1"),
            r#"{"component": "notebook", "component_name": "jupyter-alice", "group": "phusers", "user": "alice", "instance_type": "cpu-1"}"#
        );
        assert_eq!(
            notebook_usage_annotation("p", "g\"\\\n\u{7f}", "é😀<", "t\u{1}"),
            r#"{"component": "notebook", "component_name": "p", "group": "g\"\\\n\u007f", "user": "\u00e9\ud83d\ude00<", "instance_type": "t\u0001"}"#
        );
    }

    #[test]
    fn volume_capacity_zero_counts_as_unset() {
        let c = |n| Some(Capacity::new(n));
        assert_eq!(notebook_volume_capacity(c(5), c(10)), Capacity::new(5));
        assert_eq!(notebook_volume_capacity(c(0), c(10)), Capacity::new(10));
        assert_eq!(notebook_volume_capacity(None, c(0)), Capacity::new(20));
        assert_eq!(notebook_volume_capacity(None, None), Capacity::new(20));
    }
}
