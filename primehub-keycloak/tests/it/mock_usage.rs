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

/// What PrimeHub's console does when an admin creates a user with "send e-mail" ticked: create,
/// then mail the invitation (verify the address, set a password, 24 h); a failed mail is logged,
/// not an error. And when the admin switches TOTP off on update: remove it.
async fn create_user_and_invite(
    kc: &dyn KeycloakAdmin,
    user: &primehub_keycloak::NewUser,
    send_email: bool,
) -> primehub_keycloak::Result<String> {
    let id = kc.create_user(user).await?;
    if send_email && user.email.is_some() {
        let invitation = primehub_keycloak::ExecuteActionsEmail {
            actions: vec!["VERIFY_EMAIL".into(), "UPDATE_PASSWORD".into()],
            lifespan: Some(86_400),
            ..Default::default()
        };
        if let Err(e) = kc.execute_actions_email(&id, &invitation).await {
            eprintln!("invitation to {} failed: {e}", user.username);
        }
    }
    Ok(id)
}

fn alice(email: Option<&str>) -> primehub_keycloak::NewUser {
    primehub_keycloak::NewUser {
        username: "alice".into(),
        email: email.map(str::to_owned),
        enabled: true,
        ..Default::default()
    }
}

#[tokio::test]
async fn a_new_user_with_an_email_gets_the_invitation_after_creation() {
    let mut kc = MockKeycloakAdmin::new();
    let mut seq = Sequence::new();
    kc.expect_create_user()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok("u-1".into()));
    kc.expect_execute_actions_email()
        .withf(|id, request| {
            id == "u-1"
                && request.actions == ["VERIFY_EMAIL", "UPDATE_PASSWORD"]
                && request.lifespan == Some(86_400)
                && request.client_id.is_none()
        })
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(()));
    let id = create_user_and_invite(&kc, &alice(Some("alice@example.com")), true)
        .await
        .expect("created");
    assert_eq!(id, "u-1");
}

#[tokio::test]
async fn no_email_address_means_no_invitation_and_a_failed_mail_is_not_an_error() {
    let mut kc = MockKeycloakAdmin::new();
    kc.expect_create_user().returning(|_| Ok("u-1".into()));
    kc.expect_execute_actions_email().never();
    create_user_and_invite(&kc, &alice(None), true)
        .await
        .expect("created without e-mail");

    let mut kc = MockKeycloakAdmin::new();
    kc.expect_create_user().returning(|_| Ok("u-2".into()));
    kc.expect_execute_actions_email()
        .times(1)
        .returning(|_, _| {
            Err(KeycloakError::Unexpected {
                status: 500,
                body: "Failed to send execute actions email".into(),
            })
        });
    assert_eq!(
        create_user_and_invite(&kc, &alice(Some("alice@example.com")), true)
            .await
            .expect("created even though the mail failed"),
        "u-2"
    );
}

#[tokio::test]
async fn the_mock_composes_through_arc_like_any_client() {
    let mut kc = MockKeycloakAdmin::new();
    kc.expect_remove_totp()
        .with(eq("u-1"))
        .times(1)
        .returning(|_| Ok(()));
    let shared: std::sync::Arc<dyn KeycloakAdmin> = std::sync::Arc::new(kc);
    let also: &dyn KeycloakAdmin = &shared;
    also.remove_totp("u-1").await.expect("removed");
}
