//! The flags, checked and resolved (the secret read from its file) before anything is
//! contacted. Every error names the flag and its environment variable.

use std::net::SocketAddr;
use std::time::Duration;

use primehub_service::settings::ConnectionSettings;

use primehub_model::pod::job::JobPodConfig;
use primehub_reconcile::runtime::jobs::JobControllersConfig;
use primehub_reconcile::runtime::leader::LeaseConfig;

use crate::cli::{Args, DatasetArgs, GroupVolumeArgs, JobArgs};
use primehub_model::dataset_children::gitsync::GitSyncConfig;
use primehub_model::dataset_children::upload_server::UploadServerConfig;
use primehub_model::group_volume::NfsServerConfig;
use primehub_reconcile::runtime::dataset_children::DatasetChildrenConfig;
use primehub_reconcile::runtime::group_volume::GroupVolumeConfig;

/// What the process does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Run the watcher until SIGTERM.
    Watch,
    /// Sweep the orphan roles once and exit.
    Prune {
        /// Only report.
        dry_run: bool,
        /// How long a role's resource must stay missing.
        grace: Duration,
    },
}

/// Resolved settings of the controller.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where to serve `/healthz`, `/readyz` and `/metrics` (watch mode).
    pub listen: SocketAddr,
    /// Keycloak, Kubernetes, the client, the namespace and the role prefix.
    pub connection: ConnectionSettings,
    /// How long to retry unreachable backends at start (`None`: forever).
    pub startup_timeout: Option<Duration>,
    /// Watch, or sweep once.
    pub mode: Mode,
    /// The job controllers' configuration; `None` with `--jobs false`.
    pub jobs: Option<JobSettings>,
    /// Leader election; `None` with `--leader-elect false`.
    pub lease: Option<LeaseConfig>,
    /// The Dataset children controllers (each `None` when disabled).
    pub datasets: DatasetChildrenConfig,
    /// The group-volume controller; `None` with `--groupvolume-enabled false`.
    pub group_volume: Option<GroupVolumeConfig>,
}

/// The Dataset children controllers' configuration from their flags.
fn dataset_children(args: &DatasetArgs) -> anyhow::Result<DatasetChildrenConfig> {
    let gitsync = args.gitsync_enabled.then(|| GitSyncConfig {
        image: args.gitsync_daemonset_image.clone(),
        image_pull_policy: args.gitsync_daemonset_image_pull_policy.clone(),
        delay_init: args.gitsync_daemonset_delay_init,
        scripts_checksum: args.gitsync_scripts_checksum.clone(),
    });
    let upload_server = if args.dataset_upload_enabled {
        if args.dataset_upload_replicas < 0 {
            anyhow::bail!(
                "--dataset-upload-replicas (DATASETUPLOAD_INTERFACE_REPLICAS) must be 0 or more"
            );
        }
        let mut config = UploadServerConfig {
            path_prefix: args.primehub_dataset_path.clone(),
            scheme: args.primehub_scheme.clone(),
            domain: args.primehub_domain.clone(),
            replicas: args.dataset_upload_replicas,
            tusd_image: args.tusd_image.clone(),
            front_end_image: args.dataset_upload_web_front_end_image.clone(),
            ..UploadServerConfig::default()
        };
        if let Some(annotations) = json_flag(
            "ingress-annotations",
            "INGRESS_ANNOTATIONS",
            args.ingress_annotations.as_deref(),
        )? {
            config.ingress_annotations = annotations;
        }
        if let Some(tls) = json_flag("ingress-tls", "INGRESS_TLS", args.ingress_tls.as_deref())? {
            config.ingress_tls = tls;
        }
        // Crossed over, as PrimeHub's hook renders them.
        if let Some(r) = resources_flag(
            "dataset-upload-web-front-end-resources",
            "DATASETUPLOAD_INTERFACE_WEBFRONTENDIMAGE_RESOURCES",
            args.dataset_upload_web_front_end_resources.as_deref(),
        )? {
            config.tusd_resources = r;
        }
        if let Some(r) = resources_flag(
            "dataset-upload-tusd-resources",
            "DATASETUPLOAD_INTERFACE_TUSD_RESOURCES",
            args.dataset_upload_tusd_resources.as_deref(),
        )? {
            config.front_end_resources = r;
        }
        Some(config)
    } else {
        None
    };
    Ok(DatasetChildrenConfig {
        gitsync,
        upload_server,
    })
}

/// The group-volume controller's configuration from its flags; `None` when disabled.
fn group_volume(args: &GroupVolumeArgs) -> anyhow::Result<Option<GroupVolumeConfig>> {
    if !args.groupvolume_enabled {
        return Ok(None);
    }
    if !matches!(
        args.groupvolume_nfs_image_pull_policy.as_str(),
        "Always" | "IfNotPresent" | "Never"
    ) {
        anyhow::bail!(
            "--groupvolume-nfs-image-pull-policy (GROUPVOLUME_NFS_IMAGE_PULLPOLICY) must be Always, IfNotPresent or Never"
        );
    }
    if args.groupvolume_nfs_image_repository.is_empty() {
        anyhow::bail!(
            "--groupvolume-nfs-image-repository (GROUPVOLUME_NFS_IMAGE_REPOSITORY) must not be empty"
        );
    }
    let image = if args.groupvolume_nfs_image_tag.is_empty() {
        args.groupvolume_nfs_image_repository.clone()
    } else {
        format!(
            "{}:{}",
            args.groupvolume_nfs_image_repository, args.groupvolume_nfs_image_tag
        )
    };
    Ok(Some(GroupVolumeConfig {
        nfs: NfsServerConfig {
            image,
            image_pull_policy: args.groupvolume_nfs_image_pull_policy.clone(),
            service_account: Some(args.groupvolume_service_account.clone())
                .filter(|s| !s.is_empty()),
        },
        ..GroupVolumeConfig::default()
    }))
}

/// The job controllers' resolved settings.
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// Queue, lifecycle, cleanup and schedule timing.
    pub controllers: JobControllersConfig,
    /// How job pods are built.
    pub pod: JobPodConfig,
}

fn json_flag<T: serde::de::DeserializeOwned>(
    flag: &str,
    env: &str,
    value: Option<&str>,
) -> anyhow::Result<Option<T>> {
    value
        .map(|v| {
            serde_json::from_str(v)
                .map_err(|e| anyhow::anyhow!("--{flag} ({env}) is not the JSON it should be: {e}"))
        })
        .transpose()
}

/// A container's resources from a JSON flag: only `limits` and `requests`, every value a
/// Kubernetes quantity (checked here, so a typo stops the start instead of every upload
/// server's Deployment being refused later).
fn resources_flag(
    flag: &str,
    env: &str,
    value: Option<&str>,
) -> anyhow::Result<Option<k8s_openapi::api::core::v1::ResourceRequirements>> {
    let Some(map) = json_flag::<
        std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
    >(flag, env, value)?
    else {
        return Ok(None);
    };
    let mut out = k8s_openapi::api::core::v1::ResourceRequirements::default();
    for (section, quantities) in map {
        let mut checked = std::collections::BTreeMap::new();
        for (resource, quantity) in quantities {
            primehub_model::quantity::Quantity::parse(
                &format!("--{flag} ({env}) {section}.{resource}"),
                &quantity,
            )?;
            checked.insert(
                resource,
                k8s_openapi::apimachinery::pkg::api::resource::Quantity(quantity),
            );
        }
        match section.as_str() {
            "limits" => out.limits = Some(checked),
            "requests" => out.requests = Some(checked),
            other => anyhow::bail!(
                "--{flag} ({env}): {other:?} is not a section of container resources (limits, requests)"
            ),
        }
    }
    Ok(Some(out))
}

fn identity(given: Option<&str>) -> String {
    let base = given
        .map(str::to_owned)
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "primehub-controller".to_owned());
    format!("{base}_{}", uuid::Uuid::new_v4().simple())
}

impl JobSettings {
    fn resolve(args: &JobArgs) -> anyhow::Result<JobSettings> {
        primehub_model::quantity::Memory::parse(
            "--job-working-dir-size",
            &args.job_working_dir_size,
        )
        .map_err(|e| {
            anyhow::anyhow!("--job-working-dir-size (JOBSUBMISSION_WORKINGDIRSIZE): {e}")
        })?;
        if args.job_default_active_deadline_seconds < 0 {
            anyhow::bail!(
                "--job-default-active-deadline-seconds (JOBSUBMISSION_DEFAULTACTIVEDEADLINESECONDS) must be 0 (no limit) or more"
            );
        }
        if args.job_default_ttl_seconds_after_finished < 0 {
            anyhow::bail!(
                "--job-default-ttl-seconds-after-finished (JOBSUBMISSION_DEFAULTTTLSECONDSAFTERFINISHED) must be 0 (keep pods) or more"
            );
        }
        let mut pod = JobPodConfig {
            working_dir_size: args.job_working_dir_size.clone(),
            phfs_enabled: args.phfs_enabled,
            phfs_pvc: args.phfs_pvc.clone(),
            ..JobPodConfig::default()
        };
        if let Some(selector) = json_flag(
            "job-node-selector",
            "JOBSUBMISSION_NODESELECTOR",
            args.job_node_selector.as_deref(),
        )? {
            pod.node_selector = selector;
        }
        if let Some(tolerations) = json_flag(
            "job-tolerations",
            "JOBSUBMISSION_TOLERATIONS",
            args.job_tolerations.as_deref(),
        )? {
            pod.tolerations = tolerations;
        }
        let mut controllers = JobControllersConfig {
            job_ttl_seconds: args.job_ttl_seconds,
            job_limit: args.job_limit,
            ..JobControllersConfig::default()
        };
        controllers.lifecycle.default_active_deadline_seconds =
            args.job_default_active_deadline_seconds;
        controllers.lifecycle.default_ttl_seconds_after_finished =
            args.job_default_ttl_seconds_after_finished;
        Ok(JobSettings { controllers, pod })
    }
}

impl Settings {
    /// Checks the flags and reads the secret file.
    ///
    /// # Errors
    ///
    /// A message naming the flag (and its environment variable) and what is wrong.
    pub fn resolve(args: &Args) -> anyhow::Result<Settings> {
        let mode = if args.prune_orphan_roles {
            Mode::Prune {
                dry_run: args.dry_run,
                grace: Duration::from_secs(args.prune_grace),
            }
        } else {
            Mode::Watch
        };
        let connection = ConnectionSettings::resolve(&args.connection)?;
        Ok(Settings {
            listen: args.listen,
            startup_timeout: args.process.startup_timeout(),
            mode,
            jobs: if args.jobs.jobs {
                Some(JobSettings::resolve(&args.jobs)?)
            } else {
                None
            },
            lease: if args.jobs.leader_elect {
                if args.jobs.lease_duration < 3 {
                    anyhow::bail!(
                        "--lease-duration (PRIMEHUB_CONTROLLER_LEASE_DURATION) must be at least 3 seconds"
                    );
                }
                let mut lease = LeaseConfig::new(
                    connection.namespace.clone(),
                    identity(args.jobs.identity.as_deref()),
                );
                lease.name = args.jobs.lease_name.clone();
                lease.lease_duration = Duration::from_secs(args.jobs.lease_duration);
                lease.retry_period = Duration::from_secs((args.jobs.lease_duration / 5).max(1));
                Some(lease)
            } else {
                None
            },
            datasets: dataset_children(&args.datasets)?,
            group_volume: group_volume(&args.group_volume)?,
            connection,
        })
    }
}
