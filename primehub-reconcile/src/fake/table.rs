//! `meta.k8s.io` Table output, as kube-apiserver prints each served kind for `kubectl get`.
//!
//! A client asks for a Table with `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`
//! (`v1beta1` too) and chooses what each row carries with `includeObject` (`Metadata`, the
//! default: a `PartialObjectMetadata`; `Object`; `None`). The built-in kinds are printed as
//! kube-apiserver v1.37's printers do (`pkg/printers/internalversion`, always "wide": the
//! priority-1 columns are part of every row; kubectl shows them with `-o wide`), with the
//! server's column definitions ([`COLUMNS`], captured from a real kube-apiserver); Roles as the
//! default convertor (Name, Created At), CustomResourceDefinitions as apiextensions does, and
//! custom resources from their CRD's `additionalPrinterColumns` (simple JSONPath), with Age as
//! the only column when the CRD declares none. Ages come from the cluster's clock.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use axum::http::{HeaderMap, header};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value, json};

use super::ServedKind;
use super::events::View;
use crate::error::KubeError;

/// The column definitions of the built-in kinds, keyed `group/plural`, as a kube-apiserver
/// v1.37 answers them (its descriptions are the API's field documentation).
const COLUMNS: &str = include_str!("table_columns.json");

fn builtin_columns() -> &'static BTreeMap<String, Vec<Value>> {
    static PARSED: OnceLock<BTreeMap<String, Vec<Value>>> = OnceLock::new();
    PARSED.get_or_init(|| serde_json::from_str(COLUMNS).unwrap_or_default())
}

/// `metav1.ObjectMeta`'s documentation of `name` (the Name column of every kind).
fn name_description() -> String {
    column_description("/configmaps", 0)
}

/// `metav1.ObjectMeta`'s documentation of `creationTimestamp` (the default Age column).
fn creation_description() -> String {
    column_description("/configmaps", 2)
}

fn column_description(key: &str, index: usize) -> String {
    builtin_columns()
        .get(key)
        .and_then(|c| c.get(index))
        .and_then(|c| c.get("description"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned()
}

/// What a row carries besides its cells (`includeObject`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Include {
    /// `"object": null`.
    None,
    /// A `PartialObjectMetadata` (the default).
    Metadata,
    /// The whole object.
    Object,
}

/// A request for Table output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TableRequest {
    /// `meta.k8s.io/v1` or `meta.k8s.io/v1beta1`.
    pub(crate) api_version: &'static str,
    /// What each row carries.
    pub(crate) include: Include,
}

/// The media types of an `Accept` header, in order, each as (type, parameters).
fn media_types(headers: &HeaderMap) -> Vec<(String, BTreeMap<String, String>)> {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|clause| {
            let mut parts = clause.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let params = parts
                .filter_map(|p| p.split_once('='))
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                .collect();
            (media, params)
        })
        .collect()
}

/// Whether the `Accept` header asks for aggregated discovery (`apidiscovery.k8s.io/v2`)
/// before it accepts plain JSON, as kubectl ≥ 1.30 does.
pub(crate) fn wants_aggregated_discovery(headers: &HeaderMap) -> bool {
    for (media, params) in media_types(headers) {
        let get = |k: &str| params.get(k).map(String::as_str);
        if media == "application/json" && get("as").is_some() {
            if get("as") == Some("APIGroupDiscoveryList")
                && get("g") == Some("apidiscovery.k8s.io")
                && get("v") == Some("v2")
            {
                return true;
            }
            continue;
        }
        if matches!(media.as_str(), "application/json" | "*/*" | "application/*") {
            return false;
        }
    }
    false
}

/// The Table the request asks for, if any: the first media type of `Accept` the fake serves
/// decides (a Table, or plain JSON). `includeObject` is checked as kube-apiserver checks it.
pub(crate) fn requested(
    headers: &HeaderMap,
    include_object: Option<&str>,
) -> Result<Option<TableRequest>, KubeError> {
    let mut api_version = None;
    for (media, params) in media_types(headers) {
        let get = |k: &str| params.get(k).map(String::as_str);
        if media == "application/json" && get("as").is_some() {
            if get("as") == Some("Table") && get("g") == Some("meta.k8s.io") {
                match get("v") {
                    Some("v1") => api_version = Some("meta.k8s.io/v1"),
                    Some("v1beta1") => api_version = Some("meta.k8s.io/v1beta1"),
                    _ => continue,
                }
                break;
            }
            continue;
        }
        if matches!(media.as_str(), "application/json" | "*/*" | "application/*") {
            break;
        }
    }
    let Some(api_version) = api_version else {
        return Ok(None);
    };
    let include = match include_object.unwrap_or("") {
        "" | "Metadata" => Include::Metadata,
        "Object" => Include::Object,
        "None" => Include::None,
        other => {
            return Err(KubeError::BadRequest {
                message: format!(
                    "Unable to convert to Table as requested: includeObject: Invalid value: {other:?}: must be 'Metadata', 'Object', 'None', or empty"
                ),
            });
        }
    };
    Ok(Some(TableRequest {
        api_version,
        include,
    }))
}

/// A custom resource column: `additionalPrinterColumns` of the CRD version.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PrinterColumn {
    name: String,
    type_: String,
    format: String,
    description: String,
    priority: i64,
    json_path: String,
}

impl PrinterColumn {
    /// The columns of one version of a CRD (the `Age` default when it declares none).
    pub(crate) fn of_crd_version(crd: &Value, version: &str) -> Vec<PrinterColumn> {
        let declared: Vec<PrinterColumn> = crd
            .pointer("/spec/versions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|v| v.get("name").and_then(Value::as_str) == Some(version))
            .flat_map(|v| {
                v.get("additionalPrinterColumns")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default()
            })
            .map(|c| {
                let text = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
                let json_path = text("jsonPath");
                let description = match text("description") {
                    d if d.is_empty() => format!(
                        "Custom resource definition column (in JSONPath format): {json_path}"
                    ),
                    d => d,
                };
                PrinterColumn {
                    name: text("name"),
                    type_: text("type"),
                    format: text("format"),
                    description,
                    priority: c.get("priority").and_then(Value::as_i64).unwrap_or(0),
                    json_path,
                }
            })
            .collect();
        if !declared.is_empty() {
            return declared;
        }
        vec![PrinterColumn {
            name: "Age".into(),
            type_: "date".into(),
            format: String::new(),
            description: creation_description(),
            priority: 0,
            json_path: ".metadata.creationTimestamp".into(),
        }]
    }
}

/// How the rows of a kind are printed.
#[derive(Debug, Clone)]
pub(crate) struct Printer {
    kind: PrinterKind,
    columns: Vec<Value>,
}

#[derive(Debug, Clone)]
enum PrinterKind {
    /// A built-in kind with kube-apiserver's printer (`group/plural`).
    Builtin(String),
    /// A custom resource.
    Custom(Vec<PrinterColumn>),
}

impl Printer {
    /// The printer of a served kind; `crd_columns` are the custom resource's columns (`None`
    /// for a built-in kind).
    pub(crate) fn new(sk: &ServedKind, crd_columns: Option<Vec<PrinterColumn>>) -> Printer {
        let key = format!("{}/{}", sk.kind.group, sk.kind.plural);
        if let Some(columns) = builtin_columns().get(&key) {
            return Printer {
                kind: PrinterKind::Builtin(key),
                columns: columns.clone(),
            };
        }
        let custom = crd_columns.unwrap_or_else(|| PrinterColumn::of_crd_version(&Value::Null, ""));
        let mut columns = vec![json!({
            "name": "Name", "type": "string", "format": "name",
            "description": name_description(), "priority": 0,
        })];
        columns.extend(custom.iter().map(|c| {
            json!({
                "name": c.name, "type": c.type_, "format": c.format,
                "description": c.description, "priority": c.priority,
            })
        }));
        Printer {
            kind: PrinterKind::Custom(custom),
            columns,
        }
    }

    /// A Table of `items` (as served) with the list's `metadata` (resourceVersion, continue, …).
    pub(crate) fn list(
        &self,
        sk: &ServedKind,
        request: TableRequest,
        items: &[Value],
        metadata: Value,
        now: Timestamp,
    ) -> Value {
        let rows: Vec<Value> = items
            .iter()
            .map(|o| self.row(sk, request, o, now))
            .collect();
        self.table(request, metadata, rows, true)
    }

    /// A Table of one object (a get, or a watch event: `headers` only on a watch's first).
    pub(crate) fn object(
        &self,
        sk: &ServedKind,
        request: TableRequest,
        object: &Value,
        now: Timestamp,
        headers: bool,
    ) -> Value {
        let rv = object
            .pointer("/metadata/resourceVersion")
            .cloned()
            .unwrap_or(Value::Null);
        let metadata = if rv.is_null() {
            json!({})
        } else {
            json!({"resourceVersion": rv})
        };
        let row = self.row(sk, request, object, now);
        self.table(request, metadata, vec![row], headers)
    }

    fn table(
        &self,
        request: TableRequest,
        metadata: Value,
        rows: Vec<Value>,
        headers: bool,
    ) -> Value {
        json!({
            "kind": "Table",
            "apiVersion": request.api_version,
            "metadata": metadata,
            "columnDefinitions": if headers { Value::Array(self.columns.clone()) } else { Value::Null },
            "rows": rows,
        })
    }

    fn row(&self, sk: &ServedKind, request: TableRequest, object: &Value, now: Timestamp) -> Value {
        let (cells, conditions) = match &self.kind {
            PrinterKind::Builtin(key) => {
                let core;
                let o = if View::of(sk) == View::EventsV1 {
                    core = View::EventsV1.stored(object.clone());
                    &core
                } else {
                    object
                };
                builtin_cells(key, o, now)
            }
            PrinterKind::Custom(columns) => (custom_cells(columns, object, now), None),
        };
        let embedded = match request.include {
            Include::None => Value::Null,
            Include::Object => object.clone(),
            Include::Metadata => json!({
                "kind": "PartialObjectMetadata",
                "apiVersion": request.api_version,
                "metadata": object.get("metadata").cloned().unwrap_or_else(|| json!({})),
            }),
        };
        let mut row = Map::new();
        row.insert("cells".into(), Value::Array(cells));
        if let Some(c) = conditions {
            row.insert("conditions".into(), c);
        }
        row.insert("object".into(), embedded);
        Value::Object(row)
    }
}

// ---------------------------------------------------------------------------------------------
// Field access and Go's formatting helpers.

fn text<'a>(o: &'a Value, pointer: &str) -> &'a str {
    o.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn int(o: &Value, pointer: &str) -> i64 {
    o.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

fn list<'a>(o: &'a Value, pointer: &str) -> &'a [Value] {
    o.pointer(pointer)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn time(o: &Value, pointer: &str) -> Option<Timestamp> {
    o.pointer(pointer)
        .and_then(Value::as_str)
        .and_then(|t| t.parse::<Timestamp>().ok())
}

/// `duration.HumanDuration` of apimachinery.
pub(crate) fn human_duration(d: SignedDuration) -> String {
    let seconds = d.as_secs();
    if seconds < -1 {
        return "<invalid>".into();
    } else if seconds < 0 {
        return "0s".into();
    } else if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        if s == 0 {
            return format!("{minutes}m");
        }
        return format!("{minutes}m{s}s");
    } else if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        let m = minutes % 60;
        if m == 0 {
            return format!("{hours}h");
        }
        return format!("{hours}h{m}m");
    } else if hours < 48 {
        return format!("{hours}h");
    } else if hours < 24 * 8 {
        let h = hours % 24;
        if h == 0 {
            return format!("{}d", hours / 24);
        }
        return format!("{}d{h}h", hours / 24);
    } else if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    } else if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        if dy == 0 {
            return format!("{}y", hours / 24 / 365);
        }
        return format!("{}y{dy}d", hours / 24 / 365);
    }
    format!("{}y", hours / 24 / 365)
}

/// `translateTimestampSince`: the age of a timestamp, `<unknown>` without one.
fn since(at: Option<Timestamp>, now: Timestamp) -> String {
    match at {
        Some(t) => human_duration(now.duration_since(t)),
        None => "<unknown>".into(),
    }
}

fn age(o: &Value, now: Timestamp) -> Value {
    json!(since(time(o, "/metadata/creationTimestamp"), now))
}

/// `labels.FormatLabels`: `k=v` sorted by key, `<none>` when empty.
fn format_labels(map: Option<&Value>) -> String {
    let pairs: BTreeMap<&str, &str> = map
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or("")))
        .collect();
    if pairs.is_empty() {
        return "<none>".into();
    }
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// `metav1.LabelSelectorAsSelector(...).String()`; `Err` for an unknown operator.
fn selector_string(selector: Option<&Value>) -> Result<String, ()> {
    let Some(selector) = selector.filter(|s| !s.is_null()) else {
        return Ok(String::new());
    };
    let mut requirements: Vec<(String, String)> = Vec::new();
    if let Some(labels) = selector.get("matchLabels").and_then(Value::as_object) {
        for (k, v) in labels {
            requirements.push((k.clone(), format!("{k}={}", v.as_str().unwrap_or(""))));
        }
    }
    for expr in list(selector, "/matchExpressions") {
        let key = text(expr, "/key");
        let mut values: Vec<&str> = list(expr, "/values")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        values.sort_unstable();
        let values = values.join(",");
        let printed = match text(expr, "/operator") {
            "In" => format!("{key} in ({values})"),
            "NotIn" => format!("{key} notin ({values})"),
            "Exists" => key.to_owned(),
            "DoesNotExist" => format!("!{key}"),
            _ => return Err(()),
        };
        requirements.push((key.to_owned(), printed));
    }
    requirements.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(requirements
        .into_iter()
        .map(|(_, r)| r)
        .collect::<Vec<_>>()
        .join(","))
}

/// `metav1.FormatLabelSelector`.
fn format_label_selector(selector: Option<&Value>) -> String {
    match selector_string(selector) {
        Ok(s) if s.is_empty() => "<none>".into(),
        Ok(s) => s,
        Err(()) => "<error>".into(),
    }
}

/// `layoutContainerCells`: container names and images, comma-separated.
fn containers(o: &Value, pointer: &str) -> (String, String) {
    let list = list(o, pointer);
    let names: Vec<&str> = list.iter().map(|c| text(c, "/name")).collect();
    let images: Vec<&str> = list.iter().map(|c| text(c, "/image")).collect();
    (names.join(","), images.join(","))
}

/// `GetAccessModesAsString`.
fn access_modes(modes: &[Value]) -> String {
    let has = |m: &str| modes.iter().any(|v| v.as_str() == Some(m));
    [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ]
    .iter()
    .filter(|(m, _)| has(m))
    .map(|(_, s)| *s)
    .collect::<Vec<_>>()
    .join(",")
}

/// The load balancer ingress points (IP, else hostname), sorted and deduplicated.
fn load_balancer(o: &Value, pointer: &str) -> String {
    let set: std::collections::BTreeSet<&str> = list(o, pointer)
        .iter()
        .filter_map(|i| {
            let ip = text(i, "/ip");
            let host = text(i, "/hostname");
            if !ip.is_empty() {
                Some(ip)
            } else if !host.is_empty() {
                Some(host)
            } else {
                None
            }
        })
        .collect();
    set.into_iter().collect::<Vec<_>>().join(",")
}

fn strings(o: &Value, pointer: &str) -> Vec<String> {
    list(o, pointer)
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The built-in printers (kube-apiserver v1.37, `pkg/printers/internalversion/printers.go`).

fn builtin_cells(key: &str, o: &Value, now: Timestamp) -> (Vec<Value>, Option<Value>) {
    let name = json!(text(o, "/metadata/name"));
    let cells = match key {
        "/pods" => return pod_cells(o, now),
        "/namespaces" => vec![name, json!(text(o, "/status/phase")), age(o, now)],
        "/services" => service_cells(o, now),
        "/configmaps" => {
            let count = |p: &str| o.pointer(p).and_then(Value::as_object).map_or(0, Map::len);
            vec![
                name,
                json!(count("/data") + count("/binaryData")),
                age(o, now),
            ]
        }
        "/secrets" => {
            // kube-apiserver folds stringData into data on write; count both here.
            let mut keys: std::collections::BTreeSet<&String> = std::collections::BTreeSet::new();
            for p in ["/data", "/stringData"] {
                keys.extend(
                    o.pointer(p)
                        .and_then(Value::as_object)
                        .into_iter()
                        .flat_map(Map::keys),
                );
            }
            vec![
                name,
                json!(text(o, "/type")),
                json!(keys.len()),
                age(o, now),
            ]
        }
        "/serviceaccounts" => vec![name, age(o, now)],
        "/persistentvolumeclaims" => pvc_cells(o, now),
        "/persistentvolumes" => pv_cells(o, now),
        "/events" | "events.k8s.io/events" => event_cells(o, now),
        "apps/deployments" => {
            let (names, images) = containers(o, "/spec/template/spec/containers");
            let selector = selector_string(o.pointer("/spec/selector"))
                .unwrap_or_else(|()| "<invalid>".into());
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    int(o, "/status/readyReplicas"),
                    replicas(o)
                )),
                json!(int(o, "/status/updatedReplicas")),
                json!(int(o, "/status/availableReplicas")),
                age(o, now),
                json!(names),
                json!(images),
                json!(selector),
            ]
        }
        "apps/statefulsets" => {
            let (names, images) = containers(o, "/spec/template/spec/containers");
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    int(o, "/status/readyReplicas"),
                    replicas(o)
                )),
                age(o, now),
                json!(names),
                json!(images),
            ]
        }
        "apps/daemonsets" => {
            let (names, images) = containers(o, "/spec/template/spec/containers");
            vec![
                name,
                json!(int(o, "/status/desiredNumberScheduled")),
                json!(int(o, "/status/currentNumberScheduled")),
                json!(int(o, "/status/numberReady")),
                json!(int(o, "/status/updatedNumberScheduled")),
                json!(int(o, "/status/numberAvailable")),
                json!(format_labels(o.pointer("/spec/template/spec/nodeSelector"))),
                age(o, now),
                json!(names),
                json!(images),
                json!(format_label_selector(o.pointer("/spec/selector"))),
            ]
        }
        "networking.k8s.io/ingresses" => ingress_cells(o, now),
        "networking.k8s.io/networkpolicies" => vec![
            name,
            json!(format_label_selector(Some(
                o.pointer("/spec/podSelector").unwrap_or(&json!({}))
            ))),
            age(o, now),
        ],
        "coordination.k8s.io/leases" => {
            vec![name, json!(text(o, "/spec/holderIdentity")), age(o, now)]
        }
        "rbac.authorization.k8s.io/rolebindings" => {
            let subjects = list(o, "/subjects");
            let of = |kind: &str| -> String {
                subjects
                    .iter()
                    .filter(|s| text(s, "/kind") == kind)
                    .map(|s| {
                        if kind == "ServiceAccount" {
                            format!("{}/{}", text(s, "/namespace"), text(s, "/name"))
                        } else {
                            text(s, "/name").to_owned()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    text(o, "/roleRef/kind"),
                    text(o, "/roleRef/name")
                )),
                age(o, now),
                json!(of("User")),
                json!(of("Group")),
                json!(of("ServiceAccount")),
            ]
        }
        "apiextensions.k8s.io/customresourcedefinitions" => crd_cells(o),
        // Roles and anything else: the default convertor (Name, Created At).
        _ => vec![name, json!(created_at(o))],
    };
    (cells, None)
}

/// `spec.replicas`, as kube-apiserver defaults it (1) when the object has none.
fn replicas(o: &Value) -> i64 {
    o.pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1)
}

/// `creationTimestamp` in RFC 3339 (UTC), as the "Created At" columns print it.
fn created_at(o: &Value) -> String {
    match time(o, "/metadata/creationTimestamp") {
        Some(t) => t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        None => "0001-01-01T00:00:00Z".into(),
    }
}

fn crd_cells(o: &Value) -> Vec<Value> {
    let mut versions: Vec<String> = list(o, "/spec/versions")
        .iter()
        .filter(|v| v.get("served").and_then(Value::as_bool) == Some(true))
        .map(|v| {
            let mut label = text(v, "/name").to_owned();
            if v.get("storage").and_then(Value::as_bool) == Some(true) {
                label.push_str("(storage)");
            }
            label
        })
        .collect();
    versions.sort();
    let established = list(o, "/status/conditions")
        .iter()
        .any(|c| text(c, "/type") == "Established" && text(c, "/status") == "True");
    vec![
        json!(text(o, "/metadata/name")),
        json!(text(o, "/spec/scope")),
        json!(versions.join(",")),
        json!(created_at(o)),
        json!(text(o, "/spec/group")),
        json!(text(o, "/spec/names/kind")),
        json!(strings(o, "/spec/names/shortNames").join(",")),
        json!(established),
    ]
}

fn pod_cells(pod: &Value, now: Timestamp) -> (Vec<Value>, Option<Value>) {
    let containers = list(pod, "/spec/containers");
    let init_specs = list(pod, "/spec/initContainers");
    let restartable = |name: &str| {
        init_specs
            .iter()
            .any(|c| text(c, "/name") == name && text(c, "/restartPolicy") == "Always")
    };
    let mut total = containers.len();
    total += init_specs
        .iter()
        .filter(|c| text(c, "/restartPolicy") == "Always")
        .count();
    let mut ready = 0usize;
    let mut restarts: i64 = 0;
    let mut restartable_restarts: i64 = 0;
    let mut last_restart: Option<Timestamp> = None;
    let mut last_restartable_restart: Option<Timestamp> = None;
    let later = |a: Option<Timestamp>, b: Option<Timestamp>| match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };

    let phase = text(pod, "/status/phase");
    let mut reason = phase.to_owned();
    if !text(pod, "/status/reason").is_empty() {
        reason = text(pod, "/status/reason").to_owned();
    }
    let conditions = list(pod, "/status/conditions");
    if conditions
        .iter()
        .any(|c| text(c, "/type") == "PodScheduled" && text(c, "/reason") == "SchedulingGated")
    {
        reason = "SchedulingGated".into();
    }
    let row_conditions = match phase {
        "Succeeded" => Some(
            json!([{"type": "Completed", "status": "True", "reason": "Succeeded", "message": "The pod has completed successfully."}]),
        ),
        "Failed" => Some(
            json!([{"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}]),
        ),
        _ => None,
    };

    let mut initializing = false;
    for (i, c) in list(pod, "/status/initContainerStatuses")
        .iter()
        .enumerate()
    {
        let count = int(c, "/restartCount");
        restarts += count;
        let finished = time(c, "/lastState/terminated/finishedAt");
        if c.pointer("/lastState/terminated").is_some() {
            last_restart = later(last_restart, finished);
        }
        let is_restartable = restartable(text(c, "/name"));
        if is_restartable {
            restartable_restarts += count;
            if c.pointer("/lastState/terminated").is_some() {
                last_restartable_restart = later(last_restartable_restart, finished);
            }
        }
        let terminated = c.pointer("/state/terminated");
        let waiting_reason = text(c, "/state/waiting/reason");
        if terminated.is_some() && int(c, "/state/terminated/exitCode") == 0 {
            continue;
        }
        if is_restartable && c.get("started").and_then(Value::as_bool) == Some(true) {
            if c.get("ready").and_then(Value::as_bool) == Some(true) {
                ready += 1;
            }
            continue;
        }
        if terminated.is_some() {
            let r = text(c, "/state/terminated/reason");
            reason = if !r.is_empty() {
                format!("Init:{r}")
            } else if int(c, "/state/terminated/signal") != 0 {
                format!("Init:Signal:{}", int(c, "/state/terminated/signal"))
            } else {
                format!("Init:ExitCode:{}", int(c, "/state/terminated/exitCode"))
            };
        } else if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" {
            reason = format!("Init:{waiting_reason}");
        } else {
            reason = format!("Init:{i}/{}", init_specs.len());
        }
        initializing = true;
        break;
    }

    let initialized = conditions
        .iter()
        .find(|c| text(c, "/type") == "Initialized")
        .is_some_and(|c| text(c, "/status") == "True");
    if !initializing || initialized {
        restarts = restartable_restarts;
        last_restart = last_restartable_restart;
        let mut has_running = false;
        let mut error_reason = String::new();
        for c in list(pod, "/status/containerStatuses").iter().rev() {
            restarts += int(c, "/restartCount");
            if c.pointer("/lastState/terminated").is_some() {
                last_restart = later(last_restart, time(c, "/lastState/terminated/finishedAt"));
            }
            let waiting_reason = text(c, "/state/waiting/reason");
            if c.pointer("/state/waiting").is_some() && !waiting_reason.is_empty() {
                reason = waiting_reason.to_owned();
            } else if c.pointer("/state/terminated").is_some() {
                let r = text(c, "/state/terminated/reason");
                reason = if !r.is_empty() {
                    r.to_owned()
                } else if int(c, "/state/terminated/signal") != 0 {
                    format!("Signal:{}", int(c, "/state/terminated/signal"))
                } else {
                    format!("ExitCode:{}", int(c, "/state/terminated/exitCode"))
                };
                if int(c, "/state/terminated/exitCode") != 0 {
                    error_reason = reason.clone();
                }
            } else if c.get("ready").and_then(Value::as_bool) == Some(true)
                && c.pointer("/state/running").is_some()
            {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" {
            let pod_ready = conditions
                .iter()
                .any(|c| text(c, "/type") == "Ready" && text(c, "/status") == "True");
            if has_running && pod_ready {
                reason = "Running".into();
            } else if !error_reason.is_empty() {
                reason = error_reason;
            } else if has_running {
                reason = "NotReady".into();
            }
        }
    }

    let deleting = pod.pointer("/metadata/deletionTimestamp").is_some();
    if deleting && text(pod, "/status/reason") == "NodeLost" {
        reason = "Unknown".into();
    } else if deleting && !matches!(phase, "Succeeded" | "Failed") {
        reason = "Terminating".into();
    }

    let restarts_text = match last_restart {
        Some(at) if restarts != 0 => format!("{restarts} ({} ago)", since(Some(at), now)),
        _ => restarts.to_string(),
    };
    let or_none = |s: &str| {
        if s.is_empty() {
            "<none>".to_owned()
        } else {
            s.to_owned()
        }
    };
    let ip = list(pod, "/status/podIPs")
        .first()
        .map(|p| text(p, "/ip"))
        .unwrap_or("");
    let gates = list(pod, "/spec/readinessGates");
    let readiness = if gates.is_empty() {
        "<none>".to_owned()
    } else {
        let true_count = gates
            .iter()
            .filter(|g| {
                conditions
                    .iter()
                    .find(|c| text(c, "/type") == text(g, "/conditionType"))
                    .is_some_and(|c| text(c, "/status") == "True")
            })
            .count();
        format!("{true_count}/{}", gates.len())
    };
    let cells = vec![
        json!(text(pod, "/metadata/name")),
        json!(format!("{ready}/{total}")),
        json!(reason),
        json!(restarts_text),
        age(pod, now),
        json!(or_none(ip)),
        json!(or_none(text(pod, "/spec/nodeName"))),
        json!(or_none(text(pod, "/status/nominatedNodeName"))),
        json!(readiness),
    ];
    (cells, row_conditions)
}

fn service_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let type_ = text(o, "/spec/type");
    let internal_ip = list(o, "/spec/clusterIPs")
        .first()
        .and_then(Value::as_str)
        .unwrap_or("<none>");
    let external: Vec<String> = strings(o, "/spec/externalIPs");
    let external_ip = match type_ {
        "ClusterIP" | "NodePort" if !external.is_empty() => external.join(","),
        "ClusterIP" | "NodePort" => "<none>".into(),
        "LoadBalancer" => {
            let lb = load_balancer(o, "/status/loadBalancer/ingress");
            if !external.is_empty() {
                let mut all: Vec<String> = if lb.is_empty() {
                    Vec::new()
                } else {
                    lb.split(',').map(str::to_owned).collect()
                };
                all.extend(external);
                all.join(",")
            } else if !lb.is_empty() {
                lb
            } else {
                "<pending>".into()
            }
        }
        "ExternalName" => text(o, "/spec/externalName").to_owned(),
        _ => "<unknown>".into(),
    };
    let ports: Vec<String> = list(o, "/spec/ports")
        .iter()
        .map(|p| {
            let port = int(p, "/port");
            let protocol = text(p, "/protocol");
            match int(p, "/nodePort") {
                n if n > 0 => format!("{port}:{n}/{protocol}"),
                _ => format!("{port}/{protocol}"),
            }
        })
        .collect();
    let ports = if ports.is_empty() {
        "<none>".to_owned()
    } else {
        ports.join(",")
    };
    vec![
        json!(text(o, "/metadata/name")),
        json!(type_),
        json!(internal_ip),
        json!(external_ip),
        json!(ports),
        age(o, now),
        json!(format_labels(o.pointer("/spec/selector"))),
    ]
}

/// The beta storage-class annotation wins over the field, as kube-apiserver's helpers do.
fn storage_class(o: &Value) -> String {
    match o.pointer("/metadata/annotations/volume.beta.kubernetes.io~1storage-class") {
        Some(Value::String(c)) => c.clone(),
        _ => text(o, "/spec/storageClassName").to_owned(),
    }
}

fn pvc_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let phase = if o.pointer("/metadata/deletionTimestamp").is_some() {
        "Terminating"
    } else {
        text(o, "/status/phase")
    };
    let volume = text(o, "/spec/volumeName");
    let (capacity, modes) = if volume.is_empty() {
        (String::new(), String::new())
    } else {
        (
            quantity(o, "/status/capacity/storage"),
            access_modes(list(o, "/status/accessModes")),
        )
    };
    let vac = o
        .pointer("/spec/volumeAttributesClassName")
        .and_then(Value::as_str)
        .unwrap_or("<unset>");
    let mode = o
        .pointer("/spec/volumeMode")
        .and_then(Value::as_str)
        .unwrap_or("<unset>");
    vec![
        json!(text(o, "/metadata/name")),
        json!(phase),
        json!(volume),
        json!(capacity),
        json!(modes),
        json!(storage_class(o)),
        json!(vac),
        age(o, now),
        json!(mode),
    ]
}

/// A quantity as stored (kube-apiserver stores canonical quantities); "0" when absent.
fn quantity(o: &Value, pointer: &str) -> String {
    match o.pointer(pointer) {
        Some(Value::String(q)) => q.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "0".into(),
    }
}

fn pv_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let claim = match o.pointer("/spec/claimRef") {
        Some(r) if r.is_object() => format!("{}/{}", text(r, "/namespace"), text(r, "/name")),
        _ => String::new(),
    };
    let phase = if o.pointer("/metadata/deletionTimestamp").is_some() {
        "Terminating"
    } else {
        text(o, "/status/phase")
    };
    let vac = o
        .pointer("/spec/volumeAttributesClassName")
        .and_then(Value::as_str)
        .unwrap_or("<unset>");
    let mode = o
        .pointer("/spec/volumeMode")
        .and_then(Value::as_str)
        .unwrap_or("<unset>");
    vec![
        json!(text(o, "/metadata/name")),
        json!(quantity(o, "/spec/capacity/storage")),
        json!(access_modes(list(o, "/spec/accessModes"))),
        json!(text(o, "/spec/persistentVolumeReclaimPolicy")),
        json!(phase),
        json!(claim),
        json!(storage_class(o)),
        json!(vac),
        json!(text(o, "/status/reason")),
        age(o, now),
        json!(mode),
    ]
}

/// A core `v1` Event (an `events.k8s.io/v1` one is converted first).
fn event_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let first = match time(o, "/firstTimestamp") {
        Some(t) => since(Some(t), now),
        None => since(time(o, "/eventTime"), now),
    };
    let mut last = match time(o, "/lastTimestamp") {
        Some(t) => since(Some(t), now),
        None => first.clone(),
    };
    let mut count = int(o, "/count");
    if o.get("series").is_some_and(|s| !s.is_null()) {
        last = since(time(o, "/series/lastObservedTime"), now);
        count = int(o, "/series/count");
    } else if count == 0 {
        count = 1;
    }
    let kind = text(o, "/involvedObject/kind").to_lowercase();
    let target = match text(o, "/involvedObject/name") {
        "" => kind,
        name => format!("{kind}/{name}"),
    };
    let component = match text(o, "/source/component") {
        "" => text(o, "/reportingComponent"),
        c => c,
    };
    let instance = match text(o, "/source/host") {
        "" => text(o, "/reportingInstance"),
        h => h,
    };
    let source = if instance.is_empty() {
        component.to_owned()
    } else {
        format!("{component}, {instance}")
    };
    vec![
        json!(last),
        json!(text(o, "/type")),
        json!(text(o, "/reason")),
        json!(target),
        json!(text(o, "/involvedObject/fieldPath")),
        json!(source),
        json!(text(o, "/message").trim()),
        json!(first),
        json!(count),
        json!(text(o, "/metadata/name")),
    ]
}

fn ingress_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let class = o
        .pointer("/spec/ingressClassName")
        .and_then(Value::as_str)
        .unwrap_or("<none>");
    let rules = list(o, "/spec/rules");
    let mut hosts: Vec<&str> = Vec::new();
    let mut more = false;
    for rule in rules {
        if hosts.len() == 3 {
            more = true;
        }
        let host = text(rule, "/host");
        if !more && !host.is_empty() {
            hosts.push(host);
        }
    }
    let hosts = if hosts.is_empty() {
        "*".to_owned()
    } else if more {
        format!("{} + {} more...", hosts.join(","), rules.len() - 3)
    } else {
        hosts.join(",")
    };
    let ports = if list(o, "/spec/tls").is_empty() {
        "80"
    } else {
        "80, 443"
    };
    vec![
        json!(text(o, "/metadata/name")),
        json!(class),
        json!(hosts),
        json!(load_balancer(o, "/status/loadBalancer/ingress")),
        json!(ports),
        age(o, now),
    ]
}

// ---------------------------------------------------------------------------------------------
// Custom resources: `additionalPrinterColumns` (apiextensions' tableconvertor).

fn custom_cells(columns: &[PrinterColumn], o: &Value, now: Timestamp) -> Vec<Value> {
    let mut cells = vec![json!(text(o, "/metadata/name"))];
    for column in columns {
        let value = json_path(o, &column.json_path);
        cells.push(match value {
            None => Value::Null,
            Some(v) if column.type_ == "string" => {
                print_value(v).map_or(Value::Null, Value::String)
            }
            Some(v) => typed_cell(&column.type_, v, now),
        });
    }
    cells
}

/// One step of a simple JSONPath.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Field(String),
    Index(i64),
    All,
}

/// Parses a simple JSONPath (`.a.b`, `.a[0].b`, `.a['x.y']`, `.a[*].b`); `None` for syntax
/// the fake does not evaluate (filters, ranges, unions).
fn parse_path(path: &str) -> Option<Vec<Step>> {
    let path = path.trim();
    let path = path
        .strip_prefix('{')
        .and_then(|p| p.strip_suffix('}'))
        .unwrap_or(path);
    let path = path.strip_prefix('$').unwrap_or(path);
    let mut steps = Vec::new();
    let chars: Vec<char> = path.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '.' => {
                let start = i + 1;
                let mut end = start;
                while end < chars.len() && chars[end] != '.' && chars[end] != '[' {
                    end += 1;
                }
                if end == start {
                    return None;
                }
                steps.push(Step::Field(chars[start..end].iter().collect()));
                i = end;
            }
            '[' => {
                let close = chars[i..].iter().position(|&c| c == ']')? + i;
                let inner: String = chars[i + 1..close].iter().collect();
                let inner = inner.trim();
                if inner == "*" {
                    steps.push(Step::All);
                } else if let Some(q) = inner
                    .strip_prefix('\'')
                    .and_then(|s| s.strip_suffix('\''))
                    .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
                {
                    steps.push(Step::Field(q.to_owned()));
                } else {
                    steps.push(Step::Index(inner.parse().ok()?));
                }
                i = close + 1;
            }
            _ => return None,
        }
    }
    Some(steps)
}

/// The first value a simple JSONPath finds (missing keys find nothing).
fn json_path<'a>(o: &'a Value, path: &str) -> Option<&'a Value> {
    let steps = parse_path(path)?;
    let mut current = o;
    for step in steps {
        current = match step {
            Step::Field(f) => current.get(f.as_str())?,
            Step::Index(i) => {
                let list = current.as_array()?;
                let len = i64::try_from(list.len()).ok()?;
                let i = if i < 0 { len + i } else { i };
                list.get(usize::try_from(i).ok()?)?
            }
            Step::All => current.as_array()?.first()?,
        };
    }
    Some(current)
}

/// How client-go's JSONPath prints a value (`fmt.Fprint`, compact JSON for lists and maps).
fn print_value(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (None, Some(u), _) => u.to_string(),
            (_, _, Some(f)) => go_float(f),
            _ => n.to_string(),
        }),
        Value::Array(_) | Value::Object(_) => serde_json::to_string(v).ok(),
    }
}

/// Go's `%v` of a float64: the shortest representation, in exponent form when the exponent
/// is below -4 or at least 6 (`1e+06`, `1.5e-05`).
pub(crate) fn go_float(f: f64) -> String {
    if !f.is_finite() {
        return if f.is_nan() {
            "NaN".into()
        } else if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..6).contains(&exp) {
        return format!("{f}");
    }
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exp.abs())
}

/// `cellForJSONValue` of apiextensions.
fn typed_cell(type_: &str, v: &Value, now: Timestamp) -> Value {
    match (type_, v) {
        ("integer", Value::Number(n)) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => json!(i),
            #[allow(clippy::cast_possible_truncation)]
            (None, Some(f)) => json!(f.trunc() as i64),
            _ => Value::Null,
        },
        ("number", Value::Number(n)) => match n.as_f64() {
            // Go encodes a float64 with an integral value below 1e21 without a fraction.
            #[allow(clippy::cast_possible_truncation)]
            Some(f) if f.fract() == 0.0 && f.abs() < 1e21 => {
                if f.abs() < 9.0e15 {
                    json!(f as i64)
                } else {
                    json!(f)
                }
            }
            Some(f) => json!(f),
            None => Value::Null,
        },
        ("boolean", Value::Bool(b)) => json!(b),
        ("string", Value::String(s)) => json!(s),
        ("date", Value::String(s)) => {
            if s.is_empty() {
                return json!("<unknown>");
            }
            match s.parse::<Timestamp>() {
                Ok(t) => json!(human_duration(now.duration_since(t))),
                Err(_) => json!("<invalid>"),
            }
        }
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn human_durations_as_apimachinery_prints_them() {
        let cases = [
            (-5, "<invalid>"),
            (-1, "0s"),
            (0, "0s"),
            (119, "119s"),
            (120, "2m"),
            (150, "2m30s"),
            (600, "10m"),
            (3 * 3600 - 1, "179m"),
            (3 * 3600, "3h"),
            (3 * 3600 + 60, "3h1m"),
            (8 * 3600, "8h"),
            (47 * 3600, "47h"),
            (48 * 3600, "2d"),
            (3 * 86400 + 10 * 3600, "3d10h"),
            (8 * 86400, "8d"),
            (730 * 86400, "2y"),
            (731 * 86400, "2y1d"),
            (8 * 365 * 86400, "8y"),
        ];
        for (secs, want) in cases {
            assert_eq!(
                human_duration(SignedDuration::from_secs(secs)),
                want,
                "{secs}s"
            );
        }
    }

    #[test]
    fn floats_print_as_go_prints_them() {
        assert_eq!(go_float(3.7), "3.7");
        assert_eq!(go_float(1000.0), "1000");
        assert_eq!(go_float(123_456.0), "123456");
        assert_eq!(go_float(1_234_567.0), "1.234567e+06");
        assert_eq!(go_float(1e21), "1e+21");
        assert_eq!(go_float(0.0001), "0.0001");
        assert_eq!(go_float(0.000_015), "1.5e-05");
        assert_eq!(go_float(-2.5), "-2.5");
    }

    #[test]
    fn selectors_print_sorted_by_key() {
        let sel = json!({
            "matchLabels": {"b": "2", "a": "1"},
            "matchExpressions": [
                {"key": "c", "operator": "In", "values": ["y", "x"]},
                {"key": "aa", "operator": "DoesNotExist"},
            ],
        });
        assert_eq!(
            selector_string(Some(&sel)),
            Ok("a=1,!aa,b=2,c in (x,y)".to_owned())
        );
        assert_eq!(format_label_selector(Some(&json!({}))), "<none>");
        assert_eq!(
            format_label_selector(Some(
                &json!({"matchExpressions": [{"key": "k", "operator": "Nope"}]})
            )),
            "<error>"
        );
    }

    #[test]
    fn json_paths_find_the_first_value() {
        let o = json!({"spec": {"list": [{"name": "x"}, {"name": "y"}], "a.b": 1}});
        assert_eq!(json_path(&o, ".spec.list[0].name"), Some(&json!("x")));
        assert_eq!(json_path(&o, ".spec.list[-1].name"), Some(&json!("y")));
        assert_eq!(json_path(&o, ".spec.list[*].name"), Some(&json!("x")));
        assert_eq!(json_path(&o, ".spec['a.b']"), Some(&json!(1)));
        assert_eq!(json_path(&o, ".spec.list[5].name"), None);
        assert_eq!(json_path(&o, ".spec.missing"), None);
        assert_eq!(json_path(&o, "spec"), None);
    }

    proptest! {
        #[test]
        fn json_path_parser_never_panics(path in ".{0,40}") {
            let _ = parse_path(&path);
        }

        #[test]
        fn field_paths_round_trip(fields in proptest::collection::vec("[a-zA-Z][a-zA-Z0-9]{0,8}", 1..5)) {
            let path: String = fields.iter().map(|f| format!(".{f}")).collect();
            let steps = parse_path(&path).expect("a simple path");
            prop_assert_eq!(steps, fields.iter().map(|f| Step::Field(f.clone())).collect::<Vec<_>>());
        }

        #[test]
        fn human_duration_is_never_empty(secs in -100i64..1_000_000_000) {
            prop_assert!(!human_duration(SignedDuration::from_secs(secs)).is_empty());
        }
    }
}
