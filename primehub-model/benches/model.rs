//! Criterion benchmarks: quantity parsing, the quota decision, and the decision with usage read
//! from a ledger of 100 vs 10 000 pods (the cost must not depend on the pod count).
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

criterion_group!(benches, quantity_parsing, quota_decision);
criterion_main!(benches);
