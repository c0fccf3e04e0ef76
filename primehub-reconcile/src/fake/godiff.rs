//! kube-apiserver's `diff.Diff` (`k8s.io/apimachinery/pkg/util/diff`) of two specs, the text a
//! forbidden pod, PVC or PV spec change appends to its message: `json.MarshalIndent(x, "", " ")` of
//! the **internal** Go structs (`k8s.io/kubernetes/pkg/apis/core`: no JSON tags, so Go field
//! names in declaration order, every field written, zero values too — `null` for a nil slice,
//! map or pointer, `""`, `0`, `false` — embedded structs flattened as `encoding/json` does,
//! `resource.Quantity`, `metav1.Time` and `intstr.IntOrString` through their `MarshalJSON`), then
//! go-difflib's unified diff of the two texts' lines with 3 lines of context ([`difflib`]).
//!
//! The fake stores v1 JSON; [`render`] walks the layout of the internal structs
//! (`godiff/layout.json.gz`, written by `tools/internal-layout` with Go reflection over
//! k8s.io/kubernetes v1.37.2: per struct its fields in `encoding/json`'s order, the key Go writes,
//! where the value sits in the v1 JSON and its type). In v1.37 the v1 → internal conversion of
//! these specs is a plain memory copy (same fields, same order); what differs is only the
//! names: Go field names instead of JSON names (`DeprecatedServiceAccount` is v1's
//! `serviceAccount`, `DataDiskURI` is `diskURI`, …), and `core.PersistentVolumeClaimTemplate`
//! embeds `metav1.ObjectMeta`, so an ephemeral volume's claim template writes `name`,
//! `labels`, … (with their `omitempty`) beside `Spec`.
//!
//! [`semantic_eq`] is `apiequality.Semantic.DeepEqual` over the same layout: an empty list or map
//! equals a missing one, quantities compare by value.

mod difflib;

use std::collections::HashMap;
use std::io::Read;
use std::sync::LazyLock;

use serde::Deserialize;
use serde_json::Value;

use super::quantity::Quantity;

static LAYOUT: &[u8] = include_bytes!("godiff/layout.json.gz");

/// A struct field: (key Go writes, dotted path of the v1 JSON keys, type, flags).
type Field = (String, String, String, u8);

const OMIT_EMPTY: u8 = 1;
const OMIT_ZERO: u8 = 2;

#[derive(Deserialize)]
struct Layout {
    roots: HashMap<String, String>,
    structs: HashMap<String, Vec<Field>>,
}

static STRUCTS: LazyLock<Layout> = LazyLock::new(|| {
    let mut raw = Vec::new();
    // The layout is part of the binary and checked by the tests: failing to read it is a build
    // defect, not an input error.
    #[allow(clippy::expect_used)]
    {
        flate2::read::GzDecoder::new(LAYOUT)
            .read_to_end(&mut raw)
            .expect("the embedded struct layout is valid gzip");
        serde_json::from_slice(&raw).expect("the embedded struct layout is valid JSON")
    }
});

/// The specs whose changes kube-apiserver shows as a diff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Root {
    /// `core.PodSpec`.
    PodSpec,
    /// `core.PersistentVolumeClaimSpec`.
    PersistentVolumeClaimSpec,
    /// `core.PersistentVolumeSource` (inlined in a v1 PersistentVolume's spec: render the
    /// spec).
    PersistentVolumeSource,
}

impl Root {
    fn struct_name(self) -> Option<&'static str> {
        let name = match self {
            Root::PodSpec => "PodSpec",
            Root::PersistentVolumeClaimSpec => "PersistentVolumeClaimSpec",
            Root::PersistentVolumeSource => "PersistentVolumeSource",
        };
        STRUCTS.roots.get(name).map(String::as_str)
    }
}

/// A value as Go's encoder writes it, before indentation.
#[derive(Debug, Clone, PartialEq)]
enum Go {
    /// `null`, a number, `true`/`false` or a quoted string: written as is.
    Raw(String),
    Object(Vec<(String, Go)>),
    Array(Vec<Go>),
}

const NULL: &str = "null";

fn null() -> Go {
    Go::Raw(NULL.to_owned())
}

/// How values are read: to write them (`MarshalIndent`) or to compare them
/// (`Semantic.DeepEqual`: empty lists and maps are nil, quantities are their values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Marshal,
    Semantic,
}

/// Go's `appendString` with HTML escaping (`json.Marshal`'s default).
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The value at a dotted path of keys (`metadata.name`); `None` for a missing or null one
/// (Go decodes `null` into the zero value).
fn at<'v>(object: Option<&'v Value>, path: &str) -> Option<&'v Value> {
    let mut v = object?;
    for key in path.split('.') {
        v = v.get(key)?;
    }
    (!v.is_null()).then_some(v)
}

/// Whether `omitempty` leaves the field out: false, 0, "", nil, an empty list or map.
fn empty(ty: &str, v: Option<&Value>) -> bool {
    let Some(v) = v else {
        // Missing: the zero value, empty unless it is a struct (never empty) or a Quantity.
        return !is_struct(ty) && !matches!(ty, "Quantity" | "Time" | "IntOrString");
    };
    match v {
        Value::Bool(b) => !b && ty == "bool",
        Value::Number(n) => ty == "int" && n.as_f64() == Some(0.0),
        Value::String(s) => ty == "string" && s.is_empty(),
        Value::Array(a) => a.is_empty() && ty.starts_with("[]"),
        Value::Object(o) => o.is_empty() && ty.starts_with("map["),
        Value::Null => true,
    }
}

fn is_struct(ty: &str) -> bool {
    STRUCTS.structs.contains_key(ty)
}

/// The Go value of type `ty` for v1 JSON `v` (`None`: missing or null).
fn value(ty: &str, v: Option<&Value>, mode: Mode) -> Go {
    if let Some(elem) = ty.strip_prefix('*') {
        return match v {
            None => null(),
            Some(v) => value(elem, Some(v), mode),
        };
    }
    if let Some(elem) = ty.strip_prefix("[]") {
        return match v {
            Some(Value::Array(items)) if !(mode == Mode::Semantic && items.is_empty()) => {
                Go::Array(
                    items
                        .iter()
                        .map(|i| value(elem, nonnull(i), mode))
                        .collect(),
                )
            }
            _ => null(),
        };
    }
    if let Some(elem) = ty.strip_prefix("map[string]") {
        return match v {
            Some(Value::Object(map)) if !(mode == Mode::Semantic && map.is_empty()) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                Go::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), value(elem, map.get(k).and_then(nonnull), mode)))
                        .collect(),
                )
            }
            _ => null(),
        };
    }
    if let Some(fields) = STRUCTS.structs.get(ty) {
        let mut out = Vec::new();
        for (key, v1, fty, flags) in fields {
            let fv = at(v, v1);
            if (flags & OMIT_EMPTY != 0 && empty(fty, fv))
                || (flags & OMIT_ZERO != 0 && fv.is_none())
            {
                continue;
            }
            out.push((key.clone(), value(fty, fv, mode)));
        }
        return Go::Object(out);
    }
    match (ty, v) {
        ("string", None) => Go::Raw("\"\"".to_owned()),
        ("bool", None) => Go::Raw("false".to_owned()),
        ("int" | "float64" | "float32", None) => Go::Raw("0".to_owned()),
        ("Quantity", v) => {
            let text = match v {
                None => "0".to_owned(),
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
            };
            let q = Quantity::parse(&text);
            Go::Raw(match (mode, q) {
                (Mode::Semantic, Some(q)) => q.value_key(),
                (Mode::Marshal, Some(q)) => quote(&q.marshal().unwrap_or(text)),
                (_, None) => quote(&text),
            })
        }
        ("IntOrString", None) => Go::Raw("0".to_owned()),
        ("Time" | "MicroTime" | "Duration" | "FieldsV1" | "bytes", None) => null(),
        (_, Some(v)) => plain(v),
        (_, None) => null(),
    }
}

fn nonnull(v: &Value) -> Option<&Value> {
    (!v.is_null()).then_some(v)
}

/// A JSON value written as it is (strings, numbers, and `FieldsV1`'s raw object).
fn plain(v: &Value) -> Go {
    match v {
        Value::String(s) => Go::Raw(quote(s)),
        Value::Array(items) => Go::Array(items.iter().map(plain).collect()),
        Value::Object(map) => Go::Object(map.iter().map(|(k, v)| (k.clone(), plain(v))).collect()),
        other => Go::Raw(other.to_string()),
    }
}

/// `json.Indent` with prefix "" and indent " ": empty objects and arrays stay `{}`, `[]`.
fn write(v: &Go, depth: usize, out: &mut String) {
    let indent = |out: &mut String, d: usize| {
        out.push('\n');
        out.push_str(&" ".repeat(d));
    };
    match v {
        Go::Raw(s) => out.push_str(s),
        Go::Object(fields) if fields.is_empty() => out.push_str("{}"),
        Go::Array(items) if items.is_empty() => out.push_str("[]"),
        Go::Object(fields) => {
            out.push('{');
            for (n, (k, v)) in fields.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                indent(out, depth + 1);
                out.push_str(&quote(k));
                out.push_str(": ");
                write(v, depth + 1, out);
            }
            indent(out, depth);
            out.push('}');
        }
        Go::Array(items) => {
            out.push('[');
            for (n, v) in items.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                indent(out, depth + 1);
                write(v, depth + 1, out);
            }
            indent(out, depth);
            out.push(']');
        }
    }
}

/// `json.MarshalIndent(x, "", " ")` of the internal struct of `root` that v1 JSON `spec`
/// converts to; `None` if the layout has no such root (a build defect the tests catch).
pub(crate) fn render(root: Root, spec: &Value) -> Option<String> {
    let name = root.struct_name()?;
    let mut out = String::new();
    write(&value(name, nonnull(spec), Mode::Marshal), 0, &mut out);
    Some(out)
}

/// `json.Marshal` (compact) of the internal Go value of layout type `ty` (`map[string]string`,
/// `[]core.NodeSelectorTerm`, `core.NodeSelectorTerm`, …) for v1 JSON `v`: how `field.Invalid`
/// prints a value that is not a string or a number.
pub(crate) fn compact(ty: &str, v: Option<&Value>) -> String {
    let mut out = String::new();
    write_compact(&value(ty, v.and_then(nonnull), Mode::Marshal), &mut out);
    out
}

fn write_compact(v: &Go, out: &mut String) {
    match v {
        Go::Raw(s) => out.push_str(s),
        Go::Object(fields) => {
            out.push('{');
            for (n, (k, v)) in fields.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                out.push_str(&quote(k));
                out.push(':');
                write_compact(v, out);
            }
            out.push('}');
        }
        Go::Array(items) => {
            out.push('[');
            for (n, v) in items.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                write_compact(v, out);
            }
            out.push(']');
        }
    }
}

/// `apiequality.Semantic.DeepEqual` of two internal Go values of layout type `ty`.
pub(crate) fn semantic_eq_type(ty: &str, a: Option<&Value>, b: Option<&Value>) -> bool {
    value(ty, a.and_then(nonnull), Mode::Semantic) == value(ty, b.and_then(nonnull), Mode::Semantic)
}

/// `apiequality.Semantic.DeepEqual` of the internal structs of two v1 specs.
pub(crate) fn semantic_eq(root: Root, a: &Value, b: &Value) -> bool {
    match root.struct_name() {
        Some(name) => {
            value(name, nonnull(a), Mode::Semantic) == value(name, nonnull(b), Mode::Semantic)
        }
        None => a == b,
    }
}

/// `diff.Diff(old, new)` of two v1 specs of `root`, as kube-apiserver appends it to a message.
pub(crate) fn diff(root: Root, old: &Value, new: &Value) -> String {
    let (Some(a), Some(b)) = (render(root, old), render(root, new)) else {
        return String::new();
    };
    difflib::unified_diff(&difflib::split_lines(&a), &difflib::split_lines(&b), 3)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_layout_reads_and_names_its_roots() {
        assert_eq!(Root::PodSpec.struct_name(), Some("core.PodSpec"));
        assert_eq!(
            Root::PersistentVolumeClaimSpec.struct_name(),
            Some("core.PersistentVolumeClaimSpec")
        );
        assert_eq!(
            Root::PersistentVolumeSource.struct_name(),
            Some("core.PersistentVolumeSource")
        );
        // Every type a field names is a struct of the layout or a kind `value` knows.
        for fields in STRUCTS.structs.values() {
            for (_, _, ty, _) in fields {
                let base = ty.trim_start_matches(['*', '[', ']']);
                let base = base.strip_prefix("map[string]").unwrap_or(base);
                let base = base.trim_start_matches(['*', '[', ']']);
                assert!(
                    is_struct(base)
                        || [
                            "string",
                            "bool",
                            "int",
                            "Quantity",
                            "Time",
                            "IntOrString",
                            "FieldsV1",
                            "bytes"
                        ]
                        .contains(&base),
                    "{ty}"
                );
            }
        }
    }

    #[test]
    fn compact_is_json_marshal() {
        assert_eq!(compact("map[string]string", None), "null");
        assert_eq!(
            compact("map[string]string", Some(&json!({"b": "2", "a": "<1>"}))),
            r#"{"a":"\u003c1\u003e","b":"2"}"#
        );
        assert_eq!(
            compact(
                "[]core.NodeSelectorTerm",
                Some(&json!([{"matchExpressions": [{"key": "k", "operator": "Exists"}]}]))
            ),
            r#"[{"MatchExpressions":[{"Key":"k","Operator":"Exists","Values":null}],"MatchFields":null}]"#
        );
    }

    #[test]
    fn go_quotes_strings() {
        assert_eq!(
            quote("a<b>&\"\\\n\t\u{1}\u{2028}é"),
            r#""a\u003cb\u003e\u0026\"\\\n\t\u0001\u2028é""#
        );
    }

    #[test]
    fn a_pvc_spec_renders_every_field() {
        let text = render(
            Root::PersistentVolumeClaimSpec,
            &json!({"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1.5Gi"}}}),
        );
        assert_eq!(
            text.as_deref(),
            Some(
                "{\n \"AccessModes\": [\n  \"ReadWriteOnce\"\n ],\n \"Selector\": null,\n \"Resources\": {\n  \"Limits\": null,\n  \"Requests\": {\n   \"storage\": \"1536Mi\"\n  }\n },\n \"VolumeName\": \"\",\n \"StorageClassName\": null,\n \"VolumeMode\": null,\n \"DataSource\": null,\n \"DataSourceRef\": null,\n \"VolumeAttributesClassName\": null\n}"
            )
        );
    }

    #[derive(Deserialize)]
    struct Fixture {
        name: String,
        root: String,
        old: Value,
        new: Value,
        diff: String,
    }

    /// `diff.Diff` as k8s.io/kubernetes v1.37.2 computes it for 85 pairs of v1 specs
    /// (`tools/internal-layout/cases.py`, decoded and converted by Go): every volume source,
    /// probe handler and security context kind of a rich pod, an ephemeral claim template with
    /// `metadata` (a creation timestamp, managed fields), quantities in 26 spellings, empty
    /// lists against missing ones, strings Go escapes, PersistentVolume sources, and 50 random
    /// changes.
    #[test]
    fn go_diff_fixtures() {
        let mut raw = Vec::new();
        let read = flate2::read::GzDecoder::new(&include_bytes!("godiff/specs.json.gz")[..])
            .read_to_end(&mut raw);
        assert!(read.is_ok());
        let cases: Vec<Fixture> = serde_json::from_slice(&raw).unwrap_or_default();
        assert_eq!(cases.len(), 85);
        for c in &cases {
            let root = match c.root.as_str() {
                "PodSpec" => Root::PodSpec,
                "PersistentVolumeSource" => Root::PersistentVolumeSource,
                _ => Root::PersistentVolumeClaimSpec,
            };
            let ours = diff(root, &c.old, &c.new);
            if ours != c.diff {
                let at = ours
                    .lines()
                    .zip(c.diff.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or(ours.lines().count().min(c.diff.lines().count()));
                let near = |s: &str| {
                    s.lines()
                        .skip(at.saturating_sub(3))
                        .take(6)
                        .collect::<Vec<_>>()
                        .join("\n")
                };
                panic!(
                    "{}: line {at} differs:\nours:\n{}\ngo:\n{}",
                    c.name,
                    near(&ours),
                    near(&c.diff)
                );
            }
        }
    }

    #[test]
    fn semantic_equality_ignores_empty_lists_and_quantity_spelling() {
        let root = Root::PersistentVolumeClaimSpec;
        let a = json!({"accessModes": [], "resources": {"requests": {"storage": "1Gi"}}});
        let b = json!({"resources": {"requests": {"storage": "1073741824"}}});
        assert!(semantic_eq(root, &a, &b));
        let c = json!({"resources": {"requests": {"storage": "2Gi"}}});
        assert!(!semantic_eq(root, &a, &c));
    }
}
