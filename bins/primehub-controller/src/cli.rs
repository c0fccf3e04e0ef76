//! Command-line flags. The Keycloak and Kubernetes connection flags and the process flags are
//! those every PrimeHub service shares ([`primehub_service::cli`]), with PrimeHub's environment
//! variable names (`KC_API_BASEURL`, `KC_REALM`, `KC_CLIENT_ID`, `KC_CLIENT_SECRET`,
//! `K8S_CRD_NAMESPACE`, `KC_ROLE_PREFIX`, as PrimeHub's watcher reads them), so an existing
//! PrimeHub watcher's environment configures this controller unchanged.

use std::net::SocketAddr;

use clap::Parser;
use primehub_reconcile::role_sync::DEFAULT_PRUNE_GRACE;
use primehub_service::cli::{ConnectionArgs, ProcessArgs};

/// PrimeHub's controller on a real Keycloak and a real Kubernetes cluster: Keycloak realm
/// roles follow PrimeHub's images, instance types and datasets (PrimeHub's watcher), and
/// PrimeHub's jobs run — the quota-aware queue, the job pods, cleanup, and cron schedules —
/// and Datasets get their git-sync DaemonSets and upload servers (PrimeHub's metacontroller
/// hooks).
///
/// Serves `/healthz`, `/readyz` (ready once every resource that existed at start has its role)
/// and `/metrics`. With `--prune-orphan-roles` it instead sweeps the roles whose resource is
/// missing once and exits. Replicas elect a leader on a Lease (`--leader-elect`); only the
/// leader runs the controllers.
#[derive(Debug, Clone, Parser)]
#[command(name = "primehub-controller", version, about)]
pub struct Args {
    /// The address to serve `/healthz`, `/readyz` and `/metrics` on.
    #[arg(
        long,
        env = "PRIMEHUB_CONTROLLER_LISTEN",
        default_value = "0.0.0.0:8080"
    )]
    pub listen: SocketAddr,

    /// Keycloak, Kubernetes, the client whose service account writes the roles, the namespace
    /// and the role prefix.
    #[command(flatten)]
    pub connection: ConnectionArgs,

    /// Instead of watching: delete the roles of this install's prefix (`img:`, `it:`, `ds:`,
    /// `ds:rw:`) whose image, instance type or dataset does not exist, print them, and exit.
    /// These are roles the watcher cannot delete because it never saw their resource deleted.
    #[arg(long)]
    pub prune_orphan_roles: bool,

    /// With `--prune-orphan-roles`: only print what would be deleted.
    #[arg(long, requires = "prune_orphan_roles")]
    pub dry_run: bool,

    /// With `--prune-orphan-roles`: how many seconds a role's resource must stay missing
    /// before the role counts as an orphan (the API creates a role just before its resource;
    /// 0 when nothing writes meanwhile).
    #[arg(long, requires = "prune_orphan_roles", default_value_t = DEFAULT_PRUNE_GRACE.as_secs())]
    pub prune_grace: u64,

    /// Job controllers and leader election.
    #[command(flatten)]
    pub jobs: JobArgs,

    /// The Dataset children controllers (git-sync DaemonSets, upload servers).
    #[command(flatten)]
    pub datasets: DatasetArgs,
    /// The group-volume controller (PrimeHub's `groupvolume` chart values).
    #[command(flatten)]
    pub group_volume: GroupVolumeArgs,

    /// Start-up retries and log format.
    #[command(flatten)]
    pub process: ProcessArgs,
}

/// The group-volume controller's settings, named after PrimeHub's chart values
/// (`groupvolume.enabled`, `groupvolume.nfs.image.*`). The storage-class mode
/// (`primehub.sharedVolumeStorageClass`) is the API's setting: its claims carry no
/// `primehub-group` annotation, so this controller has nothing to do for them and can be
/// switched off.
#[derive(Debug, Clone, clap::Args)]
pub struct GroupVolumeArgs {
    /// `groupvolume.enabled`: make an NFS server and a PersistentVolume for every claim
    /// annotated `primehub-group` in the namespace.
    #[arg(long, env = "GROUPVOLUME_ENABLED", default_value_t = true, action = clap::ArgAction::Set)]
    pub groupvolume_enabled: bool,

    /// `groupvolume.nfs.image.repository`: the NFS server image.
    #[arg(
        long,
        env = "GROUPVOLUME_NFS_IMAGE_REPOSITORY",
        default_value = "registry.k8s.io/volume-nfs"
    )]
    pub groupvolume_nfs_image_repository: String,

    /// `groupvolume.nfs.image.tag`.
    #[arg(long, env = "GROUPVOLUME_NFS_IMAGE_TAG", default_value = "0.8")]
    pub groupvolume_nfs_image_tag: String,

    /// `groupvolume.nfs.image.pullPolicy`.
    #[arg(
        long,
        env = "GROUPVOLUME_NFS_IMAGE_PULLPOLICY",
        default_value = "IfNotPresent"
    )]
    pub groupvolume_nfs_image_pull_policy: String,

    /// The NFS servers' service account (PrimeHub's chart creates `primehub-groupvolume`;
    /// empty: the namespace's default).
    #[arg(
        long,
        env = "GROUPVOLUME_SERVICE_ACCOUNT",
        default_value = "primehub-groupvolume"
    )]
    pub groupvolume_service_account: String,
}

/// The job controllers' settings. The environment variables are the keys of PrimeHub's
/// controller configuration as viper reads them from the environment (`jobSubmission.jobLimit`
/// is `JOBSUBMISSION_JOBLIMIT`), so an existing install's settings carry over.
#[derive(Debug, Clone, clap::Args)]
pub struct JobArgs {
    /// Run the job controllers (the queue, job pods, cleanup, schedules) beside the watcher.
    #[arg(long, env = "PRIMEHUB_CONTROLLER_JOBS", default_value_t = true, action = clap::ArgAction::Set)]
    pub jobs: bool,

    /// Elect a leader among replicas on a `coordination.k8s.io` Lease in the namespace; only
    /// the leader runs the watcher and the controllers. Off: this process always leads (run
    /// one replica).
    #[arg(long, env = "PRIMEHUB_CONTROLLER_LEADER_ELECT", default_value_t = true, action = clap::ArgAction::Set)]
    pub leader_elect: bool,

    /// The Lease's name.
    #[arg(
        long,
        env = "PRIMEHUB_CONTROLLER_LEASE_NAME",
        default_value = "primehub-controller"
    )]
    pub lease_name: String,

    /// How long (seconds) a Lease holds without renewal; a stopped leader is replaced after
    /// it at most (at once when it stops gracefully).
    #[arg(long, env = "PRIMEHUB_CONTROLLER_LEASE_DURATION", default_value_t = 15)]
    pub lease_duration: u64,

    /// This replica's identity in the Lease (default: `$POD_NAME`, else the host name, with a
    /// random suffix).
    #[arg(long, env = "POD_NAME")]
    pub identity: Option<String>,

    /// `jobSubmission.workingDirSize`: the size limit of a job's working directory.
    #[arg(long, env = "JOBSUBMISSION_WORKINGDIRSIZE", default_value = "5Gi")]
    pub job_working_dir_size: String,

    /// `jobSubmission.defaultActiveDeadlineSeconds`: a job's running-time limit when neither
    /// the job nor its group sets one.
    #[arg(
        long,
        env = "JOBSUBMISSION_DEFAULTACTIVEDEADLINESECONDS",
        default_value_t = 86_400
    )]
    pub job_default_active_deadline_seconds: i64,

    /// `jobSubmission.defaultTTLSecondsAfterFinished`: how long a finished job keeps its pod.
    #[arg(
        long,
        env = "JOBSUBMISSION_DEFAULTTTLSECONDSAFTERFINISHED",
        default_value_t = 604_800
    )]
    pub job_default_ttl_seconds_after_finished: i32,

    /// `jobSubmission.jobTTLSeconds`: delete finished jobs this long after they finished (0:
    /// keep them).
    #[arg(long, env = "JOBSUBMISSION_JOBTTLSECONDS", default_value_t = 0)]
    pub job_ttl_seconds: u64,

    /// `jobSubmission.jobLimit`: keep at most this many finished jobs (0: any number).
    #[arg(long, env = "JOBSUBMISSION_JOBLIMIT", default_value_t = 0)]
    pub job_limit: usize,

    /// `jobSubmission.phfsEnabled`: mount the PHFS claim in job pods.
    #[arg(long, env = "JOBSUBMISSION_PHFSENABLED", default_value_t = false, action = clap::ArgAction::Set)]
    pub phfs_enabled: bool,

    /// `jobSubmission.phfsPVC`: the PHFS claim.
    #[arg(long, env = "JOBSUBMISSION_PHFSPVC", default_value = "")]
    pub phfs_pvc: String,

    /// `jobSubmission.nodeSelector` as a JSON object, merged into every job pod's.
    #[arg(long, env = "JOBSUBMISSION_NODESELECTOR")]
    pub job_node_selector: Option<String>,

    /// `jobSubmission.tolerations` as a JSON array, appended to every job pod's.
    #[arg(long, env = "JOBSUBMISSION_TOLERATIONS")]
    pub job_tolerations: Option<String>,
}

/// The Dataset children controllers' settings: the values PrimeHub's chart renders into its
/// metacontroller hooks, named after them (`gitsync.daemonset.image` is
/// `--gitsync-daemonset-image` / `GITSYNC_DAEMONSET_IMAGE`).
#[derive(Debug, Clone, clap::Args)]
pub struct DatasetArgs {
    /// `gitsync.enabled`: keep a git-sync DaemonSet per git Dataset (annotation `primehub-gitsync`).
    #[arg(long, env = "GITSYNC_ENABLED", default_value_t = true, action = clap::ArgAction::Set)]
    pub gitsync_enabled: bool,

    /// `gitsync.daemonset.image` (`repository:tag`).
    #[arg(
        long,
        env = "GITSYNC_DAEMONSET_IMAGE",
        default_value = "registry.k8s.io/git-sync:v3.1.3"
    )]
    pub gitsync_daemonset_image: String,

    /// `gitsync.daemonset.image.pullPolicy`.
    #[arg(
        long,
        env = "GITSYNC_DAEMONSET_IMAGE_PULLPOLICY",
        default_value = "IfNotPresent"
    )]
    pub gitsync_daemonset_image_pull_policy: String,

    /// `gitsync.daemonset.delayInit`.
    #[arg(long, env = "GITSYNC_DAEMONSET_DELAYINIT", default_value_t = false, action = clap::ArgAction::Set)]
    pub gitsync_daemonset_delay_init: bool,

    /// The pods' `checksum/config` annotation: the chart's SHA-256 of `scripts/gitsync/*`
    /// (set it to the installed chart's value so adopted DaemonSets keep their pods).
    #[arg(
        long,
        env = "GITSYNC_SCRIPTS_CHECKSUM",
        default_value = primehub_model::dataset_children::gitsync::EMPTY_SHA256
    )]
    pub gitsync_scripts_checksum: String,

    /// `datasetUpload.enabled`: run an upload server per Dataset while its
    /// `dataset.primehub.io/uploadServer` annotation is `"true"`.
    #[arg(long, env = "DATASETUPLOAD_ENABLED", default_value_t = true, action = clap::ArgAction::Set)]
    pub dataset_upload_enabled: bool,

    /// `datasetUpload.interface.replicas`.
    #[arg(long, env = "DATASETUPLOAD_INTERFACE_REPLICAS", default_value_t = 1)]
    pub dataset_upload_replicas: i32,

    /// `datasetUpload.interface.webFrontEndImage` (`repository:tag`).
    #[arg(
        long,
        env = "DATASETUPLOAD_INTERFACE_WEBFRONTENDIMAGE",
        default_value = "infuseai/dataset-upload-web-front-end:d744507a5e"
    )]
    pub dataset_upload_web_front_end_image: String,

    /// `tusd.image` (`repository:tag`).
    #[arg(long, env = "TUSD_IMAGE", default_value = "tusproject/tusd:v1.10.0")]
    pub tusd_image: String,

    /// `datasetUpload.interface.webFrontEndImage.resources` as a JSON object
    /// (`{"limits": {"cpu": "200m", "memory": "256Mi"}, "requests": {…}}`). As PrimeHub's hook
    /// does, these go to the `tusd` container (default: 200m / 256Mi limits and requests).
    #[arg(
        long,
        env = "DATASETUPLOAD_INTERFACE_WEBFRONTENDIMAGE_RESOURCES",
        value_name = "JSON"
    )]
    pub dataset_upload_web_front_end_resources: Option<String>,

    /// `datasetUpload.interface.tusd.resources` as a JSON object. As PrimeHub's hook does,
    /// these go to the `web-front-end` container (default: 200m / 128Mi limits and requests).
    #[arg(
        long,
        env = "DATASETUPLOAD_INTERFACE_TUSD_RESOURCES",
        value_name = "JSON"
    )]
    pub dataset_upload_tusd_resources: Option<String>,

    /// The chart's `primehub.dataset.path`: the upload servers' URL prefix.
    #[arg(long, env = "PRIMEHUB_DATASET_PATH", default_value = "/dataset")]
    pub primehub_dataset_path: String,

    /// `primehub.scheme`.
    #[arg(long, env = "PRIMEHUB_SCHEME", default_value = "http")]
    pub primehub_scheme: String,

    /// `primehub.domain`: the upload servers' Ingress host (empty: any host).
    #[arg(long, env = "PRIMEHUB_DOMAIN", default_value = "")]
    pub primehub_domain: String,

    /// `ingress.annotations` as a JSON object (default: the chart's).
    #[arg(long, env = "INGRESS_ANNOTATIONS")]
    pub ingress_annotations: Option<String>,

    /// `ingress.tls` as a JSON array.
    #[arg(long, env = "INGRESS_TLS")]
    pub ingress_tls: Option<String>,
}
