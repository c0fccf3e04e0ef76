//! `primehub-apiserver`: PrimeHub's GraphQL API server. Wiring only; see the library.

use clap::Parser;
use primehub_apiserver::{app, cli::Args, logging, settings::Settings};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    logging::init(args.log_format);
    let settings = Settings::resolve(&args).inspect_err(|e| {
        tracing::error!(error = format!("{e:#}"), "bad configuration");
    })?;
    let shutdown = app::shutdown_on_signals();
    app::run(settings, shutdown, |_| {})
        .await
        .inspect_err(|e| tracing::error!(error = format!("{e:#}"), "the API server stopped"))
}
