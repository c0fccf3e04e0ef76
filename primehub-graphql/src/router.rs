//! The HTTP face: PrimeHub's GraphQL endpoint on axum, with health, readiness and metrics.
//!
//! | route | what it does |
//! |---|---|
//! | `POST /graphql`, `POST /api/graphql` | a GraphQL request as `application/json` (`{"query", "variables", "operationName"}`) or as form fields (`application/x-www-form-urlencoded`: `query`, `variables` as a JSON string, `operationName` — the public `primehub-python-sdk` posts forms); a JSON array (a batch) only when batching is enabled |
//! | `GET /graphql`, `GET /api/graphql` | with a `query` parameter: a query (never a mutation) from the URL; without: the GraphiQL page |
//! | `GET /healthz` | 200 while the process serves |
//! | `GET /readyz` | 200 once the Keycloak cache and the resource stores are filled, 503 before |
//! | `GET /metrics` | Prometheus text: requests by outcome, latency histogram, Keycloak calls, cache age |
//! | `GET <appPrefix>/logs/namespaces/<ns>/phjobs/<job>` | a job's log, streamed ([`crate::logs`]) |
//! | `POST /api/token` | an **API token** for `username` and `password` (form fields): a Keycloak offline token issued through the `admin-ui` client with scope `offline_access`, as PrimeHub's console issues them; answered as `{"apiToken": "…"}`, 401 for wrong credentials. Send it as `Authorization: Bearer <apiToken>`; `revokeApiToken` revokes it and `apiTokenCount` counts it |
//! | `POST /api/notebook/pod` | PrimeHub's parts of a notebook pod (and the home PVC) for a user's choice of group, instance type, image and options, as JSON; `422` with the reason when the choice is not allowed or can never fit the quotas ([`crate::notebook`]) |
//! | `GET /api/notebook/groups?userId=<id>` | what JupyterHub's options form shows: the user's groups except `everyone`, with `everyone`'s instance types and images merged in, quotas and current usage ([`crate::notebook`]) |
//!
//! Every GraphQL request needs `Authorization: Bearer <credential>` ([`crate::auth`]); without a
//! valid one the answer is HTTP 401 with one GraphQL error of code `NOT_AUTH`. Bodies above the
//! configured limit get 413; queries deeper or more complex than the limits get a GraphQL error
//! saying which limit.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::auth::Caller;
use crate::error::Error;
use crate::metrics::ApiMetrics;
use crate::schema::ApiSchema;
use crate::state::ApiState;

/// Limits and switches of the HTTP face.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest accepted request body in bytes (default 1 MiB).
    pub body_limit: usize,
    /// Whether a JSON array of requests (a batch) is accepted (default off).
    pub batching: bool,
    /// Whether `GET` without a query serves GraphiQL (default on).
    pub graphiql: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            body_limit: 1024 * 1024,
            batching: false,
            graphiql: true,
        }
    }
}

/// Everything the routes need.
#[derive(Clone)]
pub struct GraphqlService {
    /// The schema, with the state in its data.
    pub schema: ApiSchema,
    /// The shared state.
    pub state: Arc<ApiState>,
    /// The metrics.
    pub metrics: Arc<ApiMetrics>,
    /// Parsed documents of the queries seen.
    pub parsed: Arc<crate::schema::ParsedQueries>,
    /// Limits and switches.
    pub config: ServerConfig,
}

impl std::fmt::Debug for GraphqlService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphqlService")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl GraphqlService {
    /// The service for a state, with new metrics.
    pub fn new(state: Arc<ApiState>, config: ServerConfig) -> GraphqlService {
        let metrics = Arc::new(ApiMetrics::new());
        let schema = crate::schema::build(state.clone(), metrics.clone());
        GraphqlService {
            schema,
            state,
            metrics,
            parsed: Arc::default(),
            config,
        }
    }

    /// Executes one request for an authenticated caller (what the routes do after
    /// authentication; tests call it directly).
    pub async fn execute(
        &self,
        caller: Arc<Caller>,
        request: async_graphql::Request,
    ) -> async_graphql::Response {
        crate::schema::execute(&self.schema, &self.state, &self.parsed, caller, request).await
    }

    /// The axum router with every route above.
    pub fn router(&self) -> axum::Router {
        let graphql = get(graphql_get).post(graphql_post);
        let prefix = self.state.config.app_prefix.trim_end_matches('/');
        axum::Router::new()
            .route("/graphql", graphql.clone())
            .route("/api/graphql", graphql)
            .route(
                &format!("{prefix}{}", crate::logs::PHJOB_LOG_ROUTE),
                get(crate::logs::phjob_log),
            )
            .route("/healthz", get(|| async { "ok" }))
            .route("/readyz", get(readyz))
            .route("/metrics", get(metrics))
            .route("/api/token", axum::routing::post(api_token))
            .route(
                crate::notebook::POD_ROUTE,
                axum::routing::post(crate::notebook::notebook_pod),
            )
            .route(
                crate::notebook::GROUPS_ROUTE,
                get(crate::notebook::notebook_groups),
            )
            .layer(DefaultBodyLimit::max(self.config.body_limit))
            .with_state(self.clone())
    }
}

pub(crate) fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({
        "errors": [{"message": message, "extensions": {"code": code}}]
    });
    (status, axum::Json(body)).into_response()
}

fn not_authorized(error: &Error) -> Response {
    error_response(
        StatusCode::UNAUTHORIZED,
        error.code().as_str(),
        &error.public_message(),
    )
}

/// `<scheme>://<host><appPrefix>`, what a request's `logEndpoint`s start with: PrimeHub's
/// `GRAPHQL_HOST` when configured, else `X-Forwarded-Proto` (or `http`) and the `Host` header.
fn public_base(service: &GraphqlService, headers: &HeaderMap) -> crate::schema::job::PublicBase {
    let config = &service.state.config;
    let host = match &config.graphql_host {
        Some(host) => host.trim_end_matches('/').to_owned(),
        None => {
            let header_text = |name: &str| {
                headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(|v| v.split(',').next().unwrap_or_default().trim().to_owned())
                    .filter(|v| !v.is_empty())
            };
            match header_text("host") {
                Some(host) => format!(
                    "{}://{host}",
                    header_text("x-forwarded-proto").unwrap_or_else(|| "http".to_owned())
                ),
                None => String::new(),
            }
        }
    };
    crate::schema::job::PublicBase(format!("{host}{}", config.app_prefix.trim_end_matches('/')))
}

fn bad_request(message: &str) -> Response {
    error_response(StatusCode::BAD_REQUEST, "BAD_REQUEST", message)
}

pub(crate) async fn authenticate(
    service: &GraphqlService,
    headers: &HeaderMap,
) -> Result<Arc<Caller>, Response> {
    let header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    service
        .state
        .auth
        .authenticate(header)
        .await
        .map_err(|e| not_authorized(&e))
}

/// Form fields of a GraphQL request (the Python SDK's encoding).
#[derive(Debug, Deserialize)]
struct FormRequest {
    query: String,
    #[serde(default)]
    variables: Option<String>,
    #[serde(default, rename = "operationName")]
    operation_name: Option<String>,
}

impl FormRequest {
    fn into_request(self) -> Result<async_graphql::Request, String> {
        let mut request = async_graphql::Request::new(self.query);
        if let Some(variables) = self.variables.filter(|v| !v.trim().is_empty()) {
            let value: serde_json::Value = serde_json::from_str(&variables)
                .map_err(|e| format!("variables: must be a JSON object ({e})"))?;
            if !(value.is_object() || value.is_null()) {
                return Err("variables: must be a JSON object".to_owned());
            }
            request = request.variables(async_graphql::Variables::from_json(value));
        }
        if let Some(name) = self.operation_name.filter(|n| !n.is_empty()) {
            request = request.operation_name(name);
        }
        Ok(request)
    }
}

enum Parsed {
    One(Box<async_graphql::Request>),
    Batch(Vec<async_graphql::Request>),
}

fn parse_body(headers: &HeaderMap, body: &[u8], batching: bool) -> Result<Parsed, Box<Response>> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/json" | "application/graphql-response+json" => {
            let value: serde_json::Value = serde_json::from_slice(body)
                .map_err(|e| Box::new(bad_request(&format!("the body is not JSON: {e}"))))?;
            if value.is_array() {
                if !batching {
                    return Err(Box::new(bad_request(
                        "batched requests are not enabled on this server",
                    )));
                }
                let requests: Vec<async_graphql::Request> =
                    serde_json::from_value(value).map_err(|e| {
                        Box::new(bad_request(&format!("not a GraphQL request batch: {e}")))
                    })?;
                return Ok(Parsed::Batch(requests));
            }
            if !value.get("query").is_some_and(serde_json::Value::is_string) {
                return Err(Box::new(bad_request(
                    "not a GraphQL request: the body needs a `query` string",
                )));
            }
            let request: async_graphql::Request = serde_json::from_value(value)
                .map_err(|e| Box::new(bad_request(&format!("not a GraphQL request: {e}"))))?;
            Ok(Parsed::One(Box::new(request)))
        }
        "application/x-www-form-urlencoded" => {
            let form: FormRequest = serde_urlencoded::from_bytes(body)
                .map_err(|e| Box::new(bad_request(&format!("form fields: {e}"))))?;
            form.into_request()
                .map(|r| Parsed::One(Box::new(r)))
                .map_err(|e| Box::new(bad_request(&e)))
        }
        other => Err(Box::new(error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "BAD_REQUEST",
            &format!(
                "content type {other} is not supported: send application/json or application/x-www-form-urlencoded"
            ),
        ))),
    }
}

async fn graphql_post(
    State(service): State<GraphqlService>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let parsed = match parse_body(&headers, &body, service.config.batching) {
        Ok(parsed) => parsed,
        Err(response) => {
            service.metrics.observe("bad_request", started.elapsed());
            return *response;
        }
    };
    let caller = match authenticate(&service, &headers).await {
        Ok(caller) => caller,
        Err(response) => {
            service.metrics.observe("not_auth", started.elapsed());
            return response;
        }
    };
    let base = public_base(&service, &headers);
    match parsed {
        Parsed::One(request) => {
            let response = service.execute(caller, request.data(base)).await;
            service
                .metrics
                .observe(outcome(&response), started.elapsed());
            axum::Json(response).into_response()
        }
        Parsed::Batch(requests) => {
            let mut responses = Vec::with_capacity(requests.len());
            for request in requests {
                let response = service
                    .execute(caller.clone(), request.data(base.clone()))
                    .await;
                service
                    .metrics
                    .observe(outcome(&response), started.elapsed());
                responses.push(response);
            }
            axum::Json(responses).into_response()
        }
    }
}

fn outcome(response: &async_graphql::Response) -> &'static str {
    if response.errors.is_empty() {
        "ok"
    } else if response.data == async_graphql::Value::Null {
        "error"
    } else {
        "partial"
    }
}

/// Query-string parameters of a GET request.
#[derive(Debug, Deserialize)]
struct GetParams {
    query: Option<String>,
    variables: Option<String>,
    #[serde(rename = "operationName")]
    operation_name: Option<String>,
}

async fn graphql_get(
    State(service): State<GraphqlService>,
    headers: HeaderMap,
    Query(params): Query<GetParams>,
) -> Response {
    let Some(query) = params.query else {
        if !service.config.graphiql {
            return bad_request("a GET request needs a `query` parameter");
        }
        let page = async_graphql::http::GraphiQLSource::build()
            .endpoint("/api/graphql")
            .title("PrimeHub GraphQL")
            .finish();
        return Html(page).into_response();
    };
    let started = Instant::now();
    let form = FormRequest {
        query,
        variables: params.variables,
        operation_name: params.operation_name,
    };
    if is_mutation(&form.query, form.operation_name.as_deref()) {
        service.metrics.observe("bad_request", started.elapsed());
        return error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            "BAD_REQUEST",
            "mutations must be sent with POST",
        );
    }
    let request = match form.into_request() {
        Ok(request) => request,
        Err(e) => {
            service.metrics.observe("bad_request", started.elapsed());
            return bad_request(&e);
        }
    };
    let caller = match authenticate(&service, &headers).await {
        Ok(caller) => caller,
        Err(response) => {
            service.metrics.observe("not_auth", started.elapsed());
            return response;
        }
    };
    let base = public_base(&service, &headers);
    let response = service.execute(caller, request.data(base)).await;
    service
        .metrics
        .observe(outcome(&response), started.elapsed());
    axum::Json(response).into_response()
}

async fn readyz(State(service): State<GraphqlService>) -> Response {
    if service.state.is_ready() {
        (StatusCode::OK, "ready").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "caches are filling").into_response()
    }
}

async fn metrics(State(service): State<GraphqlService>) -> Response {
    let text = service.metrics.encode(&service.state);
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// Form fields of `POST /api/token`.
#[derive(Debug, Deserialize)]
struct TokenRequest {
    username: String,
    password: String,
}

async fn api_token(State(service): State<GraphqlService>, body: Bytes) -> Response {
    let Ok(request) = serde_urlencoded::from_bytes::<TokenRequest>(&body) else {
        return bad_request("send the form fields `username` and `password`");
    };
    let Some(verifier) = service.state.auth.verifier() else {
        return error_response(
            StatusCode::NOT_IMPLEMENTED,
            "BAD_REQUEST",
            "this server does not accept tokens (no Keycloak verifier configured)",
        );
    };
    match verifier
        .issue_api_token(&request.username, &request.password)
        .await
    {
        Ok(token) => axum::Json(serde_json::json!({ "apiToken": token })).into_response(),
        Err(primehub_keycloak::KeycloakError::Unauthorized { .. }) => error_response(
            StatusCode::UNAUTHORIZED,
            "NOT_AUTH",
            "invalid username or password",
        ),
        Err(e) => {
            tracing::error!(error = %e, "issuing an API token failed");
            error_response(
                StatusCode::BAD_GATEWAY,
                "API_UNAVAILABLE",
                "Keycloak did not issue the token",
            )
        }
    }
}

/// Whether the operation a GET would run is a mutation (or a subscription).
fn is_mutation(query: &str, operation_name: Option<&str>) -> bool {
    use async_graphql::parser::types::{DocumentOperations, OperationType};
    let Ok(document) = async_graphql::parser::parse_query(query) else {
        return false;
    };
    let non_query = |ty: OperationType| ty != OperationType::Query;
    match &document.operations {
        DocumentOperations::Single(op) => non_query(op.node.ty),
        DocumentOperations::Multiple(ops) => match operation_name {
            Some(name) => ops
                .iter()
                .any(|(n, op)| n.as_str() == name && non_query(op.node.ty)),
            None => ops.values().any(|op| non_query(op.node.ty)),
        },
    }
}
