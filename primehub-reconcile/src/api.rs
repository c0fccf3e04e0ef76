//! The Kubernetes access trait: object-safe, on dynamic objects, with a typed layer on top.
//!
//! Design: the trait [`KubeApi`] works on [`DynamicObject`]s of a [`ResourceKind`] (group,
//! version, kind, plural, scope), so one `Arc<dyn KubeApi>` serves every type — built-in kinds
//! and PrimeHub's custom resources alike — and the fake needs to implement each operation once.
//! [`Typed`] wraps it for a concrete `kube::Resource` type (`Typed::<Pod>::new(api)`),
//! converting through serde; that is where controllers live.

use std::any::TypeId;
use std::fmt;

use async_trait::async_trait;
use futures::stream::BoxStream;
use kube::api::DynamicObject;
use kube::core::NamespaceResourceScope;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{KubeError, Result};

/// A resource type: what the API server calls `group/version, Kind=…, resource=…`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResourceKind {
    /// API group, empty for the core group.
    pub group: String,
    /// Version, for example `v1` or `v1alpha1`.
    pub version: String,
    /// Kind, for example `Pod` or `PhJob`.
    pub kind: String,
    /// Plural resource name, for example `pods` or `phjobs`.
    pub plural: String,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
}

impl ResourceKind {
    /// The descriptor of a `kube::Resource` type with a static type (k8s-openapi types and
    /// `CustomResource` derives).
    pub fn of<K>() -> ResourceKind
    where
        K: kube::Resource<DynamicType = ()>,
        K::Scope: 'static,
    {
        ResourceKind {
            group: K::group(&()).into_owned(),
            version: K::version(&()).into_owned(),
            kind: K::kind(&()).into_owned(),
            plural: K::plural(&()).into_owned(),
            namespaced: TypeId::of::<K::Scope>() == TypeId::of::<NamespaceResourceScope>(),
        }
    }

    /// `group/version`, or just `version` for the core group (the `apiVersion` field).
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// kube's `ApiResource` for this kind.
    pub fn api_resource(&self) -> kube::discovery::ApiResource {
        kube::discovery::ApiResource {
            group: self.group.clone(),
            version: self.version.clone(),
            api_version: self.api_version(),
            kind: self.kind.clone(),
            plural: self.plural.clone(),
        }
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.group.is_empty() {
            f.write_str(&self.plural)
        } else {
            write!(f, "{}.{}", self.plural, self.group)
        }
    }
}

/// Options of a list or watch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// A label selector in Kubernetes syntax: equality (`a=b`, `a==b`, `a!=b`) and set-based
    /// (`a in (x,y)`, `a notin (x)`, `a`, `!a`) requirements joined by commas.
    pub label_selector: Option<String>,
    /// A field selector; implementations support at least `metadata.name=` and
    /// `metadata.namespace=`.
    pub field_selector: Option<String>,
    /// Page size; `None` for everything.
    pub limit: Option<u32>,
    /// The continue token of the previous page.
    pub continue_token: Option<String>,
}

/// A page of a list.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectList {
    /// The objects, ordered by namespace then name.
    pub items: Vec<DynamicObject>,
    /// The list's resourceVersion: watch from here to see every later change.
    pub resource_version: String,
    /// Set when more pages follow.
    pub continue_token: Option<String>,
}

/// A patch.
#[derive(Debug, Clone, PartialEq)]
pub enum PatchBody {
    /// A JSON merge patch (RFC 7386), `application/merge-patch+json`.
    Merge(serde_json::Value),
    /// A JSON patch (RFC 6902), `application/json-patch+json`.
    Json(json_patch::Patch),
}

/// How dependents are deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    /// Delete dependents after the owner, in the background (Kubernetes' default for most kinds).
    Background,
    /// Delete dependents first; the owner waits with the `foregroundDeletion` finalizer.
    Foreground,
    /// Leave dependents, removing their owner references.
    Orphan,
}

/// Options of a delete.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteOptions {
    /// Propagation policy; `None` for the server's default.
    pub propagation: Option<Propagation>,
    /// Delete only if the object still has this uid.
    pub precondition_uid: Option<String>,
    /// Delete only if the object still has this resourceVersion.
    pub precondition_resource_version: Option<String>,
    /// Grace period; `Some(0)` deletes at once.
    pub grace_period_seconds: Option<u32>,
}

/// One event of a watch.
#[derive(Debug, Clone, PartialEq)]
pub enum WatchEvent {
    /// An object was created (or existed when the watch started from an old version).
    Added(DynamicObject),
    /// An object changed.
    Modified(DynamicObject),
    /// An object was deleted (its last state).
    Deleted(DynamicObject),
    /// A bookmark: everything up to this resourceVersion has been delivered.
    Bookmark {
        /// The resourceVersion reached.
        resource_version: String,
    },
}

/// A stream of watch events; ends when the server closes the watch. A too-old resourceVersion
/// yields [`KubeError::Gone`].
pub type WatchStream = BoxStream<'static, Result<WatchEvent>>;

/// Kubernetes access for PrimeHub: the operations controllers and the API server use.
///
/// Implementations: [`crate::kube_client::KubeClient`] (kube-rs, a real API server) and, behind
/// the `fake` feature, `crate::fake::FakeCluster` (in memory, with an HTTP face). Both pass
/// [`crate::conformance`]. Object-safe: hold it as `Arc<dyn KubeApi>`.
///
/// `namespace` is `None` for cluster-scoped kinds (and, on `list`/`watch`, for all namespaces).
#[async_trait]
pub trait KubeApi: Send + Sync {
    /// The object `name`.
    async fn get(
        &self,
        kind: &ResourceKind,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<DynamicObject>;

    /// Objects matching `options`, ordered by namespace then name.
    async fn list(
        &self,
        kind: &ResourceKind,
        namespace: Option<&str>,
        options: &ListOptions,
    ) -> Result<ObjectList>;

    /// Creates `object` (its `metadata.name` is required unless `generateName` is set); the
    /// server fills uid, resourceVersion, creationTimestamp and generation.
    async fn create(
        &self,
        kind: &ResourceKind,
        namespace: Option<&str>,
        object: &DynamicObject,
    ) -> Result<DynamicObject>;

    /// Replaces `object`; when it carries a resourceVersion that is not current the write is a
    /// [`KubeError::Conflict`]. The status is ignored when the kind has a status subresource.
    async fn replace(
        &self,
        kind: &ResourceKind,
        namespace: Option<&str>,
        object: &DynamicObject,
    ) -> Result<DynamicObject>;

    /// Patches the object `name` (status ignored when the kind has a status subresource).
    async fn patch(
        &self,
        kind: &ResourceKind,
        namespace: Option<&str>,
        name: &str,
        patch: &PatchBody,
    ) -> Result<DynamicObject>;

    /// Replaces the status through the status subresource (everything but the status is
    /// ignored); resourceVersion conflicts as for [`replace`](Self::replace).
    async fn replace_status(
        &self,
        kind: &ResourceKind,
        namespace: Option<&str>,
        object: &DynamicObject,
    ) -> Result<DynamicObject>;

    /// Patches the status through the status subresource.
    async fn patch_status(
        &self,
        kind: &ResourceKind,
        namespace: Option<&str>,
        name: &str,
        patch: &PatchBody,
    ) -> Result<DynamicObject>;

    /// Deletes the object `name`. With finalizers the object stays, with a deletionTimestamp,
    /// until they are removed.
    async fn delete(
        &self,
        kind: &ResourceKind,
        namespace: Option<&str>,
        name: &str,
        options: &DeleteOptions,
    ) -> Result<()>;

    /// Watches changes after `resource_version` (from a list); `""` or `"0"` starts with
    /// `Added` events for every current object.
    async fn watch(
        &self,
        kind: &ResourceKind,
        namespace: Option<&str>,
        options: &ListOptions,
        resource_version: &str,
    ) -> Result<WatchStream>;
}

/// A typed view of a [`KubeApi`] for one `kube::Resource` type.
pub struct Typed<'a, K> {
    api: &'a dyn KubeApi,
    kind: ResourceKind,
    _k: std::marker::PhantomData<fn() -> K>,
}

fn to_dynamic<K: Serialize>(object: &K) -> Result<DynamicObject> {
    serde_json::to_value(object)
        .and_then(serde_json::from_value)
        .map_err(|e| KubeError::BadRequest {
            message: format!("cannot convert the object: {e}"),
        })
}

fn from_dynamic<K: DeserializeOwned>(object: DynamicObject) -> Result<K> {
    serde_json::to_value(object)
        .and_then(serde_json::from_value)
        .map_err(|e| KubeError::Unexpected {
            status: 200,
            message: format!("the server returned an object this type cannot read: {e}"),
        })
}

impl<'a, K> Typed<'a, K>
where
    K: kube::Resource<DynamicType = ()> + Serialize + DeserializeOwned,
    K::Scope: 'static,
{
    /// The typed view of `api` for `K`.
    pub fn new(api: &'a dyn KubeApi) -> Typed<'a, K> {
        Typed {
            api,
            kind: ResourceKind::of::<K>(),
            _k: std::marker::PhantomData,
        }
    }

    /// The resource kind.
    pub fn kind(&self) -> &ResourceKind {
        &self.kind
    }

    /// See [`KubeApi::get`].
    pub async fn get(&self, namespace: Option<&str>, name: &str) -> Result<K> {
        from_dynamic(self.api.get(&self.kind, namespace, name).await?)
    }

    /// See [`KubeApi::list`]; the items converted.
    pub async fn list(&self, namespace: Option<&str>, options: &ListOptions) -> Result<Vec<K>> {
        self.api
            .list(&self.kind, namespace, options)
            .await?
            .items
            .into_iter()
            .map(from_dynamic)
            .collect()
    }

    /// See [`KubeApi::create`].
    pub async fn create(&self, namespace: Option<&str>, object: &K) -> Result<K> {
        from_dynamic(
            self.api
                .create(&self.kind, namespace, &to_dynamic(object)?)
                .await?,
        )
    }

    /// See [`KubeApi::replace`].
    pub async fn replace(&self, namespace: Option<&str>, object: &K) -> Result<K> {
        from_dynamic(
            self.api
                .replace(&self.kind, namespace, &to_dynamic(object)?)
                .await?,
        )
    }

    /// See [`KubeApi::patch`].
    pub async fn patch(&self, namespace: Option<&str>, name: &str, patch: &PatchBody) -> Result<K> {
        from_dynamic(self.api.patch(&self.kind, namespace, name, patch).await?)
    }

    /// See [`KubeApi::replace_status`].
    pub async fn replace_status(&self, namespace: Option<&str>, object: &K) -> Result<K> {
        from_dynamic(
            self.api
                .replace_status(&self.kind, namespace, &to_dynamic(object)?)
                .await?,
        )
    }

    /// See [`KubeApi::patch_status`].
    pub async fn patch_status(
        &self,
        namespace: Option<&str>,
        name: &str,
        patch: &PatchBody,
    ) -> Result<K> {
        from_dynamic(
            self.api
                .patch_status(&self.kind, namespace, name, patch)
                .await?,
        )
    }

    /// See [`KubeApi::delete`].
    pub async fn delete(
        &self,
        namespace: Option<&str>,
        name: &str,
        options: &DeleteOptions,
    ) -> Result<()> {
        self.api.delete(&self.kind, namespace, name, options).await
    }
}

/// Converts a dynamic object into `K` (for watch events and lists).
pub fn decode<K: DeserializeOwned>(object: DynamicObject) -> Result<K> {
    from_dynamic(object)
}

/// Converts `K` into a dynamic object.
pub fn encode<K: Serialize>(object: &K) -> Result<DynamicObject> {
    to_dynamic(object)
}
