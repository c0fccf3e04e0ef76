//! Pod logs in the fake cluster: the lines a test writes ([`FakeCluster::append_pod_log`]),
//! read back as kube-apiserver serves `GET …/pods/<name>/log`.
//!
//! The fake plays the kubelet for a pod once a test has written a line for any of its
//! containers (or ended one with [`FakeCluster::finish_pod_log`]). Until then it answers as
//! kube-apiserver does for a pod no kubelet runs (probed on v1.37.2 without nodes): an empty log
//! (HTTP 204) when the pod has no `spec.nodeName`, and NotFound — with the node's name in the
//! apiserver's wording, `pods "<node>" not found` — when it names a node.

use std::collections::BTreeMap;

use futures::StreamExt;
use jiff::{Timestamp, Unit};
use k8s_openapi::api::core::v1::Pod;
use serde_json::Value;
use tokio::sync::mpsc;

use super::FakeCluster;
use crate::api::validate_log_options as validate;
use crate::api::{LogOptions, LogStream, ResourceKind};
use crate::error::{KubeError, Result};

/// One line of a container's log.
#[derive(Debug, Clone)]
struct LogLine {
    at: Timestamp,
    text: String,
}

#[derive(Default)]
struct ContainerLog {
    lines: Vec<LogLine>,
    finished: bool,
    followers: Vec<mpsc::UnboundedSender<LogLine>>,
}

/// Every container log, by (pod uid, container): a pod created again under the same name starts
/// with an empty log.
#[derive(Default)]
pub(crate) struct Logs {
    by_container: BTreeMap<(String, String), ContainerLog>,
}

impl Logs {
    /// Ends every follow stream (server shutdown).
    pub(crate) fn close_followers(&mut self) {
        for log in self.by_container.values_mut() {
            log.followers.clear();
        }
    }

    fn has_pod(&self, uid: &str) -> bool {
        self.by_container.keys().any(|(u, _)| u == uid)
    }
}

/// What a log read answers.
pub(crate) enum LogAnswer {
    /// No kubelet serves the pod's log: HTTP 204 and no content.
    NoContent,
    /// The lines, and with `follow` the lines still to come.
    Lines(LogStream),
}

/// The pod's container names as the API server lists them: init, regular, ephemeral.
fn container_names(pod: &Value) -> (Vec<String>, usize) {
    let names = |field: &str| -> Vec<String> {
        pod.pointer(&format!("/spec/{field}"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|c| c.get("name")?.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let regular = names("containers");
    let count = regular.len();
    let mut all = names("initContainers");
    all.extend(regular);
    all.extend(names("ephemeralContainers"));
    (all, count)
}

/// The container a log read or write is about, as kube-apiserver chooses and checks it.
fn choose_container(pod_name: &str, pod: &Value, container: Option<&str>) -> Result<String> {
    let (all, regular) = container_names(pod);
    match container.filter(|c| !c.is_empty()) {
        Some(c) if all.iter().any(|n| n == c) => Ok(c.to_owned()),
        Some(c) => Err(KubeError::BadRequest {
            message: format!("container {c} is not valid for pod {pod_name}"),
        }),
        None if regular == 1 => pod
            .pointer("/spec/containers/0/name")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| KubeError::BadRequest {
                message: format!("a container name must be specified for pod {pod_name}"),
            }),
        None if regular == 0 => Err(KubeError::BadRequest {
            message: format!("a container name must be specified for pod {pod_name}"),
        }),
        None => Err(KubeError::BadRequest {
            message: format!(
                "a container name must be specified for pod {pod_name}, choose one of: [{}]",
                all.join(" ")
            ),
        }),
    }
}

/// A line as the kubelet sends it: with `timestamps`, RFC 3339 with nanoseconds (trailing
/// zeros trimmed) and a space first.
fn render(line: &LogLine, timestamps: bool) -> String {
    if timestamps {
        format!("{} {}", line.at, line.text)
    } else {
        line.text.clone()
    }
}

impl FakeCluster {
    fn pod_value(&self, namespace: &str, pod: &str) -> Result<Value> {
        let sk = self.served(&ResourceKind::of::<Pod>())?;
        self.get_value(&sk, Some(namespace), pod)
    }

    fn logs_lock(&self) -> std::sync::MutexGuard<'_, Logs> {
        self.inner
            .logs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Writes `line` to the log of `container` in the pod `namespace/pod`, stamped with the
    /// cluster's clock, as the container would print it: readers see it (followers at once).
    /// Text with line breaks is written as several lines.
    ///
    /// The fake plays the kubelet for a pod once a test has written a line for any of its
    /// containers (or ended one with [`finish_pod_log`](Self::finish_pod_log)). Before that it
    /// answers a log read as kube-apiserver v1.37 does for a pod no kubelet serves: an empty
    /// log (HTTP 204) without `spec.nodeName`, NotFound when the pod names a node. A follow
    /// stream ends at `finish_pod_log` or when the cluster closes its watches, not when the pod
    /// is deleted. A pod created again under the same name starts with an empty log.
    ///
    /// # Errors
    ///
    /// [`KubeError::NotFound`] for a missing pod, [`KubeError::BadRequest`] for a container
    /// the pod does not have, as a log read would answer.
    pub fn append_pod_log(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        line: &str,
    ) -> Result<()> {
        let object = self.pod_value(namespace, pod)?;
        let container = choose_container(pod, &object, Some(container))?;
        let uid = object
            .pointer("/metadata/uid")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let at = self.inner.clock.now();
        let mut logs = self.logs_lock();
        let log = logs.by_container.entry((uid, container)).or_default();
        for text in line.split('\n') {
            let line = LogLine {
                at,
                text: text.strip_suffix('\r').unwrap_or(text).to_owned(),
            };
            log.followers.retain(|f| f.send(line.clone()).is_ok());
            log.lines.push(line);
        }
        Ok(())
    }

    /// Ends the log of `container` (the container exited): follow streams end after the lines
    /// written so far, and later reads with `follow` return at once.
    ///
    /// # Errors
    ///
    /// As [`append_pod_log`](Self::append_pod_log).
    pub fn finish_pod_log(&self, namespace: &str, pod: &str, container: &str) -> Result<()> {
        let object = self.pod_value(namespace, pod)?;
        let container = choose_container(pod, &object, Some(container))?;
        let uid = object
            .pointer("/metadata/uid")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let mut logs = self.logs_lock();
        let log = logs.by_container.entry((uid, container)).or_default();
        log.finished = true;
        log.followers.clear();
        Ok(())
    }

    /// A log read, checked in the API server's order: options, pod, container, node.
    pub(crate) fn read_log(
        &self,
        namespace: &str,
        pod: &str,
        options: &LogOptions,
    ) -> Result<LogAnswer> {
        validate(pod, options)?;
        let object = self.pod_value(namespace, pod)?;
        let container = choose_container(pod, &object, options.container.as_deref())?;
        let uid = object
            .pointer("/metadata/uid")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let since = match (options.since_seconds, options.since_time) {
            (Some(seconds), _) => Some(
                self.inner
                    .clock
                    .now()
                    .saturating_sub(jiff::SignedDuration::from_secs(seconds))
                    .unwrap_or(Timestamp::MIN),
            ),
            (None, Some(at)) => Some(at.round(Unit::Second).unwrap_or(at)),
            (None, None) => None,
        };
        let mut logs = self.logs_lock();
        if !logs.has_pod(&uid) {
            return match object.pointer("/spec/nodeName").and_then(Value::as_str) {
                Some(node) if !node.is_empty() => Err(KubeError::NotFound {
                    what: format!("pods {node:?}"),
                }),
                _ => Ok(LogAnswer::NoContent),
            };
        }
        let log = logs.by_container.entry((uid, container)).or_default();
        let keep = move |line: &LogLine| since.is_none_or(|s| line.at >= s);
        let tail = options
            .tail_lines
            .and_then(|t| usize::try_from(t).ok())
            .unwrap_or(usize::MAX);
        let skip = log.lines.len().saturating_sub(tail);
        let timestamps = options.timestamps;
        let existing: Vec<Result<String>> = log.lines[skip..]
            .iter()
            .filter(|l| keep(l))
            .map(|l| Ok(render(l, timestamps)))
            .collect();
        let existing = futures::stream::iter(existing);
        if !options.follow || log.finished {
            return Ok(LogAnswer::Lines(existing.boxed()));
        }
        let (tx, rx) = mpsc::unbounded_channel();
        log.followers.push(tx);
        let future = futures::stream::unfold(rx, |mut rx| async move {
            let line = rx.recv().await?;
            Some((line, rx))
        })
        .filter(move |line| std::future::ready(keep(line)))
        .map(move |line| Ok(render(&line, timestamps)));
        Ok(LogAnswer::Lines(existing.chain(future).boxed()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubelet_timestamps_trim_trailing_zeros() -> std::result::Result<(), jiff::Error> {
        let line = |at: &str| LogLine {
            at: at.parse().unwrap_or(Timestamp::UNIX_EPOCH),
            text: "hello".into(),
        };
        assert_eq!(
            render(&line("2026-12-03T10:00:00Z"), true),
            "2026-12-03T10:00:00Z hello"
        );
        assert_eq!(
            render(&line("2026-12-03T10:00:00.120Z"), true),
            "2026-12-03T10:00:00.12Z hello"
        );
        assert_eq!(render(&line("2026-12-03T10:00:00Z"), false), "hello");
        Ok(())
    }

    #[test]
    fn options_are_checked_as_the_apiserver_checks_them() {
        let both = LogOptions {
            since_seconds: Some(5),
            since_time: Some(Timestamp::UNIX_EPOCH),
            ..LogOptions::default()
        };
        match validate("one", &both) {
            Err(KubeError::Invalid { message, causes }) => {
                assert_eq!(
                    message,
                    "PodLogOptions \"one\" is invalid: []: Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified"
                );
                assert_eq!(causes[0].reason, "FieldValueForbidden");
            }
            other => panic!("expected Invalid, got {other:?}"),
        }
        let two = LogOptions {
            tail_lines: Some(-1),
            since_seconds: Some(0),
            ..LogOptions::default()
        };
        match validate("one", &two) {
            Err(KubeError::Invalid { message, causes }) => {
                assert_eq!(causes.len(), 2);
                assert_eq!(
                    message,
                    "PodLogOptions \"one\" is invalid: [tailLines: Invalid value: -1: must be greater than or equal to 0, sinceSeconds: Invalid value: 0: must be greater than 0]"
                );
            }
            other => panic!("expected Invalid, got {other:?}"),
        }
        assert!(validate("one", &LogOptions::default()).is_ok());
    }
}
