//! Measures what a reflector store of pods costs in memory: whole `Pod`s against the slim
//! `PodView` projection of `primehub_reconcile::runtime::projection` (name, namespace, uid,
//! labels, annotations, resourceVersion, ownerReferences, phase, container limits).
//!
//! ```sh
//! cargo run --release -p primehub-examples --example pod_store_memory -- 10000
//! ```
//!
//! It fills a fake cluster with job-like pods (containers with resources, env, volume mounts,
//! tolerations, a status with conditions), fills each store from it through the in-process
//! `kube::Client`, and reports the heap bytes the filled store keeps (counted by the `cap`
//! global allocator, after the store is ready and the list pages are freed), as JSON. The fake
//! drops `managedFields` on create, which a real API server keeps and which is often the
//! biggest part of a pod: on a real cluster the whole-pod store is larger still, the
//! projection is not.

use std::alloc::System;
use std::error::Error;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, reflector, watcher};
use primehub_reconcile::fake::FakeCluster;
use primehub_reconcile::runtime::projection::pod_store;
use primehub_reconcile::{KubeApi, PatchBody, ResourceKind};
use serde_json::json;

/// Counts the bytes allocated on the heap.
#[global_allocator]
static ALLOCATOR: cap::Cap<System> = cap::Cap::new(System, usize::MAX);

fn job_pod(i: usize) -> Result<kube::api::DynamicObject, serde_json::Error> {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": format!("job-202611290000-{i:06}"),
            "labels": {"app": "primehub-job", "phjob.primehub.io/name": format!("job-{i}"), "primehub.io/group": "escaped-phusers", "primehub.io/user": "escaped-phadmin"},
            "annotations": {"primehub.io/instance-type": "cpu-1", "primehub.io/image": "base-notebook"},
            "ownerReferences": [{"apiVersion": "primehub.io/v1alpha1", "kind": "PhJob", "name": format!("job-{i}"), "uid": format!("00000000-0000-0000-0000-{i:012}"), "controller": true, "blockOwnerDeletion": true}],
        },
        "spec": {
            "restartPolicy": "Never",
            "serviceAccountName": "default",
            "securityContext": {"fsGroup": 100},
            "initContainers": [{"name": "admin-notebook", "image": "infuseai/primehub-job-init:latest", "command": ["sh", "-c", "cp -r /scripts /primehub-scripts"], "resources": {"limits": {"cpu": "100m", "memory": "64Mi"}}}],
            "containers": [{
                "name": "main", "image": "infuseai/docker-stacks:base-notebook-63fdf50a",
                "command": ["/primehub-scripts/run-job.sh", "python train.py --epochs 10"],
                "env": [
                    {"name": "PRIMEHUB_GROUP", "value": "phusers"}, {"name": "PRIMEHUB_USER", "value": "phadmin"},
                    {"name": "JUPYTER_ENABLE_LAB", "value": "yes"}, {"name": "HOME", "value": "/home/jovyan"},
                ],
                "resources": {"limits": {"cpu": "1", "memory": "2Gi", "nvidia.com/gpu": "0"}, "requests": {"cpu": "1", "memory": "2Gi"}},
                "volumeMounts": [
                    {"name": "primehub-scripts", "mountPath": "/primehub-scripts"},
                    {"name": "project-phusers", "mountPath": "/project/phusers"},
                    {"name": "dataset-mnist", "mountPath": "/datasets/mnist", "readOnly": true},
                ],
                "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent",
            }],
            "volumes": [
                {"name": "primehub-scripts", "emptyDir": {}},
                {"name": "project-phusers", "persistentVolumeClaim": {"claimName": "project-phusers"}},
                {"name": "dataset-mnist", "persistentVolumeClaim": {"claimName": "dataset-mnist"}},
            ],
            "tolerations": [
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            ],
            "dnsPolicy": "ClusterFirst", "schedulerName": "default-scheduler", "priority": 0,
        },
    }))
}

fn job_status() -> PatchBody {
    PatchBody::Merge(json!({"status": {
        "phase": "Running",
        "conditions": [
            {"type": "Initialized", "status": "True", "lastTransitionTime": "2026-11-29T00:00:05Z"},
            {"type": "Ready", "status": "True", "lastTransitionTime": "2026-11-29T00:00:09Z"},
            {"type": "ContainersReady", "status": "True", "lastTransitionTime": "2026-11-29T00:00:09Z"},
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2026-11-29T00:00:01Z"},
        ],
        "hostIP": "10.0.0.12", "podIP": "10.244.1.17", "qosClass": "Burstable", "startTime": "2026-11-29T00:00:01Z",
        "containerStatuses": [{"name": "main", "ready": true, "restartCount": 0, "image": "infuseai/docker-stacks:base-notebook-63fdf50a", "imageID": "docker-pullable://infuseai/docker-stacks@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "containerID": "containerd://0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "started": true, "state": {"running": {"startedAt": "2026-11-29T00:00:08Z"}}}],
    }}))
}

/// Fills a store of `store` ("full" or "slim") from `cluster`; returns (objects, heap bytes kept).
async fn measure(cluster: &FakeCluster, store: &str) -> Result<(usize, usize), Box<dyn Error>> {
    let api: Api<Pod> = Api::namespaced(cluster.client(), "hub");
    let before = ALLOCATOR.allocated();
    let (count, after) = match store {
        "full" => {
            let (reader, writer) = reflector::store::<Pod>();
            let stream =
                reflector::reflector(writer, watcher(api, Default::default()).default_backoff());
            let task = tokio::spawn(stream.for_each(|_| async {}));
            reader.wait_until_ready().await?;
            let after = ALLOCATOR.allocated();
            let count = reader.state().len();
            task.abort();
            let _ = task.await;
            (count, after)
        }
        _ => {
            let (reader, stream) = pod_store(api, Default::default());
            let task = tokio::spawn(stream.for_each(|_| async {}));
            reader.wait_until_ready().await?;
            let after = ALLOCATOR.allocated();
            let count = reader.state().len();
            task.abort();
            let _ = task.await;
            (count, after)
        }
    };
    Ok((count, after.saturating_sub(before)))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let pods: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let cluster = FakeCluster::new();
    let kind = ResourceKind::of::<Pod>();
    for i in 0..pods {
        let created = cluster.create(&kind, Some("hub"), &job_pod(i)?).await?;
        let name = created.metadata.name.unwrap_or_default();
        cluster
            .patch_status(&kind, Some("hub"), &name, &job_status())
            .await?;
    }
    for store in ["slim", "full"] {
        let (count, bytes) = measure(&cluster, store).await?;
        println!(
            "{}",
            json!({"store": store, "pods": count, "heap_bytes": bytes, "bytes_per_pod": bytes / count.max(1)})
        );
    }
    Ok(())
}
