//! The harness of the real-tier tests that run the `primehub-controller` binary **as
//! `deploy/controller`'s ServiceAccount** against the real kube-apiserver and Keycloak
//! (`real_datasets`, `real_group_volumes`): a fresh realm and namespace, the CRDs, the given
//! manifests applied with `deploy/controller/apply.sh`, the binary started with jobs and leader
//! election off, the checks, then a log without refused requests, a clean SIGTERM, and
//! everything removed whether the checks passed or not.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::DaemonSet;
use kube::api::{Api, ListParams};
use primehub_keycloak::bootstrap::{RealmBootstrap, bootstrap_realm, delete_realm};
use primehub_test_support::cluster;
use primehub_test_support::deploy::{apply_sh, manifest};
use primehub_test_support::env::{KeycloakTier, KubeTier, unique};
use primehub_test_support::process::{self, get_until};

use crate::flow::{BINARY, Target};

/// How long the controller, the webhook and the API server may take to make a change visible.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// Polls `check` every 200 ms until it gives a value; panics naming `what` after [`DEADLINE`].
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "timed out after {DEADLINE:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// One run of the binary on the real tier.
pub struct RealRun {
    /// The test's name, for the SKIPPED line when the tier is not there.
    pub test: &'static str,
    /// The prefix of the realm, namespace and scratch folder names.
    pub prefix: &'static str,
    /// `deploy/controller/` files applied into the namespace (the ServiceAccount first).
    pub manifests: &'static [&'static str],
    /// Whether the group-volume controller runs (it needs `clusterrole.yaml` too).
    pub group_volumes: bool,
    /// Flags added to the connection flags.
    pub args: Vec<String>,
}

/// What the checks get: an admin client, the namespace and the controller's base URL.
pub struct Running {
    /// A cluster-admin client (not the controller's).
    pub client: kube::Client,
    /// The test's namespace.
    pub namespace: String,
    /// The controller's HTTP base URL (`/metrics`, `/readyz`).
    pub url: String,
}

impl RealRun {
    /// Runs `checks` against the binary; then `cleanup` with an admin client and the namespace
    /// (for what is cluster-scoped), whatever the checks did. Returns at once, passing, when the
    /// real tier is not configured (unless `PRIMEHUB_TEST_REQUIRE_REAL=1`).
    pub async fn run<C, CF, K, KF>(self, checks: C, cleanup: K)
    where
        C: FnOnce(Running) -> CF + Send + 'static,
        CF: Future<Output = ()> + Send,
        K: FnOnce(kube::Client, String) -> KF,
        KF: Future<Output = ()>,
    {
        let Some(keycloak) = KeycloakTier::from_env(self.test) else {
            return;
        };
        let Some(KubeTier {
            kubeconfig,
            kubectl,
        }) = KubeTier::from_env(self.test)
        else {
            return;
        };
        let realm = unique(&format!("ph-{}", self.prefix));
        let master = keycloak.admin_of("master");
        let outcome = bootstrap_realm(&master, &RealmBootstrap::new(&realm))
            .await
            .expect("bootstrapping the realm");
        let client = cluster::client(&kubeconfig).await;
        let namespace = cluster::create_namespace(&client, self.prefix).await;
        cluster::install_crds(&kubectl, &kubeconfig);
        cluster::kubectl(
            &kubectl,
            &kubeconfig,
            &[
                "wait",
                "--for=condition=Established",
                "--timeout=60s",
                "crd/datasets.primehub.io",
            ],
        );
        let dir = std::env::temp_dir().join(unique(self.prefix));
        std::fs::create_dir_all(&dir).expect("a folder");
        let secret_file = dir.join("client-secret");
        std::fs::write(
            &secret_file,
            format!("{}\n", outcome.admin_ui_client_secret),
        )
        .expect("write the client secret");

        let outcome = {
            let (client, namespace, kc) =
                (client.clone(), namespace.clone(), keycloak.admin_of(&realm));
            let (keycloak_url, realm) = (keycloak.url.clone(), realm.clone());
            tokio::spawn(async move {
                let files: Vec<String> = self
                    .manifests
                    .iter()
                    .map(|f| manifest("controller", f))
                    .collect();
                let mut args: Vec<&str> = vec![&namespace];
                args.extend(files.iter().map(String::as_str));
                let (ok, out) = apply_sh("controller", &kubectl, &kubeconfig, &args);
                assert!(ok, "applying the controller's manifests: {out}");
                let sa_kubeconfig = cluster::service_account_kubeconfig(
                    &client,
                    &kubeconfig,
                    &namespace,
                    "primehub-controller",
                )
                .await;
                let as_controller = cluster::client(sa_kubeconfig.to_str().expect("utf-8")).await;
                let sa_daemonsets: Api<DaemonSet> = Api::namespaced(as_controller, &namespace);
                eventually("the controller's Role applies", || async {
                    sa_daemonsets
                        .list_metadata(&ListParams::default())
                        .await
                        .ok()
                        .map(|_| ())
                })
                .await;
                let target = Target {
                    label: self.prefix,
                    keycloak_url,
                    realm,
                    client_secret_file: secret_file,
                    kubeconfig: sa_kubeconfig.clone(),
                    namespace: namespace.clone(),
                    keycloak: Arc::new(kc),
                    kube: client.clone(),
                };
                let mut args = target.args();
                let at = args
                    .iter()
                    .position(|a| a == "--groupvolume-enabled")
                    .expect("the connection flags set --groupvolume-enabled");
                args[at + 1] = self.group_volumes.to_string();
                args.extend(["--jobs", "false", "--leader-elect", "false"].map(str::to_owned));
                args.extend(self.args);
                let controller = process::spawn(BINARY, &args, &[]).await;
                get_until(&format!("{}/readyz", controller.url), 200, DEADLINE).await;
                checks(Running {
                    client: client.clone(),
                    namespace: namespace.clone(),
                    url: controller.url.clone(),
                })
                .await;
                for refused in ["forbidden", "Forbidden", "cannot publish event"] {
                    assert!(
                        !controller.logged(refused),
                        "the controller logged {refused:?}: its RBAC lacks a permission"
                    );
                }
                let status = controller.terminate().await;
                assert!(status.success(), "SIGTERM is a clean stop: {status}");
                let _ = std::fs::remove_file(sa_kubeconfig);
            })
            .await
        };
        cleanup(client.clone(), namespace.clone()).await;
        let _ = delete_realm(&master, &realm).await;
        cluster::delete_namespace(&client, &namespace).await;
        let _ = std::fs::remove_dir_all(dir);
        if let Err(failure) = outcome {
            std::panic::resume_unwind(failure.into_panic());
        }
    }
}
