//! Table and property tests for `primehub_model::roles`.

use primehub_model::Error;
use primehub_model::roles::*;
use proptest::prelude::*;

fn role(prefix: Option<&str>, kind: RoleKind, writable: bool, name: &str) -> ResourceRole {
    ResourceRole {
        prefix: prefix.map(str::to_owned),
        kind,
        writable,
        name: name.to_owned(),
    }
}

#[test]
fn parse_table() {
    use RoleKind::*;
    let cases = [
        ("it:cpu-1", role(None, InstanceType, false, "cpu-1")),
        (
            "img:base-notebook",
            role(None, Image, false, "base-notebook"),
        ),
        ("ds:mnist", role(None, Dataset, false, "mnist")),
        ("ds:rw:mnist", role(None, Dataset, true, "mnist")),
        ("ann:welcome", role(None, Announcement, false, "welcome")),
        (
            "cluster1:it:cpu-only",
            role(Some("cluster1"), InstanceType, false, "cpu-only"),
        ),
        ("cluster1:img:x", role(Some("cluster1"), Image, false, "x")),
        (
            "cluster1:ds:rw:x",
            role(Some("cluster1"), Dataset, true, "x"),
        ),
        ("cluster1:ds:x", role(Some("cluster1"), Dataset, false, "x")),
        (
            "cluster1:ann:x",
            role(Some("cluster1"), Announcement, false, "x"),
        ),
        // the name is the rest joined by ':'
        ("it:a:b", role(None, InstanceType, false, "a:b")),
        ("p:img:a:b", role(Some("p"), Image, false, "a:b")),
        ("ds:rw:a:b", role(None, Dataset, true, "a:b")),
        // a dataset named "rw"
        ("ds:rw", role(None, Dataset, false, "rw")),
        ("ds:rw:rw", role(None, Dataset, true, "rw")),
        // the first token wins: no prefix, name "img:x"
        ("it:img:x", role(None, InstanceType, false, "img:x")),
    ];
    for (text, expected) in cases {
        let parsed = ResourceRole::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(parsed, expected, "{text}");
        assert_eq!(parsed.to_role_name(), text, "{text}");
        assert_eq!(parsed.to_string(), text, "{text}");
        assert_eq!(text.parse::<ResourceRole>(), Ok(expected.clone()));
        assert_eq!(expected.validate(), Ok(()), "{text}");
    }
}

#[test]
fn parse_rejects() {
    for text in [
        "",
        "offline_access",
        "uma_authorization",
        "default-roles-primehub",
        "realm-admin",
        "a:b:c",
        "vol:x",
        "IT:x",
        "it:",
        "ds:rw:",
        "cluster1:it:",
        "cluster1:it",
        ":it:x",
        "it:rw:x",
        "cluster1:img:rw:x",
        "ann:rw:x",
    ] {
        match ResourceRole::parse(text) {
            Err(Error::InvalidRole { role, rule }) => {
                assert_eq!(role, text);
                assert!(!rule.is_empty());
            }
            other => panic!("{text:?} should be rejected, got {other:?}"),
        }
    }
}

#[test]
fn validate_rejects_ambiguous_values() {
    use RoleKind::*;
    assert!(ResourceRole::new(None, Image, true, "x").is_err());
    assert!(ResourceRole::new(None, Image, false, "").is_err());
    assert!(ResourceRole::new(Some(String::new()), Image, false, "x").is_err());
    assert!(ResourceRole::new(Some("a:b".into()), Image, false, "x").is_err());
    assert!(ResourceRole::new(Some("it".into()), Image, false, "x").is_err());
    assert!(ResourceRole::new(None, Dataset, false, "rw:x").is_err());
    assert!(ResourceRole::new(None, Dataset, true, "rw:x").is_ok());
    assert!(ResourceRole::new(Some("c1".into()), Dataset, true, "x").is_ok());
}

#[test]
fn naming_builders() {
    let plain = RoleNaming::unprefixed();
    assert_eq!(plain.image("base"), "img:base");
    assert_eq!(plain.instance_type("cpu-1"), "it:cpu-1");
    assert_eq!(plain.dataset("mnist", false), "ds:mnist");
    assert_eq!(plain.dataset("mnist", true), "ds:rw:mnist");
    assert_eq!(plain.announcement("hello"), "ann:hello");

    let c1 = RoleNaming::new(Some("cluster1".into())).expect("valid prefix");
    assert_eq!(c1.image("base"), "cluster1:img:base");
    assert_eq!(c1.instance_type("cpu-only"), "cluster1:it:cpu-only");
    assert_eq!(c1.dataset("mnist", false), "cluster1:ds:mnist");
    assert_eq!(c1.dataset("mnist", true), "cluster1:ds:rw:mnist");
    assert_eq!(c1.announcement("hello"), "cluster1:ann:hello");

    assert_eq!(
        RoleNaming::new(Some(String::new())),
        Ok(RoleNaming::unprefixed())
    );
    assert_eq!(RoleNaming::new(None), Ok(RoleNaming::default()));
    assert!(RoleNaming::new(Some("a:b".into())).is_err());
    assert!(RoleNaming::new(Some("ds".into())).is_err());
}

#[test]
fn parse_own_filters_mappings() {
    let c1 = RoleNaming::new(Some("cluster1".into())).expect("valid prefix");
    let mappings = [
        "cluster1:it:cpu-only",
        "cluster1:ds:rw:mnist",
        "cluster2:it:cpu-only",
        "it:cpu-1",
        "offline_access",
        "uma_authorization",
        "cluster1:it:",
        "cluster1:vol:x",
    ];
    let own: Vec<String> = mappings
        .iter()
        .filter_map(|r| c1.parse_own(r))
        .map(|r| r.to_role_name())
        .collect();
    assert_eq!(own, ["cluster1:it:cpu-only", "cluster1:ds:rw:mnist"]);

    let plain = RoleNaming::unprefixed();
    let own: Vec<String> = mappings
        .iter()
        .filter_map(|r| plain.parse_own(r))
        .map(|r| r.name)
        .collect();
    assert_eq!(own, ["cpu-1"]);
}

fn arb_kind() -> impl Strategy<Value = RoleKind> {
    prop::sample::select(RoleKind::ALL.to_vec())
}

fn arb_prefix() -> impl Strategy<Value = Option<String>> {
    prop::option::of(
        "[a-zA-Z0-9_.-]{1,12}"
            .prop_filter("not a type token", |p| RoleKind::from_token(p).is_none()),
    )
}

fn arb_role() -> impl Strategy<Value = ResourceRole> {
    (
        arb_prefix(),
        arb_kind(),
        any::<bool>(),
        "[a-z0-9][-a-z0-9.:]{0,30}",
    )
        .prop_map(|(prefix, kind, w, name)| ResourceRole {
            prefix,
            kind,
            writable: w && kind == RoleKind::Dataset,
            name,
        })
        .prop_filter("valid", |r| r.validate().is_ok())
}

proptest! {
    #[test]
    fn format_parse_round_trip(r in arb_role()) {
        let text = r.to_role_name();
        prop_assert_eq!(ResourceRole::parse(&text), Ok(r.clone()));
        let naming = RoleNaming { prefix: r.prefix.clone() };
        prop_assert_eq!(naming.parse_own(&text), Some(r.clone()));
        let other = RoleNaming { prefix: Some(format!("{}x", r.prefix.clone().unwrap_or_default())) };
        prop_assert_eq!(other.parse_own(&text), None);
    }

    #[test]
    fn naming_builders_round_trip(prefix in arb_prefix(), name in "[a-z0-9][-a-z0-9.]{0,30}", w in any::<bool>()) {
        let naming = RoleNaming::new(prefix.clone()).expect("valid prefix");
        for (text, kind, writable) in [
            (naming.image(&name), RoleKind::Image, false),
            (naming.instance_type(&name), RoleKind::InstanceType, false),
            (naming.dataset(&name, w), RoleKind::Dataset, w),
            (naming.announcement(&name), RoleKind::Announcement, false),
        ] {
            let r = naming.parse_own(&text).expect("own role");
            prop_assert_eq!(r, ResourceRole { prefix: prefix.clone(), kind, writable, name: name.clone() });
        }
    }

    #[test]
    fn parse_never_panics(s in any::<String>()) {
        if let Ok(r) = ResourceRole::parse(&s) {
            // anything accepted formats back to the same text and is valid
            prop_assert_eq!(r.to_role_name(), s.clone());
            prop_assert_eq!(r.validate(), Ok(()));
        }
        let _ = RoleNaming::unprefixed().parse_own(&s);
    }

    #[test]
    fn parse_never_panics_colon_heavy(s in "[a-z:]{0,16}|(cluster1:)?(it|img|ds|ann)(:rw)?(:[a-z]{0,3}){0,3}") {
        if let Ok(r) = ResourceRole::parse(&s) {
            prop_assert_eq!(r.to_role_name(), s.clone());
            prop_assert_eq!(r.validate(), Ok(()));
        }
    }
}
