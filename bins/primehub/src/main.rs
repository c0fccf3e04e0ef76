//! `primehub`: PrimeHub's developer and operator command-line tool.
//!
//! Wiring only: argument parsing lives in [`cli`], each subcommand in [`commands`].

mod cli;
mod commands;

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let cli = cli::Cli::parse();
    commands::run(cli.command)
}
