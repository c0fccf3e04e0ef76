//! The fake's OIDC endpoints around issued tokens, as Keycloak 26.7 answers them: discovery,
//! token introspection (RFC 7662), token revocation (RFC 7009) and userinfo. Every status, JSON
//! field, error code and description and header here was checked against a running Keycloak
//! 26.7.3 (`tests/it/oidc_tokens.rs` runs the same scenarios against both).
//!
//! # Introspection, `POST /realms/{realm}/protocol/openid-connect/token/introspect`
//!
//! * The caller authenticates as a confidential client: HTTP Basic or the form fields
//!   `client_id` / `client_secret` (a form field wins over Basic, as Keycloak's client-secret
//!   authenticator does). No or an unknown client: 401 `invalid_client` "Invalid client or
//!   Invalid client credentials"; a wrong secret: 401 `invalid_client` "Client authentication
//!   failed."; a public client: 403 `invalid_request` "Client not allowed.". A repeated form
//!   field: 400 "duplicated parameter"; no `token`: 400 "Token not provided."; a
//!   `token_type_hint` other than `access_token` or `refresh_token` (`id_token` too): 400
//!   `invalid_request` "Unsupported token type.".
//! * Without a hint (or with `access_token`) a token is active only for a caller **named in its
//!   `aud`** (Keycloak 26.7 refuses others since the fix of CVE-2026-37979): an access token's
//!   `aud` names the clients the user holds roles of (never the issuing client) and the
//!   audiences of `oidc-audience-mapper`s; an ID token's names the client it was issued to.
//!   With `refresh_token` only refresh and offline tokens are active, and only for the client
//!   they were issued to. Refresh tokens introspected without the hint are inactive.
//! * Inactive (`{"active": false}`): a token that does not verify (garbage, another realm's),
//!   expired by the fake's clock, revoked, whose session ended, whose client or user is gone or
//!   disabled.
//! * Active: the claims re-derived as Keycloak does — the token's own `exp`, `iat`, `jti`,
//!   `iss`, `sub`, `typ`, `azp`, `sid`, `nonce`, `scope`, its `aud` joined with the audiences
//!   computed now, and the protocol mappers' claims computed now (roles as they are now,
//!   mappers whose `introspection.token.claim` is not `false`) — plus `client_id` (the `azp`),
//!   `username`, `token_type` (the `typ`) and `active: true`. `Cache-Control: no-cache`.
//!
//! # Revocation, `POST /realms/{realm}/protocol/openid-connect/revoke`
//!
//! * Client authentication as at the token endpoint: public clients may revoke their own tokens
//!   (form `client_id`); a wrong secret is 401 `unauthorized_client`; a bearer-only client 400
//!   `invalid_client` "Bearer-only not allowed".
//! * A refresh or offline token ends that client's session: every token of the session (access,
//!   refresh, ID) stops working. An access token is recorded as revoked until it expires; its
//!   session lives on (its refresh token still works). The `token_type_hint` is ignored.
//! * Success is `200` with an empty body and no `Content-Type`. A token that does not verify,
//!   or whose session already ended, is `200` with `{"error": "invalid_token",
//!   "error_description": "Invalid token"}`; a token of another client 400 `invalid_request`
//!   "Unmatching clients"; an ID token 400 `unsupported_token_type`; no `token` 400
//!   `invalid_request` "Token not provided".
//!
//! # Userinfo, `GET` and `POST /realms/{realm}/protocol/openid-connect/userinfo`
//!
//! * The access token comes as `Authorization: Bearer …` or (POST) as the form field
//!   `access_token` — not as a query parameter. Both at once: 400 with `WWW-Authenticate:
//!   Bearer realm="<realm>", error="invalid_request", error_description="More than one method
//!   used for including an access token"`. None: 401 with just `Bearer realm="<realm>"`.
//! * Refusals are an empty `text/plain` body with the reason in `WWW-Authenticate`: 401
//!   `invalid_token` "Token verification failed" (garbage, expired, revoked, an ID or refresh
//!   token, another realm's token), 401 `invalid_token` "user_session_not_found" (the session
//!   ended), 403 `insufficient_scope` "Missing openid scope" (a token without `openid`).
//! * The claims: `sub`, then those of the `profile` and `email` scopes the fake always grants
//!   (`email_verified`, `name`, `preferred_username`, `given_name`, `family_name`, `email`, and
//!   from user attributes `website`, `zoneinfo`, `birthdate`, `gender`, `profile`,
//!   `middle_name`, `picture`, `nickname`), those of the optional scopes in the token
//!   (`address`; `phone_number`, `phone_number_verified`; `upn`, `groups`) and the client's
//!   mappers with `userinfo.token.claim`. `Cache-Control: no-store` and
//!   `Cache-Control: no-cache` (two headers, as Keycloak sends them).
//!
//! # Discovery, `GET /realms/{realm}/.well-known/openid-configuration`
//!
//! Keycloak's document with only what the fake serves, with Keycloak's field names and the
//! order of values in each list: the issuer, the authorization, token, introspection,
//! userinfo, end-session, JWKS and revocation endpoints; the grants `authorization_code`,
//! `client_credentials`, `password`, `refresh_token`; response type `code` with response mode
//! `query`; subject type `public`; `RS256` ID tokens; `client_secret_basic` and
//! `client_secret_post` at the token, introspection and revocation endpoints; the claims and
//! scopes the fake issues; PKCE `plain` and `S256`. Left out because the fake does not serve
//! them: device authorization, CIBA, pushed authorization requests, dynamic client
//! registration, `check_session_iframe`, front- and back-channel logout, mTLS endpoint aliases
//! and certificate-bound tokens, DPoP, inline request objects (`request_parameter_supported`;
//! `request_uri` is served, for unsigned request objects at the client's valid request URIs,
//! see the browser module), the
//! `claims` parameter, JWT client authentication, encrypted or signed userinfo and ID tokens
//! other than `RS256`, JARM response modes, `acr_values`, `prompt_values_supported`, the
//! implicit and hybrid flows, pairwise subjects, and the token-exchange, UMA and JWT-bearer
//! grants. Every scope of Keycloak's list is served (`organization` adds nothing, as on a
//! Keycloak with organizations off; `service_account` only for clients with service accounts).

// Handlers return `Result<Response, Response>`: the error side is a ready HTTP response.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value, json};

use super::FakeKeycloak;
use super::oidc::{Issue, constant_time_eq};
use super::store::{ClientRec, RealmState, Store};

type HttpResult = std::result::Result<Response, Response>;

/// The routes of this module, merged into the fake's router.
pub(super) fn routes() -> Router<FakeKeycloak> {
    Router::new()
        .route(
            "/realms/{realm}/.well-known/openid-configuration",
            get(discovery),
        )
        .route(
            "/realms/{realm}/protocol/openid-connect/token/introspect",
            post(introspect),
        )
        .route(
            "/realms/{realm}/protocol/openid-connect/revoke",
            post(revoke),
        )
        .route(
            "/realms/{realm}/protocol/openid-connect/userinfo",
            get(userinfo).post(userinfo),
        )
}

// ----- responses -----

fn json_response(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// `{"error": …, "error_description": …}` with `status`, no caching headers (as Keycloak
/// answers introspection and revocation errors).
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    json_response(
        status,
        json!({"error": error, "error_description": description}),
    )
}

/// Keycloak's 404 for an unknown realm on its OIDC paths.
fn realm_not_found() -> Response {
    json_response(
        StatusCode::NOT_FOUND,
        json!({"error": "Realm does not exist"}),
    )
}

fn with_header(mut response: Response, name: header::HeaderName, value: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, v);
    }
    response
}

// ----- request helpers -----

/// The form fields of a body, in order (repeats kept).
fn form_fields(body: &Bytes) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// Whether a form field appears more than once (Keycloak refuses those at introspection and
/// revocation).
fn has_duplicates(form: &[(String, String)]) -> bool {
    let mut seen = std::collections::HashSet::new();
    form.iter().any(|(k, _)| !seen.insert(k.as_str()))
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';').next().is_some_and(|t| {
                t.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        })
}

/// Client credentials as Keycloak's client-secret authenticator reads them: HTTP Basic
/// (`client_id:client_secret`, each form-urlencoded), then the form fields `client_id` and
/// `client_secret`, each overriding its Basic part.
fn client_credentials(
    headers: &HeaderMap,
    form: &[(String, String)],
) -> (Option<String>, Option<String>) {
    let (mut id, mut secret) = (None, None);
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .and_then(|(_, b64)| STANDARD.decode(b64.trim()).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok());
    if let Some(text) = basic
        && let Some((i, s)) = text.split_once(':')
    {
        let dec = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        id = Some(dec(i));
        secret = Some(dec(s));
    }
    if let Some(i) = field(form, "client_id") {
        id = Some(i.to_owned());
    }
    if let Some(s) = field(form, "client_secret") {
        secret = Some(s.to_owned());
    }
    (id, secret)
}

/// Why a client could not authenticate.
enum ClientAuth {
    /// No client id, or no enabled client of that id.
    Unknown,
    /// A confidential client with a missing or wrong secret.
    BadSecret,
}

/// Authenticates the calling client: public clients need only their id, the others their
/// secret too.
fn authenticate<'a>(
    realm: &'a RealmState,
    id: Option<&str>,
    secret: Option<&str>,
) -> std::result::Result<&'a ClientRec, ClientAuth> {
    let id = id.filter(|i| !i.is_empty()).ok_or(ClientAuth::Unknown)?;
    let client = realm
        .client_by_client_id(id)
        .ok()
        .filter(|c| c.enabled)
        .ok_or(ClientAuth::Unknown)?;
    if client.public {
        return Ok(client);
    }
    match (&client.secret, secret) {
        (Some(expected), Some(given)) if constant_time_eq(expected, given) => Ok(client),
        _ => Err(ClientAuth::BadSecret),
    }
}

/// Decodes a token this fake issued for `realm`: the signature (RS256 for access and ID
/// tokens, HS512 for refresh and offline tokens, as Keycloak signs them) and the issuer, not
/// the expiry. `None` for anything else.
fn decode(store: &Store, realm: &str, token: &str) -> Option<Map<String, Value>> {
    let header = jsonwebtoken::decode_header(token).ok()?;
    let key = match header.alg {
        Algorithm::RS256 => store.key.decoding(),
        Algorithm::HS512 => store.key.hmac_decoding(),
        _ => return None,
    };
    let mut validation = Validation::new(header.alg);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = match jsonwebtoken::decode::<Value>(token, key, &validation)
        .ok()?
        .claims
    {
        Value::Object(map) => map,
        _ => return None,
    };
    let iss = claims.get("iss").and_then(Value::as_str)?;
    (iss == store.issuer(realm)).then_some(claims)
}

fn str_claim<'a>(claims: &'a Map<String, Value>, name: &str) -> &'a str {
    claims.get(name).and_then(Value::as_str).unwrap_or("")
}

/// The audiences of an `aud` claim (a string or an array).
fn audiences(aud: Option<&Value>) -> Vec<String> {
    match aud {
        Some(Value::String(a)) => vec![a.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

// ----- discovery -----

async fn discovery(State(kc): State<FakeKeycloak>, Path(realm): Path<String>) -> HttpResult {
    if kc.realm(&realm).is_err() {
        return Err(realm_not_found());
    }
    let issuer = kc.issuer(&realm);
    let oidc = format!("{issuer}/protocol/openid-connect");
    // Keycloak's field names; each list in Keycloak's order, holding only what the fake
    // serves (see the module docs for what is left out).
    let client_auth = json!(["client_secret_basic", "client_secret_post"]);
    let document = json!({
        "issuer": issuer,
        // The authorization endpoint and the end-session endpoint are the browser flow's
        // (`browser.rs`), as are `response_types_supported` and `response_modes_supported`.
        "authorization_endpoint": format!("{oidc}/auth"),
        "token_endpoint": format!("{oidc}/token"),
        "introspection_endpoint": format!("{oidc}/token/introspect"),
        "userinfo_endpoint": format!("{oidc}/userinfo"),
        "end_session_endpoint": format!("{oidc}/logout"),
        "jwks_uri": format!("{oidc}/certs"),
        "grant_types_supported": [
            "authorization_code",
            "client_credentials",
            "password",
            "refresh_token",
        ],
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_modes_supported": ["query"],
        "token_endpoint_auth_methods_supported": client_auth,
        "introspection_endpoint_auth_methods_supported": client_auth,
        "claims_supported": [
            "iss",
            "sub",
            "aud",
            "exp",
            "iat",
            "name",
            "given_name",
            "family_name",
            "preferred_username",
            "email",
            "acr",
            "azp",
            "nonce",
        ],
        "claim_types_supported": ["normal"],
        // Keycloak orders these by its client scopes' random ids; this is one realm's order.
        "scopes_supported": [
            "openid",
            "phone",
            "roles",
            "microprofile-jwt",
            "organization",
            "email",
            "acr",
            "offline_access",
            "profile",
            "address",
            "basic",
            "web-origins",
            "service_account",
        ],
        "request_uri_parameter_supported": true,
        "code_challenge_methods_supported": ["plain", "S256"],
        "revocation_endpoint": format!("{oidc}/revoke"),
        "revocation_endpoint_auth_methods_supported": client_auth,
    });
    Ok(with_header(
        json_response(StatusCode::OK, document),
        header::CACHE_CONTROL,
        "no-cache, must-revalidate, no-transform, no-store",
    ))
}

// ----- introspection -----

const INVALID_CLIENT: &str = "Invalid client or Invalid client credentials";

async fn introspect(
    State(kc): State<FakeKeycloak>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResult {
    let form = form_fields(&body);
    let store = kc.lock();
    let state = store.realms.get(&realm).ok_or_else(realm_not_found)?;
    let (id, secret) = client_credentials(&headers, &form);
    let caller = match authenticate(state, id.as_deref(), secret.as_deref()) {
        Ok(c) => c,
        Err(ClientAuth::Unknown) => {
            return Err(oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                INVALID_CLIENT,
            ));
        }
        Err(ClientAuth::BadSecret) => {
            return Err(oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Client authentication failed.",
            ));
        }
    };
    if caller.public {
        return Err(oauth_error(
            StatusCode::FORBIDDEN,
            "invalid_request",
            "Client not allowed.",
        ));
    }
    if has_duplicates(&form) {
        return Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "duplicated parameter",
        ));
    }
    let Some(token) = field(&form, "token") else {
        return Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Token not provided.",
        ));
    };
    let refresh_hint = match field(&form, "token_type_hint").unwrap_or("") {
        "" | "access_token" => false,
        "refresh_token" => true,
        _ => {
            return Err(oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Unsupported token type.",
            ));
        }
    };
    let body = introspection(&store, state, caller, token, refresh_hint)
        .map_or_else(|| json!({"active": false}), Value::Object);
    Ok(with_header(
        json_response(StatusCode::OK, body),
        header::CACHE_CONTROL,
        "no-cache",
    ))
}

/// The claims of an active token as `caller` may see them, or `None` when it is inactive for
/// `caller` (see the module docs).
fn introspection(
    store: &Store,
    realm: &RealmState,
    caller: &ClientRec,
    token: &str,
    refresh_hint: bool,
) -> Option<Map<String, Value>> {
    let token_claims = decode(store, &realm.name, token)?;
    let typ = str_claim(&token_claims, "typ");
    let azp = str_claim(&token_claims, "azp");
    let token_aud = audiences(token_claims.get("aud"));
    if refresh_hint {
        if !matches!(typ, "Refresh" | "Offline") || azp != caller.client_id {
            return None;
        }
    } else if !token_aud.contains(&caller.client_id) {
        return None;
    }
    if let Some(exp) = token_claims.get("exp").and_then(Value::as_i64)
        && exp <= store.now()
    {
        return None;
    }
    if realm.access_token_revoked(str_claim(&token_claims, "jti")) {
        return None;
    }
    let client = realm.client_by_client_id(azp).ok().filter(|c| c.enabled)?;
    let sid = str_claim(&token_claims, "sid");
    let session = if sid.is_empty() {
        None
    } else {
        if !realm.session_is_active(sid, &client.id) {
            return None;
        }
        realm
            .sessions
            .values()
            .find(|s| s.id == sid && s.client_uuid == client.id)
    };
    let user = realm
        .users
        .get(str_claim(&token_claims, "sub"))
        .filter(|u| u.enabled)?;

    // Keycloak re-derives the claims: the token's basic claims, the mappers' claims now.
    let offline = typ == "Offline" || session.is_some_and(|s| s.offline);
    let issue = Issue {
        realm,
        client,
        user,
        sid: (!sid.is_empty()).then(|| sid.to_owned()),
        scope: str_claim(&token_claims, "scope").to_owned(),
        offline,
        auth_time: token_claims.get("auth_time").and_then(Value::as_i64),
        nonce: None,
        sso: str_claim(&token_claims, "acr") == "0",
    };
    let mut claims = FakeKeycloak::access_claims(store, &issue, "introspection.token.claim");
    for name in [
        "exp", "iat", "jti", "iss", "sub", "typ", "azp", "nonce", "sid", "scope",
    ] {
        match token_claims.get(name) {
            Some(v) => claims.insert(name.to_owned(), v.clone()),
            None => claims.remove(name),
        };
    }
    let mut aud = token_aud;
    for a in audiences(claims.get("aud")) {
        if !aud.contains(&a) {
            aud.push(a);
        }
    }
    match aud.as_slice() {
        [] => claims.remove("aud"),
        [one] => claims.insert("aud".into(), json!(one)),
        _ => claims.insert("aud".into(), json!(aud)),
    };
    // Session notes of the client-credentials grant are not kept for introspection.
    claims.remove("clientHost");
    claims.remove("clientAddress");
    let username = claims
        .get("preferred_username")
        .and_then(Value::as_str)
        .unwrap_or(&user.username)
        .to_owned();
    claims.insert("client_id".into(), json!(azp));
    claims.insert("username".into(), json!(username));
    claims.insert("token_type".into(), json!(typ));
    claims.insert("active".into(), json!(true));
    Some(claims)
}

// ----- revocation -----

/// Keycloak's answer to a token it will not act on: `200` with an error body.
fn invalid_token() -> Response {
    oauth_error(StatusCode::OK, "invalid_token", "Invalid token")
}

async fn revoke(
    State(kc): State<FakeKeycloak>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResult {
    let form = form_fields(&body);
    let mut store = kc.lock();
    let now = store.now();
    let state = store.realms.get(&realm).ok_or_else(realm_not_found)?;
    let (id, secret) = client_credentials(&headers, &form);
    let caller = match authenticate(state, id.as_deref(), secret.as_deref()) {
        Ok(c) => c,
        Err(ClientAuth::Unknown) => {
            return Err(oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                INVALID_CLIENT,
            ));
        }
        Err(ClientAuth::BadSecret) => {
            return Err(oauth_error(
                StatusCode::UNAUTHORIZED,
                "unauthorized_client",
                INVALID_CLIENT,
            ));
        }
    };
    if caller.bearer_only {
        return Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            "Bearer-only not allowed",
        ));
    }
    if has_duplicates(&form) {
        return Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "duplicated parameter",
        ));
    }
    let Some(token) = field(&form, "token") else {
        return Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Token not provided",
        ));
    };
    let claims = decode(&store, &realm, token).ok_or_else(invalid_token)?;
    let typ = str_claim(&claims, "typ");
    if !matches!(typ, "Refresh" | "Offline" | "Bearer") {
        return Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_token_type",
            "Unsupported token type",
        ));
    }
    let azp = str_claim(&claims, "azp");
    if azp.is_empty() {
        return Err(invalid_token());
    }
    if azp != caller.client_id {
        return Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Unmatching clients",
        ));
    }
    let sid = str_claim(&claims, "sid");
    if !sid.is_empty() && !state.session_is_active(sid, &caller.id) {
        return Err(invalid_token());
    }
    if !state.users.contains_key(str_claim(&claims, "sub")) {
        return Err(invalid_token());
    }
    let client_uuid = caller.id.clone();
    let (sid, jti) = (sid.to_owned(), str_claim(&claims, "jti").to_owned());
    let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(now);
    let refresh = matches!(typ, "Refresh" | "Offline");
    let Some(state) = store.realms.get_mut(&realm) else {
        return Err(realm_not_found());
    };
    if refresh {
        state.end_client_session(&sid, &client_uuid, typ == "Offline");
    } else {
        state.revoke_access_token(&jti, exp, now);
    }
    // 200 with an empty body and no content type.
    Ok(Response::new(Body::empty()))
}

// ----- userinfo -----

/// A refusal of the userinfo endpoint: an empty `text/plain` body, the reason in
/// `WWW-Authenticate`.
fn userinfo_refusal(status: StatusCode, challenge: String) -> Response {
    let response = (
        status,
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
            (header::CONTENT_TYPE, "text/plain;charset=utf-8"),
        ],
    )
        .into_response();
    with_header(response, header::WWW_AUTHENTICATE, &challenge)
}

async fn userinfo(
    State(kc): State<FakeKeycloak>,
    Path(realm): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResult {
    if kc.realm(&realm).is_err() {
        return Err(realm_not_found());
    }
    let from_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_owned())
        .filter(|t| !t.is_empty());
    let from_form = if method == Method::POST && is_form(&headers) {
        let form: HashMap<String, String> = form_fields(&body).into_iter().collect();
        form.get("access_token").filter(|t| !t.is_empty()).cloned()
    } else {
        None
    };
    let token = match (from_header, from_form) {
        (Some(_), Some(_)) => {
            return Err(userinfo_refusal(
                StatusCode::BAD_REQUEST,
                format!(
                    "Bearer realm=\"{realm}\", error=\"invalid_request\", \
                     error_description=\"More than one method used for including an access token\""
                ),
            ));
        }
        (Some(t), None) | (None, Some(t)) => t,
        (None, None) => {
            return Err(userinfo_refusal(
                StatusCode::UNAUTHORIZED,
                format!("Bearer realm=\"{realm}\""),
            ));
        }
    };
    match kc.userinfo_for(&realm, &token) {
        Ok(claims) => {
            // Keycloak sends two `Cache-Control` headers here.
            let mut response = json_response(StatusCode::OK, claims);
            let headers = response.headers_mut();
            headers.append(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            headers.append(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            Ok(response)
        }
        Err(e) => Err(userinfo_refusal(
            StatusCode::from_u16(e.status).unwrap_or(StatusCode::UNAUTHORIZED),
            format!(
                "Bearer realm=\"{realm}\", error=\"{}\", error_description=\"{}\"",
                e.error, e.description
            ),
        )),
    }
}
