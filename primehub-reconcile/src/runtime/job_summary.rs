//! A small level-based controller: one summary ConfigMap per PhJob.
//!
//! For every PhJob `<name>` it keeps a ConfigMap `<name>-summary` in the job's namespace with
//! the job's display name, user, group, instance type, image and command, labelled
//! [`SUMMARY_LABEL`]`=<name>` and owned by the job (a controller owner reference, so garbage
//! collection removes it with the job). It is the worked example of how PrimeHub's controllers
//! are built:
//!
//! - the desired child is computed by a pure function ([`desired`]), unit-testable without a
//!   cluster;
//! - the reconcile reads the actual state and makes one idempotent step: create the ConfigMap
//!   if missing, replace it (with its resourceVersion, so a concurrent change is a conflict
//!   that is retried) if it differs, and write nothing when it is as desired;
//! - it runs on kube-runtime's `Controller` (watching the jobs and the ConfigMaps it owns) with
//!   [`ControllerRuntime`] for retries and metrics, and reports what it changed as
//!   `events.k8s.io/v1` Events through kube-runtime's `Recorder`.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::Stream;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, PostParams};
use kube::runtime::controller::{self, Action};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{Controller, watcher};
use kube::{Client, Resource, ResourceExt};
use primehub_model::crd::PhJob;

use super::ControllerRuntime;
use crate::error::{Error, KubeError};

/// The label on every summary ConfigMap: the name of its PhJob.
pub const SUMMARY_LABEL: &str = "primehub.io/job-summary";

/// The name of the event reporter (`reportingController`).
pub const REPORTER: &str = "primehub-job-summary";

/// The name of a job's summary ConfigMap.
pub fn summary_name(job: &str) -> String {
    format!("{job}-summary")
}

/// The ConfigMap `job` should have (pure: no I/O). Fails for a job without a name, namespace
/// or uid (one not read from an API server).
pub fn desired(job: &PhJob) -> Result<ConfigMap, Error> {
    let missing = |what: &str| {
        Error::Kube(KubeError::BadRequest {
            message: format!("the PhJob has no {what}"),
        })
    };
    let name = job.metadata.name.clone().ok_or_else(|| missing("name"))?;
    let namespace = job
        .metadata
        .namespace
        .clone()
        .ok_or_else(|| missing("namespace"))?;
    let owner = job
        .controller_owner_ref(&())
        .ok_or_else(|| missing("uid"))?;
    let spec = &job.spec;
    let data = BTreeMap::from([
        ("displayName".to_owned(), spec.display_name.clone()),
        (
            "userName".to_owned(),
            spec.user_name.clone().unwrap_or_default(),
        ),
        ("group".to_owned(), spec.group_name.clone()),
        ("instanceType".to_owned(), spec.instance_type.clone()),
        ("image".to_owned(), spec.image.clone()),
        ("command".to_owned(), spec.command.clone()),
    ]);
    Ok(ConfigMap {
        metadata: ObjectMeta {
            name: Some(summary_name(&name)),
            namespace: Some(namespace),
            labels: Some(BTreeMap::from([(SUMMARY_LABEL.to_owned(), name)])),
            owner_references: Some(vec![owner]),
            ..ObjectMeta::default()
        },
        data: Some(data),
        ..ConfigMap::default()
    })
}

/// Whether `current` already is what `want` asks for (data, our label, our owner reference).
fn up_to_date(current: &ConfigMap, want: &ConfigMap) -> bool {
    current.data == want.data
        && current.labels().get(SUMMARY_LABEL) == want.labels().get(SUMMARY_LABEL)
        && current.metadata.owner_references == want.metadata.owner_references
}

/// What the reconcile needs.
#[derive(Clone)]
pub struct Context {
    /// The client (real, or the fake's in-process one).
    pub client: Client,
    /// Publishes events about the jobs.
    pub recorder: Recorder,
}

impl Context {
    /// A context on `client`, reporting events as [`REPORTER`].
    pub fn new(client: Client) -> Context {
        let recorder = Recorder::new(
            client.clone(),
            Reporter {
                controller: REPORTER.into(),
                instance: None,
            },
        );
        Context { client, recorder }
    }
}

/// What one reconcile did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The ConfigMap was created.
    Created,
    /// The ConfigMap was brought up to date.
    Updated,
    /// Nothing to do.
    UpToDate,
    /// The job is being deleted: nothing to do (garbage collection removes the ConfigMap).
    Deleting,
}

/// One level-based step for `job`: creates or updates its ConfigMap if needed.
pub async fn reconcile_step(job: &PhJob, ctx: &Context) -> Result<Step, Error> {
    if job.metadata.deletion_timestamp.is_some() {
        return Ok(Step::Deleting);
    }
    let want = desired(job)?;
    let namespace = want.metadata.namespace.clone().unwrap_or_default();
    let name = want.name_any();
    let maps: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &namespace);
    let step = match maps.get_opt(&name).await? {
        None => {
            maps.create(&PostParams::default(), &want).await?;
            Step::Created
        }
        Some(current) if up_to_date(&current, &want) => Step::UpToDate,
        Some(mut current) => {
            current.data = want.data;
            current
                .labels_mut()
                .insert(SUMMARY_LABEL.to_owned(), job.name_any());
            current.metadata.owner_references = want.metadata.owner_references;
            // Carries the resourceVersion read above: a concurrent write is a 409, retried.
            maps.replace(&name, &PostParams::default(), &current)
                .await?;
            Step::Updated
        }
    };
    if matches!(step, Step::Created | Step::Updated) {
        let reason = if step == Step::Created {
            "SummaryCreated"
        } else {
            "SummaryUpdated"
        };
        let event = Event {
            type_: EventType::Normal,
            reason: reason.into(),
            note: Some(format!("ConfigMap {name} is up to date")),
            action: "Reconcile".into(),
            secondary: None,
        };
        // Events are best effort: a failure to report is logged, not retried.
        if let Err(e) = ctx.recorder.publish(&event, &job.object_ref(&())).await {
            tracing::warn!(job = %job.name_any(), "cannot publish event: {e}");
        }
    }
    Ok(step)
}

/// The reconcile function for kube-runtime: [`reconcile_step`], then wait for the next change.
pub async fn reconcile(job: Arc<PhJob>, ctx: Arc<Context>) -> Result<Action, Error> {
    reconcile_step(&job, &ctx).await?;
    Ok(Action::await_change())
}

/// The controller: PhJobs (in `namespace`, or all) and the summary ConfigMaps they own.
pub fn controller(client: Client, namespace: Option<&str>) -> Controller<PhJob> {
    let (jobs, maps): (Api<PhJob>, Api<ConfigMap>) = match namespace {
        Some(ns) => (
            Api::namespaced(client.clone(), ns),
            Api::namespaced(client, ns),
        ),
        None => (Api::all(client.clone()), Api::all(client)),
    };
    Controller::new(jobs, watcher::Config::default())
        .owns(maps, watcher::Config::default().labels(SUMMARY_LABEL))
}

/// Runs the controller with `runtime` until it shuts down; drive the returned stream.
pub fn run(
    client: Client,
    namespace: Option<&str>,
    runtime: &ControllerRuntime,
) -> impl Stream<Item = Result<(ObjectRef<PhJob>, Action), controller::Error<Error, watcher::Error>>>
+ Send
+ use<> {
    let ctx = Arc::new(Context::new(client.clone()));
    runtime.run(controller(client, namespace), reconcile, ctx)
}
