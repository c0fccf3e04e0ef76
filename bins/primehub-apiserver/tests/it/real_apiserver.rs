//! The real tier: the `primehub-apiserver` binary on the REAL Keycloak and the REAL
//! kube-apiserver, running the same flows as `fake_flows`, over HTTP only.
//!
//! Setup, as an operator would do it: a fresh realm bootstrapped with PrimeHub's bootstrap
//! (`primehub_keycloak::bootstrap`, what `primehub bootstrap` runs), a fresh namespace,
//! `kubectl apply -f deploy/crds/`, and `deploy/apiserver`'s ServiceAccount, Role and
//! RoleBinding applied into the namespace. The binary then runs **as that ServiceAccount** (a
//! kubeconfig with a token from the TokenRequest API), so the flows also prove that the Role
//! grants everything the API server needs. The client secret comes from a file, the shared
//! secret from `SHARED_GRAPHQL_SECRET_KEY`. At the end SIGTERM must stop it cleanly.
//!
//! Needs `PRIMEHUB_TEST_KEYCLOAK_URL` (+ `_ADMIN`, `_PASSWORD`), `PRIMEHUB_TEST_KUBECONFIG` and a
//! kubectl; without them it prints a loud SKIPPED line and passes, unless
//! `PRIMEHUB_TEST_REQUIRE_REAL=1` (`.ci/run`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::api::{Api, DeleteParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use primehub_keycloak::bootstrap::{RealmBootstrap, bootstrap_realm, delete_realm};
use primehub_keycloak::http::{Credentials, HttpKeycloak, HttpKeycloakConfig};
use serde_json::json;

use crate::flows::{self, Target};
use crate::manifests::apply_sh;
use crate::real_env::{self, get, kubectl, repo_root, skipped, var};

/// The admin `kube::Client` from a kubeconfig file.
pub async fn kube_admin(kubeconfig: &str) -> kube::Client {
    let file = Kubeconfig::read_from(kubeconfig).expect("the kubeconfig is readable");
    let config = kube::Config::from_custom_kubeconfig(file, &KubeConfigOptions::default())
        .await
        .expect("a client configuration");
    kube::Client::try_from(config).expect("a client")
}

/// A copy of `admin_kubeconfig` whose user is the bearer `token` (same cluster, same CA).
fn kubeconfig_with_token(admin_kubeconfig: &str, token: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(admin_kubeconfig).expect("read the kubeconfig");
    let mut doc: serde_json::Value = serde_yaml_ng::from_str(&text).expect("kubeconfig YAML");
    let current = doc["current-context"]
        .as_str()
        .expect("a current context")
        .to_owned();
    let context = doc["contexts"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == current.as_str()))
        .expect("the current context")
        .clone();
    let cluster_name = context["context"]["cluster"].clone();
    let mut cluster = doc["clusters"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == cluster_name))
        .expect("the cluster")
        .clone();
    // A relative CA path would be resolved against the new file's folder.
    if let Some(ca) = cluster["cluster"]["certificate-authority"].as_str() {
        let base = std::path::Path::new(admin_kubeconfig)
            .parent()
            .unwrap_or(std::path::Path::new("."));
        cluster["cluster"]["certificate-authority"] = json!(base.join(ca).display().to_string());
    }
    doc = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [cluster],
        "users": [{"name": "primehub-apiserver", "user": {"token": token}}],
        "contexts": [{"name": "sa", "context": {"cluster": cluster_name, "user": "primehub-apiserver"}}],
        "current-context": "sa",
    });
    let path =
        std::env::temp_dir().join(format!("{}.kubeconfig", real_env::unique("apiserver-sa")));
    std::fs::write(&path, serde_yaml_ng::to_string(&doc).expect("YAML")).expect("write");
    path
}

fn run_kubectl(kubectl: &std::path::Path, kubeconfig: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(kubectl)
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .output()
        .expect("kubectl runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "kubectl {args:?}: {text}");
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_the_flows_on_the_real_keycloak_and_kube_apiserver() {
    const TEST: &str = "primehub-apiserver on the real tier";
    let Some(keycloak_url) = var("PRIMEHUB_TEST_KEYCLOAK_URL") else {
        skipped(TEST, "PRIMEHUB_TEST_KEYCLOAK_URL is not set");
        return;
    };
    let Some(kubeconfig) = var("PRIMEHUB_TEST_KUBECONFIG") else {
        skipped(TEST, "PRIMEHUB_TEST_KUBECONFIG is not set");
        return;
    };
    let Some(kubectl) = kubectl() else {
        skipped(
            TEST,
            "no kubectl found ($KUBECTL, gcloud's kubectl.1.33, kubectl)",
        );
        return;
    };
    let master_user = var("PRIMEHUB_TEST_KEYCLOAK_ADMIN").unwrap_or_else(|| "admin".into());
    let master_password = var("PRIMEHUB_TEST_KEYCLOAK_PASSWORD").unwrap_or_else(|| "admin".into());
    let base = url::Url::parse(&keycloak_url).expect("PRIMEHUB_TEST_KEYCLOAK_URL is a URL");

    // Keycloak: a fresh realm in PrimeHub's shape, with phadmin.
    let realm = real_env::unique("ph-apiserver");
    let master = HttpKeycloak::new(HttpKeycloakConfig::new(
        base.clone(),
        "master",
        Credentials::master_admin(&master_user, &master_password),
    ))
    .expect("master client");
    let outcome = bootstrap_realm(
        &master,
        &RealmBootstrap::new(&realm).with_admin_user("phadmin", flows::ADMIN_PASSWORD),
    )
    .await
    .expect("bootstrapping the realm");

    // Kubernetes: a fresh namespace, the CRDs, the API server's RBAC.
    let client = kube_admin(&kubeconfig).await;
    let namespace = real_env::unique("apiserver-real");
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": namespace}})).expect("namespace"),
        )
        .await
        .expect("creating the namespace");
    let crds = repo_root().join("deploy/crds");
    run_kubectl(
        &kubectl,
        &kubeconfig,
        &[
            "apply",
            "--server-side",
            "--force-conflicts",
            "-f",
            crds.to_str().expect("utf-8"),
        ],
    );
    run_kubectl(
        &kubectl,
        &kubeconfig,
        &[
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd/images.primehub.io",
            "crd/instancetypes.primehub.io",
            "crd/datasets.primehub.io",
        ],
    );
    let deploy = repo_root().join("deploy/apiserver");
    let (ok, out) = apply_sh(
        &kubectl,
        &kubeconfig,
        &[
            &namespace,
            deploy.join("serviceaccount.yaml").to_str().expect("utf-8"),
            deploy.join("role.yaml").to_str().expect("utf-8"),
        ],
    );
    assert!(ok, "applying the RBAC: {out}");
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), &namespace);
    let token = accounts
        .create_token_request(
            "primehub-apiserver",
            &PostParams::default(),
            &TokenRequest {
                spec: Some(TokenRequestSpec {
                    expiration_seconds: Some(3600),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .await
        .expect("a token of the ServiceAccount")
        .status
        .and_then(|status| status.token)
        .expect("the token request's token");
    let sa_kubeconfig = kubeconfig_with_token(&kubeconfig, &token);

    // The binary, as the ServiceAccount.
    let secret_file = std::env::temp_dir().join(real_env::unique("apiserver-client-secret"));
    std::fs::write(
        &secret_file,
        format!("{}\n", outcome.admin_ui_client_secret),
    )
    .expect("write the client secret");
    let server = real_env::spawn(
        &[
            "--keycloak-url".into(),
            keycloak_url.clone(),
            "--realm".into(),
            realm.clone(),
            "--client-secret-file".into(),
            secret_file.display().to_string(),
            "--kubeconfig".into(),
            sa_kubeconfig.display().to_string(),
            "--namespace".into(),
            namespace.clone(),
        ],
        &[("SHARED_GRAPHQL_SECRET_KEY", flows::SHARED_SECRET)],
    )
    .await;
    let started = Instant::now();
    loop {
        let (status, body) = get(&format!("{}/readyz", server.url)).await;
        if status == 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "not ready after 120 s: {body}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    eprintln!("[real] ready after {:?}", started.elapsed());

    let other_admin = HttpKeycloak::new(HttpKeycloakConfig::new(
        base,
        &realm,
        Credentials::master_admin(&master_user, &master_password),
    ))
    .expect("another admin client");
    let target = Target {
        label: "real",
        api_url: server.url.clone(),
        token_endpoint: format!(
            "{}/realms/{realm}/protocol/openid-connect/token",
            keycloak_url.trim_end_matches('/')
        ),
        client_secret: outcome.admin_ui_client_secret.clone(),
        keycloak: Arc::new(other_admin),
    };
    // The checks run in a task so that the realm and the namespace are removed even when one
    // fails; the failure is re-raised afterwards.
    let checks = {
        let kubectl = kubectl.clone();
        let kubeconfig = kubeconfig.clone();
        let namespace = namespace.clone();
        tokio::spawn(async move {
            flows::run_all(&target).await;

            // The group's volume claim was created (as the ServiceAccount) and deleted with the
            // group. The real tier runs no kube-controller-manager, so the claim's
            // `pvc-protection` finalizer is never removed: it stays Terminating instead of
            // disappearing (the fake removes it).
            let deleted_at = run_kubectl(
                &kubectl,
                &kubeconfig,
                &[
                    "get",
                    "pvc",
                    "project-flow-team",
                    "-n",
                    &namespace,
                    "-o",
                    "jsonpath={.metadata.deletionTimestamp}",
                ],
            );
            assert!(
                !deleted_at.trim().is_empty(),
                "the group's volume claim is being deleted with the group"
            );

            let status = server.terminate().await;
            assert!(status.success(), "SIGTERM is a clean stop: {status}");
        })
        .await
    };

    let _ = delete_realm(&master, &realm).await;
    let _ = namespaces
        .delete(&namespace, &DeleteParams::default())
        .await;
    let _ = std::fs::remove_file(secret_file);
    let _ = std::fs::remove_file(sa_kubeconfig);
    if let Err(failure) = checks {
        std::panic::resume_unwind(failure.into_panic());
    }
}
