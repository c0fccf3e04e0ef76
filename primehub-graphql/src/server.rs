//! Putting an API server together: fill the Keycloak cache, start the resource stores, keep
//! both in sync in background tasks, and build the [`GraphqlService`]. `primehub dev` (on the
//! fakes) and `primehub-apiserver` (on a real Keycloak and cluster) both start here.

use std::sync::Arc;
use std::time::Duration;

use primehub_keycloak::KeycloakAdmin;
use primehub_keycloak::cache::{CacheConfig, KeycloakCache};
use primehub_keycloak::token::TokenVerifier;
use primehub_model::clock::Clock;
use primehub_reconcile::KubeApi;
use primehub_reconcile::stores::{ResourceStores, StoresConfig};

use crate::auth::Authenticator;
use crate::error::{Error, Result};
use crate::jobs::JobStores;
use crate::router::{GraphqlService, ServerConfig};
use crate::state::{ApiConfig, ApiState};

/// What the API server talks to.
pub struct Backends {
    /// Keycloak's admin API, with the API server's own service account.
    pub admin: Arc<dyn KeycloakAdmin>,
    /// Kubernetes for writes.
    pub kube: Arc<dyn KubeApi>,
    /// Kubernetes for the stores' watches.
    pub kube_client: kube::Client,
    /// Verifies users' tokens (`None`: only the shared secret is accepted).
    pub verifier: Option<Arc<TokenVerifier>>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Backends {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backends").finish_non_exhaustive()
    }
}

/// How the API server runs.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Install settings.
    pub api: ApiConfig,
    /// The shared secret of server-to-server callers.
    pub shared_secret: Option<String>,
    /// How the Keycloak cache keeps in sync.
    pub cache: CacheConfig,
    /// HTTP limits.
    pub http: ServerConfig,
    /// How long to wait for the stores' first lists.
    pub ready_timeout: Duration,
}

impl ServerOptions {
    /// Defaults for `namespace`.
    pub fn new(namespace: impl Into<String>) -> ServerOptions {
        ServerOptions {
            api: ApiConfig::new(namespace),
            shared_secret: None,
            cache: CacheConfig::default(),
            http: ServerConfig::default(),
            ready_timeout: Duration::from_secs(60),
        }
    }
}

/// A started API server: the service and its background tasks (aborted on drop).
#[derive(Debug)]
pub struct RunningApi {
    /// The GraphQL service (its router serves HTTP).
    pub service: GraphqlService,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for RunningApi {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Fills the cache, starts the stores and waits until they have their first lists.
pub async fn start(backends: Backends, options: ServerOptions) -> Result<RunningApi> {
    tracing::info!(namespace = %options.api.namespace, "filling the Keycloak cache");
    let cache = KeycloakCache::load(
        backends.admin.clone(),
        backends.clock.clone(),
        options.cache.clone(),
    )
    .await?;
    let snapshot = cache.snapshot();
    tracing::info!(
        users = snapshot.user_count(),
        groups = snapshot.group_count(),
        "Keycloak cache filled"
    );
    let (stores, driver) = ResourceStores::start(
        backends.kube_client.clone(),
        StoresConfig::new(options.api.namespace.clone()),
    );
    let (jobs, jobs_driver) =
        JobStores::start(backends.kube_client.clone(), options.api.namespace.clone());
    let mut tasks = vec![
        tokio::spawn(driver),
        tokio::spawn(jobs_driver),
        tokio::spawn(cache.clone().run()),
    ];
    let filled = match stores.wait_ready(options.ready_timeout).await {
        Ok(()) => jobs
            .wait_ready(options.ready_timeout)
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = filled {
        for task in &tasks {
            task.abort();
        }
        tasks.clear();
        return Err(Error::Coded {
            code: crate::error::ErrorCode::ApiUnavailable,
            message: format!("the resource stores did not fill: {e}"),
        });
    }
    tracing::info!("resource stores filled");
    let auth = Authenticator::new(
        options.shared_secret.clone(),
        backends.verifier.clone(),
        backends.clock.clone(),
    );
    let state = Arc::new(ApiState::new(
        options.api.clone(),
        cache,
        backends.kube.clone(),
        stores,
        jobs,
        auth,
        backends.clock.clone(),
    ));
    let service = GraphqlService::new(state, options.http.clone());
    Ok(RunningApi { service, tasks })
}
