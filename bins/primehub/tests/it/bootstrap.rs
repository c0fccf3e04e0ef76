//! `primehub bootstrap` against the fake Keycloak's HTTP face (the same admin REST API as a real
//! Keycloak; `primehub-keycloak`'s real tests run `bootstrap_realm` against Keycloak 26 itself).

use primehub::commands::bootstrap::{self, BootstrapArgs};
use primehub_keycloak::fake::FakeKeycloak;

fn args(url: &str, json: bool) -> BootstrapArgs {
    BootstrapArgs {
        keycloak_url: url.to_owned(),
        realm: "primehub".into(),
        master_user: "admin".into(),
        master_password_file: None,
        admin_username: "phadmin".into(),
        admin_password_file: None,
        admin_ui_redirect_uris: vec!["http://127.0.0.1/console/*".into()],
        jupyterhub_redirect_uris: vec![],
        json,
    }
}

fn env(name: &str) -> Option<String> {
    match name {
        bootstrap::MASTER_PASSWORD_ENV => Some("admin".into()),
        bootstrap::ADMIN_PASSWORD_ENV => Some("Ph-Admin-Passw0rd\n".into()),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstraps_once_then_changes_nothing_and_the_admin_can_log_in() {
    let keycloak = FakeKeycloak::new().expect("fake keycloak");
    let server = keycloak
        .serve(
            tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind"),
        )
        .expect("serve");

    let mut out = Vec::new();
    let first = bootstrap::run(&args(server.url(), true), &env, &mut out)
        .await
        .expect("first bootstrap");
    assert!(first.changed());
    let printed: serde_json::Value = serde_json::from_slice(&out).expect("JSON output");
    assert_eq!(printed["realm"], "primehub");
    assert_eq!(printed["adminUiClientSecret"], first.admin_ui_client_secret);
    assert!(printed["adminUserId"].is_string());

    let mut text = Vec::new();
    let second = bootstrap::run(&args(server.url(), false), &env, &mut text)
        .await
        .expect("second bootstrap");
    assert!(
        !second.changed(),
        "a second run changes nothing: {:?}",
        second.created
    );
    assert_eq!(second.admin_ui_client_secret, first.admin_ui_client_secret);
    let text = String::from_utf8(text).expect("utf-8");
    assert!(text.contains("present  realm"), "{text}");
    assert!(text.contains(&first.admin_ui_client_secret), "{text}");

    // The trailing newline of the password (as files and `echo` leave it) is not part of it.
    let tokens = keycloak
        .realm("primehub")
        .expect("realm")
        .token_password(
            "admin-ui",
            Some(&first.admin_ui_client_secret),
            "phadmin",
            "Ph-Admin-Passw0rd",
            None,
        )
        .expect("phadmin logs in");
    assert!(!tokens.access_token.is_empty());
    server.shutdown().await;
}

#[tokio::test]
async fn missing_or_bad_inputs_are_clear_errors() {
    let no_env = |_: &str| None;
    let err = bootstrap::run(&args("http://127.0.0.1:1", false), &no_env, &mut Vec::new())
        .await
        .expect_err("no master password");
    assert!(
        err.to_string().contains(bootstrap::MASTER_PASSWORD_ENV),
        "{err}"
    );

    let err = bootstrap::run(&args("not a url", false), &env, &mut Vec::new())
        .await
        .expect_err("bad URL");
    assert!(err.to_string().contains("--keycloak-url"), "{err}");

    let mut with_file = args("http://127.0.0.1:1", false);
    with_file.master_password_file = Some("/nonexistent/primehub-password".into());
    let err = bootstrap::run(&with_file, &env, &mut Vec::new())
        .await
        .expect_err("missing file");
    assert!(
        format!("{err:#}").contains("/nonexistent/primehub-password"),
        "{err:#}"
    );

    let err = bootstrap::run(&args("http://127.0.0.1:1", false), &env, &mut Vec::new())
        .await
        .expect_err("nothing listens on port 1");
    assert!(
        format!("{err:#}").contains("bootstrapping realm"),
        "{err:#}"
    );
}
