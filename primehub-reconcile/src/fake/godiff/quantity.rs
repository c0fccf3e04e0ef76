//! `resource.Quantity` as kube-apiserver holds it: parsed by `ParseQuantity` (which keeps the
//! text when it is already canonical, rounds up to nano units, caps binary values) and written
//! by `MarshalJSON` (the kept text, else `CanonicalizeBytes`: binary values as a whole number
//! of `Ki`…`Ei` when exact and at least 1024, others in decimal with an SI suffix or, for
//! exponent input, `e<n>`, the exponent a multiple of 3). Exact integer arithmetic; `None` for
//! what does not fit in 128 bits or has no suffix to write (beyond `E`, below `n`).

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

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(s: &str) -> Option<String> {
        Quantity::parse(s).and_then(|q| q.marshal())
    }

    /// What kube-apiserver v1.37.2 stores for these requests and limits (tried on the real
    /// server: `1000m` → `1`, `1.5` → `1500m`, `1.5Gi` → `1536Mi`).
    #[test]
    fn canonical_forms() {
        for (input, want) in [
            ("0", "0"),
            ("1000m", "1"),
            ("1.5", "1500m"),
            ("1500m", "1500m"),
            ("1.5Gi", "1536Mi"),
            ("1610612736", "1610612736"),
            ("1536Mi", "1536Mi"),
            ("2048Ki", "2Mi"),
            ("1Gi", "1Gi"),
            ("3Ki", "3Ki"),
            ("0.5Ki", "512"),
            ("100k", "100k"),
            ("1000k", "1M"),
            ("0.1", "100m"),
            ("1e3", "1e3"),
            ("1E3", "1E3"),
            ("1.5e3", "1500"),
            ("12e2", "1200"),
            ("1n", "1n"),
            ("0.0000000001", "1n"),
            ("-1.5", "-1500m"),
            ("128974848", "128974848"),
            ("129e6", "129e6"),
            ("123Mi", "123Mi"),
            ("64Mi", "64Mi"),
            ("100m", "100m"),
            ("250m", "250m"),
            ("10Gi", "10Gi"),
            ("0.5", "500m"),
            ("000", "0"),
        ] {
            assert_eq!(canonical(input).as_deref(), Some(want), "{input}");
        }
    }

    #[test]
    fn value_keys_compare_values() {
        let key = |s: &str| Quantity::parse(s).map(|q| q.value_key());
        assert_eq!(key("1Gi"), key("1073741824"));
        assert_eq!(key("1000m"), key("1"));
        assert_eq!(key("0"), key("0m"));
        assert_ne!(key("1"), key("2"));
    }
}
