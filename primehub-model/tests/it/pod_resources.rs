//! Instance type → pod resources, placement and image choice (primehub-datamodel.md §6, DESIGN §4.1).

use k8s_openapi::api::core::v1::PodSpec;
use primehub_model::crd::image::Image;
use primehub_model::crd::instance_type::InstanceType;
use primehub_model::pod::{InstanceTypeResources, image_url};
use primehub_model::quantity::Gpu;
use primehub_model::quota::pod_request;
use serde_json::json;

fn instance_type(name: &str, spec: serde_json::Value) -> InstanceType {
    serde_json::from_value(
        json!({"apiVersion": "primehub.io/v1alpha1", "kind": "InstanceType",
        "metadata": {"name": name, "namespace": "hub"}, "spec": spec}),
    )
    .unwrap()
}

fn quantities(
    m: Option<
        std::collections::BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
    >,
) -> Vec<(String, String)> {
    m.unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.0))
        .collect()
}

#[test]
fn bootstrap_gpu_1_gives_binary_memory_and_gpu_limit() {
    let it = instance_type(
        "gpu-1",
        json!({"limits.cpu": 2, "limits.memory": "7G",
        "limits.nvidia.com/gpu": 1, "requests.cpu": 1.5, "requests.memory": "5G",
        "tolerations": [{"key": "hub.jupyter.org/dedicated", "operator": "Equal", "value": "user", "effect": "NoSchedule"}]}),
    );
    let r = InstanceTypeResources::from_instance_type(&it).unwrap();
    let req = r.requirements();
    assert_eq!(
        quantities(req.limits),
        vec![
            ("cpu".into(), "2".into()),
            ("memory".into(), "7Gi".into()),
            ("nvidia.com/gpu".into(), "1".into())
        ]
    );
    assert_eq!(
        quantities(req.requests),
        vec![
            ("cpu".into(), "1500m".into()),
            ("memory".into(), "5Gi".into())
        ]
    );
    assert_eq!(r.gpu(), Gpu::from_count(1));
    assert_eq!(r.placement().tolerations.len(), 1);
}

#[test]
fn cpu_only_type_has_no_gpu_and_no_requests_when_unset() {
    let it = instance_type("cpu-2", json!({"limits.cpu": 2, "limits.memory": "10G"}));
    let r = InstanceTypeResources::from_instance_type(&it).unwrap();
    let req = r.requirements();
    assert_eq!(
        quantities(req.limits),
        vec![("cpu".into(), "2".into()), ("memory".into(), "10Gi".into())]
    );
    assert_eq!(req.requests, None);
    // requests of 0 are omitted, as the controller does
    let it = instance_type(
        "x",
        json!({"limits.cpu": 0.5, "limits.memory": "512M", "requests.cpu": 0, "requests.memory": "0G"}),
    );
    let r = InstanceTypeResources::from_instance_type(&it).unwrap();
    assert_eq!(r.requirements().requests, None);
    assert_eq!(
        quantities(r.requirements().limits),
        vec![
            ("cpu".into(), "500m".into()),
            ("memory".into(), "512Mi".into())
        ]
    );
}

#[test]
fn the_webhook_counts_exactly_the_instance_type_limits() {
    for spec in [
        json!({"limits.cpu": 2, "limits.memory": "7G", "limits.nvidia.com/gpu": 1}),
        json!({"limits.cpu": 0.25, "limits.memory": "1.5G"}),
        json!({"limits.cpu": 1, "limits.memory": "2Gi"}),
        json!({"limits.cpu": 3, "limits.memory": "2000M"}),
    ] {
        let r = InstanceTypeResources::from_instance_type(&instance_type("t", spec)).unwrap();
        let pod: PodSpec = serde_json::from_value(json!({"containers": [{"name": "main",
            "resources": serde_json::to_value(r.requirements()).unwrap()}]}))
        .unwrap();
        assert_eq!(pod_request(&pod).unwrap(), r.limits());
    }
}

#[test]
fn invalid_instance_types_name_the_field() {
    let cases = [
        (
            json!({"limits.cpu": 0, "limits.memory": "1G"}),
            "limits.cpu",
            "greater than 0",
        ),
        (
            json!({"limits.cpu": 1, "limits.memory": "0G"}),
            "limits.memory",
            "greater than 0",
        ),
        (
            json!({"limits.cpu": 1, "limits.memory": "lots"}),
            "limits.memory",
            "",
        ),
        (
            json!({"limits.cpu": 1, "limits.memory": "1G", "requests.cpu": 2}),
            "requests.cpu",
            "must not exceed limits.cpu",
        ),
        (
            json!({"limits.cpu": 1, "limits.memory": "1G", "requests.memory": "2G"}),
            "requests.memory",
            "must not exceed limits.memory",
        ),
        (
            json!({"limits.cpu": 1, "limits.memory": "1G", "limits.nvidia.com/gpu": -1}),
            "limits.nvidia.com/gpu",
            "negative",
        ),
        (
            json!({"limits.cpu": -1, "limits.memory": "1G"}),
            "limits.cpu",
            "negative",
        ),
    ];
    for (spec, field, rule) in cases {
        let err = InstanceTypeResources::from_instance_type(&instance_type("bad", spec.clone()))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("instancetypes/bad") && err.contains(field) && err.contains(rule),
            "{spec}: {err}"
        );
    }
}

#[test]
fn placement_merges_node_selector_and_appends_tolerations() {
    let it = instance_type(
        "gpu",
        json!({"limits.cpu": 1, "limits.memory": "1G",
        "nodeSelector": {"gpu": "v100", "zone": "a"},
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]}),
    );
    let r = InstanceTypeResources::from_instance_type(&it).unwrap();
    let mut spec: PodSpec = serde_json::from_value(json!({"containers": [],
        "nodeSelector": {"zone": "b", "pool": "jobs"},
        "tolerations": [{"key": "hub.jupyter.org/dedicated", "operator": "Equal", "value": "user", "effect": "NoSchedule"}]})).unwrap();
    r.placement().apply(&mut spec);
    r.placement().apply(&mut spec); // idempotent
    let selector = spec.node_selector.unwrap();
    assert_eq!(selector["zone"], "a");
    assert_eq!(selector["pool"], "jobs");
    assert_eq!(selector["gpu"], "v100");
    assert_eq!(spec.tolerations.unwrap().len(), 2);
}

#[test]
fn image_url_uses_gpu_url_only_with_gpus() {
    let image: Image = serde_json::from_value(json!({"apiVersion": "primehub.io/v1alpha1", "kind": "Image",
        "metadata": {"name": "tf"}, "spec": {"type": "both", "url": "tf:cpu", "urlForGpu": "tf:gpu"}})).unwrap();
    assert_eq!(image_url(&image, Gpu::ZERO), Some("tf:cpu"));
    assert_eq!(image_url(&image, Gpu::from_count(2)), Some("tf:gpu"));
    let cpu_only: Image = serde_json::from_value(
        json!({"apiVersion": "primehub.io/v1alpha1", "kind": "Image",
        "metadata": {"name": "c"}, "spec": {"type": "cpu", "url": "c:1"}}),
    )
    .unwrap();
    assert_eq!(image_url(&cpu_only, Gpu::from_count(1)), Some("c:1"));
    let building: Image = serde_json::from_value(
        json!({"apiVersion": "primehub.io/v1alpha1", "kind": "Image",
        "metadata": {"name": "b"}, "spec": {"type": "cpu", "imageSpec": {"baseImage": "ubuntu"}}}),
    )
    .unwrap();
    assert_eq!(image_url(&building, Gpu::ZERO), None);
}

/// The console's vendor-neutral GPU: `(gpuResourceName, limits.gpu)` when both keys are set,
/// else `(nvidia.com/gpu, limits.nvidia.com/gpu)` (primehub-datamodel.md §2.1; InfuseAI/primehub
/// chart/scripts/jupyterhub/config/jupyterhub_profiles.py and the controller's job spawner).
#[test]
fn vendor_gpu_pair_names_the_resource_and_the_count() {
    let amd = instance_type(
        "amd-2",
        json!({"limits.cpu": 4, "limits.memory": "14G", "limits.gpu": 2,
               "gpuResourceName": "amd.com/gpu", "limits.nvidia.com/gpu": 1}),
    );
    let r = InstanceTypeResources::from_instance_type(&amd).unwrap();
    assert_eq!(r.gpu_resource(), "amd.com/gpu");
    assert_eq!(r.gpu(), Gpu::from_count(2));
    assert_eq!(
        quantities(r.requirements().limits),
        vec![
            ("amd.com/gpu".into(), "2".into()),
            ("cpu".into(), "4".into()),
            ("memory".into(), "14Gi".into()),
        ],
        "no nvidia.com/gpu when the pair is set"
    );
    // What the webhook counts for the pod equals the instance type's charge.
    let pod: PodSpec = serde_json::from_value(json!({"containers": [{"name": "main",
        "resources": {"limits": r.requirements().limits}}]}))
    .unwrap();
    assert_eq!(pod_request(&pod).unwrap(), r.limits());
    assert_eq!(r.limits().gpu, Gpu::from_count(2));

    // Only one of the pair: the classic key decides.
    for spec in [
        json!({"limits.cpu": 1, "limits.memory": "1G", "limits.gpu": 3, "limits.nvidia.com/gpu": 1}),
        json!({"limits.cpu": 1, "limits.memory": "1G", "gpuResourceName": "amd.com/gpu",
               "limits.nvidia.com/gpu": 1}),
        json!({"limits.cpu": 1, "limits.memory": "1G", "limits.gpu": 3, "gpuResourceName": "",
               "limits.nvidia.com/gpu": 1}),
    ] {
        let r =
            InstanceTypeResources::from_instance_type(&instance_type("x", spec.clone())).unwrap();
        assert_eq!(
            (r.gpu_resource(), r.gpu()),
            ("nvidia.com/gpu", Gpu::from_count(1)),
            "{spec}"
        );
    }
    let none = instance_type(
        "n",
        json!({"limits.cpu": 1, "limits.memory": "1G", "limits.gpu": 3}),
    );
    let r = InstanceTypeResources::from_instance_type(&none).unwrap();
    assert_eq!(r.gpu(), Gpu::ZERO);
    assert!(
        !quantities(r.requirements().limits)
            .iter()
            .any(|(k, _)| k.contains("gpu"))
    );
}

#[test]
fn vendor_gpu_errors_name_the_key_they_came_from() {
    let bad = instance_type(
        "neg",
        json!({"limits.cpu": 1, "limits.memory": "1G", "limits.gpu": -1,
               "gpuResourceName": "amd.com/gpu"}),
    );
    let err = InstanceTypeResources::from_instance_type(&bad).unwrap_err();
    assert!(err.to_string().contains("spec.limits.gpu"), "{err}");
    let bad = instance_type(
        "neg",
        json!({"limits.cpu": 1, "limits.memory": "1G", "limits.nvidia.com/gpu": -1}),
    );
    let err = InstanceTypeResources::from_instance_type(&bad).unwrap_err();
    assert!(
        err.to_string().contains("spec.limits.nvidia.com/gpu"),
        "{err}"
    );
}

/// A GPU resource the webhook does not count as a GPU is requested in the pod but not charged,
/// so the scheduler's charge still equals what the webhook counts.
#[test]
fn uncounted_gpu_resource_is_not_charged() {
    let it = instance_type(
        "gaudi",
        json!({"limits.cpu": 1, "limits.memory": "1G", "limits.gpu": 1,
               "gpuResourceName": "habana.ai/gaudi"}),
    );
    let r = InstanceTypeResources::from_instance_type(&it).unwrap();
    assert_eq!(r.gpu(), Gpu::from_count(1));
    assert_eq!(r.limits().gpu, Gpu::ZERO);
    let pod: PodSpec = serde_json::from_value(json!({"containers": [{"name": "main",
        "resources": {"limits": r.requirements().limits}}]}))
    .unwrap();
    assert_eq!(pod_request(&pod).unwrap(), r.limits());
}

/// The GPU image is chosen for a GPU of any vendor.
#[test]
fn image_url_follows_vendor_gpus() {
    let image: Image = serde_json::from_value(json!({"apiVersion": "primehub.io/v1alpha1", "kind": "Image",
        "metadata": {"name": "tf"}, "spec": {"type": "both", "url": "tf:cpu", "urlForGpu": "tf:gpu"}})).unwrap();
    let amd = instance_type(
        "amd-1",
        json!({"limits.cpu": 1, "limits.memory": "1G", "limits.gpu": 1,
               "gpuResourceName": "amd.com/gpu"}),
    );
    let r = InstanceTypeResources::from_instance_type(&amd).unwrap();
    assert_eq!(image_url(&image, r.gpu()), Some("tf:gpu"));
    let cpu = instance_type("cpu", json!({"limits.cpu": 1, "limits.memory": "1G"}));
    let r = InstanceTypeResources::from_instance_type(&cpu).unwrap();
    assert_eq!(image_url(&image, r.gpu()), Some("tf:cpu"));
}

/// DESIGN §4.1: only a bare `G`, `M`, `K` is binary in an instance type; a bare `T` is
/// Kubernetes' decimal tera.
#[test]
fn bare_t_memory_is_decimal_tera() {
    let it = instance_type("big", json!({"limits.cpu": 1, "limits.memory": "1T"}));
    let r = InstanceTypeResources::from_instance_type(&it).unwrap();
    assert_eq!(r.limits().memory.bytes(), 1_000_000_000_000);
    let it = instance_type("big", json!({"limits.cpu": 1, "limits.memory": "1Ti"}));
    let r = InstanceTypeResources::from_instance_type(&it).unwrap();
    assert_eq!(r.limits().memory.bytes(), 1 << 40);
}
