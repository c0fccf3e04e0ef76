//! The shared flags: defaults, PrimeHub's environment variable names, secret files, errors
//! naming the flag, and the hints for a Keycloak that refuses the client.

use clap::Parser;
use primehub_keycloak::KeycloakError;
use primehub_service::cli::{ConnectionArgs, LogFormat, ProcessArgs};
use primehub_service::settings::ConnectionSettings;

/// A service with the shared flags only.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    connection: ConnectionArgs,
    #[command(flatten)]
    process: ProcessArgs,
}

fn parse(args: &[&str]) -> Args {
    let mut all = vec!["svc"];
    all.extend_from_slice(args);
    Args::try_parse_from(all).expect("the flags parse")
}

fn resolve_err(args: &[&str]) -> String {
    let error = ConnectionSettings::resolve(&parse(args).connection).expect_err("refused");
    // The whole chain, as the binaries log it.
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

fn temp_file(content: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!(
        "primehub-service-test-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::write(&path, content).expect("write the file");
    path
}

#[test]
fn defaults_are_primehubs() {
    let args = parse(&[
        "--keycloak-url",
        "http://kc.example:8080/",
        "--client-secret",
        "s3cret",
    ]);
    assert_eq!(
        args.process.startup_timeout().map(|t| t.as_secs()),
        Some(600)
    );
    assert_eq!(args.process.log_format, LogFormat::Json);
    let settings = ConnectionSettings::resolve(&args.connection).expect("valid");
    assert_eq!(settings.realm, "primehub");
    assert_eq!(settings.client_id, "admin-ui");
    assert_eq!(settings.namespace, "hub");
    assert_eq!(settings.naming.prefix, None);
    assert_eq!(settings.kubeconfig, None);
    assert_eq!(
        settings.oidc_endpoint("token"),
        "http://kc.example:8080/realms/primehub/protocol/openid-connect/token"
    );
    assert!(!format!("{settings:?}").contains("s3cret"));
    assert_eq!(
        parse(&["--keycloak-url", "http://kc", "--startup-timeout", "0"])
            .process
            .startup_timeout(),
        None,
        "0 means retry forever"
    );
}

#[test]
fn the_secret_file_wins_and_loses_its_trailing_newline() {
    let file = temp_file("from-file\r\n");
    let args = parse(&[
        "--keycloak-url",
        "http://kc",
        "--client-secret",
        "from-flag",
        "--client-secret-file",
        file.to_str().expect("utf-8 path"),
        "--role-prefix",
        " site1 ",
        "--realm",
        "ph",
    ]);
    let settings = ConnectionSettings::resolve(&args.connection).expect("valid");
    assert_eq!(settings.client_secret, "from-file");
    assert_eq!(settings.naming.prefix.as_deref(), Some("site1"));
    assert_eq!(settings.realm, "ph");
    let _ = std::fs::remove_file(file);
}

#[test]
fn bad_input_names_the_flag_and_its_variable() {
    let err = resolve_err(&["--keycloak-url", "http://kc"]);
    assert!(err.contains("KC_CLIENT_SECRET"), "{err}");
    assert!(err.contains("--client-secret-file"), "{err}");
    assert!(err.contains("\"admin-ui\""), "names the client: {err}");

    let err = resolve_err(&["--keycloak-url", "not a url", "--client-secret", "x"]);
    assert!(
        err.starts_with("--keycloak-url (KC_API_BASEURL) \"not a url\" is not a URL: "),
        "{err}"
    );
    let err = resolve_err(&["--keycloak-url", "ftp://kc", "--client-secret", "x"]);
    assert!(
        err.contains("--keycloak-url (KC_API_BASEURL) \"ftp://kc\" must be an http"),
        "{err}"
    );
    let err = resolve_err(&["--keycloak-url", "http://kc/?a=b", "--client-secret", "x"]);
    assert!(err.contains("must not have a query or fragment"), "{err}");

    let err = resolve_err(&[
        "--keycloak-url",
        "http://kc",
        "--client-secret-file",
        "/nonexistent/primehub-client-secret",
    ]);
    assert!(
        err.starts_with(
            "--client-secret-file (KC_CLIENT_SECRET_FILE) /nonexistent/primehub-client-secret: \
             cannot read the file: "
        ),
        "{err}"
    );
    let empty = temp_file("\n");
    let err = resolve_err(&[
        "--keycloak-url",
        "http://kc",
        "--client-secret-file",
        empty.to_str().expect("utf-8 path"),
    ]);
    assert!(
        err.contains("--client-secret-file (KC_CLIENT_SECRET_FILE)"),
        "{err}"
    );
    assert!(err.ends_with("the file is empty"), "{err}");
    let _ = std::fs::remove_file(empty);

    let err = resolve_err(&["--keycloak-url", "http://kc", "--client-secret", ""]);
    assert_eq!(err, "--client-secret (KC_CLIENT_SECRET) is set but empty");
    let err = resolve_err(&[
        "--keycloak-url",
        "http://kc",
        "--client-secret",
        "x",
        "--role-prefix",
        "a:b",
    ]);
    assert!(err.starts_with("--role-prefix (KC_ROLE_PREFIX) "), "{err}");
    let err = resolve_err(&[
        "--keycloak-url",
        "http://kc",
        "--client-secret",
        "x",
        "--realm",
        " ",
    ]);
    assert_eq!(err, "--realm (KC_REALM) must not be empty");
    let err = resolve_err(&[
        "--keycloak-url",
        "http://kc",
        "--client-secret",
        "x",
        "--namespace",
        "",
    ]);
    assert_eq!(err, "--namespace (K8S_CRD_NAMESPACE) must not be empty");
    let err = resolve_err(&[
        "--keycloak-url",
        "http://kc",
        "--client-secret",
        "x",
        "--client-id",
        "",
    ]);
    assert_eq!(err, "--client-id (KC_CLIENT_ID) must not be empty");
    let err = resolve_err(&[
        "--keycloak-url",
        "http://kc",
        "--client-secret",
        "x",
        "--kubeconfig",
        "/nonexistent/kubeconfig",
    ]);
    assert_eq!(err, "--kubeconfig /nonexistent/kubeconfig: no such file");

    assert!(
        Args::try_parse_from([
            "svc",
            "--keycloak-url",
            "http://kc",
            "--startup-timeout",
            "-1"
        ])
        .is_err(),
        "--startup-timeout takes seconds"
    );
    // Required when the settings are resolved (a service mode without Keycloak may omit it).
    let err = resolve_err(&["--client-secret", "x"]);
    assert!(
        err.contains("--keycloak-url (KC_API_BASEURL)"),
        "--keycloak-url is required: {err}"
    );
}

#[test]
fn keycloak_refusals_get_a_hint_naming_the_flags() {
    let args = parse(&[
        "--keycloak-url",
        "http://kc",
        "--client-secret",
        "x",
        "--realm",
        "ph",
    ]);
    let settings = ConnectionSettings::resolve(&args.connection).expect("valid");
    let hint = |e: KeycloakError| settings.keycloak_hint(&e, "the controller");
    let unauthorized = hint(KeycloakError::Unauthorized {
        reason: "no".into(),
    })
    .expect("a hint");
    assert!(
        unauthorized.starts_with("Keycloak refused the controller's token grant"),
        "{unauthorized}"
    );
    for flag in [
        "--keycloak-url (KC_API_BASEURL",
        "--realm (KC_REALM, now \"ph\"",
        "--client-id",
        "--client-secret-file",
    ] {
        assert!(unauthorized.contains(flag), "{flag} in {unauthorized}");
    }
    let not_found = hint(KeycloakError::NotFound {
        what: "realm".into(),
    })
    .expect("a hint");
    assert!(
        not_found.contains("--realm (KC_REALM, now \"ph\")"),
        "{not_found}"
    );
    let forbidden = hint(KeycloakError::Forbidden {
        reason: "no".into(),
    })
    .expect("a hint");
    assert!(forbidden.contains("realm-admin"), "{forbidden}");
    assert_eq!(
        hint(KeycloakError::Transport {
            message: "down".into()
        }),
        None
    );
    assert!(
        settings
            .kube_hint("deploy/controller")
            .contains("deploy/controller")
    );
}
