//! `pod-image-mutating-webhook.primehub.io`: PrimeHub's air-gap image rewrite, which prefixes
//! every container image with a private registry.
//!
//! PrimeHub registers it (`MutatingWebhookConfiguration` `pod-image-mutating-webhook`, path
//! [`ImageMutation::PATH`]) for CREATE of pods in namespaces labelled
//! `primehub.io/image-mutation-webhook=enabled` ([`ImageMutation::NAMESPACE_LABEL`]). Unlike
//! the quota and pvc-check webhooks it looks at **every** pod it is sent, labelled or not.
//!
//! With an empty prefix (`IMAGE_PREFIX` unset in PrimeHub) [`ImageMutation`] allows the pod
//! unchanged. Otherwise it answers a JSON patch with one `replace` of
//! `/spec/initContainers/<i>/image` and then `/spec/containers/<i>/image` for each image that
//! does not already start with the prefix, so admitting a pod twice changes nothing the second
//! time. A pod without a `spec`, or a container without an image, is denied with code 410
//! ([`ImageMutation::FAILURE_CODE`]) and the error text as message and reason, as PrimeHub does.
//! When every image already has the prefix the pod is allowed without a patch (PrimeHub sends an
//! empty JSON patch; the effect is the same).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use primehub_reconcile::admission::{self, AdmissionReview};
//! use primehub_reconcile::webhook::image_mutation::ImageMutation;
//! use serde_json::json;
//!
//! let handler = ImageMutation::new("primehub.airgap:5000/");
//! let review: AdmissionReview<kube::core::DynamicObject> = serde_json::from_value(json!({
//!     "apiVersion": "admission.k8s.io/v1",
//!     "kind": "AdmissionReview",
//!     "request": {
//!         "uid": "0f5c7d2e",
//!         "kind": {"group": "", "version": "v1", "kind": "Pod"},
//!         "resource": {"group": "", "version": "v1", "resource": "pods"},
//!         "namespace": "hub",
//!         "operation": "CREATE",
//!         "userInfo": {"username": "system:serviceaccount:hub:hub"},
//!         "object": {
//!             "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "jupyter-alice"},
//!             "spec": {"containers": [{"name": "notebook", "image": "jupyter/base-notebook"}]},
//!         },
//!     },
//! }))?;
//! let reviewed = admission::review(&handler, review).await;
//! let response = reviewed.response.ok_or("no response")?;
//! let patch = admission::response_patch(&response)?.ok_or("no patch")?;
//! assert_eq!(serde_json::to_value(&patch)?, json!([{
//!     "op": "replace",
//!     "path": "/spec/containers/0/image",
//!     "value": "primehub.airgap:5000/jupyter/base-notebook",
//! }]));
//! # Ok(()) }
//! ```

use async_trait::async_trait;
use json_patch::jsonptr::PointerBuf;
use json_patch::{Patch, PatchOperation, ReplaceOperation};
use k8s_openapi::api::core::v1::{Container, Pod};
use kube::core::{DynamicObject, GroupVersionResource};
use serde_json::Value;

use crate::admission::{AdmissionHandler, AdmissionRequest, AdmissionResponse, Operation};
use crate::webhook::failure;

/// PrimeHub's `pod-image-mutating-webhook.primehub.io` webhook: prefixes the image of every init
/// container and container with a registry. See the [module docs](self).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageMutation {
    prefix: String,
}

impl ImageMutation {
    /// The webhook's name in PrimeHub's `pod-image-mutating-webhook` configuration.
    pub const NAME: &str = "pod-image-mutating-webhook.primehub.io";
    /// The path PrimeHub's admission service serves the webhook on.
    pub const PATH: &str = "/image-mutation";
    /// The namespace label (value `enabled`) PrimeHub's webhook configuration selects on.
    pub const NAMESPACE_LABEL: &str = "primehub.io/image-mutation-webhook";
    /// The status code PrimeHub denies with when the pod cannot be read.
    pub const FAILURE_CODE: u16 = 410;

    /// A mutation prefixing images with `prefix` (PrimeHub's `IMAGE_PREFIX`, for example
    /// `primehub.airgap:5000/`); an empty prefix changes nothing.
    pub fn new(prefix: impl Into<String>) -> ImageMutation {
        ImageMutation {
            prefix: prefix.into(),
        }
    }

    /// The prefix images get.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The `replace` operations for `object`; `Err` with the text to deny with.
    fn operations(&self, object: &DynamicObject) -> Result<Vec<PatchOperation>, String> {
        let pod: Pod = object
            .clone()
            .try_parse()
            .map_err(|e| format!("the pod cannot be read: {e}"))?;
        let spec = pod
            .spec
            .ok_or_else(|| "not a valid pod definition".to_owned())?;
        let mut ops = Vec::new();
        let lists: [(&str, &[Container]); 2] = [
            (
                "initContainers",
                spec.init_containers.as_deref().unwrap_or_default(),
            ),
            ("containers", &spec.containers),
        ];
        for (field, containers) in lists {
            for (index, container) in containers.iter().enumerate() {
                let image = container.image.as_deref().ok_or_else(|| {
                    format!("spec.{field}[{index}] ({}) has no image", container.name)
                })?;
                if image.starts_with(&self.prefix) {
                    continue;
                }
                let mut path = PointerBuf::from_tokens(["spec", field]);
                path.push_back(index);
                path.push_back("image");
                ops.push(PatchOperation::Replace(ReplaceOperation {
                    path,
                    value: Value::String(format!("{}{image}", self.prefix)),
                }));
            }
        }
        Ok(ops)
    }
}

#[async_trait]
impl AdmissionHandler for ImageMutation {
    fn name(&self) -> &str {
        Self::NAME
    }

    /// CREATE of pods, as PrimeHub's webhook rule.
    fn handles(&self, resource: &GroupVersionResource, operation: &Operation) -> bool {
        resource.resource == "pods" && *operation == Operation::Create
    }

    async fn review(&self, request: &AdmissionRequest<DynamicObject>) -> AdmissionResponse {
        let response = AdmissionResponse::from(request);
        if self.prefix.is_empty() {
            return response;
        }
        let result = match request.object.as_ref() {
            Some(object) => self.operations(object),
            None => Err("the admission request has no object".to_owned()),
        };
        let error = match result {
            Ok(ops) if ops.is_empty() => return response,
            Ok(ops) => match response.clone().with_patch(Patch(ops)) {
                Ok(patched) => return patched,
                Err(e) => e.to_string(),
            },
            Err(message) => message,
        };
        failure(response, Self::FAILURE_CODE, &error)
    }
}
