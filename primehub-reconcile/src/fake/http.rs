//! The Kubernetes API face of the fake cluster over HTTP (axum).

use std::collections::HashMap;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use futures::StreamExt;
use serde_json::{Value, json};

use super::bodies;
use super::logs::LogAnswer;
use super::scale;
use super::table::TableRequest;
use super::{Change, FakeCluster, ServedKind, UNKNOWN_RESOURCE, discovery, fields, table};
use crate::api::{DeleteOptions, ListOptions, LogOptions, PatchBody, Propagation};
use crate::error::KubeError;

/// The Kubernetes version the fake claims to be.
const MINOR: &str = "37";

pub(crate) fn router(cluster: FakeCluster) -> Router {
    Router::new()
        .route("/version", any(version))
        .route("/version/", any(version))
        .route("/openapi/v2", get(openapi_v2))
        .route("/openapi/v3", get(openapi_v3_index))
        .route("/openapi/v3/{*gv}", get(openapi_v3))
        .route("/api", any(handle))
        .route("/api/", any(handle))
        .route("/api/{*rest}", any(handle))
        .route("/apis", any(handle))
        .route("/apis/", any(handle))
        .route("/apis/{*rest}", any(handle))
        .fallback(|| async { page_not_found() })
        .with_state(cluster)
}

async fn version(method: Method) -> Response {
    if let Some(r) = only_get(&method) {
        return r;
    }
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
                406 => "NotAcceptable",
                413 => "RequestEntityTooLarge",
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
    // kube-apiserver leaves out the empty reason and the details of an unclassified error
    // (a 500 from a strategic merge patch).
    if reason.is_empty()
        && let Some(o) = body.as_object_mut()
    {
        o.remove("reason");
        o.remove("details");
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

/// kube-apiserver's 404 for a path in one of its own groups that names nothing.
fn not_found() -> Response {
    generic_failure(&KubeError::NotFound {
        what: UNKNOWN_RESOURCE.into(),
    })
}

/// kube-apiserver's 405 (the same message whatever the method).
fn method_not_allowed(_method: &Method) -> Response {
    generic_failure(&KubeError::Unexpected {
        status: 405,
        message: "the server does not allow this method on the requested resource".into(),
    })
}

/// A Status about no object: kube-apiserver then sends empty `details`.
fn generic_failure(error: &KubeError) -> Response {
    let (status, mut body) = status_body(error, &Details::default());
    body["details"] = json!({});
    json_response(status, &body)
}

/// Go's `http.NotFound`: what kube-apiserver answers for a path outside its own groups
/// (an unknown group, a CRD group's unknown version or resource, an unknown root path).
fn page_not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        "404 page not found\n",
    )
        .into_response()
}

/// The 404 of a path under `group`: JSON in kube-apiserver's own groups, else plain text.
fn not_found_in(group: &str) -> Response {
    if discovery::is_builtin_group(group) {
        not_found()
    } else {
        page_not_found()
    }
}

/// Every `/api` and `/apis` request: answered by [`serve`], then written as YAML when the
/// request's `Accept` asks for it (errors too, as kube-apiserver does; a watch has no YAML
/// form: 406).
async fn handle(
    state: State<FakeCluster>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    query: Query<HashMap<String, String>>,
    body: Body,
) -> Response {
    if bodies::representation(&headers) != Ok(bodies::Representation::Yaml) {
        return serve(state, method, uri, headers, query, body).await;
    }
    if flag(&query.0, "watch") {
        let refused = KubeError::Unexpected {
            status: 406,
            message: "only the following media types are accepted: application/json;stream=watch"
                .into(),
        };
        let (status, body) = status_body(&refused, &Details::default());
        return as_yaml(json_response(status, &body)).await;
    }
    as_yaml(serve(state, method, uri, headers, query, body).await).await
}

/// A JSON response rewritten as `application/yaml` (keys sorted, as kube-apiserver's YAML);
/// any other response unchanged.
async fn as_yaml(response: Response) -> Response {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => {
            return generic_failure(&KubeError::Unexpected {
                status: 500,
                message: format!("cannot read the response to write it as YAML: {e}"),
            });
        }
    };
    let Ok(value) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let yaml = super::yaml::to_string(&value);
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/yaml"),
    );
    Response::from_parts(parts, Body::from(yaml))
}

async fn serve(
    State(cluster): State<FakeCluster>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    body: Body,
) -> Response {
    // As kube-apiserver: trailing slashes are ignored, an empty segment elsewhere is kept
    // (`namespaces//configmaps` lists across namespaces; `/api//v1` names nothing).
    let path = uri.path().trim_end_matches('/');
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let (group, version, rest) = match segments.as_slice() {
        ["api"] => return discovery_versions(&cluster, &method, &headers),
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis"] => return discovery_groups(&cluster, &headers),
        ["apis", group] => return discovery_group(&cluster, group),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return page_not_found(),
    };
    if !discovery::serves_group(&cluster, group) {
        return not_found_in(group);
    }
    if rest.is_empty() {
        return discovery_resources(&cluster, &method, group, version);
    }
    let (namespace, plural, tail) = match rest {
        ["namespaces", ns, plural, tail @ ..] if !matches!(*plural, "status" | "finalize") => {
            (Some(*ns).filter(|n| !n.is_empty()), *plural, tail)
        }
        [plural, tail @ ..] => (None, *plural, tail),
        [] => return not_found_in(group),
    };
    let Some(sk) = cluster.find_kind(group, version, plural) else {
        return not_found_in(group);
    };
    if namespace.is_some() && !sk.kind.namespaced {
        return not_found();
    }
    // Every `dryRun` value (the map above keeps one per key).
    let dry_run: Vec<String> = Query::<Vec<(String, String)>>::try_from_uri(&uri)
        .map(|Query(pairs)| {
            pairs
                .into_iter()
                .filter(|(k, _)| k == "dryRun")
                .map(|(_, v)| v)
                .collect()
        })
        .unwrap_or_default();
    // Media types and the body size limit, in kube-apiserver's order (see `bodies`).
    let checked = bodies::check_accept(&headers).and_then(|()| match method {
        Method::POST => bodies::check_content_type(&headers, &sk),
        _ => Ok(()),
    });
    let body = match checked {
        Ok(()) => bodies::read(body).await,
        Err(e) => Err(e),
    };
    let body = match body {
        Ok(body) => body,
        Err(e) => return error_response(&e, &Details::default()),
    };
    let request = Request {
        cluster: &cluster,
        sk: &sk,
        namespace,
        query: &query,
        dry_run: &dry_run,
        headers: &headers,
        body: &body,
    };
    match tail {
        [] => request.collection(&method).await,
        [name] => request.item(&method, name, false).await,
        [name, "status"] if sk.status_subresource => request.item(&method, name, true).await,
        [name, "scale"] if scale::served(&sk) => request.scale(&method, name).await,
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
    dry_run: &'a [String],
    headers: &'a HeaderMap,
    body: &'a Bytes,
}

/// A boolean query parameter as kube-apiserver converts it (apimachinery's
/// `Convert_Slice_string_To_bool`): present and neither `0` nor `false` in any case, so `True`
/// (kubernetes_asyncio, which KubeSpawner uses), `yes` and an empty value are all true.
fn flag(query: &HashMap<String, String>, key: &str) -> bool {
    query
        .get(key)
        .is_some_and(|v| v != "0" && !v.eq_ignore_ascii_case("false"))
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
            dry_run: false,
        })
    }

    /// The object of a create or update (decoded by its `Content-Type`, see `bodies`) and how
    /// its fields are checked; the field paths (for duplicates) are read from JSON bodies.
    fn checked_body(
        &self,
        options: &str,
        dry_run: bool,
    ) -> Result<(Value, fields::FieldCheck), KubeError> {
        let mut check = self.field_check(options)?;
        check.dry_run = dry_run;
        let body = self.object_body()?;
        if let Ok((_, paths)) = fields::decode(self.body) {
            check.fields = paths;
        }
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

    /// Whether the write is a dry run (`dryRun=All`); any other value is refused as
    /// kube-apiserver refuses it, naming the `options` kind (`CreateOptions`, …).
    ///
    /// A delete with a body takes its `DeleteOptions` (and `dryRun`) from the body alone, as
    /// kube-apiserver does (kube-rs sends `dryRun` only there).
    fn dry_run(&self, options: &str) -> Result<bool, Box<Response>> {
        let from_body: Vec<String>;
        let values = if options == "DeleteOptions" && !self.body.is_empty() {
            from_body = bodies::delete_options(self.headers, self.body, self.sk)
                .ok()
                .and_then(|b| b.get("dryRun").and_then(Value::as_array).cloned())
                .unwrap_or_default()
                .iter()
                .map(|v| v.as_str().unwrap_or_default().to_owned())
                .collect();
            &from_body[..]
        } else {
            self.dry_run
        };
        if values.is_empty() {
            return Ok(false);
        }
        if values.iter().all(|v| v == "All") {
            return Ok(true);
        }
        let values = serde_json::to_string(values).unwrap_or_default();
        let detail = format!("Unsupported value: {values}: supported values: \"All\"");
        let error = KubeError::Invalid {
            message: format!("{options}.meta.k8s.io \"\" is invalid: dryRun: {detail}"),
            causes: vec![crate::error::InvalidCause {
                field: "dryRun".into(),
                reason: "FieldValueNotSupported".into(),
                message: detail,
            }],
        };
        Err(Box::new(error_response(
            &error,
            &Details {
                name: None,
                group: "meta.k8s.io".into(),
                kind: options.into(),
            },
        )))
    }

    fn json_body(&self) -> Result<Value, KubeError> {
        serde_json::from_slice(self.body)
            .map_err(|e| bad_request(format!("the request body is not valid JSON: {e}")))
    }

    /// The object of a create or update, decoded by its `Content-Type` (see `bodies`).
    fn object_body(&self) -> Result<Value, KubeError> {
        bodies::object(self.headers, self.body, self.sk)
    }

    async fn collection(&self, method: &Method) -> Response {
        match *method {
            Method::GET => {
                let table = match self.table_request() {
                    Ok(t) => t,
                    Err(e) => return self.fail(&e, None),
                };
                if flag(self.query, "watch") {
                    return self.watch(table);
                }
                match self.list() {
                    Ok(body) => match table {
                        Some(t) => json_response(StatusCode::OK, &self.list_table(t, &body)),
                        None => json_response(StatusCode::OK, &self.without_item_types(body)),
                    },
                    Err(e) => self.fail(&e, None),
                }
            }
            Method::POST => {
                if self.sk.kind.namespaced && self.namespace.is_none() {
                    return method_not_allowed(method);
                }
                let dry_run = match self.dry_run("CreateOptions") {
                    Ok(d) => d,
                    Err(response) => return *response,
                };
                let result = match self.checked_body("CreateOptions", dry_run) {
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
            // As kube-apiserver: no deletecollection across all namespaces, nor of namespaces.
            Method::DELETE
                if (self.sk.kind.namespaced && self.namespace.is_none())
                    || !discovery::verbs(self.sk).contains(&"deletecollection") =>
            {
                method_not_allowed(method)
            }
            Method::DELETE => match self.dry_run("DeleteOptions") {
                Err(response) => *response,
                Ok(dry_run) => match self.delete_collection(dry_run) {
                    Ok(body) => json_response(StatusCode::OK, &self.without_item_types(body)),
                    Err(e) => self.fail(&e, None),
                },
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
        if let Some(next) = more {
            // As kube-apiserver: how many items follow this page, when no selector filters
            // the list (with one it cannot know without reading them all).
            let unfiltered = [&options.label_selector, &options.field_selector]
                .iter()
                .all(|s| s.as_deref().is_none_or(str::is_empty));
            if unfiltered {
                metadata["remainingItemCount"] = json!(next.remaining);
            }
            metadata["continue"] = json!(next.token);
        }
        Ok(json!({
            "kind": format!("{}List", self.sk.kind.kind),
            "apiVersion": self.sk.kind.api_version(),
            "metadata": metadata,
            "items": items,
        }))
    }

    /// A list answer as kube-apiserver encodes it: the items of a built-in kind's list carry no
    /// `apiVersion`/`kind` (the list's own say them); custom resources' items keep theirs.
    fn without_item_types(&self, mut list: Value) -> Value {
        let kind = &self.sk.kind;
        let built_in = super::openapi::kubernetes()
            .definition_name(&kind.group, &kind.version, &kind.kind)
            .is_some();
        if built_in && let Some(items) = list.get_mut("items").and_then(Value::as_array_mut) {
            for item in items.iter_mut().filter_map(Value::as_object_mut) {
                item.remove("apiVersion");
                item.remove("kind");
            }
        }
        list
    }

    /// The Table the request asks for (`Accept`, `includeObject`), if any.
    fn table_request(&self) -> Result<Option<TableRequest>, KubeError> {
        table::requested(
            self.headers,
            self.query.get("includeObject").map(String::as_str),
        )
    }

    /// A list answer as a Table.
    fn list_table(&self, request: TableRequest, list: &Value) -> Value {
        let printer = discovery::printer(self.cluster, self.sk);
        let items = list
            .get("items")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let metadata = list.get("metadata").cloned().unwrap_or_else(|| json!({}));
        printer.list(
            self.sk,
            request,
            items,
            metadata,
            self.cluster.clock().now(),
        )
    }

    fn delete_options(&self) -> Result<DeleteOptions, KubeError> {
        let body: Value = if self.body.is_empty() {
            Value::Null
        } else {
            bodies::delete_options(self.headers, self.body, self.sk)?
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

    fn delete_collection(&self, dry_run: bool) -> Result<Value, KubeError> {
        let options = self.delete_options()?;
        let deleted = self.cluster.delete_collection_values_with(
            self.sk,
            self.namespace,
            &self.list_options()?,
            &options,
            dry_run,
        )?;
        Ok(json!({
            "kind": format!("{}List", self.sk.kind.kind),
            "apiVersion": self.sk.kind.api_version(),
            "metadata": {"resourceVersion": self.cluster.resource_version()},
            "items": deleted,
        }))
    }

    fn watch(&self, table: Option<TableRequest>) -> Response {
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
        // With a Table: each event's object is a one-row Table, the first with the columns.
        let printer = table.map(|t| {
            (
                t,
                discovery::printer(self.cluster, self.sk),
                self.sk.clone(),
                self.cluster.clock().clone(),
            )
        });
        let events =
            futures::stream::unfold((rx, printer, true), |(mut rx, printer, first)| async move {
                let raw = rx.recv().await?;
                let object = match &printer {
                    Some((t, p, sk, clock)) => p.object(sk, *t, &raw.object, clock.now(), first),
                    None => raw.object,
                };
                let line = format!(
                    "{}\n",
                    json!({"type": raw.type_.as_str(), "object": object})
                );
                Some((
                    Ok::<_, std::convert::Infallible>(Bytes::from(line)),
                    (rx, printer, false),
                ))
            })
            .take_until(tokio::time::sleep(timeout));
        watch_response(Body::from_stream(events))
    }

    async fn item(&self, method: &Method, name: &str, status: bool) -> Response {
        let options = match *method {
            Method::PUT => "UpdateOptions",
            Method::PATCH => "PatchOptions",
            _ => "DeleteOptions",
        };
        let dry_run = match *method {
            Method::GET => false,
            _ => match self.dry_run(options) {
                Ok(d) => d,
                Err(response) => return *response,
            },
        };
        if matches!(*method, Method::PUT | Method::PATCH) {
            return self.write(method, name, status, dry_run).await;
        }
        let result = match *method {
            Method::GET if !status => match self.table_request() {
                Ok(Some(t)) => {
                    return match self.cluster.get_value(self.sk, self.namespace, name) {
                        Ok(object) => {
                            let printer = discovery::printer(self.cluster, self.sk);
                            let body = printer.object(
                                self.sk,
                                t,
                                &object,
                                self.cluster.clock().now(),
                                true,
                            );
                            json_response(StatusCode::OK, &body)
                        }
                        Err(e) => self.fail(&e, Some(name)),
                    };
                }
                Ok(None) => self.cluster.get_value(self.sk, self.namespace, name),
                Err(e) => Err(e),
            },
            Method::GET => self.cluster.get_value(self.sk, self.namespace, name),
            Method::DELETE if !status => match self.delete_options() {
                Ok(options) => self
                    .cluster
                    .delete_value_with(self.sk, self.namespace, name, &options, dry_run)
                    .map(|last| {
                        // Still stored afterwards: finalizers hold it (a dry run leaves it
                        // stored anyway, so its answer tells by the deletionTimestamp).
                        let stored = if dry_run {
                            last.pointer("/metadata/deletionTimestamp")
                                .is_some()
                                .then(|| last.clone())
                        } else {
                            self.cluster
                                .get_value(self.sk, self.namespace, name)
                                .ok()
                                .filter(|now| {
                                    now.pointer("/metadata/uid") == last.pointer("/metadata/uid")
                                })
                        };
                        discovery::delete_answer(
                            self.sk,
                            last,
                            stored,
                            options.propagation,
                            self.cluster.clock().now(),
                        )
                    }),
                Err(e) => Err(e),
            },
            _ => return method_not_allowed(method),
        };
        match result {
            Ok(object) => json_response(StatusCode::OK, &object),
            Err(e) => self.fail(&e, Some(name)),
        }
    }

    /// PUT or PATCH of an object (or its status), with `fieldValidation`.
    async fn write(&self, method: &Method, name: &str, status: bool, dry_run: bool) -> Response {
        let written = if *method == Method::PUT {
            match self.checked_body("UpdateOptions", dry_run) {
                Ok((body, check)) => {
                    let change = Change::Replace(body);
                    self.cluster
                        .update_value_with(self.sk, self.namespace, name, change, status, &check)
                        .await
                }
                Err(e) => Err(e),
            }
        } else {
            let checked = self.patch_body().and_then(|patch| {
                let mut check = self.field_check("PatchOptions")?;
                check.dry_run = dry_run;
                Ok((patch, check))
            });
            match checked {
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

    /// `…/<name>/scale` of a Deployment or StatefulSet (see `scale`): GET reads the Scale;
    /// PUT of a Scale, or a patch of it, sets the object's `spec.replicas` through the same
    /// update as any write (admission, dryRun, resourceVersion precondition).
    async fn scale(&self, method: &Method, name: &str) -> Response {
        let options = match *method {
            Method::GET => None,
            Method::PUT => Some("UpdateOptions"),
            Method::PATCH => Some("PatchOptions"),
            _ => return method_not_allowed(method),
        };
        let dry_run = match options.map(|o| self.dry_run(o)) {
            None => false,
            Some(Ok(d)) => d,
            Some(Err(response)) => return *response,
        };
        let current = match self.cluster.get_value(self.sk, self.namespace, name) {
            Ok(object) => object,
            Err(e) => return self.fail(&e, Some(name)),
        };
        let written = match *method {
            Method::GET => return json_response(StatusCode::OK, &scale::of(&current)),
            Method::PUT => self.json_body().map(|body| (body, false)),
            _ => self.patch_body().and_then(|patch| {
                // A Scale has no lists: its strategic merge patch is a merge patch.
                let patch = match patch {
                    PatchBody::Strategic(p) => PatchBody::Merge(p),
                    other => other,
                };
                super::apply_patch(&scale::kind(), &scale::of(&current), &patch)
                    .map(|body| (body, true))
            }),
        };
        let change = written.and_then(|(body, patched)| scale::read_write(&body, name, patched));
        let (replicas, resource_version) = match change {
            Ok(c) => c,
            Err(e @ KubeError::Invalid { .. }) if !fields::is_patch_failure(&e) => {
                let details = if e.to_string().contains("Scale.autoscaling") {
                    Details {
                        name: Some(name.to_owned()),
                        group: "autoscaling".into(),
                        kind: "Scale".into(),
                    }
                } else {
                    Details::default()
                };
                return error_response(&e, &details);
            }
            Err(e) => return error_response(&e, &Details::default()),
        };
        let mut patch = json!({"spec": {"replicas": replicas}});
        if let Some(rv) = resource_version {
            patch["metadata"] = json!({"resourceVersion": rv});
        }
        let check = fields::FieldCheck {
            mode: fields::Mode::Ignore,
            fields: Vec::new(),
            http: true,
            dry_run,
        };
        let change = Change::Patch(PatchBody::Merge(patch));
        match self
            .cluster
            .update_value_with(self.sk, self.namespace, name, change, false, &check)
            .await
        {
            Ok((object, _)) => json_response(StatusCode::OK, &scale::of(&object)),
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
        let built_in = super::openapi::kubernetes()
            .definition_name(
                &self.sk.kind.group,
                &self.sk.kind.version,
                &self.sk.kind.kind,
            )
            .is_some();
        match content_type.as_str() {
            "application/merge-patch+json" => Ok(PatchBody::Merge(self.json_body()?)),
            "application/strategic-merge-patch+json" if built_in => {
                Ok(PatchBody::Strategic(self.json_body()?))
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
            // As kube-apiserver: its built-in resources refuse an unknown type before reading
            // the body; custom resources list what they take (no strategic merge patch).
            _ if built_in => Err(KubeError::Unexpected {
                status: 415,
                message: "415: Unsupported Media Type".into(),
            }),
            _ => Err(KubeError::Unexpected {
                status: 415,
                message: super::SMP_UNSUPPORTED.into(),
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

/// Aggregated discovery as kube-apiserver sends it.
fn aggregated_response(body: &Value) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, discovery::AGGREGATED_CONTENT_TYPE),
            (header::VARY, "Accept"),
        ],
        body.to_string(),
    )
        .into_response()
}

/// `/api`: GET only, as kube-apiserver.
fn discovery_versions(cluster: &FakeCluster, method: &Method, headers: &HeaderMap) -> Response {
    if let Some(r) = only_get(method) {
        return r;
    }
    if table::wants_aggregated_discovery(headers) {
        return aggregated_response(&discovery::aggregated(cluster, true));
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

/// `/apis`: kube-apiserver answers it whatever the method.
fn discovery_groups(cluster: &FakeCluster, headers: &HeaderMap) -> Response {
    if table::wants_aggregated_discovery(headers) {
        return aggregated_response(&discovery::aggregated(cluster, false));
    }
    json_response(StatusCode::OK, &discovery::group_list(cluster))
}

/// `/apis/<group>`: whatever the method, as kube-apiserver.
fn discovery_group(cluster: &FakeCluster, group: &str) -> Response {
    match discovery::group(cluster, group) {
        Some(body) => json_response(StatusCode::OK, &body),
        None => page_not_found(),
    }
}

/// `/api/<version>`, `/apis/<group>/<version>`: GET only for kube-apiserver's own groups,
/// any method for CRD groups (as apiextensions answers).
fn discovery_resources(
    cluster: &FakeCluster,
    method: &Method,
    group: &str,
    version: &str,
) -> Response {
    match discovery::resource_list(cluster, group, version) {
        Some(body) => {
            if discovery::is_builtin_group(group)
                && let Some(r) = only_get(method)
            {
                return r;
            }
            json_response(StatusCode::OK, &body)
        }
        None => not_found_in(group),
    }
}
