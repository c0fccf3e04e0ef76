//! The notebook pod (primehub-controllers.md §5; InfuseAI/primehub
//! `chart/scripts/jupyterhub/config/jupyterhub_profiles.py`): one golden set of parts, then one
//! test per rule, named after it, and the property that the webhook counts what the instance type
//! charges.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{EnvVar, Pod};
use primehub_model::Error;
use primehub_model::attributes::{Capacity, GroupAttributes};
use primehub_model::binding::Catalog;
use primehub_model::crd::dataset::Dataset;
use primehub_model::crd::image::Image;
use primehub_model::crd::instance_type::InstanceType;
use primehub_model::pod::InstanceTypeResources;
use primehub_model::pod::job::UserGroup;
use primehub_model::pod::notebook::{
    KubeSpawnerNames, KubeSpawnerPod, NotebookOptions, NotebookParts, NotebookPodConfig,
    NotebookPodInput, NotebookUser, build_notebook_parts, resolve_notebook,
};
use primehub_model::quota::{PodCharge, pod_request};
use primehub_model::roles::RoleNaming;
use proptest::prelude::*;
use serde_json::{Value, json};

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

fn shared(
    capacity: Option<u64>,
    launch_group_only: Option<bool>,
    home_symlink: Option<bool>,
) -> GroupAttributes {
    GroupAttributes {
        enabled_shared_volume: Some(true),
        shared_volume_capacity: capacity.map(Capacity::new),
        launch_group_only,
        home_symlink,
        ..GroupAttributes::default()
    }
}

/// A user, their groups, the resources that exist and a launch choice.
struct World {
    user: String,
    volume_capacity: Option<Capacity>,
    time_zone: Option<String>,
    default_capacity: Option<Capacity>,
    groups: Vec<(String, Vec<String>, GroupAttributes)>,
    images: Vec<Image>,
    instance_types: Vec<InstanceType>,
    datasets: Vec<Dataset>,
    launch_group: String,
    instance_type: String,
    image: String,
    options: NotebookOptions,
    names: KubeSpawnerNames,
}

impl World {
    /// alice launches `gpu-1` with image `tf` in `phusers`; she is also in `research` (a shared
    /// volume any launch mounts, no home link; a dataset not launch-group-only and one that is)
    /// and `Team_A` (a launch-group-only volume).
    fn standard() -> World {
        World {
            user: "alice".to_owned(),
            volume_capacity: Some(Capacity::new(5)),
            time_zone: Some("Asia/Taipei".to_owned()),
            default_capacity: Some(Capacity::new(10)),
            groups: vec![
                (
                    "everyone".to_owned(),
                    roles(&["img:tf", "it:cpu-1", "ds:repo"]),
                    GroupAttributes::default(),
                ),
                (
                    "phusers".to_owned(),
                    roles(&["it:gpu-1", "ds:rw:mnist", "ds:cfg", "ds:share", "ds:hp"]),
                    shared(Some(100), None, None),
                ),
                (
                    "research".to_owned(),
                    roles(&["ds:private", "ds:secret"]),
                    shared(Some(50), Some(false), Some(false)),
                ),
                ("Team_A".to_owned(), vec![], shared(Some(1), None, None)),
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
                instance_type("cpu-1", json!({"limits.cpu": 0.5, "limits.memory": "1G"})),
            ],
            datasets: vec![
                dataset(
                    "mnist",
                    json!({"dataset.primehub.io/homeSymlink": "true"}),
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
                    json!({"dataset.primehub.io/mountRoot": "/srv/data"}),
                    json!({"type": "hostPath", "hostPath": {"path": "/data/hp"}}),
                ),
                dataset(
                    "private",
                    json!({"dataset.primehub.io/launchGroupOnly": "false"}),
                    json!({"type": "pv", "volumeName": "private"}),
                ),
                dataset(
                    "secret",
                    json!({"dataset.primehub.io/launchGroupOnly": "true"}),
                    json!({"type": "pv", "volumeName": "secret"}),
                ),
            ],
            launch_group: "phusers".to_owned(),
            instance_type: "gpu-1".to_owned(),
            image: "tf".to_owned(),
            options: NotebookOptions::default(),
            names: KubeSpawnerNames::default_for("alice"),
        }
    }

    fn with_input<R>(&self, f: impl FnOnce(&NotebookPodInput<'_>) -> R) -> R {
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
        let input = NotebookPodInput {
            user: NotebookUser {
                name: &self.user,
                volume_capacity: self.volume_capacity,
                time_zone: self.time_zone.as_deref(),
            },
            default_user_volume_capacity: self.default_capacity,
            groups: &groups,
            launch_group: &self.launch_group,
            launch_group_id: "g-1",
            instance_type: &self.instance_type,
            image: &self.image,
            options: self.options,
            naming: &naming,
            resources: &catalog,
            spawner: &self.names,
            launch_id: "launch-1",
        };
        f(&input)
    }

    fn build(&self, config: &NotebookPodConfig) -> Result<NotebookParts, Error> {
        self.with_input(|input| build_notebook_parts(input, config))
    }

    fn parts(&self) -> NotebookParts {
        self.build(&NotebookPodConfig::default())
            .expect("the parts build")
    }

    fn json(&self, config: &NotebookPodConfig) -> Value {
        serde_json::to_value(self.build(config).expect("the parts build")).expect("serialises")
    }

    fn pod(&self, config: &NotebookPodConfig) -> Pod {
        self.build(config)
            .expect("the parts build")
            .to_pod(&KubeSpawnerPod {
                name: &self.names.pod_name,
                namespace: "hub",
                ..KubeSpawnerPod::default()
            })
    }

    fn group_mut(&mut self, name: &str) -> &mut (String, Vec<String>, GroupAttributes) {
        self.groups
            .iter_mut()
            .find(|g| g.0 == name)
            .expect("group exists")
    }

    fn dataset_mut(&mut self, name: &str) -> &mut Dataset {
        self.datasets
            .iter_mut()
            .find(|d| d.metadata.name.as_deref() == Some(name))
            .expect("dataset exists")
    }
}

fn env(parts: &NotebookParts) -> Vec<(String, String)> {
    parts
        .env
        .iter()
        .map(|e| (e.name.clone(), e.value.clone().unwrap_or_default()))
        .collect()
}

fn env_value(parts: &NotebookParts, name: &str) -> Option<String> {
    parts
        .env
        .iter()
        .find(|e| e.name == name)
        .and_then(|e| e.value.clone())
}

fn volume_names(parts: &NotebookParts) -> Vec<String> {
    parts.volumes.iter().map(|v| v.name.clone()).collect()
}

fn mount(parts: &NotebookParts, name: &str) -> Option<Value> {
    parts
        .volume_mounts
        .iter()
        .find(|m| m.name == name)
        .map(|m| serde_json::to_value(m).expect("serialises"))
}

fn volume(parts: &NotebookParts, name: &str) -> Option<Value> {
    parts
        .volumes
        .iter()
        .find(|v| v.name == name)
        .map(|v| serde_json::to_value(v).expect("serialises"))
}

fn hook(parts: &NotebookParts, post_start: bool) -> Vec<String> {
    let handler = if post_start {
        parts.lifecycle.post_start.as_ref()
    } else {
        parts.lifecycle.pre_stop.as_ref()
    };
    handler
        .and_then(|h| h.exec.as_ref())
        .and_then(|e| e.command.clone())
        .expect("exec hook")
}

fn symlinks(parts: &NotebookParts) -> Vec<String> {
    let command = hook(parts, true);
    assert_eq!(command[..2], ["bash", "-c"]);
    command[2].split(';').map(str::to_owned).collect()
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

// ---------------------------------------------------------------------------------------------
// golden

#[test]
fn golden_notebook_parts_for_a_gpu_launch() {
    let world = World::standard();
    let parts = world.json(&NotebookPodConfig::default());
    let expected = json!({
        "launchGroup": "phusers",
        "image": "infuseai/tf:2.4-gpu",
        "imagePullSecrets": [{"name": "registry-cred"}],
        "cmd": ["/opt/primehub-start-notebook/primehub-entrypoint.sh"],
        "resources": {
            "limits": {"cpu": "2", "memory": "7Gi", "nvidia.com/gpu": "1"},
            "requests": {"cpu": "1500m", "memory": "5Gi"}
        },
        "volumes": [
            {"name": "volume-alice", "persistentVolumeClaim": {"claimName": "claim-alice"}},
            {"name": "dataset-hp", "hostPath": {"path": "/data/hp"}},
            {"name": "dataset-mnist", "persistentVolumeClaim": {"claimName": "dataset-mnist-v", "readOnly": false}},
            {"name": "dataset-private", "persistentVolumeClaim": {"claimName": "dataset-private", "readOnly": true}},
            {"name": "dataset-repo", "hostPath": {"path": "/home/dataset/repo"}},
            {"name": "dataset-share", "nfs": {"path": "/exports/share", "server": "10.0.0.2"}},
            {"name": "project-phusers", "persistentVolumeClaim": {"claimName": "project-phusers"}},
            {"name": "project-research", "persistentVolumeClaim": {"claimName": "project-research"}},
            {"name": "primehub-start-notebook", "configMap": {"name": "primehub-start-notebook", "defaultMode": 511}}
        ],
        "volumeMounts": [
            {"name": "volume-alice", "mountPath": "/home/jovyan"},
            {"name": "dataset-hp", "mountPath": "/srv/data/hp", "readOnly": true},
            {"name": "dataset-mnist", "mountPath": "/datasets/mnist", "readOnly": false},
            {"name": "dataset-private", "mountPath": "/datasets/private", "readOnly": true},
            {"name": "dataset-repo", "mountPath": "/gitsync/repo", "readOnly": true},
            {"name": "dataset-share", "mountPath": "/datasets/share", "readOnly": true},
            {"name": "project-phusers", "mountPath": "/project/phusers"},
            {"name": "project-research", "mountPath": "/project/research"},
            {"name": "primehub-start-notebook", "mountPath": "/opt/primehub-start-notebook"}
        ],
        "env": [
            {"name": "TZ", "value": "Asia/Taipei"},
            {"name": "GROUP_ID", "value": "g-1"},
            {"name": "GROUP_NAME", "value": "phusers"},
            {"name": "INSTANCE_TYPE", "value": "gpu-1"},
            {"name": "IMAGE_NAME", "value": "tf"},
            {"name": "GRANT_SUDO", "value": "yes"},
            // Keys in name order: upper case first.
            {"name": "CFG_LEVEL", "value": "3"},
            {"name": "CFG_API-KEY", "value": "s3cr3t"},
            {"name": "CFG_API_KEY", "value": "s3cr3t"},
            {"name": "CHOWN_EXTRA", "value": "/datasets/mnist,/project/phusers,/project/research,/home/jovyan"}
        ],
        "lifecycle": {
            "postStart": {"exec": {"command": ["bash", "-c",
                "ln -sf /datasets /home/jovyan/;ln -sf /datasets/mnist /home/jovyan/;mkdir -p /datasets/;ln -sf /gitsync/repo/repo /datasets/repo;ln -sf /project/phusers /home/jovyan/"]}},
            "preStop": {"exec": {"command": ["bash", "-c", "chown -R 1000:100 /home/jovyan/.local/share/jupyter || true"]}}
        },
        "labels": {
            "primehub.io/user": "escaped-alice",
            "primehub.io/group": "escaped-phusers",
            "project": "phusers"
        },
        "annotations": {
            "auditing.launch_id": "launch-1",
            "auditing.pod_name": "jupyter-alice",
            "auditing.user_name": "alice",
            "auditing.launch_group_name": "phusers",
            "auditing.instance_type": "gpu-1",
            "auditing.image": "infuseai/tf:2.4-gpu",
            "auditing.cpu_limit": "2.0",
            "auditing.mem_limit": "7516192768",
            "auditing.gpu_limit": "1",
            "primehub.io/usage": "{\"component\": \"notebook\", \"component_name\": \"jupyter-alice\", \"group\": \"phusers\", \"user\": \"alice\", \"instance_type\": \"gpu-1\"}"
        },
        "initContainers": [
            {"name": "admission-is-not-found", "image": "admission-is-not-found",
             "imagePullPolicy": "Never", "command": ["false"]}
        ],
        "extraContainers": [],
        "nodeSelector": {"component": "gpu"},
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        "shareProcessNamespace": false,
        "restartPolicy": "OnFailure",
        "storageCapacity": "5Gi",
        "homePvc": {
            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "claim-alice"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}}}
        }
    });
    assert_eq!(parts, expected);
}

#[test]
fn parts_round_trip_through_json() {
    let parts = World::standard().parts();
    let text = serde_json::to_string(&parts).expect("serialises");
    let back: NotebookParts = serde_json::from_str(&text).expect("deserialises");
    assert_eq!(back, parts);
}

#[test]
fn to_pod_merges_kubespawners_share_and_is_a_kubernetes_pod() {
    let world = World::standard();
    let parts = world.parts();
    let spawner_labels = BTreeMap::from([
        ("app".to_owned(), "jupyterhub".to_owned()),
        ("component".to_owned(), "singleuser-server".to_owned()),
    ]);
    let spawner_env = vec![
        EnvVar {
            name: "JUPYTERHUB_API_TOKEN".to_owned(),
            value: Some("t".to_owned()),
            value_from: None,
        },
        EnvVar {
            name: "TZ".to_owned(),
            value: Some("Europe/Paris".to_owned()),
            value_from: None,
        },
    ];
    let args = strings(&["--ip=0.0.0.0", "--port=8888"]);
    let pod = parts.to_pod(&KubeSpawnerPod {
        name: "jupyter-alice",
        namespace: "hub",
        args: &args,
        env: &spawner_env,
        labels: Some(&spawner_labels),
    });
    let value = serde_json::to_value(&pod).expect("serialises");
    let back: Pod = serde_json::from_value(value.clone()).expect("a Kubernetes pod");
    assert_eq!(back, pod);
    assert_eq!(value["metadata"]["name"], "jupyter-alice");
    assert_eq!(value["metadata"]["namespace"], "hub");
    let labels = &value["metadata"]["labels"];
    assert_eq!(labels["app"], "jupyterhub");
    assert_eq!(labels["primehub.io/group"], "escaped-phusers");
    let spec = &value["spec"];
    let notebook = &spec["containers"][0];
    assert_eq!(notebook["name"], "notebook");
    assert_eq!(
        notebook["command"],
        json!([
            "/opt/primehub-start-notebook/primehub-entrypoint.sh",
            "--ip=0.0.0.0",
            "--port=8888"
        ])
    );
    assert_eq!(notebook["ports"][0]["containerPort"], 8888);
    // KubeSpawner's variables first; PrimeHub's set over them in place.
    let names: Vec<&str> = notebook["env"]
        .as_array()
        .expect("env")
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert_eq!(names[..3], ["JUPYTERHUB_API_TOKEN", "TZ", "GROUP_ID"]);
    assert_eq!(notebook["env"][1]["value"], "Asia/Taipei");
    assert_eq!(spec["restartPolicy"], "OnFailure");
    assert_eq!(spec["imagePullSecrets"], json!([{"name": "registry-cred"}]));
    assert_eq!(spec["initContainers"][0]["name"], "admission-is-not-found");
    assert!(spec.get("shareProcessNamespace").is_none());
}

// ---------------------------------------------------------------------------------------------
// what a launch may use

#[test]
fn group_not_the_users_is_group_not_found() {
    let mut world = World::standard();
    world.launch_group = "strangers".to_owned();
    let err = world.parts_err();
    assert_eq!(err.to_string(), "Group not found: strangers");
    assert!(matches!(err, Error::NotFound { ref field, .. } if field == "group"));
}

#[test]
fn everyone_is_not_a_launch_group() {
    let mut world = World::standard();
    world.launch_group = "everyone".to_owned();
    world.instance_type = "cpu-1".to_owned();
    let err = world.parts_err();
    assert!(
        matches!(err, Error::InvalidField { ref field, .. } if field == "group"),
        "{err}"
    );
}

#[test]
fn instance_type_not_granted_to_the_launch_group_is_not_found() {
    let mut world = World::standard();
    // gpu-1 is bound to phusers only.
    world.launch_group = "research".to_owned();
    let err = world.parts_err();
    assert_eq!(err.to_string(), "InstanceType not found: gpu-1");
    assert!(matches!(err, Error::NotFound { ref field, .. } if field == "instance_type"));
    // An instance type that does not exist is the same error.
    world.instance_type = "ghost".to_owned();
    assert_eq!(
        world.parts_err().to_string(),
        "InstanceType not found: ghost"
    );
}

#[test]
fn image_not_granted_to_the_launch_group_is_not_found() {
    let mut world = World::standard();
    world.group_mut("everyone").1 = roles(&["it:cpu-1", "ds:repo"]);
    let err = world.parts_err();
    assert_eq!(err.to_string(), "Image not found: tf");
    assert!(matches!(err, Error::NotFound { ref field, .. } if field == "image"));
}

#[test]
fn instance_type_and_image_of_everyone_are_granted_to_every_group() {
    let mut world = World::standard();
    world.launch_group = "Team_A".to_owned();
    world.instance_type = "cpu-1".to_owned();
    let parts = world.parts();
    assert_eq!(parts.image, "infuseai/tf:2.4");
    assert_eq!(env_value(&parts, "INSTANCE_TYPE").as_deref(), Some("cpu-1"));
}

#[test]
fn resolution_matches_the_binding_module() {
    let world = World::standard();
    let names: Vec<(String, bool)> = world.with_input(|input| {
        resolve_notebook(input)
            .expect("resolves")
            .datasets
            .iter()
            .map(|d| {
                (
                    d.dataset.metadata.name.clone().unwrap_or_default(),
                    d.writable,
                )
            })
            .collect()
    });
    let names: Vec<(&str, bool)> = names.iter().map(|(n, w)| (n.as_str(), *w)).collect();
    assert_eq!(
        names,
        [
            ("cfg", false),
            ("hp", false),
            ("mnist", true),
            ("private", false),
            ("repo", false),
            ("share", false)
        ]
    );
    // binding::launchable gives the same datasets for the same user and launch group.
    let groups: Vec<primehub_model::binding::GroupRoles<'_>> = world
        .groups
        .iter()
        .map(|(name, roles, _)| primehub_model::binding::GroupRoles { name, roles })
        .collect();
    let catalog = Catalog {
        images: &world.images,
        instance_types: &world.instance_types,
        datasets: &world.datasets,
    };
    let launchable =
        primehub_model::binding::launchable(&groups, "phusers", &RoleNaming::default(), &catalog)
            .expect("launchable");
    let bound: Vec<(&str, bool)> = launchable
        .datasets
        .iter()
        .map(|d| (d.name.as_str(), d.writable))
        .collect();
    assert_eq!(bound, names);
}

impl World {
    fn parts_err(&self) -> Error {
        self.build(&NotebookPodConfig::default())
            .expect_err("the parts are refused")
    }
}

// ---------------------------------------------------------------------------------------------
// resources, image, placement

#[test]
fn resources_are_the_instance_types_exact_quantities_requests_only_above_zero() {
    let mut world = World::standard();
    world.instance_type = "cpu-1".to_owned();
    let parts = world.parts();
    assert_eq!(
        serde_json::to_value(&parts.resources).expect("serialises"),
        json!({"limits": {"cpu": "500m", "memory": "1Gi"}})
    );
}

#[test]
fn gpu_image_url_rule_urlforgpu_with_a_gpu_url_without() {
    let mut world = World::standard();
    assert_eq!(world.parts().image, "infuseai/tf:2.4-gpu");
    world.instance_type = "cpu-1".to_owned();
    assert_eq!(world.parts().image, "infuseai/tf:2.4");
    // A GPU launch of an image without urlForGpu runs its url.
    world.instance_type = "gpu-1".to_owned();
    world.images[0].spec.url_for_gpu = None;
    assert_eq!(world.parts().image, "infuseai/tf:2.4");
}

#[test]
fn pull_secret_becomes_image_pull_secrets_only_when_set() {
    let mut world = World::standard();
    assert_eq!(world.parts().image_pull_secrets[0].name, "registry-cred");
    world.images[0].spec.pull_secret = None;
    assert!(world.parts().image_pull_secrets.is_empty());
}

#[test]
fn vendor_neutral_gpu_limit_image_and_visible_devices() {
    let mut world = World::standard();
    world.instance_types[0] = instance_type(
        "gpu-1",
        json!({"limits.cpu": 2, "limits.memory": "4G", "gpuResourceName": "amd.com/gpu", "limits.gpu": 2}),
    );
    let parts = world.parts();
    let limits = parts.resources.limits.clone().expect("limits");
    assert_eq!(limits["amd.com/gpu"].0, "2");
    assert!(!limits.contains_key("nvidia.com/gpu"));
    assert_eq!(parts.image, "infuseai/tf:2.4-gpu");
    assert_eq!(env_value(&parts, "NVIDIA_VISIBLE_DEVICES"), None);
    assert_eq!(parts.annotations["auditing.gpu_limit"], "2");
}

#[test]
fn nvidia_visible_devices_none_only_without_a_gpu() {
    let mut world = World::standard();
    assert_eq!(env_value(&world.parts(), "NVIDIA_VISIBLE_DEVICES"), None);
    world.instance_type = "cpu-1".to_owned();
    let parts = world.parts();
    assert_eq!(
        env_value(&parts, "NVIDIA_VISIBLE_DEVICES").as_deref(),
        Some("none")
    );
    // After GRANT_SUDO, before the datasets' variables.
    let names: Vec<String> = env(&parts).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names[5..7],
        strings(&["GRANT_SUDO", "NVIDIA_VISIBLE_DEVICES"])
    );
}

#[test]
fn node_selector_and_tolerations_come_from_the_instance_type() {
    let mut world = World::standard();
    let parts = world.parts();
    assert_eq!(parts.node_selector["component"], "gpu");
    assert_eq!(parts.tolerations.len(), 1);
    let pod = world.pod(&NotebookPodConfig::default());
    let spec = pod.spec.expect("spec");
    assert_eq!(spec.node_selector, Some(parts.node_selector.clone()));
    assert_eq!(spec.tolerations, Some(parts.tolerations.clone()));
    world.instance_type = "cpu-1".to_owned();
    let parts = world.parts();
    assert!(parts.node_selector.is_empty() && parts.tolerations.is_empty());
    let spec = world.pod(&NotebookPodConfig::default()).spec.expect("spec");
    assert_eq!((spec.node_selector, spec.tolerations), (None, None));
}

// ---------------------------------------------------------------------------------------------
// environment

#[test]
fn env_tz_group_instance_type_image_and_grant_sudo() {
    let mut world = World::standard();
    let parts = world.parts();
    assert_eq!(
        env(&parts)[..6],
        [
            ("TZ".to_owned(), "Asia/Taipei".to_owned()),
            ("GROUP_ID".to_owned(), "g-1".to_owned()),
            ("GROUP_NAME".to_owned(), "phusers".to_owned()),
            ("INSTANCE_TYPE".to_owned(), "gpu-1".to_owned()),
            ("IMAGE_NAME".to_owned(), "tf".to_owned()),
            ("GRANT_SUDO".to_owned(), "yes".to_owned()),
        ]
    );
    world.time_zone = None;
    let config = NotebookPodConfig {
        grant_sudo: false,
        ..NotebookPodConfig::default()
    };
    let parts = world.build(&config).expect("builds");
    assert_eq!(env_value(&parts, "TZ").as_deref(), Some("UTC"));
    assert_eq!(env_value(&parts, "GRANT_SUDO").as_deref(), Some("no"));
    world.time_zone = Some(String::new());
    assert_eq!(env_value(&world.parts(), "TZ").as_deref(), Some("UTC"));
}

#[test]
fn chown_extra_lists_writable_datasets_group_volumes_phfs_then_home() {
    let mut world = World::standard();
    // Writable hostPath and nfs datasets (rw through the launch group) are chowned too; a
    // writable git dataset never is.
    world.group_mut("phusers").1 = roles(&[
        "it:gpu-1",
        "ds:rw:mnist",
        "ds:rw:share",
        "ds:rw:hp",
        "ds:rw:repo",
    ]);
    let config = NotebookPodConfig {
        phfs_enabled: true,
        phfs_pvc: "primehub-store".to_owned(),
        ..NotebookPodConfig::default()
    };
    let parts = world.build(&config).expect("builds");
    assert_eq!(
        env_value(&parts, "CHOWN_EXTRA").as_deref(),
        Some(
            "/srv/data/hp,/datasets/mnist,/datasets/share,/project/phusers,/project/research,/phfs,/home/jovyan"
        )
    );
    assert_eq!(
        mount(&parts, "dataset-repo").expect("git")["readOnly"],
        true
    );
}

// ---------------------------------------------------------------------------------------------
// datasets

#[test]
fn datasets_role_filtered_with_the_launch_group_only_rule() {
    let mut world = World::standard();
    let parts = world.parts();
    let names = volume_names(&parts);
    // `private` (research, not launch-group-only) is mounted; `secret` (research,
    // launch-group-only) is not; global `repo` is.
    assert!(names.contains(&"dataset-private".to_owned()));
    assert!(!names.contains(&"dataset-secret".to_owned()));
    assert!(names.contains(&"dataset-repo".to_owned()));
    // Launched in research, `secret` is mounted, and so is phusers' `mnist` (not
    // launch-group-only).
    world.launch_group = "research".to_owned();
    world.instance_type = "cpu-1".to_owned();
    let names = volume_names(&world.parts());
    assert!(names.contains(&"dataset-secret".to_owned()));
    assert!(names.contains(&"dataset-mnist".to_owned()), "{names:?}");
    // A launch-group-only dataset of another group stays out.
    world.dataset_mut("mnist").metadata.annotations = Some(BTreeMap::from([(
        "dataset.primehub.io/launchGroupOnly".to_owned(),
        "true".to_owned(),
    )]));
    assert!(!volume_names(&world.parts()).contains(&"dataset-mnist".to_owned()));
    // A global dataset is mounted whatever its flag.
    world.dataset_mut("repo").metadata.annotations = Some(BTreeMap::from([(
        "dataset.primehub.io/launchGroupOnly".to_owned(),
        "true".to_owned(),
    )]));
    assert!(volume_names(&world.parts()).contains(&"dataset-repo".to_owned()));
}

#[test]
fn dataset_without_a_role_is_not_mounted() {
    let mut world = World::standard();
    world.group_mut("research").1.clear();
    let names = volume_names(&world.parts());
    assert!(!names.contains(&"dataset-private".to_owned()));
}

#[test]
fn dataset_writable_through_the_launch_group_or_globally() {
    let mut world = World::standard();
    // rw in another group only: read-only here.
    world.group_mut("research").1 = roles(&["ds:rw:private"]);
    let parts = world.parts();
    assert_eq!(
        mount(&parts, "dataset-private").expect("mounted")["readOnly"],
        true
    );
    assert_eq!(
        volume(&parts, "dataset-private").expect("mounted")["persistentVolumeClaim"]["readOnly"],
        true
    );
    // rw globally: writable.
    world
        .group_mut("everyone")
        .1
        .push("ds:rw:private".to_owned());
    let parts = world.parts();
    assert_eq!(
        mount(&parts, "dataset-private").expect("mounted")["readOnly"],
        false
    );
    assert!(
        env_value(&parts, "CHOWN_EXTRA")
            .expect("chown")
            .contains("/datasets/private")
    );
}

#[test]
fn pv_dataset_mounts_its_claim_at_mount_root_with_read_only_written() {
    let parts = World::standard().parts();
    assert_eq!(
        mount(&parts, "dataset-mnist"),
        Some(json!({"name": "dataset-mnist", "mountPath": "/datasets/mnist", "readOnly": false}))
    );
    assert_eq!(
        volume(&parts, "dataset-mnist"),
        Some(
            json!({"name": "dataset-mnist", "persistentVolumeClaim": {"claimName": "dataset-mnist-v", "readOnly": false}})
        )
    );
}

#[test]
fn pv_legacy_hostpath_volume_name_is_a_host_path() {
    let mut world = World::standard();
    world.dataset_mut("mnist").spec.volume_name = Some("hostpath:/mnt/legacy".to_owned());
    let parts = world.parts();
    assert_eq!(
        volume(&parts, "dataset-mnist"),
        Some(json!({"name": "dataset-mnist", "hostPath": {"path": "/mnt/legacy"}}))
    );
}

#[test]
fn git_dataset_mounted_under_gitsync_with_its_symlink() {
    let mut world = World::standard();
    let parts = world.parts();
    assert_eq!(
        mount(&parts, "dataset-repo"),
        Some(json!({"name": "dataset-repo", "mountPath": "/gitsync/repo", "readOnly": true}))
    );
    let links = symlinks(&parts);
    assert!(links.contains(&"mkdir -p /datasets/".to_owned()));
    assert!(links.contains(&"ln -sf /gitsync/repo/repo /datasets/repo".to_owned()));
    // The git-sync directories come from the dataset's annotations.
    world.dataset_mut("repo").metadata.annotations = Some(BTreeMap::from([
        (
            "dataset.primehub.io/gitSyncRoot".to_owned(),
            "/git".to_owned(),
        ),
        (
            "dataset.primehub.io/gitSyncHostRoot".to_owned(),
            "/var/git/".to_owned(),
        ),
        (
            "dataset.primehub.io/mountRoot".to_owned(),
            "/data".to_owned(),
        ),
    ]));
    let parts = world.parts();
    assert_eq!(
        volume(&parts, "dataset-repo"),
        Some(json!({"name": "dataset-repo", "hostPath": {"path": "/var/git/repo"}}))
    );
    assert_eq!(
        mount(&parts, "dataset-repo").expect("git")["mountPath"],
        "/git/repo"
    );
    let links = symlinks(&parts);
    assert!(links.contains(&"mkdir -p /data".to_owned()), "{links:?}");
    assert!(links.contains(&"ln -sf /git/repo/repo /data/repo".to_owned()));
}

#[test]
fn host_path_and_nfs_datasets_need_their_path_and_server() {
    let mut world = World::standard();
    world.dataset_mut("share").spec.nfs = None;
    if let Some(h) = world.dataset_mut("hp").spec.host_path.as_mut() {
        h.path.clear();
    }
    world.dataset_mut("share").metadata.annotations = Some(BTreeMap::from([(
        "dataset.primehub.io/homeSymlink".to_owned(),
        "true".to_owned(),
    )]));
    let parts = world.parts();
    let names = volume_names(&parts);
    assert!(!names.contains(&"dataset-share".to_owned()));
    assert!(!names.contains(&"dataset-hp".to_owned()));
    assert!(mount(&parts, "dataset-share").is_none());
    // The hub still links a dataset it did not mount into the home directory.
    assert!(symlinks(&parts).contains(&"ln -sf /datasets/share /home/jovyan/".to_owned()));
    assert_eq!(
        volume(&World::standard().parts(), "dataset-share"),
        Some(
            json!({"name": "dataset-share", "nfs": {"path": "/exports/share", "server": "10.0.0.2"}})
        )
    );
}

#[test]
fn env_dataset_variables_upper_case_with_underscore_copy_set_like_a_dict() {
    let mut world = World::standard();
    world.dataset_mut("cfg").spec.variables = Some(BTreeMap::from([
        ("api-key".to_owned(), Some("s".to_owned())),
        ("__typename".to_owned(), Some("Dataset".to_owned())),
        ("straße".to_owned(), Some("x".to_owned())),
        ("removed".to_owned(), None),
        ("1x".to_owned(), Some("ok".to_owned())),
    ]));
    let parts = world.parts();
    let vars: Vec<(String, String)> = env(&parts)
        .into_iter()
        .filter(|(n, _)| n.starts_with("CFG_"))
        .collect();
    assert_eq!(
        vars,
        [
            ("CFG_1X".to_owned(), "ok".to_owned()),
            ("CFG_API-KEY".to_owned(), "s".to_owned()),
            ("CFG_API_KEY".to_owned(), "s".to_owned()),
            // Python's upper-casing: ß becomes SS.
            ("CFG_STRASSE".to_owned(), "x".to_owned()),
        ]
    );
    // A variable named like one of PrimeHub's replaces its value in place (a dict update).
    world.datasets.push(dataset(
        "group",
        json!({}),
        json!({"type": "env", "variables": {"name": "hijack"}}),
    ));
    world.group_mut("phusers").1.push("ds:group".to_owned());
    let parts = world.parts();
    assert_eq!(
        env(&parts)[2],
        ("GROUP_NAME".to_owned(), "hijack".to_owned())
    );
    assert_eq!(
        parts.env.iter().filter(|e| e.name == "GROUP_NAME").count(),
        1
    );
}

#[test]
fn dataset_home_symlink_only_when_the_annotation_is_true() {
    let mut world = World::standard();
    let links = symlinks(&world.parts());
    assert!(links.contains(&"ln -sf /datasets/mnist /home/jovyan/".to_owned()));
    assert!(!links.iter().any(|l| l.contains("/datasets/share /home")));
    world.dataset_mut("mnist").metadata.annotations = Some(BTreeMap::from([(
        "dataset.primehub.io/homeSymlink".to_owned(),
        "false".to_owned(),
    )]));
    let links = symlinks(&world.parts());
    assert!(!links.iter().any(|l| l.contains("/datasets/mnist /home")));
}

#[test]
fn mount_root_annotation_moves_the_mount() {
    let parts = World::standard().parts();
    assert_eq!(
        mount(&parts, "dataset-hp").expect("hp")["mountPath"],
        "/srv/data/hp"
    );
}

// ---------------------------------------------------------------------------------------------
// group volumes and PHFS

#[test]
fn group_volumes_launch_group_only_by_default_with_home_symlinks() {
    let world = World::standard();
    let parts = world.parts();
    let names = volume_names(&parts);
    assert!(names.contains(&"project-phusers".to_owned()));
    assert!(
        names.contains(&"project-research".to_owned()),
        "not launch-group-only"
    );
    assert!(
        !names.contains(&"project-team-a".to_owned()),
        "launch-group-only"
    );
    let links = symlinks(&parts);
    assert!(links.contains(&"ln -sf /project/phusers /home/jovyan/".to_owned()));
    assert!(
        !links.iter().any(|l| l.contains("/project/research")),
        "home symlink off"
    );
    // Launched in Team_A: its volume is named after the lower-case group path.
    let mut world = world;
    world.launch_group = "Team_A".to_owned();
    world.instance_type = "cpu-1".to_owned();
    let parts = world.parts();
    assert_eq!(
        mount(&parts, "project-team-a"),
        Some(json!({"name": "project-team-a", "mountPath": "/project/team-a"}))
    );
    assert!(!volume_names(&parts).contains(&"project-phusers".to_owned()));
}

#[test]
fn shared_volume_capacity_is_required_even_when_not_mounted() {
    let mut world = World::standard();
    world.group_mut("Team_A").2.shared_volume_capacity = None;
    let err = world.parts_err();
    assert!(
        matches!(err, Error::InvalidField { ref field, .. } if field == "groups/Team_A shared-volume-capacity"),
        "{err}"
    );
    // A capacity of 0 is no capacity (the hub's truth test).
    world.group_mut("Team_A").2.shared_volume_capacity = Some(Capacity::new(0));
    assert!(matches!(world.parts_err(), Error::InvalidField { .. }));
    // Without a shared volume, no capacity is needed.
    world.group_mut("Team_A").2.enabled_shared_volume = Some(false);
    assert!(!volume_names(&world.parts()).contains(&"project-team-a".to_owned()));
}

#[test]
fn phfs_mounted_with_group_subpath_chowned_and_linked_when_enabled() {
    let world = World::standard();
    assert!(!volume_names(&world.parts()).contains(&"phfs".to_owned()));
    let config = NotebookPodConfig {
        phfs_enabled: true,
        phfs_pvc: "primehub-store".to_owned(),
        ..NotebookPodConfig::default()
    };
    let parts = world.build(&config).expect("builds");
    assert_eq!(
        mount(&parts, "phfs"),
        Some(json!({"name": "phfs", "mountPath": "/phfs", "subPath": "groups/phusers"}))
    );
    assert_eq!(
        volume(&parts, "phfs"),
        Some(json!({"name": "phfs", "persistentVolumeClaim": {"claimName": "primehub-store"}}))
    );
    assert_eq!(
        symlinks(&parts).last().map(String::as_str),
        Some("ln -sf /phfs /home/jovyan/")
    );
    // Enabled without a claim: nothing (as for jobs).
    let config = NotebookPodConfig {
        phfs_enabled: true,
        ..NotebookPodConfig::default()
    };
    assert!(!volume_names(&world.build(&config).expect("builds")).contains(&"phfs".to_owned()));
}

#[test]
fn start_notebook_config_map_mounted_when_configured() {
    let config = NotebookPodConfig {
        start_notebook_config_map: Some("my-start".to_owned()),
        ..NotebookPodConfig::default()
    };
    let parts = World::standard().build(&config).expect("builds");
    assert_eq!(volume_names(&parts)[1], "start-notebook-d");
    assert_eq!(
        volume(&parts, "start-notebook-d"),
        Some(json!({"name": "start-notebook-d", "configMap": {"name": "my-start"}}))
    );
    assert_eq!(
        mount(&parts, "start-notebook-d").expect("mounted")["mountPath"],
        "/usr/local/bin/start-notebook.d"
    );
}

#[test]
fn lifecycle_post_start_links_datasets_first_and_pre_stop_chowns_jupyter_files() {
    let parts = World::standard().parts();
    assert_eq!(symlinks(&parts)[0], "ln -sf /datasets /home/jovyan/");
    assert_eq!(
        hook(&parts, false),
        strings(&[
            "bash",
            "-c",
            "chown -R 1000:100 /home/jovyan/.local/share/jupyter || true"
        ])
    );
}

// ---------------------------------------------------------------------------------------------
// metadata, sentinel, options

#[test]
fn labels_escape_user_and_group_and_project_is_the_raw_group() {
    let mut world = World::standard();
    world.user = "Bob.Smith".to_owned();
    world.launch_group = "Team_A".to_owned();
    world.instance_type = "cpu-1".to_owned();
    let parts = world.parts();
    assert_eq!(
        parts.labels,
        BTreeMap::from([
            (
                "primehub.io/user".to_owned(),
                "escaped--42ob-2e-53mith".to_owned()
            ),
            (
                "primehub.io/group".to_owned(),
                "escaped--54eam-5f-41".to_owned()
            ),
            ("project".to_owned(), "Team_A".to_owned()),
        ])
    );
}

#[test]
fn auditing_annotations_and_usage_record_the_launch() {
    let mut world = World::standard();
    world.instance_type = "cpu-1".to_owned();
    world.names.pod_name = "jupyter-alice-2d1".to_owned();
    let parts = world.parts();
    let a = &parts.annotations;
    assert_eq!(a["auditing.launch_id"], "launch-1");
    assert_eq!(a["auditing.pod_name"], "jupyter-alice-2d1");
    assert_eq!(a["auditing.user_name"], "alice");
    assert_eq!(a["auditing.launch_group_name"], "phusers");
    assert_eq!(a["auditing.instance_type"], "cpu-1");
    assert_eq!(a["auditing.image"], "infuseai/tf:2.4");
    assert_eq!(a["auditing.cpu_limit"], "0.5");
    assert_eq!(a["auditing.mem_limit"], "1073741824");
    assert_eq!(a["auditing.gpu_limit"], "0");
    let usage: Value = serde_json::from_str(&a["primehub.io/usage"]).expect("JSON");
    assert_eq!(
        usage,
        json!({"component": "notebook", "component_name": "jupyter-alice-2d1",
               "group": "phusers", "user": "alice", "instance_type": "cpu-1"})
    );
    assert_eq!(a.len(), 10);
}

#[test]
fn sentinel_is_the_last_init_container() {
    let mut world = World::standard();
    let parts = world.parts();
    assert!(parts.has_sentinel());
    assert_eq!(parts.init_containers.len(), 1);
    world.options.kernel_gateway = true;
    let parts = world.build(&kernel_gateway_config()).expect("builds");
    let names: Vec<&str> = parts
        .init_containers
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, ["chown", "admission-is-not-found"]);
}

#[test]
fn ssh_option_sets_env_and_bastion_label_when_the_feature_is_on() {
    let mut world = World::standard();
    world.options.ssh_server = true;
    let err = world.parts_err();
    assert!(
        matches!(err, Error::InvalidField { ref field, .. } if field == "ssh_server"),
        "{err}"
    );
    let config = NotebookPodConfig {
        ssh_server_enabled: true,
        ..NotebookPodConfig::default()
    };
    let parts = world.build(&config).expect("builds");
    assert_eq!(
        env_value(&parts, "PRIMEHUB_START_SSH").as_deref(),
        Some("true")
    );
    assert_eq!(parts.labels["ssh-bastion-server/notebook"], "true");
    world.options.ssh_server = false;
    let parts = world.build(&config).expect("builds");
    assert_eq!(env_value(&parts, "PRIMEHUB_START_SSH"), None);
    assert!(!parts.labels.contains_key("ssh-bastion-server/notebook"));
}

fn kernel_gateway_config() -> NotebookPodConfig {
    NotebookPodConfig {
        kernel_gateway_enabled: true,
        default_image: "infuseai/docker-stacks:base-notebook".to_owned(),
        ..NotebookPodConfig::default()
    }
}

#[test]
fn kernel_gateway_moves_the_image_and_resources_to_a_kernel_container() {
    let mut world = World::standard();
    world.options.kernel_gateway = true;
    world.instance_type = "cpu-1".to_owned();
    assert!(matches!(
        world.parts_err(),
        Error::InvalidField { ref field, .. } if field == "kernel_gateway"
    ));
    let no_image = NotebookPodConfig {
        default_image: String::new(),
        ..kernel_gateway_config()
    };
    assert!(matches!(
        world.build(&no_image).expect_err("refused"),
        Error::InvalidField { ref field, .. } if field == "default_image"
    ));
    let parts = world.build(&kernel_gateway_config()).expect("builds");
    assert_eq!(parts.image, "infuseai/docker-stacks:base-notebook");
    assert_eq!(parts.resources, Default::default());
    assert!(parts.share_process_namespace);
    // No NVIDIA_VISIBLE_DEVICES on the notebook container; the kernel's own says none.
    assert_eq!(env_value(&parts, "NVIDIA_VISIBLE_DEVICES"), None);
    let names: Vec<String> = env(&parts).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names[names.len() - 6..],
        strings(&[
            "JUPYTER_GATEWAY_URL",
            "JUPYTER_GATEWAY_VALIDATE_CERT",
            "LOG_LEVEL",
            "JUPYTER_GATEWAY_REQUEST_TIMEOUT",
            "JUPYTER_GATEWAY_CONNECT_TIMEOUT",
            "KERNEL_IMAGE"
        ])
    );
    assert_eq!(
        env_value(&parts, "KERNEL_IMAGE").as_deref(),
        Some("infuseai/tf:2.4")
    );
    let kernel = serde_json::to_value(&parts.extra_containers[0]).expect("serialises");
    assert_eq!(kernel["name"], "kernel");
    assert_eq!(kernel["image"], "infuseai/tf:2.4");
    assert_eq!(kernel["securityContext"]["runAsUser"], 0);
    assert_eq!(
        kernel["command"],
        json!(["/opt/primehub-start-notebook/kernel_gateway.sh"])
    );
    assert_eq!(
        kernel["resources"],
        json!({"limits": {"cpu": "500m", "memory": "1Gi"}})
    );
    assert_eq!(
        kernel["env"],
        json!([{"name": "JUPYTER_GATEWAY_ENV_WHITELIST", "value": "HOME"},
               {"name": "HOME", "value": "/home/jovyan"},
               {"name": "NVIDIA_VISIBLE_DEVICES", "value": "none"}])
    );
    assert_eq!(
        kernel["volumeMounts"],
        serde_json::to_value(&parts.volume_mounts).expect("serialises")
    );
    assert_eq!(
        kernel["lifecycle"],
        serde_json::to_value(&parts.lifecycle).expect("serialises")
    );
    let chown = serde_json::to_value(&parts.init_containers[0]).expect("serialises");
    assert_eq!(
        chown,
        json!({"name": "chown", "image": "busybox", "imagePullPolicy": "IfNotPresent",
               "securityContext": {"runAsUser": 0},
               "volumeMounts": [{"name": "volume-alice", "mountPath": "/home/jovyan"}],
               "command": ["sh"], "args": ["-c", "chown 1000 /home/jovyan"]})
    );
    let pod = world.pod(&kernel_gateway_config());
    let spec = pod.spec.expect("spec");
    assert_eq!(spec.share_process_namespace, Some(true));
    assert_eq!(spec.containers[0].resources, None);
    assert_eq!(spec.containers[1].name, "kernel");
}

#[test]
fn safe_mode_mounts_home_at_user_and_sets_the_repo2docker_entrypoint() {
    let mut world = World::standard();
    world.options.safe_mode = true;
    let parts = world.parts();
    assert_eq!(
        mount(&parts, "volume-alice"),
        Some(json!({"name": "volume-alice", "mountPath": "/home/jovyan/user"}))
    );
    assert_eq!(
        env(&parts).last().cloned(),
        Some((
            "R2D_ENTRYPOINT".to_owned(),
            "/opt/primehub-start-notebook/primehub-start-notebook.sh".to_owned()
        ))
    );
    // With the kernel gateway, the kernel's mounts move too (the hub shared one list).
    world.options.kernel_gateway = true;
    let parts = world.build(&kernel_gateway_config()).expect("builds");
    let kernel_mounts = parts.extra_containers[0]
        .volume_mounts
        .clone()
        .expect("mounts");
    assert_eq!(kernel_mounts[0].mount_path, "/home/jovyan/user");
}

// ---------------------------------------------------------------------------------------------
// home PVC

#[test]
fn home_pvc_capacity_user_then_system_default_then_20() {
    let mut world = World::standard();
    let parts = world.parts();
    assert_eq!(parts.storage_capacity, "5Gi");
    assert_eq!(parts.home_pvc.metadata.name.as_deref(), Some("claim-alice"));
    world.volume_capacity = None;
    assert_eq!(world.parts().storage_capacity, "10Gi");
    world.volume_capacity = Some(Capacity::new(0));
    assert_eq!(world.parts().storage_capacity, "10Gi");
    world.default_capacity = None;
    let parts = world.parts();
    assert_eq!(parts.storage_capacity, "20Gi");
    let spec = serde_json::to_value(parts.home_pvc.spec).expect("serialises");
    assert_eq!(spec["resources"]["requests"]["storage"], "20Gi");
    let config = NotebookPodConfig {
        home_storage_class: Some("fast".to_owned()),
        ..NotebookPodConfig::default()
    };
    let parts = world.build(&config).expect("builds");
    assert_eq!(
        parts
            .home_pvc
            .spec
            .and_then(|s| s.storage_class_name)
            .as_deref(),
        Some("fast")
    );
}

#[test]
fn kubespawner_names_default_and_empty_names_refused() {
    let names = KubeSpawnerNames::default_for("Alice_1");
    assert_eq!(names.pod_name, "jupyter--41lice-5f1");
    assert_eq!(names.home_volume, "volume--41lice-5f1");
    assert_eq!(names.home_claim, "claim--41lice-5f1");
    let mut world = World::standard();
    world.names.home_claim.clear();
    assert!(matches!(
        world.parts_err(),
        Error::InvalidField { ref field, .. } if field == "home_claim"
    ));
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
    fn pod_container_limits_are_what_the_webhook_counts(
        it in any_instance_type(),
        kernel_gateway in proptest::bool::ANY,
        safe_mode in proptest::bool::ANY,
    ) {
        let mut world = World::standard();
        world.instance_types[0] = it.clone();
        world.options = NotebookOptions { kernel_gateway, safe_mode, ssh_server: false };
        let pod = world.pod(&kernel_gateway_config());
        let expected = InstanceTypeResources::from_instance_type(&it).expect("valid");
        // The webhook's own charge of the pod: its labels and the sum of its containers' limits.
        let charge = PodCharge::of_parts(pod.metadata.labels.as_ref(), pod.spec.as_ref())
            .expect("countable")
            .expect("a PrimeHub pod");
        prop_assert_eq!(charge.group.as_str(), "phusers");
        prop_assert_eq!(charge.user.as_deref(), Some("alice"));
        prop_assert_eq!(charge.amounts, expected.limits());
        let spec = pod.spec.as_ref().expect("spec");
        prop_assert_eq!(pod_request(spec).expect("countable"), expected.limits());
        let carrier = if kernel_gateway { &spec.containers[1] } else { &spec.containers[0] };
        prop_assert_eq!(carrier.resources.clone(), Some(expected.requirements()));
    }
}
