//! What an operator sees the controller do, written once and run against two targets: the
//! fakes served over HTTP (`fake_flow`) and the real Keycloak and kube-apiserver
//! (`real_controller`). The binary runs as a child process; roles are checked in Keycloak
//! through another admin client, resources written through another Kubernetes client, and every
//! wait for the external process is a poll with a deadline.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kube::api::{Api, DeleteParams, PostParams};
use primehub_keycloak::KeycloakAdmin;
use primehub_model::crd::Image;
use primehub_test_support::env::unique;
use primehub_test_support::process::{self, Process, get, get_until};
use serde_json::json;

/// The binary under test.
pub const BINARY: &str = env!("CARGO_BIN_EXE_primehub-controller");

/// How long the external process may take to make a change visible.
const DEADLINE: Duration = Duration::from_secs(30);

/// Where the flow runs.
pub struct Target {
    /// What it is, for messages (`fake`, `real`).
    pub label: &'static str,
    /// Keycloak's base URL.
    pub keycloak_url: String,
    /// The realm, in PrimeHub's shape.
    pub realm: String,
    /// A file holding the `admin-ui` client's secret.
    pub client_secret_file: PathBuf,
    /// The kubeconfig the controller runs with.
    pub kubeconfig: PathBuf,
    /// PrimeHub's namespace.
    pub namespace: String,
    /// Another admin client of the realm, to look at and make roles.
    pub keycloak: Arc<dyn KeycloakAdmin>,
    /// Another Kubernetes client, to write images.
    pub kube: kube::Client,
}

impl Target {
    /// The connection flags for the controller.
    pub fn args(&self) -> Vec<String> {
        vec![
            "--keycloak-url".into(),
            self.keycloak_url.clone(),
            "--realm".into(),
            self.realm.clone(),
            "--client-secret-file".into(),
            self.client_secret_file.display().to_string(),
            "--kubeconfig".into(),
            self.kubeconfig.display().to_string(),
            "--namespace".into(),
            self.namespace.clone(),
            // These flows grant role.yaml only; the group-volume controller needs
            // clusterrole.yaml too (PersistentVolumes) and is not what they test.
            "--groupvolume-enabled".into(),
            "false".into(),
        ]
    }

    async fn role_exists(&self, role: &str) -> bool {
        match self.keycloak.get_role(role).await {
            Ok(_) => true,
            Err(e) if e.is_not_found() => false,
            Err(e) => panic!("[{}] reading role {role}: {e}", self.label),
        }
    }

    /// Polls until `role` exists (or, with `exists` false, is gone), at most [`DEADLINE`].
    async fn until_role(&self, role: &str, exists: bool) {
        let started = Instant::now();
        while self.role_exists(role).await != exists {
            assert!(
                started.elapsed() < DEADLINE,
                "[{}] role {role} still {} after {DEADLINE:?}",
                self.label,
                if exists { "missing" } else { "present" }
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Runs `--prune-orphan-roles --prune-grace 0` (plus `extra`) to its end; its stdout.
    async fn sweep(&self, extra: &[&str]) -> String {
        let mut args = self.args();
        args.extend(
            [
                "--log-format",
                "json",
                "--prune-orphan-roles",
                "--prune-grace",
                "0",
            ]
            .iter()
            .chain(extra)
            .map(|a| (*a).to_owned()),
        );
        let out = tokio::time::timeout(
            Duration::from_secs(120),
            process::command(BINARY, &args, &[]).output(),
        )
        .await
        .expect("the sweep ends within 120 s")
        .expect("the sweep runs");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "[{}] the sweep {extra:?} failed: {stdout}{}",
            self.label,
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }
}

fn image(name: &str) -> Image {
    serde_json::from_value(json!({
        "apiVersion": "primehub.io/v1alpha1", "kind": "Image",
        "metadata": {"name": name},
        "spec": {"displayName": name, "url": "registry.example/notebook:1"}
    }))
    .expect("an image")
}

/// A metric's value in Prometheus text.
fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} in:\n{text}"))
}

/// The flow: the watcher makes and deletes an image's role and leaves a role without a
/// resource alone, answers `/readyz` and `/metrics`, stops on SIGTERM; the sweep reports that
/// role in a dry run and deletes it in a real one.
pub async fn run(target: &Target) {
    let label = target.label;
    let orphan = format!("img:{}", unique("orphan"));
    target
        .keycloak
        .create_role(&orphan, None)
        .await
        .expect("the orphan role");

    let controller: Process = process::spawn(BINARY, &target.args(), &[]).await;
    assert_eq!(get(&format!("{}/healthz", controller.url)).await.0, 200);
    get_until(
        &format!("{}/readyz", controller.url),
        200,
        Duration::from_secs(120),
    )
    .await;

    // An image gets its role; deleted, it takes it along.
    let images: Api<Image> = Api::namespaced(target.kube.clone(), &target.namespace);
    let name = unique("img-flow");
    let role = format!("img:{name}");
    images
        .create(&PostParams::default(), &image(&name))
        .await
        .expect("creating the image");
    target.until_role(&role, true).await;
    let (status, text) = get(&format!("{}/metrics", controller.url)).await;
    assert_eq!(status, 200, "[{label}] {text}");
    assert!(
        metric(&text, "primehub_role_sync_created_total") >= 1,
        "[{label}] {text}"
    );
    assert_eq!(
        metric(&text, "primehub_role_sync_ready"),
        1,
        "[{label}] {text}"
    );
    assert_eq!(
        metric(&text, "primehub_role_sync_lists_applied_total"),
        3,
        "[{label}] {text}"
    );
    images
        .delete(&name, &DeleteParams::default())
        .await
        .expect("deleting the image");
    target.until_role(&role, false).await;
    let (_, text) = get(&format!("{}/metrics", controller.url)).await;
    assert!(
        metric(&text, "primehub_role_sync_deleted_total") >= 1,
        "[{label}] {text}"
    );

    // The role of no resource the watcher saw is left alone.
    assert!(target.role_exists(&orphan).await, "[{label}] {orphan} kept");
    let status = controller.terminate().await;
    assert!(
        status.success(),
        "[{label}] SIGTERM is a clean stop: {status}"
    );

    // The sweep: a dry run reports it and deletes nothing; a real run deletes it.
    let report = target.sweep(&["--dry-run"]).await;
    assert!(report.contains("would delete"), "[{label}] {report}");
    assert!(
        report.lines().any(|l| l.trim() == orphan),
        "[{label}] {orphan} in the dry run's report: {report}"
    );
    assert!(
        target.role_exists(&orphan).await,
        "[{label}] a dry run deletes nothing"
    );
    let report = target.sweep(&[]).await;
    assert!(report.contains("deleted"), "[{label}] {report}");
    assert!(
        report.lines().any(|l| l.trim() == orphan),
        "[{label}] {orphan} in the report: {report}"
    );
    assert!(
        !target.role_exists(&orphan).await,
        "[{label}] {orphan} deleted"
    );
}
