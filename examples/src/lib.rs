//! Examples for the PrimeHub crates. The programs are the `[[example]]` targets of this package:
//!
//! * `check_quota` — decide whether a pod fits a group's quotas, as the admission webhook does;
//! * `launch_choices` — list what a user may launch in each of their groups.
//!
//! Run one with `cargo run -p primehub-examples --example check_quota`.
