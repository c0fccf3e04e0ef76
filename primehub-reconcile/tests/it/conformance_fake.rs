//! The conformance suite against the in-memory fake cluster (`fake` feature).
#![cfg(feature = "fake")]

use primehub_reconcile::conformance;
use primehub_reconcile::fake::FakeCluster;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_cluster_passes_the_conformance_suite() {
    let fake = FakeCluster::new();
    conformance::install_primehub_crds(&fake)
        .await
        .expect("the fake must serve (or accept the CRDs of) every PrimeHub kind");
    conformance::run_all(&fake).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_cluster_collects_garbage() {
    let fake = FakeCluster::new();
    conformance::owner_garbage_collection(&fake).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_cluster_deletes_namespace_contents() {
    let fake = FakeCluster::new();
    conformance::namespace_deletion_removes_contents(&fake).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_cluster_watch_from_a_compacted_version_is_gone() {
    let fake = FakeCluster::new();
    conformance::watch_too_old_is_gone(&fake).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_cluster_dry_runs() {
    let fake = FakeCluster::new();
    conformance::dry_runs(&fake.client()).await;
}
