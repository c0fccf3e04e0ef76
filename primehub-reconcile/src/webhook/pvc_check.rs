//! `pvc-check.primehub.io`: PrimeHub's mutating webhook that drops the volumes of a pod whose
//! PersistentVolumeClaim does not exist, so the pod starts without them instead of hanging in
//! `ContainerCreating`.
//!
//! PrimeHub registers it (`MutatingWebhookConfiguration` `pvc-check-webhook`, path
//! [`PvcCheck::PATH`]) for CREATE of pods in namespaces labelled
//! `primehub.io/admission-webhook=enabled`. For a pod with the `primehub.io/group` label
//! ([`LABEL_GROUP`]) — notebooks, jobs, deployments and apps — [`PvcCheck`]:
//!
//! 1. collects the pod volumes backed by a `persistentVolumeClaim` whose `claimName` does not
//!    start with `claim-` ([`PvcCheck::HOME_CLAIM_PREFIX`], JupyterHub's user home claims);
//! 2. only if there are any, lists the PVCs of the request's namespace with the label selector
//!    (`PVC_LABEL_SELECTOR` in PrimeHub, default
//!    [`PvcCheck::DEFAULT_LABEL_SELECTOR`]: `app!=jupyterhub,app!=primehub-group`) — a claim the
//!    selector leaves out counts as missing;
//! 3. for every collected volume whose claim is not in that list: removes the volume, removes
//!    every `volumeMount` of the pod's `containers` that uses it, rewrites each such container's
//!    `CHOWN_EXTRA` env (a comma list of paths) without the dropped mount paths, and adds the
//!    annotation `pvc-not-found: <claim names, comma separated>` (adding
//!    `metadata.annotations` first when the pod has none).
//!
//! The JSON patch lists the operations in PrimeHub's order: built forwards, then reversed, so the
//! removals come last-index first and every index stays valid when applied in order.
//!
//! As in PrimeHub, **init containers are not looked at**: an init container mounting a dropped
//! volume keeps its mount (and the API server then rejects the pod as invalid). A failure —
//! listing the claims fails, the pod cannot be read — denies the pod with code 410
//! ([`PvcCheck::FAILURE_CODE`]) and the error text as both message and reason, as PrimeHub does.
//! When nothing is missing the pod is allowed without a patch (PrimeHub sends an empty JSON patch;
//! the effect is the same).
//!
//! ```
//! # #[cfg(feature = "fake")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
//! use primehub_reconcile::fake::FakeCluster;
//! use primehub_reconcile::webhook::pvc_check::PvcCheck;
//! use primehub_reconcile::{KubeApi, Typed};
//! use serde_json::json;
//!
//! let cluster = FakeCluster::new();
//! let api: Arc<dyn KubeApi> = Arc::new(cluster.clone());
//! cluster.add_admission_handler(Arc::new(PvcCheck::new(api.clone())));
//!
//! let claims = Typed::<PersistentVolumeClaim>::namespaced(api.clone(), "hub");
//! claims.create(&serde_json::from_value(json!({
//!     "metadata": {"name": "project-present"},
//!     "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "1Gi"}}},
//! }))?).await?;
//!
//! let pod: Pod = serde_json::from_value(json!({
//!     "metadata": {"name": "jupyter-alice", "labels": {"primehub.io/group": "escaped-phusers"}},
//!     "spec": {
//!         "volumes": [
//!             {"name": "present", "persistentVolumeClaim": {"claimName": "project-present"}},
//!             {"name": "gone", "persistentVolumeClaim": {"claimName": "project-gone"}},
//!         ],
//!         "containers": [{
//!             "name": "notebook",
//!             "image": "jupyter/base-notebook",
//!             "volumeMounts": [
//!                 {"name": "present", "mountPath": "/project/present"},
//!                 {"name": "gone", "mountPath": "/project/gone"},
//!             ],
//!             "env": [{"name": "CHOWN_EXTRA", "value": "/project/present,/project/gone"}],
//!         }],
//!     },
//! }))?;
//! let created = Typed::<Pod>::namespaced(api, "hub").create(&pod).await?;
//!
//! let annotations = created.metadata.annotations.unwrap_or_default();
//! assert_eq!(annotations["pvc-not-found"], "project-gone");
//! let spec = created.spec.unwrap_or_default();
//! let volumes: Vec<String> = spec.volumes.unwrap_or_default().into_iter().map(|v| v.name).collect();
//! assert_eq!(volumes, ["present"]);
//! let env = spec.containers[0].env.clone().unwrap_or_default();
//! assert_eq!(env[0].value.as_deref(), Some("/project/present"));
//! # Ok(()) }
//! # #[cfg(not(feature = "fake"))]
//! # fn main() {}
//! ```

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use json_patch::jsonptr::PointerBuf;
use json_patch::{AddOperation, Patch, PatchOperation, RemoveOperation, ReplaceOperation};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, PodSpec};
use kube::core::{DynamicObject, GroupVersionResource};
use primehub_model::names::LABEL_GROUP;
use serde_json::{Value, json};

use crate::admission::{AdmissionHandler, AdmissionRequest, AdmissionResponse, Operation};
use crate::api::{KubeApi, ListOptions, ResourceKind};
use crate::webhook::failure;

/// PrimeHub's `pvc-check.primehub.io` webhook: removes the volumes (and their mounts) of a
/// `primehub.io/group` pod whose claim is missing, and records the claims in the pod's
/// `pvc-not-found` annotation. See the [module docs](self).
pub struct PvcCheck {
    api: Arc<dyn KubeApi>,
    label_selector: String,
}

/// A pod volume backed by a claim that is not a JupyterHub home claim.
struct ClaimVolume<'a> {
    index: usize,
    name: &'a str,
    claim: &'a str,
}

impl PvcCheck {
    /// The webhook's name in PrimeHub's `pvc-check-webhook` configuration.
    pub const NAME: &str = "pvc-check.primehub.io";
    /// The path PrimeHub's admission service serves the webhook on.
    pub const PATH: &str = "/pvc-check";
    /// PrimeHub's default `PVC_LABEL_SELECTOR`: every claim except JupyterHub's and the group
    /// volumes' own.
    pub const DEFAULT_LABEL_SELECTOR: &str = "app!=jupyterhub,app!=primehub-group";
    /// Claims whose name starts with this (JupyterHub's user home claims) are never checked.
    pub const HOME_CLAIM_PREFIX: &str = "claim-";
    /// The annotation listing the missing claims, comma separated.
    pub const ANNOTATION: &str = "pvc-not-found";
    /// The container env var (a comma list of paths the notebook chowns) rewritten without the
    /// dropped mount paths.
    pub const CHOWN_EXTRA: &str = "CHOWN_EXTRA";
    /// The status code PrimeHub denies with when the check fails.
    pub const FAILURE_CODE: u16 = 410;

    /// A check listing claims through `api`, with PrimeHub's default label selector.
    pub fn new(api: Arc<dyn KubeApi>) -> PvcCheck {
        PvcCheck {
            api,
            label_selector: Self::DEFAULT_LABEL_SELECTOR.to_owned(),
        }
    }

    /// The same check listing claims with `selector` (PrimeHub's `PVC_LABEL_SELECTOR`); an empty
    /// selector lists every claim of the namespace.
    #[must_use]
    pub fn with_label_selector(mut self, selector: impl Into<String>) -> PvcCheck {
        self.label_selector = selector.into();
        self
    }

    /// The label selector the claims are listed with.
    pub fn label_selector(&self) -> &str {
        &self.label_selector
    }

    /// The operations for `object`, empty when nothing is missing; `Err` with the text to deny
    /// with.
    async fn operations(
        &self,
        namespace: Option<&str>,
        object: &DynamicObject,
    ) -> Result<Vec<PatchOperation>, String> {
        let pod: Pod = object
            .clone()
            .try_parse()
            .map_err(|e| format!("the pod cannot be read: {e}"))?;
        let spec = pod.spec.unwrap_or_default();
        let candidates = claim_volumes(&spec);
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let namespace =
            namespace.ok_or_else(|| "the admission request names no namespace".to_owned())?;
        let options = ListOptions {
            label_selector: (!self.label_selector.is_empty()).then(|| self.label_selector.clone()),
            ..ListOptions::default()
        };
        let existing: BTreeSet<String> = self
            .api
            .list(
                &ResourceKind::of::<PersistentVolumeClaim>(),
                Some(namespace),
                &options,
            )
            .await
            .map_err(|e| e.to_string())?
            .items
            .into_iter()
            .filter_map(|claim| claim.metadata.name)
            .collect();
        let has_annotations = object.metadata.annotations.is_some();
        Ok(drop_missing(&spec, &candidates, &existing, has_annotations))
    }
}

/// The volumes of `spec` backed by a claim that is not a home claim, in order.
fn claim_volumes(spec: &PodSpec) -> Vec<ClaimVolume<'_>> {
    spec.volumes
        .iter()
        .flatten()
        .enumerate()
        .filter_map(|(index, volume)| {
            let claim = volume.persistent_volume_claim.as_ref()?.claim_name.as_str();
            (!claim.starts_with(PvcCheck::HOME_CLAIM_PREFIX)).then_some(ClaimVolume {
                index,
                name: &volume.name,
                claim,
            })
        })
        .collect()
}

/// The operations that drop the `candidates` whose claim is not in `existing`, in PrimeHub's
/// order (built forwards, then reversed).
fn drop_missing(
    spec: &PodSpec,
    candidates: &[ClaimVolume<'_>],
    existing: &BTreeSet<String>,
    has_annotations: bool,
) -> Vec<PatchOperation> {
    let missing: Vec<&ClaimVolume<'_>> = candidates
        .iter()
        .filter(|v| !existing.contains(v.claim))
        .collect();
    if missing.is_empty() {
        return Vec::new();
    }
    let mut ops = Vec::new();
    for volume in &missing {
        ops.push(remove(volume_path(volume.index)));
    }
    let dropped: BTreeSet<&str> = missing.iter().map(|v| v.name).collect();
    for (c, container) in spec.containers.iter().enumerate() {
        let mut dropped_paths: Vec<&str> = Vec::new();
        for (m, mount) in container.volume_mounts.iter().flatten().enumerate() {
            if dropped.contains(mount.name.as_str()) {
                ops.push(remove(container_path(c, "volumeMounts", m)));
                dropped_paths.push(&mount.mount_path);
            }
        }
        if dropped_paths.is_empty() {
            continue;
        }
        for (e, env) in container.env.iter().flatten().enumerate() {
            if env.name == PvcCheck::CHOWN_EXTRA {
                let value = env
                    .value
                    .as_deref()
                    .unwrap_or_default()
                    .split(',')
                    .filter(|path| !dropped_paths.contains(path))
                    .collect::<Vec<_>>()
                    .join(",");
                ops.push(PatchOperation::Replace(ReplaceOperation {
                    path: container_path(c, "env", e),
                    value: json!({"name": env.name, "value": value}),
                }));
            }
        }
    }
    let claims: Vec<&str> = missing.iter().map(|v| v.claim).collect();
    ops.push(PatchOperation::Add(AddOperation {
        path: PointerBuf::from_tokens(["metadata", "annotations", PvcCheck::ANNOTATION]),
        value: Value::String(claims.join(",")),
    }));
    if !has_annotations {
        ops.push(PatchOperation::Add(AddOperation {
            path: PointerBuf::from_tokens(["metadata", "annotations"]),
            value: json!({}),
        }));
    }
    ops.reverse();
    ops
}

/// `/spec/volumes/<index>`.
fn volume_path(index: usize) -> PointerBuf {
    let mut path = PointerBuf::from_tokens(["spec", "volumes"]);
    path.push_back(index);
    path
}

/// `/spec/containers/<container>/<field>/<index>`.
fn container_path(container: usize, field: &str, index: usize) -> PointerBuf {
    let mut path = PointerBuf::from_tokens(["spec", "containers"]);
    path.push_back(container);
    path.push_back(field);
    path.push_back(index);
    path
}

fn remove(path: PointerBuf) -> PatchOperation {
    PatchOperation::Remove(RemoveOperation { path })
}

#[async_trait]
impl AdmissionHandler for PvcCheck {
    fn name(&self) -> &str {
        Self::NAME
    }

    /// CREATE of pods, as PrimeHub's webhook rule.
    fn handles(&self, resource: &GroupVersionResource, operation: &Operation) -> bool {
        resource.resource == "pods" && *operation == Operation::Create
    }

    async fn review(&self, request: &AdmissionRequest<DynamicObject>) -> AdmissionResponse {
        let response = AdmissionResponse::from(request);
        let Some(object) = request.object.as_ref() else {
            return response;
        };
        let selected = object
            .metadata
            .labels
            .as_ref()
            .is_some_and(|labels| labels.contains_key(LABEL_GROUP));
        if !selected {
            return response;
        }
        match self.operations(request.namespace.as_deref(), object).await {
            Ok(ops) if ops.is_empty() => response,
            Ok(ops) => match response.clone().with_patch(Patch(ops)) {
                Ok(patched) => patched,
                Err(e) => failure(response, Self::FAILURE_CODE, &e.to_string()),
            },
            Err(message) => failure(response, Self::FAILURE_CODE, &message),
        }
    }
}
