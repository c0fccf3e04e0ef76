//! Criterion benchmark of one whole admission by the resource-validation webhook: an
//! `AdmissionReview` JSON body in, the decision from the pod ledger, the reviewed
//! `AdmissionReview` JSON out — through [`webhook::review_body`], the same function the HTTPS
//! route calls — with 100 and with 10 000 pods counted in the namespace (DESIGN §9: the same
//! cost, ratio ≤ 1.5, and under 100 µs).
//!
//! Before the timings it prints, as JSON, the heap bytes the usage ledger keeps per counted pod
//! (counted by the `cap` global allocator).
//!
//! Run with `cargo bench -p primehub-reconcile --bench admission`.

use std::alloc::System;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use k8s_openapi::api::core::v1::Pod;
use primehub_model::names::primehub_labels;
use primehub_model::quantity::{Cpu, Gpu, Memory};
use primehub_model::quota::{Quota, UsageLedger};
use primehub_reconcile::fake::FakeCluster;
use primehub_reconcile::stores::PodUsage;
use primehub_reconcile::webhook::in_flight::InFlight;
use primehub_reconcile::webhook::metrics::WebhookMetrics;
use primehub_reconcile::webhook::quotas::{GroupQuotas, StaticQuotas};
use primehub_reconcile::webhook::resources::ResourcesValidation;
use primehub_reconcile::webhook::{self};
use primehub_reconcile::{KubeApi, PatchBody, ResourceKind};
use serde_json::{Value, json};

/// Counts the bytes allocated on the heap.
#[global_allocator]
static ALLOCATOR: cap::Cap<System> = cap::Cap::new(System, usize::MAX);

const NS: &str = "hub";
const GROUPS: usize = 50;
const USERS_PER_GROUP: usize = 20;

/// A notebook-like pod of user `u` in group `g`: limits, env, volumes, the sentinel.
fn pod(name: &str, g: usize, u: usize) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": name, "namespace": NS,
            "labels": primehub_labels(&format!("user-{g}-{u}"), &format!("group-{g}")),
            "annotations": {"primehub.io/instance-type": "cpu-1", "primehub.io/image": "base-notebook"},
        },
        "spec": {
            "initContainers": [
                {"name": "chown-home", "image": "busybox", "command": ["sh", "-c", "chown 1000 /home/jovyan"]},
                {"name": "admission-is-not-found", "image": "admission-is-not-found", "imagePullPolicy": "Never", "command": ["false"]}
            ],
            "containers": [{
                "name": "notebook", "image": "infuseai/docker-stacks:base-notebook-63fdf1",
                "args": ["start-notebook.sh", "--ip=0.0.0.0", "--port=8888"],
                "env": [{"name": "GROUP_NAME", "value": format!("group-{g}")}, {"name": "INSTANCE_TYPE", "value": "cpu-1"},
                        {"name": "TZ", "value": "UTC"}, {"name": "CHOWN_EXTRA", "value": "/home/jovyan,/project/group-0"}],
                "resources": {"limits": {"cpu": "100m", "memory": "128Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
                "volumeMounts": [{"name": "volume-0", "mountPath": "/home/jovyan"}, {"name": "project", "mountPath": "/project/group-0"}]
            }],
            "volumes": [{"name": "volume-0", "persistentVolumeClaim": {"claimName": "claim-user"}},
                        {"name": "project", "persistentVolumeClaim": {"claimName": "project-group-0"}}]
        }
    })
}

fn review(pod: &Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": "0b1d6c0e-5c3c-4a7e-9a53-3b5a2e0e5f11",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "name": pod["metadata"]["name"], "namespace": NS, "operation": "CREATE",
            "userInfo": {"username": "system:serviceaccount:hub:primehub-controller"},
            "object": pod, "dryRun": false,
        }
    }))
    .expect("a serialisable review")
}

/// A webhook over a fake cluster holding `pods` running pods spread over the groups and users.
async fn webhook_with(pods: usize) -> (FakeCluster, Arc<ResourcesValidation>, WebhookMetrics) {
    let cluster = FakeCluster::new();
    let api: Arc<dyn KubeApi> = Arc::new(cluster.clone());
    let kind = ResourceKind::of::<Pod>();
    for i in 0..pods {
        let (g, u) = (i % GROUPS, (i / GROUPS) % USERS_PER_GROUP);
        let name = format!("pod-{i}");
        let object = serde_json::from_value(pod(&name, g, u)).expect("a pod");
        api.create(&kind, Some(NS), &object).await.expect("create");
        let running = PatchBody::Merge(json!({"status": {"phase": "Running"}}));
        api.patch_status(&kind, Some(NS), &name, &running)
            .await
            .expect("status");
    }
    // A reservation lives 1 s here: the benchmark admits pods it never creates, where a real
    // cluster shows each admitted pod within milliseconds.
    let (usage, driver) = PodUsage::start_with(
        cluster.client(),
        NS,
        Some("primehub.io/group"),
        InFlight::new(Duration::from_secs(1)),
    );
    tokio::spawn(driver);
    usage
        .wait_ready(Duration::from_secs(120))
        .await
        .expect("pods listed");
    assert_eq!(usage.counted_pods(), pods);
    let quota = Quota {
        cpu: Some(Cpu::from_millis(1_000_000)),
        gpu: Some(Gpu::from_count(8)),
        memory: Some(Memory::from_bytes(1 << 40)),
    };
    let quotas = StaticQuotas::new((0..GROUPS).map(|g| {
        (
            format!("group-{g}"),
            GroupQuotas {
                user: quota,
                group: quota,
            },
        )
    }));
    let metrics = WebhookMetrics::new();
    let webhook = Arc::new(
        ResourcesValidation::new(Arc::new(quotas))
            .watching(NS, usage)
            .with_metrics(metrics.clone()),
    );
    (cluster, webhook, metrics)
}

/// Heap bytes a ledger keeps per counted pod, at 10 000 pods.
fn ledger_memory() {
    let pods: Vec<Pod> = (0..10_000)
        .map(|i| {
            let mut pod: Pod = serde_json::from_value(pod(
                &format!("pod-{i}"),
                i % GROUPS,
                i / GROUPS % USERS_PER_GROUP,
            ))
            .expect("a pod");
            pod.metadata.namespace = Some(NS.into());
            pod
        })
        .collect();
    let keys: Vec<String> = (0..10_000).map(|i| format!("{NS}/pod-{i}")).collect();
    let before = ALLOCATOR.allocated();
    let mut ledger = UsageLedger::new();
    for (key, pod) in keys.iter().zip(&pods) {
        ledger.apply_pod(key, pod).expect("counted");
    }
    let bytes = ALLOCATOR.allocated().saturating_sub(before);
    println!(
        "{}",
        json!({"ledger_pods": ledger.len(), "ledger_bytes": bytes, "bytes_per_pod": bytes / ledger.len().max(1)})
    );
    black_box(ledger);
}

fn admission(c: &mut Criterion) {
    ledger_memory();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let mut group = c.benchmark_group("admission");
    for pods in [100, 10_000] {
        let (_cluster, webhook, metrics) = runtime.block_on(webhook_with(pods));
        let body = review(&pod("jupyter-new", 7, 3));
        group.bench_with_input(BenchmarkId::new("review_body", pods), &body, |b, body| {
            b.iter(|| {
                runtime
                    .block_on(webhook::review_body(webhook.as_ref(), &metrics, body))
                    .expect("an answer")
            });
        });
        assert!(
            metrics.decisions("allowed") > 0,
            "the benchmark admits pods"
        );
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5)).sample_size(50);
    targets = admission
}
criterion_main!(benches);
