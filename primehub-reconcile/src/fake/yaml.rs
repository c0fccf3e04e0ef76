//! JSON values written as YAML the way kube-apiserver writes them (`Accept: application/yaml`):
//! block style, keys sorted, sequences at their key's indentation, and every string that a
//! YAML 1.1 reader would take for something else quoted — `"yes"`, `"on"`, `"0x10"`,
//! `"2026-12-04T13:47:57Z"`, `"1e3"`, `"~"` — so clients on YAML 1.1 parsers (PyYAML, go-yaml
//! v2) read back the strings that were stored. (serde_yaml writes YAML 1.2 plain scalars for
//! those, which PyYAML reads as booleans and timestamps.)

use serde_json::Value;

/// The YAML document of `value`, ending with a newline.
pub(crate) fn to_string(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(m) if !m.is_empty() => write_map(&mut out, m, 0),
        Value::Array(a) if !a.is_empty() => write_seq(&mut out, a, 0),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    out
}

fn write_map(out: &mut String, map: &serde_json::Map<String, Value>, indent: usize) {
    for (i, (k, v)) in map.iter().enumerate() {
        if i > 0 {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str(&string(k));
        out.push(':');
        write_value_after_key(out, v, indent);
    }
}

/// A value after `key:` (the key's line is open).
fn write_value_after_key(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            out.push_str(&" ".repeat(indent + 2));
            write_map(out, m, indent + 2);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            write_seq(out, a, indent);
        }
        other => {
            out.push(' ');
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

/// A sequence whose first `- ` is already indented to `indent`.
fn write_seq(out: &mut String, items: &[Value], indent: usize) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str("- ");
        match item {
            Value::Object(m) if !m.is_empty() => write_map(out, m, indent + 2),
            Value::Array(a) if !a.is_empty() => write_seq(out, a, indent + 2),
            other => {
                out.push_str(&scalar(other));
                out.push('\n');
            }
        }
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s),
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
    }
}

/// A string as a plain scalar when that reads back as the same string under YAML 1.1 and
/// 1.2, else double-quoted, with every character YAML does not allow raw escaped.
fn string(s: &str) -> String {
    if plain_is_safe(s) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            // YAML's printable set: no C0/C1 controls, DEL, or the two non-characters.
            c if (c as u32) < 0x20
                || (0x7f..=0x9f).contains(&(c as u32))
                || c == '\u{fffe}'
                || c == '\u{ffff}' =>
            {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn plain_is_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    // Only a conservative alphabet is written plain; anything else is quoted.
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | '=');
    if !first.is_ascii_alphabetic() && first != '_' && first != '/' {
        // Digits, signs and dots start numbers, timestamps and sexagesimals in YAML 1.1.
        return false;
    }
    if !s.chars().all(allowed) {
        return false;
    }
    // YAML 1.1 booleans and nulls (any case the spec lists), and .inf/.nan forms.
    const WORDS: &[&str] = &[
        "y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf",
    ];
    let lower = s.to_ascii_lowercase();
    !WORDS.contains(&lower.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn objects_read_as_kube_apiservers_yaml() {
        let scale = json!({
            "kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {"name": "web", "namespace": "sc-probe", "resourceVersion": "334",
                         "creationTimestamp": "2026-12-04T13:47:57Z",
                         "uid": "2ea181fc-7a19-4742-a2b5-047f2dc30cd9"},
            "spec": {"replicas": 2},
            "status": {"replicas": 0, "selector": "app=web"},
            "items": [{"a": 1, "b": [true, null]}, "x", [], {}],
        });
        assert_eq!(
            to_string(&scale),
            "apiVersion: autoscaling/v1\n\
             items:\n\
             - a: 1\n  \
               b:\n  \
               - true\n  \
               - null\n\
             - x\n\
             - []\n\
             - {}\n\
             kind: Scale\n\
             metadata:\n  \
               creationTimestamp: \"2026-12-04T13:47:57Z\"\n  \
               name: web\n  \
               namespace: sc-probe\n  \
               resourceVersion: \"334\"\n  \
               uid: \"2ea181fc-7a19-4742-a2b5-047f2dc30cd9\"\n\
             spec:\n  \
               replicas: 2\n\
             status:\n  \
               replicas: 0\n  \
               selector: app=web\n"
        );
    }

    #[test]
    fn strings_a_yaml_1_1_reader_would_misread_are_quoted() {
        for s in [
            "yes",
            "On",
            "n",
            "~",
            "null",
            "0x10",
            "1e3",
            "2026-12-04T13:47:57Z",
            "1:20",
            ".inf",
            "",
            " a",
            "a: b",
            "#x",
            "-",
            "a\nb",
            "é",
        ] {
            assert!(string(s).starts_with('"'), "{s:?}");
        }
        for s in ["web", "app=web", "autoscaling/v1", "_x", "a-b.c"] {
            assert_eq!(string(s), s);
        }
    }

    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            ".{0,12}".prop_map(Value::String),
            "(yes|no|on|off|~|[0-9]{1,3}(\\.[0-9])?|0x1F|[a-z]{1,4})".prop_map(Value::String),
        ]
    }

    fn tree() -> impl Strategy<Value = Value> {
        leaf().prop_recursive(4, 32, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z0-9:#-]{1,6}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Whatever the value, the YAML reads back as the same JSON value.
        #[test]
        fn round_trips(value in tree()) {
            let text = to_string(&value);
            let back: Value = serde_yaml_ng::from_str(&text)
                .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
            prop_assert_eq!(back, value, "{}", text);
        }
    }
}
