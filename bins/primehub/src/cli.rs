//! Command-line arguments.

use clap::{Parser, Subcommand};

use crate::commands::bootstrap::BootstrapArgs;
use crate::commands::dev::DevArgs;
use crate::commands::token::TokenArgs;

pub use primehub_service::cli::LogFormat;

/// PrimeHub developer and operator tool.
#[derive(Debug, Parser)]
#[command(name = "primehub", version, about, propagate_version = true)]
pub struct Cli {
    /// Log format on stderr: `human` (default) or `json` (one object per line, for log
    /// collectors). Levels come from `RUST_LOG` (default `info`).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the CustomResourceDefinitions of every PrimeHub kind as multi-document YAML.
    ///
    /// Install them with `primehub crds | kubectl apply -f -`.
    Crds,
    /// Run the whole platform on in-memory fakes in one process on one listener: the GraphQL API
    /// (`/api/graphql`), the fake Keycloak (`/admin`, `/realms`), the fake Kubernetes API server
    /// (`/api`, `/apis`), `/healthz`, `/readyz`, `/metrics`.
    Dev(DevArgs),
    /// Set up PrimeHub's realm on a real Keycloak, idempotently: user profile, clients `admin-ui`
    /// and `jupyterhub`, default group `everyone`, and optionally the administrator `phadmin`;
    /// with `--kubeconfig`, also the client Secrets in `--namespace`.
    Bootstrap(BootstrapArgs),
    /// Print an API token (a Keycloak offline token, as PrimeHub's console issues them) from a
    /// PrimeHub API server's `/api/token`; the password comes from `--password-file` or
    /// `PRIMEHUB_PASSWORD`. Use it as `Authorization: Bearer <token>` or `PRIMEHUB_API_TOKEN`.
    Token(TokenArgs),
}
