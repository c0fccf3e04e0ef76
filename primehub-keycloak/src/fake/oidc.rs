//! OIDC for the fake: the token endpoint's grants (password, client credentials, refresh,
//! offline), Keycloak-shaped access / ID / refresh tokens, protocol mappers, token verification
//! and userinfo.

use std::collections::BTreeSet;

use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::store::{ClientRec, RealmState, SessionRec, Store, UserRec};
use super::{FakeKeycloak, FakeRealm};
use crate::error::{KeycloakError, Result};

/// A token request, as posted to `/protocol/openid-connect/token` (form fields).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRequest {
    /// `password`, `client_credentials`, `refresh_token` or `authorization_code`.
    #[serde(default)]
    pub grant_type: String,
    /// The client's `clientId`.
    #[serde(default)]
    pub client_id: Option<String>,
    /// The client secret (confidential clients).
    #[serde(default)]
    pub client_secret: Option<String>,
    /// Username or e-mail (password grant).
    #[serde(default)]
    pub username: Option<String>,
    /// Password (password grant).
    #[serde(default)]
    pub password: Option<String>,
    /// The refresh or offline token (refresh grant).
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// Space-separated scopes; `openid` adds an ID token, `offline_access` makes the refresh
    /// token an offline token.
    #[serde(default)]
    pub scope: Option<String>,
    /// The authorization code (`authorization_code` grant).
    #[serde(default)]
    pub code: Option<String>,
    /// The redirect URI the code was requested with (`authorization_code` grant).
    #[serde(default)]
    pub redirect_uri: Option<String>,
    /// The PKCE code verifier (`authorization_code` grant).
    #[serde(default)]
    pub code_verifier: Option<String>,
}

/// A token endpoint response, with Keycloak's field names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The RS256 access token.
    pub access_token: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Seconds until the refresh token expires (0 for offline tokens and when there is none).
    pub refresh_expires_in: i64,
    /// The refresh token (`typ` `Refresh` or `Offline`); none for client credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Always `Bearer`.
    pub token_type: String,
    /// The ID token, when `openid` was requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// Keycloak's `not-before-policy` (always 0).
    #[serde(rename = "not-before-policy", default)]
    pub not_before_policy: i64,
    /// The session id, when there is a session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_state: Option<String>,
    /// The granted scopes.
    #[serde(default)]
    pub scope: String,
}

/// An OAuth error as the token endpoint reports it.
#[derive(Debug, Clone)]
pub(crate) struct OAuthError {
    pub status: u16,
    pub error: &'static str,
    pub description: String,
}

impl OAuthError {
    pub(super) fn new(
        status: u16,
        error: &'static str,
        description: impl Into<String>,
    ) -> OAuthError {
        OAuthError {
            status,
            error,
            description: description.into(),
        }
    }

    pub fn body(&self) -> Value {
        json!({"error": self.error, "error_description": self.description})
    }
}

impl From<OAuthError> for KeycloakError {
    fn from(e: OAuthError) -> KeycloakError {
        match e.status {
            401 => KeycloakError::Unauthorized {
                reason: format!("{}: {}", e.error, e.description),
            },
            403 => KeycloakError::Forbidden {
                reason: format!("{}: {}", e.error, e.description),
            },
            404 => KeycloakError::not_found(e.description),
            _ => KeycloakError::invalid(e.error, e.description),
        }
    }
}

fn invalid_grant(description: &str) -> OAuthError {
    OAuthError::new(400, "invalid_grant", description)
}

/// Why [`FakeKeycloak::verify_access`] refuses a token whose session ended (Keycloak's
/// userinfo `error_description` for it).
pub(crate) const SESSION_NOT_FOUND: &str = "user_session_not_found";

/// Claims of a verified access token that the fake needs.
#[derive(Debug, Clone)]
pub(crate) struct VerifiedToken {
    pub realm: String,
    pub sub: String,
    pub scope: String,
    pub claims: Value,
}

/// The user's effective realm role names (direct, through groups, composites expanded), sorted.
fn token_realm_roles(realm: &RealmState, user: &UserRec) -> Vec<String> {
    realm.effective_realm_roles(&user.id)
}

/// The default client scopes Keycloak 26.7 leaves out of a token's `scope` string (their
/// `include.in.token.scope` is off) but names in its refresh tokens.
const SCOPES_ONLY_IN_REFRESH_TOKENS: [&str; 5] =
    ["web-origins", "service_account", "acr", "roles", "basic"];

/// A refresh (or offline) token's `scope` claim, as Keycloak 26.7 writes it: the access
/// token's scopes plus every default client scope of the client that access tokens do not
/// name (`acr`, `basic`, `roles`, `web-origins`, and `service_account` while the client has a
/// service account). Checked against a real server with `openid`, without it, and with
/// optional scopes.
fn refresh_scope(client: &ClientRec, scope: &str) -> String {
    let mut out: Vec<&str> = scope.split(' ').filter(|s| !s.is_empty()).collect();
    for hidden in client.default_client_scopes() {
        if SCOPES_ONLY_IN_REFRESH_TOKENS.contains(&hidden) && !out.contains(&hidden) {
            out.push(hidden);
        }
    }
    out.join(" ")
}

/// The access-token `scope` of a refresh token's `scope` claim (see [`refresh_scope`]).
fn token_scope(refresh_scope: &str) -> String {
    refresh_scope
        .split(' ')
        .filter(|s| !s.is_empty() && !SCOPES_ONLY_IN_REFRESH_TOKENS.contains(s))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The ids of the roles a token of `client` for `user` carries, as Keycloak's
/// `TokenManager.getAccess` decides: with `fullScopeAllowed` (Keycloak's default) every role
/// the user holds, composites expanded; otherwise only those also in the client's scope — its
/// own roles, its scope mappings and those of the requested client scopes (`offline_access`
/// maps the realm role of that name), all expanded (PrimeHub's `admin-ui` maps
/// `realm-management/realm-admin`, so its tokens carry the 22 roles that composite holds).
fn token_role_ids(
    realm: &RealmState,
    client: &ClientRec,
    user: &UserRec,
    scope: &str,
) -> BTreeSet<String> {
    let held = realm.effective_role_ids(&user.id);
    if client.full_scope_allowed {
        return held;
    }
    let mut in_scope: BTreeSet<String> = realm
        .roles
        .values()
        .filter(|r| r.client.as_deref() == Some(client.id.as_str()))
        .map(|r| r.id.clone())
        .collect();
    in_scope.extend(client.scope_roles.iter().cloned());
    if scope.split(' ').any(|s| s == "offline_access")
        && let Ok(role) = realm.realm_role("offline_access")
    {
        in_scope.insert(role.id.clone());
    }
    let in_scope = realm.expand_composites(in_scope);
    held.intersection(&in_scope).cloned().collect()
}

/// The realm role names among `ids`, sorted.
fn realm_role_names(realm: &RealmState, ids: &BTreeSet<String>) -> Vec<String> {
    let mut names: Vec<String> = ids
        .iter()
        .filter_map(|id| realm.roles.get(id))
        .filter(|r| r.client.is_none())
        .map(|r| r.name.clone())
        .collect();
    names.sort();
    names
}

/// Sets `claim.name` in `claims`, where unescaped dots nest objects (as Keycloak does).
fn set_claim(claims: &mut Map<String, Value>, name: &str, value: Value) {
    let mut parts: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'.') => {
                cur.push('.');
                chars.next();
            }
            '.' => parts.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    parts.push(cur);
    let mut target = claims;
    let Some((last, path)) = parts.split_last() else {
        return;
    };
    for p in path {
        let entry = target
            .entry(p.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Some(obj) = entry.as_object_mut() else {
            return;
        };
        target = obj;
    }
    target.insert(last.clone(), value);
}

fn convert(value: &str, json_type: &str) -> Option<Value> {
    match json_type {
        "int" | "long" => value.trim().parse::<i64>().ok().map(Value::from),
        "boolean" => Some(Value::Bool(value.trim().eq_ignore_ascii_case("true"))),
        "JSON" => serde_json::from_str(value).ok(),
        _ => Some(Value::String(value.to_owned())),
    }
}

/// Adds `audience` to the `aud` claim (a string for one audience, an array for several; the
/// `account` audience stays last, as Keycloak orders it).
fn add_audience(claims: &mut Map<String, Value>, audience: &str) {
    let mut auds: Vec<String> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    if auds.iter().any(|a| a == audience) {
        return;
    }
    auds.push(audience.to_owned());
    auds.sort_by_key(|a| a == "account");
    let value = match auds.as_slice() {
        [one] => json!(one),
        _ => json!(auds),
    };
    claims.insert("aud".into(), value);
}

/// Applies a client's protocol mappers for one kind of token (`access.token.claim`,
/// `id.token.claim`, `userinfo.token.claim` or `introspection.token.claim`, which Keycloak sets
/// to `true` when a mapper is created without it).
fn apply_mappers(
    claims: &mut Map<String, Value>,
    client: &ClientRec,
    realm: &RealmState,
    user: &UserRec,
    which: &str,
) {
    for mapper in &client.protocol_mappers {
        let config = mapper.get("config").cloned().unwrap_or_else(|| json!({}));
        let cfg = |k: &str| config.get(k).and_then(Value::as_str).unwrap_or("");
        let default_on = which == "introspection.token.claim" && cfg(which).is_empty();
        if cfg(which) != "true" && !default_on {
            continue;
        }
        let kind = mapper
            .get("protocolMapper")
            .and_then(Value::as_str)
            .unwrap_or("");
        if kind == "oidc-audience-mapper" {
            // `userinfo` carries no audience.
            if which != "userinfo.token.claim" {
                for key in ["included.client.audience", "included.custom.audience"] {
                    if !cfg(key).is_empty() {
                        add_audience(claims, cfg(key));
                    }
                }
            }
            continue;
        }
        let claim_name = cfg("claim.name");
        if claim_name.is_empty() {
            continue;
        }
        let json_type = cfg("jsonType.label");
        let multivalued = cfg("multivalued") == "true";
        let value = match kind {
            "oidc-usermodel-realm-role-mapper" => {
                let prefix = cfg("usermodel.realmRoleMapping.rolePrefix");
                let roles: Vec<Value> = token_realm_roles(realm, user)
                    .into_iter()
                    .map(|r| Value::String(format!("{prefix}{r}")))
                    .collect();
                Some(Value::Array(roles))
            }
            "oidc-usermodel-attribute-mapper" => {
                let values = resolve_attribute(
                    realm,
                    user,
                    cfg("user.attribute"),
                    cfg("aggregate.attrs") == "true",
                );
                let values = values.as_ref();
                match values {
                    Some(vs) if multivalued => Some(Value::Array(
                        vs.iter().filter_map(|v| convert(v, json_type)).collect(),
                    )),
                    Some(vs) => vs.first().and_then(|v| convert(v, json_type)),
                    None => None,
                }
            }
            "oidc-usermodel-property-mapper" => {
                let v = match cfg("user.attribute") {
                    "username" => Some(user.username.clone()),
                    "email" => user.email.clone(),
                    "firstName" => user.first_name.clone(),
                    "lastName" => user.last_name.clone(),
                    _ => None,
                };
                v.and_then(|v| convert(&v, json_type))
            }
            "oidc-group-membership-mapper" => {
                let full = cfg("full.path") != "false";
                let groups: Vec<Value> = realm
                    .user_groups(&user.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|g| {
                        Value::String(if full {
                            realm.group_path(&g.id)
                        } else {
                            g.name.clone()
                        })
                    })
                    .collect();
                Some(Value::Array(groups))
            }
            "oidc-hardcoded-claim-mapper" => convert(cfg("claim.value"), json_type),
            _ => None,
        };
        if let Some(v) = value {
            set_claim(claims, claim_name, v);
        }
    }
}

/// A user attribute as Keycloak's attribute mappers resolve it: the user's values, else those
/// of the first of the user's groups that has the attribute (PrimeHub's `everyone` group
/// carries `quota-gpu`), or with `aggregate` the user's and all groups' values.
fn resolve_attribute(
    realm: &RealmState,
    user: &UserRec,
    name: &str,
    aggregate: bool,
) -> Option<Vec<String>> {
    let own = user.attributes.get(name).filter(|vs| !vs.is_empty());
    let groups = realm.user_groups(&user.id).unwrap_or_default();
    let mut from_groups = groups
        .iter()
        .filter_map(|g| g.attributes.get(name).filter(|vs| !vs.is_empty()));
    if !aggregate {
        return own.or_else(|| from_groups.next()).cloned();
    }
    let mut all: Vec<String> = own.cloned().unwrap_or_default();
    for v in from_groups.flatten() {
        if !all.contains(v) {
            all.push(v.clone());
        }
    }
    (!all.is_empty()).then_some(all)
}

/// The scopes a client may request: `openid`, the default client scopes of a new Keycloak
/// client and its optional ones (`service_account` only with service accounts enabled).
/// `organization` is accepted and, with organizations off as in a new realm, adds nothing.
fn scope_allowed(client: &ClientRec, scope: &str) -> bool {
    matches!(
        scope,
        "openid"
            | "profile"
            | "email"
            | "roles"
            | "web-origins"
            | "acr"
            | "basic"
            | "address"
            | "phone"
            | "offline_access"
            | "microprofile-jwt"
            | "organization"
    ) || (scope == "service_account" && client.service_accounts)
}

/// Keycloak's check of a `scope` parameter: split at single spaces (so an empty scope or a
/// doubled space is refused), every scope one the client may request.
fn check_scope(client: &ClientRec, requested: Option<&str>) -> std::result::Result<(), OAuthError> {
    let Some(raw) = requested else {
        return Ok(());
    };
    if raw.split(' ').all(|s| scope_allowed(client, s)) {
        return Ok(());
    }
    Err(OAuthError::new(
        400,
        "invalid_scope",
        format!("Invalid scopes: {raw}"),
    ))
}

/// The optional client scopes the fake grants when requested, in the order it names them.
const OPTIONAL_SCOPES: [&str; 3] = ["address", "phone", "microprofile-jwt"];

/// The claims of the `profile` and `email` scopes (always granted), then those of the optional
/// scopes in `scope`: `address` (from the attributes `street`, `locality`, `region`,
/// `postal_code`, `country`, `formatted`), `phone` (`phoneNumber`, `phoneNumberVerified`),
/// `microprofile-jwt` (`upn`, and the realm roles as `groups`).
fn profile_claims(
    claims: &mut Map<String, Value>,
    realm: &RealmState,
    client: Option<&ClientRec>,
    user: &UserRec,
    scope: &str,
) {
    let attribute = |name: &str| {
        resolve_attribute(realm, user, name, false).and_then(|vs| vs.into_iter().next())
    };
    if user.service_account_client.is_none() {
        claims.insert("email_verified".into(), json!(user.email_verified));
        if let Some(name) = user.display_name() {
            claims.insert("name".into(), json!(name));
        }
    } else {
        claims.insert("email_verified".into(), json!(false));
    }
    claims.insert("preferred_username".into(), json!(user.username));
    if let Some(f) = &user.first_name {
        claims.insert("given_name".into(), json!(f));
    }
    if let Some(l) = &user.last_name {
        claims.insert("family_name".into(), json!(l));
    }
    if let Some(e) = &user.email {
        claims.insert("email".into(), json!(e));
    }
    // The profile scope's attribute mappers.
    for (attr, claim) in [
        ("website", "website"),
        ("zoneinfo", "zoneinfo"),
        ("birthdate", "birthdate"),
        ("gender", "gender"),
        ("profile", "profile"),
        ("middleName", "middle_name"),
        ("picture", "picture"),
        ("nickname", "nickname"),
    ] {
        if let Some(v) = attribute(attr) {
            claims.insert(claim.into(), json!(v));
        }
    }
    let scopes: Vec<&str> = scope.split(' ').collect();
    if scopes.contains(&"address") {
        let mut address = Map::new();
        for (attr, field) in [
            ("street", "street_address"),
            ("locality", "locality"),
            ("region", "region"),
            ("postal_code", "postal_code"),
            ("country", "country"),
            ("formatted", "formatted"),
        ] {
            if let Some(v) = attribute(attr) {
                address.insert(field.into(), json!(v));
            }
        }
        if !address.is_empty() {
            claims.insert("address".into(), Value::Object(address));
        }
    }
    if scopes.contains(&"phone") {
        if let Some(v) = attribute("phoneNumber") {
            claims.insert("phone_number".into(), json!(v));
        }
        if let Some(v) = attribute("phoneNumberVerified") {
            claims.insert(
                "phone_number_verified".into(),
                json!(v.trim().eq_ignore_ascii_case("true")),
            );
        }
    }
    if scopes.contains(&"microprofile-jwt") {
        claims.insert("upn".into(), json!(user.username));
        let roles: Vec<String> = match client {
            Some(c) => realm_role_names(realm, &token_role_ids(realm, c, user, scope)),
            None => token_realm_roles(realm, user),
        };
        if !roles.is_empty() {
            claims.insert("groups".into(), json!(roles));
        }
    }
}

/// What a token is issued (or, for introspection, re-derived) from.
pub(super) struct Issue<'a> {
    pub realm: &'a RealmState,
    pub client: &'a ClientRec,
    pub user: &'a UserRec,
    pub sid: Option<String>,
    pub scope: String,
    pub offline: bool,
    /// When the user authenticated (browser logins): the `auth_time` claim.
    pub auth_time: Option<i64>,
    /// The authorization request's `nonce` (code exchange only): the ID token's `nonce`.
    pub nonce: Option<String>,
    /// Whether the user was authenticated by the SSO cookie, without a form (code exchange
    /// only): Keycloak's `acr` is then `"0"`, else `"1"`.
    pub sso: bool,
}

impl FakeKeycloak {
    fn sign(store: &Store, claims: &Map<String, Value>) -> std::result::Result<String, OAuthError> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(store.key.kid().to_owned());
        header.typ = Some("JWT".into());
        jsonwebtoken::encode(&header, claims, store.key.encoding())
            .map_err(|e| OAuthError::new(500, "server_error", format!("signing failed: {e}")))
    }

    /// The claims of an access token for `i`, issued now: also what introspection re-derives
    /// a token's claims from (Keycloak runs the protocol mappers again there).
    /// `mappers` names the protocol-mapper switch that applies (`access.token.claim`, or
    /// `introspection.token.claim` for an introspection response).
    pub(super) fn access_claims(store: &Store, i: &Issue<'_>, mappers: &str) -> Map<String, Value> {
        let now = store.now();
        let iss = store.issuer(&i.realm.name);
        let access_exp = now + store.access_lifespan;
        let mut at = Map::new();
        at.insert("exp".into(), json!(access_exp));
        at.insert("iat".into(), json!(now));
        if let Some(auth_time) = i.auth_time {
            at.insert("auth_time".into(), json!(auth_time));
        }
        at.insert("jti".into(), json!(uuid::Uuid::new_v4().to_string()));
        at.insert("iss".into(), json!(iss));
        let role_ids = token_role_ids(i.realm, i.client, i.user, &i.scope);
        let mut resource_access: Map<String, Value> = Map::new();
        for role in role_ids.iter().filter_map(|id| i.realm.roles.get(id)) {
            if let Some(owner) = role.client.as_deref().and_then(|c| i.realm.clients.get(c)) {
                let entry = resource_access
                    .entry(owner.client_id.clone())
                    .or_insert_with(|| json!({"roles": []}));
                if let Some(list) = entry.get_mut("roles").and_then(Value::as_array_mut) {
                    list.push(json!(role.name));
                }
            }
        }
        for entry in resource_access.values_mut() {
            if let Some(list) = entry.get_mut("roles").and_then(Value::as_array_mut) {
                list.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            }
        }
        let mut aud: Vec<String> = resource_access
            .keys()
            .filter(|c| **c != i.client.client_id)
            .cloned()
            .collect();
        aud.sort_by_key(|a| a == "account");
        // Keycloak leaves out `aud` (and `resource_access`) when the token names no other
        // client, as for a user of PrimeHub's `admin-ui` (no full scope) who holds no role in
        // its scope.
        match aud.len() {
            0 => {}
            1 => {
                at.insert("aud".into(), json!(aud[0]));
            }
            _ => {
                at.insert("aud".into(), json!(aud));
            }
        }
        at.insert("sub".into(), json!(i.user.id));
        at.insert("typ".into(), json!("Bearer"));
        at.insert("azp".into(), json!(i.client.client_id));
        if let Some(sid) = &i.sid {
            at.insert("sid".into(), json!(sid));
        }
        at.insert("acr".into(), json!(if i.sso { "0" } else { "1" }));
        if !i.client.web_origins.is_empty() {
            at.insert("allowed-origins".into(), json!(i.client.web_origins));
        }
        let realm_roles = realm_role_names(i.realm, &role_ids);
        if !realm_roles.is_empty() {
            at.insert("realm_access".into(), json!({ "roles": realm_roles }));
        }
        if !resource_access.is_empty() {
            at.insert("resource_access".into(), Value::Object(resource_access));
        }
        at.insert("scope".into(), json!(i.scope));
        if i.user.service_account_client.is_some() {
            at.insert("client_id".into(), json!(i.client.client_id));
            at.insert("clientHost".into(), json!("127.0.0.1"));
            at.insert("clientAddress".into(), json!("127.0.0.1"));
        }
        profile_claims(&mut at, i.realm, Some(i.client), i.user, &i.scope);
        apply_mappers(&mut at, i.client, i.realm, i.user, mappers);
        at
    }

    pub(super) fn issue(
        store: &Store,
        i: &Issue<'_>,
    ) -> std::result::Result<TokenResponse, OAuthError> {
        let now = store.now();
        let iss = store.issuer(&i.realm.name);
        let access_exp = now + store.access_lifespan;

        // Access token.
        let at = Self::access_claims(store, i, "access.token.claim");
        let access_token = Self::sign(store, &at)?;

        // ID token.
        let id_token = if i.scope.split(' ').any(|s| s == "openid") {
            let mut it = Map::new();
            it.insert("exp".into(), json!(access_exp));
            it.insert("iat".into(), json!(now));
            if let Some(auth_time) = i.auth_time {
                it.insert("auth_time".into(), json!(auth_time));
            }
            it.insert("jti".into(), json!(uuid::Uuid::new_v4().to_string()));
            it.insert("iss".into(), json!(iss));
            it.insert("aud".into(), json!(i.client.client_id));
            it.insert("sub".into(), json!(i.user.id));
            it.insert("typ".into(), json!("ID"));
            it.insert("azp".into(), json!(i.client.client_id));
            if let Some(nonce) = &i.nonce {
                it.insert("nonce".into(), json!(nonce));
            }
            if let Some(sid) = &i.sid {
                it.insert("sid".into(), json!(sid));
            }
            it.insert(
                "at_hash".into(),
                json!(super::browser::at_hash(&access_token)),
            );
            it.insert("acr".into(), json!(if i.sso { "0" } else { "1" }));
            profile_claims(&mut it, i.realm, Some(i.client), i.user, &i.scope);
            apply_mappers(&mut it, i.client, i.realm, i.user, "id.token.claim");
            Some(Self::sign(store, &it)?)
        } else {
            None
        };

        // Refresh token (HS512, as Keycloak signs them).
        let (refresh_token, refresh_expires_in) = match &i.sid {
            Some(sid) => {
                let mut rt = Map::new();
                if !i.offline {
                    rt.insert("exp".into(), json!(now + store.refresh_lifespan));
                }
                rt.insert("iat".into(), json!(now));
                rt.insert("jti".into(), json!(uuid::Uuid::new_v4().to_string()));
                rt.insert("iss".into(), json!(iss));
                rt.insert("aud".into(), json!(iss));
                rt.insert("sub".into(), json!(i.user.id));
                rt.insert(
                    "typ".into(),
                    json!(if i.offline { "Offline" } else { "Refresh" }),
                );
                rt.insert("azp".into(), json!(i.client.client_id));
                rt.insert("sid".into(), json!(sid));
                rt.insert("scope".into(), json!(refresh_scope(i.client, &i.scope)));
                let mut header = Header::new(Algorithm::HS512);
                header.kid = Some(store.key.hmac_kid().to_owned());
                header.typ = Some("JWT".into());
                let token =
                    jsonwebtoken::encode(&header, &rt, store.key.hmac_encoding()).map_err(|e| {
                        OAuthError::new(500, "server_error", format!("signing failed: {e}"))
                    })?;
                let expires = if i.offline { 0 } else { store.refresh_lifespan };
                (Some(token), expires)
            }
            None => (None, 0),
        };

        Ok(TokenResponse {
            access_token,
            expires_in: store.access_lifespan,
            refresh_expires_in,
            refresh_token,
            token_type: "Bearer".into(),
            id_token,
            not_before_policy: 0,
            session_state: i.sid.clone(),
            scope: i.scope.clone(),
        })
    }

    /// A short-lived access token of a master-realm administrator (realm role `admin`) for
    /// `admin-cli`, without a session: how the fake calls its own admin REST face in process
    /// (the bootstrap).
    pub(crate) fn master_admin_token(&self) -> Result<String> {
        let store = self.lock();
        let master = store.realm("master")?;
        let admin = master
            .users
            .values()
            .filter(|u| u.enabled && master.is_admin(&u.id))
            .min_by(|a, b| a.username.cmp(&b.username))
            .ok_or_else(|| KeycloakError::not_found("a master realm administrator"))?;
        let client = master.client_by_client_id("admin-cli")?;
        let tokens = Self::issue(
            &store,
            &Issue {
                realm: master,
                client,
                user: admin,
                sid: None,
                scope: "profile email".into(),
                offline: false,
                auth_time: None,
                nonce: None,
                sso: false,
            },
        )?;
        Ok(tokens.access_token)
    }

    /// Authenticates the client of a token request.
    fn authenticate_client<'a>(
        realm: &'a RealmState,
        client_id: Option<&str>,
        secret: Option<&str>,
    ) -> std::result::Result<&'a ClientRec, OAuthError> {
        let Some(client_id) = client_id.filter(|c| !c.is_empty()) else {
            return Err(OAuthError::new(
                401,
                "invalid_client",
                "Missing parameter: client_id",
            ));
        };
        let bad = || {
            OAuthError::new(
                401,
                "invalid_client",
                "Invalid client or Invalid client credentials",
            )
        };
        let client = realm.client_by_client_id(client_id).map_err(|_| bad())?;
        if !client.enabled {
            return Err(bad());
        }
        if client.bearer_only {
            return Err(OAuthError::new(
                400,
                "unauthorized_client",
                "Bearer-only not allowed",
            ));
        }
        if !client.public {
            let ok = match (&client.secret, secret) {
                (Some(expected), Some(given)) => constant_time_eq(expected, given),
                _ => false,
            };
            if !ok {
                return Err(OAuthError::new(
                    401,
                    "unauthorized_client",
                    "Invalid client or Invalid client credentials",
                ));
            }
        }
        Ok(client)
    }

    /// The granted `scope` string: `openid` when requested, the default scopes Keycloak names
    /// (`profile email`), then the requested optional scopes in Keycloak 26's order.
    pub(super) fn scope_string(requested: Option<&str>, offline: bool) -> String {
        let requested: Vec<&str> = requested.unwrap_or("").split_whitespace().collect();
        let mut scopes = Vec::new();
        if requested.contains(&"openid") {
            scopes.push("openid");
        }
        if offline {
            scopes.push("offline_access");
        }
        scopes.extend(["profile", "email"]);
        scopes.extend(OPTIONAL_SCOPES.iter().filter(|s| requested.contains(s)));
        scopes.join(" ")
    }

    /// Starts a session (offline when `offline_access` is requested) and issues its tokens.
    fn open_session(
        store: &mut Store,
        realm_name: &str,
        client_uuid: &str,
        user_id: &str,
        requested_scope: Option<&str>,
    ) -> std::result::Result<TokenResponse, OAuthError> {
        let offline = requested_scope
            .unwrap_or("")
            .split_whitespace()
            .any(|s| s == "offline_access");
        let scope = Self::scope_string(requested_scope, offline);
        let now_ms = store.now_ms();
        let sid = store.new_id();
        let realm = store
            .realms
            .get_mut(realm_name)
            .ok_or_else(|| OAuthError::new(404, "invalid_request", "Realm does not exist"))?;
        realm.sessions.insert(
            sid.clone(),
            SessionRec {
                id: sid.clone(),
                user_id: user_id.to_owned(),
                client_uuid: client_uuid.to_owned(),
                started: now_ms,
                last_access: now_ms,
                offline,
            },
        );
        let store = &*store;
        let realm = store
            .realms
            .get(realm_name)
            .ok_or_else(|| OAuthError::new(404, "invalid_request", "Realm does not exist"))?;
        let (client, user) = lookup(realm, client_uuid, user_id)?;
        Self::issue(
            store,
            &Issue {
                realm,
                client,
                user,
                sid: Some(sid),
                scope,
                offline,
                auth_time: None,
                nonce: None,
                sso: false,
            },
        )
    }

    /// Runs a token request against `realm`.
    pub(crate) fn token_grant(
        &self,
        realm_name: &str,
        req: &TokenRequest,
    ) -> std::result::Result<TokenResponse, OAuthError> {
        let mut store = self.lock();
        let now = store.now();
        let now_ms = store.now_ms();
        let realm = store
            .realms
            .get(realm_name)
            .ok_or_else(|| OAuthError::new(404, "invalid_request", "Realm does not exist"))?;
        let client = Self::authenticate_client(
            realm,
            req.client_id.as_deref(),
            req.client_secret.as_deref(),
        )?;
        match req.grant_type.as_str() {
            "password" => {
                if !client.direct_access {
                    return Err(OAuthError::new(
                        400,
                        "unauthorized_client",
                        "Client not allowed for direct access grants",
                    ));
                }
                let login = req.username.as_deref().unwrap_or("");
                let user = realm
                    .user_by_username(login)
                    .or_else(|| realm.user_by_email(login))
                    .filter(|u| u.service_account_client.is_none());
                let Some(user) = user else {
                    return Err(OAuthError::new(
                        400,
                        "invalid_grant",
                        "Invalid user credentials",
                    ));
                };
                if !user.enabled {
                    return Err(invalid_grant("Account disabled"));
                }
                let password_ok = match (&user.password, &req.password) {
                    (Some(expected), Some(given)) => constant_time_eq(expected, given),
                    _ => false,
                };
                if !password_ok {
                    return Err(OAuthError::new(
                        400,
                        "invalid_grant",
                        "Invalid user credentials",
                    ));
                }
                if !user.required_actions.is_empty() {
                    return Err(invalid_grant("Account is not fully set up"));
                }
                check_scope(client, req.scope.as_deref())?;
                let (user_id, client_uuid) = (user.id.clone(), client.id.clone());
                Self::open_session(
                    &mut store,
                    realm_name,
                    &client_uuid,
                    &user_id,
                    req.scope.as_deref(),
                )
            }
            // Keycloak 26.7 answers both refusals with 401.
            "client_credentials" => {
                if client.public {
                    return Err(OAuthError::new(
                        401,
                        "unauthorized_client",
                        "Public client not allowed to retrieve service account",
                    ));
                }
                if !client.service_accounts {
                    return Err(OAuthError::new(
                        401,
                        "unauthorized_client",
                        "Client not enabled to retrieve service account",
                    ));
                }
                let user = realm
                    .users
                    .values()
                    .find(|u| u.service_account_client.as_deref() == Some(client.id.as_str()))
                    .ok_or_else(|| invalid_grant("Service account user not found"))?;
                if !user.enabled {
                    return Err(invalid_grant("User disabled"));
                }
                check_scope(client, req.scope.as_deref())?;
                let scope = Self::scope_string(req.scope.as_deref(), false);
                Self::issue(
                    &store,
                    &Issue {
                        realm,
                        client,
                        user,
                        sid: None,
                        scope,
                        offline: false,
                        auth_time: None,
                        nonce: None,
                        sso: false,
                    },
                )
            }
            "refresh_token" => {
                let token = req
                    .refresh_token
                    .as_deref()
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| {
                        OAuthError::new(400, "invalid_request", "Missing parameter: refresh_token")
                    })?;
                let mut validation = Validation::new(Algorithm::HS512);
                validation.validate_exp = false;
                validation.validate_aud = false;
                validation.required_spec_claims.clear();
                let data =
                    jsonwebtoken::decode::<Value>(token, store.key.hmac_decoding(), &validation)
                        .map_err(|_| invalid_grant("Invalid refresh token"))?;
                let c = data.claims;
                let s = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
                let typ = s("typ");
                let offline = match typ.as_str() {
                    "Refresh" => false,
                    "Offline" => true,
                    _ => return Err(invalid_grant("Invalid refresh token")),
                };
                if s("iss") != store.issuer(realm_name) {
                    return Err(invalid_grant("Invalid token issuer"));
                }
                if s("azp") != client.client_id {
                    return Err(invalid_grant(
                        "Invalid refresh token. Token client and authorized client don't match",
                    ));
                }
                if let Some(exp) = c.get("exp").and_then(Value::as_i64)
                    && exp <= now
                {
                    return Err(invalid_grant("Token is not active"));
                }
                let sid = s("sid");
                // A browser session holds several clients (SSO): the client's own session in it.
                if realm.client_session(&sid, &client.id, offline).is_none() {
                    return Err(invalid_grant(if offline {
                        "Offline user session not found"
                    } else if realm.browser.is_user_session(&sid) {
                        "Session doesn't have required client"
                    } else {
                        "Session not active"
                    }));
                }
                let user = realm
                    .users
                    .get(&s("sub"))
                    .ok_or_else(|| invalid_grant("Invalid refresh token"))?;
                if !user.enabled {
                    return Err(invalid_grant("User disabled"));
                }
                // A `scope` parameter is checked and narrows the granted scopes.
                check_scope(client, req.scope.as_deref())?;
                let scope = match req.scope.as_deref() {
                    Some(requested) => {
                        let granted = s("scope");
                        let granted: Vec<&str> = granted.split(' ').collect();
                        Self::scope_string(Some(requested), offline)
                            .split(' ')
                            .filter(|s| granted.contains(s))
                            .collect::<Vec<_>>()
                            .join(" ")
                    }
                    None => token_scope(&s("scope")),
                };
                let (user_id, client_uuid) = (user.id.clone(), client.id.clone());
                if let Some(r) = store.realms.get_mut(realm_name) {
                    r.touch_client_session(&sid, &client_uuid, offline, now_ms);
                }
                let store = &*store;
                let realm = store.realms.get(realm_name).ok_or_else(|| {
                    OAuthError::new(404, "invalid_request", "Realm does not exist")
                })?;
                let (client, user) = lookup(realm, &client_uuid, &user_id)?;
                Self::issue(
                    store,
                    &Issue {
                        realm,
                        client,
                        user,
                        auth_time: realm.browser.auth_time(&sid),
                        sid: Some(sid),
                        scope,
                        offline,
                        nonce: None,
                        sso: false,
                    },
                )
            }
            "authorization_code" => {
                let client_uuid = client.id.clone();
                super::browser::exchange_code(&mut store, realm_name, &client_uuid, req)
            }
            "" => Err(OAuthError::new(
                400,
                "invalid_request",
                "Missing form parameter: grant_type",
            )),
            _ => Err(OAuthError::new(
                400,
                "unsupported_grant_type",
                "Unsupported grant_type",
            )),
        }
    }

    /// Verifies an access token issued by this fake (signature, `typ`, issuer, expiry, not revoked,
    /// its session still active).
    pub(crate) fn verify_access(&self, token: &str) -> std::result::Result<VerifiedToken, String> {
        let store = self.lock();
        let header = jsonwebtoken::decode_header(token).map_err(|e| e.to_string())?;
        if header.alg != Algorithm::RS256 {
            return Err("unsupported algorithm".into());
        }
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let data = jsonwebtoken::decode::<Value>(token, store.key.decoding(), &validation)
            .map_err(|e| e.to_string())?;
        let c = data.claims;
        let s = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        if s("typ") != "Bearer" {
            return Err("not an access token".into());
        }
        let exp = c.get("exp").and_then(Value::as_i64).unwrap_or(0);
        if exp <= store.now() {
            return Err("token expired".into());
        }
        let iss = s("iss");
        let prefix = format!("{}/realms/", store.base_url);
        let realm = iss
            .strip_prefix(&prefix)
            .filter(|r| store.realms.contains_key(*r))
            .ok_or_else(|| "unknown issuer".to_owned())?
            .to_owned();
        // Revoked at the revocation endpoint, or its session ended (refresh-token revocation,
        // logout): refused like Keycloak refuses it.
        let state = store.realm(&realm).map_err(|e| e.to_string())?;
        if state.access_token_revoked(&s("jti")) {
            return Err("token revoked".into());
        }
        let sid = s("sid");
        if !sid.is_empty() {
            let active = state
                .client_by_client_id(&s("azp"))
                .is_ok_and(|client| state.session_is_active(&sid, &client.id));
            if !active {
                return Err(SESSION_NOT_FOUND.into());
            }
        }
        Ok(VerifiedToken {
            realm,
            sub: s("sub"),
            scope: s("scope"),
            claims: c,
        })
    }

    /// The userinfo response for an access token.
    pub(crate) fn userinfo_for(
        &self,
        realm_name: &str,
        token: &str,
    ) -> std::result::Result<Value, OAuthError> {
        let verified = self.verify_access(token).map_err(|reason| {
            let description = if reason == SESSION_NOT_FOUND {
                SESSION_NOT_FOUND
            } else {
                "Token verification failed"
            };
            OAuthError::new(401, "invalid_token", description)
        })?;
        if verified.realm != realm_name {
            return Err(OAuthError::new(
                401,
                "invalid_token",
                "Token verification failed",
            ));
        }
        if !verified.scope.split(' ').any(|s| s == "openid") {
            return Err(OAuthError::new(
                403,
                "insufficient_scope",
                "Missing openid scope",
            ));
        }
        let store = self.lock();
        let realm = store
            .realms
            .get(realm_name)
            .ok_or_else(|| OAuthError::new(404, "invalid_request", "Realm does not exist"))?;
        let user = realm
            .users
            .get(&verified.sub)
            .ok_or_else(|| OAuthError::new(401, "invalid_token", "user_not_found"))?;
        let azp = verified
            .claims
            .get("azp")
            .and_then(Value::as_str)
            .unwrap_or("");
        let mut claims = Map::new();
        claims.insert("sub".into(), json!(user.id));
        let client = realm.client_by_client_id(azp).ok();
        profile_claims(&mut claims, realm, client, user, &verified.scope);
        if let Some(client) = client {
            apply_mappers(&mut claims, client, realm, user, "userinfo.token.claim");
        }
        Ok(Value::Object(claims))
    }
}

fn lookup<'a>(
    realm: &'a RealmState,
    client_uuid: &str,
    user_id: &str,
) -> std::result::Result<(&'a ClientRec, &'a UserRec), OAuthError> {
    let client = realm
        .clients
        .get(client_uuid)
        .ok_or_else(|| invalid_grant("Client not found"))?;
    let user = realm
        .users
        .get(user_id)
        .ok_or_else(|| invalid_grant("User not found"))?;
    Ok((client, user))
}

/// Compares secrets without an early exit on the first differing byte.
pub(super) fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl FakeRealm {
    /// Runs a token request (any grant) against this realm, like `POST
    /// /realms/{realm}/protocol/openid-connect/token`. OAuth errors become
    /// [`KeycloakError::Unauthorized`] (401: bad client or user credentials) or
    /// [`KeycloakError::Invalid`] with the OAuth `error` as the field (400).
    pub fn token(&self, request: &TokenRequest) -> Result<TokenResponse> {
        Ok(self.keycloak.token_grant(&self.name, request)?)
    }

    /// The password grant (`scope` `offline_access` yields an offline token).
    pub fn token_password(
        &self,
        client_id: &str,
        client_secret: Option<&str>,
        username: &str,
        password: &str,
        scope: Option<&str>,
    ) -> Result<TokenResponse> {
        self.token(&TokenRequest {
            grant_type: "password".into(),
            client_id: Some(client_id.into()),
            client_secret: client_secret.map(str::to_owned),
            username: Some(username.into()),
            password: Some(password.into()),
            scope: scope.map(str::to_owned),
            ..TokenRequest::default()
        })
    }

    /// The client-credentials grant: a token for the client's service account.
    pub fn token_client_credentials(
        &self,
        client_id: &str,
        client_secret: &str,
    ) -> Result<TokenResponse> {
        self.token(&TokenRequest {
            grant_type: "client_credentials".into(),
            client_id: Some(client_id.into()),
            client_secret: Some(client_secret.into()),
            ..TokenRequest::default()
        })
    }

    /// The refresh grant, with a refresh or offline token.
    pub fn token_refresh(
        &self,
        client_id: &str,
        client_secret: Option<&str>,
        refresh_token: &str,
    ) -> Result<TokenResponse> {
        self.token(&TokenRequest {
            grant_type: "refresh_token".into(),
            client_id: Some(client_id.into()),
            client_secret: client_secret.map(str::to_owned),
            refresh_token: Some(refresh_token.into()),
            ..TokenRequest::default()
        })
    }

    /// Issues tokens for `username` with the client `client_id` without checking a password
    /// (a test shortcut; the user must exist and be enabled). Creates a session like a password
    /// grant; `scope` as there.
    pub fn issue_tokens(
        &self,
        username: &str,
        client_id: &str,
        scope: Option<&str>,
    ) -> Result<TokenResponse> {
        let mut store = self.keycloak.lock();
        let realm = store.realm(&self.name)?;
        let user = realm
            .user_by_username(username)
            .ok_or_else(|| KeycloakError::not_found(format!("user {username}")))?;
        if !user.enabled {
            return Err(KeycloakError::invalid("invalid_grant", "Account disabled"));
        }
        let user_id = user.id.clone();
        let client_uuid = realm.client_by_client_id(client_id)?.id.clone();
        Ok(FakeKeycloak::open_session(
            &mut store,
            &self.name,
            &client_uuid,
            &user_id,
            scope,
        )?)
    }

    /// Verifies an access token issued by this realm (signature, `typ`, issuer, expiry against
    /// the fake's clock) and returns its claims.
    pub fn verify_access_token(&self, token: &str) -> Result<Value> {
        let v = self
            .keycloak
            .verify_access(token)
            .map_err(|reason| KeycloakError::Unauthorized { reason })?;
        if v.realm != self.name {
            return Err(KeycloakError::Unauthorized {
                reason: format!("token issued by realm {}", v.realm),
            });
        }
        Ok(v.claims)
    }

    /// The userinfo claims for an access token of this realm.
    pub fn userinfo(&self, access_token: &str) -> Result<Value> {
        Ok(self.keycloak.userinfo_for(&self.name, access_token)?)
    }

    /// The issuer of this realm's tokens.
    pub fn issuer(&self) -> String {
        self.keycloak.issuer(&self.name)
    }
}
