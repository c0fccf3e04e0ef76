//! Custom resources against their CRD's structural OpenAPI v3 schema, as kube-apiserver treats
//! them: unknown fields pruned ([`prune`]), defaults applied and `null`s of non-nullable fields
//! dropped ([`default_and_drop_nulls`]), then validation ([`validate`]) with kube-openapi's
//! rules and messages, turned into field errors as apiextensions-apiserver does
//! (`Invalid value: "string": spec.count in body must be of type integer: "string"`).
//!
//! Covered: `type` (with `nullable` and `x-kubernetes-int-or-string`), `enum`,
//! `minLength`/`maxLength`/`pattern`, the `date-time`/`date`/`uuid` formats,
//! `minimum`/`maximum` (exclusive too), `multipleOf`, `minItems`/`maxItems`/`uniqueItems`,
//! `required`, `minProperties`/`maxProperties`, `properties`/`additionalProperties`/`items`,
//! `x-kubernetes-embedded-resource` (`apiVersion` and `kind` required, `metadata` pruned to
//! ObjectMeta) and `x-kubernetes-preserve-unknown-fields`. On updates, unchanged values are not
//! validated again (kube-apiserver's validation ratcheting). Not covered: `allOf`/`anyOf`/
//! `oneOf`/`not` and CEL rules (`x-kubernetes-validations`) are not evaluated.

use serde_json::{Map, Value};

use crate::error::InvalidCause;

fn is_true(schema: &Value, key: &str) -> bool {
    schema.get(key).and_then(Value::as_bool) == Some(true)
}

fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// The schema of the value under `key` of an object with schema `schema`: its property,
/// else the `additionalProperties` schema.
fn property<'a>(schema: &'a Value, key: &str) -> Option<&'a Value> {
    schema
        .get("properties")
        .and_then(|p| p.get(key))
        .or_else(|| schema.get("additionalProperties").filter(|a| a.is_object()))
}

/// Removes the fields of `object` (a whole custom resource) that its schema does not know, as
/// kube-apiserver's pruning does, and returns their paths (`spec.foo`, `spec.items[0].bar`),
/// sorted, then those of embedded resources' `metadata` (kube-apiserver's order). `apiVersion`,
/// `kind` and `metadata` are kept at the root and in embedded resources; `metadata` is pruned
/// to the ObjectMeta fields by `meta` (the caller's ObjectMeta walker).
pub(crate) fn prune(
    object: &mut Value,
    schema: &Value,
    meta: &dyn Fn(&mut Value, &str, &mut Vec<String>),
) -> Vec<String> {
    let mut pruned = Vec::new();
    let mut embedded_meta = Vec::new();
    let mut out = Pruned {
        schema: &mut pruned,
        embedded_meta: &mut embedded_meta,
    };
    prune_node(object, schema, "", true, meta, &mut out);
    pruned.sort();
    embedded_meta.sort();
    pruned.extend(embedded_meta);
    pruned
}

struct Pruned<'a> {
    schema: &'a mut Vec<String>,
    embedded_meta: &'a mut Vec<String>,
}

fn prune_node(
    value: &mut Value,
    schema: &Value,
    path: &str,
    resource_root: bool,
    meta: &dyn Fn(&mut Value, &str, &mut Vec<String>),
    pruned: &mut Pruned<'_>,
) {
    match value {
        Value::Object(o) => {
            let embedded = resource_root || is_true(schema, "x-kubernetes-embedded-resource");
            let preserve = is_true(schema, "x-kubernetes-preserve-unknown-fields");
            let allows_any = schema.get("additionalProperties") == Some(&Value::Bool(true));
            let keys: Vec<String> = o.keys().cloned().collect();
            for key in keys {
                let here = child(path, &key);
                if embedded && (key == "apiVersion" || key == "kind") {
                    continue;
                }
                if embedded && key == "metadata" {
                    if let Some(m) = o.get_mut("metadata") {
                        if resource_root {
                            meta(m, &here, pruned.schema);
                        } else {
                            meta(m, &here, pruned.embedded_meta);
                        }
                    }
                    continue;
                }
                match property(schema, &key) {
                    Some(s) => {
                        if let Some(v) = o.get_mut(&key) {
                            prune_node(v, s, &here, false, meta, pruned);
                        }
                    }
                    None if preserve || allows_any => {}
                    None => {
                        o.remove(&key);
                        pruned.schema.push(here);
                    }
                }
            }
        }
        Value::Array(a) => {
            if let Some(items) = schema.get("items") {
                for (i, v) in a.iter_mut().enumerate() {
                    prune_node(v, items, &format!("{path}[{i}]"), false, meta, pruned);
                }
            }
        }
        _ => {}
    }
}

/// Applies the schema's defaults to missing (and `null`, non-nullable) fields, and drops the
/// remaining `null`s of non-nullable fields, as kube-apiserver does before validation.
pub(crate) fn default_and_drop_nulls(value: &mut Value, schema: &Value) {
    match value {
        Value::Object(o) => {
            if let Some(Value::Object(props)) = schema.get("properties") {
                for (key, s) in props {
                    let Some(default) = s.get("default") else {
                        continue;
                    };
                    let missing = match o.get(key) {
                        None => true,
                        Some(Value::Null) => !is_true(s, "nullable"),
                        Some(_) => false,
                    };
                    if missing {
                        o.insert(key.clone(), default.clone());
                    }
                }
            }
            let keys: Vec<String> = o.keys().cloned().collect();
            for key in keys {
                let Some(s) = property(schema, &key) else {
                    continue;
                };
                if o.get(&key).is_some_and(Value::is_null) {
                    if !is_true(s, "nullable") {
                        o.remove(&key);
                    }
                } else if let Some(v) = o.get_mut(&key) {
                    default_and_drop_nulls(v, s);
                }
            }
        }
        Value::Array(a) => {
            if let Some(items) = schema.get("items") {
                for v in a.iter_mut() {
                    default_and_drop_nulls(v, items);
                }
            }
        }
        _ => {}
    }
}

/// The type name kube-openapi gives a JSON value.
fn type_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A value as apimachinery prints a field error's bad value (`%q` for strings, `%v` for
/// numbers and booleans, JSON otherwise).
fn shown(value: &Value) -> String {
    match value {
        Value::String(s) => quote(s),
        Value::Number(n) => number(n),
        Value::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}

/// Go's `strconv.Quote` for the strings that matter here.
fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

/// Go's `%v` of a float64 or int64.
fn number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    match n.as_f64() {
        Some(f) if f.abs() >= 1e21 || (f != 0.0 && f.abs() < 1e-4) => go_exponent(f),
        Some(f) => f.to_string(),
        None => n.to_string(),
    }
}

/// `%e`-style with Go's shortest digits (`1e+21`, `1.5e-05`).
fn go_exponent(f: f64) -> String {
    let s = format!("{f:e}");
    match s.split_once('e') {
        Some((mantissa, exp)) => {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exp),
            };
            format!("{mantissa}e{sign}{digits:0>2}")
        }
        None => s,
    }
}

fn schema_number(schema: &Value, key: &str) -> Option<f64> {
    schema.get(key).and_then(Value::as_f64)
}

fn schema_count(schema: &Value, key: &str) -> Option<u64> {
    schema.get(key).and_then(Value::as_u64)
}

struct Errors(Vec<InvalidCause>);

impl Errors {
    fn push(&mut self, field: &str, reason: &str, message: String) {
        self.0.push(InvalidCause {
            field: field.to_owned(),
            reason: reason.to_owned(),
            message,
        });
    }

    /// `field.Invalid(path, value, "<path> in body <detail>")`.
    fn invalid(&mut self, path: &str, value: &str, detail: &str) {
        self.push(
            path,
            "FieldValueInvalid",
            format!("Invalid value: {value}: {path} in body {detail}"),
        );
    }
}

/// Validates a custom resource (after [`prune`] and [`default_and_drop_nulls`]) against its
/// schema; `old` is the stored object on updates (unchanged values are not validated again).
/// The causes come in schema order, kube-apiserver's come in an order of its own.
pub(crate) fn validate(object: &Value, schema: &Value, old: Option<&Value>) -> Vec<InvalidCause> {
    let mut errors = Errors(Vec::new());
    validate_node(object, schema, "", true, old, &mut errors);
    errors.0
}

fn validate_node(
    value: &Value,
    schema: &Value,
    path: &str,
    root: bool,
    old: Option<&Value>,
    errors: &mut Errors,
) {
    if old == Some(value) {
        return;
    }
    let int_or_string = is_true(schema, "x-kubernetes-int-or-string");
    let types: Vec<&str> = if int_or_string {
        vec!["integer", "string"]
    } else {
        schema
            .get("type")
            .and_then(Value::as_str)
            .into_iter()
            .collect()
    };
    let actual = type_of(value);
    if value.is_null() {
        if !types.is_empty() && !is_true(schema, "nullable") {
            errors.push(
                path,
                "FieldValueTypeInvalid",
                format!(
                    "Invalid value: \"null\": {path} in body must be of type {}: \"null\"",
                    types.join(",")
                ),
            );
        }
        return;
    }
    let type_ok = types.is_empty()
        || types.contains(&actual)
        || (actual == "integer" && types.contains(&"number"))
        || (actual == "number"
            && types.contains(&"integer")
            && value.as_f64().is_some_and(|f| f.fract() == 0.0));
    if !type_ok {
        errors.push(
            path,
            "FieldValueTypeInvalid",
            format!(
                "Invalid value: {}: {path} in body must be of type {}: {}",
                quote(actual),
                types.join(","),
                quote(actual)
            ),
        );
    }
    match value {
        Value::String(s) => validate_string(s, schema, path, errors),
        Value::Number(n) => validate_number(n, schema, path, errors),
        Value::Array(a) => validate_array(a, schema, path, old, errors),
        _ => {}
    }
    if let Some(Value::Array(allowed)) = schema.get("enum")
        && !allowed.contains(value)
    {
        let values: Vec<String> = allowed
            .iter()
            .map(|v| match v {
                Value::String(s) => quote(s),
                other => quote(&other.to_string()),
            })
            .collect();
        errors.push(
            path,
            "FieldValueNotSupported",
            format!(
                "Unsupported value: {}: supported values: {}",
                shown(value),
                values.join(", ")
            ),
        );
    }
    if let Value::Object(o) = value {
        validate_object(o, schema, path, root, old, errors);
    }
}

fn validate_string(s: &str, schema: &Value, path: &str, errors: &mut Errors) {
    let length = s.chars().count() as u64;
    if let Some(max) = schema_count(schema, "maxLength")
        && length > max
    {
        let unit = if max == 1 { "byte" } else { "bytes" };
        errors.push(
            path,
            "FieldValueTooLong",
            format!("Too long: may not be more than {max} {unit}"),
        );
    } else if let Some(min) = schema_count(schema, "minLength")
        && length < min
    {
        errors.invalid(
            path,
            &quote(s),
            &format!("should be at least {min} chars long"),
        );
    } else if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
        match regex::Regex::new(pattern) {
            Ok(re) if re.is_match(s) => {}
            Ok(_) => errors.invalid(path, &quote(s), &format!("should match '{pattern}'")),
            Err(e) => errors.invalid(
                path,
                &quote(s),
                &format!("should match '{pattern}, but pattern is invalid: {e}'"),
            ),
        }
    }
    if let Some(format) = schema.get("format").and_then(Value::as_str) {
        let ok = match format {
            "date-time" => s.parse::<jiff::Timestamp>().is_ok(),
            "date" => s.parse::<jiff::civil::Date>().is_ok() && s.len() == 10,
            "uuid" => uuid::Uuid::parse_str(s).is_ok() && s.len() == 36,
            _ => true,
        };
        if !ok {
            errors.push(
                path,
                "FieldValueTypeInvalid",
                format!(
                    "Invalid value: {}: {path} in body must be of type {format}: {}",
                    quote(s),
                    quote(s)
                ),
            );
        }
    }
}

fn validate_number(n: &serde_json::Number, schema: &Value, path: &str, errors: &mut Errors) {
    let Some(f) = n.as_f64() else { return };
    let shown = number(n);
    if let Some(factor) = schema_number(schema, "multipleOf")
        && factor > 0.0
        && (f / factor).fract() != 0.0
    {
        let factor = serde_json::Number::from_f64(factor).map_or_else(String::new, |n| number(&n));
        errors.invalid(path, &shown, &format!("should be a multiple of {factor}"));
    }
    if let Some(max) = schema_number(schema, "maximum") {
        let exclusive = is_true(schema, "exclusiveMaximum");
        if f > max || (exclusive && f == max) {
            let max = serde_json::Number::from_f64(max).map_or_else(String::new, |n| number(&n));
            let rule = if exclusive {
                "less than"
            } else {
                "less than or equal to"
            };
            errors.invalid(path, &shown, &format!("should be {rule} {max}"));
        }
    }
    if let Some(min) = schema_number(schema, "minimum") {
        let exclusive = is_true(schema, "exclusiveMinimum");
        if f < min || (exclusive && f == min) {
            let min = serde_json::Number::from_f64(min).map_or_else(String::new, |n| number(&n));
            let rule = if exclusive {
                "greater than"
            } else {
                "greater than or equal to"
            };
            errors.invalid(path, &shown, &format!("should be {rule} {min}"));
        }
    }
}

fn validate_array(
    a: &[Value],
    schema: &Value,
    path: &str,
    old: Option<&Value>,
    errors: &mut Errors,
) {
    let len = a.len() as u64;
    if let Some(min) = schema_count(schema, "minItems")
        && len < min
    {
        errors.invalid(
            path,
            &len.to_string(),
            &format!("should have at least {min} items"),
        );
    }
    if let Some(max) = schema_count(schema, "maxItems")
        && len > max
    {
        let unit = if max == 1 { "item" } else { "items" };
        errors.push(
            path,
            "FieldValueTooMany",
            format!("Too many: {len}: must have at most {max} {unit}"),
        );
    }
    if is_true(schema, "uniqueItems")
        && a.iter()
            .enumerate()
            .any(|(i, v)| a[..i].iter().any(|w| w == v))
    {
        errors.invalid(path, "\"\"", "shouldn't contain duplicates");
    }
    if let Some(items) = schema.get("items") {
        let old_items = old.and_then(Value::as_array);
        for (i, v) in a.iter().enumerate() {
            let old_item = old_items.and_then(|o| o.get(i));
            validate_node(v, items, &format!("{path}[{i}]"), false, old_item, errors);
        }
    }
}

fn validate_object(
    o: &Map<String, Value>,
    schema: &Value,
    path: &str,
    root: bool,
    old: Option<&Value>,
    errors: &mut Errors,
) {
    let count = o.len() as u64;
    if let Some(max) = schema_count(schema, "maxProperties")
        && count > max
    {
        let unit = if max == 1 { "item" } else { "items" };
        errors.push(
            path,
            "FieldValueTooMany",
            format!("Too many: {count}: must have at most {max} {unit}"),
        );
    }
    if let Some(min) = schema_count(schema, "minProperties")
        && count < min
    {
        errors.invalid(
            path,
            &count.to_string(),
            &format!("should have at least {min} properties"),
        );
    }
    for (key, v) in o {
        if root && matches!(key.as_str(), "metadata" | "apiVersion" | "kind") {
            continue;
        }
        if let Some(s) = property(schema, key) {
            let old_v = old.and_then(|o| o.get(key));
            validate_node(v, s, &child(path, key), false, old_v, errors);
        }
    }
    if let Some(Value::Array(required)) = schema.get("required") {
        for key in required.iter().filter_map(Value::as_str) {
            if !o.contains_key(key) {
                errors.push(
                    &child(path, key),
                    "FieldValueRequired",
                    "Required value".into(),
                );
            }
        }
    }
    if is_true(schema, "x-kubernetes-embedded-resource") {
        for key in ["apiVersion", "kind"] {
            if o.get(key).and_then(Value::as_str).is_none_or(str::is_empty) {
                errors.push(
                    &child(path, key),
                    "FieldValueRequired",
                    "Required value".into(),
                );
            }
        }
    }
}

/// The message of a 422 for `causes` on `<Kind>.<group> "<name>"`, as apimachinery joins them.
pub(crate) fn invalid_message(qualified_kind: &str, name: &str, causes: &[InvalidCause]) -> String {
    let parts: Vec<String> = causes
        .iter()
        .map(|c| {
            if c.field.is_empty() {
                c.message.clone()
            } else {
                format!("{}: {}", c.field, c.message)
            }
        })
        .collect();
    let joined = if parts.len() == 1 {
        parts.concat()
    } else {
        format!("[{}]", parts.join(", "))
    };
    format!("{qualified_kind} {} is invalid: {joined}", quote(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn no_meta(_: &mut Value, _: &str, _: &mut Vec<String>) {}

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string", "minLength": 2, "maxLength": 5, "pattern": "^[a-z]+$"},
                        "count": {"type": "integer", "minimum": 1, "maximum": 10},
                        "ratio": {"type": "number", "minimum": 0, "exclusiveMinimum": true},
                        "mode": {"type": "string", "enum": ["fast", "slow"]},
                        "tags": {"type": "array", "minItems": 1, "maxItems": 2, "items": {"type": "string"}},
                        "port": {"x-kubernetes-int-or-string": true},
                        "maybe": {"type": "string", "nullable": true},
                        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                        "items": {"type": "array", "items": {"type": "object", "required": ["key"],
                            "properties": {"key": {"type": "string"}, "value": {"type": "integer"}}}},
                        "template": {"type": "object", "x-kubernetes-embedded-resource": true,
                            "properties": {"spec": {"type": "object", "properties": {"a": {"type": "string"}}}}},
                        "withDefault": {"type": "string", "default": "d"},
                    }
                },
                "status": {"type": "object", "properties": {"phase": {"type": "string"}}}
            }
        })
    }

    fn messages(object: Value) -> Vec<String> {
        let mut causes: Vec<String> = validate(&object, &schema(), None)
            .into_iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect();
        causes.sort();
        causes
    }

    #[test]
    fn messages_are_kube_apiservers() {
        let got = messages(json!({"spec": {
            "name": "A", "count": "x", "ratio": 0, "mode": "m", "tags": [], "port": 1.5,
            "labels": {"a": 1}, "items": [{"value": "v"}], "template": {"spec": {"a": 1}},
        }}));
        let want = [
            "spec.count: Invalid value: \"string\": spec.count in body must be of type integer: \"string\"",
            "spec.items[0].key: Required value",
            "spec.items[0].value: Invalid value: \"string\": spec.items[0].value in body must be of type integer: \"string\"",
            "spec.labels.a: Invalid value: \"integer\": spec.labels.a in body must be of type string: \"integer\"",
            "spec.mode: Unsupported value: \"m\": supported values: \"fast\", \"slow\"",
            "spec.name: Invalid value: \"A\": spec.name in body should be at least 2 chars long",
            "spec.port: Invalid value: \"number\": spec.port in body must be of type integer,string: \"number\"",
            "spec.ratio: Invalid value: 0: spec.ratio in body should be greater than 0",
            "spec.tags: Invalid value: 0: spec.tags in body should have at least 1 items",
            "spec.template.apiVersion: Required value",
            "spec.template.kind: Required value",
            "spec.template.spec.a: Invalid value: \"integer\": spec.template.spec.a in body must be of type string: \"integer\"",
        ];
        assert_eq!(got, want);
        let got =
            messages(json!({"spec": {"name": "abcdefg", "count": 11, "tags": ["a", "b", "c"]}}));
        assert_eq!(
            got,
            [
                "spec.count: Invalid value: 11: spec.count in body should be less than or equal to 10",
                "spec.name: Too long: may not be more than 5 bytes",
                "spec.tags: Too many: 3: must have at most 2 items",
            ]
        );
        let got = messages(json!({"spec": {"name": "ab1", "count": 0, "ratio": -1.5}}));
        assert_eq!(
            got,
            [
                "spec.count: Invalid value: 0: spec.count in body should be greater than or equal to 1",
                "spec.name: Invalid value: \"ab1\": spec.name in body should match '^[a-z]+$'",
                "spec.ratio: Invalid value: -1.5: spec.ratio in body should be greater than 0",
            ]
        );
    }

    #[test]
    fn pruning_keeps_what_the_schema_knows() {
        let mut object = json!({
            "apiVersion": "x/v1", "kind": "K", "metadata": {"name": "a"}, "top": 1,
            "spec": {"name": "ab", "foo": 1, "free": {"x": {"y": 1}}, "labels": {"k": "v"},
                     "items": [{"key": "k", "zz": 1}],
                     "template": {"apiVersion": "v1", "kind": "X", "metadata": {}, "junk": 2}},
        });
        let pruned = prune(&mut object, &schema(), &no_meta);
        assert_eq!(
            pruned,
            ["spec.foo", "spec.items[0].zz", "spec.template.junk", "top"]
        );
        assert_eq!(object["spec"]["free"], json!({"x": {"y": 1}}));
        assert_eq!(object["spec"]["template"]["kind"], "X");
        assert_eq!(object["metadata"]["name"], "a");
    }

    #[test]
    fn defaults_and_nulls() {
        let mut object = json!({"spec": {"name": "ab", "count": null, "maybe": null}});
        default_and_drop_nulls(&mut object, &schema());
        assert_eq!(
            object,
            json!({"spec": {"name": "ab", "maybe": null, "withDefault": "d"}})
        );
    }

    #[test]
    fn ratcheting_skips_unchanged_values() {
        let old = json!({"spec": {"name": "TOOLONGNAME"}});
        let new = json!({"spec": {"name": "TOOLONGNAME"}, "status": {"phase": "x"}});
        assert!(validate(&new, &schema(), Some(&old)).is_empty());
        assert!(!validate(&new, &schema(), None).is_empty());
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-20i64..20).prop_map(|i| json!(i)),
            "[a-z]{0,6}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("spec".to_owned()),
                        Just("name".to_owned()),
                        Just("count".to_owned()),
                        Just("tags".to_owned()),
                        Just("items".to_owned()),
                        Just("key".to_owned()),
                        Just("free".to_owned()),
                        Just("labels".to_owned()),
                        "[a-z]{1,4}",
                    ],
                    inner,
                    0..5
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn pruning_is_idempotent(spec in json_value()) {
            let mut object = json!({"spec": spec});
            prune(&mut object, &schema(), &no_meta);
            let once = object.clone();
            let again = prune(&mut object, &schema(), &no_meta);
            prop_assert!(again.is_empty());
            prop_assert_eq!(object, once);
        }

        #[test]
        fn pruning_never_makes_a_valid_object_invalid(spec in json_value()) {
            let mut object = json!({"spec": spec});
            default_and_drop_nulls(&mut object, &schema());
            let before = validate(&object, &schema(), None).is_empty();
            prune(&mut object, &schema(), &no_meta);
            default_and_drop_nulls(&mut object, &schema());
            if before {
                prop_assert!(validate(&object, &schema(), None).is_empty(), "{}", object);
            }
        }

        #[test]
        fn pruned_objects_only_have_known_fields(spec in json_value()) {
            let mut object = json!({"spec": spec});
            prune(&mut object, &schema(), &no_meta);
            if let Some(Value::Object(spec)) = object.get("spec") {
                let known = schema()["properties"]["spec"]["properties"].clone();
                for key in spec.keys() {
                    prop_assert!(known.get(key).is_some(), "{key} kept");
                }
            }
        }
    }
}
