//! `deploy/apiserver`: what the manifests say (offline), and that the real kube-apiserver
//! accepts them (`kubectl apply --dry-run=server` through `deploy/apiserver/apply.sh`).

use kube::api::Api;
use primehub_test_support::cluster;
use primehub_test_support::env::KubeTier;
use serde_json::{Value, json};

use crate::real_env::{self, repo_root};

fn documents(file: &str) -> Vec<Value> {
    primehub_test_support::deploy::documents("apiserver", file)
}

#[test]
fn the_role_grants_exactly_what_the_api_server_uses_in_its_namespace() {
    let docs = documents("role.yaml");
    let role = docs.iter().find(|d| d["kind"] == "Role").expect("a Role");
    assert_eq!(
        role["rules"],
        json!([
            {"apiGroups": ["primehub.io"], "resources": ["images", "instancetypes", "datasets"],
             "verbs": ["get", "list", "watch", "create", "patch", "delete"]},
            {"apiGroups": [""], "resources": ["secrets"],
             "verbs": ["list", "watch", "create", "patch", "delete"]},
            {"apiGroups": [""], "resources": ["persistentvolumeclaims"],
             "verbs": ["list", "watch", "create", "delete"]},
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "watch"]},
            {"apiGroups": ["apps"], "resources": ["statefulsets"], "verbs": ["list", "watch"]},
            {"apiGroups": ["primehub.io"], "resources": ["phjobs"],
             "verbs": ["get", "list", "watch", "create", "patch"]},
            {"apiGroups": ["primehub.io"], "resources": ["phschedules"],
             "verbs": ["get", "list", "watch", "create", "patch", "delete"]},
            {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
        ])
    );
    let binding = docs
        .iter()
        .find(|d| d["kind"] == "RoleBinding")
        .expect("a RoleBinding");
    assert_eq!(binding["roleRef"]["name"], "primehub-apiserver");
    assert_eq!(binding["subjects"][0]["name"], "primehub-apiserver");
    // Nothing cluster-wide.
    for file in [
        "serviceaccount.yaml",
        "role.yaml",
        "deployment.yaml",
        "service.yaml",
    ] {
        for doc in documents(file) {
            assert_eq!(
                doc["metadata"]["namespace"], "hub",
                "{file}: {}",
                doc["kind"]
            );
            assert!(
                !doc["kind"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with("Cluster"),
                "{file}"
            );
        }
    }
}

#[test]
fn the_deployment_probes_runs_unprivileged_and_reads_its_secrets_from_secrets() {
    let deployment = &documents("deployment.yaml")[0];
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "primehub-apiserver");
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    let container = &pod["containers"][0];
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["ports"][0]["containerPort"], 3001);
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(
        container["securityContext"]["allowPrivilegeEscalation"],
        false
    );
    assert!(container["resources"]["limits"]["memory"].is_string());
    let env = container["env"].as_array().expect("env");
    let from_secret = |name: &str| {
        env.iter()
            .find(|e| e["name"] == name)
            .map(|e| e["valueFrom"]["secretKeyRef"].clone())
            .unwrap_or(Value::Null)
    };
    assert_eq!(
        from_secret("KC_CLIENT_SECRET"),
        json!({"name": "primehub-client-admin-ui", "key": "client_secret"})
    );
    assert!(from_secret("SHARED_GRAPHQL_SECRET_KEY").is_object());
    let service = &documents("service.yaml")[0];
    assert_eq!(service["metadata"]["name"], "primehub-graphql");
    assert_eq!(service["spec"]["ports"][0]["port"], 3001);
    assert_eq!(
        service["spec"]["selector"],
        deployment["spec"]["selector"]["matchLabels"]
    );
}

/// Runs `deploy/apiserver/apply.sh` with `args`; the exit status and the output.
pub fn apply_sh(kubectl: &std::path::Path, kubeconfig: &str, args: &[&str]) -> (bool, String) {
    primehub_test_support::deploy::apply_sh("apiserver", kubectl, kubeconfig, args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_apiserver_accepts_the_manifests_in_a_dry_run() {
    const TEST: &str = "deploy/apiserver dry run";
    let Some(KubeTier {
        kubeconfig,
        kubectl,
    }) = KubeTier::from_env(TEST)
    else {
        return;
    };
    let client = cluster::client(&kubeconfig).await;
    let namespace = cluster::create_namespace(&client, "apiserver-dry").await;

    let (ok, out) = apply_sh(&kubectl, &kubeconfig, &["--dry-run", &namespace]);
    assert!(ok, "{out}");
    for object in [
        "serviceaccount/primehub-apiserver created (server dry run)",
        "role.rbac.authorization.k8s.io/primehub-apiserver created (server dry run)",
        "rolebinding.rbac.authorization.k8s.io/primehub-apiserver created (server dry run)",
        "deployment.apps/primehub-apiserver created (server dry run)",
        "service/primehub-graphql created (server dry run)",
    ] {
        assert!(out.contains(object), "{object} missing in:\n{out}");
    }
    // A dry run stores nothing.
    let accounts: Api<k8s_openapi::api::core::v1::ServiceAccount> =
        Api::namespaced(client.clone(), &namespace);
    assert!(
        accounts
            .get_opt("primehub-apiserver")
            .await
            .expect("get")
            .is_none()
    );

    // The dry run really validates: a manifest with a field Kubernetes does not know fails.
    let broken =
        std::env::temp_dir().join(format!("{}.yaml", real_env::unique("broken-deployment")));
    let text = std::fs::read_to_string(repo_root().join("deploy/apiserver/deployment.yaml"))
        .expect("read");
    std::fs::write(
        &broken,
        text.replace(
            "readOnlyRootFilesystem: true",
            "readOnlyRootFilesystem: true\n            noSuchField: 1",
        ),
    )
    .expect("write");
    let (ok, out) = apply_sh(
        &kubectl,
        &kubeconfig,
        &["--dry-run", &namespace, broken.to_str().expect("utf-8")],
    );
    assert!(!ok, "an unknown field must be refused:\n{out}");
    assert!(out.contains("noSuchField"), "{out}");
    let _ = std::fs::remove_file(broken);

    cluster::delete_namespace(&client, &namespace).await;
}
