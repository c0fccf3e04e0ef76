//! The Kubernetes access trait: object-safe, on dynamic objects, with a typed layer on top.
//!
//! Design: the trait [`KubeApi`] works on [`DynamicObject`]s of a [`ResourceKind`] (group,
//! version, kind, plural, scope), so one `Arc<dyn KubeApi>` serves every type — built-in kinds
//! and PrimeHub's custom resources alike — and the fake needs to implement each operation once.
//! [`Typed`] wraps it for a concrete `kube::Resource` type in a namespace
//! (`Typed::<Pod>::namespaced(api, "hub")`), converting through serde; that is where
//! controllers live.

use std::any::TypeId;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use kube::api::DynamicObject;
use kube::core::NamespaceResourceScope;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{InvalidCause, KubeError, Result};

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

/// A page of a list: of [`DynamicObject`]s from [`KubeApi::list`], of `K` from
/// [`Typed::list`].
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectList<K = DynamicObject> {
    /// The objects, ordered by namespace then name.
    pub items: Vec<K>,
    /// The list's resourceVersion: watch from here to see every later change.
    pub resource_version: String,
    /// Set when more pages follow: pass it as [`ListOptions::continue_token`].
    pub continue_token: Option<String>,
}

/// A patch.
#[derive(Debug, Clone, PartialEq)]
pub enum PatchBody {
    /// A JSON merge patch (RFC 7386), `application/merge-patch+json`.
    Merge(serde_json::Value),
    /// A JSON patch (RFC 6902), `application/json-patch+json`.
    Json(json_patch::Patch),
    /// A strategic merge patch, `application/strategic-merge-patch+json`: like a merge patch,
    /// but lists whose field declares a patch merge key (a Pod's `containers` by `name`, a
    /// container's `env` by `name`, `ports` by `containerPort`, …) are merged element by
    /// element, `finalizers` are unioned, and the directives `$patch`, `$setElementOrder/…`,
    /// `$retainKeys` and `$deleteFromPrimitiveList/…` are honoured. Built-in kinds only: for
    /// custom resources (the `primehub.io` kinds and any kind from a CRD) the API server
    /// answers 415 Unsupported Media Type.
    Strategic(serde_json::Value),
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

/// One event of a watch: of [`DynamicObject`]s from [`KubeApi::watch`], of `K` from
/// [`Typed::watch`].
#[derive(Debug, Clone, PartialEq)]
pub enum WatchEvent<K = DynamicObject> {
    /// An object was created (or existed when the watch started from an old version).
    Added(K),
    /// An object changed.
    Modified(K),
    /// An object was deleted (its last state).
    Deleted(K),
    /// A bookmark: everything up to this resourceVersion has been delivered.
    Bookmark {
        /// The resourceVersion reached.
        resource_version: String,
    },
}

/// A stream of watch events; ends when the server closes the watch. A too-old resourceVersion
/// yields [`KubeError::Gone`].
pub type WatchStream<K = DynamicObject> = BoxStream<'static, Result<WatchEvent<K>>>;

/// Which part of an object a write goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Subresource {
    /// The object itself; for kinds with a status subresource the status is left as stored.
    #[default]
    Main,
    /// The `/status` subresource: only the status is written, everything else is left as
    /// stored. Kinds without a status subresource answer [`KubeError::NotFound`].
    Status,
}

/// Options of a pod log read ([`KubeApi::logs`]), as `GET …/pods/<name>/log` takes them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogOptions {
    /// The container; may be left out when the pod has exactly one (init containers count).
    pub container: Option<String>,
    /// Keep the stream open and deliver new lines as they are written, until the container
    /// ends (or the server closes the connection).
    pub follow: bool,
    /// Only the last this many lines (of those `since_*` selects); must not be negative.
    pub tail_lines: Option<i64>,
    /// Only lines written in the last this many seconds; must be positive. At most one of
    /// `since_seconds` and `since_time`.
    pub since_seconds: Option<i64>,
    /// Only lines written at or after this time (sent with second precision).
    pub since_time: Option<jiff::Timestamp>,
    /// Prefix every line with its RFC 3339 timestamp (nanosecond precision, trailing zeros
    /// trimmed) and a space, as the kubelet does.
    pub timestamps: bool,
}

/// The checks kube-apiserver makes on `PodLogOptions` (HTTP 422), in its words.
pub(crate) fn validate_log_options(pod: &str, options: &LogOptions) -> Result<()> {
    let mut causes = Vec::new();
    if let Some(tail) = options.tail_lines
        && tail < 0
    {
        causes.push(InvalidCause {
            field: "tailLines".into(),
            reason: "FieldValueInvalid".into(),
            message: format!("Invalid value: {tail}: must be greater than or equal to 0"),
        });
    }
    match (options.since_seconds, options.since_time) {
        (Some(_), Some(_)) => causes.push(InvalidCause {
            field: "[]".into(),
            reason: "FieldValueForbidden".into(),
            message: "Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified"
                .into(),
        }),
        (Some(seconds), None) if seconds < 1 => causes.push(InvalidCause {
            field: "sinceSeconds".into(),
            reason: "FieldValueInvalid".into(),
            message: format!("Invalid value: {seconds}: must be greater than 0"),
        }),
        _ => {}
    }
    if causes.is_empty() {
        return Ok(());
    }
    let parts: Vec<String> = causes
        .iter()
        .map(|c| format!("{}: {}", c.field, c.message))
        .collect();
    let detail = if parts.len() == 1 {
        parts.join("")
    } else {
        format!("[{}]", parts.join(", "))
    };
    Err(KubeError::Invalid {
        message: format!("PodLogOptions {pod:?} is invalid: {detail}"),
        causes,
    })
}

/// A stream of log lines (without the line break); ends when the log does (at once without
/// `follow`).
pub type LogStream = BoxStream<'static, Result<String>>;

/// Kubernetes access for PrimeHub: the operations controllers and the API server use.
///
/// Implementations: [`crate::kube_client::KubeClient`] (kube-rs, a real API server) and, behind
/// the `fake` feature, `crate::fake::FakeCluster` (in memory, with an HTTP face). Both pass
/// [`crate::conformance`]. Object-safe: hold it as `Arc<dyn KubeApi>`; `Arc<T>` and `Box<T>` of
/// an implementation are implementations too, so decorators (a counting or caching client) wrap
/// any of them. With the feature `mock`, `MockKubeApi` is a mockall mock of it.
///
/// `namespace` is `None` for cluster-scoped kinds (and, on `list`/`watch`, for all namespaces);
/// the single-object operations and [`delete_collection`](Self::delete_collection) of a
/// namespaced kind without one are [`KubeError::BadRequest`]. [`Typed`] takes the namespace
/// once.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait KubeApi: Send + Sync {
    /// The object `name`.
    async fn get<'a>(
        &self,
        kind: &ResourceKind,
        namespace: Option<&'a str>,
        name: &str,
    ) -> Result<DynamicObject>;

    /// Objects matching `options`, ordered by namespace then name.
    async fn list<'a>(
        &self,
        kind: &ResourceKind,
        namespace: Option<&'a str>,
        options: &ListOptions,
    ) -> Result<ObjectList>;

    /// Creates `object` (its `metadata.name` is required unless `generateName` is set); the
    /// server fills uid, resourceVersion, creationTimestamp and generation.
    async fn create<'a>(
        &self,
        kind: &ResourceKind,
        namespace: Option<&'a str>,
        object: &DynamicObject,
    ) -> Result<DynamicObject>;

    /// Replaces `object` (the main resource, or only its status with
    /// [`Subresource::Status`]); when it carries a resourceVersion that is not current the
    /// write is a [`KubeError::Conflict`] of kind
    /// [`ResourceVersion`](crate::ConflictKind::ResourceVersion), and a `metadata.uid` that
    /// is not the stored one is a conflict of kind [`Uid`](crate::ConflictKind::Uid).
    async fn replace<'a>(
        &self,
        kind: &ResourceKind,
        namespace: Option<&'a str>,
        object: &DynamicObject,
        subresource: Subresource,
    ) -> Result<DynamicObject>;

    /// Patches the object `name` (the main resource, or only its status with
    /// [`Subresource::Status`]).
    async fn patch<'a>(
        &self,
        kind: &ResourceKind,
        namespace: Option<&'a str>,
        name: &str,
        patch: &PatchBody,
        subresource: Subresource,
    ) -> Result<DynamicObject>;

    /// Deletes the object `name`. With finalizers (or foreground propagation) the object
    /// stays, with a deletionTimestamp, until they are removed. Failed preconditions are conflicts of kind
    /// [`Uid`](crate::ConflictKind::Uid) or
    /// [`ResourceVersion`](crate::ConflictKind::ResourceVersion).
    async fn delete<'a>(
        &self,
        kind: &ResourceKind,
        namespace: Option<&'a str>,
        name: &str,
        options: &DeleteOptions,
    ) -> Result<()>;

    /// Deletes every object in `namespace` that the label and field selectors of `list` select
    /// (`limit` and `continue_token` are ignored), each as [`delete`](Self::delete) with
    /// `options` would, and returns them as kube-apiserver does: as they were listed before the
    /// deletion (objects that finalizers keep are then marked with a deletionTimestamp, which
    /// the returned copies do not show). A namespaced kind needs a namespace (the API server
    /// offers no cluster-wide deletecollection for them).
    async fn delete_collection<'a>(
        &self,
        kind: &ResourceKind,
        namespace: Option<&'a str>,
        list: &ListOptions,
        options: &DeleteOptions,
    ) -> Result<Vec<DynamicObject>>;

    /// Watches changes after `resource_version` (from a list); `""` or `"0"` starts with
    /// `Added` events for every current object.
    async fn watch<'a>(
        &self,
        kind: &ResourceKind,
        namespace: Option<&'a str>,
        options: &ListOptions,
        resource_version: &str,
    ) -> Result<WatchStream>;

    /// Reads the log of a container of the pod `namespace/pod`, line by line.
    ///
    /// Errors as kube-apiserver answers them: a missing pod is [`KubeError::NotFound`]; an
    /// unknown container, or none named when the pod has several, is
    /// [`KubeError::BadRequest`]; a negative `tail_lines`, a `since_seconds` below 1, or both
    /// `since_*` are [`KubeError::Invalid`]. The API server asks the pod's kubelet for the
    /// log: a pod not scheduled to a node has an empty log, and one whose node is gone is
    /// [`KubeError::NotFound`].
    async fn logs(&self, namespace: &str, pod: &str, options: &LogOptions) -> Result<LogStream>;

    /// Replaces the status of `object` through the status subresource:
    /// [`replace`](Self::replace) with [`Subresource::Status`].
    async fn replace_status<'a>(
        &self,
        kind: &ResourceKind,
        namespace: Option<&'a str>,
        object: &DynamicObject,
    ) -> Result<DynamicObject> {
        self.replace(kind, namespace, object, Subresource::Status)
            .await
    }

    /// Patches the status of `name` through the status subresource:
    /// [`patch`](Self::patch) with [`Subresource::Status`].
    async fn patch_status<'a>(
        &self,
        kind: &ResourceKind,
        namespace: Option<&'a str>,
        name: &str,
        patch: &PatchBody,
    ) -> Result<DynamicObject> {
        self.patch(kind, namespace, name, patch, Subresource::Status)
            .await
    }

    /// The whole log as one string (lines joined with line breaks, each line ending in one):
    /// [`logs`](Self::logs) collected. With `follow` it returns when the log ends.
    async fn logs_string(
        &self,
        namespace: &str,
        pod: &str,
        options: &LogOptions,
    ) -> Result<String> {
        let mut lines = self.logs(namespace, pod, options).await?;
        let mut text = String::new();
        while let Some(line) = lines.next().await {
            text.push_str(&line?);
            text.push('\n');
        }
        Ok(text)
    }
}

/// Delegates every method, including the provided ones, so a wrapped implementation's own
/// versions of those are kept.
macro_rules! delegate_kube_api {
    ($wrapper:ident) => {
        #[async_trait]
        impl<T: KubeApi + ?Sized> KubeApi for $wrapper<T> {
            async fn get<'a>(
                &self,
                kind: &ResourceKind,
                namespace: Option<&'a str>,
                name: &str,
            ) -> Result<DynamicObject> {
                (**self).get(kind, namespace, name).await
            }

            async fn list<'a>(
                &self,
                kind: &ResourceKind,
                namespace: Option<&'a str>,
                options: &ListOptions,
            ) -> Result<ObjectList> {
                (**self).list(kind, namespace, options).await
            }

            async fn create<'a>(
                &self,
                kind: &ResourceKind,
                namespace: Option<&'a str>,
                object: &DynamicObject,
            ) -> Result<DynamicObject> {
                (**self).create(kind, namespace, object).await
            }

            async fn replace<'a>(
                &self,
                kind: &ResourceKind,
                namespace: Option<&'a str>,
                object: &DynamicObject,
                subresource: Subresource,
            ) -> Result<DynamicObject> {
                (**self).replace(kind, namespace, object, subresource).await
            }

            async fn patch<'a>(
                &self,
                kind: &ResourceKind,
                namespace: Option<&'a str>,
                name: &str,
                patch: &PatchBody,
                subresource: Subresource,
            ) -> Result<DynamicObject> {
                (**self)
                    .patch(kind, namespace, name, patch, subresource)
                    .await
            }

            async fn delete<'a>(
                &self,
                kind: &ResourceKind,
                namespace: Option<&'a str>,
                name: &str,
                options: &DeleteOptions,
            ) -> Result<()> {
                (**self).delete(kind, namespace, name, options).await
            }

            async fn delete_collection<'a>(
                &self,
                kind: &ResourceKind,
                namespace: Option<&'a str>,
                list: &ListOptions,
                options: &DeleteOptions,
            ) -> Result<Vec<DynamicObject>> {
                (**self)
                    .delete_collection(kind, namespace, list, options)
                    .await
            }

            async fn watch<'a>(
                &self,
                kind: &ResourceKind,
                namespace: Option<&'a str>,
                options: &ListOptions,
                resource_version: &str,
            ) -> Result<WatchStream> {
                (**self)
                    .watch(kind, namespace, options, resource_version)
                    .await
            }

            async fn logs(
                &self,
                namespace: &str,
                pod: &str,
                options: &LogOptions,
            ) -> Result<LogStream> {
                (**self).logs(namespace, pod, options).await
            }

            async fn replace_status<'a>(
                &self,
                kind: &ResourceKind,
                namespace: Option<&'a str>,
                object: &DynamicObject,
            ) -> Result<DynamicObject> {
                (**self).replace_status(kind, namespace, object).await
            }

            async fn patch_status<'a>(
                &self,
                kind: &ResourceKind,
                namespace: Option<&'a str>,
                name: &str,
                patch: &PatchBody,
            ) -> Result<DynamicObject> {
                (**self).patch_status(kind, namespace, name, patch).await
            }

            async fn logs_string(
                &self,
                namespace: &str,
                pod: &str,
                options: &LogOptions,
            ) -> Result<String> {
                (**self).logs_string(namespace, pod, options).await
            }
        }
    };
}

delegate_kube_api!(Arc);
delegate_kube_api!(Box);

/// A typed view of a [`KubeApi`] for one `kube::Resource` type in one namespace (or cluster
/// wide), like `kube::Api<K>`: it owns the client and the namespace is given once.
///
/// - [`Typed::namespaced`]: objects of a namespaced kind in one namespace;
/// - [`Typed::all`]: a cluster-scoped kind, or every namespace of a namespaced kind (for
///   [`list`](Self::list), [`watch`](Self::watch) and [`create`](Self::create), which takes the
///   namespace from the object; the other single-object operations need a namespace and answer
///   [`KubeError::BadRequest`]).
///
/// Objects convert through serde, one conversion per call.
pub struct Typed<K> {
    api: Arc<dyn KubeApi>,
    namespace: Option<String>,
    kind: ResourceKind,
    _k: std::marker::PhantomData<fn() -> K>,
}

impl<K> Clone for Typed<K> {
    fn clone(&self) -> Self {
        Typed {
            api: Arc::clone(&self.api),
            namespace: self.namespace.clone(),
            kind: self.kind.clone(),
            _k: std::marker::PhantomData,
        }
    }
}

impl<K> fmt::Debug for Typed<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Typed")
            .field("kind", &self.kind)
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
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

fn typed_event<K: DeserializeOwned>(event: WatchEvent) -> Result<WatchEvent<K>> {
    Ok(match event {
        WatchEvent::Added(o) => WatchEvent::Added(from_dynamic(o)?),
        WatchEvent::Modified(o) => WatchEvent::Modified(from_dynamic(o)?),
        WatchEvent::Deleted(o) => WatchEvent::Deleted(from_dynamic(o)?),
        WatchEvent::Bookmark { resource_version } => WatchEvent::Bookmark { resource_version },
    })
}

impl<K> Typed<K>
where
    K: kube::Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Serialize
        + DeserializeOwned,
{
    /// The objects of `K` in `namespace` (like `kube::Api::namespaced`).
    pub fn namespaced(api: Arc<dyn KubeApi>, namespace: &str) -> Typed<K> {
        Typed {
            api,
            namespace: Some(namespace.to_owned()),
            kind: ResourceKind::of::<K>(),
            _k: std::marker::PhantomData,
        }
    }
}

impl<K> Typed<K>
where
    K: kube::Resource<DynamicType = ()> + Serialize + DeserializeOwned,
    K::Scope: 'static,
{
    /// The objects of `K` cluster wide (like `kube::Api::all`): a cluster-scoped kind, or all
    /// namespaces of a namespaced one.
    pub fn all(api: Arc<dyn KubeApi>) -> Typed<K> {
        Typed {
            api,
            namespace: None,
            kind: ResourceKind::of::<K>(),
            _k: std::marker::PhantomData,
        }
    }

    /// The resource kind.
    pub fn kind(&self) -> &ResourceKind {
        &self.kind
    }

    /// The namespace, `None` for [`Typed::all`].
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// The untyped client.
    pub fn api(&self) -> &Arc<dyn KubeApi> {
        &self.api
    }

    fn ns(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// See [`KubeApi::get`].
    pub async fn get(&self, name: &str) -> Result<K> {
        from_dynamic(self.api.get(&self.kind, self.ns(), name).await?)
    }

    /// [`get`](Self::get), with `None` for an object that does not exist.
    pub async fn get_opt(&self, name: &str) -> Result<Option<K>> {
        match self.api.get(&self.kind, self.ns(), name).await {
            Ok(object) => from_dynamic(object).map(Some),
            Err(KubeError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// See [`KubeApi::list`]: the items converted, with the list's resourceVersion (watch from
    /// it) and continue token.
    pub async fn list(&self, options: &ListOptions) -> Result<ObjectList<K>> {
        let page = self.api.list(&self.kind, self.ns(), options).await?;
        Ok(ObjectList {
            items: page
                .items
                .into_iter()
                .map(from_dynamic)
                .collect::<Result<_>>()?,
            resource_version: page.resource_version,
            continue_token: page.continue_token,
        })
    }

    /// See [`KubeApi::create`].
    pub async fn create(&self, object: &K) -> Result<K> {
        from_dynamic(
            self.api
                .create(&self.kind, self.ns(), &to_dynamic(object)?)
                .await?,
        )
    }

    /// See [`KubeApi::replace`] (the main resource).
    pub async fn replace(&self, object: &K) -> Result<K> {
        from_dynamic(
            self.api
                .replace(
                    &self.kind,
                    self.ns(),
                    &to_dynamic(object)?,
                    Subresource::Main,
                )
                .await?,
        )
    }

    /// See [`KubeApi::patch`] (the main resource).
    pub async fn patch(&self, name: &str, patch: &PatchBody) -> Result<K> {
        from_dynamic(
            self.api
                .patch(&self.kind, self.ns(), name, patch, Subresource::Main)
                .await?,
        )
    }

    /// See [`KubeApi::replace_status`].
    pub async fn replace_status(&self, object: &K) -> Result<K> {
        from_dynamic(
            self.api
                .replace_status(&self.kind, self.ns(), &to_dynamic(object)?)
                .await?,
        )
    }

    /// See [`KubeApi::patch_status`].
    pub async fn patch_status(&self, name: &str, patch: &PatchBody) -> Result<K> {
        from_dynamic(
            self.api
                .patch_status(&self.kind, self.ns(), name, patch)
                .await?,
        )
    }

    /// See [`KubeApi::delete`].
    pub async fn delete(&self, name: &str, options: &DeleteOptions) -> Result<()> {
        self.api.delete(&self.kind, self.ns(), name, options).await
    }

    /// See [`KubeApi::delete_collection`]: the deleted objects, converted.
    pub async fn delete_collection(
        &self,
        list: &ListOptions,
        options: &DeleteOptions,
    ) -> Result<Vec<K>> {
        self.api
            .delete_collection(&self.kind, self.ns(), list, options)
            .await?
            .into_iter()
            .map(from_dynamic)
            .collect()
    }

    /// See [`KubeApi::watch`]: typed events. An object the type cannot read ends the stream's
    /// item with an error ([`KubeError::Unexpected`]), not the stream.
    pub async fn watch(
        &self,
        options: &ListOptions,
        resource_version: &str,
    ) -> Result<WatchStream<K>>
    where
        K: 'static,
    {
        let events = self
            .api
            .watch(&self.kind, self.ns(), options, resource_version)
            .await?;
        Ok(events.map(|event| event.and_then(typed_event::<K>)).boxed())
    }
}

impl Typed<k8s_openapi::api::core::v1::Pod> {
    /// See [`KubeApi::logs`]: the log of the pod `name` in this namespace.
    pub async fn logs(&self, name: &str, options: &LogOptions) -> Result<LogStream> {
        let namespace = self.ns().ok_or_else(|| KubeError::BadRequest {
            message: format!(
                "pods is namespaced: a namespace is required to read the log of {name:?}"
            ),
        })?;
        self.api.logs(namespace, name, options).await
    }

    /// See [`KubeApi::logs_string`].
    pub async fn logs_string(&self, name: &str, options: &LogOptions) -> Result<String> {
        let namespace = self.ns().ok_or_else(|| KubeError::BadRequest {
            message: format!(
                "pods is namespaced: a namespace is required to read the log of {name:?}"
            ),
        })?;
        self.api.logs_string(namespace, name, options).await
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
