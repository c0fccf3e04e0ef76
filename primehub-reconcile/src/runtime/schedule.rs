//! The PhSchedule controller: PrimeHub's recurring jobs, level-based on kube-runtime.
//!
//! PrimeHub's controller (`ee/controllers/phschedule_controller.go`, reference
//! `primehub-controllers.md` §4.6) keeps an in-memory robfig/cron entry per schedule, keyed by
//! name only, and requeues every schedule every minute. This one keeps nothing in memory: every
//! reconcile derives what to do from the object, the injected [`Clock`] and the
//! [`ScheduleContext`] (system time zone, job-template validation), so two schedules of the
//! same name in different namespaces do not collide (they do in PrimeHub: the second one's
//! cron entry replaces the first's), a restart loses nothing, and a reconcile at steady state
//! writes nothing.
//!
//! # One reconcile
//!
//! The status is PrimeHub's (`invalid`, `nextRunTime`, `message`), set as §4.6 says:
//!
//! | the schedule | `invalid` | `nextRunTime` | `message` | next reconcile |
//! |---|---|---|---|---|
//! | `inactive` | false | none | `This phSchedule is inactive` | on change |
//! | recurrence does not parse (or unknown type) | true | none | `phSchedule recurrence format invalid` | on change |
//! | job template invalid ([`ScheduleContext::validate`]) | true | none | the validation error | [`ScheduleConfig::safety_requeue`] |
//! | valid | false | the next run in the system time zone | none | at `nextRunTime` (at most the safety requeue) |
//!
//! When the recorded `nextRunTime` has come ([`primehub_model::schedule::due`], evaluated on
//! the injected clock) and is still a run time of the current expression and zone:
//!
//! 1. the PhJobs labelled `phjob.primehub.io/scheduledBy=<schedule>` in the namespace are
//!    listed from the API server; if one is `Pending`, `Preparing` or `Running` (or has no
//!    status yet) this run is skipped (no overlap; event `RunSkipped`);
//! 2. otherwise the job is created ([`primehub_model::schedule::scheduled_job`]: its name is
//!    derived from the schedule's uid and the run time, so a retry after a failed status write
//!    finds it `AlreadyExists` rather than creating a second one; event `JobCreated`);
//! 3. `nextRunTime` moves to the next run after now.
//!
//! **A deleted group.** A schedule whose job template names a group that is gone
//! ([`ScheduleContext::group_gone`]: deleted in Keycloak after the schedule was created) is
//! deleted, with event `GroupDeleted`; every schedule is looked at again as soon as a group
//! disappears ([`ScheduleContext::removed_groups`]). PrimeHub deletes a group's schedules only
//! when the group is deleted through its GraphQL API (a group-deletion callback); here it
//! happens whatever deleted the group, Keycloak's own console included.
//!
//! A run missed by more than [`ScheduleConfig::starting_deadline`] (the controller was down) is
//! skipped with event `RunMissed`; PrimeHub loses every run missed while it is down. The
//! validation is repeated before each run, as PrimeHub rebuilds the job when its cron fires.
//! No owner reference is set on the jobs: deleting a schedule keeps its jobs, as in PrimeHub.
//!
//! Differences from PrimeHub, all deliberate: the DST rules of
//! [`primehub_model::schedule`]; the message of a valid schedule is cleared (PrimeHub leaves
//! `This phSchedule is inactive` behind when a schedule is activated); a job without a status
//! yet blocks the next run; the `kubectl.kubernetes.io/last-applied-configuration` annotation
//! is not copied onto jobs; the time zone comes from the Keycloak cache rather than a GraphQL
//! call per reconcile, and an unknown zone means `Etc/UTC` (as GraphQL answers) instead of a
//! schedule that cannot be registered.
//!
//! # "Run now"
//!
//! GraphQL `runPhSchedule` is served by the API (`primehub-graphql`): as PrimeHub's resolver,
//! it creates a job from the template owned by the caller, without the scheduledBy label, so
//! it neither waits for nor blocks the scheduled runs; this controller has no part in it.
//!
//! ```
//! # #[cfg(feature = "fake")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use futures::StreamExt;
//! use primehub_model::clock::ManualClock;
//! use primehub_model::crd::{PhJobSpec, PhSchedule, PhScheduleSpec};
//! use primehub_model::crd::schedule::{PhJobTemplate, Recurrence, RecurrenceType};
//! use primehub_reconcile::fake::FakeCluster;
//! use primehub_reconcile::runtime::schedule::{self, ScheduleConfig, StaticScheduleContext};
//! use primehub_reconcile::runtime::{ControllerRuntime, Metrics};
//!
//! let clock = Arc::new(ManualClock::at("2026-12-04T12:00:00Z".parse()?));
//! let cluster = FakeCluster::with_clock(clock.clone());
//! let client = cluster.client();
//! let tz = jiff::tz::TimeZone::get("Asia/Taipei")?;
//! let ctx = schedule::Context::new(
//!     client.clone(), clock.clone(), Arc::new(StaticScheduleContext::new(tz)), ScheduleConfig::default());
//! let runtime = ControllerRuntime::new(schedule::CONTROLLER, &Metrics::new());
//! let controller = schedule::controller(client.clone(), Some("hub"));
//! tokio::spawn(runtime.run(controller, schedule::reconcile, Arc::new(ctx)).for_each(|_| async {}));
//!
//! let schedules: kube::Api<PhSchedule> = kube::Api::namespaced(client, "hub");
//! let daily = PhSchedule::new("nightly", PhScheduleSpec {
//!     recurrence: Recurrence { type_: RecurrenceType::Daily, cron: None },
//!     job_template: PhJobTemplate { metadata: None, spec: PhJobSpec {
//!         display_name: "train".into(), user_id: "u-1".into(), group_id: "g-1".into(),
//!         group_name: "phusers".into(), instance_type: "cpu-1".into(),
//!         image: "base-notebook".into(), command: "python train.py".into(),
//!         ..PhJobSpec::default() } },
//! });
//! schedules.create(&Default::default(), &daily).await?;
//! let next = loop {
//!     let s = schedules.get("nightly").await?;
//!     if let Some(t) = s.status.and_then(|s| s.next_run_time) { break t; }
//!     tokio::time::sleep(std::time::Duration::from_millis(10)).await;
//! };
//! assert_eq!(next.0.to_string(), "2026-12-04T20:00:00Z"); // 04:00 in Taipei
//! # Ok(()) }
//! # #[cfg(not(feature = "fake"))]
//! # fn main() {}
//! ```

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{self, Action};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{Controller, watcher};
use kube::{Client, Resource, ResourceExt};
use primehub_keycloak::cache::KeycloakCache;
use primehub_model::clock::Clock;
use primehub_model::crd::job::LABEL_SCHEDULED_BY;
use primehub_model::crd::schedule::PhScheduleStatus;
use primehub_model::crd::{PhJob, PhJobSpec, PhSchedule};
use primehub_model::roles::RoleNaming;
use primehub_model::schedule::{self as model, Due, Plan};
use serde_json::json;

use super::ControllerRuntime;
use crate::error::{Error, KubeError};
use crate::runtime::job_world::KeycloakJobWorld;
use crate::stores::ResourceStores;
use primehub_model::pod::job::JobPodConfig;

/// The controller's name (the `controller` label of its metrics).
pub const CONTROLLER: &str = "phschedule";

/// The name of the event reporter (`reportingController`).
pub const REPORTER: &str = "primehub-phschedule";

/// What the controller needs to know beyond the schedule: the system time zone and whether a
/// job template may run. Implemented over the Keycloak cache and the resource stores by
/// [`KeycloakScheduleContext`]; [`StaticScheduleContext`] answers fixed values (tests,
/// embedding).
#[async_trait]
pub trait ScheduleContext: Send + Sync {
    /// Whether the context can answer yet (its caches are filled). While it cannot, a reconcile
    /// writes nothing and looks again soon.
    fn is_ready(&self) -> bool {
        true
    }

    /// The system time zone schedules run in.
    ///
    /// # Errors
    ///
    /// When it cannot be read now; the reconcile is retried.
    async fn time_zone(&self) -> Result<TimeZone, Error>;

    /// Whether a PhJob with `spec` may run: its user exists, is a member of its group (an
    /// empty group is `everyone`), and the instance type and image exist and are offered to the
    /// group. `Err` carries the message the schedule's status shows (PrimeHub's spawner's:
    /// `Group not found: <name>`, `InstanceType not found: <name>`, `Image not found: <name>`).
    async fn validate(&self, spec: &PhJobSpec) -> Result<(), String>;

    /// Whether the group a schedule's job template names is gone (deleted in Keycloak after
    /// the schedule, created at `created`, was made): the controller then removes the
    /// schedule. The default knows no groups and answers `false`.
    fn group_gone(&self, spec: &PhJobSpec, created: Option<Timestamp>) -> bool {
        let _ = (spec, created);
        false
    }

    /// A stream of the names of groups that have just disappeared, so that schedules are
    /// looked at again at once; `None` (the default) when the context cannot tell.
    fn removed_groups(&self) -> Option<BoxStream<'static, Vec<String>>> {
        None
    }
}

type Validator = dyn Fn(&PhJobSpec) -> Result<(), String> + Send + Sync;

/// A [`ScheduleContext`] with a time zone a test sets and a validation function (every
/// template is valid by default).
pub struct StaticScheduleContext {
    time_zone: Mutex<TimeZone>,
    validator: Box<Validator>,
    deleted_groups: Mutex<std::collections::BTreeSet<String>>,
    deletions: tokio::sync::watch::Sender<u64>,
}

impl std::fmt::Debug for StaticScheduleContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticScheduleContext")
            .field("time_zone", &self.current_time_zone().iana_name())
            .finish_non_exhaustive()
    }
}

impl StaticScheduleContext {
    /// A context in time zone `tz` that accepts every job template.
    pub fn new(tz: TimeZone) -> StaticScheduleContext {
        StaticScheduleContext {
            time_zone: Mutex::new(tz),
            validator: Box::new(|_| Ok(())),
            deleted_groups: Mutex::default(),
            deletions: tokio::sync::watch::Sender::new(0),
        }
    }

    /// Marks the group named `name` deleted: templates naming it are gone
    /// ([`ScheduleContext::group_gone`]) and [`ScheduleContext::removed_groups`] reports it.
    pub fn delete_group(&self, name: &str) {
        self.deleted_groups
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(name.to_owned());
        self.deletions.send_modify(|n| *n += 1);
    }

    /// The same context validating templates with `validator`.
    pub fn with_validator(
        mut self,
        validator: impl Fn(&PhJobSpec) -> Result<(), String> + Send + Sync + 'static,
    ) -> StaticScheduleContext {
        self.validator = Box::new(validator);
        self
    }

    /// Changes the time zone (as an administrator changing the system setting).
    pub fn set_time_zone(&self, tz: TimeZone) {
        *self
            .time_zone
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = tz;
    }

    fn current_time_zone(&self) -> TimeZone {
        self.time_zone
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

#[async_trait]
impl ScheduleContext for StaticScheduleContext {
    async fn time_zone(&self) -> Result<TimeZone, Error> {
        Ok(self.current_time_zone())
    }

    async fn validate(&self, spec: &PhJobSpec) -> Result<(), String> {
        (self.validator)(spec)
    }

    fn group_gone(&self, spec: &PhJobSpec, _created: Option<Timestamp>) -> bool {
        self.deleted_groups
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(&spec.group_name)
    }

    fn removed_groups(&self) -> Option<BoxStream<'static, Vec<String>>> {
        let changes = self.deletions.subscribe();
        Some(
            futures::stream::unfold(changes, |mut changes| async move {
                changes.changed().await.ok()?;
                Some((Vec::new(), changes))
            })
            .boxed(),
        )
    }
}

/// The [`ScheduleContext`] of a real deployment: the system time zone from the Keycloak cache
/// (the `everyone` group's `timezone` attribute, [`model::system_time_zone`]), users, groups
/// and role mappings from the same cache, images and instance types from the resource stores,
/// with the launch rules of [`primehub_model::binding::job_launchable_with`] — the answers
/// PrimeHub's controller gets from GraphQL, without a network call per reconcile.
#[derive(Debug, Clone)]
pub struct KeycloakScheduleContext {
    world: KeycloakJobWorld,
}

impl KeycloakScheduleContext {
    /// A context over `cache` (keep it following Keycloak) and `stores` (started in PrimeHub's
    /// namespace), reading role names with `naming` (`KC_ROLE_PREFIX`).
    pub fn new(
        cache: KeycloakCache,
        stores: ResourceStores,
        naming: RoleNaming,
    ) -> KeycloakScheduleContext {
        KeycloakScheduleContext {
            world: KeycloakJobWorld::new(cache, stores, naming, JobPodConfig::default()),
        }
    }
}

#[async_trait]
impl ScheduleContext for KeycloakScheduleContext {
    fn is_ready(&self) -> bool {
        self.world.stores().is_ready()
    }

    async fn time_zone(&self) -> Result<TimeZone, Error> {
        Ok(model::time_zone(self.world.time_zone().as_deref()).unwrap_or(TimeZone::UTC))
    }

    async fn validate(&self, spec: &PhJobSpec) -> Result<(), String> {
        // The pod builder's own resolution (`resolve_job`): a template that validates builds
        // a pod, one that does not fails with the message the job would get.
        self.world.validate(&PhJob::new("validation", spec.clone()))
    }

    fn group_gone(&self, spec: &PhJobSpec, created: Option<Timestamp>) -> bool {
        self.world.group_gone_since(spec, created)
    }

    fn removed_groups(&self) -> Option<BoxStream<'static, Vec<String>>> {
        Some(self.world.removed_group_names())
    }
}

/// The controller's timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleConfig {
    /// The longest time between two reconciles of a schedule, whatever its next run: picks up
    /// changes no watch reports (the system time zone, users, groups, images) and jumps of the
    /// clock. PrimeHub requeues every minute.
    pub safety_requeue: Duration,
    /// How late a run may still start (the controller was down, or could not write); a run
    /// missed by more is skipped.
    pub starting_deadline: SignedDuration,
    /// How soon to look again while the [`ScheduleContext`] is not ready.
    pub not_ready_requeue: Duration,
}

impl Default for ScheduleConfig {
    /// A 5-minute safety requeue, a 1-hour starting deadline, 5 s while not ready.
    fn default() -> Self {
        ScheduleConfig {
            safety_requeue: Duration::from_secs(300),
            starting_deadline: SignedDuration::from_hours(1),
            not_ready_requeue: Duration::from_secs(5),
        }
    }
}

/// What the reconcile needs.
#[derive(Clone)]
pub struct Context {
    /// The client (real, or the fake's in-process one).
    pub client: Client,
    /// The clock run times are compared with.
    pub clock: Arc<dyn Clock>,
    /// The time zone and job-template validation.
    pub schedules: Arc<dyn ScheduleContext>,
    /// Timing.
    pub config: ScheduleConfig,
    /// Publishes events about the schedules.
    pub recorder: Recorder,
}

impl Context {
    /// A context on `client`, reporting events as [`REPORTER`].
    pub fn new(
        client: Client,
        clock: Arc<dyn Clock>,
        schedules: Arc<dyn ScheduleContext>,
        config: ScheduleConfig,
    ) -> Context {
        let recorder = Recorder::new(
            client.clone(),
            Reporter {
                controller: REPORTER.into(),
                instance: None,
            },
        );
        Context {
            client,
            clock,
            schedules,
            config,
            recorder,
        }
    }
}

/// What one reconcile did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The schedule is being deleted: nothing to do.
    Deleting,
    /// The job template's group is gone: the schedule was deleted.
    Removed {
        /// The group's name.
        group: String,
    },
    /// The [`ScheduleContext`] is not ready: nothing written.
    NotReady,
    /// The schedule is inactive.
    Inactive,
    /// The recurrence or the job template is invalid; the status says why.
    Invalid,
    /// Waiting for the next run.
    Waiting {
        /// The next run.
        next: Timestamp,
    },
    /// A run was due and its job was created (or existed already).
    Ran {
        /// The job's name.
        job: String,
        /// The next run.
        next: Timestamp,
    },
    /// A run was due but a job of the schedule was still active: skipped.
    Skipped {
        /// The active job.
        active: String,
        /// The next run.
        next: Timestamp,
    },
    /// A run was missed by more than the starting deadline: skipped.
    Missed {
        /// The missed run time.
        run: Timestamp,
        /// The next run.
        next: Timestamp,
    },
}

fn schedule_identity(schedule: &PhSchedule) -> Result<(String, String), Error> {
    let missing = |what: &str| {
        Error::Kube(KubeError::BadRequest {
            message: format!("the PhSchedule has no {what}"),
        })
    };
    let name = schedule
        .metadata
        .name
        .clone()
        .ok_or_else(|| missing("name"))?;
    let namespace = schedule
        .metadata
        .namespace
        .clone()
        .ok_or_else(|| missing("namespace"))?;
    Ok((name, namespace))
}

async fn publish(
    ctx: &Context,
    schedule: &PhSchedule,
    type_: EventType,
    reason: &str,
    note: String,
) {
    let event = Event {
        type_,
        reason: reason.into(),
        note: Some(note),
        action: "Schedule".into(),
        secondary: None,
    };
    // Events are best effort: a failure to report is logged, not retried.
    if let Err(e) = ctx
        .recorder
        .publish(&event, &schedule.object_ref(&()))
        .await
    {
        tracing::warn!(schedule = %schedule.name_any(), "cannot publish event: {e}");
    }
}

/// Writes `want` as the status unless it is already the status (a merge patch of the status
/// subresource; absent values are removed).
async fn write_status(
    api: &Api<PhSchedule>,
    schedule: &PhSchedule,
    want: &PhScheduleStatus,
) -> Result<bool, Error> {
    let current = schedule.status.clone().unwrap_or_default();
    if &current == want {
        return Ok(false);
    }
    let patch = json!({"status": {
        "invalid": want.invalid,
        "nextRunTime": want.next_run_time,
        "message": want.message,
    }});
    api.patch_status(
        &schedule.name_any(),
        &PatchParams::default(),
        &Patch::Merge(patch),
    )
    .await?;
    Ok(true)
}

/// How long to wait for `next` from `now`: the time left, at least 100 ms (a timer may fire a
/// little early), at most the safety requeue.
fn wait_for(next: Timestamp, now: Timestamp, config: &ScheduleConfig) -> Duration {
    let left = Duration::try_from(next.duration_since(now)).unwrap_or_default();
    left.clamp(
        Duration::from_millis(100),
        config.safety_requeue.max(Duration::from_millis(100)),
    )
}

/// One level-based step for `schedule`: decides the status from the object, the clock and the
/// [`ScheduleContext`], creates the job of a due run, writes the status if it changed, and
/// says when to look again.
pub async fn reconcile_step(schedule: &PhSchedule, ctx: &Context) -> Result<(Step, Action), Error> {
    if schedule.metadata.deletion_timestamp.is_some() {
        return Ok((Step::Deleting, Action::await_change()));
    }
    let (name, namespace) = schedule_identity(schedule)?;
    let api: Api<PhSchedule> = Api::namespaced(ctx.client.clone(), &namespace);
    let template = &schedule.spec.job_template.spec;
    let created = schedule.metadata.creation_timestamp.as_ref().map(|t| t.0);
    if ctx.schedules.is_ready() && ctx.schedules.group_gone(template, created) {
        let group = template.group_name.clone();
        publish(
            ctx,
            schedule,
            EventType::Normal,
            "GroupDeleted",
            format!("group {group} was deleted: the schedule is removed"),
        )
        .await;
        super::delete_if_unchanged(&api, schedule, DeleteParams::default()).await?;
        tracing::info!(schedule = %name, %group, "the schedule's group is gone: schedule deleted");
        return Ok((Step::Removed { group }, Action::await_change()));
    }
    let expr = match model::plan(&schedule.spec.recurrence) {
        Plan::Inactive => {
            write_status(&api, schedule, &model::inactive_status()).await?;
            return Ok((Step::Inactive, Action::await_change()));
        }
        Plan::Invalid(e) => {
            if write_status(&api, schedule, &model::recurrence_invalid_status()).await? {
                publish(
                    ctx,
                    schedule,
                    EventType::Warning,
                    "InvalidRecurrence",
                    e.to_string(),
                )
                .await;
            }
            return Ok((Step::Invalid, Action::await_change()));
        }
        Plan::Active(expr) => expr,
    };
    if !ctx.schedules.is_ready() {
        return Ok((
            Step::NotReady,
            Action::requeue(ctx.config.not_ready_requeue),
        ));
    }
    let tz = ctx.schedules.time_zone().await?;
    if let Err(message) = ctx
        .schedules
        .validate(&schedule.spec.job_template.spec)
        .await
    {
        if write_status(&api, schedule, &model::invalid_status(message.clone())).await? {
            publish(
                ctx,
                schedule,
                EventType::Warning,
                "InvalidJobTemplate",
                message,
            )
            .await;
        }
        return Ok((Step::Invalid, Action::requeue(ctx.config.safety_requeue)));
    }
    let now = ctx.clock.now();
    let recorded = schedule
        .status
        .as_ref()
        .and_then(|s| s.next_run_time.as_ref())
        .map(|t| t.0);
    let Some(next) = expr.next_after(now, &tz) else {
        // No run before the year 5000: the expression cannot run.
        write_status(&api, schedule, &model::recurrence_invalid_status()).await?;
        return Ok((Step::Invalid, Action::await_change()));
    };
    let step = match model::due(&expr, &tz, recorded, now, ctx.config.starting_deadline) {
        Due::No => Step::Waiting { next },
        Due::Missed(run) => {
            publish(
                ctx,
                schedule,
                EventType::Warning,
                "RunMissed",
                format!("the run at {run} was missed by more than the starting deadline"),
            )
            .await;
            Step::Missed { run, next }
        }
        Due::Run(run) => {
            let jobs: Api<PhJob> = Api::namespaced(ctx.client.clone(), &namespace);
            let selector = format!("{LABEL_SCHEDULED_BY}={name}");
            let listed = jobs.list(&ListParams::default().labels(&selector)).await?;
            let job = model::scheduled_job(schedule, run)?;
            let job_name = job.name_any();
            if listed.items.iter().any(|j| j.name_any() == job_name) {
                // This run's job exists: created by an earlier reconcile whose status write
                // failed.
                Step::Ran {
                    job: job_name,
                    next,
                }
            } else if let Some(active) = listed.items.iter().find(|j| model::blocks_next_run(j)) {
                let active = active.name_any();
                publish(
                    ctx,
                    schedule,
                    EventType::Normal,
                    "RunSkipped",
                    format!("the run at {run} is skipped: job {active} is still active"),
                )
                .await;
                Step::Skipped { active, next }
            } else {
                match jobs.create(&PostParams::default(), &job).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(status)) if status.code == 409 => {
                        tracing::info!(schedule = %name, job = %job_name, "the run's job exists already");
                    }
                    Err(e) => return Err(e.into()),
                }
                publish(
                    ctx,
                    schedule,
                    EventType::Normal,
                    "JobCreated",
                    format!("created job {job_name} for the run at {run}"),
                )
                .await;
                Step::Ran {
                    job: job_name,
                    next,
                }
            }
        }
    };
    write_status(&api, schedule, &model::active_status(next)).await?;
    Ok((step, Action::requeue(wait_for(next, now, &ctx.config))))
}

/// The reconcile function for kube-runtime: [`reconcile_step`]'s action.
pub async fn reconcile(schedule: Arc<PhSchedule>, ctx: Arc<Context>) -> Result<Action, Error> {
    let (step, action) = reconcile_step(&schedule, &ctx).await?;
    tracing::debug!(schedule = %schedule.name_any(), ?step, "reconciled");
    Ok(action)
}

/// The controller: PhSchedules in `namespace`, or in all namespaces.
pub fn controller(client: Client, namespace: Option<&str>) -> Controller<PhSchedule> {
    let schedules: Api<PhSchedule> = match namespace {
        Some(ns) => Api::namespaced(client, ns),
        None => Api::all(client),
    };
    Controller::new(schedules, watcher::Config::default())
}

/// Runs the controller with `ctx` and `runtime` until it shuts down; drive the returned stream.
pub fn run(
    ctx: Context,
    namespace: Option<&str>,
    runtime: &ControllerRuntime,
) -> impl Stream<
    Item = Result<(ObjectRef<PhSchedule>, Action), controller::Error<Error, watcher::Error>>,
> + Send
+ use<> {
    let client = ctx.client.clone();
    let mut controller = controller(client, namespace);
    if let Some(removed) = ctx.schedules.removed_groups() {
        // Schedules are few: look at all of them when a group goes.
        controller = controller.reconcile_all_on(removed.map(|_| ()));
    }
    runtime.run(controller, reconcile, Arc::new(ctx))
}
