//! The Kubernetes API face of the fake cluster over HTTP (axum).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use futures::StreamExt;
use serde_json::{Value, json};

use super::logs::LogAnswer;
use super::{Change, FakeCluster, ServedKind, UNKNOWN_RESOURCE, fields};
use crate::api::{DeleteOptions, ListOptions, LogOptions, PatchBody, Propagation};
use crate::error::KubeError;

/// The Kubernetes version the fake claims to be.
const MINOR: &str = "37";

pub(crate) fn router(cluster: FakeCluster) -> Router {
    Router::new()
        .route("/version", get(version))
        .route("/openapi/v2", get(openapi_v2))
        .route("/openapi/v3", get(openapi_v3_index))
        .route("/openapi/v3/{*gv}", get(openapi_v3))
        .route("/api", any(handle))
        .route("/api/{*rest}", any(handle))
        .route("/apis", any(handle))
        .route("/apis/{*rest}", any(handle))
        .with_state(cluster)
}

async fn version() -> Response {
    json_response(
        StatusCode::OK,
        &json!({
            "major": "1",
            "minor": MINOR,
            "gitVersion": format!("v1.{MINOR}.0-primehub-fake"),
            "gitCommit": "",
            "gitTreeState": "clean",
            "buildDate": "1970-01-01T00:00:00Z",
            "goVersion": "none",
            "compiler": "rust",
            "platform": "any",
        }),
    )
}

/// `GET /openapi/v2`: the built-in kinds' swagger document with the custom resources.
async fn openapi_v2(State(cluster): State<FakeCluster>) -> Response {
    json_response(StatusCode::OK, &cluster.openapi().v2)
}

/// `GET /openapi/v3`: the group-versions with a v3 document, as kube-apiserver lists them
/// (the `hash` changes with the document: kubectl caches by it).
async fn openapi_v3_index(State(cluster): State<FakeCluster>) -> Response {
    let docs = cluster.openapi();
    let paths: serde_json::Map<String, Value> = docs
        .v3
        .iter()
        .map(|(gv, (_, hash))| {
            (
                gv.clone(),
                json!({"serverRelativeURL": format!("/openapi/v3/{gv}?hash={hash}")}),
            )
        })
        .collect();
    json_response(StatusCode::OK, &json!({"paths": paths}))
}

/// `GET /openapi/v3/<group-version path>`: one group-version's v3 document.
async fn openapi_v3(
    State(cluster): State<FakeCluster>,
    axum::extract::Path(gv): axum::extract::Path<String>,
) -> Response {
    match cluster.openapi().v3.get(gv.trim_end_matches('/')) {
        Some((doc, _)) => json_response(StatusCode::OK, doc),
        None => not_found(),
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// What an error is about, for `details` in the Status.
#[derive(Default)]
struct Details {
    name: Option<String>,
    group: String,
    kind: String,
}

fn status_body(error: &KubeError, details: &Details) -> (StatusCode, Value) {
    let (reason, message) = match error {
        KubeError::NotFound { what } if what == UNKNOWN_RESOURCE => ("NotFound", what.clone()),
        KubeError::NotFound { what } => ("NotFound", format!("{what} not found")),
        KubeError::AlreadyExists { what } => ("AlreadyExists", format!("{what} already exists")),
        KubeError::Conflict { message, .. } => ("Conflict", message.clone()),
        KubeError::Invalid { message, .. } => ("Invalid", message.clone()),
        KubeError::Forbidden { message } => ("Forbidden", message.clone()),
        KubeError::Gone { message } => ("Expired", message.clone()),
        KubeError::BadRequest { message } => ("BadRequest", message.clone()),
        KubeError::Transport { message } => ("ServiceUnavailable", message.clone()),
        KubeError::Config { message, .. } => ("InternalError", message.clone()),
        KubeError::Unexpected { status, message } => (
            match status {
                405 => "MethodNotAllowed",
                415 => "UnsupportedMediaType",
                _ => "",
            },
            message.clone(),
        ),
    };
    let code = error.status_code();
    let mut d = serde_json::Map::new();
    if let Some(name) = &details.name {
        d.insert("name".into(), json!(name));
    }
    if !details.group.is_empty() {
        d.insert("group".into(), json!(details.group));
    }
    if !details.kind.is_empty() {
        d.insert("kind".into(), json!(details.kind));
    }
    if let KubeError::Invalid { causes, .. } = error
        && !causes.is_empty()
    {
        d.insert(
            "causes".into(),
            json!(
                causes
                    .iter()
                    .map(|c| json!({"field": c.field, "reason": c.reason, "message": c.message}))
                    .collect::<Vec<_>>()
            ),
        );
    }
    let mut body = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    });
    if !d.is_empty() {
        body["details"] = Value::Object(d);
    }
    (
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        body,
    )
}

fn error_response(error: &KubeError, details: &Details) -> Response {
    let (status, body) = status_body(error, details);
    json_response(status, &body)
}

fn not_found() -> Response {
    error_response(
        &KubeError::NotFound {
            what: UNKNOWN_RESOURCE.into(),
        },
        &Details::default(),
    )
}

fn method_not_allowed(method: &Method) -> Response {
    error_response(
        &KubeError::Unexpected {
            status: 405,
            message: format!(
                "the server does not allow this method on the requested resource ({method})"
            ),
        },
        &Details::default(),
    )
}

async fn handle(
    State(cluster): State<FakeCluster>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let segments: Vec<&str> = uri.path().split('/').filter(|s| !s.is_empty()).collect();
    let (group, version, rest) = match segments.as_slice() {
        ["api"] => return discovery_versions(&method, &headers),
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis"] => return discovery_groups(&cluster, &method),
        ["apis", group] => return discovery_group(&cluster, &method, group),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return not_found(),
    };
    if rest.is_empty() {
        return discovery_resources(&cluster, &method, group, version);
    }
    let (namespace, plural, tail) = match rest {
        ["namespaces", ns, plural, tail @ ..] if !matches!(*plural, "status" | "finalize") => {
            (Some(*ns), *plural, tail)
        }
        [plural, tail @ ..] => (None, *plural, tail),
        [] => return not_found(),
    };
    let Some(sk) = cluster.find_kind(group, version, plural) else {
        return not_found();
    };
    if namespace.is_some() && !sk.kind.namespaced {
        return not_found();
    }
    let request = Request {
        cluster: &cluster,
        sk: &sk,
        namespace,
        query: &query,
        headers: &headers,
        body: &body,
    };
    match tail {
        [] => request.collection(&method).await,
        [name] => request.item(&method, name, false).await,
        [name, "status"] if sk.status_subresource => request.item(&method, name, true).await,
        [name, "log"] if sk.kind.group.is_empty() && sk.kind.plural == "pods" => {
            match (&method, namespace) {
                (&Method::GET, Some(ns)) => request.log(ns, name),
                (_, Some(_)) => method_not_allowed(&method),
                (_, None) => not_found(),
            }
        }
        _ => not_found(),
    }
}

struct Request<'a> {
    cluster: &'a FakeCluster,
    sk: &'a ServedKind,
    namespace: Option<&'a str>,
    query: &'a HashMap<String, String>,
    headers: &'a HeaderMap,
    body: &'a Bytes,
}

fn flag(query: &HashMap<String, String>, key: &str) -> bool {
    query
        .get(key)
        .is_some_and(|v| matches!(v.as_str(), "true" | "1"))
}

fn bad_request(message: String) -> KubeError {
    KubeError::BadRequest { message }
}

impl Request<'_> {
    fn details(&self, name: Option<&str>) -> Details {
        Details {
            name: name.map(str::to_owned),
            group: self.sk.kind.group.clone(),
            kind: self.sk.kind.plural.clone(),
        }
    }

    fn fail(&self, error: &KubeError, name: Option<&str>) -> Response {
        let mut details = self.details(name);
        match error {
            // kube-apiserver's BadRequest Status has no details.
            KubeError::BadRequest { .. } => details = Details::default(),
            // An Invalid Status names the kind (not the resource).
            KubeError::Invalid { message, .. } => {
                details.kind = self.sk.kind.kind.clone();
                let sent = message.split_once('.').map(|(k, _)| k.to_owned());
                if let Some(options) = sent
                    .as_ref()
                    .filter(|_| message.contains(".meta.k8s.io \"\" is invalid: fieldValidation"))
                {
                    details = Details {
                        name: None,
                        group: "meta.k8s.io".into(),
                        kind: options.clone(),
                    };
                } else if let Some(sent) = sent
                    && message.contains(" is invalid: kind: Invalid value")
                {
                    // A wrong kind in a custom resource's body is named as sent.
                    details.kind = sent;
                }
            }
            _ => {}
        }
        error_response(error, &details)
    }

    /// `metadata.name` of the request body, for the details of an error on a create.
    fn body_name(&self) -> Option<String> {
        let body: Value = serde_json::from_slice(self.body).ok()?;
        body.pointer("/metadata/name")?.as_str().map(str::to_owned)
    }

    /// The `fieldValidation` directive of a write (`options`: `CreateOptions`, …).
    fn field_check(&self, options: &str) -> Result<fields::FieldCheck, KubeError> {
        Ok(fields::FieldCheck {
            mode: fields::Mode::parse(
                self.query.get("fieldValidation").map(String::as_str),
                options,
            )?,
            fields: Vec::new(),
            http: true,
        })
    }

    /// The JSON body of a create or replace with its field paths (for duplicate fields).
    fn checked_body(&self, options: &str) -> Result<(Value, fields::FieldCheck), KubeError> {
        let mut check = self.field_check(options)?;
        let (body, paths) = fields::decode(self.body)
            .map_err(|e| bad_request(format!("the request body is not valid JSON: {e}")))?;
        check.fields = paths;
        Ok((body, check))
    }

    fn list_options(&self) -> Result<ListOptions, KubeError> {
        let limit = match self.query.get("limit") {
            Some(l) if !l.is_empty() => Some(
                l.parse::<u32>()
                    .map_err(|_| bad_request(format!("invalid limit {l:?}")))?,
            ),
            _ => None,
        };
        Ok(ListOptions {
            label_selector: self.query.get("labelSelector").cloned(),
            field_selector: self.query.get("fieldSelector").cloned(),
            limit,
            continue_token: self.query.get("continue").cloned(),
        })
    }

    fn reject_dry_run(&self) -> Result<(), KubeError> {
        if self.query.get("dryRun").is_some_and(|v| !v.is_empty()) {
            return Err(bad_request(
                "dryRun is not supported by the fake cluster".into(),
            ));
        }
        Ok(())
    }

    fn json_body(&self) -> Result<Value, KubeError> {
        serde_json::from_slice(self.body)
            .map_err(|e| bad_request(format!("the request body is not valid JSON: {e}")))
    }

    async fn collection(&self, method: &Method) -> Response {
        match *method {
            Method::GET => {
                if flag(self.query, "watch") {
                    return self.watch();
                }
                match self.list() {
                    Ok(body) => json_response(StatusCode::OK, &body),
                    Err(e) => self.fail(&e, None),
                }
            }
            Method::POST => {
                if self.sk.kind.namespaced && self.namespace.is_none() {
                    return method_not_allowed(method);
                }
                let result = match self
                    .reject_dry_run()
                    .and_then(|()| self.checked_body("CreateOptions"))
                {
                    Ok((body, check)) => {
                        self.cluster
                            .create_value_with(self.sk, self.namespace, body, &check)
                            .await
                    }
                    Err(e) => Err(e),
                };
                match result {
                    Ok((created, warnings)) => {
                        with_warnings(json_response(StatusCode::CREATED, &created), &warnings)
                    }
                    Err(e) => self.fail(&e, self.body_name().as_deref()),
                }
            }
            // As kube-apiserver: no deletecollection across all namespaces.
            Method::DELETE if self.sk.kind.namespaced && self.namespace.is_none() => {
                method_not_allowed(method)
            }
            Method::DELETE => match self.delete_collection() {
                Ok(body) => json_response(StatusCode::OK, &body),
                Err(e) => self.fail(&e, None),
            },
            _ => method_not_allowed(method),
        }
    }

    fn list(&self) -> Result<Value, KubeError> {
        let options = self.list_options()?;
        let (items, rv, more) = self
            .cluster
            .list_values(self.sk, self.namespace, &options)?;
        let mut metadata = json!({"resourceVersion": rv});
        if let Some(token) = more {
            metadata["continue"] = json!(token);
        }
        Ok(json!({
            "kind": format!("{}List", self.sk.kind.kind),
            "apiVersion": self.sk.kind.api_version(),
            "metadata": metadata,
            "items": items,
        }))
    }

    fn delete_options(&self) -> Result<DeleteOptions, KubeError> {
        let body: Value = if self.body.is_empty() {
            Value::Null
        } else {
            self.json_body()?
        };
        let policy = body
            .get("propagationPolicy")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| self.query.get("propagationPolicy").cloned());
        let propagation = match policy.as_deref() {
            None | Some("") => {
                if body.get("orphanDependents").and_then(Value::as_bool) == Some(true) {
                    Some(Propagation::Orphan)
                } else {
                    None
                }
            }
            Some("Background") => Some(Propagation::Background),
            Some("Foreground") => Some(Propagation::Foreground),
            Some("Orphan") => Some(Propagation::Orphan),
            Some(other) => {
                return Err(bad_request(format!(
                    "propagationPolicy {other:?} is not one of Background, Foreground, Orphan"
                )));
            }
        };
        let pre = body.get("preconditions");
        let pre_str = |k: &str| {
            pre.and_then(|p| p.get(k))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        Ok(DeleteOptions {
            propagation,
            precondition_uid: pre_str("uid"),
            precondition_resource_version: pre_str("resourceVersion"),
            grace_period_seconds: body
                .get("gracePeriodSeconds")
                .and_then(Value::as_u64)
                .and_then(|g| u32::try_from(g).ok()),
        })
    }

    fn delete_collection(&self) -> Result<Value, KubeError> {
        self.reject_dry_run()?;
        let options = self.delete_options()?;
        let deleted = self.cluster.delete_collection_values(
            self.sk,
            self.namespace,
            &self.list_options()?,
            &options,
        )?;
        Ok(json!({
            "kind": format!("{}List", self.sk.kind.kind),
            "apiVersion": self.sk.kind.api_version(),
            "metadata": {"resourceVersion": self.cluster.resource_version()},
            "items": deleted,
        }))
    }

    fn watch(&self) -> Response {
        let options = match self.list_options() {
            Ok(o) => o,
            Err(e) => return self.fail(&e, None),
        };
        let from = self
            .query
            .get("resourceVersion")
            .map(String::as_str)
            .unwrap_or("");
        let timeout = match self.query.get("timeoutSeconds") {
            Some(t) if !t.is_empty() => match t.parse::<u64>() {
                Ok(t) => Duration::from_secs(t),
                Err(_) => {
                    return self.fail(&bad_request(format!("invalid timeoutSeconds {t:?}")), None);
                }
            },
            _ => Duration::from_secs(1800),
        };
        let rx = match self
            .cluster
            .watch_raw(self.sk, self.namespace, &options, from)
        {
            Ok(rx) => rx,
            Err(e @ KubeError::Gone { .. }) => {
                // As kube-apiserver does: a 200 with one ERROR event carrying the 410 Status.
                let (_, status) = status_body(&e, &Details::default());
                let line = format!("{}\n", json!({"type": "ERROR", "object": status}));
                return watch_response(Body::from(line));
            }
            Err(e) => return self.fail(&e, None),
        };
        let events = futures::stream::unfold(rx, |mut rx| async move {
            let raw = rx.recv().await?;
            let line = format!(
                "{}\n",
                json!({"type": raw.type_.as_str(), "object": raw.object})
            );
            Some((Ok::<_, std::convert::Infallible>(Bytes::from(line)), rx))
        })
        .take_until(tokio::time::sleep(timeout));
        watch_response(Body::from_stream(events))
    }

    async fn item(&self, method: &Method, name: &str, status: bool) -> Response {
        if matches!(*method, Method::PUT | Method::PATCH) {
            return self.write(method, name, status).await;
        }
        let result = match *method {
            Method::GET => self.cluster.get_value(self.sk, self.namespace, name),
            Method::DELETE if !status => {
                match self.reject_dry_run().and_then(|()| self.delete_options()) {
                    Ok(options) => {
                        self.cluster
                            .delete_value(self.sk, self.namespace, name, &options)
                    }
                    Err(e) => Err(e),
                }
            }
            _ => return method_not_allowed(method),
        };
        match result {
            Ok(object) => json_response(StatusCode::OK, &object),
            Err(e) => self.fail(&e, Some(name)),
        }
    }

    /// PUT or PATCH of an object (or its status), with `fieldValidation`.
    async fn write(&self, method: &Method, name: &str, status: bool) -> Response {
        let written = if *method == Method::PUT {
            match self
                .reject_dry_run()
                .and_then(|()| self.checked_body("UpdateOptions"))
            {
                Ok((body, check)) => {
                    let change = Change::Replace(body);
                    self.cluster
                        .update_value_with(self.sk, self.namespace, name, change, status, &check)
                        .await
                }
                Err(e) => Err(e),
            }
        } else {
            match self
                .reject_dry_run()
                .and_then(|()| Ok((self.patch_body()?, self.field_check("PatchOptions")?)))
            {
                Ok((patch, check)) => {
                    let change = Change::Patch(patch);
                    self.cluster
                        .update_value_with(self.sk, self.namespace, name, change, status, &check)
                        .await
                }
                Err(e) => Err(e),
            }
        };
        match written {
            Ok((object, warnings)) => {
                with_warnings(json_response(StatusCode::OK, &object), &warnings)
            }
            Err(e) if fields::is_patch_failure(&e) => error_response(&e, &Details::default()),
            Err(e) => self.fail(&e, Some(name)),
        }
    }

    /// `GET …/pods/<name>/log`: query parsing as kube-apiserver does it (a malformed number is
    /// a 400 with Go's parse message), then [`FakeCluster::read_log`]; 204 when no kubelet
    /// serves the pod, else the lines as `text/plain`, streamed with `follow`.
    fn log(&self, namespace: &str, name: &str) -> Response {
        let options = match self.log_options() {
            Ok(o) => o,
            Err(e) => return self.fail(&e, Some(name)),
        };
        match self.cluster.read_log(namespace, name, &options) {
            Ok(LogAnswer::NoContent) => StatusCode::NO_CONTENT.into_response(),
            Ok(LogAnswer::Lines(lines)) => {
                let body = lines.map(|line| match line {
                    Ok(text) => Ok(Bytes::from(format!("{text}\n"))),
                    Err(e) => Err(std::io::Error::other(e.to_string())),
                });
                (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "text/plain")],
                    Body::from_stream(body),
                )
                    .into_response()
            }
            Err(e @ KubeError::Invalid { .. }) => error_response(
                &e,
                &Details {
                    name: Some(name.to_owned()),
                    group: String::new(),
                    kind: "PodLogOptions".into(),
                },
            ),
            Err(e) => self.fail(&e, Some(name)),
        }
    }

    fn log_options(&self) -> Result<LogOptions, KubeError> {
        let int = |key: &str| -> Result<Option<i64>, KubeError> {
            match self.query.get(key) {
                None => Ok(None),
                Some(v) => v.parse::<i64>().map(Some).map_err(|_| {
                    bad_request(format!("strconv.ParseInt: parsing {v:?}: invalid syntax"))
                }),
            }
        };
        let since_time = match self.query.get("sinceTime") {
            None => None,
            Some(v) => Some(v.parse::<jiff::Timestamp>().map_err(|_| {
                bad_request(format!(
                    "parsing time {v:?} as \"2006-01-02T15:04:05Z07:00\": cannot parse {v:?} as \"2006\""
                ))
            })?),
        };
        Ok(LogOptions {
            container: self
                .query
                .get("container")
                .filter(|c| !c.is_empty())
                .cloned(),
            follow: flag(self.query, "follow"),
            tail_lines: int("tailLines")?,
            since_seconds: int("sinceSeconds")?,
            since_time,
            timestamps: flag(self.query, "timestamps"),
        })
    }

    fn patch_body(&self) -> Result<PatchBody, KubeError> {
        let content_type = self
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match content_type.as_str() {
            "application/merge-patch+json" | "application/strategic-merge-patch+json" => {
                Ok(PatchBody::Merge(self.json_body()?))
            }
            "application/json-patch+json" => serde_json::from_slice(self.body)
                .map(PatchBody::Json)
                .map_err(|e| bad_request(format!("the JSON patch is invalid: {e}"))),
            "application/apply-patch+yaml" | "application/apply-patch+cbor" => {
                Err(KubeError::Unexpected {
                    status: 415,
                    message: "server-side apply is not supported by the fake cluster; use a merge or JSON patch".into(),
                })
            }
            other => Err(KubeError::Unexpected {
                status: 415,
                message: format!(
                    "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got {other:?})"
                ),
            }),
        }
    }
}

/// Adds one `Warning: 299 - "<text>"` header per warning, as kube-apiserver does.
fn with_warnings(mut response: Response, warnings: &[String]) -> Response {
    for w in warnings {
        let text = format!("299 - {}", serde_json::to_string(w).unwrap_or_default());
        if let Ok(value) = header::HeaderValue::from_str(&text) {
            response.headers_mut().append(header::WARNING, value);
        }
    }
    response
}

fn watch_response(body: Body) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-cache, private"),
        ],
        body,
    )
        .into_response()
}

fn only_get(method: &Method) -> Option<Response> {
    (*method != Method::GET).then(|| method_not_allowed(method))
}

fn discovery_versions(method: &Method, headers: &HeaderMap) -> Response {
    if let Some(r) = only_get(method) {
        return r;
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    json_response(
        StatusCode::OK,
        &json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}],
        }),
    )
}

/// group → versions (sorted).
fn groups(cluster: &FakeCluster) -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for sk in cluster.served_kinds() {
        if sk.kind.group.is_empty() {
            continue;
        }
        let versions = map.entry(sk.kind.group.clone()).or_default();
        if !versions.contains(&sk.kind.version) {
            versions.push(sk.kind.version.clone());
        }
    }
    map
}

fn group_json(group: &str, versions: &[String]) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
        .collect();
    json!({
        "name": group,
        "preferredVersion": versions.first().cloned().unwrap_or(Value::Null),
        "versions": versions,
    })
}

fn discovery_groups(cluster: &FakeCluster, method: &Method) -> Response {
    if let Some(r) = only_get(method) {
        return r;
    }
    let groups: Vec<Value> = groups(cluster)
        .iter()
        .map(|(g, v)| group_json(g, v))
        .collect();
    json_response(
        StatusCode::OK,
        &json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}),
    )
}

fn discovery_group(cluster: &FakeCluster, method: &Method, group: &str) -> Response {
    if let Some(r) = only_get(method) {
        return r;
    }
    match groups(cluster).get(group) {
        Some(versions) => {
            let mut body = group_json(group, versions);
            body["kind"] = json!("APIGroup");
            body["apiVersion"] = json!("v1");
            json_response(StatusCode::OK, &body)
        }
        None => not_found(),
    }
}

fn discovery_resources(
    cluster: &FakeCluster,
    method: &Method,
    group: &str,
    version: &str,
) -> Response {
    if let Some(r) = only_get(method) {
        return r;
    }
    let mut resources = Vec::new();
    for sk in cluster.served_kinds() {
        if sk.kind.group != group || sk.kind.version != version {
            continue;
        }
        resources.push(json!({
            "name": sk.kind.plural,
            "singularName": sk.singular,
            "namespaced": sk.kind.namespaced,
            "kind": sk.kind.kind,
            "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
        }));
        if sk.status_subresource {
            resources.push(json!({
                "name": format!("{}/status", sk.kind.plural),
                "singularName": "",
                "namespaced": sk.kind.namespaced,
                "kind": sk.kind.kind,
                "verbs": ["get", "patch", "update"],
            }));
        }
    }
    if resources.is_empty() {
        return not_found();
    }
    let group_version = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    json_response(
        StatusCode::OK,
        &json!({
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": group_version,
            "resources": resources,
        }),
    )
}
