//! Secrets: git credentials (`gitsync-secret-<name>`, Opaque, key `ssh`) and image pull
//! secrets (`image-<name>`, `kubernetes.io/dockerconfigjson`), as PrimeHub stores them.

use std::collections::BTreeMap;

use async_graphql::{Context, Enum, ID, InputObject, Object};
use base64::Engine as _;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret as K8sSecret;
use primehub_reconcile::{DeleteOptions, KubeError, PatchBody};
use serde::Serialize;
use serde_json::{Value, json};

use super::common::{connection, json_str, page_args, where_unique};
use super::state;
use super::user::where_json;
use crate::error::{Error, ErrorCode, Result};
use crate::guard::Allow;
use crate::list::{self, Listable};
use crate::resources::{READ_YOUR_WRITES_TIMEOUT, typed};

connection!(SecretConnection, SecretEdge, Secret);

where_unique!(
    /// Selects one secret by id (its Kubernetes name, prefix included).
    SecretWhereUniqueInput
);

/// Name prefix of git credentials.
pub const GITSYNC_PREFIX: &str = "gitsync-secret-";
/// Name prefix of image pull secrets.
pub const IMAGE_PREFIX: &str = "image-";
/// What stored passwords and keys read back as; sent back on update it means "unchanged".
pub const PASSWORD_HOLDER: &str = "******";
const DOCKER_CONFIG_JSON: &str = "kubernetes.io/dockerconfigjson";

/// The kind of a secret.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SecretType {
    /// Git credentials (an SSH key).
    #[graphql(name = "opaque")]
    #[serde(rename = "opaque")]
    Opaque,
    /// An image pull secret.
    #[graphql(name = "kubernetes")]
    #[serde(rename = "kubernetes")]
    Kubernetes,
}

/// A PrimeHub secret.
#[derive(Clone, Debug)]
pub struct Secret {
    id: String,
    kind: SecretType,
    display_name: Option<String>,
    has_secret: bool,
    registry_host: Option<String>,
    username: Option<String>,
}

fn decode_docker(secret: &K8sSecret) -> Option<(String, String, String)> {
    let raw = secret.data.as_ref()?.get(".dockerconfigjson")?;
    let config: Value = serde_json::from_slice(&raw.0).ok()?;
    let (host, entry) = config.get("auths")?.as_object()?.iter().next()?;
    let auth = entry.get("auth")?.as_str()?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(auth)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((host.clone(), user.to_owned(), password.to_owned()))
}

impl Secret {
    /// The API's view of a Kubernetes Secret; `None` for secrets PrimeHub does not show.
    pub fn from_k8s(secret: &K8sSecret) -> Option<Secret> {
        let id = secret.metadata.name.clone()?;
        if !(id.starts_with(GITSYNC_PREFIX) || id.starts_with(IMAGE_PREFIX)) {
            return None;
        }
        let display_name = secret
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("displayName"))
            .cloned();
        if secret.type_.as_deref() == Some(DOCKER_CONFIG_JSON) {
            let decoded = decode_docker(secret);
            Some(Secret {
                id,
                kind: SecretType::Kubernetes,
                display_name,
                has_secret: false,
                registry_host: decoded.as_ref().map(|d| d.0.clone()),
                username: decoded.map(|d| d.1),
            })
        } else {
            let has_secret = secret
                .data
                .as_ref()
                .and_then(|d| d.get("ssh"))
                .is_some_and(|v| !v.0.is_empty());
            Some(Secret {
                id,
                kind: SecretType::Opaque,
                display_name,
                has_secret,
                registry_host: None,
                username: None,
            })
        }
    }

    fn name(&self) -> &str {
        self.id
            .strip_prefix(GITSYNC_PREFIX)
            .or_else(|| self.id.strip_prefix(IMAGE_PREFIX))
            .unwrap_or(&self.id)
    }
}

impl Listable for Secret {
    fn id(&self) -> &str {
        &self.id
    }

    fn field(&self, name: &str) -> Value {
        match name {
            "id" => json_str(Some(&self.id)),
            "name" => json_str(Some(self.name())),
            "displayName" => json_str(self.display_name.as_deref()),
            _ => Value::Null,
        }
    }
}

#[Object]
impl Secret {
    /// The Kubernetes name, prefix included.
    async fn id(&self) -> ID {
        ID(self.id.clone())
    }
    /// `opaque` or `kubernetes`.
    #[graphql(name = "type")]
    async fn type_(&self) -> SecretType {
        self.kind
    }
    /// The name without the prefix.
    #[graphql(name = "name")]
    async fn name_field(&self) -> String {
        self.name().to_owned()
    }
    /// The display name.
    async fn display_name(&self) -> Option<String> {
        self.display_name.clone()
    }
    /// `******` when an SSH key is stored (never the key).
    async fn secret(&self) -> Option<String> {
        self.has_secret.then(|| PASSWORD_HOLDER.to_owned())
    }
    /// The registry of a pull secret.
    async fn registry_host(&self) -> Option<String> {
        self.registry_host.clone()
    }
    /// The registry username.
    async fn username(&self) -> Option<String> {
        self.username.clone()
    }
    /// `******` for pull secrets (never the password).
    async fn password(&self) -> Option<String> {
        (self.kind == SecretType::Kubernetes).then(|| PASSWORD_HOLDER.to_owned())
    }
}

/// Filters of the secret lists.
#[derive(InputObject, Debug, Clone, Default, Serialize)]
pub struct SecretWhereInput {
    /// Exactly this id.
    pub id: Option<ID>,
    /// Only image pull secrets.
    #[serde(skip)]
    pub if_docker_config_json: Option<bool>,
    /// Name containing this text.
    pub search: Option<String>,
}

/// The order of the secret lists.
#[derive(InputObject, Debug, Clone, Default, Serialize)]
#[allow(missing_docs)]
pub struct SecretOrderByInput {
    pub name: Option<String>,
    pub display_name: Option<String>,
}

/// Fields of a new secret.
#[derive(InputObject, Debug, Clone, Default, Serialize)]
pub struct SecretCreateInput {
    /// The name (without prefix; a resource name).
    pub name: String,
    /// `opaque` (default) or `kubernetes`.
    #[graphql(name = "type")]
    pub type_: Option<SecretType>,
    /// The display name (default: the name).
    pub display_name: Option<String>,
    /// The SSH key (opaque; required).
    pub secret: Option<String>,
    /// The registry (kubernetes; required).
    pub registry_host: Option<String>,
    /// The registry username (kubernetes; required).
    pub username: Option<String>,
    /// The registry password (kubernetes; required).
    pub password: Option<String>,
}

/// Changes to a secret (its type cannot change; `******` means unchanged).
#[derive(InputObject, Debug, Clone, Default, Serialize)]
#[allow(missing_docs)]
pub struct SecretUpdateInput {
    pub display_name: Option<String>,
    #[graphql(name = "type")]
    pub type_: Option<SecretType>,
    pub secret: Option<String>,
    pub registry_host: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
}

fn docker_config(host: &str, username: &str, password: &str) -> Vec<u8> {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    json!({"auths": {host: {"auth": auth}}})
        .to_string()
        .into_bytes()
}

fn required<'a>(field: &str, value: Option<&'a String>) -> Result<&'a str> {
    value
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Error::invalid(field, "is required"))
}

/// The secret queries.
#[derive(Default)]
pub struct SecretQuery;

fn all(
    ctx: &Context<'_>,
    where_: Option<&SecretWhereInput>,
    order_by: Option<&SecretOrderByInput>,
) -> Result<Vec<Secret>> {
    let docker_only = where_.and_then(|w| w.if_docker_config_json) == Some(true);
    let items: Vec<Secret> = state(ctx)
        .stores
        .secrets()
        .iter()
        .filter_map(|s| Secret::from_k8s(s))
        .filter(|s| !docker_only || s.kind == SecretType::Kubernetes)
        .collect();
    let mut filtered = list::filter(items, where_json(where_)?.as_ref(), &[]);
    if let Some(search) = where_.and_then(|w| w.search.as_deref()) {
        filtered.retain(|s| s.name().contains(search));
    }
    list::order(&mut filtered, &where_json(order_by)?.unwrap_or_default())?;
    Ok(filtered)
}

#[Object]
impl SecretQuery {
    /// One secret by id; an unknown id is `RESOURCE_NOT_FOUND` (the field is non-null).
    #[graphql(guard = "Allow::AdminOrClient")]
    async fn secret(
        &self,
        ctx: &Context<'_>,
        r#where: SecretWhereUniqueInput,
    ) -> async_graphql::Result<Secret> {
        state(ctx)
            .stores
            .secret(&r#where.id)
            .and_then(|s| Secret::from_k8s(&s))
            .ok_or_else(|| {
                Error::NotFound {
                    kind: "secret",
                    name: r#where.id.to_string(),
                }
                .into()
            })
    }

    /// Secrets (administrators and the shared-secret client).
    #[graphql(guard = "Allow::AdminOrClient")]
    #[allow(clippy::too_many_arguments)]
    async fn secrets(
        &self,
        ctx: &Context<'_>,
        r#where: Option<SecretWhereInput>,
        page: Option<i32>,
        order_by: Option<SecretOrderByInput>,
        before: Option<String>,
        after: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> async_graphql::Result<Vec<Option<Secret>>> {
        let items = all(ctx, r#where.as_ref(), order_by.as_ref())?;
        let paged = list::paginate(items, &page_args(page, before, after, first, last));
        Ok(paged.items.into_iter().map(Some).collect())
    }

    /// Secrets as a connection.
    #[graphql(guard = "Allow::AdminOrClient")]
    #[allow(clippy::too_many_arguments)]
    async fn secrets_connection(
        &self,
        ctx: &Context<'_>,
        r#where: Option<SecretWhereInput>,
        page: Option<i32>,
        order_by: Option<SecretOrderByInput>,
        before: Option<String>,
        after: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> async_graphql::Result<SecretConnection> {
        let items = all(ctx, r#where.as_ref(), order_by.as_ref())?;
        let paged = list::paginate(items, &page_args(page, before, after, first, last));
        Ok(SecretConnection::new(
            paged.items.into_iter().map(|s| (s.id.clone(), s)).collect(),
            paged.page_info,
        ))
    }
}

/// The secret mutations.
#[derive(Default)]
pub struct SecretMutation;

fn not_found(id: &str) -> Error {
    Error::NotFound {
        kind: "secret",
        name: id.to_owned(),
    }
}

#[Object]
impl SecretMutation {
    /// Creates a secret.
    #[graphql(guard = "Allow::Admin")]
    async fn create_secret(
        &self,
        ctx: &Context<'_>,
        data: SecretCreateInput,
    ) -> async_graphql::Result<Secret> {
        let state = state(ctx);
        primehub_model::names::validate_resource_name("data.name", &data.name)
            .map_err(Error::from)?;
        let kind = data.type_.unwrap_or(SecretType::Opaque);
        let (id, type_, payload) = match kind {
            SecretType::Opaque => {
                let key = required("data.secret", data.secret.as_ref())?;
                (
                    format!("{GITSYNC_PREFIX}{}", data.name),
                    "Opaque",
                    ("ssh", key.as_bytes().to_vec()),
                )
            }
            SecretType::Kubernetes => {
                let host = required("data.registryHost", data.registry_host.as_ref())?;
                let user = required("data.username", data.username.as_ref())?;
                let password = required("data.password", data.password.as_ref())?;
                (
                    format!("{IMAGE_PREFIX}{}", data.name),
                    DOCKER_CONFIG_JSON,
                    (".dockerconfigjson", docker_config(host, user, password)),
                )
            }
        };
        let mut secret = K8sSecret::default();
        secret.metadata.name = Some(id.clone());
        secret.metadata.namespace = Some(state.config.namespace.clone());
        secret.metadata.annotations = Some(BTreeMap::from([(
            "displayName".to_owned(),
            data.display_name
                .clone()
                .unwrap_or_else(|| data.name.clone()),
        )]));
        secret.type_ = Some(type_.to_owned());
        secret.data = Some(BTreeMap::from([(
            payload.0.to_owned(),
            ByteString(payload.1),
        )]));
        let created = typed::<K8sSecret>(state)
            .create(&secret)
            .await
            .map_err(|e| match e {
                KubeError::AlreadyExists { .. } => Error::Conflict {
                    code: ErrorCode::ResourceConflict,
                    message: "Resource already exist".into(),
                },
                other => other.into(),
            })?;
        let version = created
            .metadata
            .resource_version
            .clone()
            .unwrap_or_default();
        state
            .stores
            .wait_for_version::<K8sSecret>(&id, &version, READ_YOUR_WRITES_TIMEOUT)
            .await;
        Secret::from_k8s(&created).ok_or_else(|| not_found(&id).into())
    }

    /// Updates a secret (`******` or an omitted field keeps the stored value).
    #[graphql(guard = "Allow::Admin")]
    async fn update_secret(
        &self,
        ctx: &Context<'_>,
        data: SecretUpdateInput,
        r#where: SecretWhereUniqueInput,
    ) -> async_graphql::Result<Option<Secret>> {
        let state = state(ctx);
        let current = state
            .stores
            .secret(&r#where.id)
            .ok_or_else(|| not_found(&r#where.id))?;
        let shown = Secret::from_k8s(&current).ok_or_else(|| not_found(&r#where.id))?;
        if let Some(kind) = data.type_
            && kind != shown.kind
        {
            return Err(Error::invalid("data.type", "cannot be changed").into());
        }
        let given =
            |v: &Option<String>| v.clone().filter(|s| !s.is_empty() && s != PASSWORD_HOLDER);
        let mut patch = json!({});
        if let Some(d) = &data.display_name {
            patch["metadata"] = json!({"annotations": {"displayName": d}});
        }
        let engine = base64::engine::general_purpose::STANDARD;
        match shown.kind {
            SecretType::Opaque => {
                if let Some(key) = given(&data.secret) {
                    patch["data"] = json!({"ssh": engine.encode(key)});
                }
            }
            SecretType::Kubernetes => {
                if data.registry_host.is_some()
                    || data.username.is_some()
                    || given(&data.password).is_some()
                {
                    let old = decode_docker(&current).unwrap_or_default();
                    let host = given(&data.registry_host).unwrap_or(old.0);
                    let user = given(&data.username).unwrap_or(old.1);
                    let password = given(&data.password).unwrap_or(old.2);
                    patch["data"] = json!({".dockerconfigjson": engine.encode(docker_config(&host, &user, &password))});
                }
            }
        }
        let updated = typed::<K8sSecret>(state)
            .patch(&r#where.id, &PatchBody::Merge(patch))
            .await
            .map_err(Error::from)?;
        let version = updated
            .metadata
            .resource_version
            .clone()
            .unwrap_or_default();
        state
            .stores
            .wait_for_version::<K8sSecret>(&r#where.id, &version, READ_YOUR_WRITES_TIMEOUT)
            .await;
        Ok(Secret::from_k8s(&updated))
    }

    /// Deletes a secret.
    #[graphql(guard = "Allow::Admin")]
    async fn delete_secret(
        &self,
        ctx: &Context<'_>,
        r#where: SecretWhereUniqueInput,
    ) -> async_graphql::Result<Option<Secret>> {
        let state = state(ctx);
        let current = state
            .stores
            .secret(&r#where.id)
            .ok_or_else(|| not_found(&r#where.id))?;
        let shown = Secret::from_k8s(&current).ok_or_else(|| not_found(&r#where.id))?;
        match typed::<K8sSecret>(state)
            .delete(&r#where.id, &DeleteOptions::default())
            .await
        {
            Ok(()) | Err(KubeError::NotFound { .. }) => {}
            Err(e) => return Err(Error::from(e).into()),
        }
        state
            .stores
            .wait_for_deletion::<K8sSecret>(&r#where.id, READ_YOUR_WRITES_TIMEOUT)
            .await;
        Ok(Some(shown))
    }
}
