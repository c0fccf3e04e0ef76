//! Label and annotation syntax, checked on every create and update (patches included) as
//! kube-apiserver checks them (Kubernetes v1.37):
//!
//! - label keys and annotation keys are qualified names (`IsLabelKey`,
//!   k8s.io/apimachinery/pkg/api/validate/content/kube.go): an optional DNS-1123 subdomain prefix
//!   (≤ 253 bytes) and `/`, then a name of ≤ 63 bytes matching
//!   `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`; annotation keys are lowercased before the check
//!   (`ValidateAnnotations`, k8s.io/apimachinery/pkg/api/validation/objectmeta.go);
//! - label values are empty or ≤ 63 bytes of the same characters (`IsLabelValue`);
//! - keys plus values of all annotations are at most 256 KiB (`TotalAnnotationSizeLimitB`).
//!
//! Every failure is one cause of a 422 Invalid, with kube-apiserver's field path
//! (`metadata.labels`, `metadata.annotations`) and message; the causes join the name's in one
//! answer (`ConfigMap "x" is invalid: [metadata.name: …, metadata.labels: …]`). Go walks the
//! maps in random order; the fake reports keys in sorted order.

use serde_json::Value;

use crate::error::{InvalidCause, KubeError};

use super::ServedKind;

const LABEL_KEY_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const LABEL_KEY_ERR: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const LABEL_VALUE_ERR: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_FMT: &str =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_SUBDOMAIN_ERR: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";

/// The longest label value and the longest name part of a qualified name.
pub(crate) const LABEL_MAX: usize = 63;
/// The longest qualified-name prefix (a DNS-1123 subdomain).
pub(crate) const PREFIX_MAX: usize = 253;
/// The most bytes all annotation keys and values may take together.
pub(crate) const ANNOTATIONS_MAX: usize = 256 * 1024;

/// `RegexError`: the message, examples and the regex.
fn regex_error(message: &str, regex: &str, examples: &[&str]) -> String {
    let examples: String = examples
        .iter()
        .map(|e| format!("'{e}', "))
        .collect::<Vec<_>>()
        .join(" or ");
    format!("{message} (e.g. {examples}regex used for validation is '{regex}')")
}

fn max_len(n: usize) -> String {
    format!("must be no more than {n} bytes")
}

fn is_alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`, anchored.
fn matches_label_key(name: &str) -> bool {
    let b = name.as_bytes();
    match (b.first(), b.last()) {
        (Some(&first), Some(&last)) => {
            is_alnum(first)
                && is_alnum(last)
                && b.iter()
                    .all(|&c| is_alnum(c) || matches!(c, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

fn is_dns1123_label(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(&first), Some(&last)) => {
            let ok = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
            ok(first) && ok(last) && b.iter().all(|&c| ok(c) || c == b'-')
        }
        _ => false,
    }
}

/// `IsDNS1123Subdomain`'s messages.
fn dns1123_subdomain(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if value.len() > PREFIX_MAX {
        errors.push(max_len(PREFIX_MAX));
    }
    if !value.split('.').all(is_dns1123_label) {
        errors.push(regex_error(
            DNS1123_SUBDOMAIN_ERR,
            DNS1123_SUBDOMAIN_FMT,
            &["example.com"],
        ));
    }
    errors
}

/// `IsLabelKey` (`IsQualifiedName`): the messages for `value`, empty when it is valid.
pub(crate) fn qualified_name(value: &str) -> Vec<String> {
    let examples = ["MyName", "my.name", "123-abc"];
    let mut errors = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errors.push("prefix part must be non-empty".to_owned());
            } else {
                errors.extend(
                    dns1123_subdomain(prefix)
                        .into_iter()
                        .map(|m| format!("prefix part {m}")),
                );
            }
            *name
        }
        _ => {
            errors.push(format!(
                "a valid label key {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(LABEL_KEY_ERR, LABEL_KEY_FMT, &examples)
            ));
            return errors;
        }
    };
    if name.is_empty() {
        errors.push("name part must be non-empty".into());
    } else if name.len() > LABEL_MAX {
        errors.push(format!("name part {}", max_len(LABEL_MAX)));
    }
    if !matches_label_key(name) {
        errors.push(format!(
            "name part {}",
            regex_error(LABEL_KEY_ERR, LABEL_KEY_FMT, &examples)
        ));
    }
    errors
}

/// `IsLabelValue`: the messages for `value`, empty when it is valid.
pub(crate) fn label_value(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if value.len() > LABEL_MAX {
        errors.push(max_len(LABEL_MAX));
    }
    if !value.is_empty() && !matches_label_key(value) {
        errors.push(regex_error(
            LABEL_VALUE_ERR,
            LABEL_VALUE_FMT,
            &["MyValue", "my_value", "12345"],
        ));
    }
    errors
}

fn invalid_value(field: &str, value: &str, message: String) -> InvalidCause {
    InvalidCause {
        field: field.into(),
        reason: "FieldValueInvalid".into(),
        message: format!("Invalid value: {value:?}: {message}"),
    }
}

/// The label and annotation causes of `object` (see the module docs).
pub(crate) fn causes(object: &Value) -> Vec<InvalidCause> {
    let mut out = Vec::new();
    let field = |name: &str| {
        object
            .pointer(&format!("/metadata/{name}"))
            .and_then(Value::as_object)
    };
    if let Some(labels) = field("labels") {
        for (key, value) in labels {
            for m in qualified_name(key) {
                out.push(invalid_value("metadata.labels", key, m));
            }
            let value = value.as_str().unwrap_or("");
            for m in label_value(value) {
                out.push(invalid_value("metadata.labels", value, m));
            }
        }
    }
    if let Some(annotations) = field("annotations") {
        let mut total = 0usize;
        for (key, value) in annotations {
            for m in qualified_name(&key.to_lowercase()) {
                out.push(invalid_value("metadata.annotations", key, m));
            }
            total += key.len() + value.as_str().map_or(0, str::len);
        }
        if total > ANNOTATIONS_MAX {
            out.push(InvalidCause {
                field: "metadata.annotations".into(),
                reason: "FieldValueTooLong".into(),
                message: format!("Too long: may not be more than {ANNOTATIONS_MAX} bytes"),
            });
        }
    }
    out
}

/// The 422 for `causes` of `sk` object `name`, with kube-apiserver's message: the kind
/// qualified by its group, then the one cause or the list of them.
pub(crate) fn invalid(sk: &ServedKind, name: &str, causes: Vec<InvalidCause>) -> KubeError {
    let qualified = if sk.kind.group.is_empty() {
        sk.kind.kind.clone()
    } else {
        format!("{}.{}", sk.kind.kind, sk.kind.group)
    };
    let parts: Vec<String> = causes
        .iter()
        .map(|c| format!("{}: {}", c.field, c.message))
        .collect();
    let detail = match parts.as_slice() {
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    };
    KubeError::Invalid {
        message: format!("{qualified} {name:?} is invalid: {detail}"),
        causes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn messages_are_kube_apiservers() {
        assert_eq!(qualified_name("/x"), ["prefix part must be non-empty"]);
        assert_eq!(
            qualified_name("ok/"),
            [
                "name part must be non-empty",
                "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
            ]
        );
        assert_eq!(
            qualified_name("a/b/c"),
            [
                "a valid label key must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
            ]
        );
        assert_eq!(
            qualified_name(&format!("{}/x", "a".repeat(254))),
            ["prefix part must be no more than 253 bytes"]
        );
        assert_eq!(
            qualified_name(&"a".repeat(64)),
            ["name part must be no more than 63 bytes"]
        );
        assert_eq!(
            qualified_name("Example.com/x"),
            [
                "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
            ]
        );
        assert_eq!(
            label_value(&"a".repeat(64)),
            ["must be no more than 63 bytes"]
        );
        assert!(label_value("").is_empty());
        assert!(qualified_name("example.com/My_Name-1.x").is_empty());
    }

    #[test]
    fn annotations_are_checked_lowercased_and_by_total_size() {
        let ok = json!({"metadata": {"annotations": {"Ab.Com/X": "1"}}});
        assert!(causes(&ok).is_empty());
        let big = json!({"metadata": {"annotations": {"a": "x".repeat(ANNOTATIONS_MAX)}}});
        let found = causes(&big);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].reason, "FieldValueTooLong");
        assert_eq!(
            found[0].message,
            "Too long: may not be more than 262144 bytes"
        );
        let fits = json!({"metadata": {"annotations": {"a": "x".repeat(ANNOTATIONS_MAX - 1)}}});
        assert!(causes(&fits).is_empty());
    }

    /// Whether `s` is what kube-apiserver's regex `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`
    /// accepts, written independently of the validator.
    fn reference_name(s: &str) -> bool {
        let chars: Vec<char> = s.chars().collect();
        !chars.is_empty()
            && chars[0].is_ascii_alphanumeric()
            && chars[chars.len() - 1].is_ascii_alphanumeric()
            && chars
                .iter()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
    }

    proptest! {
        /// Valid names are accepted, with or without a valid prefix.
        #[test]
        fn valid_keys_pass(
            name in "[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?",
            prefix in proptest::option::of("[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?(\\.[a-z0-9]{1,10}){0,3}"),
        ) {
            let key = match &prefix { Some(p) => format!("{p}/{name}"), None => name.clone() };
            prop_assert!(qualified_name(&key).is_empty(), "{key}");
            prop_assert!(label_value(&name).is_empty());
        }

        /// Any string: a key without `/` is valid exactly when it matches the regex and fits;
        /// a value when it is empty or does.
        #[test]
        fn keys_and_values_agree_with_the_regex(s in "[-A-Za-z0-9_. !é]{0,70}") {
            let fits = s.len() <= LABEL_MAX;
            prop_assert_eq!(qualified_name(&s).is_empty(), fits && reference_name(&s));
            prop_assert_eq!(label_value(&s).is_empty(), fits && (s.is_empty() || reference_name(&s)));
        }

        /// More than one `/` is always refused with the single "valid label key" message.
        #[test]
        fn two_slashes_are_refused(a in "[a-z]{0,5}", b in "[a-z]{0,5}", c in "[a-z]{0,5}") {
            let errors = qualified_name(&format!("{a}/{b}/{c}"));
            prop_assert_eq!(errors.len(), 1);
            prop_assert!(errors[0].starts_with("a valid label key "));
        }
    }
}
