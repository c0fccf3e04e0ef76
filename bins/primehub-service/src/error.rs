//! The crate's single error type.

use std::net::SocketAddr;

use thiserror::Error;

/// A boxed cause, kept as the error's source.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything a service's configuration, start or HTTP serving can fail with. Each message names
/// the flag (and its environment variable) to check; causes are kept as sources, so
/// `format!("{:#}", anyhow::Error::from(e))` shows the whole chain.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// A flag's value breaks a rule.
    #[error("{flag} {rule}")]
    Flag {
        /// The flag and its environment variable, e.g. `--keycloak-url (KC_API_BASEURL)`.
        flag: String,
        /// What is wrong with the value, e.g. `"ftp://kc" must be an http:// or https:// URL`.
        rule: String,
        /// The underlying error (a URL parser's, a file read's), if any.
        #[source]
        source: Option<Cause>,
    },
    /// A required setting is missing.
    #[error("{what} is required: give {how}")]
    Missing {
        /// What is missing.
        what: String,
        /// The flags or environment variables that give it.
        how: String,
    },
    /// A client could not be built from the settings (nothing was contacted yet).
    #[error("{context}")]
    Client {
        /// Which client and the flags it comes from.
        context: String,
        /// Why.
        #[source]
        source: Cause,
    },
    /// The listener could not be bound.
    #[error("--listen {address}: cannot bind")]
    Listen {
        /// The address asked for.
        address: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Serving HTTP failed.
    #[error("serving HTTP")]
    Serve(#[source] std::io::Error),
    /// The start failed in a way waiting cannot fix, or was still failing when the startup
    /// timeout ran out.
    #[error("{hint}")]
    Start {
        /// What to check, naming the flags.
        hint: String,
        /// The last failure.
        #[source]
        source: Cause,
    },
}

impl Error {
    /// An [`Error::Flag`] without a cause.
    pub fn flag(flag: impl Into<String>, rule: impl Into<String>) -> Error {
        Error::Flag {
            flag: flag.into(),
            rule: rule.into(),
            source: None,
        }
    }

    /// An [`Error::Flag`] with its cause.
    pub fn flag_because(
        flag: impl Into<String>,
        rule: impl Into<String>,
        source: impl Into<Cause>,
    ) -> Error {
        Error::Flag {
            flag: flag.into(),
            rule: rule.into(),
            source: Some(source.into()),
        }
    }
}

/// Shorthand for `Result<T, Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
