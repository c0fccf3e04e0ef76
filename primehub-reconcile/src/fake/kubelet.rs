//! A small pod-lifecycle simulator for the fake cluster, which has no kubelet: what
//! `primehub dev` runs so a submitted job visibly goes Pending → Preparing → Running →
//! Succeeded. Tests leave it off and set pod phases themselves.
//!
//! For every pod of the namespace matching [`SimulatorConfig::label_selector`] that has no
//! phase yet or is `Pending`:
//!
//! 1. after [`SimulatorConfig::start_after`] it is `Running` (`startTime`, a running state for
//!    each container, conditions `Ready`/`ContainersReady`/`Initialized`/`PodScheduled`);
//! 2. its "run time" is the sum of the `sleep <seconds>` commands in its containers' command
//!    and arguments (a job's command `sleep 30; echo done` runs 31 s: PrimeHub prepends
//!    `sleep 1`), or [`SimulatorConfig::default_run`] when there is none; each `echo <text>`
//!    line is written to the first container's log when the pod starts;
//! 3. then it is `Succeeded` (exit code 0, reason `Completed`), or `Failed` (reason `Error`)
//!    when the script's last `exit <code>` is not 0; the log is ended.
//!
//! With [`SimulatorConfig::without_notebook_pods`] (what `primehub dev` uses while the notebook
//! runner, [`super::notebooks`], is on) notebook pods are not simulated.
//!
//! A pod deleted meanwhile is dropped; a pod a test already moved past `Pending` is left
//! alone. Times come from tokio's clock (the simulator sleeps), status timestamps from the
//! cluster's [`Clock`](primehub_model::clock::Clock).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::{Value, json};

use super::FakeCluster;

/// How the simulator behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulatorConfig {
    /// The pods it runs (default `primehub.io/group`: notebook and job pods).
    pub label_selector: Option<String>,
    /// How long a pod stays `Pending` (default 2 s).
    pub start_after: Duration,
    /// How long a pod runs when its command names no `sleep` (default 10 s).
    pub default_run: Duration,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        SimulatorConfig {
            label_selector: Some(primehub_model::names::LABEL_GROUP.to_owned()),
            start_after: Duration::from_secs(2),
            default_run: Duration::from_secs(10),
        }
    }
}

impl SimulatorConfig {
    /// The same, leaving notebook pods (`component=singleuser-server`, which
    /// [`NotebookRunner`](super::notebooks::NotebookRunner) runs) alone: `component!=singleuser-server`
    /// is added to the label selector.
    #[must_use]
    pub fn without_notebook_pods(mut self) -> Self {
        let exclusion = format!(
            "{}!={}",
            super::notebooks::NOTEBOOK_COMPONENT_LABEL,
            super::notebooks::NOTEBOOK_COMPONENT
        );
        self.label_selector = Some(match self.label_selector.take() {
            Some(selector) if !selector.trim().is_empty() => format!("{selector},{exclusion}"),
            _ => exclusion,
        });
        self
    }
}

/// What a pod's script asks of the simulator: its run time, its exit code and its output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    /// The sum of its `sleep` durations, if any.
    pub sleeps: Option<Duration>,
    /// The last `exit <code>`, else 0.
    pub exit_code: i32,
    /// The text of each `echo` command, in order.
    pub output: Vec<String>,
}

/// Reads the shell commands of `text` (lines and `;`-separated statements).
pub fn read_script(text: &str) -> Script {
    let mut sleeps: Option<Duration> = None;
    let mut exit_code = 0;
    let mut output = Vec::new();
    for statement in text.split(['\n', ';']).map(str::trim) {
        let mut words = statement.split_whitespace();
        match words.next() {
            Some("sleep") => {
                if let Some(seconds) = words.next().and_then(|w| w.parse::<f64>().ok())
                    && seconds.is_finite()
                    && seconds >= 0.0
                {
                    let d = Duration::from_secs_f64(seconds.min(1.0e9));
                    sleeps = Some(sleeps.unwrap_or_default().saturating_add(d));
                }
            }
            Some("exit") => {
                exit_code = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
            }
            Some("echo") => {
                let rest = statement["echo".len()..].trim();
                output.push(rest.trim_matches(['"', '\'']).to_owned());
            }
            _ => {}
        }
    }
    Script {
        sleeps,
        exit_code,
        output,
    }
}

fn pod_script(pod: &Pod) -> Script {
    let text: Vec<String> = pod
        .spec
        .iter()
        .flat_map(|s| s.containers.iter())
        .flat_map(|c| {
            c.command
                .iter()
                .flatten()
                .chain(c.args.iter().flatten())
                .cloned()
        })
        .collect();
    read_script(&text.join("\n"))
}

/// The simulator of one namespace. See the [module docs](self).
#[derive(Clone)]
pub struct PodSimulator {
    cluster: FakeCluster,
    namespace: String,
    config: SimulatorConfig,
    started: Arc<Mutex<HashSet<String>>>,
}

impl std::fmt::Debug for PodSimulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PodSimulator")
            .field("namespace", &self.namespace)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl PodSimulator {
    /// A simulator for the pods of `namespace` on `cluster`.
    pub fn new(cluster: FakeCluster, namespace: &str, config: SimulatorConfig) -> PodSimulator {
        PodSimulator {
            cluster,
            namespace: namespace.to_owned(),
            config,
            started: Arc::default(),
        }
    }

    /// Watches the pods and runs each; never ends (spawn it).
    pub async fn run(self) {
        let api: Api<Pod> = Api::namespaced(self.cluster.client(), &self.namespace);
        let mut config = watcher::Config::default();
        if let Some(selector) = &self.config.label_selector {
            config = config.labels(selector);
        }
        let mut pods = watcher(api, config)
            .default_backoff()
            .applied_objects()
            .boxed();
        loop {
            match pods.try_next().await {
                Ok(Some(pod)) => self.observe(pod),
                Ok(None) => return,
                Err(error) => tracing::debug!(%error, "pod simulator watch"),
            }
        }
    }

    fn observe(&self, pod: Pod) {
        let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
        if !matches!(phase, None | Some("Pending")) || pod.metadata.deletion_timestamp.is_some() {
            return;
        }
        let Some(uid) = pod.metadata.uid.clone() else {
            return;
        };
        let fresh = self
            .started
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(uid);
        if fresh {
            tokio::spawn(self.clone().simulate(pod));
        }
    }

    async fn simulate(self, pod: Pod) {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let containers: Vec<String> = pod
            .spec
            .iter()
            .flat_map(|s| s.containers.iter().map(|c| c.name.clone()))
            .collect();
        let script = pod_script(&pod);
        tokio::time::sleep(self.config.start_after).await;
        let started = self.now();
        let running: Vec<Value> = containers
            .iter()
            .map(|c| {
                json!({"name": c, "image": "", "imageID": "", "ready": true, "restartCount": 0,
                            "started": true, "state": {"running": {"startedAt": started}}})
            })
            .collect();
        let conditions = json!([
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": started},
            {"type": "Initialized", "status": "True", "lastTransitionTime": started},
            {"type": "ContainersReady", "status": "True", "lastTransitionTime": started},
            {"type": "Ready", "status": "True", "lastTransitionTime": started},
        ]);
        let status = json!({"phase": "Running", "startTime": started, "conditions": conditions,
                            "containerStatuses": running});
        if !self.set_status(&name, "Pending", status).await {
            return;
        }
        if let Some(first) = containers.first() {
            for line in &script.output {
                let _ = self
                    .cluster
                    .append_pod_log(&self.namespace, &name, first, line);
            }
        }
        tokio::time::sleep(script.sleeps.unwrap_or(self.config.default_run)).await;
        let finished = self.now();
        let (phase, reason) = if script.exit_code == 0 {
            ("Succeeded", "Completed")
        } else {
            ("Failed", "Error")
        };
        let terminated: Vec<Value> = containers
            .iter()
            .map(|c| {
                json!({"name": c, "image": "", "imageID": "", "ready": false, "restartCount": 0,
                            "started": false, "state": {"terminated": {"exitCode": script.exit_code,
                            "reason": reason, "startedAt": started, "finishedAt": finished}}})
            })
            .collect();
        let status = json!({"phase": phase, "containerStatuses": terminated, "conditions": [
            {"type": "Ready", "status": "False", "reason": "PodCompleted", "lastTransitionTime": finished},
            {"type": "ContainersReady", "status": "False", "reason": "PodCompleted", "lastTransitionTime": finished},
        ]});
        self.set_status(&name, "Running", status).await;
        for container in &containers {
            let _ = self
                .cluster
                .finish_pod_log(&self.namespace, &name, container);
        }
    }

    fn now(&self) -> String {
        self.cluster.clock().now().to_string()
    }

    /// Writes `status` if the pod is still in phase `from`; false when it is gone or a test
    /// moved it on.
    async fn set_status(&self, name: &str, from: &str, status: Value) -> bool {
        let api: Api<Pod> = Api::namespaced(self.cluster.client(), &self.namespace);
        let current = match api.get_opt(name).await {
            Ok(Some(pod)) => pod,
            _ => return false,
        };
        let phase = current
            .status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .unwrap_or("Pending");
        if phase != from || current.metadata.deletion_timestamp.is_some() {
            return false;
        }
        let patch = json!({"metadata": {"resourceVersion": current.metadata.resource_version},
                           "status": status});
        api.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_script_sleeps_echoes_and_exits() {
        let s = read_script("sleep 1\nsleep 30; echo \"done\"\necho   two words\nexit 3");
        assert_eq!(s.sleeps, Some(Duration::from_secs(31)));
        assert_eq!(s.exit_code, 3);
        assert_eq!(s.output, ["done", "two words"]);
        let s = read_script("python train.py");
        assert_eq!(s.sleeps, None);
        assert_eq!(s.exit_code, 0);
        assert!(s.output.is_empty());
        assert_eq!(
            read_script("sleep 0.5").sleeps,
            Some(Duration::from_millis(500))
        );
        assert_eq!(read_script("sleep -1; sleep x; sleep inf").sleeps, None);
    }
}
