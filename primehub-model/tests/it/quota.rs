//! PrimeHub's admission arithmetic (primehub-controllers.md §1.4–1.5), checked with its own
//! examples and edge cases.

use k8s_openapi::api::core::v1::Pod;
use primehub_model::quantity::{Cpu, Gpu, Memory};
use primehub_model::quota::{
    PodCharge, Quota, QuotaResource, ResourceAmounts, Tier, TierCheck, UsageLedger, decide,
    is_counted_gpu, pod_request,
};
use proptest::prelude::*;
use serde_json::json;

fn amounts(cpu_m: u64, gpu: u64, mem: u64) -> ResourceAmounts {
    ResourceAmounts {
        cpu: Cpu::from_millis(cpu_m),
        gpu: Gpu::from_count(gpu),
        memory: Memory::from_bytes(mem),
    }
}

fn quota(cpu_m: Option<u64>, gpu: Option<u64>, mem: Option<u64>) -> Quota {
    Quota {
        cpu: cpu_m.map(Cpu::from_millis),
        gpu: gpu.map(Gpu::from_count),
        memory: mem.map(Memory::from_bytes),
    }
}

fn tier(name: &str, q: Quota, usage: ResourceAmounts) -> TierCheck<'_> {
    TierCheck {
        name,
        quota: q,
        usage,
    }
}

const GIB: u64 = 1 << 30;

#[test]
fn primehub_rejection_texts() {
    let user = tier("alice", quota(Some(1000), None, None), amounts(800, 0, 0));
    let group = tier("phusers", Quota::UNLIMITED, ResourceAmounts::ZERO);
    let err = decide(&amounts(500, 0, 0), Some(&user), &group).unwrap_err();
    assert_eq!(
        err.to_string(),
        "User alice exceeded cpu quota: 1, requesting 0.5"
    );
    assert_eq!((err.tier, err.resource), (Tier::User, QuotaResource::Cpu));

    let user = tier("alice", Quota::UNLIMITED, ResourceAmounts::ZERO);
    let group = tier("phusers", quota(None, Some(4), None), amounts(0, 3, 0));
    let err = decide(&amounts(0, 2, 0), Some(&user), &group).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Group phusers exceeded gpu quota: 4, requesting 2"
    );
}

#[test]
fn cpu_request_prints_as_python_float_and_memory_in_bytes() {
    let group = tier(
        "g",
        quota(Some(500), None, Some(4 * GIB)),
        ResourceAmounts::ZERO,
    );
    let err = decide(&amounts(1000, 0, 0), None, &group).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Group g exceeded cpu quota: 0.5, requesting 1.0"
    );
    let err = decide(&amounts(0, 0, 5 * GIB), None, &group).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Group g exceeded memory quota: 4294967296, requesting 5368709120"
    );
}

#[test]
fn equal_to_quota_is_allowed_one_more_is_not() {
    let group = tier(
        "g",
        quota(Some(2000), Some(2), Some(8 * GIB)),
        amounts(1000, 1, 4 * GIB),
    );
    assert!(decide(&amounts(1000, 1, 4 * GIB), None, &group).is_ok());
    assert!(decide(&amounts(1001, 0, 0), None, &group).is_err());
    assert!(decide(&amounts(0, 2, 0), None, &group).is_err());
    assert!(decide(&amounts(0, 0, 4 * GIB + 1), None, &group).is_err());
}

#[test]
fn zero_request_never_rejected_even_over_quota() {
    let group = tier(
        "g",
        quota(Some(1000), Some(0), Some(GIB)),
        amounts(5000, 3, 9 * GIB),
    );
    assert!(decide(&amounts(0, 0, 0), None, &group).is_ok());
    // GPU already over quota, but this pod asks for none: the cpu/memory rules decide alone.
    let group = tier("g", quota(None, Some(0), None), amounts(0, 3, 0));
    assert!(decide(&amounts(4000, 0, 10 * GIB), None, &group).is_ok());
}

#[test]
fn zero_quota_blocks_any_positive_request() {
    let user = tier("bob", quota(None, Some(0), None), ResourceAmounts::ZERO);
    let group = tier("g", Quota::UNLIMITED, ResourceAmounts::ZERO);
    let err = decide(&amounts(100, 1, 0), Some(&user), &group).unwrap_err();
    assert_eq!(
        err.to_string(),
        "User bob exceeded gpu quota: 0, requesting 1"
    );
}

#[test]
fn unset_is_unlimited() {
    let user = tier(
        "u",
        Quota::UNLIMITED,
        amounts(u64::MAX / 2, 1000, u64::MAX / 2),
    );
    let group = tier(
        "g",
        Quota::UNLIMITED,
        amounts(u64::MAX / 2, 1000, u64::MAX / 2),
    );
    assert!(
        decide(
            &amounts(u64::MAX / 2, 1000, u64::MAX / 2),
            Some(&user),
            &group
        )
        .is_ok()
    );
}

#[test]
fn user_tier_is_checked_before_group_and_cpu_before_gpu_before_memory() {
    let user = tier("u", quota(None, Some(0), Some(0)), ResourceAmounts::ZERO);
    let group = tier("g", quota(Some(0), Some(0), Some(0)), ResourceAmounts::ZERO);
    let err = decide(&amounts(1, 1, 1), Some(&user), &group).unwrap_err();
    assert_eq!((err.tier, err.resource), (Tier::User, QuotaResource::Gpu));
    let user = tier("u", quota(Some(0), Some(0), Some(0)), ResourceAmounts::ZERO);
    let err = decide(&amounts(1, 1, 1), Some(&user), &group).unwrap_err();
    assert_eq!(err.resource, QuotaResource::Cpu);
    let err = decide(&amounts(0, 0, 1), Some(&user), &group).unwrap_err();
    assert_eq!(err.resource, QuotaResource::Memory);
    // Without a user (deployment pods) only the group tier applies.
    let err = decide(&amounts(0, 1, 0), None, &group).unwrap_err();
    assert_eq!((err.tier, err.resource), (Tier::Group, QuotaResource::Gpu));
}

#[test]
fn remaining_and_could_ever_admit() {
    let q = quota(Some(2000), None, Some(4 * GIB));
    assert!(q.could_ever_admit(&amounts(2000, 8, 4 * GIB)));
    assert!(!q.could_ever_admit(&amounts(2001, 0, 0)));
    let left = q.remaining(&amounts(2500, 3, GIB));
    assert_eq!(left, quota(Some(0), None, Some(3 * GIB)));
}

fn pod(labels: serde_json::Value, phase: Option<&str>, spec: serde_json::Value) -> Pod {
    let mut v = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "namespace": "hub", "labels": labels}, "spec": spec});
    if let Some(phase) = phase {
        v["status"] = json!({"phase": phase});
    }
    serde_json::from_value(v).unwrap()
}

fn spec_with(containers: serde_json::Value) -> serde_json::Value {
    json!({"containers": containers,
        "initContainers": [{"name": "admission-is-not-found", "image": "admission-is-not-found",
            "resources": {"limits": {"cpu": "100", "memory": "100Gi", "nvidia.com/gpu": "8"}}}]})
}

#[test]
fn pod_request_sums_container_limits_only() {
    let spec: k8s_openapi::api::core::v1::PodSpec = serde_json::from_value(spec_with(json!([
        {"name": "notebook", "resources": {
            "limits": {"cpu": "1500m", "memory": "2Gi", "nvidia.com/gpu": "1"},
            "requests": {"cpu": "8", "memory": "64Gi"}}},
        {"name": "kernel", "resources": {"limits": {"cpu": "1", "memory": "512Mi"}}},
        {"name": "sidecar"},
        {"name": "requests-only", "resources": {"requests": {"cpu": "4"}}}
    ])))
    .unwrap();
    assert_eq!(
        pod_request(&spec).unwrap(),
        amounts(2500, 1, 2 * GIB + 512 * 1024 * 1024)
    );
}

#[test]
fn gpu_vendors_are_counted_in_order() {
    let request = |limits: serde_json::Value| {
        let spec = serde_json::from_value(json!({"containers": [
            {"name": "c", "resources": {"limits": limits}}]}))
        .unwrap();
        pod_request(&spec).unwrap().gpu.count()
    };
    assert_eq!(
        request(json!({"nvidia.com/gpu": "2", "amd.com/gpu": "5"})),
        2
    );
    assert_eq!(
        request(json!({"amd.com/gpu": "5", "gpu.intel.com/i915": "1"})),
        5
    );
    // Only the first Intel key counts (InfuseAI/primehub-admission
    // primehub_admission/resources_validation.py); keys are in map order.
    assert_eq!(
        request(json!({"gpu.intel.com/i915": "1", "gpu.intel.com/xe": "2"})),
        1
    );
    assert_eq!(
        request(json!({"gpu.intel.com/xe": "2", "gpu.intel.com/i915": "3"})),
        3,
        "i915 sorts before xe whatever the JSON order"
    );
    assert_eq!(request(json!({"gpu.intel.com/xe": "4"})), 4);
    // Other extended resources are not GPUs for the quota.
    assert_eq!(request(json!({"nvidia.com/mig-1g.5gb": "1"})), 0);
    assert!(is_counted_gpu("gpu.intel.com/xe"));
    assert!(is_counted_gpu("amd.com/gpu"));
    assert!(is_counted_gpu("nvidia.com/gpu"));
    assert!(!is_counted_gpu("habana.ai/gaudi"));
    // A bad value under a later Intel key is not read at all.
    assert_eq!(
        request(json!({"gpu.intel.com/i915": "1", "gpu.intel.com/xe": "x"})),
        1
    );
    assert_eq!(request(json!({"cpu": "1"})), 0);
}

#[test]
fn bad_quantity_names_the_container_field() {
    let spec = serde_json::from_value(json!({"containers": [
        {"name": "a"}, {"name": "b", "resources": {"limits": {"nvidia.com/gpu": "0.5"}}}]}))
    .unwrap();
    let err = pod_request(&spec).unwrap_err().to_string();
    assert!(
        err.contains("spec.containers[1].resources.limits.nvidia.com/gpu"),
        "{err}"
    );
    assert!(err.contains("whole number"), "{err}");
}

#[test]
fn pod_charge_reads_labels_and_phase() {
    let spec = json!({"containers": [{"name": "c", "resources": {"limits": {"cpu": "1"}}}]});
    let labels =
        json!({"primehub.io/group": "escaped-test-5fgroup", "primehub.io/user": "escaped-phadmin"});
    let charge = PodCharge::of_pod(&pod(labels.clone(), Some("Running"), spec.clone()))
        .unwrap()
        .unwrap();
    assert_eq!(charge.group, "test_group");
    assert_eq!(charge.user.as_deref(), Some("phadmin"));
    assert_eq!(charge.amounts, amounts(1000, 0, 0));
    for phase in ["Succeeded", "Failed", "Unknown"] {
        assert_eq!(
            PodCharge::of_pod(&pod(labels.clone(), Some(phase), spec.clone())).unwrap(),
            None
        );
    }
    assert!(
        PodCharge::of_pod(&pod(labels.clone(), None, spec.clone()))
            .unwrap()
            .is_some()
    );
    assert!(
        PodCharge::of_pod(&pod(json!({"app": "x"}), Some("Running"), spec.clone()))
            .unwrap()
            .is_none()
    );
    let deployment = pod(
        json!({"primehub.io/group": "escaped-g"}),
        Some("Running"),
        spec,
    );
    assert_eq!(PodCharge::of_pod(&deployment).unwrap().unwrap().user, None);
}

#[test]
fn ledger_tracks_updates_and_removals() {
    let spec = |cpu: &str| json!({"containers": [{"name": "c", "resources": {"limits": {"cpu": cpu, "memory": "1Gi"}}}]});
    let labels = |u: &str| json!({"primehub.io/group": "escaped-g", "primehub.io/user": format!("escaped-{u}")});
    let mut ledger = UsageLedger::new();
    ledger
        .apply_pod("hub/a", &pod(labels("alice"), Some("Pending"), spec("1")))
        .unwrap();
    ledger
        .apply_pod("hub/b", &pod(labels("bob"), Some("Running"), spec("2")))
        .unwrap();
    assert_eq!(ledger.group("g"), amounts(3000, 0, 2 * GIB));
    assert_eq!(ledger.user_in_group("g", "alice"), amounts(1000, 0, GIB));
    // The same pod again replaces, it does not add.
    ledger
        .apply_pod("hub/a", &pod(labels("alice"), Some("Running"), spec("1")))
        .unwrap();
    assert_eq!(ledger.group("g"), amounts(3000, 0, 2 * GIB));
    // Finishing stops counting.
    ledger
        .apply_pod("hub/b", &pod(labels("bob"), Some("Succeeded"), spec("2")))
        .unwrap();
    assert_eq!(ledger.group("g"), amounts(1000, 0, GIB));
    assert_eq!(ledger.user_in_group("g", "bob"), ResourceAmounts::ZERO);
    ledger.remove("hub/a");
    assert!(ledger.is_empty());
    assert_eq!(ledger.group("g"), ResourceAmounts::ZERO);
    assert!(ledger.group_usage("g").is_none());
    // A pod that cannot be parsed is reported and not counted.
    let bad = pod(labels("alice"), Some("Running"), spec("lots"));
    assert!(ledger.apply_pod("hub/c", &bad).is_err());
    assert!(ledger.is_empty());
}

proptest! {
    /// After any sequence of pod changes the ledger equals a from-scratch recount, which is what
    /// PrimeHub computes by listing pods on every request.
    #[test]
    fn ledger_equals_recount(ops in proptest::collection::vec(
        (0usize..6, proptest::option::of((0usize..3, 0usize..3, 0u64..4000, 0u64..3, 0u64..(8 * GIB)))),
        0..60))
    {
        let groups = ["a", "b", "c"];
        let users = ["u1", "u2", "u3"];
        let mut ledger = UsageLedger::new();
        let mut state: std::collections::BTreeMap<usize, PodCharge> = Default::default();
        for (key, change) in ops {
            let charge = change.map(|(g, u, cpu, gpu, mem)| PodCharge {
                group: groups[g].to_owned(),
                user: Some(users[u].to_owned()),
                amounts: amounts(cpu, gpu, mem),
            });
            ledger.apply(&key.to_string(), charge.clone());
            match charge { Some(c) => { state.insert(key, c); } None => { state.remove(&key); } }
        }
        for g in groups {
            let mut total = ResourceAmounts::ZERO;
            for c in state.values().filter(|c| c.group == g) { total = total.checked_add(&c.amounts).unwrap(); }
            prop_assert_eq!(ledger.group(g), total);
            for u in users {
                let mut mine = ResourceAmounts::ZERO;
                for c in state.values().filter(|c| c.group == g && c.user.as_deref() == Some(u)) {
                    mine = mine.checked_add(&c.amounts).unwrap();
                }
                prop_assert_eq!(ledger.user_in_group(g, u), mine);
            }
        }
        prop_assert_eq!(ledger.len(), state.len());
    }

    /// The decision never rejects a zero request and always rejects when a set quota is strictly
    /// exceeded by a positive request.
    #[test]
    fn decision_rule(req in 0u64..5000, usage in 0u64..5000, q in proptest::option::of(0u64..10_000)) {
        let group = tier("g", quota(q, None, None), amounts(usage, 0, 0));
        let allowed = decide(&amounts(req, 0, 0), None, &group).is_ok();
        let expected = match q { None => true, Some(q) => req == 0 || req + usage <= q };
        prop_assert_eq!(allowed, expected);
    }
}
