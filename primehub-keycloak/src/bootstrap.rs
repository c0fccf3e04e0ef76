//! Idempotent set-up of a PrimeHub realm on a real Keycloak, with master-realm admin credentials.
//!
//! [`bootstrap_realm`] brings a realm into PrimeHub's shape (reference datamodel §3.1, §3.5) and
//! reports what it created and what was already there; running it again changes nothing:
//!
//! * the realm, enabled, recording admin events with details (`adminEventsEnabled`,
//!   `adminEventsDetailsEnabled`), with the user profile's `unmanagedAttributePolicy` set to
//!   `ENABLED` (Keycloak 24+ otherwise silently drops PrimeHub's user attributes such as `volumeCapacity`
//!   and `timezone`, which the declarative user profile does not declare) and `email`,
//!   `firstName`, `lastName` optional (PrimeHub creates users with a username only; Keycloak 24+
//!   would refuse their logins with "Account is not fully set up");
//! * the confidential client `admin-ui` with a service account and direct access grants; the
//!   service account holds the client role `realm-management/realm-admin` (the outcome carries
//!   the client's secret, which [`HttpKeycloak`] needs as [`Credentials::ClientCredentials`]);
//! * the confidential client `jupyterhub` with PrimeHub's protocol mappers: realm roles → `roles`
//!   (multivalued), user attributes `quota-gpu` → `quota.gpu` and `project-quota-gpu` →
//!   `project-quota.gpu` (int), `username` → `preferred_username`, `email` → `email`, group
//!   membership (full path) → `groups`, `timezone` → `timezone`;
//! * the group `everyone`, a realm default group;
//! * optionally ([`RealmBootstrap::admin_user`]) an administrator such as PrimeHub's `phadmin`,
//!   with a password and the `realm-admin` client role.
//!
//! ```no_run
//! # async fn demo() -> primehub_keycloak::Result<()> {
//! use primehub_keycloak::bootstrap::{RealmBootstrap, bootstrap_realm};
//! use primehub_keycloak::http::{Credentials, HttpKeycloak, HttpKeycloakConfig};
//! let base = url::Url::parse("http://127.0.0.1:8080").expect("url");
//! let master = HttpKeycloak::new(HttpKeycloakConfig::new(
//!     base.clone(),
//!     "master",
//!     Credentials::master_admin("admin", "admin"),
//! ))?;
//! let outcome = bootstrap_realm(&master, &RealmBootstrap::new("primehub")).await?;
//! let client = HttpKeycloak::new(HttpKeycloakConfig::new(
//!     base,
//!     "primehub",
//!     Credentials::client("primehub", "admin-ui", outcome.admin_ui_client_secret.clone()),
//! ))?;
//! # let _ = client;
//! # Ok(())
//! # }
//! ```
//!
//! [`HttpKeycloak`]: crate::http::HttpKeycloak
//! [`Credentials::ClientCredentials`]: crate::http::Credentials::ClientCredentials

use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::admin::{EVERYONE_GROUP, REALM_ADMIN_ROLE, REALM_MANAGEMENT_CLIENT};
use crate::error::{KeycloakError, Result};
use crate::http::{Ctx, HttpKeycloak};
use crate::representation::{Group, User};

/// The client id of PrimeHub's console/GraphQL client.
pub const ADMIN_UI_CLIENT: &str = "admin-ui";
/// The client id of PrimeHub's JupyterHub client.
pub const JUPYTERHUB_CLIENT: &str = "jupyterhub";

/// What [`bootstrap_realm`] should set up.
#[derive(Clone, PartialEq, Eq)]
pub struct RealmBootstrap {
    /// The realm's name (PrimeHub's default is `primehub`).
    pub realm: String,
    /// Redirect URIs of `admin-ui` (the console's login), for example
    /// `https://hub.example.com/console/*`. May be empty.
    pub admin_ui_redirect_uris: Vec<String>,
    /// Redirect URIs of `jupyterhub`, for example `https://hub.example.com/hub/oauth_callback`.
    /// May be empty.
    pub jupyterhub_redirect_uris: Vec<String>,
    /// An administrator to create (PrimeHub's fresh install creates `phadmin`).
    pub admin_user: Option<AdminUser>,
}

/// An administrator created by the bootstrap.
#[derive(Clone, PartialEq, Eq)]
pub struct AdminUser {
    /// Username (PrimeHub: `phadmin`).
    pub username: String,
    /// Initial password (set only when the user is created; not temporary).
    pub password: String,
}

impl std::fmt::Debug for AdminUser {
    /// The password is redacted.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminUser")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl std::fmt::Debug for RealmBootstrap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RealmBootstrap")
            .field("realm", &self.realm)
            .field("admin_ui_redirect_uris", &self.admin_ui_redirect_uris)
            .field("jupyterhub_redirect_uris", &self.jupyterhub_redirect_uris)
            .field("admin_user", &self.admin_user)
            .finish()
    }
}

impl RealmBootstrap {
    /// The realm `realm` without redirect URIs and without an admin user.
    pub fn new(realm: impl Into<String>) -> RealmBootstrap {
        RealmBootstrap {
            realm: realm.into(),
            admin_ui_redirect_uris: Vec::new(),
            jupyterhub_redirect_uris: Vec::new(),
            admin_user: None,
        }
    }

    /// Also create this administrator (PrimeHub's fresh-install `phadmin`).
    pub fn with_admin_user(
        mut self,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> RealmBootstrap {
        self.admin_user = Some(AdminUser {
            username: username.into(),
            password: password.into(),
        });
        self
    }

    fn validate(&self) -> Result<()> {
        let realm = self.realm.trim();
        if realm.is_empty() {
            return Err(KeycloakError::invalid("realm", "must not be empty"));
        }
        if realm == "master" {
            return Err(KeycloakError::invalid(
                "realm",
                "must not be the master realm",
            ));
        }
        if let Some(admin) = &self.admin_user {
            if admin.username.trim().is_empty() {
                return Err(KeycloakError::invalid(
                    "admin_user.username",
                    "must not be empty",
                ));
            }
            if admin.password.is_empty() {
                return Err(KeycloakError::invalid(
                    "admin_user.password",
                    "must not be empty",
                ));
            }
        }
        Ok(())
    }
}

/// What [`bootstrap_realm`] found and did.
#[derive(Clone, PartialEq, Eq)]
pub struct BootstrapOutcome {
    /// The realm's name.
    pub realm: String,
    /// The secret of `admin-ui` (for [`crate::http::Credentials::ClientCredentials`]).
    pub admin_ui_client_secret: String,
    /// The secret of `jupyterhub`.
    pub jupyterhub_client_secret: String,
    /// The id of the `everyone` group (PrimeHub's `KC_EVERYONE_GROUP_ID`).
    pub everyone_group_id: String,
    /// The id of the administrator, when [`RealmBootstrap::admin_user`] was given.
    pub admin_user_id: Option<String>,
    /// What this run created or changed, for example `client admin-ui`.
    pub created: Vec<String>,
    /// What was already in place.
    pub present: Vec<String>,
}

impl BootstrapOutcome {
    /// Whether this run changed anything.
    pub fn changed(&self) -> bool {
        !self.created.is_empty()
    }
}

impl std::fmt::Debug for BootstrapOutcome {
    /// Client secrets are redacted.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BootstrapOutcome")
            .field("realm", &self.realm)
            .field("admin_ui_client_secret", &"<redacted>")
            .field("jupyterhub_client_secret", &"<redacted>")
            .field("everyone_group_id", &self.everyone_group_id)
            .field("admin_user_id", &self.admin_user_id)
            .field("created", &self.created)
            .field("present", &self.present)
            .finish()
    }
}

#[derive(Deserialize)]
struct ClientSecret {
    value: String,
}

/// The record of one bootstrap run.
struct Run<'a> {
    kc: &'a HttpKeycloak,
    realm: &'a str,
    created: Vec<String>,
    present: Vec<String>,
}

impl Run<'_> {
    fn note(&mut self, created: bool, what: impl Into<String>) {
        let what = what.into();
        if created {
            tracing::info!(realm = self.realm, %what, "bootstrap created");
            self.created.push(what);
        } else {
            self.present.push(what);
        }
    }

    async fn call(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<&Value>,
        what: &str,
    ) -> Result<crate::http::Reply> {
        let url = self.kc.admin_url(self.realm, segments);
        self.kc
            .send(method, url, body, &Ctx { what, field: what })
            .await
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        segments: &[&str],
        what: &str,
    ) -> Result<T> {
        self.call(Method::GET, segments, None, what).await?.json()
    }

    /// GETs `segments` with `query` in this realm and decodes the answer; errors name `what`
    /// and `field`.
    async fn get_query<T: serde::de::DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
        what: &str,
        field: &str,
    ) -> Result<T> {
        let mut url = self.kc.admin_url(self.realm, segments);
        url.query_pairs_mut().extend_pairs(query);
        self.kc
            .send(Method::GET, url, None, &Ctx { what, field })
            .await?
            .json()
    }

    async fn ensure_realm(&mut self) -> Result<()> {
        let what = format!("realm {}", self.realm);
        match self.get::<Value>(&[], &what).await {
            Ok(realm) => {
                let on = |key: &str| realm.get(key).and_then(Value::as_bool) == Some(true);
                if on("enabled") {
                    self.note(false, "realm");
                } else {
                    self.call(Method::PUT, &[], Some(&json!({ "enabled": true })), &what)
                        .await?;
                    self.note(true, "realm enabled");
                }
                // Admin events (with details) record who changed what through the admin API.
                if on("adminEventsEnabled") && on("adminEventsDetailsEnabled") {
                    self.note(false, "admin events");
                } else {
                    let body =
                        json!({ "adminEventsEnabled": true, "adminEventsDetailsEnabled": true });
                    self.call(Method::PUT, &[], Some(&body), &what).await?;
                    self.note(true, "admin events");
                }
            }
            Err(KeycloakError::NotFound { .. }) => {
                let body = json!({
                    "realm": self.realm,
                    "enabled": true,
                    "adminEventsEnabled": true,
                    "adminEventsDetailsEnabled": true,
                });
                let url = self.kc.base_path_url(&["admin", "realms"]);
                self.kc
                    .send(
                        Method::POST,
                        url,
                        Some(&body),
                        &Ctx {
                            what: &what,
                            field: "realm",
                        },
                    )
                    .await?;
                self.note(true, "realm");
            }
            Err(other) => return Err(other),
        }
        Ok(())
    }

    /// PrimeHub's user profile: unmanaged attributes kept, and `email`, `firstName`, `lastName`
    /// optional (PrimeHub creates users with only a username; Keycloak 24+ otherwise refuses
    /// their logins with "Account is not fully set up").
    async fn ensure_user_profile(&mut self) -> Result<()> {
        let what = "user profile";
        let current: Value = self.get(&["users", "profile"], what).await?;
        let desired = primehub_user_profile(&current);
        if desired == current {
            self.note(
                false,
                "user profile (unmanaged attributes, optional names and e-mail)",
            );
            return Ok(());
        }
        self.call(Method::PUT, &["users", "profile"], Some(&desired), what)
            .await?;
        self.note(
            true,
            "user profile (unmanaged attributes, optional names and e-mail)",
        );
        Ok(())
    }

    /// The client's representation, if it exists (uncached lookup).
    async fn find_client(&self, client_id: &str) -> Result<Option<Value>> {
        let what = format!("client {client_id}");
        let clients: Vec<Value> = self
            .get_query(
                &["clients"],
                &[("clientId", client_id), ("search", "false")],
                &what,
                "client_id",
            )
            .await?;
        Ok(clients
            .into_iter()
            .find(|c| c.get("clientId").and_then(Value::as_str) == Some(client_id)))
    }

    /// Creates the client or brings the settings in `wanted` onto it; returns its UUID.
    async fn ensure_client(&mut self, client_id: &str, wanted: Value) -> Result<String> {
        let what = format!("client {client_id}");
        match self.find_client(client_id).await? {
            None => {
                let mut body = wanted;
                if let Value::Object(map) = &mut body {
                    map.insert("clientId".into(), json!(client_id));
                }
                let id = self
                    .call(Method::POST, &["clients"], Some(&body), &what)
                    .await?
                    .created_id()?;
                self.note(true, what);
                Ok(id)
            }
            Some(mut current) => {
                let id = current
                    .get("id")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| KeycloakError::Unexpected {
                        status: 200,
                        body: format!("{what} has no id"),
                    })?;
                let mut differs = false;
                if let (Value::Object(cur), Value::Object(want)) = (&mut current, wanted) {
                    for (key, value) in want {
                        if key == "protocolMappers" {
                            continue;
                        }
                        if cur.get(&key) != Some(&value) {
                            differs = true;
                            cur.insert(key, value);
                        }
                    }
                }
                if differs {
                    if let Value::Object(map) = &mut current {
                        map.remove("protocolMappers");
                    }
                    self.call(Method::PUT, &["clients", &id], Some(&current), &what)
                        .await?;
                    self.note(true, format!("{what} settings"));
                } else {
                    self.note(false, what);
                }
                Ok(id)
            }
        }
    }

    async fn client_secret(&self, uuid: &str, client_id: &str) -> Result<String> {
        let what = format!("client {client_id} secret");
        let secret: ClientSecret = self.get(&["clients", uuid, "client-secret"], &what).await?;
        Ok(secret.value)
    }

    /// Gives `user_id` the `realm-management/realm-admin` client role unless it already has it.
    async fn ensure_realm_admin(&mut self, user_id: &str, label: &str) -> Result<()> {
        let (rm_uuid, role) = self.kc.realm_admin_role_in(self.realm).await?;
        let what = format!("user {user_id}");
        let roles: Vec<Value> = self
            .get(
                &[
                    "users",
                    user_id,
                    "role-mappings",
                    "clients",
                    &rm_uuid,
                    "composite",
                ],
                &what,
            )
            .await?;
        let has = roles
            .iter()
            .any(|r| r.get("name").and_then(Value::as_str) == Some(REALM_ADMIN_ROLE));
        let note = format!("{label} holds {REALM_MANAGEMENT_CLIENT}/{REALM_ADMIN_ROLE}");
        if has {
            self.note(false, note);
        } else {
            self.call(
                Method::POST,
                &["users", user_id, "role-mappings", "clients", &rm_uuid],
                Some(&json!([role])),
                &what,
            )
            .await?;
            self.note(true, note);
        }
        Ok(())
    }

    async fn ensure_mappers(&mut self, uuid: &str, client_id: &str) -> Result<()> {
        let what = format!("client {client_id} protocol mappers");
        let existing: Vec<Value> = self
            .get(&["clients", uuid, "protocol-mappers", "models"], &what)
            .await?;
        for mapper in jupyterhub_mappers() {
            let name = mapper
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let label = format!("{client_id} mapper {name}");
            if existing
                .iter()
                .any(|m| m.get("name").and_then(Value::as_str) == Some(name))
            {
                self.note(false, label);
                continue;
            }
            self.call(
                Method::POST,
                &["clients", uuid, "protocol-mappers", "models"],
                Some(&mapper),
                &what,
            )
            .await?;
            self.note(true, label);
        }
        Ok(())
    }

    async fn ensure_everyone(&mut self) -> Result<String> {
        let what = format!("group {EVERYONE_GROUP}");
        let found: Vec<Group> = self
            .get_query(
                &["groups"],
                &[("search", EVERYONE_GROUP), ("exact", "true")],
                &what,
                "name",
            )
            .await?;
        let id = match found.into_iter().find(|g| g.name == EVERYONE_GROUP) {
            Some(group) => {
                self.note(false, &what);
                group.id
            }
            None => {
                let id = self
                    .call(
                        Method::POST,
                        &["groups"],
                        Some(&json!({ "name": EVERYONE_GROUP })),
                        &what,
                    )
                    .await?
                    .created_id()?;
                self.note(true, &what);
                id
            }
        };
        let defaults: Vec<Group> = self.get(&["default-groups"], "default groups").await?;
        let label = format!("default group {EVERYONE_GROUP}");
        if defaults.iter().any(|g| g.id == id) {
            self.note(false, label);
        } else {
            self.call(Method::PUT, &["default-groups", &id], None, &what)
                .await?;
            self.note(true, label);
        }
        Ok(id)
    }

    async fn ensure_admin_user(&mut self, admin: &AdminUser) -> Result<String> {
        let what = format!("user {}", admin.username);
        let found: Vec<User> = self
            .get_query(
                &["users"],
                &[("username", &admin.username), ("exact", "true")],
                &what,
                "username",
            )
            .await?;
        let id = match found
            .into_iter()
            .find(|u| u.username.eq_ignore_ascii_case(&admin.username))
        {
            Some(user) => {
                self.note(false, &what);
                user.id
            }
            None => {
                let body = json!({
                    "username": admin.username,
                    "enabled": true,
                    "credentials": [{ "type": "password", "value": admin.password, "temporary": false }],
                });
                let id = self
                    .call(Method::POST, &["users"], Some(&body), &what)
                    .await?
                    .created_id()?;
                self.note(true, &what);
                id
            }
        };
        self.ensure_realm_admin(&id, &what).await?;
        Ok(id)
    }
}

/// PrimeHub's `jupyterhub` protocol mappers (reference datamodel §3.1).
fn jupyterhub_mappers() -> Vec<Value> {
    fn claims(claim: &str, json_type: &str) -> serde_json::Map<String, Value> {
        let mut config = serde_json::Map::new();
        config.insert("claim.name".into(), json!(claim));
        config.insert("jsonType.label".into(), json!(json_type));
        config.insert("id.token.claim".into(), json!("true"));
        config.insert("access.token.claim".into(), json!("true"));
        config.insert("userinfo.token.claim".into(), json!("true"));
        config
    }
    fn attribute(name: &str, attribute: &str, claim: &str, json_type: &str) -> Value {
        let mut config = claims(claim, json_type);
        config.insert("user.attribute".into(), json!(attribute));
        json!({
            "name": name,
            "protocol": "openid-connect",
            "protocolMapper": "oidc-usermodel-attribute-mapper",
            "config": config,
        })
    }
    let mut roles = claims("roles", "String");
    roles.insert("multivalued".into(), json!("true"));
    let mut groups = claims("groups", "String");
    groups.insert("full.path".into(), json!("true"));
    vec![
        json!({
            "name": "realm roles",
            "protocol": "openid-connect",
            "protocolMapper": "oidc-usermodel-realm-role-mapper",
            "config": roles,
        }),
        attribute("quota-gpu", "quota-gpu", "quota.gpu", "int"),
        attribute(
            "project-quota-gpu",
            "project-quota-gpu",
            "project-quota.gpu",
            "int",
        ),
        attribute("username", "username", "preferred_username", "String"),
        attribute("email", "email", "email", "String"),
        json!({
            "name": "groups",
            "protocol": "openid-connect",
            "protocolMapper": "oidc-group-membership-mapper",
            "config": groups,
        }),
        attribute("timezone", "timezone", "timezone", "String"),
    ]
}

/// Brings `spec.realm` into PrimeHub's shape on the Keycloak that `master` administers (`master`
/// must hold master-realm admin credentials, for example [`Credentials::master_admin`]).
/// Idempotent: a second run creates nothing and returns the same secrets and ids.
///
/// [`Credentials::master_admin`]: crate::http::Credentials::master_admin
pub async fn bootstrap_realm(
    master: &HttpKeycloak,
    spec: &RealmBootstrap,
) -> Result<BootstrapOutcome> {
    spec.validate()?;
    master.forget_realm(&spec.realm);
    let mut run = Run {
        kc: master,
        realm: &spec.realm,
        created: Vec::new(),
        present: Vec::new(),
    };
    run.ensure_realm().await?;
    run.ensure_user_profile().await?;

    let admin_ui = run
        .ensure_client(
            ADMIN_UI_CLIENT,
            json!({
                "enabled": true,
                "protocol": "openid-connect",
                "publicClient": false,
                "clientAuthenticatorType": "client-secret",
                "serviceAccountsEnabled": true,
                "directAccessGrantsEnabled": true,
                "standardFlowEnabled": true,
                "redirectUris": spec.admin_ui_redirect_uris,
            }),
        )
        .await?;
    let admin_ui_client_secret = run.client_secret(&admin_ui, ADMIN_UI_CLIENT).await?;
    let service_account: User = run
        .get(
            &["clients", &admin_ui, "service-account-user"],
            "admin-ui service account",
        )
        .await?;
    run.ensure_realm_admin(&service_account.id, "admin-ui service account")
        .await?;

    let jupyterhub = run
        .ensure_client(
            JUPYTERHUB_CLIENT,
            json!({
                "enabled": true,
                "protocol": "openid-connect",
                "publicClient": false,
                "clientAuthenticatorType": "client-secret",
                "standardFlowEnabled": true,
                "redirectUris": spec.jupyterhub_redirect_uris,
            }),
        )
        .await?;
    run.ensure_mappers(&jupyterhub, JUPYTERHUB_CLIENT).await?;
    let jupyterhub_client_secret = run.client_secret(&jupyterhub, JUPYTERHUB_CLIENT).await?;

    let everyone_group_id = run.ensure_everyone().await?;
    let admin_user_id = match &spec.admin_user {
        Some(admin) => Some(run.ensure_admin_user(admin).await?),
        None => None,
    };

    Ok(BootstrapOutcome {
        realm: spec.realm.clone(),
        admin_ui_client_secret,
        jupyterhub_client_secret,
        everyone_group_id,
        admin_user_id,
        created: run.created,
        present: run.present,
    })
}

/// Deletes a realm (for tests that bootstrap throw-away realms). A missing realm is success.
pub async fn delete_realm(master: &HttpKeycloak, realm: &str) -> Result<()> {
    if realm.trim().is_empty() || realm == "master" {
        return Err(KeycloakError::invalid(
            "realm",
            "must be a non-master realm",
        ));
    }
    let what = format!("realm {realm}");
    let url = master.admin_url(realm, &[]);
    match master
        .send(
            Method::DELETE,
            url,
            None,
            &Ctx {
                what: &what,
                field: "realm",
            },
        )
        .await
    {
        Ok(_) | Err(KeycloakError::NotFound { .. }) => {
            master.forget_realm(realm);
            Ok(())
        }
        Err(other) => Err(other),
    }
}

/// `profile` with `unmanagedAttributePolicy: ENABLED` and no `required` rule on `email`,
/// `firstName` and `lastName`.
fn primehub_user_profile(profile: &Value) -> Value {
    let mut profile = profile.clone();
    if let Value::Object(map) = &mut profile {
        map.insert("unmanagedAttributePolicy".into(), json!("ENABLED"));
        if let Some(Value::Array(attributes)) = map.get_mut("attributes") {
            for attribute in attributes.iter_mut() {
                let optional = matches!(
                    attribute.get("name").and_then(Value::as_str),
                    Some("email" | "firstName" | "lastName")
                );
                if let (true, Value::Object(attribute)) = (optional, attribute) {
                    attribute.remove("required");
                }
            }
        }
    }
    profile
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_validation() {
        assert!(RealmBootstrap::new("primehub").validate().is_ok());
        assert!(RealmBootstrap::new("").validate().is_err());
        assert!(RealmBootstrap::new("master").validate().is_err());
        assert!(
            RealmBootstrap::new("primehub")
                .with_admin_user("phadmin", "")
                .validate()
                .is_err()
        );
    }

    #[test]
    fn mappers_cover_primehub_claims() {
        let mappers = jupyterhub_mappers();
        let claims: Vec<&str> = mappers
            .iter()
            .filter_map(|m| m.pointer("/config/claim.name").and_then(Value::as_str))
            .collect();
        for claim in [
            "roles",
            "quota.gpu",
            "project-quota.gpu",
            "preferred_username",
            "email",
            "groups",
            "timezone",
        ] {
            assert!(claims.contains(&claim), "missing claim {claim}");
        }
    }

    #[test]
    fn debug_redacts_secrets() {
        let spec = RealmBootstrap::new("r").with_admin_user("phadmin", "hunter2");
        assert!(!format!("{spec:?}").contains("hunter2"));
    }
}
