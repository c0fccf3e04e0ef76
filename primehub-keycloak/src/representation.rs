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

/// A group (PrimeHub groups are top-level groups; Keycloak also has subgroups).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    /// Keycloak's id (a UUID).
    pub id: String,
    /// The group name (case preserved).
    pub name: String,
    /// The group path: `/<name>` for a top-level group, `/<parent path>/<name>` for a subgroup.
    #[serde(default)]
    pub path: String,
    /// The parent group's id, for a subgroup (`None` for a top-level group).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
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
    /// Whether the role contains other roles (Keycloak's `default-roles-<realm>` does).
    #[serde(default)]
    pub composite: bool,
    /// The role's attributes. Keycloak sends them only in full representations (a single
    /// role, [`KeycloakAdmin::get_role`](crate::KeycloakAdmin::get_role)); lists leave this
    /// empty.
    #[serde(default, skip_serializing_if = "Attributes::is_empty")]
    pub attributes: Attributes,
}

/// A partial update of a realm role ([`KeycloakAdmin::update_role`](crate::KeycloakAdmin::update_role)):
/// `None` leaves a field unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleUpdate {
    /// Rename the role (its mappings follow it). A name another realm role has is
    /// [`Conflict`](crate::KeycloakError::Conflict) on the role name.
    pub name: Option<String>,
    /// `Some(Some(text))` sets the description, `Some(None)` removes it.
    pub description: Option<Option<String>>,
    /// Replace all attributes.
    pub attributes: Option<Attributes>,
}

/// A client's scope mappings ([`KeycloakAdmin::client_scope_mappings`](crate::KeycloakAdmin::client_scope_mappings)):
/// the roles tokens issued to the client may carry when its `fullScopeAllowed` is off.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientScopeMappings {
    /// Realm roles in the client's scope, ordered by name.
    pub realm: Vec<Role>,
    /// Client roles in the client's scope: the owning client's `clientId` → its roles, ordered
    /// by name.
    pub clients: BTreeMap<String, Vec<Role>>,
}

/// The roles a composite role contains directly
/// ([`KeycloakAdmin::role_composites`](crate::KeycloakAdmin::role_composites),
/// [`KeycloakAdmin::client_role_composites`](crate::KeycloakAdmin::client_role_composites)),
/// as brief representations (no attributes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompositeRoles {
    /// Realm roles it contains, ordered by name.
    pub realm: Vec<Role>,
    /// Client roles it contains: the owning client's `clientId` → its roles, ordered by name.
    pub clients: BTreeMap<String, Vec<Role>>,
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

/// Keycloak's required-action aliases PrimeHub sends in execute-actions e-mails.
pub mod required_action {
    /// Verify the e-mail address.
    pub const VERIFY_EMAIL: &str = "VERIFY_EMAIL";
    /// Set a new password (PrimeHub's console sends this with `VERIFY_EMAIL` to new users).
    pub const UPDATE_PASSWORD: &str = "UPDATE_PASSWORD";
    /// Set up an authenticator app (TOTP).
    pub const CONFIGURE_TOTP: &str = "CONFIGURE_TOTP";
    /// Review the profile (names, e-mail).
    pub const UPDATE_PROFILE: &str = "UPDATE_PROFILE";
    /// Every required action a Keycloak 26 realm registers out of the box (enabled or not); an
    /// execute-actions e-mail naming anything else is refused with
    /// `Provided invalid required actions`.
    pub const KEYCLOAK_26_BUILT_IN: &[&str] = &[
        "CONFIGURE_RECOVERY_AUTHN_CODES",
        "CONFIGURE_TOTP",
        "TERMS_AND_CONDITIONS",
        "UPDATE_EMAIL",
        "UPDATE_PASSWORD",
        "UPDATE_PROFILE",
        "VERIFY_EMAIL",
        "VERIFY_PROFILE",
        "delete_account",
        "delete_credential",
        "idp_link",
        "update_user_locale",
        "webauthn-register",
        "webauthn-register-passwordless",
    ];
}

/// An execute-actions e-mail (`PUT users/{id}/execute-actions-email`): Keycloak mails the user a
/// link that runs the required actions, as PrimeHub's console does for new users ("send e-mail")
/// and for password resets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecuteActionsEmail {
    /// Required-action aliases ([`required_action`]); may be empty.
    pub actions: Vec<String>,
    /// How long the link is valid, in seconds (`None`: the realm's default, 12 h; PrimeHub sends
    /// 86400).
    pub lifespan: Option<u32>,
    /// The client the link returns to (`None`: Keycloak's `account` client). Required with
    /// `redirect_uri`.
    pub client_id: Option<String>,
    /// Where the user lands afterwards; must be a valid redirect URI of `client_id`.
    pub redirect_uri: Option<String>,
}

/// One credential of a user (`CredentialRepresentation` without its secret).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Credential {
    /// The credential's id.
    pub id: String,
    /// Its type: `password`, `otp`, `webauthn`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// The label the user gave it (for example the phone's name), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_label: Option<String>,
    /// When it was created, milliseconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_date: Option<i64>,
}

/// The credential type of authenticator-app (TOTP/HOTP) credentials.
pub const OTP_CREDENTIAL: &str = "otp";

/// The placeholder Keycloak shows instead of a secret (and accepts back as "unchanged").
pub const SECRET_MASK: &str = "**********";

/// The realm's outgoing mail server (Keycloak's `smtpServer` map, whose values are all strings).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SmtpSettings {
    /// Host name or address (`host`). An empty host in an update clears the whole SMTP
    /// configuration.
    pub host: String,
    /// Port (`port`; Keycloak's default is 25, or 465 with SSL).
    pub port: Option<u16>,
    /// Sender address (`from`); Keycloak cannot send without it.
    pub from: String,
    /// Sender display name (`fromDisplayName`).
    pub from_display_name: Option<String>,
    /// Reply-to address (`replyTo`).
    pub reply_to: Option<String>,
    /// Implicit TLS (`ssl`).
    pub ssl: bool,
    /// STARTTLS (`starttls`).
    pub starttls: bool,
    /// Log in to the server (`auth`) as `user`.
    pub auth: bool,
    /// Login name (`user`).
    pub user: Option<String>,
    /// Password (`password`). Reads never return it (Keycloak masks it); in an update, `None`
    /// keeps the stored password.
    pub password: Option<String>,
}

impl SmtpSettings {
    /// Reads Keycloak's `smtpServer` map; `None` when no host is configured.
    pub fn from_keycloak(map: &BTreeMap<String, String>) -> Option<SmtpSettings> {
        let host = map.get("host").filter(|h| !h.trim().is_empty())?.clone();
        let text = |key: &str| map.get(key).filter(|v| !v.is_empty()).cloned();
        let flag = |key: &str| map.get(key).is_some_and(|v| v.eq_ignore_ascii_case("true"));
        Some(SmtpSettings {
            host,
            port: map.get("port").and_then(|p| p.trim().parse().ok()),
            from: map.get("from").cloned().unwrap_or_default(),
            from_display_name: text("fromDisplayName"),
            reply_to: text("replyTo"),
            ssl: flag("ssl"),
            starttls: flag("starttls"),
            auth: flag("auth"),
            user: text("user"),
            password: text("password").filter(|p| p != SECRET_MASK),
        })
    }

    /// Keycloak's `smtpServer` map for an update (`{}` when the host is empty: no mail server).
    /// A missing password is sent as [`SECRET_MASK`], which Keycloak reads as "keep".
    pub fn to_keycloak(&self) -> BTreeMap<String, String> {
        let mut map = BTreeMap::new();
        if self.host.trim().is_empty() {
            return map;
        }
        map.insert("host".into(), self.host.clone());
        if let Some(port) = self.port {
            map.insert("port".into(), port.to_string());
        }
        map.insert("from".into(), self.from.clone());
        if let Some(name) = &self.from_display_name {
            map.insert("fromDisplayName".into(), name.clone());
        }
        if let Some(reply_to) = &self.reply_to {
            map.insert("replyTo".into(), reply_to.clone());
        }
        map.insert("ssl".into(), self.ssl.to_string());
        map.insert("starttls".into(), self.starttls.to_string());
        map.insert("auth".into(), self.auth.to_string());
        if self.auth {
            if let Some(user) = &self.user {
                map.insert("user".into(), user.clone());
            }
            map.insert(
                "password".into(),
                self.password.clone().unwrap_or_else(|| SECRET_MASK.into()),
            );
        }
        map
    }
}

/// The realm settings PrimeHub reads and writes (from `RealmRepresentation`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RealmSettings {
    /// The realm's name.
    pub realm: String,
    /// The display name (`displayName`), shown on the login page; PrimeHub's system settings
    /// call it the system name.
    pub display_name: Option<String>,
    /// The outgoing mail server, if configured (`smtpServer`).
    pub smtp: Option<SmtpSettings>,
    /// Whether admin events are recorded (`adminEventsEnabled`; the bootstrap turns it on).
    pub admin_events_enabled: bool,
    /// Whether admin events carry the request's representation (`adminEventsDetailsEnabled`).
    pub admin_events_details_enabled: bool,
}

/// A partial update of the realm settings: `None` leaves a setting unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RealmSettingsUpdate {
    /// New display name.
    pub display_name: Option<String>,
    /// Replace the whole SMTP configuration (`Some(SmtpSettings::default())` removes it).
    pub smtp: Option<SmtpSettings>,
    /// Turn admin events on or off.
    pub admin_events_enabled: Option<bool>,
    /// Turn admin event details on or off.
    pub admin_events_details_enabled: Option<bool>,
}

/// Who made an admin change (`AuthDetailsRepresentation`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminEventAuth {
    /// The realm of the caller's token (its id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realm_id: Option<String>,
    /// The UUID of the client the token was issued to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The caller's user id (a service account's user for client-credentials tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The caller's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
}

/// One admin event (`AdminEventRepresentation`): a change made through the admin API, recorded
/// when the realm has admin events enabled.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminEvent {
    /// The event's id (Keycloak 26 sets one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// When, in milliseconds since the Unix epoch.
    pub time: i64,
    /// The realm's id.
    #[serde(default)]
    pub realm_id: String,
    /// Who.
    #[serde(default)]
    pub auth_details: AdminEventAuth,
    /// `CREATE`, `UPDATE`, `DELETE` or `ACTION`.
    pub operation_type: String,
    /// `USER`, `GROUP`, `GROUP_MEMBERSHIP`, `REALM_ROLE`, `REALM_ROLE_MAPPING`, `REALM`, …
    pub resource_type: String,
    /// The admin path below the realm, for example `users/<id>` or `roles/img:base`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_path: Option<String>,
    /// The request's JSON, when the realm records details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub representation: Option<String>,
    /// The error, for failed operations that are recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Which admin events to list: Keycloak's `admin-events` filters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdminEventQuery {
    /// Only events at or after this time, in milliseconds since the Unix epoch (`dateFrom`).
    pub since: Option<i64>,
    /// Only these operation types (`operationTypes`); all when empty.
    pub operation_types: Vec<String>,
    /// Only these resource types (`resourceTypes`); all when empty.
    pub resource_types: Vec<String>,
    /// Which page of the newest-first list.
    pub page: Page,
}

impl RealmSettings {
    /// Reads the settings from a `RealmRepresentation` (the JSON of `GET /admin/realms/{r}`).
    /// A masked SMTP password reads as `None`.
    pub fn from_representation(realm: &serde_json::Value) -> RealmSettings {
        let flag = |key: &str| realm.get(key).and_then(serde_json::Value::as_bool) == Some(true);
        let smtp: BTreeMap<String, String> = realm
            .get("smtpServer")
            .and_then(serde_json::Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        let v = match v {
                            serde_json::Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        (k.clone(), v)
                    })
                    .collect()
            })
            .unwrap_or_default();
        RealmSettings {
            realm: realm
                .get("realm")
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            display_name: realm
                .get("displayName")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned),
            smtp: SmtpSettings::from_keycloak(&smtp),
            admin_events_enabled: flag("adminEventsEnabled"),
            admin_events_details_enabled: flag("adminEventsDetailsEnabled"),
        }
    }
}

impl RealmSettingsUpdate {
    /// The partial `RealmRepresentation` to `PUT /admin/realms/{r}`: only the named settings
    /// (Keycloak leaves absent top-level fields unchanged; `smtpServer` is replaced whole).
    pub fn to_representation(&self) -> serde_json::Map<String, serde_json::Value> {
        use serde_json::json;
        let mut body = serde_json::Map::new();
        if let Some(name) = &self.display_name {
            body.insert("displayName".into(), json!(name));
        }
        if let Some(smtp) = &self.smtp {
            body.insert("smtpServer".into(), json!(smtp.to_keycloak()));
        }
        if let Some(on) = self.admin_events_enabled {
            body.insert("adminEventsEnabled".into(), json!(on));
        }
        if let Some(on) = self.admin_events_details_enabled {
            body.insert("adminEventsDetailsEnabled".into(), json!(on));
        }
        body
    }
}

/// The input field Keycloak 26's 400 answers to an execute-actions e-mail are about (its body
/// names none): the HTTP client and the fake report the same [`Invalid`](crate::KeycloakError)
/// field.
pub fn execute_actions_email_field(message: &str) -> &'static str {
    match message {
        "User email missing" => "email",
        "User is disabled" => "user",
        "Client id missing" | "Client doesn't exist" | "Client is not enabled" => "client_id",
        "Invalid redirect uri." => "redirect_uri",
        _ => "actions",
    }
}
