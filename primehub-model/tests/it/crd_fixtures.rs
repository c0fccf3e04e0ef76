//! Every fixture under `tests/fixtures/` is an object as an existing PrimeHub install writes it:
//! it must deserialize, expose its key fields, and serialise back to the same keys and values.

use std::path::PathBuf;

use primehub_model::crd::{
    Announcement, Dataset, DatasetType, EndpointAccessType, Image, ImageSpec, ImageSpecJob,
    ImageSpecJobPhase, ImageType, InstanceType, License, LicenseValidity, PhAppTemplate,
    PhApplication, PhApplicationPhase, PhApplicationScope, PhDeployment, PhDeploymentPhase, PhJob,
    PhJobPhase, PhJobReason, PhSchedule, PvProvisioning, RecurrenceType,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn fixture_text(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Deserializes a fixture and checks that serialising it back gives exactly the input.
fn load<K: DeserializeOwned + Serialize>(name: &str) -> K {
    let text = fixture_text(name);
    let input: Value = serde_yaml_ng::from_str(&text).expect("fixture is valid YAML");
    let object: K = serde_yaml_ng::from_str(&text)
        .unwrap_or_else(|e| panic!("{name} does not deserialize: {e}"));
    let output = serde_json::to_value(&object).expect("serialises");
    assert_same(name, "", &input, &output);
    object
}

/// Compares two JSON values, reporting the first differing path.
fn assert_same(name: &str, path: &str, input: &Value, output: &Value) {
    match (input, output) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, va) in a {
                let p = format!("{path}.{k}");
                match b.get(k) {
                    Some(vb) => assert_same(name, &p, va, vb),
                    None => panic!("{name}: key {p} lost on round trip"),
                }
            }
            for k in b.keys() {
                assert!(
                    a.contains_key(k),
                    "{name}: key {path}.{k} added on round trip"
                );
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            assert_eq!(a.len(), b.len(), "{name}: length of {path} changed");
            for (i, (va, vb)) in a.iter().zip(b).enumerate() {
                assert_same(name, &format!("{path}[{i}]"), va, vb);
            }
        }
        (a, b) => assert_eq!(a, b, "{name}: value of {path} changed"),
    }
}

fn annotation<'a>(
    meta: &'a k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    key: &str,
) -> Option<&'a str> {
    meta.annotations.as_ref()?.get(key).map(String::as_str)
}

#[test]
fn instance_type_cpu_1() {
    let it: InstanceType = load("instancetype-cpu-1.yaml");
    assert_eq!(it.metadata.name.as_deref(), Some("cpu-1"));
    assert_eq!(it.spec.display_name.as_deref(), Some("CPU 1"));
    assert_eq!(it.spec.limits_cpu.to_string(), "1");
    assert_eq!(it.spec.limits_memory, "2G");
    assert_eq!(it.spec.limits_gpu, Some(0));
    assert_eq!(
        it.spec
            .requests_cpu
            .as_ref()
            .map(ToString::to_string)
            .as_deref(),
        Some("1")
    );
    assert_eq!(it.spec.requests_memory.as_deref(), Some("2G"));
    assert_eq!(it.spec.requests_gpu, None);
    assert_eq!(it.spec.tolerations.len(), 1);
    let t = &it.spec.tolerations[0];
    assert_eq!(t.key.as_deref(), Some("hub.jupyter.org/dedicated"));
    assert_eq!(t.operator.as_deref(), Some("Equal"));
    assert_eq!(t.value.as_deref(), Some("user"));
    assert_eq!(t.effect.as_deref(), Some("NoSchedule"));
    assert!(it.spec.node_selector.is_empty());
    assert!(it.spec.extra.is_empty());
}

#[test]
fn instance_type_gpu_1_keeps_unknown_keys() {
    let it: InstanceType = load("instancetype-gpu-1.yaml");
    assert_eq!(it.spec.limits_cpu.to_string(), "2");
    assert_eq!(it.spec.limits_memory, "7G");
    assert_eq!(it.spec.limits_gpu, Some(1));
    assert_eq!(it.spec.gpu_limit(), 1);
    assert_eq!(
        it.spec
            .requests_cpu
            .as_ref()
            .map(ToString::to_string)
            .as_deref(),
        Some("1.5")
    );
    assert_eq!(it.spec.requests_memory.as_deref(), Some("5G"));
    assert_eq!(it.spec.tolerations.len(), 2);
    assert_eq!(
        it.spec
            .node_selector
            .get("nvidia.com/gpu.present")
            .map(String::as_str),
        Some("true")
    );
    assert_eq!(
        it.spec.extra.get("x-custom-rank"),
        Some(&serde_json::json!(3))
    );
    assert!(it.spec.extra.contains_key("overcommit"));
    assert_eq!(
        it.spec.extra.len(),
        2,
        "known keys must not leak into extra"
    );
}

#[test]
fn instance_type_accepts_quoted_cpu() -> TestResult {
    let yaml = r#"
apiVersion: primehub.io/v1alpha1
kind: InstanceType
metadata: {name: quoted}
spec:
  limits.cpu: "0.5"
  limits.memory: 1G
  requests.cpu: "0.25"
"#;
    let it: InstanceType = serde_yaml_ng::from_str(yaml)?;
    assert_eq!(it.spec.limits_cpu.to_string(), "0.5");
    assert_eq!(
        it.spec.requests_cpu.map(|n| n.to_string()).as_deref(),
        Some("0.25")
    );
    let json: InstanceType = serde_json::from_str(
        r#"{"metadata":{"name":"j"},"spec":{"limits.cpu":"2","limits.memory":"4G","requests.cpu":null}}"#,
    )?;
    assert_eq!(json.spec.limits_cpu.to_string(), "2");
    assert_eq!(json.spec.requests_cpu, None);
    let bad = serde_yaml_ng::from_str::<InstanceType>(
        "metadata: {name: bad}\nspec: {limits.cpu: lots, limits.memory: 1G}\n",
    );
    assert!(bad.is_err());
    let missing =
        serde_yaml_ng::from_str::<InstanceType>("metadata: {name: m}\nspec: {limits.memory: 1G}\n");
    assert!(missing.is_err(), "limits.cpu is required");
    Ok(())
}

#[test]
fn image_with_build_spec_and_job_condition() -> TestResult {
    let image: Image = load("image-custom-build.yaml");
    let spec = &image.spec;
    assert_eq!(spec.type_, Some(ImageType::Both));
    assert_eq!(spec.group_name.as_deref(), Some("phusers"));
    assert_eq!(spec.pull_secret.as_deref(), Some("image-tf-custom"));
    assert!(spec.is_custom_build());
    assert_eq!(spec.url_for(true), spec.url_for_gpu.as_deref());
    let build = spec.image_spec.as_ref().ok_or("imageSpec")?;
    assert_eq!(build.pull_secret.as_deref(), Some("image-base-pull"));
    let packages = build.packages.as_ref().ok_or("packages")?;
    assert_eq!(packages.pip, ["pandas==1.2.3", "scikit-learn"]);
    assert_eq!(packages.apt, ["graphviz"]);
    assert_eq!(packages.conda, ["nomkl"]);
    assert!(!build.cancel);
    let t = build.parsed_update_time()?.ok_or("updateTime")?;
    assert_eq!(t.as_millisecond(), 1_618_197_669_123);
    let cond = image
        .status
        .as_ref()
        .and_then(|s| s.job_condition.as_ref())
        .ok_or("jobCondition")?;
    assert_eq!(cond.phase, Some(ImageSpecJobPhase::Succeeded));
    assert_eq!(cond.job_name.as_deref(), Some("tf-custom"));
    Ok(())
}

#[test]
fn plain_image() {
    let image: Image = load("image-plain.yaml");
    assert_eq!(image.spec.type_, Some(ImageType::Cpu));
    assert!(!image.spec.is_custom_build());
    assert_eq!(image.spec.group_name, None);
    assert_eq!(
        image.spec.url_for(true),
        Some("infuseai/docker-stacks:base-notebook-63fdf50a")
    );
    assert!(image.status.is_none());
}

#[test]
fn dataset_pv_with_upload_server() {
    let ds: Dataset = load("dataset-pv.yaml");
    assert_eq!(ds.spec.type_, DatasetType::Pv);
    assert_eq!(ds.spec.enable_upload_server, Some(true));
    assert!(ds.spec.upload_server_enabled());
    assert_eq!(ds.spec.provisioning(), PvProvisioning::Auto);
    assert_eq!(ds.spec.volume_name.as_deref(), Some("mnist"));
    assert_eq!(
        ds.spec.extra.get("volumeSize"),
        Some(&serde_json::json!(10))
    );
    assert_eq!(ds.pvc_name().as_deref(), Some("dataset-mnist"));
    assert!(ds.launch_group_only());
    assert!(!ds.home_symlink());
    assert!(ds.upload_server());
    assert_eq!(
        ds.upload_server_auth_secret_name(),
        Some("dataset-mnist-upload-server")
    );
    assert_eq!(ds.mount_root(), "/datasets/");
}

#[test]
fn dataset_git() {
    let ds: Dataset = load("dataset-git.yaml");
    assert_eq!(ds.spec.type_, DatasetType::Git);
    assert_eq!(
        ds.spec.gitsync.as_ref().and_then(|g| g.secret.as_deref()),
        Some("gitsync-secret-examples")
    );
    assert!(ds.primehub_gitsync());
    assert_eq!(ds.git_sync_host_root(), "/home/dataset/");
    assert_eq!(ds.git_sync_root(), "/gitsync/");
    assert!(!ds.launch_group_only());
    assert_eq!(ds.pvc_name(), None);
}

#[test]
fn dataset_env() {
    let ds: Dataset = load("dataset-env.yaml");
    assert_eq!(ds.spec.type_, DatasetType::Env);
    let vars = ds.spec.variables.as_ref().expect("variables");
    assert_eq!(vars.get("PORT"), Some(&Some("5432".to_owned())));
    assert_eq!(vars.get("REMOVED"), Some(&None));
    assert_eq!(ds.spec.access.as_deref(), Some("everyone"));
    assert_eq!(ds.spec.enable_upload_server, None);
}

#[test]
fn dataset_host_path() {
    let ds: Dataset = load("dataset-hostpath.yaml");
    assert_eq!(ds.spec.type_, DatasetType::HostPath);
    assert_eq!(
        ds.spec.host_path.as_ref().map(|h| h.path.as_str()),
        Some("/data/scratch")
    );
    assert_eq!(ds.spec.enable_upload_server, Some(false));
    assert_eq!(ds.mount_root(), "/mnt/data/");
    assert!(!ds.upload_server());
    // defaults when annotations are absent
    assert_eq!(ds.git_sync_root(), "/gitsync/");
    assert_eq!(ds.upload_server_auth_secret_name(), None);
}

#[test]
fn dataset_nfs() {
    let ds: Dataset = load("dataset-nfs.yaml");
    assert_eq!(ds.spec.type_, DatasetType::Nfs);
    let nfs = ds.spec.nfs.as_ref().expect("nfs");
    assert_eq!(nfs.server, "10.0.0.15");
    assert_eq!(nfs.path, "/exports/shared");
    assert!(ds.home_symlink());
    assert!(!ds.launch_group_only());
}

#[test]
fn dataset_enable_upload_server_accepts_bool_and_string() -> TestResult {
    for (text, expected) in [
        ("true", true),
        ("false", false),
        ("\"true\"", true),
        ("\"FALSE\"", false),
    ] {
        let yaml =
            format!("metadata: {{name: d}}\nspec: {{type: pv, enableUploadServer: {text}}}\n");
        let ds: Dataset = serde_yaml_ng::from_str(&yaml)?;
        assert_eq!(ds.spec.enable_upload_server, Some(expected), "{text}");
        // always written back as a string, as the console does
        let out = serde_json::to_value(&ds)?;
        assert_eq!(
            out["spec"]["enableUploadServer"],
            serde_json::json!(expected.to_string())
        );
    }
    assert!(
        serde_yaml_ng::from_str::<Dataset>(
            "metadata: {name: d}\nspec: {type: pv, enableUploadServer: maybe}\n"
        )
        .is_err()
    );
    let legacy: Dataset = serde_yaml_ng::from_str(
        "metadata: {name: d}\nspec: {type: pv, volumeName: 'hostpath:/data/x'}\n",
    )?;
    assert_eq!(legacy.spec.legacy_host_path(), Some("/data/x"));
    assert_eq!(legacy.pvc_name(), None);
    Ok(())
}

#[test]
fn image_spec() {
    let spec: ImageSpec = load("imagespec.yaml");
    assert_eq!(spec.spec.base_image, "jupyter/base-notebook");
    assert_eq!(spec.spec.packages.pip, ["numpy"]);
    let status = spec.status.as_ref().expect("status");
    assert_eq!(status.phase, Some(ImageSpecJobPhase::Succeeded));
    assert_eq!(status.job_name.as_deref(), Some("my-spec-a1b2c3d4"));
}

#[test]
fn image_spec_job_without_repo_prefix() {
    // `repoPrefix` is omitempty upstream: absent when customImage.pushRepo is set.
    let job: ImageSpecJob = load("imagespecjob-push-repo.yaml");
    assert_eq!(job.spec.repo_prefix, None);
    assert_eq!(
        job.spec.pushed_image(),
        "registry.example.com/primehub/images:tf-custom-3f2a91bc"
    );
}

#[test]
fn instance_type_with_vendor_gpu() {
    let it: InstanceType = load("instancetype-amd-gpu.yaml");
    assert_eq!(it.spec.limits_vendor_gpu, Some(2));
    assert_eq!(it.spec.gpu_resource_name.as_deref(), Some("amd.com/gpu"));
    assert_eq!(
        it.spec.gpu(),
        ("amd.com/gpu", 2),
        "the pair wins over limits.nvidia.com/gpu"
    );
    assert!(it.spec.extra.is_empty(), "known keys are not kept as extra");
}

#[test]
fn image_spec_job() {
    let job: ImageSpecJob = load("imagespecjob.yaml");
    assert_eq!(job.spec.target_image, "tf-custom:3f2a91bc");
    assert_eq!(
        job.spec.pushed_image(),
        "registry.example.com/primehub/tf-custom:3f2a91bc"
    );
    assert_eq!(job.spec.push_secret, "primehub-push-secret");
    assert_eq!(
        job.spec.repo_prefix.as_deref(),
        Some("registry.example.com/primehub")
    );
    let status = job.status.as_ref().expect("status");
    assert_eq!(status.phase, Some(ImageSpecJobPhase::Succeeded));
    assert!(
        status
            .phase
            .as_ref()
            .is_some_and(ImageSpecJobPhase::is_final)
    );
    assert_eq!(status.pod_name.as_deref(), Some("image-tf-custom-x7k2"));
    assert!(status.start_time.is_some() && status.finish_time.is_some());
}

#[test]
fn ph_job_with_status() {
    let job: PhJob = load("phjob.yaml");
    assert_eq!(job.spec.user_name.as_deref(), Some("phadmin"));
    assert_eq!(job.spec.group_name, "phusers");
    assert_eq!(job.spec.instance_type, "cpu-1");
    assert!(job.spec.cancel);
    assert_eq!(job.spec.requeue_limit, Some(3));
    assert_eq!(job.spec.active_deadline_seconds, Some(86_400));
    assert_eq!(job.spec.ttl_seconds_after_finished, Some(604_800));
    assert!(job.spec.command.contains("python train.py"));
    let status = job.status.as_ref().expect("status");
    assert_eq!(status.phase, Some(PhJobPhase::Cancelled));
    assert_eq!(status.reason, Some(PhJobReason::Cancelled));
    assert_eq!(status.requeued, Some(1));
    assert!(job.phase().is_final());
    assert_eq!(
        job.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(primehub_model::crd::job::LABEL_SCHEDULED_BY))
            .map(String::as_str),
        Some("nightly-train")
    );
}

#[test]
fn ph_job_tolerates_unknown_phase_and_reason() {
    let job: PhJob = load("phjob-legacy-phase.yaml");
    let status = job.status.as_ref().expect("status");
    assert_eq!(status.phase, Some(PhJobPhase::Other("pending".into())));
    assert_eq!(job.phase().canonical(), PhJobPhase::Pending);
    assert!(!job.phase().is_final());
    assert_eq!(
        status.reason,
        Some(PhJobReason::Other("SomeFutureReason".into()))
    );
    assert_eq!(job.spec.user_name, None);
    assert!(!job.spec.cancel);
}

#[test]
fn ph_schedules_of_every_recurrence_type() {
    let cases = [
        ("inactive", RecurrenceType::Inactive, None),
        ("daily", RecurrenceType::Daily, Some("0 4 * * *")),
        ("weekly", RecurrenceType::Weekly, Some("0 4 * * 0")),
        ("monthly", RecurrenceType::Monthly, Some("0 4 1 * *")),
        ("custom", RecurrenceType::Custom, Some("*/15 9-18 * * 1-5")),
    ];
    for (name, type_, cron) in cases {
        let schedule: PhSchedule = load(&format!("phschedule-{name}.yaml"));
        assert_eq!(schedule.spec.recurrence.type_, type_, "{name}");
        assert_eq!(schedule.spec.recurrence.cron_expression(), cron, "{name}");
        let template = &schedule.spec.job_template;
        assert_eq!(template.spec.instance_type, "gpu-1");
        let meta = template.metadata.as_ref().expect("jobTemplate.metadata");
        assert_eq!(annotation(meta, "primehub.io/note"), Some(name));
        let status = schedule.status.as_ref().expect("status");
        assert_eq!(status.invalid, name == "daily");
        assert_eq!(
            status.next_run_time.is_some(),
            matches!(name, "weekly" | "monthly" | "custom")
        );
    }
    assert_eq!(RecurrenceType::Custom.fixed_cron(), None);
    assert_eq!(
        RecurrenceType::from("Daily").fixed_cron(),
        Some("0 4 * * *")
    );
}

#[test]
fn ph_deployment_with_history() {
    let dep: PhDeployment = load("phdeployment.yaml");
    assert_eq!(dep.spec.predictors.len(), 1);
    let p = &dep.spec.predictors[0];
    assert_eq!(p.name, "predictor1");
    assert_eq!(p.replicas, 2);
    assert_eq!(p.model_uri.as_deref(), Some("gs://bucket/models/mnist"));
    assert_eq!(p.image_pull_secret.as_deref(), Some("image-tf-custom"));
    let endpoint = dep.spec.endpoint.as_ref().expect("endpoint");
    assert_eq!(endpoint.access_type, Some(EndpointAccessType::Private));
    assert!(endpoint.is_private());
    assert_eq!(endpoint.clients[0].name, "app-client");
    assert_eq!(dep.spec.env.len(), 2);
    assert_eq!(
        dep.spec.update_time.as_deref(),
        Some("2021-05-02T10:00:00.000Z")
    );
    let status = dep.status.as_ref().expect("status");
    assert_eq!(status.phase, Some(PhDeploymentPhase::Deploying));
    assert_eq!(status.replicas, Some(2));
    assert_eq!(status.available_replicas, Some(1));
    assert_eq!(status.history.len(), 2);
    assert!(status.history[1].spec.stop);
    assert_eq!(
        status.history[1]
            .spec
            .endpoint
            .as_ref()
            .map(|e| e.is_private()),
        Some(false)
    );
}

#[test]
fn ph_application_with_templates() {
    let app: PhApplication = load("phapplication.yaml");
    assert_eq!(app.spec.scope, PhApplicationScope::Group);
    assert_eq!(app.spec.http_port, Some(5000));
    assert_eq!(app.spec.pod_template.spec.containers[0].name, "mlflow");
    let ports = app.spec.svc_template.spec.ports.as_ref().expect("ports");
    assert_eq!(ports[0].port, 5000);
    // InfuseAI/primehub-controller api/v1alpha1/phapplication_types.go: AppID() is the name,
    // AppName() is "app-" + name.
    assert_eq!(app.app_id(), "mlflow-xyz12");
    assert_eq!(app.app_name(), "app-mlflow-xyz12");
    assert_eq!(app.spec.rewrite, Some(true));
    assert!(app.rewrite_enabled());
    assert_eq!(
        app.spec.app_root.as_deref(),
        Some("/project/phusers/apps/mlflow-xyz12")
    );
    let status = app.status.as_ref().expect("status");
    assert_eq!(status.phase, Some(PhApplicationPhase::Ready));
    assert_eq!(status.service_name.as_deref(), Some("app-mlflow-xyz12"));
    assert!(
        annotation(
            &app.metadata,
            primehub_model::crd::application::ANNOTATION_TEMPLATE
        )
        .is_some()
    );
}

#[test]
fn ph_app_template() {
    let t: PhAppTemplate = load("phapptemplate.yaml");
    assert_eq!(t.spec.name, "MLflow");
    assert_eq!(t.spec.default_envs.len(), 2);
    assert_eq!(t.spec.default_envs[0].optional, Some(false));
    assert!(t.spec.default_envs[1].is_optional());
    assert_eq!(t.spec.template.spec.http_port, Some(5000));
    assert_eq!(t.spec.template.spec.rewrite, Some(false));
    assert_eq!(
        t.spec.template.spec.app_root.as_deref(),
        Some("/project/$(PRIMEHUB_GROUP)/apps/$(PRIMEHUB_APP_ID)")
    );
    assert_eq!(
        t.spec.template.spec.pod_template.spec.containers[0]
            .image
            .as_deref(),
        Some("larribas/mlflow:1.9.1")
    );
}

#[test]
fn license() {
    let l: License = load("license.yaml");
    assert!(l.spec.signed_license.contains('.'));
    let s = l.status.as_ref().expect("status");
    assert_eq!(s.expired, Some(LicenseValidity::Unexpired));
    assert_eq!(s.max_user, Some(-1));
    assert_eq!(s.max_group, Some(0));
    assert_eq!(s.max_model_deploy, Some(1));
    assert_eq!(s.licensed_to.as_deref(), Some("Default"));
}

#[test]
fn announcement_keeps_unknown_keys() {
    let a: Announcement = load("announcement.yaml");
    assert_eq!(a.spec.expiry_date, Some(1_624_060_800));
    assert_eq!(a.spec.status.as_deref(), Some("published"));
    assert_eq!(
        a.spec.extra.get("sendEmail"),
        Some(&serde_json::json!(false))
    );
}

#[test]
fn string_enums_round_trip_unknown_values() -> TestResult {
    for text in ["pending", "Pending", "", "Ready"] {
        let phase: PhJobPhase = serde_json::from_value(serde_json::json!(text))?;
        assert_eq!(serde_json::to_value(&phase)?, serde_json::json!(text));
        assert_eq!(phase.as_str(), text);
    }
    assert_eq!(PhJobPhase::from("Ready"), PhJobPhase::Other("Ready".into()));
    assert_eq!(PhJobPhase::from("Preparing"), PhJobPhase::Preparing);
    assert_eq!(
        PhDeploymentPhase::from("deployed").canonical(),
        PhDeploymentPhase::Deployed
    );
    assert_eq!("both".parse::<ImageType>()?, ImageType::Both);
    assert_eq!(DatasetType::from("hostPath"), DatasetType::HostPath);
    assert_eq!(DatasetType::HostPath.to_string(), "hostPath");
    Ok(())
}
