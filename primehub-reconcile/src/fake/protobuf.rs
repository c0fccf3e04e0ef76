//! Decoding `application/vnd.kubernetes.protobuf` request bodies into the JSON the fake stores.
//!
//! kubectl's typed commands (`kubectl create configmap|secret|namespace|deployment|service|…`)
//! send their objects as protobuf, and client-go does not retry with JSON when the server
//! answers 415 (it only falls back for CBOR), so the fake reads them. The wire format
//! (k8s.io/apimachinery/pkg/runtime/serializer/protobuf): the 4-byte magic `k8s\0`, then a
//! `runtime.Unknown` message whose `typeMeta` names the object's apiVersion and kind and whose
//! `raw` holds the object's own message.
//!
//! The messages are described by `protobuf/kubernetes.json.gz`, which `tools/protobuf/update.py`
//! cuts from the `generated.proto` files and Go struct tags of the k8s.io modules the real tier
//! runs: for each field its number, protobuf type and how Go's encoding/json writes it (JSON
//! name, pointer, `omitempty`, `omitzero`, inline). The decoder writes the JSON kube-apiserver
//! would write for the decoded Go object: gogo-protobuf always encodes non-pointer fields, so a
//! zero value is dropped where the Go field is `omitempty`, kept where it is not, and a non-pointer
//! struct is always written; Go types with their own JSON form (`Time`, `MicroTime`, `Duration`,
//! `Quantity`, `IntOrString`, `RawExtension`, `FieldsV1`, the CRD schema's `JSON` and
//! `JSONSchemaPropsOr*`) are converted by name. The crate `k8s-pb` has the same messages as prost
//! types, but no JSON mapping and no descriptors, so it would not spare this table.

use std::collections::HashMap;
use std::io::Read;
use std::sync::LazyLock;

use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Map, Value, json};

static DOCUMENT: &[u8] = include_bytes!("protobuf/kubernetes.json.gz");

/// The magic prefix of a Kubernetes protobuf body.
pub(crate) const MAGIC: &[u8] = b"k8s\0";

/// The media type of Kubernetes protobuf bodies.
pub(crate) const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

const META: &str = "k8s.io.apimachinery.pkg.apis.meta.v1";

/// One field as stored: number, JSON name, type, label, flags (see tools/protobuf/update.py).
type StoredField = (u32, String, String, String, String);

#[derive(Deserialize)]
struct Stored {
    groups: HashMap<String, String>,
    messages: HashMap<String, Vec<StoredField>>,
}

#[derive(Debug, Clone, PartialEq)]
enum Label {
    Optional,
    Repeated,
    Map,
}

#[derive(Debug)]
struct Field {
    number: u32,
    json: String,
    ty: String,
    label: Label,
    pointer: bool,
    omitempty: bool,
    omitzero: bool,
    inline: bool,
}

struct Schema {
    groups: HashMap<String, String>,
    messages: HashMap<String, Vec<Field>>,
}

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    let mut raw = Vec::new();
    // The schema is part of the binary and checked by the tests: failing to read it is a build
    // defect, not an input error.
    #[allow(clippy::expect_used)]
    let stored: Stored = {
        flate2::read::GzDecoder::new(DOCUMENT)
            .read_to_end(&mut raw)
            .expect("the embedded protobuf schema is valid gzip");
        serde_json::from_slice(&raw).expect("the embedded protobuf schema is valid JSON")
    };
    let messages = stored
        .messages
        .into_iter()
        .map(|(name, rows)| {
            let fields = rows
                .into_iter()
                .map(|(number, json, ty, label, flags)| Field {
                    number,
                    json,
                    ty,
                    label: match label.as_str() {
                        "rep" => Label::Repeated,
                        l if l.starts_with("map:") => Label::Map,
                        _ => Label::Optional,
                    },
                    pointer: flags.contains('p'),
                    omitempty: flags.contains('o'),
                    omitzero: flags.contains('z'),
                    inline: flags.contains('i'),
                })
                .collect();
            (name, fields)
        })
        .collect();
    Schema {
        groups: stored.groups,
        messages,
    }
});

/// Whether the schema has a message for `group`/`version` `kind` (the built-in kinds; custom
/// resources have none, as kube-apiserver serves them without protobuf).
pub(crate) fn knows(group: &str, version: &str, kind: &str) -> bool {
    message_name(group, version, kind).is_some()
}

fn message_name(group: &str, version: &str, kind: &str) -> Option<String> {
    let package = SCHEMA.groups.get(group)?;
    if !package.ends_with(&format!(".{version}")) {
        return None;
    }
    let name = format!("{package}.{kind}");
    SCHEMA.messages.contains_key(&name).then_some(name)
}

/// Decodes a protobuf body (magic, `runtime.Unknown` envelope, object). The object's message
/// is the envelope's kind in the envelope's group-version, or in `meta.k8s.io/v1` (for options
/// such as `DeleteOptions`). The object's JSON has the envelope's `apiVersion` and `kind`.
pub(crate) fn decode(body: &[u8]) -> Result<Value, String> {
    let envelope = body
        .strip_prefix(MAGIC)
        .ok_or("the body does not start with the protobuf magic")?;
    let mut api_version = String::new();
    let mut kind = String::new();
    let mut raw: &[u8] = &[];
    let mut encoding = String::new();
    let mut reader = Reader::new(envelope);
    while let Some((number, wire)) = reader.key()? {
        match (number, wire) {
            (1, 2) => {
                let mut meta = Reader::new(reader.bytes()?);
                while let Some((n, w)) = meta.key()? {
                    match (n, w) {
                        (1, 2) => api_version = meta.string()?,
                        (2, 2) => kind = meta.string()?,
                        _ => meta.skip(w)?,
                    }
                }
            }
            (2, 2) => raw = reader.bytes()?,
            (3, 2) => encoding = reader.string()?,
            _ => reader.skip(wire)?,
        }
    }
    if !encoding.is_empty() {
        return Err(format!("unsupported content encoding {encoding:?}"));
    }
    let (group, version) = match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version.as_str()),
    };
    let name = message_name(group, version, &kind)
        .or_else(|| {
            let meta = format!("{META}.{kind}");
            SCHEMA.messages.contains_key(&meta).then_some(meta)
        })
        .ok_or_else(|| format!("no protobuf message for {api_version} {kind}"))?;
    let mut object = Map::new();
    object.insert("kind".into(), json!(kind));
    object.insert("apiVersion".into(), json!(api_version));
    if let Value::Object(fields) = message(&name, raw, 0)? {
        object.extend(fields);
    }
    Ok(Value::Object(object))
}

/// Nesting deeper than this is refused (a hostile body cannot exhaust the stack).
const MAX_DEPTH: usize = 100;

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.buf.get(self.pos).ok_or("truncated varint")?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("varint longer than 10 bytes".into())
    }

    /// The next field's number and wire type; `None` at the end.
    fn key(&mut self) -> Result<Option<(u32, u8)>, String> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let number = u32::try_from(key >> 3).map_err(|_| "field number out of range")?;
        Ok(Some((number, (key & 7) as u8)))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.buf.len())
            .ok_or("truncated field")?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn bytes(&mut self) -> Result<&'a [u8], String> {
        let len = usize::try_from(self.varint()?).map_err(|_| "length out of range")?;
        self.take(len)
    }

    fn string(&mut self) -> Result<String, String> {
        // Go strings may hold any bytes; encoding/json writes invalid UTF-8 as U+FFFD.
        Ok(String::from_utf8_lossy(self.bytes()?).into_owned())
    }

    fn skip(&mut self, wire: u8) -> Result<(), String> {
        match wire {
            0 => self.varint().map(|_| ()),
            1 => self.take(8).map(|_| ()),
            2 => self.bytes().map(|_| ()),
            5 => self.take(4).map(|_| ()),
            other => Err(format!("unsupported wire type {other}")),
        }
    }
}

fn fixed<const N: usize>(reader: &mut Reader<'_>) -> Result<[u8; N], String> {
    let bytes = reader.take(N)?;
    let mut out = [0u8; N];
    out.copy_from_slice(bytes);
    Ok(out)
}

fn is_scalar(ty: &str) -> bool {
    matches!(
        ty,
        "string" | "bytes" | "bool" | "int32" | "int64" | "uint32" | "uint64" | "double" | "float"
    )
}

/// One value of scalar type `ty` with wire type `wire`.
fn scalar(ty: &str, wire: u8, reader: &mut Reader<'_>) -> Result<Value, String> {
    Ok(match (ty, wire) {
        ("string", 2) => Value::String(reader.string()?),
        ("bytes", 2) => {
            Value::String(base64::engine::general_purpose::STANDARD.encode(reader.bytes()?))
        }
        ("bool", 0) => Value::Bool(reader.varint()? != 0),
        // int32 values are sign-extended to 64 bits on the wire; the casts truncate as Go does.
        ("int32", 0) => json!(reader.varint()? as i64 as i32),
        ("int64", 0) => json!(reader.varint()? as i64),
        ("uint32", 0) => json!(reader.varint()? as u32),
        ("uint64", 0) => json!(reader.varint()?),
        ("double", 1) => json!(f64::from_le_bytes(fixed::<8>(reader)?)),
        ("float", 5) => json!(f32::from_le_bytes(fixed::<4>(reader)?)),
        (ty, wire) => return Err(format!("wire type {wire} for a {ty} field")),
    })
}

/// The zero value of scalar type `ty`, as Go writes it.
fn zero_scalar(ty: &str) -> Value {
    match ty {
        "string" | "bytes" => json!(""),
        "bool" => json!(false),
        "double" | "float" => json!(0.0),
        _ => json!(0),
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

/// The value of a field of type `ty` read from `reader` (wire type `wire`).
fn field_value(ty: &str, wire: u8, reader: &mut Reader<'_>, depth: usize) -> Result<Value, String> {
    if is_scalar(ty) {
        scalar(ty, wire, reader)
    } else if wire == 2 {
        message(ty, reader.bytes()?, depth + 1)
    } else {
        Err(format!("wire type {wire} for a {ty} message"))
    }
}

enum Acc {
    One(Value),
    List(Vec<Value>),
    Map(Map<String, Value>),
}

/// Decodes message `name` from `buf` into the JSON Go writes for it.
fn message(name: &str, buf: &[u8], depth: usize) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err("the object is nested too deeply".into());
    }
    if let Some(special) = special(name, buf, depth)? {
        return Ok(special);
    }
    let fields = SCHEMA
        .messages
        .get(name)
        .ok_or_else(|| format!("no protobuf message {name}"))?;
    let mut found: HashMap<u32, Acc> = HashMap::new();
    let mut reader = Reader::new(buf);
    while let Some((number, wire)) = reader.key()? {
        let Some(field) = fields.iter().find(|f| f.number == number) else {
            reader.skip(wire)?;
            continue;
        };
        match field.label {
            Label::Optional => {
                let value = field_value(&field.ty, wire, &mut reader, depth)?;
                found.insert(number, Acc::One(value));
            }
            Label::Repeated => {
                let mut values = Vec::new();
                if wire == 2
                    && is_scalar(&field.ty)
                    && !matches!(field.ty.as_str(), "string" | "bytes")
                {
                    // Packed repeated numbers.
                    let mut packed = Reader::new(reader.bytes()?);
                    let inner = match field.ty.as_str() {
                        "double" => 1,
                        "float" => 5,
                        _ => 0,
                    };
                    while packed.pos < packed.buf.len() {
                        values.push(scalar(&field.ty, inner, &mut packed)?);
                    }
                } else {
                    values.push(field_value(&field.ty, wire, &mut reader, depth)?);
                }
                match found.entry(number).or_insert_with(|| Acc::List(Vec::new())) {
                    Acc::List(list) => list.extend(values),
                    _ => return Err(format!("field {number} of {name} repeated and single")),
                }
            }
            Label::Map => {
                if wire != 2 {
                    return Err(format!("wire type {wire} for a map entry"));
                }
                let mut entry = Reader::new(reader.bytes()?);
                let mut key = String::new();
                let mut value = None;
                while let Some((n, w)) = entry.key()? {
                    match n {
                        1 => {
                            key = match scalar("string", w, &mut entry)? {
                                Value::String(s) => s,
                                other => other.to_string(),
                            }
                        }
                        2 => value = Some(field_value(&field.ty, w, &mut entry, depth)?),
                        _ => entry.skip(w)?,
                    }
                }
                let value = match value {
                    Some(v) => v,
                    None => zero(&field.ty, depth)?,
                };
                match found.entry(number).or_insert_with(|| Acc::Map(Map::new())) {
                    Acc::Map(map) => {
                        map.insert(key, value);
                    }
                    _ => return Err(format!("field {number} of {name} map and single")),
                }
            }
        }
    }
    let mut out = Map::new();
    for field in fields {
        let value = match found.remove(&field.number) {
            Some(Acc::One(value)) => {
                let scalar = is_scalar(&field.ty);
                if field.pointer {
                    Some(value)
                } else if (field.omitempty && scalar && is_empty(&value))
                    || (field.omitzero && is_zero_message(&field.ty, &value, depth)?)
                {
                    None
                } else {
                    Some(value)
                }
            }
            Some(Acc::List(list)) => Some(Value::Array(list)),
            Some(Acc::Map(map)) => Some(Value::Object(map)),
            None => absent(field, depth)?,
        };
        let Some(value) = value else { continue };
        if field.inline {
            if let Value::Object(inner) = value {
                out.extend(inner);
            }
        } else {
            out.insert(field.json.clone(), value);
        }
    }
    Ok(Value::Object(out))
}

/// What Go writes for a field the body does not have (its zero value).
fn absent(field: &Field, depth: usize) -> Result<Option<Value>, String> {
    Ok(match field.label {
        // A nil slice or map: `null` unless omitempty.
        Label::Repeated | Label::Map => (!field.omitempty).then_some(Value::Null),
        Label::Optional if field.pointer => (!field.omitempty).then_some(Value::Null),
        Label::Optional if is_scalar(&field.ty) => {
            (!field.omitempty).then(|| zero_scalar(&field.ty))
        }
        // A struct is always written (omitempty does not apply to structs), unless omitzero.
        Label::Optional if field.omitzero => None,
        Label::Optional => Some(zero(&field.ty, depth)?),
    })
}

/// The JSON of the zero value of message `ty`.
fn zero(ty: &str, depth: usize) -> Result<Value, String> {
    if is_scalar(ty) {
        Ok(zero_scalar(ty))
    } else {
        message(ty, &[], depth + 1)
    }
}

fn is_zero_message(ty: &str, value: &Value, depth: usize) -> Result<bool, String> {
    Ok(if is_scalar(ty) {
        is_empty(value)
    } else {
        *value == zero(ty, depth)?
    })
}

/// Messages whose Go types have their own JSON form.
fn special(name: &str, buf: &[u8], depth: usize) -> Result<Option<Value>, String> {
    let short = name.rsplit('.').next().unwrap_or(name);
    let package = name.strip_suffix(short).unwrap_or("");
    let is = |p: &str| package.trim_end_matches('.') == p;
    let value = match short {
        "Time" | "MicroTime" | "Timestamp" if is(META) => {
            let (mut seconds, mut nanos) = (0i64, 0i64);
            let mut reader = Reader::new(buf);
            while let Some((n, w)) = reader.key()? {
                match (n, w) {
                    (1, 0) => seconds = reader.varint()? as i64,
                    (2, 0) => nanos = i64::from(reader.varint()? as i64 as i32),
                    _ => reader.skip(w)?,
                }
            }
            // An empty message is Go's zero time (`null` in JSON); any other, even the Unix
            // epoch, is a time. Time keeps seconds only (time_proto.go), MicroTime
            // microseconds (micro_time_proto.go).
            if short == "Timestamp" {
                json!({"seconds": seconds, "nanos": nanos})
            } else if buf.is_empty() {
                Value::Null
            } else {
                Value::String(rfc3339(seconds, nanos, short == "MicroTime")?)
            }
        }
        "Duration" if is(META) => {
            let mut nanos = 0i64;
            let mut reader = Reader::new(buf);
            while let Some((n, w)) = reader.key()? {
                match (n, w) {
                    (1, 0) => nanos = reader.varint()? as i64,
                    _ => reader.skip(w)?,
                }
            }
            Value::String(go_duration(nanos))
        }
        "Quantity" | "QuantityValue" if is("k8s.io.apimachinery.pkg.api.resource") => {
            let text = single_string(buf, 1)?;
            Value::String(if text.is_empty() { "0".into() } else { text })
        }
        "IntOrString" if is("k8s.io.apimachinery.pkg.util.intstr") => {
            let (mut is_string, mut int, mut string) = (false, 0i64, String::new());
            let mut reader = Reader::new(buf);
            while let Some((n, w)) = reader.key()? {
                match (n, w) {
                    (1, 0) => is_string = reader.varint()? == 1,
                    (2, 0) => int = i64::from(reader.varint()? as i64 as i32),
                    (3, 2) => string = reader.string()?,
                    _ => reader.skip(w)?,
                }
            }
            if is_string { json!(string) } else { json!(int) }
        }
        "RawExtension" | "FieldsV1" | "JSON" => {
            let mut raw: &[u8] = &[];
            let mut reader = Reader::new(buf);
            while let Some((n, w)) = reader.key()? {
                match (n, w) {
                    (1, 2) => raw = reader.bytes()?,
                    _ => reader.skip(w)?,
                }
            }
            if raw.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(raw).map_err(|e| format!("{short} is not JSON: {e}"))?
            }
        }
        "JSONSchemaPropsOrArray" | "JSONSchemaPropsOrBool" | "JSONSchemaPropsOrStringArray" => {
            let props = format!("{package}JSONSchemaProps");
            let mut schema = None;
            let mut list = Vec::new();
            let mut allows = false;
            let mut reader = Reader::new(buf);
            while let Some((n, w)) = reader.key()? {
                match (short, n) {
                    ("JSONSchemaPropsOrBool", 1) => allows = reader.varint()? != 0,
                    ("JSONSchemaPropsOrBool", 2) | (_, 1) => {
                        schema = Some(message(&props, reader.bytes()?, depth + 1)?)
                    }
                    ("JSONSchemaPropsOrArray", 2) => {
                        list.push(message(&props, reader.bytes()?, depth + 1)?)
                    }
                    ("JSONSchemaPropsOrStringArray", 2) => list.push(json!(reader.string()?)),
                    _ => reader.skip(w)?,
                }
            }
            match (schema, short) {
                (Some(schema), _) => schema,
                (None, "JSONSchemaPropsOrBool") => json!(allows),
                (None, _) => Value::Array(list),
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(value))
}

fn single_string(buf: &[u8], number: u32) -> Result<String, String> {
    let mut out = String::new();
    let mut reader = Reader::new(buf);
    while let Some((n, w)) = reader.key()? {
        if n == number && w == 2 {
            out = reader.string()?;
        } else {
            reader.skip(w)?;
        }
    }
    Ok(out)
}

/// RFC 3339 in UTC as metav1.Time (seconds) and metav1.MicroTime (microseconds) write it.
fn rfc3339(seconds: i64, nanos: i64, micro: bool) -> Result<String, String> {
    let at = jiff::Timestamp::from_second(seconds).map_err(|e| e.to_string())?;
    let base = at.strftime("%Y-%m-%dT%H:%M:%S").to_string();
    Ok(if micro {
        format!("{base}.{:06}Z", nanos.rem_euclid(1_000_000_000) / 1000)
    } else {
        format!("{base}Z")
    })
}

/// Go's `time.Duration.String()`: `1h2m3.5s`, `1.5s`, `250ms`, `0s`.
fn go_duration(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".into();
    }
    let negative = nanos < 0;
    let n = nanos.unsigned_abs();
    let sign = if negative { "-" } else { "" };
    let fraction = |value: u64, unit: u64| -> String {
        let whole = value / unit;
        let rest = value % unit;
        if rest == 0 {
            return whole.to_string();
        }
        let digits = unit.ilog10() as usize;
        let text = format!("{rest:0digits$}");
        format!("{whole}.{}", text.trim_end_matches('0'))
    };
    if n < 1_000 {
        return format!("{sign}{n}ns");
    }
    if n < 1_000_000 {
        return format!("{sign}{}µs", fraction(n, 1_000));
    }
    if n < 1_000_000_000 {
        return format!("{sign}{}ms", fraction(n, 1_000_000));
    }
    let hours = n / 3_600_000_000_000;
    let minutes = (n / 60_000_000_000) % 60;
    let seconds = fraction(n % 60_000_000_000, 1_000_000_000);
    match (hours, minutes) {
        (0, 0) => format!("{sign}{seconds}s"),
        (0, m) => format!("{sign}{m}m{seconds}s"),
        (h, m) => format!("{sign}{h}h{m}m{seconds}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes `fields` (number, bytes of a length-delimited value) as a message.
    fn msg(fields: &[(u32, Vec<u8>)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (number, value) in fields {
            varint(&mut out, u64::from(*number) << 3 | 2);
            varint(&mut out, value.len() as u64);
            out.extend(value);
        }
        out
    }

    fn varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    fn envelope(api_version: &str, kind: &str, raw: Vec<u8>) -> Vec<u8> {
        let type_meta = msg(&[(1, api_version.into()), (2, kind.into())]);
        let mut body = MAGIC.to_vec();
        body.extend(msg(&[(1, type_meta), (2, raw), (3, vec![]), (4, vec![])]));
        body
    }

    #[test]
    fn a_config_map_decodes_as_go_writes_it() {
        // ObjectMeta as gogo writes it: every non-pointer field, empty or not.
        let mut meta = msg(&[(1, b"cm".to_vec()), (2, vec![]), (3, vec![]), (4, vec![])]);
        meta.extend([0x38, 0x00]); // generation = 0
        meta.extend(msg(&[(8, vec![])])); // creationTimestamp: zero Time
        meta.extend(msg(&[(
            11,
            msg(&[(1, b"app".to_vec()), (2, b"x".to_vec())]),
        )]));
        let data = msg(&[(1, b"k".to_vec()), (2, b"v".to_vec())]);
        let raw = msg(&[(1, meta), (2, data)]);
        let decoded = decode(&envelope("v1", "ConfigMap", raw)).unwrap();
        assert_eq!(
            decoded,
            json!({"kind": "ConfigMap", "apiVersion": "v1",
                   "metadata": {"name": "cm", "labels": {"app": "x"}},
                   "data": {"k": "v"}})
        );
    }

    #[test]
    fn a_body_without_the_magic_or_truncated_is_refused() {
        assert!(decode(b"{}").is_err());
        let mut body = envelope("v1", "ConfigMap", msg(&[(1, vec![])]));
        body.truncate(body.len() - 3);
        assert!(decode(&body).is_err());
        assert!(decode(&envelope("v1", "NoSuchKind", vec![])).is_err());
    }

    #[test]
    fn go_durations_read_as_go_prints_them() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(1_500_000_000), "1.5s");
        assert_eq!(go_duration(3_600_000_000_000), "1h0m0s");
        assert_eq!(go_duration(90_000_000_000), "1m30s");
        assert_eq!(go_duration(250_000_000), "250ms");
        assert_eq!(go_duration(-2_000), "-2µs");
    }

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(rfc3339(0, 0, false).unwrap(), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(1_700_000_000, 123_456_789, true).unwrap(),
            "2023-11-14T22:13:20.123456Z"
        );
    }
}
