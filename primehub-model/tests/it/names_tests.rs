//! Table and property tests for `primehub_model::names`.

use primehub_model::Error;
use primehub_model::names::*;
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

#[test]
fn reference_label_examples() {
    let cases = [
        ("phadmin", "escaped-phadmin"),
        ("test_group", "escaped-test-5fgroup"),
        ("my-grp", "escaped-my-2dgrp"),
        ("PrimeHub-unit-test", "escaped--50rime-48ub-2dunit-2dtest"),
        ("a.b", "escaped-a-2eb"),
        ("", "escaped-"),
        ("é", "escaped--c3-a9"),
        ("😀", "escaped--f0-9f-98-80"),
    ];
    for (raw, escaped) in cases {
        assert_eq!(escape_label(raw), escaped, "escape {raw:?}");
        assert_eq!(
            unescape_label(escaped),
            Ok(raw.to_owned()),
            "unescape {escaped:?}"
        );
    }
    assert_eq!(escape_to_dns_label("test_group"), "test-5fgroup");
}

#[test]
fn unescape_accepts_uppercase_hex() {
    assert_eq!(unescape_label("escaped-my-2Dgrp"), Ok("my-grp".to_owned()));
}

fn label_rule(v: &str) -> String {
    match unescape_label(v) {
        Err(Error::InvalidLabel { value, rule }) => {
            assert_eq!(value, v);
            rule
        }
        other => panic!("expected InvalidLabel for {v:?}, got {other:?}"),
    }
}

#[test]
fn unescape_errors() {
    assert!(label_rule("phadmin").contains("escaped-"));
    assert!(label_rule("escaped").contains("escaped-"));
    assert!(label_rule("escaped-ab-5").contains("truncated"));
    assert!(label_rule("escaped-ab-").contains("truncated"));
    assert!(label_rule("escaped-ab-zz").contains("hex"));
    assert!(label_rule("escaped-Ab").contains("bad character"));
    assert!(label_rule("escaped-a_b").contains("bad character"));
    // 0xff is never valid UTF-8; a lone continuation byte neither.
    assert!(label_rule("escaped--ff").contains("UTF-8"));
    assert!(label_rule("escaped--80").contains("UTF-8"));
    // a truncated multi-byte sequence
    assert!(label_rule("escaped--c3").contains("UTF-8"));
}

fn name_rule(field: &str, v: &str) -> String {
    match validate_resource_name(field, v) {
        Err(Error::InvalidName {
            field: f,
            value,
            rule,
        }) => {
            assert_eq!(f, field);
            assert_eq!(value, v);
            rule
        }
        other => panic!("expected InvalidName for {v:?}, got {other:?}"),
    }
}

#[test]
fn resource_name_table() {
    for ok in [
        "a",
        "0",
        "cpu-1",
        "gpu-1.v2",
        "a-b-c.d-e",
        "a.b.c",
        &"x".repeat(63),
    ] {
        assert_eq!(
            validate_resource_name("metadata.name", ok),
            Ok(()),
            "{ok:?}"
        );
    }
    assert!(name_rule("metadata.name", "").contains("empty"));
    assert!(name_rule("metadata.name", &"x".repeat(64)).contains("at most 63"));
    assert!(name_rule("spec.x", "cpu_1").contains("position 3"));
    assert!(name_rule("spec.x", "Cpu").contains("position 0"));
    assert!(name_rule("spec.x", "a b").contains("bad character"));
    for bad in ["-a", "a-", ".a", "a.", "a..b", "a-.b", "a.-b"] {
        assert!(
            name_rule("metadata.name", bad).contains("start and end"),
            "{bad:?}"
        );
    }
    let e = validate_resource_name("metadata.name", "A").expect_err("must be rejected");
    assert!(
        e.to_string().starts_with("invalid metadata.name \"A\""),
        "{e}"
    );
}

/// PrimeHub's group-name rule: start and end with a letter or digit, `-`/`_` inside, two
/// characters allowed (the console's group form pattern `^[a-zA-Z0-9][a-zA-Z0-9-_]*[a-zA-Z0-9]$`).
#[test]
fn group_name_table() {
    for ok in [
        "abc", "My_Group", "0ab", "a-b_c", "phusers", "ab", "A1", "a--b",
    ] {
        assert_eq!(validate_group_name("name", ok), Ok(()), "{ok:?}");
    }
    for bad in [
        "", "a", "_", "_abc", "-abc", "abc-", "abc_", "a_", "a.bc", "ab c", "grüppe",
    ] {
        assert!(
            matches!(
                validate_group_name("name", bad),
                Err(Error::InvalidName { .. })
            ),
            "{bad:?}"
        );
    }
    let e = validate_group_name("name", "a").expect_err("must be rejected");
    assert!(e.to_string().contains("at least 2"), "{e}");
    let e = validate_group_name("name", "team-").expect_err("must be rejected");
    assert!(
        e.to_string().contains("must end with a letter or digit"),
        "{e}"
    );
    let e = validate_group_name("name", "_team").expect_err("must be rejected");
    assert!(
        e.to_string().contains("must start with a letter or digit"),
        "{e}"
    );
}

#[test]
fn derived_names() {
    assert_eq!(group_path("My_Group"), "my-group");
    assert_eq!(group_path("phusers"), "phusers");
    assert_eq!(project_pvc_name("My_Group"), "project-my-group");
    assert_eq!(dataset_pvc_name("mnist"), "dataset-mnist");
    assert_eq!(home_pvc_name("phadmin"), "claim-phadmin");
    assert_eq!(home_pvc_name("Alice_1"), "claim--41lice-5f1");
    assert_eq!(home_pvc_name("a.b@c.com"), "claim-a-2eb-40c-2ecom");
}

#[test]
fn labels() {
    let labels = primehub_labels("phadmin", "test_group");
    assert_eq!(labels.len(), 2);
    assert_eq!(labels[LABEL_USER], "escaped-phadmin");
    assert_eq!(labels[LABEL_GROUP], "escaped-test-5fgroup");
    assert_eq!(LABEL_USER, "primehub.io/user");
    assert_eq!(LABEL_GROUP, "primehub.io/group");
    // The namespace label PrimeHub's admission webhooks select
    // (InfuseAI/primehub chart/templates/admission/webhook.yaml).
    assert_eq!(
        (ADMISSION_WEBHOOK_LABEL, ADMISSION_WEBHOOK_LABEL_VALUE),
        ("primehub.io/admission-webhook", "enabled")
    );
}

/// Job names read the injected clock: moving a manual clock moves the name's minute.
#[test]
fn job_name_follows_the_injected_clock() -> Result<(), Box<dyn std::error::Error>> {
    use primehub_model::clock::ManualClock;
    let clock = ManualClock::at("2019-12-30T12:00:59Z".parse()?);
    let a = job_name_at(&clock, &mut StdRng::seed_from_u64(3));
    assert!(a.starts_with("job-201912301200-"), "{a}");
    assert_eq!(
        a,
        job_name(
            "2019-12-30T12:00:00Z".parse()?,
            &mut StdRng::seed_from_u64(3)
        )
    );
    clock.advance(jiff::SignedDuration::from_secs(1));
    let b = job_name_at(&clock, &mut StdRng::seed_from_u64(3));
    assert!(b.starts_with("job-201912301201-"), "{b}");
    assert_eq!(a[17..], b[17..], "same RNG, same suffix");
    Ok(())
}

fn is_job_name(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 4 + 12 + 1 + 6
        && s.starts_with("job-")
        && b[4..16].iter().all(u8::is_ascii_digit)
        && b[16] == b'-'
        && b[17..]
            .iter()
            .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
}

#[test]
fn job_name_format() {
    let now: jiff::Timestamp = "2019-12-30T12:00:59.9Z".parse().expect("timestamp");
    let mut rng = StdRng::seed_from_u64(1);
    let name = job_name(now, &mut rng);
    assert!(name.starts_with("job-201912301200-"), "{name}");
    assert!(is_job_name(&name), "{name}");
    // deterministic for a given seed
    assert_eq!(name, job_name(now, &mut StdRng::seed_from_u64(1)));
    // the clock is read in UTC
    let now: jiff::Timestamp = "2020-01-01T07:05:00+08:00".parse().expect("timestamp");
    assert!(job_name(now, &mut rng).starts_with("job-201912312305-"));
    assert!(is_job_name(&new_job_name()));
}

#[test]
fn random_suffix_covers_alphabet_evenly() {
    let mut rng = StdRng::seed_from_u64(42);
    let s = random_suffix(36 * 2000, &mut rng);
    let mut counts = [0usize; 36];
    for c in s.bytes() {
        let i = RANDOM_ALPHABET
            .iter()
            .position(|&a| a == c)
            .expect("alphabet char");
        counts[i] += 1;
    }
    // expected 2000 each; allow generous statistical slack
    for (i, n) in counts.iter().enumerate() {
        assert!((1700..2300).contains(n), "char {i} drawn {n} times");
    }
}

/// Reference DNS-1123 check written differently from the implementation (split on '.').
fn reference_dns(s: &str) -> bool {
    s.len() <= 63
        && !s.is_empty()
        && s.split('.').all(|part| {
            let b = part.as_bytes();
            !b.is_empty()
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
                && b[0] != b'-'
                && b[b.len() - 1] != b'-'
        })
}

proptest! {
    #[test]
    fn escape_round_trip(s in any::<String>()) {
        let escaped = escape_label(&s);
        prop_assert_eq!(unescape_label(&escaped), Ok(s));
    }

    #[test]
    fn escape_output_alphabet(s in any::<String>()) {
        let escaped = escape_to_dns_label(&s);
        prop_assert!(escaped.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-'));
    }

    #[test]
    fn unescape_never_panics(s in any::<String>()) {
        let _ = unescape_label(&s);
        let _ = unescape_label(&format!("escaped-{s}"));
    }

    #[test]
    fn unescape_never_panics_near_miss(s in "escaped-[a-z0-9A-F-]{0,20}") {
        if let Ok(raw) = unescape_label(&s) {
            // escapes of safe characters (`-6a` for `j`) decode too, like Python's escapism;
            // the canonical escape of the result decodes to the same string
            prop_assert_eq!(unescape_label(&escape_label(&raw)), Ok(raw));
        }
    }

    #[test]
    fn dns_agrees_with_reference(s in "[-a-z0-9.]{0,70}") {
        prop_assert_eq!(is_valid_resource_name(&s), reference_dns(&s), "{:?}", s);
    }

    #[test]
    fn dns_agrees_with_reference_any(s in any::<String>()) {
        prop_assert_eq!(is_valid_resource_name(&s), reference_dns(&s), "{:?}", s);
    }

    #[test]
    fn job_names_match_pattern(secs in 0i64..253_402_300_799, seed in any::<u64>()) {
        let now = jiff::Timestamp::from_second(secs).expect("in range");
        let name = job_name(now, &mut StdRng::seed_from_u64(seed));
        prop_assert!(is_job_name(&name), "{}", name);
    }

    #[test]
    fn group_path_is_idempotent(s in any::<String>()) {
        let p = group_path(&s);
        prop_assert_eq!(group_path(&p), p.clone());
        prop_assert!(!p.contains('_'));
    }
}
