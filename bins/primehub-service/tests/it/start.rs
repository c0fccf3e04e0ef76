//! The start with retries: transient failures are retried (shown by the status) until the
//! attempt works, a permanent one ends the start at once with its hint, the timeout ends
//! retrying, and a shutdown ends the wait.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use clap::Parser;
use primehub_keycloak::KeycloakError;
use primehub_service::Error;
use primehub_service::cli::ConnectionArgs;
use primehub_service::settings::ConnectionSettings;
use primehub_service::start::{Failure, StartOptions, StartStatus, start_with_retries};

#[derive(Parser)]
struct Args {
    #[command(flatten)]
    connection: ConnectionArgs,
}

fn connection() -> ConnectionSettings {
    let args = Args::parse_from(["svc", "--keycloak-url", "http://kc", "--client-secret", "x"]);
    ConnectionSettings::resolve(&args.connection).expect("valid")
}

fn down() -> KeycloakError {
    KeycloakError::Transport {
        message: "connection refused".into(),
    }
}

fn classify(e: &KeycloakError) -> Failure {
    if e.is_transient() {
        Failure::Transient
    } else {
        Failure::Permanent(format!("check the secret ({e})"))
    }
}

#[tokio::test(start_paused = true)]
async fn transient_failures_are_retried_until_the_attempt_works() {
    let connection = connection();
    let status = StartStatus::default();
    assert_eq!(status.get(), "starting");
    let (_stop, shutdown) = tokio::sync::watch::channel(false);
    let attempts = AtomicU32::new(0);
    let started = start_with_retries(
        StartOptions {
            what: "the test",
            connection: &connection,
            timeout: None,
            status: &status,
        },
        shutdown,
        || async {
            match attempts.fetch_add(1, Ordering::Relaxed) {
                0..=2 => Err(down()),
                n => Ok(n),
            }
        },
        classify,
    )
    .await
    .expect("started");
    assert_eq!(started, Some(3));
    assert_eq!(
        status.get(),
        "not ready: transport error: connection refused"
    );
}

#[tokio::test(start_paused = true)]
async fn a_permanent_failure_ends_the_start_at_once_with_its_hint() {
    let connection = connection();
    let status = StartStatus::default();
    let (_stop, shutdown) = tokio::sync::watch::channel(false);
    let attempts = AtomicU32::new(0);
    let error = start_with_retries(
        StartOptions {
            what: "the test",
            connection: &connection,
            timeout: None,
            status: &status,
        },
        shutdown,
        || async {
            attempts.fetch_add(1, Ordering::Relaxed);
            Err::<(), _>(KeycloakError::Unauthorized {
                reason: "invalid client credentials".into(),
            })
        },
        classify,
    )
    .await
    .expect_err("refused");
    assert_eq!(attempts.load(Ordering::Relaxed), 1);
    assert!(matches!(error, Error::Start { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "check the secret (unauthorized: invalid client credentials)"
    );
    let source = std::error::Error::source(&error).expect("the failure is the source");
    assert_eq!(
        source.to_string(),
        "unauthorized: invalid client credentials"
    );
}

#[tokio::test]
async fn transient_failures_outlasting_the_timeout_name_it() {
    let connection = connection();
    let status = StartStatus::default();
    let (_stop, shutdown) = tokio::sync::watch::channel(false);
    let error = start_with_retries(
        StartOptions {
            what: "the test",
            connection: &connection,
            timeout: Some(Duration::from_millis(1)),
            status: &status,
        },
        shutdown,
        || async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            Err::<(), _>(down())
        },
        classify,
    )
    .await
    .expect_err("timed out");
    let text = error.to_string();
    assert!(
        text.starts_with("still failing after --startup-timeout (0s): is Keycloak reachable at --keycloak-url http://kc/"),
        "{text}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_shutdown_ends_the_start() {
    let connection = connection();
    let status = StartStatus::default();
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let attempts = AtomicU32::new(0);
    let start = start_with_retries(
        StartOptions {
            what: "the test",
            connection: &connection,
            timeout: None,
            status: &status,
        },
        shutdown,
        || async {
            attempts.fetch_add(1, Ordering::Relaxed);
            Err::<(), _>(down())
        },
        classify,
    );
    let stopping = async {
        tokio::time::sleep(Duration::from_secs(10)).await;
        let _ = stop.send(true);
    };
    let (started, ()) = tokio::join!(start, stopping);
    assert_eq!(started.expect("a clean stop"), None);
    assert!(attempts.load(Ordering::Relaxed) >= 2, "it was retrying");
}
