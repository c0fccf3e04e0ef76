//! `PhAppTemplate` (`phapptemplates.primehub.io`): an entry of the app catalogue. No status.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::application::{PhApplicationPodTemplate, PhApplicationSvcTemplate};

/// Spec of a `PhAppTemplate`.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "primehub.io",
    version = "v1alpha1",
    kind = "PhAppTemplate",
    plural = "phapptemplates",
    singular = "phapptemplate",
    namespaced,
    derive = "PartialEq",
    doc = "A PrimeHub app catalogue entry."
)]
#[serde(rename_all = "camelCase")]
pub struct PhAppTemplateSpec {
    /// `name`: the app's name in the catalogue.
    pub name: String,
    /// `description`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `docLink`: URL of the app's documentation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc_link: Option<String>,
    /// `icon`: URL or data URI of the app's icon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    /// `defaultEnvs`: environment variables offered when creating an app.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub default_envs: Vec<PhAppTemplateDefaultEnv>,
    /// `template`: `{spec: {podTemplate, svcTemplate, httpPort?, rewrite?, appRoot?}}`.
    pub template: PhAppTemplateContent,
}

/// One entry of `spec.defaultEnvs`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PhAppTemplateDefaultEnv {
    /// `name`: the variable name.
    pub name: String,
    /// `description`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `defaultValue`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_value: Option<String>,
    /// `optional`: whether the user may leave it empty (absent means false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}

impl PhAppTemplateDefaultEnv {
    /// `optional`, false when absent.
    pub fn is_optional(&self) -> bool {
        self.optional.unwrap_or(false)
    }
}

/// `spec.template` of a `PhAppTemplate`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct PhAppTemplateContent {
    /// `spec`.
    pub spec: PhAppTemplateContentSpec,
}

/// `spec.template.spec` of a `PhAppTemplate`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PhAppTemplateContentSpec {
    /// `podTemplate`: `{spec: PodSpec}`.
    pub pod_template: PhApplicationPodTemplate,
    /// `svcTemplate`: `{spec: ServiceSpec}`.
    pub svc_template: PhApplicationSvcTemplate,
    /// `httpPort`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_port: Option<i32>,
    /// `rewrite`: copied into the app's `spec.rewrite` (upstream's template spec is a
    /// `PhApplicationSpec`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rewrite: Option<bool>,
    /// `appRoot`: copied into the app's `spec.appRoot`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_root: Option<String>,
}
