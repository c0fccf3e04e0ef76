//! The watcher (`role_sync`) on the fake cluster in process and the fake Keycloak: roles follow
//! resources, roles it never saw a resource for are left alone, nothing is written at steady
//! state, and Keycloak failures are retried until they succeed.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use kube::api::{Api, DeleteParams, PostParams};
use primehub_keycloak::KeycloakAdmin;
use primehub_keycloak::counting::CountingAdmin;
use primehub_keycloak::fake::{BootstrapOptions, FakeKeycloak, FakeRealm};
use primehub_keycloak::faults::FaultyAdmin;
use primehub_keycloak::{KeycloakError, Page};
use primehub_model::crd::{Dataset, Image, InstanceType};
use primehub_model::roles::RoleNaming;
use primehub_reconcile::fake::FakeCluster;
use primehub_reconcile::role_sync::{Backoff, RoleSync};
use serde_json::json;

const NS: &str = "hub";

async fn realm() -> FakeRealm {
    let keycloak = FakeKeycloak::new().expect("fake Keycloak");
    keycloak
        .bootstrap(&BootstrapOptions::default().to_spec("primehub"))
        .await
        .expect("bootstrap");
    keycloak.realm("primehub").expect("realm")
}

async fn roles(realm: &FakeRealm) -> Vec<String> {
    let mut names: Vec<String> = realm
        .list_roles(None, Page::first(10_000))
        .await
        .expect("roles")
        .into_iter()
        .map(|r| r.name)
        .collect();
    names.sort();
    names
}

/// Waits (at most 10 s) until `check` holds for the realm's roles.
async fn until(realm: &FakeRealm, what: &str, check: impl Fn(&[String]) -> bool) {
    for _ in 0..1000 {
        if check(&roles(realm).await) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{what}: never happened; roles are {:?}", roles(realm).await);
}

/// A client of `cluster` whose watch requests wait while the gate is closed (`false`).
fn gated(cluster: &FakeCluster) -> (tokio::sync::watch::Sender<bool>, kube::Client) {
    let (gate, gate_rx) = tokio::sync::watch::channel(true);
    let router = cluster.router().layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let mut gate = gate_rx.clone();
            async move {
                if request.uri().query().unwrap_or("").contains("watch=true") {
                    let _ = gate.wait_for(|open| *open).await;
                }
                next.run(request).await
            }
        },
    ));
    (gate, FakeCluster::client_for(router))
}

fn has(roles: &[String], role: &str) -> bool {
    roles.iter().any(|r| r == role)
}

fn image(name: &str) -> Image {
    serde_json::from_value(json!({
        "apiVersion": "primehub.io/v1alpha1", "kind": "Image",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"url": "registry/x:1"}
    }))
    .expect("image")
}

fn instance_type(name: &str) -> InstanceType {
    serde_json::from_value(json!({
        "apiVersion": "primehub.io/v1alpha1", "kind": "InstanceType",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"limits.cpu": 1, "limits.memory": "1G"}
    }))
    .expect("instance type")
}

fn dataset(name: &str) -> Dataset {
    serde_json::from_value(json!({
        "apiVersion": "primehub.io/v1alpha1", "kind": "Dataset",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"type": "env"}
    }))
    .expect("dataset")
}

fn writes(admin: &CountingAdmin<FaultyAdmin<FakeRealm>>) -> u64 {
    admin.calls_of("create_role") + admin.calls_of("delete_role")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_follow_resources_and_nothing_else() {
    let realm = realm().await;
    let admin = Arc::new(CountingAdmin::new(FaultyAdmin::new(realm.clone())));
    let cluster = FakeCluster::new();
    let client = cluster.client();
    let images: Api<Image> = Api::namespaced(client.clone(), NS);
    let instance_types: Api<InstanceType> = Api::namespaced(client.clone(), NS);
    let datasets: Api<Dataset> = Api::namespaced(client.clone(), NS);
    let post = PostParams::default();
    // Before the watcher: an image with its role, an instance type without; roles of no
    // resource (an orphan of our prefix, another prefix's, a custom one).
    for role in ["img:img-a", "img:orphan", "other:it:x", "custom"] {
        realm.create_role(role, None).await.expect("role");
    }
    images.create(&post, &image("img-a")).await.expect("create");
    instance_types
        .create(&post, &instance_type("it-b"))
        .await
        .expect("create");

    let backoff = Backoff {
        first: Duration::from_millis(10),
        max: Duration::from_millis(40),
    };
    let sync = RoleSync::with_backoff(admin.clone(), RoleNaming::unprefixed(), backoff);
    let stats = sync.stats();
    let task = tokio::spawn(sync.run(client.clone(), NS));
    until(&realm, "it:it-b created at start", |r| has(r, "it:it-b")).await;
    assert_eq!(writes(&admin), 1, "{:?}", admin.calls_by_method());

    // A new dataset gets its role; one the API made first costs a read, not a write.
    datasets
        .create(&post, &dataset("ds-c"))
        .await
        .expect("create");
    until(&realm, "ds:ds-c", |r| has(r, "ds:ds-c")).await;
    realm.create_role("img:img-api", None).await.expect("role");
    images
        .create(&post, &image("img-api"))
        .await
        .expect("create");
    // The dataset's ds:rw: role, made by the API when a group was connected writable.
    realm.create_role("ds:rw:ds-c", None).await.expect("role");
    // Wait until the watcher handled img-api (it looks the role up) before counting.
    for _ in 0..1000 {
        if admin.calls_of("get_role") >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(writes(&admin), 2, "{:?}", admin.calls_by_method());

    // Deleted resources take their roles (a dataset its ds:rw: role too).
    images
        .delete("img-a", &DeleteParams::default())
        .await
        .expect("delete");
    datasets
        .delete("ds-c", &DeleteParams::default())
        .await
        .expect("delete");
    until(&realm, "roles of deleted resources gone", |r| {
        !has(r, "img:img-a") && !has(r, "ds:ds-c") && !has(r, "ds:rw:ds-c")
    })
    .await;

    // Keycloak down: the create is retried until it works.
    admin.inner().fail(
        "create_role",
        KeycloakError::Transport {
            message: "injected: connection refused".into(),
        },
    );
    instance_types
        .create(&post, &instance_type("it-d"))
        .await
        .expect("create");
    for _ in 0..1000 {
        if stats.retries.load(Ordering::Relaxed) >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(stats.retries.load(Ordering::Relaxed) >= 2);
    assert!(!has(&roles(&realm).await, "it:it-d"));
    admin.inner().clear();
    until(&realm, "it:it-d after Keycloak is back", |r| {
        has(r, "it:it-d")
    })
    .await;
    task.abort();

    let left = roles(&realm).await;
    for untouched in [
        "img:orphan",
        "other:it:x",
        "custom",
        "img:img-api",
        "it:it-b",
    ] {
        assert!(has(&left, untouched), "{untouched} in {left:?}");
    }

    // A new watcher on the same state writes nothing.
    let steady = Arc::new(CountingAdmin::new(realm.clone()));
    let sync = RoleSync::new(steady.clone(), RoleNaming::unprefixed());
    let stats = sync.stats();
    let task = tokio::spawn(sync.run(client, NS));
    for _ in 0..1000 {
        if stats.lists_applied.load(Ordering::Relaxed) >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    task.abort();
    assert_eq!(stats.lists_applied.load(Ordering::Relaxed), 3);
    assert_eq!(
        steady.calls_of("create_role")
            + steady.calls_of("delete_role")
            + steady.calls_of("get_role"),
        0,
        "{:?}",
        steady.calls_by_method()
    );
}

/// A resource deleted while the watcher was cut off, with the watch history expired: the
/// relist no longer has it, so its role goes; a resource created meanwhile gets its role.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relist_after_410_catches_up_deletions_and_creations() {
    let realm = realm().await;
    let cluster = FakeCluster::new();
    let (gate, gated_client) = gated(&cluster);
    let client = cluster.client();
    let images: Api<Image> = Api::namespaced(client.clone(), NS);
    let post = PostParams::default();
    images
        .create(&post, &image("img-old"))
        .await
        .expect("create");
    let sync = RoleSync::new(Arc::new(realm.clone()), RoleNaming::unprefixed());
    let stats = sync.stats();
    let task = tokio::spawn(sync.run(gated_client, NS));
    until(&realm, "img:img-old", |r| has(r, "img:img-old")).await;

    // Cut off: deletions and creations it does not see; then the history expires.
    gate.send_replace(false);
    cluster.close_watches();
    images
        .delete("img-old", &DeleteParams::default())
        .await
        .expect("delete");
    images
        .create(&post, &image("img-new"))
        .await
        .expect("create");
    assert!(has(&roles(&realm).await, "img:img-old"));
    let lists = stats.lists_applied.load(Ordering::Relaxed);
    cluster.expire_watch_history();
    gate.send_replace(true);

    until(&realm, "caught up after the relist", |r| {
        !has(r, "img:img-old") && has(r, "img:img-new")
    })
    .await;
    assert!(stats.lists_applied.load(Ordering::Relaxed) > lists);
    task.abort();
}

/// The opt-in sweep: a dry run reports the prefixed roles of missing resources, a real run
/// deletes exactly those; a role whose resource appears within the grace period is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_orphan_sweep_deletes_only_roles_of_missing_resources() {
    use primehub_reconcile::role_sync::prune_orphan_roles;

    let realm = realm().await;
    let cluster = FakeCluster::new();
    let client = cluster.client();
    let post = PostParams::default();
    Api::<InstanceType>::namespaced(client.clone(), NS)
        .create(&post, &instance_type("it-here"))
        .await
        .expect("create");
    Api::<Dataset>::namespaced(client.clone(), NS)
        .create(&post, &dataset("ds-here"))
        .await
        .expect("create");
    for role in [
        "img:gone",
        "ds:rw:ds-gone",
        "it:it-here",
        "ds:ds-here",
        "ds:rw:ds-here",
        "img:late",
        "other:img:gone",
        "ann:news",
        "custom",
    ] {
        realm.create_role(role, None).await.expect("role");
    }
    let counting = Arc::new(CountingAdmin::new(realm.clone()));
    let naming = RoleNaming::unprefixed();
    // The orphans: ours, and the bootstrap's default roles (no resource exists for them here).
    let resource_roles = ["it:it-here", "ds:ds-here", "ds:rw:ds-here", "img:late"];
    let expected: Vec<String> = roles(&realm)
        .await
        .into_iter()
        .filter(|r| ["img:", "it:", "ds:"].iter().any(|p| r.starts_with(p)))
        .filter(|r| !resource_roles.contains(&r.as_str()))
        .collect();
    assert!(expected.len() > 2, "{expected:?}");

    // A dry run: reported, nothing deleted. img:late's image appears during the grace period.
    let sweep = {
        let (counting, client, naming) = (counting.clone(), client.clone(), naming.clone());
        tokio::spawn(async move {
            prune_orphan_roles(
                counting.as_ref(),
                &client,
                NS,
                &naming,
                Duration::from_millis(300),
                true,
            )
            .await
        })
    };
    for _ in 0..1000 {
        if counting.calls_of("list_roles") >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Api::<Image>::namespaced(client.clone(), NS)
        .create(&post, &image("late"))
        .await
        .expect("create");
    let report = sweep.await.expect("task").expect("sweep");
    assert_eq!(report.orphans, expected);
    assert!(report.deleted.is_empty());
    assert_eq!(counting.calls_of("delete_role"), 0);
    assert!(
        report
            .to_string()
            .contains(&format!("would delete {}", expected.len())),
        "{report}"
    );

    let report = prune_orphan_roles(
        realm_ref(&realm),
        &client,
        NS,
        &naming,
        Duration::ZERO,
        false,
    )
    .await
    .expect("sweep");
    assert_eq!(report.deleted, expected);
    let left = roles(&realm).await;
    assert!(
        !has(&left, "img:gone") && !has(&left, "ds:rw:ds-gone"),
        "{left:?}"
    );
    for kept in [
        "it:it-here",
        "ds:ds-here",
        "ds:rw:ds-here",
        "img:late",
        "other:img:gone",
        "ann:news",
        "custom",
    ] {
        assert!(has(&left, kept), "{kept} in {left:?}");
    }
}

fn realm_ref(realm: &FakeRealm) -> &dyn KeycloakAdmin {
    realm
}

/// A resource deleted and created anew (with its role and a mapping, as the API does) before
/// the watcher handles the deletion: the new role and its mapping stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deletion_handled_after_the_resource_came_back_keeps_the_new_role() {
    let keycloak = FakeKeycloak::new().expect("fake Keycloak");
    let outcome = keycloak
        .bootstrap(&BootstrapOptions::default().to_spec("primehub"))
        .await
        .expect("bootstrap");
    let realm = keycloak.realm("primehub").expect("realm");
    let everyone = outcome.everyone_group_id;
    let cluster = FakeCluster::new();
    let (gate, gated_client) = gated(&cluster);
    let client = cluster.client();
    let datasets: Api<Dataset> = Api::namespaced(client.clone(), NS);
    let post = PostParams::default();
    datasets
        .create(&post, &dataset("ds-x"))
        .await
        .expect("create");
    let sync = RoleSync::new(Arc::new(realm.clone()), RoleNaming::unprefixed());
    let stats = sync.stats();
    let task = tokio::spawn(sync.run(gated_client, NS));
    until(&realm, "ds:ds-x", |r| has(r, "ds:ds-x")).await;

    // While the watcher's watch is held: deleted and created anew, granted to everyone.
    gate.send_replace(false);
    cluster.close_watches();
    datasets
        .delete("ds-x", &DeleteParams::default())
        .await
        .expect("delete");
    realm.delete_role("ds:ds-x").await.expect("delete role");
    realm.create_role("ds:ds-x", None).await.expect("role");
    datasets
        .create(&post, &dataset("ds-x"))
        .await
        .expect("create");
    realm
        .add_group_roles(&everyone, &["ds:ds-x".to_owned()])
        .await
        .expect("map");
    gate.send_replace(true);

    for _ in 0..1000 {
        if stats.kept_for_recreated.load(Ordering::Relaxed) >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(stats.kept_for_recreated.load(Ordering::Relaxed), 1);
    assert_eq!(stats.deleted.load(Ordering::Relaxed), 0);
    let mapped: Vec<String> = realm
        .list_group_roles(&everyone)
        .await
        .expect("roles")
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert!(mapped.iter().any(|r| r == "ds:ds-x"), "{mapped:?}");
    task.abort();
}

/// Not ready until the first list of every kind is applied — here held back while Keycloak
/// refuses the role of an image that exists at start — then ready; the stats as Prometheus
/// text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_once_the_first_lists_are_applied_and_the_stats_as_metrics() {
    let realm = realm().await;
    let admin = Arc::new(FaultyAdmin::new(realm.clone()));
    let cluster = FakeCluster::new();
    let client = cluster.client();
    Api::<Image>::namespaced(client.clone(), NS)
        .create(&PostParams::default(), &image("img-r"))
        .await
        .expect("create");
    admin.fail(
        "create_role",
        KeycloakError::Transport {
            message: "injected: connection refused".into(),
        },
    );
    let backoff = Backoff {
        first: Duration::from_millis(10),
        max: Duration::from_millis(20),
    };
    let sync = RoleSync::with_backoff(admin.clone(), RoleNaming::unprefixed(), backoff);
    let stats = sync.stats();
    assert!(!sync.is_ready(), "not ready before it runs");
    let task = tokio::spawn(sync.clone().run(client, NS));
    for _ in 0..1000 {
        if stats.retries.load(Ordering::Relaxed) >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(stats.retries.load(Ordering::Relaxed) >= 3);
    assert!(!sync.is_ready(), "the image's list is not applied yet");

    admin.clear();
    for _ in 0..1000 {
        if sync.is_ready() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(sync.is_ready());
    assert!(has(&roles(&realm).await, "img:img-r"));

    let mut registry = prometheus_client::registry::Registry::default();
    sync.register_metrics(&mut registry);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).expect("encode");
    let value = |name: &str| -> u64 {
        text.lines()
            .find_map(|line| line.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} in:\n{text}"))
    };
    assert_eq!(value("primehub_role_sync_created_total"), 1);
    assert_eq!(value("primehub_role_sync_deleted_total"), 0);
    assert_eq!(value("primehub_role_sync_lists_applied_total"), 3);
    assert_eq!(value("primehub_role_sync_kept_for_recreated_total"), 0);
    assert!(value("primehub_role_sync_retries_total") >= 3);
    assert_eq!(value("primehub_role_sync_ready"), 1);
    assert!(
        text.contains("# TYPE primehub_role_sync_created counter"),
        "{text}"
    );
    task.abort();
}

/// The calls a process makes before it starts the watcher: they pass on a working setup, and
/// a refused client is an error that waiting cannot fix, an unreachable Keycloak one that it
/// may.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_access_tells_a_refused_client_from_an_outage() {
    use primehub_reconcile::role_sync::check_access;

    let realm = realm().await;
    let admin = FaultyAdmin::new(realm.clone());
    let cluster = FakeCluster::new();
    let client = cluster.client();
    check_access(&admin, &client, NS).await.expect("access");

    admin.fail(
        "list_roles",
        KeycloakError::Unauthorized {
            reason: "injected: invalid client credentials".into(),
        },
    );
    let refused = check_access(&admin, &client, NS)
        .await
        .expect_err("refused");
    assert!(!refused.is_transient(), "{refused}");
    assert!(refused.to_string().contains("unauthorized"), "{refused}");

    admin.fail(
        "list_roles",
        KeycloakError::Transport {
            message: "injected: connection refused".into(),
        },
    );
    let down = check_access(&admin, &client, NS).await.expect_err("down");
    assert!(down.is_transient(), "{down}");
}
