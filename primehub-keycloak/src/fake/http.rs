//! The fake's HTTP face: OIDC endpoints and the Keycloak 26 admin REST API paths PrimeHub uses.

// Handlers return `Result<Response, Response>`: the error side is a ready HTTP response.
#![allow(clippy::result_large_err)]

use std::collections::{BTreeMap, HashMap};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post, put};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::oidc::{OAuthError, TokenRequest};
use super::store::{ClientRec, Pattern, RealmState, UserRec, UserView, UserWrite, paginate};
use super::{FakeKeycloak, FakeRealm, enable_service_account};
use crate::error::{ConflictField, KeycloakError};
use crate::representation::{Attributes, ExecuteActionsEmail, SECRET_MASK};

type HttpResult = std::result::Result<Response, Response>;
type Params = Query<HashMap<String, String>>;

const CONSULT_LOG: &str = "For more on this error consult the server log.";

/// Builds the router over a fake's state.
pub(crate) fn router(kc: FakeKeycloak) -> Router {
    Router::new()
        // OIDC
        .route("/realms/{realm}", get(realm_info))
        .route("/realms/{realm}/protocol/openid-connect/token", post(token))
        .route("/realms/{realm}/protocol/openid-connect/certs", get(certs))
        // Discovery, introspection, revocation, userinfo
        .merge(super::token_endpoints::routes())
        // Realms
        .route("/admin/realms", get(list_realms).post(create_realm))
        .route(
            "/admin/realms/{realm}",
            get(get_realm).put(update_realm).delete(delete_realm),
        )
        // Users
        .route(
            "/admin/realms/{realm}/users",
            get(list_users).post(create_user),
        )
        .route("/admin/realms/{realm}/users/count", get(count_users))
        .route(
            "/admin/realms/{realm}/users/profile",
            get(get_profile).put(put_profile),
        )
        .route(
            "/admin/realms/{realm}/users/{id}",
            get(get_user).put(update_user).delete(delete_user),
        )
        .route(
            "/admin/realms/{realm}/users/{id}/reset-password",
            put(reset_password),
        )
        .route("/admin/realms/{realm}/users/{id}/groups", get(user_groups))
        .route(
            "/admin/realms/{realm}/users/{id}/groups/count",
            get(count_user_groups),
        )
        .route(
            "/admin/realms/{realm}/users/{id}/role-mappings",
            get(user_role_mappings),
        )
        .route(
            "/admin/realms/{realm}/users/{id}/role-mappings/realm/available",
            get(user_realm_roles_available),
        )
        .route(
            "/admin/realms/{realm}/users/{id}/groups/{group}",
            put(join_group).delete(leave_group),
        )
        .route(
            "/admin/realms/{realm}/users/{id}/role-mappings/clients/{client}",
            get(user_client_roles)
                .post(add_user_client_roles)
                .delete(remove_user_client_roles),
        )
        .route(
            "/admin/realms/{realm}/users/{id}/role-mappings/clients/{client}/composite",
            get(user_client_roles_composite),
        )
        .route(
            "/admin/realms/{realm}/users/{id}/role-mappings/realm",
            get(user_realm_roles)
                .post(add_user_realm_roles)
                .delete(remove_user_realm_roles),
        )
        .route(
            "/admin/realms/{realm}/users/{id}/role-mappings/realm/composite",
            get(user_realm_roles_composite),
        )
        .route(
            "/admin/realms/{realm}/users/{id}/execute-actions-email",
            put(execute_actions_email),
        )
        .route(
            "/admin/realms/{realm}/users/{id}/credentials",
            get(user_credentials),
        )
        .route(
            "/admin/realms/{realm}/users/{id}/credentials/{credential}",
            axum::routing::delete(delete_credential),
        )
        .route("/admin/realms/{realm}/admin-events", get(admin_events))
        .route("/admin/realms/{realm}/partialImport", post(partial_import))
        .route(
            "/admin/realms/{realm}/users/{id}/offline-sessions/{client}",
            get(offline_sessions),
        )
        .route(
            "/admin/realms/{realm}/users/{id}/consents/{client}",
            axum::routing::delete(revoke_consent),
        )
        // Groups
        .route(
            "/admin/realms/{realm}/groups",
            get(list_groups).post(create_group),
        )
        .route("/admin/realms/{realm}/groups/count", get(count_groups))
        .route(
            "/admin/realms/{realm}/groups/{id}",
            get(get_group).put(update_group).delete(delete_group),
        )
        .route("/admin/realms/{realm}/groups/{id}/members", get(members))
        .route(
            "/admin/realms/{realm}/groups/{id}/children",
            get(group_children).post(add_group_child),
        )
        .route(
            "/admin/realms/{realm}/group-by-path/{*path}",
            get(group_by_path),
        )
        .route(
            "/admin/realms/{realm}/groups/{id}/role-mappings",
            get(group_role_mappings),
        )
        .route(
            "/admin/realms/{realm}/groups/{id}/role-mappings/realm",
            get(group_realm_roles)
                .post(add_group_realm_roles)
                .delete(remove_group_realm_roles),
        )
        .route(
            "/admin/realms/{realm}/groups/{id}/role-mappings/realm/composite",
            get(group_realm_roles_composite),
        )
        // Roles
        .route(
            "/admin/realms/{realm}/roles",
            get(list_roles).post(create_role),
        )
        .route(
            "/admin/realms/{realm}/roles/{name}",
            get(get_role).put(update_role).delete(delete_role),
        )
        .route("/admin/realms/{realm}/roles/{name}/users", get(role_users))
        .route(
            "/admin/realms/{realm}/roles/{name}/groups",
            get(role_groups),
        )
        .route(
            "/admin/realms/{realm}/roles/{name}/composites",
            get(role_composites)
                .post(add_role_composites)
                .delete(remove_role_composites),
        )
        .route(
            "/admin/realms/{realm}/roles/{name}/composites/realm",
            get(role_composites_realm),
        )
        .route(
            "/admin/realms/{realm}/roles/{name}/composites/clients/{client}",
            get(role_composites_client),
        )
        .route(
            "/admin/realms/{realm}/roles-by-id/{id}/composites",
            get(role_by_id_composites)
                .post(add_role_by_id_composites)
                .delete(remove_role_by_id_composites),
        )
        .route(
            "/admin/realms/{realm}/roles-by-id/{id}/composites/realm",
            get(role_by_id_composites_realm),
        )
        .route(
            "/admin/realms/{realm}/roles-by-id/{id}/composites/clients/{client}",
            get(role_by_id_composites_client),
        )
        .route(
            "/admin/realms/{realm}/roles-by-id/{id}",
            get(get_role_by_id)
                .put(update_role_by_id)
                .delete(delete_role_by_id),
        )
        // Clients
        .route(
            "/admin/realms/{realm}/clients",
            get(list_clients).post(create_client),
        )
        .route(
            "/admin/realms/{realm}/clients/{id}",
            get(get_client).put(update_client).delete(delete_client),
        )
        .route(
            "/admin/realms/{realm}/clients/{id}/roles",
            get(list_client_roles).post(create_client_role),
        )
        .route(
            "/admin/realms/{realm}/clients/{id}/roles/{name}",
            get(get_client_role),
        )
        .route(
            "/admin/realms/{realm}/clients/{id}/roles/{name}/composites",
            get(client_role_composites)
                .post(add_client_role_composites)
                .delete(remove_client_role_composites),
        )
        .route(
            "/admin/realms/{realm}/clients/{id}/roles/{name}/composites/realm",
            get(client_role_composites_realm),
        )
        .route(
            "/admin/realms/{realm}/clients/{id}/roles/{name}/composites/clients/{client}",
            get(client_role_composites_client),
        )
        .route(
            "/admin/realms/{realm}/clients/{id}/roles/{name}/users",
            get(client_role_users),
        )
        .route(
            "/admin/realms/{realm}/clients/{id}/client-secret",
            get(get_client_secret).post(regenerate_client_secret),
        )
        .route(
            "/admin/realms/{realm}/clients/{id}/service-account-user",
            get(service_account_user),
        )
        .route(
            "/admin/realms/{realm}/clients/{id}/protocol-mappers/models",
            get(list_protocol_mappers).post(add_protocol_mapper),
        )
        .route(
            "/admin/realms/{realm}/clients/{id}/scope-mappings",
            get(scope_mappings),
        )
        .route(
            "/admin/realms/{realm}/clients/{id}/scope-mappings/realm",
            get(scope_realm)
                .post(add_scope_realm)
                .delete(remove_scope_realm),
        )
        .route(
            "/admin/realms/{realm}/clients/{id}/scope-mappings/realm/available",
            get(scope_realm_available),
        )
        .route(
            "/admin/realms/{realm}/clients/{id}/scope-mappings/realm/composite",
            get(scope_realm_composite),
        )
        .route(
            "/admin/realms/{realm}/clients/{id}/scope-mappings/clients/{target}",
            get(scope_client)
                .post(add_scope_client)
                .delete(remove_scope_client),
        )
        .route(
            "/admin/realms/{realm}/clients/{id}/scope-mappings/clients/{target}/available",
            get(scope_client_available),
        )
        .route(
            "/admin/realms/{realm}/clients/{id}/scope-mappings/clients/{target}/composite",
            get(scope_client_composite),
        )
        // Default groups
        .route("/admin/realms/{realm}/default-groups", get(default_groups))
        .route(
            "/admin/realms/{realm}/default-groups/{id}",
            put(add_default_group).delete(remove_default_group),
        )
        .merge(super::browser::routes())
        // What no route above serves, answered as Keycloak answers it (see `unmatched`): keep
        // these three last. No router-wide fallback: `primehub dev` merges this router with
        // others.
        .route("/admin/{*rest}", any(unmatched))
        .route("/realms/{realm}/{*rest}", any(unmatched))
        .method_not_allowed_fallback(wrong_method)
        .with_state(kc)
}

// ----- responses -----

fn json_response(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

fn ok(body: Value) -> HttpResult {
    Ok(json_response(StatusCode::OK, body))
}

fn no_content() -> HttpResult {
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn created(location: String) -> HttpResult {
    let mut resp = StatusCode::CREATED.into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

/// Keycloak 26's 404: `{"error": message}` and nothing else.
fn not_found(message: &str) -> Response {
    json_response(StatusCode::NOT_FOUND, json!({ "error": message }))
}

/// Keycloak's answer to an unexpected failure (a `500`).
fn server_error() -> Response {
    json_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        json!({"error": "unknown_error", "error_description": CONSULT_LOG}),
    )
}

/// Keycloak's `{"error": message}` with any status.
fn error_status(status: StatusCode, message: &str) -> Response {
    json_response(status, json!({ "error": message }))
}

/// A `201 Created` with a JSON body as well as the `Location` (what `POST groups/{id}/children`
/// answers).
fn created_with(location: String, body: Value) -> HttpResult {
    let mut resp = (
        StatusCode::CREATED,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

fn conflict(message: &str) -> Response {
    json_response(StatusCode::CONFLICT, json!({"errorMessage": message}))
}

/// Keycloak's answer to JSON of the wrong shape (an array where an object belongs, …).
fn wrong_shape() -> Response {
    json_response(
        StatusCode::BAD_REQUEST,
        json!({"error": "unknown_error", "error_description": "Cannot parse the JSON"}),
    )
}

fn bad_request(message: &str) -> Response {
    json_response(StatusCode::BAD_REQUEST, json!({"errorMessage": message}))
}

fn unauthorized() -> Response {
    json_response(
        StatusCode::UNAUTHORIZED,
        json!({"error": "HTTP 401 Unauthorized"}),
    )
}

fn forbidden() -> Response {
    json_response(
        StatusCode::FORBIDDEN,
        json!({"error": "HTTP 403 Forbidden"}),
    )
}

/// Maps the crate error onto Keycloak's status codes and bodies; `missing` names the 404.
fn error_response(e: KeycloakError, missing: &str) -> Response {
    match e {
        KeycloakError::NotFound { .. } => not_found(missing),
        KeycloakError::Conflict { what, .. } => conflict(&what),
        KeycloakError::Invalid {
            field,
            rule,
            params,
        } => {
            let params: Vec<String> = std::iter::once(field.clone()).chain(params).collect();
            json_response(
                StatusCode::BAD_REQUEST,
                json!({"field": field, "errorMessage": rule, "params": params}),
            )
        }
        KeycloakError::Unauthorized { .. } => unauthorized(),
        KeycloakError::Forbidden { .. } => forbidden(),
        KeycloakError::Unexpected { status: 500, .. } => server_error(),
        other => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": "unknown_error", "error_description": other.to_string()}),
        ),
    }
}

fn oauth_error(e: OAuthError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut resp = json_response(status, e.body());
    if status == StatusCode::UNAUTHORIZED && e.error == "invalid_token" {
        let challenge = format!(
            "Bearer realm=\"keycloak\", error=\"{}\", error_description=\"{}\"",
            e.error, e.description
        );
        if let Ok(v) = HeaderValue::from_str(&challenge) {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
    }
    resp
}

// ----- request helpers -----

fn parse_json(body: &Bytes) -> std::result::Result<Value, Response> {
    if body.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body).map_err(|_| {
        json_response(
            StatusCode::BAD_REQUEST,
            json!({"error": "invalid_request", "error_description": "Cannot parse the JSON"}),
        )
    })
}

fn q_bool(q: &HashMap<String, String>, key: &str, default: bool) -> bool {
    q.get(key)
        .map(|v| v.eq_ignore_ascii_case("true"))
        .unwrap_or(default)
}

/// A paging number (`first`): absent or empty is `None`, a negative one counts as 0, one that
/// is not a number is Keycloak's bare 404.
fn q_num(q: &HashMap<String, String>, key: &str) -> std::result::Result<Option<usize>, Response> {
    match q.get(key) {
        None => Ok(None),
        Some(v) if v.trim().is_empty() => Ok(None),
        Some(v) => match v.trim().parse::<i64>() {
            Ok(n) => Ok(Some(usize::try_from(n).unwrap_or(0))),
            Err(_) => Err(not_found("HTTP 404 Not Found")),
        },
    }
}

/// The `max` of a page: `default` when absent, no limit (`None`) when negative (Keycloak's
/// `max=-1` means "all"), a number that is not one is Keycloak's bare 404.
fn q_max(
    q: &HashMap<String, String>,
    default: Option<usize>,
) -> std::result::Result<Option<usize>, Response> {
    match q.get("max") {
        None => Ok(default),
        Some(v) if v.trim().is_empty() => Ok(default),
        Some(v) => match v.trim().parse::<i64>() {
            Ok(n) => Ok(usize::try_from(n).ok()),
            Err(_) => Err(not_found("HTTP 404 Not Found")),
        },
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}

/// Percent-encodes one path segment as Keycloak's `Location` headers do (JAX-RS's URI
/// builder): RFC 3986 `pchar`s stay (letters, digits, `-._~`, `!$&'()*+,;=`, `:` and `@`),
/// everything else, UTF-8 bytes included, becomes `%XX` (`img:base notebook` →
/// `img:base%20notebook`, `a/b` → `a%2Fb`).
pub(crate) fn encode_segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn admin_url(kc: &FakeKeycloak, realm: &str, rest: &str) -> String {
    format!(
        "{}/admin/realms/{}/{}",
        kc.base_url(),
        encode_segment(realm),
        rest
    )
}

/// Checks the bearer token of an admin request against `realm` and returns the realm.
fn authorize(
    kc: &FakeKeycloak,
    headers: &HeaderMap,
    realm: &str,
) -> std::result::Result<FakeRealm, Response> {
    let token = bearer(headers).ok_or_else(unauthorized)?;
    let verified = kc.verify_access(token).map_err(|_| unauthorized())?;
    let store = kc.lock();
    let token_realm = store.realms.get(&verified.realm).ok_or_else(unauthorized)?;
    let user = token_realm
        .users
        .get(&verified.sub)
        .filter(|u| u.enabled)
        .ok_or_else(unauthorized)?;
    // As Keycloak: an unknown realm is a 404 for any authenticated caller, before the
    // permission check.
    if !store.realms.contains_key(realm) {
        return Err(not_found("Realm not found."));
    }
    let allowed = if verified.realm == "master" && token_realm.is_admin(&user.id) {
        true
    } else {
        verified.realm == realm && token_realm.is_admin(&user.id)
    };
    if !allowed {
        return Err(forbidden());
    }
    let actor = crate::representation::AdminEventAuth {
        realm_id: Some(token_realm.id.clone()),
        client_id: verified
            .claims
            .get("azp")
            .and_then(Value::as_str)
            .and_then(|azp| token_realm.client_by_client_id(azp).ok())
            .map(|c| c.id.clone()),
        user_id: Some(user.id.clone()),
        ip_address: Some("127.0.0.1".into()),
    };
    drop(store);
    Ok(FakeRealm {
        keycloak: kc.clone(),
        name: realm.to_owned(),
        actor,
    })
}

/// Whether the bearer token belongs to a master-realm administrator.
fn authorize_master(kc: &FakeKeycloak, headers: &HeaderMap) -> std::result::Result<(), Response> {
    let token = bearer(headers).ok_or_else(unauthorized)?;
    let verified = kc.verify_access(token).map_err(|_| unauthorized())?;
    let store = kc.lock();
    let realm = store.realms.get(&verified.realm).ok_or_else(unauthorized)?;
    realm
        .users
        .get(&verified.sub)
        .filter(|u| u.enabled)
        .ok_or_else(unauthorized)?;
    if verified.realm == "master" && realm.is_admin(&verified.sub) {
        Ok(())
    } else {
        Err(forbidden())
    }
}

fn attributes_from(v: &Value) -> std::result::Result<Option<Attributes>, Response> {
    match v {
        Value::Null => Ok(None),
        Value::Object(map) => {
            let mut out = Attributes::new();
            for (k, vals) in map {
                let list = match vals {
                    Value::Array(items) => items
                        .iter()
                        .map(|i| match i {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                        .collect(),
                    Value::String(s) => vec![s.clone()],
                    Value::Null => continue,
                    other => vec![other.to_string()],
                };
                out.insert(k.clone(), list);
            }
            Ok(Some(out))
        }
        _ => Err(bad_request("attributes must be an object")),
    }
}

fn str_field(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn bool_field(v: &Value, key: &str) -> Option<bool> {
    v.get(key).and_then(Value::as_bool)
}

fn strings(v: &Value, key: &str) -> Option<Vec<String>> {
    v.get(key).and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    })
}

fn user_write(v: &Value) -> std::result::Result<UserWrite, Response> {
    if !v.is_object() {
        return Err(wrong_shape());
    }
    let password = v
        .get("credentials")
        .and_then(Value::as_array)
        .and_then(|creds| {
            creds.iter().find(|c| {
                c.get("type")
                    .and_then(Value::as_str)
                    .is_none_or(|t| t == "password")
            })
        })
        .and_then(|c| {
            let value = str_field(c, "value")?;
            Some((value, bool_field(c, "temporary").unwrap_or(false)))
        });
    Ok(UserWrite {
        username: str_field(v, "username"),
        email: str_field(v, "email"),
        email_verified: bool_field(v, "emailVerified"),
        first_name: str_field(v, "firstName"),
        last_name: str_field(v, "lastName"),
        enabled: bool_field(v, "enabled"),
        attributes: attributes_from(v.get("attributes").unwrap_or(&Value::Null))?,
        password,
        groups: strings(v, "groups").unwrap_or_default(),
        required_actions: strings(v, "requiredActions"),
    })
}

/// Which parts of a `GroupRepresentation` an endpoint answers with (Keycloak 26's differ).
#[derive(Debug, Clone, Copy)]
struct GroupView {
    /// Without `attributes`, `realmRoles`, `clientRoles`.
    brief: bool,
    /// With the `access` object (the admin's permissions on the group).
    access: bool,
    /// With `subGroupCount`.
    count: bool,
}

impl GroupView {
    /// `GET groups/{id}`: everything.
    const FULL: GroupView = GroupView {
        brief: false,
        access: true,
        count: true,
    };
    /// Lists of groups a user or a role is in, and the default groups: no `access`, no count.
    const fn plain(brief: bool) -> GroupView {
        GroupView {
            brief,
            access: false,
            count: false,
        }
    }
}

fn group_json(realm: &RealmState, id: &str, view: GroupView) -> Value {
    group_json_with(realm, id, view, Vec::new())
}

/// A `GroupRepresentation` with `sub_groups` as its `subGroups` (empty but in a hierarchical
/// search).
fn group_json_with(realm: &RealmState, id: &str, view: GroupView, sub_groups: Vec<Value>) -> Value {
    let Some(g) = realm.groups.get(id) else {
        return Value::Null;
    };
    let mut obj = serde_json::Map::new();
    obj.insert("id".into(), json!(g.id));
    obj.insert("name".into(), json!(g.name));
    obj.insert("path".into(), json!(realm.group_path(id)));
    if let Some(parent) = &g.parent {
        obj.insert("parentId".into(), json!(parent));
    }
    if view.count {
        obj.insert("subGroupCount".into(), json!(realm.sub_group_count(id)));
    }
    obj.insert("subGroups".into(), Value::Array(sub_groups));
    if !view.brief {
        obj.insert("attributes".into(), json!(g.attributes));
        let realm_roles: Vec<String> = realm
            .group_realm_roles(id)
            .unwrap_or_default()
            .into_iter()
            .map(|r| r.name.clone())
            .collect();
        obj.insert("realmRoles".into(), json!(realm_roles));
        let mut client_roles: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (gid, rid) in &realm.group_roles {
            if gid == id
                && let Some(role) = realm.roles.get(rid)
                && let Some(c) = role.client.as_ref().and_then(|c| realm.clients.get(c))
            {
                client_roles
                    .entry(c.client_id.clone())
                    .or_default()
                    .push(role.name.clone());
            }
        }
        obj.insert("clientRoles".into(), json!(client_roles));
    }
    if view.access {
        obj.insert(
            "access".into(),
            json!({"view": true, "viewMembers": true, "manageMembers": true,
                   "manage": true, "manageMembership": true}),
        );
    }
    Value::Object(obj)
}

fn users_json(users: Vec<&UserRec>, view: UserView, brief: bool) -> Value {
    Value::Array(users.into_iter().map(|u| u.to_json(view, brief)).collect())
}

/// Resolves a body of `RoleRepresentation`s: every role must exist by name and, as in
/// Keycloak, carry its id.
fn resolve_role_reps(
    realm: &RealmState,
    body: &Value,
    client: Option<&str>,
) -> std::result::Result<Vec<String>, Response> {
    let reps = body.as_array().ok_or_else(wrong_shape)?;
    let mut ids = Vec::new();
    for rep in reps {
        let name = str_field(rep, "name").unwrap_or_default();
        let id = str_field(rep, "id").unwrap_or_default();
        let role = match client {
            Some(c) => realm.client_role(c, &name),
            None => realm.realm_role(&name),
        }
        .map_err(|_| not_found("Role not found"))?;
        if role.id != id {
            return Err(not_found("Role not found"));
        }
        ids.push(role.id.clone());
    }
    Ok(ids)
}

// ----- OIDC -----

async fn realm_info(State(kc): State<FakeKeycloak>, Path(realm): Path<String>) -> HttpResult {
    if kc.realm(&realm).is_err() {
        return Err(not_found("Realm does not exist"));
    }
    let issuer = kc.issuer(&realm);
    ok(json!({
        "realm": realm,
        "public_key": kc.signing_key().public_key_base64(),
        "token-service": format!("{issuer}/protocol/openid-connect"),
        "account-service": format!("{issuer}/account"),
        "tokens-not-before": 0,
    }))
}

async fn certs(State(kc): State<FakeKeycloak>, Path(realm): Path<String>) -> HttpResult {
    if kc.realm(&realm).is_err() {
        return Err(not_found("Realm does not exist"));
    }
    ok(kc.jwks())
}

/// Client credentials from HTTP Basic (`client_id:client_secret`, each form-urlencoded).
pub(super) fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, b64) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(b64.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let dec = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((dec(id), dec(secret)))
}

async fn token(
    State(kc): State<FakeKeycloak>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResult {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let mut req = TokenRequest {
        grant_type: form.get("grant_type").cloned().unwrap_or_default(),
        client_id: form.get("client_id").cloned(),
        client_secret: form.get("client_secret").cloned(),
        username: form.get("username").cloned(),
        password: form.get("password").cloned(),
        refresh_token: form.get("refresh_token").cloned(),
        scope: form.get("scope").cloned(),
        code: form.get("code").cloned(),
        redirect_uri: form.get("redirect_uri").cloned(),
        code_verifier: form.get("code_verifier").cloned(),
    };
    if let Some((id, secret)) = basic_credentials(&headers) {
        // A form field wins over its Basic part, as Keycloak's client-secret authenticator
        // reads them.
        req.client_id = req.client_id.or(Some(id));
        req.client_secret = req.client_secret.or(Some(secret));
    }
    match kc.token_grant(&realm, &req) {
        Ok(resp) => {
            let mut r = json_response(StatusCode::OK, json!(resp));
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            Ok(r)
        }
        Err(e) => Err(oauth_error(e)),
    }
}

// ----- realms -----

fn realm_json(realm: &RealmState, access_lifespan: i64) -> Value {
    let mut v = json!({
        "id": realm.id,
        "realm": realm.name,
        "enabled": true,
        "accessTokenLifespan": access_lifespan,
        "sslRequired": "external",
        "registrationAllowed": false,
        "registrationEmailAsUsername": false,
        "duplicateEmailsAllowed": false,
        "editUsernameAllowed": false,
        "defaultGroups": realm.default_groups.iter()
            .filter(|id| realm.groups.contains_key(*id)).map(|id| realm.group_path(id)).collect::<Vec<_>>(),
    });
    if let Some(obj) = v.as_object_mut() {
        for (k, val) in &realm.settings {
            obj.insert(k.clone(), val.clone());
        }
        // Keycloak never shows the SMTP password.
        if let Some(smtp) = obj.get_mut("smtpServer").and_then(Value::as_object_mut)
            && smtp.contains_key("password")
        {
            smtp.insert("password".into(), json!(SECRET_MASK));
        }
        if let Some(role) = realm.roles.get(&realm.default_role) {
            obj.insert("defaultRole".into(), role.to_json(&realm.id, true));
        }
        obj.entry("adminEventsEnabled").or_insert(json!(false));
        obj.entry("adminEventsDetailsEnabled")
            .or_insert(json!(false));
    }
    v
}

async fn list_realms(State(kc): State<FakeKeycloak>, headers: HeaderMap) -> HttpResult {
    authorize_master(&kc, &headers)?;
    let store = kc.lock();
    let out: Vec<Value> = store
        .realms
        .values()
        .map(|r| realm_json(r, store.access_lifespan))
        .collect();
    drop(store);
    ok(Value::Array(out))
}

async fn create_realm(
    State(kc): State<FakeKeycloak>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResult {
    authorize_master(&kc, &headers)?;
    let body = parse_json(&body)?;
    let name = str_field(&body, "realm").unwrap_or_default();
    if name.trim().is_empty() {
        return Err(bad_request("Realm name cannot be empty"));
    }
    match kc.create_realm(&name) {
        Ok(realm) => {
            let settings = body.as_object().cloned().unwrap_or_default();
            realm
                .with_mut(|r, _| {
                    for (k, v) in settings {
                        if !matches!(k.as_str(), "realm" | "id" | "enabled") {
                            r.settings.insert(k, v);
                        }
                    }
                    Ok(())
                })
                .map_err(|e| error_response(e, "Realm not found."))?;
            created(format!(
                "{}/admin/realms/{}",
                kc.base_url(),
                encode_segment(&name)
            ))
        }
        Err(KeycloakError::Conflict { .. }) => {
            Err(conflict("Conflict detected. See logs for details"))
        }
        Err(e) => Err(error_response(e, "Realm not found.")),
    }
}

async fn get_realm(
    State(kc): State<FakeKeycloak>,
    Path(realm): Path<String>,
    headers: HeaderMap,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    let lifespan = kc.lock().access_lifespan;
    r.with(|state| Ok(realm_json(state, lifespan)))
        .map(|v| json_response(StatusCode::OK, v))
        .map_err(|e| error_response(e, "Realm not found."))
}

async fn update_realm(
    State(kc): State<FakeKeycloak>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    let body = parse_json(&body)?;
    let settings = body.as_object().cloned().unwrap_or_default();
    r.with_mut(|state, _| state.update_settings(settings))
        .map_err(|e| match e {
            KeycloakError::Invalid { rule, .. } => bad_request(&rule),
            e => error_response(e, "Realm not found."),
        })?;
    no_content()
}

async fn delete_realm(
    State(kc): State<FakeKeycloak>,
    Path(realm): Path<String>,
    headers: HeaderMap,
) -> HttpResult {
    authorize_master(&kc, &headers)?;
    if realm == "master" {
        return Err(bad_request("Cannot delete the master realm"));
    }
    if kc.lock().realms.remove(&realm).is_none() {
        return Err(not_found("Realm not found."));
    }
    no_content()
}

// ----- users -----

/// The users a `GET /users` or `GET /users/count` selects, before paging.
fn select_users<'a>(realm: &'a RealmState, q: &HashMap<String, String>) -> Vec<&'a UserRec> {
    let mut users: Vec<&UserRec> = if let Some(search) = q.get("search") {
        if let Some(id) = search.strip_prefix("id:") {
            realm.users.get(id.trim()).into_iter().collect()
        } else {
            realm.search_users_keycloak(Some(search.trim()))
        }
    } else {
        let exact = q_bool(q, "exact", false);
        let filters: Vec<(&str, &String)> = ["username", "email", "firstName", "lastName"]
            .into_iter()
            .filter_map(|k| q.get(k).map(|v| (k, v)))
            .collect();
        if filters.is_empty() {
            realm.search_users_keycloak(None)
        } else {
            realm
                .users_sorted()
                .into_iter()
                .filter(|u| {
                    filters.iter().all(|(field, wanted)| {
                        let value = match *field {
                            "username" => Some(u.username.as_str()),
                            "email" => u.email.as_deref(),
                            "firstName" => u.first_name.as_deref(),
                            _ => u.last_name.as_deref(),
                        };
                        let Some(value) = value else {
                            return false;
                        };
                        if exact {
                            value.to_lowercase() == wanted.to_lowercase()
                        } else {
                            Pattern::contains(wanted).matches(value)
                        }
                    })
                })
                .collect()
        }
    };
    if let Some(enabled) = q.get("enabled") {
        let want = enabled.eq_ignore_ascii_case("true");
        users.retain(|u| u.enabled == want);
    }
    users
}

async fn list_users(
    State(kc): State<FakeKeycloak>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    Query(q): Params,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    let first = q_num(&q, "first")?.unwrap_or(0);
    let max = q_max(&q, Some(100))?;
    let brief = q_bool(&q, "briefRepresentation", false);
    r.with(|state| {
        let users = paginate(select_users(state, &q), first, max);
        Ok(users_json(users, UserView::List, brief))
    })
    .map(|v| json_response(StatusCode::OK, v))
    .map_err(|e| error_response(e, "Realm not found."))
}

async fn count_users(
    State(kc): State<FakeKeycloak>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    Query(q): Params,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    r.with(|state| Ok(json!(select_users(state, &q).len())))
        .map(|v| json_response(StatusCode::OK, v))
        .map_err(|e| error_response(e, "Realm not found."))
}

async fn create_user(
    State(kc): State<FakeKeycloak>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    let w = user_write(&parse_json(&body)?)?;
    let id = r
        .with_mut(|state, ids| {
            let id = ids.id();
            state.create_user(id, ids.now_ms(), w)
        })
        .map_err(|e| match e {
            KeycloakError::Invalid { rule, .. } if rule == "User name is missing" => {
                bad_request(&rule)
            }
            e => error_response(e, "User not found"),
        })?;
    created(admin_url(&kc, &realm, &format!("users/{id}")))
}

async fn get_user(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    r.with(|state| Ok(state.user(&id)?.to_json(UserView::Single, false)))
        .map(|v| json_response(StatusCode::OK, v))
        .map_err(|e| error_response(e, "User not found"))
}

async fn update_user(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    let body = parse_json(&body)?;
    let w = user_write(&body)?;
    // Keycloak 26.7 reads a body with `attributes` as the user's whole profile: the e-mail and
    // names it leaves out are removed (`emailVerified` stays). Without `attributes`, what the
    // body leaves out stays.
    let whole_profile = body.get("attributes").is_some_and(|a| !a.is_null());
    let dropped: Vec<&str> = ["email", "firstName", "lastName"]
        .into_iter()
        .filter(|k| whole_profile && body.get(*k).is_none_or(Value::is_null))
        .collect();
    r.with_mut(|state, _| {
        let password = w.password.clone();
        state.update_user(&id, w)?;
        let user = state.user_mut(&id)?;
        for field in &dropped {
            match *field {
                "email" => user.email = None,
                "firstName" => user.first_name = None,
                _ => user.last_name = None,
            }
        }
        if let Some((p, temporary)) = password {
            state.set_password(&id, &p, temporary)?;
        }
        Ok(())
    })
    .map_err(|e| error_response(e, "User not found"))?;
    no_content()
}

async fn delete_user(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    r.with_mut(|state, _| state.delete_user(&id))
        .map_err(|e| error_response(e, "User not found"))?;
    no_content()
}

async fn reset_password(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    let body = parse_json(&body)?;
    let value = str_field(&body, "value").unwrap_or_default();
    let temporary = bool_field(&body, "temporary").unwrap_or(false);
    r.with_mut(|state, _| {
        state.user(&id)?;
        if value.is_empty() {
            return Err(KeycloakError::invalid("password", "Empty password"));
        }
        state.set_password(&id, &value, temporary)
    })
    .map_err(|e| match e {
        KeycloakError::Invalid { rule, .. } => bad_request(&rule),
        e => error_response(e, "User not found"),
    })?;
    no_content()
}

async fn get_profile(
    State(kc): State<FakeKeycloak>,
    Path(realm): Path<String>,
    headers: HeaderMap,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    r.with(|state| Ok(state.user_profile.clone()))
        .map(|v| json_response(StatusCode::OK, v))
        .map_err(|e| error_response(e, "Realm not found."))
}

async fn put_profile(
    State(kc): State<FakeKeycloak>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    let body = parse_json(&body)?;
    if !body.is_object() {
        return Err(bad_request("Invalid user profile configuration"));
    }
    r.with_mut(|state, _| {
        state.user_profile = body;
        Ok(state.user_profile.clone())
    })
    .map(|v| json_response(StatusCode::OK, v))
    .map_err(|e| error_response(e, "Realm not found."))
}

async fn user_groups(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
    Query(q): Params,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    let first = q_num(&q, "first")?.unwrap_or(0);
    let max = q_max(&q, None)?;
    let brief = q_bool(&q, "briefRepresentation", true);
    let search = q.get("search").cloned();
    r.with(|state| {
        let groups: Vec<Value> = select_user_groups(state, &id, search.as_deref())?
            .into_iter()
            .map(|g| group_json(state, &g.id, GroupView::plain(brief)))
            .collect();
        Ok(Value::Array(paginate(groups, first, max)))
    })
    .map(|v| json_response(StatusCode::OK, v))
    .map_err(|e| error_response(e, "User not found"))
}

/// The groups (any level) a user is a member of whose name contains `search`, by name.
fn select_user_groups<'a>(
    state: &'a RealmState,
    user: &str,
    search: Option<&str>,
) -> crate::Result<Vec<&'a super::store::GroupRec>> {
    Ok(state
        .user_groups(user)?
        .into_iter()
        .filter(|g| search.is_none_or(|s| Pattern::contains(s).matches(&g.name)))
        .collect())
}

/// `GET users/{id}/groups/count`: `{"count": n}` of what `GET users/{id}/groups` would list.
async fn count_user_groups(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
    Query(q): Params,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    let search = q.get("search").cloned();
    r.with(|state| Ok(json!({"count": select_user_groups(state, &id, search.as_deref())?.len()})))
        .map(|v| json_response(StatusCode::OK, v))
        .map_err(|e| error_response(e, "User not found"))
}

async fn join_group(
    State(kc): State<FakeKeycloak>,
    Path((realm, id, group)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    r.with_mut(|state, _| {
        state.user(&id)?;
        if !state.groups.contains_key(&group) {
            return Err(KeycloakError::not_found("Group not found"));
        }
        state.add_member(&group, &id)
    })
    .map_err(|e| error_response(e.clone(), &missing_of(&e)))?;
    no_content()
}

async fn leave_group(
    State(kc): State<FakeKeycloak>,
    Path((realm, id, group)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    r.with_mut(|state, _| {
        state.user(&id)?;
        if !state.groups.contains_key(&group) {
            return Err(KeycloakError::not_found("Group not found"));
        }
        state.remove_member(&group, &id)
    })
    .map_err(|e| error_response(e.clone(), &missing_of(&e)))?;
    no_content()
}

/// Keycloak's message for a missing user / group / client, from the error's `what`.
fn missing_of(e: &KeycloakError) -> String {
    match e {
        KeycloakError::NotFound { what } if what.starts_with("user ") => "User not found".into(),
        KeycloakError::NotFound { what } if what.starts_with("client ") => {
            "Client not found".into()
        }
        KeycloakError::NotFound { what } if what.starts_with("group ") => "Group not found".into(),
        KeycloakError::NotFound { what } => what.clone(),
        _ => String::new(),
    }
}

fn client_role_json(state: &RealmState, role_ids: impl Iterator<Item = String>) -> Value {
    let mut roles: Vec<&super::store::RoleRec> =
        role_ids.filter_map(|id| state.roles.get(&id)).collect();
    roles.sort_by(|a, b| a.name.cmp(&b.name));
    Value::Array(
        roles
            .into_iter()
            .map(|r| r.to_json(&state.id, true))
            .collect(),
    )
}

async fn user_client_roles(
    State(kc): State<FakeKeycloak>,
    Path((realm, id, client)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    r.with(|state| {
        state.user(&id)?;
        state.client(&client)?;
        let ids = state
            .user_roles
            .iter()
            .filter(|(u, rid)| {
                *u == id
                    && state
                        .roles
                        .get(rid)
                        .is_some_and(|role| role.client.as_deref() == Some(client.as_str()))
            })
            .map(|(_, rid)| rid.clone());
        Ok(client_role_json(state, ids))
    })
    .map(|v| json_response(StatusCode::OK, v))
    .map_err(|e| error_response(e.clone(), &missing_of(&e)))
}

async fn user_client_roles_composite(
    State(kc): State<FakeKeycloak>,
    Path((realm, id, client)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    r.with(|state| {
        state.user(&id)?;
        state.client(&client)?;
        let ids = state.effective_role_ids(&id).into_iter().filter(|rid| {
            state
                .roles
                .get(rid)
                .is_some_and(|role| role.client.as_deref() == Some(client.as_str()))
        });
        Ok(client_role_json(state, ids))
    })
    .map(|v| json_response(StatusCode::OK, v))
    .map_err(|e| error_response(e.clone(), &missing_of(&e)))
}

async fn change_user_client_roles(
    kc: FakeKeycloak,
    realm: String,
    id: String,
    client: String,
    headers: HeaderMap,
    body: Bytes,
    add: bool,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    let body = parse_json(&body)?;
    let ids = r
        .with(|state| {
            state.user(&id)?;
            state.client(&client)?;
            Ok(())
        })
        .map_err(|e| error_response(e.clone(), &missing_of(&e)))
        .and_then(|()| {
            r.with(|state| Ok(resolve_role_reps(state, &body, Some(&client))))
                .map_err(|e| error_response(e, "Realm not found."))?
        })?;
    r.with_mut(|state, _| state.map_user_client_roles(&id, &client, ids, add))
        .map_err(|e| error_response(e, "Realm not found."))?;
    no_content()
}

async fn add_user_client_roles(
    State(kc): State<FakeKeycloak>,
    Path((realm, id, client)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResult {
    change_user_client_roles(kc, realm, id, client, headers, body, true).await
}

async fn remove_user_client_roles(
    State(kc): State<FakeKeycloak>,
    Path((realm, id, client)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResult {
    change_user_client_roles(kc, realm, id, client, headers, body, false).await
}

async fn offline_sessions(
    State(kc): State<FakeKeycloak>,
    Path((realm, id, client)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    r.with(|state| {
        state.user(&id)?;
        state.client(&client)?;
        let sessions = state.offline_sessions(&id, &client)?;
        Ok(Value::Array(
            sessions
                .into_iter()
                .map(|s| {
                    json!({
                        "id": s.id,
                        "username": s.username,
                        "userId": s.user_id,
                        "ipAddress": "127.0.0.1",
                        "start": s.start,
                        "lastAccess": s.last_access,
                        "rememberMe": false,
                        "clients": s.clients,
                        "transientUser": false,
                    })
                })
                .collect(),
        ))
    })
    .map(|v| json_response(StatusCode::OK, v))
    .map_err(|e| error_response(e.clone(), &missing_of(&e)))
}

async fn revoke_consent(
    State(kc): State<FakeKeycloak>,
    Path((realm, id, client_id)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    let revoked = r
        .with_mut(|state, _| {
            state.user(&id)?;
            let client = state
                .client_by_client_id(&client_id)
                .map_err(|_| KeycloakError::not_found("client "))?
                .id
                .clone();
            state.revoke_consent(&id, &client)
        })
        .map_err(|e| error_response(e.clone(), &missing_of(&e)))?;
    if revoked {
        no_content()
    } else {
        Err(not_found("Consent nor offline token not found"))
    }
}

// ----- groups -----

/// What `GET groups` answers: without `search` (or `q`), the top-level groups by name, paged;
/// with them, Keycloak's group search — the matching groups at any level, by name, paged, each
/// shown inside its ancestors (`subGroups` holding the path down to it) unless
/// `populateHierarchy=false` lists the matches themselves.
fn list_groups_json(
    state: &RealmState,
    q: &HashMap<String, String>,
    first: usize,
    max: Option<usize>,
) -> Value {
    let brief = q_bool(q, "briefRepresentation", true);
    let view = GroupView {
        brief,
        access: true,
        count: q_bool(q, "subGroupsCount", true),
    };
    let matched = match select_groups(state, q) {
        None => {
            return Value::Array(
                paginate(state.top_groups_sorted(), first, max)
                    .into_iter()
                    .map(|g| group_json(state, &g.id, view))
                    .collect(),
            );
        }
        Some(matched) => paginate(matched, first, max),
    };
    if !q_bool(q, "populateHierarchy", true) {
        return Value::Array(
            matched
                .into_iter()
                .map(|g| group_json(state, &g.id, view))
                .collect(),
        );
    }
    // Build the tree of the matches' ancestors: each node keeps its children in the order the
    // matches reached them; the top level is ordered by name.
    let mut children: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut tops: Vec<&super::store::GroupRec> = Vec::new();
    for g in &matched {
        let chain = state.group_and_ancestors(&g.id);
        for pair in chain.windows(2) {
            if let [child, parent] = pair {
                let list = children.entry(parent.clone()).or_default();
                if !list.contains(child) {
                    list.push(child.clone());
                }
            }
        }
        if let Some(top) = chain.last().and_then(|id| state.groups.get(id))
            && !tops.iter().any(|t| t.id == top.id)
        {
            tops.push(top);
        }
    }
    tops.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    fn node(
        state: &RealmState,
        id: &str,
        view: GroupView,
        children: &BTreeMap<String, Vec<String>>,
    ) -> Value {
        let subs = children
            .get(id)
            .map(|kids| {
                kids.iter()
                    .map(|k| node(state, k, view, children))
                    .collect()
            })
            .unwrap_or_default();
        group_json_with(state, id, view, subs)
    }
    Value::Array(
        tops.into_iter()
            .map(|t| node(state, &t.id, view, &children))
            .collect(),
    )
}

/// The groups a `search` (name: substring, `*` wildcards; `exact=true`: equal) or a `q`
/// (`key:value` attribute pairs, all required) selects at any level, by name; `None` without
/// either.
fn select_groups<'a>(
    state: &'a RealmState,
    q: &HashMap<String, String>,
) -> Option<Vec<&'a super::store::GroupRec>> {
    let exact = q_bool(q, "exact", false);
    let search = q.get("search").map(|s| s.trim().to_owned());
    let attrs: Option<Vec<(String, String)>> = q.get("q").map(|q| {
        q.split_whitespace()
            .filter_map(|pair| pair.split_once(':'))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    });
    if search.is_none() && attrs.is_none() {
        return None;
    }
    let mut matched = match &search {
        Some(s) => state.search_groups_any_level(s, exact),
        None => state.all_groups_sorted(),
    };
    if let Some(attrs) = attrs {
        matched.retain(|g| {
            attrs.iter().all(|(k, v)| {
                g.attributes
                    .get(k)
                    .is_some_and(|values| values.iter().any(|x| x == v))
            })
        });
    }
    Some(matched)
}

async fn list_groups(
    State(kc): State<FakeKeycloak>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    Query(q): Params,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    let first = q_num(&q, "first")?.unwrap_or(0);
    let max = q_max(&q, None)?;
    r.with(|state| Ok(list_groups_json(state, &q, first, max)))
        .map(|v| json_response(StatusCode::OK, v))
        .map_err(|e| error_response(e, "Realm not found."))
}

/// `GET groups/count`: with `search`, how many groups at any level match; otherwise every
/// group, or the top-level ones with `top=true`.
async fn count_groups(
    State(kc): State<FakeKeycloak>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    Query(q): Params,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    r.with(|state| {
        let count = match q.get("search") {
            Some(s) => state
                .search_groups_any_level(s.trim(), q_bool(&q, "exact", false))
                .len(),
            None if q_bool(&q, "top", false) => state.top_groups_sorted().len(),
            None => state.groups.len(),
        };
        Ok(json!({ "count": count }))
    })
    .map(|v| json_response(StatusCode::OK, v))
    .map_err(|e| error_response(e, "Realm not found."))
}

/// `POST groups`: creates a top-level group, or — when the body carries an `id` — moves that
/// group to the top level (`204`, no body).
async fn create_group(
    State(kc): State<FakeKeycloak>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    let body = match parse_json(&body)? {
        // Keycloak fails on a missing body.
        Value::Null => return Err(server_error()),
        v if !v.is_object() => return Err(wrong_shape()),
        v => v,
    };
    let name = str_field(&body, "name").unwrap_or_default();
    let attributes = attributes_from(body.get("attributes").unwrap_or(&Value::Null))?;
    if let Some(id) = str_field(&body, "id") {
        if name.trim().is_empty() {
            return Err(bad_request("Group name is missing"));
        }
        r.with_mut(|state, _| state.move_group(&id, None, &name))
            .map_err(|e| group_write_error(e, "Could not find child by id"))?;
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let id = r
        .with_mut(|state, ids| {
            let id = ids.id();
            state.create_group(id, &name, attributes.unwrap_or_default(), None)
        })
        .map_err(|e| group_write_error(e, "Could not find group by id"))?;
    created(admin_url(&kc, &realm, &format!("groups/{id}")))
}

/// A group write's error as Keycloak answers it (`missing` for a 404).
fn group_write_error(e: KeycloakError, missing: &str) -> Response {
    match e {
        KeycloakError::Invalid { rule, .. } => bad_request(&rule),
        KeycloakError::NotFound { what } if what == "Could not find child by id" => {
            not_found(&what)
        }
        e => error_response(e, missing),
    }
}

async fn get_group(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    r.with(|state| {
        state.group(&id)?;
        Ok(group_json(state, &id, GroupView::FULL))
    })
    .map(|v| json_response(StatusCode::OK, v))
    .map_err(|e| error_response(e, "Could not find group by id"))
}

/// `GET groups/{id}/children`: the direct subgroups by name, paged (`first` 0, `max` 10 by
/// default), full representations unless `briefRepresentation=true`, `search` a
/// case-insensitive prefix (`*` a wildcard; `exact=true`: equal).
async fn group_children(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
    Query(q): Params,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    let first = q_num(&q, "first")?.unwrap_or(0);
    let max = q_max(&q, Some(10))?;
    let view = GroupView {
        brief: q_bool(&q, "briefRepresentation", false),
        access: true,
        count: q_bool(&q, "subGroupsCount", true),
    };
    let exact = q_bool(&q, "exact", false);
    let search = q.get("search").cloned();
    r.with(|state| {
        state.group(&id)?;
        let pattern = search.as_deref().map(Pattern::prefix_search);
        let kids: Vec<&super::store::GroupRec> = state
            .children_sorted(Some(&id))
            .into_iter()
            .filter(|g| match (&search, &pattern) {
                (Some(s), _) if exact => g.name == *s,
                (_, Some(p)) => p.matches(&g.name),
                _ => true,
            })
            .collect();
        Ok(Value::Array(
            paginate(kids, first, max)
                .into_iter()
                .map(|g| group_json(state, &g.id, view))
                .collect(),
        ))
    })
    .map(|v| json_response(StatusCode::OK, v))
    .map_err(|e| error_response(e, "Could not find group by id"))
}

/// `POST groups/{id}/children`: creates a subgroup (`201`, `Location` and the new group as
/// JSON), or — when the body carries an `id` — moves that group here (`204`). A missing name
/// is `400 Group name is missing` either way; a sibling of the same name `409`.
async fn add_group_child(
    State(kc): State<FakeKeycloak>,
    Path((realm, parent)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    r.with(|state| state.group(&parent).map(|_| ()))
        .map_err(|e| error_response(e, "Could not find group by id"))?;
    let body = match parse_json(&body)? {
        // Keycloak fails on a missing body.
        Value::Null => return Err(server_error()),
        v if !v.is_object() => return Err(wrong_shape()),
        v => v,
    };
    let name = str_field(&body, "name").unwrap_or_default();
    if name.trim().is_empty() {
        return Err(bad_request("Group name is missing"));
    }
    if let Some(id) = str_field(&body, "id") {
        r.with_mut(|state, _| state.move_group(&id, Some(&parent), &name))
            .map_err(|e| group_write_error(e, "Could not find group by id"))?;
        return Ok((
            StatusCode::NO_CONTENT,
            [(header::CONTENT_TYPE, "application/json")],
        )
            .into_response());
    }
    let attributes = attributes_from(body.get("attributes").unwrap_or(&Value::Null))?;
    let (id, rep) = r
        .with_mut(|state, ids| {
            let id = ids.id();
            state.create_group(
                id.clone(),
                &name,
                attributes.unwrap_or_default(),
                Some(&parent),
            )?;
            let view = GroupView {
                brief: false,
                access: true,
                count: false,
            };
            Ok((id.clone(), group_json(state, &id, view)))
        })
        .map_err(|e| group_write_error(e, "Could not find group by id"))?;
    created_with(admin_url(&kc, &realm, &format!("groups/{id}")), rep)
}

/// `GET group-by-path/{path}`: the group at that path (names exact, a trailing `/` ignored),
/// without `access`; `404 Group path does not exist` otherwise.
async fn group_by_path(
    State(kc): State<FakeKeycloak>,
    Path((realm, path)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> HttpResult {
    if unnormalized(uri.path()) {
        return Err(not_normalized());
    }
    let r = authorize(&kc, &headers, &realm)?;
    r.with(|state| {
        let g = state
            .group_by_path(&path)
            .ok_or_else(|| KeycloakError::not_found("group path"))?;
        let view = GroupView {
            brief: false,
            access: false,
            count: true,
        };
        Ok(group_json(state, &g.id, view))
    })
    .map(|v| json_response(StatusCode::OK, v))
    .map_err(|e| error_response(e, "Group path does not exist"))
}

/// Keycloak's answer to a path with an empty or dot segment (`//`, `%2e%2e`).
fn not_normalized() -> Response {
    json_response(
        StatusCode::BAD_REQUEST,
        json!({"error": "missingNormalization", "error_description": "Request path not normalized"}),
    )
}

async fn update_group(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    let body = parse_json(&body)?;
    let name = str_field(&body, "name");
    let attributes = attributes_from(body.get("attributes").unwrap_or(&Value::Null))?;
    r.with_mut(|state, _| state.update_group(&id, name.as_deref(), attributes))
        .map_err(|e| match e {
            KeycloakError::Invalid { rule, .. } => bad_request(&rule),
            e => error_response(e, "Could not find group by id"),
        })?;
    no_content()
}

async fn delete_group(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    r.with_mut(|state, _| state.delete_group(&id))
        .map_err(|e| error_response(e, "Could not find group by id"))?;
    no_content()
}

async fn members(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
    Query(q): Params,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    let first = q_num(&q, "first")?.unwrap_or(0);
    let max = q_max(&q, Some(100))?;
    let brief = q_bool(&q, "briefRepresentation", false);
    r.with(|state| {
        let users = paginate(state.members(&id)?, first, max);
        Ok(users_json(users, UserView::Member, brief))
    })
    .map(|v| json_response(StatusCode::OK, v))
    .map_err(|e| error_response(e, "Could not find group by id"))
}

async fn group_role_mappings(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    r.with(|state| {
        let realm_roles: Vec<Value> = state
            .group_realm_roles(&id)?
            .into_iter()
            .map(|role| role.to_json(&state.id, true))
            .collect();
        let mut out = json!({});
        if let Some(obj) = out.as_object_mut()
            && !realm_roles.is_empty()
        {
            obj.insert("realmMappings".into(), Value::Array(realm_roles));
        }
        Ok(out)
    })
    .map(|v| json_response(StatusCode::OK, v))
    .map_err(|e| error_response(e, "Could not find group by id"))
}

async fn group_realm_roles(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    r.with(|state| {
        Ok(Value::Array(
            state
                .group_realm_roles(&id)?
                .into_iter()
                .map(|role| role.to_json(&state.id, true))
                .collect(),
        ))
    })
    .map(|v| json_response(StatusCode::OK, v))
    .map_err(|e| error_response(e, "Could not find group by id"))
}

/// `GET groups/{id}/role-mappings/realm/composite`: the group's realm roles with its
/// ancestors' and everything they contain, brief unless `briefRepresentation=false`.
async fn group_realm_roles_composite(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
    Query(q): Params,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    let brief = q_bool(&q, "briefRepresentation", true);
    r.with(|state| {
        Ok(Value::Array(
            state
                .group_effective_realm_roles(&id)?
                .into_iter()
                .map(|role| role.to_json(&state.id, brief))
                .collect(),
        ))
    })
    .map(|v| json_response(StatusCode::OK, v))
    .map_err(|e| error_response(e, "Could not find group by id"))
}

async fn change_group_realm_roles(
    kc: FakeKeycloak,
    realm: String,
    id: String,
    headers: HeaderMap,
    body: Bytes,
    add: bool,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    let body = parse_json(&body)?;
    r.with(|state| state.group(&id).map(|_| ()))
        .map_err(|e| error_response(e, "Could not find group by id"))?;
    // DELETE without a body removes every realm-role mapping, as in Keycloak.
    let ids = if !add && body.is_null() {
        r.with(|state| {
            Ok(state
                .group_realm_roles(&id)?
                .into_iter()
                .map(|x| x.id.clone())
                .collect())
        })
        .map_err(|e| error_response(e, "Could not find group by id"))?
    } else {
        r.with(|state| Ok(resolve_role_reps(state, &body, None)))
            .map_err(|e| error_response(e, "Realm not found."))??
    };
    r.with_mut(|state, _| state.map_group_realm_roles(&id, ids, add))
        .map_err(|e| error_response(e, "Realm not found."))?;
    no_content()
}

async fn add_group_realm_roles(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResult {
    change_group_realm_roles(kc, realm, id, headers, body, true).await
}

async fn remove_group_realm_roles(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResult {
    change_group_realm_roles(kc, realm, id, headers, body, false).await
}

// ----- roles -----

async fn list_roles(
    State(kc): State<FakeKeycloak>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    Query(q): Params,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    let first = q_num(&q, "first")?.unwrap_or(0);
    let max = q_max(&q, None)?;
    let brief = q_bool(&q, "briefRepresentation", true);
    let search = q.get("search").cloned().unwrap_or_default();
    r.with(|state| {
        let roles: Vec<Value> = state
            .realm_roles_sorted()
            .into_iter()
            .filter(|role| Pattern::contains(&search).matches(&role.name))
            .map(|role| role.to_json(&state.id, brief))
            .collect();
        Ok(Value::Array(paginate(roles, first, max)))
    })
    .map(|v| json_response(StatusCode::OK, v))
    .map_err(|e| error_response(e, "Realm not found."))
}

/// `POST roles`: a missing `name` is `400 role has no name` (an empty one is created, as
/// Keycloak does); `description`, `attributes` and (with `composite: true`) `composites` are
/// kept. `201` with the role's URL, its name encoded as Keycloak encodes it.
async fn create_role(
    State(kc): State<FakeKeycloak>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    let body = match parse_json(&body)? {
        Value::Null => return Err(server_error()),
        v if !v.is_object() => return Err(wrong_shape()),
        v => v,
    };
    let Some(name) = str_field(&body, "name") else {
        return Err(error_status(StatusCode::BAD_REQUEST, "role has no name"));
    };
    let description = str_field(&body, "description");
    let attributes = attributes_from(body.get("attributes").unwrap_or(&Value::Null))?;
    // As Keycloak 26.7: `composites` count only with `"composite": true`; realm roles by
    // name, client roles by `clientId` (an unknown client is skipped); an unknown role is a
    // 404 naming it and no role is created.
    let composites = if bool_field(&body, "composite") == Some(true) {
        body.get("composites").cloned().unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    let children = r
        .with(|state| Ok(composite_children(state, &composites)))
        .map_err(|e| error_response(e, "Realm not found."))??;
    r.with_mut(|state, ids| {
        let id = ids.id();
        state.create_role(id.clone(), &name, description.as_deref(), None)?;
        if let Some(role) = state.roles.get_mut(&id) {
            if let Some(a) = attributes {
                role.attributes = a;
            }
            role.composites = children.into_iter().collect();
        }
        Ok(())
    })
    .map_err(|e| match e {
        KeycloakError::Invalid { rule, .. } => bad_request(&rule),
        e => error_response(e, "Could not find role"),
    })?;
    // Keycloak's URI builder drops the empty segment of an empty name.
    let path = if name.is_empty() {
        "roles".to_owned()
    } else {
        format!("roles/{}", encode_segment(&name))
    };
    created(admin_url(&kc, &realm, &path))
}

/// The role ids a new role's `composites` (`{"realm": [names], "client": {clientId: [names]}}`)
/// name, or Keycloak's 404 for an unknown role.
fn composite_children(
    state: &RealmState,
    composites: &Value,
) -> std::result::Result<Vec<String>, Response> {
    let mut ids = Vec::new();
    let names = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    for name in names(composites.get("realm")) {
        let role = state.realm_role(&name).map_err(|_| {
            json_response(
                StatusCode::NOT_FOUND,
                json!({"errorMessage": format!("Realm Role with name {name} does not exist")}),
            )
        })?;
        ids.push(role.id.clone());
    }
    if let Some(clients) = composites.get("client").and_then(Value::as_object) {
        for (client_id, roles) in clients {
            let Ok(client) = state.client_by_client_id(client_id) else {
                continue;
            };
            for name in names(Some(roles)) {
                let role = state.client_role(&client.id, &name).map_err(|_| {
                    json_response(
                        StatusCode::NOT_FOUND,
                        json!({"errorMessage": format!("Client Role with name {name} does not exist")}),
                    )
                })?;
                ids.push(role.id.clone());
            }
        }
    }
    Ok(ids)
}

async fn get_role(
    State(kc): State<FakeKeycloak>,
    Path((realm, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    r.with(|state| Ok(state.realm_role(&name)?.to_json(&state.id, false)))
        .map(|v| json_response(StatusCode::OK, v))
        .map_err(|e| error_response(e, "Could not find role"))
}

/// The body of a role update: the new name (required, non-empty: else `400 role has no
/// name`), the description (absent: removed) and the attributes (absent: kept).
fn role_update_body(
    body: &Bytes,
) -> std::result::Result<(String, Option<String>, Option<crate::Attributes>), Response> {
    let body = match parse_json(body)? {
        Value::Null => return Err(server_error()),
        v if !v.is_object() => return Err(wrong_shape()),
        v => v,
    };
    let name = str_field(&body, "name")
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| error_status(StatusCode::BAD_REQUEST, "role has no name"))?;
    let attributes = attributes_from(body.get("attributes").unwrap_or(&Value::Null))?;
    Ok((name, str_field(&body, "description"), attributes))
}

/// A role update's error: a clash is Keycloak's bare `409 Duplicate resource error`.
fn role_update_error(e: KeycloakError, missing: &str) -> Response {
    match e {
        KeycloakError::Conflict { .. } => json_response(
            StatusCode::CONFLICT,
            json!({"error": "conflict", "error_description": "Duplicate resource error"}),
        ),
        e => error_response(e, missing),
    }
}

/// `PUT roles/{name}`: rename, description, attributes (see [`role_update_body`]).
async fn update_role(
    State(kc): State<FakeKeycloak>,
    Path((realm, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    let id = r
        .with(|state| Ok(state.realm_role(&name)?.id.clone()))
        .map_err(|e| error_response(e, "Could not find role"))?;
    let (new_name, description, attributes) = role_update_body(&body)?;
    r.with_mut(|state, _| {
        state.update_role(
            &id,
            &new_name,
            description,
            attributes,
            format!("roles/{name}"),
        )
    })
    .map_err(|e| role_update_error(e, "Could not find role"))?;
    no_content()
}

async fn delete_role(
    State(kc): State<FakeKeycloak>,
    Path((realm, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    let id = r
        .with(|state| Ok(state.realm_role(&name)?.id.clone()))
        .map_err(|e| error_response(e, "Could not find role"))?;
    delete_role_id(&r, &id)
}

/// Deletes a role by id; the realm's default role cannot go (`400`, Keycloak's message).
fn delete_role_id(r: &FakeRealm, id: &str) -> HttpResult {
    r.with_mut(|state, _| {
        if state.default_role == id {
            let name = state
                .roles
                .get(id)
                .map(|r| r.name.clone())
                .unwrap_or_default();
            return Err(KeycloakError::invalid(
                "role",
                format!("{name} is default role of the realm and cannot be removed."),
            ));
        }
        state.delete_role_by_id(id);
        Ok(())
    })
    .map_err(|e| match e {
        KeycloakError::Invalid { rule, .. } => bad_request(&rule),
        e => error_response(e, "Could not find role"),
    })?;
    no_content()
}

/// `GET roles/{name}/users`: the users the realm role is mapped onto directly, by username,
/// paged (`max` 100 by default), full representations unless `briefRepresentation=true`.
async fn role_users(
    State(kc): State<FakeKeycloak>,
    Path((realm, name)): Path<(String, String)>,
    headers: HeaderMap,
    Query(q): Params,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    let first = q_num(&q, "first")?.unwrap_or(0);
    let max = q_max(&q, Some(100))?;
    let brief = q_bool(&q, "briefRepresentation", false);
    r.with(|state| {
        let role = state.realm_role(&name)?.id.clone();
        Ok(users_json(
            paginate(state.role_users(&role), first, max),
            UserView::List,
            brief,
        ))
    })
    .map(|v| json_response(StatusCode::OK, v))
    .map_err(|e| error_response(e, "Could not find role"))
}

/// `GET roles/{name}/groups`: the groups (any level) the realm role is mapped onto directly,
/// by name, paged (`max` 100 by default), brief unless `briefRepresentation=false`.
async fn role_groups(
    State(kc): State<FakeKeycloak>,
    Path((realm, name)): Path<(String, String)>,
    headers: HeaderMap,
    Query(q): Params,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    let first = q_num(&q, "first")?.unwrap_or(0);
    let max = q_max(&q, Some(100))?;
    let brief = q_bool(&q, "briefRepresentation", true);
    r.with(|state| {
        let role = state.realm_role(&name)?.id.clone();
        Ok(Value::Array(
            paginate(state.role_groups(&role), first, max)
                .into_iter()
                .map(|g| group_json(state, &g.id, GroupView::plain(brief)))
                .collect(),
        ))
    })
    .map(|v| json_response(StatusCode::OK, v))
    .map_err(|e| error_response(e, "Could not find role"))
}

/// `GET roles-by-id/{id}`: a realm or client role by id.
async fn get_role_by_id(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    r.with(|state| {
        let role = state
            .roles
            .get(&id)
            .ok_or_else(|| KeycloakError::not_found(format!("role {id}")))?;
        Ok(role.to_json(&state.id, false))
    })
    .map(|v| json_response(StatusCode::OK, v))
    .map_err(|e| error_response(e, "Could not find role with id"))
}

/// `PUT roles-by-id/{id}`: as `PUT roles/{name}`.
async fn update_role_by_id(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    r.with(|state| {
        state
            .roles
            .get(&id)
            .map(|_| ())
            .ok_or_else(|| KeycloakError::not_found(format!("role {id}")))
    })
    .map_err(|e| error_response(e, "Could not find role with id"))?;
    let (new_name, description, attributes) = role_update_body(&body)?;
    r.with_mut(|state, _| {
        state.update_role(
            &id,
            &new_name,
            description,
            attributes,
            format!("roles-by-id/{id}"),
        )
    })
    .map_err(|e| role_update_error(e, "Could not find role with id"))?;
    no_content()
}

/// `DELETE roles-by-id/{id}`.
async fn delete_role_by_id(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    r.with(|state| {
        state
            .roles
            .get(&id)
            .map(|_| ())
            .ok_or_else(|| KeycloakError::not_found(format!("role {id}")))
    })
    .map_err(|e| error_response(e, "Could not find role with id"))?;
    delete_role_id(&r, &id)
}

// ----- composite roles -----

/// Where a composite-role path names its role: `roles/{name}`, `roles-by-id/{id}` or
/// `clients/{client}/roles/{name}`.
enum RoleAt {
    Realm(String),
    ById(String),
    Client(String, String),
}

impl RoleAt {
    /// The role's id, or Keycloak's 404 for the path.
    fn resolve(&self, state: &RealmState) -> std::result::Result<String, Response> {
        match self {
            RoleAt::Realm(name) => state
                .realm_role(name)
                .map(|r| r.id.clone())
                .map_err(|_| not_found("Could not find role")),
            RoleAt::ById(id) => state
                .roles
                .get(id)
                .map(|r| r.id.clone())
                .ok_or_else(|| not_found("Could not find role with id")),
            RoleAt::Client(client, name) => {
                state
                    .client(client)
                    .map_err(|_| not_found("Could not find client"))?;
                state
                    .client_role(client, name)
                    .map(|r| r.id.clone())
                    .map_err(|_| not_found("Could not find role"))
            }
        }
    }

    /// The admin-event path of the role's composites.
    fn events_path(&self) -> String {
        match self {
            RoleAt::Realm(name) => format!("roles/{name}/composites"),
            RoleAt::ById(id) => format!("roles-by-id/{id}/composites"),
            RoleAt::Client(client, name) => format!("clients/{client}/roles/{name}/composites"),
        }
    }
}

/// `GET …/composites` (every child), `…/composites/realm` (`Some(None)`) and
/// `…/composites/clients/{client}` (`Some(Some(client))`: an unknown client is `404 Could not
/// find client`): brief role representations, realm roles first.
fn composites_response(
    kc: &FakeKeycloak,
    headers: &HeaderMap,
    realm: &str,
    at: RoleAt,
    owner: Option<Option<&str>>,
) -> HttpResult {
    let r = authorize(kc, headers, realm)?;
    let result = r.with(|state| {
        Ok(at.resolve(state).and_then(|id| {
            if let Some(Some(client)) = owner {
                state
                    .client(client)
                    .map_err(|_| not_found("Could not find client"))?;
            }
            let roles = state
                .role_composites(&id, owner)
                .map_err(|_| not_found("Could not find role"))?;
            Ok(Value::Array(
                roles
                    .into_iter()
                    .map(|r| r.to_json(&state.id, true))
                    .collect(),
            ))
        }))
    });
    match result {
        Ok(Ok(v)) => ok(v),
        Ok(Err(resp)) => Err(resp),
        Err(e) => Err(error_response(e, "Realm not found.")),
    }
}

/// `POST` / `DELETE …/composites`: a JSON array of role representations found by `id` (a
/// missing or unknown id is `404 Could not find composite role` and nothing changes); no body
/// is Keycloak's 500. The roles of `realm-management` cannot be changed (403).
fn change_composites(
    kc: &FakeKeycloak,
    headers: &HeaderMap,
    realm: &str,
    at: RoleAt,
    body: &Bytes,
    add: bool,
) -> HttpResult {
    let r = authorize(kc, headers, realm)?;
    let role_id = r
        .with(|state| Ok(at.resolve(state)))
        .map_err(|e| error_response(e, "Realm not found."))??;
    let body = match parse_json(body)? {
        Value::Null => return Err(server_error()),
        v if !v.is_array() => return Err(wrong_shape()),
        v => v,
    };
    let reps = body.as_array().cloned().unwrap_or_default();
    let children: Vec<String> = reps
        .iter()
        .map(|rep| str_field(rep, "id").unwrap_or_default())
        .collect();
    let rep = Value::Array(
        reps.iter()
            .map(|rep| {
                let mut out = serde_json::Map::new();
                for key in ["id", "name", "description"] {
                    if let Some(v) = rep.get(key).filter(|v| !v.is_null()) {
                        out.insert(key.into(), v.clone());
                    }
                }
                out.insert(
                    "composite".into(),
                    json!(bool_field(rep, "composite").unwrap_or(false)),
                );
                Value::Object(out)
            })
            .collect(),
    );
    r.with_mut(|state, _| {
        let locked = state
            .roles
            .get(&role_id)
            .and_then(|role| role.client.as_deref())
            .and_then(|c| state.clients.get(c))
            .is_some_and(|c| !c.manageable);
        if locked {
            return Err(KeycloakError::Forbidden {
                reason: "the roles of realm-management cannot be changed".into(),
            });
        }
        state.change_composites(&role_id, &children, add, at.events_path(), rep)
    })
    .map_err(|e| error_response(e, "Could not find composite role"))?;
    no_content()
}

async fn role_composites(
    State(kc): State<FakeKeycloak>,
    Path((realm, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    composites_response(&kc, &headers, &realm, RoleAt::Realm(name), None)
}

async fn role_composites_realm(
    State(kc): State<FakeKeycloak>,
    Path((realm, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    composites_response(&kc, &headers, &realm, RoleAt::Realm(name), Some(None))
}

async fn role_composites_client(
    State(kc): State<FakeKeycloak>,
    Path((realm, name, client)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    composites_response(
        &kc,
        &headers,
        &realm,
        RoleAt::Realm(name),
        Some(Some(&client)),
    )
}

async fn add_role_composites(
    State(kc): State<FakeKeycloak>,
    Path((realm, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResult {
    change_composites(&kc, &headers, &realm, RoleAt::Realm(name), &body, true)
}

async fn remove_role_composites(
    State(kc): State<FakeKeycloak>,
    Path((realm, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResult {
    change_composites(&kc, &headers, &realm, RoleAt::Realm(name), &body, false)
}

async fn role_by_id_composites(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    composites_response(&kc, &headers, &realm, RoleAt::ById(id), None)
}

async fn role_by_id_composites_realm(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    composites_response(&kc, &headers, &realm, RoleAt::ById(id), Some(None))
}

async fn role_by_id_composites_client(
    State(kc): State<FakeKeycloak>,
    Path((realm, id, client)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    composites_response(&kc, &headers, &realm, RoleAt::ById(id), Some(Some(&client)))
}

async fn add_role_by_id_composites(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResult {
    change_composites(&kc, &headers, &realm, RoleAt::ById(id), &body, true)
}

async fn remove_role_by_id_composites(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResult {
    change_composites(&kc, &headers, &realm, RoleAt::ById(id), &body, false)
}

async fn client_role_composites(
    State(kc): State<FakeKeycloak>,
    Path((realm, id, name)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    composites_response(&kc, &headers, &realm, RoleAt::Client(id, name), None)
}

async fn client_role_composites_realm(
    State(kc): State<FakeKeycloak>,
    Path((realm, id, name)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    composites_response(&kc, &headers, &realm, RoleAt::Client(id, name), Some(None))
}

async fn client_role_composites_client(
    State(kc): State<FakeKeycloak>,
    Path((realm, id, name, client)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    composites_response(
        &kc,
        &headers,
        &realm,
        RoleAt::Client(id, name),
        Some(Some(&client)),
    )
}

async fn add_client_role_composites(
    State(kc): State<FakeKeycloak>,
    Path((realm, id, name)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResult {
    change_composites(&kc, &headers, &realm, RoleAt::Client(id, name), &body, true)
}

async fn remove_client_role_composites(
    State(kc): State<FakeKeycloak>,
    Path((realm, id, name)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResult {
    change_composites(
        &kc,
        &headers,
        &realm,
        RoleAt::Client(id, name),
        &body,
        false,
    )
}

// ----- clients -----

fn apply_client_fields(c: &mut ClientRec, body: &Value) {
    if let Some(v) = str_field(body, "name") {
        c.name = Some(v);
    }
    if let Some(v) = bool_field(body, "enabled") {
        c.enabled = v;
    }
    if let Some(v) = bool_field(body, "publicClient") {
        c.public = v;
    }
    if let Some(v) = bool_field(body, "bearerOnly") {
        c.bearer_only = v;
    }
    if let Some(v) = bool_field(body, "standardFlowEnabled") {
        c.standard_flow = v;
    }
    if let Some(v) = bool_field(body, "directAccessGrantsEnabled") {
        c.direct_access = v;
    }
    if let Some(v) = bool_field(body, "fullScopeAllowed") {
        c.full_scope_allowed = v;
    }
    if let Some(v) = bool_field(body, "frontchannelLogout") {
        c.frontchannel_logout = v;
    }
    if let Some(v) = strings(body, "redirectUris") {
        c.redirect_uris = v;
    }
    if let Some(v) = strings(body, "webOrigins") {
        c.web_origins = v;
    }
    if let Some(v) = str_field(body, "rootUrl") {
        c.root_url = Some(v);
    }
    if let Some(v) = str_field(body, "baseUrl") {
        c.base_url = Some(v);
    }
    if let Some(v) = str_field(body, "secret") {
        c.secret = Some(v);
    }
    if let Some(attrs) = body.get("attributes").and_then(Value::as_object) {
        for (k, v) in attrs {
            if let Some(s) = v.as_str() {
                c.attributes.insert(k.clone(), s.to_owned());
            }
        }
    }
    if let Some(mappers) = body.get("protocolMappers").and_then(Value::as_array) {
        c.protocol_mappers = mappers.clone();
    }
}

fn with_mapper_ids(mappers: &mut [Value], ids: &mut super::IdSource<'_>) {
    for m in mappers {
        if let Some(obj) = m.as_object_mut()
            && !obj.contains_key("id")
        {
            obj.insert("id".into(), json!(ids.id()));
        }
    }
}

/// What Keycloak 26.7 adds to the protocol mappers of a client it creates (`POST clients`,
/// not `protocol-mappers/models`): a group-membership mapper becomes multivalued
/// (`config.multivalued` `"true"`) unless it says otherwise.
fn client_mapper_defaults(mappers: &mut [Value]) {
    for m in mappers {
        let group_mapper =
            m.get("protocolMapper").and_then(Value::as_str) == Some("oidc-group-membership-mapper");
        if group_mapper
            && let Some(obj) = m.as_object_mut()
            && let Some(config) = obj
                .entry("config")
                .or_insert_with(|| json!({}))
                .as_object_mut()
        {
            config.entry("multivalued").or_insert_with(|| json!("true"));
        }
    }
}

async fn list_clients(
    State(kc): State<FakeKeycloak>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    Query(q): Params,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    let first = q_num(&q, "first")?.unwrap_or(0);
    let max = q_max(&q, None)?;
    let search = q_bool(&q, "search", false);
    let wanted = q.get("clientId").cloned();
    r.with(|state| {
        let mut clients: Vec<&ClientRec> = state
            .clients
            .values()
            .filter(|c| match &wanted {
                None => true,
                Some(w) if search => Pattern::contains(w).matches(&c.client_id),
                Some(w) => c.client_id == *w,
            })
            .collect();
        clients.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        let out: Vec<Value> = clients.into_iter().map(ClientRec::to_json).collect();
        Ok(Value::Array(paginate(out, first, max)))
    })
    .map(|v| json_response(StatusCode::OK, v))
    .map_err(|e| error_response(e, "Realm not found."))
}

async fn create_client(
    State(kc): State<FakeKeycloak>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    let body = parse_json(&body)?;
    let client_id = str_field(&body, "clientId").unwrap_or_default();
    if client_id.trim().is_empty() {
        return Err(bad_request("Client id is missing"));
    }
    let id = r
        .with_mut(|state, ids| {
            if state.client_by_client_id(&client_id).is_ok() {
                return Err(KeycloakError::conflict_on(
                    ConflictField::ClientId,
                    format!("Client {client_id} already exists"),
                ));
            }
            let id = str_field(&body, "id")
                .filter(|i| !state.clients.contains_key(i))
                .unwrap_or_else(|| ids.id());
            let mut c = ClientRec::new(id.clone(), &client_id, None, false);
            apply_client_fields(&mut c, &body);
            // Keycloak 26.7 sets OpenID Connect's back-channel logout defaults when the body
            // names the protocol, and notes when it generated the secret (Unix seconds).
            if str_field(&body, "protocol").as_deref() == Some("openid-connect") {
                for (k, v) in [
                    ("backchannel.logout.session.required", "true"),
                    ("backchannel.logout.revoke.offline.tokens", "false"),
                ] {
                    c.attributes
                        .entry(k.to_owned())
                        .or_insert_with(|| v.to_owned());
                }
            }
            if !c.public && c.secret.is_none() {
                c.secret = Some(ids.secret());
                c.attributes.insert(
                    "client.secret.creation.time".into(),
                    (ids.now_ms() / 1000).to_string(),
                );
            }
            with_mapper_ids(&mut c.protocol_mappers, ids);
            client_mapper_defaults(&mut c.protocol_mappers);
            state.clients.insert(id.clone(), c);
            if bool_field(&body, "serviceAccountsEnabled") == Some(true) {
                enable_service_account(state, ids, &id)?;
            }
            Ok(id)
        })
        .map_err(|e| error_response(e, "Could not find client"))?;
    created(admin_url(&kc, &realm, &format!("clients/{id}")))
}

async fn get_client(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    r.with(|state| Ok(state.client(&id)?.to_json()))
        .map(|v| json_response(StatusCode::OK, v))
        .map_err(|e| error_response(e, "Could not find client"))
}

async fn update_client(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    let body = parse_json(&body)?;
    r.with_mut(|state, ids| {
        state.client(&id)?;
        if let Some(new_id) = str_field(&body, "clientId")
            && let Ok(other) = state.client_by_client_id(&new_id)
            && other.id != id
        {
            return Err(KeycloakError::conflict_on(
                ConflictField::ClientId,
                format!("Client {new_id} already exists"),
            ));
        }
        let Some(c) = state.clients.get_mut(&id) else {
            return Err(KeycloakError::not_found("client"));
        };
        if let Some(new_id) = str_field(&body, "clientId") {
            c.client_id = new_id;
        }
        apply_client_fields(c, &body);
        if !c.public && c.secret.is_none() {
            c.secret = Some(ids.secret());
        }
        let mut mappers = std::mem::take(&mut c.protocol_mappers);
        with_mapper_ids(&mut mappers, ids);
        c.protocol_mappers = mappers;
        if bool_field(&body, "serviceAccountsEnabled") == Some(true) {
            enable_service_account(state, ids, &id)?;
        } else if bool_field(&body, "serviceAccountsEnabled") == Some(false)
            && let Some(c) = state.clients.get_mut(&id)
        {
            c.service_accounts = false;
        }
        Ok(())
    })
    .map_err(|e| error_response(e, "Could not find client"))?;
    no_content()
}

async fn delete_client(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    r.with_mut(|state, _| {
        state.client(&id)?;
        state.clients.remove(&id);
        let role_ids: Vec<String> = state
            .roles
            .values()
            .filter(|role| role.client.as_deref() == Some(id.as_str()))
            .map(|role| role.id.clone())
            .collect();
        for rid in role_ids {
            state.delete_role_by_id(&rid);
        }
        let sa: Vec<String> = state
            .users
            .values()
            .filter(|u| u.service_account_client.as_deref() == Some(id.as_str()))
            .map(|u| u.id.clone())
            .collect();
        for uid in sa {
            state.users.remove(&uid);
            state.memberships.retain(|(u, _)| *u != uid);
            state.user_roles.retain(|(u, _)| *u != uid);
        }
        state.sessions.retain(|_, s| s.client_uuid != id);
        state.consents.retain(|(_, c)| *c != id);
        Ok(())
    })
    .map_err(|e| error_response(e, "Could not find client"))?;
    no_content()
}

async fn list_client_roles(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
    Query(q): Params,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    let brief = q_bool(&q, "briefRepresentation", true);
    r.with(|state| {
        state.client(&id)?;
        Ok(Value::Array(
            state
                .client_roles_sorted(&id)
                .into_iter()
                .map(|role| role.to_json(&state.id, brief))
                .collect(),
        ))
    })
    .map(|v| json_response(StatusCode::OK, v))
    .map_err(|e| error_response(e, "Could not find client"))
}

async fn create_client_role(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    r.with(|state| state.client(&id).map(|_| ()))
        .map_err(|e| error_response(e, "Could not find client"))?;
    let body = match parse_json(&body)? {
        Value::Null => return Err(server_error()),
        v if !v.is_object() => return Err(wrong_shape()),
        v => v,
    };
    let Some(name) = str_field(&body, "name") else {
        return Err(error_status(StatusCode::BAD_REQUEST, "role has no name"));
    };
    let description = str_field(&body, "description");
    r.with_mut(|state, ids| {
        state.client(&id)?;
        let rid = ids.id();
        state.create_role(rid, &name, description.as_deref(), Some(&id))
    })
    .map_err(|e| match e {
        KeycloakError::Invalid { rule, .. } => bad_request(&rule),
        e => error_response(e, "Could not find client"),
    })?;
    created(admin_url(
        &kc,
        &realm,
        &format!("clients/{id}/roles/{}", encode_segment(&name)),
    ))
}

async fn get_client_role(
    State(kc): State<FakeKeycloak>,
    Path((realm, id, name)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    let client_missing = r
        .with(|state| Ok(state.client(&id).is_err()))
        .map_err(|e| error_response(e, "Realm not found."))?;
    if client_missing {
        return Err(not_found("Could not find client"));
    }
    r.with(|state| Ok(state.client_role(&id, &name)?.to_json(&state.id, false)))
        .map(|v| json_response(StatusCode::OK, v))
        .map_err(|e| error_response(e, "Could not find role"))
}

/// `GET clients/{id}/roles/{name}/users`: the users the client role is mapped onto directly,
/// ordered by username, paged (`first`, `max` default 100), brief unless
/// `briefRepresentation=false`.
async fn client_role_users(
    State(kc): State<FakeKeycloak>,
    Path((realm, id, name)): Path<(String, String, String)>,
    headers: HeaderMap,
    Query(q): Params,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    let first = q_num(&q, "first")?.unwrap_or(0);
    let max = q_max(&q, Some(100))?;
    let brief = q_bool(&q, "briefRepresentation", true);
    let client_missing = r
        .with(|state| Ok(state.client(&id).is_err()))
        .map_err(|e| error_response(e, "Realm not found."))?;
    if client_missing {
        return Err(not_found("Could not find client"));
    }
    r.with(|state| {
        let role = state.client_role(&id, &name)?.id.clone();
        Ok(users_json(
            paginate(state.role_users(&role), first, max),
            UserView::List,
            brief,
        ))
    })
    .map(|v| json_response(StatusCode::OK, v))
    .map_err(|e| error_response(e, "Could not find role"))
}

async fn get_client_secret(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    r.with(|state| {
        let c = state.client(&id)?;
        // A public client has no secret: Keycloak answers `{"type": "secret"}`.
        Ok(match (&c.secret, c.public) {
            (Some(secret), false) => json!({"type": "secret", "value": secret}),
            _ => json!({"type": "secret"}),
        })
    })
    .map(|v| json_response(StatusCode::OK, v))
    .map_err(|e| error_response(e, "Could not find client"))
}

async fn regenerate_client_secret(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    r.with_mut(|state, ids| {
        state.client(&id)?;
        let secret = ids.secret();
        let now = ids.now_ms() / 1000;
        if let Some(c) = state.clients.get_mut(&id) {
            c.secret = Some(secret.clone());
            c.attributes
                .insert("client.secret.creation.time".into(), now.to_string());
        }
        Ok(json!({"type": "secret", "value": secret}))
    })
    .map(|v| json_response(StatusCode::OK, v))
    .map_err(|e| error_response(e, "Could not find client"))
}

async fn service_account_user(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    let result = r
        .with(|state| {
            let c = state.client(&id)?;
            if !c.service_accounts {
                return Ok(Err(error_status(
                    StatusCode::BAD_REQUEST,
                    &format!(
                        "Service account not enabled for the client '{}'",
                        c.client_id
                    ),
                )));
            }
            let user = state
                .users
                .values()
                .find(|u| u.service_account_client.as_deref() == Some(id.as_str()))
                .ok_or_else(|| KeycloakError::not_found("user"))?;
            Ok(Ok(user.to_json(UserView::Member, false)))
        })
        .map_err(|e| error_response(e, "Could not find client"))?;
    result.map(|v| json_response(StatusCode::OK, v))
}

async fn list_protocol_mappers(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    r.with(|state| Ok(Value::Array(state.client(&id)?.protocol_mappers.clone())))
        .map(|v| json_response(StatusCode::OK, v))
        .map_err(|e| error_response(e, "Could not find client"))
}

async fn add_protocol_mapper(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    let body = parse_json(&body)?;
    let name = str_field(&body, "name").unwrap_or_default();
    let mapper_id = r
        .with_mut(|state, ids| {
            state.client(&id)?;
            let Some(c) = state.clients.get_mut(&id) else {
                return Err(KeycloakError::not_found("client"));
            };
            if c.protocol_mappers
                .iter()
                .any(|m| m.get("name").and_then(Value::as_str) == Some(name.as_str()))
            {
                return Err(KeycloakError::conflict(
                    "Protocol mapper exists with same name",
                ));
            }
            let mut m = vec![body];
            with_mapper_ids(&mut m, ids);
            let mid = m
                .first()
                .and_then(|x| str_field(x, "id"))
                .unwrap_or_default();
            c.protocol_mappers.extend(m);
            Ok(mid)
        })
        .map_err(|e| error_response(e, "Could not find client"))?;
    created(admin_url(
        &kc,
        &realm,
        &format!("clients/{id}/protocol-mappers/models/{mapper_id}"),
    ))
}

/// `GET clients/{id}/scope-mappings`: every role in the client's scope, as a
/// `MappingsRepresentation` (`{}` when there is none).
async fn scope_mappings(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    r.with(|state| {
        let client = state.client(&id)?;
        Ok(mappings_json(state, client.scope_roles.iter().cloned()))
    })
    .map(|v| json_response(StatusCode::OK, v))
    .map_err(|e| error_response(e, "Could not find client"))
}

/// Which roles a scope-mapping list shows: the mapped ones, the ones that could be mapped, or
/// the mapped ones with everything they contain.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ScopeList {
    Mapped,
    Available,
    Composite,
}

/// The roles of `owner` (`None`: realm roles) the scope of client `id` lists as `which`.
fn scope_list(
    state: &RealmState,
    id: &str,
    owner: Option<&str>,
    which: ScopeList,
) -> crate::Result<Value> {
    let client = state.client(id)?;
    if let Some(o) = owner {
        state.client(o)?;
    }
    let mapped: std::collections::BTreeSet<String> = client.scope_roles.clone();
    let mapped = if which == ScopeList::Composite {
        state.expand_composites(mapped)
    } else {
        mapped
    };
    let mut roles: Vec<&super::store::RoleRec> = state
        .roles
        .values()
        .filter(|r| r.client.as_deref() == owner)
        .filter(|r| (which == ScopeList::Available) != mapped.contains(&r.id))
        .collect();
    roles.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    Ok(Value::Array(
        roles
            .into_iter()
            .map(|r| r.to_json(&state.id, true))
            .collect(),
    ))
}

async fn scope_realm(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    scope_list_response(&kc, &headers, &realm, &id, None, ScopeList::Mapped)
}

async fn scope_realm_available(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    scope_list_response(&kc, &headers, &realm, &id, None, ScopeList::Available)
}

async fn scope_realm_composite(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    scope_list_response(&kc, &headers, &realm, &id, None, ScopeList::Composite)
}

async fn scope_client(
    State(kc): State<FakeKeycloak>,
    Path((realm, id, target)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    scope_list_response(&kc, &headers, &realm, &id, Some(&target), ScopeList::Mapped)
}

async fn scope_client_available(
    State(kc): State<FakeKeycloak>,
    Path((realm, id, target)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    scope_list_response(
        &kc,
        &headers,
        &realm,
        &id,
        Some(&target),
        ScopeList::Available,
    )
}

async fn scope_client_composite(
    State(kc): State<FakeKeycloak>,
    Path((realm, id, target)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    scope_list_response(
        &kc,
        &headers,
        &realm,
        &id,
        Some(&target),
        ScopeList::Composite,
    )
}

fn scope_list_response(
    kc: &FakeKeycloak,
    headers: &HeaderMap,
    realm: &str,
    id: &str,
    owner: Option<&str>,
    which: ScopeList,
) -> HttpResult {
    let r = authorize(kc, headers, realm)?;
    r.with(|state| scope_list(state, id, owner, which))
        .map(|v| json_response(StatusCode::OK, v))
        .map_err(|e| error_response(e, "Could not find client"))
}

/// `POST` / `DELETE` of scope mappings: realm roles (`owner == None`) are looked up by `id`
/// (none: Keycloak's 500), client roles of `owner` by `name`; an unknown one is `404 Role not
/// found` and nothing changes. `DELETE` without a body removes every mapping of that kind.
fn change_scope(
    kc: &FakeKeycloak,
    headers: &HeaderMap,
    realm: &str,
    id: &str,
    owner: Option<&str>,
    body: &Bytes,
    add: bool,
) -> HttpResult {
    let r = authorize(kc, headers, realm)?;
    r.with(|state| {
        state.client(id)?;
        if let Some(o) = owner {
            state.client(o)?;
        }
        Ok(())
    })
    .map_err(|e| error_response(e, "Could not find client"))?;
    let body = parse_json(body)?;
    let role_ids: Vec<String> = r
        .with(|state| {
            let reps = match &body {
                Value::Null if add => return Ok(Err(server_error())),
                Value::Null => {
                    // Everything of that kind.
                    let all = state.client(id)?.scope_roles.iter().filter(|rid| {
                        state
                            .roles
                            .get(*rid)
                            .is_some_and(|role| role.client.as_deref() == owner)
                    });
                    return Ok(Ok(all.cloned().collect()));
                }
                Value::Array(reps) => reps,
                _ => return Ok(Err(wrong_shape())),
            };
            let mut ids = Vec::new();
            for rep in reps {
                let found = match owner {
                    None => match str_field(rep, "id") {
                        None => return Ok(Err(server_error())),
                        Some(rid) => state.roles.get(&rid),
                    },
                    Some(o) => {
                        str_field(rep, "name").and_then(|name| state.client_role(o, &name).ok())
                    }
                };
                match found {
                    Some(role) => ids.push(role.id.clone()),
                    None => return Ok(Err(not_found("Role not found"))),
                }
            }
            Ok(Ok(ids))
        })
        .map_err(|e| error_response(e, "Could not find client"))??;
    r.with_mut(|state, _| {
        let rep = Value::Array(
            role_ids
                .iter()
                .filter_map(|rid| state.roles.get(rid))
                .map(|role| json!({"id": role.id, "name": role.name}))
                .collect(),
        );
        let Some(c) = state.clients.get_mut(id) else {
            return Err(KeycloakError::not_found(format!("client {id}")));
        };
        for rid in role_ids {
            if add {
                c.scope_roles.insert(rid);
            } else {
                c.scope_roles.remove(&rid);
            }
        }
        let (resource, path) = match owner {
            None => (
                "REALM_SCOPE_MAPPING",
                format!("clients/{id}/scope-mappings/realm"),
            ),
            Some(o) => (
                "CLIENT_SCOPE_MAPPING",
                format!("clients/{id}/scope-mappings/clients/{o}"),
            ),
        };
        state.record(
            if add { "CREATE" } else { "DELETE" },
            resource,
            Some(path),
            Some(rep),
        );
        Ok(())
    })
    .map_err(|e| error_response(e, "Could not find client"))?;
    no_content()
}

async fn add_scope_realm(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResult {
    change_scope(&kc, &headers, &realm, &id, None, &body, true)
}

async fn remove_scope_realm(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResult {
    change_scope(&kc, &headers, &realm, &id, None, &body, false)
}

async fn add_scope_client(
    State(kc): State<FakeKeycloak>,
    Path((realm, id, target)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResult {
    change_scope(&kc, &headers, &realm, &id, Some(&target), &body, true)
}

async fn remove_scope_client(
    State(kc): State<FakeKeycloak>,
    Path((realm, id, target)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResult {
    change_scope(&kc, &headers, &realm, &id, Some(&target), &body, false)
}

// ----- default groups -----

async fn default_groups(
    State(kc): State<FakeKeycloak>,
    Path(realm): Path<String>,
    headers: HeaderMap,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    r.with(|state| {
        Ok(Value::Array(
            state
                .default_groups
                .iter()
                .filter(|id| state.groups.contains_key(*id))
                .map(|id| group_json(state, id, GroupView::plain(true)))
                .collect(),
        ))
    })
    .map(|v| json_response(StatusCode::OK, v))
    .map_err(|e| error_response(e, "Realm not found."))
}

async fn add_default_group(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    r.with_mut(|state, _| state.add_default_group(&id))
        .map_err(|e| error_response(e, "Group not found"))?;
    no_content()
}

async fn remove_default_group(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    r.with_mut(|state, _| state.remove_default_group(&id))
        .map_err(|e| error_response(e, "Group not found"))?;
    no_content()
}

// ----- user realm-role mappings, execute-actions e-mail, credentials, admin events -----

fn realm_roles_json(state: &RealmState, roles: Vec<&super::store::RoleRec>) -> Value {
    Value::Array(
        roles
            .into_iter()
            .map(|r| r.to_json(&state.id, true))
            .collect(),
    )
}

async fn user_realm_roles(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    r.with(|state| {
        let roles = state.user_direct_realm_roles(&id)?;
        Ok(realm_roles_json(state, roles))
    })
    .map(|v| json_response(StatusCode::OK, v))
    .map_err(|e| error_response(e, "User not found"))
}

/// Keycloak's `MappingsRepresentation` of role ids: `realmMappings` and `clientMappings`
/// (`clientId` → `{id, client, mappings}`), each part absent when empty, roles by name.
fn mappings_json(state: &RealmState, role_ids: impl Iterator<Item = String>) -> Value {
    let mut roles: Vec<&super::store::RoleRec> =
        role_ids.filter_map(|id| state.roles.get(&id)).collect();
    roles.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    let mut realm_mappings = Vec::new();
    let mut client_mappings = serde_json::Map::new();
    for role in roles {
        match role.client.as_ref().and_then(|c| state.clients.get(c)) {
            None if role.client.is_none() => realm_mappings.push(role.to_json(&state.id, true)),
            None => {}
            Some(client) => {
                let entry = client_mappings
                    .entry(client.client_id.clone())
                    .or_insert_with(
                        || json!({"id": client.id, "client": client.client_id, "mappings": []}),
                    );
                if let Some(list) = entry.get_mut("mappings").and_then(Value::as_array_mut) {
                    list.push(role.to_json(&state.id, true));
                }
            }
        }
    }
    let mut out = serde_json::Map::new();
    if !realm_mappings.is_empty() {
        out.insert("realmMappings".into(), Value::Array(realm_mappings));
    }
    if !client_mappings.is_empty() {
        out.insert("clientMappings".into(), Value::Object(client_mappings));
    }
    Value::Object(out)
}

/// `GET users/{id}/role-mappings`: the user's direct realm and client role mappings.
async fn user_role_mappings(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    r.with(|state| {
        state.user(&id)?;
        let ids = state
            .user_roles
            .iter()
            .filter(|(u, _)| *u == id)
            .map(|(_, rid)| rid.clone());
        Ok(mappings_json(state, ids))
    })
    .map(|v| json_response(StatusCode::OK, v))
    .map_err(|e| error_response(e, "User not found"))
}

/// `GET users/{id}/role-mappings/realm/available`: the realm roles not mapped onto the user
/// directly.
async fn user_realm_roles_available(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    r.with(|state| {
        let roles = state.user_available_realm_roles(&id)?;
        Ok(realm_roles_json(state, roles))
    })
    .map(|v| json_response(StatusCode::OK, v))
    .map_err(|e| error_response(e, "User not found"))
}

/// `GET users/{id}/role-mappings/realm/composite`: the effective realm roles, brief unless
/// `briefRepresentation=false`.
async fn user_realm_roles_composite(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
    Query(q): Params,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    let brief = q_bool(&q, "briefRepresentation", true);
    r.with(|state| {
        let roles = state.user_effective_realm_roles(&id)?;
        Ok(Value::Array(
            roles
                .into_iter()
                .map(|role| role.to_json(&state.id, brief))
                .collect(),
        ))
    })
    .map(|v| json_response(StatusCode::OK, v))
    .map_err(|e| error_response(e, "User not found"))
}

async fn change_user_realm_roles(
    kc: FakeKeycloak,
    realm: String,
    id: String,
    headers: HeaderMap,
    body: Bytes,
    add: bool,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    let body = parse_json(&body)?;
    r.with(|state| state.user(&id).map(|_| ()))
        .map_err(|e| error_response(e, "User not found"))?;
    let ids = r
        .with(|state| Ok(resolve_role_reps(state, &body, None)))
        .map_err(|e| error_response(e, "Realm not found."))??;
    r.with_mut(|state, _| state.map_user_realm_roles(&id, ids, add))
        .map_err(|e| error_response(e, "User not found"))?;
    no_content()
}

async fn add_user_realm_roles(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResult {
    change_user_realm_roles(kc, realm, id, headers, body, true).await
}

async fn remove_user_realm_roles(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResult {
    change_user_realm_roles(kc, realm, id, headers, body, false).await
}

async fn execute_actions_email(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
    Query(q): Params,
    body: Bytes,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    let body = parse_json(&body)?;
    let actions = match &body {
        Value::Null => Vec::new(),
        Value::Array(items) => items
            .iter()
            .map(|a| a.as_str().map(str::to_owned))
            .collect::<Option<Vec<String>>>()
            .ok_or_else(wrong_shape)?,
        _ => return Err(wrong_shape()),
    };
    let lifespan = match q.get("lifespan") {
        None => None,
        Some(v) => Some(
            v.trim()
                .parse::<u32>()
                .map_err(|_| not_found("HTTP 404 Not Found"))?,
        ),
    };
    let request = ExecuteActionsEmail {
        actions,
        lifespan,
        client_id: q.get("client_id").cloned(),
        redirect_uri: q.get("redirect_uri").cloned(),
    };
    r.with_mut(|state, _| state.execute_actions_email(&id, &request))
        .map_err(|e| match e {
            // Keycloak's 400s and 500s here are bare `errorMessage`s.
            KeycloakError::Invalid { rule, .. } => bad_request(&rule),
            KeycloakError::Unexpected { status, body } => json_response(
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                json!({"errorMessage": body}),
            ),
            e => error_response(e, "User not found"),
        })?;
    no_content()
}

async fn user_credentials(
    State(kc): State<FakeKeycloak>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    r.with(|state| Ok(json!(state.user(&id)?.credential_list())))
        .map(|v| json_response(StatusCode::OK, v))
        .map_err(|e| error_response(e, "User not found"))
}

async fn delete_credential(
    State(kc): State<FakeKeycloak>,
    Path((realm, id, credential)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    r.with_mut(|state, _| {
        state.user(&id)?;
        state.delete_credential(&id, &credential)
    })
    .map_err(|e| {
        let missing = match &e {
            KeycloakError::NotFound { what } if what.starts_with("credential ") => {
                "Credential not found"
            }
            _ => "User not found",
        };
        error_response(e, missing)
    })?;
    no_content()
}

/// Keycloak 26's `dateFrom`: `yyyy-MM-dd` (start of that UTC day) or epoch milliseconds.
fn parse_date_from(value: &str) -> Option<i64> {
    let value = value.trim();
    if let Ok(ms) = value.parse::<i64>() {
        return Some(ms);
    }
    let date: jiff::civil::Date = value.parse().ok()?;
    let ts = date.to_zoned(jiff::tz::TimeZone::UTC).ok()?.timestamp();
    Some(ts.as_millisecond())
}

async fn admin_events(
    State(kc): State<FakeKeycloak>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    let single: HashMap<String, String> = pairs.iter().cloned().collect();
    let many = |key: &str| -> Vec<String> {
        pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let since = match single.get("dateFrom") {
        None => None,
        Some(v) => Some(parse_date_from(v).ok_or_else(|| {
            json_response(
                StatusCode::BAD_REQUEST,
                json!({"error": "Invalid value for 'dateFrom', expected format is yyyy-MM-dd or an Epoch timestamp"}),
            )
        })?),
    };
    let first = q_num(&single, "first")?.unwrap_or(0);
    let max = q_max(&single, Some(100))?;
    let operation_types = many("operationTypes");
    let resource_types = many("resourceTypes");
    r.with(|state| {
        let events: Vec<Value> = state
            .admin_events_filtered(since, &operation_types, &resource_types)
            .into_iter()
            .map(|e| json!(e))
            .collect();
        Ok(Value::Array(paginate(events, first, max)))
    })
    .map(|v| json_response(StatusCode::OK, v))
    .map_err(|e| error_response(e, "Realm not found."))
}

/// `POST partialImport`, for users only (with their password and OTP credentials): the way a
/// test gives a user an authenticator app on Keycloak. Any other resource kind in the body is
/// refused with 400 rather than silently ignored.
async fn partial_import(
    State(kc): State<FakeKeycloak>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResult {
    let r = authorize(&kc, &headers, &realm)?;
    let body = parse_json(&body)?;
    let Some(obj) = body.as_object() else {
        return Err(wrong_shape());
    };
    for (key, value) in obj {
        let empty = value.as_array().is_some_and(Vec::is_empty);
        if !matches!(key.as_str(), "users" | "ifResourceExists" | "policy") && !empty {
            return Err(bad_request(&format!(
                "the fake's partialImport imports users only, not {key}"
            )));
        }
    }
    let policy = str_field(&body, "ifResourceExists")
        .or_else(|| str_field(&body, "policy"))
        .unwrap_or_else(|| "FAIL".into());
    let users = body
        .get("users")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut writes = Vec::new();
    for u in &users {
        let mut w = user_write(u)?;
        // Passwords go through `user_write`; other credentials are added after creation.
        let others: Vec<(String, Option<String>)> = u
            .get("credentials")
            .and_then(Value::as_array)
            .map(|creds| {
                creds
                    .iter()
                    .filter_map(|c| {
                        let kind = str_field(c, "type")?;
                        (kind != "password").then(|| (kind, str_field(c, "userLabel")))
                    })
                    .collect()
            })
            .unwrap_or_default();
        if others.iter().any(|(kind, _)| kind != "otp") {
            return Err(bad_request(
                "the fake's partialImport imports password and otp credentials only",
            ));
        }
        w.groups.clear();
        writes.push((w, others));
    }
    let result = r
        .with_mut(|state, ids| {
            let (mut added, mut skipped, mut overwritten) = (0, 0, 0);
            let mut results = Vec::new();
            for (w, others) in writes {
                let username = w.username.clone().unwrap_or_default().to_lowercase();
                let existing = state.user_by_username(&username).map(|u| u.id.clone());
                let action = match (existing, policy.as_str()) {
                    (Some(id), "SKIP") => {
                        skipped += 1;
                        results.push(json!({"action": "SKIPPED", "resourceType": "USER",
                                            "resourceName": username, "id": id}));
                        continue;
                    }
                    (Some(id), "OVERWRITE") => {
                        state.delete_user(&id)?;
                        overwritten += 1;
                        "OVERWRITTEN"
                    }
                    (Some(_), _) => {
                        return Err(KeycloakError::conflict_on(
                            ConflictField::Username,
                            format!("User with user name {username} already exists."),
                        ));
                    }
                    (None, _) => {
                        added += 1;
                        "ADDED"
                    }
                };
                let id = ids.id();
                state.create_user(id.clone(), ids.now_ms(), w)?;
                for (_, label) in others {
                    let cid = ids.id();
                    state.add_otp_credential(&id, cid, label)?;
                }
                results.push(json!({"action": action, "resourceType": "USER",
                                    "resourceName": username, "id": id}));
            }
            Ok(
                json!({"overwritten": overwritten, "added": added, "skipped": skipped,
                      "results": results}),
            )
        })
        .map_err(|e| match e {
            KeycloakError::Invalid { rule, .. } => bad_request(&rule),
            e => error_response(e, "Realm not found."),
        })?;
    ok(result)
}

// ----- unknown routes and methods -----

/// Decodes `%XX` escapes of a path segment (invalid ones stay as they are).
fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = segment.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether Keycloak refuses the path as not normalized: an empty segment (`//`) or a `.` /
/// `..` segment, escaped or not.
fn unnormalized(path: &str) -> bool {
    path.contains("//")
        || path
            .split('/')
            .map(percent_decode)
            .any(|s| s == "." || s == "..")
}

/// A path no route serves, under `/admin/` or `/realms/{realm}/`: a path that is not
/// normalized is `400`; a trailing `/` is dropped and the request served again (Keycloak
/// serves `users/` as `users`); anything else is answered by [`keycloak_miss`].
async fn unmatched(State(kc): State<FakeKeycloak>, request: axum::extract::Request) -> Response {
    use tower::ServiceExt;
    let path = request.uri().path().to_owned();
    if unnormalized(&path) {
        return not_normalized();
    }
    if let Some(trimmed) = path.strip_suffix('/')
        && !trimmed.is_empty()
    {
        // `group-by-path/` is a path Keycloak looks up (and never finds).
        let segments: Vec<&str> = trimmed.split('/').collect();
        if let ["", "admin", "realms", realm, "group-by-path"] = segments.as_slice() {
            let realm = percent_decode(realm);
            return match authorize(&kc, request.headers(), &realm) {
                Ok(_) => not_found("Group path does not exist"),
                Err(e) => e,
            };
        }
        let uri = match request.uri().query() {
            Some(q) => format!("{trimmed}?{q}"),
            None => trimmed.to_owned(),
        };
        if let Ok(uri) = uri.parse::<Uri>() {
            // A new request: the old one's extensions hold this route's path parameters.
            let (parts, body) = request.into_parts();
            let mut again = axum::extract::Request::new(body);
            *again.method_mut() = parts.method;
            *again.uri_mut() = uri;
            *again.headers_mut() = parts.headers;
            return match router(kc).oneshot(again).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
        }
    }
    keycloak_miss(&kc, request.method(), &path, request.headers(), false)
}

/// A known path with a method it does not serve.
async fn wrong_method(
    State(kc): State<FakeKeycloak>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    keycloak_miss(&kc, &method, uri.path(), &headers, true)
}

/// What Keycloak answers for a path it has no method for, following its resource locators:
/// under `/admin/realms` the caller is authenticated (`401`), the realm looked up (`404 Realm
/// not found.`, then `403` for a caller who may not administer it), then the user, group,
/// client or role-by-id the path names (`404` with Keycloak's message when missing); only then
/// is the path unknown (`404 HTTP 404 Not Found`) or the method wrong (`405 HTTP 405 Method
/// Not Allowed`). Any other path under `/admin` is `405`; under `/realms/{realm}` a missing
/// realm is `404 Realm does not exist`.
fn keycloak_miss(
    kc: &FakeKeycloak,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    known_path: bool,
) -> Response {
    let segments: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    let seg = |i: usize| segments.get(i).map(String::as_str);
    let miss = || {
        if known_path {
            error_status(
                StatusCode::METHOD_NOT_ALLOWED,
                "HTTP 405 Method Not Allowed",
            )
        } else {
            not_found("HTTP 404 Not Found")
        }
    };
    match (seg(0), seg(1)) {
        (Some("admin"), Some("realms")) => {
            let Some(realm) = seg(2) else {
                // `/admin/realms` with a method it lacks.
                return match authorize_master(kc, headers) {
                    Ok(()) => miss(),
                    Err(e) => e,
                };
            };
            let r = match authorize(kc, headers, realm) {
                Ok(r) => r,
                Err(e) => return e,
            };
            let Some(kind) = seg(3) else {
                // Keycloak has no POST on a realm and answers it with a bare 404.
                return if method == Method::POST {
                    not_found("HTTP 404 Not Found")
                } else {
                    miss()
                };
            };
            let missing = r.with(|state| {
                Ok(match (kind, seg(4)) {
                    ("users", Some(id)) if !matches!(id, "count" | "profile") => {
                        (!state.users.contains_key(id)).then_some("User not found")
                    }
                    ("groups", Some(id)) if id != "count" => {
                        (!state.groups.contains_key(id)).then_some("Could not find group by id")
                    }
                    ("clients", Some(id)) => {
                        (!state.clients.contains_key(id)).then_some("Could not find client")
                    }
                    ("roles-by-id", Some(id)) => {
                        (!state.roles.contains_key(id)).then_some("Could not find role with id")
                    }
                    _ => None,
                })
            });
            match missing {
                Ok(Some(message)) => not_found(message),
                Ok(None) => miss(),
                Err(e) => error_response(e, "Realm not found."),
            }
        }
        (Some("admin"), _) => error_status(
            StatusCode::METHOD_NOT_ALLOWED,
            "HTTP 405 Method Not Allowed",
        ),
        (Some("realms"), Some(realm)) => {
            if kc.realm(realm).is_err() {
                return not_found("Realm does not exist");
            }
            if seg(2) == Some("protocol") && seg(3).is_some_and(|p| p != "openid-connect") {
                return not_found("Protocol not found");
            }
            // Keycloak's well-known documents answer other methods with a bare 404.
            if seg(2) == Some(".well-known") {
                return not_found("HTTP 404 Not Found");
            }
            miss()
        }
        _ => not_found("Unable to find matching target resource method"),
    }
}
