//! The real tier: the `primehub-controller` binary on the REAL Keycloak and the REAL
//! kube-apiserver, running the same flow as `fake_flow`.
//!
//! Setup, as an operator would do it: a fresh realm bootstrapped with PrimeHub's bootstrap
//! (what `primehub bootstrap` runs), a fresh namespace, `kubectl apply -f deploy/crds/`, and
//! `deploy/controller`'s ServiceAccount. The binary runs **as that ServiceAccount** (a kubeconfig
//! with a token from the TokenRequest API): first without the Role, when it must stop at once
//! naming the Role to check, then with `deploy/controller/role.yaml` applied, when the flow
//! proves the Role grants everything the watcher and the sweep need.
//!
//! Needs `PRIMEHUB_TEST_KEYCLOAK_URL` (+ `_ADMIN`, `_PASSWORD`), `PRIMEHUB_TEST_KUBECONFIG` and a
//! kubectl; without them it prints a loud SKIPPED line and passes, unless
//! `PRIMEHUB_TEST_REQUIRE_REAL=1` (`.ci/run`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use kube::api::{Api, ListParams};
use primehub_keycloak::bootstrap::{RealmBootstrap, bootstrap_realm, delete_realm};
use primehub_model::crd::Image;
use primehub_test_support::cluster;
use primehub_test_support::deploy::{apply_sh, manifest};
use primehub_test_support::env::{KeycloakTier, KubeTier, unique};
use primehub_test_support::process;

use crate::flow::{self, BINARY, Target};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_keeps_roles_on_the_real_keycloak_and_kube_apiserver() {
    const TEST: &str = "primehub-controller on the real tier";
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

    // Keycloak: a fresh realm in PrimeHub's shape.
    let realm = unique("ph-controller");
    let master = keycloak.admin_of("master");
    let outcome = bootstrap_realm(&master, &RealmBootstrap::new(&realm))
        .await
        .expect("bootstrapping the realm");

    // Kubernetes: a fresh namespace, the CRDs, the controller's ServiceAccount (no Role yet).
    let client = cluster::client(&kubeconfig).await;
    let namespace = cluster::create_namespace(&client, "controller-real").await;
    cluster::install_crds(&kubectl, &kubeconfig);
    let (ok, out) = apply_sh(
        "controller",
        &kubectl,
        &kubeconfig,
        &[&namespace, &manifest("controller", "serviceaccount.yaml")],
    );
    assert!(ok, "applying the ServiceAccount: {out}");
    let sa_kubeconfig = cluster::service_account_kubeconfig(
        &client,
        &kubeconfig,
        &namespace,
        "primehub-controller",
    )
    .await;
    let secret_file = std::env::temp_dir().join(unique("controller-client-secret"));
    std::fs::write(
        &secret_file,
        format!("{}\n", outcome.admin_ui_client_secret),
    )
    .expect("write the client secret");

    let target = Target {
        label: "real",
        keycloak_url: keycloak.url.clone(),
        realm: realm.clone(),
        client_secret_file: secret_file.clone(),
        kubeconfig: sa_kubeconfig.clone(),
        namespace: namespace.clone(),
        keycloak: Arc::new(keycloak.admin_of(&realm)),
        kube: client.clone(),
    };
    // The checks run in a task so that the realm and the namespace are removed even when one
    // fails; the failure is re-raised afterwards.
    let checks = {
        let (kubectl, kubeconfig, namespace) =
            (kubectl.clone(), kubeconfig.clone(), namespace.clone());
        tokio::spawn(async move {
            // Without its Role the ServiceAccount may not list images: a failure waiting cannot
            // fix, so the start ends at once, naming the Role.
            let mut controller = process::spawn(BINARY, &target.args(), &[]).await;
            let status = controller.exited_within(Duration::from_secs(60)).await;
            assert!(!status.success(), "no Role: the start fails");
            assert!(
                controller.logged("the Role of deploy/controller"),
                "the error names the Role"
            );

            let (ok, out) = apply_sh(
                "controller",
                &kubectl,
                &kubeconfig,
                &[&namespace, &manifest("controller", "role.yaml")],
            );
            assert!(ok, "applying the Role: {out}");
            // RBAC takes effect within moments; wait until it has, as the ServiceAccount.
            let as_controller = cluster::client(target.kubeconfig.to_str().expect("utf-8")).await;
            let images: Api<Image> = Api::namespaced(as_controller, &namespace);
            let started = Instant::now();
            while images.list_metadata(&ListParams::default()).await.is_err() {
                assert!(
                    started.elapsed() < Duration::from_secs(30),
                    "the Role never applied"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }

            flow::run(&target).await;
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
