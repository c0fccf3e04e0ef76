//! The HTTPS side: a rustls server configuration (the `ring` provider, chosen explicitly, so no
//! process-wide default is needed) from PEM files, and the reload of those files while serving.
//!
//! Kubernetes updates a mounted Secret by swapping a symlink; the files are therefore re-read
//! every interval and compared by content, not by modification time. A new pair that parses is
//! served from the next TLS handshake on (connections already open keep theirs); a pair that
//! does not parse (a half-written update, a key that does not match) is logged and the old one
//! kept.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use axum_server::tls_rustls::RustlsConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A server configuration from PEM bytes: the certificate chain (leaf first) and its key.
/// `h2` and `http/1.1` are offered (kube-apiserver speaks either).
///
/// # Errors
///
/// What is wrong with which part, naming `cert_name` / `key_name` (the files).
pub fn server_config(
    cert_pem: &[u8],
    key_pem: &[u8],
    cert_name: &str,
    key_name: &str,
) -> anyhow::Result<rustls::ServerConfig> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<_, _>>()
        .with_context(|| format!("{cert_name}: not a PEM certificate chain"))?;
    if chain.is_empty() {
        bail!("{cert_name}: no certificate in the file");
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .with_context(|| format!("{key_name}: no PEM private key (PKCS#8, PKCS#1 or SEC1)"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .with_context(|| format!("{cert_name} and {key_name} do not make a usable pair"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// The bytes of a certificate file and a key file, as read (to notice a change).
pub type PemPair = (Vec<u8>, Vec<u8>);

/// The certificate and key files.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The certificate chain.
    pub cert: PathBuf,
    /// The key.
    pub key: PathBuf,
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("{}: cannot read the file", path.display()))
}

impl TlsFiles {
    /// Reads both files: their bytes (to notice changes) and the configuration they make.
    ///
    /// # Errors
    ///
    /// A file that cannot be read, or a pair that does not parse (see [`server_config`]).
    pub fn load(&self) -> anyhow::Result<(PemPair, rustls::ServerConfig)> {
        let cert = read(&self.cert)?;
        let key = read(&self.key)?;
        let config = server_config(
            &cert,
            &key,
            &self.cert.display().to_string(),
            &self.key.display().to_string(),
        )?;
        Ok(((cert, key), config))
    }

    /// Loads the files into an axum-server configuration and returns it with what was read.
    ///
    /// # Errors
    ///
    /// As [`load`](Self::load).
    pub fn rustls_config(&self) -> anyhow::Result<(RustlsConfig, PemPair)> {
        let (read, config) = self.load()?;
        Ok((RustlsConfig::from_config(Arc::new(config)), read))
    }

    /// Re-reads the files every `interval` forever and swaps a changed pair into `serving`
    /// (`last` is what it serves now). Spawn it; abort the task to stop it.
    pub async fn reload_forever(
        self,
        serving: RustlsConfig,
        mut last: PemPair,
        interval: Duration,
    ) {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            let (cert, key) = match (read(&self.cert), read(&self.key)) {
                (Ok(cert), Ok(key)) => (cert, key),
                (Err(e), _) | (_, Err(e)) => {
                    tracing::warn!("serving the previous certificate: {e:#}");
                    continue;
                }
            };
            if (&cert, &key) == (&last.0, &last.1) {
                continue;
            }
            match server_config(
                &cert,
                &key,
                &self.cert.display().to_string(),
                &self.key.display().to_string(),
            ) {
                Ok(config) => {
                    serving.reload_from_config(Arc::new(config));
                    tracing::info!(cert = %self.cert.display(), "serving the renewed certificate");
                    last = (cert, key);
                }
                Err(e) => tracing::warn!("serving the previous certificate: {e:#}"),
            }
        }
    }
}
