//! Admission: one entry point for mutating/validating decisions, on `kube::core::admission`
//! types.
//!
//! An [`AdmissionHandler`] decides on one [`AdmissionRequest`]. The same handler is called
//!
//! - by a real API server, over HTTPS, through [`router`] (`POST /mutate` with an
//!   `admission.k8s.io/v1` `AdmissionReview`), registered with a `MutatingWebhookConfiguration`;
//! - by the fake cluster in process, on creates and updates (feature `fake`,
//!   `FakeCluster::add_admission_handler`), which builds the same `AdmissionReview`, applies a
//!   `JSONPatch` response and rejects with the response's status code and message as
//!   kube-apiserver does.
//!
//! Both go through [`review`], so a handler cannot behave differently in tests and in
//! production.
//!
//! ```
//! use std::sync::Arc;
//! use async_trait::async_trait;
//! use primehub_reconcile::admission::{self, AdmissionHandler, AdmissionRequest, AdmissionResponse};
//! use kube::core::DynamicObject;
//!
//! /// Labels every object it admits with `checked=yes`.
//! struct Checker;
//!
//! #[async_trait]
//! impl AdmissionHandler for Checker {
//!     fn name(&self) -> &str { "checker.primehub.io" }
//!     async fn review(&self, request: &AdmissionRequest<DynamicObject>) -> AdmissionResponse {
//!         let patch: json_patch::Patch = serde_json::from_value(serde_json::json!([
//!             {"op": "add", "path": "/metadata/labels", "value": {"checked": "yes"}}
//!         ])).expect("a valid patch");
//!         AdmissionResponse::from(request).with_patch(patch).expect("a serialisable patch")
//!     }
//! }
//!
//! // An HTTPS server serves this router; tests call it with tower's `oneshot`.
//! let app: axum::Router = admission::router(Arc::new(Checker));
//! # let _ = app;
//! ```

use std::sync::Arc;

use async_trait::async_trait;
use axum::Json;
use axum::extract::State;
use axum::routing::post;
use kube::core::DynamicObject;

pub use kube::core::admission::{
    AdmissionRequest, AdmissionResponse, AdmissionReview, Operation, PatchType,
};

/// A mutating or validating admission webhook's decision logic.
#[async_trait]
pub trait AdmissionHandler: Send + Sync {
    /// The webhook's name, as in the `MutatingWebhookConfiguration` (it appears in denial
    /// messages: `admission webhook "<name>" denied the request: …`).
    fn name(&self) -> &str;

    /// Whether the handler wants requests for `resource` and `operation`. A real API server
    /// decides this from the webhook configuration's rules; the fake cluster asks here. All
    /// requests by default.
    fn handles(&self, resource: &kube::core::GroupVersionResource, operation: &Operation) -> bool {
        let _ = (resource, operation);
        true
    }

    /// Decides on one request. Start from `AdmissionResponse::from(request)` (allowed, with the
    /// request's uid), then `.deny(reason)` or `.with_patch(patch)`.
    async fn review(&self, request: &AdmissionRequest<DynamicObject>) -> AdmissionResponse;
}

#[async_trait]
impl<T: AdmissionHandler + ?Sized> AdmissionHandler for Arc<T> {
    fn name(&self) -> &str {
        (**self).name()
    }

    fn handles(&self, resource: &kube::core::GroupVersionResource, operation: &Operation) -> bool {
        (**self).handles(resource, operation)
    }

    async fn review(&self, request: &AdmissionRequest<DynamicObject>) -> AdmissionResponse {
        (**self).review(request).await
    }
}

/// The one entry point: takes an `AdmissionReview` with a request and returns the reviewed one
/// (with the response, its uid copied from the request). A review without a request gets an
/// `invalid` response, as a webhook should answer a malformed call.
pub async fn review(
    handler: &dyn AdmissionHandler,
    review: AdmissionReview<DynamicObject>,
) -> AdmissionReview<DynamicObject> {
    let types = review.types.clone();
    let request: AdmissionRequest<DynamicObject> = match review.try_into() {
        Ok(request) => request,
        Err(_) => {
            let mut reviewed =
                AdmissionResponse::invalid("the AdmissionReview has no request").into_review();
            if !types.api_version.is_empty() {
                reviewed.types = types;
            }
            return reviewed;
        }
    };
    let mut response = handler.review(&request).await;
    // The API server matches the response to its request by uid: never let a handler get it
    // wrong.
    response.uid.clone_from(&request.uid);
    let mut reviewed = response.into_review();
    reviewed.types = types;
    reviewed
}

/// An axum router serving `POST /mutate`: `AdmissionReview` (`admission.k8s.io/v1`) JSON in,
/// the reviewed `AdmissionReview` out. Serve it over HTTPS for a real API server (which only
/// calls webhooks over TLS). A body that is not an `AdmissionReview` gets axum's JSON rejection
/// (HTTP 400/415/422).
pub fn router(handler: Arc<dyn AdmissionHandler>) -> axum::Router {
    axum::Router::new()
        .route("/mutate", post(mutate))
        .with_state(handler)
}

async fn mutate(
    State(handler): State<Arc<dyn AdmissionHandler>>,
    Json(body): Json<AdmissionReview<DynamicObject>>,
) -> Json<AdmissionReview<DynamicObject>> {
    Json(review(handler.as_ref(), body).await)
}

/// The patch of a response if it is a `JSONPatch` (the only type Kubernetes defines), `Ok(None)`
/// without a patch, and an error message for a patch of another (or no) type, or one that is
/// not a JSON patch — which kube-apiserver reports as a webhook failure.
pub fn response_patch(response: &AdmissionResponse) -> Result<Option<json_patch::Patch>, String> {
    let Some(bytes) = response.patch.as_deref() else {
        return Ok(None);
    };
    let patch_type = serde_json::to_value(response)
        .ok()
        .and_then(|v| v.get("patchType").cloned());
    if patch_type != Some(serde_json::Value::String("JSONPatch".into())) {
        return Err(format!(
            "the response has a patch of type {patch_type:?}; only \"JSONPatch\" is supported"
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| format!("the patch is not a JSON patch: {e}"))
}

/// The HTTP status and message kube-apiserver answers a denied request with: the response's
/// `status.code` (403 when it is below 400) and `admission webhook "<name>" denied the request:
/// <message>` (or the reason, or "without explanation").
pub fn denial(name: &str, response: &AdmissionResponse) -> (u16, String) {
    let status = &response.result;
    let code = if status.code < 400 { 403 } else { status.code };
    let denied_by = format!("admission webhook {name:?} denied the request");
    let message = if !status.message.is_empty() {
        format!("{denied_by}: {}", status.message)
    } else if !status.reason.is_empty() {
        format!("{denied_by}: {}", status.reason)
    } else {
        format!("{denied_by} without explanation")
    };
    (code, message)
}
