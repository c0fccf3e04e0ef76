//! The conformance suite every [`KeycloakAdmin`] implementation must pass.
//!
//! Each function takes `&dyn KeycloakAdmin`, works on objects with unique names (so several runs
//! can share a realm), cleans up after itself, and **panics** with a message naming the broken
//! rule when the implementation misbehaves — call them from `#[tokio::test]`s. The suite runs
//! against the in-memory fake, against [`HttpKeycloak`](crate::http::HttpKeycloak) pointed at the
//! fake's HTTP face, and against a real Keycloak 26 (DESIGN §5), so a test that is green on the
//! fake means something.
//!
//! The realm needs nothing but what every Keycloak 26.7 realm has: the built-in clients
//! (`realm-management`, `account`, `admin-cli`, …) with their roles and composites.
//!
//! ```no_run
//! # async fn demo(kc: &dyn primehub_keycloak::KeycloakAdmin) {
//! primehub_keycloak::conformance::run_all(kc).await;
//! # }
//! ```

use std::collections::BTreeMap;
use std::fmt::Debug;

use crate::admin::KeycloakAdmin;
use crate::error::{ConflictField, KeycloakError, Result};
use crate::representation::{
    AdminEventQuery, Attributes, ExecuteActionsEmail, GroupUpdate, NewGroup, NewUser,
    OTP_CREDENTIAL, Page, RealmSettingsUpdate, RoleUpdate, SmtpSettings, UserUpdate,
    required_action,
};

/// A client every realm has, used for the offline-session checks.
pub const ALWAYS_PRESENT_CLIENT: &str = "admin-cli";

/// Runs every check of the suite, in order.
pub async fn run_all(kc: &dyn KeycloakAdmin) {
    users_create_get_delete(kc).await;
    users_conflicts(kc).await;
    users_update(kc).await;
    users_search_and_paging(kc).await;
    users_reset_password(kc).await;
    groups_create_get_delete(kc).await;
    groups_conflicts_and_lookup(kc).await;
    groups_search_and_paging(kc).await;
    group_membership(kc).await;
    roles_lifecycle(kc).await;
    group_role_mappings(kc).await;
    admin_flag(kc).await;
    default_groups(kc).await;
    offline_sessions(kc).await;
    deletes_cascade(kc).await;
    conflicts_name_the_field(kc).await;
    user_role_mappings(kc).await;
    execute_actions_email_refusals(kc).await;
    realm_settings(kc).await;
    client_secrets(kc, &[]).await;
    admin_events(kc).await;
    admin_events_the_cache_follows(kc).await;
    builtin_realm_roles(kc).await;
    subgroups(kc).await;
    subgroup_moves(kc).await;
    role_updates(kc).await;
    role_holders(kc).await;
    available_user_roles(kc).await;
    client_scope_mappings_of_a_plain_client(kc).await;
    builtin_composite_roles(kc).await;
    composite_roles(kc).await;
}

/// A lowercase name unique to this run: `<prefix>-<8 random chars>`.
pub fn unique(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}", &id[..8])
}

fn attrs(pairs: &[(&str, &str)]) -> Attributes {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), vec![(*v).to_owned()]))
        .collect::<BTreeMap<_, _>>()
}

#[track_caller]
fn ok<T>(result: Result<T>, what: &str) -> T {
    match result {
        Ok(v) => v,
        Err(e) => panic!("conformance: {what}: expected success, got error: {e}"),
    }
}

#[track_caller]
fn expect_not_found<T: Debug>(result: Result<T>, what: &str) {
    match result {
        Err(KeycloakError::NotFound { .. }) => {}
        other => panic!("conformance: {what}: expected NotFound (404), got {other:?}"),
    }
}

#[track_caller]
fn expect_conflict<T: Debug>(result: Result<T>, what: &str) {
    match result {
        Err(KeycloakError::Conflict { .. }) => {}
        other => panic!("conformance: {what}: expected Conflict (409), got {other:?}"),
    }
}

#[track_caller]
fn expect_conflict_on<T: Debug>(result: Result<T>, field: ConflictField, what: &str) {
    match result {
        Err(KeycloakError::Conflict { field: got, .. }) if got == field => {}
        other => panic!("conformance: {what}: expected Conflict on {field} (409), got {other:?}"),
    }
}

#[track_caller]
fn expect_invalid<T: Debug>(result: Result<T>, field: &str, rule: &str, what: &str) {
    match result {
        Err(KeycloakError::Invalid {
            field: got_field,
            rule: got_rule,
            ..
        }) if got_field == field && got_rule == rule => {}
        other => panic!(
            "conformance: {what}: expected Invalid {{ field: {field:?}, rule: {rule:?} }} (400), got {other:?}"
        ),
    }
}

fn new_user(username: &str) -> NewUser {
    NewUser {
        username: username.to_owned(),
        enabled: true,
        ..NewUser::default()
    }
}

/// Create, read back, find and delete a user; usernames and e-mails are lowercased.
pub async fn users_create_get_delete(kc: &dyn KeycloakAdmin) {
    let name = unique("Conf-User");
    let email = format!("{}@Example.COM", name);
    let user = NewUser {
        username: name.clone(),
        email: Some(email.clone()),
        first_name: Some("Ada".to_owned()),
        last_name: Some("Lovelace".to_owned()),
        enabled: true,
        attributes: attrs(&[("volumeCapacity", "20G"), ("timezone", "Asia/Taipei")]),
        password: Some("s3cret-Passw0rd".to_owned()),
    };
    let id = ok(kc.create_user(&user).await, "create_user");
    assert!(
        !id.is_empty(),
        "conformance: create_user returned an empty id"
    );

    let got = ok(kc.get_user(&id).await, "get_user after create");
    assert_eq!(got.id, id, "conformance: get_user id");
    assert_eq!(
        got.username,
        name.to_lowercase(),
        "conformance: usernames are stored lowercased"
    );
    assert_eq!(
        got.email.as_deref(),
        Some(email.to_lowercase().as_str()),
        "conformance: e-mails are stored lowercased"
    );
    assert_eq!(got.first_name.as_deref(), Some("Ada"));
    assert_eq!(got.last_name.as_deref(), Some("Lovelace"));
    assert!(got.enabled, "conformance: created user is enabled");
    assert_eq!(
        got.attributes.get("volumeCapacity"),
        Some(&vec!["20G".to_owned()]),
        "conformance: user attributes are stored (unmanaged attributes must be enabled)"
    );
    assert_eq!(
        got.attributes.get("timezone"),
        Some(&vec!["Asia/Taipei".to_owned()])
    );
    assert!(
        got.created_timestamp.is_some_and(|t| t > 0),
        "conformance: createdTimestamp is set"
    );

    let by_name = ok(
        kc.find_user_by_username(&name.to_uppercase()).await,
        "find_user_by_username",
    );
    assert_eq!(
        by_name.map(|u| u.id),
        Some(id.clone()),
        "conformance: username lookup is exact and case-insensitive"
    );
    let prefix_only = &name[..name.len() - 1];
    assert_eq!(
        ok(
            kc.find_user_by_username(prefix_only).await,
            "find_user_by_username(prefix)"
        ),
        None,
        "conformance: username lookup is exact, not a substring search"
    );
    let by_email = ok(
        kc.find_user_by_email(&email.to_uppercase()).await,
        "find_user_by_email",
    );
    assert_eq!(
        by_email.map(|u| u.id),
        Some(id.clone()),
        "conformance: e-mail lookup is exact and case-insensitive"
    );

    ok(kc.delete_user(&id).await, "delete_user");
    expect_not_found(kc.get_user(&id).await, "get_user after delete");
    expect_not_found(kc.delete_user(&id).await, "delete_user twice");
    assert_eq!(
        ok(
            kc.find_user_by_username(&name).await,
            "find_user_by_username after delete"
        ),
        None
    );
    expect_not_found(
        kc.get_user("00000000-0000-0000-0000-000000000000").await,
        "get_user(unknown id)",
    );
}

/// Duplicate usernames (in any case) and e-mails are conflicts; nothing is created.
pub async fn users_conflicts(kc: &dyn KeycloakAdmin) {
    let name = unique("conf-dup");
    let email = format!("{name}@example.com");
    let id = ok(
        kc.create_user(&NewUser {
            email: Some(email.clone()),
            ..new_user(&name)
        })
        .await,
        "create_user",
    );
    expect_conflict(
        kc.create_user(&new_user(&name.to_uppercase())).await,
        "create_user with a duplicate username (other case)",
    );
    expect_conflict(
        kc.create_user(&NewUser {
            email: Some(email.to_uppercase()),
            ..new_user(&unique("conf-dup-other"))
        })
        .await,
        "create_user with a duplicate e-mail",
    );
    // An invalid e-mail: Keycloak 26's 400 names the field, the rule and the rejected value
    // (`params: ["email", "not-an-email"]`).
    match kc
        .create_user(&NewUser {
            email: Some("not-an-email".to_owned()),
            ..new_user(&unique("conf-bad-mail"))
        })
        .await
    {
        Err(KeycloakError::Invalid {
            field,
            rule,
            params,
        }) if field == "email" && rule == "error-invalid-email" => assert_eq!(
            params,
            vec!["not-an-email".to_owned()],
            "conformance: an invalid e-mail's error names the value"
        ),
        other => panic!(
            "conformance: create_user with an invalid e-mail: expected Invalid email \
             error-invalid-email, got {other:?}"
        ),
    }
    assert_eq!(
        ok(kc.count_users(Some(&name)).await, "count_users"),
        1,
        "conformance: a refused create leaves nothing behind"
    );
    ok(kc.delete_user(&id).await, "delete_user");
}

/// Partial updates change only what they name; attributes are replaced as a whole.
pub async fn users_update(kc: &dyn KeycloakAdmin) {
    let name = unique("conf-upd");
    let id = ok(
        kc.create_user(&NewUser {
            email: Some(format!("{name}@example.com")),
            first_name: Some("First".to_owned()),
            last_name: Some("Last".to_owned()),
            attributes: attrs(&[("a", "1"), ("b", "2")]),
            ..new_user(&name)
        })
        .await,
        "create_user",
    );
    ok(
        kc.update_user(
            &id,
            &UserUpdate {
                first_name: Some("Changed".to_owned()),
                ..UserUpdate::default()
            },
        )
        .await,
        "update_user(first_name)",
    );
    let got = ok(kc.get_user(&id).await, "get_user");
    assert_eq!(got.first_name.as_deref(), Some("Changed"));
    assert_eq!(
        got.last_name.as_deref(),
        Some("Last"),
        "conformance: update leaves unnamed fields alone"
    );
    assert_eq!(
        got.attributes,
        attrs(&[("a", "1"), ("b", "2")]),
        "conformance: update without attributes keeps them"
    );

    ok(
        kc.update_user(
            &id,
            &UserUpdate {
                enabled: Some(false),
                attributes: Some(attrs(&[("b", "3"), ("c", "4")])),
                ..UserUpdate::default()
            },
        )
        .await,
        "update_user(enabled, attributes)",
    );
    let got = ok(kc.get_user(&id).await, "get_user");
    assert!(!got.enabled, "conformance: user disabled");
    assert_eq!(
        got.attributes,
        attrs(&[("b", "3"), ("c", "4")]),
        "conformance: attributes are replaced as a whole"
    );
    // Keycloak 26 reads a `PUT` carrying `attributes` as the whole profile and drops the
    // e-mail and names it leaves out; `update_user` keeps what the update does not name.
    assert!(
        got.email.is_some(),
        "conformance: an attributes update keeps the e-mail"
    );
    assert!(
        got.last_name.is_some(),
        "conformance: an attributes update keeps the last name"
    );
    assert_eq!(got.first_name.as_deref(), Some("Changed"));

    let other = unique("conf-upd-other");
    let other_id = ok(
        kc.create_user(&NewUser {
            email: Some(format!("{other}@example.com")),
            ..new_user(&other)
        })
        .await,
        "create_user(other)",
    );
    expect_conflict(
        kc.update_user(
            &id,
            &UserUpdate {
                email: Some(format!("{other}@example.com")),
                ..UserUpdate::default()
            },
        )
        .await,
        "update_user to another user's e-mail",
    );
    expect_not_found(
        kc.update_user(
            "00000000-0000-0000-0000-000000000000",
            &UserUpdate::default(),
        )
        .await,
        "update_user(unknown id)",
    );
    ok(kc.delete_user(&other_id).await, "delete_user(other)");
    ok(kc.delete_user(&id).await, "delete_user");
}

/// Search is a substring match, ordered by username, paged with first/max; count agrees.
pub async fn users_search_and_paging(kc: &dyn KeycloakAdmin) {
    let token = unique("conf-page");
    let mut ids = Vec::new();
    for i in [3, 0, 4, 1, 2] {
        let name = format!("{token}-u{i}");
        ids.push(ok(kc.create_user(&new_user(&name)).await, "create_user"));
    }
    let all = ok(
        kc.search_users(Some(&token), Page::first(100)).await,
        "search_users",
    );
    let names: Vec<_> = all.iter().map(|u| u.username.clone()).collect();
    let expected: Vec<_> = (0..5).map(|i| format!("{token}-u{i}")).collect();
    assert_eq!(
        names, expected,
        "conformance: search_users matches a substring and orders by username"
    );
    assert_eq!(ok(kc.count_users(Some(&token)).await, "count_users"), 5);

    let page1 = ok(
        kc.search_users(Some(&token), Page { first: 0, max: 2 })
            .await,
        "search_users page 1",
    );
    let page2 = ok(
        kc.search_users(Some(&token), Page { first: 2, max: 2 })
            .await,
        "search_users page 2",
    );
    let page3 = ok(
        kc.search_users(Some(&token), Page { first: 4, max: 2 })
            .await,
        "search_users page 3",
    );
    let paged: Vec<_> = page1
        .iter()
        .chain(&page2)
        .chain(&page3)
        .map(|u| u.username.clone())
        .collect();
    assert_eq!(
        paged, expected,
        "conformance: pages are disjoint and ordered"
    );
    assert_eq!(page3.len(), 1, "conformance: the last page is short");
    let beyond = ok(
        kc.search_users(Some(&token), Page { first: 10, max: 2 })
            .await,
        "search_users beyond the end",
    );
    assert!(
        beyond.is_empty(),
        "conformance: a page beyond the end is empty"
    );

    let total = ok(kc.count_users(None).await, "count_users(None)");
    assert!(total >= 5, "conformance: count_users(None) counts everyone");
    for id in ids {
        ok(kc.delete_user(&id).await, "delete_user");
    }
    assert_eq!(
        ok(
            kc.count_users(Some(&token)).await,
            "count_users after delete"
        ),
        0
    );
}

/// Passwords can be set; an unknown user is NotFound.
pub async fn users_reset_password(kc: &dyn KeycloakAdmin) {
    let name = unique("conf-pw");
    let id = ok(kc.create_user(&new_user(&name)).await, "create_user");
    ok(
        kc.reset_password(&id, "An0ther-Passw0rd!", false).await,
        "reset_password",
    );
    ok(
        kc.reset_password(&id, "T3mporary-Passw0rd!", true).await,
        "reset_password(temporary)",
    );
    expect_not_found(
        kc.reset_password("00000000-0000-0000-0000-000000000000", "x-Passw0rd!", false)
            .await,
        "reset_password(unknown user)",
    );
    ok(kc.delete_user(&id).await, "delete_user");
}

/// Create, read back, update and delete a group with attributes.
pub async fn groups_create_get_delete(kc: &dyn KeycloakAdmin) {
    let name = unique("Conf_Group");
    let id = ok(
        kc.create_group(&NewGroup {
            name: name.clone(),
            attributes: attrs(&[("quota-cpu", "0.5"), ("displayName", "Conformance")]),
        })
        .await,
        "create_group",
    );
    let got = ok(kc.get_group(&id).await, "get_group");
    assert_eq!(got.id, id);
    assert_eq!(got.name, name, "conformance: group names keep their case");
    assert_eq!(got.path, format!("/{name}"), "conformance: top-level path");
    assert_eq!(
        got.attributes,
        attrs(&[("quota-cpu", "0.5"), ("displayName", "Conformance")]),
        "conformance: group attributes are stored"
    );

    ok(
        kc.update_group(
            &id,
            &GroupUpdate {
                attributes: Some(attrs(&[("quota-gpu", "2")])),
                ..GroupUpdate::default()
            },
        )
        .await,
        "update_group(attributes)",
    );
    let got = ok(kc.get_group(&id).await, "get_group after update");
    assert_eq!(
        got.attributes,
        attrs(&[("quota-gpu", "2")]),
        "conformance: group attributes are replaced as a whole"
    );
    assert_eq!(got.name, name, "conformance: update keeps the name");

    let renamed = unique("conf-renamed");
    ok(
        kc.update_group(
            &id,
            &GroupUpdate {
                name: Some(renamed.clone()),
                ..GroupUpdate::default()
            },
        )
        .await,
        "update_group(name)",
    );
    let got = ok(kc.get_group(&id).await, "get_group after rename");
    assert_eq!(got.name, renamed);
    assert_eq!(
        got.attributes,
        attrs(&[("quota-gpu", "2")]),
        "conformance: rename keeps attributes"
    );

    ok(kc.delete_group(&id).await, "delete_group");
    expect_not_found(kc.get_group(&id).await, "get_group after delete");
    expect_not_found(kc.delete_group(&id).await, "delete_group twice");
    expect_not_found(
        kc.update_group(&id, &GroupUpdate::default()).await,
        "update_group(deleted)",
    );
}

/// Duplicate top-level names conflict; lookup by name is exact.
pub async fn groups_conflicts_and_lookup(kc: &dyn KeycloakAdmin) {
    let name = unique("conf-grp");
    let id = ok(
        kc.create_group(&NewGroup {
            name: name.clone(),
            attributes: Attributes::new(),
        })
        .await,
        "create_group",
    );
    expect_conflict(
        kc.create_group(&NewGroup {
            name: name.clone(),
            attributes: Attributes::new(),
        })
        .await,
        "create_group with a duplicate name",
    );
    let other = unique("conf-grp-other");
    let other_id = ok(
        kc.create_group(&NewGroup {
            name: other.clone(),
            attributes: Attributes::new(),
        })
        .await,
        "create_group(other)",
    );
    expect_conflict(
        kc.update_group(
            &other_id,
            &GroupUpdate {
                name: Some(name.clone()),
                ..GroupUpdate::default()
            },
        )
        .await,
        "rename a group onto an existing name",
    );
    let found = ok(kc.find_group_by_name(&name).await, "find_group_by_name");
    assert_eq!(
        found.map(|g| g.id),
        Some(id.clone()),
        "conformance: find_group_by_name finds the group"
    );
    assert_eq!(
        ok(
            kc.find_group_by_name(&name[..name.len() - 1]).await,
            "find_group_by_name(prefix)"
        ),
        None,
        "conformance: find_group_by_name is exact, not a substring search"
    );
    ok(kc.delete_group(&other_id).await, "delete_group(other)");
    ok(kc.delete_group(&id).await, "delete_group");
    assert_eq!(
        ok(
            kc.find_group_by_name(&name).await,
            "find_group_by_name after delete"
        ),
        None
    );
}

/// Group search matches substrings, orders by name, pages, returns attributes; count agrees.
pub async fn groups_search_and_paging(kc: &dyn KeycloakAdmin) {
    let token = unique("conf-gpage");
    let mut ids = Vec::new();
    for i in [2, 0, 3, 1] {
        ids.push(ok(
            kc.create_group(&NewGroup {
                name: format!("{token}-g{i}"),
                attributes: attrs(&[("index", &i.to_string())]),
            })
            .await,
            "create_group",
        ));
    }
    let expected: Vec<_> = (0..4).map(|i| format!("{token}-g{i}")).collect();
    let all = ok(
        kc.search_groups(Some(&token), Page::first(100)).await,
        "search_groups",
    );
    assert_eq!(
        all.iter().map(|g| g.name.clone()).collect::<Vec<_>>(),
        expected,
        "conformance: search_groups matches a substring and orders by name"
    );
    assert!(
        all.iter()
            .enumerate()
            .all(|(i, g)| g.attributes.get("index") == Some(&vec![i.to_string()])),
        "conformance: search_groups returns attributes"
    );
    assert_eq!(ok(kc.count_groups(Some(&token)).await, "count_groups"), 4);
    let p1 = ok(
        kc.search_groups(Some(&token), Page { first: 0, max: 3 })
            .await,
        "search_groups page 1",
    );
    let p2 = ok(
        kc.search_groups(Some(&token), Page { first: 3, max: 3 })
            .await,
        "search_groups page 2",
    );
    assert_eq!(
        p1.iter()
            .chain(&p2)
            .map(|g| g.name.clone())
            .collect::<Vec<_>>(),
        expected,
        "conformance: group pages are disjoint and ordered"
    );
    assert!(ok(kc.count_groups(None).await, "count_groups(None)") >= 4);
    for id in ids {
        ok(kc.delete_group(&id).await, "delete_group");
    }
    assert_eq!(
        ok(
            kc.count_groups(Some(&token)).await,
            "count_groups after delete"
        ),
        0
    );
}

/// Members are added and removed idempotently, listed in order, visible from both sides.
pub async fn group_membership(kc: &dyn KeycloakAdmin) {
    let group = unique("conf-members");
    let gid = ok(
        kc.create_group(&NewGroup {
            name: group.clone(),
            attributes: attrs(&[("quota-cpu", "1")]),
        })
        .await,
        "create_group",
    );
    let token = unique("conf-member");
    let mut uids = Vec::new();
    for i in [1, 0, 2] {
        uids.push(ok(
            kc.create_user(&new_user(&format!("{token}-{i}"))).await,
            "create_user",
        ));
    }
    for uid in &uids {
        ok(kc.add_member(&gid, uid).await, "add_member");
    }
    ok(kc.add_member(&gid, &uids[0]).await, "add_member twice");
    let members = ok(
        kc.list_members(&gid, Page::first(100)).await,
        "list_members",
    );
    assert_eq!(
        members
            .iter()
            .map(|u| u.username.clone())
            .collect::<Vec<_>>(),
        (0..3).map(|i| format!("{token}-{i}")).collect::<Vec<_>>(),
        "conformance: list_members lists each member once, ordered by username"
    );
    let page = ok(
        kc.list_members(&gid, Page { first: 1, max: 1 }).await,
        "list_members paged",
    );
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].username, format!("{token}-1"));

    let groups = ok(kc.user_groups(&uids[0]).await, "user_groups");
    let mine = groups.iter().find(|g| g.id == gid);
    assert!(
        mine.is_some(),
        "conformance: user_groups lists the group the user joined"
    );
    assert_eq!(
        mine.map(|g| g.attributes.clone()),
        Some(attrs(&[("quota-cpu", "1")])),
        "conformance: user_groups returns attributes"
    );

    ok(kc.remove_member(&gid, &uids[0]).await, "remove_member");
    ok(
        kc.remove_member(&gid, &uids[0]).await,
        "remove_member twice",
    );
    assert!(
        !ok(kc.user_groups(&uids[0]).await, "user_groups after remove")
            .iter()
            .any(|g| g.id == gid),
        "conformance: remove_member removes the membership"
    );
    assert_eq!(
        ok(
            kc.list_members(&gid, Page::first(100)).await,
            "list_members"
        )
        .len(),
        2
    );

    expect_not_found(
        kc.add_member("00000000-0000-0000-0000-000000000000", &uids[1])
            .await,
        "add_member(unknown group)",
    );
    expect_not_found(
        kc.add_member(&gid, "00000000-0000-0000-0000-000000000000")
            .await,
        "add_member(unknown user)",
    );
    expect_not_found(
        kc.list_members("00000000-0000-0000-0000-000000000000", Page::default())
            .await,
        "list_members(unknown group)",
    );
    expect_not_found(
        kc.user_groups("00000000-0000-0000-0000-000000000000").await,
        "user_groups(unknown user)",
    );
    for uid in uids {
        ok(kc.delete_user(&uid).await, "delete_user");
    }
    ok(kc.delete_group(&gid).await, "delete_group");
}

/// Realm roles: create, duplicate conflict, get, list by prefix in order, delete.
pub async fn roles_lifecycle(kc: &dyn KeycloakAdmin) {
    let prefix = format!("{}:", unique("conf"));
    let names: Vec<String> = ["img:b", "it:a", "ds:rw:c", "img:a"]
        .iter()
        .map(|n| format!("{prefix}{n}"))
        .collect();
    for name in &names {
        ok(kc.create_role(name, None).await, "create_role");
    }
    expect_conflict(
        kc.create_role(&names[0], None).await,
        "create_role with a duplicate name",
    );
    let role = ok(kc.get_role(&names[0]).await, "get_role");
    assert_eq!(role.name, names[0]);
    assert!(!role.id.is_empty(), "conformance: roles have ids");
    assert_eq!(role.description, None, "conformance: no description");

    let described = format!("{prefix}described");
    ok(
        kc.create_role(&described, Some("a described role")).await,
        "create_role(description)",
    );
    assert_eq!(
        ok(kc.get_role(&described).await, "get_role")
            .description
            .as_deref(),
        Some("a described role")
    );

    let listed = ok(
        kc.list_roles(Some(&format!("{prefix}img:")), Page::first(100))
            .await,
        "list_roles(prefix)",
    );
    assert_eq!(
        listed.iter().map(|r| r.name.clone()).collect::<Vec<_>>(),
        vec![format!("{prefix}img:a"), format!("{prefix}img:b")],
        "conformance: list_roles returns exactly the names with the prefix, ordered"
    );
    let listed = ok(
        kc.list_roles(Some(&prefix), Page { first: 1, max: 2 })
            .await,
        "list_roles(prefix, page)",
    );
    assert_eq!(
        listed.iter().map(|r| r.name.clone()).collect::<Vec<_>>(),
        vec![format!("{prefix}ds:rw:c"), format!("{prefix}img:a")],
        "conformance: list_roles pages over the filtered, ordered names"
    );

    for name in names.iter().chain(std::iter::once(&described)) {
        ok(kc.delete_role(name).await, "delete_role");
    }
    expect_not_found(kc.get_role(&names[0]).await, "get_role after delete");
    expect_not_found(kc.delete_role(&names[0]).await, "delete_role twice");
    assert!(
        ok(
            kc.list_roles(Some(&prefix), Page::first(100)).await,
            "list_roles after delete"
        )
        .is_empty()
    );
}

/// Group realm-role mappings: idempotent add/remove, ordered list, all-or-nothing on unknown roles.
pub async fn group_role_mappings(kc: &dyn KeycloakAdmin) {
    let prefix = format!("{}:", unique("conf-map"));
    let roles: Vec<String> = ["it:cpu-1", "img:base", "ds:rw:data"]
        .iter()
        .map(|n| format!("{prefix}{n}"))
        .collect();
    for r in &roles {
        ok(kc.create_role(r, None).await, "create_role");
    }
    let gid = ok(
        kc.create_group(&NewGroup {
            name: unique("conf-map-group"),
            attributes: Attributes::new(),
        })
        .await,
        "create_group",
    );
    ok(
        kc.add_group_roles(&gid, &roles[..2]).await,
        "add_group_roles",
    );
    ok(
        kc.add_group_roles(&gid, &roles[..2]).await,
        "add_group_roles twice",
    );
    let mapped = |list: Vec<crate::representation::Role>| {
        list.into_iter()
            .map(|r| r.name)
            .filter(|n| n.starts_with(&prefix))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        mapped(ok(kc.list_group_roles(&gid).await, "list_group_roles")),
        vec![roles[1].clone(), roles[0].clone()],
        "conformance: list_group_roles lists each mapping once, ordered by name"
    );

    let unknown = format!("{prefix}img:missing");
    expect_not_found(
        kc.add_group_roles(&gid, &[roles[2].clone(), unknown.clone()])
            .await,
        "add_group_roles with an unknown role",
    );
    assert_eq!(
        mapped(ok(kc.list_group_roles(&gid).await, "list_group_roles")),
        vec![roles[1].clone(), roles[0].clone()],
        "conformance: a refused add_group_roles maps nothing"
    );
    expect_not_found(
        kc.remove_group_roles(&gid, &[roles[0].clone(), unknown])
            .await,
        "remove_group_roles with an unknown role",
    );
    assert_eq!(
        mapped(ok(kc.list_group_roles(&gid).await, "list_group_roles")).len(),
        2,
        "conformance: a refused remove_group_roles removes nothing"
    );

    ok(
        kc.remove_group_roles(&gid, &[roles[0].clone(), roles[2].clone()])
            .await,
        "remove_group_roles (one mapped, one not)",
    );
    assert_eq!(
        mapped(ok(kc.list_group_roles(&gid).await, "list_group_roles")),
        vec![roles[1].clone()]
    );
    ok(kc.delete_role(&roles[1]).await, "delete_role");
    assert!(
        mapped(ok(kc.list_group_roles(&gid).await, "list_group_roles")).is_empty(),
        "conformance: deleting a role removes its mappings"
    );
    expect_not_found(
        kc.list_group_roles("00000000-0000-0000-0000-000000000000")
            .await,
        "list_group_roles(unknown group)",
    );
    expect_not_found(
        kc.add_group_roles("00000000-0000-0000-0000-000000000000", &roles[..1])
            .await,
        "add_group_roles(unknown group)",
    );
    ok(kc.delete_group(&gid).await, "delete_group");
    for r in [&roles[0], &roles[2]] {
        ok(kc.delete_role(r).await, "delete_role");
    }
}

/// The admin flag is the realm-management/realm-admin client role, set idempotently.
pub async fn admin_flag(kc: &dyn KeycloakAdmin) {
    let uid = ok(
        kc.create_user(&new_user(&unique("conf-admin"))).await,
        "create_user",
    );
    assert!(
        !ok(kc.is_admin(&uid).await, "is_admin"),
        "conformance: a new user is not an admin"
    );
    assert!(
        !ok(kc.admin_user_ids().await, "admin_user_ids").contains(&uid),
        "conformance: admin_user_ids leaves out a new user"
    );
    ok(kc.set_admin(&uid, true).await, "set_admin(true)");
    ok(kc.set_admin(&uid, true).await, "set_admin(true) twice");
    assert!(
        ok(kc.is_admin(&uid).await, "is_admin"),
        "conformance: set_admin(true) makes an admin"
    );
    let admins = ok(kc.admin_user_ids().await, "admin_user_ids");
    assert_eq!(
        admins.iter().filter(|id| **id == uid).count(),
        1,
        "conformance: admin_user_ids lists a user granted realm-admin once: {admins:?}"
    );
    ok(kc.set_admin(&uid, false).await, "set_admin(false)");
    ok(kc.set_admin(&uid, false).await, "set_admin(false) twice");
    assert!(
        !ok(kc.is_admin(&uid).await, "is_admin"),
        "conformance: set_admin(false) revokes"
    );
    assert!(
        !ok(kc.admin_user_ids().await, "admin_user_ids").contains(&uid),
        "conformance: admin_user_ids leaves out a revoked admin"
    );
    expect_not_found(
        kc.is_admin("00000000-0000-0000-0000-000000000000").await,
        "is_admin(unknown user)",
    );
    ok(kc.delete_user(&uid).await, "delete_user");
}

/// Default groups are added and removed idempotently.
pub async fn default_groups(kc: &dyn KeycloakAdmin) {
    let gid = ok(
        kc.create_group(&NewGroup {
            name: unique("conf-default"),
            attributes: Attributes::new(),
        })
        .await,
        "create_group",
    );
    let before = ok(kc.default_groups().await, "default_groups");
    assert!(!before.iter().any(|g| g.id == gid));
    ok(kc.add_default_group(&gid).await, "add_default_group");
    ok(kc.add_default_group(&gid).await, "add_default_group twice");
    let after = ok(kc.default_groups().await, "default_groups");
    assert_eq!(
        after.iter().filter(|g| g.id == gid).count(),
        1,
        "conformance: a default group is listed once"
    );
    ok(kc.remove_default_group(&gid).await, "remove_default_group");
    ok(
        kc.remove_default_group(&gid).await,
        "remove_default_group twice",
    );
    assert!(
        !ok(kc.default_groups().await, "default_groups")
            .iter()
            .any(|g| g.id == gid),
        "conformance: remove_default_group removes it"
    );
    expect_not_found(
        kc.add_default_group("00000000-0000-0000-0000-000000000000")
            .await,
        "add_default_group(unknown group)",
    );
    ok(kc.delete_group(&gid).await, "delete_group");
}

/// Offline sessions of a fresh user are empty; revoking is idempotent; unknowns are NotFound.
pub async fn offline_sessions(kc: &dyn KeycloakAdmin) {
    let uid = ok(
        kc.create_user(&new_user(&unique("conf-offline"))).await,
        "create_user",
    );
    assert!(
        ok(
            kc.offline_sessions(&uid, ALWAYS_PRESENT_CLIENT).await,
            "offline_sessions"
        )
        .is_empty(),
        "conformance: a fresh user has no offline sessions"
    );
    ok(
        kc.revoke_offline_sessions(&uid, ALWAYS_PRESENT_CLIENT)
            .await,
        "revoke_offline_sessions with nothing to revoke",
    );
    expect_not_found(
        kc.offline_sessions(&uid, "no-such-client-conformance")
            .await,
        "offline_sessions(unknown client)",
    );
    expect_not_found(
        kc.offline_sessions(
            "00000000-0000-0000-0000-000000000000",
            ALWAYS_PRESENT_CLIENT,
        )
        .await,
        "offline_sessions(unknown user)",
    );
    expect_not_found(
        kc.revoke_offline_sessions(
            "00000000-0000-0000-0000-000000000000",
            ALWAYS_PRESENT_CLIENT,
        )
        .await,
        "revoke_offline_sessions(unknown user)",
    );
    ok(kc.delete_user(&uid).await, "delete_user");
}

/// Deleting a user or a group removes its memberships.
pub async fn deletes_cascade(kc: &dyn KeycloakAdmin) {
    let gid = ok(
        kc.create_group(&NewGroup {
            name: unique("conf-cascade"),
            attributes: Attributes::new(),
        })
        .await,
        "create_group",
    );
    let keep = ok(
        kc.create_user(&new_user(&unique("conf-keep"))).await,
        "create_user",
    );
    let gone = ok(
        kc.create_user(&new_user(&unique("conf-gone"))).await,
        "create_user",
    );
    ok(kc.add_member(&gid, &keep).await, "add_member");
    ok(kc.add_member(&gid, &gone).await, "add_member");
    ok(kc.delete_user(&gone).await, "delete_user");
    let members = ok(
        kc.list_members(&gid, Page::first(100)).await,
        "list_members",
    );
    assert_eq!(
        members.iter().map(|u| u.id.clone()).collect::<Vec<_>>(),
        vec![keep.clone()],
        "conformance: deleting a user removes their memberships"
    );
    ok(kc.delete_group(&gid).await, "delete_group");
    assert!(
        !ok(kc.user_groups(&keep).await, "user_groups")
            .iter()
            .any(|g| g.id == gid),
        "conformance: deleting a group removes its memberships"
    );
    ok(kc.delete_user(&keep).await, "delete_user");
}

/// A 409 says which unique field clashed: username or e-mail on user create and update, group
/// name on group create and rename, role name on role create.
pub async fn conflicts_name_the_field(kc: &dyn KeycloakAdmin) {
    let name = unique("conf-field");
    let email = format!("{name}@example.com");
    let id = ok(
        kc.create_user(&NewUser {
            email: Some(email.clone()),
            ..new_user(&name)
        })
        .await,
        "create_user",
    );
    expect_conflict_on(
        kc.create_user(&NewUser {
            email: Some(format!("other-{email}")),
            ..new_user(&name)
        })
        .await,
        ConflictField::Username,
        "create_user with a taken username (and a free e-mail)",
    );
    expect_conflict_on(
        kc.create_user(&NewUser {
            email: Some(email.to_uppercase()),
            ..new_user(&unique("conf-field-other"))
        })
        .await,
        ConflictField::Email,
        "create_user with a taken e-mail (and a free username)",
    );
    let other = ok(
        kc.create_user(&new_user(&unique("conf-field-upd"))).await,
        "create_user(other)",
    );
    expect_conflict_on(
        kc.update_user(
            &other,
            &UserUpdate {
                email: Some(email.clone()),
                ..UserUpdate::default()
            },
        )
        .await,
        ConflictField::Email,
        "update_user to a taken e-mail",
    );

    let group = unique("conf-field-group");
    let gid = ok(
        kc.create_group(&NewGroup {
            name: group.clone(),
            attributes: Attributes::new(),
        })
        .await,
        "create_group",
    );
    expect_conflict_on(
        kc.create_group(&NewGroup {
            name: group.clone(),
            attributes: Attributes::new(),
        })
        .await,
        ConflictField::GroupName,
        "create_group with a taken name",
    );
    let gid2 = ok(
        kc.create_group(&NewGroup {
            name: unique("conf-field-group2"),
            attributes: Attributes::new(),
        })
        .await,
        "create_group(other)",
    );
    expect_conflict_on(
        kc.update_group(
            &gid2,
            &GroupUpdate {
                name: Some(group.clone()),
                ..GroupUpdate::default()
            },
        )
        .await,
        ConflictField::GroupName,
        "rename a group onto a taken name",
    );
    let role = format!("{}:img:x", unique("conf-field"));
    ok(kc.create_role(&role, None).await, "create_role");
    expect_conflict_on(
        kc.create_role(&role, None).await,
        ConflictField::RoleName,
        "create_role with a taken name",
    );
    ok(kc.delete_role(&role).await, "delete_role");
    ok(kc.delete_group(&gid2).await, "delete_group");
    ok(kc.delete_group(&gid).await, "delete_group");
    ok(kc.delete_user(&other).await, "delete_user");
    ok(kc.delete_user(&id).await, "delete_user");
}

/// A user's direct realm roles and effective realm roles (direct plus through groups).
/// Only roles this check creates are compared: Keycloak also gives every user
/// `default-roles-<realm>` and what it contains.
pub async fn user_role_mappings(kc: &dyn KeycloakAdmin) {
    let prefix = format!("{}:", unique("conf-urole"));
    let roles: Vec<String> = ["img:direct", "it:group", "ds:other"]
        .iter()
        .map(|n| format!("{prefix}{n}"))
        .collect();
    for r in &roles {
        ok(kc.create_role(r, None).await, "create_role");
    }
    let uid = ok(
        kc.create_user(&new_user(&unique("conf-urole"))).await,
        "create_user",
    );
    let gid = ok(
        kc.create_group(&NewGroup {
            name: unique("conf-urole-group"),
            attributes: Attributes::new(),
        })
        .await,
        "create_group",
    );
    let mine = |list: Vec<crate::representation::Role>| {
        list.into_iter()
            .map(|r| r.name)
            .filter(|n| n.starts_with(&prefix))
            .collect::<Vec<_>>()
    };
    assert!(
        mine(ok(kc.user_realm_roles(&uid).await, "user_realm_roles")).is_empty(),
        "conformance: a new user has none of the new roles"
    );
    ok(kc.add_user_roles(&uid, &roles[..1]).await, "add_user_roles");
    ok(
        kc.add_user_roles(&uid, &roles[..1]).await,
        "add_user_roles twice",
    );
    ok(
        kc.add_group_roles(&gid, &roles[1..2]).await,
        "add_group_roles",
    );
    ok(kc.add_member(&gid, &uid).await, "add_member");
    assert_eq!(
        mine(ok(kc.user_realm_roles(&uid).await, "user_realm_roles")),
        vec![roles[0].clone()],
        "conformance: user_realm_roles lists the direct mappings only"
    );
    assert_eq!(
        mine(ok(
            kc.effective_user_realm_roles(&uid).await,
            "effective_user_realm_roles"
        )),
        vec![roles[0].clone(), roles[1].clone()],
        "conformance: effective roles add the group's roles, ordered by name"
    );
    let all = ok(kc.user_realm_roles(&uid).await, "user_realm_roles");
    assert!(
        all.windows(2).all(|w| w[0].name <= w[1].name),
        "conformance: user_realm_roles is ordered by name"
    );
    assert!(
        all.iter().all(|r| !r.id.is_empty()),
        "conformance: mapped roles carry their ids"
    );

    let unknown = format!("{prefix}img:missing");
    expect_not_found(
        kc.add_user_roles(&uid, &[roles[2].clone(), unknown.clone()])
            .await,
        "add_user_roles with an unknown role",
    );
    assert_eq!(
        mine(ok(kc.user_realm_roles(&uid).await, "user_realm_roles")),
        vec![roles[0].clone()],
        "conformance: a refused add_user_roles maps nothing"
    );
    expect_not_found(
        kc.remove_user_roles(&uid, &[roles[0].clone(), unknown])
            .await,
        "remove_user_roles with an unknown role",
    );
    assert_eq!(
        mine(ok(kc.user_realm_roles(&uid).await, "user_realm_roles")).len(),
        1,
        "conformance: a refused remove_user_roles removes nothing"
    );
    ok(
        kc.remove_user_roles(&uid, &[roles[0].clone(), roles[2].clone()])
            .await,
        "remove_user_roles (one mapped, one not)",
    );
    assert!(mine(ok(kc.user_realm_roles(&uid).await, "user_realm_roles")).is_empty());
    ok(kc.remove_member(&gid, &uid).await, "remove_member");
    assert!(
        mine(ok(
            kc.effective_user_realm_roles(&uid).await,
            "effective_user_realm_roles"
        ))
        .is_empty(),
        "conformance: leaving the group drops its roles from the effective ones"
    );
    let nobody = "00000000-0000-0000-0000-000000000000";
    expect_not_found(
        kc.user_realm_roles(nobody).await,
        "user_realm_roles(unknown)",
    );
    expect_not_found(
        kc.effective_user_realm_roles(nobody).await,
        "effective_user_realm_roles(unknown)",
    );
    expect_not_found(
        kc.add_user_roles(nobody, &roles[..1]).await,
        "add_user_roles(unknown user)",
    );
    ok(kc.delete_group(&gid).await, "delete_group");
    ok(kc.delete_user(&uid).await, "delete_user");
    for r in &roles {
        ok(kc.delete_role(r).await, "delete_role");
    }
}

/// What an execute-actions e-mail refuses before any mail is sent (no SMTP server needed).
pub async fn execute_actions_email_refusals(kc: &dyn KeycloakAdmin) {
    let send = ExecuteActionsEmail {
        actions: vec![required_action::UPDATE_PASSWORD.to_owned()],
        ..ExecuteActionsEmail::default()
    };
    let no_email = ok(
        kc.create_user(&new_user(&unique("conf-mail-none"))).await,
        "create_user",
    );
    expect_invalid(
        kc.execute_actions_email(&no_email, &send).await,
        "email",
        "User email missing",
        "execute_actions_email to a user without e-mail",
    );
    let name = unique("conf-mail");
    let uid = ok(
        kc.create_user(&NewUser {
            email: Some(format!("{name}@example.com")),
            ..new_user(&name)
        })
        .await,
        "create_user",
    );
    expect_invalid(
        kc.execute_actions_email(
            &uid,
            &ExecuteActionsEmail {
                redirect_uri: Some("http://localhost/".into()),
                ..send.clone()
            },
        )
        .await,
        "client_id",
        "Client id missing",
        "execute_actions_email with a redirect URI but no client",
    );
    expect_invalid(
        kc.execute_actions_email(
            &uid,
            &ExecuteActionsEmail {
                client_id: Some("no-such-client-conformance".into()),
                ..send.clone()
            },
        )
        .await,
        "client_id",
        "Client doesn't exist",
        "execute_actions_email with an unknown client",
    );
    expect_invalid(
        kc.execute_actions_email(
            &uid,
            &ExecuteActionsEmail {
                client_id: Some(ALWAYS_PRESENT_CLIENT.into()),
                redirect_uri: Some("http://not-registered.example/".into()),
                ..send.clone()
            },
        )
        .await,
        "redirect_uri",
        "Invalid redirect uri.",
        "execute_actions_email with a redirect URI the client does not allow",
    );
    expect_invalid(
        kc.execute_actions_email(
            &uid,
            &ExecuteActionsEmail {
                actions: vec!["NOT_AN_ACTION".into()],
                ..send.clone()
            },
        )
        .await,
        "actions",
        "Provided invalid required actions",
        "execute_actions_email with an unknown action",
    );
    ok(
        kc.update_user(
            &uid,
            &UserUpdate {
                enabled: Some(false),
                ..UserUpdate::default()
            },
        )
        .await,
        "disable user",
    );
    expect_invalid(
        kc.execute_actions_email(&uid, &send).await,
        "user",
        "User is disabled",
        "execute_actions_email to a disabled user",
    );
    expect_not_found(
        kc.execute_actions_email("00000000-0000-0000-0000-000000000000", &send)
            .await,
        "execute_actions_email(unknown user)",
    );
    ok(kc.delete_user(&uid).await, "delete_user");
    ok(kc.delete_user(&no_email).await, "delete_user");
}

/// Points the realm's SMTP settings at `smtp`, sends an execute-actions e-mail
/// (`VERIFY_EMAIL`, `UPDATE_PASSWORD`, 24 h, as PrimeHub's console does) to a new user and
/// returns `(user id, the address it went to)`: the caller checks the mail arrived (the SMTP
/// sink on a real Keycloak, `FakeRealm::sent_emails` on the fake). Without an SMTP server the
/// same call fails as Keycloak fails (500). The realm's SMTP settings are restored.
pub async fn execute_actions_email_delivers(
    kc: &dyn KeycloakAdmin,
    smtp: &SmtpSettings,
) -> (String, String) {
    let before = ok(kc.realm_settings().await, "realm_settings");
    let name = unique("conf-mail-sent");
    let address = format!("{name}@example.com");
    let uid = ok(
        kc.create_user(&NewUser {
            email: Some(address.clone()),
            ..new_user(&name)
        })
        .await,
        "create_user",
    );
    let send = ExecuteActionsEmail {
        actions: vec![
            required_action::VERIFY_EMAIL.to_owned(),
            required_action::UPDATE_PASSWORD.to_owned(),
        ],
        lifespan: Some(86_400),
        ..ExecuteActionsEmail::default()
    };
    ok(
        kc.update_realm_settings(&RealmSettingsUpdate {
            smtp: Some(SmtpSettings::default()),
            ..RealmSettingsUpdate::default()
        })
        .await,
        "update_realm_settings(no SMTP server)",
    );
    match kc.execute_actions_email(&uid, &send).await {
        Err(KeycloakError::Unexpected { status: 500, .. }) => {}
        other => panic!(
            "conformance: execute_actions_email without an SMTP server: expected a 500, got {other:?}"
        ),
    }
    ok(
        kc.update_realm_settings(&RealmSettingsUpdate {
            smtp: Some(smtp.clone()),
            ..RealmSettingsUpdate::default()
        })
        .await,
        "update_realm_settings(SMTP)",
    );
    ok(
        kc.execute_actions_email(&uid, &send).await,
        "execute_actions_email",
    );
    ok(
        kc.update_realm_settings(&RealmSettingsUpdate {
            smtp: Some(before.smtp.unwrap_or_default()),
            ..RealmSettingsUpdate::default()
        })
        .await,
        "restore SMTP settings",
    );
    (uid, address.to_lowercase())
}

/// Display name and SMTP settings: written, read back (never the SMTP password), left alone
/// by updates that do not name them, removed; the original values are restored.
pub async fn realm_settings(kc: &dyn KeycloakAdmin) {
    let before = ok(kc.realm_settings().await, "realm_settings");
    assert_eq!(
        before.realm,
        kc.realm(),
        "conformance: realm_settings names the realm"
    );
    let display = format!("Conformance {}", unique("realm"));
    ok(
        kc.update_realm_settings(&RealmSettingsUpdate {
            display_name: Some(display.clone()),
            ..RealmSettingsUpdate::default()
        })
        .await,
        "update_realm_settings(display name)",
    );
    let smtp = SmtpSettings {
        host: "smtp.conformance.invalid".into(),
        port: Some(2525),
        from: "primehub@conformance.invalid".into(),
        from_display_name: Some("PrimeHub".into()),
        reply_to: None,
        ssl: false,
        starttls: true,
        auth: true,
        user: Some("mailer".into()),
        password: Some("smtp-s3cret".into()),
    };
    ok(
        kc.update_realm_settings(&RealmSettingsUpdate {
            smtp: Some(smtp.clone()),
            ..RealmSettingsUpdate::default()
        })
        .await,
        "update_realm_settings(SMTP)",
    );
    for (from, reply_to, what) in [
        ("", None, "without a sender"),
        ("not-an-address", None, "with an invalid sender"),
        (
            "ok@conformance.invalid",
            Some("bad"),
            "with an invalid reply-to",
        ),
    ] {
        match kc
            .update_realm_settings(&RealmSettingsUpdate {
                smtp: Some(SmtpSettings {
                    from: from.into(),
                    reply_to: reply_to.map(str::to_owned),
                    ..smtp.clone()
                }),
                ..RealmSettingsUpdate::default()
            })
            .await
        {
            Err(KeycloakError::Invalid { field, rule, .. })
                if field == "smtp" && rule.starts_with("Invalid ") => {}
            other => panic!(
                "conformance: SMTP settings {what}: expected Invalid {{ field: \"smtp\" }}, got {other:?}"
            ),
        }
    }
    let got = ok(kc.realm_settings().await, "realm_settings");
    assert_eq!(
        got.display_name.as_deref(),
        Some(display.as_str()),
        "conformance: an SMTP update keeps the display name"
    );
    assert_eq!(
        got.smtp,
        Some(SmtpSettings {
            password: None,
            ..smtp.clone()
        }),
        "conformance: SMTP settings read back, without the password"
    );
    // Changing the port without a password keeps the stored password (Keycloak's mask).
    ok(
        kc.update_realm_settings(&RealmSettingsUpdate {
            smtp: Some(SmtpSettings {
                port: Some(2526),
                password: None,
                ..smtp.clone()
            }),
            display_name: Some(format!("{display} 2")),
            ..RealmSettingsUpdate::default()
        })
        .await,
        "update_realm_settings(SMTP port, display name)",
    );
    let got = ok(kc.realm_settings().await, "realm_settings");
    assert_eq!(got.smtp.as_ref().and_then(|s| s.port), Some(2526));
    assert_eq!(got.display_name, Some(format!("{display} 2")));
    ok(
        kc.update_realm_settings(&RealmSettingsUpdate {
            smtp: Some(SmtpSettings::default()),
            ..RealmSettingsUpdate::default()
        })
        .await,
        "update_realm_settings(remove SMTP)",
    );
    assert_eq!(
        ok(kc.realm_settings().await, "realm_settings").smtp,
        None,
        "conformance: an empty SMTP host removes the mail server"
    );
    ok(
        kc.update_realm_settings(&RealmSettingsUpdate {
            display_name: Some(before.display_name.clone().unwrap_or_default()),
            smtp: Some(before.smtp.clone().unwrap_or_default()),
            ..RealmSettingsUpdate::default()
        })
        .await,
        "restore realm settings",
    );
}

/// Client secrets: a public client has none, an unknown client is NotFound, and each
/// `(clientId, secret)` in `known` reads back.
pub async fn client_secrets(kc: &dyn KeycloakAdmin, known: &[(&str, &str)]) {
    assert_eq!(
        ok(
            kc.client_secret(ALWAYS_PRESENT_CLIENT).await,
            "client_secret(public client)"
        ),
        None,
        "conformance: a public client has no secret"
    );
    expect_not_found(
        kc.client_secret("no-such-client-conformance").await,
        "client_secret(unknown client)",
    );
    for (client_id, secret) in known {
        assert_eq!(
            ok(kc.client_secret(client_id).await, "client_secret").as_deref(),
            Some(*secret),
            "conformance: the secret of {client_id}"
        );
    }
}

/// Admin events: changes made while they are enabled are listed newest first with their
/// operation, resource type, path and (with details) representation; the filters work. The
/// realm's admin-event switches are restored.
pub async fn admin_events(kc: &dyn KeycloakAdmin) {
    let before = ok(kc.realm_settings().await, "realm_settings");
    ok(
        kc.update_realm_settings(&RealmSettingsUpdate {
            admin_events_enabled: Some(true),
            admin_events_details_enabled: Some(true),
            ..RealmSettingsUpdate::default()
        })
        .await,
        "enable admin events",
    );
    let latest = ok(
        kc.admin_events(&AdminEventQuery {
            page: Page::first(1),
            ..AdminEventQuery::default()
        })
        .await,
        "admin_events(latest)",
    );
    let since = latest.first().map(|e| e.time);
    let name = unique("conf-events");
    let uid = ok(kc.create_user(&new_user(&name)).await, "create_user");
    let gid = ok(
        kc.create_group(&NewGroup {
            name: unique("conf-events-group"),
            attributes: Attributes::new(),
        })
        .await,
        "create_group",
    );
    ok(kc.add_member(&gid, &uid).await, "add_member");
    let query = AdminEventQuery {
        since,
        page: Page::first(500),
        ..AdminEventQuery::default()
    };
    let events = ok(kc.admin_events(&query).await, "admin_events");
    assert!(
        events.windows(2).all(|w| w[0].time >= w[1].time),
        "conformance: admin events are listed newest first"
    );
    let user_path = format!("users/{uid}");
    let created = events
        .iter()
        .find(|e| e.resource_path.as_deref() == Some(user_path.as_str()))
        .unwrap_or_else(|| panic!("conformance: no admin event for {user_path}: {events:?}"));
    assert_eq!(
        (
            created.operation_type.as_str(),
            created.resource_type.as_str()
        ),
        ("CREATE", "USER"),
        "conformance: creating a user is a CREATE USER event"
    );
    assert!(
        created
            .representation
            .as_deref()
            .is_some_and(|r| r.contains(&name)),
        "conformance: with details on, the event carries the representation: {created:?}"
    );
    assert!(created.time > 0);
    let membership = format!("users/{uid}/groups/{gid}");
    assert!(
        events
            .iter()
            .any(|e| e.resource_path.as_deref() == Some(membership.as_str())
                && e.operation_type == "CREATE"
                && e.resource_type == "GROUP_MEMBERSHIP"),
        "conformance: joining a group is a CREATE GROUP_MEMBERSHIP event"
    );
    let only_groups = ok(
        kc.admin_events(&AdminEventQuery {
            resource_types: vec!["GROUP".into()],
            ..query.clone()
        })
        .await,
        "admin_events(resource type)",
    );
    assert!(
        !only_groups.is_empty() && only_groups.iter().all(|e| e.resource_type == "GROUP"),
        "conformance: the resource-type filter keeps only GROUP events"
    );
    let deletes = ok(
        kc.admin_events(&AdminEventQuery {
            operation_types: vec!["DELETE".into()],
            ..query.clone()
        })
        .await,
        "admin_events(operation type)",
    );
    assert!(
        deletes.iter().all(|e| e.operation_type == "DELETE"),
        "conformance: the operation-type filter keeps only DELETE events"
    );
    let newest = events.first().map(|e| e.time).unwrap_or_default();
    let later = ok(
        kc.admin_events(&AdminEventQuery {
            since: Some(newest + 86_400_000),
            ..query.clone()
        })
        .await,
        "admin_events(since tomorrow)",
    );
    assert!(
        later.is_empty(),
        "conformance: nothing happened after the newest event"
    );
    let paged = ok(
        kc.admin_events(&AdminEventQuery {
            page: Page { first: 1, max: 1 },
            ..query.clone()
        })
        .await,
        "admin_events(paged)",
    );
    assert_eq!(
        paged.first().map(|e| e.time),
        events.get(1).map(|e| e.time),
        "conformance: admin events page over the newest-first list"
    );
    ok(kc.delete_group(&gid).await, "delete_group");
    ok(kc.delete_user(&uid).await, "delete_user");
    ok(
        kc.update_realm_settings(&RealmSettingsUpdate {
            admin_events_enabled: Some(before.admin_events_enabled),
            admin_events_details_enabled: Some(before.admin_events_details_enabled),
            ..RealmSettingsUpdate::default()
        })
        .await,
        "restore admin event settings",
    );
}

/// The admin events [`KeycloakCache`](crate::cache::KeycloakCache) follows: every change to
/// users, groups, memberships, realm roles, group realm-role mappings and the admin flag is
/// recorded with the resource type and path the cache reads (`users/{id}`, `groups/{id}`,
/// `users/{user}/groups/{group}`, `roles/…`, `groups/{id}/role-mappings/realm`,
/// `users/{id}/role-mappings/clients/…`). The realm's admin-event switches are restored.
pub async fn admin_events_the_cache_follows(kc: &dyn KeycloakAdmin) {
    let before = ok(kc.realm_settings().await, "realm_settings");
    ok(
        kc.update_realm_settings(&RealmSettingsUpdate {
            admin_events_enabled: Some(true),
            admin_events_details_enabled: Some(false),
            ..RealmSettingsUpdate::default()
        })
        .await,
        "enable admin events",
    );
    let latest = ok(
        kc.admin_events(&AdminEventQuery {
            page: Page::first(1),
            ..AdminEventQuery::default()
        })
        .await,
        "admin_events(latest)",
    );
    let since = latest.first().map(|e| e.time);
    let uid = ok(
        kc.create_user(&new_user(&unique("conf-follow"))).await,
        "create_user",
    );
    ok(
        kc.update_user(
            &uid,
            &UserUpdate {
                first_name: Some("Followed".into()),
                ..UserUpdate::default()
            },
        )
        .await,
        "update_user",
    );
    let gid = ok(
        kc.create_group(&NewGroup {
            name: unique("conf-follow-group"),
            attributes: Attributes::new(),
        })
        .await,
        "create_group",
    );
    ok(
        kc.update_group(
            &gid,
            &GroupUpdate {
                attributes: Some(attrs(&[("displayName", "Followed")])),
                ..GroupUpdate::default()
            },
        )
        .await,
        "update_group",
    );
    ok(kc.add_member(&gid, &uid).await, "add_member");
    ok(kc.remove_member(&gid, &uid).await, "remove_member");
    let role = unique("img:conf-follow");
    ok(kc.create_role(&role, None).await, "create_role");
    ok(
        kc.add_group_roles(&gid, std::slice::from_ref(&role)).await,
        "add_group_roles",
    );
    ok(
        kc.remove_group_roles(&gid, std::slice::from_ref(&role))
            .await,
        "remove_group_roles",
    );
    ok(kc.set_admin(&uid, true).await, "set_admin(true)");
    ok(kc.set_admin(&uid, false).await, "set_admin(false)");
    ok(kc.delete_role(&role).await, "delete_role");
    ok(kc.delete_group(&gid).await, "delete_group");
    ok(kc.delete_user(&uid).await, "delete_user");

    let mut events = Vec::new();
    let mut page = Page::first(100);
    loop {
        let batch = ok(
            kc.admin_events(&AdminEventQuery {
                since,
                page,
                ..AdminEventQuery::default()
            })
            .await,
            "admin_events",
        );
        let full = batch.len() >= page.max as usize;
        events.extend(batch);
        if !full {
            break;
        }
        page = page.next();
    }
    let has = |operation: &str, resource: &str, path: &dyn Fn(&str) -> bool| {
        events.iter().any(|e| {
            e.operation_type == operation
                && e.resource_type == resource
                && e.resource_path.as_deref().is_some_and(path)
        })
    };
    let user_path = format!("users/{uid}");
    let group_path = format!("groups/{gid}");
    let membership = format!("users/{uid}/groups/{gid}");
    let group_mapping = format!("groups/{gid}/role-mappings/realm");
    let client_mapping = format!("users/{uid}/role-mappings/clients/");
    type PathCheck<'a> = Box<dyn Fn(&str) -> bool + 'a>;
    let expected: [(&str, &str, PathCheck<'_>); 14] = [
        ("CREATE", "USER", Box::new(|p| p == user_path)),
        ("UPDATE", "USER", Box::new(|p| p == user_path)),
        ("DELETE", "USER", Box::new(|p| p == user_path)),
        ("CREATE", "GROUP", Box::new(|p| p == group_path)),
        ("UPDATE", "GROUP", Box::new(|p| p == group_path)),
        ("DELETE", "GROUP", Box::new(|p| p == group_path)),
        ("CREATE", "GROUP_MEMBERSHIP", Box::new(|p| p == membership)),
        ("DELETE", "GROUP_MEMBERSHIP", Box::new(|p| p == membership)),
        (
            "CREATE",
            "REALM_ROLE",
            Box::new(|p| p.starts_with("roles/")),
        ),
        (
            "DELETE",
            "REALM_ROLE",
            Box::new(|p| p.starts_with("roles/")),
        ),
        (
            "CREATE",
            "REALM_ROLE_MAPPING",
            Box::new(|p| p == group_mapping),
        ),
        (
            "DELETE",
            "REALM_ROLE_MAPPING",
            Box::new(|p| p == group_mapping),
        ),
        (
            "CREATE",
            "CLIENT_ROLE_MAPPING",
            Box::new(|p| p.starts_with(&client_mapping)),
        ),
        (
            "DELETE",
            "CLIENT_ROLE_MAPPING",
            Box::new(|p| p.starts_with(&client_mapping)),
        ),
    ];
    for (operation, resource, path) in &expected {
        assert!(
            has(operation, resource, path.as_ref()),
            "conformance: no {operation} {resource} admin event with the expected path: {events:?}"
        );
    }
    ok(
        kc.update_realm_settings(&RealmSettingsUpdate {
            admin_events_enabled: Some(before.admin_events_enabled),
            admin_events_details_enabled: Some(before.admin_events_details_enabled),
            ..RealmSettingsUpdate::default()
        })
        .await,
        "restore admin event settings",
    );
}

/// Removes TOTP from `user_id`, a user the caller gave an OTP credential (through a realm
/// partial import on Keycloak, `FakeRealm::add_otp_credential` on the fake): the OTP
/// credentials go, the others stay, `totp` turns false, and a second call is fine.
pub async fn remove_totp(kc: &dyn KeycloakAdmin, user_id: &str) {
    let before = ok(kc.user_credentials(user_id).await, "user_credentials");
    assert!(
        before.iter().any(|c| c.kind == OTP_CREDENTIAL),
        "conformance: remove_totp needs a user with an OTP credential, got {before:?}"
    );
    assert!(
        ok(kc.get_user(user_id).await, "get_user").totp,
        "conformance: a user with an OTP credential has totp = true"
    );
    ok(kc.remove_totp(user_id).await, "remove_totp");
    let after = ok(kc.user_credentials(user_id).await, "user_credentials");
    assert!(
        !after.iter().any(|c| c.kind == OTP_CREDENTIAL),
        "conformance: remove_totp removes every OTP credential: {after:?}"
    );
    let others = |list: &[crate::representation::Credential]| {
        list.iter()
            .filter(|c| c.kind != OTP_CREDENTIAL)
            .map(|c| c.id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        others(&after),
        others(&before),
        "conformance: remove_totp keeps the other credentials"
    );
    assert!(
        !ok(kc.get_user(user_id).await, "get_user").totp,
        "conformance: totp is false after remove_totp"
    );
    ok(kc.remove_totp(user_id).await, "remove_totp twice");
    expect_not_found(
        kc.remove_totp("00000000-0000-0000-0000-000000000000").await,
        "remove_totp(unknown user)",
    );
    expect_not_found(
        kc.user_credentials("00000000-0000-0000-0000-000000000000")
            .await,
        "user_credentials(unknown user)",
    );
}

/// The scopes of PrimeHub's clients in issued tokens, on a realm [`crate::bootstrap`] set up.
///
/// `admin-ui` has `fullScopeAllowed: false` and one scope mapping, `realm-management/
/// realm-admin`: its service account's tokens carry that role under `resource_access` (a real
/// Keycloak adds the roles `realm-admin` is a composite of, which the fake does not model) and no
/// `realm_access`, so none of the thousands of `img:`/`it:`/`ds:` realm roles; a user's token
/// through `admin-ui` carries none of the user's realm roles either. `jupyterhub` keeps the
/// full scope: the same user's token through it carries the role in `realm_access` and in the
/// `roles` claim of PrimeHub's role mapper, and the group in `groups`.
///
/// `grant(client_id, user)` returns an access token (the JWT) of the realm: with
/// `Some((username, password))` by the password grant through `client_id`, with `None` by the
/// client-credentials grant of `client_id`; the caller knows the clients' secrets. The check
/// creates a user, a group and a realm role with unique names and deletes them at the end.
pub async fn primehub_client_token_scopes<G>(kc: &dyn KeycloakAdmin, grant: G)
where
    G: AsyncFn(&str, Option<(&str, &str)>) -> Result<String>,
{
    use base64::Engine as _;
    fn claims(token: &str, what: &str) -> serde_json::Value {
        let payload = token.split('.').nth(1).unwrap_or_default();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .unwrap_or_else(|e| panic!("conformance: {what}: the token is not a JWT: {e}"));
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("conformance: {what}: the token's payload: {e}"))
    }
    fn strings(value: &serde_json::Value) -> Vec<String> {
        value
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    }

    // The service account of admin-ui.
    let sa = claims(
        &ok(grant("admin-ui", None).await, "admin-ui client credentials"),
        "admin-ui service account",
    );
    assert!(
        sa.get("realm_access").is_none(),
        "conformance: admin-ui tokens carry no realm roles (fullScopeAllowed: false): {sa}"
    );
    let resource_clients: Vec<&String> = sa
        .get("resource_access")
        .and_then(|r| r.as_object())
        .map(|r| r.keys().collect())
        .unwrap_or_default();
    assert_eq!(
        resource_clients,
        [crate::admin::REALM_MANAGEMENT_CLIENT],
        "conformance: admin-ui tokens carry only realm-management's roles: {sa}"
    );
    assert!(
        strings(&sa["resource_access"]["realm-management"]["roles"])
            .iter()
            .any(|r| r == crate::admin::REALM_ADMIN_ROLE),
        "conformance: admin-ui's service account token carries realm-admin: {sa}"
    );

    // A user with a realm role through a group.
    let role = unique("img:conf-scope");
    ok(kc.create_role(&role, None).await, "create_role");
    let group = unique("conf-scope");
    let gid = ok(
        kc.create_group(&NewGroup {
            name: group.clone(),
            attributes: Attributes::new(),
        })
        .await,
        "create_group",
    );
    ok(
        kc.add_group_roles(&gid, std::slice::from_ref(&role)).await,
        "add_group_roles",
    );
    let username = unique("conf-scope");
    let password = "Conf-Scope-Passw0rd";
    let uid = ok(
        kc.create_user(&NewUser {
            password: Some(password.to_owned()),
            ..new_user(&username)
        })
        .await,
        "create_user",
    );
    ok(kc.add_member(&gid, &uid).await, "add_member");

    let through_admin_ui = claims(
        &ok(
            grant("admin-ui", Some((&username, password))).await,
            "password grant through admin-ui",
        ),
        "user token of admin-ui",
    );
    assert!(
        through_admin_ui.get("realm_access").is_none() && through_admin_ui.get("roles").is_none(),
        "conformance: a user's admin-ui token carries none of the user's realm roles: \
         {through_admin_ui}"
    );
    assert!(
        through_admin_ui.get("resource_access").is_none() && through_admin_ui.get("aud").is_none(),
        "conformance: a non-admin's admin-ui token carries no client roles and no audience: \
         {through_admin_ui}"
    );

    let through_jupyterhub = claims(
        &ok(
            grant("jupyterhub", Some((&username, password))).await,
            "password grant through jupyterhub",
        ),
        "user token of jupyterhub",
    );
    assert!(
        strings(&through_jupyterhub["realm_access"]["roles"]).contains(&role),
        "conformance: jupyterhub (full scope) tokens carry the user's realm roles: \
         {through_jupyterhub}"
    );
    assert!(
        strings(&through_jupyterhub["roles"]).contains(&role),
        "conformance: jupyterhub's `roles` mapper puts the realm roles in `roles`: \
         {through_jupyterhub}"
    );
    assert!(
        strings(&through_jupyterhub["groups"]).contains(&format!("/{group}")),
        "conformance: jupyterhub's `groups` mapper puts the full group paths in `groups`: \
         {through_jupyterhub}"
    );

    ok(kc.delete_user(&uid).await, "delete_user");
    ok(kc.delete_group(&gid).await, "delete_group");
    ok(kc.delete_role(&role).await, "delete_role");
}

#[track_caller]
fn expect_unexpected<T: Debug>(result: Result<T>, status: u16, what: &str) {
    match result {
        Err(KeycloakError::Unexpected { status: got, .. }) if got == status => {}
        other => panic!("conformance: {what}: expected Unexpected({status}), got {other:?}"),
    }
}

fn new_group(name: &str) -> NewGroup {
    NewGroup {
        name: name.to_owned(),
        attributes: Attributes::new(),
    }
}

fn names<T>(list: &[T], name: impl Fn(&T) -> &str) -> Vec<String> {
    list.iter().map(|x| name(x).to_owned()).collect()
}

/// The realm roles every Keycloak realm has: `offline_access`, `uma_authorization` and the
/// composite `default-roles-<realm>` containing both, which every new user holds directly.
pub async fn builtin_realm_roles(kc: &dyn KeycloakAdmin) {
    let default_roles = format!("default-roles-{}", kc.realm());
    let all = ok(kc.list_roles(None, Page::first(10_000)).await, "list_roles");
    for builtin in [
        "offline_access",
        "uma_authorization",
        default_roles.as_str(),
    ] {
        assert!(
            all.iter().any(|r| r.name == builtin),
            "conformance: every realm has the realm role {builtin}"
        );
    }
    let role = ok(kc.get_role(&default_roles).await, "get_role(default roles)");
    assert!(
        role.composite,
        "conformance: {default_roles} is a composite"
    );
    assert!(
        !ok(kc.get_role("offline_access").await, "get_role").composite,
        "conformance: offline_access is not a composite"
    );

    let uid = ok(
        kc.create_user(&new_user(&unique("conf-builtin"))).await,
        "create_user",
    );
    let direct = ok(kc.user_realm_roles(&uid).await, "user_realm_roles");
    assert_eq!(
        names(&direct, |r| &r.name),
        vec![default_roles.clone()],
        "conformance: a new user holds default-roles-<realm> directly, and nothing else"
    );
    let effective = ok(
        kc.effective_user_realm_roles(&uid).await,
        "effective_user_realm_roles",
    );
    // (A realm's default groups may add more.)
    for held in [
        default_roles.as_str(),
        "offline_access",
        "uma_authorization",
    ] {
        assert!(
            effective.iter().any(|r| r.name == held),
            "conformance: a new user holds {held} (default-roles and what it contains)"
        );
    }
    ok(kc.delete_user(&uid).await, "delete_user");
}

/// The composites every Keycloak 26.7 realm has: `default-roles-<realm>` holds
/// `offline_access`, `uma_authorization` and `account`'s `manage-account` and `view-profile`;
/// `realm-management`'s `realm-admin` holds the 21 other `realm-management` roles.
pub async fn builtin_composite_roles(kc: &dyn KeycloakAdmin) {
    let default_roles = format!("default-roles-{}", kc.realm());
    let got = ok(kc.role_composites(&default_roles).await, "role_composites");
    assert_eq!(
        names(&got.realm, |r| &r.name),
        vec!["offline_access", "uma_authorization"],
        "conformance: the realm roles {default_roles} contains"
    );
    assert_eq!(
        got.clients
            .get("account")
            .map(|roles| names(roles, |r| &r.name)),
        Some(vec!["manage-account".to_owned(), "view-profile".to_owned()]),
        "conformance: the account roles {default_roles} contains"
    );
    assert_eq!(
        got.clients.len(),
        1,
        "conformance: {default_roles} holds client roles of account only"
    );
    let admin = ok(
        kc.client_role_composites("realm-management", "realm-admin")
            .await,
        "client_role_composites(realm-admin)",
    );
    assert!(
        admin.realm.is_empty(),
        "conformance: realm-admin holds no realm roles"
    );
    let held = admin
        .clients
        .get("realm-management")
        .map(|roles| names(roles, |r| &r.name))
        .unwrap_or_default();
    let expected = [
        "create-client",
        "impersonation",
        "manage-authorization",
        "manage-clients",
        "manage-events",
        "manage-identity-providers",
        "manage-organizations",
        "manage-realm",
        "manage-users",
        "query-clients",
        "query-groups",
        "query-organizations",
        "query-realms",
        "query-users",
        "view-authorization",
        "view-clients",
        "view-events",
        "view-identity-providers",
        "view-organizations",
        "view-realm",
        "view-users",
    ];
    assert_eq!(
        held, expected,
        "conformance: realm-admin holds the other realm-management roles"
    );
    let view_users = ok(
        kc.client_role_composites("realm-management", "view-users")
            .await,
        "client_role_composites(view-users)",
    );
    assert_eq!(
        view_users
            .clients
            .get("realm-management")
            .map(|roles| names(roles, |r| &r.name)),
        Some(vec!["query-groups".to_owned(), "query-users".to_owned()]),
        "conformance: view-users holds query-groups and query-users"
    );
    expect_not_found(
        kc.client_role_composites("realm-management", "no-such-role")
            .await,
        "client_role_composites of a missing role",
    );
    expect_not_found(
        kc.client_role_composites(&unique("conf-no-client"), "x")
            .await,
        "client_role_composites of a missing client",
    );
}

/// Composite realm roles: adding and removing children, the `composite` flag, cycles (a role
/// may even contain itself) expanded once into effective mappings, refusals that change
/// nothing, and a deleted role leaving the composites that held it.
pub async fn composite_roles(kc: &dyn KeycloakAdmin) {
    let a = unique("conf-comp-a");
    let b = unique("conf-comp-b");
    let c = unique("conf-comp-c");
    for name in [&a, &b, &c] {
        ok(kc.create_role(name, None).await, "create_role");
    }
    assert!(
        !ok(kc.get_role(&a).await, "get_role").composite,
        "conformance: a new role is not a composite"
    );
    ok(
        kc.add_role_composites(&a, std::slice::from_ref(&b)).await,
        "add_role_composites(a, [b])",
    );
    ok(
        kc.add_role_composites(&a, std::slice::from_ref(&b)).await,
        "add_role_composites twice (idempotent)",
    );
    assert!(
        ok(kc.get_role(&a).await, "get_role").composite,
        "conformance: a role with children is a composite"
    );
    let got = ok(kc.role_composites(&a).await, "role_composites(a)");
    assert_eq!(names(&got.realm, |r| &r.name), vec![b.clone()]);
    assert!(got.clients.is_empty(), "conformance: no client roles in a");
    // A cycle a → b → c → a, and a containing itself: allowed.
    ok(
        kc.add_role_composites(&b, std::slice::from_ref(&c)).await,
        "add_role_composites(b, [c])",
    );
    ok(
        kc.add_role_composites(&c, std::slice::from_ref(&a)).await,
        "add_role_composites(c, [a]) (a cycle)",
    );
    ok(
        kc.add_role_composites(&a, std::slice::from_ref(&a)).await,
        "add_role_composites(a, [a]) (itself)",
    );
    let got = ok(kc.role_composites(&a).await, "role_composites(a)");
    let mut expected = vec![a.clone(), b.clone()];
    expected.sort();
    assert_eq!(
        names(&got.realm, |r| &r.name),
        expected,
        "conformance: a role may contain itself; composites lists direct children only"
    );
    let uid = ok(
        kc.create_user(&new_user(&unique("conf-comp-user"))).await,
        "create_user",
    );
    ok(
        kc.add_user_roles(&uid, std::slice::from_ref(&a)).await,
        "add_user_roles",
    );
    let effective = ok(
        kc.effective_user_realm_roles(&uid).await,
        "effective_user_realm_roles",
    );
    for held in [&a, &b, &c] {
        assert_eq!(
            effective.iter().filter(|r| r.name == *held).count(),
            1,
            "conformance: a user holding {a} holds {held} once (cycles expand once)"
        );
    }
    let direct = ok(kc.user_realm_roles(&uid).await, "user_realm_roles");
    assert!(
        !direct.iter().any(|r| r.name == b),
        "conformance: roles held through a composite are not direct mappings"
    );
    // Refusals change nothing.
    let missing = unique("conf-comp-missing");
    expect_not_found(
        kc.add_role_composites(&a, &[c.clone(), missing.clone()])
            .await,
        "add_role_composites with a missing child",
    );
    assert!(
        !ok(kc.role_composites(&a).await, "role_composites")
            .realm
            .iter()
            .any(|r| r.name == c),
        "conformance: a refused add_role_composites adds nothing"
    );
    expect_not_found(
        kc.add_role_composites(&missing, std::slice::from_ref(&a))
            .await,
        "add_role_composites to a missing role",
    );
    expect_not_found(
        kc.role_composites(&missing).await,
        "role_composites of a missing role",
    );
    ok(
        kc.remove_role_composites(&a, &[a.clone(), b.clone()]).await,
        "remove_role_composites(a, [a, b])",
    );
    ok(
        kc.remove_role_composites(&a, std::slice::from_ref(&b))
            .await,
        "remove_role_composites twice (idempotent)",
    );
    assert!(
        !ok(kc.get_role(&a).await, "get_role").composite,
        "conformance: a role without children is no longer a composite"
    );
    let effective = ok(
        kc.effective_user_realm_roles(&uid).await,
        "effective_user_realm_roles after remove",
    );
    assert!(
        !effective.iter().any(|r| r.name == b || r.name == c),
        "conformance: removed children are no longer held through the composite"
    );
    // Deleting a role removes it from the composites holding it.
    ok(kc.delete_role(&c).await, "delete_role(c)");
    assert!(
        ok(kc.role_composites(&b).await, "role_composites(b)")
            .realm
            .is_empty(),
        "conformance: a deleted role leaves the composites that held it"
    );
    assert!(
        !ok(kc.get_role(&b).await, "get_role(b)").composite,
        "conformance: a composite whose only child was deleted is no longer a composite"
    );
    ok(kc.delete_user(&uid).await, "delete_user");
    for name in [&a, &b] {
        ok(kc.delete_role(name).await, "delete_role");
    }
}

/// Subgroups: created under a parent with paths `/<parent>/<name>`, names unique among
/// siblings only, listed by name, found by path, holding their ancestors' roles for their
/// members, searched and counted at every level, deleted with their parent.
pub async fn subgroups(kc: &dyn KeycloakAdmin) {
    let top_name = unique("conf-tree");
    let top = ok(kc.create_group(&new_group(&top_name)).await, "create_group");
    let b = ok(
        kc.create_subgroup(
            &top,
            &NewGroup {
                name: "team b".into(),
                attributes: attrs(&[("quota", "2")]),
            },
        )
        .await,
        "create_subgroup",
    );
    let a = ok(
        kc.create_subgroup(&top, &new_group("team-a")).await,
        "create_subgroup",
    );
    expect_conflict_on(
        kc.create_subgroup(&top, &new_group("team-a")).await,
        ConflictField::GroupName,
        "create_subgroup with a sibling's name",
    );
    let grand = ok(
        kc.create_subgroup(&b, &new_group("team-a")).await,
        "create_subgroup with a name used elsewhere in the tree",
    );
    expect_not_found(
        kc.create_subgroup("00000000-0000-0000-0000-000000000000", &new_group("x"))
            .await,
        "create_subgroup under a missing parent",
    );

    let got = ok(kc.get_group(&b).await, "get_group(subgroup)");
    assert_eq!(got.name, "team b");
    assert_eq!(
        got.path,
        format!("/{top_name}/team b"),
        "conformance: a subgroup's path"
    );
    assert_eq!(got.parent_id.as_deref(), Some(top.as_str()));
    assert_eq!(got.attributes.get("quota"), Some(&vec!["2".to_owned()]));
    let got = ok(kc.get_group(&grand).await, "get_group(grandchild)");
    assert_eq!(got.path, format!("/{top_name}/team b/team-a"));
    assert_eq!(
        ok(kc.get_group(&top).await, "get_group(top)").parent_id,
        None,
        "conformance: a top-level group has no parent"
    );

    let kids = ok(
        kc.list_subgroups(&top, Page::first(100)).await,
        "list_subgroups",
    );
    assert_eq!(
        names(&kids, |g| &g.name),
        ["team b", "team-a"],
        "conformance: subgroups are listed by name"
    );
    assert_eq!(kids[0].attributes.get("quota"), Some(&vec!["2".to_owned()]));
    let paged = ok(
        kc.list_subgroups(&top, Page { first: 1, max: 1 }).await,
        "list_subgroups(page)",
    );
    assert_eq!(names(&paged, |g| &g.name), ["team-a"]);
    assert!(
        ok(
            kc.list_subgroups(&a, Page::first(100)).await,
            "list_subgroups(leaf)"
        )
        .is_empty()
    );
    expect_not_found(
        kc.list_subgroups("00000000-0000-0000-0000-000000000000", Page::first(10))
            .await,
        "list_subgroups of a missing group",
    );

    let by_path = ok(
        kc.find_group_by_path(&format!("/{top_name}/team b/team-a"))
            .await,
        "find_group_by_path",
    );
    assert_eq!(by_path.map(|g| g.id), Some(grand.clone()));
    assert_eq!(
        ok(
            kc.find_group_by_path(&format!("/{top_name}")).await,
            "find_group_by_path(top)"
        )
        .map(|g| g.id),
        Some(top.clone())
    );
    for missing in [
        format!("/{top_name}/team-c"),
        format!("/{}/team b", top_name.to_uppercase()),
        "/team b".to_owned(),
    ] {
        assert_eq!(
            ok(kc.find_group_by_path(&missing).await, "find_group_by_path"),
            None,
            "conformance: no group at {missing} (names are exact, paths start at the top)"
        );
    }
    assert_eq!(
        ok(kc.find_group_by_name("team b").await, "find_group_by_name"),
        None,
        "conformance: find_group_by_name looks at top-level groups only"
    );

    // Group search looks at every level and reports the top-level ancestors.
    let found = ok(
        kc.search_groups(Some(&top_name), Page::first(100)).await,
        "search_groups(top)",
    );
    assert_eq!(names(&found, |g| &g.id), vec![top.clone()]);
    let marker = unique("conf-deep");
    let deep = ok(
        kc.create_subgroup(&grand, &new_group(&marker)).await,
        "create_subgroup",
    );
    let found = ok(
        kc.search_groups(Some(&marker), Page::first(100)).await,
        "search_groups(a subgroup's name)",
    );
    assert_eq!(
        names(&found, |g| &g.id),
        vec![top.clone()],
        "conformance: a subgroup match is reported as its top-level group"
    );
    assert_eq!(
        ok(kc.count_groups(Some(&marker)).await, "count_groups"),
        1,
        "conformance: count_groups(search) counts matches at any level"
    );

    // Members of a subgroup hold the roles of its ancestors.
    let role = format!("{}:img:tree", unique("conf-tree"));
    ok(kc.create_role(&role, None).await, "create_role");
    ok(
        kc.add_group_roles(&top, std::slice::from_ref(&role)).await,
        "add_group_roles",
    );
    let uid = ok(
        kc.create_user(&new_user(&unique("conf-tree"))).await,
        "create_user",
    );
    ok(kc.add_member(&grand, &uid).await, "add_member(grandchild)");
    let effective = ok(
        kc.effective_user_realm_roles(&uid).await,
        "effective_user_realm_roles",
    );
    assert!(
        effective.iter().any(|r| r.name == role),
        "conformance: a subgroup's member holds the roles of its ancestors"
    );
    // (A realm's default groups are there too.)
    let tree_paths = |groups: Vec<crate::representation::Group>| -> Vec<String> {
        groups
            .into_iter()
            .map(|g| g.path)
            .filter(|p| p.starts_with(&format!("/{top_name}/")))
            .collect()
    };
    assert_eq!(
        tree_paths(ok(kc.user_groups(&uid).await, "user_groups")),
        [format!("/{top_name}/team b/team-a")],
        "conformance: user_groups lists subgroups with their paths"
    );
    assert!(
        ok(kc.list_members(&top, Page::first(10)).await, "list_members").is_empty(),
        "conformance: a parent's members are its direct members only"
    );

    // Deleting a group deletes its subgroups.
    ok(kc.delete_group(&top).await, "delete_group(top)");
    for id in [&a, &b, &grand, &deep] {
        expect_not_found(
            kc.get_group(id).await,
            "get_group of a deleted group's subgroup",
        );
    }
    assert!(
        tree_paths(ok(kc.user_groups(&uid).await, "user_groups")).is_empty(),
        "conformance: memberships of deleted subgroups go"
    );
    ok(kc.delete_user(&uid).await, "delete_user");
    ok(kc.delete_role(&role).await, "delete_role");
}

/// Moving groups: under another group, to the top level, clashes with names already there,
/// under itself (nothing happens) and under its own subgroup (Keycloak's 500).
pub async fn subgroup_moves(kc: &dyn KeycloakAdmin) {
    let one_name = unique("conf-move");
    let one = ok(kc.create_group(&new_group(&one_name)).await, "create_group");
    let two_name = unique("conf-move");
    let two = ok(kc.create_group(&new_group(&two_name)).await, "create_group");
    let kid = ok(
        kc.create_subgroup(&one, &new_group("kid")).await,
        "create_subgroup",
    );
    let leaf = ok(
        kc.create_subgroup(&kid, &new_group("leaf")).await,
        "create_subgroup",
    );

    ok(kc.move_group(&kid, Some(&two)).await, "move_group");
    let moved = ok(kc.get_group(&kid).await, "get_group");
    assert_eq!(moved.path, format!("/{two_name}/kid"));
    assert_eq!(moved.parent_id.as_deref(), Some(two.as_str()));
    assert_eq!(
        ok(kc.get_group(&leaf).await, "get_group").path,
        format!("/{two_name}/kid/leaf"),
        "conformance: a moved group takes its subgroups along"
    );
    assert!(
        ok(
            kc.list_subgroups(&one, Page::first(10)).await,
            "list_subgroups"
        )
        .is_empty()
    );

    // A group of the same name already there.
    let other_kid = ok(
        kc.create_subgroup(&one, &new_group("kid")).await,
        "create_subgroup",
    );
    expect_conflict_on(
        kc.move_group(&other_kid, Some(&two)).await,
        ConflictField::GroupName,
        "move_group onto a sibling's name",
    );
    ok(
        kc.move_group(&kid, Some(&kid)).await,
        "move_group under itself",
    );
    assert_eq!(
        ok(kc.get_group(&kid).await, "get_group")
            .parent_id
            .as_deref(),
        Some(two.as_str()),
        "conformance: moving a group under itself changes nothing"
    );
    expect_unexpected(
        kc.move_group(&kid, Some(&leaf)).await,
        500,
        "move_group under its own subgroup",
    );
    expect_not_found(
        kc.move_group("00000000-0000-0000-0000-000000000000", Some(&two))
            .await,
        "move_group of a missing group",
    );

    // To the top level and back.
    ok(
        kc.move_group(&leaf, None).await,
        "move_group to the top level",
    );
    let top = ok(kc.get_group(&leaf).await, "get_group");
    assert_eq!((top.path.as_str(), top.parent_id), ("/leaf", None));
    let leaf_by_name = ok(kc.find_group_by_name("leaf").await, "find_group_by_name");
    assert_eq!(leaf_by_name.map(|g| g.id), Some(leaf.clone()));
    ok(kc.move_group(&leaf, Some(&kid)).await, "move_group back");
    assert_eq!(
        ok(kc.get_group(&leaf).await, "get_group").path,
        format!("/{two_name}/kid/leaf")
    );
    ok(kc.delete_group(&one).await, "delete_group");
    ok(kc.delete_group(&two).await, "delete_group");
}

/// Role updates: description, attributes, rename (mappings follow), clashes.
pub async fn role_updates(kc: &dyn KeycloakAdmin) {
    let prefix = format!("{}:", unique("conf-rupd"));
    let name = format!("{prefix}img:one");
    let other = format!("{prefix}img:two");
    ok(kc.create_role(&name, Some("first")).await, "create_role");
    ok(kc.create_role(&other, None).await, "create_role");

    ok(
        kc.update_role(
            &name,
            &RoleUpdate {
                description: Some(Some("second".into())),
                attributes: Some(attrs(&[("kind", "image")])),
                ..RoleUpdate::default()
            },
        )
        .await,
        "update_role(description, attributes)",
    );
    let role = ok(kc.get_role(&name).await, "get_role");
    assert_eq!(role.description.as_deref(), Some("second"));
    assert_eq!(role.attributes, attrs(&[("kind", "image")]));
    ok(
        kc.update_role(&name, &RoleUpdate::default()).await,
        "update_role(nothing)",
    );
    let role = ok(kc.get_role(&name).await, "get_role");
    assert_eq!(
        (role.description.as_deref(), role.attributes.len()),
        (Some("second"), 1),
        "conformance: an empty update keeps description and attributes"
    );
    ok(
        kc.update_role(
            &name,
            &RoleUpdate {
                description: Some(None),
                ..RoleUpdate::default()
            },
        )
        .await,
        "update_role(no description)",
    );
    assert_eq!(ok(kc.get_role(&name).await, "get_role").description, None);

    // A rename carries the mappings along.
    let gid = ok(
        kc.create_group(&new_group(&unique("conf-rupd"))).await,
        "create_group",
    );
    ok(
        kc.add_group_roles(&gid, std::slice::from_ref(&name)).await,
        "add_group_roles",
    );
    let renamed = format!("{prefix}img:renamed");
    ok(
        kc.update_role(
            &name,
            &RoleUpdate {
                name: Some(renamed.clone()),
                ..RoleUpdate::default()
            },
        )
        .await,
        "update_role(rename)",
    );
    expect_not_found(kc.get_role(&name).await, "get_role(old name)");
    assert_eq!(ok(kc.get_role(&renamed).await, "get_role").id, role.id);
    assert_eq!(
        names(
            &ok(kc.list_group_roles(&gid).await, "list_group_roles"),
            |r| &r.name
        ),
        vec![renamed.clone()],
        "conformance: mappings follow a renamed role"
    );
    expect_conflict_on(
        kc.update_role(
            &renamed,
            &RoleUpdate {
                name: Some(other.clone()),
                ..RoleUpdate::default()
            },
        )
        .await,
        ConflictField::RoleName,
        "update_role onto another role's name",
    );
    expect_not_found(
        kc.update_role(&format!("{prefix}img:missing"), &RoleUpdate::default())
            .await,
        "update_role of a missing role",
    );
    ok(kc.delete_group(&gid).await, "delete_group");
    ok(kc.delete_role(&renamed).await, "delete_role");
    ok(kc.delete_role(&other).await, "delete_role");
}

/// Who holds a role directly: its users (not through groups) and its groups (any level).
pub async fn role_holders(kc: &dyn KeycloakAdmin) {
    let role = format!("{}:it:holders", unique("conf-hold"));
    ok(kc.create_role(&role, None).await, "create_role");
    let base = unique("conf-hold");
    let mut users = Vec::new();
    for suffix in ["c", "a", "b"] {
        let id = ok(
            kc.create_user(&new_user(&format!("{base}-{suffix}"))).await,
            "create_user",
        );
        users.push(id);
    }
    for id in &users[..2] {
        ok(
            kc.add_user_roles(id, std::slice::from_ref(&role)).await,
            "add_user_roles",
        );
    }
    let top = ok(
        kc.create_group(&new_group(&format!("{base}-z"))).await,
        "create_group",
    );
    let sub = ok(
        kc.create_subgroup(&top, &new_group(&format!("{base}-y")))
            .await,
        "create_subgroup",
    );
    ok(
        kc.add_group_roles(&top, std::slice::from_ref(&role)).await,
        "add_group_roles",
    );
    ok(
        kc.add_group_roles(&sub, std::slice::from_ref(&role)).await,
        "add_group_roles",
    );
    ok(kc.add_member(&top, &users[2]).await, "add_member");

    let holders = ok(kc.role_users(&role, Page::first(100)).await, "role_users");
    assert_eq!(
        names(&holders, |u| &u.username),
        [format!("{base}-a"), format!("{base}-c")],
        "conformance: role_users lists the direct holders by username (not group members)"
    );
    let paged = ok(
        kc.role_users(&role, Page { first: 1, max: 5 }).await,
        "role_users(page)",
    );
    assert_eq!(names(&paged, |u| &u.username), [format!("{base}-c")]);
    let groups = ok(kc.role_groups(&role, Page::first(100)).await, "role_groups");
    assert_eq!(
        names(&groups, |g| &g.name),
        [format!("{base}-y"), format!("{base}-z")],
        "conformance: role_groups lists the groups at any level by name"
    );
    assert_eq!(groups[0].path, format!("/{base}-z/{base}-y"));
    let paged = ok(
        kc.role_groups(&role, Page { first: 0, max: 1 }).await,
        "role_groups(page)",
    );
    assert_eq!(names(&paged, |g| &g.name), [format!("{base}-y")]);
    let missing = format!("{role}-missing");
    expect_not_found(
        kc.role_users(&missing, Page::first(10)).await,
        "role_users(missing)",
    );
    expect_not_found(
        kc.role_groups(&missing, Page::first(10)).await,
        "role_groups(missing)",
    );

    ok(kc.delete_group(&top).await, "delete_group");
    for id in &users {
        ok(kc.delete_user(id).await, "delete_user");
    }
    ok(kc.delete_role(&role).await, "delete_role");
}

/// The realm roles still available to a user: all but the directly mapped ones (roles held
/// through a group are still available).
pub async fn available_user_roles(kc: &dyn KeycloakAdmin) {
    let prefix = format!("{}:", unique("conf-avail"));
    let direct = format!("{prefix}img:direct");
    let via_group = format!("{prefix}img:group");
    let free = format!("{prefix}img:free");
    for r in [&direct, &via_group, &free] {
        ok(kc.create_role(r, None).await, "create_role");
    }
    let uid = ok(
        kc.create_user(&new_user(&unique("conf-avail"))).await,
        "create_user",
    );
    let gid = ok(
        kc.create_group(&new_group(&unique("conf-avail"))).await,
        "create_group",
    );
    ok(
        kc.add_user_roles(&uid, std::slice::from_ref(&direct)).await,
        "add_user_roles",
    );
    ok(
        kc.add_group_roles(&gid, std::slice::from_ref(&via_group))
            .await,
        "add_group_roles",
    );
    ok(kc.add_member(&gid, &uid).await, "add_member");
    let available = ok(
        kc.available_user_realm_roles(&uid).await,
        "available_user_realm_roles",
    );
    let mine: Vec<String> = available
        .iter()
        .map(|r| r.name.clone())
        .filter(|n| n.starts_with(&prefix))
        .collect();
    assert_eq!(
        mine,
        [free.clone(), via_group.clone()],
        "conformance: available roles exclude direct mappings only, ordered by name"
    );
    let default_roles = format!("default-roles-{}", kc.realm());
    assert!(
        !available.iter().any(|r| r.name == default_roles),
        "conformance: default-roles-<realm> is mapped directly, so not available"
    );
    assert!(
        available.iter().any(|r| r.name == "offline_access"),
        "conformance: offline_access (held through default-roles) is available"
    );
    expect_not_found(
        kc.available_user_realm_roles("00000000-0000-0000-0000-000000000000")
            .await,
        "available_user_realm_roles(missing user)",
    );
    ok(kc.delete_group(&gid).await, "delete_group");
    ok(kc.delete_user(&uid).await, "delete_user");
    for r in [&direct, &via_group, &free] {
        ok(kc.delete_role(r).await, "delete_role");
    }
}

/// A client without scope mappings (`admin-cli`, which every realm has) has none; an unknown
/// client is `NotFound`.
pub async fn client_scope_mappings_of_a_plain_client(kc: &dyn KeycloakAdmin) {
    let mappings = ok(
        kc.client_scope_mappings(ALWAYS_PRESENT_CLIENT).await,
        "client_scope_mappings(admin-cli)",
    );
    assert!(
        mappings.realm.is_empty() && mappings.clients.is_empty(),
        "conformance: admin-cli has no scope mappings: {mappings:?}"
    );
    expect_not_found(
        kc.client_scope_mappings(&unique("conf-no-client")).await,
        "client_scope_mappings(unknown client)",
    );
}

/// PrimeHub's realm shape: `admin-ui` (full scope off) maps exactly
/// `realm-management/realm-admin` into its scope.
pub async fn primehub_client_scope_mappings(kc: &dyn KeycloakAdmin) {
    let mappings = ok(
        kc.client_scope_mappings("admin-ui").await,
        "client_scope_mappings(admin-ui)",
    );
    assert!(
        mappings.realm.is_empty(),
        "conformance: admin-ui maps no realm role: {mappings:?}"
    );
    let management = mappings
        .clients
        .get(crate::admin::REALM_MANAGEMENT_CLIENT)
        .map(|roles| names(roles, |r| &r.name));
    assert_eq!(
        management,
        Some(vec![crate::admin::REALM_ADMIN_ROLE.to_owned()]),
        "conformance: admin-ui's scope holds realm-management/realm-admin: {mappings:?}"
    );
}
