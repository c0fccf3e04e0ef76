//! `PhDeployment` (`phdeployments.primehub.io`, EE): a model deployment (model server pods
//! behind an endpoint).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::EnvVar;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Label on deployment pods: the PhDeployment's name.
pub const LABEL_PHDEPLOYMENT: &str = "primehub.io/phdeployment";
/// How many history entries the controller keeps in `status.history`.
pub const MAX_HISTORY: usize = 32;

super::string_enum! {
    /// `status.phase` of a `PhDeployment`.
    pub enum PhDeploymentPhase {
        /// `Deploying`: replicas are not all available yet.
        Deploying = "Deploying",
        /// `Deployed`: every replica is available.
        Deployed = "Deployed",
        /// `Stopping`: `spec.stop` is set and replicas remain.
        Stopping = "Stopping",
        /// `Stopped`.
        Stopped = "Stopped",
        /// `Failed`: a configuration error.
        Failed = "Failed",
    }
}

super::string_enum! {
    /// `spec.endpoint.accessType` of a `PhDeployment`.
    pub enum EndpointAccessType {
        /// `public` (default): no authentication.
        Public = "public",
        /// `private`: HTTP basic auth with the endpoint clients.
        Private = "private",
    }
}

/// Spec of a `PhDeployment` (also snapshotted in `status.history`).
// kube-derive attributes repeat `type_` across printer columns.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "primehub.io",
    version = "v1alpha1",
    kind = "PhDeployment",
    plural = "phdeployments",
    singular = "phdeployment",
    namespaced,
    status = "PhDeploymentStatus",
    derive = "PartialEq",
    doc = "A PrimeHub model deployment.",
    printcolumn(name = "Status", type_ = "string", json_path = ".status.phase"),
    printcolumn(name = "Replicas", type_ = "integer", json_path = ".status.replicas"),
    printcolumn(
        name = "Available",
        type_ = "integer",
        json_path = ".status.availableReplicas"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct PhDeploymentSpec {
    /// `displayName`.
    pub display_name: String,
    /// `userId`: Keycloak user UUID of the owner.
    pub user_id: String,
    /// `userName`.
    pub user_name: String,
    /// `groupId`: Keycloak group UUID.
    pub group_id: String,
    /// `groupName`: raw group name.
    pub group_name: String,
    /// `stop`: true to scale the deployment to zero.
    #[serde(default, skip_serializing_if = "super::is_false")]
    pub stop: bool,
    /// `description`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `updateMessage`: note written with the last change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_message: Option<String>,
    /// `updateTime`: ISO timestamp written by the console, kept as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_time: Option<String>,
    /// `predictors`: the console always writes exactly one, named `predictor1`; only the first
    /// is used.
    #[serde(default)]
    pub predictors: Vec<PhDeploymentPredictor>,
    /// `endpoint`: access type and clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<PhDeploymentEndpoint>,
    /// `env`: environment of the model container.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
}

/// One entry of `spec.predictors`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PhDeploymentPredictor {
    /// `name` (the console writes `predictor1`).
    pub name: String,
    /// `replicas`.
    pub replicas: i32,
    /// `modelImage`: the model server image.
    pub model_image: String,
    /// `instanceType`: InstanceType name.
    pub instance_type: String,
    /// `modelURI`: where the model is stored.
    #[serde(rename = "modelURI", default, skip_serializing_if = "Option::is_none")]
    pub model_uri: Option<String>,
    /// `imagePullSecret`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_secret: Option<String>,
    /// `metadata`: free-form string map.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
}

/// `spec.endpoint` of a `PhDeployment`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PhDeploymentEndpoint {
    /// `accessType`: `public` (default when absent) or `private`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_type: Option<EndpointAccessType>,
    /// `clients`: basic-auth clients of a private endpoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clients: Vec<PhDeploymentEndpointClient>,
}

impl PhDeploymentEndpoint {
    /// Whether the endpoint requires authentication (`accessType: private`).
    pub fn is_private(&self) -> bool {
        self.access_type
            .as_ref()
            .is_some_and(|t| t.canonical() == EndpointAccessType::Private)
    }
}

/// One client of a private endpoint.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct PhDeploymentEndpointClient {
    /// `name`: the basic-auth user name.
    pub name: String,
    /// `token`: the client's token, stored hashed (htpasswd style).
    pub token: String,
}

/// Status of a `PhDeployment`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PhDeploymentStatus {
    /// `phase`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<PhDeploymentPhase>,
    /// `message`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `replicas`: desired replicas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// `availableReplicas`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_replicas: Option<i32>,
    /// `endpoint`: the prediction URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// `history`: earlier specs, newest first (at most `MAX_HISTORY`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<PhDeploymentHistory>,
}

/// One entry of `status.history`: a spec snapshot and when it was taken.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
pub struct PhDeploymentHistory {
    /// `time`.
    pub time: Time,
    /// `spec`: the spec at that time.
    pub spec: PhDeploymentSpec,
}
