//! The job queue at scale: how long one pass over many pending jobs takes, and what the
//! controller's stores of PhJobs cost in memory.
//!
//! ```sh
//! cargo run --release -p primehub-examples --example job_queue_load -- 10000 1000 50000
//! ```
//!
//! Arguments: pending jobs, groups, the job count for the memory figure, and the number of passes
//! (defaults 10 000, 1 000, 50 000 and 20; more passes make a profile of the pass). The pass: the pending jobs are spread over the groups on the fake
//! cluster, each group's one GPU is taken by a running pod, so every job waits and a pass
//! decides all of them and writes nothing — the worst case of a full queue; the figure is the
//! median of the passes, wall time and this thread's CPU time (`JobQueue::pass`: reading the job store, the instance types, one quota
//! lookup per group, the ledger, `job_queue::plan`). The memory: heap bytes (counted by the
//! `cap` allocator) of a filled store of the queue's slim `PhJobView`s and, for comparison, of
//! whole `PhJob`s (what kube-runtime's `Controller<PhJob>` keeps for the PhJob controller).
//! One JSON line per figure.

use std::alloc::System;
use std::error::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, reflector, watcher};
use primehub_model::clock::{Clock, SystemClock};
use primehub_model::crd::PhJob;
use primehub_model::names::escape_label;
use primehub_model::quantity::Gpu;
use primehub_model::quota::{GroupQuotas, Quota};
use primehub_reconcile::fake::FakeCluster;
use primehub_reconcile::runtime::Metrics;
use primehub_reconcile::runtime::job_queue::{JobQueue, JobQueueConfig, PhJobView};
use primehub_reconcile::runtime::projection::projected_store;
use primehub_reconcile::stores::{ResourceStores, StoresConfig};
use primehub_reconcile::webhook::quotas::StaticQuotas;
use primehub_reconcile::{KubeApi, PatchBody, ResourceKind};
use serde_json::json;

/// Counts the bytes allocated on the heap.
#[global_allocator]
static ALLOCATOR: cap::Cap<System> = cap::Cap::new(System, usize::MAX);

const NS: &str = "hub";

fn arg(n: usize, default: usize) -> usize {
    std::env::args()
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

/// A job as GraphQL creates it, with a status the controller has written.
fn job(i: usize, groups: usize) -> Result<kube::api::DynamicObject, serde_json::Error> {
    let group = format!("group-{:04}", i % groups.max(1));
    serde_json::from_value(json!({
        "apiVersion": "primehub.io/v1alpha1", "kind": "PhJob",
        "metadata": {"name": format!("job-202612040000-{i:06}"),
                     "labels": {"primehub.io/group": escape_label(&group), "primehub.io/user": escape_label(&format!("user-{}", i % 7))},
                     "annotations": {"primehub.io/usage": "{\"component\":\"job\"}"}},
        "spec": {"displayName": format!("train model {i}"), "userId": "00000000-0000-0000-0000-000000000001",
                 "userName": format!("user-{}", i % 7), "groupId": "00000000-0000-0000-0000-000000000002",
                 "groupName": group, "instanceType": "gpu-1", "image": "base-notebook",
                 "command": "python train.py --epochs 10 --batch-size 64 --learning-rate 0.001\necho done",
                 "activeDeadlineSeconds": 86400, "ttlSecondsAfterFinished": 604800},
    }))
}

async fn fill(cluster: &FakeCluster, jobs: usize, groups: usize) -> Result<(), Box<dyn Error>> {
    let kind = ResourceKind::of::<PhJob>();
    let pending = PatchBody::Merge(
        json!({"status": {"phase": "Pending", "reason": "OverQuota", "message": "Insufficient group/user quota", "requeued": 0}}),
    );
    for i in 0..jobs {
        let created = cluster.create(&kind, Some(NS), &job(i, groups)?).await?;
        let name = created.metadata.name.unwrap_or_default();
        cluster
            .patch_status(&kind, Some(NS), &name, &pending)
            .await?;
    }
    Ok(())
}

async fn pass_figure(jobs: usize, groups: usize, passes: usize) -> Result<(), Box<dyn Error>> {
    let cluster = FakeCluster::new();
    let client = cluster.client();
    let it = serde_json::from_value(json!({
        "apiVersion": "primehub.io/v1alpha1", "kind": "InstanceType", "metadata": {"name": "gpu-1"},
        "spec": {"limits.cpu": 1, "limits.memory": "2Gi", "limits.nvidia.com/gpu": 1},
    }))?;
    cluster
        .create(
            &ResourceKind::of::<primehub_model::crd::InstanceType>(),
            Some(NS),
            &it,
        )
        .await?;
    let pod_kind = ResourceKind::of::<k8s_openapi::api::core::v1::Pod>();
    for g in 0..groups {
        let pod = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("running-{g}"), "labels": {
                "primehub.io/group": escape_label(&format!("group-{g:04}")), "primehub.io/user": escape_label("other")}},
            "spec": {"containers": [{"name": "main", "image": "base", "resources": {"limits": {"nvidia.com/gpu": "1"}}}]},
        }))?;
        cluster.create(&pod_kind, Some(NS), &pod).await?;
        cluster
            .patch_status(
                &pod_kind,
                Some(NS),
                &format!("running-{g}"),
                &PatchBody::Merge(json!({"status": {"phase": "Running"}})),
            )
            .await?;
    }
    fill(&cluster, jobs, groups).await?;
    let one_gpu = Quota {
        gpu: Some(Gpu::from_count(1)),
        ..Quota::UNLIMITED
    };
    let quotas = StaticQuotas::new((0..groups).map(|g| {
        (
            format!("group-{g:04}"),
            GroupQuotas {
                user: Quota::UNLIMITED,
                group: one_gpu,
            },
        )
    }));
    let (stores, driver) = ResourceStores::start(client.clone(), StoresConfig::new(NS));
    tokio::spawn(driver);
    stores.wait_ready(Duration::from_secs(600)).await?;
    let config = JobQueueConfig {
        safety_interval: Duration::from_secs(3600),
        min_gap: Duration::from_secs(3600),
    };
    let (queue, driver) = JobQueue::start(
        client,
        stores,
        Arc::new(quotas),
        Arc::new(SystemClock) as Arc<dyn Clock>,
        &Metrics::new(),
        config,
    );
    tokio::spawn(driver);
    while !queue.is_ready() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut times = Vec::new();
    let mut cpu = Vec::new();
    let mut waiting = 0;
    for _ in 0..passes.max(1) {
        let start = Instant::now();
        // The thread's CPU clock (`CLOCK_THREAD_CPUTIME_ID`); `None` where there is none.
        let cpu_start = cpu_time::ThreadTime::try_now().ok();
        let report = queue.pass().await?;
        times.push(start.elapsed());
        if let Some(used) = cpu_start.and_then(|t| t.try_elapsed().ok()) {
            cpu.push(used);
        }
        waiting = report.waiting.values().sum::<usize>();
        if !report.started.is_empty() || waiting != jobs {
            return Err(format!("every job should wait: {report:?}").into());
        }
    }
    times.sort();
    cpu.sort_unstable();
    let median = times[times.len() / 2];
    // CPU time of this thread (the runtime is current-thread, so the pass runs here): unlike the
    // wall time, it does not grow when other processes share the cores.
    let median_cpu_ms = cpu.get(cpu.len() / 2).map(|d| d.as_secs_f64() * 1000.0);
    println!(
        "{}",
        json!({"figure": "job_queue_pass", "pending_jobs": jobs, "groups": groups, "waiting": waiting,
               "median_ms": median.as_secs_f64() * 1000.0, "min_ms": times[0].as_secs_f64() * 1000.0,
               "median_cpu_ms": median_cpu_ms})
    );
    Ok(())
}

async fn memory_figure(jobs: usize) -> Result<(), Box<dyn Error>> {
    let cluster = FakeCluster::new();
    fill(&cluster, jobs, 1000).await?;
    for store in ["PhJobView", "PhJob"] {
        let api: Api<PhJob> = Api::namespaced(cluster.client(), NS);
        let before = ALLOCATOR.allocated();
        let (count, after) = if store == "PhJob" {
            let (reader, writer) = reflector::store::<PhJob>();
            let stream =
                reflector::reflector(writer, watcher(api, Default::default()).default_backoff());
            let task = tokio::spawn(stream.for_each(|_| async {}));
            reader.wait_until_ready().await?;
            let after = ALLOCATOR.allocated();
            let count = reader.state().len();
            task.abort();
            let _ = task.await;
            (count, after)
        } else {
            let (reader, stream) =
                projected_store(api, watcher::Config::default(), PhJobView::from);
            let task = tokio::spawn(stream.for_each(|_| async {}));
            reader.wait_until_ready().await?;
            let after = ALLOCATOR.allocated();
            let count = reader.state().len();
            task.abort();
            let _ = task.await;
            (count, after)
        };
        let bytes = after.saturating_sub(before);
        println!(
            "{}",
            json!({"figure": "job_store_memory", "store": store, "jobs": count, "heap_bytes": bytes,
                   "heap_mib": bytes as f64 / (1 << 20) as f64, "bytes_per_job": bytes / count.max(1)})
        );
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let (jobs, groups, memory_jobs) = (arg(1, 10_000), arg(2, 1_000), arg(3, 50_000));
    pass_figure(jobs, groups, arg(4, 20)).await?;
    memory_figure(memory_jobs).await?;
    Ok(())
}
