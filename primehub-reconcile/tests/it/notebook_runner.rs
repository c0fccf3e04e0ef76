//! The fake cluster's notebook runner (`fake::notebooks`): notebook pods run as local processes.
//!
//! The single-user server is a small Python stand-in (`fake-singleuser`, written to a temporary
//! directory): it reads `--ip`/`--port`, prints its pid, an env var, its home and arguments,
//! then serves HTTP; env vars of the pod steer it (`FAKE_EXIT`, `FAKE_GATE`,
//! `FAKE_IGNORE_TERM`). Each test has its own address range so tests running in parallel
//! never race for an address. Real processes run, so these tests use real time.

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, PostParams};
use primehub_model::names::LABEL_GROUP;
use primehub_reconcile::fake::FakeCluster;
use primehub_reconcile::fake::kubelet::{PodSimulator, SimulatorConfig};
use primehub_reconcile::fake::notebooks::{NotebookRunner, NotebookRunnerConfig};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const NS: &str = "hub";

const FAKE_SERVER: &str = r#"
import os, sys, time, signal, http.server
args = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--") and "=" in a)
print(f"pid {os.getpid()}", flush=True)
print(f"token {os.environ.get('JUPYTERHUB_API_TOKEN', '')}", flush=True)
print(f"home {os.environ.get('HOME')} cwd {os.getcwd()}", flush=True)
print(f"service_url {os.environ.get('JUPYTERHUB_SERVICE_URL')}", flush=True)
print(f"args {' '.join(sys.argv[1:])}", flush=True)
print("to stderr", file=sys.stderr, flush=True)
if os.environ.get("FAKE_IGNORE_TERM"):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
if "FAKE_EXIT" in os.environ:
    sys.exit(int(os.environ["FAKE_EXIT"]))
gate = os.environ.get("FAKE_GATE")
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if gate:
            print("probed", flush=True)
            while not os.path.exists(gate):
                time.sleep(0.02)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *a):
        pass
    def handle_error(self, *a):
        pass
server = http.server.HTTPServer((args["ip"], int(args["port"])), Handler)
server.handle_error = lambda *a: None
print("serving", flush=True)
server.serve_forever()
"#;

/// A scratch directory of its own, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> std::io::Result<Scratch> {
        let dir = std::env::temp_dir().join(format!(
            "primehub-nbrun-test-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir)?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes the stand-in single-user server into `dir` and returns its path.
fn fake_singleuser(dir: &Path) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("fake-singleuser");
    std::fs::write(&path, format!("#!/usr/bin/env python3\n{FAKE_SERVER}"))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    Ok(path)
}

/// A runner config for a test: its own address range `127.78.<range>.1-254`, the stand-in
/// server, a short grace cap, quick polls.
fn config(range: u8, command: PathBuf, scratch: &Scratch) -> NotebookRunnerConfig {
    NotebookRunnerConfig {
        command: Some(command),
        first_address: Ipv4Addr::new(127, 78, range, 1),
        last_address: Ipv4Addr::new(127, 78, range, 254),
        max_grace_period: Duration::from_secs(1),
        ready_poll: Duration::from_millis(20),
        ready_poll_max: Duration::from_millis(200),
        work_root: Some(scratch.0.join("work")),
        ..NotebookRunnerConfig::default()
    }
}

async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    for _ in 0..1500 {
        if let Some(v) = check().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

fn notebook_pod(name: &str, env: Value) -> Result<Pod, serde_json::Error> {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"component": "singleuser-server",
            LABEL_GROUP: "phusers", "hub.jupyter.org/username": "alice"}},
        "spec": {"containers": [{"name": "notebook", "image": "base-notebook",
            "command": ["/opt/primehub-start-notebook/primehub-entrypoint.sh"],
            "args": ["jupyterhub-singleuser"],
            "ports": [{"containerPort": 8888, "name": "notebook-port"}],
            "env": env}]},
    }))
}

async fn status_of(pods: &Api<Pod>, name: &str) -> Value {
    match pods.get(name).await {
        Ok(pod) => serde_json::to_value(pod.status).unwrap_or(Value::Null),
        Err(_) => Value::Null,
    }
}

async fn phase_is(pods: &Api<Pod>, name: &str, phase: &str) -> Option<Value> {
    let status = status_of(pods, name).await;
    (status["phase"] == phase).then_some(status)
}

async fn log_of(pods: &Api<Pod>, name: &str) -> String {
    pods.logs(name, &Default::default())
        .await
        .unwrap_or_default()
}

/// Whether something answers HTTP at `addr`.
async fn answers(addr: SocketAddr) -> bool {
    let attempt = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut head = [0u8; 5];
        stream.read_exact(&mut head).await.ok()?;
        (&head == b"HTTP/").then_some(())
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(2), attempt).await,
        Ok(Some(()))
    )
}

/// The pid the stand-in server printed.
fn pid_in(log: &str) -> Option<u32> {
    log.lines()
        .find_map(|l| l.strip_prefix("pid "))
        .and_then(|p| p.trim().parse().ok())
}

/// Whether process `pid` exists (a zombie, not yet reaped, still does).
fn process_exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

fn pod_ip(status: &Value) -> Result<Ipv4Addr, Box<dyn std::error::Error>> {
    Ok(status["podIP"]
        .as_str()
        .ok_or("no podIP")?
        .parse::<Ipv4Addr>()?)
}

#[tokio::test]
async fn notebook_pods_get_their_own_loopback_address_and_run_once_they_answer() -> TestResult {
    let scratch = Scratch::new()?;
    let command = fake_singleuser(&scratch.0)?;
    let gate = scratch.0.join("gate");
    let cluster = FakeCluster::new();
    tokio::spawn(NotebookRunner::new(cluster.clone(), NS, config(1, command, &scratch)).run());
    let pods: Api<Pod> = Api::namespaced(cluster.client(), NS);
    let gated = notebook_pod(
        "jupyter-gated",
        json!([{"name": "FAKE_GATE", "value": gate.to_string_lossy()},
               {"name": "JUPYTERHUB_API_TOKEN", "value": "gated-token"}]),
    )?;
    pods.create(&PostParams::default(), &gated).await?;
    let plain = notebook_pod(
        "jupyter-alice",
        json!([{"name": "JUPYTERHUB_API_TOKEN", "value": "secret-token-1"},
               {"name": "JUPYTERHUB_SERVICE_URL", "value": "http://0.0.0.0:8888/user/alice/"},
               {"name": "FROM_SECRET", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]),
    )?;
    pods.create(&PostParams::default(), &plain).await?;

    // The gated server listens but answers nothing until the gate opens: once the runner's
    // probe reached it, the pod is still Pending, with its address.
    eventually("the gated server probed", || async {
        log_of(&pods, "jupyter-gated")
            .await
            .contains("probed")
            .then_some(())
    })
    .await;
    let pending = status_of(&pods, "jupyter-gated").await;
    assert_eq!(pending["phase"], "Pending", "{pending}");
    let gated_ip = pod_ip(&pending)?;
    assert_eq!(pending["podIPs"], json!([{"ip": gated_ip.to_string()}]));
    assert_eq!(pending["hostIP"], "127.0.0.1");
    assert_eq!(
        pending["containerStatuses"][0]["state"]["waiting"]["reason"],
        "ContainerCreating"
    );
    assert_eq!(pending["containerStatuses"][0]["ready"], false);

    let running = eventually("jupyter-alice running", || {
        phase_is(&pods, "jupyter-alice", "Running")
    })
    .await;
    let alice_ip = pod_ip(&running)?;
    for ip in [gated_ip, alice_ip] {
        assert!(ip.is_loopback() && ip != Ipv4Addr::LOCALHOST, "{ip}");
        assert_eq!(ip.octets()[..3], [127, 78, 1], "from the configured range");
    }
    assert_ne!(gated_ip, alice_ip, "each pod has its own address");
    let container = &running["containerStatuses"][0];
    assert_eq!(container["name"], "notebook");
    assert_eq!(container["ready"], true);
    assert!(container["state"]["running"]["startedAt"].is_string());
    let conditions: Vec<(String, String)> = running["conditions"]
        .as_array()
        .ok_or("conditions")?
        .iter()
        .map(|c| {
            (
                c["type"].as_str().unwrap_or("").to_owned(),
                c["status"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    for kind in ["PodScheduled", "Initialized", "ContainersReady", "Ready"] {
        assert!(
            conditions.contains(&(kind.to_owned(), "True".to_owned())),
            "{kind}: {conditions:?}"
        );
    }
    assert!(answers(SocketAddr::from((alice_ip, 8888))).await);

    // The pod's env, the runner's arguments and service URL, a home of its own; stdout and
    // stderr are the pod's log.
    let log = log_of(&pods, "jupyter-alice").await;
    assert!(log.contains("token secret-token-1\n"), "{log}");
    assert!(
        log.contains(&format!("args --ip={alice_ip} --port=8888")),
        "{log}"
    );
    assert!(
        log.contains(&format!("service_url http://{alice_ip}:8888/user/alice/\n")),
        "{log}"
    );
    let work = scratch.0.join("work");
    assert!(
        log.contains(&format!("home {}", work.display())),
        "home under the work root: {log}"
    );
    assert!(log.contains("to stderr\n"), "{log}");
    assert!(log.contains("serving\n"), "{log}");

    // Opening the gate: the gated server answers, its pod runs.
    std::fs::write(&gate, "")?;
    eventually("jupyter-gated running", || {
        phase_is(&pods, "jupyter-gated", "Running")
    })
    .await;
    Ok(())
}

#[tokio::test]
async fn an_exit_code_ends_the_pod_succeeded_or_failed() -> TestResult {
    let scratch = Scratch::new()?;
    let command = fake_singleuser(&scratch.0)?;
    let cluster = FakeCluster::new();
    tokio::spawn(NotebookRunner::new(cluster.clone(), NS, config(2, command, &scratch)).run());
    let pods: Api<Pod> = Api::namespaced(cluster.client(), NS);
    for (name, code) in [("jupyter-ok", "0"), ("jupyter-bad", "3")] {
        let pod = notebook_pod(
            name,
            json!([{"name": "FAKE_EXIT", "value": code},
                   {"name": "JUPYTERHUB_API_TOKEN", "value": format!("t-{name}")}]),
        )?;
        pods.create(&PostParams::default(), &pod).await?;
    }
    let ok = eventually("jupyter-ok succeeded", || {
        phase_is(&pods, "jupyter-ok", "Succeeded")
    })
    .await;
    let terminated = &ok["containerStatuses"][0]["state"]["terminated"];
    assert_eq!(terminated["exitCode"], 0, "{ok}");
    assert_eq!(terminated["reason"], "Completed");
    assert_eq!(ok["containerStatuses"][0]["ready"], false);
    let bad = eventually("jupyter-bad failed", || {
        phase_is(&pods, "jupyter-bad", "Failed")
    })
    .await;
    let terminated = &bad["containerStatuses"][0]["state"]["terminated"];
    assert_eq!(terminated["exitCode"], 3, "{bad}");
    assert_eq!(terminated["reason"], "Error");
    assert!(terminated["finishedAt"].is_string());
    // The log is complete, and ended: a follow read returns at once.
    let log = pods
        .logs(
            "jupyter-bad",
            &kube::api::LogParams {
                follow: true,
                ..Default::default()
            },
        )
        .await?;
    assert!(log.contains("token t-jupyter-bad\n"), "{log}");
    Ok(())
}

#[tokio::test]
async fn deleting_a_pod_stops_its_process_and_reaps_it() -> TestResult {
    let scratch = Scratch::new()?;
    let command = fake_singleuser(&scratch.0)?;
    let cluster = FakeCluster::new();
    tokio::spawn(NotebookRunner::new(cluster.clone(), NS, config(3, command, &scratch)).run());
    let pods: Api<Pod> = Api::namespaced(cluster.client(), NS);
    // One stops at SIGTERM; the other ignores it and is killed after the grace period (the
    // pod's 30 s, capped at 1 s by the config).
    pods.create(
        &PostParams::default(),
        &notebook_pod("jupyter-term", json!([]))?,
    )
    .await?;
    pods.create(
        &PostParams::default(),
        &notebook_pod(
            "jupyter-stubborn",
            json!([{"name": "FAKE_IGNORE_TERM", "value": "1"}]),
        )?,
    )
    .await?;
    let mut running = Vec::new();
    for name in ["jupyter-term", "jupyter-stubborn"] {
        let status = eventually("running", || phase_is(&pods, name, "Running")).await;
        let addr = SocketAddr::from((pod_ip(&status)?, 8888));
        let pid = pid_in(&log_of(&pods, name).await).ok_or("no pid in the log")?;
        assert!(answers(addr).await);
        assert!(process_exists(pid));
        running.push((name, addr, pid));
    }
    for (name, addr, pid) in running {
        let deleted = std::time::Instant::now();
        pods.delete(name, &DeleteParams::default()).await?;
        eventually("the process reaped", || async {
            (!process_exists(pid)).then_some(())
        })
        .await;
        if name == "jupyter-stubborn" {
            assert!(
                deleted.elapsed() >= Duration::from_millis(900),
                "SIGKILL only after the grace period"
            );
        }
        assert!(!answers(addr).await, "{name} still answers");
    }
    // Their working directories went with them.
    eventually("working directories removed", || async {
        std::fs::read_dir(scratch.0.join("work"))
            .map(|d| d.count() == 0)
            .unwrap_or(true)
            .then_some(())
    })
    .await;
    Ok(())
}

#[tokio::test]
async fn stopping_the_runner_kills_its_processes() -> TestResult {
    let scratch = Scratch::new()?;
    let command = fake_singleuser(&scratch.0)?;
    let cluster = FakeCluster::new();
    let runner =
        tokio::spawn(NotebookRunner::new(cluster.clone(), NS, config(4, command, &scratch)).run());
    let pods: Api<Pod> = Api::namespaced(cluster.client(), NS);
    pods.create(
        &PostParams::default(),
        &notebook_pod(
            "jupyter-left",
            json!([{"name": "FAKE_IGNORE_TERM", "value": "1"}]),
        )?,
    )
    .await?;
    let status = eventually("running", || phase_is(&pods, "jupyter-left", "Running")).await;
    let addr = SocketAddr::from((pod_ip(&status)?, 8888));
    let pid = pid_in(&log_of(&pods, "jupyter-left").await).ok_or("no pid")?;
    runner.abort();
    let _ = runner.await;
    eventually("the server stopped", || async {
        (!answers(addr).await).then_some(())
    })
    .await;
    eventually("the process gone", || async {
        (!process_exists(pid)).then_some(())
    })
    .await;
    Ok(())
}

#[tokio::test]
async fn a_missing_command_fails_the_pod_saying_what_to_install() -> TestResult {
    let scratch = Scratch::new()?;
    let cluster = FakeCluster::new();
    let missing = scratch.0.join("no-such-dir/jupyterhub-singleuser");
    tokio::spawn(NotebookRunner::new(cluster.clone(), NS, config(5, missing, &scratch)).run());
    let pods: Api<Pod> = Api::namespaced(cluster.client(), NS);
    pods.create(
        &PostParams::default(),
        &notebook_pod("jupyter-none", json!([]))?,
    )
    .await?;
    let failed = eventually("failed", || phase_is(&pods, "jupyter-none", "Failed")).await;
    let message = failed["message"].as_str().unwrap_or_default();
    assert!(message.contains("pip install jupyterhub"), "{failed}");
    assert!(
        message.contains("no-such-dir/jupyterhub-singleuser"),
        "{failed}"
    );
    assert_eq!(failed["reason"], "StartError");
    let terminated = &failed["containerStatuses"][0]["state"]["terminated"];
    assert_eq!(terminated["reason"], "StartError");
    assert_eq!(terminated["exitCode"], 128);
    assert!(
        failed.get("podIP").is_none(),
        "no address was given: {failed}"
    );
    assert!(
        log_of(&pods, "jupyter-none")
            .await
            .contains("pip install jupyterhub")
    );
    Ok(())
}

#[tokio::test]
async fn the_simulator_leaves_notebook_pods_to_the_runner() -> TestResult {
    let scratch = Scratch::new()?;
    let command = fake_singleuser(&scratch.0)?;
    let cluster = FakeCluster::new();
    let simulator = SimulatorConfig {
        start_after: Duration::from_millis(10),
        default_run: Duration::from_millis(10),
        ..SimulatorConfig::default()
    }
    .without_notebook_pods();
    assert_eq!(
        simulator.label_selector.as_deref(),
        Some("primehub.io/group,component!=singleuser-server")
    );
    tokio::spawn(PodSimulator::new(cluster.clone(), NS, simulator).run());
    tokio::spawn(NotebookRunner::new(cluster.clone(), NS, config(6, command, &scratch)).run());
    let pods: Api<Pod> = Api::namespaced(cluster.client(), NS);
    pods.create(
        &PostParams::default(),
        &notebook_pod("jupyter-nb", json!([]))?,
    )
    .await?;
    let job: Pod = serde_json::from_value(json!({
        "metadata": {"name": "job-1", "labels": {LABEL_GROUP: "phusers"}},
        "spec": {"containers": [{"name": "main", "image": "base", "args": ["echo done"]}]},
    }))?;
    pods.create(&PostParams::default(), &job).await?;
    // The simulator runs the job pod to the end…
    eventually("job-1 succeeded", || phase_is(&pods, "job-1", "Succeeded")).await;
    assert_eq!(log_of(&pods, "job-1").await, "done\n");
    // …and not the notebook pod, which the runner runs until it is deleted.
    let nb = eventually("jupyter-nb running", || {
        phase_is(&pods, "jupyter-nb", "Running")
    })
    .await;
    pod_ip(&nb)?;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let nb = status_of(&pods, "jupyter-nb").await;
    assert_eq!(nb["phase"], "Running", "not simulated to an end: {nb}");
    assert!(log_of(&pods, "jupyter-nb").await.contains("serving\n"));
    // The runner does not touch the job pod either (it has no notebook label).
    let job = status_of(&pods, "job-1").await;
    assert!(job.get("podIP").is_none(), "{job}");
    Ok(())
}
