//! `InstanceType` (`instancetypes.primehub.io`): a resource profile (CPU, memory, GPU,
//! tolerations, node selector) that notebooks, jobs, deployments and apps launch with.
//!
//! The spec keys are **flat and contain dots and slashes** (`limits.cpu`,
//! `limits.nvidia.com/gpu`, …), exactly as PrimeHub stores them. PrimeHub's CRD preserves unknown
//! fields, so keys this model does not know are kept in [`InstanceTypeSpec::extra`] and written
//! back unchanged.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Toleration;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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
    /// `limits.nvidia.com/gpu`: GPU count (limit equals request for GPUs).
    #[serde(
        rename = "limits.nvidia.com/gpu",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub limits_gpu: Option<i64>,
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
            requests_cpu: None,
            requests_memory: None,
            requests_gpu: None,
            tolerations: Vec::new(),
            node_selector: BTreeMap::new(),
            extra: BTreeMap::new(),
        }
    }

    /// The GPU limit, 0 when absent.
    pub fn gpu_limit(&self) -> i64 {
        self.limits_gpu.unwrap_or(0)
    }
}
