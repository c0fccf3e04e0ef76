//! `primehub-controller`: PrimeHub's role watcher, or the orphan-role sweep. Wiring only; see
//! the library.
//!
//! Errors are logged once, in the chosen log format (one JSON object with `--log-format json`),
//! and the exit status is 1. The sweep's report goes to stdout.

use std::process::ExitCode;

use clap::Parser;
use primehub_controller::app;
use primehub_controller::cli::Args;
use primehub_controller::settings::{Mode, Settings};
use primehub_service::logging;

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
    match settings.mode {
        Mode::Watch => match app::run(settings, shutdown, |_| {}).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!(error = format!("{e:#}"), "the controller stopped");
                ExitCode::FAILURE
            }
        },
        Mode::Prune { dry_run, grace } => {
            match app::prune(&settings, dry_run, grace, shutdown).await {
                Ok(Some(report)) => {
                    print!("{report}");
                    ExitCode::SUCCESS
                }
                Ok(None) => {
                    tracing::error!("stopped before the sweep ended");
                    ExitCode::FAILURE
                }
                Err(e) => {
                    tracing::error!(error = format!("{e:#}"), "the orphan-role sweep failed");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
