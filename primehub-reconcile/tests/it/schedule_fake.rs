//! The PhSchedule controller on the fake cluster in process, with a `ManualClock` for the
//! schedule's time and tokio's paused clock for the controller's timers: nothing sleeps in real
//! time. A test moves the manual clock to a run time and lets virtual time pass; the
//! controller's requeue (at most the safety requeue, 5 virtual minutes) then reconciles.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::events::v1::Event as EventsV1Event;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use primehub_model::clock::ManualClock;
use primehub_model::crd::job::LABEL_SCHEDULED_BY;
use primehub_model::crd::schedule::{PhJobTemplate, Recurrence, RecurrenceType};
use primehub_model::crd::{PhJob, PhJobSpec, PhSchedule, PhScheduleSpec, PhScheduleStatus};
use primehub_model::names;
use primehub_model::schedule::{INACTIVE_MESSAGE, RECURRENCE_INVALID_MESSAGE};
use primehub_reconcile::fake::FakeCluster;
use primehub_reconcile::runtime::schedule::{
    self, ScheduleConfig, ScheduleContext, StaticScheduleContext,
};
use primehub_reconcile::runtime::{ControllerRuntime, Metrics};
use serde_json::json;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Polls `check` every 10 ms (virtual) until it gives a value; fails after 60 virtual seconds.
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    for _ in 0..6000 {
        if let Some(v) = check().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

fn ts(s: &str) -> jiff::Timestamp {
    s.parse().expect("a timestamp")
}

fn zone(name: &str) -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::get(name).expect("a known zone")
}

struct World {
    clock: Arc<ManualClock>,
    client: Client,
    context: Arc<StaticScheduleContext>,
    metrics: Metrics,
    _cluster: FakeCluster,
}

impl World {
    /// A fake cluster and the controller (all namespaces), the manual clock at `start`, the
    /// system time zone `tz`; templates whose instance type is `missing` are invalid.
    fn start(start: &str, tz: &str) -> World {
        let clock = Arc::new(ManualClock::at(ts(start)));
        let cluster = FakeCluster::with_clock(clock.clone());
        let client = cluster.client();
        let context = Arc::new(StaticScheduleContext::new(zone(tz)).with_validator(|spec| {
            if spec.instance_type == "missing" {
                Err(format!("InstanceType not found: {}", spec.instance_type))
            } else {
                Ok(())
            }
        }));
        let metrics = Metrics::new();
        let runtime = ControllerRuntime::new(schedule::CONTROLLER, &metrics);
        let ctx = schedule::Context::new(
            client.clone(),
            clock.clone(),
            context.clone(),
            ScheduleConfig::default(),
        );
        tokio::spawn(schedule::run(ctx, None, &runtime).for_each(|_| async {}));
        World {
            clock,
            client,
            context,
            metrics,
            _cluster: cluster,
        }
    }

    fn schedules(&self, ns: &str) -> Api<PhSchedule> {
        Api::namespaced(self.client.clone(), ns)
    }

    fn jobs(&self, ns: &str) -> Api<PhJob> {
        Api::namespaced(self.client.clone(), ns)
    }

    /// Moves the schedule clock to `at` and lets the controller's timers fire.
    async fn pass_to(&self, at: &str) {
        self.clock.set(ts(at));
        tokio::time::sleep(Duration::from_secs(301)).await;
    }

    async fn status(&self, ns: &str, name: &str) -> PhScheduleStatus {
        self.schedules(ns)
            .get(name)
            .await
            .ok()
            .and_then(|s| s.status)
            .unwrap_or_default()
    }

    /// Waits until the schedule's status is `want`.
    async fn status_becomes(&self, ns: &str, name: &str, want: PhScheduleStatus) {
        eventually(&format!("status {want:?} of {ns}/{name}"), || {
            let want = want.clone();
            async move { (self.status(ns, name).await == want).then_some(()) }
        })
        .await;
    }

    async fn job_names(&self, ns: &str) -> Vec<String> {
        let mut names: Vec<String> = self
            .jobs(ns)
            .list(&Default::default())
            .await
            .map(|l| l.items.iter().map(ResourceExt::name_any).collect())
            .unwrap_or_default();
        names.sort();
        names
    }
}

fn waiting(next: &str) -> PhScheduleStatus {
    PhScheduleStatus {
        invalid: false,
        next_run_time: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(ts(
            next,
        ))),
        message: None,
    }
}

fn template() -> PhJobTemplate {
    PhJobTemplate {
        metadata: None,
        spec: PhJobSpec {
            display_name: "nightly training".into(),
            user_id: "u-1".into(),
            user_name: Some("Alice.Chen".into()),
            group_id: "g-1".into(),
            group_name: "Team_A".into(),
            instance_type: "cpu-1".into(),
            image: "base-notebook".into(),
            command: "python train.py".into(),
            ..PhJobSpec::default()
        },
    }
}

fn schedule(name: &str, ty: RecurrenceType, cron: Option<&str>) -> PhSchedule {
    let mut s = PhSchedule::new(
        name,
        PhScheduleSpec {
            recurrence: Recurrence {
                type_: ty,
                cron: cron.map(str::to_owned),
            },
            job_template: template(),
        },
    );
    s.metadata.annotations = Some(BTreeMap::from([(
        "primehub.io/owner".to_owned(),
        "ml-team".to_owned(),
    )]));
    s
}

async fn set_phase(jobs: &Api<PhJob>, name: &str, phase: &str) -> TestResult {
    jobs.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"phase": phase}})),
    )
    .await?;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_daily_schedule_runs_at_four_in_the_system_zone_without_overlap() -> TestResult {
    // 20:00 in Taipei (UTC+8).
    let w = World::start("2026-12-04T12:00:00Z", "Asia/Taipei");
    let schedules = w.schedules("hub");
    let jobs = w.jobs("hub");
    schedules
        .create(
            &PostParams::default(),
            &schedule("nightly", RecurrenceType::Daily, None),
        )
        .await?;
    w.status_becomes("hub", "nightly", waiting("2026-12-04T20:00:00Z"))
        .await;
    assert!(w.job_names("hub").await.is_empty());

    // 04:00 in Taipei: the job is created, named after the run in UTC.
    w.pass_to("2026-12-04T20:00:00Z").await;
    w.status_becomes("hub", "nightly", waiting("2026-12-05T20:00:00Z"))
        .await;
    let created = w.job_names("hub").await;
    assert_eq!(created.len(), 1, "{created:?}");
    assert!(created[0].starts_with("job-202612042000-"), "{created:?}");
    assert_eq!(created[0].len(), "job-202612042000-abcdef".len());
    let job = jobs.get(&created[0]).await?;
    let labels = job.labels();
    assert_eq!(labels[LABEL_SCHEDULED_BY], "nightly");
    assert_eq!(labels[names::LABEL_GROUP], names::escape_label("Team_A"));
    assert_eq!(labels[names::LABEL_USER], names::escape_label("Alice.Chen"));
    assert_eq!(job.annotations()["primehub.io/owner"], "ml-team");
    assert_eq!(job.spec, template().spec);
    assert!(
        job.owner_references().is_empty(),
        "PrimeHub sets no owner reference"
    );

    // Steady state: reconciles (the safety requeue) write nothing.
    let before = schedules.get("nightly").await?.resource_version();
    let reconciles = w.metrics.reconciles(schedule::CONTROLLER);
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert!(w.metrics.reconciles(schedule::CONTROLLER) > reconciles);
    assert_eq!(schedules.get("nightly").await?.resource_version(), before);

    // The next day the first job (no status yet = Pending) is still active: skipped.
    w.pass_to("2026-12-05T20:00:00Z").await;
    w.status_becomes("hub", "nightly", waiting("2026-12-06T20:00:00Z"))
        .await;
    assert_eq!(w.job_names("hub").await, created);
    let events: Api<EventsV1Event> = Api::namespaced(w.client.clone(), "hub");
    let reasons: Vec<String> = events
        .list(&Default::default())
        .await?
        .items
        .into_iter()
        .filter_map(|e| e.reason)
        .collect();
    assert!(reasons.contains(&"JobCreated".to_owned()), "{reasons:?}");
    assert!(reasons.contains(&"RunSkipped".to_owned()), "{reasons:?}");

    // Running still blocks; once it succeeded, the next run creates a job.
    set_phase(&jobs, &created[0], "Running").await?;
    w.pass_to("2026-12-06T20:00:00Z").await;
    w.status_becomes("hub", "nightly", waiting("2026-12-07T20:00:00Z"))
        .await;
    assert_eq!(w.job_names("hub").await, created);
    set_phase(&jobs, &created[0], "Succeeded").await?;
    w.pass_to("2026-12-07T20:00:00Z").await;
    w.status_becomes("hub", "nightly", waiting("2026-12-08T20:00:00Z"))
        .await;
    let now = w.job_names("hub").await;
    assert_eq!(now.len(), 2, "{now:?}");
    assert!(now.iter().any(|n| n.starts_with("job-202612072000-")));
    assert_eq!(w.metrics.errors(schedule::CONTROLLER, true), 0);
    assert_eq!(w.metrics.errors(schedule::CONTROLLER, false), 0);
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn inactive_invalid_cron_and_invalid_templates_have_primehubs_statuses() -> TestResult {
    let w = World::start("2026-12-04T12:00:00Z", "Etc/UTC");
    let schedules = w.schedules("hub");
    schedules
        .create(
            &PostParams::default(),
            &schedule("off", RecurrenceType::Inactive, None),
        )
        .await?;
    schedules
        .create(
            &PostParams::default(),
            &schedule("bad-cron", RecurrenceType::Custom, Some("0 4 * * 7")),
        )
        .await?;
    let mut bad_template = schedule("bad-template", RecurrenceType::Daily, None);
    bad_template.spec.job_template.spec.instance_type = "missing".into();
    schedules
        .create(&PostParams::default(), &bad_template)
        .await?;

    w.status_becomes(
        "hub",
        "off",
        PhScheduleStatus {
            invalid: false,
            next_run_time: None,
            message: Some(INACTIVE_MESSAGE.into()),
        },
    )
    .await;
    w.status_becomes(
        "hub",
        "bad-cron",
        PhScheduleStatus {
            invalid: true,
            next_run_time: None,
            message: Some(RECURRENCE_INVALID_MESSAGE.into()),
        },
    )
    .await;
    w.status_becomes(
        "hub",
        "bad-template",
        PhScheduleStatus {
            invalid: true,
            next_run_time: None,
            message: Some("InstanceType not found: missing".into()),
        },
    )
    .await;
    // The event says which field and rule.
    let events: Api<EventsV1Event> = Api::namespaced(w.client.clone(), "hub");
    let notes: Vec<String> = events
        .list(&Default::default())
        .await?
        .items
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some("InvalidRecurrence"))
        .filter_map(|e| e.note)
        .collect();
    assert_eq!(
        notes,
        ["invalid spec.recurrence.cron: day of week field \"7\": 7 is above the maximum 6"]
    );

    // Fixed: each becomes valid with its next run and no message.
    for (name, patch) in [
        ("off", json!({"spec": {"recurrence": {"type": "daily"}}})),
        (
            "bad-cron",
            json!({"spec": {"recurrence": {"cron": "30 12 * * 0"}}}),
        ),
        (
            "bad-template",
            json!({"spec": {"jobTemplate": {"spec": {"instanceType": "cpu-1"}}}}),
        ),
    ] {
        schedules
            .patch(name, &PatchParams::default(), &Patch::Merge(patch))
            .await?;
    }
    w.status_becomes("hub", "off", waiting("2026-12-05T04:00:00Z"))
        .await;
    // 2026-12-06 is a Sunday.
    w.status_becomes("hub", "bad-cron", waiting("2026-12-06T12:30:00Z"))
        .await;
    w.status_becomes("hub", "bad-template", waiting("2026-12-05T04:00:00Z"))
        .await;

    // Deactivated again: no next run, and nothing runs.
    schedules
        .patch(
            "off",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"recurrence": {"type": "inactive"}}})),
        )
        .await?;
    w.status_becomes(
        "hub",
        "off",
        PhScheduleStatus {
            invalid: false,
            next_run_time: None,
            message: Some(INACTIVE_MESSAGE.into()),
        },
    )
    .await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn runs_follow_dst_changes_in_new_york() -> TestResult {
    let w = World::start("2026-03-07T12:00:00Z", "America/New_York");
    let schedules = w.schedules("hub");
    schedules
        .create(
            &PostParams::default(),
            &schedule("early", RecurrenceType::Custom, Some("30 2 * * *")),
        )
        .await?;
    schedules
        .create(
            &PostParams::default(),
            &schedule("nightly", RecurrenceType::Daily, None),
        )
        .await?;
    // 02:30 does not exist on 2026-03-08: the run is at 03:00 EDT, right after the gap.
    w.status_becomes("hub", "early", waiting("2026-03-08T07:00:00Z"))
        .await;
    // 04:00 EST on the 7th (the clock is already past it: 09:00Z = 04:00 EST is before 12:00Z).
    w.status_becomes("hub", "nightly", waiting("2026-03-08T08:00:00Z"))
        .await;
    w.pass_to("2026-03-08T07:00:00Z").await;
    w.status_becomes("hub", "early", waiting("2026-03-09T06:30:00Z"))
        .await;
    w.pass_to("2026-03-08T08:00:00Z").await;
    // After the change 04:00 is EDT (UTC-4).
    w.status_becomes("hub", "nightly", waiting("2026-03-09T08:00:00Z"))
        .await;
    let jobs = w.job_names("hub").await;
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    assert!(jobs.iter().any(|n| n.starts_with("job-202603080700-")));
    assert!(jobs.iter().any(|n| n.starts_with("job-202603080800-")));
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_changed_system_time_zone_and_a_missed_run_are_picked_up() -> TestResult {
    let w = World::start("2026-12-04T12:00:00Z", "Etc/UTC");
    let schedules = w.schedules("hub");
    schedules
        .create(
            &PostParams::default(),
            &schedule("nightly", RecurrenceType::Daily, None),
        )
        .await?;
    w.status_becomes("hub", "nightly", waiting("2026-12-05T04:00:00Z"))
        .await;
    // The administrator sets Europe/London... no change in winter; Asia/Taipei moves it.
    w.context.set_time_zone(zone("Asia/Taipei"));
    tokio::time::sleep(Duration::from_secs(301)).await;
    w.status_becomes("hub", "nightly", waiting("2026-12-04T20:00:00Z"))
        .await;
    // The controller "was down" for two days: the recorded run is past the starting deadline.
    w.pass_to("2026-12-06T13:00:00Z").await;
    w.status_becomes("hub", "nightly", waiting("2026-12-06T20:00:00Z"))
        .await;
    assert!(
        w.job_names("hub").await.is_empty(),
        "a missed run is skipped"
    );
    // A run late by less than the deadline is made up, once.
    w.pass_to("2026-12-06T20:40:00Z").await;
    w.status_becomes("hub", "nightly", waiting("2026-12-07T20:00:00Z"))
        .await;
    let jobs = w.job_names("hub").await;
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert!(jobs[0].starts_with("job-202612062000-"), "{jobs:?}");
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn schedules_of_the_same_name_in_two_namespaces_do_not_collide() -> TestResult {
    let w = World::start("2026-12-04T12:00:00Z", "Etc/UTC");
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(w.client.clone());
    for ns in ["team-a", "team-b"] {
        namespaces
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({"metadata": {"name": ns}}))?,
            )
            .await?;
    }
    let a = w.schedules("team-a");
    let b = w.schedules("team-b");
    a.create(
        &PostParams::default(),
        &schedule("nightly", RecurrenceType::Custom, Some("0 13 * * *")),
    )
    .await?;
    b.create(
        &PostParams::default(),
        &schedule("nightly", RecurrenceType::Custom, Some("0 14 * * *")),
    )
    .await?;
    w.status_becomes("team-a", "nightly", waiting("2026-12-04T13:00:00Z"))
        .await;
    w.status_becomes("team-b", "nightly", waiting("2026-12-04T14:00:00Z"))
        .await;
    w.pass_to("2026-12-04T13:00:00Z").await;
    w.status_becomes("team-a", "nightly", waiting("2026-12-05T13:00:00Z"))
        .await;
    assert_eq!(w.job_names("team-a").await.len(), 1);
    assert!(w.job_names("team-b").await.is_empty());
    w.pass_to("2026-12-04T14:00:00Z").await;
    w.status_becomes("team-b", "nightly", waiting("2026-12-05T14:00:00Z"))
        .await;
    assert_eq!(w.job_names("team-a").await.len(), 1);
    assert_eq!(w.job_names("team-b").await.len(), 1);
    Ok(())
}

#[tokio::test]
async fn the_keycloak_context_reads_the_zone_and_validates_as_primehubs_spawner() -> TestResult {
    use primehub_keycloak::cache::{CacheConfig, KeycloakCache};
    use primehub_keycloak::fake::{BootstrapOptions, FakeKeycloak};
    use primehub_keycloak::{GroupUpdate, KeycloakAdmin, NewGroup, NewUser};
    use primehub_model::clock::SystemClock;
    use primehub_model::crd::{Image, ImageCrdSpec, InstanceType};
    use primehub_model::roles::RoleNaming;
    use primehub_reconcile::runtime::schedule::KeycloakScheduleContext;
    use primehub_reconcile::stores::{ResourceStores, StoresConfig};

    let keycloak = FakeKeycloak::new()?;
    let shape = keycloak
        .bootstrap_primehub("primehub", &BootstrapOptions::default())
        .await?;
    let realm: Arc<dyn KeycloakAdmin> = Arc::new(keycloak.realm("primehub")?);
    let mut everyone = realm.get_group(&shape.everyone_group_id).await?.attributes;
    everyone.insert("timezone".to_owned(), vec!["Asia/Taipei".to_owned()]);
    realm
        .update_group(
            &shape.everyone_group_id,
            &GroupUpdate {
                attributes: Some(everyone),
                ..Default::default()
            },
        )
        .await?;
    let alice = realm
        .create_user(&NewUser {
            username: "alice".into(),
            enabled: true,
            ..Default::default()
        })
        .await?;
    let team_a = realm
        .create_group(&NewGroup {
            name: "team-a".into(),
            attributes: Default::default(),
        })
        .await?;
    realm
        .create_group(&NewGroup {
            name: "team-b".into(),
            attributes: Default::default(),
        })
        .await?;
    realm.add_member(&team_a, &alice).await?;
    realm.add_member(&shape.everyone_group_id, &alice).await?;
    for role in ["it:sched-cpu", "it:sched-gpu", "img:sched-nb"] {
        realm.create_role(role, None).await?;
    }
    realm
        .add_group_roles(&team_a, &["it:sched-cpu".to_owned()])
        .await?;
    realm
        .add_group_roles(&shape.everyone_group_id, &["img:sched-nb".to_owned()])
        .await?;
    let cache =
        KeycloakCache::load(realm.clone(), Arc::new(SystemClock), CacheConfig::default()).await?;

    let cluster = FakeCluster::new();
    let client = cluster.client();
    let types: Api<InstanceType> = Api::namespaced(client.clone(), "hub");
    for name in ["sched-cpu", "sched-gpu"] {
        let it: InstanceType = serde_json::from_value(json!({
            "apiVersion": "primehub.io/v1alpha1", "kind": "InstanceType",
            "metadata": {"name": name}, "spec": {"limits.cpu": 1, "limits.memory": "1G"}
        }))?;
        types.create(&PostParams::default(), &it).await?;
    }
    let images: Api<Image> = Api::namespaced(client.clone(), "hub");
    images
        .create(
            &PostParams::default(),
            &Image::new("sched-nb", ImageCrdSpec::default()),
        )
        .await?;
    let (stores, driver) = ResourceStores::start(client, StoresConfig::new("hub"));
    tokio::spawn(driver);
    stores.wait_ready(Duration::from_secs(30)).await?;

    let ctx = KeycloakScheduleContext::new(cache, stores, RoleNaming::default());
    assert!(ctx.is_ready());
    assert_eq!(ctx.time_zone().await?.iana_name(), Some("Asia/Taipei"));
    let spec = PhJobSpec {
        user_id: alice.clone(),
        user_name: Some("alice".into()),
        group_name: "team-a".into(),
        instance_type: "sched-cpu".into(),
        image: "sched-nb".into(),
        ..PhJobSpec::default()
    };
    assert_eq!(ctx.validate(&spec).await, Ok(()));
    let cases = [
        (
            PhJobSpec {
                user_id: "nobody".into(),
                ..spec.clone()
            },
            "User not found: nobody",
        ),
        (
            PhJobSpec {
                group_name: "team-b".into(),
                ..spec.clone()
            },
            "Group not found: team-b",
        ),
        (
            PhJobSpec {
                instance_type: "sched-gpu".into(),
                ..spec.clone()
            },
            "InstanceType not found: sched-gpu",
        ),
        (
            PhJobSpec {
                image: "tf-2".into(),
                ..spec.clone()
            },
            "Image not found: tf-2",
        ),
        (
            // An empty group is `everyone`: only the global image, no instance type.
            PhJobSpec {
                group_name: String::new(),
                ..spec.clone()
            },
            "InstanceType not found: sched-cpu",
        ),
    ];
    for (spec, message) in cases {
        assert_eq!(ctx.validate(&spec).await, Err(message.to_owned()));
    }
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_run_whose_status_write_was_lost_does_not_create_a_second_job() -> TestResult {
    use primehub_reconcile::runtime::schedule::{Step, reconcile_step};

    // No controller running: the test calls the reconcile step itself.
    let clock = Arc::new(ManualClock::at(ts("2026-12-04T12:00:00Z")));
    let cluster = FakeCluster::with_clock(clock.clone());
    let client = cluster.client();
    let ctx = schedule::Context::new(
        client.clone(),
        clock.clone(),
        Arc::new(StaticScheduleContext::new(zone("Etc/UTC"))),
        ScheduleConfig::default(),
    );
    let schedules: Api<PhSchedule> = Api::namespaced(client.clone(), "hub");
    schedules
        .create(
            &PostParams::default(),
            &schedule("nightly", RecurrenceType::Daily, None),
        )
        .await?;
    let (step, _) = reconcile_step(&schedules.get("nightly").await?, &ctx).await?;
    assert_eq!(
        step,
        Step::Waiting {
            next: ts("2026-12-05T04:00:00Z")
        }
    );
    // Unchanged at steady state.
    let (step, _) = reconcile_step(&schedules.get("nightly").await?, &ctx).await?;
    assert!(matches!(step, Step::Waiting { .. }), "{step:?}");

    clock.set(ts("2026-12-05T04:00:30Z"));
    let (step, action) = reconcile_step(&schedules.get("nightly").await?, &ctx).await?;
    let Step::Ran { job, next } = step else {
        panic!("expected a run, got {step:?}");
    };
    assert_eq!(next, ts("2026-12-06T04:00:00Z"));
    assert_eq!(
        action,
        kube::runtime::controller::Action::requeue(Duration::from_secs(300))
    );

    // The status write "was lost": the recorded run is back at 04:00.
    schedules
        .patch_status(
            "nightly",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"nextRunTime": "2026-12-05T04:00:00Z"}})),
        )
        .await?;
    let (step, _) = reconcile_step(&schedules.get("nightly").await?, &ctx).await?;
    assert_eq!(
        step,
        Step::Ran {
            job: job.clone(),
            next: ts("2026-12-06T04:00:00Z")
        }
    );
    let jobs: Api<PhJob> = Api::namespaced(client.clone(), "hub");
    let names: Vec<String> = jobs
        .list(&Default::default())
        .await?
        .items
        .iter()
        .map(ResourceExt::name_any)
        .collect();
    assert_eq!(names, [job]);
    Ok(())
}

/// A group is gone for the job controllers when Keycloak no longer has it (by id or name) and
/// either the cache saw it disappear or the cache's view is newer than the object: a job of a
/// group the cache has not heard of yet is never taken for an orphan.
#[tokio::test]
async fn a_group_is_gone_when_the_cache_saw_it_go_or_knows_more_than_the_job() -> TestResult {
    use primehub_keycloak::cache::{CacheConfig, KeycloakCache};
    use primehub_keycloak::fake::{BootstrapOptions, FakeKeycloak};
    use primehub_keycloak::{KeycloakAdmin, NewGroup};
    use primehub_model::pod::job::JobPodConfig;
    use primehub_model::roles::RoleNaming;
    use primehub_reconcile::runtime::job_world::KeycloakJobWorld;
    use primehub_reconcile::runtime::phjob::JobEnvironment;
    use primehub_reconcile::runtime::schedule::KeycloakScheduleContext;
    use primehub_reconcile::stores::{ResourceStores, StoresConfig};

    let keycloak = FakeKeycloak::new()?;
    keycloak
        .bootstrap_primehub("primehub", &BootstrapOptions::default())
        .await?;
    let realm: Arc<dyn KeycloakAdmin> = Arc::new(keycloak.realm("primehub")?);
    let team_a = realm
        .create_group(&NewGroup {
            name: "team-a".into(),
            attributes: Default::default(),
        })
        .await?;
    let loaded: jiff::Timestamp = "2026-12-04T12:00:00Z".parse()?;
    let cache = KeycloakCache::load(
        realm.clone(),
        Arc::new(ManualClock::at(loaded)),
        CacheConfig::default(),
    )
    .await?;
    let cluster = FakeCluster::new();
    let (stores, driver) = ResourceStores::start(cluster.client(), StoresConfig::new("hub"));
    tokio::spawn(driver);
    stores.wait_ready(Duration::from_secs(30)).await?;
    let world = KeycloakJobWorld::new(
        cache.clone(),
        stores.clone(),
        RoleNaming::default(),
        JobPodConfig::default(),
    );
    let mut removed = world.removed_group_names();

    let spec = |id: &str, name: &str| PhJobSpec {
        group_id: id.into(),
        group_name: name.into(),
        ..PhJobSpec::default()
    };
    let before = Some(loaded - jiff::SignedDuration::from_hours(1));
    let after = Some(loaded + jiff::SignedDuration::from_secs(1));
    assert!(!world.group_gone_since(&spec(&team_a, "team-a"), before));
    assert!(
        !world.group_gone_since(&spec(&team_a, "renamed"), before),
        "found by id"
    );
    assert!(
        !world.group_gone_since(&spec("", "team-a"), before),
        "found by name"
    );
    assert!(
        world.group_gone_since(&spec("g-x", "never"), before),
        "unknown to a view newer than the job"
    );
    assert!(
        !world.group_gone_since(&spec("g-x", "never"), after),
        "a job newer than the cache's view is not an orphan"
    );
    assert!(!world.group_gone_since(&spec("g-x", "never"), None));
    assert!(
        !world.group_gone_since(&spec("", ""), before),
        "no group named"
    );

    // Deleted through the cache (as the API deletes): the stream names it, and it is gone
    // even for a job newer than the cache's last sync.
    cache.admin().delete_group(&team_a).await?;
    let batch = tokio::time::timeout(Duration::from_secs(10), removed.next()).await?;
    assert_eq!(batch, Some(vec!["team-a".to_owned()]));
    assert!(world.group_gone_since(&spec(&team_a, "team-a"), after));
    assert!(world.group_gone(&PhJob::new("j", spec(&team_a, "team-a"))));
    assert!(
        !world.group_gone(&PhJob::new("j", spec("g-x", "never"))),
        "a job without a creation time is never an orphan by age"
    );

    // The schedule context answers the same way.
    let ctx = KeycloakScheduleContext::new(cache, stores, RoleNaming::default());
    assert!(ctx.group_gone(&spec("g-x", "never"), before));
    assert!(!ctx.group_gone(&spec("g-x", "never"), after));
    Ok(())
}

/// A schedule whose group is deleted is removed at once — active or inactive — with an event;
/// the jobs it made stay.
#[tokio::test(start_paused = true)]
async fn a_schedule_of_a_deleted_group_is_removed_at_once() -> TestResult {
    let w = World::start("2026-12-04T12:00:00Z", "Etc/UTC");
    let schedules = w.schedules("hub");
    for (name, ty) in [
        ("daily", RecurrenceType::Daily),
        ("off", RecurrenceType::Inactive),
    ] {
        schedules
            .create(&PostParams::default(), &schedule(name, ty, None))
            .await?;
    }
    let mut other = schedule("other-group", RecurrenceType::Daily, None);
    other.spec.job_template.spec.group_name = "Team_B".into();
    schedules.create(&PostParams::default(), &other).await?;
    w.status_becomes("hub", "daily", waiting("2026-12-05T04:00:00Z"))
        .await;
    w.pass_to("2026-12-05T04:00:00Z").await;
    assert_eq!(
        w.job_names("hub").await.len(),
        2,
        "daily and other-group ran"
    );

    // No time passes: the deletion itself wakes the controller.
    w.context.delete_group("Team_A");
    eventually("the Team_A schedules are removed", || async {
        let names: Vec<String> = schedules
            .list(&Default::default())
            .await
            .ok()?
            .items
            .iter()
            .map(ResourceExt::name_any)
            .collect();
        (names == ["other-group"]).then_some(())
    })
    .await;
    let events: Api<EventsV1Event> = Api::namespaced(w.client.clone(), "hub");
    let notes: Vec<String> = events
        .list(&Default::default())
        .await?
        .items
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some("GroupDeleted"))
        .filter_map(|e| e.note)
        .collect();
    assert_eq!(
        notes,
        [
            "group Team_A was deleted: the schedule is removed",
            "group Team_A was deleted: the schedule is removed"
        ]
    );
    assert_eq!(w.job_names("hub").await.len(), 2, "the jobs stay");
    Ok(())
}
