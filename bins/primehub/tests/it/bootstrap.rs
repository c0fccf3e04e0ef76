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
        kubeconfig: None,
        namespace: "hub".into(),
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

/// A kubeconfig file for the API server at `url`, in the temporary directory.
fn kubeconfig_file(url: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!(
        "primehub-bootstrap-test-{}.kubeconfig",
        uuid_like()
    ));
    let yaml = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {url}\n\
         users:\n- name: fake\n  user: {{}}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n\
         current-context: fake\n"
    );
    std::fs::write(&path, yaml).expect("write the kubeconfig");
    path
}

fn uuid_like() -> String {
    use rand::Rng;
    format!("{:016x}", rand::rng().random::<u64>())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_kubeconfig_the_client_secrets_are_written_once() {
    use k8s_openapi::api::core::v1::Secret;
    use kube::Api;

    let keycloak = FakeKeycloak::new().expect("fake keycloak");
    let kc_server = keycloak
        .serve(
            tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind"),
        )
        .expect("serve");
    // The fake cluster, over HTTP, as a real cluster is reached.
    let cluster = primehub_reconcile::fake::FakeCluster::new();
    let kube_server = cluster
        .serve(
            tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind"),
        )
        .expect("serve the fake cluster");
    let kubeconfig = kubeconfig_file(kube_server.url());

    let mut with_cluster = args(kc_server.url(), true);
    with_cluster.kubeconfig = Some(kubeconfig.clone());
    let mut out = Vec::new();
    let first = bootstrap::run(&with_cluster, &env, &mut out)
        .await
        .expect("bootstrap with a cluster");
    let printed: serde_json::Value = serde_json::from_slice(&out).expect("JSON output");
    assert_eq!(
        printed["secrets"],
        serde_json::json!([
            {"namespace": "hub", "name": "primehub-client-admin-ui", "change": "created"},
            {"namespace": "hub", "name": "primehub-client-jupyterhub", "change": "created"},
        ])
    );

    let client = kube::Client::try_from(kube::Config::new(kube_server.url().parse().expect("uri")))
        .expect("kube client");
    let secrets: Api<Secret> = Api::namespaced(client, "hub");
    let read = |secret: &Secret, key: &str| {
        secret
            .data
            .as_ref()
            .and_then(|d| d.get(key))
            .map(|v| String::from_utf8_lossy(&v.0).into_owned())
    };
    let admin_ui = secrets
        .get("primehub-client-admin-ui")
        .await
        .expect("admin-ui secret");
    assert_eq!(
        read(&admin_ui, "client_secret"),
        Some(first.admin_ui_client_secret.clone())
    );
    assert_eq!(
        read(&admin_ui, "everyone_group_id"),
        Some(first.everyone_group_id.clone())
    );
    let jupyterhub = secrets
        .get("primehub-client-jupyterhub")
        .await
        .expect("jupyterhub secret");
    assert_eq!(
        read(&jupyterhub, "client_secret"),
        Some(first.jupyterhub_client_secret.clone())
    );

    // Again: nothing changes in Keycloak or in the cluster.
    let mut text = Vec::new();
    with_cluster.json = false;
    let second = bootstrap::run(&with_cluster, &env, &mut text)
        .await
        .expect("second bootstrap");
    assert!(!second.changed(), "{:?}", second.created);
    let text = String::from_utf8(text).expect("utf-8");
    assert!(
        text.contains("secret hub/primehub-client-admin-ui: unchanged"),
        "{text}"
    );
    let again = secrets
        .get("primehub-client-admin-ui")
        .await
        .expect("admin-ui secret");
    assert_eq!(
        again.metadata.resource_version,
        admin_ui.metadata.resource_version
    );

    // A namespace that does not exist is a clear error, after the realm was set up.
    let mut elsewhere = with_cluster.clone();
    elsewhere.namespace = "nowhere".into();
    let err = bootstrap::run(&elsewhere, &env, &mut Vec::new())
        .await
        .expect_err("no namespace nowhere");
    assert!(format!("{err:#}").contains("\"nowhere\""), "{err:#}");

    // A kubeconfig that cannot be read fails before Keycloak is called.
    let mut bad = args("http://127.0.0.1:1", false);
    bad.kubeconfig = Some("/nonexistent/kubeconfig".into());
    let err = bootstrap::run(&bad, &env, &mut Vec::new())
        .await
        .expect_err("no kubeconfig");
    let shown = format!("{err:#}");
    assert!(
        shown.contains("--kubeconfig /nonexistent/kubeconfig"),
        "{shown}"
    );
    assert!(!shown.contains("bootstrapping realm"), "{shown}");

    let _ = std::fs::remove_file(kubeconfig);
    kube_server.shutdown().await;
    kc_server.shutdown().await;
}
