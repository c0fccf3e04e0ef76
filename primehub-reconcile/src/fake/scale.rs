//! The `scale` subresource of Deployments and StatefulSets (`kubectl scale`, HPA-style
//! clients), as kube-apiserver serves it: an `autoscaling/v1` `Scale` read from the object,
//! and a write of one (PUT, or a patch of the Scale) that sets the object's `spec.replicas`.
//!
//! The answers are kube-apiserver's: a Scale's `metadata` carries the object's name,
//! namespace, uid, resourceVersion and creationTimestamp; `status.selector` is the object's
//! label selector in its string form; a body's wrong type is Go's decode error
//! (`Scale in version "v1" cannot be handled as a Scale: json: cannot unmarshal …`); negative
//! replicas are a 422 on `Scale.autoscaling`; a `spec` without `replicas` scales to 0 (Go's
//! zero value, as the real server does). The scale subresource of custom resources
//! (`subresources.scale` in a CRD) is not served.

use serde_json::{Map, Value, json};

use crate::api::ResourceKind;
use crate::error::{InvalidCause, KubeError};

use super::builtin_types;
use super::kinds::ServedKind;

/// Whether the kind has a scale subresource the fake serves.
pub(crate) fn served(sk: &ServedKind) -> bool {
    sk.kind.group == "apps" && matches!(sk.kind.plural.as_str(), "deployments" | "statefulsets")
}

/// The kind a Scale is (what a strategic merge patch of it is planned with).
pub(crate) fn kind() -> ResourceKind {
    ResourceKind {
        group: "autoscaling".into(),
        version: "v1".into(),
        kind: "Scale".into(),
        plural: "scale".into(),
        namespaced: true,
    }
}

/// The Scale of a Deployment or StatefulSet.
pub(crate) fn of(object: &Value) -> Value {
    let mut metadata = Map::new();
    for key in [
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "creationTimestamp",
    ] {
        if let Some(v) = object.pointer(&format!("/metadata/{key}")) {
            metadata.insert(key.into(), v.clone());
        }
    }
    let mut spec = Map::new();
    // Go's `omitempty`: zero replicas leave `spec` empty.
    if let Some(r) = object
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .filter(|r| *r != 0)
    {
        spec.insert("replicas".into(), json!(r));
    }
    let mut status = Map::new();
    status.insert(
        "replicas".into(),
        json!(
            object
                .pointer("/status/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(0)
        ),
    );
    let selector = selector_string(object.pointer("/spec/selector"));
    if !selector.is_empty() {
        status.insert("selector".into(), json!(selector));
    }
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": metadata,
        "spec": spec,
        "status": status,
    })
}

/// A `metav1.LabelSelector` in the string form Go's `LabelSelectorAsSelector(…).String()`
/// gives: requirements sorted by key, `k=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`.
fn selector_string(selector: Option<&Value>) -> String {
    let Some(selector) = selector else {
        return String::new();
    };
    let mut requirements: Vec<(String, String)> = Vec::new();
    if let Some(labels) = selector.get("matchLabels").and_then(Value::as_object) {
        for (k, v) in labels {
            requirements.push((k.clone(), format!("{k}={}", v.as_str().unwrap_or(""))));
        }
    }
    for e in selector
        .get("matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = e.get("key").and_then(Value::as_str).unwrap_or("");
        let mut values: Vec<&str> = e
            .get("values")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        values.sort_unstable();
        values.dedup();
        let text = match e.get("operator").and_then(Value::as_str).unwrap_or("") {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_owned(),
            "DoesNotExist" => format!("!{key}"),
            _ => continue,
        };
        requirements.push((key.to_owned(), text));
    }
    // Go sorts requirements by key, stably.
    requirements.sort_by(|a, b| a.0.cmp(&b.0));
    requirements
        .into_iter()
        .map(|(_, text)| text)
        .collect::<Vec<_>>()
        .join(",")
}

/// What a Scale written to `name` changes: the new replicas and the resourceVersion the
/// write is conditional on (when the Scale names one). `patched` tells whether the Scale is
/// the result of a patch (kube-apiserver words a type error in a patched Scale differently).
pub(crate) fn read_write(
    scale: &Value,
    name: &str,
    patched: bool,
) -> Result<(i64, Option<String>), KubeError> {
    if let Some(kind) = scale.get("kind").and_then(Value::as_str)
        && kind != "Scale"
    {
        let version = scale
            .get("apiVersion")
            .and_then(Value::as_str)
            .map(|v| v.rsplit('/').next().unwrap_or(v))
            .unwrap_or("");
        return Err(KubeError::BadRequest {
            message: format!(
                "{kind} in version \"{version}\" cannot be handled as a Scale: converting (v1.{kind}) to (autoscaling.Scale): unknown conversion"
            ),
        });
    }
    let replicas = match scale.pointer("/spec/replicas") {
        None | Some(Value::Null) => 0,
        Some(v) => match v.as_i64().and_then(|r| i32::try_from(r).ok()) {
            Some(r) => i64::from(r),
            None => {
                let found = match v {
                    Value::Number(n) => format!("number {}", builtin_types::literal(n)),
                    other => builtin_types::kind_of(other).to_owned(),
                };
                let go = format!(
                    "json: cannot unmarshal {found} into Go struct field ScaleSpec.spec.replicas of type int32"
                );
                return Err(if patched {
                    let text = serde_json::to_string(scale).unwrap_or_default();
                    let detail = format!("Invalid value: {}: {go}", json!(text));
                    KubeError::Invalid {
                        message: format!(" \"\" is invalid: patch: {detail}"),
                        causes: vec![InvalidCause {
                            reason: "FieldValueInvalid".into(),
                            message: detail,
                            field: "patch".into(),
                        }],
                    }
                } else {
                    KubeError::BadRequest {
                        message: format!(
                            "Scale in version \"v1\" cannot be handled as a Scale: {go}"
                        ),
                    }
                });
            }
        },
    };
    match scale.pointer("/metadata/name").and_then(Value::as_str) {
        None | Some("") => {
            return Err(KubeError::BadRequest {
                message: format!(
                    "the name of the object ({name} based on URL) was undeterminable: name must be provided"
                ),
            });
        }
        Some(n) if n != name => {
            return Err(KubeError::BadRequest {
                message: format!(
                    "the name of the object ({n}) does not match the name on the URL ({name})"
                ),
            });
        }
        Some(_) => {}
    }
    if replicas < 0 {
        let detail = format!("Invalid value: {replicas}: must be greater than or equal to 0");
        return Err(KubeError::Invalid {
            message: format!("Scale.autoscaling \"{name}\" is invalid: spec.replicas: {detail}"),
            causes: vec![InvalidCause {
                reason: "FieldValueInvalid".into(),
                message: detail,
                field: "spec.replicas".into(),
            }],
        });
    }
    let resource_version = scale
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .filter(|rv| !rv.is_empty())
        .map(str::to_owned);
    Ok((replicas, resource_version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deployments_scale_reads_as_kube_apiservers() {
        let deployment = json!({
            "metadata": {"name": "web", "namespace": "ns", "uid": "u", "resourceVersion": "7",
                         "creationTimestamp": "2026-12-04T13:47:57Z", "labels": {"app": "web"},
                         "generation": 3},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web", "b": "1"},
                "matchExpressions": [
                    {"key": "tier", "operator": "In", "values": ["z", "a"]},
                    {"key": "x", "operator": "DoesNotExist"},
                    {"key": "c", "operator": "Exists"}]}},
            "status": {"replicas": 2},
        });
        assert_eq!(
            of(&deployment),
            json!({"kind": "Scale", "apiVersion": "autoscaling/v1",
                   "metadata": {"name": "web", "namespace": "ns", "uid": "u",
                                "resourceVersion": "7",
                                "creationTimestamp": "2026-12-04T13:47:57Z"},
                   "spec": {"replicas": 3},
                   "status": {"replicas": 2, "selector": "app=web,b=1,c,tier in (a,z),!x"}})
        );
        let zero = json!({"metadata": {"name": "w"}, "spec": {"replicas": 0}});
        assert_eq!(of(&zero)["spec"], json!({}));
        assert_eq!(of(&zero)["status"], json!({"replicas": 0}));
    }

    #[test]
    fn writes_are_checked_as_kube_apiserver_checks_them() {
        let scale = |spec: Value| json!({"metadata": {"name": "web"}, "spec": spec});
        assert_eq!(
            read_write(&scale(json!({"replicas": 4})), "web", false).ok(),
            Some((4, None))
        );
        // Go's zero value: no replicas scales to 0.
        assert_eq!(
            read_write(&scale(json!({})), "web", false).ok(),
            Some((0, None))
        );
        let message = |r: Result<(i64, Option<String>), KubeError>| match r {
            Err(KubeError::BadRequest { message } | KubeError::Invalid { message, .. }) => message,
            other => format!("{other:?}"),
        };
        assert_eq!(
            message(read_write(&scale(json!({"replicas": -1})), "web", false)),
            "Scale.autoscaling \"web\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0"
        );
        assert_eq!(
            message(read_write(&scale(json!({"replicas": "2"})), "web", false)),
            "Scale in version \"v1\" cannot be handled as a Scale: json: cannot unmarshal string into Go struct field ScaleSpec.spec.replicas of type int32"
        );
        assert_eq!(
            message(read_write(&scale(json!({"replicas": 1.5})), "web", false)),
            "Scale in version \"v1\" cannot be handled as a Scale: json: cannot unmarshal number 1.5 into Go struct field ScaleSpec.spec.replicas of type int32"
        );
        assert_eq!(
            message(read_write(&json!({"spec": {"replicas": 2}}), "web", false)),
            "the name of the object (web based on URL) was undeterminable: name must be provided"
        );
        assert_eq!(
            message(read_write(
                &json!({"metadata": {"name": "other"}, "spec": {"replicas": 2}}),
                "web",
                false
            )),
            "the name of the object (other) does not match the name on the URL (web)"
        );
        assert_eq!(
            message(read_write(
                &json!({"kind": "Deployment", "apiVersion": "apps/v1", "metadata": {"name": "web"}}),
                "web",
                false
            )),
            "Deployment in version \"v1\" cannot be handled as a Scale: converting (v1.Deployment) to (autoscaling.Scale): unknown conversion"
        );
        let rv =
            json!({"metadata": {"name": "web", "resourceVersion": "9"}, "spec": {"replicas": 1}});
        assert_eq!(
            read_write(&rv, "web", false).ok(),
            Some((1, Some("9".into())))
        );
        assert!(
            message(read_write(&scale(json!({"replicas": "x"})), "web", true))
                .starts_with(" \"\" is invalid: patch: Invalid value: \"{")
        );
    }
}
