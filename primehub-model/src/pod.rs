//! From an InstanceType and an Image to the resources, placement and image of a pod.
//!
//! PrimeHub applies an instance type in two places (JupyterHub's spawner and the job
//! controller's spawner); both are this one function here (`primehub-datamodel.md` §6):
//!
//! * limits from `limits.cpu`, `limits.memory` and the instance type's GPU
//!   ([`InstanceTypeSpec::gpu`](crate::crd::instance_type::InstanceTypeSpec::gpu):
//!   `(gpuResourceName, limits.gpu)` when both are set, else `(nvidia.com/gpu,
//!   limits.nvidia.com/gpu)`), the GPU only when > 0;
//! * requests from `requests.cpu` / `requests.memory` only when they are > 0 (Kubernetes then
//!   defaults requests to the limits); a GPU request is never written, because Kubernetes makes
//!   it equal to the limit;
//! * memory follows DESIGN §4.1: a bare `G`, `M`, `K` suffix means `Gi`, `Mi`, `Ki` (a bare `T` is
//!   decimal tera, as in Kubernetes), and the pod
//!   carries the exact binary quantity (`2G` → `2Gi`), so the scheduler's request for an instance
//!   type equals what the webhook later counts for its pod;
//! * tolerations and the node selector of the instance type (see [`PodPlacement::apply`]);
//! * the image URL: `urlForGpu` (falling back to `url`) when the instance type has any GPU (of
//!   any vendor), else `url`.
//!
//! The quota charge ([`InstanceTypeResources::limits`]) counts the GPU the way the admission
//! webhook will count it in the pod ([`quota::resource_limits`](crate::quota::resource_limits)):
//! `nvidia.com/gpu`, `amd.com/gpu` and `gpu.intel.com/*` resources are GPUs, any other
//! `gpuResourceName` is not charged, so the scheduler and the webhook still agree.
//!
//! ```
//! use primehub_model::crd::instance_type::InstanceType;
//! use primehub_model::pod::InstanceTypeResources;
//!
//! let it: InstanceType = serde_json::from_value(serde_json::json!({
//!     "apiVersion": "primehub.io/v1alpha1", "kind": "InstanceType",
//!     "metadata": {"name": "gpu-1"},
//!     "spec": {"limits.cpu": 2, "limits.memory": "7G", "limits.nvidia.com/gpu": 1,
//!              "requests.cpu": 1.5, "requests.memory": "5G"}
//! }))?;
//! let r = InstanceTypeResources::from_instance_type(&it)?;
//! let limits = r.requirements().limits.unwrap_or_default();
//! assert_eq!(limits["memory"].0, "7Gi");
//! assert_eq!(limits["nvidia.com/gpu"].0, "1");
//! // What the quota webhook will count for a pod built from it:
//! assert_eq!(r.limits().memory.bytes(), 7 << 30);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{PodSpec, ResourceRequirements, Toleration};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;

use crate::crd::image::Image;
use crate::crd::instance_type::InstanceType;
use crate::error::{Error, Result};
use crate::quantity::{Cpu, Gpu, Memory};
use crate::quota::{self, ResourceAmounts};

/// The name (and image) of the sentinel init container PrimeHub puts in every notebook and job
/// pod: its image can never be pulled and its command is `false`, so the pod cannot start
/// unless the resource-validation webhook ran and removed it — proof that quotas were checked.
pub const ADMISSION_SENTINEL: &str = "admission-is-not-found";

/// The resources an instance type gives a pod, validated and exact.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceTypeResources {
    limits: ResourceAmounts,
    gpu_resource: String,
    gpu: Gpu,
    request_cpu: Option<Cpu>,
    request_memory: Option<Memory>,
    placement: PodPlacement,
}

/// Where a pod may run: tolerations and a node selector.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PodPlacement {
    /// Tolerations to append to the pod's.
    pub tolerations: Vec<Toleration>,
    /// Node-selector entries; they win over the pod's own entries with the same key.
    pub node_selector: BTreeMap<String, String>,
}

impl PodPlacement {
    /// Merges the placement into a pod spec: node-selector keys of the instance type win,
    /// tolerations are appended (skipping exact duplicates).
    pub fn apply(&self, spec: &mut PodSpec) {
        if !self.node_selector.is_empty() {
            let selector = spec.node_selector.get_or_insert_with(BTreeMap::new);
            for (k, v) in &self.node_selector {
                selector.insert(k.clone(), v.clone());
            }
        }
        if !self.tolerations.is_empty() {
            let tolerations = spec.tolerations.get_or_insert_with(Vec::new);
            for t in &self.tolerations {
                if !tolerations.contains(t) {
                    tolerations.push(t.clone());
                }
            }
        }
    }
}

fn number_text(n: &serde_json::Number) -> String {
    n.to_string()
}

fn field_err(name: &str, field: &str, rule: impl Into<String>) -> Error {
    Error::InvalidField {
        field: format!("instancetypes/{name} spec.{field}"),
        rule: rule.into(),
    }
}

impl InstanceTypeResources {
    /// Validates an instance type and computes its pod resources. Rules (as PrimeHub's console
    /// enforces them): `limits.cpu` and `limits.memory` must be above 0; a request, when given,
    /// must not exceed its limit; `limits.nvidia.com/gpu` must not be negative.
    pub fn from_instance_type(it: &InstanceType) -> Result<InstanceTypeResources> {
        let name = it.metadata.name.as_deref().unwrap_or("<unnamed>");
        let spec = &it.spec;
        let q = |field: &str| format!("instancetypes/{name} spec.{field}");

        let cpu = Cpu::parse_cores(&q("limits.cpu"), &number_text(&spec.limits_cpu))?;
        if cpu == Cpu::ZERO {
            return Err(field_err(name, "limits.cpu", "must be greater than 0"));
        }
        let memory = Memory::parse_primehub(&q("limits.memory"), &spec.limits_memory)?;
        if memory == Memory::ZERO {
            return Err(field_err(name, "limits.memory", "must be greater than 0"));
        }
        let (gpu_resource, gpu_count) = spec.gpu();
        let gpu_key = if spec.uses_vendor_gpu() {
            "limits.gpu"
        } else {
            "limits.nvidia.com/gpu"
        };
        let gpu = Gpu::from_count(
            u64::try_from(gpu_count)
                .map_err(|_| field_err(name, gpu_key, "must not be negative"))?,
        );
        let charged_gpu = if quota::is_counted_gpu(gpu_resource) {
            gpu
        } else {
            Gpu::ZERO
        };
        let request_cpu = match &spec.requests_cpu {
            None => None,
            Some(n) => {
                let r = Cpu::parse_cores(&q("requests.cpu"), &number_text(n))?;
                if r > cpu {
                    return Err(field_err(
                        name,
                        "requests.cpu",
                        format!(
                            "must not exceed limits.cpu ({} > {})",
                            r.to_cores_string(),
                            cpu.to_cores_string()
                        ),
                    ));
                }
                Some(r).filter(|r| *r > Cpu::ZERO)
            }
        };
        let request_memory = match spec.requests_memory.as_deref() {
            None | Some("") => None,
            Some(text) => {
                let r = Memory::parse_primehub(&q("requests.memory"), text)?;
                if r > memory {
                    return Err(field_err(
                        name,
                        "requests.memory",
                        format!(
                            "must not exceed limits.memory ({} > {})",
                            r.to_quantity_string(),
                            memory.to_quantity_string()
                        ),
                    ));
                }
                Some(r).filter(|r| *r > Memory::ZERO)
            }
        };
        if spec.requests_gpu.is_some_and(|n| n < 0) {
            return Err(field_err(
                name,
                "requests.nvidia.com/gpu",
                "must not be negative",
            ));
        }
        Ok(InstanceTypeResources {
            limits: ResourceAmounts {
                cpu,
                gpu: charged_gpu,
                memory,
            },
            gpu_resource: gpu_resource.to_owned(),
            gpu,
            request_cpu,
            request_memory,
            placement: PodPlacement {
                tolerations: spec.tolerations.clone(),
                node_selector: spec.node_selector.clone(),
            },
        })
    }

    /// The limits, which is what quotas charge (PrimeHub counts limits, never requests). The
    /// GPU is charged only when the webhook counts its resource as a GPU
    /// ([`quota::is_counted_gpu`]).
    pub fn limits(&self) -> ResourceAmounts {
        self.limits
    }

    /// The GPU count, whatever its resource.
    pub fn gpu(&self) -> Gpu {
        self.gpu
    }

    /// The extended resource the GPUs are requested as (`nvidia.com/gpu`, `amd.com/gpu`, …).
    pub fn gpu_resource(&self) -> &str {
        &self.gpu_resource
    }

    /// The container's `resources`: exact Kubernetes quantities, requests only where above 0.
    pub fn requirements(&self) -> ResourceRequirements {
        let mut limits = BTreeMap::new();
        limits.insert(
            "cpu".to_owned(),
            K8sQuantity(self.limits.cpu.to_quantity_string()),
        );
        limits.insert(
            "memory".to_owned(),
            K8sQuantity(self.limits.memory.to_quantity_string()),
        );
        if self.gpu > Gpu::ZERO {
            limits.insert(self.gpu_resource.clone(), K8sQuantity(self.gpu.to_string()));
        }
        let mut requests = BTreeMap::new();
        if let Some(cpu) = self.request_cpu {
            requests.insert("cpu".to_owned(), K8sQuantity(cpu.to_quantity_string()));
        }
        if let Some(memory) = self.request_memory {
            requests.insert(
                "memory".to_owned(),
                K8sQuantity(memory.to_quantity_string()),
            );
        }
        ResourceRequirements {
            limits: Some(limits),
            requests: (!requests.is_empty()).then_some(requests),
            ..ResourceRequirements::default()
        }
    }

    /// Tolerations and node selector.
    pub fn placement(&self) -> &PodPlacement {
        &self.placement
    }
}

/// The image reference to run for `gpu` GPUs (of any vendor: pass
/// [`InstanceTypeResources::gpu`]): `urlForGpu` (falling back to `url`) when `gpu` is above 0,
/// else `url` ([`ImageCrdSpec::url_for`](crate::crd::image::ImageCrdSpec::url_for)).
/// `None` when the image has no usable URL (for example a custom build that has not finished).
///
/// PrimeHub's job controller decided "GPU image" from `requests.cpu > 0`; the GPU count is the
/// right input, as the notebook spawner uses it.
pub fn image_url(image: &Image, gpu: Gpu) -> Option<&str> {
    image.spec.url_for(gpu > Gpu::ZERO)
}
