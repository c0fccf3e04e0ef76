//! TokenVerifier against tokens issued by the fake Keycloak over real HTTP: every rejection is
//! distinct, API tokens are exchanged once and cached. (The same checks run against a real
//! Keycloak in `real_keycloak.rs`.)
#![cfg(feature = "fake")]

use std::sync::Arc;

use jiff::SignedDuration;
use primehub_model::clock::ManualClock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use primehub_keycloak::fake::{BootstrapOptions, FakeKeycloak, FakeServer, PrimehubRealm};
use primehub_keycloak::token::{TokenVerifier, TokenVerifierConfig};
use primehub_keycloak::{KeycloakAdmin, KeycloakError, TokenRejection};

struct World {
    kc: FakeKeycloak,
    server: FakeServer,
    realm: PrimehubRealm,
    /// The one clock of the fake Keycloak and of every verifier.
    clock: Arc<ManualClock>,
}

async fn world() -> World {
    let clock = Arc::new(ManualClock::starting_now());
    let kc = FakeKeycloak::builder()
        .clock(clock.clone())
        .build()
        .expect("fake keycloak");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let server = kc.serve(listener).expect("serve");
    let realm = kc
        .bootstrap_primehub(
            "primehub",
            &BootstrapOptions {
                admin_password: "Secret-1".into(),
                ..BootstrapOptions::default()
            },
        )
        .await
        .expect("bootstrap");
    World {
        kc,
        server,
        realm,
        clock,
    }
}

impl World {
    fn issuer(&self, realm: &str) -> String {
        format!("{}/realms/{realm}", self.server.url().trim_end_matches('/'))
    }

    fn verifier_for(&self, realm: &str, audiences: &[&str]) -> TokenVerifier {
        let mut config = TokenVerifierConfig::new(self.issuer(realm), audiences.iter().copied());
        config.clock = self.clock.clone();
        config.api_token_client = Some((
            "admin-ui".to_owned(),
            self.realm.admin_ui_client_secret.clone(),
        ));
        TokenVerifier::new(config).expect("verifier")
    }

    fn verifier(&self) -> TokenVerifier {
        self.verifier_for("primehub", &["admin-ui", "jupyterhub"])
    }

    fn password_token(&self, scope: Option<&str>) -> primehub_keycloak::fake::TokenResponse {
        self.kc
            .realm("primehub")
            .expect("realm")
            .token_password(
                "jupyterhub",
                Some(&self.realm.jupyterhub_client_secret),
                "phadmin",
                "Secret-1",
                scope,
            )
            .expect("password grant")
    }
}

fn rejection(result: primehub_keycloak::Result<impl std::fmt::Debug>) -> TokenRejection {
    match result {
        Err(KeycloakError::InvalidToken(r)) => r,
        other => panic!("expected InvalidToken, got {other:?}"),
    }
}

fn with_header(token: &str, header: &str) -> String {
    let mut parts = token.splitn(2, '.');
    let _ = parts.next();
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        parts.next().unwrap_or_default()
    )
}

#[tokio::test]
async fn accepts_a_keycloak_access_token_and_reads_who_it_is() {
    let w = world().await;
    let token = w.password_token(None);
    let who = w
        .verifier()
        .verify(&token.access_token)
        .await
        .expect("valid token");
    assert_eq!(who.username, "phadmin");
    assert_eq!(who.user_id, w.realm.admin_user_id);
    assert!(who.is_admin, "phadmin holds realm-management/realm-admin");
    assert_eq!(who.authorized_party.as_deref(), Some("jupyterhub"));

    let service =
        w.kc.realm("primehub")
            .expect("realm")
            .token_client_credentials("admin-ui", &w.realm.admin_ui_client_secret)
            .expect("client credentials");
    let who = w
        .verifier()
        .verify(&service.access_token)
        .await
        .expect("service account token");
    assert_eq!(who.username, "service-account-admin-ui");
    assert!(who.is_admin);
}

#[tokio::test]
async fn a_plain_user_is_not_admin_and_realm_roles_come_through() {
    let w = world().await;
    let realm = w.kc.realm("primehub").expect("realm");
    let uid = realm
        .create_user(&primehub_keycloak::NewUser {
            username: "alice".into(),
            enabled: true,
            password: Some("Alice-Passw0rd".into()),
            ..Default::default()
        })
        .await
        .expect("create alice");
    realm
        .create_role("img:team-notebook", None)
        .await
        .expect("role");
    let everyone = w.realm.everyone_group_id.clone();
    realm
        .add_group_roles(&everyone, &["img:team-notebook".to_owned()])
        .await
        .expect("map");
    realm.add_member(&everyone, &uid).await.expect("member");
    let token = realm
        .token_password(
            "jupyterhub",
            Some(&w.realm.jupyterhub_client_secret),
            "alice",
            "Alice-Passw0rd",
            None,
        )
        .expect("grant");
    let who = w
        .verifier()
        .verify(&token.access_token)
        .await
        .expect("valid");
    assert_eq!(who.username, "alice");
    assert!(!who.is_admin);
    assert!(
        who.realm_roles.iter().any(|r| r == "img:team-notebook"),
        "{:?}",
        who.realm_roles
    );
}

#[tokio::test]
async fn expired_and_future_tokens_are_rejected_with_leeway() {
    let w = world().await;
    let token = w.password_token(None);
    let verifier = w.verifier();
    // Keycloak's default access-token lifespan is 300 s; the leeway is 30 s.
    w.clock.advance(SignedDuration::from_secs(300 + 29));
    verifier
        .verify(&token.access_token)
        .await
        .expect("inside the leeway");
    w.clock.advance(SignedDuration::from_secs(2));
    assert_eq!(
        rejection(verifier.verify(&token.access_token).await),
        TokenRejection::Expired
    );
}

#[tokio::test]
async fn tampered_forged_and_foreign_tokens_are_rejected() {
    let w = world().await;
    let token = w.password_token(None).access_token;
    let verifier = w.verifier();

    // Change the payload, keep the signature.
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("json");
    claims["preferred_username"] = serde_json::json!("mallory");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).expect("json")),
        parts[2]
    );
    assert_eq!(
        rejection(verifier.verify(&tampered).await),
        TokenRejection::BadSignature
    );

    // Signed by another Keycloak (another key, unknown kid).
    let other = FakeKeycloak::new().expect("other fake");
    other.set_base_url(w.server.url());
    let other_realm = other
        .bootstrap_primehub(
            "primehub",
            &BootstrapOptions {
                admin_password: "Secret-1".into(),
                ..Default::default()
            },
        )
        .await
        .expect("bootstrap");
    let forged = other
        .realm("primehub")
        .expect("realm")
        .token_password(
            "jupyterhub",
            Some(&other_realm.jupyterhub_client_secret),
            "phadmin",
            "Secret-1",
            None,
        )
        .expect("grant")
        .access_token;
    assert!(matches!(
        rejection(verifier.verify(&forged).await),
        TokenRejection::UnknownKey(_)
    ));

    // alg none and the HS256 confusion attack never reach signature checking.
    let none = with_header(&token, r#"{"alg":"none","typ":"JWT"}"#);
    let none = format!(
        "{}.",
        none.rsplit_once('.').map(|(a, _)| a).unwrap_or_default()
    );
    assert_eq!(
        rejection(verifier.verify(&none).await),
        TokenRejection::UnsupportedAlgorithm("none".into())
    );
    let hs = with_header(&token, r#"{"alg":"HS256","typ":"JWT"}"#);
    assert_eq!(
        rejection(verifier.verify(&hs).await),
        TokenRejection::UnsupportedAlgorithm("HS256".into())
    );
    for garbage in ["", "not-a-token", "a.b", "a.b.c.d", "%%%.e30.x"] {
        assert!(
            matches!(
                rejection(verifier.verify(garbage).await),
                TokenRejection::Malformed(_)
            ),
            "{garbage:?}"
        );
    }
}

#[tokio::test]
async fn issuer_and_audience_are_checked() {
    let w = world().await;
    w.kc.create_realm("other").expect("other realm");
    let token = w.password_token(None).access_token;
    let wrong_issuer = w.verifier_for("other", &["jupyterhub"]);
    assert!(matches!(
        rejection(wrong_issuer.verify(&token).await),
        TokenRejection::WrongIssuer { .. }
    ));
    let wrong_audience = w.verifier_for("primehub", &["some-other-client"]);
    match rejection(wrong_audience.verify(&token).await) {
        TokenRejection::WrongAudience { found, .. } => {
            assert!(found.contains(&"jupyterhub".to_owned()), "{found:?}")
        }
        other => panic!("expected WrongAudience, got {other:?}"),
    }
}

#[tokio::test]
async fn unknown_kids_refresh_the_jwks_at_most_every_ten_seconds() {
    let w = world().await;
    let verifier = w.verifier();
    let token = w.password_token(None).access_token;
    verifier.verify(&token).await.expect("valid");
    verifier.verify(&token).await.expect("valid again");
    assert_eq!(verifier.jwks_fetch_count(), 1, "known keys are cached");
    for kid in ["k1", "k2", "k3"] {
        let unknown = with_header(&token, &format!(r#"{{"alg":"RS256","kid":"{kid}"}}"#));
        assert!(matches!(
            rejection(verifier.verify(&unknown).await),
            TokenRejection::UnknownKey(_)
        ));
    }
    assert_eq!(
        verifier.jwks_fetch_count(),
        1,
        "unknown kids within 10 s cause no refetch"
    );
    assert_eq!(verifier.jwks_age(), Some(std::time::Duration::ZERO));
    w.clock.advance(SignedDuration::from_secs(9));
    let unknown = with_header(&token, r#"{"alg":"RS256","kid":"k4"}"#);
    assert!(verifier.verify(&unknown).await.is_err());
    assert_eq!(
        verifier.jwks_fetch_count(),
        1,
        "9 s later: still no refetch"
    );
    w.clock.advance(SignedDuration::from_secs(1));
    assert!(verifier.verify(&unknown).await.is_err());
    assert_eq!(
        verifier.jwks_fetch_count(),
        2,
        "10 s after the last fetch an unknown kid refetches the JWKS"
    );
    assert_eq!(verifier.jwks_age(), Some(std::time::Duration::ZERO));
}

#[tokio::test]
async fn api_tokens_are_exchanged_once_then_cached_and_die_when_revoked() {
    let w = world().await;
    let realm = w.kc.realm("primehub").expect("realm");
    let offline = realm
        .token_password(
            "admin-ui",
            Some(&w.realm.admin_ui_client_secret),
            "phadmin",
            "Secret-1",
            Some("offline_access"),
        )
        .expect("offline grant")
        .refresh_token
        .expect("an offline token");
    let verifier = w.verifier();
    let who = verifier
        .exchange_api_token(&offline)
        .await
        .expect("exchange");
    assert_eq!(who.username, "phadmin");
    verifier.exchange_api_token(&offline).await.expect("cached");
    assert_eq!(
        verifier.api_token_exchange_count(),
        1,
        "the second call is served from the cache"
    );
    w.clock.advance(SignedDuration::from_secs(31));
    verifier
        .exchange_api_token(&offline)
        .await
        .expect("exchanged again");
    assert_eq!(
        verifier.api_token_exchange_count(),
        2,
        "after the 30 s cache lifetime the API token is exchanged again"
    );

    let sessions = realm
        .offline_sessions(&w.realm.admin_user_id, "admin-ui")
        .await
        .expect("sessions");
    assert_eq!(sessions.len(), 1, "the API token is an offline session");
    realm
        .revoke_offline_sessions(&w.realm.admin_user_id, "admin-ui")
        .await
        .expect("revoke");
    let fresh = w.verifier();
    match fresh.exchange_api_token(&offline).await {
        Err(KeycloakError::Unauthorized { .. }) => {}
        other => panic!("a revoked API token must be refused, got {other:?}"),
    }
    let no_client =
        TokenVerifier::new(TokenVerifierConfig::new(w.issuer("primehub"), ["admin-ui"]))
            .expect("verifier");
    assert!(matches!(
        no_client.exchange_api_token(&offline).await,
        Err(KeycloakError::Invalid { .. })
    ));
}
