//! The pod of a PhJob, built as PrimeHub's job controller builds it
//! (InfuseAI/primehub-controller `ee/controllers/phjob_controller.go` `buildPod`, with
//! `pkg/graphql/spawn.go` `NewSpawnerForJob`; reference `primehub-controllers.md` §4.4).
//!
//! [`resolve_job`] finds what the job uses among the user's groups (the launch group, or
//! `everyone` when `spec.groupName` is empty; the instance type and image bound to the launch
//! group or to `everyone`; the datasets bound to either, writable when either binding is);
//! [`build_job_pod`] builds the pod from that and the operator's [`JobPodConfig`]. See the
//! [parent module](super) for the pod's shape and the differences from PrimeHub.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{
    Affinity, Container, EnvVar, EnvVarSource, ObjectFieldSelector, Pod, PodSecurityContext,
    PodSpec, Toleration, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use crate::attributes::GroupAttributes;
use crate::binding::{EVERYONE, GroupGrants, dataset_mount};
use crate::crd::API_VERSION;
use crate::crd::dataset::DEFAULT_GIT_SYNC_HOST_ROOT;
use crate::crd::image::Image;
use crate::crd::instance_type::InstanceType;
use crate::crd::job::PhJob;
use crate::error::{Error, Result};
use crate::names;
use crate::quantity::Quantity;
use crate::roles::RoleNaming;

pub use super::ResourceObjects;
use super::parts::{
    ANNOTATION_USAGE, DatasetLayout, DatasetMount, GroupVolume, ImageChoice, PodParts, Usage,
    add_datasets, add_group_volumes, add_phfs, sentinel_init_container,
};
use super::{InstanceTypeResources, PodPlacement, granted_instance_type_and_image, not_found};

/// The job pod's only container.
pub const JOB_CONTAINER: &str = "main";
/// The job's working directory: an emptyDir `workingdir` mounted there.
pub const JOB_WORKING_DIR: &str = "/home/jovyan";
/// The script every job runs, from the scripts ConfigMap mounted at `/scripts`.
pub const JOB_SCRIPT: &str = "/scripts/run-job.sh";
/// What the job script runs before the job's command (the script's single argument is this
/// followed by `spec.command`).
pub const JOB_COMMAND_PREFIX: &str = "sleep 1\n";
/// Label `app` of job pods.
pub const JOB_APP_LABEL: (&str, &str) = ("app", "primehub-job");
/// Default of [`JobPodConfig::scripts_config_map`].
pub const DEFAULT_SCRIPTS_CONFIG_MAP: &str = "primehub-controller-job-scripts";
/// Default of [`JobPodConfig::working_dir_size`] (chart `jobSubmission.workingDirSize`).
pub const DEFAULT_WORKING_DIR_SIZE: &str = "5Gi";
/// Default monitoring-agent image repository (`monitoringAgent.image.repository`).
pub const DEFAULT_MONITORING_AGENT_REPOSITORY: &str = "infuseai/primehub-monitoring-agent";
/// Default monitoring-agent image tag (`monitoringAgent.image.tag`).
pub const DEFAULT_MONITORING_AGENT_TAG: &str = "latest";
/// Default monitoring-agent pull policy (`monitoringAgent.image.pullPolicy`).
pub const DEFAULT_MONITORING_AGENT_PULL_POLICY: &str = "IfNotPresent";

/// Job artifacts (`jobSubmission.artifact.*`): files a job leaves in PHFS are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactConfig {
    /// `enabled` (chart default true). The monitoring agent is attached whenever this is on;
    /// the artifact variables only when PHFS is on too.
    pub enabled: bool,
    /// `limitSizeMb` (chart default 100); 0 or less leaves `PHJOB_ARTIFACT_LIMIT_SIZE_MB` out.
    pub limit_size_mb: i32,
    /// `limitFiles` (chart default 1000); 0 or less leaves `PHJOB_ARTIFACT_LIMIT_FILES` out.
    pub limit_files: i32,
    /// `retentionSeconds` (chart default 604800, 7 days).
    pub retention_seconds: i32,
}

impl Default for ArtifactConfig {
    fn default() -> Self {
        ArtifactConfig {
            enabled: true,
            limit_size_mb: 100,
            limit_files: 1000,
            retention_seconds: 604_800,
        }
    }
}

/// The monitoring agent's image (`monitoringAgent.image.*`); an empty field means its default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitoringAgentImage {
    /// `repository`.
    pub repository: String,
    /// `tag`.
    pub tag: String,
    /// `pullPolicy`.
    pub pull_policy: String,
}

impl Default for MonitoringAgentImage {
    fn default() -> Self {
        MonitoringAgentImage {
            repository: DEFAULT_MONITORING_AGENT_REPOSITORY.to_owned(),
            tag: DEFAULT_MONITORING_AGENT_TAG.to_owned(),
            pull_policy: DEFAULT_MONITORING_AGENT_PULL_POLICY.to_owned(),
        }
    }
}

/// The operator's settings for job pods (PrimeHub's controller config, `jobSubmission.*` and
/// friends), with PrimeHub's chart defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct JobPodConfig {
    /// `jobSubmission.workingDirSize`: the `sizeLimit` of the working-directory emptyDir, a
    /// Kubernetes quantity written as given (default `5Gi`).
    pub working_dir_size: String,
    /// `phfsEnabled` (default false).
    pub phfs_enabled: bool,
    /// `phfsPVC`: the PHFS claim; PHFS is mounted only when enabled and this is not empty.
    pub phfs_pvc: String,
    /// `jobSubmission.artifact.*`.
    pub artifact: ArtifactConfig,
    /// `monitoringAgent.image.*`.
    pub monitoring_agent: MonitoringAgentImage,
    /// `jobSubmission.nodeSelector`: merged over the instance type's (these keys win).
    pub node_selector: BTreeMap<String, String>,
    /// `jobSubmission.tolerations`: appended after the instance type's.
    pub tolerations: Vec<Toleration>,
    /// `jobSubmission.affinity`: the pod's affinity (`{}` when `None`, as PrimeHub writes).
    pub affinity: Option<Affinity>,
    /// `jobSubmission.grantSudo`: run the pod as root (`runAsUser: 0`) and set
    /// `GRANT_SUDO=true` (default true, the job script's default).
    pub grant_sudo: bool,
    /// The git-sync host directory for git datasets whose spec has no `gitSyncHostRoot`
    /// (default `/home/dataset/`).
    pub git_sync_host_root: String,
    /// The ConfigMap holding `run-job.sh` (default `primehub-controller-job-scripts`).
    pub scripts_config_map: String,
}

impl Default for JobPodConfig {
    fn default() -> Self {
        JobPodConfig {
            working_dir_size: DEFAULT_WORKING_DIR_SIZE.to_owned(),
            phfs_enabled: false,
            phfs_pvc: String::new(),
            artifact: ArtifactConfig::default(),
            monitoring_agent: MonitoringAgentImage::default(),
            node_selector: BTreeMap::new(),
            tolerations: Vec::new(),
            affinity: None,
            grant_sudo: true,
            git_sync_host_root: DEFAULT_GIT_SYNC_HOST_ROOT.to_owned(),
            scripts_config_map: DEFAULT_SCRIPTS_CONFIG_MAP.to_owned(),
        }
    }
}

/// One of the job owner's groups: its name, the realm roles mapped onto it and its attributes.
#[derive(Debug, Clone, Copy)]
pub struct UserGroup<'a> {
    /// The group name (`everyone` for the hidden default group).
    pub name: &'a str,
    /// Names of the realm roles mapped onto the group.
    pub roles: &'a [String],
    /// The group's attributes.
    pub attributes: &'a GroupAttributes,
}

/// Everything a job pod is built from, besides the operator's [`JobPodConfig`].
#[derive(Clone, Copy)]
pub struct JobPodInput<'a> {
    /// The PhJob (it needs `metadata.name` and `metadata.uid` for the owner reference).
    pub job: &'a PhJob,
    /// The user's name as Keycloak has it (`PRIMEHUB_USER`; PrimeHub reads it from GraphQL by
    /// `spec.userId`).
    pub user_name: &'a str,
    /// Every group of the user (`everyone` included when the user is in it), in Keycloak's
    /// order: shared volumes are mounted in this order.
    pub groups: &'a [UserGroup<'a>],
    /// The role prefix of this cluster.
    pub naming: &'a RoleNaming,
    /// The images, instance types and datasets that exist ([`crate::binding::Catalog`] or the caller's
    /// indexed stores).
    pub resources: &'a dyn ResourceObjects,
    /// The system time zone (`TZ`); `None` leaves `TZ` out, as PrimeHub does when it cannot
    /// read it.
    pub time_zone: Option<&'a str>,
}

impl std::fmt::Debug for JobPodInput<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobPodInput")
            .field("job", &self.job.metadata.name)
            .field("user_name", &self.user_name)
            .field("groups", &self.groups)
            .field("naming", &self.naming)
            .field("time_zone", &self.time_zone)
            .finish_non_exhaustive()
    }
}

/// What a job uses, found among the user's groups.
#[derive(Debug, Clone)]
pub struct ResolvedJob<'a> {
    /// The launch group: `spec.groupName`, or `everyone` when it is empty.
    pub launch_group: String,
    /// The instance type.
    pub instance_type: &'a InstanceType,
    /// The image.
    pub image: &'a Image,
    /// The datasets to mount, in name order.
    pub datasets: Vec<DatasetMount<'a>>,
}

/// Finds the launch group, instance type, image and datasets of `input.job` as PrimeHub's job
/// spawner does (`NewSpawnerForJob`):
///
/// * the launch group is `spec.groupName`, `everyone` when empty; it must be one of the user's
///   groups, else `Group not found: <name>`;
/// * the instance type must be bound to the launch group or to `everyone` and exist, else
///   `InstanceType not found: <name>`; the image likewise (`Image not found: <name>`);
/// * a dataset is mounted when it is bound to the launch group or to `everyone` (a dataset's
///   `launchGroupOnly` does not matter to jobs: PrimeHub's latest job spawner never reads it),
///   and writable when either binding is `ds:rw:` ([`dataset_mount`] with the launch-group-only
///   rule).
pub fn resolve_job<'a>(input: &JobPodInput<'a>) -> Result<ResolvedJob<'a>> {
    let spec = &input.job.spec;
    let launch_group = if spec.group_name.is_empty() {
        EVERYONE
    } else {
        spec.group_name.as_str()
    };
    let launch = input
        .groups
        .iter()
        .find(|g| g.name == launch_group)
        .ok_or_else(|| not_found("spec.groupName", format!("Group not found: {launch_group}")))?;
    let own = GroupGrants::parse(launch.roles, input.naming);
    let global = input
        .groups
        .iter()
        .find(|g| g.name == EVERYONE)
        .map(|g| GroupGrants::parse(g.roles, input.naming))
        .unwrap_or_default();
    let resources = input.resources;
    let (instance_type, image) = granted_instance_type_and_image(
        &own,
        &global,
        resources,
        (&spec.instance_type, "spec.instanceType"),
        (&spec.image, "spec.image"),
    )?;

    let names: BTreeSet<&str> = own.datasets().chain(global.datasets()).collect();
    let datasets = names
        .into_iter()
        .filter_map(|name| {
            let dataset = resources.dataset(name)?;
            let (_, writable) = dataset_mount(name, true, &own, &global)?;
            Some(DatasetMount { dataset, writable })
        })
        .collect();
    Ok(ResolvedJob {
        launch_group: launch_group.to_owned(),
        instance_type,
        image,
        datasets,
    })
}

/// Builds the pod of `input.job` ([`resolve_job`], then the pod as the [parent module](super)
/// describes). Errors: PrimeHub's `Group not found`, `InstanceType not found`,
/// `Image not found` ([`Error::NotFound`]); an invalid instance type, an image without URL, an
/// invalid `working_dir_size`, or a PhJob without name or uid ([`Error::InvalidField`],
/// [`Error::InvalidQuantity`]).
pub fn build_job_pod(input: &JobPodInput<'_>, config: &JobPodConfig) -> Result<Pod> {
    let job = input.job;
    let spec = &job.spec;
    let job_name = job
        .metadata
        .name
        .as_deref()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| Error::InvalidField {
            field: "phjobs metadata.name".to_owned(),
            rule: "must be set: the job's pod takes its name".to_owned(),
        })?;
    let uid = job
        .metadata
        .uid
        .as_deref()
        .filter(|u| !u.is_empty())
        .ok_or_else(|| Error::InvalidField {
            field: format!("phjobs/{job_name} metadata.uid"),
            rule: "must be set: the pod's owner reference needs it".to_owned(),
        })?;
    Quantity::parse("jobSubmission.workingDirSize", &config.working_dir_size)?;

    let resolved = resolve_job(input)?;
    let group = resolved.launch_group.as_str();
    let resources = InstanceTypeResources::from_instance_type(resolved.instance_type)?;
    let image = ImageChoice::for_gpu(resolved.image, resources.gpu())?;
    let working_dir = JOB_WORKING_DIR;
    let user_name = spec.user_name.as_deref().unwrap_or_default();

    // The spawner's blocks, in its order.
    let mut parts = PodParts::new();
    let group_volumes: Vec<GroupVolume<'_>> = input
        .groups
        .iter()
        .map(|g| GroupVolume {
            name: g.name,
            attributes: g.attributes,
        })
        .collect();
    add_group_volumes(&mut parts, &group_volumes, group, working_dir);
    if config.phfs_enabled {
        add_phfs(&mut parts, &config.phfs_pvc, group, working_dir);
    }
    parts.mount_empty_dir(
        "workingdir",
        working_dir,
        Some(&config.working_dir_size),
        None,
    );
    add_datasets(
        &mut parts,
        &resolved.datasets,
        &DatasetLayout::job(&config.git_sync_host_root),
        working_dir,
    )?;
    parts.push_env("PRIMEHUB_USER", input.user_name);
    parts.push_env("PRIMEHUB_GROUP", group);
    parts.mount_config_map("scripts", &config.scripts_config_map, 0o777, "/scripts");
    if config.artifact.enabled && config.phfs_enabled {
        add_artifact_env(&mut parts, &config.artifact);
    }
    parts.push_env(
        "GRANT_SUDO",
        if config.grant_sudo { "true" } else { "false" },
    );

    // buildPod's additions.
    let mut init_containers = Vec::new();
    if config.artifact.enabled {
        init_containers.push(attach_monitoring_agent(
            &mut parts,
            &config.monitoring_agent,
        ));
    }
    if let Some(tz) = input.time_zone {
        parts.push_env("TZ", tz);
    }
    parts.push_env("GROUP_ID", &spec.group_id);
    parts.push_env("GROUP_NAME", &spec.group_name);
    parts.push_env("JUPYTERHUB_USER", user_name);
    parts.push_env("INSTANCE_TYPE", &spec.instance_type);
    parts.push_env("IMAGE_NAME", &spec.image);
    parts.mount_empty_dir("dshm", "/dev/shm", None, Some("Memory"));
    init_containers.push(sentinel_init_container());

    let container = Container {
        name: JOB_CONTAINER.to_owned(),
        image: Some(image.url.clone()),
        command: Some(vec![
            JOB_SCRIPT.to_owned(),
            format!("{JOB_COMMAND_PREFIX}{}", spec.command),
        ]),
        working_dir: Some(working_dir.to_owned()),
        volume_mounts: Some(parts.volume_mounts.clone()),
        env: Some(parts.env.clone()),
        resources: Some(resources.requirements()),
        termination_message_policy: Some("FallbackToLogsOnError".to_owned()),
        image_pull_policy: Some("IfNotPresent".to_owned()),
        lifecycle: parts.post_start(),
        ..Container::default()
    };
    let mut pod_spec = PodSpec {
        containers: vec![container],
        init_containers: Some(init_containers),
        volumes: Some(parts.volumes),
        image_pull_secrets: image.image_pull_secrets(),
        security_context: Some(PodSecurityContext {
            run_as_user: config.grant_sudo.then_some(0),
            ..PodSecurityContext::default()
        }),
        affinity: Some(config.affinity.clone().unwrap_or_default()),
        restart_policy: Some("Never".to_owned()),
        ..PodSpec::default()
    };
    resources.placement().apply(&mut pod_spec);
    PodPlacement {
        tolerations: config.tolerations.clone(),
        node_selector: config.node_selector.clone(),
    }
    .apply(&mut pod_spec);

    let mut labels = names::primehub_labels(user_name, &spec.group_name);
    labels.insert(JOB_APP_LABEL.0.to_owned(), JOB_APP_LABEL.1.to_owned());
    let mut annotations = job.metadata.annotations.clone().unwrap_or_default();
    annotations.insert(
        ANNOTATION_USAGE.to_owned(),
        Usage {
            component: "job",
            component_name: job_name,
            instance_type: &spec.instance_type,
            group: &spec.group_name,
            user: user_name,
        }
        .to_annotation_value(),
    );
    Ok(Pod {
        metadata: ObjectMeta {
            name: Some(job_name.to_owned()),
            namespace: job.metadata.namespace.clone(),
            labels: Some(labels),
            annotations: Some(annotations),
            owner_references: Some(vec![OwnerReference {
                api_version: API_VERSION.to_owned(),
                kind: "PhJob".to_owned(),
                name: job_name.to_owned(),
                uid: uid.to_owned(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]),
            ..ObjectMeta::default()
        },
        spec: Some(pod_spec),
        status: None,
    })
}

/// The artifact variables (`applyJobArtifact`): `PHJOB_NAME` from the pod's name,
/// `PHJOB_ARTIFACT_ENABLED=true`, the two limits when above 0, and the retention.
fn add_artifact_env(parts: &mut PodParts, artifact: &ArtifactConfig) {
    parts.env.push(EnvVar {
        name: "PHJOB_NAME".to_owned(),
        value: None,
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                api_version: None,
                field_path: "metadata.name".to_owned(),
            }),
            ..EnvVarSource::default()
        }),
    });
    parts.push_env("PHJOB_ARTIFACT_ENABLED", "true");
    if artifact.limit_size_mb > 0 {
        parts.push_env(
            "PHJOB_ARTIFACT_LIMIT_SIZE_MB",
            &artifact.limit_size_mb.to_string(),
        );
    }
    if artifact.limit_files > 0 {
        parts.push_env(
            "PHJOB_ARTIFACT_LIMIT_FILES",
            &artifact.limit_files.to_string(),
        );
    }
    parts.push_env(
        "PHJOB_ARTIFACT_RETENTION_SECONDS",
        &artifact.retention_seconds.to_string(),
    );
}

/// The monitoring agent (`attachMonitoringAgent`): an emptyDir `monitoring-utils` mounted at
/// `/monitoring-utils`, filled by the init container `copy-monitoring-utils` returned.
fn attach_monitoring_agent(parts: &mut PodParts, agent: &MonitoringAgentImage) -> Container {
    const VOLUME: &str = "monitoring-utils";
    const PATH: &str = "/monitoring-utils";
    let or = |v: &str, default: &str| {
        if v.is_empty() {
            default.to_owned()
        } else {
            v.to_owned()
        }
    };
    parts.mount_empty_dir(VOLUME, PATH, None, None);
    Container {
        name: "copy-monitoring-utils".to_owned(),
        command: Some(vec![
            "cp".to_owned(),
            "/primehub-monitoring-agent".to_owned(),
            PATH.to_owned(),
        ]),
        volume_mounts: Some(vec![VolumeMount {
            name: VOLUME.to_owned(),
            mount_path: PATH.to_owned(),
            ..VolumeMount::default()
        }]),
        image: Some(format!(
            "{}:{}",
            or(&agent.repository, DEFAULT_MONITORING_AGENT_REPOSITORY),
            or(&agent.tag, DEFAULT_MONITORING_AGENT_TAG)
        )),
        image_pull_policy: Some(or(&agent.pull_policy, DEFAULT_MONITORING_AGENT_PULL_POLICY)),
        ..Container::default()
    }
}
