//! Instance types: queries and mutations.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use primehub_keycloak::cache::Snapshot;
use primehub_model::crd::instance_type::{InstanceType as InstanceTypeCr, InstanceTypeSpec};
use primehub_model::roles::RoleKind;
use serde::Serialize;
use serde_json::{Value, json};

use super::common::{Json, connection, json_f64, json_str, page_args, where_unique};
use super::group::{Group, GroupCreateManyInput, GroupUpdateManyInput};
use super::user::{group_ids, where_json};
use super::{snapshot, state};
use crate::error::{Error, Result};
use crate::guard::Allow;
use crate::list::{self, Listable};
use crate::resources::{self, Grants};

connection!(InstanceTypeConnection, InstanceTypeEdge, InstanceType);

where_unique!(
    /// Selects one instance type by name.
    InstanceTypeWhereUniqueInput
);

/// Filters of the instance type lists.
#[derive(InputObject, Debug, Clone, Default, Serialize)]
pub struct InstanceTypeWhereInput {
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

/// The order of the instance type lists.
#[derive(InputObject, Debug, Clone, Default, Serialize)]
#[allow(missing_docs)]
pub struct InstanceTypeOrderByInput {
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub cpu_limit: Option<String>,
    pub memory_limit: Option<String>,
    pub gpu_limit: Option<String>,
}

/// A toleration of an instance type.
#[derive(SimpleObject, Debug, Clone)]
pub struct Toleration {
    /// `Equal` or `Exists`.
    pub operator: String,
    /// The taint key.
    pub key: Option<String>,
    /// The taint value (`Equal` only).
    pub value: Option<String>,
    /// `NoSchedule`, `PreferNoSchedule`, `NoExecute`, or `None` for any effect.
    pub effect: Option<String>,
}

/// A toleration to set.
#[derive(InputObject, Debug, Clone, Serialize)]
pub struct TolerationInput {
    /// `Equal` or `Exists`.
    pub operator: String,
    /// The taint key.
    pub key: Option<String>,
    /// The taint value (`Equal` only).
    pub value: Option<String>,
    /// `NoSchedule`, `PreferNoSchedule`, `NoExecute`, or `None`.
    pub effect: Option<String>,
}

/// `{ set: [Toleration] }`.
#[derive(InputObject, Debug, Clone, Default, Serialize)]
pub struct TolerationArrayInput {
    /// The tolerations (replacing the old ones).
    pub set: Option<Vec<Option<TolerationInput>>>,
}

/// A PrimeHub instance type.
#[derive(Clone)]
pub struct InstanceType {
    pub(crate) cr: Arc<InstanceTypeCr>,
    pub(crate) snap: Arc<Snapshot>,
    /// Set for the stand-in of a missing instance type a job or schedule names: its `id`;
    /// the limits then read as null.
    pub(crate) missing_id: Option<String>,
}

/// `"1.5G"` → 1.5, as PrimeHub reads memory (the number before the unit letter).
fn parse_memory(value: &str) -> Option<f64> {
    let number = value
        .trim()
        .trim_end_matches(|c: char| c.is_ascii_alphabetic());
    number.parse::<f64>().ok()
}

impl InstanceType {
    pub(crate) fn new(cr: Arc<InstanceTypeCr>, snap: Arc<Snapshot>) -> InstanceType {
        InstanceType {
            cr,
            snap,
            missing_id: None,
        }
    }

    /// The stand-in PrimeHub shows for an instance type a job or schedule names but that does
    /// not exist: `name` is the name, `id` is what PrimeHub gives (`<name>-not-found` for a
    /// job, the name for a schedule), no tolerations, no limits.
    pub(crate) fn missing(name: &str, id: String, snap: Arc<Snapshot>) -> InstanceType {
        let mut cr = InstanceTypeCr::new(
            name,
            InstanceTypeSpec::new(serde_json::Number::from(0), String::new()),
        );
        cr.spec.display_name = Some(name.to_owned());
        InstanceType {
            cr: Arc::new(cr),
            snap,
            missing_id: Some(id),
        }
    }

    fn name(&self) -> &str {
        self.cr.metadata.name.as_deref().unwrap_or_default()
    }

    fn spec_ref(&self) -> &InstanceTypeSpec {
        &self.cr.spec
    }

    fn cpu_limit_value(&self) -> f64 {
        self.spec_ref().limits_cpu.as_f64().unwrap_or(0.0)
    }

    fn memory_limit_value(&self) -> Option<f64> {
        parse_memory(&self.spec_ref().limits_memory)
    }
}

impl super::leaf::PlainFields for InstanceType {
    fn plain_field(&self, name: &str) -> Option<async_graphql::Value> {
        // Text fields whose resolvers return what `Listable::field` gives.
        const PLAIN: &[&str] = &["id", "name", "displayName", "description"];
        if name == "id"
            && let Some(id) = &self.missing_id
        {
            return Some(async_graphql::Value::String(id.clone()));
        }
        if PLAIN.contains(&name) {
            return super::leaf::text_of(self.field(name));
        }
        None
    }
}

impl Listable for InstanceType {
    fn id(&self) -> &str {
        self.name()
    }

    fn field(&self, name: &str) -> Value {
        let spec = self.spec_ref();
        match name {
            "id" | "name" => json_str(Some(self.name())),
            "displayName" => json_str(Some(spec.display_name.as_deref().unwrap_or(self.name()))),
            "description" => json_str(spec.description.as_deref()),
            "cpuLimit" => json_f64(Some(self.cpu_limit_value())),
            "memoryLimit" => json_f64(self.memory_limit_value()),
            "gpuLimit" => spec.gpu_limit().into(),
            _ => Value::Null,
        }
    }
}

#[Object]
impl InstanceType {
    /// The name.
    async fn id(&self) -> ID {
        ID(self
            .missing_id
            .clone()
            .unwrap_or_else(|| self.name().to_owned()))
    }
    /// The name.
    #[graphql(name = "name")]
    async fn name_field(&self) -> String {
        self.name().to_owned()
    }
    /// The display name (the name when unset).
    async fn display_name(&self) -> Option<String> {
        Some(
            self.spec_ref()
                .display_name
                .clone()
                .unwrap_or_else(|| self.name().to_owned()),
        )
    }
    /// The description.
    async fn description(&self) -> Option<String> {
        self.spec_ref().description.clone()
    }
    /// CPU limit in cores.
    async fn cpu_limit(&self) -> Option<f64> {
        self.missing_id.is_none().then(|| self.cpu_limit_value())
    }
    /// Memory limit in GB.
    async fn memory_limit(&self) -> Option<f64> {
        self.memory_limit_value()
    }
    /// GPUs.
    async fn gpu_limit(&self) -> Option<i32> {
        self.missing_id
            .is_none()
            .then(|| i32::try_from(self.spec_ref().gpu_limit()).unwrap_or(i32::MAX))
    }
    /// The GPU resource name (`nvidia.com/gpu`, `amd.com/gpu`…).
    async fn gpu_resource_name(&self) -> Option<String> {
        Some(self.spec_ref().gpu().0.to_owned())
    }
    /// CPU request in cores (null: none).
    async fn cpu_request(&self) -> Option<f64> {
        self.spec_ref()
            .requests_cpu
            .as_ref()
            .and_then(|n| n.as_f64())
    }
    /// Memory request in GB (null: none).
    async fn memory_request(&self) -> Option<f64> {
        self.spec_ref()
            .requests_memory
            .as_deref()
            .and_then(parse_memory)
    }
    /// Whether it is granted to everyone.
    async fn global(&self, ctx: &Context<'_>) -> bool {
        let role = state(ctx).config.naming.instance_type(self.name());
        self.snap
            .everyone_group_id()
            .is_some_and(|e| self.snap.group_roles(e).contains(&role))
    }
    /// The spec as stored.
    async fn spec(&self) -> Option<Json> {
        serde_json::to_value(self.spec_ref())
            .ok()
            .map(async_graphql::Json)
    }
    /// Groups it is granted to (`everyone` left out).
    async fn groups(&self, ctx: &Context<'_>) -> Vec<Option<Group>> {
        let role = state(ctx).config.naming.instance_type(self.name());
        let mut groups = resource_groups(&self.snap, &[role]);
        super::group::retain_readable(ctx, &self.snap, &mut groups, |(g, _)| g.id.as_str());
        groups.into_iter().map(|(g, _)| Some(g)).collect()
    }
    /// Tolerations (an unset effect shows as `None`).
    async fn tolerations(&self) -> Vec<Option<Toleration>> {
        self.spec_ref()
            .tolerations
            .iter()
            .map(|t| {
                Some(Toleration {
                    operator: t.operator.clone().unwrap_or_else(|| "Equal".to_owned()),
                    key: t.key.clone(),
                    value: t.value.clone(),
                    effect: Some(t.effect.clone().unwrap_or_else(|| "None".to_owned())),
                })
            })
            .collect()
    }
    /// The node selector.
    async fn node_selector(&self) -> Option<Json> {
        let selector = &self.spec_ref().node_selector;
        (!selector.is_empty()).then(|| async_graphql::Json(json!(selector)))
    }
}

/// Groups (not `everyone`) holding one of `roles`, with whether they hold the last one (the
/// `ds:rw:` role for datasets).
pub(crate) fn resource_groups(snap: &Arc<Snapshot>, roles: &[String]) -> Vec<(Group, bool)> {
    let everyone = snap.everyone_group_id();
    let mut out: BTreeMap<String, bool> = BTreeMap::new();
    for (i, role) in roles.iter().enumerate() {
        for gid in snap.groups_with_role(role) {
            if Some(gid.as_str()) == everyone {
                continue;
            }
            let writable = out.entry(gid.clone()).or_insert(false);
            *writable |= i == roles.len() - 1 && roles.len() > 1;
        }
    }
    out.into_iter()
        .filter_map(|(gid, writable)| Group::find(snap, &gid).map(|g| (g, writable)))
        .collect()
}

/// Fields of a new instance type.
#[derive(InputObject, Debug, Clone, Default, Serialize)]
pub struct InstanceTypeCreateInput {
    /// The name (a DNS-1123 label-like resource name).
    pub name: String,
    /// The display name.
    pub display_name: Option<String>,
    /// The description.
    pub description: Option<String>,
    /// CPU limit in cores (> 0, required).
    pub cpu_limit: Option<f64>,
    /// Memory limit in GB (> 0, required).
    pub memory_limit: Option<f64>,
    /// GPUs (≥ 0).
    pub gpu_limit: Option<i32>,
    /// The GPU resource name (default `nvidia.com/gpu`).
    pub gpu_resource_name: Option<String>,
    /// CPU request in cores (0 < request ≤ limit).
    pub cpu_request: Option<f64>,
    /// Memory request in GB (0 < request ≤ limit).
    pub memory_request: Option<f64>,
    /// Grant to everyone.
    pub global: Option<bool>,
    /// Groups to grant it to.
    pub groups: Option<GroupCreateManyInput>,
    /// Tolerations.
    pub tolerations: Option<TolerationArrayInput>,
    /// Node selector (string values).
    pub node_selector: Option<Json>,
}

/// Changes to an instance type.
#[derive(InputObject, Debug, Clone, Default, Serialize)]
#[allow(missing_docs)]
pub struct InstanceTypeUpdateInput {
    /// Must equal the current name when given.
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub cpu_limit: Option<f64>,
    pub memory_limit: Option<f64>,
    pub gpu_limit: Option<i32>,
    pub gpu_resource_name: Option<String>,
    pub cpu_request: Option<f64>,
    pub memory_request: Option<f64>,
    pub global: Option<bool>,
    pub groups: Option<GroupUpdateManyInput>,
    /// Replaces the tolerations (`set: []` removes all).
    pub tolerations: Option<TolerationArrayInput>,
    /// Replaces the node selector (`{}` removes it).
    pub node_selector: Option<Json>,
}

fn positive(field: &str, value: f64) -> Result<()> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(Error::invalid(field, "must be greater than 0"))
    }
}

fn number(field: &str, value: f64) -> Result<Value> {
    serde_json::Number::from_f64(value)
        .map(Value::Number)
        .ok_or_else(|| Error::invalid(field, "must be a finite number"))
}

/// PrimeHub's toleration rules; `None` effect means any effect (stored without `effect`).
fn tolerations(field: &str, input: &TolerationArrayInput) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    for (i, t) in input.set.iter().flatten().enumerate() {
        let Some(t) = t else { continue };
        let at = |f: &str| format!("{field}.set[{i}].{f}");
        let key = t.key.clone().filter(|k| !k.is_empty());
        let value = t.value.clone().filter(|v| !v.is_empty());
        match t.operator.as_str() {
            "Exists" => {
                if value.is_some() {
                    return Err(Error::invalid(
                        at("value"),
                        "must be empty when operator is Exists",
                    ));
                }
            }
            "Equal" => {
                if key.is_none() {
                    return Err(Error::invalid(
                        at("key"),
                        "is required when operator is Equal",
                    ));
                }
                if value.is_none() {
                    return Err(Error::invalid(
                        at("value"),
                        "is required when operator is Equal",
                    ));
                }
            }
            other => {
                return Err(Error::invalid(
                    at("operator"),
                    format!("must be Equal or Exists, not {other:?}"),
                ));
            }
        }
        let effect = match t.effect.as_deref() {
            None | Some("None") | Some("") => None,
            Some(e @ ("NoSchedule" | "PreferNoSchedule" | "NoExecute")) => Some(e.to_owned()),
            Some(other) => {
                return Err(Error::invalid(
                    at("effect"),
                    format!(
                        "must be NoSchedule, PreferNoSchedule, NoExecute or None, not {other:?}"
                    ),
                ));
            }
        };
        let mut item = serde_json::Map::new();
        item.insert("operator".into(), json!(t.operator));
        if let Some(k) = key {
            item.insert("key".into(), json!(k));
        }
        if let Some(v) = value {
            item.insert("value".into(), json!(v));
        }
        if let Some(e) = effect {
            item.insert("effect".into(), json!(e));
        }
        out.push(Value::Object(item));
    }
    Ok(out)
}

fn node_selector(field: &str, input: &Json) -> Result<BTreeMap<String, String>> {
    let Value::Object(map) = &input.0 else {
        return Err(Error::invalid(field, "must be an object of strings"));
    };
    map.iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k.clone(), s.clone())),
            _ => Err(Error::invalid(format!("{field}.{k}"), "must be a string")),
        })
        .collect()
}

fn int(field: &str, value: i32) -> Result<i64> {
    if value < 0 {
        return Err(Error::invalid(field, "must be 0 or more"));
    }
    Ok(i64::from(value))
}

fn gpu_keys(spec: &mut serde_json::Map<String, Value>, gpu: Option<i64>, resource: Option<&str>) {
    match (
        gpu,
        resource.filter(|r| !r.is_empty() && *r != "nvidia.com/gpu"),
    ) {
        (Some(n), Some(resource)) => {
            spec.insert("limits.gpu".into(), json!(n));
            spec.insert("gpuResourceName".into(), json!(resource));
            spec.insert("limits.nvidia.com/gpu".into(), Value::Null);
        }
        (Some(n), None) => {
            spec.insert("limits.nvidia.com/gpu".into(), json!(n));
        }
        (None, Some(resource)) => {
            spec.insert("gpuResourceName".into(), json!(resource));
        }
        (None, None) => {}
    }
}

/// The instance type queries.
#[derive(Default)]
pub struct InstanceTypeQuery;

fn all(ctx: &Context<'_>, where_: Option<&InstanceTypeWhereInput>) -> Result<Vec<InstanceType>> {
    let snap = snapshot(ctx);
    let items: Vec<InstanceType> = state(ctx)
        .stores
        .instance_types()
        .into_iter()
        .map(|cr| InstanceType::new(cr, snap.clone()))
        .collect();
    let mut filtered = list::filter(items, where_json(where_)?.as_ref(), &[]);
    if let Some(search) = where_.and_then(|w| w.search.as_deref()) {
        filtered.retain(|it| {
            it.name().contains(search)
                || it
                    .spec_ref()
                    .display_name
                    .as_deref()
                    .is_some_and(|d| d.contains(search))
        });
    }
    Ok(filtered)
}

#[Object]
impl InstanceTypeQuery {
    /// One instance type by name (null when missing).
    #[graphql(guard = "Allow::AdminOrClient")]
    async fn instance_type(
        &self,
        ctx: &Context<'_>,
        r#where: InstanceTypeWhereUniqueInput,
    ) -> async_graphql::Result<Option<InstanceType>> {
        Ok(state(ctx)
            .stores
            .instance_type(&r#where.id)
            .map(|cr| InstanceType::new(cr, snapshot(ctx))))
    }

    /// Instance types (administrators and the shared-secret client).
    #[graphql(guard = "Allow::AdminOrClient")]
    #[allow(clippy::too_many_arguments)]
    async fn instance_types(
        &self,
        ctx: &Context<'_>,
        r#where: Option<InstanceTypeWhereInput>,
        page: Option<i32>,
        order_by: Option<InstanceTypeOrderByInput>,
        before: Option<String>,
        after: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> async_graphql::Result<Vec<Option<InstanceType>>> {
        let mut items = all(ctx, r#where.as_ref())?;
        list::order(
            &mut items,
            &where_json(order_by.as_ref())?.unwrap_or_default(),
        )?;
        let paged = list::paginate(items, &page_args(page, before, after, first, last));
        Ok(paged.items.into_iter().map(Some).collect())
    }

    /// Instance types as a connection.
    #[graphql(guard = "Allow::AdminOrClient")]
    #[allow(clippy::too_many_arguments)]
    async fn instance_types_connection(
        &self,
        ctx: &Context<'_>,
        r#where: Option<InstanceTypeWhereInput>,
        page: Option<i32>,
        order_by: Option<InstanceTypeOrderByInput>,
        before: Option<String>,
        after: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> async_graphql::Result<InstanceTypeConnection> {
        let mut items = all(ctx, r#where.as_ref())?;
        list::order(
            &mut items,
            &where_json(order_by.as_ref())?.unwrap_or_default(),
        )?;
        let paged = list::paginate(items, &page_args(page, before, after, first, last));
        Ok(InstanceTypeConnection::new(
            paged
                .items
                .into_iter()
                .map(|it| (it.name().to_owned(), it))
                .collect(),
            paged.page_info,
        ))
    }
}

/// The instance type mutations.
#[derive(Default)]
pub struct InstanceTypeMutation;

fn memory_string(gb: f64) -> String {
    format!("{gb}G")
}

async fn create(ctx: &Context<'_>, data: InstanceTypeCreateInput) -> Result<InstanceType> {
    let state = state(ctx);
    let snap = state.keycloak.snapshot();
    primehub_model::names::validate_resource_name("data.name", &data.name)?;
    let cpu_limit = data
        .cpu_limit
        .ok_or_else(|| Error::invalid("data.cpuLimit", "is required"))?;
    positive("data.cpuLimit", cpu_limit)?;
    let memory_limit = data
        .memory_limit
        .ok_or_else(|| Error::invalid("data.memoryLimit", "is required"))?;
    positive("data.memoryLimit", memory_limit)?;
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
    spec.insert("limits.cpu".into(), number("data.cpuLimit", cpu_limit)?);
    spec.insert("limits.memory".into(), json!(memory_string(memory_limit)));
    if let Some(r) = data.cpu_request {
        positive("data.cpuRequest", r)?;
        if r > cpu_limit {
            return Err(Error::invalid(
                "data.cpuRequest",
                "must not exceed cpuLimit",
            ));
        }
        spec.insert("requests.cpu".into(), number("data.cpuRequest", r)?);
    }
    if let Some(r) = data.memory_request {
        positive("data.memoryRequest", r)?;
        if r > memory_limit {
            return Err(Error::invalid(
                "data.memoryRequest",
                "must not exceed memoryLimit",
            ));
        }
        spec.insert("requests.memory".into(), json!(memory_string(r)));
    }
    let gpu = data
        .gpu_limit
        .map(|g| int("data.gpuLimit", g))
        .transpose()?;
    gpu_keys(
        &mut spec,
        Some(gpu.unwrap_or(0)),
        data.gpu_resource_name.as_deref(),
    );
    spec.retain(|_, v| !v.is_null());
    if let Some(t) = &data.tolerations {
        let list = tolerations("data.tolerations", t)?;
        if !list.is_empty() {
            spec.insert("tolerations".into(), Value::Array(list));
        }
    }
    if let Some(ns) = &data.node_selector {
        let map = node_selector("data.nodeSelector", ns)?;
        if !map.is_empty() {
            spec.insert("nodeSelector".into(), json!(map));
        }
    }
    let groups = group_ids(
        &snap,
        "data.groups.connect",
        data.groups.as_ref().and_then(|g| g.connect.as_ref()),
    )?;
    if state.stores.instance_type(&data.name).is_some() {
        return Err(resources::resource_conflict());
    }
    let object: InstanceTypeCr = serde_json::from_value(json!({
        "apiVersion": "primehub.io/v1alpha1",
        "kind": "InstanceType",
        "metadata": {"name": data.name, "namespace": state.config.namespace},
        "spec": Value::Object(spec),
    }))
    .map_err(|e| Error::invalid("data", e.to_string()))?;
    let grants = Grants {
        global: data.global.unwrap_or(false),
        groups: groups.into_iter().map(|g| (g, false)).collect(),
    };
    let created =
        resources::create_resource(state, RoleKind::InstanceType, &data.name, &object, &grants)
            .await?;
    Ok(InstanceType::new(created, state.keycloak.snapshot()))
}

async fn update(
    ctx: &Context<'_>,
    name: &str,
    data: InstanceTypeUpdateInput,
) -> Result<InstanceType> {
    let state = state(ctx);
    let snap = state.keycloak.snapshot();
    let current = state
        .stores
        .instance_type(name)
        .ok_or_else(|| Error::NotFound {
            kind: "instancetypes.primehub.io",
            name: name.to_owned(),
        })?;
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
    let cpu_limit = match data.cpu_limit {
        Some(v) => {
            positive("data.cpuLimit", v)?;
            spec.insert("limits.cpu".into(), number("data.cpuLimit", v)?);
            v
        }
        None => current.spec.limits_cpu.as_f64().unwrap_or(f64::MAX),
    };
    let memory_limit = match data.memory_limit {
        Some(v) => {
            positive("data.memoryLimit", v)?;
            spec.insert("limits.memory".into(), json!(memory_string(v)));
            v
        }
        None => parse_memory(&current.spec.limits_memory).unwrap_or(f64::MAX),
    };
    if let Some(r) = data.cpu_request {
        positive("data.cpuRequest", r)?;
        if r > cpu_limit {
            return Err(Error::invalid(
                "data.cpuRequest",
                "must not exceed cpuLimit",
            ));
        }
        spec.insert("requests.cpu".into(), number("data.cpuRequest", r)?);
    } else if data.cpu_limit.is_some()
        && current
            .spec
            .requests_cpu
            .as_ref()
            .and_then(|n| n.as_f64())
            .is_some_and(|r| r > cpu_limit)
    {
        return Err(Error::invalid(
            "data.cpuLimit",
            "must not be below cpuRequest (lower both)",
        ));
    }
    if let Some(r) = data.memory_request {
        positive("data.memoryRequest", r)?;
        if r > memory_limit {
            return Err(Error::invalid(
                "data.memoryRequest",
                "must not exceed memoryLimit",
            ));
        }
        spec.insert("requests.memory".into(), json!(memory_string(r)));
    } else if data.memory_limit.is_some()
        && current
            .spec
            .requests_memory
            .as_deref()
            .and_then(parse_memory)
            .is_some_and(|r| r > memory_limit)
    {
        return Err(Error::invalid(
            "data.memoryLimit",
            "must not be below memoryRequest (lower both)",
        ));
    }
    let gpu = data
        .gpu_limit
        .map(|g| int("data.gpuLimit", g))
        .transpose()?;
    gpu_keys(&mut spec, gpu, data.gpu_resource_name.as_deref());
    if let Some(t) = &data.tolerations {
        let list = tolerations("data.tolerations", t)?;
        spec.insert(
            "tolerations".into(),
            if list.is_empty() {
                Value::Null
            } else {
                Value::Array(list)
            },
        );
    }
    if let Some(ns) = &data.node_selector {
        let map = node_selector("data.nodeSelector", ns)?;
        // Replace: keys not given are removed.
        let mut patch = serde_json::Map::new();
        for old in current.spec.node_selector.keys() {
            patch.insert(old.clone(), Value::Null);
        }
        for (k, v) in map {
            patch.insert(k, json!(v));
        }
        spec.insert("nodeSelector".into(), Value::Object(patch));
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
    // Mappings first (all or nothing), then the resource; a refused patch undoes the mappings.
    let connect: Vec<(String, bool)> = connect.into_iter().map(|g| (g, false)).collect();
    let regranted = resources::regrant(
        state,
        RoleKind::InstanceType,
        name,
        data.global,
        &connect,
        &disconnect,
    )
    .await?;
    let updated = if spec.is_empty() {
        current
    } else {
        match resources::patch_resource::<InstanceTypeCr>(state, name, json!({"spec": spec})).await
        {
            Ok(updated) => updated,
            Err(e) => {
                regranted.undo(state).await;
                return Err(e);
            }
        }
    };
    Ok(InstanceType::new(updated, state.keycloak.snapshot()))
}

#[Object]
impl InstanceTypeMutation {
    /// Creates an instance type: role, resource, grants; rolled back on failure.
    #[graphql(guard = "Allow::Admin")]
    async fn create_instance_type(
        &self,
        ctx: &Context<'_>,
        data: InstanceTypeCreateInput,
    ) -> async_graphql::Result<InstanceType> {
        Ok(create(ctx, data).await?)
    }

    /// Updates an instance type (a merge patch) and its grants.
    #[graphql(guard = "Allow::Admin")]
    async fn update_instance_type(
        &self,
        ctx: &Context<'_>,
        data: InstanceTypeUpdateInput,
        r#where: InstanceTypeWhereUniqueInput,
    ) -> async_graphql::Result<Option<InstanceType>> {
        Ok(Some(update(ctx, &r#where.id, data).await?))
    }

    /// Deletes an instance type and its role.
    #[graphql(guard = "Allow::Admin")]
    async fn delete_instance_type(
        &self,
        ctx: &Context<'_>,
        r#where: InstanceTypeWhereUniqueInput,
    ) -> async_graphql::Result<Option<InstanceType>> {
        let state = state(ctx);
        let current = state
            .stores
            .instance_type(&r#where.id)
            .ok_or_else(|| Error::NotFound {
                kind: "instancetypes.primehub.io",
                name: r#where.id.to_string(),
            })?;
        let shown = InstanceType::new(current, state.keycloak.snapshot());
        resources::delete_resource::<InstanceTypeCr>(state, RoleKind::InstanceType, &r#where.id)
            .await?;
        Ok(Some(shown))
    }
}
