//! Property tests for the exact quantity parser.

use primehub_model::quantity::{Cpu, Gpu, Memory, Quantity};
use proptest::prelude::*;

proptest! {
    /// Parsing arbitrary text never panics.
    #[test]
    fn parse_never_panics(s in "\\PC{0,24}") {
        let _ = Quantity::parse("f", &s);
        let _ = Cpu::parse("f", &s);
        let _ = Memory::parse("f", &s);
        let _ = Memory::parse_primehub("f", &s);
        let _ = Memory::parse_quota("f", &s);
        let _ = Gpu::parse("f", &s);
    }

    /// Grammar-shaped text never panics either (numbers, points, signs, suffixes, exponents).
    #[test]
    fn grammar_like_never_panics(s in "[+-]?[0-9]{0,40}(\\.[0-9]{0,40})?(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?[0-9]{1,7})?") {
        let _ = Memory::parse("f", &s);
        let _ = Cpu::parse("f", &s);
    }

    /// Formatting then parsing gives the same amount back.
    #[test]
    fn cpu_round_trip(m in 0u64..u64::MAX / 1000) {
        let cpu = Cpu::from_millis(m);
        prop_assert_eq!(Cpu::parse("f", &cpu.to_quantity_string()), Ok(cpu));
        prop_assert_eq!(Cpu::parse_cores("f", &cpu.to_cores_string()), Ok(cpu));
    }

    #[test]
    fn memory_round_trip(b in any::<u64>()) {
        let mem = Memory::from_bytes(b);
        prop_assert_eq!(Memory::parse("f", &mem.to_quantity_string()), Ok(mem));
    }

    /// The quota format is an exact decimal of GiB; below 1 PiB it always parses back (above,
    /// an odd byte count needs more than the parser's 38 significant digits).
    #[test]
    fn memory_quota_round_trip(b in 0u64..(1u64 << 50), gib in 0u64..(1u64 << 34)) {
        let mem = Memory::from_bytes(b);
        prop_assert_eq!(Memory::parse_quota("f", &mem.to_quota_string()), Ok(mem));
        let whole = Memory::from_gib(gib).unwrap();
        prop_assert_eq!(Memory::parse_quota("f", &whole.to_quota_string()), Ok(whole));
    }

    /// Decimal and binary suffixes mean exactly what Kubernetes says.
    #[test]
    fn suffix_multipliers(n in 0u64..1_000_000) {
        prop_assert_eq!(Memory::parse("f", &format!("{n}Ki")).map(Memory::bytes), Ok(n << 10));
        prop_assert_eq!(Memory::parse("f", &format!("{n}Mi")).map(Memory::bytes), Ok(n << 20));
        prop_assert_eq!(Memory::parse("f", &format!("{n}Gi")).map(Memory::bytes), Ok(n << 30));
        prop_assert_eq!(Memory::parse("f", &format!("{n}k")).map(Memory::bytes), Ok(n * 1000));
        prop_assert_eq!(Memory::parse("f", &format!("{n}G")).map(Memory::bytes), Ok(n * 1_000_000_000));
        prop_assert_eq!(Memory::parse("f", &format!("{n}e3")).map(Memory::bytes), Ok(n * 1000));
        prop_assert_eq!(Memory::parse_primehub("f", &format!("{n}G")).map(Memory::bytes), Ok(n << 30));
        prop_assert_eq!(Cpu::parse("f", &format!("{n}m")).map(Cpu::millis), Ok(n));
    }

    /// A decimal fraction of cores is exact to the millicore and rounds up below it.
    #[test]
    fn cpu_decimal(whole in 0u64..10_000, frac in 0u64..1000, extra in 1u64..10) {
        let exact = format!("{whole}.{frac:03}");
        prop_assert_eq!(Cpu::parse("f", &exact).map(Cpu::millis), Ok(whole * 1000 + frac));
        let finer = format!("{whole}.{frac:03}{extra}");
        prop_assert_eq!(Cpu::parse("f", &finer).map(Cpu::millis), Ok(whole * 1000 + frac + 1));
    }
}
