//! The conformance suite through [`KubeClient`] (kube-rs over HTTP) against the fake cluster's
//! Kubernetes API face: proves the client and the fake's HTTP face speak the same protocol as a
//! real API server.
#![cfg(feature = "fake")]

use primehub_reconcile::conformance;
use primehub_reconcile::fake::{FakeCluster, FakeServer};
use primehub_reconcile::kube_client::KubeClient;
use primehub_reconcile::{KubeApi, KubeError, ListOptions, ResourceKind};

async fn serve() -> (FakeServer, KubeClient) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a local port");
    let server = FakeCluster::new().serve(listener).expect("serve the fake");
    let client = KubeClient::for_url(server.url(), Some("any-token"), false)
        .expect("a client for the fake's URL");
    (server, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_client_against_fake_passes_the_conformance_suite() {
    let (server, client) = serve().await;
    conformance::install_primehub_crds(&client)
        .await
        .expect("the fake must serve (or accept the CRDs of) every PrimeHub kind");
    conformance::run_all(&client).await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_client_against_fake_collects_garbage() {
    let (server, client) = serve().await;
    conformance::owner_garbage_collection(&client).await;
    conformance::namespace_deletion_removes_contents(&client).await;
    conformance::watch_too_old_is_gone(&client).await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_client_reports_transport_errors() {
    // Bind and drop a listener: nothing listens on that port any more.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let client = KubeClient::for_url(&format!("http://{addr}"), None, false).expect("client");
    let kind = ResourceKind::of::<k8s_openapi::api::core::v1::ConfigMap>();
    match client
        .list(&kind, Some("default"), &ListOptions::default())
        .await
    {
        Err(KubeError::Transport { .. }) => {}
        other => panic!("a refused connection must be a Transport error, got {other:?}"),
    }
}

#[tokio::test]
async fn kube_client_rejects_a_bad_url() {
    match KubeClient::for_url("not a url", None, false) {
        Err(e @ KubeError::Config { file: None, .. }) => assert!(!e.is_transient()),
        other => panic!("an invalid URL must be a Config error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_missing_kubeconfig_is_a_config_error_naming_the_file() {
    let path = std::env::temp_dir().join(format!(
        "primehub-missing-{}/kubeconfig",
        uuid_like_suffix()
    ));
    match KubeClient::from_kubeconfig(&path).await {
        Err(e @ KubeError::Config { .. }) => {
            assert!(!e.is_transient());
            assert!(
                matches!(&e, KubeError::Config { file: Some(f), .. } if *f == path),
                "the error must name the file: {e:?}"
            );
        }
        other => panic!("a missing kubeconfig must be a Config error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_kubeconfig_without_a_current_context_is_a_config_error() {
    let dir = std::env::temp_dir().join(format!("primehub-kubeconfig-{}", uuid_like_suffix()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n",
    )
    .expect("write the kubeconfig");
    let result = KubeClient::from_kubeconfig(&path).await;
    let _ = std::fs::remove_dir_all(&dir);
    match result {
        Err(KubeError::Config {
            file: Some(f),
            message,
        }) => {
            assert_eq!(f, path);
            assert!(
                message.contains("context"),
                "the message says what is wrong: {message}"
            );
        }
        other => panic!("a kubeconfig without a context must be a Config error, got {other:?}"),
    }
}

fn uuid_like_suffix() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_client_against_fake_dry_runs() {
    let (server, client) = serve().await;
    conformance::dry_runs(client.client()).await;
    server.shutdown().await;
}
