//! The resource-validation webhook: PrimeHub's quota rules on crafted AdmissionReviews through
//! the same body-to-body path the HTTPS route uses, usage from the pod ledger of a fake
//! cluster, in-flight admissions, the undecided policy, the route's 400, and the fake cluster
//! calling the handler in process.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use kube::core::admission::AdmissionResponse;
use primehub_keycloak::cache::{CacheConfig, KeycloakCache};
use primehub_keycloak::fake::{BootstrapOptions, FakeKeycloak};
use primehub_keycloak::{GroupUpdate, KeycloakAdmin, NewGroup};
use primehub_model::clock::SystemClock;
use primehub_model::names::{LABEL_GROUP, LABEL_USER, escape_label};
use primehub_model::quantity::{Cpu, Gpu, Memory};
use primehub_model::quota::{PodCharge, Quota, ResourceAmounts};
use primehub_reconcile::admission::AdmissionHandler;
use primehub_reconcile::fake::FakeCluster;
use primehub_reconcile::stores::PodUsage;
use primehub_reconcile::webhook::in_flight::InFlight;
use primehub_reconcile::webhook::quotas::{GroupQuotas, KeycloakQuotas, QuotaSource, StaticQuotas};
use primehub_reconcile::webhook::resources::{ResourcesValidation, UndecidedPolicy};
use primehub_reconcile::webhook::{self, metrics::WebhookMetrics};
use primehub_reconcile::{KubeApi, KubeError, PatchBody, ResourceKind, Subresource};
use serde_json::{Value, json};
use tower::ServiceExt;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const NS: &str = "hub";

fn cpu(millis: u64) -> Option<Cpu> {
    Some(Cpu::from_millis(millis))
}

fn gib(n: u64) -> Option<Memory> {
    Some(Memory::from_bytes(n << 30))
}

/// A pod in `hub` with the escaped labels given and one container per limits map.
fn pod(name: &str, group: Option<&str>, user: Option<&str>, containers: &[Value]) -> Value {
    let mut labels = serde_json::Map::new();
    if let Some(group) = group {
        labels.insert(LABEL_GROUP.into(), json!(escape_label(group)));
    }
    if let Some(user) = user {
        labels.insert(LABEL_USER.into(), json!(escape_label(user)));
    }
    let containers: Vec<Value> = containers
        .iter()
        .enumerate()
        .map(|(i, limits)| {
            json!({"name": format!("c{i}"), "image": "busybox", "resources": {"limits": limits}})
        })
        .collect();
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": labels},
        "spec": {"containers": containers},
    })
}

fn with_sentinel(mut pod: Value) -> Value {
    pod["spec"]["initContainers"] = json!([
        {"name": "init-home", "image": "busybox"},
        {"name": "admission-is-not-found", "image": "admission-is-not-found",
         "imagePullPolicy": "Never", "command": ["false"]},
        {"name": "admission-is-not-found", "image": "admission-is-not-found"},
    ]);
    pod
}

fn review_of(pod: &Value) -> Value {
    json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": "0b1d6c0e-5c3c-4a7e-9a53-3b5a2e0e5f11",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "requestKind": {"group": "", "version": "v1", "kind": "Pod"},
            "requestResource": {"group": "", "version": "v1", "resource": "pods"},
            "name": pod["metadata"]["name"].as_str().unwrap_or(""),
            "namespace": pod["metadata"]["namespace"],
            "operation": "CREATE",
            "userInfo": {"username": "system:serviceaccount:hub:hub"},
            "object": pod,
            "dryRun": false,
        }
    })
}

struct World {
    cluster: FakeCluster,
    api: Arc<dyn KubeApi>,
    usage: PodUsage,
    webhook: Arc<ResourcesValidation>,
    metrics: WebhookMetrics,
}

async fn world_with(
    quotas: Arc<dyn QuotaSource>,
    policy: UndecidedPolicy,
    window: Duration,
) -> Result<World, Box<dyn std::error::Error>> {
    let cluster = FakeCluster::new();
    let (usage, driver) = PodUsage::start_with(
        cluster.client(),
        NS,
        Some(LABEL_GROUP),
        InFlight::new(window),
    );
    tokio::spawn(driver);
    usage.wait_ready(Duration::from_secs(10)).await?;
    let metrics = WebhookMetrics::new();
    let webhook = Arc::new(
        ResourcesValidation::new(quotas)
            .watching(NS, usage.clone())
            .with_policy(policy)
            .with_metrics(metrics.clone()),
    );
    let api: Arc<dyn KubeApi> = Arc::new(cluster.clone());
    Ok(World {
        cluster,
        api,
        usage,
        webhook,
        metrics,
    })
}

/// phusers: alice may use 1 CPU, 1 GPU and 2 GiB; the group 2 CPU, 2 GPUs and 4 GiB.
fn phusers() -> StaticQuotas {
    StaticQuotas::new([
        (
            "phusers".to_owned(),
            GroupQuotas {
                user: Quota {
                    cpu: cpu(1000),
                    gpu: Some(Gpu::from_count(1)),
                    memory: gib(2),
                },
                group: Quota {
                    cpu: cpu(2000),
                    gpu: Some(Gpu::from_count(2)),
                    memory: gib(4),
                },
            },
        ),
        ("unlimited".to_owned(), GroupQuotas::default()),
        (
            "zero".to_owned(),
            GroupQuotas {
                user: Quota {
                    cpu: cpu(0),
                    gpu: Some(Gpu::ZERO),
                    memory: gib(0),
                },
                group: Quota::UNLIMITED,
            },
        ),
    ])
}

async fn world() -> Result<World, Box<dyn std::error::Error>> {
    world_with(
        Arc::new(phusers()),
        UndecidedPolicy::Allow,
        InFlight::DEFAULT_WINDOW,
    )
    .await
}

impl World {
    /// One admission, body to body, as the HTTPS route does it.
    async fn admit(&self, pod: &Value) -> Result<AdmissionResponse, Box<dyn std::error::Error>> {
        let body = serde_json::to_vec(&review_of(pod))?;
        let out = webhook::review_body(self.webhook.as_ref(), &self.metrics, &body).await?;
        let reviewed: Value = serde_json::from_slice(&out)?;
        assert_eq!(
            reviewed["response"]["uid"], "0b1d6c0e-5c3c-4a7e-9a53-3b5a2e0e5f11",
            "the answer carries the request's uid"
        );
        let response = serde_json::from_value(reviewed["response"].clone())?;
        Ok(response)
    }

    async fn denial(&self, pod: &Value) -> Result<String, Box<dyn std::error::Error>> {
        let response = self.admit(pod).await?;
        assert!(!response.allowed, "expected a denial, got {response:?}");
        assert_eq!(response.result.code, 410);
        assert_eq!(response.result.reason, response.result.message);
        Ok(response.result.message)
    }

    async fn allowed(&self, pod: &Value) -> Result<AdmissionResponse, Box<dyn std::error::Error>> {
        let response = self.admit(pod).await?;
        assert!(response.allowed, "expected an admission, got {response:?}");
        Ok(response)
    }

    /// Stores `pod` (without admission) in `phase` and waits until the ledger counts it.
    async fn running(&self, pod: &Value, phase: &str) -> TestResult {
        let name = pod["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        self.api
            .create(&pods(), Some(NS), &serde_json::from_value(pod.clone())?)
            .await?;
        self.set_phase(&name, phase).await
    }

    async fn set_phase(&self, name: &str, phase: &str) -> TestResult {
        self.api
            .patch_status(
                &pods(),
                Some(NS),
                name,
                &PatchBody::Merge(json!({"status": {"phase": phase}})),
            )
            .await?;
        self.until_seen(name, phase).await
    }

    async fn until_seen(&self, name: &str, phase: &str) -> TestResult {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if self
                .usage
                .pod(name)
                .is_some_and(|p| p.phase.as_deref() == Some(phase))
            {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                return Err(format!("the watch never showed {name} {phase}").into());
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

fn pods() -> ResourceKind {
    ResourceKind::of::<k8s_openapi::api::core::v1::Pod>()
}

fn limits(cpu: &str, memory: &str, gpu: &str) -> Value {
    let mut limits = serde_json::Map::new();
    for (key, value) in [("cpu", cpu), ("memory", memory), ("nvidia.com/gpu", gpu)] {
        if !value.is_empty() {
            limits.insert(key.into(), json!(value));
        }
    }
    Value::Object(limits)
}

#[tokio::test]
async fn pods_without_the_group_label_are_allowed_untouched() -> TestResult {
    let w = world().await?;
    let plain = with_sentinel(pod("plain", None, Some("alice"), &[limits("64", "", "")]));
    let response = w.allowed(&plain).await?;
    assert!(
        response.patch.is_none(),
        "no patch for a pod that is not PrimeHub's"
    );
    assert_eq!(w.metrics.decisions("skipped"), 1);
    Ok(())
}

#[tokio::test]
async fn an_allowed_pod_loses_its_first_sentinel_and_nothing_else() -> TestResult {
    let w = world().await?;
    let notebook = with_sentinel(pod(
        "jupyter-alice",
        Some("phusers"),
        Some("alice"),
        &[limits("500m", "1Gi", "")],
    ));
    let response = w.allowed(&notebook).await?;
    let patch: json_patch::Patch =
        serde_json::from_slice(response.patch.as_deref().unwrap_or_default())?;
    let mut patched = notebook.clone();
    json_patch::patch(&mut patched, &patch)?;
    let names: Vec<&str> = patched["spec"]["initContainers"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, ["init-home", "admission-is-not-found"]);
    assert_eq!(
        patched["spec"]["containers"],
        notebook["spec"]["containers"]
    );
    assert_eq!(patched["metadata"], notebook["metadata"]);
    // A pod without a sentinel gets no patch.
    let bare = pod(
        "job-1",
        Some("phusers"),
        Some("alice"),
        &[limits("100m", "", "")],
    );
    assert!(w.allowed(&bare).await?.patch.is_none());
    Ok(())
}

#[tokio::test]
async fn quotas_follow_primehubs_rules() -> TestResult {
    let w = world().await?;
    // Exact fit: request + usage == quota is allowed (1 CPU for alice).
    w.allowed(&pod(
        "fit",
        Some("phusers"),
        Some("alice"),
        &[limits("1", "", "")],
    ))
    .await?;
    let w = world().await?;
    // Over the user quota: the message is PrimeHub's, the request is this pod's.
    assert_eq!(
        w.denial(&pod(
            "big",
            Some("phusers"),
            Some("alice"),
            &[limits("1500m", "", "")]
        ))
        .await?,
        "User alice exceeded cpu quota: 1, requesting 1.5"
    );
    // Several containers add up; init containers do not count.
    let mut two = pod(
        "two",
        Some("phusers"),
        Some("alice"),
        &[limits("600m", "", ""), limits("600m", "", "")],
    );
    two["spec"]["initContainers"] =
        json!([{"name": "i", "image": "x", "resources": {"limits": {"cpu": "64"}}}]);
    assert_eq!(
        w.denial(&two).await?,
        "User alice exceeded cpu quota: 1, requesting 1.2"
    );
    let mut init_only = pod(
        "init",
        Some("phusers"),
        Some("alice"),
        &[limits("", "", "")],
    );
    init_only["spec"]["initContainers"] =
        json!([{"name": "i", "image": "x", "resources": {"limits": {"cpu": "64"}}}]);
    w.allowed(&init_only).await?;
    // Order cpu → gpu → memory: both GPU and memory over, GPU is named.
    assert_eq!(
        w.denial(&pod(
            "g",
            Some("phusers"),
            Some("alice"),
            &[limits("", "3Gi", "2")]
        ))
        .await?,
        "User alice exceeded gpu quota: 1, requesting 2"
    );
    // Memory in bytes; Kubernetes units (2G is decimal, 2Gi binary).
    assert_eq!(
        w.denial(&pod(
            "m",
            Some("phusers"),
            Some("alice"),
            &[limits("", "3Gi", "")]
        ))
        .await?,
        "User alice exceeded memory quota: 2147483648, requesting 3221225472"
    );
    w.allowed(&pod(
        "m2",
        Some("phusers"),
        Some("alice"),
        &[limits("", "2G", "")],
    ))
    .await?;
    // Unset quotas are unlimited.
    w.allowed(&pod(
        "u",
        Some("unlimited"),
        Some("alice"),
        &[limits("64", "512Gi", "8")],
    ))
    .await?;
    // A zero quota refuses any positive request, and a request of 0 passes it.
    assert_eq!(
        w.denial(&pod(
            "z",
            Some("zero"),
            Some("alice"),
            &[limits("", "", "1")]
        ))
        .await?,
        "User alice exceeded gpu quota: 0, requesting 1"
    );
    w.allowed(&pod(
        "z0",
        Some("zero"),
        Some("alice"),
        &[limits("", "", "")],
    ))
    .await?;
    Ok(())
}

#[tokio::test]
async fn usage_comes_from_the_ledger_by_user_group_and_phase() -> TestResult {
    let w = world().await?;
    w.running(
        &pod(
            "a1",
            Some("phusers"),
            Some("alice"),
            &[limits("800m", "", "")],
        ),
        "Running",
    )
    .await?;
    // alice has 0.2 CPU left; bob none of hers.
    assert_eq!(
        w.denial(&pod(
            "a2",
            Some("phusers"),
            Some("alice"),
            &[limits("300m", "", "")]
        ))
        .await?,
        "User alice exceeded cpu quota: 1, requesting 0.3"
    );
    w.allowed(&pod(
        "b1",
        Some("phusers"),
        Some("bob"),
        &[limits("1", "", "")],
    ))
    .await?;
    // Other users' pods count toward the group: 0.8 + 1 (bob, in flight) + 0.5 > 2.
    assert_eq!(
        w.denial(&pod(
            "c1",
            Some("phusers"),
            Some("carol"),
            &[limits("500m", "", "")]
        ))
        .await?,
        "Group phusers exceeded cpu quota: 2, requesting 0.5"
    );
    // Pods of other groups do not count.
    w.running(
        &pod(
            "o1",
            Some("unlimited"),
            Some("alice"),
            &[limits("32", "", "")],
        ),
        "Running",
    )
    .await?;
    w.allowed(&pod(
        "a3",
        Some("phusers"),
        Some("alice"),
        &[limits("200m", "", "")],
    ))
    .await?;
    // A request of 0 is allowed even with usage over the quota.
    w.allowed(&pod(
        "a4",
        Some("phusers"),
        Some("alice"),
        &[limits("", "", "")],
    ))
    .await?;
    // Finished pods stop counting; Pending ones count.
    w.set_phase("a1", "Succeeded").await?;
    w.running(
        &pod(
            "a5",
            Some("phusers"),
            Some("alice"),
            &[limits("100m", "", "")],
        ),
        "Failed",
    )
    .await?;
    w.running(
        &pod(
            "a6",
            Some("phusers"),
            Some("alice"),
            &[limits("500m", "", "")],
        ),
        "Pending",
    )
    .await?;
    // alice: a3 0.2 (in flight) + a6 0.5 → 0.3 left.
    w.allowed(&pod(
        "a7",
        Some("phusers"),
        Some("alice"),
        &[limits("300m", "", "")],
    ))
    .await?;
    assert_eq!(
        w.usage.counted_pods(),
        2,
        "o1 and a6 are counted; a1 and a5 finished"
    );
    Ok(())
}

#[tokio::test]
async fn pods_without_a_user_get_the_group_check_only() -> TestResult {
    let w = world().await?;
    // A model deployment pod: 1.5 CPU is over any user's quota but within the group's.
    w.allowed(&pod(
        "deploy-abc",
        Some("phusers"),
        None,
        &[limits("1500m", "", "")],
    ))
    .await?;
    // "escaped-" alone is no user either.
    let mut empty_user = pod(
        "deploy-def",
        Some("phusers"),
        None,
        &[limits("400m", "", "")],
    );
    empty_user["metadata"]["labels"][LABEL_USER] = json!("escaped-");
    w.allowed(&empty_user).await?;
    assert_eq!(
        w.denial(&pod(
            "deploy-ghi",
            Some("phusers"),
            None,
            &[limits("200m", "", "")]
        ))
        .await?,
        "Group phusers exceeded cpu quota: 2, requesting 0.2"
    );
    Ok(())
}

#[tokio::test]
async fn two_quick_creates_cannot_both_slip_under_a_quota() -> TestResult {
    let w = world().await?;
    let first = pod(
        "q1",
        Some("phusers"),
        Some("alice"),
        &[limits("600m", "", "")],
    );
    let second = pod(
        "q2",
        Some("phusers"),
        Some("alice"),
        &[limits("600m", "", "")],
    );
    // Concurrently, before the watch has seen either: exactly one passes.
    let (a, b) = tokio::join!(w.admit(&first), w.admit(&second));
    let allowed = [a?.allowed, b?.allowed];
    assert_eq!(allowed.iter().filter(|x| **x).count(), 1, "{allowed:?}");
    assert_eq!(w.usage.in_flight().len(), 1);
    // The allowed one is created; once the watch shows it, the reservation is released and
    // the ledger counts it instead.
    let stored = if allowed[0] { &first } else { &second };
    w.running(stored, "Pending").await?;
    assert!(w.usage.in_flight().is_empty());
    assert_eq!(
        w.denial(&pod(
            "q3",
            Some("phusers"),
            Some("alice"),
            &[limits("600m", "", "")]
        ))
        .await?,
        "User alice exceeded cpu quota: 1, requesting 0.6"
    );
    Ok(())
}

#[tokio::test]
async fn generate_name_pods_release_their_reservation_once() -> TestResult {
    let w = world().await?;
    let mut replica = pod("", Some("phusers"), None, &[limits("1", "", "")]);
    replica["metadata"]
        .as_object_mut()
        .map(|m| m.remove("name"));
    replica["metadata"]["generateName"] = json!("deploy-model-7d9f-");
    w.allowed(&replica).await?;
    w.allowed(&replica).await?;
    assert_eq!(w.usage.in_flight().len(), 2);
    assert_eq!(
        w.denial(&replica).await?,
        "Group phusers exceeded cpu quota: 2, requesting 1.0"
    );
    // The API server names the first one; its events release one reservation, not two.
    let mut named = replica.clone();
    named["metadata"]["name"] = json!("deploy-model-7d9f-x2k4p");
    w.running(&named, "Pending").await?;
    w.set_phase("deploy-model-7d9f-x2k4p", "Running").await?;
    assert_eq!(w.usage.in_flight().len(), 1);
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_reservation_never_seen_expires_after_the_window() -> TestResult {
    let w = world_with(
        Arc::new(phusers()),
        UndecidedPolicy::Allow,
        Duration::from_secs(5),
    )
    .await?;
    w.allowed(&pod(
        "lost",
        Some("phusers"),
        Some("alice"),
        &[limits("1", "", "")],
    ))
    .await?;
    // Another webhook refused it: the API server never stores it.
    w.denial(&pod(
        "next",
        Some("phusers"),
        Some("alice"),
        &[limits("1", "", "")],
    ))
    .await?;
    tokio::time::advance(Duration::from_secs(5)).await;
    w.allowed(&pod(
        "next",
        Some("phusers"),
        Some("alice"),
        &[limits("1", "", "")],
    ))
    .await?;
    Ok(())
}

#[tokio::test]
async fn the_undecided_policy_applies_and_is_counted() -> TestResult {
    for (policy, allowed) in [
        (UndecidedPolicy::Allow, true),
        (UndecidedPolicy::Deny, false),
    ] {
        let w = world_with(Arc::new(phusers()), policy, InFlight::DEFAULT_WINDOW).await?;
        let stranger = with_sentinel(pod(
            "s",
            Some("strangers"),
            Some("alice"),
            &[limits("1", "", "")],
        ));
        let response = w.admit(&stranger).await?;
        assert_eq!(response.allowed, allowed, "{policy}");
        if allowed {
            assert!(response.patch.is_some(), "fail-open removes the sentinel");
        } else {
            assert_eq!(response.result.code, 403);
            assert!(
                response
                    .result
                    .message
                    .contains("group \"strangers\" is unknown to the quota source (static table)"),
                "{}",
                response.result.message
            );
        }
        // A label that is not escaped cannot be read (PrimeHub fails open on it too).
        let mut raw = pod("r", Some("phusers"), Some("alice"), &[limits("64", "", "")]);
        raw["metadata"]["labels"][LABEL_GROUP] = json!("phusers");
        assert_eq!(w.admit(&raw).await?.allowed, allowed);
        // Another namespace is not watched.
        let mut elsewhere = pod("e", Some("phusers"), Some("alice"), &[limits("64", "", "")]);
        elsewhere["metadata"]["namespace"] = json!("other");
        assert_eq!(w.admit(&elsewhere).await?.allowed, allowed);
        let text = w.metrics.encode();
        for cause in ["unknown_group", "unreadable_pod", "namespace_not_watched"] {
            let name = match policy {
                UndecidedPolicy::Allow => "allow",
                UndecidedPolicy::Deny => "deny",
            };
            let line = format!(
                "primehub_webhook_undecided_total{{cause=\"{cause}\",policy=\"{name}\"}} 1"
            );
            assert!(text.contains(&line), "{line} missing in\n{text}");
        }
    }
    Ok(())
}

#[tokio::test]
async fn malformed_bodies_get_400_with_a_message() -> TestResult {
    let w = world().await?;
    let handler: Arc<dyn AdmissionHandler> = w.webhook.clone();
    let app = webhook::router([("/".to_owned(), handler)], &w.metrics);
    for (body, says) in [
        ("not json", "not an admission.k8s.io/v1 AdmissionReview"),
        (
            r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#,
            "has no request",
        ),
        (
            r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":1}}"#,
            "AdmissionReview",
        ),
    ] {
        let response = app
            .clone()
            .oneshot(Request::post("/").body(Body::from(body))?)
            .await?;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16).await?;
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains(says), "{text}");
    }
    // A good one through the route.
    let good = serde_json::to_vec(&review_of(&pod(
        "ok",
        Some("phusers"),
        Some("alice"),
        &[limits("1", "", "")],
    )))?;
    let response = app
        .oneshot(Request::post("/").body(Body::from(good))?)
        .await?;
    assert_eq!(response.status(), StatusCode::OK);
    let text = w.metrics.encode();
    assert!(text.contains("primehub_webhook_malformed_reviews_total{webhook=\"resources-validation-webhook.primehub.io\"} 3"), "{text}");
    assert!(text.contains("primehub_webhook_reviews_total{webhook=\"resources-validation-webhook.primehub.io\",allowed=\"true\"} 1"), "{text}");
    assert!(
        text.contains("primehub_webhook_review_duration_seconds_count"),
        "{text}"
    );
    Ok(())
}

#[tokio::test]
async fn the_fake_cluster_admits_and_denies_pod_creates_in_process() -> TestResult {
    let w = world().await?;
    w.cluster.add_admission_handler(w.webhook.clone());
    let notebook = with_sentinel(pod(
        "nb",
        Some("phusers"),
        Some("alice"),
        &[limits("800m", "", "")],
    ));
    let created = w
        .api
        .create(&pods(), Some(NS), &serde_json::from_value(notebook)?)
        .await?;
    let init: Vec<&str> = created.data["spec"]["initContainers"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        init,
        ["init-home", "admission-is-not-found"],
        "the first sentinel is removed"
    );
    let refused = w
        .api
        .create(
            &pods(),
            Some(NS),
            &serde_json::from_value(pod(
                "nb2",
                Some("phusers"),
                Some("alice"),
                &[limits("800m", "", "")],
            ))?,
        )
        .await;
    match refused {
        Err(KubeError::Gone { message }) => {
            assert_eq!(
                message,
                format!(
                    "admission webhook \"{}\" denied the request: User alice exceeded cpu quota: 1, requesting 0.8",
                    ResourcesValidation::NAME
                )
            );
        }
        other => return Err(format!("expected a 410 denial, got {other:?}").into()),
    }
    // Updates are not reviewed (PrimeHub registers CREATE only).
    w.api
        .patch(
            &pods(),
            Some(NS),
            "nb",
            &PatchBody::Merge(json!({"metadata": {"labels": {"x": "y"}}})),
            Subresource::Main,
        )
        .await?;
    Ok(())
}

/// A dry-run create (`kubectl apply --dry-run=server`, a probe) is reviewed with
/// `dryRun: true` and never stored: it must reserve nothing, or it would hold its quota for the
/// whole in-flight window (found on the real API server: a probe pod made the job after it
/// exceed its group's quota).
#[tokio::test]
async fn a_dry_run_create_is_decided_but_reserves_nothing() -> TestResult {
    let w = world().await?;
    w.cluster.add_admission_handler(w.webhook.clone());
    let pods: kube::Api<k8s_openapi::api::core::v1::Pod> =
        kube::Api::namespaced(w.cluster.client(), NS);
    let notebook = |name: &str| -> Result<k8s_openapi::api::core::v1::Pod, serde_json::Error> {
        serde_json::from_value(with_sentinel(pod(
            name,
            Some("phusers"),
            Some("alice"),
            &[limits("800m", "", "")],
        )))
    };
    let dry = kube::api::PostParams {
        dry_run: true,
        ..Default::default()
    };
    let seen = pods.create(&dry, &notebook("nb")?).await?;
    assert_eq!(
        seen.spec.and_then(|s| s.init_containers).map(|i| i.len()),
        Some(2),
        "the dry run is decided and patched like a create"
    );
    assert!(w.usage.in_flight().is_empty(), "a dry run reserves nothing");
    // Over quota, a dry run is denied like a create.
    let big = serde_json::from_value(pod(
        "big",
        Some("phusers"),
        Some("alice"),
        &[limits("2", "", "")],
    ))?;
    match pods.create(&dry, &big).await {
        Err(kube::Error::Api(status)) => assert_eq!(status.code, 410, "{status:?}"),
        other => return Err(format!("expected a 410 denial, got {other:?}").into()),
    }
    // The quota the dry run did not hold is there for the real create.
    pods.create(&kube::api::PostParams::default(), &notebook("nb")?)
        .await?;
    assert_eq!(w.usage.in_flight().len(), 1);
    Ok(())
}

#[tokio::test]
async fn keycloak_quotas_come_from_the_cache_and_follow_changes() -> TestResult {
    let keycloak = FakeKeycloak::new()?;
    keycloak
        .bootstrap_primehub("primehub", &BootstrapOptions::default())
        .await?;
    let realm: Arc<dyn KeycloakAdmin> = Arc::new(keycloak.realm("primehub")?);
    let mut attributes = std::collections::BTreeMap::new();
    attributes.insert("quota-cpu".to_owned(), vec!["0.5".to_owned()]);
    attributes.insert("project-quota-memory".to_owned(), vec!["1.5G".to_owned()]);
    let id = realm
        .create_group(&NewGroup {
            name: "team-a".into(),
            attributes: attributes.clone(),
        })
        .await?;
    let cache =
        KeycloakCache::load(realm.clone(), Arc::new(SystemClock), CacheConfig::default()).await?;
    let w = world_with(
        Arc::new(KeycloakQuotas::new(cache.clone())),
        UndecidedPolicy::Deny,
        InFlight::DEFAULT_WINDOW,
    )
    .await?;
    assert_eq!(
        w.denial(&pod(
            "k1",
            Some("team-a"),
            Some("alice"),
            &[limits("600m", "", "")]
        ))
        .await?,
        "User alice exceeded cpu quota: 0.5, requesting 0.6"
    );
    assert_eq!(
        w.denial(&pod(
            "k2",
            Some("team-a"),
            Some("alice"),
            &[limits("", "2Gi", "")]
        ))
        .await?,
        "Group team-a exceeded memory quota: 1610612736, requesting 2147483648"
    );
    // The quota is raised in Keycloak; after the cache's next poll the pod fits.
    attributes.insert("quota-cpu".to_owned(), vec!["1".to_owned()]);
    realm
        .update_group(
            &id,
            &GroupUpdate {
                attributes: Some(attributes),
                ..Default::default()
            },
        )
        .await?;
    cache.poll_events_once().await?;
    w.allowed(&pod(
        "k1",
        Some("team-a"),
        Some("alice"),
        &[limits("600m", "", "")],
    ))
    .await?;
    Ok(())
}

fn charge(group: &str, user: Option<&str>, cpu_millis: u64) -> PodCharge {
    PodCharge {
        group: group.to_owned(),
        user: user.map(str::to_owned),
        amounts: ResourceAmounts {
            cpu: Cpu::from_millis(cpu_millis),
            ..ResourceAmounts::ZERO
        },
    }
}

fn stored_pod(
    name: &str,
    generate_name: Option<&str>,
    group: &str,
) -> k8s_openapi::api::core::v1::Pod {
    let mut value = pod(name, Some(group), None, &[limits("1", "", "")]);
    if let Some(prefix) = generate_name {
        value["metadata"]["generateName"] = json!(prefix);
    }
    serde_json::from_value(value).expect("a pod")
}

fn pending_cpu(in_flight: &InFlight, group: &str, user: Option<&str>) -> (u64, u64) {
    let guard = in_flight.lock();
    let (group, user) = guard.pending(group, user);
    (group.cpu.millis(), user.cpu.millis())
}

#[tokio::test]
async fn in_flight_sums_follow_each_reservation_by_group_and_user() {
    let in_flight = InFlight::new(Duration::from_secs(30));
    assert_eq!(in_flight.window(), Duration::from_secs(30));
    assert!(in_flight.is_empty());
    {
        let mut guard = in_flight.lock();
        guard.reserve("a", "", charge("phusers", Some("alice"), 500));
        guard.reserve("b", "", charge("phusers", Some("alice"), 250));
        guard.reserve("c", "", charge("phusers", Some("bob"), 100));
        guard.reserve("d", "", charge("other", None, 1000));
        // Nothing to hold: not kept.
        guard.reserve("z", "", charge("phusers", Some("alice"), 0));
    }
    assert!(!in_flight.is_empty());
    assert_eq!(in_flight.len(), 4);
    assert_eq!(
        pending_cpu(&in_flight, "phusers", Some("alice")),
        (850, 750)
    );
    assert_eq!(pending_cpu(&in_flight, "phusers", Some("bob")), (850, 100));
    assert_eq!(pending_cpu(&in_flight, "phusers", None), (850, 0));
    assert_eq!(pending_cpu(&in_flight, "other", None), (1000, 0));
    // Releasing one of alice's two keeps the other counted, for her and for the group.
    in_flight.observed(&stored_pod("a", None, "phusers"));
    assert_eq!(in_flight.len(), 3);
    assert_eq!(
        pending_cpu(&in_flight, "phusers", Some("alice")),
        (350, 250)
    );
    in_flight.observed(&stored_pod("b", None, "phusers"));
    assert_eq!(pending_cpu(&in_flight, "phusers", Some("alice")), (100, 0));
    assert_eq!(pending_cpu(&in_flight, "phusers", Some("bob")), (100, 100));
    // Seen again: nothing more to release.
    in_flight.observed(&stored_pod("b", None, "phusers"));
    assert_eq!(in_flight.len(), 2);
    in_flight.observed(&stored_pod("c", None, "phusers"));
    assert_eq!(pending_cpu(&in_flight, "phusers", Some("bob")), (0, 0));
    assert_eq!(pending_cpu(&in_flight, "other", None), (1000, 0));
}

#[tokio::test]
async fn a_second_admission_of_the_same_name_replaces_the_first() {
    let in_flight = InFlight::default();
    assert_eq!(in_flight.window(), InFlight::DEFAULT_WINDOW);
    {
        let mut guard = in_flight.lock();
        guard.reserve("a", "", charge("phusers", Some("alice"), 500));
        guard.reserve("a", "", charge("phusers", Some("alice"), 300));
    }
    assert_eq!(in_flight.len(), 1);
    assert_eq!(
        pending_cpu(&in_flight, "phusers", Some("alice")),
        (300, 300)
    );
    in_flight.observed(&stored_pod("a", None, "phusers"));
    assert!(in_flight.is_empty());
    assert_eq!(pending_cpu(&in_flight, "phusers", Some("alice")), (0, 0));
}

#[tokio::test]
async fn generate_name_reservations_match_prefix_and_group_once() {
    let in_flight = InFlight::new(Duration::from_secs(30));
    {
        let mut guard = in_flight.lock();
        guard.reserve("", "model-", charge("phusers", None, 400));
        guard.reserve("", "model-", charge("phusers", None, 400));
        guard.reserve("", "model-", charge("other", None, 100));
    }
    assert_eq!(in_flight.len(), 3);
    // A name that does not start with the generateName is not the pod reserved.
    in_flight.observed(&stored_pod("elsewhere-x1", Some("model-"), "phusers"));
    // A pod without a generateName, with no reservation of its name, releases nothing.
    in_flight.observed(&stored_pod("model-x0", None, "phusers"));
    // A pod of a group with no reservation of that prefix releases nothing.
    in_flight.observed(&stored_pod("model-y1", Some("model-"), "strangers"));
    assert_eq!(in_flight.len(), 3);
    assert_eq!(pending_cpu(&in_flight, "phusers", None), (800, 0));
    // The same pod seen twice releases one reservation.
    in_flight.observed(&stored_pod("model-x1", Some("model-"), "phusers"));
    assert_eq!(in_flight.len(), 2);
    in_flight.observed(&stored_pod("model-x1", Some("model-"), "phusers"));
    assert_eq!(in_flight.len(), 2);
    assert_eq!(pending_cpu(&in_flight, "phusers", None), (400, 0));
    assert_eq!(pending_cpu(&in_flight, "other", None), (100, 0));
    // The other group's replica releases its own.
    in_flight.observed(&stored_pod("model-z1", Some("model-"), "other"));
    assert_eq!(pending_cpu(&in_flight, "other", None), (0, 0));
    in_flight.observed(&stored_pod("model-x2", Some("model-"), "phusers"));
    assert!(in_flight.is_empty());
}

#[tokio::test(start_paused = true)]
async fn in_flight_reservations_expire_after_their_window_exactly() {
    let in_flight = InFlight::new(Duration::from_secs(5));
    in_flight
        .lock()
        .reserve("a", "", charge("phusers", Some("alice"), 500));
    tokio::time::advance(Duration::from_secs(3)).await;
    in_flight
        .lock()
        .reserve("b", "", charge("phusers", Some("alice"), 200));
    tokio::time::advance(Duration::from_millis(1999)).await;
    assert_eq!(
        pending_cpu(&in_flight, "phusers", Some("alice")),
        (700, 700)
    );
    tokio::time::advance(Duration::from_millis(1)).await;
    assert_eq!(in_flight.len(), 1);
    assert_eq!(
        pending_cpu(&in_flight, "phusers", Some("alice")),
        (200, 200)
    );
    tokio::time::advance(Duration::from_secs(3)).await;
    assert!(in_flight.is_empty());
    assert_eq!(pending_cpu(&in_flight, "phusers", Some("alice")), (0, 0));
}

#[test]
fn undecided_policies_parse_from_their_flag_values() {
    assert_eq!(
        "allow".parse::<UndecidedPolicy>(),
        Ok(UndecidedPolicy::Allow)
    );
    assert_eq!("deny".parse::<UndecidedPolicy>(), Ok(UndecidedPolicy::Deny));
    assert_eq!(UndecidedPolicy::default(), UndecidedPolicy::Allow);
    let err = "Deny".parse::<UndecidedPolicy>().expect_err("not a policy");
    assert_eq!(err, "\"Deny\" is not a policy: use \"allow\" or \"deny\"");
    assert_eq!(UndecidedPolicy::Allow.to_string(), "allow");
    assert_eq!(UndecidedPolicy::Deny.to_string(), "deny");
}

/// A quota source that is not ready yet (a cache still loading).
struct NotReady;

#[async_trait::async_trait]
impl QuotaSource for NotReady {
    fn describe(&self) -> String {
        "not ready".to_owned()
    }

    async fn group_quotas(
        &self,
        _group_name: &str,
    ) -> Result<Option<GroupQuotas>, primehub_reconcile::Error> {
        Ok(None)
    }

    fn is_ready(&self) -> bool {
        false
    }
}

#[tokio::test]
async fn readiness_needs_the_quota_source_and_every_ledger() -> TestResult {
    let w = world().await?;
    assert!(w.webhook.is_ready());
    // What an operator sees in a debug log: the namespaces, the source and the policy.
    let debug = format!("{:?}", w.webhook);
    assert!(
        debug.contains(&format!("namespaces: [\"{NS}\"]"))
            && debug.contains("quotas: \"static table\"")
            && debug.contains("policy: Allow"),
        "{debug}"
    );
    let not_ready = ResourcesValidation::new(Arc::new(NotReady)).watching(NS, w.usage.clone());
    assert!(!not_ready.is_ready());
    // A ledger whose pods are never listed (its driver is not running) is not ready.
    let cluster = FakeCluster::new();
    let (unsynced, _driver) =
        PodUsage::start_with(cluster.client(), NS, Some(LABEL_GROUP), InFlight::default());
    let waiting = ResourcesValidation::new(Arc::new(phusers())).watching(NS, unsynced);
    assert!(!waiting.is_ready());
    Ok(())
}

#[tokio::test]
async fn gauges_show_the_ledger_and_the_reservations_after_a_refresh() -> TestResult {
    let w = world().await?;
    w.running(
        &pod("r1", Some("phusers"), Some("alice"), &[limits("1", "", "")]),
        "Running",
    )
    .await?;
    w.allowed(&pod(
        "p1",
        Some("phusers"),
        Some("bob"),
        &[limits("0.5", "", "")],
    ))
    .await?;
    w.webhook.refresh_gauges();
    let text = w.metrics.encode();
    for line in [
        format!("primehub_webhook_ledger_pods{{namespace=\"{NS}\"}} 1"),
        format!("primehub_webhook_in_flight_pods{{namespace=\"{NS}\"}} 1"),
    ] {
        assert!(text.contains(&line), "{line} missing in\n{text}");
    }
    Ok(())
}
