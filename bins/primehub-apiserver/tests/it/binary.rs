//! The binary as a process, without real components: what it does while Keycloak is
//! unreachable at start, how a refused client secret ends it, and SIGTERM.

use std::time::{Duration, Instant};

use primehub_keycloak::fake::{BootstrapOptions, FakeKeycloak};

use crate::real_env::{self, get};

/// A kubeconfig naming an API server nothing listens on (the start fails on Keycloak first).
fn unreachable_kubeconfig() -> std::path::PathBuf {
    primehub_test_support::cluster::kubeconfig_for_server("http://127.0.0.1:1")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keycloak_unreachable_at_start_is_retried_while_healthz_answers_and_sigterm_stops_it() {
    let kubeconfig = unreachable_kubeconfig();
    let server = real_env::spawn(
        &[
            "--keycloak-url".into(),
            "http://127.0.0.1:1".into(),
            "--kubeconfig".into(),
            kubeconfig.display().to_string(),
        ],
        &[("KC_CLIENT_SECRET", "unused")],
    )
    .await;
    assert_eq!(get(&format!("{}/healthz", server.url)).await.0, 200);
    // Not ready, with the reason, once the first attempt failed.
    let started = Instant::now();
    loop {
        let (status, body) = get(&format!("{}/readyz", server.url)).await;
        assert_eq!(status, 503, "{body}");
        if body.contains("not ready") && server.logged("retrying") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no retry logged: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let response = reqwest::Client::new()
        .post(format!("{}/api/graphql", server.url))
        .json(&serde_json::json!({"query": "{ me { id } }"}))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status().as_u16(), 503);
    let body: serde_json::Value = response.json().await.expect("JSON");
    assert_eq!(body["errors"][0]["extensions"]["code"], "API_UNAVAILABLE");

    let status = server.terminate().await;
    assert!(
        status.success(),
        "SIGTERM during the start is a clean stop: {status}"
    );
    let _ = std::fs::remove_file(kubeconfig);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_credentials_or_an_unknown_realm_end_the_start_naming_the_flags() {
    let keycloak = FakeKeycloak::new().expect("fake Keycloak");
    keycloak
        .bootstrap(&BootstrapOptions::default().to_spec("primehub"))
        .await
        .expect("the realm");
    let served = keycloak
        .serve(
            tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind"),
        )
        .expect("serve");
    let kubeconfig = unreachable_kubeconfig();
    let secret_file = std::env::temp_dir().join(real_env::unique("apiserver-secret"));
    std::fs::write(&secret_file, "not-the-secret\n").expect("write the secret file");
    let mut server = real_env::spawn(
        &[
            "--keycloak-url".into(),
            served.url().to_owned(),
            "--client-secret-file".into(),
            secret_file.display().to_string(),
            "--kubeconfig".into(),
            kubeconfig.display().to_string(),
        ],
        &[],
    )
    .await;
    let status = tokio::time::timeout(Duration::from_secs(30), server.child.wait())
        .await
        .expect("the start gives up at once on refused credentials")
        .expect("an exit status");
    assert!(!status.success());
    // The reader task may still be draining the last lines.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(server.logged("--client-secret"), "the error names the flag");

    // A realm that does not exist: the same, naming --realm.
    let mut server = real_env::spawn(
        &[
            "--keycloak-url".into(),
            served.url().to_owned(),
            "--realm".into(),
            "no-such-realm".into(),
            "--client-secret-file".into(),
            secret_file.display().to_string(),
            "--kubeconfig".into(),
            kubeconfig.display().to_string(),
        ],
        &[],
    )
    .await;
    let status = tokio::time::timeout(Duration::from_secs(30), server.child.wait())
        .await
        .expect("the start gives up at once on an unknown realm")
        .expect("an exit status");
    assert!(!status.success());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        server.logged("--realm (KC_REALM, now \\\"no-such-realm\\\""),
        "the error names the realm"
    );
    served.shutdown().await;
    let _ = std::fs::remove_file(kubeconfig);
    let _ = std::fs::remove_file(secret_file);
}
