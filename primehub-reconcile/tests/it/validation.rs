//! Validation of built-in kinds: the `conformance_validation` checks against the fake (in
//! process and over HTTP with a `kube::Client`) and against the real kube-apiserver.
//!
//! The real-server test needs `source <(tools/kube-apiserver/apiserver.sh env)`; without it it
//! prints SKIPPED (and fails under `PRIMEHUB_TEST_REQUIRE_REAL=1`).
#![cfg(feature = "fake")]

use kube::Client;
use primehub_reconcile::conformance_validation;
use primehub_reconcile::fake::FakeCluster;

use crate::real_runtime::admin;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_passes_the_validation_conformance_checks() {
    conformance_validation::run_all(&FakeCluster::new().client()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_over_http_passes_the_validation_conformance_checks() {
    let cluster = FakeCluster::new();
    let server = cluster
        .serve(
            tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("a port"),
        )
        .expect("serving");
    let url = server.url().parse().expect("the server URL");
    let client = Client::try_from(kube::Config::new(url)).expect("a client");
    conformance_validation::run_all(&client).await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_apiserver_passes_the_validation_conformance_checks() {
    let Some(client) = admin("conformance_validation").await else {
        return;
    };
    conformance_validation::run_all(&client).await;
}
