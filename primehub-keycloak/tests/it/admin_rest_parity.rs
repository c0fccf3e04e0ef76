//! The admin REST routes python-keycloak calls, at the HTTP level: the same requests and the
//! same expected answers (status, JSON body, `Location`) against the fake's HTTP face (here)
//! and against a real Keycloak 26 (`real_keycloak::admin_rest_face_answers_as_keycloak`).
//!
//! Each run creates its own realm through `POST /admin/realms` as the master realm's admin
//! and deletes it at the end. What is asserted was first observed on Keycloak 26.7.3.
#![cfg(feature = "fake")]
#![allow(clippy::unwrap_used)]

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use url::Url;

use primehub_keycloak::fake::FakeKeycloak;

/// One answer: status, headers and the body as JSON (`Null` when empty or not JSON).
pub(crate) struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    fn location(&self) -> String {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    /// The id at the end of the `Location` header.
    fn created_id(&self) -> String {
        self.location().rsplit('/').next().unwrap().to_owned()
    }

    fn content_type(&self) -> String {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    fn names(&self) -> Vec<String> {
        self.body
            .as_array()
            .unwrap_or_else(|| panic!("not a list: {}", self.body))
            .iter()
            .map(|x| x["name"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

/// A target: a Keycloak (real or fake) at `base`, administered as the master realm's admin.
pub(crate) struct Target {
    base: Url,
    token: String,
    realm: String,
    http: reqwest::Client,
}

impl Target {
    /// Logs in as the master admin and creates a fresh realm.
    pub(crate) async fn new(base: &Url, admin: &str, password: &str) -> Target {
        let http = crate::primehub_replay::http();
        let token_url = base
            .join("realms/master/protocol/openid-connect/token")
            .unwrap();
        let grant: Value = http
            .post(token_url)
            .form(&[
                ("grant_type", "password"),
                ("client_id", "admin-cli"),
                ("username", admin),
                ("password", password),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = grant["access_token"].as_str().unwrap().to_owned();
        let realm = format!(
            "ph-parity-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..10]
        );
        let target = Target {
            base: base.clone(),
            token,
            realm,
            http,
        };
        let created = target
            .raw(
                Method::POST,
                "/admin/realms",
                Some(&json!({"realm": target.realm, "enabled": true})),
                true,
            )
            .await;
        assert_eq!(created.status, 201, "create realm: {}", created.body);
        target
    }

    /// `base` + `path` (a path as sent, not re-encoded beyond what `Url` does).
    async fn raw(&self, method: Method, path: &str, body: Option<&Value>, auth: bool) -> Answer {
        let url = format!("{}{}", self.base.as_str().trim_end_matches('/'), path);
        let mut request = self.http.request(method, &url);
        if auth {
            request = request.bearer_auth(&self.token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap();
        Answer {
            status,
            headers,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }

    /// A request under `/admin/realms/<realm>`.
    async fn admin(&self, method: Method, path: &str, body: Option<&Value>) -> Answer {
        self.raw(
            method,
            &format!("/admin/realms/{}{path}", self.realm),
            body,
            true,
        )
        .await
    }

    async fn get(&self, path: &str) -> Answer {
        self.admin(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> Answer {
        self.admin(Method::POST, path, Some(&body)).await
    }

    async fn put(&self, path: &str, body: Value) -> Answer {
        self.admin(Method::PUT, path, Some(&body)).await
    }

    async fn delete(&self, path: &str, body: Option<Value>) -> Answer {
        self.admin(Method::DELETE, path, body.as_ref()).await
    }

    /// The public URL of a path under the realm's admin API (as in `Location` headers).
    fn url(&self, path: &str) -> String {
        format!(
            "{}/admin/realms/{}{path}",
            self.base.as_str().trim_end_matches('/'),
            self.realm
        )
    }

    async fn create_user(&self, username: &str) -> String {
        let a = self
            .post("/users", json!({"username": username, "enabled": true}))
            .await;
        assert_eq!(a.status, 201, "create user {username}: {}", a.body);
        a.created_id()
    }

    async fn create_role(&self, name: &str) -> Value {
        let a = self.post("/roles", json!({ "name": name })).await;
        assert_eq!(a.status, 201, "create role {name}: {}", a.body);
        self.get(&format!("/roles/{}", enc(name))).await.body
    }

    async fn delete_realm(&self) {
        let a = self
            .raw(
                Method::DELETE,
                &format!("/admin/realms/{}", self.realm),
                None,
                true,
            )
            .await;
        assert_eq!(a.status, 204);
    }
}

/// Percent-encodes a path segment (everything but unreserved characters).
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[track_caller]
fn expect(a: &Answer, status: u16, body: Value, what: &str) {
    assert_eq!(
        (a.status, &a.body),
        (status, &body),
        "{what}: status and body"
    );
}

/// Every check, in order, against `target`; the realm is deleted at the end.
pub(crate) async fn run(target: &Target) {
    unknown_routes_and_methods(target).await;
    user_realm_role_mappings(target).await;
    subgroups(target).await;
    group_search_and_paths(target).await;
    role_updates_and_holders(target).await;
    role_locations(target).await;
    client_scope_mappings(target).await;
    partial_user_updates(target).await;
    composite_routes(target).await;
    target.delete_realm().await;
}

const NOT_FOUND: &str = "HTTP 404 Not Found";
const NOT_ALLOWED: &str = "HTTP 405 Method Not Allowed";

async fn unknown_routes_and_methods(t: &Target) {
    let uid = t.create_user("routes-user").await;
    let r = &t.realm;
    let cases: Vec<(Method, String, bool, u16, Value)> = vec![
        (
            Method::GET,
            format!("/admin/realms/{r}/nope"),
            true,
            404,
            json!({"error": NOT_FOUND}),
        ),
        (
            Method::GET,
            format!("/admin/realms/{r}/nope"),
            false,
            401,
            json!({"error": "HTTP 401 Unauthorized"}),
        ),
        (
            Method::PATCH,
            format!("/admin/realms/{r}/users"),
            true,
            405,
            json!({"error": NOT_ALLOWED}),
        ),
        (
            Method::DELETE,
            format!("/admin/realms/{r}/users"),
            true,
            405,
            json!({"error": NOT_ALLOWED}),
        ),
        (
            Method::PATCH,
            format!("/admin/realms/{r}/users"),
            false,
            401,
            json!({"error": "HTTP 401 Unauthorized"}),
        ),
        (
            Method::PATCH,
            format!("/admin/realms/{r}/users/{uid}"),
            true,
            405,
            json!({"error": NOT_ALLOWED}),
        ),
        (
            Method::PATCH,
            format!("/admin/realms/{r}/users/missing"),
            true,
            404,
            json!({"error": "User not found"}),
        ),
        (
            Method::POST,
            format!("/admin/realms/{r}/users/{uid}/nope"),
            true,
            404,
            json!({"error": NOT_FOUND}),
        ),
        (
            Method::GET,
            format!("/admin/realms/{r}/users/missing/nope"),
            true,
            404,
            json!({"error": "User not found"}),
        ),
        (
            Method::GET,
            format!("/admin/realms/{r}/users/{uid}/role-mappings/nope"),
            true,
            404,
            json!({"error": NOT_FOUND}),
        ),
        (
            Method::PUT,
            format!("/admin/realms/{r}/users/{uid}/role-mappings/realm"),
            true,
            405,
            json!({"error": NOT_ALLOWED}),
        ),
        (
            Method::GET,
            format!("/admin/realms/{r}/groups/missing/children"),
            true,
            404,
            json!({"error": "Could not find group by id"}),
        ),
        (
            Method::PATCH,
            format!("/admin/realms/{r}/groups/missing"),
            true,
            404,
            json!({"error": "Could not find group by id"}),
        ),
        (
            Method::PATCH,
            format!("/admin/realms/{r}/roles/x"),
            true,
            405,
            json!({"error": NOT_ALLOWED}),
        ),
        (
            Method::GET,
            format!("/admin/realms/{r}/roles-by-id/missing/composites"),
            true,
            404,
            json!({"error": "Could not find role with id"}),
        ),
        (
            Method::GET,
            format!("/admin/realms/{r}/clients/missing/nope"),
            true,
            404,
            json!({"error": "Could not find client"}),
        ),
        (
            Method::POST,
            format!("/admin/realms/{r}"),
            true,
            404,
            json!({"error": NOT_FOUND}),
        ),
        (
            Method::GET,
            "/admin/realms/ph-parity-missing/users".into(),
            true,
            404,
            json!({"error": "Realm not found."}),
        ),
        (
            Method::PATCH,
            "/admin/realms/ph-parity-missing/users".into(),
            true,
            404,
            json!({"error": "Realm not found."}),
        ),
        (
            Method::GET,
            "/admin/realms/ph-parity-missing/nope".into(),
            true,
            404,
            json!({"error": "Realm not found."}),
        ),
        (
            Method::GET,
            "/admin/nope".into(),
            true,
            405,
            json!({"error": NOT_ALLOWED}),
        ),
        (
            Method::GET,
            format!("/admin/realms/{r}//users"),
            true,
            400,
            json!({"error": "missingNormalization", "error_description": "Request path not normalized"}),
        ),
        (
            Method::GET,
            format!("/realms/{r}/nope"),
            false,
            404,
            json!({"error": NOT_FOUND}),
        ),
        (
            Method::GET,
            "/realms/ph-parity-missing/nope".into(),
            false,
            404,
            json!({"error": "Realm does not exist"}),
        ),
        (
            Method::GET,
            format!("/realms/{r}/protocol/nope/x"),
            false,
            404,
            json!({"error": "Protocol not found"}),
        ),
        (
            Method::GET,
            format!("/realms/{r}/protocol/openid-connect/token"),
            false,
            405,
            json!({"error": NOT_ALLOWED}),
        ),
        (
            Method::PUT,
            format!("/realms/{r}/protocol/openid-connect/certs"),
            false,
            405,
            json!({"error": NOT_ALLOWED}),
        ),
        (
            Method::PUT,
            "/realms/ph-parity-missing/protocol/openid-connect/certs".into(),
            false,
            404,
            json!({"error": "Realm does not exist"}),
        ),
        (
            Method::POST,
            format!("/realms/{r}"),
            false,
            405,
            json!({"error": NOT_ALLOWED}),
        ),
        (
            Method::POST,
            format!("/realms/{r}/.well-known/openid-configuration"),
            false,
            404,
            json!({"error": NOT_FOUND}),
        ),
        (
            Method::GET,
            format!("/realms/{r}//protocol/openid-connect/certs"),
            false,
            400,
            json!({"error": "missingNormalization", "error_description": "Request path not normalized"}),
        ),
    ];
    for (method, path, auth, status, body) in cases {
        let a = t.raw(method.clone(), &path, None, auth).await;
        expect(
            &a,
            status,
            body,
            &format!("{method} {path} (token: {auth})"),
        );
        assert!(
            a.content_type().starts_with("application/json"),
            "{method} {path}: JSON error, got {:?}",
            a.content_type()
        );
    }
    // A trailing `/` is served as without.
    let a = t.get("/users/").await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body[0]["username"], "routes-user");
    let a = t
        .raw(
            Method::GET,
            &format!("/realms/{r}/protocol/openid-connect/certs/"),
            None,
            false,
        )
        .await;
    assert_eq!(a.status, 200);
    assert!(a.body["keys"].is_array());
    // Bodies that are not JSON, or not the JSON wanted.
    let a = t
        .http
        .post(t.url("/groups"))
        .bearer_auth(&t.token)
        .header("content-type", "application/json")
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(a.status(), 400);
    assert_eq!(
        a.json::<Value>().await.unwrap(),
        json!({"error": "invalid_request", "error_description": "Cannot parse the JSON"})
    );
    let a = t.post("/groups", json!([])).await;
    expect(
        &a,
        400,
        json!({"error": "unknown_error", "error_description": "Cannot parse the JSON"}),
        "POST groups with an array",
    );
    t.delete(&format!("/users/{uid}"), None).await;
}

/// The composite-role routes python-keycloak uses: add, list (all, realm, one client's), by
/// name and by id, remove; Keycloak's 404 messages; `POST roles` with `composites` (counted
/// only with `"composite": true`; an unknown realm role refuses the whole create); the roles of
/// `realm-management` cannot be changed (403).
async fn composite_routes(t: &Target) {
    let a = t.create_role("comp-a").await;
    let b = t.create_role("comp-b").await;
    let a_id = a["id"].as_str().unwrap().to_owned();
    let add = t
        .post("/roles/comp-a/composites", json!([{"id": b["id"]}]))
        .await;
    assert_eq!(add.status, 204, "{}", add.body);
    assert_eq!(t.get("/roles/comp-a").await.body["composite"], true);
    let by_id = t.get(&format!("/roles-by-id/{a_id}/composites")).await;
    assert_eq!(by_id.names(), ["comp-b"]);
    let realm = t.get("/roles/comp-a/composites/realm").await;
    assert_eq!(realm.names(), ["comp-b"]);
    assert_eq!(realm.body[0]["clientRole"], false, "{}", realm.body);
    assert!(
        realm.body[0].get("attributes").is_none(),
        "brief: {}",
        realm.body
    );
    let rm = t.get("/clients?clientId=realm-management").await.body[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let none = t
        .get(&format!("/roles/comp-a/composites/clients/{rm}"))
        .await;
    assert_eq!((none.status, none.body.clone()), (200, json!([])));
    for (path, message) in [
        (
            "/roles/comp-a/composites/clients/nope".to_owned(),
            "Could not find client",
        ),
        (
            "/roles/nothing/composites".to_owned(),
            "Could not find role",
        ),
        (
            "/roles-by-id/nope/composites".to_owned(),
            "Could not find role with id",
        ),
    ] {
        let miss = t.get(&path).await;
        assert_eq!(
            (miss.status, miss.body["error"].clone()),
            (404, json!(message)),
            "{path}"
        );
    }
    let by_name = t
        .post("/roles/comp-a/composites", json!([{"name": "comp-b"}]))
        .await;
    assert_eq!(by_name.status, 404, "found by id only: {}", by_name.body);
    assert_eq!(by_name.body["error"], "Could not find composite role");
    // realm-management's roles are not the realm administrator's to change.
    let locked = t
        .post(
            &format!("/clients/{rm}/roles/view-events/composites"),
            json!([{"id": b["id"]}]),
        )
        .await;
    assert_eq!(locked.status, 403, "{}", locked.body);
    let admin = t
        .get(&format!("/clients/{rm}/roles/realm-admin/composites"))
        .await;
    assert_eq!(admin.names().len(), 21, "{}", admin.body);

    let c = t
        .post(
            "/roles",
            json!({"name": "comp-c", "composite": true,
                   "composites": {"realm": ["comp-b"], "client": {"account": ["view-profile"]}}}),
        )
        .await;
    assert_eq!(c.status, 201, "{}", c.body);
    let mut names = t.get("/roles/comp-c/composites").await.names();
    names.sort();
    assert_eq!(names, ["comp-b", "view-profile"]);
    let d = t
        .post(
            "/roles",
            json!({"name": "comp-d", "composite": true, "composites": {"realm": ["nope"]}}),
        )
        .await;
    assert_eq!(d.status, 404, "{}", d.body);
    assert_eq!(
        d.body["errorMessage"],
        "Realm Role with name nope does not exist"
    );
    assert_eq!(t.get("/roles/comp-d").await.status, 404, "nothing created");
    let e = t
        .post(
            "/roles",
            json!({"name": "comp-e", "composites": {"realm": ["comp-b"]}}),
        )
        .await;
    assert_eq!(e.status, 201, "{}", e.body);
    assert_eq!(t.get("/roles/comp-e/composites").await.body, json!([]));

    // A subgroup's effective realm roles: its parent's mapping, composites expanded.
    let parent = t.post("/groups", json!({"name": "comp-parent"})).await;
    assert_eq!(parent.status, 201, "{}", parent.body);
    let parent = parent.created_id();
    let child = t
        .post(
            &format!("/groups/{parent}/children"),
            json!({"name": "comp-child"}),
        )
        .await;
    assert_eq!(child.status, 201, "{}", child.body);
    let child = child.created_id();
    let map = t
        .post(
            &format!("/groups/{parent}/role-mappings/realm"),
            json!([{"id": a_id, "name": "comp-a"}]),
        )
        .await;
    assert_eq!(map.status, 204, "{}", map.body);
    let mut effective = t
        .get(&format!("/groups/{child}/role-mappings/realm/composite"))
        .await
        .names();
    effective.sort();
    assert_eq!(effective, ["comp-a", "comp-b"]);
    let miss = t.get("/groups/nope/role-mappings/realm/composite").await;
    assert_eq!(
        (miss.status, miss.body["error"].clone()),
        (404, json!("Could not find group by id"))
    );

    let remove = t
        .delete("/roles/comp-a/composites", Some(json!([{"id": b["id"]}])))
        .await;
    assert_eq!(remove.status, 204, "{}", remove.body);
    assert_eq!(t.get("/roles/comp-a/composites").await.body, json!([]));
    assert_eq!(t.get("/roles/comp-a").await.body["composite"], false);
}

/// `PUT users/{id}` as Keycloak 26.7 reads it: without `attributes` what the body leaves out
/// stays; with `attributes` (even `{}`) the body is the whole profile, so the e-mail and names
/// it leaves out are removed (`emailVerified` stays). An invalid e-mail's 400 names the value.
async fn partial_user_updates(t: &Target) {
    let a = t
        .post(
            "/users",
            json!({"username": "partial-put", "enabled": true, "email": "partial@example.com",
                   "emailVerified": true, "firstName": "Ada", "lastName": "Lovelace"}),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let uid = a.created_id();
    let a = t
        .put(&format!("/users/{uid}"), json!({"firstName": "Grace"}))
        .await;
    assert_eq!(a.status, 204, "{}", a.body);
    let user = t.get(&format!("/users/{uid}")).await.body;
    assert_eq!(user["firstName"], "Grace", "{user}");
    assert_eq!(
        user["lastName"], "Lovelace",
        "without attributes: kept: {user}"
    );
    assert_eq!(
        user["email"], "partial@example.com",
        "without attributes: kept: {user}"
    );
    let a = t
        .put(
            &format!("/users/{uid}"),
            json!({"lastName": "Hopper", "attributes": {}}),
        )
        .await;
    assert_eq!(a.status, 204, "{}", a.body);
    let user = t.get(&format!("/users/{uid}")).await.body;
    assert_eq!(user["lastName"], "Hopper", "{user}");
    assert!(
        user.get("email").is_none(),
        "with attributes: e-mail removed: {user}"
    );
    assert!(
        user.get("firstName").is_none(),
        "with attributes: first name removed: {user}"
    );
    assert_eq!(user["emailVerified"], true, "emailVerified stays: {user}");

    let a = t
        .post(
            "/users",
            json!({"username": "bad-mail", "enabled": true, "email": "not-an-email"}),
        )
        .await;
    assert_eq!(a.status, 400, "{}", a.body);
    assert_eq!(a.body["field"], "email", "{}", a.body);
    assert_eq!(a.body["errorMessage"], "error-invalid-email", "{}", a.body);
    assert_eq!(
        a.body["params"],
        json!(["email", "not-an-email"]),
        "{}",
        a.body
    );
}

async fn user_realm_role_mappings(t: &Target) {
    let default_roles = format!("default-roles-{}", t.realm);
    let uid = t.create_user("mapping-user").await;
    let role = t.create_role("img:mapped").await;
    let rep = json!([{"id": role["id"], "name": "img:mapped"}]);

    let a = t.get(&format!("/users/{uid}/role-mappings")).await;
    assert_eq!(a.status, 200);
    assert_eq!(
        a.body.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["realmMappings"],
        "a new user's mappings: {}",
        a.body
    );
    assert_eq!(a.body["realmMappings"][0]["name"], default_roles.as_str());
    assert_eq!(a.body["realmMappings"][0]["composite"], true);
    let a = t.get(&format!("/users/{uid}/role-mappings/realm")).await;
    assert_eq!(a.names(), vec![default_roles.clone()]);
    let mut effective = t
        .get(&format!("/users/{uid}/role-mappings/realm/composite"))
        .await
        .names();
    effective.sort();
    assert_eq!(
        effective,
        [
            default_roles.clone(),
            "offline_access".into(),
            "uma_authorization".into()
        ]
    );
    let full = t
        .get(&format!(
            "/users/{uid}/role-mappings/realm/composite?briefRepresentation=false"
        ))
        .await;
    assert!(full.body[0]["attributes"].is_object(), "{}", full.body);
    let mut available = t
        .get(&format!("/users/{uid}/role-mappings/realm/available"))
        .await
        .names();
    available.sort();
    assert_eq!(
        available,
        ["img:mapped", "offline_access", "uma_authorization"]
    );

    let a = t
        .post(&format!("/users/{uid}/role-mappings/realm"), rep.clone())
        .await;
    assert_eq!(a.status, 204);
    let mut direct = t
        .get(&format!("/users/{uid}/role-mappings/realm"))
        .await
        .names();
    direct.sort();
    assert_eq!(direct, [default_roles.clone(), "img:mapped".into()]);
    let a = t.get(&format!("/users/{uid}/role-mappings")).await;
    assert_eq!(a.body["realmMappings"].as_array().unwrap().len(), 2);
    assert!(
        !t.get(&format!("/users/{uid}/role-mappings/realm/available"))
            .await
            .names()
            .contains(&"img:mapped".to_owned())
    );
    let a = t
        .delete(&format!("/users/{uid}/role-mappings/realm"), Some(rep))
        .await;
    assert_eq!(a.status, 204);
    assert_eq!(
        t.get(&format!("/users/{uid}/role-mappings/realm"))
            .await
            .names(),
        vec![default_roles.clone()]
    );
    for path in [
        "/users/missing/role-mappings",
        "/users/missing/role-mappings/realm",
        "/users/missing/role-mappings/realm/composite",
        "/users/missing/role-mappings/realm/available",
    ] {
        expect(
            &t.get(path).await,
            404,
            json!({"error": "User not found"}),
            path,
        );
    }
    let a = t
        .delete(&format!("/roles/{}", enc(&default_roles)), None)
        .await;
    expect(
        &a,
        400,
        json!({"errorMessage": format!("{default_roles} is default role of the realm and cannot be removed.")}),
        "DELETE the default role",
    );
    t.delete(&format!("/users/{uid}"), None).await;
    t.delete("/roles/img:mapped", None).await;
}

async fn subgroups(t: &Target) {
    let top = t.post("/groups", json!({"name": "top"})).await.created_id();
    let a = t
        .post(
            &format!("/groups/{top}/children"),
            json!({"name": "kid b", "attributes": {"k": ["v"]}}),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let kid_b = a.created_id();
    assert_eq!(a.location(), t.url(&format!("/groups/{kid_b}")));
    assert_eq!(a.content_type(), "application/json");
    assert_eq!(
        a.body,
        json!({"id": kid_b, "name": "kid b", "path": "/top/kid b", "parentId": top,
               "subGroups": [], "attributes": {"k": ["v"]}, "realmRoles": [], "clientRoles": {},
               "access": {"view": true, "viewMembers": true, "manageMembers": true,
                          "manage": true, "manageMembership": true}}),
        "the created subgroup"
    );
    let kid_a = t
        .post(&format!("/groups/{top}/children"), json!({"name": "kid a"}))
        .await
        .created_id();
    let a = t
        .post(&format!("/groups/{top}/children"), json!({"name": "kid b"}))
        .await;
    expect(
        &a,
        409,
        json!({"errorMessage": "Sibling group named 'kid b' already exists."}),
        "a sibling's name",
    );
    for body in [json!({"name": ""}), json!({})] {
        let a = t.post(&format!("/groups/{top}/children"), body).await;
        expect(
            &a,
            400,
            json!({"errorMessage": "Group name is missing"}),
            "no name",
        );
    }
    let a = t
        .post("/groups/missing/children", json!({"name": "x"}))
        .await;
    expect(
        &a,
        404,
        json!({"error": "Could not find group by id"}),
        "missing parent",
    );
    let grand = t
        .post(
            &format!("/groups/{kid_b}/children"),
            json!({"name": "grand"}),
        )
        .await
        .created_id();

    // Representations with subGroupCount and parentId.
    let a = t.get(&format!("/groups/{top}")).await;
    assert_eq!(a.body["subGroupCount"], 2);
    assert_eq!(a.body["subGroups"], json!([]));
    assert!(a.body.get("parentId").is_none());
    assert!(a.body["access"].is_object());
    let a = t.get(&format!("/groups/{grand}")).await;
    assert_eq!(
        (
            &a.body["path"],
            &a.body["parentId"],
            &a.body["subGroupCount"]
        ),
        (&json!("/top/kid b/grand"), &json!(kid_b), &json!(0))
    );
    let a = t.get("/groups").await;
    assert_eq!(a.names(), ["top"]);
    assert_eq!(a.body[0]["subGroupCount"], 2);
    assert!(a.body[0].get("attributes").is_none(), "brief by default");
    let a = t.get("/groups?subGroupsCount=false").await;
    assert!(a.body[0].get("subGroupCount").is_none());

    // Children: full by default, by name, 10 per page.
    let a = t.get(&format!("/groups/{top}/children")).await;
    assert_eq!(a.names(), ["kid a", "kid b"]);
    assert_eq!(a.body[1]["attributes"], json!({"k": ["v"]}));
    assert_eq!(a.body[1]["subGroupCount"], 1);
    assert_eq!(a.body[1]["parentId"], json!(top));
    let a = t
        .get(&format!("/groups/{top}/children?briefRepresentation=true"))
        .await;
    assert!(a.body[0].get("attributes").is_none());
    assert!(a.body[0]["access"].is_object());
    let a = t
        .get(&format!("/groups/{top}/children?first=1&max=1"))
        .await;
    assert_eq!(a.names(), ["kid b"]);
    for (search, found) in [
        ("kid", vec!["kid a", "kid b"]),
        ("KID A", vec!["kid a"]),
        ("id", vec![]),
        ("*i", vec!["kid a", "kid b"]),
        ("k*b", vec!["kid b"]),
        ("i*", vec![]),
    ] {
        let a = t
            .get(&format!("/groups/{top}/children?search={}", enc(search)))
            .await;
        assert_eq!(a.names(), found, "children matching {search:?}");
    }
    let a = t
        .get(&format!("/groups/{top}/children?exact=true&search=KID%20A"))
        .await;
    assert_eq!(a.names(), Vec::<String>::new());
    let many = t
        .post("/groups", json!({"name": "many"}))
        .await
        .created_id();
    for i in (0..13).rev() {
        let a = t
            .post(
                &format!("/groups/{many}/children"),
                json!({ "name": format!("c{i:02}") }),
            )
            .await;
        assert_eq!(a.status, 201);
    }
    let a = t.get(&format!("/groups/{many}/children")).await;
    assert_eq!(a.names().len(), 10, "10 children per page by default");
    assert_eq!(a.names()[0], "c00");
    let a = t.get(&format!("/groups/{many}/children?first=5")).await;
    assert_eq!(a.names().len(), 8);
    let a = t.get(&format!("/groups/{many}/children?max=-1")).await;
    assert_eq!(a.names().len(), 13, "max=-1 is everything");
    let a = t.get(&format!("/groups/{many}/children?max=0")).await;
    assert_eq!(a.body, json!([]));
    let a = t.get(&format!("/groups/{many}/children?first=x")).await;
    expect(&a, 404, json!({"error": NOT_FOUND}), "first=x");

    // Moves: POST with the group's id (its name is required, and named in a clash).
    let a = t
        .post(
            &format!("/groups/{top}/children"),
            json!({"id": grand, "name": "ignored"}),
        )
        .await;
    assert_eq!((a.status, &a.body), (204, &Value::Null), "move");
    assert_eq!(a.content_type(), "application/json");
    let a = t.get(&format!("/groups/{grand}")).await;
    assert_eq!(
        (&a.body["name"], &a.body["path"]),
        (&json!("grand"), &json!("/top/grand")),
        "a move keeps the group's own name"
    );
    let a = t
        .post(&format!("/groups/{top}/children"), json!({"id": grand}))
        .await;
    expect(
        &a,
        400,
        json!({"errorMessage": "Group name is missing"}),
        "move without a name",
    );
    let a = t
        .post(
            &format!("/groups/{top}/children"),
            json!({"id": "missing", "name": "x"}),
        )
        .await;
    expect(
        &a,
        404,
        json!({"error": "Could not find child by id"}),
        "move of a missing group",
    );
    let clash = t
        .post(
            &format!("/groups/{kid_b}/children"),
            json!({"name": "grand"}),
        )
        .await
        .created_id();
    let a = t
        .post(
            &format!("/groups/{top}/children"),
            json!({"id": clash, "name": "whatever"}),
        )
        .await;
    expect(
        &a,
        409,
        json!({"errorMessage": "Sibling group named 'whatever' already exists."}),
        "move onto a sibling's name",
    );
    let a = t
        .post(
            &format!("/groups/{top}/children"),
            json!({"id": top, "name": "top"}),
        )
        .await;
    assert_eq!(a.status, 204, "a move under itself is accepted");
    assert!(
        t.get(&format!("/groups/{top}"))
            .await
            .body
            .get("parentId")
            .is_none(),
        "and changes nothing"
    );
    let a = t
        .post(
            &format!("/groups/{grand}/children"),
            json!({"id": top, "name": "top"}),
        )
        .await;
    expect(
        &a,
        500,
        json!({"error": "unknown_error", "error_description": "For more on this error consult the server log."}),
        "move under its own subgroup",
    );
    let a = t
        .post("/groups", json!({"id": grand, "name": "body name"}))
        .await;
    assert_eq!((a.status, &a.body), (204, &Value::Null), "move to the top");
    assert_eq!(
        t.get(&format!("/groups/{grand}")).await.body["path"],
        "/grand"
    );
    let a = t
        .post("/groups", json!({"id": clash, "name": "body name"}))
        .await;
    expect(
        &a,
        409,
        json!({"errorMessage": "Top level group named 'body name' already exists."}),
        "move to the top onto a top-level name",
    );
    let a = t
        .post("/groups", json!({"id": "missing", "name": "x"}))
        .await;
    expect(
        &a,
        404,
        json!({"error": "Could not find child by id"}),
        "move of a missing group to the top",
    );
    let a = t
        .put(&format!("/groups/{kid_a}"), json!({"name": "kid b"}))
        .await;
    expect(
        &a,
        409,
        json!({"errorMessage": "Sibling group named 'kid b' already exists."}),
        "rename onto a sibling's name",
    );

    // Users in subgroups, deletion with the parent.
    let uid = t.create_user("tree-user").await;
    let a = t
        .put(&format!("/users/{uid}/groups/{clash}"), Value::Null)
        .await;
    assert_eq!(a.status, 204);
    t.put(&format!("/users/{uid}/groups/{kid_a}"), Value::Null)
        .await;
    let a = t.get(&format!("/users/{uid}/groups")).await;
    assert_eq!(
        a.body,
        json!([
            {"id": clash, "name": "grand", "path": "/top/kid b/grand", "parentId": kid_b, "subGroups": []},
            {"id": kid_a, "name": "kid a", "path": "/top/kid a", "parentId": top, "subGroups": []},
        ])
    );
    let a = t.get(&format!("/users/{uid}/groups/count")).await;
    expect(&a, 200, json!({"count": 2}), "user group count");
    let a = t.get(&format!("/users/{uid}/groups?search=gr")).await;
    assert_eq!(a.names(), ["grand"]);
    assert_eq!(
        t.get(&format!("/groups/{top}/members")).await.body,
        json!([])
    );
    assert_eq!(t.delete(&format!("/groups/{top}"), None).await.status, 204);
    for id in [&kid_a, &kid_b, &clash] {
        assert_eq!(t.get(&format!("/groups/{id}")).await.status, 404);
    }
    assert_eq!(t.get(&format!("/users/{uid}/groups")).await.body, json!([]));
    t.delete(&format!("/users/{uid}"), None).await;
    t.delete(&format!("/groups/{grand}"), None).await;
    t.delete(&format!("/groups/{many}"), None).await;
}

async fn group_search_and_paths(t: &Target) {
    let top = t.post("/groups", json!({"name": "top"})).await.created_id();
    let kid_b = t
        .post(&format!("/groups/{top}/children"), json!({"name": "kid b"}))
        .await
        .created_id();
    let kid_a = t
        .post(&format!("/groups/{top}/children"), json!({"name": "kid a"}))
        .await
        .created_id();
    let grand = t
        .post(
            &format!("/groups/{kid_b}/children"),
            json!({"name": "grand"}),
        )
        .await
        .created_id();
    let many = t
        .post("/groups", json!({"name": "many"}))
        .await
        .created_id();
    for name in ["c10", "c11", "x"] {
        t.post(&format!("/groups/{many}/children"), json!({ "name": name }))
            .await;
    }

    /// The tree of a `GET groups` answer, one `name(subGroupCount)` per line, indented.
    fn tree(groups: &Value, indent: &str, out: &mut Vec<String>) {
        for g in groups.as_array().unwrap() {
            out.push(format!(
                "{indent}{}({})",
                g["name"].as_str().unwrap(),
                g["subGroupCount"]
            ));
            tree(&g["subGroups"], &format!("{indent}  "), out);
        }
    }
    let search = |q: &'static str| async move {
        let a = t.get(&format!("/groups?{q}")).await;
        assert_eq!(a.status, 200, "{q}: {}", a.body);
        let mut out = Vec::new();
        tree(&a.body, "", &mut out);
        out
    };
    assert_eq!(
        search("search=ran").await,
        ["top(2)", "  kid b(1)", "    grand(0)"]
    );
    assert_eq!(
        search("search=a").await,
        [
            "many(3)",
            "top(2)",
            "  kid b(1)",
            "    grand(0)",
            "  kid a(0)"
        ],
        "matches by name, each inside its ancestors, the top level by name"
    );
    assert_eq!(
        search("search=KID").await,
        ["top(2)", "  kid a(0)", "  kid b(1)"]
    );
    assert_eq!(search("search=*id%20b").await, ["top(2)", "  kid b(1)"]);
    assert_eq!(search("search=top").await, ["top(2)"]);
    assert_eq!(
        search("search=c1").await,
        ["many(3)", "  c10(0)", "  c11(0)"]
    );
    assert_eq!(
        search("search=a&first=1&max=1").await,
        ["top(2)", "  kid a(0)"],
        "paging applies to the matches"
    );
    assert_eq!(search("search=a&exact=true").await, Vec::<String>::new());
    assert_eq!(
        search("search=kid%20a&exact=true").await,
        ["top(2)", "  kid a(0)"]
    );
    assert_eq!(
        search("search=a&populateHierarchy=false").await,
        ["grand(0)", "kid a(0)", "many(3)"]
    );
    let a = t.get("/groups?search=gran&briefRepresentation=false").await;
    assert_eq!(
        a.body[0]["subGroups"][0]["subGroups"][0]["attributes"],
        json!({})
    );
    assert!(a.body[0]["subGroups"][0]["access"].is_object());
    for (q, count) in [
        ("", 8),
        ("top=true", 2),
        ("search=a", 3),
        ("search=a&top=true", 3),
        ("search=KID", 2),
    ] {
        let a = t.get(&format!("/groups/count?{q}")).await;
        expect(&a, 200, json!({ "count": count }), &format!("count {q}"));
    }

    // By path.
    let a = t.get("/group-by-path/top/kid%20b/grand").await;
    assert_eq!(
        a.body,
        json!({"id": grand, "name": "grand", "path": "/top/kid b/grand", "parentId": kid_b,
               "subGroupCount": 0, "subGroups": [], "attributes": {}, "realmRoles": [],
               "clientRoles": {}}),
        "group by path: no access object"
    );
    assert_eq!(t.get("/group-by-path/top/").await.body["id"], json!(top));
    assert_eq!(
        t.get("/group-by-path/top%2Fkid%20a").await.body["id"],
        json!(kid_a)
    );
    for path in [
        "/group-by-path/TOP",
        "/group-by-path/top/nope",
        "/group-by-path/kid%20b",
        "/group-by-path/",
    ] {
        expect(
            &t.get(path).await,
            404,
            json!({"error": "Group path does not exist"}),
            path,
        );
    }
    expect(
        &t.get("/group-by-path").await,
        404,
        json!({"error": NOT_FOUND}),
        "group-by-path without a path",
    );
    expect(
        &t.get("/group-by-path//top").await,
        400,
        json!({"error": "missingNormalization", "error_description": "Request path not normalized"}),
        "group-by-path//top",
    );

    // Default groups and the realm's list of them use paths.
    assert_eq!(
        t.put(&format!("/default-groups/{kid_b}"), Value::Null)
            .await
            .status,
        204
    );
    let a = t.get("/default-groups").await;
    assert_eq!(
        a.body,
        json!([{"id": kid_b, "name": "kid b", "path": "/top/kid b", "parentId": top, "subGroups": []}])
    );
    let realm = t
        .raw(
            Method::GET,
            &format!("/admin/realms/{}", t.realm),
            None,
            true,
        )
        .await;
    assert_eq!(realm.body["defaultGroups"], json!(["/top/kid b"]));
    assert_eq!(
        realm.body["defaultRole"]["name"],
        json!(format!("default-roles-{}", t.realm))
    );
    t.delete(&format!("/default-groups/{kid_b}"), None).await;
    t.delete(&format!("/groups/{top}"), None).await;
    t.delete(&format!("/groups/{many}"), None).await;
}

async fn role_updates_and_holders(t: &Target) {
    let a = t
        .post(
            "/roles",
            json!({"name": "r1", "description": "d1", "attributes": {"a": ["1"]}}),
        )
        .await;
    assert_eq!(a.status, 201);
    let r1 = t.get("/roles/r1").await.body;
    assert_eq!(r1["description"], "d1");
    assert_eq!(r1["attributes"], json!({"a": ["1"]}));
    let id = r1["id"].as_str().unwrap().to_owned();
    t.create_role("zeta").await;

    expect(
        &t.put("/roles/r1", json!({"description": "d2"})).await,
        400,
        json!({"error": "role has no name"}),
        "PUT without a name",
    );
    expect(
        &t.put("/roles/r1", json!({"name": " "})).await,
        400,
        json!({"error": "role has no name"}),
        "PUT with a blank name",
    );
    assert_eq!(
        t.put(
            "/roles/r1",
            json!({"name": "r1", "attributes": {"b": ["2"]}})
        )
        .await
        .status,
        204
    );
    let got = t.get("/roles/r1").await.body;
    assert!(
        got.get("description").is_none(),
        "a PUT without description drops it: {got}"
    );
    assert_eq!(got["attributes"], json!({"b": ["2"]}));
    assert_eq!(
        t.put("/roles/r1", json!({"name": "r1", "composite": true}))
            .await
            .status,
        204
    );
    let got = t.get("/roles/r1").await.body;
    assert_eq!(
        (&got["composite"], &got["attributes"]),
        (&json!(false), &json!({"b": ["2"]})),
        "the composite flag is ignored, attributes kept when absent"
    );
    assert_eq!(
        t.put(
            "/roles/r1",
            json!({"name": "r1b", "description": "renamed"})
        )
        .await
        .status,
        204
    );
    expect(
        &t.get("/roles/r1").await,
        404,
        json!({"error": "Could not find role"}),
        "old name",
    );
    assert_eq!(t.get("/roles/r1b").await.body["id"], json!(id));
    expect(
        &t.put("/roles/r1b", json!({"name": "zeta"})).await,
        409,
        json!({"error": "conflict", "error_description": "Duplicate resource error"}),
        "rename onto another role",
    );
    expect(
        &t.put("/roles/missing", json!({"name": "x"})).await,
        404,
        json!({"error": "Could not find role"}),
        "PUT a missing role",
    );

    // By id.
    assert_eq!(
        t.get(&format!("/roles-by-id/{id}")).await.body["name"],
        "r1b"
    );
    assert_eq!(
        t.put(
            &format!("/roles-by-id/{id}"),
            json!({"name": "r1c", "description": "by id"})
        )
        .await
        .status,
        204
    );
    assert_eq!(t.get("/roles/r1c").await.body["description"], "by id");
    expect(
        &t.put(&format!("/roles-by-id/{id}"), json!({"description": "x"}))
            .await,
        400,
        json!({"error": "role has no name"}),
        "PUT by id without a name",
    );
    expect(
        &t.put(&format!("/roles-by-id/{id}"), json!({"name": "zeta"}))
            .await,
        409,
        json!({"error": "conflict", "error_description": "Duplicate resource error"}),
        "rename by id onto another role",
    );
    for (method, body) in [
        (Method::GET, None),
        (Method::PUT, Some(json!({"name": "x"}))),
        (Method::DELETE, None),
    ] {
        expect(
            &t.admin(method.clone(), "/roles-by-id/missing", body.as_ref())
                .await,
            404,
            json!({"error": "Could not find role with id"}),
            &format!("{method} roles-by-id/missing"),
        );
    }

    // Holders.
    let rep = json!([{"id": id, "name": "r1c"}]);
    let mut users = Vec::new();
    for name in ["zed", "amy", "bob"] {
        let uid = t.create_user(name).await;
        t.post(&format!("/users/{uid}/role-mappings/realm"), rep.clone())
            .await;
        users.push(uid);
    }
    let member = t.create_user("member").await;
    let top = t.post("/groups", json!({"name": "top"})).await.created_id();
    let kid = t
        .post(&format!("/groups/{top}/children"), json!({"name": "kid"}))
        .await
        .created_id();
    let other = t
        .post("/groups", json!({"name": "other"}))
        .await
        .created_id();
    for g in [&top, &kid, &other] {
        t.post(&format!("/groups/{g}/role-mappings/realm"), rep.clone())
            .await;
    }
    t.put(&format!("/users/{member}/groups/{top}"), Value::Null)
        .await;
    let usernames = |a: &Answer| -> Vec<String> {
        a.body
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["username"].as_str().unwrap().to_owned())
            .collect()
    };
    let a = t.get("/roles/r1c/users").await;
    assert_eq!(
        usernames(&a),
        ["amy", "bob", "zed"],
        "direct holders, by username"
    );
    assert_eq!(a.body[0]["access"], json!({"manage": true}));
    assert_eq!(a.body[0]["totp"], false, "full by default");
    let a = t.get("/roles/r1c/users?briefRepresentation=true").await;
    assert!(a.body[0].get("totp").is_none(), "brief: {}", a.body[0]);
    let a = t.get("/roles/r1c/users?first=1&max=1").await;
    assert_eq!(usernames(&a), ["bob"]);
    let a = t.get("/roles/r1c/users?first=-1&max=-1").await;
    assert_eq!(usernames(&a).len(), 3);
    let a = t.get("/roles/r1c/groups").await;
    assert_eq!(
        a.body,
        json!([
            {"id": kid, "name": "kid", "path": "/top/kid", "parentId": top, "subGroups": []},
            {"id": other, "name": "other", "path": "/other", "subGroups": []},
            {"id": top, "name": "top", "path": "/top", "subGroups": []},
        ]),
        "groups holding the role, by name, brief"
    );
    let a = t.get("/roles/r1c/groups?briefRepresentation=false").await;
    assert_eq!(a.body[0]["realmRoles"], json!(["r1c"]));
    let a = t.get("/roles/r1c/groups?first=1&max=1").await;
    assert_eq!(a.names(), ["other"]);
    for path in ["/roles/missing/users", "/roles/missing/groups"] {
        expect(
            &t.get(path).await,
            404,
            json!({"error": "Could not find role"}),
            path,
        );
    }
    // Users read through the other list endpoints.
    let a = t.get("/users?username=amy&exact=true").await;
    assert_eq!(a.body[0]["access"], json!({"manage": true}));
    let a = t.get(&format!("/users/{}", users[1])).await;
    assert_eq!(
        a.body["access"],
        json!({"manageGroupMembership": true, "resetPassword": true, "view": true,
               "mapRoles": true, "impersonate": true, "manage": true})
    );
    let a = t.get(&format!("/groups/{top}/members")).await;
    assert_eq!(usernames(&a), ["member"]);
    assert!(a.body[0].get("access").is_none());

    for uid in users.iter().chain([&member]) {
        t.delete(&format!("/users/{uid}"), None).await;
    }
    for g in [&top, &other] {
        t.delete(&format!("/groups/{g}"), None).await;
    }
    assert_eq!(
        t.delete(&format!("/roles-by-id/{id}"), None).await.status,
        204
    );
    t.delete("/roles/zeta", None).await;
}

async fn role_locations(t: &Target) {
    for (name, segment) in [
        ("img:base notebook", "img:base%20notebook"),
        ("a/b", "a%2Fb"),
        ("ü-role", "%C3%BC-role"),
        ("x?y#z", "x%3Fy%23z"),
        ("p%20q", "p%2520q"),
        ("plus+semi;at@amp&eq=", "plus+semi;at@amp&eq="),
        ("ex!star*paren()'", "ex!star*paren()'"),
        ("brack[]{}|^`\"<>", "brack%5B%5D%7B%7D%7C%5E%60%22%3C%3E"),
    ] {
        let a = t.post("/roles", json!({ "name": name })).await;
        assert_eq!(a.status, 201, "create {name:?}: {}", a.body);
        assert_eq!(
            a.location(),
            t.url(&format!("/roles/{segment}")),
            "Location of role {name:?}"
        );
        let got = t.get(&format!("/roles/{}", enc(name))).await;
        assert_eq!(got.body["name"], name);
        assert_eq!(
            t.delete(&format!("/roles/{}", enc(name)), None)
                .await
                .status,
            204
        );
    }
    expect(
        &t.post("/roles", json!({})).await,
        400,
        json!({"error": "role has no name"}),
        "POST roles without a name",
    );
    let a = t.post("/roles", json!({"name": ""})).await;
    assert_eq!(a.status, 201, "Keycloak creates a role with an empty name");
    assert_eq!(
        a.location(),
        t.url("/roles"),
        "no trailing `/` for an empty name"
    );
    let a = t.post("/roles", json!({"name": ""})).await;
    expect(
        &a,
        409,
        json!({"errorMessage": "Role with name  already exists"}),
        "a second empty name",
    );
    // Client roles and users are named the same way.
    let client = t
        .post("/clients", json!({"clientId": "loc-client"}))
        .await
        .created_id();
    let a = t
        .post(
            &format!("/clients/{client}/roles"),
            json!({"name": "img:x y"}),
        )
        .await;
    assert_eq!(
        a.location(),
        t.url(&format!("/clients/{client}/roles/img:x%20y"))
    );
    expect(
        &t.post(&format!("/clients/{client}/roles"), json!({})).await,
        400,
        json!({"error": "role has no name"}),
        "client role without a name",
    );
    t.delete(&format!("/clients/{client}"), None).await;
}

async fn client_scope_mappings(t: &Target) {
    let client = t
        .post(
            "/clients",
            json!({"clientId": "scoped", "fullScopeAllowed": false}),
        )
        .await
        .created_id();
    let rm = t.get("/clients?clientId=realm-management").await.body[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let role = t.create_role("img:scoped").await;
    let base = format!("/clients/{client}/scope-mappings");

    expect(&t.get(&base).await, 200, json!({}), "no scope mappings");
    expect(
        &t.get(&format!("{base}/realm")).await,
        200,
        json!([]),
        "realm",
    );
    expect(
        &t.get(&format!("{base}/realm/composite")).await,
        200,
        json!([]),
        "realm composite",
    );
    assert!(
        t.get(&format!("{base}/realm/available"))
            .await
            .names()
            .contains(&"img:scoped".to_owned())
    );
    expect(
        &t.get(&format!("{base}/clients/{rm}")).await,
        200,
        json!([]),
        "client",
    );

    expect(
        &t.post(
            &format!("{base}/realm"),
            json!([{"id": "missing", "name": "img:scoped"}]),
        )
        .await,
        404,
        json!({"error": "Role not found"}),
        "a realm role is looked up by id",
    );
    expect(
        &t.post(&format!("{base}/realm"), json!([{"name": "img:scoped"}]))
            .await,
        500,
        json!({"error": "unknown_error", "error_description": "For more on this error consult the server log."}),
        "a realm role without id",
    );
    assert_eq!(
        t.post(
            &format!("{base}/realm"),
            json!([{"id": role["id"], "name": "ignored"}])
        )
        .await
        .status,
        204
    );
    expect(
        &t.post(
            &format!("{base}/clients/{rm}"),
            json!([{"name": "missing"}]),
        )
        .await,
        404,
        json!({"error": "Role not found"}),
        "a client role is looked up by name",
    );
    assert_eq!(
        t.post(
            &format!("{base}/clients/{rm}"),
            json!([{"id": "ignored", "name": "realm-admin"}])
        )
        .await
        .status,
        204
    );
    let a = t.get(&base).await;
    assert_eq!(a.body["realmMappings"][0]["name"], "img:scoped");
    assert_eq!(
        a.body["clientMappings"]["realm-management"]["mappings"][0]["name"],
        "realm-admin"
    );
    assert_eq!(
        (
            &a.body["clientMappings"]["realm-management"]["id"],
            &a.body["clientMappings"]["realm-management"]["client"]
        ),
        (&json!(rm), &json!("realm-management"))
    );
    assert_eq!(
        t.get(&format!("{base}/realm")).await.names(),
        ["img:scoped"]
    );
    assert_eq!(
        t.get(&format!("{base}/realm/composite")).await.names(),
        ["img:scoped"]
    );
    assert!(
        !t.get(&format!("{base}/realm/available"))
            .await
            .names()
            .contains(&"img:scoped".to_owned())
    );
    assert_eq!(
        t.get(&format!("{base}/clients/{rm}")).await.names(),
        ["realm-admin"]
    );
    assert!(
        t.get(&format!("{base}/clients/{rm}/composite"))
            .await
            .names()
            .contains(&"realm-admin".to_owned())
    );
    assert!(
        !t.get(&format!("{base}/clients/{rm}/available"))
            .await
            .names()
            .contains(&"realm-admin".to_owned())
    );

    expect(
        &t.delete(&format!("{base}/realm"), Some(json!([{"id": "missing"}])))
            .await,
        404,
        json!({"error": "Role not found"}),
        "remove an unknown realm role",
    );
    assert_eq!(
        t.delete(&format!("{base}/realm"), Some(json!([{"id": role["id"]}])))
            .await
            .status,
        204
    );
    assert_eq!(
        t.delete(&format!("{base}/realm"), Some(json!([{"id": role["id"]}])))
            .await
            .status,
        204,
        "removing a mapping that is not there is fine"
    );
    assert_eq!(
        t.delete(
            &format!("{base}/clients/{rm}"),
            Some(json!([{"name": "realm-admin"}]))
        )
        .await
        .status,
        204
    );
    expect(&t.get(&base).await, 200, json!({}), "all removed");
    for path in [
        "/clients/missing/scope-mappings".to_owned(),
        "/clients/missing/scope-mappings/realm".to_owned(),
        format!("{base}/clients/missing"),
    ] {
        expect(
            &t.get(&path).await,
            404,
            json!({"error": "Could not find client"}),
            &path,
        );
    }
    t.delete(&format!("/clients/{client}"), None).await;
    t.delete("/roles/img:scoped", None).await;
}

#[tokio::test]
async fn admin_rest_face_answers_as_keycloak_on_the_fake() {
    let kc = FakeKeycloak::builder()
        .admin_password("masterpw")
        .build()
        .unwrap();
    let server = kc
        .serve(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap())
        .unwrap();
    let base: Url = server.url().parse().unwrap();
    let target = Target::new(&base, "admin", "masterpw").await;
    run(&target).await;
    server.shutdown().await;
}
