//! Names, name validation and label escaping, exactly as PrimeHub spells them.
//!
//! * [`validate_resource_name`]: a custom resource's `metadata.name` must be a DNS-1123 subdomain of
//!   at most 63 characters (the SDK's `OpResourceID` rule).
//! * [`validate_group_name`]: PrimeHub's rule for Keycloak group names.
//! * [`escape_label`] / [`unescape_label`]: the `escaped-` + hex escaping PrimeHub uses for the
//!   `primehub.io/user` and `primehub.io/group` label values.
//! * [`group_path`] and the derived object names ([`project_pvc_name`], [`dataset_pvc_name`],
//!   [`home_pvc_name`], [`job_name`]).
//!
//! ```
//! use primehub_model::names;
//!
//! assert_eq!(names::escape_label("test_group"), "escaped-test-5fgroup");
//! assert_eq!(names::unescape_label("escaped-test-5fgroup")?, "test_group");
//! assert_eq!(names::group_path("My_Group"), "my-group");
//! assert_eq!(names::project_pvc_name("My_Group"), "project-my-group");
//! assert!(names::validate_resource_name("metadata.name", "cpu-1").is_ok());
//! assert!(names::validate_resource_name("metadata.name", "CPU_1").is_err());
//!
//! let labels = names::primehub_labels("phadmin", "test_group");
//! assert_eq!(labels[names::LABEL_USER], "escaped-phadmin");
//! assert_eq!(labels[names::LABEL_GROUP], "escaped-test-5fgroup");
//! # Ok::<(), primehub_model::Error>(())
//! ```

use std::collections::BTreeMap;

use rand::RngCore;

use crate::clock::{Clock, SystemClock};
use crate::{Error, Result};

/// Label key carrying the escaped user name (§1.3) on pods and PhJobs.
pub const LABEL_USER: &str = "primehub.io/user";

/// Label key carrying the escaped group name (§1.3) on pods and PhJobs.
pub const LABEL_GROUP: &str = "primehub.io/group";

/// Prefix of every escaped PrimeHub label value.
pub const ESCAPED_LABEL_PREFIX: &str = "escaped-";

/// Longest custom-resource name PrimeHub accepts (SDK `OpResourceID`).
pub const MAX_RESOURCE_NAME_LEN: usize = 63;

/// Shortest group name PrimeHub accepts: two characters (it must start and end with a letter or
/// digit).
pub const MIN_GROUP_NAME_LEN: usize = 2;

/// Label key that turns PrimeHub's admission webhooks (quota, pvc-check, license) on for a
/// namespace, with the value [`ADMISSION_WEBHOOK_LABEL_VALUE`]. The current chart's webhook
/// configurations select it (InfuseAI/primehub `chart/templates/admission/webhook.yaml`); older
/// charts used `primehub.io/resources-validation-webhook`.
pub const ADMISSION_WEBHOOK_LABEL: &str = "primehub.io/admission-webhook";

/// Value of [`ADMISSION_WEBHOOK_LABEL`] on a namespace whose pods PrimeHub admits.
pub const ADMISSION_WEBHOOK_LABEL_VALUE: &str = "enabled";

/// The alphabet of generated random name suffixes (`pkg/random` in the controller).
pub const RANDOM_ALPHABET: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// Number of random characters at the end of a generated job name.
pub const JOB_NAME_RANDOM_LEN: usize = 6;

fn is_lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

fn invalid_name(field: &str, value: &str, rule: impl Into<String>) -> Error {
    Error::InvalidName {
        field: field.to_owned(),
        value: value.to_owned(),
        rule: rule.into(),
    }
}

/// Checks that `name` is a valid custom-resource name: a DNS-1123 subdomain
/// (`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`) of at most
/// [`MAX_RESOURCE_NAME_LEN`] characters.
///
/// `field` names where the value came from (for example `metadata.name`) and is copied into the
/// error. The error's rule says which part broke: empty, too long, a bad character (with its
/// 0-based character position), or a `.`-separated part not starting and ending with a lowercase
/// letter or digit.
///
/// ```
/// use primehub_model::names::validate_resource_name;
/// assert!(validate_resource_name("metadata.name", "gpu-1.v2").is_ok());
/// let err = validate_resource_name("metadata.name", "gpu_1").expect_err("must be rejected");
/// assert!(err.to_string().contains("position 3"));
/// ```
pub fn validate_resource_name(field: &str, name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(invalid_name(field, name, "must not be empty"));
    }
    let len = name.chars().count();
    if len > MAX_RESOURCE_NAME_LEN {
        return Err(invalid_name(
            field,
            name,
            format!("must be at most {MAX_RESOURCE_NAME_LEN} characters long (is {len})"),
        ));
    }
    // Single pass: `prev` is the previous character (None at the start of a dot-separated part).
    let mut prev: Option<char> = None;
    for (pos, c) in name.chars().enumerate() {
        match c {
            'a'..='z' | '0'..='9' => {}
            '-' => {
                if prev.is_none() {
                    return Err(invalid_name(
                        field,
                        name,
                        format!(
                            "must start and end with a lowercase letter or digit, also around each \
                             '.' (bad '-' at position {pos})"
                        ),
                    ));
                }
            }
            '.' => {
                if prev.is_none_or(|p| p == '-') {
                    return Err(invalid_name(
                        field,
                        name,
                        format!(
                            "must start and end with a lowercase letter or digit, also around each \
                             '.' (bad '.' at position {pos})"
                        ),
                    ));
                }
                prev = None;
                continue;
            }
            other => {
                return Err(invalid_name(
                    field,
                    name,
                    format!(
                        "bad character {other:?} at position {pos}: only lowercase letters, digits, \
                         '-' and '.' are allowed"
                    ),
                ));
            }
        }
        prev = Some(c);
    }
    match prev {
        Some(c) if is_lower_alnum(c) => Ok(()),
        _ => Err(invalid_name(
            field,
            name,
            "must start and end with a lowercase letter or digit, also around each '.'",
        )),
    }
}

/// `true` if [`validate_resource_name`] accepts `name`.
pub fn is_valid_resource_name(name: &str) -> bool {
    validate_resource_name("name", name).is_ok()
}

/// Checks a Keycloak group name against PrimeHub's rule: ASCII letters, digits, `-` and `_`,
/// starting **and ending** with a letter or digit, so at least [`MIN_GROUP_NAME_LEN`] (2)
/// characters — the console's group form pattern `^[a-zA-Z0-9][a-zA-Z0-9-_]*[a-zA-Z0-9]$`
/// (InfuseAI/primehub-console, group create form). The SDK's docs say "more than 2 characters",
/// but the console, which is what creates groups, accepts `ab`.
///
/// Uppercase letters are allowed (Keycloak does not forbid them); uniqueness is checked on
/// [`group_path`], which is the caller's job.
///
/// ```
/// use primehub_model::names::validate_group_name;
/// assert!(validate_group_name("name", "My_Group-1").is_ok());
/// assert!(validate_group_name("name", "ab").is_ok());
/// assert!(validate_group_name("name", "a").is_err());
/// assert!(validate_group_name("name", "_abc").is_err());
/// assert!(validate_group_name("name", "abc-").is_err());
/// ```
pub fn validate_group_name(field: &str, name: &str) -> Result<()> {
    let mut count = 0usize;
    let mut last = None;
    for (pos, c) in name.chars().enumerate() {
        count += 1;
        if pos == 0 && !c.is_ascii_alphanumeric() {
            return Err(invalid_name(
                field,
                name,
                format!("must start with a letter or digit (found {c:?})"),
            ));
        }
        if !(c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(invalid_name(
                field,
                name,
                format!(
                    "bad character {c:?} at position {pos}: only letters, digits, '-' and '_' are \
                     allowed"
                ),
            ));
        }
        last = Some(c);
    }
    if count < MIN_GROUP_NAME_LEN {
        return Err(invalid_name(
            field,
            name,
            format!("must be at least {MIN_GROUP_NAME_LEN} characters long (is {count})"),
        ));
    }
    match last {
        Some(c) if c.is_ascii_alphanumeric() => Ok(()),
        other => Err(invalid_name(
            field,
            name,
            format!(
                "must end with a letter or digit (found {:?})",
                other.unwrap_or(' ')
            ),
        )),
    }
}

/// Escapes `s` into a DNS-label-safe string: `[a-z0-9]` are kept, every other character becomes
/// `-` followed by the lowercase hex of each of its UTF-8 bytes (`_` → `-5f`, `-` → `-2d`,
/// `A` → `-41`, `é` → `-c3-a9`).
///
/// This is the Python hub's `escape_to_dns_label` (escapism with the safe set
/// `ascii_lowercase + digits` and escape character `-`, lowercased). The output only contains
/// `[a-z0-9-]`. No length limit is applied (reference §13.11).
pub fn escape_to_dns_label(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if is_lower_alnum(c) {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push('-');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0x0f)]));
            }
        }
    }
    out
}

/// The PrimeHub label value for a user or group name: `"escaped-" + escape_to_dns_label(s)`.
///
/// ```
/// use primehub_model::names::escape_label;
/// assert_eq!(escape_label("phadmin"), "escaped-phadmin");
/// assert_eq!(escape_label("my-grp"), "escaped-my-2dgrp");
/// assert_eq!(escape_label("PrimeHub-unit-test"), "escaped--50rime-48ub-2dunit-2dtest");
/// ```
pub fn escape_label(s: &str) -> String {
    let mut out = String::from(ESCAPED_LABEL_PREFIX);
    out.push_str(&escape_to_dns_label(s));
    out
}

fn invalid_label(value: &str, rule: impl Into<String>) -> Error {
    Error::InvalidLabel {
        value: value.to_owned(),
        rule: rule.into(),
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Inverse of [`escape_label`]: drops the `escaped-` prefix and decodes every `-XX` sequence.
///
/// Strict about what [`escape_label`] can produce: the prefix must be present, literal characters
/// must be `[a-z0-9]`, every `-` must be followed by two hex digits (either case is accepted), and
/// the decoded bytes must be UTF-8. Anything else is an [`Error::InvalidLabel`]; the function never
/// panics.
///
/// ```
/// use primehub_model::names::unescape_label;
/// assert_eq!(unescape_label("escaped--50rime-48ub-2dunit-2dtest")?, "PrimeHub-unit-test");
/// assert!(unescape_label("phadmin").is_err()); // no prefix
/// assert!(unescape_label("escaped-a-5").is_err()); // truncated
/// # Ok::<(), primehub_model::Error>(())
/// ```
pub fn unescape_label(value: &str) -> Result<String> {
    let Some(body) = value.strip_prefix(ESCAPED_LABEL_PREFIX) else {
        return Err(invalid_label(
            value,
            format!("must start with {ESCAPED_LABEL_PREFIX:?}"),
        ));
    };
    let bytes = body.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'-' {
            let pos = ESCAPED_LABEL_PREFIX.len() + i;
            let (Some(&h), Some(&l)) = (bytes.get(i + 1), bytes.get(i + 2)) else {
                return Err(invalid_label(
                    value,
                    format!(
                        "truncated escape sequence at byte {pos}: '-' must be followed by two hex digits"
                    ),
                ));
            };
            let (Some(h), Some(l)) = (hex_value(h), hex_value(l)) else {
                return Err(invalid_label(
                    value,
                    format!(
                        "bad escape sequence at byte {pos}: '-' must be followed by two hex digits"
                    ),
                ));
            };
            out.push((h << 4) | l);
            i += 3;
        } else if b.is_ascii_lowercase() || b.is_ascii_digit() {
            out.push(b);
            i += 1;
        } else {
            let pos = ESCAPED_LABEL_PREFIX.len() + i;
            return Err(invalid_label(
                value,
                format!(
                    "bad character at byte {pos}: only [a-z0-9] and '-XX' escapes may follow the prefix"
                ),
            ));
        }
    }
    String::from_utf8(out)
        .map_err(|_| invalid_label(value, "the escaped bytes are not valid UTF-8"))
}

/// The normalised group path (console `toGroupPath`): lowercase, every `_` replaced by `-`.
///
/// Group-name uniqueness is decided on this form; it names the shared-volume PVC, the mount path
/// `/project/<path>`, the home symlink and the PHFS subPath.
pub fn group_path(group_name: &str) -> String {
    group_name.to_lowercase().replace('_', "-")
}

/// The group shared-volume PVC name: `project-<group_path(group)>`.
pub fn project_pvc_name(group_name: &str) -> String {
    format!("project-{}", group_path(group_name))
}

/// The PVC of a `pv` dataset: `dataset-<spec.volumeName>` (the name is used as given).
pub fn dataset_pvc_name(volume_name: &str) -> String {
    format!("dataset-{volume_name}")
}

/// The user's home-volume PVC name: `claim-<escaped username>`.
///
/// This follows z2jh/KubeSpawner's default `claim-{username}{servername}` with an empty server
/// name, where `{username}` is escaped by `escapism` with safe characters `[a-z0-9]` and escape
/// character `-` followed by hex, then lowercased: the same transformation as
/// [`escape_to_dns_label`] (without the `escaped-` prefix). So `Alice_1` → `claim--41lice-5f1`.
/// (Reference §13.10: a PrimeHub helm override of `pvcNameTemplate` was not seen.)
pub fn home_pvc_name(username: &str) -> String {
    format!("claim-{}", escape_to_dns_label(username))
}

/// `len` characters drawn uniformly from [`RANDOM_ALPHABET`] (`[0-9a-z]`).
///
/// Unbiased: each byte of RNG output is used only if it is below 252 (= 7 × 36), and then reduced
/// modulo 36 (rejection sampling).
pub fn random_suffix(len: usize, rng: &mut dyn RngCore) -> String {
    const LIMIT: u8 = 252; // largest multiple of 36 that fits in a byte
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for b in rng.next_u32().to_le_bytes() {
            if b < LIMIT && out.len() < len {
                out.push(char::from(RANDOM_ALPHABET[usize::from(b % 36)]));
            }
        }
    }
    out
}

/// A new PhJob name: `job-<UTC yyyyMMddHHmm>-<6 chars of [0-9a-z]>`, e.g. `job-201912301200-gxzhaz`.
///
/// The caller injects the time and the random source, so the result is reproducible in tests;
/// [`job_name_at`] reads the time from a [`Clock`]. (For timestamps before year 0 the year carries a `-` sign; real clocks never do that.)
///
/// ```
/// use primehub_model::names::job_name;
/// use rand::SeedableRng;
/// let now: jiff::Timestamp = "2019-12-30T12:00:59Z".parse()?;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(7);
/// let name = job_name(now, &mut rng);
/// assert!(name.starts_with("job-201912301200-"));
/// assert_eq!(name.len(), "job-201912301200-gxzhaz".len());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn job_name(now: jiff::Timestamp, rng: &mut dyn RngCore) -> String {
    let t = now.to_zoned(jiff::tz::TimeZone::UTC);
    format!(
        "job-{:04}{:02}{:02}{:02}{:02}-{}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        random_suffix(JOB_NAME_RANDOM_LEN, rng)
    )
}

/// [`job_name`] at the time `clock` shows.
///
/// ```
/// use primehub_model::clock::ManualClock;
/// use primehub_model::names::job_name_at;
/// use rand::SeedableRng;
/// let clock = ManualClock::at("2026-12-03T10:07:00Z".parse()?);
/// let name = job_name_at(&clock, &mut rand::rngs::StdRng::seed_from_u64(1));
/// assert!(name.starts_with("job-202612031007-"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn job_name_at(clock: &dyn Clock, rng: &mut dyn RngCore) -> String {
    job_name(clock.now(), rng)
}

/// [`job_name`] with the system clock and the thread-local RNG, for callers who do not need
/// reproducibility.
pub fn new_job_name() -> String {
    job_name_at(&SystemClock, &mut rand::rng())
}

/// The `primehub.io/user` and `primehub.io/group` labels for a user and group, values escaped
/// with [`escape_label`].
pub fn primehub_labels(username: &str, group_name: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (LABEL_USER.to_owned(), escape_label(username)),
        (LABEL_GROUP.to_owned(), escape_label(group_name)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_label_examples() {
        for (raw, escaped) in [
            ("phadmin", "escaped-phadmin"),
            ("test_group", "escaped-test-5fgroup"),
            ("my-grp", "escaped-my-2dgrp"),
            ("PrimeHub-unit-test", "escaped--50rime-48ub-2dunit-2dtest"),
        ] {
            assert_eq!(escape_label(raw), escaped);
            assert_eq!(unescape_label(escaped).as_deref(), Ok(raw));
        }
    }

    #[test]
    fn dns_rules() {
        assert!(is_valid_resource_name("a"));
        assert!(is_valid_resource_name("a.b-c.d0"));
        for bad in [
            "", "-a", "a-", "a..b", ".a", "a.", "a-.b", "a.-b", "A", "a_b",
        ] {
            assert!(!is_valid_resource_name(bad), "{bad}");
        }
        assert!(is_valid_resource_name(&"a".repeat(63)));
        assert!(!is_valid_resource_name(&"a".repeat(64)));
    }

    #[test]
    fn unescape_decodes_every_hex_digit_in_both_cases() {
        // Every byte value whose decoding is valid UTF-8 on its own (ASCII), every nibble in both
        // positions, lowercase and uppercase.
        for b in 0u8..=0x7f {
            let lower = format!("escaped--{b:02x}");
            let upper = format!("escaped--{b:02X}");
            let want = char::from(b).to_string();
            assert_eq!(
                unescape_label(&lower).as_deref(),
                Ok(want.as_str()),
                "{lower}"
            );
            assert_eq!(
                unescape_label(&upper).as_deref(),
                Ok(want.as_str()),
                "{upper}"
            );
        }
        // Multi-byte characters: high nibbles above 9 in both cases.
        assert_eq!(unescape_label("escaped--c3-a9").as_deref(), Ok("é"));
        assert_eq!(unescape_label("escaped--C3-A9").as_deref(), Ok("é"));
        assert_eq!(unescape_label("escaped--e2-82-ac").as_deref(), Ok("€"));
        assert_eq!(unescape_label("escaped--E2-82-AC").as_deref(), Ok("€"));
        assert_eq!(unescape_label("escaped--F0-9f-98-80").as_deref(), Ok("😀"));
        // Escapes next to literals, at the start and the end.
        assert_eq!(unescape_label("escaped-a-2db-5f").as_deref(), Ok("a-b_"));
        assert_eq!(unescape_label("escaped-").as_deref(), Ok(""));
        for bad in [
            "escaped--",
            "escaped--4",
            "escaped--4g",
            "escaped--g4",
            "escaped-A",
            "escaped--ff",
        ] {
            assert!(unescape_label(bad).is_err(), "{bad}");
        }
    }

    /// An RNG that yields the given bytes, four per `next_u32`, then zeros.
    struct Bytes(Vec<u8>);

    impl RngCore for Bytes {
        fn next_u32(&mut self) -> u32 {
            let mut word = [0u8; 4];
            for slot in &mut word {
                if !self.0.is_empty() {
                    *slot = self.0.remove(0);
                }
            }
            u32::from_le_bytes(word)
        }
        fn next_u64(&mut self) -> u64 {
            u64::from(self.next_u32())
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            for d in dest {
                *d = self.next_u32().to_le_bytes()[0];
            }
        }
    }

    #[test]
    fn random_suffix_rejects_the_biased_tail_and_maps_by_remainder() {
        // 251 is the last accepted byte (251 % 36 = 35 → 'z'); 252..=255 are skipped.
        let mut rng = Bytes(vec![252, 255, 251, 1, 36, 71, 72, 35]);
        assert_eq!(random_suffix(6, &mut rng), "z10z0z");
        let mut rng = Bytes(vec![253, 254, 255, 7]);
        assert_eq!(random_suffix(1, &mut rng), "7");
        // Exactly `len` characters even when one word would give more.
        let mut rng = Bytes(vec![1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(random_suffix(3, &mut rng), "123");
        assert_eq!(random_suffix(0, &mut Bytes(vec![1])), "");
    }
    #[test]
    fn unescape_errors_give_the_byte_position() {
        // Positions count from the start of the whole label, prefix included.
        let err = unescape_label("escaped-ab-4").expect_err("truncated");
        assert!(err.to_string().contains("at byte 10"), "{err}");
        let err = unescape_label("escaped-abc-zz").expect_err("bad hex");
        assert!(err.to_string().contains("at byte 11"), "{err}");
        let err = unescape_label("escaped-abcX").expect_err("bad literal");
        assert!(err.to_string().contains("at byte 11"), "{err}");
    }
}
