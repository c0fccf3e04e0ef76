//! Command-line flags. Every flag can also come from an environment variable; where PrimeHub's
//! GraphQL server has a variable for the setting, it is PrimeHub's name (`KC_API_BASEURL`,
//! `KC_REALM`, `KC_CLIENT_ID`, `KC_CLIENT_SECRET`, `K8S_CRD_NAMESPACE`,
//! `SHARED_GRAPHQL_SECRET_KEY`, `KC_ROLE_PREFIX`, `KC_OIDC_BASEURL`,
//! `PRIMEHUB_GROUP_VOLUME_STORAGE_CLASS`), so an existing PrimeHub deployment's environment
//! configures this server unchanged. The notebook pod settings ([`NotebookArgs`]) were values of
//! PrimeHub's JupyterHub chart, not variables: their flags carry the chart's names
//! (`--grant-sudo` for `grantSudo`, `--singleuser-image` for `singleuser.image`) and their
//! variables `PRIMEHUB_NOTEBOOK_*`. A flag on the command line wins over the variable. The
//! Keycloak and Kubernetes connection flags and the process flags are those every PrimeHub
//! service shares ([`primehub_service::cli`]).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use primehub_service::cli::{ConnectionArgs, ProcessArgs};

pub use primehub_service::cli::LogFormat;

/// PrimeHub's GraphQL API server on a real Keycloak and a real Kubernetes cluster.
///
/// Serves `/api/graphql` (and `/graphql`), `POST /api/token`, the notebook routes
/// (`POST /api/notebook/pod`, `GET /api/notebook/groups`), `/healthz`, `/readyz` and `/metrics`. Secrets are best given as files (`--client-secret-file`,
/// `--shared-secret-file`, e.g. a mounted Kubernetes Secret) or environment variables, not
/// on the command line, which other users of the machine can read.
#[derive(Debug, Clone, Parser)]
#[command(name = "primehub-apiserver", version, about)]
pub struct Args {
    /// The address to serve HTTP on.
    #[arg(
        long,
        env = "PRIMEHUB_APISERVER_LISTEN",
        default_value = "0.0.0.0:3001"
    )]
    pub listen: SocketAddr,

    /// Keycloak, Kubernetes, and the client the server acts as (its service account is also
    /// the client API tokens are issued through).
    #[command(flatten)]
    pub connection: ConnectionArgs,

    /// Keycloak's base URL as users' browsers reach it, when it differs from `--keycloak-url`:
    /// tokens carry the issuer `<this>/realms/<realm>`. Default: `--keycloak-url`.
    #[arg(long, env = "KC_OIDC_BASEURL")]
    pub keycloak_public_url: Option<String>,

    /// The shared secret server-to-server clients (JupyterHub, controllers) send as
    /// `Authorization: Bearer <secret>` (prefer `--shared-secret-file` or the environment
    /// variable). Without one, only users' tokens are accepted.
    #[arg(long, env = "SHARED_GRAPHQL_SECRET_KEY", hide_env_values = true)]
    pub shared_secret: Option<String>,

    /// A file holding the shared secret (a trailing newline is ignored); takes precedence over
    /// `--shared-secret`.
    #[arg(long, env = "SHARED_GRAPHQL_SECRET_KEY_FILE")]
    pub shared_secret_file: Option<PathBuf>,

    /// The storage class of group shared volumes and `pv` datasets (default: the cluster's).
    #[arg(long, env = "PRIMEHUB_GROUP_VOLUME_STORAGE_CLASS")]
    pub storage_class: Option<String>,

    /// PrimeHub's `PRIMEHUB_GROUP_SC` (chart `groupvolume.storageClass`): without
    /// `--storage-class`, the `primehub-group-sc` annotation of new shared-volume claims — the
    /// storage class of their NFS server's own claim (unset: left out; the controller then uses
    /// `rook-block`, as PrimeHub's hook does).
    #[arg(long, env = "PRIMEHUB_GROUP_SC")]
    pub group_sc: Option<String>,

    /// The public URL of the dataset upload server, if one is installed.
    #[arg(long, env = "PRIMEHUB_UPLOAD_SERVER_URL")]
    pub upload_server_url: Option<String>,

    /// PrimeHub's `GRAPHQL_HOST`: the scheme and host clients reach this server at
    /// (`https://hub.example.com`), the start of a job's `logEndpoint` (default: each request's
    /// `X-Forwarded-Proto` and `Host`).
    #[arg(long, env = "GRAPHQL_HOST")]
    pub graphql_host: Option<String>,

    /// The operator's settings of notebook pods (`POST /api/notebook/pod`).
    #[command(flatten)]
    pub notebook: NotebookArgs,

    /// Start-up retries and log format.
    #[command(flatten)]
    pub process: ProcessArgs,
}

/// The operator's settings of notebook pods, named after PrimeHub's Helm chart values
/// (`jupyterhub.primehub.*`, and Zero-to-JupyterHub's `singleuser.*` for KubeSpawner's own), with
/// the chart's defaults. They shape the parts `POST /api/notebook/pod` answers
/// ([`primehub_model::pod::notebook::NotebookPodConfig`]).
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Notebook pods")]
pub struct NotebookArgs {
    /// `grantSudo`: notebooks get `GRANT_SUDO=yes` (else `no`).
    #[arg(
        long,
        env = "PRIMEHUB_NOTEBOOK_GRANT_SUDO",
        default_value_t = true,
        action = clap::ArgAction::Set,
        value_parser = clap::builder::BoolishValueParser::new(),
        value_name = "BOOL"
    )]
    pub grant_sudo: bool,

    /// `phfsEnabled`: mount PrimeHub's shared file system at `/phfs` (needs `--phfs-pvc`).
    #[arg(
        long,
        env = "PRIMEHUB_NOTEBOOK_PHFS_ENABLED",
        default_value_t = false,
        action = clap::ArgAction::Set,
        value_parser = clap::builder::BoolishValueParser::new(),
        value_name = "BOOL"
    )]
    pub phfs_enabled: bool,

    /// `phfsPVC`: the claim of PrimeHub's shared file system.
    #[arg(long, env = "PRIMEHUB_NOTEBOOK_PHFS_PVC")]
    pub phfs_pvc: Option<String>,

    /// `startNotebookConfigMap`: a ConfigMap mounted at `/usr/local/bin/start-notebook.d`.
    #[arg(long, env = "PRIMEHUB_NOTEBOOK_START_NOTEBOOK_CONFIG_MAP")]
    pub start_notebook_config_map: Option<String>,

    /// `kernelGateway`: users may run their code behind a kernel gateway (the option
    /// `kernelGateway`; needs `--singleuser-image`).
    #[arg(
        long,
        env = "PRIMEHUB_NOTEBOOK_KERNEL_GATEWAY",
        default_value_t = false,
        action = clap::ArgAction::Set,
        value_parser = clap::builder::BoolishValueParser::new(),
        value_name = "BOOL"
    )]
    pub kernel_gateway: bool,

    /// `sshServer.enabled`: users may start an SSH server in their notebook (the option
    /// `sshServer`).
    #[arg(
        long,
        env = "PRIMEHUB_NOTEBOOK_SSH_SERVER_ENABLED",
        default_value_t = false,
        action = clap::ArgAction::Set,
        value_parser = clap::builder::BoolishValueParser::new(),
        value_name = "BOOL"
    )]
    pub ssh_server_enabled: bool,

    /// `singleuser.image`: KubeSpawner's default image (`name:tag`), the notebook container's
    /// image when the kernel gateway runs the user's image beside it.
    #[arg(long, env = "PRIMEHUB_NOTEBOOK_SINGLEUSER_IMAGE")]
    pub singleuser_image: Option<String>,

    /// `singleuser.storage.dynamic.storageClass`: the storage class of users' home volumes
    /// (default: the cluster's).
    #[arg(long, env = "PRIMEHUB_NOTEBOOK_SINGLEUSER_STORAGE_CLASS")]
    pub singleuser_storage_class: Option<String>,
}
