//! The resource types the fake cluster serves: PrimeHub's built-ins and custom resources.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{
    ConfigMap, Event, Namespace, PersistentVolume, PersistentVolumeClaim, Pod, Secret, Service,
    ServiceAccount,
};
use k8s_openapi::api::events::v1::Event as EventsV1Event;
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

use crate::api::ResourceKind;

/// A served resource type and how the fake treats it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedKind {
    /// The resource type.
    pub kind: ResourceKind,
    /// Whether it has a `/status` subresource (main writes keep the status, status writes keep
    /// everything else).
    pub status_subresource: bool,
    /// The singular name (for discovery).
    pub singular: String,
    /// The field labels a CRD version adds to field selectors (its `selectableFields`,
    /// without the leading dot); empty for built-in kinds.
    pub selectable_fields: Vec<String>,
}

/// Key of a served kind: (group, plural).
pub(crate) type KindKey = (String, String);

/// The registry of served kinds.
#[derive(Debug, Clone, Default)]
pub(crate) struct Kinds {
    by_key: BTreeMap<KindKey, ServedKind>,
}

fn served<K>(status: bool) -> ServedKind
where
    K: kube::Resource<DynamicType = ()>,
    K::Scope: 'static,
{
    let kind = ResourceKind::of::<K>();
    ServedKind {
        singular: kind.kind.to_ascii_lowercase(),
        kind,
        status_subresource: status,
        selectable_fields: Vec::new(),
    }
}

impl Kinds {
    /// Built-ins PrimeHub uses and every `primehub.io` kind.
    pub(crate) fn standard() -> Kinds {
        let mut kinds = Kinds::default();
        for s in [
            served::<Namespace>(false),
            served::<Pod>(true),
            served::<Service>(true),
            served::<PersistentVolumeClaim>(true),
            served::<Secret>(false),
            served::<ConfigMap>(false),
            served::<Deployment>(true),
            served::<StatefulSet>(true),
            served::<DaemonSet>(true),
            served::<Ingress>(true),
            served::<NetworkPolicy>(false),
            served::<Lease>(false),
            served::<Event>(false),
            served::<EventsV1Event>(false),
            served::<PersistentVolume>(true),
            served::<ServiceAccount>(false),
            served::<Role>(false),
            served::<RoleBinding>(false),
            served::<CustomResourceDefinition>(true),
        ] {
            kinds.insert(s);
        }
        for crd in primehub_model::crd::all() {
            for s in from_crd(&crd) {
                kinds.insert(s);
            }
        }
        kinds
    }

    pub(crate) fn insert(&mut self, kind: ServedKind) {
        self.by_key
            .insert((kind.kind.group.clone(), kind.kind.plural.clone()), kind);
    }

    /// The kind served under `group` (empty for core) and `plural`, at `version`.
    pub(crate) fn find(&self, group: &str, version: &str, plural: &str) -> Option<&ServedKind> {
        self.by_key
            .get(&(group.to_owned(), plural.to_owned()))
            .filter(|k| k.kind.version == version)
    }

    /// The kind for a descriptor (matched by group and plural).
    pub(crate) fn lookup(&self, kind: &ResourceKind) -> Option<&ServedKind> {
        self.by_key.get(&(kind.group.clone(), kind.plural.clone()))
    }

    pub(crate) fn all(&self) -> impl Iterator<Item = &ServedKind> {
        self.by_key.values()
    }
}

/// The served kinds a CustomResourceDefinition describes (one per served version).
pub(crate) fn from_crd(crd: &CustomResourceDefinition) -> Vec<ServedKind> {
    let spec = &crd.spec;
    spec.versions
        .iter()
        .filter(|v| v.served)
        .map(|v| ServedKind {
            kind: ResourceKind {
                group: spec.group.clone(),
                version: v.name.clone(),
                kind: spec.names.kind.clone(),
                plural: spec.names.plural.clone(),
                namespaced: spec.scope == "Namespaced",
            },
            status_subresource: v.subresources.as_ref().is_some_and(|s| s.status.is_some()),
            singular: spec
                .names
                .singular
                .clone()
                .unwrap_or_else(|| spec.names.kind.to_ascii_lowercase()),
            selectable_fields: v
                .selectable_fields
                .iter()
                .flatten()
                .map(|f| f.json_path.trim_start_matches('.').to_owned())
                .collect(),
        })
        .collect()
}
