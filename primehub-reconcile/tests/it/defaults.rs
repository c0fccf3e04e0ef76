//! Defaulting and immutable fields: the `conformance_defaults` checks against the fake (in
//! process and over HTTP with `KubeClient`'s `kube::Client`) and against the real
//! kube-apiserver, and a controller-style reconcile loop that must converge — and then write
//! nothing — on both.
//!
//! The real-server tests need `source <(tools/kube-apiserver/apiserver.sh env)`; without it
//! they print SKIPPED (and fail under `PRIMEHUB_TEST_REQUIRE_REAL=1`).
#![cfg(feature = "fake")]

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Service};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::{Client, Resource};
use primehub_reconcile::conformance_defaults;
use primehub_reconcile::fake::FakeCluster;
use serde_json::{Value, json};

use crate::real_runtime::admin;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_passes_the_defaulting_conformance_checks() {
    conformance_defaults::run_all(&FakeCluster::new().client()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_over_http_passes_the_defaulting_conformance_checks() {
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
    conformance_defaults::run_all(&client).await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_apiserver_passes_the_defaulting_conformance_checks() {
    let Some(client) = admin("conformance_defaults").await else {
        return;
    };
    conformance_defaults::run_all(&client).await;
}

/// The stored object has every field of `desired` with its value (what a controller that
/// leaves defaulting to the API server compares).
fn contains(stored: &Value, desired: &Value) -> bool {
    match (stored, desired) {
        (Value::Object(s), Value::Object(d)) => d
            .iter()
            .all(|(k, dv)| s.get(k).is_some_and(|sv| contains(sv, dv))),
        (Value::Array(s), Value::Array(d)) => {
            s.len() == d.len() && s.iter().zip(d).all(|(sv, dv)| contains(sv, dv))
        }
        _ => stored == desired,
    }
}

/// How a reconcile pass compares.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Compare {
    /// The stored spec must contain the desired one (defaults are the server's business).
    Contains,
    /// The stored spec must equal the desired one — a controller that ignores defaulting.
    Equal,
}

/// A small reconcile loop: makes a Deployment and a Service match `image`, writing only on
/// difference; returns the number of writes of one pass.
async fn reconcile(client: &Client, ns: &str, image: &str, compare: Compare) -> usize {
    let desired_deployment = json!({
        "replicas": 2,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{
                "name": "web",
                "image": image,
                "ports": [{"containerPort": 8080}],
                "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}},
            }]},
        },
    });
    let desired_service = json!({
        "selector": {"app": "web"},
        "ports": [{"name": "http", "port": 80, "targetPort": 8080}],
    });
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let services: Api<Service> = Api::namespaced(client.clone(), ns);
    let mut writes = 0;
    writes += reconcile_one(&deployments, "web", desired_deployment, compare).await;
    writes += reconcile_one(&services, "web", desired_service, compare).await;
    writes
}

async fn reconcile_one<K>(api: &Api<K>, name: &str, desired_spec: Value, compare: Compare) -> usize
where
    K: Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let stored = api.get_opt(name).await.expect("reading the object");
    let Some(stored) = stored else {
        let object: K = serde_json::from_value(json!({
            "metadata": {"name": name},
            "spec": desired_spec,
        }))
        .expect("a desired object");
        api.create(&PostParams::default(), &object)
            .await
            .expect("creating the object");
        return 1;
    };
    let stored_spec = serde_json::to_value(&stored).expect("encoding")["spec"].clone();
    let same = match compare {
        Compare::Contains => contains(&stored_spec, &desired_spec),
        Compare::Equal => stored_spec == desired_spec,
    };
    if same {
        return 0;
    }
    api.patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": desired_spec})),
    )
    .await
    .expect("updating the object");
    1
}

/// Runs the reconcile scenario on `client` and returns the writes of each pass.
async fn reconcile_scenario(client: &Client) -> (Vec<usize>, Vec<usize>) {
    let ns = format!(
        "defaults-rec-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": ns}})).expect("a namespace"),
        )
        .await
        .expect("creating the namespace");
    let mut contains = Vec::new();
    for _ in 0..4 {
        contains.push(reconcile(client, &ns, "nginx:1.25", Compare::Contains).await);
    }
    // A new desired image: one write, then quiet again.
    for _ in 0..3 {
        contains.push(reconcile(client, &ns, "nginx:1.26", Compare::Contains).await);
    }
    let mut equal = Vec::new();
    for _ in 0..3 {
        equal.push(reconcile(client, &ns, "nginx:1.26", Compare::Equal).await);
    }
    let _ = namespaces.delete(&ns, &DeleteParams::default()).await;
    (contains, equal)
}

/// What both servers must show: after the first pass creates both objects, a controller that
/// compares with the stored object converges (one write for a changed image, then none); one
/// that ignores the server's defaults writes on every pass — on the fake as on a real server.
fn assert_reconcile_writes(server: &str, (contains, equal): (Vec<usize>, Vec<usize>)) {
    assert_eq!(
        contains,
        vec![2, 0, 0, 0, 1, 0, 0],
        "{server}: a reconcile loop converges and then writes nothing"
    );
    assert_eq!(
        equal,
        vec![2, 2, 2],
        "{server}: a loop that compares the whole spec never converges (the server defaults)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_loop_converges_on_the_fake() {
    let cluster = FakeCluster::new();
    assert_reconcile_writes("fake", reconcile_scenario(&cluster.client()).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_loop_converges_on_the_real_apiserver() {
    let Some(client) = admin("reconcile loop").await else {
        return;
    };
    assert_reconcile_writes("real kube-apiserver", reconcile_scenario(&client).await);
}
