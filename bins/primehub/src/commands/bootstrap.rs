//! `primehub bootstrap`: put PrimeHub's realm shape on a real Keycloak, idempotently.
//!
//! Wiring over [`primehub_keycloak::bootstrap::bootstrap_realm`]: the realm (user profile keeping
//! PrimeHub's attributes), the clients `admin-ui` (service account with `realm-admin`) and
//! `jupyterhub` (PrimeHub's protocol mappers), the default group `everyone`, and optionally the
//! administrator `phadmin`. Passwords come from files or environment variables, never from the
//! command line (which other users can read in the process list).
//!
//! With `--kubeconfig`, the client Secrets PrimeHub's components read
//! (`primehub-client-admin-ui`, `primehub-client-jupyterhub`) are then written into
//! `--namespace` with [`primehub_reconcile::bootstrap::write_client_secrets`], as upstream's
//! `bootstrap.sh` does with `kubectl apply`. The kubeconfig is read before Keycloak is touched,
//! so a bad one fails the command early.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use primehub_keycloak::bootstrap::{BootstrapOutcome, RealmBootstrap, bootstrap_realm};
use primehub_keycloak::http::{Credentials, HttpKeycloak, HttpKeycloakConfig};
use primehub_reconcile::bootstrap::{WrittenSecret, write_client_secrets};
use primehub_reconcile::kube_client::KubeClient;

/// The environment variable holding the master-realm admin's password.
pub const MASTER_PASSWORD_ENV: &str = "PRIMEHUB_KEYCLOAK_MASTER_PASSWORD";
/// The environment variable holding the initial password of PrimeHub's administrator.
pub const ADMIN_PASSWORD_ENV: &str = "PRIMEHUB_ADMIN_PASSWORD";

/// Flags of `primehub bootstrap`.
#[derive(Debug, Clone, Args)]
pub struct BootstrapArgs {
    /// Keycloak's base URL, for example `https://id.example.com`.
    #[arg(long)]
    pub keycloak_url: String,
    /// The realm to set up.
    #[arg(long, default_value = "primehub")]
    pub realm: String,
    /// A master-realm administrator (password grant through `admin-cli`).
    #[arg(long, default_value = "admin")]
    pub master_user: String,
    /// A file holding the master administrator's password; without it the password is read from
    /// PRIMEHUB_KEYCLOAK_MASTER_PASSWORD.
    #[arg(long)]
    pub master_password_file: Option<PathBuf>,
    /// The PrimeHub administrator to create.
    #[arg(long, default_value = "phadmin")]
    pub admin_username: String,
    /// A file holding the administrator's initial password (else PRIMEHUB_ADMIN_PASSWORD); with
    /// neither, no administrator is created.
    #[arg(long)]
    pub admin_password_file: Option<PathBuf>,
    /// A redirect URI of `admin-ui` (repeatable), e.g. `https://hub.example.com/console/*`.
    #[arg(long = "admin-ui-redirect-uri")]
    pub admin_ui_redirect_uris: Vec<String>,
    /// A redirect URI of `jupyterhub` (repeatable), e.g.
    /// `https://hub.example.com/hub/oauth_callback`.
    #[arg(long = "jupyterhub-redirect-uri")]
    pub jupyterhub_redirect_uris: Vec<String>,
    /// A kubeconfig of the cluster PrimeHub runs in: when given, the client Secrets
    /// `primehub-client-admin-ui` and `primehub-client-jupyterhub` are written into
    /// `--namespace` (created, or updated when they differ).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// PrimeHub's namespace, for the client Secrets (with `--kubeconfig`).
    #[arg(long, default_value = "hub")]
    pub namespace: String,
    /// Print the outcome as JSON (secrets included) instead of text.
    #[arg(long)]
    pub json: bool,
}

fn secret(
    file: Option<&PathBuf>,
    env_name: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Option<String>> {
    let value = match file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("reading the password file {}", path.display()))?,
        ),
        None => env(env_name),
    };
    match value.map(|v| v.trim_end_matches(['\r', '\n']).to_owned()) {
        Some(v) if v.is_empty() => bail!("the password from {env_name} or its file is empty"),
        other => Ok(other),
    }
}

/// Runs the bootstrap and writes the outcome to `out`; `env` reads environment variables.
pub async fn run(
    args: &BootstrapArgs,
    env: &dyn Fn(&str) -> Option<String>,
    out: &mut dyn Write,
) -> anyhow::Result<BootstrapOutcome> {
    let base = url::Url::parse(&args.keycloak_url)
        .with_context(|| format!("--keycloak-url {:?} is not a URL", args.keycloak_url))?;
    let master_password = secret(args.master_password_file.as_ref(), MASTER_PASSWORD_ENV, env)?
        .with_context(|| {
            format!("the master administrator's password is needed: --master-password-file or {MASTER_PASSWORD_ENV}")
        })?;
    let admin_password = secret(args.admin_password_file.as_ref(), ADMIN_PASSWORD_ENV, env)?;
    let cluster = match &args.kubeconfig {
        Some(path) => Some(
            KubeClient::from_kubeconfig(path)
                .await
                .with_context(|| format!("--kubeconfig {}", path.display()))?,
        ),
        None => None,
    };

    let master = HttpKeycloak::new(HttpKeycloakConfig::new(
        base,
        "master",
        Credentials::master_admin(&args.master_user, &master_password),
    ))?;
    let mut spec = RealmBootstrap::new(&args.realm);
    spec.admin_ui_redirect_uris = args.admin_ui_redirect_uris.clone();
    spec.jupyterhub_redirect_uris = args.jupyterhub_redirect_uris.clone();
    if let Some(password) = admin_password {
        spec = spec.with_admin_user(&args.admin_username, password);
    }
    let outcome = bootstrap_realm(&master, &spec)
        .await
        .with_context(|| format!("bootstrapping realm {:?}", args.realm))?;
    let secrets: Vec<WrittenSecret> = match cluster {
        Some(cluster) => {
            write_client_secrets(std::sync::Arc::new(cluster), &args.namespace, &outcome)
                .await
                .with_context(|| {
                    format!(
                        "writing the client Secrets into namespace {:?}",
                        args.namespace
                    )
                })?
        }
        None => Vec::new(),
    };

    if args.json {
        let json = serde_json::json!({
            "realm": outcome.realm,
            "created": outcome.created,
            "present": outcome.present,
            "adminUiClientSecret": outcome.admin_ui_client_secret,
            "jupyterhubClientSecret": outcome.jupyterhub_client_secret,
            "everyoneGroupId": outcome.everyone_group_id,
            "adminUserId": outcome.admin_user_id,
            "secrets": secrets
                .iter()
                .map(|w| serde_json::json!({
                    "namespace": args.namespace,
                    "name": w.name,
                    "change": w.change.as_str(),
                }))
                .collect::<Vec<_>>(),
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&json)?)?;
    } else {
        writeln!(out, "realm {}", outcome.realm)?;
        for item in &outcome.created {
            writeln!(out, "  created  {item}")?;
        }
        for item in &outcome.present {
            writeln!(out, "  present  {item}")?;
        }
        writeln!(
            out,
            "admin-ui client secret:   {}",
            outcome.admin_ui_client_secret
        )?;
        writeln!(
            out,
            "jupyterhub client secret: {}",
            outcome.jupyterhub_client_secret
        )?;
        writeln!(
            out,
            "everyone group id:        {}",
            outcome.everyone_group_id
        )?;
        if let Some(id) = &outcome.admin_user_id {
            writeln!(out, "{} user id:          {id}", args.admin_username)?;
        }
        for w in &secrets {
            writeln!(
                out,
                "secret {}/{}: {}",
                args.namespace,
                w.name,
                w.change.as_str()
            )?;
        }
    }
    Ok(outcome)
}
