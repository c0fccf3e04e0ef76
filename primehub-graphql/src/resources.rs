//! The write side of PrimeHub's custom resources, shared by images, instance types and
//! datasets: role first, then the custom resource, then the role mappings — and, unlike
//! PrimeHub, every multi-step write undoes what it did when a later step fails (DESIGN §4.4).
//! Also the PVCs behind group shared volumes and `pv` datasets.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use kube::Resource;
use primehub_model::attributes::Capacity;
use primehub_model::roles::RoleKind;
use primehub_reconcile::{DeleteOptions, KubeError, Typed};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, ErrorCode, Result};
use crate::state::ApiState;

/// How long a write waits for the stores to show it before answering anyway.
pub const READ_YOUR_WRITES_TIMEOUT: Duration = Duration::from_secs(5);

/// `Resource already exist`, PrimeHub's conflict.
pub fn resource_conflict() -> Error {
    Error::Conflict {
        code: ErrorCode::ResourceConflict,
        message: "Resource already exist".into(),
    }
}

/// The roles a new resource is mapped to: `(group id, writable)`.
#[derive(Debug, Clone, Default)]
pub struct Grants {
    /// Map the role to `everyone`.
    pub global: bool,
    /// Map the role (or its `ds:rw:` role when writable) to these groups.
    pub groups: Vec<(String, bool)>,
}

/// Typed access to a kind in PrimeHub's namespace.
pub fn typed<K>(state: &ApiState) -> Typed<K>
where
    K: Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
        + Serialize
        + DeserializeOwned
        + Clone
        + Send
        + Sync
        + 'static,
{
    Typed::namespaced(state.kube.clone(), &state.config.namespace)
}

fn role_name(state: &ApiState, kind: RoleKind, name: &str, writable: bool) -> String {
    state
        .config
        .naming
        .resource_role(kind, writable, name)
        .to_role_name()
}

/// Creates `role` unless it exists; says whether it was created (so a rollback deletes only
/// roles this request made).
async fn ensure_role(state: &ApiState, role: &str) -> Result<bool> {
    match state.admin.create_role(role, None).await {
        Ok(()) => Ok(true),
        Err(e) if e.is_conflict() => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Deletes roles created by a failed request, logging what cannot be undone.
async fn delete_roles(state: &ApiState, roles: &[String]) {
    for role in roles {
        if let Err(e) = state.admin.delete_role(role).await
            && !e.is_not_found()
        {
            tracing::error!(role = %role, error = %e, "rollback: could not delete the role");
        }
    }
}

/// Role → custom resource → role mappings, as PrimeHub; on failure everything made is undone.
/// `exists` says whether the custom resource exists now (a conflict is reported before any
/// write).
pub async fn create_resource<K>(
    state: &ApiState,
    kind: RoleKind,
    name: &str,
    object: &K,
    grants: &Grants,
) -> Result<Arc<K>>
where
    K: Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
        + Serialize
        + DeserializeOwned
        + Clone
        + Send
        + Sync
        + std::fmt::Debug
        + primehub_reconcile::stores::StoredKind
        + 'static,
{
    let api = typed::<K>(state);
    let mut created_roles = Vec::new();
    let role = role_name(state, kind, name, false);
    if ensure_role(state, &role).await? {
        created_roles.push(role.clone());
    }
    let created = match api.create(object).await {
        Ok(created) => created,
        Err(e) => {
            delete_roles(state, &created_roles).await;
            return Err(match e {
                KubeError::AlreadyExists { .. } => resource_conflict(),
                other => other.into(),
            });
        }
    };
    // The grants are a regrant of the new resource: all or nothing on their own.
    let global = grants.global.then_some(true);
    let mapped = regrant(state, kind, name, global, &grants.groups, &[]).await;
    if let Err(e) = mapped {
        tracing::warn!(name, error = %e, "granting the new resource failed: rolling back");
        if let Err(undo) = api.delete(name, &DeleteOptions::default()).await
            && !matches!(undo, KubeError::NotFound { .. })
        {
            tracing::error!(name, error = %undo, "rollback: could not delete the resource");
        }
        delete_roles(state, &created_roles).await;
        return Err(e);
    }
    let version = created.meta().resource_version.clone().unwrap_or_default();
    state
        .stores
        .wait_for_version::<K>(name, &version, READ_YOUR_WRITES_TIMEOUT)
        .await;
    Ok(Arc::new(created))
}

/// Role-mapping changes [`regrant`] made, so a caller whose next step fails can undo them.
#[derive(Debug, Default)]
#[must_use = "undo the mappings when a later step of the request fails"]
pub struct Regranted {
    /// `(group, role, added)` in the order applied.
    steps: Vec<(String, String, bool)>,
    /// Roles created on the way.
    created_roles: Vec<String>,
}

impl Regranted {
    /// Reverts every mapping change, newest first, and deletes the roles created on the way;
    /// what cannot be undone is logged.
    pub async fn undo(self, state: &ApiState) {
        for (group, role, added) in self.steps.iter().rev() {
            if let Err(e) = set_mapping(state, group, role, !added).await {
                tracing::error!(group = %group, role = %role, error = %e,
                    "rollback: could not restore the role mapping");
            }
        }
        delete_roles(state, &self.created_roles).await;
    }

    async fn ensure_role(&mut self, state: &ApiState, role: &str) -> Result<()> {
        if ensure_role(state, role).await? {
            self.created_roles.push(role.to_owned());
        }
        Ok(())
    }

    async fn add(&mut self, state: &ApiState, group: &str, role: &str) -> Result<()> {
        self.change(state, group, role, true).await
    }

    async fn remove(&mut self, state: &ApiState, group: &str, role: &str) -> Result<()> {
        self.change(state, group, role, false).await
    }

    async fn change(&mut self, state: &ApiState, group: &str, role: &str, add: bool) -> Result<()> {
        set_mapping(state, group, role, add).await?;
        self.steps.push((group.to_owned(), role.to_owned(), add));
        Ok(())
    }
}

/// Maps (`add`) or unmaps `role` on `group`.
async fn set_mapping(state: &ApiState, group: &str, role: &str, add: bool) -> Result<()> {
    let roles = [role.to_owned()];
    let done = if add {
        state.admin.add_group_roles(group, &roles).await
    } else {
        state.admin.remove_group_roles(group, &roles).await
    };
    Ok(done?)
}

/// Changes the role mappings of an existing resource: `global` adds or removes the `everyone`
/// mapping; `connect` maps (read or `ds:rw:`), `disconnect` unmaps both. All or nothing: when
/// a step fails, the steps made are undone before the error is returned; on success the
/// changes come back so a later failing step of the request can undo them.
pub async fn regrant(
    state: &ApiState,
    kind: RoleKind,
    name: &str,
    global: Option<bool>,
    connect: &[(String, bool)],
    disconnect: &[String],
) -> Result<Regranted> {
    let mut done = Regranted::default();
    match regrant_steps(state, kind, name, global, connect, disconnect, &mut done).await {
        Ok(()) => Ok(done),
        Err(e) => {
            tracing::warn!(name, error = %e, "changing the role mappings failed: rolling back");
            done.undo(state).await;
            Err(e)
        }
    }
}

async fn regrant_steps(
    state: &ApiState,
    kind: RoleKind,
    name: &str,
    global: Option<bool>,
    connect: &[(String, bool)],
    disconnect: &[String],
    done: &mut Regranted,
) -> Result<()> {
    let read = role_name(state, kind, name, false);
    let rw = role_name(state, kind, name, true);
    let snap = state.keycloak.snapshot();
    if let Some(global) = global
        && let Some(everyone) = snap.everyone_group_id()
    {
        let has = snap.group_roles(everyone).contains(&read);
        if global && !has {
            done.ensure_role(state, &read).await?;
            done.add(state, everyone, &read).await?;
        } else if !global && has {
            done.remove(state, everyone, &read).await?;
        }
    }
    for (group, writable) in connect {
        let roles = snap.group_roles(group);
        let (add, remove) = if *writable {
            (&rw, &read)
        } else {
            (&read, &rw)
        };
        if *writable {
            done.ensure_role(state, &rw).await?;
        }
        if !roles.contains(add) {
            done.add(state, group, add).await?;
        }
        if kind == RoleKind::Dataset && roles.contains(remove) {
            done.remove(state, group, remove).await?;
        }
    }
    for group in disconnect {
        let roles = snap.group_roles(group);
        for role in [&read, &rw] {
            if roles.contains(role) {
                done.remove(state, group, role).await?;
            }
        }
    }
    Ok(())
}

/// Merge-patches a resource and waits until the stores show the result.
pub async fn patch_resource<K>(
    state: &ApiState,
    name: &str,
    patch: serde_json::Value,
) -> Result<Arc<K>>
where
    K: Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
        + Serialize
        + DeserializeOwned
        + Clone
        + Send
        + Sync
        + std::fmt::Debug
        + primehub_reconcile::stores::StoredKind
        + 'static,
{
    let api = typed::<K>(state);
    let patched = api
        .patch(name, &primehub_reconcile::PatchBody::Merge(patch))
        .await?;
    let version = patched.meta().resource_version.clone().unwrap_or_default();
    state
        .stores
        .wait_for_version::<K>(name, &version, READ_YOUR_WRITES_TIMEOUT)
        .await;
    Ok(Arc::new(patched))
}

/// Deletes a resource: its role(s) first (Keycloak drops their mappings), then the object.
pub async fn delete_resource<K>(state: &ApiState, kind: RoleKind, name: &str) -> Result<()>
where
    K: Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
        + Serialize
        + DeserializeOwned
        + Clone
        + Send
        + Sync
        + std::fmt::Debug
        + primehub_reconcile::stores::StoredKind
        + 'static,
{
    for writable in [false, true] {
        let role = role_name(state, kind, name, writable);
        match state.admin.delete_role(&role).await {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
    }
    let api = typed::<K>(state);
    match api.delete(name, &DeleteOptions::default()).await {
        Ok(()) | Err(KubeError::NotFound { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    state
        .stores
        .wait_for_deletion::<K>(name, READ_YOUR_WRITES_TIMEOUT)
        .await;
    Ok(())
}

/// The PVC behind a group's shared volume or a `pv` dataset, as PrimeHub's console writes it:
/// `ReadWriteMany`, `<n>Gi`; without a storage class, the `primehub-group` annotations and
/// label selector the volume controllers bind it by.
pub fn volume_claim(state: &ApiState, pvc_name: &str, capacity: Capacity) -> PersistentVolumeClaim {
    let namespace = state.config.namespace.clone();
    let mut claim: PersistentVolumeClaim = PersistentVolumeClaim::default();
    claim.metadata.name = Some(pvc_name.to_owned());
    claim.metadata.namespace = Some(namespace.clone());
    let storage_class = state.config.storage_class.clone().filter(|s| !s.is_empty());
    let selector = if storage_class.is_none() {
        claim.metadata.annotations = Some(BTreeMap::from([
            ("primehub-group".to_owned(), pvc_name.to_owned()),
            ("primehub-group-sc".to_owned(), "standard".to_owned()),
        ]));
        Some(
            k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector {
                match_labels: Some(BTreeMap::from([
                    ("primehub-group".to_owned(), pvc_name.to_owned()),
                    ("primehub-namespace".to_owned(), namespace),
                ])),
                ..Default::default()
            },
        )
    } else {
        None
    };
    claim.spec = Some(k8s_openapi::api::core::v1::PersistentVolumeClaimSpec {
        access_modes: Some(vec!["ReadWriteMany".to_owned()]),
        resources: Some(k8s_openapi::api::core::v1::VolumeResourceRequirements {
            requests: Some(BTreeMap::from([(
                "storage".to_owned(),
                k8s_openapi::apimachinery::pkg::api::resource::Quantity(capacity.to_pvc_quantity()),
            )])),
            ..Default::default()
        }),
        selector,
        storage_class_name: Some(storage_class.unwrap_or_default()),
        ..Default::default()
    });
    claim
}

/// Creates the group's shared-volume claim `project-<group>`; a claim that already exists is an
/// error (it is not ours to adopt silently).
pub async fn create_group_volume(state: &ApiState, group: &str, capacity: Capacity) -> Result<()> {
    let name = primehub_model::names::project_pvc_name(group);
    let claim = volume_claim(state, &name, capacity);
    typed::<PersistentVolumeClaim>(state)
        .create(&claim)
        .await
        .map_err(|e| match e {
            KubeError::AlreadyExists { .. } => Error::Conflict {
                code: ErrorCode::ResourceConflict,
                message: format!("PVC {name} already exist"),
            },
            other => other.into(),
        })?;
    Ok(())
}

/// Creates the group's claim unless it exists (turning the shared volume on later).
pub async fn ensure_group_volume(state: &ApiState, group: &str, capacity: Capacity) -> Result<()> {
    match create_group_volume(state, group, capacity).await {
        Err(Error::Conflict { .. }) => Ok(()),
        other => other,
    }
}

/// Deletes the group's claim, if any (failures are logged: the group is gone already).
pub async fn delete_group_volume(state: &ApiState, group: &str) {
    let name = primehub_model::names::project_pvc_name(group);
    match typed::<PersistentVolumeClaim>(state)
        .delete(&name, &DeleteOptions::default())
        .await
    {
        Ok(()) | Err(KubeError::NotFound { .. }) => {}
        Err(e) => {
            tracing::error!(pvc = %name, error = %e, "could not delete the group volume claim")
        }
    }
}
