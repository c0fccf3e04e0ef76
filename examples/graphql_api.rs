//! PrimeHub's GraphQL API as a client uses it: the whole platform on fakes on a loopback port,
//! an API token from `POST /api/token`, a `me` query posted as form fields (as the public Python
//! SDK posts them) and an admin mutation posted as JSON.
//!
//! `cargo run -p primehub-examples --example graphql_api`

use primehub_graphql::dev::{DevOptions, DevPlatform};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let options = DevOptions {
        admin_password: "example-password".into(),
        ..DevOptions::default()
    };
    let platform = DevPlatform::start(listener, &options).await?;
    let url = platform.graphql_url();
    // reqwest is built without a default TLS provider; plain HTTP needs none, but the builder
    // wants one installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();

    // An API token (a Keycloak offline token), as PrimeHub's console issues them.
    let issued: Value = http
        .post(format!("{}/api/token", platform.url()))
        .form(&[("username", "phadmin"), ("password", "example-password")])
        .send()
        .await?
        .json()
        .await?;
    let token = issued["apiToken"].as_str().ok_or("no apiToken")?.to_owned();

    // What can I launch? Form fields, as the Python SDK sends them.
    let me: Value = http
        .post(&url)
        .bearer_auth(&token)
        .form(&[
            ("query", "{ me { username effectiveGroups { name instanceTypes { name cpuLimit memoryLimit } images { name } } } }"),
            ("variables", "{}"),
        ])
        .send()
        .await?
        .json()
        .await?;
    println!("{}", serde_json::to_string_pretty(&me["data"])?);

    // An admin mutation as JSON: a group with a quota.
    let created: Value = http
        .post(&url)
        .bearer_auth(&token)
        .json(&json!({
            "query": "mutation($d: GroupCreateInput!) { createGroup(data: $d) { id name quotaCpu } }",
            "variables": {"d": {"name": "research", "quotaCpu": 4}},
        }))
        .send()
        .await?
        .json()
        .await?;
    println!("{}", serde_json::to_string_pretty(&created)?);
    assert_eq!(created["data"]["createGroup"]["quotaCpu"], 4.0);

    platform.shutdown().await?;
    Ok(())
}
