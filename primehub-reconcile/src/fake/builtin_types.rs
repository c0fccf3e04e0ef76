//! The JSON types of a built-in object's fields, checked as kube-apiserver's decoder checks them.
//!
//! kube-apiserver decodes a body into the Go structs of the kind's API version
//! (`sigs.k8s.io/json`, a fork of Go's `encoding/json`); a value of the wrong JSON type is a
//! 400 `BadRequest` (`Deployment in version "v1" cannot be handled as a Deployment: json: cannot
//! unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32`), and a
//! patch whose result does not decode is the 422 `patch` cause with the same text. The fake
//! walks the object with the kind's OpenAPI v2 definitions (`$ref`, `type`, `format`, `items`,
//! `additionalProperties`) and names what Go names from the Go field types
//! (`openapi/gotypes.json.gz`, written by `tools/gotypes/update.py` from the Go struct tags):
//!
//! - the message is Go's `UnmarshalTypeError`: the JSON value's kind (`string`, `number`,
//!   `bool`, `object`, `array`; `number <literal>` for a fraction or an out-of-range integer),
//!   the innermost Go struct, the field path of JSON names from the root with the names of
//!   inline-embedded structs (`spec.volumes.VolumeSource.hostPath`, no indexes) and the Go type
//!   as reflection prints it (`int32`, `[]v1.Container`, `map[string]string`,
//!   `v1.RestartPolicy`);
//! - Go keeps the first such error and goes on, but the error of a type with its own decoder
//!   stops at once: `resource.Quantity` (a string or number that `ParseQuantity` accepts, else
//!   its own message), `intstr.IntOrString` (a string, or an `int32`), `v1.Time` and
//!   `v1.MicroTime` (RFC 3339 strings, else Go's `time.Parse` message); `[]byte` fields take
//!   base64 (`illegal base64 data at input byte N`, kept like a type error);
//!   `runtime.RawExtension` and `v1.FieldsV1` take anything; `null` is always accepted;
//! - unknown fields are not looked at (the field check, [`super::fields`], answers them).
//!
//! Not checked: CustomResourceDefinitions (their JSON-schema types decode with their own
//! rules) and the order of several type errors in one body (Go reports the first in document
//! order; the fake walks keys in sorted order). A number's literal is re-printed from the parsed
//! value (`1e+30`, `2.0`), which is the literal clients send.

use std::collections::HashMap;
use std::io::Read;
use std::sync::LazyLock;

use serde::Deserialize;
use serde_json::Value;

static GO_TYPES: &[u8] = include_bytes!("openapi/gotypes.json.gz");

/// A struct's fields: JSON name → (Go type, embedded path).
type GoFields = HashMap<String, (String, String)>;

#[derive(Deserialize)]
struct Stored {
    structs: HashMap<String, GoFields>,
}

/// Go field types by OpenAPI definition and JSON field name: (Go type, embedded path).
static STRUCTS: LazyLock<HashMap<String, GoFields>> = LazyLock::new(|| {
    let mut raw = Vec::new();
    // The table is part of the binary and checked by the tests: failing to read it is a
    // build defect, not an input error.
    #[allow(clippy::expect_used)]
    {
        flate2::read::GzDecoder::new(GO_TYPES)
            .read_to_end(&mut raw)
            .expect("the embedded Go type table is valid gzip");
        let stored: Stored =
            serde_json::from_slice(&raw).expect("the embedded Go type table is valid JSON");
        stored.structs
    }
});

const DEFINITIONS: &str = "#/definitions/";
const QUANTITY: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";
const INT_OR_STRING: &str = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
const TIME: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Time";
const MICRO_TIME: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime";
const RFC3339: &str = "2006-01-02T15:04:05Z07:00";
const RFC3339_MICRO: &str = "2006-01-02T15:04:05.000000Z07:00";

/// `ErrFormatWrong` of `resource.ParseQuantity`.
pub(crate) const QUANTITY_FORMAT: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
const QUANTITY_SUFFIX: &str = "unable to parse quantity's suffix";

/// Checks the field types of built-in object `value` of OpenAPI definition `definition` (the
/// kind's, e.g. `io.k8s.api.apps.v1.Deployment`): Go's decode error, if any.
pub(crate) fn check(definition: &str, value: &Value) -> Result<(), String> {
    let mut walk = Walk::default();
    let root = serde_json::json!({ "$ref": format!("{DEFINITIONS}{definition}") });
    let go = short_name(definition);
    match walk.value(value, &root, &go, &Context::default()) {
        Err(abort) => Err(abort),
        Ok(()) => walk.saved.map_or(Ok(()), Err),
    }
}

/// `v1.Deployment` for `io.k8s.api.apps.v1.Deployment`.
fn short_name(definition: &str) -> String {
    let mut parts = definition.rsplitn(3, '.');
    let name = parts.next().unwrap_or("");
    let package = parts.next().unwrap_or("");
    format!("{package}.{name}")
}

/// Where a value sits: the innermost Go struct and the JSON field path from the root.
#[derive(Debug, Clone, Default)]
struct Context {
    structure: String,
    path: Vec<String>,
}

impl Context {
    /// Go's `UnmarshalTypeError` text for a `kind` value at this place, of Go type `go`.
    fn type_error(&self, kind: &str, go: &str) -> String {
        if self.structure.is_empty() && self.path.is_empty() {
            format!("json: cannot unmarshal {kind} into Go value of type {go}")
        } else {
            format!(
                "json: cannot unmarshal {kind} into Go struct field {}.{} of type {go}",
                self.structure,
                self.path.join(".")
            )
        }
    }
}

#[derive(Default)]
struct Walk {
    /// The first error Go keeps and goes on after.
    saved: Option<String>,
}

/// The JSON kind Go names in its messages.
pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A number's literal as a client writes it (`1.5`, `2.0`, `1e+30`).
pub(crate) fn literal(n: &serde_json::Number) -> String {
    let text = n.to_string();
    match text.find('e') {
        Some(i) if !text[i + 1..].starts_with('-') && !text[i + 1..].starts_with('+') => {
            format!("{}e+{}", &text[..i], &text[i + 1..])
        }
        _ => text,
    }
}

/// The element type of a Go slice or map type (`[]v1.Container` → `v1.Container`,
/// `map[string][]uint8` → `[]uint8`); `None` for a named type.
fn element(go: &str) -> Option<&str> {
    if let Some(rest) = go.strip_prefix("[]") {
        return Some(rest);
    }
    let rest = go.strip_prefix("map[")?;
    let mut depth = 1usize;
    for (i, c) in rest.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&rest[i + 1..]);
                }
            }
            _ => {}
        }
    }
    None
}

fn resolve(schema: &Value) -> (Option<&str>, &Value) {
    let doc = super::openapi::kubernetes();
    let mut schema = schema;
    let mut name = None;
    while let Some(r) = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix(DEFINITIONS))
    {
        name = Some(r);
        match doc.definition(r) {
            Some(s) => schema = s,
            None => break,
        }
    }
    (name, schema)
}

impl Walk {
    fn save(&mut self, error: String) {
        if self.saved.is_none() {
            self.saved = Some(error);
        }
    }

    /// Decodes `value` as the Go type `go` described by `schema`; `Err` stops the decoding.
    fn value(
        &mut self,
        value: &Value,
        schema: &Value,
        go: &str,
        at: &Context,
    ) -> Result<(), String> {
        if value.is_null() {
            return Ok(());
        }
        let (name, schema) = resolve(schema);
        match name {
            Some(QUANTITY) => {
                let text = match value {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => literal(n),
                    other => other.to_string(),
                };
                return parse_quantity(text.trim()).map_err(str::to_owned);
            }
            Some(INT_OR_STRING) => {
                return match value {
                    Value::String(_) => Ok(()),
                    Value::Number(n) => int(n, "int32").map_err(|k| at.type_error(&k, "int32")),
                    other => Err(at.type_error(kind_of(other), "int32")),
                };
            }
            Some(TIME | MICRO_TIME) => {
                let layout = if name == Some(TIME) {
                    RFC3339
                } else {
                    RFC3339_MICRO
                };
                return match value {
                    Value::String(s) => parse_time(s, layout),
                    other => Err(at.type_error(kind_of(other), "string")),
                };
            }
            Some(n) if n.ends_with(".RawExtension") || n.ends_with(".FieldsV1") => return Ok(()),
            _ => {}
        }
        if schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true))
            && schema.get("properties").is_none()
        {
            return Ok(());
        }
        let typ = schema.get("type").and_then(Value::as_str).unwrap_or("");
        let format = schema.get("format").and_then(Value::as_str).unwrap_or("");
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            let Value::Object(fields) = value else {
                self.save(at.type_error(kind_of(value), go));
                return Ok(());
            };
            let structure = name
                .map(|n| n.rsplit('.').next().unwrap_or(n))
                .unwrap_or("");
            let table = name.and_then(|n| STRUCTS.get(n));
            for (key, v) in fields {
                let Some(field_schema) = props.get(key) else {
                    continue; // unknown: the field check's
                };
                let (field_go, embedded) = match table.and_then(|t| t.get(key)) {
                    Some((g, e)) => (g.clone(), e.as_str()),
                    None => (go_from_schema(field_schema), ""),
                };
                let mut path = at.path.clone();
                path.extend(
                    embedded
                        .split('.')
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned),
                );
                path.push(key.clone());
                let here = Context {
                    structure: structure.to_owned(),
                    path,
                };
                self.value(v, field_schema, &field_go, &here)?;
            }
            return Ok(());
        }
        match typ {
            "array" => {
                let Value::Array(items) = value else {
                    self.save(at.type_error(kind_of(value), go));
                    return Ok(());
                };
                let item_schema = schema.get("items").cloned().unwrap_or(Value::Null);
                let item_go = element(go)
                    .map(str::to_owned)
                    .unwrap_or_else(|| go_from_schema(&item_schema));
                for item in items {
                    self.value(item, &item_schema, &item_go, at)?;
                }
                Ok(())
            }
            "object" => {
                let Value::Object(entries) = value else {
                    self.save(at.type_error(kind_of(value), go));
                    return Ok(());
                };
                let Some(item_schema) =
                    schema.get("additionalProperties").filter(|a| a.is_object())
                else {
                    return Ok(());
                };
                let item_go = element(go)
                    .map(str::to_owned)
                    .unwrap_or_else(|| go_from_schema(item_schema));
                for item in entries.values() {
                    self.value(item, item_schema, &item_go, at)?;
                }
                Ok(())
            }
            "string" if format == "byte" => {
                match value {
                    Value::String(s) => {
                        if let Err(at_byte) = base64_check(s.as_bytes()) {
                            self.save(format!("illegal base64 data at input byte {at_byte}"));
                        }
                    }
                    // Go decodes an array of numbers into a []byte too.
                    Value::Array(items) => {
                        for item in items {
                            self.value(
                                item,
                                &serde_json::json!({"type": "integer", "format": "uint8"}),
                                "uint8",
                                at,
                            )?;
                        }
                    }
                    other => self.save(at.type_error(kind_of(other), go)),
                }
                Ok(())
            }
            "string" => {
                if !value.is_string() {
                    self.save(at.type_error(kind_of(value), go));
                }
                Ok(())
            }
            "integer" => {
                match value {
                    Value::Number(n) => {
                        if let Err(k) = int(n, go) {
                            self.save(at.type_error(&k, go));
                        }
                    }
                    other => self.save(at.type_error(kind_of(other), go)),
                }
                Ok(())
            }
            "number" => {
                if !value.is_number() {
                    self.save(at.type_error(kind_of(value), go));
                }
                Ok(())
            }
            "boolean" => {
                if !value.is_boolean() {
                    self.save(at.type_error(kind_of(value), go));
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// Checks a strategic-merge-patched built-in object as kube-apiserver converts it: not with
/// the JSON decoder but with `runtime.DefaultUnstructuredConverter.FromUnstructured`, whose
/// first error stops it (`unrecognized type: int32`, `cannot convert float64 to int32`,
/// `cannot restore struct from: slice`, …; types with their own decoder answer as that
/// decoder does, without a field path). Integers are not range-checked (Go converts them).
pub(crate) fn check_converted(definition: &str, value: &Value) -> Result<(), String> {
    let root = serde_json::json!({ "$ref": format!("{DEFINITIONS}{definition}") });
    convert(value, &root)
}

/// The reflect kind name of an unstructured value.
fn unstructured_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "invalid",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.as_f64().is_some_and(|f| f.fract() != 0.0) => "float64",
        Value::Number(_) => "int64",
        Value::String(_) => "string",
        Value::Array(_) => "slice",
        Value::Object(_) => "map",
    }
}

fn convert(value: &Value, schema: &Value) -> Result<(), String> {
    if value.is_null() {
        return Ok(());
    }
    let (name, schema) = resolve(schema);
    let go_json = |v: &Value, go: &str| -> String {
        match v {
            Value::Number(n) => format!(
                "json: cannot unmarshal number {} into Go value of type {go}",
                literal(n)
            ),
            other => format!(
                "json: cannot unmarshal {} into Go value of type {go}",
                kind_of(other)
            ),
        }
    };
    match name {
        Some(QUANTITY) => {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => literal(n),
                other => other.to_string(),
            };
            return parse_quantity(text.trim()).map_err(str::to_owned);
        }
        Some(INT_OR_STRING) => {
            return match value {
                Value::String(_) => Ok(()),
                Value::Number(n) if int(n, "int32").is_ok() => Ok(()),
                other => Err(go_json(other, "int32")),
            };
        }
        Some(TIME | MICRO_TIME) => {
            let layout = if name == Some(TIME) {
                RFC3339
            } else {
                RFC3339_MICRO
            };
            return match value {
                Value::String(s) => parse_time(s, layout),
                other => Err(format!(
                    "json: cannot unmarshal {} into Go value of type string",
                    kind_of(other)
                )),
            };
        }
        Some(n) if n.ends_with(".RawExtension") || n.ends_with(".FieldsV1") => return Ok(()),
        _ => {}
    }
    if schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true))
        && schema.get("properties").is_none()
    {
        return Ok(());
    }
    let kind = unstructured_kind(value);
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        let Value::Object(fields) = value else {
            return Err(format!("cannot restore struct from: {kind}"));
        };
        for (key, v) in fields {
            if let Some(field_schema) = props.get(key) {
                convert(v, field_schema)?;
            }
        }
        return Ok(());
    }
    let format = schema.get("format").and_then(Value::as_str).unwrap_or("");
    match schema.get("type").and_then(Value::as_str).unwrap_or("") {
        "array" => {
            let Value::Array(items) = value else {
                return Err(format!("cannot restore slice from {kind}"));
            };
            let item_schema = schema.get("items").cloned().unwrap_or(Value::Null);
            items.iter().try_for_each(|i| convert(i, &item_schema))
        }
        "object" => {
            let Value::Object(entries) = value else {
                return Err(format!("cannot restore map from {kind}"));
            };
            match schema.get("additionalProperties").filter(|a| a.is_object()) {
                Some(item_schema) => entries.values().try_for_each(|i| convert(i, item_schema)),
                None => Ok(()),
            }
        }
        "string" if format == "byte" => match value {
            Value::String(s) => base64_check(s.as_bytes())
                .map_err(|at| format!("illegal base64 data at input byte {at}")),
            Value::Array(_) => Ok(()),
            _ => Err(format!("cannot restore slice from {kind}")),
        },
        "string" => match kind {
            "string" => Ok(()),
            "int64" => Err("cannot convert int64 to string".into()),
            _ => Err("unrecognized type: string".into()),
        },
        "integer" => {
            let go = if format == "int32" { "int32" } else { "int64" };
            match kind {
                "int64" => Ok(()),
                "float64" => Err(format!("cannot convert float64 to {go}")),
                _ => Err(format!("unrecognized type: {go}")),
            }
        }
        "number" => match kind {
            "int64" | "float64" => Ok(()),
            _ => Err("unrecognized type: float64".into()),
        },
        "boolean" => match kind {
            "bool" => Ok(()),
            _ => Err("unrecognized type: bool".into()),
        },
        _ => Ok(()),
    }
}

/// Go's `fmt.Sprintf("%+v", …)` of a decoded JSON value (`map[spec:map[replicas:x]]`).
pub(crate) fn go_format(value: &Value) -> String {
    match value {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (_, Some(u), _) => u.to_string(),
            (_, _, Some(f)) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
            _ => literal(n),
        },
        Value::String(s) => s.clone(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(go_format).collect::<Vec<_>>().join(" ")
        ),
        Value::Object(map) => format!(
            "map[{}]",
            map.iter()
                .map(|(k, v)| format!("{k}:{}", go_format(v)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    }
}

/// An integer Go type's check of a JSON number: `Err("number <literal>")` when it has a
/// fraction or exponent or does not fit.
fn int(n: &serde_json::Number, go: &str) -> Result<(), String> {
    let (min, max): (i128, i128) = match go {
        "int32" => (i32::MIN.into(), i32::MAX.into()),
        "uint8" => (0, 255),
        "uint32" => (0, u32::MAX.into()),
        "uint64" => (0, u64::MAX.into()),
        "int" | "int64" => (i64::MIN.into(), i64::MAX.into()),
        _ => (i64::MIN.into(), i64::MAX.into()),
    };
    let whole = n
        .as_i64()
        .map(i128::from)
        .or_else(|| n.as_u64().map(i128::from));
    match whole {
        Some(v) if v >= min && v <= max => Ok(()),
        _ => Err(format!("number {}", literal(n))),
    }
}

/// The Go type of a field the table does not list, from its schema.
fn go_from_schema(schema: &Value) -> String {
    let (name, schema) = resolve(schema);
    if let Some(n) = name {
        return short_name(n);
    }
    let format = schema.get("format").and_then(Value::as_str).unwrap_or("");
    match schema.get("type").and_then(Value::as_str).unwrap_or("") {
        "string" if format == "byte" => "[]uint8".into(),
        "string" => "string".into(),
        "boolean" => "bool".into(),
        "integer" if format == "int32" => "int32".into(),
        "integer" => "int64".into(),
        "number" => "float64".into(),
        "array" => format!(
            "[]{}",
            go_from_schema(schema.get("items").unwrap_or(&Value::Null))
        ),
        "object" => match schema.get("additionalProperties") {
            Some(a) if a.is_object() => format!("map[string]{}", go_from_schema(a)),
            _ => "map[string]interface {}".into(),
        },
        _ => "interface {}".into(),
    }
}

/// `resource.ParseQuantity`: `Ok` or its error message.
pub(crate) fn parse_quantity(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err(QUANTITY_FORMAT);
    }
    if s == "0" {
        return Ok(());
    }
    let b = s.as_bytes();
    let end = b.len();
    let mut pos = 0;
    if matches!(b[0], b'-' | b'+') {
        pos += 1;
    }
    while pos < end && b[pos] == b'0' {
        pos += 1;
    }
    if pos >= end {
        return Ok(()); // all zeros
    }
    while pos < end && b[pos].is_ascii_digit() {
        pos += 1;
    }
    if pos >= end {
        return Ok(());
    }
    if b[pos] == b'.' {
        pos += 1;
        while pos < end && b[pos].is_ascii_digit() {
            pos += 1;
        }
        if pos >= end {
            return Ok(());
        }
    }
    let suffix_start = pos;
    while pos < end && b"eEinumkKMGTP".contains(&b[pos]) {
        pos += 1;
    }
    if pos < end && matches!(b[pos], b'-' | b'+') {
        pos += 1;
    }
    while pos < end {
        if !b[pos].is_ascii_digit() {
            return Err(QUANTITY_FORMAT);
        }
        pos += 1;
    }
    let suffix = &s[suffix_start..];
    let known = matches!(
        suffix,
        "" | "n"
            | "u"
            | "m"
            | "k"
            | "M"
            | "G"
            | "T"
            | "P"
            | "E"
            | "Ki"
            | "Mi"
            | "Gi"
            | "Ti"
            | "Pi"
            | "Ei"
    ) || (suffix.len() > 1
        && (suffix.starts_with('e') || suffix.starts_with('E'))
        && suffix[1..].parse::<i64>().is_ok());
    // (`ErrNumeric` needs 19 digits or more, or a binary suffix with a fraction, and a
    // numeric part `inf.Dec` cannot read: not reached by what a regex-shaped value holds.)
    if known { Ok(()) } else { Err(QUANTITY_SUFFIX) }
}

/// Go's `base64.StdEncoding.Decode` check: `Err(offset)` of a `CorruptInputError`.
pub(crate) fn base64_check(src: &[u8]) -> Result<(), usize> {
    let valid = |c: u8| c.is_ascii_alphanumeric() || c == b'+' || c == b'/';
    let newline = |c: u8| c == b'\n' || c == b'\r';
    let mut si = 0;
    while si < src.len() {
        let mut j = 0;
        while j < 4 {
            if si == src.len() {
                if j == 0 {
                    return Ok(());
                }
                return Err(si - j);
            }
            let c = src[si];
            si += 1;
            if valid(c) {
                j += 1;
                continue;
            }
            if newline(c) {
                continue;
            }
            if c != b'=' {
                return Err(si - 1);
            }
            // padding
            match j {
                0 | 1 => return Err(si - 1),
                2 => {
                    while si < src.len() && newline(src[si]) {
                        si += 1;
                    }
                    if si == src.len() {
                        return Err(src.len());
                    }
                    if src[si] != b'=' {
                        return Err(si - 1);
                    }
                    si += 1;
                }
                _ => {}
            }
            while si < src.len() && newline(src[si]) {
                si += 1;
            }
            if si < src.len() {
                return Err(si);
            }
            return Ok(());
        }
    }
    Ok(())
}

/// Go's `strconv.Quote`-like quoting of the `time` package.
fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `time.Parse(layout, value)` for RFC 3339 (optionally with fixed microseconds): `Ok` or Go's
/// `ParseError` text.
pub(crate) fn parse_time(value: &str, layout: &str) -> Result<(), String> {
    let elements: &[&str] = if layout == RFC3339_MICRO {
        &[
            "2006", "-", "01", "-", "02", "T", "15", ":", "04", ":", "05", ".000000", "Z07:00",
        ]
    } else {
        &[
            "2006", "-", "01", "-", "02", "T", "15", ":", "04", ":", "05", "Z07:00",
        ]
    };
    let cannot = |rest: &str, elem: &str| {
        format!(
            "parsing time {} as {}: cannot parse {} as {}",
            go_quote(value),
            go_quote(layout),
            go_quote(rest),
            go_quote(elem)
        )
    };
    let range = |what: &str| format!("parsing time {}: {what} out of range", go_quote(value));
    let digits =
        |s: &str, n: usize| s.len() >= n && s.as_bytes()[..n].iter().all(u8::is_ascii_digit);
    // getnum(s, fixed): one or two digits.
    let getnum = |s: &str, fixed: bool| -> Option<(u32, usize)> {
        let b = s.as_bytes();
        if !b.first().is_some_and(u8::is_ascii_digit) {
            return None;
        }
        if !b.get(1).is_some_and(u8::is_ascii_digit) {
            if fixed {
                return None;
            }
            return Some((u32::from(b[0] - b'0'), 1));
        }
        Some((u32::from(b[0] - b'0') * 10 + u32::from(b[1] - b'0'), 2))
    };
    let mut rest = value;
    let (mut year, mut month, mut day) = (0i64, 0u32, 0u32);
    for (i, elem) in elements.iter().enumerate() {
        let hold = rest;
        let bad = || cannot(hold, elem);
        match *elem {
            "2006" => {
                if !digits(rest, 4) {
                    return Err(bad());
                }
                year = rest[..4].parse().map_err(|_| bad())?;
                rest = &rest[4..];
            }
            "01" | "02" | "04" | "05" | "15" => {
                let (n, used) = getnum(rest, *elem != "15").ok_or_else(bad)?;
                rest = &rest[used..];
                match *elem {
                    "01" if !(1..=12).contains(&n) => return Err(range("month")),
                    "01" => month = n,
                    "02" => day = n,
                    "15" if n >= 24 => return Err(range("hour")),
                    "04" if n >= 60 => return Err(range("minute")),
                    "05" if n >= 60 => return Err(range("second")),
                    _ => {}
                }
                if *elem == "05" && elements.get(i + 1) == Some(&"Z07:00") {
                    // a fraction the layout does not name is accepted
                    let b = rest.as_bytes();
                    if b.len() >= 2 && matches!(b[0], b'.' | b',') && b[1].is_ascii_digit() {
                        let n = 2 + b[2..].iter().take_while(|c| c.is_ascii_digit()).count();
                        rest = &rest[n..];
                    }
                }
            }
            ".000000" => {
                let b = rest.as_bytes();
                if b.len() < 7 || !matches!(b[0], b'.' | b',') || !digits(&rest[1..], 6) {
                    return Err(bad());
                }
                rest = &rest[7..];
            }
            "Z07:00" => {
                if let Some(r) = rest.strip_prefix('Z') {
                    rest = r;
                    continue;
                }
                let b = rest.as_bytes();
                if b.len() < 6
                    || b[3] != b':'
                    || !matches!(b[0], b'+' | b'-')
                    || !digits(&rest[1..], 2)
                    || !digits(&rest[4..], 2)
                {
                    return Err(bad());
                }
                let (hh, mm) = (
                    u32::from(b[1] - b'0') * 10 + u32::from(b[2] - b'0'),
                    u32::from(b[4] - b'0') * 10 + u32::from(b[5] - b'0'),
                );
                if hh > 24 {
                    return Err(range("time zone offset hour"));
                }
                if mm > 60 {
                    return Err(range("time zone offset minute"));
                }
                rest = &rest[6..];
            }
            literal => match rest.strip_prefix(literal) {
                Some(r) => rest = r,
                None => return Err(bad()),
            },
        }
    }
    if !rest.is_empty() {
        return Err(format!(
            "parsing time {}: extra text: {}",
            go_quote(value),
            go_quote(rest)
        ));
    }
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if day < 1 || day > days {
        return Err(format!(
            "parsing time {}: day out of range",
            go_quote(value)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn deployment(spec: Value) -> Value {
        json!({"metadata": {"name": "d"}, "spec": spec})
    }

    fn pod_check(spec: Value) -> Result<(), String> {
        check(
            "io.k8s.api.core.v1.Pod",
            &json!({"metadata": {"name": "p"}, "spec": spec}),
        )
    }

    /// Every message below was answered by kube-apiserver v1.37.2 for the same body.
    #[test]
    fn messages_are_go_decoders() {
        let d = |spec| check("io.k8s.api.apps.v1.Deployment", &deployment(spec));
        let prefix = "json: cannot unmarshal ";
        assert_eq!(
            d(json!({"replicas": "three"})).err().as_deref(),
            Some(
                "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"
            )
        );
        for (v, kind) in [
            (json!(1.5), "number 1.5"),
            (json!(2.0), "number 2.0"),
            (json!(3_000_000_000_i64), "number 3000000000"),
            (json!(true), "bool"),
            (json!({}), "object"),
            (json!([]), "array"),
        ] {
            assert_eq!(
                d(json!({ "replicas": v })).err(),
                Some(format!(
                    "{prefix}{kind} into Go struct field DeploymentSpec.spec.replicas of type int32"
                ))
            );
        }
        assert_eq!(d(json!({"replicas": null})), Ok(()));
        assert_eq!(
            d(json!({"selector": []})).err().as_deref(),
            Some(
                "json: cannot unmarshal array into Go struct field DeploymentSpec.spec.selector of type v1.LabelSelector"
            )
        );
        let cases = [
            (
                json!({"containers": [{"name": 5}]}),
                "number into Go struct field Container.spec.containers.name of type string",
            ),
            (
                json!({"containers": [{"name": "c", "ports": {}}]}),
                "object into Go struct field Container.spec.containers.ports of type []v1.ContainerPort",
            ),
            (
                json!({"containers": [{"name": "c", "ports": [{"containerPort": "80"}]}]}),
                "string into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32",
            ),
            (
                json!({"containers": [{"name": "c", "args": "x"}]}),
                "string into Go struct field Container.spec.containers.args of type []string",
            ),
            (
                json!({"containers": [{"name": "c", "args": [1]}]}),
                "number into Go struct field Container.spec.containers.args of type string",
            ),
            (
                json!({"containers": {}}),
                "object into Go struct field PodSpec.spec.containers of type []v1.Container",
            ),
            (
                json!({"containers": [5]}),
                "number into Go struct field PodSpec.spec.containers of type v1.Container",
            ),
            (
                json!({"nodeSelector": []}),
                "array into Go struct field PodSpec.spec.nodeSelector of type map[string]string",
            ),
            (
                json!({"nodeSelector": {"a": 1}}),
                "number into Go struct field PodSpec.spec.nodeSelector of type string",
            ),
            (
                json!({"hostNetwork": "true"}),
                "string into Go struct field PodSpec.spec.hostNetwork of type bool",
            ),
            (
                json!({"activeDeadlineSeconds": 1e30}),
                "number 1e+30 into Go struct field PodSpec.spec.activeDeadlineSeconds of type int64",
            ),
            (
                json!({"securityContext": {"runAsUser": -1.0}}),
                "number -1.0 into Go struct field PodSecurityContext.spec.securityContext.runAsUser of type int64",
            ),
            (
                json!({"containers": [{"name": "c", "resources": {"limits": []}}]}),
                "array into Go struct field ResourceRequirements.spec.containers.resources.limits of type v1.ResourceList",
            ),
            (
                json!({"containers": [{"name": "c", "livenessProbe": {"httpGet": {"port": true}}}]}),
                "bool into Go struct field HTTPGetAction.spec.containers.livenessProbe.ProbeHandler.httpGet.port of type int32",
            ),
            (
                json!({"containers": [{"name": "c", "livenessProbe": {"httpGet": {"port": 1.5}}}]}),
                "number 1.5 into Go struct field HTTPGetAction.spec.containers.livenessProbe.ProbeHandler.httpGet.port of type int32",
            ),
            (
                json!({"volumes": [{"name": "v", "hostPath": 5}]}),
                "number into Go struct field Volume.spec.volumes.VolumeSource.hostPath of type v1.HostPathVolumeSource",
            ),
            (
                json!({"containers": [{"name": "c", "env": [{"name": "A", "value": 5}]}]}),
                "number into Go struct field EnvVar.spec.containers.env.value of type string",
            ),
        ];
        for (spec, want) in cases {
            assert_eq!(
                pod_check(spec.clone()).err(),
                Some(format!("{prefix}{want}")),
                "{spec}"
            );
        }
        // The first error Go keeps is the one reported, unless a custom decoder stops it.
        assert_eq!(
            pod_check(json!({"hostNetwork": "x", "activeDeadlineSeconds": "5"})).err(),
            Some(format!(
                "{prefix}string into Go struct field PodSpec.spec.activeDeadlineSeconds of type int64"
            ))
        );
        assert_eq!(
            pod_check(json!({"hostNetwork": "x", "containers": [{"name": "c", "resources": {"limits": {"cpu": "abc"}}}]})).err().as_deref(),
            Some(QUANTITY_FORMAT)
        );
        for bad in [json!({}), json!("abc"), json!(true), json!([])] {
            assert_eq!(
                pod_check(
                    json!({"containers": [{"name": "c", "resources": {"limits": {"cpu": bad}}}]})
                )
                .err()
                .as_deref(),
                Some(QUANTITY_FORMAT)
            );
        }
        assert_eq!(
            pod_check(
                json!({"containers": [{"name": "c", "image": "i", "resources": {"limits": {"cpu": 1.5}}}]})
            ),
            Ok(())
        );
        let meta = |m: Value| check("io.k8s.api.core.v1.Pod", &json!({"metadata": m}));
        assert_eq!(
            meta(json!({"labels": []})).err(),
            Some(format!(
                "{prefix}array into Go struct field ObjectMeta.metadata.labels of type map[string]string"
            ))
        );
        assert_eq!(
            meta(json!({"creationTimestamp": 5})).err(),
            Some(format!(
                "{prefix}number into Go struct field ObjectMeta.metadata.creationTimestamp of type string"
            ))
        );
        assert_eq!(
            meta(json!({"creationTimestamp": "bad"})).err().as_deref(),
            Some(
                "parsing time \"bad\" as \"2006-01-02T15:04:05Z07:00\": cannot parse \"bad\" as \"2006\""
            )
        );
        assert_eq!(
            meta(json!({"ownerReferences": [{"controller": "yes"}]})).err(),
            Some(format!(
                "{prefix}string into Go struct field OwnerReference.metadata.ownerReferences.controller of type bool"
            ))
        );
        assert_eq!(
            check("io.k8s.api.core.v1.Pod", &json!({"spec": 5})).err(),
            Some(format!(
                "{prefix}number into Go struct field Pod.spec of type v1.PodSpec"
            ))
        );
        assert_eq!(
            check("io.k8s.api.core.v1.Pod", &json!({"status": 7})).err(),
            Some(format!(
                "{prefix}number into Go struct field Pod.status of type v1.PodStatus"
            ))
        );
        let svc = |port: Value| {
            check(
                "io.k8s.api.core.v1.Service",
                &json!({"spec": {"ports": [{"port": 80, "targetPort": port}]}}),
            )
        };
        assert_eq!(svc(json!("http")), Ok(()));
        assert_eq!(svc(json!(8080)), Ok(()));
        assert_eq!(
            svc(json!(true)).err(),
            Some(format!(
                "{prefix}bool into Go struct field ServicePort.spec.ports.targetPort of type int32"
            ))
        );
        assert_eq!(
            svc(json!(1.5)).err(),
            Some(format!(
                "{prefix}number 1.5 into Go struct field ServicePort.spec.ports.targetPort of type int32"
            ))
        );
        let cm = check("io.k8s.api.core.v1.ConfigMap", &json!({"data": {"a": 1}}));
        assert_eq!(
            cm.err(),
            Some(format!(
                "{prefix}number into Go struct field ConfigMap.data of type string"
            ))
        );
        let secret = |data: Value| check("io.k8s.api.core.v1.Secret", &json!({ "data": data }));
        assert_eq!(
            secret(json!({"a": "!!"})).err().as_deref(),
            Some("illegal base64 data at input byte 0")
        );
        assert_eq!(
            secret(json!({"a": 5})).err(),
            Some(format!(
                "{prefix}number into Go struct field Secret.data of type []uint8"
            ))
        );
        assert_eq!(secret(json!({"a": "aGk=", "b": ""})), Ok(()));
    }

    #[test]
    fn named_go_types_come_from_the_table() {
        let err = pod_check(json!({"restartPolicy": 5})).err();
        assert_eq!(
            err.as_deref(),
            Some(
                "json: cannot unmarshal number into Go struct field PodSpec.spec.restartPolicy of type v1.RestartPolicy"
            )
        );
        let err = check(
            "io.k8s.api.core.v1.PersistentVolumeClaim",
            &json!({"spec": {"accessModes": [1]}}),
        )
        .err();
        assert_eq!(
            err.as_deref(),
            Some(
                "json: cannot unmarshal number into Go struct field PersistentVolumeClaimSpec.spec.accessModes of type v1.PersistentVolumeAccessMode"
            )
        );
    }

    #[test]
    fn quantities_parse_as_kubernetes() {
        for ok in [
            "0", "1", "1.5", "100m", "1Gi", "1e3", "1E3", "-1", "+2k", ".5", "1.", "0.000", "5e-3",
            "1Ei", "1E",
        ] {
            assert_eq!(parse_quantity(ok), Ok(()), "{ok}");
        }
        assert_eq!(parse_quantity(""), Err(QUANTITY_FORMAT));
        assert_eq!(parse_quantity("abc"), Err(QUANTITY_FORMAT));
        assert_eq!(parse_quantity("1 Gi"), Err(QUANTITY_FORMAT));
        assert_eq!(parse_quantity("1Gb"), Err(QUANTITY_FORMAT));
        assert_eq!(parse_quantity("1Mii"), Err(QUANTITY_SUFFIX));
        assert_eq!(parse_quantity("1iM"), Err(QUANTITY_SUFFIX));
        assert_eq!(parse_quantity("true"), Err(QUANTITY_FORMAT));
    }

    #[test]
    fn base64_as_go() {
        assert_eq!(base64_check(b""), Ok(()));
        assert_eq!(base64_check(b"aGk="), Ok(()));
        assert_eq!(base64_check(b"aGVsbG8="), Ok(()));
        assert_eq!(base64_check(b"aGVs\nbG8="), Ok(()));
        assert_eq!(base64_check(b"!!"), Err(0));
        assert_eq!(base64_check(b"aGk"), Err(0));
        assert_eq!(base64_check(b"aGVsbG8"), Err(4));
        assert_eq!(base64_check(b"aGk=x"), Err(4));
        assert_eq!(base64_check(b"a==="), Err(1));
        assert_eq!(base64_check(b"aG=="), Ok(()));
        assert_eq!(base64_check(b"aG="), Err(3));
    }

    #[test]
    fn times_as_go() {
        for ok in [
            "2024-02-29T10:00:00Z",
            "2024-01-01T00:00:00+08:00",
            "2024-01-01T00:00:00.123Z",
        ] {
            assert_eq!(parse_time(ok, RFC3339), Ok(()), "{ok}");
        }
        assert_eq!(
            parse_time("2024-01-01T00:00:00.123456Z", RFC3339_MICRO),
            Ok(())
        );
        let layout = "\"2006-01-02T15:04:05Z07:00\"";
        assert_eq!(
            parse_time("2024-13-01T00:00:00Z", RFC3339).err().as_deref(),
            Some("parsing time \"2024-13-01T00:00:00Z\": month out of range")
        );
        assert_eq!(
            parse_time("2023-02-29T00:00:00Z", RFC3339).err().as_deref(),
            Some("parsing time \"2023-02-29T00:00:00Z\": day out of range")
        );
        assert_eq!(
            parse_time("2024-01-01", RFC3339).err(),
            Some(format!(
                "parsing time \"2024-01-01\" as {layout}: cannot parse \"\" as \"T\""
            ))
        );
        assert_eq!(
            parse_time("2024-01-01T00:00:00", RFC3339).err(),
            Some(format!(
                "parsing time \"2024-01-01T00:00:00\" as {layout}: cannot parse \"\" as \"Z07:00\""
            ))
        );
        assert_eq!(
            parse_time("2024-01-01T00:00:00Zx", RFC3339)
                .err()
                .as_deref(),
            Some("parsing time \"2024-01-01T00:00:00Zx\": extra text: \"x\"")
        );
    }

    /// kube-apiserver v1.37.2's answers to strategic merge patches of a Deployment.
    #[test]
    fn strategic_patch_results_convert_as_go() {
        let d = |spec: Value| check_converted("io.k8s.api.apps.v1.Deployment", &deployment(spec));
        assert_eq!(
            d(json!({"replicas": "x"})).err().as_deref(),
            Some("unrecognized type: int32")
        );
        assert_eq!(
            d(json!({"replicas": 1.5})).err().as_deref(),
            Some("cannot convert float64 to int32")
        );
        assert_eq!(d(json!({"replicas": 2.0})), Ok(()));
        assert_eq!(
            d(json!({"selector": []})).err().as_deref(),
            Some("cannot restore struct from: slice")
        );
        assert_eq!(
            d(json!({"template": {"metadata": {"labels": []}}}))
                .err()
                .as_deref(),
            Some("cannot restore map from slice")
        );
        assert_eq!(
            d(json!({"template": {"spec": {"containers": {}}}}))
                .err()
                .as_deref(),
            Some("cannot restore slice from map")
        );
        assert_eq!(
            d(json!({"template": {"spec": {"containers": [{"name": 5}]}}}))
                .err()
                .as_deref(),
            Some("cannot convert int64 to string")
        );
        assert_eq!(
            d(json!({"paused": "yes"})).err().as_deref(),
            Some("unrecognized type: bool")
        );
        assert_eq!(
            go_format(&json!({"spec": {"replicas": "x", "b": [1, 1.5, null, true]}})),
            "map[spec:map[b:[1 1.5 <nil> true] replicas:x]]"
        );
    }

    proptest! {
        /// Go's base64 accepts exactly the padded standard encoding (no newlines here).
        #[test]
        fn base64_agrees_with_an_encoder(data in proptest::collection::vec(any::<u8>(), 0..40)) {
            use base64::Engine as _;
            let text = base64::engine::general_purpose::STANDARD.encode(&data);
            prop_assert_eq!(base64_check(text.as_bytes()), Ok(()));
            if !text.is_empty() {
                let cut = &text.as_bytes()[..text.len() - 1];
                prop_assert!(base64_check(cut).is_err());
            }
        }

        /// Any integer with a valid suffix parses; a letter outside the suffix alphabet does not.
        #[test]
        fn quantity_numbers(n in -1_000_000i64..1_000_000, suffix in "(|m|k|Ki|Mi|Gi|M|G)") {
            let text = format!("{n}{suffix}");
            prop_assert_eq!(parse_quantity(&text), Ok(()));
            let bad = format!("{n}{suffix}x");
            prop_assert!(parse_quantity(&bad).is_err());
        }

        /// Well-formed timestamps parse.
        #[test]
        fn times_parse(y in 1970u32..2100, mo in 1u32..13, d in 1u32..29, h in 0u32..24, mi in 0u32..60, s in 0u32..60) {
            let t = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z");
            prop_assert_eq!(parse_time(&t, RFC3339), Ok(()));
        }
    }
}
