//! `License` (`licenses.primehub.io`, EE): the signed license and its decoded status.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Name of the License object the controller manages.
pub const LICENSE_NAME: &str = "primehub-license";
/// Secret the decoded status is mirrored into.
pub const AUTHORITATIVE_SECRET: &str = "authoritative-secret";

super::string_enum! {
    /// `status.expired` of a `License`.
    pub enum LicenseValidity {
        /// `unexpired`: valid and within its dates.
        Unexpired = "unexpired",
        /// `expired`.
        Expired = "expired",
        /// `invalid`: bad signature or wrong platform; the default license's limits apply.
        Invalid = "invalid",
    }
}

/// Spec of a `License`.
#[derive(
    CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema,
)]
#[kube(
    group = "primehub.io",
    version = "v1alpha1",
    kind = "License",
    plural = "licenses",
    singular = "license",
    namespaced,
    status = "LicenseStatus",
    derive = "PartialEq",
    doc = "The PrimeHub EE license."
)]
pub struct LicenseSpec {
    /// `signed_license`: `base64(yaml) + "." + hex(signature)`.
    pub signed_license: String,
}

/// Status of a `License`: the decoded license. Keys are snake_case as in PrimeHub.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct LicenseStatus {
    /// `expired`: `unexpired`, `expired` or `invalid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expired: Option<LicenseValidity>,
    /// `reason`: why the license is invalid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `licensed_to`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licensed_to: Option<String>,
    /// `started_at` (`2006-01-02T15:04:05Z` format).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// `expired_at` (`2006-01-02T15:04:05Z` format).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expired_at: Option<String>,
    /// `max_user`: negative means unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_user: Option<i64>,
    /// `max_group`: negative means unlimited (the count excludes `everyone`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_group: Option<i64>,
    /// `max_node`: negative means unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_node: Option<i64>,
    /// `max_model_deploy`: cluster-wide cap on model deployments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_model_deploy: Option<i64>,
    /// `platform_type`: `enterprise`/`ee` or `deploy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_type: Option<String>,
}
