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

use primehub_keycloak::bootstrap::{RealmBootstrap, bootstrap_realm, delete_realm};
use primehub_test_support::cluster;
use primehub_test_support::env::{KeycloakTier, KubeTier};

use crate::flows::{self, Target};
use crate::manifests::apply_sh;
use crate::real_env::{self, get, repo_root};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_the_flows_on_the_real_keycloak_and_kube_apiserver() {
    const TEST: &str = "primehub-apiserver on the real tier";
    let Some(keycloak) = KeycloakTier::from_env(TEST) else {
        return;
    };
    let Some(KubeTier {
        kubeconfig,
        kubectl,
    }) = KubeTier::from_env(TEST)
    else {
        return;
    };
    let keycloak_url = keycloak.url.clone();

    // Keycloak: a fresh realm in PrimeHub's shape, with phadmin.
    let realm = real_env::unique("ph-apiserver");
    let master = keycloak.admin_of("master");
    let outcome = bootstrap_realm(
        &master,
        &RealmBootstrap::new(&realm).with_admin_user("phadmin", flows::ADMIN_PASSWORD),
    )
    .await
    .expect("bootstrapping the realm");

    // Kubernetes: a fresh namespace, the CRDs, the API server's RBAC.
    let client = cluster::client(&kubeconfig).await;
    let namespace = cluster::create_namespace(&client, "apiserver-real").await;
    cluster::install_crds(&kubectl, &kubeconfig);
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
    let sa_kubeconfig =
        cluster::service_account_kubeconfig(&client, &kubeconfig, &namespace, "primehub-apiserver")
            .await;

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

    let other_admin = keycloak.admin_of(&realm);
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
            let deleted_at = cluster::kubectl(
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
    cluster::delete_namespace(&client, &namespace).await;
    let _ = std::fs::remove_file(secret_file);
    let _ = std::fs::remove_file(sa_kubeconfig);
    if let Err(failure) = checks {
        std::panic::resume_unwind(failure.into_panic());
    }
}
