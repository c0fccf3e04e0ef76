//! Flags and settings: defaults, PrimeHub's environment variable names, the sweep's flags, and
//! errors naming the flag.

use std::time::Duration;

use clap::Parser;
use primehub_controller::cli::Args;
use primehub_controller::settings::{Mode, Settings};

fn parse(args: &[&str]) -> Args {
    let mut all = vec!["primehub-controller"];
    all.extend_from_slice(args);
    Args::try_parse_from(all).expect("the flags parse")
}

fn resolve_err(args: &[&str]) -> String {
    format!(
        "{:#}",
        Settings::resolve(&parse(args)).expect_err("the settings are refused")
    )
}

fn parse_err(args: &[&str]) -> String {
    let mut all = vec!["primehub-controller"];
    all.extend_from_slice(args);
    Args::try_parse_from(all)
        .expect_err("the flags are refused")
        .to_string()
}

#[test]
fn defaults_watch_primehubs_namespace_and_listen_on_8080() {
    let settings = Settings::resolve(&parse(&[
        "--keycloak-url",
        "http://kc",
        "--client-secret",
        "s3cret",
    ]))
    .expect("valid");
    assert_eq!(settings.listen.to_string(), "0.0.0.0:8080");
    assert_eq!(settings.mode, Mode::Watch);
    assert_eq!(settings.connection.realm, "primehub");
    assert_eq!(settings.connection.client_id, "admin-ui");
    assert_eq!(settings.connection.namespace, "hub");
    assert_eq!(settings.connection.naming.prefix, None);
    assert_eq!(settings.startup_timeout, Some(Duration::from_secs(600)));
    assert!(!format!("{settings:?}").contains("s3cret"));
}

#[test]
fn the_sweep_flags() {
    let settings = Settings::resolve(&parse(&[
        "--keycloak-url",
        "http://kc",
        "--client-secret",
        "x",
        "--prune-orphan-roles",
    ]))
    .expect("valid");
    assert_eq!(
        settings.mode,
        Mode::Prune {
            dry_run: false,
            grace: Duration::from_secs(60),
        },
        "the grace role_sync::DEFAULT_PRUNE_GRACE suggests"
    );
    let settings = Settings::resolve(&parse(&[
        "--keycloak-url",
        "http://kc",
        "--client-secret",
        "x",
        "--prune-orphan-roles",
        "--dry-run",
        "--prune-grace",
        "0",
    ]))
    .expect("valid");
    assert_eq!(
        settings.mode,
        Mode::Prune {
            dry_run: true,
            grace: Duration::ZERO,
        }
    );

    // The sweep's options without the sweep are refused, naming it.
    for flags in [&["--dry-run"][..], &["--prune-grace", "5"][..]] {
        let mut args = vec!["--keycloak-url", "http://kc"];
        args.extend_from_slice(flags);
        let err = parse_err(&args);
        assert!(err.contains("--prune-orphan-roles"), "{err}");
    }
    let err = parse_err(&[
        "--keycloak-url",
        "http://kc",
        "--prune-orphan-roles",
        "--prune-grace",
        "soon",
    ]);
    assert!(err.contains("--prune-grace"), "{err}");
}

/// The connection flags' checks are `primehub-service`'s (tested there); here, that the
/// controller's flags reach them and the errors name the flag and its variable.
#[test]
fn bad_input_names_the_flag_and_its_variable() {
    let err = resolve_err(&["--keycloak-url", "not a url", "--client-secret", "x"]);
    assert!(err.contains("--keycloak-url (KC_API_BASEURL)"), "{err}");

    let err = resolve_err(&["--keycloak-url", "http://kc"]);
    assert!(
        err.contains("--client-secret-file (KC_CLIENT_SECRET_FILE)"),
        "{err}"
    );
    assert!(err.contains("KC_CLIENT_SECRET"), "{err}");

    let err = resolve_err(&[
        "--keycloak-url",
        "http://kc",
        "--client-secret-file",
        "/nonexistent/primehub-client-secret",
    ]);
    assert!(
        err.contains(
            "--client-secret-file (KC_CLIENT_SECRET_FILE) /nonexistent/primehub-client-secret"
        ),
        "{err}"
    );

    let err = parse_err(&["--keycloak-url", "http://kc", "--listen", "nowhere"]);
    assert!(err.contains("--listen"), "{err}");
    let err = resolve_err(&["--client-secret", "x"]);
    assert!(err.contains("--keycloak-url (KC_API_BASEURL)"), "{err}");
}

/// The upload servers' container resources, by the chart's keys: crossed over as PrimeHub's hook
/// renders them, every quantity checked at start, naming the flag, its variable and the key.
#[test]
fn upload_server_resources_follow_the_charts_keys() {
    const BASE: [&str; 4] = ["--keycloak-url", "http://kc", "--client-secret", "x"];
    let with = |extra: &[&str]| {
        let mut all = BASE.to_vec();
        all.extend_from_slice(extra);
        Settings::resolve(&parse(&all))
    };
    let defaults = with(&[]).expect("valid");
    let upload = defaults.datasets.upload_server.expect("on by default");
    let memory = |r: &k8s_openapi::api::core::v1::ResourceRequirements, section: &str| {
        let map = if section == "limits" {
            &r.limits
        } else {
            &r.requests
        };
        map.as_ref()
            .and_then(|m| m.get("memory"))
            .map(|q| q.0.clone())
    };
    assert_eq!(
        memory(&upload.tusd_resources, "limits").as_deref(),
        Some("256Mi")
    );
    assert_eq!(
        memory(&upload.front_end_resources, "limits").as_deref(),
        Some("128Mi")
    );

    let settings = with(&[
        "--dataset-upload-web-front-end-resources",
        r#"{"limits": {"cpu": "1", "memory": "1Gi"}}"#,
        "--dataset-upload-tusd-resources",
        r#"{"requests": {"memory": "64Mi"}}"#,
    ])
    .expect("valid");
    let upload = settings.datasets.upload_server.expect("on");
    assert_eq!(
        memory(&upload.tusd_resources, "limits").as_deref(),
        Some("1Gi")
    );
    assert_eq!(
        memory(&upload.tusd_resources, "requests"),
        None,
        "replaced, not merged"
    );
    assert_eq!(
        memory(&upload.front_end_resources, "requests").as_deref(),
        Some("64Mi")
    );

    let err = format!(
        "{:#}",
        with(&[
            "--dataset-upload-tusd-resources",
            r#"{"limits": {"memory": "lots"}}"#
        ])
        .expect_err("a bad quantity")
    );
    assert!(
        err.contains(
            "--dataset-upload-tusd-resources (DATASETUPLOAD_INTERFACE_TUSD_RESOURCES) limits.memory"
        ),
        "{err}"
    );
    let err = format!(
        "{:#}",
        with(&[
            "--dataset-upload-web-front-end-resources",
            r#"{"claims": {"memory": "1Gi"}}"#
        ])
        .expect_err("an unknown section")
    );
    assert!(err.contains("\"claims\" is not a section"), "{err}");
    let err = format!(
        "{:#}",
        with(&["--dataset-upload-web-front-end-resources", "cpu=1"]).expect_err("not JSON")
    );
    assert!(
        err.contains("--dataset-upload-web-front-end-resources (DATASETUPLOAD_INTERFACE_WEBFRONTENDIMAGE_RESOURCES) is not the JSON"),
        "{err}"
    );
}
