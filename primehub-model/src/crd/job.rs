//! `PhJob` (`phjobs.primehub.io`): a batch job run in a group with an instance type and an image.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Label on a PhJob created by a PhSchedule: the schedule's name.
pub const LABEL_SCHEDULED_BY: &str = "phjob.primehub.io/scheduledBy";

super::string_enum! {
    /// `status.phase` of a `PhJob`.
    pub enum PhJobPhase {
        /// `Pending`: waiting in the group's queue for quota.
        Pending = "Pending",
        /// `Preparing`: quota reserved, pod being created or starting.
        Preparing = "Preparing",
        /// `Running`: the pod runs.
        Running = "Running",
        /// `Succeeded`: the pod succeeded.
        Succeeded = "Succeeded",
        /// `Failed`.
        Failed = "Failed",
        /// `Cancelled`: cancelled by the user (`spec.cancel`).
        Cancelled = "Cancelled",
        /// `Unknown`: the pod's phase is unknown.
        Unknown = "Unknown",
    }
}

impl PhJobPhase {
    /// Whether the phase is final (`Succeeded`, `Failed`, `Cancelled` or `Unknown`). Unknown
    /// strings are compared ignoring case first (see `PhJobPhase::canonical`).
    pub fn is_final(&self) -> bool {
        matches!(
            self.canonical(),
            Self::Succeeded | Self::Failed | Self::Cancelled | Self::Unknown
        )
    }
}

super::string_enum! {
    /// `status.reason` of a `PhJob`.
    pub enum PhJobReason {
        /// `OverRequeueLimit`: requeued more than `requeueLimit` times.
        OverRequeueLimit = "OverRequeueLimit",
        /// `OverActivateDeadline` (sic): active longer than `activeDeadlineSeconds`.
        OverActivateDeadline = "OverActivateDeadline",
        /// `OverQuota`: insufficient user or group quota.
        OverQuota = "OverQuota",
        /// `Cancelled`: cancelled by the user.
        Cancelled = "Cancelled",
        /// `PodCreationFailed`.
        PodCreationFailed = "PodCreationFailed",
        /// `PodFailed`.
        PodFailed = "PodFailed",
        /// `PodUnknown`.
        PodUnknown = "PodUnknown",
        /// `PodPending`.
        PodPending = "PodPending",
        /// `PodRunning`.
        PodRunning = "PodRunning",
        /// `PodSucceeded`.
        PodSucceeded = "PodSucceeded",
    }
}

/// Spec of a `PhJob` (also the `jobTemplate.spec` of a PhSchedule).
// kube-derive attributes repeat `type_` across printer columns.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "primehub.io",
    version = "v1alpha1",
    kind = "PhJob",
    plural = "phjobs",
    singular = "phjob",
    namespaced,
    status = "PhJobStatus",
    derive = "PartialEq",
    doc = "A PrimeHub batch job.",
    printcolumn(name = "User", type_ = "string", json_path = ".spec.userName"),
    printcolumn(name = "Group", type_ = "string", json_path = ".spec.groupName"),
    printcolumn(
        name = "Status",
        type_ = "string",
        json_path = ".status.phase",
        description = "Status of the job"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct PhJobSpec {
    /// `displayName`.
    pub display_name: String,
    /// `userId`: Keycloak user UUID.
    pub user_id: String,
    /// `userName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// `groupId`: Keycloak group UUID.
    pub group_id: String,
    /// `groupName`: raw group name.
    pub group_name: String,
    /// `instanceType`: InstanceType name.
    pub instance_type: String,
    /// `image`: Image name.
    pub image: String,
    /// `command`: shell script run by `/scripts/run-job.sh`.
    pub command: String,
    /// `cancel`: true to cancel the job (its pod is deleted).
    #[serde(default, skip_serializing_if = "super::is_false")]
    pub cancel: bool,
    /// `requeueLimit`: how many times the job may go back to `Pending`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requeue_limit: Option<i32>,
    /// `activeDeadlineSeconds`: maximum running time (defaulted by the controller).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_deadline_seconds: Option<i64>,
    /// `ttlSecondsAfterFinished`: how long the pod is kept after the job finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_seconds_after_finished: Option<i32>,
}

/// Status of a `PhJob`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PhJobStatus {
    /// `phase`. PrimeHub always writes it; a missing phase means the job is new (the controller
    /// treats it as `Pending`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<PhJobPhase>,
    /// `reason`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<PhJobReason>,
    /// `message`: human-readable explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `podName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_name: Option<String>,
    /// `startTime`: when the pod was first seen running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Time>,
    /// `finishTime`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_time: Option<Time>,
    /// `requeued`: how many times the job went back to `Pending`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requeued: Option<i32>,
}

impl PhJob {
    /// The job's phase, `Pending` when there is no status or no phase yet.
    pub fn phase(&self) -> PhJobPhase {
        self.status
            .as_ref()
            .and_then(|s| s.phase.clone())
            .unwrap_or(PhJobPhase::Pending)
    }
}
