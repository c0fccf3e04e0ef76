//! Immutable fields, refused on update (and patch) with kube-apiserver's 422 `Invalid` answer:
//! the field path as the cause and the real server's message (checked against kube-apiserver
//! v1.37 in `conformance_defaults`).
//!
//! - Pods (`ValidatePodUpdate`, `pkg/apis/core/validation`): the number of containers and init
//!   containers is fixed ("may not add or remove containers", and nothing else is checked);
//!   `activeDeadlineSeconds` may be set or lowered; old tolerations stay (their
//!   `tolerationSeconds` may change); scheduling gates may only be removed; beyond that only the
//!   containers' and init containers' images, the deadline, the tolerations, the scheduling
//!   gates and a negative `terminationGracePeriodSeconds` set to 1 may change;
//! - PersistentVolumeClaims (`ValidatePersistentVolumeClaimUpdate`): the spec is immutable,
//!   except `volumeName` while empty, `storageClassName` from nil (to the beta annotation's
//!   class where there is one), and for a bound claim `resources.requests.storage` and
//!   `volumeAttributesClassName`;
//! - PersistentVolumes (`ValidatePersistentVolumeUpdate`): the volume source, except a CSI
//!   source's `controllerExpandSecretRef` while unset, and `volumeMode`;
//! - Services (`ValidateServiceUpdate`): `clusterIP`/`clusterIPs` once set;
//! - Deployments, StatefulSets and DaemonSets (`pkg/apis/apps/validation`): `spec.selector`;
//!   a StatefulSet's `serviceName`, `podManagementPolicy` and `volumeClaimTemplates`;
//! - Secrets and ConfigMaps with `immutable: true` (`ValidateSecretUpdate`,
//!   `ValidateConfigMapUpdate`): `data`, `binaryData` and `immutable` itself; a Secret's `type`
//!   always.
//!
//! A forbidden pod, claim or volume spec change ends its message with kube-apiserver's `diff.Diff` of
//! the old spec and the munged new one, exactly ([`super::godiff`]: the internal Go structs as
//! `json.MarshalIndent` writes them, go-difflib's unified diff). Whether the specs differ at all
//! is `apiequality.Semantic.DeepEqual`: an empty list equals a missing one, quantities compare
//! by value.
//!
//! A pod that still has scheduling gates may also gain `nodeSelector` entries and required node
//! affinity requirements (or get node affinity where it had none): other changes of those are
//! `Invalid` naming the new value as Go's `json.Marshal` writes the internal structs.

use serde_json::{Map, Value};

use crate::api::ResourceKind;
use crate::error::{InvalidCause, Result};

use super::defaults::{cause, invalid_object};
use super::godiff::{self, Root};

/// The start of the message of a forbidden pod spec change.
pub(crate) const POD_SPEC_FORBIDDEN: &str = "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/// The start of the message of a forbidden PVC spec change.
pub(crate) const PVC_SPEC_FORBIDDEN: &str = "Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims";

const IMMUTABLE_SET: &str = "Forbidden: field is immutable when `immutable` is set";

fn render(v: Option<&Value>) -> String {
    serde_json::to_string(v.unwrap_or(&Value::Null)).unwrap_or_default()
}

fn immutable_field(path: &str, new: Option<&Value>) -> InvalidCause {
    cause(
        path,
        "FieldValueInvalid",
        format!("Invalid value: {}: field is immutable", render(new)),
    )
}

fn spec(o: &Value) -> Map<String, Value> {
    o.get("spec")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// Checks an update of `old` into `new` (after defaulting and `PrepareForUpdate`): `Invalid`
/// naming each immutable field that changed.
pub(crate) fn validate_update(kind: &ResourceKind, old: &Value, new: &Value) -> Result<()> {
    let name = old
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let (qualified, causes) = match (kind.group.as_str(), kind.plural.as_str()) {
        ("", "pods") => ("Pod".to_owned(), pod(old, new)),
        ("", "persistentvolumeclaims") => ("PersistentVolumeClaim".to_owned(), pvc(old, new)),
        ("", "persistentvolumes") => ("PersistentVolume".to_owned(), pv(old, new)),
        ("", "services") => ("Service".to_owned(), service(old, new)),
        ("", "secrets") => ("Secret".to_owned(), secret_or_config_map(old, new, true)),
        ("", "configmaps") => (
            "ConfigMap".to_owned(),
            secret_or_config_map(old, new, false),
        ),
        ("apps", "deployments" | "daemonsets") => {
            (format!("{}.apps", kind.kind), selector(old, new))
        }
        ("apps", "statefulsets") => ("StatefulSet.apps".to_owned(), statefulset(old, new)),
        _ => return Ok(()),
    };
    if causes.is_empty() {
        Ok(())
    } else {
        Err(invalid_object(&qualified, name, causes))
    }
}

fn list<'v>(spec: &'v Map<String, Value>, key: &str) -> &'v [Value] {
    spec.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// `ValidatePodUpdate` (`pkg/apis/core/validation`), from the container counts on.
fn pod(old: &Value, new: &Value) -> Vec<InvalidCause> {
    let (old_spec, new_spec) = (spec(old), spec(new));
    let mut causes = Vec::new();
    // ValidateContainerUpdates: a different number of containers stops the checks.
    for key in ["containers", "initContainers"] {
        if list(&old_spec, key).len() != list(&new_spec, key).len() {
            causes.push(cause(
                &format!("spec.{key}"),
                "FieldValueForbidden",
                "Forbidden: pod updates may not add or remove containers".into(),
            ));
            return causes;
        }
    }
    let (old_deadline, new_deadline) = (
        old_spec
            .get("activeDeadlineSeconds")
            .and_then(Value::as_i64),
        new_spec
            .get("activeDeadlineSeconds")
            .and_then(Value::as_i64),
    );
    match (old_deadline, new_deadline) {
        (_, Some(n)) if n < 1 => causes.push(cause(
            "spec.activeDeadlineSeconds",
            "FieldValueInvalid",
            format!("Invalid value: {n}: must be between 1 and 2147483647, inclusive"),
        )),
        (Some(_), None) => causes.push(cause(
            "spec.activeDeadlineSeconds",
            "FieldValueInvalid",
            "Invalid value: null: must not update from a positive integer to nil value".into(),
        )),
        (Some(o), Some(n)) if n > o => {
            causes.push(cause(
                "spec.activeDeadlineSeconds",
                "FieldValueInvalid",
                format!("Invalid value: {n}: must be less than or equal to previous value"),
            ));
            return causes;
        }
        _ => {}
    }
    // validateOnlyAddedTolerations: every old toleration stays (its tolerationSeconds may
    // change).
    let strip = |t: &Value| {
        let mut t = t.clone();
        if let Some(o) = t.as_object_mut() {
            o.remove("tolerationSeconds");
        }
        t
    };
    let news: Vec<Value> = list(&new_spec, "tolerations").iter().map(strip).collect();
    if !list(&old_spec, "tolerations")
        .iter()
        .all(|t| news.contains(&strip(t)))
    {
        causes.push(cause(
            "spec.tolerations",
            "FieldValueForbidden",
            "Forbidden: existing toleration can not be modified except its tolerationSeconds"
                .into(),
        ));
    }
    // validateOnlyDeletedSchedulingGates.
    let gate = |g: &Value| g.get("name").and_then(Value::as_str).map(str::to_owned);
    let old_gates: Vec<Option<String>> = list(&old_spec, "schedulingGates")
        .iter()
        .map(gate)
        .collect();
    for (i, g) in list(&new_spec, "schedulingGates").iter().enumerate() {
        let name = gate(g);
        if !old_gates.contains(&name) {
            causes.push(cause(
                &format!("spec.schedulingGates[{i}].name"),
                "FieldValueForbidden",
                format!(
                    "Forbidden: only deletion is allowed, but found new scheduling gate '{}'",
                    name.unwrap_or_default()
                ),
            ));
        }
    }
    let (old_value, new_value) = (
        Value::Object(old_spec.clone()),
        Value::Object(new_spec.clone()),
    );
    if godiff::semantic_eq(Root::PodSpec, &new_value, &old_value) {
        return causes;
    }
    // The new spec with what may change taken from the old one (mungedPodSpec).
    let mut munged = new_spec.clone();
    for key in ["containers", "initContainers"] {
        let olds = list(&old_spec, key).to_vec();
        if let Some(Value::Array(news)) = munged.get_mut(key) {
            for (n, o) in news.iter_mut().zip(&olds) {
                if let Some(n) = n.as_object_mut() {
                    match o.get("image") {
                        Some(image) => n.insert("image".into(), image.clone()),
                        None => n.remove("image"),
                    };
                }
            }
        }
    }
    for key in ["activeDeadlineSeconds", "schedulingGates", "tolerations"] {
        match old_spec.get(key) {
            Some(v) => munged.insert(key.into(), v.clone()),
            None => munged.remove(key),
        };
    }
    let grace = |m: &Map<String, Value>| {
        m.get("terminationGracePeriodSeconds")
            .and_then(Value::as_i64)
    };
    if grace(&old_spec).is_some_and(|g| g < 0)
        && grace(&munged) == Some(1)
        && let Some(g) = old_spec.get("terminationGracePeriodSeconds")
    {
        munged.insert("terminationGracePeriodSeconds".into(), g.clone());
    }
    if !list(&old_spec, "schedulingGates").is_empty() {
        causes.extend(gated_pod(&old_spec, &mut munged));
    }
    let munged = Value::Object(munged);
    if !godiff::semantic_eq(Root::PodSpec, &munged, &old_value) {
        causes.push(cause(
            "spec",
            "FieldValueForbidden",
            format!(
                "{POD_SPEC_FORBIDDEN}\n{}",
                godiff::diff(Root::PodSpec, &old_value, &munged)
            ),
        ));
    }
    causes
}

/// A pod that still has scheduling gates may gain node selector entries and node affinity
/// requirements (`validateNodeSelectorMutation`, `validateNodeAffinityMutation`): their errors,
/// and `munged` with the old values back, so that the spec comparison does not see them.
fn gated_pod(old_spec: &Map<String, Value>, munged: &mut Map<String, Value>) -> Vec<InvalidCause> {
    let mut causes = Vec::new();
    let present = |v: Option<&Value>| v.filter(|v| !v.is_null()).cloned();
    let (old_selector, new_selector) = (
        present(old_spec.get("nodeSelector")),
        present(munged.get("nodeSelector")),
    );
    if !godiff::semantic_eq_type(
        "map[string]string",
        new_selector.as_ref(),
        old_selector.as_ref(),
    ) {
        let kept = old_selector
            .as_ref()
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .all(|(k, v)| new_selector.as_ref().and_then(|n| n.get(k)) == Some(v));
        if !kept {
            causes.push(cause(
                "spec.nodeSelector",
                "FieldValueInvalid",
                format!(
                    "Invalid value: {}: only additions to spec.nodeSelector are allowed (no mutations or deletions)",
                    godiff::compact("map[string]string", new_selector.as_ref())
                ),
            ));
        }
        match old_selector {
            Some(v) => munged.insert("nodeSelector".into(), v),
            None => munged.remove("nodeSelector"),
        };
    }
    let node_affinity =
        |m: &Map<String, Value>| present(m.get("affinity").and_then(|a| a.get("nodeAffinity")));
    let (old_na, new_na) = (node_affinity(old_spec), node_affinity(munged));
    if godiff::semantic_eq_type("*core.NodeAffinity", new_na.as_ref(), old_na.as_ref()) {
        return causes;
    }
    causes.extend(node_affinity_mutation(new_na.as_ref(), old_na.as_ref()));
    let munged_affinity = present(munged.get("affinity"));
    let old_affinity = present(old_spec.get("affinity"));
    match munged_affinity {
        None => {
            if let Some(na) = old_na {
                munged.insert("affinity".into(), serde_json::json!({ "nodeAffinity": na }));
            }
        }
        // Only node affinity set on a pod that had no affinity: back to none.
        Some(a)
            if old_affinity.is_none()
                && present(a.get("podAntiAffinity")).is_none()
                && present(a.get("podAffinity")).is_none() =>
        {
            munged.remove("affinity");
        }
        Some(mut a) => {
            if let Some(o) = a.as_object_mut() {
                match old_na {
                    Some(na) => o.insert("nodeAffinity".into(), na),
                    None => o.remove("nodeAffinity"),
                };
            }
            munged.insert("affinity".into(), a);
        }
    }
    causes
}

const TERMS: &str =
    "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms";

/// `validateNodeAffinityMutation`: the required node selector terms may only gain
/// requirements (any terms may be set where there were none).
fn node_affinity_mutation(new_na: Option<&Value>, old_na: Option<&Value>) -> Vec<InvalidCause> {
    let required = |na: Option<&Value>| {
        na.and_then(|n| n.get("requiredDuringSchedulingIgnoredDuringExecution"))
            .filter(|r| !r.is_null())
            .cloned()
    };
    let Some(old_required) = required(old_na) else {
        return Vec::new();
    };
    let terms = |r: &Value| {
        r.get("nodeSelectorTerms")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let old_terms = terms(&old_required);
    let new_required = required(new_na);
    let new_terms_value = new_required
        .as_ref()
        .and_then(|r| r.get("nodeSelectorTerms"))
        .filter(|t| !t.is_null())
        .cloned();
    let new_terms = new_required.as_ref().map(terms).unwrap_or_default();
    if !old_terms.is_empty() && old_terms.len() != new_terms.len() {
        return vec![cause(
            TERMS,
            "FieldValueInvalid",
            format!(
                "Invalid value: {}: no additions/deletions to non-empty NodeSelectorTerms list are allowed",
                godiff::compact("[]core.NodeSelectorTerm", new_terms_value.as_ref())
            ),
        )];
    }
    let mut causes = Vec::new();
    for (i, (new_term, old_term)) in new_terms.iter().zip(&old_terms).enumerate() {
        if !only_additions(new_term, old_term) {
            causes.push(cause(
                &format!("{TERMS}[{i}]"),
                "FieldValueInvalid",
                format!(
                    "Invalid value: {}: only additions are allowed (no mutations or deletions)",
                    godiff::compact("core.NodeSelectorTerm", Some(new_term))
                ),
            ));
        }
    }
    causes
}

/// `validateNodeSelectorTermHasOnlyAdditions`.
fn only_additions(new_term: &Value, old_term: &Value) -> bool {
    let list = |t: &Value, key: &str| {
        t.get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let keys = ["matchExpressions", "matchFields"];
    if keys.iter().all(|k| list(old_term, k).is_empty())
        && keys.iter().any(|k| !list(new_term, k).is_empty())
    {
        return false;
    }
    keys.iter().all(|k| {
        let (old, new) = (list(old_term, k), list(new_term, k));
        old.is_empty()
            || (new.len() >= old.len()
                && godiff::semantic_eq_type(
                    "[]core.NodeSelectorRequirement",
                    Some(&Value::Array(new[..old.len()].to_vec())),
                    Some(&Value::Array(old)),
                ))
    })
}

const BETA_STORAGE_CLASS: &str = "volume.beta.kubernetes.io/storage-class";

/// `ValidatePersistentVolumeClaimUpdate`: the spec diff of the clones it munges.
fn pvc(old: &Value, new: &Value) -> Vec<InvalidCause> {
    let (mut old_clone, mut new_clone) = (spec(old), spec(new));
    let annotation = |o: &Value| {
        o.pointer("/metadata/annotations")
            .and_then(|a| a.get(BETA_STORAGE_CLASS))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let (old_annotation, new_annotation) = (annotation(old), annotation(new));
    let class = |m: &Map<String, Value>| {
        m.get("storageClassName")
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let (old_class, new_class) = (class(&old_clone), class(&new_clone));
    // volumeName may be set once.
    if old_clone
        .get("volumeName")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        match new_clone.get("volumeName") {
            Some(v) => old_clone.insert("volumeName".into(), v.clone()),
            None => old_clone.remove("volumeName"),
        };
    }
    // validateStorageClassUpgradeFromAnnotation, else validateStorageClassUpgradeFromNil: the
    // field may go from nil to the annotation's class (or any class without the annotation).
    let from_annotation = old_annotation.is_some()
        && old_class.is_none()
        && new_class.is_some()
        && new_class == old_annotation
        && (new_annotation.is_none() || new_annotation == old_annotation);
    let from_nil = old_class.is_none()
        && new_class.is_some()
        && (old_annotation.is_none() || new_class == old_annotation);
    if from_annotation || from_nil {
        new_clone.remove("storageClassName");
    }
    let bound = new.pointer("/status/phase").and_then(Value::as_str) == Some("Bound");
    if bound {
        // The storage request keeps the old value (a zero Quantity where it had none).
        let old_storage = old_clone
            .get("resources")
            .and_then(|r| r.get("requests"))
            .and_then(|r| r.get("storage"))
            .cloned()
            .unwrap_or_else(|| Value::String("0".into()));
        if let Some(requests) = new_clone
            .get_mut("resources")
            .and_then(|r| r.get_mut("requests"))
            .and_then(Value::as_object_mut)
        {
            requests.insert("storage".into(), old_storage);
        }
        match old_clone.get("volumeAttributesClassName") {
            Some(v) => new_clone.insert("volumeAttributesClassName".into(), v.clone()),
            None => new_clone.remove("volumeAttributesClassName"),
        };
    }
    let (old_value, new_value) = (Value::Object(old_clone), Value::Object(new_clone));
    if godiff::semantic_eq(Root::PersistentVolumeClaimSpec, &new_value, &old_value) {
        return Vec::new();
    }
    vec![cause(
        "spec",
        "FieldValueForbidden",
        format!(
            "{PVC_SPEC_FORBIDDEN}\n{}",
            godiff::diff(Root::PersistentVolumeClaimSpec, &old_value, &new_value)
        ),
    )]
}

/// `ValidatePersistentVolumeUpdate`: the volume source (inlined in the v1 spec) is immutable,
/// except a CSI source's `controllerExpandSecretRef` while unset; so is `volumeMode`.
fn pv(old: &Value, new: &Value) -> Vec<InvalidCause> {
    let (old_spec, mut new_spec) = (spec(old), spec(new));
    let expand_ref = |m: &Map<String, Value>| {
        m.get("csi").filter(|c| !c.is_null()).map(|c| {
            c.get("controllerExpandSecretRef")
                .is_some_and(|r| !r.is_null())
        })
    };
    if expand_ref(&old_spec) == Some(false)
        && expand_ref(&new_spec) == Some(true)
        && let Some(csi) = new_spec.get_mut("csi").and_then(Value::as_object_mut)
    {
        csi.remove("controllerExpandSecretRef");
    }
    let (old_value, new_value) = (Value::Object(old_spec), Value::Object(new_spec));
    let mut causes = Vec::new();
    if !godiff::semantic_eq(Root::PersistentVolumeSource, &new_value, &old_value) {
        causes.push(cause(
            "spec.persistentvolumesource",
            "FieldValueForbidden",
            format!(
                "Forbidden: spec.persistentvolumesource is immutable after creation\n{}",
                godiff::diff(Root::PersistentVolumeSource, &old_value, &new_value)
            ),
        ));
    }
    let mode = |v: &Value| v.get("volumeMode").filter(|m| !m.is_null()).cloned();
    if mode(&old_value) != mode(&new_value) {
        // kube-apiserver names the path `volumeMode`, without `spec`.
        causes.push(immutable_field("volumeMode", mode(&new_value).as_ref()));
    }
    causes
}

fn service(old: &Value, new: &Value) -> Vec<InvalidCause> {
    let (old_spec, new_spec) = (spec(old), spec(new));
    let old_ip = old_spec
        .get("clusterIP")
        .and_then(Value::as_str)
        .unwrap_or("");
    if old_ip.is_empty() || new_spec.get("type").and_then(Value::as_str) == Some("ExternalName") {
        return Vec::new();
    }
    let new_ips: Vec<Value> = match new_spec.get("clusterIPs").and_then(Value::as_array) {
        Some(a) if !a.is_empty() => a.clone(),
        _ => match new_spec.get("clusterIP").and_then(Value::as_str) {
            Some(ip) if !ip.is_empty() => vec![Value::String(ip.to_owned())],
            _ => return Vec::new(),
        },
    };
    let first = new_ips.first().and_then(Value::as_str);
    let singular = new_spec
        .get("clusterIP")
        .and_then(Value::as_str)
        .unwrap_or("");
    // Inconsistent fields are the allocation's error ("first value must match `clusterIP`").
    if first == Some(old_ip) || (!singular.is_empty() && first != Some(singular)) {
        return Vec::new();
    }
    vec![cause(
        "spec.clusterIPs[0]",
        "FieldValueInvalid",
        format!(
            "Invalid value: {}: may not change once set",
            render(Some(&Value::Array(new_ips)))
        ),
    )]
}

fn selector(old: &Value, new: &Value) -> Vec<InvalidCause> {
    let (o, n) = (old.pointer("/spec/selector"), new.pointer("/spec/selector"));
    if o == n {
        Vec::new()
    } else {
        vec![immutable_field("spec.selector", n)]
    }
}

fn statefulset(old: &Value, new: &Value) -> Vec<InvalidCause> {
    let mut causes = selector(old, new);
    for field in ["serviceName", "podManagementPolicy", "volumeClaimTemplates"] {
        let (o, n) = (
            old.get("spec").and_then(|s| s.get(field)),
            new.get("spec").and_then(|s| s.get(field)),
        );
        if o != n {
            causes.push(immutable_field(&format!("spec.{field}"), n));
        }
    }
    causes
}

fn secret_or_config_map(old: &Value, new: &Value, secret: bool) -> Vec<InvalidCause> {
    let mut causes = Vec::new();
    if secret && old.get("type") != new.get("type") {
        causes.push(immutable_field("type", new.get("type")));
    }
    if old.get("immutable") != Some(&Value::Bool(true)) {
        return causes;
    }
    let fields: &[&str] = if secret {
        &["data"]
    } else {
        &["data", "binaryData"]
    };
    for field in fields {
        let empty = |v: Option<&Value>| {
            v.is_none_or(|v| v.is_null() || v.as_object().is_some_and(Map::is_empty))
        };
        let (o, n) = (old.get(*field), new.get(*field));
        if o != n && !(empty(o) && empty(n)) {
            causes.push(cause(field, "FieldValueForbidden", IMMUTABLE_SET.into()));
        }
    }
    if new.get("immutable") != Some(&Value::Bool(true)) {
        causes.push(cause(
            "immutable",
            "FieldValueForbidden",
            IMMUTABLE_SET.into(),
        ));
    }
    causes
}
