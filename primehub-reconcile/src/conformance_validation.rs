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
    let bytes = axum::body::to_bytes(axum::body::Body::new(response.into_body()), usize::MAX)
        .await
        .unwrap_or_default();
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, value)
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
