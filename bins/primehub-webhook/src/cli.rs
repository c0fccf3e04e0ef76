//! Command-line flags. Every flag can also come from an environment variable; where PrimeHub's
//! `primehub-admission` has one for the setting, it is PrimeHub's name (`GRAPHQL_ENDPOINT`,
//! `GRAPHQL_SHARED_SECRET`, `IMAGE_PREFIX`, `PLATFORM_TYPE`, `PVC_LABEL_SELECTOR`), so an
//! existing install's environment configures it unchanged. A flag on the command line wins.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use primehub_reconcile::webhook::resources::UndecidedPolicy;
use primehub_service::cli::{ConnectionArgs, ProcessArgs};

/// PrimeHub's admission webhooks over HTTPS (`/`, `/pvc-check`, `/image-mutation`,
/// `/license-check`), with `/healthz`, `/readyz` and `/metrics` on plain HTTP.
#[derive(Debug, Clone, Parser)]
#[command(name = "primehub-webhook", version, about)]
pub struct Args {
    /// The plain-HTTP address of `/healthz`, `/readyz` and `/metrics` (probes, Prometheus).
    #[arg(long, env = "PRIMEHUB_WEBHOOK_LISTEN", default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,

    /// The HTTPS address the API server calls the webhooks at.
    #[arg(
        long,
        env = "PRIMEHUB_WEBHOOK_TLS_LISTEN",
        default_value = "0.0.0.0:8443"
    )]
    pub tls_listen: SocketAddr,

    /// The serving certificate (PEM, the chain's leaf first), as PrimeHub mounts it.
    #[arg(
        long,
        env = "PRIMEHUB_WEBHOOK_TLS_CERT_FILE",
        default_value = "/app/ssl/cert.pem"
    )]
    pub tls_cert_file: PathBuf,

    /// The certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(
        long,
        env = "PRIMEHUB_WEBHOOK_TLS_KEY_FILE",
        default_value = "/app/ssl/key.pem"
    )]
    pub tls_key_file: PathBuf,

    /// How often the certificate and key files are re-read; a change is served from the next
    /// TLS handshake on (a renewed Secret needs no restart). 0: never.
    #[arg(
        long,
        env = "PRIMEHUB_WEBHOOK_CERT_RELOAD_SECONDS",
        default_value_t = 10
    )]
    pub cert_reload_seconds: u64,

    /// Where group quotas come from: `keycloak` (the Keycloak state cache, with the Keycloak
    /// flags) or `graphql` (PrimeHub's API with `--graphql-endpoint` and the shared secret).
    #[arg(long, env = "PRIMEHUB_WEBHOOK_QUOTA_SOURCE", value_enum, default_value_t = QuotaSourceKind::Keycloak)]
    pub quota_source: QuotaSourceKind,

    /// PrimeHub's GraphQL endpoint, e.g. `http://primehub-graphql.hub/api/graphql`
    /// (`--quota-source graphql`).
    #[arg(long, env = "GRAPHQL_ENDPOINT")]
    pub graphql_endpoint: Option<String>,

    /// The shared secret sent to the GraphQL API (prefer the file or the environment variable).
    #[arg(long, env = "GRAPHQL_SHARED_SECRET", hide_env_values = true)]
    pub graphql_shared_secret: Option<String>,

    /// A file holding the shared secret; takes precedence over `--graphql-shared-secret`.
    #[arg(long, env = "GRAPHQL_SHARED_SECRET_FILE")]
    pub graphql_shared_secret_file: Option<PathBuf>,

    /// How long a group's quotas from the GraphQL API are used before asking again, seconds.
    #[arg(
        long,
        env = "PRIMEHUB_WEBHOOK_GRAPHQL_CACHE_SECONDS",
        default_value_t = 10
    )]
    pub graphql_cache_seconds: u64,

    /// What to do with a PrimeHub pod whose quotas cannot be checked (unknown group, quota
    /// source failing, unreadable quantities, pods not listed yet): `allow` (PrimeHub's
    /// fail-open, counted in `/metrics`) or `deny`.
    #[arg(long, env = "PRIMEHUB_WEBHOOK_UNDECIDED", default_value_t = UndecidedPolicy::Allow)]
    pub undecided: UndecidedPolicy,

    /// How long an admitted pod counts at most before the pod watch shows it, seconds.
    #[arg(long, env = "PRIMEHUB_WEBHOOK_IN_FLIGHT_SECONDS", default_value_t = 10)]
    pub in_flight_seconds: u64,

    /// The air-gap registry prefix `/image-mutation` puts before every image (empty: none).
    #[arg(long, env = "IMAGE_PREFIX", default_value = "")]
    pub image_prefix: String,

    /// The platform a License must be for (`/license-check`; `ee` means `enterprise`; unset:
    /// any).
    #[arg(long, env = "PLATFORM_TYPE")]
    pub platform_type: Option<String>,

    /// The claims `/pvc-check` counts as existing: a label selector over the namespace's PVCs.
    #[arg(
        long,
        env = "PVC_LABEL_SELECTOR",
        default_value = "app!=jupyterhub,app!=primehub-group"
    )]
    pub pvc_label_selector: String,

    /// Keycloak (for `--quota-source keycloak`), the kubeconfig and PrimeHub's namespace.
    #[command(flatten)]
    pub connection: ConnectionArgs,

    /// Start-up and logging.
    #[command(flatten)]
    pub process: ProcessArgs,
}

/// Where group quotas come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum QuotaSourceKind {
    /// The Keycloak state cache (group attributes), filled at start and following Keycloak's
    /// admin events.
    Keycloak,
    /// PrimeHub's GraphQL API with the shared secret, cached briefly.
    Graphql,
}
