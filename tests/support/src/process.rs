//! A PrimeHub binary as a child process, and plain HTTP GETs to it.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The environment variables the binaries read, removed from a child's environment so that the
/// test's own environment cannot configure it.
const CONFIGURING: [&str; 29] = [
    "KC_API_BASEURL",
    "KC_OIDC_BASEURL",
    "KC_REALM",
    "KC_CLIENT_ID",
    "KC_CLIENT_SECRET",
    "KC_CLIENT_SECRET_FILE",
    "K8S_CRD_NAMESPACE",
    "SHARED_GRAPHQL_SECRET_KEY",
    "SHARED_GRAPHQL_SECRET_KEY_FILE",
    "KC_ROLE_PREFIX",
    "KUBECONFIG",
    "PRIMEHUB_APISERVER_LISTEN",
    "PRIMEHUB_CONTROLLER_LISTEN",
    "PRIMEHUB_STARTUP_TIMEOUT",
    "PRIMEHUB_LOG_FORMAT",
    "PRIMEHUB_GROUP_VOLUME_STORAGE_CLASS",
    "PRIMEHUB_WEBHOOK_LISTEN",
    "PRIMEHUB_WEBHOOK_TLS_LISTEN",
    "PRIMEHUB_WEBHOOK_TLS_CERT_FILE",
    "PRIMEHUB_WEBHOOK_TLS_KEY_FILE",
    "PRIMEHUB_WEBHOOK_CERT_RELOAD_SECONDS",
    "PRIMEHUB_WEBHOOK_QUOTA_SOURCE",
    "PRIMEHUB_WEBHOOK_UNDECIDED",
    "PRIMEHUB_WEBHOOK_IN_FLIGHT_SECONDS",
    "GRAPHQL_ENDPOINT",
    "GRAPHQL_SHARED_SECRET",
    "IMAGE_PREFIX",
    "PLATFORM_TYPE",
    "PVC_LABEL_SELECTOR",
];

/// A command for `binary` with `args` and only `envs` of the variables the binaries read,
/// `RUST_LOG=info`, no stdin, killed when dropped.
pub fn command(binary: &str, args: &[String], envs: &[(&str, &str)]) -> Command {
    let mut command = Command::new(binary);
    command.args(args).stdin(Stdio::null()).kill_on_drop(true);
    for name in CONFIGURING {
        command.env_remove(name);
    }
    command.env("RUST_LOG", "info");
    for (name, value) in envs {
        command.env(name, value);
    }
    command
}

/// A running binary and what it logged so far.
pub struct Process {
    /// The process.
    pub child: Child,
    /// Its base URL.
    pub url: String,
    /// Its log lines (stderr), also echoed to the test's output.
    pub log: Arc<Mutex<Vec<String>>>,
}

/// Starts `binary` with `args` (after `--listen 127.0.0.1:0 --log-format json`) and `envs`
/// (see [`command`]), and waits (at most 30 s) for its JSON `listening` line.
pub async fn spawn(binary: &str, args: &[String], envs: &[(&str, &str)]) -> Process {
    let mut all = vec![
        "--listen".to_owned(),
        "127.0.0.1:0".to_owned(),
        "--log-format".to_owned(),
        "json".to_owned(),
    ];
    all.extend_from_slice(args);
    let mut command = command(binary, &all, envs);
    command.stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child = command.spawn().expect("the binary starts");
    let stderr = child.stderr.take().expect("stderr is piped");
    let label = std::path::Path::new(binary)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let log = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = tokio::sync::oneshot::channel::<String>();
    let lines = log.clone();
    tokio::spawn(async move {
        let mut reader = BufReader::new(stderr).lines();
        let mut tx = Some(tx);
        while let Ok(Some(line)) = reader.next_line().await {
            eprintln!("[{label}] {line}");
            if let Ok(json) = serde_json::from_str::<serde_json::Value>(&line)
                && json["fields"]["message"] == "listening"
                && let Some(address) = json["fields"]["address"].as_str()
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(address.to_owned());
            }
            if let Ok(mut all) = lines.lock() {
                all.push(line);
            }
        }
    });
    let address = tokio::time::timeout(Duration::from_secs(30), rx)
        .await
        .expect("the binary logs its address within 30 s")
        .expect("the binary logs its address before exiting");
    Process {
        child,
        url: format!("http://{address}"),
        log,
    }
}

impl Process {
    /// Sends SIGTERM and waits (at most 20 s) for the exit status.
    pub async fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().expect("the process is running");
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -TERM {pid}");
        tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .expect("the process stops within 20 s of SIGTERM")
            .expect("the exit status")
    }

    /// Waits (at most `limit`) for the process to end by itself; its exit status. The log
    /// reader may still be draining the last lines for a moment afterwards.
    pub async fn exited_within(&mut self, limit: Duration) -> std::process::ExitStatus {
        let status = tokio::time::timeout(limit, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("the process did not end within {limit:?}"))
            .expect("an exit status");
        tokio::time::sleep(Duration::from_millis(200)).await;
        status
    }

    /// Whether a log line contains `text`.
    pub fn logged(&self, text: &str) -> bool {
        self.log
            .lock()
            .map(|l| l.iter().any(|line| line.contains(text)))
            .unwrap_or(false)
    }
}

/// GETs `url`: the status and the body.
pub async fn get(url: &str) -> (u16, String) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let response = reqwest::get(url).await.expect("the server answers");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

/// GETs `url` every 250 ms until it answers `status`, at most `limit`; the body.
pub async fn get_until(url: &str, status: u16, limit: Duration) -> String {
    let started = std::time::Instant::now();
    loop {
        let (got, body) = get(url).await;
        if got == status {
            return body;
        }
        assert!(
            started.elapsed() < limit,
            "{url} did not answer {status} within {limit:?}: {got} {body}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
