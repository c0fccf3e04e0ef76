//! Field selectors as kube-apiserver parses and validates them.
//!
//! Parsing follows `parseSelector` in k8s.io/apimachinery/pkg/fields/selector.go: terms split at
//! unescaped commas and **sorted**, empty terms skipped, the first `!=`, `==` or `=` splits a term
//! (nothing is trimmed: ` a = b` selects field ` a ` for ` b`), values unescape `\\`, `\,` and
//! `\=`, and any other `\` sequence or an unescaped `,`/`=` in a value is an error. Every field
//! label must then be one the kind supports — a 400 otherwise, for the first unsupported label
//! in sorted order, worded as [`validate`] says — see [`supported`] for the table and its
//! sources. Lists, watches and deletecollection check it alike.

use crate::error::KubeError;

use super::ServedKind;

/// One `field op value` term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Requirement {
    /// The field label (as written, before conversion).
    pub(crate) field: String,
    /// `=`/`==` (true) or `!=` (false).
    pub(crate) equal: bool,
    /// The unescaped value.
    pub(crate) value: String,
}

fn bad(message: String) -> KubeError {
    KubeError::BadRequest { message }
}

/// Splits at unescaped commas, keeping the backslashes (`splitTerms`).
fn split_terms(selector: &str) -> Vec<&str> {
    if selector.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let mut start = 0;
    let mut in_slash = false;
    for (i, c) in selector.char_indices() {
        if in_slash {
            in_slash = false;
        } else if c == '\\' {
            in_slash = true;
        } else if c == ',' {
            terms.push(&selector[start..i]);
            start = i + 1;
        }
    }
    terms.push(&selector[start..]);
    terms
}

/// The first operator in `term` (`!=` before `==` before `=` at each position: `splitTerm`).
fn split_term(term: &str) -> Option<(&str, bool, &str)> {
    for (i, _) in term.char_indices() {
        let rest = &term[i..];
        for (op, equal) in [("!=", false), ("==", true), ("=", true)] {
            if let Some(value) = rest.strip_prefix(op) {
                return Some((&term[..i], equal, value));
            }
        }
    }
    None
}

/// `UnescapeValue`.
fn unescape(value: &str) -> Result<String, KubeError> {
    let mut out = String::with_capacity(value.len());
    let mut in_slash = false;
    for c in value.chars() {
        if in_slash {
            match c {
                '\\' | ',' | '=' => out.push(c),
                other => {
                    return Err(bad(format!(
                        "invalid field selector: invalid escape sequence: \\{other}"
                    )));
                }
            }
            in_slash = false;
            continue;
        }
        match c {
            '\\' => in_slash = true,
            ',' | '=' => {
                return Err(bad(format!(
                    "invalid field selector: unescaped character in value: {}",
                    u32::from(c)
                )));
            }
            other => out.push(other),
        }
    }
    if in_slash {
        return Err(bad(
            "invalid field selector: invalid escape sequence: \\".into()
        ));
    }
    Ok(out)
}

/// Parses a field selector as kube-apiserver does (syntax only; see [`validate`]).
pub(crate) fn parse(selector: &str) -> Result<Vec<Requirement>, KubeError> {
    let mut terms = split_terms(selector);
    terms.sort_unstable();
    let mut out = Vec::new();
    for term in terms {
        if term.is_empty() {
            continue;
        }
        let Some((field, equal, value)) = split_term(term) else {
            return Err(bad(format!(
                "invalid selector: '{selector}'; can't understand '{term}'"
            )));
        };
        out.push(Requirement {
            field: field.to_owned(),
            equal,
            value: unescape(value)?,
        });
    }
    Ok(out)
}

/// Whether `sk` supports field label `label`, and the label it stands for (pods' legacy
/// `spec.host` is `spec.nodeName`).
///
/// Sources (Kubernetes v1.37): every kind takes `metadata.name` and `metadata.namespace`
/// (`runtime.DefaultMetaV1FieldSelectorConversion`, k8s.io/apimachinery/pkg/runtime/conversion.go,
/// also for cluster-scoped kinds such as PersistentVolumes and CRDs) unless its group registers
/// its own conversion with `AddFieldLabelConversionFunc`:
/// - pods: pkg/apis/core/v1/conversion.go (`spec.nodeName`, `spec.restartPolicy`,
///   `spec.schedulerName`, `spec.serviceAccountName`, `spec.hostNetwork`, `status.phase`,
///   `status.podIP`, `status.podIPs`, `status.nominatedNodeName`, and `spec.host`);
/// - core events: same file (`involvedObject.*`, `reason`, `reportingComponent`, `source`,
///   `type`);
/// - namespaces: same file (`metadata.name`, `status.phase` — no `metadata.namespace`);
/// - secrets: same file (`type`); services: same file (`spec.clusterIP`, `spec.type`);
/// - `events.k8s.io` events: pkg/apis/events/v1/conversion.go (`regarding.*`, `reason`,
///   `reportingController`, `type`);
/// - custom resources: `metadata.name`, `metadata.namespace` and the CRD version's
///   `selectableFields` (k8s.io/apiextensions-apiserver/pkg/registry/customresource/strategy.go).
///
/// Each entry was checked against a real v1.37 kube-apiserver.
pub(crate) fn supported(sk: &ServedKind, label: &str) -> Option<String> {
    const META: &[&str] = &["metadata.name", "metadata.namespace"];
    const INVOLVED: &[&str] = &[
        "kind",
        "namespace",
        "name",
        "uid",
        "apiVersion",
        "resourceVersion",
        "fieldPath",
    ];
    let kind = &sk.kind;
    let same = || Some(label.to_owned());
    match (kind.group.as_str(), kind.plural.as_str()) {
        ("", "namespaces") => matches!(label, "metadata.name" | "status.phase").then(same)?,
        ("", "pods") => match label {
            "spec.host" => Some("spec.nodeName".into()),
            "metadata.name"
            | "metadata.namespace"
            | "spec.nodeName"
            | "spec.restartPolicy"
            | "spec.schedulerName"
            | "spec.serviceAccountName"
            | "spec.hostNetwork"
            | "status.phase"
            | "status.podIP"
            | "status.podIPs"
            | "status.nominatedNodeName" => same(),
            _ => None,
        },
        ("", "events") => {
            let involved = label
                .strip_prefix("involvedObject.")
                .is_some_and(|f| INVOLVED.contains(&f));
            (involved
                || META.contains(&label)
                || matches!(label, "reason" | "reportingComponent" | "source" | "type"))
            .then(same)?
        }
        ("events.k8s.io", "events") => {
            let regarding = label
                .strip_prefix("regarding.")
                .is_some_and(|f| INVOLVED.contains(&f));
            (regarding
                || META.contains(&label)
                || matches!(label, "reason" | "reportingController" | "type"))
            .then(same)?
        }
        ("", "secrets") => (META.contains(&label) || label == "type").then(same)?,
        ("", "services") => {
            (META.contains(&label) || matches!(label, "spec.clusterIP" | "spec.type")).then(same)?
        }
        _ => {
            (META.contains(&label) || sk.selectable_fields.iter().any(|f| f == label)).then(same)?
        }
    }
}

/// Whether kube-apiserver checks `sk`'s field labels with a conversion of its own (the kinds
/// with more than the metadata labels, and custom resources), rather than with
/// `DefaultMetaV1FieldSelectorConversion` — the two word their refusal differently.
fn own_conversion(sk: &ServedKind) -> bool {
    let kind = &sk.kind;
    let builtin = super::protobuf::knows(&kind.group, &kind.version, &kind.kind);
    !builtin
        || matches!(
            (kind.group.as_str(), kind.plural.as_str()),
            (
                "",
                "namespaces" | "pods" | "events" | "secrets" | "services"
            ) | ("events.k8s.io", "events")
        )
}

/// Parses `selector` and checks its labels for `sk`: the requirements with the labels they
/// stand for, or kube-apiserver's 400 — `field label not supported: <label>` from a kind's own
/// conversion, `"<label>" is not a known field selector: only "metadata.name",
/// "metadata.namespace"` from the default one (ConfigMaps, Deployments, Roles, …).
pub(crate) fn validate(sk: &ServedKind, selector: &str) -> Result<Vec<Requirement>, KubeError> {
    parse(selector)?
        .into_iter()
        .map(|r| match supported(sk, &r.field) {
            Some(field) => Ok(Requirement { field, ..r }),
            None if own_conversion(sk) => {
                Err(bad(format!("field label not supported: {}", r.field)))
            }
            None => Err(bad(format!(
                "{:?} is not a known field selector: only \"metadata.name\", \"metadata.namespace\"",
                r.field
            ))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn req(field: &str, equal: bool, value: &str) -> Requirement {
        Requirement {
            field: field.into(),
            equal,
            value: value.into(),
        }
    }

    fn message(e: KubeError) -> String {
        match e {
            KubeError::BadRequest { message } => message,
            other => panic!("not a 400: {other:?}"),
        }
    }

    #[test]
    fn parse_reads_the_operators_and_escapes_as_kube_apiserver() {
        assert_eq!(
            parse("b!=2,a==1,,c=x\\,y\\=z\\\\").unwrap(),
            vec![
                req("a", true, "1"),
                req("b", false, "2"),
                req("c", true, "x,y=z\\")
            ]
        );
        // Nothing is trimmed.
        assert_eq!(parse(" a = b ").unwrap(), vec![req(" a ", true, " b ")]);
        assert_eq!(parse("a=!b").unwrap(), vec![req("a", true, "!b")]);
        assert_eq!(parse("").unwrap(), vec![]);
    }

    #[test]
    fn malformed_selectors_get_the_real_messages() {
        assert_eq!(
            message(parse("spec.nodeName").unwrap_err()),
            "invalid selector: 'spec.nodeName'; can't understand 'spec.nodeName'"
        );
        // Sorted: `aa` is looked at first.
        assert_eq!(
            message(parse("zz=1,aa").unwrap_err()),
            "invalid selector: 'zz=1,aa'; can't understand 'aa'"
        );
        assert_eq!(
            message(parse("a=3=").unwrap_err()),
            "invalid field selector: unescaped character in value: 61"
        );
        assert_eq!(
            message(parse("a=b\\x").unwrap_err()),
            "invalid field selector: invalid escape sequence: \\x"
        );
        assert_eq!(
            message(parse("a=b\\").unwrap_err()),
            "invalid field selector: invalid escape sequence: \\"
        );
    }

    proptest! {
        /// Any value survives escaping and parsing unchanged.
        #[test]
        fn escaped_values_round_trip(field in "[a-z][a-z.]{0,20}", value in ".{0,30}") {
            let escaped: String = value
                .chars()
                .flat_map(|c| match c {
                    '\\' | ',' | '=' => vec!['\\', c],
                    c => vec![c],
                })
                .collect();
            let parsed = parse(&format!("{field}={escaped}")).unwrap();
            prop_assert_eq!(parsed, vec![req(&field, true, &value)]);
        }

        /// The parser never panics, whatever the text.
        #[test]
        fn parse_never_panics(text in ".{0,40}") {
            let _ = parse(&text);
        }
    }
}
