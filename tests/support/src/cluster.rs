//! The real kube-apiserver as an operator uses it: an admin client, namespaces, PrimeHub's
//! CRDs, a ServiceAccount's kubeconfig, and kubectl.

use std::path::{Path, PathBuf};

use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::api::{Api, DeleteParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::json;

use crate::env::{repo_root, unique};

/// The `kube::Client` of a kubeconfig file.
pub async fn client(kubeconfig: &str) -> kube::Client {
    let file = Kubeconfig::read_from(kubeconfig).expect("the kubeconfig is readable");
    let config = kube::Config::from_custom_kubeconfig(file, &KubeConfigOptions::default())
        .await
        .expect("a client configuration");
    kube::Client::try_from(config).expect("a client")
}

/// Runs kubectl with `args` against `kubeconfig`; its output. Panics when it fails.
pub fn kubectl(kubectl: &Path, kubeconfig: &str, args: &[&str]) -> String {
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

/// Creates a namespace named uniquely after `prefix`; its name.
pub async fn create_namespace(client: &kube::Client, prefix: &str) -> String {
    let name = unique(prefix);
    Api::<Namespace>::all(client.clone())
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": name}})).expect("namespace"),
        )
        .await
        .expect("creating the namespace");
    name
}

/// Deletes a namespace (tests clean up after themselves; errors are ignored).
pub async fn delete_namespace(client: &kube::Client, name: &str) {
    let _ = Api::<Namespace>::all(client.clone())
        .delete(name, &DeleteParams::default())
        .await;
}

/// `kubectl apply -f deploy/crds/` (server side, so a concurrent test applying them too does
/// not conflict) and waits until the CRDs of images, instance types and datasets are
/// established.
pub fn install_crds(kubectl_path: &Path, kubeconfig: &str) {
    let crds = repo_root().join("deploy/crds");
    kubectl(
        kubectl_path,
        kubeconfig,
        &[
            "apply",
            "--server-side",
            "--force-conflicts",
            "-f",
            crds.to_str().expect("utf-8"),
        ],
    );
    kubectl(
        kubectl_path,
        kubeconfig,
        &[
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd/images.primehub.io",
            "crd/instancetypes.primehub.io",
            "crd/datasets.primehub.io",
        ],
    );
}

/// A kubeconfig file acting as ServiceAccount `account` of `namespace` (a one-hour token from
/// the TokenRequest API), on the cluster of `admin_kubeconfig`.
pub async fn service_account_kubeconfig(
    client: &kube::Client,
    admin_kubeconfig: &str,
    namespace: &str,
    account: &str,
) -> PathBuf {
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), namespace);
    let token = accounts
        .create_token_request(
            account,
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
    kubeconfig_with_token(admin_kubeconfig, &token, account)
}

/// A copy of `admin_kubeconfig` whose user is the bearer `token` (same cluster, same CA).
fn kubeconfig_with_token(admin_kubeconfig: &str, token: &str, user: &str) -> PathBuf {
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
        let base = Path::new(admin_kubeconfig)
            .parent()
            .unwrap_or(Path::new("."));
        cluster["cluster"]["certificate-authority"] = json!(base.join(ca).display().to_string());
    }
    doc = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [cluster],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": "sa", "context": {"cluster": cluster_name, "user": user}}],
        "current-context": "sa",
    });
    let path = std::env::temp_dir().join(format!("{}.kubeconfig", unique(user)));
    std::fs::write(&path, serde_yaml_ng::to_string(&doc).expect("YAML")).expect("write");
    path
}

/// A kubeconfig file for the API server at `server` without credentials: a fake cluster's
/// HTTP face, or an address nothing listens on (`http://127.0.0.1:1`).
pub fn kubeconfig_for_server(server: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("{}.kubeconfig", unique("test-cluster")));
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}\n\
             users:\n- name: u\n  user: {{}}\ncontexts:\n- name: c\n  context:\n    cluster: c\n    \
             user: u\ncurrent-context: c\n"
        ),
    )
    .expect("write the kubeconfig");
    path
}
