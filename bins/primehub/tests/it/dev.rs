//! `primehub dev` end to end: one listener serving the fake cluster and the fake Keycloak.

use axum::http::{Request, header};
use kube::Api;
use kube::api::ListParams;
use primehub::commands::dev::{self, DevArgs, Seed};
use primehub_model::crd::InstanceType;
use serde_json::Value;

type TestResult = Result<(), Box<dyn std::error::Error>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_serves_cluster_and_keycloak_on_one_listener() -> TestResult {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let args = DevArgs {
        admin_password: Some("s3cret".into()),
        ..DevArgs::default()
    };
    let server = dev::start(listener, &args).await?;
    assert!(server.banner().contains("phadmin / s3cret"));
    let client = kube::Client::try_from(kube::Config::new(server.url().parse()?))?;

    // Health.
    let health = client
        .request_text(Request::get("/healthz").body(Vec::new())?)
        .await?;
    assert_eq!(health, "ok");

    // The cluster face: the four instance types.
    let its: Api<InstanceType> = Api::namespaced(client.clone(), dev::NAMESPACE);
    let mut names: Vec<String> = its
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter_map(|it| it.metadata.name)
        .collect();
    names.sort();
    assert_eq!(names, ["cpu-1", "cpu-2", "gpu-1", "gpu-2"]);

    // The Keycloak face: a password grant for phadmin through admin-ui.
    let form = format!(
        "grant_type=password&client_id=admin-ui&client_secret={}&username=phadmin&password=s3cret",
        server.realm.admin_ui_client_secret
    );
    let token: Value = serde_json::from_str(
        &client
            .request_text(
                Request::post("/realms/primehub/protocol/openid-connect/token")
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(form.into_bytes())?,
            )
            .await?,
    )?;
    let access = token["access_token"]
        .as_str()
        .ok_or("no access token")?
        .to_owned();

    // The admin API: group phusers with phadmin as member.
    let groups: Value = serde_json::from_str(
        &client
            .request_text(
                Request::get("/admin/realms/primehub/groups?search=phusers")
                    .header(header::AUTHORIZATION, format!("Bearer {access}"))
                    .body(Vec::new())?,
            )
            .await?,
    )?;
    let group_id = groups
        .as_array()
        .and_then(|g| g.iter().find(|g| g["name"] == "phusers"))
        .and_then(|g| g["id"].as_str())
        .ok_or("no group phusers")?
        .to_owned();
    let members: Value = serde_json::from_str(
        &client
            .request_text(
                Request::get(format!("/admin/realms/primehub/groups/{group_id}/members"))
                    .header(header::AUTHORIZATION, format!("Bearer {access}"))
                    .body(Vec::new())?,
            )
            .await?,
    )?;
    assert!(
        members
            .as_array()
            .is_some_and(|m| m.iter().any(|u| u["username"] == "phadmin")),
        "members: {members}"
    );

    // PrimeHub's client Secrets, in the namespace, holding the realm's secrets.
    let secrets: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(client.clone(), dev::NAMESPACE);
    let read = |secret: &k8s_openapi::api::core::v1::Secret, key: &str| {
        secret
            .data
            .as_ref()
            .and_then(|d| d.get(key))
            .map(|v| String::from_utf8_lossy(&v.0).into_owned())
    };
    let admin_ui = secrets.get("primehub-client-admin-ui").await?;
    assert_eq!(read(&admin_ui, "client_id").as_deref(), Some("admin-ui"));
    assert_eq!(
        read(&admin_ui, "client_secret"),
        Some(server.realm.admin_ui_client_secret.clone())
    );
    assert_eq!(
        read(&admin_ui, "everyone_group_id"),
        Some(server.realm.everyone_group_id.clone())
    );
    let jupyterhub = secrets.get("primehub-client-jupyterhub").await?;
    assert_eq!(
        read(&jupyterhub, "client_id").as_deref(),
        Some("jupyterhub")
    );
    assert_eq!(
        read(&jupyterhub, "client_secret"),
        Some(server.realm.jupyterhub_client_secret.clone())
    );
    assert!(server.banner().contains("hub/primehub-client-admin-ui"));
    server.shutdown().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_seed_creates_only_the_realm() -> TestResult {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let args = DevArgs {
        seed: Seed::Empty,
        ..DevArgs::default()
    };
    let server = dev::start(listener, &args).await?;
    assert_eq!(server.admin_password.len(), 16);
    assert!(server.demo.is_none());
    // The kubeconfig primehub dev prints is what kube-rs reads: its default namespace included.
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&server.kubeconfig())?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await?;
    assert_eq!(config.default_namespace, dev::NAMESPACE);
    let client = kube::Client::try_from(config)?;
    let its: Api<InstanceType> = Api::default_namespaced(client);
    assert!(its.list(&ListParams::default()).await?.items.is_empty());
    server.shutdown().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn primehub_token_prints_an_api_token_that_the_api_accepts() -> anyhow::Result<()> {
    use primehub::commands::token::{self, TokenArgs};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let args = DevArgs {
        admin_password: Some("tok3n-pass".into()),
        ..DevArgs::default()
    };
    let server = dev::start(listener, &args).await?;
    let token_args = TokenArgs {
        url: server.url().to_owned(),
        username: "phadmin".into(),
        password_file: None,
    };
    let good = |name: &str| (name == token::PASSWORD_ENV).then(|| "tok3n-pass".to_owned());
    let mut out = Vec::new();
    let api_token = token::run(&token_args, &good, &mut out).await?;
    assert_eq!(String::from_utf8(out)?.trim(), api_token);
    // The token works as a bearer credential.
    let body: serde_json::Value = reqwest::Client::new()
        .post(server.graphql_url())
        .bearer_auth(&api_token)
        .json(&serde_json::json!({"query": "{ me { username apiTokenCount } }"}))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(body["data"]["me"]["username"], "phadmin");
    assert_eq!(body["data"]["me"]["apiTokenCount"], 1);
    // A wrong password and a missing one are clear errors.
    let bad = |name: &str| (name == token::PASSWORD_ENV).then(|| "wrong".to_owned());
    let err = token::run(&token_args, &bad, &mut Vec::new())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("invalid username or password"),
        "{err}"
    );
    let err = token::run(&token_args, &|_| None, &mut Vec::new())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("PRIMEHUB_PASSWORD"), "{err}");
    server.shutdown().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_registers_primehub_redirect_uris_on_its_listener() -> TestResult {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let server = dev::start(listener, &DevArgs::default()).await?;
    let url = server.url().to_owned();
    let banner = server.banner();
    assert!(
        banner.contains(&format!("admin-ui {url}/console/*; jupyterhub {url}/*")),
        "{banner}"
    );
    // The authorization endpoint shows the login page for those, and refuses the others.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let auth = format!("{}/protocol/openid-connect/auth", server.issuer());
    for (client, redirect, status) in [
        ("admin-ui", format!("{url}/console/"), 200),
        ("jupyterhub", format!("{url}/hub/oauth_callback"), 200),
        ("admin-ui", format!("{url}/hub/oauth_callback"), 400),
        ("jupyterhub", "http://elsewhere.test/".to_owned(), 400),
    ] {
        let response = http
            .get(&auth)
            .query(&[
                ("response_type", "code"),
                ("client_id", client),
                ("redirect_uri", redirect.as_str()),
                ("scope", "openid"),
            ])
            .send()
            .await?;
        assert_eq!(response.status().as_u16(), status, "{client} {redirect}");
    }
    server.shutdown().await?;
    Ok(())
}

/// A stand-in for `jupyterhub-singleuser`: serves HTTP on `--ip`/`--port`, prints its pid.
const FAKE_SINGLEUSER: &str = r#"#!/usr/bin/env python3
import os, sys, http.server
args = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--") and "=" in a)
print(f"pid {os.getpid()} user {os.environ.get('JUPYTERHUB_USER')}", flush=True)
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer((args["ip"], int(args["port"])), Handler).serve_forever()
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_runs_notebook_pods_with_the_notebook_command_and_stops_them() -> TestResult {
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::PostParams;
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("primehub-dev-nb-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let command = dir.join("fake-singleuser");
    std::fs::write(&command, FAKE_SINGLEUSER)?;
    std::fs::set_permissions(&command, std::fs::Permissions::from_mode(0o755))?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let args = DevArgs {
        notebook_command: Some(command.clone()),
        ..DevArgs::default()
    };
    let server = dev::start(listener, &args).await?;
    assert!(
        server.banner().contains(&format!(
            "Notebook pods:         run as {}",
            command.display()
        )),
        "{}",
        server.banner()
    );
    let pods: Api<Pod> = Api::namespaced(server.cluster.client(), dev::NAMESPACE);
    let pod: Pod = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "jupyter-phadmin", "labels": {"component": "singleuser-server"}},
        "spec": {"containers": [{"name": "notebook", "image": "base-notebook",
            "ports": [{"containerPort": 8888}],
            "env": [{"name": "JUPYTERHUB_USER", "value": "phadmin"}]}]},
    }))?;
    pods.create(&PostParams::default(), &pod).await?;
    let mut status = Value::Null;
    for _ in 0..1500 {
        status = serde_json::to_value(pods.get("jupyter-phadmin").await?.status)?;
        if status["phase"] == "Running" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(status["phase"], "Running", "{status}");
    let ip: std::net::Ipv4Addr = status["podIP"].as_str().unwrap_or_default().parse()?;
    assert_eq!(ip.octets()[..2], [127, 77]);
    let log = pods.logs("jupyter-phadmin", &Default::default()).await?;
    assert!(log.contains("user phadmin"), "{log}");
    let pid: u32 = log
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .ok_or("no pid")?;
    // Stopping primehub dev stops the notebook processes.
    server.shutdown().await?;
    let proc_dir = std::path::PathBuf::from(format!("/proc/{pid}"));
    for _ in 0..500 {
        if !proc_dir.exists() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        !proc_dir.exists(),
        "the notebook process outlived primehub dev"
    );
    let _ = std::fs::remove_dir_all(&dir);

    // --no-notebook-processes: notebook pods are simulated like any other.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let args = DevArgs {
        no_notebook_processes: true,
        ..DevArgs::default()
    };
    let server = dev::start(listener, &args).await?;
    assert!(server.banner().contains("Notebook pods:         simulated"));
    assert!(server.notebook_command.is_none());
    server.shutdown().await?;
    Ok(())
}
