//! The shared flags, checked and resolved (secrets read from their files) before anything is
//! contacted, and the clients built from them. Every error names the flag and its environment
//! variable; the helpers ([`keycloak_base`], [`secret`], [`non_empty`], [`optional`]) check a
//! binary's own flags the same way.

use std::path::{Path, PathBuf};

use primehub_keycloak::KeycloakError;
use primehub_keycloak::http::{Credentials, HttpKeycloak, HttpKeycloakConfig};
use primehub_model::roles::RoleNaming;
use primehub_reconcile::kube_client::KubeClient;
use url::Url;

use crate::cli::ConnectionArgs;
use crate::error::{Error, Result};

/// The resolved [`ConnectionArgs`].
#[derive(Clone)]
pub struct ConnectionSettings {
    /// Keycloak as this service reaches it.
    pub keycloak_url: Url,
    /// PrimeHub's realm.
    pub realm: String,
    /// The confidential client whose service account the service uses.
    pub client_id: String,
    /// Its secret.
    pub client_secret: String,
    /// A kubeconfig file, or `None` for kubectl's defaults / in-cluster.
    pub kubeconfig: Option<PathBuf>,
    /// PrimeHub's namespace.
    pub namespace: String,
    /// Role naming (with the optional prefix).
    pub naming: RoleNaming,
}

impl std::fmt::Debug for ConnectionSettings {
    /// The secret is redacted.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionSettings")
            .field("keycloak_url", &self.keycloak_url.as_str())
            .field("realm", &self.realm)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("kubeconfig", &self.kubeconfig)
            .field("namespace", &self.namespace)
            .field("naming", &self.naming)
            .finish()
    }
}

/// Checks a Keycloak base URL given as `flag`: `http` or `https`, a host, no query or fragment.
///
/// # Errors
///
/// [`Error::Flag`] naming `flag`, the value and the rule.
pub fn keycloak_base(value: &str, flag: &str) -> Result<Url> {
    let url = Url::parse(value.trim())
        .map_err(|e| Error::flag_because(flag, format!("{value:?} is not a URL"), e))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(Error::flag(
            flag,
            format!("{value:?} must be an http:// or https:// URL with a host"),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::flag(
            flag,
            format!("{value:?} must not have a query or fragment"),
        ));
    }
    Ok(url)
}

fn read_secret_file(path: &Path, flag: &str) -> Result<String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::flag_because(flag, format!("{}: cannot read the file", path.display()), e)
    })?;
    let secret = text.trim_end_matches(['\r', '\n']).to_owned();
    if secret.is_empty() {
        return Err(Error::flag(
            flag,
            format!("{}: the file is empty", path.display()),
        ));
    }
    Ok(secret)
}

/// A secret from its file flag (preferred; a trailing newline is dropped) or its value flag;
/// `None` when neither is given.
///
/// # Errors
///
/// [`Error::Flag`] naming `file_flag` when the file cannot be read or is empty, `value_flag`
/// when the value is set but empty.
pub fn secret(
    value: Option<&str>,
    file: Option<&Path>,
    value_flag: &str,
    file_flag: &str,
) -> Result<Option<String>> {
    if let Some(path) = file {
        return read_secret_file(path, file_flag).map(Some);
    }
    match value {
        Some("") => Err(Error::flag(value_flag, "is set but empty")),
        Some(v) => Ok(Some(v.to_owned())),
        None => Ok(None),
    }
}

/// `value` trimmed.
///
/// # Errors
///
/// [`Error::Flag`] naming `flag` when it is empty.
pub fn non_empty(value: &str, flag: &str) -> Result<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(Error::flag(flag, "must not be empty"));
    }
    Ok(value.to_owned())
}

/// An optional value trimmed; empty counts as not given.
pub fn optional(value: Option<&String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// `<base>/realms/<realm>` for a Keycloak base URL (with or without a trailing slash).
pub fn realm_url(base: &Url, realm: &str) -> String {
    format!("{}/realms/{realm}", base.as_str().trim_end_matches('/'))
}

/// The Kubernetes client from `kubeconfig`, else kubectl's defaults or in-cluster (for services
/// that need Kubernetes without Keycloak; [`ConnectionSettings::kube_client`] calls it).
///
/// # Errors
///
/// [`Error::Client`] naming the kubeconfig, or saying where a configuration is looked for.
pub async fn kube_client(kubeconfig: Option<&Path>) -> Result<KubeClient> {
    match kubeconfig {
        Some(path) => KubeClient::from_kubeconfig(path)
            .await
            .map_err(|e| Error::Client {
                context: format!("--kubeconfig {}", path.display()),
                source: e.into(),
            }),
        None => KubeClient::try_default().await.map_err(|e| Error::Client {
            context: "no Kubernetes configuration: give --kubeconfig, set KUBECONFIG, or run \
                      in a pod with a service account"
                .into(),
            source: e.into(),
        }),
    }
}

impl ConnectionSettings {
    /// Checks the flags and reads the secret file.
    ///
    /// # Errors
    ///
    /// [`Error::Flag`] or [`Error::Missing`], naming the flag (and its environment variable)
    /// and what is wrong.
    pub fn resolve(args: &ConnectionArgs) -> Result<ConnectionSettings> {
        let keycloak_url = match optional(args.keycloak_url.as_ref()) {
            Some(url) => keycloak_base(&url, "--keycloak-url (KC_API_BASEURL)")?,
            None => {
                return Err(Error::Missing {
                    what: "Keycloak's base URL".into(),
                    how: "--keycloak-url (KC_API_BASEURL)".into(),
                });
            }
        };
        let client_secret = secret(
            args.client_secret.as_deref(),
            args.client_secret_file.as_deref(),
            "--client-secret (KC_CLIENT_SECRET)",
            "--client-secret-file (KC_CLIENT_SECRET_FILE)",
        )?
        .ok_or_else(|| Error::Missing {
            what: format!("the secret of the Keycloak client {:?}", args.client_id),
            how: "--client-secret-file (KC_CLIENT_SECRET_FILE) or KC_CLIENT_SECRET".into(),
        })?;
        let naming = RoleNaming::new(optional(args.role_prefix.as_ref())).map_err(|e| {
            Error::flag_because(
                "--role-prefix (KC_ROLE_PREFIX)",
                "is not a usable role prefix",
                e,
            )
        })?;
        if let Some(path) = &args.kubeconfig
            && !path.is_file()
        {
            return Err(Error::flag(
                "--kubeconfig",
                format!("{}: no such file", path.display()),
            ));
        }
        Ok(ConnectionSettings {
            keycloak_url,
            realm: non_empty(&args.realm, "--realm (KC_REALM)")?,
            client_id: non_empty(&args.client_id, "--client-id (KC_CLIENT_ID)")?,
            client_secret,
            kubeconfig: args.kubeconfig.clone(),
            namespace: non_empty(&args.namespace, "--namespace (K8S_CRD_NAMESPACE)")?,
            naming,
        })
    }

    /// The realm's OIDC endpoint `path` on the URL this service reaches Keycloak at.
    pub fn oidc_endpoint(&self, path: &str) -> String {
        format!(
            "{}/protocol/openid-connect/{path}",
            realm_url(&self.keycloak_url, &self.realm)
        )
    }

    /// Keycloak's admin API as the client's service account (no request is made here: the
    /// first call gets the token).
    ///
    /// # Errors
    ///
    /// [`Error::Client`] when the configuration is unusable.
    pub fn keycloak_admin(&self) -> Result<HttpKeycloak> {
        HttpKeycloak::new(HttpKeycloakConfig::new(
            self.keycloak_url.clone(),
            &self.realm,
            Credentials::client(&self.realm, &self.client_id, &self.client_secret),
        ))
        .map_err(|e| Error::Client {
            context: "the Keycloak client (--keycloak-url, --realm, --client-id, --client-secret)"
                .into(),
            source: e.into(),
        })
    }

    /// The Kubernetes client from `--kubeconfig`, else kubectl's defaults or in-cluster.
    ///
    /// # Errors
    ///
    /// [`Error::Client`] naming the kubeconfig, or saying where a configuration is looked for.
    pub async fn kube_client(&self) -> Result<KubeClient> {
        kube_client(self.kubeconfig.as_deref()).await
    }

    /// What to check when Keycloak refused `who` (e.g. `the API server`) in a way waiting cannot
    /// fix, naming the flags and their current values; `None` for other errors.
    pub fn keycloak_hint(&self, error: &KeycloakError, who: &str) -> Option<String> {
        match error {
            KeycloakError::Unauthorized { .. } => Some(format!(
                "Keycloak refused {who}'s token grant: check --keycloak-url (KC_API_BASEURL, \
                 now {}), --realm (KC_REALM, now {:?}; was it bootstrapped?), --client-id \
                 (KC_CLIENT_ID, now {:?}) and --client-secret / --client-secret-file \
                 (KC_CLIENT_SECRET)",
                self.keycloak_url, self.realm, self.client_id
            )),
            KeycloakError::NotFound { .. } => Some(format!(
                "Keycloak answered 404: check --keycloak-url (KC_API_BASEURL, now {}) and \
                 --realm (KC_REALM, now {:?}); was the realm bootstrapped (primehub bootstrap)?",
                self.keycloak_url, self.realm
            )),
            KeycloakError::Forbidden { .. } => Some(format!(
                "the service account of client {:?} lacks realm-management/realm-admin in realm \
                 {:?}",
                self.client_id, self.realm
            )),
            _ => None,
        }
    }

    /// What to check when the Kubernetes API refused a request: the kubeconfig's credentials
    /// and the Role of `manifests` (e.g. `deploy/apiserver`).
    pub fn kube_hint(&self, manifests: &str) -> String {
        format!(
            "the Kubernetes API refused a request in namespace {:?} (--namespace, \
             K8S_CRD_NAMESPACE): check the kubeconfig's credentials and the Role of {manifests}",
            self.namespace
        )
    }
}
