//! The group-volume controller on the fake cluster: children as PrimeHub's hooks make them, no
//! writes at steady state, adoption of an existing install's children, in-place updates, the
//! readiness state in `/metrics`, and removal (owner-reference garbage collection for the
//! Service and StatefulSet, the sweeper for the PersistentVolume).
//!
//! The fake plays the garbage collector but not the PV controller: where a test needs a bound
//! claim it binds it itself (as the PV controller would), and says so.

use std::future::Future;
use std::time::Duration;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Service};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use primehub_model::group_volume::SharedVolumeState;
use primehub_reconcile::fake::FakeCluster;
use primehub_reconcile::runtime::Metrics;
use primehub_reconcile::runtime::group_volume::{
    self, Child, Context, GroupVolumeConfig, Step, Sweep,
};
use serde_json::{Value, json};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const NS: &str = "hub";

async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    for _ in 0..3000 {
        if let Some(v) = check().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

fn claim_json(name: &str, group: &str) -> Value {
    json!({
        "metadata": {"name": name, "annotations": {"primehub-group": group, "primehub-group-sc": "standard"}},
        "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": "",
            "resources": {"requests": {"storage": "1Gi"}},
            "selector": {"matchLabels": {"primehub-group": group, "primehub-namespace": NS}}}
    })
}

async fn create_claim(client: &Client, body: Value) -> Result<PersistentVolumeClaim, kube::Error> {
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), NS);
    claims
        .create(
            &PostParams::default(),
            &serde_json::from_value(body).map_err(kube::Error::SerdeError)?,
        )
        .await
}

/// Reconciles until a step writes nothing; returns the writing steps.
async fn converge(
    client: &Client,
    ctx: &Context,
    claim: &str,
) -> Result<Vec<Step>, Box<dyn std::error::Error>> {
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), NS);
    let mut steps = Vec::new();
    for _ in 0..10 {
        let c = claims.get(claim).await?;
        let step = group_volume::reconcile_step(&c, ctx).await?;
        if !step.wrote() {
            return Ok(steps);
        }
        steps.push(step);
    }
    Err("did not converge in 10 steps".into())
}

#[tokio::test]
async fn children_are_made_one_step_at_a_time_and_steady_state_writes_nothing() -> TestResult {
    let cluster = FakeCluster::new();
    let client = cluster.client();
    let ctx = Context::new(client.clone(), GroupVolumeConfig::default());
    create_claim(&client, claim_json("project-ml-team", "ml-team")).await?;

    let steps = converge(&client, &ctx, "project-ml-team").await?;
    assert_eq!(
        steps,
        vec![
            Step::Created(Child::Service),
            Step::Created(Child::StatefulSet),
            Step::Created(Child::Volume)
        ]
    );

    // Accepted as PrimeHub's hooks make them; the volume on the Service's cluster IP.
    let service: Service = Api::namespaced(client.clone(), NS)
        .get("nfs-project-ml-team")
        .await?;
    let ip = service
        .spec
        .as_ref()
        .and_then(|s| s.cluster_ip.clone())
        .ok_or("no cluster IP")?;
    let volume: PersistentVolume = Api::all(client.clone())
        .get("hub-nfs-project-ml-team")
        .await?;
    let v = serde_json::to_value(&volume)?;
    assert_eq!(
        v.pointer("/spec/nfs"),
        Some(&json!({"server": ip, "path": "/"}))
    );
    assert_eq!(
        v.pointer("/spec/mountOptions"),
        Some(&json!(["nfsvers=4.1"]))
    );
    assert_eq!(
        v.pointer("/metadata/labels"),
        Some(
            &json!({"primehub-group": "ml-team", "primehub-namespace": "hub",
            "primehub.io/group-volume-claim": "project-ml-team"})
        )
    );
    let server: StatefulSet = Api::namespaced(client.clone(), NS)
        .get("nfs-project-ml-team")
        .await?;
    let owner = &server.owner_references()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str()),
        ("PersistentVolumeClaim", "project-ml-team")
    );

    // Steady state: repeated reconciles write nothing (the store's resourceVersion stays).
    let before = cluster.resource_version();
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), NS);
    let mut writes = 0;
    for _ in 0..5 {
        let step =
            group_volume::reconcile_step(&claims.get("project-ml-team").await?, &ctx).await?;
        assert_eq!(step, Step::Steady(SharedVolumeState::Pending));
        writes += usize::from(step.wrote());
    }
    assert_eq!(writes, 0);
    assert_eq!(
        cluster.resource_version(),
        before,
        "no write at steady state"
    );
    Ok(())
}

#[tokio::test]
async fn a_claim_without_the_annotation_is_left_alone() -> TestResult {
    let cluster = FakeCluster::new();
    let client = cluster.client();
    let ctx = Context::new(client.clone(), GroupVolumeConfig::default());
    // Storage-class mode: the API writes the claim with a RWX class and no annotation.
    let claim = create_claim(
        &client,
        json!({"metadata": {"name": "project-rwx"}, "spec": {"accessModes": ["ReadWriteMany"],
            "storageClassName": "rwx", "resources": {"requests": {"storage": "1Gi"}}}}),
    )
    .await?;
    let before = cluster.resource_version();
    assert_eq!(
        group_volume::reconcile_step(&claim, &ctx).await?,
        Step::NotAnnotated
    );
    assert_eq!(cluster.resource_version(), before);
    assert_eq!(
        ctx.state(NS, "project-rwx"),
        Some(SharedVolumeState::Pending)
    );
    Ok(())
}

#[tokio::test]
async fn primehubs_children_are_adopted_not_duplicated() -> TestResult {
    let cluster = FakeCluster::new();
    let client = cluster.client();
    let ctx = Context::new(client.clone(), GroupVolumeConfig::default());
    let claim = create_claim(&client, claim_json("project-old", "old")).await?;
    let uid = claim.uid().ok_or("uid")?;
    // What metacontroller made from PrimeHub's hooks: the same children, its owner reference
    // (the claim, controller) and its own annotation; the volume owned by the Service.
    let meta_owner = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "name": "project-old",
        "uid": uid, "controller": true, "blockOwnerDeletion": true});
    let mut service = serde_json::to_value(primehub_model::group_volume::desired_service(&claim)?)?;
    service["metadata"]["ownerReferences"] = json!([meta_owner]);
    service["metadata"]["annotations"]["metacontroller.k8s.io/last-applied-configuration"] =
        json!("{}");
    let services: Api<Service> = Api::namespaced(client.clone(), NS);
    let service = services
        .create(&PostParams::default(), &serde_json::from_value(service)?)
        .await?;
    let mut server = serde_json::to_value(primehub_model::group_volume::desired_stateful_set(
        &claim,
        &Default::default(),
    )?)?;
    server["metadata"]["ownerReferences"] = json!([meta_owner]);
    let servers: Api<StatefulSet> = Api::namespaced(client.clone(), NS);
    servers
        .create(&PostParams::default(), &serde_json::from_value(server)?)
        .await?;
    let mut volume = serde_json::to_value(
        primehub_model::group_volume::desired_volume(&service)?.ok_or("no cluster IP")?,
    )?;
    volume["metadata"]["labels"]
        .as_object_mut()
        .ok_or("labels")?
        .remove("primehub.io/group-volume-claim");
    volume["metadata"]["ownerReferences"] = json!([{"apiVersion": "v1", "kind": "Service",
        "name": "nfs-project-old", "uid": service.uid(), "controller": true}]);
    let volumes: Api<PersistentVolume> = Api::all(client.clone());
    volumes
        .create(&PostParams::default(), &serde_json::from_value(volume)?)
        .await?;

    // The Service and StatefulSet are already as desired; only the volume is written: our
    // label added, the unresolvable owner reference dropped.
    let steps = converge(&client, &ctx, "project-old").await?;
    assert_eq!(steps, vec![Step::Updated(Child::Volume)]);
    let volume = volumes.get("hub-nfs-project-old").await?;
    assert_eq!(
        volume
            .labels()
            .get("primehub.io/group-volume-claim")
            .map(String::as_str),
        Some("project-old")
    );
    assert!(volume.owner_references().is_empty());
    let service = services.get("nfs-project-old").await?;
    assert!(
        service
            .annotations()
            .contains_key("metacontroller.k8s.io/last-applied-configuration")
    );
    assert_eq!(services.list(&Default::default()).await?.items.len(), 1);
    assert_eq!(servers.list(&Default::default()).await?.items.len(), 1);
    Ok(())
}

#[tokio::test]
async fn changed_mount_options_and_a_changed_server_are_updated_in_place() -> TestResult {
    let cluster = FakeCluster::new();
    let client = cluster.client();
    let ctx = Context::new(client.clone(), GroupVolumeConfig::default());
    create_claim(&client, claim_json("project-a", "a")).await?;
    converge(&client, &ctx, "project-a").await?;
    let services: Api<Service> = Api::namespaced(client.clone(), NS);
    let uid = services.get("nfs-project-a").await?.uid();

    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), NS);
    claims
        .patch(
            "project-a",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"primehub-group-mount-options": "nfsvers=4.1,noatime"}}})),
        )
        .await?;
    // Someone scaled the server down: put back.
    let servers: Api<StatefulSet> = Api::namespaced(client.clone(), NS);
    servers
        .patch(
            "nfs-project-a",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 0}})),
        )
        .await?;
    let steps = converge(&client, &ctx, "project-a").await?;
    assert_eq!(
        steps,
        vec![
            Step::Updated(Child::Service),
            Step::Updated(Child::StatefulSet),
            Step::Updated(Child::Volume)
        ]
    );
    let service = services.get("nfs-project-a").await?;
    assert_eq!(service.uid(), uid, "updated, not recreated");
    assert_eq!(
        service
            .annotations()
            .get("primehub-group-mount-options")
            .map(String::as_str),
        Some("nfsvers=4.1,noatime")
    );
    let volume: PersistentVolume = Api::all(client.clone()).get("hub-nfs-project-a").await?;
    assert_eq!(
        volume.spec.and_then(|s| s.mount_options),
        Some(vec!["nfsvers=4.1".to_owned(), "noatime".to_owned()])
    );
    assert_eq!(servers.get("nfs-project-a").await?.spec.replicas, Some(1));
    Ok(())
}

/// Binds `claim` to `volume` as Kubernetes' PV controller would (the fake has none).
async fn bind(client: &Client, claim: &str, volume: &str) -> TestResult {
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), NS);
    let c = claims
        .patch(
            claim,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"volumeName": volume}})),
        )
        .await?;
    claims
        .patch_status(
            claim,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Bound"}})),
        )
        .await?;
    let volumes: Api<PersistentVolume> = Api::all(client.clone());
    volumes
        .patch(
            volume,
            &PatchParams::default(),
            &Patch::Merge(
                json!({"spec": {"claimRef": {"kind": "PersistentVolumeClaim",
                "namespace": NS, "name": claim, "uid": c.uid()}}}),
            ),
        )
        .await?;
    volumes
        .patch_status(
            volume,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Bound"}})),
        )
        .await?;
    Ok(())
}

/// Marks `volume` `Released`, as Kubernetes' PV controller does when its claim is deleted (the
/// fake has none); only then does the pv-protection finalizer let a deleted volume go.
async fn release(client: &Client, volume: &str) -> TestResult {
    let volumes: Api<PersistentVolume> = Api::all(client.clone());
    volumes
        .patch_status(
            volume,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Released"}})),
        )
        .await?;
    Ok(())
}

fn state_line(claim: &str, state: &str) -> String {
    format!(
        r#"primehub_controller_group_volume_state{{namespace="hub",claim="{claim}",state="{state}"}} 1"#
    )
}

#[tokio::test]
async fn the_running_controller_reports_readiness_and_removes_everything_with_the_claim()
-> TestResult {
    let cluster = FakeCluster::new();
    let client = cluster.client();
    let metrics = Metrics::new();
    let config = GroupVolumeConfig {
        after_write: Duration::from_millis(20),
        ..GroupVolumeConfig::default()
    };
    let driver = tokio::spawn(group_volume::start(client.clone(), NS, config, &metrics));
    create_claim(&client, claim_json("project-b", "b")).await?;
    let volumes: Api<PersistentVolume> = Api::all(client.clone());
    eventually("the volume", || async {
        volumes.get_opt("hub-nfs-project-b").await.ok().flatten()
    })
    .await;
    eventually("Pending", || async {
        metrics
            .encode()
            .contains(&state_line("project-b", "Pending"))
            .then_some(())
    })
    .await;

    // The PV controller's part, played by the test: the claim binds to the volume.
    bind(&client, "project-b", "hub-nfs-project-b").await?;
    eventually("Bound", || async {
        metrics
            .encode()
            .contains(&state_line("project-b", "Bound"))
            .then_some(())
    })
    .await;
    // The kubelet's part: the NFS server has a ready replica.
    let servers: Api<StatefulSet> = Api::namespaced(client.clone(), NS);
    servers
        .patch_status(
            "nfs-project-b",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"replicas": 1, "readyReplicas": 1}})),
        )
        .await?;
    eventually("Ready", || async {
        metrics
            .encode()
            .contains(&state_line("project-b", "Ready"))
            .then_some(())
    })
    .await;

    // Disabling the volume deletes the claim: the garbage collector removes the Service and
    // StatefulSet (owned), the sweeper the volume.
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), NS);
    claims.delete("project-b", &DeleteParams::default()).await?;
    release(&client, "hub-nfs-project-b").await?;
    let services: Api<Service> = Api::namespaced(client.clone(), NS);
    eventually("children gone", || async {
        let s = services.get_opt("nfs-project-b").await.ok()?;
        let t = servers.get_opt("nfs-project-b").await.ok()?;
        let v = volumes.get_opt("hub-nfs-project-b").await.ok()?;
        (s.is_none() && t.is_none() && v.is_none()).then_some(())
    })
    .await;
    assert!(
        !metrics.encode().contains("claim=\"project-b\""),
        "the state series goes with the claim"
    );
    assert!(
        metrics
            .encode()
            .contains("primehub_controller_reconciles_total{controller=\"group-volume-sweeper\"}")
    );
    driver.abort();
    Ok(())
}

#[tokio::test]
async fn the_sweeper_removes_a_volume_whose_claim_was_recreated_and_keeps_others() -> TestResult {
    let cluster = FakeCluster::new();
    let client = cluster.client();
    let ctx = Context::new(client.clone(), GroupVolumeConfig::default());
    create_claim(&client, claim_json("project-c", "c")).await?;
    converge(&client, &ctx, "project-c").await?;
    bind(&client, "project-c", "hub-nfs-project-c").await?;
    let volumes: Api<PersistentVolume> = Api::all(client.clone());
    let volume = volumes.get("hub-nfs-project-c").await?;
    assert_eq!(
        group_volume::sweep_step(&volume, NS, &client).await?,
        Sweep::Kept
    );
    // Another namespace's volume is not ours to judge.
    assert_eq!(
        group_volume::sweep_step(&volume, "other", &client).await?,
        Sweep::NotOurs
    );

    // The claim is deleted and made again under the same name (the group re-enabled its
    // volume): the old volume is bound to the old uid and would never bind again.
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), NS);
    claims.delete("project-c", &DeleteParams::default()).await?;
    release(&client, "hub-nfs-project-c").await?;
    eventually("claim gone", || async {
        claims
            .get_opt("project-c")
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
    create_claim(&client, claim_json("project-c", "c")).await?;
    let swept = group_volume::sweep_step(&volume, NS, &client).await?;
    assert!(
        matches!(swept, Sweep::Deleted { ref reason } if reason.contains("recreated")),
        "{swept:?}"
    );
    eventually("old volume gone", || async {
        volumes
            .get_opt("hub-nfs-project-c")
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
    // The claim controller makes a fresh one.
    converge(&client, &ctx, "project-c").await?;
    let fresh = volumes.get("hub-nfs-project-c").await?;
    assert_ne!(fresh.uid(), volume.uid());
    Ok(())
}

#[tokio::test]
async fn a_claim_switched_off_loses_the_children_it_owns() -> TestResult {
    let cluster = FakeCluster::new();
    let client = cluster.client();
    let ctx = Context::new(client.clone(), GroupVolumeConfig::default());
    create_claim(&client, claim_json("project-off", "off")).await?;
    converge(&client, &ctx, "project-off").await?;
    let services: Api<Service> = Api::namespaced(client.clone(), NS);
    let servers: Api<StatefulSet> = Api::namespaced(client.clone(), NS);
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), NS);

    // The annotation removed by hand: the Service, then the StatefulSet, are deleted.
    claims
        .patch(
            "project-off",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"primehub-group": null}}})),
        )
        .await?;
    let steps = converge(&client, &ctx, "project-off").await?;
    assert_eq!(
        steps,
        vec![
            Step::Removed(Child::Service),
            Step::Removed(Child::StatefulSet)
        ]
    );
    assert!(services.get_opt("nfs-project-off").await?.is_none());
    assert!(servers.get_opt("nfs-project-off").await?.is_none());
    // The sweeper removes the volume.
    let volumes: Api<PersistentVolume> = Api::all(client.clone());
    let volume = volumes.get("hub-nfs-project-off").await?;
    assert!(matches!(
        group_volume::sweep_step(&volume, NS, &client).await?,
        Sweep::Deleted { .. }
    ));

    // Children it does not own as controller stay: a Service of that name another controller
    // owns.
    let mut foreign: Service = serde_json::from_value(json!({
        "metadata": {"name": "nfs-project-off", "ownerReferences": [{"apiVersion": "v1",
            "kind": "ConfigMap", "name": "other", "uid": "uid-of-another-owner", "controller": true}]},
        "spec": {"ports": [{"port": 2049}]}
    }))?;
    foreign = services.create(&PostParams::default(), &foreign).await?;
    let before = cluster.resource_version();
    assert_eq!(
        group_volume::reconcile_step(&claims.get("project-off").await?, &ctx).await?,
        Step::NotAnnotated
    );
    assert_eq!(cluster.resource_version(), before, "nothing written");
    assert_eq!(services.get("nfs-project-off").await?.uid(), foreign.uid());
    // A user's home claim is not a shared volume: no state series.
    let home = create_claim(
        &client,
        json!({"metadata": {"name": "claim-alice"}, "spec": {"accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}}}}),
    )
    .await?;
    assert_eq!(
        group_volume::reconcile_step(&home, &ctx).await?,
        Step::NotAnnotated
    );
    assert_eq!(ctx.state(NS, "claim-alice"), None);
    assert_eq!(
        ctx.state(NS, "project-off"),
        Some(SharedVolumeState::Pending)
    );
    Ok(())
}

/// A client of `cluster` that, on the first `DELETE` whose path ends with `suffix`, first runs
/// `replace` (through another client) and then lets the request through: the object the
/// controller read is replaced by another of the same name between its read and its delete.
fn racing_client<F, Fut>(cluster: &FakeCluster, suffix: &'static str, replace: F) -> Client
where
    F: FnOnce(Client) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let once = std::sync::Arc::new(std::sync::Mutex::new(Some(replace)));
    let direct = cluster.client();
    let router = cluster.router().layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let race = (request.method() == axum::http::Method::DELETE
                && request.uri().path().ends_with(suffix))
            .then(|| once.lock().ok().and_then(|mut r| r.take()))
            .flatten();
            let direct = direct.clone();
            async move {
                if let Some(replace) = race {
                    replace(direct).await;
                }
                next.run(request).await
            }
        },
    ));
    FakeCluster::client_for(router)
}

#[tokio::test]
async fn a_child_replaced_between_read_and_delete_is_never_the_one_deleted() -> TestResult {
    let cluster = FakeCluster::new();
    let client = cluster.client();
    let ctx = Context::new(client.clone(), GroupVolumeConfig::default());
    let claim = create_claim(&client, claim_json("project-race", "race")).await?;
    converge(&client, &ctx, "project-race").await?;
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), NS);
    claims
        .patch(
            "project-race",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"primehub-group": null}}})),
        )
        .await?;

    // The Service is recreated (a new uid, still owned by the claim) after the controller read
    // it: the delete carries the old uid as a precondition and removes nothing.
    let owner = primehub_model::group_volume::claim_owner(&claim)?;
    let racing = racing_client(
        &cluster,
        "/services/nfs-project-race",
        move |c| async move {
            let services: Api<Service> = Api::namespaced(c, NS);
            let old = services.get("nfs-project-race").await.expect("the Service");
            services
                .delete("nfs-project-race", &DeleteParams::default())
                .await
                .expect("deleting it behind the controller's back");
            let mut fresh = Service::default();
            fresh.metadata.name = Some("nfs-project-race".into());
            fresh.metadata.owner_references = Some(vec![owner]);
            fresh.spec = old.spec.map(|mut spec| {
                spec.cluster_ip = None;
                spec.cluster_ips = None;
                spec
            });
            services
                .create(&PostParams::default(), &fresh)
                .await
                .expect("a new Service of the same name");
        },
    );
    let racing_ctx = Context::new(racing.clone(), GroupVolumeConfig::default());
    let step =
        group_volume::reconcile_step(&claims.get("project-race").await?, &racing_ctx).await?;
    assert_eq!(step, Step::Removed(Child::Service));
    let services: Api<Service> = Api::namespaced(client.clone(), NS);
    assert!(
        services.get_opt("nfs-project-race").await?.is_some(),
        "the replacement survives: a delete names the uid it read"
    );

    // The same for the sweeper and the volume: the claim is no longer a group volume, but the
    // volume read is replaced by a new one before the delete arrives.
    let volumes: Api<PersistentVolume> = Api::all(client.clone());
    let volume = volumes.get("hub-nfs-project-race").await?;
    let racing = racing_client(
        &cluster,
        "/persistentvolumes/hub-nfs-project-race",
        move |c| async move {
            let volumes: Api<PersistentVolume> = Api::all(c);
            let old = volumes
                .get("hub-nfs-project-race")
                .await
                .expect("the volume");
            volumes
                .delete("hub-nfs-project-race", &DeleteParams::default())
                .await
                .expect("deleting it behind the sweeper's back");
            let mut fresh = PersistentVolume::default();
            fresh.metadata.name = old.metadata.name.clone();
            fresh.metadata.labels = old.metadata.labels.clone();
            fresh.spec = old.spec.clone();
            volumes
                .create(&PostParams::default(), &fresh)
                .await
                .expect("a new volume of the same name");
        },
    );
    let swept = group_volume::sweep_step(&volume, NS, &racing).await?;
    assert!(matches!(swept, Sweep::Deleted { .. }), "{swept:?}");
    let left = volumes.get("hub-nfs-project-race").await?;
    assert_ne!(left.uid(), volume.uid(), "the replacement survives");
    Ok(())
}
