//! `InstanceType` (`instancetypes.primehub.io`): a resource profile (CPU, memory, GPU,
//! tolerations, node selector) that notebooks, jobs, deployments and apps launch with.
//!
//! The spec keys are **flat and contain dots and slashes** (`limits.cpu`,
//! `limits.nvidia.com/gpu`, …), exactly as PrimeHub stores them. PrimeHub's CRD preserves unknown
//! fields, so keys this model does not know are kept in [`InstanceTypeSpec::extra`] and written
//! back unchanged.
//!
//! # GPUs
//!
//! An instance type names its GPUs in one of two ways (`primehub-datamodel.md` §2.1):
//!
//! * the vendor-neutral pair `limits.gpu` + `gpuResourceName` (the console writes it since its AMD
//!   support, e.g. `gpuResourceName: amd.com/gpu`), used **only when both keys are present**;
//! * otherwise the classic `limits.nvidia.com/gpu`, whose resource is `nvidia.com/gpu`.
//!
//! [`InstanceTypeSpec::gpu`] applies that rule; pod resources, the image URL choice and quota
//! counting all go through it. (Upstream: InfuseAI/primehub `chart/scripts/jupyterhub/config/
//! jupyterhub_profiles.py` and InfuseAI/primehub-controller `pkg/graphql/spawn.go` read the pair
//! first and fall back to `limits.nvidia.com/gpu`.)

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Toleration;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The GPU resource of an instance type without `gpuResourceName`.
pub const NVIDIA_GPU_RESOURCE: &str = "nvidia.com/gpu";

/// Spec of an `InstanceType`.
///
/// CPU values stay `serde_json::Number`s (the decimal text written in the object, for example
/// `1.5`): no float arithmetic happens in the model. A quoted number (`"1.5"`) is accepted on input
/// and written back as a number. Memory values are the stored strings (`"2G"`); see
/// the `quantity` module for how they are read.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "primehub.io",
    version = "v1alpha1",
    kind = "InstanceType",
    plural = "instancetypes",
    singular = "instancetype",
    namespaced,
    derive = "PartialEq",
    doc = "A PrimeHub instance type: CPU, memory and GPU limits and requests, tolerations and node selector."
)]
pub struct InstanceTypeSpec {
    /// `displayName`: the name shown in UIs (the console defaults it to the object name).
    #[serde(
        rename = "displayName",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub display_name: Option<String>,
    /// `description`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `limits.cpu`: CPU limit in cores (JSON number, for example `1.5`). Required.
    #[serde(rename = "limits.cpu", deserialize_with = "super::lenient::number")]
    pub limits_cpu: serde_json::Number,
    /// `limits.memory`: memory limit as stored (for example `"2G"`). Required.
    #[serde(rename = "limits.memory")]
    pub limits_memory: String,
    /// `limits.nvidia.com/gpu`: NVIDIA GPU count (limit equals request for GPUs). Ignored when
    /// both `limits.gpu` and `gpuResourceName` are set (see [`InstanceTypeSpec::gpu`]).
    #[serde(
        rename = "limits.nvidia.com/gpu",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub limits_gpu: Option<i64>,
    /// `limits.gpu`: vendor-neutral GPU count, counted only together with `gpuResourceName`.
    #[serde(
        rename = "limits.gpu",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub limits_vendor_gpu: Option<i64>,
    /// `gpuResourceName`: the extended resource `limits.gpu` counts (for example `amd.com/gpu`),
    /// used only together with `limits.gpu`.
    #[serde(
        rename = "gpuResourceName",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub gpu_resource_name: Option<String>,
    /// `requests.cpu`: CPU request (guarantee) in cores.
    #[serde(
        rename = "requests.cpu",
        default,
        deserialize_with = "super::lenient::option_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub requests_cpu: Option<serde_json::Number>,
    /// `requests.memory`: memory request as stored (for example `"1G"`).
    #[serde(
        rename = "requests.memory",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub requests_memory: Option<String>,
    /// `requests.nvidia.com/gpu`: GPU request (read by the controller only; the console never
    /// writes it).
    #[serde(
        rename = "requests.nvidia.com/gpu",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub requests_gpu: Option<i64>,
    /// `tolerations`: standard Kubernetes tolerations, appended to the pod's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
    /// `nodeSelector`: standard Kubernetes node selector, merged into the pod's.
    #[serde(
        rename = "nodeSelector",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub node_selector: BTreeMap<String, String>,
    /// Keys this model does not know, kept verbatim (the CRD preserves unknown fields).
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl InstanceTypeSpec {
    /// A spec with only the two required keys set (`limits.cpu`, `limits.memory`).
    pub fn new(limits_cpu: serde_json::Number, limits_memory: impl Into<String>) -> Self {
        Self {
            display_name: None,
            description: None,
            limits_cpu,
            limits_memory: limits_memory.into(),
            limits_gpu: None,
            limits_vendor_gpu: None,
            gpu_resource_name: None,
            requests_cpu: None,
            requests_memory: None,
            requests_gpu: None,
            tolerations: Vec::new(),
            node_selector: BTreeMap::new(),
            extra: BTreeMap::new(),
        }
    }

    /// The GPU resource name and count, PrimeHub's rule: `(gpuResourceName, limits.gpu)` when
    /// **both** keys are present, otherwise `("nvidia.com/gpu", limits.nvidia.com/gpu)` with an
    /// absent count read as 0. A present but empty `gpuResourceName` counts as absent.
    ///
    /// ```
    /// use primehub_model::crd::instance_type::InstanceTypeSpec;
    ///
    /// let mut spec = InstanceTypeSpec::new(1.into(), "2G");
    /// spec.limits_gpu = Some(1);
    /// assert_eq!(spec.gpu(), ("nvidia.com/gpu", 1));
    /// spec.limits_vendor_gpu = Some(2);
    /// assert_eq!(spec.gpu(), ("nvidia.com/gpu", 1), "limits.gpu alone is not enough");
    /// spec.gpu_resource_name = Some("amd.com/gpu".into());
    /// assert_eq!(spec.gpu(), ("amd.com/gpu", 2));
    /// ```
    pub fn gpu(&self) -> (&str, i64) {
        match (self.limits_vendor_gpu, self.vendor_gpu_resource()) {
            (Some(count), Some(name)) => (name, count),
            _ => (NVIDIA_GPU_RESOURCE, self.limits_gpu.unwrap_or(0)),
        }
    }

    /// Whether the GPU comes from `limits.gpu` + `gpuResourceName` (both present).
    pub fn uses_vendor_gpu(&self) -> bool {
        self.limits_vendor_gpu.is_some() && self.vendor_gpu_resource().is_some()
    }

    fn vendor_gpu_resource(&self) -> Option<&str> {
        self.gpu_resource_name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
    }

    /// The GPU count of [`InstanceTypeSpec::gpu`], 0 when absent.
    pub fn gpu_limit(&self) -> i64 {
        self.gpu().1
    }
}
