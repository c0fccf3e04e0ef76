//! Group shared volumes: the objects behind a `primehub-group` claim, and its readiness.
//!
//! PrimeHub gives a group (and a `pv` dataset) a `ReadWriteMany` volume in one of two ways
//! (reference `primehub-controllers.md` §3.1, console `K8sGroupPvc`):
//!
//! - **NFS mode** (PrimeHub's default: no `PRIMEHUB_GROUP_VOLUME_STORAGE_CLASS`). The API
//!   creates the claim `project-<groupPath>` (or `dataset-<volumeName>`) with the annotations
//!   [`ANNOTATION_GROUP`] and [`ANNOTATION_STORAGE_CLASS`], storage class `""` and a label
//!   selector `{primehub-group, primehub-namespace}`. PrimeHub's metacontroller hooks
//!   `nfs-for-pvc` and `group-pv` then make an NFS server for it — the Service and StatefulSet
//!   `nfs-<claim>` ([`desired_service`], [`desired_stateful_set`]), the server's data on a
//!   `ReadWriteOnce` claim of the class the annotation names — and a PersistentVolume
//!   `<namespace>-nfs-<claim>` pointing at the Service's cluster IP ([`desired_volume`]),
//!   which the claim binds to through its selector. The functions here build those objects
//!   exactly as the hooks emit them (names, labels, annotations, ports, mount options, capacity,
//!   storage class, image), so that an existing install's objects are the ones a controller
//!   finds and adopts.
//! - **Storage-class mode** (a class that gives `ReadWriteMany` itself, PrimeHub's
//!   `primehub.sharedVolumeStorageClass`). The API creates the claim with that class and
//!   *without* the annotations and selector, so no NFS server is made: the class's provisioner
//!   makes the volume. [`is_group_volume_claim`] is false for such a claim; only
//!   [`shared_volume_state`] applies to it.
//!
//! Beyond PrimeHub: [`shared_volume_state`] says how far a shared volume has come
//! ([`SharedVolumeState`]: `Pending`, `Bound`, `Ready`, `Failed` with the reason taken from the
//! claim, the StatefulSet or the volume), one pure function that the controller's `/metrics` and
//! the API's `Group.sharedVolumeState` both call. PrimeHub shows none.
//!
//! Owner references: the Service and the StatefulSet are owned by the claim (a controller
//! reference, as metacontroller sets it), so deleting the claim removes them. The
//! PersistentVolume is cluster-scoped and a namespaced claim cannot own it; it carries no owner
//! reference and the label [`LABEL_VOLUME_CLAIM`] (ours; PrimeHub's labels are kept) naming its
//! claim, by which a controller finds and removes it when the claim is gone.
//!
//! ```
//! use k8s_openapi::api::core::v1::PersistentVolumeClaim;
//! use primehub_model::group_volume::{self as gv, NfsServerConfig, SharedVolumeState};
//!
//! // The claim PrimeHub's API writes for the group `ML_Team` in namespace `hub`.
//! let claim: PersistentVolumeClaim = serde_json::from_value(serde_json::json!({
//!     "metadata": {"name": "project-ml-team", "namespace": "hub", "uid": "u-1",
//!         "annotations": {"primehub-group": "ml-team", "primehub-group-sc": "standard"}},
//!     "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": "",
//!         "resources": {"requests": {"storage": "10Gi"}},
//!         "selector": {"matchLabels": {"primehub-group": "ml-team", "primehub-namespace": "hub"}}}
//! }))?;
//! assert!(gv::is_group_volume_claim(&claim));
//!
//! let mut service = gv::desired_service(&claim)?;
//! let server = gv::desired_stateful_set(&claim, &NfsServerConfig::default())?;
//! assert_eq!(service.metadata.name.as_deref(), Some("nfs-project-ml-team"));
//! assert_eq!(server.metadata.name.as_deref(), Some("nfs-project-ml-team"));
//!
//! // The volume needs the Service's cluster IP, which the API server assigns.
//! assert!(gv::desired_volume(&service)?.is_none());
//! service.spec.as_mut().map(|s| s.cluster_ip = Some("10.0.0.7".into()));
//! let volume = gv::desired_volume(&service)?.expect("a cluster IP");
//! assert_eq!(volume.metadata.name.as_deref(), Some("hub-nfs-project-ml-team"));
//! assert_eq!(volume.spec.and_then(|s| s.nfs).map(|n| n.server).as_deref(), Some("10.0.0.7"));
//!
//! // Nothing running yet: the volume is pending.
//! assert_eq!(gv::shared_volume_state(&claim, Some(&server), None), SharedVolumeState::Pending);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::Resource;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::error::{Error, Result};

/// The claim annotation that asks for an NFS-backed shared volume; its value is the group's
/// path (`primehub-group: ml-team`) or, for a `pv` dataset, the claim's name.
pub const ANNOTATION_GROUP: &str = "primehub-group";
/// The claim annotation naming the storage class of the NFS server's own `ReadWriteOnce`
/// claim (PrimeHub's `PRIMEHUB_GROUP_SC`); [`DEFAULT_BACKING_STORAGE_CLASS`] when absent.
pub const ANNOTATION_STORAGE_CLASS: &str = "primehub-group-sc";
/// The claim (and Service) annotation with the NFS mount options, comma-separated;
/// [`DEFAULT_MOUNT_OPTIONS`] when absent.
pub const ANNOTATION_MOUNT_OPTIONS: &str = "primehub-group-mount-options";
/// The Service annotation carrying the claim's requested storage to the volume.
pub const ANNOTATION_CAPACITY: &str = "primehub-group-capacity";
/// The volume's (and the claim selector's) label with the claim's namespace.
pub const LABEL_NAMESPACE: &str = "primehub-namespace";
/// Ours, not PrimeHub's: the volume's label naming its claim (in the namespace of
/// [`LABEL_NAMESPACE`]), by which the controller finds the volumes to remove.
pub const LABEL_VOLUME_CLAIM: &str = "primehub.io/group-volume-claim";
/// The mount options when the claim names none.
pub const DEFAULT_MOUNT_OPTIONS: &str = "nfsvers=4.1";
/// The NFS server's claim's storage class when the claim names none (the hook's default).
pub const DEFAULT_BACKING_STORAGE_CLASS: &str = "rook-block";
/// PrimeHub's chart default NFS server image (`groupvolume.nfs.image`).
pub const DEFAULT_NFS_IMAGE: &str = "registry.k8s.io/volume-nfs:0.8";
/// PrimeHub's chart default pull policy of the NFS server image.
pub const DEFAULT_NFS_IMAGE_PULL_POLICY: &str = "IfNotPresent";
/// The service account PrimeHub's hook runs the NFS server as (its chart creates it).
pub const NFS_SERVICE_ACCOUNT: &str = "primehub-groupvolume";
/// The NFS server's ports: `(name, port)`.
pub const NFS_PORTS: [(&str, i32); 3] = [("nfs", 2049), ("mountd", 20048), ("rpcbind", 111)];

/// How the NFS servers run: PrimeHub's `groupvolume.nfs.image.*` chart values and the service
/// account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NfsServerConfig {
    /// The image, `<repository>:<tag>`.
    pub image: String,
    /// The image pull policy (`IfNotPresent`, `Always`, `Never`).
    pub image_pull_policy: String,
    /// The pods' service account; `None` leaves the namespace's default. PrimeHub's hook uses
    /// [`NFS_SERVICE_ACCOUNT`], which must exist in the namespace.
    pub service_account: Option<String>,
}

impl Default for NfsServerConfig {
    /// PrimeHub's chart defaults.
    fn default() -> Self {
        NfsServerConfig {
            image: DEFAULT_NFS_IMAGE.to_owned(),
            image_pull_policy: DEFAULT_NFS_IMAGE_PULL_POLICY.to_owned(),
            service_account: Some(NFS_SERVICE_ACCOUNT.to_owned()),
        }
    }
}

/// Whether `claim` asks for an NFS-backed shared volume (it has the [`ANNOTATION_GROUP`]
/// annotation, whatever its value).
pub fn is_group_volume_claim(claim: &PersistentVolumeClaim) -> bool {
    claim
        .metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key(ANNOTATION_GROUP))
}

/// The name of the NFS Service and StatefulSet of the claim `claim`: `nfs-<claim>`.
pub fn server_name(claim: &str) -> String {
    format!("nfs-{claim}")
}

/// The name of the volume of the claim `claim` in `namespace`: `<namespace>-nfs-<claim>`
/// (PrimeHub names it after the Service).
pub fn volume_name(namespace: &str, claim: &str) -> String {
    format!("{namespace}-{}", server_name(claim))
}

fn missing(field: &str) -> Error {
    Error::InvalidField {
        field: field.to_owned(),
        rule: "required for a group volume".to_owned(),
    }
}

fn typed<T: DeserializeOwned>(what: &str, value: Value) -> Result<T> {
    serde_json::from_value(value).map_err(|e| Error::Serialization {
        what: what.to_owned(),
        message: e.to_string(),
    })
}

struct ClaimView<'a> {
    name: &'a str,
    group: &'a str,
    annotations: &'a BTreeMap<String, String>,
}

fn claim_view(claim: &PersistentVolumeClaim) -> Result<ClaimView<'_>> {
    let name = claim
        .metadata
        .name
        .as_deref()
        .ok_or_else(|| missing("metadata.name"))?;
    let annotations = claim
        .metadata
        .annotations
        .as_ref()
        .ok_or_else(|| missing("metadata.annotations"))?;
    let group = annotations
        .get(ANNOTATION_GROUP)
        .ok_or_else(|| missing("metadata.annotations.primehub-group"))?;
    Ok(ClaimView {
        name,
        group,
        annotations,
    })
}

fn mount_options(annotations: &BTreeMap<String, String>) -> &str {
    annotations
        .get(ANNOTATION_MOUNT_OPTIONS)
        .map_or(DEFAULT_MOUNT_OPTIONS, String::as_str)
}

/// The claim as the children's controller owner, as metacontroller writes it (`controller` and
/// `blockOwnerDeletion` true): `claim` needs its uid (read it from an API server).
pub fn claim_owner(claim: &PersistentVolumeClaim) -> Result<OwnerReference> {
    let mut owner = claim
        .controller_owner_ref(&())
        .ok_or_else(|| missing("metadata.uid"))?;
    owner.block_owner_deletion = Some(true);
    Ok(owner)
}

fn server_selector(group: &str) -> Value {
    json!({"role": "nfs-server", "app": "primehub-group", "primehub-group": group})
}

/// The NFS Service `nfs-<claim>` of an annotated claim, as PrimeHub's `nfs-for-pvc` hook emits
/// it: annotations `primehub-group` (copied), `primehub-group-mount-options` (the claim's, or
/// [`DEFAULT_MOUNT_OPTIONS`]) and `primehub-group-capacity` (the claim's storage request);
/// selector `role=nfs-server, app=primehub-group, primehub-group=<group>`; ports
/// [`NFS_PORTS`]; owned by the claim. The namespace is the claim's.
///
/// # Errors
///
/// A claim without a name, uid or the [`ANNOTATION_GROUP`] annotation.
pub fn desired_service(claim: &PersistentVolumeClaim) -> Result<Service> {
    let view = claim_view(claim)?;
    let capacity = claim
        .spec
        .as_ref()
        .and_then(|s| s.resources.as_ref())
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage"))
        .map(|q| q.0.clone())
        .ok_or_else(|| missing("spec.resources.requests.storage"))?;
    let ports: Vec<Value> = NFS_PORTS
        .iter()
        .map(|(name, port)| json!({"name": name, "port": port}))
        .collect();
    typed(
        "Service",
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": server_name(view.name),
                "namespace": claim.metadata.namespace,
                "annotations": {
                    ANNOTATION_GROUP: view.group,
                    ANNOTATION_MOUNT_OPTIONS: mount_options(view.annotations),
                    ANNOTATION_CAPACITY: capacity,
                },
                "ownerReferences": [claim_owner(claim)?],
            },
            "spec": {"selector": server_selector(view.group), "ports": ports},
        }),
    )
}

/// The NFS StatefulSet `nfs-<claim>` of an annotated claim, as PrimeHub's `nfs-for-pvc` hook
/// emits it: one replica, `serviceName: nfs-server`, its own label `primehub-group` holding the
/// *claim's name* (the hook's inconsistency, kept) while the selector and pod labels hold the
/// group; preferred anti-affinity between NFS servers per node; a privileged `nfs-server`
/// container (cpu `50m`, memory `256Mi` limits, [`NFS_PORTS`], `/exports`) of `config`'s
/// image; the claim template `data` (`ReadWriteOnce`, the class of [`ANNOTATION_STORAGE_CLASS`]
/// or [`DEFAULT_BACKING_STORAGE_CLASS`], the claim's resources). Owned by the claim.
///
/// # Errors
///
/// A claim without a name, uid, spec or the [`ANNOTATION_GROUP`] annotation.
pub fn desired_stateful_set(
    claim: &PersistentVolumeClaim,
    config: &NfsServerConfig,
) -> Result<StatefulSet> {
    let view = claim_view(claim)?;
    let resources = claim
        .spec
        .as_ref()
        .and_then(|s| s.resources.as_ref())
        .ok_or_else(|| missing("spec.resources"))?;
    let backing_class = view
        .annotations
        .get(ANNOTATION_STORAGE_CLASS)
        .map_or(DEFAULT_BACKING_STORAGE_CLASS, String::as_str);
    let ports: Vec<Value> = NFS_PORTS
        .iter()
        .map(|(name, port)| json!({"name": name, "containerPort": port}))
        .collect();
    let mut pod_spec = json!({
        "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
            "weight": 1,
            "podAffinityTerm": {
                "topologyKey": "kubernetes.io/hostname",
                "labelSelector": {"matchExpressions": [
                    {"key": "role", "operator": "In", "values": ["nfs-server"]}
                ]},
            },
        }]}},
        "terminationGracePeriodSeconds": 30,
        "containers": [{
            "name": "nfs-server",
            "image": config.image,
            "imagePullPolicy": config.image_pull_policy,
            "ports": ports,
            "securityContext": {"privileged": true},
            "resources": {"limits": {"cpu": "50m", "memory": "256Mi"}},
            "volumeMounts": [{"mountPath": "/exports", "name": "data"}],
        }],
    });
    if let (Some(account), Some(spec)) = (&config.service_account, pod_spec.as_object_mut()) {
        spec.insert("serviceAccountName".to_owned(), json!(account));
    }
    typed(
        "StatefulSet",
        json!({
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {
                "name": server_name(view.name),
                "namespace": claim.metadata.namespace,
                "labels": {"role": "nfs-server", "app": "primehub-group", "primehub-group": view.name},
                "ownerReferences": [claim_owner(claim)?],
            },
            "spec": {
                "replicas": 1,
                "serviceName": "nfs-server",
                "selector": {"matchLabels": server_selector(view.group)},
                "template": {
                    "metadata": {"labels": server_selector(view.group)},
                    "spec": pod_spec,
                },
                "volumeClaimTemplates": [{
                    "metadata": {"name": "data"},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "storageClassName": backing_class,
                        "resources": resources,
                    },
                }],
            },
        }),
    )
}

/// The PersistentVolume `<namespace>-nfs-<claim>` behind an NFS Service made by
/// [`desired_service`], as PrimeHub's `group-pv` hook emits it: labels `primehub-group` (the
/// Service's annotation) and `primehub-namespace`, plus ours [`LABEL_VOLUME_CLAIM`];
/// `ReadWriteMany`; capacity from `primehub-group-capacity`; the mount options split on `,`;
/// `nfs: {server: <clusterIP>, path: /}`. No owner reference (a namespaced owner cannot own a
/// cluster-scoped object), no reclaim policy (the API server's default, `Retain`, for a
/// volume made by hand). The hook's non-standard `spec.selector` is left out: it is not a field
/// of a PersistentVolume and the API server drops it.
///
/// `None` while the Service has no cluster IP yet (the API server assigns it on create).
///
/// # Errors
///
/// A Service without a name, namespace, or the `primehub-group` / `primehub-group-capacity`
/// annotations, or whose name is not `nfs-<claim>`.
pub fn desired_volume(service: &Service) -> Result<Option<PersistentVolume>> {
    let name = service
        .metadata
        .name
        .as_deref()
        .ok_or_else(|| missing("metadata.name"))?;
    let claim = name
        .strip_prefix("nfs-")
        .ok_or_else(|| Error::InvalidField {
            field: "metadata.name".to_owned(),
            rule: format!("{name:?} is not the NFS Service of a group volume (nfs-<claim>)"),
        })?;
    let namespace = service
        .metadata
        .namespace
        .as_deref()
        .ok_or_else(|| missing("metadata.namespace"))?;
    let annotations = service
        .metadata
        .annotations
        .as_ref()
        .ok_or_else(|| missing("metadata.annotations"))?;
    let group = annotations
        .get(ANNOTATION_GROUP)
        .ok_or_else(|| missing("metadata.annotations.primehub-group"))?;
    let capacity = annotations
        .get(ANNOTATION_CAPACITY)
        .ok_or_else(|| missing("metadata.annotations.primehub-group-capacity"))?;
    let Some(ip) = service
        .spec
        .as_ref()
        .and_then(|s| s.cluster_ip.as_deref())
        .filter(|ip| !ip.is_empty() && *ip != "None")
    else {
        return Ok(None);
    };
    let options: Vec<&str> = mount_options(annotations).split(',').collect();
    typed(
        "PersistentVolume",
        json!({
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {
                "name": volume_name(namespace, claim),
                "labels": {
                    ANNOTATION_GROUP: group,
                    LABEL_NAMESPACE: namespace,
                    LABEL_VOLUME_CLAIM: claim,
                },
            },
            "spec": {
                "accessModes": ["ReadWriteMany"],
                "capacity": {"storage": capacity},
                "mountOptions": options,
                "nfs": {"server": ip, "path": "/"},
            },
        }),
    )
    .map(Some)
}

/// How far a group's shared volume has come (ours; PrimeHub shows none).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SharedVolumeState {
    /// Being made: the NFS server or the volume does not exist yet, or the claim is not bound.
    Pending,
    /// The claim is bound to its volume, but the NFS server is not ready.
    Bound,
    /// The claim is bound and (NFS mode) its server has a ready replica: pods can mount it.
    Ready,
    /// It cannot become ready without help.
    Failed {
        /// Why, naming the object (`claim project-x: …`, `statefulset nfs-project-x: …`,
        /// `volume hub-nfs-project-x: …`).
        reason: String,
    },
}

impl SharedVolumeState {
    /// The state's name: `Pending`, `Bound`, `Ready` or `Failed`.
    pub fn name(&self) -> &'static str {
        match self {
            SharedVolumeState::Pending => "Pending",
            SharedVolumeState::Bound => "Bound",
            SharedVolumeState::Ready => "Ready",
            SharedVolumeState::Failed { .. } => "Failed",
        }
    }

    /// Every state's name, in the order above.
    pub const NAMES: [&'static str; 4] = ["Pending", "Bound", "Ready", "Failed"];
}

fn failed(reason: String) -> SharedVolumeState {
    SharedVolumeState::Failed { reason }
}

/// The state of the shared volume behind `claim`, from the claim and (NFS mode) its
/// StatefulSet and volume as read from the API server. Rules, in order:
///
/// 1. the claim's phase `Lost` → `Failed` (`claim <name>: lost its volume <volumeName>`);
/// 2. storage-class mode (no [`ANNOTATION_GROUP`]): `Bound` → `Ready`, otherwise `Pending`;
/// 3. the claim bound to a volume that is not `<namespace>-nfs-<claim>` → `Failed`;
/// 4. the volume's phase `Failed` → `Failed` with its `status.message` (or `reason`);
/// 5. a StatefulSet condition `*Failure*` that is `True` → `Failed` with its reason and
///    message;
/// 6. the claim `Bound` → `Ready` when the StatefulSet has a ready replica, else `Bound`;
/// 7. otherwise (server or volume missing, claim not bound yet) → `Pending`.
pub fn shared_volume_state(
    claim: &PersistentVolumeClaim,
    server: Option<&StatefulSet>,
    volume: Option<&PersistentVolume>,
) -> SharedVolumeState {
    let name = claim.metadata.name.as_deref().unwrap_or_default();
    let phase = claim
        .status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("Pending");
    let bound_to = claim
        .spec
        .as_ref()
        .and_then(|s| s.volume_name.as_deref())
        .filter(|v| !v.is_empty());
    if phase == "Lost" {
        return failed(format!(
            "claim {name}: lost its volume {}",
            bound_to.unwrap_or("(none)")
        ));
    }
    if !is_group_volume_claim(claim) {
        return if phase == "Bound" {
            SharedVolumeState::Ready
        } else {
            SharedVolumeState::Pending
        };
    }
    let namespace = claim.metadata.namespace.as_deref().unwrap_or_default();
    let ours = volume_name(namespace, name);
    if let Some(other) = bound_to.filter(|v| *v != ours) {
        return failed(format!(
            "claim {name}: bound to volume {other}, not the group volume {ours}"
        ));
    }
    if let Some(status) = volume.and_then(|v| v.status.as_ref())
        && status.phase.as_deref() == Some("Failed")
    {
        let why = status
            .message
            .as_deref()
            .or(status.reason.as_deref())
            .unwrap_or("failed");
        return failed(format!("volume {ours}: {why}"));
    }
    if let Some(condition) = server
        .and_then(|s| s.status.as_ref())
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| {
            c.iter().find(|c| {
                c.type_.as_deref().is_some_and(|t| t.contains("Failure"))
                    && c.status.as_deref() == Some("True")
            })
        })
    {
        let why = [condition.reason.as_deref(), condition.message.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(": ");
        return failed(format!("statefulset {}: {why}", server_name(name)));
    }
    if phase == "Bound" {
        let ready = server
            .and_then(|s| s.status.as_ref())
            .and_then(|s| s.ready_replicas)
            .unwrap_or(0);
        return if ready >= 1 {
            SharedVolumeState::Ready
        } else {
            SharedVolumeState::Bound
        };
    }
    SharedVolumeState::Pending
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(extra: Value) -> PersistentVolumeClaim {
        let mut base = json!({
            "metadata": {"name": "project-ml-team", "namespace": "hub", "uid": "uid-1",
                "annotations": {"primehub-group": "ml-team", "primehub-group-sc": "standard"}},
            "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": "",
                "resources": {"requests": {"storage": "10Gi"}},
                "selector": {"matchLabels": {"primehub-group": "ml-team", "primehub-namespace": "hub"}}}
        });
        merge(&mut base, extra);
        serde_json::from_value(base).unwrap()
    }

    fn merge(base: &mut Value, patch: Value) {
        match (base, patch) {
            (Value::Object(b), Value::Object(p)) => {
                for (k, v) in p {
                    if v.is_null() {
                        b.remove(&k);
                    } else {
                        merge(b.entry(k).or_insert(Value::Null), v);
                    }
                }
            }
            (b, p) => *b = p,
        }
    }

    fn to_json<T: serde::Serialize>(t: &T) -> Value {
        serde_json::to_value(t).unwrap()
    }

    #[test]
    fn the_claim_is_recognised_by_the_annotation_key() {
        assert!(is_group_volume_claim(&claim(json!({}))));
        let plain = claim(json!({"metadata": {"annotations": null}}));
        assert!(!is_group_volume_claim(&plain));
        let empty = claim(json!({"metadata": {"annotations": {"primehub-group": ""}}}));
        assert!(is_group_volume_claim(&empty));
    }

    #[test]
    fn service_is_the_hooks() {
        let s = to_json(&desired_service(&claim(json!({}))).unwrap());
        assert_eq!(
            s,
            json!({
                "apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "nfs-project-ml-team", "namespace": "hub",
                    "annotations": {"primehub-group": "ml-team",
                        "primehub-group-mount-options": "nfsvers=4.1",
                        "primehub-group-capacity": "10Gi"},
                    "ownerReferences": [{"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                        "name": "project-ml-team", "uid": "uid-1",
                        "controller": true, "blockOwnerDeletion": true}]},
                "spec": {"selector": {"role": "nfs-server", "app": "primehub-group", "primehub-group": "ml-team"},
                    "ports": [{"name": "nfs", "port": 2049}, {"name": "mountd", "port": 20048},
                        {"name": "rpcbind", "port": 111}]}
            })
        );
    }

    #[test]
    fn service_copies_the_claims_mount_options() {
        let c = claim(
            json!({"metadata": {"annotations": {"primehub-group-mount-options": "nfsvers=3,hard"}}}),
        );
        let s = desired_service(&c).unwrap();
        assert_eq!(
            s.metadata.annotations.unwrap()["primehub-group-mount-options"],
            "nfsvers=3,hard"
        );
    }

    #[test]
    fn children_need_a_uid_and_the_annotation() {
        let no_uid = claim(json!({"metadata": {"uid": null}}));
        assert!(desired_service(&no_uid).is_err());
        assert!(desired_stateful_set(&no_uid, &NfsServerConfig::default()).is_err());
        let plain = claim(json!({"metadata": {"annotations": null}}));
        assert!(desired_service(&plain).is_err());
    }

    #[test]
    fn statefulset_is_the_hooks() {
        let s =
            to_json(&desired_stateful_set(&claim(json!({})), &NfsServerConfig::default()).unwrap());
        let selector =
            json!({"role": "nfs-server", "app": "primehub-group", "primehub-group": "ml-team"});
        assert_eq!(
            s,
            json!({
                "apiVersion": "apps/v1", "kind": "StatefulSet",
                "metadata": {"name": "nfs-project-ml-team", "namespace": "hub",
                    "labels": {"role": "nfs-server", "app": "primehub-group", "primehub-group": "project-ml-team"},
                    "ownerReferences": [{"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                        "name": "project-ml-team", "uid": "uid-1",
                        "controller": true, "blockOwnerDeletion": true}]},
                "spec": {
                    "replicas": 1, "serviceName": "nfs-server",
                    "selector": {"matchLabels": selector},
                    "template": {"metadata": {"labels": selector}, "spec": {
                        "serviceAccountName": "primehub-groupvolume",
                        "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
                            "weight": 1, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname",
                                "labelSelector": {"matchExpressions": [{"key": "role", "operator": "In", "values": ["nfs-server"]}]}}}]}},
                        "terminationGracePeriodSeconds": 30,
                        "containers": [{"name": "nfs-server", "image": "registry.k8s.io/volume-nfs:0.8",
                            "imagePullPolicy": "IfNotPresent",
                            "ports": [{"name": "nfs", "containerPort": 2049}, {"name": "mountd", "containerPort": 20048},
                                {"name": "rpcbind", "containerPort": 111}],
                            "securityContext": {"privileged": true},
                            "resources": {"limits": {"cpu": "50m", "memory": "256Mi"}},
                            "volumeMounts": [{"mountPath": "/exports", "name": "data"}]}]}},
                    "volumeClaimTemplates": [{"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                        "metadata": {"name": "data"}, "spec": {
                        "accessModes": ["ReadWriteOnce"], "storageClassName": "standard",
                        "resources": {"requests": {"storage": "10Gi"}}}}]
                }
            })
        );
    }

    #[test]
    fn statefulset_backing_class_defaults_to_rook_block_and_image_is_configurable() {
        let c = claim(json!({"metadata": {"annotations": {"primehub-group-sc": null}}}));
        let config = NfsServerConfig {
            image: "nfs:1".into(),
            image_pull_policy: "Always".into(),
            service_account: None,
        };
        let s = to_json(&desired_stateful_set(&c, &config).unwrap());
        assert_eq!(
            s.pointer("/spec/volumeClaimTemplates/0/spec/storageClassName"),
            Some(&json!("rook-block"))
        );
        let container = s.pointer("/spec/template/spec/containers/0").unwrap();
        assert_eq!(container["image"], "nfs:1");
        assert_eq!(container["imagePullPolicy"], "Always");
        assert!(
            s.pointer("/spec/template/spec/serviceAccountName")
                .is_none()
        );
    }

    #[test]
    fn volume_is_the_hooks_and_waits_for_the_cluster_ip() {
        let c = claim(
            json!({"metadata": {"annotations": {"primehub-group-mount-options": "nfsvers=4.1,noatime"}}}),
        );
        let mut service = desired_service(&c).unwrap();
        assert_eq!(desired_volume(&service).unwrap(), None);
        if let Some(spec) = service.spec.as_mut() {
            spec.cluster_ip = Some("None".into());
        }
        assert_eq!(desired_volume(&service).unwrap(), None);
        if let Some(spec) = service.spec.as_mut() {
            spec.cluster_ip = Some("10.0.0.9".into());
        }
        let v = to_json(&desired_volume(&service).unwrap().unwrap());
        assert_eq!(
            v,
            json!({
                "apiVersion": "v1", "kind": "PersistentVolume",
                "metadata": {"name": "hub-nfs-project-ml-team", "labels": {
                    "primehub-group": "ml-team", "primehub-namespace": "hub",
                    "primehub.io/group-volume-claim": "project-ml-team"}},
                "spec": {"accessModes": ["ReadWriteMany"], "capacity": {"storage": "10Gi"},
                    "mountOptions": ["nfsvers=4.1", "noatime"],
                    "nfs": {"server": "10.0.0.9", "path": "/"}}
            })
        );
    }

    #[test]
    fn volume_of_a_foreign_service_is_refused() {
        let mut service = desired_service(&claim(json!({}))).unwrap();
        service.metadata.name = Some("web".into());
        assert!(desired_volume(&service).is_err());
    }

    #[test]
    fn a_dataset_claim_is_named_after_itself() {
        // `pv` datasets: the annotation holds the claim's name.
        let c = claim(json!({"metadata": {"name": "dataset-mnist",
            "annotations": {"primehub-group": "dataset-mnist"}}}));
        let s = desired_stateful_set(&c, &NfsServerConfig::default()).unwrap();
        assert_eq!(s.metadata.name.as_deref(), Some("nfs-dataset-mnist"));
        assert_eq!(volume_name("hub", "dataset-mnist"), "hub-nfs-dataset-mnist");
    }

    fn server(ready: i32, conditions: Value) -> StatefulSet {
        serde_json::from_value(json!({"metadata": {"name": "nfs-project-ml-team"},
            "status": {"replicas": 1, "readyReplicas": ready, "conditions": conditions}}))
        .unwrap()
    }

    fn volume(status: Value) -> PersistentVolume {
        serde_json::from_value(
            json!({"metadata": {"name": "hub-nfs-project-ml-team"}, "status": status}),
        )
        .unwrap()
    }

    fn bound() -> PersistentVolumeClaim {
        claim(
            json!({"spec": {"volumeName": "hub-nfs-project-ml-team"}, "status": {"phase": "Bound"}}),
        )
    }

    #[test]
    fn state_pending_while_things_are_made() {
        let c = claim(json!({"status": {"phase": "Pending"}}));
        assert_eq!(
            shared_volume_state(&c, None, None),
            SharedVolumeState::Pending
        );
        let s = server(1, json!([]));
        assert_eq!(
            shared_volume_state(&c, Some(&s), None),
            SharedVolumeState::Pending
        );
        let v = volume(json!({"phase": "Available"}));
        assert_eq!(
            shared_volume_state(&c, Some(&s), Some(&v)),
            SharedVolumeState::Pending
        );
    }

    #[test]
    fn state_bound_until_the_server_is_ready() {
        let v = volume(json!({"phase": "Bound"}));
        assert_eq!(
            shared_volume_state(&bound(), None, Some(&v)),
            SharedVolumeState::Bound
        );
        let s = server(0, json!([]));
        assert_eq!(
            shared_volume_state(&bound(), Some(&s), Some(&v)),
            SharedVolumeState::Bound
        );
        let s = server(1, json!([]));
        assert_eq!(
            shared_volume_state(&bound(), Some(&s), Some(&v)),
            SharedVolumeState::Ready
        );
    }

    #[test]
    fn state_failed_from_the_claim() {
        let lost = claim(
            json!({"spec": {"volumeName": "hub-nfs-project-ml-team"}, "status": {"phase": "Lost"}}),
        );
        assert_eq!(
            shared_volume_state(&lost, None, None),
            failed("claim project-ml-team: lost its volume hub-nfs-project-ml-team".into())
        );
        let elsewhere =
            claim(json!({"spec": {"volumeName": "pv-7"}, "status": {"phase": "Bound"}}));
        assert_eq!(
            shared_volume_state(&elsewhere, Some(&server(1, json!([]))), None),
            failed("claim project-ml-team: bound to volume pv-7, not the group volume hub-nfs-project-ml-team".into())
        );
    }

    #[test]
    fn state_failed_from_the_volume() {
        let v = volume(json!({"phase": "Failed", "message": "recycler failed"}));
        assert_eq!(
            shared_volume_state(&bound(), Some(&server(1, json!([]))), Some(&v)),
            failed("volume hub-nfs-project-ml-team: recycler failed".into())
        );
    }

    #[test]
    fn state_failed_from_the_statefulset() {
        let s = server(
            0,
            json!([{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
                "message": "pods \"nfs-project-ml-team-0\" is forbidden"}]),
        );
        assert_eq!(
            shared_volume_state(&claim(json!({})), Some(&s), None),
            failed(
                "statefulset nfs-project-ml-team: FailedCreate: pods \"nfs-project-ml-team-0\" is forbidden"
                    .into()
            )
        );
        // A condition that is not True is no failure.
        let s = server(1, json!([{"type": "ReplicaFailure", "status": "False"}]));
        assert_eq!(
            shared_volume_state(&bound(), Some(&s), None),
            SharedVolumeState::Ready
        );
    }

    #[test]
    fn state_of_a_storage_class_claim_is_the_claims_phase() {
        let c = claim(
            json!({"metadata": {"annotations": null}, "spec": {"selector": null,
            "storageClassName": "rwx"}}),
        );
        assert_eq!(
            shared_volume_state(&c, None, None),
            SharedVolumeState::Pending
        );
        let b = claim(
            json!({"metadata": {"annotations": null}, "spec": {"volumeName": "pvc-123"},
            "status": {"phase": "Bound"}}),
        );
        assert_eq!(
            shared_volume_state(&b, None, None),
            SharedVolumeState::Ready
        );
    }

    #[test]
    fn state_names() {
        assert_eq!(SharedVolumeState::Bound.name(), "Bound");
        assert_eq!(failed("x".into()).name(), "Failed");
        assert_eq!(SharedVolumeState::NAMES.len(), 4);
    }
}
