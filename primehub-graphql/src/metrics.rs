//! Prometheus metrics of the API server.
//!
//! | metric | type | what |
//! |---|---|---|
//! | `primehub_graphql_requests_total{outcome}` | counter | GraphQL requests by outcome: `ok`, `partial`, `error`, `not_auth`, `bad_request` |
//! | `primehub_graphql_request_duration_seconds` | histogram | time from receiving a request to its answer |
//! | `primehub_keycloak_cache_age_seconds` | gauge | time since the Keycloak state cache was last known in sync |
//! | `primehub_keycloak_cache_calls_total` | gauge | Keycloak calls the cache made (fills, resyncs, event polls, write-through refreshes) |
//! | `primehub_keycloak_cache_users`, `_groups` | gauge | objects in the cache |
//! | `primehub_resource_store_ready` | gauge | 1 once the custom-resource stores have their first list |

use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::state::ApiState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: String,
}

/// The API server's metrics.
pub struct ApiMetrics {
    registry: Mutex<Registry>,
    requests: Family<OutcomeLabel, Counter>,
    duration: Histogram,
    cache_age: Gauge,
    cache_calls: Gauge,
    cache_users: Gauge,
    cache_groups: Gauge,
    stores_ready: Gauge,
}

impl std::fmt::Debug for ApiMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiMetrics").finish_non_exhaustive()
    }
}

impl Default for ApiMetrics {
    fn default() -> Self {
        ApiMetrics::new()
    }
}

impl ApiMetrics {
    /// New metrics, registered.
    pub fn new() -> ApiMetrics {
        let mut registry = Registry::with_prefix("primehub");
        let requests = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "graphql_requests",
            "GraphQL requests by outcome",
            requests.clone(),
        );
        // 50 µs … about 26 s.
        let duration = Histogram::new(exponential_buckets(0.000_05, 2.0, 20));
        registry.register(
            "graphql_request_duration_seconds",
            "Time to answer a GraphQL request",
            duration.clone(),
        );
        let cache_age = Gauge::default();
        registry.register(
            "keycloak_cache_age_seconds",
            "Seconds since the Keycloak state cache was last known in sync",
            cache_age.clone(),
        );
        let cache_calls = Gauge::default();
        registry.register(
            "keycloak_cache_calls_total",
            "Keycloak calls made by the state cache",
            cache_calls.clone(),
        );
        let cache_users = Gauge::default();
        registry.register(
            "keycloak_cache_users",
            "Users in the Keycloak state cache",
            cache_users.clone(),
        );
        let cache_groups = Gauge::default();
        registry.register(
            "keycloak_cache_groups",
            "Groups in the Keycloak state cache",
            cache_groups.clone(),
        );
        let stores_ready = Gauge::default();
        registry.register(
            "resource_store_ready",
            "1 once the custom-resource stores have their first list",
            stores_ready.clone(),
        );
        ApiMetrics {
            registry: Mutex::new(registry),
            requests,
            duration,
            cache_age,
            cache_calls,
            cache_users,
            cache_groups,
            stores_ready,
        }
    }

    /// Counts one request with its outcome and duration.
    pub fn observe(&self, outcome: &str, elapsed: Duration) {
        self.requests
            .get_or_create(&OutcomeLabel {
                outcome: outcome.to_owned(),
            })
            .inc();
        self.duration.observe(elapsed.as_secs_f64());
    }

    /// Requests counted with `outcome`.
    pub fn requests(&self, outcome: &str) -> u64 {
        self.requests
            .get_or_create(&OutcomeLabel {
                outcome: outcome.to_owned(),
            })
            .get()
    }

    /// The text exposition, with the gauges read from `state` now.
    pub fn encode(&self, state: &ApiState) -> String {
        let age = i64::try_from(state.keycloak.age().as_secs()).unwrap_or(i64::MAX);
        self.cache_age.set(age);
        let stats = state.keycloak.stats();
        self.cache_calls
            .set(i64::try_from(stats.keycloak_calls).unwrap_or(i64::MAX));
        let snapshot = state.keycloak.snapshot();
        self.cache_users
            .set(i64::try_from(snapshot.user_count()).unwrap_or(i64::MAX));
        self.cache_groups
            .set(i64::try_from(snapshot.group_count()).unwrap_or(i64::MAX));
        self.stores_ready.set(i64::from(state.stores.is_ready()));
        let mut out = String::new();
        if let Ok(registry) = self.registry.lock() {
            // Writing into a String cannot fail.
            let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
        }
        out
    }
}
