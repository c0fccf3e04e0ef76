//! Idempotent set-up of a PrimeHub realm, the same on a real Keycloak and on the fake.
//!
//! [`bootstrap_realm`] brings a realm into the shape PrimeHub's own bootstrap gives it — the
//! chart's `chart/scripts/bootstrap/bootstrap.sh` with `keycloak.inc`, `client-admin-ui.json`,
//! `client-jupyterhub.json`, `group-everyone.json` and `group-phusers.json` (InfuseAI/primehub)
//! — and reports what it created and what was already there. The fake Keycloak
//! (`FakeKeycloak::bootstrap_primehub`, feature `fake`) and `primehub dev` run **this same
//! code**, through the fake's admin REST face called in process, so there is one realm shape.
//!
//! # The shape
//!
//! Every run (each step only creates what is missing, like the upstream script's `kc_apply_*`
//! functions; existing settings are left alone):
//!
//! 1. the realm, enabled (`update_realm`), recording admin events with details
//!    (`adminEventsEnabled`, `adminEventsDetailsEnabled`: who changed what through the admin API;
//!    not in the upstream script — switched on in an existing realm too, the one change the
//!    bootstrap makes to a realm PrimeHub set up besides the user profile);
//! 2. the user profile with `unmanagedAttributePolicy: ENABLED` and `email`, `firstName`,
//!    `lastName` optional — not in the upstream script, which predates Keycloak 24: without it
//!    Keycloak 24+ silently drops PrimeHub's user attributes (`volumeCapacity`, `timezone`, …)
//!    and refuses logins of users created with a username only;
//! 3. the group `everyone` with the attributes of `group-everyone.json` — `displayName`
//!    `Global`, `quota-cpu` `0`, `quota-gpu` `0` — made a realm default group, both only when the
//!    group is created (`update_group_everyone`);
//! 4. the confidential client `admin-ui` as in `client-admin-ui.json`: service account,
//!    `fullScopeAllowed: false`, no protocol mappers (`update_client_admin_ui`); its service
//!    account holds the client role `realm-management/realm-admin` (`kc_apply_user_roles`), and
//!    its only scope mapping is that role (`kc_apply_client_scopes`), so its tokens carry
//!    `realm-management/realm-admin` and no realm roles — none of the thousands of `img:`/`it:`/
//!    `ds:` resource roles;
//! 5. the confidential client `jupyterhub` as in `client-jupyterhub.json`, with its protocol
//!    mappers added by name when missing (no duplicates): `roles` (realm roles, multivalued claim
//!    `roles`), `project-quota-gpu` and `quota-gpu` (user attributes, int claims
//!    `project-quota.gpu` and `quota.gpu`), `username` and `email` (user *property* mappers to
//!    `preferred_username` and `email`), `groups` (group membership with full path), `timezone`
//!    (user attribute); redirect URIs are added when missing (`update_client_jupyterhub`).
//!
//! Deviation in 4 and 5: both clients are created with direct access grants (the password
//! grant) enabled, which the upstream JSON files leave at Keycloak's default, so scripts, tests
//! and `primehub dev` can log in without a browser.
//!
//! On a realm **with no users** (a fresh install, `create_default_resources`):
//!
//! 6. the administrator (PrimeHub's `phadmin`) with e-mail `<username>@example.com`,
//!    `emailVerified`, enabled, the given password, and the client role
//!    `realm-management/realm-admin`;
//! 7. the group `phusers` (`displayName` "primehub users") with the administrator as member and
//!    as group admin (attribute `admins`);
//! 8. the realm roles `it:cpu-1`, `it:cpu-2`, `it:gpu-1`, `it:gpu-2`, `img:base-notebook`,
//!    `img:pytorch-1`, `img:tf-1`, `img:tf-2`, mapped onto `everyone` (global).
//!
//! Not done here: the maintenance-proxy client (PrimeHub's admin notebook, which we do not
//! ship), the `primehub` theme (only applied upstream when installed), the realm's frontend URL
//! and SSL setting (installation parameters), the CRDs and namespace labels (Kubernetes side).
//! The Kubernetes Secrets `primehub-client-admin-ui` and `primehub-client-jupyterhub` are
//! written from the [`BootstrapOutcome`] by
//! `primehub_reconcile::bootstrap::write_client_secrets` (`primehub bootstrap --kubeconfig`,
//! `primehub dev`).
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

use async_trait::async_trait;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::admin::{EVERYONE_GROUP, REALM_ADMIN_ROLE, REALM_MANAGEMENT_CLIENT};
use crate::error::{KeycloakError, Result};
use crate::http::{Ctx, HttpKeycloak, Reply};
use crate::representation::{Group, User};

/// The client id of PrimeHub's console/GraphQL client.
pub const ADMIN_UI_CLIENT: &str = "admin-ui";
/// The client id of PrimeHub's JupyterHub client.
pub const JUPYTERHUB_CLIENT: &str = "jupyterhub";
/// The group a fresh install puts its administrator in.
pub const PHUSERS_GROUP: &str = "phusers";
/// The instance types a fresh install makes global (`it:<name>` roles on `everyone`).
pub const DEFAULT_INSTANCE_TYPES: [&str; 4] = ["cpu-1", "cpu-2", "gpu-1", "gpu-2"];
/// The images a fresh install makes global (`img:<name>` roles on `everyone`).
pub const DEFAULT_IMAGES: [&str; 4] = ["base-notebook", "pytorch-1", "tf-1", "tf-2"];

/// What [`bootstrap_realm`] should set up.
#[derive(Clone, PartialEq, Eq)]
pub struct RealmBootstrap {
    /// The realm's name (PrimeHub's default is `primehub`).
    pub realm: String,
    /// Redirect URIs of `admin-ui` (the console's login), for example
    /// `https://hub.example.com/console/*`; added when missing. May be empty.
    pub admin_ui_redirect_uris: Vec<String>,
    /// Redirect URIs of `jupyterhub`, for example `https://hub.example.com/hub/oauth_callback`;
    /// added when missing. May be empty.
    pub jupyterhub_redirect_uris: Vec<String>,
    /// The administrator of a fresh install (PrimeHub's `phadmin`): created, with the
    /// fresh-install defaults, only when the realm has no users; otherwise only looked up.
    pub admin_user: Option<AdminUser>,
    /// The secret `admin-ui` gets when it is created (Keycloak generates one when `None`).
    pub admin_ui_secret: Option<String>,
    /// The secret `jupyterhub` gets when it is created (Keycloak generates one when `None`).
    pub jupyterhub_secret: Option<String>,
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
    /// Secrets are redacted.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RealmBootstrap")
            .field("realm", &self.realm)
            .field("admin_ui_redirect_uris", &self.admin_ui_redirect_uris)
            .field("jupyterhub_redirect_uris", &self.jupyterhub_redirect_uris)
            .field("admin_user", &self.admin_user)
            .finish_non_exhaustive()
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
            admin_ui_secret: None,
            jupyterhub_secret: None,
        }
    }

    /// Also set up this administrator on a fresh install (PrimeHub's `phadmin`).
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

    /// The redirect URIs PrimeHub's chart registers for a PrimeHub served at `url` (for
    /// example `https://hub.example.com`): `<url>/console/*` for `admin-ui` (the console's
    /// login) and `<url>/*` for `jupyterhub`. Replaces both lists.
    pub fn with_primehub_url(mut self, url: &str) -> RealmBootstrap {
        let url = url.trim_end_matches('/');
        self.admin_ui_redirect_uris = vec![format!("{url}/console/*")];
        self.jupyterhub_redirect_uris = vec![format!("{url}/*")];
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
        for (field, secret) in [
            ("admin_ui_secret", &self.admin_ui_secret),
            ("jupyterhub_secret", &self.jupyterhub_secret),
        ] {
            if secret.as_deref().is_some_and(|s| s.trim().is_empty()) {
                return Err(KeycloakError::invalid(field, "must not be empty"));
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
    /// The id of the administrator, when [`RealmBootstrap::admin_user`] was given and the user
    /// exists.
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

/// Keycloak's admin REST API under `<base>/admin/realms`, as the bootstrap calls it: the real
/// server through [`HttpKeycloak`], the fake through its router in process.
#[async_trait]
pub(crate) trait AdminRest: Send + Sync {
    /// Sends `method` to `<base>/admin/realms/<path…>?<query>` with a JSON `body`; a non-2xx
    /// answer is the mapped [`KeycloakError`] naming `ctx`.
    async fn call(
        &self,
        method: Method,
        path: &[&str],
        query: &[(&str, &str)],
        body: Option<&Value>,
        ctx: &Ctx<'_>,
    ) -> Result<Reply>;
}

#[async_trait]
impl AdminRest for HttpKeycloak {
    async fn call(
        &self,
        method: Method,
        path: &[&str],
        query: &[(&str, &str)],
        body: Option<&Value>,
        ctx: &Ctx<'_>,
    ) -> Result<Reply> {
        let mut segments = vec!["admin", "realms"];
        segments.extend_from_slice(path);
        let mut url = self.base_path_url(&segments);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        self.send(method, url, body, ctx).await
    }
}

#[derive(Deserialize)]
struct ClientSecret {
    value: String,
}

#[derive(Deserialize)]
struct RoleRef {
    id: String,
    name: String,
}

/// The record of one bootstrap run.
struct Run<'a> {
    api: &'a dyn AdminRest,
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

    /// Calls `segments` inside the realm.
    async fn call(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, &str)],
        body: Option<&Value>,
        what: &str,
    ) -> Result<Reply> {
        let mut path = vec![self.realm];
        path.extend_from_slice(segments);
        self.api
            .call(method, &path, query, body, &Ctx { what, field: what })
            .await
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
        what: &str,
    ) -> Result<T> {
        self.call(Method::GET, segments, query, None, what)
            .await?
            .json()
    }

    async fn post(&self, segments: &[&str], body: &Value, what: &str) -> Result<Reply> {
        self.call(Method::POST, segments, &[], Some(body), what)
            .await
    }

    async fn ensure_realm(&mut self) -> Result<()> {
        let what = format!("realm {}", self.realm);
        match self.get::<Value>(&[], &[], &what).await {
            Ok(realm) => {
                self.note(false, "realm");
                // Admin events (with details) record who changed what through the admin API.
                let on = |key: &str| realm.get(key).and_then(Value::as_bool) == Some(true);
                if on("adminEventsEnabled") && on("adminEventsDetailsEnabled") {
                    self.note(false, "admin events");
                } else {
                    let body =
                        json!({ "adminEventsEnabled": true, "adminEventsDetailsEnabled": true });
                    self.call(Method::PUT, &[], &[], Some(&body), &what).await?;
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
                self.api
                    .call(
                        Method::POST,
                        &[],
                        &[],
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

    /// PrimeHub's user profile on Keycloak 24+ (see the module docs).
    async fn ensure_user_profile(&mut self) -> Result<()> {
        let what = "user profile";
        let current: Value = self.get(&["users", "profile"], &[], what).await?;
        let desired = primehub_user_profile(&current);
        let label = "user profile (unmanaged attributes, optional names and e-mail)";
        if desired == current {
            self.note(false, label);
            return Ok(());
        }
        self.call(
            Method::PUT,
            &["users", "profile"],
            &[],
            Some(&desired),
            what,
        )
        .await?;
        self.note(true, label);
        Ok(())
    }

    /// The top-level group named `name`, if any.
    async fn find_group(&self, name: &str) -> Result<Option<Group>> {
        let what = format!("group {name}");
        let found: Vec<Group> = self
            .get(
                &["groups"],
                &[
                    ("search", name),
                    ("exact", "true"),
                    ("briefRepresentation", "false"),
                ],
                &what,
            )
            .await?;
        Ok(found.into_iter().find(|g| g.name == name))
    }

    /// `everyone` (`update_group_everyone`): created with `group-everyone.json`'s attributes and
    /// made a default group, only when missing.
    async fn ensure_everyone(&mut self) -> Result<String> {
        let what = format!("group {EVERYONE_GROUP}");
        if let Some(group) = self.find_group(EVERYONE_GROUP).await? {
            self.note(false, &what);
            return Ok(group.id);
        }
        let id = self
            .post(&["groups"], &everyone_group(), &what)
            .await?
            .created_id()?;
        self.note(true, &what);
        self.call(Method::PUT, &["default-groups", &id], &[], None, &what)
            .await?;
        self.note(true, format!("default group {EVERYONE_GROUP}"));
        Ok(id)
    }

    /// The client's representation (with its protocol mappers), if it exists.
    async fn find_client(&self, client_id: &str) -> Result<Option<Value>> {
        let what = format!("client {client_id}");
        let clients: Vec<Value> = self
            .get(
                &["clients"],
                &[("clientId", client_id), ("search", "false")],
                &what,
            )
            .await?;
        Ok(clients
            .into_iter()
            .find(|c| c.get("clientId").and_then(Value::as_str) == Some(client_id)))
    }

    /// `kc_apply_client`: creates the client from `template` when missing; then adds the
    /// template's protocol mappers missing by name, and the redirect URIs missing. Returns the
    /// client's UUID.
    async fn apply_client(
        &mut self,
        template: Value,
        redirect_uris: &[String],
        secret: Option<&str>,
    ) -> Result<String> {
        let client_id = template
            .get("clientId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let what = format!("client {client_id}");
        let found = self.find_client(&client_id).await?;
        let fresh = found.is_none();
        let current = match found {
            Some(current) => {
                self.note(false, &what);
                current
            }
            None => {
                let mut body = template.clone();
                if let Value::Object(map) = &mut body {
                    map.insert("redirectUris".into(), json!(redirect_uris));
                    if let Some(secret) = secret {
                        map.insert("secret".into(), json!(secret));
                    }
                }
                self.post(&["clients"], &body, &what).await?;
                self.note(true, &what);
                self.find_client(&client_id)
                    .await?
                    .ok_or_else(|| KeycloakError::not_found(&what))?
            }
        };
        let uuid = current
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| KeycloakError::Unexpected {
                status: 200,
                body: format!("{what} has no id"),
            })?;

        let existing: Vec<Value> = self
            .get(
                &["clients", &uuid, "protocol-mappers", "models"],
                &[],
                &what,
            )
            .await?;
        let wanted = template
            .get("protocolMappers")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for mapper in wanted {
            let name = mapper
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let label = format!("{client_id} mapper {name}");
            if existing
                .iter()
                .any(|m| m.get("name").and_then(Value::as_str) == Some(name))
            {
                if !fresh {
                    self.note(false, label);
                }
                continue;
            }
            self.post(
                &["clients", &uuid, "protocol-mappers", "models"],
                &mapper,
                &what,
            )
            .await?;
            self.note(true, label);
        }

        let mut uris: Vec<Value> = current
            .get("redirectUris")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let missing: Vec<&String> = redirect_uris
            .iter()
            .filter(|u| !uris.iter().any(|have| have.as_str() == Some(u.as_str())))
            .collect();
        if !missing.is_empty() {
            uris.extend(missing.iter().map(|u| json!(u)));
            let mut body = current.clone();
            if let Value::Object(map) = &mut body {
                map.remove("protocolMappers");
                map.insert("redirectUris".into(), Value::Array(uris));
            }
            self.call(Method::PUT, &["clients", &uuid], &[], Some(&body), &what)
                .await?;
            self.note(true, format!("{client_id} redirect URIs {missing:?}"));
        }
        Ok(uuid)
    }

    async fn client_secret(&self, uuid: &str, client_id: &str) -> Result<String> {
        let what = format!("client {client_id} secret");
        let secret: ClientSecret = self
            .get(&["clients", uuid, "client-secret"], &[], &what)
            .await?;
        Ok(secret.value)
    }

    /// `realm-management`'s UUID and its `realm-admin` role.
    async fn realm_admin_role(&self) -> Result<(String, RoleRef)> {
        let rm = self
            .find_client(REALM_MANAGEMENT_CLIENT)
            .await?
            .and_then(|c| c.get("id").and_then(Value::as_str).map(str::to_owned))
            .ok_or_else(|| KeycloakError::not_found(format!("client {REALM_MANAGEMENT_CLIENT}")))?;
        let what = format!("role {REALM_MANAGEMENT_CLIENT}/{REALM_ADMIN_ROLE}");
        let role: RoleRef = self
            .get(&["clients", &rm, "roles", REALM_ADMIN_ROLE], &[], &what)
            .await?;
        Ok((rm, role))
    }

    /// Gives `user_id` the `realm-management/realm-admin` client role unless it has it.
    async fn ensure_realm_admin(&mut self, user_id: &str, label: &str) -> Result<()> {
        let (rm, role) = self.realm_admin_role().await?;
        let what = format!("user {user_id}");
        let roles: Vec<RoleRef> = self
            .get(
                &["users", user_id, "role-mappings", "clients", &rm],
                &[],
                &what,
            )
            .await?;
        let note = format!("{label} holds {REALM_MANAGEMENT_CLIENT}/{REALM_ADMIN_ROLE}");
        if roles.iter().any(|r| r.name == REALM_ADMIN_ROLE) {
            self.note(false, note);
            return Ok(());
        }
        self.post(
            &["users", user_id, "role-mappings", "clients", &rm],
            &json!([{ "id": role.id, "name": role.name }]),
            &what,
        )
        .await?;
        self.note(true, note);
        Ok(())
    }

    /// `kc_apply_client_scopes`: the client's scope mapping to `realm-management/realm-admin`.
    async fn ensure_realm_admin_scope(&mut self, uuid: &str, client_id: &str) -> Result<()> {
        let (rm, role) = self.realm_admin_role().await?;
        let what = format!("client {client_id} scope mappings");
        let path = ["clients", uuid, "scope-mappings", "clients", rm.as_str()];
        let mapped: Vec<RoleRef> = self.get(&path, &[], &what).await?;
        let note = format!("{client_id} scope {REALM_MANAGEMENT_CLIENT}/{REALM_ADMIN_ROLE}");
        if mapped.iter().any(|r| r.name == REALM_ADMIN_ROLE) {
            self.note(false, note);
            return Ok(());
        }
        self.post(&path, &json!([{ "id": role.id, "name": role.name }]), &what)
            .await?;
        self.note(true, note);
        Ok(())
    }

    async fn find_user(&self, username: &str) -> Result<Option<User>> {
        let what = format!("user {username}");
        let found: Vec<User> = self
            .get(
                &["users"],
                &[("username", username), ("exact", "true")],
                &what,
            )
            .await?;
        Ok(found
            .into_iter()
            .find(|u| u.username.eq_ignore_ascii_case(username)))
    }

    /// Whether the realm has no users at all (service accounts do not count: Keycloak does not
    /// list them).
    async fn has_no_users(&self) -> Result<bool> {
        let users: Vec<Value> = self
            .get(&["users"], &[("first", "0"), ("max", "1")], "users")
            .await?;
        Ok(users.is_empty())
    }

    /// `create_default_resources` (only on a realm without users).
    async fn create_defaults(&mut self, admin: &AdminUser, everyone: &str) -> Result<String> {
        let what = format!("user {}", admin.username);
        let username = admin.username.to_lowercase();
        let body = json!({
            "username": username,
            "email": format!("{username}@example.com"),
            "emailVerified": true,
            "enabled": true,
            "credentials": [{ "type": "password", "value": admin.password, "temporary": false }],
        });
        let user_id = self.post(&["users"], &body, &what).await?.created_id()?;
        self.note(true, &what);

        let group = format!("group {PHUSERS_GROUP}");
        let phusers = match self.find_group(PHUSERS_GROUP).await? {
            Some(g) => {
                self.note(false, &group);
                g.id
            }
            None => {
                let body = json!({
                    "name": PHUSERS_GROUP,
                    "attributes": {
                        "displayName": ["primehub users"],
                        "admins": [username],
                    },
                });
                let id = self.post(&["groups"], &body, &group).await?.created_id()?;
                self.note(true, &group);
                id
            }
        };
        self.call(
            Method::PUT,
            &["users", &user_id, "groups", &phusers],
            &[],
            None,
            &what,
        )
        .await?;
        self.note(true, format!("{what} member of {PHUSERS_GROUP}"));
        self.ensure_realm_admin(&user_id, &what).await?;

        let roles: Vec<String> = DEFAULT_INSTANCE_TYPES
            .iter()
            .map(|it| format!("it:{it}"))
            .chain(DEFAULT_IMAGES.iter().map(|img| format!("img:{img}")))
            .collect();
        let mut refs = Vec::new();
        for name in &roles {
            let what = format!("role {name}");
            match self.get::<RoleRef>(&["roles", name], &[], &what).await {
                Ok(role) => refs.push(role),
                Err(KeycloakError::NotFound { .. }) => {
                    self.post(&["roles"], &json!({ "name": name }), &what)
                        .await?;
                    refs.push(self.get(&["roles", name], &[], &what).await?);
                }
                Err(other) => return Err(other),
            }
        }
        let body = Value::Array(
            refs.iter()
                .map(|r| json!({ "id": r.id, "name": r.name }))
                .collect(),
        );
        self.post(
            &["groups", everyone, "role-mappings", "realm"],
            &body,
            "group everyone",
        )
        .await?;
        self.note(true, format!("global roles {roles:?}"));
        Ok(user_id)
    }
}

/// `group-everyone.json`.
fn everyone_group() -> Value {
    json!({
        "name": EVERYONE_GROUP,
        "attributes": {
            "displayName": ["Global"],
            "quota-cpu": ["0"],
            "quota-gpu": ["0"],
        },
    })
}

/// `client-admin-ui.json` (plus direct access grants, see the module docs).
fn admin_ui_client() -> Value {
    json!({
        "clientId": ADMIN_UI_CLIENT,
        "enabled": true,
        "clientAuthenticatorType": "client-secret",
        "redirectUris": [],
        "webOrigins": [],
        "publicClient": false,
        "serviceAccountsEnabled": true,
        "directAccessGrantsEnabled": true,
        "protocol": "openid-connect",
        "fullScopeAllowed": false,
    })
}

/// `client-jupyterhub.json` (plus direct access grants, see the module docs).
fn jupyterhub_client() -> Value {
    json!({
        "clientId": JUPYTERHUB_CLIENT,
        "enabled": true,
        "clientAuthenticatorType": "client-secret",
        "redirectUris": [],
        "webOrigins": [],
        "publicClient": false,
        "directAccessGrantsEnabled": true,
        "protocol": "openid-connect",
        "protocolMappers": jupyterhub_protocol_mappers(),
    })
}

/// The protocol mappers of `client-jupyterhub.json`, in its order.
pub fn jupyterhub_protocol_mappers() -> Vec<Value> {
    fn mapper(name: &str, kind: &str, config: Value) -> Value {
        let mut full = json!({
            "userinfo.token.claim": "true",
            "id.token.claim": "true",
            "access.token.claim": "true",
        });
        if let (Some(full), Some(extra)) = (full.as_object_mut(), config.as_object()) {
            full.extend(extra.clone());
        }
        json!({
            "name": name,
            "protocol": "openid-connect",
            "protocolMapper": kind,
            "consentRequired": false,
            "config": full,
        })
    }
    let attribute = |name: &str, claim: &str, json_type: &str| {
        mapper(
            name,
            "oidc-usermodel-attribute-mapper",
            json!({"user.attribute": name, "claim.name": claim, "jsonType.label": json_type}),
        )
    };
    let property = |name: &str, claim: &str| {
        mapper(
            name,
            "oidc-usermodel-property-mapper",
            json!({"user.attribute": name, "claim.name": claim, "jsonType.label": "String"}),
        )
    };
    vec![
        mapper(
            "roles",
            "oidc-usermodel-realm-role-mapper",
            json!({"multivalued": "true", "claim.name": "roles", "jsonType.label": "String"}),
        ),
        attribute("project-quota-gpu", "project-quota.gpu", "int"),
        attribute("quota-gpu", "quota.gpu", "int"),
        property("username", "preferred_username"),
        property("email", "email"),
        mapper(
            "groups",
            "oidc-group-membership-mapper",
            json!({"full.path": "true", "claim.name": "groups"}),
        ),
        attribute("timezone", "timezone", "String"),
    ]
}

/// Runs the bootstrap over any [`AdminRest`] (the real server or the fake in process).
pub(crate) async fn run(api: &dyn AdminRest, spec: &RealmBootstrap) -> Result<BootstrapOutcome> {
    spec.validate()?;
    let mut run = Run {
        api,
        realm: &spec.realm,
        created: Vec::new(),
        present: Vec::new(),
    };
    run.ensure_realm().await?;
    run.ensure_user_profile().await?;
    let everyone_group_id = run.ensure_everyone().await?;

    let admin_ui = run
        .apply_client(
            admin_ui_client(),
            &spec.admin_ui_redirect_uris,
            spec.admin_ui_secret.as_deref(),
        )
        .await?;
    let service_account: User = run
        .get(
            &["clients", &admin_ui, "service-account-user"],
            &[],
            "admin-ui service account",
        )
        .await?;
    run.ensure_realm_admin(&service_account.id, "admin-ui service account")
        .await?;
    run.ensure_realm_admin_scope(&admin_ui, ADMIN_UI_CLIENT)
        .await?;
    let admin_ui_client_secret = run.client_secret(&admin_ui, ADMIN_UI_CLIENT).await?;

    let jupyterhub = run
        .apply_client(
            jupyterhub_client(),
            &spec.jupyterhub_redirect_uris,
            spec.jupyterhub_secret.as_deref(),
        )
        .await?;
    let jupyterhub_client_secret = run.client_secret(&jupyterhub, JUPYTERHUB_CLIENT).await?;

    let admin_user_id = match &spec.admin_user {
        Some(admin) if run.has_no_users().await? => {
            Some(run.create_defaults(admin, &everyone_group_id).await?)
        }
        Some(admin) => {
            let found = run.find_user(&admin.username).await?.map(|u| u.id);
            run.note(false, "fresh-install defaults (the realm has users)");
            found
        }
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

/// Brings `spec.realm` into PrimeHub's shape (see the module docs) on the Keycloak that
/// `master` administers (`master` must hold master-realm admin credentials, for example
/// [`Credentials::master_admin`]). Idempotent: a second run creates nothing and returns the same
/// secrets and ids.
///
/// [`Credentials::master_admin`]: crate::http::Credentials::master_admin
pub async fn bootstrap_realm(
    master: &HttpKeycloak,
    spec: &RealmBootstrap,
) -> Result<BootstrapOutcome> {
    master.forget_realm(&spec.realm);
    let outcome = run(master, spec).await;
    master.forget_realm(&spec.realm);
    outcome
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
    fn jupyterhub_mappers_are_upstreams() {
        let mappers = jupyterhub_protocol_mappers();
        let shape: Vec<(&str, &str, &str)> = mappers
            .iter()
            .map(|m| {
                (
                    m["name"].as_str().unwrap_or_default(),
                    m["protocolMapper"].as_str().unwrap_or_default(),
                    m.pointer("/config/claim.name")
                        .and_then(Value::as_str)
                        .unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(
            shape,
            [
                ("roles", "oidc-usermodel-realm-role-mapper", "roles"),
                (
                    "project-quota-gpu",
                    "oidc-usermodel-attribute-mapper",
                    "project-quota.gpu"
                ),
                ("quota-gpu", "oidc-usermodel-attribute-mapper", "quota.gpu"),
                (
                    "username",
                    "oidc-usermodel-property-mapper",
                    "preferred_username"
                ),
                ("email", "oidc-usermodel-property-mapper", "email"),
                ("groups", "oidc-group-membership-mapper", "groups"),
                ("timezone", "oidc-usermodel-attribute-mapper", "timezone"),
            ]
        );
    }

    #[test]
    fn debug_redacts_secrets() {
        let mut spec = RealmBootstrap::new("r").with_admin_user("phadmin", "hunter2");
        spec.admin_ui_secret = Some("s3cr3t".into());
        let shown = format!("{spec:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("s3cr3t"),
            "{shown}"
        );
    }
}
