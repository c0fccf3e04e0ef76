//! PrimeHub's resource-validation webhook (`resources-validation-webhook.primehub.io`): pods
//! stay within their group's quotas (`primehub-controllers.md` §1.2–1.6).
//!
//! For a pod CREATE carrying the `primehub.io/group` label, [`ResourcesValidation`]:
//!
//! 1. reads the pod's request: the limits of its containers (init containers and requests are
//!    ignored), by [`PodCharge::of_parts`] — the same code the ledger charges stored pods with;
//! 2. reads the group's quotas from its [`QuotaSource`];
//! 3. reads usage from the namespace's [`PodUsage`] ledger plus the pods admitted but not yet
//!    seen by its watch ([`InFlight`](crate::webhook::in_flight::InFlight)) — never a pod list;
//! 4. decides with [`quota::decide`]: the user tier (when the pod has a user label) then the
//!    group tier, cpu → gpu → memory, PrimeHub's rule and message;
//! 5. answers: **allowed** with a JSON patch removing the first `admission-is-not-found` init
//!    container (no patch when there is none), or **denied** with code 410 and PrimeHub's text
//!    (`User alice exceeded cpu quota: 1, requesting 0.5`) as both message and reason. An
//!    allowed pod's charge is reserved until the watch shows the pod — except for a dry run
//!    (`dryRun: true`, e.g. `kubectl apply --dry-run=server`), which is decided the same way
//!    but never stored, so it reserves nothing.
//!
//! Pods without the group label are allowed untouched. Pods without a user label (PrimeHub's
//! model deployments) get the group check only.
//!
//! **When it cannot decide** — the group is unknown to the quota source, the source fails, the
//! pod's quantities or labels cannot be read, the namespace's pods are not watched or not yet
//! listed — the [`UndecidedPolicy`] applies: `allow` (the default, PrimeHub's fail-open
//! behaviour: the sentinel is removed and the pod admitted) or `deny` (code 403 with a message
//! naming the cause). Either way the outcome is counted in [`WebhookMetrics`] and logged.
//!
//! Where PrimeHub differs: it lists the namespace's pods on every request (the cost grows with
//! the pods) and decides two quick creates independently (both can slip under a quota); it
//! also fails open on *every* error, silently.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::PodSpec;
use kube::core::{DynamicObject, GroupVersionResource};
use primehub_model::pod::ADMISSION_SENTINEL;
use primehub_model::quota::{self, PodCharge, TierCheck};
use serde::Deserialize;
use serde_json::Value;

use crate::admission::{AdmissionHandler, AdmissionRequest, AdmissionResponse, Operation};
use crate::stores::PodUsage;
use crate::webhook::failure;
use crate::webhook::metrics::{QuotaOutcome, WebhookMetrics};
use crate::webhook::quotas::QuotaSource;

/// What to do with a PrimeHub pod the webhook cannot decide on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum UndecidedPolicy {
    /// Admit it (removing the sentinel), as PrimeHub does, and count it. The default: the
    /// webhook is registered with `failurePolicy: Ignore`, so a webhook that is down admits
    /// pods anyway, and refusing here would only turn a stale quota source into failed
    /// launches.
    #[default]
    Allow,
    /// Refuse it with code 403 and a message naming the cause.
    Deny,
}

impl std::str::FromStr for UndecidedPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "allow" => Ok(UndecidedPolicy::Allow),
            "deny" => Ok(UndecidedPolicy::Deny),
            other => Err(format!(
                "{other:?} is not a policy: use \"allow\" or \"deny\""
            )),
        }
    }
}

impl std::fmt::Display for UndecidedPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            UndecidedPolicy::Allow => "allow",
            UndecidedPolicy::Deny => "deny",
        })
    }
}

/// Why a pod could not be decided on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Undecided {
    /// The quota source does not know the group.
    UnknownGroup,
    /// The quota source failed.
    QuotaSourceFailed,
    /// A quantity or label of the pod could not be read.
    UnreadablePod,
    /// No ledger watches the pod's namespace.
    NamespaceNotWatched,
    /// The namespace's pods have not been listed yet.
    UsageNotSynced,
}

impl Undecided {
    /// The metric label of the cause.
    pub fn as_str(self) -> &'static str {
        match self {
            Undecided::UnknownGroup => "unknown_group",
            Undecided::QuotaSourceFailed => "quota_source_failed",
            Undecided::UnreadablePod => "unreadable_pod",
            Undecided::NamespaceNotWatched => "namespace_not_watched",
            Undecided::UsageNotSynced => "usage_not_synced",
        }
    }
}

/// The resource-validation handler. Build it with [`ResourcesValidation::new`], add the
/// namespaces it decides in with [`watching`](Self::watching), and serve it (HTTPS route or
/// the fake cluster's in-process admission).
pub struct ResourcesValidation {
    usage: HashMap<String, PodUsage>,
    quotas: Arc<dyn QuotaSource>,
    policy: UndecidedPolicy,
    metrics: WebhookMetrics,
}

impl std::fmt::Debug for ResourcesValidation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourcesValidation")
            .field("namespaces", &self.usage.keys().collect::<Vec<_>>())
            .field("quotas", &self.quotas.describe())
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// The pod fields the decision reads from the request.
#[derive(Deserialize)]
struct PodSpecOnly {
    #[serde(default)]
    spec: Option<PodSpec>,
}

impl ResourcesValidation {
    /// The webhook's name as PrimeHub registers it. kube-apiserver puts it in a denial
    /// (`admission webhook "resources-validation-webhook.primehub.io" denied the request: …`),
    /// where PrimeHub's job controller recognises it.
    pub const NAME: &str = "resources-validation-webhook.primehub.io";
    /// The path PrimeHub serves it at.
    pub const PATH: &str = "/";
    /// The HTTP code of PrimeHub's quota denials.
    pub const DENIAL_CODE: u16 = 410;
    /// The HTTP code of a denial by [`UndecidedPolicy::Deny`].
    pub const UNDECIDED_DENIAL_CODE: u16 = 403;

    /// A handler reading quotas from `quotas`, watching no namespace yet, with the default
    /// policy and its own metrics.
    pub fn new(quotas: Arc<dyn QuotaSource>) -> ResourcesValidation {
        ResourcesValidation {
            usage: HashMap::new(),
            quotas,
            policy: UndecidedPolicy::default(),
            metrics: WebhookMetrics::default(),
        }
    }

    /// Decides pods of `namespace` on `usage` (started with [`PodUsage::start`] for it).
    pub fn watching(mut self, namespace: &str, usage: PodUsage) -> ResourcesValidation {
        self.usage.insert(namespace.to_owned(), usage);
        self
    }

    /// What to do when it cannot decide.
    pub fn with_policy(mut self, policy: UndecidedPolicy) -> ResourcesValidation {
        self.policy = policy;
        self
    }

    /// Counts into `metrics` (share them with the server's `/metrics`).
    pub fn with_metrics(mut self, metrics: WebhookMetrics) -> ResourcesValidation {
        self.metrics = metrics;
        self
    }

    /// The metrics it counts into.
    pub fn metrics(&self) -> &WebhookMetrics {
        &self.metrics
    }

    /// The quota source.
    pub fn quotas(&self) -> &Arc<dyn QuotaSource> {
        &self.quotas
    }

    /// The usage of each watched namespace.
    pub fn usage(&self) -> &HashMap<String, PodUsage> {
        &self.usage
    }

    /// Whether every watched namespace's pods are listed and the quota source is ready.
    pub fn is_ready(&self) -> bool {
        self.quotas.is_ready() && self.usage.values().all(PodUsage::is_ready)
    }

    /// Updates the ledger-size and in-flight gauges (call before encoding the metrics).
    pub fn refresh_gauges(&self) {
        for (namespace, usage) in &self.usage {
            self.metrics
                .set_usage_gauges(namespace, usage.counted_pods(), usage.in_flight().len());
        }
    }

    fn undecided(
        &self,
        request: &AdmissionRequest<DynamicObject>,
        cause: Undecided,
        message: String,
    ) -> AdmissionResponse {
        self.metrics.count_undecided(cause, self.policy);
        let pod = pod_name(request);
        match self.policy {
            UndecidedPolicy::Allow => {
                tracing::warn!(
                    pod = %pod,
                    cause = cause.as_str(),
                    "admitted without a quota check (policy allow): {message}"
                );
                allow_removing_sentinel(request)
            }
            UndecidedPolicy::Deny => {
                tracing::warn!(
                    pod = %pod,
                    cause = cause.as_str(),
                    "refused without a quota check (policy deny): {message}"
                );
                failure(
                    AdmissionResponse::from(request),
                    Self::UNDECIDED_DENIAL_CODE,
                    &format!("the pod's quotas cannot be checked: {message}"),
                )
            }
        }
    }

    /// The decision on one request (what [`AdmissionHandler::review`] answers).
    pub async fn decide(&self, request: &AdmissionRequest<DynamicObject>) -> AdmissionResponse {
        let Some(object) = request.object.as_ref() else {
            self.metrics.count(QuotaOutcome::Skipped);
            return AdmissionResponse::from(request);
        };
        let labels = object.metadata.labels.as_ref();
        if labels.is_none_or(|l| !l.contains_key(primehub_model::names::LABEL_GROUP)) {
            self.metrics.count(QuotaOutcome::Skipped);
            return AdmissionResponse::from(request);
        }
        let spec = match PodSpecOnly::deserialize(&object.data) {
            Ok(pod) => pod.spec,
            Err(e) => {
                return self.undecided(
                    request,
                    Undecided::UnreadablePod,
                    format!("spec: not a pod spec: {e}"),
                );
            }
        };
        let charge = match PodCharge::of_parts(labels, spec.as_ref()) {
            Ok(Some(charge)) => charge,
            Ok(None) => {
                self.metrics.count(QuotaOutcome::Skipped);
                return AdmissionResponse::from(request);
            }
            Err(e) => return self.undecided(request, Undecided::UnreadablePod, e.to_string()),
        };
        let namespace = request.namespace.as_deref().unwrap_or_default();
        let Some(usage) = self.usage.get(namespace) else {
            return self.undecided(
                request,
                Undecided::NamespaceNotWatched,
                format!("this webhook does not watch the pods of namespace {namespace:?}"),
            );
        };
        if !usage.is_ready() {
            return self.undecided(
                request,
                Undecided::UsageNotSynced,
                format!("the pods of namespace {namespace:?} are not listed yet"),
            );
        }
        let quotas = match self.quotas.group_quotas(&charge.group).await {
            Ok(Some(quotas)) => quotas,
            Ok(None) => {
                return self.undecided(
                    request,
                    Undecided::UnknownGroup,
                    format!(
                        "group {:?} is unknown to the quota source ({})",
                        charge.group,
                        self.quotas.describe()
                    ),
                );
            }
            Err(e) => return self.undecided(request, Undecided::QuotaSourceFailed, e.to_string()),
        };
        let in_flight = usage.in_flight();
        let mut guard = in_flight.lock();
        let (pending_group, pending_user) = guard.pending(&charge.group, charge.user.as_deref());
        let (used_group, used_user) = usage.with_ledger(|ledger| {
            (
                ledger.group(&charge.group),
                charge
                    .user
                    .as_deref()
                    .map(|u| ledger.user_in_group(&charge.group, u))
                    .unwrap_or_default(),
            )
        });
        let user_check = charge.user.as_deref().map(|name| TierCheck {
            name,
            quota: quotas.user,
            usage: used_user.saturating_add(&pending_user),
        });
        let group_check = TierCheck {
            name: &charge.group,
            quota: quotas.group,
            usage: used_group.saturating_add(&pending_group),
        };
        match quota::decide(&charge.amounts, user_check.as_ref(), &group_check) {
            Ok(()) => {
                let name = object.metadata.name.as_deref().unwrap_or_default();
                let generate_name = object.metadata.generate_name.as_deref().unwrap_or_default();
                // A dry run is never stored: a reservation would hold its quota for the whole
                // window (kube-apiserver calls webhooks with `dryRun: true` for them).
                if !request.dry_run {
                    guard.reserve(name, generate_name, charge);
                }
                drop(guard);
                self.metrics.count(QuotaOutcome::Allowed);
                allow_removing_sentinel(request)
            }
            Err(exceeded) => {
                drop(guard);
                self.metrics.count(QuotaOutcome::Denied);
                let message = exceeded.to_string();
                tracing::info!(pod = %pod_name(request), "denied: {message}");
                failure(
                    AdmissionResponse::from(request),
                    Self::DENIAL_CODE,
                    &message,
                )
            }
        }
    }
}

fn pod_name(request: &AdmissionRequest<DynamicObject>) -> String {
    let namespace = request.namespace.as_deref().unwrap_or_default();
    let object = request.object.as_ref().map(|o| &o.metadata);
    match object
        .and_then(|m| m.name.as_deref())
        .filter(|n| !n.is_empty())
    {
        Some(name) => format!("{namespace}/{name}"),
        None => format!(
            "{namespace}/{}*",
            object
                .and_then(|m| m.generate_name.as_deref())
                .unwrap_or_default()
        ),
    }
}

/// The index of the first init container named `admission-is-not-found`, if any.
fn sentinel_index(object: &DynamicObject) -> Option<usize> {
    object
        .data
        .pointer("/spec/initContainers")
        .and_then(Value::as_array)?
        .iter()
        .position(|c| c.get("name").and_then(Value::as_str) == Some(ADMISSION_SENTINEL))
}

/// Allowed, with a JSON patch removing the first sentinel init container when there is one.
pub fn allow_removing_sentinel(request: &AdmissionRequest<DynamicObject>) -> AdmissionResponse {
    let response = AdmissionResponse::from(request);
    let Some(index) = request.object.as_ref().and_then(sentinel_index) else {
        return response;
    };
    let patch = serde_json::from_value::<json_patch::Patch>(serde_json::json!([
        {"op": "remove", "path": format!("/spec/initContainers/{index}")}
    ]));
    let patch = match patch {
        Ok(patch) => patch,
        Err(e) => {
            tracing::error!("cannot build the sentinel patch: {e}");
            return response;
        }
    };
    match response.clone().with_patch(patch) {
        Ok(patched) => patched,
        Err(e) => {
            tracing::error!("cannot serialise the sentinel patch: {e}");
            response
        }
    }
}

#[async_trait]
impl AdmissionHandler for ResourcesValidation {
    fn name(&self) -> &str {
        Self::NAME
    }

    /// Pod creates only, as PrimeHub registers it.
    fn handles(&self, resource: &GroupVersionResource, operation: &Operation) -> bool {
        resource.group.is_empty()
            && resource.resource == "pods"
            && matches!(operation, Operation::Create)
    }

    async fn review(&self, request: &AdmissionRequest<DynamicObject>) -> AdmissionResponse {
        self.decide(request).await
    }
}
