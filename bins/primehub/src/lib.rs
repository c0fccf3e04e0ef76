//! `primehub`: PrimeHub's developer and operator command-line tool, as a library so its
//! subcommands can be tested.
//!
//! Wiring only: argument parsing lives in [`cli`], each subcommand in [`commands`]; the logic is
//! in the PrimeHub crates.

pub mod cli;
pub mod commands;

/// Logging (a `tracing` subscriber on stderr, so stdout stays for output such as
/// `primehub crds`), shared by every PrimeHub binary.
pub use primehub_service::logging;
