//! The flags, checked and resolved (the secret read from its file) before anything is
//! contacted. Every error names the flag and its environment variable.

use std::net::SocketAddr;
use std::time::Duration;

use primehub_service::settings::ConnectionSettings;

use crate::cli::Args;

/// What the process does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Run the watcher until SIGTERM.
    Watch,
    /// Sweep the orphan roles once and exit.
    Prune {
        /// Only report.
        dry_run: bool,
        /// How long a role's resource must stay missing.
        grace: Duration,
    },
}

/// Resolved settings of the controller.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where to serve `/healthz`, `/readyz` and `/metrics` (watch mode).
    pub listen: SocketAddr,
    /// Keycloak, Kubernetes, the client, the namespace and the role prefix.
    pub connection: ConnectionSettings,
    /// How long to retry unreachable backends at start (`None`: forever).
    pub startup_timeout: Option<Duration>,
    /// Watch, or sweep once.
    pub mode: Mode,
}

impl Settings {
    /// Checks the flags and reads the secret file.
    ///
    /// # Errors
    ///
    /// A message naming the flag (and its environment variable) and what is wrong.
    pub fn resolve(args: &Args) -> anyhow::Result<Settings> {
        let mode = if args.prune_orphan_roles {
            Mode::Prune {
                dry_run: args.dry_run,
                grace: Duration::from_secs(args.prune_grace),
            }
        } else {
            Mode::Watch
        };
        Ok(Settings {
            listen: args.listen,
            connection: ConnectionSettings::resolve(&args.connection)?,
            startup_timeout: args.process.startup_timeout(),
            mode,
        })
    }
}
