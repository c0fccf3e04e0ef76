//! `primehub`: PrimeHub's developer and operator command-line tool.
//!
//! Wiring only: argument parsing lives in [`primehub::cli`], each subcommand in
//! [`primehub::commands`].

use clap::Parser;

/// mimalloc: a GraphQL answer is many small allocations (see the `graphql_load` figures).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let cli = primehub::cli::Cli::parse();
    primehub::logging::init(cli.log_format);
    primehub::commands::run(cli.command)
}
