//! The binary as a process, without real components: what it does while Keycloak is
//! unreachable at start, how refused credentials or an unknown realm end it, and SIGTERM.

use std::time::{Duration, Instant};

use primehub_keycloak::fake::{BootstrapOptions, FakeKeycloak};
use primehub_test_support::cluster::kubeconfig_for_server;
use primehub_test_support::env::unique;
use primehub_test_support::process::{self, get};

use crate::flow::BINARY;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keycloak_unreachable_at_start_is_retried_while_healthz_answers_and_sigterm_stops_it() {
    let kubeconfig = kubeconfig_for_server("http://127.0.0.1:1");
    let controller = process::spawn(
        BINARY,
        &[
            "--keycloak-url".into(),
            "http://127.0.0.1:1".into(),
            "--kubeconfig".into(),
            kubeconfig.display().to_string(),
        ],
        &[("KC_CLIENT_SECRET", "unused")],
    )
    .await;
    assert_eq!(get(&format!("{}/healthz", controller.url)).await.0, 200);
    let started = Instant::now();
    loop {
        let (status, body) = get(&format!("{}/readyz", controller.url)).await;
        assert_eq!(status, 503, "{body}");
        if body.contains("not ready") && controller.logged("retrying") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no retry logged: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (status, body) = get(&format!("{}/metrics", controller.url)).await;
    assert_eq!((status, body.as_str()), (503, "starting"));
    let status = controller.terminate().await;
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
    let kubeconfig = kubeconfig_for_server("http://127.0.0.1:1");
    let secret_file = std::env::temp_dir().join(unique("controller-secret"));
    std::fs::write(&secret_file, "not-the-secret\n").expect("write the secret file");
    let args = |realm: &str| -> Vec<String> {
        vec![
            "--keycloak-url".into(),
            served.url().to_owned(),
            "--realm".into(),
            realm.into(),
            "--client-secret-file".into(),
            secret_file.display().to_string(),
            "--kubeconfig".into(),
            kubeconfig.display().to_string(),
        ]
    };

    let mut controller = process::spawn(BINARY, &args("primehub"), &[]).await;
    let status = controller.exited_within(Duration::from_secs(30)).await;
    assert!(!status.success());
    assert!(
        controller.logged("Keycloak refused the controller's token grant"),
        "the error says what happened"
    );
    assert!(
        controller.logged("--client-secret"),
        "the error names the flag"
    );

    // The sweep ends the same way.
    let mut sweep_args = args("primehub");
    sweep_args.extend(["--prune-orphan-roles".into(), "--dry-run".into()]);
    let out = process::command(BINARY, &sweep_args, &[])
        .output()
        .await
        .expect("the sweep runs");
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "no report");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("--client-secret"), "{log}");

    let mut controller = process::spawn(BINARY, &args("no-such-realm"), &[]).await;
    let status = controller.exited_within(Duration::from_secs(30)).await;
    assert!(!status.success());
    assert!(
        controller.logged("--realm (KC_REALM, now \\\"no-such-realm\\\""),
        "the error names the realm"
    );
    served.shutdown().await;
    let _ = std::fs::remove_file(kubeconfig);
    let _ = std::fs::remove_file(secret_file);
}
