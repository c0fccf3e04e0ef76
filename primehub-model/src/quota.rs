//! Quota arithmetic and PrimeHub's admission decision.
//!
//! One implementation serves the admission webhook, the job scheduler and the API's usage
//! figures, so they cannot disagree (DESIGN §4.1). The rules are PrimeHub's
//! (`primehub-controllers.md` §1.4–1.5):
//!
//! * a pod's **request** is the sum of `spec.containers[*].resources.limits` — init containers and
//!   requests are ignored, a missing limit counts 0; GPUs are `nvidia.com/gpu`, else `amd.com/gpu`,
//!   else the first `gpu.intel.com/*` key (InfuseAI/primehub-admission
//!   `primehub_admission/resources_validation.py`, `get_request_resources` /
//!   `aggregate_resource_usage`). Kubernetes keeps a container's limits in a map, so "first" is
//!   the first in key order (`gpu.intel.com/i915` before `gpu.intel.com/xe`); a container never
//!   carries two Intel GPU resources in practice;
//! * **usage** is the same sum over pods in phase `Pending` or `Running` carrying the group label
//!   (and the user label for the user tier); [`UsageLedger`] keeps it incrementally;
//! * the **decision** checks the user tier first, then the group tier, each in the order
//!   cpu → gpu → memory, and rejects only when the request is positive and `request + usage`
//!   exceeds a quota that is set (`None` = unlimited; `0` blocks any positive request).
//!
//! ```
//! use primehub_model::quantity::{Cpu, Memory};
//! use primehub_model::quota::{decide, Quota, ResourceAmounts, TierCheck};
//!
//! let request = ResourceAmounts { cpu: Cpu::from_millis(500), ..ResourceAmounts::ZERO };
//! let user = TierCheck {
//!     name: "alice",
//!     quota: Quota { cpu: Some(Cpu::from_millis(1000)), ..Quota::UNLIMITED },
//!     usage: ResourceAmounts { cpu: Cpu::from_millis(800), ..ResourceAmounts::ZERO },
//! };
//! let group = TierCheck { name: "phusers", quota: Quota::UNLIMITED, usage: ResourceAmounts::ZERO };
//! let rejection = decide(&request, Some(&user), &group).unwrap_err();
//! assert_eq!(rejection.to_string(), "User alice exceeded cpu quota: 1, requesting 0.5");
//! ```

use std::collections::HashMap;
use std::fmt;

use k8s_openapi::api::core::v1::{Container, Pod, PodSpec, ResourceRequirements};

use crate::error::{Error, Result};
use crate::names;
use crate::quantity::{Cpu, Gpu, Memory};

/// The resource key of NVIDIA GPUs.
pub const NVIDIA_GPU: &str = "nvidia.com/gpu";
/// The resource key of AMD GPUs, counted when no NVIDIA GPU is requested.
pub const AMD_GPU: &str = "amd.com/gpu";
/// The resource-key prefix of Intel GPUs; the first such key is counted when neither NVIDIA nor
/// AMD GPUs are.
pub const INTEL_GPU_PREFIX: &str = "gpu.intel.com/";

/// Whether the admission webhook counts the extended resource `name` as GPUs:
/// `nvidia.com/gpu`, `amd.com/gpu` or any `gpu.intel.com/*`.
pub fn is_counted_gpu(name: &str) -> bool {
    name == NVIDIA_GPU || name == AMD_GPU || name.starts_with(INTEL_GPU_PREFIX)
}

/// A quota tier's limits; `None` means unlimited (attribute unset).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Quota {
    /// CPU limit; `None` = unlimited.
    pub cpu: Option<Cpu>,
    /// GPU limit; `None` = unlimited.
    pub gpu: Option<Gpu>,
    /// Memory limit; `None` = unlimited.
    pub memory: Option<Memory>,
}

impl Quota {
    /// No limit on anything.
    pub const UNLIMITED: Quota = Quota {
        cpu: None,
        gpu: None,
        memory: None,
    };

    /// The first resource (cpu → gpu → memory) for which `request` does not fit on top of
    /// `usage`, PrimeHub's rule: rejected iff request > 0 and request + usage > quota.
    pub fn first_exceeded(
        &self,
        request: &ResourceAmounts,
        usage: &ResourceAmounts,
    ) -> Option<QuotaResource> {
        fn over(request: u64, usage: u64, quota: Option<u64>) -> bool {
            match quota {
                None => false,
                Some(q) => request > 0 && u128::from(request) + u128::from(usage) > u128::from(q),
            }
        }
        if over(
            request.cpu.millis(),
            usage.cpu.millis(),
            self.cpu.map(Cpu::millis),
        ) {
            Some(QuotaResource::Cpu)
        } else if over(
            request.gpu.count(),
            usage.gpu.count(),
            self.gpu.map(Gpu::count),
        ) {
            Some(QuotaResource::Gpu)
        } else if over(
            request.memory.bytes(),
            usage.memory.bytes(),
            self.memory.map(Memory::bytes),
        ) {
            Some(QuotaResource::Memory)
        } else {
            None
        }
    }

    /// Whether `request` fits on top of `usage` for every resource.
    pub fn admits(&self, request: &ResourceAmounts, usage: &ResourceAmounts) -> bool {
        self.first_exceeded(request, usage).is_none()
    }

    /// Whether `request` could ever be admitted, that is fits with no usage at all. The job
    /// scheduler fails a job whose instance type is bigger than the quota as such.
    pub fn could_ever_admit(&self, request: &ResourceAmounts) -> bool {
        self.admits(request, &ResourceAmounts::ZERO)
    }

    /// What is left of the quota after `usage`, per resource (`None` = unlimited), floored at 0.
    pub fn remaining(&self, usage: &ResourceAmounts) -> Quota {
        Quota {
            cpu: self.cpu.map(|q| q.saturating_sub(usage.cpu)),
            gpu: self.gpu.map(|q| q.saturating_sub(usage.gpu)),
            memory: self.memory.map(|q| q.saturating_sub(usage.memory)),
        }
    }
}

/// A group's two quota tiers, as the webhook and the job scheduler read them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupQuotas {
    /// The per-user quota inside the group (`quota-*`, "User Quota").
    pub user: Quota,
    /// The whole group's quota (`project-quota-*`, "Group Quota").
    pub group: Quota,
}

impl GroupQuotas {
    /// The quotas in a group's attributes.
    pub fn of(attributes: &crate::attributes::GroupAttributes) -> GroupQuotas {
        GroupQuotas {
            user: attributes.user_quota(),
            group: attributes.project_quota(),
        }
    }

    /// Whether `request` could ever run in the group: it fits both tiers with no usage at all.
    /// The job scheduler fails a job whose instance type is bigger than either quota.
    pub fn could_ever_admit(&self, request: &ResourceAmounts) -> bool {
        self.user.could_ever_admit(request) && self.group.could_ever_admit(request)
    }
}

/// An amount of each quota-relevant resource.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ResourceAmounts {
    /// CPU.
    pub cpu: Cpu,
    /// GPUs.
    pub gpu: Gpu,
    /// Memory.
    pub memory: Memory,
}

impl ResourceAmounts {
    /// Nothing.
    pub const ZERO: ResourceAmounts = ResourceAmounts {
        cpu: Cpu::ZERO,
        gpu: Gpu::ZERO,
        memory: Memory::ZERO,
    };

    /// `self + other`, or `None` if any resource overflows.
    pub fn checked_add(&self, other: &ResourceAmounts) -> Option<ResourceAmounts> {
        Some(ResourceAmounts {
            cpu: self.cpu.checked_add(other.cpu)?,
            gpu: self.gpu.checked_add(other.gpu)?,
            memory: self.memory.checked_add(other.memory)?,
        })
    }

    /// `self + other` per resource, capped at the largest value (usage sums never wrap).
    pub fn saturating_add(&self, other: &ResourceAmounts) -> ResourceAmounts {
        ResourceAmounts {
            cpu: Cpu::from_millis(self.cpu.millis().saturating_add(other.cpu.millis())),
            gpu: Gpu::from_count(self.gpu.count().saturating_add(other.gpu.count())),
            memory: Memory::from_bytes(self.memory.bytes().saturating_add(other.memory.bytes())),
        }
    }

    /// `self - other` per resource, floored at zero.
    pub fn saturating_sub(&self, other: &ResourceAmounts) -> ResourceAmounts {
        ResourceAmounts {
            cpu: self.cpu.saturating_sub(other.cpu),
            gpu: self.gpu.saturating_sub(other.gpu),
            memory: self.memory.saturating_sub(other.memory),
        }
    }

    /// Whether every resource is zero.
    pub fn is_zero(&self) -> bool {
        *self == ResourceAmounts::ZERO
    }
}

fn overflow(field: &str) -> Error {
    Error::InvalidQuantity {
        field: field.to_owned(),
        value: String::new(),
        rule: "the sum does not fit in 64 bits".to_owned(),
    }
}

/// The limits of one container's resources, as PrimeHub counts them. `field` is the path used in
/// errors (for example `spec.containers[0].resources`).
pub fn resource_limits(field: &str, resources: &ResourceRequirements) -> Result<ResourceAmounts> {
    let Some(limits) = resources.limits.as_ref() else {
        return Ok(ResourceAmounts::ZERO);
    };
    let path = |key: &str| format!("{field}.limits.{key}");
    let cpu = match limits.get("cpu") {
        Some(q) => Cpu::parse(&path("cpu"), &q.0)?,
        None => Cpu::ZERO,
    };
    let memory = match limits.get("memory") {
        Some(q) => Memory::parse(&path("memory"), &q.0)?,
        None => Memory::ZERO,
    };
    let gpu = if let Some(q) = limits.get(NVIDIA_GPU) {
        Gpu::parse(&path(NVIDIA_GPU), &q.0)?
    } else if let Some(q) = limits.get(AMD_GPU) {
        Gpu::parse(&path(AMD_GPU), &q.0)?
    } else if let Some((key, q)) = limits.iter().find(|(k, _)| k.starts_with(INTEL_GPU_PREFIX)) {
        Gpu::parse(&path(key), &q.0)?
    } else {
        Gpu::ZERO
    };
    Ok(ResourceAmounts { cpu, gpu, memory })
}

fn containers_limits(prefix: &str, containers: &[Container]) -> Result<ResourceAmounts> {
    let mut total = ResourceAmounts::ZERO;
    for (i, container) in containers.iter().enumerate() {
        let field = format!("{prefix}[{i}].resources");
        if let Some(resources) = container.resources.as_ref() {
            total = total
                .checked_add(&resource_limits(&field, resources)?)
                .ok_or_else(|| overflow(&field))?;
        }
    }
    Ok(total)
}

/// A pod's request as PrimeHub's webhook counts it: the sum of `spec.containers[*]` limits.
/// Init containers and requests are ignored.
pub fn pod_request(spec: &PodSpec) -> Result<ResourceAmounts> {
    containers_limits("spec.containers", &spec.containers)
}

/// Whether a pod's phase counts toward usage: `Pending` or `Running`. A pod without a phase yet
/// (the API server sets `Pending` on create) counts.
pub fn phase_counts(pod: &Pod) -> bool {
    match pod.status.as_ref().and_then(|s| s.phase.as_deref()) {
        None => true,
        Some(phase) => phase == "Pending" || phase == "Running",
    }
}

/// A quota tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tier {
    /// The per-user quota inside a group (`quota-*`).
    User,
    /// The whole-group quota (`project-quota-*`).
    Group,
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Tier::User => "User",
            Tier::Group => "Group",
        })
    }
}

/// A resource a quota limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuotaResource {
    /// CPU.
    Cpu,
    /// GPUs.
    Gpu,
    /// Memory.
    Memory,
}

impl fmt::Display for QuotaResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            QuotaResource::Cpu => "cpu",
            QuotaResource::Gpu => "gpu",
            QuotaResource::Memory => "memory",
        })
    }
}

/// One tier's inputs to a decision: whose quota, the quota, and the current usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierCheck<'a> {
    /// The unescaped user or group name (used in the rejection text).
    pub name: &'a str,
    /// The tier's quota.
    pub quota: Quota,
    /// The tier's current usage (not including the request).
    pub usage: ResourceAmounts,
}

/// Why a request was rejected. Its `Display` is PrimeHub's rejection text, for example
/// `User alice exceeded cpu quota: 1, requesting 0.5`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaExceeded {
    /// Which tier refused.
    pub tier: Tier,
    /// The user or group name.
    pub name: String,
    /// The first resource that did not fit.
    pub resource: QuotaResource,
    /// That tier's quota.
    pub quota: Quota,
    /// The request of the pod being decided (not request + usage).
    pub request: ResourceAmounts,
}

impl fmt::Display for QuotaExceeded {
    /// PrimeHub's format: CPU quota as GraphQL returns it (`1`, `0.5`), CPU request as a Python
    /// float (`0.5`, `1.0`), GPUs as integers, memory in bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (quota, request) = match self.resource {
            QuotaResource::Cpu => (
                self.quota.cpu.map(Cpu::to_cores_string).unwrap_or_default(),
                python_float(self.request.cpu),
            ),
            QuotaResource::Gpu => (
                self.quota.gpu.map(|g| g.to_string()).unwrap_or_default(),
                self.request.gpu.to_string(),
            ),
            QuotaResource::Memory => (
                self.quota
                    .memory
                    .map(|m| m.bytes().to_string())
                    .unwrap_or_default(),
                self.request.memory.bytes().to_string(),
            ),
        };
        write!(
            f,
            "{} {} exceeded {} quota: {quota}, requesting {request}",
            self.tier, self.name, self.resource
        )
    }
}

impl std::error::Error for QuotaExceeded {}

/// CPU cores as Python prints a float: always with a fractional part (`1.0`, `0.5`).
fn python_float(cpu: Cpu) -> String {
    let s = cpu.to_cores_string();
    if s.contains('.') { s } else { format!("{s}.0") }
}

/// PrimeHub's decision: the user tier (when there is a user) first, then the group tier. The
/// first resource that does not fit, in the order cpu → gpu → memory, rejects the request.
pub fn decide(
    request: &ResourceAmounts,
    user: Option<&TierCheck<'_>>,
    group: &TierCheck<'_>,
) -> std::result::Result<(), QuotaExceeded> {
    let tiers = user
        .map(|u| (Tier::User, u))
        .into_iter()
        .chain(std::iter::once((Tier::Group, group)));
    for (tier, check) in tiers {
        if let Some(resource) = check.quota.first_exceeded(request, &check.usage) {
            return Err(QuotaExceeded {
                tier,
                name: check.name.to_owned(),
                resource,
                quota: check.quota,
                request: *request,
            });
        }
    }
    Ok(())
}

/// What one pod is charged against: its (unescaped) group and user and its limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodCharge {
    /// The group name, unescaped from the `primehub.io/group` label.
    pub group: String,
    /// The user name, unescaped from `primehub.io/user`; `None` for pods without a user label
    /// (model deployments), which count only toward the group.
    pub user: Option<String>,
    /// The pod's limits as [`pod_request`] counts them.
    pub amounts: ResourceAmounts,
}

impl PodCharge {
    /// The charge of a pod, or `None` when it does not count: no `primehub.io/group` label, or a
    /// phase other than `Pending`/`Running`.
    pub fn of_pod(pod: &Pod) -> Result<Option<PodCharge>> {
        if !phase_counts(pod) {
            return Ok(None);
        }
        PodCharge::of_parts(pod.metadata.labels.as_ref(), pod.spec.as_ref())
    }

    /// The charge of a pod with these labels and spec, whatever its phase (the admission
    /// webhook decides on pods not yet stored, whose phase the API server sets later), or `None`
    /// without a `primehub.io/group` label.
    pub fn of_parts(
        labels: Option<&std::collections::BTreeMap<String, String>>,
        spec: Option<&PodSpec>,
    ) -> Result<Option<PodCharge>> {
        let Some(group_label) = labels.and_then(|l| l.get(names::LABEL_GROUP)) else {
            return Ok(None);
        };
        let group = names::unescape_label(group_label)?;
        let user = match labels.and_then(|l| l.get(names::LABEL_USER)) {
            Some(v) => Some(names::unescape_label(v)?).filter(|u| !u.is_empty()),
            None => None,
        };
        let amounts = match spec {
            Some(spec) => pod_request(spec)?,
            None => ResourceAmounts::ZERO,
        };
        Ok(Some(PodCharge {
            group,
            user,
            amounts,
        }))
    }
}

/// Usage of one group: the total and each user's share.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupUsage {
    /// All counted pods of the group.
    pub total: ResourceAmounts,
    /// Counted pods per user (a hash map: a lookup costs the same with 2 or 2 000 users).
    pub users: HashMap<String, ResourceAmounts>,
}

/// Incremental usage figures: feed it every pod change (from a watch) and read usage in constant
/// time, whatever the number of pods (DESIGN §4.2).
///
/// Pods are keyed by a caller-chosen stable key (namespace/name or uid). Applying a pod again
/// replaces its previous charge; removing it subtracts it.
#[derive(Debug, Clone, Default)]
pub struct UsageLedger {
    pods: HashMap<String, PodCharge>,
    groups: HashMap<String, GroupUsage>,
}

impl UsageLedger {
    /// An empty ledger.
    pub fn new() -> UsageLedger {
        UsageLedger::default()
    }

    /// Records the current state of pod `key`: `Some(charge)` when it counts, `None` when it no
    /// longer does (finished, deleted, or not a PrimeHub pod).
    pub fn apply(&mut self, key: &str, charge: Option<PodCharge>) {
        if let Some(old) = self.pods.remove(key) {
            self.subtract(&old);
        }
        if let Some(new) = charge {
            self.add(&new);
            self.pods.insert(key.to_owned(), new);
        }
    }

    /// Records pod `key` from its object; errors (an unparsable quantity or label) leave the
    /// pod uncounted and are returned so the caller can log them.
    pub fn apply_pod(&mut self, key: &str, pod: &Pod) -> Result<()> {
        match PodCharge::of_pod(pod) {
            Ok(charge) => {
                self.apply(key, charge);
                Ok(())
            }
            Err(e) => {
                self.apply(key, None);
                Err(e)
            }
        }
    }

    /// Forgets pod `key`.
    pub fn remove(&mut self, key: &str) {
        self.apply(key, None);
    }

    /// The usage of a group (zero when it has no counted pods).
    pub fn group(&self, group: &str) -> ResourceAmounts {
        self.groups.get(group).map(|g| g.total).unwrap_or_default()
    }

    /// The usage of a user inside a group.
    pub fn user_in_group(&self, group: &str, user: &str) -> ResourceAmounts {
        self.groups
            .get(group)
            .and_then(|g| g.users.get(user))
            .copied()
            .unwrap_or_default()
    }

    /// The full usage record of a group, if it has counted pods.
    pub fn group_usage(&self, group: &str) -> Option<&GroupUsage> {
        self.groups.get(group)
    }

    /// How many pods are counted.
    pub fn len(&self) -> usize {
        self.pods.len()
    }

    /// Whether no pod is counted.
    pub fn is_empty(&self) -> bool {
        self.pods.is_empty()
    }

    fn add(&mut self, charge: &PodCharge) {
        let group = self.groups.entry(charge.group.clone()).or_default();
        group.total = group.total.saturating_add(&charge.amounts);
        if let Some(user) = &charge.user {
            let entry = group.users.entry(user.clone()).or_default();
            *entry = entry.saturating_add(&charge.amounts);
        }
    }

    fn subtract(&mut self, charge: &PodCharge) {
        let Some(group) = self.groups.get_mut(&charge.group) else {
            return;
        };
        group.total = group.total.saturating_sub(&charge.amounts);
        if let Some(user) = &charge.user
            && let Some(entry) = group.users.get_mut(user)
        {
            *entry = entry.saturating_sub(&charge.amounts);
            if entry.is_zero() {
                group.users.remove(user);
            }
        }
        if group.total.is_zero() && group.users.is_empty() {
            self.groups.remove(&charge.group);
        }
    }
}
