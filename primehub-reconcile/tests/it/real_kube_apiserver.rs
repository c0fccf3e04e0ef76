//! [`KubeClient`] against a REAL kube-apiserver (with etcd), as `tools/kube-apiserver` starts it:
//! the conformance suite, a create/read/status/delete round trip of a realistic object of every
//! `primehub.io` kind (which proves the generated CRD schemas are valid structural schemas that
//! accept real objects), and RBAC for a plain user.
//!
//! Needs `PRIMEHUB_TEST_KUBE_URL` + `PRIMEHUB_TEST_KUBE_TOKEN` (admin) or
//! `PRIMEHUB_TEST_KUBECONFIG`, and `PRIMEHUB_TEST_KUBE_USER_TOKEN` for the RBAC check:
//!
//! ```sh
//! tools/kube-apiserver/apiserver.sh start
//! source <(tools/kube-apiserver/apiserver.sh env)
//! cargo test -p primehub-reconcile --test it real_kube_apiserver
//! ```
//!
//! Without them every test prints a loud SKIPPED line and passes — unless
//! `PRIMEHUB_TEST_REQUIRE_REAL=1`, which `.ci/run` sets: then it fails. `.ci/run` always starts one.

use std::io::Write;
use std::path::PathBuf;

use k8s_openapi::api::core::v1::Namespace;
use kube::api::DynamicObject;
use primehub_reconcile::conformance;
use primehub_reconcile::kube_client::KubeClient;
use primehub_reconcile::{DeleteOptions, KubeApi, KubeError, ListOptions, ResourceKind};
use serde_json::{Value, json};

/// Prints straight to the process's stderr (libtest captures `eprintln!`).
/// With `PRIMEHUB_TEST_REQUIRE_REAL=1` (CI sets it) a missing API server fails the test instead.
fn skipped(test: &str, why: &str) {
    assert!(
        std::env::var("PRIMEHUB_TEST_REQUIRE_REAL").as_deref() != Ok("1"),
        "PRIMEHUB_TEST_REQUIRE_REAL=1 but the real kube-apiserver is not configured ({test}: {why})"
    );
    let _ = writeln!(
        std::io::stderr(),
        "\n*** SKIPPED: real kube-apiserver tests ({test}: {why}; .ci/run starts one: \
         tools/kube-apiserver/apiserver.sh start && source <(tools/kube-apiserver/apiserver.sh env)) ***\n"
    );
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The admin client, or `None` (after printing SKIPPED) without a configured API server.
async fn admin(test: &str) -> Option<KubeClient> {
    if let Some(url) = var("PRIMEHUB_TEST_KUBE_URL") {
        let token = var("PRIMEHUB_TEST_KUBE_TOKEN");
        // The throw-away API server has a self-signed serving certificate.
        return Some(
            KubeClient::for_url(&url, token.as_deref(), true).expect("a client for the API server"),
        );
    }
    if let Some(path) = var("PRIMEHUB_TEST_KUBECONFIG") {
        return Some(
            KubeClient::from_kubeconfig(&path)
                .await
                .expect("a client from PRIMEHUB_TEST_KUBECONFIG"),
        );
    }
    skipped(
        test,
        "neither PRIMEHUB_TEST_KUBE_URL nor PRIMEHUB_TEST_KUBECONFIG is set",
    );
    None
}

/// The admin client with every PrimeHub CRD installed and established.
async fn admin_with_crds(test: &str) -> Option<KubeClient> {
    let client = admin(test).await?;
    conformance::install_primehub_crds(&client)
        .await
        .expect("installing the PrimeHub CRDs on the real API server");
    Some(client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_apiserver_passes_the_conformance_suite() {
    let Some(client) = admin_with_crds("conformance suite").await else {
        return;
    };
    conformance::run_all(&client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_apiserver_dry_runs() {
    let Some(client) = admin("dry runs").await else {
        return;
    };
    conformance::dry_runs(client.client()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubeconfig_constructor_reaches_the_apiserver() {
    let Some(path) = var("PRIMEHUB_TEST_KUBECONFIG") else {
        skipped(
            "kubeconfig constructor",
            "PRIMEHUB_TEST_KUBECONFIG is not set",
        );
        return;
    };
    let client = KubeClient::from_kubeconfig(&path)
        .await
        .expect("a client from the kubeconfig");
    let ns = client
        .get(&ResourceKind::of::<Namespace>(), None, "default")
        .await
        .expect("get namespace default through the kubeconfig client");
    assert_eq!(ns.metadata.name.as_deref(), Some("default"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_user_is_forbidden_to_list_namespaces() {
    let Some(url) = var("PRIMEHUB_TEST_KUBE_URL") else {
        skipped("RBAC", "PRIMEHUB_TEST_KUBE_URL is not set");
        return;
    };
    let Some(token) = var("PRIMEHUB_TEST_KUBE_USER_TOKEN") else {
        skipped("RBAC", "PRIMEHUB_TEST_KUBE_USER_TOKEN is not set");
        return;
    };
    let user = KubeClient::for_url(&url, Some(&token), true).expect("client");
    match user
        .list(
            &ResourceKind::of::<Namespace>(),
            None,
            &ListOptions::default(),
        )
        .await
    {
        Err(KubeError::Forbidden { .. }) => {}
        other => panic!("a plain user listing namespaces must be Forbidden (403), got {other:?}"),
    }
    let anonymous = KubeClient::for_url(&url, Some("not-a-valid-token"), true).expect("client");
    match anonymous
        .list(
            &ResourceKind::of::<Namespace>(),
            None,
            &ListOptions::default(),
        )
        .await
    {
        Err(KubeError::Forbidden { .. }) => {}
        other => panic!("an unknown token must be Forbidden (401 mapped), got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Every primehub.io kind
// ---------------------------------------------------------------------------------------------

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../primehub-model/tests/fixtures")
}

/// Parses one YAML document into JSON.
///
/// primehub-reconcile has no YAML dependency, so this borrows kube's kubeconfig parser: the
/// document becomes the value of a kubeconfig `extensions[].extension`, which kube keeps as a
/// `serde_json::Value`. (With `serde_yaml_ng` as a dev-dependency this is
/// `serde_yaml_ng::from_str`.)
fn parse_yaml(text: &str) -> Value {
    serde_yaml_ng::from_str(text).expect("a valid YAML fixture")
}

struct CrdInfo {
    kind: ResourceKind,
    status_subresource: bool,
}

fn primehub_kinds() -> Vec<CrdInfo> {
    primehub_model::crd::all()
        .into_iter()
        .map(|crd| {
            let version = crd.spec.versions.first().expect("a CRD version");
            CrdInfo {
                kind: ResourceKind {
                    group: crd.spec.group.clone(),
                    version: version.name.clone(),
                    kind: crd.spec.names.kind.clone(),
                    plural: crd.spec.names.plural.clone(),
                    namespaced: crd.spec.scope == "Namespaced",
                },
                status_subresource: version
                    .subresources
                    .as_ref()
                    .is_some_and(|s| s.status.is_some()),
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_primehub_kind_round_trips_through_the_real_apiserver() {
    let Some(client) = admin_with_crds("primehub kinds round trip").await else {
        return;
    };
    let kinds = primehub_kinds();
    let ns_name = conformance::unique("conf-kinds");
    let ns: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns_name},
    }))
    .expect("namespace object");
    client
        .create(&ResourceKind::of::<Namespace>(), None, &ns)
        .await
        .expect("create the test namespace");

    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .expect("primehub-model/tests/fixtures")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let mut covered = std::collections::BTreeSet::new();
    for file in &files {
        let fixture_name = file
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(file).expect("read fixture");
        let value = parse_yaml(&text);
        let kind_name = value["kind"].as_str().unwrap_or_default().to_owned();
        let Some(info) = kinds.iter().find(|k| k.kind.kind == kind_name) else {
            panic!("{fixture_name}: kind {kind_name:?} is not a primehub.io CRD kind");
        };
        covered.insert(kind_name.clone());
        round_trip(&client, info, &ns_name, &fixture_name, value).await;
    }
    let missing: Vec<&str> = kinds
        .iter()
        .map(|k| k.kind.kind.as_str())
        .filter(|k| !covered.contains(*k))
        .collect();
    assert!(
        missing.is_empty(),
        "every primehub.io kind needs a fixture in primehub-model/tests/fixtures; missing: {missing:?}"
    );
    client
        .delete(
            &ResourceKind::of::<Namespace>(),
            None,
            &ns_name,
            &DeleteOptions::default(),
        )
        .await
        .expect("delete the test namespace");
}

async fn round_trip(
    client: &KubeClient,
    info: &CrdInfo,
    ns: &str,
    fixture: &str,
    mut value: Value,
) {
    let kind = &info.kind;
    let status = value.get("status").cloned();
    if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
        for server_owned in ["resourceVersion", "uid", "creationTimestamp", "generation"] {
            meta.remove(server_owned);
        }
        meta.insert("namespace".into(), json!(ns));
    }
    let object: DynamicObject = serde_json::from_value(value.clone())
        .unwrap_or_else(|e| panic!("{fixture}: not a Kubernetes object: {e}"));
    let name = object.metadata.name.clone().expect("fixture has a name");

    let created = client
        .create(kind, Some(ns), &object)
        .await
        .unwrap_or_else(|e| panic!("{fixture}: the real API server rejected the create: {e:?}"));
    let read = client
        .get(kind, Some(ns), &name)
        .await
        .unwrap_or_else(|e| panic!("{fixture}: get after create: {e:?}"));
    assert_eq!(
        read.data.get("spec"),
        value.get("spec"),
        "{fixture}: the spec must survive the API server unchanged (no pruned or defaulted fields)"
    );
    assert_eq!(
        read.metadata.labels, object.metadata.labels,
        "{fixture}: labels"
    );
    assert_eq!(
        read.metadata.annotations, object.metadata.annotations,
        "{fixture}: annotations"
    );

    if let Some(status) = status {
        let written = if info.status_subresource {
            let mut with_status = created.clone();
            with_status.data["status"] = status.clone();
            client
                .replace_status(kind, Some(ns), &with_status)
                .await
                .unwrap_or_else(|e| panic!("{fixture}: replace_status: {e:?}"))
        } else {
            // Without a status subresource the status is part of the object itself.
            read.clone()
        };
        assert_eq!(
            written.data.get("status"),
            Some(&status),
            "{fixture}: the status must survive the API server unchanged"
        );
        let again = client
            .get(kind, Some(ns), &name)
            .await
            .unwrap_or_else(|e| panic!("{fixture}: get after the status write: {e:?}"));
        assert_eq!(
            again.data.get("status"),
            Some(&status),
            "{fixture}: status read back"
        );
    }

    client
        .delete(kind, Some(ns), &name, &DeleteOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{fixture}: delete: {e:?}"));
    match client.get(kind, Some(ns), &name).await {
        Err(KubeError::NotFound { .. }) => {}
        other => panic!("{fixture}: the object must be gone after delete, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_secrets_are_written_once_on_the_real_apiserver() {
    use crate::bootstrap_secrets::{data, expected_admin_ui, expected_jupyterhub, outcome};
    use k8s_openapi::api::core::v1::Secret;
    use primehub_reconcile::Typed;
    use primehub_reconcile::bootstrap::{
        ADMIN_UI_SECRET, JUPYTERHUB_SECRET, SecretChange, write_client_secrets,
    };

    let Some(client) = admin("client secrets").await else {
        return;
    };
    let api: std::sync::Arc<dyn KubeApi> = std::sync::Arc::new(client);
    let ns_name = conformance::unique("bootstrap-secrets");
    let ns: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns_name},
    }))
    .expect("namespace object");
    api.create(&ResourceKind::of::<Namespace>(), None, &ns)
        .await
        .expect("create the test namespace");

    // Without the namespace the API server refuses, as the fake does.
    assert!(matches!(
        write_client_secrets(
            std::sync::Arc::clone(&api),
            &format!("{ns_name}-missing"),
            &outcome("a", "b", "c")
        )
        .await,
        Err(KubeError::NotFound { .. })
    ));

    let first_outcome = outcome("ui-secret", "hub-secret", "everyone-id");
    let first = write_client_secrets(std::sync::Arc::clone(&api), &ns_name, &first_outcome)
        .await
        .expect("first write");
    assert!(
        first.iter().all(|w| w.change == SecretChange::Created),
        "{first:?}"
    );
    let secrets = Typed::<Secret>::namespaced(std::sync::Arc::clone(&api), &ns_name);
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

    let second = write_client_secrets(std::sync::Arc::clone(&api), &ns_name, &first_outcome)
        .await
        .expect("second write");
    assert!(
        second.iter().all(|w| w.change == SecretChange::Unchanged),
        "{second:?}"
    );
    let again = secrets.get(ADMIN_UI_SECRET).await.expect("admin-ui secret");
    assert_eq!(
        again.metadata.resource_version,
        admin_ui.metadata.resource_version
    );
    let again = secrets
        .get(JUPYTERHUB_SECRET)
        .await
        .expect("jupyterhub secret");
    assert_eq!(
        again.metadata.resource_version,
        jupyterhub.metadata.resource_version
    );

    // A rotated client secret replaces the data in place.
    let third = write_client_secrets(
        std::sync::Arc::clone(&api),
        &ns_name,
        &outcome("rotated", "hub-secret", "everyone-id"),
    )
    .await
    .expect("third write");
    assert_eq!(
        third.iter().map(|w| w.change).collect::<Vec<_>>(),
        [SecretChange::Updated, SecretChange::Unchanged]
    );
    let now = secrets.get(ADMIN_UI_SECRET).await.expect("admin-ui secret");
    assert_eq!(data(&now), expected_admin_ui("rotated", "everyone-id"));
    assert_eq!(now.metadata.uid, admin_ui.metadata.uid);

    api.delete(
        &ResourceKind::of::<Namespace>(),
        None,
        &ns_name,
        &DeleteOptions::default(),
    )
    .await
    .expect("delete the test namespace");
}
