//! What kube-apiserver does with a written object's fields before storing it: the body's
//! `kind`/`apiVersion` must be the path's, unknown and duplicate fields are dropped and reported
//! as the `fieldValidation` parameter asks (`Strict`: the request fails, `Warn` (default): one
//! `Warning` header per field, `Ignore`: silently), and custom resources are defaulted and
//! validated against their CRD's schema ([`super::schema`]).
//!
//! Unknown fields of built-in kinds are found with the v2 definitions (a field is unknown where
//! a definition lists `properties` and not that name; `additionalProperties` maps and
//! `x-kubernetes-preserve-unknown-fields` allow anything), as the Go structs would drop them;
//! those of custom resources with the CRD's structural schema (pruning).

use std::fmt;

use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::openapi_crd::CrdVersion;
use super::{Change, FakeCluster, ServedKind, apply_patch, builtin_validation, schema};
use crate::admission::Operation;
use crate::error::{InvalidCause, KubeError, Result};

/// The `fieldValidation` directive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Mode {
    /// Drop unknown fields silently.
    Ignore,
    /// Drop them with a warning each (the default).
    #[default]
    Warn,
    /// Fail the request.
    Strict,
}

impl Mode {
    /// Parses the query parameter; `options` is `CreateOptions`, `UpdateOptions` or
    /// `PatchOptions` (for the error).
    pub(crate) fn parse(value: Option<&str>, options: &str) -> Result<Mode> {
        match value.unwrap_or("") {
            "" | "Warn" => Ok(Mode::Warn),
            "Ignore" => Ok(Mode::Ignore),
            "Strict" => Ok(Mode::Strict),
            other => {
                let detail = format!(
                    "Unsupported value: {}: supported values: \"\", \"Ignore\", \"Strict\", \"Warn\"",
                    quote(other)
                );
                Err(KubeError::Invalid {
                    message: format!(
                        "{options}.meta.k8s.io \"\" is invalid: fieldValidation: {detail}"
                    ),
                    causes: vec![InvalidCause {
                        field: "fieldValidation".into(),
                        reason: "FieldValueNotSupported".into(),
                        message: detail,
                    }],
                })
            }
        }
    }
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

/// How a write checks the body's fields.
#[derive(Debug, Clone, Default)]
pub(crate) struct FieldCheck {
    /// The `fieldValidation` directive.
    pub mode: Mode,
    /// Every field path of the request body in document order, with whether it repeats an
    /// earlier key of the same object ([`decode`]).
    pub fields: Vec<(String, bool)>,
    /// Whether the body came over HTTP: a custom resource must then name its `kind` and
    /// `apiVersion` (in process, missing ones are the kind's; present ones are checked
    /// either way).
    pub http: bool,
    /// `dryRun=All`: admitted and answered as the write would be, but not stored.
    pub dry_run: bool,
}

/// Parses a JSON body, keeping its field paths in order and noting duplicate keys.
pub(crate) fn decode(body: &[u8]) -> std::result::Result<(Value, Vec<(String, bool)>), String> {
    let mut fields = Vec::new();
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = Scan {
        path: String::new(),
        fields: &mut fields,
    }
    .deserialize(&mut de)
    .map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok((value, fields))
}

struct Scan<'a> {
    path: String,
    fields: &'a mut Vec<(String, bool)>,
}

impl<'de> DeserializeSeed<'de> for Scan<'_> {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Scan<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> std::result::Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> std::result::Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> std::result::Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> std::result::Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> std::result::Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> std::result::Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Value, A::Error> {
        let fields = self.fields;
        let mut out = Vec::new();
        loop {
            let seed = Scan {
                path: format!("{}[{}]", self.path, out.len()),
                fields: &mut *fields,
            };
            match seq.next_element_seed(seed)? {
                Some(v) => out.push(v),
                None => break,
            }
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Value, A::Error> {
        let fields = self.fields;
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = child(&self.path, &key);
            fields.push((path.clone(), out.contains_key(&key)));
            let v = map.next_value_seed(Scan {
                path,
                fields: &mut *fields,
            })?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Removes the fields the v2 `schema` does not know (walking `$ref`s); records their paths.
fn prune_built_in(value: &mut Value, schema: &Value, path: &str, pruned: &mut Vec<String>) {
    let doc = super::openapi::kubernetes();
    let mut schema = schema;
    while let Some(name) = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/definitions/"))
    {
        match doc.definition(name) {
            Some(s) => schema = s,
            None => return,
        }
    }
    if schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true)) {
        return;
    }
    match value {
        Value::Object(o) => {
            let props = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            if props.is_none() && additional.is_none() {
                return;
            }
            let keys: Vec<String> = o.keys().cloned().collect();
            for key in keys {
                let here = child(path, &key);
                match props.and_then(|p| p.get(&key)).or(additional) {
                    Some(s) => {
                        if let Some(v) = o.get_mut(&key) {
                            prune_built_in(v, s, &here, pruned);
                        }
                    }
                    None => {
                        o.remove(&key);
                        pruned.push(here);
                    }
                }
            }
        }
        Value::Array(a) => {
            if let Some(items) = schema.get("items") {
                for (i, v) in a.iter_mut().enumerate() {
                    prune_built_in(v, items, &format!("{path}[{i}]"), pruned);
                }
            }
        }
        _ => {}
    }
}

/// Prunes an ObjectMeta (`metadata` of a custom resource or of an embedded resource).
fn prune_object_meta(value: &mut Value, path: &str, pruned: &mut Vec<String>) {
    let meta = serde_json::json!({"$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"});
    prune_built_in(value, &meta, path, pruned);
}

/// `<Kind>.<group>` as kube-apiserver qualifies kinds in messages.
fn qualified(sk: &ServedKind, kind: &str) -> String {
    if sk.kind.group.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}.{}", sk.kind.group)
    }
}

/// The internal Go package kube-apiserver converts a group's objects to (`core`, `apps`, …).
fn internal_package(group: &str) -> &str {
    if group.is_empty() {
        "core"
    } else {
        group.split('.').next().unwrap_or(group)
    }
}

fn name_in(object: &Value) -> &str {
    object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The 422 kube-apiserver answers when a patched object cannot be decoded.
fn patch_failure(patched: &Value, why: &str) -> KubeError {
    let detail = format!("Invalid value: {}: {why}", quote(&patched.to_string()));
    KubeError::Invalid {
        message: format!(" \"\" is invalid: patch: {detail}"),
        causes: vec![InvalidCause {
            field: "patch".into(),
            reason: "FieldValueInvalid".into(),
            message: detail,
        }],
    }
}

/// Whether `error` is the 422 of a patch that does not decode or does not apply (its Status
/// has no name, group or kind in `details`).
pub(crate) fn is_patch_failure(error: &KubeError) -> bool {
    matches!(error, KubeError::Invalid { causes, message }
        if (causes.len() == 1 && causes[0].field == "patch")
            || (causes.is_empty() && message == super::JSON_PATCH_REJECTED))
}

impl FakeCluster {
    /// The schema-bearing CRD version of a served kind, if a CRD defines it.
    fn crd_of(&self, sk: &ServedKind) -> Option<CrdVersion> {
        self.crd_version(&sk.kind.group, &sk.kind.version, &sk.kind.kind)
    }

    /// Checks the body's `kind` and `apiVersion` against the path's, as kube-apiserver does.
    fn check_type(
        &self,
        sk: &ServedKind,
        crd: Option<&CrdVersion>,
        body: &Value,
        patched: bool,
        http: bool,
    ) -> Result<()> {
        let want_kind = &sk.kind.kind;
        let want_api = sk.kind.api_version();
        let mut kind = body.get("kind").and_then(Value::as_str).unwrap_or("");
        let mut api = body.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        if !http {
            // In process, a typed object may leave them out: they are the kind's.
            if kind.is_empty() {
                kind = want_kind;
            }
            if api.is_empty() {
                api = &want_api;
            }
        }
        if crd.is_some() {
            if kind.is_empty() {
                let text = body.to_string();
                let head: String = text.chars().take(30).collect();
                let head = if head.len() < text.len() {
                    format!("{head} ...")
                } else {
                    head
                };
                return Err(KubeError::BadRequest {
                    message: format!(
                        "the object provided is unrecognized (must be of type {want_kind}): Object 'Kind' is missing in '{text}' ({head})"
                    ),
                });
            }
            if api != want_api {
                return Err(KubeError::BadRequest {
                    message: format!(
                        "the API version in the data ({api}) does not match the expected API version ({want_api})"
                    ),
                });
            }
            if kind != want_kind {
                let detail = format!("Invalid value: {}: must be {want_kind}", quote(kind));
                return Err(KubeError::Invalid {
                    message: format!(
                        "{} {} is invalid: kind: {detail}",
                        qualified(sk, kind),
                        quote(name_in(body))
                    ),
                    causes: vec![InvalidCause {
                        field: "kind".into(),
                        reason: "FieldValueInvalid".into(),
                        message: detail,
                    }],
                });
            }
            return Ok(());
        }
        // Built-in kinds: a missing kind or apiVersion is the path's.
        let kind = if kind.is_empty() { want_kind } else { kind };
        let api = if api.is_empty() {
            want_api.as_str()
        } else {
            api
        };
        if kind == want_kind && api == want_api {
            return Ok(());
        }
        let (group, version) = api.rsplit_once('/').unwrap_or(("", api));
        let registered = super::openapi::kubernetes()
            .definition_name(group, version, kind)
            .is_some();
        let why = if registered {
            format!(
                "converting ({version}.{kind}) to ({}.{want_kind}): unknown conversion",
                internal_package(&sk.kind.group)
            )
        } else {
            format!(
                "no kind {} is registered for version {} in scheme \"pkg/runtime/scheme.go:111\"",
                quote(kind),
                quote(api)
            )
        };
        if patched {
            return Err(patch_failure(body, &why));
        }
        Err(KubeError::BadRequest {
            message: format!(
                "{kind} in version {} cannot be handled as a {want_kind}: {why}",
                quote(version)
            ),
        })
    }

    /// Checks the JSON types of a built-in object's fields as kube-apiserver's decoder does
    /// ([`super::builtin_types`]): 400 for a body, the 422 `patch` cause for a patch result.
    fn check_go_types(
        &self,
        sk: &ServedKind,
        crd: Option<&CrdVersion>,
        body: &Value,
        patched: bool,
        strategic: Option<&Value>,
    ) -> Result<()> {
        if crd.is_some() || sk.kind.group == "apiextensions.k8s.io" {
            return Ok(());
        }
        let Some(definition) = super::openapi::kubernetes().definition_name(
            &sk.kind.group,
            &sk.kind.version,
            &sk.kind.kind,
        ) else {
            return Ok(());
        };
        if let Some(patch) = strategic {
            // kube-apiserver converts a strategic merge result from its map form, and quotes
            // the patch as Go prints the map.
            let Err(why) = super::builtin_types::check_converted(definition, body) else {
                return Ok(());
            };
            let detail = format!(
                "Invalid value: {}: {why}",
                quote(&super::builtin_types::go_format(patch))
            );
            return Err(KubeError::Invalid {
                message: format!(" \"\" is invalid: patch: {detail}"),
                causes: vec![InvalidCause {
                    field: "patch".into(),
                    reason: "FieldValueInvalid".into(),
                    message: detail,
                }],
            });
        }
        let Err(why) = super::builtin_types::check(definition, body) else {
            return Ok(());
        };
        if patched {
            return Err(patch_failure(body, &why));
        }
        let kind = &sk.kind.kind;
        Err(KubeError::BadRequest {
            message: format!(
                "{kind} in version {} cannot be handled as a {kind}: {why}",
                quote(&sk.kind.version)
            ),
        })
    }

    /// Drops the unknown fields of `body` and answers them as `check.mode` asks: the warnings
    /// to send (Warn), or the Strict error.
    fn check_fields(
        &self,
        sk: &ServedKind,
        crd: Option<&CrdVersion>,
        body: &mut Value,
        check: &FieldCheck,
        patched: bool,
    ) -> Result<Vec<String>> {
        let original = body.clone();
        let problems: Vec<String> = match crd {
            Some(cv) => {
                let unknown = match &cv.schema {
                    Some(s) => schema::prune(body, s, &prune_object_meta),
                    None => Vec::new(),
                };
                check
                    .fields
                    .iter()
                    .filter(|(_, dup)| *dup)
                    .map(|(p, _)| format!("duplicate field {}", quote(p)))
                    .chain(
                        unknown
                            .iter()
                            .map(|p| format!("unknown field {}", quote(p))),
                    )
                    .collect()
            }
            None => {
                let doc = super::openapi::kubernetes();
                let Some(name) =
                    doc.definition_name(&sk.kind.group, &sk.kind.version, &sk.kind.kind)
                else {
                    return Ok(Vec::new());
                };
                let mut unknown = Vec::new();
                let root = serde_json::json!({"$ref": format!("#/definitions/{name}")});
                prune_built_in(body, &root, "", &mut unknown);
                let mut problems = Vec::new();
                let mut reported = std::collections::BTreeSet::new();
                for (path, dup) in &check.fields {
                    if *dup {
                        problems.push(format!("duplicate field {}", quote(path)));
                    } else if unknown.contains(path) && reported.insert(path.clone()) {
                        problems.push(format!("unknown field {}", quote(path)));
                    }
                }
                // Fields a patch added are not in the request body's list.
                for path in unknown {
                    if reported.insert(path.clone()) {
                        problems.push(format!("unknown field {}", quote(&path)));
                    }
                }
                problems
            }
        };
        if problems.is_empty() {
            return Ok(Vec::new());
        }
        match check.mode {
            Mode::Ignore => Ok(Vec::new()),
            Mode::Warn => Ok(problems),
            Mode::Strict => {
                let why = format!("strict decoding error: {}", problems.join(", "));
                if patched {
                    return Err(patch_failure(&original, &why));
                }
                let kind = &sk.kind.kind;
                Err(KubeError::BadRequest {
                    message: format!(
                        "{kind} in version {} cannot be handled as a {kind}: {why}",
                        quote(&sk.kind.version)
                    ),
                })
            }
        }
    }

    /// Validates a custom resource against its CRD's schema (after defaulting).
    fn check_schema(
        &self,
        sk: &ServedKind,
        crd: Option<&CrdVersion>,
        object: &Value,
        old: Option<&Value>,
    ) -> Result<()> {
        let Some(schema) = crd.and_then(|c| c.schema.as_ref()) else {
            return Ok(());
        };
        let causes = schema::validate(object, schema, old);
        if causes.is_empty() {
            return Ok(());
        }
        Err(KubeError::Invalid {
            message: schema::invalid_message(
                &qualified(sk, &sk.kind.kind),
                name_in(object),
                &causes,
            ),
            causes,
        })
    }

    /// Like `create_value`, checking the body's fields as `check` says; returns the created
    /// object and the warnings to send.
    pub(crate) async fn create_value_with(
        &self,
        sk: &ServedKind,
        namespace: Option<&str>,
        mut object: Value,
        check: &FieldCheck,
    ) -> Result<(Value, Vec<String>)> {
        let crd = self.crd_of(sk);
        if object.is_object() {
            self.check_type(sk, crd.as_ref(), &object, false, check.http)?;
        }
        self.check_go_types(sk, crd.as_ref(), &object, false, None)?;
        let warnings = self.check_fields(sk, crd.as_ref(), &mut object, check, false)?;
        if let Some(s) = crd.as_ref().and_then(|c| c.schema.as_ref()) {
            schema::default_and_drop_nulls(&mut object, s);
        }
        let (stored, view) = &self.storage(sk);
        let object = view.stored(object);
        let prepared = self.lock().prepare_create(stored, namespace, object)?;
        let admitted = self
            .admit(Operation::Create, stored, prepared, None, check.dry_run)
            .await?;
        let mut checked = admitted.clone();
        if sk.status_subresource
            && let Some(o) = checked.as_object_mut()
        {
            o.remove("status");
        }
        self.check_schema(sk, crd.as_ref(), &checked, None)?;
        let created = if check.dry_run {
            self.lock().dry_run_create(stored, admitted)?
        } else {
            self.lock().commit_create(stored, admitted)?
        };
        let mut warnings = warnings;
        push_new(
            &mut warnings,
            builtin_validation::warnings(stored, None, &created),
        );
        Ok((view.served(created), warnings))
    }

    /// Like `update_value`, checking the body's fields as `check` says; returns the written
    /// object and the warnings to send.
    pub(crate) async fn update_value_with(
        &self,
        sk: &ServedKind,
        namespace: Option<&str>,
        name: &str,
        change: Change,
        status: bool,
        check: &FieldCheck,
    ) -> Result<(Value, Vec<String>)> {
        let crd = self.crd_of(sk);
        let (stored, view) = &self.storage(sk);
        let patched = matches!(change, Change::Patch(_));
        let strategic = match &change {
            Change::Patch(crate::api::PatchBody::Strategic(p)) => Some(p.clone()),
            _ => None,
        };
        let mut body = match change {
            Change::Replace(body) => body,
            Change::Patch(patch) => {
                let current = self.lock().get(stored, namespace, name)?;
                apply_patch(&sk.kind, &view.served(current), &patch)?
            }
        };
        if body.is_object() {
            self.check_type(sk, crd.as_ref(), &body, patched, check.http || patched)?;
        }
        self.check_go_types(sk, crd.as_ref(), &body, patched, strategic.as_ref())?;
        let warnings = self.check_fields(sk, crd.as_ref(), &mut body, check, patched)?;
        if let Some(s) = crd.as_ref().and_then(|c| c.schema.as_ref()) {
            schema::default_and_drop_nulls(&mut body, s);
        }
        let mut prepared =
            self.lock()
                .prepare_update(stored, namespace, name, view.stored(body), status)?;
        if !status && prepared.new != prepared.old {
            prepared.new = self
                .admit(
                    Operation::Update,
                    stored,
                    prepared.new,
                    Some(&prepared.old),
                    check.dry_run,
                )
                .await?;
        }
        self.check_schema(sk, crd.as_ref(), &prepared.new, Some(&prepared.old))?;
        let old = prepared.old.clone();
        let written = if check.dry_run {
            self.lock().dry_run_update(stored, prepared)?
        } else {
            self.lock().commit_update(stored, prepared)?
        };
        let mut warnings = warnings;
        push_new(
            &mut warnings,
            builtin_validation::warnings(stored, Some(&old), &written),
        );
        Ok((view.served(written), warnings))
    }
}

/// Adds `more` to `warnings`, each once (kube-apiserver's warning recorder drops repeats).
fn push_new(warnings: &mut Vec<String>, more: Vec<String>) {
    for w in more {
        if !warnings.contains(&w) {
            warnings.push(w);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_reports_paths_in_order_and_duplicates() {
        let (value, fields) =
            decode(br#"{"b":1,"a":{"x":[{"y":1}],"x":2},"b":3}"#).expect("valid JSON");
        assert_eq!(value, serde_json::json!({"a": {"x": 2}, "b": 3}));
        let dups: Vec<&str> = fields
            .iter()
            .filter(|(_, d)| *d)
            .map(|(p, _)| p.as_str())
            .collect();
        assert_eq!(dups, ["a.x", "b"]);
        let all: Vec<&str> = fields.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(all, ["b", "a", "a.x", "a.x[0].y", "a.x", "b"]);
        assert!(decode(b"{").is_err());
    }

    #[test]
    fn field_validation_values() {
        assert_eq!(Mode::parse(None, "CreateOptions").ok(), Some(Mode::Warn));
        assert_eq!(
            Mode::parse(Some("Strict"), "CreateOptions").ok(),
            Some(Mode::Strict)
        );
        let Err(KubeError::Invalid { message, .. }) = Mode::parse(Some("bogus"), "CreateOptions")
        else {
            panic!("bogus accepted")
        };
        assert_eq!(
            message,
            "CreateOptions.meta.k8s.io \"\" is invalid: fieldValidation: Unsupported value: \"bogus\": supported values: \"\", \"Ignore\", \"Strict\", \"Warn\""
        );
    }

    #[test]
    fn built_in_unknown_fields_follow_the_definitions() {
        let mut pod = serde_json::json!({
            "metadata": {"name": "p", "labels": {"any": "thing"}, "foo": 1},
            "spec": {"containers": [{"name": "a", "image": "b", "bar": 1,
                "resources": {"limits": {"cpu": "1"}}}], "nodeSelector": {"x": "y"}},
        });
        let mut pruned = Vec::new();
        let root = serde_json::json!({"$ref": "#/definitions/io.k8s.api.core.v1.Pod"});
        prune_built_in(&mut pod, &root, "", &mut pruned);
        assert_eq!(pruned, ["metadata.foo", "spec.containers[0].bar"]);
        assert_eq!(
            pod["spec"]["containers"][0]["resources"]["limits"]["cpu"],
            "1"
        );
        assert_eq!(pod["metadata"]["labels"]["any"], "thing");
    }
}
