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
use crate::undo::Undo;

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
    let mut role_made = Undo::new();
    role_made
        .ensure_role(state, &role_name(state, kind, name, false))
        .await?;
    let created = match api.create(object).await {
        Ok(created) => created,
        Err(e) => {
            role_made.undo(state).await;
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
        role_made.undo(state).await;
        return Err(e);
    }
    let version = created.meta().resource_version.clone().unwrap_or_default();
    state
        .stores
        .wait_for_version::<K>(name, &version, READ_YOUR_WRITES_TIMEOUT)
        .await;
    Ok(Arc::new(created))
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
) -> Result<Undo> {
    let mut done = Undo::new();
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
    done: &mut Undo,
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
            done.set_mapping(state, everyone, &read, true).await?;
        } else if !global && has {
            done.set_mapping(state, everyone, &read, false).await?;
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
            done.set_mapping(state, group, add, true).await?;
        }
        if kind == RoleKind::Dataset && roles.contains(remove) {
            done.set_mapping(state, group, remove, false).await?;
        }
    }
    for group in disconnect {
        let roles = snap.group_roles(group);
        for role in [&read, &rw] {
            if roles.contains(role) {
                done.set_mapping(state, group, role, false).await?;
            }
        }
    }
    Ok(())
}

/// The JSON merge patch (RFC 7386) that undoes `patch` applied to `before`: every key the patch
/// touches gets its old value back, or `null` (removal) when it had none.
pub fn inverse_merge_patch(
    before: &serde_json::Value,
    patch: &serde_json::Value,
) -> serde_json::Value {
    use serde_json::Value;
    let Value::Object(changes) = patch else {
        return before.clone();
    };
    let old = before.as_object();
    let inverse = changes
        .iter()
        .map(|(key, change)| {
            let was = old.and_then(|o| o.get(key));
            let restore = match (was, change) {
                // A merge into an object is undone key by key.
                (Some(was @ Value::Object(_)), Value::Object(_)) => {
                    inverse_merge_patch(was, change)
                }
                (Some(was), _) => was.clone(),
                (None, _) => Value::Null,
            };
            (key.clone(), restore)
        })
        .collect();
    Value::Object(inverse)
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

/// The PVC behind a group's shared volume or a `pv` dataset, as PrimeHub's console writes it
/// (`K8sGroupPvc`, `K8sDatasetPvc`): `ReadWriteMany`, `<n>Gi`, `storageClassName` the configured
/// class (`""` when none). Without a class (NFS mode) also the annotations `primehub-group:
/// <group>` and `primehub-group-sc: <PRIMEHUB_GROUP_SC>` (left out when unset) and the selector
/// `{primehub-group: <group>, primehub-namespace: <namespace>}` the group-volume controller's
/// PersistentVolume is bound by. `group` is the group's path for a group volume and the claim's
/// own name for a dataset, as in PrimeHub.
pub fn volume_claim(
    state: &ApiState,
    pvc_name: &str,
    group: &str,
    capacity: Capacity,
) -> PersistentVolumeClaim {
    let namespace = state.config.namespace.clone();
    let mut claim: PersistentVolumeClaim = PersistentVolumeClaim::default();
    claim.metadata.name = Some(pvc_name.to_owned());
    claim.metadata.namespace = Some(namespace.clone());
    let storage_class = state.config.storage_class.clone().filter(|s| !s.is_empty());
    let selector = if storage_class.is_none() {
        let mut annotations = BTreeMap::from([("primehub-group".to_owned(), group.to_owned())]);
        if let Some(sc) = &state.config.group_sc {
            annotations.insert("primehub-group-sc".to_owned(), sc.clone());
        }
        claim.metadata.annotations = Some(annotations);
        Some(
            k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector {
                match_labels: Some(BTreeMap::from([
                    ("primehub-group".to_owned(), group.to_owned()),
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

/// Creates the group's shared-volume claim `project-<group>` and waits until the stores show it;
/// a claim that already exists is an error (it is not ours to adopt silently).
pub async fn create_group_volume(state: &ApiState, group: &str, capacity: Capacity) -> Result<()> {
    let name = primehub_model::names::project_pvc_name(group);
    let path = primehub_model::names::group_path(group);
    let claim = volume_claim(state, &name, &path, capacity);
    let created = typed::<PersistentVolumeClaim>(state)
        .create(&claim)
        .await
        .map_err(|e| match e {
            KubeError::AlreadyExists { .. } => Error::Conflict {
                code: ErrorCode::ResourceConflict,
                message: format!("PVC {name} already exist"),
            },
            other => other.into(),
        })?;
    // Read-your-writes: the answer's `sharedVolumeState` reads the claim from the store.
    let version = created.metadata.resource_version.unwrap_or_default();
    state
        .stores
        .wait_for_version::<PersistentVolumeClaim>(&name, &version, READ_YOUR_WRITES_TIMEOUT)
        .await;
    Ok(())
}

/// Deletes the claim `name` in PrimeHub's namespace; one already gone is fine.
pub async fn delete_claim(state: &ApiState, name: &str) -> Result<()> {
    match typed::<PersistentVolumeClaim>(state)
        .delete(name, &DeleteOptions::default())
        .await
    {
        Ok(()) | Err(KubeError::NotFound { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Deletes the group's claim, if any (failures are logged: the group is gone already).
pub async fn delete_group_volume(state: &ApiState, group: &str) {
    let name = primehub_model::names::project_pvc_name(group);
    if let Err(e) = delete_claim(state, &name).await {
        tracing::error!(pvc = %name, error = %e, "could not delete the group volume claim");
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::inverse_merge_patch;

    /// RFC 7386 applied to `target`.
    fn merge(target: &Value, patch: &Value) -> Value {
        let Value::Object(changes) = patch else {
            return patch.clone();
        };
        let mut out = target.as_object().cloned().unwrap_or_default();
        for (key, change) in changes {
            if change.is_null() {
                out.remove(key);
            } else {
                let merged = merge(out.get(key).unwrap_or(&Value::Null), change);
                out.insert(key.clone(), merged);
            }
        }
        Value::Object(out)
    }

    /// JSON documents without nulls (a stored object has none: merging removes them).
    fn document() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            "[a-z]{0,3}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                prop::collection::btree_map("[a-c]", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Patches: like documents, with `null` (removal) allowed as a value.
    fn patch() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            "[a-z]{0,3}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop::collection::btree_map("[a-c]", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect()))
        })
    }

    proptest! {
        #[test]
        fn the_inverse_restores_the_object(
            before in prop::collection::btree_map("[a-c]", document(), 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            changes in prop::collection::btree_map("[a-c]", patch(), 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ) {
            let after = merge(&before, &changes);
            let inverse = inverse_merge_patch(&before, &changes);
            prop_assert_eq!(merge(&after, &inverse), before);
        }
    }

    #[test]
    fn the_inverse_names_only_touched_keys() {
        let before = json!({"spec": {"url": "u", "type": "git"}, "metadata": {"name": "d"}});
        let patch = json!({"spec": {"type": "pv", "pv": {"size": 1}}});
        assert_eq!(
            inverse_merge_patch(&before, &patch),
            json!({"spec": {"type": "git", "pv": null}})
        );
    }
}
