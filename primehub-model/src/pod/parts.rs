//! The building blocks of a PrimeHub workload pod, shared by job pods ([`super::job`]) and
//! notebook pods ([`super::notebook`]): what goes into the main container (volumes and their
//! mounts, environment variables, `postStart` symlink commands, paths whose ownership is fixed
//! up), the image choice, the usage annotation and the admission sentinel.
//!
//! Each block appends to a [`PodParts`], in the order PrimeHub's spawners append
//! (InfuseAI/primehub-controller `pkg/graphql/spawn.go`, the `Spawner` type and its `apply*`
//! methods; InfuseAI/primehub `jupyterhub_profiles.py`, `pre_spawn_start`), so a caller that
//! calls the blocks in PrimeHub's order gets PrimeHub's volume, mount, env and symlink order.
//!
//! What a block decides is shared (which group volumes and datasets a launch mounts, what volume
//! a dataset is, the variables of an env dataset); where the two pod kinds differ (where a
//! dataset appears in the pod, how links into the home directory are written, whether writable
//! mounts are chowned) is a policy the caller picks: [`DatasetLayout::job`] or
//! [`DatasetLayout::notebook`], [`add_group_volumes`] or [`add_notebook_group_volumes`],
//! [`add_phfs`] or [`add_notebook_phfs`].

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    ConfigMapVolumeSource, Container, EmptyDirVolumeSource, EnvVar, ExecAction,
    HostPathVolumeSource, Lifecycle, LifecycleHandler, LocalObjectReference, NFSVolumeSource,
    PersistentVolumeClaimVolumeSource, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;

use crate::attributes::GroupAttributes;
use crate::crd::dataset::{ANNOTATION_HOME_SYMLINK, Dataset, DatasetType};
use crate::crd::image::Image;
use crate::error::{Error, Result};
use crate::names;
use crate::quantity::Gpu;

use super::{ADMISSION_SENTINEL, image_url};

/// Annotation holding a workload's usage record (a JSON object), read by PrimeHub's usage
/// reports.
pub const ANNOTATION_USAGE: &str = "primehub.io/usage";

/// What a block adds to a pod: volumes of the pod, and mounts, environment variables and
/// `postStart` symlink commands of its main container, each in the order added.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PodParts {
    /// The pod's volumes.
    pub volumes: Vec<Volume>,
    /// The main container's volume mounts.
    pub volume_mounts: Vec<VolumeMount>,
    /// The main container's environment.
    pub env: Vec<EnvVar>,
    /// Shell commands run by the main container's `postStart` hook, joined with `;`.
    pub symlinks: Vec<String>,
    /// Paths whose ownership the notebook's start script fixes (`CHOWN_EXTRA`, joined with
    /// `,`); job pods leave it empty.
    pub chown_extra: Vec<String>,
}

impl PodParts {
    /// Nothing yet.
    pub fn new() -> PodParts {
        PodParts::default()
    }

    /// Adds a volume and its mount in the main container.
    pub fn mount(&mut self, volume: Volume, mount: VolumeMount) {
        self.volumes.push(volume);
        self.volume_mounts.push(mount);
    }

    /// Adds an emptyDir volume `name` (with `sizeLimit` and `medium` when given) mounted at
    /// `mount_path`. `size_limit` is a Kubernetes quantity and is written as given.
    pub fn mount_empty_dir(
        &mut self,
        name: &str,
        mount_path: &str,
        size_limit: Option<&str>,
        medium: Option<&str>,
    ) {
        self.mount(
            Volume {
                name: name.to_owned(),
                empty_dir: Some(EmptyDirVolumeSource {
                    size_limit: size_limit.map(|s| K8sQuantity(s.to_owned())),
                    medium: medium.map(str::to_owned),
                    ..EmptyDirVolumeSource::default()
                }),
                ..Volume::default()
            },
            plain_mount(name, mount_path),
        );
    }

    /// Adds a ConfigMap volume `name` of ConfigMap `config_map` with `defaultMode`
    /// `default_mode`, mounted at `mount_path`.
    pub fn mount_config_map(
        &mut self,
        name: &str,
        config_map: &str,
        default_mode: i32,
        mount_path: &str,
    ) {
        self.mount(
            Volume {
                name: name.to_owned(),
                config_map: Some(ConfigMapVolumeSource {
                    name: config_map.to_owned(),
                    default_mode: Some(default_mode),
                    ..ConfigMapVolumeSource::default()
                }),
                ..Volume::default()
            },
            plain_mount(name, mount_path),
        );
    }

    /// Appends the environment variable `name=value`.
    pub fn push_env(&mut self, name: &str, value: &str) {
        self.env.push(EnvVar {
            name: name.to_owned(),
            value: Some(value.to_owned()),
            value_from: None,
        });
    }

    /// Sets the environment variable `name=value` as a Python dict update does: an existing
    /// variable of that name keeps its place and takes the new value, a new one is appended.
    pub fn set_env(&mut self, name: &str, value: &str) {
        match self.env.iter_mut().find(|e| e.name == name) {
            Some(existing) => {
                existing.value = Some(value.to_owned());
                existing.value_from = None;
            }
            None => self.push_env(name, value),
        }
    }

    /// The main container's lifecycle: a `postStart` exec of `sh -c <symlinks joined with ;>`,
    /// or `None` when there is no symlink command.
    pub fn post_start(&self) -> Option<Lifecycle> {
        if self.symlinks.is_empty() {
            return None;
        }
        Some(Lifecycle {
            post_start: Some(shell_hook("sh", &self.symlinks)),
            ..Lifecycle::default()
        })
    }
}

/// A lifecycle handler that runs `commands` joined with `;` as `<shell> -c <script>`.
pub fn shell_hook(shell: &str, commands: &[String]) -> LifecycleHandler {
    LifecycleHandler {
        exec: Some(ExecAction {
            command: Some(vec![shell.to_owned(), "-c".to_owned(), commands.join(";")]),
        }),
        ..LifecycleHandler::default()
    }
}

fn plain_mount(name: &str, mount_path: &str) -> VolumeMount {
    VolumeMount {
        name: name.to_owned(),
        mount_path: mount_path.to_owned(),
        ..VolumeMount::default()
    }
}

fn pvc_volume(name: &str, claim: &str) -> Volume {
    Volume {
        name: name.to_owned(),
        persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
            claim_name: claim.to_owned(),
            read_only: None,
        }),
        ..Volume::default()
    }
}

fn host_path_volume(name: &str, path: &str) -> Volume {
    Volume {
        name: name.to_owned(),
        host_path: Some(HostPathVolumeSource {
            path: path.to_owned(),
            type_: None,
        }),
        ..Volume::default()
    }
}

/// `filepath.Join` of Go (on Unix): the non-empty elements joined with `/`, then cleaned
/// (repeated `/`, `.` and resolvable `..` removed, no trailing `/`); no non-empty element gives
/// `""`.
pub fn join_path(elements: &[&str]) -> String {
    let joined = elements
        .iter()
        .filter(|e| !e.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("/");
    if joined.is_empty() {
        return joined;
    }
    clean_path(&joined)
}

fn clean_path(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for element in path.split('/') {
        match element {
            "" | "." => {}
            ".." => match out.last() {
                Some(&last) if last != ".." => {
                    out.pop();
                }
                _ if rooted => {}
                _ => out.push(".."),
            },
            other => out.push(other),
        }
    }
    let body = out.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".to_owned(),
        (false, false) => body,
    }
}

// ---------------------------------------------------------------------------------------------
// image

/// The image a pod's main container runs and the Secret to pull it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageChoice {
    /// The image reference ([`image_url`] for the instance type's GPU count).
    pub url: String,
    /// `spec.pullSecret`, when set and non-empty.
    pub pull_secret: Option<String>,
}

impl ImageChoice {
    /// The URL of `image` for `gpu` GPUs and its pull secret. Errors when the image has no
    /// usable URL (for example a custom build that has not finished): PrimeHub would create a pod
    /// with an empty image, which the API server rejects.
    pub fn for_gpu(image: &Image, gpu: Gpu) -> Result<ImageChoice> {
        let name = image.metadata.name.as_deref().unwrap_or("<unnamed>");
        let url = image_url(image, gpu).ok_or_else(|| Error::InvalidField {
            field: format!(
                "images/{name} spec.{}",
                if gpu > Gpu::ZERO { "urlForGpu" } else { "url" }
            ),
            rule: "the image has no URL to run".to_owned(),
        })?;
        Ok(ImageChoice {
            url: url.to_owned(),
            pull_secret: image
                .spec
                .pull_secret
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        })
    }

    /// The pod's `imagePullSecrets`: the pull secret, or `None`.
    pub fn image_pull_secrets(&self) -> Option<Vec<LocalObjectReference>> {
        self.pull_secret
            .as_ref()
            .map(|name| vec![LocalObjectReference { name: name.clone() }])
    }
}

// ---------------------------------------------------------------------------------------------
// group shared volumes and PHFS

/// One of the user's groups, as the shared-volume rule needs it.
#[derive(Debug, Clone, Copy)]
pub struct GroupVolume<'a> {
    /// The group name (raw, as in Keycloak).
    pub name: &'a str,
    /// The group's attributes (`enabled-shared-volume`, `launch-group-only`, `home-symlink`).
    pub attributes: &'a GroupAttributes,
}

/// The groups whose shared volume a launch in `launch_group` mounts, in the order of `groups`
/// (every group of the user): those with a shared volume (`enabled-shared-volume`) that are the
/// launch group or whose `launch-group-only` is off (unset means on). The rule both PrimeHub
/// spawners apply.
pub fn launch_group_volumes<'g>(
    groups: &'g [GroupVolume<'g>],
    launch_group: &'g str,
) -> impl Iterator<Item = &'g GroupVolume<'g>> {
    groups.iter().filter(move |group| {
        let attrs = group.attributes;
        attrs.shared_volume_enabled()
            && (group.name == launch_group || !attrs.launch_group_only_enabled())
    })
}

/// Mounts `group`'s shared volume: PVC and volume `project-<group path>` at
/// `/project/<group path>` ([`names::project_pvc_name`], [`names::group_path`]). Returns the
/// mount path.
fn mount_group_volume(parts: &mut PodParts, group: &GroupVolume<'_>) -> String {
    let name = names::project_pvc_name(group.name);
    let mount_path = format!("/project/{}", names::group_path(group.name));
    parts.mount(pvc_volume(&name, &name), plain_mount(&name, &mount_path));
    mount_path
}

/// The job layout of group volumes: mounts the shared volume of each group
/// [`launch_group_volumes`] selects; when the group's `home-symlink` is on (unset means on) and
/// `working_dir` is not empty, the volume is linked into it (`ln -s /project/<g> <working_dir>`).
pub fn add_group_volumes(
    parts: &mut PodParts,
    groups: &[GroupVolume<'_>],
    launch_group: &str,
    working_dir: &str,
) {
    for group in launch_group_volumes(groups, launch_group) {
        let mount_path = mount_group_volume(parts, group);
        if group.attributes.home_symlink_enabled() && !working_dir.is_empty() {
            parts
                .symlinks
                .push(format!("ln -s {mount_path} {working_dir}"));
        }
    }
}

/// The notebook layout of group volumes (the hub's `pre_spawn_start`): every group with a shared
/// volume must have a `shared-volume-capacity` above 0, mounted or not (PrimeHub refuses to spawn
/// otherwise); each group [`launch_group_volumes`] selects is mounted, its mount path added to
/// `CHOWN_EXTRA` and, when `home-symlink` is on (unset means on), linked into `home_dir`
/// (`ln -sf /project/<g> <home_dir>/`).
pub fn add_notebook_group_volumes(
    parts: &mut PodParts,
    groups: &[GroupVolume<'_>],
    launch_group: &str,
    home_dir: &str,
) -> Result<()> {
    if let Some(group) = groups.iter().find(|g| {
        g.attributes.shared_volume_enabled()
            && g.attributes
                .shared_volume_capacity
                .is_none_or(|c| c.gigabytes == 0)
    }) {
        return Err(Error::InvalidField {
            field: format!("groups/{} shared-volume-capacity", group.name),
            rule: "must be set when the group's shared volume is enabled \
                   (sharedVolumeCapacity cannot be None when enabledSharedVolume is True)"
                .to_owned(),
        });
    }
    for group in launch_group_volumes(groups, launch_group) {
        let mount_path = mount_group_volume(parts, group);
        parts.chown_extra.push(mount_path.clone());
        if group.attributes.home_symlink_enabled() {
            parts
                .symlinks
                .push(format!("ln -sf {mount_path} {home_dir}/"));
        }
    }
    Ok(())
}

/// Mounts PrimeHub's file system (PHFS) when `pvc` is not empty: volume `phfs` of PVC `pvc`
/// at `/phfs`, `subPath groups/<group path>`. Returns whether it was mounted.
fn mount_phfs(parts: &mut PodParts, pvc: &str, group_name: &str) -> bool {
    if pvc.is_empty() {
        return false;
    }
    parts.mount(
        pvc_volume("phfs", pvc),
        VolumeMount {
            sub_path: Some(format!("groups/{}", names::group_path(group_name))),
            ..plain_mount("phfs", "/phfs")
        },
    );
    true
}

/// Mounts PrimeHub's file system (PHFS) when `pvc` is not empty: volume `phfs` of PVC `pvc`
/// at `/phfs`, `subPath groups/<group path>`, linked into `working_dir` (`ln -s /phfs
/// <working_dir>`).
pub fn add_phfs(parts: &mut PodParts, pvc: &str, group_name: &str, working_dir: &str) {
    if mount_phfs(parts, pvc, group_name) {
        parts.symlinks.push(format!("ln -s /phfs {working_dir}"));
    }
}

/// The notebook layout of PHFS: as [`add_phfs`], with `/phfs` added to `CHOWN_EXTRA` and
/// linked with `ln -sf /phfs <home_dir>/`.
pub fn add_notebook_phfs(parts: &mut PodParts, pvc: &str, group_name: &str, home_dir: &str) {
    if mount_phfs(parts, pvc, group_name) {
        parts.chown_extra.push("/phfs".to_owned());
        parts.symlinks.push(format!("ln -sf /phfs {home_dir}/"));
    }
}

// ---------------------------------------------------------------------------------------------
// datasets

/// A dataset to mount and whether it is mounted read-write.
#[derive(Debug, Clone, Copy)]
pub struct DatasetMount<'a> {
    /// The dataset.
    pub dataset: &'a Dataset,
    /// Read-write (`ds:rw:<name>` through the launch group, or globally).
    pub writable: bool,
}

/// The directory of dataset links a layout keeps: an emptyDir volume linked into the working
/// directory unless the working directory already has an entry of that name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinksDir {
    /// The volume name, also the name of the link in the working directory.
    pub volume_name: String,
    /// Where it is mounted.
    pub mount_path: String,
    /// The emptyDir `sizeLimit` (a Kubernetes quantity).
    pub size_limit: String,
}

/// Where dataset volumes appear in a pod and how they are linked: the part of dataset mounting
/// that differs between job and notebook pods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatasetPlacement {
    /// The job spawner's (`spawn.go`, `applyDataset`): a volume dataset is mounted at
    /// `<root>/dataset-<name>` and linked from `<mountRoot>/<name>` (a git dataset: the link
    /// points to `<mount>/<name>`); a git dataset's host directory is
    /// `<spec.gitSyncHostRoot or git_sync_host_root>/<name>`; a mount says `readOnly: true` only
    /// when read-only; the home link is `ln -s <mountRoot>/<name> .`; env-dataset variables are
    /// appended, upper-cased as Go does ([`dataset_env_name`]).
    Staged {
        /// The in-pod root of the mounts ([`JOB_DATASET_STAGING_ROOT`]).
        root: String,
        /// The node directory git-sync writes to, for git datasets whose spec has no
        /// `gitSyncHostRoot`.
        git_sync_host_root: String,
    },
    /// The hub spawner's (`jupyterhub_profiles.py`, `mount_dataset`): a volume dataset is
    /// mounted at `<mountRoot>/<name>` with `readOnly` written either way (and on a `pv`
    /// dataset's claim too), a writable one is added to `CHOWN_EXTRA`; a git dataset is mounted
    /// read-only at `<gitSyncRoot>/<name>` from the host directory `<gitSyncHostRoot>/<name>`
    /// (both from the dataset's annotations, [`Dataset::git_sync_root`],
    /// [`Dataset::git_sync_host_root`]) and linked from `<mountRoot>/<name>` after
    /// `mkdir -p <mountRoot>`; the home link is `ln -sf <mountRoot>/<name> <home_dir>/`;
    /// env-dataset variables are set (a later one of the same name replaces the earlier value),
    /// upper-cased as Python does ([`notebook_dataset_env_name`]), the key `__typename` skipped.
    InPlace {
        /// The home directory links go into (`/home/jovyan`).
        home_dir: String,
    },
}

/// Where and how dataset volumes appear in a pod: the [`DatasetPlacement`], the home-link
/// default and the links directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetLayout {
    /// Where mounts go and how they are linked.
    pub placement: DatasetPlacement,
    /// Whether a volume dataset is linked into the working directory when its
    /// `dataset.primehub.io/homeSymlink` annotation is absent (a present annotation decides:
    /// `"true"` links, anything else does not).
    pub home_symlink_default: bool,
    /// The links directory, if the layout keeps one.
    pub links_dir: Option<LinksDir>,
}

/// Default in-pod root of staged dataset mounts in job pods.
pub const JOB_DATASET_STAGING_ROOT: &str = "/mnt/";

impl DatasetLayout {
    /// PrimeHub's job layout (`spawn.go`, `applyDataset`): datasets staged under `/mnt/`, linked
    /// from `<mountRoot default /datasets/>/<name>`, linked into the working directory unless
    /// the annotation says otherwise, and a 1M emptyDir `datasets` at `/datasets`.
    pub fn job(git_sync_host_root: &str) -> DatasetLayout {
        DatasetLayout {
            placement: DatasetPlacement::Staged {
                root: JOB_DATASET_STAGING_ROOT.to_owned(),
                git_sync_host_root: git_sync_host_root.to_owned(),
            },
            home_symlink_default: true,
            links_dir: Some(LinksDir {
                volume_name: "datasets".to_owned(),
                mount_path: "/datasets".to_owned(),
                size_limit: "1M".to_owned(),
            }),
        }
    }

    /// PrimeHub's notebook layout (`jupyterhub_profiles.py`, `mount_dataset`): datasets mounted
    /// in place at `<mountRoot default /datasets/>/<name>`, linked into `home_dir` only when the
    /// annotation says `"true"`, no links directory (the hub links `/datasets` itself).
    pub fn notebook(home_dir: &str) -> DatasetLayout {
        DatasetLayout {
            placement: DatasetPlacement::InPlace {
                home_dir: home_dir.to_owned(),
            },
            home_symlink_default: false,
            links_dir: None,
        }
    }
}

/// The spec key a git dataset may carry to override the git-sync host directory (the job
/// spawner reads `spec.gitSyncHostRoot`, not the annotation).
pub const SPEC_GIT_SYNC_HOST_ROOT: &str = "gitSyncHostRoot";

/// The key of an env dataset the hub spawner never turns into a variable (a GraphQL artefact,
/// `__typename`).
pub const ENV_DATASET_SKIPPED_KEY: &str = "__typename";

fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, '-' | '.' | '_'));
    first_ok && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
}

/// The environment variable name of key `key` of env dataset `dataset`: `<DATASET>_<KEY>` in
/// upper case, `None` unless it matches `^[-._a-zA-Z][-._a-zA-Z0-9]*$` (PrimeHub's
/// `transformEnvKey`). Upper-casing maps each character on its own, as Go's `strings.ToUpper`
/// (`ß` stays `ß` and the name is then rejected).
pub fn dataset_env_name(dataset: &str, key: &str) -> Option<String> {
    let name: String = format!("{dataset}_{key}")
        .chars()
        .map(|c| {
            let mut upper = c.to_uppercase();
            match (upper.next(), upper.next()) {
                (Some(u), None) => u,
                _ => c,
            }
        })
        .collect();
    is_env_name(&name).then_some(name)
}

/// The hub spawner's variable name of key `key` of env dataset `dataset`: as
/// [`dataset_env_name`], but upper-cased as Python's `str.upper` does, with the full Unicode
/// mapping (`ß` becomes `SS`, so `straße` gives a valid `…_STRASSE`).
pub fn notebook_dataset_env_name(dataset: &str, key: &str) -> Option<String> {
    let name = format!("{dataset}_{key}").to_uppercase();
    is_env_name(&name).then_some(name)
}

/// `os.path.join(a, b)` of Python (on POSIX): `b` when it is absolute, else `a` and `b` with one
/// `/` between them unless `a` is empty or already ends with `/`. Nothing is cleaned.
pub fn python_path_join(a: &str, b: &str) -> String {
    if b.starts_with('/') || a.is_empty() {
        b.to_owned()
    } else if a.ends_with('/') {
        format!("{a}{b}")
    } else {
        format!("{a}/{b}")
    }
}

/// Mounts `datasets` (in the order given) with `layout`, then the layout's links directory.
///
/// What a dataset is, whatever the layout:
///
/// * `pv`: PVC [`Dataset::pvc_name`] (or, for the deprecated `volumeName: hostpath:<path>`, a
///   hostPath volume), read-only unless writable;
/// * `git`: a hostPath volume of the git-sync directory `<host root>/<name>`, always read-only,
///   linked from `<mountRoot>/<name>` to `<mount>/<name>`;
/// * `hostPath` and `nfs`: the dataset's path or export, read-only unless writable; skipped
///   when the path (or server) is empty;
/// * `env`: one variable per key (keys in name order, `null` values skipped), then a copy with
///   `-` replaced by `_` when that name differs;
/// * any other type: nothing.
///
/// Where volumes go, how they are linked and how variables are named is the layout's
/// [`DatasetPlacement`]. A mounted volume dataset is linked into the home (or working)
/// directory when its home symlink is on. Errors when a dataset has no name.
pub fn add_datasets(
    parts: &mut PodParts,
    datasets: &[DatasetMount<'_>],
    layout: &DatasetLayout,
    working_dir: &str,
) -> Result<()> {
    for mount in datasets {
        add_dataset(parts, mount, layout)?;
    }
    if let Some(links) = &layout.links_dir {
        parts.mount_empty_dir(
            &links.volume_name,
            &links.mount_path,
            Some(&links.size_limit),
            None,
        );
        let existing = join_path(&[working_dir, &links.volume_name]);
        parts.symlinks.push(format!(
            "test -d {existing} || ln -sf {} {working_dir}",
            links.mount_path
        ));
    }
    Ok(())
}

/// The volume of a volume dataset, named `logic_name`, or `None` when there is nothing to mount.
/// `git_host_dir` gives a git dataset's host directory; `claim_read_only` is written on a `pv`
/// dataset's claim.
fn dataset_volume(
    dataset: &Dataset,
    logic_name: &str,
    claim_read_only: Option<bool>,
    git_host_dir: impl FnOnce() -> String,
) -> Option<Volume> {
    let spec = &dataset.spec;
    match &spec.type_ {
        DatasetType::Pv => match (spec.legacy_host_path(), dataset.pvc_name()) {
            (Some(path), _) => Some(host_path_volume(logic_name, path)),
            (None, Some(claim)) => Some(Volume {
                name: logic_name.to_owned(),
                persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                    claim_name: claim,
                    read_only: claim_read_only,
                }),
                ..Volume::default()
            }),
            (None, None) => None,
        },
        DatasetType::Git => Some(host_path_volume(logic_name, &git_host_dir())),
        DatasetType::HostPath => spec
            .host_path
            .as_ref()
            .filter(|h| !h.path.is_empty())
            .map(|h| host_path_volume(logic_name, &h.path)),
        DatasetType::Nfs => spec
            .nfs
            .as_ref()
            .filter(|n| !n.server.is_empty() && !n.path.is_empty())
            .map(|nfs| Volume {
                name: logic_name.to_owned(),
                nfs: Some(NFSVolumeSource {
                    path: nfs.path.clone(),
                    server: nfs.server.clone(),
                    read_only: None,
                }),
                ..Volume::default()
            }),
        DatasetType::Env | DatasetType::Other(_) => None,
    }
}

fn add_dataset(
    parts: &mut PodParts,
    mount: &DatasetMount<'_>,
    layout: &DatasetLayout,
) -> Result<()> {
    let dataset = mount.dataset;
    let name = dataset
        .metadata
        .name
        .as_deref()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| Error::InvalidField {
            field: "datasets metadata.name".to_owned(),
            rule: "a dataset to mount must have a name".to_owned(),
        })?;
    let spec = &dataset.spec;
    if spec.type_ == DatasetType::Env {
        add_env_dataset(parts, name, spec.variables.as_ref(), &layout.placement);
        return Ok(());
    }
    let logic_name = format!("dataset-{name}");
    let is_git = spec.type_ == DatasetType::Git;
    let home_symlink = match dataset.annotation(ANNOTATION_HOME_SYMLINK) {
        None => layout.home_symlink_default,
        Some(v) => v == "true",
    };
    match &layout.placement {
        DatasetPlacement::Staged {
            root,
            git_sync_host_root,
        } => {
            let host_root = || {
                let root = spec
                    .extra
                    .get(SPEC_GIT_SYNC_HOST_ROOT)
                    .and_then(serde_json::Value::as_str)
                    .filter(|r| !r.is_empty())
                    .unwrap_or(git_sync_host_root);
                join_path(&[root, name])
            };
            let dataset_path = join_path(&[dataset.mount_root(), name]);
            let Some(volume) = dataset_volume(dataset, &logic_name, None, host_root) else {
                // The job spawner still links a hostPath or nfs dataset it did not mount.
                if home_symlink && matches!(spec.type_, DatasetType::HostPath | DatasetType::Nfs) {
                    parts.symlinks.push(format!("ln -s {dataset_path} ."));
                }
                return Ok(());
            };
            let mount_path = join_path(&[root, &logic_name]);
            // Go's `readOnly` is a plain bool with `omitempty`: false is not written.
            let read_only = is_git || !mount.writable;
            parts.mount(
                volume,
                VolumeMount {
                    read_only: read_only.then_some(true),
                    ..plain_mount(&logic_name, &mount_path)
                },
            );
            let target = if is_git {
                join_path(&[&mount_path, name])
            } else {
                mount_path
            };
            parts
                .symlinks
                .push(format!("ln -sf {target} {dataset_path}"));
            if home_symlink {
                parts.symlinks.push(format!("ln -s {dataset_path} ."));
            }
        }
        DatasetPlacement::InPlace { home_dir } => {
            let host_root = || python_path_join(dataset.git_sync_host_root(), name);
            let claim_read_only = Some(!mount.writable);
            let mount_root = dataset.mount_root();
            let mount_path = python_path_join(mount_root, name);
            match dataset_volume(dataset, &logic_name, claim_read_only, host_root) {
                // The hub spawner links any non-env dataset it did not mount (a dangling link).
                None => {}
                Some(volume) if is_git => {
                    let git_mount = python_path_join(dataset.git_sync_root(), name);
                    parts.mount(
                        volume,
                        VolumeMount {
                            read_only: Some(true),
                            ..plain_mount(&logic_name, &git_mount)
                        },
                    );
                    parts.symlinks.push(format!("mkdir -p {mount_root}"));
                    parts.symlinks.push(format!(
                        "ln -sf {} {mount_path}",
                        python_path_join(&git_mount, name)
                    ));
                }
                Some(volume) => {
                    if mount.writable {
                        parts.chown_extra.push(mount_path.clone());
                    }
                    parts.mount(
                        volume,
                        VolumeMount {
                            read_only: Some(!mount.writable),
                            ..plain_mount(&logic_name, &mount_path)
                        },
                    );
                }
            }
            if home_symlink {
                parts
                    .symlinks
                    .push(format!("ln -sf {mount_path} {home_dir}/"));
            }
        }
    }
    Ok(())
}

fn add_env_dataset(
    parts: &mut PodParts,
    dataset: &str,
    variables: Option<&BTreeMap<String, Option<String>>>,
    placement: &DatasetPlacement,
) {
    for (key, value) in variables.into_iter().flatten() {
        let Some(value) = value else { continue };
        let name = match placement {
            DatasetPlacement::Staged { .. } => dataset_env_name(dataset, key),
            DatasetPlacement::InPlace { .. } if key == ENV_DATASET_SKIPPED_KEY => None,
            DatasetPlacement::InPlace { .. } => notebook_dataset_env_name(dataset, key),
        };
        let Some(name) = name else {
            continue;
        };
        let underscored = name.replace('-', "_");
        match placement {
            DatasetPlacement::Staged { .. } => {
                parts.push_env(&name, value);
                if underscored != name {
                    parts.push_env(&underscored, value);
                }
            }
            DatasetPlacement::InPlace { .. } => {
                parts.set_env(&name, value);
                parts.set_env(&underscored, value);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// metadata and the sentinel

/// The usage record of a workload pod, the value of [`ANNOTATION_USAGE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage<'a> {
    /// `component`: `job`, `notebook`, …
    pub component: &'a str,
    /// `component_name`: the workload's name (the PhJob's name).
    pub component_name: &'a str,
    /// `instance_type`.
    pub instance_type: &'a str,
    /// `group`: the raw group name.
    pub group: &'a str,
    /// `user`: the user name.
    pub user: &'a str,
}

impl Usage<'_> {
    /// The JSON text exactly as Go's `json.Marshal` of a `map[string]string` writes it: keys
    /// sorted, no spaces, and `<`, `>`, `&`, U+2028, U+2029 escaped as `\u003c`, `\u003e`,
    /// `\u0026`, `\u2028`, `\u2029`.
    pub fn to_annotation_value(&self) -> String {
        let map: BTreeMap<&str, &str> = BTreeMap::from([
            ("component", self.component),
            ("component_name", self.component_name),
            ("group", self.group),
            ("instance_type", self.instance_type),
            ("user", self.user),
        ]);
        let text = serde_json::Value::Object(
            map.into_iter()
                .map(|(k, v)| (k.to_owned(), serde_json::Value::from(v)))
                .collect(),
        )
        .to_string();
        let mut out = String::with_capacity(text.len());
        for c in text.chars() {
            match c {
                '<' => out.push_str("\\u003c"),
                '>' => out.push_str("\\u003e"),
                '&' => out.push_str("\\u0026"),
                '\u{2028}' => out.push_str("\\u2028"),
                '\u{2029}' => out.push_str("\\u2029"),
                other => out.push(other),
            }
        }
        out
    }
}

/// The sentinel init container ([`ADMISSION_SENTINEL`]): image `admission-is-not-found`,
/// `imagePullPolicy: Never`, command `false`. The admission webhook removes it; a pod that
/// still has it never starts.
pub fn sentinel_init_container() -> Container {
    Container {
        name: ADMISSION_SENTINEL.to_owned(),
        image: Some(ADMISSION_SENTINEL.to_owned()),
        image_pull_policy: Some("Never".to_owned()),
        command: Some(vec!["false".to_owned()]),
        ..Container::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_path_matches_go_filepath_join() {
        for (elements, joined) in [
            (&["/mnt/", "dataset-x"][..], "/mnt/dataset-x"),
            (&["/datasets/", "mnist"], "/datasets/mnist"),
            (&["/datasets", "mnist"], "/datasets/mnist"),
            (&["datasets/", "mnist"], "datasets/mnist"),
            (&["/a//b/../c/.", "d"], "/a/c/d"),
            (&["/mnt/", ""], "/mnt"),
            (&["", ""], ""),
            (&[], ""),
            (&["", "x"], "x"),
            (&[".", "."], "."),
            (&["..", "x"], "../x"),
            (&["a", "../..", "b"], "../b"),
            (&["a/..", ".."], ".."),
            (&["/", ".."], "/"),
            (&["/..", "x"], "/x"),
            (&["/home/jovyan", "datasets"], "/home/jovyan/datasets"),
        ] {
            assert_eq!(join_path(elements), joined, "Join({elements:?})");
        }
    }

    #[test]
    fn python_path_join_matches_os_path_join() {
        for (a, b, joined) in [
            ("/datasets/", "mnist", "/datasets/mnist"),
            ("/srv/data", "x", "/srv/data/x"),
            ("/a//b/", "x", "/a//b/x"),
            ("", "x", "x"),
            ("/a", "/b", "/b"),
            ("/a", "", "/a/"),
        ] {
            assert_eq!(python_path_join(a, b), joined, "join({a:?}, {b:?})");
        }
    }

    #[test]
    fn notebook_env_name_upper_cases_as_python() {
        assert_eq!(
            notebook_dataset_env_name("ds", "straße").as_deref(),
            Some("DS_STRASSE")
        );
        assert_eq!(
            notebook_dataset_env_name("cfg", "api-key").as_deref(),
            Some("CFG_API-KEY")
        );
        assert_eq!(notebook_dataset_env_name("1ds", "k"), None);
        assert_eq!(notebook_dataset_env_name("ds", "a b"), None);
    }

    #[test]
    fn set_env_replaces_in_place_like_a_dict_update() {
        let mut parts = PodParts::new();
        parts.set_env("A", "1");
        parts.set_env("B", "2");
        parts.set_env("A", "3");
        let env: Vec<(&str, Option<&str>)> = parts
            .env
            .iter()
            .map(|e| (e.name.as_str(), e.value.as_deref()))
            .collect();
        assert_eq!(env, [("A", Some("3")), ("B", Some("2"))]);
    }

    #[test]
    fn env_name_is_upper_case_and_must_match_primehubs_pattern() {
        assert_eq!(
            dataset_env_name("cfg", "api-key").as_deref(),
            Some("CFG_API-KEY")
        );
        assert_eq!(
            dataset_env_name("my.ds", "x_1").as_deref(),
            Some("MY.DS_X_1")
        );
        assert_eq!(dataset_env_name("-a", "b").as_deref(), Some("-A_B"));
        assert_eq!(dataset_env_name(".a", "b").as_deref(), Some(".A_B"));
        assert_eq!(dataset_env_name("", "b").as_deref(), Some("_B"));
        assert_eq!(
            dataset_env_name("1ds", "k"),
            None,
            "a digit may not come first"
        );
        assert_eq!(dataset_env_name("ds", "a b"), None);
        assert_eq!(dataset_env_name("ds", "a=b"), None);
        assert_eq!(dataset_env_name("ds", "k9"), Some("DS_K9".to_owned()));
        // Go's ToUpper maps each rune alone: `ß` has no single upper-case rune and stays,
        // so the name is rejected (a full mapping would give a valid `SS`).
        assert_eq!(dataset_env_name("ds", "straße"), None);
        // `ſ` (long s) upper-cases to an ASCII `S`, in Go as here.
        assert_eq!(dataset_env_name("ds", "ſ").as_deref(), Some("DS_S"));
    }

    #[test]
    fn post_start_only_with_symlinks() {
        let mut parts = PodParts::new();
        assert_eq!(parts.post_start(), None);
        parts.symlinks.push("ln -s /a .".to_owned());
        parts.symlinks.push("ln -s /b .".to_owned());
        let lifecycle = parts.post_start().expect("postStart");
        let command = lifecycle
            .post_start
            .and_then(|h| h.exec)
            .and_then(|e| e.command)
            .expect("exec");
        assert_eq!(command, ["sh", "-c", "ln -s /a .;ln -s /b ."]);
    }

    #[test]
    fn usage_value_is_go_json_with_sorted_keys_and_html_escapes() {
        let usage = Usage {
            component: "job",
            component_name: "j",
            instance_type: "it",
            group: "g\u{2028}\u{2029}",
            user: "a<b>&\"c",
        };
        assert_eq!(
            usage.to_annotation_value(),
            r#"{"component":"job","component_name":"j","group":"g\u2028\u2029","instance_type":"it","user":"a\u003cb\u003e\u0026\"c"}"#
        );
    }

    #[test]
    fn group_volume_link_needs_a_working_dir() {
        let attrs = GroupAttributes {
            enabled_shared_volume: Some(true),
            ..GroupAttributes::default()
        };
        let mut parts = PodParts::new();
        add_group_volumes(
            &mut parts,
            &[GroupVolume {
                name: "g1",
                attributes: &attrs,
            }],
            "g1",
            "",
        );
        assert_eq!(parts.volumes.len(), 1);
        assert!(parts.symlinks.is_empty());
    }

    #[test]
    fn image_choice_for_cpu_has_no_secret_when_empty() {
        let image: Image = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "img"},
            "spec": {"url": "a", "urlForGpu": "b", "pullSecret": ""}}))
        .expect("image");
        let cpu = ImageChoice::for_gpu(&image, Gpu::ZERO).expect("url");
        assert_eq!((cpu.url.as_str(), cpu.pull_secret.as_deref()), ("a", None));
        assert_eq!(cpu.image_pull_secrets(), None);
        let gpu = ImageChoice::for_gpu(&image, Gpu::from_count(2)).expect("url");
        assert_eq!(gpu.url, "b");
        let none: Image = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "img"}, "spec": {}}))
        .expect("image");
        let err = ImageChoice::for_gpu(&none, Gpu::from_count(1)).expect_err("no url");
        assert!(
            matches!(err, Error::InvalidField { ref field, .. } if field == "images/img spec.urlForGpu")
        );
    }
}
