//! Custom resources in the OpenAPI documents, as kube-apiserver publishes them.
//!
//! kube-apiserver's CRD OpenAPI builder (`k8s.io/apiextensions-apiserver/pkg/controller/openapi/
//! builder`) publishes every served version of a CRD: a definition named after the reversed group
//! (`io.primehub.v1alpha1.PhJob`) built from the version's structural schema, the list
//! definition, and the REST paths with their parameters. In `/openapi/v2` the schema is cut down
//! to what OpenAPI v2 can say (no `nullable`, no `anyOf`, no defaults, …); `/openapi/v3/apis/
//! <group>/<version>` keeps it whole.
//!
//! The paths are the same for every CRD up to the names: `openapi/crd-template.json` holds them
//! as kube-apiserver publishes them for two throw-away CRDs, with placeholders
//! (`tools/openapi/crd_template.py` regenerates it from a real API server).

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, LazyLock, Mutex};

use serde::Deserialize;
use serde_json::{Map, Value, json};

static TEMPLATE: &str = include_str!("openapi/crd-template.json");

#[derive(Deserialize)]
struct Template {
    v2: Scoped,
    v3: Scoped,
    v2_parameters: Map<String, Value>,
    v3_info: Value,
    v3_schemas: Map<String, Value>,
}

#[derive(Deserialize)]
struct Scoped {
    namespaced: Value,
    cluster: Value,
}

struct Templates {
    v2_namespaced: String,
    v2_cluster: String,
    v3_namespaced: String,
    v3_cluster: String,
    v2_parameters: Map<String, Value>,
    v3_info: Value,
    v3_schemas: Map<String, Value>,
}

static TEMPLATES: LazyLock<Option<Templates>> = LazyLock::new(|| {
    let t: Template = serde_json::from_str(TEMPLATE).ok()?;
    Some(Templates {
        v2_namespaced: t.v2.namespaced.to_string(),
        v2_cluster: t.v2.cluster.to_string(),
        v3_namespaced: t.v3.namespaced.to_string(),
        v3_cluster: t.v3.cluster.to_string(),
        v2_parameters: t.v2_parameters,
        v3_info: t.v3_info,
        v3_schemas: t.v3_schemas,
    })
});

const OBJECT_META_V2: &str = "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
const OBJECT_META_V3: &str = "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
const LIST_META_V2: &str = "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";
const LIST_META_V3: &str = "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";
const METADATA_DOC: &str = "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";
const LIST_METADATA_DOC: &str = "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";
const API_VERSION_DOC: &str = "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources";
const KIND_DOC: &str = "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";
const EMBEDDED_API_VERSION_DOC: &str = "apiVersion defines the versioned schema of this representation of an object. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources";
const EMBEDDED_KIND_DOC: &str = "kind is a string value representing the type of this object. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";

/// One served version of a CRD, as far as the documents need it.
#[derive(Debug, Clone)]
pub(crate) struct CrdVersion {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub list_kind: String,
    pub plural: String,
    pub namespaced: bool,
    pub status: bool,
    /// The version's `openAPIV3Schema` (`None`: none given).
    pub schema: Option<Value>,
}

impl CrdVersion {
    /// The served versions of a CRD (its JSON form); CRDs of built-in groups (no dot, or
    /// `*.k8s.io`) are skipped, as the fake does not serve them.
    pub(crate) fn of(crd: &Value) -> Vec<CrdVersion> {
        let spec = &crd["spec"];
        let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let group = s(&spec["group"]);
        if !group.contains('.') || group.ends_with(".k8s.io") {
            return Vec::new();
        }
        let kind = s(&spec["names"]["kind"]);
        let list_kind = match spec["names"]["listKind"].as_str() {
            Some(l) if !l.is_empty() => l.to_owned(),
            _ => format!("{kind}List"),
        };
        spec["versions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|v| v["served"].as_bool().unwrap_or(false))
            .map(|v| CrdVersion {
                group: group.clone(),
                version: s(&v["name"]),
                kind: kind.clone(),
                list_kind: list_kind.clone(),
                plural: s(&spec["names"]["plural"]),
                namespaced: spec["scope"].as_str() == Some("Namespaced"),
                status: v
                    .pointer("/subresources/status")
                    .is_some_and(|s| !s.is_null()),
                schema: v.pointer("/schema/openAPIV3Schema").cloned(),
            })
            .collect()
    }

    /// The definition name (`io.primehub.v1alpha1.PhJob`).
    pub(crate) fn definition_name(&self, kind: &str) -> String {
        let mut parts: Vec<&str> = self.group.split('.').collect();
        parts.reverse();
        format!("{}.{}.{kind}", parts.join("."), self.version)
    }

    fn gvk(&self, kind: &str) -> Value {
        json!([{"group": self.group, "version": self.version, "kind": kind}])
    }

    fn paths(&self, template: &str) -> Map<String, Value> {
        let article = article(&self.kind);
        let group_trimmed = self.group.trim_end_matches(".k8s.io");
        let mut rev: Vec<&str> = self.group.split('.').collect();
        rev.reverse();
        let text = if article.is_empty() {
            template.replace(" ${a} ", " ")
        } else {
            template.replace("${a}", article)
        };
        let text = text
            .replace("${listKind}", &self.list_kind)
            .replace("${kind}", &self.kind)
            .replace("${plural}", &self.plural)
            .replace("${GroupOp}", &operation_id(group_trimmed, true))
            .replace("${groupTag}", &operation_id(group_trimmed, false))
            .replace("${groupRev}", &rev.join("."))
            .replace("${group}", &self.group)
            .replace("${VersionOp}", &operation_id(&self.version, true))
            .replace("${version}", &self.version);
        let mut paths = match serde_json::from_str(&text) {
            Ok(Value::Object(paths)) => paths,
            _ => Map::new(),
        };
        if !self.status {
            paths.retain(|p, _| !p.ends_with("/{name}/status"));
        }
        paths
    }

    /// The kind's definition in OpenAPI v2 (`v2`) or v3.
    pub(crate) fn definition(&self, v2: bool) -> Value {
        let structural = self.schema.as_ref().map(normalize);
        let mut ret = match structural {
            None => json!({"type": "object"}),
            Some(s) if v2 && is_true(&s, "x-kubernetes-preserve-unknown-fields") => {
                json!({"type": "object"})
            }
            Some(s) => {
                let mut s = if v2 { to_v2(s) } else { unfold(s) };
                if let Value::Object(o) = &mut s {
                    let props = o
                        .entry("properties")
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(props) = props {
                        props.insert(
                            "metadata".into(),
                            meta_ref(v2, OBJECT_META_V2, METADATA_DOC),
                        );
                        props.insert(
                            "apiVersion".into(),
                            json!({"description": API_VERSION_DOC, "type": "string"}),
                        );
                        props.insert(
                            "kind".into(),
                            json!({"description": KIND_DOC, "type": "string"}),
                        );
                    }
                }
                add_embedded_properties(&mut s, v2);
                if v2 {
                    prune_defaults(&mut s);
                }
                s
            }
        };
        if let Value::Object(o) = &mut ret {
            o.insert(
                "x-kubernetes-group-version-kind".into(),
                self.gvk(&self.kind),
            );
        }
        ret
    }

    /// The list kind's definition.
    pub(crate) fn list_definition(&self, v2: bool) -> Value {
        let prefix = if v2 {
            "#/definitions/"
        } else {
            "#/components/schemas/"
        };
        json!({
            "description": format!("{} is a list of {}", self.list_kind, self.kind),
            "type": "object",
            "required": ["items"],
            "properties": {
                "apiVersion": {"description": API_VERSION_DOC, "type": "string"},
                "kind": {"description": KIND_DOC, "type": "string"},
                "items": {
                    "description": format!("List of {}. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md", self.plural),
                    "type": "array",
                    "items": {"$ref": format!("{prefix}{}", self.definition_name(&self.kind))},
                },
                "metadata": meta_ref(v2, LIST_META_V2, LIST_METADATA_DOC),
            },
            "x-kubernetes-group-version-kind": self.gvk(&self.list_kind),
        })
    }
}

/// A `$ref` with a description: v2 puts them side by side, v3 wraps the reference in `allOf`.
fn meta_ref(v2: bool, v2_ref: &str, description: &str) -> Value {
    if v2 {
        json!({"description": description, "$ref": v2_ref})
    } else {
        let v3_ref = if v2_ref == OBJECT_META_V2 {
            OBJECT_META_V3
        } else {
            LIST_META_V3
        };
        json!({"description": description, "allOf": [{"$ref": v3_ref}]})
    }
}

fn article(kind: &str) -> &'static str {
    if !kind.ends_with("ss") && kind.ends_with('s') {
        return "";
    }
    match kind.chars().next().map(|c| c.to_ascii_lowercase()) {
        Some('a' | 'e' | 'i' | 'o' | 'u') => "an",
        _ => "a",
    }
}

/// kube-apiserver's `ToValidOperationID`: letters kept, anything else dropped and the next
/// letter capitalised.
fn operation_id(s: &str, capitalize_first: bool) -> String {
    let mut out = String::new();
    let mut capitalize = capitalize_first;
    for (i, c) in s.chars().enumerate() {
        if c.is_alphabetic() || c == '_' || (i != 0 && c.is_ascii_digit()) {
            if capitalize {
                out.extend(c.to_uppercase());
                capitalize = false;
            } else {
                out.push(c);
            }
        } else {
            capitalize = true;
        }
    }
    out
}

pub(crate) fn is_true(schema: &Value, key: &str) -> bool {
    schema.get(key).and_then(Value::as_bool) == Some(true)
}

/// The schema as the structural schema serialises it: false flags and empty lists left out.
fn normalize(schema: &Value) -> Value {
    let Value::Object(o) = schema else {
        return schema.clone();
    };
    let mut out = Map::new();
    for (k, v) in o {
        let v = match k.as_str() {
            "properties" => match v {
                Value::Object(p) => Value::Object(
                    p.iter()
                        .map(|(name, s)| (name.clone(), normalize(s)))
                        .collect(),
                ),
                other => other.clone(),
            },
            "items" | "not" => normalize(v),
            "additionalProperties" if v.is_object() => normalize(v),
            "allOf" | "anyOf" | "oneOf" => match v {
                Value::Array(a) => Value::Array(a.iter().map(normalize).collect()),
                other => other.clone(),
            },
            "nullable"
            | "uniqueItems"
            | "exclusiveMinimum"
            | "exclusiveMaximum"
            | "x-kubernetes-preserve-unknown-fields"
            | "x-kubernetes-embedded-resource"
            | "x-kubernetes-int-or-string"
                if v.as_bool() != Some(true) =>
            {
                continue;
            }
            "required" | "enum" | "x-kubernetes-list-map-keys" | "x-kubernetes-validations"
                if v.as_array().is_some_and(Vec::is_empty) =>
            {
                continue;
            }
            _ => v.clone(),
        };
        out.insert(k.clone(), v);
    }
    Value::Object(out)
}

/// Calls `f` on a structural node and then on its children (properties, items,
/// additionalProperties), as apiextensions' `Visitor` does.
fn visit(schema: &mut Value, f: &mut impl FnMut(&mut Map<String, Value>)) {
    let Value::Object(o) = schema else { return };
    f(o);
    if let Some(Value::Object(props)) = o.get_mut("properties") {
        for s in props.values_mut() {
            visit(s, f);
        }
    }
    if let Some(items) = o.get_mut("items") {
        visit(items, f);
    }
    if let Some(ap) = o.get_mut("additionalProperties")
        && ap.is_object()
    {
        visit(ap, f);
    }
}

/// `Structural.Unfold`: `x-kubernetes-int-or-string` spelled out as `anyOf`.
fn unfold(mut schema: Value) -> Value {
    visit(&mut schema, &mut |o| {
        if o.get("x-kubernetes-int-or-string").and_then(Value::as_bool) != Some(true) {
            return;
        }
        let pair = json!([{"type": "integer"}, {"type": "string"}]);
        let any_of_is_pair = o.get("anyOf") == Some(&pair);
        let all_of_first_is_pair = o
            .get("allOf")
            .and_then(|a| a.get(0))
            .is_some_and(|f| f.get("anyOf") == Some(&pair));
        if any_of_is_pair || all_of_first_is_pair {
            return;
        }
        if !o.contains_key("anyOf") {
            o.insert("anyOf".into(), pair);
        } else {
            let mut all = vec![json!({"anyOf": pair})];
            if let Some(Value::Array(rest)) = o.remove("allOf") {
                all.extend(rest);
            }
            o.insert("allOf".into(), Value::Array(all));
        }
    });
    schema
}

/// `ToStructuralOpenAPIV2`: what OpenAPI v2 (and kubectl's v2 reader) cannot take is dropped.
fn to_v2(mut schema: Value) -> Value {
    visit(&mut schema, &mut |o| {
        for k in ["allOf", "oneOf", "anyOf", "not"] {
            o.remove(k);
        }
        let nullable = o.get("nullable").and_then(Value::as_bool) == Some(true);
        let preserve = o
            .get("x-kubernetes-preserve-unknown-fields")
            .and_then(Value::as_bool)
            == Some(true);
        let nullable_props: Vec<String> = match o.get("properties") {
            Some(Value::Object(p)) => p
                .iter()
                .filter(|(_, s)| is_true(s, "nullable"))
                .map(|(k, _)| k.clone())
                .collect(),
            _ => Vec::new(),
        };
        if nullable {
            o.remove("type");
            o.remove("nullable");
            o.remove("items");
            o.remove("properties");
        }
        if preserve {
            o.remove("items");
            o.remove("properties");
        }
        if !o.contains_key("items") && o.get("type").and_then(Value::as_str) == Some("array") {
            o.remove("type");
        }
        if preserve && o.get("type").and_then(Value::as_str) == Some("object") {
            o.remove("type");
        }
        if let Some(Value::Array(required)) = o.get_mut("required") {
            required.retain(|r| {
                !r.as_str()
                    .is_some_and(|r| nullable_props.iter().any(|n| n == r))
            });
            if required.is_empty() {
                o.remove("required");
            }
        }
        if o.get("additionalProperties")
            .is_some_and(|a| is_true(a, "nullable"))
        {
            o.remove("required");
        }
    });
    schema
}

fn add_embedded_properties(schema: &mut Value, v2: bool) {
    let Value::Object(o) = schema else { return };
    if let Some(Value::Object(props)) = o.get_mut("properties") {
        for s in props.values_mut() {
            add_embedded_properties(s, v2);
        }
    }
    if let Some(items) = o.get_mut("items") {
        add_embedded_properties(items, v2);
    }
    if let Some(ap) = o.get_mut("additionalProperties") {
        add_embedded_properties(ap, v2);
    }
    if v2
        && o.get("x-kubernetes-preserve-unknown-fields")
            .and_then(Value::as_bool)
            == Some(true)
    {
        return;
    }
    if o.get("x-kubernetes-embedded-resource")
        .and_then(Value::as_bool)
        != Some(true)
    {
        return;
    }
    let props = o
        .entry("properties")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(props) = props {
        props.insert(
            "apiVersion".into(),
            json!({"description": EMBEDDED_API_VERSION_DOC, "type": "string"}),
        );
        props.insert(
            "kind".into(),
            json!({"description": EMBEDDED_KIND_DOC, "type": "string"}),
        );
        props.insert(
            "metadata".into(),
            meta_ref(v2, OBJECT_META_V2, METADATA_DOC),
        );
    }
    let required = o.entry("required").or_insert_with(|| json!([]));
    if let Value::Array(required) = required {
        for field in ["kind", "apiVersion"] {
            if !required.iter().any(|r| r == field) {
                required.push(json!(field));
            }
        }
    }
}

/// `handler.PruneDefaults`: v2 definitions carry no defaults.
fn prune_defaults(schema: &mut Value) {
    match schema {
        Value::Object(o) => {
            o.remove("default");
            for (k, v) in o.iter_mut() {
                // `properties` maps names to schemas: a property may be called "default".
                if k == "properties" {
                    if let Value::Object(p) = v {
                        p.values_mut().for_each(prune_defaults);
                    }
                } else if k != "enum" && k != "example" {
                    prune_defaults(v);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(prune_defaults),
        _ => {}
    }
}

/// The documents with the custom resources merged in.
#[derive(Debug)]
pub(crate) struct Documents {
    /// `/openapi/v2`.
    pub v2: Value,
    /// `/openapi/v3/<gv>` documents and the hash of each.
    pub v3: BTreeMap<String, (Arc<Value>, String)>,
}

fn hash_of(value: &Value) -> String {
    let mut h = std::hash::DefaultHasher::new();
    value.to_string().hash(&mut h);
    format!("{:016X}", h.finish())
}

static BUILT_IN_V3: LazyLock<BTreeMap<String, (Arc<Value>, String)>> = LazyLock::new(|| {
    super::openapi::kubernetes()
        .v3
        .iter()
        .map(|(gv, doc)| (gv.clone(), (Arc::new(doc.clone()), hash_of(doc))))
        .collect()
});

type Cache = Option<(u64, Arc<Documents>)>;
static CACHE: Mutex<Cache> = Mutex::new(None);

/// The documents for these CRDs (JSON objects), built once per distinct set.
pub(crate) fn documents(crds: &[Value]) -> Arc<Documents> {
    let mut h = std::hash::DefaultHasher::new();
    for crd in crds {
        crd.get("spec").map(Value::to_string).hash(&mut h);
    }
    let key = h.finish();
    let mut cache = CACHE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((k, docs)) = cache.as_ref()
        && *k == key
    {
        return Arc::clone(docs);
    }
    let docs = Arc::new(build(crds));
    *cache = Some((key, Arc::clone(&docs)));
    docs
}

fn build(crds: &[Value]) -> Documents {
    let mut v2 = super::openapi::kubernetes().v2.clone();
    let mut v3 = BUILT_IN_V3.clone();
    let Some(t) = TEMPLATES.as_ref() else {
        return Documents { v2, v3 };
    };
    let mut groups: BTreeMap<String, Value> = BTreeMap::new();
    for crd in crds {
        for cv in CrdVersion::of(crd) {
            let (v2_template, v3_template) = if cv.namespaced {
                (&t.v2_namespaced, &t.v3_namespaced)
            } else {
                (&t.v2_cluster, &t.v3_cluster)
            };
            if let Value::Object(doc) = &mut v2 {
                if let Some(Value::Object(defs)) = doc.get_mut("definitions") {
                    defs.insert(cv.definition_name(&cv.kind), cv.definition(true));
                    defs.insert(cv.definition_name(&cv.list_kind), cv.list_definition(true));
                }
                if let Some(Value::Object(paths)) = doc.get_mut("paths") {
                    paths.extend(cv.paths(v2_template));
                }
                if let Some(Value::Object(params)) = doc.get_mut("parameters") {
                    for (k, p) in &t.v2_parameters {
                        params.entry(k.clone()).or_insert_with(|| p.clone());
                    }
                }
            }
            let gv = format!("apis/{}/{}", cv.group, cv.version);
            let doc = groups.entry(gv).or_insert_with(|| {
                json!({
                    "openapi": "3.0.0",
                    "info": t.v3_info,
                    "paths": {},
                    "components": {"schemas": t.v3_schemas},
                })
            });
            if let Some(Value::Object(paths)) = doc.get_mut("paths") {
                paths.extend(cv.paths(v3_template));
            }
            if let Some(Value::Object(schemas)) = doc.pointer_mut("/components/schemas") {
                schemas.insert(cv.definition_name(&cv.kind), cv.definition(false));
                schemas.insert(cv.definition_name(&cv.list_kind), cv.list_definition(false));
            }
        }
    }
    for (gv, doc) in groups {
        let hash = hash_of(&doc);
        v3.insert(gv, (Arc::new(doc), hash));
    }
    Documents { v2, v3 }
}

static PRIMEHUB_CRDS: LazyLock<Vec<Value>> = LazyLock::new(|| {
    primehub_model::crd::all()
        .iter()
        .filter_map(|c| serde_json::to_value(c).ok())
        .collect()
});

impl super::FakeCluster {
    /// The CRDs whose kinds the documents publish: PrimeHub's (served from the start) and
    /// every CRD stored through the API (a stored CRD replaces PrimeHub's of the same name).
    pub(crate) fn crd_objects(&self) -> Vec<Value> {
        let mut by_name: BTreeMap<String, Value> = PRIMEHUB_CRDS
            .iter()
            .map(|c| (name_of(c), c.clone()))
            .collect();
        if let Some(sk) = self.find_kind("apiextensions.k8s.io", "v1", "customresourcedefinitions")
            && let Ok((items, _, _)) =
                self.list_values(&sk, None, &crate::api::ListOptions::default())
        {
            for crd in items {
                by_name.insert(name_of(&crd), crd);
            }
        }
        by_name.into_values().collect()
    }

    /// The OpenAPI documents with the custom resources of [`crd_objects`](Self::crd_objects).
    pub(crate) fn openapi(&self) -> Arc<Documents> {
        documents(&self.crd_objects())
    }

    /// The served CRD version of `group`/`version`/`kind`, if a CRD defines it (a stored CRD
    /// before PrimeHub's own).
    pub(crate) fn crd_version(&self, group: &str, version: &str, kind: &str) -> Option<CrdVersion> {
        let find = |crd: &Value| {
            CrdVersion::of(crd)
                .into_iter()
                .find(|v| v.group == group && v.version == version && v.kind == kind)
        };
        if let Some(sk) = self.find_kind("apiextensions.k8s.io", "v1", "customresourcedefinitions")
            && let Ok((items, _, _)) =
                self.list_values(&sk, None, &crate::api::ListOptions::default())
        {
            let found = items
                .iter()
                .filter(|c| {
                    c.pointer("/spec/group").and_then(Value::as_str) == Some(group)
                        && c.pointer("/spec/names/kind").and_then(Value::as_str) == Some(kind)
                })
                .find_map(find);
            if found.is_some() {
                return found;
            }
        }
        PRIMEHUB_CRDS
            .iter()
            .filter(|c| {
                c.pointer("/spec/group").and_then(Value::as_str) == Some(group)
                    && c.pointer("/spec/names/kind").and_then(Value::as_str) == Some(kind)
            })
            .find_map(find)
    }
}

fn name_of(crd: &Value) -> String {
    crd.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_parses_and_has_both_scopes() {
        let t = TEMPLATES.as_ref().expect("the CRD template parses");
        assert!(
            t.v2_namespaced
                .contains("/namespaces/{namespace}/${plural}")
        );
        assert!(!t.v2_cluster.contains("{namespace}"));
        assert!(
            t.v3_schemas
                .contains_key("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")
        );
    }

    #[test]
    fn operation_ids_and_articles_as_kube_apiserver() {
        assert_eq!(operation_id("primehub.io", true), "PrimehubIo");
        assert_eq!(operation_id("primehub.io", false), "primehubIo");
        assert_eq!(operation_id("v1alpha1", true), "V1alpha1");
        assert_eq!(article("Image"), "an");
        assert_eq!(article("PhJob"), "a");
        assert_eq!(article("Widgets"), "");
        assert_eq!(article("Class"), "a");
    }

    #[test]
    fn primehub_kinds_are_published() {
        let crds: Vec<Value> = primehub_model::crd::all()
            .iter()
            .filter_map(|c| serde_json::to_value(c).ok())
            .collect();
        let docs = documents(&crds);
        let job = &docs.v2["definitions"]["io.primehub.v1alpha1.PhJob"];
        assert_eq!(job["x-kubernetes-group-version-kind"][0]["kind"], "PhJob");
        assert_eq!(job["properties"]["metadata"]["$ref"], OBJECT_META_V2);
        // v2 has no nullable: the nullable userName loses its type.
        assert_eq!(
            job["properties"]["spec"]["properties"]["userName"].get("type"),
            None
        );
        let post =
            &docs.v2["paths"]["/apis/primehub.io/v1alpha1/namespaces/{namespace}/phjobs"]["post"];
        assert_eq!(
            post["operationId"],
            "createPrimehubIoV1alpha1NamespacedPhJob"
        );
        assert_eq!(post["description"], "create a PhJob");
        let v3 = &docs.v3["apis/primehub.io/v1alpha1"].0;
        let job3 = &v3["components"]["schemas"]["io.primehub.v1alpha1.PhJob"];
        assert_eq!(
            job3["properties"]["spec"]["properties"]["userName"]["nullable"],
            true
        );
        let status_paths = v3["paths"]
            .as_object()
            .map(|p| p.keys().filter(|k| k.ends_with("/status")).count());
        assert!(status_paths.unwrap_or_default() >= 1);
        let params = v3["paths"]["/apis/primehub.io/v1alpha1/namespaces/{namespace}/phjobs"]
            ["post"]["parameters"]
            .to_string();
        assert!(
            params.contains("fieldValidation") && params.contains("dryRun"),
            "{params}"
        );
    }
}
