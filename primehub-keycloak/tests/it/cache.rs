//! The Keycloak state cache on the fake: fill, write-through, following admin events, outages
//! and resyncs. (The real-Keycloak check is in `real_keycloak.rs`.)
#![cfg(feature = "fake")]
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use primehub_keycloak::cache::{CacheConfig, KeycloakCache};
use primehub_keycloak::counting::CountingAdmin;
use primehub_keycloak::fake::{BootstrapOptions, FakeKeycloak, FakeRealm, PrimehubRealm};
use primehub_keycloak::http::{Credentials, HttpKeycloak, HttpKeycloakConfig};
use primehub_keycloak::{
    GroupUpdate, KeycloakAdmin, NewGroup, NewUser, RealmSettingsUpdate, UserUpdate,
};
use primehub_model::clock::{Clock, ManualClock, SystemClock};

async fn primehub() -> (FakeKeycloak, FakeRealm, PrimehubRealm) {
    let kc = FakeKeycloak::new().unwrap();
    let shape = kc
        .bootstrap_primehub("primehub", &BootstrapOptions::default())
        .await
        .unwrap();
    let realm = kc.realm("primehub").unwrap();
    (kc, realm, shape)
}

fn user(name: &str) -> NewUser {
    NewUser {
        username: name.into(),
        enabled: true,
        ..NewUser::default()
    }
}

fn group(name: &str, attributes: &[(&str, &str)]) -> NewGroup {
    NewGroup {
        name: name.into(),
        attributes: attributes
            .iter()
            .map(|(k, v)| ((*k).to_owned(), vec![(*v).to_owned()]))
            .collect(),
    }
}

fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test]
async fn fills_every_index_from_the_fake() {
    let (_kc, realm, shape) = primehub().await;
    let kc: &dyn KeycloakAdmin = &realm;
    let alice = kc.create_user(&user("alice")).await.unwrap();
    let bob = kc.create_user(&user("bob")).await.unwrap();
    let team = kc
        .create_group(&group(
            "team-a",
            &[("quota-cpu", "2"), ("displayName", "Team A")],
        ))
        .await
        .unwrap();
    kc.add_member(&team, &alice).await.unwrap();
    kc.add_member(&team, &bob).await.unwrap();
    kc.create_role("img:team-a-notebook", None).await.unwrap();
    kc.add_group_roles(&team, &ids(&["img:team-a-notebook"]))
        .await
        .unwrap();
    kc.create_role("it:global-cpu", None).await.unwrap();
    kc.add_group_roles(&shape.everyone_group_id, &ids(&["it:global-cpu"]))
        .await
        .unwrap();
    kc.set_admin(&bob, true).await.unwrap();

    let counted = Arc::new(CountingAdmin::new(realm.clone()));
    let cache = KeycloakCache::load(
        counted.clone(),
        Arc::new(SystemClock),
        CacheConfig {
            page_size: 2, // pages through every list
            ..CacheConfig::default()
        },
    )
    .await
    .unwrap();
    let s = cache.snapshot();
    assert_eq!(s.user_count(), 3, "phadmin, alice, bob");
    let names: Vec<&str> = s.users().iter().map(|u| u.user.username.as_str()).collect();
    assert_eq!(names, ["alice", "bob", "phadmin"], "Keycloak's order");
    assert_eq!(s.user_by_username("ALICE").unwrap().user.id, alice);
    assert_eq!(
        s.everyone_group_id(),
        Some(shape.everyone_group_id.as_str())
    );
    let team_a = s.group_by_name("team-a").unwrap();
    assert_eq!(team_a.attributes.display_name.as_deref(), Some("Team A"));
    assert_eq!(
        team_a.attributes.user_quota().cpu.map(|c| c.millis()),
        Some(2000)
    );
    assert_eq!(s.members(&team), [alice.clone(), bob.clone()]);
    assert_eq!(
        s.user_group_ids(&alice),
        [shape.everyone_group_id.clone(), team.clone()],
        "by group name; the default group included"
    );
    assert_eq!(s.members(&shape.everyone_group_id).len(), 3);
    assert_eq!(s.group_roles(&team), ["img:team-a-notebook"]);
    assert_eq!(
        s.groups_with_role("img:team-a-notebook"),
        std::slice::from_ref(&team)
    );
    assert!(s.is_global("it:global-cpu"));
    assert!(!s.is_global("img:team-a-notebook"));
    let everyone_roles: Vec<String> = realm
        .list_group_roles(&shape.everyone_group_id)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(s.group_roles(&shape.everyone_group_id), everyone_roles);
    assert!(s.has_role("img:team-a-notebook"));
    assert!(s.is_admin(&bob));
    assert!(s.is_admin(&shape.admin_user_id));
    assert!(!s.is_admin(&alice));
    assert_eq!(
        s.default_group_ids(),
        std::slice::from_ref(&shape.everyone_group_id)
    );
    assert_eq!(
        counted.calls_of("is_admin"),
        0,
        "one admin_user_ids call instead"
    );
    assert_eq!(counted.calls_of("admin_user_ids"), 1);
    assert_eq!(cache.stats().keycloak_calls, counted.calls());
    assert_eq!(cache.stats().resyncs, 1);
    assert!(cache.stats().admin_events_enabled);

    // Warm reads cost nothing.
    let before = counted.calls();
    for _ in 0..100 {
        let s = cache.snapshot();
        let me = s.user_by_username("alice").unwrap();
        for g in s.user_group_ids(&me.user.id) {
            let _ = (s.group(g), s.group_roles(g));
        }
    }
    assert_eq!(counted.calls(), before);
}

#[tokio::test]
async fn writes_through_the_cache_show_at_once_without_extra_reads() {
    let (_kc, realm, shape) = primehub().await;
    let counted = Arc::new(CountingAdmin::new(realm.clone()));
    let cache = KeycloakCache::load(
        counted.clone(),
        Arc::new(SystemClock),
        CacheConfig::default(),
    )
    .await
    .unwrap();
    let kc = cache.admin();
    counted.reset();

    let carol = kc.create_user(&user("carol")).await.unwrap();
    let s = cache.snapshot();
    assert_eq!(s.user(&carol).unwrap().user.username, "carol");
    assert_eq!(
        s.user_group_ids(&carol),
        std::slice::from_ref(&shape.everyone_group_id),
        "a new user is in the default groups"
    );
    assert_eq!(counted.calls(), 2, "create_user and one get_user");
    assert_eq!(counted.calls_of("get_user"), 1);

    let team = kc.create_group(&group("team-b", &[])).await.unwrap();
    kc.update_group(
        &team,
        &GroupUpdate {
            attributes: Some(
                [("quota-gpu".to_owned(), vec!["1".to_owned()])]
                    .into_iter()
                    .collect(),
            ),
            ..GroupUpdate::default()
        },
    )
    .await
    .unwrap();
    kc.update_user(
        &carol,
        &UserUpdate {
            first_name: Some("Carol".into()),
            ..UserUpdate::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        counted.calls(),
        2 + 2 + 2 + 2,
        "each create/update is one write and one get"
    );
    counted.reset();

    kc.add_member(&team, &carol).await.unwrap();
    kc.create_role("ds:team-b-data", None).await.unwrap();
    kc.add_group_roles(&team, &ids(&["ds:team-b-data"]))
        .await
        .unwrap();
    kc.set_admin(&carol, true).await.unwrap();
    assert_eq!(
        counted.calls(),
        4,
        "memberships, roles, mappings and the admin flag cost no read"
    );
    let s = cache.snapshot();
    assert_eq!(
        s.group(&team)
            .unwrap()
            .attributes
            .quota_gpu
            .map(|g| g.count()),
        Some(1)
    );
    assert_eq!(
        s.user(&carol).unwrap().user.first_name.as_deref(),
        Some("Carol")
    );
    assert_eq!(s.members(&team), std::slice::from_ref(&carol));
    assert!(s.user_group_ids(&carol).contains(&team));
    assert_eq!(s.group_roles(&team), ["ds:team-b-data"]);
    assert_eq!(
        s.groups_with_role("ds:team-b-data"),
        std::slice::from_ref(&team)
    );
    assert!(s.is_admin(&carol));

    kc.remove_group_roles(&team, &ids(&["ds:team-b-data"]))
        .await
        .unwrap();
    assert!(
        cache
            .snapshot()
            .groups_with_role("ds:team-b-data")
            .is_empty()
    );
    kc.add_group_roles(&team, &ids(&["ds:team-b-data"]))
        .await
        .unwrap();
    kc.delete_role("ds:team-b-data").await.unwrap();
    let s = cache.snapshot();
    assert!(!s.has_role("ds:team-b-data"));
    assert!(
        s.group_roles(&team).is_empty(),
        "a deleted role's mappings go"
    );

    kc.delete_group(&team).await.unwrap();
    let s = cache.snapshot();
    assert!(s.group(&team).is_none());
    assert!(!s.user_group_ids(&carol).contains(&team));
    kc.delete_user(&carol).await.unwrap();
    let s = cache.snapshot();
    assert!(s.user(&carol).is_none());
    assert!(!s.is_admin(&carol));
    assert!(!s.members(&shape.everyone_group_id).contains(&carol));
    assert_eq!(
        counted.calls_of("get_user") + counted.calls_of("get_group"),
        0
    );

    // Our own writes come back as admin events: applying them changes nothing.
    let before = cache.snapshot();
    cache.poll_events_once().await.unwrap();
    let after = cache.snapshot();
    assert_eq!(before.user_count(), after.user_count());
    assert_eq!(before.group_count(), after.group_count());
    assert_eq!(before.roles(), after.roles());
}

#[tokio::test]
async fn a_change_made_directly_in_keycloak_shows_after_one_poll() {
    let (_kc, realm, shape) = primehub().await;
    let kc: &dyn KeycloakAdmin = &realm;
    let team = kc.create_group(&group("team-c", &[])).await.unwrap();
    let cache = KeycloakCache::load(
        Arc::new(realm.clone()),
        Arc::new(SystemClock),
        CacheConfig::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        cache.poll_events_once().await.unwrap(),
        0,
        "nothing new yet"
    );

    // Behind the cache's back.
    let dave = kc.create_user(&user("dave")).await.unwrap();
    kc.add_member(&team, &dave).await.unwrap();
    kc.update_group(
        &team,
        &GroupUpdate {
            name: Some("team-c2".into()),
            attributes: Some(
                [("displayName".to_owned(), vec!["C2".to_owned()])]
                    .into_iter()
                    .collect(),
            ),
        },
    )
    .await
    .unwrap();
    kc.create_role("img:c", None).await.unwrap();
    kc.add_group_roles(&team, &ids(&["img:c"])).await.unwrap();
    kc.set_admin(&dave, true).await.unwrap();
    kc.set_admin(&shape.admin_user_id, false).await.unwrap();
    let stale = cache.snapshot();
    assert!(stale.user(&dave).is_none(), "not before a poll");

    let applied = cache.poll_events_once().await.unwrap();
    assert!(applied >= 7, "{applied}");
    let s = cache.snapshot();
    assert_eq!(s.user(&dave).unwrap().user.username, "dave");
    assert_eq!(
        s.user_group_ids(&dave),
        [shape.everyone_group_id.clone(), team.clone()]
    );
    assert_eq!(s.group_by_name("team-c2").unwrap().group.id, team);
    assert!(s.group_by_name("team-c").is_none());
    assert_eq!(
        s.group(&team).unwrap().attributes.display_name.as_deref(),
        Some("C2")
    );
    assert!(s.has_role("img:c"));
    assert_eq!(s.group_roles(&team), ["img:c"]);
    assert!(s.is_admin(&dave));
    assert!(!s.is_admin(&shape.admin_user_id));
    assert_eq!(cache.stats().events_applied, applied as u64);

    // Each event is applied once.
    assert_eq!(cache.poll_events_once().await.unwrap(), 0);

    kc.remove_member(&team, &dave).await.unwrap();
    kc.delete_role("img:c").await.unwrap();
    kc.delete_user(&dave).await.unwrap();
    kc.delete_group(&team).await.unwrap();
    cache.poll_events_once().await.unwrap();
    let s = cache.snapshot();
    assert!(s.user(&dave).is_none());
    assert!(s.group(&team).is_none());
    assert!(!s.has_role("img:c"));
    assert!(s.groups_with_role("img:c").is_empty());
    assert!(!s.is_admin(&dave));
}

#[tokio::test(start_paused = true)]
async fn run_follows_keycloak_within_the_poll_interval() {
    let (_kc, realm, _shape) = primehub().await;
    let cache = KeycloakCache::load(
        Arc::new(realm.clone()),
        Arc::new(SystemClock),
        CacheConfig::default(),
    )
    .await
    .unwrap();
    let task = tokio::spawn(cache.clone().run());
    let erin = realm.create_user(&user("erin")).await.unwrap();
    // Paused time: the sleep advances the clock past one poll interval at once.
    tokio::time::sleep(cache.config().event_poll_interval + Duration::from_millis(10)).await;
    assert!(cache.snapshot().user(&erin).is_some());
    assert!(cache.stats().event_polls >= 1);
    task.abort();
}

#[tokio::test]
async fn keycloak_down_keeps_serving_the_last_snapshot() {
    let kc = FakeKeycloak::new().unwrap();
    let server = kc
        .serve(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap())
        .unwrap();
    let shape = kc
        .bootstrap_primehub("primehub", &BootstrapOptions::default())
        .await
        .unwrap();
    let http = HttpKeycloak::new(HttpKeycloakConfig::new(
        server.url().parse().unwrap(),
        "primehub",
        Credentials::client("primehub", "admin-ui", &shape.admin_ui_client_secret),
    ))
    .unwrap();
    let clock = Arc::new(ManualClock::starting_now());
    let cache = KeycloakCache::load(Arc::new(http), clock.clone(), CacheConfig::default())
        .await
        .unwrap();
    assert_eq!(cache.age(), Duration::ZERO);
    server.shutdown().await;

    clock.advance(jiff::SignedDuration::from_secs(30));
    assert!(cache.poll_events_once().await.is_err());
    assert!(cache.resync().await.is_err());
    let s = cache.snapshot();
    assert!(s.user_by_username("phadmin").is_some(), "still served");
    assert_eq!(
        s.everyone_group_id(),
        Some(shape.everyone_group_id.as_str())
    );
    assert_eq!(cache.age(), Duration::from_secs(30));
    let stats = cache.stats();
    assert_eq!(stats.errors, 2);
    assert!(
        stats
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("resync")),
        "{stats:?}"
    );
    assert_eq!(
        clock.now(),
        s.synced_at() + jiff::SignedDuration::from_secs(30)
    );
}

#[tokio::test]
async fn resync_replaces_a_diverged_snapshot() {
    let (_kc, realm, _shape) = primehub().await;
    let clock = Arc::new(ManualClock::starting_now());
    let cache = KeycloakCache::load(
        Arc::new(realm.clone()),
        clock.clone(),
        CacheConfig::default(),
    )
    .await
    .unwrap();
    // Without admin events the cache cannot follow, and says so through its age.
    realm
        .update_realm_settings(&RealmSettingsUpdate {
            admin_events_enabled: Some(false),
            ..RealmSettingsUpdate::default()
        })
        .await
        .unwrap();
    cache.resync().await.unwrap();
    assert!(!cache.stats().admin_events_enabled);
    let frank = realm.create_user(&user("frank")).await.unwrap();
    clock.advance(jiff::SignedDuration::from_secs(10));
    assert_eq!(cache.poll_events_once().await.unwrap(), 0);
    assert!(cache.snapshot().user(&frank).is_none(), "diverged");
    assert_eq!(
        cache.age(),
        Duration::from_secs(10),
        "a quiet poll proves nothing"
    );

    cache.resync().await.unwrap();
    assert!(cache.snapshot().user(&frank).is_some());
    assert_eq!(cache.age(), Duration::ZERO);
    assert_eq!(cache.stats().resyncs, 3);
    assert_eq!(cache.stats().last_error, None);
}

/// After a burst of changes, polls read the burst's window again only until the overlap has
/// passed; then a quiet poll is one call, however many events the burst left behind.
#[tokio::test]
async fn quiet_polls_after_a_burst_stop_rereading_it() {
    let clock = Arc::new(ManualClock::starting_now());
    let kc = FakeKeycloak::builder()
        .clock(clock.clone())
        .build()
        .unwrap();
    kc.bootstrap_primehub("primehub", &BootstrapOptions::default())
        .await
        .unwrap();
    let realm = kc.realm("primehub").unwrap();
    let counted = Arc::new(CountingAdmin::new(realm.clone()));
    let cache = KeycloakCache::load(
        counted.clone(),
        clock.clone(),
        CacheConfig {
            page_size: 10,
            ..CacheConfig::default()
        },
    )
    .await
    .unwrap();
    let event_reads = || {
        counted
            .calls_by_method()
            .get("admin_events")
            .copied()
            .unwrap_or(0)
    };

    // 50 users created behind the cache's back: five pages of events.
    for i in 0..50 {
        realm
            .create_user(&user(&format!("burst-{i:02}")))
            .await
            .unwrap();
    }
    assert_eq!(cache.poll_events_once().await.unwrap(), 50);
    assert_eq!(cache.snapshot().user_count(), 51);

    // Within the overlap, the window still holds the burst: read again, applied never twice.
    clock.advance(jiff::SignedDuration::from_secs(2));
    let before = event_reads();
    assert_eq!(cache.poll_events_once().await.unwrap(), 0);
    assert!(event_reads() - before >= 5, "the overlap is read again");

    // Once the overlap has passed since a complete read, a quiet poll is one call.
    clock.advance(jiff::SignedDuration::from_secs(6));
    assert_eq!(cache.poll_events_once().await.unwrap(), 0);
    clock.advance(jiff::SignedDuration::from_secs(2));
    let before = event_reads();
    assert_eq!(cache.poll_events_once().await.unwrap(), 0);
    assert_eq!(event_reads() - before, 1, "only the empty newest page");

    // And a change made now is still found.
    let late = realm.create_user(&user("late")).await.unwrap();
    assert_eq!(cache.poll_events_once().await.unwrap(), 1);
    assert!(cache.snapshot().user(&late).is_some());
}

#[tokio::test]
async fn subscribers_see_changes_and_not_quiet_polls() {
    let (_kc, realm, _shape) = primehub().await;
    let cache = KeycloakCache::load(
        Arc::new(realm.clone()),
        Arc::new(SystemClock),
        CacheConfig::default(),
    )
    .await
    .unwrap();
    let mut changes = cache.subscribe();
    changes.mark_unchanged();
    // A poll that finds nothing new does not wake anyone.
    cache.poll_events_once().await.unwrap();
    assert!(!changes.has_changed().unwrap());
    // A write through the cache does.
    let team = cache
        .admin()
        .create_group(&group("team-q", &[("quota-gpu", "1")]))
        .await
        .unwrap();
    assert!(changes.has_changed().unwrap());
    changes.mark_unchanged();
    // So does a change made behind the cache's back, once an event poll applies it.
    realm
        .update_group(
            &team,
            &GroupUpdate {
                name: None,
                attributes: Some([("quota-gpu".to_owned(), vec!["2".to_owned()])].into()),
            },
        )
        .await
        .unwrap();
    assert!(!changes.has_changed().unwrap());
    cache.poll_events_once().await.unwrap();
    assert!(changes.has_changed().unwrap());
    assert_eq!(
        cache
            .snapshot()
            .group(&team)
            .and_then(|g| g.attributes.user_quota().gpu)
            .map(|g| g.count()),
        Some(2)
    );
}
