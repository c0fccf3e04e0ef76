//! `PhApplication` (`phapplications.primehub.io`): an instance of a third-party app (a pod and a
//! service) in a group.
//!
//! The CRD has a status subresource (`+kubebuilder:subresource:status` in upstream's
//! `phapplication_types.go`, `subresources: status: {}` in the chart) and the printer columns
//! Group, Status and Message. The pod and service templates are full Kubernetes
//! `PodSpec`/`ServiceSpec`s; the CRD keeps them unpruned without spelling out their (very large)
//! schemas.

use k8s_openapi::api::core::v1::{PodSpec, ServiceSpec};
use kube::CustomResource;
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

/// Spec of a `PhApplication` (InfuseAI/primehub-controller
/// `api/v1alpha1/phapplication_types.go`: status subresource, printer columns Group, Status and
/// Message).
// kube-derive attributes repeat `type_` across printer columns.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "primehub.io",
    version = "v1alpha1",
    kind = "PhApplication",
    plural = "phapplications",
    singular = "phapplication",
    namespaced,
    status = "PhApplicationStatus",
    derive = "PartialEq",
    doc = "A PrimeHub app instance: a pod and a service in a group.",
    printcolumn(name = "Group", type_ = "string", json_path = ".spec.groupName"),
    printcolumn(
        name = "Status",
        type_ = "string",
        json_path = ".status.phase",
        description = "Status of the deployment"
    ),
    printcolumn(
        name = "Message",
        type_ = "string",
        json_path = ".status.message",
        description = "Message of the deployment"
    )
)]
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
    /// `rewrite`: whether the proxy strips the app's base URL (`/console/apps/<id>`) from request
    /// paths before passing them on (absent means false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rewrite: Option<bool>,
    /// `appRoot`: the app's data directory, passed to the pod as `PRIMEHUB_APP_ROOT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_root: Option<String>,
}

impl PhApplication {
    /// The app id, as upstream's `AppID()`: the object name itself. It appears in the app's base
    /// URL `/console/apps/<id>` and in `PRIMEHUB_APP_ID`.
    pub fn app_id(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or_default()
    }

    /// The app name, as upstream's `AppName()`: `app-<name>`. It names the app's pod, service and
    /// proxy and is the value of the [`LABEL_PHAPPLICATION`] label.
    pub fn app_name(&self) -> String {
        format!("app-{}", self.app_id())
    }

    /// `rewrite`, absent meaning false.
    pub fn rewrite_enabled(&self) -> bool {
        self.spec.rewrite.unwrap_or(false)
    }
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
