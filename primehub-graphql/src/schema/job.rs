//! Jobs (`PhJob`): queries and mutations, as PrimeHub's `ee/resolvers/phJob.ts`.
//!
//! * `phJob`, `phJobs`, `phJobsConnection`: the job store ([`crate::jobs`]), PrimeHub's
//!   `PhJobWhereInput` (`id`, `groupId_in`, `mine`) and `PhJobOrderByInput`, newest first by
//!   default, paged as every list ([`crate::list`]). A user sees the jobs of their groups
//!   (`groupId_in` is intersected with them; `mine` keeps their own); `where.id` reads one job
//!   and is `NOT_AUTH` ("user not auth") outside the caller's groups.
//! * `createPhJob`: the group must exist and the caller be a member of it; the instance type
//!   and image must exist and be available to the caller in that group
//!   ([`primehub_model::binding::job_launchable`]); the instance type's limits must fit the
//!   group's user and group quotas as such (PrimeHub's static check, gpu → cpu → memory, user
//!   before group, with PrimeHub's messages and `EXCEED_QUOTA`, on
//!   [`primehub_model::quota::Quota`]); then the PhJob is created as PrimeHub writes it:
//!   name `job-<UTC yyyyMMddHHmm>-<6 of [0-9a-z]>`, labels `primehub.io/group` and
//!   `primehub.io/user` (escaped), spec `{cancel: false, userId, userName, command,
//!   displayName, groupId, groupName, image, instanceType, activeDeadlineSeconds}`, no
//!   annotations. Bad input is `REQUEST_BODY_INVALID` naming the field.
//! * `rerunPhJob`: a new job (the caller's) with the old one's display name, group, instance
//!   type, image and command — not its `activeDeadlineSeconds`, as PrimeHub; `cancelPhJob`:
//!   merge-patches `spec.cancel: true`.
//! * `PhJob.phase` is `Cancelled` whenever `spec.cancel` is set, else `status.phase`, else
//!   `Pending`; `logEndpoint` is `<graphqlHost><appPrefix>/logs/namespaces/<ns>/phjobs/<id>`
//!   (served by [`crate::logs`]); `instanceType` is the instance type, or PrimeHub's stand-in
//!   `{id: "<name>-not-found", name}` when it is gone; `artifact` is `{prefix:
//!   "groups/<group>/jobArtifacts/<id>", items: []}`, what PrimeHub answers without its
//!   object store (PHFS is not part of this project).
//!
//! Permissions (the guards: administrators and users, not the shared-secret client): reads,
//! `cancelPhJob` — members of the job's group, and administrators (PrimeHub checks
//! membership for administrators too); `createPhJob`, `rerunPhJob` (which make a job owned by
//! the caller, which only a member can run) — members of the group, administrators included.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use kube::api::DynamicObject;
use primehub_keycloak::cache::{CachedGroup, Snapshot};
use primehub_model::binding::{Catalog, GroupRoles, job_launchable};
use primehub_model::crd::image::Image as ImageCr;
use primehub_model::crd::instance_type::InstanceType as InstanceTypeCr;
use primehub_model::crd::job::{LABEL_SCHEDULED_BY, PhJob};
use primehub_model::pod::InstanceTypeResources;
use primehub_model::quota::{Quota, ResourceAmounts};
use primehub_reconcile::{KubeError, PatchBody, ResourceKind};
use serde::Serialize;
use serde_json::{Value, json};

use super::common::{connection, page_args, where_unique};
use super::instance_type::InstanceType;
use super::user::where_json;
use super::{snapshot, state};
use crate::auth::{Caller, Identity};
use crate::error::{Error, Result};
use crate::guard::{Allow, caller, denied};
use crate::list::{self, Listable};
use crate::resources::READ_YOUR_WRITES_TIMEOUT;
use crate::state::ApiState;

connection!(PhJobConnection, PhJobEdge, PhJobObject);

where_unique!(
    /// Selects one job by name.
    PhJobWhereUniqueInput
);

/// The Kubernetes name of PhJobs, as not-found messages give it (the SDK matches
/// `phjobs.primehub.io "<id>" not found`).
pub const PHJOBS: &str = "phjobs.primehub.io";

/// The base URL a request's `logEndpoint`s start with: `<scheme>://<host><appPrefix>`, put in
/// the request's data by the router (from the configuration or the request's `Host`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicBase(pub String);

/// Filters of the job lists.
#[derive(InputObject, Debug, Clone, Default, Serialize)]
pub struct PhJobWhereInput {
    /// Exactly this job (read alone; `NOT_AUTH` outside the caller's groups).
    pub id: Option<ID>,
    /// Jobs of these groups (intersected with the caller's groups).
    #[graphql(name = "groupId_in")]
    #[serde(rename = "groupId_in")]
    pub group_id_in: Option<Vec<Option<String>>>,
    /// Only the caller's own jobs.
    pub mine: Option<bool>,
}

/// The order of the job lists (`"asc"` or `"desc"`; the first key given counts).
#[derive(InputObject, Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct PhJobOrderByInput {
    pub display_name: Option<String>,
    pub schedule: Option<String>,
    pub create_time: Option<String>,
    pub user_name: Option<String>,
    pub group_name: Option<String>,
    pub phase: Option<String>,
}

/// A new job.
#[derive(InputObject, Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhJobCreateInput {
    /// The display name (required).
    pub display_name: Option<String>,
    /// The group's Keycloak id (required; the caller must be a member).
    pub group_id: Option<String>,
    /// The instance type's name (required; available to the group).
    pub instance_type: Option<String>,
    /// The image's name (required; available to the group).
    pub image: Option<String>,
    /// The shell script the job runs (required).
    pub command: Option<String>,
    /// The longest the job may run, in seconds (≥ 0; unset: the controller's default).
    pub active_deadline_seconds: Option<i32>,
}

/// `cancelPhJob`'s answer.
#[derive(SimpleObject, Debug, Clone)]
pub struct PhJobCancelResponse {
    /// The job's name.
    pub id: ID,
}

/// One artifact file of a job.
#[derive(SimpleObject, Debug, Clone)]
pub struct PhJobArtifactItem {
    /// The path below the job's prefix.
    pub name: Option<String>,
    /// Bytes.
    pub size: Option<i32>,
    /// ISO time.
    pub last_modified: Option<String>,
}

/// A job's artifacts in PrimeHub's object store.
#[derive(SimpleObject, Debug, Clone)]
pub struct PhJobArtifact {
    /// `groups/<group>/jobArtifacts/<job>`.
    pub prefix: Option<String>,
    /// The files (none: this server has no object store).
    pub items: Option<Vec<Option<PhJobArtifactItem>>>,
}

/// A PrimeHub job (GraphQL `PhJob`).
#[derive(Clone)]
pub struct PhJobObject {
    cr: Arc<PhJob>,
    snap: Arc<Snapshot>,
    base: Arc<str>,
}

fn time_string(time: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>) -> Value {
    time.and_then(|t| serde_json::to_value(t).ok())
        .unwrap_or(Value::Null)
}

impl PhJobObject {
    pub(crate) fn new(cr: Arc<PhJob>, snap: Arc<Snapshot>, base: Arc<str>) -> PhJobObject {
        PhJobObject { cr, snap, base }
    }

    fn name(&self) -> &str {
        self.cr.metadata.name.as_deref().unwrap_or_default()
    }

    fn phase_value(&self) -> String {
        if self.cr.spec.cancel {
            return "Cancelled".to_owned();
        }
        self.cr
            .status
            .as_ref()
            .and_then(|s| s.phase.as_ref())
            .map_or_else(|| "Pending".to_owned(), |p| p.as_str().to_owned())
    }

    fn schedule_value(&self) -> Option<&str> {
        self.cr
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(LABEL_SCHEDULED_BY))
            .map(String::as_str)
    }
}

impl Listable for PhJobObject {
    fn id(&self) -> &str {
        self.name()
    }

    fn field(&self, name: &str) -> Value {
        let spec = &self.cr.spec;
        let status = self.cr.status.as_ref();
        match name {
            "id" => json!(self.name()),
            "displayName" => json!(spec.display_name),
            "cancel" => json!(spec.cancel),
            "command" => json!(spec.command),
            "groupId" => json!(spec.group_id),
            "groupName" => json!(spec.group_name),
            "image" => json!(spec.image),
            "instanceType" => json!(spec.instance_type),
            "userId" => json!(spec.user_id),
            "userName" => json!(spec.user_name),
            "phase" => json!(self.phase_value()),
            "reason" => json!(status.and_then(|s| s.reason.as_ref()).map(|r| r.as_str())),
            "message" => json!(status.and_then(|s| s.message.as_deref())),
            "schedule" => json!(self.schedule_value()),
            "createTime" => time_string(self.cr.metadata.creation_timestamp.as_ref()),
            "startTime" => time_string(status.and_then(|s| s.start_time.as_ref())),
            "finishTime" => time_string(status.and_then(|s| s.finish_time.as_ref())),
            "activeDeadlineSeconds" => json!(spec.active_deadline_seconds),
            _ => Value::Null,
        }
    }
}

fn text(value: Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s),
        _ => None,
    }
}

#[Object(name = "PhJob")]
impl PhJobObject {
    /// The job's name.
    async fn id(&self) -> ID {
        ID(self.name().to_owned())
    }
    /// The display name.
    async fn display_name(&self) -> Option<String> {
        Some(self.cr.spec.display_name.clone())
    }
    /// Whether the job was cancelled.
    async fn cancel(&self) -> Option<bool> {
        Some(self.cr.spec.cancel)
    }
    /// The shell script.
    async fn command(&self) -> Option<String> {
        Some(self.cr.spec.command.clone())
    }
    /// The group's Keycloak id.
    async fn group_id(&self) -> Option<String> {
        Some(self.cr.spec.group_id.clone())
    }
    /// The group's name.
    async fn group_name(&self) -> Option<String> {
        Some(self.cr.spec.group_name.clone())
    }
    /// The image's name.
    async fn image(&self) -> Option<String> {
        Some(self.cr.spec.image.clone())
    }
    /// The instance type (PrimeHub's stand-in `{id: "<name>-not-found", name}` when it is
    /// gone).
    async fn instance_type(&self, ctx: &Context<'_>) -> Option<InstanceType> {
        let name = &self.cr.spec.instance_type;
        Some(match state(ctx).stores.instance_type(name) {
            Some(cr) => InstanceType::new(cr, self.snap.clone()),
            None => InstanceType::missing(name, format!("{name}-not-found"), self.snap.clone()),
        })
    }
    /// The owner's Keycloak id.
    async fn user_id(&self) -> Option<String> {
        Some(self.cr.spec.user_id.clone())
    }
    /// The owner's username.
    async fn user_name(&self) -> Option<String> {
        self.cr.spec.user_name.clone()
    }
    /// `Cancelled` when cancelled, else the status's phase, else `Pending`.
    async fn phase(&self) -> Option<String> {
        Some(self.phase_value())
    }
    /// Why the job is in its phase.
    async fn reason(&self) -> Option<String> {
        text(self.field("reason"))
    }
    /// A message about the phase.
    async fn message(&self) -> Option<String> {
        text(self.field("message"))
    }
    /// The schedule that made the job (`phjob.primehub.io/scheduledBy`).
    async fn schedule(&self) -> Option<String> {
        self.schedule_value().map(str::to_owned)
    }
    /// When the job was created (RFC 3339).
    async fn create_time(&self) -> Option<String> {
        text(self.field("createTime"))
    }
    /// When its pod started running.
    async fn start_time(&self) -> Option<String> {
        text(self.field("startTime"))
    }
    /// When it finished.
    async fn finish_time(&self) -> Option<String> {
        text(self.field("finishTime"))
    }
    /// Where its log is streamed (`GET`, bearer credential; `follow`, `tailLines`).
    async fn log_endpoint(&self, ctx: &Context<'_>) -> Option<String> {
        Some(format!(
            "{}/logs/namespaces/{}/phjobs/{}",
            self.base,
            state(ctx).config.namespace,
            self.name()
        ))
    }
    /// Its artifacts (no object store here: the prefix, and no items).
    async fn artifact(&self) -> Option<PhJobArtifact> {
        Some(PhJobArtifact {
            prefix: Some(format!(
                "groups/{}/jobArtifacts/{}",
                self.cr.spec.group_name,
                self.name()
            )),
            items: Some(Vec::new()),
        })
    }
    /// The longest the job may run, in seconds (null: the controller's default).
    async fn active_deadline_seconds(&self) -> Option<i64> {
        self.cr.spec.active_deadline_seconds
    }
}

// ----- shared with schedules -----

/// The base of `logEndpoint`s for this request.
pub(crate) fn public_base(ctx: &Context<'_>) -> Arc<str> {
    if let Some(base) = ctx.data_opt::<PublicBase>() {
        return Arc::from(base.0.as_str());
    }
    let config = &state(ctx).config;
    Arc::from(format!(
        "{}{}",
        config.graphql_host.as_deref().unwrap_or_default(),
        config.app_prefix
    ))
}

/// The user behind a call the guard let through (administrators and users).
pub(crate) fn identity<'a>(
    ctx: &Context<'a>,
) -> async_graphql::Result<(&'a Arc<Caller>, &'a Identity)> {
    let caller = caller(ctx)?;
    let identity = caller.identity().ok_or_else(denied)?;
    Ok((caller, identity))
}

/// Whether `user_id` is a member of group `group_id`.
pub(crate) fn is_member(snap: &Snapshot, user_id: &str, group_id: &str) -> bool {
    !group_id.is_empty() && snap.user_group_ids(user_id).iter().any(|g| g == group_id)
}

/// Whether the caller may read or manage an object of group `group_id`: members, and
/// administrators (PrimeHub: members only).
pub(crate) fn may_see(caller: &Caller, snap: &Snapshot, group_id: &str) -> bool {
    match caller {
        Caller::Admin(_) => true,
        Caller::User(id) => is_member(snap, &id.user_id, group_id),
        Caller::Client => false,
    }
}

/// A required text input field: present and not empty.
pub(crate) fn required<'a>(field: &str, value: Option<&'a str>) -> Result<&'a str> {
    match value {
        None => Err(Error::invalid(field, "is required")),
        Some(v) if v.trim().is_empty() => Err(Error::invalid(field, "must not be empty")),
        Some(v) => Ok(v),
    }
}

/// What a job or schedule runs: validated input, or a schedule's template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFields {
    /// `displayName`.
    pub display_name: String,
    /// `groupId`: the group's Keycloak id.
    pub group_id: String,
    /// `instanceType`: the instance type's name.
    pub instance_type: String,
    /// `image`: the image's name.
    pub image: String,
    /// `command`: the shell script.
    pub command: String,
    /// `activeDeadlineSeconds` (None: not written, the controller's default applies).
    pub active_deadline_seconds: Option<i64>,
}

/// `activeDeadlineSeconds` must not be negative.
pub(crate) fn deadline(field: &str, value: Option<i32>) -> Result<Option<i64>> {
    match value {
        Some(v) if v < 0 => Err(Error::invalid(field, "must be 0 or more")),
        other => Ok(other.map(i64::from)),
    }
}

/// The group `group_id` (`field` names the input when it does not exist).
pub(crate) fn group<'s>(
    snap: &'s Snapshot,
    field: &str,
    group_id: &str,
) -> Result<&'s CachedGroup> {
    snap.group(group_id)
        .ok_or_else(|| Error::invalid(field, format!("no group has id {group_id}")))
}

/// The instance type and image of a job must exist and be available to `user_id` in group
/// `group_name` (as the job spawner resolves them: `binding::job_launchable`). Returns the
/// instance type.
pub(crate) fn check_available(
    state: &ApiState,
    snap: &Snapshot,
    user_id: &str,
    group_name: &str,
    instance_type: &str,
    image: &str,
    fields: (&str, &str),
) -> Result<Arc<InstanceTypeCr>> {
    let (it_field, image_field) = fields;
    let it = state.stores.instance_type(instance_type).ok_or_else(|| {
        Error::invalid(
            it_field,
            format!("instance type {instance_type:?} does not exist"),
        )
    })?;
    let img = state
        .stores
        .image(image)
        .ok_or_else(|| Error::invalid(image_field, format!("image {image:?} does not exist")))?;
    let user_groups: Vec<GroupRoles<'_>> = snap
        .user_group_ids(user_id)
        .iter()
        .filter_map(|gid| {
            Some(GroupRoles {
                name: snap.group(gid)?.group.name.as_str(),
                roles: snap.group_roles(gid),
            })
        })
        .collect();
    let its: [InstanceTypeCr; 1] = [(*it).clone()];
    let images: [ImageCr; 1] = [(*img).clone()];
    let catalog = Catalog {
        images: &images,
        instance_types: &its,
        datasets: &[],
    };
    let launch = job_launchable(&user_groups, group_name, &state.config.naming, &catalog)
        .map_err(|_| denied())?;
    if !launch
        .instance_types
        .iter()
        .any(|r| r.name == instance_type)
    {
        return Err(Error::invalid(
            it_field,
            format!("instance type {instance_type:?} is not available to group {group_name:?}"),
        ));
    }
    if !launch.images.iter().any(|r| r.name == image) {
        return Err(Error::invalid(
            image_field,
            format!("image {image:?} is not available to group {group_name:?}"),
        ));
    }
    Ok(it)
}

/// PrimeHub's static quota check of a job's instance type against its group's quotas: the
/// instance type's limits must fit the user quota and the group quota as such (not what is
/// left of them). Checked gpu, cpu, memory, the user's quota before the group's, with
/// PrimeHub's messages; the arithmetic is `primehub_model::quota`'s.
pub(crate) fn check_static_quota(
    field: &str,
    group: &CachedGroup,
    it: &InstanceTypeCr,
) -> Result<()> {
    let limits = InstanceTypeResources::from_instance_type(it)?.limits();
    let user = group.attributes.user_quota();
    let project = group.attributes.project_quota();
    let parts: [(ResourceAmounts, &str, &str); 3] = [
        (
            ResourceAmounts {
                gpu: limits.gpu,
                ..ResourceAmounts::ZERO
            },
            "User Gpu Quota exceeded",
            "Group Gpu Quota exceeded",
        ),
        (
            ResourceAmounts {
                cpu: limits.cpu,
                ..ResourceAmounts::ZERO
            },
            "User Cpu Quota exceeded",
            "Group Cpu Quota exceeded",
        ),
        (
            ResourceAmounts {
                memory: limits.memory,
                ..ResourceAmounts::ZERO
            },
            "User Memory exceeded",
            "Group Memory exceeded",
        ),
    ];
    let exceeded = |quota: &Quota, part: &ResourceAmounts| !quota.could_ever_admit(part);
    for (part, user_message, group_message) in parts {
        for (quota, message) in [(&user, user_message), (&project, group_message)] {
            if exceeded(quota, &part) {
                return Err(Error::QuotaExceeded {
                    field: field.to_owned(),
                    message: message.to_owned(),
                });
            }
        }
    }
    Ok(())
}

/// Creates a PhJob as PrimeHub's `createJob` writes it, for `owner`, in group `group_name`,
/// with `labels` added to the group and user labels; waits until the job store shows it.
pub(crate) async fn create_job(
    state: &ApiState,
    owner: &Identity,
    group_name: &str,
    fields: &JobFields,
    labels: BTreeMap<String, String>,
) -> Result<Arc<PhJob>> {
    let mut all_labels = primehub_model::names::primehub_labels(&owner.username, group_name);
    all_labels.extend(labels);
    let mut spec = json!({
        "cancel": false,
        "userId": owner.user_id,
        "userName": owner.username,
        "command": fields.command,
        "displayName": fields.display_name,
        "groupId": fields.group_id,
        "groupName": group_name,
        "image": fields.image,
        "instanceType": fields.instance_type,
    });
    if let (Some(seconds), Some(map)) = (fields.active_deadline_seconds, spec.as_object_mut()) {
        map.insert("activeDeadlineSeconds".into(), json!(seconds));
    }
    let kind = ResourceKind::of::<PhJob>();
    // A name is 6 random characters per minute: a clash is retried with a new name.
    let mut attempts = 0;
    let created = loop {
        attempts += 1;
        let name = primehub_model::names::job_name_at(state.clock.as_ref(), &mut rand::rng());
        let object: DynamicObject = serde_json::from_value(json!({
            "apiVersion": kind.api_version(),
            "kind": kind.kind,
            "metadata": {"name": name, "namespace": state.config.namespace, "labels": all_labels},
            "spec": spec,
        }))
        .map_err(|e| Error::invalid("data", e.to_string()))?;
        match state
            .kube
            .create(&kind, Some(&state.config.namespace), &object)
            .await
        {
            Ok(created) => break created,
            Err(KubeError::AlreadyExists { .. }) if attempts < 3 => continue,
            Err(e) => return Err(e.into()),
        }
    };
    let job: PhJob = primehub_reconcile::api::decode(created)?;
    let name = job.metadata.name.clone().unwrap_or_default();
    let version = job.metadata.resource_version.clone().unwrap_or_default();
    state
        .jobs
        .wait_for_job(&name, &version, READ_YOUR_WRITES_TIMEOUT)
        .await;
    tracing::info!(job = %name, user = %owner.username, group = %group_name, "PhJob created");
    Ok(Arc::new(job))
}

/// The job `name`: from the store, or (just created elsewhere) from the API server.
pub(crate) async fn find_job(state: &ApiState, name: &str) -> Result<Arc<PhJob>> {
    if let Some(job) = state.jobs.job(name) {
        return Ok(job);
    }
    match crate::resources::typed::<PhJob>(state)
        .get_opt(name)
        .await?
    {
        Some(job) => Ok(Arc::new(job)),
        None => Err(Error::NotFound {
            kind: PHJOBS,
            name: name.to_owned(),
        }),
    }
}

// ----- queries -----

/// The job queries.
#[derive(Default)]
pub struct PhJobQuery;

fn order_or(
    order_by: Option<&impl Serialize>,
    default: (&str, &str),
) -> Result<serde_json::Map<String, Value>> {
    let order = where_json(order_by)?.unwrap_or_default();
    if order.is_empty() {
        let mut map = serde_json::Map::new();
        map.insert(default.0.to_owned(), json!(default.1));
        return Ok(map);
    }
    Ok(order)
}

/// The `groupId_in` a caller's list gets: what they asked for intersected with their groups
/// (administrators: what they asked for, or every group).
pub(crate) fn visible_groups(
    caller: &Caller,
    snap: &Snapshot,
    asked: Option<&Vec<Option<String>>>,
) -> Option<Vec<String>> {
    let asked: Vec<String> = asked.into_iter().flatten().flatten().cloned().collect();
    match caller {
        Caller::Admin(_) => (!asked.is_empty()).then_some(asked),
        Caller::User(id) => {
            let mine = snap.user_group_ids(&id.user_id);
            Some(if asked.is_empty() {
                mine.to_vec()
            } else {
                asked.into_iter().filter(|g| mine.contains(g)).collect()
            })
        }
        Caller::Client => Some(Vec::new()),
    }
}

async fn list_jobs(
    ctx: &Context<'_>,
    where_: Option<&PhJobWhereInput>,
    order_by: Option<&PhJobOrderByInput>,
) -> async_graphql::Result<Vec<PhJobObject>> {
    let state = state(ctx);
    let snap = snapshot(ctx);
    let (caller, identity) = identity(ctx)?;
    let base = public_base(ctx);
    if let Some(id) = where_.and_then(|w| w.id.as_ref()) {
        let job = find_job(state, id).await?;
        if !may_see(caller, &snap, &job.spec.group_id) {
            return Err(denied().into());
        }
        return Ok(vec![PhJobObject::new(job, snap, base)]);
    }
    let groups = visible_groups(caller, &snap, where_.and_then(|w| w.group_id_in.as_ref()));
    let groups: Option<std::collections::HashSet<&str>> = groups
        .as_ref()
        .map(|g| g.iter().map(String::as_str).collect());
    let mine = where_.and_then(|w| w.mine).unwrap_or(false);
    let mut rows: Vec<PhJobObject> = state
        .jobs
        .jobs()
        .into_iter()
        .filter(|job| {
            // PrimeHub's `groupId_in` and `userId_eq` rules: a set field equal to one given.
            let spec = &job.spec;
            groups
                .as_ref()
                .is_none_or(|g| !spec.group_id.is_empty() && g.contains(spec.group_id.as_str()))
                && (!mine || (!spec.user_id.is_empty() && spec.user_id == identity.user_id))
        })
        .map(|job| PhJobObject::new(job, snap.clone(), base.clone()))
        .collect();
    // The store has no order: by name first, so equal keys sort the same on every call.
    rows.sort_unstable_by(|a, b| a.name().cmp(b.name()));
    list::order(&mut rows, &order_or(order_by, ("createTime", "desc"))?)?;
    Ok(rows)
}

#[Object]
impl PhJobQuery {
    /// One job (`NOT_AUTH` outside the caller's groups, `RESOURCE_NOT_FOUND` when missing).
    #[graphql(guard = "Allow::AdminOrUser")]
    async fn ph_job(
        &self,
        ctx: &Context<'_>,
        r#where: PhJobWhereUniqueInput,
    ) -> async_graphql::Result<PhJobObject> {
        let state = state(ctx);
        let snap = snapshot(ctx);
        let (caller, _) = identity(ctx)?;
        let job = find_job(state, &r#where.id).await?;
        if !may_see(caller, &snap, &job.spec.group_id) {
            return Err(denied().into());
        }
        Ok(PhJobObject::new(job, snap, public_base(ctx)))
    }

    /// The jobs of the caller's groups, newest first unless ordered otherwise.
    #[graphql(guard = "Allow::AdminOrUser")]
    #[allow(clippy::too_many_arguments)]
    async fn ph_jobs(
        &self,
        ctx: &Context<'_>,
        r#where: Option<PhJobWhereInput>,
        page: Option<i32>,
        order_by: Option<PhJobOrderByInput>,
        before: Option<String>,
        after: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> async_graphql::Result<Vec<Option<PhJobObject>>> {
        let rows = list_jobs(ctx, r#where.as_ref(), order_by.as_ref()).await?;
        let paged = list::paginate(rows, &page_args(page, before, after, first, last));
        Ok(paged.items.into_iter().map(Some).collect())
    }

    /// The jobs as a connection.
    #[graphql(guard = "Allow::AdminOrUser")]
    #[allow(clippy::too_many_arguments)]
    async fn ph_jobs_connection(
        &self,
        ctx: &Context<'_>,
        r#where: Option<PhJobWhereInput>,
        page: Option<i32>,
        order_by: Option<PhJobOrderByInput>,
        before: Option<String>,
        after: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> async_graphql::Result<PhJobConnection> {
        let rows = list_jobs(ctx, r#where.as_ref(), order_by.as_ref()).await?;
        let paged = list::paginate(rows, &page_args(page, before, after, first, last));
        Ok(PhJobConnection::new(
            paged
                .items
                .into_iter()
                .map(|j| (j.name().to_owned(), j))
                .collect(),
            paged.page_info,
        ))
    }
}

// ----- mutations -----

/// The job mutations.
#[derive(Default)]
pub struct PhJobMutation;

fn job_fields(data: &PhJobCreateInput) -> Result<JobFields> {
    Ok(JobFields {
        group_id: required("data.groupId", data.group_id.as_deref())?.to_owned(),
        display_name: required("data.displayName", data.display_name.as_deref())?.to_owned(),
        instance_type: required("data.instanceType", data.instance_type.as_deref())?.to_owned(),
        image: required("data.image", data.image.as_deref())?.to_owned(),
        command: required("data.command", data.command.as_deref())?.to_owned(),
        active_deadline_seconds: deadline(
            "data.activeDeadlineSeconds",
            data.active_deadline_seconds,
        )?,
    })
}

async fn create(ctx: &Context<'_>, data: PhJobCreateInput) -> async_graphql::Result<PhJobObject> {
    let state = state(ctx);
    let snap = state.keycloak.snapshot();
    let (_, owner) = identity(ctx)?;
    let fields = job_fields(&data)?;
    let group = group(&snap, "data.groupId", &fields.group_id)?;
    if !is_member(&snap, &owner.user_id, &fields.group_id) {
        return Err(denied().into());
    }
    let group_name = group.group.name.clone();
    let it = check_available(
        state,
        &snap,
        &owner.user_id,
        &group_name,
        &fields.instance_type,
        &fields.image,
        ("data.instanceType", "data.image"),
    )?;
    check_static_quota("data.instanceType", group, &it)?;
    let job = create_job(state, owner, &group_name, &fields, BTreeMap::new()).await?;
    Ok(PhJobObject::new(
        job,
        state.keycloak.snapshot(),
        public_base(ctx),
    ))
}

#[Object]
impl PhJobMutation {
    /// Submits a job to a group of the caller's.
    #[graphql(guard = "Allow::AdminOrUser")]
    async fn create_ph_job(
        &self,
        ctx: &Context<'_>,
        data: PhJobCreateInput,
    ) -> async_graphql::Result<PhJobObject> {
        create(ctx, data).await
    }

    /// Submits a job again (a new job of the caller's with the same display name, group,
    /// instance type, image and command).
    #[graphql(guard = "Allow::AdminOrUser")]
    async fn rerun_ph_job(
        &self,
        ctx: &Context<'_>,
        r#where: PhJobWhereUniqueInput,
    ) -> async_graphql::Result<PhJobObject> {
        let state = state(ctx);
        let snap = state.keycloak.snapshot();
        let (_, owner) = identity(ctx)?;
        let old = find_job(state, &r#where.id).await?;
        if !is_member(&snap, &owner.user_id, &old.spec.group_id) {
            return Err(denied().into());
        }
        let group_name = snap
            .group(&old.spec.group_id)
            .map_or_else(|| old.spec.group_name.clone(), |g| g.group.name.clone());
        let fields = JobFields {
            display_name: old.spec.display_name.clone(),
            group_id: old.spec.group_id.clone(),
            instance_type: old.spec.instance_type.clone(),
            image: old.spec.image.clone(),
            command: old.spec.command.clone(),
            // PrimeHub's rerun does not carry the deadline over.
            active_deadline_seconds: None,
        };
        let job = create_job(state, owner, &group_name, &fields, BTreeMap::new()).await?;
        Ok(PhJobObject::new(
            job,
            state.keycloak.snapshot(),
            public_base(ctx),
        ))
    }

    /// Cancels a job (`spec.cancel: true`; the controller deletes its pod).
    #[graphql(guard = "Allow::AdminOrUser")]
    async fn cancel_ph_job(
        &self,
        ctx: &Context<'_>,
        r#where: PhJobWhereUniqueInput,
    ) -> async_graphql::Result<PhJobCancelResponse> {
        let state = state(ctx);
        let snap = state.keycloak.snapshot();
        let (caller, _) = identity(ctx)?;
        let job = find_job(state, &r#where.id).await?;
        if !may_see(caller, &snap, &job.spec.group_id) {
            return Err(denied().into());
        }
        let patched = crate::resources::typed::<PhJob>(state)
            .patch(
                &r#where.id,
                &PatchBody::Merge(json!({"spec": {"cancel": true}})),
            )
            .await
            .map_err(|e| match e {
                KubeError::NotFound { .. } => Error::NotFound {
                    kind: PHJOBS,
                    name: r#where.id.to_string(),
                },
                other => other.into(),
            })?;
        let version = patched.metadata.resource_version.unwrap_or_default();
        state
            .jobs
            .wait_for_job(&r#where.id, &version, READ_YOUR_WRITES_TIMEOUT)
            .await;
        Ok(PhJobCancelResponse { id: r#where.id })
    }
}
