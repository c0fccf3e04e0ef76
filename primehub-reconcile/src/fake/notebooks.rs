//! Notebook pods as local processes: what `primehub dev` runs so JupyterHub (with KubeSpawner)
//! can spawn a real single-user server against the fake cluster, which has no kubelet.
//!
//! [`NotebookRunner`] watches the pods of one namespace labelled
//! [`NOTEBOOK_POD_SELECTOR`] (`component=singleuser-server`, KubeSpawner's label). For each new
//! pod (no phase yet or `Pending`, not being deleted) it:
//!
//! 1. allocates a loopback address of its own from [`NotebookRunnerConfig::first_address`] ..=
//!    [`last_address`](NotebookRunnerConfig::last_address) (default `127.77.0.1` ..=
//!    `127.77.255.254`; never `127.0.0.1`), round-robin, skipping addresses in use and any it
//!    cannot bind on the container's port (the pod fails when the loopback does not answer the
//!    range, or when 64 addresses in a row cannot bind the port — something on
//!    `0.0.0.0:<port>`). An address stays reserved until its process has ended **and** the pod
//!    is gone;
//! 2. resolves the command: [`NotebookRunnerConfig::command`] (a path, or a bare name looked
//!    up on `PATH`), else `jupyterhub-singleuser` on `PATH`. When there is none the pod goes
//!    `Failed` (reason `StartError`) with a message saying what to install
//!    (`pip install jupyterhub jupyter_server`);
//! 3. runs it as `<command> --ip=<address> --port=<port> [extra args]`, where the port is the
//!    `notebook` container's first `containerPort` (the first container when none is named
//!    `notebook`; 8888, KubeSpawner's, when it declares none). The pod's container command and
//!    image are not used: the runner always runs the single-user server. The process:
//!    - inherits this process's environment except `JUPYTERHUB_*`, `JUPYTER_*`, `JPY_*` and
//!      the `XDG_*` base directories, then gets the container's plain `env` values (a
//!      `valueFrom` entry is skipped with a log line; `$(VAR)` references are not expanded);
//!    - runs in a working directory of its own (under [`NotebookRunnerConfig::work_root`],
//!      default a fresh directory in the system's temporary directory), which is also its
//!      `HOME` and `JUPYTERHUB_ROOT_DIR`, so it never touches the user's home;
//!    - gets `JUPYTERHUB_SERVICE_URL` rewritten to `http://<address>:<port><prefix>` (prefix:
//!      the URL's own path, else `JUPYTERHUB_SERVICE_PREFIX`, else `/`): `jupyterhub-singleuser`
//!      6 refuses to start without it and takes its bind address from it, though `--ip` and
//!      `--port` win;
//!    - is the leader of a new process group, so stopping it stops what it started;
//!    - has its standard output and error written, line by line, to the container's pod log
//!      ([`FakeCluster::append_pod_log`]), ended when it exits;
//! 4. writes the pod's status: `Pending` with `podIP`/`podIPs` (the address), `hostIP`/`hostIPs`
//!    (`127.0.0.1`), `startTime` and the containers waiting (`ContainerCreating`); `Running`
//!    with every condition `True` and the containers running and ready once the server answers
//!    any HTTP request on `address:port` (`GET <path of JUPYTERHUB_SERVICE_URL>`, polled with a doubling interval from
//!    [`NotebookRunnerConfig::ready_poll`] up to [`ready_poll_max`](NotebookRunnerConfig::ready_poll_max));
//!    `Succeeded` when the process exits with 0, `Failed` otherwise (the container `terminated`
//!    with the exit code — 128 + the signal's number for a signal — and reason `Completed` or
//!    `Error`);
//! 5. when the pod is deleted (the watch reports it gone, or a `deletionTimestamp`), sends
//!    `SIGTERM` to the process group, then `SIGKILL` after the pod's
//!    `terminationGracePeriodSeconds` (30 s by default) capped by
//!    [`NotebookRunnerConfig::max_grace_period`], and reaps the process.
//!
//! Dropping [`NotebookRunner::run`]'s future (aborting its task, stopping the runtime) kills
//! every process group it started (`SIGKILL`) and removes the working directories it created.
//!
//! Differences from a kubelet, on purpose: the pod stays `Pending` until the server answers
//! (a kubelet reports `Running` with the container not ready); a container is never restarted
//! (PrimeHub's notebook pods say `restartPolicy: OnFailure`); other containers of the pod are
//! not run, their status mirrors the notebook container's; status timestamps come from the
//! cluster's [`Clock`](primehub_model::clock::Clock), waits from tokio's clock. Unix only;
//! addresses other than `127.0.0.1` need a loopback that answers all of `127.0.0.0/8` (Linux
//! does; macOS needs `ifconfig lo0 alias <address>`).
//!
//! The pod simulator ([`super::kubelet`]) must leave these pods alone while the runner runs:
//! see [`SimulatorConfig::without_notebook_pods`](super::kubelet::SimulatorConfig::without_notebook_pods).

use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Container, Pod};
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use super::FakeCluster;

/// The label selector of notebook pods: KubeSpawner labels every single-user server pod
/// `component=singleuser-server`.
pub const NOTEBOOK_POD_SELECTOR: &str = "component=singleuser-server";

/// The label key of [`NOTEBOOK_POD_SELECTOR`].
pub const NOTEBOOK_COMPONENT_LABEL: &str = "component";

/// The label value of [`NOTEBOOK_POD_SELECTOR`].
pub const NOTEBOOK_COMPONENT: &str = "singleuser-server";

/// The command run when none is configured, looked up on `PATH`.
pub const DEFAULT_COMMAND: &str = "jupyterhub-singleuser";

/// The name of the notebook container in KubeSpawner's pods.
pub const NOTEBOOK_CONTAINER: &str = "notebook";

/// The port of the single-user server when the container declares none (KubeSpawner's).
pub const DEFAULT_PORT: u16 = 8888;

/// What to install when the command is missing (part of the pod's failure message).
pub const INSTALL_HINT: &str = "install JupyterHub's single-user server (`pip install jupyterhub jupyter_server`) \
     where `primehub dev` finds it on PATH, or name it with `--notebook-command <path>` \
     (PRIMEHUB_DEV_NOTEBOOK_COMMAND)";

/// The host address reported in `status.hostIP`.
const HOST_IP: &str = "127.0.0.1";

/// How the runner behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotebookRunnerConfig {
    /// The command to run: a path, or a name looked up on `PATH`; `None` (the default):
    /// [`DEFAULT_COMMAND`] on `PATH`. Resolved for each pod, so installing it later works.
    pub command: Option<PathBuf>,
    /// Arguments after `--ip` and `--port` (default: `--allow-root` when this process runs as
    /// root, which `jupyterhub-singleuser` otherwise refuses).
    pub extra_args: Vec<String>,
    /// The pods run (default [`NOTEBOOK_POD_SELECTOR`]).
    pub label_selector: String,
    /// The first address handed out (default `127.77.0.1`).
    pub first_address: Ipv4Addr,
    /// The last address handed out (default `127.77.255.254`).
    pub last_address: Ipv4Addr,
    /// The longest grace period between `SIGTERM` and `SIGKILL` (default 30 s).
    pub max_grace_period: Duration,
    /// The first wait between readiness probes (default 50 ms); it doubles after each.
    pub ready_poll: Duration,
    /// The longest wait between readiness probes (default 200 ms: a probe is one local HTTP
    /// request, and every wait here is added to JupyterHub's spawn time).
    pub ready_poll_max: Duration,
    /// Where the per-pod working directories go; `None` (the default): a fresh directory in
    /// the system's temporary directory, removed when the runner stops.
    pub work_root: Option<PathBuf>,
}

impl Default for NotebookRunnerConfig {
    fn default() -> Self {
        let extra_args = if rustix::process::geteuid().is_root() {
            vec!["--allow-root".to_owned()]
        } else {
            Vec::new()
        };
        NotebookRunnerConfig {
            command: None,
            extra_args,
            label_selector: NOTEBOOK_POD_SELECTOR.to_owned(),
            first_address: Ipv4Addr::new(127, 77, 0, 1),
            last_address: Ipv4Addr::new(127, 77, 255, 254),
            max_grace_period: Duration::from_secs(30),
            ready_poll: Duration::from_millis(50),
            ready_poll_max: Duration::from_millis(200),
            work_root: None,
        }
    }
}

/// Whether `path` is a regular file someone may execute.
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The command to run for `configured` (see [`NotebookRunnerConfig::command`]): a path with a
/// `/` is taken as it is, a bare name is looked up on `PATH`.
///
/// # Errors
///
/// A message naming what was looked for and what to install, when there is no such
/// executable.
pub fn resolve_command(configured: Option<&Path>) -> Result<PathBuf, String> {
    let wanted = configured.unwrap_or(Path::new(DEFAULT_COMMAND));
    if wanted.components().count() > 1 || wanted.is_absolute() {
        return if is_executable(wanted) {
            Ok(wanted.to_owned())
        } else {
            Err(format!(
                "the notebook command {} is not an executable file: {INSTALL_HINT}",
                wanted.display()
            ))
        };
    }
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .filter(|dir| !dir.as_os_str().is_empty())
            .map(|dir| dir.join(wanted))
            .find(|candidate| is_executable(candidate))
    });
    found.ok_or_else(|| {
        format!(
            "the notebook command {} was not found on PATH: {INSTALL_HINT}",
            wanted.display()
        )
    })
}

/// A pod the runner knows.
struct Tracked {
    /// Tells the pod's task to stop its process, with the grace period.
    stop: Option<oneshot::Sender<Duration>>,
    /// The pod's grace period (capped).
    grace: Duration,
    /// Its address, once allocated.
    address: Option<Ipv4Addr>,
    /// Its working directory, once created.
    dir: Option<PathBuf>,
    /// The pod is gone from the cluster.
    gone: bool,
    /// Its task has ended (the process, if any, is reaped).
    finished: bool,
}

#[derive(Default)]
struct State {
    pods: HashMap<String, Tracked>,
    in_use: HashSet<Ipv4Addr>,
    cursor: u32,
    /// The process groups not yet reaped, by pod uid.
    groups: HashMap<String, rustix::process::Pid>,
}

/// The runner of one namespace. See the [module docs](self).
#[derive(Clone)]
pub struct NotebookRunner {
    cluster: FakeCluster,
    namespace: String,
    config: Arc<NotebookRunnerConfig>,
    state: Arc<Mutex<State>>,
    root: PathBuf,
}

impl std::fmt::Debug for NotebookRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotebookRunner")
            .field("namespace", &self.namespace)
            .field("config", &self.config)
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

/// Kills the process groups still running and removes the working directories when the
/// runner's future is dropped.
struct Cleanup {
    state: Arc<Mutex<State>>,
    root: PathBuf,
    owns_root: bool,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        for (_, group) in state.groups.drain() {
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        }
        for tracked in state.pods.values() {
            if let Some(dir) = &tracked.dir {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
        state.pods.clear();
        state.in_use.clear();
        if self.owns_root {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

/// A child process leading its own process group: the group gets `SIGKILL` when this is
/// dropped before the child was reaped.
struct GroupChild {
    child: tokio::process::Child,
    group: Option<rustix::process::Pid>,
}

impl GroupChild {
    fn signal(&self, signal: rustix::process::Signal) {
        if let Some(group) = self.group {
            let _ = rustix::process::kill_process_group(group, signal);
        }
    }

    /// Waits for the child; afterwards kills what is left of its group, as a container's
    /// processes end with it.
    async fn wait(&mut self) -> std::io::Result<ExitStatus> {
        let status = self.child.wait().await;
        self.signal(rustix::process::Signal::KILL);
        self.group = None;
        status
    }
}

impl Drop for GroupChild {
    fn drop(&mut self) {
        self.signal(rustix::process::Signal::KILL);
    }
}

/// The container the runner reports on.
fn notebook_container(pod: &Pod) -> Option<&Container> {
    let containers = &pod.spec.as_ref()?.containers;
    containers
        .iter()
        .find(|c| c.name == NOTEBOOK_CONTAINER)
        .or_else(|| containers.first())
}

/// The port of `container`: its first `containerPort`, else [`DEFAULT_PORT`].
fn container_port(container: Option<&Container>) -> u16 {
    container
        .and_then(|c| c.ports.as_ref())
        .and_then(|ports| ports.first())
        .and_then(|p| u16::try_from(p.container_port).ok())
        .filter(|p| *p != 0)
        .unwrap_or(DEFAULT_PORT)
}

/// The container's plain `env` values, in order.
fn container_env(pod_name: &str, container: Option<&Container>) -> Vec<(String, String)> {
    let mut env = Vec::new();
    for var in container.and_then(|c| c.env.as_ref()).into_iter().flatten() {
        if var.value_from.is_some() {
            tracing::info!(
                pod = pod_name,
                name = %var.name,
                "notebook runner: env var with valueFrom is not passed to the local process"
            );
            continue;
        }
        env.push((var.name.clone(), var.value.clone().unwrap_or_default()));
    }
    env
}

/// Whether an inherited variable is dropped from the process's environment.
fn dropped_from_inherited(name: &str) -> bool {
    name.starts_with("JUPYTERHUB_")
        || name.starts_with("JUPYTER_")
        || name.starts_with("JPY_")
        || matches!(
            name,
            "XDG_DATA_HOME"
                | "XDG_CONFIG_HOME"
                | "XDG_CACHE_HOME"
                | "XDG_STATE_HOME"
                | "XDG_RUNTIME_DIR"
        )
}

/// The path the single-user server serves under: that of the pod's `JUPYTERHUB_SERVICE_URL`,
/// else `JUPYTERHUB_SERVICE_PREFIX`, else `/`.
fn service_path(env: &[(String, String)]) -> String {
    let value = |key: &str| {
        env.iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let from_url = value("JUPYTERHUB_SERVICE_URL").and_then(|url| {
        let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
        rest.find('/').map(|i| rest[i..].to_owned())
    });
    from_url
        .or_else(|| value("JUPYTERHUB_SERVICE_PREFIX").map(str::to_owned))
        .filter(|p| p.starts_with('/') && !p.contains(char::is_whitespace))
        .unwrap_or_else(|| "/".to_owned())
}

/// `JUPYTERHUB_SERVICE_URL` pointing at the runner's address: `http://<address>:<port><path>`.
fn service_url(env: &[(String, String)], address: Ipv4Addr, port: u16) -> String {
    format!("http://{address}:{port}{}", service_path(env))
}

/// Whether something answers an HTTP request for `path` on `addr` (any status).
async fn answers_http(addr: SocketAddr, path: &str, timeout: Duration) -> bool {
    let attempt = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut head = [0u8; 5];
        stream.read_exact(&mut head).await.ok()?;
        (&head == b"HTTP/").then_some(())
    };
    matches!(tokio::time::timeout(timeout, attempt).await, Ok(Some(())))
}

/// Writes each line of `reader` to the container's log.
async fn pump_log(
    reader: impl AsyncRead + Unpin,
    cluster: FakeCluster,
    namespace: String,
    pod: String,
    container: String,
) {
    let mut reader = BufReader::new(reader);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let text = String::from_utf8_lossy(&line);
                let text = text.strip_suffix('\n').unwrap_or(&text);
                let _ = cluster.append_pod_log(&namespace, &pod, &container, text);
            }
        }
    }
}

/// An exit status as a container's exit code: the code, or 128 + the signal.
fn exit_code(status: &ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(255)
}

/// How a pod's run ended.
enum Ending {
    /// The process exited by itself (or was stopped) with this exit code.
    Exited(i32),
    /// The process could not be started.
    StartError(String),
}

impl NotebookRunner {
    /// A runner for the notebook pods of `namespace` on `cluster`.
    pub fn new(
        cluster: FakeCluster,
        namespace: &str,
        config: NotebookRunnerConfig,
    ) -> NotebookRunner {
        let root = config.work_root.clone().unwrap_or_else(|| {
            std::env::temp_dir().join(format!(
                "primehub-dev-notebooks-{}-{}",
                std::process::id(),
                uuid::Uuid::new_v4().simple()
            ))
        });
        NotebookRunner {
            cluster,
            namespace: namespace.to_owned(),
            config: Arc::new(config),
            state: Arc::default(),
            root,
        }
    }

    /// The directory the per-pod working directories are made in.
    pub fn work_root(&self) -> &Path {
        &self.root
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Watches the notebook pods and runs each; never ends (spawn it). Dropping the future
    /// kills every process it started.
    pub async fn run(self) {
        let _cleanup = Cleanup {
            state: self.state.clone(),
            root: self.root.clone(),
            owns_root: self.config.work_root.is_none(),
        };
        let mut tasks: JoinSet<String> = JoinSet::new();
        let api: Api<Pod> = Api::namespaced(self.cluster.client(), &self.namespace);
        let config = watcher::Config::default().labels(&self.config.label_selector);
        let mut events = watcher(api, config).default_backoff().boxed();
        let mut listed: Option<HashSet<String>> = None;
        loop {
            tokio::select! {
                Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                    if let Ok(uid) = done {
                        self.finished(&uid);
                    }
                }
                event = events.try_next() => match event {
                    Ok(Some(watcher::Event::Apply(pod) | watcher::Event::InitApply(pod))) => {
                        if let (Some(seen), Some(uid)) = (listed.as_mut(), pod.metadata.uid.as_ref()) {
                            seen.insert(uid.clone());
                        }
                        self.observe(pod, &mut tasks);
                    }
                    Ok(Some(watcher::Event::Delete(pod))) => {
                        if let Some(uid) = pod.metadata.uid.as_deref() {
                            self.gone(uid);
                        }
                    }
                    Ok(Some(watcher::Event::Init)) => listed = Some(HashSet::new()),
                    Ok(Some(watcher::Event::InitDone)) => {
                        // A relist: the pods not listed again went while the watch was down.
                        if let Some(seen) = listed.take() {
                            let known: Vec<String> = self.lock().pods.keys().cloned().collect();
                            for uid in known.iter().filter(|u| !seen.contains(*u)) {
                                self.gone(uid);
                            }
                        }
                    }
                    Ok(None) => return,
                    Err(error) => tracing::debug!(%error, "notebook runner watch"),
                },
            }
        }
    }

    fn grace(&self, pod: &Pod) -> Duration {
        let seconds = pod
            .spec
            .as_ref()
            .and_then(|s| s.termination_grace_period_seconds)
            .unwrap_or(30);
        Duration::from_secs(u64::try_from(seconds).unwrap_or(0)).min(self.config.max_grace_period)
    }

    fn observe(&self, pod: Pod, tasks: &mut JoinSet<String>) {
        let Some(uid) = pod.metadata.uid.clone() else {
            return;
        };
        let mut state = self.lock();
        if let Some(tracked) = state.pods.get_mut(&uid) {
            if pod.metadata.deletion_timestamp.is_some()
                && let Some(stop) = tracked.stop.take()
            {
                let _ = stop.send(tracked.grace);
            }
            return;
        }
        let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
        if !matches!(phase, None | Some("Pending")) || pod.metadata.deletion_timestamp.is_some() {
            return;
        }
        let (tx, rx) = oneshot::channel();
        state.pods.insert(
            uid.clone(),
            Tracked {
                stop: Some(tx),
                grace: self.grace(&pod),
                address: None,
                dir: None,
                gone: false,
                finished: false,
            },
        );
        drop(state);
        let runner = self.clone();
        tasks.spawn(async move {
            runner.run_pod(pod, rx).await;
            uid
        });
    }

    /// The pod left the cluster: stop its process, forget it once its task is done.
    fn gone(&self, uid: &str) {
        let mut state = self.lock();
        if let Some(tracked) = state.pods.get_mut(uid) {
            tracked.gone = true;
            if let Some(stop) = tracked.stop.take() {
                let _ = stop.send(tracked.grace);
            }
        }
        retire(&mut state, uid);
    }

    fn finished(&self, uid: &str) {
        let mut state = self.lock();
        if let Some(tracked) = state.pods.get_mut(uid) {
            tracked.finished = true;
        }
        state.groups.remove(uid);
        retire(&mut state, uid);
    }

    /// Reserves an address whose `port` can be bound, round-robin from the cursor.
    ///
    /// # Errors
    ///
    /// A message when the range is used up, when the loopback does not answer the range
    /// (macOS without an alias), or when binding fails on many addresses in a row (something
    /// listens on the port of every address, `0.0.0.0:<port>` say).
    fn allocate(&self, uid: &str, port: u16) -> Result<Ipv4Addr, String> {
        /// Bind failures in a row before giving up.
        const TRIES: u32 = 64;
        let (first_address, last_address) = (self.config.first_address, self.config.last_address);
        let first = u32::from(first_address);
        let last = u32::from(last_address);
        let size = u64::from(last.saturating_sub(first)) + 1;
        let mut state = self.lock();
        let mut failures = 0;
        for step in 0..size {
            let offset = (u64::from(state.cursor) + step) % size;
            let Some(candidate) = u32::try_from(offset)
                .ok()
                .and_then(|o| first.checked_add(o))
                .filter(|c| *c <= last)
                .map(Ipv4Addr::from)
            else {
                continue;
            };
            if !candidate.is_loopback()
                || candidate == Ipv4Addr::LOCALHOST
                || state.in_use.contains(&candidate)
            {
                continue;
            }
            // Collision check: something else (another dev instance, a stale process) may
            // listen there.
            match std::net::TcpListener::bind((candidate, port)) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AddrNotAvailable => {
                    return Err(format!(
                        "cannot bind {candidate}:{port}: {e} (this system's loopback does not \
                         answer {first_address}-{last_address}; on macOS add an alias: \
                         sudo ifconfig lo0 alias {candidate})"
                    ));
                }
                Err(e) => {
                    failures += 1;
                    if failures >= TRIES {
                        return Err(format!(
                            "cannot bind port {port} on {TRIES} loopback addresses in a row, \
                             the last {candidate}: {e} (does something listen on 0.0.0.0:{port}?)"
                        ));
                    }
                    continue;
                }
            }
            state.cursor = u32::try_from((offset + 1) % size).unwrap_or(0);
            state.in_use.insert(candidate);
            if let Some(tracked) = state.pods.get_mut(uid) {
                tracked.address = Some(candidate);
            }
            return Ok(candidate);
        }
        Err(format!(
            "no free loopback address between {first_address} and {last_address} for port {port}"
        ))
    }

    fn now(&self) -> String {
        self.cluster.clock().now().to_string()
    }

    /// Merges `status` into pod `name` while it is still the pod `uid`; retried on conflicts.
    async fn set_status(&self, name: &str, uid: &str, status: &Value) -> bool {
        let api: Api<Pod> = Api::namespaced(self.cluster.client(), &self.namespace);
        for _ in 0..10 {
            let current = match api.get_opt(name).await {
                Ok(Some(pod)) => pod,
                _ => return false,
            };
            if current.metadata.uid.as_deref() != Some(uid) {
                return false;
            }
            let patch = json!({"metadata": {"resourceVersion": current.metadata.resource_version},
                               "status": status});
            match api
                .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => return true,
                Err(kube::Error::Api(e)) if e.code == 409 => continue,
                Err(error) => {
                    tracing::debug!(%error, pod = name, "notebook runner status write");
                    return false;
                }
            }
        }
        false
    }

    async fn run_pod(self, pod: Pod, mut stop: oneshot::Receiver<Duration>) {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let container = notebook_container(&pod);
        let container_name = container.map_or(NOTEBOOK_CONTAINER.to_owned(), |c| c.name.clone());
        let names: Vec<(String, String)> = pod
            .spec
            .iter()
            .flat_map(|s| s.containers.iter())
            .map(|c| (c.name.clone(), c.image.clone().unwrap_or_default()))
            .collect();
        let port = container_port(container);
        let env = container_env(&name, container);
        let probe_path = service_path(&env);
        let started = self.now();
        let ending = match self.start(&name, &uid, &container_name, port, env).await {
            Err(message) => Ending::StartError(message),
            Ok((mut child, address)) => {
                let ips = json!({
                    "hostIP": HOST_IP, "hostIPs": [{"ip": HOST_IP}],
                    "podIP": address.to_string(), "podIPs": [{"ip": address.to_string()}],
                });
                let waiting = container_states(&names, |_| {
                    json!({"ready": false, "started": false,
                           "state": {"waiting": {"reason": "ContainerCreating"}}})
                });
                let unready = format!("containers with unready status: [{container_name}]");
                let mut status = json!({"phase": "Pending", "startTime": started,
                "containerStatuses": waiting,
                "conditions": [
                    {"type": "PodScheduled", "status": "True", "lastTransitionTime": started},
                    {"type": "Initialized", "status": "True", "lastTransitionTime": started},
                    {"type": "ContainersReady", "status": "False", "reason": "ContainersNotReady",
                     "message": unready, "lastTransitionTime": started},
                    {"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                     "message": unready, "lastTransitionTime": started},
                ]});
                merge_into(&mut status, &ips);
                self.set_status(&name, &uid, &status).await;
                self.supervise(
                    &mut child,
                    &name,
                    &uid,
                    &names,
                    (address, port),
                    &probe_path,
                    &mut stop,
                )
                .await
            }
        };
        let finished = self.now();
        let (phase, code, reason, message) = match &ending {
            Ending::Exited(0) => ("Succeeded", 0, "Completed", None),
            Ending::Exited(code) => ("Failed", *code, "Error", None),
            Ending::StartError(message) => ("Failed", 128, "StartError", Some(message.clone())),
        };
        let terminated = container_states(&names, |_| {
            let mut terminated = json!({"exitCode": code, "reason": reason,
                                        "startedAt": started, "finishedAt": finished});
            if let Some(m) = &message {
                terminated["message"] = json!(m);
            }
            json!({"ready": false, "started": false, "state": {"terminated": terminated}})
        });
        let not_ready = if phase == "Succeeded" {
            "PodCompleted"
        } else {
            "ContainersNotReady"
        };
        let mut status = json!({"phase": phase, "containerStatuses": terminated, "conditions": [
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": started},
            {"type": "Initialized", "status": "True", "lastTransitionTime": started},
            {"type": "ContainersReady", "status": "False", "reason": not_ready, "lastTransitionTime": finished},
            {"type": "Ready", "status": "False", "reason": not_ready, "lastTransitionTime": finished},
        ]});
        if let Some(m) = &message {
            status["reason"] = json!("StartError");
            status["message"] = json!(m);
            tracing::warn!(pod = %name, "notebook runner: {m}");
            let _ = self
                .cluster
                .append_pod_log(&self.namespace, &name, &container_name, m);
        }
        self.set_status(&name, &uid, &status).await;
        let _ = self
            .cluster
            .finish_pod_log(&self.namespace, &name, &container_name);
    }

    /// Allocates the address and working directory and starts the process.
    async fn start(
        &self,
        name: &str,
        uid: &str,
        container: &str,
        port: u16,
        env: Vec<(String, String)>,
    ) -> Result<(GroupChild, Ipv4Addr), String> {
        let program = resolve_command(self.config.command.as_deref())?;
        let address = self.allocate(uid, port)?;
        let short: String = uid.chars().take(8).collect();
        let dir = self.root.join(format!("{}-{name}-{short}", self.namespace));
        if let Some(tracked) = self.lock().pods.get_mut(uid) {
            tracked.dir = Some(dir.clone());
        }
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("creating the working directory {}: {e}", dir.display()))?;
        let url = service_url(&env, address, port);
        let mut command = tokio::process::Command::new(&program);
        command
            .arg(format!("--ip={address}"))
            .arg(format!("--port={port}"))
            .args(&self.config.extra_args)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .process_group(0);
        for (key, _) in std::env::vars_os() {
            if key.to_str().is_some_and(dropped_from_inherited) {
                command.env_remove(&key);
            }
        }
        command
            .envs(env)
            .env("HOME", &dir)
            .env("JUPYTERHUB_ROOT_DIR", &dir)
            .env("JUPYTERHUB_SERVICE_URL", &url);
        let mut child = command
            .spawn()
            .map_err(|e| format!("starting {}: {e}", program.display()))?;
        let group = child
            .id()
            .and_then(|pid| i32::try_from(pid).ok())
            .and_then(rustix::process::Pid::from_raw);
        if let Some(group) = group {
            self.lock().groups.insert(uid.to_owned(), group);
        }
        tracing::info!(pod = name, %address, port, command = %program.display(), "notebook runner: started");
        let out = child.stdout.take();
        let err = child.stderr.take();
        let child = GroupChild { child, group };
        for reader in [
            out.map(|o| Box::new(o) as Box<dyn AsyncRead + Unpin + Send>),
            err.map(|e| Box::new(e) as Box<dyn AsyncRead + Unpin + Send>),
        ]
        .into_iter()
        .flatten()
        {
            tokio::spawn(pump_log(
                reader,
                self.cluster.clone(),
                self.namespace.clone(),
                name.to_owned(),
                container.to_owned(),
            ));
        }
        Ok((child, address))
    }

    /// Waits for the server to answer (then reports `Running`), for the process to end, or for
    /// the pod to be deleted (then stops the process); returns the exit code.
    #[allow(clippy::too_many_arguments)]
    async fn supervise(
        &self,
        child: &mut GroupChild,
        name: &str,
        uid: &str,
        names: &[(String, String)],
        target: (Ipv4Addr, u16),
        probe_path: &str,
        stop: &mut oneshot::Receiver<Duration>,
    ) -> Ending {
        let target = SocketAddr::from(target);
        let mut ready = false;
        let mut interval = self.config.ready_poll;
        loop {
            tokio::select! {
                status = child.wait() => {
                    return Ending::Exited(status.as_ref().map_or(255, exit_code));
                }
                grace = &mut *stop => {
                    let grace = grace.unwrap_or(Duration::ZERO);
                    return Ending::Exited(terminate(child, grace).await);
                }
                () = tokio::time::sleep(interval), if !ready => {
                    let timeout = self.config.ready_poll_max.max(Duration::from_secs(1));
                    if answers_http(target, probe_path, timeout).await {
                        ready = true;
                        let started_at = self.now();
                        let running = container_states(names, |_| json!({"ready": true, "started": true,
                            "state": {"running": {"startedAt": started_at}}}));
                        let status = json!({"phase": "Running", "containerStatuses": running,
                            "conditions": [
                                {"type": "PodScheduled", "status": "True", "lastTransitionTime": started_at},
                                {"type": "Initialized", "status": "True", "lastTransitionTime": started_at},
                                {"type": "ContainersReady", "status": "True", "lastTransitionTime": started_at},
                                {"type": "Ready", "status": "True", "lastTransitionTime": started_at},
                            ]});
                        self.set_status(name, uid, &status).await;
                        tracing::info!(pod = name, %target, "notebook runner: server answers");
                    } else {
                        interval = (interval * 2).min(self.config.ready_poll_max);
                    }
                }
            }
        }
    }
}

/// `SIGTERM` to the group, `SIGKILL` after `grace`; the exit code once reaped.
async fn terminate(child: &mut GroupChild, grace: Duration) -> i32 {
    child.signal(rustix::process::Signal::TERM);
    match tokio::time::timeout(grace, child.wait()).await {
        Ok(status) => status.as_ref().map_or(255, exit_code),
        Err(_) => {
            child.signal(rustix::process::Signal::KILL);
            child.wait().await.as_ref().map_or(255, exit_code)
        }
    }
}

/// Forgets pod `uid` once it is gone and its task is done: releases its address and removes
/// its working directory.
fn retire(state: &mut State, uid: &str) {
    let done = state.pods.get(uid).is_some_and(|t| t.gone && t.finished);
    if !done {
        return;
    }
    if let Some(tracked) = state.pods.remove(uid) {
        if let Some(address) = tracked.address {
            state.in_use.remove(&address);
        }
        if let Some(dir) = tracked.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A status entry for each container (name, image) with `fields` merged in.
fn container_states(containers: &[(String, String)], fields: impl Fn(&str) -> Value) -> Vec<Value> {
    containers
        .iter()
        .map(|(name, image)| {
            let mut entry = json!({"name": name, "image": image, "imageID": "", "restartCount": 0});
            merge_into(&mut entry, &fields(name));
            entry
        })
        .collect()
}

/// Copies the top-level fields of `from` into `into` (both objects).
fn merge_into(into: &mut Value, from: &Value) {
    if let (Some(into), Some(from)) = (into.as_object_mut(), from.as_object()) {
        for (k, v) in from {
            into.insert(k.clone(), v.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_service_url_points_at_the_runner_keeping_the_prefix() {
        let a = Ipv4Addr::new(127, 77, 0, 3);
        let env = pairs(&[("JUPYTERHUB_SERVICE_URL", "http://0.0.0.0:8888/user/alice/")]);
        assert_eq!(
            service_url(&env, a, 8888),
            "http://127.77.0.3:8888/user/alice/"
        );
        let env = pairs(&[("JUPYTERHUB_SERVICE_PREFIX", "/user/bob/")]);
        assert_eq!(
            service_url(&env, a, 9000),
            "http://127.77.0.3:9000/user/bob/"
        );
        let env = pairs(&[
            ("JUPYTERHUB_SERVICE_URL", "http://0.0.0.0:8888"),
            ("JUPYTERHUB_SERVICE_PREFIX", "/user/c/"),
        ]);
        assert_eq!(service_url(&env, a, 8888), "http://127.77.0.3:8888/user/c/");
        assert_eq!(service_url(&[], a, 8888), "http://127.77.0.3:8888/");
    }

    #[test]
    fn inherited_jupyter_and_xdg_variables_are_dropped() {
        assert!(dropped_from_inherited("JUPYTERHUB_API_TOKEN"));
        assert!(dropped_from_inherited("JUPYTER_CONFIG_DIR"));
        assert!(dropped_from_inherited("JPY_API_TOKEN"));
        assert!(dropped_from_inherited("XDG_DATA_HOME"));
        assert!(!dropped_from_inherited("PATH"));
        assert!(!dropped_from_inherited("LANG"));
    }

    #[test]
    fn the_port_is_the_containers_first_or_8888() {
        let c: Container = serde_json::from_value(json!({"name": "notebook",
            "ports": [{"containerPort": 9999, "name": "notebook-port"}]}))
        .unwrap();
        assert_eq!(container_port(Some(&c)), 9999);
        let c: Container = serde_json::from_value(json!({"name": "notebook"})).unwrap();
        assert_eq!(container_port(Some(&c)), DEFAULT_PORT);
        assert_eq!(container_port(None), DEFAULT_PORT);
    }

    #[test]
    fn a_missing_command_names_what_to_install() {
        let err =
            resolve_command(Some(Path::new("/nonexistent/jupyterhub-singleuser"))).unwrap_err();
        assert!(err.contains("pip install jupyterhub"), "{err}");
        let err = resolve_command(Some(Path::new("no-such-command-primehub-xyz"))).unwrap_err();
        assert!(err.contains("not found on PATH"), "{err}");
        assert!(resolve_command(Some(Path::new("sh"))).is_ok());
    }
}
