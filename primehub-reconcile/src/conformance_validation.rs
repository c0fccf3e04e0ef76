//! Conformance checks of built-in kinds' validation (feature `conformance`): the answers
//! kube-apiserver v1.37 gives to a body whose fields have the wrong JSON type (400, Go's decode
//! error; for a patch, the 422 `patch` cause) and to objects that break a validation rule (422
//! `Invalid` with every cause). The same table runs against the fake (in process and over
//! HTTP) and against the real server (`tests/it/validation.rs`), so every message the fake's
//! `builtin_types` and `builtin_validation` write was confirmed by a real kube-apiserver.
//!
//! Each check takes a `kube::Client`, sends raw JSON (so wrong types reach the server), works in
//! a fresh namespace and **panics** naming the case whose answer differs.

use kube::Client;
use serde_json::{Value, json};

/// Runs every check, in order.
pub async fn run_all(client: &Client) {
    let ns = format!(
        "validation-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let (status, body) = send(
        client,
        "POST",
        "/api/v1/namespaces",
        &json!({"metadata": {"name": ns}}),
        "application/json",
    )
    .await;
    assert_eq!(status, 201, "conformance: creating the namespace: {body}");
    let mut failures = Vec::new();
    for case in cases() {
        let path = case.path.replace("@NS@", &ns);
        for dry_run in [false, true] {
            let path = if dry_run {
                format!("{path}?dryRun=All")
            } else {
                path.clone()
            };
            let (status, body) =
                send(client, case.method, &path, &case.body, case.content_type).await;
            if let Some(why) = case.differs(status, &body) {
                failures.push(format!("{} (dryRun: {dry_run}): {why}", case.name));
            }
        }
    }
    yaml_numbers(client, &ns, &mut failures).await;
    patches(client, &ns, &mut failures).await;
    quantities(client, &ns, &mut failures).await;
    let _ = send(
        client,
        "DELETE",
        &format!("/api/v1/namespaces/{ns}"),
        &Value::Null,
        "application/json",
    )
    .await;
    assert!(
        failures.is_empty(),
        "conformance: built-in validation differs from kube-apiserver v1.37.2:\n  {}",
        failures.join("\n  ")
    );
}

/// Sends `body` (JSON; `null` for none) and returns the status code and the JSON answer.
async fn send(
    client: &Client,
    method: &str,
    path: &str,
    body: &Value,
    content_type: &str,
) -> (u16, Value) {
    let (status, value, _) = send_with_warnings(client, method, path, body, content_type).await;
    (status, value)
}

/// Like [`send`], also returning the `Warning` headers' texts (`299 - "te\\"xt"` →
/// `te"xt`).
async fn send_with_warnings(
    client: &Client,
    method: &str,
    path: &str,
    body: &Value,
    content_type: &str,
) -> (u16, Value, Vec<String>) {
    let bytes = match body {
        Value::Null => Vec::new(),
        // A YAML body goes as written.
        Value::String(text) if content_type == "application/yaml" => text.clone().into_bytes(),
        other => other.to_string().into_bytes(),
    };
    let request = axum::http::Request::builder()
        .method(method)
        .uri(path)
        .header("Content-Type", content_type)
        .header("Accept", "application/json")
        .body(kube::client::Body::from(bytes));
    let request = match request {
        Ok(r) => r,
        Err(e) => panic!("conformance: building the request {method} {path}: {e}"),
    };
    let response = match client.send(request).await {
        Ok(r) => r,
        Err(e) => panic!("conformance: {method} {path}: {e}"),
    };
    let status = response.status().as_u16();
    let warnings = response
        .headers()
        .get_all("warning")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| {
            v.strip_prefix("299 - \"")
                .and_then(|t| t.strip_suffix('"'))
                .unwrap_or(v)
                .replace("\\\"", "\"")
        })
        .collect();
    let bytes = axum::body::to_bytes(axum::body::Body::new(response.into_body()), usize::MAX)
        .await
        .unwrap_or_default();
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, value, warnings)
}

/// One request and the answer kube-apiserver gives.
struct Case {
    name: &'static str,
    method: &'static str,
    path: &'static str,
    content_type: &'static str,
    body: Value,
    /// The status code, the Status `message` and the causes `(field, reason, message)`.
    code: u16,
    message: String,
    causes: Vec<(String, String, String)>,
}

impl Case {
    fn differs(&self, status: u16, body: &Value) -> Option<String> {
        let message = body.get("message").and_then(Value::as_str).unwrap_or("");
        let causes: Vec<(String, String, String)> = body
            .pointer("/details/causes")
            .and_then(Value::as_array)
            .map(|cs| {
                cs.iter()
                    .map(|c| {
                        let f = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
                        (f("field"), f("reason"), f("message"))
                    })
                    .collect()
            })
            .unwrap_or_default();
        if status != self.code || message != self.message || causes != self.causes {
            return Some(format!(
                "expected {} {:?} {:?}, got {status} {message:?} {causes:?}",
                self.code, self.message, self.causes
            ));
        }
        None
    }
}

const PODS: &str = "/api/v1/namespaces/@NS@/pods";
const DEPLOYMENTS: &str = "/apis/apps/v1/namespaces/@NS@/deployments";
const SERVICES: &str = "/api/v1/namespaces/@NS@/services";
const CLAIMS: &str = "/api/v1/namespaces/@NS@/persistentvolumeclaims";
const CONFIGMAPS: &str = "/api/v1/namespaces/@NS@/configmaps";
const SECRETS: &str = "/api/v1/namespaces/@NS@/secrets";
const DNS_LABEL: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const QUANTITY: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

fn pod(spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec})
}

fn containers(extra: Value) -> Value {
    let mut c = json!({"name": "c", "image": "busybox"});
    if let (Some(o), Some(e)) = (c.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            o.insert(k.clone(), v.clone());
        }
    }
    json!({ "containers": [c] })
}

fn deployment(spec: Value) -> Value {
    let mut s = json!({
        "selector": {"matchLabels": {"app": "d"}},
        "template": {"metadata": {"labels": {"app": "d"}},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}},
    });
    if let (Some(o), Some(e)) = (s.as_object_mut(), spec.as_object()) {
        for (k, v) in e {
            o.insert(k.clone(), v.clone());
        }
    }
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": s})
}

/// A 400 decode error of `kind` (core or apps, version v1).
fn decode(name: &'static str, path: &'static str, body: Value, kind: &str, why: &str) -> Case {
    Case {
        name,
        method: "POST",
        path,
        content_type: "application/json",
        body,
        code: 400,
        message: format!("{kind} in version \"v1\" cannot be handled as a {kind}: {why}"),
        causes: Vec::new(),
    }
}

/// A 422 of `qualified` `object` named by `what`, with `causes` `(field, reason, message)`.
fn invalid(
    name: &'static str,
    path: &'static str,
    body: Value,
    qualified: &str,
    object: &str,
    causes: &[(&str, &str, &str)],
) -> Case {
    let parts: Vec<String> = causes.iter().map(|(f, _, m)| format!("{f}: {m}")).collect();
    let detail = if parts.len() == 1 {
        parts[0].clone()
    } else {
        format!("[{}]", parts.join(", "))
    };
    Case {
        name,
        method: "POST",
        path,
        content_type: "application/json",
        body,
        code: 422,
        message: format!("{qualified} \"{object}\" is invalid: {detail}"),
        causes: causes
            .iter()
            .map(|(f, r, m)| ((*f).to_owned(), (*r).to_owned(), (*m).to_owned()))
            .collect(),
    }
}

fn cases() -> Vec<Case> {
    let go = "json: cannot unmarshal";
    let dns_label = format!("Invalid value: \"Bad_Name\": {DNS_LABEL}");
    vec![
        decode(
            "string replicas",
            DEPLOYMENTS,
            deployment(json!({"replicas": "three"})),
            "Deployment",
            &format!("{go} string into Go struct field DeploymentSpec.spec.replicas of type int32"),
        ),
        decode(
            "fractional replicas",
            DEPLOYMENTS,
            deployment(json!({"replicas": 1.5})),
            "Deployment",
            &format!(
                "{go} number 1.5 into Go struct field DeploymentSpec.spec.replicas of type int32"
            ),
        ),
        decode(
            "replicas beyond int32",
            DEPLOYMENTS,
            deployment(json!({"replicas": 3_000_000_000_u64})),
            "Deployment",
            &format!(
                "{go} number 3000000000 into Go struct field DeploymentSpec.spec.replicas of type int32"
            ),
        ),
        decode(
            "array for an object",
            DEPLOYMENTS,
            deployment(json!({"selector": []})),
            "Deployment",
            &format!(
                "{go} array into Go struct field DeploymentSpec.spec.selector of type v1.LabelSelector"
            ),
        ),
        decode(
            "object for an array",
            PODS,
            pod(json!({"containers": {}})),
            "Pod",
            &format!(
                "{go} object into Go struct field PodSpec.spec.containers of type []v1.Container"
            ),
        ),
        decode(
            "number for a string",
            PODS,
            pod(json!({"containers": [{"name": 5, "image": "busybox"}]})),
            "Pod",
            &format!(
                "{go} number into Go struct field Container.spec.containers.name of type string"
            ),
        ),
        decode(
            "string for a bool",
            PODS,
            pod(json!({"hostNetwork": "true", "containers": [{"name": "c", "image": "busybox"}]})),
            "Pod",
            &format!("{go} string into Go struct field PodSpec.spec.hostNetwork of type bool"),
        ),
        decode(
            "number for a named string type",
            PODS,
            pod(json!({"restartPolicy": 5, "containers": [{"name": "c", "image": "busybox"}]})),
            "Pod",
            &format!(
                "{go} number into Go struct field PodSpec.spec.restartPolicy of type v1.RestartPolicy"
            ),
        ),
        decode(
            "array for a map",
            PODS,
            pod(json!({"nodeSelector": [], "containers": [{"name": "c", "image": "busybox"}]})),
            "Pod",
            &format!(
                "{go} array into Go struct field PodSpec.spec.nodeSelector of type map[string]string"
            ),
        ),
        decode(
            "bool in an embedded struct's int-or-string",
            PODS,
            pod(containers(
                json!({"livenessProbe": {"httpGet": {"port": true}}}),
            )),
            "Pod",
            &format!(
                "{go} bool into Go struct field HTTPGetAction.spec.containers.livenessProbe.ProbeHandler.httpGet.port of type int32"
            ),
        ),
        decode(
            "a bad quantity",
            PODS,
            pod(containers(json!({"resources": {"limits": {"cpu": "abc"}}}))),
            "Pod",
            QUANTITY,
        ),
        decode(
            "a bad time",
            PODS,
            json!({"metadata": {"name": "p", "creationTimestamp": "yesterday"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}),
            "Pod",
            "parsing time \"yesterday\" as \"2006-01-02T15:04:05Z07:00\": cannot parse \"yesterday\" as \"2006\"",
        ),
        decode(
            "bad base64",
            SECRETS,
            json!({"metadata": {"name": "s"}, "data": {"a": "!!"}}),
            "Secret",
            "illegal base64 data at input byte 0",
        ),
        invalid(
            "a pod without containers",
            PODS,
            pod(json!({"containers": []})),
            "Pod",
            "p",
            &[("spec.containers", "FieldValueRequired", "Required value")],
        ),
        invalid(
            "a bad container name and no image",
            PODS,
            pod(json!({"containers": [{"name": "Bad_Name"}]})),
            "Pod",
            "p",
            &[
                ("spec.containers[0].name", "FieldValueInvalid", &dns_label),
                (
                    "spec.containers[0].image",
                    "FieldValueRequired",
                    "Required value",
                ),
            ],
        ),
        invalid(
            "bad ports",
            PODS,
            pod(containers(
                json!({"ports": [{"containerPort": 70000}, {"name": "HTTP", "containerPort": 80, "protocol": "TCPX"}]}),
            )),
            "Pod",
            "p",
            &[
                (
                    "spec.containers[0].ports[0].containerPort",
                    "FieldValueInvalid",
                    "Invalid value: 70000: must be between 1 and 65535, inclusive",
                ),
                (
                    "spec.containers[0].ports[1].name",
                    "FieldValueInvalid",
                    "Invalid value: \"HTTP\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
                ),
                (
                    "spec.containers[0].ports[1].name",
                    "FieldValueInvalid",
                    "Invalid value: \"HTTP\": must contain at least one letter (a-z)",
                ),
                (
                    "spec.containers[0].ports[1].protocol",
                    "FieldValueNotSupported",
                    "Unsupported value: \"TCPX\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
                ),
            ],
        ),
        invalid(
            "a mount of no volume, duplicate names and bad enums",
            PODS,
            pod(json!({"restartPolicy": "Sometimes", "containers": [
                {"name": "c", "image": "busybox", "imagePullPolicy": "Maybe", "volumeMounts": [{"name": "x", "mountPath": "/x"}]},
                {"name": "c", "image": "busybox"}]})),
            "Pod",
            "p",
            &[
                (
                    "spec.containers[0].volumeMounts[0].name",
                    "FieldValueNotFound",
                    "Not found: \"x\"",
                ),
                (
                    "spec.containers[0].imagePullPolicy",
                    "FieldValueNotSupported",
                    "Unsupported value: \"Maybe\": supported values: \"Always\", \"IfNotPresent\", \"Never\"",
                ),
                (
                    "spec.containers[1].name",
                    "FieldValueDuplicate",
                    "Duplicate value: \"c\"",
                ),
                (
                    "spec.restartPolicy",
                    "FieldValueNotSupported",
                    "Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
                ),
            ],
        ),
        invalid(
            "requests above limits",
            PODS,
            pod(containers(
                json!({"resources": {"limits": {"cpu": "1"}, "requests": {"cpu": "1.5"}}}),
            )),
            "Pod",
            "p",
            &[(
                "spec.containers[0].resources.requests",
                "FieldValueInvalid",
                "Invalid value: \"1500m\": must be less than or equal to cpu limit of 1",
            )],
        ),
        invalid(
            "a fractional extended resource",
            PODS,
            pod(containers(
                json!({"resources": {"limits": {"example.com/gpu": "0.5"}}}),
            )),
            "Pod",
            "p",
            &[
                (
                    "spec.containers[0].resources.limits[example.com/gpu]",
                    "FieldValueInvalid",
                    "Invalid value: \"500m\": must be an integer",
                ),
                // Requests default to the limits before validation.
                (
                    "spec.containers[0].resources.requests[example.com/gpu]",
                    "FieldValueInvalid",
                    "Invalid value: \"500m\": must be an integer",
                ),
            ],
        ),
        invalid(
            "a negative fractional extended resource",
            PODS,
            pod(containers(
                json!({"resources": {"limits": {"example.com/gpu": "-1.5"}}}),
            )),
            "Pod",
            "p",
            &[
                (
                    "spec.containers[0].resources.limits[example.com/gpu]",
                    "FieldValueInvalid",
                    "Invalid value: \"-1500m\": must be greater than or equal to 0",
                ),
                (
                    "spec.containers[0].resources.limits[example.com/gpu]",
                    "FieldValueInvalid",
                    "Invalid value: \"-1500m\": must be an integer",
                ),
                (
                    "spec.containers[0].resources.requests[example.com/gpu]",
                    "FieldValueInvalid",
                    "Invalid value: \"-1500m\": must be greater than or equal to 0",
                ),
                (
                    "spec.containers[0].resources.requests[example.com/gpu]",
                    "FieldValueInvalid",
                    "Invalid value: \"-1500m\": must be an integer",
                ),
            ],
        ),
        invalid(
            "an extended resource rounded to a fraction",
            PODS,
            pod(containers(
                json!({"resources": {"limits": {"example.com/gpu": "1.0001"}}}),
            )),
            "Pod",
            "p",
            &[
                (
                    "spec.containers[0].resources.limits[example.com/gpu]",
                    "FieldValueInvalid",
                    "Invalid value: \"1001m\": must be an integer",
                ),
                (
                    "spec.containers[0].resources.requests[example.com/gpu]",
                    "FieldValueInvalid",
                    "Invalid value: \"1001m\": must be an integer",
                ),
            ],
        ),
        invalid(
            "an extended resource requested without a limit",
            PODS,
            pod(containers(
                json!({"resources": {"requests": {"example.com/gpu": "1"}}}),
            )),
            "Pod",
            "p",
            &[(
                "spec.containers[0].resources.limits",
                "FieldValueRequired",
                "Required value: Limit must be set for non overcommitable resources",
            )],
        ),
        invalid(
            "an extended resource requested below its limit",
            PODS,
            pod(containers(
                json!({"resources": {"limits": {"example.com/gpu": "2"}, "requests": {"example.com/gpu": "1"}}}),
            )),
            "Pod",
            "p",
            &[(
                "spec.containers[0].resources.requests",
                "FieldValueInvalid",
                "Invalid value: \"1\": must be equal to example.com/gpu limit of 2",
            )],
        ),
        invalid(
            "hugepages not a multiple of the page size, without cpu or memory",
            PODS,
            pod(containers(
                json!({"resources": {"limits": {"hugepages-2Mi": "3Mi"}}}),
            )),
            "Pod",
            "p",
            &[
                (
                    "spec.containers[0].resources.limits[hugepages-2Mi]",
                    "FieldValueInvalid",
                    "Invalid value: \"3Mi\": 3Mi is not positive integer multiple of hugepages-2Mi",
                ),
                (
                    "spec.containers[0].resources.requests[hugepages-2Mi]",
                    "FieldValueInvalid",
                    "Invalid value: \"3Mi\": 3Mi is not positive integer multiple of hugepages-2Mi",
                ),
                (
                    "spec.containers[0].resources",
                    "FieldValueForbidden",
                    "Forbidden: HugePages require cpu or memory",
                ),
            ],
        ),
        invalid(
            "a requests.-prefixed extended resource",
            PODS,
            pod(containers(
                json!({"resources": {"limits": {"requests.example.com/gpu": "1"}}}),
            )),
            "Pod",
            "p",
            &[
                (
                    "spec.containers[0].resources.limits[requests.example.com/gpu]",
                    "FieldValueInvalid",
                    "Invalid value: \"requests.example.com/gpu\": doesn't follow extended resource name standard",
                ),
                (
                    "spec.containers[0].resources.requests[requests.example.com/gpu]",
                    "FieldValueInvalid",
                    "Invalid value: \"requests.example.com/gpu\": doesn't follow extended resource name standard",
                ),
            ],
        ),
        invalid(
            "a fractional extended resource in a deployment's template",
            DEPLOYMENTS,
            deployment(json!({"template": {"metadata": {"labels": {"app": "d"}},
                "spec": {"containers": [{"name": "c", "image": "busybox",
                    "resources": {"limits": {"example.com/gpu": "1.5"}, "requests": {"example.com/gpu": "1.5"}}}]}}})),
            "Deployment.apps",
            "d",
            &[
                (
                    "spec.template.spec.containers[0].resources.limits[example.com/gpu]",
                    "FieldValueInvalid",
                    "Invalid value: \"1500m\": must be an integer",
                ),
                (
                    "spec.template.spec.containers[0].resources.requests[example.com/gpu]",
                    "FieldValueInvalid",
                    "Invalid value: \"1500m\": must be an integer",
                ),
            ],
        ),
        invalid(
            "a bad label and no containers",
            PODS,
            json!({"metadata": {"name": "p", "labels": {"a": "b c"}}, "spec": {"containers": []}}),
            "Pod",
            "p",
            &[
                (
                    "metadata.labels",
                    "FieldValueInvalid",
                    "Invalid value: \"b c\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
                ),
                ("spec.containers", "FieldValueRequired", "Required value"),
            ],
        ),
        invalid(
            "negative replicas",
            DEPLOYMENTS,
            deployment(json!({"replicas": -1})),
            "Deployment.apps",
            "d",
            &[(
                "spec.replicas",
                "FieldValueInvalid",
                "Invalid value: -1: must be greater than or equal to 0",
            )],
        ),
        invalid(
            "a selector that does not match",
            DEPLOYMENTS,
            deployment(json!({"selector": {"matchLabels": {"app": "other"}}})),
            "Deployment.apps",
            "d",
            &[(
                "spec.template.metadata.labels",
                "FieldValueInvalid",
                "Invalid value: {\"app\":\"d\"}: `selector` does not match template `labels`",
            )],
        ),
        invalid(
            "no selector",
            DEPLOYMENTS,
            json!({"metadata": {"name": "d"}, "spec": {"template": {"metadata": {"labels": {"app": "d"}}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}),
            "Deployment.apps",
            "d",
            &[
                ("spec.selector", "FieldValueRequired", "Required value"),
                (
                    "spec.template.metadata.labels",
                    "FieldValueInvalid",
                    "Invalid value: {\"app\":\"d\"}: `selector` does not match template `labels`",
                ),
            ],
        ),
        invalid(
            "a template that may not restart",
            DEPLOYMENTS,
            deployment(
                json!({"template": {"metadata": {"labels": {"app": "d"}}, "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}),
            ),
            "Deployment.apps",
            "d",
            &[(
                "spec.template.spec.restartPolicy",
                "FieldValueNotSupported",
                "Unsupported value: \"Never\": supported values: \"Always\"",
            )],
        ),
        invalid(
            "bad service ports",
            SERVICES,
            json!({"metadata": {"name": "s"}, "spec": {"ports": [{"port": 0, "targetPort": "Bad"}, {"name": "b", "port": 80}]}}),
            "Service",
            "s",
            &[
                ("spec.ports[0].name", "FieldValueRequired", "Required value"),
                (
                    "spec.ports[0].port",
                    "FieldValueInvalid",
                    "Invalid value: 0: must be between 1 and 65535, inclusive",
                ),
                (
                    "spec.ports[0].targetPort",
                    "FieldValueInvalid",
                    "Invalid value: \"Bad\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
                ),
            ],
        ),
        invalid(
            "a service without ports",
            SERVICES,
            json!({"metadata": {"name": "s"}, "spec": {}}),
            "Service",
            "s",
            &[("spec.ports", "FieldValueRequired", "Required value")],
        ),
        invalid(
            "a claim without access modes or storage",
            CLAIMS,
            json!({"metadata": {"name": "c"}, "spec": {"resources": {"requests": {"storage": "0"}}}}),
            "PersistentVolumeClaim",
            "c",
            &[
                (
                    "spec.accessModes",
                    "FieldValueRequired",
                    "Required value: at least 1 access mode is required",
                ),
                (
                    "spec.resources[storage]",
                    "FieldValueInvalid",
                    "Invalid value: \"0\": must be greater than zero",
                ),
            ],
        ),
        invalid(
            "a claim with an unknown access mode",
            CLAIMS,
            json!({"metadata": {"name": "c"}, "spec": {"accessModes": ["ReadWriteSometimes"], "resources": {}}}),
            "PersistentVolumeClaim",
            "c",
            &[
                (
                    "spec.accessModes",
                    "FieldValueNotSupported",
                    "Unsupported value: \"ReadWriteSometimes\": supported values: \"ReadOnlyMany\", \"ReadWriteMany\", \"ReadWriteOnce\", \"ReadWriteOncePod\"",
                ),
                (
                    "spec.resources[storage]",
                    "FieldValueRequired",
                    "Required value",
                ),
            ],
        ),
        invalid(
            "a bad config key",
            CONFIGMAPS,
            json!({"metadata": {"name": "c"}, "data": {"a b": "1"}}),
            "ConfigMap",
            "c",
            &[(
                "data[a b]",
                "FieldValueInvalid",
                "Invalid value: \"a b\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
            )],
        ),
        invalid(
            "a docker config secret without its key",
            SECRETS,
            json!({"metadata": {"name": "s"}, "type": "kubernetes.io/dockerconfigjson", "data": {}}),
            "Secret",
            "s",
            &[(
                "data[.dockerconfigjson]",
                "FieldValueRequired",
                "Required value",
            )],
        ),
    ]
}

/// YAML bodies reach the decoder through Go's `float64`: a whole number written `2.0` is an
/// integer, a fraction is not.
async fn yaml_numbers(client: &Client, ns: &str, failures: &mut Vec<String>) {
    let path = format!("/apis/apps/v1/namespaces/{ns}/deployments?dryRun=All");
    for (replicas, code) in [("2.0", 201), ("1e1", 201), ("2.5", 400)] {
        let yaml = format!(
            "metadata:\n  name: from-yaml\nspec:\n  replicas: {replicas}\n  selector:\n    matchLabels: {{app: d}}\n  template:\n    metadata:\n      labels: {{app: d}}\n    spec:\n      containers: [{{name: c, image: busybox}}]\n"
        );
        let (status, body) = send(
            client,
            "POST",
            &path,
            &Value::String(yaml),
            "application/yaml",
        )
        .await;
        let ok = match code {
            201 => {
                status == 201
                    && body
                        .pointer("/spec/replicas")
                        .and_then(Value::as_i64)
                        .is_some()
            }
            _ => {
                status == 400
                    && body.get("message").and_then(Value::as_str)
                        == Some(
                            "Deployment in version \"v1\" cannot be handled as a Deployment: json: cannot unmarshal number 2.5 into Go struct field DeploymentSpec.spec.replicas of type int32",
                        )
            }
        };
        if !ok {
            failures.push(format!(
                "a YAML body with replicas {replicas}: expected {code}, got {status} {body}"
            ));
        }
    }
}

/// Patches: the patched object is decoded and validated like a body.
async fn patches(client: &Client, ns: &str, failures: &mut Vec<String>) {
    let path = format!("/apis/apps/v1/namespaces/{ns}/deployments");
    let (status, body) = send(
        client,
        "POST",
        &path,
        &deployment(json!({})),
        "application/json",
    )
    .await;
    if status != 201 {
        failures.push(format!("creating the deployment to patch: {status} {body}"));
        return;
    }
    let target = format!("{path}/d");
    let (status, body) = send(
        client,
        "PATCH",
        &target,
        &json!({"spec": {"replicas": "three"}}),
        "application/merge-patch+json",
    )
    .await;
    let message = body.get("message").and_then(Value::as_str).unwrap_or("");
    let start = " \"\" is invalid: patch: Invalid value: \"{";
    let end = "\": json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32";
    if status != 422 || !message.starts_with(start) || !message.ends_with(end) {
        failures.push(format!(
            "a merge patch to a string replicas: expected 422 {start}…{end}, got {status} {message:?}"
        ));
    }
    let (status, body) = send(
        client,
        "PATCH",
        &target,
        &json!({"spec": {"replicas": "x"}}),
        "application/strategic-merge-patch+json",
    )
    .await;
    let message = body.get("message").and_then(Value::as_str).unwrap_or("");
    let want = " \"\" is invalid: patch: Invalid value: \"map[spec:map[replicas:x]]\": unrecognized type: int32";
    if status != 422 || message != want {
        failures.push(format!(
            "a strategic merge patch to a string replicas: expected 422 {want:?}, got {status} {message:?}"
        ));
    }
    let (status, body) = send(
        client,
        "PATCH",
        &target,
        &json!({"spec": {"selector": []}}),
        "application/strategic-merge-patch+json",
    )
    .await;
    let message = body.get("message").and_then(Value::as_str).unwrap_or("");
    let want = " \"\" is invalid: patch: Invalid value: \"map[spec:map[selector:[]]]\": cannot restore struct from: slice";
    if status != 422 || message != want {
        failures.push(format!(
            "a strategic merge patch to an array selector: expected 422 {want:?}, got {status} {message:?}"
        ));
    }
    // An update: metadata, then the kind's rules, then the immutable fields, in one answer.
    let (status, body) = send(
        client,
        "PATCH",
        &target,
        &json!({"metadata": {"labels": {"a": "-x"}}, "spec": {"replicas": -3, "selector": {"matchLabels": {"app": "z"}}}}),
        "application/merge-patch+json",
    )
    .await;
    let message = body.get("message").and_then(Value::as_str).unwrap_or("");
    let want = "Deployment.apps \"d\" is invalid: [metadata.labels: Invalid value: \"-x\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?'), spec.replicas: Invalid value: -3: must be greater than or equal to 0, spec.template.metadata.labels: Invalid value: {\"app\":\"d\"}: `selector` does not match template `labels`, spec.selector: Invalid value: {\"matchLabels\":{\"app\":\"z\"}}: field is immutable]";
    if status != 422 || message != want {
        failures.push(format!(
            "an update breaking metadata, spec and immutable rules: expected 422 {want:?}, got {status} {message:?}"
        ));
    }
    let (status, body) = send(
        client,
        "PATCH",
        &target,
        &json!({"spec": {"replicas": -2}}),
        "application/merge-patch+json",
    )
    .await;
    let message = body.get("message").and_then(Value::as_str).unwrap_or("");
    let want = "Deployment.apps \"d\" is invalid: spec.replicas: Invalid value: -2: must be greater than or equal to 0";
    if status != 422 || message != want {
        failures.push(format!(
            "a merge patch to negative replicas: expected 422 {want:?}, got {status} {message:?}"
        ));
    }
}

/// What a write answers and stores at each `(pointer, want)`: the create's (or write's) answer
/// and the object read back agree with `want`.
async fn stored_quantities(
    client: &Client,
    failures: &mut Vec<String>,
    what: &str,
    (method, path, content_type): (&str, &str, &str),
    body: &Value,
    read: &str,
    expected: &[(&str, Value)],
) {
    let (status, answer) = send(client, method, path, body, content_type).await;
    if !(200..300).contains(&status) {
        failures.push(format!("{what}: expected a success, got {status} {answer}"));
        return;
    }
    let (_, stored) = send(client, "GET", read, &Value::Null, "application/json").await;
    for (pointer, want) in expected {
        for (side, object) in [("the answer", &answer), ("the stored object", &stored)] {
            let got = object.pointer(pointer).cloned().unwrap_or(Value::Null);
            if got != *want {
                failures.push(format!(
                    "{what}: {side} has {pointer} = {got}, expected {want}"
                ));
            }
        }
    }
}

/// Quantities: kube-apiserver decodes built-in objects into Go structs, so every
/// `resource.Quantity` is stored (and answered) as `Quantity.MarshalJSON` writes it — the
/// canonical form, or the text as sent when `ParseQuantity` kept it (`1e3`); the resource lists
/// of `core/v1` types are first rounded up to milli units (`SetDefaults_ResourceList`: `1.0001`
/// → `1001m`), a single Quantity (`emptyDir.sizeLimit`) is not. Dry runs answer the same. A
/// custom resource is stored as sent.
async fn quantities(client: &Client, ns: &str, failures: &mut Vec<String>) {
    let pods = format!("/api/v1/namespaces/{ns}/pods");
    let pod_body = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "quantities"},
    "spec": {
        "containers": [{"name": "c", "image": "busybox", "resources": {
            "limits": {"cpu": "1000m", "memory": "1.5Gi", "ephemeral-storage": "1.0001", "example.com/gpu": "1e3"},
            "requests": {"cpu": 0.5, "memory": "2048Ki"}}}],
        "initContainers": [{"name": "i", "image": "busybox", "resources": {"limits": {"cpu": "0.9995"}}}],
        "volumes": [{"name": "a", "emptyDir": {"sizeLimit": "0.0005"}}, {"name": "b", "emptyDir": {"sizeLimit": "1024Mi"}}],
    }});
    let pod_expected = [
        (
            "/spec/containers/0/resources/limits",
            json!({"cpu": "1", "memory": "1536Mi", "ephemeral-storage": "1001m", "example.com/gpu": "1e3"}),
        ),
        (
            "/spec/containers/0/resources/requests",
            json!({"cpu": "500m", "memory": "2Mi", "ephemeral-storage": "1001m", "example.com/gpu": "1e3"}),
        ),
        (
            "/spec/initContainers/0/resources",
            json!({"limits": {"cpu": "1"}, "requests": {"cpu": "1"}}),
        ),
        ("/spec/volumes/0/emptyDir/sizeLimit", json!("500u")),
        ("/spec/volumes/1/emptyDir/sizeLimit", json!("1Gi")),
    ];
    let (status, dry, warnings) = send_with_warnings(
        client,
        "POST",
        &format!("{pods}?dryRun=All"),
        &pod_body,
        "application/json",
    )
    .await;
    // The pod strategy warns about fractional bytes (in the stored, rounded form).
    let want: Vec<String> = ["limits", "requests"]
        .iter()
        .map(|l| format!("spec.containers[0].resources.{l}[ephemeral-storage]: fractional byte value \"1001m\" is invalid, must be an integer"))
        .collect();
    if warnings != want {
        failures.push(format!(
            "a dry-run pod with quantities: warnings {warnings:?}, expected {want:?}"
        ));
    }
    for (pointer, want) in &pod_expected {
        let got = dry.pointer(pointer).cloned().unwrap_or(Value::Null);
        if status != 201 || got != *want {
            failures.push(format!(
                "a dry-run pod with quantities: {status}, {pointer} = {got}, expected {want}"
            ));
        }
    }
    stored_quantities(
        client,
        failures,
        "a pod with quantities",
        ("POST", &pods, "application/json"),
        &pod_body,
        &format!("{pods}/quantities"),
        &pod_expected,
    )
    .await;

    let deployments = format!("/apis/apps/v1/namespaces/{ns}/deployments");
    let template = |limits: Value| {
        json!({"metadata": {"labels": {"app": "q"}},
        "spec": {"containers": [{"name": "c", "image": "busybox", "resources": {"limits": limits}}]}})
    };
    let deployment_body = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "quantities"},
        "spec": {"selector": {"matchLabels": {"app": "q"}}, "template": template(json!({"cpu": "100.0m", "memory": "0.5Gi"}))}});
    let at = "/spec/template/spec/containers/0/resources";
    let mut fractional = deployment_body.clone();
    if let Some(limits) =
        fractional.pointer_mut("/spec/template/spec/containers/0/resources/limits")
    {
        *limits = json!({"memory": "0.5"});
    }
    let (_, _, warnings) = send_with_warnings(
        client,
        "POST",
        &format!("{deployments}?dryRun=All"),
        &fractional,
        "application/json",
    )
    .await;
    let want = ["spec.template.spec.containers[0].resources.limits[memory]: fractional byte value \"500m\" is invalid, must be an integer".to_owned()];
    if warnings != want {
        failures.push(format!("a dry-run deployment with a fractional memory limit: warnings {warnings:?}, expected {want:?}"));
    }
    stored_quantities(
        client,
        failures,
        "a deployment with quantities",
        ("POST", &deployments, "application/json"),
        &deployment_body,
        &format!("{deployments}/quantities"),
        // Templates get no requests from their limits (only pods do).
        &[(at, json!({"limits": {"cpu": "100m", "memory": "512Mi"}}))],
    )
    .await;
    stored_quantities(
        client,
        failures,
        "a merge patch with quantities",
        (
            "PATCH",
            &format!("{deployments}/quantities"),
            "application/merge-patch+json",
        ),
        &json!({"spec": {"template": template(json!({"cpu": "1.5", "memory": "512Mi"}))}}),
        &format!("{deployments}/quantities"),
        &[
            (at, json!({"limits": {"cpu": "1500m", "memory": "512Mi"}})),
            ("/metadata/generation", json!(2)),
        ],
    )
    .await;
    // The same values written differently change nothing: no new generation.
    stored_quantities(
        client,
        failures,
        "a patch writing the same quantities",
        (
            "PATCH",
            &format!("{deployments}/quantities"),
            "application/merge-patch+json",
        ),
        &json!({"spec": {"template": template(json!({"cpu": "1500m", "memory": "0.5Gi"}))}}),
        &format!("{deployments}/quantities"),
        &[
            (at, json!({"limits": {"cpu": "1500m", "memory": "512Mi"}})),
            ("/metadata/generation", json!(2)),
        ],
    )
    .await;

    let statefulsets = format!("/apis/apps/v1/namespaces/{ns}/statefulsets");
    stored_quantities(client, failures, "a statefulset's claim template", ("POST", &statefulsets, "application/json"),
        &json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "quantities"},
            "spec": {"serviceName": "q", "selector": {"matchLabels": {"app": "q"}}, "template": template(json!({"memory": "1000Mi"})),
                "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "1.5Gi"}}}}]}}),
        &format!("{statefulsets}/quantities"),
        &[("/spec/volumeClaimTemplates/0/spec/resources/requests/storage", json!("1536Mi")),
          (&format!("{}/limits/memory", "/spec/template/spec/containers/0/resources"), json!("1000Mi"))]).await;

    let claims = format!("/api/v1/namespaces/{ns}/persistentvolumeclaims");
    stored_quantities(client, failures, "a claim's request", ("POST", &claims, "application/json"),
        &json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "quantities"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1024Mi"}}}}),
        &format!("{claims}/quantities"),
        &[("/spec/resources/requests/storage", json!("1Gi"))]).await;
    stored_quantities(
        client,
        failures,
        "a claim's status capacity",
        (
            "PATCH",
            &format!("{claims}/quantities/status"),
            "application/merge-patch+json",
        ),
        &json!({"status": {"capacity": {"storage": "1.5Gi"}}}),
        &format!("{claims}/quantities"),
        &[("/status/capacity/storage", json!("1536Mi"))],
    )
    .await;

    let volume = format!("quantities-{ns}");
    stored_quantities(client, failures, "a volume's capacity", ("POST", "/api/v1/persistentvolumes", "application/json"),
        &json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": volume},
            "spec": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "2048Mi"}, "hostPath": {"path": "/tmp/q"}}}),
        &format!("/api/v1/persistentvolumes/{volume}"),
        &[("/spec/capacity/storage", json!("2Gi"))]).await;
    let _ = send(
        client,
        "DELETE",
        &format!("/api/v1/persistentvolumes/{volume}"),
        &Value::Null,
        "application/json",
    )
    .await;
    // Its pv-protection finalizer, which a bare API server's absent controller-manager would
    // remove (the fake plays that controller): released so no volume is left behind.
    let _ = send(
        client,
        "PATCH",
        &format!("/api/v1/persistentvolumes/{volume}"),
        &json!({"metadata": {"finalizers": null}}),
        "application/merge-patch+json",
    )
    .await;

    // A custom resource keeps its text: kube-apiserver stores custom resources as JSON.
    let api = crate::kube_client::KubeClient::new(client.clone());
    if let Err(e) = crate::conformance::install_primehub_crds(&api).await {
        failures.push(format!("installing PrimeHub's CRDs: {e}"));
        return;
    }
    let instance_types = format!("/apis/primehub.io/v1alpha1/namespaces/{ns}/instancetypes");
    stored_quantities(client, failures, "a custom resource's quantity text", ("POST", &instance_types, "application/json"),
        &json!({"apiVersion": "primehub.io/v1alpha1", "kind": "InstanceType", "metadata": {"name": "quantities"},
            "spec": {"limits.cpu": 1, "limits.memory": "2048Mi", "requests.memory": "1000m"}}),
        &format!("{instance_types}/quantities"),
        &[("/spec/limits.memory", json!("2048Mi")), ("/spec/requests.memory", json!("1000m"))]).await;
}
