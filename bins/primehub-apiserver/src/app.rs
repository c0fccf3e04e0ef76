//! Wiring: the backends from the settings, the start with retries, and the HTTP server.
//!
//! The listener is bound first and answers at once: `/healthz` is 200 from the start (the
//! process is alive), `/readyz` is 503 with the reason until the API is ready, and every other
//! path is 503 `API_UNAVAILABLE` meanwhile. The start ([`primehub_graphql::server::start`]:
//! fill the Keycloak cache, fill the resource stores) is retried with exponential backoff (1 s
//! doubling to 30 s) while the failure is transient — Keycloak or the Kubernetes API
//! unreachable, answering 5xx, or the stores not filling — for `--startup-timeout`, each failure
//! logged as a warning. Failures that waiting cannot fix (Keycloak refusing the client
//! credentials, an unknown realm, a service account without `realm-admin`) end the process at
//! once with an error naming the flags to check. SIGTERM or Ctrl-C stops serving gracefully at
//! any time, also during the start.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use backon::{ExponentialBuilder, Retryable};
use primehub_graphql::server::{Backends, RunningApi, ServerOptions};
use primehub_keycloak::KeycloakError;
use primehub_keycloak::http::{Credentials, HttpKeycloak, HttpKeycloakConfig};
use primehub_keycloak::token::{TokenVerifier, TokenVerifierConfig};
use primehub_model::clock::{Clock, SystemClock};
use primehub_reconcile::kube_client::KubeClient;
use tokio::sync::watch;
use tower::ServiceExt;

use crate::settings::Settings;

/// The clients whose access tokens the API accepts (`aud` or `azp`), as PrimeHub's console,
/// JupyterHub and Keycloak's account console obtain them.
pub const AUDIENCES: [&str; 3] = ["admin-ui", "jupyterhub", "account"];

/// A signal to stop: `true` once SIGTERM or Ctrl-C arrived (or a test asked).
pub type Shutdown = watch::Receiver<bool>;

/// A sender and receiver for [`Shutdown`], with the sender fired by SIGTERM or Ctrl-C.
pub fn shutdown_on_signals() -> Shutdown {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for SIGTERM");
                    std::future::pending::<()>().await;
                }
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            () = ctrl_c => tracing::info!("Ctrl-C: stopping"),
            () = term => tracing::info!("SIGTERM: stopping"),
        }
        let _ = tx.send(true);
    });
    rx
}

async fn stopped(mut shutdown: Shutdown) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// The Kubernetes client from `--kubeconfig`, else kubectl's defaults or in-cluster.
async fn kube_client(settings: &Settings) -> anyhow::Result<KubeClient> {
    match &settings.kubeconfig {
        Some(path) => KubeClient::from_kubeconfig(path)
            .await
            .with_context(|| format!("--kubeconfig {}", path.display())),
        None => KubeClient::try_default().await.context(
            "no Kubernetes configuration: give --kubeconfig, set KUBECONFIG, or run in a pod \
             with a service account",
        ),
    }
}

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
        let admin = HttpKeycloak::new(HttpKeycloakConfig::new(
            settings.keycloak_url.clone(),
            &settings.realm,
            Credentials::client(
                &settings.realm,
                &settings.client_id,
                &settings.client_secret,
            ),
        ))
        .context("the Keycloak client (--keycloak-url, --realm, --client-id, --client-secret)")?;
        let mut verifier_config = TokenVerifierConfig::new(settings.issuer(), AUDIENCES);
        verifier_config.jwks_url = Some(settings.oidc_endpoint("certs"));
        verifier_config.token_url = Some(settings.oidc_endpoint("token"));
        verifier_config.api_token_client =
            Some((settings.client_id.clone(), settings.client_secret.clone()));
        verifier_config.clock = clock.clone();
        let verifier = TokenVerifier::new(verifier_config)
            .context("the token verifier (--keycloak-public-url, --realm)")?;
        let kube = kube_client(settings).await?;
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
    let mut options = ServerOptions::new(settings.namespace.clone());
    options.api.naming = settings.naming.clone();
    options.api.api_token_client = settings.client_id.clone();
    options.api.storage_class = settings.storage_class.clone();
    options.api.upload_server_base_url = settings.upload_server_url.clone();
    options.shared_secret = settings.shared_secret.clone();
    options
}

/// Whether waiting may fix a start failure.
fn is_transient(error: &primehub_graphql::Error) -> bool {
    use primehub_graphql::Error;
    match error {
        Error::Keycloak(e) => e.is_transient(),
        Error::Kube(e) => e.is_transient(),
        other => other.code() == primehub_graphql::ErrorCode::ApiUnavailable,
    }
}

/// What to check when a start failure is final.
fn hint(error: &primehub_graphql::Error, settings: &Settings) -> String {
    match error {
        primehub_graphql::Error::Keycloak(KeycloakError::Unauthorized { .. }) => format!(
            "Keycloak refused the API server's token grant: check --keycloak-url \
             (KC_API_BASEURL, now {}), --realm (KC_REALM, now {:?}; was it bootstrapped?), \
             --client-id (KC_CLIENT_ID, now {:?}) and --client-secret / --client-secret-file \
             (KC_CLIENT_SECRET)",
            settings.keycloak_url, settings.realm, settings.client_id
        ),
        primehub_graphql::Error::Keycloak(KeycloakError::NotFound { .. }) => format!(
            "Keycloak answered 404: check --keycloak-url (KC_API_BASEURL, now {}) and --realm \
             (KC_REALM, now {:?}); was the realm bootstrapped (primehub bootstrap)?",
            settings.keycloak_url, settings.realm
        ),
        primehub_graphql::Error::Keycloak(KeycloakError::Forbidden { .. }) => format!(
            "the service account of client {:?} lacks realm-management/realm-admin in realm {:?}",
            settings.client_id, settings.realm
        ),
        primehub_graphql::Error::Kube(_) => format!(
            "the Kubernetes API refused a request in namespace {:?} (--namespace, \
             K8S_CRD_NAMESPACE): check the kubeconfig's credentials and the Role of \
             deploy/apiserver",
            settings.namespace
        ),
        _ => "starting the API failed".to_owned(),
    }
}

/// Starts the API, retrying transient failures until the startup timeout; `Ok(None)` when a
/// shutdown arrived first.
async fn start_with_retries(
    settings: &Settings,
    parts: &Parts,
    status: &Mutex<String>,
    shutdown: Shutdown,
) -> anyhow::Result<Option<RunningApi>> {
    let deadline = settings.startup_timeout.map(|t| Instant::now() + t);
    let backoff = ExponentialBuilder::default()
        .with_min_delay(Duration::from_secs(1))
        .with_max_delay(Duration::from_secs(30))
        .with_jitter()
        .without_max_times();
    let attempt = || primehub_graphql::server::start(parts.backends(), options(settings));
    let retried = attempt
        .retry(backoff)
        .when(|e| is_transient(e) && deadline.is_none_or(|d| Instant::now() < d))
        .notify(|e, delay| {
            let message = format!("not ready: {e}");
            if let Ok(mut s) = status.lock() {
                *s = message.clone();
            }
            tracing::warn!(
                error = %e,
                retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                keycloak_url = %settings.keycloak_url,
                namespace = %settings.namespace,
                "the API could not start yet (Keycloak or the Kubernetes API unreachable?); retrying"
            );
        });
    tokio::select! {
        result = retried => match result {
            Ok(running) => Ok(Some(running)),
            Err(e) if is_transient(&e) => Err(anyhow::Error::new(e).context(format!(
                "still failing after --startup-timeout ({}s): is Keycloak reachable at \
                 --keycloak-url {} and the Kubernetes API through the kubeconfig?",
                settings.startup_timeout.map_or(0, |t| t.as_secs()),
                settings.keycloak_url
            ))),
            Err(e) => {
                let hint = hint(&e, settings);
                Err(anyhow::Error::new(e).context(hint))
            }
        },
        () = stopped(shutdown) => Ok(None),
    }
}

/// Routes to the API once it is ready, to the starting answers before.
#[derive(Clone)]
struct Gate {
    api: Arc<OnceLock<Router>>,
    status: Arc<Mutex<String>>,
}

async fn starting_readyz(State(gate): State<Gate>) -> Response {
    let status = gate
        .status
        .lock()
        .map(|s| s.clone())
        .unwrap_or_else(|_| "starting".to_owned());
    (StatusCode::SERVICE_UNAVAILABLE, status).into_response()
}

async fn starting_other() -> Response {
    let body = serde_json::json!({"errors": [{
        "message": "the API server is starting, try again",
        "extensions": {"code": "API_UNAVAILABLE"},
    }]});
    (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
}

async fn dispatch(State(gate): State<Gate>, request: Request) -> Response {
    let router = match gate.api.get() {
        Some(api) => api.clone(),
        None => Router::new()
            .route("/healthz", get(|| async { "ok" }))
            .route("/readyz", get(starting_readyz))
            .fallback(starting_other)
            .with_state(gate.clone()),
    };
    match router.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
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
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("--listen {}: cannot bind", settings.listen))?;
    let address = listener
        .local_addr()
        .with_context(|| format!("--listen {}", settings.listen))?;
    let gate = Gate {
        api: Arc::new(OnceLock::new()),
        status: Arc::new(Mutex::new("starting".to_owned())),
    };
    let app = Router::new().fallback(dispatch).with_state(gate.clone());
    let serving_shutdown = shutdown.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(stopped(serving_shutdown))
            .await
    });
    tracing::info!(address = %address, "listening");
    on_listening(address);
    tracing::info!(
        keycloak_url = %settings.keycloak_url,
        realm = %settings.realm,
        client_id = %settings.client_id,
        namespace = %settings.namespace,
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
    let running = match start_with_retries(&settings, &parts, &gate.status, shutdown.clone()).await
    {
        Ok(running) => running,
        Err(e) => {
            server.abort();
            return Err(e);
        }
    };
    // Kept alive (its background tasks run) until the server stops.
    let _running = match running {
        Some(running) => {
            let _ = gate.api.set(running.service.router());
            tracing::info!(address = %address, "ready: serving /api/graphql");
            Some(running)
        }
        None => None,
    };
    server
        .await
        .context("the HTTP server task")?
        .context("serving HTTP")?;
    tracing::info!("stopped");
    Ok(())
}
