//! The conformance suite every [`KubeApi`] implementation must pass.
//!
//! Each check is a public async function taking `&dyn KubeApi` that works in its own fresh
//! namespace (`conf-<8 random hex digits>`, deleted at the end), and **panics** with a message
//! naming the broken rule when the implementation misbehaves — call them from
//! `#[tokio::test]`s (multi-threaded or current-thread, with real time). The suite runs against
//! the in-memory fake, against [`KubeClient`](crate::kube_client::KubeClient) pointed at the
//! fake's HTTP face, and against a real kube-apiserver with etcd (DESIGN §5), so a test that is
//! green on the fake means something.
//!
//! The target needs the namespace API, ConfigMaps, Pods and PrimeHub's `PhJob` custom resource
//! (call [`install_primehub_crds`] first on a real API server).
//!
//! [`run_all`] runs every check that an API server *without* kube-controller-manager passes —
//! the envtest-style API server of `tools/kube-apiserver` runs no controllers. Two checks are
//! separate:
//!
//! - [`owner_garbage_collection`] needs the garbage collector (a controller in
//!   kube-controller-manager), so a bare kube-apiserver cannot pass it; the fake does the
//!   collection itself.
//! - [`namespace_deletion_removes_contents`] needs the namespace controller for the same reason.
//! - [`watch_too_old_is_gone`]: a real API server answers a watch from resourceVersion `"1"` with
//!   410 Gone only once etcd has compacted that revision (every 5 minutes by default); on a
//!   fresh API server the old revisions are still there and the watch replays them.
//!
//! Namespaces the suite deletes stay `Terminating` on an API server without the namespace
//! controller; that is harmless for a throw-away server.
//!
//! ```no_run
//! # async fn demo(api: &dyn primehub_reconcile::KubeApi) {
//! primehub_reconcile::conformance::install_primehub_crds(api).await.expect("CRDs");
//! primehub_reconcile::conformance::run_all(api).await;
//! # }
//! ```

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::DynamicObject;
use serde_json::{Value, json};

use crate::api::{
    DeleteOptions, KubeApi, ListOptions, LogOptions, PatchBody, Propagation, ResourceKind,
    Subresource, WatchEvent, WatchStream,
};
use crate::error::{ConflictKind, KubeError, Result};

/// How long a watch check waits for one event before failing.
pub const WATCH_EVENT_TIMEOUT: Duration = Duration::from_secs(15);

/// Runs every check of the suite that a bare kube-apiserver (no controllers) passes, in order.
pub async fn run_all(api: &dyn KubeApi) {
    not_found_on_missing(api).await;
    already_exists_on_duplicate_create(api).await;
    invalid_objects_are_rejected(api).await;
    resource_version_changes_on_every_write(api).await;
    replace_with_stale_resource_version_conflicts(api).await;
    generation_tracks_spec_changes(api).await;
    status_subresource_custom_resource(api).await;
    status_subresource_pod(api).await;
    merge_patch(api).await;
    json_patch(api).await;
    strategic_merge_patch(api).await;
    strategic_merge_patch_deployment(api).await;
    label_selectors(api).await;
    field_selector_metadata_name(api).await;
    field_selectors_take_only_supported_labels(api).await;
    label_and_annotation_syntax(api).await;
    label_selector_syntax_errors(api).await;
    list_across_namespaces(api).await;
    pagination(api).await;
    finalizers_delay_deletion(api).await;
    delete_preconditions(api).await;
    watch_delivers_events_in_order(api).await;
    watch_resumes_from_resource_version(api).await;
    watch_with_label_selector(api).await;
    delete_collection_by_selector(api).await;
    pod_logs_without_a_kubelet(api).await;
    custom_resources_are_pruned(api).await;
    custom_resources_are_validated_against_their_schema(api).await;
    kind_and_api_version_must_match_the_path(api).await;
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A lowercase name unique to this run: `<prefix>-<8 random hex digits>`.
pub fn unique(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}", &id[..8])
}

fn configmaps() -> ResourceKind {
    ResourceKind::of::<ConfigMap>()
}

fn namespaces() -> ResourceKind {
    ResourceKind::of::<Namespace>()
}

fn pods() -> ResourceKind {
    ResourceKind::of::<Pod>()
}

fn phjobs() -> ResourceKind {
    ResourceKind::of::<primehub_model::crd::PhJob>()
}

fn crds() -> ResourceKind {
    ResourceKind::of::<CustomResourceDefinition>()
}

#[track_caller]
fn ok<T>(result: Result<T>, what: &str) -> T {
    match result {
        Ok(v) => v,
        Err(e) => panic!("conformance: {what}: expected success, got error: {e:?}"),
    }
}

#[track_caller]
fn expect_err<T: Debug>(
    result: Result<T>,
    what: &str,
    expected: &str,
    matches: impl Fn(&KubeError) -> bool,
) {
    match result {
        Err(e) if matches(&e) => {}
        other => panic!("conformance: {what}: expected {expected}, got {other:?}"),
    }
}

#[track_caller]
fn expect_not_found<T: Debug>(result: Result<T>, what: &str) {
    expect_err(result, what, "NotFound (404)", |e| {
        matches!(e, KubeError::NotFound { .. })
    });
}

#[track_caller]
fn expect_conflict<T: Debug>(result: Result<T>, what: &str, on: ConflictKind) {
    expect_err(
        result,
        what,
        &format!("Conflict (409) on {on:?}"),
        |e| matches!(e, KubeError::Conflict { kind, .. } if *kind == on),
    );
}

fn object(value: Value) -> DynamicObject {
    match serde_json::from_value(value) {
        Ok(o) => o,
        Err(e) => panic!("conformance: building a test object: {e}"),
    }
}

fn configmap(name: &str, labels: &[(&str, &str)], data: &[(&str, &str)]) -> DynamicObject {
    let labels: BTreeMap<&str, &str> = labels.iter().copied().collect();
    let data: BTreeMap<&str, &str> = data.iter().copied().collect();
    object(json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels},
        "data": data,
    }))
}

fn pod(name: &str) -> DynamicObject {
    object(json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}]},
    }))
}

fn phjob(name: &str) -> DynamicObject {
    object(json!({
        "apiVersion": "primehub.io/v1alpha1",
        "kind": "PhJob",
        "metadata": {"name": name},
        "spec": {
            "displayName": "conformance",
            "userId": "u-1",
            "userName": "alice",
            "groupId": "g-1",
            "groupName": "research",
            "instanceType": "cpu-1",
            "image": "base-notebook",
            "command": "echo hello",
        },
    }))
}

fn rv(o: &DynamicObject) -> String {
    o.metadata.resource_version.clone().unwrap_or_default()
}

fn name(o: &DynamicObject) -> String {
    o.metadata.name.clone().unwrap_or_default()
}

fn data_of(o: &DynamicObject, key: &str) -> Option<String> {
    o.data
        .get("data")
        .and_then(|d| d.get(key))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn pointer<'v>(o: &'v DynamicObject, path: &str) -> Option<&'v Value> {
    o.data.pointer(path)
}

fn names(items: &[DynamicObject]) -> Vec<String> {
    items.iter().map(name).collect()
}

fn merge(value: Value) -> PatchBody {
    PatchBody::Merge(value)
}

fn json_ops(value: Value) -> PatchBody {
    match serde_json::from_value::<json_patch::Patch>(value) {
        Ok(p) => PatchBody::Json(p),
        Err(e) => panic!("conformance: building a JSON patch: {e}"),
    }
}

/// A namespace created for one check and deleted by [`TestNamespace::delete`].
struct TestNamespace {
    name: String,
}

impl TestNamespace {
    async fn create(api: &dyn KubeApi) -> TestNamespace {
        TestNamespace::create_named(api, unique("conf")).await
    }

    async fn create_named(api: &dyn KubeApi, name: String) -> TestNamespace {
        let ns = object(json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name, "labels": {"primehub.io/conformance": "true"}},
        }));
        ok(
            api.create(&namespaces(), None, &ns).await,
            "creating a fresh namespace for a check",
        );
        TestNamespace { name }
    }

    fn ns(&self) -> Option<&str> {
        Some(&self.name)
    }

    async fn delete(self, api: &dyn KubeApi) {
        match api
            .delete(&namespaces(), None, &self.name, &DeleteOptions::default())
            .await
        {
            Ok(()) | Err(KubeError::NotFound { .. }) => {}
            Err(e) => panic!(
                "conformance: deleting the check's namespace {}: expected success, got {e:?}",
                self.name
            ),
        }
    }
}

/// Polls `probe` up to `attempts` times, `interval` apart, until it returns `true`.
async fn eventually<F, Fut>(attempts: u32, interval: Duration, mut probe: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for attempt in 0..attempts {
        if probe().await {
            return true;
        }
        if attempt + 1 < attempts {
            tokio::time::sleep(interval).await;
        }
    }
    false
}

/// The next non-bookmark event of `stream`, panicking on timeout, end or error.
async fn next_event(stream: &mut WatchStream, what: &str) -> WatchEvent {
    loop {
        match tokio::time::timeout(WATCH_EVENT_TIMEOUT, stream.next()).await {
            Err(_) => panic!(
                "conformance: {what}: no watch event within {}s",
                WATCH_EVENT_TIMEOUT.as_secs()
            ),
            Ok(None) => panic!("conformance: {what}: the watch stream ended early"),
            Ok(Some(Err(e))) => panic!("conformance: {what}: the watch stream failed: {e:?}"),
            Ok(Some(Ok(WatchEvent::Bookmark { .. }))) => continue,
            Ok(Some(Ok(event))) => return event,
        }
    }
}

fn describe_event(event: &WatchEvent) -> String {
    match event {
        WatchEvent::Added(o) => format!("Added({})", name(o)),
        WatchEvent::Modified(o) => format!("Modified({})", name(o)),
        WatchEvent::Deleted(o) => format!("Deleted({})", name(o)),
        WatchEvent::Bookmark { resource_version } => format!("Bookmark({resource_version})"),
    }
}

#[track_caller]
fn expect_event(event: &WatchEvent, kind: &str, object_name: &str, what: &str) {
    let actual = describe_event(event);
    let expected = format!("{kind}({object_name})");
    if actual != expected {
        panic!("conformance: {what}: expected {expected}, got {actual}");
    }
}

// ---------------------------------------------------------------------------------------------
// CRDs
// ---------------------------------------------------------------------------------------------

/// Installs (or updates) the CustomResourceDefinitions of every PrimeHub kind
/// ([`primehub_model::crd::all`]) through `api` and waits until each is served.
///
/// On a real API server that means creating the `apiextensions.k8s.io/v1`
/// `CustomResourceDefinition` objects and polling (bounded, about 30 s per CRD) until their
/// `Established` condition is `True` and the new kind can be listed. A fake that serves PrimeHub
/// kinds without CRD objects answers the CRD kind with NotFound; that is tolerated, as long as
/// the kinds themselves can be listed.
///
/// # Errors
///
/// The first error of a write (other than AlreadyExists, which leads to an update) or
/// [`KubeError::Unexpected`] when a kind is still not served after the wait.
pub async fn install_primehub_crds(api: &dyn KubeApi) -> Result<()> {
    let crd_kind = crds();
    for crd in primehub_model::crd::all() {
        let crd_name = crd.metadata.name.clone().unwrap_or_default();
        let served_kind = ResourceKind {
            group: crd.spec.group.clone(),
            version: crd
                .spec
                .versions
                .first()
                .map(|v| v.name.clone())
                .unwrap_or_default(),
            kind: crd.spec.names.kind.clone(),
            plural: crd.spec.names.plural.clone(),
            namespaced: crd.spec.scope == "Namespaced",
        };
        let desired = crate::api::encode(&crd)?;
        let crd_supported = create_or_update(api, &crd_kind, &crd_name, &desired).await?;
        let mut last_error = String::new();
        let mut served = false;
        for _ in 0..150 {
            let established = if crd_supported {
                match api.get(&crd_kind, None, &crd_name).await {
                    Ok(o) => {
                        let conditions = pointer(&o, "/status/conditions")
                            .and_then(Value::as_array)
                            .cloned();
                        match conditions {
                            Some(conditions) => conditions.iter().any(|c| {
                                c.get("type").and_then(Value::as_str) == Some("Established")
                                    && c.get("status").and_then(Value::as_str) == Some("True")
                            }),
                            // A store without CRD controllers: being served is enough.
                            None => true,
                        }
                    }
                    Err(e) => {
                        last_error = e.to_string();
                        false
                    }
                }
            } else {
                true
            };
            if established {
                match api.list(&served_kind, None, &ListOptions::default()).await {
                    Ok(_) => {
                        served = true;
                        break;
                    }
                    Err(e) => last_error = e.to_string(),
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        if !served {
            return Err(KubeError::Unexpected {
                status: 0,
                message: format!(
                    "the CRD {crd_name} was not established and served within 30 s (last error: {last_error})"
                ),
            });
        }
    }
    Ok(())
}

/// Creates `desired` (a CRD) or, when it exists, replaces it (retrying lost races); `false` when
/// the target has no CRD API at all.
async fn create_or_update(
    api: &dyn KubeApi,
    crd_kind: &ResourceKind,
    crd_name: &str,
    desired: &DynamicObject,
) -> Result<bool> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match api.create(crd_kind, None, desired).await {
            Ok(_) => return Ok(true),
            Err(KubeError::NotFound { .. }) => {
                tracing::debug!(crd = %crd_name, "the target has no CRD API; assuming it serves PrimeHub kinds itself");
                return Ok(false);
            }
            Err(KubeError::AlreadyExists { .. }) => {}
            Err(e) => return Err(e),
        }
        let current = api.get(crd_kind, None, crd_name).await?;
        let mut update = desired.clone();
        update.metadata.resource_version = current.metadata.resource_version.clone();
        match api
            .replace(crd_kind, None, &update, Subresource::Main)
            .await
        {
            Ok(_) => return Ok(true),
            // Deleted or changed meanwhile (another test installing the same CRDs): again.
            Err(KubeError::Conflict { .. } | KubeError::NotFound { .. }) if attempt < 5 => {}
            Err(e) => return Err(e),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Basic CRUD
// ---------------------------------------------------------------------------------------------

/// get, delete, replace and patch of a missing object are NotFound; so is creating in a missing
/// namespace.
pub async fn not_found_on_missing(api: &dyn KubeApi) {
    let ns = TestNamespace::create(api).await;
    let cm = configmaps();
    expect_not_found(
        api.get(&cm, ns.ns(), "missing").await,
        "get of a missing object",
    );
    expect_not_found(
        api.delete(&cm, ns.ns(), "missing", &DeleteOptions::default())
            .await,
        "delete of a missing object",
    );
    let mut ghost = configmap("missing", &[], &[("a", "1")]);
    ghost.metadata.namespace = Some(ns.name.clone());
    expect_not_found(
        api.replace(&cm, ns.ns(), &ghost, Subresource::Main).await,
        "replace of a missing object",
    );
    expect_not_found(
        api.patch(
            &cm,
            ns.ns(),
            "missing",
            &merge(json!({"data": {"a": "2"}})),
            Subresource::Main,
        )
        .await,
        "merge patch of a missing object",
    );
    let missing_ns = unique("conf-missing");
    expect_not_found(
        api.create(&cm, Some(&missing_ns), &configmap("x", &[], &[]))
            .await,
        "create in a namespace that does not exist",
    );
    expect_not_found(
        api.get(&namespaces(), None, &missing_ns).await,
        "get of a missing cluster-scoped object (namespace)",
    );
    ns.delete(api).await;
}

/// A second create with the same name is AlreadyExists; the first object is untouched.
pub async fn already_exists_on_duplicate_create(api: &dyn KubeApi) {
    let ns = TestNamespace::create(api).await;
    let cm = configmaps();
    let first = ok(
        api.create(&cm, ns.ns(), &configmap("dup", &[], &[("v", "first")]))
            .await,
        "create",
    );
    expect_err(
        api.create(&cm, ns.ns(), &configmap("dup", &[], &[("v", "second")]))
            .await,
        "create of a name that already exists",
        "AlreadyExists (409)",
        |e| matches!(e, KubeError::AlreadyExists { .. }),
    );
    let now = ok(
        api.get(&cm, ns.ns(), "dup").await,
        "get after a failed create",
    );
    assert_eq!(
        data_of(&now, "v").as_deref(),
        Some("first"),
        "conformance: a failed duplicate create must not change the existing object"
    );
    assert_eq!(
        rv(&now),
        rv(&first),
        "conformance: a failed duplicate create must not change the resourceVersion"
    );
    ns.delete(api).await;
}

/// An object with an invalid name is Invalid (422) with a cause naming `metadata.name`.
pub async fn invalid_objects_are_rejected(api: &dyn KubeApi) {
    let ns = TestNamespace::create(api).await;
    match api
        .create(
            &configmaps(),
            ns.ns(),
            &configmap("Not_A_DNS_Name", &[], &[]),
        )
        .await
    {
        Err(KubeError::Invalid { causes, message }) => {
            assert!(
                causes.iter().any(|c| c.field == "metadata.name"),
                "conformance: an invalid name must be reported with a cause on metadata.name, got {causes:?} ({message})"
            );
        }
        other => panic!(
            "conformance: create with an invalid metadata.name: expected Invalid (422), got {other:?}"
        ),
    }
    ns.delete(api).await;
}

/// Every write (replace, patch, status patch) changes the resourceVersion; the server fills uid
/// and creationTimestamp on create and keeps them.
pub async fn resource_version_changes_on_every_write(api: &dyn KubeApi) {
    let ns = TestNamespace::create(api).await;
    let cm = configmaps();
    let created = ok(
        api.create(&cm, ns.ns(), &configmap("rv", &[], &[("n", "0")]))
            .await,
        "create",
    );
    let rv0 = rv(&created);
    assert!(
        !rv0.is_empty(),
        "conformance: create must set metadata.resourceVersion"
    );
    let uid = created.metadata.uid.clone().unwrap_or_default();
    assert!(!uid.is_empty(), "conformance: create must set metadata.uid");
    assert!(
        created.metadata.creation_timestamp.is_some(),
        "conformance: create must set metadata.creationTimestamp"
    );
    let fetched = ok(api.get(&cm, ns.ns(), "rv").await, "get after create");
    assert_eq!(
        rv(&fetched),
        rv0,
        "conformance: get must return the resourceVersion create returned"
    );

    let mut update = fetched.clone();
    update.data["data"]["n"] = json!("1");
    let replaced = ok(
        api.replace(&cm, ns.ns(), &update, Subresource::Main).await,
        "replace",
    );
    let rv1 = rv(&replaced);
    assert_ne!(
        rv1, rv0,
        "conformance: replace must change the resourceVersion"
    );

    let patched = ok(
        api.patch(
            &cm,
            ns.ns(),
            "rv",
            &merge(json!({"data": {"n": "2"}})),
            Subresource::Main,
        )
        .await,
        "merge patch",
    );
    let rv2 = rv(&patched);
    assert_ne!(
        rv2, rv1,
        "conformance: patch must change the resourceVersion"
    );
    assert_ne!(rv2, rv0, "conformance: resourceVersions must not repeat");

    let labelled = ok(
        api.patch(
            &cm,
            ns.ns(),
            "rv",
            &merge(json!({"metadata": {"labels": {"x": "y"}}})),
            Subresource::Main,
        )
        .await,
        "metadata-only merge patch",
    );
    let rv3 = rv(&labelled);
    assert_ne!(
        rv3, rv2,
        "conformance: a metadata-only patch must change the resourceVersion"
    );
    let last = ok(api.get(&cm, ns.ns(), "rv").await, "get after writes");
    assert_eq!(
        rv(&last),
        rv3,
        "conformance: get must return the latest resourceVersion"
    );
    assert_eq!(
        last.metadata.uid.as_deref(),
        Some(uid.as_str()),
        "conformance: the uid must not change on updates"
    );
    assert_eq!(data_of(&last, "n").as_deref(), Some("2"));
    ns.delete(api).await;
}

/// replace with a stale resourceVersion is a Conflict on the resourceVersion, one with another
/// object's uid a Conflict on the uid; without a resourceVersion it is an unconditional update
/// (ConfigMaps allow that).
pub async fn replace_with_stale_resource_version_conflicts(api: &dyn KubeApi) {
    let ns = TestNamespace::create(api).await;
    let cm = configmaps();
    let created = ok(
        api.create(&cm, ns.ns(), &configmap("occ", &[], &[("v", "0")]))
            .await,
        "create",
    );
    let mut first = created.clone();
    first.data["data"]["v"] = json!("1");
    ok(
        api.replace(&cm, ns.ns(), &first, Subresource::Main).await,
        "replace with the current resourceVersion",
    );
    let mut stale = created.clone();
    stale.data["data"]["v"] = json!("stale");
    expect_conflict(
        api.replace(&cm, ns.ns(), &stale, Subresource::Main).await,
        "replace with a stale resourceVersion",
        ConflictKind::ResourceVersion,
    );
    let mut other_uid = created.clone();
    other_uid.metadata.resource_version = None;
    other_uid.metadata.uid = Some("00000000-0000-0000-0000-000000000000".into());
    expect_conflict(
        api.replace(&cm, ns.ns(), &other_uid, Subresource::Main)
            .await,
        "replace with another object's metadata.uid",
        ConflictKind::Uid,
    );
    let now = ok(api.get(&cm, ns.ns(), "occ").await, "get after a conflict");
    assert_eq!(
        data_of(&now, "v").as_deref(),
        Some("1"),
        "conformance: a conflicting replace must not change the object"
    );
    let mut unconditional = created.clone();
    unconditional.metadata.resource_version = None;
    unconditional.data["data"]["v"] = json!("2");
    let written = ok(
        api.replace(&cm, ns.ns(), &unconditional, Subresource::Main)
            .await,
        "replace without a resourceVersion (unconditional update)",
    );
    assert_eq!(data_of(&written, "v").as_deref(), Some("2"));
    ns.delete(api).await;
}

/// On a custom resource with a status subresource (PhJob), metadata.generation starts at 1 and
/// is bumped by spec changes only — not by label changes, not by status writes.
pub async fn generation_tracks_spec_changes(api: &dyn KubeApi) {
    let ns = TestNamespace::create(api).await;
    let kind = phjobs();
    let generation = |o: &DynamicObject| o.metadata.generation.unwrap_or_default();
    let created = ok(
        api.create(&kind, ns.ns(), &phjob("gen")).await,
        "create a PhJob",
    );
    assert_eq!(
        generation(&created),
        1,
        "conformance: metadata.generation must start at 1"
    );
    let labelled = ok(
        api.patch(
            &kind,
            ns.ns(),
            "gen",
            &merge(json!({"metadata": {"labels": {"a": "b"}}})),
            Subresource::Main,
        )
        .await,
        "label patch",
    );
    assert_eq!(
        generation(&labelled),
        1,
        "conformance: a metadata-only change (labels) must not bump metadata.generation"
    );
    let spec_changed = ok(
        api.patch(
            &kind,
            ns.ns(),
            "gen",
            &merge(json!({"spec": {"displayName": "changed"}})),
            Subresource::Main,
        )
        .await,
        "spec patch",
    );
    assert_eq!(
        generation(&spec_changed),
        2,
        "conformance: a spec change must bump metadata.generation by one"
    );
    let status_written = ok(
        api.patch_status(
            &kind,
            ns.ns(),
            "gen",
            &merge(json!({"status": {"phase": "Running"}})),
        )
        .await,
        "status patch",
    );
    assert_eq!(
        generation(&status_written),
        2,
        "conformance: a status write must not bump metadata.generation"
    );
    let same = status_written.clone();
    let unchanged = ok(
        api.replace(&kind, ns.ns(), &same, Subresource::Main).await,
        "replace with an identical spec",
    );
    assert_eq!(
        generation(&unchanged),
        2,
        "conformance: a replace that does not change the spec must not bump metadata.generation"
    );
    ns.delete(api).await;
}

/// The status subresource of a custom resource (PhJob): the main endpoint ignores status
/// changes (replace and patch), the status endpoint ignores everything but the status.
pub async fn status_subresource_custom_resource(api: &dyn KubeApi) {
    let ns = TestNamespace::create(api).await;
    let kind = phjobs();
    let mut with_status = phjob("st");
    with_status.data["status"] = json!({"phase": "Succeeded"});
    let created = ok(
        api.create(&kind, ns.ns(), &with_status).await,
        "create a PhJob with a status",
    );
    assert_eq!(
        pointer(&created, "/status/phase"),
        None,
        "conformance: create must drop the status of a kind with a status subresource"
    );

    let mut status = created.clone();
    status.data["status"] = json!({"phase": "Running", "podName": "st"});
    status.data["spec"]["displayName"] = json!("ignored by replace_status");
    let after_status = ok(
        api.replace_status(&kind, ns.ns(), &status).await,
        "replace_status",
    );
    assert_eq!(
        pointer(&after_status, "/status/phase"),
        Some(&json!("Running")),
        "conformance: replace_status must write the status"
    );
    assert_eq!(
        pointer(&after_status, "/spec/displayName"),
        Some(&json!("conformance")),
        "conformance: replace_status must ignore spec changes"
    );

    let mut main = after_status.clone();
    main.data["status"] = json!({"phase": "Failed"});
    main.data["spec"]["displayName"] = json!("renamed");
    let after_replace = ok(
        api.replace(&kind, ns.ns(), &main, Subresource::Main).await,
        "replace with a changed spec and status",
    );
    assert_eq!(
        pointer(&after_replace, "/spec/displayName"),
        Some(&json!("renamed")),
        "conformance: replace must write the spec"
    );
    assert_eq!(
        pointer(&after_replace, "/status/phase"),
        Some(&json!("Running")),
        "conformance: replace must ignore status changes when the kind has a status subresource"
    );

    let after_patch = ok(
        api.patch(
            &kind,
            ns.ns(),
            "st",
            &merge(json!({"status": {"phase": "Failed"}, "spec": {"displayName": "patched"}})),
            Subresource::Main,
        )
        .await,
        "patch of spec and status",
    );
    assert_eq!(
        pointer(&after_patch, "/spec/displayName"),
        Some(&json!("patched")),
        "conformance: patch must write the spec"
    );
    assert_eq!(
        pointer(&after_patch, "/status/phase"),
        Some(&json!("Running")),
        "conformance: patch must ignore status changes when the kind has a status subresource"
    );

    let mut stale = after_status.clone();
    stale.data["status"] = json!({"phase": "Failed"});
    expect_conflict(
        api.replace_status(&kind, ns.ns(), &stale).await,
        "replace_status with a stale resourceVersion",
        ConflictKind::ResourceVersion,
    );
    let json_status = ok(
        api.patch_status(
            &kind,
            ns.ns(),
            "st",
            &json_ops(json!([{"op": "replace", "path": "/status/phase", "value": "Succeeded"}])),
        )
        .await,
        "JSON patch of the status",
    );
    assert_eq!(
        pointer(&json_status, "/status/phase"),
        Some(&json!("Succeeded")),
        "conformance: patch_status with a JSON patch must write the status"
    );
    assert_eq!(
        pointer(&json_status, "/status/podName"),
        Some(&json!("st")),
        "conformance: a JSON status patch must keep the other status fields"
    );
    expect_not_found(
        api.patch_status(
            &kind,
            ns.ns(),
            "missing",
            &merge(json!({"status": {"phase": "Running"}})),
        )
        .await,
        "status patch of a missing object",
    );
    ns.delete(api).await;
}

/// The status subresource of a built-in kind (Pod): without a scheduler or kubelet the pod
/// stays Pending until someone writes pods/status; the main endpoint ignores status changes.
pub async fn status_subresource_pod(api: &dyn KubeApi) {
    let ns = TestNamespace::create(api).await;
    let kind = pods();
    let created = ok(
        api.create(&kind, ns.ns(), &pod("worker")).await,
        "create a Pod",
    );
    let phase = pointer(&created, "/status/phase").cloned();
    assert!(
        phase.is_none() || phase == Some(json!("Pending")),
        "conformance: a new pod's phase must be unset or Pending, got {phase:?}"
    );
    let running = ok(
        api.patch_status(
            &kind,
            ns.ns(),
            "worker",
            &merge(json!({"status": {"phase": "Running"}})),
        )
        .await,
        "patch_status of a pod",
    );
    assert_eq!(
        pointer(&running, "/status/phase"),
        Some(&json!("Running")),
        "conformance: patch_status on pods/status must write the phase"
    );
    let after_patch = ok(
        api.patch(
            &kind,
            ns.ns(),
            "worker",
            &merge(json!({"metadata": {"labels": {"l": "v"}}, "status": {"phase": "Failed"}})),
            Subresource::Main,
        )
        .await,
        "patch of a pod's labels and status",
    );
    assert_eq!(
        pointer(&after_patch, "/status/phase"),
        Some(&json!("Running")),
        "conformance: a pod patch through the main endpoint must ignore the status"
    );
    assert_eq!(
        after_patch
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("l"))
            .map(String::as_str),
        Some("v"),
        "conformance: a pod patch through the main endpoint must write the labels"
    );
    let fetched = ok(api.get(&kind, ns.ns(), "worker").await, "get the pod");
    let mut status = fetched.clone();
    status.data["status"]["phase"] = json!("Succeeded");
    let succeeded = ok(
        api.replace_status(&kind, ns.ns(), &status).await,
        "replace_status of a pod",
    );
    assert_eq!(
        pointer(&succeeded, "/status/phase"),
        Some(&json!("Succeeded")),
        "conformance: replace_status on pods/status must write the phase"
    );
    ok(
        api.delete(
            &kind,
            ns.ns(),
            "worker",
            &DeleteOptions {
                grace_period_seconds: Some(0),
                ..DeleteOptions::default()
            },
        )
        .await,
        "delete a pod with grace period 0",
    );
    let gone = eventually(50, Duration::from_millis(100), || async {
        matches!(
            api.get(&kind, ns.ns(), "worker").await,
            Err(KubeError::NotFound { .. })
        )
    })
    .await;
    assert!(
        gone,
        "conformance: a pod deleted with grace period 0 must disappear"
    );
    ns.delete(api).await;
}

// ---------------------------------------------------------------------------------------------
// Patches
// ---------------------------------------------------------------------------------------------

/// A JSON merge patch adds and replaces keys and removes keys set to null; labels merge too.
pub async fn merge_patch(api: &dyn KubeApi) {
    let ns = TestNamespace::create(api).await;
    let cm = configmaps();
    ok(
        api.create(
            &cm,
            ns.ns(),
            &configmap(
                "mp",
                &[("keep", "1"), ("drop", "1")],
                &[("a", "1"), ("b", "2")],
            ),
        )
        .await,
        "create",
    );
    let patched = ok(
        api.patch(
            &cm,
            ns.ns(),
            "mp",
            &merge(json!({
                "metadata": {"labels": {"drop": null, "new": "2"}},
                "data": {"a": "10", "b": null, "c": "3"},
            })),
            Subresource::Main,
        )
        .await,
        "merge patch",
    );
    let labels = patched.metadata.labels.clone().unwrap_or_default();
    assert_eq!(
        labels.get("keep").map(String::as_str),
        Some("1"),
        "conformance: a merge patch must keep labels it does not mention"
    );
    assert_eq!(
        labels.get("new").map(String::as_str),
        Some("2"),
        "conformance: a merge patch must add labels"
    );
    assert!(
        !labels.contains_key("drop"),
        "conformance: a merge patch with null must remove the label"
    );
    assert_eq!(data_of(&patched, "a").as_deref(), Some("10"));
    assert_eq!(
        data_of(&patched, "b"),
        None,
        "conformance: a merge patch with null must remove the key"
    );
    assert_eq!(data_of(&patched, "c").as_deref(), Some("3"));
    let fetched = ok(api.get(&cm, ns.ns(), "mp").await, "get after patch");
    assert_eq!(
        fetched.data.get("data"),
        patched.data.get("data"),
        "conformance: get must return what the patch returned"
    );
    ns.delete(api).await;
}

#[track_caller]
fn failure<T: Debug>(result: Result<T>, what: &str) -> KubeError {
    match result {
        Err(e) => e,
        Ok(v) => panic!("conformance: {what}: expected an error, got {v:?}"),
    }
}

fn strategic(value: Value) -> PatchBody {
    PatchBody::Strategic(value)
}

/// The names in a list of objects with a `name` (containers, env, volumes).
fn names_at(o: &DynamicObject, path: &str) -> Vec<String> {
    pointer(o, path)
        .and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// A strategic merge patch merges lists by their patch merge key (a Pod's containers and a
/// container's env by `name`, ports by `containerPort`), unions `finalizers`, honours `null`,
/// `$patch: delete`, `$setElementOrder` and `$deleteFromPrimitiveList` and stores none of
/// them; an element without its merge key is refused (500, as kube-apiserver answers), and a
/// custom resource takes no strategic merge patch (415).
pub async fn strategic_merge_patch(api: &dyn KubeApi) {
    let ns = TestNamespace::create(api).await;
    let pod_kind = pods();
    ok(
        api.create(
            &pod_kind,
            ns.ns(),
            &object(json!({
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "smp", "labels": {"app": "web"}, "finalizers": ["a.io/x", "b.io/y"]},
                "spec": {"containers": [
                    {"name": "main", "image": "busybox:1.36",
                     "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                     "ports": [{"containerPort": 80}, {"containerPort": 443}]},
                    {"name": "side", "image": "busybox:1.36"},
                ]},
            })),
        )
        .await,
        "create a pod with two containers",
    );
    let patched = ok(
        api.patch(
            &pod_kind,
            ns.ns(),
            "smp",
            &strategic(json!({
                "metadata": {"labels": {"tier": "front"}, "finalizers": ["c.io/z"]},
                "spec": {"containers": [{"name": "side", "image": "busybox:1.37"}]},
            })),
            Subresource::Main,
        )
        .await,
        "strategic merge patch of one container",
    );
    assert_eq!(
        names_at(&patched, "/spec/containers"),
        ["main", "side"],
        "conformance: a strategic merge patch must merge containers by name, keeping the others"
    );
    assert_eq!(
        pointer(&patched, "/spec/containers/1/image"),
        Some(&json!("busybox:1.37"))
    );
    assert_eq!(
        names_at(&patched, "/spec/containers/0/env"),
        ["A", "B"],
        "conformance: a container the patch does not name must keep its env"
    );
    assert_eq!(
        patched.metadata.finalizers,
        Some(vec!["c.io/z".into(), "a.io/x".into(), "b.io/y".into()]),
        "conformance: a strategic merge patch must union finalizers (strategy merge), the \
         patch's values first as kube-apiserver orders them"
    );
    assert_eq!(
        patched.metadata.labels,
        Some(BTreeMap::from([
            ("app".to_owned(), "web".to_owned()),
            ("tier".to_owned(), "front".to_owned())
        ]))
    );

    // kubectl apply's directives: deletions from a primitive list, order.
    let patched = ok(
        api.patch(
            &pod_kind,
            ns.ns(),
            "smp",
            &strategic(json!({
                "metadata": {
                    "labels": {"app": null},
                    "$deleteFromPrimitiveList/finalizers": ["a.io/x"],
                    "$setElementOrder/finalizers": ["c.io/z", "b.io/y"],
                },
            })),
            Subresource::Main,
        )
        .await,
        "strategic merge patch with $deleteFromPrimitiveList",
    );
    assert_eq!(
        patched.metadata.finalizers,
        Some(vec!["c.io/z".into(), "b.io/y".into()]),
        "conformance: $deleteFromPrimitiveList and $setElementOrder on finalizers"
    );
    assert_eq!(
        patched.metadata.labels,
        Some(BTreeMap::from([("tier".to_owned(), "front".to_owned())]))
    );
    let fetched = ok(api.get(&pod_kind, ns.ns(), "smp").await, "get after patch");
    assert_eq!(fetched.data.get("spec"), patched.data.get("spec"));

    // A Pod's containers are immutable but a Deployment's template is not: the list directives
    // there (order, deletion by key) and the merge keys of env (name) and ports (containerPort).
    let deployment = ResourceKind::of::<k8s_openapi::api::apps::v1::Deployment>();
    ok(
        api.create(
            &deployment,
            ns.ns(),
            &object(json!({
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "smp"},
                "spec": {
                    "selector": {"matchLabels": {"app": "web"}},
                    "template": {
                        "metadata": {"labels": {"app": "web"}},
                        "spec": {"containers": [
                            {"name": "main", "image": "busybox:1.36",
                             "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                             "ports": [{"containerPort": 80}, {"containerPort": 443}]},
                            {"name": "side", "image": "busybox:1.36"},
                        ]},
                    },
                },
            })),
        )
        .await,
        "create a Deployment with two containers",
    );
    let patched = ok(
        api.patch(
            &deployment,
            ns.ns(),
            "smp",
            &strategic(json!({"spec": {"template": {"spec": {
                "$setElementOrder/containers": [{"name": "side"}, {"name": "main"}],
                "containers": [
                    {"name": "side", "env": [{"name": "C", "value": "3"}]},
                    {
                        "name": "main",
                        "$setElementOrder/env": [{"name": "B"}],
                        "env": [{"$patch": "delete", "name": "A"}],
                        "ports": [{"$patch": "delete", "containerPort": 443}, {"containerPort": 8080}],
                    },
                ],
            }}}})),
            Subresource::Main,
        )
        .await,
        "strategic merge patch with kubectl apply's list directives",
    );
    assert_eq!(
        names_at(&patched, "/spec/template/spec/containers"),
        ["side", "main"],
        "conformance: $setElementOrder must order the merged list"
    );
    assert_eq!(
        names_at(&patched, "/spec/template/spec/containers/0/env"),
        ["C"],
        "conformance: a new env list on a merged container"
    );
    assert_eq!(
        names_at(&patched, "/spec/template/spec/containers/1/env"),
        ["B"],
        "conformance: $patch: delete must remove the element with that key"
    );
    let ports: Vec<Option<&Value>> = pointer(&patched, "/spec/template/spec/containers/1/ports")
        .and_then(Value::as_array)
        .map(|l| l.iter().map(|p| p.get("containerPort")).collect())
        .unwrap_or_default();
    assert_eq!(
        ports,
        [Some(&json!(8080)), Some(&json!(80))],
        "conformance: ports merge by containerPort, the patch's new ones first"
    );
    let text = serde_json::to_string(&patched).unwrap_or_default();
    assert!(
        !text.contains("\"$"),
        "conformance: no patch directive may be stored: {text}"
    );

    let err = failure(
        api.patch(
            &pod_kind,
            ns.ns(),
            "smp",
            &strategic(json!({"spec": {"containers": [{"image": "x"}]}})),
            Subresource::Main,
        )
        .await,
        "a merge-list element without its merge key",
    );
    assert_eq!(
        err,
        KubeError::Unexpected {
            status: 500,
            message: "map: map[image:x] does not contain declared merge key: name".into()
        },
        "conformance: kube-apiserver answers a merge-list element without its key with 500"
    );
    let err = failure(
        api.patch(
            &pod_kind,
            ns.ns(),
            "smp",
            &strategic(json!({"metadata": {"$patch": "bogus"}})),
            Subresource::Main,
        )
        .await,
        "an unknown $patch directive",
    );
    assert_eq!(
        err,
        KubeError::Unexpected {
            status: 500,
            message: "unknown patch type: bogus in map: map[$patch:bogus]".into()
        }
    );
    let err = failure(
        api.patch(
            &pod_kind,
            ns.ns(),
            "smp",
            &strategic(json!({"spec": {"$retainKeys": ["nothing"], "restartPolicy": "Never"}})),
            Subresource::Main,
        )
        .await,
        "a $retainKeys list without a key the patch sets",
    );
    assert_eq!(
        err,
        KubeError::BadRequest {
            message: "invalid patch format of retainKeys".into()
        }
    );
    // Finalizers keep the pod: clear them so the namespace can go.
    ok(
        api.patch(
            &pod_kind,
            ns.ns(),
            "smp",
            &merge(json!({"metadata": {"finalizers": null}})),
            Subresource::Main,
        )
        .await,
        "clear the finalizers",
    );

    // Custom resources: 415, so clients fall back to a merge patch.
    ok(
        api.create(&phjobs(), ns.ns(), &phjob("smp-job")).await,
        "create a PhJob",
    );
    let err = failure(
        api.patch(
            &phjobs(),
            ns.ns(),
            "smp-job",
            &strategic(json!({"metadata": {"labels": {"a": "b"}}})),
            Subresource::Main,
        )
        .await,
        "a strategic merge patch of a custom resource",
    );
    assert_eq!(
        err,
        KubeError::Unexpected {
            status: 415,
            message: "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml".into()
        },
        "conformance: a custom resource answers a strategic merge patch with 415"
    );
    ns.delete(api).await;
}

/// The second `kubectl apply` of a changed Deployment (the body kubectl 1.33 sends, with
/// `$retainKeys` for the strategy and `$setElementOrder` for the lists) gives what the new
/// manifest says.
pub async fn strategic_merge_patch_deployment(api: &dyn KubeApi) {
    let ns = TestNamespace::create(api).await;
    let kind = ResourceKind::of::<k8s_openapi::api::apps::v1::Deployment>();
    ok(
        api.create(
            &kind,
            ns.ns(),
            &object(json!({
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "web"},
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": {"app": "web"}},
                    "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
                    "template": {
                        "metadata": {"labels": {"app": "web"}},
                        "spec": {
                            "containers": [
                                {"name": "main", "image": "nginx:1",
                                 "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
                                {"name": "side", "image": "busybox"},
                            ],
                            "volumes": [{"name": "v1", "emptyDir": {}}],
                        },
                    },
                },
            })),
        )
        .await,
        "create a Deployment",
    );
    let patched = ok(
        api.patch(
            &kind,
            ns.ns(),
            "web",
            &strategic(json!({
                "spec": {
                    "strategy": {"$retainKeys": ["type"], "rollingUpdate": null, "type": "Recreate"},
                    "template": {"spec": {
                        "$setElementOrder/containers": [{"name": "side"}, {"name": "main"}],
                        "$setElementOrder/volumes": [{"name": "v2"}],
                        "containers": [
                            {"image": "busybox:2", "name": "side"},
                            {"$setElementOrder/env": [{"name": "C"}, {"name": "A"}],
                             "env": [{"name": "C", "value": "3"}, {"$patch": "delete", "name": "B"}],
                             "image": "nginx:2", "name": "main"},
                        ],
                        "volumes": [{"configMap": {"name": "cm"}, "name": "v2"}, {"$patch": "delete", "name": "v1"}],
                    }},
                },
            })),
            Subresource::Main,
        )
        .await,
        "the second kubectl apply's strategic merge patch",
    );
    assert_eq!(
        pointer(&patched, "/spec/strategy"),
        Some(&json!({"type": "Recreate"})),
        "conformance: $retainKeys must clear the strategy's other keys"
    );
    assert_eq!(
        names_at(&patched, "/spec/template/spec/containers"),
        ["side", "main"]
    );
    assert_eq!(
        pointer(&patched, "/spec/template/spec/containers/1/image"),
        Some(&json!("nginx:2"))
    );
    assert_eq!(
        names_at(&patched, "/spec/template/spec/containers/1/env"),
        ["C", "A"]
    );
    assert_eq!(names_at(&patched, "/spec/template/spec/volumes"), ["v2"]);
    assert_eq!(
        pointer(&patched, "/spec/template/spec/volumes/0/configMap/name"),
        Some(&json!("cm"))
    );
    ns.delete(api).await;
}

/// A JSON patch applies add/replace/remove in order; a failing `test` operation rejects the
/// whole patch (Invalid, 422, as the API server answers) and changes nothing.
pub async fn json_patch(api: &dyn KubeApi) {
    let ns = TestNamespace::create(api).await;
    let cm = configmaps();
    ok(
        api.create(
            &cm,
            ns.ns(),
            &configmap("jp", &[], &[("a", "1"), ("b", "2")]),
        )
        .await,
        "create",
    );
    let patched = ok(
        api.patch(
            &cm,
            ns.ns(),
            "jp",
            &json_ops(json!([
                {"op": "test", "path": "/data/a", "value": "1"},
                {"op": "replace", "path": "/data/a", "value": "10"},
                {"op": "remove", "path": "/data/b"},
                {"op": "add", "path": "/data/c", "value": "3"},
                {"op": "add", "path": "/metadata/labels", "value": {"via": "json-patch"}},
            ])),
            Subresource::Main,
        )
        .await,
        "JSON patch",
    );
    assert_eq!(data_of(&patched, "a").as_deref(), Some("10"));
    assert_eq!(
        data_of(&patched, "b"),
        None,
        "conformance: JSON patch remove"
    );
    assert_eq!(data_of(&patched, "c").as_deref(), Some("3"));
    assert_eq!(
        patched
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("via"))
            .map(String::as_str),
        Some("json-patch"),
        "conformance: a JSON patch must be able to write metadata"
    );
    let before = rv(&patched);
    expect_err(
        api.patch(
            &cm,
            ns.ns(),
            "jp",
            &json_ops(json!([
                {"op": "replace", "path": "/data/c", "value": "30"},
                {"op": "test", "path": "/data/a", "value": "not-the-value"},
            ])),
            Subresource::Main,
        )
        .await,
        "JSON patch whose test operation fails",
        "Invalid (422)",
        |e| matches!(e, KubeError::Invalid { .. }),
    );
    let after = ok(
        api.get(&cm, ns.ns(), "jp").await,
        "get after a failed patch",
    );
    assert_eq!(
        data_of(&after, "c").as_deref(),
        Some("3"),
        "conformance: a JSON patch with a failing test must change nothing"
    );
    assert_eq!(
        rv(&after),
        before,
        "conformance: a failed JSON patch must not change the resourceVersion"
    );
    ns.delete(api).await;
}

// ---------------------------------------------------------------------------------------------
// Lists
// ---------------------------------------------------------------------------------------------

async fn list_names(api: &dyn KubeApi, ns: &TestNamespace, selector: &str) -> Vec<String> {
    let page = ok(
        api.list(
            &configmaps(),
            ns.ns(),
            &ListOptions {
                label_selector: Some(selector.to_owned()),
                ..ListOptions::default()
            },
        )
        .await,
        &format!("list with the label selector {selector:?}"),
    );
    // kube-root-ca.crt is published into every namespace by kube-controller-manager.
    names(&page.items)
        .into_iter()
        .filter(|n| n != "kube-root-ca.crt")
        .collect()
}

/// Label selectors: `=`, `==`, `!=`, `in`, `notin`, exists, `!` (does not exist) and
/// comma-joined combinations; results ordered by name.
pub async fn label_selectors(api: &dyn KubeApi) {
    let ns = TestNamespace::create(api).await;
    let cm = configmaps();
    let objects = [
        ("a", vec![("app", "web"), ("tier", "front")]),
        ("b", vec![("app", "web"), ("tier", "back")]),
        ("c", vec![("app", "db"), ("tier", "back")]),
        ("d", vec![("app", "cache")]),
        ("e", vec![]),
    ];
    // Created out of order: the list must still be sorted.
    for (n, labels) in objects.iter().rev() {
        ok(
            api.create(&cm, ns.ns(), &configmap(n, labels, &[])).await,
            "create",
        );
    }
    let cases: &[(&str, &[&str])] = &[
        ("app=web", &["a", "b"]),
        ("app==web", &["a", "b"]),
        ("app!=web", &["c", "d", "e"]),
        ("app in (web,db)", &["a", "b", "c"]),
        ("app notin (web,db)", &["d", "e"]),
        ("tier", &["a", "b", "c"]),
        ("!tier", &["d", "e"]),
        ("app=web,tier=back", &["b"]),
        ("app,tier!=front", &["b", "c", "d"]),
        ("app in (web,db),!missing,tier notin (front)", &["b", "c"]),
        ("app=nothing", &[]),
    ];
    for (selector, expected) in cases {
        let got = list_names(api, &ns, selector).await;
        assert_eq!(
            got, *expected,
            "conformance: label selector {selector:?} must select exactly {expected:?} (ordered by name)"
        );
    }
    let all = ok(
        api.list(&cm, ns.ns(), &ListOptions::default()).await,
        "list without a selector",
    );
    let all_names: Vec<String> = names(&all.items)
        .into_iter()
        .filter(|n| n != "kube-root-ca.crt")
        .collect();
    assert_eq!(
        all_names,
        vec!["a", "b", "c", "d", "e"],
        "conformance: a list without a selector must return every object, ordered by name"
    );
    assert!(
        !all.resource_version.is_empty(),
        "conformance: a list must carry a resourceVersion"
    );
    assert!(
        all.items
            .iter()
            .all(|o| o.metadata.namespace.as_deref() == ns.ns()),
        "conformance: a namespaced list must return only that namespace's objects"
    );
    expect_err(
        api.list(
            &cm,
            ns.ns(),
            &ListOptions {
                label_selector: Some("app in (web".to_owned()),
                ..ListOptions::default()
            },
        )
        .await,
        "a malformed label selector",
        "BadRequest (400)",
        |e| matches!(e, KubeError::BadRequest { .. }),
    );
    ns.delete(api).await;
}

/// The field selector `metadata.name=<name>` selects that object only.
pub async fn field_selector_metadata_name(api: &dyn KubeApi) {
    let ns = TestNamespace::create(api).await;
    let cm = configmaps();
    for n in ["one", "two", "three"] {
        ok(
            api.create(&cm, ns.ns(), &configmap(n, &[], &[])).await,
            "create",
        );
    }
    let page = ok(
        api.list(
            &cm,
            ns.ns(),
            &ListOptions {
                field_selector: Some("metadata.name=two".to_owned()),
                ..ListOptions::default()
            },
        )
        .await,
        "list with the field selector metadata.name=two",
    );
    assert_eq!(
        names(&page.items),
        vec!["two"],
        "conformance: the field selector metadata.name=two must select exactly that object"
    );
    let page = ok(
        api.list(
            &cm,
            None,
            &ListOptions {
                field_selector: Some(format!(
                    "metadata.namespace={},metadata.name=three",
                    ns.name
                )),
                ..ListOptions::default()
            },
        )
        .await,
        "list across namespaces with metadata.namespace and metadata.name field selectors",
    );
    assert_eq!(
        names(&page.items),
        vec!["three"],
        "conformance: metadata.namespace=…,metadata.name=three must select exactly that object"
    );
    ns.delete(api).await;
}

#[track_caller]
fn expect_bad_request<T: Debug>(result: Result<T>, what: &str, message: &str) {
    match result {
        Err(KubeError::BadRequest { message: got }) if got == message => {}
        other => {
            panic!("conformance: {what}: expected BadRequest (400) {message:?}, got {other:?}")
        }
    }
}

/// Field selectors take only the field labels the kind supports, on list, watch and
/// deletecollection; the first unsupported label in sorted order is refused with 400, worded
/// `field label not supported: <label>` by kinds with field labels of their own (Pods,
/// Namespaces, custom resources) and `"<label>" is not a known field selector: only
/// "metadata.name", "metadata.namespace"` by the others (ConfigMaps). A term without an
/// operator is a syntax error.
pub async fn field_selectors_take_only_supported_labels(api: &dyn KubeApi) {
    let ns = TestNamespace::create(api).await;
    let cm = configmaps();
    ok(
        api.create(&cm, ns.ns(), &configmap("kept", &[], &[("a", "x")]))
            .await,
        "create",
    );
    let with = |selector: &str| ListOptions {
        field_selector: Some(selector.to_owned()),
        ..ListOptions::default()
    };
    expect_bad_request(
        api.list(&cm, ns.ns(), &with("data.a=x")).await,
        "list ConfigMaps with the field selector data.a=x",
        "\"data.a\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\"",
    );
    expect_bad_request(
        api.list(&pods(), ns.ns(), &with("spec.foo=x,spec.bar=y"))
            .await,
        "list Pods with the field selector spec.foo=x,spec.bar=y",
        "field label not supported: spec.bar",
    );
    ok(
        api.list(
            &pods(),
            ns.ns(),
            &with("spec.nodeName=n1,status.phase!=Running,spec.restartPolicy==Always"),
        )
        .await,
        "list Pods by spec.nodeName, status.phase and spec.restartPolicy",
    );
    expect_bad_request(
        api.list(&namespaces(), None, &with("metadata.namespace=x"))
            .await,
        "list Namespaces with the field selector metadata.namespace=x",
        "field label not supported: metadata.namespace",
    );
    expect_bad_request(
        api.list(&phjobs(), ns.ns(), &with("spec.userName=x")).await,
        "list PhJobs with the field selector spec.userName=x",
        "field label not supported: spec.userName",
    );
    expect_bad_request(
        api.list(&cm, ns.ns(), &with("metadata.name")).await,
        "list with the field selector metadata.name (no operator)",
        "invalid selector: 'metadata.name'; can't understand 'metadata.name'",
    );
    match api.watch(&cm, ns.ns(), &with("data.a=x"), "").await {
        Err(KubeError::BadRequest { message }) => assert_eq!(
            message,
            "\"data.a\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\"",
            "conformance: a watch with an unsupported field label"
        ),
        Err(other) => panic!(
            "conformance: watch with the field selector data.a=x: expected BadRequest, got {other:?}"
        ),
        Ok(mut stream) => match tokio::time::timeout(WATCH_EVENT_TIMEOUT, stream.next()).await {
            Ok(Some(Err(KubeError::BadRequest { message }))) => assert_eq!(
                message,
                "\"data.a\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\"",
                "conformance: a watch with an unsupported field label"
            ),
            other => panic!(
                "conformance: watch with the field selector data.a=x: expected BadRequest, got {other:?}"
            ),
        },
    }
    expect_bad_request(
        api.delete_collection(&cm, ns.ns(), &with("data.a=x"), &DeleteOptions::default())
            .await,
        "deletecollection with the field selector data.a=x",
        "\"data.a\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\"",
    );
    ok(
        api.get(&cm, ns.ns(), "kept").await,
        "the refused deletecollection deleted nothing",
    );
    ns.delete(api).await;
}

/// A malformed label selector is refused with 400 and kube-apiserver's parser message.
pub async fn label_selector_syntax_errors(api: &dyn KubeApi) {
    let ns = TestNamespace::create(api).await;
    for (selector, message) in [
        (
            "a in (b",
            "unable to parse requirement: found '', expected: ',' or ')'",
        ),
        ("a=b c", "found 'c', expected: ',' or 'end of string'"),
        ("a,,b", "found ',', expected: identifier after ','"),
        (
            "a>x",
            "unable to parse requirement: values[0]: Invalid value: \"x\": for 'Gt', 'Lt' operators, the value must be an integer",
        ),
    ] {
        let options = ListOptions {
            label_selector: Some(selector.to_owned()),
            ..ListOptions::default()
        };
        expect_bad_request(
            api.list(&configmaps(), ns.ns(), &options).await,
            &format!("list with the label selector {selector:?}"),
            message,
        );
    }
    ns.delete(api).await;
}

/// Label keys, label values and annotation keys must be qualified names / label values, and all
/// annotations together at most 256 KiB: 422 Invalid with kube-apiserver's causes, on create and
/// on patch.
pub async fn label_and_annotation_syntax(api: &dyn KubeApi) {
    const VALUE_RULE: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
    const KEY_RULE: &str = "a valid label key must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')";
    let ns = TestNamespace::create(api).await;
    let cm = configmaps();
    let expect_invalid = |result: Result<DynamicObject>,
                          what: &str,
                          field: &str,
                          reason: &str,
                          message: &str| {
        match result {
            Err(KubeError::Invalid {
                causes,
                message: all,
            }) => assert!(
                causes
                    .iter()
                    .any(|c| c.field == field && c.reason == reason && c.message == message),
                "conformance: {what}: expected a cause {field} {reason} {message:?}, got {causes:?} ({all})"
            ),
            other => panic!("conformance: {what}: expected Invalid (422), got {other:?}"),
        }
    };
    expect_invalid(
        api.create(&cm, ns.ns(), &configmap("bad-value", &[("a", "b c")], &[]))
            .await,
        "create with the label value \"b c\"",
        "metadata.labels",
        "FieldValueInvalid",
        &format!("Invalid value: \"b c\": {VALUE_RULE}"),
    );
    expect_invalid(
        api.create(&cm, ns.ns(), &configmap("bad-key", &[("a/b/c", "v")], &[]))
            .await,
        "create with the label key a/b/c",
        "metadata.labels",
        "FieldValueInvalid",
        &format!("Invalid value: \"a/b/c\": {KEY_RULE}"),
    );
    let big = object(json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "big", "annotations": {"a": "x".repeat(256 * 1024)}},
    }));
    expect_invalid(
        api.create(&cm, ns.ns(), &big).await,
        "create with 256 KiB + 1 byte of annotations",
        "metadata.annotations",
        "FieldValueTooLong",
        "Too long: may not be more than 262144 bytes",
    );
    let fine = object(json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "fine",
            "labels": {"example.com/My_Name-1.x": "", "tier": "a.b-c_d"},
            "annotations": {"Example.COM/Any": "any value at all !", "fits": "x".repeat(256 * 1024 - 37)},
        },
    }));
    ok(
        api.create(&cm, ns.ns(), &fine).await,
        "create with valid labels, an uppercase annotation key and 256 KiB of annotations",
    );
    expect_invalid(
        api.patch(
            &cm,
            ns.ns(),
            "fine",
            &PatchBody::Merge(json!({"metadata": {"labels": {"tier": "-bad"}}})),
            Subresource::Main,
        )
        .await,
        "patch to the label value -bad",
        "metadata.labels",
        "FieldValueInvalid",
        &format!("Invalid value: \"-bad\": {VALUE_RULE}"),
    );
    ns.delete(api).await;
}

/// A list with no namespace returns objects of every namespace, ordered by namespace then name.
pub async fn list_across_namespaces(api: &dyn KubeApi) {
    let first = TestNamespace::create(api).await;
    // `<first>-b` sorts before `<first>` in storage-key order (`-` < `/`).
    let second = TestNamespace::create_named(api, format!("{}-b", first.name)).await;
    let cm = configmaps();
    let marker = unique("run");
    for ns in [&first, &second] {
        for n in ["x", "y"] {
            ok(
                api.create(
                    &cm,
                    ns.ns(),
                    &configmap(n, &[("conformance-run", &marker)], &[]),
                )
                .await,
                "create",
            );
        }
    }
    let page = ok(
        api.list(
            &cm,
            None,
            &ListOptions {
                label_selector: Some(format!("conformance-run={marker}")),
                ..ListOptions::default()
            },
        )
        .await,
        "list across all namespaces",
    );
    let got: Vec<(String, String)> = page
        .items
        .iter()
        .map(|o| (o.metadata.namespace.clone().unwrap_or_default(), name(o)))
        .collect();
    let expected: Vec<(String, String)> = [&second.name, &first.name]
        .iter()
        .flat_map(|ns| ["x", "y"].map(|n| ((*ns).clone(), n.to_owned())))
        .collect();
    assert_eq!(
        got, expected,
        "conformance: a list across namespaces must return the objects of every namespace in storage-key order (`<namespace>/<name>` as bytes: namespace `a-b` before `a`)"
    );
    // Paged one by one, the same order.
    let mut paged = Vec::new();
    let mut token = None;
    for _ in 0..10 {
        let page = ok(
            api.list(
                &cm,
                None,
                &ListOptions {
                    label_selector: Some(format!("conformance-run={marker}")),
                    limit: Some(1),
                    continue_token: token.take(),
                    ..ListOptions::default()
                },
            )
            .await,
            "list across all namespaces, one per page",
        );
        paged.extend(
            page.items
                .iter()
                .map(|o| (o.metadata.namespace.clone().unwrap_or_default(), name(o))),
        );
        token = page.continue_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(
        paged, expected,
        "conformance: pages across namespaces must follow the same order"
    );
    first.delete(api).await;
    second.delete(api).await;
}

/// `limit` + `continue` pages through a list: every object exactly once, in order, the last
/// page without a continue token.
pub async fn pagination(api: &dyn KubeApi) {
    let ns = TestNamespace::create(api).await;
    let cm = configmaps();
    let expected: Vec<String> = (0..7).map(|i| format!("page-{i}")).collect();
    for n in &expected {
        ok(
            api.create(&cm, ns.ns(), &configmap(n, &[("paged", "yes")], &[]))
                .await,
            "create",
        );
    }
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = ok(
            api.list(
                &cm,
                ns.ns(),
                &ListOptions {
                    label_selector: Some("paged=yes".to_owned()),
                    limit: Some(3),
                    continue_token: token.clone(),
                    ..ListOptions::default()
                },
            )
            .await,
            "list a page",
        );
        pages += 1;
        assert!(
            page.items.len() <= 3,
            "conformance: a page must hold at most `limit` objects, got {}",
            page.items.len()
        );
        seen.extend(names(&page.items));
        match page.continue_token {
            Some(next) => {
                assert!(
                    !page.items.is_empty(),
                    "conformance: a page with a continue token must not be empty"
                );
                token = Some(next);
            }
            None => break,
        }
        assert!(
            pages <= 10,
            "conformance: pagination did not end after 10 pages of 3 for 7 objects"
        );
    }
    assert_eq!(
        seen, expected,
        "conformance: paging with limit 3 must return every object exactly once, in order"
    );
    assert_eq!(pages, 3, "conformance: 7 objects with limit 3 take 3 pages");
    let whole = ok(
        api.list(
            &cm,
            ns.ns(),
            &ListOptions {
                label_selector: Some("paged=yes".to_owned()),
                limit: Some(100),
                ..ListOptions::default()
            },
        )
        .await,
        "list with a limit above the count",
    );
    assert_eq!(names(&whole.items), expected);
    assert_eq!(
        whole.continue_token, None,
        "conformance: a list that fits in one page must not have a continue token"
    );
    // A token the server did not hand out is refused with kube-apiserver's message.
    for (token, message) in [
        (
            "abcde",
            "invalid continue token: continue key is not valid: illegal base64 data at input byte 4",
        ),
        (
            "not-a-token",
            "invalid continue token: continue key is not valid: invalid character '\\u009e' looking for beginning of value",
        ),
    ] {
        let refused = api
            .list(
                &cm,
                ns.ns(),
                &ListOptions {
                    limit: Some(1),
                    continue_token: Some(token.to_owned()),
                    ..ListOptions::default()
                },
            )
            .await;
        match refused {
            Err(KubeError::BadRequest { message: got }) => assert_eq!(
                got, message,
                "conformance: a forged continue token {token:?} must be refused with kube-apiserver's message"
            ),
            other => panic!(
                "conformance: a forged continue token {token:?} must be a BadRequest, got {other:?}"
            ),
        }
    }
    ns.delete(api).await;
}

// ---------------------------------------------------------------------------------------------
// Deletion
// ---------------------------------------------------------------------------------------------

/// Deleting an object with a finalizer only sets its deletionTimestamp; removing the finalizer
/// completes the deletion.
pub async fn finalizers_delay_deletion(api: &dyn KubeApi) {
    let ns = TestNamespace::create(api).await;
    let cm = configmaps();
    let mut held = configmap("held", &[], &[("a", "1")]);
    held.metadata.finalizers = Some(vec!["primehub.io/conformance".to_owned()]);
    ok(
        api.create(&cm, ns.ns(), &held).await,
        "create with a finalizer",
    );
    ok(
        api.delete(&cm, ns.ns(), "held", &DeleteOptions::default())
            .await,
        "delete of an object with a finalizer",
    );
    let terminating = ok(
        api.get(&cm, ns.ns(), "held").await,
        "get of a deleted object that still has a finalizer (it must still exist)",
    );
    assert!(
        terminating.metadata.deletion_timestamp.is_some(),
        "conformance: deleting an object with finalizers must set metadata.deletionTimestamp"
    );
    assert_eq!(
        terminating.metadata.finalizers.as_deref(),
        Some(&["primehub.io/conformance".to_owned()][..]),
        "conformance: deletion must keep the finalizers"
    );
    ok(
        api.delete(&cm, ns.ns(), "held", &DeleteOptions::default())
            .await,
        "a second delete of an object that is already being deleted",
    );
    ok(
        api.patch(
            &cm,
            ns.ns(),
            "held",
            &merge(json!({"metadata": {"finalizers": null}})),
            Subresource::Main,
        )
        .await,
        "removing the finalizer",
    );
    let gone = eventually(50, Duration::from_millis(100), || async {
        matches!(
            api.get(&cm, ns.ns(), "held").await,
            Err(KubeError::NotFound { .. })
        )
    })
    .await;
    assert!(
        gone,
        "conformance: removing the last finalizer of a deleted object must remove the object"
    );
    ns.delete(api).await;
}

/// Delete preconditions: a wrong uid or resourceVersion is a Conflict (on the uid, on the
/// resourceVersion) and deletes nothing; the right ones delete.
pub async fn delete_preconditions(api: &dyn KubeApi) {
    let ns = TestNamespace::create(api).await;
    let cm = configmaps();
    let created = ok(
        api.create(&cm, ns.ns(), &configmap("pre", &[], &[])).await,
        "create",
    );
    expect_conflict(
        api.delete(
            &cm,
            ns.ns(),
            "pre",
            &DeleteOptions {
                precondition_uid: Some("00000000-0000-0000-0000-000000000000".to_owned()),
                ..DeleteOptions::default()
            },
        )
        .await,
        "delete with a wrong uid precondition",
        ConflictKind::Uid,
    );
    let updated = ok(
        api.patch(
            &cm,
            ns.ns(),
            "pre",
            &merge(json!({"data": {"v": "2"}})),
            Subresource::Main,
        )
        .await,
        "patch",
    );
    expect_conflict(
        api.delete(
            &cm,
            ns.ns(),
            "pre",
            &DeleteOptions {
                precondition_resource_version: Some(rv(&created)),
                ..DeleteOptions::default()
            },
        )
        .await,
        "delete with a stale resourceVersion precondition",
        ConflictKind::ResourceVersion,
    );
    ok(
        api.get(&cm, ns.ns(), "pre").await,
        "get after failed conditional deletes (the object must still exist)",
    );
    ok(
        api.delete(
            &cm,
            ns.ns(),
            "pre",
            &DeleteOptions {
                precondition_uid: created.metadata.uid.clone(),
                precondition_resource_version: Some(rv(&updated)),
                propagation: Some(Propagation::Background),
                grace_period_seconds: Some(0),
            },
        )
        .await,
        "delete with matching uid and resourceVersion preconditions",
    );
    expect_not_found(
        api.get(&cm, ns.ns(), "pre").await,
        "get after a successful conditional delete",
    );
    ns.delete(api).await;
}

/// Owner references: a background delete of the owner eventually removes the dependent.
///
/// Not part of [`run_all`]: on a real cluster this is the garbage collector's job (in
/// kube-controller-manager), which an envtest-style API server does not run.
pub async fn owner_garbage_collection(api: &dyn KubeApi) {
    let ns = TestNamespace::create(api).await;
    let cm = configmaps();
    let owner = ok(
        api.create(&cm, ns.ns(), &configmap("owner", &[], &[]))
            .await,
        "create the owner",
    );
    let mut dependent = configmap("dependent", &[], &[]);
    dependent.metadata.owner_references = Some(vec![
        k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
            api_version: "v1".to_owned(),
            kind: "ConfigMap".to_owned(),
            name: "owner".to_owned(),
            uid: owner.metadata.uid.clone().unwrap_or_default(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        },
    ]);
    ok(
        api.create(&cm, ns.ns(), &dependent).await,
        "create the dependent",
    );
    ok(
        api.delete(
            &cm,
            ns.ns(),
            "owner",
            &DeleteOptions {
                propagation: Some(Propagation::Background),
                ..DeleteOptions::default()
            },
        )
        .await,
        "background delete of the owner",
    );
    let collected = eventually(100, Duration::from_millis(100), || async {
        matches!(
            api.get(&cm, ns.ns(), "dependent").await,
            Err(KubeError::NotFound { .. })
        )
    })
    .await;
    assert!(
        collected,
        "conformance: a background delete of the owner must garbage-collect its dependent (within 10 s)"
    );
    ns.delete(api).await;
}

/// Deleting a namespace eventually removes the objects in it and then the namespace.
///
/// Not part of [`run_all`]: on a real cluster this is the namespace controller's job (in
/// kube-controller-manager), which an envtest-style API server does not run.
pub async fn namespace_deletion_removes_contents(api: &dyn KubeApi) {
    let ns = TestNamespace::create(api).await;
    let cm = configmaps();
    ok(
        api.create(&cm, ns.ns(), &configmap("inside", &[], &[]))
            .await,
        "create",
    );
    let name = ns.name.clone();
    ns.delete(api).await;
    let gone = eventually(100, Duration::from_millis(100), || async {
        matches!(
            api.get(&namespaces(), None, &name).await,
            Err(KubeError::NotFound { .. })
        ) && matches!(
            api.get(&cm, Some(&name), "inside").await,
            Err(KubeError::NotFound { .. })
        )
    })
    .await;
    assert!(
        gone,
        "conformance: deleting a namespace must remove its objects and then the namespace (within 10 s)"
    );
}

// ---------------------------------------------------------------------------------------------
// Watches
// ---------------------------------------------------------------------------------------------

fn watch_all() -> ListOptions {
    ListOptions::default()
}

/// A watch from a list's resourceVersion delivers Added, Modified and Deleted for a create,
/// update and delete, in order, and nothing from before the list.
pub async fn watch_delivers_events_in_order(api: &dyn KubeApi) {
    let ns = TestNamespace::create(api).await;
    let cm = configmaps();
    ok(
        api.create(&cm, ns.ns(), &configmap("before", &[], &[]))
            .await,
        "create before the list",
    );
    let listed = ok(
        api.list(&cm, ns.ns(), &ListOptions::default()).await,
        "list",
    );
    let mut stream = ok(
        api.watch(&cm, ns.ns(), &watch_all(), &listed.resource_version)
            .await,
        "watch from the list's resourceVersion",
    );
    let created = ok(
        api.create(&cm, ns.ns(), &configmap("w", &[], &[("v", "1")]))
            .await,
        "create",
    );
    let modified = ok(
        api.patch(
            &cm,
            ns.ns(),
            "w",
            &merge(json!({"data": {"v": "2"}})),
            Subresource::Main,
        )
        .await,
        "patch",
    );
    ok(
        api.delete(&cm, ns.ns(), "w", &DeleteOptions::default())
            .await,
        "delete",
    );
    let what = "watch from a list's resourceVersion";
    let first = next_event(&mut stream, what).await;
    expect_event(&first, "Added", "w", what);
    if let WatchEvent::Added(o) = &first {
        assert_eq!(
            rv(o),
            rv(&created),
            "conformance: the Added event must carry the created object's resourceVersion"
        );
    }
    let second = next_event(&mut stream, what).await;
    expect_event(&second, "Modified", "w", what);
    if let WatchEvent::Modified(o) = &second {
        assert_eq!(
            data_of(o, "v").as_deref(),
            Some("2"),
            "conformance: the Modified event must carry the new state"
        );
        assert_eq!(rv(o), rv(&modified));
    }
    let third = next_event(&mut stream, what).await;
    expect_event(&third, "Deleted", "w", what);
    if let WatchEvent::Deleted(o) = &third {
        assert_eq!(
            o.metadata.namespace.as_deref(),
            ns.ns(),
            "conformance: watch events must carry the object's namespace"
        );
    }
    drop(stream);

    // From "0" (or ""), the watch starts with Added for every current object.
    let mut initial = ok(
        api.watch(&cm, ns.ns(), &watch_all(), "").await,
        "watch from the empty resourceVersion",
    );
    let mut seen = Vec::new();
    loop {
        let event = next_event(&mut initial, "watch from \"\"").await;
        match event {
            WatchEvent::Added(o) => {
                let n = name(&o);
                seen.push(n.clone());
                if n == "before" {
                    break;
                }
            }
            other => panic!(
                "conformance: a watch from \"\" must start with Added events, got {}",
                describe_event(&other)
            ),
        }
    }
    assert!(
        !seen.contains(&"w".to_owned()),
        "conformance: a watch from \"\" must not replay deleted objects"
    );
    ns.delete(api).await;
}

/// A watch resumed from an intermediate resourceVersion delivers only the later changes.
pub async fn watch_resumes_from_resource_version(api: &dyn KubeApi) {
    let ns = TestNamespace::create(api).await;
    let cm = configmaps();
    ok(
        api.create(&cm, ns.ns(), &configmap("a", &[], &[("v", "1")]))
            .await,
        "create a",
    );
    let middle = ok(
        api.patch(
            &cm,
            ns.ns(),
            "a",
            &merge(json!({"data": {"v": "2"}})),
            Subresource::Main,
        )
        .await,
        "patch a",
    );
    ok(
        api.patch(
            &cm,
            ns.ns(),
            "a",
            &merge(json!({"data": {"v": "3"}})),
            Subresource::Main,
        )
        .await,
        "patch a again",
    );
    ok(
        api.create(&cm, ns.ns(), &configmap("b", &[], &[])).await,
        "create b",
    );
    let mut stream = ok(
        api.watch(&cm, ns.ns(), &watch_all(), &rv(&middle)).await,
        "watch from an intermediate resourceVersion",
    );
    let what = "watch resumed from an intermediate resourceVersion";
    let first = next_event(&mut stream, what).await;
    expect_event(&first, "Modified", "a", what);
    if let WatchEvent::Modified(o) = &first {
        assert_eq!(
            data_of(o, "v").as_deref(),
            Some("3"),
            "conformance: a resumed watch must deliver only changes after its resourceVersion"
        );
    }
    let second = next_event(&mut stream, what).await;
    expect_event(&second, "Added", "b", what);
    ok(
        api.delete(&cm, ns.ns(), "b", &DeleteOptions::default())
            .await,
        "delete b",
    );
    let third = next_event(&mut stream, what).await;
    expect_event(&third, "Deleted", "b", what);
    ns.delete(api).await;
}

/// A watch with a label selector sees only the matching objects.
pub async fn watch_with_label_selector(api: &dyn KubeApi) {
    let ns = TestNamespace::create(api).await;
    let cm = configmaps();
    let listed = ok(
        api.list(&cm, ns.ns(), &ListOptions::default()).await,
        "list",
    );
    let mut stream = ok(
        api.watch(
            &cm,
            ns.ns(),
            &ListOptions {
                label_selector: Some("watched=yes".to_owned()),
                ..ListOptions::default()
            },
            &listed.resource_version,
        )
        .await,
        "watch with a label selector",
    );
    ok(
        api.create(&cm, ns.ns(), &configmap("other", &[("watched", "no")], &[]))
            .await,
        "create a non-matching object",
    );
    ok(
        api.create(&cm, ns.ns(), &configmap("plain", &[], &[]))
            .await,
        "create an unlabelled object",
    );
    ok(
        api.create(&cm, ns.ns(), &configmap("mine", &[("watched", "yes")], &[]))
            .await,
        "create a matching object",
    );
    ok(
        api.patch(
            &cm,
            ns.ns(),
            "other",
            &merge(json!({"data": {"x": "1"}})),
            Subresource::Main,
        )
        .await,
        "update the non-matching object",
    );
    ok(
        api.delete(&cm, ns.ns(), "plain", &DeleteOptions::default())
            .await,
        "delete the unlabelled object",
    );
    ok(
        api.delete(&cm, ns.ns(), "mine", &DeleteOptions::default())
            .await,
        "delete the matching object",
    );
    let what = "watch with the label selector watched=yes";
    let first = next_event(&mut stream, what).await;
    expect_event(&first, "Added", "mine", what);
    let second = next_event(&mut stream, what).await;
    expect_event(&second, "Deleted", "mine", what);
    ns.delete(api).await;
}

/// A watch from a resourceVersion that is far too old (`"1"`) fails with Gone (410), either
/// from `watch` itself or as the first item of the stream, so that reflectors re-list.
pub async fn watch_too_old_is_gone(api: &dyn KubeApi) {
    let ns = TestNamespace::create(api).await;
    let cm = configmaps();
    // Make sure history exists beyond version 1.
    for n in ["g1", "g2"] {
        ok(
            api.create(&cm, ns.ns(), &configmap(n, &[], &[])).await,
            "create",
        );
    }
    match api.watch(&cm, ns.ns(), &watch_all(), "1").await {
        Err(KubeError::Gone { .. }) => {}
        Err(e) => panic!(
            "conformance: a watch from the too-old resourceVersion \"1\" must fail with Gone (410), got {e:?}"
        ),
        Ok(mut stream) => loop {
            match tokio::time::timeout(WATCH_EVENT_TIMEOUT, stream.next()).await {
                Ok(Some(Err(KubeError::Gone { .. }))) => break,
                Ok(Some(Ok(WatchEvent::Bookmark { .. }))) => continue,
                other => panic!(
                    "conformance: a watch from the too-old resourceVersion \"1\" must yield Gone (410) first, got {:?}",
                    other.map(|o| o.map(|r| r.map(|e| describe_event(&e))))
                ),
            }
        },
    }
    ns.delete(api).await;
}

// ---------------------------------------------------------------------------------------------
// deletecollection
// ---------------------------------------------------------------------------------------------

/// `delete_collection` deletes exactly what the label selector selects, in the namespace given,
/// and returns those objects as they were listed before the deletion (a finalizer keeps one,
/// marked with a deletionTimestamp); with no match it deletes nothing and returns nothing; a namespaced kind without a namespace is a
/// BadRequest (kube-apiserver serves no cluster-wide deletecollection for namespaced kinds).
pub async fn delete_collection_by_selector(api: &dyn KubeApi) {
    let ns = TestNamespace::create(api).await;
    let other = TestNamespace::create(api).await;
    let cm = configmaps();
    for (name, tier) in [("a", "web"), ("b", "web"), ("c", "db")] {
        ok(
            api.create(&cm, ns.ns(), &configmap(name, &[("tier", tier)], &[]))
                .await,
            "create",
        );
    }
    ok(
        api.create(&cm, other.ns(), &configmap("a", &[("tier", "web")], &[]))
            .await,
        "create in the other namespace",
    );
    let mut held = configmap("held", &[("tier", "web")], &[]);
    held.metadata.finalizers = Some(vec!["primehub.io/conformance".into()]);
    ok(
        api.create(&cm, ns.ns(), &held).await,
        "create with a finalizer",
    );

    let web = ListOptions {
        label_selector: Some("tier=web".into()),
        ..ListOptions::default()
    };
    let deleted = ok(
        api.delete_collection(&cm, ns.ns(), &web, &DeleteOptions::default())
            .await,
        "delete_collection tier=web",
    );
    let mut deleted_names = names(&deleted);
    deleted_names.sort();
    assert_eq!(
        deleted_names,
        ["a", "b", "held"],
        "conformance: delete_collection must return the objects it deleted"
    );
    assert!(
        deleted
            .iter()
            .all(|o| o.metadata.deletion_timestamp.is_none()),
        "conformance: delete_collection returns the objects as they were listed before the deletion"
    );
    let marked = ok(api.get(&cm, ns.ns(), "held").await, "get the held object");
    assert!(
        marked.metadata.deletion_timestamp.is_some(),
        "conformance: delete_collection marks an object a finalizer keeps with a deletionTimestamp"
    );
    let left = ok(
        api.list(&cm, ns.ns(), &ListOptions::default()).await,
        "list after delete_collection",
    );
    let mut left_names: Vec<String> = names(&left.items)
        .into_iter()
        .filter(|n| n != "kube-root-ca.crt")
        .collect();
    left_names.sort();
    assert_eq!(
        left_names,
        ["c", "held"],
        "conformance: delete_collection must delete only what the selector selects (a finalizer keeps `held`)"
    );
    ok(
        api.get(&cm, other.ns(), "a").await,
        "the other namespace's object must stay",
    );
    let none = ok(
        api.delete_collection(
            &cm,
            ns.ns(),
            &ListOptions {
                label_selector: Some("tier=cache".into()),
                ..ListOptions::default()
            },
            &DeleteOptions::default(),
        )
        .await,
        "delete_collection matching nothing",
    );
    assert!(
        none.is_empty(),
        "conformance: a delete_collection matching nothing returns nothing"
    );
    expect_err(
        api.delete_collection(&cm, None, &web, &DeleteOptions::default())
            .await,
        "delete_collection of a namespaced kind without a namespace",
        "BadRequest (400)",
        |e| matches!(e, KubeError::BadRequest { .. }),
    );
    ok(
        api.patch(
            &cm,
            ns.ns(),
            "held",
            &merge(json!({"metadata": {"finalizers": null}})),
            Subresource::Main,
        )
        .await,
        "removing the finalizer",
    );
    ns.delete(api).await;
    other.delete(api).await;
}

// ---------------------------------------------------------------------------------------------
// Pod logs
// ---------------------------------------------------------------------------------------------

/// Pod log reads on a pod no kubelet runs, as kube-apiserver v1.37 answers them (the test API
/// server has no nodes and no kubelet, so these are the answers both tiers can give; reading
/// lines a container wrote is a fake-only check, `tests/it/fake_logs.rs`, because no kubelet
/// writes any here):
///
/// - invalid options are `Invalid` with the field causes (`tailLines` negative, `sinceSeconds`
///   below 1, both `since*`), checked before the pod is looked up;
/// - a missing pod is `NotFound`;
/// - an unknown container is `BadRequest` (`container x is not valid for pod p`), and so is
///   leaving the container out when the pod has several (`… choose one of: [init a b]`);
/// - a pod not scheduled to a node has an empty log (HTTP 204), with or without `follow`;
/// - a pod bound to a node that does not exist is `NotFound`.
pub async fn pod_logs_without_a_kubelet(api: &dyn KubeApi) {
    let ns = TestNamespace::create(api).await;
    let ns_name = ns.name.clone();
    let kind = pods();
    ok(api.create(&kind, ns.ns(), &pod("one")).await, "create pod");
    let two = object(json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "two"},
        "spec": {
            "initContainers": [{"name": "init", "image": "busybox:1.36"}],
            "containers": [
                {"name": "a", "image": "busybox:1.36"},
                {"name": "b", "image": "busybox:1.36"},
            ],
        },
    }));
    ok(
        api.create(&kind, ns.ns(), &two).await,
        "create a two-container pod",
    );
    let placed = object(json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "placed"},
        "spec": {
            "nodeName": "conformance-no-such-node",
            "containers": [{"name": "main", "image": "busybox:1.36"}],
        },
    }));
    ok(
        api.create(&kind, ns.ns(), &placed).await,
        "create a pod bound to a node",
    );

    for (options, field) in [
        (
            LogOptions {
                tail_lines: Some(-1),
                ..LogOptions::default()
            },
            "tailLines",
        ),
        (
            LogOptions {
                since_seconds: Some(0),
                ..LogOptions::default()
            },
            "sinceSeconds",
        ),
        (
            LogOptions {
                since_seconds: Some(5),
                since_time: Some(jiff::Timestamp::UNIX_EPOCH),
                ..LogOptions::default()
            },
            "[]",
        ),
    ] {
        expect_err(
            api.logs(&ns_name, "missing", &options).await.map(drop),
            &format!("log options with an invalid {field}"),
            &format!("Invalid (422) with a cause on {field}"),
            |e| {
                matches!(e, KubeError::Invalid { causes, .. }
                    if causes.iter().any(|c| c.field == field))
            },
        );
    }
    expect_not_found(
        api.logs(&ns_name, "missing", &LogOptions::default())
            .await
            .map(drop),
        "the log of a missing pod",
    );
    let unknown = LogOptions {
        container: Some("nope".into()),
        ..LogOptions::default()
    };
    expect_err(
        api.logs(&ns_name, "one", &unknown).await.map(drop),
        "the log of an unknown container",
        "BadRequest `container nope is not valid for pod one`",
        |e| matches!(e, KubeError::BadRequest { message } if message.contains("container nope is not valid for pod one")),
    );
    expect_err(
        api.logs(&ns_name, "two", &LogOptions::default())
            .await
            .map(drop),
        "the log of a two-container pod without a container",
        "BadRequest naming the choices [init a b]",
        |e| matches!(e, KubeError::BadRequest { message } if message.contains("a container name must be specified for pod two, choose one of: [init a b]")),
    );
    for follow in [false, true] {
        let options = LogOptions {
            follow,
            ..LogOptions::default()
        };
        let text = ok(
            api.logs_string(&ns_name, "one", &options).await,
            "the log of an unscheduled pod",
        );
        assert_eq!(
            text, "",
            "conformance: an unscheduled pod has an empty log (follow: {follow})"
        );
    }
    let init = LogOptions {
        container: Some("init".into()),
        ..LogOptions::default()
    };
    ok(
        api.logs_string(&ns_name, "two", &init).await,
        "the log of a named init container",
    );
    expect_not_found(
        api.logs(&ns_name, "placed", &LogOptions::default())
            .await
            .map(drop),
        "the log of a pod bound to a missing node",
    );
    ns.delete(api).await;
}

// ---------------------------------------------------------------------------------------------
// Over HTTP (a `kube::Client`): what `KubeApi` does not expose.
// ---------------------------------------------------------------------------------------------

/// `?dryRun=All` on create, update, every patch type, delete and deletecollection: answered as
/// the write would be (a dry-run create has a generated name, a uid and a creationTimestamp but
/// no resourceVersion; an update keeps the old resourceVersion) while nothing is stored and no
/// watch event is sent; an unknown dryRun value is refused with 422. Needs a `kube::Client`
/// (for the fake: [`FakeCluster::client`](crate::fake::FakeCluster::client) or one over its
/// HTTP face), as [`KubeApi`] has no dry runs.
pub async fn dry_runs(client: &kube::Client) {
    use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchParams};

    let ns_name = unique("conf");
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = match serde_json::from_value(json!({"metadata": {"name": ns_name}})) {
        Ok(ns) => ns,
        Err(e) => panic!("conformance: building a namespace: {e}"),
    };
    if let Err(e) = namespaces.create(&PostParams::default(), &ns).await {
        panic!("conformance: creating the check's namespace: {e}");
    }
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), &ns_name);
    let kept: ConfigMap = match serde_json::from_value(json!({
        "metadata": {"name": "kept", "labels": {"dry": "run"}},
        "data": {"a": "1"},
    })) {
        Ok(cm) => cm,
        Err(e) => panic!("conformance: building a ConfigMap: {e}"),
    };
    let before = match maps.create(&PostParams::default(), &kept).await {
        Ok(cm) => cm,
        Err(e) => panic!("conformance: create: {e}"),
    };
    let rv = before.metadata.resource_version.clone().unwrap_or_default();
    let mut events = match maps.watch(&WatchParams::default().timeout(2), &rv).await {
        Ok(w) => w.boxed(),
        Err(e) => panic!("conformance: watch: {e}"),
    };
    let dry_post = PostParams {
        dry_run: true,
        ..PostParams::default()
    };

    let generated: ConfigMap = match serde_json::from_value(json!({
        "metadata": {"generateName": "dry-"},
        "data": {"a": "1"},
    })) {
        Ok(cm) => cm,
        Err(e) => panic!("conformance: building a ConfigMap: {e}"),
    };
    let created = match maps.create(&dry_post, &generated).await {
        Ok(cm) => cm,
        Err(e) => panic!("conformance: dry-run create: expected success, got {e}"),
    };
    let name = created.metadata.name.clone().unwrap_or_default();
    assert!(
        name.starts_with("dry-") && name.len() == "dry-".len() + 5,
        "conformance: a dry-run create must generate the name, got {name:?}"
    );
    assert!(
        created.metadata.uid.is_some() && created.metadata.creation_timestamp.is_some(),
        "conformance: a dry-run create answers with a uid and a creationTimestamp"
    );
    assert_eq!(
        created.metadata.resource_version, None,
        "conformance: a dry-run create answers without a resourceVersion"
    );
    assert!(
        matches!(maps.get(&name).await, Err(kube::Error::Api(s)) if s.code == 404),
        "conformance: a dry-run create must store nothing"
    );

    let mut changed = before.clone();
    changed.data = Some(BTreeMap::from([("a".to_owned(), "2".to_owned())]));
    let replaced = match maps.replace("kept", &dry_post, &changed).await {
        Ok(cm) => cm,
        Err(e) => panic!("conformance: dry-run update: expected success, got {e}"),
    };
    assert_eq!(
        replaced
            .data
            .as_ref()
            .and_then(|d| d.get("a"))
            .map(String::as_str),
        Some("2"),
        "conformance: a dry-run update answers with the new content"
    );
    assert_eq!(
        replaced.metadata.resource_version.as_deref(),
        Some(rv.as_str()),
        "conformance: a dry-run update answers with the old resourceVersion"
    );
    let dry_patch = PatchParams {
        dry_run: true,
        ..PatchParams::default()
    };
    let json_ops: json_patch::Patch =
        match serde_json::from_value(json!([{"op": "replace", "path": "/data/a", "value": "3"}])) {
            Ok(p) => p,
            Err(e) => panic!("conformance: building a JSON patch: {e}"),
        };
    let patches: [(&str, Patch<Value>); 3] = [
        ("merge", Patch::Merge(json!({"data": {"a": "3"}}))),
        ("strategic", Patch::Strategic(json!({"data": {"a": "3"}}))),
        ("json", Patch::Json(json_ops)),
    ];
    for (what, patch) in &patches {
        let patched = match maps.patch("kept", &dry_patch, patch).await {
            Ok(cm) => cm,
            Err(e) => panic!("conformance: dry-run {what} patch: expected success, got {e}"),
        };
        assert_eq!(
            patched
                .data
                .as_ref()
                .and_then(|d| d.get("a"))
                .map(String::as_str),
            Some("3"),
            "conformance: a dry-run {what} patch answers with the patched content"
        );
        assert_eq!(
            patched.metadata.resource_version.as_deref(),
            Some(rv.as_str()),
            "conformance: a dry-run {what} patch keeps the resourceVersion"
        );
    }

    let dry_delete = DeleteParams {
        dry_run: true,
        ..DeleteParams::default()
    };
    if let Err(e) = maps.delete("kept", &dry_delete).await {
        panic!("conformance: dry-run delete: expected success, got {e}");
    }
    match maps
        .delete_collection(&dry_delete, &ListParams::default().labels("dry=run"))
        .await
    {
        Ok(either) => {
            let listed = either.left().map(|l| l.items.len());
            assert_eq!(
                listed,
                Some(1),
                "conformance: a dry-run deletecollection answers with the list it would delete"
            );
        }
        Err(e) => panic!("conformance: dry-run deletecollection: expected success, got {e}"),
    }
    match maps.get("kept").await {
        Ok(now) => {
            assert_eq!(
                now.data, before.data,
                "conformance: dry runs must not change the object"
            );
            assert_eq!(
                now.metadata.resource_version.as_deref(),
                Some(rv.as_str()),
                "conformance: dry runs must not bump the resourceVersion"
            );
        }
        Err(e) => panic!("conformance: a dry-run delete must delete nothing: {e}"),
    }
    while let Some(event) = events.next().await {
        match event {
            Ok(kube::api::WatchEvent::Bookmark(_)) => {}
            Ok(kube::api::WatchEvent::Error(e)) if e.code == 410 => {}
            other => panic!("conformance: a dry run must send no watch event, got {other:?}"),
        }
    }

    // An unknown value is refused (422) naming the options kind.
    let request = match axum::http::Request::post(format!(
        "/api/v1/namespaces/{ns_name}/configmaps?dryRun=Bogus"
    ))
    .header("Content-Type", "application/json")
    .body(
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bogus"}})
            .to_string()
            .into_bytes(),
    ) {
        Ok(r) => r,
        Err(e) => panic!("conformance: building a request: {e}"),
    };
    match client.request_text(request).await {
        Err(kube::Error::Api(status)) => {
            assert_eq!(
                (status.code, status.message.as_str()),
                (
                    422,
                    "CreateOptions.meta.k8s.io \"\" is invalid: dryRun: Unsupported value: [\"Bogus\"]: supported values: \"All\""
                ),
                "conformance: an unknown dryRun value is refused as kube-apiserver refuses it"
            );
        }
        other => panic!("conformance: dryRun=Bogus: expected 422, got {other:?}"),
    }
    let _ = namespaces.delete(&ns_name, &DeleteParams::default()).await;
}

// Custom resource schemas, kind and apiVersion

/// Fields a custom resource's CRD schema does not know are dropped (pruned) on create, on
/// update and on status writes; known fields are kept.
pub async fn custom_resources_are_pruned(api: &dyn KubeApi) {
    let ns = TestNamespace::create(api).await;
    let kind = phjobs();
    let mut job = phjob("pruned");
    job.data["spec"]["bogus"] = json!({"deep": 1});
    job.data["extra"] = json!("top-level");
    let created = ok(
        api.create(&kind, ns.ns(), &job).await,
        "create with unknown fields",
    );
    assert_eq!(
        pointer(&created, "/spec/bogus"),
        None,
        "conformance: an unknown spec field of a custom resource must be pruned"
    );
    assert_eq!(
        pointer(&created, "/extra"),
        None,
        "conformance: an unknown top-level field of a custom resource must be pruned"
    );
    assert_eq!(
        pointer(&created, "/spec/command"),
        Some(&json!("echo hello")),
        "conformance: known fields must be kept"
    );
    let patched = ok(
        api.patch(
            &kind,
            ns.ns(),
            "pruned",
            &merge(json!({"spec": {"also": "unknown", "displayName": "renamed"}})),
            Subresource::Main,
        )
        .await,
        "merge patch adding an unknown field",
    );
    assert_eq!(
        pointer(&patched, "/spec/also"),
        None,
        "conformance: a patch's unknown field must be pruned"
    );
    assert_eq!(
        pointer(&patched, "/spec/displayName"),
        Some(&json!("renamed"))
    );
    let status = ok(
        api.patch(
            &kind,
            ns.ns(),
            "pruned",
            &merge(json!({"status": {"phase": "Running", "bogus": true}})),
            Subresource::Status,
        )
        .await,
        "status patch with an unknown field",
    );
    assert_eq!(pointer(&status, "/status/phase"), Some(&json!("Running")));
    assert_eq!(
        pointer(&status, "/status/bogus"),
        None,
        "conformance: a status write's unknown field must be pruned"
    );
    ns.delete(api).await;
}

#[track_caller]
fn expect_invalid_causes<T: Debug>(result: Result<T>, what: &str, want: &[(&str, &str, &str)]) {
    match result {
        Err(KubeError::Invalid { causes, message }) => {
            for (field, reason, text) in want {
                assert!(
                    causes
                        .iter()
                        .any(|c| c.field == *field && c.reason == *reason && c.message == *text),
                    "conformance: {what}: expected a cause {field} {reason} {text:?}, got {causes:?} ({message})"
                );
            }
            assert_eq!(
                causes.len(),
                want.len(),
                "conformance: {what}: expected exactly the causes {want:?}, got {causes:?}"
            );
        }
        other => panic!("conformance: {what}: expected Invalid (422), got {other:?}"),
    }
}

/// A custom resource that breaks its CRD's schema is Invalid (422) with one cause per broken
/// rule, in kube-apiserver's words (required fields, types), on create and on patch.
pub async fn custom_resources_are_validated_against_their_schema(api: &dyn KubeApi) {
    let ns = TestNamespace::create(api).await;
    let kind = phjobs();
    let mut job = phjob("invalid");
    if let Some(spec) = job.data["spec"].as_object_mut() {
        spec.remove("userId");
        spec.insert("requeueLimit".into(), json!("three"));
        spec.insert("cancel".into(), json!("yes"));
    }
    expect_invalid_causes(
        api.create(&kind, ns.ns(), &job).await,
        "create a PhJob without userId and with mistyped fields",
        &[
            ("spec.userId", "FieldValueRequired", "Required value"),
            (
                "spec.requeueLimit",
                "FieldValueTypeInvalid",
                "Invalid value: \"string\": spec.requeueLimit in body must be of type integer: \"string\"",
            ),
            (
                "spec.cancel",
                "FieldValueTypeInvalid",
                "Invalid value: \"string\": spec.cancel in body must be of type boolean: \"string\"",
            ),
        ],
    );
    ok(
        api.create(&kind, ns.ns(), &phjob("valid")).await,
        "create a valid PhJob",
    );
    expect_invalid_causes(
        api.patch(
            &kind,
            ns.ns(),
            "valid",
            &merge(json!({"spec": {"command": 42}})),
            Subresource::Main,
        )
        .await,
        "patch spec.command to a number",
        &[(
            "spec.command",
            "FieldValueTypeInvalid",
            "Invalid value: \"integer\": spec.command in body must be of type string: \"integer\"",
        )],
    );
    let after = ok(
        api.get(&kind, ns.ns(), "valid").await,
        "get after the refused patch",
    );
    assert_eq!(
        pointer(&after, "/spec/command"),
        Some(&json!("echo hello")),
        "conformance: a refused patch must not be stored"
    );
    ns.delete(api).await;
}

/// The body's `kind` and `apiVersion` must be the path's: a ConfigMap body named `Secret` is a
/// 400, a custom resource with another kind a 422 on `kind`, with another apiVersion a 400.
pub async fn kind_and_api_version_must_match_the_path(api: &dyn KubeApi) {
    let ns = TestNamespace::create(api).await;
    let mut secret = configmap("as-secret", &[], &[]);
    secret.types = Some(kube::core::TypeMeta {
        api_version: "v1".into(),
        kind: "Secret".into(),
    });
    expect_err(
        api.create(&configmaps(), ns.ns(), &secret).await,
        "create a ConfigMap whose body says kind Secret",
        "BadRequest (400) naming the conversion",
        |e| matches!(e, KubeError::BadRequest { message } if message == "Secret in version \"v1\" cannot be handled as a ConfigMap: converting (v1.Secret) to (core.ConfigMap): unknown conversion"),
    );
    let mut other = phjob("other-kind");
    other.types = Some(kube::core::TypeMeta {
        api_version: "primehub.io/v1alpha1".into(),
        kind: "Other".into(),
    });
    expect_invalid_causes(
        api.create(&phjobs(), ns.ns(), &other).await,
        "create a PhJob whose body says kind Other",
        &[(
            "kind",
            "FieldValueInvalid",
            "Invalid value: \"Other\": must be PhJob",
        )],
    );
    let mut v2 = phjob("other-version");
    v2.types = Some(kube::core::TypeMeta {
        api_version: "primehub.io/v2".into(),
        kind: "PhJob".into(),
    });
    expect_err(
        api.create(&phjobs(), ns.ns(), &v2).await,
        "create a PhJob whose body says apiVersion primehub.io/v2",
        "BadRequest (400) naming both versions",
        |e| matches!(e, KubeError::BadRequest { message } if message == "the API version in the data (primehub.io/v2) does not match the expected API version (primehub.io/v1alpha1)"),
    );
    ns.delete(api).await;
}
