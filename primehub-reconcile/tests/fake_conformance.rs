//! The conformance suite against the fake cluster: in memory, and through its HTTP face with
//! the kube-rs implementation.

use primehub_reconcile::conformance;
use primehub_reconcile::fake::FakeCluster;
use primehub_reconcile::kube_client::KubeClient;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_cluster_in_memory_passes_the_suite() {
    let cluster = FakeCluster::new();
    conformance::run_all(&cluster).await;
    conformance::owner_garbage_collection(&cluster).await;
    conformance::namespace_deletion_removes_contents(&cluster).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_cluster_over_http_passes_the_suite() -> Result<(), Box<dyn std::error::Error>> {
    let cluster = FakeCluster::new();
    let server = cluster.serve(tokio::net::TcpListener::bind("127.0.0.1:0").await?)?;
    let client = KubeClient::for_url(server.url(), None, false)?;
    conformance::run_all(&client).await;
    conformance::owner_garbage_collection(&client).await;
    conformance::namespace_deletion_removes_contents(&client).await;
    server.shutdown().await;
    Ok(())
}
