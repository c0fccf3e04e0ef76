//! Flags and settings: defaults, PrimeHub's environment variable names, secret files, and
//! errors naming the flag.

use clap::Parser;
use primehub_apiserver::cli::Args;
use primehub_apiserver::settings::Settings;

fn parse(args: &[&str]) -> Args {
    let mut all = vec!["primehub-apiserver"];
    all.extend_from_slice(args);
    Args::try_parse_from(all).expect("the flags parse")
}

fn resolve_err(args: &[&str]) -> String {
    format!(
        "{:#}",
        Settings::resolve(&parse(args)).expect_err("the settings are refused")
    )
}

fn temp_file(content: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!(
        "primehub-apiserver-test-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::write(&path, content).expect("write the file");
    path
}

#[test]
fn defaults_are_primehubs() {
    let args = parse(&[
        "--keycloak-url",
        "http://keycloak.example:8080/",
        "--client-secret",
        "s3cret",
    ]);
    let settings = Settings::resolve(&args).expect("valid");
    assert_eq!(settings.listen.to_string(), "0.0.0.0:3001");
    assert_eq!(settings.connection.realm, "primehub");
    assert_eq!(settings.connection.client_id, "admin-ui");
    assert_eq!(settings.connection.namespace, "hub");
    assert_eq!(settings.shared_secret, None);
    assert_eq!(settings.graphql_host, None);
    assert_eq!(settings.connection.naming.prefix, None);
    assert_eq!(settings.startup_timeout.map(|t| t.as_secs()), Some(600));
    assert_eq!(
        settings.issuer(),
        "http://keycloak.example:8080/realms/primehub"
    );
    assert_eq!(
        settings.oidc_endpoint("certs"),
        "http://keycloak.example:8080/realms/primehub/protocol/openid-connect/certs"
    );
    assert_eq!(
        settings.notebook,
        primehub_model::pod::notebook::NotebookPodConfig::default(),
        "the chart's notebook defaults"
    );
    // Secrets never show in debug output (which may end up in logs).
    assert!(!format!("{settings:?}").contains("s3cret"));
}

#[test]
fn the_public_url_sets_the_issuer_and_the_internal_url_the_endpoints() {
    let args = parse(&[
        "--keycloak-url",
        "http://keycloak-http.hub",
        "--keycloak-public-url",
        "https://id.example.com/auth",
        "--realm",
        "ph",
        "--client-secret",
        "x",
        "--role-prefix",
        "site1",
        "--startup-timeout",
        "0",
    ]);
    let settings = Settings::resolve(&args).expect("valid");
    assert_eq!(settings.issuer(), "https://id.example.com/auth/realms/ph");
    assert_eq!(
        settings.oidc_endpoint("token"),
        "http://keycloak-http.hub/realms/ph/protocol/openid-connect/token"
    );
    assert_eq!(settings.connection.naming.prefix.as_deref(), Some("site1"));
    assert_eq!(settings.startup_timeout, None, "0 means retry forever");
}

#[test]
fn secret_files_win_and_lose_their_trailing_newline() {
    let client = temp_file("from-file\n");
    let shared = temp_file("shared-from-file\r\n");
    let args = parse(&[
        "--keycloak-url",
        "http://kc",
        "--client-secret",
        "from-flag",
        "--client-secret-file",
        client.to_str().expect("utf-8 path"),
        "--shared-secret-file",
        shared.to_str().expect("utf-8 path"),
    ]);
    let settings = Settings::resolve(&args).expect("valid");
    assert_eq!(settings.connection.client_secret, "from-file");
    assert_eq!(settings.shared_secret.as_deref(), Some("shared-from-file"));
    let _ = std::fs::remove_file(client);
    let _ = std::fs::remove_file(shared);
}

#[test]
fn bad_input_names_the_flag() {
    let err = resolve_err(&["--keycloak-url", "http://kc"]);
    assert!(err.contains("KC_CLIENT_SECRET"), "{err}");
    assert!(err.contains("--client-secret-file"), "{err}");

    let err = resolve_err(&["--keycloak-url", "not a url", "--client-secret", "x"]);
    assert!(err.contains("--keycloak-url (KC_API_BASEURL)"), "{err}");

    let err = resolve_err(&["--keycloak-url", "ftp://kc", "--client-secret", "x"]);
    assert!(err.contains("--keycloak-url"), "{err}");

    let err = resolve_err(&[
        "--keycloak-url",
        "http://kc",
        "--client-secret",
        "x",
        "--graphql-host",
        "hub.example.com",
    ]);
    assert!(err.contains("--graphql-host (GRAPHQL_HOST)"), "{err}");
    let args = parse(&[
        "--keycloak-url",
        "http://kc",
        "--client-secret",
        "x",
        "--graphql-host",
        "https://hub.example.com/",
    ]);
    let settings = Settings::resolve(&args).expect("valid");
    assert_eq!(
        settings.graphql_host.as_deref(),
        Some("https://hub.example.com")
    );

    let err = resolve_err(&[
        "--keycloak-url",
        "http://kc",
        "--client-secret-file",
        "/nonexistent/primehub-client-secret",
    ]);
    assert!(err.contains("--client-secret-file"), "{err}");
    assert!(err.contains("/nonexistent/primehub-client-secret"), "{err}");

    let empty = temp_file("\n");
    let err = resolve_err(&[
        "--keycloak-url",
        "http://kc",
        "--client-secret",
        "x",
        "--shared-secret-file",
        empty.to_str().expect("utf-8 path"),
    ]);
    assert!(err.contains("--shared-secret-file"), "{err}");
    assert!(err.contains("empty"), "{err}");
    let _ = std::fs::remove_file(empty);

    let err = resolve_err(&[
        "--keycloak-url",
        "http://kc",
        "--client-secret",
        "x",
        "--role-prefix",
        "a:b",
    ]);
    assert!(err.contains("--role-prefix (KC_ROLE_PREFIX)"), "{err}");

    let err = resolve_err(&[
        "--keycloak-url",
        "http://kc",
        "--client-secret",
        "x",
        "--kubeconfig",
        "/nonexistent/kubeconfig",
    ]);
    assert!(
        err.contains("--kubeconfig /nonexistent/kubeconfig"),
        "{err}"
    );

    let err = resolve_err(&["--keycloak-url", "http://kc", "--client-secret", ""]);
    assert!(err.contains("--client-secret (KC_CLIENT_SECRET)"), "{err}");

    assert!(
        Args::try_parse_from([
            "primehub-apiserver",
            "--keycloak-url",
            "http://kc",
            "--listen",
            "nowhere"
        ])
        .is_err(),
        "--listen takes an address"
    );
}

#[test]
fn notebook_settings_take_the_charts_names_and_refuse_a_half_configured_feature() {
    let base = ["--keycloak-url", "http://kc", "--client-secret", "x"];
    let with = |extra: &[&str]| {
        let mut all = base.to_vec();
        all.extend_from_slice(extra);
        all.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()
    };
    let args = with(&[
        "--grant-sudo",
        "false",
        "--phfs-enabled",
        "true",
        "--phfs-pvc",
        "phfs",
        "--start-notebook-config-map",
        "start-notebook-d",
        "--kernel-gateway",
        "yes",
        "--ssh-server-enabled",
        "1",
        "--singleuser-image",
        "jupyter/base-notebook:x",
        "--singleuser-storage-class",
        "fast",
    ]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let settings = Settings::resolve(&parse(&refs)).expect("valid");
    let n = &settings.notebook;
    assert!(!n.grant_sudo);
    assert!(n.phfs_enabled && n.kernel_gateway_enabled && n.ssh_server_enabled);
    assert_eq!(n.phfs_pvc, "phfs");
    assert_eq!(
        n.start_notebook_config_map.as_deref(),
        Some("start-notebook-d")
    );
    assert_eq!(n.default_image, "jupyter/base-notebook:x");
    assert_eq!(n.home_storage_class.as_deref(), Some("fast"));

    let args = with(&["--phfs-enabled", "true"]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let err = resolve_err(&refs);
    assert!(
        err.contains("--phfs-pvc (PRIMEHUB_NOTEBOOK_PHFS_PVC)"),
        "{err}"
    );
    let args = with(&["--kernel-gateway", "true"]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let err = resolve_err(&refs);
    assert!(err.contains("--singleuser-image"), "{err}");
}
