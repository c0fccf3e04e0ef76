//! Pure pod building: from an InstanceType, an Image, datasets, group volumes and a PhJob (or a
//! notebook launch) to the pod PrimeHub runs.
//!
//! | item | what it builds |
//! |---|---|
//! | [`InstanceTypeResources`], [`PodPlacement`], [`image_url`] | container resources, tolerations and node selector, the image URL (below) |
//! | [`parts`] | the blocks every workload pod shares: [`parts::PodParts`] (volumes, mounts, env, `postStart` symlinks), [`parts::ImageChoice`], group shared volumes, PHFS, datasets with a [`parts::DatasetLayout`], the `primehub.io/usage` annotation, the sentinel init container |
//! | [`ResourceObjects`], [`granted_instance_type_and_image`] | the resources that exist, and the launch rule both spawners share: instance type and image bound to the launch group or to `everyone`, with PrimeHub's `… not found` messages |
//! | [`job`] | the PhJob pod: [`job::build_job_pod`] with the operator's [`job::JobPodConfig`] |
//! | [`notebook`] | PrimeHub's parts of a notebook pod for KubeSpawner and the home PVC: [`notebook::build_notebook_parts`] with the operator's [`notebook::NotebookPodConfig`], [`notebook::NotebookParts::to_pod`] for a whole pod |
//!
//! # The job pod
//!
//! [`job::build_job_pod`] builds it as PrimeHub's job controller does
//! (InfuseAI/primehub-controller `ee/controllers/phjob_controller.go` `buildPod` and
//! `pkg/graphql/spawn.go` `NewSpawnerForJob`; reference `primehub-controllers.md` §4.4):
//!
//! * **metadata**: name and namespace of the PhJob; labels *replaced* by `app=primehub-job`,
//!   `primehub.io/group` and `primehub.io/user` (escaped, [`crate::names::primehub_labels`]);
//!   the PhJob's annotations plus `primehub.io/usage` (`{"component":"job","component_name":…,
//!   "group":…,"instance_type":…,"user":…}`); a controller owner reference to the PhJob
//!   (`controller` and `blockOwnerDeletion` true);
//! * **container `main`**: the image for the instance type's GPU count and its pull secret;
//!   command `["/scripts/run-job.sh", "sleep 1\n" + spec.command]`; working directory
//!   `/home/jovyan`; the instance type's resources; `terminationMessagePolicy:
//!   FallbackToLogsOnError`, `imagePullPolicy: IfNotPresent`; a `postStart` `sh -c` running the
//!   symlink commands joined with `;`;
//! * **volumes and mounts**, in this order: the shared volume of each of the user's groups that
//!   has one, when it is the launch group or not `launch-group-only` (`project-<g>` at
//!   `/project/<g>`, linked into the working directory when `home-symlink`); PHFS (`phfs` at
//!   `/phfs`, `subPath groups/<g>`) when enabled; `workingdir` (emptyDir, `sizeLimit`
//!   `workingDirSize`) at `/home/jovyan`; each dataset at `/mnt/dataset-<name>`, linked from
//!   `<mountRoot>/<name>`; `datasets` (emptyDir 1M) at `/datasets`; `scripts` (the scripts
//!   ConfigMap, mode 0777) at `/scripts`; `monitoring-utils` (emptyDir) at `/monitoring-utils`
//!   when artifacts are on; `dshm` (emptyDir, medium Memory) at `/dev/shm`;
//! * **environment**, in this order: env-dataset variables; `PRIMEHUB_USER`, `PRIMEHUB_GROUP`;
//!   `PHJOB_NAME`, `PHJOB_ARTIFACT_ENABLED`, `PHJOB_ARTIFACT_LIMIT_SIZE_MB`,
//!   `PHJOB_ARTIFACT_LIMIT_FILES`, `PHJOB_ARTIFACT_RETENTION_SECONDS` when artifacts and PHFS are
//!   on; `GRANT_SUDO`; `TZ`; `GROUP_ID`, `GROUP_NAME`, `JUPYTERHUB_USER`, `INSTANCE_TYPE`,
//!   `IMAGE_NAME`;
//! * **init containers**: `copy-monitoring-utils` when artifacts are on, then the sentinel
//!   [`ADMISSION_SENTINEL`];
//! * **pod**: `restartPolicy: Never`; `securityContext.runAsUser: 0` when sudo is granted (else
//!   `{}`); the instance type's node selector and tolerations, then the operator's (its
//!   node-selector keys win); the operator's affinity (`{}` when none).
//!
//! ```
//! use primehub_model::attributes::GroupAttributes;
//! use primehub_model::binding::Catalog;
//! use primehub_model::crd::{image::Image, instance_type::InstanceType, job::PhJob};
//! use primehub_model::pod::job::{build_job_pod, JobPodConfig, JobPodInput, UserGroup};
//! use primehub_model::quota::pod_request;
//! use primehub_model::roles::RoleNaming;
//! use serde_json::json;
//!
//! let it: InstanceType = serde_json::from_value(json!({
//!     "apiVersion": "primehub.io/v1alpha1", "kind": "InstanceType", "metadata": {"name": "cpu-1"},
//!     "spec": {"limits.cpu": 1, "limits.memory": "2G"}}))?;
//! let image: Image = serde_json::from_value(json!({
//!     "metadata": {"name": "base"}, "spec": {"url": "jupyter/base-notebook"}}))?;
//! let job: PhJob = serde_json::from_value(json!({
//!     "apiVersion": "primehub.io/v1alpha1", "kind": "PhJob",
//!     "metadata": {"name": "job-202612041700-abc123", "namespace": "hub", "uid": "0b6f"},
//!     "spec": {"displayName": "train", "userId": "u-1", "userName": "alice",
//!              "groupId": "g-1", "groupName": "phusers", "instanceType": "cpu-1",
//!              "image": "base", "command": "python train.py"}}))?;
//! let global_roles = vec!["it:cpu-1".to_owned(), "img:base".to_owned()];
//! let attrs = GroupAttributes::default();
//! let groups = [
//!     UserGroup { name: "everyone", roles: &global_roles, attributes: &attrs },
//!     UserGroup { name: "phusers", roles: &[], attributes: &attrs },
//! ];
//! let input = JobPodInput {
//!     job: &job, user_name: "alice", groups: &groups, naming: &RoleNaming::default(),
//!     resources: &Catalog { images: std::slice::from_ref(&image),
//!                           instance_types: std::slice::from_ref(&it), datasets: &[] },
//!     time_zone: Some("Asia/Taipei"),
//! };
//! let pod = build_job_pod(&input, &JobPodConfig::default())?;
//! let spec = pod.spec.as_ref().expect("spec");
//! let main = &spec.containers[0];
//! assert_eq!(main.command.as_deref(),
//!            Some(&["/scripts/run-job.sh".to_owned(), "sleep 1\npython train.py".to_owned()][..]));
//! assert_eq!(pod.metadata.labels.as_ref().expect("labels")["primehub.io/group"], "escaped-phusers");
//! // What the quota webhook will count for this pod is what the instance type charges:
//! assert_eq!(pod_request(spec)?.memory.bytes(), 2 << 30);
//!
//! // An instance type the group may not use is PrimeHub's error.
//! let mut gpu_job = job.clone();
//! gpu_job.spec.instance_type = "gpu-1".into();
//! let err = build_job_pod(&JobPodInput { job: &gpu_job, ..input }, &JobPodConfig::default());
//! assert_eq!(err.unwrap_err().to_string(), "InstanceType not found: gpu-1");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Where we differ from PrimeHub, deliberately
//!
//! * **Datasets in name order.** PrimeHub iterates Go maps (the datasets, an env dataset's
//!   variables), so its order changes from pod to pod; ours is by name, so the same job always
//!   gets the same pod.
//! * **Memory in binary units.** PrimeHub writes the converted limit as plain bytes
//!   (`2G` → `2147483648`); we write the same amount as `2Gi`. CPU is written alike (`1500m`,
//!   `2`).
//! * **GPU.** The image is chosen from the instance type's GPU count of any vendor, and
//!   `urlForGpu` falls back to `url` (PrimeHub's job spawner used `urlForGpu` alone, which is
//!   empty for CPU-only images); no GPU *request* is written, since Kubernetes makes it equal to
//!   the limit (PrimeHub copied `requests.nvidia.com/gpu`, which fails when it differs from the
//!   limit). See [`InstanceTypeResources`].
//! * **Env datasets.** The `-`→`_` copy of a variable is added only when it differs from the
//!   original (PrimeHub added an identical duplicate for every name without `-`, which the API
//!   server reports as hiding the earlier definition); a `null` variable (a key the console
//!   removed) is skipped.
//! * **A `pv` dataset without `volumeName`** uses the PVC `dataset-<name>` (the console's
//!   default volume name) rather than the claim `dataset-`, which cannot exist.
//! * **An image without a usable URL** is an error here; PrimeHub created a pod with an empty
//!   image, which the API server rejects.
//! * **Tolerations** equal to one already present are not appended twice.
//!
//! Two readings of PrimeHub worth knowing: PrimeHub's job spawner got each dataset's
//! `homeSymlink` from GraphQL and linked the dataset into the working directory when it was
//! unset; we read the `dataset.primehub.io/homeSymlink` annotation directly, absent meaning
//! linked ([`parts::DatasetLayout::home_symlink_default`]) — the console always writes `"false"`,
//! so only hand-made datasets are linked. And a job mounts the datasets bound to its launch group
//! or to `everyone` only: a dataset's `launchGroupOnly` is not read for jobs (notebooks mount
//! non-launch-group-only datasets of other groups too, [`crate::binding`]).
//!
//! # Instance type → resources, placement and image
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
//! webhook will count it in the pod ([`quota::resource_limits`]):
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

use crate::binding::{Catalog, GroupGrants, ResourceLookup, group_offer};
use crate::crd::dataset::Dataset;
use crate::crd::image::Image;
use crate::crd::instance_type::InstanceType;
use crate::error::{Error, Result};
use crate::quantity::{Cpu, Gpu, Memory};
use crate::quota::{self, ResourceAmounts};

pub mod job;
pub mod notebook;
pub mod parts;

pub use parts::sentinel_init_container;

/// The name (and image) of the sentinel init container PrimeHub puts in every notebook and job
/// pod: its image can never be pulled and its command is `false`, so the pod cannot start
/// unless the resource-validation webhook ran and removed it — proof that quotas were checked.
pub const ADMISSION_SENTINEL: &str = "admission-is-not-found";

/// The images, instance types and datasets that exist, by name: what a workload pod is built from.
/// [`Catalog`] answers by scanning its slices; a controller with indexed stores implements it
/// over them (for example maps of `Arc`s).
pub trait ResourceObjects {
    /// The image `name`, if it exists.
    fn image(&self, name: &str) -> Option<&Image>;
    /// The instance type `name`, if it exists.
    fn instance_type(&self, name: &str) -> Option<&InstanceType>;
    /// The dataset `name`, if it exists.
    fn dataset(&self, name: &str) -> Option<&Dataset>;
}

fn by_name<'c, T>(items: &'c [T], name: &str, meta: impl Fn(&T) -> Option<&str>) -> Option<&'c T> {
    items.iter().find(|item| meta(item) == Some(name))
}

impl ResourceObjects for Catalog<'_> {
    fn image(&self, name: &str) -> Option<&Image> {
        by_name(self.images, name, |i| i.metadata.name.as_deref())
    }

    fn instance_type(&self, name: &str) -> Option<&InstanceType> {
        by_name(self.instance_types, name, |i| i.metadata.name.as_deref())
    }

    fn dataset(&self, name: &str) -> Option<&Dataset> {
        by_name(self.datasets, name, |d| d.metadata.name.as_deref())
    }
}

/// [`ResourceObjects`] seen as the existence checks of [`crate::binding`].
struct Exists<'r>(&'r dyn ResourceObjects);

impl ResourceLookup for Exists<'_> {
    fn has_image(&self, name: &str) -> bool {
        self.0.image(name).is_some()
    }

    fn has_instance_type(&self, name: &str) -> bool {
        self.0.instance_type(name).is_some()
    }

    fn dataset_launch_group_only(&self, name: &str) -> Option<bool> {
        self.0.dataset(name).map(Dataset::launch_group_only)
    }
}

pub(crate) fn not_found(field: &str, message: String) -> Error {
    Error::NotFound {
        field: field.to_owned(),
        message,
    }
}

/// The instance type and image a launch uses, as both PrimeHub spawners resolve them: each must
/// be bound to the launch group (grants `own`) or to `everyone` (grants `global`) and exist,
/// else PrimeHub's job-spawner text `InstanceType not found: <name>` / `Image not found:
/// <name>` ([`Error::NotFound`], its field the second item of the pair).
pub fn granted_instance_type_and_image<'r>(
    own: &GroupGrants,
    global: &GroupGrants,
    resources: &'r dyn ResourceObjects,
    (instance_type, instance_type_field): (&str, &str),
    (image, image_field): (&str, &str),
) -> Result<(&'r InstanceType, &'r Image)> {
    let offer = group_offer(own, global, &Exists(resources));
    let found_instance_type = offer
        .instance_types
        .iter()
        .find(|b| b.name == instance_type)
        .and_then(|_| resources.instance_type(instance_type))
        .ok_or_else(|| {
            not_found(
                instance_type_field,
                format!("InstanceType not found: {instance_type}"),
            )
        })?;
    let found_image = offer
        .images
        .iter()
        .find(|b| b.name == image)
        .and_then(|_| resources.image(image))
        .ok_or_else(|| not_found(image_field, format!("Image not found: {image}")))?;
    Ok((found_instance_type, found_image))
}

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
