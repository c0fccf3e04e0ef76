//! `ImageSpecJob` (`imagespecjobs.primehub.io`): one image build run. For an Image it has the
//! same name as the Image.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::image_spec::ImagePackages;

super::string_enum! {
    /// Phase of an image build, copied from the build pod's phase (`Cancelled` is only set on
    /// Images).
    pub enum ImageSpecJobPhase {
        /// `Pending`.
        Pending = "Pending",
        /// `Running`.
        Running = "Running",
        /// `Succeeded`: the image was pushed. A succeeded job is never reconciled again.
        Succeeded = "Succeeded",
        /// `Failed`.
        Failed = "Failed",
        /// `Unknown`.
        Unknown = "Unknown",
        /// `Cancelled` (Image `status.jobCondition.phase` only).
        Cancelled = "Cancelled",
    }
}

impl ImageSpecJobPhase {
    /// Whether the build is over (`Succeeded`, `Failed`, `Cancelled` or `Unknown`).
    pub fn is_final(&self) -> bool {
        matches!(
            self.canonical(),
            Self::Succeeded | Self::Failed | Self::Cancelled | Self::Unknown
        )
    }
}

/// Spec of an `ImageSpecJob`.
// kube-derive attributes repeat `type_` across printer columns.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "primehub.io",
    version = "v1alpha1",
    kind = "ImageSpecJob",
    plural = "imagespecjobs",
    singular = "imagespecjob",
    namespaced,
    status = "ImageSpecJobStatus",
    derive = "PartialEq",
    doc = "One PrimeHub image build run.",
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
pub struct ImageSpecJobSpec {
    /// `baseImage`: the image to build from.
    pub base_image: String,
    /// `pullSecret`: pull secret for the base image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_secret: Option<String>,
    /// `packages`: packages to install.
    #[serde(default)]
    pub packages: ImagePackages,
    /// `targetImage`: `<name>:<hash>`.
    pub target_image: String,
    /// `pushSecret`: Secret used to push the built image.
    pub push_secret: String,
    /// `repoPrefix`: registry prefix the target image is pushed under. Optional (`omitempty`
    /// upstream, InfuseAI/primehub-controller `api/v1alpha1/imagespecjob_types.go`): it is
    /// absent when `customImage.pushRepo` is set and `targetImage` is already
    /// `<repo>:<name>-<hash>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo_prefix: Option<String>,
    /// `updateTime`: the build request's update time, as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_time: Option<String>,
}

impl ImageSpecJobSpec {
    /// The full pushed image reference, `<repoPrefix>/<targetImage>`, or `targetImage` alone
    /// when there is no prefix.
    pub fn pushed_image(&self) -> String {
        let prefix = self
            .repo_prefix
            .as_deref()
            .unwrap_or_default()
            .trim_end_matches('/');
        if prefix.is_empty() {
            self.target_image.clone()
        } else {
            format!("{prefix}/{}", self.target_image)
        }
    }
}

/// Status of an `ImageSpecJob`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageSpecJobStatus {
    /// `phase`: mirrors the build pod's phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<ImageSpecJobPhase>,
    /// `startTime`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Time>,
    /// `finishTime`: the build container's termination time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_time: Option<Time>,
    /// `podName`: `image-<job>-<4 random [0-9a-z]>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_name: Option<String>,
}
