//! Wiring: the backends from the settings, the start with retries, and the HTTP server.
//!
//! The listener is bound first and answers at once ([`primehub_service::http`]): `/healthz` is
//! 200 from the start (the process is alive), `/readyz` is 503 with the reason until the API is
//! ready, and every other path is 503 `API_UNAVAILABLE` meanwhile. The start
//! ([`primehub_graphql::server::start`]: fill the Keycloak cache, fill the resource stores) is
//! retried with exponential backoff (1 s doubling to 30 s, [`primehub_service::start`]) while the
//! failure is transient — Keycloak or the Kubernetes API unreachable, answering 5xx, or the
//! stores not filling — for `--startup-timeout`, each failure logged as a warning. Failures that
//! waiting cannot fix (Keycloak refusing the client credentials, an unknown realm, a service
//! account without `realm-admin`) end the process at once with an error naming the flags to
//! check. SIGTERM or Ctrl-C stops serving gracefully at any time, also during the start.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use primehub_graphql::server::{Backends, ServerOptions};
use primehub_keycloak::http::HttpKeycloak;
use primehub_keycloak::token::{TokenVerifier, TokenVerifierConfig};
use primehub_model::clock::{Clock, SystemClock};
use primehub_reconcile::kube_client::KubeClient;
use primehub_service::start::{Failure, StartOptions, start_with_retries};

pub use primehub_service::signals::{Shutdown, shutdown_on_signals};

use crate::settings::Settings;

/// The clients whose access tokens the API accepts (`aud` or `azp`), as PrimeHub's console,
/// JupyterHub and Keycloak's account console obtain them.
pub const AUDIENCES: [&str; 3] = ["admin-ui", "jupyterhub", "account"];

/// What the start needs, built once (no request is made here).
struct Parts {
    admin: Arc<HttpKeycloak>,
    verifier: Arc<TokenVerifier>,
    kube: KubeClient,
    clock: Arc<dyn Clock>,
}

impl Parts {
    async fn build(settings: &Settings) -> anyhow::Result<Parts> {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let connection = &settings.connection;
        let admin = connection.keycloak_admin()?;
        let mut verifier_config = TokenVerifierConfig::new(settings.issuer(), AUDIENCES);
        verifier_config.jwks_url = Some(settings.oidc_endpoint("certs"));
        verifier_config.token_url = Some(settings.oidc_endpoint("token"));
        verifier_config.api_token_client = Some((
            connection.client_id.clone(),
            connection.client_secret.clone(),
        ));
        verifier_config.clock = clock.clone();
        let verifier = TokenVerifier::new(verifier_config)
            .context("the token verifier (--keycloak-public-url, --realm)")?;
        let kube = connection.kube_client().await?;
        Ok(Parts {
            admin: Arc::new(admin),
            verifier: Arc::new(verifier),
            kube,
            clock,
        })
    }

    fn backends(&self) -> Backends {
        Backends {
            admin: self.admin.clone(),
            kube: Arc::new(self.kube.clone()),
            kube_client: self.kube.client().clone(),
            verifier: Some(self.verifier.clone()),
            clock: self.clock.clone(),
        }
    }
}

fn options(settings: &Settings) -> ServerOptions {
    let mut options = ServerOptions::new(settings.connection.namespace.clone());
    options.api.naming = settings.connection.naming.clone();
    options.api.api_token_client = settings.connection.client_id.clone();
    options.api.storage_class = settings.storage_class.clone();
    options.api.group_sc = settings.group_sc.clone();
    options.api.upload_server_base_url = settings.upload_server_url.clone();
    options.api.graphql_host = settings.graphql_host.clone();
    options.api.notebook = settings.notebook.clone();
    options.shared_secret = settings.shared_secret.clone();
    options
}

/// Whether waiting may fix a start failure, and what to check when it cannot.
fn classify(error: &primehub_graphql::Error, settings: &Settings) -> Failure {
    use primehub_graphql::Error;
    let transient = match error {
        Error::Keycloak(e) => e.is_transient(),
        Error::Kube(e) => e.is_transient(),
        other => other.code() == primehub_graphql::ErrorCode::ApiUnavailable,
    };
    if transient {
        return Failure::Transient;
    }
    let connection = &settings.connection;
    Failure::Permanent(match error {
        Error::Keycloak(e) => connection
            .keycloak_hint(e, "the API server")
            .unwrap_or_else(|| "starting the API failed".to_owned()),
        Error::Kube(_) => connection.kube_hint("deploy/apiserver"),
        _ => "starting the API failed".to_owned(),
    })
}

async fn starting_other() -> Response {
    let body = serde_json::json!({"errors": [{
        "message": "the API server is starting, try again",
        "extensions": {"code": "API_UNAVAILABLE"},
    }]});
    (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
}

/// Runs the server until `shutdown`: binds `--listen`, serves the starting answers, starts the
/// API (with retries), then serves it. `on_listening` is called with the bound address.
///
/// # Errors
///
/// A bad listener address, unusable backends configuration, or a start failure (see the module
/// documentation), each naming the flags to check.
pub async fn run(
    settings: Settings,
    shutdown: Shutdown,
    on_listening: impl FnOnce(SocketAddr),
) -> anyhow::Result<()> {
    let parts = Parts::build(&settings).await?;
    let serving = primehub_service::http::serve(
        settings.listen,
        Router::new().fallback(starting_other),
        shutdown.clone(),
    )
    .await?;
    let address = serving.address();
    on_listening(address);
    let connection = &settings.connection;
    tracing::info!(
        keycloak_url = %connection.keycloak_url,
        realm = %connection.realm,
        client_id = %connection.client_id,
        namespace = %connection.namespace,
        issuer = %settings.issuer(),
        shared_secret = settings.shared_secret.is_some(),
        "starting the API"
    );
    if settings.shared_secret.is_none() {
        tracing::warn!(
            "no shared secret (--shared-secret-file, SHARED_GRAPHQL_SECRET_KEY): \
             server-to-server clients such as JupyterHub cannot call the API"
        );
    }
    let started = start_with_retries(
        StartOptions {
            what: "the API",
            connection,
            timeout: settings.startup_timeout,
            status: serving.status(),
        },
        shutdown,
        || primehub_graphql::server::start(parts.backends(), options(&settings)),
        |e| classify(e, &settings),
    )
    .await;
    let running = match started {
        Ok(running) => running,
        Err(e) => {
            serving.abort();
            return Err(e.into());
        }
    };
    // Kept alive (its background tasks run) until the server stops.
    let _running = match running {
        Some(running) => {
            serving.open(running.service.router());
            tracing::info!(address = %address, "ready: serving /api/graphql");
            Some(running)
        }
        None => None,
    };
    serving.finish().await?;
    tracing::info!("stopped");
    Ok(())
}
