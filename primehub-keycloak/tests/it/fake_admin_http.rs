//! The fake's admin REST API over HTTP: auth, status codes, Location headers, shapes.
//!
//! The requests go to the fake's axum router in process (`tower::ServiceExt::oneshot`): what is
//! tested is the HTTP face (routes, status codes, headers, JSON), which needs no socket.
#![cfg(feature = "fake")]
#![allow(clippy::unwrap_used)]

use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use primehub_keycloak::fake::{BootstrapOptions, FakeKeycloak, FakeSigningKey};
use primehub_keycloak::{KeycloakAdmin, NewUser};
use serde_json::{Value, json};
use tower::ServiceExt;

/// The public URL the fake names in `Location` headers (nothing listens there).
const BASE_URL: &str = "http://keycloak.test";

fn key() -> FakeSigningKey {
    static KEY: OnceLock<FakeSigningKey> = OnceLock::new();
    KEY.get_or_init(|| FakeSigningKey::generate().unwrap())
        .clone()
}

/// One answer of the router: status, headers and the JSON body (`Null` when empty).
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

/// Sends one request to `router` in process: `token` as a bearer token, `body` as JSON.
async fn call(
    router: &Router,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Reply {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let request = match body {
        Some(body) => request
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(serde_json::to_vec(body).unwrap())),
        None => request.body(Body::empty()),
    }
    .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    Reply {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

struct Env {
    kc: FakeKeycloak,
    router: Router,
    admin: String,
}

async fn env() -> Env {
    let kc = FakeKeycloak::builder()
        .signing_key(key())
        .admin_password("masterpw")
        .build()
        .unwrap();
    let router = kc.router(BASE_URL);
    kc.bootstrap_primehub(
        "primehub",
        &BootstrapOptions {
            admin_password: "adminpw".into(),
            ..BootstrapOptions::default()
        },
    )
    .await
    .unwrap();
    let admin = kc
        .realm("primehub")
        .unwrap()
        .issue_tokens("phadmin", "admin-cli", None)
        .unwrap()
        .access_token;
    Env { kc, router, admin }
}

impl Env {
    /// The path of `path` under the realm's admin API.
    fn path(&self, path: &str) -> String {
        format!("/admin/realms/primehub{path}")
    }

    /// The public URL of `path` under the realm's admin API (as in `Location` headers).
    fn url(&self, path: &str) -> String {
        format!("{BASE_URL}{}", self.path(path))
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let reply = call(
            &self.router,
            Method::GET,
            &self.path(path),
            Some(&self.admin),
            None,
        )
        .await;
        (reply.status, reply.body)
    }

    async fn send(&self, method: Method, path: &str, body: Value) -> Reply {
        call(
            &self.router,
            method,
            &self.path(path),
            Some(&self.admin),
            Some(&body),
        )
        .await
    }
}

#[tokio::test]
async fn admin_routes_need_an_admin_token() {
    let env = env().await;
    let users = env.path("/users");
    let resp = call(&env.router, Method::GET, &users, None, None).await;
    assert_eq!(resp.status, 401);
    let resp = call(&env.router, Method::GET, &users, Some("not-a-jwt"), None).await;
    assert_eq!(resp.status, 401);

    let realm = env.kc.realm("primehub").unwrap();
    realm
        .create_user(&NewUser {
            username: "plain".into(),
            enabled: true,
            password: Some("pw".into()),
            ..NewUser::default()
        })
        .await
        .unwrap();
    let plain = realm
        .token_password("admin-cli", None, "plain", "pw", None)
        .unwrap()
        .access_token;
    let resp = call(&env.router, Method::GET, &users, Some(&plain), None).await;
    assert_eq!(resp.status, 403);

    // The master super-admin may administer any realm; a realm admin only their own.
    let master = env
        .kc
        .realm("master")
        .unwrap()
        .token_password("admin-cli", None, "admin", "masterpw", None)
        .unwrap()
        .access_token;
    let resp = call(
        &env.router,
        Method::GET,
        &env.path("/groups"),
        Some(&master),
        None,
    )
    .await;
    assert_eq!(resp.status, 200);
    let other = json!({"realm": "other", "enabled": true});
    let resp = call(
        &env.router,
        Method::POST,
        "/admin/realms",
        Some(&env.admin),
        Some(&other),
    )
    .await;
    assert_eq!(resp.status, 403);
    let resp = call(
        &env.router,
        Method::POST,
        "/admin/realms",
        Some(&master),
        Some(&other),
    )
    .await;
    assert_eq!(resp.status, 201);
    assert_eq!(
        resp.headers["location"],
        format!("{BASE_URL}/admin/realms/other").as_str()
    );
    let resp = call(
        &env.router,
        Method::POST,
        "/admin/realms",
        Some(&master),
        Some(&other),
    )
    .await;
    assert_eq!(resp.status, 409);
    let resp = call(
        &env.router,
        Method::GET,
        "/admin/realms/other/users",
        Some(&env.admin),
        None,
    )
    .await;
    assert_eq!(resp.status, 403);
}

#[tokio::test]
async fn users_create_conflict_search_and_count() {
    let env = env().await;
    let resp = env
        .send(
            Method::POST,
            "/users",
            json!({"username": "Bob", "email": "Bob@Example.com", "enabled": true,
                   "attributes": {"volumeCapacity": ["20G"]},
                   "credentials": [{"type": "password", "value": "bobpw", "temporary": false}]}),
        )
        .await;
    assert_eq!(resp.status, 201);
    let location = resp.headers["location"].to_str().unwrap().to_owned();
    let id = location.rsplit('/').next().unwrap().to_owned();
    assert_eq!(location, env.url(&format!("/users/{id}")));

    let resp = env
        .send(Method::POST, "/users", json!({"username": "bob"}))
        .await;
    assert_eq!(resp.status, 409);
    let body = resp.body;
    assert_eq!(body["errorMessage"], "User exists with same username");
    let resp = env
        .send(
            Method::POST,
            "/users",
            json!({"username": "bobby", "email": "bob@example.com"}),
        )
        .await;
    assert_eq!(resp.status, 409);

    let (status, user) = env.get(&format!("/users/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(user["username"], "bob");
    assert_eq!(user["email"], "bob@example.com");
    assert_eq!(user["attributes"]["volumeCapacity"][0], "20G");
    let (status, _) = env.get("/users/nope").await;
    assert_eq!(status, 404);

    // `search` is prefix by default, `*x*` infix, `"x"` exact; service accounts excluded.
    let (_, found) = env.get("/users?search=bo").await;
    assert_eq!(found.as_array().unwrap().len(), 1);
    let (_, found) = env.get("/users?search=ob").await;
    assert_eq!(found.as_array().unwrap().len(), 0);
    let (_, found) = env.get("/users?search=*ob*").await;
    assert_eq!(found.as_array().unwrap().len(), 1);
    let (_, found) = env.get("/users?search=*account*").await;
    assert_eq!(found.as_array().unwrap().len(), 0);
    let (_, found) = env.get("/users?username=BOB&exact=true").await;
    assert_eq!(found[0]["id"], id.as_str());
    let (_, found) = env
        .get("/users?username=service-account-admin-ui&exact=true")
        .await;
    assert_eq!(found.as_array().unwrap().len(), 1);
    let (_, count) = env.get("/users/count").await;
    assert_eq!(count, 2); // phadmin + bob
    let (_, page) = env.get("/users?first=1&max=1").await;
    assert_eq!(page[0]["username"], "phadmin");

    // Password set on create works for a grant.
    let realm = env.kc.realm("primehub").unwrap();
    assert!(
        realm
            .token_password("admin-cli", None, "bob", "bobpw", None)
            .is_ok()
    );
    let resp = env
        .send(
            Method::PUT,
            &format!("/users/{id}/reset-password"),
            json!({"type": "password", "value": "newpw", "temporary": false}),
        )
        .await;
    assert_eq!(resp.status, 204);
    assert!(
        realm
            .token_password("admin-cli", None, "bob", "newpw", None)
            .is_ok()
    );

    let resp = env
        .send(
            Method::PUT,
            &format!("/users/{id}"),
            json!({"firstName": "Robert", "enabled": false}),
        )
        .await;
    assert_eq!(resp.status, 204);
    let (_, user) = env.get(&format!("/users/{id}")).await;
    assert_eq!(user["firstName"], "Robert");
    assert_eq!(user["enabled"], false);
    assert_eq!(user["attributes"]["volumeCapacity"][0], "20G");

    let resp = env
        .send(Method::DELETE, &format!("/users/{id}"), Value::Null)
        .await;
    assert_eq!(resp.status, 204);
    let (status, _) = env.get(&format!("/users/{id}")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn groups_roles_mappings_and_default_groups() {
    let env = env().await;
    let resp = env
        .send(
            Method::POST,
            "/groups",
            json!({"name": "team-a", "attributes": {"quota-cpu": ["1"]}}),
        )
        .await;
    assert_eq!(resp.status, 201);
    let gid = resp.headers["location"]
        .to_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let resp = env
        .send(Method::POST, "/groups", json!({"name": "team-a"}))
        .await;
    assert_eq!(resp.status, 409);
    let body = resp.body;
    assert_eq!(
        body["errorMessage"],
        "Top level group named 'team-a' already exists."
    );

    let (_, brief) = env.get("/groups?search=team").await;
    assert_eq!(brief[0]["name"], "team-a");
    assert!(brief[0].get("attributes").is_none(), "brief by default");
    let (_, full) = env
        .get("/groups?search=team&briefRepresentation=false")
        .await;
    assert_eq!(full[0]["attributes"]["quota-cpu"][0], "1");
    let (_, count) = env.get("/groups/count").await;
    assert_eq!(count, json!({"count": 3}), "everyone, phusers, team-a");
    let (_, g) = env.get(&format!("/groups/{gid}")).await;
    assert_eq!(g["path"], "/team-a");

    // Roles: create, conflict, mapping requires id + name.
    let resp = env
        .send(Method::POST, "/roles", json!({"name": "img:base"}))
        .await;
    assert_eq!(resp.status, 201);
    assert_eq!(
        resp.headers["location"].to_str().unwrap(),
        env.url("/roles/img:base"),
        "Keycloak keeps `:` in the role's URL"
    );
    let resp = env
        .send(Method::POST, "/roles", json!({"name": "img:base"}))
        .await;
    assert_eq!(resp.status, 409);
    let (status, role) = env.get("/roles/img:base").await;
    assert_eq!(status, 200);
    let role_id = role["id"].as_str().unwrap().to_owned();
    let (status, _) = env.get("/roles/img:none").await;
    assert_eq!(status, 404);

    let path = format!("/groups/{gid}/role-mappings/realm");
    let resp = env
        .send(Method::POST, &path, json!([{"name": "img:base"}]))
        .await;
    assert_eq!(resp.status, 404, "Keycloak wants the role id too");
    let resp = env
        .send(
            Method::POST,
            &path,
            json!([{"id": role_id, "name": "img:base"}]),
        )
        .await;
    assert_eq!(resp.status, 204);
    let (_, mapped) = env.get(&path).await;
    assert_eq!(mapped[0]["name"], "img:base");
    let resp = env
        .send(
            Method::DELETE,
            &path,
            json!([{"id": role_id, "name": "img:base"}]),
        )
        .await;
    assert_eq!(resp.status, 204);
    let (_, mapped) = env.get(&path).await;
    assert_eq!(mapped, json!([]));

    // Membership and default groups.
    let realm = env.kc.realm("primehub").unwrap();
    let phadmin = realm
        .find_user_by_username("phadmin")
        .await
        .unwrap()
        .unwrap();
    let resp = env
        .send(
            Method::PUT,
            &format!("/users/{}/groups/{gid}", phadmin.id),
            Value::Null,
        )
        .await;
    assert_eq!(resp.status, 204);
    let (_, members) = env.get(&format!("/groups/{gid}/members")).await;
    assert_eq!(members[0]["username"], "phadmin");
    let (_, groups) = env.get(&format!("/users/{}/groups", phadmin.id)).await;
    let names: Vec<_> = groups
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["everyone", "phusers", "team-a"]);
    let (_, defaults) = env.get("/default-groups").await;
    assert_eq!(defaults[0]["name"], "everyone");
    let resp = env
        .send(Method::PUT, "/default-groups/nope", Value::Null)
        .await;
    assert_eq!(resp.status, 404);

    let resp = env
        .send(Method::DELETE, &format!("/groups/{gid}"), Value::Null)
        .await;
    assert_eq!(resp.status, 204);
}

#[tokio::test]
async fn clients_client_roles_offline_sessions_and_consents() {
    let env = env().await;
    let (_, clients) = env.get("/clients?clientId=realm-management").await;
    let rm = clients[0]["id"].as_str().unwrap().to_owned();
    let (status, role) = env.get(&format!("/clients/{rm}/roles/realm-admin")).await;
    assert_eq!(status, 200);
    let (_, ui) = env.get("/clients?clientId=admin-ui").await;
    let ui_id = ui[0]["id"].as_str().unwrap().to_owned();
    let (_, secret) = env.get(&format!("/clients/{ui_id}/client-secret")).await;
    assert_eq!(secret["type"], "secret");

    let resp = env
        .send(
            Method::POST,
            "/users",
            json!({"username": "carol", "enabled": true,
                   "credentials": [{"type": "password", "value": "pw"}]}),
        )
        .await;
    let uid = resp.headers["location"]
        .to_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let mapping = format!("/users/{uid}/role-mappings/clients/{rm}");
    let resp = env
        .send(
            Method::POST,
            &mapping,
            json!([{"id": role["id"], "name": "realm-admin"}]),
        )
        .await;
    assert_eq!(resp.status, 204);
    let (_, composite) = env.get(&format!("{mapping}/composite")).await;
    // Effective: realm-admin and the 21 realm-management roles it contains.
    let names: Vec<&str> = composite
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert!(names.contains(&"realm-admin"), "{names:?}");
    assert!(names.contains(&"manage-users"), "{names:?}");
    assert_eq!(names.len(), 22, "{names:?}");
    let realm = env.kc.realm("primehub").unwrap();
    assert!(realm.is_admin(&uid).await.unwrap());
    let resp = env
        .send(
            Method::DELETE,
            &mapping,
            json!([{"id": role["id"], "name": "realm-admin"}]),
        )
        .await;
    assert_eq!(resp.status, 204);
    assert!(!realm.is_admin(&uid).await.unwrap());

    // Offline sessions by client UUID; consents revoked by clientId.
    let secret = secret["value"].as_str().unwrap();
    realm
        .token_password(
            "admin-ui",
            Some(secret),
            "carol",
            "pw",
            Some("offline_access"),
        )
        .unwrap();
    let (status, sessions) = env
        .get(&format!("/users/{uid}/offline-sessions/{ui_id}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(sessions.as_array().unwrap().len(), 1);
    assert_eq!(sessions[0]["username"], "carol");
    assert_eq!(sessions[0]["clients"][&ui_id], "admin-ui");
    let resp = env
        .send(
            Method::DELETE,
            &format!("/users/{uid}/consents/admin-ui"),
            Value::Null,
        )
        .await;
    assert_eq!(resp.status, 204);
    let resp = env
        .send(
            Method::DELETE,
            &format!("/users/{uid}/consents/admin-ui"),
            Value::Null,
        )
        .await;
    assert_eq!(resp.status, 404, "nothing left to revoke");
    let (_, sessions) = env
        .get(&format!("/users/{uid}/offline-sessions/{ui_id}"))
        .await;
    assert_eq!(sessions, json!([]));

    // User profile keeps unmanagedAttributePolicy.
    let (_, profile) = env.get("/users/profile").await;
    assert_eq!(profile["unmanagedAttributePolicy"], "ENABLED");

    // Creating a client with a service account.
    let resp = env
        .send(
            Method::POST,
            "/clients",
            json!({"clientId": "svc", "publicClient": false, "serviceAccountsEnabled": true}),
        )
        .await;
    assert_eq!(resp.status, 201);
    let resp = env
        .send(Method::POST, "/clients", json!({"clientId": "svc"}))
        .await;
    assert_eq!(resp.status, 409);
    let (_, svc) = env.get("/clients?clientId=svc").await;
    let svc_id = svc[0]["id"].as_str().unwrap();
    let (status, sa) = env
        .get(&format!("/clients/{svc_id}/service-account-user"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(sa["username"], "service-account-svc");
}

/// The shapes of the issue-7 routes, as Keycloak 26.7 answered the same requests.
#[tokio::test]
async fn realm_settings_mail_credentials_and_admin_events_shapes() {
    let env = env().await;
    let realm = env.kc.realm("primehub").unwrap();

    // The SMTP password is stored but shown masked; a sender is required.
    let resp = env
        .send(
            Method::PUT,
            "",
            json!({"displayName": "Hub", "adminEventsEnabled": true,
                   "smtpServer": {"host": "127.0.0.1", "port": "2525", "from": "a@b.c",
                                  "auth": "true", "user": "u", "password": "p"}}),
        )
        .await;
    assert_eq!(resp.status, 204);
    let (status, body) = env.get("").await;
    assert_eq!(status, 200);
    assert_eq!(body["displayName"], "Hub");
    assert_eq!(body["smtpServer"]["password"], "**********");
    assert_eq!(body["smtpServer"]["port"], "2525");
    assert_eq!(body["adminEventsEnabled"], true);
    let resp = env
        .send(Method::PUT, "", json!({"smtpServer": {"host": "x"}}))
        .await;
    assert_eq!(resp.status, 400);
    let body = resp.body;
    assert!(
        body["errorMessage"]
            .as_str()
            .unwrap()
            .starts_with("Invalid sender address 'null'."),
        "{body}"
    );

    // Execute-actions e-mail: bare errorMessages, 204 when sent.
    let id = realm
        .create_user(&NewUser {
            username: "mailless".into(),
            enabled: true,
            ..NewUser::default()
        })
        .await
        .unwrap();
    let path = format!("/users/{id}/execute-actions-email");
    let resp = env
        .send(Method::PUT, &path, json!(["UPDATE_PASSWORD"]))
        .await;
    assert_eq!(resp.status, 400);
    assert_eq!(resp.body, json!({"errorMessage": "User email missing"}));
    let resp = env
        .send(
            Method::PUT,
            &format!("/users/{id}"),
            json!({"email": "m@example.com"}),
        )
        .await;
    assert_eq!(resp.status, 204);
    let resp = env.send(Method::PUT, &path, json!(["BOGUS"])).await;
    assert_eq!(
        resp.body,
        json!({"errorMessage": "Provided invalid required actions"})
    );
    let resp = env
        .send(
            Method::PUT,
            &format!("{path}?lifespan=600"),
            json!(["VERIFY_EMAIL"]),
        )
        .await;
    assert_eq!(resp.status, 204);
    let sent = realm.sent_emails().unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].to.as_str(), sent[0].lifespan),
        ("m@example.com", 600)
    );

    // Credentials, and a public client's secret.
    realm.add_otp_credential("mailless", Some("phone")).unwrap();
    let (status, creds) = env.get(&format!("/users/{id}/credentials")).await;
    assert_eq!(status, 200);
    assert_eq!(creds[0]["type"], "otp");
    assert_eq!(creds[0]["userLabel"], "phone");
    assert!(creds[0]["createdDate"].is_i64());
    let (_, user) = env.get(&format!("/users/{id}")).await;
    assert_eq!(user["totp"], true);
    let cred = creds[0]["id"].as_str().unwrap().to_owned();
    let resp = env
        .send(
            Method::DELETE,
            &format!("/users/{id}/credentials/{cred}"),
            Value::Null,
        )
        .await;
    assert_eq!(resp.status, 204);
    let resp = env
        .send(
            Method::DELETE,
            &format!("/users/{id}/credentials/{cred}"),
            Value::Null,
        )
        .await;
    assert_eq!(resp.status, 404);
    assert_eq!(resp.body["error"], "Credential not found");
    let cli = realm.client_uuid("admin-cli").unwrap();
    assert_eq!(
        env.get(&format!("/clients/{cli}/client-secret")).await,
        (StatusCode::OK, json!({"type": "secret"}))
    );

    // Admin events: newest first, Keycloak's field names, dateFrom as a date or epoch ms.
    let (status, events) = env.get("/admin-events?dateFrom=2020-01-01").await;
    assert_eq!(status, 200);
    let events = events.as_array().unwrap().clone();
    assert_eq!(events[0]["operationType"], "ACTION");
    assert_eq!(
        events[0]["resourcePath"],
        format!("users/{id}/credentials/{cred}")
    );
    assert!(events[0]["authDetails"]["userId"].is_string());
    assert!(events.iter().any(|e| e["resourceType"] == "USER"
        && e["resourcePath"] == format!("users/{id}/execute-actions-email")));
    let after = events[0]["time"].as_i64().unwrap() + 1;
    assert_eq!(
        env.get(&format!("/admin-events?dateFrom={after}")).await,
        (StatusCode::OK, json!([]))
    );
    let (status, body) = env.get("/admin-events?dateFrom=garbage").await;
    assert_eq!(status, 400);
    assert_eq!(
        body["error"],
        "Invalid value for 'dateFrom', expected format is yyyy-MM-dd or an Epoch timestamp"
    );
}
