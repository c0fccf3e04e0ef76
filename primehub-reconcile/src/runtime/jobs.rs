//! PrimeHub's job controllers together, as `primehub-controller` and `primehub dev` run them:
//! the queue ([`job_queue`](super::job_queue)), the PhJob controller and the cleaner
//! ([`phjob`]), and the PhSchedule controller ([`schedule`]),
//! over one set of stores, one quota source, one clock and one [`Metrics`].
//!
//! ```no_run
//! # async fn wire(client: kube::Client, stores: primehub_reconcile::stores::ResourceStores,
//! #   quotas: std::sync::Arc<dyn primehub_reconcile::webhook::quotas::QuotaSource>,
//! #   environment: std::sync::Arc<dyn primehub_reconcile::runtime::phjob::JobEnvironment>,
//! #   schedules: std::sync::Arc<dyn primehub_reconcile::runtime::schedule::ScheduleContext>) {
//! use primehub_reconcile::runtime::Metrics;
//! use primehub_reconcile::runtime::jobs::{JobControllers, JobControllersConfig};
//! let metrics = Metrics::new();
//! let clock = std::sync::Arc::new(primehub_model::clock::SystemClock);
//! let (jobs, driver) = JobControllers::start(
//!     client, stores, quotas, environment, schedules, clock, &metrics,
//!     JobControllersConfig::default(),
//! );
//! tokio::spawn(driver); // runs until aborted
//! # let _ = jobs; }
//! ```

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use primehub_model::clock::Clock;
use primehub_model::job_lifecycle::LifecycleConfig;

use super::job_queue::{JobQueue, JobQueueConfig};
use super::phjob::{self, Cleaner, JobEnvironment};
use super::schedule::{self, ScheduleConfig, ScheduleContext};
use super::{ControllerRuntime, Metrics};
use crate::stores::ResourceStores;
use crate::webhook::quotas::QuotaSource;

/// The settings of the job controllers (PrimeHub's `jobSubmission` configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobControllersConfig {
    /// Spec defaults, timeouts and requeues of the PhJob controller.
    pub lifecycle: LifecycleConfig,
    /// When the queue runs.
    pub queue: JobQueueConfig,
    /// `jobSubmission.jobTTLSeconds`: finished jobs are deleted this long after they finished
    /// (0 keeps them; the default).
    pub job_ttl_seconds: u64,
    /// `jobSubmission.jobLimit`: at most this many finished jobs are kept (0: any number; the
    /// default).
    pub job_limit: usize,
    /// How often the cleaner sweeps (PrimeHub: 30 s).
    pub cleaner_every: Duration,
    /// The PhSchedule controller's timing.
    pub schedules: ScheduleConfig,
}

impl Default for JobControllersConfig {
    fn default() -> Self {
        JobControllersConfig {
            lifecycle: LifecycleConfig::default(),
            queue: JobQueueConfig::default(),
            job_ttl_seconds: 0,
            job_limit: 0,
            cleaner_every: Duration::from_secs(30),
            schedules: ScheduleConfig::default(),
        }
    }
}

/// The running job controllers.
#[derive(Debug, Clone)]
pub struct JobControllers {
    /// The queue (its job store, its passes).
    pub queue: JobQueue,
    /// The cleaner of finished jobs.
    pub cleaner: Cleaner,
}

impl JobControllers {
    /// Starts the queue, the PhJob controller, the cleaner and the PhSchedule controller in
    /// `stores`' namespace; returns them and the driver future that runs them all (spawn it;
    /// it ends only if a controller's stream ends). `stores` must be running.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        client: kube::Client,
        stores: ResourceStores,
        quotas: Arc<dyn QuotaSource>,
        environment: Arc<dyn JobEnvironment>,
        schedules: Arc<dyn ScheduleContext>,
        clock: Arc<dyn Clock>,
        metrics: &Metrics,
        config: JobControllersConfig,
    ) -> (JobControllers, impl Future<Output = ()> + Send + 'static) {
        let namespace = stores.namespace().to_owned();
        let (queue, queue_driver) = JobQueue::start(
            client.clone(),
            stores,
            quotas,
            clock.clone(),
            metrics,
            config.queue,
        );
        let jobs_runtime = ControllerRuntime::new("phjob", metrics);
        let jobs = phjob::run(
            client.clone(),
            &namespace,
            phjob::Context::new(client.clone(), environment, clock.clone(), config.lifecycle),
            &jobs_runtime,
        )
        .for_each(|_| async {});
        let schedules_runtime = ControllerRuntime::new(schedule::CONTROLLER, metrics);
        let schedule_controller = schedule::run(
            schedule::Context::new(client.clone(), clock.clone(), schedules, config.schedules),
            Some(&namespace),
            &schedules_runtime,
        )
        .for_each(|_| async {});
        let cleaner = Cleaner::new(
            client,
            &namespace,
            queue.jobs().clone(),
            clock,
            config.job_ttl_seconds,
            config.job_limit,
        );
        let cleaning = cleaner.clone().run(config.cleaner_every);
        let driver = futures::future::select_all([
            queue_driver.boxed(),
            jobs.boxed(),
            schedule_controller.boxed(),
            cleaning.boxed(),
        ])
        .map(|_| tracing::error!("a job controller ended"));
        (JobControllers { queue, cleaner }, driver)
    }
}
