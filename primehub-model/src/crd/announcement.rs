//! `Announcement` (`announcements.primehub.io`, owned by the console): a portal announcement,
//! targeted at groups through `ann:<name>` realm roles.
//!
//! PrimeHub's CRD has no schema (everything is kept), so spec keys this model does not know are
//! kept in [`AnnouncementSpec::extra`].

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Spec of an `Announcement`.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "primehub.io",
    version = "v1alpha1",
    kind = "Announcement",
    plural = "announcements",
    singular = "announcement",
    namespaced,
    derive = "PartialEq",
    doc = "A PrimeHub portal announcement."
)]
#[serde(rename_all = "camelCase")]
pub struct AnnouncementSpec {
    /// `content`: the announcement text (HTML).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// `expiryDate`: unix seconds after which it is no longer shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry_date: Option<i64>,
    /// `status`: `published`, `draft`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Keys this model does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}
