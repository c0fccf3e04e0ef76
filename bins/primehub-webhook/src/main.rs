//! `primehub-webhook`: PrimeHub's admission webhooks over HTTPS. Wiring only; see the library.
//!
//! Errors are logged once, in the chosen log format, and the exit status is 1.

use std::process::ExitCode;

use clap::Parser;
use primehub_service::logging;
use primehub_webhook::app;
use primehub_webhook::cli::Args;
use primehub_webhook::settings::Settings;

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
    match app::run(settings, app::shutdown_on_signals()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "the webhook stopped");
            ExitCode::FAILURE
        }
    }
}
