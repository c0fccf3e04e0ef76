//! PrimeHub's custom resources (`primehub.io/v1alpha1`) and their CustomResourceDefinitions.
//!
//! One module per kind. Every kind is namespaced and has a [`kube::CustomResource`]-style root
//! type (`InstanceType`, `Image`, `Dataset`, …) with `metadata`, `spec` and, where PrimeHub has
//! one, `status`. Field names and JSON keys follow PrimeHub exactly, so objects written by an
//! existing PrimeHub install deserialize unchanged, and writing them back keeps every key
//! (unknown keys are kept where PrimeHub's CRD keeps them: InstanceType, Dataset and
//! Announcement specs).
//!
//! Reading is tolerant: phase and reason enums keep unknown strings in an `Other` variant (for
//! example `phase: pending` in lower case from an older document), and the generated CRD schemas
//! declare such fields as plain strings.
//!
//! [`all`] returns the CRDs of every kind in a fixed order, and [`to_yaml`] renders them as one
//! multi-document YAML stream (`primehub crds` prints exactly that).
//!
//! # Example
//!
//! ```
//! use primehub_model::crd::InstanceType;
//!
//! let yaml = r#"
//! apiVersion: primehub.io/v1alpha1
//! kind: InstanceType
//! metadata:
//!   name: cpu-1
//! spec:
//!   displayName: CPU 1
//!   limits.cpu: 1
//!   limits.memory: 2G
//!   requests.cpu: 0.5
//! "#;
//! let it: InstanceType = serde_yaml_ng::from_str(yaml)?;
//! assert_eq!(it.spec.limits_cpu.to_string(), "1");
//! assert_eq!(it.spec.limits_memory, "2G");
//! assert_eq!(it.spec.requests_cpu.map(|n| n.to_string()).as_deref(), Some("0.5"));
//! assert_eq!(it.spec.limits_gpu, None);
//! # Ok::<(), serde_yaml_ng::Error>(())
//! ```

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceColumnDefinition, CustomResourceDefinition, JSONSchemaProps,
};
use kube::core::CustomResourceExt;

use crate::{Error, Result};

pub mod announcement;
pub mod app_template;
pub mod application;
pub mod dataset;
pub mod deployment;
pub mod image;
pub mod image_spec;
pub mod image_spec_job;
pub mod instance_type;
pub mod job;
pub mod license;
pub mod schedule;

pub use announcement::{Announcement, AnnouncementSpec};
pub use app_template::{
    PhAppTemplate, PhAppTemplateContent, PhAppTemplateContentSpec, PhAppTemplateDefaultEnv,
    PhAppTemplateSpec,
};
pub use application::{
    PhApplication, PhApplicationPhase, PhApplicationPodTemplate, PhApplicationScope,
    PhApplicationSpec, PhApplicationStatus, PhApplicationSvcTemplate,
};
pub use dataset::{
    Dataset, DatasetGitSync, DatasetHostPath, DatasetNfs, DatasetPv, DatasetSpec, DatasetType,
    PvProvisioning,
};
pub use deployment::{
    EndpointAccessType, PhDeployment, PhDeploymentEndpoint, PhDeploymentEndpointClient,
    PhDeploymentHistory, PhDeploymentPhase, PhDeploymentPredictor, PhDeploymentSpec,
    PhDeploymentStatus,
};
pub use image::{Image, ImageBuildSpec, ImageCrdSpec, ImageStatus, ImageType};
pub use image_spec::{ImagePackages, ImageSpec, ImageSpecSpec, ImageSpecStatus};
pub use image_spec_job::{ImageSpecJob, ImageSpecJobPhase, ImageSpecJobSpec, ImageSpecJobStatus};
pub use instance_type::{InstanceType, InstanceTypeSpec};
pub use job::{PhJob, PhJobPhase, PhJobReason, PhJobSpec, PhJobStatus};
pub use license::{License, LicenseSpec, LicenseStatus, LicenseValidity};
pub use schedule::{
    PhJobTemplate, PhSchedule, PhScheduleSpec, PhScheduleStatus, Recurrence, RecurrenceType,
};

/// The API group of every PrimeHub custom resource.
pub const GROUP: &str = "primehub.io";
/// The API version of every PrimeHub custom resource.
pub const VERSION: &str = "v1alpha1";
/// `apiVersion` of every PrimeHub custom resource (`primehub.io/v1alpha1`).
pub const API_VERSION: &str = "primehub.io/v1alpha1";

/// The CustomResourceDefinitions of all PrimeHub kinds, in a fixed order:
/// InstanceType, Image, Dataset, ImageSpec, ImageSpecJob, PhJob, PhSchedule, PhDeployment,
/// PhApplication, PhAppTemplate, License, Announcement.
pub fn all() -> Vec<CustomResourceDefinition> {
    vec![
        InstanceType::crd(),
        Image::crd(),
        Dataset::crd(),
        ImageSpec::crd(),
        ImageSpecJob::crd(),
        PhJob::crd(),
        PhSchedule::crd(),
        PhDeployment::crd(),
        PhApplication::crd(),
        PhAppTemplate::crd(),
        License::crd(),
        Announcement::crd(),
    ]
}

/// Renders CRDs as one multi-document YAML stream: each document starts with `---`.
///
/// # Errors
///
/// [`Error::Serialization`] when a CRD cannot be serialised.
pub fn to_yaml(crds: &[CustomResourceDefinition]) -> Result<String> {
    let mut out = String::new();
    for crd in crds {
        let doc = serde_yaml_ng::to_string(crd).map_err(|e| Error::Serialization {
            what: format!(
                "CustomResourceDefinition {}",
                crd.metadata.name.as_deref().unwrap_or("<unnamed>")
            ),
            message: e.to_string(),
        })?;
        out.push_str("---\n");
        out.push_str(&doc);
    }
    Ok(out)
}

/// A printer column `Age` on `.metadata.creationTimestamp`, as kubebuilder adds it.
pub(crate) fn age_column() -> CustomResourceColumnDefinition {
    CustomResourceColumnDefinition {
        name: "Age".into(),
        type_: "date".into(),
        json_path: ".metadata.creationTimestamp".into(),
        ..Default::default()
    }
}

/// Schema of an object whose content the API server keeps as is (no pruning, no validation).
///
/// Used for embedded `ObjectMeta` and for full `PodSpec`/`ServiceSpec` templates: their complete
/// schemas would make the CRD too large for `kubectl apply`'s last-applied annotation.
pub(crate) fn preserved_object(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
    })
}

/// Schema of a value of any JSON type, kept as is by the API server.
pub(crate) fn any_value(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "x-kubernetes-preserve-unknown-fields": true,
    })
}

/// OpenAPI v3 schema of a root type, generated the way `#[derive(CustomResource)]` does it
/// (inlined subschemas, `nullable`, structural rewrites).
pub(crate) fn root_schema<K: schemars::JsonSchema>() -> JSONSchemaProps {
    let generator = schemars::generate::SchemaSettings::openapi3()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .with_transform(schemars::transform::AddNullable::default())
        .with_transform(kube::core::schema::StructuralSchemaRewriter)
        .with_transform(kube::core::schema::OptionalEnum)
        .with_transform(kube::core::schema::OptionalIntOrString)
        .into_generator();
    let value = serde_json::to_value(generator.into_root_schema_for::<K>())
        .expect("a schemars schema is always representable as JSON");
    serde_json::from_value(value).expect("the generated schema is a valid JSONSchemaProps")
}

/// `skip_serializing_if` helper for `bool` fields that Go writes with `omitempty`.
pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

/// Serde helpers for values that hand-written YAML writes in more than one JSON type.
pub(crate) mod lenient {
    use serde::de::{self, Deserializer, Visitor};
    use std::fmt;

    struct NumberVisitor;

    impl<'de> Visitor<'de> for NumberVisitor {
        type Value = serde_json::Number;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a number or a string holding a number")
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(v.into())
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(v.into())
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            serde_json::Number::from_f64(v)
                .ok_or_else(|| E::custom(format!("{v} is not a finite number")))
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            let text = v.trim();
            text.parse::<serde_json::Number>()
                .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
        }
    }

    /// A JSON number, also accepted as a quoted string (`"1.5"`).
    pub(crate) fn number<'de, D: Deserializer<'de>>(d: D) -> Result<serde_json::Number, D::Error> {
        d.deserialize_any(NumberVisitor)
    }

    /// An optional JSON number, also accepted as a quoted string.
    pub(crate) fn option_number<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<serde_json::Number>, D::Error> {
        struct OptVisitor;
        impl<'de> Visitor<'de> for OptVisitor {
            type Value = Option<serde_json::Number>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("null, a number or a string holding a number")
            }

            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }

            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }

            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                number(d).map(Some)
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                NumberVisitor.visit_u64(v).map(Some)
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                NumberVisitor.visit_i64(v).map(Some)
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                NumberVisitor.visit_f64(v).map(Some)
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                NumberVisitor.visit_str(v).map(Some)
            }
        }
        d.deserialize_option(OptVisitor)
    }

    /// An optional boolean, also accepted as the strings `"true"` / `"false"` (any case).
    pub(crate) fn option_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        struct BoolVisitor;
        impl<'de> Visitor<'de> for BoolVisitor {
            type Value = Option<bool>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("null, a boolean or the string \"true\" or \"false\"")
            }

            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }

            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }

            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_any(self)
            }

            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Some(v))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                match v.trim() {
                    t if t.eq_ignore_ascii_case("true") => Ok(Some(true)),
                    t if t.eq_ignore_ascii_case("false") => Ok(Some(false)),
                    _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
                }
            }
        }
        d.deserialize_option(BoolVisitor)
    }

    /// Writes an optional boolean as the string `"true"` / `"false"`, the way the console does.
    pub(crate) fn serialize_option_bool_as_string<S: serde::Serializer>(
        v: &Option<bool>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match v {
            Some(true) => s.serialize_str("true"),
            Some(false) => s.serialize_str("false"),
            None => s.serialize_none(),
        }
    }
}

/// Defines a string enum with known variants and an `Other(String)` catch-all.
///
/// Known strings map to their variant exactly (case-sensitive), anything else is kept verbatim
/// in `Other`, so reading never fails and writing gives back the same string. The JSON schema
/// is a plain `type: string` (structural), with the known values listed in its description.
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A string that is none of the known values, kept verbatim.
            Other(String),
        }

        impl $name {
            /// Every known value, in declaration order.
            pub const KNOWN: &'static [$name] = &[$($name::$variant),+];

            /// The string stored in the custom resource.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $text, )+
                    $name::Other(s) => s.as_str(),
                }
            }

            /// Whether this is one of the known values (not `Other`).
            pub fn is_known(&self) -> bool {
                !matches!(self, $name::Other(_))
            }

            /// Maps an `Other` string that equals a known value ignoring ASCII case (for example
            /// `pending`) to that value; returns everything else unchanged.
            pub fn canonical(&self) -> $name {
                match self {
                    $name::Other(s) => Self::KNOWN
                        .iter()
                        .find(|k| k.as_str().eq_ignore_ascii_case(s.trim()))
                        .cloned()
                        .unwrap_or_else(|| self.clone()),
                    known => known.clone(),
                }
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                match s {
                    $( $text => $name::$variant, )+
                    other => $name::Other(other.to_owned()),
                }
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                match $name::from(s.as_str()) {
                    $name::Other(_) => $name::Other(s),
                    known => known,
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;

            fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
                Ok($name::from(s))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                String::deserialize(d).map($name::from)
            }
        }

        impl schemars::JsonSchema for $name {
            fn inline_schema() -> bool {
                true
            }

            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                let known: Vec<&str> = vec![$($text),+];
                schemars::json_schema!({
                    "type": "string",
                    "description": format!("One of: {}.", known.join(", ")),
                })
            }
        }
    };
}
pub(crate) use string_enum;

/// Implements the `kube` traits for a hand-written root type whose `status` is a plain field
/// (PrimeHub's CRD has no status subresource for it, so the whole object is updated at once).
macro_rules! root_without_status_subresource {
    (
        root = $root:ident,
        spec = $spec:ty,
        status = $status:ty,
        kind = $kind:literal,
        plural = $plural:literal,
        singular = $singular:literal,
        columns = $columns:expr $(,)?
    ) => {
        impl $root {
            /// Creates an object named `name` with this spec and no status.
            pub fn new(name: &str, spec: $spec) -> Self {
                Self {
                    metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                        name: Some(name.to_owned()),
                        ..Default::default()
                    },
                    spec,
                    status: None,
                }
            }
        }

        impl serde::Serialize for $root {
            fn serialize<S: serde::Serializer>(&self, ser: S) -> std::result::Result<S::Ok, S::Error> {
                use serde::ser::SerializeStruct;
                let mut obj = ser.serialize_struct($kind, 4 + usize::from(self.status.is_some()))?;
                obj.serialize_field("apiVersion", $crate::crd::API_VERSION)?;
                obj.serialize_field("kind", $kind)?;
                obj.serialize_field("metadata", &self.metadata)?;
                obj.serialize_field("spec", &self.spec)?;
                if let Some(status) = &self.status {
                    obj.serialize_field("status", status)?;
                }
                obj.end()
            }
        }

        impl kube::core::Resource for $root {
            type DynamicType = ();
            type Scope = kube::core::NamespaceResourceScope;

            fn group(_: &()) -> std::borrow::Cow<'_, str> {
                $crate::crd::GROUP.into()
            }

            fn kind(_: &()) -> std::borrow::Cow<'_, str> {
                $kind.into()
            }

            fn version(_: &()) -> std::borrow::Cow<'_, str> {
                $crate::crd::VERSION.into()
            }

            fn api_version(_: &()) -> std::borrow::Cow<'_, str> {
                $crate::crd::API_VERSION.into()
            }

            fn plural(_: &()) -> std::borrow::Cow<'_, str> {
                $plural.into()
            }

            fn meta(&self) -> &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                &self.metadata
            }

            fn meta_mut(&mut self) -> &mut k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                &mut self.metadata
            }
        }

        impl kube::core::object::HasSpec for $root {
            type Spec = $spec;

            fn spec(&self) -> &$spec {
                &self.spec
            }

            fn spec_mut(&mut self) -> &mut $spec {
                &mut self.spec
            }
        }

        impl kube::core::object::HasStatus for $root {
            type Status = $status;

            fn status(&self) -> Option<&$status> {
                self.status.as_ref()
            }

            fn status_mut(&mut self) -> &mut Option<$status> {
                &mut self.status
            }
        }

        impl kube::core::CustomResourceExt for $root {
            fn crd() -> k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition {
                use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiext;
                let columns: Vec<apiext::CustomResourceColumnDefinition> = $columns;
                apiext::CustomResourceDefinition {
                    metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                        name: Some(Self::crd_name().into()),
                        ..Default::default()
                    },
                    spec: apiext::CustomResourceDefinitionSpec {
                        group: $crate::crd::GROUP.into(),
                        names: apiext::CustomResourceDefinitionNames {
                            kind: $kind.into(),
                            plural: $plural.into(),
                            singular: Some($singular.into()),
                            ..Default::default()
                        },
                        scope: "Namespaced".into(),
                        versions: vec![apiext::CustomResourceDefinitionVersion {
                            additional_printer_columns: if columns.is_empty() { None } else { Some(columns) },
                            name: $crate::crd::VERSION.into(),
                            schema: Some(apiext::CustomResourceValidation {
                                open_api_v3_schema: Some($crate::crd::root_schema::<Self>()),
                            }),
                            served: true,
                            storage: true,
                            subresources: None,
                            ..Default::default()
                        }],
                        ..Default::default()
                    },
                    ..Default::default()
                }
            }

            fn crd_name() -> &'static str {
                concat!($plural, ".primehub.io")
            }

            fn api_resource() -> kube::core::ApiResource {
                kube::core::ApiResource::erase::<Self>(&())
            }

            fn shortnames() -> &'static [&'static str] {
                &[]
            }
        }
    };
}
pub(crate) use root_without_status_subresource;
