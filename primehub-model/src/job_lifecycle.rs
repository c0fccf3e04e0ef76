//! A PhJob's lifecycle after the queue: what the PhJob controller does with the job and its
//! pod, as a pure function of the job, the pod it observed and the time.
//!
//! The rules are PrimeHub's (`primehub-controllers.md` §4.2; InfuseAI/primehub-controller
//! `ee/controllers/phjob_controller.go`, `Reconcile`, `reconcilePod`, `updateStatus`,
//! `handleTTL`):
//!
//! 1. **spec defaults** ([`spec_defaults`]): a missing `activeDeadlineSeconds` takes the
//!    group's `job-default-active-deadline-seconds`, else the operator default (1 day); a
//!    missing `ttlSecondsAfterFinished` the operator default (7 days);
//! 2. **a new job** is `Pending`, reason `OverQuota`, message `Insufficient group/user quota`,
//!    `requeued` 0;
//! 3. **cancel**: the pod is deleted, `Cancelled` / `Cancelled` / `Cancelled by user`,
//!    `finishTime` now if unset;
//! 4. **a final job** (Succeeded, Failed, Cancelled, Unknown) keeps its pod until
//!    `finishTime` (or `startTime`) + TTL, then the pod is deleted; TTL 0 keeps it;
//! 5. **limits**: `requeued` > `requeueLimit` fails the job with `OverRequeueLimit`, a
//!    `Running` time of at least `activeDeadlineSeconds` (from `startTime`, the first time the
//!    controller saw the pod running; 0 disables it) with `OverActivateDeadline`; the message
//!    is `Job failed due to System Error: …`; the pod is deleted;
//! 6. **Preparing and Running**: a missing pod is created ([`Step::pod`] =
//!    [`PodAction::Create`]; then [`after_create`] with the API server's answer); a pod still
//!    `Pending` 180 s after its creation is deleted and the job goes back to `Pending`
//!    (`requeued` + 1, the message prefixed once with `Back to pending due to: `); otherwise
//!    the pod's phase is translated: Succeeded → `Succeeded` / `PodSucceeded` / `Job completed`;
//!    Failed → `Failed` / `PodFailed` / `Job failed due to <reason>: <message>` of the first
//!    container's termination; Unknown → `Unknown` / `PodUnknown` / `[<reason>] <message>` of
//!    the first condition; Pending → `PodPending` and the first condition's message; Running →
//!    `Running` / `PodRunning` / `Job is currently running` (the pod's message when its reason
//!    is `NodeLost`), `startTime` now if unset;
//! 7. **requeue**: a final job after its TTL, a running job when its deadline falls, else
//!    after a minute.
//!
//! A pod creation the resource-validation webhook refused (its error names both `admission
//! webhook` and `resources-validation-webhook`, PrimeHub's test) sends the job back to
//! `Pending` with `requeued` + 1, reason `OverQuota` and `Back to pending due to: insufficient
//! group/user quota`; any other failure fails the job with `PodCreationFailed` and the error.
//!
//! Where we differ from PrimeHub, deliberately: a failed pod without a terminated container
//! status gives `Job failed due to <pod reason>: <pod message>` (PrimeHub's controller
//! dereferences a nil termination state and crashes); a pod that already exists when the
//! controller creates it is taken as the job's pod (PrimeHub's latest version ignores
//! `AlreadyExists` too); a status is written only when it changed (as PrimeHub's latest).
//!
//! ```
//! use primehub_model::crd::job::{PhJob, PhJobPhase, PhJobSpec};
//! use primehub_model::job_lifecycle::{reconcile, LifecycleConfig, PodAction};
//!
//! let mut job = PhJob::new("job-1", PhJobSpec::default());
//! job.status = Some(serde_json::from_value(serde_json::json!({"phase": "Preparing", "requeued": 0}))?);
//! let now: jiff::Timestamp = "2026-12-04T08:00:00Z".parse()?;
//! // No pod yet: create it.
//! let step = reconcile(&job, None, now, &LifecycleConfig::default());
//! assert_eq!(step.pod, PodAction::Create);
//! // Its pod runs: the job runs, from now.
//! let pod = serde_json::from_value(serde_json::json!({"status": {"phase": "Running"}}))?;
//! let step = reconcile(&job, Some(&pod), now, &LifecycleConfig::default());
//! assert_eq!(step.status.phase, Some(PhJobPhase::Running));
//! assert_eq!(step.status.message.as_deref(), Some("Job is currently running"));
//! assert_eq!(step.status.start_time.map(|t| t.0), Some(now));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::crd::job::{PhJob, PhJobPhase, PhJobReason, PhJobSpec, PhJobStatus};

/// The message of a new job.
pub const NEW_JOB_MESSAGE: &str = "Insufficient group/user quota";
/// The message of a cancelled job.
pub const CANCELLED_MESSAGE: &str = "Cancelled by user";
/// The prefix of the message of a job sent back to the queue.
pub const BACK_TO_PENDING: &str = "Back to pending due to: ";
/// The message of a job whose pod the resource-validation webhook refused.
pub const ADMISSION_REJECTED_MESSAGE: &str =
    "Back to pending due to: insufficient group/user quota";
/// The prefix of the message of a job failed by its limits.
pub const SYSTEM_ERROR_PREFIX: &str = "Job failed due to System Error: ";
/// Why a job failed on its requeue limit.
pub const REQUEUE_LIMIT_MESSAGE: &str =
    "phJob has failed because it was requeued more than specified times";
/// Why a job failed on its deadline.
pub const DEADLINE_MESSAGE: &str =
    "phJob has failed because it was active longer than specified deadline";
/// The message of a succeeded job.
pub const COMPLETED_MESSAGE: &str = "Job completed";
/// The message of a running job.
pub const RUNNING_MESSAGE: &str = "Job is currently running";

/// The message of a job stopped because its group is gone ([`group_gone`]).
pub fn group_gone_message(group_name: &str) -> String {
    format!("Cancelled: group {group_name} was deleted")
}

/// The operator's settings the lifecycle uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LifecycleConfig {
    /// `jobSubmission.defaultActiveDeadlineSeconds` (default 86 400: a day).
    pub default_active_deadline_seconds: i64,
    /// `jobSubmission.defaultTTLSecondsAfterFinished` (default 604 800: a week).
    pub default_ttl_seconds_after_finished: i32,
    /// How long a pod may stay `Pending` before the job goes back to the queue (180 s,
    /// PrimeHub's `DefaultJobPreparingTimeout`).
    pub preparing_timeout: SignedDuration,
    /// The requeue when nothing else is due (1 min).
    pub recheck: SignedDuration,
}

impl Default for LifecycleConfig {
    fn default() -> Self {
        LifecycleConfig {
            default_active_deadline_seconds: 86_400,
            default_ttl_seconds_after_finished: 604_800,
            preparing_timeout: SignedDuration::from_secs(180),
            recheck: SignedDuration::from_secs(60),
        }
    }
}

/// The spec fields the controller fills in, when any is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpecDefaults {
    /// `spec.activeDeadlineSeconds` to write.
    pub active_deadline_seconds: i64,
    /// `spec.ttlSecondsAfterFinished` to write.
    pub ttl_seconds_after_finished: i32,
}

/// The defaults to write into `spec`, or `None` when both fields are set.
/// `group_default_deadline` is the group's `job-default-active-deadline-seconds`.
pub fn spec_defaults(
    spec: &PhJobSpec,
    group_default_deadline: Option<u64>,
    config: &LifecycleConfig,
) -> Option<SpecDefaults> {
    if spec.active_deadline_seconds.is_some() && spec.ttl_seconds_after_finished.is_some() {
        return None;
    }
    let deadline = spec.active_deadline_seconds.unwrap_or_else(|| {
        group_default_deadline
            .and_then(|d| i64::try_from(d).ok())
            .unwrap_or(config.default_active_deadline_seconds)
    });
    Some(SpecDefaults {
        active_deadline_seconds: deadline,
        ttl_seconds_after_finished: spec
            .ttl_seconds_after_finished
            .unwrap_or(config.default_ttl_seconds_after_finished),
    })
}

/// What to do with the job's pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodAction {
    /// Nothing.
    None,
    /// Build and create it, then apply [`after_create`].
    Create,
    /// Delete it (grace period 0; a missing pod is fine).
    Delete,
}

/// One reconcile's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The status to have (write it when it differs from the job's).
    pub status: PhJobStatus,
    /// What to do with the pod.
    pub pod: PodAction,
    /// When to look again; `None`: only on a change.
    pub requeue: Option<SignedDuration>,
}

fn time(t: Timestamp) -> Time {
    Time(t)
}

fn set_finish(status: &mut PhJobStatus, now: Timestamp) {
    if status.finish_time.is_none() {
        status.finish_time = Some(time(now));
    }
}

fn is_final(phase: Option<&PhJobPhase>) -> bool {
    phase.is_some_and(PhJobPhase::is_final)
}

/// The reconcile of `job` with its observed `pod` (`None`: no pod of the job's name) at `now`;
/// see the [module docs](self). The job's spec defaults are assumed written
/// ([`spec_defaults`]); missing ones count as `config`'s.
pub fn reconcile(job: &PhJob, pod: Option<&Pod>, now: Timestamp, config: &LifecycleConfig) -> Step {
    let spec = &job.spec;
    let deadline = spec
        .active_deadline_seconds
        .unwrap_or(config.default_active_deadline_seconds);
    let ttl = spec
        .ttl_seconds_after_finished
        .unwrap_or(config.default_ttl_seconds_after_finished);
    let mut status = job.status.clone().unwrap_or_default();
    if status.phase.as_ref().is_none_or(|p| p.as_str().is_empty()) {
        status.phase = Some(PhJobPhase::Pending);
        status.reason = Some(PhJobReason::OverQuota);
        status.message = Some(NEW_JOB_MESSAGE.to_owned());
    }
    if status.requeued.is_none() {
        status.requeued = Some(0);
    }
    let delete_if_present = if pod.is_some() {
        PodAction::Delete
    } else {
        PodAction::None
    };

    if spec.cancel {
        status.phase = Some(PhJobPhase::Cancelled);
        status.reason = Some(PhJobReason::Cancelled);
        status.message = Some(CANCELLED_MESSAGE.to_owned());
        set_finish(&mut status, now);
        return Step {
            status,
            pod: delete_if_present,
            requeue: None,
        };
    }

    if is_final(status.phase.as_ref()) {
        let mut action = PodAction::None;
        let mut requeue = None;
        if ttl != 0 && (status.finish_time.is_some() || status.start_time.is_some()) {
            if status.finish_time.is_none() {
                status.finish_time = status.start_time.clone();
            }
            if let Some(finish) = status.finish_time.as_ref() {
                let expiry = finish.0 + SignedDuration::from_secs(i64::from(ttl));
                if now > expiry {
                    action = delete_if_present;
                } else if expiry > now {
                    requeue = Some(expiry.duration_since(now));
                }
            }
        }
        return Step {
            status,
            pod: action,
            requeue,
        };
    }

    let over_requeue_limit = spec
        .requeue_limit
        .is_some_and(|limit| status.requeued.unwrap_or(0) > limit);
    let past_deadline = deadline != 0
        && status.start_time.as_ref().is_some_and(|start| {
            now.duration_since(start.0) >= SignedDuration::from_secs(deadline)
        });
    if over_requeue_limit || past_deadline {
        let (reason, message) = if over_requeue_limit {
            (PhJobReason::OverRequeueLimit, REQUEUE_LIMIT_MESSAGE)
        } else {
            (PhJobReason::OverActivateDeadline, DEADLINE_MESSAGE)
        };
        set_finish(&mut status, now);
        status.phase = Some(PhJobPhase::Failed);
        status.reason = Some(reason);
        status.message = Some(format!("{SYSTEM_ERROR_PREFIX}{message}"));
        return Step {
            status,
            pod: delete_if_present,
            requeue: Some(config.recheck),
        };
    }

    let mut action = PodAction::None;
    if status.phase.as_ref().map(PhJobPhase::canonical) != Some(PhJobPhase::Pending) {
        match pod {
            None => action = PodAction::Create,
            Some(pod) => {
                let pod_phase = pod
                    .status
                    .as_ref()
                    .and_then(|s| s.phase.as_deref())
                    .unwrap_or("");
                let created = pod.metadata.creation_timestamp.as_ref().map(|t| t.0);
                let timed_out = pod_phase == "Pending"
                    && created.is_some_and(|c| now.duration_since(c) >= config.preparing_timeout);
                if timed_out {
                    action = PodAction::Delete;
                    back_to_pending(&mut status);
                    let message = status.message.get_or_insert_with(String::new);
                    if !message.contains(BACK_TO_PENDING.trim_end()) {
                        *message = format!("{BACK_TO_PENDING}{message}");
                    }
                } else {
                    translate_pod(&mut status, pod, pod_phase, now);
                }
            }
        }
    }

    let requeue = if is_final(status.phase.as_ref()) && ttl != 0 {
        Some(SignedDuration::from_secs(i64::from(ttl)))
    } else if let (Some(start), true) = (status.start_time.as_ref(), deadline != 0) {
        Some((start.0 + SignedDuration::from_secs(deadline)).duration_since(now))
    } else {
        Some(config.recheck)
    };
    Step {
        status,
        pod: action,
        requeue,
    }
}

/// The step for a job whose group is gone (deleted in Keycloak, or never created), or `None`
/// for a job already final: an unfinished job — queued, preparing or running — is stopped
/// like a cancelled one (its pod deleted; `Cancelled` / `Cancelled`, `finishTime` now), with
/// [`group_gone_message`] so the user sees why.
///
/// PrimeHub's console runs a `jobs` group-deletion callback when a group is deleted through its
/// GraphQL API; a group deleted elsewhere leaves running jobs running and fails pending ones
/// with `cannot get group info`. The controller applies this step whatever deleted the group.
pub fn group_gone(job: &PhJob, pod: Option<&Pod>, now: Timestamp) -> Option<Step> {
    let mut status = job.status.clone().unwrap_or_default();
    if is_final(status.phase.as_ref()) {
        return None;
    }
    status.phase = Some(PhJobPhase::Cancelled);
    status.reason = Some(PhJobReason::Cancelled);
    status.message = Some(group_gone_message(&job.spec.group_name));
    if status.requeued.is_none() {
        status.requeued = Some(0);
    }
    set_finish(&mut status, now);
    Some(Step {
        status,
        pod: if pod.is_some() {
            PodAction::Delete
        } else {
            PodAction::None
        },
        requeue: None,
    })
}

fn back_to_pending(status: &mut PhJobStatus) {
    status.requeued = Some(status.requeued.unwrap_or(0).saturating_add(1));
    status.phase = Some(PhJobPhase::Pending);
}

fn translate_pod(status: &mut PhJobStatus, pod: &Pod, pod_phase: &str, now: Timestamp) {
    let pod_status = pod.status.as_ref();
    let first_condition = pod_status
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.first());
    match pod_phase {
        "Succeeded" => {
            status.phase = Some(PhJobPhase::Succeeded);
            set_finish(status, now);
            status.reason = Some(PhJobReason::PodSucceeded);
            status.message = Some(COMPLETED_MESSAGE.to_owned());
        }
        "Failed" => {
            status.phase = Some(PhJobPhase::Failed);
            set_finish(status, now);
            let terminated = pod_status
                .and_then(|s| s.container_statuses.as_ref())
                .and_then(|c| c.first())
                .and_then(|c| c.state.as_ref())
                .and_then(|s| s.terminated.as_ref());
            let (reason, message) = match terminated {
                Some(t) => (t.reason.clone(), t.message.clone()),
                None => (
                    pod_status.and_then(|s| s.reason.clone()),
                    pod_status.and_then(|s| s.message.clone()),
                ),
            };
            status.reason = Some(PhJobReason::PodFailed);
            status.message = Some(format!(
                "Job failed due to {}: {}",
                reason.unwrap_or_default(),
                message.unwrap_or_default()
            ));
        }
        "Unknown" => {
            status.phase = Some(PhJobPhase::Unknown);
            set_finish(status, now);
            if let Some(c) = first_condition {
                status.reason = Some(PhJobReason::PodUnknown);
                status.message = Some(format!(
                    "[{}] {}",
                    c.reason.as_deref().unwrap_or(""),
                    c.message.as_deref().unwrap_or("")
                ));
            }
        }
        "Pending" => {
            if let Some(c) = first_condition {
                status.reason = Some(PhJobReason::PodPending);
                status.message = Some(c.message.clone().unwrap_or_default());
            }
        }
        "Running" => {
            status.phase = Some(PhJobPhase::Running);
            if status.start_time.is_none() {
                status.start_time = Some(time(now));
            }
            status.reason = Some(PhJobReason::PodRunning);
            status.message = Some(
                if pod_status.and_then(|s| s.reason.as_deref()) == Some("NodeLost") {
                    pod_status
                        .and_then(|s| s.message.clone())
                        .unwrap_or_default()
                } else {
                    RUNNING_MESSAGE.to_owned()
                },
            );
        }
        _ => {}
    }
}

/// What the API server answered when the controller created the job's pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateOutcome {
    /// Created.
    Created,
    /// A pod of that name exists already (the controller's view lagged): it is the job's pod.
    AlreadyExists,
    /// Refused, or the pod could not be built: the error's text.
    Failed(String),
}

/// Whether a pod-creation error is the resource-validation webhook's refusal (PrimeHub's test:
/// the text names both `admission webhook` and `resources-validation-webhook`).
pub fn is_admission_rejection(error: &str) -> bool {
    error.contains("admission webhook") && error.contains("resources-validation-webhook")
}

/// The status after a [`PodAction::Create`]: `podName` on success, back to `Pending` on an
/// admission refusal, `Failed` / `PodCreationFailed` with the error otherwise.
pub fn after_create(
    mut status: PhJobStatus,
    pod_name: &str,
    outcome: &CreateOutcome,
    now: Timestamp,
) -> PhJobStatus {
    match outcome {
        CreateOutcome::Created | CreateOutcome::AlreadyExists => {
            status.pod_name = Some(pod_name.to_owned());
        }
        CreateOutcome::Failed(error) if is_admission_rejection(error) => {
            back_to_pending(&mut status);
            status.reason = Some(PhJobReason::OverQuota);
            status.message = Some(ADMISSION_REJECTED_MESSAGE.to_owned());
        }
        CreateOutcome::Failed(error) => {
            status.phase = Some(PhJobPhase::Failed);
            status.reason = Some(PhJobReason::PodCreationFailed);
            status.message = Some(error.clone());
            status.finish_time = Some(time(now));
        }
    }
    status
}

/// A finished job as the cleaner sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FinishedJob<'a> {
    /// The job's name.
    pub name: &'a str,
    /// `metadata.creationTimestamp`.
    pub created: Timestamp,
    /// `status.finishTime`.
    pub finished: Option<Timestamp>,
}

/// The finished jobs to delete (PrimeHub's `PHJobCleaner`, `primehub-controllers.md` §4.5): with
/// `ttl_seconds` ≠ 0, those whose `finishTime` + TTL has passed (jobs without a `finishTime`
/// are kept); then, with `limit` ≠ 0, the oldest by creation time (ties by name) until at most
/// `limit` remain. Names come back in that order, each once.
pub fn cleanup<'a>(
    finished: &[FinishedJob<'a>],
    now: Timestamp,
    ttl_seconds: u64,
    limit: usize,
) -> Vec<&'a str> {
    let ttl = SignedDuration::from_secs(i64::try_from(ttl_seconds).unwrap_or(i64::MAX));
    let mut delete = Vec::new();
    let mut kept: Vec<&FinishedJob<'a>> = Vec::new();
    for job in finished {
        let expired = ttl_seconds != 0
            && job
                .finished
                .is_some_and(|f| f.checked_add(ttl).is_ok_and(|expiry| expiry < now));
        if expired {
            delete.push(job.name);
        } else {
            kept.push(job);
        }
    }
    if limit != 0 && kept.len() > limit {
        kept.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.name.cmp(b.name)));
        let excess = kept.len() - limit;
        delete.extend(kept.iter().take(excess).map(|j| j.name));
    }
    delete
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> Timestamp {
        "2026-12-04T08:00:00Z".parse().expect("a time")
    }

    fn at(offset_secs: i64) -> Timestamp {
        now() + SignedDuration::from_secs(offset_secs)
    }

    fn job(spec: serde_json::Value, status: serde_json::Value) -> PhJob {
        let mut job = PhJob::new("job-1", serde_json::from_value(spec).expect("a spec"));
        job.status = serde_json::from_value(status).expect("a status");
        job
    }

    fn base_spec() -> serde_json::Value {
        json!({"displayName": "d", "userId": "u", "groupId": "g", "groupName": "ml",
               "instanceType": "cpu", "image": "base", "command": "echo",
               "activeDeadlineSeconds": 3600, "ttlSecondsAfterFinished": 600})
    }

    fn pod(value: serde_json::Value) -> Pod {
        serde_json::from_value(value).expect("a pod")
    }

    fn cfg() -> LifecycleConfig {
        LifecycleConfig::default()
    }

    #[test]
    fn spec_defaults_take_the_group_deadline_then_the_operator_default() {
        let mut spec: PhJobSpec = serde_json::from_value(base_spec()).expect("spec");
        assert_eq!(spec_defaults(&spec, Some(5), &cfg()), None, "both set");
        spec.active_deadline_seconds = None;
        assert_eq!(
            spec_defaults(&spec, Some(5), &cfg()),
            Some(SpecDefaults {
                active_deadline_seconds: 5,
                ttl_seconds_after_finished: 600
            })
        );
        assert_eq!(
            spec_defaults(&spec, None, &cfg()).map(|d| d.active_deadline_seconds),
            Some(86_400)
        );
        spec.active_deadline_seconds = Some(7);
        spec.ttl_seconds_after_finished = None;
        assert_eq!(
            spec_defaults(&spec, Some(5), &cfg()),
            Some(SpecDefaults {
                active_deadline_seconds: 7,
                ttl_seconds_after_finished: 604_800
            })
        );
    }

    #[test]
    fn a_new_job_is_pending_over_quota_with_zero_requeues() {
        let step = reconcile(&job(base_spec(), json!(null)), None, now(), &cfg());
        assert_eq!(step.status.phase, Some(PhJobPhase::Pending));
        assert_eq!(step.status.reason, Some(PhJobReason::OverQuota));
        assert_eq!(step.status.message.as_deref(), Some(NEW_JOB_MESSAGE));
        assert_eq!(step.status.requeued, Some(0));
        assert_eq!(step.pod, PodAction::None, "a pending job has no pod");
        assert_eq!(step.requeue, Some(SignedDuration::from_secs(60)));
    }

    #[test]
    fn a_job_of_a_deleted_group_is_stopped_with_a_message_naming_the_group() {
        let running = job(
            base_spec(),
            json!({"phase": "Running", "requeued": 2, "startTime": "2026-12-04T07:00:00Z"}),
        );
        let p = pod(json!({"status": {"phase": "Running"}}));
        let step = group_gone(&running, Some(&p), now()).expect("a running job stops");
        assert_eq!(step.pod, PodAction::Delete);
        assert_eq!(step.status.phase, Some(PhJobPhase::Cancelled));
        assert_eq!(step.status.reason, Some(PhJobReason::Cancelled));
        assert_eq!(
            step.status.message.as_deref(),
            Some("Cancelled: group ml was deleted")
        );
        assert_eq!(step.status.finish_time, Some(Time(now())));
        assert_eq!(step.status.requeued, Some(2), "the requeue count is kept");
        assert_eq!(
            step.status.start_time.map(|t| t.0),
            Some(at(-3600)),
            "the start time is kept"
        );

        let queued = job(base_spec(), json!(null));
        let step = group_gone(&queued, None, now()).expect("a queued job stops");
        assert_eq!(step.pod, PodAction::None, "no pod to delete");
        assert_eq!(step.status.phase, Some(PhJobPhase::Cancelled));
        assert_eq!(step.status.requeued, Some(0));

        for phase in ["Succeeded", "Failed", "Cancelled", "Unknown"] {
            let done = job(base_spec(), json!({"phase": phase}));
            assert_eq!(group_gone(&done, Some(&p), now()), None, "{phase} stays");
        }
    }

    #[test]
    fn cancel_deletes_the_pod_and_keeps_the_first_finish_time() {
        let mut spec = base_spec();
        spec["cancel"] = json!(true);
        let j = job(spec.clone(), json!({"phase": "Running", "requeued": 0}));
        let p = pod(json!({"status": {"phase": "Running"}}));
        let step = reconcile(&j, Some(&p), now(), &cfg());
        assert_eq!(step.pod, PodAction::Delete);
        assert_eq!(step.status.phase, Some(PhJobPhase::Cancelled));
        assert_eq!(step.status.reason, Some(PhJobReason::Cancelled));
        assert_eq!(step.status.message.as_deref(), Some(CANCELLED_MESSAGE));
        assert_eq!(step.status.finish_time, Some(Time(now())));
        assert_eq!(step.requeue, None);
        let j = job(
            spec,
            json!({"phase": "Cancelled", "finishTime": "2026-12-01T00:00:00Z"}),
        );
        let step = reconcile(&j, None, now(), &cfg());
        assert_eq!(step.pod, PodAction::None, "no pod left to delete");
        assert_eq!(
            step.status.finish_time.map(|t| t.0.to_string()),
            Some("2026-12-01T00:00:00Z".to_owned())
        );
    }

    #[test]
    fn a_final_job_keeps_its_pod_until_the_ttl() {
        let j = job(
            base_spec(),
            json!({"phase": "Succeeded", "finishTime": "2026-12-04T08:00:00Z", "requeued": 0}),
        );
        let p = pod(json!({"status": {"phase": "Succeeded"}}));
        let step = reconcile(&j, Some(&p), at(100), &cfg());
        assert_eq!(step.pod, PodAction::None);
        assert_eq!(step.requeue, Some(SignedDuration::from_secs(500)));
        assert_eq!(Some(&step.status), j.status.as_ref(), "nothing to write");
        // At exactly the TTL nothing happens yet (PrimeHub: now.After(finish + ttl)).
        let step = reconcile(&j, Some(&p), at(600), &cfg());
        assert_eq!((step.pod, step.requeue), (PodAction::None, None));
        let step = reconcile(&j, Some(&p), at(601), &cfg());
        assert_eq!((step.pod, step.requeue), (PodAction::Delete, None));
        let step = reconcile(&j, None, at(601), &cfg());
        assert_eq!(step.pod, PodAction::None);
    }

    #[test]
    fn a_final_job_without_finish_time_uses_its_start_time_and_ttl_zero_keeps_the_pod() {
        let j = job(
            base_spec(),
            json!({"phase": "Failed", "startTime": "2026-12-04T08:00:00Z", "requeued": 0}),
        );
        let p = pod(json!({"status": {"phase": "Failed"}}));
        let step = reconcile(&j, Some(&p), at(700), &cfg());
        assert_eq!(step.pod, PodAction::Delete);
        assert_eq!(
            step.status.finish_time,
            Some(Time(now())),
            "written as PrimeHub does"
        );
        let mut spec = base_spec();
        spec["ttlSecondsAfterFinished"] = json!(0);
        let step = reconcile(
            &job(
                spec,
                json!({"phase": "Failed", "startTime": "2026-12-04T08:00:00Z"}),
            ),
            Some(&p),
            at(10_000_000),
            &cfg(),
        );
        assert_eq!((step.pod, step.requeue), (PodAction::None, None));
        let j = job(base_spec(), json!({"phase": "Unknown"}));
        let step = reconcile(&j, Some(&p), at(10_000_000), &cfg());
        assert_eq!(
            (step.pod, step.status.finish_time),
            (PodAction::None, None),
            "no time to count from: nothing"
        );
    }

    #[test]
    fn the_requeue_limit_fails_the_job_only_when_exceeded() {
        let mut spec = base_spec();
        spec["requeueLimit"] = json!(2);
        let p = pod(json!({"status": {"phase": "Pending"}}));
        let j = job(spec.clone(), json!({"phase": "Preparing", "requeued": 2}));
        assert_eq!(
            reconcile(&j, Some(&p), now(), &cfg()).status.phase,
            Some(PhJobPhase::Preparing)
        );
        let j = job(spec, json!({"phase": "Preparing", "requeued": 3}));
        let step = reconcile(&j, Some(&p), now(), &cfg());
        assert_eq!(step.pod, PodAction::Delete);
        assert_eq!(step.status.phase, Some(PhJobPhase::Failed));
        assert_eq!(step.status.reason, Some(PhJobReason::OverRequeueLimit));
        assert_eq!(
            step.status.message.as_deref(),
            Some(
                "Job failed due to System Error: phJob has failed because it was requeued more than specified times"
            )
        );
        assert_eq!(step.status.finish_time, Some(Time(now())));
        assert_eq!(step.requeue, Some(SignedDuration::from_secs(60)));
    }

    #[test]
    fn the_deadline_counts_from_the_first_running_and_zero_disables_it() {
        let p = pod(json!({"status": {"phase": "Running"}}));
        let running =
            json!({"phase": "Running", "startTime": "2026-12-04T08:00:00Z", "requeued": 0});
        let j = job(base_spec(), running.clone());
        let step = reconcile(&j, Some(&p), at(3599), &cfg());
        assert_eq!(step.status.phase, Some(PhJobPhase::Running));
        assert_eq!(
            step.requeue,
            Some(SignedDuration::from_secs(1)),
            "requeued at the deadline"
        );
        let step = reconcile(&j, Some(&p), at(3600), &cfg());
        assert_eq!(step.status.reason, Some(PhJobReason::OverActivateDeadline));
        assert_eq!(
            step.status.message.as_deref(),
            Some(
                "Job failed due to System Error: phJob has failed because it was active longer than specified deadline"
            )
        );
        assert_eq!(step.pod, PodAction::Delete);
        let mut spec = base_spec();
        spec["activeDeadlineSeconds"] = json!(0);
        let step = reconcile(&job(spec, running), Some(&p), at(1_000_000), &cfg());
        assert_eq!(step.status.phase, Some(PhJobPhase::Running));
        assert_eq!(step.requeue, Some(SignedDuration::from_secs(60)));
    }

    #[test]
    fn preparing_without_a_pod_creates_it_and_pending_jobs_never_do() {
        let j = job(base_spec(), json!({"phase": "Preparing", "requeued": 0}));
        assert_eq!(reconcile(&j, None, now(), &cfg()).pod, PodAction::Create);
        let j = job(
            base_spec(),
            json!({"phase": "Running", "requeued": 0, "startTime": "2026-12-04T08:00:00Z"}),
        );
        assert_eq!(reconcile(&j, None, now(), &cfg()).pod, PodAction::Create);
        let j = job(base_spec(), json!({"phase": "Pending", "requeued": 0}));
        assert_eq!(reconcile(&j, None, now(), &cfg()).pod, PodAction::None);
    }

    #[test]
    fn a_pod_pending_for_180_seconds_sends_the_job_back_once_prefixed() {
        let j = job(
            base_spec(),
            json!({"phase": "Preparing", "requeued": 1, "reason": "PodPending", "message": "0/3 nodes are available"}),
        );
        let p = pod(
            json!({"metadata": {"creationTimestamp": "2026-12-04T08:00:00Z"},
                           "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "message": "0/3 nodes are available"}]}}),
        );
        let step = reconcile(&j, Some(&p), at(179), &cfg());
        assert_eq!(step.pod, PodAction::None);
        assert_eq!(step.status.reason, Some(PhJobReason::PodPending));
        let step = reconcile(&j, Some(&p), at(180), &cfg());
        assert_eq!(step.pod, PodAction::Delete);
        assert_eq!(step.status.phase, Some(PhJobPhase::Pending));
        assert_eq!(step.status.requeued, Some(2));
        assert_eq!(
            step.status.reason,
            Some(PhJobReason::PodPending),
            "reason kept"
        );
        assert_eq!(
            step.status.message.as_deref(),
            Some("Back to pending due to: 0/3 nodes are available")
        );
        let mut again = j.clone();
        again.status = Some(step.status.clone());
        if let Some(s) = again.status.as_mut() {
            s.phase = Some(PhJobPhase::Preparing);
        }
        let step = reconcile(&again, Some(&p), at(400), &cfg());
        assert_eq!(
            step.status.message.as_deref(),
            Some("Back to pending due to: 0/3 nodes are available"),
            "prefixed only once"
        );
    }

    #[test]
    fn pod_phases_translate_with_primehubs_reasons_and_messages() {
        let j = job(
            base_spec(),
            json!({"phase": "Running", "requeued": 0, "startTime": "2026-12-04T08:00:00Z"}),
        );
        let step = reconcile(
            &j,
            Some(&pod(json!({"status": {"phase": "Succeeded"}}))),
            at(10),
            &cfg(),
        );
        assert_eq!(step.status.phase, Some(PhJobPhase::Succeeded));
        assert_eq!(step.status.reason, Some(PhJobReason::PodSucceeded));
        assert_eq!(step.status.message.as_deref(), Some(COMPLETED_MESSAGE));
        assert_eq!(step.status.finish_time, Some(Time(at(10))));
        assert_eq!(
            step.requeue,
            Some(SignedDuration::from_secs(600)),
            "after the TTL"
        );

        let failed = pod(json!({"status": {"phase": "Failed", "containerStatuses": [{
            "name": "main", "image": "i", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"terminated": {"exitCode": 1, "reason": "Error", "message": "boom"}}}]}}));
        let step = reconcile(&j, Some(&failed), at(10), &cfg());
        assert_eq!(step.status.phase, Some(PhJobPhase::Failed));
        assert_eq!(step.status.reason, Some(PhJobReason::PodFailed));
        assert_eq!(
            step.status.message.as_deref(),
            Some("Job failed due to Error: boom")
        );

        let evicted = pod(
            json!({"status": {"phase": "Failed", "reason": "Evicted", "message": "low on memory"}}),
        );
        let step = reconcile(&j, Some(&evicted), at(10), &cfg());
        assert_eq!(
            step.status.message.as_deref(),
            Some("Job failed due to Evicted: low on memory")
        );

        let unknown = pod(
            json!({"status": {"phase": "Unknown", "conditions": [{"type": "Ready", "status": "Unknown", "reason": "NodeLost", "message": "node gone"}]}}),
        );
        let step = reconcile(&j, Some(&unknown), at(10), &cfg());
        assert_eq!(step.status.phase, Some(PhJobPhase::Unknown));
        assert_eq!(step.status.reason, Some(PhJobReason::PodUnknown));
        assert_eq!(step.status.message.as_deref(), Some("[NodeLost] node gone"));
        assert_eq!(step.status.finish_time, Some(Time(at(10))));

        let lost = pod(
            json!({"status": {"phase": "Running", "reason": "NodeLost", "message": "node n1 lost"}}),
        );
        let step = reconcile(&j, Some(&lost), at(10), &cfg());
        assert_eq!(step.status.message.as_deref(), Some("node n1 lost"));
        assert_eq!(
            step.status.start_time,
            Some(Time(now())),
            "the first start is kept"
        );
    }

    #[test]
    fn a_running_pod_starts_the_clock_once() {
        let j = job(base_spec(), json!({"phase": "Preparing", "requeued": 0}));
        let running = pod(json!({"status": {"phase": "Running"}}));
        let step = reconcile(&j, Some(&running), at(5), &cfg());
        assert_eq!(step.status.phase, Some(PhJobPhase::Running));
        assert_eq!(step.status.reason, Some(PhJobReason::PodRunning));
        assert_eq!(step.status.start_time, Some(Time(at(5))));
        assert_eq!(step.requeue, Some(SignedDuration::from_secs(3600)));
    }

    #[test]
    fn creation_outcomes() {
        let status: PhJobStatus =
            serde_json::from_value(json!({"phase": "Preparing", "requeued": 0})).expect("status");
        let created = after_create(status.clone(), "job-1", &CreateOutcome::Created, now());
        assert_eq!(created.pod_name.as_deref(), Some("job-1"));
        assert_eq!(created.phase, Some(PhJobPhase::Preparing));
        assert_eq!(
            after_create(
                status.clone(),
                "job-1",
                &CreateOutcome::AlreadyExists,
                now()
            ),
            created
        );
        let refusal = "admission webhook \"resources-validation-webhook.primehub.io\" denied the request: Group ml exceeded gpu quota: 1, requesting 2";
        assert!(is_admission_rejection(refusal));
        let back = after_create(
            status.clone(),
            "job-1",
            &CreateOutcome::Failed(refusal.into()),
            now(),
        );
        assert_eq!(back.phase, Some(PhJobPhase::Pending));
        assert_eq!(back.requeued, Some(1));
        assert_eq!(back.reason, Some(PhJobReason::OverQuota));
        assert_eq!(back.message.as_deref(), Some(ADMISSION_REJECTED_MESSAGE));
        assert_eq!(back.pod_name, None);
        let other = "admission webhook \"pvc-check.primehub.io\" denied the request: x";
        assert!(!is_admission_rejection(other));
        assert!(!is_admission_rejection(
            "resources-validation-webhook is down"
        ));
        let failed = after_create(
            status,
            "job-1",
            &CreateOutcome::Failed("Image not found: base".into()),
            now(),
        );
        assert_eq!(failed.phase, Some(PhJobPhase::Failed));
        assert_eq!(failed.reason, Some(PhJobReason::PodCreationFailed));
        assert_eq!(failed.message.as_deref(), Some("Image not found: base"));
        assert_eq!(failed.finish_time, Some(Time(now())));
    }

    #[test]
    fn steady_state_writes_nothing() {
        // A running job whose pod runs: the status is what it was.
        let j = job(
            base_spec(),
            json!({"phase": "Running", "requeued": 0, "startTime": "2026-12-04T08:00:00Z",
                   "reason": "PodRunning", "message": "Job is currently running", "podName": "job-1"}),
        );
        let step = reconcile(
            &j,
            Some(&pod(json!({"status": {"phase": "Running"}}))),
            at(60),
            &cfg(),
        );
        assert_eq!(Some(&step.status), j.status.as_ref());
        assert_eq!(step.pod, PodAction::None);
    }

    #[test]
    fn cleanup_by_ttl_then_by_count() {
        let jobs = [
            FinishedJob {
                name: "old-done",
                created: at(-1000),
                finished: Some(at(-700)),
            },
            FinishedJob {
                name: "recent",
                created: at(-500),
                finished: Some(at(-100)),
            },
            FinishedJob {
                name: "no-finish",
                created: at(-2000),
                finished: None,
            },
            FinishedJob {
                name: "b-new",
                created: at(-50),
                finished: Some(at(-10)),
            },
            FinishedJob {
                name: "a-new",
                created: at(-50),
                finished: Some(at(-10)),
            },
        ];
        // TTL 600 s: only the job finished 700 s ago; nothing by count.
        assert_eq!(cleanup(&jobs, now(), 600, 0), ["old-done"]);
        // Exactly at the TTL a job is kept.
        assert_eq!(cleanup(&jobs, now(), 700, 0), Vec::<&str>::new());
        // Off: nothing.
        assert_eq!(cleanup(&jobs, now(), 0, 0), Vec::<&str>::new());
        // A limit of 2 after the TTL: the oldest of the four left go first (no-finish, recent),
        // ties by name.
        assert_eq!(
            cleanup(&jobs, now(), 600, 2),
            ["old-done", "no-finish", "recent"]
        );
        assert_eq!(
            cleanup(&jobs, now(), 0, 1),
            ["no-finish", "old-done", "recent", "a-new"]
        );
        assert_eq!(cleanup(&jobs, now(), 0, 5), Vec::<&str>::new());
        assert_eq!(
            cleanup(&jobs, now(), u64::MAX, 0),
            Vec::<&str>::new(),
            "no overflow"
        );
    }
}
