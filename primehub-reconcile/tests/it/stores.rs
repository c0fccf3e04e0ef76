//! `stores::ResourceStores` on the fake cluster in process (`FakeCluster::client()`): every
//! kind appears, read-your-writes waits for the write (and gives up after its timeout), usage
//! follows pods, a relist after `410 Gone` rebuilds the ledger exactly, and watch errors are
//! retried without ending the driver.
//!
//! Time is tokio's paused clock: waits are on conditions, and a timeout of two seconds is two
//! virtual seconds.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, Secret};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::{Resource, ResourceExt};
use primehub_model::crd::{Dataset, Image, ImageCrdSpec, InstanceType};
use primehub_model::names::{LABEL_GROUP, LABEL_USER, escape_label};
use primehub_model::quantity::{Cpu, Gpu, Memory};
use primehub_model::quota::ResourceAmounts;
use primehub_reconcile::fake::FakeCluster;
use primehub_reconcile::runtime::projection::PodView;
use primehub_reconcile::stores::{ResourceStores, StoreKind, StoresConfig};
use serde_json::json;
use tokio::sync::watch;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const NS: &str = "hub";
const WAIT: Duration = Duration::from_secs(10);
const GIB: u64 = 1 << 30;

fn amounts(millicores: u64, gib: u64, gpus: u64) -> ResourceAmounts {
    ResourceAmounts {
        cpu: Cpu::from_millis(millicores),
        memory: Memory::from_bytes(gib * GIB),
        gpu: Gpu::from_count(gpus),
    }
}

/// A pod of `group` (and `user`) whose one container has these limits; an init container's
/// limits, which PrimeHub does not count, are added to show they stay uncounted.
fn pod(
    name: &str,
    group: Option<&str>,
    user: Option<&str>,
    cpu: &str,
    memory: &str,
    gpus: u32,
) -> Pod {
    let mut labels = serde_json::Map::new();
    if let Some(group) = group {
        labels.insert(LABEL_GROUP.into(), json!(escape_label(group)));
    }
    if let Some(user) = user {
        labels.insert(LABEL_USER.into(), json!(escape_label(user)));
    }
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": NS, "labels": labels},
        "spec": {
            "initContainers": [{"name": "init", "image": "busybox", "resources": {"limits": {"cpu": "8"}}}],
            "containers": [{
                "name": "main", "image": "infuseai/base-notebook",
                "resources": {"limits": {"cpu": cpu, "memory": memory, "nvidia.com/gpu": gpus.to_string()}},
            }],
        },
    }))
    .expect("a pod")
}

async fn create_pod(pods: &Api<Pod>, pod: &Pod) -> Result<String, kube::Error> {
    let created = pods.create(&PostParams::default(), pod).await?;
    Ok(created.resource_version().unwrap_or_default())
}

async fn set_phase(pods: &Api<Pod>, name: &str, phase: &str) -> Result<String, kube::Error> {
    let patched = pods
        .patch_status(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": phase}})),
        )
        .await?;
    Ok(patched.resource_version().unwrap_or_default())
}

fn started(client: kube::Client) -> ResourceStores {
    let (stores, driver) = ResourceStores::start(client, StoresConfig::new(NS));
    tokio::spawn(driver);
    stores
}

fn image(name: &str, display: &str) -> Image {
    Image::new(
        name,
        ImageCrdSpec {
            display_name: Some(display.into()),
            ..Default::default()
        },
    )
}

fn names<K: Resource>(objects: &[Arc<K>]) -> Vec<String> {
    objects
        .iter()
        .filter_map(|o| o.meta().name.clone())
        .collect()
}

/// A router in front of the cluster that can hold the watches of the resource `plural` (while
/// the gate is closed, such watch requests wait) and counts its lists.
struct Gate {
    open: watch::Sender<bool>,
    lists: Arc<AtomicUsize>,
}

impl Gate {
    fn client(cluster: &FakeCluster, plural: &'static str) -> (Gate, kube::Client) {
        let (open, open_rx) = watch::channel(true);
        let lists = Arc::new(AtomicUsize::new(0));
        let counted = lists.clone();
        let router = cluster.router().layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                let mut open = open_rx.clone();
                let counted = counted.clone();
                async move {
                    let ours = request.uri().path().ends_with(&format!("/{plural}"));
                    let watching = request.uri().query().unwrap_or("").contains("watch=true");
                    if ours && watching {
                        let _ = open.wait_for(|open| *open).await;
                    } else if ours {
                        counted.fetch_add(1, Ordering::SeqCst);
                    }
                    next.run(request).await
                }
            },
        ));
        (Gate { open, lists }, FakeCluster::client_for(router))
    }

    /// Cuts the stores off: their open watches end and new ones wait.
    fn close(&self, cluster: &FakeCluster) {
        self.open.send_replace(false);
        cluster.close_watches();
    }

    fn open(&self) {
        self.open.send_replace(true);
    }
}

#[tokio::test(start_paused = true)]
async fn every_kind_appears_from_the_first_list_and_from_the_watch() -> TestResult {
    let cluster = FakeCluster::new();
    let client = cluster.client();
    let images: Api<Image> = Api::namespaced(client.clone(), NS);
    let instance_types: Api<InstanceType> = Api::namespaced(client.clone(), NS);
    let datasets: Api<Dataset> = Api::namespaced(client.clone(), NS);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NS);
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), NS);
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    let pp = PostParams::default();

    // Before the stores start: found by the first list.
    images.create(&pp, &image("tf-2", "TensorFlow 2")).await?;
    instance_types
        .create(
            &pp,
            &serde_json::from_value(json!({
                "metadata": {"name": "cpu-1"},
                "spec": {"displayName": "CPU 1", "limits.cpu": 1, "limits.memory": "1G"},
            }))?,
        )
        .await?;
    secrets
        .create(
            &pp,
            &serde_json::from_value(json!({
                "metadata": {"name": "gitsync-secret-repo", "annotations": {"displayName": "repo"}},
                "type": "Opaque", "data": {"ssh": "a2V5"},
            }))?,
        )
        .await?;
    secrets
        .create(
            &pp,
            &serde_json::from_value(json!({"metadata": {"name": "primehub-client-admin-ui"}, "stringData": {"client_secret": "s"}}))?,
        )
        .await?;
    create_pod(
        &pods,
        &pod(
            "jupyter-alice",
            Some("phusers"),
            Some("alice"),
            "1",
            "1Gi",
            0,
        ),
    )
    .await?;
    // Not a PrimeHub pod: not watched (label selector), never counted.
    create_pod(&pods, &pod("kube-proxy", None, None, "1", "1Gi", 0)).await?;
    // Another namespace: not watched.
    let other: Api<Image> = Api::namespaced(client.clone(), "default");
    other.create(&pp, &image("elsewhere", "x")).await?;

    let stores = started(client.clone());
    assert!(!stores.is_ready(), "ready before any list");
    stores.wait_ready(WAIT).await?;
    assert!(stores.is_ready());

    // After: seen through the watch.
    images.create(&pp, &image("base-notebook", "Base")).await?;
    let rv = datasets
        .create(
            &pp,
            &serde_json::from_value(json!({
                "metadata": {"name": "mnist"},
                "spec": {"displayName": "MNIST", "type": "pv", "volumeName": "mnist"},
            }))?,
        )
        .await?
        .resource_version()
        .unwrap_or_default();
    assert!(stores.wait_for_version::<Dataset>("mnist", &rv, WAIT).await);
    secrets
        .create(
            &pp,
            &serde_json::from_value(json!({
                "metadata": {"name": "image-registry"},
                "type": "kubernetes.io/dockerconfigjson",
                "data": {".dockerconfigjson": "e30="},
            }))?,
        )
        .await?;
    let rv = pvcs
        .create(
            &pp,
            &serde_json::from_value(json!({
                "metadata": {"name": "project-phusers"},
                "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "1Gi"}}},
            }))?,
        )
        .await?
        .resource_version()
        .unwrap_or_default();
    assert!(
        stores
            .wait_for_version::<PersistentVolumeClaim>("project-phusers", &rv, WAIT)
            .await
    );

    assert_eq!(
        names(&stores.images()),
        ["base-notebook", "tf-2"],
        "sorted by name"
    );
    let tf = stores.image("tf-2").ok_or("tf-2 in the store")?;
    assert_eq!(tf.spec.display_name.as_deref(), Some("TensorFlow 2"));
    assert!(tf.metadata.managed_fields.is_none());
    assert!(
        stores.image("elsewhere").is_none(),
        "another namespace's image"
    );
    assert_eq!(names(&stores.instance_types()), ["cpu-1"]);
    assert!(stores.instance_type("cpu-1").is_some());
    assert_eq!(names(&stores.datasets()), ["mnist"]);
    assert!(stores.dataset("mnist").is_some());
    assert_eq!(
        names(&stores.secrets()),
        ["gitsync-secret-repo", "image-registry"],
        "only PrimeHub's secrets"
    );
    assert!(stores.secret("primehub-client-admin-ui").is_none());
    // A write of a secret the store does not keep is still seen: its wait ends.
    let rv = secrets
        .create(
            &pp,
            &serde_json::from_value(
                json!({"metadata": {"name": "tls-cert"}, "stringData": {"k": "v"}}),
            )?,
        )
        .await?
        .resource_version()
        .unwrap_or_default();
    let start = tokio::time::Instant::now();
    assert!(
        stores
            .wait_for_version::<Secret>("tls-cert", &rv, WAIT)
            .await
    );
    assert!(start.elapsed() < WAIT);
    assert!(stores.secret("tls-cert").is_none());
    assert!(stores.secret("image-registry").is_some());
    assert_eq!(names(&stores.pvcs()), ["project-phusers"]);
    assert!(stores.pvc("project-phusers").is_some());
    assert!(stores.usage().pod("jupyter-alice").is_some());
    assert!(stores.usage().pod("kube-proxy").is_none());
    assert_eq!(stores.group_usage("phusers"), amounts(1000, 1, 0));

    let counts = stores.counts();
    assert_eq!(counts[&StoreKind::Image], 2);
    assert_eq!(counts[&StoreKind::InstanceType], 1);
    assert_eq!(counts[&StoreKind::Dataset], 1);
    assert_eq!(counts[&StoreKind::Secret], 2);
    assert_eq!(counts[&StoreKind::PersistentVolumeClaim], 1);
    assert_eq!(counts[&StoreKind::StatefulSet], 0);
    assert_eq!(counts[&StoreKind::Pod], 1);
    let status = stores.status();
    assert_eq!(status.len(), 7);
    assert!(status.iter().all(|s| s.ready && s.watch_errors == 0));

    // The cache age is the time since the last event, in virtual time.
    tokio::time::sleep(Duration::from_secs(30)).await;
    let age = stores.last_event_age().ok_or("an event was seen")?;
    assert!(age >= Duration::from_secs(30), "{age:?}");
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_shared_volume_state_follows_its_claim_and_nfs_server() -> TestResult {
    use k8s_openapi::api::apps::v1::StatefulSet;
    use primehub_model::group_volume::{self as gv, NfsServerConfig, SharedVolumeState};

    let cluster = FakeCluster::new();
    let client = cluster.client();
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), NS);
    let servers: Api<StatefulSet> = Api::namespaced(client.clone(), NS);
    let pp = PostParams::default();
    let stores = started(client.clone());
    stores.wait_ready(WAIT).await?;
    assert_eq!(
        stores.shared_volume_state("project-phusers"),
        None,
        "no claim"
    );

    // The claim PrimeHub's API writes in NFS mode, and the server the controller makes for it.
    let claim = pvcs
        .create(
            &pp,
            &serde_json::from_value(json!({
                "metadata": {"name": "project-phusers",
                    "annotations": {"primehub-group": "phusers", "primehub-group-sc": "standard"}},
                "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": "",
                    "resources": {"requests": {"storage": "1Gi"}},
                    "selector": {"matchLabels": {"primehub-group": "phusers", "primehub-namespace": NS}}},
            }))?,
        )
        .await?;
    let desired = gv::desired_stateful_set(&claim, &NfsServerConfig::default())?;
    // Another StatefulSet of the namespace, written first: not an NFS server, never kept.
    let mut web = desired.clone();
    web.metadata = serde_json::from_value(json!({"name": "web", "labels": {"app": "web"}}))?;
    servers.create(&pp, &web).await?;
    let server_rv = servers
        .create(&pp, &desired)
        .await?
        .resource_version()
        .unwrap_or_default();
    assert!(
        stores
            .wait_for_version::<StatefulSet>("nfs-project-phusers", &server_rv, WAIT)
            .await
    );
    assert!(stores.nfs_server("web").is_none(), "selected by label");
    assert!(stores.nfs_server("nfs-project-phusers").is_some());
    assert_eq!(stores.counts()[&StoreKind::StatefulSet], 1);
    assert_eq!(
        stores.shared_volume_state("project-phusers"),
        Some(SharedVolumeState::Pending)
    );

    // Bound to its volume, then the server has a ready replica.
    let bound = pvcs
        .patch_status(
            "project-phusers",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Bound"}})),
        )
        .await?;
    pvcs.patch(
        "project-phusers",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"volumeName": gv::volume_name(NS, "project-phusers")}})),
    )
    .await?;
    let rv = pvcs
        .get("project-phusers")
        .await?
        .resource_version()
        .unwrap_or_default();
    assert!(bound.resource_version().is_some());
    assert!(
        stores
            .wait_for_version::<PersistentVolumeClaim>("project-phusers", &rv, WAIT)
            .await
    );
    assert_eq!(
        stores.shared_volume_state("project-phusers"),
        Some(SharedVolumeState::Bound)
    );
    let ready = servers
        .patch_status(
            "nfs-project-phusers",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"replicas": 1, "readyReplicas": 1}})),
        )
        .await?
        .resource_version()
        .unwrap_or_default();
    assert!(
        stores
            .wait_for_version::<StatefulSet>("nfs-project-phusers", &ready, WAIT)
            .await
    );
    assert_eq!(
        stores.shared_volume_state("project-phusers"),
        Some(SharedVolumeState::Ready)
    );

    // The server gone (deleted by hand): bound, no longer ready.
    servers
        .delete("nfs-project-phusers", &DeleteParams::default())
        .await?;
    assert!(
        stores
            .wait_for_deletion::<StatefulSet>("nfs-project-phusers", WAIT)
            .await
    );
    assert_eq!(
        stores.shared_volume_state("project-phusers"),
        Some(SharedVolumeState::Bound)
    );
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_write_is_awaited_until_the_store_has_it_and_a_late_store_times_out() -> TestResult {
    let cluster = FakeCluster::new();
    let (gate, gated) = Gate::client(&cluster, "images");
    let stores = started(gated);
    stores.wait_ready(WAIT).await?;
    let images: Api<Image> = Api::namespaced(cluster.client(), NS);

    // The store's image watch is cut off while the API server writes.
    gate.close(&cluster);
    let rv = images
        .create(&PostParams::default(), &image("base-notebook", "Base"))
        .await?
        .resource_version()
        .unwrap_or_default();
    let waiter = {
        let stores = stores.clone();
        let rv = rv.clone();
        tokio::spawn(async move {
            stores
                .wait_for_version::<Image>("base-notebook", &rv, Duration::from_secs(60))
                .await
        })
    };
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(
        !waiter.is_finished(),
        "the wait ended before the store had the write"
    );
    assert!(stores.image("base-notebook").is_none());

    // The watch comes back: the wait ends, and the store has the write.
    gate.open();
    assert!(waiter.await?, "the wait gave up");
    let seen = stores
        .image("base-notebook")
        .ok_or("the image in the store")?;
    assert_eq!(seen.resource_version(), Some(rv));

    // An update: the wait is for the new version, not the old object.
    gate.close(&cluster);
    let rv = images
        .patch(
            "base-notebook",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"displayName": "Base 2"}})),
        )
        .await?
        .resource_version()
        .unwrap_or_default();
    let start = tokio::time::Instant::now();
    assert!(
        !stores
            .wait_for_version::<Image>("base-notebook", &rv, Duration::from_secs(2))
            .await,
        "the wait claimed a version the store does not have"
    );
    assert!(start.elapsed() >= Duration::from_secs(2));
    let stale = stores.image("base-notebook").ok_or("the image")?;
    assert_eq!(
        stale.spec.display_name.as_deref(),
        Some("Base"),
        "reads keep the last state"
    );

    gate.open();
    assert!(
        stores
            .wait_for_version::<Image>("base-notebook", &rv, WAIT)
            .await
    );
    let fresh = stores.image("base-notebook").ok_or("the image")?;
    assert_eq!(fresh.spec.display_name.as_deref(), Some("Base 2"));

    // An older version is already shown.
    assert!(
        stores
            .wait_for_version::<Image>("base-notebook", "1", Duration::ZERO)
            .await
    );
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_deletion_is_awaited_until_the_store_drops_the_object() -> TestResult {
    let cluster = FakeCluster::new();
    let (gate, gated) = Gate::client(&cluster, "instancetypes");
    let stores = started(gated);
    stores.wait_ready(WAIT).await?;
    let instance_types: Api<InstanceType> = Api::namespaced(cluster.client(), NS);
    let rv = instance_types
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "metadata": {"name": "gpu-1"},
                "spec": {"limits.cpu": 1, "limits.memory": "1G", "limits.nvidia.com/gpu": 1},
            }))?,
        )
        .await?
        .resource_version()
        .unwrap_or_default();
    assert!(
        stores
            .wait_for_version::<InstanceType>("gpu-1", &rv, WAIT)
            .await
    );

    gate.close(&cluster);
    instance_types
        .delete("gpu-1", &DeleteParams::default())
        .await?;
    assert!(
        !stores
            .wait_for_deletion::<InstanceType>("gpu-1", Duration::from_secs(2))
            .await,
        "the wait claimed a deletion the store has not seen"
    );
    assert!(stores.instance_type("gpu-1").is_some());

    let waiter = {
        let stores = stores.clone();
        tokio::spawn(async move {
            stores
                .wait_for_deletion::<InstanceType>("gpu-1", Duration::from_secs(60))
                .await
        })
    };
    gate.open();
    assert!(waiter.await?);
    assert!(stores.instance_type("gpu-1").is_none());
    assert!(stores.instance_types().is_empty());
    // Never there: nothing to wait for.
    assert!(
        stores
            .wait_for_deletion::<Image>("never", Duration::ZERO)
            .await
    );
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn usage_follows_pods_created_finished_and_deleted() -> TestResult {
    let cluster = FakeCluster::new();
    let stores = started(cluster.client());
    stores.wait_ready(WAIT).await?;
    let pods: Api<Pod> = Api::namespaced(cluster.client(), NS);

    let rv = create_pod(
        &pods,
        &pod("alice-1", Some("phusers"), Some("alice"), "500m", "1Gi", 1),
    )
    .await?;
    assert!(
        stores
            .wait_for_version::<PodView>("alice-1", &rv, WAIT)
            .await
    );
    let rv = create_pod(
        &pods,
        &pod("alice-2", Some("phusers"), Some("alice"), "2", "4Gi", 0),
    )
    .await?;
    assert!(
        stores
            .wait_for_version::<PodView>("alice-2", &rv, WAIT)
            .await
    );
    let rv = create_pod(
        &pods,
        &pod("bob-1", Some("phusers"), Some("bob"), "1", "2Gi", 0),
    )
    .await?;
    assert!(stores.wait_for_version::<PodView>("bob-1", &rv, WAIT).await);
    // A model deployment's pod: charged to the group only.
    let rv = create_pod(
        &pods,
        &pod("deploy-1", Some("phusers"), None, "250m", "1Gi", 0),
    )
    .await?;
    assert!(
        stores
            .wait_for_version::<PodView>("deploy-1", &rv, WAIT)
            .await
    );
    let rv = create_pod(
        &pods,
        &pod(
            "carol-1",
            Some("research_team"),
            Some("carol"),
            "1",
            "1Gi",
            2,
        ),
    )
    .await?;
    assert!(
        stores
            .wait_for_version::<PodView>("carol-1", &rv, WAIT)
            .await
    );

    // Init containers do not count; groups and users are unescaped names.
    assert_eq!(stores.group_usage("phusers"), amounts(3750, 8, 1));
    assert_eq!(stores.user_usage("phusers", "alice"), amounts(2500, 5, 1));
    assert_eq!(stores.user_usage("phusers", "bob"), amounts(1000, 2, 0));
    assert_eq!(stores.group_usage("research_team"), amounts(1000, 1, 2));
    assert_eq!(
        stores.user_usage("research_team", "carol"),
        amounts(1000, 1, 2)
    );
    assert_eq!(
        stores.user_usage("research_team", "alice"),
        ResourceAmounts::ZERO
    );
    assert_eq!(stores.group_usage("nobody"), ResourceAmounts::ZERO);

    // Running still counts; Succeeded and Failed do not.
    let rv = set_phase(&pods, "alice-1", "Running").await?;
    assert!(
        stores
            .wait_for_version::<PodView>("alice-1", &rv, WAIT)
            .await
    );
    assert_eq!(stores.user_usage("phusers", "alice"), amounts(2500, 5, 1));
    let rv = set_phase(&pods, "alice-1", "Succeeded").await?;
    assert!(
        stores
            .wait_for_version::<PodView>("alice-1", &rv, WAIT)
            .await
    );
    assert_eq!(stores.user_usage("phusers", "alice"), amounts(2000, 4, 0));
    assert_eq!(stores.group_usage("phusers"), amounts(3250, 7, 0));
    let rv = set_phase(&pods, "bob-1", "Failed").await?;
    assert!(stores.wait_for_version::<PodView>("bob-1", &rv, WAIT).await);
    assert_eq!(stores.user_usage("phusers", "bob"), ResourceAmounts::ZERO);
    assert_eq!(stores.group_usage("phusers"), amounts(2250, 5, 0));

    // Deleting a counted pod removes its charge; deleting a finished one changes nothing.
    pods.delete("alice-2", &DeleteParams::default()).await?;
    assert!(stores.wait_for_deletion::<PodView>("alice-2", WAIT).await);
    pods.delete("alice-1", &DeleteParams::default()).await?;
    assert!(stores.wait_for_deletion::<PodView>("alice-1", WAIT).await);
    assert_eq!(stores.user_usage("phusers", "alice"), ResourceAmounts::ZERO);
    assert_eq!(stores.group_usage("phusers"), amounts(250, 1, 0));
    assert_eq!(stores.usage().counted_pods(), 2, "deploy-1 and carol-1");
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_relist_after_410_gone_rebuilds_the_ledger_exactly() -> TestResult {
    let cluster = FakeCluster::new();
    let pods: Api<Pod> = Api::namespaced(cluster.client(), NS);
    create_pod(
        &pods,
        &pod("a", Some("phusers"), Some("alice"), "1", "1Gi", 0),
    )
    .await?;
    create_pod(
        &pods,
        &pod("b", Some("phusers"), Some("bob"), "2", "2Gi", 1),
    )
    .await?;
    create_pod(
        &pods,
        &pod("c", Some("phusers"), Some("alice"), "500m", "1Gi", 0),
    )
    .await?;

    let (gate, gated) = Gate::client(&cluster, "pods");
    let stores = started(gated);
    stores.wait_ready(WAIT).await?;
    assert_eq!(stores.group_usage("phusers"), amounts(3500, 4, 1));
    let lists_before = gate.lists.load(Ordering::SeqCst);

    // While the pod watch is cut off: a counted pod goes, one finishes, one changes its
    // limits (deleted and created again), one is new.
    gate.close(&cluster);
    pods.delete("a", &DeleteParams::default()).await?;
    set_phase(&pods, "b", "Succeeded").await?;
    pods.delete("c", &DeleteParams::default()).await?;
    create_pod(
        &pods,
        &pod("c", Some("phusers"), Some("alice"), "4", "8Gi", 0),
    )
    .await?;
    let last = create_pod(
        &pods,
        &pod("d", Some("phusers"), Some("dave"), "250m", "1Gi", 2),
    )
    .await?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        stores.group_usage("phusers"),
        amounts(3500, 4, 1),
        "reads keep the last synced state while cut off"
    );

    // The history the watch would resume from expires: the watcher lists again.
    cluster.expire_watch_history();
    gate.open();
    assert!(stores.wait_for_version::<PodView>("d", &last, WAIT).await);
    assert!(
        gate.lists.load(Ordering::SeqCst) > lists_before,
        "the watcher did not list again after 410 Gone"
    );

    // Exactly the pods that count now: no leftover of a, b or the old c, nothing twice.
    assert_eq!(stores.group_usage("phusers"), amounts(4250, 9, 2));
    assert_eq!(stores.user_usage("phusers", "alice"), amounts(4000, 8, 0));
    assert_eq!(stores.user_usage("phusers", "bob"), ResourceAmounts::ZERO);
    assert_eq!(stores.user_usage("phusers", "dave"), amounts(250, 1, 2));
    assert_eq!(stores.usage().counted_pods(), 2);
    assert_eq!(
        stores.counts()[&StoreKind::Pod],
        3,
        "b stays in the store, uncounted"
    );
    assert!(stores.usage().pod("a").is_none());

    // And the watch goes on after the relist.
    let rv = set_phase(&pods, "c", "Failed").await?;
    assert!(stores.wait_for_version::<PodView>("c", &rv, WAIT).await);
    assert_eq!(stores.group_usage("phusers"), amounts(250, 1, 2));
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn watch_errors_are_retried_and_never_end_the_driver() -> TestResult {
    let cluster = FakeCluster::new();
    // The datasets resource answers 503 to its first 6 requests.
    let failures = Arc::new(AtomicUsize::new(6));
    let left = failures.clone();
    let router = cluster.router().layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let left = left.clone();
            async move {
                if request.uri().path().ends_with("/datasets")
                    && left
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok()
                {
                    return axum::response::IntoResponse::into_response((
                        axum::http::StatusCode::SERVICE_UNAVAILABLE,
                        axum::Json(json!({
                            "kind": "Status", "apiVersion": "v1", "status": "Failure",
                            "message": "etcd is down", "reason": "ServiceUnavailable", "code": 503,
                        })),
                    ));
                }
                next.run(request).await
            }
        },
    ));
    let stores = started(FakeCluster::client_for(router));

    // Not ready in time: the error names the kind still listing and why.
    let error = stores
        .wait_ready(Duration::from_millis(100))
        .await
        .err()
        .ok_or("ready while datasets fail")?;
    let message = error.to_string();
    assert!(message.contains("datasets"), "{message}");
    assert!(message.contains("etcd is down"), "{message}");
    assert!(!message.contains("images"), "{message}");
    assert!(error.is_transient());

    // The backoff retries until the list succeeds.
    stores.wait_ready(Duration::from_secs(300)).await?;
    assert_eq!(failures.load(Ordering::SeqCst), 0);
    let status = stores.status();
    let datasets = status
        .iter()
        .find(|s| s.kind == StoreKind::Dataset)
        .ok_or("the datasets' status")?;
    assert_eq!(datasets.watch_errors, 6);
    assert!(
        datasets
            .last_error
            .as_ref()
            .is_some_and(|(m, _)| m.contains("etcd is down"))
    );

    let api: Api<Dataset> = Api::namespaced(cluster.client(), NS);
    let rv = api
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "d"}, "spec": {"type": "env"}}))?,
        )
        .await?
        .resource_version()
        .unwrap_or_default();
    assert!(stores.wait_for_version::<Dataset>("d", &rv, WAIT).await);
    Ok(())
}
