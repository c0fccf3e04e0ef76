//! `Image` (`images.primehub.io`): a container image choice (CPU and GPU URLs, pull secret),
//! optionally built by PrimeHub from a base image and packages.
//!
//! PrimeHub's CRD has **no status subresource** for images: the Image controller updates the whole
//! object. [`Image`] is therefore written by hand (not derived) so that its CRD matches, while
//! still carrying a `status` field.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceColumnDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::image_spec::{ImagePackages, ImageSpecStatus};
use crate::{Error, Result};

super::string_enum! {
    /// `spec.type` of an `Image`: which instance types it is meant for.
    pub enum ImageType {
        /// `cpu`: for instance types without GPU.
        Cpu = "cpu",
        /// `gpu`: for GPU instance types.
        Gpu = "gpu",
        /// `both` (shown as "universal"): for every instance type. The SDK default.
        Both = "both",
    }
}

/// A PrimeHub image. `status` is a plain field: the CRD has no status subresource.
#[derive(Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    /// Standard object metadata.
    #[schemars(skip)]
    pub metadata: ObjectMeta,
    /// The image definition.
    pub spec: ImageCrdSpec,
    /// Build state (only for images built by PrimeHub).
    #[serde(default)]
    pub status: Option<ImageStatus>,
}

super::root_without_status_subresource! {
    root = Image,
    spec = ImageCrdSpec,
    status = ImageStatus,
    kind = "Image",
    plural = "images",
    singular = "image",
    columns = vec![
        CustomResourceColumnDefinition {
            name: "Type".into(),
            type_: "string".into(),
            json_path: ".spec.type".into(),
            description: Some("type of current image".into()),
            ..Default::default()
        },
        CustomResourceColumnDefinition {
            name: "Group".into(),
            type_: "string".into(),
            json_path: ".spec.groupName".into(),
            description: Some("group of current image".into()),
            ..Default::default()
        },
        CustomResourceColumnDefinition {
            name: "Status".into(),
            type_: "string".into(),
            json_path: ".status.jobCondition.phase".into(),
            description: Some("phase of current image".into()),
            ..Default::default()
        },
        super::age_column(),
    ],
}

/// Spec of an `Image` (PrimeHub's Go type is `ImageCrdSpec`; the name `ImageSpec` belongs to
/// the kind `super::ImageSpec`).
#[doc(alias = "ImageSpec")]
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageCrdSpec {
    /// `displayName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// `description`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `type`: `cpu`, `gpu` or `both`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<ImageType>,
    /// `url`: image reference for CPU instance types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `urlForGpu`: image reference for GPU instance types; falls back to `url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_for_gpu: Option<String>,
    /// `pullSecret`: name of the image pull Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_secret: Option<String>,
    /// `groupName`: set on group-scoped images created by a group admin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_name: Option<String>,
    /// `imageSpec`: custom-build request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_spec: Option<ImageBuildSpec>,
}

impl ImageCrdSpec {
    /// The image reference to use: `urlForGpu` (falling back to `url`) when `gpu` is true,
    /// otherwise `url`. Empty strings count as absent.
    pub fn url_for(&self, gpu: bool) -> Option<&str> {
        fn non_empty(s: &Option<String>) -> Option<&str> {
            s.as_deref().filter(|s| !s.is_empty())
        }
        if gpu {
            non_empty(&self.url_for_gpu).or_else(|| non_empty(&self.url))
        } else {
            non_empty(&self.url)
        }
    }

    /// Whether this image is built by PrimeHub (`imageSpec.baseImage` is non-empty).
    pub fn is_custom_build(&self) -> bool {
        self.image_spec
            .as_ref()
            .is_some_and(|s| !s.base_image.is_empty())
    }
}

/// `spec.imageSpec` of an `Image`: what to build.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageBuildSpec {
    /// `baseImage`: the image to build from; non-empty means a custom build.
    #[serde(default)]
    pub base_image: String,
    /// `pullSecret`: pull secret for the base image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_secret: Option<String>,
    /// `packages`: packages to install.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packages: Option<ImagePackages>,
    /// `updateTime`: RFC 3339 timestamp as written (the console writes milliseconds); bumping it
    /// triggers a rebuild. Kept as text so that writing the object back does not change it; see
    /// `ImageBuildSpec::parsed_update_time`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_time: Option<String>,
    /// `cancel`: request cancellation of the build.
    #[serde(default, skip_serializing_if = "super::is_false")]
    pub cancel: bool,
}

impl ImageBuildSpec {
    /// `updateTime` parsed as an RFC 3339 timestamp; `None` when absent or empty.
    ///
    /// # Errors
    ///
    /// `Error::InvalidField` when the text is not an RFC 3339 timestamp.
    pub fn parsed_update_time(&self) -> Result<Option<jiff::Timestamp>> {
        match self.update_time.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(text) => {
                text.parse::<jiff::Timestamp>()
                    .map(Some)
                    .map_err(|e| Error::InvalidField {
                        field: "spec.imageSpec.updateTime".into(),
                        rule: format!("must be an RFC 3339 timestamp ({e})"),
                    })
            }
        }
    }
}

/// `status` of an `Image`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageStatus {
    /// `jobCondition`: state of the build (same shape as an ImageSpec's status).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_condition: Option<ImageSpecStatus>,
}
