//! kube-runtime against a REAL kube-apiserver (with etcd), as `tools/kube-apiserver` starts it:
//! the job-summary controller, the event recorder, and the conformance checks of the kinds the
//! fake serves for later work (`conformance_kinds`) — the same code and checks the fake passes
//! in `runtime_fake`.
//!
//! Needs `PRIMEHUB_TEST_KUBECONFIG`, or `PRIMEHUB_TEST_KUBE_URL` + `PRIMEHUB_TEST_KUBE_TOKEN`
//! (`source <(tools/kube-apiserver/apiserver.sh env)`). Without them every test prints a loud
//! SKIPPED line and passes — unless `PRIMEHUB_TEST_REQUIRE_REAL=1` (`.ci/run` sets it): then
//! it fails.
//!
//! The real tier runs no kube-controller-manager, so there is no garbage collection: the test
//! does not expect the summary to go with its job (the fake's test does), and the namespaces it
//! deletes stay `Terminating`.

use std::future::Future;
use std::io::Write;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::api::events::v1::Event as EventsV1Event;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, ResourceExt};
use primehub_model::crd::{PhJob, PhJobSpec};
use primehub_reconcile::conformance;
use primehub_reconcile::conformance_kinds;
use primehub_reconcile::kube_client::KubeClient;
use primehub_reconcile::runtime::job_summary::{self, SUMMARY_LABEL, summary_name};
use primehub_reconcile::runtime::{ControllerRuntime, Metrics};
use serde_json::json;

fn skipped(test: &str, why: &str) {
    assert!(
        std::env::var("PRIMEHUB_TEST_REQUIRE_REAL").as_deref() != Ok("1"),
        "PRIMEHUB_TEST_REQUIRE_REAL=1 but the real kube-apiserver is not configured ({test}: {why})"
    );
    let _ = writeln!(
        std::io::stderr(),
        "\n*** SKIPPED: real kube-apiserver runtime tests ({test}: {why}; .ci/run starts one: \
         tools/kube-apiserver/apiserver.sh start && source <(tools/kube-apiserver/apiserver.sh env)) ***\n"
    );
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The admin `kube::Client`, or `None` (after printing SKIPPED) without an API server.
pub(crate) async fn admin(test: &str) -> Option<Client> {
    if let Some(path) = var("PRIMEHUB_TEST_KUBECONFIG") {
        let kubeconfig =
            Kubeconfig::read_from(&path).expect("PRIMEHUB_TEST_KUBECONFIG is readable");
        let config =
            kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                .await
                .expect("a client configuration from PRIMEHUB_TEST_KUBECONFIG");
        return Some(Client::try_from(config).expect("a client for the API server"));
    }
    if let Some(url) = var("PRIMEHUB_TEST_KUBE_URL") {
        let token = var("PRIMEHUB_TEST_KUBE_TOKEN");
        // The throw-away API server has a self-signed serving certificate.
        let client = KubeClient::for_url(&url, token.as_deref(), true).expect("a client");
        return Some(client.client().clone());
    }
    skipped(
        test,
        "neither PRIMEHUB_TEST_KUBECONFIG nor PRIMEHUB_TEST_KUBE_URL is set",
    );
    None
}

/// Polls `check` every 100 ms until it gives a value; fails after 30 s.
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    for _ in 0..300 {
        if let Some(v) = check().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn summary_command(maps: &Api<ConfigMap>, job: &str) -> Option<String> {
    let map = maps.get_opt(&summary_name(job)).await.ok()??;
    map.data?.get("command").cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_new_kinds_pass_their_conformance_checks_on_the_real_apiserver() {
    let Some(client) = admin("conformance_kinds").await else {
        return;
    };
    conformance_kinds::run_all(&client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_job_summary_controller_runs_on_the_real_apiserver() {
    let Some(client) = admin("job-summary controller").await else {
        return;
    };
    conformance::install_primehub_crds(&KubeClient::new(client.clone()))
        .await
        .expect("installing the PrimeHub CRDs");
    let namespace = conformance::unique("rt-summary");
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": namespace}})).expect("a namespace"),
        )
        .await
        .expect("creating the test namespace");

    let metrics = Metrics::new();
    let runtime = ControllerRuntime::new("job-summary", &metrics);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let controller = job_summary::controller(client.clone(), Some(&namespace))
        .graceful_shutdown_on(async move {
            let _ = stopped.await;
        });
    let ctx = std::sync::Arc::new(job_summary::Context::new(client.clone()));
    let running = tokio::spawn(
        runtime
            .run(controller, job_summary::reconcile, ctx)
            .for_each(|_| async {}),
    );

    let jobs: Api<PhJob> = Api::namespaced(client.clone(), &namespace);
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), &namespace);
    let job = PhJob::new(
        "job-1",
        PhJobSpec {
            display_name: "train".into(),
            user_id: "u-1".into(),
            group_id: "g-1".into(),
            group_name: "phusers".into(),
            instance_type: "cpu-1".into(),
            image: "base-notebook".into(),
            command: "python a.py".into(),
            ..PhJobSpec::default()
        },
    );
    let created = jobs
        .create(&PostParams::default(), &job)
        .await
        .expect("creating the PhJob");

    eventually("the summary", || async {
        summary_command(&maps, "job-1").await
    })
    .await;
    let summary = maps.get(&summary_name("job-1")).await.expect("the summary");
    assert_eq!(summary.labels()[SUMMARY_LABEL], "job-1");
    let owner = &summary.owner_references()[0];
    assert_eq!(owner.uid, created.uid().unwrap_or_default());
    assert_eq!(owner.kind, "PhJob");
    assert_eq!(owner.controller, Some(true));

    // The recorder's event reached the real API server.
    let events: Api<EventsV1Event> = Api::namespaced(client.clone(), &namespace);
    let reasons = eventually("the SummaryCreated event", || async {
        let list = events.list(&Default::default()).await.ok()?;
        let reasons: Vec<String> = list.items.into_iter().filter_map(|e| e.reason).collect();
        (!reasons.is_empty()).then_some(reasons)
    })
    .await;
    assert_eq!(reasons, ["SummaryCreated"]);

    // Steady state: a reconcile caused by an unrelated change writes nothing.
    let before = summary.resource_version();
    let reconciles = metrics.reconciles("job-summary");
    jobs.patch(
        "job-1",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"annotations": {"touched": "yes"}}})),
    )
    .await
    .expect("annotating the job");
    eventually("a reconcile after the annotation", || async {
        (metrics.reconciles("job-summary") > reconciles).then_some(())
    })
    .await;
    let after = maps.get(&summary_name("job-1")).await.expect("the summary");
    assert_eq!(
        after.resource_version(),
        before,
        "the controller wrote the summary at steady state"
    );

    // A spec change is followed.
    jobs.patch(
        "job-1",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"command": "python b.py"}})),
    )
    .await
    .expect("changing the job");
    eventually("the new command", || async {
        (summary_command(&maps, "job-1").await.as_deref() == Some("python b.py")).then_some(())
    })
    .await;
    assert_eq!(metrics.errors("job-summary", true), 0);
    assert_eq!(metrics.errors("job-summary", false), 0);

    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(30), running)
        .await
        .expect("the controller shuts down")
        .expect("the controller task");
    let _ = namespaces
        .delete(&namespace, &DeleteParams::default())
        .await;
}
