//! The flags, checked and resolved (secrets read from their files) before anything is contacted.
//! Every error names the flag and its environment variable.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use primehub_model::roles::RoleNaming;
use url::Url;

use crate::cli::Args;

/// Resolved settings of the server.
#[derive(Clone)]
pub struct Settings {
    /// Where to serve HTTP.
    pub listen: SocketAddr,
    /// Keycloak as this server reaches it.
    pub keycloak_url: Url,
    /// Keycloak as users' browsers reach it (the tokens' issuer base).
    pub keycloak_public_url: Url,
    /// PrimeHub's realm.
    pub realm: String,
    /// The confidential client (service account, API tokens).
    pub client_id: String,
    /// Its secret.
    pub client_secret: String,
    /// A kubeconfig file, or `None` for kubectl's defaults / in-cluster.
    pub kubeconfig: Option<PathBuf>,
    /// PrimeHub's namespace.
    pub namespace: String,
    /// The server-to-server shared secret, if any.
    pub shared_secret: Option<String>,
    /// Role naming (with the optional prefix).
    pub naming: RoleNaming,
    /// The storage class of group volumes and `pv` datasets.
    pub storage_class: Option<String>,
    /// The upload server's public URL.
    pub upload_server_url: Option<String>,
    /// How long to retry unreachable backends at start (`None`: forever).
    pub startup_timeout: Option<Duration>,
}

impl std::fmt::Debug for Settings {
    /// Secrets are redacted.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("listen", &self.listen)
            .field("keycloak_url", &self.keycloak_url.as_str())
            .field("keycloak_public_url", &self.keycloak_public_url.as_str())
            .field("realm", &self.realm)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("kubeconfig", &self.kubeconfig)
            .field("namespace", &self.namespace)
            .field(
                "shared_secret",
                &self.shared_secret.as_ref().map(|_| "<set>"),
            )
            .field("storage_class", &self.storage_class)
            .field("upload_server_url", &self.upload_server_url)
            .field("startup_timeout", &self.startup_timeout)
            .finish_non_exhaustive()
    }
}

fn keycloak_base(value: &str, flag: &str) -> anyhow::Result<Url> {
    let url = Url::parse(value.trim()).with_context(|| format!("{flag} {value:?} is not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        bail!("{flag} {value:?} must be an http:// or https:// URL with a host");
    }
    if url.query().is_some() || url.fragment().is_some() {
        bail!("{flag} {value:?} must not have a query or fragment");
    }
    Ok(url)
}

fn read_secret_file(path: &Path, flag: &str) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{flag} {}: cannot read the file", path.display()))?;
    let secret = text.trim_end_matches(['\r', '\n']).to_owned();
    if secret.is_empty() {
        bail!("{flag} {}: the file is empty", path.display());
    }
    Ok(secret)
}

/// A secret from its file flag (preferred) or its value flag; `None` when neither is given.
fn secret(
    value: Option<&str>,
    file: Option<&Path>,
    value_flag: &str,
    file_flag: &str,
) -> anyhow::Result<Option<String>> {
    if let Some(path) = file {
        return read_secret_file(path, file_flag).map(Some);
    }
    match value {
        Some("") => bail!("{value_flag} is set but empty"),
        Some(v) => Ok(Some(v.to_owned())),
        None => Ok(None),
    }
}

fn non_empty(value: &str, flag: &str) -> anyhow::Result<String> {
    let value = value.trim();
    if value.is_empty() {
        bail!("{flag} must not be empty");
    }
    Ok(value.to_owned())
}

fn optional(value: Option<&String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

impl Settings {
    /// Checks the flags and reads the secret files.
    ///
    /// # Errors
    ///
    /// A message naming the flag (and its environment variable) and what is wrong.
    pub fn resolve(args: &Args) -> anyhow::Result<Settings> {
        let keycloak_url = keycloak_base(&args.keycloak_url, "--keycloak-url (KC_API_BASEURL)")?;
        let keycloak_public_url = match optional(args.keycloak_public_url.as_ref()) {
            Some(url) => keycloak_base(&url, "--keycloak-public-url (KC_OIDC_BASEURL)")?,
            None => keycloak_url.clone(),
        };
        let client_secret = secret(
            args.client_secret.as_deref(),
            args.client_secret_file.as_deref(),
            "--client-secret (KC_CLIENT_SECRET)",
            "--client-secret-file (KC_CLIENT_SECRET_FILE)",
        )?
        .with_context(|| {
            format!(
                "the secret of the Keycloak client {:?} is required: give --client-secret-file \
                 (KC_CLIENT_SECRET_FILE) or KC_CLIENT_SECRET",
                args.client_id
            )
        })?;
        let shared_secret = secret(
            args.shared_secret.as_deref(),
            args.shared_secret_file.as_deref(),
            "--shared-secret (SHARED_GRAPHQL_SECRET_KEY)",
            "--shared-secret-file (SHARED_GRAPHQL_SECRET_KEY_FILE)",
        )?;
        let naming = RoleNaming::new(optional(args.role_prefix.as_ref()))
            .context("--role-prefix (KC_ROLE_PREFIX)")?;
        let upload_server_url = optional(args.upload_server_url.as_ref());
        if let Some(url) = &upload_server_url {
            Url::parse(url).with_context(|| {
                format!("--upload-server-url (PRIMEHUB_UPLOAD_SERVER_URL) {url:?} is not a URL")
            })?;
        }
        if let Some(path) = &args.kubeconfig
            && !path.is_file()
        {
            bail!("--kubeconfig {}: no such file", path.display());
        }
        Ok(Settings {
            listen: args.listen,
            keycloak_url,
            keycloak_public_url,
            realm: non_empty(&args.realm, "--realm (KC_REALM)")?,
            client_id: non_empty(&args.client_id, "--client-id (KC_CLIENT_ID)")?,
            client_secret,
            kubeconfig: args.kubeconfig.clone(),
            namespace: non_empty(&args.namespace, "--namespace (K8S_CRD_NAMESPACE)")?,
            shared_secret,
            naming,
            storage_class: optional(args.storage_class.as_ref()),
            upload_server_url,
            startup_timeout: (args.startup_timeout > 0)
                .then(|| Duration::from_secs(args.startup_timeout)),
        })
    }

    /// `<base>/realms/<realm>` for a Keycloak base URL (with or without a trailing slash).
    fn realm_url(base: &Url, realm: &str) -> String {
        format!("{}/realms/{realm}", base.as_str().trim_end_matches('/'))
    }

    /// The issuer of the realm's tokens (`iss`), on the public URL.
    pub fn issuer(&self) -> String {
        Self::realm_url(&self.keycloak_public_url, &self.realm)
    }

    /// The realm's OIDC endpoint `path` on the URL this server reaches Keycloak at.
    pub fn oidc_endpoint(&self, path: &str) -> String {
        format!(
            "{}/protocol/openid-connect/{path}",
            Self::realm_url(&self.keycloak_url, &self.realm)
        )
    }
}
