//! Wiring: the clients, the pod watch and the quota source, the handlers at PrimeHub's paths,
//! HTTPS with certificate reload, and the plain-HTTP probes.
//!
//! The plain-HTTP listener (`--listen`) is bound first and answers at once: `/healthz` is 200
//! from the start, `/readyz` 503 with the reason. With `--quota-source keycloak` the Keycloak
//! cache is filled first, retried with exponential backoff (1 s doubling to 30 s) while Keycloak
//! is unreachable, for `--startup-timeout`; refused credentials or an unknown realm end the
//! process at once with an error naming the flags. Then the pod watch starts, the HTTPS
//! listener (`--tls-listen`) is bound and the webhooks are served; `/readyz` is 200 once the
//! namespace's pods are listed. Until then decisions follow `--undecided` (the API server, with
//! PrimeHub's `failurePolicy: Ignore`, admits pods while the webhook is not listening at all).
//! SIGTERM or Ctrl-C stops serving gracefully.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::routing::get;
use primehub_keycloak::KeycloakAdmin;
use primehub_keycloak::cache::{CacheConfig, KeycloakCache};
use primehub_model::clock::SystemClock;
use primehub_model::names;
use primehub_reconcile::KubeApi;
use primehub_reconcile::admission::AdmissionHandler;
use primehub_reconcile::stores::PodUsage;
use primehub_reconcile::webhook::image_mutation::ImageMutation;
use primehub_reconcile::webhook::in_flight::InFlight;
use primehub_reconcile::webhook::license_check::LicenseCheck;
use primehub_reconcile::webhook::metrics::WebhookMetrics;
use primehub_reconcile::webhook::pvc_check::PvcCheck;
use primehub_reconcile::webhook::quotas::{GraphqlQuotas, KeycloakQuotas, QuotaSource};
use primehub_reconcile::webhook::resources::ResourcesValidation;
use primehub_reconcile::webhook::{self};
use primehub_service::http::{serve, starting_text};
use primehub_service::settings::kube_client;
use primehub_service::signals::stopped;
use primehub_service::start::{Failure, StartOptions, start_with_retries};

pub use primehub_service::signals::{Shutdown, shutdown_on_signals};

use crate::settings::{QuotaSettings, Settings};
use crate::tls::TlsFiles;

/// Where the webhook listens, once bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addresses {
    /// Plain HTTP: probes and metrics.
    pub http: SocketAddr,
    /// HTTPS: the webhooks.
    pub https: SocketAddr,
}

/// What `/readyz` says while the namespace's pods are being listed.
pub const WAITING_FOR_PODS: &str = "not ready: listing the namespace's pods";

/// `/healthz`, `/readyz` and `/metrics` of the webhook.
fn probes(validation: Arc<ResourcesValidation>, metrics: WebhookMetrics) -> Router {
    let ready = validation.clone();
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(move || {
                let answer = if ready.is_ready() {
                    (StatusCode::OK, "ready")
                } else {
                    (StatusCode::SERVICE_UNAVAILABLE, WAITING_FOR_PODS)
                };
                async move { answer }
            }),
        )
        .route(
            "/metrics",
            get(move || {
                validation.refresh_gauges();
                let text = metrics.encode();
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

/// The webhooks at PrimeHub's paths.
pub fn webhooks(
    validation: Arc<ResourcesValidation>,
    kube: Arc<dyn KubeApi>,
    settings: &Settings,
    metrics: &WebhookMetrics,
) -> Router {
    let endpoints: Vec<(String, Arc<dyn AdmissionHandler>)> = vec![
        (ResourcesValidation::PATH.to_owned(), validation),
        (
            PvcCheck::PATH.to_owned(),
            Arc::new(PvcCheck::new(kube).with_label_selector(settings.pvc_label_selector.clone())),
        ),
        (
            ImageMutation::PATH.to_owned(),
            Arc::new(ImageMutation::new(settings.image_prefix.clone())),
        ),
        (
            LicenseCheck::PATH.to_owned(),
            Arc::new(LicenseCheck::new(settings.platform_type.as_deref())),
        ),
    ];
    webhook::router(endpoints, metrics)
}

/// Fills the Keycloak cache (with retries) and follows Keycloak in a spawned task; `None` when
/// `shutdown` came first.
async fn keycloak_quotas(
    connection: &primehub_service::settings::ConnectionSettings,
    settings: &Settings,
    status: &primehub_service::start::StartStatus,
    shutdown: Shutdown,
) -> anyhow::Result<Option<(Arc<dyn QuotaSource>, tokio::task::JoinHandle<()>)>> {
    let admin: Arc<dyn KeycloakAdmin> = Arc::new(connection.keycloak_admin()?);
    let loaded = start_with_retries(
        StartOptions {
            what: "the webhook",
            connection,
            timeout: settings.startup_timeout,
            status,
        },
        shutdown,
        || KeycloakCache::load(admin.clone(), Arc::new(SystemClock), CacheConfig::default()),
        |e| {
            if e.is_transient() {
                Failure::Transient
            } else {
                Failure::Permanent(connection.keycloak_hint(e, "the webhook").unwrap_or_else(
                    || format!("Keycloak refused a call in realm {:?}", connection.realm),
                ))
            }
        },
    )
    .await?;
    Ok(loaded.map(|cache| {
        let follow = tokio::spawn(cache.clone().run());
        (
            Arc::new(KeycloakQuotas::new(cache)) as Arc<dyn QuotaSource>,
            follow,
        )
    }))
}

/// Runs the webhook until `shutdown` (see the module docs); `on_listening` is called with the
/// addresses once both listeners are bound.
///
/// # Errors
///
/// A listener that cannot be bound, certificate files that do not load, an unusable
/// configuration or a start failure, each naming what to check.
pub async fn run_with(
    settings: Settings,
    shutdown: Shutdown,
    on_listening: impl FnOnce(Addresses),
) -> anyhow::Result<()> {
    let files = TlsFiles {
        cert: settings.tls_cert_file.clone(),
        key: settings.tls_key_file.clone(),
    };
    let (tls, served) = files.rustls_config()?;
    let kube = kube_client(settings.kubeconfig.as_deref()).await?;
    let serving = serve(settings.listen, starting_text(), shutdown.clone()).await?;
    let mut background = Vec::new();
    let quotas: Arc<dyn QuotaSource> = match &settings.quotas {
        QuotaSettings::Keycloak(connection) => {
            tracing::info!(keycloak_url = %connection.keycloak_url, realm = %connection.realm, "filling the Keycloak cache");
            match keycloak_quotas(connection, &settings, serving.status(), shutdown.clone()).await {
                Ok(Some((quotas, follow))) => {
                    background.push(follow);
                    quotas
                }
                Ok(None) => {
                    serving.finish().await?;
                    return Ok(());
                }
                Err(e) => {
                    serving.abort();
                    return Err(e);
                }
            }
        }
        QuotaSettings::Graphql {
            endpoint,
            shared_secret,
            ttl,
        } => Arc::new(GraphqlQuotas::new(endpoint, shared_secret, *ttl)?),
    };
    let (usage, driver) = PodUsage::start_with(
        kube.client().clone(),
        &settings.namespace,
        Some(names::LABEL_GROUP),
        InFlight::new(settings.in_flight_window),
    );
    background.push(tokio::spawn(driver));
    let metrics = WebhookMetrics::new();
    let validation = Arc::new(
        ResourcesValidation::new(quotas)
            .watching(&settings.namespace, usage)
            .with_policy(settings.undecided)
            .with_metrics(metrics.clone()),
    );
    let probes = probes(validation.clone(), metrics.clone());
    let app = webhooks(validation, Arc::new(kube), &settings, &metrics).merge(probes.clone());

    let listener = std::net::TcpListener::bind(settings.tls_listen)
        .with_context(|| format!("--tls-listen {}: cannot bind", settings.tls_listen))?;
    listener
        .set_nonblocking(true)
        .context("--tls-listen: cannot make the socket non-blocking")?;
    let https = listener
        .local_addr()
        .context("--tls-listen: no local address")?;
    if let Some(interval) = settings.cert_reload {
        background.push(tokio::spawn(files.reload_forever(
            tls.clone(),
            served,
            interval,
        )));
    }
    let handle = axum_server::Handle::new();
    let server = axum_server::from_tcp_rustls(listener, tls)
        .context("--tls-listen: cannot serve TLS on the socket")?
        .handle(handle.clone())
        .serve(app.into_make_service());
    serving.open(probes);
    tracing::info!(
        https_address = %https,
        namespace = %settings.namespace,
        undecided = %settings.undecided,
        "serving the admission webhooks over HTTPS"
    );
    on_listening(Addresses {
        http: serving.address(),
        https,
    });
    let stopping = handle.clone();
    let stop = tokio::spawn(async move {
        stopped(shutdown).await;
        stopping.graceful_shutdown(Some(Duration::from_secs(5)));
    });
    let served = server.await;
    stop.abort();
    for task in background {
        task.abort();
    }
    serving.finish().await?;
    served.context("serving HTTPS")?;
    tracing::info!("stopped");
    Ok(())
}

/// [`run_with`] without a listening callback (what `main` runs).
///
/// # Errors
///
/// As [`run_with`].
pub async fn run(settings: Settings, shutdown: Shutdown) -> anyhow::Result<()> {
    run_with(settings, shutdown, |_| {}).await
}
