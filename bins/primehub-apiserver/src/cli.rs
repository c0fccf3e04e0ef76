//! Command-line flags. Every flag can also come from an environment variable; where PrimeHub's
//! GraphQL server has a variable for the setting, it is PrimeHub's name (`KC_API_BASEURL`,
//! `KC_REALM`, `KC_CLIENT_ID`, `KC_CLIENT_SECRET`, `K8S_CRD_NAMESPACE`,
//! `SHARED_GRAPHQL_SECRET_KEY`, `KC_ROLE_PREFIX`, `KC_OIDC_BASEURL`,
//! `PRIMEHUB_GROUP_VOLUME_STORAGE_CLASS`), so an existing PrimeHub deployment's environment
//! configures this server unchanged. A flag on the command line wins over the variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

/// PrimeHub's GraphQL API server on a real Keycloak and a real Kubernetes cluster.
///
/// Serves `/api/graphql` (and `/graphql`), `POST /api/token`, `/healthz`, `/readyz` and
/// `/metrics`. Secrets are best given as files (`--client-secret-file`,
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

    /// Keycloak's base URL as this server reaches it, e.g. `http://keycloak-http.hub` or
    /// `https://id.example.com/auth` for a Keycloak served under `/auth`.
    #[arg(long, env = "KC_API_BASEURL")]
    pub keycloak_url: String,

    /// Keycloak's base URL as users' browsers reach it, when it differs from `--keycloak-url`:
    /// tokens carry the issuer `<this>/realms/<realm>`. Default: `--keycloak-url`.
    #[arg(long, env = "KC_OIDC_BASEURL")]
    pub keycloak_public_url: Option<String>,

    /// PrimeHub's realm.
    #[arg(long, env = "KC_REALM", default_value = "primehub")]
    pub realm: String,

    /// The confidential client whose service account (with `realm-management`/`realm-admin`)
    /// this server uses for Keycloak's admin API, and through which API tokens are issued.
    #[arg(long, env = "KC_CLIENT_ID", default_value = "admin-ui")]
    pub client_id: String,

    /// The client's secret (prefer `--client-secret-file` or the environment variable).
    #[arg(long, env = "KC_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: Option<String>,

    /// A file holding the client's secret (a trailing newline is ignored); takes precedence
    /// over `--client-secret`.
    #[arg(long, env = "KC_CLIENT_SECRET_FILE")]
    pub client_secret_file: Option<PathBuf>,

    /// A kubeconfig file; without it the client is configured as kubectl's is: `$KUBECONFIG`,
    /// `~/.kube/config`, or the in-cluster service account.
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,

    /// The namespace of PrimeHub's custom resources, volumes and secrets.
    #[arg(long, env = "K8S_CRD_NAMESPACE", default_value = "hub")]
    pub namespace: String,

    /// The shared secret server-to-server clients (JupyterHub, controllers) send as
    /// `Authorization: Bearer <secret>` (prefer `--shared-secret-file` or the environment
    /// variable). Without one, only users' tokens are accepted.
    #[arg(long, env = "SHARED_GRAPHQL_SECRET_KEY", hide_env_values = true)]
    pub shared_secret: Option<String>,

    /// A file holding the shared secret (a trailing newline is ignored); takes precedence over
    /// `--shared-secret`.
    #[arg(long, env = "SHARED_GRAPHQL_SECRET_KEY_FILE")]
    pub shared_secret_file: Option<PathBuf>,

    /// The prefix of PrimeHub's resource roles (`<prefix>:img:<name>`…), for several PrimeHub
    /// installs sharing one realm.
    #[arg(long, env = "KC_ROLE_PREFIX")]
    pub role_prefix: Option<String>,

    /// The storage class of group shared volumes and `pv` datasets (default: the cluster's).
    #[arg(long, env = "PRIMEHUB_GROUP_VOLUME_STORAGE_CLASS")]
    pub storage_class: Option<String>,

    /// The public URL of the dataset upload server, if one is installed.
    #[arg(long, env = "PRIMEHUB_UPLOAD_SERVER_URL")]
    pub upload_server_url: Option<String>,

    /// How long to keep retrying at start while Keycloak or the Kubernetes API is unreachable,
    /// in seconds (0: forever). `/healthz` answers and `/readyz` says why it is not ready
    /// meanwhile; after this the process exits with the last error.
    #[arg(long, env = "PRIMEHUB_STARTUP_TIMEOUT", default_value_t = 600)]
    pub startup_timeout: u64,

    /// Log format on stderr: `json` (one object per line, for log collectors) or `human`.
    /// Levels come from `RUST_LOG` (default `info`).
    #[arg(long, env = "PRIMEHUB_LOG_FORMAT", value_enum, default_value_t = LogFormat::Json)]
    pub log_format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Readable lines for a terminal.
    Human,
    /// One JSON object per line.
    Json,
}
