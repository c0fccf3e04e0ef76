//! PrimeHub's admission webhooks (`primehub-controllers.md` §1), served by `primehub-webhook`
//! over HTTPS and called in process by the fake cluster in `primehub dev`.
//!
//! PrimeHub's `primehub-admission` service registers its webhooks (chart
//! `templates/admission/webhook.yaml`, all with `failurePolicy: Ignore`); each module is one of
//! them, called through [`admission::review`] by a real API server or in process by the fake
//! cluster:
//!
//! | path | webhook | module | what it does |
//! |---|---|---|---|
//! | `/` | `resources-validation-webhook.primehub.io` (mutating, CREATE pods) | [`resources`] | keeps pods within their group's user and group quotas; removes the sentinel init container |
//! | `/pvc-check` | `pvc-check.primehub.io` (mutating, CREATE pods) | [`pvc_check`] | drops the volumes of PrimeHub pods whose claim does not exist |
//! | `/image-mutation` | `pod-image-mutating-webhook.primehub.io` (mutating, CREATE pods) | [`image_mutation`] | prefixes every image with the air-gap registry |
//! | `/license-check` | `license-validating-webhook.primehub.io` (validating, CREATE/UPDATE licenses) | [`license_check`] | refuses a License for another platform |
//!
//! Quotas come from a [`quotas::QuotaSource`]; usage from the namespace's pod ledger
//! ([`crate::stores::PodUsage`]) plus the pods admitted but not yet seen by its watch
//! ([`in_flight`]). [`router`] serves handlers at PrimeHub's paths, with [`metrics`]; it and
//! [`review_body`] are the one path from a request body to an answer, which the benchmark
//! measures too.
//!
//! ```
//! # #[cfg(feature = "fake")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use std::time::Duration;
//! use primehub_model::quantity::Cpu;
//! use primehub_model::quota::Quota;
//! use primehub_reconcile::fake::FakeCluster;
//! use primehub_reconcile::stores::PodUsage;
//! use primehub_reconcile::webhook::quotas::{GroupQuotas, StaticQuotas};
//! use primehub_reconcile::webhook::resources::ResourcesValidation;
//!
//! let cluster = FakeCluster::new();
//! let (usage, driver) = PodUsage::start(cluster.client(), "hub", Some("primehub.io/group"));
//! tokio::spawn(driver);
//! usage.wait_ready(Duration::from_secs(5)).await?;
//!
//! let one_cpu = Quota { cpu: Some(Cpu::from_millis(1000)), ..Quota::UNLIMITED };
//! let quotas = StaticQuotas::new([("phusers".to_owned(), GroupQuotas { user: one_cpu, group: Quota::UNLIMITED })]);
//! let webhook = Arc::new(ResourcesValidation::new(Arc::new(quotas)).watching("hub", usage));
//! cluster.add_admission_handler(webhook);
//!
//! let pod = |name: &str| serde_json::json!({
//!     "apiVersion": "v1", "kind": "Pod",
//!     "metadata": {"name": name, "namespace": "hub",
//!                  "labels": primehub_model::names::primehub_labels("alice", "phusers")},
//!     "spec": {"containers": [{"name": "main", "image": "busybox",
//!                              "resources": {"limits": {"cpu": "800m"}}}]}
//! });
//! let pods: kube::Api<kube::core::DynamicObject> = kube::Api::namespaced_with(
//!     cluster.client(), "hub", &kube::discovery::ApiResource::erase::<k8s_openapi::api::core::v1::Pod>(&()));
//! let params = kube::api::PostParams::default();
//! pods.create(&params, &serde_json::from_value(pod("first"))?).await?;
//! let refused = pods.create(&params, &serde_json::from_value(pod("second"))?).await.unwrap_err();
//! assert!(refused.to_string().contains("User alice exceeded cpu quota: 1, requesting 0.8"));
//! # Ok(()) }
//! # #[cfg(not(feature = "fake"))]
//! # fn main() {}
//! ```

pub mod image_mutation;
pub mod in_flight;
pub mod license_check;
pub mod metrics;
pub mod pvc_check;
pub mod quotas;
pub mod resources;

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use kube::core::DynamicObject;

use crate::admission::{self, AdmissionHandler, AdmissionResponse, AdmissionReview};
use metrics::WebhookMetrics;

/// PrimeHub's refusal: `allowed: false` with `status: Failure`, `code`, and `message` as both
/// the message and the reason (PrimeHub's resource validation, pvc-check and image mutation
/// answer so).
pub fn failure(response: AdmissionResponse, code: u16, message: &str) -> AdmissionResponse {
    let mut denied = response.deny(message);
    denied.result = kube::core::Status::failure(message, message).with_code(code);
    denied
}

/// Why a body got no AdmissionReview back: it was not one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedReview(pub String);

impl std::fmt::Display for MalformedReview {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MalformedReview {}

/// One admission, body to body: parses an `admission.k8s.io/v1` `AdmissionReview`, asks
/// `handler` through [`admission::review`], counts it in `metrics`, and returns the reviewed
/// `AdmissionReview` as JSON.
///
/// # Errors
///
/// [`MalformedReview`], naming what is wrong, when the body is not an AdmissionReview with a
/// request (the HTTP route answers 400 with it).
pub async fn review_body(
    handler: &dyn AdmissionHandler,
    metrics: &WebhookMetrics,
    body: &[u8],
) -> Result<Vec<u8>, MalformedReview> {
    let started = Instant::now();
    let malformed = |why: String| {
        metrics.count_malformed(handler.name());
        MalformedReview(why)
    };
    let review: AdmissionReview<DynamicObject> = serde_json::from_slice(body).map_err(|e| {
        malformed(format!(
            "the body is not an admission.k8s.io/v1 AdmissionReview: {e}"
        ))
    })?;
    if review.request.is_none() {
        return Err(malformed("the AdmissionReview has no request".to_owned()));
    }
    let reviewed = admission::review(handler, review).await;
    let allowed = reviewed.response.as_ref().is_some_and(|r| r.allowed);
    let out = serde_json::to_vec(&reviewed)
        .map_err(|e| malformed(format!("the answer cannot be serialised: {e}")))?;
    metrics.observe_review(handler.name(), allowed, started.elapsed());
    Ok(out)
}

#[derive(Clone)]
struct Route {
    handler: Arc<dyn AdmissionHandler>,
    metrics: WebhookMetrics,
}

async fn serve_review(State(route): State<Route>, body: Bytes) -> Response {
    match review_body(route.handler.as_ref(), &route.metrics, &body).await {
        Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        Err(MalformedReview(message)) => (StatusCode::BAD_REQUEST, message).into_response(),
    }
}

/// An axum router serving each `(path, handler)` with `POST` (AdmissionReview JSON in and
/// out; HTTP 400 with a message for a body that is not one), counting into `metrics`. Serve it
/// over HTTPS for a real API server.
pub fn router(
    endpoints: impl IntoIterator<Item = (String, Arc<dyn AdmissionHandler>)>,
    metrics: &WebhookMetrics,
) -> axum::Router {
    let mut router = axum::Router::new();
    for (path, handler) in endpoints {
        let route = Route {
            handler,
            metrics: metrics.clone(),
        };
        router = router.route(&path, post(serve_review).with_state(route));
    }
    router
}
