//! The Dataset children controllers (git-sync DaemonSets, upload servers) on the fake cluster:
//! one step at a time through `reconcile_step` (writes counted, zero at steady state), and
//! running on kube-runtime (a Secret created later, a regenerated upload password).
//! Owner-reference garbage collection is checked here only: the real tier has no
//! controller-manager.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::{Secret, Service};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use primehub_model::crd::{Dataset, DatasetGitSync, DatasetSpec, DatasetType};
use primehub_model::dataset_children::gitsync::{self, GitSyncConfig};
use primehub_model::dataset_children::upload_server::UploadServerConfig;
use primehub_reconcile::fake::FakeCluster;
use primehub_reconcile::runtime::dataset_children::{
    ChildWrite, Children, ChildrenMetrics, DatasetChildren, GITSYNC_CONTROLLER, Step,
    UPLOAD_CONTROLLER,
};
use primehub_reconcile::runtime::{ControllerRuntime, Metrics};
use serde_json::json;

type TestResult = Result<(), Box<dyn std::error::Error>>;

async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    for _ in 0..6000 {
        if let Some(v) = check().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

fn git_dataset(name: &str, url: &str) -> Dataset {
    let mut spec = DatasetSpec::new(DatasetType::Git);
    spec.url = Some(url.to_owned());
    let mut d = Dataset::new(name, spec);
    d.metadata.annotations = Some(BTreeMap::from([(
        "primehub-gitsync".to_owned(),
        "true".to_owned(),
    )]));
    d
}

fn pv_dataset(name: &str, upload: bool) -> Dataset {
    let mut spec = DatasetSpec::new(DatasetType::Pv);
    spec.volume_name = Some(name.to_owned());
    let mut d = Dataset::new(name, spec);
    if upload {
        d.metadata.annotations = Some(BTreeMap::from([
            (
                "dataset.primehub.io/uploadServer".to_owned(),
                "true".to_owned(),
            ),
            (
                "dataset.primehub.io/uploadServerAuthSecretName".to_owned(),
                format!("dataset-{name}"),
            ),
        ]));
    }
    d
}

fn htpasswd_secret(name: &str, line: &str) -> Secret {
    let mut s = Secret::default();
    s.metadata.name = Some(name.to_owned());
    s.data = Some(BTreeMap::from([(
        "auth".to_owned(),
        ByteString(line.as_bytes().to_vec()),
    )]));
    s
}

struct World {
    client: Client,
    datasets: Api<Dataset>,
    metrics: Metrics,
    children: ChildrenMetrics,
    _cluster: FakeCluster,
}

fn world() -> World {
    let cluster = FakeCluster::new();
    let client = cluster.client();
    let metrics = Metrics::new();
    let children = ChildrenMetrics::new(&metrics);
    World {
        datasets: Api::namespaced(client.clone(), "hub"),
        client,
        metrics,
        children,
        _cluster: cluster,
    }
}

impl World {
    fn gitsync(&self) -> DatasetChildren {
        DatasetChildren::new(
            self.client.clone(),
            Children::GitSync(GitSyncConfig::default()),
            &self.children,
        )
    }

    fn upload(&self) -> DatasetChildren {
        DatasetChildren::new(
            self.client.clone(),
            Children::UploadServer(Box::new(UploadServerConfig {
                domain: "hub.example.com".into(),
                ..UploadServerConfig::default()
            })),
            &self.children,
        )
    }

    async fn create(&self, d: &Dataset) -> Result<Dataset, kube::Error> {
        self.datasets.create(&PostParams::default(), d).await
    }

    async fn get(&self, name: &str) -> Result<Dataset, kube::Error> {
        self.datasets.get(name).await
    }

    async fn patch(&self, name: &str, patch: serde_json::Value) -> Result<Dataset, kube::Error> {
        self.datasets
            .patch(name, &PatchParams::default(), &Patch::Merge(patch))
            .await
    }

    async fn events(&self, dataset: &str, reason: &str) -> Result<usize, kube::Error> {
        let events: Api<Event> = Api::namespaced(self.client.clone(), "hub");
        Ok(events
            .list(&Default::default())
            .await?
            .items
            .iter()
            .filter(|e| {
                e.reason.as_deref() == Some(reason)
                    && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(dataset)
            })
            .count())
    }
}

fn write(kind: &'static str, name: &str, op: &'static str) -> ChildWrite {
    ChildWrite {
        kind,
        name: name.to_owned(),
        op,
    }
}

fn env_value(ds: &DaemonSet, name: &str) -> Option<String> {
    ds.spec.template.spec.as_ref()?.containers[0]
        .env
        .as_ref()?
        .iter()
        .find(|e| e.name == name)?
        .value
        .clone()
}

#[tokio::test]
async fn gitsync_is_created_left_alone_at_steady_state_updated_in_place_and_removed() -> TestResult
{
    let w = world();
    let controller = w.gitsync();
    let daemonsets: Api<DaemonSet> = Api::namespaced(w.client.clone(), "hub");
    let d = w
        .create(&git_dataset("mnist", "https://github.com/org/mnist"))
        .await?;

    assert_eq!(
        controller.reconcile_step(&d).await?,
        Step::Converged(vec![write("DaemonSet", "gitsync-mnist", "create")])
    );
    let made = daemonsets.get("gitsync-mnist").await?;
    let owner = &made.owner_references()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str(), owner.controller),
        ("Dataset", "mnist", Some(true))
    );
    assert_eq!(owner.uid, d.uid().unwrap_or_default());
    assert_eq!(
        env_value(&made, "GIT_SYNC_BRANCH").as_deref(),
        Some("master")
    );

    // Steady state: the server's defaults (and `1000m` read back as `1`) are not differences.
    let writes = w.children.all_writes(GITSYNC_CONTROLLER);
    for _ in 0..5 {
        assert_eq!(
            controller.reconcile_step(&d).await?,
            Step::Converged(vec![])
        );
    }
    assert_eq!(w.children.all_writes(GITSYNC_CONTROLLER), writes);
    assert_eq!(
        daemonsets.get("gitsync-mnist").await?.resource_version(),
        made.resource_version()
    );

    // A new branch: the same object, updated in place.
    let d = w
        .patch(
            "mnist",
            json!({"spec": {"url": "https://github.com/org/mnist.git#dev"}}),
        )
        .await?;
    assert_eq!(
        controller.reconcile_step(&d).await?,
        Step::Converged(vec![write("DaemonSet", "gitsync-mnist", "update")])
    );
    let updated = daemonsets.get("gitsync-mnist").await?;
    assert_eq!(updated.uid(), made.uid());
    assert_eq!(
        env_value(&updated, "GIT_SYNC_BRANCH").as_deref(),
        Some("dev")
    );
    assert_eq!(
        controller.reconcile_step(&d).await?,
        Step::Converged(vec![])
    );

    // The annotation removed: the DaemonSet goes.
    let d = w
        .patch(
            "mnist",
            json!({"metadata": {"annotations": {"primehub-gitsync": null}}}),
        )
        .await?;
    assert_eq!(
        controller.reconcile_step(&d).await?,
        Step::Converged(vec![write("DaemonSet", "gitsync-mnist", "delete")])
    );
    assert!(daemonsets.get_opt("gitsync-mnist").await?.is_none());
    assert_eq!(
        controller.reconcile_step(&d).await?,
        Step::Converged(vec![])
    );

    // Back on, then the type changed: created, then removed.
    let d = w
        .patch(
            "mnist",
            json!({"metadata": {"annotations": {"primehub-gitsync": "true"}}}),
        )
        .await?;
    controller.reconcile_step(&d).await?;
    assert!(daemonsets.get_opt("gitsync-mnist").await?.is_some());
    let d = w.patch("mnist", json!({"spec": {"type": "env"}})).await?;
    assert_eq!(
        controller.reconcile_step(&d).await?,
        Step::Converged(vec![write("DaemonSet", "gitsync-mnist", "delete")])
    );
    Ok(())
}

#[tokio::test]
async fn bad_input_is_an_event_a_gauge_and_no_write_once_per_reason() -> TestResult {
    let w = world();
    let controller = w.gitsync();
    let d = w
        .create(&git_dataset("broken", "https://h/r#my branch"))
        .await?;
    for _ in 0..3 {
        let step = controller.reconcile_step(&d).await?;
        assert_eq!(
            step,
            Step::Invalid {
                reason: "InvalidGitURL".into(),
                message:
                    "invalid spec.url: the branch after '#' contains spaces or control characters"
                        .into()
            }
        );
    }
    assert_eq!(
        w.events("broken", "InvalidGitURL").await?,
        1,
        "one event, not one per reconcile"
    );
    assert_eq!(w.children.all_writes(GITSYNC_CONTROLLER), 0);
    let text = w.metrics.encode();
    assert!(text.contains(
        "primehub_controller_dataset_children_invalid{controller=\"dataset-gitsync\",namespace=\"hub\",dataset=\"broken\",reason=\"InvalidGitURL\"} 1"
    ), "{text}");
    assert!(text.contains(
        "primehub_controller_dataset_children_invalidations_total{controller=\"dataset-gitsync\",reason=\"InvalidGitURL\"} 1"
    ));

    // An empty URL is another rule.
    let d = w.patch("broken", json!({"spec": {"url": ""}})).await?;
    assert!(
        matches!(controller.reconcile_step(&d).await?, Step::Invalid { reason, .. } if reason == "InvalidGitURL")
    );

    // Fixed: the DaemonSet is made and the gauge goes.
    let d = w
        .patch("broken", json!({"spec": {"url": "https://h/r#main"}}))
        .await?;
    assert_eq!(
        controller.reconcile_step(&d).await?,
        Step::Converged(vec![write("DaemonSet", "gitsync-broken", "create")])
    );
    assert!(!w.metrics.encode().contains("dataset=\"broken\""));
    Ok(())
}

#[tokio::test]
async fn a_missing_git_secret_is_reported_until_it_exists() -> TestResult {
    let w = world();
    let controller = w.gitsync();
    let mut d = git_dataset("private", "git@github.com:org/private#main");
    d.spec.gitsync = Some(DatasetGitSync {
        secret: Some("gitsync-secret-deploy-key".into()),
    });
    let d = w.create(&d).await?;
    let step = controller.reconcile_step(&d).await?;
    assert_eq!(
        step,
        Step::Invalid {
            reason: "GitSyncSecretMissing".into(),
            message: "invalid spec.gitsync.secret: the Secret \"gitsync-secret-deploy-key\" does not exist in namespace hub".into()
        }
    );
    assert_eq!(w.events("private", "GitSyncSecretMissing").await?, 1);
    let secrets: Api<Secret> = Api::namespaced(w.client.clone(), "hub");
    secrets
        .create(
            &PostParams::default(),
            &htpasswd_secret("gitsync-secret-deploy-key", "key"),
        )
        .await?;
    assert_eq!(
        controller.reconcile_step(&d).await?,
        Step::Converged(vec![write("DaemonSet", "gitsync-private", "create")])
    );
    Ok(())
}

#[tokio::test]
async fn metacontroller_children_are_adopted_not_duplicated() -> TestResult {
    let w = world();
    let controller = w.gitsync();
    let daemonsets: Api<DaemonSet> = Api::namespaced(w.client.clone(), "hub");
    let d = w.create(&git_dataset("legacy", "https://h/r")).await?;
    // What PrimeHub's metacontroller made: the hook's object, owned by the Dataset with
    // `blockOwnerDeletion`, plus metacontroller's own annotation.
    let mut existing = gitsync::desired(&d, &GitSyncConfig::default())?.ok_or("wanted")?;
    existing.metadata.owner_references = Some(vec![OwnerReference {
        api_version: "primehub.io/v1alpha1".into(),
        kind: "Dataset".into(),
        name: "legacy".into(),
        uid: d.uid().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }]);
    existing.metadata.annotations = Some(BTreeMap::from([(
        "metacontroller.k8s.io/last-applied-configuration".into(),
        "{}".into(),
    )]));
    let made = daemonsets.create(&PostParams::default(), &existing).await?;
    assert_eq!(
        controller.reconcile_step(&d).await?,
        Step::Converged(vec![])
    );
    assert_eq!(
        daemonsets.get("gitsync-legacy").await?.resource_version(),
        made.resource_version()
    );

    // One without an owner (another image): taken over and updated in place, still one object.
    let d2 = w.create(&git_dataset("orphan", "https://h/o")).await?;
    let mut orphan = gitsync::desired(
        &d2,
        &GitSyncConfig {
            image: "old/git-sync:v2".into(),
            ..GitSyncConfig::default()
        },
    )?
    .ok_or("wanted")?;
    orphan.metadata.labels = Some(BTreeMap::from([("keep".into(), "me".into())]));
    let before = daemonsets.create(&PostParams::default(), &orphan).await?;
    assert_eq!(
        controller.reconcile_step(&d2).await?,
        Step::Converged(vec![write("DaemonSet", "gitsync-orphan", "update")])
    );
    let after = daemonsets.get("gitsync-orphan").await?;
    assert_eq!(after.uid(), before.uid());
    assert_eq!(
        after.owner_references()[0].uid,
        d2.uid().unwrap_or_default()
    );
    assert_eq!(after.labels().get("keep").map(String::as_str), Some("me"));
    assert_eq!(
        after
            .spec
            .template
            .spec
            .as_ref()
            .map(|p| p.containers[0].image.clone()),
        Some(Some("registry.k8s.io/git-sync:v3.1.3".into()))
    );
    assert_eq!(
        controller.reconcile_step(&d2).await?,
        Step::Converged(vec![])
    );

    // One controlled by something else: left alone, reported.
    let d3 = w.create(&git_dataset("taken", "https://h/t")).await?;
    let mut foreign = gitsync::desired(&d3, &GitSyncConfig::default())?.ok_or("wanted")?;
    foreign.metadata.owner_references = Some(vec![OwnerReference {
        api_version: "apps/v1".into(),
        kind: "Deployment".into(),
        name: "someone".into(),
        uid: "0000".into(),
        controller: Some(true),
        block_owner_deletion: None,
    }]);
    daemonsets.create(&PostParams::default(), &foreign).await?;
    assert!(matches!(
        controller.reconcile_step(&d3).await?,
        Step::Invalid { reason, .. } if reason == "ChildOwnedByOther"
    ));
    Ok(())
}

#[tokio::test]
async fn the_upload_server_follows_the_annotation_and_its_auth_secret() -> TestResult {
    let w = world();
    let controller = w.upload();
    let deployments: Api<Deployment> = Api::namespaced(w.client.clone(), "hub");
    let services: Api<Service> = Api::namespaced(w.client.clone(), "hub");
    let ingresses: Api<Ingress> = Api::namespaced(w.client.clone(), "hub");
    let secrets: Api<Secret> = Api::namespaced(w.client.clone(), "hub");

    // On, but the auth Secret is not there yet: nothing is served without it.
    let d = w.create(&pv_dataset("photos", true)).await?;
    assert!(matches!(
        controller.reconcile_step(&d).await?,
        Step::Invalid { reason, .. } if reason == "UploadAuthSecretMissing"
    ));
    assert!(
        deployments
            .get_opt("dataset-upload-photos")
            .await?
            .is_none()
    );
    secrets
        .create(
            &PostParams::default(),
            &htpasswd_secret("dataset-photos", "dataset-photos:$2y$10$a"),
        )
        .await?;
    let name = "dataset-upload-photos";
    assert_eq!(
        controller.reconcile_step(&d).await?,
        Step::Converged(vec![
            write("Deployment", name, "create"),
            write("Service", name, "create"),
            write("Ingress", name, "create"),
        ])
    );
    let service = services.get(name).await?;
    assert!(
        service
            .spec
            .as_ref()
            .and_then(|s| s.cluster_ip.clone())
            .is_some()
    );
    let ingress = ingresses.get(name).await?;
    assert_eq!(
        ingress
            .annotations()
            .get("nginx.ingress.kubernetes.io/auth-secret")
            .map(String::as_str),
        Some("dataset-photos")
    );
    for _ in 0..3 {
        assert_eq!(
            controller.reconcile_step(&d).await?,
            Step::Converged(vec![])
        );
    }
    assert_eq!(w.children.all_writes(UPLOAD_CONTROLLER), 3);

    // The auth annotation removed: the Ingress loses basic auth, in place.
    let d = w
        .patch("photos", json!({"metadata": {"annotations": {"dataset.primehub.io/uploadServerAuthSecretName": null}}}))
        .await?;
    assert_eq!(
        controller.reconcile_step(&d).await?,
        Step::Converged(vec![write("Ingress", name, "update")])
    );
    let ingress = ingresses.get(name).await?;
    assert!(
        !ingress
            .annotations()
            .contains_key("nginx.ingress.kubernetes.io/auth-type")
    );
    assert_eq!(
        ingress
            .annotations()
            .get("kubernetes.io/ingress.class")
            .map(String::as_str),
        Some("nginx")
    );

    // Switched off ("false" as the API writes it, or removed): all three go.
    let d = w
        .patch(
            "photos",
            json!({"metadata": {"annotations": {"dataset.primehub.io/uploadServer": "false"}}}),
        )
        .await?;
    assert_eq!(
        controller.reconcile_step(&d).await?,
        Step::Converged(vec![
            write("Deployment", name, "delete"),
            write("Service", name, "delete"),
            write("Ingress", name, "delete"),
        ])
    );
    assert!(services.get_opt(name).await?.is_none());

    // A git dataset asking for an upload server is bad input.
    let mut g = git_dataset("code", "https://h/r");
    g.metadata
        .annotations
        .get_or_insert_default()
        .insert("dataset.primehub.io/uploadServer".into(), "true".into());
    let g = w.create(&g).await?;
    assert!(matches!(
        controller.reconcile_step(&g).await?,
        Step::Invalid { reason, .. } if reason == "UploadServerUnsupportedType"
    ));
    Ok(())
}

#[tokio::test]
async fn the_running_controllers_react_to_secrets_and_a_new_password_changes_no_child() -> TestResult
{
    let w = world();
    let gitsync_runtime = ControllerRuntime::new(GITSYNC_CONTROLLER, &w.metrics);
    let upload_runtime = ControllerRuntime::new(UPLOAD_CONTROLLER, &w.metrics);
    tokio::spawn(
        w.gitsync()
            .run("hub", &gitsync_runtime)
            .for_each(|_| async {}),
    );
    tokio::spawn(
        w.upload()
            .run("hub", &upload_runtime)
            .for_each(|_| async {}),
    );
    let daemonsets: Api<DaemonSet> = Api::namespaced(w.client.clone(), "hub");
    let deployments: Api<Deployment> = Api::namespaced(w.client.clone(), "hub");
    let ingresses: Api<Ingress> = Api::namespaced(w.client.clone(), "hub");
    let secrets: Api<Secret> = Api::namespaced(w.client.clone(), "hub");

    // A git dataset naming a Secret that comes later: the Secret's creation brings the DaemonSet.
    let mut d = git_dataset("repo", "git@h:org/repo");
    d.spec.gitsync = Some(DatasetGitSync {
        secret: Some("gitsync-secret-k".into()),
    });
    w.create(&d).await?;
    eventually("the missing-secret event", || async {
        (w.events("repo", "GitSyncSecretMissing").await.ok()? == 1).then_some(())
    })
    .await;
    secrets
        .create(
            &PostParams::default(),
            &htpasswd_secret("gitsync-secret-k", "k"),
        )
        .await?;
    eventually("the DaemonSet", || async {
        daemonsets.get_opt("gitsync-repo").await.ok()?
    })
    .await;

    // The upload server, then a regenerated password (the Secret rewritten as the API does).
    secrets
        .create(
            &PostParams::default(),
            &htpasswd_secret("dataset-docs", "dataset-docs:$2y$10$old"),
        )
        .await?;
    w.create(&pv_dataset("docs", true)).await?;
    let name = "dataset-upload-docs";
    let before = eventually("the upload server", || async {
        ingresses.get_opt(name).await.ok()??;
        deployments.get_opt(name).await.ok()?
    })
    .await;
    let reconciles = w.metrics.reconciles(UPLOAD_CONTROLLER);
    secrets
        .patch(
            "dataset-docs",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"auth": "ZGF0YXNldC1kb2NzOiQyeSQxMCRuZXc="}})),
        )
        .await?;
    // The Secret's change is seen (a reconcile runs) and writes nothing.
    eventually("a reconcile after the new password", || async {
        (w.metrics.reconciles(UPLOAD_CONTROLLER) > reconciles).then_some(())
    })
    .await;
    let after = deployments.get(name).await?;
    assert_eq!(after.resource_version(), before.resource_version());
    assert_eq!(
        ingresses
            .get(name)
            .await?
            .annotations()
            .get("nginx.ingress.kubernetes.io/auth-secret")
            .map(String::as_str),
        Some("dataset-docs")
    );
    assert_eq!(w.children.all_writes(UPLOAD_CONTROLLER), 3);

    // Deleting the Dataset removes its children through owner references (the fake's garbage
    // collector; the real tier has no controller-manager).
    w.datasets.delete("docs", &DeleteParams::default()).await?;
    eventually("the children collected", || async {
        deployments
            .get_opt(name)
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
    let _ = w.get("repo").await?;
    Ok(())
}
