//! `primehub`: PrimeHub's developer and operator command-line tool.
//!
//! Wiring only: argument parsing lives in [`primehub::cli`], each subcommand in
//! [`primehub::commands`].

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let cli = primehub::cli::Cli::parse();
    primehub::logging::init(cli.log_format);
    primehub::commands::run(cli.command)
}
