//! `PhSchedule` (`phschedules.primehub.io`): a recurring job template.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::job::PhJobSpec;

super::string_enum! {
    /// `spec.recurrence.type` of a `PhSchedule`.
    pub enum RecurrenceType {
        /// `inactive`: never runs.
        Inactive = "inactive",
        /// `daily`: `0 4 * * *`.
        Daily = "daily",
        /// `weekly`: `0 4 * * 0`.
        Weekly = "weekly",
        /// `monthly`: `0 4 1 * *`.
        Monthly = "monthly",
        /// `custom`: the 5-field expression in `spec.recurrence.cron`.
        Custom = "custom",
    }
}

impl RecurrenceType {
    /// The cron expression of a fixed type (`daily`, `weekly`, `monthly`); `None` for
    /// `inactive`, `custom` and unknown strings.
    pub fn fixed_cron(&self) -> Option<&'static str> {
        match self.canonical() {
            Self::Daily => Some("0 4 * * *"),
            Self::Weekly => Some("0 4 * * 0"),
            Self::Monthly => Some("0 4 1 * *"),
            _ => None,
        }
    }
}

/// Spec of a `PhSchedule`.
// kube-derive attributes repeat `type_` across printer columns.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "primehub.io",
    version = "v1alpha1",
    kind = "PhSchedule",
    plural = "phschedules",
    singular = "phschedule",
    namespaced,
    status = "PhScheduleStatus",
    derive = "PartialEq",
    doc = "A PrimeHub recurring job.",
    printcolumn(
        name = "User",
        type_ = "string",
        json_path = ".spec.jobTemplate.spec.userName"
    ),
    printcolumn(
        name = "Group",
        type_ = "string",
        json_path = ".spec.jobTemplate.spec.groupName"
    ),
    printcolumn(name = "Invalid", type_ = "boolean", json_path = ".status.invalid"),
    printcolumn(name = "NextRun", type_ = "string", json_path = ".status.nextRunTime"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct PhScheduleSpec {
    /// `recurrence`: when to run.
    pub recurrence: Recurrence,
    /// `jobTemplate`: the PhJob to create at each run.
    pub job_template: PhJobTemplate,
}

/// `spec.recurrence` of a `PhSchedule`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
pub struct Recurrence {
    /// `type`: `inactive`, `daily`, `weekly`, `monthly` or `custom`.
    #[serde(rename = "type")]
    pub type_: RecurrenceType,
    /// `cron`: 5-field cron expression, used when the type is `custom`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
}

impl Recurrence {
    /// The cron expression to run on: the fixed one for `daily`/`weekly`/`monthly`, `cron` for
    /// `custom` (when non-empty), `None` for `inactive` and unknown types.
    pub fn cron_expression(&self) -> Option<&str> {
        match self.type_.canonical() {
            RecurrenceType::Custom => self
                .cron
                .as_deref()
                .map(str::trim)
                .filter(|c| !c.is_empty()),
            other => other.fixed_cron(),
        }
    }
}

/// `spec.jobTemplate` of a `PhSchedule`: metadata and spec of the PhJobs it creates.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct PhJobTemplate {
    /// `metadata`: labels and annotations for the created jobs. Kept verbatim by the API server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::preserved_object")]
    pub metadata: Option<ObjectMeta>,
    /// `spec`: the PhJob spec.
    pub spec: PhJobSpec,
}

/// Status of a `PhSchedule`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PhScheduleStatus {
    /// `invalid`: the recurrence or the job template is invalid.
    #[serde(default, skip_serializing_if = "super::is_false")]
    pub invalid: bool,
    /// `nextRunTime`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_run_time: Option<Time>,
    /// `message`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}
