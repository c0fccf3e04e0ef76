//! Schedules (`PhSchedule`, the SDK's "recurring jobs"): queries and mutations, as PrimeHub's
//! `ee/resolvers/phSchedule.ts`.
//!
//! * `phSchedule`, `phSchedules`, `phSchedulesConnection`: the schedule store, PrimeHub's
//!   `PhScheduleWhereInput` (`id`, `groupId_in`, `search` over id and display name,
//!   `displayName_contains`, `mine`) and `PhScheduleOrderByInput`; by default ordered by
//!   `updateTime`, newest first. Visibility as jobs ([`super::job`]).
//! * `createPhSchedule`: the job checks of `createPhJob` (group, membership, availability,
//!   static quota) and a valid `recurrence` (`type` one of `inactive`, `daily`, `weekly`,
//!   `monthly`, `custom`; `custom` needs a `cron`), then the PhSchedule as PrimeHub writes it:
//!   name `schedule-<6 of [0-9a-z]>`, labels `primehub.io/group`/`primehub.io/user`, spec
//!   `{updateTime, recurrence, jobTemplate: {metadata: {labels: {phjob.primehub.io/scheduledBy:
//!   <name>}}, spec: {userId, userName, command, displayName, groupId, groupName, image,
//!   instanceType, activeDeadlineSeconds}}}`.
//! * `updatePhSchedule`: a merge patch of what is given (a new group also changes the group
//!   label), after the quota check of the resulting group and instance type; `runPhSchedule`:
//!   a job now from the template ([`run_now_job`]); `deletePhSchedule`.
//!
//! `updateTime` is written as PrimeHub writes it, but `primehub_model`'s PhSchedule (and so
//! the CRD) has no such field yet, so the API server prunes it and it reads as null; the
//! default order then falls back to the name order.
//!
//! Permissions: reads, `updatePhSchedule`, `deletePhSchedule` — members of the schedule's
//! group and administrators (PrimeHub: members only); `createPhSchedule`, `runPhSchedule`
//! (which make something the caller owns) — members, administrators included; moving a
//! schedule to another group needs membership of that group too.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use kube::api::DynamicObject;
use primehub_keycloak::cache::Snapshot;
use primehub_model::crd::job::LABEL_SCHEDULED_BY;
use primehub_model::crd::schedule::PhSchedule;
use primehub_model::names::{LABEL_GROUP, escape_label};
use primehub_reconcile::{DeleteOptions, KubeError, PatchBody, ResourceKind};
use serde::Serialize;
use serde_json::{Value, json};

use super::common::{connection, page_args, where_unique};
use super::instance_type::InstanceType;
use super::job::{
    JobFields, PhJobObject, check_available, check_static_quota, create_job, deadline, group,
    identity, is_member, may_see, public_base, required, visible_groups,
};
use super::user::where_json;
use super::{snapshot, state};
use crate::auth::Identity;
use crate::error::{Error, Result};
use crate::guard::{Allow, denied};
use crate::list::{self, Listable};
use crate::resources::READ_YOUR_WRITES_TIMEOUT;
use crate::state::ApiState;

connection!(PhScheduleConnection, PhScheduleEdge, PhScheduleObject);

where_unique!(
    /// Selects one schedule by name.
    PhScheduleWhereUniqueInput
);

/// The Kubernetes name of PhSchedules (the SDK matches `phschedules.primehub.io "<id>" not
/// found`).
pub const PHSCHEDULES: &str = "phschedules.primehub.io";

/// The recurrence types PrimeHub's controller knows.
pub const RECURRENCE_TYPES: [&str; 5] = ["inactive", "daily", "weekly", "monthly", "custom"];

/// Filters of the schedule lists.
#[derive(InputObject, Debug, Clone, Default, Serialize)]
pub struct PhScheduleWhereInput {
    /// Exactly this schedule.
    pub id: Option<ID>,
    /// Schedules of these groups (intersected with the caller's groups).
    #[graphql(name = "groupId_in")]
    #[serde(rename = "groupId_in")]
    pub group_id_in: Option<Vec<Option<String>>>,
    /// Id or display name containing this text (case-insensitive).
    pub search: Option<String>,
    /// Display names containing this text.
    #[graphql(name = "displayName_contains")]
    #[serde(rename = "displayName_contains")]
    pub display_name_contains: Option<String>,
    /// Only the caller's own schedules.
    pub mine: Option<bool>,
}

/// The order of the schedule lists.
#[derive(InputObject, Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct PhScheduleOrderByInput {
    pub display_name: Option<String>,
    pub group_name: Option<String>,
    pub user_name: Option<String>,
    pub next_run_time: Option<String>,
    pub create_time: Option<String>,
}

/// `{type, cron}` to set.
#[derive(InputObject, Debug, Clone, Default, Serialize)]
pub struct RecurrenceInput {
    /// `inactive`, `daily`, `weekly`, `monthly` or `custom`.
    #[graphql(name = "type")]
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// A five-field cron expression (`custom`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
}

/// A schedule's recurrence.
#[derive(SimpleObject, Debug, Clone)]
pub struct Recurrence {
    /// `inactive`, `daily`, `weekly`, `monthly` or `custom`.
    #[graphql(name = "type")]
    pub type_: Option<String>,
    /// The cron expression (`custom`).
    pub cron: Option<String>,
}

/// A new schedule.
#[derive(InputObject, Debug, Clone, Default)]
#[allow(missing_docs)]
pub struct PhScheduleCreateInput {
    pub display_name: Option<String>,
    pub group_id: Option<String>,
    pub instance_type: Option<String>,
    pub image: Option<String>,
    pub command: Option<String>,
    pub recurrence: Option<RecurrenceInput>,
    pub active_deadline_seconds: Option<i32>,
}

/// Changes to a schedule (what is given is changed).
#[derive(InputObject, Debug, Clone, Default)]
#[allow(missing_docs)]
pub struct PhScheduleUpdateInput {
    pub display_name: Option<String>,
    pub group_id: Option<String>,
    pub instance_type: Option<String>,
    pub image: Option<String>,
    pub command: Option<String>,
    pub recurrence: Option<RecurrenceInput>,
    pub active_deadline_seconds: Option<i32>,
}

/// `deletePhSchedule`'s answer.
#[derive(SimpleObject, Debug, Clone)]
pub struct PhScheduleDeleteResponse {
    /// The schedule's name.
    pub id: ID,
}

/// `runPhSchedule`'s answer.
#[derive(SimpleObject)]
pub struct PhScheduleRunResponse {
    /// The job made now.
    pub job: Option<PhJobObject>,
}

/// A PrimeHub schedule (GraphQL `PhSchedule`).
#[derive(Clone)]
pub struct PhScheduleObject {
    cr: Arc<PhSchedule>,
    snap: Arc<Snapshot>,
}

impl PhScheduleObject {
    fn name(&self) -> &str {
        self.cr.metadata.name.as_deref().unwrap_or_default()
    }
}

fn time_value(time: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>) -> Value {
    time.and_then(|t| serde_json::to_value(t).ok())
        .unwrap_or(Value::Null)
}

fn text(value: Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s),
        _ => None,
    }
}

impl Listable for PhScheduleObject {
    fn id(&self) -> &str {
        self.name()
    }

    fn field(&self, name: &str) -> Value {
        let spec = &self.cr.spec.job_template.spec;
        let status = self.cr.status.as_ref();
        match name {
            "id" => json!(self.name()),
            "displayName" => json!(spec.display_name),
            "command" => json!(spec.command),
            "groupId" => json!(spec.group_id),
            "groupName" => json!(spec.group_name),
            "image" => json!(spec.image),
            "instanceType" => json!(spec.instance_type),
            "userId" => json!(spec.user_id),
            "userName" => json!(spec.user_name),
            "activeDeadlineSeconds" => json!(spec.active_deadline_seconds),
            "createTime" => time_value(self.cr.metadata.creation_timestamp.as_ref()),
            "nextRunTime" => time_value(status.and_then(|s| s.next_run_time.as_ref())),
            "invalid" => json!(status.is_some_and(|s| s.invalid)),
            "message" => json!(status.and_then(|s| s.message.as_deref())),
            _ => Value::Null,
        }
    }
}

#[Object(name = "PhSchedule")]
impl PhScheduleObject {
    /// The schedule's name.
    async fn id(&self) -> ID {
        ID(self.name().to_owned())
    }
    /// The display name of its jobs.
    async fn display_name(&self) -> Option<String> {
        text(self.field("displayName"))
    }
    /// When it runs.
    async fn recurrence(&self) -> Option<Recurrence> {
        let r = &self.cr.spec.recurrence;
        Some(Recurrence {
            type_: Some(r.type_.as_str().to_owned()),
            cron: r.cron.clone(),
        })
    }
    /// The shell script its jobs run.
    async fn command(&self) -> Option<String> {
        text(self.field("command"))
    }
    /// The group's Keycloak id.
    async fn group_id(&self) -> Option<String> {
        text(self.field("groupId"))
    }
    /// The group's name.
    async fn group_name(&self) -> Option<String> {
        text(self.field("groupName"))
    }
    /// The image's name.
    async fn image(&self) -> Option<String> {
        text(self.field("image"))
    }
    /// The instance type (a stand-in `{id: <name>, name}` when it is gone, as PrimeHub).
    async fn instance_type(&self, ctx: &Context<'_>) -> Option<InstanceType> {
        let name = &self.cr.spec.job_template.spec.instance_type;
        Some(match state(ctx).stores.instance_type(name) {
            Some(cr) => InstanceType::new(cr, self.snap.clone()),
            None => InstanceType::missing(name, name.clone(), self.snap.clone()),
        })
    }
    /// The owner's Keycloak id.
    async fn user_id(&self) -> Option<String> {
        text(self.field("userId"))
    }
    /// The owner's username.
    async fn user_name(&self) -> Option<String> {
        text(self.field("userName"))
    }
    /// When it was created.
    async fn create_time(&self) -> Option<String> {
        text(self.field("createTime"))
    }
    /// When it was last changed through the API (not kept yet: see the module docs).
    async fn update_time(&self) -> Option<String> {
        None
    }
    /// When it runs next (the controller's).
    async fn next_run_time(&self) -> Option<String> {
        text(self.field("nextRunTime"))
    }
    /// Whether the controller found it invalid.
    async fn invalid(&self) -> Option<bool> {
        Some(self.cr.status.as_ref().is_some_and(|s| s.invalid))
    }
    /// Why it is invalid.
    async fn message(&self) -> Option<String> {
        text(self.field("message"))
    }
    /// The longest its jobs may run, in seconds.
    async fn active_deadline_seconds(&self) -> Option<i64> {
        self.cr.spec.job_template.spec.active_deadline_seconds
    }
}

// ----- the run-now job -----

/// The job `runPhSchedule` makes, as PrimeHub's resolver makes it: the template's display
/// name, group, instance type, image, command and deadline, owned by the caller, with only the
/// group and user labels (PrimeHub's run-now job carries no `scheduledBy` label and none of
/// the template's metadata). The only "run now" there is: the controller has none.
pub fn run_now_job(schedule: &PhSchedule) -> (JobFields, BTreeMap<String, String>) {
    let spec = &schedule.spec.job_template.spec;
    (
        JobFields {
            display_name: spec.display_name.clone(),
            group_id: spec.group_id.clone(),
            instance_type: spec.instance_type.clone(),
            image: spec.image.clone(),
            command: spec.command.clone(),
            active_deadline_seconds: spec.active_deadline_seconds,
        },
        BTreeMap::new(),
    )
}

// ----- queries -----

/// The schedule queries.
#[derive(Default)]
pub struct PhScheduleQuery;

/// The schedule `name`: from the store, or from the API server.
async fn find_schedule(state: &ApiState, name: &str) -> Result<Arc<PhSchedule>> {
    if let Some(s) = state.jobs.schedule(name) {
        return Ok(s);
    }
    match crate::resources::typed::<PhSchedule>(state)
        .get_opt(name)
        .await?
    {
        Some(s) => Ok(Arc::new(s)),
        None => Err(Error::NotFound {
            kind: PHSCHEDULES,
            name: name.to_owned(),
        }),
    }
}

async fn list_schedules(
    ctx: &Context<'_>,
    where_: Option<&PhScheduleWhereInput>,
    order_by: Option<&PhScheduleOrderByInput>,
) -> async_graphql::Result<Vec<PhScheduleObject>> {
    let state = state(ctx);
    let snap = snapshot(ctx);
    let (caller, identity) = identity(ctx)?;
    if let Some(id) = where_.and_then(|w| w.id.as_ref()) {
        let s = find_schedule(state, id).await?;
        if !may_see(caller, &snap, &s.spec.job_template.spec.group_id) {
            return Err(denied().into());
        }
        return Ok(vec![PhScheduleObject { cr: s, snap }]);
    }
    let groups = visible_groups(caller, &snap, where_.and_then(|w| w.group_id_in.as_ref()));
    let mut filter = serde_json::Map::new();
    if let Some(groups) = groups {
        filter.insert("groupId_in".into(), json!(groups));
    }
    if where_.and_then(|w| w.mine).unwrap_or(false) {
        filter.insert("userId_eq".into(), json!(identity.user_id));
    }
    if let Some(text) = where_.and_then(|w| w.display_name_contains.as_deref()) {
        filter.insert("displayName_contains".into(), json!(text));
    }
    if let Some(search) = where_.and_then(|w| w.search.as_deref()) {
        filter.insert("search".into(), json!(search));
    }
    let mut rows: Vec<PhScheduleObject> = state
        .jobs
        .schedules()
        .into_iter()
        .map(|cr| PhScheduleObject {
            cr,
            snap: snap.clone(),
        })
        .collect();
    rows.sort_unstable_by(|a, b| a.name().cmp(b.name()));
    let mut rows = list::filter(rows, Some(&filter), &["id", "displayName"]);
    let mut order = where_json(order_by)?.unwrap_or_default();
    if order.is_empty() {
        order.insert("updateTime".into(), json!("desc"));
    }
    list::order(&mut rows, &order)?;
    Ok(rows)
}

#[Object]
impl PhScheduleQuery {
    /// One schedule.
    #[graphql(guard = "Allow::AdminOrUser")]
    async fn ph_schedule(
        &self,
        ctx: &Context<'_>,
        r#where: PhScheduleWhereUniqueInput,
    ) -> async_graphql::Result<PhScheduleObject> {
        let state = state(ctx);
        let snap = snapshot(ctx);
        let (caller, _) = identity(ctx)?;
        let s = find_schedule(state, &r#where.id).await?;
        if !may_see(caller, &snap, &s.spec.job_template.spec.group_id) {
            return Err(denied().into());
        }
        Ok(PhScheduleObject { cr: s, snap })
    }

    /// The schedules of the caller's groups.
    #[graphql(guard = "Allow::AdminOrUser")]
    #[allow(clippy::too_many_arguments)]
    async fn ph_schedules(
        &self,
        ctx: &Context<'_>,
        r#where: Option<PhScheduleWhereInput>,
        page: Option<i32>,
        order_by: Option<PhScheduleOrderByInput>,
        before: Option<String>,
        after: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> async_graphql::Result<Vec<Option<PhScheduleObject>>> {
        let rows = list_schedules(ctx, r#where.as_ref(), order_by.as_ref()).await?;
        let paged = list::paginate(rows, &page_args(page, before, after, first, last));
        Ok(paged.items.into_iter().map(Some).collect())
    }

    /// The schedules as a connection.
    #[graphql(guard = "Allow::AdminOrUser")]
    #[allow(clippy::too_many_arguments)]
    async fn ph_schedules_connection(
        &self,
        ctx: &Context<'_>,
        r#where: Option<PhScheduleWhereInput>,
        page: Option<i32>,
        order_by: Option<PhScheduleOrderByInput>,
        before: Option<String>,
        after: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> async_graphql::Result<PhScheduleConnection> {
        let rows = list_schedules(ctx, r#where.as_ref(), order_by.as_ref()).await?;
        let paged = list::paginate(rows, &page_args(page, before, after, first, last));
        Ok(PhScheduleConnection::new(
            paged
                .items
                .into_iter()
                .map(|s| (s.name().to_owned(), s))
                .collect(),
            paged.page_info,
        ))
    }
}

// ----- mutations -----

/// The schedule mutations.
#[derive(Default)]
pub struct PhScheduleMutation;

/// A recurrence input checked: a known type, and a cron expression for `custom`.
fn recurrence(field: &str, input: &RecurrenceInput) -> Result<Value> {
    let type_ = required(&format!("{field}.type"), input.type_.as_deref())?;
    if !RECURRENCE_TYPES.contains(&type_) {
        return Err(Error::invalid(
            format!("{field}.type"),
            format!("must be one of inactive, daily, weekly, monthly, custom, not {type_:?}"),
        ));
    }
    if type_ == "custom" {
        required(&format!("{field}.cron"), input.cron.as_deref())?;
    }
    serde_json::to_value(input).map_err(|e| Error::invalid(field, e.to_string()))
}

/// `moment.utc().toISOString()`: milliseconds and `Z`.
fn iso_now(state: &ApiState) -> String {
    state
        .clock
        .now()
        .round(jiff::Unit::Millisecond)
        .map_or_else(|_| state.clock.now().to_string(), |t| format!("{t:.3}"))
}

fn schedule_name() -> String {
    format!(
        "schedule-{}",
        primehub_model::names::random_suffix(6, &mut rand::rng())
    )
}

async fn create(
    ctx: &Context<'_>,
    data: PhScheduleCreateInput,
) -> async_graphql::Result<PhScheduleObject> {
    let state = state(ctx);
    let snap = state.keycloak.snapshot();
    let (_, owner) = identity(ctx)?;
    let fields = JobFields {
        group_id: required("data.groupId", data.group_id.as_deref())?.to_owned(),
        display_name: required("data.displayName", data.display_name.as_deref())?.to_owned(),
        instance_type: required("data.instanceType", data.instance_type.as_deref())?.to_owned(),
        image: required("data.image", data.image.as_deref())?.to_owned(),
        command: required("data.command", data.command.as_deref())?.to_owned(),
        active_deadline_seconds: deadline(
            "data.activeDeadlineSeconds",
            data.active_deadline_seconds,
        )?,
    };
    let recurrence = recurrence(
        "data.recurrence",
        data.recurrence
            .as_ref()
            .ok_or_else(|| Error::invalid("data.recurrence", "is required"))?,
    )?;
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
    let created = create_schedule(state, owner, &group_name, &fields, recurrence).await?;
    Ok(PhScheduleObject {
        cr: created,
        snap: state.keycloak.snapshot(),
    })
}

async fn create_schedule(
    state: &ApiState,
    owner: &Identity,
    group_name: &str,
    fields: &JobFields,
    recurrence: Value,
) -> Result<Arc<PhSchedule>> {
    let kind = ResourceKind::of::<PhSchedule>();
    let labels = primehub_model::names::primehub_labels(&owner.username, group_name);
    let mut attempts = 0;
    let created = loop {
        attempts += 1;
        let name = schedule_name();
        let mut template_spec = json!({
            "userId": owner.user_id,
            "userName": owner.username,
            "command": fields.command,
            "displayName": fields.display_name,
            "groupId": fields.group_id,
            "groupName": group_name,
            "image": fields.image,
            "instanceType": fields.instance_type,
        });
        if let (Some(seconds), Some(map)) = (
            fields.active_deadline_seconds,
            template_spec.as_object_mut(),
        ) {
            map.insert("activeDeadlineSeconds".into(), json!(seconds));
        }
        let object: DynamicObject = serde_json::from_value(json!({
            "apiVersion": kind.api_version(),
            "kind": kind.kind,
            "metadata": {"name": name, "namespace": state.config.namespace, "labels": labels},
            "spec": {
                "updateTime": iso_now(state),
                "recurrence": recurrence,
                "jobTemplate": {
                    "metadata": {"labels": {LABEL_SCHEDULED_BY: name}},
                    "spec": template_spec,
                },
            },
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
    let schedule: PhSchedule = primehub_reconcile::api::decode(created)?;
    let name = schedule.metadata.name.clone().unwrap_or_default();
    let version = schedule
        .metadata
        .resource_version
        .clone()
        .unwrap_or_default();
    state
        .jobs
        .wait_for_schedule(&name, &version, READ_YOUR_WRITES_TIMEOUT)
        .await;
    Ok(Arc::new(schedule))
}

fn not_found(name: &str) -> impl FnOnce(KubeError) -> Error + '_ {
    move |e| match e {
        KubeError::NotFound { .. } => Error::NotFound {
            kind: PHSCHEDULES,
            name: name.to_owned(),
        },
        other => other.into(),
    }
}

async fn update(
    ctx: &Context<'_>,
    name: &str,
    data: PhScheduleUpdateInput,
) -> async_graphql::Result<PhScheduleObject> {
    let state = state(ctx);
    let snap = state.keycloak.snapshot();
    let (caller, identity) = identity(ctx)?;
    let current = find_schedule(state, name).await?;
    let template = &current.spec.job_template.spec;
    for (field, value) in [
        ("data.displayName", &data.display_name),
        ("data.groupId", &data.group_id),
        ("data.instanceType", &data.instance_type),
        ("data.image", &data.image),
        ("data.command", &data.command),
    ] {
        if value.is_some() {
            required(field, value.as_deref())?;
        }
    }
    let deadline = deadline("data.activeDeadlineSeconds", data.active_deadline_seconds)?;
    let recurrence = data
        .recurrence
        .as_ref()
        .map(|r| recurrence("data.recurrence", r))
        .transpose()?;
    if !may_see(caller, &snap, &template.group_id) {
        return Err(denied().into());
    }
    let group_id = data
        .group_id
        .clone()
        .unwrap_or_else(|| template.group_id.clone());
    let new_group = group(&snap, "data.groupId", &group_id)?;
    let moved = group_id != template.group_id;
    if moved && !is_member(&snap, &identity.user_id, &group_id) {
        return Err(denied().into());
    }
    let instance_type = data
        .instance_type
        .clone()
        .unwrap_or_else(|| template.instance_type.clone());
    let image = data.image.clone().unwrap_or_else(|| template.image.clone());
    let group_name = new_group.group.name.clone();
    // What the schedule's jobs will use must be available to its owner in its group.
    let it = check_available(
        state,
        &snap,
        &template.user_id,
        &group_name,
        &instance_type,
        &image,
        ("data.instanceType", "data.image"),
    )?;
    check_static_quota("data.instanceType", new_group, &it)?;
    let mut template_patch = serde_json::Map::new();
    for (key, value) in [
        ("command", &data.command),
        ("displayName", &data.display_name),
        ("image", &data.image),
        ("instanceType", &data.instance_type),
    ] {
        if let Some(v) = value {
            template_patch.insert(key.into(), json!(v));
        }
    }
    if data.group_id.is_some() {
        template_patch.insert("groupId".into(), json!(group_id));
        template_patch.insert("groupName".into(), json!(group_name));
    }
    if let Some(seconds) = deadline {
        template_patch.insert("activeDeadlineSeconds".into(), json!(seconds));
    }
    let mut spec = serde_json::Map::new();
    spec.insert("updateTime".into(), json!(iso_now(state)));
    if let Some(r) = recurrence {
        spec.insert("recurrence".into(), r);
    }
    spec.insert(
        "jobTemplate".into(),
        json!({"spec": Value::Object(template_patch)}),
    );
    let mut patch = json!({"spec": Value::Object(spec)});
    if data.group_id.is_some()
        && let Some(map) = patch.as_object_mut()
    {
        map.insert(
            "metadata".into(),
            json!({"labels": {LABEL_GROUP: escape_label(&group_name)}}),
        );
    }
    let patched = crate::resources::typed::<PhSchedule>(state)
        .patch(name, &PatchBody::Merge(patch))
        .await
        .map_err(not_found(name))?;
    let version = patched
        .metadata
        .resource_version
        .clone()
        .unwrap_or_default();
    state
        .jobs
        .wait_for_schedule(name, &version, READ_YOUR_WRITES_TIMEOUT)
        .await;
    Ok(PhScheduleObject {
        cr: Arc::new(patched),
        snap: state.keycloak.snapshot(),
    })
}

#[Object]
impl PhScheduleMutation {
    /// Creates a schedule in a group of the caller's.
    #[graphql(guard = "Allow::AdminOrUser")]
    async fn create_ph_schedule(
        &self,
        ctx: &Context<'_>,
        data: PhScheduleCreateInput,
    ) -> async_graphql::Result<PhScheduleObject> {
        create(ctx, data).await
    }

    /// Changes a schedule.
    #[graphql(guard = "Allow::AdminOrUser")]
    async fn update_ph_schedule(
        &self,
        ctx: &Context<'_>,
        r#where: PhScheduleWhereUniqueInput,
        data: PhScheduleUpdateInput,
    ) -> async_graphql::Result<PhScheduleObject> {
        update(ctx, &r#where.id, data).await
    }

    /// Runs a schedule's job now (the caller's job).
    #[graphql(guard = "Allow::AdminOrUser")]
    async fn run_ph_schedule(
        &self,
        ctx: &Context<'_>,
        r#where: PhScheduleWhereUniqueInput,
    ) -> async_graphql::Result<PhScheduleRunResponse> {
        let state = state(ctx);
        let snap = state.keycloak.snapshot();
        let (_, owner) = identity(ctx)?;
        let schedule = find_schedule(state, &r#where.id).await?;
        let template = &schedule.spec.job_template.spec;
        if !is_member(&snap, &owner.user_id, &template.group_id) {
            return Err(denied().into());
        }
        let group_name = snap
            .group(&template.group_id)
            .map_or_else(|| template.group_name.clone(), |g| g.group.name.clone());
        let (fields, labels) = run_now_job(&schedule);
        let job = create_job(state, owner, &group_name, &fields, labels).await?;
        Ok(PhScheduleRunResponse {
            job: Some(PhJobObject::new(
                job,
                state.keycloak.snapshot(),
                public_base(ctx),
            )),
        })
    }

    /// Deletes a schedule (its jobs stay).
    #[graphql(guard = "Allow::AdminOrUser")]
    async fn delete_ph_schedule(
        &self,
        ctx: &Context<'_>,
        r#where: PhScheduleWhereUniqueInput,
    ) -> async_graphql::Result<PhScheduleDeleteResponse> {
        let state = state(ctx);
        let snap = state.keycloak.snapshot();
        let (caller, _) = identity(ctx)?;
        let schedule = find_schedule(state, &r#where.id).await?;
        if !may_see(caller, &snap, &schedule.spec.job_template.spec.group_id) {
            return Err(denied().into());
        }
        crate::resources::typed::<PhSchedule>(state)
            .delete(&r#where.id, &DeleteOptions::default())
            .await
            .map_err(not_found(&r#where.id))?;
        state
            .jobs
            .wait_for_schedule_deletion(&r#where.id, READ_YOUR_WRITES_TIMEOUT)
            .await;
        Ok(PhScheduleDeleteResponse { id: r#where.id })
    }
}
