//! What every PrimeHub service binary (`primehub-apiserver`, `primehub-controller`) shares, so
//! each is wiring and its own flags only:
//!
//! | module | what |
//! |---|---|
//! | [`cli`] | the Keycloak and Kubernetes connection flags ([`cli::ConnectionArgs`]: `--keycloak-url`, `--realm`, `--client-id`, `--client-secret[-file]`, `--kubeconfig`, `--namespace`, `--role-prefix`, with PrimeHub's environment names) and the process flags ([`cli::ProcessArgs`]: `--startup-timeout`, `--log-format`), to `#[command(flatten)]` |
//! | [`settings`] | their checks (every error names the flag and its environment variable), secret files, and the clients: Keycloak's admin API as the client's service account, the Kubernetes client |
//! | [`start`] | the start with exponential-backoff retries of transient failures, a hint naming the flags for permanent ones |
//! | [`http`] | the listener that answers `/healthz` and `/readyz` at once and the service's router once started; [`http::probes`], the `/healthz` `/readyz` `/metrics` router of a controller |
//! | [`signals`] | a shutdown signal fired by SIGTERM or Ctrl-C |
//! | [`logging`] | the `tracing` subscriber, JSON or human |
//!
//! ```
//! use clap::Parser;
//! use primehub_service::cli::ConnectionArgs;
//! use primehub_service::settings::ConnectionSettings;
//!
//! #[derive(Parser)]
//! struct Args {
//!     #[command(flatten)]
//!     connection: ConnectionArgs,
//! }
//!
//! let args = Args::parse_from(["svc", "--keycloak-url", "ftp://kc", "--client-secret", "s"]);
//! let error = ConnectionSettings::resolve(&args.connection).unwrap_err();
//! assert!(error.to_string().starts_with("--keycloak-url (KC_API_BASEURL)"));
//!
//! let args = Args::parse_from(["svc", "--keycloak-url", "http://kc/", "--client-secret", "s3cret"]);
//! let settings = ConnectionSettings::resolve(&args.connection)?;
//! assert_eq!(
//!     settings.oidc_endpoint("token"),
//!     "http://kc/realms/primehub/protocol/openid-connect/token"
//! );
//! assert!(!format!("{settings:?}").contains("s3cret"), "the secret is redacted");
//! # Ok::<(), primehub_service::Error>(())
//! ```

pub mod cli;
pub mod error;
pub mod http;
pub mod logging;
pub mod settings;
pub mod signals;
pub mod start;

pub use error::{Error, Result};
