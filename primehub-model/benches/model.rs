//! Criterion benchmarks: quantity parsing, the quota decision, the decision with usage read
//! from a ledger of 100 vs 10 000 pods (the cost must not depend on the pod count), and the job
//! queue's decision over 10 000 pending jobs in 1 000 groups.
//!
//! Run with `cargo bench -p primehub-model --bench model`.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use primehub_model::quantity::{Cpu, Gpu, Memory};
use primehub_model::quota::{PodCharge, Quota, ResourceAmounts, TierCheck, UsageLedger, decide};

fn quantity_parsing(c: &mut Criterion) {
    let mut group = c.benchmark_group("quantity");
    for text in [
        "500m",
        "1.5",
        "2Gi",
        "129e6",
        "0.000000931322574615478515625Gi",
    ] {
        group.bench_with_input(BenchmarkId::new("memory_or_cpu", text), text, |b, t| {
            b.iter(|| {
                let _ = black_box(Memory::parse("f", black_box(t)));
                let _ = black_box(Cpu::parse("f", black_box(t)));
            })
        });
    }
    group.bench_function("primehub_memory_7G", |b| {
        b.iter(|| Memory::parse_primehub("f", black_box("7G")))
    });
    group.bench_function("gpu_2", |b| b.iter(|| Gpu::parse("f", black_box("2"))));
    group.finish();
}

fn ledger_with(pods: usize) -> UsageLedger {
    let mut ledger = UsageLedger::new();
    for i in 0..pods {
        ledger.apply(
            &format!("hub/pod-{i}"),
            Some(PodCharge {
                group: format!("group-{}", i % 50),
                user: Some(format!("user-{}", i % 500)),
                amounts: ResourceAmounts {
                    cpu: Cpu::from_millis(100),
                    gpu: Gpu::ZERO,
                    memory: Memory::from_bytes(1 << 28),
                },
            }),
        );
    }
    ledger
}

fn quota_decision(c: &mut Criterion) {
    let quota = Quota {
        cpu: Some(Cpu::from_millis(1_000_000)),
        gpu: Some(Gpu::from_count(8)),
        memory: Some(Memory::from_bytes(1 << 40)),
    };
    let request = ResourceAmounts {
        cpu: Cpu::from_millis(500),
        gpu: Gpu::from_count(1),
        memory: Memory::from_bytes(1 << 30),
    };
    let mut group = c.benchmark_group("admission_decision");
    for pods in [100usize, 10_000] {
        let ledger = ledger_with(pods);
        group.bench_with_input(BenchmarkId::new("ledger_pods", pods), &ledger, |b, l| {
            b.iter(|| {
                let user = TierCheck {
                    name: "user-7",
                    quota,
                    usage: l.user_in_group("group-7", "user-7"),
                };
                let grp = TierCheck {
                    name: "group-7",
                    quota,
                    usage: l.group("group-7"),
                };
                black_box(decide(black_box(&request), Some(&user), &grp))
            })
        });
    }
    group.finish();
}

/// One queue decision over 10 000 pending jobs in 1 000 groups whose GPUs are all in use
/// (every job waits: the whole queue is walked), the pure part of a scheduler pass.
fn job_queue_plan(c: &mut Criterion) {
    use primehub_model::job_queue::{QueuedJob, plan};
    use primehub_model::quota::GroupQuotas;
    let groups: Vec<String> = (0..1000).map(|g| format!("group-{g}")).collect();
    let users: Vec<String> = (0..7).map(|u| format!("user-{u}")).collect();
    let names: Vec<String> = (0..10_000).map(|i| format!("job-{i}")).collect();
    let one_gpu = ResourceAmounts {
        gpu: Gpu::from_count(1),
        ..ResourceAmounts::ZERO
    };
    let mut ledger = UsageLedger::new();
    for (g, group) in groups.iter().enumerate() {
        ledger.apply(
            &format!("hub/running-{g}"),
            Some(PodCharge {
                group: group.clone(),
                user: Some("other".to_owned()),
                amounts: one_gpu,
            }),
        );
    }
    let jobs: Vec<QueuedJob<'_>> = names
        .iter()
        .enumerate()
        .map(|(i, name)| QueuedJob {
            name,
            group: &groups[i % groups.len()],
            user: &users[i % users.len()],
            created: jiff::Timestamp::from_second(1_800_000_000 + i as i64).unwrap_or_default(),
            request: one_gpu,
        })
        .collect();
    let quotas = GroupQuotas {
        user: Quota::UNLIMITED,
        group: Quota {
            gpu: Some(Gpu::from_count(1)),
            ..Quota::UNLIMITED
        },
    };
    c.bench_function("job_queue_plan_10000_jobs_1000_groups", |b| {
        b.iter(|| plan(black_box(&jobs), |_| Some(quotas), &ledger))
    });
}

criterion_group!(benches, quantity_parsing, quota_decision, job_queue_plan);
criterion_main!(benches);
