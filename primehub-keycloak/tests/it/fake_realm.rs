//! Semantics of `FakeRealm` as a `KeycloakAdmin`, and the fake-only helpers.
#![cfg(feature = "fake")]
#![allow(clippy::unwrap_used)]

use std::sync::OnceLock;

use primehub_keycloak::fake::{BootstrapOptions, ClientSpec, FakeKeycloak, FakeSigningKey};
use primehub_keycloak::{
    Attributes, GroupUpdate, KeycloakAdmin, KeycloakError, NewGroup, NewUser, Page, UserUpdate,
};

fn key() -> FakeSigningKey {
    static KEY: OnceLock<FakeSigningKey> = OnceLock::new();
    KEY.get_or_init(|| FakeSigningKey::generate().unwrap())
        .clone()
}

fn fake() -> FakeKeycloak {
    FakeKeycloak::builder().signing_key(key()).build().unwrap()
}

fn attrs(pairs: &[(&str, &str)]) -> Attributes {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), vec![(*v).to_owned()]))
        .collect()
}

fn user(name: &str) -> NewUser {
    NewUser {
        username: name.into(),
        enabled: true,
        ..NewUser::default()
    }
}

#[test]
fn keygen_is_fast_enough_and_kid_is_stable() {
    let started = std::time::Instant::now();
    let k = FakeSigningKey::generate().unwrap();
    let elapsed = started.elapsed();
    eprintln!("RSA-2048 keygen took {elapsed:?}");
    let jwks = k.jwks();
    assert_eq!(jwks["keys"][0]["kid"], k.kid());
    assert_eq!(jwks["keys"][0]["kty"], "RSA");
    assert_eq!(jwks["keys"][0]["e"], "AQAB");
    assert_eq!(k.jwks(), jwks, "kid and components are stable");
}

#[test]
fn new_fake_has_master_with_admin() {
    let kc = fake();
    assert_eq!(kc.realm_names(), vec!["master".to_owned()]);
    let master = kc.realm("master").unwrap();
    let t = master
        .token_password("admin-cli", None, "admin", "admin", None)
        .unwrap();
    let claims = master.verify_access_token(&t.access_token).unwrap();
    assert!(
        claims["realm_access"]["roles"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "admin")
    );
    assert!(kc.realm("nope").unwrap_err().is_not_found());
    assert!(kc.create_realm("master").unwrap_err().is_conflict());
}

#[tokio::test]
async fn users_are_lowercased_and_unique() {
    let kc = fake();
    let realm = kc.create_realm("r").unwrap();
    realm.set_user_profile_policy(Some("ENABLED")).unwrap();
    let id = realm
        .create_user(&NewUser {
            username: "Alice".into(),
            email: Some("Alice@Example.COM".into()),
            enabled: true,
            attributes: attrs(&[("volumeCapacity", "20G")]),
            ..NewUser::default()
        })
        .await
        .unwrap();
    let u = realm.get_user(&id).await.unwrap();
    assert_eq!(u.username, "alice");
    assert_eq!(u.email.as_deref(), Some("alice@example.com"));
    assert!(u.created_timestamp.is_some());
    assert_eq!(u.attributes, attrs(&[("volumeCapacity", "20G")]));
    assert_eq!(
        realm
            .find_user_by_username("ALICE")
            .await
            .unwrap()
            .map(|u| u.id),
        Some(id.clone())
    );
    assert_eq!(
        realm
            .find_user_by_email("alice@EXAMPLE.com")
            .await
            .unwrap()
            .map(|u| u.id),
        Some(id.clone())
    );
    assert!(
        realm
            .create_user(&user("ALICE"))
            .await
            .unwrap_err()
            .is_conflict()
    );
    let dup_email = NewUser {
        email: Some("ALICE@example.com".into()),
        ..user("bob")
    };
    assert!(
        realm
            .create_user(&dup_email)
            .await
            .unwrap_err()
            .is_conflict()
    );
    assert!(realm.get_user("missing").await.unwrap_err().is_not_found());
    assert!(
        realm
            .delete_user("missing")
            .await
            .unwrap_err()
            .is_not_found()
    );
}

#[tokio::test]
async fn unmanaged_attributes_are_dropped_without_the_profile_policy() {
    let kc = fake();
    let realm = kc.create_realm("r").unwrap();
    let id = realm
        .create_user(&NewUser {
            attributes: attrs(&[("timezone", "UTC")]),
            ..user("carol")
        })
        .await
        .unwrap();
    assert!(realm.get_user(&id).await.unwrap().attributes.is_empty());
}

#[tokio::test]
async fn user_update_search_and_paging() {
    let kc = fake();
    let realm = kc.create_realm("r").unwrap();
    realm.set_user_profile_policy(Some("ENABLED")).unwrap();
    for name in ["dave", "erin", "frank", "dana"] {
        realm.create_user(&user(name)).await.unwrap();
    }
    let all = realm.search_users(None, Page::first(10)).await.unwrap();
    let names: Vec<_> = all.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, ["dana", "dave", "erin", "frank"]);
    let page2 = realm
        .search_users(None, Page::first(2).next())
        .await
        .unwrap();
    assert_eq!(page2.len(), 2);
    assert_eq!(page2[0].username, "erin");
    let da = realm
        .search_users(Some("DA"), Page::first(10))
        .await
        .unwrap();
    assert_eq!(da.len(), 2);
    assert_eq!(realm.count_users(Some("a")).await.unwrap(), 3);
    assert_eq!(realm.count_users(None).await.unwrap(), 4);

    let id = all[0].id.clone();
    realm
        .update_user(
            &id,
            &UserUpdate {
                first_name: Some("Dana".into()),
                attributes: Some(attrs(&[("x", "1")])),
                ..UserUpdate::default()
            },
        )
        .await
        .unwrap();
    realm
        .update_user(
            &id,
            &UserUpdate {
                last_name: Some("Scully".into()),
                ..UserUpdate::default()
            },
        )
        .await
        .unwrap();
    let u = realm.get_user(&id).await.unwrap();
    assert_eq!(u.first_name.as_deref(), Some("Dana"));
    assert_eq!(u.last_name.as_deref(), Some("Scully"));
    assert_eq!(u.attributes, attrs(&[("x", "1")]));
    let scully = realm
        .search_users(Some("scul"), Page::default())
        .await
        .unwrap();
    assert_eq!(scully.len(), 1);
}

#[tokio::test]
async fn groups_members_roles_and_cascades() {
    let kc = fake();
    let realm = kc.create_realm("r").unwrap();
    let g = realm
        .create_group(&NewGroup {
            name: "Team".into(),
            attributes: attrs(&[("quota-cpu", "1")]),
        })
        .await
        .unwrap();
    // Sibling names are compared exactly, as Keycloak does.
    assert!(
        realm
            .create_group(&NewGroup {
                name: "Team".into(),
                ..NewGroup::default()
            })
            .await
            .unwrap_err()
            .is_conflict()
    );
    let other = realm
        .create_group(&NewGroup {
            name: "team".into(),
            ..NewGroup::default()
        })
        .await
        .unwrap();
    assert!(
        realm
            .update_group(
                &other,
                &GroupUpdate {
                    name: Some("Team".into()),
                    attributes: None
                }
            )
            .await
            .unwrap_err()
            .is_conflict()
    );
    assert_eq!(
        realm.find_group_by_name("Team").await.unwrap().unwrap().id,
        g
    );
    assert_eq!(realm.count_groups(Some("TEA")).await.unwrap(), 2);
    let got = realm.get_group(&g).await.unwrap();
    assert_eq!(got.path, "/Team");
    assert_eq!(got.attributes, attrs(&[("quota-cpu", "1")]));

    let u = realm.create_user(&user("gina")).await.unwrap();
    realm.add_member(&g, &u).await.unwrap();
    realm.add_member(&g, &u).await.unwrap();
    assert_eq!(
        realm.list_members(&g, Page::default()).await.unwrap().len(),
        1
    );
    assert_eq!(realm.user_groups(&u).await.unwrap()[0].id, g);
    assert!(
        realm
            .add_member(&g, "nobody")
            .await
            .unwrap_err()
            .is_not_found()
    );

    realm.create_role("img:base", None).await.unwrap();
    realm.create_role("it:cpu", Some("cpu")).await.unwrap();
    assert!(
        realm
            .create_role("img:base", None)
            .await
            .unwrap_err()
            .is_conflict()
    );
    let err = realm
        .add_group_roles(&g, &["img:base".into(), "img:nope".into()])
        .await
        .unwrap_err();
    assert!(err.is_not_found());
    assert!(
        realm.list_group_roles(&g).await.unwrap().is_empty(),
        "nothing mapped"
    );
    realm
        .add_group_roles(&g, &["img:base".into(), "it:cpu".into()])
        .await
        .unwrap();
    realm
        .add_group_roles(&g, &["img:base".into()])
        .await
        .unwrap();
    let roles: Vec<_> = realm
        .list_group_roles(&g)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(roles, ["img:base", "it:cpu"]);
    let imgs = realm
        .list_roles(Some("img:"), Page::default())
        .await
        .unwrap();
    assert_eq!(imgs.len(), 1);

    // The user gets the group's roles in tokens.
    let t = realm.issue_tokens("gina", "admin-cli", None).unwrap();
    let claims = realm.verify_access_token(&t.access_token).unwrap();
    let rr = claims["realm_access"]["roles"].as_array().unwrap();
    assert!(rr.iter().any(|r| r == "img:base"));

    realm.delete_role("img:base").await.unwrap();
    assert_eq!(realm.list_group_roles(&g).await.unwrap().len(), 1);
    realm.delete_group(&g).await.unwrap();
    assert!(realm.user_groups(&u).await.unwrap().is_empty());
    assert!(realm.get_group(&g).await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn admin_flag_and_default_groups() {
    let kc = fake();
    let realm = kc.create_realm("r").unwrap();
    let u = realm.create_user(&user("henry")).await.unwrap();
    assert!(!realm.is_admin(&u).await.unwrap());
    realm.set_admin(&u, true).await.unwrap();
    realm.set_admin(&u, true).await.unwrap();
    assert!(realm.is_admin(&u).await.unwrap());
    realm.set_admin(&u, false).await.unwrap();
    assert!(!realm.is_admin(&u).await.unwrap());
    assert!(realm.is_admin("nobody").await.unwrap_err().is_not_found());

    let g = realm
        .create_group(&NewGroup {
            name: "everyone".into(),
            ..NewGroup::default()
        })
        .await
        .unwrap();
    realm.add_default_group(&g).await.unwrap();
    realm.add_default_group(&g).await.unwrap();
    assert_eq!(realm.default_groups().await.unwrap().len(), 1);
    let newbie = realm.create_user(&user("ivy")).await.unwrap();
    assert_eq!(realm.user_groups(&newbie).await.unwrap()[0].id, g);
    realm.remove_default_group(&g).await.unwrap();
    realm.remove_default_group(&g).await.unwrap();
    assert!(realm.default_groups().await.unwrap().is_empty());
    assert!(
        realm
            .add_default_group("missing")
            .await
            .unwrap_err()
            .is_not_found()
    );
}

#[tokio::test]
async fn bootstrap_is_idempotent_and_shapes_the_realm() {
    let kc = FakeKeycloak::builder()
        .signing_key(key())
        .deterministic_ids(true)
        .build()
        .unwrap();
    let opts = BootstrapOptions {
        admin_password: "pw".into(),
        admin_ui_secret: Some("ui-secret".into()),
        ..BootstrapOptions::default()
    };
    let first = kc.bootstrap_primehub("primehub", &opts).await.unwrap();
    let second = kc.bootstrap_primehub("primehub", &opts).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(first.admin_ui_client_secret, "ui-secret");
    let realm = kc.realm("primehub").unwrap();
    assert!(realm.is_admin(&first.admin_user_id).await.unwrap());
    let defaults = realm.default_groups().await.unwrap();
    assert_eq!(defaults.len(), 1);
    assert_eq!(defaults[0].name, "everyone");
    assert_eq!(defaults[0].id, first.everyone_group_id);
    // Service accounts are not listed among users.
    let users = realm.search_users(None, Page::default()).await.unwrap();
    assert_eq!(users.len(), 1);
    assert!(
        realm
            .find_user_by_username("service-account-admin-ui")
            .await
            .unwrap()
            .is_some()
    );
    // client_credentials for admin-ui: the service account is a realm admin.
    let t = realm
        .token_client_credentials("admin-ui", "ui-secret")
        .unwrap();
    let claims = realm.verify_access_token(&t.access_token).unwrap();
    assert!(
        claims["resource_access"]["realm-management"]["roles"]
            .as_array()
            .is_some_and(
                |roles| roles.len() == 22 && roles.contains(&serde_json::json!("realm-admin"))
            ),
        "realm-admin expanded into the 22 realm-management roles: {claims}"
    );
    assert!(t.refresh_token.is_none());

    // A second fake with deterministic ids produces the same ids.
    let kc2 = FakeKeycloak::builder()
        .signing_key(key())
        .deterministic_ids(true)
        .build()
        .unwrap();
    assert_eq!(
        kc2.bootstrap_primehub("primehub", &opts).await.unwrap(),
        first
    );
}

#[tokio::test]
async fn jupyterhub_mappers_and_offline_sessions() {
    let kc = fake();
    let shape = kc
        .bootstrap_primehub("primehub", &BootstrapOptions::default())
        .await
        .unwrap();
    let realm = kc.realm("primehub").unwrap();
    let id = realm
        .create_user(&NewUser {
            attributes: attrs(&[("quota-gpu", "2"), ("timezone", "Asia/Taipei")]),
            password: Some("pw".into()),
            ..user("jack")
        })
        .await
        .unwrap();
    let g = realm
        .create_group(&NewGroup {
            name: "team-a".into(),
            ..NewGroup::default()
        })
        .await
        .unwrap();
    realm.add_member(&g, &id).await.unwrap();
    realm.create_role("it:team-cpu", None).await.unwrap();
    realm
        .add_group_roles(&g, &["it:team-cpu".into()])
        .await
        .unwrap();

    let t = realm
        .token_password(
            "jupyterhub",
            Some(&shape.jupyterhub_client_secret),
            "jack",
            "pw",
            Some("openid offline_access"),
        )
        .unwrap();
    let claims = realm.verify_access_token(&t.access_token).unwrap();
    assert_eq!(claims["quota"]["gpu"], 2);
    assert_eq!(claims["timezone"], "Asia/Taipei");
    assert_eq!(claims["preferred_username"], "jack");
    let groups = claims["groups"].as_array().unwrap();
    assert!(groups.iter().any(|g| g == "/team-a"));
    assert!(groups.iter().any(|g| g == "/everyone"));
    assert!(
        claims["roles"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "it:team-cpu")
    );
    assert!(t.id_token.is_some());
    assert_eq!(t.refresh_expires_in, 0);

    let sessions = realm.offline_sessions(&id, "jupyterhub").await.unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].username, "jack");
    let offline = t.refresh_token.unwrap();
    realm
        .token_refresh(
            "jupyterhub",
            Some(&shape.jupyterhub_client_secret),
            &offline,
        )
        .unwrap();
    realm
        .revoke_offline_sessions(&id, "jupyterhub")
        .await
        .unwrap();
    realm
        .revoke_offline_sessions(&id, "jupyterhub")
        .await
        .unwrap();
    assert!(
        realm
            .offline_sessions(&id, "jupyterhub")
            .await
            .unwrap()
            .is_empty()
    );
    let err = realm
        .token_refresh(
            "jupyterhub",
            Some(&shape.jupyterhub_client_secret),
            &offline,
        )
        .unwrap_err();
    assert!(
        matches!(err, KeycloakError::Invalid { ref field, .. } if field == "invalid_grant"),
        "{err:?}"
    );
    assert!(
        realm
            .offline_sessions(&id, "no-such-client")
            .await
            .unwrap_err()
            .is_not_found()
    );
}

#[test]
fn add_client_and_grants() {
    let kc = fake();
    let realm = kc.create_realm("r").unwrap();
    realm
        .add_client(&ClientSpec {
            client_id: "svc".into(),
            secret: Some("s".into()),
            service_account: true,
            ..ClientSpec::default()
        })
        .unwrap();
    assert!(
        realm
            .add_client(&ClientSpec {
                client_id: "svc".into(),
                ..ClientSpec::default()
            })
            .unwrap_err()
            .is_conflict()
    );
    realm
        .grant_client_role("service-account-svc", "realm-management", "realm-admin")
        .unwrap();
    let t = realm.token_client_credentials("svc", "s").unwrap();
    let c = realm.verify_access_token(&t.access_token).unwrap();
    assert_eq!(c["azp"], "svc");
    assert_eq!(c["preferred_username"], "service-account-svc");
    assert!(matches!(
        realm.token_client_credentials("svc", "wrong").unwrap_err(),
        KeycloakError::Unauthorized { .. }
    ));
    // No direct access grants on svc.
    assert!(
        realm
            .token_password("svc", Some("s"), "x", "y", None)
            .is_err()
    );
}
