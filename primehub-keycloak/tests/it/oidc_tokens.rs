//! Token introspection, revocation, userinfo and discovery: the same scenarios over HTTP against
//! the fake (served on a socket) and against a real Keycloak 26.7 (`PRIMEHUB_TEST_KEYCLOAK_URL`),
//! each checked on its own and then compared step by step — statuses, OAuth errors and their
//! descriptions, `WWW-Authenticate` challenges, the set of claim names and key claim values, not
//! exact bytes. Both realms are PrimeHub's shape from our bootstrap, plus a user `alice`, a
//! public client and an audience mapper on `jupyterhub` naming `admin-ui` (Keycloak 26.7
//! answers introspection only to a client in the token's `aud`). Time-dependent checks (expiry)
//! run on the fake only, on its injected clock.
#![cfg(feature = "fake")]
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::Arc;

use primehub_keycloak::bootstrap::{RealmBootstrap, bootstrap_realm, delete_realm};
use primehub_keycloak::fake::{FakeKeycloak, FakeServer};
use primehub_keycloak::http::{Credentials, HttpKeycloak, HttpKeycloakConfig};
use primehub_keycloak::token::{TokenVerifier, TokenVerifierConfig};
use primehub_keycloak::{KeycloakAdmin, KeycloakError, NewUser, UserUpdate};
use primehub_model::clock::{Clock, ManualClock};
use serde_json::{Value, json};
use url::Url;

const ALICE_PASSWORD: &str = "alice-Password-1";
/// The public client the scenarios create.
const PUBLIC_CLIENT: &str = "cli-public";

/// One Keycloak (the fake or the real one) with a fresh PrimeHub realm.
struct Target {
    name: &'static str,
    base: Url,
    realm: String,
    admin_ui_secret: String,
    jupyterhub_secret: String,
    master: HttpKeycloak,
    /// The realm's administration through `admin-ui`'s service account.
    client: HttpKeycloak,
    /// Alice's user id.
    alice: String,
    /// The master realm's administrator and password.
    admin: (String, String),
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    /// Keeps the fake's server running.
    _server: Option<FakeServer>,
}

/// A response as the scenarios look at it.
#[derive(Debug)]
struct Reply {
    status: u16,
    www_authenticate: Option<String>,
    content_type: Option<String>,
    cache_control: Option<String>,
    text: String,
    json: Value,
}

async fn fake_target(clock: Arc<ManualClock>) -> Target {
    let kc = FakeKeycloak::builder()
        .clock(clock.clone())
        .build()
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = kc.serve(listener).unwrap();
    let base = Url::parse(&format!("{}/", server.url())).unwrap();
    prepare("fake", base, "admin", "admin", clock, Some(server)).await
}

async fn real_target(test: &str) -> Option<Target> {
    let real = crate::real_keycloak::real_keycloak(test)?;
    Some(
        prepare(
            "real",
            real.url,
            &real.admin,
            &real.password,
            Arc::new(primehub_model::clock::SystemClock),
            None,
        )
        .await,
    )
}

/// Bootstraps a random realm on `base` and adds what the scenarios need.
async fn prepare(
    name: &'static str,
    base: Url,
    admin: &str,
    password: &str,
    clock: Arc<dyn Clock>,
    server: Option<FakeServer>,
) -> Target {
    let master = HttpKeycloak::new(HttpKeycloakConfig::new(
        base.clone(),
        "master",
        Credentials::master_admin(admin, password),
    ))
    .unwrap();
    let realm = crate::real_keycloak::random_realm();
    let outcome = bootstrap_realm(&master, &RealmBootstrap::new(&realm))
        .await
        .unwrap();
    let client = HttpKeycloak::new(HttpKeycloakConfig::new(
        base.clone(),
        &realm,
        Credentials::client(&realm, "admin-ui", &outcome.admin_ui_client_secret),
    ))
    .unwrap();
    let alice = client
        .create_user(&NewUser {
            username: "alice".into(),
            email: Some("alice@example.com".into()),
            first_name: Some("Alice".into()),
            last_name: Some("Liddell".into()),
            enabled: true,
            password: Some(ALICE_PASSWORD.into()),
            ..NewUser::default()
        })
        .await
        .unwrap();
    let target = Target {
        name,
        base,
        realm,
        admin_ui_secret: outcome.admin_ui_client_secret,
        jupyterhub_secret: outcome.jupyterhub_client_secret,
        master,
        client,
        alice,
        admin: (admin.to_owned(), password.to_owned()),
        http: crate::primehub_replay::http(),
        clock,
        _server: server,
    };
    // Admin REST as the master admin: a public client, and `admin-ui` in the audience of
    // `jupyterhub`'s access tokens.
    let token = target
        .post_form(
            "realms/master/protocol/openid-connect/token",
            &[
                ("grant_type", "password"),
                ("client_id", "admin-cli"),
                ("username", admin),
                ("password", password),
            ],
            None,
        )
        .await;
    assert_eq!(
        token.status, 200,
        "{}: master admin token {}",
        name, token.text
    );
    let bearer = token.json["access_token"].as_str().unwrap().to_owned();
    let admin_url = |rest: &str| {
        target
            .base
            .join(&format!("admin/realms/{}/{rest}", target.realm))
            .unwrap()
    };
    let created = target
        .http
        .post(admin_url("clients"))
        .bearer_auth(&bearer)
        .json(&json!({
            "clientId": PUBLIC_CLIENT,
            "publicClient": true,
            "directAccessGrantsEnabled": true,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201, "{name}: public client");
    let clients: Value = target
        .http
        .get(admin_url("clients"))
        .query(&[("clientId", "jupyterhub")])
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jupyterhub = clients[0]["id"].as_str().unwrap().to_owned();
    let mapper = target
        .http
        .post(admin_url(&format!(
            "clients/{jupyterhub}/protocol-mappers/models"
        )))
        .bearer_auth(&bearer)
        .json(&json!({
            "name": "admin-ui-audience",
            "protocol": "openid-connect",
            "protocolMapper": "oidc-audience-mapper",
            "config": {
                "included.client.audience": "admin-ui",
                "access.token.claim": "true",
                "id.token.claim": "false",
            },
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(mapper.status().as_u16(), 201, "{name}: audience mapper");
    target
}

impl Target {
    async fn finish(self) {
        if self.name == "real" {
            delete_realm(&self.master, &self.realm).await.unwrap();
        }
    }

    fn oidc(&self, endpoint: &str) -> String {
        format!("realms/{}/protocol/openid-connect/{endpoint}", self.realm)
    }

    fn secret(&self, client: &str) -> &str {
        match client {
            "admin-ui" => &self.admin_ui_secret,
            "jupyterhub" => &self.jupyterhub_secret,
            _ => "wrong-secret",
        }
    }

    async fn read(response: reqwest::Response) -> Reply {
        // All values of a header, joined as one (Keycloak sends some headers twice).
        let header = |name: reqwest::header::HeaderName| {
            let values: Vec<&str> = response
                .headers()
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            (!values.is_empty()).then(|| values.join(", "))
        };
        let status = response.status().as_u16();
        let www_authenticate = header(reqwest::header::WWW_AUTHENTICATE);
        let content_type = header(reqwest::header::CONTENT_TYPE);
        let cache_control = header(reqwest::header::CACHE_CONTROL);
        let text = response.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            www_authenticate,
            content_type,
            cache_control,
            text,
            json,
        }
    }

    /// POSTs a form to `path` (relative to the base URL), with HTTP Basic `basic`.
    async fn post_form(
        &self,
        path: &str,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> Reply {
        let mut request = self.http.post(self.base.join(path).unwrap()).form(form);
        if let Some((id, secret)) = basic {
            request = request.basic_auth(id, Some(secret));
        }
        Self::read(request.send().await.unwrap()).await
    }

    /// A password grant for alice through `client`.
    async fn login(&self, client: &str, scope: &str) -> Value {
        let mut form = vec![
            ("grant_type", "password"),
            ("client_id", client),
            ("username", "alice"),
            ("password", ALICE_PASSWORD),
        ];
        // An empty `scope` is 400 `invalid_scope` on Keycloak: leave it out instead.
        if !scope.is_empty() {
            form.push(("scope", scope));
        }
        if client != PUBLIC_CLIENT {
            form.push(("client_secret", self.secret(client)));
        }
        let reply = self.post_form(&self.oidc("token"), &form, None).await;
        assert_eq!(reply.status, 200, "{}: login {}", self.name, reply.text);
        reply.json
    }

    async fn refresh(&self, client: &str, refresh_token: &str) -> Reply {
        self.post_form(
            &self.oidc("token"),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
                ("client_id", client),
                ("client_secret", self.secret(client)),
            ],
            None,
        )
        .await
    }

    /// Introspects `token` as `client` (HTTP Basic).
    async fn introspect(&self, client: &str, token: &str, hint: Option<&str>) -> Reply {
        let mut form = vec![("token", token)];
        if let Some(hint) = hint {
            form.push(("token_type_hint", hint));
        }
        self.post_form(
            &self.oidc("token/introspect"),
            &form,
            Some((client, self.secret(client))),
        )
        .await
    }

    /// Revokes `token` as `client` (HTTP Basic).
    async fn revoke(&self, client: &str, token: &str) -> Reply {
        self.post_form(
            &self.oidc("revoke"),
            &[("token", token)],
            Some((client, self.secret(client))),
        )
        .await
    }

    async fn userinfo(&self, bearer: Option<&str>) -> Reply {
        let mut request = self
            .http
            .get(self.base.join(&self.oidc("userinfo")).unwrap());
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        Self::read(request.send().await.unwrap()).await
    }

    fn verifier(&self) -> TokenVerifier {
        let issuer = self
            .base
            .join(&format!("realms/{}", self.realm))
            .unwrap()
            .to_string();
        let mut config = TokenVerifierConfig::new(issuer, ["jupyterhub", "admin-ui"]);
        config.clock = self.clock.clone();
        config.api_token_client = Some(("admin-ui".into(), self.admin_ui_secret.clone()));
        TokenVerifier::new(config).unwrap()
    }
}

/// What is compared between the two targets: the status, an OAuth error, the challenge (realm
/// name replaced), whether the body is empty, and for claims their names and key values.
fn outcome(t: &Target, r: &Reply) -> Value {
    let mut o = json!({"status": r.status, "empty_body": r.text.is_empty()});
    if let Some(challenge) = &r.www_authenticate {
        o["www_authenticate"] = json!(challenge.replace(&t.realm, "<realm>"));
    }
    if r.text.is_empty() {
        o["content_type"] = json!(r.content_type);
    }
    if let Some(error) = r.json.get("error") {
        o["error"] = error.clone();
        o["error_description"] = r.json["error_description"].clone();
    } else if let Some(map) = r.json.as_object() {
        let names: BTreeSet<&String> = map.keys().collect();
        o["claims"] = json!(names);
        for key in [
            "active",
            "client_id",
            "username",
            "token_type",
            "typ",
            "azp",
            "preferred_username",
            "email",
            "name",
            "email_verified",
        ] {
            if let Some(v) = map.get(key) {
                o[key] = v.clone();
            }
        }
        if map.get("typ").and_then(Value::as_str) == Some("Bearer") {
            // Refresh tokens name Keycloak's client scopes in `scope`; access tokens the
            // granted scopes, which agree — in an order that differs from realm to realm on
            // Keycloak (it follows the client scopes' random ids).
            let scopes: BTreeSet<&str> = map
                .get("scope")
                .and_then(Value::as_str)
                .unwrap_or("")
                .split_whitespace()
                .collect();
            o["scope"] = json!(scopes);
            o["aud"] = json!(audiences(map.get("aud")));
        }
    }
    o
}

fn audiences(aud: Option<&Value>) -> BTreeSet<String> {
    match aud {
        Some(Value::String(a)) => BTreeSet::from([a.clone()]),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => BTreeSet::new(),
    }
}

/// The steps of one scenario and their outcomes, checked as they go.
#[derive(Default)]
struct Transcript(Vec<(String, Value)>);

impl Transcript {
    fn record(&mut self, t: &Target, step: &str, reply: &Reply) -> Value {
        let o = outcome(t, reply);
        self.0.push((step.to_owned(), o.clone()));
        o
    }

    fn note(&mut self, step: &str, value: Value) {
        self.0.push((step.to_owned(), value));
    }

    /// Every step of `self` (the fake's) agrees with `other`'s (the real Keycloak's).
    fn assert_agrees(&self, other: &Transcript) {
        assert_eq!(
            self.0.len(),
            other.0.len(),
            "the scenarios took other paths"
        );
        for ((step, fake), (_, real)) in self.0.iter().zip(&other.0) {
            assert_eq!(
                fake, real,
                "step {step}: the fake (left) differs from Keycloak (right)"
            );
        }
    }
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap()
}

fn inactive(o: &Value) -> bool {
    o["status"] == 200 && o["active"] == false && o["claims"] == json!(["active"])
}

/// Login, introspection, userinfo, refresh-token revocation and what follows.
async fn refresh_token_revocation(t: &Target) -> Transcript {
    let mut tr = Transcript::default();
    let tokens = t.login("jupyterhub", "openid").await;
    let (at, rt, id) = (
        s(&tokens, "access_token"),
        s(&tokens, "refresh_token"),
        s(&tokens, "id_token"),
    );

    // The access token, as admin-ui (in its aud through the mapper), by Basic and by form.
    let o = tr.record(
        t,
        "introspect access token",
        &t.introspect("admin-ui", at, None).await,
    );
    assert_eq!(o["active"], true, "{}: {o}", t.name);
    assert_eq!(o["client_id"], "jupyterhub");
    assert_eq!(o["username"], "alice");
    assert_eq!(o["token_type"], "Bearer");
    assert_eq!(
        o["scope"],
        json!(["email", "openid", "profile"]),
        "{}",
        t.name
    );
    assert_eq!(o["aud"], json!(["account", "admin-ui"]));
    for claim in [
        "exp",
        "iat",
        "jti",
        "iss",
        "sub",
        "sid",
        "realm_access",
        "groups",
        "roles",
    ] {
        assert!(
            o["claims"].as_array().unwrap().contains(&json!(claim)),
            "{claim}: {o}"
        );
    }
    let form = t
        .post_form(
            &t.oidc("token/introspect"),
            &[
                ("token", at),
                ("client_id", "admin-ui"),
                ("client_secret", &t.admin_ui_secret),
            ],
            None,
        )
        .await;
    let o = tr.record(t, "introspect with form credentials", &form);
    assert_eq!(o["active"], true, "{}: {o}", t.name);
    assert_eq!(form.cache_control.as_deref(), Some("no-cache"));
    let o = tr.record(
        t,
        "introspect access token, hint access_token",
        &t.introspect("admin-ui", at, Some("access_token")).await,
    );
    assert_eq!(o["active"], true, "{}: {o}", t.name);
    // The issuing client is not in its access token's aud.
    let o = tr.record(
        t,
        "introspect access token as its own client",
        &t.introspect("jupyterhub", at, None).await,
    );
    assert!(inactive(&o), "{}: {o}", t.name);

    // The refresh token: only with the hint, only for its client.
    let o = tr.record(
        t,
        "introspect refresh token",
        &t.introspect("jupyterhub", rt, Some("refresh_token")).await,
    );
    assert_eq!(o["active"], true, "{}: {o}", t.name);
    assert_eq!(o["token_type"], "Refresh");
    assert_eq!(o["username"], "alice");
    let o = tr.record(
        t,
        "introspect refresh token without hint",
        &t.introspect("jupyterhub", rt, None).await,
    );
    assert!(inactive(&o), "{}: {o}", t.name);
    let o = tr.record(
        t,
        "introspect refresh token as another client",
        &t.introspect("admin-ui", rt, Some("refresh_token")).await,
    );
    assert!(inactive(&o), "{}: {o}", t.name);

    // The ID token names its client in aud.
    let o = tr.record(
        t,
        "introspect ID token",
        &t.introspect("jupyterhub", id, None).await,
    );
    assert_eq!(o["active"], true, "{}: {o}", t.name);
    assert_eq!(o["token_type"], "ID");
    let o = tr.record(
        t,
        "introspect with hint id_token",
        &t.introspect("jupyterhub", id, Some("id_token")).await,
    );
    assert_eq!(o["status"], 400);
    assert_eq!(o["error_description"], "Unsupported token type.");

    // Userinfo: bearer header, form, refusals.
    let info = t.userinfo(Some(at)).await;
    let o = tr.record(t, "userinfo", &info);
    assert_eq!(o["status"], 200, "{}: {o}", t.name);
    assert_eq!(o["preferred_username"], "alice");
    assert_eq!(o["email"], "alice@example.com");
    assert_eq!(o["name"], "Alice Liddell");
    assert_eq!(info.cache_control.as_deref(), Some("no-store, no-cache"));
    let introspected = t.introspect("admin-ui", at, None).await;
    assert_eq!(info.json["sub"], introspected.json["sub"]);
    let form = t
        .post_form(&t.oidc("userinfo"), &[("access_token", at)], None)
        .await;
    let o = tr.record(t, "userinfo by form", &form);
    assert_eq!(o["status"], 200, "{}: {o}", t.name);
    let o = tr.record(t, "userinfo without token", &t.userinfo(None).await);
    assert_eq!(o["status"], 401);
    assert_eq!(o["www_authenticate"], "Bearer realm=\"<realm>\"");
    let o = tr.record(t, "userinfo garbage", &t.userinfo(Some("garbage")).await);
    assert_eq!(
        o["www_authenticate"],
        "Bearer realm=\"<realm>\", error=\"invalid_token\", error_description=\"Token verification failed\""
    );
    let o = tr.record(t, "userinfo with an ID token", &t.userinfo(Some(id)).await);
    assert_eq!(o["status"], 401);
    let both = t
        .http
        .post(t.base.join(&t.oidc("userinfo")).unwrap())
        .bearer_auth(at)
        .form(&[("access_token", at)])
        .send()
        .await
        .unwrap();
    let o = tr.record(t, "userinfo by header and form", &Target::read(both).await);
    assert_eq!(o["status"], 400, "{}: {o}", t.name);

    // Revocation of the refresh token: by another client refused, by its client done.
    let o = tr.record(
        t,
        "revoke as another client",
        &t.revoke("admin-ui", rt).await,
    );
    assert_eq!(
        o["error_description"], "Unmatching clients",
        "{}: {o}",
        t.name
    );
    let o = tr.record(t, "revoke refresh token", &t.revoke("jupyterhub", rt).await);
    assert_eq!(o["status"], 200, "{}: {o}", t.name);
    assert_eq!(o["empty_body"], true);
    let o = tr.record(
        t,
        "refresh after revocation",
        &t.refresh("jupyterhub", rt).await,
    );
    assert_eq!(o["error"], "invalid_grant", "{}: {o}", t.name);
    assert_eq!(o["error_description"], "Session not active");
    let o = tr.record(
        t,
        "introspect revoked refresh token",
        &t.introspect("jupyterhub", rt, Some("refresh_token")).await,
    );
    assert!(inactive(&o), "{}: {o}", t.name);
    let o = tr.record(
        t,
        "introspect access token of the ended session",
        &t.introspect("admin-ui", at, None).await,
    );
    assert!(inactive(&o), "{}: {o}", t.name);
    let o = tr.record(
        t,
        "userinfo of the ended session",
        &t.userinfo(Some(at)).await,
    );
    assert_eq!(
        o["www_authenticate"],
        "Bearer realm=\"<realm>\", error=\"invalid_token\", error_description=\"user_session_not_found\""
    );
    let o = tr.record(t, "revoke again", &t.revoke("jupyterhub", rt).await);
    assert_eq!(o["status"], 200);
    assert_eq!(o["error"], "invalid_token", "{}: {o}", t.name);
    tr
}

/// Access-token revocation, offline tokens, tokens without `openid`, foreign and malformed
/// tokens, and client authentication.
async fn access_tokens_offline_tokens_and_clients(t: &Target) -> Transcript {
    let mut tr = Transcript::default();

    // A refresh token's `scope` names the access token's scopes and the client's default
    // scopes access tokens leave out (`service_account` too for `admin-ui`); refreshing keeps
    // the access token's scopes.
    for client in ["jupyterhub", "admin-ui"] {
        let tokens = t.login(client, "openid phone").await;
        let rt = payload(s(&tokens, "refresh_token"));
        let scopes: BTreeSet<&str> = s(&rt, "scope").split(' ').collect();
        let mut expected = BTreeSet::from([
            "openid",
            "profile",
            "email",
            "phone",
            "acr",
            "basic",
            "roles",
            "web-origins",
        ]);
        if client == "admin-ui" {
            expected.insert("service_account");
        }
        assert_eq!(scopes, expected, "{}: {client}", t.name);
        tr.note(&format!("refresh token scopes ({client})"), json!(scopes));
        let refreshed = t.refresh(client, s(&tokens, "refresh_token")).await;
        assert_eq!(refreshed.status, 200, "{}: {}", t.name, refreshed.text);
        let again: BTreeSet<&str> = s(&refreshed.json, "scope").split(' ').collect();
        assert_eq!(
            again,
            BTreeSet::from(["openid", "profile", "email", "phone"]),
            "{}: {client} refreshed",
            t.name
        );
        tr.note(&format!("refreshed scopes ({client})"), json!(again));
    }
    // client_credentials without a service account, or for a public client: 401.
    for (client, secret) in [
        ("jupyterhub", Some(t.secret("jupyterhub"))),
        (PUBLIC_CLIENT, None),
    ] {
        let mut form = vec![("grant_type", "client_credentials"), ("client_id", client)];
        if let Some(secret) = secret {
            form.push(("client_secret", secret));
        }
        let o = tr.record(
            t,
            &format!("client_credentials of {client}"),
            &t.post_form(&t.oidc("token"), &form, None).await,
        );
        assert_eq!(o["status"], 401, "{}: {o}", t.name);
        assert_eq!(o["error"], "unauthorized_client", "{}: {o}", t.name);
    }

    // An access token revoked alone: its session lives on.
    let tokens = t.login("jupyterhub", "openid").await;
    let (at, rt, id) = (
        s(&tokens, "access_token"),
        s(&tokens, "refresh_token"),
        s(&tokens, "id_token"),
    );
    let o = tr.record(t, "revoke an ID token", &t.revoke("jupyterhub", id).await);
    assert_eq!(o["error"], "unsupported_token_type", "{}: {o}", t.name);
    let o = tr.record(t, "revoke access token", &t.revoke("jupyterhub", at).await);
    assert_eq!(o["status"], 200, "{}: {o}", t.name);
    assert_eq!(o["empty_body"], true);
    let o = tr.record(
        t,
        "introspect revoked access token",
        &t.introspect("admin-ui", at, None).await,
    );
    assert!(inactive(&o), "{}: {o}", t.name);
    let o = tr.record(
        t,
        "userinfo of revoked access token",
        &t.userinfo(Some(at)).await,
    );
    assert_eq!(
        o["www_authenticate"],
        "Bearer realm=\"<realm>\", error=\"invalid_token\", error_description=\"Token verification failed\""
    );
    let refreshed = t.refresh("jupyterhub", rt).await;
    let o = tr.record(t, "refresh after access token revocation", &refreshed);
    assert_eq!(o["status"], 200, "{}: {o}", t.name);
    let o = tr.record(
        t,
        "introspect the new access token",
        &t.introspect("admin-ui", s(&refreshed.json, "access_token"), None)
            .await,
    );
    assert_eq!(o["active"], true, "{}: {o}", t.name);

    // Offline tokens.
    let offline = t.login("jupyterhub", "openid offline_access").await;
    let ot = s(&offline, "refresh_token");
    let o = tr.record(
        t,
        "introspect offline token",
        &t.introspect("jupyterhub", ot, Some("refresh_token")).await,
    );
    assert_eq!(o["token_type"], "Offline", "{}: {o}", t.name);
    let o = tr.record(t, "revoke offline token", &t.revoke("jupyterhub", ot).await);
    assert_eq!(o["empty_body"], true, "{}: {o}", t.name);
    let o = tr.record(
        t,
        "refresh offline after revocation",
        &t.refresh("jupyterhub", ot).await,
    );
    assert_eq!(
        o["error_description"], "Offline user session not found",
        "{}: {o}",
        t.name
    );
    let o = tr.record(
        t,
        "introspect revoked offline token",
        &t.introspect("jupyterhub", ot, Some("refresh_token")).await,
    );
    assert!(inactive(&o), "{}: {o}", t.name);
    let o = tr.record(
        t,
        "userinfo of the offline session's access token",
        &t.userinfo(Some(s(&offline, "access_token"))).await,
    );
    assert_eq!(o["status"], 401, "{}: {o}", t.name);

    // Without `openid`: no userinfo.
    let plain = t.login("jupyterhub", "").await;
    let o = tr.record(
        t,
        "userinfo without openid",
        &t.userinfo(Some(s(&plain, "access_token"))).await,
    );
    assert_eq!(o["status"], 403, "{}: {o}", t.name);
    assert_eq!(
        o["www_authenticate"],
        "Bearer realm=\"<realm>\", error=\"insufficient_scope\", error_description=\"Missing openid scope\""
    );

    // Another realm's token (master's) and garbage.
    let master = t
        .post_form(
            "realms/master/protocol/openid-connect/token",
            &[
                ("grant_type", "password"),
                ("client_id", "admin-cli"),
                ("username", &t.admin.0),
                ("password", &t.admin.1),
            ],
            None,
        )
        .await;
    let foreign = s(&master.json, "access_token");
    let o = tr.record(
        t,
        "introspect foreign token",
        &t.introspect("admin-ui", foreign, None).await,
    );
    assert!(inactive(&o), "{}: {o}", t.name);
    let o = tr.record(
        t,
        "userinfo foreign token",
        &t.userinfo(Some(foreign)).await,
    );
    assert_eq!(o["status"], 401, "{}: {o}", t.name);
    let o = tr.record(
        t,
        "revoke foreign token",
        &t.revoke("jupyterhub", foreign).await,
    );
    assert_eq!(o["error"], "invalid_token", "{}: {o}", t.name);
    let o = tr.record(
        t,
        "introspect garbage",
        &t.introspect("admin-ui", "garbage", None).await,
    );
    assert!(inactive(&o), "{}: {o}", t.name);
    let o = tr.record(
        t,
        "revoke garbage",
        &t.revoke("jupyterhub", "garbage").await,
    );
    assert_eq!(o["status"], 200, "{}: {o}", t.name);
    assert_eq!(o["error"], "invalid_token");

    // Client authentication.
    let fresh = t.login("jupyterhub", "openid").await;
    let at = s(&fresh, "access_token");
    let introspect = t.oidc("token/introspect");
    let revoke = t.oidc("revoke");
    let o = tr.record(
        t,
        "introspect with a wrong secret",
        &t.post_form(&introspect, &[("token", at)], Some(("admin-ui", "wrong")))
            .await,
    );
    assert_eq!(o["status"], 401, "{}: {o}", t.name);
    assert_eq!(o["error"], "invalid_client");
    assert_eq!(o["error_description"], "Client authentication failed.");
    let o = tr.record(
        t,
        "introspect without client",
        &t.post_form(&introspect, &[("token", at)], None).await,
    );
    assert_eq!(
        o["error_description"],
        "Invalid client or Invalid client credentials"
    );
    let o = tr.record(
        t,
        "introspect as an unknown client",
        &t.post_form(&introspect, &[("token", at)], Some(("nobody", "x")))
            .await,
    );
    assert_eq!(o["status"], 401, "{}: {o}", t.name);
    let o = tr.record(
        t,
        "introspect as a public client",
        &t.post_form(
            &introspect,
            &[("token", at), ("client_id", PUBLIC_CLIENT)],
            None,
        )
        .await,
    );
    assert_eq!(o["status"], 403, "{}: {o}", t.name);
    assert_eq!(o["error_description"], "Client not allowed.");
    let o = tr.record(
        t,
        "introspect without token",
        &t.post_form(&introspect, &[], Some(("admin-ui", &t.admin_ui_secret)))
            .await,
    );
    assert_eq!(
        o["error_description"], "Token not provided.",
        "{}: {o}",
        t.name
    );
    let o = tr.record(
        t,
        "introspect with a repeated field",
        &t.post_form(
            &introspect,
            &[("token", at), ("token", at)],
            Some(("admin-ui", &t.admin_ui_secret)),
        )
        .await,
    );
    assert_eq!(
        o["error_description"], "duplicated parameter",
        "{}: {o}",
        t.name
    );
    let o = tr.record(
        t,
        "revoke with a wrong secret",
        &t.post_form(&revoke, &[("token", at)], Some(("jupyterhub", "wrong")))
            .await,
    );
    assert_eq!(o["error"], "unauthorized_client", "{}: {o}", t.name);
    let o = tr.record(
        t,
        "revoke without token",
        &t.post_form(&revoke, &[], Some(("jupyterhub", &t.jupyterhub_secret)))
            .await,
    );
    assert_eq!(
        o["error_description"], "Token not provided",
        "{}: {o}",
        t.name
    );
    // Form fields win over HTTP Basic, each on its own.
    let mixed = t
        .post_form(
            &t.oidc("token"),
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", ALICE_PASSWORD),
                ("client_id", "jupyterhub"),
                ("client_secret", &t.jupyterhub_secret),
            ],
            Some(("admin-ui", &t.admin_ui_secret)),
        )
        .await;
    assert_eq!(mixed.status, 200, "{}: {}", t.name, mixed.text);
    let azp = payload(s(&mixed.json, "access_token"))["azp"].clone();
    assert_eq!(azp, "jupyterhub", "{}", t.name);
    let secret_only = t
        .post_form(
            &t.oidc("token"),
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", ALICE_PASSWORD),
                ("client_secret", &t.admin_ui_secret),
            ],
            Some(("admin-ui", "wrong")),
        )
        .await;
    let o = tr.record(
        t,
        "token with the secret in the form, the id in Basic",
        &secret_only,
    );
    assert_eq!(o["status"], 200, "{}: {o}", t.name);
    let public = t.login(PUBLIC_CLIENT, "openid").await;
    let o = tr.record(
        t,
        "a public client revokes its refresh token",
        &t.post_form(
            &revoke,
            &[
                ("token", s(&public, "refresh_token")),
                ("client_id", PUBLIC_CLIENT),
            ],
            None,
        )
        .await,
    );
    assert_eq!(o["empty_body"], true, "{}: {o}", t.name);
    tr
}

/// The `TokenVerifier` methods over the same endpoints.
async fn verifier_methods(t: &Target) -> Transcript {
    let mut tr = Transcript::default();
    let verifier = t.verifier();
    let tokens = t.login("jupyterhub", "openid").await;
    let at = s(&tokens, "access_token");

    let seen = verifier.introspect(at, None).await.unwrap();
    assert!(seen.active, "{}: {seen:?}", t.name);
    assert_eq!(seen.claims["username"], "alice");
    let names: BTreeSet<&String> = seen.claims.keys().collect();
    tr.note("verifier introspect", json!(names));
    let info = verifier.userinfo(at).await.unwrap();
    assert_eq!(info["preferred_username"], "alice");
    assert_eq!(info["sub"], seen.claims["sub"]);
    let err = verifier.userinfo("garbage").await.unwrap_err();
    assert!(
        matches!(&err, KeycloakError::Unauthorized { reason } if reason == "Token verification failed"),
        "{}: {err}",
        t.name
    );
    let err = verifier.introspect(at, Some("id_token")).await.unwrap_err();
    assert!(matches!(err, KeycloakError::Invalid { .. }), "{err}");

    // An API token: introspected by its client, revoked, then dead.
    let api_token = verifier
        .issue_api_token("alice", ALICE_PASSWORD)
        .await
        .unwrap();
    let seen = verifier
        .introspect(&api_token, Some("refresh_token"))
        .await
        .unwrap();
    assert!(seen.active, "{}: {seen:?}", t.name);
    assert_eq!(seen.claims["token_type"], "Offline");
    verifier.exchange_api_token(&api_token).await.unwrap();
    verifier.revoke(&api_token).await.unwrap();
    let seen = verifier
        .introspect(&api_token, Some("refresh_token"))
        .await
        .unwrap();
    assert!(
        !seen.active && seen.claims.is_empty(),
        "{}: {seen:?}",
        t.name
    );
    let alice = t
        .verifier()
        .exchange_api_token(&api_token)
        .await
        .unwrap_err();
    assert!(
        matches!(&alice, KeycloakError::Unauthorized { reason } if reason == "Offline user session not found"),
        "{}: {alice}",
        t.name
    );
    // Revoking what is already dead is no error; another client's token is.
    verifier.revoke(&api_token).await.unwrap();
    let err = verifier
        .revoke(s(&tokens, "refresh_token"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, KeycloakError::Invalid { rule, .. } if rule == "Unmatching clients"),
        "{}: {err}",
        t.name
    );
    tr.note("verifier revoke", json!("ok"));
    tr
}

/// The claims of a JWT's payload (not verified: the endpoints verify).
fn payload(token: &str) -> Value {
    use base64::Engine;
    let part = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn names(v: &Value) -> Value {
    let names: BTreeSet<&String> = v.as_object().unwrap().keys().collect();
    json!(names)
}

/// Scopes: which are refused, which claims each grants in the access token, the ID token and
/// userinfo (with and without the user attributes they read), and narrowing on refresh.
async fn scopes_and_their_claims(t: &Target) -> Transcript {
    let mut tr = Transcript::default();
    let optional = "openid address phone microprofile-jwt";
    let mut logins = Vec::new();
    for with_attributes in [false, true] {
        if with_attributes {
            let attributes = [
                ("phoneNumber", "+886 2 1234"),
                ("phoneNumberVerified", "true"),
                ("street", "1 Main St"),
                ("locality", "Taipei"),
                ("country", "TW"),
                ("website", "https://alice.example"),
                ("middleName", "Pleasance"),
                ("nickname", "ally"),
                ("zoneinfo", "Asia/Taipei"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), vec![v.to_owned()]))
            .collect();
            t.client
                .update_user(
                    &t.alice,
                    &UserUpdate {
                        attributes: Some(attributes),
                        ..UserUpdate::default()
                    },
                )
                .await
                .unwrap();
        }
        let tokens = t.login(PUBLIC_CLIENT, optional).await;
        let at = payload(s(&tokens, "access_token"));
        let scopes: BTreeSet<&str> = s(&tokens, "scope").split(' ').collect();
        assert_eq!(
            scopes,
            BTreeSet::from([
                "openid",
                "profile",
                "email",
                "address",
                "phone",
                "microprofile-jwt"
            ]),
            "{}",
            t.name
        );
        tr.note("granted scopes", json!(scopes));
        tr.note(
            &format!("access token claims ({with_attributes})"),
            names(&at),
        );
        let id = payload(s(&tokens, "id_token"));
        tr.note(&format!("ID token claims ({with_attributes})"), names(&id));
        let info = t.userinfo(Some(s(&tokens, "access_token"))).await;
        let mut o = tr.record(t, &format!("userinfo ({with_attributes})"), &info);
        o["upn"] = info.json["upn"].clone();
        assert_eq!(o["upn"], "alice", "{}: {o}", t.name);
        for claim in [
            "address",
            "phone_number",
            "phone_number_verified",
            "website",
            "middle_name",
        ] {
            tr.note(&format!("{claim} ({with_attributes})"), at[claim].clone());
        }
        logins.push(tokens);
    }
    let tokens = &logins[1];
    let at = payload(s(tokens, "access_token"));
    assert_eq!(at["phone_number"], "+886 2 1234", "{}", t.name);
    assert_eq!(at["phone_number_verified"], true);
    assert_eq!(at["address"]["street_address"], "1 Main St");
    assert_eq!(at["middle_name"], "Pleasance");

    // Refused scopes.
    for (client, scope) in [
        (PUBLIC_CLIENT, "openid foo"),
        (PUBLIC_CLIENT, "openid  profile"),
        ("jupyterhub", "openid service_account"),
    ] {
        let mut form = vec![
            ("grant_type", "password"),
            ("client_id", client),
            ("username", "alice"),
            ("password", ALICE_PASSWORD),
            ("scope", scope),
        ];
        if client != PUBLIC_CLIENT {
            form.push(("client_secret", t.secret(client)));
        }
        let o = tr.record(
            t,
            &format!("scope {scope:?}"),
            &t.post_form(&t.oidc("token"), &form, None).await,
        );
        assert_eq!(o["error"], "invalid_scope", "{}: {o}", t.name);
        assert_eq!(o["error_description"], format!("Invalid scopes: {scope}"));
    }

    // A refresh with `scope` narrows what was granted; an unknown scope is refused.
    let refresh = |scope: &'static str| {
        let form = [
            ("grant_type", "refresh_token"),
            ("client_id", PUBLIC_CLIENT),
            ("refresh_token", s(tokens, "refresh_token")),
            ("scope", scope),
        ];
        async move { t.post_form(&t.oidc("token"), &form, None).await }
    };
    let narrowed = refresh("openid phone").await;
    assert_eq!(narrowed.status, 200, "{}: {}", t.name, narrowed.text);
    let scopes: BTreeSet<&str> = s(&narrowed.json, "scope").split(' ').collect();
    tr.note("narrowed scopes", json!(scopes));
    let o = tr.record(
        t,
        "refresh with an unknown scope",
        &refresh("openid foo").await,
    );
    assert_eq!(o["error"], "invalid_scope", "{}: {o}", t.name);
    tr
}

async fn run_all(t: &Target) -> Vec<Transcript> {
    vec![
        refresh_token_revocation(t).await,
        access_tokens_offline_tokens_and_clients(t).await,
        verifier_methods(t).await,
        scopes_and_their_claims(t).await,
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fake_answers_introspection_revocation_and_userinfo_as_keycloak() {
    let fake = fake_target(Arc::new(ManualClock::starting_now())).await;
    let fake_transcripts = run_all(&fake).await;
    let Some(real) = real_target("oidc tokens").await else {
        return;
    };
    let real_transcripts = run_all(&real).await;
    real.finish().await;
    for (fake, real) in fake_transcripts.iter().zip(&real_transcripts) {
        fake.assert_agrees(real);
    }
}

#[tokio::test]
async fn expired_tokens_are_inactive_on_the_fakes_clock() {
    let clock = Arc::new(ManualClock::starting_now());
    let t = fake_target(clock.clone()).await;
    let tokens = t.login("jupyterhub", "openid offline_access").await;
    let online = t.login("jupyterhub", "openid").await;
    let (at, ot, rt) = (
        s(&tokens, "access_token"),
        s(&tokens, "refresh_token"),
        s(&online, "refresh_token"),
    );
    assert_eq!(
        t.introspect("admin-ui", at, None).await.json["active"],
        true
    );

    clock.advance(jiff::SignedDuration::from_secs(301));
    assert_eq!(
        t.introspect("admin-ui", at, None).await.json,
        json!({"active": false})
    );
    let info = t.userinfo(Some(at)).await;
    assert_eq!(info.status, 401);
    assert!(
        info.www_authenticate
            .unwrap()
            .ends_with("error_description=\"Token verification failed\"")
    );
    // Refresh tokens live longer; offline tokens do not expire.
    let live = t.introspect("jupyterhub", rt, Some("refresh_token")).await;
    assert_eq!(live.json["active"], true);

    clock.advance(jiff::SignedDuration::from_secs(1500));
    let dead = t.introspect("jupyterhub", rt, Some("refresh_token")).await;
    assert_eq!(dead.json, json!({"active": false}));
    assert_eq!(
        t.refresh("jupyterhub", rt).await.json["error"],
        "invalid_grant"
    );
    let offline = t.introspect("jupyterhub", ot, Some("refresh_token")).await;
    assert_eq!(offline.json["active"], true);
    assert_eq!(offline.json["token_type"], "Offline");
    // An expired access token can still be revoked (Keycloak answers 200).
    assert_eq!(t.revoke("jupyterhub", at).await.status, 200);
}

/// Discovery names only what the fake serves: every advertised endpoint answers (not 404), and
/// each field and value is one Keycloak's document has, in Keycloak's order.
#[tokio::test]
async fn discovery_advertises_only_served_endpoints() {
    let t = fake_target(Arc::new(ManualClock::starting_now())).await;
    let path = format!("realms/{}/.well-known/openid-configuration", t.realm);
    let reply = Target::read(
        t.http
            .get(t.base.join(&path).unwrap())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, 200);
    let doc = reply.json.as_object().unwrap().clone();
    for removed in [
        "device_authorization_endpoint",
        "backchannel_authentication_endpoint",
        "pushed_authorization_request_endpoint",
        "registration_endpoint",
        "check_session_iframe",
        "mtls_endpoint_aliases",
    ] {
        assert!(!doc.contains_key(removed), "{removed} is advertised");
    }
    assert_eq!(
        doc["grant_types_supported"],
        json!([
            "authorization_code",
            "client_credentials",
            "password",
            "refresh_token"
        ])
    );
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );
    assert_eq!(
        doc["code_challenge_methods_supported"],
        json!(["plain", "S256"])
    );

    let base = t.base.as_str().trim_end_matches('/').to_owned();
    let mut probed = 0;
    for (field, value) in &doc {
        let Some(url) = value.as_str().filter(|u| u.starts_with(&base)) else {
            continue;
        };
        let status = t.http.get(url).send().await.unwrap().status().as_u16();
        assert_ne!(status, 404, "{field} ({url}) is advertised but not served");
        probed += 1;
    }
    assert_eq!(
        probed, 8,
        "issuer, authorization, token, introspection, userinfo, jwks, end-session, revocation"
    );

    // The same fields in Keycloak's document, each value in it, in its order.
    let Some(real) = crate::real_keycloak::real_keycloak("discovery") else {
        return;
    };
    let real_doc: Value = t
        .http
        .get(
            real.url
                .join("realms/master/.well-known/openid-configuration")
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let real_base = real.url.as_str().trim_end_matches('/').to_owned();
    for (field, value) in &doc {
        let theirs = &real_doc[field];
        assert!(!theirs.is_null(), "Keycloak has no {field}");
        match value {
            Value::String(url) => {
                let ours = url.replace(&base, "").replace(&t.realm, "<realm>");
                let theirs = theirs
                    .as_str()
                    .unwrap()
                    .replace(&real_base, "")
                    .replace("master", "<realm>");
                assert_eq!(ours, theirs, "{field}");
            }
            Value::Array(values) => {
                let theirs: Vec<&Value> = theirs.as_array().unwrap().iter().collect();
                let positions: Vec<usize> = values
                    .iter()
                    .map(|v| {
                        theirs
                            .iter()
                            .position(|t| *t == v)
                            .unwrap_or_else(|| panic!("{field}: Keycloak has no {v}"))
                    })
                    .collect();
                // Keycloak lists scopes in the order of its client scopes' random ids, which
                // differs from realm to realm; every other list has a fixed order.
                assert!(
                    field == "scopes_supported" || positions.windows(2).all(|w| w[0] < w[1]),
                    "{field}: not in Keycloak's order"
                );
            }
            // `request_uri_parameter_supported`: served (unsigned request objects at the
            // client's valid request URIs), as Keycloak says.
            Value::Bool(b) => assert_eq!(Some(*b), theirs.as_bool(), "{field}"),
            other => panic!("{field}: unexpected {other}"),
        }
    }
}
