//! Kubernetes label selectors: parse the string form and match label maps.
//!
//! The grammar is the API server's (`k8s.io/apimachinery/pkg/labels`): requirements joined by
//! commas, each one of
//!
//! | form | matches when |
//! |---|---|
//! | `key=value`, `key==value` | the label exists and equals `value` |
//! | `key!=value` | the label is absent or differs |
//! | `key in (v1, v2)` | the label exists and is one of the values |
//! | `key notin (v1, v2)` | the label is absent or none of the values |
//! | `key` | the label exists |
//! | `!key` | the label is absent |
//! | `key > 5`, `key < 5` | the label exists and is an integer greater / less than the number |
//!
//! Keys are an optional DNS-subdomain prefix and `/` and a name of at most 63 characters
//! (alphanumerics, `-`, `_`, `.`, starting and ending alphanumeric); values are empty or follow
//! the name rule. The empty selector matches everything. Bad syntax is
//! [`KubeError::BadRequest`] naming the selector and what is wrong.
//!
//! ```
//! use std::collections::BTreeMap;
//! use primehub_reconcile::selector::LabelSelector;
//!
//! let selector = LabelSelector::parse("primehub.io/group=escaped-phusers,app in (primehub-job, jupyterhub),!skip")?;
//! let labels: BTreeMap<String, String> = [
//!     ("primehub.io/group".to_owned(), "escaped-phusers".to_owned()),
//!     ("app".to_owned(), "primehub-job".to_owned()),
//! ].into();
//! assert!(selector.matches(&labels));
//! assert_eq!(selector.to_string(), "primehub.io/group=escaped-phusers,app in (jupyterhub,primehub-job),!skip");
//! # Ok::<(), primehub_reconcile::KubeError>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::error::{KubeError, Result};

/// One requirement of a selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// `key=value` / `key==value`.
    Equals(String, String),
    /// `key!=value`.
    NotEquals(String, String),
    /// `key in (values)`.
    In(String, BTreeSet<String>),
    /// `key notin (values)`.
    NotIn(String, BTreeSet<String>),
    /// `key`.
    Exists(String),
    /// `!key`.
    DoesNotExist(String),
    /// `key > n`.
    GreaterThan(String, i64),
    /// `key < n`.
    LessThan(String, i64),
}

impl Requirement {
    /// Whether `labels` satisfy this requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        match self {
            Requirement::Equals(k, v) => labels.get(k) == Some(v),
            Requirement::NotEquals(k, v) => labels.get(k) != Some(v),
            Requirement::In(k, vs) => labels.get(k).is_some_and(|v| vs.contains(v)),
            Requirement::NotIn(k, vs) => labels.get(k).is_none_or(|v| !vs.contains(v)),
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::DoesNotExist(k) => !labels.contains_key(k),
            Requirement::GreaterThan(k, n) => labels
                .get(k)
                .and_then(|v| v.parse::<i64>().ok())
                .is_some_and(|v| v > *n),
            Requirement::LessThan(k, n) => labels
                .get(k)
                .and_then(|v| v.parse::<i64>().ok())
                .is_some_and(|v| v < *n),
        }
    }
}

fn join(values: &BTreeSet<String>) -> String {
    values
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(",")
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Requirement::Equals(k, v) => write!(f, "{k}={v}"),
            Requirement::NotEquals(k, v) => write!(f, "{k}!={v}"),
            Requirement::In(k, vs) => write!(f, "{k} in ({})", join(vs)),
            Requirement::NotIn(k, vs) => write!(f, "{k} notin ({})", join(vs)),
            Requirement::Exists(k) => write!(f, "{k}"),
            Requirement::DoesNotExist(k) => write!(f, "!{k}"),
            Requirement::GreaterThan(k, n) => write!(f, "{k}>{n}"),
            Requirement::LessThan(k, n) => write!(f, "{k}<{n}"),
        }
    }
}

/// A parsed label selector: all requirements must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
}

impl fmt::Display for LabelSelector {
    /// The canonical string form, which parses back to the same selector.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

impl LabelSelector {
    /// The selector that matches everything.
    pub fn everything() -> LabelSelector {
        LabelSelector::default()
    }

    /// A selector from requirements (validated as [`parse`](Self::parse) would).
    pub fn from_requirements(requirements: Vec<Requirement>) -> Result<LabelSelector> {
        let selector = LabelSelector { requirements };
        LabelSelector::parse(&selector.to_string())
    }

    /// Parses the string form (see the module docs).
    pub fn parse(text: &str) -> Result<LabelSelector> {
        let mut parser = Parser {
            text,
            chars: text.char_indices().collect(),
            pos: 0,
        };
        let mut requirements = Vec::new();
        parser.skip_ws();
        if parser.at_end() {
            return Ok(LabelSelector { requirements });
        }
        loop {
            requirements.push(parser.requirement()?);
            parser.skip_ws();
            if parser.at_end() {
                break;
            }
            parser.expect(',')?;
        }
        Ok(LabelSelector { requirements })
    }

    /// The requirements, in the order written.
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// Whether the selector matches everything.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }

    /// [`matches`](Self::matches) on optional labels (`metadata.labels` may be absent).
    pub fn matches_opt(&self, labels: Option<&BTreeMap<String, String>>) -> bool {
        match labels {
            Some(l) => self.matches(l),
            None => self.matches(&BTreeMap::new()),
        }
    }
}

struct Parser<'a> {
    text: &'a str,
    chars: Vec<(usize, char)>,
    pos: usize,
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' || c == '/'
}

impl Parser<'_> {
    fn err(&self, what: impl fmt::Display) -> KubeError {
        KubeError::BadRequest {
            message: format!(
                "invalid label selector {:?}: {what} (at character {})",
                self.text, self.pos
            ),
        }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).map(|(_, c)| *c)
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, c: char) -> Result<()> {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err(format_args!("expected {c:?}")))
        }
    }

    fn word(&mut self) -> String {
        self.skip_ws();
        let start = self.pos;
        while self.peek().is_some_and(is_name_char) {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().map(|(_, c)| c).collect()
    }

    fn key(&mut self) -> Result<String> {
        let key = self.word();
        if key.is_empty() {
            return Err(self.err("expected a label key"));
        }
        validate_key(&key).map_err(|rule| self.err(format_args!("key {key:?} {rule}")))?;
        Ok(key)
    }

    fn value(&mut self) -> Result<String> {
        let value = self.word();
        validate_value(&value).map_err(|rule| self.err(format_args!("value {value:?} {rule}")))?;
        Ok(value)
    }

    fn values(&mut self) -> Result<BTreeSet<String>> {
        self.expect('(')?;
        let mut values = BTreeSet::new();
        loop {
            values.insert(self.value()?);
            self.skip_ws();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some(')') => {
                    self.pos += 1;
                    return Ok(values);
                }
                _ => return Err(self.err("expected ',' or ')' in a value list")),
            }
        }
    }

    fn integer(&mut self) -> Result<i64> {
        let text = self.word();
        text.parse()
            .map_err(|_| self.err(format_args!("{text:?} is not an integer")))
    }

    fn requirement(&mut self) -> Result<Requirement> {
        self.skip_ws();
        if self.peek() == Some('!') {
            self.pos += 1;
            return Ok(Requirement::DoesNotExist(self.key()?));
        }
        let key = self.key()?;
        self.skip_ws();
        match self.peek() {
            None | Some(',') => Ok(Requirement::Exists(key)),
            Some('=') => {
                self.pos += 1;
                if self.peek() == Some('=') {
                    self.pos += 1;
                }
                Ok(Requirement::Equals(key, self.value()?))
            }
            Some('!') => {
                self.pos += 1;
                if self.peek() != Some('=') {
                    return Err(self.err("expected '=' after '!'"));
                }
                self.pos += 1;
                Ok(Requirement::NotEquals(key, self.value()?))
            }
            Some('>') => {
                self.pos += 1;
                Ok(Requirement::GreaterThan(key, self.integer()?))
            }
            Some('<') => {
                self.pos += 1;
                Ok(Requirement::LessThan(key, self.integer()?))
            }
            Some(_) => {
                let op = self.word();
                match op.as_str() {
                    "in" => Ok(Requirement::In(key, self.values()?)),
                    "notin" => Ok(Requirement::NotIn(key, self.values()?)),
                    _ => Err(self.err(format_args!(
                        "expected one of = == != in notin > < after key {key:?}"
                    ))),
                }
            }
        }
    }
}

fn validate_name(name: &str) -> std::result::Result<(), &'static str> {
    if name.is_empty() {
        return Err("has an empty name part");
    }
    if name.len() > 63 {
        return Err("must be at most 63 characters");
    }
    let ok = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    let edges = name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok && edges {
        Ok(())
    } else {
        Err(
            "must consist of alphanumerics, '-', '_' or '.', and start and end with an alphanumeric",
        )
    }
}

fn validate_key(key: &str) -> std::result::Result<(), &'static str> {
    match key.split_once('/') {
        None => validate_name(key),
        Some((prefix, name)) => {
            let prefix_ok = !prefix.is_empty()
                && prefix.len() <= 253
                && prefix.split('.').all(|part| {
                    !part.is_empty()
                        && part
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                        && part.starts_with(|c: char| c.is_ascii_alphanumeric())
                        && part.ends_with(|c: char| c.is_ascii_alphanumeric())
                });
            if !prefix_ok {
                return Err("has a prefix that is not a DNS subdomain");
            }
            validate_name(name)
        }
    }
}

fn validate_value(value: &str) -> std::result::Result<(), &'static str> {
    if value.is_empty() {
        Ok(())
    } else if value.contains('/') {
        Err("must not contain '/'")
    } else {
        validate_name(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn every_form_matches_as_kubernetes_does() {
        let l = labels(&[("app", "web"), ("tier", "front"), ("n", "7")]);
        let cases = [
            ("", true),
            ("app=web", true),
            ("app==web", true),
            ("app=db", false),
            ("app!=db", true),
            ("missing!=x", true),
            ("app in (web, db)", true),
            ("app in (db)", false),
            ("missing in (x)", false),
            ("app notin (db)", true),
            ("missing notin (x)", true),
            ("app notin (web)", false),
            ("app", true),
            ("missing", false),
            ("!missing", true),
            ("!app", false),
            ("n>5", true),
            ("n > 7", false),
            ("n<8", true),
            ("app>1", false),
            ("app=web,tier=front", true),
            ("app=web, tier=back", false),
            ("  app = web ,  !missing  ", true),
            ("app=", false),
        ];
        for (text, expected) in cases {
            let s = LabelSelector::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert_eq!(s.matches(&l), expected, "{text:?}");
        }
        assert!(
            LabelSelector::parse("x=")
                .map(|s| s.matches(&labels(&[("x", "")])))
                .unwrap_or(false)
        );
    }

    #[test]
    fn bad_syntax_names_the_selector_and_problem() {
        for bad in [
            "=x",
            "app=web,",
            "app in web",
            "app in (web",
            "app ~ x",
            "app=-bad",
            "Bad_/x=y",
            "a/b/c=d",
            "app>x",
            "!",
            "app=web=x",
            &format!("{}=x", "k".repeat(64)),
        ] {
            match LabelSelector::parse(bad) {
                Err(KubeError::BadRequest { message }) => {
                    assert!(message.contains("invalid label selector"), "{message}")
                }
                other => panic!("{bad:?} should fail, got {other:?}"),
            }
        }
    }

    #[test]
    fn primehub_selectors() {
        let s = LabelSelector::parse(
            "primehub.io/group=escaped-phusers,primehub.io/user=escaped-alice",
        )
        .expect("parses");
        assert!(s.matches(&labels(&[
            ("primehub.io/group", "escaped-phusers"),
            ("primehub.io/user", "escaped-alice"),
            ("app", "primehub-job")
        ])));
        let pvc = LabelSelector::parse("app!=jupyterhub,app!=primehub-group").expect("parses");
        assert!(pvc.matches(&labels(&[])));
        assert!(!pvc.matches(&labels(&[("app", "jupyterhub")])));
    }

    fn name() -> BoxedStrategy<String> {
        "[a-z0-9]([-a-z0-9_.]{0,10}[a-z0-9])?".boxed()
    }

    fn requirement() -> impl Strategy<Value = Requirement> {
        let key = (proptest::option::of("[a-z]{1,5}(\\.[a-z]{1,5})?"), name())
            .prop_map(|(prefix, n)| match prefix {
                Some(p) => format!("{p}/{n}"),
                None => n,
            })
            .boxed();
        let values = proptest::collection::btree_set(name(), 1..4).boxed();
        prop_oneof![
            (key.clone(), name()).prop_map(|(k, v)| Requirement::Equals(k, v)),
            (key.clone(), name()).prop_map(|(k, v)| Requirement::NotEquals(k, v)),
            (key.clone(), values.clone()).prop_map(|(k, v)| Requirement::In(k, v)),
            (key.clone(), values).prop_map(|(k, v)| Requirement::NotIn(k, v)),
            key.clone().prop_map(Requirement::Exists),
            key.clone().prop_map(Requirement::DoesNotExist),
            (key.clone(), -100i64..100).prop_map(|(k, n)| Requirement::GreaterThan(k, n)),
            (key, -100i64..100).prop_map(|(k, n)| Requirement::LessThan(k, n)),
        ]
    }

    proptest! {
        #[test]
        fn display_parses_back(reqs in proptest::collection::vec(requirement(), 0..5)) {
            let selector = LabelSelector { requirements: reqs };
            prop_assert_eq!(LabelSelector::parse(&selector.to_string()), Ok(selector));
        }

        #[test]
        fn parse_never_panics(text in "\\PC{0,40}") {
            let _ = LabelSelector::parse(&text);
        }

        #[test]
        fn grammar_like_never_panics(text in "[a-z!=(), ]{0,30}") {
            let _ = LabelSelector::parse(&text);
        }

        #[test]
        fn conjunction_is_all(reqs in proptest::collection::vec(requirement(), 0..4),
                              pairs in proptest::collection::btree_map(name(), name(), 0..4)) {
            let selector = LabelSelector { requirements: reqs.clone() };
            prop_assert_eq!(selector.matches(&pairs), reqs.iter().all(|r| r.matches(&pairs)));
        }
    }
}
