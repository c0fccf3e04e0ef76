//! `runtime::leader::LeaderElector` with two replicas, on the fake cluster (virtual time) and
//! on the real kube-apiserver: one leads, the other waits; a stopped leader releases the Lease
//! and the other takes over at its next try; a leader that dies without releasing is replaced
//! once its Lease has expired, not before.
//!
//! Both run the same scenario (`two_replicas`); the candidates' clock is a `ManualClock`
//! (the API server only stores the times the candidates write), so the expiry is exact on
//! both.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, PostParams};
use primehub_model::clock::{Clock, ManualClock};
use primehub_reconcile::conformance;
use primehub_reconcile::fake::FakeCluster;
use primehub_reconcile::runtime::leader::{LeaderElector, Leadership, LeaseConfig};
use serde_json::json;

use crate::real_runtime::admin;

async fn two_replicas(client: kube::Client, namespace: &str) {
    let clock = Arc::new(ManualClock::at(
        "2026-12-04T08:00:00Z".parse().expect("a time"),
    ));
    let candidate = |id: &str| {
        LeaderElector::new(
            client.clone(),
            clock.clone() as Arc<dyn Clock>,
            LeaseConfig::new(namespace, id),
        )
    };
    let (a, b) = (candidate("replica-a"), candidate("replica-b"));
    assert!(
        a.try_acquire_or_renew().await.expect("a's try"),
        "the first candidate leads"
    );
    assert!(
        !b.try_acquire_or_renew().await.expect("b's try"),
        "the second waits"
    );
    clock.advance(jiff::SignedDuration::from_secs(10));
    assert!(a.try_acquire_or_renew().await.expect("a renews"));
    clock.advance(jiff::SignedDuration::from_secs(10));
    assert!(
        !b.try_acquire_or_renew().await.expect("b's try"),
        "a renewed 10 s ago: its Lease still holds"
    );

    // a stops gracefully: it releases, b takes over at its next try.
    a.release().await.expect("a releases");
    assert!(!a.is_leading());
    assert!(b.try_acquire_or_renew().await.expect("b takes over"));
    let leases: Api<Lease> = Api::namespaced(client.clone(), namespace);
    let spec = leases
        .get("primehub-controller")
        .await
        .expect("the lease")
        .spec
        .expect("a spec");
    assert_eq!(spec.holder_identity.as_deref(), Some("replica-b"));
    assert_eq!(spec.lease_transitions, Some(1));

    // b dies without releasing: a waits for the lease duration (15 s), then takes over.
    clock.advance(jiff::SignedDuration::from_secs(14));
    assert!(!a.try_acquire_or_renew().await.expect("a's try"));
    clock.advance(jiff::SignedDuration::from_secs(1));
    assert!(a.try_acquire_or_renew().await.expect("a takes over"));
    // b comes back: it finds the Lease taken and does not lead.
    assert!(!b.try_acquire_or_renew().await.expect("b's try"));
    assert!(!b.is_leading());
}

#[tokio::test]
async fn two_replicas_on_the_fake() {
    let cluster = FakeCluster::new();
    two_replicas(cluster.client(), "hub").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_the_real_apiserver() {
    let Some(client) = admin("leader election").await else {
        return;
    };
    let ns = conformance::unique("rt-leader");
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": ns}})).expect("a namespace"),
        )
        .await
        .expect("a namespace");
    two_replicas(client, &ns).await;
}

#[tokio::test(start_paused = true)]
async fn run_leads_until_stopped_and_the_waiting_replica_follows() {
    let cluster = FakeCluster::new();
    let clock: Arc<dyn Clock> = Arc::new(primehub_model::clock::SystemClock);
    let a = LeaderElector::new(
        cluster.client(),
        clock.clone(),
        LeaseConfig::new("hub", "a"),
    );
    let b = LeaderElector::new(cluster.client(), clock, LeaseConfig::new("hub", "b"));
    let (stop_a, stopped_a) = tokio::sync::oneshot::channel::<()>();
    let run_a = {
        let a = a.clone();
        tokio::spawn(async move {
            a.run(async {
                let _ = stopped_a.await;
            })
            .await
        })
    };
    let mut a_leads = a.leading();
    a_leads.wait_for(|l| *l).await.expect("a leads");
    let run_b = {
        let b = b.clone();
        tokio::spawn(async move { b.run(std::future::pending()).await })
    };
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert!(!b.is_leading(), "b waits while a renews");
    let _ = stop_a.send(());
    assert_eq!(run_a.await.expect("a's task"), Leadership::Stopped);
    let mut b_leads = b.leading();
    let started = tokio::time::Instant::now();
    b_leads.wait_for(|l| *l).await.expect("b leads");
    assert!(
        started.elapsed() <= Duration::from_secs(3),
        "b takes over within its retry period, not the lease duration"
    );
    run_b.abort();
}
