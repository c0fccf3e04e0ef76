//! Stopping: a [`Shutdown`] signal fired by SIGTERM or Ctrl-C (or by a test).

use tokio::sync::watch;

/// A signal to stop: `true` once SIGTERM or Ctrl-C arrived (or a test asked).
pub type Shutdown = watch::Receiver<bool>;

/// A [`Shutdown`] fired by SIGTERM or Ctrl-C. Needs a running tokio runtime.
pub fn shutdown_on_signals() -> Shutdown {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for SIGTERM");
                    std::future::pending::<()>().await;
                }
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            () = ctrl_c => tracing::info!("Ctrl-C: stopping"),
            () = term => tracing::info!("SIGTERM: stopping"),
        }
        let _ = tx.send(true);
    });
    rx
}

/// Resolves once `shutdown` fired (or its sender is gone).
pub async fn stopped(mut shutdown: Shutdown) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}
