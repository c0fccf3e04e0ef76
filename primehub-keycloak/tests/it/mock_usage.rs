//! How to use the `mock` feature: mockall assertions on *interactions* (which calls, in which
//! order, how often). For behaviour, test against the fake instead (`fake` feature).
//!
//! The function under test is what PrimeHub does when an admin makes an image available to a
//! group: create the realm role (a 409 means it already exists, which is fine) and map it.
#![cfg(feature = "mock")]

use mockall::Sequence;
use mockall::predicate::eq;
use primehub_keycloak::{KeycloakAdmin, KeycloakError, MockKeycloakAdmin};

async fn grant_image(
    kc: &dyn KeycloakAdmin,
    group_id: &str,
    image: &str,
) -> primehub_keycloak::Result<()> {
    let role = format!("img:{image}");
    match kc.create_role(&role, None).await {
        Ok(()) | Err(KeycloakError::Conflict { .. }) => {}
        Err(e) => return Err(e),
    }
    kc.add_group_roles(group_id, &[role]).await
}

#[tokio::test]
async fn creates_the_role_then_maps_it() {
    let mut kc = MockKeycloakAdmin::new();
    let mut seq = Sequence::new();
    kc.expect_create_role()
        .withf(|name, description| name == "img:base-notebook" && description.is_none())
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(()));
    kc.expect_add_group_roles()
        .with(eq("g-1"), eq(vec!["img:base-notebook".to_owned()]))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(()));
    grant_image(&kc, "g-1", "base-notebook")
        .await
        .expect("granted");
}

#[tokio::test]
async fn an_existing_role_is_not_an_error() {
    let mut kc = MockKeycloakAdmin::new();
    kc.expect_create_role()
        .returning(|name, _| Err(KeycloakError::conflict(format!("role {name} exists"))));
    kc.expect_add_group_roles()
        .times(1)
        .returning(|_, _| Ok(()));
    grant_image(&kc, "g-1", "base-notebook")
        .await
        .expect("granted");
}

#[tokio::test]
async fn other_errors_stop_before_mapping() {
    let mut kc = MockKeycloakAdmin::new();
    kc.expect_create_role().returning(|_, _| {
        Err(KeycloakError::Transport {
            message: "connection refused".to_owned(),
        })
    });
    kc.expect_add_group_roles().never();
    let err = grant_image(&kc, "g-1", "base-notebook")
        .await
        .expect_err("fails");
    assert!(matches!(err, KeycloakError::Transport { .. }));
}
