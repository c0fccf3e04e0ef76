//! The reqwest client (`HttpKeycloak`) against the fake's HTTP face runs the conformance suite:
//! the face speaks the admin REST API the client speaks to a real Keycloak.
#![cfg(feature = "fake")]
#![allow(clippy::unwrap_used)]

use primehub_keycloak::fake::{BootstrapOptions, FakeKeycloak};
use primehub_keycloak::http::{Credentials, HttpKeycloak, HttpKeycloakConfig};

#[tokio::test]
async fn http_client_against_fake_face_passes_conformance_with_a_service_account() {
    let kc = FakeKeycloak::new().unwrap();
    let server = kc
        .serve(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap())
        .unwrap();
    let shape = kc
        .bootstrap_primehub("primehub", &BootstrapOptions::default())
        .await
        .unwrap();
    let client = HttpKeycloak::new(HttpKeycloakConfig::new(
        server.url().parse().unwrap(),
        "primehub",
        Credentials::client("primehub", "admin-ui", &shape.admin_ui_client_secret),
    ))
    .unwrap();
    primehub_keycloak::conformance::run_all(&client).await;
    primehub_keycloak::conformance::primehub_client_scope_mappings(&client).await;
    let base: url::Url = server.url().parse().unwrap();
    let secrets = crate::grants::ClientSecrets {
        admin_ui: &shape.admin_ui_client_secret,
        jupyterhub: &shape.jupyterhub_client_secret,
    };
    primehub_keycloak::conformance::primehub_client_token_scopes(
        &client,
        async |client: &str, user: Option<(&str, &str)>| {
            crate::grants::http_grant(&base, "primehub", &secrets, client, user).await
        },
    )
    .await;
    server.shutdown().await;
}

#[tokio::test]
async fn http_client_against_fake_face_passes_conformance_as_master_admin() {
    let kc = FakeKeycloak::builder()
        .admin_password("masterpw")
        .build()
        .unwrap();
    let server = kc
        .serve(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap())
        .unwrap();
    let realm = kc.create_realm("plain").unwrap();
    realm.set_user_profile_policy(Some("ENABLED")).unwrap();
    let client = HttpKeycloak::new(HttpKeycloakConfig::new(
        server.url().parse().unwrap(),
        "plain",
        Credentials::master_admin("admin", "masterpw"),
    ))
    .unwrap();
    primehub_keycloak::conformance::run_all(&client).await;
    server.shutdown().await;
}

#[tokio::test]
async fn http_bootstrap_against_fake_face_is_idempotent_and_usable() {
    use primehub_keycloak::KeycloakAdmin;
    use primehub_keycloak::bootstrap::{RealmBootstrap, bootstrap_realm, delete_realm};

    let kc = FakeKeycloak::builder()
        .admin_password("masterpw")
        .build()
        .unwrap();
    let server = kc
        .serve(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap())
        .unwrap();
    let master = HttpKeycloak::new(HttpKeycloakConfig::new(
        server.url().parse().unwrap(),
        "master",
        Credentials::master_admin("admin", "masterpw"),
    ))
    .unwrap();
    let spec = RealmBootstrap::new("primehub").with_admin_user("phadmin", "pw");
    let first = bootstrap_realm(&master, &spec).await.unwrap();
    assert!(first.changed());
    let second = bootstrap_realm(&master, &spec).await.unwrap();
    assert!(!second.changed(), "second run created {:?}", second.created);
    assert_eq!(first.admin_ui_client_secret, second.admin_ui_client_secret);
    assert_eq!(first.everyone_group_id, second.everyone_group_id);

    // The realm the HTTP bootstrap built works on the fake: admin, default group, mappers.
    let realm = kc.realm("primehub").unwrap();
    let admin_id = first.admin_user_id.clone().unwrap();
    assert!(realm.is_admin(&admin_id).await.unwrap());
    assert_eq!(
        realm.default_groups().await.unwrap()[0].id,
        first.everyone_group_id
    );
    let tokens = realm.issue_tokens("phadmin", "jupyterhub", None).unwrap();
    let claims = realm.verify_access_token(&tokens.access_token).unwrap();
    assert!(
        claims["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g == "/everyone"),
        "{claims}"
    );
    assert!(claims["roles"].is_array(), "{claims}");
    let sa = realm
        .token_client_credentials("admin-ui", &first.admin_ui_client_secret)
        .unwrap();
    let claims = realm.verify_access_token(&sa.access_token).unwrap();
    assert!(
        claims["resource_access"]["realm-management"]["roles"]
            .as_array()
            .is_some_and(
                |roles| roles.len() == 22 && roles.contains(&serde_json::json!("realm-admin"))
            ),
        "realm-admin expanded into the 22 realm-management roles: {claims}"
    );

    delete_realm(&master, "primehub").await.unwrap();
    assert!(kc.realm("primehub").is_err());
    server.shutdown().await;
}
