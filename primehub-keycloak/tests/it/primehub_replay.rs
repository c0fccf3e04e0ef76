//! A realm set up the way PrimeHub's own bootstrap sets it up — `chart/scripts/bootstrap/
//! bootstrap.sh` with `keycloak.inc` (InfuseAI/primehub), its `kcadm` calls replayed as the admin
//! REST calls they make — and then our bootstrap run over it: it must change nothing PrimeHub
//! set and add no duplicate mapper, except what the bootstrap's module docs name as deliberate
//! (the user profile's unmanaged attributes).
//!
//! The replay and the comparison are shared: the fake Keycloak's HTTP face runs them here, the
//! real Keycloak in `real_keycloak.rs`.

use std::collections::BTreeMap;

use primehub_keycloak::bootstrap::{BootstrapOutcome, RealmBootstrap, bootstrap_realm};
use primehub_keycloak::fake::FakeKeycloak;
use primehub_keycloak::http::{Credentials, HttpKeycloak, HttpKeycloakConfig};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use url::Url;

/// The redirect URIs the chart passes (`ADMIN_UI_REDIRECT_URI`, `JUPYTERHUB_REDIRECT_URI`).
pub const ADMIN_UI_REDIRECT: &str = "https://hub.example.com/console/*";
/// See [`ADMIN_UI_REDIRECT`].
pub const JUPYTERHUB_REDIRECT: &str = "https://hub.example.com/hub/oauth_callback";
/// PrimeHub's administrator and the password the test gives it (`PH_PASSWORD`).
pub const PH_USER: &str = "phadmin";
/// See [`PH_USER`].
pub const PH_PASSWORD: &str = "Ph-Replay-Passw0rd";

/// The admin REST API called as `kcadm` calls it, with a master-realm administrator's token.
pub struct Kcadm {
    http: reqwest::Client,
    base: Url,
    admin: String,
    password: String,
    token: String,
}

/// A plain HTTP client (http only; the test servers do not use TLS).
pub(crate) fn http() -> reqwest::Client {
    let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("tls versions")
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .build()
        .expect("reqwest client")
}

impl Kcadm {
    /// `kcadm config credentials --realm master --user <admin> --password <password>`.
    pub async fn login(base: &Url, admin: &str, password: &str) -> Kcadm {
        let mut kcadm = Kcadm {
            http: http(),
            base: base.clone(),
            admin: admin.to_owned(),
            password: password.to_owned(),
            token: String::new(),
        };
        kcadm.relogin().await;
        kcadm
    }

    /// A fresh token (the master realm's access tokens live a minute).
    pub async fn relogin(&mut self) {
        let url = self
            .base
            .join("realms/master/protocol/openid-connect/token")
            .expect("token url");
        let response = self
            .http
            .post(url)
            .form(&[
                ("grant_type", "password"),
                ("client_id", "admin-cli"),
                ("username", self.admin.as_str()),
                ("password", self.password.as_str()),
            ])
            .send()
            .await
            .expect("master token request");
        assert!(response.status().is_success(), "master login");
        let body: Value = response.json().await.expect("token json");
        self.token = body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned();
    }

    /// `<method> /admin/realms/<path>`: the status, the JSON body (`Null` when empty) and the
    /// id at the end of `Location`.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value, Option<String>) {
        let url = if path.is_empty() {
            self.base.join("admin/realms")
        } else {
            self.base.join(&format!("admin/realms/{path}"))
        }
        .expect("admin url");
        let mut request = self
            .http
            .request(method.clone(), url)
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("admin request");
        let status = response.status();
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .and_then(|l| l.rsplit('/').next())
            .map(str::to_owned);
        let text = response.text().await.expect("admin body");
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, json, location)
    }

    /// A call that must succeed; its JSON body.
    async fn ok(&self, method: Method, path: &str, body: Option<&Value>) -> Value {
        let (status, json, _) = self.call(method.clone(), path, body).await;
        assert!(status.is_success(), "{method} {path}: {status}: {json}");
        json
    }

    async fn get(&self, path: &str) -> Value {
        self.ok(Method::GET, path, None).await
    }

    /// `kcadm create … --id`: the new object's id.
    async fn create(&self, path: &str, body: &Value) -> String {
        let (status, json, id) = self.call(Method::POST, path, Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "POST {path}: {json}");
        id.expect("Location of the created object")
    }

    async fn client_uuid(&self, realm: &str, client_id: &str) -> String {
        let found = self
            .get(&format!("{realm}/clients?clientId={client_id}"))
            .await;
        found[0]["id"].as_str().expect("client id").to_owned()
    }

    async fn role_ref(&self, path: &str) -> Value {
        let role = self.get(path).await;
        json!({ "id": role["id"], "name": role["name"] })
    }
}

/// What the replay set up.
#[derive(Debug)]
pub struct Replayed {
    /// `kc_client_get_secret … admin-ui`.
    pub admin_ui_secret: String,
    /// `kc_client_get_secret … jupyterhub`.
    pub jupyterhub_secret: String,
    /// `PH_GROUP_EVERYONE_ID`.
    pub everyone_id: String,
    /// `PH_ADMIN_USER_ID`.
    pub phadmin_id: String,
}

/// `client-admin-ui.json`.
fn client_admin_ui() -> Value {
    json!({
        "clientId": "admin-ui",
        "enabled": true,
        "clientAuthenticatorType": "client-secret",
        "redirectUris": [],
        "webOrigins": [],
        "publicClient": false,
        "serviceAccountsEnabled": true,
        "protocol": "openid-connect",
        "fullScopeAllowed": false,
    })
}

/// `client-jupyterhub.json`, mappers written out as in the file.
fn client_jupyterhub() -> Value {
    let mapper = |name: &str, kind: &str, config: Value| {
        json!({
            "name": name,
            "protocol": "openid-connect",
            "protocolMapper": kind,
            "consentRequired": false,
            "config": config,
        })
    };
    json!({
        "clientId": "jupyterhub",
        "enabled": true,
        "clientAuthenticatorType": "client-secret",
        "redirectUris": [],
        "webOrigins": [],
        "publicClient": false,
        "protocol": "openid-connect",
        "protocolMappers": [
            mapper("roles", "oidc-usermodel-realm-role-mapper", json!({
                "userinfo.token.claim": "true", "multivalued": "true", "id.token.claim": "true",
                "access.token.claim": "true", "claim.name": "roles", "jsonType.label": "String",
            })),
            mapper("project-quota-gpu", "oidc-usermodel-attribute-mapper", json!({
                "userinfo.token.claim": "true", "user.attribute": "project-quota-gpu",
                "id.token.claim": "true", "access.token.claim": "true",
                "claim.name": "project-quota.gpu", "jsonType.label": "int",
            })),
            mapper("quota-gpu", "oidc-usermodel-attribute-mapper", json!({
                "userinfo.token.claim": "true", "user.attribute": "quota-gpu",
                "id.token.claim": "true", "access.token.claim": "true",
                "claim.name": "quota.gpu", "jsonType.label": "int",
            })),
            mapper("username", "oidc-usermodel-property-mapper", json!({
                "userinfo.token.claim": "true", "user.attribute": "username",
                "id.token.claim": "true", "access.token.claim": "true",
                "claim.name": "preferred_username", "jsonType.label": "String",
            })),
            mapper("email", "oidc-usermodel-property-mapper", json!({
                "userinfo.token.claim": "true", "user.attribute": "email",
                "id.token.claim": "true", "access.token.claim": "true",
                "claim.name": "email", "jsonType.label": "String",
            })),
            mapper("groups", "oidc-group-membership-mapper", json!({
                "full.path": "true", "id.token.claim": "true", "access.token.claim": "true",
                "claim.name": "groups", "userinfo.token.claim": "true",
            })),
            mapper("timezone", "oidc-usermodel-attribute-mapper", json!({
                "userinfo.token.claim": "true", "user.attribute": "timezone",
                "id.token.claim": "true", "access.token.claim": "true",
                "claim.name": "timezone", "jsonType.label": "String",
            })),
        ],
    })
}

/// The maintenance-proxy client (PrimeHub's admin notebook, which we do not ship): a client our
/// bootstrap knows nothing of and must leave alone.
fn client_maintenance_proxy() -> Value {
    json!({
        "clientId": "maintenance-proxy",
        "enabled": true,
        "clientAuthenticatorType": "client-secret",
        "redirectUris": [],
        "publicClient": false,
        "protocol": "openid-connect",
        "protocolMappers": [{
            "name": "maintenance-proxy-audience",
            "protocol": "openid-connect",
            "protocolMapper": "oidc-audience-mapper",
            "consentRequired": false,
            "config": {
                "included.client.audience": "maintenance-proxy",
                "id.token.claim": "false",
                "access.token.claim": "true",
            },
        }],
    })
}

/// `kc_apply_client`: create from the file, add the file's mappers missing by name (none on a
/// fresh client: the file creates them), add the redirect URI (`kcadm update -s
/// redirectUris+=…`: read, append, write back).
async fn kc_apply_client(kcadm: &Kcadm, realm: &str, file: Value, redirect: &str) -> String {
    let client_id = file["clientId"].as_str().expect("clientId").to_owned();
    let id = kcadm.create(&format!("{realm}/clients"), &file).await;
    let mut client = kcadm.get(&format!("{realm}/clients/{id}")).await;
    let mut uris = client["redirectUris"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    uris.push(json!(redirect));
    client["redirectUris"] = Value::Array(uris);
    kcadm
        .ok(Method::PUT, &format!("{realm}/clients/{id}"), Some(&client))
        .await;
    assert_eq!(kcadm.client_uuid(realm, &client_id).await, id);
    id
}

/// `bootstrap.sh`'s `update` and `create_default_resources` on a new realm.
pub async fn replay_primehub_bootstrap(kcadm: &mut Kcadm, realm: &str) -> Replayed {
    kcadm.relogin().await;
    // update_realm
    let (status, body, _) = kcadm
        .call(
            Method::POST,
            "",
            Some(&json!({ "realm": realm, "enabled": true })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "create realm: {body}");

    // update_group_everyone: kc_group_create with group-everyone.json, kc_group_default.
    let everyone_id = kcadm
        .create(
            &format!("{realm}/groups"),
            &json!({
                "name": "everyone",
                "attributes": {
                    "displayName": ["Global"],
                    "quota-cpu": ["0"],
                    "quota-gpu": ["0"],
                },
            }),
        )
        .await;
    kcadm
        .ok(
            Method::PUT,
            &format!("{realm}/default-groups/{everyone_id}"),
            None,
        )
        .await;

    // update_client_admin_ui: the client, realm-admin for its service account
    // (kc_apply_user_roles) and as its scope (kc_apply_client_scopes), its secret.
    let rm = kcadm.client_uuid(realm, "realm-management").await;
    let realm_admin = kcadm
        .role_ref(&format!("{realm}/clients/{rm}/roles/realm-admin"))
        .await;
    let admin_ui = kc_apply_client(kcadm, realm, client_admin_ui(), ADMIN_UI_REDIRECT).await;
    let sa = kcadm
        .get(&format!("{realm}/clients/{admin_ui}/service-account-user"))
        .await;
    let sa_id = sa["id"].as_str().expect("service account id");
    kcadm
        .ok(
            Method::POST,
            &format!("{realm}/users/{sa_id}/role-mappings/clients/{rm}"),
            Some(&json!([realm_admin])),
        )
        .await;
    kcadm
        .ok(
            Method::POST,
            &format!("{realm}/clients/{admin_ui}/scope-mappings/clients/{rm}"),
            Some(&json!([realm_admin])),
        )
        .await;
    let admin_ui_secret = kcadm
        .get(&format!("{realm}/clients/{admin_ui}/client-secret"))
        .await["value"]
        .as_str()
        .expect("admin-ui secret")
        .to_owned();

    // update_client_jupyterhub
    let jupyterhub = kc_apply_client(kcadm, realm, client_jupyterhub(), JUPYTERHUB_REDIRECT).await;
    let jupyterhub_secret = kcadm
        .get(&format!("{realm}/clients/{jupyterhub}/client-secret"))
        .await["value"]
        .as_str()
        .expect("jupyterhub secret")
        .to_owned();

    // update_client_maintenance_proxy
    kc_apply_client(
        kcadm,
        realm,
        client_maintenance_proxy(),
        "https://hub.example.com/maintenance/oauth/callback",
    )
    .await;

    // create_default_resources: the realm has no users.
    let users = kcadm.get(&format!("{realm}/users")).await;
    assert_eq!(users.as_array().map(Vec::len), Some(0), "{users}");
    let phadmin_id = kcadm
        .create(
            &format!("{realm}/users"),
            &json!({
                "username": PH_USER,
                "email": format!("dev+{PH_USER}@infuseai.io"),
                "enabled": true,
                "emailVerified": true,
            }),
        )
        .await;
    kcadm
        .ok(
            Method::PUT,
            &format!("{realm}/users/{phadmin_id}/reset-password"),
            Some(&json!({ "type": "password", "value": PH_PASSWORD, "temporary": false })),
        )
        .await;
    let phusers = kcadm
        .create(
            &format!("{realm}/groups"),
            &json!({ "name": "phusers", "attributes": { "displayName": ["primehub users"] } }),
        )
        .await;
    kcadm
        .ok(
            Method::PUT,
            &format!("{realm}/users/{phadmin_id}/groups/{phusers}"),
            None,
        )
        .await;
    kcadm
        .ok(
            Method::POST,
            &format!("{realm}/users/{phadmin_id}/role-mappings/clients/{rm}"),
            Some(&json!([realm_admin])),
        )
        .await;
    let names = ["it:cpu-1", "it:cpu-2", "it:gpu-1", "it:gpu-2"]
        .into_iter()
        .chain(["img:base-notebook", "img:pytorch-1", "img:tf-1", "img:tf-2"]);
    for name in names {
        kcadm
            .create(&format!("{realm}/roles"), &json!({ "name": name }))
            .await;
        let role = kcadm.role_ref(&format!("{realm}/roles/{name}")).await;
        kcadm
            .ok(
                Method::POST,
                &format!("{realm}/groups/{everyone_id}/role-mappings/realm"),
                Some(&json!([role])),
            )
            .await;
    }
    Replayed {
        admin_ui_secret,
        jupyterhub_secret,
        everyone_id,
        phadmin_id,
    }
}

/// Everything PrimeHub's bootstrap set, read back: the clients (whole representations), their
/// mappers counted by name, secrets, scope mappings and service-account roles; the groups with
/// attributes, realm roles and members; default groups; users with their groups and
/// realm-management roles; the realm roles; and the realm itself.
pub async fn snapshot(kcadm: &mut Kcadm, realm: &str) -> BTreeMap<String, Value> {
    kcadm.relogin().await;
    let mut shot = BTreeMap::new();
    let mut realm_rep = kcadm.get(realm).await;
    // Admin events are the bootstrap's one deliberate realm change (checked on their own).
    if let Some(fields) = realm_rep.as_object_mut() {
        fields.remove("adminEventsEnabled");
        fields.remove("adminEventsDetailsEnabled");
    }
    shot.insert("realm".into(), realm_rep);
    let rm = kcadm.client_uuid(realm, "realm-management").await;
    for client_id in ["admin-ui", "jupyterhub", "maintenance-proxy"] {
        let uuid = kcadm.client_uuid(realm, client_id).await;
        let mut client = kcadm.get(&format!("{realm}/clients/{uuid}")).await;
        // Mappers are compared by name (their order in the representation is not kept).
        let mut mappers: Vec<Value> = client["protocolMappers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        mappers.sort_by_key(|m| m["name"].as_str().unwrap_or_default().to_owned());
        client["protocolMappers"] = Value::Array(mappers);
        shot.insert(format!("client {client_id}"), client);
        let models = kcadm
            .get(&format!("{realm}/clients/{uuid}/protocol-mappers/models"))
            .await;
        let mut counts: BTreeMap<String, u32> = BTreeMap::new();
        for m in models.as_array().into_iter().flatten() {
            *counts
                .entry(m["name"].as_str().unwrap_or_default().to_owned())
                .or_default() += 1;
        }
        shot.insert(format!("client {client_id} mapper counts"), json!(counts));
        shot.insert(
            format!("client {client_id} secret"),
            kcadm
                .get(&format!("{realm}/clients/{uuid}/client-secret"))
                .await["value"]
                .clone(),
        );
        shot.insert(
            format!("client {client_id} scope realm-management"),
            names(
                &kcadm
                    .get(&format!(
                        "{realm}/clients/{uuid}/scope-mappings/clients/{rm}"
                    ))
                    .await,
            ),
        );
    }
    let admin_ui = kcadm.client_uuid(realm, "admin-ui").await;
    let sa = kcadm
        .get(&format!("{realm}/clients/{admin_ui}/service-account-user"))
        .await;
    let sa_id = sa["id"].as_str().expect("service account id").to_owned();
    shot.insert(
        "admin-ui service account realm-management roles".into(),
        names(
            &kcadm
                .get(&format!("{realm}/users/{sa_id}/role-mappings/clients/{rm}"))
                .await,
        ),
    );
    let groups = kcadm
        .get(&format!("{realm}/groups?briefRepresentation=false"))
        .await;
    for group in groups.as_array().into_iter().flatten() {
        let id = group["id"].as_str().expect("group id");
        let name = group["name"].as_str().expect("group name");
        shot.insert(
            format!("group {name}"),
            kcadm.get(&format!("{realm}/groups/{id}")).await,
        );
        shot.insert(
            format!("group {name} realm roles"),
            names(
                &kcadm
                    .get(&format!("{realm}/groups/{id}/role-mappings/realm"))
                    .await,
            ),
        );
        let members = kcadm.get(&format!("{realm}/groups/{id}/members")).await;
        shot.insert(
            format!("group {name} members"),
            json!(
                members
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|u| u["username"].clone())
                    .collect::<Vec<_>>()
            ),
        );
    }
    shot.insert(
        "default groups".into(),
        names(&kcadm.get(&format!("{realm}/default-groups")).await),
    );
    let users = kcadm.get(&format!("{realm}/users")).await;
    for user in users.as_array().into_iter().flatten() {
        let id = user["id"].as_str().expect("user id");
        let username = user["username"].as_str().expect("username");
        shot.insert(format!("user {username}"), user.clone());
        shot.insert(
            format!("user {username} groups"),
            names(&kcadm.get(&format!("{realm}/users/{id}/groups")).await),
        );
        shot.insert(
            format!("user {username} realm-management roles"),
            names(
                &kcadm
                    .get(&format!("{realm}/users/{id}/role-mappings/clients/{rm}"))
                    .await,
            ),
        );
    }
    shot.insert(
        "realm roles".into(),
        names(&kcadm.get(&format!("{realm}/roles")).await),
    );
    shot
}

/// The sorted `name`s of a JSON array of representations.
fn names(list: &Value) -> Value {
    let mut names: Vec<String> = list
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["name"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    json!(names)
}

/// The user profile of the realm.
pub async fn user_profile(kcadm: &Kcadm, realm: &str) -> Value {
    kcadm.get(&format!("{realm}/users/profile")).await
}

/// Replays PrimeHub's bootstrap on a new `realm`, runs ours over it twice through `master`,
/// and checks that only the deliberate differences appear. Returns our first outcome.
pub async fn ours_changes_nothing_primehub_set(
    kcadm: &mut Kcadm,
    master: &HttpKeycloak,
    realm: &str,
) -> BootstrapOutcome {
    let replayed = replay_primehub_bootstrap(kcadm, realm).await;
    let before = snapshot(kcadm, realm).await;
    // The shape the replay is expected to give, so the comparison compares something.
    assert_eq!(
        before["client jupyterhub mapper counts"],
        json!({"email": 1, "groups": 1, "project-quota-gpu": 1, "quota-gpu": 1, "roles": 1,
               "timezone": 1, "username": 1}),
    );
    assert_eq!(
        before["group everyone realm roles"]
            .as_array()
            .map(Vec::len),
        Some(8)
    );
    assert_eq!(before["group phusers members"], json!([PH_USER]));
    assert_eq!(before["client admin-ui"]["fullScopeAllowed"], json!(false));

    let mut spec = RealmBootstrap::new(realm).with_admin_user(PH_USER, "another-password");
    spec.admin_ui_redirect_uris = vec![ADMIN_UI_REDIRECT.into()];
    spec.jupyterhub_redirect_uris = vec![JUPYTERHUB_REDIRECT.into()];
    let first = bootstrap_realm(master, &spec)
        .await
        .expect("our bootstrap over PrimeHub's realm");
    assert_eq!(
        first.created,
        [
            "admin events",
            "user profile (unmanaged attributes, optional names and e-mail)"
        ],
        "the only deliberate changes are admin events and the user profile; present: {:?}",
        first.present
    );
    let realm_rep = kcadm.get(realm).await;
    assert_eq!(realm_rep["adminEventsEnabled"], json!(true), "{realm_rep}");
    assert_eq!(
        realm_rep["adminEventsDetailsEnabled"],
        json!(true),
        "{realm_rep}"
    );
    assert_eq!(first.admin_ui_client_secret, replayed.admin_ui_secret);
    assert_eq!(first.jupyterhub_client_secret, replayed.jupyterhub_secret);
    assert_eq!(first.everyone_group_id, replayed.everyone_id);
    assert_eq!(
        first.admin_user_id.as_deref(),
        Some(replayed.phadmin_id.as_str())
    );
    let profile = user_profile(kcadm, realm).await;
    assert_eq!(profile["unmanagedAttributePolicy"], "ENABLED", "{profile}");

    let second = bootstrap_realm(master, &spec)
        .await
        .expect("our bootstrap again");
    assert!(second.created.is_empty(), "{:?}", second.created);

    let after = snapshot(kcadm, realm).await;
    let keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    for key in keys {
        assert_eq!(
            before.get(key),
            after.get(key),
            "our bootstrap changed {key} of PrimeHub's realm"
        );
    }
    first
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_fakes_http_face_our_bootstrap_changes_nothing_primehub_set() {
    let keycloak = FakeKeycloak::builder()
        .admin_password("masterpw")
        .build()
        .expect("fake Keycloak");
    let server = keycloak
        .serve(
            tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind"),
        )
        .expect("serve");
    let base = Url::parse(server.url()).expect("url");
    let mut kcadm = Kcadm::login(&base, "admin", "masterpw").await;
    let master = HttpKeycloak::new(HttpKeycloakConfig::new(
        base,
        "master",
        Credentials::master_admin("admin", "masterpw"),
    ))
    .expect("master client");
    ours_changes_nothing_primehub_set(&mut kcadm, &master, "primehub").await;
    server.shutdown().await;
}
