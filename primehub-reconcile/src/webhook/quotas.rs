//! Where the admission webhook reads group quotas: a small [`QuotaSource`] trait and its two
//! implementations (DESIGN §7).
//!
//! * [`KeycloakQuotas`] (the default): the Keycloak state cache of `primehub-keycloak`. A lookup
//!   reads the in-memory snapshot, never Keycloak; when Keycloak is down the last synced quotas
//!   apply, and the cache catches up when it is back.
//! * [`GraphqlQuotas`]: PrimeHub's GraphQL API, asked as PrimeHub's own webhook asks it —
//!   `groups(where: {name_contains: $name})` with `Authorization: Bearer <shared secret>`, the
//!   group whose name matches exactly — and cached for a short time ([`GraphqlQuotas::DEFAULT_TTL`]).
//!   This lets `primehub-webhook` replace the original webhook in an install that gives it only
//!   a GraphQL endpoint. When the API fails, the last answer for the group (however old) is
//!   used and the failure logged; without one the lookup fails.
//!
//! Quota values mean what they mean in Keycloak's attributes (`primehub-datamodel.md` §4): CPU in
//! cores, GPUs as a count, memory in GiB; unset is unlimited. GraphQL's numbers are read back
//! through the same attribute parser, so both sources agree to the millicore and the byte.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use primehub_keycloak::cache::KeycloakCache;
use primehub_model::attributes::{AttributeMap, GroupAttributes, group_keys as keys};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::error::Error;

pub use primehub_model::quota::GroupQuotas;

/// Where group quotas come from.
#[async_trait]
pub trait QuotaSource: Send + Sync {
    /// A short description for logs and messages (`keycloak cache`, `graphql <url>`).
    fn describe(&self) -> String;

    /// The quotas of the group named `group_name` (unescaped, as in Keycloak); `Ok(None)` when
    /// the source does not know the group.
    ///
    /// # Errors
    ///
    /// [`Error::QuotaSource`] (or a Keycloak error) when the source cannot answer.
    async fn group_quotas(&self, group_name: &str) -> Result<Option<GroupQuotas>, Error>;

    /// Whether the source can answer yet (for `/readyz`).
    fn is_ready(&self) -> bool {
        true
    }

    /// A receiver that sees a new value when quotas may have changed, for sources that know
    /// (the Keycloak cache); `None` when the source cannot tell, and readers re-ask on their
    /// own schedule.
    fn changes(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        None
    }
}

/// Quotas from the Keycloak state cache: an in-memory lookup by group name.
#[derive(Debug, Clone)]
pub struct KeycloakQuotas {
    cache: KeycloakCache,
}

impl KeycloakQuotas {
    /// Reads quotas from `cache` (keep it following Keycloak: `tokio::spawn(cache.clone().run())`).
    pub fn new(cache: KeycloakCache) -> KeycloakQuotas {
        KeycloakQuotas { cache }
    }

    /// The cache.
    pub fn cache(&self) -> &KeycloakCache {
        &self.cache
    }
}

#[async_trait]
impl QuotaSource for KeycloakQuotas {
    fn describe(&self) -> String {
        "keycloak cache".to_owned()
    }

    fn changes(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        Some(self.cache.subscribe())
    }

    async fn group_quotas(&self, group_name: &str) -> Result<Option<GroupQuotas>, Error> {
        Ok(self
            .cache
            .snapshot()
            .group_by_name(group_name)
            .map(|g| GroupQuotas::of(&g.attributes)))
    }
}

/// The query PrimeHub's webhook sends (its quota fields).
const GROUPS_QUERY: &str = "query groups($where: GroupWhereInput) { groups(where: $where) { \
    name quotaCpu quotaGpu quotaMemory projectQuotaCpu projectQuotaGpu projectQuotaMemory } }";

/// Quotas from PrimeHub's GraphQL API, cached per group for a short time.
pub struct GraphqlQuotas {
    http: reqwest::Client,
    endpoint: String,
    shared_secret: String,
    ttl: Duration,
    answers: Mutex<HashMap<String, (Option<GroupQuotas>, Instant)>>,
}

impl std::fmt::Debug for GraphqlQuotas {
    /// The shared secret is not shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphqlQuotas")
            .field("endpoint", &self.endpoint)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl GraphqlQuotas {
    /// How long an answer is used before the API is asked again: 10 s, PrimeHub's own
    /// staleness promise for a quota change.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(10);

    /// Asks `endpoint` (PrimeHub's `…/api/graphql`) with `shared_secret`; each call times out
    /// after 5 s.
    ///
    /// # Errors
    ///
    /// [`Error::QuotaSource`] when the endpoint is not an http(s) URL or the HTTP client cannot
    /// be built.
    pub fn new(endpoint: &str, shared_secret: &str, ttl: Duration) -> Result<GraphqlQuotas, Error> {
        let fail = |message: String| Error::QuotaSource {
            source_name: format!("graphql {endpoint}"),
            message,
        };
        let url = reqwest::Url::parse(endpoint)
            .map_err(|e| fail(format!("the endpoint is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(fail(
                "the endpoint must be an http:// or https:// URL".into(),
            ));
        }
        if shared_secret.is_empty() {
            return Err(fail("the shared secret is empty".into()));
        }
        let http = primehub_keycloak::transport::build_http_client(Duration::from_secs(5))
            .map_err(|e| fail(e.to_string()))?;
        Ok(GraphqlQuotas {
            http,
            endpoint: endpoint.to_owned(),
            shared_secret: shared_secret.to_owned(),
            ttl,
            answers: Mutex::new(HashMap::new()),
        })
    }

    fn error(&self, message: impl Into<String>) -> Error {
        Error::QuotaSource {
            source_name: self.describe(),
            message: message.into(),
        }
    }

    fn remembered(&self, group_name: &str) -> Option<(Option<GroupQuotas>, Instant)> {
        self.answers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(group_name)
            .copied()
    }

    async fn ask(&self, group_name: &str) -> Result<Option<GroupQuotas>, Error> {
        let body = json!({
            "operationName": "groups",
            "query": GROUPS_QUERY,
            "variables": {"where": {"name_contains": group_name}},
        });
        let response = self
            .http
            .post(&self.endpoint)
            .bearer_auth(&self.shared_secret)
            .json(&body)
            .send()
            .await
            .map_err(|e| self.error(format!("request failed: {e}")))?;
        let status = response.status();
        let answer: Value = response
            .json()
            .await
            .map_err(|e| self.error(format!("HTTP {status}: the answer is not JSON: {e}")))?;
        if let Some(errors) = answer.get("errors").and_then(Value::as_array)
            && !errors.is_empty()
        {
            let messages: Vec<&str> = errors
                .iter()
                .filter_map(|e| e.get("message").and_then(Value::as_str))
                .collect();
            return Err(self.error(format!("HTTP {status}: {}", messages.join("; "))));
        }
        let groups = answer
            .pointer("/data/groups")
            .and_then(Value::as_array)
            .ok_or_else(|| self.error(format!("HTTP {status}: no data.groups in the answer")))?;
        let Some(group) = groups
            .iter()
            .find(|g| g.get("name").and_then(Value::as_str) == Some(group_name))
        else {
            return Ok(None);
        };
        quotas_from_graphql(group)
            .map(Some)
            .map_err(|e| self.error(format!("group {group_name:?}: {e}")))
    }
}

/// Reads GraphQL's quota numbers through the attribute parser (CPU cores, GPU count, memory
/// GiB; `null` is unlimited).
fn quotas_from_graphql(group: &Value) -> Result<GroupQuotas, primehub_model::Error> {
    let mut attributes = AttributeMap::new();
    let fields = [
        ("quotaCpu", keys::QUOTA_CPU, ""),
        ("quotaGpu", keys::QUOTA_GPU, ""),
        ("quotaMemory", keys::QUOTA_MEMORY, "G"),
        ("projectQuotaCpu", keys::PROJECT_QUOTA_CPU, ""),
        ("projectQuotaGpu", keys::PROJECT_QUOTA_GPU, ""),
        ("projectQuotaMemory", keys::PROJECT_QUOTA_MEMORY, "G"),
    ];
    for (field, key, unit) in fields {
        if let Some(number) = group.get(field).filter(|v| !v.is_null()) {
            let text = match number {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            attributes.insert(key.to_owned(), vec![format!("{text}{unit}")]);
        }
    }
    let attrs = GroupAttributes::from_map(&attributes)?;
    Ok(GroupQuotas::of(&attrs))
}

#[async_trait]
impl QuotaSource for GraphqlQuotas {
    fn describe(&self) -> String {
        format!("graphql {}", self.endpoint)
    }

    async fn group_quotas(&self, group_name: &str) -> Result<Option<GroupQuotas>, Error> {
        let remembered = self.remembered(group_name);
        if let Some((quotas, at)) = remembered
            && at.elapsed() < self.ttl
        {
            return Ok(quotas);
        }
        match self.ask(group_name).await {
            Ok(quotas) => {
                self.answers
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .insert(group_name.to_owned(), (quotas, Instant::now()));
                Ok(quotas)
            }
            Err(e) => match remembered {
                Some((quotas, at)) => {
                    tracing::warn!(
                        group = group_name,
                        age_s = at.elapsed().as_secs(),
                        "using the last quotas the GraphQL API gave: {e}"
                    );
                    Ok(quotas)
                }
                None => Err(e),
            },
        }
    }
}

/// A fixed table of quotas, for tests and for `primehub dev` runs without Keycloak.
#[derive(Debug, Clone, Default)]
pub struct StaticQuotas {
    groups: Arc<HashMap<String, GroupQuotas>>,
}

impl StaticQuotas {
    /// Quotas for the named groups; other groups are unknown.
    pub fn new(groups: impl IntoIterator<Item = (String, GroupQuotas)>) -> StaticQuotas {
        StaticQuotas {
            groups: Arc::new(groups.into_iter().collect()),
        }
    }
}

#[async_trait]
impl QuotaSource for StaticQuotas {
    fn describe(&self) -> String {
        "static table".to_owned()
    }

    async fn group_quotas(&self, group_name: &str) -> Result<Option<GroupQuotas>, Error> {
        Ok(self.groups.get(group_name).copied())
    }
}
