//! An in-memory Keycloak with an HTTP face, for tests and `primehub dev` (feature `fake`).
//!
//! [`FakeKeycloak`] holds any number of realms. Each realm is administered through a
//! [`FakeRealm`], which implements [`KeycloakAdmin`](crate::KeycloakAdmin) with Keycloak's
//! semantics (and passes [`crate::conformance`]), and issues OIDC tokens: RS256 access tokens
//! signed with a per-instance RSA-2048 key, refresh and offline tokens, client-credentials
//! tokens for service accounts. [`FakeKeycloak::router`] / [`FakeKeycloak::serve`] put the same
//! state behind HTTP: the OIDC endpoints (discovery, token, JWKS, userinfo, token introspection,
//! token revocation), the browser side of OIDC (authorization endpoint, login page, SSO cookies,
//! end-session) and the admin REST API paths PrimeHub uses, with Keycloak 26's parameters,
//! status codes and JSON shapes, so the reqwest client ([`crate::http`]) can run against it and a
//! browser can log in.
//!
//! # OIDC as Keycloak 26.7 answers it
//!
//! Checked against a running Keycloak 26.7.3 by `tests/it/oidc_tokens.rs`, which runs the same
//! scenarios against both and compares them (statuses, OAuth errors, `WWW-Authenticate`
//! challenges, claim names, key values):
//!
//! * **Introspection** (`…/token/introspect`): confidential clients only (a public client is
//!   403 "Client not allowed."); a token is active only for a client named in its `aud` (an
//!   access token's `aud` holds the clients whose roles the user has and those of
//!   `oidc-audience-mapper`s, never the client it was issued to), or with `token_type_hint`
//!   `refresh_token` for the refresh token's own client. Claims are re-derived from the user's
//!   roles and attributes now, as Keycloak does. Inactive for revoked, expired (the injected
//!   clock), foreign-realm or malformed tokens and tokens of an ended session.
//! * **Revocation** (`…/revoke`): a refresh or offline token ends that client's session (all
//!   its tokens die); an access token alone is recorded as revoked. Unknown tokens are 200 with
//!   Keycloak's `invalid_token` body, another client's token 400 "Unmatching clients".
//! * **Userinfo** (GET/POST, bearer header or form `access_token`): refusals are empty bodies
//!   with `WWW-Authenticate: Bearer realm="<realm>", error=…, error_description=…` ("Token
//!   verification failed", "user_session_not_found", 403 "Missing openid scope").
//! * **Scopes**: `openid`, Keycloak's default client scopes and the optional `address`,
//!   `phone`, `offline_access`, `microprofile-jwt` (and `organization`, which adds nothing with
//!   organizations off) with their claims; anything else, an empty scope or a doubled space is
//!   400 `invalid_scope`. Attribute mappers fall back to the user's groups' attributes.
//! * **Discovery** advertises only what the fake serves (see the list of what is left out in
//!   the source of `token_endpoints.rs`).
//! * Revoked tokens and ended sessions are refused by the admin REST API too (401).
//!
//! * **Roles in tokens** follow Keycloak's `TokenManager.getAccess`: with `fullScopeAllowed`
//!   every role the user holds (direct, through groups and their ancestors, composites expanded
//!   transitively — cycles terminate); otherwise only those also in the client's scope (its own
//!   roles, its scope mappings, the `offline_access` role when that scope is asked for, all
//!   expanded): `admin-ui`'s tokens carry `realm-admin` and the 21 roles it contains.
//! * A refresh (or offline) token's `scope` names the access token's scopes plus the client's
//!   default scopes access tokens leave out (`acr`, `basic`, `roles`, `web-origins`, and
//!   `service_account` for a client with a service account), as Keycloak's do.
//! * `client_credentials` for a public client or one without a service account is 401
//!   `unauthorized_client`.
//!
//! Known differences: Keycloak orders the scopes of a token and of
//! `scopes_supported` by its client scopes' random ids, the fake in a fixed order; the fake
//! keeps no session idle or maximum lifetime beyond the refresh token's `exp`; client
//! authentication is by secret only (no signed JWT, no mTLS).
//!
//! # Browser logins
//!
//! The authorization code flow works as against Keycloak 26.7 (each behaviour below is run
//! against a real Keycloak too, by the crate's `browser_flow` tests):
//!
//! - `/realms/{realm}/protocol/openid-connect/auth` (`GET` or `POST`) checks the client and the
//!   `redirect_uri` with Keycloak's matching (exact strings, a trailing `*` as a prefix, `*`,
//!   relative URIs under the client's `rootUrl`, any port for an `http` loopback URI, no URI
//!   carrying `code`/`state`/… parameters) and answers a bad one with Keycloak's error page
//!   (400 "Invalid parameter: redirect_uri", "Client not found.", "Client disabled."); other
//!   errors go back to the redirect URI (`error`, `error_description`, `state`, `iss`) in the
//!   `query`, `fragment` or `form_post` response mode: `response_type` missing or unsupported,
//!   the implicit and hybrid flows (`unauthorized_client`, as for Keycloak clients with the
//!   implicit flow off), an unknown `scope`, PKCE parameters (`S256`, `plain`, a method the
//!   client attribute `pkce.code.challenge.method` enforces), `prompt=none` without a session
//!   (`login_required`).
//! - The login page is an HTML form (`id="kc-form-login"`) whose `action` (under
//!   `/realms/{realm}/login-actions/authenticate`) takes `username` (or e-mail) and `password`;
//!   a wrong password shows "Invalid username or password." (200), a disabled user "Account is
//!   disabled, contact your administrator."; `login_hint` fills the username; `prompt=login`
//!   and an exceeded `max_age` ask the signed-in user for the password again.
//! - Success is a 302 to the redirect URI with `state`, `session_state`, `iss` and a
//!   single-use `code` (60 s), and Keycloak's cookies with Keycloak's names and attributes:
//!   `AUTH_SESSION_ID`, `KC_AUTH_SESSION_HASH`, `KC_RESTART` during the login,
//!   `KEYCLOAK_IDENTITY` and `KEYCLOAK_SESSION` after it — all `Secure; SameSite=None` under
//!   `Path=/realms/{realm}/` even on plain http (browsers send them to `localhost`; a script
//!   must too). That cookie logs in any client of the realm without the form (SSO).
//! - The token endpoint's `authorization_code` grant: Keycloak's errors in Keycloak's order
//!   ("Code not valid" for a used code, which also removes the client from the session,
//!   "Incorrect redirect_uri", the PKCE messages, …), ID tokens with `nonce`, `at_hash`, `sid`,
//!   `auth_time`; `offline_access` gives an offline token with the session's id — and, as
//!   Keycloak does, ends the online session when the login that started it asked for
//!   `offline_access`.
//! - `/realms/{realm}/protocol/openid-connect/logout`: `id_token_hint` (+
//!   `post_logout_redirect_uri`, checked against the client attribute
//!   `post.logout.redirect.uris` with `+` for the redirect URIs — and the redirect URIs when
//!   the attribute is absent — + `state`) ends the session at once; without it Keycloak's "Do
//!   you want to log out?" page; `POST` with `refresh_token` and client credentials is the
//!   back-channel logout (204). Afterwards refresh tokens fail ("Session not active") and the
//!   SSO cookie no longer logs in.
//!
//! `request_uri` is served as Keycloak 26.7 serves it: only a URI matching the client's valid
//! request URIs (the attribute `request.uris`; PrimeHub's clients have none) is fetched, and
//! an unsigned request object (`alg` `none`) of that client overrides the query's parameters;
//! anything else (no registered URI matching — then nothing is fetched —, a failed fetch,
//! another client's object) is Keycloak's 400 "Invalid Request" page. Signed request objects
//! (the fake holds no client keys) and an inline `request`, which Keycloak reads, get the same
//! 400 rather than being ignored.
//!
//! Not served, because the fake has no such pages: required actions (a user with one, or with
//! an OTP credential, gets a 400 error page rather than a session), OTP, consent screens,
//! registration, password reset, identity providers, "remember me", the JWT response modes
//! (`*.jwt`, answered "Invalid parameter: response_mode"). Page bodies carry Keycloak's
//! element ids and messages, not its theme (no scripts or stylesheets). The fake's session
//! ids are UUIDs (Keycloak 26 uses 24-character ids); both are opaque.
//!
//! ```
//! use primehub_keycloak::fake::{BootstrapOptions, FakeKeycloak};
//! use primehub_keycloak::{KeycloakAdmin, NewGroup};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> primehub_keycloak::Result<()> {
//! let keycloak = FakeKeycloak::new()?;
//! let primehub = keycloak.bootstrap_primehub(
//!     "primehub",
//!     &BootstrapOptions { admin_password: "s3cret".into(), ..BootstrapOptions::default() },
//! ).await?;
//! let realm = keycloak.realm("primehub")?;
//!
//! // Admin API semantics, in memory.
//! let id = realm
//!     .create_group(&NewGroup { name: "team-a".into(), ..NewGroup::default() })
//!     .await?;
//! assert_eq!(realm.get_group(&id).await?.path, "/team-a");
//! assert!(realm.is_admin(&primehub.admin_user_id).await?);
//!
//! // OIDC: a password grant with the confidential `admin-ui` client.
//! let tokens = realm.token_password(
//!     "admin-ui",
//!     Some(&primehub.admin_ui_client_secret),
//!     "phadmin",
//!     "s3cret",
//!     Some("openid"),
//! )?;
//! assert_eq!(tokens.token_type, "Bearer");
//! assert!(tokens.refresh_token.is_some());
//! # Ok(())
//! # }
//! ```
//!
//! # The admin REST face
//!
//! Paths under `/admin/realms/{realm}`, answered with Keycloak 26.7's status codes, JSON
//! shapes (each endpoint's own `GroupRepresentation` / `UserRepresentation` variant: `access`,
//! `subGroupCount`, `parentId` where Keycloak has them), error bodies (`{"error": …}` for
//! 404s, `{"errorMessage": …}` for 400s and 409s) and `Location` headers (path segments
//! encoded as Keycloak's URI builder does: `roles/img:base%20notebook`); paging takes
//! `first`/`max` with Keycloak's defaults, `max=-1` meaning all:
//!
//! * realms: `GET`/`POST /admin/realms`, `GET`/`PUT`/`DELETE /admin/realms/{realm}`,
//!   `partialImport` (users), `admin-events`, `users/profile`;
//! * users: list, count, create, read, update, delete, `reset-password`, `groups` (+ `count`),
//!   `groups/{group}`, `credentials`, `execute-actions-email`, `offline-sessions/{client}`,
//!   `consents/{client}`, and role mappings: `role-mappings` (realm and client mappings in one
//!   view), `role-mappings/realm` (`GET`/`POST`/`DELETE`, `/composite`, `/available`),
//!   `role-mappings/clients/{client}` (+ `/composite`);
//! * groups: list (Keycloak's search: matches at any level shown inside their ancestors,
//!   `exact`, `q`, `populateHierarchy`, `subGroupsCount`), `count` (`top`), create (or, with an
//!   `id` in the body, move to the top level), read, update, delete (with subgroups),
//!   `members`, `children` (`GET` paged 10 at a time by default; `POST` creates a subgroup, or
//!   moves the group whose `id` the body carries), `group-by-path/{path}`, realm role
//!   mappings (`role-mappings`, `role-mappings/realm`, and `role-mappings/realm/composite`:
//!   with the ancestors' roles, composites expanded), `default-groups`;
//! * roles: `roles` (list, create — with `"composite": true`, its `composites` by name),
//!   `roles/{name}` (`GET`/`PUT`/`DELETE`; a `PUT` renames, replaces the description, replaces
//!   the attributes when given and ignores `composite`), `roles/{name}/users`,
//!   `roles/{name}/groups`, `roles-by-id/{id}` (`GET`/`PUT`/`DELETE`), and composites:
//!   `…/composites` (`GET`; `POST`/`DELETE` a list of role representations found by `id`: an
//!   unknown one is `404 Could not find composite role` and nothing changes; a role may
//!   contain itself, cycles are allowed), `…/composites/realm`,
//!   `…/composites/clients/{client}`, under `roles/{name}`, `roles-by-id/{id}` and
//!   `clients/{id}/roles/{name}` (the roles of `realm-management` cannot be changed: 403);
//! * clients: list, create (Keycloak 26.7's defaults: `client.secret.creation.time` for a
//!   generated secret, the back-channel logout attributes when the body names
//!   `openid-connect`, `realm_client`, a multivalued group-membership mapper,
//!   `frontchannelLogout` off unless asked, `service_account` among the default scopes of a
//!   client with a service account), read, update, delete, `roles` (+ `{name}`,
//!   `{name}/users`),
//!   `client-secret`, `service-account-user`, `protocol-mappers/models`, and scope mappings:
//!   `scope-mappings`, `scope-mappings/realm` (`GET`/`POST`/`DELETE`, `/available`,
//!   `/composite`), `scope-mappings/clients/{client}` (same).
//!
//! Every realm has Keycloak's built-in realm roles: `offline_access`, `uma_authorization` and
//! the composite `default-roles-<realm>` containing both and `account`'s `manage-account` and
//! `view-profile`, mapped onto every new user (service-account users too) and not deletable;
//! and Keycloak's built-in clients (`account`, `account-console`, `admin-cli`, `broker`,
//! `realm-management`, `security-admin-console`) with their roles, composites (`realm-admin`
//! holds the 21 other `realm-management` roles) and representations. Members of a subgroup
//! hold the role mappings of its ancestors; effective mappings (`…/composite`) expand
//! composites.
//!
//! A path or method no route serves is answered as Keycloak answers it, after the lookups
//! Keycloak's resource locators make: `401` without a valid token, `404 Realm not found.`,
//! `404 User not found` (or the group, client or role-by-id message) when the path names a
//! missing object, then `404 {"error": "HTTP 404 Not Found"}` for an unknown path or
//! `405 {"error": "HTTP 405 Method Not Allowed"}` for a known path with another method (under
//! `/realms/{realm}`: `404 Realm does not exist` first). A path with an empty or dot segment
//! is `400 missingNormalization`; a trailing `/` is served as without.
//!
//! Known differences from Keycloak 26 (each an honest error or a documented gap, never a
//! wrong success):
//!
//! * lists Keycloak returns in database order (`GET roles` without paging, `…/available`,
//!   `…/composite`, `…/composites`) are ordered by name (composites: realm roles first);
//! * a caller authenticated in the realm but without admin rights gets `403` everywhere,
//!   where Keycloak answers some unknown paths with `404`;
//! * the admin console, `serverinfo` and the other `/admin` pages are not served (`405`, as
//!   Keycloak answers unknown `/admin` paths);
//! * a group name containing `/` cannot be found by path (Keycloak escapes it as `~/`);
//! * the `groups` claim of tokens (the group-membership mapper, in the OIDC part) names a
//!   subgroup `/<name>` where Keycloak writes its full path.
//!
//! Over HTTP:
//!
//! ```no_run
//! # async fn run() -> primehub_keycloak::Result<()> {
//! let keycloak = primehub_keycloak::fake::FakeKeycloak::new()?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| {
//!     primehub_keycloak::KeycloakError::Transport { message: e.to_string() }
//! })?;
//! let server = keycloak.serve(listener)?;
//! println!("fake Keycloak at {}", server.url());
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};

use crate::admin::REALM_MANAGEMENT_CLIENT;
use crate::error::{KeycloakError, Result};

mod admin_ext;
mod browser;
mod http;
mod keys;
mod oidc;
mod realm;
mod sessions;
mod store;
mod token_endpoints;

pub use keys::FakeSigningKey;
pub use oidc::{TokenRequest, TokenResponse};
pub use store::SentEmail;

use primehub_model::clock::{Clock, SystemClock};
use store::{ClientRec, RealmState, Store, UserWrite};

/// The default lifetime of access tokens, in seconds (Keycloak's default).
pub const DEFAULT_ACCESS_TOKEN_LIFESPAN: i64 = 300;
/// The default lifetime of (online) refresh tokens, in seconds (Keycloak's SSO idle timeout).
pub const DEFAULT_REFRESH_TOKEN_LIFESPAN: i64 = 1800;

/// An in-memory, multi-realm Keycloak. Cheap to clone: clones share the state.
///
/// A new instance holds realm `master` with the super-admin `admin` (realm role `admin`) and the
/// public client `admin-cli`.
#[derive(Clone)]
pub struct FakeKeycloak {
    inner: Arc<Mutex<Store>>,
}

impl std::fmt::Debug for FakeKeycloak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let realms: Vec<String> = self.lock().realms.keys().cloned().collect();
        f.debug_struct("FakeKeycloak")
            .field("realms", &realms)
            .finish_non_exhaustive()
    }
}

/// Options for a [`FakeKeycloak`]; start from [`FakeKeycloak::builder`].
#[must_use]
pub struct FakeKeycloakBuilder {
    admin_username: String,
    admin_password: String,
    key: Option<FakeSigningKey>,
    clock: Arc<dyn Clock>,
    deterministic_ids: bool,
    base_url: String,
    access_lifespan: i64,
    refresh_lifespan: i64,
}

impl FakeKeycloakBuilder {
    /// The master realm's super-admin username (default `admin`).
    pub fn admin_username(mut self, username: impl Into<String>) -> Self {
        self.admin_username = username.into();
        self
    }

    /// The master realm's super-admin password (default `admin`).
    pub fn admin_password(mut self, password: impl Into<String>) -> Self {
        self.admin_password = password.into();
        self
    }

    /// Signs with this key instead of generating one (lets tests share one key).
    pub fn signing_key(mut self, key: FakeSigningKey) -> Self {
        self.key = Some(key);
        self
    }

    /// Reads the time from `clock` (default [`SystemClock`]): token lifetimes, session expiry
    /// and creation timestamps. Tests pass a `primehub_model::clock::ManualClock`, shared with
    /// the [`TokenVerifier`](crate::token::TokenVerifier) under test, and advance it.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Uses counter-based UUIDs (`00000000-0000-0000-0000-000000000001`, …) and predictable
    /// client secrets, for snapshot tests.
    pub fn deterministic_ids(mut self, deterministic: bool) -> Self {
        self.deterministic_ids = deterministic;
        self
    }

    /// The public base URL (issuer prefix) until [`FakeKeycloak::router`] or
    /// [`FakeKeycloak::serve`] sets it; default `http://localhost:8080`.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// Lifetime of access tokens in seconds (default 300).
    pub fn access_token_lifespan(mut self, seconds: i64) -> Self {
        self.access_lifespan = seconds;
        self
    }

    /// Lifetime of online refresh tokens in seconds (default 1800).
    pub fn refresh_token_lifespan(mut self, seconds: i64) -> Self {
        self.refresh_lifespan = seconds;
        self
    }

    /// Builds the fake: generates the signing key unless one was given, creates `master`.
    pub fn build(self) -> Result<FakeKeycloak> {
        let key = match self.key {
            Some(k) => k,
            None => FakeSigningKey::generate()?,
        };
        let mut store = Store {
            realms: BTreeMap::new(),
            key,
            clock: self.clock,
            deterministic: self.deterministic_ids,
            counter: 0,
            base_url: self.base_url.trim_end_matches('/').to_owned(),
            access_lifespan: self.access_lifespan,
            refresh_lifespan: self.refresh_lifespan,
        };
        store.create_realm("master")?;
        let now = store.now_ms();
        let role_id = store.new_id();
        let user_id = store.new_id();
        let master = store.realm_mut("master")?;
        // Master has no realm-management client (Keycloak has `<realm>-realm` clients there).
        let rm: Vec<String> = master
            .clients
            .values()
            .filter(|c| c.client_id == REALM_MANAGEMENT_CLIENT)
            .map(|c| c.id.clone())
            .collect();
        for id in rm {
            master.clients.remove(&id);
            master
                .roles
                .retain(|_, r| r.client.as_deref() != Some(id.as_str()));
        }
        master.create_role(role_id.clone(), "admin", Some("${role_admin}"), None)?;
        master.create_user(
            user_id.clone(),
            now,
            UserWrite {
                username: Some(self.admin_username),
                enabled: Some(true),
                password: Some((self.admin_password, false)),
                ..UserWrite::default()
            },
        )?;
        master.user_roles.insert((user_id, role_id));
        Ok(FakeKeycloak {
            inner: Arc::new(Mutex::new(store)),
        })
    }
}

/// A client to add to a fake realm with [`FakeRealm::add_client`].
#[derive(Debug, Clone, Default)]
pub struct ClientSpec {
    /// The `clientId`.
    pub client_id: String,
    /// The secret of a confidential client (generated when `None`); ignored for public clients.
    pub secret: Option<String>,
    /// A public client (no secret).
    pub public: bool,
    /// Service accounts enabled: creates the user `service-account-<client id>`.
    pub service_account: bool,
    /// Direct access grants (the password grant) enabled.
    pub direct_access: bool,
    /// Valid redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Web origins.
    pub web_origins: Vec<String>,
    /// Keycloak `ProtocolMapperRepresentation`s, evaluated when tokens are issued for this client.
    pub protocol_mappers: Vec<Value>,
}

/// What [`FakeKeycloak::bootstrap_primehub`] creates.
#[derive(Debug, Clone)]
pub struct BootstrapOptions {
    /// The PrimeHub administrator (default `phadmin`).
    pub admin_username: String,
    /// Their password (default `phadmin`).
    pub admin_password: String,
    /// The secret of the `admin-ui` client (generated when `None`).
    pub admin_ui_secret: Option<String>,
    /// The secret of the `jupyterhub` client (generated when `None`).
    pub jupyterhub_secret: Option<String>,
    /// Redirect URIs of `admin-ui` and `jupyterhub` (default `["*"]`).
    pub redirect_uris: Vec<String>,
}

impl Default for BootstrapOptions {
    fn default() -> Self {
        BootstrapOptions {
            admin_username: "phadmin".into(),
            admin_password: "phadmin".into(),
            admin_ui_secret: None,
            jupyterhub_secret: None,
            redirect_uris: vec!["*".into()],
        }
    }
}

/// The ids and secrets of a realm set up by [`FakeKeycloak::bootstrap_primehub`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrimehubRealm {
    /// The realm name.
    pub realm: String,
    /// The secret of the confidential client `admin-ui`.
    pub admin_ui_client_secret: String,
    /// The secret of the confidential client `jupyterhub`.
    pub jupyterhub_client_secret: String,
    /// The id of the `everyone` group.
    pub everyone_group_id: String,
    /// The id of the PrimeHub administrator.
    pub admin_user_id: String,
}

impl BootstrapOptions {
    /// The [`RealmBootstrap`](crate::bootstrap::RealmBootstrap) these options describe.
    pub fn to_spec(&self, realm: &str) -> crate::bootstrap::RealmBootstrap {
        let mut spec = crate::bootstrap::RealmBootstrap::new(realm)
            .with_admin_user(&self.admin_username, &self.admin_password);
        spec.admin_ui_redirect_uris = self.redirect_uris.clone();
        spec.jupyterhub_redirect_uris = self.redirect_uris.clone();
        spec.admin_ui_secret = self.admin_ui_secret.clone();
        spec.jupyterhub_secret = self.jupyterhub_secret.clone();
        spec
    }
}

/// The fake's admin REST face called in process: requests go through [`http::router`] with
/// `tower::ServiceExt::oneshot`, authenticated as a master-realm administrator.
struct InProcessAdmin {
    router: axum::Router,
    token: String,
}

#[async_trait::async_trait]
impl crate::bootstrap::AdminRest for InProcessAdmin {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &[&str],
        query: &[(&str, &str)],
        body: Option<&Value>,
        ctx: &crate::http::Ctx<'_>,
    ) -> Result<crate::http::Reply> {
        use tower::ServiceExt;
        let mut url = url::Url::parse("http://fake.invalid/admin/realms")
            .map_err(|e| KeycloakError::invalid("url", e.to_string()))?;
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.extend(path);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let uri = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        let payload = match body {
            Some(v) => {
                serde_json::to_vec(v).map_err(|e| KeycloakError::invalid("body", e.to_string()))?
            }
            None => Vec::new(),
        };
        let request = axum::http::Request::builder()
            .method(method.as_str())
            .uri(uri)
            .header("authorization", format!("Bearer {}", self.token))
            .header("content-type", "application/json")
            .body(axum::body::Body::from(payload))
            .map_err(|e| KeycloakError::invalid("request", e.to_string()))?;
        let response =
            self.router
                .clone()
                .oneshot(request)
                .await
                .map_err(|e| KeycloakError::Transport {
                    message: e.to_string(),
                })?;
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .map_err(|e| KeycloakError::Transport {
                message: e.to_string(),
            })?;
        let status =
            reqwest::StatusCode::from_u16(status).map_err(|e| KeycloakError::Unexpected {
                status,
                body: e.to_string(),
            })?;
        if status.is_success() {
            Ok(crate::http::Reply {
                location,
                body: bytes.to_vec(),
            })
        } else {
            Err(crate::http::map_status(status, &bytes, ctx))
        }
    }
}

pub use crate::bootstrap::jupyterhub_protocol_mappers;

impl FakeKeycloak {
    /// A fake with realm `master` and super-admin `admin` / `admin`.
    pub fn new() -> Result<FakeKeycloak> {
        FakeKeycloak::builder().build()
    }

    /// Options for a fake.
    pub fn builder() -> FakeKeycloakBuilder {
        FakeKeycloakBuilder {
            admin_username: "admin".into(),
            admin_password: "admin".into(),
            key: None,
            clock: Arc::new(SystemClock),
            deterministic_ids: false,
            base_url: "http://localhost:8080".into(),
            access_lifespan: DEFAULT_ACCESS_TOKEN_LIFESPAN,
            refresh_lifespan: DEFAULT_REFRESH_TOKEN_LIFESPAN,
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Store> {
        // A panic while the lock was held leaves the state as it was at the panic; keep going.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Creates a realm as Keycloak 26.7 creates one: the realm roles `offline_access`,
    /// `uma_authorization` and `default-roles-<realm>`, and the built-in clients
    /// `realm-management` (owning `realm-admin`, a composite of its 21 other roles), `account`,
    /// `account-console`, `broker`, `security-admin-console` and `admin-cli` (public, direct
    /// access grants) with their roles, composites and scope mappings. A realm of that name
    /// already existing is [`KeycloakError::Conflict`].
    pub fn create_realm(&self, name: &str) -> Result<FakeRealm> {
        self.lock().create_realm(name)?;
        Ok(FakeRealm {
            keycloak: self.clone(),
            name: name.to_owned(),
            actor: Default::default(),
        })
    }

    /// The realm with this name.
    pub fn realm(&self, name: &str) -> Result<FakeRealm> {
        self.lock().realm(name)?;
        Ok(FakeRealm {
            keycloak: self.clone(),
            name: name.to_owned(),
            actor: Default::default(),
        })
    }

    /// The names of all realms, sorted.
    pub fn realm_names(&self) -> Vec<String> {
        self.lock().realms.keys().cloned().collect()
    }

    /// The signing key.
    pub fn signing_key(&self) -> FakeSigningKey {
        self.lock().key.clone()
    }

    /// The JWKS every realm publishes, as JSON (see [`FakeSigningKey::jwk_set`] for the typed
    /// set).
    pub fn jwks(&self) -> Value {
        self.lock().key.jwks()
    }

    /// The public base URL tokens name in `iss` (`<base_url>/realms/<realm>`).
    pub fn base_url(&self) -> String {
        self.lock().base_url.clone()
    }

    /// Sets the public base URL (done by [`router`](Self::router) and [`serve`](Self::serve)).
    pub fn set_base_url(&self, base_url: &str) {
        self.lock().base_url = base_url.trim_end_matches('/').to_owned();
    }

    /// The issuer of a realm's tokens: `<base_url>/realms/<realm>`.
    pub fn issuer(&self, realm: &str) -> String {
        self.lock().issuer(realm)
    }

    /// Now, as the fake sees it (Unix seconds, from its [`Clock`]).
    pub fn now(&self) -> i64 {
        self.lock().now()
    }

    /// The clock the fake reads.
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.lock().clock.clone()
    }

    /// Sets up PrimeHub's realm shape by running [`crate::bootstrap`] — the same code a real
    /// Keycloak gets from `primehub bootstrap` — against this fake's admin REST face, in process
    /// (no socket). See the bootstrap's module docs for the exact shape. On a realm without
    /// users this is PrimeHub's fresh install: the administrator `options.admin_username` with
    /// `options.admin_password`, group `phusers`, and the default images and instance types
    /// global.
    ///
    /// Idempotent: run again it creates nothing and returns the same ids and secrets. The
    /// client secrets in `options` apply when the clients are created.
    pub async fn bootstrap_primehub(
        &self,
        realm: &str,
        options: &BootstrapOptions,
    ) -> Result<PrimehubRealm> {
        let outcome = self.bootstrap(&options.to_spec(realm)).await?;
        let admin_user_id = outcome.admin_user_id.clone().ok_or_else(|| {
            KeycloakError::not_found(format!(
                "user {} (the realm had users before the bootstrap)",
                options.admin_username
            ))
        })?;
        Ok(PrimehubRealm {
            realm: outcome.realm,
            admin_ui_client_secret: outcome.admin_ui_client_secret,
            jupyterhub_client_secret: outcome.jupyterhub_client_secret,
            everyone_group_id: outcome.everyone_group_id,
            admin_user_id,
        })
    }

    /// Runs [`crate::bootstrap`] with `spec` against this fake, in process, and returns the full
    /// outcome (what was created and what was present).
    pub async fn bootstrap(
        &self,
        spec: &crate::bootstrap::RealmBootstrap,
    ) -> Result<crate::bootstrap::BootstrapOutcome> {
        let api = InProcessAdmin {
            router: http::router(self.clone()),
            token: self.master_admin_token()?,
        };
        crate::bootstrap::run(&api, spec).await
    }

    /// An axum router serving this fake's OIDC endpoints and admin REST API, with `base_url`
    /// (for example `http://127.0.0.1:8080`) as the public URL in issuers and `Location`
    /// headers.
    pub fn router(&self, base_url: &str) -> axum::Router {
        self.set_base_url(base_url);
        http::router(self.clone())
    }

    /// Serves this fake on `listener` (in a spawned task) until the returned server is shut
    /// down or dropped. The base URL becomes `http://<listener address>`.
    pub fn serve(&self, listener: tokio::net::TcpListener) -> Result<FakeServer> {
        let keycloak = self.clone();
        FakeServer::start(listener, move |url| keycloak.router(url), || {}).map_err(|e| {
            KeycloakError::Transport {
                message: e.to_string(),
            }
        })
    }
}

/// A running HTTP server of a fake (see [`FakeKeycloak::serve`]; the fake cluster of
/// `primehub-reconcile` uses it too). Dropping it stops the server.
#[derive(Debug)]
pub struct FakeServer {
    addr: SocketAddr,
    url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<()>>,
}

impl FakeServer {
    /// Serves the router `make_router(base_url)` on `listener` in a background task until
    /// [`shutdown`](Self::shutdown) or drop; `on_shutdown` runs when shutting down starts (for
    /// example to end open streams). Fails only when the listener has no local address.
    pub fn start(
        listener: tokio::net::TcpListener,
        make_router: impl FnOnce(&str) -> axum::Router,
        on_shutdown: impl FnOnce() + Send + 'static,
    ) -> std::io::Result<FakeServer> {
        let addr = listener.local_addr()?;
        let url = format!("http://{addr}");
        let router = make_router(&url);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                    on_shutdown();
                })
                .await;
        });
        Ok(FakeServer {
            addr,
            url,
            shutdown: Some(tx),
            handle: Some(handle),
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL, `http://<addr>` (no trailing slash).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Stops accepting connections and waits for the server task to finish.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(handle) = self.handle.take() {
            let _ = handle.await;
        }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// One realm of a [`FakeKeycloak`]: implements [`KeycloakAdmin`](crate::KeycloakAdmin), issues
/// tokens, and has fake-only helpers for tests. Cheap to clone.
#[derive(Debug, Clone)]
pub struct FakeRealm {
    keycloak: FakeKeycloak,
    name: String,
    /// Who the admin events of this handle's changes name (the HTTP face sets the caller).
    actor: crate::representation::AdminEventAuth,
}

impl FakeRealm {
    /// The [`FakeKeycloak`] this realm belongs to.
    pub fn keycloak(&self) -> &FakeKeycloak {
        &self.keycloak
    }

    /// The realm name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `f` on this realm's state.
    pub(crate) fn with<T>(&self, f: impl FnOnce(&RealmState) -> Result<T>) -> Result<T> {
        let store = self.keycloak.lock();
        f(store.realm(&self.name)?)
    }

    /// Runs `f` on this realm's state, mutably, with the store's id generator and clock.
    pub(crate) fn with_mut<T>(
        &self,
        f: impl FnOnce(&mut RealmState, &mut IdSource<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut store = self.keycloak.lock();
        store.realm(&self.name)?;
        let now_ms = store.now_ms();
        // Borrow the id generator and the realm separately.
        let Store {
            realms,
            deterministic,
            counter,
            ..
        } = &mut *store;
        let realm = realms
            .get_mut(&self.name)
            .ok_or_else(|| KeycloakError::not_found(format!("realm {}", self.name)))?;
        let mut ids = IdSource {
            deterministic: *deterministic,
            counter,
            now_ms,
        };
        realm.event_now_ms = now_ms;
        realm.event_actor = self.actor.clone();
        f(realm, &mut ids)
    }

    /// Adds a client; an existing `clientId` is [`KeycloakError::Conflict`]. Returns the client's
    /// UUID.
    pub fn add_client(&self, spec: &ClientSpec) -> Result<String> {
        self.with_mut(|realm, ids| {
            if realm.client_by_client_id(&spec.client_id).is_ok() {
                return Err(KeycloakError::conflict(format!(
                    "Client {} already exists",
                    spec.client_id
                )));
            }
            let id = ids.id();
            let secret = if spec.public {
                None
            } else {
                Some(spec.secret.clone().unwrap_or_else(|| ids.secret()))
            };
            let mut client = ClientRec::new(id.clone(), &spec.client_id, secret, spec.public);
            client.direct_access = spec.direct_access;
            client.redirect_uris = spec.redirect_uris.clone();
            client.web_origins = spec.web_origins.clone();
            client.protocol_mappers = spec.protocol_mappers.clone();
            realm.clients.insert(id.clone(), client);
            if spec.service_account {
                enable_service_account(realm, ids, &id)?;
            }
            Ok(id)
        })
    }

    /// Sets a user's password (not temporary), looked up by username.
    pub fn set_password(&self, username: &str, password: &str) -> Result<()> {
        self.with_mut(|realm, _| {
            let id = realm
                .user_by_username(username)
                .map(|u| u.id.clone())
                .ok_or_else(|| KeycloakError::not_found(format!("user {username}")))?;
            realm.set_password(&id, password, false)
        })
    }

    /// Maps the client role `role` of the client `client_id` onto the user `username`
    /// (idempotent).
    pub fn grant_client_role(&self, username: &str, client_id: &str, role: &str) -> Result<()> {
        self.with_mut(|realm, _| {
            let user_id = realm
                .user_by_username(username)
                .map(|u| u.id.clone())
                .ok_or_else(|| KeycloakError::not_found(format!("user {username}")))?;
            let client = realm.client_by_client_id(client_id)?.id.clone();
            let role_id = realm.client_role(&client, role)?.id.clone();
            realm.user_roles.insert((user_id, role_id));
            Ok(())
        })
    }

    /// Maps the realm role `role` directly onto the user `username` (idempotent).
    pub fn grant_realm_role(&self, username: &str, role: &str) -> Result<()> {
        self.with_mut(|realm, _| {
            let user_id = realm
                .user_by_username(username)
                .map(|u| u.id.clone())
                .ok_or_else(|| KeycloakError::not_found(format!("user {username}")))?;
            let role_id = realm.realm_role(role)?.id.clone();
            realm.user_roles.insert((user_id, role_id));
            Ok(())
        })
    }

    /// The secret of a confidential client.
    pub fn client_secret(&self, client_id: &str) -> Result<String> {
        self.with(|r| {
            r.client_by_client_id(client_id)?
                .secret
                .clone()
                .ok_or_else(|| KeycloakError::not_found(format!("secret of client {client_id}")))
        })
    }

    /// The UUID of the client with this `clientId`.
    pub fn client_uuid(&self, client_id: &str) -> Result<String> {
        self.with(|r| Ok(r.client_by_client_id(client_id)?.id.clone()))
    }

    /// Sets the user profile's `unmanagedAttributePolicy` (`ENABLED`, `ADMIN_EDIT`,
    /// `ADMIN_VIEW`, or `None` to drop unmanaged attributes on write, Keycloak 26's default).
    pub fn set_user_profile_policy(&self, policy: Option<&str>) -> Result<()> {
        self.with_mut(|realm, _| {
            if let Some(obj) = realm.user_profile.as_object_mut() {
                match policy {
                    Some(p) => {
                        obj.insert("unmanagedAttributePolicy".into(), json!(p));
                    }
                    None => {
                        obj.remove("unmanagedAttributePolicy");
                    }
                }
            }
            Ok(())
        })
    }

    /// The e-mails this realm "sent" (execute-actions e-mails), oldest first; for assertions in
    /// tests. The fake delivers nothing: it records what a real Keycloak would have handed to
    /// the realm's SMTP server.
    pub fn sent_emails(&self) -> Result<Vec<SentEmail>> {
        self.with(|r| Ok(r.sent_emails.clone()))
    }

    /// Gives the user `username` an OTP (authenticator app) credential labelled `label`, as a
    /// realm import carrying an `otp` credential does on Keycloak; returns the credential id.
    pub fn add_otp_credential(&self, username: &str, label: Option<&str>) -> Result<String> {
        self.with_mut(|realm, ids| {
            let user_id = realm
                .user_by_username(username)
                .map(|u| u.id.clone())
                .ok_or_else(|| KeycloakError::not_found(format!("user {username}")))?;
            let id = ids.id();
            realm.add_otp_credential(&user_id, id, label.map(str::to_owned))
        })
    }

    /// Every session (online and offline) of the realm, as `(session id, user id, client
    /// uuid, offline)`; for assertions in tests.
    pub fn sessions(&self) -> Result<Vec<(String, String, String, bool)>> {
        self.with(|r| {
            Ok(r.sessions
                .values()
                .map(|s| {
                    (
                        s.id.clone(),
                        s.user_id.clone(),
                        s.client_uuid.clone(),
                        s.offline,
                    )
                })
                .collect())
        })
    }
}

/// Ids, secrets and the time for operations inside [`FakeRealm::with_mut`].
pub(crate) struct IdSource<'a> {
    deterministic: bool,
    counter: &'a mut u128,
    now_ms: i64,
}

impl IdSource<'_> {
    pub(crate) fn id(&mut self) -> String {
        if self.deterministic {
            *self.counter += 1;
            uuid::Uuid::from_u128(*self.counter).to_string()
        } else {
            uuid::Uuid::new_v4().to_string()
        }
    }

    pub(crate) fn secret(&mut self) -> String {
        if self.deterministic {
            *self.counter += 1;
            format!("secret-{:026}", self.counter)
        } else {
            use rand::Rng;
            rand::rng()
                .sample_iter(rand::distr::Alphanumeric)
                .take(32)
                .map(char::from)
                .collect()
        }
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.now_ms
    }
}

/// Turns on service accounts for a client: creates `service-account-<clientId>` if missing.
pub(crate) fn enable_service_account(
    realm: &mut RealmState,
    ids: &mut IdSource<'_>,
    client_uuid: &str,
) -> Result<()> {
    let client_id = {
        let c = realm
            .clients
            .get_mut(client_uuid)
            .ok_or_else(|| KeycloakError::not_found(format!("client {client_uuid}")))?;
        c.service_accounts = true;
        c.client_id.clone()
    };
    let exists = realm
        .users
        .values()
        .any(|u| u.service_account_client.as_deref() == Some(client_uuid));
    if exists {
        return Ok(());
    }
    let id = ids.id();
    let username = format!("service-account-{}", client_id.to_lowercase());
    if realm.user_by_username(&username).is_some() {
        return Err(KeycloakError::conflict(format!(
            "user {username} already exists"
        )));
    }
    realm.users.insert(
        id.clone(),
        store::UserRec {
            id: id.clone(),
            username,
            email: None,
            email_verified: false,
            first_name: None,
            last_name: None,
            enabled: true,
            created: ids.now_ms(),
            attributes: BTreeMap::new(),
            password: None,
            required_actions: Vec::new(),
            service_account_client: Some(client_uuid.to_owned()),
            credentials: Vec::new(),
        },
    );
    // Service-account users hold `default-roles-<realm>` too, as every Keycloak user.
    if realm.roles.contains_key(&realm.default_role) {
        let default_role = realm.default_role.clone();
        realm.user_roles.insert((id, default_role));
    }
    Ok(())
}
