//! `ImageSpec` (`imagespecs.primehub.io`): a standalone image build specification (a legacy or
//! auxiliary entry point; [`super::Image`] embeds the same request as `spec.imageSpec`).

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::image_spec_job::ImageSpecJobPhase;

/// Spec of an `ImageSpec`.
// kube-derive attributes repeat `type_` across printer columns.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "primehub.io",
    version = "v1alpha1",
    kind = "ImageSpec",
    plural = "imagespecs",
    singular = "imagespec",
    namespaced,
    status = "ImageSpecStatus",
    derive = "PartialEq",
    doc = "A standalone PrimeHub image build specification.",
    printcolumn(
        name = "Status",
        type_ = "string",
        json_path = ".status.phase",
        description = "status of current job"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct ImageSpecSpec {
    /// `baseImage`: the image to build from.
    pub base_image: String,
    /// `pullSecret`: pull secret for the base image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_secret: Option<String>,
    /// `packages`: packages to install.
    #[serde(default)]
    pub packages: ImagePackages,
    /// `updateTime`: RFC 3339 timestamp as written; the controller fills it when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_time: Option<String>,
}

/// Packages to install into a built image (`{apt?, pip?, conda?}`).
///
/// Package strings must match `^[a-zA-Z0-9-_:=\.]+$`; PrimeHub silently drops the others from
/// the generated Dockerfile.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct ImagePackages {
    /// `apt`: Debian packages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub apt: Vec<String>,
    /// `pip`: Python packages installed with pip.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pip: Vec<String>,
    /// `conda`: conda packages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conda: Vec<String>,
}

impl ImagePackages {
    /// Whether no package is listed.
    pub fn is_empty(&self) -> bool {
        self.apt.is_empty() && self.pip.is_empty() && self.conda.is_empty()
    }
}

/// Build state of an `ImageSpec`, also used as an Image's `status.jobCondition`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageSpecStatus {
    /// `phase`: the build job's phase (`Cancelled` only on Images).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<ImageSpecJobPhase>,
    /// `jobName`: name of the ImageSpecJob.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_name: Option<String>,
    /// `image`: the built image reference, once the build succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}
