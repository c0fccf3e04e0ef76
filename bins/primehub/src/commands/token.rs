//! `primehub token`: an API token from a PrimeHub API server, as PrimeHub's console issues
//! them — a Keycloak offline token through the `admin-ui` client — printed on stdout for
//! `Authorization: Bearer …` (the Python SDK's `PRIMEHUB_API_TOKEN`).

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;

/// Where the password comes from when no file is given.
pub const PASSWORD_ENV: &str = "PRIMEHUB_PASSWORD";

/// Flags of `primehub token`.
#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    /// The API server's base URL (`primehub dev` listens on http://127.0.0.1:8080).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// The user.
    #[arg(long)]
    pub username: String,
    /// A file holding the password (else PRIMEHUB_PASSWORD; never on the command line).
    #[arg(long)]
    pub password_file: Option<PathBuf>,
}

/// Asks `<url>/api/token` for an API token and writes it, with a newline, to `out`.
pub async fn run(
    args: &TokenArgs,
    env: &dyn Fn(&str) -> Option<String>,
    out: &mut dyn Write,
) -> anyhow::Result<String> {
    let password = match &args.password_file {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("--password-file {}: cannot read it", path.display()))?
            .trim_end_matches(['\n', '\r'])
            .to_owned(),
        None => env(PASSWORD_ENV)
            .with_context(|| format!("no password: give --password-file or set {PASSWORD_ENV}"))?,
    };
    let base =
        url::Url::parse(&args.url).with_context(|| format!("--url {}: not a URL", args.url))?;
    let endpoint = base
        .join("api/token")
        .with_context(|| format!("--url {}: cannot add api/token", args.url))?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let response = reqwest::Client::new()
        .post(endpoint.clone())
        .form(&[
            ("username", args.username.as_str()),
            ("password", password.as_str()),
        ])
        .send()
        .await
        .with_context(|| format!("--url {}: the API server did not answer", args.url))?;
    let status = response.status();
    let body: serde_json::Value = response
        .json()
        .await
        .with_context(|| format!("{endpoint}: the answer ({status}) is not JSON"))?;
    if status.as_u16() == 401 {
        bail!("user {}: invalid username or password", args.username);
    }
    let Some(token) = body.get("apiToken").and_then(|t| t.as_str()) else {
        bail!("{endpoint} answered {status}: {body}");
    };
    writeln!(out, "{token}")?;
    Ok(token.to_owned())
}
