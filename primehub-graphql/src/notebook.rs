//! The notebook routes JupyterHub's configuration calls: PrimeHub's parts of a notebook pod for
//! a user's choice, and what the hub's options form shows.
//!
//! | route | what it answers |
//! |---|---|
//! | `POST /api/notebook/pod` | [`NotebookParts`] (camelCase JSON, Kubernetes objects in their own JSON) for `{"userId", "group", "instanceType", "image", "options", "spawner", "launchId"}`, built by [`build_notebook_parts`] |
//! | `GET /api/notebook/groups?userId=<id>` | `{"groups": [...]}`: the user's groups except `everyone`, each with `everyone`'s instance types and images merged in and its current usage (PrimeHub's `_groups_from_ctx` and `get_container_resource_usage`) |
//!
//! # Who may call
//!
//! `Authorization: Bearer <credential>` as on the GraphQL routes ([`crate::auth`]), read by the
//! [`NotebookCaller`] extractor: the **shared secret** (any user; `userId` is required), or a
//! user's own **access token** or **API token** (`userId` may be left out and, when given, must
//! be the token's `sub`: another user's id is HTTP 403). No or a bad credential is HTTP 401.
//!
//! # Answers
//!
//! Both routes read the Keycloak cache's snapshot and the resource stores only: with a warm
//! cache they make no Keycloak call. Errors are `{"code", "field", "message"}` (`field` only when
//! the error is about one request field):
//!
//! | status | `code` | when |
//! |---|---|---|
//! | 400 | `BAD_REQUEST` | the body is not a JSON object, a field is missing or of the wrong type (`field` names it: `userId`, `group`, `options.safeMode`, `spawner.podName`, …) |
//! | 401 | `NOT_AUTH` | no credential, or one that is not accepted |
//! | 403 | `NOT_AUTH` | a user's token asking for another user |
//! | 404 | `USER_NOT_FOUND` | no user with that id |
//! | 422 | `NOT_ALLOWED` | the builder refuses the choice, with its message: the group is not the user's (`Group not found: x`) or is `everyone`, the instance type or image is not granted to the group or `everyone` (`InstanceType not found: x`, `Image not found: x`), an option of a feature this server does not offer; also an instance type or image the builder cannot read |
//! | 422 | `QUOTA_NEVER_FITS` | the instance type alone exceeds the user's quota in the group or the group's quota, so the admission webhook would refuse every such pod; the message is the webhook's (`User alice exceeded cpu quota: 1, requesting 2.0`) |
//! | 503 | `NOT_READY` | the resource stores do not have their first lists yet |
//!
//! # `POST /api/notebook/pod`
//!
//! The input of [`build_notebook_parts`] is made the way the job controllers make a job pod's
//! ([`primehub_reconcile::runtime::job_world::user_groups`], [`ResourceStores::objects`]): the
//! user (`volumeCapacity`, time zone), the system's `defaultUserVolumeCapacity`, every group of
//! the user with its roles and attributes in the snapshot's order, the stores' images, instance
//! types and datasets, and the server's [`NotebookPodConfig`]
//! ([`ApiConfig::notebook`](crate::state::ApiConfig::notebook)). `TZ` is the user's `timezone`
//! attribute (what the hub read from the token's `timezone` claim), else the system time zone,
//! else `UTC`. `options` defaults to all off; `spawner` to
//! [`KubeSpawnerNames::default_for`] the username (each of its three fields may be given alone);
//! `launchId` to a fresh UUID's hex, as the hub made it.
//!
//! The quota check is the webhook's own arithmetic: the pod the parts make
//! ([`NotebookParts::to_pod`]) is charged as the webhook charges it ([`PodCharge::of_pod`]) and
//! decided by [`quota::decide`] against the group's two tiers ([`GroupQuotas::of`]) with no usage
//! at all. Current usage is not checked here: the webhook decides that when the pod is created.
//!
//! # `GET /api/notebook/groups`
//!
//! ```json
//! {"groups": [{"id": "…", "name": "phusers", "displayName": "phusers",
//!   "quotaCpu": 1.0, "quotaGpu": 0, "quotaMemory": 2.0,
//!   "projectQuotaCpu": null, "projectQuotaGpu": null, "projectQuotaMemory": null,
//!   "instanceTypes": [{"name": "cpu-1", "displayName": "CPU 1", "description": null, "spec": {…}, "global": true}],
//!   "images": [{"name": "base-notebook", "displayName": "…", "description": "…", "spec": {…}, "global": true}],
//!   "usage": {"cpu": 1.0, "gpu": 0, "memory": 2.0}}]}
//! ```
//!
//! The groups, quotas, instance types and images are the launch-context query's answer
//! (PrimeHub's `GRAPHQL_LAUNCH_CONTEXT_QUERY`, run in process as the shared-secret client), so
//! every field reads exactly as the hub's own query gives it. Groups keep the query's order;
//! each group's instance types and images are its own followed by `everyone`'s, de-duplicated by
//! name (the first kept); an empty or missing `displayName` becomes the name. `usage` is the
//! group's total in the pod ledger the admission webhook decides with
//! ([`ResourceStores::group_usage`]: the limits of the group's `Pending` and `Running` pods), in
//! PrimeHub's display: CPU cores as a float, GPUs as a count, memory in GiB rounded to one decimal
//! (half to even, as Python's `round`), computed from the exact integers and rounded only at the
//! end ([`usage_display`]).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use primehub_keycloak::cache::Snapshot;
use primehub_model::binding::EVERYONE;
use primehub_model::pod::notebook::{
    KubeSpawnerNames, KubeSpawnerPod, NotebookOptions, NotebookParts, NotebookPodConfig,
    NotebookPodInput, NotebookUser, build_notebook_parts,
};
use primehub_model::quota::{self, GroupQuotas, PodCharge, ResourceAmounts, TierCheck};
use primehub_reconcile::runtime::job_world::{system_settings, user_groups};
use primehub_reconcile::stores::ResourceStores;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::auth::Caller;
use crate::router::GraphqlService;
use crate::state::ApiState;

/// The route of the notebook parts.
pub const POD_ROUTE: &str = "/api/notebook/pod";
/// The route of the options form's groups.
pub const GROUPS_ROUTE: &str = "/api/notebook/groups";

/// The error codes of the notebook routes.
pub mod codes {
    /// A malformed body or a missing or bad field.
    pub const BAD_REQUEST: &str = "BAD_REQUEST";
    /// No credential, a bad one, or one that may not ask for this user.
    pub const NOT_AUTH: &str = "NOT_AUTH";
    /// No user with that id.
    pub const USER_NOT_FOUND: &str = "USER_NOT_FOUND";
    /// The builder refused the choice.
    pub const NOT_ALLOWED: &str = "NOT_ALLOWED";
    /// The instance type alone exceeds a quota tier of the group.
    pub const QUOTA_NEVER_FITS: &str = "QUOTA_NEVER_FITS";
    /// The caches are not filled yet.
    pub const NOT_READY: &str = "NOT_READY";
    /// Something unexpected on this server.
    pub const INTERNAL_ERROR: &str = "INTERNAL_ERROR";
}

/// An error answer of the notebook routes: `{"code", "field", "message"}` with its HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotebookError {
    /// The HTTP status.
    #[serde(skip)]
    pub status: StatusCode,
    /// One of [`codes`].
    pub code: &'static str,
    /// The request field the error is about, when it is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What is wrong, in words.
    pub message: String,
}

impl NotebookError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> NotebookError {
        NotebookError {
            status,
            code,
            field: None,
            message: message.into(),
        }
    }

    fn on(mut self, field: impl Into<String>) -> NotebookError {
        self.field = Some(field.into());
        self
    }

    fn bad_request(field: &str, message: impl Into<String>) -> NotebookError {
        NotebookError::new(StatusCode::BAD_REQUEST, codes::BAD_REQUEST, message).on(field)
    }

    fn not_allowed(message: impl Into<String>) -> NotebookError {
        NotebookError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            codes::NOT_ALLOWED,
            message,
        )
    }

    fn forbidden() -> NotebookError {
        NotebookError::new(
            StatusCode::FORBIDDEN,
            codes::NOT_AUTH,
            "request not authorized: a user's token may only ask for its own user",
        )
    }
}

impl IntoResponse for NotebookError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(&self)).into_response()
    }
}

/// The caller of a notebook route, from `Authorization: Bearer …` through the server's
/// [`Authenticator`](crate::auth::Authenticator): rejected with HTTP 401 `NOT_AUTH` when there is
/// no accepted credential.
#[derive(Debug, Clone)]
pub struct NotebookCaller(pub Arc<Caller>);

impl FromRequestParts<GraphqlService> for NotebookCaller {
    type Rejection = NotebookError;

    async fn from_request_parts(
        parts: &mut Parts,
        service: &GraphqlService,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        service
            .state
            .auth
            .authenticate(header)
            .await
            .map(NotebookCaller)
            .map_err(|e| {
                NotebookError::new(
                    StatusCode::UNAUTHORIZED,
                    codes::NOT_AUTH,
                    e.public_message(),
                )
            })
    }
}

impl NotebookCaller {
    /// The user the request is about: `user_id` for the shared-secret client (required), the
    /// token's user for a user (`user_id`, when given, must be theirs).
    fn user_id(&self, user_id: Option<String>) -> Result<String, NotebookError> {
        match (self.0.identity(), user_id) {
            (None, Some(id)) => Ok(id),
            (None, None) => Err(NotebookError::bad_request(
                "userId",
                "userId is required with the shared secret",
            )),
            (Some(identity), None) => Ok(identity.user_id.clone()),
            (Some(identity), Some(id)) if id == identity.user_id => Ok(id),
            (Some(_), Some(_)) => Err(NotebookError::forbidden()),
        }
    }
}

fn ready(state: &ApiState) -> Result<(), NotebookError> {
    if state.is_ready() {
        Ok(())
    } else {
        Err(NotebookError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            codes::NOT_READY,
            "the resource stores are filling; try again shortly",
        ))
    }
}

fn user_not_found(user_id: &str) -> NotebookError {
    NotebookError::new(
        StatusCode::NOT_FOUND,
        codes::USER_NOT_FOUND,
        format!("User not found: {user_id}"),
    )
    .on("userId")
}

/// A `POST /api/notebook/pod` body, read field by field so that an error names the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodRequest {
    /// `userId`.
    pub user_id: Option<String>,
    /// `group`: the launch group's name.
    pub group: String,
    /// `instanceType`.
    pub instance_type: String,
    /// `image`.
    pub image: String,
    /// `options` (all off when left out).
    pub options: NotebookOptions,
    /// `spawner.podName`.
    pub pod_name: Option<String>,
    /// `spawner.homeVolume`.
    pub home_volume: Option<String>,
    /// `spawner.homeClaim`.
    pub home_claim: Option<String>,
    /// `launchId`.
    pub launch_id: Option<String>,
}

fn string_at(
    object: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<String>, NotebookError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Err(NotebookError::bad_request(
            path,
            format!("{path} must not be empty"),
        )),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(NotebookError::bad_request(
            path,
            format!("{path} must be a string"),
        )),
    }
}

fn required_at(object: &Map<String, Value>, key: &str) -> Result<String, NotebookError> {
    string_at(object, key, key)?
        .ok_or_else(|| NotebookError::bad_request(key, format!("{key} is required")))
}

fn object_at<'a>(
    object: &'a Map<String, Value>,
    key: &str,
) -> Result<Option<&'a Map<String, Value>>, NotebookError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(inner)) => Ok(Some(inner)),
        Some(_) => Err(NotebookError::bad_request(
            key,
            format!("{key} must be an object"),
        )),
    }
}

fn bool_at(object: &Map<String, Value>, key: &str, path: &str) -> Result<bool, NotebookError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(NotebookError::bad_request(
            path,
            format!("{path} must be true or false"),
        )),
    }
}

impl PodRequest {
    /// Reads a body; the error names the first bad field.
    pub fn parse(body: &[u8]) -> Result<PodRequest, NotebookError> {
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            NotebookError::new(
                StatusCode::BAD_REQUEST,
                codes::BAD_REQUEST,
                format!("the body is not JSON: {e}"),
            )
        })?;
        let Value::Object(object) = value else {
            return Err(NotebookError::new(
                StatusCode::BAD_REQUEST,
                codes::BAD_REQUEST,
                "the body must be a JSON object",
            ));
        };
        let options = match object_at(&object, "options")? {
            None => NotebookOptions::default(),
            Some(options) => NotebookOptions {
                safe_mode: bool_at(options, "safeMode", "options.safeMode")?,
                ssh_server: bool_at(options, "sshServer", "options.sshServer")?,
                kernel_gateway: bool_at(options, "kernelGateway", "options.kernelGateway")?,
            },
        };
        let spawner = object_at(&object, "spawner")?;
        let spawner_field = |key: &str| match spawner {
            Some(spawner) => string_at(spawner, key, &format!("spawner.{key}")),
            None => Ok(None),
        };
        Ok(PodRequest {
            user_id: string_at(&object, "userId", "userId")?,
            group: required_at(&object, "group")?,
            instance_type: required_at(&object, "instanceType")?,
            image: required_at(&object, "image")?,
            options,
            pod_name: spawner_field("podName")?,
            home_volume: spawner_field("homeVolume")?,
            home_claim: spawner_field("homeClaim")?,
            launch_id: string_at(&object, "launchId", "launchId")?,
        })
    }
}

/// The request field a builder error is about (the builder names its inputs in snake case).
fn request_field(builder_field: &str) -> Option<&'static str> {
    Some(match builder_field {
        "group" => "group",
        "instance_type" => "instanceType",
        "image" => "image",
        "ssh_server" => "options.sshServer",
        // KubeSpawner's default image is needed by the kernel-gateway option only.
        "kernel_gateway" | "default_image" => "options.kernelGateway",
        "safe_mode" => "options.safeMode",
        "pod_name" => "spawner.podName",
        "home_volume" => "spawner.homeVolume",
        "home_claim" => "spawner.homeClaim",
        _ => return None,
    })
}

fn builder_error(error: primehub_model::Error) -> NotebookError {
    use primehub_model::Error;
    let field = match &error {
        Error::InvalidField { field, .. } | Error::NotFound { field, .. } => request_field(field),
        _ => None,
    };
    if let Some(field @ ("spawner.podName" | "spawner.homeVolume" | "spawner.homeClaim")) = field {
        return NotebookError::bad_request(field, error.to_string());
    }
    let refused = NotebookError::not_allowed(error.to_string());
    match field {
        Some(field) => refused.on(field),
        None => refused,
    }
}

/// The quota check "can never fit": the pod of `parts` charged as the admission webhook charges
/// it, decided against `quotas` with no usage. `Err` with the webhook's message.
pub fn never_fits(
    parts: &NotebookParts,
    spawner: &KubeSpawnerNames,
    namespace: &str,
    quotas: &GroupQuotas,
) -> Result<(), NotebookError> {
    let pod = parts.to_pod(&KubeSpawnerPod {
        name: &spawner.pod_name,
        namespace,
        ..KubeSpawnerPod::default()
    });
    let charge = match PodCharge::of_pod(&pod) {
        Ok(Some(charge)) => charge,
        // Not charged (no group label): nothing the webhook would refuse.
        Ok(None) => return Ok(()),
        Err(e) => return Err(NotebookError::not_allowed(e.to_string()).on("instanceType")),
    };
    let user = charge.user.as_deref().map(|name| TierCheck {
        name,
        quota: quotas.user,
        usage: ResourceAmounts::ZERO,
    });
    let group = TierCheck {
        name: &charge.group,
        quota: quotas.group,
        usage: ResourceAmounts::ZERO,
    };
    quota::decide(&charge.amounts, user.as_ref(), &group).map_err(|exceeded| {
        NotebookError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            codes::QUOTA_NEVER_FITS,
            exceeded.to_string(),
        )
        .on("instanceType")
    })
}

/// The id of the group named `name` among the groups of `user_id` (`""` when the user has no
/// such group: the builder then refuses the group).
fn launch_group_id<'s>(snap: &'s Snapshot, user_id: &str, name: &str) -> &'s str {
    snap.user_group_ids(user_id)
        .iter()
        .find(|id| snap.group(id).is_some_and(|g| g.group.name == name))
        .map_or("", String::as_str)
}

/// Builds the parts for `request` from the snapshot and the stores (what the route answers).
pub fn notebook_parts(
    snap: &Snapshot,
    stores: &ResourceStores,
    state_config: &crate::state::ApiConfig,
    user_id: &str,
    request: &PodRequest,
) -> Result<NotebookParts, NotebookError> {
    let user = snap.user(user_id).ok_or_else(|| user_not_found(user_id))?;
    let username = user.user.username.as_str();
    let defaults = KubeSpawnerNames::default_for(username);
    let spawner = KubeSpawnerNames {
        pod_name: request.pod_name.clone().unwrap_or(defaults.pod_name),
        home_volume: request.home_volume.clone().unwrap_or(defaults.home_volume),
        home_claim: request.home_claim.clone().unwrap_or(defaults.home_claim),
    };
    let launch_id = request
        .launch_id
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let groups = user_groups(snap, user_id);
    let objects = stores.objects();
    let settings = system_settings(snap);
    let time_zone = user
        .attributes
        .timezone
        .as_deref()
        .filter(|tz| !tz.is_empty())
        .or(settings.timezone_name.as_deref());
    let config: &NotebookPodConfig = &state_config.notebook;
    let input = NotebookPodInput {
        user: NotebookUser {
            name: username,
            volume_capacity: user.attributes.volume_capacity,
            time_zone,
        },
        default_user_volume_capacity: settings.default_user_volume_capacity,
        groups: &groups,
        launch_group: &request.group,
        launch_group_id: launch_group_id(snap, user_id, &request.group),
        instance_type: &request.instance_type,
        image: &request.image,
        options: request.options,
        naming: &state_config.naming,
        resources: &objects,
        spawner: &spawner,
        launch_id: &launch_id,
    };
    let parts = build_notebook_parts(&input, config).map_err(builder_error)?;
    let quotas = groups
        .iter()
        .find(|g| g.name == request.group)
        .map(|g| GroupQuotas::of(g.attributes))
        .unwrap_or_default();
    never_fits(&parts, &spawner, &state_config.namespace, &quotas)?;
    Ok(parts)
}

/// `POST /api/notebook/pod`.
pub async fn notebook_pod(
    State(service): State<GraphqlService>,
    caller: NotebookCaller,
    body: Bytes,
) -> Response {
    let answer = async {
        ready(&service.state)?;
        let request = PodRequest::parse(&body)?;
        let user_id = caller.user_id(request.user_id.clone())?;
        let state = &service.state;
        let snap = state.keycloak.snapshot();
        notebook_parts(&snap, &state.stores, &state.config, &user_id, &request)
    };
    match answer.await {
        Ok(parts) => axum::Json(parts).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Query parameters of `GET /api/notebook/groups`.
#[derive(Debug, Clone, Deserialize)]
pub struct GroupsParams {
    /// The user (required with the shared secret).
    #[serde(rename = "userId")]
    pub user_id: Option<String>,
}

/// The launch-context query the groups route runs in process: PrimeHub's
/// `GRAPHQL_LAUNCH_CONTEXT_QUERY`'s user part, with the fields the options form shows.
pub const GROUPS_QUERY: &str = "query ($id: ID!) { user(where: { id: $id }) { id groups { \
    id name displayName quotaCpu quotaGpu quotaMemory projectQuotaCpu projectQuotaGpu \
    projectQuotaMemory \
    instanceTypes { name displayName description spec global } \
    images { name displayName description spec global } } } }";

/// A group's usage as PrimeHub's options form shows it: `{"cpu": <cores, float>, "gpu":
/// <count>, "memory": <GiB rounded to one decimal, half to even>}`, from the exact amounts.
pub fn usage_display(usage: &ResourceAmounts) -> Value {
    const GIB: u128 = 1 << 30;
    let tenths_scaled = u128::from(usage.memory.bytes()) * 10;
    let mut tenths = tenths_scaled / GIB;
    let rest = tenths_scaled % GIB;
    if rest * 2 > GIB || (rest * 2 == GIB && tenths % 2 == 1) {
        tenths += 1;
    }
    // Below 2^53 tenths every value is exact as a float; beyond, the nearest float.
    #[allow(clippy::cast_precision_loss)]
    let memory = tenths as f64 / 10.0;
    #[allow(clippy::cast_precision_loss)]
    let cpu = usage.cpu.millis() as f64 / 1000.0;
    serde_json::json!({"cpu": cpu, "gpu": usage.gpu.count(), "memory": memory})
}

/// The entries of `key` in `groups`, in order, the first of each name kept.
fn merged(groups: &[&Map<String, Value>], key: &str) -> Vec<Value> {
    let mut seen = std::collections::HashSet::new();
    groups
        .iter()
        .filter_map(|g| g.get(key).and_then(Value::as_array))
        .flatten()
        .filter(|entry| {
            let name = entry
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            seen.insert(name.to_owned())
        })
        .cloned()
        .collect()
}

/// The groups route's answer from the launch context's `user.groups` and the usage ledger.
pub fn form_groups(context_groups: &[Value], stores: &ResourceStores) -> Value {
    let everyone: Vec<&Map<String, Value>> = context_groups
        .iter()
        .filter_map(Value::as_object)
        .filter(|g| g.get("name").and_then(Value::as_str) == Some(EVERYONE))
        .collect();
    let groups: Vec<Value> = context_groups
        .iter()
        .filter_map(Value::as_object)
        .filter(|g| g.get("name").and_then(Value::as_str) != Some(EVERYONE))
        .map(|group| {
            let name = group
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let mut sources = vec![group];
            sources.extend(everyone.iter().copied());
            let mut out = group.clone();
            out.insert(
                "instanceTypes".into(),
                Value::Array(merged(&sources, "instanceTypes")),
            );
            out.insert("images".into(), Value::Array(merged(&sources, "images")));
            let display = group.get("displayName").and_then(Value::as_str);
            if display.is_none_or(str::is_empty) {
                out.insert("displayName".into(), Value::String(name.clone()));
            }
            out.insert("usage".into(), usage_display(&stores.group_usage(&name)));
            Value::Object(out)
        })
        .collect();
    serde_json::json!({ "groups": groups })
}

/// `GET /api/notebook/groups?userId=<id>`.
pub async fn notebook_groups(
    State(service): State<GraphqlService>,
    caller: NotebookCaller,
    params: Result<Query<GroupsParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let answer = async {
        ready(&service.state)?;
        let Query(params) = params.map_err(|e| {
            NotebookError::bad_request("userId", format!("bad query parameters: {e}"))
        })?;
        let user_id = caller.user_id(params.user_id.filter(|id| !id.is_empty()))?;
        if service.state.keycloak.snapshot().user(&user_id).is_none() {
            return Err(user_not_found(&user_id));
        }
        let request = async_graphql::Request::new(GROUPS_QUERY).variables(
            async_graphql::Variables::from_json(serde_json::json!({ "id": user_id })),
        );
        let response = service.execute(Arc::new(Caller::Client), request).await;
        let data = response
            .data
            .into_json()
            .ok()
            .filter(|_| response.errors.is_empty());
        let Some(data) = data else {
            tracing::error!(errors = ?response.errors, "the launch-context query failed");
            return Err(NotebookError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                codes::INTERNAL_ERROR,
                "the launch context could not be read",
            ));
        };
        match data["user"]["groups"].as_array() {
            Some(groups) => Ok(form_groups(groups, &service.state.stores)),
            None => Err(user_not_found(&user_id)),
        }
    };
    match answer.await {
        Ok(groups) => axum::Json(groups).into_response(),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use primehub_model::quantity::{Cpu, Gpu, Memory};

    fn amounts(millis: u64, gpus: u64, bytes: u64) -> ResourceAmounts {
        ResourceAmounts {
            cpu: Cpu::from_millis(millis),
            gpu: Gpu::from_count(gpus),
            memory: Memory::from_bytes(bytes),
        }
    }

    #[test]
    fn usage_is_cores_count_and_gib_to_one_decimal_half_to_even() {
        let gib = 1u64 << 30;
        assert_eq!(
            usage_display(&amounts(1500, 1, 2 * gib)),
            serde_json::json!({"cpu": 1.5, "gpu": 1, "memory": 2.0})
        );
        // 2 G (decimal) is 1.8626… GiB.
        assert_eq!(usage_display(&amounts(0, 0, 2_000_000_000))["memory"], 1.9);
        // 0.25 GiB and 0.75 GiB are ties: Python's round gives 0.2 and 0.8.
        assert_eq!(usage_display(&amounts(0, 0, gib / 4))["memory"], 0.2);
        assert_eq!(usage_display(&amounts(0, 0, gib / 4 * 3))["memory"], 0.8);
        assert_eq!(usage_display(&amounts(0, 0, 0))["memory"], 0.0);
        assert_eq!(usage_display(&amounts(0, 0, 0))["cpu"], 0.0);
    }

    #[test]
    fn bodies_are_read_field_by_field() {
        let ok = PodRequest::parse(
            br#"{"userId": "u", "group": "g", "instanceType": "it", "image": "img",
                "options": {"sshServer": true}, "spawner": {"podName": "p"}}"#,
        )
        .expect("a request");
        assert_eq!(ok.group, "g");
        assert!(ok.options.ssh_server && !ok.options.safe_mode);
        assert_eq!(ok.pod_name.as_deref(), Some("p"));
        assert_eq!(ok.home_claim, None);
        let field = |body: &[u8]| PodRequest::parse(body).unwrap_err().field;
        assert_eq!(
            field(br#"{"group": "g", "image": "i"}"#).as_deref(),
            Some("instanceType")
        );
        assert_eq!(
            field(br#"{"group": "g", "instanceType": 1, "image": "i"}"#).as_deref(),
            Some("instanceType")
        );
        assert_eq!(
            field(br#"{"group": "g", "instanceType": "t", "image": "i", "options": {"safeMode": "yes"}}"#)
                .as_deref(),
            Some("options.safeMode")
        );
        assert_eq!(
            field(br#"{"group": "g", "instanceType": "t", "image": "i", "spawner": {"homeClaim": ""}}"#)
                .as_deref(),
            Some("spawner.homeClaim")
        );
        assert_eq!(field(b"[1]"), None);
        assert_eq!(field(b"not json"), None);
    }
}
