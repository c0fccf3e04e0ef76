//! Datasets (volumes): queries, mutations, the upload server's secret.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Secret as K8sSecret};
use primehub_keycloak::cache::Snapshot;
use primehub_model::attributes::Capacity;
use primehub_model::crd::dataset::{
    ANNOTATION_HOME_SYMLINK, ANNOTATION_LAUNCH_GROUP_ONLY, ANNOTATION_MOUNT_ROOT,
    ANNOTATION_UPLOAD_SERVER, ANNOTATION_UPLOAD_SERVER_AUTH_SECRET_NAME, Dataset as DatasetCr,
    DatasetType,
};
use primehub_model::roles::RoleKind;
use primehub_reconcile::{DeleteOptions, KubeError, PatchBody};
use serde::Serialize;
use serde_json::{Value, json};

use super::common::{Json, connection, json_str, page_args, where_unique};
use super::group::{Group, GroupCreateInput, GroupWhereUniqueInput};
use super::instance_type::resource_groups;
use super::secret::{Secret, SecretCreateInput, SecretWhereUniqueInput};
use super::user::where_json;
use super::{snapshot, state};
use crate::error::{Error, Result};
use crate::guard::Allow;
use crate::list::{self, Listable};
use crate::resources::{self, Grants, typed};
use crate::undo::Undo;

connection!(DatasetConnection, DatasetEdge, Dataset);

where_unique!(
    /// Selects one dataset by name.
    DatasetWhereUniqueInput
);

/// Filters of the dataset lists.
#[derive(InputObject, Debug, Clone, Default, Serialize)]
pub struct DatasetWhereInput {
    /// Exactly this name.
    pub id: Option<ID>,
    /// Names containing this text.
    #[graphql(name = "name_contains")]
    pub name_contains: Option<String>,
    /// Display names containing this text.
    #[graphql(name = "displayName_contains")]
    #[serde(rename = "displayName_contains")]
    pub display_name_contains: Option<String>,
    /// Name or display name containing this text.
    pub search: Option<String>,
}

/// The order of the dataset lists.
#[derive(InputObject, Debug, Clone, Default, Serialize)]
#[allow(missing_docs)]
pub struct DatasetOrderByInput {
    pub name: Option<String>,
    pub display_name: Option<String>,
    #[graphql(name = "type")]
    #[serde(rename = "type")]
    pub type_: Option<String>,
    pub description: Option<String>,
    pub upload_server_link: Option<String>,
}

/// The upload server's credentials, returned once when they are made.
#[derive(SimpleObject, Debug, Clone)]
pub struct DatasetUploadSecret {
    /// The username.
    pub username: Option<String>,
    /// The password (not stored in clear anywhere).
    pub password: Option<String>,
}

/// The answer of the dataset mutations.
#[derive(SimpleObject, Debug, Clone)]
pub struct DatasetMutationResponse {
    /// The dataset's name.
    pub id: ID,
    /// New upload server credentials, when this mutation made them.
    pub upload_server_secret: Option<DatasetUploadSecret>,
}

/// A group to grant a dataset to, read-only or writable.
#[derive(InputObject, Debug, Clone, Serialize)]
pub struct DatasetGroupWhereUniqueInput {
    /// The group id.
    pub id: ID,
    /// Grant `ds:rw:` instead of `ds:`.
    pub writable: Option<bool>,
}

/// `connect` groups when creating a dataset.
#[derive(InputObject, Debug, Clone, Default, Serialize)]
pub struct DatasetGroupCreateManyInput {
    /// Ignored.
    pub create: Option<Vec<GroupCreateInput>>,
    /// Groups to grant.
    pub connect: Option<Vec<DatasetGroupWhereUniqueInput>>,
}

/// `connect`/`disconnect` groups when updating a dataset.
#[derive(InputObject, Debug, Clone, Default, Serialize)]
pub struct DatasetGroupUpdateManyInput {
    /// Ignored.
    pub create: Option<Vec<GroupCreateInput>>,
    /// Groups to grant (or to switch between read-only and writable).
    pub connect: Option<Vec<DatasetGroupWhereUniqueInput>>,
    /// Groups to ungrant.
    pub disconnect: Option<Vec<GroupWhereUniqueInput>>,
    /// Ignored.
    pub delete: Option<Vec<GroupWhereUniqueInput>>,
}

/// The git credentials of a new dataset.
#[derive(InputObject, Debug, Clone, Default, Serialize)]
pub struct SecretCreateOneInput {
    /// Ignored.
    pub create: Option<SecretCreateInput>,
    /// An existing secret (`gitsync-secret-…`).
    pub connect: Option<SecretWhereUniqueInput>,
}

/// The git credentials of a dataset being updated.
#[derive(InputObject, Debug, Clone, Default, Serialize)]
pub struct SecretUpdateOneInput {
    /// Ignored.
    pub create: Option<SecretCreateInput>,
    /// An existing secret.
    pub connect: Option<SecretWhereUniqueInput>,
    /// Remove the secret.
    pub disconnect: Option<bool>,
    /// Ignored.
    pub delete: Option<bool>,
}

/// A PrimeHub dataset.
#[derive(Clone)]
pub struct Dataset {
    pub(crate) cr: Arc<DatasetCr>,
    pub(crate) snap: Arc<Snapshot>,
    pub(crate) writable: Option<bool>,
}

impl Dataset {
    pub(crate) fn new(cr: Arc<DatasetCr>, snap: Arc<Snapshot>) -> Dataset {
        Dataset {
            cr,
            snap,
            writable: None,
        }
    }

    pub(crate) fn with_writable(mut self, writable: bool) -> Dataset {
        self.writable = Some(writable);
        self
    }

    fn name(&self) -> &str {
        self.cr.metadata.name.as_deref().unwrap_or_default()
    }

    fn upload_link(&self, ctx: &Context<'_>) -> Option<String> {
        let state = state(ctx);
        let kind = &self.cr.spec.type_;
        let served = matches!(
            kind,
            DatasetType::Pv | DatasetType::Nfs | DatasetType::HostPath
        );
        (served && self.cr.spec.upload_server_enabled()).then(|| {
            format!(
                "{}/{}/{}/browse",
                state
                    .config
                    .upload_server_base_url
                    .clone()
                    .unwrap_or_default(),
                state.config.namespace,
                self.name()
            )
        })
    }
}

impl super::leaf::PlainFields for Dataset {
    fn plain_field(&self, name: &str) -> Option<async_graphql::Value> {
        // Text fields whose resolvers return what `Listable::field` gives.
        const PLAIN: &[&str] = &["id", "name", "displayName", "description", "type"];
        if name == "writable" {
            return Some(
                self.writable
                    .map_or(async_graphql::Value::Null, async_graphql::Value::Boolean),
            );
        }
        if PLAIN.contains(&name) {
            return super::leaf::text_of(self.field(name));
        }
        None
    }
}

impl Listable for Dataset {
    fn id(&self) -> &str {
        self.name()
    }

    fn field(&self, name: &str) -> Value {
        let spec = &self.cr.spec;
        match name {
            "id" | "name" => json_str(Some(self.name())),
            "displayName" => json_str(Some(spec.display_name.as_deref().unwrap_or(self.name()))),
            "description" => json_str(spec.description.as_deref()),
            "type" => json_str(Some(spec.type_.as_str())),
            _ => Value::Null,
        }
    }
}

#[Object]
impl Dataset {
    /// The name.
    async fn id(&self) -> ID {
        ID(self.name().to_owned())
    }
    /// The name.
    #[graphql(name = "name")]
    async fn name_field(&self) -> String {
        self.name().to_owned()
    }
    /// The display name (the name when unset).
    async fn display_name(&self) -> Option<String> {
        Some(
            self.cr
                .spec
                .display_name
                .clone()
                .unwrap_or_else(|| self.name().to_owned()),
        )
    }
    /// The description.
    async fn description(&self) -> Option<String> {
        self.cr.spec.description.clone()
    }
    /// Whether it is granted to everyone.
    async fn global(&self, ctx: &Context<'_>) -> bool {
        let naming = &state(ctx).config.naming;
        let (read, rw) = (
            naming.dataset(self.name(), false),
            naming.dataset(self.name(), true),
        );
        self.snap.everyone_group_id().is_some_and(|e| {
            let roles = self.snap.group_roles(e);
            roles.contains(&read) || roles.contains(&rw)
        })
    }
    /// `pv`, `nfs`, `hostPath`, `git` or `env`.
    #[graphql(name = "type")]
    async fn type_(&self) -> Option<String> {
        Some(self.cr.spec.type_.as_str().to_owned())
    }
    /// The git URL.
    async fn url(&self) -> Option<String> {
        self.cr.spec.url.clone()
    }
    /// `auto` or `manual` (pv datasets).
    async fn pv_provisioning(&self) -> Option<String> {
        (self.cr.spec.type_ == DatasetType::Pv)
            .then(|| self.cr.spec.provisioning().as_str().to_owned())
    }
    /// The NFS server.
    async fn nfs_server(&self) -> Option<String> {
        self.cr.spec.nfs.as_ref().map(|n| n.server.clone())
    }
    /// The NFS path.
    async fn nfs_path(&self) -> Option<String> {
        self.cr.spec.nfs.as_ref().map(|n| n.path.clone())
    }
    /// The host path.
    async fn host_path(&self) -> Option<String> {
        self.cr.spec.host_path.as_ref().map(|h| h.path.clone())
    }
    /// Environment variables (env datasets).
    async fn variables(&self) -> Option<Json> {
        self.cr
            .spec
            .variables
            .as_ref()
            .map(|v| async_graphql::Json(json!(v)))
    }
    /// In a group's list: whether the group may write it.
    async fn writable(&self) -> Option<bool> {
        self.writable
    }
    /// The spec as stored.
    async fn spec(&self) -> Option<Json> {
        serde_json::to_value(&self.cr.spec)
            .ok()
            .map(async_graphql::Json)
    }
    /// Groups it is granted to, with `writable`.
    async fn groups(&self, ctx: &Context<'_>) -> Vec<Option<Group>> {
        let naming = &state(ctx).config.naming;
        let roles = [
            naming.dataset(self.name(), false),
            naming.dataset(self.name(), true),
        ];
        let mut groups = resource_groups(&self.snap, &roles);
        super::group::retain_readable(ctx, &self.snap, &mut groups, |(g, _)| g.id.as_str());
        groups
            .into_iter()
            .map(|(mut g, writable)| {
                g.writable = Some(writable);
                Some(g)
            })
            .collect()
    }
    /// The git credentials (`gitsync-secret-…`).
    async fn secret(&self, ctx: &Context<'_>) -> Option<Secret> {
        let id = self.cr.spec.gitsync.as_ref()?.secret.clone()?;
        state(ctx)
            .stores
            .secret(&id)
            .and_then(|s| Secret::from_k8s(&s))
    }
    /// Where it is mounted in notebooks.
    async fn mount_root(&self) -> Option<String> {
        Some(
            self.cr
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(ANNOTATION_MOUNT_ROOT))
                .cloned()
                .unwrap_or_default(),
        )
    }
    /// Whether it is linked into home directories.
    async fn home_symlink(&self) -> Option<bool> {
        Some(self.cr.home_symlink())
    }
    /// Whether it is mounted only when launching with a group it is granted to.
    async fn launch_group_only(&self) -> Option<bool> {
        Some(self.cr.launch_group_only())
    }
    /// The volume name (pv datasets' PVC is `dataset-<volumeName>`).
    async fn volume_name(&self) -> Option<String> {
        self.cr.spec.volume_name.clone()
    }
    /// The pv dataset's size in GB (`-1` when its claim is missing), null for other types.
    async fn volume_size(&self, ctx: &Context<'_>) -> Option<f64> {
        if self.cr.spec.type_ != DatasetType::Pv {
            return None;
        }
        let claim = state(ctx).stores.pvc(&self.cr.pvc_name()?);
        let Some(claim) = claim else {
            return Some(-1.0);
        };
        let storage = claim
            .spec
            .as_ref()?
            .resources
            .as_ref()?
            .requests
            .as_ref()?
            .get("storage")?
            .0
            .clone();
        storage
            .trim_end_matches("Gi")
            .trim_end_matches('G')
            .parse()
            .ok()
    }
    /// Whether the upload server is on.
    async fn enable_upload_server(&self) -> Option<bool> {
        Some(self.cr.spec.upload_server_enabled())
    }
    /// The upload server's page for this dataset.
    async fn upload_server_link(&self, ctx: &Context<'_>) -> Option<String> {
        self.upload_link(ctx)
    }
}

/// Fields of a new dataset.
#[derive(InputObject, Debug, Clone, Default, Serialize)]
#[allow(missing_docs)]
pub struct DatasetCreateInput {
    /// The name (a resource name).
    pub name: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub global: Option<bool>,
    /// `pv`, `nfs`, `hostPath`, `git` or `env` (required).
    #[graphql(name = "type")]
    pub type_: Option<String>,
    pub url: Option<String>,
    pub pv_provisioning: Option<String>,
    pub nfs_server: Option<String>,
    pub nfs_path: Option<String>,
    pub host_path: Option<String>,
    pub variables: Option<Json>,
    pub groups: Option<DatasetGroupCreateManyInput>,
    pub secret: Option<SecretCreateOneInput>,
    pub mount_root: Option<String>,
    pub home_symlink: Option<bool>,
    pub launch_group_only: Option<bool>,
    pub volume_name: Option<String>,
    /// GB; required (> 0) for `pv` datasets with automatic provisioning.
    pub volume_size: Option<f64>,
    pub enable_upload_server: Option<bool>,
    pub upload_server_link: Option<String>,
}

/// Changes to a dataset.
#[derive(InputObject, Debug, Clone, Default, Serialize)]
#[allow(missing_docs)]
pub struct DatasetUpdateInput {
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub global: Option<bool>,
    #[graphql(name = "type")]
    pub type_: Option<String>,
    pub url: Option<String>,
    pub nfs_server: Option<String>,
    pub nfs_path: Option<String>,
    pub host_path: Option<String>,
    pub variables: Option<Json>,
    pub groups: Option<DatasetGroupUpdateManyInput>,
    pub secret: Option<SecretUpdateOneInput>,
    pub mount_root: Option<String>,
    pub home_symlink: Option<bool>,
    pub launch_group_only: Option<bool>,
    pub volume_name: Option<String>,
    pub volume_size: Option<f64>,
    pub enable_upload_server: Option<bool>,
    pub upload_server_link: Option<String>,
}

fn dataset_type(field: &str, value: &str) -> Result<DatasetType> {
    match serde_json::from_value::<DatasetType>(json!(value)) {
        Ok(DatasetType::Other(_)) | Err(_) => Err(Error::invalid(
            field,
            format!("must be pv, nfs, hostPath, git or env, not {value:?}"),
        )),
        Ok(kind) => Ok(kind),
    }
}

fn variables(field: &str, value: &Json) -> Result<serde_json::Map<String, Value>> {
    let Value::Object(map) = &value.0 else {
        return Err(Error::invalid(field, "must be an object of strings"));
    };
    for (k, v) in map {
        if !(v.is_string() || v.is_null()) {
            return Err(Error::invalid(format!("{field}.{k}"), "must be a string"));
        }
        if !super::group::is_env_name(k) {
            return Err(Error::invalid(
                format!("{field}.{k}"),
                super::group::ENV_NAME_RULE,
            ));
        }
    }
    Ok(map.clone())
}

fn dataset_groups(
    snap: &Snapshot,
    field: &str,
    items: Option<&Vec<DatasetGroupWhereUniqueInput>>,
) -> Result<Vec<(String, bool)>> {
    let items: Vec<&DatasetGroupWhereUniqueInput> = items.into_iter().flatten().collect();
    let ids =
        super::common::existing_ids(field, "group", items.iter().map(|item| &item.id), |id| {
            snap.group(id).is_some()
        })?;
    Ok(ids
        .into_iter()
        .zip(&items)
        .map(|(id, item)| (id, item.writable.unwrap_or(false)))
        .collect())
}

/// The name of a dataset's upload-server secret, as PrimeHub names it.
pub fn upload_secret_name(dataset: &str) -> String {
    format!("dataset-{dataset}")
}

/// A new random password for the upload server (24 characters from 62).
fn new_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::rng();
    (0..24)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// The htpasswd line the upload server checks: bcrypt (`$2y$`, which Apache's htpasswd and
/// nginx read), where PrimeHub used apr1-MD5.
pub fn htpasswd_line(username: &str, password: &str) -> Result<String> {
    let hash = bcrypt::hash_with_result(password, 10)
        .map_err(|e| Error::invalid("uploadServerSecret", e.to_string()))?
        .format_for_version(bcrypt::Version::TwoY);
    Ok(format!("{username}:{hash}"))
}

/// Writes (creates or replaces the data of) the upload server's secret; returns the credentials.
async fn write_upload_secret(ctx: &Context<'_>, dataset: &str) -> Result<DatasetUploadSecret> {
    let state = state(ctx);
    let name = upload_secret_name(dataset);
    let password = new_password();
    let line = htpasswd_line(&name, &password)?;
    let api = typed::<K8sSecret>(state);
    let mut secret = K8sSecret::default();
    secret.metadata.name = Some(name.clone());
    secret.metadata.namespace = Some(state.config.namespace.clone());
    secret.type_ = Some("Opaque".into());
    secret.data = Some(BTreeMap::from([(
        "auth".to_owned(),
        ByteString(line.clone().into_bytes()),
    )]));
    match api.create(&secret).await {
        Ok(_) => {}
        Err(KubeError::AlreadyExists { .. }) => {
            let encoded = base64_encode(line.as_bytes());
            api.patch(&name, &PatchBody::Merge(json!({"data": {"auth": encoded}})))
                .await?;
        }
        Err(e) => return Err(e.into()),
    }
    Ok(DatasetUploadSecret {
        username: Some(name),
        password: Some(password),
    })
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

async fn delete_upload_secret(ctx: &Context<'_>, dataset: &str) -> Result<()> {
    let state = state(ctx);
    match typed::<K8sSecret>(state)
        .delete(&upload_secret_name(dataset), &DeleteOptions::default())
        .await
    {
        Ok(()) | Err(KubeError::NotFound { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The dataset queries.
#[derive(Default)]
pub struct DatasetQuery;

fn all(
    ctx: &Context<'_>,
    where_: Option<&DatasetWhereInput>,
    order_by: Option<&DatasetOrderByInput>,
) -> Result<Vec<Dataset>> {
    let snap = snapshot(ctx);
    let items: Vec<Dataset> = state(ctx)
        .stores
        .datasets()
        .into_iter()
        .map(|cr| Dataset::new(cr, snap.clone()))
        .collect();
    let mut filtered = list::filter(items, where_json(where_)?.as_ref(), &[]);
    if let Some(search) = where_.and_then(|w| w.search.as_deref()) {
        filtered.retain(|d| {
            d.name().contains(search)
                || d.cr
                    .spec
                    .display_name
                    .as_deref()
                    .is_some_and(|n| n.contains(search))
        });
    }
    list::order(&mut filtered, &where_json(order_by)?.unwrap_or_default())?;
    Ok(filtered)
}

#[Object]
impl DatasetQuery {
    /// One dataset by name (null when missing).
    #[graphql(guard = "Allow::AdminOrClient")]
    async fn dataset(
        &self,
        ctx: &Context<'_>,
        r#where: DatasetWhereUniqueInput,
    ) -> async_graphql::Result<Option<Dataset>> {
        Ok(state(ctx)
            .stores
            .dataset(&r#where.id)
            .map(|cr| Dataset::new(cr, snapshot(ctx))))
    }

    /// Datasets (administrators and the shared-secret client).
    #[graphql(guard = "Allow::AdminOrClient")]
    #[allow(clippy::too_many_arguments)]
    async fn datasets(
        &self,
        ctx: &Context<'_>,
        r#where: Option<DatasetWhereInput>,
        page: Option<i32>,
        order_by: Option<DatasetOrderByInput>,
        before: Option<String>,
        after: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> async_graphql::Result<Vec<Option<Dataset>>> {
        let items = all(ctx, r#where.as_ref(), order_by.as_ref())?;
        let paged = list::paginate(items, &page_args(page, before, after, first, last));
        Ok(paged.items.into_iter().map(Some).collect())
    }

    /// Datasets as a connection.
    #[graphql(guard = "Allow::AdminOrClient")]
    #[allow(clippy::too_many_arguments)]
    async fn datasets_connection(
        &self,
        ctx: &Context<'_>,
        r#where: Option<DatasetWhereInput>,
        page: Option<i32>,
        order_by: Option<DatasetOrderByInput>,
        before: Option<String>,
        after: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> async_graphql::Result<DatasetConnection> {
        let items = all(ctx, r#where.as_ref(), order_by.as_ref())?;
        let paged = list::paginate(items, &page_args(page, before, after, first, last));
        Ok(DatasetConnection::new(
            paged
                .items
                .into_iter()
                .map(|d| (d.name().to_owned(), d))
                .collect(),
            paged.page_info,
        ))
    }
}

/// The dataset mutations.
#[derive(Default)]
pub struct DatasetMutation;

fn not_found(name: &str) -> Error {
    Error::NotFound {
        kind: "datasets.primehub.io",
        name: name.to_owned(),
    }
}

async fn create(ctx: &Context<'_>, data: DatasetCreateInput) -> Result<DatasetMutationResponse> {
    let state = state(ctx);
    let snap = state.keycloak.snapshot();
    primehub_model::names::validate_resource_name("data.name", &data.name)?;
    let type_text = data
        .type_
        .as_deref()
        .ok_or_else(|| Error::invalid("data.type", "is required"))?;
    let kind = dataset_type("data.type", type_text)?;
    let mut spec = serde_json::Map::new();
    spec.insert(
        "displayName".into(),
        json!(
            data.display_name
                .clone()
                .unwrap_or_else(|| data.name.clone())
        ),
    );
    if let Some(d) = &data.description {
        spec.insert("description".into(), json!(d));
    }
    spec.insert("type".into(), json!(kind.as_str()));
    spec.insert("volumeName".into(), json!(data.name));
    let mut annotations = BTreeMap::new();
    let mut pv_size = None;
    match kind {
        DatasetType::Git => {
            let url = data
                .url
                .as_deref()
                .filter(|u| !u.is_empty())
                .ok_or_else(|| Error::invalid("data.url", "is required for git datasets"))?;
            spec.insert("url".into(), json!(url));
            annotations.insert("primehub-gitsync".to_owned(), "true".to_owned());
            if let Some(id) = data
                .secret
                .as_ref()
                .and_then(|s| s.connect.as_ref())
                .map(|c| c.id.to_string())
            {
                if state.stores.secret(&id).is_none() {
                    return Err(Error::invalid(
                        "data.secret.connect.id",
                        format!("no secret has id {id}"),
                    ));
                }
                spec.insert("gitsync".into(), json!({"secret": id}));
            }
        }
        DatasetType::Env => {
            if let Some(v) = &data.variables {
                spec.insert(
                    "variables".into(),
                    Value::Object(variables("data.variables", v)?),
                );
            }
        }
        DatasetType::Pv => {
            let provisioning = data.pv_provisioning.as_deref().unwrap_or("auto");
            if !matches!(provisioning, "auto" | "manual") {
                return Err(Error::invalid(
                    "data.pvProvisioning",
                    "must be auto or manual",
                ));
            }
            spec.insert("pv".into(), json!({"provisioning": provisioning}));
            if provisioning == "auto" {
                let size = data.volume_size.unwrap_or(0.0);
                if !(size.is_finite() && size >= 1.0 && size.fract() == 0.0) {
                    return Err(Error::invalid(
                        "data.volumeSize",
                        "must be a whole number of GB, at least 1, for pv datasets with auto provisioning",
                    ));
                }
                // Checked above: a whole, positive, finite number.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let gb = size as u64;
                pv_size = Some(Capacity::new(gb));
            }
        }
        DatasetType::Nfs => {
            let server = data
                .nfs_server
                .as_deref()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| Error::invalid("data.nfsServer", "is required for nfs datasets"))?;
            let path = data
                .nfs_path
                .as_deref()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| Error::invalid("data.nfsPath", "is required for nfs datasets"))?;
            spec.insert("nfs".into(), json!({"server": server, "path": path}));
        }
        DatasetType::Other(_) => {
            return Err(Error::invalid(
                "data.type",
                "must be pv, nfs, hostPath, git or env",
            ));
        }
        DatasetType::HostPath => {
            let path = data
                .host_path
                .as_deref()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| {
                    Error::invalid("data.hostPath", "is required for hostPath datasets")
                })?;
            spec.insert("hostPath".into(), json!({"path": path}));
        }
    }
    if let Some(root) = &data.mount_root {
        annotations.insert(ANNOTATION_MOUNT_ROOT.to_owned(), root.clone());
    }
    annotations.insert(
        ANNOTATION_HOME_SYMLINK.to_owned(),
        data.home_symlink.unwrap_or(false).to_string(),
    );
    annotations.insert(
        ANNOTATION_LAUNCH_GROUP_ONLY.to_owned(),
        data.launch_group_only.unwrap_or(true).to_string(),
    );
    let upload = data.enable_upload_server == Some(true);
    if upload {
        if !matches!(
            kind,
            DatasetType::Pv | DatasetType::Nfs | DatasetType::HostPath
        ) {
            return Err(Error::invalid(
                "data.enableUploadServer",
                "is only for pv, nfs and hostPath datasets",
            ));
        }
        spec.insert("enableUploadServer".into(), json!("true"));
        annotations.insert(ANNOTATION_UPLOAD_SERVER.to_owned(), "true".to_owned());
        annotations.insert(
            ANNOTATION_UPLOAD_SERVER_AUTH_SECRET_NAME.to_owned(),
            upload_secret_name(&data.name),
        );
    }
    let groups = dataset_groups(
        &snap,
        "data.groups.connect",
        data.groups.as_ref().and_then(|g| g.connect.as_ref()),
    )?;
    if state.stores.dataset(&data.name).is_some() {
        return Err(resources::resource_conflict());
    }
    let pvc_name = primehub_model::names::dataset_pvc_name(&data.name);
    if pv_size.is_some() && state.stores.pvc(&pvc_name).is_some() {
        return Err(Error::Conflict {
            code: crate::error::ErrorCode::ResourceConflict,
            message: format!("PVC {pvc_name} already exist"),
        });
    }
    let object: DatasetCr = serde_json::from_value(json!({
        "apiVersion": "primehub.io/v1alpha1",
        "kind": "Dataset",
        "metadata": {"name": data.name, "namespace": state.config.namespace, "annotations": annotations},
        "spec": Value::Object(spec),
    }))
    .map_err(|e| Error::invalid("data", e.to_string()))?;
    let grants = Grants {
        global: data.global.unwrap_or(false),
        groups,
    };
    resources::create_resource(state, RoleKind::Dataset, &data.name, &object, &grants).await?;
    // The claim and the upload secret; undo everything when one fails.
    let mut undo = Undo::new();
    let rest = async {
        if let Some(size) = pv_size {
            let claim = resources::volume_claim(state, &pvc_name, &pvc_name, size);
            typed::<PersistentVolumeClaim>(state).create(&claim).await?;
            undo.claim_created(&pvc_name);
        }
        if upload {
            return write_upload_secret(ctx, &data.name).await.map(Some);
        }
        Ok::<_, Error>(None)
    }
    .await;
    match rest {
        Ok(secret) => Ok(DatasetMutationResponse {
            id: ID(data.name),
            upload_server_secret: secret,
        }),
        Err(e) => {
            tracing::warn!(dataset = %data.name, error = %e, "createDataset failed after creating the dataset: rolling back");
            undo.undo(state).await;
            // The upload secret is the last step: when it failed, it wrote nothing, and a
            // secret of that name that existed before is not ours to delete.
            if let Err(undo) =
                resources::delete_resource::<DatasetCr>(state, RoleKind::Dataset, &data.name).await
            {
                tracing::error!(dataset = %data.name, error = %undo, "could not roll back createDataset");
            }
            Err(e)
        }
    }
}

async fn update(
    ctx: &Context<'_>,
    name: &str,
    data: DatasetUpdateInput,
) -> Result<DatasetMutationResponse> {
    let state = state(ctx);
    let snap = state.keycloak.snapshot();
    let current = state.stores.dataset(name).ok_or_else(|| not_found(name))?;
    if let Some(n) = data.name.as_deref()
        && n != name
    {
        return Err(Error::invalid("data.name", "cannot be changed"));
    }
    let new_kind = data
        .type_
        .as_deref()
        .map(|t| dataset_type("data.type", t))
        .transpose()?;
    let kind = new_kind
        .clone()
        .unwrap_or_else(|| current.spec.type_.clone());
    // The fields the resulting type needs, as given or as stored.
    let given_or = |given: &Option<String>, stored: Option<&str>| {
        given.as_deref().or(stored).is_some_and(|v| !v.is_empty())
    };
    let current_nfs = current.spec.nfs.as_ref();
    let required: &[(&str, bool, &str)] = match kind {
        DatasetType::Git => &[(
            "data.url",
            given_or(&data.url, current.spec.url.as_deref()),
            "is required for git datasets",
        )],
        DatasetType::Nfs => &[
            (
                "data.nfsServer",
                given_or(&data.nfs_server, current_nfs.map(|n| n.server.as_str())),
                "is required for nfs datasets",
            ),
            (
                "data.nfsPath",
                given_or(&data.nfs_path, current_nfs.map(|n| n.path.as_str())),
                "is required for nfs datasets",
            ),
        ],
        DatasetType::HostPath => &[(
            "data.hostPath",
            given_or(
                &data.host_path,
                current.spec.host_path.as_ref().map(|h| h.path.as_str()),
            ),
            "is required for hostPath datasets",
        )],
        _ => &[],
    };
    if let Some((field, _, rule)) = required.iter().find(|(_, present, _)| !present) {
        return Err(Error::invalid(*field, *rule));
    }
    let mut spec = serde_json::Map::new();
    let mut annotations = serde_json::Map::new();
    if let Some(d) = &data.display_name {
        spec.insert("displayName".into(), json!(d));
    }
    if let Some(d) = &data.description {
        spec.insert("description".into(), json!(d));
    }
    if let Some(t) = &new_kind {
        spec.insert("type".into(), json!(t.as_str()));
    }
    if let Some(u) = &data.url {
        spec.insert("url".into(), json!(u));
    }
    if let Some(v) = &data.variables {
        // Replace: keys not given are removed.
        let new = variables("data.variables", v)?;
        let mut patch = serde_json::Map::new();
        for old in current.spec.variables.iter().flat_map(|m| m.keys()) {
            patch.insert(old.clone(), Value::Null);
        }
        patch.extend(new);
        spec.insert("variables".into(), Value::Object(patch));
    }
    if data.nfs_server.is_some() || data.nfs_path.is_some() {
        let mut nfs = serde_json::Map::new();
        if let Some(s) = &data.nfs_server {
            nfs.insert("server".into(), json!(s));
        }
        if let Some(p) = &data.nfs_path {
            nfs.insert("path".into(), json!(p));
        }
        spec.insert("nfs".into(), Value::Object(nfs));
    }
    if let Some(p) = &data.host_path {
        spec.insert("hostPath".into(), json!({"path": p}));
    }
    if let Some(secret) = &data.secret {
        if let Some(id) = secret.connect.as_ref().map(|c| c.id.to_string()) {
            if state.stores.secret(&id).is_none() {
                return Err(Error::invalid(
                    "data.secret.connect.id",
                    format!("no secret has id {id}"),
                ));
            }
            spec.insert("gitsync".into(), json!({"secret": id}));
        } else if secret.disconnect == Some(true) {
            spec.insert("gitsync".into(), Value::Null);
        }
    }
    if let Some(root) = &data.mount_root {
        annotations.insert(ANNOTATION_MOUNT_ROOT.into(), json!(root));
    }
    if let Some(v) = data.home_symlink {
        annotations.insert(ANNOTATION_HOME_SYMLINK.into(), json!(v.to_string()));
    }
    if let Some(v) = data.launch_group_only {
        annotations.insert(ANNOTATION_LAUNCH_GROUP_ONLY.into(), json!(v.to_string()));
    }
    let was_on = current.spec.upload_server_enabled();
    let turn_on = data.enable_upload_server == Some(true) && !was_on;
    let turn_off = data.enable_upload_server == Some(false) && was_on;
    if turn_on {
        if !matches!(
            kind,
            DatasetType::Pv | DatasetType::Nfs | DatasetType::HostPath
        ) {
            return Err(Error::invalid(
                "data.enableUploadServer",
                "is only for pv, nfs and hostPath datasets",
            ));
        }
        spec.insert("enableUploadServer".into(), json!("true"));
        annotations.insert(ANNOTATION_UPLOAD_SERVER.into(), json!("true"));
        annotations.insert(
            ANNOTATION_UPLOAD_SERVER_AUTH_SECRET_NAME.into(),
            json!(upload_secret_name(name)),
        );
    } else if turn_off {
        spec.insert("enableUploadServer".into(), json!("false"));
        annotations.insert(ANNOTATION_UPLOAD_SERVER.into(), Value::Null);
        annotations.insert(
            ANNOTATION_UPLOAD_SERVER_AUTH_SECRET_NAME.into(),
            Value::Null,
        );
    }
    let connect = dataset_groups(
        &snap,
        "data.groups.connect",
        data.groups.as_ref().and_then(|g| g.connect.as_ref()),
    )?;
    let disconnect = super::user::group_ids(
        &snap,
        "data.groups.disconnect",
        data.groups.as_ref().and_then(|g| g.disconnect.as_ref()),
    )?;
    // Mappings first (all or nothing), then the resource; a refused patch undoes the mappings.
    let regranted = resources::regrant(
        state,
        RoleKind::Dataset,
        name,
        data.global,
        &connect,
        &disconnect,
    )
    .await?;
    // The patch, and the one that restores the dataset should the upload secret step fail.
    let mut restore = None;
    if !spec.is_empty() || !annotations.is_empty() {
        let mut patch = json!({"spec": spec});
        if !annotations.is_empty() {
            patch["metadata"] = json!({"annotations": annotations});
        }
        let before =
            serde_json::to_value(&*current).map_err(|e| Error::invalid("data", e.to_string()))?;
        let inverse = resources::inverse_merge_patch(&before, &patch);
        if let Err(e) = resources::patch_resource::<DatasetCr>(state, name, patch).await {
            regranted.undo(state).await;
            return Err(e);
        }
        restore = Some(inverse);
    }
    let secret_step = if turn_on {
        write_upload_secret(ctx, name).await.map(Some)
    } else if turn_off {
        delete_upload_secret(ctx, name).await.map(|()| None)
    } else {
        Ok(None)
    };
    let secret = match secret_step {
        Ok(secret) => secret,
        Err(e) => {
            tracing::warn!(dataset = %name, error = %e, "the upload secret step failed: rolling back updateDataset");
            if let Some(inverse) = restore
                && let Err(undo) =
                    resources::patch_resource::<DatasetCr>(state, name, inverse).await
            {
                tracing::error!(dataset = %name, error = %undo, "rollback: could not restore the dataset");
            }
            regranted.undo(state).await;
            return Err(e);
        }
    };
    Ok(DatasetMutationResponse {
        id: ID(name.to_owned()),
        upload_server_secret: secret,
    })
}

#[Object]
impl DatasetMutation {
    /// Creates a dataset: role, resource, grants, the pv claim and the upload server secret;
    /// everything is undone when a step fails.
    #[graphql(guard = "Allow::Admin")]
    async fn create_dataset(
        &self,
        ctx: &Context<'_>,
        data: DatasetCreateInput,
    ) -> async_graphql::Result<DatasetMutationResponse> {
        Ok(create(ctx, data).await?)
    }

    /// Updates a dataset (a merge patch), its grants and its upload server.
    #[graphql(guard = "Allow::Admin")]
    async fn update_dataset(
        &self,
        ctx: &Context<'_>,
        data: DatasetUpdateInput,
        r#where: DatasetWhereUniqueInput,
    ) -> async_graphql::Result<DatasetMutationResponse> {
        Ok(update(ctx, &r#where.id, data).await?)
    }

    /// New upload server credentials (returned once; only a bcrypt hash is stored).
    #[graphql(guard = "Allow::Admin")]
    async fn regenerate_upload_server_secret(
        &self,
        ctx: &Context<'_>,
        r#where: DatasetWhereUniqueInput,
    ) -> async_graphql::Result<DatasetMutationResponse> {
        let state = state(ctx);
        let current = state
            .stores
            .dataset(&r#where.id)
            .ok_or_else(|| not_found(&r#where.id))?;
        if !current.spec.upload_server_enabled() {
            return Err(
                Error::invalid("where.id", "the dataset's upload server is not enabled").into(),
            );
        }
        let secret = write_upload_secret(ctx, &r#where.id).await?;
        Ok(DatasetMutationResponse {
            id: r#where.id,
            upload_server_secret: Some(secret),
        })
    }

    /// Deletes a dataset, its roles, its pv claim (automatic provisioning) and upload secret.
    #[graphql(guard = "Allow::Admin")]
    async fn delete_dataset(
        &self,
        ctx: &Context<'_>,
        r#where: DatasetWhereUniqueInput,
    ) -> async_graphql::Result<Option<Dataset>> {
        let state = state(ctx);
        let current = state
            .stores
            .dataset(&r#where.id)
            .ok_or_else(|| not_found(&r#where.id))?;
        let shown = Dataset::new(current.clone(), state.keycloak.snapshot());
        resources::delete_resource::<DatasetCr>(state, RoleKind::Dataset, &r#where.id).await?;
        if current.spec.type_ == DatasetType::Pv
            && current.spec.provisioning() == primehub_model::crd::dataset::PvProvisioning::Auto
            && let Some(pvc) = current.pvc_name()
        {
            match typed::<PersistentVolumeClaim>(state)
                .delete(&pvc, &DeleteOptions::default())
                .await
            {
                Ok(()) | Err(KubeError::NotFound { .. }) => {}
                Err(e) => return Err(Error::from(e).into()),
            }
        }
        delete_upload_secret(ctx, &r#where.id).await?;
        Ok(Some(shown))
    }
}
