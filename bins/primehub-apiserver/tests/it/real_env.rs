//! The real tier's environment (`tools/keycloak/keycloak.sh env`,
//! `tools/kube-apiserver/apiserver.sh env`), kubectl, and the binary as a child process.

use std::io::Write;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Prints a loud SKIPPED line, or fails when `PRIMEHUB_TEST_REQUIRE_REAL=1` (`.ci/run`).
pub fn skipped(test: &str, why: &str) {
    assert!(
        std::env::var("PRIMEHUB_TEST_REQUIRE_REAL").as_deref() != Ok("1"),
        "PRIMEHUB_TEST_REQUIRE_REAL=1 but the real tier is not available ({test}: {why})"
    );
    // Straight to the stderr handle: libtest captures `eprintln!` of passing tests.
    let _ = writeln!(
        std::io::stderr(),
        "\n*** SKIPPED: {test}: {why}; .ci/run starts the real components: \
         source <(tools/keycloak/keycloak.sh env); source <(tools/kube-apiserver/apiserver.sh env) ***\n"
    );
}

/// A non-empty environment variable.
pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// kubectl: `$KUBECTL`, else the one shipped next to gcloud (`kubectl.1.33`), else `kubectl`
/// on PATH; `None` when none runs.
pub fn kubectl() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(k) = var("KUBECTL") {
        candidates.push(k.into());
    }
    if let Ok(out) = std::process::Command::new("sh")
        .args(["-c", "readlink -f \"$(command -v gcloud)\""])
        .output()
        && out.status.success()
    {
        let gcloud = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if let Some(dir) = gcloud.parent() {
            candidates.push(dir.join("kubectl.1.33"));
        }
    }
    candidates.push("kubectl".into());
    candidates.into_iter().find(|k| {
        std::process::Command::new(k)
            .args(["version", "--client"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// The repository's root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root")
}

/// A unique name with `prefix`.
pub fn unique(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}", &id[..8])
}

/// A running `primehub-apiserver` and what it logged so far.
pub struct Server {
    /// The process.
    pub child: Child,
    /// Its base URL.
    pub url: String,
    /// Its log lines (stderr), also echoed to the test's output.
    pub log: Arc<Mutex<Vec<String>>>,
}

/// Starts the binary with `args` (plus `--listen 127.0.0.1:0 --log-format json`) and `envs`,
/// and waits for its "listening" line.
pub async fn spawn(args: &[String], envs: &[(&str, &str)]) -> Server {
    let mut command = Command::new(env!("CARGO_BIN_EXE_primehub-apiserver"));
    command
        .args(["--listen", "127.0.0.1:0", "--log-format", "json"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for name in [
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
    ] {
        command.env_remove(name);
    }
    command.env("RUST_LOG", "info");
    for (name, value) in envs {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("the binary starts");
    let stderr = child.stderr.take().expect("stderr is piped");
    let log = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = tokio::sync::oneshot::channel::<String>();
    let lines = log.clone();
    tokio::spawn(async move {
        let mut reader = BufReader::new(stderr).lines();
        let mut tx = Some(tx);
        while let Ok(Some(line)) = reader.next_line().await {
            eprintln!("[primehub-apiserver] {line}");
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
    Server {
        child,
        url: format!("http://{address}"),
        log,
    }
}

impl Server {
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
            .expect("the server stops within 20 s of SIGTERM")
            .expect("the exit status")
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
