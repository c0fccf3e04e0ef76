//! Value validation of built-in kinds, as kube-apiserver v1.37 validates them
//! (`pkg/apis/core/validation`, `pkg/apis/apps/validation`), after defaulting and admission, on
//! every create, update and patch (dry runs included). The causes join those of the name,
//! labels and annotations ([`super::metadata_validation`]) and, on updates, of the immutable
//! fields ([`super::immutable`]) in one 422 `Invalid`, in kube-apiserver's order: metadata, then
//! the kind's rules in the order its validation runs them. Each message is kube-apiserver's
//! (checked against the real server in `conformance_validation`).
//!
//! The rules implemented — the ones PrimeHub's users and controllers meet:
//!
//! - pod specs (Pods, and the templates of Deployments, StatefulSets and DaemonSets, at
//!   `spec.template.spec`): volumes' names (required, RFC 1123 label, unique); `containers`
//!   required; each container's and init container's name (required, RFC 1123 label, unique
//!   across both lists), `image` required, ports (`name` an IANA service name and unique,
//!   `containerPort` required and 1–65535, `hostPort` 1–65535, `protocol` TCP/UDP/SCTP), env
//!   names (required; printable ASCII without `=`), volume mounts (`name` required and naming a
//!   volume, `mountPath` required and unique), `imagePullPolicy`, resources
//!   (`ValidateContainerResourceRequirements`: standard names for names without a `/`,
//!   extended resource names, non-negative quantities, whole numbers for extended and other
//!   integer resources, hugepages a multiple of their page size and only with cpu or memory,
//!   requests at most the limits and equal to them for non-overcommitable resources);
//!   `restartPolicy`, `dnsPolicy`, `nodeSelector` label syntax, `activeDeadlineSeconds`
//!   (1–2147483647); template labels and annotations syntax;
//! - Deployments, StatefulSets, DaemonSets: `replicas` (not DaemonSets), `minReadySeconds`,
//!   `revisionHistoryLimit`, `progressDeadlineSeconds` non-negative (and the deadline above
//!   `minReadySeconds`); `selector` required and not empty; the template's labels matching the
//!   selector; the template's `restartPolicy` Always and no `activeDeadlineSeconds`; a
//!   StatefulSet's `serviceName` an RFC 1123 label;
//! - Services: `ports` required (except headless and ExternalName services), port names
//!   (required when there are several, RFC 1123 label, unique), `port` 1–65535, `protocol`,
//!   `targetPort` (1–65535 or an IANA service name), `selector` label syntax, `type`;
//! - PersistentVolumeClaims: `accessModes` required and supported, `resources.requests.storage`
//!   required and positive;
//! - ConfigMaps and Secrets: data keys (`IsConfigMapKey`); the keys a Secret's `type` requires
//!   (`kubernetes.io/dockerconfigjson`, `kubernetes.io/dockercfg`, `kubernetes.io/tls`,
//!   `kubernetes.io/basic-auth`, `kubernetes.io/ssh-auth`).
//!
//! [`warnings`] sends the pod strategies' quantity warnings (fractional bytes of memory and
//! ephemeral storage) on successful writes.
//!
//! Enumerations kube-apiserver defaults (`restartPolicy`, `dnsPolicy`, `imagePullPolicy`,
//! `terminationMessagePolicy`, port `protocol`, Service `type`) are only checked when set: an
//! empty one is defaulted before validation runs.
//!
//! Not implemented (an invalid value there is stored, where kube-apiserver refuses it): the
//! other rules of these kinds (volume sources, probes, lifecycle hooks, security contexts,
//! affinity, tolerations, topology spread, DNS config, label selector syntax inside
//! `selector`, update strategies, Service IP families, traffic policies and node ports beyond
//! what the fake allocates, PVC data sources and selectors, Secret contents beyond the
//! required keys, resource claims, pod-level resources and overhead), and every rule of
//! PersistentVolumes, Ingresses, NetworkPolicies, Events, Leases, RBAC objects and CRDs.
//! Where Go walks a map (resources, data keys) the fake reports keys in sorted order.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::ServedKind;
use super::metadata_validation::{label_value, qualified_name};
use super::quantity::Quantity;
use crate::error::{InvalidCause, KubeError};

/// A JSON path as kube-apiserver writes it (`spec.containers[0].ports[1].name`).
#[derive(Debug, Clone)]
struct Path(String);

impl Path {
    fn root(name: &str) -> Path {
        Path(name.to_owned())
    }
    fn child(&self, name: &str) -> Path {
        if self.0.is_empty() {
            Path(name.to_owned())
        } else {
            Path(format!("{}.{name}", self.0))
        }
    }
    fn index(&self, i: usize) -> Path {
        Path(format!("{}[{i}]", self.0))
    }
    fn key(&self, key: &str) -> Path {
        Path(format!("{}[{key}]", self.0))
    }
}

/// Go's `%q` of a string.
fn q(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn cause(path: &Path, reason: &str, message: String) -> InvalidCause {
    InvalidCause {
        field: path.0.clone(),
        reason: reason.into(),
        message,
    }
}

fn required(path: &Path, detail: &str) -> InvalidCause {
    let message = if detail.is_empty() {
        "Required value".to_owned()
    } else {
        format!("Required value: {detail}")
    };
    cause(path, "FieldValueRequired", message)
}

/// `field.Invalid` with the value already rendered (`"x"`, `5`, `{"a":"b"}`).
fn invalid(path: &Path, value: &str, detail: &str) -> InvalidCause {
    cause(
        path,
        "FieldValueInvalid",
        format!("Invalid value: {value}: {detail}"),
    )
}

fn not_supported(path: &Path, value: &str, supported: &[&str]) -> InvalidCause {
    let list: Vec<String> = supported.iter().map(|s| q(s)).collect();
    cause(
        path,
        "FieldValueNotSupported",
        format!(
            "Unsupported value: {}: supported values: {}",
            q(value),
            list.join(", ")
        ),
    )
}

fn duplicate(path: &Path, value: &str) -> InvalidCause {
    cause(
        path,
        "FieldValueDuplicate",
        format!("Duplicate value: {value}"),
    )
}

fn not_found(path: &Path, value: &str) -> InvalidCause {
    cause(
        path,
        "FieldValueNotFound",
        format!("Not found: {}", q(value)),
    )
}

fn forbidden(path: &Path, detail: &str) -> InvalidCause {
    cause(path, "FieldValueForbidden", format!("Forbidden: {detail}"))
}

const NEGATIVE: &str = "must be greater than or equal to 0";
const DNS1123_LABEL_ERR: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const CONFIG_KEY_ERR: &str = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";
const ENV_NAME_ERR: &str = "a valid environment variable name must consist only of printable ASCII characters other than '='";

fn str_at<'a>(o: &'a Value, key: &str) -> Option<&'a str> {
    o.get(key).and_then(Value::as_str)
}

fn int_at(o: &Value, key: &str) -> Option<i64> {
    o.get(key).and_then(Value::as_i64)
}

fn list_at<'a>(o: &'a Value, key: &str) -> &'a [Value] {
    o.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn map_at<'a>(o: &'a Value, key: &str) -> Option<&'a Map<String, Value>> {
    o.get(key).and_then(Value::as_object)
}

fn is_dns1123_label(s: &str) -> bool {
    let b = s.as_bytes();
    let ok = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    match (b.first(), b.last()) {
        (Some(&f), Some(&l)) => ok(f) && ok(l) && b.iter().all(|&c| ok(c) || c == b'-'),
        _ => false,
    }
}

/// `IsDNS1123Label`'s messages.
fn dns1123_label(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 63 {
        errs.push("must be no more than 63 bytes".to_owned());
    }
    if !is_dns1123_label(value) {
        if value.len() <= 253 && value.split('.').all(is_dns1123_label) {
            errs.push("must not contain dots".to_owned());
        } else {
            errs.push(DNS1123_LABEL_ERR.to_owned());
        }
    }
    errs
}

fn validate_dns1123_label(value: &str, path: &Path, out: &mut Vec<InvalidCause>) {
    for m in dns1123_label(value) {
        out.push(invalid(path, &q(value), &m));
    }
}

/// `IsValidPortName` (an IANA service name).
fn port_name(port: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if port.len() > 15 {
        errs.push("must be no more than 15 bytes".to_owned());
    }
    if port.is_empty()
        || !port
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
    {
        errs.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".into());
    }
    if !port.bytes().any(|c| c.is_ascii_lowercase()) {
        errs.push("must contain at least one letter (a-z)".into());
    }
    if port.contains("--") {
        errs.push("must not contain consecutive hyphens".into());
    }
    if port.starts_with('-') || port.ends_with('-') {
        errs.push("must not begin or end with a hyphen".into());
    }
    errs
}

const PORT_RANGE: &str = "must be between 1 and 65535, inclusive";

fn valid_port(n: i64) -> bool {
    (1..=65535).contains(&n)
}

/// `ValidateLabels` at `path` (nodeSelector, template labels, Service selector).
fn validate_labels(labels: Option<&Map<String, Value>>, path: &Path, out: &mut Vec<InvalidCause>) {
    let Some(labels) = labels else { return };
    for (key, value) in labels {
        for m in qualified_name(key) {
            out.push(invalid(path, &q(key), &m));
        }
        let value = value.as_str().unwrap_or("");
        for m in label_value(value) {
            out.push(invalid(path, &q(value), &m));
        }
    }
}

/// `ValidateAnnotations` at `path` (template annotations).
fn validate_annotations(
    annotations: Option<&Map<String, Value>>,
    path: &Path,
    out: &mut Vec<InvalidCause>,
) {
    let Some(annotations) = annotations else {
        return;
    };
    let mut total = 0usize;
    for (key, value) in annotations {
        for m in qualified_name(&key.to_lowercase()) {
            out.push(invalid(path, &q(key), &m));
        }
        total += key.len() + value.as_str().map_or(0, str::len);
    }
    if total > super::metadata_validation::ANNOTATIONS_MAX {
        out.push(cause(
            path,
            "FieldValueTooLong",
            format!(
                "Too long: may not be more than {} bytes",
                super::metadata_validation::ANNOTATIONS_MAX
            ),
        ));
    }
}

/// A quantity field's value as Go decoded it, and its text as `Quantity.String()` writes it;
/// `None` when it does not parse (the decoder refused it before validation).
fn amount(raw: &Value) -> Option<(Quantity, String)> {
    let q = Quantity::from_json(raw)?;
    let text = q.marshal()?;
    Some((q, text))
}

/// `helper.IsStandardResourceName`.
fn is_standard_resource(name: &str) -> bool {
    matches!(
        name,
        "cpu"
            | "memory"
            | "ephemeral-storage"
            | "requests.cpu"
            | "requests.memory"
            | "requests.ephemeral-storage"
            | "limits.cpu"
            | "limits.memory"
            | "limits.ephemeral-storage"
            | "pods"
            | "resourcequotas"
            | "services"
            | "replicationcontrollers"
            | "secrets"
            | "configmaps"
            | "persistentvolumeclaims"
            | "storage"
            | "requests.storage"
            | "services.nodeports"
            | "services.loadbalancers"
    ) || name.starts_with("hugepages-")
        || name.starts_with("requests.hugepages-")
}

fn is_standard_container_resource(name: &str) -> bool {
    matches!(name, "cpu" | "memory" | "ephemeral-storage") || name.starts_with("hugepages-")
}

/// `helper.IsNativeResource`: no `/`, or in a `kubernetes.io/` namespace.
fn is_native(name: &str) -> bool {
    !name.contains('/') || name.contains("kubernetes.io/")
}

/// `helper.IsOvercommitAllowed`: native resources but hugepages.
fn overcommit_allowed(name: &str) -> bool {
    is_native(name) && !name.starts_with("hugepages-")
}

/// `helper.IsExtendedResourceName`: not native, not `requests.`-prefixed, and a qualified name
/// once prefixed with `requests.`.
fn is_extended(name: &str) -> bool {
    !is_native(name)
        && !name.starts_with("requests.")
        && qualified_name(&format!("requests.{name}")).is_empty()
}

/// `helper.IsIntegerResourceName`.
fn is_integer_resource(name: &str) -> bool {
    matches!(
        name,
        "pods"
            | "resourcequotas"
            | "services"
            | "replicationcontrollers"
            | "secrets"
            | "configmaps"
            | "persistentvolumeclaims"
            | "services.nodeports"
            | "services.loadbalancers"
    ) || is_extended(name)
}

/// `helper.IsHugePageResourceValueDivisible`: the page size (the name's suffix) parses, is a
/// positive whole number, and divides the value.
fn hugepage_divisible(name: &str, value: &Quantity) -> bool {
    let Some(page) = name
        .strip_prefix("hugepages-")
        .filter(|size| super::builtin_types::parse_quantity(size.trim()).is_ok())
        .and_then(Quantity::parse)
    else {
        return false;
    };
    if page.is_negative() || page.is_zero() || !page.is_whole_in_millis() {
        return false;
    }
    match (value.whole_ceil(), page.whole_ceil()) {
        (Some(v), Some(p)) if p > 0 => v.is_multiple_of(p),
        _ => false,
    }
}

/// `ValidateContainerResourceRequirements` (`validateResourceRequirements` with
/// `ValidateContainerResourceName`): names, quantities (non-negative; whole numbers for
/// integer resources; hugepages a multiple of their page size), requests at most (for
/// non-overcommitable resources: equal to) the limits, and hugepages only with cpu or memory.
/// Go walks the maps at random; the fake in key order, limits first.
fn validate_resources(resources: Option<&Value>, path: &Path, out: &mut Vec<InvalidCause>) {
    let Some(resources) = resources else { return };
    let limits = map_at(resources, "limits");
    let requests = map_at(resources, "requests");
    let (lim_path, req_path) = (path.child("limits"), path.child("requests"));
    let name_check = |name: &str, at: &Path, out: &mut Vec<InvalidCause>| {
        let syntax = qualified_name(name);
        if !syntax.is_empty() {
            for m in syntax {
                out.push(invalid(at, &q(name), &m));
            }
        } else if !name.contains('/') && !is_standard_resource(name) {
            out.push(invalid(
                at,
                &q(name),
                "must be a standard resource type or fully qualified",
            ));
        }
        if !name.contains('/') {
            if !is_standard_container_resource(name) {
                out.push(invalid(
                    at,
                    &q(name),
                    "must be a standard resource for containers",
                ));
            }
        } else if !is_native(name) && !is_extended(name) {
            out.push(invalid(
                at,
                &q(name),
                "doesn't follow extended resource name standard",
            ));
        }
    };
    // ValidateResourceQuantityValue, then the hugepage size.
    let value_check =
        |name: &str, a: &Option<(Quantity, String)>, at: &Path, out: &mut Vec<InvalidCause>| {
            let Some((value, text)) = a else { return };
            if value.is_negative() {
                out.push(invalid(at, &q(text), NEGATIVE));
            }
            if is_integer_resource(name) && !value.is_whole_in_millis() {
                out.push(invalid(at, &q(text), "must be an integer"));
            }
        };
    let hugepage_check =
        |name: &str, a: &Option<(Quantity, String)>, at: &Path, out: &mut Vec<InvalidCause>| {
            if let Some((value, text)) = a
                && name.starts_with("hugepages-")
                && !hugepage_divisible(name, value)
            {
                out.push(invalid(
                    at,
                    &q(text),
                    &format!("{text} is not positive integer multiple of {name}"),
                ));
            }
        };
    let mut cpu_or_memory = false;
    let mut hugepages = false;
    if let Some(limits) = limits {
        for (name, value) in limits {
            let at = lim_path.key(name);
            name_check(name, &at, out);
            let limit = amount(value);
            value_check(name, &limit, &at, out);
            hugepage_check(name, &limit, &at, out);
            hugepages |= name.starts_with("hugepages-");
            cpu_or_memory |= matches!(name.as_str(), "cpu" | "memory");
        }
    }
    if let Some(requests) = requests {
        for (name, value) in requests {
            let at = req_path.key(name);
            name_check(name, &at, out);
            let request = amount(value);
            value_check(name, &request, &at, out);
            match limits.and_then(|l| l.get(name)) {
                Some(limit) => {
                    if let (Some((r, r_text)), Some((l, l_text))) = (&request, amount(limit)) {
                        let cmp = r.compare(&l);
                        if cmp != std::cmp::Ordering::Equal && !overcommit_allowed(name) {
                            out.push(invalid(
                                &req_path,
                                &q(r_text),
                                &format!("must be equal to {name} limit of {l_text}"),
                            ));
                        } else if cmp == std::cmp::Ordering::Greater {
                            out.push(invalid(
                                &req_path,
                                &q(r_text),
                                &format!("must be less than or equal to {name} limit of {l_text}"),
                            ));
                        }
                    }
                }
                None if !overcommit_allowed(name) => out.push(required(
                    &lim_path,
                    "Limit must be set for non overcommitable resources",
                )),
                None => {}
            }
            hugepage_check(name, &request, &at, out);
            hugepages |= name.starts_with("hugepages-");
            cpu_or_memory |= matches!(name.as_str(), "cpu" | "memory");
        }
    }
    if hugepages && !cpu_or_memory {
        out.push(forbidden(path, "HugePages require cpu or memory"));
    }
}

fn validate_container_common(
    c: &Value,
    volumes: &BTreeSet<String>,
    path: &Path,
    out: &mut Vec<InvalidCause>,
) {
    let name = str_at(c, "name").unwrap_or("");
    let name_path = path.child("name");
    if name.is_empty() {
        out.push(required(&name_path, ""));
    } else {
        validate_dns1123_label(name, &name_path, out);
    }
    if str_at(c, "image").unwrap_or("").is_empty() {
        out.push(required(&path.child("image"), ""));
    }
    match str_at(c, "terminationMessagePolicy").unwrap_or("") {
        "File" | "FallbackToLogsOnError" => {}
        "" => {} // defaulted
        other => out.push(not_supported(
            &path.child("terminationMessagePolicy"),
            other,
            &["File", "FallbackToLogsOnError"],
        )),
    }
    // ports
    let ports_path = path.child("ports");
    let mut names = BTreeSet::new();
    for (i, port) in list_at(c, "ports").iter().enumerate() {
        let at = ports_path.index(i);
        let pname = str_at(port, "name").unwrap_or("");
        if !pname.is_empty() {
            let msgs = port_name(pname);
            if !msgs.is_empty() {
                for m in msgs {
                    out.push(invalid(&at.child("name"), &q(pname), &m));
                }
            } else if !names.insert(pname.to_owned()) {
                out.push(duplicate(&at.child("name"), &q(pname)));
            }
        }
        let container_port = int_at(port, "containerPort").unwrap_or(0);
        if container_port == 0 {
            out.push(required(&at.child("containerPort"), ""));
        } else if !valid_port(container_port) {
            out.push(invalid(
                &at.child("containerPort"),
                &container_port.to_string(),
                PORT_RANGE,
            ));
        }
        let host_port = int_at(port, "hostPort").unwrap_or(0);
        if host_port != 0 && !valid_port(host_port) {
            out.push(invalid(
                &at.child("hostPort"),
                &host_port.to_string(),
                PORT_RANGE,
            ));
        }
        match str_at(port, "protocol").unwrap_or("") {
            "TCP" | "UDP" | "SCTP" => {}
            "" => {} // defaulted
            other => out.push(not_supported(
                &at.child("protocol"),
                other,
                &["SCTP", "TCP", "UDP"],
            )),
        }
    }
    // env
    let env_path = path.child("env");
    for (i, env) in list_at(c, "env").iter().enumerate() {
        let at = env_path.index(i).child("name");
        let ename = str_at(env, "name").unwrap_or("");
        if ename.is_empty() {
            out.push(required(&at, ""));
        } else if ename
            .chars()
            .any(|ch| !ch.is_ascii() || ch.is_ascii_control() || ch == '=')
        {
            out.push(invalid(&at, &q(ename), ENV_NAME_ERR));
        }
    }
    // volume mounts
    let mounts_path = path.child("volumeMounts");
    let mut mount_points = BTreeSet::new();
    for (i, mount) in list_at(c, "volumeMounts").iter().enumerate() {
        let at = mounts_path.index(i);
        let mname = str_at(mount, "name").unwrap_or("");
        if mname.is_empty() {
            out.push(required(&at.child("name"), ""));
        }
        if !volumes.contains(mname) {
            out.push(not_found(&at.child("name"), mname));
        }
        let mount_path = str_at(mount, "mountPath").unwrap_or("");
        if mount_path.is_empty() {
            out.push(required(&at.child("mountPath"), ""));
        }
        if !mount_points.insert(mount_path.to_owned()) {
            out.push(invalid(
                &at.child("mountPath"),
                &q(mount_path),
                "must be unique",
            ));
        }
    }
    match str_at(c, "imagePullPolicy").unwrap_or("") {
        "Always" | "IfNotPresent" | "Never" => {}
        "" => {} // defaulted
        other => out.push(not_supported(
            &path.child("imagePullPolicy"),
            other,
            &["Always", "IfNotPresent", "Never"],
        )),
    }
    validate_resources(c.get("resources"), &path.child("resources"), out);
}

/// `ValidatePodSpec` (the rules listed in the module docs).
fn validate_pod_spec(spec: &Value, path: &Path, out: &mut Vec<InvalidCause>) {
    // volumes
    let vol_path = path.child("volumes");
    let mut volumes = BTreeSet::new();
    for (i, v) in list_at(spec, "volumes").iter().enumerate() {
        let name_path = vol_path.index(i).child("name");
        let name = str_at(v, "name").unwrap_or("");
        let mut errs = Vec::new();
        if name.is_empty() {
            errs.push(required(&name_path, ""));
        } else {
            validate_dns1123_label(name, &name_path, &mut errs);
        }
        if volumes.contains(name) {
            errs.push(duplicate(&name_path, &q(name)));
        }
        if errs.is_empty() {
            volumes.insert(name.to_owned());
        } else {
            out.extend(errs);
        }
    }
    // containers
    let containers = list_at(spec, "containers");
    let containers_path = path.child("containers");
    let mut names = BTreeSet::new();
    if containers.is_empty() {
        out.push(required(&containers_path, ""));
    } else {
        for (i, c) in containers.iter().enumerate() {
            let at = containers_path.index(i);
            validate_container_common(c, &volumes, &at, out);
            let name = str_at(c, "name").unwrap_or("");
            if !names.insert(name.to_owned()) {
                out.push(duplicate(&at.child("name"), &q(name)));
            }
        }
    }
    let mut all: BTreeSet<String> = containers
        .iter()
        .map(|c| str_at(c, "name").unwrap_or("").to_owned())
        .collect();
    let init_path = path.child("initContainers");
    for (i, c) in list_at(spec, "initContainers").iter().enumerate() {
        let at = init_path.index(i);
        validate_container_common(c, &volumes, &at, out);
        let name = str_at(c, "name").unwrap_or("");
        if all.contains(name) {
            out.push(duplicate(&at.child("name"), &q(name)));
        } else if !name.is_empty() {
            all.insert(name.to_owned());
        }
    }
    match str_at(spec, "restartPolicy").unwrap_or("") {
        "Always" | "OnFailure" | "Never" => {}
        "" => {} // defaulted
        other => out.push(not_supported(
            &path.child("restartPolicy"),
            other,
            &["Always", "OnFailure", "Never"],
        )),
    }
    match str_at(spec, "dnsPolicy").unwrap_or("") {
        "ClusterFirstWithHostNet" | "ClusterFirst" | "Default" | "None" => {}
        "" => {} // defaulted
        other => out.push(not_supported(
            &path.child("dnsPolicy"),
            other,
            &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
        )),
    }
    validate_labels(
        map_at(spec, "nodeSelector"),
        &path.child("nodeSelector"),
        out,
    );
    if let Some(v) = int_at(spec, "activeDeadlineSeconds")
        && !(1..=i64::from(i32::MAX)).contains(&v)
    {
        out.push(invalid(
            &path.child("activeDeadlineSeconds"),
            &v.to_string(),
            "must be between 1 and 2147483647, inclusive",
        ));
    }
}

fn nonnegative(o: &Value, key: &str, path: &Path, out: &mut Vec<InvalidCause>) {
    if let Some(v) = int_at(o, key)
        && v < 0
    {
        out.push(invalid(&path.child(key), &v.to_string(), NEGATIVE));
    }
}

/// The labels a template's metadata carries.
fn labels_of(template: &Value) -> BTreeMap<String, String> {
    template
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether a `metav1.LabelSelector` (JSON) matches `labels`; `None` when it is absent.
fn selector_matches(selector: &Value, labels: &BTreeMap<String, String>) -> bool {
    if let Some(ml) = map_at(selector, "matchLabels") {
        for (k, v) in ml {
            if labels.get(k).map(String::as_str) != Some(v.as_str().unwrap_or("")) {
                return false;
            }
        }
    }
    for e in list_at(selector, "matchExpressions") {
        let key = str_at(e, "key").unwrap_or("");
        let values: Vec<&str> = list_at(e, "values")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let have = labels.get(key).map(String::as_str);
        let ok = match str_at(e, "operator").unwrap_or("") {
            "In" => have.is_some_and(|h| values.contains(&h)),
            "NotIn" => have.is_none_or(|h| !values.contains(&h)),
            "Exists" => have.is_some(),
            "DoesNotExist" => have.is_none(),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    true
}

fn selector_empty(selector: &Value) -> bool {
    map_at(selector, "matchLabels").is_none_or(Map::is_empty)
        && list_at(selector, "matchExpressions").is_empty()
}

fn labels_json(labels: &BTreeMap<String, String>) -> String {
    if labels.is_empty() {
        "null".into()
    } else {
        serde_json::to_string(labels).unwrap_or_default()
    }
}

/// `ValidatePodTemplateSpec` at `path` (`spec.template`).
fn validate_template(template: &Value, path: &Path, out: &mut Vec<InvalidCause>) {
    let meta = template.get("metadata").unwrap_or(&Value::Null);
    validate_labels(map_at(meta, "labels"), &path.child("labels"), out);
    validate_annotations(map_at(meta, "annotations"), &path.child("annotations"), out);
    validate_pod_spec(
        template.get("spec").unwrap_or(&Value::Null),
        &path.child("spec"),
        out,
    );
}

/// The template checks of a workload whose pods must restart (`ValidatePodTemplateSpecFor…`).
fn workload_template_tail(spec: &Value, what: &str, path: &Path, out: &mut Vec<InvalidCause>) {
    let template_spec = spec.pointer("/template/spec").unwrap_or(&Value::Null);
    // (an empty policy is defaulted to Always before validation)
    let restart = str_at(template_spec, "restartPolicy").unwrap_or("Always");
    if restart != "Always" {
        out.push(not_supported(
            &path.child("template").child("spec").child("restartPolicy"),
            restart,
            &["Always"],
        ));
    }
    if template_spec
        .get("activeDeadlineSeconds")
        .is_some_and(|v| !v.is_null())
    {
        out.push(forbidden(
            &path
                .child("template")
                .child("spec")
                .child("activeDeadlineSeconds"),
            &format!("activeDeadlineSeconds in {what} is not Supported"),
        ));
    }
}

fn selector_cause(selector: &Value) -> String {
    serde_json::to_string(selector).unwrap_or_default()
}

fn validate_deployment(o: &Value, out: &mut Vec<InvalidCause>) {
    let spec = o.get("spec").unwrap_or(&Value::Null);
    let path = Path::root("spec");
    nonnegative(spec, "replicas", &path, out);
    let selector = spec.get("selector").filter(|s| !s.is_null());
    match selector {
        None => out.push(required(&path.child("selector"), "")),
        Some(s) if selector_empty(s) => out.push(invalid(
            &path.child("selector"),
            &selector_cause(s),
            "empty selector is invalid for deployment",
        )),
        Some(_) => {}
    }
    let template = spec.get("template").unwrap_or(&Value::Null);
    let labels = labels_of(template);
    let matches = selector.is_some_and(|s| selector_empty(s) || selector_matches(s, &labels));
    if !matches {
        out.push(invalid(
            &path.child("template").child("metadata").child("labels"),
            &labels_json(&labels),
            "`selector` does not match template `labels`",
        ));
    }
    validate_template(template, &path.child("template"), out);
    workload_template_tail(spec, "ReplicaSet", &path, out);
    nonnegative(spec, "minReadySeconds", &path, out);
    nonnegative(spec, "revisionHistoryLimit", &path, out);
    if let Some(deadline) = int_at(spec, "progressDeadlineSeconds") {
        nonnegative(spec, "progressDeadlineSeconds", &path, out);
        if deadline <= int_at(spec, "minReadySeconds").unwrap_or(0) {
            out.push(invalid(
                &path.child("progressDeadlineSeconds"),
                &deadline.to_string(),
                "must be greater than minReadySeconds",
            ));
        }
    }
}

fn validate_statefulset(o: &Value, out: &mut Vec<InvalidCause>) {
    let spec = o.get("spec").unwrap_or(&Value::Null);
    let path = Path::root("spec");
    nonnegative(spec, "replicas", &path, out);
    nonnegative(spec, "minReadySeconds", &path, out);
    if let Some(service) = str_at(spec, "serviceName").filter(|s| !s.is_empty()) {
        validate_dns1123_label(service, &path.child("serviceName"), out);
    }
    let selector = spec.get("selector").filter(|s| !s.is_null());
    match selector {
        None => out.push(required(&path.child("selector"), "")),
        Some(s) if selector_empty(s) => out.push(invalid(
            &path.child("selector"),
            &selector_cause(s),
            "empty selector is invalid for statefulset",
        )),
        Some(_) => {}
    }
    let template = spec.get("template").unwrap_or(&Value::Null);
    let labels = labels_of(template);
    if let Some(s) = selector
        && !selector_empty(s)
        && !selector_matches(s, &labels)
    {
        out.push(invalid(
            &path.child("template").child("metadata").child("labels"),
            &labels_json(&labels),
            "`selector` does not match template `labels`",
        ));
    }
    // The claim templates' volumes are the controller's: they count as the pod's volumes.
    let mut template = template.clone();
    let claims: Vec<Value> = list_at(spec, "volumeClaimTemplates")
        .iter()
        .filter_map(|c| c.pointer("/metadata/name").and_then(Value::as_str))
        .map(|n| serde_json::json!({"name": n, "persistentVolumeClaim": {"claimName": n}}))
        .collect();
    if !claims.is_empty()
        && let Some(ts) = template.get_mut("spec").and_then(Value::as_object_mut)
    {
        let mut volumes = claims;
        let names: BTreeSet<String> = volumes
            .iter()
            .filter_map(|v| str_at(v, "name").map(str::to_owned))
            .collect();
        for v in ts
            .get("volumes")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
        {
            if !str_at(&v, "name").is_some_and(|n| names.contains(n)) {
                volumes.push(v);
            }
        }
        ts.insert("volumes".into(), Value::Array(volumes));
    }
    validate_template(&template, &path.child("template"), out);
    workload_template_tail(spec, "StatefulSet", &path, out);
}

fn validate_daemonset(o: &Value, out: &mut Vec<InvalidCause>) {
    let spec = o.get("spec").unwrap_or(&Value::Null);
    let path = Path::root("spec");
    let selector = spec.get("selector").filter(|s| !s.is_null());
    let template = spec.get("template").unwrap_or(&Value::Null);
    let labels = labels_of(template);
    let matches = match selector {
        None => false,
        Some(s) => selector_empty(s) || selector_matches(s, &labels),
    };
    if !matches {
        out.push(invalid(
            &path.child("template").child("metadata").child("labels"),
            &labels_json(&labels),
            "`selector` does not match template `labels`",
        ));
    }
    if let Some(s) = selector
        && selector_empty(s)
    {
        out.push(invalid(
            &path.child("selector"),
            &selector_cause(s),
            "empty selector is invalid for daemonset",
        ));
    }
    validate_template(template, &path.child("template"), out);
    workload_template_tail(spec, "DaemonSet", &path, out);
    nonnegative(spec, "minReadySeconds", &path, out);
    nonnegative(spec, "revisionHistoryLimit", &path, out);
}

fn validate_service(o: &Value, out: &mut Vec<InvalidCause>) {
    let spec = o.get("spec").unwrap_or(&Value::Null);
    let path = Path::root("spec");
    let typ = str_at(spec, "type").unwrap_or("");
    let headless = str_at(spec, "clusterIP") == Some("None");
    let ports = list_at(spec, "ports");
    if ports.is_empty() && !headless && typ != "ExternalName" {
        out.push(required(&path.child("ports"), ""));
    }
    let ports_path = path.child("ports");
    let mut names = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        let at = ports_path.index(i);
        let name = str_at(port, "name").unwrap_or("");
        if ports.len() > 1 && name.is_empty() {
            out.push(required(&at.child("name"), ""));
        } else if !name.is_empty() {
            validate_dns1123_label(name, &at.child("name"), out);
            if !names.insert(name.to_owned()) {
                out.push(duplicate(&at.child("name"), &q(name)));
            }
        }
        let number = int_at(port, "port").unwrap_or(0);
        if !valid_port(number) {
            out.push(invalid(&at.child("port"), &number.to_string(), PORT_RANGE));
        }
        match str_at(port, "protocol").unwrap_or("") {
            "TCP" | "UDP" | "SCTP" => {}
            "" => {} // defaulted
            other => out.push(not_supported(
                &at.child("protocol"),
                other,
                &["SCTP", "TCP", "UDP"],
            )),
        }
        match port.get("targetPort") {
            Some(Value::String(s)) => {
                for m in port_name(s) {
                    out.push(invalid(&at.child("targetPort"), &q(s), &m));
                }
            }
            Some(Value::Number(n)) => {
                let n = n.as_i64().unwrap_or(0);
                if !valid_port(n) {
                    out.push(invalid(&at.child("targetPort"), &n.to_string(), PORT_RANGE));
                }
            }
            _ => {}
        }
    }
    validate_labels(map_at(spec, "selector"), &path.child("selector"), out);
    match typ {
        "ClusterIP" | "NodePort" | "LoadBalancer" | "ExternalName" => {}
        "" => {} // defaulted
        other => out.push(not_supported(
            &path.child("type"),
            other,
            &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"],
        )),
    }
}

fn validate_pvc(o: &Value, out: &mut Vec<InvalidCause>) {
    let spec = o.get("spec").unwrap_or(&Value::Null);
    let path = Path::root("spec");
    let modes = list_at(spec, "accessModes");
    if modes.is_empty() {
        out.push(required(
            &path.child("accessModes"),
            "at least 1 access mode is required",
        ));
    }
    const MODES: [&str; 4] = [
        "ReadOnlyMany",
        "ReadWriteMany",
        "ReadWriteOnce",
        "ReadWriteOncePod",
    ];
    let (mut once_pod, mut other) = (false, false);
    for mode in modes {
        let mode = mode.as_str().unwrap_or("");
        if !MODES.contains(&mode) {
            out.push(not_supported(&path.child("accessModes"), mode, &MODES));
        } else if mode == "ReadWriteOncePod" {
            once_pod = true;
        } else {
            other = true;
        }
    }
    if once_pod && other {
        out.push(forbidden(
            &path.child("accessModes"),
            "may not use ReadWriteOncePod with other access modes",
        ));
    }
    let storage_path = path.child("resources").key("storage");
    match spec.pointer("/resources/requests/storage") {
        None | Some(Value::Null) => out.push(required(&storage_path, "")),
        Some(v) => {
            if let Some((a, text)) = amount(v)
                && (a.is_negative() || a.is_zero())
            {
                out.push(invalid(
                    &storage_path,
                    &q(&text),
                    "must be greater than zero",
                ));
            }
        }
    }
}

/// `IsConfigMapKey`'s messages.
fn config_key(key: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if key.len() > 253 {
        errs.push("must be no more than 253 bytes".to_owned());
    }
    if key.is_empty()
        || !key
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
    {
        errs.push(CONFIG_KEY_ERR.to_owned());
    }
    match key {
        "." => errs.push("must not be '.'".into()),
        ".." => errs.push("must not be '..'".into()),
        k if k.starts_with("..") => errs.push("must not start with '..'".into()),
        _ => {}
    }
    errs
}

fn validate_config_map(o: &Value, out: &mut Vec<InvalidCause>) {
    let binary = map_at(o, "binaryData");
    if let Some(data) = map_at(o, "data") {
        let path = Path::root("data");
        for key in data.keys() {
            for m in config_key(key) {
                out.push(invalid(&path.key(key), &q(key), &m));
            }
            if binary.is_some_and(|b| b.contains_key(key)) {
                out.push(invalid(
                    &path.key(key),
                    &q(key),
                    "duplicate of key present in binaryData",
                ));
            }
        }
    }
    if let Some(data) = binary {
        let path = Path::root("binaryData");
        for key in data.keys() {
            for m in config_key(key) {
                out.push(invalid(&path.key(key), &q(key), &m));
            }
        }
    }
}

fn validate_secret(o: &Value, out: &mut Vec<InvalidCause>) {
    let path = Path::root("data");
    let data = map_at(o, "data");
    if let Some(data) = data {
        for key in data.keys() {
            for m in config_key(key) {
                out.push(invalid(&path.key(key), &q(key), &m));
            }
        }
    }
    let has = |k: &str| data.is_some_and(|d| d.contains_key(k));
    let non_empty = |k: &str| {
        data.and_then(|d| d.get(k))
            .and_then(Value::as_str)
            .is_some_and(|v| !v.is_empty())
    };
    match str_at(o, "type").unwrap_or("") {
        "kubernetes.io/dockercfg" if !has(".dockercfg") => {
            out.push(required(&path.key(".dockercfg"), ""));
        }
        "kubernetes.io/dockerconfigjson" if !has(".dockerconfigjson") => {
            out.push(required(&path.key(".dockerconfigjson"), ""));
        }
        "kubernetes.io/basic-auth" if !has("username") && !has("password") => {
            out.push(required(&path.key("username"), ""));
            out.push(required(&path.key("password"), ""));
        }
        "kubernetes.io/ssh-auth" if !non_empty("ssh-privatekey") => {
            out.push(required(&path.key("ssh-privatekey"), ""));
        }
        "kubernetes.io/tls" => {
            if !has("tls.crt") {
                out.push(required(&path.key("tls.crt"), ""));
            }
            if !has("tls.key") {
                out.push(required(&path.key("tls.key"), ""));
            }
        }
        _ => {}
    }
}

/// The causes of the kind's own rules (not metadata's) for `object` as it would be stored.
pub(crate) fn causes(sk: &ServedKind, object: &Value) -> Vec<InvalidCause> {
    let mut out = Vec::new();
    match (sk.kind.group.as_str(), sk.kind.plural.as_str()) {
        ("", "pods") => {
            let spec = object.get("spec").unwrap_or(&Value::Null);
            let path = Path::root("spec");
            validate_pod_spec(spec, &path, &mut out);
        }
        ("apps", "deployments") => validate_deployment(object, &mut out),
        ("apps", "statefulsets") => validate_statefulset(object, &mut out),
        ("apps", "daemonsets") => validate_daemonset(object, &mut out),
        ("", "services") => validate_service(object, &mut out),
        ("", "persistentvolumeclaims") => validate_pvc(object, &mut out),
        ("", "configmaps") => validate_config_map(object, &mut out),
        ("", "secrets") => validate_secret(object, &mut out),
        _ => {}
    }
    out
}

/// The warnings kube-apiserver's pod strategies send about quantities
/// (`warningsForPodSpecAndMeta`: a fractional byte value of memory or ephemeral storage in the
/// pod's overhead or a container's limits or requests). Pods warn on create only; Deployments,
/// StatefulSets and DaemonSets warn about their template on create and on updates that change
/// the generation. `old` is the object before an update.
pub(crate) fn warnings(sk: &ServedKind, old: Option<&Value>, new: &Value) -> Vec<String> {
    let generation = |o: &Value| o.pointer("/metadata/generation").and_then(Value::as_i64);
    let (spec, path) = match (sk.kind.group.as_str(), sk.kind.plural.as_str()) {
        ("", "pods") if old.is_none() => (Some(new), ""),
        ("apps", "deployments" | "statefulsets" | "daemonsets")
            if old.is_none_or(|o| generation(o) != generation(new)) =>
        {
            (new.pointer("/spec/template"), "spec.template.")
        }
        _ => return Vec::new(),
    };
    let Some(spec) = spec.and_then(|t| t.get("spec")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let overhead = map_at(spec, "overhead");
    for resource in ["memory", "ephemeral-storage"] {
        fractional_bytes(
            overhead,
            resource,
            &format!("{path}spec.overhead"),
            &mut out,
        );
    }
    for key in ["initContainers", "containers", "ephemeralContainers"] {
        for (i, c) in list_at(spec, key).iter().enumerate() {
            let resources = c.get("resources").unwrap_or(&Value::Null);
            let at = format!("{path}spec.{key}[{i}].resources");
            for resource in ["memory", "ephemeral-storage"] {
                for list in ["limits", "requests"] {
                    let here = format!("{at}.{list}");
                    fractional_bytes(map_at(resources, list), resource, &here, &mut out);
                }
            }
        }
    }
    out
}

/// The warning for `list[resource]` at `at` when it is a fractional number of bytes.
fn fractional_bytes(
    list: Option<&Map<String, Value>>,
    resource: &str,
    at: &str,
    out: &mut Vec<String>,
) {
    if let Some((value, text)) = list.and_then(|l| l.get(resource)).and_then(amount)
        && !value.is_whole_in_millis()
    {
        out.push(format!(
            "{at}[{resource}]: fractional byte value {} is invalid, must be an integer",
            q(&text)
        ));
    }
}

/// The checks of a create: the name's (`name_check`), the labels' and annotations', then the
/// kind's rules, in one 422.
pub(crate) fn check_create(
    sk: &ServedKind,
    name: &str,
    object: &Value,
    name_check: Result<(), KubeError>,
) -> Result<(), KubeError> {
    let mut all = match name_check {
        Ok(()) => Vec::new(),
        Err(KubeError::Invalid { causes, .. }) => causes,
        Err(other) => return Err(other),
    };
    all.extend(super::metadata_validation::causes(object));
    all.extend(causes(sk, object));
    if all.is_empty() {
        Ok(())
    } else {
        Err(super::metadata_validation::invalid(sk, name, all))
    }
}

/// The checks of an update of `old` into `new`: labels and annotations, the kind's rules, then
/// the immutable fields ([`super::immutable`]), in one 422.
pub(crate) fn check_update(
    sk: &ServedKind,
    name: &str,
    old: &Value,
    new: &Value,
) -> Result<(), KubeError> {
    let mut all = super::metadata_validation::causes(new);
    all.extend(causes(sk, new));
    match super::immutable::validate_update(&sk.kind, old, new) {
        Ok(()) => {}
        Err(KubeError::Invalid { causes, .. }) => all.extend(causes),
        Err(other) => return Err(other),
    }
    if all.is_empty() {
        Ok(())
    } else {
        Err(super::metadata_validation::invalid(sk, name, all))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ResourceKind;
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod, Secret, Service};
    use serde_json::json;

    fn sk<K>() -> ServedKind
    where
        K: kube::Resource<DynamicType = ()>,
        K::Scope: 'static,
    {
        let kind = ResourceKind::of::<K>();
        ServedKind {
            singular: kind.kind.to_lowercase(),
            kind,
            status_subresource: false,
            selectable_fields: Vec::new(),
        }
    }

    /// `field: message` of each cause.
    fn found(sk: &ServedKind, object: &Value) -> Vec<String> {
        causes(sk, object)
            .into_iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect()
    }

    /// A pod spec as the fake stores it after defaulting.
    fn pod(spec: Value) -> Value {
        let mut base = json!({"restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "terminationGracePeriodSeconds": 30});
        if let (Some(b), Some(s)) = (base.as_object_mut(), spec.as_object()) {
            for (k, v) in s {
                b.insert(k.clone(), v.clone());
            }
        }
        json!({"metadata": {"name": "p"}, "spec": base})
    }

    fn container(extra: Value) -> Value {
        let mut c = json!({"name": "c", "image": "i", "imagePullPolicy": "Always", "terminationMessagePolicy": "File"});
        if let (Some(b), Some(s)) = (c.as_object_mut(), extra.as_object()) {
            for (k, v) in s {
                b.insert(k.clone(), v.clone());
            }
        }
        c
    }

    #[test]
    fn a_valid_pod_has_no_causes() {
        let p = pod(json!({"containers": [container(json!({
            "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"}],
            "env": [{"name": "A_1.x", "value": "v"}],
            "volumeMounts": [{"name": "data", "mountPath": "/data"}],
            "resources": {"limits": {"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": "1"}, "requests": {"cpu": "500m", "memory": "1Gi", "nvidia.com/gpu": "1"}},
        }))], "volumes": [{"name": "data", "emptyDir": {}}], "nodeSelector": {"a": "b"}}));
        assert!(
            found(&sk::<Pod>(), &p).is_empty(),
            "{:?}",
            found(&sk::<Pod>(), &p)
        );
    }

    /// Messages as kube-apiserver v1.37.2 answered them (the conformance suite checks them on
    /// the real server).
    #[test]
    fn pod_rules() {
        let s = sk::<Pod>();
        assert_eq!(
            found(&s, &pod(json!({"containers": []}))),
            ["spec.containers: Required value"]
        );
        assert_eq!(
            found(
                &s,
                &pod(json!({"containers": [container(json!({"name": "Bad_Name", "image": ""}))]}))
            ),
            [
                format!(
                    "spec.containers[0].name: Invalid value: \"Bad_Name\": {DNS1123_LABEL_ERR}"
                ),
                "spec.containers[0].image: Required value".into(),
            ]
        );
        assert_eq!(
            found(
                &s,
                &pod(
                    json!({"containers": [container(json!({"ports": [{"containerPort": 70000, "protocol": "TCP"}, {"name": "HTTP", "containerPort": 80, "protocol": "TCPX"}]}))]})
                )
            ),
            [
                "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
                "spec.containers[0].ports[1].name: Invalid value: \"HTTP\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
                "spec.containers[0].ports[1].name: Invalid value: \"HTTP\": must contain at least one letter (a-z)",
                "spec.containers[0].ports[1].protocol: Unsupported value: \"TCPX\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
            ]
        );
        assert_eq!(
            found(
                &s,
                &pod(json!({"containers": [container(json!({})), container(json!({}))]}))
            ),
            ["spec.containers[1].name: Duplicate value: \"c\""]
        );
        assert_eq!(
            found(
                &s,
                &pod(
                    json!({"containers": [container(json!({"volumeMounts": [{"name": "x", "mountPath": "/a"}]}))]})
                )
            ),
            ["spec.containers[0].volumeMounts[0].name: Not found: \"x\""]
        );
        assert_eq!(
            found(
                &s,
                &pod(
                    json!({"restartPolicy": "Sometimes", "containers": [container(json!({"imagePullPolicy": "Maybe"}))]})
                )
            ),
            [
                "spec.containers[0].imagePullPolicy: Unsupported value: \"Maybe\": supported values: \"Always\", \"IfNotPresent\", \"Never\"",
                "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
            ]
        );
        assert_eq!(
            found(
                &s,
                &pod(
                    json!({"containers": [container(json!({"resources": {"limits": {"cpu": "1"}, "requests": {"cpu": "1500m"}}}))]})
                )
            ),
            [
                "spec.containers[0].resources.requests: Invalid value: \"1500m\": must be less than or equal to cpu limit of 1"
            ]
        );
        assert_eq!(
            found(
                &s,
                &pod(
                    json!({"containers": [container(json!({"resources": {"limits": {"gpu": "-1"}}}))]})
                )
            ),
            [
                "spec.containers[0].resources.limits[gpu]: Invalid value: \"gpu\": must be a standard resource type or fully qualified",
                "spec.containers[0].resources.limits[gpu]: Invalid value: \"gpu\": must be a standard resource for containers",
                "spec.containers[0].resources.limits[gpu]: Invalid value: \"-1\": must be greater than or equal to 0",
            ]
        );
        assert_eq!(
            found(
                &s,
                &pod(
                    json!({"activeDeadlineSeconds": 0, "containers": [container(json!({"env": [{"name": ""}, {"name": "A=B"}]}))]})
                )
            ),
            [
                "spec.containers[0].env[0].name: Required value",
                format!("spec.containers[0].env[1].name: Invalid value: \"A=B\": {ENV_NAME_ERR}")
                    .as_str(),
                "spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive",
            ]
        );
    }

    /// `ValidateContainerResourceRequirements` as the real server answers (tried on it; the
    /// fake validates the canonical, milli-rounded values it stores).
    #[test]
    fn container_resource_rules() {
        let s = sk::<Pod>();
        let with = |resources: Value| {
            found(
                &s,
                &pod(json!({"containers": [container(json!({"resources": resources}))]})),
            )
        };
        let at = "spec.containers[0].resources";
        assert_eq!(
            with(json!({"limits": {"x.io/y": "500m"}, "requests": {"x.io/y": "500m"}})),
            [
                format!("{at}.limits[x.io/y]: Invalid value: \"500m\": must be an integer"),
                format!("{at}.requests[x.io/y]: Invalid value: \"500m\": must be an integer"),
            ]
        );
        assert_eq!(
            with(json!({"limits": {"x.io/y": "-1500m"}})),
            [
                format!(
                    "{at}.limits[x.io/y]: Invalid value: \"-1500m\": must be greater than or equal to 0"
                ),
                format!("{at}.limits[x.io/y]: Invalid value: \"-1500m\": must be an integer"),
            ]
        );
        assert!(with(json!({"limits": {"x.io/y": "1e3", "x.kubernetes.io/z": "500m"}})).is_empty());
        assert_eq!(
            with(json!({"requests": {"x.io/y": "1"}})),
            [format!(
                "{at}.limits: Required value: Limit must be set for non overcommitable resources"
            )]
        );
        assert_eq!(
            with(json!({"limits": {"x.io/y": "2"}, "requests": {"x.io/y": "1"}})),
            [format!(
                "{at}.requests: Invalid value: \"1\": must be equal to x.io/y limit of 2"
            )]
        );
        assert_eq!(
            with(json!({"limits": {"hugepages-2Mi": "3Mi"}, "requests": {"hugepages-2Mi": "3Mi"}})),
            [
                format!(
                    "{at}.limits[hugepages-2Mi]: Invalid value: \"3Mi\": 3Mi is not positive integer multiple of hugepages-2Mi"
                ),
                format!(
                    "{at}.requests[hugepages-2Mi]: Invalid value: \"3Mi\": 3Mi is not positive integer multiple of hugepages-2Mi"
                ),
                format!("{at}: Forbidden: HugePages require cpu or memory"),
            ]
        );
        assert!(with(json!({"limits": {"hugepages-2Mi": "4Mi", "memory": "1Gi"}, "requests": {"hugepages-2Mi": "4Mi", "memory": "1Gi"}})).is_empty());
        assert_eq!(
            with(json!({"limits": {"hugepages-abc": "3Mi", "cpu": "1"}})),
            [format!(
                "{at}.limits[hugepages-abc]: Invalid value: \"3Mi\": 3Mi is not positive integer multiple of hugepages-abc"
            )]
        );
        assert_eq!(
            with(json!({"limits": {"requests.x.io/y": "1"}})),
            [format!(
                "{at}.limits[requests.x.io/y]: Invalid value: \"requests.x.io/y\": doesn't follow extended resource name standard"
            )]
        );
    }

    #[test]
    fn quantities_print_as_go() {
        let text = |v: Value| amount(&v).map(|a| a.1);
        for (input, want) in [
            (json!("1"), "1"),
            (json!("1500m"), "1500m"),
            (json!("1.5"), "1500m"),
            (json!("1000m"), "1"),
            (json!("1024Mi"), "1Gi"),
            (json!("1Gi"), "1Gi"),
            (json!("1.5Gi"), "1536Mi"),
            (json!("2000"), "2k"),
            (json!("0.1"), "100m"),
            (json!("100Mi"), "100Mi"),
            (json!("-1"), "-1"),
            (json!(2), "2"),
            (json!("0"), "0"),
            (json!("512"), "512"),
            (json!("1e3"), "1e3"),
        ] {
            assert_eq!(text(input.clone()).as_deref(), Some(want), "{input}");
        }
        assert!(amount(&json!("abc")).is_none());
    }

    #[test]
    fn deployment_rules() {
        let s = sk::<Deployment>();
        let template = json!({"metadata": {"labels": {"a": "b"}}, "spec": pod(json!({"containers": [container(json!({}))]}))["spec"]});
        let d = |spec: Value| {
            let mut base = json!({"replicas": 1, "selector": {"matchLabels": {"a": "b"}}, "template": template, "progressDeadlineSeconds": 600, "revisionHistoryLimit": 10});
            if let (Some(b), Some(x)) = (base.as_object_mut(), spec.as_object()) {
                for (k, v) in x {
                    b.insert(k.clone(), v.clone());
                }
            }
            json!({"metadata": {"name": "d"}, "spec": base})
        };
        assert!(found(&s, &d(json!({}))).is_empty());
        assert_eq!(
            found(&s, &d(json!({"replicas": -1}))),
            ["spec.replicas: Invalid value: -1: must be greater than or equal to 0"]
        );
        assert_eq!(
            found(&s, &d(json!({"selector": {"matchLabels": {"a": "c"}}}))),
            [
                "spec.template.metadata.labels: Invalid value: {\"a\":\"b\"}: `selector` does not match template `labels`"
            ]
        );
    }

    #[test]
    fn service_pvc_configmap_secret_rules() {
        let svc = json!({"metadata": {"name": "s"}, "spec": {"type": "ClusterIP", "ports": [{"port": 0, "protocol": "TCP", "targetPort": "Bad"}, {"name": "b", "port": 80, "protocol": "TCP", "targetPort": 80}]}});
        assert_eq!(
            found(&sk::<Service>(), &svc),
            [
                "spec.ports[0].name: Required value",
                "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
                "spec.ports[0].targetPort: Invalid value: \"Bad\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
            ]
        );
        let pvc = json!({"metadata": {"name": "c"}, "spec": {"accessModes": ["ReadWriteSometimes"], "resources": {}}});
        assert_eq!(
            found(&sk::<PersistentVolumeClaim>(), &pvc),
            [
                "spec.accessModes: Unsupported value: \"ReadWriteSometimes\": supported values: \"ReadOnlyMany\", \"ReadWriteMany\", \"ReadWriteOnce\", \"ReadWriteOncePod\"",
                "spec.resources[storage]: Required value",
            ]
        );
        let cm = json!({"metadata": {"name": "c"}, "data": {"a b": "1", "..x": "2"}});
        assert_eq!(
            found(&sk::<ConfigMap>(), &cm),
            [
                "data[..x]: Invalid value: \"..x\": must not start with '..'".to_owned(),
                format!("data[a b]: Invalid value: \"a b\": {CONFIG_KEY_ERR}"),
            ]
        );
        let secret = json!({"metadata": {"name": "s"}, "type": "kubernetes.io/dockerconfigjson", "data": {}});
        assert_eq!(
            found(&sk::<Secret>(), &secret),
            ["data[.dockerconfigjson]: Required value"]
        );
    }

    proptest::proptest! {
        /// IANA port names: valid ones (lowercase letters, digits, single inner hyphens, at
        /// least one letter, ≤ 15) pass, and anything with an upper-case letter fails.
        #[test]
        fn port_names(name in "[a-z][a-z0-9]{0,6}(-[a-z0-9]{1,6})?") {
            proptest::prop_assert!(port_name(&name).is_empty(), "{}", name);
            let upper = name.to_uppercase();
            proptest::prop_assert!(!port_name(&upper).is_empty());
        }
    }
}
