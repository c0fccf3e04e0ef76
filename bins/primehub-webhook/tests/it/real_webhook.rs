//! The real tier: the `primehub-webhook` binary registered with the REAL kube-apiserver (a
//! MutatingWebhookConfiguration for pod CREATE, the CA in `caBundle`, PrimeHub's namespace
//! selector), quotas from the REAL Keycloak, pods created through the API server.
//!
//! Setup, as an operator would do it: a fresh realm bootstrapped with PrimeHub's bootstrap and
//! a group with a quota, a fresh namespace labelled `primehub.io/admission-webhook=enabled`,
//! `deploy/webhook`'s ServiceAccount and Role (the binary runs **as that ServiceAccount**, so
//! the Role is proven sufficient), the manifests dry-run applied. The API server has no
//! kubelet: the test sets pod phases through the status subresource.
//!
//! Needs `PRIMEHUB_TEST_KEYCLOAK_URL` (+ `_ADMIN`, `_PASSWORD`), `PRIMEHUB_TEST_KUBECONFIG` and a
//! kubectl; without them it prints a loud SKIPPED line and passes, unless
//! `PRIMEHUB_TEST_REQUIRE_REAL=1` (`.ci/run`).

use std::time::{Duration, Instant};

use base64::Engine as _;
use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use primehub_keycloak::KeycloakAdmin;
use primehub_keycloak::NewGroup;
use primehub_keycloak::bootstrap::{RealmBootstrap, bootstrap_realm, delete_realm};
use primehub_test_support::cluster;
use primehub_test_support::deploy::{apply_sh, manifest};
use primehub_test_support::env::{KeycloakTier, KubeTier, unique};
use primehub_test_support::process::{self, get_until};
use serde_json::json;

use crate::fake_flow::{BINARY, https_url, pod, tls_args};
use primehub_test_support::certs::TestCa;

const DENIED: &str =
    "admission webhook \"resources-validation-webhook.primehub.io\" denied the request: ";

async fn set_phase(pods: &Api<Pod>, name: &str, phase: &str) {
    pods.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"phase": phase}})),
    )
    .await
    .unwrap_or_else(|e| panic!("setting {name} {phase}: {e}"));
}

fn as_pod(value: serde_json::Value) -> Pod {
    serde_json::from_value(value).expect("a pod")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_api_server_calls_the_webhook_for_pod_creates() {
    const TEST: &str = "primehub-webhook on the real tier";
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
    let _ = rustls::crypto::ring::default_provider().install_default();

    let realm = unique("ph-webhook");
    let master = keycloak.admin_of("master");
    let outcome = bootstrap_realm(&master, &RealmBootstrap::new(&realm))
        .await
        .expect("bootstrapping the realm");
    keycloak
        .admin_of(&realm)
        .create_group(&NewGroup {
            name: "team-a".into(),
            attributes: [("quota-cpu".to_owned(), vec!["1".to_owned()])].into(),
        })
        .await
        .expect("a group with a quota");

    let client = cluster::client(&kubeconfig).await;
    let namespace = cluster::create_namespace(&client, "webhook-real").await;
    let dir = std::env::temp_dir().join(unique("webhook-real"));
    std::fs::create_dir_all(&dir).expect("a folder");
    let ca = TestCa::new("webhook real tier");
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).expect("write the CA");
    let (cert, key) = ca.write_serving(&dir);
    let secret_file = dir.join("client-secret");
    std::fs::write(&secret_file, &outcome.admin_ui_client_secret).expect("write the secret");
    let config_name = unique("resources-validation-webhook");

    let checks = {
        let (client, namespace, dir) = (client.clone(), namespace.clone(), dir.clone());
        let (kubeconfig, config_name, realm) =
            (kubeconfig.clone(), config_name.clone(), realm.clone());
        let keycloak_url = keycloak.url.clone();
        tokio::spawn(async move {
            // The whole deploy/webhook validates on the server; the ServiceAccount and Role are
            // applied for real, and labelling the namespace is apply.sh's job too.
            let ca_path = ca_file.display().to_string();
            let (ok, out) = apply_sh("webhook", &kubectl, &kubeconfig, &["--dry-run", &namespace, &ca_path]);
            assert!(ok, "dry-run apply of deploy/webhook: {out}");
            let (ok, out) = apply_sh(
                "webhook",
                &kubectl,
                &kubeconfig,
                &[
                    &namespace,
                    &ca_path,
                    &manifest("webhook", "serviceaccount.yaml"),
                    &manifest("webhook", "role.yaml"),
                ],
            );
            assert!(ok, "applying the ServiceAccount and Role: {out}");
            let labels = Api::<Namespace>::all(client.clone())
                .get(&namespace)
                .await
                .expect("the namespace")
                .metadata
                .labels
                .unwrap_or_default();
            assert_eq!(labels.get("primehub.io/admission-webhook").map(String::as_str), Some("enabled"));
            let sa_kubeconfig =
                cluster::service_account_kubeconfig(&client, &kubeconfig, &namespace, "primehub-webhook").await;

            let webhook = process::spawn(
                BINARY,
                &[
                    tls_args(&cert, &key),
                    vec![
                    "--keycloak-url".into(),
                    keycloak_url,
                    "--realm".into(),
                    realm,
                    "--client-secret-file".into(),
                    secret_file.display().to_string(),
                    "--kubeconfig".into(),
                    sa_kubeconfig.display().to_string(),
                    "--namespace".into(),
                    namespace.clone(),
                    ],
                ]
                .concat(),
                &[],
            )
            .await;
            get_until(&format!("{}/readyz", webhook.url), 200, Duration::from_secs(60)).await;

            // Registered as PrimeHub registers it, at the binary's address.
            let configs: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
            let ca_bundle = base64::engine::general_purpose::STANDARD.encode(ca.pem());
            let config: MutatingWebhookConfiguration = serde_json::from_value(json!({
                "metadata": {"name": config_name},
                "webhooks": [{
                    "name": "resources-validation-webhook.primehub.io",
                    "clientConfig": {"url": format!("{}/", https_url(&webhook)), "caBundle": ca_bundle},
                    "rules": [{"operations": ["CREATE"], "apiGroups": ["*"], "apiVersions": ["*"], "resources": ["pods"]}],
                    "namespaceSelector": {"matchLabels": {"primehub.io/admission-webhook": "enabled"}},
                    "failurePolicy": "Ignore",
                    "sideEffects": "None",
                    "admissionReviewVersions": ["v1"],
                }]
            }))
            .expect("a webhook configuration");
            configs.create(&PostParams::default(), &config).await.expect("registering the webhook");

            // The API server picks the configuration up within moments: dry-run creates (which
            // call webhooks with sideEffects None) until the sentinel comes back removed.
            let pods: Api<Pod> = Api::namespaced(client.clone(), &namespace);
            let dry = PostParams { dry_run: true, ..Default::default() };
            let started = Instant::now();
            loop {
                let seen = pods
                    .create(&dry, &as_pod(pod("probe", "alice", "team-a", "100m")))
                    .await
                    .expect("a dry-run create");
                if seen.spec.and_then(|s| s.init_containers).unwrap_or_default().is_empty() {
                    break;
                }
                assert!(started.elapsed() < Duration::from_secs(30), "the webhook is never called");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }

            // Within alice's 1 CPU: created, the sentinel removed by the webhook's patch.
            let created = pods
                .create(&PostParams::default(), &as_pod(pod("nb-alice", "alice", "team-a", "600m")))
                .await
                .expect("within quota the pod is created");
            assert_eq!(
                created.spec.and_then(|s| s.init_containers).unwrap_or_default().len(),
                0,
                "the sentinel init container is removed"
            );
            set_phase(&pods, "nb-alice", "Running").await;
            // Over quota: the API server refuses with the webhook's code and PrimeHub's text.
            match pods
                .create(&PostParams::default(), &as_pod(pod("job-alice", "alice", "team-a", "500m")))
                .await
            {
                Err(kube::Error::Api(status)) => {
                    assert_eq!(status.code, 410, "{status:?}");
                    assert_eq!(status.message, format!("{DENIED}User alice exceeded cpu quota: 1, requesting 0.5"));
                }
                other => panic!("expected the webhook's denial, got {other:?}"),
            }
            // Another user's pod counts for the group only.
            pods.create(&PostParams::default(), &as_pod(pod("nb-bob", "bob", "team-a", "1")))
                .await
                .expect("bob has his own quota");
            // Succeeded and Failed pods stop counting: the same pod is admitted once the watch
            // has seen alice's pod finish.
            set_phase(&pods, "nb-alice", "Succeeded").await;
            let started = Instant::now();
            loop {
                match pods
                    .create(&PostParams::default(), &as_pod(pod("job-alice", "alice", "team-a", "500m")))
                    .await
                {
                    Ok(_) => break,
                    Err(kube::Error::Api(status)) if status.code == 410 => {
                        assert!(started.elapsed() < Duration::from_secs(30), "a finished pod still counts");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    Err(e) => panic!("creating job-alice: {e}"),
                }
            }
            set_phase(&pods, "job-alice", "Failed").await;
            let started = Instant::now();
            while pods
                .create(&PostParams::default(), &as_pod(pod(&unique("job-alice"), "alice", "team-a", "1")))
                .await
                .is_err()
            {
                assert!(started.elapsed() < Duration::from_secs(30), "a failed pod still counts");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            // A pod in a namespace without the label is never sent to the webhook (PrimeHub's
            // selector): over any quota, created with its sentinel.
            let elsewhere = cluster::create_namespace(&client, "webhook-unlabelled").await;
            let outside: Api<Pod> = Api::namespaced(client.clone(), &elsewhere);
            let kept = outside
                .create(&PostParams::default(), &as_pod(pod("big", "alice", "team-a", "64")))
                .await
                .expect("not reviewed");
            assert_eq!(kept.spec.and_then(|s| s.init_containers).unwrap_or_default().len(), 1);
            cluster::delete_namespace(&client, &elsewhere).await;
            let status = webhook.terminate().await;
            assert!(status.success(), "SIGTERM is a clean stop: {status}");
            let _ = std::fs::remove_file(sa_kubeconfig);
            let _ = std::fs::remove_dir_all(dir);
        })
        .await
    };

    let configs: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
    let _ = configs.delete(&config_name, &DeleteParams::default()).await;
    let _ = delete_realm(&master, &realm).await;
    cluster::delete_namespace(&client, &namespace).await;
    if let Err(failure) = checks {
        std::panic::resume_unwind(failure.into_panic());
    }
}
