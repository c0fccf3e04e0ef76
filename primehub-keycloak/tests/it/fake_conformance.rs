//! The shared conformance suite against the in-memory fake.
#![cfg(feature = "fake")]
#![allow(clippy::unwrap_used)]

use primehub_keycloak::fake::{BootstrapOptions, FakeKeycloak};

#[tokio::test]
async fn fake_realm_passes_conformance() {
    let kc = FakeKeycloak::new().unwrap();
    kc.bootstrap_primehub("primehub", &BootstrapOptions::default())
        .await
        .unwrap();
    let realm = kc.realm("primehub").unwrap();
    primehub_keycloak::conformance::run_all(&realm).await;
}

#[tokio::test]
async fn plain_realm_with_unmanaged_attributes_passes_conformance() {
    let kc = FakeKeycloak::new().unwrap();
    let realm = kc.create_realm("plain").unwrap();
    realm.set_user_profile_policy(Some("ENABLED")).unwrap();
    primehub_keycloak::conformance::run_all(&realm).await;
}
