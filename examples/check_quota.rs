//! Decide whether a pod fits its group's quotas, exactly as PrimeHub's admission webhook does.
//!
//! The quotas come from the Keycloak group's attributes (as the admin API returns them), the
//! usage from the pods already running in the namespace. Run with
//! `cargo run -p primehub-examples --example check_quota`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use primehub_model::attributes::GroupAttributes;
use primehub_model::quota::{TierCheck, UsageLedger, decide, pod_request};

/// The group `phusers` as Keycloak stores it: every attribute a list of strings.
fn group_attributes() -> BTreeMap<String, Vec<String>> {
    [
        ("quota-cpu", "1"),
        ("quota-gpu", "0"),
        ("quota-memory", "4G"),
        ("project-quota-cpu", "8"),
        ("project-quota-memory", "32G"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), vec![v.to_owned()]))
    .collect()
}

/// A pod as JupyterHub or the job controller would create it for `user` in `phusers`.
fn pod(name: &str, user_label: &str, phase: &str, cpu: &str, memory: &str, gpu: u32) -> Pod {
    let mut limits = serde_json::json!({"cpu": cpu, "memory": memory});
    if gpu > 0 {
        limits["nvidia.com/gpu"] = serde_json::json!(gpu.to_string());
    }
    serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "hub", "labels": {
            "primehub.io/group": "escaped-phusers", "primehub.io/user": user_label}},
        "spec": {"containers": [{"name": "notebook", "image": "jupyter/base-notebook",
            "resources": {"limits": limits}}]},
        "status": {"phase": phase}
    }))
    .expect("a valid pod")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let attributes = GroupAttributes::from_map(&group_attributes())?;

    // Usage: fed incrementally, as a pod watch would feed it.
    let mut ledger = UsageLedger::new();
    for p in [
        pod(
            "jupyter-alice",
            "escaped-alice",
            "Running",
            "500m",
            "2Gi",
            0,
        ),
        pod(
            "job-202611290000-abcdef",
            "escaped-bob",
            "Running",
            "2",
            "8Gi",
            0,
        ),
        pod(
            "job-202611280000-zzzzzz",
            "escaped-alice",
            "Succeeded",
            "4",
            "8Gi",
            0,
        ),
    ] {
        let key = p.metadata.name.clone().unwrap_or_default();
        ledger.apply_pod(&key, &p)?;
    }

    for (incoming, what) in [
        (
            pod("a1", "escaped-alice", "Pending", "500m", "1Gi", 0),
            "alice asks for 0.5 cpu",
        ),
        (
            pod("a2", "escaped-alice", "Pending", "1", "1Gi", 0),
            "alice asks for 1 cpu",
        ),
        (
            pod("a3", "escaped-alice", "Pending", "100m", "1Gi", 1),
            "alice asks for a GPU",
        ),
    ] {
        let request = pod_request(incoming.spec.as_ref().ok_or("pod without spec")?)?;
        let user = TierCheck {
            name: "alice",
            quota: attributes.user_quota(),
            usage: ledger.user_in_group("phusers", "alice"),
        };
        let group = TierCheck {
            name: "phusers",
            quota: attributes.project_quota(),
            usage: ledger.group("phusers"),
        };
        match decide(&request, Some(&user), &group) {
            Ok(()) => println!("{what}: allowed"),
            Err(rejection) => println!("{what}: rejected (code 410): {rejection}"),
        }
    }
    Ok(())
}
