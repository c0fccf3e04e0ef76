//! The flags, checked and resolved (secrets read from their files) before anything is contacted.
//! Every error names the flag and its environment variable; the connection flags are checked
//! by [`primehub_service::settings`].

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use primehub_model::pod::notebook::NotebookPodConfig;
use primehub_service::settings::{ConnectionSettings, keycloak_base, optional, realm_url, secret};
use url::Url;

use crate::cli::{Args, NotebookArgs};

/// Resolved settings of the server.
#[derive(Clone)]
pub struct Settings {
    /// Where to serve HTTP.
    pub listen: SocketAddr,
    /// Keycloak, Kubernetes, and the confidential client (service account, API tokens).
    pub connection: ConnectionSettings,
    /// Keycloak as users' browsers reach it (the tokens' issuer base).
    pub keycloak_public_url: Url,
    /// The server-to-server shared secret, if any.
    pub shared_secret: Option<String>,
    /// The storage class of group volumes and `pv` datasets.
    pub storage_class: Option<String>,
    /// `PRIMEHUB_GROUP_SC`: the `primehub-group-sc` annotation of shared-volume claims.
    pub group_sc: Option<String>,
    /// The upload server's public URL.
    pub upload_server_url: Option<String>,
    /// Where clients reach this server (`GRAPHQL_HOST`), for jobs' `logEndpoint`.
    pub graphql_host: Option<String>,
    /// The operator's settings of notebook pods.
    pub notebook: NotebookPodConfig,
    /// How long to retry unreachable backends at start (`None`: forever).
    pub startup_timeout: Option<Duration>,
}

impl std::fmt::Debug for Settings {
    /// Secrets are redacted.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("listen", &self.listen)
            .field("connection", &self.connection)
            .field("keycloak_public_url", &self.keycloak_public_url.as_str())
            .field(
                "shared_secret",
                &self.shared_secret.as_ref().map(|_| "<set>"),
            )
            .field("storage_class", &self.storage_class)
            .field("group_sc", &self.group_sc)
            .field("upload_server_url", &self.upload_server_url)
            .field("graphql_host", &self.graphql_host)
            .field("notebook", &self.notebook)
            .field("startup_timeout", &self.startup_timeout)
            .finish_non_exhaustive()
    }
}

impl Settings {
    /// Checks the flags and reads the secret files.
    ///
    /// # Errors
    ///
    /// A message naming the flag (and its environment variable) and what is wrong.
    pub fn resolve(args: &Args) -> anyhow::Result<Settings> {
        let connection = ConnectionSettings::resolve(&args.connection)?;
        let keycloak_public_url = match optional(args.keycloak_public_url.as_ref()) {
            Some(url) => keycloak_base(&url, "--keycloak-public-url (KC_OIDC_BASEURL)")?,
            None => connection.keycloak_url.clone(),
        };
        let shared_secret = secret(
            args.shared_secret.as_deref(),
            args.shared_secret_file.as_deref(),
            "--shared-secret (SHARED_GRAPHQL_SECRET_KEY)",
            "--shared-secret-file (SHARED_GRAPHQL_SECRET_KEY_FILE)",
        )?;
        let upload_server_url = optional(args.upload_server_url.as_ref());
        if let Some(url) = &upload_server_url {
            Url::parse(url).with_context(|| {
                format!("--upload-server-url (PRIMEHUB_UPLOAD_SERVER_URL) {url:?} is not a URL")
            })?;
        }
        let graphql_host = optional(args.graphql_host.as_ref());
        if let Some(url) = &graphql_host {
            Url::parse(url)
                .with_context(|| format!("--graphql-host (GRAPHQL_HOST) {url:?} is not a URL"))?;
        }
        Ok(Settings {
            listen: args.listen,
            connection,
            keycloak_public_url,
            shared_secret,
            storage_class: optional(args.storage_class.as_ref()),
            group_sc: optional(args.group_sc.as_ref()),
            upload_server_url,
            graphql_host: graphql_host.map(|h| h.trim_end_matches('/').to_owned()),
            notebook: notebook_config(&args.notebook)?,
            startup_timeout: args.process.startup_timeout(),
        })
    }

    /// The issuer of the realm's tokens (`iss`), on the public URL.
    pub fn issuer(&self) -> String {
        realm_url(&self.keycloak_public_url, &self.connection.realm)
    }

    /// The realm's OIDC endpoint `path` on the URL this server reaches Keycloak at.
    pub fn oidc_endpoint(&self, path: &str) -> String {
        self.connection.oidc_endpoint(path)
    }
}

/// The notebook pod settings; a feature that cannot work without another setting is refused.
fn notebook_config(args: &NotebookArgs) -> anyhow::Result<NotebookPodConfig> {
    let config = NotebookPodConfig {
        grant_sudo: args.grant_sudo,
        phfs_enabled: args.phfs_enabled,
        phfs_pvc: optional(args.phfs_pvc.as_ref()).unwrap_or_default(),
        start_notebook_config_map: optional(args.start_notebook_config_map.as_ref()),
        kernel_gateway_enabled: args.kernel_gateway,
        ssh_server_enabled: args.ssh_server_enabled,
        default_image: optional(args.singleuser_image.as_ref()).unwrap_or_default(),
        home_storage_class: optional(args.singleuser_storage_class.as_ref()),
    };
    if config.phfs_enabled && config.phfs_pvc.is_empty() {
        anyhow::bail!(
            "--phfs-enabled (PRIMEHUB_NOTEBOOK_PHFS_ENABLED) needs the claim: set --phfs-pvc (PRIMEHUB_NOTEBOOK_PHFS_PVC)"
        );
    }
    if config.kernel_gateway_enabled && config.default_image.is_empty() {
        anyhow::bail!(
            "--kernel-gateway (PRIMEHUB_NOTEBOOK_KERNEL_GATEWAY) needs KubeSpawner's default image for the notebook container: set --singleuser-image (PRIMEHUB_NOTEBOOK_SINGLEUSER_IMAGE)"
        );
    }
    Ok(config)
}
