//! Wiring: the clients from the settings, the start with retries, the watcher and its HTTP
//! face; the sweep.
//!
//! The listener is bound first and answers at once ([`primehub_service::http`]): `/healthz` is
//! 200 from the start, `/readyz` is 503 with the reason. The start checks once that the
//! watcher can work ([`role_sync::check_access`]: Keycloak grants the client a token and lists
//! roles; images, instance types and datasets can be listed in the namespace), retrying with
//! exponential backoff (1 s doubling to 30 s) while Keycloak or the Kubernetes API is
//! unreachable, for `--startup-timeout`. A failure waiting cannot fix — Keycloak refusing the
//! client credentials, an unknown realm, a missing CRD or Role — ends the process at once with
//! an error naming what to check. Then [`RoleSync`] runs until SIGTERM or Ctrl-C; `/readyz` is
//! 200 once its first lists are applied, and `/metrics` has its counters
//! (`primehub_role_sync_*`).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::bail;
use futures::FutureExt;
use futures::future::BoxFuture;
use primehub_keycloak::KeycloakAdmin;
use primehub_keycloak::cache::{CacheConfig, KeycloakCache};
use primehub_model::clock::{Clock, SystemClock};
use primehub_reconcile::role_sync::{self, PruneReport, RoleSync};
use primehub_reconcile::runtime::Metrics;
use primehub_reconcile::runtime::job_world::KeycloakJobWorld;
use primehub_reconcile::runtime::jobs::JobControllers;
use primehub_reconcile::runtime::leader::{LeaderElector, Leadership};
use primehub_reconcile::runtime::schedule::KeycloakScheduleContext;
use primehub_reconcile::stores::{ResourceStores, StoresConfig};
use primehub_reconcile::webhook::quotas::KeycloakQuotas;
use primehub_service::http::{probes_rendering, serve, starting_text};
use primehub_service::settings::ConnectionSettings;
use primehub_service::signals::stopped;
use primehub_service::start::{Failure, StartOptions, StartStatus, start_with_retries};

pub use primehub_service::signals::{Shutdown, shutdown_on_signals};

use crate::settings::{JobSettings, Settings};

/// What `/readyz` says until the watcher's first lists are applied.
pub const WAITING_FOR_LISTS: &str =
    "not ready: applying the first lists of images, instance types and datasets";

/// Whether waiting may fix a failure of the access check or the sweep, and what to check when
/// it cannot.
fn classify(error: &primehub_reconcile::Error, connection: &ConnectionSettings) -> Failure {
    use primehub_reconcile::Error;
    if error.is_transient() {
        return Failure::Transient;
    }
    Failure::Permanent(match error {
        Error::Keycloak(e) => connection
            .keycloak_hint(e, "the controller")
            .unwrap_or_else(|| format!("Keycloak refused a call in realm {:?}", connection.realm)),
        Error::KubeClient(e) if matches!(e.as_ref(), kube::Error::Api(s) if s.code == 404) => {
            "the Kubernetes API does not serve images, instance types or datasets: install \
             PrimeHub's CRDs (kubectl apply -f deploy/crds/)"
                .to_owned()
        }
        Error::Kube(_) | Error::KubeClient(_) => connection.kube_hint("deploy/controller"),
        _ => "the check before the watcher starts failed".to_owned(),
    })
}

/// Runs the watcher until `shutdown`: binds `--listen`, checks access (with retries), then runs
/// [`RoleSync`] and serves `/healthz`, `/readyz` and `/metrics`. `on_listening` is called with
/// the bound address.
///
/// # Errors
///
/// A bad listener address, an unusable configuration, or a start failure (see the module
/// documentation), each naming the flags to check.
pub async fn run(
    settings: Settings,
    shutdown: Shutdown,
    on_listening: impl FnOnce(SocketAddr),
) -> anyhow::Result<()> {
    let connection = &settings.connection;
    let admin: Arc<dyn KeycloakAdmin> = Arc::new(connection.keycloak_admin()?);
    let client = connection.kube_client().await?.client().clone();
    let serving = serve(settings.listen, starting_text(), shutdown.clone()).await?;
    on_listening(serving.address());
    tracing::info!(
        keycloak_url = %connection.keycloak_url,
        realm = %connection.realm,
        client_id = %connection.client_id,
        namespace = %connection.namespace,
        role_prefix = connection.naming.prefix.as_deref().unwrap_or(""),
        "starting the watcher"
    );
    let checked = start_with_retries(
        StartOptions {
            what: "the watcher",
            connection,
            timeout: settings.startup_timeout,
            status: serving.status(),
        },
        shutdown.clone(),
        || role_sync::check_access(admin.as_ref(), &client, &connection.namespace),
        |e| classify(e, connection),
    )
    .await;
    match checked {
        Ok(Some(())) => {}
        Ok(None) => {
            serving.finish().await?;
            tracing::info!("stopped");
            return Ok(());
        }
        Err(e) => {
            serving.abort();
            return Err(e.into());
        }
    }

    // Replicas wait here for the Lease; the leader runs everything below.
    let elector = settings
        .lease
        .clone()
        .map(|lease| LeaderElector::new(client.clone(), Arc::new(SystemClock), lease));
    let election = elector.clone().map(|elector| {
        let shutdown = shutdown.clone();
        tokio::spawn(async move { elector.run(stopped(shutdown)).await })
    });
    let metrics = Metrics::new();
    let sync = RoleSync::new(admin.clone(), connection.naming.clone());
    metrics.register_unprefixed(|registry| sync.register_metrics(registry));
    let readiness = sync.clone();
    let leading = elector.clone();
    let rendered = metrics.clone();
    serving.open(probes_rendering(
        move || {
            // A standby replica is ready: it serves its probes and waits for the Lease.
            if leading.as_ref().is_some_and(|e| !e.is_leading()) || readiness.is_ready() {
                Ok(())
            } else {
                Err(WAITING_FOR_LISTS.to_owned())
            }
        },
        move || rendered.encode(),
    ));
    if let Some(elector) = &elector {
        tracing::info!(lease = %elector.config().name, identity = %elector.config().identity, "waiting for the lease");
        let mut leading = elector.leading();
        tokio::select! {
            _ = leading.wait_for(|l| *l) => {}
            () = stopped(shutdown.clone()) => {
                serving.finish().await?;
                tracing::info!("stopped before leading");
                return Ok(());
            }
        }
    }

    let jobs = match &settings.jobs {
        Some(jobs) => Some(start_jobs(jobs, admin, &client, connection, &metrics).await?),
        None => None,
    };
    let jobs_running = async {
        match jobs {
            Some(driver) => driver.await,
            None => std::future::pending().await,
        }
    };
    // The Dataset children controllers (git-sync DaemonSets, upload servers).
    let children_running = primehub_reconcile::runtime::dataset_children::start(
        client.clone(),
        &connection.namespace,
        settings.datasets.clone(),
        &metrics,
    );
    let group_volumes = settings.group_volume.clone().map(|config| {
        primehub_reconcile::runtime::group_volume::start(
            client.clone(),
            &connection.namespace,
            config,
            &metrics,
        )
    });
    let group_volumes_running = async {
        match group_volumes {
            Some(driver) => driver.await,
            None => std::future::pending().await,
        }
    };
    let lost = async {
        match election {
            Some(task) => task.await.unwrap_or(Leadership::Lost),
            None => std::future::pending().await,
        }
    };
    tracing::info!(namespace = %connection.namespace, jobs = settings.jobs.is_some(), "watching images, instance types and datasets");
    tokio::select! {
        () = sync.run(client, &connection.namespace) => {
            serving.abort();
            bail!("the watcher ended, which it never does by itself");
        }
        () = children_running => {
            serving.abort();
            bail!("the Dataset children controllers ended, which they never do by themselves");
        }
        () = jobs_running => {
            serving.abort();
            bail!("the job controllers ended, which they never do by themselves");
        }
        () = group_volumes_running => {
            serving.abort();
            bail!("the group-volume controller ended, which it never does by itself");
        }
        leadership = lost => {
            if leadership == Leadership::Lost {
                serving.abort();
                bail!("lost the lease: stopping so that a restart stands for it again");
            }
        }
        () = stopped(shutdown) => {}
    }
    serving.finish().await?;
    tracing::info!("stopped");
    Ok(())
}

/// Loads the Keycloak cache and the stores, and starts the job controllers; returns their
/// driver.
async fn start_jobs(
    jobs: &JobSettings,
    admin: Arc<dyn KeycloakAdmin>,
    client: &kube::Client,
    connection: &ConnectionSettings,
    metrics: &Metrics,
) -> anyhow::Result<BoxFuture<'static, ()>> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let cache = KeycloakCache::load(admin, clock.clone(), CacheConfig::default())
        .await
        .map_err(|e| anyhow::anyhow!("loading users and groups from Keycloak: {e}"))?;
    let following = tokio::spawn(cache.clone().run());
    let (stores, driver) = ResourceStores::start(
        client.clone(),
        StoresConfig::new(connection.namespace.clone()),
    );
    let watching = tokio::spawn(driver);
    stores
        .wait_ready(std::time::Duration::from_secs(120))
        .await
        .map_err(|e| anyhow::anyhow!("listing PrimeHub's resources: {e}"))?;
    let world = KeycloakJobWorld::new(
        cache.clone(),
        stores.clone(),
        connection.naming.clone(),
        jobs.pod.clone(),
    );
    let schedules =
        KeycloakScheduleContext::new(cache.clone(), stores.clone(), connection.naming.clone());
    let (_, driver) = JobControllers::start(
        client.clone(),
        stores,
        Arc::new(KeycloakQuotas::new(cache)),
        Arc::new(world),
        Arc::new(schedules),
        clock,
        metrics,
        jobs.controllers.clone(),
    );
    tracing::info!("job controllers started: queue, job pods, cleanup, schedules");
    Ok(async move {
        driver.await;
        following.abort();
        watching.abort();
    }
    .boxed())
}

/// Runs the orphan-role sweep once ([`role_sync::prune_orphan_roles`]), retrying while Keycloak
/// or the Kubernetes API is unreachable (for `--startup-timeout`); `None` when `shutdown`
/// arrived first.
///
/// # Errors
///
/// An unusable configuration, or a failure waiting cannot fix, naming what to check. Roles
/// deleted before a failure stay deleted (each is logged).
pub async fn prune(
    settings: &Settings,
    dry_run: bool,
    grace: std::time::Duration,
    shutdown: Shutdown,
) -> anyhow::Result<Option<PruneReport>> {
    let connection = &settings.connection;
    let admin = connection.keycloak_admin()?;
    let client = connection.kube_client().await?.client().clone();
    tracing::info!(
        keycloak_url = %connection.keycloak_url,
        realm = %connection.realm,
        namespace = %connection.namespace,
        role_prefix = connection.naming.prefix.as_deref().unwrap_or(""),
        dry_run,
        grace_seconds = grace.as_secs(),
        "sweeping orphan roles"
    );
    let status = StartStatus::default();
    let report = start_with_retries(
        StartOptions {
            what: "the orphan-role sweep",
            connection,
            timeout: settings.startup_timeout,
            status: &status,
        },
        shutdown,
        || {
            role_sync::prune_orphan_roles(
                &admin,
                &client,
                &connection.namespace,
                &connection.naming,
                grace,
                dry_run,
            )
        },
        |e| classify(e, connection),
    )
    .await?;
    if let Some(report) = &report {
        tracing::info!(
            orphans = report.orphans.len(),
            deleted = report.deleted.len(),
            dry_run,
            "orphan-role sweep done"
        );
    }
    Ok(report)
}
