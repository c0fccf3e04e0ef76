//! The flags, checked and resolved (secrets read from their files) before anything is
//! contacted. Every error names the flag and its environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use primehub_reconcile::webhook::resources::UndecidedPolicy;
use primehub_service::settings::{ConnectionSettings, non_empty, secret};

use crate::cli::{Args, QuotaSourceKind};

/// Where quotas come from, resolved.
#[derive(Clone)]
pub enum QuotaSettings {
    /// The Keycloak state cache, through the client's service account.
    Keycloak(ConnectionSettings),
    /// PrimeHub's GraphQL API.
    Graphql {
        /// The endpoint.
        endpoint: String,
        /// The shared secret.
        shared_secret: String,
        /// How long an answer is used.
        ttl: Duration,
    },
}

impl std::fmt::Debug for QuotaSettings {
    /// The shared secret is redacted (the connection settings redact theirs).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QuotaSettings::Keycloak(connection) => {
                f.debug_tuple("Keycloak").field(connection).finish()
            }
            QuotaSettings::Graphql { endpoint, ttl, .. } => f
                .debug_struct("Graphql")
                .field("endpoint", endpoint)
                .field("shared_secret", &"<redacted>")
                .field("ttl", ttl)
                .finish(),
        }
    }
}

/// Resolved settings of the webhook.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Plain HTTP: probes and metrics.
    pub listen: SocketAddr,
    /// HTTPS: the webhooks.
    pub tls_listen: SocketAddr,
    /// The certificate file.
    pub tls_cert_file: PathBuf,
    /// The key file.
    pub tls_key_file: PathBuf,
    /// How often the files are re-read (`None`: never).
    pub cert_reload: Option<Duration>,
    /// The quota source.
    pub quotas: QuotaSettings,
    /// The kubeconfig, or `None` for kubectl's defaults / in-cluster.
    pub kubeconfig: Option<PathBuf>,
    /// The namespace whose pods are watched and decided on.
    pub namespace: String,
    /// What to do when a pod cannot be decided on.
    pub undecided: UndecidedPolicy,
    /// The in-flight window.
    pub in_flight_window: Duration,
    /// The air-gap prefix (empty: none).
    pub image_prefix: String,
    /// The platform a License must be for.
    pub platform_type: Option<String>,
    /// The PVC selector of `/pvc-check`.
    pub pvc_label_selector: String,
    /// How long to retry unreachable backends at start (`None`: forever).
    pub startup_timeout: Option<Duration>,
}

impl Settings {
    /// Checks the flags and reads the secret files.
    ///
    /// # Errors
    ///
    /// A message naming the flag (and its environment variable) and what is wrong.
    pub fn resolve(args: &Args) -> anyhow::Result<Settings> {
        let quotas = match args.quota_source {
            QuotaSourceKind::Keycloak => {
                QuotaSettings::Keycloak(ConnectionSettings::resolve(&args.connection)?)
            }
            QuotaSourceKind::Graphql => {
                let endpoint = args
                    .graphql_endpoint
                    .as_deref()
                    .map(str::trim)
                    .filter(|e| !e.is_empty())
                    .context(
                        "--quota-source graphql needs --graphql-endpoint (GRAPHQL_ENDPOINT), \
                         e.g. http://primehub-graphql.hub/api/graphql",
                    )?;
                let url = url_of(endpoint)?;
                let shared_secret = secret(
                    args.graphql_shared_secret.as_deref(),
                    args.graphql_shared_secret_file.as_deref(),
                    "--graphql-shared-secret (GRAPHQL_SHARED_SECRET)",
                    "--graphql-shared-secret-file (GRAPHQL_SHARED_SECRET_FILE)",
                )?
                .context(
                    "--quota-source graphql needs the shared secret: give \
                     --graphql-shared-secret-file (GRAPHQL_SHARED_SECRET_FILE) or \
                     GRAPHQL_SHARED_SECRET",
                )?;
                QuotaSettings::Graphql {
                    endpoint: url,
                    shared_secret,
                    ttl: Duration::from_secs(args.graphql_cache_seconds),
                }
            }
        };
        if let Some(path) = &args.connection.kubeconfig
            && !path.is_file()
        {
            bail!("--kubeconfig {}: no such file", path.display());
        }
        for (path, flag) in [
            (
                &args.tls_cert_file,
                "--tls-cert-file (PRIMEHUB_WEBHOOK_TLS_CERT_FILE)",
            ),
            (
                &args.tls_key_file,
                "--tls-key-file (PRIMEHUB_WEBHOOK_TLS_KEY_FILE)",
            ),
        ] {
            if !path.is_file() {
                bail!("{flag} {}: no such file", path.display());
            }
        }
        if args.in_flight_seconds == 0 {
            bail!(
                "--in-flight-seconds (PRIMEHUB_WEBHOOK_IN_FLIGHT_SECONDS) must be at least 1: \
                 without a window two quick creates can both slip under a quota"
            );
        }
        let platform_type = args
            .platform_type
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned);
        Ok(Settings {
            listen: args.listen,
            tls_listen: args.tls_listen,
            tls_cert_file: args.tls_cert_file.clone(),
            tls_key_file: args.tls_key_file.clone(),
            cert_reload: (args.cert_reload_seconds > 0)
                .then(|| Duration::from_secs(args.cert_reload_seconds)),
            quotas,
            kubeconfig: args.connection.kubeconfig.clone(),
            namespace: non_empty(
                &args.connection.namespace,
                "--namespace (K8S_CRD_NAMESPACE)",
            )?,
            undecided: args.undecided,
            in_flight_window: Duration::from_secs(args.in_flight_seconds),
            image_prefix: args.image_prefix.trim().to_owned(),
            platform_type,
            pvc_label_selector: args.pvc_label_selector.clone(),
            startup_timeout: args.process.startup_timeout(),
        })
    }
}

fn url_of(endpoint: &str) -> anyhow::Result<String> {
    let flag = "--graphql-endpoint (GRAPHQL_ENDPOINT)";
    let url =
        url::Url::parse(endpoint).with_context(|| format!("{flag} {endpoint:?} is not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        bail!("{flag} {endpoint:?} must be an http:// or https:// URL with a host");
    }
    Ok(endpoint.to_owned())
}
