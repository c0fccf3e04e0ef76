//! The git-sync DaemonSet of a git Dataset (PrimeHub's `gitsync` hook, reference
//! `primehub-controllers.md` §3.2).
//!
//! A Dataset gets the DaemonSet `gitsync-<dataset>` when it carries the annotation key
//! `primehub-gitsync` (any value: PrimeHub's DecoratorController selects on the key's
//! existence) and its `spec.type` is `git`; otherwise none, and an existing one is removed.
//! The DaemonSet runs git-sync on every node labelled `gitsync=all`, cloning `spec.url` into
//! `<gitSyncHostRoot>/<dataset>` on the node, where notebooks and jobs mount it read-only.
//!
//! **URL.** `spec.url` is split on its first `#`: the part after it is the branch (default
//! `master`), and `.git` is appended to the repository when missing ([`split_url`]).
//!
//! **Rules** (each an [`Error::InvalidField`](crate::Error::InvalidField) naming the field; PrimeHub renders these into a
//! DaemonSet that cannot work, or one the API server rejects):
//!
//! | field | rule |
//! |---|---|
//! | `spec.url` | present and not empty; no whitespace or control characters |
//! | `spec.url` (branch after `#`) | not empty; a valid git branch name (no spaces, `..`, `~^:?*[\`, `@{`, leading `-`, …) |
//! | `spec.gitsync.secret` | when present, not empty |
//! | `metadata.annotations[dataset.primehub.io/gitSyncHostRoot]` | an absolute path |
//! | `metadata.name` | `gitsync-<name>` fits a label value (≤ 63 characters) |
//!
//! Whether the Secret `spec.gitsync.secret` exists is for the controller to check.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetSpec};
use k8s_openapi::api::core::v1::{
    ConfigMapVolumeSource, Container, EnvVar, HostPathVolumeSource, PodSecurityContext, PodSpec,
    PodTemplateSpec, ResourceRequirements, SecretVolumeSource, Toleration, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use super::{check_derived_name, identity, invalid, map};
use crate::crd::dataset::{ANNOTATION_GIT_SYNC_HOST_ROOT, ANNOTATION_PRIMEHUB_GITSYNC};
use crate::crd::{Dataset, DatasetType};
use crate::error::Result;

/// The branch when `spec.url` names none.
pub const DEFAULT_BRANCH: &str = "master";
/// The host directory when the Dataset has no `dataset.primehub.io/gitSyncHostRoot` (the
/// hook's default, without the trailing slash the spawners' default has).
pub const DEFAULT_HOST_ROOT: &str = "/home/dataset";
/// The ConfigMap holding git-sync's scripts (`git-config.sh`, `init.sh`), made by the chart.
pub const SCRIPTS_CONFIGMAP: &str = "primehub-gitsync-scripts";
/// The pod annotation holding the hash of the scripts, so pods restart when they change.
pub const CHECKSUM_ANNOTATION: &str = "checksum/config";
/// The label (selector and pod label) `name=gitsync-<dataset>`.
pub const LABEL_NAME: &str = "name";
/// The SHA-256 of nothing: the default [`GitSyncConfig::scripts_checksum`].
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// What the chart's values fill into the hook (`gitsync.daemonset.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitSyncConfig {
    /// `gitsync.daemonset.image.repository:tag` (default `registry.k8s.io/git-sync:v3.1.3`).
    pub image: String,
    /// `gitsync.daemonset.image.pullPolicy` (default `IfNotPresent`).
    pub image_pull_policy: String,
    /// `gitsync.daemonset.delayInit`: the init container gets `GIT_SYNC_DELAY_INIT=TRUE`.
    pub delay_init: bool,
    /// The pod annotation `checksum/config`: the chart writes the SHA-256 of its rendered
    /// `scripts/gitsync/*`; set it to the installed chart's value so adopted DaemonSets keep
    /// their pods (default [`EMPTY_SHA256`]).
    pub scripts_checksum: String,
}

impl Default for GitSyncConfig {
    fn default() -> Self {
        GitSyncConfig {
            image: "registry.k8s.io/git-sync:v3.1.3".to_owned(),
            image_pull_policy: "IfNotPresent".to_owned(),
            delay_init: false,
            scripts_checksum: EMPTY_SHA256.to_owned(),
        }
    }
}

/// A git repository and branch, from `spec.url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitRepository {
    /// The repository URL, ending in `.git`.
    pub url: String,
    /// The branch.
    pub branch: String,
}

/// The DaemonSet's name for the Dataset named `dataset`.
pub fn daemonset_name(dataset: &str) -> String {
    format!("gitsync-{dataset}")
}

/// Whether the Dataset asks for a git-sync DaemonSet: the annotation key `primehub-gitsync`
/// exists and the type is `git`.
pub fn wanted(dataset: &Dataset) -> bool {
    dataset.spec.type_ == DatasetType::Git
        && dataset
            .metadata
            .annotations
            .as_ref()
            .is_some_and(|a| a.contains_key(ANNOTATION_PRIMEHUB_GITSYNC))
}

/// The Secret `spec.gitsync.secret` names, if any.
pub fn secret_name(dataset: &Dataset) -> Option<&str> {
    dataset.spec.gitsync.as_ref()?.secret.as_deref()
}

fn bad_text(s: &str) -> bool {
    s.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Why `branch` is not a usable git branch name, if it is not (a subset of
/// `git check-ref-format`).
fn branch_rule(branch: &str) -> Option<&'static str> {
    if branch.is_empty() {
        Some("the branch after '#' is empty")
    } else if bad_text(branch) {
        Some("the branch after '#' contains spaces or control characters")
    } else if branch.contains("..") || branch.contains("@{") || branch.contains("//") {
        Some("the branch after '#' contains '..', '@{' or '//'")
    } else if branch.chars().any(|c| "~^:?*[\\".contains(c)) {
        Some("the branch after '#' contains one of ~ ^ : ? * [ \\")
    } else if branch.starts_with('-') || branch.starts_with('/') {
        Some("the branch after '#' starts with '-' or '/'")
    } else if branch.ends_with('/') || branch.ends_with('.') || branch.ends_with(".lock") {
        Some("the branch after '#' ends with '/', '.' or '.lock'")
    } else {
        None
    }
}

/// Splits `url` as PrimeHub does: on the first `#`, the rest being the branch (default
/// [`DEFAULT_BRANCH`]); `.git` is appended to the repository when missing.
///
/// # Errors
///
/// [`crate::Error::InvalidField`] for `spec.url` when the repository part is empty or has
/// whitespace, or the branch is empty or not a valid branch name.
///
/// ```
/// use primehub_model::dataset_children::gitsync::split_url;
/// let repo = split_url("git@github.com:org/repo#dev")?;
/// assert_eq!((repo.url.as_str(), repo.branch.as_str()), ("git@github.com:org/repo.git", "dev"));
/// assert_eq!(split_url("https://h/r.git")?.branch, "master");
/// assert!(split_url("https://h/r#my branch").is_err());
/// # Ok::<(), primehub_model::Error>(())
/// ```
pub fn split_url(url: &str) -> Result<GitRepository> {
    let (repo, branch) = match url.split_once('#') {
        Some((repo, branch)) => (repo, branch),
        None => (url, DEFAULT_BRANCH),
    };
    if repo.is_empty() {
        return Err(invalid("spec.url", "the repository URL is empty"));
    }
    if bad_text(repo) {
        return Err(invalid(
            "spec.url",
            "the repository URL contains spaces or control characters",
        ));
    }
    if let Some(rule) = branch_rule(branch) {
        return Err(invalid("spec.url", rule));
    }
    let url = if repo.ends_with(".git") {
        repo.to_owned()
    } else {
        format!("{repo}.git")
    };
    Ok(GitRepository {
        url,
        branch: branch.to_owned(),
    })
}

fn env(name: &str, value: &str) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value: Some(value.to_owned()),
        value_from: None,
    }
}

fn mount(path: &str, name: &str, read_only: bool) -> VolumeMount {
    VolumeMount {
        mount_path: path.to_owned(),
        name: name.to_owned(),
        read_only: read_only.then_some(true),
        ..VolumeMount::default()
    }
}

fn quantities(cpu: &str, memory: &str) -> BTreeMap<String, Quantity> {
    BTreeMap::from([
        ("cpu".to_owned(), Quantity(cpu.to_owned())),
        ("memory".to_owned(), Quantity(memory.to_owned())),
    ])
}

/// The host directory the DaemonSet writes into: the annotation
/// `dataset.primehub.io/gitSyncHostRoot`, or [`DEFAULT_HOST_ROOT`] when absent or empty.
///
/// # Errors
///
/// When the annotation is not an absolute path.
pub fn host_root(dataset: &Dataset) -> Result<&str> {
    match dataset
        .annotation(ANNOTATION_GIT_SYNC_HOST_ROOT)
        .filter(|v| !v.is_empty())
    {
        None => Ok(DEFAULT_HOST_ROOT),
        Some(root) if root.starts_with('/') && !bad_text(root) => Ok(root),
        Some(_) => Err(invalid(
            format!("metadata.annotations[{ANNOTATION_GIT_SYNC_HOST_ROOT}]"),
            "must be an absolute path without spaces",
        )),
    }
}

/// The DaemonSet `gitsync-<dataset>` the Dataset asks for, in its namespace, without owner
/// references (the controller adds them); `None` when it asks for none ([`wanted`]).
///
/// # Errors
///
/// The rules in the module documentation, each naming its field.
pub fn desired(dataset: &Dataset, config: &GitSyncConfig) -> Result<Option<DaemonSet>> {
    if !wanted(dataset) {
        return Ok(None);
    }
    let (name, namespace) = identity(dataset)?;
    let ds_name = daemonset_name(name);
    check_derived_name(&ds_name, false)?;
    let url = dataset
        .spec
        .url
        .as_deref()
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| invalid("spec.url", "is required for git datasets (it is empty)"))?;
    let repo = split_url(url)?;
    let secret = match secret_name(dataset) {
        Some("") => {
            return Err(invalid(
                "spec.gitsync.secret",
                "must name a Secret (it is empty)",
            ));
        }
        other => other,
    };
    let host_root = host_root(dataset)?;
    let root = format!("/git/{name}");
    let labels = map([(LABEL_NAME, ds_name.as_str())]);

    let mut env_vars = vec![
        env("GIT_SYNC_REPO", &repo.url),
        env("GIT_SYNC_ROOT", &root),
        env("GIT_SYNC_DEST", name),
        env("GIT_SYNC_DEPTH", "1"),
        env("GIT_SYNC_WAIT", "600"),
        env("GIT_SYNC_BRANCH", &repo.branch),
        env("GIT_SYNC_SSH", if secret.is_some() { "1" } else { "0" }),
        env("GIT_KNOWN_HOSTS", "0"),
    ];
    let mut mounts = vec![
        mount("/git", "git-volume", false),
        mount("/scripts", "scripts", false),
    ];
    let mut volumes = vec![
        Volume {
            name: "git-volume".to_owned(),
            host_path: Some(HostPathVolumeSource {
                path: host_root.to_owned(),
                type_: None,
            }),
            ..Volume::default()
        },
        Volume {
            name: "scripts".to_owned(),
            config_map: Some(ConfigMapVolumeSource {
                name: SCRIPTS_CONFIGMAP.to_owned(),
                ..ConfigMapVolumeSource::default()
            }),
            ..Volume::default()
        },
    ];
    if let Some(secret) = secret {
        mounts.push(mount("/etc/git-secret", "git-cred", true));
        volumes.push(Volume {
            name: "git-cred".to_owned(),
            secret: Some(SecretVolumeSource {
                default_mode: Some(0o400),
                secret_name: Some(secret.to_owned()),
                ..SecretVolumeSource::default()
            }),
            ..Volume::default()
        });
    }
    let git_sync = Container {
        name: "git-sync".to_owned(),
        image: Some(config.image.clone()),
        image_pull_policy: Some(config.image_pull_policy.clone()),
        command: Some(vec!["/bin/sh".to_owned()]),
        args: Some(vec![
            "-c".to_owned(),
            "/bin/sh /scripts/git-config.sh && /git-sync".to_owned(),
        ]),
        env: Some(env_vars.clone()),
        volume_mounts: Some(mounts),
        resources: Some(ResourceRequirements {
            limits: Some(quantities("1000m", "2000Mi")),
            requests: Some(quantities("3m", "4Mi")),
            ..ResourceRequirements::default()
        }),
        ..Container::default()
    };
    env_vars.truncate(3);
    if config.delay_init {
        env_vars.push(env("GIT_SYNC_DELAY_INIT", "TRUE"));
    }
    let init = Container {
        name: "init".to_owned(),
        image: Some(config.image.clone()),
        image_pull_policy: Some(config.image_pull_policy.clone()),
        env: Some(env_vars),
        command: Some(vec!["sh".to_owned(), "/scripts/init.sh".to_owned()]),
        volume_mounts: Some(vec![
            mount("/git", "git-volume", false),
            mount("/scripts", "scripts", false),
        ]),
        ..Container::default()
    };
    let toleration = |key: &str, operator: &str, value: Option<&str>| Toleration {
        effect: Some("NoSchedule".to_owned()),
        key: Some(key.to_owned()),
        operator: Some(operator.to_owned()),
        value: value.map(str::to_owned),
        toleration_seconds: None,
    };
    Ok(Some(DaemonSet {
        metadata: ObjectMeta {
            name: Some(ds_name),
            namespace: Some(namespace.to_owned()),
            ..ObjectMeta::default()
        },
        spec: DaemonSetSpec {
            selector: LabelSelector {
                match_labels: Some(labels.clone()),
                match_expressions: None,
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    annotations: Some(map([(
                        CHECKSUM_ANNOTATION,
                        config.scripts_checksum.as_str(),
                    )])),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    node_selector: Some(map([("gitsync", "all")])),
                    security_context: Some(PodSecurityContext {
                        run_as_user: Some(0),
                        ..PodSecurityContext::default()
                    }),
                    containers: vec![git_sync],
                    init_containers: Some(vec![init]),
                    tolerations: Some(vec![
                        toleration("hub.jupyter.org/dedicated", "Equal", Some("user")),
                        toleration("nvidia.com/gpu", "Exists", None),
                    ]),
                    volumes: Some(volumes),
                    ..PodSpec::default()
                }),
            },
            ..DaemonSetSpec::default()
        },
        status: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::{DatasetGitSync, DatasetSpec};
    use proptest::prelude::*;
    use serde_json::{Value, json};

    fn git(name: &str, url: &str) -> Dataset {
        let mut spec = DatasetSpec::new(DatasetType::Git);
        spec.url = Some(url.to_owned());
        let mut d = Dataset::new(name, spec);
        d.metadata.namespace = Some("hub".to_owned());
        d.metadata.annotations = Some(map([(ANNOTATION_PRIMEHUB_GITSYNC, "true")]));
        d
    }

    fn render(d: &Dataset) -> Value {
        let ds = desired(d, &GitSyncConfig::default())
            .expect("valid")
            .expect("wanted");
        serde_json::to_value(ds).expect("json")
    }

    fn env_of(v: &Value, container: &str) -> BTreeMap<String, String> {
        let pod = &v["spec"]["template"]["spec"];
        let list = if container == "init" {
            &pod["initContainers"][0]["env"]
        } else {
            &pod["containers"][0]["env"]
        };
        list.as_array()
            .expect("env")
            .iter()
            .map(|e| {
                (
                    e["name"].as_str().expect("name").to_owned(),
                    e["value"].as_str().expect("value").to_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn the_reference_shape_without_a_secret() {
        let v = render(&git("mnist", "https://github.com/org/mnist"));
        assert_eq!(v["apiVersion"], "apps/v1");
        assert_eq!(v["kind"], "DaemonSet");
        assert_eq!(
            v["metadata"],
            json!({"name": "gitsync-mnist", "namespace": "hub"})
        );
        assert_eq!(
            v["spec"]["selector"],
            json!({"matchLabels": {"name": "gitsync-mnist"}})
        );
        let template = &v["spec"]["template"];
        assert_eq!(
            template["metadata"],
            json!({"labels": {"name": "gitsync-mnist"}, "annotations": {"checksum/config": EMPTY_SHA256}})
        );
        let pod = &template["spec"];
        assert_eq!(pod["nodeSelector"], json!({"gitsync": "all"}));
        assert_eq!(pod["securityContext"], json!({"runAsUser": 0}));
        assert_eq!(
            pod["tolerations"],
            json!([
                {"effect": "NoSchedule", "key": "hub.jupyter.org/dedicated", "operator": "Equal", "value": "user"},
                {"effect": "NoSchedule", "key": "nvidia.com/gpu", "operator": "Exists"}
            ])
        );
        let c = &pod["containers"][0];
        assert_eq!(c["name"], "git-sync");
        assert_eq!(c["image"], "registry.k8s.io/git-sync:v3.1.3");
        assert_eq!(c["imagePullPolicy"], "IfNotPresent");
        assert_eq!(c["command"], json!(["/bin/sh"]));
        assert_eq!(
            c["args"],
            json!(["-c", "/bin/sh /scripts/git-config.sh && /git-sync"])
        );
        assert_eq!(
            c["resources"],
            json!({"limits": {"cpu": "1000m", "memory": "2000Mi"}, "requests": {"cpu": "3m", "memory": "4Mi"}})
        );
        assert_eq!(
            c["volumeMounts"],
            json!([{"mountPath": "/git", "name": "git-volume"}, {"mountPath": "/scripts", "name": "scripts"}])
        );
        assert_eq!(
            env_of(&v, "git-sync"),
            BTreeMap::from(
                [
                    ("GIT_SYNC_REPO", "https://github.com/org/mnist.git"),
                    ("GIT_SYNC_ROOT", "/git/mnist"),
                    ("GIT_SYNC_DEST", "mnist"),
                    ("GIT_SYNC_DEPTH", "1"),
                    ("GIT_SYNC_WAIT", "600"),
                    ("GIT_SYNC_BRANCH", "master"),
                    ("GIT_SYNC_SSH", "0"),
                    ("GIT_KNOWN_HOSTS", "0"),
                ]
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
            )
        );
        let init = &pod["initContainers"][0];
        assert_eq!(init["name"], "init");
        assert_eq!(init["command"], json!(["sh", "/scripts/init.sh"]));
        assert_eq!(
            env_of(&v, "init").keys().collect::<Vec<_>>(),
            ["GIT_SYNC_DEST", "GIT_SYNC_REPO", "GIT_SYNC_ROOT"]
        );
        assert_eq!(
            pod["volumes"],
            json!([
                {"name": "git-volume", "hostPath": {"path": "/home/dataset"}},
                {"name": "scripts", "configMap": {"name": "primehub-gitsync-scripts"}}
            ])
        );
    }

    #[test]
    fn a_secret_is_mounted_read_only_with_mode_0400_and_ssh_on() {
        let mut d = git("private", "git@github.com:org/private.git#dev");
        d.spec.gitsync = Some(DatasetGitSync {
            secret: Some("gitsync-secret-key".to_owned()),
        });
        let v = render(&d);
        let pod = &v["spec"]["template"]["spec"];
        assert_eq!(
            pod["volumes"][2],
            json!({"name": "git-cred", "secret": {"defaultMode": 256, "secretName": "gitsync-secret-key"}})
        );
        assert_eq!(
            pod["containers"][0]["volumeMounts"][2],
            json!({"mountPath": "/etc/git-secret", "name": "git-cred", "readOnly": true})
        );
        let env = env_of(&v, "git-sync");
        assert_eq!(env["GIT_SYNC_SSH"], "1");
        assert_eq!(env["GIT_SYNC_BRANCH"], "dev");
        assert_eq!(env["GIT_SYNC_REPO"], "git@github.com:org/private.git");
        // The init container does not mount the secret (as PrimeHub's hook).
        assert_eq!(
            pod["initContainers"][0]["volumeMounts"]
                .as_array()
                .map(Vec::len),
            Some(2)
        );
    }

    #[test]
    fn the_host_root_comes_from_the_annotation() {
        let mut d = git("a", "https://h/r");
        d.metadata
            .annotations
            .get_or_insert_default()
            .insert(ANNOTATION_GIT_SYNC_HOST_ROOT.to_owned(), "/data/git".into());
        assert_eq!(
            render(&d)["spec"]["template"]["spec"]["volumes"][0]["hostPath"]["path"],
            "/data/git"
        );
        d.metadata
            .annotations
            .get_or_insert_default()
            .insert(ANNOTATION_GIT_SYNC_HOST_ROOT.to_owned(), "data".into());
        let err = desired(&d, &GitSyncConfig::default()).expect_err("relative");
        assert_eq!(
            err.to_string(),
            "invalid metadata.annotations[dataset.primehub.io/gitSyncHostRoot]: must be an absolute path without spaces"
        );
    }

    #[test]
    fn delay_init_and_images_come_from_the_configuration() {
        let config = GitSyncConfig {
            image: "mirror/git-sync:v4".into(),
            image_pull_policy: "Always".into(),
            delay_init: true,
            scripts_checksum: "abc".into(),
        };
        let ds = desired(&git("a", "https://h/r"), &config)
            .expect("valid")
            .expect("wanted");
        let v = serde_json::to_value(ds).expect("json");
        let pod = &v["spec"]["template"]["spec"];
        assert_eq!(
            pod["initContainers"][0]["env"][3],
            json!({"name": "GIT_SYNC_DELAY_INIT", "value": "TRUE"})
        );
        assert_eq!(pod["initContainers"][0]["image"], "mirror/git-sync:v4");
        assert_eq!(pod["containers"][0]["imagePullPolicy"], "Always");
        assert_eq!(
            v["spec"]["template"]["metadata"]["annotations"]["checksum/config"],
            "abc"
        );
    }

    #[test]
    fn no_daemonset_without_the_annotation_key_or_for_another_type() {
        let mut d = git("a", "https://h/r");
        d.metadata.annotations = Some(map([(ANNOTATION_PRIMEHUB_GITSYNC, "false")]));
        // The key's existence selects the dataset, as PrimeHub's annotationSelector `Exists`.
        assert!(wanted(&d));
        d.metadata.annotations = None;
        assert!(!wanted(&d));
        assert_eq!(desired(&d, &GitSyncConfig::default()), Ok(None));
        let mut pv = git("a", "https://h/r");
        pv.spec.type_ = DatasetType::Pv;
        assert_eq!(desired(&pv, &GitSyncConfig::default()), Ok(None));
    }

    fn rule(d: &Dataset) -> String {
        desired(d, &GitSyncConfig::default())
            .expect_err("invalid")
            .to_string()
    }

    #[test]
    fn an_empty_or_missing_url_is_an_error() {
        assert_eq!(
            rule(&git("a", "  ")),
            "invalid spec.url: is required for git datasets (it is empty)"
        );
        let mut d = git("a", "x");
        d.spec.url = None;
        assert_eq!(
            rule(&d),
            "invalid spec.url: is required for git datasets (it is empty)"
        );
        assert_eq!(
            rule(&git("a", "#main")),
            "invalid spec.url: the repository URL is empty"
        );
    }

    #[test]
    fn a_branch_with_spaces_is_an_error() {
        assert_eq!(
            rule(&git("a", "https://h/r#my branch")),
            "invalid spec.url: the branch after '#' contains spaces or control characters"
        );
        assert_eq!(
            rule(&git("a", "https://h/r#")),
            "invalid spec.url: the branch after '#' is empty"
        );
        assert_eq!(
            rule(&git("a", "https://h/r#a..b")),
            "invalid spec.url: the branch after '#' contains '..', '@{' or '//'"
        );
        assert_eq!(
            rule(&git("a", "https://h/r#-x")),
            "invalid spec.url: the branch after '#' starts with '-' or '/'"
        );
        // Each forbidden sequence on its own (a rule that needs two of them lets one through).
        for bad in ["a@{b", "a//b"] {
            assert_eq!(
                rule(&git("a", &format!("https://h/r#{bad}"))),
                "invalid spec.url: the branch after '#' contains '..', '@{' or '//'",
                "{bad}"
            );
        }
        for bad in ["a/", "a.", "a.lock"] {
            assert_eq!(
                rule(&git("a", &format!("https://h/r#{bad}"))),
                "invalid spec.url: the branch after '#' ends with '/', '.' or '.lock'",
                "{bad}"
            );
        }
        assert_eq!(
            rule(&git("a", "https://h/r#/x")),
            "invalid spec.url: the branch after '#' starts with '-' or '/'"
        );
    }

    #[test]
    fn the_init_container_pulls_as_configured() {
        let config = GitSyncConfig {
            image_pull_policy: "Always".to_owned(),
            ..GitSyncConfig::default()
        };
        let ds = desired(&git("a", "https://h/r"), &config)
            .expect("valid")
            .expect("a DaemonSet");
        let pod = ds.spec.template.spec.expect("a pod spec");
        let init = &pod.init_containers.expect("an init container")[0];
        assert_eq!(init.image_pull_policy.as_deref(), Some("Always"));
        assert_eq!(
            pod.containers[0].image_pull_policy.as_deref(),
            Some("Always")
        );
    }

    #[test]
    fn a_url_with_spaces_is_an_error() {
        assert_eq!(
            rule(&git("a", "https://h/my repo")),
            "invalid spec.url: the repository URL contains spaces or control characters"
        );
    }

    #[test]
    fn an_empty_secret_name_is_an_error() {
        let mut d = git("a", "https://h/r");
        d.spec.gitsync = Some(DatasetGitSync {
            secret: Some(String::new()),
        });
        assert_eq!(
            rule(&d),
            "invalid spec.gitsync.secret: must name a Secret (it is empty)"
        );
    }

    #[test]
    fn a_name_too_long_for_the_label_is_an_error() {
        let long = "a".repeat(56);
        assert!(
            rule(&git(&long, "https://h/r")).starts_with("invalid metadata.name: the child name")
        );
        assert!(
            desired(
                &git(&"a".repeat(55), "https://h/r"),
                &GitSyncConfig::default()
            )
            .is_ok()
        );
    }

    #[test]
    fn a_dataset_without_namespace_is_an_error() {
        let mut d = git("a", "https://h/r");
        d.metadata.namespace = None;
        assert_eq!(rule(&d), "invalid metadata.namespace: is required");
    }

    proptest! {
        #[test]
        fn the_url_splits_on_the_first_hash(
            repo in "[a-z][a-z0-9:/@._-]{0,30}",
            branch in "[a-zA-Z0-9][a-zA-Z0-9_/#-]{0,20}[a-zA-Z0-9]",
        ) {
            prop_assume!(!branch.contains("//"));
            let split = split_url(&format!("{repo}#{branch}")).expect("valid");
            prop_assert_eq!(&split.branch, &branch);
            prop_assert!(split.url.ends_with(".git"));
            prop_assert_eq!(split.url.trim_end_matches(".git"), repo.trim_end_matches(".git"));
            prop_assert!(!split.url.contains('#'));
            // Without a '#', the branch is master and the URL is the repository.
            let plain = split_url(&repo).expect("valid");
            prop_assert_eq!(plain.branch.as_str(), DEFAULT_BRANCH);
            prop_assert_eq!(&plain.url, &split.url);
            // `.git` is appended once.
            prop_assert_eq!(split_url(&plain.url).expect("valid").url, plain.url);
        }

        #[test]
        fn a_branch_with_whitespace_never_passes(
            a in "[a-z]{1,5}", b in "[a-z]{1,5}", ws in "[ \t\n]",
        ) {
            let error = split_url(&format!("https://h/r#{a}{ws}{b}")).expect_err("rejected");
            prop_assert!(error.to_string().starts_with("invalid spec.url"));
        }
    }
}
