//! `Dataset` (`datasets.primehub.io`, shown as "Volume" in newer UIs): a data volume of type
//! `pv`, `nfs`, `hostPath`, `git` or `env`.
//!
//! Mount behaviour is tuned by annotations (`dataset.primehub.io/*`); [`Dataset`] has an
//! accessor for each, with PrimeHub's defaults. PrimeHub's CRD preserves unknown fields, so spec
//! keys this model does not know are kept in [`DatasetSpec::extra`].

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

super::string_enum! {
    /// `spec.type` of a `Dataset`.
    pub enum DatasetType {
        /// `env`: environment variables only.
        Env = "env",
        /// `git`: a git repository synced by git-sync.
        Git = "git",
        /// `pv`: a PVC `dataset-<volumeName>`.
        Pv = "pv",
        /// `hostPath`: a directory of the node.
        HostPath = "hostPath",
        /// `nfs`: an NFS export.
        Nfs = "nfs",
    }
}

super::string_enum! {
    /// `spec.pv.provisioning` of a `pv` `Dataset`.
    pub enum PvProvisioning {
        /// `auto` (default): PrimeHub creates the PVC.
        Auto = "auto",
        /// `manual`: the admin pre-creates the PV/PVC.
        Manual = "manual",
    }
}

/// Annotation: mount root for pv/nfs/hostPath datasets and symlink root for git datasets.
pub const ANNOTATION_MOUNT_ROOT: &str = "dataset.primehub.io/mountRoot";
/// Default of `ANNOTATION_MOUNT_ROOT`.
pub const DEFAULT_MOUNT_ROOT: &str = "/datasets/";
/// Annotation: `"true"` to symlink the dataset into the home directory (default false).
pub const ANNOTATION_HOME_SYMLINK: &str = "dataset.primehub.io/homeSymlink";
/// Annotation: `"true"` to mount only when the launch group is bound to the dataset
/// (default false).
pub const ANNOTATION_LAUNCH_GROUP_ONLY: &str = "dataset.primehub.io/launchGroupOnly";
/// Annotation: host directory written by the git-sync daemonset.
pub const ANNOTATION_GIT_SYNC_HOST_ROOT: &str = "dataset.primehub.io/gitSyncHostRoot";
/// Default of `ANNOTATION_GIT_SYNC_HOST_ROOT`.
pub const DEFAULT_GIT_SYNC_HOST_ROOT: &str = "/home/dataset/";
/// Annotation: in-pod mount root for git datasets.
pub const ANNOTATION_GIT_SYNC_ROOT: &str = "dataset.primehub.io/gitSyncRoot";
/// Default of `ANNOTATION_GIT_SYNC_ROOT`.
pub const DEFAULT_GIT_SYNC_ROOT: &str = "/gitsync/";
/// Annotation: `"true"` when the upload server is enabled (pv datasets).
pub const ANNOTATION_UPLOAD_SERVER: &str = "dataset.primehub.io/uploadServer";
/// Annotation: name of the basic-auth Secret of the upload server.
pub const ANNOTATION_UPLOAD_SERVER_AUTH_SECRET_NAME: &str =
    "dataset.primehub.io/uploadServerAuthSecretName";
/// Annotation: `"true"` on git datasets (the console writes this un-prefixed key).
pub const ANNOTATION_PRIMEHUB_GITSYNC: &str = "primehub-gitsync";
/// Prefixed spelling of `ANNOTATION_PRIMEHUB_GITSYNC` found in one PrimeHub document; read too.
pub const ANNOTATION_PRIMEHUB_GITSYNC_PREFIXED: &str = "dataset.primehub.io/primehub-gitsync";
/// Prefix of the legacy `spec.volumeName` form `hostpath:<path>` (a hostPath volume, deprecated).
pub const LEGACY_HOSTPATH_VOLUME_PREFIX: &str = "hostpath:";

/// Spec of a `Dataset`.
// kube-derive attributes repeat `type_` across printer columns.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "primehub.io",
    version = "v1alpha1",
    kind = "Dataset",
    plural = "datasets",
    singular = "dataset",
    namespaced,
    derive = "PartialEq",
    doc = "A PrimeHub dataset (volume): pv, nfs, hostPath, git or env.",
    printcolumn(name = "Type", type_ = "string", json_path = ".spec.type"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct DatasetSpec {
    /// `displayName` (defaults to the object name in UIs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// `description`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `type`: `env`, `git`, `pv`, `hostPath` or `nfs`.
    #[serde(rename = "type")]
    #[schemars(regex(pattern = r"^(env|git|pv|hostPath|nfs)$"))]
    pub type_: DatasetType,
    /// `url`: git repository URL (git type).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `variables`: environment variables (env type). A `null` value is kept as `None` (the
    /// console sets a removed key to null on update).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables: Option<BTreeMap<String, Option<String>>>,
    /// `volumeName`: for pv, the PVC is `dataset-<volumeName>`; the legacy form `hostpath:<path>`
    /// means a hostPath volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_name: Option<String>,
    /// `gitsync`: git-sync settings (git type).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gitsync: Option<DatasetGitSync>,
    /// `hostPath`: the node directory (hostPath type).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_path: Option<DatasetHostPath>,
    /// `nfs`: the NFS export (nfs type).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nfs: Option<DatasetNfs>,
    /// `pv`: PVC settings (pv type).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pv: Option<DatasetPv>,
    /// `enableUploadServer` (pv only). Read from a boolean or from the string `"true"`/`"false"`;
    /// written as a string, as the console writes it.
    #[serde(
        default,
        deserialize_with = "super::lenient::option_bool",
        serialize_with = "super::lenient::serialize_option_bool_as_string",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "super::any_value")]
    pub enable_upload_server: Option<bool>,
    /// `access`: legacy field of older consoles (the watcher defaulted it to `everyone`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<String>,
    /// Keys this model does not know, kept verbatim (the CRD preserves unknown fields).
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl DatasetSpec {
    /// A spec of the given type with every other field empty.
    pub fn new(type_: DatasetType) -> Self {
        Self {
            display_name: None,
            description: None,
            type_,
            url: None,
            variables: None,
            volume_name: None,
            gitsync: None,
            host_path: None,
            nfs: None,
            pv: None,
            enable_upload_server: None,
            access: None,
            extra: BTreeMap::new(),
        }
    }

    /// `enableUploadServer`, false when absent.
    pub fn upload_server_enabled(&self) -> bool {
        self.enable_upload_server.unwrap_or(false)
    }

    /// `pv.provisioning`, `PvProvisioning::Auto` when absent.
    pub fn provisioning(&self) -> PvProvisioning {
        self.pv
            .as_ref()
            .and_then(|pv| pv.provisioning.clone())
            .unwrap_or(PvProvisioning::Auto)
    }

    /// The host path of a legacy `volumeName: hostpath:<path>`, if that is the form used.
    pub fn legacy_host_path(&self) -> Option<&str> {
        self.volume_name
            .as_deref()
            .and_then(|v| v.strip_prefix(LEGACY_HOSTPATH_VOLUME_PREFIX))
    }
}

/// `spec.gitsync` of a git `Dataset`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct DatasetGitSync {
    /// `secret`: name of the Secret holding git-sync credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// `spec.hostPath` of a hostPath `Dataset`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct DatasetHostPath {
    /// `path`: directory on the node.
    pub path: String,
}

/// `spec.nfs` of an nfs `Dataset`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct DatasetNfs {
    /// `server`: NFS server host.
    pub server: String,
    /// `path`: exported path.
    pub path: String,
}

/// `spec.pv` of a pv `Dataset`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct DatasetPv {
    /// `provisioning`: `auto` (default) or `manual`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning: Option<PvProvisioning>,
}

fn is_true(value: Option<&str>) -> bool {
    value.is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

impl Dataset {
    /// The value of annotation `key`, if set.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(key))
            .map(String::as_str)
    }

    /// `dataset.primehub.io/mountRoot`, or `/datasets/` when absent or empty.
    pub fn mount_root(&self) -> &str {
        self.annotation(ANNOTATION_MOUNT_ROOT)
            .filter(|v| !v.is_empty())
            .unwrap_or(DEFAULT_MOUNT_ROOT)
    }

    /// `dataset.primehub.io/homeSymlink == "true"` (default false, as the hub spawner does).
    pub fn home_symlink(&self) -> bool {
        is_true(self.annotation(ANNOTATION_HOME_SYMLINK))
    }

    /// `dataset.primehub.io/launchGroupOnly == "true"` (default false): mount only when the
    /// launch group is bound to the dataset.
    pub fn launch_group_only(&self) -> bool {
        is_true(self.annotation(ANNOTATION_LAUNCH_GROUP_ONLY))
    }

    /// `dataset.primehub.io/gitSyncHostRoot`, or `/home/dataset/` when absent or empty.
    pub fn git_sync_host_root(&self) -> &str {
        self.annotation(ANNOTATION_GIT_SYNC_HOST_ROOT)
            .filter(|v| !v.is_empty())
            .unwrap_or(DEFAULT_GIT_SYNC_HOST_ROOT)
    }

    /// `dataset.primehub.io/gitSyncRoot`, or `/gitsync/` when absent or empty.
    pub fn git_sync_root(&self) -> &str {
        self.annotation(ANNOTATION_GIT_SYNC_ROOT)
            .filter(|v| !v.is_empty())
            .unwrap_or(DEFAULT_GIT_SYNC_ROOT)
    }

    /// `dataset.primehub.io/uploadServer == "true"`: the upload server is enabled.
    pub fn upload_server(&self) -> bool {
        is_true(self.annotation(ANNOTATION_UPLOAD_SERVER))
    }

    /// `dataset.primehub.io/uploadServerAuthSecretName`, if set and non-empty.
    pub fn upload_server_auth_secret_name(&self) -> Option<&str> {
        self.annotation(ANNOTATION_UPLOAD_SERVER_AUTH_SECRET_NAME)
            .filter(|v| !v.is_empty())
    }

    /// `primehub-gitsync == "true"` (also read from `dataset.primehub.io/primehub-gitsync`).
    pub fn primehub_gitsync(&self) -> bool {
        is_true(self.annotation(ANNOTATION_PRIMEHUB_GITSYNC))
            || is_true(self.annotation(ANNOTATION_PRIMEHUB_GITSYNC_PREFIXED))
    }

    /// Name of the PVC of a pv dataset: `dataset-<spec.volumeName>`, or `dataset-<name>` when
    /// `volumeName` is empty. `None` for other types and for the legacy `hostpath:` form.
    pub fn pvc_name(&self) -> Option<String> {
        if self.spec.type_ != DatasetType::Pv || self.spec.legacy_host_path().is_some() {
            return None;
        }
        let volume = self
            .spec
            .volume_name
            .as_deref()
            .filter(|v| !v.is_empty())
            .or(self.metadata.name.as_deref())?;
        Some(format!("dataset-{volume}"))
    }
}
