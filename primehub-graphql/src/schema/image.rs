//! Images: queries and mutations, group images, build requests.

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use primehub_keycloak::cache::Snapshot;
use primehub_model::crd::image::Image as ImageCr;
use primehub_model::roles::RoleKind;
use serde::Serialize;
use serde_json::{Value, json};

use super::common::{Json, connection, json_str, page_args, where_unique};
use super::group::{Group, GroupCreateManyInput, GroupUpdateManyInput};
use super::instance_type::resource_groups;
use super::user::{group_ids, where_json};
use super::{snapshot, state};
use crate::auth::Caller;
use crate::error::{Error, Result};
use crate::guard::{Allow, NOT_PERMITTED, caller, denied};
use crate::list::{self, Listable};
use crate::resources::{self, Grants};

connection!(ImageConnection, ImageEdge, Image);

where_unique!(
    /// Selects one image by name.
    ImageWhereUniqueInput
);

/// Which images a list shows.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryImageMode {
    /// Images without a group (system images).
    #[graphql(name = "SYSTEM_ONLY")]
    SystemOnly,
    /// Group images (with a `groupName`).
    #[graphql(name = "GROUP_ONLY")]
    GroupOnly,
    /// Both.
    #[graphql(name = "ALL")]
    All,
}

impl QueryImageMode {
    /// Whether `image` is shown in this mode.
    pub fn admits(self, image: &ImageCr) -> bool {
        let group_image = image
            .spec
            .group_name
            .as_deref()
            .is_some_and(|g| !g.is_empty());
        match self {
            QueryImageMode::SystemOnly => !group_image,
            QueryImageMode::GroupOnly => group_image,
            QueryImageMode::All => true,
        }
    }
}

/// Filters of the image lists.
#[derive(InputObject, Debug, Clone, Default, Serialize)]
pub struct ImageWhereInput {
    /// Exactly this name.
    pub id: Option<ID>,
    /// Any of these filters.
    #[graphql(name = "_or")]
    #[serde(rename = "_or")]
    pub or: Option<Vec<Option<ImageWhereInput>>>,
    /// Names containing this text.
    #[graphql(name = "name_contains")]
    pub name_contains: Option<String>,
    /// Display names containing this text.
    #[graphql(name = "displayName_contains")]
    #[serde(rename = "displayName_contains")]
    pub display_name_contains: Option<String>,
    /// Group names containing this text.
    #[graphql(name = "groupName_contains")]
    #[serde(rename = "groupName_contains")]
    pub group_name_contains: Option<String>,
    /// Types containing this text.
    #[graphql(name = "type_contains")]
    pub type_contains: Option<String>,
    /// Descriptions containing this text.
    #[graphql(name = "description_contains")]
    pub description_contains: Option<String>,
}

/// The order of the image lists.
#[derive(InputObject, Debug, Clone, Default, Serialize)]
#[allow(missing_docs)]
pub struct ImageOrderByInput {
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub description: Option<String>,
    #[graphql(name = "type")]
    #[serde(rename = "type")]
    pub type_: Option<String>,
}

/// Packages of an image build.
#[derive(SimpleObject, Debug, Clone, Default)]
pub struct ImageSpecPackages {
    /// apt packages.
    pub apt: Option<Vec<Option<String>>>,
    /// pip packages.
    pub pip: Option<Vec<Option<String>>>,
    /// conda packages.
    pub conda: Option<Vec<Option<String>>>,
}

/// An image build request.
#[derive(SimpleObject, Debug, Clone, Default)]
pub struct ImageSpec {
    /// The base image.
    pub base_image: Option<String>,
    /// The pull secret of the base image.
    pub pull_secret: Option<String>,
    /// Packages to install.
    pub packages: Option<ImageSpecPackages>,
    /// Whether the build is cancelled.
    pub cancel: Option<bool>,
    /// When the build was last requested.
    pub update_time: Option<String>,
}

/// The state of an image build.
#[derive(SimpleObject, Debug, Clone, Default)]
pub struct JobStatus {
    /// The built image.
    pub image: Option<String>,
    /// The build phase.
    pub phase: Option<String>,
}

/// Packages to build into an image.
#[derive(InputObject, Debug, Clone, Default, Serialize)]
pub struct ImageSpecPackagesInput {
    /// apt packages.
    pub apt: Option<Vec<Option<String>>>,
    /// pip packages.
    pub pip: Option<Vec<Option<String>>>,
    /// conda packages.
    pub conda: Option<Vec<Option<String>>>,
}

/// An image build request.
#[derive(InputObject, Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageSpecUpdateInput {
    /// The base image.
    pub base_image: Option<String>,
    /// The pull secret of the base image.
    pub pull_secret: Option<String>,
    /// Packages to install.
    pub packages: Option<ImageSpecPackagesInput>,
    /// Cancel the build.
    pub cancel: Option<bool>,
}

/// A PrimeHub image.
#[derive(Clone)]
pub struct Image {
    pub(crate) cr: Arc<ImageCr>,
    pub(crate) snap: Arc<Snapshot>,
}

fn strings(list: &[String]) -> Option<Vec<Option<String>>> {
    Some(list.iter().cloned().map(Some).collect())
}

impl Image {
    pub(crate) fn new(cr: Arc<ImageCr>, snap: Arc<Snapshot>) -> Image {
        Image { cr, snap }
    }

    fn name(&self) -> &str {
        self.cr.metadata.name.as_deref().unwrap_or_default()
    }
}

impl super::leaf::PlainFields for Image {
    fn plain_field(&self, name: &str) -> Option<async_graphql::Value> {
        // Text fields whose resolvers return what `Listable::field` gives.
        const PLAIN: &[&str] = &[
            "id",
            "name",
            "displayName",
            "description",
            "type",
            "groupName",
            "url",
        ];
        if PLAIN.contains(&name) {
            return super::leaf::text_of(self.field(name));
        }
        None
    }
}

impl Listable for Image {
    fn id(&self) -> &str {
        self.name()
    }

    fn field(&self, name: &str) -> Value {
        let spec = &self.cr.spec;
        match name {
            "id" | "name" => json_str(Some(self.name())),
            "displayName" => json_str(Some(spec.display_name.as_deref().unwrap_or(self.name()))),
            "description" => json_str(spec.description.as_deref()),
            "type" => json_str(spec.type_.as_ref().map(|t| t.as_str())),
            "groupName" => json_str(spec.group_name.as_deref()),
            "url" => json_str(spec.url.as_deref()),
            _ => Value::Null,
        }
    }
}

#[Object]
impl Image {
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
    /// `cpu`, `gpu` or `both`.
    #[graphql(name = "type")]
    async fn type_(&self) -> Option<String> {
        self.cr.spec.type_.as_ref().map(|t| t.as_str().to_owned())
    }
    /// The image URL.
    async fn url(&self) -> Option<String> {
        self.cr.spec.url.clone()
    }
    /// The image URL for GPU instance types.
    async fn url_for_gpu(&self) -> Option<String> {
        self.cr.spec.url_for_gpu.clone()
    }
    /// The group of a group image.
    async fn group_name(&self) -> Option<String> {
        self.cr.spec.group_name.clone()
    }
    /// Whether it is granted to everyone.
    async fn global(&self, ctx: &Context<'_>) -> bool {
        let role = state(ctx).config.naming.image(self.name());
        self.snap
            .everyone_group_id()
            .is_some_and(|e| self.snap.group_roles(e).contains(&role))
    }
    /// The spec as stored.
    async fn spec(&self) -> Option<Json> {
        serde_json::to_value(&self.cr.spec)
            .ok()
            .map(async_graphql::Json)
    }
    /// The pull secret's name.
    async fn use_image_pull_secret(&self) -> Option<String> {
        self.cr.spec.pull_secret.clone().filter(|s| !s.is_empty())
    }
    /// Groups it is granted to (`everyone` left out).
    async fn groups(&self, ctx: &Context<'_>) -> Vec<Option<Group>> {
        let role = state(ctx).config.naming.image(self.name());
        let mut groups = resource_groups(&self.snap, &[role]);
        super::group::retain_readable(ctx, &self.snap, &mut groups, |(g, _)| g.id.as_str());
        groups.into_iter().map(|(g, _)| Some(g)).collect()
    }
    /// Whether it has a URL (a built image has one once its build succeeded).
    async fn is_ready(&self) -> bool {
        self.cr.spec.url.as_deref().is_some_and(|u| !u.is_empty())
    }
    /// The build request.
    async fn image_spec(&self) -> Option<ImageSpec> {
        self.cr.spec.image_spec.as_ref().map(|s| ImageSpec {
            base_image: Some(s.base_image.clone()),
            pull_secret: s.pull_secret.clone(),
            packages: Some(match &s.packages {
                Some(p) => ImageSpecPackages {
                    apt: strings(&p.apt),
                    pip: strings(&p.pip),
                    conda: strings(&p.conda),
                },
                None => ImageSpecPackages {
                    apt: Some(vec![]),
                    pip: Some(vec![]),
                    conda: Some(vec![]),
                },
            }),
            cancel: Some(s.cancel),
            update_time: s.update_time.clone(),
        })
    }
    /// The build's state.
    async fn job_status(&self) -> Option<JobStatus> {
        let condition = self.cr.status.as_ref()?.job_condition.as_ref()?;
        Some(JobStatus {
            image: condition.image.clone(),
            phase: condition.phase.as_ref().map(|p| p.as_str().to_owned()),
        })
    }
    /// Where the build log is served (image builds are not served by this API yet: null).
    async fn log_endpoint(&self) -> Option<String> {
        None
    }
}

/// Fields of a new image.
#[derive(InputObject, Debug, Clone, Default, Serialize)]
#[allow(missing_docs)]
pub struct ImageCreateInput {
    /// The name (a resource name).
    pub name: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
    /// `cpu`, `gpu` or `both` (default `both`).
    #[graphql(name = "type")]
    pub type_: Option<String>,
    pub url: Option<String>,
    pub url_for_gpu: Option<String>,
    /// Makes it a group image of this group (group admins may create those).
    pub group_name: Option<String>,
    pub global: Option<bool>,
    /// The pull secret's name.
    pub use_image_pull_secret: Option<String>,
    pub groups: Option<GroupCreateManyInput>,
    pub image_spec: Option<ImageSpecUpdateInput>,
}

/// Changes to an image.
#[derive(InputObject, Debug, Clone, Default, Serialize)]
#[allow(missing_docs)]
pub struct ImageUpdateInput {
    /// Must equal the current name when given.
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub description: Option<String>,
    #[graphql(name = "type")]
    pub type_: Option<String>,
    pub url: Option<String>,
    pub url_for_gpu: Option<String>,
    pub group_name: Option<String>,
    pub global: Option<bool>,
    pub use_image_pull_secret: Option<String>,
    pub groups: Option<GroupUpdateManyInput>,
    pub image_spec: Option<ImageSpecUpdateInput>,
}

fn image_type(field: &str, value: Option<&str>) -> Result<Option<&'static str>> {
    match value {
        None => Ok(None),
        Some("cpu") => Ok(Some("cpu")),
        Some("gpu") => Ok(Some("gpu")),
        Some("both") => Ok(Some("both")),
        Some(other) => Err(Error::invalid(
            field,
            format!("must be cpu, gpu or both, not {other:?}"),
        )),
    }
}

fn image_spec_json(field: &str, input: &ImageSpecUpdateInput, now: &str) -> Result<Value> {
    let base = input
        .base_image
        .as_deref()
        .filter(|b| !b.is_empty())
        .ok_or_else(|| Error::invalid(format!("{field}.baseImage"), "is required"))?;
    let list = |l: &Option<Vec<Option<String>>>| -> Vec<String> {
        l.iter()
            .flatten()
            .flatten()
            .filter(|s| !s.is_empty())
            .cloned()
            .collect()
    };
    let packages = input
        .packages
        .as_ref()
        .map(|p| json!({"apt": list(&p.apt), "pip": list(&p.pip), "conda": list(&p.conda)}));
    let mut spec = json!({"baseImage": base, "updateTime": now});
    if let Some(secret) = input.pull_secret.as_deref().filter(|s| !s.is_empty()) {
        spec["pullSecret"] = json!(secret);
    }
    if let Some(p) = packages {
        spec["packages"] = p;
    }
    if input.cancel == Some(true) {
        spec["cancel"] = json!(true);
    }
    Ok(spec)
}

/// PrimeHub's rule for image writes: a group image needs the caller to be an admin of its group
/// (or a system admin); a system image needs a system admin.
fn check_image_write(snap: &Snapshot, caller: &Caller, group_name: Option<&str>) -> Result<()> {
    if caller.is_admin() {
        return Ok(());
    }
    let (Some(group), Some(identity)) = (group_name.filter(|g| !g.is_empty()), caller.identity())
    else {
        return Err(denied());
    };
    let is_group_admin = snap
        .group_by_name(group)
        .is_some_and(|g| g.attributes.is_admin(&identity.username));
    if is_group_admin {
        Ok(())
    } else {
        Err(denied())
    }
}

/// What a group admin (not a system administrator) may grant: only their own group. Making an
/// image global (`global: true`, granting it to `everyone`) or granting it to other groups needs a system
/// administrator (PrimeHub lets a group admin do both).
fn check_image_grants(
    snap: &Snapshot,
    caller: &Caller,
    group_name: Option<&str>,
    global: Option<bool>,
    groups: &[(&str, &[String])],
) -> Result<()> {
    if caller.is_admin() {
        return Ok(());
    }
    if global == Some(true) {
        return Err(Error::NotAuth(format!(
            "{NOT_PERMITTED}: data.global needs a system administrator"
        )));
    }
    let own = group_name
        .and_then(|g| snap.group_by_name(g))
        .map(|g| g.group.id.as_str());
    for (field, ids) in groups {
        if ids.iter().any(|id| Some(id.as_str()) != own) {
            return Err(Error::NotAuth(format!(
                "{NOT_PERMITTED}: {field} may name only the image's own group"
            )));
        }
    }
    Ok(())
}

fn now_rfc3339(ctx: &Context<'_>) -> String {
    state(ctx).clock.now().to_string()
}

/// The image queries.
#[derive(Default)]
pub struct ImageQuery;

fn visible(
    ctx: &Context<'_>,
    mode: Option<QueryImageMode>,
    where_: Option<&ImageWhereInput>,
) -> Result<Vec<Image>> {
    let snap = snapshot(ctx);
    let items: Vec<Image> = state(ctx)
        .stores
        .images()
        .into_iter()
        .filter(|i| mode.unwrap_or(QueryImageMode::All).admits(i))
        .map(|cr| Image::new(cr, snap.clone()))
        .collect();
    Ok(list::filter(items, where_json(where_)?.as_ref(), &[]))
}

fn page_of(
    mut items: Vec<Image>,
    order_by: Option<&ImageOrderByInput>,
    args: &list::PageArgs,
) -> Result<list::Paged<Image>> {
    list::order(&mut items, &where_json(order_by)?.unwrap_or_default())?;
    Ok(list::paginate(items, args))
}

/// Images a user (not an administrator) may see: those granted to their groups or to
/// everyone, and group images of their groups.
fn user_may_see(
    snap: &Snapshot,
    caller: &Caller,
    image: &Image,
    naming: &primehub_model::roles::RoleNaming,
) -> bool {
    let Some(identity) = caller.identity() else {
        return true;
    };
    if caller.is_admin() {
        return true;
    }
    let role = naming.image(image.name());
    let groups = snap.user_group_ids(&identity.user_id);
    let granted = groups.iter().any(|g| snap.group_roles(g).contains(&role));
    // Group images of the caller's groups, and of the groups they administer (a group admin
    // manages them without necessarily being a member).
    let own_group_image = image.cr.spec.group_name.as_deref().is_some_and(|gn| {
        groups
            .iter()
            .any(|g| snap.group(g).is_some_and(|g| g.group.name == gn))
            || snap
                .group_by_name(gn)
                .is_some_and(|g| g.attributes.is_admin(&identity.username))
    });
    granted || own_group_image
}

#[Object]
impl ImageQuery {
    /// One image by name (null when missing or not visible to a user).
    #[graphql(guard = "Allow::Authenticated")]
    async fn image(
        &self,
        ctx: &Context<'_>,
        r#where: ImageWhereUniqueInput,
    ) -> async_graphql::Result<Option<Image>> {
        let snap = snapshot(ctx);
        let caller = caller(ctx)?;
        let naming = &state(ctx).config.naming;
        Ok(state(ctx)
            .stores
            .image(&r#where.id)
            .map(|cr| Image::new(cr, snap.clone()))
            .filter(|i| user_may_see(&snap, caller, i, naming)))
    }

    /// Images (users see those granted to them).
    #[graphql(guard = "Allow::Authenticated")]
    #[allow(clippy::too_many_arguments)]
    async fn images(
        &self,
        ctx: &Context<'_>,
        mode: Option<QueryImageMode>,
        r#where: Option<ImageWhereInput>,
        page: Option<i32>,
        order_by: Option<ImageOrderByInput>,
        before: Option<String>,
        after: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> async_graphql::Result<Vec<Option<Image>>> {
        let snap = snapshot(ctx);
        let caller = caller(ctx)?;
        let naming = &state(ctx).config.naming;
        let items: Vec<Image> = visible(ctx, mode, r#where.as_ref())?
            .into_iter()
            .filter(|i| user_may_see(&snap, caller, i, naming))
            .collect();
        let paged = page_of(
            items,
            order_by.as_ref(),
            &page_args(page, before, after, first, last),
        )?;
        Ok(paged.items.into_iter().map(Some).collect())
    }

    /// Images as a connection (users see those granted to them).
    #[graphql(guard = "Allow::Authenticated")]
    #[allow(clippy::too_many_arguments)]
    async fn images_connection(
        &self,
        ctx: &Context<'_>,
        mode: Option<QueryImageMode>,
        r#where: Option<ImageWhereInput>,
        page: Option<i32>,
        order_by: Option<ImageOrderByInput>,
        before: Option<String>,
        after: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> async_graphql::Result<ImageConnection> {
        let snap = snapshot(ctx);
        let caller = caller(ctx)?;
        let naming = &state(ctx).config.naming;
        let items: Vec<Image> = visible(ctx, mode, r#where.as_ref())?
            .into_iter()
            .filter(|i| user_may_see(&snap, caller, i, naming))
            .collect();
        let paged = page_of(
            items,
            order_by.as_ref(),
            &page_args(page, before, after, first, last),
        )?;
        Ok(ImageConnection::new(
            paged
                .items
                .into_iter()
                .map(|i| (i.name().to_owned(), i))
                .collect(),
            paged.page_info,
        ))
    }

    /// Group images (users see those of their groups).
    #[graphql(guard = "Allow::Authenticated")]
    #[allow(clippy::too_many_arguments)]
    async fn group_images(
        &self,
        ctx: &Context<'_>,
        r#where: Option<ImageWhereInput>,
        page: Option<i32>,
        order_by: Option<ImageOrderByInput>,
        before: Option<String>,
        after: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> async_graphql::Result<Vec<Option<Image>>> {
        let snap = snapshot(ctx);
        let caller = caller(ctx)?;
        let naming = &state(ctx).config.naming;
        let items: Vec<Image> = visible(ctx, Some(QueryImageMode::GroupOnly), r#where.as_ref())?
            .into_iter()
            .filter(|i| user_may_see(&snap, caller, i, naming))
            .collect();
        let paged = page_of(
            items,
            order_by.as_ref(),
            &page_args(page, before, after, first, last),
        )?;
        Ok(paged.items.into_iter().map(Some).collect())
    }

    /// Group images as a connection.
    #[graphql(guard = "Allow::Authenticated")]
    #[allow(clippy::too_many_arguments)]
    async fn group_images_connection(
        &self,
        ctx: &Context<'_>,
        r#where: Option<ImageWhereInput>,
        page: Option<i32>,
        order_by: Option<ImageOrderByInput>,
        before: Option<String>,
        after: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> async_graphql::Result<GroupImageConnection> {
        let snap = snapshot(ctx);
        let caller = caller(ctx)?;
        let naming = &state(ctx).config.naming;
        let items: Vec<Image> = visible(ctx, Some(QueryImageMode::GroupOnly), r#where.as_ref())?
            .into_iter()
            .filter(|i| user_may_see(&snap, caller, i, naming))
            .collect();
        let paged = page_of(
            items,
            order_by.as_ref(),
            &page_args(page, before, after, first, last),
        )?;
        let connection = ImageConnection::new(
            paged
                .items
                .into_iter()
                .map(|i| (i.name().to_owned(), i))
                .collect(),
            paged.page_info,
        );
        Ok(GroupImageConnection {
            page_info: connection.page_info,
            edges: connection.edges,
        })
    }
}

/// The group images connection (same edges as `ImageConnection`).
#[derive(SimpleObject)]
pub struct GroupImageConnection {
    /// Information to aid in pagination.
    pub page_info: list::PageInfo,
    /// A list of edges.
    pub edges: Vec<Option<ImageEdge>>,
}

/// The image mutations.
#[derive(Default)]
pub struct ImageMutation;

async fn create(ctx: &Context<'_>, data: ImageCreateInput) -> Result<Image> {
    let state = state(ctx);
    let snap = state.keycloak.snapshot();
    check_image_write(
        &snap,
        caller(ctx).map_err(|_| denied())?,
        data.group_name.as_deref(),
    )?;
    primehub_model::names::validate_resource_name("data.name", &data.name)?;
    let type_ = image_type("data.type", data.type_.as_deref())?.unwrap_or("both");
    if let Some(group) = data.group_name.as_deref().filter(|g| !g.is_empty())
        && snap.group_by_name(group).is_none()
    {
        return Err(Error::invalid(
            "data.groupName",
            format!("no group is named {group}"),
        ));
    }
    let groups = group_ids(
        &snap,
        "data.groups.connect",
        data.groups.as_ref().and_then(|g| g.connect.as_ref()),
    )?;
    check_image_grants(
        &snap,
        caller(ctx).map_err(|_| denied())?,
        data.group_name.as_deref(),
        data.global,
        &[("data.groups.connect", &groups)],
    )?;
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
    spec.insert("type".into(), json!(type_));
    if let Some(u) = data.url.as_deref().filter(|u| !u.is_empty()) {
        spec.insert("url".into(), json!(u));
        let gpu = data
            .url_for_gpu
            .as_deref()
            .filter(|u| !u.is_empty())
            .unwrap_or(u);
        spec.insert(
            "urlForGpu".into(),
            json!(if type_ == "both" { gpu } else { u }),
        );
    }
    if let Some(s) = data
        .use_image_pull_secret
        .as_deref()
        .filter(|s| !s.is_empty())
    {
        spec.insert("pullSecret".into(), json!(s));
    }
    if let Some(g) = data.group_name.as_deref().filter(|g| !g.is_empty()) {
        spec.insert("groupName".into(), json!(g));
    }
    if let Some(image_spec) = &data.image_spec {
        spec.insert(
            "imageSpec".into(),
            image_spec_json("data.imageSpec", image_spec, &now_rfc3339(ctx))?,
        );
    }
    if state.stores.image(&data.name).is_some() {
        return Err(resources::resource_conflict());
    }
    let object: ImageCr = serde_json::from_value(json!({
        "apiVersion": "primehub.io/v1alpha1",
        "kind": "Image",
        "metadata": {"name": data.name, "namespace": state.config.namespace},
        "spec": Value::Object(spec),
    }))
    .map_err(|e| Error::invalid("data", e.to_string()))?;
    let grants = Grants {
        global: data.global.unwrap_or(false),
        groups: groups.into_iter().map(|g| (g, false)).collect(),
    };
    let created =
        resources::create_resource(state, RoleKind::Image, &data.name, &object, &grants).await?;
    Ok(Image::new(created, state.keycloak.snapshot()))
}

fn not_found(name: &str) -> Error {
    Error::NotFound {
        kind: "images.primehub.io",
        name: name.to_owned(),
    }
}

async fn update(ctx: &Context<'_>, name: &str, data: ImageUpdateInput) -> Result<Image> {
    let state = state(ctx);
    let snap = state.keycloak.snapshot();
    let current = state.stores.image(name).ok_or_else(|| not_found(name))?;
    let caller = caller(ctx).map_err(|_| denied())?;
    check_image_write(&snap, caller, current.spec.group_name.as_deref())?;
    if let Some(n) = data.name.as_deref()
        && n != name
    {
        return Err(Error::invalid("data.name", "cannot be changed"));
    }
    let mut spec = serde_json::Map::new();
    if let Some(d) = &data.display_name {
        spec.insert("displayName".into(), json!(d));
    }
    if let Some(d) = &data.description {
        spec.insert("description".into(), json!(d));
    }
    let new_type = image_type("data.type", data.type_.as_deref())?;
    let type_ = new_type
        .map(str::to_owned)
        .or_else(|| current.spec.type_.as_ref().map(|t| t.as_str().to_owned()))
        .unwrap_or_else(|| "both".to_owned());
    if let Some(t) = new_type {
        spec.insert("type".into(), json!(t));
    }
    let url = data.url.clone().or_else(|| current.spec.url.clone());
    if data.url.is_some() || new_type.is_some() || data.url_for_gpu.is_some() {
        if let Some(u) = &url {
            spec.insert("url".into(), json!(u));
        }
        let gpu = if type_ == "both" {
            data.url_for_gpu
                .clone()
                .or_else(|| current.spec.url_for_gpu.clone())
                .or_else(|| url.clone())
        } else {
            url.clone()
        };
        if let Some(g) = gpu {
            spec.insert("urlForGpu".into(), json!(g));
        }
    }
    if let Some(s) = &data.use_image_pull_secret {
        spec.insert(
            "pullSecret".into(),
            if s.is_empty() { Value::Null } else { json!(s) },
        );
    }
    if let Some(g) = &data.group_name {
        if !g.is_empty() && snap.group_by_name(g).is_none() {
            return Err(Error::invalid(
                "data.groupName",
                format!("no group is named {g}"),
            ));
        }
        check_image_write(&snap, caller, Some(g))?;
        spec.insert(
            "groupName".into(),
            if g.is_empty() { Value::Null } else { json!(g) },
        );
    }
    if let Some(image_spec) = &data.image_spec {
        spec.insert(
            "imageSpec".into(),
            image_spec_json("data.imageSpec", image_spec, &now_rfc3339(ctx))?,
        );
    }
    let connect = group_ids(
        &snap,
        "data.groups.connect",
        data.groups.as_ref().and_then(|g| g.connect.as_ref()),
    )?;
    let disconnect = group_ids(
        &snap,
        "data.groups.disconnect",
        data.groups.as_ref().and_then(|g| g.disconnect.as_ref()),
    )?;
    let group_name = match &data.group_name {
        Some(g) => Some(g.as_str()),
        None => current.spec.group_name.as_deref(),
    };
    check_image_grants(
        &snap,
        caller,
        group_name,
        data.global,
        &[
            ("data.groups.connect", &connect),
            ("data.groups.disconnect", &disconnect),
        ],
    )?;
    // Mappings first (all or nothing), then the resource; a refused patch undoes the mappings.
    let connect: Vec<(String, bool)> = connect.into_iter().map(|g| (g, false)).collect();
    let regranted = resources::regrant(
        state,
        RoleKind::Image,
        name,
        data.global,
        &connect,
        &disconnect,
    )
    .await?;
    let updated = if spec.is_empty() {
        current
    } else {
        match resources::patch_resource::<ImageCr>(state, name, json!({"spec": spec})).await {
            Ok(updated) => updated,
            Err(e) => {
                regranted.undo(state).await;
                return Err(e);
            }
        }
    };
    Ok(Image::new(updated, state.keycloak.snapshot()))
}

async fn build_patch(ctx: &Context<'_>, name: &str, cancel: bool) -> Result<Image> {
    let state = state(ctx);
    let snap = state.keycloak.snapshot();
    let current = state.stores.image(name).ok_or_else(|| not_found(name))?;
    check_image_write(
        &snap,
        caller(ctx).map_err(|_| denied())?,
        current.spec.group_name.as_deref(),
    )?;
    if current.spec.image_spec.is_none() {
        return Err(Error::invalid(
            "where.id",
            format!("image {name} has no build request (imageSpec)"),
        ));
    }
    let patch = if cancel {
        json!({"spec": {"imageSpec": {"cancel": true}}})
    } else {
        json!({"spec": {"imageSpec": {"cancel": false, "updateTime": now_rfc3339(ctx)}}})
    };
    let updated = resources::patch_resource::<ImageCr>(state, name, patch).await?;
    Ok(Image::new(updated, state.keycloak.snapshot()))
}

#[Object]
impl ImageMutation {
    /// Creates an image: system images by administrators, group images by their group's admins.
    #[graphql(guard = "Allow::AdminOrUser")]
    async fn create_image(
        &self,
        ctx: &Context<'_>,
        data: ImageCreateInput,
    ) -> async_graphql::Result<Image> {
        Ok(create(ctx, data).await?)
    }

    /// Updates an image (a merge patch) and its grants.
    #[graphql(guard = "Allow::AdminOrUser")]
    async fn update_image(
        &self,
        ctx: &Context<'_>,
        data: ImageUpdateInput,
        r#where: ImageWhereUniqueInput,
    ) -> async_graphql::Result<Option<Image>> {
        Ok(Some(update(ctx, &r#where.id, data).await?))
    }

    /// Deletes an image and its role.
    #[graphql(guard = "Allow::AdminOrUser")]
    async fn delete_image(
        &self,
        ctx: &Context<'_>,
        r#where: ImageWhereUniqueInput,
    ) -> async_graphql::Result<Option<Image>> {
        let state = state(ctx);
        let snap = state.keycloak.snapshot();
        let current = state
            .stores
            .image(&r#where.id)
            .ok_or_else(|| not_found(&r#where.id))?;
        check_image_write(&snap, caller(ctx)?, current.spec.group_name.as_deref())?;
        let shown = Image::new(current, snap);
        resources::delete_resource::<ImageCr>(state, RoleKind::Image, &r#where.id).await?;
        Ok(Some(shown))
    }

    /// Requests a new build of a built image: `cancel` false and a new `updateTime` (the
    /// `data` argument is accepted and ignored, as in PrimeHub).
    #[graphql(guard = "Allow::AdminOrUser")]
    async fn rebuild_image(
        &self,
        ctx: &Context<'_>,
        data: ImageSpecUpdateInput,
        r#where: ImageWhereUniqueInput,
    ) -> async_graphql::Result<Option<Image>> {
        let _ = data;
        Ok(Some(build_patch(ctx, &r#where.id, false).await?))
    }

    /// Cancels a build: `cancel` true.
    #[graphql(guard = "Allow::AdminOrUser")]
    async fn cancel_image_build(
        &self,
        ctx: &Context<'_>,
        r#where: ImageWhereUniqueInput,
    ) -> async_graphql::Result<Option<Image>> {
        Ok(Some(build_patch(ctx, &r#where.id, true).await?))
    }
}
