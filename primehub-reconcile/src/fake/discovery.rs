//! Discovery as kube-apiserver v1.37 serves it, for the kinds the fake serves.
//!
//! - Aggregated discovery (`Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList`,
//!   what kubectl ≥ 1.30 and client-go ask for at `/api` and `/apis`): one
//!   `APIGroupDiscoveryList` per root, with each resource's scope, singular name, verbs, short
//!   names, categories and subresources.
//! - The legacy documents otherwise: `APIVersions`, `APIGroupList`, `APIGroup`,
//!   `APIResourceList` (with `storageVersionHash`).
//!
//! Built-in kinds carry kube-apiserver's short names (`po`, `ns`, `deploy`, …), categories
//! (`all` for pods, services, deployments, statefulsets and daemonsets) and verbs (no
//! `deletecollection` for namespaces); custom resources their CRD's `names.shortNames` and
//! `names.categories` and the verbs in the order apiextensions lists them. Groups are ordered
//! as kube-apiserver orders them (built-in priority, then CRD groups by name), versions
//! newest-stable first. Only the subresources the fake serves are listed (`status` where the
//! kind has one, `pods/log`).

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::store::rfc3339_seconds;
use super::table::{Printer, PrinterColumn};
use super::{FakeCluster, ServedKind};
use crate::api::{ListOptions, Propagation};

/// kube-apiserver's built-in API groups, in the order it lists them (by group priority).
const BUILTIN_GROUPS: [&str; 21] = [
    "apiregistration.k8s.io",
    "apps",
    "events.k8s.io",
    "authentication.k8s.io",
    "authorization.k8s.io",
    "autoscaling",
    "batch",
    "certificates.k8s.io",
    "networking.k8s.io",
    "policy",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "scheduling.k8s.io",
    "coordination.k8s.io",
    "node.k8s.io",
    "discovery.k8s.io",
    "resource.k8s.io",
    "flowcontrol.apiserver.k8s.io",
    "storagemigration.k8s.io",
];

/// Whether `group` is one of kube-apiserver's own groups (the core group included): paths
/// under them that match nothing are answered with a JSON `Status`; under any other group
/// (CRD groups, unknown groups) with Go's plain-text `404 page not found`.
pub(crate) fn is_builtin_group(group: &str) -> bool {
    group.is_empty() || BUILTIN_GROUPS.contains(&group)
}

const VERBS: [&str; 8] = [
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// The verbs of a custom resource, in the order apiextensions lists them.
const CUSTOM_VERBS: [&str; 8] = [
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "create",
    "update",
    "watch",
];

/// (short names, categories) of a built-in kind, as kube-apiserver v1.37 lists them.
fn builtin_names(group: &str, plural: &str) -> (&'static [&'static str], &'static [&'static str]) {
    match (group, plural) {
        ("", "pods") => (&["po"], &["all"]),
        ("", "services") => (&["svc"], &["all"]),
        ("", "namespaces") => (&["ns"], &[]),
        ("", "configmaps") => (&["cm"], &[]),
        ("", "persistentvolumeclaims") => (&["pvc"], &[]),
        ("", "persistentvolumes") => (&["pv"], &[]),
        ("", "serviceaccounts") => (&["sa"], &[]),
        ("", "events") | ("events.k8s.io", "events") => (&["ev"], &[]),
        ("apps", "deployments") => (&["deploy"], &["all"]),
        ("apps", "statefulsets") => (&["sts"], &["all"]),
        ("apps", "daemonsets") => (&["ds"], &["all"]),
        ("apps", "replicasets") => (&["rs"], &["all"]),
        ("networking.k8s.io", "ingresses") => (&["ing"], &[]),
        ("networking.k8s.io", "networkpolicies") => (&["netpol"], &[]),
        ("apiextensions.k8s.io", "customresourcedefinitions") => {
            (&["crd", "crds"], &["api-extensions"])
        }
        _ => (&[], &[]),
    }
}

/// The verbs of a served kind's main resource.
pub(crate) fn verbs(sk: &ServedKind) -> Vec<&'static str> {
    if !is_builtin_group(&sk.kind.group) {
        return CUSTOM_VERBS.to_vec();
    }
    if sk.kind.group.is_empty() && sk.kind.plural == "namespaces" {
        return VERBS
            .iter()
            .copied()
            .filter(|v| *v != "deletecollection")
            .collect();
    }
    VERBS.to_vec()
}

/// `discovery.StorageVersionHash`: the first 8 bytes of SHA-256 of `group/version/kind` of
/// the storage version, base64.
fn storage_version_hash(group: &str, version: &str, kind: &str) -> String {
    use base64::Engine as _;
    let digest = Sha256::digest(format!("{group}/{version}/{kind}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(&digest[..8])
}

/// The CustomResourceDefinitions the cluster serves custom resources from: those created
/// through the API, and PrimeHub's own ([`primehub_model::crd::all`]) that none replaces.
pub(crate) fn crds(cluster: &FakeCluster) -> Vec<Value> {
    let mut stored: Vec<Value> = cluster
        .find_kind("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        .and_then(|sk| cluster.list_values(&sk, None, &ListOptions::default()).ok())
        .map(|(items, _, _)| items)
        .unwrap_or_default();
    let name = |v: &Value| {
        v.pointer("/metadata/name")
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let known: Vec<Option<String>> = stored.iter().map(name).collect();
    for crd in primehub_model::crd::all() {
        if let Ok(value) = serde_json::to_value(&crd)
            && !known.contains(&name(&value))
        {
            stored.push(value);
        }
    }
    stored
}

fn crd_for<'a>(crds: &'a [Value], group: &str, plural: &str) -> Option<&'a Value> {
    crds.iter().find(|c| {
        c.pointer("/spec/group").and_then(Value::as_str) == Some(group)
            && c.pointer("/spec/names/plural").and_then(Value::as_str) == Some(plural)
    })
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

/// The Table printer of a served kind (custom resources use their CRD's columns).
pub(crate) fn printer(cluster: &FakeCluster, sk: &ServedKind) -> Printer {
    if is_builtin_group(&sk.kind.group) {
        return Printer::new(sk, None);
    }
    let crds = crds(cluster);
    let columns = crd_for(&crds, &sk.kind.group, &sk.kind.plural)
        .map(|crd| PrinterColumn::of_crd_version(crd, &sk.kind.version));
    Printer::new(sk, columns)
}

/// What discovery says about one served resource.
/// A subresource: (name, kind, verbs, the kind's group and version when not the resource's).
type Sub = (
    &'static str,
    String,
    Vec<&'static str>,
    Option<(&'static str, &'static str)>,
);

struct Resource {
    sk: ServedKind,
    short_names: Vec<String>,
    categories: Vec<String>,
    verbs: Vec<&'static str>,
    /// (subresource, kind, verbs, the kind's group and version when not the resource's).
    subresources: Vec<Sub>,
    storage_version_hash: String,
    custom: bool,
}

fn resources(cluster: &FakeCluster) -> Vec<Resource> {
    let crds = crds(cluster);
    let mut out: Vec<Resource> = cluster
        .served_kinds()
        .into_iter()
        .map(|sk| {
            let custom = !is_builtin_group(&sk.kind.group);
            let (short_names, categories, storage) = if custom {
                let crd = crd_for(&crds, &sk.kind.group, &sk.kind.plural);
                let storage_version = crd
                    .and_then(|c| c.pointer("/spec/versions"))
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .find(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
                    .and_then(|v| v.get("name"))
                    .and_then(Value::as_str)
                    .unwrap_or(&sk.kind.version)
                    .to_owned();
                (
                    strings(crd.and_then(|c| c.pointer("/spec/names/shortNames"))),
                    strings(crd.and_then(|c| c.pointer("/spec/names/categories"))),
                    storage_version_hash(&sk.kind.group, &storage_version, &sk.kind.kind),
                )
            } else {
                let (short, categories) = builtin_names(&sk.kind.group, &sk.kind.plural);
                // events.k8s.io Events are stored as core v1 Events.
                let storage = if sk.kind.group == "events.k8s.io" {
                    storage_version_hash("", "v1", "Event")
                } else {
                    storage_version_hash(&sk.kind.group, &sk.kind.version, &sk.kind.kind)
                };
                (
                    short.iter().map(|s| (*s).to_owned()).collect(),
                    categories.iter().map(|s| (*s).to_owned()).collect(),
                    storage,
                )
            };
            let mut subresources = Vec::new();
            if sk.kind.group.is_empty() && sk.kind.plural == "pods" {
                subresources.push(("log", "Pod".to_owned(), vec!["get"], None));
            }
            if sk.status_subresource {
                subresources.push((
                    "status",
                    sk.kind.kind.clone(),
                    vec!["get", "patch", "update"],
                    None,
                ));
            }
            if super::scale::served(&sk) {
                subresources.push((
                    "scale",
                    "Scale".to_owned(),
                    vec!["get", "patch", "update"],
                    Some(("autoscaling", "v1")),
                ));
            }
            Resource {
                verbs: verbs(&sk),
                sk,
                short_names,
                categories,
                subresources,
                storage_version_hash: storage,
                custom,
            }
        })
        .collect();
    out.sort_by(|a, b| a.sk.kind.plural.cmp(&b.sk.kind.plural));
    out
}

/// Kubernetes' version order: GA before beta before alpha, higher numbers first.
fn version_rank(v: &str) -> (u8, u32, u32, String) {
    let parse = || -> Option<(u8, u32, u32)> {
        let rest = v.strip_prefix('v')?;
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let major: u32 = digits.parse().ok()?;
        let tail = &rest[digits.len()..];
        if tail.is_empty() {
            return Some((0, u32::MAX - major, 0));
        }
        for (i, stage) in ["beta", "alpha"].iter().enumerate() {
            if let Some(n) = tail.strip_prefix(stage) {
                let minor: u32 = n.parse().ok()?;
                let rank = u8::try_from(i + 1).ok()?;
                return Some((rank, u32::MAX - major, u32::MAX - minor));
            }
        }
        None
    };
    match parse() {
        Some((stage, major, minor)) => (stage, major, minor, String::new()),
        None => (3, 0, 0, v.to_owned()),
    }
}

/// group → its served versions, preferred first; groups in kube-apiserver's order.
fn groups(cluster: &FakeCluster) -> Vec<(String, Vec<String>)> {
    let mut map: Vec<(String, Vec<String>)> = Vec::new();
    for sk in cluster.served_kinds() {
        if sk.kind.group.is_empty() {
            continue;
        }
        match map.iter_mut().find(|(g, _)| *g == sk.kind.group) {
            Some((_, versions)) => {
                if !versions.contains(&sk.kind.version) {
                    versions.push(sk.kind.version.clone());
                }
            }
            None => map.push((sk.kind.group.clone(), vec![sk.kind.version.clone()])),
        }
    }
    for (_, versions) in &mut map {
        versions.sort_by_key(|v| version_rank(v));
    }
    let rank = |g: &str| {
        BUILTIN_GROUPS
            .iter()
            .position(|b| *b == g)
            .unwrap_or(BUILTIN_GROUPS.len())
    };
    map.sort_by(|a, b| rank(&a.0).cmp(&rank(&b.0)).then_with(|| a.0.cmp(&b.0)));
    map
}

/// Whether the fake serves `group` (at any version).
pub(crate) fn serves_group(cluster: &FakeCluster, group: &str) -> bool {
    group.is_empty() || groups(cluster).iter().any(|(g, _)| g == group)
}

fn group_json(group: &str, versions: &[String]) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
        .collect();
    json!({
        "name": group,
        "versions": versions,
        "preferredVersion": versions.first().cloned().unwrap_or(Value::Null),
    })
}

/// `GET /apis`: the `APIGroupList`.
pub(crate) fn group_list(cluster: &FakeCluster) -> Value {
    let groups: Vec<Value> = groups(cluster)
        .iter()
        .map(|(g, v)| group_json(g, v))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `GET /apis/<group>`: the `APIGroup`, if served.
pub(crate) fn group(cluster: &FakeCluster, name: &str) -> Option<Value> {
    let groups = groups(cluster);
    let (g, versions) = groups.iter().find(|(g, _)| g == name)?;
    let mut body = group_json(g, versions);
    if let Some(o) = body.as_object_mut() {
        let mut with_kind = Map::new();
        with_kind.insert("kind".into(), json!("APIGroup"));
        with_kind.insert("apiVersion".into(), json!("v1"));
        with_kind.append(o);
        return Some(Value::Object(with_kind));
    }
    Some(body)
}

/// `GET /api/<version>` or `/apis/<group>/<version>`: the `APIResourceList`, if served.
pub(crate) fn resource_list(cluster: &FakeCluster, group: &str, version: &str) -> Option<Value> {
    let mut entries: Vec<(String, Value)> = Vec::new();
    for r in resources(cluster) {
        let k = &r.sk.kind;
        if k.group != group || k.version != version {
            continue;
        }
        let mut entry = Map::new();
        entry.insert("name".into(), json!(k.plural));
        entry.insert("singularName".into(), json!(r.sk.singular));
        entry.insert("namespaced".into(), json!(k.namespaced));
        entry.insert("kind".into(), json!(k.kind));
        entry.insert("verbs".into(), json!(r.verbs));
        if !r.short_names.is_empty() {
            entry.insert("shortNames".into(), json!(r.short_names));
        }
        if !r.categories.is_empty() {
            entry.insert("categories".into(), json!(r.categories));
        }
        entry.insert("storageVersionHash".into(), json!(r.storage_version_hash));
        entries.push((k.plural.clone(), Value::Object(entry)));
        for (sub, kind, verbs, other) in &r.subresources {
            let name = format!("{}/{sub}", k.plural);
            let mut entry = json!({
                "name": name,
                "singularName": "",
                "namespaced": k.namespaced,
                "kind": kind,
                "verbs": verbs,
            });
            if let Some((group, version)) = other {
                entry["group"] = json!(group);
                entry["version"] = json!(version);
            }
            entries.push((name.clone(), entry));
        }
    }
    if entries.is_empty() {
        return None;
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let group_version = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": entries.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
    }))
}

/// The content type of aggregated discovery documents.
pub(crate) const AGGREGATED_CONTENT_TYPE: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// Aggregated discovery (`apidiscovery.k8s.io/v2`): of the core group (`/api`) when `core`,
/// else of every other group (`/apis`).
pub(crate) fn aggregated(cluster: &FakeCluster, core: bool) -> Value {
    let resources = resources(cluster);
    let entry = |r: &Resource| -> Value {
        let k = &r.sk.kind;
        // Built-in kinds answer in their own group-version (empty fields); custom resources name it.
        let response_kind = |kind: &str| {
            if r.custom {
                json!({"group": k.group, "version": k.version, "kind": kind})
            } else {
                json!({"group": "", "version": "", "kind": kind})
            }
        };
        let mut e = Map::new();
        e.insert("resource".into(), json!(k.plural));
        e.insert("responseKind".into(), response_kind(&k.kind));
        e.insert(
            "scope".into(),
            json!(if k.namespaced {
                "Namespaced"
            } else {
                "Cluster"
            }),
        );
        e.insert("singularResource".into(), json!(r.sk.singular));
        e.insert("verbs".into(), json!(r.verbs));
        if !r.short_names.is_empty() {
            e.insert("shortNames".into(), json!(r.short_names));
        }
        if !r.categories.is_empty() {
            e.insert("categories".into(), json!(r.categories));
        }
        if !r.subresources.is_empty() {
            let mut subs: Vec<Value> = r
                .subresources
                .iter()
                .map(|(sub, kind, verbs, other)| {
                    let response = match other {
                        Some((group, version)) => {
                            json!({"group": group, "version": version, "kind": kind})
                        }
                        None => response_kind(kind),
                    };
                    json!({"subresource": sub, "responseKind": response, "verbs": verbs})
                })
                .collect();
            subs.sort_by(|a, b| {
                a["subresource"]
                    .as_str()
                    .unwrap_or("")
                    .cmp(b["subresource"].as_str().unwrap_or(""))
            });
            e.insert("subresources".into(), Value::Array(subs));
        }
        Value::Object(e)
    };
    let version_entry = |group: &str, version: &str| -> Value {
        let list: Vec<Value> = resources
            .iter()
            .filter(|r| r.sk.kind.group == group && r.sk.kind.version == version)
            .map(entry)
            .collect();
        json!({"version": version, "resources": list, "freshness": "Current"})
    };
    let items: Vec<Value> = if core {
        let mut versions: Vec<String> = resources
            .iter()
            .filter(|r| r.sk.kind.group.is_empty())
            .map(|r| r.sk.kind.version.clone())
            .collect();
        versions.sort_by_key(|v| version_rank(v));
        versions.dedup();
        vec![json!({
            "metadata": {},
            "versions": versions.iter().map(|v| version_entry("", v)).collect::<Vec<_>>(),
        })]
    } else {
        groups(cluster)
            .iter()
            .map(|(g, versions)| {
                json!({
                    "metadata": {"name": g},
                    "versions": versions.iter().map(|v| version_entry(g, v)).collect::<Vec<_>>(),
                })
            })
            .collect()
    };
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    })
}

/// The answer to a DELETE of one object, as kube-apiserver gives it:
///
/// - the object, when it is still stored (finalizers hold it: `stored`);
/// - the object marked for deletion (deletionTimestamp, the garbage collector's `orphan` or
///   `foregroundDeletion` finalizer), with `Orphan` or `Foreground` propagation: kube-apiserver
///   adds that finalizer and leaves the object to its garbage collector, which the fake plays
///   at once;
/// - the deleted object for the kinds whose storage returns it (pods, marked as gracefully
///   deleted; services, service accounts, PVCs, PersistentVolumes and namespaces as they were);
/// - else a `Status` with `status: Success` and `details` (name, group, kind, uid).
pub(crate) fn delete_answer(
    sk: &ServedKind,
    last: Value,
    stored: Option<Value>,
    propagation: Option<Propagation>,
    now: jiff::Timestamp,
) -> Value {
    if let Some(current) = stored {
        return current;
    }
    match propagation {
        Some(Propagation::Orphan) => return marked(last, Some("orphan"), now),
        Some(Propagation::Foreground) => return marked(last, Some("foregroundDeletion"), now),
        _ => {}
    }
    if sk.kind.group.is_empty() {
        match sk.kind.plural.as_str() {
            "pods" => return marked(last, None, now),
            "services"
            | "serviceaccounts"
            | "persistentvolumeclaims"
            | "persistentvolumes"
            | "namespaces" => return last,
            _ => {}
        }
    }
    let mut details = Map::new();
    if let Some(name) = last.pointer("/metadata/name") {
        details.insert("name".into(), name.clone());
    }
    if !sk.kind.group.is_empty() {
        details.insert("group".into(), json!(sk.kind.group));
    }
    details.insert("kind".into(), json!(sk.kind.plural));
    if let Some(uid) = last.pointer("/metadata/uid") {
        details.insert("uid".into(), uid.clone());
    }
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": details,
    })
}

/// `object` as a deletion marks it: deletionTimestamp, a zero grace period, the next
/// generation (once), and `finalizer` if given.
fn marked(mut object: Value, finalizer: Option<&str>, now: jiff::Timestamp) -> Value {
    let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) else {
        return object;
    };
    if !meta.contains_key("deletionTimestamp") {
        let generation = meta.get("generation").and_then(Value::as_i64).unwrap_or(0);
        meta.insert("deletionTimestamp".into(), json!(rfc3339_seconds(now)));
        meta.insert("deletionGracePeriodSeconds".into(), json!(0));
        if generation > 0 {
            meta.insert("generation".into(), json!(generation + 1));
        }
    }
    if let Some(f) = finalizer {
        let list = meta.entry("finalizers").or_insert_with(|| json!([]));
        if let Some(list) = list.as_array_mut()
            && !list.iter().any(|x| x.as_str() == Some(f))
        {
            list.push(json!(f));
        }
    }
    object
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_version_hashes_match_kube_apiserver() {
        // As a kube-apiserver v1.37 lists them.
        assert_eq!(storage_version_hash("", "v1", "ConfigMap"), "qFsyl6wFWjQ=");
        assert_eq!(storage_version_hash("", "v1", "Pod"), "xPOwRZ+Yhw8=");
        assert_eq!(
            storage_version_hash("apps", "v1", "Deployment"),
            "8aSe+NMegvE="
        );
        assert_eq!(
            storage_version_hash("primehub.io", "v1alpha1", "ImageSpec"),
            "rwdJbGMqX1M="
        );
    }

    #[test]
    fn versions_order_stable_first() {
        let mut v = vec![
            "v1alpha1", "v2beta1", "v1", "v1beta2", "v2", "v1beta1", "foo",
        ];
        v.sort_by_key(|s| version_rank(s));
        assert_eq!(
            v,
            vec![
                "v2", "v1", "v2beta1", "v1beta2", "v1beta1", "v1alpha1", "foo"
            ]
        );
    }
}
