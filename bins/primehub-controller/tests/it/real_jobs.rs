//! The job path on the real tier: the `primehub-controller` binary (jobs on, leader election
//! on) as `deploy/controller`'s ServiceAccount and Role, PrimeHub's resource-validation webhook
//! registered with the REAL kube-apiserver, quotas from the REAL Keycloak.
//!
//! Setup, as an operator would do it: a fresh realm bootstrapped with PrimeHub's bootstrap, a
//! user `alice` in group `ml_team` whose group quota (`project-quota-cpu: 1`) fits exactly one
//! job of instance type `cpu-1` (1 CPU), the instance type and image granted to the group by
//! their roles (`it:cpu-1`, `img:base`, as PrimeHub's API grants them), a fresh namespace with
//! PrimeHub's CRDs, `deploy/controller`'s ServiceAccount and Role, `deploy/webhook`'s
//! ServiceAccount and Role (its `apply.sh` labels the namespace for the webhook), and a
//! MutatingWebhookConfiguration for pod CREATE with the test CA.
//!
//! The webhook runs **in this test process** (`primehub_webhook::app::run_with`, as its
//! ServiceAccount, over HTTPS on a loopback port): Cargo builds only this crate's binary for
//! its tests, so spawning the webhook's binary would depend on another crate having been built
//! first; the library is what the binary runs, so one test binary per crate is kept and
//! nothing else needs building.
//!
//! The API server has no kubelet: the test sets pod phases through the status subresource.
//! The controller runs on the system clock, so every wait is a poll with a deadline. Checked:
//!
//! 1. two jobs: the first goes `Preparing` and its pod is created through the API server —
//!    what `build_job_pod` made (labels, owner reference, resources, command, env, usage
//!    annotation) with the sentinel init container removed by the webhook's patch (the
//!    webhook counts an allowed decision); the second stays `Pending`, held by the group quota
//!    (the queue's length metric says so);
//! 2. the first pod `Running` → the job `Running` with `startTime`;
//! 3. a job the webhook refuses: the test moves a queued job to `Preparing` itself (standing
//!    for a scheduler that let through what the webhook then refuses — PrimeHub's scheduler
//!    can, having no reservations); its pod is denied by the real API server's call to the
//!    webhook, and the controller answers as PrimeHub does: back to `Pending`, `requeued` 1,
//!    reason `OverQuota`, PrimeHub's message;
//! 4. the first pod `Succeeded` → the job `Succeeded`; the second job is scheduled and gets its
//!    pod;
//! 5. cancel while `Running` and while `Preparing`: the pod is deleted, the job `Cancelled`;
//! 6. schedules: a valid one gets its `nextRunTime`, one naming an image the group is not
//!    granted is invalid with PrimeHub's message (`Image not found: missing`);
//! 7. the group deleted in Keycloak itself (not through PrimeHub's API): its running job is
//!    `Cancelled` with `Cancelled: group ml_team was deleted` and its pod deleted, its
//!    schedules are removed;
//! 8. the Role was enough: no request of the controller was refused (its log), the Lease is
//!    held, one Event per phase a job reached is recorded with its note; SIGTERM stops it
//!    cleanly.
//!
//! Needs `PRIMEHUB_TEST_KEYCLOAK_URL` (+ `_ADMIN`, `_PASSWORD`), `PRIMEHUB_TEST_KUBECONFIG` and a
//! kubectl; without them it prints a loud SKIPPED line and passes, unless
//! `PRIMEHUB_TEST_REQUIRE_REAL=1` (`.ci/run`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine as _;
use clap::Parser as _;
use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Resource, ResourceExt};
use primehub_keycloak::bootstrap::{RealmBootstrap, bootstrap_realm, delete_realm};
use primehub_keycloak::{KeycloakAdmin, NewGroup, NewUser};
use primehub_model::crd::{
    Image, InstanceType, PhJob, PhJobPhase, PhJobReason, PhJobSpec, PhSchedule,
};
use primehub_model::job_lifecycle::{
    ADMISSION_REJECTED_MESSAGE, CANCELLED_MESSAGE, COMPLETED_MESSAGE, RUNNING_MESSAGE,
};
use primehub_model::names::{LABEL_GROUP, LABEL_USER, escape_label, primehub_labels};
use primehub_model::pod::ADMISSION_SENTINEL;
use primehub_test_support::cluster;
use primehub_test_support::deploy::{apply_sh, manifest};
use primehub_test_support::env::{KeycloakTier, KubeTier, unique};
use primehub_test_support::process::{self, Process, get, get_until};
use serde_json::json;

use crate::flow::{BINARY, Target};
use primehub_test_support::certs::TestCa;

use crate::real_tier::{DEADLINE, eventually};

const GROUP: &str = "ml_team";
const USER: &str = "alice";
const INSTANCE_TYPE: &str = "cpu-1";
const IMAGE: &str = "base";
const IMAGE_URL: &str = "registry.example/base-notebook:v1";

/// The Keycloak ids the jobs name.
#[derive(Clone)]
struct Ids {
    user: String,
    group: String,
}

/// What the checks need.
struct World {
    ids: Ids,
    jobs: Api<PhJob>,
    pods: Api<Pod>,
}

impl World {
    /// Creates a job of alice in `ml_team` as PrimeHub's API does (no status: the controller
    /// initialises it).
    async fn submit(&self, name: &str) -> PhJob {
        let mut job = PhJob::new(
            name,
            PhJobSpec {
                display_name: format!("train {name}"),
                user_id: self.ids.user.clone(),
                user_name: Some(USER.to_owned()),
                group_id: self.ids.group.clone(),
                group_name: GROUP.to_owned(),
                instance_type: INSTANCE_TYPE.to_owned(),
                image: IMAGE.to_owned(),
                command: "python train.py".to_owned(),
                ..PhJobSpec::default()
            },
        );
        job.metadata.labels = Some(primehub_labels(USER, GROUP));
        self.jobs
            .create(&PostParams::default(), &job)
            .await
            .unwrap_or_else(|e| panic!("creating job {name}: {e}"))
    }

    /// Job `name`, waiting out a failed read: the API server is shared, and another test
    /// applying PrimeHub's CRDs makes it re-register their resources (a moment of 404s).
    async fn job(&self, name: &str) -> PhJob {
        eventually(&format!("reading job {name}"), || async {
            self.jobs.get(name).await.ok()
        })
        .await
    }

    /// Pod `name` if it exists, waiting out a failed read as [`World::job`] does.
    async fn pod(&self, name: &str) -> Option<Pod> {
        eventually(&format!("reading pod {name}"), || async {
            self.pods.get_opt(name).await.ok()
        })
        .await
    }

    /// Waits until job `name` is in `phase`; the job.
    async fn until_phase(&self, name: &str, phase: PhJobPhase) -> PhJob {
        eventually(&format!("job {name} {phase}"), || async {
            let job = self.jobs.get(name).await.ok()?;
            (job.status.is_some() && job.phase() == phase).then_some(job)
        })
        .await
    }

    /// Waits until job `name`'s pod exists; the pod.
    async fn until_pod(&self, name: &str) -> Pod {
        eventually(&format!("the pod of job {name}"), || async {
            self.pods.get_opt(name).await.ok().flatten()
        })
        .await
    }

    /// Waits until job `name`'s pod is gone.
    async fn until_no_pod(&self, name: &str) {
        eventually(&format!("the pod of job {name} deleted"), || async {
            matches!(self.pods.get_opt(name).await, Ok(None)).then_some(())
        })
        .await;
    }

    /// Sets pod `name`'s phase through the status subresource (there is no kubelet).
    async fn set_pod_phase(&self, name: &str, phase: &str) {
        self.pods
            .patch_status(
                name,
                &PatchParams::default(),
                &Patch::Merge(json!({"status": {"phase": phase}})),
            )
            .await
            .unwrap_or_else(|e| panic!("setting pod {name} {phase}: {e}"));
    }
}

/// A metric line's value in Prometheus text (`name{labels}` exactly as rendered).
fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{series} ")))
        .and_then(|v| v.trim().parse().ok())
}

/// Starts the webhook's server in process; its addresses and the sender that stops it.
async fn start_webhook(
    args: Vec<String>,
) -> (
    primehub_webhook::app::Addresses,
    tokio::sync::watch::Sender<bool>,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let args = primehub_webhook::cli::Args::try_parse_from(
        std::iter::once("primehub-webhook".to_owned()).chain(args),
    )
    .expect("the webhook's flags");
    let settings =
        primehub_webhook::settings::Settings::resolve(&args).expect("the webhook's settings");
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let (tx, rx) = tokio::sync::oneshot::channel();
    let running = tokio::spawn(primehub_webhook::app::run_with(
        settings,
        shutdown,
        move |addresses| {
            let _ = tx.send(addresses);
        },
    ));
    let addresses = tokio::time::timeout(DEADLINE, rx)
        .await
        .expect("the webhook listens in time")
        .expect("the webhook listens before it stops");
    (addresses, stop, running)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_queue_run_and_cancel_through_the_real_api_server_and_webhook() {
    const TEST: &str = "primehub-controller's jobs on the real tier";
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

    // Keycloak: the realm, alice in ml_team with a group quota of one CPU, the instance type's
    // and the image's roles granted to the group.
    let realm = unique("ph-jobs");
    let master = keycloak.admin_of("master");
    let outcome = bootstrap_realm(&master, &RealmBootstrap::new(&realm))
        .await
        .expect("bootstrapping the realm");
    let kc = keycloak.admin_of(&realm);
    let user = kc
        .create_user(&NewUser {
            username: USER.into(),
            enabled: true,
            ..NewUser::default()
        })
        .await
        .expect("alice");
    let group = kc
        .create_group(&NewGroup {
            name: GROUP.into(),
            attributes: [("project-quota-cpu".to_owned(), vec!["1".to_owned()])].into(),
        })
        .await
        .expect("a group with a quota");
    kc.add_member(&group, &user).await.expect("alice joins");
    let roles = [format!("it:{INSTANCE_TYPE}"), format!("img:{IMAGE}")];
    for role in &roles {
        kc.create_role(role, None).await.expect("a resource role");
    }
    kc.add_group_roles(&group, &roles)
        .await
        .expect("granting the instance type and the image");

    // Kubernetes: the namespace, the CRDs, the instance type and the image.
    let client = cluster::client(&kubeconfig).await;
    let namespace = cluster::create_namespace(&client, "controller-jobs").await;
    cluster::install_crds(&kubectl, &kubeconfig);
    cluster::kubectl(
        &kubectl,
        &kubeconfig,
        &[
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd/phjobs.primehub.io",
            "crd/phschedules.primehub.io",
        ],
    );
    let instance_type: InstanceType = serde_json::from_value(json!({
        "apiVersion": "primehub.io/v1alpha1", "kind": "InstanceType",
        "metadata": {"name": INSTANCE_TYPE},
        "spec": {"displayName": "1 CPU", "limits.cpu": 1, "requests.cpu": 0.5,
                 "limits.memory": "1G", "requests.memory": "1G"},
    }))
    .expect("an instance type");
    Api::<InstanceType>::namespaced(client.clone(), &namespace)
        .create(&PostParams::default(), &instance_type)
        .await
        .expect("creating the instance type");
    let image: Image = serde_json::from_value(json!({
        "apiVersion": "primehub.io/v1alpha1", "kind": "Image",
        "metadata": {"name": IMAGE},
        "spec": {"displayName": "base", "url": IMAGE_URL},
    }))
    .expect("an image");
    Api::<Image>::namespaced(client.clone(), &namespace)
        .create(&PostParams::default(), &image)
        .await
        .expect("creating the image");

    let dir = std::env::temp_dir().join(unique("controller-jobs"));
    std::fs::create_dir_all(&dir).expect("a folder");
    let secret_file = dir.join("client-secret");
    std::fs::write(
        &secret_file,
        format!("{}\n", outcome.admin_ui_client_secret),
    )
    .expect("write the client secret");
    let config_name = unique("resources-validation-webhook");
    let ids = Ids { user, group };

    // The checks run in a task so that everything created is removed even when one fails; the
    // failure is re-raised afterwards.
    let checks = {
        let (client, namespace, dir, config_name) = (
            client.clone(),
            namespace.clone(),
            dir.clone(),
            config_name.clone(),
        );
        let (keycloak_url, realm) = (keycloak.url.clone(), realm.clone());
        tokio::spawn(async move {
            run_checks(Setup {
                client,
                kubectl,
                kubeconfig,
                namespace,
                dir,
                secret_file,
                config_name,
                keycloak_url,
                realm,
                keycloak: Arc::new(kc),
                ids,
            })
            .await;
        })
        .await
    };

    let configs: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
    let _ = configs.delete(&config_name, &DeleteParams::default()).await;
    let _ = delete_realm(&master, &realm).await;
    cluster::delete_namespace(&client, &namespace).await;
    let _ = std::fs::remove_dir_all(dir);
    if let Err(failure) = checks {
        std::panic::resume_unwind(failure.into_panic());
    }
}

struct Setup {
    client: kube::Client,
    kubectl: PathBuf,
    kubeconfig: String,
    namespace: String,
    dir: PathBuf,
    secret_file: PathBuf,
    config_name: String,
    keycloak_url: String,
    realm: String,
    keycloak: Arc<dyn KeycloakAdmin>,
    ids: Ids,
}

fn connection_args(setup: &Setup, kubeconfig: &std::path::Path) -> Vec<String> {
    vec![
        "--keycloak-url".into(),
        setup.keycloak_url.clone(),
        "--realm".into(),
        setup.realm.clone(),
        "--client-secret-file".into(),
        setup.secret_file.display().to_string(),
        "--kubeconfig".into(),
        kubeconfig.display().to_string(),
        "--namespace".into(),
        setup.namespace.clone(),
    ]
}

/// Registers the webhook at `https` as PrimeHub does and waits until the API server calls it.
async fn register_webhook(setup: &Setup, ca: &TestCa, https: SocketAddr) {
    let configs: Api<MutatingWebhookConfiguration> = Api::all(setup.client.clone());
    let ca_bundle = base64::engine::general_purpose::STANDARD.encode(ca.pem());
    let config: MutatingWebhookConfiguration = serde_json::from_value(json!({
        "metadata": {"name": setup.config_name},
        "webhooks": [{
            "name": "resources-validation-webhook.primehub.io",
            "clientConfig": {"url": format!("https://{https}/"), "caBundle": ca_bundle},
            "rules": [{"operations": ["CREATE"], "apiGroups": ["*"], "apiVersions": ["*"], "resources": ["pods"]}],
            "namespaceSelector": {"matchLabels": {"primehub.io/admission-webhook": "enabled"}},
            "failurePolicy": "Ignore",
            "sideEffects": "None",
            "admissionReviewVersions": ["v1"],
        }]
    }))
    .expect("a webhook configuration");
    configs
        .create(&PostParams::default(), &config)
        .await
        .expect("registering the webhook");
    // The API server picks the configuration up within moments: dry-run creates (which call
    // webhooks with sideEffects None) until the sentinel comes back removed.
    let pods: Api<Pod> = Api::namespaced(setup.client.clone(), &setup.namespace);
    let probe: Pod = serde_json::from_value(json!({
        "metadata": {"name": "probe", "labels": primehub_labels("probe", GROUP)},
        "spec": {
            "initContainers": [{"name": ADMISSION_SENTINEL, "image": ADMISSION_SENTINEL, "command": ["false"]}],
            "containers": [{"name": "main", "image": "busybox",
                            "resources": {"limits": {"cpu": "100m", "memory": "64Mi"}}}]
        }
    }))
    .expect("a probe pod");
    let dry = PostParams {
        dry_run: true,
        ..PostParams::default()
    };
    eventually("the API server calls the webhook", || async {
        let seen = pods.create(&dry, &probe).await.expect("a dry-run create");
        seen.spec
            .and_then(|s| s.init_containers)
            .unwrap_or_default()
            .is_empty()
            .then_some(())
    })
    .await;
}

/// Checks the job's pod is what `build_job_pod` makes, admitted by the webhook.
fn check_pod(pod: &Pod, job: &PhJob) {
    let name = job.name_any();
    let labels = pod.labels();
    assert_eq!(labels.get("app").map(String::as_str), Some("primehub-job"));
    assert_eq!(labels.get(LABEL_GROUP), Some(&escape_label(GROUP)));
    assert_eq!(labels.get(LABEL_USER), Some(&escape_label(USER)));
    let owners = pod.owner_references();
    assert_eq!(owners.len(), 1, "{owners:?}");
    assert_eq!(owners[0].kind, "PhJob");
    assert_eq!(owners[0].api_version, "primehub.io/v1alpha1");
    assert_eq!(owners[0].name, name);
    assert_eq!(Some(&owners[0].uid), job.meta().uid.as_ref());
    assert_eq!(owners[0].controller, Some(true));
    assert_eq!(owners[0].block_owner_deletion, Some(true));
    let usage: serde_json::Value = serde_json::from_str(
        pod.annotations()
            .get("primehub.io/usage")
            .expect("the usage annotation"),
    )
    .expect("usage JSON");
    assert_eq!(usage["component"], "job");
    assert_eq!(usage["component_name"], name.as_str());
    assert_eq!(usage["instance_type"], INSTANCE_TYPE);
    assert_eq!(usage["group"], GROUP);
    assert_eq!(usage["user"], USER);

    let spec = pod.spec.as_ref().expect("a pod spec");
    // build_job_pod appends the sentinel; the webhook's patch removed it.
    assert!(
        !spec
            .init_containers
            .iter()
            .flatten()
            .any(|c| c.name == ADMISSION_SENTINEL),
        "the webhook removed the sentinel: {:?}",
        spec.init_containers
    );
    assert_eq!(spec.restart_policy.as_deref(), Some("Never"));
    assert_eq!(spec.containers.len(), 1);
    let main = &spec.containers[0];
    assert_eq!(main.name, "main");
    assert_eq!(main.image.as_deref(), Some(IMAGE_URL));
    assert_eq!(
        main.command,
        Some(vec![
            "/scripts/run-job.sh".to_owned(),
            "sleep 1\npython train.py".to_owned()
        ])
    );
    let resources = main.resources.as_ref().expect("resources");
    let quantity = |map: &Option<
        std::collections::BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
    >,
                    key: &str| {
        map.as_ref().and_then(|m| m.get(key)).map(|q| q.0.clone())
    };
    // The instance type's limits with PrimeHub's binary memory units (1G → 1Gi), as the real
    // server stores them.
    assert_eq!(quantity(&resources.limits, "cpu").as_deref(), Some("1"));
    assert_eq!(
        quantity(&resources.limits, "memory").as_deref(),
        Some("1Gi")
    );
    assert_eq!(
        quantity(&resources.requests, "cpu").as_deref(),
        Some("500m")
    );
    assert_eq!(
        quantity(&resources.requests, "memory").as_deref(),
        Some("1Gi")
    );
    let env: std::collections::BTreeMap<&str, &str> = main
        .env
        .iter()
        .flatten()
        .filter_map(|e| Some((e.name.as_str(), e.value.as_deref()?)))
        .collect();
    for (name, value) in [
        ("PRIMEHUB_USER", USER),
        ("PRIMEHUB_GROUP", GROUP),
        ("JUPYTERHUB_USER", USER),
        ("GROUP_NAME", GROUP),
        ("INSTANCE_TYPE", INSTANCE_TYPE),
        ("IMAGE_NAME", IMAGE),
        ("GROUP_ID", job.spec.group_id.as_str()),
        // The operator's default (PrimeHub's `grantSudo: true`).
        ("GRANT_SUDO", "true"),
    ] {
        assert_eq!(env.get(name).copied(), Some(value), "env {name}: {env:?}");
    }
}

async fn run_checks(setup: Setup) {
    let namespace = setup.namespace.clone();
    // deploy/controller's and deploy/webhook's ServiceAccounts and Roles; the webhook's
    // apply.sh labels the namespace for the webhook.
    let ca = TestCa::new("controller jobs real tier");
    let ca_file = setup.dir.join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).expect("write the CA");
    let (cert, key) = ca.write_serving(&setup.dir);
    let (ok, out) = apply_sh(
        "controller",
        &setup.kubectl,
        &setup.kubeconfig,
        &[
            &namespace,
            &manifest("controller", "serviceaccount.yaml"),
            &manifest("controller", "role.yaml"),
        ],
    );
    assert!(
        ok,
        "applying the controller's ServiceAccount and Role: {out}"
    );
    let (ok, out) = apply_sh(
        "webhook",
        &setup.kubectl,
        &setup.kubeconfig,
        &[
            &namespace,
            ca_file.to_str().expect("utf-8"),
            &manifest("webhook", "serviceaccount.yaml"),
            &manifest("webhook", "role.yaml"),
        ],
    );
    assert!(ok, "applying the webhook's ServiceAccount and Role: {out}");
    let controller_kubeconfig = cluster::service_account_kubeconfig(
        &setup.client,
        &setup.kubeconfig,
        &namespace,
        "primehub-controller",
    )
    .await;
    let webhook_kubeconfig = cluster::service_account_kubeconfig(
        &setup.client,
        &setup.kubeconfig,
        &namespace,
        "primehub-webhook",
    )
    .await;
    // RBAC takes effect within moments; wait until it has, as the controller.
    let as_controller = cluster::client(controller_kubeconfig.to_str().expect("utf-8")).await;
    let sa_jobs: Api<PhJob> = Api::namespaced(as_controller, &namespace);
    eventually("the controller's Role applies", || async {
        sa_jobs
            .list_metadata(&ListParams::default())
            .await
            .ok()
            .map(|_| ())
    })
    .await;

    // The webhook, as its ServiceAccount, registered with the API server.
    let mut webhook_args = connection_args(&setup, &webhook_kubeconfig);
    webhook_args.extend([
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--tls-listen".into(),
        "127.0.0.1:0".into(),
        "--tls-cert-file".into(),
        cert.display().to_string(),
        "--tls-key-file".into(),
        key.display().to_string(),
    ]);
    let (addresses, stop_webhook, webhook) = start_webhook(webhook_args).await;
    let webhook_url = format!("http://{}", addresses.http);
    get_until(&format!("{webhook_url}/readyz"), 200, DEADLINE).await;
    register_webhook(&setup, &ca, addresses.https).await;

    // The controller, as its ServiceAccount, jobs and leader election on (the defaults).
    let target = Target {
        label: "real jobs",
        keycloak_url: setup.keycloak_url.clone(),
        realm: setup.realm.clone(),
        client_secret_file: setup.secret_file.clone(),
        kubeconfig: controller_kubeconfig.clone(),
        namespace: namespace.clone(),
        keycloak: setup.keycloak.clone(),
        kube: setup.client.clone(),
    };
    let controller: Process = process::spawn(BINARY, &target.args(), &[]).await;
    get_until(&format!("{}/readyz", controller.url), 200, DEADLINE).await;
    assert!(
        controller.logged("job controllers started"),
        "jobs are on by default"
    );

    let world = World {
        ids: setup.ids.clone(),
        jobs: Api::namespaced(setup.client.clone(), &namespace),
        pods: Api::namespaced(setup.client.clone(), &namespace),
    };
    let allowed_before = webhook_allowed(&webhook_url).await;

    // 1. Two jobs: the first is started and gets its pod; the second waits for the quota.
    // The queue's order is the creation time, then the name (the API server's timestamps
    // have second precision): the names keep the order of creation.
    let first = world.submit("job-1-first").await;
    world.submit("job-2-second").await;
    world
        .until_phase("job-1-first", PhJobPhase::Preparing)
        .await;
    let pod = world.until_pod("job-1-first").await;
    check_pod(&pod, &first);
    eventually("job-1-first's podName", || async {
        let job = world.job("job-1-first").await;
        (job.status?.pod_name.as_deref() == Some("job-1-first")).then_some(())
    })
    .await;
    assert!(
        webhook_allowed(&webhook_url).await > allowed_before,
        "the webhook decided on (and allowed) the job's pod"
    );
    eventually("the queue holds job-2-second", || async {
        let (_, text) = get(&format!("{}/metrics", controller.url)).await;
        (metric(
            &text,
            &format!("primehub_controller_job_queue_length{{group=\"{GROUP}\"}}"),
        ) == Some(1.0))
        .then_some(())
    })
    .await;
    let second = world.until_phase("job-2-second", PhJobPhase::Pending).await;
    let status = second
        .status
        .expect("the controller initialised the status");
    assert_eq!(status.reason, Some(PhJobReason::OverQuota));
    assert_eq!(status.requeued, Some(0));
    assert!(world.pod("job-2-second").await.is_none());

    // 2. The first pod runs.
    world.set_pod_phase("job-1-first", "Running").await;
    let running = world.until_phase("job-1-first", PhJobPhase::Running).await;
    let status = running.status.expect("a status");
    assert_eq!(status.reason, Some(PhJobReason::PodRunning));
    assert_eq!(status.message.as_deref(), Some(RUNNING_MESSAGE));
    assert!(status.start_time.is_some());
    let spec = running.spec;
    assert!(
        spec.active_deadline_seconds.is_some() && spec.ttl_seconds_after_finished.is_some(),
        "the spec defaults were written"
    );

    // 3. A job whose pod the webhook refuses: moved to Preparing while the quota is full.
    world.submit("job-3-refused").await;
    world
        .until_phase("job-3-refused", PhJobPhase::Pending)
        .await;
    world
        .jobs
        .patch_status(
            "job-3-refused",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Preparing"}})),
        )
        .await
        .expect("moving job-3-refused to Preparing");
    let refused = eventually("job-3-refused back to Pending", || async {
        let job = world.job("job-3-refused").await;
        let status = job.status.clone()?;
        (job.phase() == PhJobPhase::Pending && status.requeued == Some(1)).then_some(status)
    })
    .await;
    assert_eq!(refused.reason, Some(PhJobReason::OverQuota));
    assert_eq!(refused.message.as_deref(), Some(ADMISSION_REJECTED_MESSAGE));
    assert_eq!(refused.pod_name, None);
    assert!(world.pod("job-3-refused").await.is_none());
    assert!(
        controller.logged("denied the request"),
        "the controller saw the webhook's denial"
    );

    // 4. The first pod succeeds; the second job is started and gets its pod.
    world.set_pod_phase("job-1-first", "Succeeded").await;
    let done = world
        .until_phase("job-1-first", PhJobPhase::Succeeded)
        .await;
    let status = done.status.expect("a status");
    assert_eq!(status.reason, Some(PhJobReason::PodSucceeded));
    assert_eq!(status.message.as_deref(), Some(COMPLETED_MESSAGE));
    assert!(status.finish_time.is_some());
    let second = world.job("job-2-second").await;
    let pod = world.until_pod("job-2-second").await;
    check_pod(&pod, &second);
    let second = world
        .until_phase("job-2-second", PhJobPhase::Preparing)
        .await;
    // The webhook follows pods through its own watch: if it had not seen job-1-first's pod
    // finish when job-2-second's pod came, it refused it once and the queue started it again.
    let requeued = second.status.and_then(|s| s.requeued).unwrap_or_default();
    assert!(requeued <= 1, "job-2-second requeued {requeued} times");
    assert_eq!(
        world.job("job-3-refused").await.phase(),
        PhJobPhase::Pending,
        "job-3-refused waits behind job-2-second"
    );

    // 5. Cancel while Running: the pod is deleted, the job Cancelled.
    world.set_pod_phase("job-2-second", "Running").await;
    world.until_phase("job-2-second", PhJobPhase::Running).await;
    world
        .jobs
        .patch(
            "job-2-second",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"cancel": true}})),
        )
        .await
        .expect("cancelling job-2-second");
    let cancelled = world
        .until_phase("job-2-second", PhJobPhase::Cancelled)
        .await;
    let status = cancelled.status.expect("a status");
    assert_eq!(status.reason, Some(PhJobReason::Cancelled));
    assert_eq!(status.message.as_deref(), Some(CANCELLED_MESSAGE));
    assert!(status.finish_time.is_some());
    world.until_no_pod("job-2-second").await;

    // The freed quota starts job-3-refused; cancelled while Preparing, its pod goes too.
    world
        .until_phase("job-3-refused", PhJobPhase::Preparing)
        .await;
    world.until_pod("job-3-refused").await;
    world
        .jobs
        .patch(
            "job-3-refused",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"cancel": true}})),
        )
        .await
        .expect("cancelling job-3-refused");
    let cancelled = world
        .until_phase("job-3-refused", PhJobPhase::Cancelled)
        .await;
    assert_eq!(
        cancelled.status.and_then(|s| s.reason),
        Some(PhJobReason::Cancelled)
    );
    world.until_no_pod("job-3-refused").await;

    // 6. Schedules, as the ServiceAccount: a valid one gets its next run time, one whose
    // image the group is not granted is invalid with PrimeHub's message.
    let schedules: Api<PhSchedule> = Api::namespaced(setup.client.clone(), &namespace);
    for (name, image) in [("nightly", IMAGE), ("broken", "missing")] {
        let template = world.job("job-1-first").await.spec;
        let schedule: PhSchedule = serde_json::from_value(json!({
            "apiVersion": "primehub.io/v1alpha1", "kind": "PhSchedule",
            "metadata": {"name": name},
            "spec": {
                "recurrence": {"type": "daily"},
                "jobTemplate": {"spec": PhJobSpec { image: image.to_owned(), ..template }},
            },
        }))
        .expect("a schedule");
        eventually(&format!("creating schedule {name}"), || async {
            schedules
                .create(&PostParams::default(), &schedule)
                .await
                .ok()
                .map(|_| ())
        })
        .await;
    }
    let nightly = eventually("nightly's next run time", || async {
        schedules
            .get("nightly")
            .await
            .ok()?
            .status
            .filter(|s| s.next_run_time.is_some())
    })
    .await;
    assert!(!nightly.invalid, "{nightly:?}");
    let broken = eventually("broken marked invalid", || async {
        schedules
            .get("broken")
            .await
            .ok()?
            .status
            .filter(|s| s.invalid)
    })
    .await;
    assert_eq!(broken.message.as_deref(), Some("Image not found: missing"));
    assert!(broken.next_run_time.is_none());

    // 7. The group is deleted in Keycloak itself, not through PrimeHub's API: its running job
    // is stopped (pod deleted) and its schedules are removed.
    world.submit("job-4-orphan").await;
    world
        .until_phase("job-4-orphan", PhJobPhase::Preparing)
        .await;
    world.until_pod("job-4-orphan").await;
    world.set_pod_phase("job-4-orphan", "Running").await;
    world.until_phase("job-4-orphan", PhJobPhase::Running).await;
    setup
        .keycloak
        .delete_group(&setup.ids.group)
        .await
        .expect("deleting the group in Keycloak");
    let stopped = world
        .until_phase("job-4-orphan", PhJobPhase::Cancelled)
        .await;
    assert_eq!(
        stopped.status.and_then(|s| s.message).as_deref(),
        Some(format!("Cancelled: group {GROUP} was deleted").as_str())
    );
    world.until_no_pod("job-4-orphan").await;
    eventually("the group's schedules are removed", || async {
        let left = schedules.list(&ListParams::default()).await.ok()?.items;
        left.is_empty().then_some(())
    })
    .await;

    // 8. The Role was enough: nothing refused, the Lease held, the Events recorded.
    let lease = Api::<Lease>::namespaced(setup.client.clone(), &namespace)
        .get("primehub-controller")
        .await
        .expect("the controller's Lease");
    assert!(
        lease
            .spec
            .and_then(|s| s.holder_identity)
            .is_some_and(|h| !h.is_empty()),
        "the Lease has a holder"
    );
    // One Event per phase a job reached, each with its own note.
    let events: Api<Event> = Api::namespaced(setup.client.clone(), &namespace);
    let wanted = [
        ("job-1-first", format!("Running: {RUNNING_MESSAGE}")),
        ("job-1-first", format!("Succeeded: {COMPLETED_MESSAGE}")),
        ("job-2-second", format!("Cancelled: {CANCELLED_MESSAGE}")),
        ("job-3-refused", format!("Cancelled: {CANCELLED_MESSAGE}")),
    ];
    eventually("the jobs' phase-change Events", || async {
        let seen: Vec<(String, String)> = events
            .list(&ListParams::default())
            .await
            .ok()?
            .items
            .into_iter()
            .filter(|e| e.reason.as_deref() == Some("PhJobPhaseChanged"))
            .filter_map(|e| Some((e.regarding?.name?, e.note?)))
            .collect();
        wanted
            .iter()
            .all(|(job, note)| seen.iter().any(|(j, n)| j == job && n == note))
            .then_some(())
    })
    .await;
    for refused in ["forbidden", "Forbidden", "cannot publish event"] {
        assert!(
            !controller.logged(refused),
            "the controller logged {refused:?}: its Role lacks a permission"
        );
    }
    let status = controller.terminate().await;
    assert!(status.success(), "SIGTERM is a clean stop: {status}");
    let _ = stop_webhook.send(true);
    tokio::time::timeout(DEADLINE, webhook)
        .await
        .expect("the webhook stops")
        .expect("the webhook task")
        .expect("the webhook stops cleanly");
    let _ = std::fs::remove_file(controller_kubeconfig);
    let _ = std::fs::remove_file(webhook_kubeconfig);
}

/// The webhook's count of allowed quota decisions.
async fn webhook_allowed(url: &str) -> f64 {
    let (status, text) = get(&format!("{url}/metrics")).await;
    assert_eq!(status, 200, "{text}");
    metric(
        &text,
        "primehub_webhook_quota_decisions_total{outcome=\"allowed\"}",
    )
    .unwrap_or(0.0)
}
