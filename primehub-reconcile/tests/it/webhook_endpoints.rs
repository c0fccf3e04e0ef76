//! PrimeHub's secondary admission webhooks (`webhook::pvc_check`, `webhook::image_mutation`,
//! `webhook::license_check`): crafted `AdmissionReview`s in through `admission::review`, the
//! JSON patch applied with `json_patch`, and the pvc-check through the fake cluster.

use std::sync::Arc;

use base64::Engine as _;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::core::{DynamicObject, GroupVersionResource};
use primehub_model::crd::License;
use primehub_reconcile::admission::{
    self, AdmissionHandler, AdmissionResponse, AdmissionReview, Operation,
};
use primehub_reconcile::fake::FakeCluster;
use primehub_reconcile::webhook::image_mutation::ImageMutation;
use primehub_reconcile::webhook::license_check::LicenseCheck;
use primehub_reconcile::webhook::pvc_check::PvcCheck;
use primehub_reconcile::{KubeApi, KubeError, MockKubeApi, ObjectList, Typed};
use proptest::prelude::*;
use serde_json::{Value, json};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const GROUP_LABEL: &str = "primehub.io/group";

/// An `admission.k8s.io/v1` review of `operation` on `object` (a `resource` of `kind` in
/// `hub`).
fn review_of(
    group: &str,
    version: &str,
    kind: &str,
    resource: &str,
    operation: &str,
    object: &Value,
) -> Result<AdmissionReview<DynamicObject>, serde_json::Error> {
    serde_json::from_value(json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "7c1f0a52-3a51-4c3e-9d7f-2b9a1e0c4d11",
            "kind": {"group": group, "version": version, "kind": kind},
            "resource": {"group": group, "version": version, "resource": resource},
            "name": object.pointer("/metadata/name").cloned().unwrap_or(Value::Null),
            "namespace": "hub",
            "operation": operation,
            "userInfo": {"username": "system:serviceaccount:hub:hub"},
            "object": object,
            "oldObject": null,
            "dryRun": false,
        }
    }))
}

/// The handler's response to a pod CREATE of `pod`, through `admission::review` and back through
/// the wire format (JSON), as an API server reads it.
async fn admit_pod(
    handler: &dyn AdmissionHandler,
    pod: &Value,
) -> Result<Value, Box<dyn std::error::Error>> {
    let review = review_of("", "v1", "Pod", "pods", "CREATE", pod)?;
    wire(admission::review(handler, review).await)
}

/// The reviewed `AdmissionReview` as JSON, checked to answer the request's uid.
fn wire(reviewed: AdmissionReview<DynamicObject>) -> Result<Value, Box<dyn std::error::Error>> {
    let value = serde_json::to_value(&reviewed)?;
    assert_eq!(value["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(
        value["response"]["uid"],
        "7c1f0a52-3a51-4c3e-9d7f-2b9a1e0c4d11"
    );
    Ok(value["response"].clone())
}

/// The JSON patch of a wire response (`patch` bytes, `patchType: JSONPatch`), `None` without one.
fn patch_of(response: &Value) -> Result<Option<json_patch::Patch>, Box<dyn std::error::Error>> {
    let response: AdmissionResponse = serde_json::from_value(response.clone())?;
    Ok(admission::response_patch(&response)?)
}

/// `object` with `response`'s patch applied (unchanged without a patch).
fn apply(object: &Value, response: &Value) -> Result<Value, Box<dyn std::error::Error>> {
    let mut patched = object.clone();
    if let Some(patch) = patch_of(response)? {
        json_patch::patch(&mut patched, &patch)?;
    }
    Ok(patched)
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn claim(name: &str, labels: Value) -> Result<PersistentVolumeClaim, serde_json::Error> {
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": "hub", "labels": labels},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }))
}

/// A fake cluster with the claims `(name, labels)` in `hub`, and the API over it.
async fn cluster_with_claims(
    claims: &[(&str, Value)],
) -> Result<(FakeCluster, Arc<dyn KubeApi>), Box<dyn std::error::Error>> {
    let cluster = FakeCluster::new();
    let api: Arc<dyn KubeApi> = Arc::new(cluster.clone());
    let typed = Typed::<PersistentVolumeClaim>::namespaced(api.clone(), "hub");
    for (name, labels) in claims {
        typed.create(&claim(name, labels.clone())?).await?;
    }
    Ok((cluster, api))
}

/// A notebook pod of group `phusers` with volumes at several positions: a home claim, two
/// existing project claims, two missing dataset claims and an emptyDir, mounted by two
/// containers (and one init container) in different orders.
fn notebook_pod() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "jupyter-alice",
            "namespace": "hub",
            "labels": {GROUP_LABEL: "escaped-phusers", "primehub.io/user": "alice"},
        },
        "spec": {
            "volumes": [
                {"name": "home", "persistentVolumeClaim": {"claimName": "claim-alice"}},
                {"name": "project-a", "persistentVolumeClaim": {"claimName": "project-a"}},
                {"name": "dataset-x", "persistentVolumeClaim": {"claimName": "missing-x"}},
                {"name": "scratch", "emptyDir": {}},
                {"name": "dataset-y", "persistentVolumeClaim": {"claimName": "missing-y"}},
                {"name": "project-b", "persistentVolumeClaim": {"claimName": "project-b"}},
            ],
            "initContainers": [{
                "name": "chown",
                "image": "busybox",
                "volumeMounts": [{"name": "dataset-x", "mountPath": "/datasets/x"}],
            }],
            "containers": [
                {
                    "name": "notebook",
                    "image": "jupyter/base-notebook",
                    "volumeMounts": [
                        {"name": "home", "mountPath": "/home/jovyan"},
                        {"name": "project-a", "mountPath": "/project/a"},
                        {"name": "dataset-x", "mountPath": "/datasets/x"},
                        {"name": "scratch", "mountPath": "/tmp/scratch"},
                        {"name": "dataset-y", "mountPath": "/datasets/y"},
                    ],
                    "env": [
                        {"name": "JUPYTER_ENABLE_LAB", "value": "yes"},
                        {"name": "CHOWN_EXTRA", "value": "/project/a,/datasets/x,/datasets/y,/tmp/scratch"},
                        {"name": "GRANT_SUDO", "value": "no"},
                    ],
                },
                {
                    "name": "sidecar",
                    "image": "busybox",
                    "volumeMounts": [
                        {"name": "dataset-y", "mountPath": "/data"},
                        {"name": "project-b", "mountPath": "/project/b"},
                    ],
                },
                {"name": "idle", "image": "busybox"},
            ],
        },
    })
}

#[tokio::test]
async fn pvc_check_drops_missing_claims_in_reverse_index_order() -> TestResult {
    let (_, api) =
        cluster_with_claims(&[("project-a", json!({})), ("project-b", json!({}))]).await?;
    let pod = notebook_pod();
    let response = admit_pod(&PvcCheck::new(api), &pod).await?;
    assert_eq!(response["allowed"], true);
    assert_eq!(response["patchType"], "JSONPatch");

    let patch = patch_of(&response)?.ok_or("no patch")?;
    assert_eq!(
        serde_json::to_value(&patch)?,
        json!([
            {"op": "add", "path": "/metadata/annotations", "value": {}},
            {"op": "add", "path": "/metadata/annotations/pvc-not-found", "value": "missing-x,missing-y"},
            {"op": "remove", "path": "/spec/containers/1/volumeMounts/0"},
            {"op": "replace", "path": "/spec/containers/0/env/1", "value": {"name": "CHOWN_EXTRA", "value": "/project/a,/tmp/scratch"}},
            {"op": "remove", "path": "/spec/containers/0/volumeMounts/4"},
            {"op": "remove", "path": "/spec/containers/0/volumeMounts/2"},
            {"op": "remove", "path": "/spec/volumes/4"},
            {"op": "remove", "path": "/spec/volumes/2"},
        ])
    );

    let admitted = apply(&pod, &response)?;
    assert_eq!(
        names(&admitted["spec"]["volumes"]),
        ["home", "project-a", "scratch", "project-b"]
    );
    let notebook = &admitted["spec"]["containers"][0];
    assert_eq!(
        names(&notebook["volumeMounts"]),
        ["home", "project-a", "scratch"]
    );
    assert_eq!(
        notebook["env"],
        json!([
            {"name": "JUPYTER_ENABLE_LAB", "value": "yes"},
            {"name": "CHOWN_EXTRA", "value": "/project/a,/tmp/scratch"},
            {"name": "GRANT_SUDO", "value": "no"},
        ])
    );
    assert_eq!(
        names(&admitted["spec"]["containers"][1]["volumeMounts"]),
        ["project-b"]
    );
    assert_eq!(
        admitted["spec"]["containers"][2],
        pod["spec"]["containers"][2]
    );
    assert_eq!(
        admitted["metadata"]["annotations"],
        json!({"pvc-not-found": "missing-x,missing-y"})
    );
    // PrimeHub looks at `containers` only: the init container keeps its mount.
    assert_eq!(
        admitted["spec"]["initContainers"],
        pod["spec"]["initContainers"]
    );
    Ok(())
}

#[tokio::test]
async fn pvc_check_adds_to_existing_annotations_and_keeps_other_env() -> TestResult {
    let (_, api) = cluster_with_claims(&[]).await?;
    let pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "job-202611290000-abcdef",
            "namespace": "hub",
            "labels": {GROUP_LABEL: "escaped-phusers", "app": "primehub-job"},
            "annotations": {"primehub.io/job": "train"},
        },
        "spec": {
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "dataset-data"}}],
            "containers": [{
                "name": "main",
                "image": "python:3.12",
                "volumeMounts": [{"name": "data", "mountPath": "/datasets/data"}],
                "env": [{"name": "CHOWN_EXTRA", "value": "/datasets/data"}],
            }],
        },
    });
    let response = admit_pod(&PvcCheck::new(api), &pod).await?;
    let patch = serde_json::to_value(patch_of(&response)?.ok_or("no patch")?)?;
    assert_eq!(patch[0]["path"], "/metadata/annotations/pvc-not-found");
    let admitted = apply(&pod, &response)?;
    assert_eq!(
        admitted["metadata"]["annotations"],
        json!({"primehub.io/job": "train", "pvc-not-found": "dataset-data"})
    );
    assert_eq!(admitted["spec"]["volumes"], json!([]));
    assert_eq!(admitted["spec"]["containers"][0]["volumeMounts"], json!([]));
    assert_eq!(
        admitted["spec"]["containers"][0]["env"],
        json!([{"name": "CHOWN_EXTRA", "value": ""}])
    );
    Ok(())
}

/// A mock whose `list` must not be called.
fn never_lists() -> MockKubeApi {
    let mut api = MockKubeApi::new();
    api.expect_list().never();
    api
}

#[tokio::test]
async fn pods_without_the_group_label_are_allowed_untouched_without_listing() -> TestResult {
    let handler = PvcCheck::new(Arc::new(never_lists()));
    let mut pod = notebook_pod();
    pod["metadata"]["labels"] = json!({"app": "keycloak"});
    let response = admit_pod(&handler, &pod).await?;
    assert_eq!(response["allowed"], true);
    assert!(response.get("patch").is_none(), "{response}");
    assert!(response.get("patchType").is_none(), "{response}");
    Ok(())
}

#[tokio::test]
async fn home_claims_and_other_volumes_need_no_list() -> TestResult {
    let handler = PvcCheck::new(Arc::new(never_lists()));
    let pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "jupyter-bob", "namespace": "hub", "labels": {GROUP_LABEL: ""}},
        "spec": {
            "volumes": [
                {"name": "home", "persistentVolumeClaim": {"claimName": "claim-bob"}},
                {"name": "shm", "emptyDir": {"medium": "Memory"}},
            ],
            "containers": [{
                "name": "notebook",
                "image": "jupyter/base-notebook",
                "volumeMounts": [{"name": "home", "mountPath": "/home/jovyan"}],
            }],
        },
    });
    let response = admit_pod(&handler, &pod).await?;
    assert_eq!(response["allowed"], true);
    assert!(response.get("patch").is_none(), "{response}");
    Ok(())
}

#[tokio::test]
async fn existing_claims_are_kept() -> TestResult {
    let (_, api) = cluster_with_claims(&[
        ("project-a", json!({})),
        ("project-b", json!({})),
        ("missing-x", json!({})),
        ("missing-y", json!({"app": "primehub-dataset"})),
    ])
    .await?;
    let response = admit_pod(&PvcCheck::new(api), &notebook_pod()).await?;
    assert_eq!(response["allowed"], true);
    assert!(response.get("patch").is_none(), "{response}");
    Ok(())
}

#[tokio::test]
async fn the_label_selector_decides_which_claims_exist() -> TestResult {
    // JupyterHub's claims and the group volumes' own are left out by PrimeHub's default selector,
    // so a pod naming one directly loses it.
    let (_, api) = cluster_with_claims(&[
        ("project-a", json!({})),
        ("project-b", json!({"app": "primehub-group"})),
        ("missing-x", json!({"app": "jupyterhub"})),
        ("missing-y", json!({})),
    ])
    .await?;
    let pod = notebook_pod();

    let default = PvcCheck::new(api.clone());
    assert_eq!(default.label_selector(), PvcCheck::DEFAULT_LABEL_SELECTOR);
    let admitted = apply(&pod, &admit_pod(&default, &pod).await?)?;
    assert_eq!(
        admitted["metadata"]["annotations"]["pvc-not-found"],
        "missing-x,project-b"
    );
    assert_eq!(
        names(&admitted["spec"]["volumes"]),
        ["home", "project-a", "scratch", "dataset-y"]
    );

    let everything = PvcCheck::new(api.clone()).with_label_selector("");
    let response = admit_pod(&everything, &pod).await?;
    assert!(response.get("patch").is_none(), "{response}");

    let only_jupyterhub = PvcCheck::new(api).with_label_selector("app=jupyterhub");
    let admitted = apply(&pod, &admit_pod(&only_jupyterhub, &pod).await?)?;
    assert_eq!(
        admitted["metadata"]["annotations"]["pvc-not-found"],
        "project-a,missing-y,project-b"
    );
    Ok(())
}

#[tokio::test]
async fn pvc_check_lists_the_requests_namespace_with_the_selector() -> TestResult {
    let mut api = MockKubeApi::new();
    api.expect_list()
        .withf(|kind, namespace, options| {
            kind.plural == "persistentvolumeclaims"
                && kind.group.is_empty()
                && *namespace == Some("hub")
                && options.label_selector.as_deref() == Some("owner=primehub")
        })
        .times(1)
        .returning(|_, _, _| {
            Ok(ObjectList {
                items: Vec::new(),
                resource_version: "1".into(),
                continue_token: None,
            })
        });
    let handler = PvcCheck::new(Arc::new(api)).with_label_selector("owner=primehub");
    let response = admit_pod(&handler, &notebook_pod()).await?;
    assert_eq!(response["allowed"], true);
    assert!(patch_of(&response)?.is_some());
    Ok(())
}

#[tokio::test]
async fn a_failed_claim_list_denies_with_410_and_the_error_text() -> TestResult {
    let mut api = MockKubeApi::new();
    api.expect_list().times(1).returning(|_, _, _| {
        Err(KubeError::Forbidden {
            message: "persistentvolumeclaims is forbidden".into(),
        })
    });
    let response = admit_pod(&PvcCheck::new(Arc::new(api)), &notebook_pod()).await?;
    assert_eq!(response["allowed"], false);
    assert!(response.get("patch").is_none(), "{response}");
    assert_eq!(
        response["status"],
        json!({
            "status": "Failure",
            "code": 410,
            "message": "forbidden: persistentvolumeclaims is forbidden",
            "reason": "forbidden: persistentvolumeclaims is forbidden",
        })
    );
    Ok(())
}

#[tokio::test]
async fn an_unreadable_pod_is_denied_with_410() -> TestResult {
    let mut pod = notebook_pod();
    // Volumes that are not a list are not a pod's.
    pod["spec"]["volumes"] =
        json!({"project-a": {"persistentVolumeClaim": {"claimName": "project-a"}}});
    let response = admit_pod(&PvcCheck::new(Arc::new(never_lists())), &pod).await?;
    assert_eq!(response["allowed"], false);
    assert_eq!(response["status"]["code"], 410);
    let message = response["status"]["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("the pod cannot be read: "), "{message}");
    assert!(
        message.contains("invalid type: map, expected a sequence"),
        "{message}"
    );
    Ok(())
}

fn gvr(group: &str, resource: &str) -> GroupVersionResource {
    GroupVersionResource::gvr(group, "v1", resource)
}

#[test]
fn each_webhook_handles_what_primehub_registers_it_for() {
    let pvc = PvcCheck::new(Arc::new(never_lists()));
    let image = ImageMutation::new("r/");
    let license = LicenseCheck::new(None);
    assert_eq!(pvc.name(), "pvc-check.primehub.io");
    assert_eq!(image.name(), "pod-image-mutating-webhook.primehub.io");
    assert_eq!(license.name(), "license-validating-webhook.primehub.io");
    for handler in [&pvc as &dyn AdmissionHandler, &image] {
        assert!(handler.handles(&gvr("", "pods"), &Operation::Create));
        assert!(!handler.handles(&gvr("", "pods"), &Operation::Update));
        assert!(!handler.handles(&gvr("", "pods"), &Operation::Delete));
        assert!(!handler.handles(&gvr("", "persistentvolumeclaims"), &Operation::Create));
    }
    let licenses = GroupVersionResource::gvr("primehub.io", "v1alpha1", "licenses");
    assert!(license.handles(&licenses, &Operation::Create));
    assert!(license.handles(&licenses, &Operation::Update));
    assert!(!license.handles(&licenses, &Operation::Delete));
    assert!(!license.handles(&gvr("", "pods"), &Operation::Create));
}

#[tokio::test]
async fn the_fake_cluster_stores_a_pod_without_its_missing_claims() -> TestResult {
    let (cluster, api) =
        cluster_with_claims(&[("project-a", json!({})), ("project-b", json!({}))]).await?;
    cluster.add_admission_handler(Arc::new(PvcCheck::new(api.clone())));
    let pods = Typed::<Pod>::namespaced(api, "hub");

    // PrimeHub's webhook leaves init containers alone: one that mounts a dropped volume makes
    // the pod invalid, and the API server refuses it (kube-apiserver's answer).
    let refused = pods.create(&serde_json::from_value(notebook_pod())?).await;
    match refused {
        Err(KubeError::Invalid { message, .. }) => assert_eq!(
            message,
            "Pod \"jupyter-alice\" is invalid: spec.initContainers[0].volumeMounts[0].name: Not found: \"dataset-x\""
        ),
        other => panic!("stored a pod mounting a dropped volume: {other:?}"),
    }
    let mut pod = notebook_pod();
    pod["spec"]["initContainers"][0]["volumeMounts"][0]["name"] = json!("scratch");
    let created = pods.create(&serde_json::from_value(pod)?).await?;
    let stored = serde_json::to_value(pods.get("jupyter-alice").await?)?;
    assert_eq!(serde_json::to_value(&created)?, stored);
    assert_eq!(
        names(&stored["spec"]["volumes"]),
        ["home", "project-a", "scratch", "project-b"]
    );
    assert_eq!(
        names(&stored["spec"]["containers"][0]["volumeMounts"]),
        ["home", "project-a", "scratch"]
    );
    assert_eq!(
        stored["metadata"]["annotations"]["pvc-not-found"],
        "missing-x,missing-y"
    );

    // Pods of other components pass unchanged.
    let mut other = notebook_pod();
    other["metadata"]["name"] = json!("keycloak-0");
    other["spec"]["initContainers"][0]["volumeMounts"][0]["name"] = json!("scratch");
    other["metadata"]["labels"] = json!({"app": "keycloak"});
    let created = pods.create(&serde_json::from_value(other)?).await?;
    let volumes = created
        .spec
        .and_then(|s| s.volumes)
        .map(|v| v.len())
        .unwrap_or_default();
    assert_eq!(volumes, 6);
    assert!(created.metadata.annotations.is_none());
    Ok(())
}

fn image_pod() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "model-1", "namespace": "hub", "labels": {"app": "primehub-deployment"}},
        "spec": {
            "initContainers": [
                {"name": "admission-is-not-found", "image": "admission-is-not-found"},
                {"name": "storage", "image": "primehub.airgap:5000/infuseai/storage-initializer:v1"},
            ],
            "containers": [
                {"name": "model", "image": "infuseai/model-tensorflow:v0.1"},
                {"name": "proxy", "image": "nginx:1.27"},
            ],
        },
    })
}

#[tokio::test]
async fn image_mutation_prefixes_every_image_once() -> TestResult {
    let handler = ImageMutation::new("primehub.airgap:5000/");
    assert_eq!(handler.prefix(), "primehub.airgap:5000/");
    let pod = image_pod();
    let response = admit_pod(&handler, &pod).await?;
    assert_eq!(response["allowed"], true);
    let patch = patch_of(&response)?.ok_or("no patch")?;
    assert_eq!(
        serde_json::to_value(&patch)?,
        json!([
            {"op": "replace", "path": "/spec/initContainers/0/image", "value": "primehub.airgap:5000/admission-is-not-found"},
            {"op": "replace", "path": "/spec/containers/0/image", "value": "primehub.airgap:5000/infuseai/model-tensorflow:v0.1"},
            {"op": "replace", "path": "/spec/containers/1/image", "value": "primehub.airgap:5000/nginx:1.27"},
        ])
    );
    let admitted = apply(&pod, &response)?;
    assert_eq!(
        admitted["spec"]["initContainers"][1]["image"],
        "primehub.airgap:5000/infuseai/storage-initializer:v1"
    );

    // A second admission of the rewritten pod changes nothing.
    let again = admit_pod(&handler, &admitted).await?;
    assert_eq!(again["allowed"], true);
    assert!(again.get("patch").is_none(), "{again}");
    assert_eq!(apply(&admitted, &again)?, admitted);
    Ok(())
}

#[tokio::test]
async fn an_empty_image_prefix_allows_without_a_patch() -> TestResult {
    let response = admit_pod(&ImageMutation::new(""), &image_pod()).await?;
    assert_eq!(response["allowed"], true);
    assert!(response.get("patch").is_none(), "{response}");
    Ok(())
}

#[tokio::test]
async fn image_mutation_denies_what_is_not_a_pod_with_410() -> TestResult {
    let handler = ImageMutation::new("primehub.airgap:5000/");
    let response = admit_pod(
        &handler,
        &json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}),
    )
    .await?;
    assert_eq!(response["allowed"], false);
    assert_eq!(
        response["status"],
        json!({
            "status": "Failure",
            "code": 410,
            "message": "not a valid pod definition",
            "reason": "not a valid pod definition",
        })
    );

    let mut pod = image_pod();
    pod["spec"]["containers"][1] = json!({"name": "proxy"});
    let response = admit_pod(&handler, &pod).await?;
    assert_eq!(response["allowed"], false);
    assert_eq!(response["status"]["code"], 410);
    assert_eq!(
        response["status"]["message"],
        "spec.containers[1] (proxy) has no image"
    );
    Ok(())
}

/// `base64(yaml) + ".xxxx"`, as PrimeHub's own tests build signed licenses.
fn signed(yaml: &str) -> String {
    format!(
        "{}.xxxx",
        base64::engine::general_purpose::STANDARD.encode(yaml)
    )
}

fn license_yaml(platform: Option<&str>) -> String {
    let mut yaml = String::from(
        "licensed_to: \"InfuseAI\"\nstarted_at: \"2020-01-01T00:00:00Z\"\nexpired_at: \"2038-01-19T00:00:00Z\"\nmax_group: 9999\nmax_node: 1000\nmax_model_deploy: 1000\n",
    );
    if let Some(platform) = platform {
        yaml.push_str(&format!("platform_type: \"{platform}\"\n"));
    }
    yaml
}

fn license_object(signed_license: &str) -> Value {
    json!({
        "apiVersion": "primehub.io/v1alpha1",
        "kind": "License",
        "metadata": {"name": "primehub-license", "namespace": "hub"},
        "spec": {"signed_license": signed_license},
    })
}

async fn admit_license(
    handler: &LicenseCheck,
    operation: &str,
    object: &Value,
) -> Result<Value, Box<dyn std::error::Error>> {
    let review = review_of(
        "primehub.io",
        "v1alpha1",
        "License",
        "licenses",
        operation,
        object,
    )?;
    wire(admission::review(handler, review).await)
}

#[tokio::test]
async fn a_license_for_another_platform_is_denied_with_400() -> TestResult {
    let enterprise = LicenseCheck::new(Some("ee"));
    assert_eq!(enterprise.platform_type(), Some("enterprise"));
    let response = admit_license(
        &enterprise,
        "CREATE",
        &license_object(&signed(&license_yaml(Some("deploy")))),
    )
    .await?;
    assert_eq!(response["allowed"], false);
    assert_eq!(
        response["status"],
        json!({
            "code": 400,
            "message": "The license is for \"deploy\", but \"enterprise\" license is required.",
        })
    );

    let deploy = LicenseCheck::new(Some("deploy"));
    let response = admit_license(
        &deploy,
        "UPDATE",
        &license_object(&signed(&license_yaml(Some("enterprise")))),
    )
    .await?;
    assert_eq!(response["status"]["code"], 400);
    assert_eq!(
        response["status"]["message"],
        "The license is for \"enterprise\", but \"deploy\" license is required."
    );

    // Unquoted values and spaces are read as PrimeHub's pattern reads them.
    let response = admit_license(
        &deploy,
        "CREATE",
        &license_object(&signed(
            "licensed_to: x\nplatform_type:enterprise_v2 # edition\n",
        )),
    )
    .await?;
    assert_eq!(
        response["status"]["message"],
        "The license is for \"enterprise_v2\", but \"deploy\" license is required."
    );
    Ok(())
}

#[tokio::test]
async fn a_license_for_the_platform_or_without_one_is_allowed() -> TestResult {
    let enterprise = LicenseCheck::new(Some("enterprise"));
    for yaml in [license_yaml(Some("enterprise")), license_yaml(None)] {
        let response =
            admit_license(&enterprise, "CREATE", &license_object(&signed(&yaml))).await?;
        assert_eq!(response["allowed"], true, "{yaml}");
        assert_eq!(response["status"], json!({"code": 200}));
    }

    // Without a configured platform any readable license passes.
    for check in [LicenseCheck::new(None), LicenseCheck::new(Some(""))] {
        assert_eq!(check.platform_type(), None);
        let response = admit_license(
            &check,
            "CREATE",
            &license_object(&signed(&license_yaml(Some("deploy")))),
        )
        .await?;
        assert_eq!(response["allowed"], true);
    }

    // Line breaks inside the base64 text are skipped, as Python's b64decode skips them.
    let mut wrapped = signed(&license_yaml(Some("enterprise")));
    wrapped.insert(20, '\n');
    wrapped.insert(50, '\n');
    let response = admit_license(&enterprise, "UPDATE", &license_object(&wrapped)).await?;
    assert_eq!(response["allowed"], true, "{response}");
    Ok(())
}

#[tokio::test]
async fn a_malformed_license_is_denied_with_500() -> TestResult {
    let engine = base64::engine::general_purpose::STANDARD;
    let cases = [
        (
            license_object("abc.def"),
            "the signed license is not base64: Invalid padding",
        ),
        (
            license_object(&format!("{}.xxxx", engine.encode([0xff, 0xfe, 0x00]))),
            "the decoded license is not UTF-8 text: invalid utf-8 sequence of 1 bytes from index 0",
        ),
        (
            json!({
                "apiVersion": "primehub.io/v1alpha1",
                "kind": "License",
                "metadata": {"name": "primehub-license", "namespace": "hub"},
                "spec": {},
            }),
            "the License cannot be read: missing field `signed_license`",
        ),
    ];
    // Malformed licenses are refused with or without a configured platform.
    for check in [LicenseCheck::new(Some("ee")), LicenseCheck::new(None)] {
        for (object, message) in &cases {
            let response = admit_license(&check, "CREATE", object).await?;
            assert_eq!(response["allowed"], false, "{object}");
            assert_eq!(
                response["status"],
                json!({"code": 500, "message": message}),
                "{object}"
            );
        }
    }
    Ok(())
}

#[tokio::test]
async fn the_fake_cluster_refuses_a_license_for_another_platform() -> TestResult {
    let cluster = FakeCluster::new();
    cluster.add_admission_handler(Arc::new(LicenseCheck::new(Some("ee"))));
    let api: Arc<dyn KubeApi> = Arc::new(cluster);
    let licenses = Typed::<License>::namespaced(api, "hub");

    let deploy: License =
        serde_json::from_value(license_object(&signed(&license_yaml(Some("deploy")))))?;
    let err = licenses.create(&deploy).await.expect_err("denied");
    assert_eq!(
        err,
        KubeError::BadRequest {
            message: "admission webhook \"license-validating-webhook.primehub.io\" denied the request: The license is for \"deploy\", but \"enterprise\" license is required.".into(),
        }
    );

    let enterprise: License =
        serde_json::from_value(license_object(&signed(&license_yaml(Some("enterprise")))))?;
    licenses.create(&enterprise).await?;
    Ok(())
}

/// What a generated volume is backed by.
#[derive(Debug, Clone, Copy)]
enum Backing {
    Home,
    Present,
    Missing,
    EmptyDir,
}

fn backing() -> impl Strategy<Value = Backing> {
    prop_oneof![
        Just(Backing::Home),
        Just(Backing::Present),
        Just(Backing::Missing),
        Just(Backing::EmptyDir),
    ]
}

/// A generated container: the volumes it mounts (indices, repeats allowed) and whether it has
/// `CHOWN_EXTRA`.
type GenContainer = (Vec<prop::sample::Index>, bool);

fn generated_pod(volumes: &[Backing], containers: &[GenContainer], annotated: bool) -> Value {
    let volume_json: Vec<Value> = volumes
        .iter()
        .enumerate()
        .map(|(i, backing)| match backing {
            Backing::Home => json!({"name": format!("v{i}"), "persistentVolumeClaim": {"claimName": format!("claim-u{i}")}}),
            Backing::Present => json!({"name": format!("v{i}"), "persistentVolumeClaim": {"claimName": format!("present-{i}")}}),
            Backing::Missing => json!({"name": format!("v{i}"), "persistentVolumeClaim": {"claimName": format!("missing-{i}")}}),
            Backing::EmptyDir => json!({"name": format!("v{i}"), "emptyDir": {}}),
        })
        .collect();
    let container_json: Vec<Value> = containers
        .iter()
        .enumerate()
        .map(|(c, (mounts, chown))| {
            let mounts: Vec<Value> = if volumes.is_empty() {
                Vec::new()
            } else {
                mounts
                    .iter()
                    .enumerate()
                    .map(|(m, index)| {
                        let v = index.index(volumes.len());
                        json!({"name": format!("v{v}"), "mountPath": format!("/mnt/c{c}/m{m}")})
                    })
                    .collect()
            };
            let mut paths: Vec<String> = vec!["/home/jovyan".into()];
            paths.extend(
                mounts
                    .iter()
                    .filter_map(|m| m["mountPath"].as_str().map(str::to_owned)),
            );
            let mut container =
                json!({"name": format!("c{c}"), "image": "busybox", "volumeMounts": mounts});
            if *chown {
                container["env"] = json!([
                    {"name": "A", "value": "1"},
                    {"name": "CHOWN_EXTRA", "value": paths.join(",")},
                ]);
            }
            container
        })
        .collect();
    let mut pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "hub", "labels": {GROUP_LABEL: "escaped-g"}},
        "spec": {"volumes": volume_json, "containers": container_json},
    });
    if annotated {
        pod["metadata"]["annotations"] = json!({"keep": "me"});
    }
    pod
}

/// A mock listing the claims `present-<i>` of the `Present` volumes.
fn listing(volumes: &[Backing]) -> MockKubeApi {
    let items: Vec<DynamicObject> = volumes
        .iter()
        .enumerate()
        .filter(|(_, b)| matches!(b, Backing::Present))
        .filter_map(|(i, _)| {
            serde_json::from_value(
                json!({"metadata": {"name": format!("present-{i}"), "namespace": "hub"}}),
            )
            .ok()
        })
        .collect();
    let mut api = MockKubeApi::new();
    api.expect_list().returning(move |_, _, _| {
        Ok(ObjectList {
            items: items.clone(),
            resource_version: "1".into(),
            continue_token: None,
        })
    });
    api
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn the_pvc_patch_keeps_exactly_the_existing_volumes_and_their_mounts(
        volumes in prop::collection::vec(backing(), 0..8),
        containers in prop::collection::vec(
            (prop::collection::vec(any::<prop::sample::Index>(), 0..6), any::<bool>()),
            1..4,
        ),
        annotated in any::<bool>(),
    ) {
        let pod = generated_pod(&volumes, &containers, annotated);
        let handler = PvcCheck::new(Arc::new(listing(&volumes)));
        let response = futures::executor::block_on(admit_pod(&handler, &pod))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&response["allowed"], &json!(true));
        let admitted = apply(&pod, &response).map_err(|e| TestCaseError::fail(e.to_string()))?;

        let kept: Vec<String> = volumes
            .iter()
            .enumerate()
            .filter(|(_, b)| !matches!(b, Backing::Missing))
            .map(|(i, _)| format!("v{i}"))
            .collect();
        prop_assert_eq!(names(&admitted["spec"]["volumes"]), kept.clone());

        let missing: Vec<String> = volumes
            .iter()
            .enumerate()
            .filter(|(_, b)| matches!(b, Backing::Missing))
            .map(|(i, _)| format!("missing-{i}"))
            .collect();
        let annotations = &admitted["metadata"]["annotations"];
        if missing.is_empty() {
            prop_assert!(response.get("patch").is_none());
            prop_assert_eq!(&admitted, &pod);
        } else {
            prop_assert_eq!(&annotations["pvc-not-found"], &json!(missing.join(",")));
        }
        if annotated {
            prop_assert_eq!(&annotations["keep"], &json!("me"));
        }

        for (c, container) in admitted["spec"]["containers"].as_array().into_iter().flatten().enumerate() {
            let original = &pod["spec"]["containers"][c];
            let mounts = container["volumeMounts"].as_array().cloned().unwrap_or_default();
            // Mounts reference only kept volumes, and every mount of a kept volume stays, in order.
            let expected: Vec<Value> = original["volumeMounts"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|m| kept.iter().any(|k| m["name"] == json!(k)))
                .cloned()
                .collect();
            prop_assert_eq!(&mounts, &expected);
            let dropped: Vec<&str> = original["volumeMounts"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|m| !kept.iter().any(|k| m["name"] == json!(k)))
                .filter_map(|m| m["mountPath"].as_str())
                .collect();
            if let Some(env) = original["env"].as_array() {
                let before = env[1]["value"].as_str().unwrap_or_default();
                let after: Vec<&str> = before.split(',').filter(|p| !dropped.contains(p)).collect();
                prop_assert_eq!(&container["env"][0], &env[0]);
                prop_assert_eq!(&container["env"][1], &json!({"name": "CHOWN_EXTRA", "value": after.join(",")}));
            }
        }
    }
}
