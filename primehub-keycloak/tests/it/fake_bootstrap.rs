//! The fake's realm comes from the same bootstrap a real Keycloak gets, and has PrimeHub's shape
//! (chart/scripts/bootstrap of InfuseAI/primehub). The same shape is checked on Keycloak 26 in
//! `real_keycloak.rs`.
#![cfg(feature = "fake")]

use primehub_keycloak::bootstrap::RealmBootstrap;
use primehub_keycloak::fake::{BootstrapOptions, FakeKeycloak};
use primehub_keycloak::{KeycloakAdmin, Page};

fn options() -> BootstrapOptions {
    BootstrapOptions {
        admin_password: "Ph-admin-1".into(),
        ..BootstrapOptions::default()
    }
}

#[tokio::test]
async fn a_fresh_realm_gets_primehubs_shape() {
    let kc = FakeKeycloak::new().expect("fake");
    let shape = kc
        .bootstrap_primehub("primehub", &options())
        .await
        .expect("bootstrap");
    let realm = kc.realm("primehub").expect("realm");

    let everyone = realm
        .get_group(&shape.everyone_group_id)
        .await
        .expect("everyone");
    assert_eq!(everyone.name, "everyone");
    assert_eq!(everyone.attributes["displayName"], ["Global"]);
    assert_eq!(everyone.attributes["quota-cpu"], ["0"]);
    assert_eq!(everyone.attributes["quota-gpu"], ["0"]);
    let defaults = realm.default_groups().await.expect("defaults");
    assert_eq!(defaults.len(), 1);
    assert_eq!(defaults[0].id, shape.everyone_group_id);
    let global: Vec<String> = realm
        .list_group_roles(&shape.everyone_group_id)
        .await
        .expect("global roles")
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(
        global,
        [
            "img:base-notebook",
            "img:pytorch-1",
            "img:tf-1",
            "img:tf-2",
            "it:cpu-1",
            "it:cpu-2",
            "it:gpu-1",
            "it:gpu-2"
        ]
    );

    let phadmin = realm.get_user(&shape.admin_user_id).await.expect("phadmin");
    assert_eq!(phadmin.username, "phadmin");
    assert_eq!(phadmin.email.as_deref(), Some("phadmin@example.com"));
    assert!(realm.is_admin(&phadmin.id).await.expect("admin"));
    let phusers = realm
        .find_group_by_name("phusers")
        .await
        .expect("lookup")
        .expect("phusers");
    assert_eq!(phusers.attributes["displayName"], ["primehub users"]);
    assert_eq!(phusers.attributes["admins"], ["phadmin"]);
    let members = realm
        .list_members(&phusers.id, Page::default())
        .await
        .expect("members");
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].id, phadmin.id);

    // jupyterhub tokens carry the realm roles under `roles` (the mapper PrimeHub names `roles`).
    let jh = realm
        .token_password(
            "jupyterhub",
            Some(&shape.jupyterhub_client_secret),
            "phadmin",
            "Ph-admin-1",
            None,
        )
        .expect("jupyterhub login");
    let claims = realm
        .verify_access_token(&jh.access_token)
        .expect("jupyterhub token");
    let roles = claims["roles"].as_array().expect("roles claim");
    assert!(roles.iter().any(|r| r == "img:base-notebook"), "{claims}");
    assert_eq!(claims["preferred_username"], "phadmin");
    assert_eq!(claims["email"], "phadmin@example.com");
    assert_eq!(claims["email_verified"], true);
    assert!(
        claims["groups"]
            .as_array()
            .is_some_and(|g| g.iter().any(|g| g == "/phusers"))
    );

    // admin-ui (fullScopeAllowed false, scope realm-management/realm-admin): no resource roles.
    let ui = realm
        .token_password(
            "admin-ui",
            Some(&shape.admin_ui_client_secret),
            "phadmin",
            "Ph-admin-1",
            None,
        )
        .expect("admin-ui login");
    let claims = realm
        .verify_access_token(&ui.access_token)
        .expect("admin-ui token");
    assert!(claims.get("realm_access").is_none(), "{claims}");
    let clients: Vec<&String> = claims["resource_access"]
        .as_object()
        .expect("resource_access")
        .keys()
        .collect();
    assert_eq!(clients, ["realm-management"]);
    // realm-admin and the 21 roles the composite contains (as Keycloak expands it).
    let roles = claims["resource_access"]["realm-management"]["roles"]
        .as_array()
        .expect("realm-management roles");
    assert_eq!(roles.len(), 22, "{roles:?}");
    assert!(
        roles.contains(&serde_json::json!("realm-admin")),
        "{roles:?}"
    );
    assert!(
        roles.contains(&serde_json::json!("view-users")),
        "{roles:?}"
    );
}

#[tokio::test]
async fn running_the_bootstrap_again_changes_nothing() {
    let kc = FakeKeycloak::new().expect("fake");
    let first = kc
        .bootstrap_primehub("primehub", &options())
        .await
        .expect("first");
    let spec = options().to_spec("primehub");
    let again = kc.bootstrap(&spec).await.expect("second");
    assert!(
        !again.changed(),
        "created on the second run: {:?}",
        again.created
    );
    assert_eq!(again.admin_ui_client_secret, first.admin_ui_client_secret);
    assert_eq!(
        again.jupyterhub_client_secret,
        first.jupyterhub_client_secret
    );
    assert_eq!(again.everyone_group_id, first.everyone_group_id);
    assert_eq!(
        again.admin_user_id.as_deref(),
        Some(first.admin_user_id.as_str())
    );
    let realm = kc.realm("primehub").expect("realm");
    assert_eq!(realm.count_groups(None).await.expect("groups"), 2);

    // Without users the fresh-install defaults are skipped, and no admin is reported.
    let bare = kc
        .bootstrap(&RealmBootstrap::new("bare"))
        .await
        .expect("bare");
    assert!(bare.admin_user_id.is_none());
    let bare_realm = kc.realm("bare").expect("bare realm");
    assert!(
        bare_realm
            .find_group_by_name("phusers")
            .await
            .expect("lookup")
            .is_none()
    );
}
