//! The HTTP side of a service: the listener is bound first and answers at once — `/healthz` is
//! 200 from the start (the process is alive, so a liveness probe does not restart a pod that
//! waits for Keycloak), `/readyz` is 503 with the [`StartStatus`], every other path gets the
//! service's own "starting" answer — and [`Serving::open`] switches every request to the
//! service's router once it has started. [`probes`] is that router for a service whose HTTP face
//! is only `/healthz`, `/readyz` and `/metrics` (a controller).

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use prometheus_client::registry::Registry;
use tokio::task::JoinHandle;
use tower::ServiceExt;

use crate::error::{Error, Result};
use crate::signals::{Shutdown, stopped};
use crate::start::StartStatus;

/// What answers a request: the service's router once open, the starting answers before.
#[derive(Clone)]
struct Gate {
    app: Arc<OnceLock<Router>>,
    starting: Router,
}

async fn dispatch(State(gate): State<Gate>, request: Request) -> Response {
    let router = gate.app.get().unwrap_or(&gate.starting).clone();
    match router.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// A bound listener serving until the shutdown (see the [module docs](self)).
#[derive(Debug)]
pub struct Serving {
    address: SocketAddr,
    app: Arc<OnceLock<Router>>,
    status: StartStatus,
    task: JoinHandle<std::io::Result<()>>,
}

/// Binds `listen` and serves the starting answers: `/healthz` 200, `/readyz` 503 with the
/// [`Serving::status`], any other request answered by `starting`. Serving stops gracefully when
/// `shutdown` fires.
///
/// # Errors
///
/// [`Error::Listen`] when the address cannot be bound.
pub async fn serve(listen: SocketAddr, starting: Router, shutdown: Shutdown) -> Result<Serving> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| Error::Listen {
            address: listen,
            source,
        })?;
    let address = listener.local_addr().map_err(|source| Error::Listen {
        address: listen,
        source,
    })?;
    let status = StartStatus::default();
    let readyz = {
        let status = status.clone();
        move || {
            let reason = status.get();
            async move { (StatusCode::SERVICE_UNAVAILABLE, reason) }
        }
    };
    let gate = Gate {
        app: Arc::new(OnceLock::new()),
        starting: Router::new()
            .route("/healthz", get(|| async { "ok" }))
            .route("/readyz", get(readyz))
            .fallback_service(starting),
    };
    let app = gate.app.clone();
    let router = Router::new().fallback(dispatch).with_state(gate);
    let task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(stopped(shutdown))
            .await
    });
    tracing::info!(address = %address, "listening");
    Ok(Serving {
        address,
        app,
        status,
        task,
    })
}

impl Serving {
    /// The bound address (with the port chosen when `--listen` asked for port 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// What `/readyz` says while the service starts.
    pub fn status(&self) -> &StartStatus {
        &self.status
    }

    /// From now on every request goes to `app` (a second call is ignored).
    pub fn open(&self, app: Router) {
        let _ = self.app.set(app);
    }

    /// Stops serving at once (the start failed).
    pub fn abort(self) {
        self.task.abort();
    }

    /// Waits until serving stopped (after the shutdown, once open connections are done).
    ///
    /// # Errors
    ///
    /// [`Error::Serve`] when serving failed.
    pub async fn finish(self) -> Result<()> {
        match self.task.await {
            Ok(served) => served.map_err(Error::Serve),
            Err(join) => Err(Error::Serve(std::io::Error::other(join))),
        }
    }
}

/// The router of a service whose HTTP face is its probes and metrics: `GET /healthz` 200,
/// `GET /readyz` 200 when `ready` says so and 503 with its reason otherwise, `GET /metrics`
/// the `registry` in the Prometheus text format (OpenMetrics).
pub fn probes(
    ready: impl Fn() -> std::result::Result<(), String> + Send + Sync + 'static,
    registry: Arc<Registry>,
) -> Router {
    probes_rendering(ready, move || {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
        text
    })
}

/// [`probes`] with `/metrics` rendered by `render` (already in the OpenMetrics text format),
/// for a registry behind a lock.
pub fn probes_rendering(
    ready: impl Fn() -> std::result::Result<(), String> + Send + Sync + 'static,
    render: impl Fn() -> String + Send + Sync + 'static,
) -> Router {
    let ready = Arc::new(ready);
    let render = Arc::new(render);
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(move || {
                let answer = match ready() {
                    Ok(()) => (StatusCode::OK, "ready".to_owned()),
                    Err(why) => (StatusCode::SERVICE_UNAVAILABLE, why),
                };
                async move { answer }
            }),
        )
        .route(
            "/metrics",
            get(move || {
                let text = render();
                async move {
                    (
                        [(
                            header::CONTENT_TYPE,
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        )],
                        text,
                    )
                }
            }),
        )
}

/// A starting answer for services without a richer one: 503 `starting`.
pub fn starting_text() -> Router {
    Router::new().fallback(|| async { (StatusCode::SERVICE_UNAVAILABLE, "starting") })
}
