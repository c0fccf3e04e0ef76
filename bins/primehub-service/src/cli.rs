//! The flags every PrimeHub service shares, as clap [`Args`](clap::Args) structs that a binary
//! flattens into its own (`#[command(flatten)]`). Every flag can also come from an environment
//! variable; where PrimeHub's own services have one for the setting, it is PrimeHub's name
//! (`KC_API_BASEURL`, `KC_REALM`, `KC_CLIENT_ID`, `KC_CLIENT_SECRET`, `K8S_CRD_NAMESPACE`,
//! `KC_ROLE_PREFIX`), so an existing PrimeHub deployment's environment configures the service
//! unchanged. A flag on the command line wins over the variable.
//!
//! ```
//! use clap::Parser;
//! use primehub_service::cli::{ConnectionArgs, ProcessArgs};
//!
//! /// A PrimeHub service.
//! #[derive(Parser)]
//! struct Args {
//!     #[command(flatten)]
//!     connection: ConnectionArgs,
//!     #[command(flatten)]
//!     process: ProcessArgs,
//! }
//!
//! let args = Args::parse_from(["svc", "--keycloak-url", "http://kc", "--realm", "ph"]);
//! assert_eq!(args.connection.realm, "ph");
//! assert_eq!(args.connection.namespace, "hub");
//! ```

use std::path::PathBuf;

/// Where PrimeHub's Keycloak and Kubernetes are, and the client the service acts as.
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectionArgs {
    /// Keycloak's base URL as this service reaches it, e.g. `http://keycloak-http.hub` or
    /// `https://id.example.com/auth` for a Keycloak served under `/auth`. Required by every
    /// service that talks to Keycloak (checked when the settings are resolved, so a service
    /// with a mode that does not, like `primehub-webhook --quota-source graphql`, can share
    /// these flags).
    #[arg(long, env = "KC_API_BASEURL")]
    pub keycloak_url: Option<String>,

    /// PrimeHub's realm.
    #[arg(long, env = "KC_REALM", default_value = "primehub")]
    pub realm: String,

    /// The confidential client whose service account (with `realm-management`/`realm-admin`)
    /// this service uses for Keycloak's admin API.
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

    /// The prefix of PrimeHub's resource roles (`<prefix>:img:<name>`…), for several PrimeHub
    /// installs sharing one realm.
    #[arg(long, env = "KC_ROLE_PREFIX")]
    pub role_prefix: Option<String>,
}

/// How the process starts and logs.
#[derive(Debug, Clone, clap::Args)]
pub struct ProcessArgs {
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

impl ProcessArgs {
    /// `--startup-timeout` as a duration; `None` (retry forever) for 0.
    pub fn startup_timeout(&self) -> Option<std::time::Duration> {
        (self.startup_timeout > 0).then(|| std::time::Duration::from_secs(self.startup_timeout))
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Readable lines for a terminal.
    Human,
    /// One JSON object per line.
    Json,
}
