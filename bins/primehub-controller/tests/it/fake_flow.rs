//! The flow on the fakes, served over HTTP as a real Keycloak and API server would be: the
//! fake half of the comparison whose real half is `real_controller`. It needs nothing
//! installed, so it runs everywhere.

use std::sync::Arc;

use primehub_keycloak::fake::{BootstrapOptions, FakeKeycloak};
use primehub_reconcile::fake::FakeCluster;
use primehub_test_support::cluster::kubeconfig_for_server;
use primehub_test_support::env::unique;

use crate::flow::{self, Target};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flow_passes_on_the_fakes() {
    let keycloak = FakeKeycloak::new().expect("fake Keycloak");
    let outcome = keycloak
        .bootstrap(&BootstrapOptions::default().to_spec("primehub"))
        .await
        .expect("the realm");
    let served_keycloak = keycloak
        .serve(
            tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind"),
        )
        .expect("serve Keycloak");
    let cluster = FakeCluster::new();
    let served_cluster = cluster
        .serve(
            tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind"),
        )
        .expect("serve the cluster");
    let kubeconfig = kubeconfig_for_server(served_cluster.url());
    let secret_file = std::env::temp_dir().join(unique("controller-secret"));
    std::fs::write(
        &secret_file,
        format!("{}\n", outcome.admin_ui_client_secret),
    )
    .expect("write the secret file");
    let target = Target {
        label: "fake",
        keycloak_url: served_keycloak.url().to_owned(),
        realm: "primehub".into(),
        client_secret_file: secret_file.clone(),
        kubeconfig: kubeconfig.clone(),
        namespace: "hub".into(),
        keycloak: Arc::new(keycloak.realm("primehub").expect("the realm")),
        kube: cluster.client(),
    };
    flow::run(&target).await;
    served_keycloak.shutdown().await;
    served_cluster.shutdown().await;
    let _ = std::fs::remove_file(kubeconfig);
    let _ = std::fs::remove_file(secret_file);
}
