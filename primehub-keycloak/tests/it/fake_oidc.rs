//! The fake's OIDC endpoints over HTTP.
//!
//! The requests go to the fake's axum router in process (`tower::ServiceExt::oneshot`): what is
//! tested is the HTTP face (routes, grants, status codes, JSON), which needs no socket.
#![cfg(feature = "fake")]
#![allow(clippy::unwrap_used)]

use primehub_model::clock::ManualClock;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use primehub_keycloak::fake::{BootstrapOptions, FakeKeycloak, FakeSigningKey};
use primehub_keycloak::{KeycloakAdmin, NewUser};
use serde_json::{Value, json};
use tower::ServiceExt;

/// The public URL the fake names in issuers (nothing listens there).
const BASE_URL: &str = "http://keycloak.test";

fn key() -> FakeSigningKey {
    static KEY: OnceLock<FakeSigningKey> = OnceLock::new();
    KEY.get_or_init(|| FakeSigningKey::generate().unwrap())
        .clone()
}

/// Sends one request to `router` in process: `authorization` as the `Authorization` header,
/// `form` as an `application/x-www-form-urlencoded` body. Answers the status and the JSON body
/// (`Null` when empty).
async fn call(
    router: &Router,
    method: Method,
    path: &str,
    authorization: Option<&str>,
    form: Option<&[(&str, &str)]>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(authorization) = authorization {
        request = request.header(header::AUTHORIZATION, authorization);
    }
    let request = match form {
        Some(form) => request
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(
                url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(form)
                    .finish(),
            )),
        None => request.body(Body::empty()),
    }
    .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

struct Env {
    kc: FakeKeycloak,
    router: Router,
    ui_secret: String,
    now: Arc<ManualClock>,
}

async fn env() -> Env {
    let now = Arc::new(ManualClock::at(
        jiff::Timestamp::from_second(1_700_000_000).expect("timestamp"),
    ));
    let kc = FakeKeycloak::builder()
        .signing_key(key())
        .clock(now.clone())
        .build()
        .unwrap();
    let router = kc.router(BASE_URL);
    let shape = kc
        .bootstrap_primehub(
            "primehub",
            &BootstrapOptions {
                admin_password: "adminpw".into(),
                ..BootstrapOptions::default()
            },
        )
        .await
        .unwrap();
    let realm = kc.realm("primehub").unwrap();
    realm
        .create_user(&NewUser {
            username: "alice".into(),
            email: Some("alice@example.com".into()),
            first_name: Some("Alice".into()),
            last_name: Some("Liddell".into()),
            enabled: true,
            password: Some("alicepw".into()),
            ..NewUser::default()
        })
        .await
        .unwrap();
    Env {
        kc,
        router,
        ui_secret: shape.admin_ui_client_secret,
        now,
    }
}

const TOKEN: &str = "/realms/primehub/protocol/openid-connect/token";
const CERTS: &str = "/realms/primehub/protocol/openid-connect/certs";
const USERINFO: &str = "/realms/primehub/protocol/openid-connect/userinfo";

impl Env {
    async fn get(&self, path: &str) -> (StatusCode, Value) {
        call(&self.router, Method::GET, path, None, None).await
    }

    async fn userinfo(&self, token: &str) -> (StatusCode, Value) {
        let bearer = format!("Bearer {token}");
        call(&self.router, Method::GET, USERINFO, Some(&bearer), None).await
    }

    async fn token(&self, form: &[(&str, &str)]) -> (u16, Value) {
        let (status, body) = call(&self.router, Method::POST, TOKEN, None, Some(form)).await;
        (status.as_u16(), body)
    }

    /// A password grant through `admin-ui`; an empty `scope` is left out (Keycloak refuses an
    /// empty `scope` parameter with `invalid_scope`).
    async fn password(&self, user: &str, pw: &str, scope: &str) -> (u16, Value) {
        let mut form = vec![
            ("grant_type", "password"),
            ("client_id", "admin-ui"),
            ("client_secret", self.ui_secret.as_str()),
            ("username", user),
            ("password", pw),
        ];
        if !scope.is_empty() {
            form.push(("scope", scope));
        }
        self.token(&form).await
    }
}

#[tokio::test]
async fn discovery_realm_info_and_jwks() {
    let env = env().await;
    let issuer = format!("{BASE_URL}/realms/primehub");
    let (status, disco) = env
        .get("/realms/primehub/.well-known/openid-configuration")
        .await;
    assert_eq!(status, 200);
    assert_eq!(disco["issuer"], issuer);
    assert_eq!(
        disco["token_endpoint"],
        format!("{issuer}/protocol/openid-connect/token")
    );
    assert_eq!(
        disco["jwks_uri"],
        format!("{issuer}/protocol/openid-connect/certs")
    );
    let (status, info) = env.get("/realms/primehub").await;
    assert_eq!(status, 200);
    assert_eq!(info["realm"], "primehub");
    assert_eq!(info["public_key"], key().public_key_base64());
    assert_eq!(
        info["token-service"],
        format!("{issuer}/protocol/openid-connect")
    );
    let (status, _) = env.get("/realms/nope").await;
    assert_eq!(status, 404);
    let (status, jwks) = env.get(CERTS).await;
    assert_eq!(status, 200);
    assert_eq!(jwks["keys"][0]["kid"], key().kid());
    assert_eq!(jwks["keys"][0]["alg"], "RS256");
    assert_eq!(jwks["keys"][0]["use"], "sig");
}

#[tokio::test]
async fn password_grant_token_verifies_with_the_jwks() {
    let env = env().await;
    let (status, body) = env.password("alice", "alicepw", "openid").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 300);
    let token = body["access_token"].as_str().unwrap();

    let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_value(env.get(CERTS).await.1).unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    let jwk = jwks.find(header.kid.as_deref().unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    let issuer = format!("{BASE_URL}/realms/primehub");
    validation.set_issuer(&[&issuer]);
    // admin-ui has fullScopeAllowed false (PrimeHub's client-admin-ui.json): alice holds no
    // role in its scope, so the token has no audience and no realm roles.
    validation.validate_aud = false;
    // The fake's clock is in 2023; check expiry against it below instead.
    validation.validate_exp = false;
    let data =
        jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
            .unwrap();
    let c = data.claims;
    assert_eq!(c["typ"], "Bearer");
    assert_eq!(c["azp"], "admin-ui");
    assert_eq!(c["preferred_username"], "alice");
    assert_eq!(c["email"], "alice@example.com");
    assert_eq!(c["given_name"], "Alice");
    assert_eq!(c["family_name"], "Liddell");
    assert_eq!(c["name"], "Alice Liddell");
    assert_eq!(c["iat"], 1_700_000_000);
    assert_eq!(c["exp"], 1_700_000_300);
    assert!(c["sid"].is_string());
    assert!(c.get("aud").is_none() || c["aud"] == json!([]), "{c}");
    assert!(c.get("realm_access").is_none(), "no realm roles: {c}");
    let sub = c["sub"].as_str().unwrap();
    let realm = env.kc.realm("primehub").unwrap();
    assert_eq!(realm.get_user(sub).await.unwrap().username, "alice");

    // userinfo with the same token.
    let (status, info) = env.userinfo(token).await;
    assert_eq!(status, 200);
    assert_eq!(info["sub"], sub);
    assert_eq!(info["preferred_username"], "alice");

    // Admin token: aud includes realm-management, resource_access has realm-admin.
    let (_, admin) = env.password("phadmin", "adminpw", "").await;
    let claims = realm
        .verify_access_token(admin["access_token"].as_str().unwrap())
        .unwrap();
    assert!(
        claims["resource_access"]["realm-management"]["roles"]
            .as_array()
            .is_some_and(
                |roles| roles.len() == 22 && roles.contains(&serde_json::json!("realm-admin"))
            ),
        "realm-admin expanded into the 22 realm-management roles: {claims}"
    );
    let aud = &claims["aud"];
    assert!(
        aud == "realm-management"
            || aud
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == "realm-management")),
        "{aud}"
    );
}

#[tokio::test]
async fn bad_credentials_are_rejected_like_keycloak() {
    let env = env().await;
    // Keycloak 26.7 answers 400 (older Keycloak versions: 401).
    let (status, body) = env.password("alice", "wrong", "").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(body["error_description"], "Invalid user credentials");
    let (status, _) = env.password("nobody", "x", "").await;
    assert_eq!(status, 400);
    let (status, body) = env
        .token(&[
            ("grant_type", "password"),
            ("client_id", "admin-ui"),
            ("client_secret", "bad"),
            ("username", "alice"),
            ("password", "alicepw"),
        ])
        .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "unauthorized_client");
    let (status, body) = env
        .token(&[("grant_type", "magic"), ("client_id", "admin-cli")])
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "unsupported_grant_type");
    // Public client admin-cli with direct access grants works without a secret.
    let (status, _) = env
        .token(&[
            ("grant_type", "password"),
            ("client_id", "admin-cli"),
            ("username", "alice"),
            ("password", "alicepw"),
        ])
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn client_credentials_with_basic_auth() {
    let env = env().await;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("admin-ui:{}", env.ui_secret))
    );
    let (status, body) = call(
        &env.router,
        Method::POST,
        TOKEN,
        Some(&basic),
        Some(&[("grant_type", "client_credentials")]),
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.get("refresh_token").is_none());
    let realm = env.kc.realm("primehub").unwrap();
    let c = realm
        .verify_access_token(body["access_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(c["preferred_username"], "service-account-admin-ui");
    assert_eq!(c["client_id"], "admin-ui");
}

#[tokio::test]
async fn refresh_and_expiry_with_the_injected_clock() {
    let env = env().await;
    let (_, body) = env.password("alice", "alicepw", "").await;
    let access = body["access_token"].as_str().unwrap().to_owned();
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(body["refresh_expires_in"], 1800);
    let realm = env.kc.realm("primehub").unwrap();
    assert!(realm.verify_access_token(&access).is_ok());

    env.now.advance(jiff::SignedDuration::from_secs(301));
    assert!(realm.verify_access_token(&access).is_err(), "expired");
    let (status, _) = env.userinfo(&access).await;
    assert_eq!(status, 401);

    let (status, body) = env
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", "admin-ui"),
            ("client_secret", &env.ui_secret),
            ("refresh_token", &refresh),
        ])
        .await;
    assert_eq!(status, 200, "{body}");
    let fresh = body["access_token"].as_str().unwrap();
    assert!(realm.verify_access_token(fresh).is_ok());

    // The refresh token itself expires after the SSO idle time.
    env.now.advance(jiff::SignedDuration::from_secs(1801));
    let (status, body) = env
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", "admin-ui"),
            ("client_secret", &env.ui_secret),
            ("refresh_token", &refresh),
        ])
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn offline_token_session_is_listed_revoked_and_then_rejected() {
    let env = env().await;
    let (status, body) = env.password("alice", "alicepw", "offline_access").await;
    assert_eq!(status, 200, "{body}");
    let offline = body["refresh_token"].as_str().unwrap().to_owned();
    let payload = offline.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["typ"], "Offline");
    assert_eq!(body["refresh_expires_in"], 0);

    let realm = env.kc.realm("primehub").unwrap();
    let alice = realm.find_user_by_username("alice").await.unwrap().unwrap();
    let sessions = realm.offline_sessions(&alice.id, "admin-ui").await.unwrap();
    assert_eq!(sessions.len(), 1);

    // Offline tokens outlive the SSO idle time.
    env.now.advance(jiff::SignedDuration::from_secs(86_400));
    let refresh = [
        ("grant_type", "refresh_token"),
        ("client_id", "admin-ui"),
        ("client_secret", env.ui_secret.as_str()),
        ("refresh_token", offline.as_str()),
    ];
    let (status, body) = env.token(&refresh).await;
    assert_eq!(status, 200, "{body}");

    realm
        .revoke_offline_sessions(&alice.id, "admin-ui")
        .await
        .unwrap();
    assert!(
        realm
            .offline_sessions(&alice.id, "admin-ui")
            .await
            .unwrap()
            .is_empty()
    );
    let (status, body) = env.token(&refresh).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
}
