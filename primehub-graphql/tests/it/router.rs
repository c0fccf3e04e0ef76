//! The HTTP face in process: `tower::ServiceExt::oneshot` on the API's router (the platform's
//! fake Keycloak still answers over loopback, for the token endpoint).

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use primehub_graphql::dev::DevPlatform;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::support::*;

/// A response: status, content type and body.
struct Answer {
    status: StatusCode,
    content_type: String,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

async fn call(platform: &DevPlatform, request: Request<Body>) -> Answer {
    let response = platform
        .api
        .service
        .router()
        .oneshot(request)
        .await
        .expect("the router answers");
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body")
        .to_vec();
    Answer {
        status,
        content_type,
        body,
    }
}

fn post(token: Option<&str>, content_type: &str, body: impl Into<Body>) -> Request<Body> {
    let mut builder = Request::builder()
        .method(Method::POST)
        .uri("/api/graphql")
        .header(header::CONTENT_TYPE, content_type);
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    builder.body(body.into()).unwrap()
}

fn post_json_body(token: Option<&str>, body: &Value) -> Request<Body> {
    post(token, "application/json", body.to_string())
}

fn post_form_body(token: &str, fields: &[(&str, &str)]) -> Request<Body> {
    let encoded = serde_urlencoded::to_string(fields).unwrap();
    post(
        Some(token),
        "application/x-www-form-urlencoded; charset=utf-8",
        encoded,
    )
}

fn get(uri: &str, token: Option<&str>) -> Request<Body> {
    let mut builder = Request::builder().method(Method::GET).uri(uri);
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    builder.body(Body::empty()).unwrap()
}

fn query_string(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_json_and_forms_and_full_documents() {
    let platform = platform().await;
    let token = admin_token(&platform);

    // JSON; a success has no `errors` key at all (the Python SDK fails on any `errors` key).
    let a = call(
        &platform,
        post_json_body(Some(&token), &json!({"query": "{ me { username } }"})),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(
        a.content_type.starts_with("application/json"),
        "{}",
        a.content_type
    );
    let body = a.json();
    assert_eq!(body, json!({"data": {"me": {"username": "phadmin"}}}));

    // A form with `variables` as a JSON string, as the SDK posts.
    let a = call(
        &platform,
        post_form_body(
            &token,
            &[
                (
                    "query",
                    "query($id: ID!) { instanceType(where: {id: $id}) { name } }",
                ),
                ("variables", r#"{"id": "cpu-1"}"#),
            ],
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(
        a.json(),
        json!({"data": {"instanceType": {"name": "cpu-1"}}})
    );

    // A form with two operations and operationName choosing one.
    let two = "query A { me { username } } query B { timezone { name } }";
    let a = call(
        &platform,
        post_form_body(
            &token,
            &[("query", two), ("variables", ""), ("operationName", "B")],
        ),
    )
    .await;
    assert_eq!(a.json(), json!({"data": {"timezone": {"name": "Etc/UTC"}}}));
    // Without operationName, two operations are an error (not a guess).
    let a = call(&platform, post_form_body(&token, &[("query", two)])).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.json()["errors"][0]["message"].is_string(), "{}", a.text());
    // Variables that are not a JSON object: 400 naming them.
    let a = call(
        &platform,
        post_form_body(&token, &[("query", "{ me { id } }"), ("variables", "[1")]),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.text().contains("variables"), "{}", a.text());

    // Comments, fragments, aliases, inline fragments and directives.
    let document = r#"
        # the caller, twice
        query Who($skip: Boolean!) {
          first: me { ...Names }
          second: me { ... on User { id } username @skip(if: $skip) }
        }
        fragment Names on User { username isAdmin } # trailing comment
    "#;
    let a = call(
        &platform,
        post_json_body(
            Some(&token),
            &json!({"query": document, "variables": {"skip": true}, "operationName": "Who"}),
        ),
    )
    .await;
    let body = a.json();
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(
        body["data"]["first"],
        json!({"username": "phadmin", "isAdmin": true})
    );
    assert!(body["data"]["second"]["id"].is_string());
    assert!(body["data"]["second"].get("username").is_none(), "{body}");
    platform.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_serves_graphiql_and_queries_but_never_mutations() {
    let platform = platform().await;
    let token = admin_token(&platform);
    let a = call(&platform, get("/api/graphql", None)).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(
        a.content_type.starts_with("text/html"),
        "{}",
        a.content_type
    );
    assert!(a.text().to_lowercase().contains("graphiql"));

    let uri = format!(
        "/graphql?{}",
        query_string(&[("query", "{ timezone { name } }")])
    );
    let a = call(&platform, get(&uri, Some(&token))).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json(), json!({"data": {"timezone": {"name": "Etc/UTC"}}}));
    // Anonymous: 401 as for POST.
    let a = call(&platform, get(&uri, None)).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&a.json()), "NOT_AUTH");

    // A mutation in a GET is refused, and nothing is written.
    let mutation = "mutation { createInstanceType(data: {name: \"via-get\", cpuLimit: 1, memoryLimit: 1}) { id } }";
    for pairs in [
        vec![("query", mutation)],
        vec![
            (
                "query",
                "query Q { timezone { name } } mutation M { deleteInstanceType(where: {id: \"cpu-1\"}) { id } }",
            ),
            ("operationName", "M"),
        ],
    ] {
        let uri = format!("/api/graphql?{}", query_string(&pairs));
        let a = call(&platform, get(&uri, Some(&token))).await;
        assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED, "{}", a.text());
        assert!(a.text().contains("POST"), "{}", a.text());
    }
    let (_, body) = post_json(
        &platform,
        Some(&token),
        "{ a: instanceType(where: {id: \"via-get\"}) { id } b: instanceType(where: {id: \"cpu-1\"}) { id } }",
        json!({}),
    )
    .await;
    assert_eq!(data(&body), &json!({"a": null, "b": {"id": "cpu-1"}}));
    platform.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_clear_http_answers() {
    let platform = platform().await;
    let token = admin_token(&platform);

    // A batch is off by default.
    let batch = json!([{"query": "{ me { id } }"}, {"query": "{ timezone { name } }"}]);
    let a = call(&platform, post_json_body(Some(&token), &batch)).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(
        a.json()["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("batched requests are not enabled")
    );

    // Another content type: 415.
    let a = call(&platform, post(Some(&token), "text/plain", "{ me { id } }")).await;
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(a.text().contains("application/json"), "{}", a.text());

    // Malformed JSON: 400, and a JSON body that is not a request: 400.
    for body in ["{\"query\": ", "{\"variables\": {}}"] {
        let a = call(&platform, post(Some(&token), "application/json", body)).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{body}: {}", a.text());
        assert_eq!(error_code(&a.json()), "BAD_REQUEST");
    }

    // Over the body limit (1 MiB by default): 413.
    let padding = " ".repeat(platform.api.service.config.body_limit + 1);
    let big = format!("{{\"query\": \"{{ me {{ id }} }}\"{padding}}}");
    let a = call(&platform, post(Some(&token), "application/json", big)).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);

    // Deeper than the depth limit: a GraphQL error naming the limit.
    let mut deep = "name".to_owned();
    for _ in 0..7 {
        deep = format!("groups {{ users {{ {deep} }} }}");
    }
    let deep = format!("{{ me {{ {deep} }} }}");
    let a = call(
        &platform,
        post_json_body(Some(&token), &json!({"query": deep})),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    let message = a.json()["errors"][0]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("too deep")
            && message.contains(&primehub_graphql::schema::MAX_DEPTH.to_string()),
        "{message}"
    );
    assert_eq!(a.json()["data"], Value::Null);

    // More complex than the complexity limit: the same.
    let wide: String = (0..=primehub_graphql::schema::MAX_COMPLEXITY / 2)
        .map(|i| format!("t{i}: timezone {{ name }} "))
        .collect();
    let a = call(
        &platform,
        post_json_body(Some(&token), &json!({"query": format!("{{ {wide} }}")})),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    let message = a.json()["errors"][0]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("too complex")
            && message.contains(&primehub_graphql::schema::MAX_COMPLEXITY.to_string()),
        "{message}"
    );
    platform.shutdown().await.unwrap();
}

/// The value of a metric line (`name{labels} value`) in the text exposition.
fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        line.strip_prefix(series)?
            .trim()
            .split(' ')
            .next()?
            .parse()
            .ok()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_metrics_count_what_happened() {
    let platform = platform().await;
    let token = admin_token(&platform);
    assert_eq!(
        call(&platform, get("/healthz", None)).await.status,
        StatusCode::OK
    );
    let ready = call(&platform, get("/readyz", None)).await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.text());

    // 3 ok, 1 partial, 2 not_auth, 2 bad_request.
    for _ in 0..3 {
        let a = call(
            &platform,
            post_json_body(Some(&token), &json!({"query": "{ me { id } }"})),
        )
        .await;
        assert_eq!(a.status, StatusCode::OK);
    }
    // The shared-secret client asking for `system` (allowed) and `me` (not): a partial answer.
    let a = call(
        &platform,
        post_json_body(
            Some(SHARED_SECRET),
            &json!({"query": "{ system { org { name } } me { id } }"}),
        ),
    )
    .await;
    assert_eq!(error_code(&a.json()), "NOT_AUTH", "{}", a.text());
    assert!(a.json()["data"]["system"].is_object(), "{}", a.text());
    for credential in [None, Some("wrong")] {
        let a = call(
            &platform,
            post_json_body(credential, &json!({"query": "{ me { id } }"})),
        )
        .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    }
    call(
        &platform,
        post(Some(&token), "application/json", "not json"),
    )
    .await;
    let uri = format!(
        "/api/graphql?{}",
        query_string(&[("query", "mutation { revokeApiToken { id } }")])
    );
    call(&platform, get(&uri, Some(&token))).await;

    let a = call(&platform, get("/metrics", None)).await;
    assert_eq!(a.status, StatusCode::OK);
    let text = a.text();
    let count = |outcome: &str| {
        metric(
            &text,
            &format!("primehub_graphql_requests_total{{outcome=\"{outcome}\"}}"),
        )
        .unwrap_or(0.0)
    };
    assert_eq!(count("ok"), 3.0, "{text}");
    assert_eq!(count("not_auth"), 2.0, "{text}");
    assert_eq!(count("bad_request"), 2.0, "{text}");
    assert_eq!(count("partial"), 1.0, "{text}");
    assert_eq!(count("error"), 0.0, "{text}");
    assert_eq!(
        metric(&text, "primehub_graphql_request_duration_seconds_count"),
        Some(8.0),
        "{text}"
    );
    assert!(
        text.contains("primehub_graphql_request_duration_seconds_bucket{le="),
        "{text}"
    );
    let users = metric(&text, "primehub_keycloak_cache_users").expect("cache users gauge");
    assert!(users >= 1.0, "{text}");
    assert!(
        metric(&text, "primehub_keycloak_cache_groups").is_some_and(|g| g >= 2.0),
        "{text}"
    );
    assert!(
        metric(&text, "primehub_keycloak_cache_age_seconds").is_some(),
        "{text}"
    );
    assert!(
        metric(&text, "primehub_keycloak_cache_calls_total").is_some(),
        "{text}"
    );
    assert_eq!(
        metric(&text, "primehub_resource_store_ready"),
        Some(1.0),
        "{text}"
    );
    platform.shutdown().await.unwrap();
}

fn token_request(username: &str, password: &str) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri("/api/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(
            serde_urlencoded::to_string([("username", username), ("password", password)]).unwrap(),
        ))
        .unwrap()
}

async fn api_token_count(platform: &DevPlatform, credential: &str) -> Answer {
    call(
        platform,
        post_json_body(
            Some(credential),
            &json!({"query": "{ me { username apiTokenCount } }"}),
        ),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_tokens_work_until_revoked() {
    let platform = platform().await;
    let admin = admin_token(&platform);
    let realm = platform.keycloak.realm("primehub").unwrap();
    let (_, body) = post_json(
        &platform,
        Some(&admin),
        "mutation { createUser(data: {username: \"tina\"}) { id } }",
        json!({}),
    )
    .await;
    let tina_id = data(&body)["createUser"]["id"].as_str().unwrap().to_owned();
    realm.set_password("tina", "tina-Passw0rd").unwrap();

    // Bad credentials: 401, NOT_AUTH, nothing issued.
    for (user, password) in [("tina", "wrong"), ("nobody", "tina-Passw0rd")] {
        let a = call(&platform, token_request(user, password)).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.text());
        assert_eq!(error_code(&a.json()), "NOT_AUTH");
    }
    let a = call(&platform, token_request("tina", "tina-Passw0rd")).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let api_token = a.json()["apiToken"].as_str().unwrap().to_owned();

    // The API token is a bearer credential, and `apiTokenCount` sees it.
    let a = api_token_count(&platform, &api_token).await;
    assert_eq!(
        a.json(),
        json!({"data": {"me": {"username": "tina", "apiTokenCount": 1}}})
    );
    // Reused (the exchange is cached): still fine.
    let a = api_token_count(&platform, &api_token).await;
    assert_eq!(a.status, StatusCode::OK);

    // Revoked: refused at once by this server, although the exchange was cached.
    let a = call(
        &platform,
        post_json_body(
            Some(&api_token),
            &json!({"query": "mutation { revokeApiToken { id } }"}),
        ),
    )
    .await;
    assert_eq!(
        a.json(),
        json!({"data": {"revokeApiToken": {"id": tina_id}}})
    );
    let a = api_token_count(&platform, &api_token).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.text());
    assert_eq!(error_code(&a.json()), "NOT_AUTH");

    // An administrator revoking a user's tokens: the same.
    let a = call(&platform, token_request("tina", "tina-Passw0rd")).await;
    let second = a.json()["apiToken"].as_str().unwrap().to_owned();
    assert_eq!(
        api_token_count(&platform, &second).await.status,
        StatusCode::OK
    );
    let (_, body) = post_json(
        &platform,
        Some(&admin),
        "mutation($id: String) { revokeApiToken(userId: $id) { id } }",
        json!({"id": tina_id}),
    )
    .await;
    assert_eq!(data(&body)["revokeApiToken"]["id"], tina_id.as_str());
    assert_eq!(
        api_token_count(&platform, &second).await.status,
        StatusCode::UNAUTHORIZED
    );
    let (_, body) = post_json(
        &platform,
        Some(&admin),
        "query($id: ID!) { user(where: {id: $id}) { apiTokenCount } }",
        json!({"id": tina_id}),
    )
    .await;
    assert_eq!(data(&body)["user"]["apiTokenCount"], 0);
    platform.shutdown().await.unwrap();
}

/// A `MakeWriter` collecting everything logged.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// The capture is the global subscriber of the test binary (a thread-local one misses events
/// when other tests register the same callsites concurrently), so the other tests' logs are
/// checked too while it is installed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shared_secret_is_never_logged() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("only this test sets it");

    let platform = platform().await;
    // The secret works, a near miss does not; both go through authentication, successes and
    // failures, GET and POST.
    let a = call(
        &platform,
        post_json_body(
            Some(SHARED_SECRET),
            &json!({"query": "{ system { org { name } } }"}),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let near_miss = format!("{SHARED_SECRET}x");
    let a = call(
        &platform,
        post_json_body(
            Some(&near_miss),
            &json!({"query": "{ system { org { name } } }"}),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    let uri = format!(
        "/api/graphql?{}",
        query_string(&[("query", "{ me { id } }")])
    );
    let a = call(&platform, get(&uri, Some(SHARED_SECRET))).await;
    assert_eq!(
        error_code(&a.json()),
        "NOT_AUTH",
        "me is not for the client"
    );
    tracing::info!(service = ?platform.api.service, auth = ?platform.api.service.state.auth, "debug views");
    platform.shutdown().await.unwrap();

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("authentication failed"),
        "the subscriber captured the server's logs:\n{logs}"
    );
    assert!(
        !logs.contains(SHARED_SECRET),
        "the shared secret was logged:\n{logs}"
    );
}

/// Revoked elsewhere (another API replica, Keycloak's console): this server keeps accepting the
/// API token while its exchange is cached — at most `api_token_cache_ttl`, 30 s — then refuses it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_token_revoked_elsewhere_is_refused_within_the_exchange_cache_ttl() {
    use primehub_graphql::auth::Authenticator;
    use primehub_keycloak::KeycloakAdmin;
    use primehub_keycloak::token::{TokenVerifier, TokenVerifierConfig};
    use primehub_model::clock::ManualClock;

    let platform = platform().await;
    let realm = platform.keycloak.realm("primehub").unwrap();
    let a = call(&platform, token_request("phadmin", ADMIN_PASSWORD)).await;
    let api_token = a.json()["apiToken"].as_str().unwrap().to_owned();

    let clock = Arc::new(ManualClock::starting_now());
    let mut config = TokenVerifierConfig::new(platform.issuer(), ["admin-ui"]);
    config.api_token_client = Some((
        "admin-ui".into(),
        platform.realm.admin_ui_client_secret.clone(),
    ));
    config.clock = clock.clone();
    let ttl = config.api_token_cache_ttl;
    let verifier = Arc::new(TokenVerifier::new(config).unwrap());
    let auth = Authenticator::new(None, Some(verifier), clock.clone());
    let header = format!("Bearer {api_token}");
    assert!(auth.authenticate(Some(&header)).await.unwrap().is_admin());

    realm
        .revoke_offline_sessions(&platform.realm.admin_user_id, "admin-ui")
        .await
        .unwrap();
    // Still cached just before the bound…
    clock
        .advance(jiff::SignedDuration::try_from(ttl).unwrap() - jiff::SignedDuration::from_secs(1));
    assert!(auth.authenticate(Some(&header)).await.is_ok());
    // …refused after it.
    clock.advance(jiff::SignedDuration::from_secs(2));
    let refused = auth.authenticate(Some(&header)).await.unwrap_err();
    assert_eq!(refused.code().as_str(), "NOT_AUTH");
    platform.shutdown().await.unwrap();
}

/// A repeated query skips the parser but is still validated and executed each time: the same
/// answer, a variable's new value taken, a changed fact seen, a syntax error reported every time,
/// and the cache bounded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_queries_reuse_their_parse_and_nothing_else() {
    use primehub_graphql::schema::ParsedQueries;

    let platform = platform().await;
    let token = admin_token(&platform);
    let parsed = platform.api.service.parsed.clone();
    let query = "query ($name: String!) { group: groups(where: { name_contains: $name }) { name } me { username } }";
    let ask = |name: &str| {
        post_json_body(
            Some(&token),
            &json!({ "query": query, "variables": { "name": name } }),
        )
    };

    let first = call(&platform, ask("phusers")).await.json();
    assert_eq!(first["data"]["group"][0]["name"], "phusers", "{first}");
    let kept = parsed.len();
    assert!(kept >= 1, "the query's document is kept");
    let again = call(&platform, ask("phusers")).await.json();
    assert_eq!(again, first);
    assert_eq!(parsed.len(), kept, "the same query is kept once");
    // The same text, other variables: executed with them.
    let none = call(&platform, ask("no-such-group")).await.json();
    assert_eq!(none["data"]["group"], json!([]), "{none}");
    // A change made between two identical requests shows in the second.
    let created = call(
        &platform,
        post_json_body(
            Some(&token),
            &json!({ "query": "mutation { createGroup(data: { name: \"phusers2\" }) { id } }" }),
        ),
    )
    .await
    .json();
    assert!(created["errors"].is_null(), "{created}");
    let after = call(&platform, ask("phusers")).await.json();
    assert_eq!(
        after["data"]["group"].as_array().map(Vec::len),
        Some(2),
        "{after}"
    );

    // Validation still runs on a kept document: an unknown field is refused each time.
    let bad = json!({ "query": "{ me { noSuchField } }" });
    for _ in 0..2 {
        let answer = call(&platform, post_json_body(Some(&token), &bad))
            .await
            .json();
        let message = answer["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(message.contains("noSuchField"), "{answer}");
    }
    // A syntax error is never kept and is reported every time.
    let before = parsed.len();
    let broken = json!({ "query": "{ me { username " });
    for _ in 0..2 {
        let answer = call(&platform, post_json_body(Some(&token), &broken))
            .await
            .json();
        assert!(answer["data"].is_null(), "{answer}");
        assert!(
            !answer["errors"][0]["message"]
                .as_str()
                .unwrap_or_default()
                .is_empty(),
            "{answer}"
        );
    }
    assert_eq!(parsed.len(), before);

    // Bounded: past its capacity it starts over.
    let cache = ParsedQueries::default();
    for i in 0..=ParsedQueries::CAPACITY {
        let mut request = async_graphql::Request::new(format!("{{ q{i}: me {{ username }} }}"));
        cache.prepare(&mut request);
    }
    assert_eq!(
        cache.len(),
        1,
        "full at {} documents, then started over",
        ParsedQueries::CAPACITY
    );
    // Long queries are not kept.
    let long = format!(
        "{{ me {{ username }} }}{}",
        " ".repeat(ParsedQueries::MAX_QUERY_BYTES)
    );
    let mut request = async_graphql::Request::new(long);
    cache.prepare(&mut request);
    assert_eq!(cache.len(), 1);
}
