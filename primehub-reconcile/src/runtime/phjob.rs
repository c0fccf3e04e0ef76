//! The PhJob controller: a job's pod and status after the queue started it (PrimeHub's
//! `PhJobReconciler`, `primehub-controllers.md` §4.2), and the cleaner of finished jobs (§4.5).
//!
//! Every decision is [`primehub_model::job_lifecycle`]'s pure function; this module does the
//! I/O around it on kube-runtime:
//!
//! * a `Controller<PhJob>` that owns the jobs' pods (label `app=primehub-job`; kube-runtime
//!   keeps no store of them, a pod event only wakes its job);
//! * per reconcile: the spec defaults written first (one merge patch: the group's
//!   `job-default-active-deadline-seconds`, else the operator's default; the TTL), the pod read
//!   (one GET), the step
//!   decided, the pod deleted (grace period 0) or built and created, and the status written
//!   when it changed — a merge patch carrying the job's `resourceVersion`, so a concurrent
//!   change (a cancel) is a conflict, retried with the newer job;
//! * the pod comes from a [`JobEnvironment`]: the pod builder with the group, user, instance
//!   type, image and datasets the job names; its errors (`Image not found: …`) fail the job
//!   with `PodCreationFailed`, as PrimeHub's;
//! * a job whose group is gone ([`JobEnvironment::group_gone`]: deleted in Keycloak) is
//!   stopped whatever its phase short of final — queued, preparing or running — with its pod
//!   deleted, `Cancelled` and the message `Cancelled: group <name> was deleted`
//!   ([`primehub_model::job_lifecycle::group_gone`]); the unfinished jobs of a group are
//!   reconciled as soon as it disappears ([`JobEnvironment::removed_groups`]). PrimeHub runs
//!   a `jobs` deletion callback only when the group is deleted through its GraphQL API, and
//!   its scheduler fails a queued job whose group lookup fails with `cannot get group info`;
//! * the requeue is the step's (the TTL of a finished job, the deadline of a running one,
//!   else a minute).
//!
//! PrimeHub also notifies its GraphQL server of each phase change (`notifyPhJobEvent`, for
//! e-mail notifications); this controller records a Kubernetes Event on the job instead
//! (reason `PhJobPhaseChanged`, action and note naming the new phase), which `kubectl
//! describe` shows. kube-runtime's recorder folds an event into the earlier one with the
//! same type, reason, action and object (a series: a count, the first note kept), so the
//! action is the phase: each phase a job reaches has its own Event and note, and only a
//! phase reached again (Pending after a requeue) is counted in its series.
//!
//! The cleaner ([`Cleaner`]) runs every 30 s on the queue's job store: finished jobs past
//! `jobTTLSeconds` after their `finishTime` are deleted, then the oldest finished jobs beyond
//! `jobLimit` (both off at 0), with grace period 0; the decision is
//! [`primehub_model::job_lifecycle::cleanup`].

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{self, Action};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{Controller, watcher};
use kube::{Client, Resource, ResourceExt};
use primehub_model::clock::Clock;
use primehub_model::crd::job::{PhJob, PhJobPhase, PhJobStatus};
use primehub_model::job_lifecycle::{
    CreateOutcome, LifecycleConfig, PodAction, after_create, group_gone, reconcile as decide,
    spec_defaults,
};
use serde_json::json;

use super::ControllerRuntime;
use crate::error::Error;
use crate::runtime::job_queue::PhJobView;

/// The event reporter's name (`reportingController`).
pub const REPORTER: &str = "primehub-phjob-controller";

/// What the controller needs to know about a job's world.
#[async_trait]
pub trait JobEnvironment: Send + Sync {
    /// The group's `job-default-active-deadline-seconds`, if it sets one.
    async fn group_default_deadline(&self, group_name: &str) -> Option<u64>;

    /// The job's pod (name = the job's, owner reference to the job), or the error PrimeHub
    /// records as the job's message (for example `Image not found: base`).
    async fn build_pod(&self, job: &PhJob) -> Result<Pod, String>;

    /// Whether the job's group is gone: the environment knows the groups as they were after
    /// the job was created, and neither the job's `groupId` nor its `groupName` is among them.
    /// The controller then stops the job ([`primehub_model::job_lifecycle::group_gone`]). The
    /// default knows no groups and answers `false`.
    fn group_gone(&self, job: &PhJob) -> bool {
        let _ = job;
        false
    }

    /// A stream of the names of groups that have just disappeared, so that their unfinished
    /// jobs are reconciled at once rather than at their next recheck; `None` (the default)
    /// when the environment cannot tell.
    fn removed_groups(&self) -> Option<BoxStream<'static, Vec<String>>> {
        None
    }
}

/// The controller's state.
pub struct Context {
    client: Client,
    environment: Arc<dyn JobEnvironment>,
    clock: Arc<dyn Clock>,
    config: LifecycleConfig,
    recorder: Recorder,
}

impl Context {
    /// A context on `client`.
    pub fn new(
        client: Client,
        environment: Arc<dyn JobEnvironment>,
        clock: Arc<dyn Clock>,
        config: LifecycleConfig,
    ) -> Context {
        let recorder = Recorder::new(
            client.clone(),
            Reporter {
                controller: REPORTER.into(),
                instance: std::env::var("POD_NAME").ok(),
            },
        );
        Context {
            client,
            environment,
            clock,
            config,
            recorder,
        }
    }
}

fn job_key(job: &PhJob) -> Result<(String, String), Error> {
    match (&job.metadata.name, &job.metadata.namespace) {
        (Some(name), Some(ns)) => Ok((name.clone(), ns.clone())),
        _ => Err(Error::Kube(crate::error::KubeError::BadRequest {
            message: "the PhJob has no name or namespace".to_owned(),
        })),
    }
}

fn to_std(d: jiff::SignedDuration) -> Duration {
    Duration::try_from(d).unwrap_or(Duration::ZERO)
}

/// One reconcile of `job` (see the [module docs](self)); returns when to look again.
pub async fn reconcile(job: Arc<PhJob>, ctx: Arc<Context>) -> Result<Action, Error> {
    if job.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let (name, namespace) = job_key(&job)?;
    let jobs: Api<PhJob> = Api::namespaced(ctx.client.clone(), &namespace);
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), &namespace);

    let mut job = (*job).clone();
    let group_deadline = if job.spec.active_deadline_seconds.is_none() {
        ctx.environment
            .group_default_deadline(&job.spec.group_name)
            .await
    } else {
        None
    };
    if let Some(defaults) = spec_defaults(&job.spec, group_deadline, &ctx.config) {
        let patch = json!({
            "metadata": {"resourceVersion": job.metadata.resource_version},
            "spec": {
                "activeDeadlineSeconds": defaults.active_deadline_seconds,
                "ttlSecondsAfterFinished": defaults.ttl_seconds_after_finished,
            },
        });
        job = jobs
            .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
    }

    let now = ctx.clock.now();
    let pod = pods.get_opt(&name).await?;
    let gone = ctx.environment.group_gone(&job);
    let step = match gone.then(|| group_gone(&job, pod.as_ref(), now)).flatten() {
        Some(step) => {
            tracing::info!(job = %name, group = %job.spec.group_name, "the job's group is gone: stopping the job");
            step
        }
        None => decide(&job, pod.as_ref(), now, &ctx.config),
    };
    let mut status = step.status;
    match step.pod {
        PodAction::None => {}
        PodAction::Delete => delete_pod(&pods, &name).await?,
        PodAction::Create => {
            let outcome = match ctx.environment.build_pod(&job).await {
                Err(message) => CreateOutcome::Failed(message),
                Ok(pod) => match pods.create(&PostParams::default(), &pod).await {
                    Ok(_) => CreateOutcome::Created,
                    Err(kube::Error::Api(e)) if e.code == 409 => CreateOutcome::AlreadyExists,
                    Err(kube::Error::Api(e)) if e.code < 500 => CreateOutcome::Failed(e.message),
                    Err(other) => return Err(other.into()),
                },
            };
            tracing::info!(job = %name, ?outcome, "created the job's pod");
            status = after_create(status, &name, &outcome, now);
        }
    }
    write_status(&jobs, &job, &status, &ctx).await?;
    Ok(match step.requeue {
        Some(after) => Action::requeue(to_std(after)),
        None => Action::await_change(),
    })
}

async fn delete_pod(pods: &Api<Pod>, name: &str) -> Result<(), Error> {
    match pods
        .delete(name, &DeleteParams::default().grace_period(0))
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

async fn write_status(
    jobs: &Api<PhJob>,
    job: &PhJob,
    status: &PhJobStatus,
    ctx: &Context,
) -> Result<(), Error> {
    let old = job.status.clone().unwrap_or_default();
    if old == *status {
        return Ok(());
    }
    let patch = json!({
        "metadata": {"resourceVersion": job.metadata.resource_version},
        "status": status,
    });
    let name = job.name_any();
    jobs.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    if old.phase != status.phase {
        let phase = status.phase.clone().unwrap_or(PhJobPhase::Pending);
        tracing::info!(job = %name, %phase, reason = ?status.reason, "phase changed");
        let event = Event {
            type_: if phase == PhJobPhase::Failed || phase == PhJobPhase::Unknown {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: "PhJobPhaseChanged".into(),
            note: Some(format!(
                "{phase}: {}",
                status.message.as_deref().unwrap_or_default()
            )),
            // The recorder's key has no note: one action for all phases would show the first
            // phase's note, counted, for every later change.
            action: phase.to_string(),
            secondary: None,
        };
        if let Err(e) = ctx.recorder.publish(&event, &job.object_ref(&())).await {
            tracing::warn!(job = %name, "cannot publish event: {e}");
        }
    }
    Ok(())
}

/// The controller: the PhJobs of `namespace` and the pods they own (label `app=primehub-job`).
pub fn controller(client: Client, namespace: &str) -> Controller<PhJob> {
    let jobs: Api<PhJob> = Api::namespaced(client.clone(), namespace);
    let pods: Api<Pod> = Api::namespaced(client, namespace);
    // kube-runtime keeps no store of owned objects: pod events only wake their jobs.
    Controller::new(jobs, watcher::Config::default())
        .owns(pods, watcher::Config::default().labels("app=primehub-job"))
}

/// Runs the PhJob controller with `runtime` until it shuts down; drive the returned stream.
pub fn run(
    client: Client,
    namespace: &str,
    context: Context,
    runtime: &ControllerRuntime,
) -> impl Stream<Item = Result<(ObjectRef<PhJob>, Action), controller::Error<Error, watcher::Error>>>
+ Send
+ use<> {
    let mut controller = controller(client, namespace);
    if let Some(removed) = context.environment.removed_groups() {
        let store = controller.store();
        let refs = removed.flat_map(move |groups| {
            let refs: Vec<ObjectRef<PhJob>> = store
                .state()
                .iter()
                .filter(|job| {
                    groups.contains(&job.spec.group_name)
                        && !job
                            .status
                            .as_ref()
                            .and_then(|s| s.phase.as_ref())
                            .is_some_and(PhJobPhase::is_final)
                })
                .map(|job| ObjectRef::from_obj(job.as_ref()))
                .collect();
            futures::stream::iter(refs)
        });
        controller = controller.reconcile_on(refs);
    }
    runtime.run(controller, reconcile, Arc::new(context))
}

/// The cleaner of finished PhJobs (see the [module docs](self)).
#[derive(Clone)]
pub struct Cleaner {
    /// The jobs' API.
    api: Api<PhJob>,
    /// The store of jobs (the queue's).
    jobs: kube::runtime::reflector::Store<PhJobView>,
    clock: Arc<dyn Clock>,
    /// `jobSubmission.jobTTLSeconds`: 0 keeps finished jobs.
    pub ttl_seconds: u64,
    /// `jobSubmission.jobLimit`: 0 keeps any number.
    pub limit: usize,
}

impl std::fmt::Debug for Cleaner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cleaner")
            .field("ttl_seconds", &self.ttl_seconds)
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl Cleaner {
    /// A cleaner of the jobs in `jobs` (the queue's store), deleting through `client`.
    pub fn new(
        client: Client,
        namespace: &str,
        jobs: kube::runtime::reflector::Store<PhJobView>,
        clock: Arc<dyn Clock>,
        ttl_seconds: u64,
        limit: usize,
    ) -> Cleaner {
        Cleaner {
            api: Api::namespaced(client, namespace),
            jobs,
            clock,
            ttl_seconds,
            limit,
        }
    }

    /// One sweep: deletes what [`primehub_model::job_lifecycle::cleanup`] picks; returns the
    /// names deleted (a job already gone counts as deleted).
    pub async fn sweep(&self) -> Vec<String> {
        let jobs = self.jobs.state();
        let finished: Vec<primehub_model::job_lifecycle::FinishedJob<'_>> = jobs
            .iter()
            .filter(|j| j.phase.is_final())
            .map(|j| primehub_model::job_lifecycle::FinishedJob {
                name: j.metadata.name.as_deref().unwrap_or(""),
                created: j
                    .metadata
                    .creation_timestamp
                    .as_ref()
                    .map(|t| t.0)
                    .unwrap_or(jiff::Timestamp::UNIX_EPOCH),
                finished: j.finish_time,
            })
            .collect();
        let picked = primehub_model::job_lifecycle::cleanup(
            &finished,
            self.clock.now(),
            self.ttl_seconds,
            self.limit,
        );
        let mut deleted = Vec::new();
        for name in picked {
            match self
                .api
                .delete(name, &DeleteParams::default().grace_period(0))
                .await
            {
                Ok(_) => deleted.push(name.to_owned()),
                Err(kube::Error::Api(e)) if e.code == 404 => deleted.push(name.to_owned()),
                Err(e) => tracing::warn!(job = name, "cannot delete the finished job: {e}"),
            }
        }
        if !deleted.is_empty() {
            tracing::info!(count = deleted.len(), "deleted finished jobs");
        }
        deleted
    }

    /// Sweeps every `every` (PrimeHub: 30 s), forever.
    pub async fn run(self, every: Duration) {
        loop {
            tokio::time::sleep(every).await;
            self.sweep().await;
        }
    }
}
