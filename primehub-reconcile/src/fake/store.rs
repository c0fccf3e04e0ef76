//! The fake cluster's state and its API-server semantics (synchronous, under one lock).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use primehub_model::clock::Clock;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use crate::api::{DeleteOptions, Propagation, ResourceKind};
use crate::error::{InvalidCause, KubeError, Result};
use crate::selector::LabelSelector;

use super::continue_token;
use super::kinds::{KindKey, Kinds, ServedKind};

/// The `foregroundDeletion` finalizer.
pub(crate) const FOREGROUND_FINALIZER: &str = "foregroundDeletion";

/// Where an object lives: (group, plural, namespace or "", name). Ordered as kube-apiserver's
/// storage orders keys (`…/<namespace>/<name>` as bytes: namespace `a-b` before `a`), so lists
/// come in the real server's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ObjKey {
    pub group: String,
    pub plural: String,
    pub namespace: String,
    pub name: String,
}

impl Ord for ObjKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let path = |k: &ObjKey| {
            k.namespace
                .as_bytes()
                .iter()
                .chain(b"/")
                .chain(k.name.as_bytes())
                .copied()
                .collect::<Vec<u8>>()
        };
        (&self.group, &self.plural)
            .cmp(&(&other.group, &other.plural))
            .then_with(|| path(self).cmp(&path(other)))
    }
}

impl PartialOrd for ObjKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl ObjKey {
    /// The key relative to a kind's storage prefix: `namespace/name`, or `name` when
    /// cluster-scoped.
    fn relative(&self) -> String {
        if self.namespace.is_empty() {
            self.name.clone()
        } else {
            format!("{}/{}", self.namespace, self.name)
        }
    }

    fn new(kind: &ResourceKind, namespace: &str, name: &str) -> ObjKey {
        ObjKey {
            group: kind.group.clone(),
            plural: kind.plural.clone(),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        }
    }

    fn namespace_key(name: &str) -> ObjKey {
        ObjKey {
            group: String::new(),
            plural: "namespaces".into(),
            namespace: String::new(),
            name: name.to_owned(),
        }
    }

    fn is_namespace(&self) -> bool {
        self.group.is_empty() && self.plural == "namespaces"
    }
}

/// Where a list cut by `limit` goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NextPage {
    /// The continue token of the next page.
    pub token: String,
    /// How many objects matching the list follow this page.
    pub remaining: usize,
}

/// The type of a watch event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change, as kept in the history.
#[derive(Debug, Clone)]
struct Event {
    rv: u64,
    kind: KindKey,
    namespace: String,
    type_: EventType,
    object: Value,
    old: Option<Value>,
}

/// An event delivered to one watcher (after its filter).
#[derive(Debug, Clone)]
pub(crate) struct RawEvent {
    pub type_: EventType,
    pub object: Value,
}

/// A field selector: `path=value`, `path==value`, `path!=value` joined by commas.
#[derive(Debug, Clone, Default)]
pub(crate) struct FieldSelector {
    requirements: Vec<(String, bool, String)>,
}

impl FieldSelector {
    /// The selector of parsed, validated requirements ([`super::field_selectors::validate`]).
    pub(crate) fn new(requirements: Vec<super::field_selectors::Requirement>) -> FieldSelector {
        FieldSelector {
            requirements: requirements
                .into_iter()
                .map(|r| (r.field, r.equal, r.value))
                .collect(),
        }
    }

    fn matches(&self, object: &Value) -> bool {
        self.requirements.iter().all(|(path, equal, value)| {
            let mut v = object;
            for part in path.split('.') {
                v = v.get(part).unwrap_or(&Value::Null);
            }
            let actual = match v {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            (actual == *value) == *equal
        })
    }
}

/// What a list or watch selects.
#[derive(Debug, Clone)]
pub(crate) struct Filter {
    pub kind: KindKey,
    pub namespace: Option<String>,
    pub labels: Option<LabelSelector>,
    pub fields: FieldSelector,
}

impl Filter {
    fn matches(&self, object: &Value) -> bool {
        self.labels
            .as_ref()
            .is_none_or(|s| s.matches_opt(labels(object).as_ref()))
            && self.fields.matches(object)
    }

    fn translate(&self, event: &Event) -> Option<RawEvent> {
        if event.kind != self.kind
            || self
                .namespace
                .as_ref()
                .is_some_and(|ns| *ns != event.namespace)
        {
            return None;
        }
        let now = self.matches(&event.object);
        let type_ = match event.type_ {
            EventType::Added | EventType::Deleted => now.then_some(event.type_)?,
            EventType::Modified => {
                let before = event.old.as_ref().is_some_and(|o| self.matches(o));
                match (before, now) {
                    (true, true) => EventType::Modified,
                    (false, true) => EventType::Added,
                    (true, false) => EventType::Deleted,
                    (false, false) => return None,
                }
            }
        };
        // As kube-apiserver's watch cache: an object that stops matching is sent as DELETED
        // with its last matching content, carrying the event's resourceVersion.
        let object = match (&event.type_, type_, &event.old) {
            (EventType::Modified, EventType::Deleted, Some(old)) => {
                let mut last = old.clone();
                if let (Some(rv), Some(meta)) = (
                    event.object.pointer("/metadata/resourceVersion").cloned(),
                    last.get_mut("metadata").and_then(Value::as_object_mut),
                ) {
                    meta.insert("resourceVersion".into(), rv);
                }
                last
            }
            _ => event.object.clone(),
        };
        Some(RawEvent { type_, object })
    }
}

fn labels(object: &Value) -> Option<BTreeMap<String, String>> {
    let map = object.pointer("/metadata/labels")?.as_object()?;
    Some(
        map.iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
            .collect(),
    )
}

struct Watcher {
    filter: Filter,
    tx: mpsc::UnboundedSender<RawEvent>,
}

/// A prepared update: the object as read and the object to write.
pub(crate) struct PreparedUpdate {
    pub old: Value,
    pub new: Value,
}

/// The store.
pub(crate) struct Store {
    pub kinds: Kinds,
    clock: Arc<dyn Clock>,
    rv: u64,
    objects: BTreeMap<ObjKey, Value>,
    history: VecDeque<Event>,
    history_limit: usize,
    dropped_upto: u64,
    watchers: Vec<Watcher>,
}

fn meta(object: &Value) -> Option<&Map<String, Value>> {
    object.get("metadata")?.as_object()
}

fn meta_str<'a>(object: &'a Value, field: &str) -> Option<&'a str> {
    meta(object)?.get(field)?.as_str()
}

fn meta_mut(object: &mut Value) -> &mut Map<String, Value> {
    if !object.is_object() {
        *object = Value::Object(Map::new());
    }
    let Value::Object(root) = object else {
        unreachable!("made an object above")
    };
    let m = root
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !m.is_object() {
        *m = Value::Object(Map::new());
    }
    let Value::Object(m) = m else {
        unreachable!("made an object above")
    };
    m
}

fn finalizers(object: &Value) -> Vec<String> {
    meta(object)
        .and_then(|m| m.get("finalizers"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn set_finalizers(object: &mut Value, list: Vec<String>) {
    let m = meta_mut(object);
    if list.is_empty() {
        m.remove("finalizers");
    } else {
        m.insert("finalizers".into(), json!(list));
    }
}

fn owner_uids(object: &Value) -> Vec<String> {
    meta(object)
        .and_then(|m| m.get("ownerReferences"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|r| r.get("uid")?.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn retain_owner_refs(object: &mut Value, keep: impl Fn(&str) -> bool) {
    let m = meta_mut(object);
    if let Some(Value::Array(refs)) = m.get_mut("ownerReferences") {
        refs.retain(|r| r.get("uid").and_then(Value::as_str).is_some_and(&keep));
        if refs.is_empty() {
            m.remove("ownerReferences");
        }
    }
}

/// `at` as the API server writes metadata timestamps: RFC 3339, whole seconds, UTC.
pub(crate) fn rfc3339_seconds(at: jiff::Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn generation(object: &Value) -> i64 {
    meta(object)
        .and_then(|m| m.get("generation"))
        .and_then(Value::as_i64)
        .unwrap_or(1)
}

/// The object without the parts that do not count for `metadata.generation`.
fn generation_view(object: &Value, status_subresource: bool) -> Value {
    let mut v = object.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("metadata");
        o.remove("apiVersion");
        o.remove("kind");
        if status_subresource {
            o.remove("status");
        }
    }
    v
}

fn quoted(kind: &ResourceKind, name: &str) -> String {
    if kind.group.is_empty() {
        format!("{} {name:?}", kind.plural)
    } else {
        format!("{}.{} {name:?}", kind.plural, kind.group)
    }
}

fn conflict(kind: &ResourceKind, name: &str) -> KubeError {
    KubeError::conflict(format!(
        "Operation cannot be fulfilled on {}: the object has been modified; please apply your changes to the latest version and try again",
        quoted(kind, name)
    ))
}

/// A write whose `metadata.uid` is not the stored object's, in kube-apiserver's words (the
/// storage layer's precondition error, with the etcd key).
fn uid_mismatch(
    kind: &ResourceKind,
    namespace: &str,
    name: &str,
    uid: &str,
    stored: &str,
) -> KubeError {
    let mut key = String::from("/registry/");
    if !kind.group.is_empty() {
        key.push_str(&kind.group);
        key.push('/');
    }
    key.push_str(&kind.plural);
    if !namespace.is_empty() {
        key.push('/');
        key.push_str(namespace);
    }
    key.push('/');
    key.push_str(name);
    KubeError::conflict(format!(
        "Operation cannot be fulfilled on {}: StorageError: invalid object, Code: 4, Key: {key}, ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: UID in precondition: {uid}, UID in object meta: {stored}",
        quoted(kind, name)
    ))
}

/// A failed delete precondition, in kube-apiserver's words (`Kind.group "name"`).
fn precondition_failed(
    kind: &ResourceKind,
    name: &str,
    field: &str,
    wanted: &str,
    stored: &str,
) -> KubeError {
    let qualified = if kind.group.is_empty() {
        kind.kind.clone()
    } else {
        format!("{}.{}", kind.kind, kind.group)
    };
    let consequence = if field == "UID" {
        "The object might have been deleted and then recreated"
    } else {
        "The object might have been modified"
    };
    KubeError::conflict(format!(
        "Operation cannot be fulfilled on {qualified} {name:?}: the {field} in the precondition ({wanted}) does not match the {field} in record ({stored}). {consequence}"
    ))
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// Names must be RFC 1123 subdomains (namespaces: RFC 1123 labels), as the API server checks.
fn validate_name(sk: &ServedKind, name: &str) -> Result<()> {
    let (ok, rule) = if sk.kind.group.is_empty() && sk.kind.plural == "namespaces" {
        (
            is_dns_label(name),
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
        )
    } else {
        (
            name.len() <= 253 && name.split('.').all(is_dns_label),
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        )
    };
    if ok {
        return Ok(());
    }
    let detail = format!("Invalid value: {name:?}: {rule}");
    Err(KubeError::Invalid {
        message: format!(
            "{} {name:?} is invalid: metadata.name: {detail}",
            sk.kind.kind
        ),
        causes: vec![InvalidCause {
            field: "metadata.name".into(),
            reason: "FieldValueInvalid".into(),
            message: detail,
        }],
    })
}

fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    uuid::Uuid::new_v4()
        .as_bytes()
        .iter()
        .take(5)
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

impl Store {
    pub(crate) fn new(history_limit: usize, clock: Arc<dyn Clock>) -> Store {
        Store {
            kinds: Kinds::standard(),
            clock,
            rv: 0,
            objects: BTreeMap::new(),
            history: VecDeque::new(),
            history_limit: history_limit.max(1),
            dropped_upto: 0,
            watchers: Vec::new(),
        }
    }

    /// The current resourceVersion.
    pub(crate) fn resource_version(&self) -> u64 {
        self.rv
    }

    /// The served kind for a descriptor, or NotFound.
    pub(crate) fn served(&self, kind: &ResourceKind) -> Result<ServedKind> {
        self.kinds
            .lookup(kind)
            .cloned()
            .ok_or_else(|| KubeError::NotFound {
                what: super::UNKNOWN_RESOURCE.into(),
            })
    }

    fn key(&self, sk: &ServedKind, namespace: Option<&str>, name: &str) -> Result<ObjKey> {
        let ns = if sk.kind.namespaced {
            namespace.ok_or_else(|| KubeError::BadRequest {
                message: format!("{} is namespaced: a namespace is required", sk.kind),
            })?
        } else {
            ""
        };
        Ok(ObjKey::new(&sk.kind, ns, name))
    }

    fn namespace_ready(&self, namespace: &str) -> Result<()> {
        match self.objects.get(&ObjKey::namespace_key(namespace)) {
            None => Err(KubeError::NotFound {
                what: format!("namespaces {namespace:?}"),
            }),
            Some(ns) if meta_str(ns, "deletionTimestamp").is_some() => Err(KubeError::Forbidden {
                message: format!(
                    "unable to create new content in namespace {namespace} because it is being terminated"
                ),
            }),
            Some(_) => Ok(()),
        }
    }

    fn push_event(
        &mut self,
        kind: KindKey,
        namespace: String,
        type_: EventType,
        object: Value,
        old: Option<Value>,
    ) {
        let event = Event {
            rv: self.rv,
            kind,
            namespace,
            type_,
            object,
            old,
        };
        self.watchers.retain(|w| match w.filter.translate(&event) {
            Some(raw) => w.tx.send(raw).is_ok(),
            None => !w.tx.is_closed(),
        });
        self.history.push_back(event);
        while self.history.len() > self.history_limit {
            if let Some(e) = self.history.pop_front() {
                self.dropped_upto = e.rv;
            }
        }
    }

    /// Stores `object` under `key` with a new resourceVersion and records the event.
    fn commit(
        &mut self,
        key: &ObjKey,
        mut object: Value,
        type_: EventType,
        old: Option<Value>,
    ) -> Value {
        self.rv += 1;
        meta_mut(&mut object).insert("resourceVersion".into(), json!(self.rv.to_string()));
        self.objects.insert(key.clone(), object.clone());
        self.push_event(
            (key.group.clone(), key.plural.clone()),
            key.namespace.clone(),
            type_,
            object.clone(),
            old,
        );
        object
    }

    pub(crate) fn get(
        &self,
        sk: &ServedKind,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Value> {
        let key = self.key(sk, namespace, name)?;
        self.objects
            .get(&key)
            .cloned()
            .ok_or_else(|| KubeError::NotFound {
                what: quoted(&sk.kind, name),
            })
    }

    /// Lists objects: (items, resourceVersion, the next page when `limit` cut the list).
    pub(crate) fn list(
        &self,
        filter: &Filter,
        limit: Option<u32>,
        continue_token: Option<&str>,
    ) -> Result<(Vec<Value>, String, Option<NextPage>)> {
        // Where the page starts: the token's key (relative to the list's prefix, which
        // includes the namespace of a list in one namespace), inclusive.
        let from = match continue_token.filter(|t| !t.is_empty()) {
            None => None,
            Some(token) => {
                let start = continue_token::decode(token).map_err(|e| KubeError::BadRequest {
                    message: format!("invalid continue token: {e}"),
                })?;
                Some(match &filter.namespace {
                    Some(ns) => format!("{ns}/{start}"),
                    None => start,
                })
            }
        };
        let start = ObjKey {
            group: filter.kind.0.clone(),
            plural: filter.kind.1.clone(),
            namespace: String::new(),
            name: String::new(),
        };
        let limit = limit.filter(|l| *l > 0).map(|l| l as usize);
        let mut items = Vec::new();
        let mut more: Option<NextPage> = None;
        for (key, object) in self.objects.range(start..) {
            if key.group != filter.kind.0 || key.plural != filter.kind.1 {
                break;
            }
            if from
                .as_deref()
                .is_some_and(|from| key.relative().as_str() < from)
            {
                continue;
            }
            if filter
                .namespace
                .as_ref()
                .is_some_and(|ns| *ns != key.namespace)
                || !filter.matches(object)
            {
                continue;
            }
            if let Some(next) = more.as_mut() {
                // Past the page: only counted (kube-apiserver's remainingItemCount).
                next.remaining += 1;
                continue;
            }
            if limit.is_some_and(|l| items.len() >= l) {
                more = items.last().and_then(|o: &Value| {
                    let name = meta_str(o, "name")?;
                    let relative = match (&filter.namespace, meta_str(o, "namespace")) {
                        (None, Some(ns)) if !ns.is_empty() => format!("{ns}/{name}"),
                        _ => name.to_owned(),
                    };
                    Some(NextPage {
                        token: continue_token::encode(self.rv, &relative),
                        remaining: 1,
                    })
                });
                if more.is_none() {
                    break;
                }
                continue;
            }
            items.push(object.clone());
        }
        Ok((items, self.rv.to_string(), more))
    }

    /// Checks and normalises an object to create (before admission).
    pub(crate) fn prepare_create(
        &self,
        sk: &ServedKind,
        namespace: Option<&str>,
        mut object: Value,
    ) -> Result<Value> {
        if !object.is_object() {
            return Err(KubeError::BadRequest {
                message: "the body must be a JSON object".into(),
            });
        }
        let body_ns = meta_str(&object, "namespace").map(str::to_owned);
        let ns = if sk.kind.namespaced {
            let ns = namespace
                .map(str::to_owned)
                .or(body_ns.clone())
                .ok_or_else(|| KubeError::BadRequest {
                    message: format!("{} is namespaced: a namespace is required", sk.kind),
                })?;
            if body_ns.as_ref().is_some_and(|b| !b.is_empty() && *b != ns) {
                return Err(KubeError::BadRequest {
                    message: "the namespace of the provided object does not match the namespace sent on the request".into(),
                });
            }
            self.namespace_ready(&ns)?;
            Some(ns)
        } else {
            None
        };
        if let Some(o) = object.as_object_mut() {
            o.insert("apiVersion".into(), json!(sk.kind.api_version()));
            o.insert("kind".into(), json!(sk.kind.kind));
        }
        let m = meta_mut(&mut object);
        for field in [
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
            "managedFields",
            "selfLink",
        ] {
            m.remove(field);
        }
        match ns {
            Some(ns) => m.insert("namespace".into(), json!(ns)),
            None => m.remove("namespace"),
        };
        let has_name = m
            .get("name")
            .and_then(Value::as_str)
            .is_some_and(|n| !n.is_empty());
        let has_generate = m
            .get("generateName")
            .and_then(Value::as_str)
            .is_some_and(|n| !n.is_empty());
        if !has_name && !has_generate {
            return Err(KubeError::Invalid {
                message: format!(
                    "{} \"\" is invalid: metadata.name: Required value: name or generateName is required",
                    sk.kind.kind
                ),
                causes: vec![InvalidCause {
                    field: "metadata.name".into(),
                    reason: "FieldValueRequired".into(),
                    message: "Required value: name or generateName is required".into(),
                }],
            });
        }
        super::defaults::apply(&sk.kind, &mut object);
        Ok(object)
    }

    /// Stores an admitted object (fills name, uid, timestamps, generation, resourceVersion).
    pub(crate) fn commit_create(&mut self, sk: &ServedKind, object: Value) -> Result<Value> {
        let (key, object) = self.build_create(sk, object)?;
        if sk.kind.group == "apiextensions.k8s.io" && sk.kind.plural == "customresourcedefinitions"
        {
            self.register_crd(&object)?;
        }
        Ok(self.commit(&key, object, EventType::Added, None))
    }

    /// What `commit_create` would store, without storing it (no resourceVersion): a dry run.
    pub(crate) fn dry_run_create(&self, sk: &ServedKind, object: Value) -> Result<Value> {
        Ok(self.build_create(sk, object)?.1)
    }

    /// The checks of a create and the object it stores, without its resourceVersion.
    fn build_create(&self, sk: &ServedKind, mut object: Value) -> Result<(ObjKey, Value)> {
        let ns = meta_str(&object, "namespace").unwrap_or("").to_owned();
        if sk.kind.namespaced {
            self.namespace_ready(&ns)?;
        }
        let mut name = meta_str(&object, "name").unwrap_or("").to_owned();
        if name.is_empty() {
            let prefix = meta_str(&object, "generateName").unwrap_or("").to_owned();
            loop {
                name = format!("{prefix}{}", random_suffix());
                if !self
                    .objects
                    .contains_key(&ObjKey::new(&sk.kind, &ns, &name))
                {
                    break;
                }
            }
        }
        super::builtin_validation::check_create(sk, &name, &object, validate_name(sk, &name))?;
        let key = ObjKey::new(&sk.kind, &ns, &name);
        if self.objects.contains_key(&key) {
            return Err(KubeError::AlreadyExists {
                what: quoted(&sk.kind, &name),
            });
        }
        let m = meta_mut(&mut object);
        m.insert("name".into(), json!(name));
        m.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
        m.insert(
            "creationTimestamp".into(),
            json!(rfc3339_seconds(self.clock.now())),
        );
        if super::defaults::has_generation(&sk.kind) {
            m.insert("generation".into(), json!(1));
        } else {
            m.remove("generation");
        }
        if let Some(o) = object.as_object_mut() {
            if sk.status_subresource {
                o.remove("status");
            }
            if sk.kind.group == "apiextensions.k8s.io" {
                o.insert(
                    "status".into(),
                    json!({
                        "acceptedNames": o.get("spec").and_then(|s| s.get("names")).cloned().unwrap_or(json!({})),
                        "conditions": [{"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"}],
                        "storedVersions": [],
                    }),
                );
            }
        }
        let now = rfc3339_seconds(self.clock.now());
        super::defaults::prepare_for_create(&sk.kind, &mut object, &now)?;
        super::defaults::apply(&sk.kind, &mut object);
        if key.group.is_empty() && key.plural == "services" {
            super::defaults::allocate_service(&mut object, None, &self.allocated(&key))?;
        }
        Ok((key, object))
    }

    fn register_crd(&mut self, object: &Value) -> Result<()> {
        let crd: k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition =
            serde_json::from_value(object.clone()).map_err(|e| KubeError::BadRequest {
                message: format!("invalid CustomResourceDefinition: {e}"),
            })?;
        // Built-in groups (no dot, or `*.k8s.io`) are never taken over by a CRD.
        for kind in super::kinds::from_crd(&crd) {
            let group = &kind.kind.group;
            if group.contains('.') && !group.ends_with(".k8s.io") {
                self.kinds.insert(kind);
            }
        }
        Ok(())
    }

    /// Computes the object a replace (or patch result) would write; checks the
    /// resourceVersion. `status_write` for the status subresource.
    pub(crate) fn prepare_update(
        &self,
        sk: &ServedKind,
        namespace: Option<&str>,
        name: &str,
        mut body: Value,
        status_write: bool,
    ) -> Result<PreparedUpdate> {
        if status_write && !sk.status_subresource {
            return Err(KubeError::NotFound {
                what: super::UNKNOWN_RESOURCE.into(),
            });
        }
        if !body.is_object() {
            return Err(KubeError::BadRequest {
                message: "the body must be a JSON object".into(),
            });
        }
        let old = self.get(sk, namespace, name)?;
        let body_name = meta_str(&body, "name").unwrap_or("");
        if !body_name.is_empty() && body_name != name {
            return Err(KubeError::BadRequest {
                message: format!(
                    "the name of the object ({body_name}) does not match the name on the URL ({name})"
                ),
            });
        }
        if let Some(body_ns) = meta_str(&body, "namespace")
            && sk.kind.namespaced
            && !body_ns.is_empty()
            && Some(body_ns) != meta_str(&old, "namespace")
        {
            return Err(KubeError::BadRequest {
                message: "the namespace of the provided object does not match the namespace sent on the request".into(),
            });
        }
        if let Some(rv) = meta_str(&body, "resourceVersion")
            && !rv.is_empty()
            && Some(rv) != meta_str(&old, "resourceVersion")
        {
            return Err(conflict(&sk.kind, name));
        }
        if let Some(uid) = meta_str(&body, "uid")
            && !uid.is_empty()
            && Some(uid) != meta_str(&old, "uid")
        {
            return Err(uid_mismatch(
                &sk.kind,
                meta_str(&old, "namespace").unwrap_or(""),
                name,
                uid,
                meta_str(&old, "uid").unwrap_or(""),
            ));
        }
        let new = if status_write {
            let mut new = old.clone();
            if let Some(o) = new.as_object_mut() {
                match body.get("status") {
                    Some(s) if !s.is_null() => o.insert("status".into(), s.clone()),
                    _ => o.remove("status"),
                };
            }
            new
        } else {
            if let Some(o) = body.as_object_mut() {
                o.insert("apiVersion".into(), json!(sk.kind.api_version()));
                o.insert("kind".into(), json!(sk.kind.kind));
                if sk.status_subresource {
                    match old.get("status") {
                        Some(s) => o.insert("status".into(), s.clone()),
                        None => o.remove("status"),
                    };
                }
            }
            body
        };
        let mut new = self.preserve_server_fields(&old, new);
        super::defaults::apply(&sk.kind, &mut new);
        Ok(PreparedUpdate { new, old })
    }

    fn preserve_server_fields(&self, old: &Value, mut new: Value) -> Value {
        let m = meta_mut(&mut new);
        for field in [
            "name",
            "namespace",
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
            "resourceVersion",
        ] {
            match meta(old).and_then(|o| o.get(field)) {
                Some(v) => m.insert(field.into(), v.clone()),
                None => m.remove(field),
            };
        }
        m.remove("managedFields");
        new
    }

    /// Writes a prepared (and admitted) update; `Conflict` if the object changed meanwhile.
    pub(crate) fn commit_update(
        &mut self,
        sk: &ServedKind,
        prepared: PreparedUpdate,
    ) -> Result<Value> {
        let (key, old, new) = match self.build_update(sk, prepared)? {
            Ok(unchanged) => return Ok(unchanged),
            Err(write) => write,
        };
        if sk.kind.group == "apiextensions.k8s.io" && sk.kind.plural == "customresourcedefinitions"
        {
            self.register_crd(&new)?;
        }
        let deleting = meta_str(&new, "deletionTimestamp").is_some() && finalizers(&new).is_empty();
        let written = self.commit(&key, new, EventType::Modified, Some(old));
        if deleting {
            return Ok(self.remove(&key).unwrap_or(written));
        }
        Ok(written)
    }

    /// What `commit_update` would write, without writing it (the old resourceVersion): a dry
    /// run.
    pub(crate) fn dry_run_update(
        &self,
        sk: &ServedKind,
        prepared: PreparedUpdate,
    ) -> Result<Value> {
        Ok(match self.build_update(sk, prepared)? {
            Ok(unchanged) => unchanged,
            Err((_, _, new)) => new,
        })
    }

    /// The checks of an update: `Ok(old)` when nothing changes, else `Err((key, old, new))`.
    #[allow(clippy::type_complexity)]
    fn build_update(
        &self,
        sk: &ServedKind,
        prepared: PreparedUpdate,
    ) -> Result<std::result::Result<Value, (ObjKey, Value, Value)>> {
        let PreparedUpdate { old, new } = prepared;
        let name = meta_str(&old, "name").unwrap_or("").to_owned();
        let key = self.key(sk, meta_str(&old, "namespace"), &name)?;
        let current = self
            .objects
            .get(&key)
            .cloned()
            .ok_or_else(|| KubeError::NotFound {
                what: quoted(&sk.kind, &name),
            })?;
        if meta_str(&current, "resourceVersion") != meta_str(&old, "resourceVersion") {
            return Err(conflict(&sk.kind, &name));
        }
        let mut new = self.preserve_server_fields(&old, new);
        if let Some(o) = new.as_object_mut() {
            o.insert("apiVersion".into(), json!(sk.kind.api_version()));
            o.insert("kind".into(), json!(sk.kind.kind));
        }
        super::defaults::apply(&sk.kind, &mut new);
        super::defaults::prepare_for_update(&sk.kind, &old, &mut new)?;
        super::builtin_validation::check_update(sk, &name, &old, &new)?;
        if key.group.is_empty() && key.plural == "services" {
            super::defaults::allocate_service(&mut new, Some(&old), &self.allocated(&key))?;
        }
        if super::defaults::has_generation(&sk.kind)
            && generation_view(&old, sk.status_subresource)
                != generation_view(&new, sk.status_subresource)
        {
            meta_mut(&mut new).insert("generation".into(), json!(generation(&old) + 1));
        }
        if meta_str(&old, "deletionTimestamp").is_some() {
            let added: Vec<String> = finalizers(&new)
                .into_iter()
                .filter(|f| !finalizers(&old).contains(f))
                .collect();
            if !added.is_empty() {
                return Err(KubeError::Forbidden {
                    message: format!(
                        "no new finalizers can be added if the object is being deleted, found new finalizers {added:?}"
                    ),
                });
            }
        }
        if new == old {
            return Ok(Ok(old));
        }
        Ok(Err((key, old, new)))
    }

    /// Deletes an object; returns its last state (still stored when finalizers hold it).
    pub(crate) fn delete(
        &mut self,
        sk: &ServedKind,
        namespace: Option<&str>,
        name: &str,
        options: &DeleteOptions,
    ) -> Result<Value> {
        let key = self.delete_target(sk, namespace, name, options)?;
        let propagation = options.propagation.unwrap_or(Propagation::Background);
        Ok(self.delete_key(&key, propagation).unwrap_or_default())
    }

    /// What `delete` would answer, without deleting: the object, marked as being deleted when
    /// finalizers (or foreground deletion) would hold it. A dry run.
    pub(crate) fn dry_run_delete(
        &self,
        sk: &ServedKind,
        namespace: Option<&str>,
        name: &str,
        options: &DeleteOptions,
    ) -> Result<Value> {
        let key = self.delete_target(sk, namespace, name, options)?;
        let object = self.objects.get(&key).cloned().unwrap_or_default();
        let foreground = options.propagation == Some(Propagation::Foreground);
        if key.is_namespace() || foreground || !finalizers(&object).is_empty() {
            return Ok(self.marked(&key, object, foreground.then_some(FOREGROUND_FINALIZER)));
        }
        Ok(object)
    }

    /// The key of the object a delete targets, once it exists and meets the preconditions.
    fn delete_target(
        &self,
        sk: &ServedKind,
        namespace: Option<&str>,
        name: &str,
        options: &DeleteOptions,
    ) -> Result<ObjKey> {
        let key = self.key(sk, namespace, name)?;
        let object = self.objects.get(&key).ok_or_else(|| KubeError::NotFound {
            what: quoted(&sk.kind, name),
        })?;
        if let Some(uid) = &options.precondition_uid
            && Some(uid.as_str()) != meta_str(object, "uid")
        {
            return Err(precondition_failed(
                &sk.kind,
                name,
                "UID",
                uid,
                meta_str(object, "uid").unwrap_or(""),
            ));
        }
        if let Some(rv) = &options.precondition_resource_version
            && Some(rv.as_str()) != meta_str(object, "resourceVersion")
        {
            return Err(precondition_failed(
                &sk.kind,
                name,
                "ResourceVersion",
                rv,
                meta_str(object, "resourceVersion").unwrap_or(""),
            ));
        }
        Ok(key)
    }

    fn dependents(&self, uid: &str) -> Vec<ObjKey> {
        self.objects
            .iter()
            .filter(|(_, o)| owner_uids(o).iter().any(|u| u == uid))
            .map(|(k, _)| k.clone())
            .collect()
    }

    fn key_of_uid(&self, uid: &str) -> Option<ObjKey> {
        self.objects
            .iter()
            .find(|(_, o)| meta_str(o, "uid") == Some(uid))
            .map(|(k, _)| k.clone())
    }

    fn mark_deleting(&mut self, key: &ObjKey, extra_finalizer: Option<&str>) -> Option<Value> {
        let old = self.objects.get(key)?.clone();
        let new = self.marked(key, old.clone(), extra_finalizer);
        if new == old {
            return Some(old);
        }
        Some(self.commit(key, new, EventType::Modified, Some(old)))
    }

    /// `object` marked as being deleted (deletionTimestamp, the extra finalizer, a namespace's
    /// `Terminating` phase).
    fn marked(&self, key: &ObjKey, mut new: Value, extra_finalizer: Option<&str>) -> Value {
        if let Some(f) = extra_finalizer {
            let mut list = finalizers(&new);
            if !list.iter().any(|x| x == f) {
                list.push(f.to_owned());
            }
            set_finalizers(&mut new, list);
        }
        if meta_str(&new, "deletionTimestamp").is_none() {
            // BeforeDelete bumps the generation of objects that have one.
            let g = meta(&new)
                .and_then(|m| m.get("generation"))
                .and_then(Value::as_i64)
                .map(|g| g + 1);
            let now = rfc3339_seconds(self.clock.now());
            let m = meta_mut(&mut new);
            m.insert("deletionTimestamp".into(), json!(now));
            m.insert("deletionGracePeriodSeconds".into(), json!(0));
            if let Some(g) = g {
                m.insert("generation".into(), json!(g));
            }
        }
        if key.is_namespace()
            && let Some(o) = new.as_object_mut()
        {
            o.insert("status".into(), json!({"phase": "Terminating"}));
        }
        new
    }

    fn delete_key(&mut self, key: &ObjKey, propagation: Propagation) -> Option<Value> {
        let object = self.objects.get(key)?.clone();
        let uid = meta_str(&object, "uid").unwrap_or("").to_owned();
        if key.is_namespace() {
            let marked = self.mark_deleting(key, None);
            let contents: Vec<ObjKey> = self
                .objects
                .keys()
                .filter(|k| k.namespace == key.name)
                .cloned()
                .collect();
            for k in contents {
                self.delete_key(&k, Propagation::Background);
            }
            return match self.objects.get(key) {
                Some(ns) if finalizers(ns).is_empty() && !self.namespace_has_objects(&key.name) => {
                    self.remove(key)
                }
                _ => marked,
            };
        }
        if propagation == Propagation::Orphan {
            for dep in self.dependents(&uid) {
                if let Some(old) = self.objects.get(&dep).cloned() {
                    let mut new = old.clone();
                    retain_owner_refs(&mut new, |u| u != uid);
                    self.commit(&dep, new, EventType::Modified, Some(old));
                }
            }
        }
        let foreground = propagation == Propagation::Foreground;
        if foreground || !finalizers(&object).is_empty() {
            let marked = self.mark_deleting(key, foreground.then_some(FOREGROUND_FINALIZER));
            if foreground {
                for dep in self.dependents(&uid) {
                    self.delete_key(&dep, Propagation::Foreground);
                }
                self.try_finish_foreground(key);
            }
            if key.group.is_empty()
                && matches!(
                    key.plural.as_str(),
                    "persistentvolumeclaims" | "persistentvolumes"
                )
            {
                self.release_storage_protection();
            }
            return self.objects.get(key).cloned().or(marked);
        }
        self.remove(key)
    }

    /// The cluster IPs and node ports of every Service but `except`.
    fn allocated(&self, except: &ObjKey) -> super::defaults::Allocated {
        super::defaults::Allocated::of(
            self.objects
                .iter()
                .filter(|(k, _)| k.group.is_empty() && k.plural == "services" && *k != except)
                .map(|(_, o)| o),
        )
    }

    /// Plays kube-controller-manager's pvc-protection and pv-protection controllers: removes
    /// the protection finalizer of deleted claims no pod of their namespace uses, and of
    /// deleted volumes that are not bound.
    fn release_storage_protection(&mut self) {
        let candidates: Vec<ObjKey> = self
            .objects
            .iter()
            .filter(|(k, o)| {
                k.group.is_empty()
                    && matches!(
                        k.plural.as_str(),
                        "persistentvolumeclaims" | "persistentvolumes"
                    )
                    && meta_str(o, "deletionTimestamp").is_some()
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in candidates {
            let Some(object) = self.objects.get(&key).cloned() else {
                continue;
            };
            let (finalizer, in_use) = if key.plural == "persistentvolumes" {
                (
                    super::defaults::PV_PROTECTION,
                    object.pointer("/status/phase").and_then(Value::as_str) == Some("Bound"),
                )
            } else {
                (super::defaults::PVC_PROTECTION, self.claim_in_use(&key))
            };
            let list = finalizers(&object);
            if in_use || !list.iter().any(|f| f == finalizer) {
                continue;
            }
            let rest: Vec<String> = list.into_iter().filter(|f| f != finalizer).collect();
            if rest.is_empty() {
                self.remove(&key);
            } else {
                let mut new = object.clone();
                set_finalizers(&mut new, rest);
                self.commit(&key, new, EventType::Modified, Some(object));
            }
        }
    }

    /// Whether a pod of the claim's namespace that has not finished mounts the claim.
    fn claim_in_use(&self, claim: &ObjKey) -> bool {
        self.objects.iter().any(|(k, pod)| {
            k.group.is_empty()
                && k.plural == "pods"
                && k.namespace == claim.namespace
                && !matches!(
                    pod.pointer("/status/phase").and_then(Value::as_str),
                    Some("Succeeded" | "Failed")
                )
                && pod
                    .pointer("/spec/volumes")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .any(|v| {
                        v.pointer("/persistentVolumeClaim/claimName")
                            .and_then(Value::as_str)
                            == Some(claim.name.as_str())
                    })
        })
    }

    fn namespace_has_objects(&self, namespace: &str) -> bool {
        self.objects.keys().any(|k| k.namespace == namespace)
    }

    fn try_finish_foreground(&mut self, key: &ObjKey) {
        let Some(object) = self.objects.get(key).cloned() else {
            return;
        };
        let list = finalizers(&object);
        if meta_str(&object, "deletionTimestamp").is_none()
            || !list.iter().any(|f| f == FOREGROUND_FINALIZER)
        {
            return;
        }
        let uid = meta_str(&object, "uid").unwrap_or("").to_owned();
        if !self.dependents(&uid).is_empty() {
            return;
        }
        let rest: Vec<String> = list
            .into_iter()
            .filter(|f| f != FOREGROUND_FINALIZER)
            .collect();
        if rest.is_empty() {
            self.remove(key);
        } else {
            let mut new = object.clone();
            set_finalizers(&mut new, rest);
            self.commit(key, new, EventType::Modified, Some(object));
        }
    }

    /// Removes an object for good: Deleted event, garbage collection of dependents,
    /// foreground owners and terminating namespaces.
    fn remove(&mut self, key: &ObjKey) -> Option<Value> {
        let mut object = self.objects.remove(key)?;
        self.rv += 1;
        meta_mut(&mut object).insert("resourceVersion".into(), json!(self.rv.to_string()));
        self.push_event(
            (key.group.clone(), key.plural.clone()),
            key.namespace.clone(),
            EventType::Deleted,
            object.clone(),
            None,
        );
        let uid = meta_str(&object, "uid").unwrap_or("").to_owned();
        for dep in self.dependents(&uid) {
            let Some(old) = self.objects.get(&dep).cloned() else {
                continue;
            };
            let living: Vec<String> = owner_uids(&old)
                .into_iter()
                .filter(|u| *u != uid && self.key_of_uid(u).is_some())
                .collect();
            if living.is_empty() {
                self.delete_key(&dep, Propagation::Background);
            } else {
                let mut new = old.clone();
                retain_owner_refs(&mut new, |u| living.iter().any(|l| l == u));
                self.commit(&dep, new, EventType::Modified, Some(old));
            }
        }
        for owner in owner_uids(&object) {
            if let Some(owner_key) = self.key_of_uid(&owner) {
                self.try_finish_foreground(&owner_key);
            }
        }
        if key.group.is_empty() && key.plural == "pods" {
            self.release_storage_protection();
        }
        if !key.namespace.is_empty() {
            let ns_key = ObjKey::namespace_key(&key.namespace);
            if let Some(ns) = self.objects.get(&ns_key)
                && meta_str(ns, "deletionTimestamp").is_some()
                && finalizers(ns).is_empty()
                && !self.namespace_has_objects(&key.namespace)
            {
                self.remove(&ns_key);
            }
        }
        Some(object)
    }

    /// Registers a watch from `from` ("" or "0": synthetic Added events for current objects).
    pub(crate) fn watch(
        &mut self,
        filter: Filter,
        from: &str,
    ) -> Result<mpsc::UnboundedReceiver<RawEvent>> {
        let (tx, rx) = mpsc::unbounded_channel();
        if from.is_empty() || from == "0" {
            let (items, _, _) = self.list(&filter, None, None)?;
            for object in items {
                let _ = tx.send(RawEvent {
                    type_: EventType::Added,
                    object,
                });
            }
        } else {
            let n: u64 = from.parse().map_err(|_| KubeError::BadRequest {
                message: format!("invalid resource version {from:?}"),
            })?;
            if n < self.dropped_upto {
                return Err(KubeError::Gone {
                    message: format!("too old resource version: {n} ({})", self.dropped_upto + 1),
                });
            }
            for event in self.history.iter().filter(|e| e.rv > n) {
                if let Some(raw) = filter.translate(event) {
                    let _ = tx.send(raw);
                }
            }
        }
        self.watchers.push(Watcher { filter, tx });
        Ok(rx)
    }

    /// Forgets the event history: watches from any earlier version are `Gone` (like a fresh
    /// API server whose watch cache starts now).
    pub(crate) fn forget_history(&mut self) {
        self.history.clear();
        self.dropped_upto = self.rv;
    }

    /// Drops every watcher: their streams end.
    pub(crate) fn close_watches(&mut self) {
        self.watchers.clear();
    }

    /// Every served kind (for discovery).
    pub(crate) fn served_kinds(&self) -> Vec<ServedKind> {
        self.kinds.all().cloned().collect()
    }

    pub(crate) fn find_kind(&self, group: &str, version: &str, plural: &str) -> Option<ServedKind> {
        self.kinds.find(group, version, plural).cloned()
    }

    /// Creates a namespace directly (used at start).
    pub(crate) fn ensure_namespace(&mut self, name: &str) {
        let key = ObjKey::namespace_key(name);
        if self.objects.contains_key(&key) {
            return;
        }
        if let Some(sk) = self.kinds.find("", "v1", "namespaces").cloned() {
            let object = json!({"metadata": {"name": name}});
            if let Ok(prepared) = self.prepare_create(&sk, None, object) {
                let _ = self.commit_create(&sk, prepared);
            }
        }
    }
}
