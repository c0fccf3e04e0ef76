//! Conformance checks for the kinds PrimeHub's later work writes — core and `events.k8s.io`
//! Events, PersistentVolumes, ServiceAccounts, Roles and RoleBindings — and for kube-runtime's
//! event `Recorder`, its `finalizer` helper and kube's `Discovery` (feature `conformance`).
//!
//! Each check takes a `kube::Client` (the fake's in-process `FakeCluster::client()`, or one
//! for a real API server),
//! works in its own fresh namespace (deleted at the end; it stays `Terminating` on an API
//! server without the namespace controller), and **panics** naming the broken rule. The tests
//! run them against the fake and against the real kube-apiserver of `tools/kube-apiserver`.
//!
//! ```no_run
//! # async fn demo(client: kube::Client) {
//! primehub_reconcile::conformance_kinds::run_all(&client).await;
//! # }
//! ```

use std::fmt::Debug;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Event as CoreEvent, Namespace, PersistentVolume, ServiceAccount};
use k8s_openapi::api::events::v1::Event as EventsV1Event;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::{Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Runs every check, in order.
pub async fn run_all(client: &Client) {
    discovery_lists_the_kinds(client).await;
    namespaced_kinds_round_trip(client).await;
    persistent_volumes_have_a_status_subresource(client).await;
    event_recorder_publishes_events(client).await;
    events_are_one_collection_seen_through_both_apis(client).await;
    finalizer_helper_round_trip(client).await;
    deployments_scale_through_the_scale_subresource(client).await;
}

/// A unique name with `prefix`.
fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

fn decode<K: DeserializeOwned>(value: Value) -> K {
    match serde_json::from_value(value) {
        Ok(k) => k,
        Err(e) => panic!("conformance: a test object does not decode: {e}"),
    }
}

fn ok<T, E: Debug>(result: Result<T, E>, what: &str) -> T {
    match result {
        Ok(t) => t,
        Err(e) => panic!("conformance: {what} failed: {e:?}"),
    }
}

/// A fresh namespace, deleted when dropped through [`TestNamespace::delete`].
struct TestNamespace {
    client: Client,
    name: String,
}

impl TestNamespace {
    async fn new(client: &Client, prefix: &str) -> TestNamespace {
        let name = unique(prefix);
        let api: Api<Namespace> = Api::all(client.clone());
        ok(
            api.create(
                &PostParams::default(),
                &decode(json!({"metadata": {"name": name}})),
            )
            .await,
            "creating the test namespace",
        );
        TestNamespace {
            client: client.clone(),
            name,
        }
    }

    fn api<K>(&self) -> Api<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    {
        Api::namespaced(self.client.clone(), &self.name)
    }

    async fn delete(self) {
        let api: Api<Namespace> = Api::all(self.client.clone());
        let _ = api.delete(&self.name, &DeleteParams::default()).await;
    }
}

/// kube's `Discovery` finds every kind (so `kubectl` and dynamic clients see them).
pub async fn discovery_lists_the_kinds(client: &Client) {
    let discovery = ok(
        kube::Discovery::new(client.clone()).run().await,
        "discovery",
    );
    let mut found = Vec::new();
    for group in discovery.groups() {
        for (resource, _) in group.recommended_resources() {
            found.push(format!("{}/{}", resource.api_version, resource.plural));
        }
    }
    for expected in [
        "v1/events",
        "events.k8s.io/v1/events",
        "v1/persistentvolumes",
        "v1/serviceaccounts",
        "rbac.authorization.k8s.io/v1/roles",
        "rbac.authorization.k8s.io/v1/rolebindings",
    ] {
        assert!(
            found.iter().any(|f| f == expected),
            "conformance: discovery must list {expected}"
        );
    }
}

async fn round_trip<K>(api: &Api<K>, object: Value, what: &str)
where
    K: Resource + Clone + Debug + Serialize + DeserializeOwned,
{
    let object: K = decode(object);
    let name = object.meta().name.clone().unwrap_or_default();
    let created = ok(
        api.create(&PostParams::default(), &object).await,
        &format!("creating a {what}"),
    );
    assert!(
        created.meta().uid.is_some() && created.meta().resource_version.is_some(),
        "conformance: a created {what} has a uid and a resourceVersion"
    );
    let read = ok(api.get(&name).await, &format!("reading the {what}"));
    assert_eq!(
        read.meta().uid,
        created.meta().uid,
        "conformance: a {what} reads back as created"
    );
    let listed = ok(
        api.list(&Default::default()).await,
        &format!("listing {what}s"),
    );
    assert!(
        listed
            .items
            .iter()
            .any(|i| i.meta().name.as_deref() == Some(name.as_str())),
        "conformance: the {what} is listed"
    );
    match api.create(&PostParams::default(), &object).await {
        Err(kube::Error::Api(status)) => assert_eq!(
            status.code, 409,
            "conformance: creating a {what} twice is AlreadyExists"
        ),
        other => panic!("conformance: creating a {what} twice must fail with 409, got {other:?}"),
    }
    ok(
        api.delete(&name, &DeleteParams::default()).await,
        &format!("deleting the {what}"),
    );
    match api.get(&name).await {
        Err(kube::Error::Api(status)) => {
            assert_eq!(
                status.code, 404,
                "conformance: a deleted {what} is not found"
            )
        }
        other => panic!("conformance: a deleted {what} must be 404, got {other:?}"),
    }
}

/// ServiceAccounts, Roles, RoleBindings and core `v1` Events: create, read, list, duplicate
/// create (409), delete, read (404).
pub async fn namespaced_kinds_round_trip(client: &Client) {
    let ns = TestNamespace::new(client, "conf-kinds").await;
    let namespace = ns.name.clone();
    round_trip(
        &ns.api::<ServiceAccount>(),
        json!({"metadata": {"name": "jupyter"}}),
        "ServiceAccount",
    )
    .await;
    round_trip(
        &ns.api::<Role>(),
        json!({
            "metadata": {"name": "job-reader"},
            "rules": [{"apiGroups": ["primehub.io"], "resources": ["phjobs"], "verbs": ["get", "list", "watch"]}],
        }),
        "Role",
    )
    .await;
    round_trip(
        &ns.api::<RoleBinding>(),
        json!({
            "metadata": {"name": "job-reader"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "job-reader"},
            "subjects": [{"kind": "ServiceAccount", "name": "jupyter", "namespace": namespace}],
        }),
        "RoleBinding",
    )
    .await;
    round_trip(
        &ns.api::<CoreEvent>(),
        json!({
            "metadata": {"name": "job-1.1"},
            "involvedObject": {"apiVersion": "primehub.io/v1alpha1", "kind": "PhJob", "name": "job-1", "namespace": namespace},
            "reason": "Started",
            "message": "the job started",
            "type": "Normal",
            "source": {"component": "primehub-controller"},
        }),
        "core v1 Event",
    )
    .await;
    ns.delete().await;
}

/// PersistentVolumes are cluster-scoped, start in phase `Pending`, and have a status
/// subresource: a status write changes the status, a main write keeps it.
pub async fn persistent_volumes_have_a_status_subresource(client: &Client) {
    let api: Api<PersistentVolume> = Api::all(client.clone());
    let name = unique("conf-pv");
    let pv: PersistentVolume = decode(json!({
        "metadata": {"name": name},
        "spec": {
            "capacity": {"storage": "1Gi"},
            "accessModes": ["ReadWriteOnce"],
            "hostPath": {"path": "/tmp/primehub-conformance"},
            "storageClassName": "manual",
        },
    }));
    let created = ok(
        api.create(&PostParams::default(), &pv).await,
        "creating a PersistentVolume",
    );
    assert!(
        created.metadata.namespace.is_none(),
        "conformance: a PersistentVolume is cluster-scoped"
    );
    assert_eq!(
        created.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Pending"),
        "conformance: a new PersistentVolume is Pending"
    );
    let bound = ok(
        api.patch_status(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Available"}})),
        )
        .await,
        "a status patch of a PersistentVolume",
    );
    assert_eq!(
        bound.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Available"),
        "conformance: a status write changes the status"
    );
    let labelled = ok(
        api.patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(
                json!({"metadata": {"labels": {"tier": "fast"}}, "status": {"phase": "Failed"}}),
            ),
        )
        .await,
        "a main patch of a PersistentVolume",
    );
    assert_eq!(
        labelled.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Available"),
        "conformance: a main write keeps the status"
    );
    assert_eq!(
        created.metadata.finalizers.as_deref(),
        Some(&["kubernetes.io/pv-protection".to_owned()][..]),
        "conformance: admission (StorageObjectInUseProtection) protects a new PersistentVolume"
    );
    ok(
        api.delete(&name, &DeleteParams::default()).await,
        "deleting the PersistentVolume",
    );
    // The pv-protection controller (the fake plays it; a bare API server has none) removes the
    // finalizer of a volume no claim is bound to. Where it is absent, the test does.
    if let Some(left) = ok(
        api.get_opt(&name).await,
        "reading the deleted PersistentVolume",
    ) {
        assert!(
            left.metadata.deletion_timestamp.is_some(),
            "conformance: a deleted PersistentVolume held by its finalizer is terminating"
        );
        ok(
            api.patch(
                &name,
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"finalizers": null}})),
            )
            .await,
            "releasing the PersistentVolume",
        );
    }
    assert!(
        ok(api.get_opt(&name).await, "reading the PersistentVolume").is_none(),
        "conformance: a released PersistentVolume is gone"
    );
}

/// kube-runtime's `Recorder` writes `events.k8s.io/v1` Events about an object; publishing the
/// same event again makes a series (count 2) on the same Event.
pub async fn event_recorder_publishes_events(client: &Client) {
    let ns = TestNamespace::new(client, "conf-events").await;
    let maps = ns.api::<k8s_openapi::api::core::v1::ConfigMap>();
    let map = ok(
        maps.create(
            &PostParams::default(),
            &decode(json!({"metadata": {"name": "subject"}})),
        )
        .await,
        "creating the event's subject",
    );
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: "primehub-conformance".into(),
            instance: Some("conformance-0".into()),
        },
    );
    let event = Event {
        type_: EventType::Normal,
        reason: "Checked".into(),
        note: Some("conformance".into()),
        action: "Check".into(),
        secondary: None,
    };
    let reference = map.object_ref(&());
    ok(
        recorder.publish(&event, &reference).await,
        "publishing an event",
    );
    ok(
        recorder.publish(&event, &reference).await,
        "publishing the event again",
    );
    let events = ns.api::<EventsV1Event>();
    let list = ok(events.list(&Default::default()).await, "listing events");
    let ours: Vec<&EventsV1Event> = list
        .items
        .iter()
        .filter(|e| e.reporting_controller.as_deref() == Some("primehub-conformance"))
        .collect();
    assert_eq!(ours.len(), 1, "conformance: one Event for a series");
    let stored = ours[0];
    assert_eq!(stored.reason.as_deref(), Some("Checked"));
    assert_eq!(stored.type_.as_deref(), Some("Normal"));
    assert_eq!(
        stored.regarding.as_ref().and_then(|r| r.uid.clone()),
        map.metadata.uid,
        "conformance: the event regards the object"
    );
    assert_eq!(
        stored.series.as_ref().map(|s| s.count),
        Some(2),
        "conformance: the second publish counts the series"
    );
    ns.delete().await;
}

/// Core `v1` Events and `events.k8s.io/v1` Events are one collection: an Event written through
/// either API is read through the other with the same uid and resourceVersion, its fields
/// converted (`regarding` ↔ `involvedObject`, `note` ↔ `message`, `reportingController` ↔
/// `reportingComponent`, `deprecatedCount` ↔ `count`).
pub async fn events_are_one_collection_seen_through_both_apis(client: &Client) {
    let ns = TestNamespace::new(client, "conf-events2").await;
    let namespace = ns.name.clone();
    let core = ns.api::<CoreEvent>();
    let events = ns.api::<EventsV1Event>();

    let written = ok(
        core.create(
            &PostParams::default(),
            &decode(json!({
                "metadata": {"name": "job-1.a"},
                "involvedObject": {"apiVersion": "primehub.io/v1alpha1", "kind": "PhJob", "name": "job-1", "namespace": namespace},
                "reason": "Started",
                "message": "the job started",
                "type": "Normal",
                "count": 3,
                "source": {"component": "primehub-controller"},
                "reportingComponent": "primehub-controller",
            })),
        )
        .await,
        "creating a core v1 Event",
    );
    let seen = ok(
        events.get("job-1.a").await,
        "reading a core v1 Event through events.k8s.io/v1",
    );
    assert_eq!(
        seen.metadata.uid, written.metadata.uid,
        "conformance: one Event, one uid"
    );
    assert_eq!(
        seen.metadata.resource_version, written.metadata.resource_version,
        "conformance: one Event, one resourceVersion"
    );
    assert_eq!(seen.note.as_deref(), Some("the job started"));
    assert_eq!(
        seen.regarding.as_ref().and_then(|r| r.name.as_deref()),
        Some("job-1")
    );
    assert_eq!(seen.deprecated_count, Some(3));
    assert_eq!(
        seen.reporting_controller.as_deref(),
        Some("primehub-controller")
    );

    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: "primehub-conformance".into(),
            instance: Some("conformance-0".into()),
        },
    );
    let subject = ns.api::<k8s_openapi::api::core::v1::ConfigMap>();
    let map = ok(
        subject
            .create(
                &PostParams::default(),
                &decode(json!({"metadata": {"name": "subject"}})),
            )
            .await,
        "creating the event's subject",
    );
    let event = Event {
        type_: EventType::Warning,
        reason: "Odd".into(),
        note: Some("looked odd".into()),
        action: "Check".into(),
        secondary: None,
    };
    ok(
        recorder.publish(&event, &map.object_ref(&())).await,
        "publishing an event",
    );
    let listed = ok(core.list(&Default::default()).await, "listing core Events");
    let recorded = listed
        .items
        .iter()
        .find(|e| e.reason.as_deref() == Some("Odd"))
        .unwrap_or_else(|| {
            panic!("conformance: an events.k8s.io/v1 Event is listed through core v1")
        });
    assert_eq!(recorded.message.as_deref(), Some("looked odd"));
    assert_eq!(recorded.type_.as_deref(), Some("Warning"));
    assert_eq!(recorded.involved_object.uid, map.metadata.uid);
    assert_eq!(
        recorded.reporting_component.as_deref(),
        Some("primehub-conformance")
    );
    ns.delete().await;
}

/// kube-runtime's `finalizer` helper: it adds its finalizer with a JSON patch that first tests
/// `/metadata/finalizers` for `null` on an object without finalizers (which the API server
/// passes for a missing member), runs the cleanup once the object is being deleted, and the
/// object goes when the helper removes the last finalizer. Works on a bare API server: no
/// controller is involved in finalizer handling.
pub async fn finalizer_helper_round_trip(client: &Client) {
    use kube::runtime::controller::Action;
    use kube::runtime::finalizer::{Event as Finalizer, finalizer};
    use std::sync::Arc;

    const NAME: &str = "primehub.io/conformance";
    let ns = TestNamespace::new(client, "conf-finalizer").await;
    let maps = ns.api::<k8s_openapi::api::core::v1::ConfigMap>();
    let created = ok(
        maps.create(
            &PostParams::default(),
            &decode(json!({"metadata": {"name": "guarded"}})),
        )
        .await,
        "creating the object",
    );
    let step = |object: k8s_openapi::api::core::v1::ConfigMap| {
        let maps = maps.clone();
        async move {
            let mut seen = None;
            let result = finalizer(&maps, NAME, Arc::new(object), |event| {
                seen = Some(match event {
                    Finalizer::Apply(_) => "apply",
                    Finalizer::Cleanup(_) => "cleanup",
                });
                async { Ok::<_, kube::Error>(Action::await_change()) }
            })
            .await;
            (result.map(|_| ()).map_err(|e| e.to_string()), seen)
        }
    };
    let (result, seen) = step(created).await;
    ok(result, "the finalizer helper adding its finalizer");
    assert_eq!(
        seen, None,
        "conformance: the first step only adds the finalizer"
    );
    let guarded = ok(maps.get("guarded").await, "reading the object");
    assert_eq!(
        guarded.metadata.finalizers.clone().unwrap_or_default(),
        [NAME],
        "conformance: the JSON patch (test null, add) added the finalizer"
    );
    let (result, seen) = step(guarded).await;
    ok(result, "the finalizer helper applying");
    assert_eq!(seen, Some("apply"));

    ok(
        maps.delete("guarded", &DeleteParams::default()).await,
        "deleting the object",
    );
    let deleting = ok(
        maps.get("guarded").await,
        "the object held by its finalizer",
    );
    assert!(
        deleting.metadata.deletion_timestamp.is_some(),
        "conformance: a finalizer holds a deleted object with a deletionTimestamp"
    );
    let (result, seen) = step(deleting).await;
    ok(result, "the finalizer helper cleaning up");
    assert_eq!(seen, Some("cleanup"));
    match maps.get("guarded").await {
        Err(kube::Error::Api(status)) => assert_eq!(
            status.code, 404,
            "conformance: the object goes with its last finalizer"
        ),
        other => panic!("conformance: the object must be gone, got {other:?}"),
    }
    ns.delete().await;
}

/// The `scale` subresource (what `kubectl scale` and autoscalers use): reading a Deployment's
/// Scale, patching and replacing it sets `spec.replicas`, negative replicas are refused.
pub async fn deployments_scale_through_the_scale_subresource(client: &Client) {
    let ns = TestNamespace::new(client, "conf-scale").await;
    let api = ns.api::<Deployment>();
    let deployment: Deployment = decode(json!({
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
            },
        },
    }));
    ok(
        api.create(&PostParams::default(), &deployment).await,
        "creating a Deployment",
    );
    let scale = ok(api.get_scale("web").await, "reading its Scale");
    assert_eq!(
        scale.spec.and_then(|s| s.replicas),
        Some(1),
        "conformance: a Scale shows the Deployment's replicas"
    );
    assert_eq!(
        scale.status.and_then(|s| s.selector).as_deref(),
        Some("app=web"),
        "conformance: a Scale's status.selector is the Deployment's selector as a string"
    );
    ok(
        api.patch_scale(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 3}})),
        )
        .await,
        "patching the Scale",
    );
    let read = ok(api.get("web").await, "reading the Deployment");
    assert_eq!(
        read.spec.replicas,
        Some(3),
        "conformance: patching the Scale sets the Deployment's spec.replicas"
    );
    match api
        .patch_scale(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": -1}})),
        )
        .await
    {
        Err(kube::Error::Api(e)) => {
            assert_eq!(e.code, 422, "conformance: negative replicas are Invalid");
            assert_eq!(
                e.message,
                "Scale.autoscaling \"web\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0"
            );
        }
        other => panic!("conformance: negative replicas must be refused, got {other:?}"),
    }
    ns.delete().await;
}
