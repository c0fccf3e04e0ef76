//! `primehub dev` runs the Dataset children controllers: datasets made and changed through
//! GraphQL get their git-sync DaemonSet and upload server in the fake cluster, as PrimeHub's
//! metacontroller hooks make them.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::Ingress;
use kube::{Api, ResourceExt};
use primehub_graphql::auth::{Caller, Identity};
use primehub_graphql::dev::{DevPlatform, NAMESPACE};
use serde_json::Value;

use crate::support::*;

async fn ok(platform: &DevPlatform, query: &str) -> Value {
    let caller = Arc::new(Caller::Admin(Identity {
        user_id: platform.realm.admin_user_id.clone(),
        username: "phadmin".into(),
    }));
    let response = platform
        .api
        .service
        .execute(caller, async_graphql::Request::new(query))
        .await;
    let body = serde_json::to_value(&response).expect("response serializes");
    assert!(body.get("errors").is_none(), "{body}");
    body["data"].clone()
}

async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    for _ in 0..1000 {
        if let Some(v) = check().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

fn api<K>(platform: &DevPlatform) -> Api<K>
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>,
{
    Api::namespaced(platform.cluster.client(), NAMESPACE)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_git_dataset_with_a_secret_gets_its_gitsync_daemonset() {
    let platform = platform().await;
    ok(&platform, "mutation { createSecret(data: {name: \"deploy-key\", type: opaque, secret: \"ssh-private-key\"}) { id } }").await;
    ok(&platform, "mutation { createDataset(data: {name: \"code\", type: \"git\", url: \"git@github.com:org/code#dev\", secret: {connect: {id: \"gitsync-secret-deploy-key\"}}}) { id } }").await;
    let daemonsets: Api<DaemonSet> = api(&platform);
    let made = eventually("the DaemonSet", || async {
        daemonsets.get_opt("gitsync-code").await.ok()?
    })
    .await;
    assert_eq!(made.owner_references()[0].name, "code");
    let pod = made.spec.template.spec.expect("pod spec");
    let env: Vec<(String, String)> = pod.containers[0]
        .env
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|e| (e.name, e.value.unwrap_or_default()))
        .collect();
    assert!(env.contains(&("GIT_SYNC_REPO".into(), "git@github.com:org/code.git".into())));
    assert!(env.contains(&("GIT_SYNC_BRANCH".into(), "dev".into())));
    assert!(env.contains(&("GIT_SYNC_SSH".into(), "1".into())));
    let volumes = pod.volumes.unwrap_or_default();
    assert_eq!(
        volumes[2]
            .secret
            .as_ref()
            .and_then(|s| s.secret_name.as_deref()),
        Some("gitsync-secret-deploy-key")
    );
    // Deleting the dataset removes the DaemonSet (owner references).
    ok(
        &platform,
        "mutation { deleteDataset(where: {id: \"code\"}) { id } }",
    )
    .await;
    eventually("the DaemonSet removed", || async {
        daemonsets
            .get_opt("gitsync-code")
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
    platform.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_the_upload_server_on_and_off_through_graphql() {
    let platform = platform().await;
    ok(
        &platform,
        "mutation { createDataset(data: {name: \"scans\", type: \"pv\", volumeSize: 1}) { id } }",
    )
    .await;
    let deployments: Api<Deployment> = api(&platform);
    let services: Api<Service> = api(&platform);
    let ingresses: Api<Ingress> = api(&platform);
    ok(&platform, "mutation { updateDataset(where: {id: \"scans\"}, data: {enableUploadServer: true}) { id uploadServerSecret { username } } }").await;
    let name = "dataset-upload-scans";
    let deployment = eventually("the upload server", || async {
        services.get_opt(name).await.ok()??;
        ingresses.get_opt(name).await.ok()??;
        deployments.get_opt(name).await.ok()?
    })
    .await;
    let ingress = ingresses.get(name).await.expect("ingress");
    assert_eq!(
        ingress
            .annotations()
            .get("nginx.ingress.kubernetes.io/auth-secret")
            .map(String::as_str),
        Some("dataset-scans")
    );
    let volume = &deployment
        .spec
        .template
        .spec
        .as_ref()
        .expect("pod")
        .volumes
        .as_ref()
        .expect("volumes")[0];
    assert_eq!(
        volume
            .persistent_volume_claim
            .as_ref()
            .map(|c| c.claim_name.as_str()),
        Some("dataset-scans")
    );

    // A new password: the Deployment is not touched, the Ingress still names the Secret.
    ok(&platform, "mutation { regenerateUploadServerSecret(where: {id: \"scans\"}) { uploadServerSecret { password } } }").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        deployments
            .get(name)
            .await
            .expect("deployment")
            .resource_version(),
        deployment.resource_version()
    );
    assert_eq!(
        ingresses
            .get(name)
            .await
            .expect("ingress")
            .annotations()
            .get("nginx.ingress.kubernetes.io/auth-secret")
            .map(String::as_str),
        Some("dataset-scans")
    );

    // Off: the three go.
    ok(&platform, "mutation { updateDataset(where: {id: \"scans\"}, data: {enableUploadServer: false}) { id } }").await;
    eventually("the upload server removed", || async {
        let gone = deployments.get_opt(name).await.ok()?.is_none()
            && services.get_opt(name).await.ok()?.is_none()
            && ingresses.get_opt(name).await.ok()?.is_none();
        gone.then_some(())
    })
    .await;
    platform.shutdown().await.expect("shutdown");
}
