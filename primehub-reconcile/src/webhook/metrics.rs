//! Prometheus metrics of the admission webhooks (prometheus-client), served at `/metrics`:
//!
//! | metric | labels | what |
//! |---|---|---|
//! | `primehub_webhook_reviews_total` | `webhook`, `allowed` | AdmissionReviews answered, by webhook and answer |
//! | `primehub_webhook_review_duration_seconds` | `webhook` | time from body to answer (histogram, 10 µs … 0.3 s) |
//! | `primehub_webhook_malformed_reviews_total` | `webhook` | bodies that were not an AdmissionReview (HTTP 400) |
//! | `primehub_webhook_quota_decisions_total` | `outcome` | resource validation: `skipped` (no group label), `allowed`, `denied` (over quota), `undecided_allowed`, `undecided_denied` |
//! | `primehub_webhook_undecided_total` | `cause`, `policy` | why a pod could not be decided on (`unknown_group`, `quota_source_failed`, `unreadable_pod`, `namespace_not_watched`, `usage_not_synced`) |
//! | `primehub_webhook_ledger_pods` | `namespace` | pods counted in the usage ledger |
//! | `primehub_webhook_in_flight_pods` | `namespace` | admitted pods not yet seen by the watch |

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::webhook::resources::{Undecided, UndecidedPolicy};

/// The outcome of one resource-validation decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuotaOutcome {
    /// Not a PrimeHub pod (no group label): allowed untouched.
    Skipped,
    /// Within quota.
    Allowed,
    /// Over quota.
    Denied,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ReviewLabels {
    webhook: String,
    allowed: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct WebhookLabel {
    webhook: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct UndecidedLabels {
    cause: String,
    policy: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct NamespaceLabel {
    namespace: String,
}

type DurationFamily = Family<WebhookLabel, Histogram, fn() -> Histogram>;

fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_01, 2.0, 15))
}

struct Inner {
    registry: Registry,
    reviews: Family<ReviewLabels, Counter>,
    durations: DurationFamily,
    malformed: Family<WebhookLabel, Counter>,
    decisions: Family<OutcomeLabel, Counter>,
    undecided: Family<UndecidedLabels, Counter>,
    ledger_pods: Family<NamespaceLabel, Gauge>,
    in_flight: Family<NamespaceLabel, Gauge>,
}

/// The webhooks' metrics. Cheap to clone: clones count into the same registry.
#[derive(Clone)]
pub struct WebhookMetrics {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for WebhookMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookMetrics").finish_non_exhaustive()
    }
}

impl Default for WebhookMetrics {
    fn default() -> Self {
        WebhookMetrics::new()
    }
}

impl WebhookMetrics {
    /// A registry with the metrics of the table above, all at zero.
    pub fn new() -> WebhookMetrics {
        let mut registry = Registry::with_prefix("primehub_webhook");
        let reviews = Family::<ReviewLabels, Counter>::default();
        let durations: DurationFamily = Family::new_with_constructor(duration_histogram);
        let malformed = Family::<WebhookLabel, Counter>::default();
        let decisions = Family::<OutcomeLabel, Counter>::default();
        let undecided = Family::<UndecidedLabels, Counter>::default();
        let ledger_pods = Family::<NamespaceLabel, Gauge>::default();
        let in_flight = Family::<NamespaceLabel, Gauge>::default();
        registry.register("reviews", "AdmissionReviews answered", reviews.clone());
        registry.register(
            "review_duration_seconds",
            "Time from an AdmissionReview body to its answer",
            durations.clone(),
        );
        registry.register(
            "malformed_reviews",
            "Bodies that were not an AdmissionReview",
            malformed.clone(),
        );
        registry.register(
            "quota_decisions",
            "Resource-validation decisions by outcome",
            decisions.clone(),
        );
        registry.register(
            "undecided",
            "Pods the resource validation could not decide on, by cause and policy",
            undecided.clone(),
        );
        registry.register(
            "ledger_pods",
            "Pods counted in the usage ledger",
            ledger_pods.clone(),
        );
        registry.register(
            "in_flight_pods",
            "Admitted pods not yet seen by the pod watch",
            in_flight.clone(),
        );
        WebhookMetrics {
            inner: Arc::new(Inner {
                registry,
                reviews,
                durations,
                malformed,
                decisions,
                undecided,
                ledger_pods,
                in_flight,
            }),
        }
    }

    /// Counts one answered review of `webhook` and how long it took.
    pub fn observe_review(&self, webhook: &str, allowed: bool, took: Duration) {
        self.inner
            .reviews
            .get_or_create(&ReviewLabels {
                webhook: webhook.to_owned(),
                allowed: allowed.to_string(),
            })
            .inc();
        self.inner
            .durations
            .get_or_create(&WebhookLabel {
                webhook: webhook.to_owned(),
            })
            .observe(took.as_secs_f64());
    }

    /// Counts a body that was not an AdmissionReview.
    pub fn count_malformed(&self, webhook: &str) {
        self.inner
            .malformed
            .get_or_create(&WebhookLabel {
                webhook: webhook.to_owned(),
            })
            .inc();
    }

    /// Counts a decided (or skipped) pod.
    pub fn count(&self, outcome: QuotaOutcome) {
        let outcome = match outcome {
            QuotaOutcome::Skipped => "skipped",
            QuotaOutcome::Allowed => "allowed",
            QuotaOutcome::Denied => "denied",
        };
        self.inner
            .decisions
            .get_or_create(&OutcomeLabel {
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    /// Counts a pod that could not be decided on, and what the policy did.
    pub fn count_undecided(&self, cause: Undecided, policy: UndecidedPolicy) {
        self.inner
            .undecided
            .get_or_create(&UndecidedLabels {
                cause: cause.as_str().to_owned(),
                policy: policy.to_string(),
            })
            .inc();
        let outcome = match policy {
            UndecidedPolicy::Allow => "undecided_allowed",
            UndecidedPolicy::Deny => "undecided_denied",
        };
        self.inner
            .decisions
            .get_or_create(&OutcomeLabel {
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    /// Sets the ledger and in-flight gauges of `namespace`.
    pub fn set_usage_gauges(&self, namespace: &str, ledger_pods: usize, in_flight: usize) {
        let label = NamespaceLabel {
            namespace: namespace.to_owned(),
        };
        self.inner
            .ledger_pods
            .get_or_create(&label)
            .set(i64::try_from(ledger_pods).unwrap_or(i64::MAX));
        self.inner
            .in_flight
            .get_or_create(&label)
            .set(i64::try_from(in_flight).unwrap_or(i64::MAX));
    }

    /// The decisions counted with `outcome` (`allowed`, `denied`, …) so far.
    pub fn decisions(&self, outcome: &str) -> u64 {
        self.inner
            .decisions
            .get_or_create(&OutcomeLabel {
                outcome: outcome.to_owned(),
            })
            .get()
    }

    /// The metrics in Prometheus' text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.inner.registry);
        out
    }
}
