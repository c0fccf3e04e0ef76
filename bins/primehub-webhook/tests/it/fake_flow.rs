//! The binary on the fakes, served over HTTP as a real Keycloak and API server would be:
//! AdmissionReviews posted over HTTPS as kube-apiserver posts them (the fake cluster does not
//! call webhooks over the network; `real_webhook` has the API server do it), quotas from the
//! Keycloak cache, usage from the fake cluster's pods, `/readyz` and `/metrics`, a 400 for a
//! malformed body, a renewed certificate served without a restart, and SIGTERM.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Patch, PatchParams, PostParams};
use primehub_keycloak::fake::{BootstrapOptions, FakeKeycloak};
use primehub_keycloak::{KeycloakAdmin, NewGroup};
use primehub_model::names::primehub_labels;
use primehub_reconcile::fake::FakeCluster;
use primehub_test_support::cluster::kubeconfig_for_server;
use primehub_test_support::env::unique;
use primehub_test_support::process::{self, Process, get, get_until};
use serde_json::{Value, json};

use primehub_test_support::certs::TestCa;

/// The binary under test.
pub const BINARY: &str = env!("CARGO_BIN_EXE_primehub-webhook");

/// The flags of an HTTPS listener on a free loopback port with these certificate files.
pub fn tls_args(cert: &std::path::Path, key: &std::path::Path) -> Vec<String> {
    vec![
        "--tls-listen".into(),
        "127.0.0.1:0".into(),
        "--tls-cert-file".into(),
        cert.display().to_string(),
        "--tls-key-file".into(),
        key.display().to_string(),
    ]
}

/// The HTTPS address the process logged.
pub fn https_url(process: &Process) -> String {
    let lines = process.log.lock().map(|l| l.clone()).unwrap_or_default();
    lines
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find_map(|json| json["fields"]["https_address"].as_str().map(str::to_owned))
        .map(|address| format!("https://{address}"))
        .expect("the webhook logged its HTTPS address")
}

/// A pod of `user` in `group` asking for `cpu`, with PrimeHub's sentinel init container.
pub fn pod(name: &str, user: &str, group: &str, cpu: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": primehub_labels(user, group)},
        "spec": {
            "initContainers": [{"name": "admission-is-not-found", "image": "admission-is-not-found",
                                "imagePullPolicy": "Never", "command": ["false"]}],
            "containers": [{"name": "main", "image": "busybox",
                            "resources": {"limits": {"cpu": cpu, "memory": "64Mi"}}}]
        }
    })
}

fn review(namespace: &str, pod: &Value) -> Value {
    json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": "7d0b6b3c-6d0e-4d55-9a57-6b5f8a9f0a11",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "name": pod["metadata"]["name"], "namespace": namespace, "operation": "CREATE",
            "userInfo": {"username": "system:serviceaccount:hub:primehub-controller"},
            "object": pod, "dryRun": false,
        }
    })
}

async fn admit(client: &reqwest::Client, url: &str, namespace: &str, pod: &Value) -> Value {
    let response = client
        .post(format!("{url}/"))
        .json(&review(namespace, pod))
        .send()
        .await
        .expect("the webhook answers over HTTPS");
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.expect("JSON");
    body["response"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_decides_over_https_on_the_fakes_and_serves_a_renewed_certificate() {
    let keycloak = FakeKeycloak::new().expect("fake Keycloak");
    let outcome = keycloak
        .bootstrap(&BootstrapOptions::default().to_spec("primehub"))
        .await
        .expect("the realm");
    let realm = keycloak.realm("primehub").expect("the realm");
    realm
        .create_group(&NewGroup {
            name: "team-a".into(),
            attributes: [("quota-cpu".to_owned(), vec!["1".to_owned()])].into(),
        })
        .await
        .expect("a group with a quota");
    let served_keycloak = keycloak
        .serve(
            tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind"),
        )
        .expect("serve Keycloak");
    let cluster = FakeCluster::new();
    let served_cluster = cluster
        .serve(
            tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind"),
        )
        .expect("serve the cluster");
    let kubeconfig = kubeconfig_for_server(served_cluster.url());
    let dir = std::env::temp_dir().join(unique("webhook-fake"));
    std::fs::create_dir_all(&dir).expect("a folder");
    let secret_file = dir.join("client-secret");
    std::fs::write(&secret_file, &outcome.admin_ui_client_secret).expect("write the secret");
    let first_ca = TestCa::new("first CA");
    let (cert, key) = first_ca.write_serving(&dir);

    let webhook = process::spawn(
        BINARY,
        &[
            tls_args(&cert, &key),
            vec![
                "--cert-reload-seconds".into(),
                "1".into(),
                "--keycloak-url".into(),
                served_keycloak.url().to_owned(),
                "--client-secret-file".into(),
                secret_file.display().to_string(),
                "--kubeconfig".into(),
                kubeconfig.display().to_string(),
            ],
        ]
        .concat(),
        &[],
    )
    .await;
    get_until(
        &format!("{}/readyz", webhook.url),
        200,
        Duration::from_secs(30),
    )
    .await;
    let url = https_url(&webhook);
    let client = first_ca.client();

    // Within alice's 1 CPU: allowed, and the sentinel is removed.
    let allowed = admit(
        &client,
        &url,
        "hub",
        &pod("nb-alice", "alice", "team-a", "600m"),
    )
    .await;
    assert_eq!(allowed["allowed"], true, "{allowed}");
    assert_eq!(allowed["patchType"], "JSONPatch");
    // The pod the API server stores; once the watch counts it, 0.6 of 1 CPU is used.
    let pods: Api<Pod> = Api::namespaced(cluster.client(), "hub");
    let stored: Pod =
        serde_json::from_value(pod("nb-alice", "alice", "team-a", "600m")).expect("a pod");
    pods.create(&PostParams::default(), &stored)
        .await
        .expect("create");
    pods.patch_status(
        "nb-alice",
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"phase": "Running"}})),
    )
    .await
    .expect("Running");
    let denied = admit(
        &client,
        &url,
        "hub",
        &pod("job-1", "alice", "team-a", "500m"),
    )
    .await;
    assert_eq!(denied["allowed"], false, "{denied}");
    assert_eq!(denied["status"]["code"], 410);
    assert_eq!(
        denied["status"]["message"],
        "User alice exceeded cpu quota: 1, requesting 0.5"
    );
    // Another user is not charged alice's pod.
    let other = admit(&client, &url, "hub", &pod("job-2", "bob", "team-a", "1")).await;
    assert_eq!(other["allowed"], true, "{other}");

    // A body that is not an AdmissionReview: 400 with the reason.
    let bad = client
        .post(format!("{url}/pvc-check"))
        .body("{\"kind\": 1")
        .send()
        .await
        .expect("an answer");
    assert_eq!(bad.status().as_u16(), 400);
    assert!(
        bad.text()
            .await
            .unwrap_or_default()
            .contains("AdmissionReview")
    );

    // Metrics, on plain HTTP (and over HTTPS).
    let (status, metrics) = get(&format!("{}/metrics", webhook.url)).await;
    assert_eq!(status, 200);
    for line in [
        "primehub_webhook_quota_decisions_total{outcome=\"denied\"} 1",
        "primehub_webhook_quota_decisions_total{outcome=\"allowed\"} 2",
        "primehub_webhook_ledger_pods{namespace=\"hub\"} 1",
        "primehub_webhook_malformed_reviews_total{webhook=\"pvc-check.primehub.io\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} missing:\n{metrics}");
    }
    let over_https = client
        .get(format!("{url}/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(over_https.status().as_u16(), 200);

    // The Secret is renewed with another CA: served from the next handshake, no restart.
    let second_ca = TestCa::new("second CA");
    second_ca.write_serving(&dir);
    let renewed = second_ca.client();
    let started = Instant::now();
    while renewed.get(format!("{url}/healthz")).send().await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the renewed certificate is never served"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(webhook.logged("serving the renewed certificate"));
    assert!(
        first_ca
            .client()
            .get(format!("{url}/healthz"))
            .send()
            .await
            .is_err(),
        "the old certificate is no longer served"
    );

    let status = webhook.terminate().await;
    assert!(status.success(), "SIGTERM is a clean stop: {status}");
    served_keycloak.shutdown().await;
    served_cluster.shutdown().await;
    let _ = std::fs::remove_file(kubeconfig);
    let _ = std::fs::remove_dir_all(dir);
}

/// `--quota-source graphql` against our own API server (`primehub dev`'s, which also serves the
/// fake cluster the pods are watched in): what an existing PrimeHub install that gives the
/// webhook only `GRAPHQL_ENDPOINT` and `GRAPHQL_SHARED_SECRET` runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_graphql_quota_source_reads_primehubs_api_with_the_shared_secret() {
    use primehub_graphql::dev::{DevOptions, DevPlatform};

    let platform = DevPlatform::start(
        tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind"),
        &DevOptions {
            shared_secret: Some("webhook-shared-secret".into()),
            admission: false,
            ..DevOptions::default()
        },
    )
    .await
    .expect("the platform");
    // The demo group phusers gets a user quota of 1 CPU, through the API as an admin would.
    let token = platform
        .access_token(&platform.admin_username, &platform.admin_password)
        .expect("an admin token");
    let realm = platform
        .keycloak
        .realm(&platform.realm.realm)
        .expect("the realm");
    let group = realm
        .find_group_by_name("phusers")
        .await
        .expect("a lookup")
        .expect("the demo group");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let answer: Value = reqwest::Client::new()
        .post(platform.graphql_url())
        .bearer_auth(token)
        .json(&json!({
            "query": "mutation($id: ID!) { updateGroup(where: {id: $id}, data: {quotaCpu: 1}) { quotaCpu } }",
            "variables": {"id": group.id},
        }))
        .send()
        .await
        .expect("the mutation")
        .json()
        .await
        .expect("JSON");
    assert_eq!(answer["data"]["updateGroup"]["quotaCpu"], 1.0, "{answer}");
    let kubeconfig = kubeconfig_for_server(platform.url());
    let dir = std::env::temp_dir().join(unique("webhook-graphql"));
    std::fs::create_dir_all(&dir).expect("a folder");
    let secret_file = dir.join("shared-secret");
    std::fs::write(&secret_file, "webhook-shared-secret\n").expect("write the secret");
    let ca = TestCa::new("graphql mode");
    let (cert, key) = ca.write_serving(&dir);
    let webhook = process::spawn(
        BINARY,
        &[
            tls_args(&cert, &key),
            vec![
                "--kubeconfig".into(),
                kubeconfig.display().to_string(),
                "--undecided".into(),
                "deny".into(),
            ],
        ]
        .concat(),
        &[
            ("PRIMEHUB_WEBHOOK_QUOTA_SOURCE", "graphql"),
            ("GRAPHQL_ENDPOINT", &platform.graphql_url()),
            (
                "GRAPHQL_SHARED_SECRET_FILE",
                &secret_file.display().to_string(),
            ),
        ],
    )
    .await;
    get_until(
        &format!("{}/readyz", webhook.url),
        200,
        Duration::from_secs(30),
    )
    .await;
    let url = https_url(&webhook);
    let client = ca.client();
    let denied = admit(
        &client,
        &url,
        "hub",
        &pod("job-1", "phadmin", "phusers", "1500m"),
    )
    .await;
    assert_eq!(
        denied["status"]["message"], "User phadmin exceeded cpu quota: 1, requesting 1.5",
        "{denied}"
    );
    let allowed = admit(
        &client,
        &url,
        "hub",
        &pod("job-2", "phadmin", "phusers", "1"),
    )
    .await;
    assert_eq!(allowed["allowed"], true, "{allowed}");
    // A group the API does not know follows --undecided deny.
    let unknown = admit(
        &client,
        &url,
        "hub",
        &pod("job-3", "phadmin", "nobody", "1"),
    )
    .await;
    assert_eq!(unknown["allowed"], false);
    assert_eq!(unknown["status"]["code"], 403);
    let status = webhook.terminate().await;
    assert!(status.success(), "{status}");
    platform.shutdown().await.expect("shutdown");
    let _ = std::fs::remove_file(kubeconfig);
    let _ = std::fs::remove_dir_all(dir);
}
