//! `deploy/controller`: what the manifests say (offline), and that the real kube-apiserver
//! accepts them (`kubectl apply --dry-run=server` through `deploy/controller/apply.sh`).

use kube::api::Api;
use primehub_test_support::cluster;
use primehub_test_support::deploy::{apply_sh, documents};
use primehub_test_support::env::KubeTier;
use serde_json::{Value, json};

#[test]
fn the_role_grants_exactly_what_the_controller_uses_in_its_namespace() {
    let docs = documents("controller", "role.yaml");
    let role = docs.iter().find(|d| d["kind"] == "Role").expect("a Role");
    assert_eq!(
        role["rules"],
        json!([
            {"apiGroups": ["primehub.io"], "resources": ["images", "instancetypes", "datasets"],
             "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["primehub.io"], "resources": ["phjobs"],
             "verbs": ["get", "list", "watch", "create", "patch", "delete"]},
            {"apiGroups": ["primehub.io"], "resources": ["phjobs/status", "phschedules/status"],
             "verbs": ["patch"]},
            {"apiGroups": ["primehub.io"], "resources": ["phschedules"],
             "verbs": ["get", "list", "watch", "delete"]},
            {"apiGroups": [""], "resources": ["pods"],
             "verbs": ["get", "list", "watch", "create", "delete"]},
            {"apiGroups": [""], "resources": ["secrets", "persistentvolumeclaims"],
             "verbs": ["list", "watch"]},
            {"apiGroups": [""], "resources": ["persistentvolumeclaims"], "verbs": ["get"]},
            {"apiGroups": ["apps"], "resources": ["statefulsets"],
             "verbs": ["get", "list", "watch", "create", "update", "delete"]},
            {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
             "verbs": ["get", "create", "update"]},
            {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]},
            {"apiGroups": ["apps"], "resources": ["daemonsets", "deployments"],
             "verbs": ["get", "list", "watch", "create", "update", "delete"]},
            {"apiGroups": [""], "resources": ["services"],
             "verbs": ["get", "list", "watch", "create", "update", "delete"]},
            {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses"],
             "verbs": ["get", "list", "watch", "create", "update", "delete"]},
            {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]},
        ])
    );
    let binding = docs
        .iter()
        .find(|d| d["kind"] == "RoleBinding")
        .expect("a RoleBinding");
    assert_eq!(binding["roleRef"]["kind"], "Role");
    assert_eq!(binding["roleRef"]["name"], "primehub-controller");
    assert_eq!(
        binding["subjects"],
        json!([{"kind": "ServiceAccount", "name": "primehub-controller", "namespace": "hub"}])
    );
    // Nothing cluster-wide but the group volumes' PersistentVolumes (clusterrole.yaml).
    for file in ["serviceaccount.yaml", "role.yaml", "deployment.yaml"] {
        for doc in documents("controller", file) {
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
fn the_cluster_role_grants_only_the_group_volumes_persistent_volumes() {
    let docs = documents("controller", "clusterrole.yaml");
    let role = docs
        .iter()
        .find(|d| d["kind"] == "ClusterRole")
        .expect("a ClusterRole");
    assert_eq!(
        role["rules"],
        json!([{"apiGroups": [""], "resources": ["persistentvolumes"],
            "verbs": ["get", "list", "watch", "create", "update", "delete"]}])
    );
    // Named after the install's namespace (apply.sh replaces the `-hub` suffix).
    assert_eq!(role["metadata"]["name"], "primehub-controller-volumes-hub");
    let binding = docs
        .iter()
        .find(|d| d["kind"] == "ClusterRoleBinding")
        .expect("a ClusterRoleBinding");
    assert_eq!(
        binding["roleRef"]["name"],
        "primehub-controller-volumes-hub"
    );
    assert_eq!(
        binding["subjects"],
        json!([{"kind": "ServiceAccount", "name": "primehub-controller", "namespace": "hub"}])
    );
}

#[test]
fn the_deployment_runs_two_electing_replicas_probes_and_reads_its_secret_from_a_secret() {
    let deployment = &documents("controller", "deployment.yaml")[0];
    // Leader election: two replicas, rolled one at a time; each names itself in the Lease.
    assert_eq!(deployment["spec"]["replicas"], 2);
    assert_eq!(deployment["spec"]["strategy"]["type"], "RollingUpdate");
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "primehub-controller");
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    let container = &pod["containers"][0];
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["ports"][0]["containerPort"], 8080);
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(
        container["securityContext"]["allowPrivilegeEscalation"],
        false
    );
    assert!(container["resources"]["limits"]["memory"].is_string());
    let env = container["env"].as_array().expect("env");
    let var = |name: &str| {
        env.iter()
            .find(|e| e["name"] == name)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(
        var("KC_CLIENT_SECRET")["valueFrom"]["secretKeyRef"],
        json!({"name": "primehub-client-admin-ui", "key": "client_secret"})
    );
    for name in ["KC_API_BASEURL", "KC_REALM", "KC_CLIENT_ID"] {
        assert!(var(name)["value"].is_string(), "{name}");
    }
    assert_eq!(
        var("K8S_CRD_NAMESPACE")["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.namespace"
    );
    assert_eq!(
        var("POD_NAME")["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.name"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_apiserver_accepts_the_manifests_in_a_dry_run() {
    const TEST: &str = "deploy/controller dry run";
    let Some(KubeTier {
        kubeconfig,
        kubectl,
    }) = KubeTier::from_env(TEST)
    else {
        return;
    };
    let client = cluster::client(&kubeconfig).await;
    let namespace = cluster::create_namespace(&client, "controller-dry").await;

    let (ok, out) = apply_sh(
        "controller",
        &kubectl,
        &kubeconfig,
        &["--dry-run", &namespace],
    );
    assert!(ok, "{out}");
    for object in [
        "serviceaccount/primehub-controller created (server dry run)",
        "role.rbac.authorization.k8s.io/primehub-controller created (server dry run)",
        "rolebinding.rbac.authorization.k8s.io/primehub-controller created (server dry run)",
        "deployment.apps/primehub-controller created (server dry run)",
    ] {
        assert!(out.contains(object), "{object} missing in:\n{out}");
    }
    // The cluster-scoped objects are named after the namespace.
    for object in [
        format!(
            "clusterrole.rbac.authorization.k8s.io/primehub-controller-volumes-{namespace} created (server dry run)"
        ),
        format!(
            "clusterrolebinding.rbac.authorization.k8s.io/primehub-controller-volumes-{namespace} created (server dry run)"
        ),
    ] {
        assert!(out.contains(&object), "{object} missing in:\n{out}");
    }
    // A dry run stores nothing.
    let accounts: Api<k8s_openapi::api::core::v1::ServiceAccount> =
        Api::namespaced(client.clone(), &namespace);
    assert!(
        accounts
            .get_opt("primehub-controller")
            .await
            .expect("get")
            .is_none()
    );
    cluster::delete_namespace(&client, &namespace).await;
}
