//! The PhSchedule controller against a REAL kube-apiserver: the schedule's status (valid with
//! `nextRunTime`, invalid with PrimeHub's message) and the job a run creates round-trip through
//! the real server's CRD schemas (`deploy/crds`, installed by the conformance helper), with the
//! same code the fake tests run. The schedule's time is a `ManualClock`; the test moves it to
//! the run time and touches the schedule, whose watch event reconciles it.
//!
//! Needs the real tier's environment (see `real_runtime`); SKIPPED without it, a failure with
//! `PRIMEHUB_TEST_REQUIRE_REAL=1`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Namespace;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use primehub_model::clock::ManualClock;
use primehub_model::crd::job::LABEL_SCHEDULED_BY;
use primehub_model::crd::schedule::{PhJobTemplate, Recurrence, RecurrenceType};
use primehub_model::crd::{PhJob, PhJobSpec, PhSchedule, PhScheduleSpec};
use primehub_model::names;
use primehub_model::schedule::RECURRENCE_INVALID_MESSAGE;
use primehub_reconcile::conformance;
use primehub_reconcile::kube_client::KubeClient;
use primehub_reconcile::runtime::schedule::{self, ScheduleConfig, StaticScheduleContext};
use primehub_reconcile::runtime::{ControllerRuntime, Metrics};
use serde_json::json;

use crate::real_runtime::admin;

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

fn schedule(name: &str, ty: RecurrenceType, cron: Option<&str>) -> PhSchedule {
    PhSchedule::new(
        name,
        PhScheduleSpec {
            recurrence: Recurrence {
                type_: ty,
                cron: cron.map(str::to_owned),
            },
            job_template: PhJobTemplate {
                metadata: None,
                spec: PhJobSpec {
                    display_name: "train".into(),
                    user_id: "u-1".into(),
                    user_name: Some("Alice.Chen".into()),
                    group_id: "g-1".into(),
                    group_name: "Team_A".into(),
                    instance_type: "cpu-1".into(),
                    image: "base-notebook".into(),
                    command: "python train.py".into(),
                    ..PhJobSpec::default()
                },
            },
        },
    )
}

async fn next_run(api: &Api<PhSchedule>, name: &str) -> Option<String> {
    let s = api.get(name).await.ok()?;
    s.status?.next_run_time.map(|t| t.0.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedules_status_and_job_round_trip_through_the_real_apiserver() {
    let Some(client) = admin("phschedule controller").await else {
        return;
    };
    conformance::install_primehub_crds(&KubeClient::new(client.clone()))
        .await
        .expect("installing the PrimeHub CRDs");
    let namespace = conformance::unique("rt-schedule");
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": namespace}})).expect("a namespace"),
        )
        .await
        .expect("creating the test namespace");

    let clock = Arc::new(ManualClock::at(
        "2026-12-04T12:00:00Z".parse().expect("a time"),
    ));
    let tz = jiff::tz::TimeZone::get("Asia/Taipei").expect("a zone");
    let metrics = Metrics::new();
    let runtime = ControllerRuntime::new(schedule::CONTROLLER, &metrics);
    let ctx = schedule::Context::new(
        client.clone(),
        clock.clone(),
        Arc::new(StaticScheduleContext::new(tz)),
        ScheduleConfig::default(),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let controller =
        schedule::controller(client.clone(), Some(&namespace)).graceful_shutdown_on(async move {
            let _ = stopped.await;
        });
    let running = tokio::spawn(
        runtime
            .run(controller, schedule::reconcile, Arc::new(ctx))
            .for_each(|_| async {}),
    );

    let schedules: Api<PhSchedule> = Api::namespaced(client.clone(), &namespace);
    let jobs: Api<PhJob> = Api::namespaced(client.clone(), &namespace);
    schedules
        .create(
            &PostParams::default(),
            &schedule("nightly", RecurrenceType::Daily, None),
        )
        .await
        .expect("creating the schedule");
    schedules
        .create(
            &PostParams::default(),
            &schedule("broken", RecurrenceType::Custom, Some("0 4 * * 7")),
        )
        .await
        .expect("creating the broken schedule");

    // The status written through the real status subresource and read back through the schema.
    let next = eventually("the next run", || next_run(&schedules, "nightly")).await;
    assert_eq!(next, "2026-12-04T20:00:00Z");
    let broken = eventually("the invalid status", || async {
        let s = schedules.get("broken").await.ok()?;
        s.status.filter(|s| s.invalid)
    })
    .await;
    assert_eq!(broken.message.as_deref(), Some(RECURRENCE_INVALID_MESSAGE));
    assert!(broken.next_run_time.is_none());
    let raw: Api<kube::core::DynamicObject> = Api::namespaced_with(
        client.clone(),
        &namespace,
        &kube::api::ApiResource::erase::<PhSchedule>(&()),
    );
    let stored = raw.get("broken").await.expect("the raw schedule");
    assert_eq!(
        stored.data["status"],
        json!({"invalid": true, "message": RECURRENCE_INVALID_MESSAGE}),
        "the real server keeps exactly the status fields the controller wrote"
    );

    // The run time comes; touching the schedule reconciles it now.
    clock.set("2026-12-04T20:00:00Z".parse().expect("a time"));
    schedules
        .patch(
            "nightly",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"touched": "1"}}})),
        )
        .await
        .expect("touching the schedule");
    let next = eventually("the following run", || async {
        next_run(&schedules, "nightly")
            .await
            .filter(|n| n == "2026-12-05T20:00:00Z")
    })
    .await;
    assert_eq!(next, "2026-12-05T20:00:00Z");
    let list = jobs.list(&Default::default()).await.expect("the jobs");
    assert_eq!(list.items.len(), 1);
    let job = &list.items[0];
    assert!(job.name_any().starts_with("job-202612042000-"));
    assert_eq!(job.labels()[LABEL_SCHEDULED_BY], "nightly");
    assert_eq!(
        job.labels()[names::LABEL_USER],
        names::escape_label("Alice.Chen")
    );
    assert_eq!(
        job.labels()[names::LABEL_GROUP],
        names::escape_label("Team_A")
    );
    assert_eq!(job.annotations()["touched"], "1");
    assert_eq!(
        job.spec,
        schedules
            .get("nightly")
            .await
            .expect("the schedule")
            .spec
            .job_template
            .spec
    );
    assert_eq!(metrics.errors(schedule::CONTROLLER, false), 0);

    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(30), running)
        .await
        .expect("the controller shuts down")
        .expect("the controller task");
    let _ = namespaces
        .delete(&namespace, &DeleteParams::default())
        .await;
}
