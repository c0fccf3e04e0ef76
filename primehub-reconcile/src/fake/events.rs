//! `events.k8s.io/v1` Events as kube-apiserver serves them: a view of the core `v1` Events,
//! stored once and converted field by field (so an Event written through one API is read,
//! listed and watched through the other, with the same uid and resourceVersion).

use serde_json::{Map, Value};

use super::ServedKind;

/// `events.k8s.io/v1` field ↔ core `v1` field, where the names differ.
const RENAMED: [(&str, &str); 7] = [
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
    ("reportingController", "reportingComponent"),
];

/// How a served kind maps onto what the store keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum View {
    /// Stored as served.
    Same,
    /// `events.k8s.io/v1` Events, stored as core `v1` Events.
    EventsV1,
}

impl View {
    pub(crate) fn of(sk: &ServedKind) -> View {
        if sk.kind.group == "events.k8s.io" && sk.kind.plural == "events" {
            View::EventsV1
        } else {
            View::Same
        }
    }

    /// An object as served → as stored.
    pub(crate) fn stored(self, object: Value) -> Value {
        match self {
            View::Same => object,
            View::EventsV1 => convert(object, "v1", |events, _| events, |_, core| core),
        }
    }

    /// An object as stored → as served.
    pub(crate) fn served(self, object: Value) -> Value {
        match self {
            View::Same => object,
            View::EventsV1 => convert(
                object,
                "events.k8s.io/v1",
                |_, core| core,
                |events, _| events,
            ),
        }
    }

    /// A field selector on the served kind → on the stored kind.
    pub(crate) fn field_selector(self, selector: Option<&str>) -> Option<String> {
        let selector = selector?;
        if self == View::Same {
            return Some(selector.to_owned());
        }
        let parts: Vec<String> = selector
            .split(',')
            .map(|part| {
                let trimmed = part.trim_start();
                for (events, core) in RENAMED {
                    if let Some(rest) = trimmed.strip_prefix(events)
                        && (rest.starts_with('.') || rest.starts_with('=') || rest.starts_with('!'))
                    {
                        return format!("{core}{rest}");
                    }
                }
                part.to_owned()
            })
            .collect();
        Some(parts.join(","))
    }
}

/// Renames the top-level fields from `from(events, core)` to `to(events, core)` and sets
/// `apiVersion`.
fn convert(
    object: Value,
    api_version: &str,
    from: fn(&'static str, &'static str) -> &'static str,
    to: fn(&'static str, &'static str) -> &'static str,
) -> Value {
    let Value::Object(mut fields) = object else {
        return object;
    };
    let mut renamed = Map::new();
    for (events, core) in RENAMED {
        if let Some(v) = fields.remove(from(events, core)) {
            renamed.insert(to(events, core).to_owned(), v);
        }
    }
    fields.extend(renamed);
    fields.insert("apiVersion".into(), Value::String(api_version.into()));
    fields.insert("kind".into(), Value::String("Event".into()));
    Value::Object(fields)
}
