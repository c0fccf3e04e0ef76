//! [`HttpKeycloak`]: the [`KeycloakAdmin`] trait against a real Keycloak (26.x) admin REST API.
//!
//! Every trait method is one or a few calls under `/admin/realms/{realm}/…`, authenticated with a
//! cached access token obtained by a client-credentials grant (PrimeHub's `admin-ui` service
//! account, [`Credentials::ClientCredentials`]) or a password grant (for example the master
//! realm's bootstrap admin through `admin-cli`, [`Credentials::Password`]).
//!
//! # Behaviour
//!
//! * **Tokens.** The access token is cached and refreshed before it expires (when less than
//!   30 s or a fifth of its lifetime is left; master-realm tokens live 60 s). Only one grant is in
//!   flight at a time: concurrent callers wait for it and reuse its token. A failed grant fails
//!   that call with [`KeycloakError::Unauthorized`] or [`KeycloakError::Transport`]; the next call
//!   tries again. Nothing panics or exits. A 401 from an admin call drops the token and repeats the
//!   call once with a new one. [`HttpKeycloak::token_grants`] counts grants.
//! * **Limits.** Each request has a timeout ([`HttpKeycloakConfig::request_timeout`], 10 s), at
//!   most [`HttpKeycloakConfig::max_concurrency`] (16) requests are in flight, and idempotent
//!   requests (GET, PUT, DELETE) are retried up to [`HttpKeycloakConfig::retries`] (3) times with
//!   exponential backoff (100 ms, 200 ms, 400 ms, plus jitter) on connect errors, timeouts and
//!   502/503/504. A POST that creates something is never retried (token grants, which create
//!   nothing, are retried like idempotent requests).
//! * **Errors.** 404 → [`NotFound`](KeycloakError::NotFound) naming the object (`user <id>`,
//!   `group <id>`, `role <name>`, `client <clientId>`); 409 → [`Conflict`](KeycloakError::Conflict)
//!   with Keycloak's message and the [`ConflictField`](crate::ConflictField) it names; 401 → `Unauthorized`; 403 → `Forbidden`; 400 →
//!   [`Invalid`](KeycloakError::Invalid) with Keycloak's message as the rule; anything else →
//!   [`Unexpected`](KeycloakError::Unexpected) with the body cut to 1 KiB.
//! * **TLS.** rustls with the *ring* provider passed explicitly (no process-wide default provider
//!   is installed or needed) and the platform's trust store (`rustls-platform-verifier`).
//!
//! # Keycloak requirements
//!
//! Keycloak 24+ manages user attributes through the declarative *user profile*: attributes the
//! profile does not declare — all of PrimeHub's (`volumeCapacity`, `timezone`, …) — are silently
//! **dropped** on write unless the realm's user profile has
//! `"unmanagedAttributePolicy": "ENABLED"` (`PUT /admin/realms/{realm}/users/profile`).
//! [`crate::bootstrap::bootstrap_realm`] sets it; an existing realm needs it set once.
//!
//! The service account needs the client role `realm-management/realm-admin` (or at least
//! `manage-users`, `view-users`, `manage-realm`, `view-clients`).
//!
//! # Why not the `keycloak` crate
//!
//! The `keycloak` crate (kilork/keycloak, 26.8.100 at the time of writing) is generated from
//! Keycloak's OpenAPI description and versioned after one Keycloak release (its major.minor follow
//! Keycloak's, so it tracks releases rather than a stable Rust API). It exposes the whole admin
//! API (20+ feature tags of generated methods with dozens of optional positional parameters each)
//! where PrimeHub needs about 30 calls, and it brings its own reqwest dependency and client
//! construction. We need things a generated binding does not give: a token cache with a single
//! in-flight refresh, retries only for idempotent calls, errors mapped onto
//! [`KeycloakError`] with the object named, exact-match post-filtering, and paging loops. Calling
//! the REST API directly with our own reqwest client (rustls + ring, chosen once for the
//! workspace) is less code than adapting the generated one, and keeps the endpoint list below
//! reviewable.
//!
//! # REST calls
//!
//! Paths are relative to `/admin/realms/{realm}`. "All pages" means a `first`/`max` loop with 500
//! per page, so realms with 15 000 groups work.
//!
//! | method | calls |
//! |---|---|
//! | `get_user` | `GET users/{id}` |
//! | `find_user_by_username` | `GET users?username=…&exact=true` (then exact, case-insensitive filter) |
//! | `find_user_by_email` | `GET users?email=…&exact=true` (same) |
//! | `search_users` | `GET users?search=*…*&first&max&briefRepresentation=false` (`*…*`: Keycloak's default search is a prefix match) |
//! | `count_users` | `GET users/count?search=*…*` |
//! | `create_user` | `POST users` (password as a non-temporary credential; id from `Location`) |
//! | `update_user` | `GET users/{id}`, then `PUT users/{id}` with the full representation changed |
//! | `delete_user` | `DELETE users/{id}` |
//! | `reset_password` | `PUT users/{id}/reset-password` |
//! | `search_groups` | `GET groups?search=…&first&max&briefRepresentation=false` |
//! | `count_groups` | `GET groups/count?search=…&top=true` (`{"count": n}`) |
//! | `get_group` | `GET groups/{id}` |
//! | `find_group_by_name` | `GET groups?search=…&exact=true&briefRepresentation=false` (then exact filter) |
//! | `create_group` | `POST groups` (id from `Location`) |
//! | `update_group` | `GET groups/{id}`, then `PUT groups/{id}` |
//! | `delete_group` | `DELETE groups/{id}` |
//! | `add_member` / `remove_member` | `PUT` / `DELETE users/{user}/groups/{group}` |
//! | `list_members` | `GET groups/{id}/members?first&max&briefRepresentation=false` |
//! | `user_groups` | `GET users/{id}/groups?briefRepresentation=false` (all pages) |
//! | `create_role` / `get_role` / `delete_role` | `POST roles` / `GET roles/{name}` / `DELETE roles/{name}` |
//! | `list_roles` | `GET roles?search=…&briefRepresentation=true` (all pages, prefix filter, then the page) or `GET roles?first&max` |
//! | `add_group_roles` / `remove_group_roles` | `GET roles/{name}` per role, then `POST` / `DELETE groups/{id}/role-mappings/realm` with `[{id,name}]` |
//! | `list_group_roles` | `GET groups/{id}/role-mappings/realm` |
//! | `is_admin` | `GET clients?clientId=realm-management` (cached), `GET users/{id}/role-mappings/clients/{uuid}/composite` |
//! | `set_admin` | `GET clients/{uuid}/roles/realm-admin` (cached), `POST` / `DELETE users/{id}/role-mappings/clients/{uuid}` |
//! | `admin_user_ids` | `GET clients?clientId=realm-management` (cached), `GET clients/{uuid}/roles/realm-admin/users?briefRepresentation=true` (all pages) |
//! | `default_groups` | `GET default-groups`, then `GET groups/{id}` each (for attributes) |
//! | `add_default_group` / `remove_default_group` | `PUT` / `DELETE default-groups/{id}` |
//! | `offline_sessions` | `GET clients?clientId=…` (cached), `GET users/{id}/offline-sessions/{uuid}` |
//! | `revoke_offline_sessions` | `DELETE users/{id}/consents/{clientId}` (a "nothing to revoke" 404 is success; `GET users/{id}` tells it from a missing user) |
//! | `user_realm_roles` / `effective_user_realm_roles` | `GET users/{id}/role-mappings/realm` / `GET users/{id}/role-mappings/realm/composite` |
//! | `add_user_roles` / `remove_user_roles` | `GET roles/{name}` per role, then `POST` / `DELETE users/{id}/role-mappings/realm` |
//! | `execute_actions_email` | `PUT users/{id}/execute-actions-email?lifespan&client_id&redirect_uri` with the actions as a JSON array |
//! | `user_credentials` | `GET users/{id}/credentials` |
//! | `remove_totp` | `GET users/{id}/credentials`, then `DELETE users/{id}/credentials/{credentialId}` per `otp` credential (Keycloak 26 has no `remove-totp`) |
//! | `realm_settings` / `update_realm_settings` | `GET` / `PUT` (partial) the realm representation `/admin/realms/{realm}` |
//! | `client_secret` | `GET clients?clientId=…` (cached), `GET clients/{uuid}/client-secret` |
//! | `admin_events` | `GET admin-events?dateFrom=<epoch ms>&operationTypes&resourceTypes&first&max` |
//! | `create_subgroup` | `POST groups/{parent}/children` (id from `Location`) |
//! | `list_subgroups` | `GET groups/{parent}/children?first&max&briefRepresentation=false` |
//! | `move_group` | `GET groups/{id}`, then `POST groups/{parent}/children` (or `POST groups` to the top level) with `{id, name}` |
//! | `find_group_by_path` | `GET group-by-path/{path}` (a 404 is `None`; a name containing `/` cannot be addressed) |
//! | `update_role` | `GET roles/{name}`, then `PUT roles/{name}` with the representation changed |
//! | `role_users` / `role_groups` | `GET roles/{name}/users` / `GET roles/{name}/groups` with `first&max&briefRepresentation=false` |
//! | `available_user_realm_roles` | `GET users/{id}/role-mappings/realm/available` |
//! | `client_scope_mappings` | `GET clients?clientId=…` (cached), `GET clients/{uuid}/scope-mappings` |

mod session;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

use crate::admin::{KeycloakAdmin, REALM_ADMIN_ROLE, REALM_MANAGEMENT_CLIENT};
use crate::error::{KeycloakError, Result};
use crate::representation::{
    AdminEvent, AdminEventQuery, ClientScopeMappings, CompositeRoles, Credential,
    ExecuteActionsEmail, Group, GroupUpdate, NewGroup, NewUser, OTP_CREDENTIAL, OfflineSession,
    Page, RealmSettings, RealmSettingsUpdate, Role, RoleUpdate, User, UserUpdate,
    execute_actions_email_field,
};
use session::Session;
#[cfg(feature = "fake")]
pub(crate) use session::map_status;
pub(crate) use session::{Ctx, Reply};

/// Page size of the internal "fetch everything" loops.
const FETCH_ALL_PAGE: u32 = 500;

/// How [`HttpKeycloak`] obtains its access token.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// OAuth client-credentials grant of a confidential client with a service account
    /// (PrimeHub's `admin-ui`).
    ClientCredentials {
        /// The realm whose token endpoint issues the token (the client's realm).
        token_realm: String,
        /// The client's `clientId`.
        client_id: String,
        /// The client's secret.
        client_secret: String,
    },
    /// Resource-owner password grant (for example the master realm's admin through `admin-cli`).
    Password {
        /// The realm whose token endpoint issues the token (usually `master`).
        token_realm: String,
        /// A public client allowing direct access grants (usually `admin-cli`).
        client_id: String,
        /// The user's name.
        username: String,
        /// The user's password.
        password: String,
    },
}

impl Credentials {
    /// The master realm's administrator through `admin-cli` (what the bootstrap uses).
    pub fn master_admin(username: impl Into<String>, password: impl Into<String>) -> Credentials {
        Credentials::Password {
            token_realm: "master".into(),
            client_id: "admin-cli".into(),
            username: username.into(),
            password: password.into(),
        }
    }

    /// A service-account client of `realm` (for example PrimeHub's `admin-ui`).
    pub fn client(
        realm: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Credentials {
        Credentials::ClientCredentials {
            token_realm: realm.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
        }
    }

    fn validate(&self) -> Result<()> {
        let fields: [(&str, &str); 3] = match self {
            Credentials::ClientCredentials {
                token_realm,
                client_id,
                client_secret,
            } => [
                ("credentials.token_realm", token_realm),
                ("credentials.client_id", client_id),
                ("credentials.client_secret", client_secret),
            ],
            Credentials::Password {
                token_realm,
                client_id,
                username,
                password,
            } => {
                if password.is_empty() {
                    return Err(KeycloakError::invalid(
                        "credentials.password",
                        "must not be empty",
                    ));
                }
                [
                    ("credentials.token_realm", token_realm),
                    ("credentials.client_id", client_id),
                    ("credentials.username", username),
                ]
            }
        };
        for (field, value) in fields {
            if value.trim().is_empty() {
                return Err(KeycloakError::invalid(field, "must not be empty"));
            }
        }
        Ok(())
    }
}

impl std::fmt::Debug for Credentials {
    /// Secrets and passwords are redacted.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::ClientCredentials {
                token_realm,
                client_id,
                ..
            } => f
                .debug_struct("ClientCredentials")
                .field("token_realm", token_realm)
                .field("client_id", client_id)
                .field("client_secret", &"<redacted>")
                .finish(),
            Credentials::Password {
                token_realm,
                client_id,
                username,
                ..
            } => f
                .debug_struct("Password")
                .field("token_realm", token_realm)
                .field("client_id", client_id)
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
        }
    }
}

/// Configuration of an [`HttpKeycloak`].
#[derive(Debug, Clone)]
pub struct HttpKeycloakConfig {
    /// Keycloak's base URL, for example `https://id.example.com` (or `…/auth` for a Keycloak
    /// served under `/auth`); `http` or `https`.
    pub base_url: Url,
    /// The realm administered (PrimeHub's is usually `primehub`).
    pub realm: String,
    /// How to obtain the access token.
    pub credentials: Credentials,
    /// Timeout of each HTTP request, connect to last body byte (default 10 s).
    pub request_timeout: Duration,
    /// Maximum number of requests in flight (default 16).
    pub max_concurrency: usize,
    /// Retries of an idempotent request after a connect error, timeout or 502/503/504 (default 3).
    pub retries: u32,
}

impl HttpKeycloakConfig {
    /// A configuration with the default timeout, concurrency and retries.
    pub fn new(base_url: Url, realm: impl Into<String>, credentials: Credentials) -> Self {
        HttpKeycloakConfig {
            base_url,
            realm: realm.into(),
            credentials,
            request_timeout: Duration::from_secs(10),
            max_concurrency: 16,
            retries: 3,
        }
    }

    /// Checks every field; the error names the field and the rule.
    pub fn validate(&self) -> Result<()> {
        if !matches!(self.base_url.scheme(), "http" | "https") {
            return Err(KeycloakError::invalid(
                "base_url",
                "scheme must be http or https",
            ));
        }
        if self.base_url.cannot_be_a_base() || self.base_url.host().is_none() {
            return Err(KeycloakError::invalid(
                "base_url",
                "must be an absolute URL with a host",
            ));
        }
        if self.base_url.query().is_some() || self.base_url.fragment().is_some() {
            return Err(KeycloakError::invalid(
                "base_url",
                "must not have a query or fragment",
            ));
        }
        if self.realm.trim().is_empty() {
            return Err(KeycloakError::invalid("realm", "must not be empty"));
        }
        if self.request_timeout.is_zero() {
            return Err(KeycloakError::invalid(
                "request_timeout",
                "must be positive",
            ));
        }
        if self.max_concurrency == 0 {
            return Err(KeycloakError::invalid(
                "max_concurrency",
                "must be at least 1",
            ));
        }
        self.credentials.validate()
    }
}

/// The [`KeycloakAdmin`] implementation over Keycloak's admin REST API. Cheap to clone (clones
/// share the token, the connection pool and the concurrency limit).
#[derive(Clone)]
pub struct HttpKeycloak {
    inner: Arc<Inner>,
}

struct Inner {
    realm: String,
    session: Session,
    /// `clientId` → client UUID, per realm.
    client_uuids: std::sync::Mutex<HashMap<(String, String), String>>,
    /// The `realm-admin` role of `realm-management`, per realm.
    realm_admin_role: std::sync::Mutex<HashMap<String, Value>>,
}

impl std::fmt::Debug for HttpKeycloak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpKeycloak")
            .field("realm", &self.inner.realm)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Count {
    count: u64,
}

#[derive(Deserialize)]
struct ClientRef {
    id: String,
    #[serde(rename = "clientId")]
    client_id: String,
}

fn ctx<'a>(what: &'a str, field: &'a str) -> Ctx<'a> {
    Ctx { what, field }
}

fn page_query(page: Page) -> [(&'static str, String); 2] {
    [
        ("first", page.first.to_string()),
        ("max", page.max.to_string()),
    ]
}

/// Keycloak's user search is a prefix match by default; `*s*` makes it a substring match.
fn user_search(search: &str) -> String {
    format!("*{search}*")
}

impl HttpKeycloak {
    /// Validates the configuration and builds the client (no request is made yet).
    pub fn new(config: HttpKeycloakConfig) -> Result<HttpKeycloak> {
        config.validate()?;
        let session = Session::new(&config)?;
        Ok(HttpKeycloak {
            inner: Arc::new(Inner {
                realm: config.realm,
                session,
                client_uuids: std::sync::Mutex::new(HashMap::new()),
                realm_admin_role: std::sync::Mutex::new(HashMap::new()),
            }),
        })
    }

    /// How many token grants have succeeded since this client was built (a metric, and a way to
    /// check that concurrent callers share one refresh).
    pub fn token_grants(&self) -> u64 {
        self.inner.session.grants()
    }

    /// Marks the cached access token as due for refresh: the next call fetches a new one. Useful
    /// after rotating the client secret or changing the service account's roles.
    pub async fn expire_token(&self) {
        self.inner.session.expire_token().await;
    }

    // ----- crate-internal plumbing (also used by the bootstrap) -----

    /// `<base>/admin/realms/<realm>/<segments…>`.
    pub(crate) fn admin_url(&self, realm: &str, segments: &[&str]) -> Url {
        let mut all = vec!["admin", "realms", realm];
        all.extend_from_slice(segments);
        self.inner.session.url(&all)
    }

    /// `<base>/<segments…>` (for realm-independent admin paths such as `admin/realms`).
    pub(crate) fn base_path_url(&self, segments: &[&str]) -> Url {
        self.inner.session.url(segments)
    }

    /// Sends one admin request.
    pub(crate) async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        ctx: &Ctx<'_>,
    ) -> Result<Reply> {
        self.inner.session.send(method, url, body, ctx).await
    }

    fn url(&self, segments: &[&str]) -> Url {
        self.admin_url(&self.inner.realm, segments)
    }

    fn url_q(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.url(segments);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: Url, c: &Ctx<'_>) -> Result<T> {
        self.send(Method::GET, url, None, c).await?.json()
    }

    /// GETs every page of a list endpoint (`first`/`max` appended to `query`).
    pub(crate) async fn get_all<T: serde::de::DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
        c: &Ctx<'_>,
    ) -> Result<Vec<T>> {
        self.get_all_in(&self.inner.realm.clone(), segments, query, c)
            .await
    }

    /// [`get_all`](Self::get_all) in another realm.
    pub(crate) async fn get_all_in<T: serde::de::DeserializeOwned>(
        &self,
        realm: &str,
        segments: &[&str],
        query: &[(&str, &str)],
        c: &Ctx<'_>,
    ) -> Result<Vec<T>> {
        let mut all = Vec::new();
        let mut page = Page::first(FETCH_ALL_PAGE);
        loop {
            let mut url = self.admin_url(realm, segments);
            url.query_pairs_mut()
                .extend_pairs(query)
                .extend_pairs(page_query(page));
            let batch: Vec<T> = self.get_json(url, c).await?;
            let full = batch.len() >= page.max as usize;
            all.extend(batch);
            if !full {
                return Ok(all);
            }
            page = page.next();
        }
    }

    /// The UUID of the client with this `clientId` in `realm` (cached).
    pub(crate) async fn client_uuid_in(&self, realm: &str, client_id: &str) -> Result<String> {
        let key = (realm.to_owned(), client_id.to_owned());
        if let Some(uuid) = self.lock_uuids().get(&key) {
            return Ok(uuid.clone());
        }
        let what = format!("client {client_id}");
        let mut url = self.admin_url(realm, &["clients"]);
        url.query_pairs_mut()
            .append_pair("clientId", client_id)
            .append_pair("search", "false");
        let clients: Vec<ClientRef> = self.get_json(url, &ctx(&what, "client_id")).await?;
        let uuid = clients
            .into_iter()
            .find(|c| c.client_id == client_id)
            .map(|c| c.id)
            .ok_or_else(|| KeycloakError::not_found(&what))?;
        self.lock_uuids().insert(key, uuid.clone());
        Ok(uuid)
    }

    /// Forgets cached client UUIDs and roles of `realm` (the bootstrap may have just created it).
    pub(crate) fn forget_realm(&self, realm: &str) {
        self.lock_uuids().retain(|(r, _), _| r != realm);
        self.inner
            .realm_admin_role
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(realm);
    }

    fn lock_uuids(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), String>> {
        self.inner
            .client_uuids
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn client_uuid(&self, client_id: &str) -> Result<String> {
        let realm = self.inner.realm.clone();
        self.client_uuid_in(&realm, client_id).await
    }

    /// `{id, name, …}` of `realm-management`'s `realm-admin` role in `realm` (cached).
    pub(crate) async fn realm_admin_role_in(&self, realm: &str) -> Result<(String, Value)> {
        let uuid = self.client_uuid_in(realm, REALM_MANAGEMENT_CLIENT).await?;
        let cached = self
            .inner
            .realm_admin_role
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(realm)
            .cloned();
        if let Some(role) = cached {
            return Ok((uuid, role));
        }
        let what = format!("role {REALM_MANAGEMENT_CLIENT}/{REALM_ADMIN_ROLE}");
        let role: Value = self
            .get_json(
                self.admin_url(realm, &["clients", &uuid, "roles", REALM_ADMIN_ROLE]),
                &ctx(&what, "role"),
            )
            .await?;
        self.inner
            .realm_admin_role
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(realm.to_owned(), role.clone());
        Ok((uuid, role))
    }

    /// Resolves realm role names to `{id, name}` (all of them, before anything is changed).
    async fn resolve_roles(&self, roles: &[String]) -> Result<Vec<Value>> {
        let mut resolved = Vec::with_capacity(roles.len());
        for name in roles {
            let role = self.get_role(name).await?;
            resolved.push(json!({ "id": role.id, "name": role.name }));
        }
        Ok(resolved)
    }

    /// A 404 on a user × group call: Keycloak's message says which one is missing.
    fn member_not_found(err: KeycloakError, user_id: &str, group_id: &str) -> KeycloakError {
        match err {
            KeycloakError::NotFound { .. } => {
                KeycloakError::not_found(format!("user {user_id} or group {group_id}"))
            }
            other => other,
        }
    }

    async fn member_call(&self, method: Method, group_id: &str, user_id: &str) -> Result<()> {
        // Check the group first so a 404 names the right object.
        let group_what = format!("group {group_id}");
        self.send(
            Method::GET,
            self.url_q(&["groups", group_id], &[]),
            None,
            &ctx(&group_what, "group_id"),
        )
        .await?;
        let what = format!("user {user_id}");
        self.send(
            method,
            self.url(&["users", user_id, "groups", group_id]),
            None,
            &ctx(&what, "user_id"),
        )
        .await
        .map_err(|e| match e {
            KeycloakError::NotFound { .. } => KeycloakError::not_found(&what),
            other => Self::member_not_found(other, user_id, group_id),
        })?;
        Ok(())
    }
}

fn sorted_users(mut users: Vec<User>) -> Vec<User> {
    users.sort_by(|a, b| a.username.cmp(&b.username));
    users
}

fn sorted_groups(mut groups: Vec<Group>) -> Vec<Group> {
    groups.sort_by(|a, b| a.name.cmp(&b.name));
    groups
}

fn sorted_roles(mut roles: Vec<Role>) -> Vec<Role> {
    roles.sort_by(|a, b| a.name.cmp(&b.name));
    roles
}

fn set_field(object: &mut Value, key: &str, value: Value) {
    if let Value::Object(map) = object {
        map.insert(key.to_owned(), value);
    }
}

#[async_trait]
impl KeycloakAdmin for HttpKeycloak {
    fn realm(&self) -> &str {
        &self.inner.realm
    }

    // ----- users -----

    async fn get_user(&self, id: &str) -> Result<User> {
        let what = format!("user {id}");
        self.get_json(self.url(&["users", id]), &ctx(&what, "id"))
            .await
    }

    async fn find_user_by_username(&self, username: &str) -> Result<Option<User>> {
        let what = format!("username {username}");
        let users: Vec<User> = self
            .get_json(
                self.url_q(
                    &["users"],
                    &[
                        ("username", username),
                        ("exact", "true"),
                        ("briefRepresentation", "false"),
                    ],
                ),
                &ctx(&what, "username"),
            )
            .await?;
        Ok(users
            .into_iter()
            .find(|u| u.username.eq_ignore_ascii_case(username)))
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>> {
        let what = format!("email {email}");
        let users: Vec<User> = self
            .get_json(
                self.url_q(
                    &["users"],
                    &[
                        ("email", email),
                        ("exact", "true"),
                        ("briefRepresentation", "false"),
                    ],
                ),
                &ctx(&what, "email"),
            )
            .await?;
        Ok(users.into_iter().find(|u| {
            u.email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(email))
        }))
    }

    async fn search_users<'a>(&self, search: Option<&'a str>, page: Page) -> Result<Vec<User>> {
        let mut url = self.url_q(&["users"], &[("briefRepresentation", "false")]);
        if let Some(search) = search {
            url.query_pairs_mut()
                .append_pair("search", &user_search(search));
        }
        url.query_pairs_mut().extend_pairs(page_query(page));
        let users: Vec<User> = self.get_json(url, &ctx("users", "search")).await?;
        Ok(sorted_users(users))
    }

    async fn count_users<'a>(&self, search: Option<&'a str>) -> Result<u64> {
        let mut url = self.url(&["users", "count"]);
        if let Some(search) = search {
            url.query_pairs_mut()
                .append_pair("search", &user_search(search));
        }
        self.get_json(url, &ctx("users", "search")).await
    }

    async fn create_user(&self, user: &NewUser) -> Result<String> {
        if user.username.trim().is_empty() {
            return Err(KeycloakError::invalid("username", "must not be empty"));
        }
        let mut body = json!({
            "username": user.username,
            "enabled": user.enabled,
            "attributes": user.attributes,
        });
        if let Some(email) = &user.email {
            set_field(&mut body, "email", json!(email));
        }
        if let Some(first) = &user.first_name {
            set_field(&mut body, "firstName", json!(first));
        }
        if let Some(last) = &user.last_name {
            set_field(&mut body, "lastName", json!(last));
        }
        if let Some(password) = &user.password {
            set_field(
                &mut body,
                "credentials",
                json!([{ "type": "password", "value": password, "temporary": false }]),
            );
        }
        let what = format!("user {}", user.username);
        self.send(
            Method::POST,
            self.url(&["users"]),
            Some(&body),
            &ctx(&what, "user"),
        )
        .await?
        .created_id()
    }

    async fn update_user(&self, id: &str, update: &UserUpdate) -> Result<()> {
        let what = format!("user {id}");
        let c = ctx(&what, "user");
        let mut current: Value = self.get_json(self.url(&["users", id]), &c).await?;
        if let Some(email) = &update.email {
            set_field(&mut current, "email", json!(email));
        }
        if let Some(first) = &update.first_name {
            set_field(&mut current, "firstName", json!(first));
        }
        if let Some(last) = &update.last_name {
            set_field(&mut current, "lastName", json!(last));
        }
        if let Some(enabled) = update.enabled {
            set_field(&mut current, "enabled", json!(enabled));
        }
        if let Some(attributes) = &update.attributes {
            set_field(&mut current, "attributes", json!(attributes));
        }
        self.send(Method::PUT, self.url(&["users", id]), Some(&current), &c)
            .await?;
        Ok(())
    }

    async fn delete_user(&self, id: &str) -> Result<()> {
        let what = format!("user {id}");
        self.send(
            Method::DELETE,
            self.url(&["users", id]),
            None,
            &ctx(&what, "id"),
        )
        .await?;
        Ok(())
    }

    async fn reset_password(&self, id: &str, password: &str, temporary: bool) -> Result<()> {
        let what = format!("user {id}");
        let body = json!({ "type": "password", "value": password, "temporary": temporary });
        self.send(
            Method::PUT,
            self.url(&["users", id, "reset-password"]),
            Some(&body),
            &ctx(&what, "password"),
        )
        .await?;
        Ok(())
    }

    // ----- groups -----

    async fn search_groups<'a>(&self, search: Option<&'a str>, page: Page) -> Result<Vec<Group>> {
        let mut url = self.url_q(&["groups"], &[("briefRepresentation", "false")]);
        if let Some(search) = search {
            url.query_pairs_mut().append_pair("search", search);
        }
        url.query_pairs_mut().extend_pairs(page_query(page));
        let groups: Vec<Group> = self.get_json(url, &ctx("groups", "search")).await?;
        Ok(sorted_groups(groups))
    }

    async fn count_groups<'a>(&self, search: Option<&'a str>) -> Result<u64> {
        let mut url = self.url_q(&["groups", "count"], &[("top", "true")]);
        if let Some(search) = search {
            url.query_pairs_mut().append_pair("search", search);
        }
        let count: Count = self.get_json(url, &ctx("groups", "search")).await?;
        Ok(count.count)
    }

    async fn get_group(&self, id: &str) -> Result<Group> {
        let what = format!("group {id}");
        self.get_json(self.url(&["groups", id]), &ctx(&what, "id"))
            .await
    }

    async fn find_group_by_name(&self, name: &str) -> Result<Option<Group>> {
        let what = format!("group {name}");
        let groups: Vec<Group> = self
            .get_all(
                &["groups"],
                &[
                    ("search", name),
                    ("exact", "true"),
                    ("briefRepresentation", "false"),
                ],
                &ctx(&what, "name"),
            )
            .await?;
        Ok(groups.into_iter().find(|g| g.name == name))
    }

    async fn create_group(&self, group: &NewGroup) -> Result<String> {
        if group.name.trim().is_empty() {
            return Err(KeycloakError::invalid("name", "must not be empty"));
        }
        let body = json!({ "name": group.name, "attributes": group.attributes });
        let what = format!("group {}", group.name);
        self.send(
            Method::POST,
            self.url(&["groups"]),
            Some(&body),
            &ctx(&what, "group"),
        )
        .await?
        .created_id()
    }

    async fn update_group(&self, id: &str, update: &GroupUpdate) -> Result<()> {
        let what = format!("group {id}");
        let c = ctx(&what, "group");
        let mut current: Value = self.get_json(self.url(&["groups", id]), &c).await?;
        if let Some(name) = &update.name {
            if name.trim().is_empty() {
                return Err(KeycloakError::invalid("name", "must not be empty"));
            }
            set_field(&mut current, "name", json!(name));
        }
        if let Some(attributes) = &update.attributes {
            set_field(&mut current, "attributes", json!(attributes));
        }
        if let Value::Object(map) = &mut current {
            // Sub-groups are managed through their own endpoints; do not echo them back.
            map.remove("subGroups");
        }
        self.send(Method::PUT, self.url(&["groups", id]), Some(&current), &c)
            .await?;
        Ok(())
    }

    async fn delete_group(&self, id: &str) -> Result<()> {
        let what = format!("group {id}");
        self.send(
            Method::DELETE,
            self.url(&["groups", id]),
            None,
            &ctx(&what, "id"),
        )
        .await?;
        Ok(())
    }

    async fn add_member(&self, group_id: &str, user_id: &str) -> Result<()> {
        self.member_call(Method::PUT, group_id, user_id).await
    }

    async fn remove_member(&self, group_id: &str, user_id: &str) -> Result<()> {
        self.member_call(Method::DELETE, group_id, user_id).await
    }

    async fn list_members(&self, group_id: &str, page: Page) -> Result<Vec<User>> {
        let what = format!("group {group_id}");
        let mut url = self.url_q(
            &["groups", group_id, "members"],
            &[("briefRepresentation", "false")],
        );
        url.query_pairs_mut().extend_pairs(page_query(page));
        let users: Vec<User> = self.get_json(url, &ctx(&what, "group_id")).await?;
        Ok(sorted_users(users))
    }

    async fn user_groups(&self, user_id: &str) -> Result<Vec<Group>> {
        let what = format!("user {user_id}");
        let groups: Vec<Group> = self
            .get_all(
                &["users", user_id, "groups"],
                &[("briefRepresentation", "false")],
                &ctx(&what, "user_id"),
            )
            .await?;
        Ok(sorted_groups(groups))
    }

    // ----- subgroups -----

    async fn create_subgroup(&self, parent_id: &str, group: &NewGroup) -> Result<String> {
        if group.name.trim().is_empty() {
            return Err(KeycloakError::invalid("name", "must not be empty"));
        }
        let body = json!({ "name": group.name, "attributes": group.attributes });
        let what = format!("group {parent_id}");
        self.send(
            Method::POST,
            self.url(&["groups", parent_id, "children"]),
            Some(&body),
            &ctx(&what, "group"),
        )
        .await?
        .created_id()
    }

    async fn list_subgroups(&self, parent_id: &str, page: Page) -> Result<Vec<Group>> {
        let what = format!("group {parent_id}");
        let mut url = self.url_q(
            &["groups", parent_id, "children"],
            &[("briefRepresentation", "false")],
        );
        url.query_pairs_mut().extend_pairs(page_query(page));
        let groups: Vec<Group> = self.get_json(url, &ctx(&what, "parent_id")).await?;
        Ok(sorted_groups(groups))
    }

    async fn move_group<'a>(&self, group_id: &str, parent_id: Option<&'a str>) -> Result<()> {
        // Keycloak wants the group's name in the body (and names it in a clash).
        let group = self.get_group(group_id).await?;
        let body = json!({ "id": group.id, "name": group.name });
        let (url, what) = match parent_id {
            Some(parent) => (
                self.url(&["groups", parent, "children"]),
                format!("group {parent}"),
            ),
            None => (self.url(&["groups"]), format!("group {group_id}")),
        };
        self.send(Method::POST, url, Some(&body), &ctx(&what, "parent_id"))
            .await?;
        Ok(())
    }

    async fn find_group_by_path(&self, path: &str) -> Result<Option<Group>> {
        let what = format!("group path {path}");
        let mut segments = vec!["group-by-path"];
        segments.extend(path.split('/').filter(|s| !s.is_empty()));
        if segments.len() == 1 {
            return Ok(None);
        }
        match self
            .get_json(self.url(&segments), &ctx(&what, "path"))
            .await
        {
            Ok(group) => Ok(Some(group)),
            Err(KeycloakError::NotFound { .. }) => Ok(None),
            Err(other) => Err(other),
        }
    }

    // ----- realm roles -----

    async fn create_role<'a>(&self, name: &str, description: Option<&'a str>) -> Result<()> {
        if name.trim().is_empty() {
            return Err(KeycloakError::invalid("name", "must not be empty"));
        }
        let mut body = json!({ "name": name });
        if let Some(description) = description {
            set_field(&mut body, "description", json!(description));
        }
        let what = format!("role {name}");
        self.send(
            Method::POST,
            self.url(&["roles"]),
            Some(&body),
            &ctx(&what, "role"),
        )
        .await?;
        Ok(())
    }

    async fn get_role(&self, name: &str) -> Result<Role> {
        let what = format!("role {name}");
        self.get_json(self.url(&["roles", name]), &ctx(&what, "name"))
            .await
    }

    async fn delete_role(&self, name: &str) -> Result<()> {
        let what = format!("role {name}");
        self.send(
            Method::DELETE,
            self.url(&["roles", name]),
            None,
            &ctx(&what, "name"),
        )
        .await?;
        Ok(())
    }

    async fn list_roles<'a>(&self, prefix: Option<&'a str>, page: Page) -> Result<Vec<Role>> {
        match prefix.filter(|p| !p.is_empty()) {
            None => {
                let mut url = self.url_q(&["roles"], &[("briefRepresentation", "true")]);
                url.query_pairs_mut().extend_pairs(page_query(page));
                let roles: Vec<Role> = self.get_json(url, &ctx("roles", "prefix")).await?;
                Ok(sorted_roles(roles))
            }
            Some(prefix) => {
                // `search` is a case-insensitive substring match: fetch every match, keep the
                // prefixed ones, then apply the caller's page.
                let roles: Vec<Role> = self
                    .get_all(
                        &["roles"],
                        &[("search", prefix), ("briefRepresentation", "true")],
                        &ctx("roles", "prefix"),
                    )
                    .await?;
                let mut roles: Vec<Role> = roles
                    .into_iter()
                    .filter(|r| r.name.starts_with(prefix))
                    .collect();
                roles.sort_by(|a, b| a.name.cmp(&b.name));
                roles.dedup_by(|a, b| a.name == b.name);
                Ok(roles
                    .into_iter()
                    .skip(page.first as usize)
                    .take(page.max as usize)
                    .collect())
            }
        }
    }

    async fn update_role(&self, name: &str, update: &RoleUpdate) -> Result<()> {
        if let Some(new_name) = &update.name
            && new_name.trim().is_empty()
        {
            return Err(KeycloakError::invalid("name", "must not be empty"));
        }
        let what = format!("role {name}");
        let c = ctx(&what, "role");
        // Keycloak's PUT replaces the description: send the current one unless it changes.
        let mut current: Value = self.get_json(self.url(&["roles", name]), &c).await?;
        if let Some(new_name) = &update.name {
            set_field(&mut current, "name", json!(new_name));
        }
        if let Some(description) = &update.description {
            match description {
                Some(d) => set_field(&mut current, "description", json!(d)),
                None => {
                    if let Value::Object(map) = &mut current {
                        map.remove("description");
                    }
                }
            }
        }
        if let Some(attributes) = &update.attributes {
            set_field(&mut current, "attributes", json!(attributes));
        }
        match self
            .send(Method::PUT, self.url(&["roles", name]), Some(&current), &c)
            .await
        {
            Ok(_) => Ok(()),
            // Keycloak's 409 here is a bare "Duplicate resource error": only the name can clash.
            Err(KeycloakError::Conflict { what, .. }) => Err(KeycloakError::conflict_on(
                crate::error::ConflictField::RoleName,
                what,
            )),
            Err(other) => Err(other),
        }
    }

    async fn role_users(&self, name: &str, page: Page) -> Result<Vec<User>> {
        let what = format!("role {name}");
        let mut url = self.url_q(
            &["roles", name, "users"],
            &[("briefRepresentation", "false")],
        );
        url.query_pairs_mut().extend_pairs(page_query(page));
        let users: Vec<User> = self.get_json(url, &ctx(&what, "name")).await?;
        Ok(sorted_users(users))
    }

    async fn role_groups(&self, name: &str, page: Page) -> Result<Vec<Group>> {
        let what = format!("role {name}");
        let mut url = self.url_q(
            &["roles", name, "groups"],
            &[("briefRepresentation", "false")],
        );
        url.query_pairs_mut().extend_pairs(page_query(page));
        let groups: Vec<Group> = self.get_json(url, &ctx(&what, "name")).await?;
        Ok(sorted_groups(groups))
    }

    // ----- group realm-role mappings -----

    async fn add_group_roles(&self, group_id: &str, roles: &[String]) -> Result<()> {
        let what = format!("group {group_id}");
        let body = Value::Array(self.resolve_roles(roles).await?);
        let url = self.url(&["groups", group_id, "role-mappings", "realm"]);
        if roles.is_empty() {
            self.get_group(group_id).await?;
            return Ok(());
        }
        self.send(Method::POST, url, Some(&body), &ctx(&what, "roles"))
            .await?;
        Ok(())
    }

    async fn remove_group_roles(&self, group_id: &str, roles: &[String]) -> Result<()> {
        let what = format!("group {group_id}");
        let body = Value::Array(self.resolve_roles(roles).await?);
        let url = self.url(&["groups", group_id, "role-mappings", "realm"]);
        if roles.is_empty() {
            self.get_group(group_id).await?;
            return Ok(());
        }
        self.send(Method::DELETE, url, Some(&body), &ctx(&what, "roles"))
            .await?;
        Ok(())
    }

    async fn list_group_roles(&self, group_id: &str) -> Result<Vec<Role>> {
        let what = format!("group {group_id}");
        let roles: Vec<Role> = self
            .get_json(
                self.url(&["groups", group_id, "role-mappings", "realm"]),
                &ctx(&what, "group_id"),
            )
            .await?;
        Ok(sorted_roles(roles))
    }

    // ----- administrators -----

    async fn is_admin(&self, user_id: &str) -> Result<bool> {
        let uuid = self.client_uuid(REALM_MANAGEMENT_CLIENT).await?;
        let what = format!("user {user_id}");
        let roles: Vec<Role> = self
            .get_json(
                self.url(&[
                    "users",
                    user_id,
                    "role-mappings",
                    "clients",
                    &uuid,
                    "composite",
                ]),
                &ctx(&what, "user_id"),
            )
            .await?;
        Ok(roles.iter().any(|r| r.name == REALM_ADMIN_ROLE))
    }

    async fn set_admin(&self, user_id: &str, admin: bool) -> Result<()> {
        let realm = self.inner.realm.clone();
        let (uuid, role) = self.realm_admin_role_in(&realm).await?;
        let what = format!("user {user_id}");
        let method = if admin { Method::POST } else { Method::DELETE };
        let body = json!([role]);
        self.send(
            method,
            self.url(&["users", user_id, "role-mappings", "clients", &uuid]),
            Some(&body),
            &ctx(&what, "user_id"),
        )
        .await?;
        Ok(())
    }

    async fn admin_user_ids(&self) -> Result<Vec<String>> {
        let uuid = self.client_uuid(REALM_MANAGEMENT_CLIENT).await?;
        let what = format!("role {REALM_MANAGEMENT_CLIENT}/{REALM_ADMIN_ROLE}");
        let users: Vec<IdRef> = self
            .get_all(
                &["clients", &uuid, "roles", REALM_ADMIN_ROLE, "users"],
                &[("briefRepresentation", "true")],
                &ctx(&what, "role"),
            )
            .await?;
        let mut ids: Vec<String> = users.into_iter().map(|u| u.id).collect();
        // Pages of a list that changed between two calls may overlap.
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    // ----- default groups -----

    async fn default_groups(&self) -> Result<Vec<Group>> {
        let brief: Vec<Group> = self
            .get_json(
                self.url(&["default-groups"]),
                &ctx("default groups", "group_id"),
            )
            .await?;
        let mut groups = Vec::with_capacity(brief.len());
        for group in brief {
            match self.get_group(&group.id).await {
                Ok(full) => groups.push(full),
                // Deleted between the two calls.
                Err(KeycloakError::NotFound { .. }) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(sorted_groups(groups))
    }

    async fn add_default_group(&self, group_id: &str) -> Result<()> {
        let what = format!("group {group_id}");
        self.send(
            Method::PUT,
            self.url(&["default-groups", group_id]),
            None,
            &ctx(&what, "group_id"),
        )
        .await?;
        Ok(())
    }

    async fn remove_default_group(&self, group_id: &str) -> Result<()> {
        let what = format!("group {group_id}");
        self.send(
            Method::DELETE,
            self.url(&["default-groups", group_id]),
            None,
            &ctx(&what, "group_id"),
        )
        .await?;
        Ok(())
    }

    // ----- offline sessions (API tokens) -----

    async fn offline_sessions(
        &self,
        user_id: &str,
        client_id: &str,
    ) -> Result<Vec<OfflineSession>> {
        let uuid = self.client_uuid(client_id).await?;
        let what = format!("user {user_id}");
        // Keycloak's representation is ours (`clients`: client UUID → clientId).
        self.get_json(
            self.url(&["users", user_id, "offline-sessions", &uuid]),
            &ctx(&what, "user_id"),
        )
        .await
    }

    async fn revoke_offline_sessions(&self, user_id: &str, client_id: &str) -> Result<()> {
        let what = format!("user {user_id}");
        let result = self
            .send(
                Method::DELETE,
                self.url(&["users", user_id, "consents", client_id]),
                None,
                &ctx(&what, "user_id"),
            )
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(KeycloakError::NotFound { .. }) => {
                // Keycloak answers 404 for a missing user, a missing client and for "Consent
                // nor offline token not found"; only the last is success.
                self.get_user(user_id).await?;
                self.client_uuid(client_id).await?;
                Ok(())
            }
            Err(other) => Err(other),
        }
    }

    // ----- user realm-role mappings -----

    async fn user_realm_roles(&self, user_id: &str) -> Result<Vec<Role>> {
        let what = format!("user {user_id}");
        let roles: Vec<Role> = self
            .get_json(
                self.url(&["users", user_id, "role-mappings", "realm"]),
                &ctx(&what, "user_id"),
            )
            .await?;
        Ok(sorted_roles(roles))
    }

    async fn effective_user_realm_roles(&self, user_id: &str) -> Result<Vec<Role>> {
        let what = format!("user {user_id}");
        let roles: Vec<Role> = self
            .get_json(
                self.url_q(
                    &["users", user_id, "role-mappings", "realm", "composite"],
                    &[("briefRepresentation", "true")],
                ),
                &ctx(&what, "user_id"),
            )
            .await?;
        Ok(sorted_roles(roles))
    }

    async fn add_user_roles(&self, user_id: &str, roles: &[String]) -> Result<()> {
        self.user_role_call(Method::POST, user_id, roles).await
    }

    async fn remove_user_roles(&self, user_id: &str, roles: &[String]) -> Result<()> {
        self.user_role_call(Method::DELETE, user_id, roles).await
    }

    async fn available_user_realm_roles(&self, user_id: &str) -> Result<Vec<Role>> {
        let what = format!("user {user_id}");
        let roles: Vec<Role> = self
            .get_json(
                self.url(&["users", user_id, "role-mappings", "realm", "available"]),
                &ctx(&what, "user_id"),
            )
            .await?;
        Ok(sorted_roles(roles))
    }

    // ----- e-mail and credentials -----

    async fn execute_actions_email(
        &self,
        user_id: &str,
        request: &ExecuteActionsEmail,
    ) -> Result<()> {
        let what = format!("user {user_id}");
        let mut url = self.url(&["users", user_id, "execute-actions-email"]);
        if let Some(lifespan) = request.lifespan {
            url.query_pairs_mut()
                .append_pair("lifespan", &lifespan.to_string());
        }
        if let Some(client_id) = &request.client_id {
            url.query_pairs_mut().append_pair("client_id", client_id);
        }
        if let Some(redirect_uri) = &request.redirect_uri {
            url.query_pairs_mut()
                .append_pair("redirect_uri", redirect_uri);
        }
        let body = json!(request.actions);
        match self
            .send(Method::PUT, url, Some(&body), &ctx(&what, "actions"))
            .await
        {
            Ok(_) => Ok(()),
            // Keycloak's 400 bodies here carry no field: name it from the message.
            Err(KeycloakError::Invalid { rule, .. }) => Err(KeycloakError::invalid(
                execute_actions_email_field(&rule),
                rule,
            )),
            Err(other) => Err(other),
        }
    }

    async fn user_credentials(&self, user_id: &str) -> Result<Vec<Credential>> {
        let what = format!("user {user_id}");
        self.get_json(
            self.url(&["users", user_id, "credentials"]),
            &ctx(&what, "user_id"),
        )
        .await
    }

    async fn remove_totp(&self, user_id: &str) -> Result<()> {
        let what = format!("user {user_id}");
        for credential in self.user_credentials(user_id).await? {
            if credential.kind != OTP_CREDENTIAL {
                continue;
            }
            let result = self
                .send(
                    Method::DELETE,
                    self.url(&["users", user_id, "credentials", &credential.id]),
                    None,
                    &ctx(&what, "user_id"),
                )
                .await;
            match result {
                // Removed meanwhile by someone else: the goal is reached.
                Ok(_) | Err(KeycloakError::NotFound { .. }) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(())
    }

    // ----- realm settings -----

    async fn realm_settings(&self) -> Result<RealmSettings> {
        let what = format!("realm {}", self.inner.realm);
        let realm: Value = self.get_json(self.url(&[]), &ctx(&what, "realm")).await?;
        Ok(RealmSettings::from_representation(&realm))
    }

    async fn update_realm_settings(&self, update: &RealmSettingsUpdate) -> Result<()> {
        let what = format!("realm {}", self.inner.realm);
        let body = Value::Object(update.to_representation());
        // Keycloak's 400s here (an invalid sender or reply-to address) name no field.
        self.send(Method::PUT, self.url(&[]), Some(&body), &ctx(&what, "smtp"))
            .await?;
        Ok(())
    }

    // ----- clients -----

    async fn client_secret(&self, client_id: &str) -> Result<Option<String>> {
        let uuid = self.client_uuid(client_id).await?;
        let what = format!("client {client_id}");
        let secret: SecretRep = self
            .get_json(
                self.url(&["clients", &uuid, "client-secret"]),
                &ctx(&what, "client_id"),
            )
            .await?;
        Ok(secret.value.filter(|v| !v.is_empty()))
    }

    async fn client_scope_mappings(&self, client_id: &str) -> Result<ClientScopeMappings> {
        let uuid = self.client_uuid(client_id).await?;
        let what = format!("client {client_id}");
        let rep: ScopeMappingsRep = self
            .get_json(
                self.url(&["clients", &uuid, "scope-mappings"]),
                &ctx(&what, "client_id"),
            )
            .await?;
        Ok(ClientScopeMappings {
            realm: sorted_roles(rep.realm_mappings),
            clients: rep
                .client_mappings
                .into_values()
                .map(|c| (c.client, sorted_roles(c.mappings)))
                .collect(),
        })
    }

    // ----- composite roles -----

    async fn role_composites(&self, name: &str) -> Result<CompositeRoles> {
        let what = format!("role {name}");
        let url = self.url(&["roles", name, "composites"]);
        self.composites_at(url, &what).await
    }

    async fn add_role_composites(&self, name: &str, roles: &[String]) -> Result<()> {
        self.composite_call(Method::POST, name, roles).await
    }

    async fn remove_role_composites(&self, name: &str, roles: &[String]) -> Result<()> {
        self.composite_call(Method::DELETE, name, roles).await
    }

    async fn client_role_composites(&self, client_id: &str, role: &str) -> Result<CompositeRoles> {
        let uuid = self.client_uuid(client_id).await?;
        let what = format!("role {role} of client {client_id}");
        let url = self.url(&["clients", &uuid, "roles", role, "composites"]);
        self.composites_at(url, &what).await
    }

    // ----- admin events -----

    async fn admin_events(&self, query: &AdminEventQuery) -> Result<Vec<AdminEvent>> {
        let mut url = self.url(&["admin-events"]);
        {
            let mut pairs = url.query_pairs_mut();
            if let Some(since) = query.since {
                // Keycloak 26 takes `yyyy-MM-dd` or epoch milliseconds (inclusive).
                pairs.append_pair("dateFrom", &since.max(0).to_string());
            }
            for op in &query.operation_types {
                pairs.append_pair("operationTypes", op);
            }
            for resource in &query.resource_types {
                pairs.append_pair("resourceTypes", resource);
            }
            pairs.extend_pairs(page_query(query.page));
        }
        self.get_json(url, &ctx("admin events", "query")).await
    }
}

/// Any representation with an `id` (brief users in a role's user list).
#[derive(Deserialize)]
struct IdRef {
    id: String,
}

/// Keycloak's `MappingsRepresentation` (either part is absent when empty).
/// A role of a `…/composites` list: the role and where it lives.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CompositeRep {
    #[serde(flatten)]
    role: Role,
    #[serde(default)]
    client_role: bool,
    #[serde(default)]
    container_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScopeMappingsRep {
    #[serde(default)]
    realm_mappings: Vec<Role>,
    #[serde(default)]
    client_mappings: HashMap<String, ClientMappingsRep>,
}

/// One client's part of a [`ScopeMappingsRep`].
#[derive(Deserialize)]
struct ClientMappingsRep {
    client: String,
    #[serde(default)]
    mappings: Vec<Role>,
}

/// `{"type": "secret", "value": …}`; a public client's has no value.
#[derive(Deserialize)]
struct SecretRep {
    #[serde(default)]
    value: Option<String>,
}

impl HttpKeycloak {
    /// `POST` / `DELETE users/{id}/role-mappings/realm` with the resolved roles.
    /// `GET …/composites` at `url`, split into realm and client roles (the owner of a client
    /// role is its `containerId`, a client UUID, named by its `clientId`).
    async fn composites_at(&self, url: Url, what: &str) -> Result<CompositeRoles> {
        let reps: Vec<CompositeRep> = self.get_json(url, &ctx(what, "name")).await?;
        let mut out = CompositeRoles::default();
        let mut owners: HashMap<String, String> = HashMap::new();
        for rep in reps {
            if !rep.client_role {
                out.realm.push(rep.role);
                continue;
            }
            let owner = match owners.get(&rep.container_id) {
                Some(owner) => owner.clone(),
                None => {
                    let client: ClientRef = self
                        .get_json(
                            self.url(&["clients", &rep.container_id]),
                            &ctx(what, "client"),
                        )
                        .await?;
                    owners.insert(rep.container_id.clone(), client.client_id.clone());
                    client.client_id
                }
            };
            out.clients.entry(owner).or_default().push(rep.role);
        }
        out.realm = sorted_roles(out.realm);
        for roles in out.clients.values_mut() {
            roles.sort_by(|a, b| a.name.cmp(&b.name));
        }
        Ok(out)
    }

    /// `POST` / `DELETE roles/{name}/composites` with the realm roles `roles` (each looked up
    /// first, so a missing one is `NotFound` before anything changes).
    async fn composite_call(&self, method: Method, name: &str, roles: &[String]) -> Result<()> {
        let what = format!("role {name}");
        let body = Value::Array(self.resolve_roles(roles).await?);
        if roles.is_empty() {
            self.get_role(name).await?;
            return Ok(());
        }
        self.send(
            method,
            self.url(&["roles", name, "composites"]),
            Some(&body),
            &ctx(&what, "roles"),
        )
        .await?;
        Ok(())
    }

    async fn user_role_call(&self, method: Method, user_id: &str, roles: &[String]) -> Result<()> {
        let what = format!("user {user_id}");
        let body = Value::Array(self.resolve_roles(roles).await?);
        if roles.is_empty() {
            self.get_user(user_id).await?;
            return Ok(());
        }
        self.send(
            method,
            self.url(&["users", user_id, "role-mappings", "realm"]),
            Some(&body),
            &ctx(&what, "roles"),
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> HttpKeycloakConfig {
        HttpKeycloakConfig::new(
            Url::parse("http://127.0.0.1:8080").expect("url"),
            "primehub",
            Credentials::client("primehub", "admin-ui", "s3cret"),
        )
    }

    #[test]
    fn config_validation_names_the_field() {
        assert!(config().validate().is_ok());
        let mut c = config();
        c.base_url = Url::parse("ftp://x").expect("url");
        assert_eq!(
            c.validate(),
            Err(KeycloakError::invalid(
                "base_url",
                "scheme must be http or https"
            ))
        );
        let mut c = config();
        c.realm = String::new();
        assert!(
            matches!(c.validate(), Err(KeycloakError::Invalid { field, .. }) if field == "realm")
        );
        let mut c = config();
        c.credentials = Credentials::client("primehub", "admin-ui", "");
        assert!(
            matches!(c.validate(), Err(KeycloakError::Invalid { field, .. }) if field == "credentials.client_secret")
        );
        let mut c = config();
        c.credentials = Credentials::master_admin("admin", "");
        assert!(
            matches!(c.validate(), Err(KeycloakError::Invalid { field, .. }) if field == "credentials.password")
        );
        let mut c = config();
        c.max_concurrency = 0;
        assert!(c.validate().is_err());
    }

    #[test]
    fn debug_redacts_secrets() {
        let text = format!("{:?}", Credentials::client("r", "c", "topsecret"));
        assert!(!text.contains("topsecret"));
        let text = format!("{:?}", Credentials::master_admin("admin", "pw123"));
        assert!(!text.contains("pw123"));
    }

    #[test]
    fn urls_are_percent_encoded_segments() {
        let kc = HttpKeycloak::new(config()).expect("client");
        assert_eq!(
            kc.url(&["roles", "img:base notebook/x"]).as_str(),
            "http://127.0.0.1:8080/admin/realms/primehub/roles/img:base%20notebook%2Fx"
        );
        let mut c = config();
        c.base_url = Url::parse("http://kc.local/auth/").expect("url");
        let kc = HttpKeycloak::new(c).expect("client");
        assert_eq!(
            kc.url(&["users"]).as_str(),
            "http://kc.local/auth/admin/realms/primehub/users"
        );
    }
}
