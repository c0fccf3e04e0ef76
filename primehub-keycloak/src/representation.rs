//! The Keycloak objects PrimeHub uses, as this crate exposes them.
//!
//! They mirror Keycloak's admin REST representations (`UserRepresentation`,
//! `GroupRepresentation`, `RoleRepresentation`, `UserSessionRepresentation`) with the fields
//! PrimeHub reads and writes. Serde names are Keycloak's, so the same types serve the HTTP client
//! and the fake's HTTP face.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Keycloak's attribute map: every attribute is a list of strings (PrimeHub reads element 0).
pub type Attributes = BTreeMap<String, Vec<String>>;

/// A user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// Keycloak's id (a UUID).
    pub id: String,
    /// The username; Keycloak stores it lowercased.
    pub username: String,
    /// The e-mail address, if any (Keycloak lowercases it too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Given name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Family name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Whether the user may log in.
    #[serde(default)]
    pub enabled: bool,
    /// Creation time, milliseconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_timestamp: Option<i64>,
    /// Whether the user has TOTP configured.
    #[serde(default)]
    pub totp: bool,
    /// The id of the user-federation provider, when the user is federated (LDAP…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub federation_link: Option<String>,
    /// Attributes (`volumeCapacity`, `timezone`, …).
    #[serde(default)]
    pub attributes: Attributes,
}

/// The fields of a user to create.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewUser {
    /// Username (required; Keycloak lowercases it).
    pub username: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// Whether the user may log in (PrimeHub's console always creates enabled users).
    pub enabled: bool,
    /// Attributes.
    pub attributes: Attributes,
    /// An initial password, set as not temporary.
    pub password: Option<String>,
}

/// A partial update of a user: `None` leaves a field unchanged. `attributes: Some(map)` replaces
/// the whole attribute map (as Keycloak does).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserUpdate {
    /// New e-mail address (`Some("")` clears it).
    pub email: Option<String>,
    /// New given name.
    pub first_name: Option<String>,
    /// New family name.
    pub last_name: Option<String>,
    /// Enable or disable the user.
    pub enabled: Option<bool>,
    /// Replace all attributes.
    pub attributes: Option<Attributes>,
}

/// A group (PrimeHub groups are top-level groups).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    /// Keycloak's id (a UUID).
    pub id: String,
    /// The group name (case preserved).
    pub name: String,
    /// The group path, `/<name>` for a top-level group.
    #[serde(default)]
    pub path: String,
    /// Attributes (quotas, feature flags, …).
    #[serde(default)]
    pub attributes: Attributes,
}

/// The fields of a group to create.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewGroup {
    /// Group name (required, unique among top-level groups).
    pub name: String,
    /// Attributes.
    pub attributes: Attributes,
}

/// A partial update of a group: `None` leaves a field unchanged; `attributes: Some(map)` replaces
/// the whole attribute map.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupUpdate {
    /// Rename the group.
    pub name: Option<String>,
    /// Replace all attributes.
    pub attributes: Option<Attributes>,
}

/// A realm role.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Role {
    /// Keycloak's id (a UUID).
    #[serde(default)]
    pub id: String,
    /// The role name, for example `img:base-notebook`.
    pub name: String,
    /// Description, if any (PrimeHub creates roles without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// One offline session of a user with a client: an API token in PrimeHub.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OfflineSession {
    /// The session id.
    pub id: String,
    /// The user's id.
    #[serde(default)]
    pub user_id: String,
    /// The username.
    #[serde(default)]
    pub username: String,
    /// When the session started, milliseconds since the Unix epoch.
    #[serde(default)]
    pub start: i64,
    /// Last activity, milliseconds since the Unix epoch.
    #[serde(default)]
    pub last_access: i64,
    /// The clients the session belongs to, as Keycloak reports them: client UUID → `clientId`.
    #[serde(default)]
    pub clients: BTreeMap<String, String>,
}

/// A page request: skip `first` results, return at most `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Number of results to skip.
    pub first: u32,
    /// Maximum number of results to return (Keycloak caps and defaults this too).
    pub max: u32,
}

impl Page {
    /// The first `max` results.
    pub const fn first(max: u32) -> Page {
        Page { first: 0, max }
    }

    /// The page after this one.
    pub const fn next(self) -> Page {
        Page {
            first: self.first.saturating_add(self.max),
            max: self.max,
        }
    }
}

impl Default for Page {
    /// The first 100 results.
    fn default() -> Self {
        Page::first(100)
    }
}
