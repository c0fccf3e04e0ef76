//! Logging: one `tracing` subscriber on stderr (stdout stays free for a command's output).

use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

/// Installs the global `tracing` subscriber: levels from `RUST_LOG` (default `info`), lines in
/// `format`. A second call (as in tests) leaves the first subscriber in place.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
