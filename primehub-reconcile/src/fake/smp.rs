//! Strategic merge patch (`application/strategic-merge-patch+json`) with kube-apiserver's
//! semantics (k8s.io/apimachinery `strategicpatch`, as the API server calls it:
//! parallel deletion lists merged, unmatched `null`s ignored).
//!
//! What a strategic merge patch does differently from a JSON merge patch, field by field, comes
//! from the built-in kinds' OpenAPI v2 definitions ([`super::openapi`]): a list whose field has
//! `x-kubernetes-patch-strategy: merge` and an `x-kubernetes-patch-merge-key` (containers by
//! `name`, ports by `containerPort`, volumes by `name`, …) is merged element by element by that
//! key; a list of primitives with strategy `merge` (finalizers) is unioned; any other list is
//! replaced. `null` deletes a key. The directives:
//!
//! - `$patch: replace` in a map replaces the map, `$patch: delete` deletes it; in a merge list an
//!   element `{"$patch": "delete", <key>: <value>}` deletes the elements with that key and
//!   `{"$patch": "replace"}` replaces the whole list with the patch's other elements;
//! - `$setElementOrder/<field>`: the order of the merged list (kubectl apply sends it);
//! - `$retainKeys: [...]`: clears the map's keys not listed (strategy `retainKeys`);
//! - `$deleteFromPrimitiveList/<field>: [...]`: removes those values from a primitive list.
//!
//! Directives are never stored: they are honoured or answered with kube-apiserver's error.
//! Errors carry its status codes and messages (Go's `%v` formatting of the offending maps):
//! 400 for a malformed `$retainKeys`, `$setElementOrder` or `$deleteFromPrimitiveList`, 422 for
//! lists of lists, and 500 — as kube-apiserver answers — for a merge list element without its
//! merge key (`map: map[image:x] does not contain declared merge key: name`), an unknown
//! `$patch` value, an unknown field where both sides are maps or lists, or a `$setElementOrder`
//! list that does not match the patch list.
//!
//! Differences from kube-apiserver, all on malformed input: where Go's implementation would
//! panic or keep a directive in a replaced value for the typed decoding to drop, this one drops
//! it; fields of schema-less types (`RawExtension`, `JSON`) merge as maps instead of failing.

use serde_json::{Map, Value};

use super::openapi;
use crate::error::KubeError;

const DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const SET_ELEMENT_ORDER: &str = "$setElementOrder";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList";

const GO_MAP: &str = "map[string]interface {}";
const GO_SLICE: &str = "[]interface {}";

/// Why a patch does not apply, with kube-apiserver's status code.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SmpError {
    /// 400 Bad Request.
    BadRequest(String),
    /// 422 Unprocessable Entity.
    Unprocessable(String),
    /// 500: the error kube-apiserver passes through unclassified.
    Internal(String),
}

impl From<SmpError> for KubeError {
    fn from(e: SmpError) -> KubeError {
        match e {
            SmpError::BadRequest(message) => KubeError::BadRequest { message },
            SmpError::Unprocessable(message) => KubeError::Invalid {
                message,
                causes: Vec::new(),
            },
            SmpError::Internal(message) => KubeError::Unexpected {
                status: 500,
                message,
            },
        }
    }
}

type R<T> = std::result::Result<T, SmpError>;

/// Applies the strategic merge patch `patch` to `original`, an object of the built-in kind whose
/// OpenAPI v2 definition is `definition` (`io.k8s.api.core.v1.Pod`).
pub(crate) fn apply(
    original: &Value,
    patch: &Value,
    definition: &str,
) -> std::result::Result<Value, KubeError> {
    let Value::Object(patch) = patch else {
        return Err(KubeError::BadRequest {
            message: format!(
                "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                json_kind(patch)
            ),
        });
    };
    let original = match original {
        Value::Object(o) => o.clone(),
        _ => Map::new(),
    };
    let schema = Schema::definition(definition);
    let mut merged = Value::Object(merge_map(original, patch.clone(), schema)?);
    remove_directive_keys(&mut merged);
    Ok(merged)
}

/// How `encoding/json` names a JSON value's kind in an unmarshal error.
fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

// ---------------------------------------------------------------------------------------------
// Go's view of JSON values: type names and `%v` formatting, for the error messages.

/// The Go type a JSON value decodes to (`map[string]interface{}`, `int64`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GoType {
    Nil,
    Bool,
    Int,
    Float,
    String,
    Slice,
    Map,
}

fn go_type(v: &Value) -> GoType {
    match v {
        Value::Null => GoType::Nil,
        Value::Bool(_) => GoType::Bool,
        Value::Number(n) if n.is_f64() => GoType::Float,
        Value::Number(_) => GoType::Int,
        Value::String(_) => GoType::String,
        Value::Array(_) => GoType::Slice,
        Value::Object(_) => GoType::Map,
    }
}

fn go_type_name(v: &Value) -> &'static str {
    match go_type(v) {
        GoType::Nil => "<nil>",
        GoType::Bool => "bool",
        GoType::Int => "int64",
        GoType::Float => "float64",
        GoType::String => "string",
        GoType::Slice => GO_SLICE,
        GoType::Map => GO_MAP,
    }
}

/// Go's `%v` of a decoded JSON value: `map[image:x name:c1]`, `[a b]`, `<nil>`, `1e+06`.
fn go_fmt(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => go_float(f),
            _ => n.to_string(),
        },
        Value::String(s) => s.clone(),
        Value::Array(items) => go_fmt_list(items),
        Value::Object(m) => go_fmt_map(m),
    }
}

fn go_fmt_list(items: &[Value]) -> String {
    let parts: Vec<String> = items.iter().map(go_fmt).collect();
    format!("[{}]", parts.join(" "))
}

fn go_fmt_map(m: &Map<String, Value>) -> String {
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort();
    let parts: Vec<String> = keys
        .into_iter()
        .map(|k| format!("{k}:{}", go_fmt(&m[k])))
        .collect();
    format!("map[{}]", parts.join(" "))
}

/// Go's `%v` of a float64: the shortest representation, in exponent form when the exponent
/// is below -4 or at least 6 (`1e+06`, `1.5e-07`, `123456`).
fn go_float(f: f64) -> String {
    if !f.is_finite() {
        return f.to_string();
    }
    let sci = format!("{f:e}");
    let Some((mantissa, exp)) = sci.split_once('e') else {
        return f.to_string();
    };
    let Ok(exp) = exp.parse::<i32>() else {
        return f.to_string();
    };
    if f != 0.0 && !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        f.to_string()
    }
}

/// Go's `%s` of a value: strings as they are, anything else as `%!s(type=value)`.
fn go_fmt_s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "%!s(<nil>)".into(),
        other => format!("%!s({}={})", go_type_name(other), go_fmt(other)),
    }
}

fn no_merge_key(m: &Map<String, Value>, key: &str) -> SmpError {
    SmpError::Internal(format!(
        "map: {} does not contain declared merge key: {key}",
        go_fmt_map(m)
    ))
}

fn bad_arg_type(expected: &str, actual: &Value) -> SmpError {
    SmpError::Internal(format!(
        "expected a {expected}, but received a {}",
        go_type_name(actual)
    ))
}

fn bad_patch_type(directive: &Value, m: &Map<String, Value>) -> SmpError {
    SmpError::Internal(format!(
        "unknown patch type: {} in map: {}",
        go_fmt_s(directive),
        go_fmt_map(m)
    ))
}

// ---------------------------------------------------------------------------------------------
// The schema: patch strategies and merge keys from the OpenAPI v2 definitions.

/// Where in a kind's schema a value is.
#[derive(Debug, Clone, Copy)]
enum Schema {
    /// A struct: its Go type name and its fields.
    Struct {
        name: &'static str,
        properties: &'static Map<String, Value>,
    },
    /// A map (`additionalProperties`): Go cannot look fields up in it.
    Map,
    /// No patch metadata (a scalar, or a type without a schema).
    Any,
}

/// The patch metadata of one field.
#[derive(Debug, Clone, Copy, Default)]
struct Meta {
    strategy: &'static str,
    merge_key: &'static str,
}

impl Meta {
    fn of(property: &'static Value) -> Meta {
        let text = |k: &str| property.get(k).and_then(Value::as_str).unwrap_or("");
        Meta {
            strategy: text("x-kubernetes-patch-strategy"),
            merge_key: text("x-kubernetes-patch-merge-key"),
        }
    }

    /// The strategy other than `retainKeys` (`merge`, `replace` or none).
    fn strategy(&self) -> R<&'static str> {
        let parts: Vec<&'static str> = self.strategy.split(',').collect();
        match parts.as_slice() {
            [] => Ok(""),
            ["retainKeys"] => Ok(""),
            [one] => Ok(one),
            ["retainKeys", other] | [other, "retainKeys"] => Ok(other),
            _ => Err(SmpError::Internal(format!(
                "unexpected patch strategy: [{}]",
                parts.join(" ")
            ))),
        }
    }
}

impl Schema {
    /// The schema of the definition `name`; [`Schema::Any`] when there is none.
    fn definition(name: &str) -> Schema {
        let Some((name, definition)) = openapi::kubernetes()
            .definitions()
            .and_then(|d| d.get_key_value(name))
        else {
            return Schema::Any;
        };
        if let Some(properties) = definition.get("properties").and_then(Value::as_object) {
            Schema::Struct {
                name: name.rsplit('.').next().unwrap_or(name),
                properties,
            }
        } else if definition.get("additionalProperties").is_some() {
            Schema::Map
        } else {
            Schema::Any
        }
    }

    /// The schema of a property (or of a list's items).
    fn of(node: &'static Value) -> Schema {
        if let Some(reference) = node.get("$ref").and_then(Value::as_str) {
            return Schema::definition(
                reference
                    .strip_prefix("#/definitions/")
                    .unwrap_or(reference),
            );
        }
        if node.get("additionalProperties").is_some() {
            return Schema::Map;
        }
        Schema::Any
    }

    fn property(&self, key: &str) -> R<Option<&'static Value>> {
        match self {
            Schema::Struct { name, properties } => match properties.get(key) {
                Some(p) => Ok(Some(p)),
                None => Err(SmpError::Internal(format!(
                    "unable to find api field in struct {name} for the json field {key:?}"
                ))),
            },
            Schema::Map => Err(SmpError::Internal(
                "merging an object in json but data type is not struct, instead is: map".into(),
            )),
            Schema::Any => Ok(None),
        }
    }

    /// The schema and patch metadata of the map-valued field `key`.
    fn field(&self, key: &str) -> R<(Schema, Meta)> {
        Ok(match self.property(key)? {
            Some(p) => (Schema::of(p), Meta::of(p)),
            None => (Schema::Any, Meta::default()),
        })
    }

    /// The element schema and patch metadata of the list-valued field `key`.
    fn list_field(&self, key: &str) -> R<(Schema, Meta)> {
        Ok(match self.property(key)? {
            Some(p) => {
                let items = p.get("items").map_or(Schema::Any, Schema::of);
                (items, Meta::of(p))
            }
            None => (Schema::Any, Meta::default()),
        })
    }

    /// Go's `reflect.Kind` name of the type, for "cannot merge lists without merge key".
    fn kind_name(&self) -> &'static str {
        match self {
            Schema::Map => "map",
            Schema::Struct { .. } | Schema::Any => "struct",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Directives out of values that are stored as the patch gives them.

fn is_directive_key(key: &str) -> bool {
    key == DIRECTIVE
        || key == RETAIN_KEYS
        || key.starts_with(SET_ELEMENT_ORDER)
        || key.starts_with(DELETE_FROM_PRIMITIVE_LIST)
}

/// A patch value as it is stored where the original has nothing to merge it with: `null`
/// members dropped, maps with a `$patch` directive dropped (`None` when the value itself is
/// one), other directive keys dropped.
fn strip(v: Value) -> Option<Value> {
    match v {
        Value::Object(m) => {
            if m.contains_key(DIRECTIVE) {
                return None;
            }
            Some(Value::Object(strip_map(m)))
        }
        Value::Array(items) => Some(Value::Array(items.into_iter().filter_map(strip).collect())),
        other => Some(other),
    }
}

fn strip_map(m: Map<String, Value>) -> Map<String, Value> {
    m.into_iter()
        .filter(|(k, v)| !v.is_null() && !is_directive_key(k))
        .filter_map(|(k, v)| strip(v).map(|v| (k, v)))
        .collect()
}

/// Removes every directive key left anywhere in `v` (a safety net: none should be left).
fn remove_directive_keys(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|k, _| !is_directive_key(k));
            m.values_mut().for_each(remove_directive_keys);
        }
        Value::Array(items) => {
            items.retain(|i| !i.as_object().is_some_and(|m| m.contains_key(DIRECTIVE)));
            items.iter_mut().for_each(remove_directive_keys);
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// Merging.

/// The key after a `$setElementOrder/` or `$deleteFromPrimitiveList/` prefix.
fn extract_key(key: &str, prefix: &str) -> R<String> {
    match key.split_once('/') {
        Some((p, rest)) if p == prefix => Ok(rest.to_owned()),
        _ => Err(SmpError::BadRequest(
            if prefix == DELETE_FROM_PRIMITIVE_LIST {
                "invalid patch format of primitive list"
            } else {
                "invalid patch format of setElementOrder list"
            }
            .into(),
        )),
    }
}

fn merge_map(
    mut original: Map<String, Value>,
    mut patch: Map<String, Value>,
    schema: Schema,
) -> R<Map<String, Value>> {
    if let Some(directive) = patch.get(DIRECTIVE) {
        return match directive.as_str() {
            Some("replace") => {
                patch.remove(DIRECTIVE);
                Ok(strip_map(patch))
            }
            Some("delete") => Ok(Map::new()),
            _ => Err(bad_patch_type(directive, &patch)),
        };
    }
    apply_retain_keys(&mut original, &mut patch)?;
    merge_set_element_order(&mut original, &mut patch, schema)?;

    for (key, patch_v) in patch {
        let (key, delete_list) = if key.starts_with(DELETE_FROM_PRIMITIVE_LIST) {
            (extract_key(&key, DELETE_FROM_PRIMITIVE_LIST)?, true)
        } else {
            (key, false)
        };
        if patch_v.is_null() {
            original.remove(&key);
            continue;
        }
        let Some(original_v) = original.remove(&key) else {
            if !delete_list && let Some(v) = strip(patch_v) {
                original.insert(key, v);
            }
            continue;
        };
        if go_type(&original_v) != go_type(&patch_v) {
            let kept = if delete_list {
                Some(original_v)
            } else {
                strip(patch_v)
            };
            if let Some(v) = kept {
                original.insert(key, v);
            }
            continue;
        }
        let merged = match (original_v, patch_v) {
            (Value::Object(o), Value::Object(p)) => {
                let (sub, meta) = schema.field(&key)?;
                if meta.strategy()? == "replace" {
                    Some(Value::Object(strip_map(p)))
                } else {
                    Some(Value::Object(merge_map(o, p, sub)?))
                }
            }
            (Value::Array(o), Value::Array(p)) => {
                let (sub, meta) = schema.list_field(&key)?;
                merge_list_field(o, p, sub, meta, delete_list)?
            }
            (_, scalar) => Some(scalar),
        };
        if let Some(v) = merged {
            original.insert(key, v);
        }
    }
    Ok(original)
}

/// A list field present on both sides: merged with strategy `merge` (or as a deletion list),
/// else replaced.
fn merge_list_field(
    original: Vec<Value>,
    patch: Vec<Value>,
    schema: Schema,
    meta: Meta,
    delete_list: bool,
) -> R<Option<Value>> {
    if meta.strategy()? == "merge" || delete_list {
        Ok(Some(Value::Array(merge_list(
            original,
            patch,
            schema,
            meta.merge_key,
            delete_list,
        )?)))
    } else {
        Ok(strip(Value::Array(patch)))
    }
}

/// `$retainKeys`: every key the patch sets must be listed; the original's unlisted keys go.
fn apply_retain_keys(original: &mut Map<String, Value>, patch: &mut Map<String, Value>) -> R<()> {
    let Some(retain) = patch.remove(RETAIN_KEYS) else {
        return Ok(());
    };
    let bad = || SmpError::BadRequest("invalid patch format of retainKeys".into());
    let Value::Array(retain) = retain else {
        return Err(bad());
    };
    let listed = |k: &str| retain.iter().any(|r| r.as_str() == Some(k));
    for (k, v) in patch.iter() {
        if v.is_null()
            || k.starts_with(DELETE_FROM_PRIMITIVE_LIST)
            || k.starts_with(SET_ELEMENT_ORDER)
        {
            continue;
        }
        if !listed(k) {
            return Err(bad());
        }
    }
    original.retain(|k, _| listed(k));
    Ok(())
}

/// `$setElementOrder/<field>`: merges `<field>` and orders the result as listed.
fn merge_set_element_order(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
    schema: Schema,
) -> R<()> {
    let keys: Vec<String> = patch
        .keys()
        .filter(|k| k.starts_with(SET_ELEMENT_ORDER))
        .cloned()
        .collect();
    for directive in keys {
        let Some(order) = patch.remove(&directive) else {
            continue;
        };
        let Value::Array(order) = order else {
            return Err(bad_arg_type(GO_SLICE, &order));
        };
        let key = extract_key(&directive, SET_ELEMENT_ORDER)?;
        let as_list = |v: Option<&Value>| -> R<Option<Vec<Value>>> {
            match v {
                None => Ok(None),
                Some(Value::Array(items)) => Ok(Some(items.clone())),
                Some(other) => Err(bad_arg_type(GO_SLICE, other)),
            }
        };
        let original_list = as_list(original.get(&key))?;
        let patch_list = as_list(patch.get(&key))?;
        let (sub, meta) = schema.list_field(&key)?;
        meta.strategy()?;
        validate_set_order(
            patch_list.as_deref().unwrap_or_default(),
            &order,
            meta.merge_key,
        )?;
        let merged = match (&original_list, patch_list) {
            (None, None) => continue,
            (Some(o), None) => o.clone(),
            (None, Some(p)) => p.into_iter().filter_map(strip).collect(),
            (Some(o), Some(p)) => match merge_list_field(o.clone(), p.clone(), sub, meta, false)? {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            },
        };
        let original_list = original_list.unwrap_or_default();
        let patch_list = patch.get(&key).and_then(Value::as_array).cloned();
        let (in_order, server_only) = partition(merged, &order, meta.merge_key)?;
        let kind = element_type(&[&original_list, patch_list.as_deref().unwrap_or_default()])?;
        let ordered = normalize_element_order(
            in_order,
            server_only,
            &order,
            &original_list,
            meta.merge_key,
            kind,
        )?;
        original.insert(key.clone(), Value::Array(ordered));
        patch.remove(&key);
    }
    Ok(())
}

/// The patch list's elements (other than deletions and directives) must appear in the
/// `$setElementOrder` list, in its order.
fn validate_set_order(patch_list: &[Value], order: &[Value], merge_key: &str) -> R<()> {
    if order.is_empty() || patch_list.is_empty() {
        return Ok(());
    }
    let non_delete = if merge_key.is_empty() {
        patch_list.to_vec()
    } else {
        split_deletions(patch_list.to_vec())?.0
    };
    let (mut p, mut s) = (0, 0);
    while p < non_delete.len() && s < order.len() {
        if non_delete[p]
            .as_object()
            .is_some_and(|m| m.contains_key(DIRECTIVE))
        {
            p += 1;
            continue;
        }
        if merge_key_equal(&non_delete[p], &order[s], merge_key)? {
            p += 1;
        }
        s += 1;
    }
    if p < non_delete.len() && s >= order.len() {
        return Err(SmpError::Internal(format!(
            "The order in patch list:\n{}\n doesn't match {SET_ELEMENT_ORDER} list:\n{}\n",
            go_fmt_list(patch_list),
            go_fmt_list(order)
        )));
    }
    Ok(())
}

fn merge_key_equal(left: &Value, right: &Value, merge_key: &str) -> R<bool> {
    if merge_key.is_empty() {
        return Ok(left == right);
    }
    let l = left.as_object().ok_or_else(|| bad_arg_type(GO_MAP, left))?;
    let r = right
        .as_object()
        .ok_or_else(|| bad_arg_type(GO_MAP, right))?;
    let lv = l.get(merge_key).ok_or_else(|| no_merge_key(l, merge_key))?;
    let rv = r.get(merge_key).ok_or_else(|| no_merge_key(r, merge_key))?;
    Ok(lv == rv)
}

/// The element type shared by the lists' elements (lists of lists are refused).
fn element_type(lists: &[&[Value]]) -> R<GoType> {
    let mut seen: Option<GoType> = None;
    for v in lists.iter().flat_map(|l| l.iter()) {
        let t = go_type(v);
        match seen {
            None if t == GoType::Slice => {
                return Err(SmpError::Unprocessable(
                    "lists of lists are not supported".into(),
                ));
            }
            None => seen = Some(t),
            Some(s) if s != t => {
                let all: Vec<String> = lists.iter().map(|l| go_fmt_list(l)).collect();
                return Err(SmpError::Internal(format!(
                    "list element types are not identical: [{}]",
                    all.join(" ")
                )));
            }
            Some(_) => {}
        }
    }
    seen.ok_or_else(|| SmpError::Internal("no elements in any of the given slices".into()))
}

/// Merges two lists of a field with strategy `merge` (or a `$deleteFromPrimitiveList`).
fn merge_list(
    original: Vec<Value>,
    patch: Vec<Value>,
    schema: Schema,
    merge_key: &str,
    delete_list: bool,
) -> R<Vec<Value>> {
    if original.is_empty() && patch.is_empty() {
        return Ok(original);
    }
    let kind = element_type(&[&original, &patch])?;
    let (original, patch, merged) = if kind != GoType::Map {
        if delete_list {
            return Ok(original
                .into_iter()
                .filter(|v| !patch.contains(v))
                .collect());
        }
        let mut merged: Vec<Value> = Vec::with_capacity(original.len() + patch.len());
        for v in original.iter().chain(patch.iter()) {
            if !merged.contains(v) {
                merged.push(v.clone());
            }
        }
        (original, patch, merged)
    } else {
        if merge_key.is_empty() {
            return Err(SmpError::Internal(format!(
                "cannot merge lists without merge key for {}",
                schema.kind_name()
            )));
        }
        let (original, patch) = apply_special_elements(original, patch, merge_key)?;
        let merged = merge_by_key(original.clone(), &patch, merge_key, schema)?;
        (original, patch, merged)
    };
    let (in_patch, server_only) = partition(merged, &patch, merge_key)?;
    normalize_element_order(in_patch, server_only, &patch, &original, merge_key, kind)
}

/// Applies the `$patch` elements of a merge list: deletions from the original, `replace`.
/// Returns the original and the patch's plain elements.
fn apply_special_elements(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    merge_key: &str,
) -> R<(Vec<Value>, Vec<Value>)> {
    let mut plain = Vec::new();
    let mut replace = false;
    for v in patch {
        let Some(m) = v.as_object() else {
            return Err(bad_arg_type(GO_MAP, &v));
        };
        match m.get(DIRECTIVE) {
            None => plain.push(v),
            Some(d) => match d.as_str() {
                Some("delete") => {
                    let value = m.get(merge_key).ok_or_else(|| no_merge_key(m, merge_key))?;
                    while let Some(i) = find_by_key(&original, merge_key, value)? {
                        original.remove(i);
                    }
                }
                Some("replace") => replace = true,
                Some("merge") => {
                    return Err(SmpError::Internal(
                        "merging lists cannot yet be specified in the patch".into(),
                    ));
                }
                _ => return Err(bad_patch_type(d, m)),
            },
        }
    }
    if replace {
        let replaced = plain.into_iter().filter_map(strip).collect();
        return Ok((replaced, Vec::new()));
    }
    Ok((original, plain))
}

/// The index of the element whose merge key is `value`.
fn find_by_key(list: &[Value], merge_key: &str, value: &Value) -> R<Option<usize>> {
    for (i, v) in list.iter().enumerate() {
        let m = v
            .as_object()
            .ok_or_else(|| SmpError::Internal(format!("value for key {i} is not a map")))?;
        if m.get(merge_key) == Some(value) {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

/// Merges each patch element into the original element with the same merge key, or appends it.
fn merge_by_key(
    mut original: Vec<Value>,
    patch: &[Value],
    merge_key: &str,
    schema: Schema,
) -> R<Vec<Value>> {
    for v in patch {
        let Some(m) = v.as_object() else {
            return Err(bad_arg_type(GO_MAP, v));
        };
        let value = m.get(merge_key).ok_or_else(|| no_merge_key(m, merge_key))?;
        match find_by_key(&original, merge_key, value)? {
            Some(i) => {
                let existing = match std::mem::take(&mut original[i]) {
                    Value::Object(o) => o,
                    _ => Map::new(),
                };
                original[i] = Value::Object(merge_map(existing, m.clone(), schema)?);
            }
            None => {
                if let Some(v) = strip(v.clone()) {
                    original.push(v);
                }
            }
        }
    }
    Ok(original)
}

/// Splits `merged` into the elements `by` names (by merge key, or by value for primitives) and
/// the others.
fn partition(merged: Vec<Value>, by: &[Value], merge_key: &str) -> R<(Vec<Value>, Vec<Value>)> {
    let mut named = Vec::new();
    let mut others = Vec::new();
    for v in merged {
        let found = if merge_key.is_empty() {
            by.contains(&v)
        } else {
            let m = v.as_object().ok_or_else(|| bad_arg_type(GO_MAP, &v))?;
            let value = m.get(merge_key).ok_or_else(|| no_merge_key(m, merge_key))?;
            find_by_key(by, merge_key, value)?.is_some()
        };
        if found {
            named.push(v);
        } else {
            others.push(v);
        }
    }
    Ok((named, others))
}

/// Where `v` is in `list` (by merge key for maps), as Go's `index`.
fn position(list: &[Value], v: &Value, merge_key: &str, kind: GoType) -> Option<usize> {
    let key_of = |item: &Value| -> Option<Value> {
        item.as_object().and_then(|m| m.get(merge_key)).cloned()
    };
    if kind == GoType::Map {
        let wanted = key_of(v);
        list.iter().position(|item| key_of(item) == wanted)
    } else {
        list.iter().position(|item| item == v)
    }
}

/// Orders the patch's elements by `patch_order` and the server-only ones by `server_order`,
/// then interleaves them keeping both relative orders (Go's `normalizeElementOrder`).
fn normalize_element_order(
    patch_items: Vec<Value>,
    server_only: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    merge_key: &str,
    kind: GoType,
) -> R<Vec<Value>> {
    let patch_items = sort_by_order(patch_items, patch_order, merge_key, kind)?;
    let server_only = sort_by_order(server_only, server_order, merge_key, kind)?;
    let less = |l: &Value, r: &Value| -> bool {
        match (
            position(server_order, l, merge_key, kind),
            position(server_order, r, merge_key, kind),
        ) {
            (Some(li), Some(ri)) => li < ri,
            _ => false,
        }
    };
    let mut out = Vec::with_capacity(patch_items.len() + server_only.len());
    let mut left = server_only.into_iter().peekable();
    let mut right = patch_items.into_iter().peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(l), Some(r)) => less(l, r),
        };
        let next = if take_left { left.next() } else { right.next() };
        out.extend(next);
    }
    Ok(out)
}

/// Stable sort of `items` by their position in `order`; for maps, `$patch: delete` elements
/// go last.
fn sort_by_order(
    items: Vec<Value>,
    order: &[Value],
    merge_key: &str,
    kind: GoType,
) -> R<Vec<Value>> {
    let (mut keep, deletions) = if kind == GoType::Map {
        for v in items.iter().chain(order.iter()) {
            let m = v.as_object().ok_or_else(|| bad_arg_type(GO_MAP, v))?;
            if !m.contains_key(merge_key) {
                return Err(no_merge_key(m, merge_key));
            }
        }
        split_deletions(items)?
    } else {
        (items, Vec::new())
    };
    keep.sort_by_key(|v| position(order, v, merge_key, kind).unwrap_or(usize::MAX));
    keep.extend(deletions);
    Ok(keep)
}

/// Splits a list of maps into its plain elements and its `$patch: delete` elements.
fn split_deletions(items: Vec<Value>) -> R<(Vec<Value>, Vec<Value>)> {
    let mut keep = Vec::new();
    let mut deletions = Vec::new();
    for v in items {
        let m = v.as_object().ok_or_else(|| bad_arg_type(GO_MAP, &v))?;
        if m.get(DIRECTIVE).and_then(Value::as_str) == Some("delete") {
            deletions.push(v);
        } else {
            keep.push(v);
        }
    }
    Ok((keep, deletions))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    const POD: &str = "io.k8s.api.core.v1.Pod";
    const DEPLOYMENT: &str = "io.k8s.api.apps.v1.Deployment";

    fn smp(original: Value, patch: Value, definition: &str) -> Value {
        apply(&original, &patch, definition).unwrap_or_else(|e| panic!("{e}"))
    }

    fn smp_err(original: Value, patch: Value) -> KubeError {
        match apply(&original, &patch, POD) {
            Ok(v) => panic!("applied: {v}"),
            Err(e) => e,
        }
    }

    fn pod() -> Value {
        json!({
            "metadata": {"name": "p", "finalizers": ["a/x", "b/y"], "labels": {"app": "web"}},
            "spec": {
                "containers": [
                    {"name": "main", "image": "nginx:1",
                     "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                     "ports": [{"containerPort": 80}, {"containerPort": 443}]},
                    {"name": "side", "image": "busybox"},
                ],
                "tolerations": [{"key": "a"}, {"key": "b"}],
                "volumes": [{"name": "v1", "emptyDir": {}}],
            },
        })
    }

    fn names(list: &Value) -> Vec<String> {
        list.as_array()
            .map(|l| {
                l.iter()
                    .map(|c| c["name"].as_str().unwrap_or("?").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn containers_merge_by_name_and_keep_the_others() {
        let out = smp(
            pod(),
            json!({"spec": {"containers": [{"name": "main", "image": "nginx:2"}, {"name": "new", "image": "x"}]}}),
            POD,
        );
        let containers = &out["spec"]["containers"];
        assert_eq!(names(containers), ["main", "new", "side"]);
        assert_eq!(containers[0]["image"], "nginx:2");
        // The merged container keeps what the patch does not name.
        assert_eq!(containers[0]["env"], pod()["spec"]["containers"][0]["env"]);
        assert_eq!(containers[2], pod()["spec"]["containers"][1]);
    }

    #[test]
    fn env_by_name_ports_by_container_port() {
        let out = smp(
            pod(),
            json!({"spec": {"containers": [{"name": "main",
                "env": [{"name": "B", "value": "3"}],
                "ports": [{"containerPort": 443, "name": "https"}]}]}}),
            POD,
        );
        let main = &out["spec"]["containers"][0];
        assert_eq!(
            main["env"],
            json!([{"name": "A", "value": "1"}, {"name": "B", "value": "3"}])
        );
        assert_eq!(
            main["ports"],
            json!([{"containerPort": 80}, {"containerPort": 443, "name": "https"}])
        );
    }

    #[test]
    fn lists_without_a_merge_strategy_are_replaced() {
        let out = smp(pod(), json!({"spec": {"tolerations": [{"key": "c"}]}}), POD);
        assert_eq!(out["spec"]["tolerations"], json!([{"key": "c"}]));
    }

    #[test]
    fn primitive_merge_lists_are_unioned() {
        let out = smp(
            pod(),
            json!({"metadata": {"finalizers": ["c/z", "a/x"]}}),
            POD,
        );
        assert_eq!(out["metadata"]["finalizers"], json!(["c/z", "a/x", "b/y"]));
    }

    #[test]
    fn null_deletes_a_key_and_is_never_stored() {
        let out = smp(
            pod(),
            json!({"metadata": {"labels": {"app": null, "new": null}, "annotations": {"a": "b", "c": null}}}),
            POD,
        );
        assert_eq!(out["metadata"]["labels"], json!({}));
        assert_eq!(out["metadata"]["annotations"], json!({"a": "b"}));
    }

    #[test]
    fn patch_delete_and_replace_directives() {
        let out = smp(
            pod(),
            json!({"spec": {"containers": [{"$patch": "delete", "name": "side"}],
                            "volumes": [{"name": "v9", "emptyDir": {}}, {"$patch": "replace"}]}}),
            POD,
        );
        assert_eq!(names(&out["spec"]["containers"]), ["main"]);
        assert_eq!(
            out["spec"]["volumes"],
            json!([{"name": "v9", "emptyDir": {}}])
        );
        let out = smp(
            pod(),
            json!({"metadata": {"labels": {"$patch": "replace", "x": "y"}}}),
            POD,
        );
        assert_eq!(out["metadata"]["labels"], json!({"x": "y"}));
        let out = smp(
            pod(),
            json!({"metadata": {"labels": {"$patch": "delete"}}}),
            POD,
        );
        assert_eq!(out["metadata"]["labels"], json!({}));
    }

    #[test]
    fn set_element_order_orders_the_merged_list() {
        let out = smp(
            pod(),
            json!({"spec": {"$setElementOrder/containers": [{"name": "side"}, {"name": "main"}],
                            "containers": [{"name": "main", "image": "nginx:3"}]}}),
            POD,
        );
        assert_eq!(names(&out["spec"]["containers"]), ["side", "main"]);
        assert_eq!(out["spec"]["containers"][1]["image"], "nginx:3");
        assert!(out["spec"].get("$setElementOrder/containers").is_none());
    }

    #[test]
    fn retain_keys_clears_unlisted_keys() {
        let deployment = json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}});
        let out = smp(
            deployment,
            json!({"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": null, "type": "Recreate"}}}),
            DEPLOYMENT,
        );
        assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));
    }

    #[test]
    fn delete_from_primitive_list() {
        let out = smp(
            pod(),
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a/x"],
                                "$setElementOrder/finalizers": ["b/y", "c/z"],
                                "finalizers": ["c/z"]}}),
            POD,
        );
        assert_eq!(out["metadata"]["finalizers"], json!(["b/y", "c/z"]));
    }

    /// The body `kubectl apply` (1.33) sends the second time, for a Deployment whose finalizers,
    /// strategy, containers (order, image, env, ports) and volumes changed.
    #[test]
    fn kubectl_apply_second_patch() {
        let live = json!({
            "metadata": {"name": "web", "finalizers": ["a.io/x", "b.io/y"]},
            "spec": {
                "replicas": 1,
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
                "template": {"spec": {
                    "containers": [
                        {"name": "main", "image": "nginx:1",
                         "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                         "ports": [{"containerPort": 80}, {"containerPort": 443}]},
                        {"name": "side", "image": "busybox"},
                    ],
                    "volumes": [{"name": "v1", "emptyDir": {}}],
                }},
            },
        });
        let patch: Value = serde_json::from_str(KUBECTL_APPLY).unwrap_or_else(|e| panic!("{e}"));
        let out = smp(live, patch, DEPLOYMENT);
        assert_eq!(out["metadata"]["finalizers"], json!(["b.io/y", "c.io/z"]));
        assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));
        let spec = &out["spec"]["template"]["spec"];
        assert_eq!(
            spec["containers"],
            json!([
                {"name": "side", "image": "busybox:2"},
                {"name": "main", "image": "nginx:2",
                 "env": [{"name": "C", "value": "3"}, {"name": "A", "value": "1"}],
                 "ports": [{"containerPort": 80}]},
            ])
        );
        assert_eq!(
            spec["volumes"],
            json!([{"name": "v2", "configMap": {"name": "cm"}}])
        );
    }

    pub(crate) const KUBECTL_APPLY: &str = r#"{"metadata":{"$deleteFromPrimitiveList/finalizers":["a.io/x"],"$setElementOrder/finalizers":["b.io/y","c.io/z"],"finalizers":["c.io/z"]},"spec":{"strategy":{"$retainKeys":["type"],"rollingUpdate":null,"type":"Recreate"},"template":{"spec":{"$setElementOrder/containers":[{"name":"side"},{"name":"main"}],"$setElementOrder/volumes":[{"name":"v2"}],"containers":[{"image":"busybox:2","name":"side"},{"$setElementOrder/env":[{"name":"C"},{"name":"A"}],"$setElementOrder/ports":[{"containerPort":80}],"env":[{"name":"C","value":"3"},{"$patch":"delete","name":"B"}],"image":"nginx:2","name":"main","ports":[{"$patch":"delete","containerPort":443}]}],"volumes":[{"configMap":{"name":"cm"},"name":"v2"},{"$patch":"delete","name":"v1"}]}}}}"#;

    /// Errors with kube-apiserver v1.37's codes and messages (checked against it).
    #[test]
    fn errors_answer_as_kube_apiserver() {
        let internal = |message: &str| KubeError::Unexpected {
            status: 500,
            message: message.into(),
        };
        assert_eq!(
            smp_err(pod(), json!({"spec": {"containers": [{"image": "x"}]}})),
            internal("map: map[image:x] does not contain declared merge key: name")
        );
        assert_eq!(
            smp_err(pod(), json!({"metadata": {"$patch": "bogus"}})),
            internal("unknown patch type: bogus in map: map[$patch:bogus]")
        );
        assert_eq!(
            smp_err(pod(), json!({"metadata": {"$patch": "merge"}})),
            internal("unknown patch type: merge in map: map[$patch:merge]")
        );
        assert_eq!(
            smp_err(
                pod(),
                json!({"spec": {"containers": [{"name": "main", "$patch": "bogus"}]}})
            ),
            internal("unknown patch type: bogus in map: map[$patch:bogus name:main]")
        );
        assert_eq!(
            smp_err(
                pod(),
                json!({"spec": {"containers": [{"$patch": "merge"}]}})
            ),
            internal("merging lists cannot yet be specified in the patch")
        );
        assert_eq!(
            smp_err(
                pod(),
                json!({"spec": {"$retainKeys": ["foo"], "containers": []}})
            ),
            KubeError::BadRequest {
                message: "invalid patch format of retainKeys".into()
            }
        );
        assert_eq!(
            smp_err(
                pod(),
                json!({"spec": {"$setElementOrder/containers": [{"name": "side"}],
                                "containers": [{"name": "main", "image": "y"}]}})
            ),
            internal(
                "The order in patch list:\n[map[image:y name:main]]\n doesn't match $setElementOrder list:\n[map[name:side]]\n"
            )
        );
        assert_eq!(
            smp_err(
                pod(),
                json!({"spec": {"$setElementOrder/bogus": [{"name": "c2"}]}})
            ),
            internal("unable to find api field in struct PodSpec for the json field \"bogus\"")
        );
        assert_eq!(
            smp_err(
                pod(),
                json!({"metadata": {"$deleteFromPrimitiveListfinalizers": ["a"]}})
            ),
            KubeError::BadRequest {
                message: "invalid patch format of primitive list".into()
            }
        );
    }

    #[test]
    fn go_formatting() {
        assert_eq!(go_fmt(&json!(1_000_000.0)), "1e+06");
        assert_eq!(go_fmt(&json!(123_456.0)), "123456");
        assert_eq!(go_fmt(&json!(0.5)), "0.5");
        assert_eq!(go_fmt(&json!(1.5e-7)), "1.5e-07");
        assert_eq!(go_fmt(&json!(80)), "80");
        assert_eq!(
            go_fmt(&json!({"b": [1, "x", null], "a": {"c": true}})),
            "map[a:map[c:true] b:[1 x <nil>]]"
        );
    }

    // -----------------------------------------------------------------------------------------
    // Properties.

    fn scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (0i64..100).prop_map(|n| json!(n)),
            "[a-c]{0,2}".prop_map(Value::String),
        ]
    }

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("name".to_owned()),
            Just("image".to_owned()),
            Just("containers".to_owned()),
            Just("env".to_owned()),
            Just("finalizers".to_owned()),
            Just("labels".to_owned()),
            Just("$patch".to_owned()),
            Just("$retainKeys".to_owned()),
            Just("$setElementOrder/containers".to_owned()),
            Just("$setElementOrder/finalizers".to_owned()),
            Just("$deleteFromPrimitiveList/finalizers".to_owned()),
            "[a-c]{1,2}",
        ]
    }

    /// Any JSON value, directives included (patches).
    fn value() -> impl Strategy<Value = Value> {
        scalar().prop_recursive(4, 40, 5, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map(key(), inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn patch() -> impl Strategy<Value = Value> {
        proptest::collection::btree_map(
            prop_oneof![Just("metadata".to_owned()), Just("spec".to_owned()), key()],
            value(),
            0..4,
        )
        .prop_map(|m| Value::Object(m.into_iter().collect()))
    }

    /// A stored object: no directives, no nulls.
    fn stored() -> impl Strategy<Value = Value> {
        let names = proptest::sample::subsequence(vec!["a", "b", "c", "d", "e"], 0..5);
        (names, proptest::collection::vec("[a-c]{1,2}", 0..4)).prop_map(|(names, finalizers)| {
            let containers: Vec<Value> = names
                .iter()
                .map(|n| json!({"name": n, "image": format!("img-{n}")}))
                .collect();
            json!({
                "metadata": {"name": "p", "finalizers": finalizers, "labels": {"app": "x"}},
                "spec": {"containers": containers, "restartPolicy": "Always"},
            })
        })
    }

    fn has_directive(v: &Value) -> bool {
        match v {
            Value::Object(m) => m
                .iter()
                .any(|(k, v)| is_directive_key(k) || has_directive(v)),
            Value::Array(items) => items.iter().any(has_directive),
            _ => false,
        }
    }

    proptest! {
        #[test]
        fn directives_never_survive(original in stored(), patch in patch()) {
            if let Ok(out) = apply(&original, &patch, POD) {
                prop_assert!(!has_directive(&out), "{out}");
            }
        }

        #[test]
        fn the_empty_patch_is_the_identity(original in stored()) {
            prop_assert_eq!(apply(&original, &json!({}), POD).ok(), Some(original));
        }

        #[test]
        fn merging_by_key_keeps_unnamed_entries(
            original in stored(),
            touched in proptest::sample::subsequence(vec!["a", "c", "e", "f", "g"], 0..5),
        ) {
            let patch: Vec<Value> =
                touched.iter().map(|n| json!({"name": n, "image": "new"})).collect();
            let out = apply(&original, &json!({"spec": {"containers": patch}}), POD)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let before = names(&original["spec"]["containers"]);
            let after = names(&out["spec"]["containers"]);
            for n in &before {
                prop_assert!(after.contains(n), "{n} lost: {after:?}");
            }
            for c in out["spec"]["containers"].as_array().into_iter().flatten() {
                let n = c["name"].as_str().unwrap_or_default();
                let want = if touched.contains(&n) { "new".to_owned() } else { format!("img-{n}") };
                prop_assert_eq!(c["image"].as_str(), Some(want.as_str()));
            }
            let mut expected: Vec<String> = before.clone();
            expected.extend(touched.iter().map(|s| (*s).to_owned()).filter(|n| !before.contains(n)));
            expected.sort();
            let mut sorted = after.clone();
            sorted.sort();
            prop_assert_eq!(sorted, expected);
        }

        #[test]
        fn order_follows_set_element_order(
            original in stored(),
            seed in any::<u64>(),
        ) {
            let mut order = names(&original["spec"]["containers"]);
            // With no element on either side kube-apiserver answers 500 ("no elements in any of
            // the given slices"), as this does.
            prop_assume!(!order.is_empty());
            // A deterministic shuffle from the seed.
            let mut s = seed;
            for i in (1..order.len()).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                order.swap(i, (s >> 33) as usize % (i + 1));
            }
            let touched: Vec<Value> = order.iter().step_by(2)
                .map(|n| json!({"name": n, "image": "new"})).collect();
            let set: Vec<Value> = order.iter().map(|n| json!({"name": n})).collect();
            let patch = json!({"spec": {"$setElementOrder/containers": set, "containers": touched}});
            let out = apply(&original, &patch, POD)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(names(&out["spec"]["containers"]), order);
        }

        /// Without lists, a strategic merge patch is a JSON merge patch.
        #[test]
        fn without_lists_it_is_a_merge_patch(
            original in stored(),
            patch in proptest::collection::btree_map("[a-c]{1,2}", scalar(), 0..4),
        ) {
            let patch = json!({"metadata": {"labels": patch.clone(), "annotations": patch}});
            let mut merged = original.clone();
            json_patch::merge(&mut merged, &patch);
            prop_assert_eq!(apply(&original, &patch, POD).ok(), Some(merged));
        }
    }
}
