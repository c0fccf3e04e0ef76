//! The Dataset children controllers on the real tier: the `primehub-controller` binary as
//! `deploy/controller`'s ServiceAccount and Role against the REAL kube-apiserver (and the real
//! Keycloak its watcher needs), with jobs and leader election off.
//!
//! Checked:
//!
//! 1. a git Dataset with the `primehub-gitsync` annotation and a git Secret gets its
//!    `gitsync-<name>` DaemonSet, accepted (validated and defaulted) by the real server, owned
//!    by the Dataset;
//! 2. a pv Dataset with `dataset.primehub.io/uploadServer: "true"` and its auth Secret gets the
//!    Deployment, Service (a cluster IP allocated) and Ingress `dataset-upload-<name>`,
//!    accepted by the real server, the Ingress naming the Secret;
//! 3. at steady state the controller writes nothing (its writes counter stays, the children's
//!    resourceVersions stay), and rewriting the auth Secret (a regenerated password) changes
//!    no child;
//! 4. a new branch in the Dataset's URL updates the DaemonSet in place (same uid);
//! 5. bad input (a branch with a space) is a Warning Event `InvalidGitURL` on the Dataset;
//! 6. the upload annotation switched off and the git Dataset's type changed: the controller
//!    deletes the children explicitly;
//! 7. no request of the controller was refused (its log), SIGTERM stops it cleanly.
//!
//! Garbage collection of the children when their Dataset is deleted needs a
//! controller-manager, which the real tier lacks: it is checked on the fake cluster only
//! (`primehub-reconcile`'s `dataset_children` tests and `primehub-graphql`'s platform test).
//!
//! Needs `PRIMEHUB_TEST_KEYCLOAK_URL` (+ `_ADMIN`, `_PASSWORD`), `PRIMEHUB_TEST_KUBECONFIG` and a
//! kubectl; without them it prints a loud SKIPPED line and passes, unless
//! `PRIMEHUB_TEST_REQUIRE_REAL=1` (`.ci/run`).

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::{Secret, Service};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::api::networking::v1::Ingress;
use kube::ResourceExt;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use primehub_model::crd::{Dataset, DatasetGitSync, DatasetSpec, DatasetType};
use primehub_test_support::process::get;
use serde_json::json;

use crate::real_tier::{RealRun, eventually};

fn secret(name: &str, line: &str) -> Secret {
    let mut s = Secret::default();
    s.metadata.name = Some(name.to_owned());
    s.data = Some(BTreeMap::from([(
        "auth".to_owned(),
        ByteString(line.as_bytes().to_vec()),
    )]));
    s
}

fn writes(text: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with("primehub_controller_dataset_children_writes_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn branch(ds: &DaemonSet) -> Option<String> {
    ds.spec.template.spec.as_ref()?.containers[0]
        .env
        .as_ref()?
        .iter()
        .find(|e| e.name == "GIT_SYNC_BRANCH")?
        .value
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datasets_get_their_children_on_the_real_api_server() {
    RealRun {
        test: "primehub-controller's Dataset children on the real tier",
        prefix: "controller-datasets",
        manifests: &["serviceaccount.yaml", "role.yaml"],
        group_volumes: false,
        args: ["--primehub-domain", "hub.example.com"]
            .map(str::to_owned)
            .into(),
    }
    .run(
        |run| async move { run_checks(&run.client, &run.namespace, &run.url).await },
        |_, _| async {},
    )
    .await;
}

async fn run_checks(client: &kube::Client, namespace: &str, controller_url: &str) {
    let datasets: Api<Dataset> = Api::namespaced(client.clone(), namespace);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let daemonsets: Api<DaemonSet> = Api::namespaced(client.clone(), namespace);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let services: Api<Service> = Api::namespaced(client.clone(), namespace);
    let ingresses: Api<Ingress> = Api::namespaced(client.clone(), namespace);
    let create = PostParams::default();
    let merge = |patch: serde_json::Value| Patch::Merge(patch);

    // 1. A git dataset with its Secret.
    secrets
        .create(&create, &secret("gitsync-secret-key", "a key"))
        .await
        .expect("the git Secret");
    let mut spec = DatasetSpec::new(DatasetType::Git);
    spec.url = Some("git@github.com:org/code".into());
    spec.gitsync = Some(DatasetGitSync {
        secret: Some("gitsync-secret-key".into()),
    });
    let mut code = Dataset::new("code", spec);
    code.metadata.annotations = Some(BTreeMap::from([(
        "primehub-gitsync".to_owned(),
        "true".to_owned(),
    )]));
    let code = datasets
        .create(&create, &code)
        .await
        .expect("the git dataset");
    let ds = eventually("the DaemonSet", || async {
        daemonsets.get_opt("gitsync-code").await.ok().flatten()
    })
    .await;
    assert_eq!(ds.owner_references()[0].uid, code.uid().unwrap_or_default());
    assert_eq!(branch(&ds).as_deref(), Some("master"));
    let pod = ds.spec.template.spec.clone().expect("pod spec");
    // The real server's defaults are there: what the controller compares around.
    assert_eq!(
        pod.containers[0].termination_message_path.as_deref(),
        Some("/dev/termination-log")
    );

    // 2. The upload server of a pv dataset.
    secrets
        .create(
            &create,
            &secret("dataset-photos", "dataset-photos:$2y$10$old"),
        )
        .await
        .expect("the auth Secret");
    let mut photos = Dataset::new("photos", DatasetSpec::new(DatasetType::Pv));
    photos.spec.volume_name = Some("photos".into());
    photos.metadata.annotations = Some(BTreeMap::from([
        (
            "dataset.primehub.io/uploadServer".to_owned(),
            "true".to_owned(),
        ),
        (
            "dataset.primehub.io/uploadServerAuthSecretName".to_owned(),
            "dataset-photos".to_owned(),
        ),
    ]));
    datasets
        .create(&create, &photos)
        .await
        .expect("the pv dataset");
    let name = "dataset-upload-photos";
    let deployment = eventually("the upload server", || async {
        services.get_opt(name).await.ok()??;
        ingresses.get_opt(name).await.ok()??;
        deployments.get_opt(name).await.ok()?
    })
    .await;
    let service = services.get(name).await.expect("the Service");
    assert!(service.spec.and_then(|s| s.cluster_ip).is_some());
    let ingress = ingresses.get(name).await.expect("the Ingress");
    assert_eq!(
        ingress
            .annotations()
            .get("nginx.ingress.kubernetes.io/auth-secret")
            .map(String::as_str),
        Some("dataset-photos")
    );
    assert_eq!(
        ingress
            .spec
            .as_ref()
            .and_then(|s| s.rules.as_ref())
            .and_then(|r| r[0].host.clone())
            .as_deref(),
        Some("hub.example.com")
    );

    // 3. Steady state: nothing written, even when the password is regenerated.
    let metrics = format!("{controller_url}/metrics");
    let settled = eventually("the writes to settle", || async {
        let (_, before) = get(&metrics).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let (_, after) = get(&metrics).await;
        (writes(&before) == writes(&after)).then(|| writes(&after))
    })
    .await;
    assert_eq!(settled, 4.0, "one create per child");
    secrets
        .patch(
            "dataset-photos",
            &PatchParams::default(),
            &merge(json!({"data": {"auth": "ZGF0YXNldC1waG90b3M6JDJ5JDEwJG5ldw=="}})),
        )
        .await
        .expect("a new password");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        deployments
            .get(name)
            .await
            .expect("deployment")
            .resource_version(),
        deployment.resource_version()
    );
    assert_eq!(writes(&get(&metrics).await.1), settled);

    // 4. A new branch: updated in place.
    datasets
        .patch(
            "code",
            &PatchParams::default(),
            &merge(json!({"spec": {"url": "git@github.com:org/code#dev"}})),
        )
        .await
        .expect("a new branch");
    let updated = eventually("the DaemonSet on branch dev", || async {
        let d = daemonsets.get_opt("gitsync-code").await.ok()??;
        (branch(&d).as_deref() == Some("dev")).then_some(d)
    })
    .await;
    assert_eq!(updated.uid(), ds.uid());

    // 5. Bad input: an Event naming the rule, the DaemonSet left as it was.
    datasets
        .patch(
            "code",
            &PatchParams::default(),
            &merge(json!({"spec": {"url": "git@github.com:org/code#my branch"}})),
        )
        .await
        .expect("a bad branch");
    let events: Api<Event> = Api::namespaced(client.clone(), namespace);
    let note = eventually("the InvalidGitURL event", || async {
        events
            .list(&ListParams::default())
            .await
            .ok()?
            .items
            .into_iter()
            .find_map(|e| {
                (e.reason.as_deref() == Some("InvalidGitURL")
                    && e.regarding.as_ref()?.name.as_deref() == Some("code"))
                .then(|| e.note.unwrap_or_default())
            })
    })
    .await;
    assert!(note.contains("spec.url"), "{note}");
    assert_eq!(
        branch(&daemonsets.get("gitsync-code").await.expect("kept")).as_deref(),
        Some("dev")
    );

    // 6. Switched off, type changed: deleted by the controller.
    datasets
        .patch(
            "photos",
            &PatchParams::default(),
            &merge(
                json!({"metadata": {"annotations": {"dataset.primehub.io/uploadServer": "false"}}}),
            ),
        )
        .await
        .expect("upload server off");
    datasets
        .patch(
            "code",
            &PatchParams::default(),
            &merge(json!({"spec": {"type": "env", "url": null}})),
        )
        .await
        .expect("type changed");
    eventually("the children deleted", || async {
        let gone = daemonsets.get_opt("gitsync-code").await.ok()?.is_none()
            && deployments.get_opt(name).await.ok()?.is_none()
            && services.get_opt(name).await.ok()?.is_none()
            && ingresses.get_opt(name).await.ok()?.is_none();
        gone.then_some(())
    })
    .await;
}
