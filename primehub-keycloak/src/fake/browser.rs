//! The browser side of OIDC, answered as Keycloak 26 answers it: the authorization endpoint
//! with its login page, the SSO cookies, authorization codes (exchanged by the token endpoint's
//! `authorization_code` grant, [`exchange_code`]) and the end-session endpoint.
//!
//! Every answer below was checked against Keycloak 26.7 (`tests/it/browser_flow.rs` runs the
//! same flows against this fake and against a real Keycloak):
//!
//! - `GET`/`POST /realms/{realm}/protocol/openid-connect/auth`: a missing `client_id` (400
//!   "Invalid Request"), an unknown (400 "Client not found."), disabled (400 "Client
//!   disabled.") or bearer-only client (403) and a `redirect_uri` that does not match the
//!   client's (400 "Invalid parameter: redirect_uri") are Keycloak's error page, never a
//!   redirect. Everything else goes back to the redirect URI with `error`, `error_description`,
//!   `state` and `iss`: a missing or unsupported `response_type`, a bad `response_mode`, the
//!   implicit and hybrid flows (`unauthorized_client`: the fake's clients have the implicit flow
//!   disabled, Keycloak's default), an unknown `scope` (`invalid_scope`), bad PKCE parameters
//!   (the client attribute `pkce.code.challenge.method` enforces a method), `prompt=none`
//!   without an SSO session (`login_required`). Redirect URIs match as Keycloak matches them:
//!   exact strings (query included, host case-sensitive), a trailing `*` as a prefix (query and
//!   fragment ignored, the bare prefix without its `/` too, `http://host*` as `http://host/*`)
//!   unless the URI has user info or a `/../` segment, `*` for any http(s) URI, relative
//!   registered URIs under the client's `rootUrl` or the server's origin, any port for a
//!   registered `http` loopback URI without one, never a URI that carries OIDC response
//!   parameters (`code`, `state`, …), and no `redirect_uri` only for a non-OpenID request of a
//!   client with exactly one registered URI. Response modes `query`, `fragment` and `form_post`.
//! - The login page: an HTML form (`id="kc-form-login"`) whose `action` is
//!   `/realms/{realm}/login-actions/authenticate?session_code=…&execution=…&client_id=…&tab_id=…&client_data=…`
//!   and takes `username` (or e-mail) and `password`. A wrong password or unknown user is the
//!   page again (200) with "Invalid username or password.", a disabled user (right password)
//!   the page with "Account is disabled, contact your administrator."; a stale `session_code`
//!   is a 302 back to the current page; no login in progress (no `AUTH_SESSION_ID` cookie) is
//!   Keycloak's 400 "Restart login cookie not found…" page. `login_hint` fills the username;
//!   `prompt=login` and an exceeded `max_age` ask the signed-in user for the password again
//!   ("Please re-authenticate to continue") and keep the session.
//! - Success is a 302 to the redirect URI with `state`, `session_state`, `iss` and `code`
//!   (`<id>.<session id>.<client uuid>`, valid 60 s, single use) and the cookies
//!   `KEYCLOAK_IDENTITY` (HS512, `typ` `Serialized-ID`) and `KEYCLOAK_SESSION` (`Max-Age`
//!   36000); the login page sets `AUTH_SESSION_ID`, `KC_AUTH_SESSION_HASH` (`Max-Age` 60) and
//!   `KC_RESTART`. All have `Path=/realms/{realm}/`, `Secure`, `SameSite=None` (and `HttpOnly`
//!   but for the last two and `KEYCLOAK_SESSION`), `Version=1`, even on plain http — a browser
//!   sends them to `localhost` anyway, and a script must too.
//! - SSO: a valid `KEYCLOAK_IDENTITY` gives any client of the realm a code at once (the same
//!   `session_state`, the original `auth_time`); an invalid one is expired and the login page
//!   shown.
//! - The code exchange ([`exchange_code`]): Keycloak's errors in Keycloak's order, a code spent
//!   by its first use whatever its outcome, a second use "Code not valid" that also detaches the
//!   client from the session (its refresh tokens then fail with "Session doesn't have required
//!   client"), PKCE `S256` and `plain`, the ID token with `nonce`, `auth_time`, `sid`,
//!   `at_hash`. `offline_access` gives an offline token for the same session id; when the login
//!   that created the session asked for `offline_access`, the online session ends there (SSO and
//!   the other clients' refresh tokens with it), as Keycloak does.
//! - `GET`/`POST /realms/{realm}/protocol/openid-connect/logout`: with a valid `id_token_hint`
//!   the session ends and the answer is a 302 to `post_logout_redirect_uri` (checked against the
//!   client attribute `post.logout.redirect.uris`, `##`-separated, `+` for the redirect URIs,
//!   the redirect URIs when the attribute is absent) with `state`, or the "You are logged out"
//!   page; without one, the "Do you want to log out?" page whose form posts to
//!   `…/logout/logout-confirm`. A `POST` with `refresh_token` and client credentials is the
//!   back-channel logout: 204, the online (or, for an offline token, the offline) session ends.
//!
//! Not served (Keycloak would show a page the fake does not have): required actions, OTP,
//! consent, registration, password reset, identity providers, "remember me", JWT-secured
//! response modes (`*.jwt`, answered "Invalid parameter: response_mode"). A user with a required
//! action or an OTP credential gets an honest 400 error page instead of a session.

// Handlers return ready responses on both sides.
#![allow(clippy::result_large_err)]

use std::collections::{BTreeMap, BTreeSet};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Header, Validation};
use rsa::sha2::{Digest, Sha256};
use serde_json::{Map, Value, json};

use super::FakeKeycloak;
use super::oidc::{Issue, OAuthError, TokenRequest, TokenResponse, constant_time_eq};
use super::store::{ClientRec, RealmState, SessionRec, Store};

/// Keycloak's SSO Session Max (seconds): the identity cookie's and `KEYCLOAK_SESSION`'s life.
const SSO_MAX_SECONDS: i64 = 36_000;
/// Keycloak's access code lifespan (seconds).
const CODE_LIFESPAN: i64 = 60;
/// The client scopes every client has by default (Keycloak 26's realm defaults).
const DEFAULT_SCOPES: [&str; 6] = ["web-origins", "acr", "profile", "roles", "basic", "email"];
/// The optional client scopes every client has (Keycloak 26's realm defaults).
const OPTIONAL_SCOPES: [&str; 5] = [
    "address",
    "phone",
    "offline_access",
    "organization",
    "microprofile-jwt",
];
/// Redirect URI query or fragment parameters Keycloak refuses (they would shadow its answer).
const FORBIDDEN_REDIRECT_PARAMS: [&str; 13] = [
    "code",
    "id_token",
    "access_token",
    "token_type",
    "expires_in",
    "state",
    "iss",
    "error",
    "error_description",
    "session_state",
    "response",
    "kc_action",
    "kc_action_status",
];

const RESTART_COOKIE_MISSING: &str = "Restart login cookie not found. It may have expired; it may \
    have been deleted or cookies are disabled in your browser. If cookies are disabled then \
    enable them. Click Back to Application to login again.";
const INVALID_CREDENTIALS: &str = "Invalid username or password.";
const ACCOUNT_DISABLED: &str = "Account is disabled, contact your administrator.";
const REAUTHENTICATE: &str = "Please re-authenticate to continue";

const AUTH_SESSION_ID: &str = "AUTH_SESSION_ID";
const AUTH_SESSION_HASH: &str = "KC_AUTH_SESSION_HASH";
const KC_RESTART: &str = "KC_RESTART";
const KEYCLOAK_IDENTITY: &str = "KEYCLOAK_IDENTITY";
const KEYCLOAK_SESSION: &str = "KEYCLOAK_SESSION";

/// The browser-facing state of one realm: logins in progress, SSO sessions, unused codes.
#[derive(Debug, Default)]
pub(crate) struct BrowserState {
    /// Logins in progress: `AUTH_SESSION_ID` → tab id → login.
    logins: BTreeMap<String, BTreeMap<String, LoginTab>>,
    /// SSO sessions (online browser sessions) by session id.
    sessions: BTreeMap<String, SsoSession>,
    /// Unused authorization codes by their id.
    codes: BTreeMap<String, CodeRec>,
    /// Logout confirmation pages shown, by their `session_code`.
    logouts: BTreeMap<String, PendingLogout>,
    /// When the user of a browser session authenticated (Unix seconds), by session id; kept
    /// for the session's offline twin too.
    auth_times: BTreeMap<String, i64>,
}

impl BrowserState {
    /// The `auth_time` of the browser session `sid` (none for sessions of other grants).
    pub(crate) fn auth_time(&self, sid: &str) -> Option<i64> {
        self.auth_times.get(sid).copied()
    }

    /// Whether `sid` names a browser (SSO) session that has not been logged out.
    pub(crate) fn is_user_session(&self, sid: &str) -> bool {
        self.sessions.contains_key(sid)
    }
}

/// An online browser session: the user, its times and the clients that joined it.
#[derive(Debug, Clone)]
struct SsoSession {
    user_id: String,
    started_ms: i64,
    last_ms: i64,
    /// The clients attached (each has a [`SessionRec`] with this session id).
    clients: BTreeSet<String>,
    /// The login that started it asked for `offline_access`: the first offline token ends it.
    offline_login: bool,
}

/// One login form in progress (a browser tab).
#[derive(Debug, Clone)]
struct LoginTab {
    request: AuthRequest,
    session_code: String,
    /// Re-authentication of this SSO session (`prompt=login`, `max_age`).
    reauth: Option<String>,
    feedback: Feedback,
    /// What the user typed as username (or the `login_hint`).
    attempted: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Feedback {
    Clear,
    InvalidCredentials,
    Disabled,
}

/// A checked authorization request.
#[derive(Debug, Clone)]
struct AuthRequest {
    client_uuid: String,
    client_id: String,
    redirect_uri: String,
    redirect_param: Option<String>,
    response_type: String,
    issue_code: bool,
    mode: Mode,
    state: Option<String>,
    nonce: Option<String>,
    scope: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

/// An unused authorization code.
#[derive(Debug, Clone)]
struct CodeRec {
    sid: String,
    client_uuid: String,
    user_id: String,
    redirect_param: Option<String>,
    scope: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    expires: i64,
    /// Authenticated by the SSO cookie (no form): the tokens' `acr` is "0".
    sso: bool,
}

#[derive(Debug, Clone)]
struct PendingLogout {
    redirect: Option<String>,
    state: Option<String>,
}

/// How the authorization response travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Query,
    Fragment,
    FormPost,
}

impl Mode {
    fn parse(mode: &str) -> Option<Mode> {
        match mode {
            "query" => Some(Mode::Query),
            "fragment" => Some(Mode::Fragment),
            "form_post" => Some(Mode::FormPost),
            _ => None,
        }
    }
}

/// A parsed `response_type`.
#[derive(Debug, Clone, Copy)]
struct ResponseType {
    code: bool,
    token: bool,
    id_token: bool,
    none: bool,
}

impl ResponseType {
    fn parse(value: &str) -> Option<ResponseType> {
        let mut rt = ResponseType {
            code: false,
            token: false,
            id_token: false,
            none: false,
        };
        for part in value.split(' ') {
            match part {
                "code" => rt.code = true,
                "token" => rt.token = true,
                "id_token" => rt.id_token = true,
                "none" => rt.none = true,
                _ => return None,
            }
        }
        if rt.none && (rt.code || rt.token || rt.id_token) {
            return None;
        }
        Some(rt)
    }

    fn implicit(self) -> bool {
        self.token || self.id_token
    }

    fn default_mode(self) -> Mode {
        if self.implicit() {
            Mode::Fragment
        } else {
            Mode::Query
        }
    }
}

// ----- sessions -----

impl RealmState {
    /// The session record of client `client_uuid` in session `sid` (online or offline).
    pub(crate) fn client_session(
        &self,
        sid: &str,
        client_uuid: &str,
        offline: bool,
    ) -> Option<&SessionRec> {
        self.sessions
            .values()
            .find(|s| s.id == sid && s.client_uuid == client_uuid && s.offline == offline)
    }

    /// Records a use of client `client_uuid`'s session `sid` (a refresh).
    pub(crate) fn touch_client_session(
        &mut self,
        sid: &str,
        client_uuid: &str,
        offline: bool,
        now_ms: i64,
    ) {
        for s in self.sessions.values_mut() {
            if s.id == sid && s.client_uuid == client_uuid && s.offline == offline {
                s.last_access = now_ms;
            }
        }
        if !offline && let Some(sso) = self.browser.sessions.get_mut(sid) {
            sso.last_ms = now_ms;
        }
    }

    /// Whether the SSO session `sid` still stands (not logged out, not expired, its user
    /// enabled). A session whose client records were all removed from outside (an admin
    /// logout, the user deleted) counts as ended.
    fn sso_alive(&self, sid: &str, now_ms: i64, idle_seconds: i64) -> bool {
        let Some(sso) = self.browser.sessions.get(sid) else {
            return false;
        };
        let records: Vec<&SessionRec> = self
            .sessions
            .values()
            .filter(|s| s.id == sid && !s.offline)
            .collect();
        if !sso.clients.is_empty() && records.is_empty() {
            return false;
        }
        let last = records
            .iter()
            .map(|s| s.last_access)
            .chain([sso.last_ms])
            .max()
            .unwrap_or(sso.last_ms);
        let user_ok = self.users.get(&sso.user_id).is_some_and(|u| u.enabled);
        user_ok
            && now_ms - sso.started_ms <= SSO_MAX_SECONDS * 1000
            && now_ms - last <= idle_seconds * 1000
    }

    /// Adds client `client_uuid` to session `sid` (online or offline) unless it is there.
    fn attach_client(
        &mut self,
        sid: &str,
        user_id: &str,
        client_uuid: &str,
        offline: bool,
        now_ms: i64,
    ) {
        if self.client_session(sid, client_uuid, offline).is_none() {
            // The first record of a session is keyed by the session id, as the password grant
            // keys its sessions; further clients and the offline twin by a composite key.
            let key = if self.sessions.contains_key(sid) {
                format!(
                    "{sid}/{client_uuid}/{}",
                    if offline { "offline" } else { "online" }
                )
            } else {
                sid.to_owned()
            };
            self.sessions.insert(
                key,
                SessionRec {
                    id: sid.to_owned(),
                    user_id: user_id.to_owned(),
                    client_uuid: client_uuid.to_owned(),
                    started: now_ms,
                    last_access: now_ms,
                    offline,
                },
            );
        }
        self.touch_client_session(sid, client_uuid, offline, now_ms);
        if !offline && let Some(sso) = self.browser.sessions.get_mut(sid) {
            sso.clients.insert(client_uuid.to_owned());
        }
    }

    /// Removes client `client_uuid` from the online session `sid` (a reused code).
    fn detach_client(&mut self, sid: &str, client_uuid: &str) {
        self.sessions
            .retain(|_, s| !(s.id == sid && s.client_uuid == client_uuid && !s.offline));
        if let Some(sso) = self.browser.sessions.get_mut(sid) {
            sso.clients.remove(client_uuid);
        }
        self.rekey(sid);
    }

    /// Keeps a record of session `sid` under the key `sid` while it has one, so a lookup by
    /// session id (as for the password grant's sessions) finds it.
    pub(super) fn rekey(&mut self, sid: &str) {
        if self.sessions.contains_key(sid) {
            return;
        }
        let other = self
            .sessions
            .iter()
            .find(|(_, s)| s.id == sid)
            .map(|(k, _)| k.clone());
        if let Some(record) = other.and_then(|k| self.sessions.remove(&k)) {
            self.sessions.insert(sid.to_owned(), record);
        }
    }

    /// Ends the online session `sid`: its SSO record and every client's online record.
    fn end_online_session(&mut self, sid: &str) {
        self.browser.sessions.remove(sid);
        self.sessions.retain(|_, s| s.id != sid || s.offline);
        self.rekey(sid);
        self.prune_auth_times();
    }

    /// Ends the offline session `sid` (every client's offline record).
    fn end_offline_session(&mut self, sid: &str) {
        self.sessions.retain(|_, s| !(s.id == sid && s.offline));
        self.rekey(sid);
        self.prune_auth_times();
    }

    fn prune_auth_times(&mut self) {
        let live: BTreeSet<&str> = self
            .sessions
            .values()
            .map(|s| s.id.as_str())
            .chain(self.browser.sessions.keys().map(String::as_str))
            .collect();
        let keep: BTreeMap<String, i64> = self
            .browser
            .auth_times
            .iter()
            .filter(|(sid, _)| live.contains(sid.as_str()))
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        self.browser.auth_times = keep;
    }

    /// Attaches the request's client to session `sid` and, for `response_type=code`, makes a
    /// code for it.
    fn authorize_client(
        &mut self,
        sid: &str,
        user_id: &str,
        request: &AuthRequest,
        (now, now_ms): (i64, i64),
        sso: bool,
    ) -> Option<String> {
        self.attach_client(sid, user_id, &request.client_uuid, false, now_ms);
        if !request.issue_code {
            return None;
        }
        self.browser.codes.retain(|_, c| c.expires >= now);
        let id = uuid::Uuid::new_v4().to_string();
        self.browser.codes.insert(
            id.clone(),
            CodeRec {
                sid: sid.to_owned(),
                client_uuid: request.client_uuid.clone(),
                user_id: user_id.to_owned(),
                redirect_param: request.redirect_param.clone(),
                scope: request.scope.clone(),
                nonce: request.nonce.clone(),
                code_challenge: request.code_challenge.clone(),
                code_challenge_method: request.code_challenge_method.clone(),
                expires: now + CODE_LIFESPAN,
                sso,
            },
        );
        Some(format!("{id}.{sid}.{}", request.client_uuid))
    }

    /// What the pages call the realm: its display name, else its name.
    fn display_name(&self) -> String {
        self.settings
            .get("displayName")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .unwrap_or(&self.name)
            .to_owned()
    }
}

/// `at_hash`: the left half of the SHA-256 of the access token, base64url.
pub(super) fn at_hash(access_token: &str) -> String {
    let digest = Sha256::digest(access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

fn sha256_b64(value: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(value.as_bytes()))
}

fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::Rng::fill(&mut rand::rng(), &mut buf[..]);
    URL_SAFE_NO_PAD.encode(buf)
}

// ----- redirect URIs -----

/// A URI split into its raw parts (no normalization: Keycloak compares raw strings).
struct RawUri<'a> {
    scheme: Option<&'a str>,
    authority: Option<&'a str>,
    path: &'a str,
    query: Option<&'a str>,
    fragment: Option<&'a str>,
}

fn split_uri(uri: &str) -> RawUri<'_> {
    let (rest, fragment) = match uri.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (uri, None),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let scheme_end = rest.find(':').filter(|i| {
        rest[..*i]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
            && *i > 0
    });
    let (scheme, rest) = match scheme_end {
        Some(i) => (Some(&rest[..i]), &rest[i + 1..]),
        None => (None, rest),
    };
    let (authority, path) = match rest.strip_prefix("//") {
        Some(after) => match after.find('/') {
            Some(i) => (Some(&after[..i]), &after[i..]),
            None => (Some(after), ""),
        },
        None => (None, rest),
    };
    RawUri {
        scheme,
        authority,
        path,
        query,
        fragment,
    }
}

/// Whether a query or fragment carries a parameter of Keycloak's answer.
fn has_forbidden_params(part: Option<&str>) -> bool {
    part.is_some_and(|p| {
        url::form_urlencoded::parse(p.as_bytes()).any(|(name, _)| {
            FORBIDDEN_REDIRECT_PARAMS
                .iter()
                .any(|f| name.eq_ignore_ascii_case(f))
        })
    })
}

/// Keycloak's unsafe-path test: a `..` segment, plain or percent-encoded.
fn has_parent_segment(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    let norm = lower
        .replace("%252e", ".")
        .replace("%2e", ".")
        .replace("%2f", "/")
        .replace("%5c", "/")
        .replace('\\', "/");
    norm.split('/').skip(1).any(|seg| {
        seg == ".."
            || seg.strip_prefix("..").is_some_and(|rest| {
                rest.starts_with(';')
                    || rest.starts_with("%3b")
                    || rest.starts_with("%09")
                    || rest.starts_with("%0a")
                    || rest.starts_with("%0d")
                    || rest.starts_with("%00")
            })
    })
}

/// A registered URI with a trailing `*`, as Keycloak uses it: `None` when it is no wildcard.
fn wildcard_pattern(pattern: &str) -> Option<String> {
    if !pattern.ends_with('*') || pattern.contains('?') || pattern.contains('#') {
        return None;
    }
    if let Some((_, rest)) = pattern.split_once("://")
        && !rest.contains('/')
        && rest != "*"
        && !rest.ends_with(":*")
    {
        // `http://host*`: the wildcard applies after the authority.
        let trimmed = &pattern[..pattern.len() - 1];
        return Some(format!("{trimmed}/*"));
    }
    Some(pattern.to_owned())
}

/// The registered URI that `uri` matches, if any.
fn match_redirect<'a>(patterns: &'a [String], uri: &str, wildcards: bool) -> Option<&'a str> {
    for pattern in patterns {
        if pattern == "*" {
            return Some(pattern);
        }
        if let Some(wild) = wildcard_pattern(pattern).filter(|_| wildcards) {
            let end = uri.find(['?', '#']).unwrap_or(uri.len());
            let bare = &uri[..end];
            let prefix = &wild[..wild.len() - 1];
            if bare.starts_with(prefix) {
                return Some(pattern);
            }
            let without_slash = if prefix.len() > 1 {
                prefix.strip_suffix('/').unwrap_or(prefix)
            } else {
                prefix
            };
            if bare == without_slash {
                return Some(pattern);
            }
        } else if pattern == uri {
            return Some(pattern);
        }
    }
    None
}

/// The `uri` without its port (an `http` loopback URI matches registrations without one).
fn without_port(uri: &str) -> Option<String> {
    let raw = split_uri(uri);
    let authority = raw.authority?;
    let (host, port) = authority.rsplit_once(':')?;
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) || host.ends_with('[') {
        return None;
    }
    let at = uri.find(authority)?;
    Some(format!(
        "{}{host}{}",
        &uri[..at],
        &uri[at + authority.len()..]
    ))
}

/// Keycloak's redirect URI check against `registered` (resolved against `root`). Without a
/// `uri`, the single registered URI when `allow_default`. Answers the URI to redirect to.
fn verify_redirect_against(
    root: &str,
    registered: &[String],
    uri: Option<&str>,
    allow_default: bool,
) -> Option<String> {
    let Some(uri) = uri else {
        if !allow_default || registered.len() != 1 {
            return None;
        }
        let only = &registered[0];
        return Some(match only.find("/*") {
            Some(i) => only[..i].to_owned(),
            None => only.clone(),
        });
    };
    if registered.is_empty() {
        return None;
    }
    let raw = split_uri(uri);
    raw.scheme?;
    if has_forbidden_params(raw.query) || has_forbidden_params(raw.fragment) {
        return None;
    }
    let wildcards =
        !raw.authority.is_some_and(|a| a.contains('@')) && !has_parent_segment(raw.path);
    let mut resolved: Vec<String> = registered
        .iter()
        .map(|r| {
            if r.starts_with('/') {
                format!("{root}{r}")
            } else {
                r.clone()
            }
        })
        .collect();
    // Longest first, as Keycloak orders them.
    resolved.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
    let mut matched = match_redirect(&resolved, uri, wildcards).map(str::to_owned);
    let loopback = raw.scheme.is_some_and(|s| s.eq_ignore_ascii_case("http"))
        && raw.authority.is_some_and(|a| {
            let host = a
                .rsplit_once(':')
                .map_or(a, |(h, _)| h)
                .to_ascii_lowercase();
            ["localhost", "127.0.0.1", "[::1]"].contains(&host.as_str())
        });
    if matched.is_none()
        && loopback
        && let Some(portless) = without_port(uri)
    {
        matched = match_redirect(&resolved, &portless, wildcards).map(str::to_owned);
    }
    let matched = matched?;
    let scheme = raw.scheme.unwrap_or("");
    let scheme_ok = scheme.eq_ignore_ascii_case("http")
        || scheme.eq_ignore_ascii_case("https")
        || matched
            .get(..scheme.len() + 1)
            .is_some_and(|p| p.eq_ignore_ascii_case(&format!("{scheme}:")));
    scheme_ok.then(|| uri.to_owned())
}

/// Where a client's relative URIs live: its `rootUrl`, else this server's origin.
fn client_root(base: &str, client: &ClientRec) -> String {
    match client.root_url.as_deref() {
        Some("${authBaseUrl}") | Some("${authAdminUrl}") | None | Some("") => base.to_owned(),
        Some(root) => root.trim_end_matches('/').to_owned(),
    }
}

/// The client's post-logout redirect URIs: the attribute `post.logout.redirect.uris`
/// (`##`-separated, `+` for the redirect URIs), the redirect URIs when it is absent.
fn post_logout_uris(client: &ClientRec) -> Vec<String> {
    match client.attributes.get("post.logout.redirect.uris") {
        None => client.redirect_uris.clone(),
        Some(value) => value
            .split("##")
            .flat_map(|p| {
                if p == "+" {
                    client.redirect_uris.clone()
                } else {
                    vec![p.to_owned()]
                }
            })
            .collect(),
    }
}

/// Keycloak's check of a requested scope: `openid` and the client's default and optional
/// scopes, separated by single spaces (trailing spaces tolerated).
fn valid_scope(scope: &str) -> bool {
    let mut parts: Vec<&str> = scope.split(' ').collect();
    while parts.len() > 1 && parts.last() == Some(&"") {
        parts.pop();
    }
    parts
        .iter()
        .all(|p| *p == "openid" || DEFAULT_SCOPES.contains(p) || OPTIONAL_SCOPES.contains(p))
}

fn valid_pkce_value(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// The authorization endpoint's PKCE checks: the error description, if any.
fn check_pkce_request(
    client: &ClientRec,
    challenge: Option<&str>,
    method: Option<&str>,
) -> Result<(), &'static str> {
    let enforced = client
        .attributes
        .get("pkce.code.challenge.method")
        .filter(|m| !m.is_empty());
    if let Some(required) = enforced {
        let Some(method) = method else {
            return Err("Missing parameter: code_challenge_method");
        };
        if method != required {
            return Err(
                "Invalid parameter: code challenge method is not matching the configured one",
            );
        }
        let Some(challenge) = challenge else {
            return Err("Missing parameter: code_challenge");
        };
        if !valid_pkce_value(challenge) {
            return Err("Invalid parameter: code_challenge");
        }
        return Ok(());
    }
    let Some(challenge) = challenge else {
        return match method {
            Some(_) => Err("Missing parameter: code_challenge"),
            None => Ok(()),
        };
    };
    if let Some(method) = method
        && method != "S256"
        && method != "plain"
    {
        return Err("Invalid parameter: code_challenge_method");
    }
    if !valid_pkce_value(challenge) {
        return Err("Invalid parameter: code_challenge");
    }
    Ok(())
}

/// The token endpoint's PKCE check of a code.
fn check_pkce_exchange(code: &CodeRec, verifier: Option<&str>) -> Result<(), &'static str> {
    let enforced = code
        .code_challenge_method
        .as_deref()
        .is_some_and(|m| !m.is_empty());
    let challenge = code.code_challenge.as_deref();
    if enforced {
        let Some(verifier) = verifier else {
            return Err("PKCE code verifier not specified");
        };
        return verify_code_verifier(verifier, challenge, code.code_challenge_method.as_deref());
    }
    match (challenge, verifier) {
        (Some(_), None) => Err("PKCE code verifier not specified"),
        (None, Some(_)) => {
            Err("PKCE code verifier specified but challenge not present in authorization")
        }
        (Some(_), Some(verifier)) => verify_code_verifier(verifier, challenge, None),
        (None, None) => Ok(()),
    }
}

fn verify_code_verifier(
    verifier: &str,
    challenge: Option<&str>,
    method: Option<&str>,
) -> Result<(), &'static str> {
    if !valid_pkce_value(verifier) {
        return Err("PKCE verification failed: Invalid code verifier");
    }
    let encoded = if method == Some("S256") {
        sha256_b64(verifier)
    } else {
        verifier.to_owned()
    };
    if challenge != Some(encoded.as_str()) {
        return Err("PKCE verification failed: Code mismatch");
    }
    Ok(())
}

// ----- HTTP plumbing -----

type Params = BTreeMap<String, String>;

/// Form or query parameters; the first of a repeated name wins (Keycloak's `getFirst`).
fn parse_params(bytes: &[u8]) -> Params {
    let mut out = Params::new();
    for (k, v) in url::form_urlencoded::parse(bytes) {
        out.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
    out
}

/// The request's cookies (first of a repeated name wins).
fn parse_cookies(headers: &HeaderMap) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for value in headers.get_all(header::COOKIE) {
        let Ok(text) = value.to_str() else { continue };
        for pair in text.split(';') {
            if let Some((name, value)) = pair.trim().split_once('=') {
                out.entry(name.trim().to_owned())
                    .or_insert_with(|| value.trim().trim_matches('"').to_owned());
            }
        }
    }
    out
}

fn cookie_path(realm: &str) -> String {
    format!("/realms/{realm}/")
}

/// A `Set-Cookie` value as Keycloak 26 writes it.
fn set_cookie(
    name: &str,
    value: &str,
    path: &str,
    max_age: Option<i64>,
    http_only: bool,
) -> String {
    let max_age = max_age.map(|m| format!("Max-Age={m};")).unwrap_or_default();
    let http_only = if http_only { "HttpOnly;" } else { "" };
    format!("{name}={value};Version=1;Path={path};{max_age}Secure;{http_only}SameSite=None")
}

/// A `Set-Cookie` value that removes a cookie.
fn expire_cookie(name: &str, path: &str) -> String {
    format!("{name}=;Version=1;Path={path};Max-Age=0")
}

fn with_cookies(mut response: Response, cookies: &[String]) -> Response {
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

fn set_header(response: &mut Response, name: header::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, v);
    }
}

/// An HTML page with Keycloak's login-page headers.
fn html(status: StatusCode, body: String, cookies: &[String]) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    for (name, value) in [
        ("content-type", "text/html;charset=utf-8"),
        ("cache-control", "no-store, must-revalidate, max-age=0"),
        ("content-language", "en"),
        (
            "content-security-policy",
            "frame-src 'self'; frame-ancestors 'self'; object-src 'none';",
        ),
        ("referrer-policy", "no-referrer"),
        (
            "strict-transport-security",
            "max-age=31536000; includeSubDomains",
        ),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "SAMEORIGIN"),
        ("x-robots-tag", "none"),
    ] {
        set_header(&mut response, header::HeaderName::from_static(name), value);
    }
    with_cookies(response, cookies)
}

fn redirect(location: &str, cache_control: &str, cookies: &[String]) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::FOUND;
    set_header(&mut response, header::LOCATION, location);
    set_header(&mut response, header::CACHE_CONTROL, cache_control);
    set_header(&mut response, header::REFERRER_POLICY, "no-referrer");
    with_cookies(response, cookies)
}

fn json_error(status: StatusCode, body: Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    set_header(&mut response, header::CONTENT_TYPE, "application/json");
    response
}

fn realm_missing() -> Response {
    json_error(
        StatusCode::NOT_FOUND,
        json!({"error": "Realm does not exist"}),
    )
}

fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn query_string(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

// ----- pages -----

fn page(realm: &str, page_id: &str, title: &str, body: &str) -> String {
    let realm = esc(realm);
    format!(
        r#"<!DOCTYPE html>
<html class="login-pf" lang="en">

<head>
    <meta charset="utf-8">
    <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
    <meta name="color-scheme" content="light dark">
    <meta name="viewport" content="width=device-width, initial-scale=1">

    <title>Sign in to {realm}</title>
</head>

<body id="keycloak-bg" class="" data-page-id="{page_id}">
<div class="pf-v5-c-login">
  <div class="pf-v5-c-login__container">
    <header id="kc-header" class="pf-v5-c-login__header">
      <div id="kc-header-wrapper"
              class="pf-v5-c-brand">{realm}</div>
    </header>
    <main class="pf-v5-c-login__main">
      <div class="pf-v5-c-login__main-header">
        <h1 class="pf-v5-c-title pf-m-3xl" id="kc-page-title">{title}</h1>
      </div>
      <div class="pf-v5-c-login__main-body">
{body}
      </div>
    </main>
  </div>
</div>
</body>
</html>
"#
    )
}

/// Keycloak's "We are sorry..." page.
fn error_page(realm: &str, status: StatusCode, message: &str) -> Response {
    let body = format!(
        r#"        <div id="kc-error-message">
            <p class="instruction">{}</p>
        </div>"#,
        esc(message)
    );
    html(
        status,
        page(realm, "login-error", "We are sorry...", &body),
        &[],
    )
}

fn logged_out_page(realm: &str, cookies: &[String]) -> Response {
    let body = r#"    <div id="kc-info-message">
        <p class="instruction">You are logged out</p>
    </div>"#;
    html(
        StatusCode::OK,
        page(realm, "login-info", "You are logged out", body),
        cookies,
    )
}

fn alert(kind: &str, icon: &str, message: &str) -> String {
    format!(
        r#"            <div class="pf-v5-c-alert pf-m-inline pf-v5-u-mb-md pf-m-{kind}">
                <div class="pf-v5-c-alert__icon">
                    <span class="fa fa-fw {icon}"></span>
                </div>
                <span class="pf-v5-c-alert__title kc-feedback-text">{}</span>
            </div>
"#,
        esc(message)
    )
}

/// The login page: the username/password form, or the password-only re-authentication form.
fn login_page(realm: &str, action: &str, tab: &LoginTab, reauth_username: Option<&str>) -> String {
    let action = esc(action);
    let password_group = r#"<div class="pf-v5-c-form__group">
    <div class="pf-v5-c-form__group-label pf-v5-u-pb-xs">
        <label for="password" class="pf-v5-c-form__label">
        <span class="pf-v5-c-form__label-text">
            Password
        </span>
        </label>
    </div>

    <div class="pf-v5-c-input-group">
      <div class="pf-v5-c-input-group__item pf-m-fill">
        <span class="pf-v5-c-form-control ">
          <input id="password" name="password" value="" type="password" autocomplete="current-password" 
                  aria-invalid=""/>
        </span>
      </div>
    </div>

    <div id="input-error-container-password">
    </div>
</div>
"#;
    let (header, username_group, alert_html) = match reauth_username {
        Some(user) => {
            let header = format!(
                r#"                <div class="pf-v5-c-form pf-v5-u-w-100 pf-v5-u-mb-md-on-md">
<div class="pf-v5-c-form__group">
    <div class="pf-v5-c-form__group-label pf-v5-u-pb-xs">
        <label for="username" class="pf-v5-c-form__label">
        <span class="pf-v5-c-form__label-text">
                Username or email
        </span>
        </label>
    </div>
    <span class="pf-v5-c-form-control pf-m-readonly">
      <input id="kc-attempted-username" value="{}" readonly>
    </span>
</div>
                </div>
"#,
                esc(user)
            );
            let alert_html = match tab.feedback {
                Feedback::InvalidCredentials => {
                    alert("danger", "fa-exclamation-circle", INVALID_CREDENTIALS)
                }
                _ => alert("info", "fa-info-circle", REAUTHENTICATE),
            };
            (header, String::new(), alert_html)
        }
        None => {
            let invalid = tab.feedback == Feedback::InvalidCredentials;
            let error = if invalid {
                format!(
                    r#"            <div class="pf-v5-c-form__helper-text" aria-live="polite">
                <div class="pf-v5-c-helper-text">
                    <div class="pf-v5-c-helper-text__item pf-m-error" id="input-error-username">
                        <span class="pf-v5-c-helper-text__item-text pf-m-error kc-feedback-text">
                            {INVALID_CREDENTIALS}
                        </span>
                    </div>
                </div>
            </div>
"#
                )
            } else {
                String::new()
            };
            let group = format!(
                r#"<div class="pf-v5-c-form__group">
    <div class="pf-v5-c-form__group-label pf-v5-u-pb-xs">
        <label for="username" class="pf-v5-c-form__label">
        <span class="pf-v5-c-form__label-text">
                                        Username or email
        </span>
        </label>
    </div>

    <span class="pf-v5-c-form-control {}">
        <input id="username" name="username" value="{}" type="text" autocomplete="username" autofocus
                aria-invalid="{}"/>
    </span>

    <div id="input-error-container-username">
{error}    </div>
</div>

"#,
                if invalid { "pf-m-error" } else { "" },
                esc(tab.attempted.as_deref().unwrap_or("")),
                if invalid { "true" } else { "" },
            );
            let alert_html = if tab.feedback == Feedback::Disabled {
                alert("danger", "fa-exclamation-circle", ACCOUNT_DISABLED)
            } else {
                String::new()
            };
            (String::new(), group, alert_html)
        }
    };
    let body = format!(
        r#"{header}
{alert_html}
<!-- template: login.ftl -->

        <div id="kc-form">
          <div id="kc-form-wrapper">
                <form id="kc-form-login" class="pf-v5-c-form pf-v5-u-w-100" onsubmit="login.disabled = true; return true;" action="{action}" method="post" novalidate="novalidate">

{username_group}{password_group}

                    <input type="hidden" id="id-hidden-input" name="credentialId" />
  <div class="pf-v5-c-form__group">
    <div class="pf-v5-c-form__actions pf-v5-u-pt-xs pf-v5-u-flex-wrap">
  <button class="pf-v5-c-button pf-m-primary pf-m-block" name="login" id="kc-login"
          type="submit" >
  Sign In
  </button>
    </div>
  </div>
                </form>
            </div>
        </div>"#
    );
    page(realm, "login-login", "Sign in to your account", &body)
}

/// The `form_post` response page (Keycloak's, auto-submitting).
fn form_post_page(action: &str, fields: &[(&str, &str)]) -> Response {
    let inputs: String = fields
        .iter()
        .map(|(k, v)| {
            format!(
                r#"  <INPUT TYPE="HIDDEN" NAME="{}" VALUE="{}" />"#,
                esc(k),
                esc(v)
            )
        })
        .collect();
    let body = format!(
        r#"<HTML>  <HEAD>    <TITLE>OIDC Form_Post Response</TITLE>  </HEAD>  <BODY Onload="document.forms[0].submit()">    <FORM METHOD="POST" ACTION="{}">{inputs}      <NOSCRIPT>        <P>JavaScript is disabled. We strongly recommend to enable it. Click the button below to continue .</P>        <INPUT name="continue" TYPE="SUBMIT" VALUE="CONTINUE" />      </NOSCRIPT>    </FORM>  </BODY></HTML>"#,
        esc(action)
    );
    let mut response = html(StatusCode::OK, body, &[]);
    set_header(&mut response, header::CONTENT_TYPE, "text/html");
    response
}

/// The authorization response: `params` appended to the redirect URI's query, put in its
/// fragment, or posted by a page.
fn authorization_response(
    mode: Mode,
    redirect_uri: &str,
    params: &[(&str, &str)],
    cookies: &[String],
) -> Response {
    match mode {
        Mode::FormPost => with_cookies(form_post_page(redirect_uri, params), cookies),
        Mode::Query => {
            let (base, fragment) = match redirect_uri.split_once('#') {
                Some((b, f)) => (b, Some(f)),
                None => (redirect_uri, None),
            };
            let sep = if base.contains('?') { '&' } else { '?' };
            let mut location = format!("{base}{sep}{}", query_string(params));
            if let Some(f) = fragment {
                location.push('#');
                location.push_str(f);
            }
            redirect(&location, "no-store, must-revalidate, max-age=0", cookies)
        }
        Mode::Fragment => {
            let base = redirect_uri.split('#').next().unwrap_or(redirect_uri);
            let location = format!("{base}#{}", query_string(params));
            redirect(&location, "no-store, must-revalidate, max-age=0", cookies)
        }
    }
}

/// An authorization error sent back to the client.
fn authorization_error(
    mode: Mode,
    redirect_uri: &str,
    error: &str,
    description: Option<&str>,
    state: Option<&str>,
    issuer: &str,
    cookies: &[String],
) -> Response {
    let mut params = vec![("error", error)];
    if let Some(d) = description {
        params.push(("error_description", d));
    }
    if let Some(s) = state {
        params.push(("state", s));
    }
    params.push(("iss", issuer));
    if mode == Mode::FormPost {
        // Keycloak's order in the posted form.
        params.sort_by_key(|(k, _)| match *k {
            "iss" => 0,
            "state" => 1,
            _ => 2,
        });
    }
    authorization_response(mode, redirect_uri, &params, cookies)
}

/// A successful authorization: `state`, `session_state`, `iss` and `code` to the client.
fn authorization_success(
    request: &AuthRequest,
    sid: &str,
    code: Option<&str>,
    issuer: &str,
    cookies: &[String],
) -> Response {
    let mut params = Vec::new();
    if request.mode == Mode::FormPost {
        if let Some(c) = code {
            params.push(("code", c));
        }
        params.push(("iss", issuer));
        if let Some(s) = request.state.as_deref() {
            params.push(("state", s));
        }
        params.push(("session_state", sid));
    } else {
        if let Some(s) = request.state.as_deref() {
            params.push(("state", s));
        }
        params.push(("session_state", sid));
        params.push(("iss", issuer));
        if let Some(c) = code {
            params.push(("code", c));
        }
    }
    authorization_response(request.mode, &request.redirect_uri, &params, cookies)
}

// ----- cookies of a session -----

/// `KEYCLOAK_IDENTITY` and `KEYCLOAK_SESSION` for session `sid`.
fn identity_cookies(store: &Store, realm: &str, sid: &str, user_id: &str) -> Vec<String> {
    let now = store.now();
    let mut claims = Map::new();
    claims.insert("exp".into(), json!(now + SSO_MAX_SECONDS));
    claims.insert("iat".into(), json!(now));
    claims.insert("jti".into(), json!(uuid::Uuid::new_v4().to_string()));
    claims.insert("iss".into(), json!(store.issuer(realm)));
    claims.insert("sub".into(), json!(user_id));
    claims.insert("typ".into(), json!("Serialized-ID"));
    claims.insert("sid".into(), json!(sid));
    claims.insert("state_checker".into(), json!(random_token(32)));
    let mut header = Header::new(Algorithm::HS512);
    header.kid = Some(store.key.hmac_kid().to_owned());
    header.typ = Some("JWT".into());
    let path = cookie_path(realm);
    let mut out = Vec::new();
    if let Ok(token) = jsonwebtoken::encode(&header, &claims, store.key.hmac_encoding()) {
        out.push(set_cookie(KEYCLOAK_IDENTITY, &token, &path, None, true));
    }
    out.push(set_cookie(
        KEYCLOAK_SESSION,
        &sha256_b64(&format!("{realm}/{sid}")),
        &path,
        Some(SSO_MAX_SECONDS),
        false,
    ));
    out
}

fn expire_identity(realm: &str) -> Vec<String> {
    let path = cookie_path(realm);
    vec![
        expire_cookie(KEYCLOAK_IDENTITY, &path),
        expire_cookie(KEYCLOAK_SESSION, &path),
    ]
}

/// What the `KEYCLOAK_IDENTITY` cookie says.
enum Sso {
    Absent,
    Invalid,
    Valid { sid: String, user_id: String },
}

fn sso_of(store: &Store, realm: &RealmState, cookies: &BTreeMap<String, String>) -> Sso {
    let Some(token) = cookies.get(KEYCLOAK_IDENTITY).filter(|t| !t.is_empty()) else {
        return Sso::Absent;
    };
    let mut validation = Validation::new(Algorithm::HS512);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let Ok(data) = jsonwebtoken::decode::<Value>(token, store.key.hmac_decoding(), &validation)
    else {
        return Sso::Invalid;
    };
    let c = data.claims;
    let s = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let exp = c.get("exp").and_then(Value::as_i64).unwrap_or(0);
    let (sid, user_id) = (s("sid"), s("sub"));
    let ok = s("typ") == "Serialized-ID"
        && s("iss") == store.issuer(&realm.name)
        && exp > store.now()
        && realm
            .browser
            .sessions
            .get(&sid)
            .is_some_and(|sso| sso.user_id == user_id)
        && realm.sso_alive(&sid, store.now_ms(), store.refresh_lifespan);
    if ok {
        Sso::Valid { sid, user_id }
    } else {
        Sso::Invalid
    }
}

// ----- routes -----

/// The browser routes, merged into the fake's router.
pub(super) fn routes() -> Router<FakeKeycloak> {
    Router::new()
        .route(
            "/realms/{realm}/protocol/openid-connect/auth",
            get(auth).post(auth),
        )
        .route(
            "/realms/{realm}/login-actions/authenticate",
            get(login_get).post(login_post),
        )
        .route(
            "/realms/{realm}/protocol/openid-connect/logout",
            get(logout).post(logout),
        )
        .route(
            "/realms/{realm}/protocol/openid-connect/logout/logout-confirm",
            post(logout_confirm),
        )
}

async fn auth(
    State(kc): State<FakeKeycloak>,
    Path(realm): Path<String>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = if method == Method::POST {
        parse_params(&body)
    } else {
        parse_params(query.as_deref().unwrap_or("").as_bytes())
    };
    let cookies = parse_cookies(&headers);
    let params = with_request_object(&kc, &realm, params).await;
    let mut store = kc.lock();
    authorize(&mut store, &realm, &params, &cookies)
}

/// `request_uri` as Keycloak 26.7 serves it: only a URI matching one of the client's valid
/// request URIs (the attribute `request.uris`, `##`-separated, a trailing `*` a prefix) is
/// fetched (GET, 5 s, the crate's HTTP client); an unsigned request object (`alg` `none`) whose `client_id`, if any, is
/// the request's has its parameters override the query's. Anything else — no match, a failed
/// fetch, a signed object (the fake holds no client keys), another client's object — keeps
/// `request_uri` in the parameters, which [`authorize`] answers with Keycloak's 400 "Invalid
/// Request" page.
async fn with_request_object(kc: &FakeKeycloak, realm: &str, mut params: Params) -> Params {
    let Some(uri) = params.get("request_uri").cloned() else {
        return params;
    };
    let allowed = {
        let store = kc.lock();
        store
            .realms
            .get(realm)
            .and_then(|r| {
                let client_id = params.get("client_id")?;
                r.client_by_client_id(client_id).ok()
            })
            .and_then(|c| c.attributes.get("request.uris"))
            .is_some_and(|uris| {
                let patterns: Vec<String> = uris
                    .split("##")
                    .filter(|u| !u.is_empty())
                    .map(str::to_owned)
                    .collect();
                super::store::redirect_allowed(&patterns, &uri)
            })
    };
    if !allowed {
        return params;
    }
    let Some(object) = fetch_request_object(&uri).await else {
        return params;
    };
    let other_client = match (object.get("client_id"), params.get("client_id")) {
        (None, _) => false,
        (Some(Value::String(ours)), Some(asked)) => ours != asked,
        _ => true,
    };
    if other_client {
        return params;
    }
    for (key, value) in object {
        let value = match value {
            Value::String(s) => s,
            Value::Null => continue,
            other => other.to_string(),
        };
        params.insert(key, value);
    }
    params.remove("request_uri");
    params
}

/// GETs an unsigned request object and answers its claims.
async fn fetch_request_object(uri: &str) -> Option<serde_json::Map<String, Value>> {
    let client = crate::transport::build_http_client(std::time::Duration::from_secs(5)).ok()?;
    let response = client.get(uri).send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    let jwt = response.text().await.ok()?;
    let mut parts = jwt.trim().split('.');
    let (header, payload) = (parts.next()?, parts.next()?);
    let decode = |part: &str| -> Option<Value> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part.trim_end_matches('='))
            .ok()?;
        serde_json::from_slice(&bytes).ok()
    };
    let header = decode(header)?;
    if header.get("alg").and_then(Value::as_str) != Some("none") {
        return None;
    }
    match decode(payload)? {
        Value::Object(claims) => Some(claims),
        _ => None,
    }
}

/// The authorization endpoint.
fn authorize(
    store: &mut Store,
    realm_name: &str,
    p: &Params,
    cookies: &BTreeMap<String, String>,
) -> Response {
    let base = store.base_url.clone();
    let issuer = store.issuer(realm_name);
    let (now, now_ms) = (store.now(), store.now_ms());
    let Some(realm) = store.realms.get(realm_name) else {
        return realm_missing();
    };
    let shown = realm.display_name();
    let Some(client_id) = p.get("client_id") else {
        return error_page(&shown, StatusCode::BAD_REQUEST, "Invalid Request");
    };
    let Ok(client) = realm.client_by_client_id(client_id) else {
        return error_page(&shown, StatusCode::BAD_REQUEST, "Client not found.");
    };
    if !client.enabled {
        return error_page(&shown, StatusCode::BAD_REQUEST, "Client disabled.");
    }
    if client.bearer_only {
        return error_page(
            &shown,
            StatusCode::FORBIDDEN,
            "Bearer-only applications are not allowed to initiate browser login",
        );
    }
    // `max_age` must be an integer (Keycloak parses the request before it checks anything else).
    let max_age = match p.get("max_age").map(|v| v.parse::<i32>()) {
        None => None,
        Some(Ok(m)) => Some(i64::from(m)),
        Some(Err(_)) => return error_page(&shown, StatusCode::BAD_REQUEST, "Invalid Request"),
    };
    // A `request_uri` still here was not served (see `with_request_object`): Keycloak's 400.
    // An inline `request`, which Keycloak reads, is refused the same way rather than ignored.
    if p.contains_key("request_uri") || p.contains_key("request") {
        return error_page(&shown, StatusCode::BAD_REQUEST, "Invalid Request");
    }
    let scope = p.get("scope").cloned();
    let oidc = scope
        .as_deref()
        .is_some_and(|s| s.split(' ').any(|x| x == "openid"));
    let redirect_param = p.get("redirect_uri").cloned();
    let Some(redirect_uri) = verify_redirect_against(
        &client_root(&base, client),
        &client.redirect_uris,
        redirect_param.as_deref(),
        !oidc,
    ) else {
        return error_page(
            &shown,
            StatusCode::BAD_REQUEST,
            "Invalid parameter: redirect_uri",
        );
    };
    let state = p.get("state").cloned();
    let fail = |mode: Mode, error: &str, description: Option<&str>, cookies: &[String]| {
        authorization_error(
            mode,
            &redirect_uri,
            error,
            description,
            state.as_deref(),
            &issuer,
            cookies,
        )
    };
    let mode_param = p.get("response_mode").map(String::as_str);
    let fallback_mode = mode_param.and_then(Mode::parse).unwrap_or(Mode::Query);
    let Some(response_type) = p.get("response_type") else {
        return fail(
            fallback_mode,
            "invalid_request",
            Some("Missing parameter: response_type"),
            &[],
        );
    };
    let Some(kind) = ResponseType::parse(response_type) else {
        return fail(fallback_mode, "unsupported_response_type", None, &[]);
    };
    let mode = match mode_param {
        None => kind.default_mode(),
        Some(m) => match Mode::parse(m) {
            Some(mode) => mode,
            None => {
                return fail(
                    kind.default_mode(),
                    "invalid_request",
                    Some("Invalid parameter: response_mode"),
                    &[],
                );
            }
        },
    };
    if kind.implicit() && mode == Mode::Query {
        return fail(
            mode,
            "invalid_request",
            Some("Response_mode 'query' not allowed for implicit or hybrid flow"),
            &[],
        );
    }
    if (kind.code || kind.none) && !client.standard_flow {
        return fail(
            mode,
            "unauthorized_client",
            Some(
                "Client is not allowed to initiate browser login with given response_type. \
                 Standard flow is disabled for the client.",
            ),
            &[],
        );
    }
    if kind.implicit() {
        return fail(
            mode,
            "unauthorized_client",
            Some(
                "Client is not allowed to initiate browser login with given response_type. \
                 Implicit flow is disabled for the client.",
            ),
            &[],
        );
    }
    if let Some(s) = scope.as_deref()
        && !valid_scope(s)
    {
        return fail(
            mode,
            "invalid_scope",
            Some(&format!("Invalid scopes: {s}")),
            &[],
        );
    }
    let challenge = p.get("code_challenge").cloned();
    let method = p.get("code_challenge_method").cloned();
    if let Err(description) = check_pkce_request(client, challenge.as_deref(), method.as_deref()) {
        return fail(mode, "invalid_request", Some(description), &[]);
    }
    let request = AuthRequest {
        client_uuid: client.id.clone(),
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.clone(),
        redirect_param,
        response_type: response_type.clone(),
        issue_code: kind.code,
        mode,
        state: state.clone(),
        nonce: p.get("nonce").cloned(),
        scope,
        code_challenge: challenge,
        code_challenge_method: method,
    };
    let prompts: Vec<&str> = p
        .get("prompt")
        .map(|v| v.split(' ').collect())
        .unwrap_or_default();
    let login_hint = p.get("login_hint").cloned();
    let sso = sso_of(store, realm, cookies);
    match sso {
        Sso::Valid { sid, user_id } => {
            let auth_time = realm.browser.auth_time(&sid).unwrap_or(now);
            let too_old = max_age.is_some_and(|m| now - auth_time > m);
            if prompts.contains(&"none") && (too_old || prompts.contains(&"login")) {
                return fail(mode, "login_required", None, &[]);
            }
            if !prompts.contains(&"none") && (prompts.contains(&"login") || too_old) {
                return start_login(store, realm_name, request, Some(sid), None, cookies, &[]);
            }
            let Some(realm) = store.realms.get_mut(realm_name) else {
                return realm_missing();
            };
            let code = realm.authorize_client(&sid, &user_id, &request, (now, now_ms), true);
            let set = identity_cookies(store, realm_name, &sid, &user_id);
            authorization_success(&request, &sid, code.as_deref(), &issuer, &set)
        }
        Sso::Invalid | Sso::Absent => {
            let expired = if matches!(sso, Sso::Invalid) {
                expire_identity(realm_name)
            } else {
                Vec::new()
            };
            if prompts.contains(&"none") {
                return fail(mode, "login_required", None, &expired);
            }
            start_login(
                store, realm_name, request, None, login_hint, cookies, &expired,
            )
        }
    }
}

/// Opens a login tab for `request` and shows its page.
fn start_login(
    store: &mut Store,
    realm_name: &str,
    request: AuthRequest,
    reauth: Option<String>,
    login_hint: Option<String>,
    cookies: &BTreeMap<String, String>,
    extra_cookies: &[String],
) -> Response {
    let Some(realm) = store.realms.get_mut(realm_name) else {
        return realm_missing();
    };
    let root = cookies
        .get(AUTH_SESSION_ID)
        .filter(|r| realm.browser.logins.contains_key(*r))
        .cloned()
        .unwrap_or_else(|| random_token(32));
    let tab_id = random_token(8);
    let tab = LoginTab {
        request,
        session_code: random_token(32),
        reauth,
        feedback: Feedback::Clear,
        attempted: login_hint,
    };
    realm
        .browser
        .logins
        .entry(root.clone())
        .or_default()
        .insert(tab_id.clone(), tab);
    let path = cookie_path(realm_name);
    let mut set = extra_cookies.to_vec();
    set.push(set_cookie(AUTH_SESSION_ID, &root, &path, None, true));
    set.push(set_cookie(
        AUTH_SESSION_HASH,
        &sha256_b64(&root),
        &path,
        Some(60),
        false,
    ));
    set.push(set_cookie(KC_RESTART, &random_token(48), &path, None, true));
    render_tab(store, realm_name, &root, &tab_id, &set)
}

/// Shows the login page of a tab, with a fresh `session_code`.
fn render_tab(
    store: &mut Store,
    realm_name: &str,
    root: &str,
    tab_id: &str,
    cookies: &[String],
) -> Response {
    let base = store.base_url.clone();
    let Some(realm) = store.realms.get_mut(realm_name) else {
        return realm_missing();
    };
    let execution = realm.id.clone();
    let shown = realm.display_name();
    let reauth_user = {
        let Some(tab) = realm
            .browser
            .logins
            .get_mut(root)
            .and_then(|tabs| tabs.get_mut(tab_id))
        else {
            return error_page(&shown, StatusCode::BAD_REQUEST, RESTART_COOKIE_MISSING);
        };
        tab.session_code = random_token(32);
        tab.reauth.clone()
    };
    let reauth_username = reauth_user
        .and_then(|sid| realm.browser.sessions.get(&sid).cloned())
        .and_then(|sso| realm.users.get(&sso.user_id).map(|u| u.username.clone()));
    let Some(tab) = realm.browser.logins.get(root).and_then(|t| t.get(tab_id)) else {
        return error_page(&shown, StatusCode::BAD_REQUEST, RESTART_COOKIE_MISSING);
    };
    let action = format!(
        "{base}/realms/{realm_name}/login-actions/authenticate?{}",
        query_string(&[
            ("session_code", &tab.session_code),
            ("execution", &execution),
            ("client_id", &tab.request.client_id),
            ("tab_id", tab_id),
            ("client_data", &client_data(&tab.request)),
        ])
    );
    let body = login_page(&shown, &action, tab, reauth_username.as_deref());
    html(StatusCode::OK, body, cookies)
}

/// Keycloak's `client_data`: the redirect URI, response type and state, base64url JSON.
fn client_data(request: &AuthRequest) -> String {
    let mut data = Map::new();
    data.insert("ru".into(), json!(request.redirect_uri));
    data.insert("rt".into(), json!(request.response_type));
    if let Some(s) = &request.state {
        data.insert("st".into(), json!(s));
    }
    URL_SAFE_NO_PAD.encode(Value::Object(data).to_string())
}

async fn login_get(
    State(kc): State<FakeKeycloak>,
    Path(realm): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let q = parse_params(query.as_deref().unwrap_or("").as_bytes());
    let cookies = parse_cookies(&headers);
    let mut store = kc.lock();
    let Some(state) = store.realms.get(&realm) else {
        return realm_missing();
    };
    let shown = state.display_name();
    let (Some(root), Some(tab_id)) = (cookies.get(AUTH_SESSION_ID), q.get("tab_id")) else {
        return error_page(&shown, StatusCode::BAD_REQUEST, RESTART_COOKIE_MISSING);
    };
    render_tab(&mut store, &realm, root, tab_id, &[])
}

async fn login_post(
    State(kc): State<FakeKeycloak>,
    Path(realm): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let q = parse_params(query.as_deref().unwrap_or("").as_bytes());
    let form = parse_params(&body);
    let cookies = parse_cookies(&headers);
    let mut store = kc.lock();
    submit_login(&mut store, &realm, &q, &form, &cookies)
}

/// The login form's submission.
fn submit_login(
    store: &mut Store,
    realm_name: &str,
    q: &Params,
    form: &Params,
    cookies: &BTreeMap<String, String>,
) -> Response {
    let base = store.base_url.clone();
    let issuer = store.issuer(realm_name);
    let (now, now_ms, idle) = (store.now(), store.now_ms(), store.refresh_lifespan);
    let Some(realm) = store.realms.get_mut(realm_name) else {
        return realm_missing();
    };
    let shown = realm.display_name();
    let root = cookies.get(AUTH_SESSION_ID).cloned().unwrap_or_default();
    let tab_id = q.get("tab_id").cloned().unwrap_or_default();
    let Some(tab) = realm
        .browser
        .logins
        .get(&root)
        .and_then(|t| t.get(&tab_id))
        .cloned()
    else {
        return error_page(&shown, StatusCode::BAD_REQUEST, RESTART_COOKIE_MISSING);
    };
    if q.get("session_code") != Some(&tab.session_code) {
        // A stale form: back to the current page of the login.
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        for key in ["execution", "client_id", "tab_id", "client_data"] {
            if let Some(v) = q.get(key) {
                pairs.push((key, v));
            }
        }
        let location = format!(
            "{base}/realms/{realm_name}/login-actions/authenticate?{}",
            query_string(&pairs)
        );
        return redirect(&location, "no-store, must-revalidate, max-age=0", &[]);
    }
    let reauth = tab
        .reauth
        .clone()
        .filter(|sid| realm.sso_alive(sid, now_ms, idle));
    let typed = form.get("username").cloned().unwrap_or_default();
    let user = match &reauth {
        Some(sid) => realm
            .browser
            .sessions
            .get(sid)
            .and_then(|sso| realm.users.get(&sso.user_id)),
        None => realm
            .user_by_username(&typed)
            .or_else(|| realm.user_by_email(&typed))
            .filter(|u| u.service_account_client.is_none()),
    };
    let password_ok = match (
        user.and_then(|u| u.password.as_deref()),
        form.get("password"),
    ) {
        (Some(expected), Some(given)) => constant_time_eq(expected, given),
        _ => false,
    };
    let outcome = match user {
        Some(u) if password_ok && !u.enabled => Err(Feedback::Disabled),
        Some(u) if password_ok => Ok(u.clone()),
        _ => Err(Feedback::InvalidCredentials),
    };
    let user = match outcome {
        Ok(user) => user,
        Err(feedback) => {
            if let Some(t) = realm
                .browser
                .logins
                .get_mut(&root)
                .and_then(|t| t.get_mut(&tab_id))
            {
                t.feedback = feedback;
                if reauth.is_none() {
                    t.attempted = Some(typed);
                }
            }
            return render_tab(store, realm_name, &root, &tab_id, &[]);
        }
    };
    if !user.required_actions.is_empty() || user.has_otp() {
        // Keycloak would show a required-action or OTP page; the fake has none.
        return error_page(
            &shown,
            StatusCode::BAD_REQUEST,
            "Account is not fully set up (the fake Keycloak has no required-action or OTP pages)",
        );
    }
    // The login is done: the tab goes, the session starts (or, re-authenticated, goes on).
    if let Some(tabs) = realm.browser.logins.get_mut(&root) {
        tabs.remove(&tab_id);
        if tabs.is_empty() {
            realm.browser.logins.remove(&root);
        }
    }
    let sid = match reauth {
        Some(sid) => sid,
        None => {
            let sid = uuid::Uuid::new_v4().to_string();
            let offline_login = tab
                .request
                .scope
                .as_deref()
                .is_some_and(|s| s.split(' ').any(|x| x == "offline_access"));
            realm.browser.sessions.insert(
                sid.clone(),
                SsoSession {
                    user_id: user.id.clone(),
                    started_ms: now_ms,
                    last_ms: now_ms,
                    clients: BTreeSet::new(),
                    offline_login,
                },
            );
            sid
        }
    };
    realm.browser.auth_times.insert(sid.clone(), now);
    let code = realm.authorize_client(&sid, &user.id, &tab.request, (now, now_ms), false);
    let mut set = vec![expire_cookie(KC_RESTART, &cookie_path(realm_name))];
    set.extend(identity_cookies(store, realm_name, &sid, &user.id));
    authorization_success(&tab.request, &sid, code.as_deref(), &issuer, &set)
}

// ----- the code exchange -----

/// The `authorization_code` grant for the authenticated client `client_uuid`, as Keycloak 26
/// checks it.
pub(super) fn exchange_code(
    store: &mut Store,
    realm_name: &str,
    client_uuid: &str,
    req: &TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let grant = |d: &str| OAuthError::new(400, "invalid_grant", d);
    let Some(code) = req.code.as_deref() else {
        return Err(OAuthError::new(
            400,
            "invalid_request",
            "Missing parameter: code",
        ));
    };
    let (now, now_ms, idle) = (store.now(), store.now_ms(), store.refresh_lifespan);
    let realm = store
        .realms
        .get_mut(realm_name)
        .ok_or_else(|| OAuthError::new(404, "invalid_request", "Realm does not exist"))?;
    let mut parts = code.splitn(3, '.');
    let (Some(id), Some(sid), Some(code_client)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(grant("Code not valid"));
    };
    let Some(rec) = realm.browser.codes.remove(id).filter(|c| now <= c.expires) else {
        // A used, expired (Keycloak forgets a code when its lifespan ends) or made-up code:
        // Keycloak detaches the client it names from the session.
        realm.detach_client(sid, code_client);
        return Err(grant("Code not valid"));
    };
    if rec.sid != sid
        || rec.client_uuid != code_client
        || realm.client_session(sid, code_client, false).is_none()
    {
        return Err(grant("Code not valid"));
    }
    let Some(user) = realm.users.get(&rec.user_id) else {
        return Err(grant("User not found"));
    };
    if !user.enabled {
        return Err(grant("User disabled"));
    }
    if let Some(expected) = &rec.redirect_param
        && req.redirect_uri.as_deref() != Some(expected.as_str())
    {
        return Err(grant("Incorrect redirect_uri"));
    }
    if rec.client_uuid != client_uuid {
        return Err(grant(
            "Auth error: Found different client_id in clientSession",
        ));
    }
    let Some(client) = realm.clients.get(client_uuid) else {
        return Err(grant("Client not found"));
    };
    if !client.standard_flow {
        return Err(grant("Client not allowed to exchange code"));
    }
    if !realm.sso_alive(sid, now_ms, idle) {
        return Err(grant("Session not active"));
    }
    check_pkce_exchange(&rec, req.code_verifier.as_deref()).map_err(grant)?;

    let offline = rec
        .scope
        .as_deref()
        .is_some_and(|s| s.split(' ').any(|x| x == "offline_access"));
    let user_id = rec.user_id.clone();
    if offline {
        realm.attach_client(sid, &user_id, client_uuid, true, now_ms);
        if realm
            .browser
            .sessions
            .get(sid)
            .is_some_and(|s| s.offline_login)
        {
            // Keycloak ends an online session started for an offline token.
            realm.end_online_session(sid);
        }
    } else {
        realm.touch_client_session(sid, client_uuid, false, now_ms);
    }
    let scope = super::FakeKeycloak::scope_string(rec.scope.as_deref(), offline);
    let store = &*store;
    let realm = store
        .realms
        .get(realm_name)
        .ok_or_else(|| OAuthError::new(404, "invalid_request", "Realm does not exist"))?;
    let (Some(client), Some(user)) = (realm.clients.get(client_uuid), realm.users.get(&user_id))
    else {
        return Err(grant("User not found"));
    };
    super::FakeKeycloak::issue(
        store,
        &Issue {
            realm,
            client,
            user,
            sid: Some(sid.to_owned()),
            scope,
            offline,
            auth_time: realm.browser.auth_time(sid),
            nonce: rec.nonce.clone(),
            sso: rec.sso,
        },
    )
}

// ----- logout -----

async fn logout(
    State(kc): State<FakeKeycloak>,
    Path(realm): Path<String>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = if method == Method::POST {
        parse_params(&body)
    } else {
        parse_params(query.as_deref().unwrap_or("").as_bytes())
    };
    let cookies = parse_cookies(&headers);
    let basic = super::http::basic_credentials(&headers);
    let mut store = kc.lock();
    if method == Method::POST && params.contains_key("refresh_token") {
        return backchannel_logout(&mut store, &realm, &params, basic);
    }
    browser_logout(&mut store, &realm, &params, &cookies)
}

fn oauth_json(status: u16, error: &str, description: &str) -> Response {
    json_error(
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        json!({"error": error, "error_description": description}),
    )
}

/// `POST …/logout` with a refresh token: ends its session (204).
fn backchannel_logout(
    store: &mut Store,
    realm_name: &str,
    form: &Params,
    basic: Option<(String, String)>,
) -> Response {
    let issuer = store.issuer(realm_name);
    let Some(realm) = store.realms.get(realm_name) else {
        return realm_missing();
    };
    let (client_id, secret) = match basic {
        Some((id, secret)) => (Some(id), Some(secret)),
        None => (
            form.get("client_id").cloned(),
            form.get("client_secret").cloned(),
        ),
    };
    let bad = "Invalid client or Invalid client credentials";
    let Some(client) = client_id
        .as_deref()
        .and_then(|id| realm.client_by_client_id(id).ok())
        .filter(|c| c.enabled)
    else {
        return oauth_json(401, "invalid_client", bad);
    };
    if !client.public {
        let ok = match (&client.secret, &secret) {
            (Some(expected), Some(given)) => constant_time_eq(expected, given),
            _ => false,
        };
        if !ok {
            return oauth_json(401, "unauthorized_client", bad);
        }
    }
    if client.bearer_only {
        return oauth_json(400, "invalid_client", "Bearer-only not allowed");
    }
    let token = form.get("refresh_token").cloned().unwrap_or_default();
    let mut validation = Validation::new(Algorithm::HS512);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<Value>(&token, store.key.hmac_decoding(), &validation)
        .ok()
        .map(|d| d.claims);
    let s = |c: &Value, k: &str| c.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let Some(claims) = claims
        .filter(|c| matches!(s(c, "typ").as_str(), "Refresh" | "Offline") && s(c, "iss") == issuer)
    else {
        return oauth_json(400, "invalid_grant", "Invalid refresh token");
    };
    if s(&claims, "azp") != client.client_id {
        return oauth_json(
            400,
            "invalid_grant",
            "Invalid refresh token. Token client and authorized client don't match",
        );
    }
    let sid = s(&claims, "sid");
    let offline = s(&claims, "typ") == "Offline";
    if let Some(realm) = store.realms.get_mut(realm_name) {
        if offline {
            realm.end_offline_session(&sid);
        } else {
            realm.end_online_session(&sid);
        }
    }
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    set_header(&mut response, header::CACHE_CONTROL, "no-cache");
    response
}

/// The front-channel logout (`GET`, or `POST` without a refresh token).
fn browser_logout(
    store: &mut Store,
    realm_name: &str,
    p: &Params,
    cookies: &BTreeMap<String, String>,
) -> Response {
    let base = store.base_url.clone();
    let issuer = store.issuer(realm_name);
    let Some(realm) = store.realms.get(realm_name) else {
        return realm_missing();
    };
    let shown = realm.display_name();
    let hint = p.get("id_token_hint");
    let uri = p.get("post_logout_redirect_uri");
    let client_id = p.get("client_id");
    if uri.is_some() && hint.is_none() && client_id.is_none() {
        return error_page(
            &shown,
            StatusCode::BAD_REQUEST,
            "Missing parameters: id_token_hint",
        );
    }
    let mut hint_sid = None;
    let mut client = client_id.and_then(|id| realm.client_by_client_id(id).ok());
    if let Some(hint) = hint {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let claims = jsonwebtoken::decode::<Value>(hint, store.key.decoding(), &validation)
            .ok()
            .map(|d| d.claims)
            .filter(|c| {
                c.get("typ").and_then(Value::as_str) == Some("ID")
                    && c.get("iss").and_then(Value::as_str) == Some(issuer.as_str())
            });
        let Some(claims) = claims else {
            return error_page(
                &shown,
                StatusCode::BAD_REQUEST,
                "Invalid parameter: id_token_hint",
            );
        };
        let azp = claims.get("azp").and_then(Value::as_str).unwrap_or("");
        if client_id.is_some_and(|id| id != azp) {
            return error_page(
                &shown,
                StatusCode::BAD_REQUEST,
                "Invalid parameter: id_token_hint",
            );
        }
        if client.is_none() {
            client = realm.client_by_client_id(azp).ok();
        }
        hint_sid = claims.get("sid").and_then(Value::as_str).map(str::to_owned);
    }
    let redirect_to = match uri {
        None => None,
        Some(uri) => {
            let allowed = client.and_then(|c| {
                verify_redirect_against(
                    &client_root(&base, c),
                    &post_logout_uris(c),
                    Some(uri),
                    false,
                )
            });
            match allowed {
                Some(u) => Some(u),
                None => {
                    return error_page(&shown, StatusCode::BAD_REQUEST, "Invalid redirect uri");
                }
            }
        }
    };
    let state = p.get("state").cloned();
    let cookie_sid = match sso_of(store, realm, cookies) {
        Sso::Valid { sid, .. } => Some(sid),
        _ => None,
    };
    if hint.is_none() {
        // Keycloak asks first.
        let session_code = random_token(32);
        let confirm_client = client_id.cloned().unwrap_or_else(|| "account".to_owned());
        let Some(realm) = store.realms.get_mut(realm_name) else {
            return realm_missing();
        };
        realm.browser.logouts.insert(
            session_code.clone(),
            PendingLogout {
                redirect: redirect_to,
                state,
            },
        );
        let action = format!(
            "/realms/{realm_name}/protocol/openid-connect/logout/logout-confirm?{}",
            query_string(&[
                ("client_id", confirm_client.as_str()),
                ("tab_id", &random_token(8)),
            ])
        );
        let body = format!(
            r#"        <div id="kc-logout-confirm" class="content-area">
            <p class="instruction">Do you want to log out?</p>

            <form class="form-actions" action="{}" onsubmit="confirmLogout.disabled = true; return true;" method="POST">
                <input type="hidden" name="session_code" value="{}">
                <div class="pf-v5-c-form__group">
                    <div id="kc-form-buttons" class="pf-v5-c-form__group">
                        <input tabindex="4"
                               class="pf-v5-c-button pf-v5-c-button pf-m-primary pf-m-block "
                               name="confirmLogout" id="kc-logout" type="submit" value="Logout"/>
                    </div>
                </div>
            </form>
        </div>"#,
            esc(&action),
            esc(&session_code)
        );
        return html(
            StatusCode::OK,
            page(&shown, "login-logout-confirm", "Logging out", &body),
            &[],
        );
    }
    let Some(realm) = store.realms.get_mut(realm_name) else {
        return realm_missing();
    };
    for sid in hint_sid.iter().chain(cookie_sid.iter()) {
        realm.end_online_session(sid);
    }
    finish_logout(&shown, realm_name, redirect_to, state)
}

/// After a logout: to the post-logout redirect URI (with `state`), or the info page.
fn finish_logout(
    shown: &str,
    realm_name: &str,
    redirect_to: Option<String>,
    state: Option<String>,
) -> Response {
    let expired = expire_identity(realm_name);
    match redirect_to {
        Some(uri) => {
            let location = match state {
                Some(s) => {
                    let sep = if uri.contains('?') { '&' } else { '?' };
                    format!("{uri}{sep}{}", query_string(&[("state", &s)]))
                }
                None => uri,
            };
            redirect(&location, "no-cache", &expired)
        }
        None => logged_out_page(shown, &expired),
    }
}

async fn logout_confirm(
    State(kc): State<FakeKeycloak>,
    Path(realm_name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = parse_params(&body);
    let cookies = parse_cookies(&headers);
    let mut store = kc.lock();
    let Some(realm) = store.realms.get(&realm_name) else {
        return realm_missing();
    };
    let shown = realm.display_name();
    let cookie_sid = match sso_of(&store, realm, &cookies) {
        Sso::Valid { sid, .. } => Some(sid),
        _ => None,
    };
    let Some(realm) = store.realms.get_mut(&realm_name) else {
        return realm_missing();
    };
    let Some(pending) = form
        .get("session_code")
        .and_then(|c| realm.browser.logouts.remove(c))
    else {
        return error_page(&shown, StatusCode::BAD_REQUEST, "Logout failed");
    };
    if let Some(sid) = cookie_sid {
        realm.end_online_session(&sid);
    }
    finish_logout(&shown, &realm_name, pending.redirect, pending.state)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uris(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    /// The matching table checked against Keycloak 26.7.
    #[test]
    fn redirect_uris_match_as_keycloak_matches_them() {
        let registered = uris(&[
            "http://a.example/exact",
            "http://a.example/q?x=1",
            "http://b.example/p/*",
            "http://c.example*",
            "/rel/*",
            "http://127.0.0.1/loop",
            "https://Case.Example/Path",
            "custom:/cb",
            "myapp://*",
            "http://d.example:8080/x",
        ]);
        let root = "http://kc.example:8080";
        let cases = [
            ("http://a.example/exact", true),
            ("http://a.example/exact/", false),
            ("http://a.example/exact?y=1", false),
            ("http://a.example/exact#f", false),
            ("http://A.EXAMPLE/exact", false),
            ("HTTP://a.example/exact", false),
            ("http://a.example/Exact", false),
            ("http://a.example/q?x=1", true),
            ("http://a.example/q?x=2", false),
            ("http://a.example/q", false),
            ("http://b.example/p/", true),
            ("http://b.example/p", true),
            ("http://b.example/p/x/y?z=1", true),
            ("http://b.example/pp", false),
            ("http://b.example/p/../q", false),
            ("http://b.example/p/x?code=1", false),
            ("http://b.example/p/x?state=1", false),
            ("http://b.example/p/x#state=1", false),
            ("http://c.example", true),
            ("http://c.example.evil.com/", false),
            ("http://c.example/any", true),
            ("http://user@b.example/p/x", false),
            ("http://127.0.0.1/loop", true),
            ("http://127.0.0.1:5555/loop", true),
            ("http://localhost:5555/loop", false),
            ("http://127.0.0.1:5555/loop2", false),
            ("https://case.example/Path", false),
            ("https://case.example/path", false),
            ("http://localhost:8080/rel/x", false),
            ("http://kc.example:8080/rel/x", true),
            ("http://kc.example:8080/rel", true),
            ("/rel/x", false),
            ("rel/x", false),
            ("custom:/cb", true),
            ("myapp://anything", true),
            ("http://d.example:8080/x", true),
            ("http://d.example/x", false),
            ("http://d.example:80/x", false),
            ("http://a.example:80/exact", false),
            ("", false),
        ];
        for (uri, ok) in cases {
            assert_eq!(
                verify_redirect_against(root, &registered, Some(uri), false).is_some(),
                ok,
                "{uri}"
            );
        }
        let star = uris(&["*"]);
        assert!(verify_redirect_against(root, &star, Some("https://x.example/y"), false).is_some());
        assert!(verify_redirect_against(root, &star, Some("custom:/x"), false).is_none());
        // No redirect_uri: the only registered one, for non-OpenID requests.
        let one = uris(&["http://second.example/cb"]);
        assert_eq!(
            verify_redirect_against(root, &one, None, true).as_deref(),
            Some("http://second.example/cb")
        );
        assert!(verify_redirect_against(root, &one, None, false).is_none());
        assert!(verify_redirect_against(root, &registered, None, true).is_none());
    }

    #[test]
    fn scopes_are_checked_as_keycloak_splits_them() {
        assert!(valid_scope("openid openid"));
        assert!(valid_scope("openid "));
        assert!(valid_scope("profile offline_access"));
        assert!(!valid_scope("openid  profile"));
        assert!(!valid_scope(" openid"));
        assert!(!valid_scope(""));
        assert!(!valid_scope("OPENID"));
        assert!(!valid_scope("openid bogus"));
    }

    #[test]
    fn pkce_checks_name_keycloaks_errors() {
        let client = ClientRec::new("id".into(), "c", None, true);
        let good = "x".repeat(43);
        assert_eq!(check_pkce_request(&client, None, None), Ok(()));
        assert_eq!(
            check_pkce_request(&client, None, Some("S256")),
            Err("Missing parameter: code_challenge")
        );
        assert_eq!(
            check_pkce_request(&client, Some(&good), Some("S512")),
            Err("Invalid parameter: code_challenge_method")
        );
        assert_eq!(
            check_pkce_request(&client, Some("abc"), Some("S256")),
            Err("Invalid parameter: code_challenge")
        );
        let mut enforced = client.clone();
        enforced
            .attributes
            .insert("pkce.code.challenge.method".into(), "S256".into());
        assert_eq!(
            check_pkce_request(&enforced, None, None),
            Err("Missing parameter: code_challenge_method")
        );
        assert_eq!(
            check_pkce_request(&enforced, Some(&good), Some("plain")),
            Err("Invalid parameter: code challenge method is not matching the configured one")
        );
        let verifier = "v".repeat(50);
        let code = CodeRec {
            sid: String::new(),
            client_uuid: String::new(),
            user_id: String::new(),
            redirect_param: None,
            scope: None,
            nonce: None,
            code_challenge: Some(sha256_b64(&verifier)),
            code_challenge_method: Some("S256".into()),
            expires: 0,
            sso: false,
        };
        assert_eq!(check_pkce_exchange(&code, Some(&verifier)), Ok(()));
        assert_eq!(
            check_pkce_exchange(&code, None),
            Err("PKCE code verifier not specified")
        );
        assert_eq!(
            check_pkce_exchange(&code, Some(&"w".repeat(50))),
            Err("PKCE verification failed: Code mismatch")
        );
        assert_eq!(
            check_pkce_exchange(&code, Some("short")),
            Err("PKCE verification failed: Invalid code verifier")
        );
    }
}
