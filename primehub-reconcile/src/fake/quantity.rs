//! `resource.Quantity` as kube-apiserver holds it: parsed by `ParseQuantity` (which keeps the
//! text when it is already canonical, rounds up to nano units, caps binary values) and written
//! by `MarshalJSON` (the kept text, else `CanonicalizeBytes`: binary values as a whole number
//! of `Ki`…`Ei` when exact and at least 1024, others in decimal with an SI suffix or, for
//! exponent input, `e<n>`, the exponent a multiple of 3). Exact integer arithmetic; `None` for
//! what does not fit in 128 bits or has no suffix to write (beyond `E`, below `n`).
//!
//! One implementation for the fake: the write path ([`canonicalize`]: kube-apiserver decodes
//! built-in objects into Go structs, so every `Quantity` field is stored as `MarshalJSON`
//! writes it), validation (comparisons, whole numbers, hugepage sizes) and the diff of
//! forbidden updates ([`super::godiff`]).
//!
//! [`canonicalize`] finds the Quantity fields from the kind's OpenAPI v2 definitions (a `$ref`
//! to `io.k8s.apimachinery.pkg.api.resource.Quantity`, directly, in `items` or in
//! `additionalProperties`), and rounds the maps of quantities of `core/v1` types
//! (`v1.ResourceList`: container and pod resources, overhead, PVC requests and capacity, PV
//! capacity, quota hard/used, LimitRange limits, node capacity/allocatable, …) up to milli
//! units first, as `SetDefaults_ResourceList` does (`1.0001` → `1001m`; a single Quantity such
//! as `emptyDir.sizeLimit` keeps `100u`). Custom resources are stored as sent (kube-apiserver
//! stores them as JSON, an `int-or-string` quantity field included: checked on the real
//! server). A JSON number is read from its parsed value (`1e3` arrives as `1000.0`, stored `1k`
//! where kube-apiserver keeps the literal `1e3`).

use std::cmp::Ordering;

use serde_json::Value;

use crate::api::ResourceKind;

const QUANTITY_REF: &str = "#/definitions/io.k8s.apimachinery.pkg.api.resource.Quantity";

/// How the value was written (`resource.Format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    DecimalSi,
    BinarySi,
    DecimalExponent,
}

/// A parsed quantity: `(-1)^negative · mantissa · 10^scale`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Quantity {
    negative: bool,
    mantissa: u128,
    scale: i32,
    format: Format,
    /// The text `ParseQuantity` keeps (`Quantity.s`): `MarshalJSON` writes it as is.
    kept: Option<String>,
}

fn pow10(n: u32) -> Option<u128> {
    10u128.checked_pow(n)
}

impl Quantity {
    /// `ParseQuantity` of `text` after `UnmarshalJSON`'s `TrimSpace`.
    pub(crate) fn parse(text: &str) -> Option<Quantity> {
        let s = text.trim();
        if s == "0" {
            return Some(Quantity {
                negative: false,
                mantissa: 0,
                scale: 0,
                format: Format::DecimalSi,
                kept: Some(s.to_owned()),
            });
        }
        let (positive, rest) = match s.as_bytes().first() {
            Some(b'-') => (false, &s[1..]),
            Some(b'+') => (true, &s[1..]),
            _ => (true, s),
        };
        let rest = rest.trim_start_matches('0');
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let num = if digits == 0 { "0" } else { &rest[..digits] };
        let rest = &rest[digits..];
        let (denom, suffix) = match rest.strip_prefix('.') {
            Some(after) => {
                let d = after.bytes().take_while(u8::is_ascii_digit).count();
                (&after[..d], &after[d..])
            }
            None => ("", rest),
        };
        let (base2, exponent, format) = match suffix {
            "" => (false, 0, Format::DecimalSi),
            "n" => (false, -9, Format::DecimalSi),
            "u" => (false, -6, Format::DecimalSi),
            "m" => (false, -3, Format::DecimalSi),
            "k" => (false, 3, Format::DecimalSi),
            "M" => (false, 6, Format::DecimalSi),
            "G" => (false, 9, Format::DecimalSi),
            "T" => (false, 12, Format::DecimalSi),
            "P" => (false, 15, Format::DecimalSi),
            "E" => (false, 18, Format::DecimalSi),
            "Ki" => (true, 10, Format::BinarySi),
            "Mi" => (true, 20, Format::BinarySi),
            "Gi" => (true, 30, Format::BinarySi),
            "Ti" => (true, 40, Format::BinarySi),
            "Pi" => (true, 50, Format::BinarySi),
            "Ei" => (true, 60, Format::BinarySi),
            e => {
                let n = e.strip_prefix(['e', 'E'])?;
                (false, n.parse::<i32>().ok()?, Format::DecimalExponent)
            }
        };
        let shifted = format!("{num}{denom}");
        let denom_len = i32::try_from(denom.len()).ok()?;
        // The int64 fast path, where the text may be kept.
        let (precision, scale) = if base2 {
            if denom.is_empty() {
                // float32(exponent)*3/10, truncated: exact for these small exponents.
                let p = 15 - i32::try_from(num.len()).ok()? - exponent * 3 / 10 - 1;
                (p, 0)
            } else {
                (-1, 0)
            }
        } else {
            (18 - i32::try_from(num.len() + denom.len()).ok()?, exponent)
        };
        if precision >= 0 && scale - denom_len >= -9 {
            let scale = scale - denom_len;
            let value: i64 = shifted.parse().ok()?;
            let multiplier: i64 = if base2 { 1i64 << exponent } else { 1 };
            if let Some(result) = value.checked_mul(multiplier) {
                let keep = if base2 {
                    exponent % 10 == 0 && value & 7 != 0
                } else {
                    scale % 3 == 0 && !shifted.ends_with("000") && !shifted.starts_with('0')
                };
                return Some(Quantity {
                    negative: !positive,
                    mantissa: u128::from(result.unsigned_abs()),
                    scale,
                    format,
                    kept: keep.then(|| s.to_owned()),
                });
            }
        }
        // The inf.Dec path: exact, rounded up (away from zero) to nano units.
        let mut mantissa: u128 = shifted.parse().ok()?;
        let mut scale = if base2 {
            -denom_len
        } else {
            exponent - denom_len
        };
        if base2 {
            mantissa = mantissa.checked_mul(1u128.checked_shl(u32::try_from(exponent).ok()?)?)?;
        }
        if scale < -9 && mantissa != 0 {
            let div = pow10(u32::try_from(-9 - scale).ok()?)?;
            mantissa = mantissa.div_ceil(div);
            scale = -9;
        }
        let mut format = format;
        if format == Format::BinarySi {
            let q = Quantity {
                negative: false,
                mantissa,
                scale,
                format,
                kept: None,
            };
            // maxAllowed: 2^63-1.
            let max = u128::from(i64::MAX.unsigned_abs());
            if q.cmp_int(max) == std::cmp::Ordering::Greater {
                (mantissa, scale) = (max, 0);
            }
            if mantissa != 0 && q.cmp_int(1) == std::cmp::Ordering::Less {
                format = Format::DecimalSi;
            }
        }
        Some(Quantity {
            negative: !positive && mantissa != 0,
            mantissa,
            scale,
            format,
            kept: None,
        })
    }

    /// |value| compared with the whole number `n`.
    fn cmp_int(&self, n: u128) -> std::cmp::Ordering {
        if self.scale >= 0 {
            match u32::try_from(self.scale).ok().and_then(pow10) {
                Some(p) => match self.mantissa.checked_mul(p) {
                    Some(v) => v.cmp(&n),
                    None => std::cmp::Ordering::Greater,
                },
                None if self.mantissa == 0 => 0.cmp(&n),
                None => std::cmp::Ordering::Greater,
            }
        } else {
            match u32::try_from(-self.scale).ok().and_then(pow10) {
                // |value| vs n ⇔ mantissa vs n·10^-scale
                Some(p) => match n.checked_mul(p) {
                    Some(v) => self.mantissa.cmp(&v),
                    None => std::cmp::Ordering::Less,
                },
                None => std::cmp::Ordering::Less,
            }
        }
    }

    /// The value with trailing zeros moved into the scale: equal for equal values
    /// (`apiequality.Semantic` compares quantities by value).
    pub(crate) fn value_key(&self) -> String {
        let (mut m, mut s) = (self.mantissa, self.scale);
        if m == 0 {
            return "0".to_owned();
        }
        while m.is_multiple_of(10) {
            m /= 10;
            s += 1;
        }
        format!("{}{m}e{s}", if self.negative { "-" } else { "" })
    }

    /// `MarshalJSON`'s text (without the quotes).
    pub(crate) fn marshal(&self) -> Option<String> {
        if let Some(kept) = &self.kept {
            return Some(kept.clone());
        }
        if self.mantissa == 0 {
            return Some("0".to_owned());
        }
        let sign = if self.negative { "-" } else { "" };
        let mut format = self.format;
        if format == Format::BinarySi {
            if self.cmp_int(1024) == std::cmp::Ordering::Less {
                format = Format::DecimalSi;
            } else if let Some(mut n) = self.whole() {
                let mut k = 0;
                while n >= 1024 && n.is_multiple_of(1024) {
                    n /= 1024;
                    k += 1;
                }
                let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"].get(k)?;
                return Some(format!("{sign}{n}{suffix}"));
            } else {
                format = Format::DecimalSi;
            }
        }
        let (mut m, mut e) = (self.mantissa, self.scale);
        while m >= 10 && m.is_multiple_of(10) {
            m /= 10;
            e += 1;
        }
        while e % 3 != 0 {
            m = m.checked_mul(10)?;
            e -= 1;
        }
        let suffix = if format == Format::DecimalExponent {
            if e == 0 {
                String::new()
            } else {
                format!("e{e}")
            }
        } else {
            match e {
                -9 => "n",
                -6 => "u",
                -3 => "m",
                0 => "",
                3 => "k",
                6 => "M",
                9 => "G",
                12 => "T",
                15 => "P",
                18 => "E",
                _ => return None,
            }
            .to_owned()
        };
        Some(format!("{sign}{m}{suffix}"))
    }

    /// The value as a whole number, if it is one.
    fn whole(&self) -> Option<u128> {
        if self.scale >= 0 {
            self.mantissa
                .checked_mul(pow10(u32::try_from(self.scale).ok()?)?)
        } else {
            let p = pow10(u32::try_from(-self.scale).ok()?)?;
            self.mantissa.is_multiple_of(p).then(|| self.mantissa / p)
        }
    }
}

/// The stored form of a built-in object's quantities: each Quantity field of `object` (a
/// `kind` the OpenAPI document defines; other kinds are left alone) written as kube-apiserver
/// writes it back, after `SetDefaults_ResourceList`'s rounding for `core/v1` resource lists.
pub(crate) fn canonicalize(kind: &ResourceKind, object: &mut Value) {
    let api = super::openapi::kubernetes();
    let Some(name) = api.definition_name(&kind.group, &kind.version, &kind.kind) else {
        return;
    };
    if let Some(schema) = api.definition(name) {
        walk(api, schema, name, object, 0);
    }
}

fn is_quantity(schema: &Value) -> bool {
    schema.get("$ref").and_then(Value::as_str) == Some(QUANTITY_REF)
}

/// Rewrites `value` (of `schema`, inside definition `owner`) in place.
fn walk(
    api: &super::openapi::KubernetesOpenApi,
    schema: &Value,
    owner: &str,
    value: &mut Value,
    depth: u8,
) {
    if depth > 60 || value.is_null() {
        return;
    }
    if is_quantity(schema) {
        store(value, false);
        return;
    }
    let (owner, schema) = match schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/definitions/"))
    {
        Some(name) => match api.definition(name) {
            Some(s) => (name, s),
            None => return,
        },
        None => (owner, schema),
    };
    match value {
        Value::Object(map) => {
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (k, v) in map.iter_mut() {
                    if let Some(field) = props.get(k) {
                        walk(api, field, owner, v, depth + 1);
                    }
                }
            } else if let Some(values) = schema.get("additionalProperties") {
                if is_quantity(values) {
                    // A `v1.ResourceList` of a core/v1 type: rounded up to milli units.
                    let round = owner.starts_with("io.k8s.api.core.v1.");
                    for v in map.values_mut() {
                        store(v, round);
                    }
                } else {
                    for v in map.values_mut() {
                        walk(api, values, owner, v, depth + 1);
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = schema.get("items") {
                for v in items.iter_mut() {
                    walk(api, item, owner, v, depth + 1);
                }
            }
        }
        _ => {}
    }
}

/// Replaces a quantity by its stored text (left as it is when it does not parse).
fn store(value: &mut Value, round_to_milli: bool) {
    let Some(mut q) = Quantity::from_json(value) else {
        return;
    };
    if round_to_milli {
        q.round_up_milli();
    }
    if let Some(text) = q.marshal() {
        *value = Value::String(text);
    }
}

impl Quantity {
    /// A quantity field's JSON value as `UnmarshalJSON` reads it: a string, or a number's text.
    pub(crate) fn from_json(value: &Value) -> Option<Quantity> {
        match value {
            Value::String(s) => Quantity::parse(s),
            Value::Number(n) => Quantity::parse(&n.to_string()),
            _ => None,
        }
    }

    /// `RoundUp(-3)`: a value finer than milli units rounded up (away from zero) to them, the
    /// kept text dropped; coarser values are unchanged.
    pub(crate) fn round_up_milli(&mut self) {
        if self.scale >= -3 {
            return;
        }
        let Some(div) = u32::try_from(-3 - self.scale).ok().and_then(pow10) else {
            return;
        };
        self.mantissa = self.mantissa.div_ceil(div);
        self.scale = -3;
        self.kept = None;
    }

    /// Whether the value is below zero.
    pub(crate) fn is_negative(&self) -> bool {
        self.negative && self.mantissa != 0
    }

    /// Whether the value is zero.
    pub(crate) fn is_zero(&self) -> bool {
        self.mantissa == 0
    }

    /// `Cmp`: the values compared.
    pub(crate) fn compare(&self, other: &Quantity) -> Ordering {
        match (self.is_negative(), other.is_negative()) {
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            _ => {}
        }
        let magnitude = self.compare_magnitude(other);
        if self.is_negative() {
            magnitude.reverse()
        } else {
            magnitude
        }
    }

    fn compare_magnitude(&self, other: &Quantity) -> Ordering {
        if self.mantissa == 0 || other.mantissa == 0 {
            return self.mantissa.cmp(&other.mantissa);
        }
        let low = self.scale.min(other.scale);
        let widen = |q: &Quantity| {
            u32::try_from(q.scale - low)
                .ok()
                .and_then(pow10)
                .and_then(|p| q.mantissa.checked_mul(p))
        };
        match (widen(self), widen(other)) {
            (Some(a), Some(b)) => a.cmp(&b),
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (None, None) => Ordering::Equal,
        }
    }

    /// `ScaledValue(scale)` of the magnitude: |value| / 10^scale, rounded up.
    fn scaled_magnitude(&self, scale: i32) -> Option<u128> {
        let shift = self.scale - scale;
        if shift >= 0 {
            self.mantissa
                .checked_mul(pow10(u32::try_from(shift).ok()?)?)
        } else {
            match u32::try_from(-shift).ok().and_then(pow10) {
                Some(p) => Some(self.mantissa.div_ceil(p)),
                // Finer than 10^-38 of the scale: rounds up to one unit (or zero).
                None => Some(u128::from(self.mantissa != 0)),
            }
        }
    }

    /// `MilliValue() % 1000 == 0`: a whole number once rounded up to milli units
    /// (`ValidateResourceQuantityValue`'s test for integer resources).
    pub(crate) fn is_whole_in_millis(&self) -> bool {
        self.scaled_magnitude(-3)
            .is_none_or(|milli| milli.is_multiple_of(1000))
    }

    /// `Value()` of the magnitude: rounded up to a whole number.
    pub(crate) fn whole_ceil(&self) -> Option<u128> {
        self.scaled_magnitude(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(s: &str) -> Option<String> {
        Quantity::parse(s).and_then(|q| q.marshal())
    }

    /// What kube-apiserver v1.37.2 stores for these texts in a single Quantity field
    /// (`emptyDir.sizeLimit`, read back from a dry-run create on the real server).
    #[test]
    fn canonical_forms() {
        for (input, want) in [
            ("1000m", "1"),
            ("1.5Gi", "1536Mi"),
            ("0.5", "500m"),
            ("1e3", "1e3"),
            ("1E3", "1E3"),
            ("01Ki", "01Ki"),
            ("1.5", "1500m"),
            ("1536Mi", "1536Mi"),
            ("2048Ki", "2Mi"),
            ("0.5Ki", "512"),
            ("1000k", "1M"),
            ("0.1", "100m"),
            ("1.5e3", "1500"),
            ("12e2", "1200"),
            ("1n", "1n"),
            ("0.0000000001", "1n"),
            ("128974848", "128974848"),
            ("129e6", "129e6"),
            ("123Mi", "123Mi"),
            ("000", "0"),
            ("0m", "0"),
            ("1.0", "1"),
            ("1.50", "1500m"),
            ("100.0m", "100m"),
            ("1e-3", "1e-3"),
            ("1e-9", "1e-9"),
            ("1e-10", "1e-9"),
            ("1E6", "1E6"),
            ("1e6", "1e6"),
            ("1e7", "10e6"),
            ("+1", "+1"),
            ("+1.5", "1500m"),
            ("1Ei", "1Ei"),
            ("8Ei", "9223372036854775807"),
            ("9Ei", "9223372036854775807"),
            ("1024", "1024"),
            ("1024Ki", "1Mi"),
            ("1048576", "1048576"),
            ("007", "007"),
            ("10000000000000000000", "10E"),
            ("9223372036854775807", "9223372036854775807"),
            ("9223372036854775808", "9223372036854775808"),
            ("0.0001m", "100n"),
            ("1.5k", "1500"),
            ("1500", "1500"),
            ("15e2", "1500"),
            ("2e3", "2e3"),
            ("1.0Gi", "1Gi"),
            ("1Ki", "1Ki"),
            ("7Ki", "7Ki"),
            ("8Ki", "8Ki"),
            ("16Ki", "16Ki"),
            ("1000Mi", "1000Mi"),
            ("0.25Gi", "256Mi"),
            (" 1Gi", "1Gi"),
            ("1Gi ", "1Gi"),
            ("1.5E3", "1500"),
            ("001", "001"),
            ("0100", "0100"),
            ("1e+3", "1e+3"),
            ("1e-0", "1e-0"),
            ("100e-2", "1"),
            ("1.5Mi", "1536Ki"),
            ("1.1Ki", "1126400m"),
            ("1e18", "1e18"),
            ("1e19", "10e18"),
            ("1.5E", "1500P"),
            ("1024Ei", "9223372036854775807"),
            ("0.000000001Ki", "1024n"),
            ("1e-12", "1e-9"),
            ("999999999999999999", "999999999999999999"),
            ("1000000000000000000", "1E"),
            (
                "123456789012345678901234567890",
                "123456789012345678901234567890",
            ),
            ("0.1234567891", "123456790n"),
            ("12.5m", "12500u"),
            ("2.5u", "2500n"),
            ("3000n", "3u"),
            ("1.000001", "1.000001"),
            ("1e01", "10"),
            ("1e003", "1e003"),
            ("100000", "100k"),
            ("1Ti", "1Ti"),
            ("1.5Ti", "1536Gi"),
            ("5000Mi", "5000Mi"),
            ("0.9995", "999500u"),
            ("1.0001", "1000100u"),
            ("0.0005", "500u"),
            ("12.3456", "12345600u"),
            ("1.23456", "1234560u"),
            ("2.0005", "2000500u"),
            ("0.5005", "500500u"),
            ("1.0015", "1001500u"),
            ("0", "0"),
            ("-1.5", "-1500m"),
        ] {
            assert_eq!(canonical(input).as_deref(), Some(want), "{input:?}");
        }
    }

    /// `SetDefaults_ResourceList` rounds a resource list's values up to milli units (tried on
    /// the real server with container limits: `0.9995` → `1`, `1.0001` → `1001m`).
    #[test]
    fn resource_lists_round_up_to_millis() {
        let rounded = |s: &str| {
            let mut q = Quantity::parse(s)?;
            q.round_up_milli();
            q.marshal()
        };
        for (input, want) in [
            ("0.9995", "1"),
            ("1.0001", "1001m"),
            ("1.000001", "1001m"),
            ("1n", "1m"),
            ("1500m", "1500m"),
            ("1e3", "1e3"),
            ("1.5Gi", "1536Mi"),
            ("0.5", "500m"),
            ("-0.0001", "-1m"),
        ] {
            assert_eq!(rounded(input).as_deref(), Some(want), "{input}");
        }
    }

    #[test]
    fn comparisons_and_whole_numbers() {
        let q = |s: &str| Quantity::parse(s).expect("parses");
        assert_eq!(q("1").compare(&q("1000m")), Ordering::Equal);
        assert_eq!(q("1Gi").compare(&q("1G")), Ordering::Greater);
        assert_eq!(q("-1").compare(&q("0")), Ordering::Less);
        assert_eq!(q("-2").compare(&q("-1")), Ordering::Less);
        assert_eq!(q("1E").compare(&q("1n")), Ordering::Greater);
        assert!(q("2").is_whole_in_millis());
        assert!(q("1e3").is_whole_in_millis());
        assert!(!q("500m").is_whole_in_millis());
        assert!(!q("1001m").is_whole_in_millis());
        // MilliValue rounds up: 0.9995 is 1000 millis.
        assert!(q("0.9995").is_whole_in_millis());
        assert_eq!(q("3Mi").whole_ceil(), Some(3 << 20));
        assert_eq!(q("1.5").whole_ceil(), Some(2));
    }

    #[test]
    fn value_keys_compare_values() {
        let key = |s: &str| Quantity::parse(s).map(|q| q.value_key());
        assert_eq!(key("1Gi"), key("1073741824"));
        assert_eq!(key("1000m"), key("1"));
        assert_eq!(key("0"), key("0m"));
        assert_ne!(key("1"), key("2"));
    }

    proptest::proptest! {
        /// The stored text is stable: canonicalizing it again (rounded or not) changes
        /// nothing, and it parses back to the same value.
        #[test]
        fn canonical_texts_are_fixed_points(
            n in 0u64..100_000_000, frac in "(|\\.[0-9]{1,10})", suffix in "(|n|u|m|k|M|G|Ki|Mi|Gi|e3|E-2|e7)"
        ) {
            let text = format!("{n}{frac}{suffix}");
            let q = Quantity::parse(&text).expect("parses");
            let once = q.marshal().expect("writes");
            let again = Quantity::parse(&once).expect("canonical parses");
            proptest::prop_assert_eq!(again.value_key(), q.value_key());
            proptest::prop_assert_eq!(again.marshal(), Some(once.clone()));
            let mut r = q.clone();
            r.round_up_milli();
            let rounded = r.marshal().expect("writes");
            let mut r2 = Quantity::parse(&rounded).expect("rounded parses");
            r2.round_up_milli();
            proptest::prop_assert_eq!(r2.marshal(), Some(rounded.clone()));
        }
    }
}
