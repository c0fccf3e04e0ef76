//! `primehub-apiserver`: PrimeHub's GraphQL API server. Wiring only; see the library.
//!
//! Errors are logged once, in the chosen log format (one JSON object with `--log-format json`),
//! and the exit status is 1.

use std::process::ExitCode;

use clap::Parser;
use primehub_apiserver::{app, cli::Args, logging, settings::Settings};

/// mimalloc: a GraphQL answer is many small allocations (see the `graphql_load` figures).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    logging::init(args.process.log_format);
    let settings = match Settings::resolve(&args) {
        Ok(settings) => settings,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "bad configuration");
            return ExitCode::FAILURE;
        }
    };
    let shutdown = app::shutdown_on_signals();
    match app::run(settings, shutdown, |_| {}).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "the API server stopped");
            ExitCode::FAILURE
        }
    }
}
