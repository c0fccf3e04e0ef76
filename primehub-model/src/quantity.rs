//! Exact quantities: CPU in millicores, memory in bytes, GPUs as a count.
//!
//! Everything here is integer arithmetic; no value ever passes through a float. Three families of
//! input are read:
//!
//! * **Kubernetes quantities** ([`Quantity::parse`], [`Cpu::parse`], [`Memory::parse`],
//!   [`Gpu::parse`]): the full grammar of `k8s.io/apimachinery`'s `resource.Quantity` — an optional
//!   sign, a decimal number (`1`, `1.5`, `.5`, `5.`), and one suffix out of the binary SI suffixes
//!   (`Ki Mi Gi Ti Pi Ei`), the decimal SI suffixes (`m`, none, `k M G T P E`) or a decimal
//!   exponent (`e3`, `E-2`). `2G` is 2·10⁹ bytes and `2Gi` is 2·2³⁰ bytes, exactly as Kubernetes.
//! * **PrimeHub memory values** ([`Memory::parse_primehub`]): an InstanceType's `limits.memory` /
//!   `requests.memory`. PrimeHub's consumers (KubeSpawner and the job controller's unit
//!   conversion) read a bare `K`, `M`, `G` suffix 1024-based, so here `2G` is 2 GiB. Every other
//!   suffix keeps its Kubernetes meaning — including a bare `T`, which is decimal tera
//!   (10¹²), as DESIGN §4.1 fixes it: only `G`, `M` and `K` are the suffixes the console writes
//!   and PrimeHub's converters map, and an instance type of a terabyte of memory is not a case
//!   worth a rule of its own that Kubernetes itself reads differently.
//! * **PrimeHub quota attributes** ([`Cpu::parse_cores`], [`Memory::parse_quota`],
//!   [`Gpu::parse_count`]): `quota-cpu = "0.5"` cores, `quota-memory = "4G"` meaning 4 GiB (the
//!   admission webhook multiplied by 1024³), `quota-gpu = "2"`.
//!
//! Rounding: a CPU value finer than one millicore and a memory value finer than one byte round
//! *up*, as Kubernetes' `MilliValue()` / `Value()` do. A GPU count must be a whole number. Negative
//! amounts are rejected (no limit, request or quota can be negative), and values that do not fit
//! in 64 bits are an error, never a wrap-around.
//!
//! ```
//! use primehub_model::quantity::{Cpu, Memory, Gpu};
//!
//! assert_eq!(Cpu::parse("limits.cpu", "500m")?.millis(), 500);
//! assert_eq!(Cpu::parse("limits.cpu", "1.5")?.millis(), 1500);
//! assert_eq!(Memory::parse("limits.memory", "2G")?.bytes(), 2_000_000_000);
//! assert_eq!(Memory::parse("limits.memory", "2Gi")?.bytes(), 2 << 30);
//! // PrimeHub's own memory strings mean GiB:
//! assert_eq!(Memory::parse_primehub("limits.memory", "2G")?.to_quantity_string(), "2Gi");
//! assert_eq!(Memory::parse_quota("quota-memory", "1.5G")?.bytes(), 3 << 29);
//! assert_eq!(Gpu::parse("limits.nvidia.com/gpu", "2")?.count(), 2);
//! assert!(Gpu::parse("limits.nvidia.com/gpu", "0.5").is_err());
//! # Ok::<(), primehub_model::Error>(())
//! ```

use std::fmt;

use crate::error::{Error, Result};

/// A parsed Kubernetes quantity held exactly: `(-1)^negative · mantissa · 10^exp10 · 2^exp2`.
///
/// Produced by [`Quantity::parse`]; converted to integer units with [`Quantity::to_units_ceil`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity {
    negative: bool,
    mantissa: u128,
    exp10: i64,
    exp2: u32,
}

fn invalid(field: &str, value: &str, rule: impl Into<String>) -> Error {
    Error::InvalidQuantity {
        field: field.to_owned(),
        value: value.to_owned(),
        rule: rule.into(),
    }
}

impl Quantity {
    /// Parses `value` with the Kubernetes quantity grammar. `field` names where the text came
    /// from and appears in the error.
    pub fn parse(field: &str, value: &str) -> Result<Quantity> {
        let s = value.trim();
        if s.is_empty() {
            return Err(invalid(field, value, "a quantity must not be empty"));
        }
        let bytes = s.as_bytes();
        let mut i = 0;
        let mut negative = false;
        if bytes[0] == b'+' || bytes[0] == b'-' {
            negative = bytes[0] == b'-';
            i = 1;
        }
        let num_start = i;
        let mut mantissa: u128 = 0;
        let mut digits = 0usize;
        let mut frac_digits: i64 = 0;
        let mut seen_point = false;
        let mut overflow = false;
        while i < bytes.len() {
            let c = bytes[i];
            if c.is_ascii_digit() {
                digits += 1;
                match mantissa
                    .checked_mul(10)
                    .and_then(|m| m.checked_add(u128::from(c - b'0')))
                {
                    Some(m) => mantissa = m,
                    None => overflow = true,
                }
                if seen_point {
                    frac_digits += 1;
                }
            } else if c == b'.' && !seen_point {
                seen_point = true;
            } else {
                break;
            }
            i += 1;
        }
        if digits == 0 {
            return Err(invalid(
                field,
                value,
                "expected a number such as 1, 1.5, .5 or 500m (Kubernetes quantity grammar)",
            ));
        }
        if overflow {
            return Err(invalid(
                field,
                value,
                "too many significant digits (at most 38)",
            ));
        }
        let suffix = &s[i..];
        debug_assert!(i > num_start);
        let (exp10, exp2): (i64, u32) = match suffix {
            "" => (0, 0),
            "m" => (-3, 0),
            "k" => (3, 0),
            "M" => (6, 0),
            "G" => (9, 0),
            "T" => (12, 0),
            "P" => (15, 0),
            "E" => (18, 0),
            "Ki" => (0, 10),
            "Mi" => (0, 20),
            "Gi" => (0, 30),
            "Ti" => (0, 40),
            "Pi" => (0, 50),
            "Ei" => (0, 60),
            other => {
                let exp = other
                    .strip_prefix(['e', 'E'])
                    .and_then(parse_exponent)
                    .ok_or_else(|| {
                        invalid(
                            field,
                            value,
                            format!(
                                "unknown suffix {other:?}: expected one of Ki Mi Gi Ti Pi Ei, m k M G T P E, or an exponent such as e3"
                            ),
                        )
                    })?;
                (exp, 0)
            }
        };
        let mut q = Quantity {
            negative: negative && mantissa != 0,
            mantissa,
            exp10: exp10 - frac_digits,
            exp2,
        };
        q.normalise();
        Ok(q)
    }

    /// Drops trailing decimal zeros from the mantissa so exponents stay small.
    fn normalise(&mut self) {
        if self.mantissa == 0 {
            self.exp10 = 0;
            self.exp2 = 0;
            return;
        }
        while self.mantissa.is_multiple_of(10) {
            self.mantissa /= 10;
            self.exp10 += 1;
        }
    }

    /// Whether the quantity is below zero.
    pub fn is_negative(&self) -> bool {
        self.negative
    }

    /// Whether the quantity is exactly zero.
    pub fn is_zero(&self) -> bool {
        self.mantissa == 0
    }

    /// The quantity times `10^scale`, rounded up to a whole number (toward +∞), as Kubernetes'
    /// `ScaledValue` rounds. `None` when the result does not fit in a `u128` or the quantity is
    /// negative.
    pub fn to_units_ceil(&self, scale: i64) -> Option<u128> {
        self.scaled(scale)
            .map(|(floor, exact)| if exact { floor } else { floor + 1 })
    }

    /// Whether the quantity times `10^scale` is a whole number (`false` when it does not fit).
    pub fn is_whole_at(&self, scale: i64) -> bool {
        self.scaled(scale).is_some_and(|(_, exact)| exact)
    }

    /// `(floor(|q| · 10^scale), whether that is exact)`, or `None` on overflow or a negative
    /// quantity.
    fn scaled(&self, scale: i64) -> Option<(u128, bool)> {
        if self.negative {
            return None;
        }
        if self.mantissa == 0 {
            return Some((0, true));
        }
        let exp = self.exp10.checked_add(scale)?;
        if exp >= 0 {
            let exp = u32::try_from(exp).ok()?;
            let base = mul_pow2(self.mantissa, self.exp2)?;
            Some((base.checked_mul(10u128.checked_pow(exp)?)?, true))
        } else {
            // mantissa · 2^e / 10^k = (mantissa · 2^(e-t)) / (5^k · 2^(k-t)) with t = min(e, k):
            // cancelling the common powers of two keeps both sides small.
            let k = u32::try_from(exp.unsigned_abs()).ok()?;
            let t = self.exp2.min(k);
            let numerator = mul_pow2(self.mantissa, self.exp2 - t)?;
            let denominator = 5u128.checked_pow(k).and_then(|d| mul_pow2(d, k - t));
            match denominator {
                Some(d) => Some((numerator / d, numerator % d == 0)),
                // The denominator exceeds every u128, so the positive value is below one unit.
                None => Some((0, false)),
            }
        }
    }
}

/// `x · 2^n`, or `None` on overflow.
fn mul_pow2(x: u128, n: u32) -> Option<u128> {
    if x == 0 {
        return Some(0);
    }
    if n >= 128 || x.leading_zeros() < n {
        return None;
    }
    Some(x << n)
}

fn parse_exponent(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || digits.len() > 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn to_u64(field: &str, value: &str, units: Option<u128>, what: &str) -> Result<u64> {
    units
        .and_then(|u| u64::try_from(u).ok())
        .ok_or_else(|| invalid(field, value, format!("{what} does not fit in 64 bits")))
}

fn non_negative(field: &str, value: &str, q: &Quantity) -> Result<()> {
    if q.is_negative() {
        Err(invalid(field, value, "must not be negative"))
    } else {
        Ok(())
    }
}

/// CPU in millicores (1 core = 1000).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cpu(u64);

impl Cpu {
    /// No CPU.
    pub const ZERO: Cpu = Cpu(0);

    /// `millis` millicores.
    pub const fn from_millis(millis: u64) -> Cpu {
        Cpu(millis)
    }

    /// `cores` whole cores; `None` on overflow.
    pub const fn from_cores(cores: u64) -> Option<Cpu> {
        match cores.checked_mul(1000) {
            Some(m) => Some(Cpu(m)),
            None => None,
        }
    }

    /// The amount in millicores.
    pub const fn millis(self) -> u64 {
        self.0
    }

    /// Parses a Kubernetes quantity (`"500m"`, `"2"`, `"1.5"`); finer than 1m rounds up.
    pub fn parse(field: &str, value: &str) -> Result<Cpu> {
        let q = Quantity::parse(field, value)?;
        non_negative(field, value, &q)?;
        to_u64(field, value, q.to_units_ceil(3), "the CPU amount").map(Cpu)
    }

    /// Parses PrimeHub's decimal-core text (`quota-cpu = "0.5"`, an InstanceType's
    /// `limits.cpu` number written as text). It accepts any Kubernetes quantity, so `"500m"` works
    /// too; finer than 1m rounds up.
    pub fn parse_cores(field: &str, value: &str) -> Result<Cpu> {
        Cpu::parse(field, value)
    }

    /// The Kubernetes quantity text: whole cores as `"2"`, otherwise millicores as `"1500m"`.
    pub fn to_quantity_string(self) -> String {
        if self.0.is_multiple_of(1000) {
            (self.0 / 1000).to_string()
        } else {
            format!("{}m", self.0)
        }
    }

    /// Decimal cores without trailing zeros: `"0.5"`, `"1"`, `"1.25"` (PrimeHub's stored format).
    pub fn to_cores_string(self) -> String {
        let whole = self.0 / 1000;
        let frac = self.0 % 1000;
        if frac == 0 {
            whole.to_string()
        } else {
            let frac = format!("{frac:03}");
            format!("{whole}.{}", frac.trim_end_matches('0'))
        }
    }

    /// `self + other`, or `None` on overflow.
    pub const fn checked_add(self, other: Cpu) -> Option<Cpu> {
        match self.0.checked_add(other.0) {
            Some(v) => Some(Cpu(v)),
            None => None,
        }
    }

    /// `self - other`, floored at zero.
    pub const fn saturating_sub(self, other: Cpu) -> Cpu {
        Cpu(self.0.saturating_sub(other.0))
    }
}

impl fmt::Display for Cpu {
    /// Formats as a Kubernetes quantity (`500m`, `2`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_quantity_string())
    }
}

/// Memory in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Memory(u64);

const GIB: u64 = 1 << 30;

impl Memory {
    /// No memory.
    pub const ZERO: Memory = Memory(0);

    /// `bytes` bytes.
    pub const fn from_bytes(bytes: u64) -> Memory {
        Memory(bytes)
    }

    /// `gib` gibibytes; `None` on overflow.
    pub const fn from_gib(gib: u64) -> Option<Memory> {
        match gib.checked_mul(GIB) {
            Some(b) => Some(Memory(b)),
            None => None,
        }
    }

    /// The amount in bytes.
    pub const fn bytes(self) -> u64 {
        self.0
    }

    /// Parses a Kubernetes quantity exactly (`"2G"` = 2·10⁹, `"2Gi"` = 2·2³⁰); a fraction of a
    /// byte rounds up.
    pub fn parse(field: &str, value: &str) -> Result<Memory> {
        let q = Quantity::parse(field, value)?;
        non_negative(field, value, &q)?;
        to_u64(field, value, q.to_units_ceil(0), "the memory amount").map(Memory)
    }

    /// Parses a PrimeHub memory value (an InstanceType's `limits.memory` / `requests.memory`): a
    /// bare `K`, `M` or `G` suffix means `Ki`, `Mi`, `Gi` (DESIGN §4.1); everything else as
    /// [`Memory::parse`], so a bare `T` is decimal tera (10¹²) as in Kubernetes.
    pub fn parse_primehub(field: &str, value: &str) -> Result<Memory> {
        let trimmed = value.trim();
        let binary = ["K", "M", "G"].iter().find(|s| trimmed.ends_with(*s));
        match binary {
            // `E` is both exa and the exponent marker, and `k` is the only lowercase kilo:
            // neither is rewritten.
            Some(s) if trimmed.len() > s.len() => {
                let number = &trimmed[..trimmed.len() - s.len()];
                // A bare number followed by e.g. `1e3G` is not a quantity; keep the grammar check.
                let rewritten = format!("{number}{s}i");
                Memory::parse(field, &rewritten).map_err(|e| match e {
                    Error::InvalidQuantity { rule, .. } => invalid(field, value, rule),
                    other => other,
                })
            }
            _ => Memory::parse(field, value),
        }
    }

    /// Parses a PrimeHub memory quota attribute (`quota-memory`, `project-quota-memory`):
    /// `"<decimal>G"` is that many GiB, as PrimeHub's admission webhook counted it. A bare number
    /// is also GiB (GraphQL exposes the value as GB); other suffixes as [`Memory::parse_primehub`].
    pub fn parse_quota(field: &str, value: &str) -> Result<Memory> {
        let trimmed = value.trim();
        if !trimmed.is_empty()
            && trimmed
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'.' || b == b'+' || b == b'-')
        {
            return Memory::parse_primehub(field, &format!("{trimmed}G")).map_err(|e| match e {
                Error::InvalidQuantity { rule, .. } => invalid(field, value, rule),
                other => other,
            });
        }
        Memory::parse_primehub(field, value)
    }

    /// The Kubernetes quantity text with the largest binary suffix that is exact
    /// (`"2Gi"`, `"1536Mi"`), or plain bytes.
    pub fn to_quantity_string(self) -> String {
        const SUFFIXES: [(&str, u32); 6] = [
            ("Ei", 60),
            ("Pi", 50),
            ("Ti", 40),
            ("Gi", 30),
            ("Mi", 20),
            ("Ki", 10),
        ];
        if self.0 == 0 {
            return "0".to_owned();
        }
        for (suffix, shift) in SUFFIXES {
            if self.0.trailing_zeros() >= shift {
                return format!("{}{suffix}", self.0 >> shift);
            }
        }
        self.0.to_string()
    }

    /// PrimeHub's stored quota format: GiB as an exact decimal followed by `G` (`"4G"`,
    /// `"1.5G"`). Whole GiB amounts always parse back with [`Memory::parse_quota`]; an amount
    /// that is not a multiple of 1 KiB needs up to 30 decimals, which parse back below 1 PiB.
    pub fn to_quota_string(self) -> String {
        let whole = self.0 >> 30;
        let mut rem = self.0 & (GIB - 1);
        if rem == 0 {
            return format!("{whole}G");
        }
        let mut out = format!("{whole}.");
        // 2^-30 has a finite decimal expansion of at most 30 digits.
        while rem != 0 {
            let scaled = u128::from(rem) * 10;
            let digit = scaled >> 30;
            out.push(char::from(b'0' + digit as u8));
            rem = (scaled & u128::from(GIB - 1)) as u64;
        }
        out.push('G');
        out
    }

    /// `self + other`, or `None` on overflow.
    pub const fn checked_add(self, other: Memory) -> Option<Memory> {
        match self.0.checked_add(other.0) {
            Some(v) => Some(Memory(v)),
            None => None,
        }
    }

    /// `self - other`, floored at zero.
    pub const fn saturating_sub(self, other: Memory) -> Memory {
        Memory(self.0.saturating_sub(other.0))
    }
}

impl fmt::Display for Memory {
    /// Formats as a Kubernetes quantity with an exact binary suffix.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_quantity_string())
    }
}

/// A number of GPUs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Gpu(u64);

impl Gpu {
    /// No GPU.
    pub const ZERO: Gpu = Gpu(0);

    /// `count` GPUs.
    pub const fn from_count(count: u64) -> Gpu {
        Gpu(count)
    }

    /// The number of GPUs.
    pub const fn count(self) -> u64 {
        self.0
    }

    /// Parses a Kubernetes quantity that must be a whole number (`"2"`, `"1e1"`, `"2k"`);
    /// extended resources such as `nvidia.com/gpu` cannot be fractional.
    pub fn parse(field: &str, value: &str) -> Result<Gpu> {
        let q = Quantity::parse(field, value)?;
        non_negative(field, value, &q)?;
        if !q.is_whole_at(0) {
            return Err(invalid(field, value, "a GPU count must be a whole number"));
        }
        to_u64(field, value, q.to_units_ceil(0), "the GPU count").map(Gpu)
    }

    /// Parses PrimeHub's integer GPU quota text (`quota-gpu = "2"`); same rule as
    /// [`Gpu::parse`].
    pub fn parse_count(field: &str, value: &str) -> Result<Gpu> {
        Gpu::parse(field, value)
    }

    /// `self + other`, or `None` on overflow.
    pub const fn checked_add(self, other: Gpu) -> Option<Gpu> {
        match self.0.checked_add(other.0) {
            Some(v) => Some(Gpu(v)),
            None => None,
        }
    }

    /// `self - other`, floored at zero.
    pub const fn saturating_sub(self, other: Gpu) -> Gpu {
        Gpu(self.0.saturating_sub(other.0))
    }
}

impl fmt::Display for Gpu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpu(s: &str) -> u64 {
        Cpu::parse("f", s).map(Cpu::millis).unwrap_or(u64::MAX)
    }
    fn mem(s: &str) -> u64 {
        Memory::parse("f", s).map(Memory::bytes).unwrap_or(u64::MAX)
    }

    #[test]
    fn cpu_forms() {
        assert_eq!(cpu("1"), 1000);
        assert_eq!(cpu("500m"), 500);
        assert_eq!(cpu("0.5"), 500);
        assert_eq!(cpu(".5"), 500);
        assert_eq!(cpu("5."), 5000);
        assert_eq!(cpu("+2"), 2000);
        assert_eq!(cpu("1.5"), 1500);
        assert_eq!(cpu("0.0001"), 1, "rounds up like MilliValue");
        assert_eq!(cpu("1e3"), 1_000_000);
        assert_eq!(cpu("1E-3"), 1);
        assert_eq!(cpu("2k"), 2_000_000);
        assert_eq!(cpu("0"), 0);
        assert_eq!(cpu("-0"), 0);
        assert_eq!(cpu("1Ki"), 1_024_000);
    }

    #[test]
    fn memory_forms() {
        assert_eq!(mem("2G"), 2_000_000_000);
        assert_eq!(mem("2Gi"), 2 * 1024 * 1024 * 1024);
        assert_eq!(mem("1.5Gi"), 3 * 512 * 1024 * 1024);
        assert_eq!(mem("128974848"), 128_974_848);
        assert_eq!(mem("129e6"), 129_000_000);
        assert_eq!(mem("129M"), 129_000_000);
        assert_eq!(mem("123Mi"), 123 * 1024 * 1024);
        assert_eq!(mem("1k"), 1000);
        assert_eq!(mem("1Ki"), 1024);
        assert_eq!(mem("1E"), 1_000_000_000_000_000_000);
        assert_eq!(mem("7Ei"), 7 << 60);
        assert_eq!(mem("500m"), 1, "half a byte rounds up");
    }

    #[test]
    fn rejects_bad_input_naming_field_and_rule() {
        for bad in [
            "", "abc", "1.2.3", "1Gb", "G", "1 G", "--1", "1e", "1e+", "0x10", "1ii",
        ] {
            match Cpu::parse("limits.cpu", bad) {
                Err(Error::InvalidQuantity { field, value, .. }) => {
                    assert_eq!(field, "limits.cpu");
                    assert_eq!(value, bad);
                }
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
        let err = Cpu::parse("limits.cpu", "-1").unwrap_err();
        assert!(err.to_string().contains("must not be negative"), "{err}");
    }

    #[test]
    fn overflow_is_an_error() {
        assert!(Memory::parse("m", "16Ei").is_err());
        assert!(Memory::parse("m", "15Ei").is_ok());
        assert!(Cpu::parse("c", "1e30").is_err());
        assert!(Memory::parse("m", "1e999999").is_err());
        assert!(Memory::parse("m", "123456789012345678901234567890123456789012").is_err());
        assert_eq!(mem("1e-999999"), 1);
    }

    #[test]
    fn gpu_must_be_whole() {
        assert_eq!(Gpu::parse("g", "2").map(Gpu::count), Ok(2));
        assert_eq!(Gpu::parse("g", "2.0").map(Gpu::count), Ok(2));
        assert_eq!(Gpu::parse("g", "1e1").map(Gpu::count), Ok(10));
        assert!(Gpu::parse("g", "0.5").is_err());
        assert!(Gpu::parse("g", "500m").is_err());
        assert!(Gpu::parse("g", "1000m").is_ok());
        assert_eq!(Gpu::parse("g", "0.5Ki").map(Gpu::count), Ok(512));
    }

    #[test]
    fn primehub_memory_is_binary() {
        let p = |s| Memory::parse_primehub("limits.memory", s).map(Memory::bytes);
        assert_eq!(p("2G"), Ok(2 << 30));
        assert_eq!(p("512M"), Ok(512 << 20));
        assert_eq!(p("4K"), Ok(4 << 10));
        assert_eq!(
            p("1T"),
            Ok(1_000_000_000_000),
            "a bare T is decimal tera (DESIGN §4.1)"
        );
        assert_eq!(p("1Ti"), Ok(1 << 40));
        assert_eq!(p("2Gi"), Ok(2 << 30));
        assert_eq!(p("1.5G"), Ok(3 << 29));
        assert_eq!(p("2k"), Ok(2000), "lowercase k is decimal kilo");
        assert_eq!(p("1E"), Ok(1_000_000_000_000_000_000));
        assert!(p("G").is_err());
        assert!(p("xG").is_err());
    }

    #[test]
    fn quota_memory() {
        let q = |s| Memory::parse_quota("quota-memory", s).map(Memory::bytes);
        assert_eq!(q("4G"), Ok(4 << 30));
        assert_eq!(q("4"), Ok(4 << 30));
        assert_eq!(q("0.5G"), Ok(1 << 29));
        assert_eq!(q("0G"), Ok(0));
        let err = Memory::parse_quota("quota-memory", "lots").unwrap_err();
        assert!(err.to_string().contains("quota-memory"), "{err}");
    }

    #[test]
    fn formatting() {
        assert_eq!(Cpu::from_millis(500).to_quantity_string(), "500m");
        assert_eq!(Cpu::from_millis(2000).to_quantity_string(), "2");
        assert_eq!(Cpu::from_millis(500).to_cores_string(), "0.5");
        assert_eq!(Cpu::from_millis(1250).to_cores_string(), "1.25");
        assert_eq!(Cpu::from_millis(3).to_cores_string(), "0.003");
        assert_eq!(Cpu::from_millis(1000).to_cores_string(), "1");
        assert_eq!(Memory::from_bytes(2 << 30).to_quantity_string(), "2Gi");
        assert_eq!(
            Memory::from_bytes(1536 << 20).to_quantity_string(),
            "1536Mi"
        );
        assert_eq!(Memory::from_bytes(1000).to_quantity_string(), "1000");
        assert_eq!(Memory::ZERO.to_quantity_string(), "0");
        assert_eq!(Memory::from_bytes(4 << 30).to_quota_string(), "4G");
        assert_eq!(Memory::from_bytes(3 << 29).to_quota_string(), "1.5G");
        assert_eq!(
            Memory::from_bytes(1).to_quota_string(),
            "0.000000000931322574615478515625G"
        );
    }

    // ---- tests that pin the guards and formatting mutation testing found unpinned ----

    fn q(s: &str) -> Quantity {
        Quantity::parse("f", s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn is_zero_only_for_zero() {
        for zero in ["0", "-0", "+0", "0.0", "0Ki", "0e9", "0m", ".0"] {
            assert!(q(zero).is_zero(), "{zero}");
        }
        for nonzero in ["1", "1m", "0.001", "1e-9", "-1", "1Ki"] {
            assert!(!q(nonzero).is_zero(), "{nonzero}");
        }
    }

    #[test]
    fn mul_pow2_overflows_exactly_at_the_top_bit() {
        assert_eq!(mul_pow2(1, 127), Some(1 << 127));
        assert_eq!(mul_pow2(1, 128), None);
        assert_eq!(mul_pow2(3, 126), Some(3 << 126));
        assert_eq!(mul_pow2(3, 127), None, "the high bit would be lost");
        assert_eq!(mul_pow2(u128::MAX, 0), Some(u128::MAX));
        assert_eq!(mul_pow2(u128::MAX, 1), None);
        assert_eq!(mul_pow2(5, 3), Some(40));
        assert_eq!(mul_pow2(0, 200), Some(0));
        // Through the public API: 2^67 Ei = 2^127 still fits a u128, 2^68 Ei does not.
        assert_eq!(
            q("147573952589676412928Ei").to_units_ceil(0),
            Some(1 << 127)
        );
        assert_eq!(q("295147905179352825856Ei").to_units_ceil(0), None);
        assert_eq!(q("123456789012345678901234567890Ei").to_units_ceil(0), None);
    }

    #[test]
    fn exponent_is_at_most_six_digits() {
        assert_eq!(parse_exponent("3"), Some(3));
        assert_eq!(parse_exponent("+3"), Some(3));
        assert_eq!(parse_exponent("-3"), Some(-3));
        assert_eq!(parse_exponent("999999"), Some(999_999));
        assert_eq!(parse_exponent("-999999"), Some(-999_999));
        assert_eq!(parse_exponent("000001"), Some(1));
        assert_eq!(parse_exponent("1000000"), None);
        assert_eq!(parse_exponent("0000001"), None);
        for bad in ["", "+", "-", "+-3", "3a", "a3", "3.0", " 3"] {
            assert_eq!(parse_exponent(bad), None, "{bad:?}");
        }
        assert!(Quantity::parse("f", "1e999999").is_ok());
        assert!(Quantity::parse("f", "1E-999999").is_ok());
        assert!(Quantity::parse("f", "1e1000000").is_err());
        assert!(Quantity::parse("f", "1e+999999").is_ok());
    }

    #[test]
    fn quota_memory_guards() {
        let q = |s| Memory::parse_quota("quota-memory", s).map(Memory::bytes);
        assert_eq!(q("+4"), Ok(4 << 30), "a signed bare number is still GiB");
        assert_eq!(q(" 2 "), Ok(2 << 30));
        assert_eq!(q(".5"), Ok(1 << 29));
        assert_eq!(q("512M"), Ok(512 << 20), "other suffixes as parse_primehub");
        assert_eq!(q("1Gi"), Ok(1 << 30));
        // An empty value is reported as empty, not as a suffix without a number.
        for empty in ["", "   "] {
            match Memory::parse_quota("quota-memory", empty) {
                Err(Error::InvalidQuantity { field, value, rule }) => {
                    assert_eq!(field, "quota-memory");
                    assert_eq!(value, empty);
                    assert!(rule.contains("must not be empty"), "{rule}");
                }
                other => panic!("{empty:?} gave {other:?}"),
            }
        }
        // Errors name the value as written, not the rewritten text.
        for (bad, rule_part) in [("-4", "negative"), ("1.2.3", "unknown suffix"), ("x", "")] {
            match Memory::parse_quota("quota-memory", bad) {
                Err(Error::InvalidQuantity { value, rule, .. }) => {
                    assert_eq!(value, bad);
                    assert!(rule.contains(rule_part), "{bad}: {rule}");
                }
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn primehub_memory_guards() {
        let p = |s| Memory::parse_primehub("limits.memory", s).map(Memory::bytes);
        assert_eq!(p(" 2G "), Ok(2 << 30));
        assert_eq!(p("2"), Ok(2), "a bare number is bytes");
        assert_eq!(p("1M"), Ok(1 << 20));
        assert_eq!(p("1K"), Ok(1 << 10));
        // Errors name the value as written (`1.2.3G`), not the rewritten `1.2.3Gi`.
        for bad in ["1.2.3G", "xG", "-1G", "G"] {
            match Memory::parse_primehub("limits.memory", bad) {
                Err(Error::InvalidQuantity { field, value, .. }) => {
                    assert_eq!(field, "limits.memory");
                    assert_eq!(value, bad);
                }
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn display_is_the_kubernetes_quantity() {
        assert_eq!(Cpu::from_millis(500).to_string(), "500m");
        assert_eq!(Cpu::from_millis(3000).to_string(), "3");
        assert_eq!(format!("{}", Cpu::ZERO), "0");
        assert_eq!(Memory::from_bytes(2 << 30).to_string(), "2Gi");
        assert_eq!(Memory::from_bytes(1536 << 20).to_string(), "1536Mi");
        assert_eq!(Memory::from_bytes(1000).to_string(), "1000");
        assert_eq!(format!("{}", Memory::ZERO), "0");
        assert_eq!(Gpu::from_count(3).to_string(), "3");
    }
}
