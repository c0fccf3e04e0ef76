//! `bootstrap::write_client_secrets` on the fake cluster: PrimeHub's client Secrets, created,
//! left alone when equal (same resourceVersion), repaired when they differ.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use primehub_keycloak::bootstrap::BootstrapOutcome;
use primehub_keycloak::fake::{BootstrapOptions, FakeKeycloak};
use primehub_reconcile::bootstrap::{
    ADMIN_UI_SECRET, JUPYTERHUB_SECRET, SecretChange, write_client_secrets,
};
use primehub_reconcile::fake::FakeCluster;
use primehub_reconcile::{KubeApi, KubeError, Typed};

/// An outcome as a realm bootstrap returns it.
pub(crate) fn outcome(admin_ui: &str, jupyterhub: &str, everyone: &str) -> BootstrapOutcome {
    BootstrapOutcome {
        realm: "primehub".into(),
        admin_ui_client_secret: admin_ui.into(),
        jupyterhub_client_secret: jupyterhub.into(),
        everyone_group_id: everyone.into(),
        admin_user_id: None,
        created: Vec::new(),
        present: Vec::new(),
    }
}

/// The Secret's data as strings.
pub(crate) fn data(secret: &Secret) -> BTreeMap<String, String> {
    secret
        .data
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8(v.0).expect("utf-8 secret data")))
        .collect()
}

pub(crate) fn expected_admin_ui(secret: &str, everyone: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("client_id".into(), "admin-ui".into()),
        ("client_secret".into(), secret.into()),
        ("everyone_group_id".into(), everyone.into()),
    ])
}

pub(crate) fn expected_jupyterhub(secret: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("client_id".into(), "jupyterhub".into()),
        ("client_secret".into(), secret.into()),
    ])
}

fn changes(written: &[primehub_reconcile::bootstrap::WrittenSecret]) -> Vec<(&str, SecretChange)> {
    written
        .iter()
        .map(|w| (w.name.as_str(), w.change))
        .collect()
}

#[tokio::test]
async fn the_secrets_are_written_once_and_then_left_alone() {
    let api: Arc<dyn KubeApi> = Arc::new(FakeCluster::new());
    let outcome = outcome("ui-secret", "hub-secret", "everyone-id");
    let first = write_client_secrets(Arc::clone(&api), "hub", &outcome)
        .await
        .expect("first write");
    assert_eq!(
        changes(&first),
        [
            (ADMIN_UI_SECRET, SecretChange::Created),
            (JUPYTERHUB_SECRET, SecretChange::Created)
        ]
    );
    let secrets = Typed::<Secret>::namespaced(Arc::clone(&api), "hub");
    let admin_ui = secrets.get(ADMIN_UI_SECRET).await.expect("admin-ui secret");
    let jupyterhub = secrets
        .get(JUPYTERHUB_SECRET)
        .await
        .expect("jupyterhub secret");
    assert_eq!(
        data(&admin_ui),
        expected_admin_ui("ui-secret", "everyone-id")
    );
    assert_eq!(data(&jupyterhub), expected_jupyterhub("hub-secret"));
    assert_eq!(admin_ui.type_.as_deref(), Some("Opaque"));
    assert_eq!(admin_ui.metadata.labels, None, "upstream sets no labels");

    let second = write_client_secrets(Arc::clone(&api), "hub", &outcome)
        .await
        .expect("second write");
    assert_eq!(
        changes(&second),
        [
            (ADMIN_UI_SECRET, SecretChange::Unchanged),
            (JUPYTERHUB_SECRET, SecretChange::Unchanged)
        ]
    );
    let again = secrets.get(ADMIN_UI_SECRET).await.expect("admin-ui secret");
    assert_eq!(
        again.metadata.resource_version, admin_ui.metadata.resource_version,
        "an equal Secret is not written"
    );
    let again = secrets
        .get(JUPYTERHUB_SECRET)
        .await
        .expect("jupyterhub secret");
    assert_eq!(
        again.metadata.resource_version,
        jupyterhub.metadata.resource_version
    );
}

#[tokio::test]
async fn a_secret_with_other_data_is_replaced_keeping_its_metadata() {
    let api: Arc<dyn KubeApi> = Arc::new(FakeCluster::new());
    let secrets = Typed::<Secret>::namespaced(Arc::clone(&api), "hub");
    // An old Secret: a stale client secret, an extra key, and a label someone added.
    let mut old = Secret::default();
    old.metadata.name = Some(ADMIN_UI_SECRET.into());
    old.metadata.labels = Some(BTreeMap::from([("team".into(), "ops".into())]));
    old.data = Some(BTreeMap::from([
        ("client_id".into(), ByteString(b"admin-ui".to_vec())),
        ("client_secret".into(), ByteString(b"stale".to_vec())),
        ("leftover".into(), ByteString(b"x".to_vec())),
    ]));
    let old = secrets.create(&old).await.expect("old secret");

    let written = write_client_secrets(
        Arc::clone(&api),
        "hub",
        &outcome("fresh", "hub-secret", "everyone-id"),
    )
    .await
    .expect("write");
    assert_eq!(
        changes(&written),
        [
            (ADMIN_UI_SECRET, SecretChange::Updated),
            (JUPYTERHUB_SECRET, SecretChange::Created)
        ]
    );
    let now = secrets.get(ADMIN_UI_SECRET).await.expect("admin-ui secret");
    assert_eq!(data(&now), expected_admin_ui("fresh", "everyone-id"));
    assert_eq!(now.metadata.labels, old.metadata.labels);
    assert_eq!(now.metadata.uid, old.metadata.uid, "updated, not recreated");
    assert_ne!(now.metadata.resource_version, old.metadata.resource_version);
}

#[tokio::test]
async fn a_missing_namespace_or_an_empty_outcome_is_an_error() {
    let api: Arc<dyn KubeApi> = Arc::new(FakeCluster::new());
    let good = outcome("a", "b", "c");
    assert!(matches!(
        write_client_secrets(Arc::clone(&api), "nowhere", &good).await,
        Err(KubeError::NotFound { .. })
    ));
    assert!(matches!(
        write_client_secrets(Arc::clone(&api), " ", &good).await,
        Err(KubeError::BadRequest { .. })
    ));
    assert!(matches!(
        write_client_secrets(Arc::clone(&api), "hub", &outcome("a", "b", "")).await,
        Err(KubeError::BadRequest { .. })
    ));
    let secrets = Typed::<Secret>::namespaced(api, "hub");
    assert_eq!(
        secrets.get_opt(ADMIN_UI_SECRET).await.expect("get"),
        None,
        "nothing is written for a bad outcome"
    );
}

#[tokio::test]
async fn the_secrets_hold_what_the_fake_keycloaks_bootstrap_returned() {
    let keycloak = FakeKeycloak::new().expect("fake Keycloak");
    let realm = keycloak
        .bootstrap(&BootstrapOptions::default().to_spec("primehub"))
        .await
        .expect("realm bootstrap");
    let api: Arc<dyn KubeApi> = Arc::new(FakeCluster::new());
    write_client_secrets(Arc::clone(&api), "hub", &realm)
        .await
        .expect("write");
    let secrets = Typed::<Secret>::namespaced(api, "hub");
    let admin_ui = data(&secrets.get(ADMIN_UI_SECRET).await.expect("admin-ui"));
    // The secret in the Secret is one the fake Keycloak accepts for admin-ui.
    let fake_realm = keycloak.realm("primehub").expect("realm");
    fake_realm
        .token_client_credentials("admin-ui", &admin_ui["client_secret"])
        .expect("admin-ui logs in with the Secret's client_secret");
    assert_eq!(admin_ui["everyone_group_id"], realm.everyone_group_id);
}
