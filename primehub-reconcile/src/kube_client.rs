//! [`KubeClient`]: the [`KubeApi`] implementation on kube-rs, for a real Kubernetes API server
//! (or anything that speaks its HTTP API, such as the fake cluster's HTTP face).
//!
//! Every operation builds a `kube::Api<DynamicObject>` from the [`ResourceKind`]'s
//! `ApiResource` — namespaced, or cluster-wide for cluster-scoped kinds and for lists and watches
//! across all namespaces — so one client serves built-in kinds and PrimeHub's custom resources
//! alike, without discovery.
//!
//! # Errors
//!
//! The API server's `Status` answers map onto [`KubeError`] by HTTP code: 404 →
//! [`NotFound`](KubeError::NotFound), 409 with reason `AlreadyExists` →
//! [`AlreadyExists`](KubeError::AlreadyExists), other 409 → [`Conflict`](KubeError::Conflict)
//! with its [`ConflictKind`](crate::ConflictKind) read from the message (stale resourceVersion,
//! uid precondition, other), 422 → [`Invalid`](KubeError::Invalid) with the field causes from
//! `details.causes`, 401 and 403 → [`Forbidden`](KubeError::Forbidden), 410 →
//! [`Gone`](KubeError::Gone), 400 → [`BadRequest`](KubeError::BadRequest); connection,
//! TLS-handshake and timeout failures → [`Transport`](KubeError::Transport); a kubeconfig or
//! configuration that cannot be used → [`Config`](KubeError::Config) (naming the file); anything
//! else → [`Unexpected`](KubeError::Unexpected).
//! A watch that starts from a compacted resourceVersion fails with [`KubeError::Gone`], either
//! from [`KubeApi::watch`] itself or (as the API server usually does it: HTTP 200 and then an
//! `ERROR` event) as the first item of the stream.
//!
//! # Example
//!
//! ```no_run
//! use primehub_reconcile::kube_client::KubeClient;
//! use primehub_reconcile::{KubeApi, ListOptions, ResourceKind};
//! use k8s_openapi::api::core::v1::ConfigMap;
//!
//! # async fn demo() -> primehub_reconcile::Result<()> {
//! let api = KubeClient::try_default().await?;
//! let page = api
//!     .list(&ResourceKind::of::<ConfigMap>(), Some("hub"), &ListOptions::default())
//!     .await?;
//! println!("{} config maps at resourceVersion {}", page.items.len(), page.resource_version);
//! # Ok(())
//! # }
//! ```

use std::path::Path;

use async_trait::async_trait;
use futures::{AsyncBufReadExt, StreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, LogParams, Patch, PatchParams, PostParams,
    Preconditions, PropagationPolicy, TypeMeta, WatchParams,
};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::Status;

use crate::api::{
    DeleteOptions, KubeApi, ListOptions, LogOptions, LogStream, ObjectList, PatchBody, Propagation,
    ResourceKind, Subresource, WatchEvent, WatchStream,
};
use crate::error::{InvalidCause, KubeError, Result};

/// [`KubeApi`] on a `kube::Client`.
///
/// Cheap to clone (the underlying client is a shared connection pool).
#[derive(Clone)]
pub struct KubeClient {
    client: kube::Client,
}

impl std::fmt::Debug for KubeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeClient").finish_non_exhaustive()
    }
}

impl KubeClient {
    /// Wraps an existing `kube::Client`.
    pub fn new(client: kube::Client) -> KubeClient {
        KubeClient { client }
    }

    /// A client from the kubeconfig file at `path`, with its current context.
    ///
    /// # Errors
    ///
    /// [`KubeError::Config`] naming the file when it cannot be read or parsed or does not
    /// describe a usable cluster (no current context, no server, unreadable certificates, …).
    pub async fn from_kubeconfig(path: impl AsRef<Path>) -> Result<KubeClient> {
        let path = path.as_ref();
        let bad = |message: String| KubeError::Config {
            file: Some(path.to_path_buf()),
            message,
        };
        let kubeconfig =
            Kubeconfig::read_from(path).map_err(|e| bad(format!("cannot read it: {e}")))?;
        let config =
            kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                .await
                .map_err(|e| bad(format!("unusable: {e}")))?;
        kube::Client::try_from(config)
            .map(KubeClient::new)
            .map_err(|e| bad(format!("cannot build a client from it: {e}")))
    }

    /// A client configured the way `kubectl` finds its configuration: `$KUBECONFIG`,
    /// `~/.kube/config`, or the in-cluster service account.
    ///
    /// # Errors
    ///
    /// [`KubeError::Config`] when no configuration is found or it is unusable (naming the file
    /// when `$KUBECONFIG` names one).
    pub async fn try_default() -> Result<KubeClient> {
        let file = std::env::var_os("KUBECONFIG")
            .filter(|v| !v.is_empty())
            .map(std::path::PathBuf::from);
        let config = kube::Config::infer().await.map_err(|e| KubeError::Config {
            file: file.clone(),
            message: format!("cannot configure a Kubernetes client: {e}"),
        })?;
        kube::Client::try_from(config)
            .map(KubeClient::new)
            .map_err(|e| KubeError::Config {
                file,
                message: format!("cannot build the Kubernetes client: {e}"),
            })
    }

    /// A client for the API server at `url` (`http://…` or `https://…`), authenticating with
    /// the bearer `token` when given. With `accept_invalid_certs` the server's TLS certificate is
    /// not verified — only for tests against a throw-away API server with a self-signed
    /// certificate.
    ///
    /// # Errors
    ///
    /// [`KubeError::Config`] when `url` is not a valid URL or the TLS stack cannot be set up.
    pub fn for_url(
        url: &str,
        token: Option<&str>,
        accept_invalid_certs: bool,
    ) -> Result<KubeClient> {
        // `kube::Config` wants an `http::Uri` and a `secrecy::SecretString`; describing the
        // cluster as a kubeconfig document avoids direct dependencies on both crates.
        let mut user = serde_json::Map::new();
        if let Some(token) = token {
            user.insert("token".into(), serde_json::Value::from(token));
        }
        let document = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "target", "cluster": {
                "server": url,
                "insecure-skip-tls-verify": accept_invalid_certs,
            }}],
            "users": [{"name": "user", "user": user}],
            "contexts": [{"name": "target", "context": {"cluster": "target", "user": "user"}}],
            "current-context": "target",
        });
        let kubeconfig: Kubeconfig =
            serde_json::from_value(document).map_err(|e| KubeError::Config {
                file: None,
                message: format!("cannot describe the API server {url:?}: {e}"),
            })?;
        let config = kube::Config::try_from(kubeconfig).map_err(|e| KubeError::Config {
            file: None,
            message: format!("invalid API server URL {url:?}: {e}"),
        })?;
        Self::from_config(config)
    }

    /// A client from a `kube::Config`.
    ///
    /// # Errors
    ///
    /// [`KubeError::Config`] when the HTTP/TLS stack cannot be built from `config`.
    pub fn from_config(config: kube::Config) -> Result<KubeClient> {
        let client = kube::Client::try_from(config).map_err(|e| KubeError::Config {
            file: None,
            message: format!("cannot build the Kubernetes client: {e}"),
        })?;
        Ok(KubeClient::new(client))
    }

    /// The underlying `kube::Client` (for kube-runtime reflectors and the like).
    pub fn client(&self) -> &kube::Client {
        &self.client
    }

    /// An `Api` for a single-object operation: namespaced kinds need a namespace.
    fn object_api(
        &self,
        kind: &ResourceKind,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Api<DynamicObject>> {
        let resource = kind.api_resource();
        if !kind.namespaced {
            return Ok(Api::all_with(self.client.clone(), &resource));
        }
        match namespace {
            Some(ns) if !ns.is_empty() => {
                Ok(Api::namespaced_with(self.client.clone(), ns, &resource))
            }
            _ => Err(KubeError::BadRequest {
                message: format!("{kind} is namespaced: a namespace is required for {name:?}"),
            }),
        }
    }

    /// An `Api` for a list or watch: `None` means all namespaces.
    fn collection_api(&self, kind: &ResourceKind, namespace: Option<&str>) -> Api<DynamicObject> {
        let resource = kind.api_resource();
        match namespace {
            Some(ns) if kind.namespaced && !ns.is_empty() => {
                Api::namespaced_with(self.client.clone(), ns, &resource)
            }
            _ => Api::all_with(self.client.clone(), &resource),
        }
    }
}

/// `what` of a NotFound / AlreadyExists: `configmaps ns/name` or `namespaces name`.
fn describe(kind: &ResourceKind, namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(ns) if kind.namespaced && !ns.is_empty() => format!("{kind} {ns}/{name}"),
        _ => format!("{kind} {name}"),
    }
}

/// Maps an API server `Status` onto [`KubeError`].
fn from_status(status: &Status, what: &str) -> KubeError {
    let message = if status.message.is_empty() {
        status.reason.clone()
    } else {
        status.message.clone()
    };
    match status.code {
        404 => KubeError::NotFound {
            what: what.to_owned(),
        },
        409 if status.reason == "AlreadyExists" => KubeError::AlreadyExists {
            what: what.to_owned(),
        },
        409 => KubeError::conflict(message),
        422 => KubeError::Invalid {
            message,
            causes: status
                .details
                .as_ref()
                .map(|d| {
                    d.causes
                        .iter()
                        .map(|c| InvalidCause {
                            field: c.field.clone(),
                            reason: c.reason.clone(),
                            message: c.message.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        },
        401 | 403 => KubeError::Forbidden { message },
        410 => KubeError::Gone { message },
        400 => KubeError::BadRequest { message },
        code => KubeError::Unexpected {
            status: code,
            message,
        },
    }
}

/// Maps a kube-rs error onto [`KubeError`]; `what` names the object for NotFound/AlreadyExists.
fn from_kube(error: kube::Error, what: &str) -> KubeError {
    let mapped = match error {
        kube::Error::Api(status) => from_status(&status, what),
        kube::Error::HyperError(e) => KubeError::Transport {
            message: format!("{what}: {e}"),
        },
        kube::Error::Service(e) => KubeError::Transport {
            message: format!("{what}: {e}"),
        },
        kube::Error::ReadEvents(e) => KubeError::Transport {
            message: format!("{what}: reading the watch stream: {e}"),
        },
        kube::Error::RustlsTls(e) => KubeError::Transport {
            message: format!("{what}: TLS: {e}"),
        },
        kube::Error::SerdeError(e) => KubeError::Unexpected {
            status: 200,
            message: format!("{what}: cannot decode the server's answer: {e}"),
        },
        kube::Error::BuildRequest(e) => KubeError::BadRequest {
            message: format!("{what}: cannot build the request: {e}"),
        },
        e @ (kube::Error::InferConfig(_)
        | kube::Error::InferKubeconfig(_)
        | kube::Error::TlsRequired
        | kube::Error::ProxyProtocolUnsupported { .. }
        | kube::Error::ProxyProtocolDisabled { .. }) => KubeError::Config {
            file: None,
            message: format!("{what}: {e}"),
        },
        other => KubeError::Unexpected {
            status: 0,
            message: format!("{what}: {other}"),
        },
    };
    tracing::debug!(error = %mapped, "kubernetes request failed");
    mapped
}

/// Fills in `apiVersion`/`kind` when the server left them out (items of built-in lists).
fn with_types(mut object: DynamicObject, kind: &ResourceKind) -> DynamicObject {
    if object.types.is_none() {
        object.types = Some(TypeMeta {
            api_version: kind.api_version(),
            kind: kind.kind.clone(),
        });
    }
    object
}

/// The object's name, required for replace.
fn name_of<'o>(object: &'o DynamicObject, operation: &str) -> Result<&'o str> {
    match object.metadata.name.as_deref() {
        Some(name) if !name.is_empty() => Ok(name),
        _ => Err(KubeError::BadRequest {
            message: format!("{operation}: metadata.name is required"),
        }),
    }
}

/// The namespace to use for a write: the argument, else the object's own.
fn namespace_for<'a>(namespace: Option<&'a str>, object: &'a DynamicObject) -> Option<&'a str> {
    namespace.or(object.metadata.namespace.as_deref())
}

fn to_kube_patch(patch: &PatchBody) -> Patch<serde_json::Value> {
    match patch {
        PatchBody::Merge(value) => Patch::Merge(value.clone()),
        PatchBody::Json(ops) => Patch::Json(ops.clone()),
        PatchBody::Strategic(value) => Patch::Strategic(value.clone()),
    }
}

fn to_watch_event(
    event: kube::core::WatchEvent<DynamicObject>,
    kind: &ResourceKind,
) -> Result<WatchEvent> {
    match event {
        kube::core::WatchEvent::Added(o) => Ok(WatchEvent::Added(with_types(o, kind))),
        kube::core::WatchEvent::Modified(o) => Ok(WatchEvent::Modified(with_types(o, kind))),
        kube::core::WatchEvent::Deleted(o) => Ok(WatchEvent::Deleted(with_types(o, kind))),
        kube::core::WatchEvent::Bookmark(b) => Ok(WatchEvent::Bookmark {
            resource_version: b.metadata.resource_version,
        }),
        kube::core::WatchEvent::Error(status) => Err(from_status(&status, &kind.to_string())),
    }
}

fn delete_params(options: &DeleteOptions) -> DeleteParams {
    let preconditions =
        if options.precondition_uid.is_some() || options.precondition_resource_version.is_some() {
            Some(Preconditions {
                uid: options.precondition_uid.clone(),
                resource_version: options.precondition_resource_version.clone(),
            })
        } else {
            None
        };
    DeleteParams {
        grace_period_seconds: options.grace_period_seconds,
        propagation_policy: options.propagation.map(|p| match p {
            Propagation::Background => PropagationPolicy::Background,
            Propagation::Foreground => PropagationPolicy::Foreground,
            Propagation::Orphan => PropagationPolicy::Orphan,
        }),
        preconditions,
        ..DeleteParams::default()
    }
}

#[async_trait]
impl KubeApi for KubeClient {
    async fn get<'a>(
        &self,
        kind: &ResourceKind,
        namespace: Option<&'a str>,
        name: &str,
    ) -> Result<DynamicObject> {
        let what = describe(kind, namespace, name);
        tracing::debug!(%what, "get");
        let api = self.object_api(kind, namespace, name)?;
        api.get(name)
            .await
            .map(|o| with_types(o, kind))
            .map_err(|e| from_kube(e, &what))
    }

    async fn list<'a>(
        &self,
        kind: &ResourceKind,
        namespace: Option<&'a str>,
        options: &ListOptions,
    ) -> Result<ObjectList> {
        tracing::debug!(%kind, ?namespace, ?options, "list");
        let api = self.collection_api(kind, namespace);
        let mut params = ListParams::default();
        if let Some(selector) = &options.label_selector {
            params = params.labels(selector);
        }
        if let Some(selector) = &options.field_selector {
            params = params.fields(selector);
        }
        if let Some(limit) = options.limit {
            params = params.limit(limit);
        }
        if let Some(token) = &options.continue_token {
            params = params.continue_token(token);
        }
        let list = api
            .list(&params)
            .await
            .map_err(|e| from_kube(e, &kind.to_string()))?;
        Ok(ObjectList {
            items: list
                .items
                .into_iter()
                .map(|o| with_types(o, kind))
                .collect(),
            resource_version: list.metadata.resource_version.unwrap_or_default(),
            continue_token: list.metadata.continue_.filter(|t| !t.is_empty()),
        })
    }

    async fn create<'a>(
        &self,
        kind: &ResourceKind,
        namespace: Option<&'a str>,
        object: &DynamicObject,
    ) -> Result<DynamicObject> {
        let namespace = namespace_for(namespace, object);
        let name = object
            .metadata
            .name
            .as_deref()
            .or(object.metadata.generate_name.as_deref())
            .unwrap_or_default();
        let what = describe(kind, namespace, name);
        tracing::debug!(%what, "create");
        let api = self.object_api(kind, namespace, name)?;
        let object = with_types(object.clone(), kind);
        api.create(&PostParams::default(), &object)
            .await
            .map(|o| with_types(o, kind))
            .map_err(|e| from_kube(e, &what))
    }

    async fn replace<'a>(
        &self,
        kind: &ResourceKind,
        namespace: Option<&'a str>,
        object: &DynamicObject,
        subresource: Subresource,
    ) -> Result<DynamicObject> {
        let namespace = namespace_for(namespace, object);
        let name = name_of(object, "replace")?;
        let what = describe(kind, namespace, name);
        tracing::debug!(%what, ?subresource, "replace");
        let api = self.object_api(kind, namespace, name)?;
        let object = with_types(object.clone(), kind);
        let params = PostParams::default();
        match subresource {
            Subresource::Main => api.replace(name, &params, &object).await,
            Subresource::Status => api.replace_status(name, &params, &object).await,
        }
        .map(|o| with_types(o, kind))
        .map_err(|e| from_kube(e, &what))
    }

    async fn patch<'a>(
        &self,
        kind: &ResourceKind,
        namespace: Option<&'a str>,
        name: &str,
        patch: &PatchBody,
        subresource: Subresource,
    ) -> Result<DynamicObject> {
        let what = describe(kind, namespace, name);
        tracing::debug!(%what, ?subresource, "patch");
        let api = self.object_api(kind, namespace, name)?;
        let params = PatchParams::default();
        let patch = to_kube_patch(patch);
        match subresource {
            Subresource::Main => api.patch(name, &params, &patch).await,
            Subresource::Status => api.patch_status(name, &params, &patch).await,
        }
        .map(|o| with_types(o, kind))
        .map_err(|e| from_kube(e, &what))
    }

    async fn delete<'a>(
        &self,
        kind: &ResourceKind,
        namespace: Option<&'a str>,
        name: &str,
        options: &DeleteOptions,
    ) -> Result<()> {
        let what = describe(kind, namespace, name);
        tracing::debug!(%what, ?options, "delete");
        let api = self.object_api(kind, namespace, name)?;
        api.delete(name, &delete_params(options))
            .await
            .map(|_| ())
            .map_err(|e| from_kube(e, &what))
    }

    async fn delete_collection<'a>(
        &self,
        kind: &ResourceKind,
        namespace: Option<&'a str>,
        list: &ListOptions,
        options: &DeleteOptions,
    ) -> Result<Vec<DynamicObject>> {
        tracing::debug!(%kind, ?namespace, ?list, ?options, "delete_collection");
        let api = self.object_api(kind, namespace, "(collection)")?;
        let mut params = ListParams::default();
        if let Some(selector) = &list.label_selector {
            params = params.labels(selector);
        }
        if let Some(selector) = &list.field_selector {
            params = params.fields(selector);
        }
        let answer = api
            .delete_collection(&delete_params(options), &params)
            .await
            .map_err(|e| from_kube(e, &kind.to_string()))?;
        // kube-apiserver answers with the list for every kind; a server that answers with a
        // success Status instead does not say what it deleted.
        Ok(answer
            .left()
            .map(|list| {
                list.items
                    .into_iter()
                    .map(|o| with_types(o, kind))
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn logs(&self, namespace: &str, pod: &str, options: &LogOptions) -> Result<LogStream> {
        let what = format!("pods {namespace}/{pod}");
        tracing::debug!(%what, ?options, "logs");
        if options.since_seconds.is_some() && options.since_time.is_some() {
            // kube-rs would send only sinceSeconds; answer as the API server answers both.
            crate::api::validate_log_options(pod, options)?;
        }
        let api: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        let params = LogParams {
            container: options.container.clone(),
            follow: options.follow,
            tail_lines: options.tail_lines,
            since_seconds: options.since_seconds,
            since_time: options.since_time,
            timestamps: options.timestamps,
            ..LogParams::default()
        };
        let reader = api
            .log_stream(pod, &params)
            .await
            .map_err(|e| from_kube(e, &what))?;
        Ok(reader
            .lines()
            .map(move |line| {
                line.map_err(|e| KubeError::Transport {
                    message: format!("{what}: reading the log: {e}"),
                })
            })
            .boxed())
    }

    async fn watch<'a>(
        &self,
        kind: &ResourceKind,
        namespace: Option<&'a str>,
        options: &ListOptions,
        resource_version: &str,
    ) -> Result<WatchStream> {
        tracing::debug!(%kind, ?namespace, ?options, resource_version, "watch");
        let api = self.collection_api(kind, namespace);
        let mut params = WatchParams::default();
        if let Some(selector) = &options.label_selector {
            params = params.labels(selector);
        }
        if let Some(selector) = &options.field_selector {
            params = params.fields(selector);
        }
        let stream = api
            .watch(&params, resource_version)
            .await
            .map_err(|e| from_kube(e, &kind.to_string()))?;
        let kind = kind.clone();
        Ok(stream
            .map(move |item| match item {
                Ok(event) => to_watch_event(event, &kind),
                Err(e) => Err(from_kube(e, &kind.to_string())),
            })
            .boxed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16, reason: &str, details: Option<serde_json::Value>) -> Status {
        let mut value = serde_json::json!({
            "kind": "Status", "apiVersion": "v1", "status": "Failure",
            "code": code, "reason": reason, "message": format!("message {code}"),
        });
        if let Some(details) = details {
            value["details"] = details;
        }
        serde_json::from_value(value).expect("a Status")
    }

    #[test]
    fn statuses_map_onto_kube_errors() {
        let what = "configmaps ns/x";
        let cases: Vec<(Status, KubeError)> = vec![
            (
                status(404, "NotFound", None),
                KubeError::NotFound { what: what.into() },
            ),
            (
                status(409, "AlreadyExists", None),
                KubeError::AlreadyExists { what: what.into() },
            ),
            (
                status(409, "Conflict", None),
                KubeError::Conflict {
                    kind: crate::ConflictKind::Other,
                    message: "message 409".into(),
                },
            ),
            (
                status(401, "Unauthorized", None),
                KubeError::Forbidden {
                    message: "message 401".into(),
                },
            ),
            (
                status(403, "Forbidden", None),
                KubeError::Forbidden {
                    message: "message 403".into(),
                },
            ),
            (
                status(410, "Expired", None),
                KubeError::Gone {
                    message: "message 410".into(),
                },
            ),
            (
                status(400, "BadRequest", None),
                KubeError::BadRequest {
                    message: "message 400".into(),
                },
            ),
            (
                status(500, "InternalError", None),
                KubeError::Unexpected {
                    status: 500,
                    message: "message 500".into(),
                },
            ),
        ];
        for (status, expected) in cases {
            assert_eq!(from_status(&status, what), expected);
        }
    }

    #[test]
    fn invalid_keeps_the_field_causes() {
        let s = status(
            422,
            "Invalid",
            Some(serde_json::json!({
                "name": "Bad_Name", "kind": "ConfigMap",
                "causes": [{"reason": "FieldValueInvalid", "message": "must be lowercase", "field": "metadata.name"}],
            })),
        );
        assert_eq!(
            from_status(&s, "configmaps ns/Bad_Name"),
            KubeError::Invalid {
                message: "message 422".into(),
                causes: vec![InvalidCause {
                    field: "metadata.name".into(),
                    reason: "FieldValueInvalid".into(),
                    message: "must be lowercase".into(),
                }],
            }
        );
    }

    #[test]
    fn an_empty_message_falls_back_to_the_reason() {
        let s: Status =
            serde_json::from_value(serde_json::json!({"code": 409, "reason": "Conflict"}))
                .expect("a Status");
        assert_eq!(
            from_status(&s, "x"),
            KubeError::Conflict {
                kind: crate::ConflictKind::Other,
                message: "Conflict".into()
            }
        );
    }

    #[test]
    fn namespaced_single_object_operations_need_a_namespace() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let client = KubeClient::for_url("http://127.0.0.1:1", None, false).expect("client");
            let kind = ResourceKind::of::<k8s_openapi::api::core::v1::ConfigMap>();
            match client.get(&kind, None, "x").await {
                Err(KubeError::BadRequest { .. }) => {}
                other => panic!("expected BadRequest, got {other:?}"),
            }
        });
    }
}
