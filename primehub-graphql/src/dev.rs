//! The whole platform on in-memory fakes, in one process, on one listener — what
//! `primehub dev` runs, and what tests and the load program start.
//!
//! One axum router serves the GraphQL API (`/api/graphql`, `/graphql`, `/api/token`), the fake
//! Keycloak's OIDC and admin endpoints (`/realms/…`, `/admin/…`), the fake cluster's Kubernetes
//! API (`/api/v1/…`, `/apis/…`), `/healthz`, `/readyz` and `/metrics`. The realm is made by the
//! same bootstrap a real Keycloak gets; the demo seed is PrimeHub's fresh-install shape.
//!
//! The fake cluster has no kubelet. [`DevOptions::simulate_pods`] stands in for one for job
//! pods; [`DevOptions::run_notebooks`] runs each notebook pod as a local single-user server
//! process on a loopback address of its own (its pod IP), so a JupyterHub with KubeSpawner
//! pointed at this platform spawns servers it can reach (see
//! `primehub_reconcile::fake::notebooks`).

use std::net::SocketAddr;
use std::sync::Arc;

use primehub_keycloak::KeycloakAdmin;
use primehub_keycloak::counting::CountingAdmin;
use primehub_keycloak::fake::{BootstrapOptions, FakeKeycloak, FakeRealm, PrimehubRealm};
use primehub_keycloak::token::{TokenVerifier, TokenVerifierConfig};
use primehub_model::clock::{Clock, SystemClock};
use primehub_model::names;
use primehub_model::pod::job::JobPodConfig;
use primehub_model::pod::notebook::NotebookPodConfig;
use primehub_model::roles::RoleNaming;
use primehub_reconcile::fake::FakeCluster;
use primehub_reconcile::fake::kubelet::{PodSimulator, SimulatorConfig};
use primehub_reconcile::fake::notebooks::{NotebookRunner, NotebookRunnerConfig};
use primehub_reconcile::fake::seed::{self, DemoResources};
use primehub_reconcile::role_sync::{RoleSync, RoleSyncStats};
use primehub_reconcile::runtime::Metrics;
use primehub_reconcile::runtime::job_world::KeycloakJobWorld;
use primehub_reconcile::runtime::jobs::{JobControllers, JobControllersConfig};
use primehub_reconcile::runtime::schedule::KeycloakScheduleContext;
use primehub_reconcile::stores::PodUsage;
use primehub_reconcile::stores::{ResourceStores, StoresConfig};
use primehub_reconcile::webhook::quotas::KeycloakQuotas;
use primehub_reconcile::webhook::resources::ResourcesValidation;

use crate::error::{Error, ErrorCode, Result};
use crate::server::{Backends, RunningApi, ServerOptions};

/// The namespace PrimeHub's custom resources live in.
pub const NAMESPACE: &str = "hub";

/// What to create at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seed {
    /// PrimeHub's fresh-install shape: the administrator in groups `everyone` and `phusers`,
    /// instance types cpu-1, cpu-2, gpu-1, gpu-2 and image base-notebook, all global.
    Demo,
    /// Only the realm, the administrator and `everyone`.
    Empty,
}

/// Wraps the API server's Keycloak admin client (see [`DevOptions::wrap_admin`]).
pub type AdminWrapper = Arc<dyn Fn(Arc<dyn KeycloakAdmin>) -> Arc<dyn KeycloakAdmin> + Send + Sync>;

/// How to start the platform.
#[derive(Clone)]
pub struct DevOptions {
    /// What to create.
    pub seed: Seed,
    /// The administrator's password (`phadmin`).
    pub admin_password: String,
    /// The shared secret of server-to-server callers.
    pub shared_secret: Option<String>,
    /// The realm.
    pub realm: String,
    /// Wraps the Keycloak admin client the API server writes with (not the one seeding uses);
    /// tests make calls fail with it. `None`: the fake realm itself.
    pub wrap_admin: Option<AdminWrapper>,
    /// Whether to run the controllers (the watcher) beside the API (default `true`). Tests
    /// that compare the exact Keycloak state after a failed API write turn them off: the
    /// watcher is eventually consistent and may be mid-way through following that write.
    pub controllers: bool,
    /// Whether the fake cluster calls PrimeHub's resource-validation webhook in process on
    /// pod creates, as a real cluster calls `primehub-webhook` (default `true`).
    pub admission: bool,
    /// With [`controllers`](Self::controllers): whether the job controllers run too (default
    /// `true`). Tests of the job API turn them off to set job phases themselves.
    pub jobs: bool,
    /// With [`controllers`](Self::controllers): the pod-lifecycle simulator that stands in for
    /// the kubelet the fake cluster lacks, so jobs run to completion by themselves (`primehub
    /// dev` turns it on). `None` (the default): pods keep the phase a test writes. With
    /// [`run_notebooks`](Self::run_notebooks) on, it leaves notebook pods to the runner.
    pub simulate_pods: Option<SimulatorConfig>,
    /// The operator's settings of notebook pods that `POST /api/notebook/pod` builds with
    /// (default: PrimeHub's chart defaults, [`NotebookPodConfig::default`]).
    pub notebook: NotebookPodConfig,
    /// The notebook runner (`primehub_reconcile::fake::notebooks`): each notebook pod
    /// (`component=singleuser-server`, as KubeSpawner labels it) runs as a local
    /// `jupyterhub-singleuser` process on a loopback address of its own, which is the pod's IP,
    /// so JupyterHub can reach the server it spawned (`primehub dev` turns it on). Runs
    /// whether or not [`controllers`](Self::controllers) do. `None` (the default): notebook
    /// pods are pods like any other.
    pub run_notebooks: Option<NotebookRunnerConfig>,
    /// The storage-class mode of shared volumes (PrimeHub's
    /// `PRIMEHUB_GROUP_VOLUME_STORAGE_CLASS`): group and `pv` dataset claims are created with
    /// this `ReadWriteMany` class and no `primehub-group` annotation, so no NFS server is made.
    /// `None` (the default): the NFS mode, the group-volume controller makes the servers.
    pub shared_volume_storage_class: Option<String>,
}

impl std::fmt::Debug for DevOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevOptions")
            .field("seed", &self.seed)
            .field("shared_secret", &self.shared_secret.as_ref().map(|_| "…"))
            .field("realm", &self.realm)
            .field("wrap_admin", &self.wrap_admin.is_some())
            .field("controllers", &self.controllers)
            .field("admission", &self.admission)
            .field("jobs", &self.jobs)
            .field("simulate_pods", &self.simulate_pods)
            .field("notebook", &self.notebook)
            .field("run_notebooks", &self.run_notebooks)
            .field(
                "shared_volume_storage_class",
                &self.shared_volume_storage_class,
            )
            .finish_non_exhaustive()
    }
}

impl Default for DevOptions {
    fn default() -> Self {
        DevOptions {
            seed: Seed::Demo,
            admin_password: "phadmin".into(),
            shared_secret: None,
            realm: "primehub".into(),
            wrap_admin: None,
            controllers: true,
            admission: true,
            jobs: true,
            simulate_pods: None,
            notebook: NotebookPodConfig::default(),
            run_notebooks: None,
            shared_volume_storage_class: None,
        }
    }
}

/// A running platform.
pub struct DevPlatform {
    /// The fake cluster.
    pub cluster: FakeCluster,
    /// The fake Keycloak.
    pub keycloak: FakeKeycloak,
    /// The realm's ids and secrets.
    pub realm: PrimehubRealm,
    /// The administrator's username.
    pub admin_username: String,
    /// The administrator's password.
    pub admin_password: String,
    /// The demo objects, when seeded.
    pub demo: Option<DemoResources>,
    /// Every call the API server made to the fake Keycloak's admin API (the cache's fill,
    /// resyncs and event polls, writes, and reads the cache does not answer), counted. Changes
    /// made through [`keycloak`](Self::keycloak) or another [`FakeRealm`] handle are not counted.
    pub keycloak_calls: Arc<CountingAdmin<FakeRealm>>,
    /// The API server.
    pub api: RunningApi,
    /// What the watcher (`primehub_reconcile::role_sync`) did: it runs beside the API, with
    /// its own Keycloak client, as PrimeHub's watcher does.
    pub role_sync: Arc<RoleSyncStats>,
    /// The redirect URIs `admin-ui` has: PrimeHub's `<url>/console/*` on this listener.
    pub admin_ui_redirect_uris: Vec<String>,
    /// The redirect URIs `jupyterhub` has: PrimeHub's `<url>/*` on this listener.
    pub jupyterhub_redirect_uris: Vec<String>,
    /// PrimeHub's resource-validation webhook, called by the fake cluster on pod creates
    /// (when [`DevOptions::admission`] is on): quotas from the API's Keycloak cache, usage from
    /// its own pod watch of the namespace, as `primehub-webhook` runs it.
    pub admission: Option<Arc<ResourcesValidation>>,
    /// The job controllers (queue, PhJob controller, cleaner, PhSchedule controller), when
    /// [`DevOptions::controllers`] is on; their figures are in [`job_metrics`](Self::job_metrics).
    pub jobs: Option<JobControllers>,
    /// The job controllers' metrics (`primehub_controller_*`).
    pub job_metrics: Metrics,
    /// With [`DevOptions::run_notebooks`]: the single-user server command as resolved at
    /// start (`Err`: the message a notebook pod fails with, naming what to install). The
    /// runner resolves it again for each pod, so installing it later works.
    pub notebook_command: Option<std::result::Result<std::path::PathBuf, String>>,
    controllers: Vec<tokio::task::JoinHandle<()>>,
    url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl std::fmt::Debug for DevPlatform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevPlatform")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

fn setup(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Coded {
        code: ErrorCode::InternalError,
        message: format!("{what}: {e}"),
    }
}

impl DevPlatform {
    /// Creates the fakes, seeds them, starts the API and serves everything on `listener`.
    pub async fn start(
        listener: tokio::net::TcpListener,
        options: &DevOptions,
    ) -> Result<DevPlatform> {
        let mut addr: SocketAddr = listener
            .local_addr()
            .map_err(|e| setup("reading the listener's address", e))?;
        if addr.ip().is_unspecified() {
            addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        let url = format!("http://{addr}");
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let cluster = FakeCluster::new();
        let keycloak = FakeKeycloak::builder()
            .base_url(url.clone())
            .build()
            .map_err(|e| setup("starting the fake Keycloak", e))?;
        let bootstrap = BootstrapOptions {
            admin_password: options.admin_password.clone(),
            ..BootstrapOptions::default()
        };
        // PrimeHub's redirect URIs on this listener, so a browser can log in to the console
        // and JupyterHub served here.
        let spec = bootstrap.to_spec(&options.realm).with_primehub_url(&url);
        let outcome = keycloak
            .bootstrap(&spec)
            .await
            .map_err(|e| setup("bootstrapping the realm", e))?;
        primehub_reconcile::bootstrap::write_client_secrets(
            Arc::new(cluster.clone()),
            NAMESPACE,
            &outcome,
        )
        .await
        .map_err(|e| setup("writing the client Secrets", e))?;
        let realm = PrimehubRealm {
            admin_user_id: outcome
                .admin_user_id
                .clone()
                .ok_or_else(|| setup("bootstrapping the realm", "no administrator was created"))?,
            realm: outcome.realm,
            admin_ui_client_secret: outcome.admin_ui_client_secret,
            jupyterhub_client_secret: outcome.jupyterhub_client_secret,
            everyone_group_id: outcome.everyone_group_id,
        };
        let keycloak_calls = Arc::new(CountingAdmin::new(
            keycloak
                .realm(&realm.realm)
                .map_err(|e| setup("opening the realm", e))?,
        ));
        let admin: Arc<dyn KeycloakAdmin> = keycloak_calls.clone();
        let naming = RoleNaming::unprefixed();
        let demo = match options.seed {
            Seed::Empty => None,
            Seed::Demo => {
                let resources = seed::seed_demo(Arc::new(cluster.clone()), NAMESPACE)
                    .await
                    .map_err(|e| setup("seeding the fake cluster", e))?;
                seed::seed_keycloak_demo(
                    admin.as_ref(),
                    &realm.everyone_group_id,
                    &realm.admin_user_id,
                    &resources,
                    &naming,
                )
                .await
                .map_err(|e| setup("seeding the realm", e))?;
                Some(resources)
            }
        };

        let mut verifier_config = TokenVerifierConfig::new(
            keycloak.issuer(&realm.realm),
            ["admin-ui", "jupyterhub", "account"],
        );
        verifier_config.api_token_client =
            Some(("admin-ui".into(), realm.admin_ui_client_secret.clone()));
        verifier_config.clock = clock.clone();
        let verifier = Arc::new(
            TokenVerifier::new(verifier_config)
                .map_err(|e| setup("building the token verifier", e))?,
        );
        let admin = match &options.wrap_admin {
            Some(wrap) => wrap(admin),
            None => admin,
        };
        let backends = Backends {
            admin,
            kube: Arc::new(cluster.clone()),
            kube_client: cluster.client(),
            verifier: Some(verifier),
            clock: clock.clone(),
        };
        let mut server_options = ServerOptions::new(NAMESPACE);
        server_options.api.naming = naming.clone();
        server_options.api.graphql_host = Some(url.clone());
        server_options.shared_secret = options.shared_secret.clone();
        server_options.api.notebook = options.notebook.clone();
        // The class of the NFS servers' own claims (`primehub-group-sc`), as a demo install sets it.
        server_options.api.group_sc = Some("standard".to_owned());
        server_options.api.storage_class = options.shared_volume_storage_class.clone();
        let api = crate::server::start(backends, server_options).await?;

        // The controllers, each with its own clients.
        let watcher_admin: Arc<dyn KeycloakAdmin> = Arc::new(
            keycloak
                .realm(&realm.realm)
                .map_err(|e| setup("opening the realm", e))?,
        );
        let role_sync = RoleSync::new(watcher_admin, naming.clone());
        let role_sync_stats = role_sync.stats();
        let mut controllers = Vec::new();
        if options.controllers {
            controllers.push(tokio::spawn(role_sync.run(cluster.client(), NAMESPACE)));
        }

        let job_metrics = Metrics::new();
        if options.controllers {
            // Group shared volumes: the NFS Service, StatefulSet and PersistentVolume behind
            // every `primehub-group` claim (no PV controller on the fake: claims stay Pending).
            controllers.push(tokio::spawn(
                primehub_reconcile::runtime::group_volume::start(
                    cluster.client(),
                    NAMESPACE,
                    primehub_reconcile::runtime::group_volume::GroupVolumeConfig::default(),
                    &job_metrics,
                ),
            ));
        }
        let jobs = if options.controllers && options.jobs {
            let (stores, driver) =
                ResourceStores::start(cluster.client(), StoresConfig::new(NAMESPACE));
            controllers.push(tokio::spawn(driver));
            let cache = api.service.state.keycloak.clone();
            let world = KeycloakJobWorld::new(
                cache.clone(),
                stores.clone(),
                naming.clone(),
                JobPodConfig::default(),
            );
            let schedules =
                KeycloakScheduleContext::new(cache.clone(), stores.clone(), naming.clone());
            let (jobs, driver) = JobControllers::start(
                cluster.client(),
                stores,
                Arc::new(KeycloakQuotas::new(cache)),
                Arc::new(world),
                Arc::new(schedules),
                clock.clone(),
                &job_metrics,
                JobControllersConfig::default(),
            );
            controllers.push(tokio::spawn(driver));
            if let Some(config) = &options.simulate_pods {
                let config = if options.run_notebooks.is_some() {
                    config.clone().without_notebook_pods()
                } else {
                    config.clone()
                };
                let simulator = PodSimulator::new(cluster.clone(), NAMESPACE, config);
                controllers.push(tokio::spawn(simulator.run()));
            }
            Some(jobs)
        } else {
            None
        };

        // The Dataset children controllers (git-sync DaemonSets, upload servers), PrimeHub's
        // metacontroller hooks: their children appear in the fake cluster (no kubelet runs
        // them). Their metrics are the controllers'.
        if options.controllers {
            controllers.push(tokio::spawn(
                primehub_reconcile::runtime::dataset_children::start(
                    cluster.client(),
                    NAMESPACE,
                    primehub_reconcile::runtime::dataset_children::DatasetChildrenConfig::all(),
                    &job_metrics,
                ),
            ));
        }

        let notebook_command = options.run_notebooks.as_ref().map(|config| {
            let command =
                primehub_reconcile::fake::notebooks::resolve_command(config.command.as_deref());
            let runner = NotebookRunner::new(cluster.clone(), NAMESPACE, config.clone());
            controllers.push(tokio::spawn(runner.run()));
            command
        });

        let admission = if options.admission {
            let (usage, driver) =
                PodUsage::start(cluster.client(), NAMESPACE, Some(names::LABEL_GROUP));
            controllers.push(tokio::spawn(driver));
            usage
                .wait_ready(std::time::Duration::from_secs(30))
                .await
                .map_err(|e| setup("listing the pods for the admission webhook", e))?;
            let quotas = KeycloakQuotas::new(api.service.state.keycloak.clone());
            let webhook =
                Arc::new(ResourcesValidation::new(Arc::new(quotas)).watching(NAMESPACE, usage));
            cluster.add_admission_handler(webhook.clone());
            Some(webhook)
        } else {
            None
        };

        let app = api
            .service
            .router()
            .merge(cluster.router())
            .merge(keycloak.router(&url));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let closing = cluster.clone();
        let handle = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                    closing.close_watches();
                })
                .await
        });
        Ok(DevPlatform {
            cluster,
            keycloak,
            realm,
            admin_username: bootstrap.admin_username,
            admin_password: options.admin_password.clone(),
            demo,
            keycloak_calls,
            api,
            role_sync: role_sync_stats,
            admin_ui_redirect_uris: spec.admin_ui_redirect_uris.clone(),
            jupyterhub_redirect_uris: spec.jupyterhub_redirect_uris.clone(),
            admission,
            jobs,
            job_metrics,
            notebook_command,
            controllers,
            url,
            shutdown: Some(tx),
            handle: Some(handle),
        })
    }

    /// The base URL of every face.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The GraphQL endpoint.
    pub fn graphql_url(&self) -> String {
        format!("{}/api/graphql", self.url)
    }

    /// The OIDC issuer of the realm.
    pub fn issuer(&self) -> String {
        self.keycloak.issuer(&self.realm.realm)
    }

    /// An access token for `username` from the fake's token endpoint logic (a password grant
    /// through `admin-ui`), as a client would get one.
    pub fn access_token(&self, username: &str, password: &str) -> Result<String> {
        let realm = self
            .keycloak
            .realm(&self.realm.realm)
            .map_err(|e| setup("opening the realm", e))?;
        let tokens = realm
            .token_password(
                "admin-ui",
                Some(&self.realm.admin_ui_client_secret),
                username,
                password,
                Some("openid"),
            )
            .map_err(|e| setup("issuing a token", e))?;
        Ok(tokens.access_token)
    }

    /// Stops the controllers (the notebook runner's processes are killed), stops serving,
    /// ends open watches and waits for the server to finish.
    pub async fn shutdown(mut self) -> Result<()> {
        let controllers = std::mem::take(&mut self.controllers);
        for controller in &controllers {
            controller.abort();
        }
        for controller in controllers {
            // Cancelled: its future is dropped (the notebook runner kills its processes).
            let _ = controller.await;
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(handle) = self.handle.take() {
            handle
                .await
                .map_err(|e| setup("the server task", e))?
                .map_err(|e| setup("serving HTTP", e))?;
        }
        Ok(())
    }
}

impl Drop for DevPlatform {
    fn drop(&mut self) {
        for controller in &self.controllers {
            controller.abort();
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
