//! The shapes of the access layer: `Typed<K>` owning its client and namespace, decorators
//! composed through the blanket `Arc`/`Box` impls, and the mockall mock for interaction
//! assertions (for behaviour, test against the fake instead).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::DynamicObject;
use primehub_reconcile::fake::FakeCluster;
use primehub_reconcile::{
    DeleteOptions, KubeApi, KubeError, ListOptions, LogOptions, LogStream, MockKubeApi, ObjectList,
    PatchBody, ResourceKind, Result, Subresource, Typed, WatchEvent, WatchStream,
};
use serde_json::json;

type TestResult = std::result::Result<(), Box<dyn std::error::Error>>;

fn config_map(
    name: &str,
    labels: &[(&str, &str)],
) -> std::result::Result<ConfigMap, serde_json::Error> {
    let labels: BTreeMap<&str, &str> = labels.iter().copied().collect();
    serde_json::from_value(
        json!({"metadata": {"name": name, "labels": labels}, "data": {"k": "v"}}),
    )
}

#[tokio::test]
async fn typed_gives_the_namespace_once_and_keeps_list_metadata() -> TestResult {
    let api: Arc<dyn KubeApi> = Arc::new(FakeCluster::new());
    let hub = Typed::<ConfigMap>::namespaced(Arc::clone(&api), "hub");
    let default = Typed::<ConfigMap>::namespaced(Arc::clone(&api), "default");
    let everywhere = Typed::<ConfigMap>::all(Arc::clone(&api));
    assert_eq!(hub.namespace(), Some("hub"));
    assert_eq!(everywhere.namespace(), None);

    let start = hub.list(&ListOptions::default()).await?.resource_version;
    let mut events = hub.watch(&ListOptions::default(), &start).await?;
    for name in ["a", "b", "c"] {
        hub.create(&config_map(name, &[("app", "x")])?).await?;
    }
    default.create(&config_map("d", &[])?).await?;

    let first = hub
        .list(&ListOptions {
            limit: Some(2),
            ..ListOptions::default()
        })
        .await?;
    let names: Vec<_> = first
        .items
        .iter()
        .filter_map(|c| c.metadata.name.clone())
        .collect();
    assert_eq!(names, ["a", "b"]);
    let token = first.continue_token.clone().ok_or("a continue token")?;
    assert!(!first.resource_version.is_empty());
    let second = hub
        .list(&ListOptions {
            limit: Some(2),
            continue_token: Some(token),
            ..ListOptions::default()
        })
        .await?;
    assert_eq!(second.items.len(), 1);
    assert_eq!(second.continue_token, None);
    assert_eq!(
        everywhere.list(&ListOptions::default()).await?.items.len(),
        4
    );

    // Typed watch events carry ConfigMaps, only of this namespace.
    let mut seen = Vec::new();
    while seen.len() < 3 {
        match events.next().await.ok_or("the watch ended")?? {
            WatchEvent::Added(cm) => seen.push(cm.metadata.name.unwrap_or_default()),
            other => return Err(format!("unexpected event {other:?}").into()),
        }
    }
    assert_eq!(seen, ["a", "b", "c"]);

    assert!(hub.get_opt("d").await?.is_none());
    assert!(default.get_opt("d").await?.is_some());
    // Single-object calls of a namespaced kind need a namespace.
    assert!(matches!(
        everywhere.get("a").await,
        Err(KubeError::BadRequest { .. })
    ));
    // Cluster-scoped kinds use `all`.
    let namespaces = Typed::<Namespace>::all(api);
    assert!(namespaces.get("hub").await.is_ok());
    Ok(())
}

/// A decorator: counts the calls that reach the wrapped client.
struct Counting<A> {
    inner: A,
    calls: Mutex<BTreeMap<String, usize>>,
}

impl<A> Counting<A> {
    fn new(inner: A) -> Self {
        Counting {
            inner,
            calls: Mutex::new(BTreeMap::new()),
        }
    }

    fn count(&self, call: &str) {
        if let Ok(mut calls) = self.calls.lock() {
            *calls.entry(call.to_owned()).or_default() += 1;
        }
    }

    fn calls(&self) -> BTreeMap<String, usize> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl<A: KubeApi> KubeApi for Counting<A> {
    async fn get<'a>(
        &self,
        kind: &ResourceKind,
        namespace: Option<&'a str>,
        name: &str,
    ) -> Result<DynamicObject> {
        self.count("get");
        self.inner.get(kind, namespace, name).await
    }

    async fn list<'a>(
        &self,
        kind: &ResourceKind,
        namespace: Option<&'a str>,
        options: &ListOptions,
    ) -> Result<ObjectList> {
        self.count("list");
        self.inner.list(kind, namespace, options).await
    }

    async fn create<'a>(
        &self,
        kind: &ResourceKind,
        namespace: Option<&'a str>,
        object: &DynamicObject,
    ) -> Result<DynamicObject> {
        self.count("create");
        self.inner.create(kind, namespace, object).await
    }

    async fn replace<'a>(
        &self,
        kind: &ResourceKind,
        namespace: Option<&'a str>,
        object: &DynamicObject,
        subresource: Subresource,
    ) -> Result<DynamicObject> {
        self.count(&format!("replace {subresource:?}"));
        self.inner
            .replace(kind, namespace, object, subresource)
            .await
    }

    async fn patch<'a>(
        &self,
        kind: &ResourceKind,
        namespace: Option<&'a str>,
        name: &str,
        patch: &PatchBody,
        subresource: Subresource,
    ) -> Result<DynamicObject> {
        self.count(&format!("patch {subresource:?}"));
        self.inner
            .patch(kind, namespace, name, patch, subresource)
            .await
    }

    async fn delete<'a>(
        &self,
        kind: &ResourceKind,
        namespace: Option<&'a str>,
        name: &str,
        options: &DeleteOptions,
    ) -> Result<()> {
        self.count("delete");
        self.inner.delete(kind, namespace, name, options).await
    }

    async fn delete_collection<'a>(
        &self,
        kind: &ResourceKind,
        namespace: Option<&'a str>,
        list: &ListOptions,
        options: &DeleteOptions,
    ) -> Result<Vec<DynamicObject>> {
        self.count("delete_collection");
        self.inner
            .delete_collection(kind, namespace, list, options)
            .await
    }

    async fn watch<'a>(
        &self,
        kind: &ResourceKind,
        namespace: Option<&'a str>,
        options: &ListOptions,
        resource_version: &str,
    ) -> Result<WatchStream> {
        self.count("watch");
        self.inner
            .watch(kind, namespace, options, resource_version)
            .await
    }

    async fn logs(&self, namespace: &str, pod: &str, options: &LogOptions) -> Result<LogStream> {
        self.count("logs");
        self.inner.logs(namespace, pod, options).await
    }
}

#[tokio::test]
async fn decorators_compose_over_arc_and_box() -> TestResult {
    let cluster = FakeCluster::new();
    // Counting over a Box<dyn KubeApi>, shared as an Arc<dyn KubeApi>: both blanket impls.
    let boxed: Box<dyn KubeApi> = Box::new(cluster.clone());
    let counting = Arc::new(Counting::new(boxed));
    let api: Arc<dyn KubeApi> = counting.clone();
    let maps = Typed::<ConfigMap>::namespaced(api, "hub");
    maps.create(&config_map("a", &[])?).await?;
    maps.get("a").await?;
    maps.patch("a", &PatchBody::Merge(json!({"data": {"k": "w"}})))
        .await?;
    maps.list(&ListOptions::default()).await?;
    maps.delete_collection(&ListOptions::default(), &DeleteOptions::default())
        .await?;
    // The provided status helpers reach the decorator's required method.
    let jobs_kind = ResourceKind::of::<primehub_model::crd::PhJob>();
    let status = PatchBody::Merge(json!({"status": {"phase": "Running"}}));
    let missing = counting
        .patch_status(&jobs_kind, Some("hub"), "nope", &status)
        .await;
    assert!(matches!(missing, Err(KubeError::NotFound { .. })));

    let expected: BTreeMap<String, usize> = [
        ("create", 1),
        ("get", 1),
        ("patch Main", 1),
        ("patch Status", 1),
        ("list", 1),
        ("delete_collection", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(counting.calls(), expected);
    // The decorator over an Arc of the concrete type works as well.
    let over_arc = Counting::new(Arc::new(cluster));
    assert!(
        over_arc
            .get(&ResourceKind::of::<Namespace>(), None, "hub")
            .await
            .is_ok()
    );
    assert_eq!(over_arc.calls().get("get"), Some(&1));
    Ok(())
}

/// The helper under test: makes sure a namespace has PrimeHub's config map — creating it when
/// missing, never deleting or replacing what is there.
async fn ensure_config(api: &dyn KubeApi, namespace: &str) -> Result<DynamicObject> {
    let kind = ResourceKind::of::<ConfigMap>();
    match api.get(&kind, Some(namespace), "primehub-config").await {
        Ok(existing) => Ok(existing),
        Err(KubeError::NotFound { .. }) => {
            let object: DynamicObject = serde_json::from_value(json!({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "primehub-config"},
                "data": {"version": "1"},
            }))
            .map_err(|e| KubeError::BadRequest {
                message: e.to_string(),
            })?;
            api.create(&kind, Some(namespace), &object).await
        }
        Err(e) => Err(e),
    }
}

#[tokio::test]
async fn mock_ensure_creates_exactly_once_and_never_deletes() -> TestResult {
    let mut api = MockKubeApi::new();
    api.expect_get()
        .withf(|kind, namespace, name| {
            kind.plural == "configmaps" && *namespace == Some("hub") && name == "primehub-config"
        })
        .times(1)
        .returning(|_, _, name| {
            Err(KubeError::NotFound {
                what: format!("configmaps {name:?}"),
            })
        });
    api.expect_create()
        .withf(|_, namespace, object| {
            *namespace == Some("hub") && object.metadata.name.as_deref() == Some("primehub-config")
        })
        .times(1)
        .returning(|_, _, object| Ok(object.clone()));
    api.expect_delete().never();
    api.expect_delete_collection().never();
    api.expect_replace().never();
    let created = ensure_config(&api, "hub").await?;
    assert_eq!(created.metadata.name.as_deref(), Some("primehub-config"));
    Ok(())
}

#[tokio::test]
async fn mock_ensure_leaves_an_existing_object_alone() -> TestResult {
    let mut api = MockKubeApi::new();
    api.expect_get().times(1).returning(|_, _, name| {
        serde_json::from_value(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}),
        )
        .map_err(|e| KubeError::BadRequest {
            message: e.to_string(),
        })
    });
    api.expect_create().never();
    api.expect_delete().never();
    ensure_config(&api, "hub").await?;
    Ok(())
}

#[tokio::test]
async fn mock_other_errors_stop_before_creating() {
    let mut api = MockKubeApi::new();
    api.expect_get().returning(|_, _, _| {
        Err(KubeError::Forbidden {
            message: "no".into(),
        })
    });
    api.expect_create().never();
    let err = ensure_config(&api, "hub").await.expect_err("fails");
    assert!(matches!(err, KubeError::Forbidden { .. }));
}
