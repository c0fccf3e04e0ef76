//! What every resolver reads and writes through: the Keycloak state cache, the resource stores,
//! the Kubernetes client, the authenticator and the configuration.

use std::sync::Arc;

use primehub_keycloak::KeycloakAdmin;
use primehub_keycloak::cache::KeycloakCache;
use primehub_model::clock::Clock;
use primehub_model::pod::notebook::NotebookPodConfig;
use primehub_model::roles::RoleNaming;
use primehub_reconcile::KubeApi;
use primehub_reconcile::stores::ResourceStores;

use crate::auth::Authenticator;
use crate::jobs::JobStores;
use crate::launch::LaunchCache;

/// Settings of the API that come from the install (PrimeHub's environment variables).
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// The namespace of PrimeHub's custom resources, PVCs and secrets
    /// (`K8S_CRD_NAMESPACE`).
    pub namespace: String,
    /// Role naming, with the optional `KC_ROLE_PREFIX`.
    pub naming: RoleNaming,
    /// The client whose offline sessions are API tokens (`admin-ui`).
    pub api_token_client: String,
    /// The storage class of group shared volumes and `pv` datasets (`None`: the cluster's
    /// default).
    pub storage_class: Option<String>,
    /// PrimeHub's `PRIMEHUB_GROUP_SC` (chart `groupvolume.storageClass`): without
    /// [`storage_class`](Self::storage_class), the claim's `primehub-group-sc` annotation — the
    /// class of the NFS server's own claim. `None`: the annotation is left out, as PrimeHub's
    /// console leaves it out when the variable is unset (the controller then uses `rook-block`).
    pub group_sc: Option<String>,
    /// The public URL of the upload server (`uploadServerLink` is `<this>/<dataset>/browse`
    /// style), if any.
    pub upload_server_base_url: Option<String>,
    /// PrimeHub's `GRAPHQL_HOST`: the scheme and host clients reach the API at
    /// (`https://hub.example.com`), the start of a job's `logEndpoint`. `None`: taken from each
    /// request (`X-Forwarded-Proto` or `http`, and the `Host` header).
    pub graphql_host: Option<String>,
    /// PrimeHub's `APP_PREFIX`: a path prefix the API is served under (`""` for none); the log
    /// route and `logEndpoint` carry it.
    pub app_prefix: String,
    /// The operator's settings of notebook pods (PrimeHub's `jupyterhub.primehub.*` chart
    /// values), for `POST /api/notebook/pod` ([`crate::notebook`]); PrimeHub's defaults.
    pub notebook: NotebookPodConfig,
}

impl ApiConfig {
    /// A configuration for `namespace` without a role prefix.
    pub fn new(namespace: impl Into<String>) -> ApiConfig {
        ApiConfig {
            namespace: namespace.into(),
            naming: RoleNaming::unprefixed(),
            api_token_client: "admin-ui".to_owned(),
            storage_class: None,
            group_sc: None,
            upload_server_base_url: None,
            graphql_host: None,
            app_prefix: String::new(),
            notebook: NotebookPodConfig::default(),
        }
    }
}

/// The shared state of the API server.
pub struct ApiState {
    /// Install settings.
    pub config: ApiConfig,
    /// Users, groups, memberships and role mappings.
    pub keycloak: KeycloakCache,
    /// Keycloak writes go through here (the cache's write-through decorator, using the API
    /// server's own service account).
    pub admin: Arc<dyn KeycloakAdmin>,
    /// Kubernetes writes (and reads the stores do not hold).
    pub kube: Arc<dyn KubeApi>,
    /// Custom resources, secrets, PVCs and pod usage, from watches.
    pub stores: ResourceStores,
    /// PhJobs and PhSchedules, from watches.
    pub jobs: JobStores,
    /// Who is calling.
    pub auth: Authenticator,
    /// The one clock.
    pub clock: Arc<dyn Clock>,
    /// What each group offers for launching, kept between requests.
    pub launch: LaunchCache,
}

impl std::fmt::Debug for ApiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiState")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl ApiState {
    /// A state over a filled cache and started stores.
    pub fn new(
        config: ApiConfig,
        keycloak: KeycloakCache,
        kube: Arc<dyn KubeApi>,
        stores: ResourceStores,
        jobs: JobStores,
        auth: Authenticator,
        clock: Arc<dyn Clock>,
    ) -> ApiState {
        let admin = keycloak.admin();
        ApiState {
            config,
            keycloak,
            admin,
            kube,
            stores,
            jobs,
            auth,
            clock,
            launch: LaunchCache::new(),
        }
    }

    /// Whether reads can be served: the stores have their first lists (the cache is filled
    /// before a state exists).
    pub fn is_ready(&self) -> bool {
        self.stores.is_ready() && self.jobs.is_ready()
    }
}
