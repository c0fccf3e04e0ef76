//! PrimeHub's job log route: `GET <appPrefix>/logs/namespaces/<namespace>/phjobs/<job>`, the
//! `logEndpoint` of a `PhJob` (primehub-console `ee/controllers/jobLogCtrl.ts`).
//!
//! * Credentials as the GraphQL routes take them (`Authorization: Bearer …`: the shared
//!   secret, an access token or an API token); none or bad: HTTP 401 `NOT_AUTH`.
//! * The shared-secret client and administrators read any job's log; a user only the logs of
//!   their groups' jobs (PrimeHub: members only, administrators included); otherwise HTTP 403
//!   `NOT_AUTH` "request not authorized". A job of another namespace, a missing job or one
//!   without a group: 404 `RESOURCE_NOT_FOUND`.
//! * The log of the job's pod (`status.podName`) through [`primehub_reconcile::KubeApi::logs`],
//!   as `text/plain`, one line per log line: `follow` (`true` unless `false` or `0`, as
//!   PrimeHub defaults it) keeps the response open and streams new lines until the container
//!   ends; `tailLines=<n>` only the last n lines. A job without a pod yet has an empty log
//!   (HTTP 200, no content); a pod that is gone is 404; a malformed `tailLines` 400.
//! * A failure after the first bytes ends the response (PrimeHub ends it too).

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use primehub_reconcile::{KubeError, LogOptions};
use serde::Deserialize;

use crate::auth::Caller;
use crate::router::{GraphqlService, authenticate, error_response};
use crate::schema::job::{find_job, may_see};

/// The route's path (axum syntax) below the app prefix.
pub const PHJOB_LOG_ROUTE: &str = "/logs/namespaces/{namespace}/phjobs/{job}";

/// Query parameters of a log read.
#[derive(Debug, Deserialize)]
pub struct LogParams {
    /// `true` (default) or `false`.
    pub follow: Option<String>,
    /// Only the last n lines.
    #[serde(rename = "tailLines")]
    pub tail_lines: Option<String>,
}

fn options(params: &LogParams) -> Result<LogOptions, String> {
    let follow = match params.follow.as_deref().map(str::trim) {
        None => true,
        Some("false" | "0" | "False" | "FALSE") => false,
        Some("true" | "1" | "" | "True" | "TRUE") => true,
        Some(other) => return Err(format!("follow: must be true or false, not {other:?}")),
    };
    let tail_lines = match params.tail_lines.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(n) => match n.parse::<i64>() {
            Ok(n) if n >= 0 => Some(n),
            _ => return Err(format!("tailLines: must be a whole number ≥ 0, not {n:?}")),
        },
    };
    Ok(LogOptions {
        follow,
        tail_lines,
        ..LogOptions::default()
    })
}

fn not_found(what: &str) -> Response {
    error_response(StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND", what)
}

/// `GET …/logs/namespaces/<namespace>/phjobs/<job>`.
pub async fn phjob_log(
    State(service): State<GraphqlService>,
    headers: HeaderMap,
    Path((namespace, job_id)): Path<(String, String)>,
    Query(params): Query<LogParams>,
) -> Response {
    let caller: Arc<Caller> = match authenticate(&service, &headers).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let options = match options(&params) {
        Ok(options) => options,
        Err(message) => return error_response(StatusCode::BAD_REQUEST, "BAD_REQUEST", &message),
    };
    let state = &service.state;
    if namespace != state.config.namespace {
        return not_found(&format!("phjobs.primehub.io \"{job_id}\" not found"));
    }
    let job = match find_job(state, &job_id).await {
        Ok(job) => job,
        Err(crate::Error::NotFound { .. }) => {
            return not_found(&format!("phjobs.primehub.io \"{job_id}\" not found"));
        }
        Err(e) => {
            tracing::error!(error = %e, job = %job_id, "reading a job for its log failed");
            return error_response(
                StatusCode::BAD_GATEWAY,
                e.code().as_str(),
                &e.public_message(),
            );
        }
    };
    if job.spec.group_id.is_empty() {
        return not_found(&format!("job {job_id} has no group"));
    }
    if !caller.is_client() && !may_see(&caller, &state.keycloak.snapshot(), &job.spec.group_id) {
        return error_response(StatusCode::FORBIDDEN, "NOT_AUTH", "request not authorized");
    }
    let Some(pod) = job
        .status
        .as_ref()
        .and_then(|s| s.pod_name.clone())
        .filter(|p| !p.is_empty())
    else {
        return text(Body::empty());
    };
    match state.kube.logs(&namespace, &pod, &options).await {
        Ok(lines) => {
            let body = lines
                .take_while(|line| {
                    if let Err(e) = line {
                        tracing::warn!(error = %e, "job log stream failed; ending the response");
                    }
                    futures::future::ready(line.is_ok())
                })
                .filter_map(|line| {
                    futures::future::ready(
                        line.ok()
                            .map(|l| Ok::<Bytes, std::io::Error>(Bytes::from(l + "\n"))),
                    )
                });
            text(Body::from_stream(body))
        }
        Err(KubeError::NotFound { .. }) => not_found(&format!("the pod of job {job_id} is gone")),
        Err(e @ (KubeError::Invalid { .. } | KubeError::BadRequest { .. })) => {
            error_response(StatusCode::BAD_REQUEST, "BAD_REQUEST", &e.to_string())
        }
        Err(e) => {
            tracing::error!(error = %e, job = %job_id, pod, "reading a job's log failed");
            error_response(
                StatusCode::BAD_GATEWAY,
                "API_UNAVAILABLE",
                "the log could not be read, try again",
            )
        }
    }
}

fn text(body: Body) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(follow: Option<&str>, tail: Option<&str>) -> LogParams {
        LogParams {
            follow: follow.map(str::to_owned),
            tail_lines: tail.map(str::to_owned),
        }
    }

    #[test]
    fn follow_is_the_default_and_tail_lines_must_be_a_count() {
        let o = options(&params(None, None)).expect("defaults");
        assert!(o.follow);
        assert_eq!(o.tail_lines, None);
        let o = options(&params(Some("false"), Some("10"))).expect("the SDK's");
        assert!(!o.follow);
        assert_eq!(o.tail_lines, Some(10));
        assert!(options(&params(Some("maybe"), None)).is_err());
        assert!(options(&params(None, Some("-1"))).is_err());
        assert!(options(&params(None, Some("ten"))).is_err());
    }
}
