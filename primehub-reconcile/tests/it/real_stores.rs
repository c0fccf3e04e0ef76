//! `stores::ResourceStores` against a REAL kube-apiserver (with etcd), as `tools/kube-apiserver`
//! starts it: the stores fill from the first list and the watch, and read-your-writes holds —
//! right after each write and its wait, the store shows it, as the fake's tests show in
//! `stores`. The environment is the one `real_runtime` reads (SKIPPED without it).
//!
//! The real tier runs no scheduler, kubelet or kube-controller-manager: pods stay unscheduled
//! (their phase is set through the status subresource, and deleting them is immediate), and a
//! PVC cannot be deleted (its protection finalizer stays), so the test deletes an image instead.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, PersistentVolumeClaim, Pod, Secret};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use primehub_model::crd::{Dataset, Image, ImageCrdSpec, InstanceType};
use primehub_model::names::{LABEL_GROUP, LABEL_USER, escape_label};
use primehub_model::quantity::{Cpu, Gpu, Memory};
use primehub_model::quota::ResourceAmounts;
use primehub_reconcile::conformance;
use primehub_reconcile::kube_client::KubeClient;
use primehub_reconcile::runtime::projection::PodView;
use primehub_reconcile::stores::{ResourceStores, StoreKind, StoresConfig};
use serde_json::json;

use crate::real_runtime::admin;

const WAIT: Duration = Duration::from_secs(30);

fn pod(name: &str, user: &str, cpu: &str) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {
            LABEL_GROUP: escape_label("phusers"), LABEL_USER: escape_label(user),
        }},
        "spec": {"containers": [{
            "name": "main", "image": "infuseai/base-notebook",
            "resources": {"limits": {"cpu": cpu, "memory": "1Gi"}},
        }]},
    }))
    .expect("a pod")
}

fn rv<K: kube::Resource>(object: &K) -> String {
    object.meta().resource_version.clone().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stores_fill_and_show_each_write_on_the_real_apiserver() {
    let Some(client) = admin("resource stores").await else {
        return;
    };
    conformance::install_primehub_crds(&KubeClient::new(client.clone()))
        .await
        .expect("installing the PrimeHub CRDs");
    let ns = conformance::unique("rt-stores");
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": ns}})).expect("a namespace"),
        )
        .await
        .expect("creating the test namespace");
    let pp = PostParams::default();
    let images: Api<Image> = Api::namespaced(client.clone(), &ns);
    let instance_types: Api<InstanceType> = Api::namespaced(client.clone(), &ns);
    let datasets: Api<Dataset> = Api::namespaced(client.clone(), &ns);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &ns);
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);

    // Before the stores start: found by the first list.
    let spec = ImageCrdSpec {
        display_name: Some("Base".into()),
        ..Default::default()
    };
    images
        .create(&pp, &Image::new("base-notebook", spec.clone()))
        .await
        .expect("creating an image");
    pods.create(&pp, &pod("jupyter-alice", "alice", "1"))
        .await
        .expect("creating a pod");

    let (stores, driver) = ResourceStores::start(client.clone(), StoresConfig::new(&ns));
    let running = tokio::spawn(driver);
    stores.wait_ready(WAIT).await.expect("the stores sync");
    assert!(stores.image("base-notebook").is_some());
    assert!(stores.usage().pod("jupyter-alice").is_some());
    let one_cpu = ResourceAmounts {
        cpu: Cpu::from_millis(1000),
        memory: Memory::from_bytes(1 << 30),
        gpu: Gpu::ZERO,
    };
    assert_eq!(stores.group_usage("phusers"), one_cpu);

    // Each write, then its wait, then the read: the store has it.
    let created = instance_types
        .create(
            &pp,
            &serde_json::from_value(json!({
                "metadata": {"name": "cpu-1"},
                "spec": {"displayName": "CPU 1", "limits.cpu": 1, "limits.memory": "1G"},
            }))
            .expect("an instance type"),
        )
        .await
        .expect("creating an instance type");
    assert!(
        stores
            .wait_for_version::<InstanceType>("cpu-1", &rv(&created), WAIT)
            .await
    );
    assert!(stores.instance_type("cpu-1").is_some());

    let created = datasets
        .create(
            &pp,
            &serde_json::from_value(json!({
                "metadata": {"name": "mnist"}, "spec": {"type": "env", "variables": {"A": "1"}},
            }))
            .expect("a dataset"),
        )
        .await
        .expect("creating a dataset");
    assert!(
        stores
            .wait_for_version::<Dataset>("mnist", &rv(&created), WAIT)
            .await
    );
    assert_eq!(stores.datasets().len(), 1);

    for name in ["image-registry", "unrelated"] {
        let created = secrets
            .create(
                &pp,
                &serde_json::from_value(json!({
                    "metadata": {"name": name}, "type": "Opaque", "data": {"ssh": "a2V5"},
                }))
                .expect("a secret"),
            )
            .await
            .expect("creating a secret");
        // The unrelated secret never reaches the store, but its event is seen: the wait ends.
        assert!(
            stores
                .wait_for_version::<Secret>(name, &rv(&created), WAIT)
                .await
        );
    }
    let names: Vec<String> = stores.secrets().iter().map(|s| s.name_any()).collect();
    assert_eq!(names, ["image-registry"]);

    let created = pvcs
        .create(
            &pp,
            &serde_json::from_value(json!({
                "metadata": {"name": "project-phusers"},
                "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "1Gi"}}},
            }))
            .expect("a claim"),
        )
        .await
        .expect("creating a claim");
    assert!(
        stores
            .wait_for_version::<PersistentVolumeClaim>("project-phusers", &rv(&created), WAIT)
            .await
    );
    assert!(stores.pvc("project-phusers").is_some());

    let patched = images
        .patch(
            "base-notebook",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"displayName": "Base 2"}})),
        )
        .await
        .expect("patching the image");
    assert!(
        stores
            .wait_for_version::<Image>("base-notebook", &rv(&patched), WAIT)
            .await
    );
    let image = stores.image("base-notebook").expect("the image");
    assert_eq!(image.spec.display_name.as_deref(), Some("Base 2"));

    // Usage follows the pods.
    let created = pods
        .create(&pp, &pod("jupyter-bob", "bob", "500m"))
        .await
        .expect("creating a pod");
    assert!(
        stores
            .wait_for_version::<PodView>("jupyter-bob", &rv(&created), WAIT)
            .await
    );
    assert_eq!(stores.group_usage("phusers").cpu, Cpu::from_millis(1500));
    let finished = pods
        .patch_status(
            "jupyter-alice",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Succeeded"}})),
        )
        .await
        .expect("finishing a pod");
    assert!(
        stores
            .wait_for_version::<PodView>("jupyter-alice", &rv(&finished), WAIT)
            .await
    );
    assert_eq!(stores.user_usage("phusers", "alice"), ResourceAmounts::ZERO);
    assert_eq!(
        stores.user_usage("phusers", "bob").cpu,
        Cpu::from_millis(500)
    );
    pods.delete("jupyter-bob", &DeleteParams::default())
        .await
        .expect("deleting a pod");
    assert!(
        stores
            .wait_for_deletion::<PodView>("jupyter-bob", WAIT)
            .await
    );
    assert!(stores.group_usage("phusers").is_zero());

    images
        .delete("base-notebook", &DeleteParams::default())
        .await
        .expect("deleting the image");
    assert!(
        stores
            .wait_for_deletion::<Image>("base-notebook", WAIT)
            .await
    );
    assert!(stores.image("base-notebook").is_none());

    let counts = stores.counts();
    assert_eq!(counts[&StoreKind::Image], 0);
    assert_eq!(counts[&StoreKind::InstanceType], 1);
    assert_eq!(counts[&StoreKind::Pod], 1);
    assert!(stores.status().iter().all(|s| s.watch_errors == 0));

    running.abort();
    let _ = namespaces.delete(&ns, &DeleteParams::default()).await;
}
