//! The group-volume controller on the real tier: the `primehub-controller` binary as
//! `deploy/controller`'s ServiceAccount, Role **and ClusterRole** (the PersistentVolumes)
//! against the REAL kube-apiserver (and the real Keycloak its watcher needs), with jobs, the
//! Dataset children controllers' work and leader election off.
//!
//! Checked:
//!
//! 1. a claim `project-<group>` as PrimeHub's API writes it in NFS mode gets its NFS Service
//!    (a cluster IP allocated by the real server) and StatefulSet `nfs-<claim>`, owned by the
//!    claim, and the PersistentVolume `<namespace>-nfs-<claim>` pointing at that cluster IP,
//!    labelled for the claim's selector — all accepted (validated, defaulted) by the real server;
//! 2. at steady state the controller writes nothing (the children's resourceVersions stay);
//! 3. `/metrics` shows the claim `Pending` (no PV controller binds it on the real tier);
//! 4. new `primehub-group-mount-options` on the claim update the Service's annotation and the
//!    volume's mount options in place (same uids);
//! 5. the volume switched off (the claim's `primehub-group` annotation removed): the controller
//!    deletes the Service and StatefulSet it owns and the cluster-scoped volume itself (the
//!    test removes the server's `pv-protection` finalizer, as the absent controller-manager
//!    would), keeps the claim, and makes nothing again;
//! 6. no request of the controller was refused (its log), SIGTERM stops it cleanly.
//!
//! Binding the claim and garbage-collecting the Service and StatefulSet with their claim need a
//! controller-manager, which the real tier lacks: those are checked on the fake cluster only
//! (`primehub-reconcile`'s `group_volume_fake` tests and `primehub-graphql`'s platform test).
//! The ClusterRole and its binding are named after the test's namespace and deleted at the end.
//!
//! Needs `PRIMEHUB_TEST_KEYCLOAK_URL` (+ `_ADMIN`, `_PASSWORD`), `PRIMEHUB_TEST_KUBECONFIG` and a
//! kubectl; without them it prints a loud SKIPPED line and passes, unless
//! `PRIMEHUB_TEST_REQUIRE_REAL=1` (`.ci/run`).

use std::time::Duration;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Service};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use primehub_test_support::process::get;
use serde_json::json;

use crate::real_tier::{RealRun, eventually};

const CLAIM: &str = "project-ml-team";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_volumes_get_their_nfs_server_and_volume_on_the_real_api_server() {
    RealRun {
        test: "primehub-controller's group volumes on the real tier",
        prefix: "controller-volumes",
        manifests: &["serviceaccount.yaml", "role.yaml", "clusterrole.yaml"],
        group_volumes: true,
        args: Vec::new(),
    }
    .run(
        |run| async move {
            // apply.sh names the ClusterRole and its binding after the namespace.
            let roles: Api<ClusterRole> = Api::all(run.client.clone());
            let name = format!("primehub-controller-volumes-{}", run.namespace);
            assert!(
                roles.get_opt(&name).await.expect("reading").is_some(),
                "{name}"
            );
            run_checks(&run.client, &run.namespace, &run.url).await;
        },
        |client, namespace| async move {
            // A failed run's volume, released from the server's protection finalizer, and the
            // cluster-scoped RBAC of this namespace.
            let volumes: Api<PersistentVolume> = Api::all(client.clone());
            let leftover = format!("{namespace}-nfs-{CLAIM}");
            let _ = volumes.delete(&leftover, &DeleteParams::default()).await;
            let _ = volumes
                .patch(
                    &leftover,
                    &PatchParams::default(),
                    &Patch::Merge(json!({"metadata": {"finalizers": null}})),
                )
                .await;
            let name = format!("primehub-controller-volumes-{namespace}");
            let bindings: Api<ClusterRoleBinding> = Api::all(client.clone());
            let _ = bindings.delete(&name, &DeleteParams::default()).await;
            let roles: Api<ClusterRole> = Api::all(client);
            let _ = roles.delete(&name, &DeleteParams::default()).await;
        },
    )
    .await;
}

async fn run_checks(client: &kube::Client, namespace: &str, controller_url: &str) {
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), namespace);
    let services: Api<Service> = Api::namespaced(client.clone(), namespace);
    let servers: Api<StatefulSet> = Api::namespaced(client.clone(), namespace);
    let volumes: Api<PersistentVolume> = Api::all(client.clone());
    let volume_name = format!("{namespace}-nfs-{CLAIM}");
    let server_name = format!("nfs-{CLAIM}");

    // 1. The claim PrimeHub's API writes for the group ML_Team in NFS mode.
    let claim: PersistentVolumeClaim = serde_json::from_value(json!({
        "metadata": {"name": CLAIM,
            "annotations": {"primehub-group": "ml-team", "primehub-group-sc": "standard"}},
        "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": "",
            "resources": {"requests": {"storage": "1Gi"}},
            "selector": {"matchLabels": {"primehub-group": "ml-team", "primehub-namespace": namespace}}}
    }))
    .expect("a claim");
    let claim = claims
        .create(&PostParams::default(), &claim)
        .await
        .expect("the claim");
    let volume = eventually("the PersistentVolume", || async {
        volumes.get_opt(&volume_name).await.ok().flatten()
    })
    .await;
    let service = services.get(&server_name).await.expect("the Service");
    let server = servers.get(&server_name).await.expect("the StatefulSet");
    let claim_uid = claim.uid().expect("a uid");
    for owners in [service.owner_references(), server.owner_references()] {
        assert_eq!(owners.len(), 1, "{owners:?}");
        assert_eq!(owners[0].uid, claim_uid);
        assert_eq!(owners[0].controller, Some(true));
    }
    let cluster_ip = service
        .spec
        .as_ref()
        .and_then(|s| s.cluster_ip.clone())
        .expect("the real server allocated a cluster IP");
    let spec = volume.spec.clone().expect("a volume spec");
    assert_eq!(
        spec.nfs.as_ref().map(|n| n.server.as_str()),
        Some(cluster_ip.as_str())
    );
    assert_eq!(
        spec.capacity.as_ref().map(|c| c["storage"].0.as_str()),
        Some("1Gi")
    );
    assert_eq!(
        spec.mount_options.as_deref(),
        Some(&["nfsvers=4.1".to_owned()][..])
    );
    let labels = volume.labels();
    assert_eq!(
        labels.get("primehub-group").map(String::as_str),
        Some("ml-team")
    );
    assert_eq!(
        labels.get("primehub-namespace").map(String::as_str),
        Some(namespace)
    );
    assert!(
        volume.owner_references().is_empty(),
        "a namespaced claim cannot own it"
    );
    // The real server's defaults are there: what the controller compares around.
    assert_eq!(
        spec.persistent_volume_reclaim_policy.as_deref(),
        Some("Retain"),
        "data is kept unless the volume's own policy says otherwise"
    );

    // 2. Steady state: nothing written.
    let versions = || async {
        Some((
            volumes.get(&volume_name).await.ok()?.resource_version()?,
            services.get(&server_name).await.ok()?.resource_version()?,
            servers.get(&server_name).await.ok()?.resource_version()?,
        ))
    };
    let settled = eventually("the children to settle", || async {
        let before = versions().await?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let after = versions().await?;
        (before == after).then_some(after)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(versions().await, Some(settled), "a write at steady state");

    // 3. The readiness gauge: not bound (no PV controller here).
    let pending = format!(
        r#"primehub_controller_group_volume_state{{namespace="{namespace}",claim="{CLAIM}",state="Pending"}} 1"#
    );
    let metrics = format!("{controller_url}/metrics");
    eventually("the Pending gauge", || async {
        get(&metrics).await.1.contains(&pending).then_some(())
    })
    .await;

    // 4. New mount options on the claim: the Service's annotation and the volume follow, both
    //    updated in place.
    claims
        .patch(
            CLAIM,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {
                "primehub-group-mount-options": "nfsvers=4.1,soft"}}})),
        )
        .await
        .expect("new mount options");
    let updated = eventually("the volume with the new options", || async {
        let v = volumes.get_opt(&volume_name).await.ok()??;
        let options = v.spec.as_ref()?.mount_options.clone()?;
        (options == ["nfsvers=4.1", "soft"]).then_some(v)
    })
    .await;
    assert_eq!(updated.uid(), volume.uid(), "the volume updated in place");
    let service_now = services.get(&server_name).await.expect("the Service");
    assert_eq!(
        service_now.uid(),
        service.uid(),
        "the Service updated in place"
    );
    assert_eq!(
        service_now
            .annotations()
            .get("primehub-group-mount-options")
            .map(String::as_str),
        Some("nfsvers=4.1,soft")
    );

    // 5. Switched off (the annotation removed from the claim): the controller deletes the
    //    Service and StatefulSet it owns, and the volume. The real server's admission puts the
    //    `kubernetes.io/pv-protection` finalizer on the volume; the controller-manager, absent
    //    here, removes it once nothing is bound: the test does.
    claims
        .patch(
            CLAIM,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"primehub-group": null}}})),
        )
        .await
        .expect("switching the volume off");
    let no_finalizers = Patch::Merge(json!({"metadata": {"finalizers": null}}));
    let deleting = eventually("the children's deletion", || async {
        services
            .get_opt(&server_name)
            .await
            .ok()?
            .is_none()
            .then_some(())?;
        servers
            .get_opt(&server_name)
            .await
            .ok()?
            .is_none()
            .then_some(())?;
        match volumes.get_opt(&volume_name).await.ok()? {
            None => Some(None),
            Some(v) => v.metadata.deletion_timestamp.is_some().then_some(Some(v)),
        }
    })
    .await;
    if let Some(v) = deleting {
        assert_eq!(
            v.finalizers(),
            ["kubernetes.io/pv-protection"],
            "only the server's protection holds it"
        );
        volumes
            .patch(&volume_name, &PatchParams::default(), &no_finalizers)
            .await
            .expect("releasing the volume");
    }
    eventually("the volume deleted", || async {
        volumes
            .get_opt(&volume_name)
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
    assert!(
        claims.get_opt(CLAIM).await.expect("the claim").is_some(),
        "the claim (the data's) is not the controller's to delete"
    );
    // Nothing comes back while it is off.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        services
            .get_opt(&server_name)
            .await
            .expect("read")
            .is_none()
    );
    assert!(volumes.get_opt(&volume_name).await.expect("read").is_none());
}
