//! The listener: `/healthz` and `/readyz` (with the start's status) at once, the service's own
//! starting answer elsewhere, then the service's router; [`probes`] for a controller.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::http::StatusCode;
use primehub_service::http::{probes, serve, starting_text};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;

async fn get(url: &str) -> (u16, String, String) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let response = reqwest::get(url).await.expect("an answer");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, content_type, response.text().await.expect("a body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starting_answers_then_the_services_router_then_a_graceful_stop() {
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let starting = Router::new().fallback(|| async { (StatusCode::IM_A_TEAPOT, "not yet") });
    let serving = serve("127.0.0.1:0".parse().expect("address"), starting, shutdown)
        .await
        .expect("bound");
    let url = format!("http://{}", serving.address());
    assert_eq!(get(&format!("{url}/healthz")).await.0, 200);
    let (status, _, body) = get(&format!("{url}/readyz")).await;
    assert_eq!((status, body.as_str()), (503, "starting"));
    let (status, _, body) = get(&format!("{url}/anything")).await;
    assert_eq!((status, body.as_str()), (418, "not yet"));
    serving.status().set("not ready: Keycloak is down");
    assert_eq!(
        get(&format!("{url}/readyz")).await.2,
        "not ready: Keycloak is down"
    );

    let ready = Arc::new(AtomicBool::new(false));
    let mut registry = Registry::with_prefix("primehub_test");
    let counter = Counter::<u64>::default();
    registry.register("things", "Things done", counter.clone());
    counter.inc_by(7);
    let readiness = ready.clone();
    serving.open(probes(
        move || {
            if readiness.load(Ordering::Relaxed) {
                Ok(())
            } else {
                Err("waiting for the first lists".to_owned())
            }
        },
        Arc::new(registry),
    ));
    let (status, _, body) = get(&format!("{url}/readyz")).await;
    assert_eq!(
        (status, body.as_str()),
        (503, "waiting for the first lists")
    );
    ready.store(true, Ordering::Relaxed);
    let (status, _, body) = get(&format!("{url}/readyz")).await;
    assert_eq!((status, body.as_str()), (200, "ready"));
    assert_eq!(get(&format!("{url}/healthz")).await.0, 200);
    let (status, content_type, body) = get(&format!("{url}/metrics")).await;
    assert_eq!(status, 200);
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    assert!(body.contains("primehub_test_things_total 7"), "{body}");
    assert_eq!(get(&format!("{url}/anything")).await.0, 404);

    let _ = stop.send(true);
    serving.finish().await.expect("a graceful stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_address_names_the_flag_and_the_plain_starting_answer_is_503() {
    let (_stop, shutdown) = tokio::sync::watch::channel(false);
    let first = serve(
        "127.0.0.1:0".parse().expect("address"),
        starting_text(),
        shutdown.clone(),
    )
    .await
    .expect("bound");
    let url = format!("http://{}", first.address());
    let (status, _, body) = get(&format!("{url}/metrics")).await;
    assert_eq!((status, body.as_str()), (503, "starting"));
    let error = serve(first.address(), starting_text(), shutdown)
        .await
        .expect_err("the address is taken");
    assert_eq!(
        error.to_string(),
        format!("--listen {}: cannot bind", first.address())
    );
    first.abort();
}
