//! The shared conformance suite against the in-memory fake.
#![cfg(feature = "fake")]
#![allow(clippy::unwrap_used)]

use primehub_keycloak::fake::{BootstrapOptions, FakeKeycloak};

#[tokio::test]
async fn fake_realm_passes_conformance() {
    let kc = FakeKeycloak::new().unwrap();
    let shape = kc
        .bootstrap_primehub("primehub", &BootstrapOptions::default())
        .await
        .unwrap();
    let realm = kc.realm("primehub").unwrap();
    primehub_keycloak::conformance::run_all(&realm).await;
    primehub_keycloak::conformance::primehub_client_scope_mappings(&realm).await;
    let secrets = crate::grants::ClientSecrets {
        admin_ui: &shape.admin_ui_client_secret,
        jupyterhub: &shape.jupyterhub_client_secret,
    };
    primehub_keycloak::conformance::primehub_client_token_scopes(
        &realm,
        async |client: &str, user: Option<(&str, &str)>| {
            let secret = secrets.of(client);
            let tokens = match user {
                Some((username, password)) => {
                    realm.token_password(client, Some(secret), username, password, None)?
                }
                None => realm.token_client_credentials(client, secret)?,
            };
            Ok(tokens.access_token)
        },
    )
    .await;
}

#[tokio::test]
async fn plain_realm_with_unmanaged_attributes_passes_conformance() {
    let kc = FakeKeycloak::new().unwrap();
    let realm = kc.create_realm("plain").unwrap();
    realm.set_user_profile_policy(Some("ENABLED")).unwrap();
    primehub_keycloak::conformance::run_all(&realm).await;
}
