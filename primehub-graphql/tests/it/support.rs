//! Shared test helpers: a platform on the fakes and an HTTP client for it.

use primehub_graphql::dev::{DevOptions, DevPlatform};
use serde_json::Value;

pub const ADMIN_PASSWORD: &str = "test-admin-password";
pub const SHARED_SECRET: &str = "test-shared-secret";

/// A demo platform on a free loopback port, without the job controllers (tests of the job
/// API set job phases themselves).
pub async fn platform() -> DevPlatform {
    platform_with(true).await
}

/// The demo platform with the job controllers and the pod simulator, as `primehub dev` runs.
pub async fn platform_with_jobs() -> DevPlatform {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let options = DevOptions {
        admin_password: ADMIN_PASSWORD.into(),
        shared_secret: Some(SHARED_SECRET.into()),
        simulate_pods: Some(Default::default()),
        ..DevOptions::default()
    };
    DevPlatform::start(listener, &options)
        .await
        .expect("platform starts")
}

/// The platform without its controllers: for tests that compare the exact Keycloak state
/// right after an API write (the watcher follows writes eventually, not at once).
pub async fn platform_without_controllers() -> DevPlatform {
    platform_with(false).await
}

async fn platform_with(controllers: bool) -> DevPlatform {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let options = DevOptions {
        admin_password: ADMIN_PASSWORD.into(),
        shared_secret: Some(SHARED_SECRET.into()),
        controllers,
        jobs: false,
        ..DevOptions::default()
    };
    DevPlatform::start(listener, &options)
        .await
        .expect("platform starts")
}

pub fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// POSTs a query as form fields (the Python SDK's encoding) with a bearer credential.
pub async fn post_form(
    platform: &DevPlatform,
    token: &str,
    query: &str,
    variables: Value,
) -> (u16, Value) {
    let response = http()
        .post(platform.graphql_url())
        .header("authorization", format!("Bearer {token}"))
        .form(&[
            ("query", query.to_owned()),
            ("variables", variables.to_string()),
        ])
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("JSON body");
    (status, body)
}

/// POSTs a query as JSON.
pub async fn post_json(
    platform: &DevPlatform,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> (u16, Value) {
    let mut request = http()
        .post(platform.graphql_url())
        .json(&serde_json::json!({"query": query, "variables": variables}));
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("JSON body");
    (status, body)
}

/// The admin's access token.
pub fn admin_token(platform: &DevPlatform) -> String {
    platform
        .access_token("phadmin", ADMIN_PASSWORD)
        .expect("admin token")
}

/// `data` of a response that must have no errors.
pub fn data(body: &Value) -> &Value {
    assert!(body.get("errors").is_none(), "unexpected errors: {body}");
    &body["data"]
}

/// The first error's code.
pub fn error_code(body: &Value) -> String {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}
