//! The PhJob pod (primehub-controllers.md §4.4; InfuseAI/primehub-controller
//! `ee/controllers/phjob_controller.go` `buildPod`, `pkg/graphql/spawn.go` `NewSpawnerForJob`):
//! one golden pod, then one test per rule.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Pod, Toleration};
use primehub_model::Error;
use primehub_model::attributes::GroupAttributes;
use primehub_model::binding::Catalog;
use primehub_model::crd::dataset::Dataset;
use primehub_model::crd::image::Image;
use primehub_model::crd::instance_type::InstanceType;
use primehub_model::crd::job::PhJob;
use primehub_model::pod::InstanceTypeResources;
use primehub_model::pod::job::{
    JobPodConfig, JobPodInput, MonitoringAgentImage, UserGroup, build_job_pod, resolve_job,
};
use primehub_model::quota::pod_request;
use primehub_model::roles::RoleNaming;
use proptest::prelude::*;
use serde_json::{Value, json};

const JOB: &str = "job-202612041700-abc123";

fn object<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("test object")
}

fn instance_type(name: &str, spec: Value) -> InstanceType {
    object(
        json!({"apiVersion": "primehub.io/v1alpha1", "kind": "InstanceType",
        "metadata": {"name": name, "namespace": "hub"}, "spec": spec}),
    )
}

fn dataset(name: &str, annotations: Value, spec: Value) -> Dataset {
    object(
        json!({"apiVersion": "primehub.io/v1alpha1", "kind": "Dataset",
        "metadata": {"name": name, "namespace": "hub", "annotations": annotations}, "spec": spec}),
    )
}

fn roles(list: &[&str]) -> Vec<String> {
    list.iter().map(|r| (*r).to_owned()).collect()
}

/// A user, their groups, the resources that exist and a job: the inputs of one pod.
struct World {
    job: PhJob,
    user: String,
    groups: Vec<(String, Vec<String>, GroupAttributes)>,
    images: Vec<Image>,
    instance_types: Vec<InstanceType>,
    datasets: Vec<Dataset>,
    time_zone: Option<String>,
}

impl World {
    /// alice launches `gpu-1` with image `tf` in `phusers`; she is also in `research` (a shared
    /// volume any launch mounts, no home link) and `Team_A` (a launch-group-only volume).
    fn standard() -> World {
        let shared =
            |launch_group_only: Option<bool>, home_symlink: Option<bool>| GroupAttributes {
                enabled_shared_volume: Some(true),
                launch_group_only,
                home_symlink,
                ..GroupAttributes::default()
            };
        World {
            job: object(
                json!({"apiVersion": "primehub.io/v1alpha1", "kind": "PhJob",
                "metadata": {"name": JOB, "namespace": "hub", "uid": "7d9f5c1e-0000-4000-8000-000000000001",
                    "labels": {"phjob.primehub.io/scheduledBy": "nightly"},
                    "annotations": {"note": "from a schedule"}},
                "spec": {"displayName": "train", "userId": "u-1", "userName": "alice",
                    "groupId": "g-1", "groupName": "phusers", "instanceType": "gpu-1",
                    "image": "tf", "command": "python train.py"}}),
            ),
            user: "alice".to_owned(),
            groups: vec![
                (
                    "everyone".to_owned(),
                    roles(&["img:tf", "it:cpu-1", "ds:repo"]),
                    GroupAttributes::default(),
                ),
                (
                    "phusers".to_owned(),
                    roles(&["it:gpu-1", "ds:rw:mnist", "ds:cfg", "ds:share", "ds:hp"]),
                    shared(None, None),
                ),
                (
                    "research".to_owned(),
                    roles(&["ds:private"]),
                    shared(Some(false), Some(false)),
                ),
                ("Team_A".to_owned(), vec![], shared(None, None)),
            ],
            images: vec![object(
                json!({"metadata": {"name": "tf", "namespace": "hub"},
                "spec": {"type": "both", "url": "infuseai/tf:2.4", "urlForGpu": "infuseai/tf:2.4-gpu",
                    "pullSecret": "registry-cred"}}),
            )],
            instance_types: vec![
                instance_type(
                    "gpu-1",
                    json!({"limits.cpu": 2, "limits.memory": "7G", "limits.nvidia.com/gpu": 1,
                    "requests.cpu": 1.5, "requests.memory": "5G",
                    "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
                    "nodeSelector": {"component": "gpu"}}),
                ),
                instance_type("cpu-1", json!({"limits.cpu": 1, "limits.memory": "2G"})),
            ],
            datasets: vec![
                dataset(
                    "mnist",
                    json!({}),
                    json!({"type": "pv", "volumeName": "mnist-v"}),
                ),
                dataset(
                    "repo",
                    json!({}),
                    json!({"type": "git", "url": "https://example.com/r.git"}),
                ),
                dataset(
                    "cfg",
                    json!({}),
                    json!({"type": "env", "variables": {"api-key": "s3cr3t", "LEVEL": "3", "bad key": "x"}}),
                ),
                dataset(
                    "share",
                    json!({}),
                    json!({"type": "nfs", "nfs": {"server": "10.0.0.2", "path": "/exports/share"}}),
                ),
                dataset(
                    "hp",
                    json!({"dataset.primehub.io/homeSymlink": "false", "dataset.primehub.io/mountRoot": "/srv/data"}),
                    json!({"type": "hostPath", "hostPath": {"path": "/data/hp"}}),
                ),
                dataset(
                    "private",
                    json!({"dataset.primehub.io/launchGroupOnly": "false"}),
                    json!({"type": "pv", "volumeName": "private"}),
                ),
            ],
            time_zone: Some("Asia/Taipei".to_owned()),
        }
    }

    fn with_input<R>(&self, f: impl FnOnce(&JobPodInput<'_>) -> R) -> R {
        let groups: Vec<UserGroup<'_>> = self
            .groups
            .iter()
            .map(|(name, roles, attributes)| UserGroup {
                name,
                roles,
                attributes,
            })
            .collect();
        let naming = RoleNaming::default();
        let catalog = Catalog {
            images: &self.images,
            instance_types: &self.instance_types,
            datasets: &self.datasets,
        };
        let input = JobPodInput {
            job: &self.job,
            user_name: &self.user,
            groups: &groups,
            naming: &naming,
            resources: &catalog,
            time_zone: self.time_zone.as_deref(),
        };
        f(&input)
    }

    fn build(&self, config: &JobPodConfig) -> Result<Pod, Error> {
        self.with_input(|input| build_job_pod(input, config))
    }

    fn json(&self, config: &JobPodConfig) -> Value {
        serde_json::to_value(self.build(config).expect("the pod builds")).expect("serialises")
    }

    fn group_mut(&mut self, name: &str) -> &mut (String, Vec<String>, GroupAttributes) {
        self.groups
            .iter_mut()
            .find(|g| g.0 == name)
            .expect("group exists")
    }
}

fn phfs_config() -> JobPodConfig {
    JobPodConfig {
        phfs_enabled: true,
        phfs_pvc: "primehub-store".to_owned(),
        ..JobPodConfig::default()
    }
}

fn main_container(pod: &Value) -> &Value {
    &pod["spec"]["containers"][0]
}

fn env(pod: &Value) -> Vec<(String, Value)> {
    main_container(pod)["env"]
        .as_array()
        .expect("env")
        .iter()
        .map(|e| {
            let name = e["name"].as_str().expect("name").to_owned();
            let value = e
                .get("value")
                .cloned()
                .unwrap_or_else(|| e["valueFrom"].clone());
            (name, value)
        })
        .collect()
}

fn env_value(pod: &Value, name: &str) -> Option<Value> {
    env(pod)
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
}

fn names_of(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|a| {
            a.iter()
                .map(|v| v["name"].as_str().expect("name").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn volume_names(pod: &Value) -> Vec<String> {
    names_of(&pod["spec"]["volumes"])
}

fn symlinks(pod: &Value) -> Vec<String> {
    main_container(pod)["lifecycle"]["postStart"]["exec"]["command"][2]
        .as_str()
        .expect("postStart")
        .split(';')
        .map(str::to_owned)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// the golden pod

#[test]
fn golden_job_pod_with_phfs_artifacts_datasets_and_group_volumes() {
    let pod = World::standard().json(&phfs_config());
    let symlinks = [
        "ln -s /project/phusers /home/jovyan",
        "ln -s /phfs /home/jovyan",
        "ln -sf /mnt/dataset-hp /srv/data/hp",
        "ln -sf /mnt/dataset-mnist /datasets/mnist",
        "ln -s /datasets/mnist .",
        "ln -sf /mnt/dataset-repo/repo /datasets/repo",
        "ln -s /datasets/repo .",
        "ln -sf /mnt/dataset-share /datasets/share",
        "ln -s /datasets/share .",
        "test -d /home/jovyan/datasets || ln -sf /datasets /home/jovyan",
    ]
    .join(";");
    let expected = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": JOB,
            "namespace": "hub",
            "labels": {
                "app": "primehub-job",
                "primehub.io/group": "escaped-phusers",
                "primehub.io/user": "escaped-alice"
            },
            "annotations": {
                "note": "from a schedule",
                "primehub.io/usage": format!("{{\"component\":\"job\",\"component_name\":\"{JOB}\",\"group\":\"phusers\",\"instance_type\":\"gpu-1\",\"user\":\"alice\"}}")
            },
            "ownerReferences": [{
                "apiVersion": "primehub.io/v1alpha1", "kind": "PhJob", "name": JOB,
                "uid": "7d9f5c1e-0000-4000-8000-000000000001",
                "controller": true, "blockOwnerDeletion": true
            }]
        },
        "spec": {
            "affinity": {},
            "containers": [{
                "name": "main",
                "image": "infuseai/tf:2.4-gpu",
                "imagePullPolicy": "IfNotPresent",
                "command": ["/scripts/run-job.sh", "sleep 1\npython train.py"],
                "workingDir": "/home/jovyan",
                "env": [
                    {"name": "CFG_LEVEL", "value": "3"},
                    {"name": "CFG_API-KEY", "value": "s3cr3t"},
                    {"name": "CFG_API_KEY", "value": "s3cr3t"},
                    {"name": "PRIMEHUB_USER", "value": "alice"},
                    {"name": "PRIMEHUB_GROUP", "value": "phusers"},
                    {"name": "PHJOB_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                    {"name": "PHJOB_ARTIFACT_ENABLED", "value": "true"},
                    {"name": "PHJOB_ARTIFACT_LIMIT_SIZE_MB", "value": "100"},
                    {"name": "PHJOB_ARTIFACT_LIMIT_FILES", "value": "1000"},
                    {"name": "PHJOB_ARTIFACT_RETENTION_SECONDS", "value": "604800"},
                    {"name": "GRANT_SUDO", "value": "true"},
                    {"name": "TZ", "value": "Asia/Taipei"},
                    {"name": "GROUP_ID", "value": "g-1"},
                    {"name": "GROUP_NAME", "value": "phusers"},
                    {"name": "JUPYTERHUB_USER", "value": "alice"},
                    {"name": "INSTANCE_TYPE", "value": "gpu-1"},
                    {"name": "IMAGE_NAME", "value": "tf"}
                ],
                "resources": {
                    "limits": {"cpu": "2", "memory": "7Gi", "nvidia.com/gpu": "1"},
                    "requests": {"cpu": "1500m", "memory": "5Gi"}
                },
                "volumeMounts": [
                    {"name": "project-phusers", "mountPath": "/project/phusers"},
                    {"name": "project-research", "mountPath": "/project/research"},
                    {"name": "phfs", "mountPath": "/phfs", "subPath": "groups/phusers"},
                    {"name": "workingdir", "mountPath": "/home/jovyan"},
                    {"name": "dataset-hp", "mountPath": "/mnt/dataset-hp", "readOnly": true},
                    {"name": "dataset-mnist", "mountPath": "/mnt/dataset-mnist"},
                    {"name": "dataset-repo", "mountPath": "/mnt/dataset-repo", "readOnly": true},
                    {"name": "dataset-share", "mountPath": "/mnt/dataset-share", "readOnly": true},
                    {"name": "datasets", "mountPath": "/datasets"},
                    {"name": "scripts", "mountPath": "/scripts"},
                    {"name": "monitoring-utils", "mountPath": "/monitoring-utils"},
                    {"name": "dshm", "mountPath": "/dev/shm"}
                ],
                "lifecycle": {"postStart": {"exec": {"command": ["sh", "-c", symlinks]}}},
                "terminationMessagePolicy": "FallbackToLogsOnError"
            }],
            "initContainers": [
                {
                    "name": "copy-monitoring-utils",
                    "image": "infuseai/primehub-monitoring-agent:latest",
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["cp", "/primehub-monitoring-agent", "/monitoring-utils"],
                    "volumeMounts": [{"name": "monitoring-utils", "mountPath": "/monitoring-utils"}]
                },
                {
                    "name": "admission-is-not-found",
                    "image": "admission-is-not-found",
                    "imagePullPolicy": "Never",
                    "command": ["false"]
                }
            ],
            "imagePullSecrets": [{"name": "registry-cred"}],
            "nodeSelector": {"component": "gpu"},
            "restartPolicy": "Never",
            "securityContext": {"runAsUser": 0},
            "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
            "volumes": [
                {"name": "project-phusers", "persistentVolumeClaim": {"claimName": "project-phusers"}},
                {"name": "project-research", "persistentVolumeClaim": {"claimName": "project-research"}},
                {"name": "phfs", "persistentVolumeClaim": {"claimName": "primehub-store"}},
                {"name": "workingdir", "emptyDir": {"sizeLimit": "5Gi"}},
                {"name": "dataset-hp", "hostPath": {"path": "/data/hp"}},
                {"name": "dataset-mnist", "persistentVolumeClaim": {"claimName": "dataset-mnist-v"}},
                {"name": "dataset-repo", "hostPath": {"path": "/home/dataset/repo"}},
                {"name": "dataset-share", "nfs": {"server": "10.0.0.2", "path": "/exports/share"}},
                {"name": "datasets", "emptyDir": {"sizeLimit": "1M"}},
                {"name": "scripts", "configMap": {"name": "primehub-controller-job-scripts", "defaultMode": 511}},
                {"name": "monitoring-utils", "emptyDir": {}},
                {"name": "dshm", "emptyDir": {"medium": "Memory"}}
            ]
        }
    });
    assert_eq!(
        pod,
        expected,
        "\nbuilt:    {}\nexpected: {}",
        serde_json::to_string_pretty(&pod).unwrap_or_default(),
        serde_json::to_string_pretty(&expected).unwrap_or_default()
    );
}

#[test]
fn golden_pod_deserialises_as_a_kubernetes_pod() {
    let pod = World::standard().build(&phfs_config()).expect("builds");
    let text = serde_json::to_string(&pod).expect("serialises");
    let back: Pod = serde_json::from_str(&text).expect("a valid Pod");
    assert_eq!(back, pod);
}

// ---------------------------------------------------------------------------------------------
// resolution and PrimeHub's errors

#[test]
fn group_not_found_is_primehubs_text() {
    let mut world = World::standard();
    world.job.spec.group_name = "strangers".to_owned();
    let err = world
        .build(&JobPodConfig::default())
        .expect_err("no such group");
    assert_eq!(err.to_string(), "Group not found: strangers");
    assert!(matches!(err, Error::NotFound { ref field, .. } if field == "spec.groupName"));
}

#[test]
fn empty_group_name_launches_in_everyone() {
    let mut world = World::standard();
    world.job.spec.group_name = String::new();
    world.job.spec.instance_type = "cpu-1".to_owned();
    let resolved = world.with_input(|input| resolve_job(input).map(|r| r.launch_group));
    assert_eq!(resolved.as_deref(), Ok("everyone"));
    let pod = world.json(&JobPodConfig::default());
    assert_eq!(env_value(&pod, "PRIMEHUB_GROUP"), Some(json!("everyone")));
    assert_eq!(env_value(&pod, "GROUP_NAME"), Some(json!("")));
    assert_eq!(pod["metadata"]["labels"]["primehub.io/group"], "escaped-");
    // Only everyone's datasets: `repo`.
    let datasets: Vec<String> = volume_names(&pod)
        .into_iter()
        .filter(|n| n.starts_with("dataset-"))
        .collect();
    assert_eq!(datasets, ["dataset-repo"]);
}

#[test]
fn empty_group_name_fails_when_user_is_not_in_everyone() {
    let mut world = World::standard();
    world.job.spec.group_name = String::new();
    world.groups.retain(|g| g.0 != "everyone");
    let err = world
        .build(&JobPodConfig::default())
        .expect_err("no everyone");
    assert_eq!(err.to_string(), "Group not found: everyone");
}

#[test]
fn instance_type_from_launch_group_or_everyone_else_not_found() {
    let mut world = World::standard();
    world.job.spec.instance_type = "cpu-1".to_owned(); // bound to everyone only
    assert!(world.build(&JobPodConfig::default()).is_ok());
    world.job.spec.instance_type = "gpu-9".to_owned();
    let err = world.build(&JobPodConfig::default()).expect_err("unbound");
    assert_eq!(err.to_string(), "InstanceType not found: gpu-9");
    assert!(matches!(err, Error::NotFound { ref field, .. } if field == "spec.instanceType"));
    // Bound to the group but deleted: not found either.
    world.job.spec.instance_type = "gpu-1".to_owned();
    world
        .instance_types
        .retain(|i| i.metadata.name.as_deref() != Some("gpu-1"));
    let err = world.build(&JobPodConfig::default()).expect_err("deleted");
    assert_eq!(err.to_string(), "InstanceType not found: gpu-1");
}

#[test]
fn image_not_found_is_primehubs_text() {
    let mut world = World::standard();
    world.job.spec.image = "pytorch".to_owned();
    let err = world.build(&JobPodConfig::default()).expect_err("unbound");
    assert_eq!(err.to_string(), "Image not found: pytorch");
    assert!(matches!(err, Error::NotFound { ref field, .. } if field == "spec.image"));
}

#[test]
fn instance_type_of_another_group_is_not_usable() {
    let mut world = World::standard();
    world.group_mut("research").1.push("it:big".to_owned());
    world.instance_types.push(instance_type(
        "big",
        json!({"limits.cpu": 8, "limits.memory": "32G"}),
    ));
    world.job.spec.instance_type = "big".to_owned();
    let err = world
        .build(&JobPodConfig::default())
        .expect_err("not in phusers");
    assert_eq!(err.to_string(), "InstanceType not found: big");
}

// ---------------------------------------------------------------------------------------------
// image

#[test]
fn image_url_follows_gpu_count_and_pull_secret_becomes_image_pull_secrets() {
    let mut world = World::standard();
    let pod = world.json(&JobPodConfig::default());
    assert_eq!(main_container(&pod)["image"], "infuseai/tf:2.4-gpu");
    assert_eq!(
        pod["spec"]["imagePullSecrets"],
        json!([{"name": "registry-cred"}])
    );

    world.job.spec.instance_type = "cpu-1".to_owned();
    world.images[0].spec.pull_secret = None;
    let pod = world.json(&JobPodConfig::default());
    assert_eq!(main_container(&pod)["image"], "infuseai/tf:2.4");
    assert!(pod["spec"].get("imagePullSecrets").is_none());
}

#[test]
fn gpu_job_with_cpu_only_image_runs_its_url() {
    let mut world = World::standard();
    world.images[0].spec.url_for_gpu = None;
    let pod = world.json(&JobPodConfig::default());
    assert_eq!(main_container(&pod)["image"], "infuseai/tf:2.4");
}

#[test]
fn image_without_url_is_an_error_naming_the_field() {
    let mut world = World::standard();
    world.job.spec.instance_type = "cpu-1".to_owned();
    world.images[0].spec.url = None;
    let err = world.build(&JobPodConfig::default()).expect_err("no url");
    assert!(
        matches!(err, Error::InvalidField { ref field, .. } if field == "images/tf spec.url"),
        "{err:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// group shared volumes and PHFS

#[test]
fn shared_volume_of_launch_group_and_of_groups_not_launch_group_only() {
    let pod = World::standard().json(&JobPodConfig::default());
    let projects: Vec<String> = volume_names(&pod)
        .into_iter()
        .filter(|n| n.starts_with("project-"))
        .collect();
    // Team_A is launch-group-only (unset means on): not mounted.
    assert_eq!(projects, ["project-phusers", "project-research"]);
}

#[test]
fn shared_volume_name_is_the_lowercase_group_path() {
    let mut world = World::standard();
    world.job.spec.group_name = "Team_A".to_owned();
    world.group_mut("Team_A").1.push("it:gpu-1".to_owned());
    let pod = world.json(&JobPodConfig::default());
    // research (not launch-group-only) comes first: groups keep the user's order.
    assert_eq!(
        pod["spec"]["volumes"][1],
        json!({"name": "project-team-a",
        "persistentVolumeClaim": {"claimName": "project-team-a"}})
    );
    assert_eq!(
        main_container(&pod)["volumeMounts"][1]["mountPath"],
        "/project/team-a"
    );
    assert_eq!(symlinks(&pod)[0], "ln -s /project/team-a /home/jovyan");
}

#[test]
fn group_home_symlink_off_leaves_no_link() {
    let mut world = World::standard();
    world.group_mut("phusers").2.home_symlink = Some(false);
    let pod = world.json(&JobPodConfig::default());
    assert!(
        !symlinks(&pod)
            .iter()
            .any(|s| s.starts_with("ln -s /project/"))
    );
}

#[test]
fn group_without_shared_volume_mounts_nothing() {
    let mut world = World::standard();
    for group in &mut world.groups {
        group.2.enabled_shared_volume = Some(false);
    }
    let pod = world.json(&JobPodConfig::default());
    assert!(!volume_names(&pod).iter().any(|n| n.starts_with("project-")));
}

#[test]
fn phfs_mounted_only_when_enabled_with_a_pvc() {
    let world = World::standard();
    let without = world.json(&JobPodConfig::default());
    assert!(!volume_names(&without).contains(&"phfs".to_owned()));
    let no_pvc = world.json(&JobPodConfig {
        phfs_enabled: true,
        ..JobPodConfig::default()
    });
    assert!(!volume_names(&no_pvc).contains(&"phfs".to_owned()));
    let disabled = world.json(&JobPodConfig {
        phfs_pvc: "primehub-store".to_owned(),
        ..JobPodConfig::default()
    });
    assert!(!volume_names(&disabled).contains(&"phfs".to_owned()));
    let with = world.json(&phfs_config());
    assert!(volume_names(&with).contains(&"phfs".to_owned()));
}

// ---------------------------------------------------------------------------------------------
// artifacts and the monitoring agent

#[test]
fn artifact_env_only_with_phfs_and_limits_above_zero() {
    let world = World::standard();
    let without_phfs = world.json(&JobPodConfig::default());
    assert_eq!(env_value(&without_phfs, "PHJOB_ARTIFACT_ENABLED"), None);
    assert_eq!(env_value(&without_phfs, "PHJOB_NAME"), None);

    let mut config = phfs_config();
    config.artifact.limit_size_mb = 0;
    config.artifact.limit_files = -1;
    config.artifact.retention_seconds = 0;
    let pod = world.json(&config);
    assert_eq!(
        env_value(&pod, "PHJOB_ARTIFACT_ENABLED"),
        Some(json!("true"))
    );
    assert_eq!(env_value(&pod, "PHJOB_ARTIFACT_LIMIT_SIZE_MB"), None);
    assert_eq!(env_value(&pod, "PHJOB_ARTIFACT_LIMIT_FILES"), None);
    assert_eq!(
        env_value(&pod, "PHJOB_ARTIFACT_RETENTION_SECONDS"),
        Some(json!("0"))
    );
    // Exactly 0 leaves them out too; 1 is written.
    config.artifact.limit_size_mb = -1;
    config.artifact.limit_files = 0;
    let pod = world.json(&config);
    assert_eq!(env_value(&pod, "PHJOB_ARTIFACT_LIMIT_SIZE_MB"), None);
    assert_eq!(env_value(&pod, "PHJOB_ARTIFACT_LIMIT_FILES"), None);
    config.artifact.limit_size_mb = 1;
    config.artifact.limit_files = 1;
    let pod = world.json(&config);
    assert_eq!(
        env_value(&pod, "PHJOB_ARTIFACT_LIMIT_SIZE_MB"),
        Some(json!("1"))
    );
    assert_eq!(
        env_value(&pod, "PHJOB_ARTIFACT_LIMIT_FILES"),
        Some(json!("1"))
    );

    config.artifact.enabled = false;
    let off = world.json(&config);
    assert_eq!(env_value(&off, "PHJOB_ARTIFACT_ENABLED"), None);
}

#[test]
fn monitoring_agent_attached_whenever_artifacts_are_enabled() {
    let world = World::standard();
    // PHFS off, artifacts on (the default): the agent is still attached.
    let pod = world.json(&JobPodConfig::default());
    assert_eq!(
        names_of(&pod["spec"]["initContainers"]),
        ["copy-monitoring-utils", "admission-is-not-found"]
    );
    assert!(volume_names(&pod).contains(&"monitoring-utils".to_owned()));

    let custom = world.json(&JobPodConfig {
        monitoring_agent: MonitoringAgentImage {
            repository: "registry.local/agent".to_owned(),
            tag: String::new(),
            pull_policy: "Always".to_owned(),
        },
        ..JobPodConfig::default()
    });
    let agent = &custom["spec"]["initContainers"][0];
    assert_eq!(agent["image"], "registry.local/agent:latest");
    assert_eq!(agent["imagePullPolicy"], "Always");

    let mut config = JobPodConfig::default();
    config.artifact.enabled = false;
    let off = world.json(&config);
    assert_eq!(
        names_of(&off["spec"]["initContainers"]),
        ["admission-is-not-found"]
    );
    assert!(!volume_names(&off).contains(&"monitoring-utils".to_owned()));
}

// ---------------------------------------------------------------------------------------------
// datasets

fn dataset_volumes(pod: &Value) -> Vec<String> {
    volume_names(pod)
        .into_iter()
        .filter(|n| n.starts_with("dataset-"))
        .collect()
}

#[test]
fn datasets_bound_to_launch_group_or_everyone_only() {
    // `private` is held through research and not launchGroupOnly: notebooks would mount it,
    // PrimeHub's job spawner does not.
    let pod = World::standard().json(&JobPodConfig::default());
    assert_eq!(
        dataset_volumes(&pod),
        [
            "dataset-hp",
            "dataset-mnist",
            "dataset-repo",
            "dataset-share"
        ]
    );
}

#[test]
fn dataset_writable_when_either_binding_is_rw() {
    let mut world = World::standard();
    let read_only = |pod: &Value, name: &str| {
        main_container(pod)["volumeMounts"]
            .as_array()
            .expect("mounts")
            .iter()
            .find(|m| m["name"] == name)
            .map(|m| m.get("readOnly").cloned())
    };
    let pod = world.json(&JobPodConfig::default());
    assert_eq!(
        read_only(&pod, "dataset-mnist"),
        Some(None),
        "ds:rw in the launch group"
    );
    assert_eq!(read_only(&pod, "dataset-share"), Some(Some(json!(true))));
    // rw through everyone makes it writable too.
    world.group_mut("everyone").1.push("ds:rw:share".to_owned());
    let pod = world.json(&JobPodConfig::default());
    assert_eq!(read_only(&pod, "dataset-share"), Some(None));
    // rw through another group does not.
    world.group_mut("research").1.push("ds:rw:hp".to_owned());
    let pod = world.json(&JobPodConfig::default());
    assert_eq!(read_only(&pod, "dataset-hp"), Some(Some(json!(true))));
}

#[test]
fn pv_legacy_hostpath_volume_name_is_a_host_path() {
    let mut world = World::standard();
    world.datasets[0].spec.volume_name = Some("hostpath:/mnt/nas/mnist".to_owned());
    let pod = world.json(&JobPodConfig::default());
    let volume = pod["spec"]["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .find(|v| v["name"] == "dataset-mnist")
        .cloned();
    assert_eq!(
        volume,
        Some(json!({"name": "dataset-mnist", "hostPath": {"path": "/mnt/nas/mnist"}}))
    );
}

#[test]
fn pv_without_volume_name_uses_dataset_name() {
    let mut world = World::standard();
    world.datasets[0].spec.volume_name = None;
    let pod = world.json(&JobPodConfig::default());
    assert!(pod["spec"]["volumes"]
        .as_array()
        .expect("volumes")
        .contains(&json!({"name": "dataset-mnist", "persistentVolumeClaim": {"claimName": "dataset-mnist"}})));
}

#[test]
fn git_dataset_host_root_from_spec_or_config_and_always_read_only() {
    let mut world = World::standard();
    world.group_mut("everyone").1.push("ds:rw:repo".to_owned());
    let config = JobPodConfig {
        git_sync_host_root: "/var/gitsync".to_owned(),
        ..JobPodConfig::default()
    };
    let pod = world.json(&config);
    let repo = |pod: &Value| {
        pod["spec"]["volumes"]
            .as_array()
            .expect("volumes")
            .iter()
            .find(|v| v["name"] == "dataset-repo")
            .cloned()
    };
    assert_eq!(
        repo(&pod),
        Some(json!({"name": "dataset-repo", "hostPath": {"path": "/var/gitsync/repo"}}))
    );
    assert!(
        main_container(&pod)["volumeMounts"]
            .as_array()
            .expect("mounts")
            .contains(
                &json!({"name": "dataset-repo", "mountPath": "/mnt/dataset-repo", "readOnly": true})
            )
    );
    world.datasets[1]
        .spec
        .extra
        .insert("gitSyncHostRoot".to_owned(), json!("/opt/git/"));
    let pod = world.json(&config);
    assert_eq!(
        repo(&pod),
        Some(json!({"name": "dataset-repo", "hostPath": {"path": "/opt/git/repo"}}))
    );
}

#[test]
fn host_path_and_nfs_without_a_path_mount_nothing() {
    let mut world = World::standard();
    world.datasets[3].spec.nfs = None;
    if let Some(h) = world.datasets[4].spec.host_path.as_mut() {
        h.path.clear();
    }
    let pod = world.json(&JobPodConfig::default());
    assert_eq!(dataset_volumes(&pod), ["dataset-mnist", "dataset-repo"]);
    // PrimeHub still adds the home link of a volume dataset it did not mount.
    assert!(symlinks(&pod).contains(&"ln -s /datasets/share .".to_owned()));
}

#[test]
fn nfs_needs_both_server_and_path() {
    for (server, path) in [("10.0.0.2", ""), ("", "/exports/share")] {
        let mut world = World::standard();
        world.datasets[3] = dataset(
            "share",
            json!({}),
            json!({"type": "nfs", "nfs": {"server": server, "path": path}}),
        );
        let pod = world.json(&JobPodConfig::default());
        assert!(
            !dataset_volumes(&pod).contains(&"dataset-share".to_owned()),
            "server {server:?}, path {path:?}"
        );
    }
}

#[test]
fn env_dataset_names_upper_case_valid_and_underscore_copy() {
    let pod = World::standard().json(&JobPodConfig::default());
    let names: Vec<String> = env(&pod).into_iter().map(|(n, _)| n).take(3).collect();
    // Keys in byte order (`LEVEL` < `api-key` < `bad key`); `bad key` makes `CFG_BAD KEY`,
    // which is not a valid name: left out.
    assert_eq!(names, ["CFG_LEVEL", "CFG_API-KEY", "CFG_API_KEY"]);
}

#[test]
fn env_dataset_null_variable_is_skipped_and_unknown_type_ignored() {
    let mut world = World::standard();
    if let Some(vars) = world.datasets[2].spec.variables.as_mut() {
        vars.insert("GONE".to_owned(), None);
    }
    world.datasets[3] = dataset("share", json!({}), json!({"type": "s3"}));
    let pod = world.json(&JobPodConfig::default());
    assert_eq!(env_value(&pod, "CFG_GONE"), None);
    assert!(!volume_names(&pod).contains(&"dataset-share".to_owned()));
    assert!(!symlinks(&pod).iter().any(|s| s.contains("share")));
}

#[test]
fn dataset_home_symlink_annotation_decides_default_true() {
    let mut world = World::standard();
    let pod = world.json(&JobPodConfig::default());
    let links = symlinks(&pod);
    assert!(
        links.contains(&"ln -s /datasets/mnist .".to_owned()),
        "absent: linked"
    );
    assert!(
        !links.contains(&"ln -s /srv/data/hp .".to_owned()),
        "\"false\": not linked"
    );
    world.datasets[4]
        .metadata
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(
            "dataset.primehub.io/homeSymlink".to_owned(),
            "true".to_owned(),
        );
    let pod = world.json(&JobPodConfig::default());
    assert!(symlinks(&pod).contains(&"ln -s /srv/data/hp .".to_owned()));
}

#[test]
fn mount_root_annotation_moves_the_dataset_link() {
    let pod = World::standard().json(&JobPodConfig::default());
    assert!(symlinks(&pod).contains(&"ln -sf /mnt/dataset-hp /srv/data/hp".to_owned()));
    assert!(symlinks(&pod).contains(&"ln -sf /mnt/dataset-mnist /datasets/mnist".to_owned()));
}

#[test]
fn datasets_dir_is_linked_last_unless_present() {
    let world = World::standard();
    let mut config = JobPodConfig::default();
    config.artifact.enabled = false;
    let pod = world.json(&config);
    assert_eq!(
        symlinks(&pod).last().map(String::as_str),
        Some("test -d /home/jovyan/datasets || ln -sf /datasets /home/jovyan")
    );
}

// ---------------------------------------------------------------------------------------------
// container and pod settings

#[test]
fn command_is_run_job_with_sleep_prefix_and_working_dir_home() {
    let pod = World::standard().json(&JobPodConfig::default());
    let main = main_container(&pod);
    assert_eq!(main["name"], "main");
    assert_eq!(
        main["command"],
        json!(["/scripts/run-job.sh", "sleep 1\npython train.py"])
    );
    assert!(main.get("args").is_none());
    assert_eq!(main["workingDir"], "/home/jovyan");
}

#[test]
fn working_dir_size_is_the_empty_dir_size_limit() {
    let world = World::standard();
    let pod = world.json(&JobPodConfig {
        working_dir_size: "20Gi".to_owned(),
        ..JobPodConfig::default()
    });
    assert!(
        pod["spec"]["volumes"]
            .as_array()
            .expect("volumes")
            .contains(&json!({"name": "workingdir", "emptyDir": {"sizeLimit": "20Gi"}}))
    );
    let err = world
        .build(&JobPodConfig {
            working_dir_size: "lots".to_owned(),
            ..JobPodConfig::default()
        })
        .expect_err("invalid size");
    assert!(
        matches!(err, Error::InvalidQuantity { ref field, .. } if field == "jobSubmission.workingDirSize")
    );
}

#[test]
fn scripts_config_map_mode_0777_at_scripts() {
    let pod = World::standard().json(&JobPodConfig {
        scripts_config_map: "my-scripts".to_owned(),
        ..JobPodConfig::default()
    });
    assert!(pod["spec"]["volumes"]
        .as_array()
        .expect("volumes")
        .contains(&json!({"name": "scripts", "configMap": {"name": "my-scripts", "defaultMode": 0o777}})));
}

#[test]
fn grant_sudo_sets_run_as_root_and_env() {
    let world = World::standard();
    let pod = world.json(&JobPodConfig::default());
    assert_eq!(pod["spec"]["securityContext"], json!({"runAsUser": 0}));
    assert_eq!(env_value(&pod, "GRANT_SUDO"), Some(json!("true")));
    let pod = world.json(&JobPodConfig {
        grant_sudo: false,
        ..JobPodConfig::default()
    });
    assert_eq!(pod["spec"]["securityContext"], json!({}));
    assert_eq!(env_value(&pod, "GRANT_SUDO"), Some(json!("false")));
}

#[test]
fn time_zone_env_only_when_known() {
    let mut world = World::standard();
    world.time_zone = None;
    let pod = world.json(&JobPodConfig::default());
    assert_eq!(env_value(&pod, "TZ"), None);
    assert_eq!(env_value(&pod, "GROUP_ID"), Some(json!("g-1")));
}

#[test]
fn primehub_user_is_the_keycloak_name_and_jupyterhub_user_the_job_spec() {
    let mut world = World::standard();
    world.user = "Alice".to_owned();
    let pod = world.json(&JobPodConfig::default());
    assert_eq!(env_value(&pod, "PRIMEHUB_USER"), Some(json!("Alice")));
    assert_eq!(env_value(&pod, "JUPYTERHUB_USER"), Some(json!("alice")));
}

#[test]
fn operator_placement_merges_after_instance_type() {
    let world = World::standard();
    let toleration: Toleration = object(json!({"key": "dedicated", "operator": "Equal",
        "value": "jobs", "effect": "NoSchedule"}));
    let affinity = object(
        json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
        {"nodeSelectorTerms": [{"matchExpressions": [{"key": "pool", "operator": "In", "values": ["batch"]}]}]}}}),
    );
    let pod = world.json(&JobPodConfig {
        node_selector: BTreeMap::from([
            ("component".to_owned(), "batch-gpu".to_owned()),
            ("zone".to_owned(), "a".to_owned()),
        ]),
        tolerations: vec![toleration],
        affinity: Some(affinity),
        ..JobPodConfig::default()
    });
    assert_eq!(
        pod["spec"]["nodeSelector"],
        json!({"component": "batch-gpu", "zone": "a"})
    );
    assert_eq!(
        pod["spec"]["tolerations"],
        json!([{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
               {"key": "dedicated", "operator": "Equal", "value": "jobs", "effect": "NoSchedule"}])
    );
    assert_eq!(
        pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
            [0]["matchExpressions"][0]["key"],
        "pool"
    );
}

#[test]
fn affinity_is_an_empty_object_and_no_node_selector_when_none() {
    let mut world = World::standard();
    world.job.spec.instance_type = "cpu-1".to_owned();
    let pod = world.json(&JobPodConfig::default());
    assert_eq!(pod["spec"]["affinity"], json!({}));
    assert!(pod["spec"].get("nodeSelector").is_none());
    assert!(pod["spec"].get("tolerations").is_none());
    assert_eq!(
        main_container(&pod)["resources"],
        json!({"limits": {"cpu": "1", "memory": "2Gi"}})
    );
}

#[test]
fn restart_policy_never_and_shm_in_memory() {
    let pod = World::standard().json(&JobPodConfig::default());
    assert_eq!(pod["spec"]["restartPolicy"], "Never");
    let volumes = pod["spec"]["volumes"].as_array().expect("volumes");
    assert_eq!(
        volumes.last(),
        Some(&json!({"name": "dshm", "emptyDir": {"medium": "Memory"}}))
    );
}

#[test]
fn sentinel_is_the_last_init_container() {
    let pod = World::standard().json(&JobPodConfig::default());
    let inits = pod["spec"]["initContainers"].as_array().expect("inits");
    assert_eq!(
        inits.last(),
        Some(
            &json!({"name": "admission-is-not-found", "image": "admission-is-not-found",
            "imagePullPolicy": "Never", "command": ["false"]})
        )
    );
}

// ---------------------------------------------------------------------------------------------
// metadata

#[test]
fn labels_replaced_annotations_kept_plus_usage() {
    let pod = World::standard().json(&JobPodConfig::default());
    assert_eq!(
        pod["metadata"]["labels"],
        json!({"app": "primehub-job", "primehub.io/group": "escaped-phusers",
            "primehub.io/user": "escaped-alice"})
    );
    assert_eq!(pod["metadata"]["annotations"]["note"], "from a schedule");
    let usage: Value = serde_json::from_str(
        pod["metadata"]["annotations"]["primehub.io/usage"]
            .as_str()
            .expect("usage"),
    )
    .expect("usage is JSON");
    assert_eq!(
        usage,
        json!({"component": "job", "component_name": JOB, "instance_type": "gpu-1",
            "group": "phusers", "user": "alice"})
    );
}

#[test]
fn usage_annotation_escapes_html_like_go() {
    let mut world = World::standard();
    world.job.spec.user_name = Some("a<b>&c".to_owned());
    let pod = world.json(&JobPodConfig::default());
    let usage = pod["metadata"]["annotations"]["primehub.io/usage"]
        .as_str()
        .expect("usage")
        .to_owned();
    assert!(
        usage.ends_with(r#""user":"a\u003cb\u003e\u0026c"}"#),
        "{usage}"
    );
}

#[test]
fn labels_escape_group_and_user() {
    let mut world = World::standard();
    world.job.spec.group_name = "Team_A".to_owned();
    world.group_mut("Team_A").1.push("it:gpu-1".to_owned());
    let pod = world.json(&JobPodConfig::default());
    assert_eq!(
        pod["metadata"]["labels"]["primehub.io/group"],
        "escaped--54eam-5f-41"
    );
}

#[test]
fn pod_is_named_after_the_job_and_owned_by_it() {
    let pod = World::standard().json(&JobPodConfig::default());
    assert_eq!(pod["metadata"]["name"], JOB);
    assert_eq!(pod["metadata"]["namespace"], "hub");
    let owner = &pod["metadata"]["ownerReferences"][0];
    assert_eq!(owner["controller"], true);
    assert_eq!(owner["blockOwnerDeletion"], true);
    assert_eq!(owner["kind"], "PhJob");
}

#[test]
fn job_without_uid_or_name_is_an_error() {
    let mut world = World::standard();
    world.job.metadata.uid = None;
    let err = world.build(&JobPodConfig::default()).expect_err("no uid");
    assert!(
        matches!(err, Error::InvalidField { ref field, .. } if field.ends_with("metadata.uid"))
    );
    world.job.metadata.name = None;
    let err = world.build(&JobPodConfig::default()).expect_err("no name");
    assert!(
        matches!(err, Error::InvalidField { ref field, .. } if field.ends_with("metadata.name"))
    );
}

// ---------------------------------------------------------------------------------------------
// the webhook counts what the instance type charges

fn any_instance_type() -> impl Strategy<Value = InstanceType> {
    (
        1u64..64_000,
        1u64..(1 << 20),
        prop_oneof![
            Just("G"),
            Just("Gi"),
            Just("M"),
            Just("Mi"),
            Just("K"),
            Just("")
        ],
        0i64..9,
        prop_oneof![
            Just(None),
            Just(Some("amd.com/gpu")),
            Just(Some("gpu.intel.com/i915")),
            Just(Some("example.com/fpga"))
        ],
        proptest::option::of(0u64..64_000),
    )
        .prop_map(|(cpu_millis, mem, unit, gpu, vendor, req_cpu)| {
            let mut spec = json!({
                "limits.cpu": serde_json::Number::from_f64(cpu_millis as f64 / 1000.0),
                "limits.memory": format!("{mem}{unit}"),
            });
            match vendor {
                None => spec["limits.nvidia.com/gpu"] = json!(gpu),
                Some(resource) => {
                    spec["limits.gpu"] = json!(gpu);
                    spec["gpuResourceName"] = json!(resource);
                }
            }
            if let Some(r) = req_cpu.filter(|r| *r <= cpu_millis) {
                spec["requests.cpu"] = json!(serde_json::Number::from_f64(r as f64 / 1000.0));
            }
            instance_type("gpu-1", spec)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn pod_limits_are_what_the_webhook_counts(it in any_instance_type()) {
        let mut world = World::standard();
        world.instance_types[0] = it.clone();
        let pod = world.build(&JobPodConfig::default()).expect("builds");
        let spec = pod.spec.as_ref().expect("spec");
        let expected = InstanceTypeResources::from_instance_type(&it).expect("valid");
        prop_assert_eq!(pod_request(spec).expect("countable"), expected.limits());
        prop_assert_eq!(spec.containers[0].resources.clone(), Some(expected.requirements()));
    }
}
