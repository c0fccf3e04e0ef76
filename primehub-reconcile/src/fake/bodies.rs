//! Request bodies and media types of the fake cluster's HTTP face, as kube-apiserver reads them
//! (k8s.io/apiserver/pkg/endpoints/handlers: `create.go`, `update.go`, `delete.go`, `rest.go`).
//!
//! - The response media type is negotiated first: a request whose `Accept` lists nothing the
//!   fake writes (JSON, or a wildcard) is answered 406 Not Acceptable. kubectl and client-go
//!   send `application/vnd.kubernetes.protobuf,application/json`, and kube-rs and the Python
//!   client `application/json`: the fake answers JSON.
//! - Then the request's `Content-Type`: object bodies (create, update, delete options) may be
//!   JSON (also when the header is missing), YAML or — for built-in kinds — Kubernetes protobuf
//!   ([`super::protobuf`]); anything else is 415 Unsupported Media Type with kube-apiserver's
//!   message.
//! - Then the body is read, at most [`MAX_BODY_BYTES`] (3 MiB, kube-apiserver's
//!   `MaxRequestBodyBytes`): a longer one is 413 `Request entity too large: limit is 3145728`.
//! - A body that does not decode is 400 with kube-apiserver's message (`the object provided is
//!   unrecognized (must be of type ConfigMap): …`), one of another kind is 400 (`Secret in
//!   version "v1" cannot be handled as a ConfigMap: …`).

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, header};
use futures::StreamExt;
use serde_json::Value;

use super::ServedKind;
use super::protobuf;
use crate::error::KubeError;

/// The largest request body kube-apiserver reads: 3 MiB (`--max-request-body-bytes`'s
/// default, `MaxRequestBodyBytes` in k8s.io/apiserver/pkg/server/config.go). A body of exactly
/// this size is read; one byte more is refused with 413.
pub(crate) const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// Reads a request body of at most [`MAX_BODY_BYTES`]; a longer one is the 413 kube-apiserver
/// answers (`Request entity too large: limit is 3145728`, reason `RequestEntityTooLarge`).
pub(crate) async fn read(body: Body) -> Result<Bytes, KubeError> {
    let mut stream = body.into_data_stream();
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| KubeError::BadRequest {
            message: format!("the request body could not be read: {e}"),
        })?;
        if out.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_large());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(out))
}

fn too_large() -> KubeError {
    KubeError::Unexpected {
        status: 413,
        message: format!("Request entity too large: limit is {MAX_BODY_BYTES}"),
    }
}

/// The media type of a `Content-Type` (or one `Accept` entry): lowercase, without parameters.
fn essence(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(essence)
        .unwrap_or_default()
}

/// The media types the fake answers in (kube-apiserver also answers protobuf).
const AVAILABLE: &str = "application/json, application/yaml";

/// How a response body is written, as the request's `Accept` asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Representation {
    /// `application/json` (also for no `Accept`, `*/*`, `application/*`).
    Json,
    /// `application/yaml`.
    Yaml,
}

/// The representation `Accept` asks for, as kube-apiserver negotiates it: the acceptable entry
/// of highest `q`, the first of equals; entries the fake cannot write (protobuf, CBOR) are
/// passed over, so `application/vnd.kubernetes.protobuf,application/json` (kubectl's) gets
/// JSON. Nothing acceptable: 406 listing what the fake writes.
pub(crate) fn representation(headers: &HeaderMap) -> Result<Representation, KubeError> {
    let mut any = false;
    let mut best: Option<(f32, Representation)> = None;
    for value in headers.get_all(header::ACCEPT) {
        let Ok(text) = value.to_str() else { continue };
        for entry in text.split(',') {
            let media = essence(entry);
            if media.is_empty() {
                continue;
            }
            any = true;
            let q = entry
                .split(';')
                .skip(1)
                .find_map(|p| p.trim().strip_prefix("q=").map(|q| q.trim().parse::<f32>()))
                .map_or(1.0, |q| q.unwrap_or(0.0));
            let found = match media.as_str() {
                "application/json" | "application/*" | "*/*" => Representation::Json,
                "application/yaml" => Representation::Yaml,
                _ => continue,
            };
            if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, found));
            }
        }
    }
    match best {
        Some((_, r)) => Ok(r),
        None if !any => Ok(Representation::Json),
        None => Err(KubeError::Unexpected {
            status: 406,
            message: format!("406: Not Acceptable\n\nAvailable representations: {AVAILABLE}"),
        }),
    }
}

/// Refuses (406) an `Accept` the fake cannot answer (see [`representation`]).
pub(crate) fn check_accept(headers: &HeaderMap) -> Result<(), KubeError> {
    representation(headers).map(|_| ())
}

/// What a body is decoded as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Yaml,
    Protobuf,
}

/// The body format of a create, update or delete request by its `Content-Type` (a missing one
/// is JSON, as in kube-apiserver); else the 415 kube-apiserver answers. Protobuf is accepted
/// for built-in kinds only (kube-apiserver serves custom resources without it).
fn format(headers: &HeaderMap, sk: &ServedKind) -> Result<Format, KubeError> {
    let builtin = protobuf::knows(&sk.kind.group, &sk.kind.version, &sk.kind.kind);
    match content_type(headers).as_str() {
        "" | "application/json" => Ok(Format::Json),
        "application/yaml" => Ok(Format::Yaml),
        protobuf::MEDIA_TYPE if builtin => Ok(Format::Protobuf),
        other => {
            // kube-apiserver lists protobuf for custom resources too, but cannot decode it for
            // them (its connection breaks); the fake says what it takes.
            let accepted = if builtin || other != protobuf::MEDIA_TYPE {
                "application/json, application/yaml, application/vnd.kubernetes.protobuf"
            } else {
                "application/json, application/yaml"
            };
            Err(KubeError::Unexpected {
                status: 415,
                message: format!(
                    "the body of the request was in an unknown format - accepted media types include: {accepted}"
                ),
            })
        }
    }
}

/// Checks the `Content-Type` of a create, update or delete before the body is read.
pub(crate) fn check_content_type(headers: &HeaderMap, sk: &ServedKind) -> Result<(), KubeError> {
    format(headers, sk).map(|_| ())
}

/// kube-apiserver's summary of a body in a decode error: the text of a JSON object, else hex,
/// at most 30 bytes (`summarizeData` in k8s.io/apiserver/pkg/endpoints/handlers/rest.go).
fn summary(body: &[u8]) -> String {
    const MAX: usize = 30;
    let cut = &body[..body.len().min(MAX)];
    let more = if body.len() > MAX { " ..." } else { "" };
    match body.first() {
        None => "<empty>".into(),
        Some(b'{') => format!("{}{more}", String::from_utf8_lossy(cut)),
        Some(_) => {
            let hex: String = cut.iter().map(|b| format!("{b:02x}")).collect();
            format!("{hex}{more}")
        }
    }
}

fn unrecognized(kind: &str, why: &str, body: &[u8]) -> KubeError {
    KubeError::BadRequest {
        message: format!(
            "the object provided is unrecognized (must be of type {kind}): {why} ({})",
            summary(body)
        ),
    }
}

/// Decodes the body of a create or update of `sk` by its `Content-Type`, as the JSON the fake
/// stores. A body of another kind (or group-version) is refused as kube-apiserver refuses it.
pub(crate) fn object(
    headers: &HeaderMap,
    body: &[u8],
    sk: &ServedKind,
) -> Result<Value, KubeError> {
    let kind = sk.kind.kind.as_str();
    let object = decode(headers, body, sk, kind)?;
    let Some(fields) = object.as_object() else {
        let why = format!(
            "couldn't get version/kind; json parse error: json: cannot unmarshal {} into Go value of type struct {{ APIVersion string \"json:\\\"apiVersion,omitempty\\\"\"; Kind string \"json:\\\"kind,omitempty\\\"\" }}",
            json_type(&object)
        );
        return Err(unrecognized(kind, &why, body));
    };
    for field in ["apiVersion", "kind"] {
        if let Some(v) = fields.get(field).filter(|v| !v.is_string() && !v.is_null()) {
            let why = format!(
                "couldn't get version/kind; json parse error: json: cannot unmarshal {} into Go struct field .{field} of type string",
                json_type(v)
            );
            return Err(unrecognized(kind, &why, body));
        }
    }
    let body_kind = fields.get("kind").and_then(Value::as_str).unwrap_or("");
    let body_api = fields
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let expected_api = sk.kind.api_version();
    let api_mismatch = || KubeError::BadRequest {
        message: format!(
            "the API version in the data ({body_api}) does not match the expected API version ({expected_api})"
        ),
    };
    // Built-in kinds: a missing kind or apiVersion is the endpoint's, and a different one is
    // answered by the field check (`fields::check_type`, which knows which kinds are
    // registered) — one rule, for HTTP and in-process writes alike.
    if !protobuf::knows(&sk.kind.group, &sk.kind.version, kind) {
        // Custom resources are unstructured: kind and apiVersion are required and checked.
        if body_kind.is_empty() {
            let text = String::from_utf8_lossy(body);
            return Err(unrecognized(
                kind,
                &format!("Object 'Kind' is missing in '{}'", text.trim_end()),
                body,
            ));
        }
        if body_api != expected_api {
            return Err(api_mismatch());
        }
        if body_kind != kind {
            let name = fields
                .get("metadata")
                .and_then(|m| m.get("name"))
                .and_then(Value::as_str)
                .unwrap_or("");
            let detail = format!("Invalid value: {body_kind:?}: must be {kind}");
            return Err(KubeError::Invalid {
                message: format!(
                    "{body_kind}.{} {name:?} is invalid: kind: {detail}",
                    sk.kind.group
                ),
                causes: vec![crate::error::InvalidCause {
                    field: "kind".into(),
                    reason: "FieldValueInvalid".into(),
                    message: detail,
                }],
            });
        }
    }
    Ok(object)
}

/// Decodes a DELETE body (`DeleteOptions`) by its `Content-Type`.
pub(crate) fn delete_options(
    headers: &HeaderMap,
    body: &[u8],
    sk: &ServedKind,
) -> Result<Value, KubeError> {
    decode(headers, body, sk, "DeleteOptions")
}

/// kube-apiserver turns YAML into JSON through Go's `float64`, which prints a whole number
/// without a fraction (`replicas: 2.0` and `1e3` arrive as `2` and `1000`): the same here, so
/// the type check (`builtin_types`) sees what the real decoder sees.
fn whole_floats_as_integers(value: Value) -> Value {
    match value {
        Value::Number(n) if n.is_f64() => match n.as_f64() {
            #[allow(clippy::cast_possible_truncation)]
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => Value::from(f as i64),
            _ => Value::Number(n),
        },
        Value::Array(items) => {
            Value::Array(items.into_iter().map(whole_floats_as_integers).collect())
        }
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, whole_floats_as_integers(v)))
                .collect(),
        ),
        other => other,
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn decode(
    headers: &HeaderMap,
    body: &[u8],
    sk: &ServedKind,
    kind: &str,
) -> Result<Value, KubeError> {
    match format(headers, sk)? {
        Format::Json => serde_json::from_slice(body).map_err(|e| {
            let why = if body.is_empty() {
                "unexpected end of JSON input".to_owned()
            } else {
                e.to_string()
            };
            unrecognized(
                kind,
                &format!("couldn't get version/kind; json parse error: {why}"),
                body,
            )
        }),
        Format::Yaml => {
            if body.iter().all(u8::is_ascii_whitespace) {
                // An empty YAML document is an empty object.
                return Ok(Value::Object(serde_json::Map::new()));
            }
            serde_yaml_ng::from_slice::<Value>(body)
                .map(whole_floats_as_integers)
                .map_err(|e| unrecognized(kind, &format!("yaml: {e}"), body))
        }
        Format::Protobuf => {
            if !body.starts_with(protobuf::MAGIC) {
                return Err(unrecognized(
                    kind,
                    "provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]",
                    body,
                ));
            }
            protobuf::decode(body).map_err(|why| unrecognized(kind, &why, body))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_whole_floats_arrive_as_integers() {
        let v =
            whole_floats_as_integers(serde_json::json!({"a": 2.0, "b": [1e3, 2.5], "c": "2.0"}));
        assert_eq!(v, serde_json::json!({"a": 2, "b": [1000, 2.5], "c": "2.0"}));
    }
    use axum::http::HeaderValue;

    fn headers(name: header::HeaderName, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn kubectl_and_kube_rs_accept_headers_get_json() {
        for accept in [
            "application/vnd.kubernetes.protobuf,application/json",
            "application/json",
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
            "*/*",
            "",
        ] {
            assert!(
                check_accept(&headers(header::ACCEPT, accept)).is_ok(),
                "{accept}"
            );
        }
        assert!(check_accept(&HeaderMap::new()).is_ok());
        for (accept, expected) in [
            ("application/yaml", Representation::Yaml),
            ("application/yaml, application/json", Representation::Yaml),
            ("application/json, application/yaml", Representation::Json),
            (
                "application/json;q=0.5, application/yaml",
                Representation::Yaml,
            ),
            (
                "application/json;q=0, application/yaml",
                Representation::Yaml,
            ),
            (
                "application/vnd.kubernetes.protobuf, application/yaml",
                Representation::Yaml,
            ),
        ] {
            assert_eq!(
                representation(&headers(header::ACCEPT, accept)).ok(),
                Some(expected),
                "{accept}"
            );
        }
        for accept in [
            "application/vnd.kubernetes.protobuf",
            "text/plain",
            "application/json;q=0, application/yaml;q=0",
        ] {
            let err = check_accept(&headers(header::ACCEPT, accept)).unwrap_err();
            assert_eq!(err.status_code(), 406, "{accept}");
        }
    }

    #[test]
    fn summaries_are_text_for_objects_and_hex_otherwise() {
        assert_eq!(summary(b""), "<empty>");
        assert_eq!(summary(b"nope"), "6e6f7065");
        assert_eq!(summary(b"{\"a\":1}"), "{\"a\":1}");
        assert_eq!(summary(&[b'x'; 31]), format!("{} ...", "78".repeat(30)));
    }
}
