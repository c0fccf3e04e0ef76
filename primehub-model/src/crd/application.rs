//! `PhApplication` (`phapplications.primehub.io`): an instance of a third-party app (a pod and a
//! service) in a group.
//!
//! PrimeHub's CRD has **no status subresource** for apps, so [`PhApplication`] is written by hand
//! (not derived) and carries `status` as a plain field. The pod and service templates are full
//! Kubernetes `PodSpec`/`ServiceSpec`s; the CRD keeps them unpruned without spelling out their
//! (very large) schemas.

use k8s_openapi::api::core::v1::{PodSpec, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Label on app pods: the PhApplication's name.
pub const LABEL_PHAPPLICATION: &str = "primehub.io/phapplication";
/// Annotation: JSON snapshot of the PhAppTemplate the app was created from.
pub const ANNOTATION_TEMPLATE: &str = "phapplication.primehub.io/template";
/// Annotation: JSON of the create input.
pub const ANNOTATION_TEMPLATE_DATA: &str = "phapplication.primehub.io/template-data";
/// Annotation: JSON snapshot of the InstanceType.
pub const ANNOTATION_INSTANCE_TYPE: &str = "phapplication.primehub.io/instance-type";
/// Value of the `app` label on app pods.
pub const APP_LABEL_VALUE: &str = "primehub-app";

super::string_enum! {
    /// `status.phase` of a `PhApplication`.
    pub enum PhApplicationPhase {
        /// `Starting`.
        Starting = "Starting",
        /// `Ready`.
        Ready = "Ready",
        /// `Updating`.
        Updating = "Updating",
        /// `Stopping`.
        Stopping = "Stopping",
        /// `Stopped`.
        Stopped = "Stopped",
        /// `Error`.
        Error = "Error",
    }
}

super::string_enum! {
    /// `spec.scope` of a `PhApplication`: who may reach the app (default `group`).
    #[derive(Default)]
    pub enum PhApplicationScope {
        /// `public`: anyone.
        Public = "public",
        /// `primehub`: any PrimeHub user.
        Primehub = "primehub",
        /// `group`: members of the app's group.
        #[default]
        Group = "group",
    }
}

/// A PrimeHub app instance. `status` is a plain field: the CRD has no status subresource.
#[derive(Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PhApplication {
    /// Standard object metadata.
    #[schemars(skip)]
    pub metadata: ObjectMeta,
    /// The app definition.
    pub spec: PhApplicationSpec,
    /// Observed state.
    #[serde(default)]
    pub status: Option<PhApplicationStatus>,
}

super::root_without_status_subresource! {
    root = PhApplication,
    spec = PhApplicationSpec,
    status = PhApplicationStatus,
    kind = "PhApplication",
    plural = "phapplications",
    singular = "phapplication",
    columns = Vec::new(),
}

impl PhApplication {
    /// The app id used for child objects, proxies and network policies: `app-<name>`.
    pub fn app_id(&self) -> String {
        format!("app-{}", self.metadata.name.as_deref().unwrap_or_default())
    }
}

/// Spec of a `PhApplication`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PhApplicationSpec {
    /// `displayName`.
    pub display_name: String,
    /// `groupName`: raw group name.
    pub group_name: String,
    /// `instanceType`: InstanceType name.
    pub instance_type: String,
    /// `scope`: `public`, `primehub` or `group`.
    pub scope: PhApplicationScope,
    /// `stop`: true to stop the app.
    #[serde(default, skip_serializing_if = "super::is_false")]
    pub stop: bool,
    /// `podTemplate`: `{spec: PodSpec}`.
    pub pod_template: PhApplicationPodTemplate,
    /// `svcTemplate`: `{spec: ServiceSpec}`.
    pub svc_template: PhApplicationSvcTemplate,
    /// `httpPort`: the port the app serves HTTP on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_port: Option<i32>,
}

/// `podTemplate` of an app or app template.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct PhApplicationPodTemplate {
    /// `spec`: the full pod spec.
    #[schemars(schema_with = "super::preserved_object")]
    pub spec: PodSpec,
}

/// `svcTemplate` of an app or app template.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct PhApplicationSvcTemplate {
    /// `spec`: the full service spec.
    #[schemars(schema_with = "super::preserved_object")]
    pub spec: ServiceSpec,
}

/// Status of a `PhApplication`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PhApplicationStatus {
    /// `phase`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<PhApplicationPhase>,
    /// `message`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `serviceName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
}
