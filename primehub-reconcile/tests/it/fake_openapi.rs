//! The fake cluster's OpenAPI documents with our CRDs, `fieldValidation`, schema validation and
//! kind checks over HTTP, and kubectl (`explain`, `apply` with its default validation) against
//! the fake — compared with the real kube-apiserver's output when `tools/kube-apiserver` runs
//! (`source <(tools/kube-apiserver/apiserver.sh env)`).
//!
//! kubectl comes from `PRIMEHUB_TEST_KUBECTL`, else `kubectl` on the PATH; without one the
//! kubectl test passes without running (it says so on stderr).

use std::path::PathBuf;
use std::process::Command;

use primehub_reconcile::fake::{FakeCluster, FakeServer};
use serde_json::{Value, json};

type TestResult = Result<(), Box<dyn std::error::Error>>;

async fn start(cluster: &FakeCluster) -> Result<FakeServer, Box<dyn std::error::Error>> {
    Ok(cluster.serve(tokio::net::TcpListener::bind("127.0.0.1:0").await?)?)
}

/// A throw-away CRD with one field per schema rule (the same CRD the comparison with the real
/// server used).
fn compat_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "compattests.compat.primehub.io"},
        "spec": {
            "group": "compat.primehub.io",
            "names": {"kind": "CompatTest", "listKind": "CompatTestList", "plural": "compattests", "singular": "compattest"},
            "scope": "Namespaced",
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {
                        "spec": {
                            "type": "object",
                            "required": ["name"],
                            "properties": {
                                "name": {"type": "string", "minLength": 2, "maxLength": 5, "pattern": "^[a-z]+$"},
                                "count": {"type": "integer", "minimum": 1, "maximum": 10},
                                "mode": {"type": "string", "enum": ["fast", "slow"]},
                                "tags": {"type": "array", "minItems": 1, "maxItems": 2, "items": {"type": "string"}},
                                "port": {"x-kubernetes-int-or-string": true},
                                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                                "nested": {"type": "object", "properties": {"inner": {"type": "string"}}},
                                "template": {"type": "object", "x-kubernetes-embedded-resource": true,
                                    "properties": {"spec": {"type": "object", "properties": {"a": {"type": "string"}}}}},
                            }
                        },
                        "status": {"type": "object", "properties": {"phase": {"type": "string"}}},
                    }
                }},
            }],
        },
    })
}

/// Requests straight to the fake's HTTP face (its axum router, in process).
struct Http {
    router: axum::Router,
}

struct Answer {
    status: u16,
    warnings: Vec<String>,
    body: Value,
}

impl Http {
    fn new(cluster: &FakeCluster) -> Http {
        Http {
            router: cluster.router(),
        }
    }

    async fn send(
        &self,
        method: axum::http::Method,
        path: &str,
        content_type: &str,
        body: &str,
    ) -> Result<Answer, Box<dyn std::error::Error>> {
        use tower::ServiceExt;
        let request = axum::http::Request::builder()
            .method(method)
            .uri(path)
            .header("Content-Type", content_type)
            .body(axum::body::Body::from(body.to_owned()))?;
        let response = self.router.clone().oneshot(request).await?;
        let status = response.status().as_u16();
        let warnings = response
            .headers()
            .get_all("warning")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Answer {
            status,
            warnings,
            body,
        })
    }

    async fn post(&self, path: &str, body: &str) -> Result<Answer, Box<dyn std::error::Error>> {
        self.send(axum::http::Method::POST, path, "application/json", body)
            .await
    }

    async fn get(&self, path: &str) -> Result<Value, Box<dyn std::error::Error>> {
        Ok(self
            .send(axum::http::Method::GET, path, "application/json", "")
            .await?
            .body)
    }
}

#[tokio::test]
async fn documents_follow_the_crds() -> TestResult {
    let cluster = FakeCluster::new();
    let http = Http::new(&cluster);

    let index = http.get("/openapi/v3").await?;
    let url = index["paths"]["apis/primehub.io/v1alpha1"]["serverRelativeURL"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        url.starts_with("/openapi/v3/apis/primehub.io/v1alpha1?hash="),
        "{url}"
    );
    let doc = http.get(&url).await?;
    let job = &doc["components"]["schemas"]["io.primehub.v1alpha1.PhJob"];
    assert_eq!(
        job["x-kubernetes-group-version-kind"],
        json!([{"group": "primehub.io", "kind": "PhJob", "version": "v1alpha1"}])
    );
    assert_eq!(
        job["properties"]["metadata"]["allOf"][0]["$ref"],
        "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    );
    assert!(index["paths"].get("apis/compat.primehub.io/v1").is_none());

    let created = http
        .post(
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            &compat_crd().to_string(),
        )
        .await?;
    assert_eq!(created.status, 201, "{}", created.body);
    let index = http.get("/openapi/v3").await?;
    let url = index["paths"]["apis/compat.primehub.io/v1"]["serverRelativeURL"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        url.contains("?hash="),
        "the new group-version is listed: {index}"
    );
    let doc = http.get(&url).await?;
    let spec = &doc["components"]["schemas"]["io.primehub.compat.v1.CompatTest"]["properties"]["spec"]
        ["properties"];
    assert_eq!(
        spec["port"]["anyOf"],
        json!([{"type": "integer"}, {"type": "string"}]),
        "int-or-string is unfolded in v3"
    );
    let post =
        &doc["paths"]["/apis/compat.primehub.io/v1/namespaces/{namespace}/compattests"]["post"];
    assert_eq!(
        post["operationId"],
        "createCompatPrimehubIoV1NamespacedCompatTest"
    );
    let params: Vec<&str> = post["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(
        params.contains(&"fieldValidation") && params.contains(&"dryRun"),
        "{params:?}"
    );
    let v2 = http.get("/openapi/v2").await?;
    let def = &v2["definitions"]["io.primehub.compat.v1.CompatTest"];
    assert_eq!(
        def["properties"]["spec"]["properties"]["port"],
        json!({"x-kubernetes-int-or-string": true})
    );
    assert!(
        v2["paths"]
            .get("/apis/compat.primehub.io/v1/namespaces/{namespace}/compattests/{name}/status")
            .is_some()
    );

    let deleted = http
        .send(
            axum::http::Method::DELETE,
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/compattests.compat.primehub.io",
            "application/json",
            "",
        )
        .await?;
    assert_eq!(deleted.status, 200);
    let index = http.get("/openapi/v3").await?;
    assert!(
        index["paths"].get("apis/compat.primehub.io/v1").is_none(),
        "gone with its CRD"
    );
    let v2 = http.get("/openapi/v2").await?;
    assert!(
        v2["definitions"]
            .get("io.primehub.compat.v1.CompatTest")
            .is_none()
    );
    Ok(())
}

#[tokio::test]
async fn field_validation_of_built_in_kinds() -> TestResult {
    let cluster = FakeCluster::new();
    let http = Http::new(&cluster);
    let cms = "/api/v1/namespaces/hub/configmaps";
    let body = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c1","ownerReferences":[{"apiVersion":"v1","kind":"X","name":"n","uid":"u","zz":1}]},"data":{"a":"b"},"data":{"c":"d"},"bad":1}"#;

    let strict = http
        .post(&format!("{cms}?fieldValidation=Strict"), body)
        .await?;
    assert_eq!(strict.status, 400);
    assert_eq!(
        strict.body["message"],
        "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: unknown field \"metadata.ownerReferences[0].zz\", duplicate field \"data\", unknown field \"bad\""
    );
    assert_eq!(
        strict.body["details"],
        Value::Null,
        "a BadRequest has no details"
    );

    let warn = http.post(cms, body).await?;
    assert_eq!(warn.status, 201);
    assert_eq!(
        warn.warnings,
        [
            r#"299 - "unknown field \"metadata.ownerReferences[0].zz\"""#,
            r#"299 - "duplicate field \"data\"""#,
            r#"299 - "unknown field \"bad\"""#,
        ]
    );
    assert_eq!(
        warn.body["data"],
        json!({"c": "d"}),
        "the last duplicate wins"
    );
    assert_eq!(warn.body.get("bad"), None, "unknown fields are not stored");
    assert_eq!(warn.body["metadata"]["ownerReferences"][0].get("zz"), None);

    let ignore = http
        .post(
            &format!("{cms}?fieldValidation=Ignore"),
            r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c2"},"bad":1}"#,
        )
        .await?;
    assert_eq!((ignore.status, ignore.warnings.len()), (201, 0));
    assert_eq!(ignore.body.get("bad"), None);

    let bogus = http
        .post(
            &format!("{cms}?fieldValidation=bogus"),
            r#"{"metadata":{"name":"c3"}}"#,
        )
        .await?;
    assert_eq!(bogus.status, 422);
    assert_eq!(
        bogus.body["message"],
        "CreateOptions.meta.k8s.io \"\" is invalid: fieldValidation: Unsupported value: \"bogus\": supported values: \"\", \"Ignore\", \"Strict\", \"Warn\""
    );

    let patch = http
        .send(
            axum::http::Method::PATCH,
            &format!("{cms}/c2?fieldValidation=Strict"),
            "application/merge-patch+json",
            r#"{"extra":1}"#,
        )
        .await?;
    assert_eq!(patch.status, 422);
    assert_eq!(patch.body["details"]["causes"][0]["field"], "patch");
    let message = patch.body["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with(" \"\" is invalid: patch: Invalid value: \"{")
            && message.ends_with("\": strict decoding error: unknown field \"extra\""),
        "{message}"
    );

    // The body's kind and apiVersion.
    let secret = http
        .post(
            cms,
            r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"c4"}}"#,
        )
        .await?;
    assert_eq!(
        (secret.status, secret.body["message"].as_str()),
        (
            400,
            Some(
                "Secret in version \"v1\" cannot be handled as a ConfigMap: converting (v1.Secret) to (core.ConfigMap): unknown conversion"
            )
        )
    );
    let foo = http
        .post(
            cms,
            r#"{"apiVersion":"v1","kind":"Foo","metadata":{"name":"c4"}}"#,
        )
        .await?;
    assert_eq!(
        foo.body["message"],
        "Foo in version \"v1\" cannot be handled as a ConfigMap: no kind \"Foo\" is registered for version \"v1\" in scheme \"pkg/runtime/scheme.go:111\""
    );
    let bare = http.post(cms, r#"{"metadata":{"name":"c5"}}"#).await?;
    assert_eq!(
        bare.status, 201,
        "a built-in kind may leave kind and apiVersion out"
    );
    Ok(())
}

#[tokio::test]
async fn custom_resources_are_pruned_and_validated() -> TestResult {
    let cluster = FakeCluster::new();
    let http = Http::new(&cluster);
    let crd = http
        .post(
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            &compat_crd().to_string(),
        )
        .await?;
    assert_eq!(crd.status, 201);
    let path = "/apis/compat.primehub.io/v1/namespaces/hub/compattests";
    let body = r#"{"apiVersion":"compat.primehub.io/v1","kind":"CompatTest","metadata":{"name":"a","foo":1},"spec":{"name":"ab","foo":1,"nested":{"bar":2,"inner":"x"},"free":{"x":1},"name":"cd","template":{"apiVersion":"v1","kind":"X","metadata":{"foo":1},"junk":2}},"top":1}"#;
    let strict = http
        .post(&format!("{path}?fieldValidation=Strict"), body)
        .await?;
    assert_eq!(
        strict.body["message"],
        "CompatTest in version \"v1\" cannot be handled as a CompatTest: strict decoding error: duplicate field \"spec.name\", unknown field \"metadata.foo\", unknown field \"spec.foo\", unknown field \"spec.nested.bar\", unknown field \"spec.template.junk\", unknown field \"top\", unknown field \"spec.template.metadata.foo\""
    );
    let warn = http.post(path, body).await?;
    assert_eq!(warn.status, 201, "{}", warn.body);
    assert_eq!(warn.warnings.len(), 7);
    assert_eq!(
        warn.body["spec"],
        json!({"name": "cd", "nested": {"inner": "x"}, "free": {"x": 1},
               "template": {"apiVersion": "v1", "kind": "X", "metadata": {}}})
    );

    let invalid = http
        .post(
            path,
            r#"{"apiVersion":"compat.primehub.io/v1","kind":"CompatTest","metadata":{"name":"b"},"spec":{"name":"abcdefg","count":11,"tags":["a","b","c"],"mode":"m","port":1.5}}"#,
        )
        .await?;
    assert_eq!(invalid.status, 422);
    assert_eq!(invalid.body["details"]["name"], "b");
    assert_eq!(invalid.body["details"]["kind"], "CompatTest");
    let mut causes: Vec<String> = invalid.body["details"]["causes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| format!("{} {} {}", c["field"], c["reason"], c["message"]))
        .collect();
    causes.sort();
    assert_eq!(
        causes,
        [
            r#""spec.count" "FieldValueInvalid" "Invalid value: 11: spec.count in body should be less than or equal to 10""#,
            r#""spec.mode" "FieldValueNotSupported" "Unsupported value: \"m\": supported values: \"fast\", \"slow\"""#,
            r#""spec.name" "FieldValueTooLong" "Too long: may not be more than 5 bytes""#,
            r#""spec.port" "FieldValueTypeInvalid" "Invalid value: \"number\": spec.port in body must be of type integer,string: \"number\"""#,
            r#""spec.tags" "FieldValueTooMany" "Too many: 3: must have at most 2 items""#,
        ]
    );

    let no_kind = http
        .post(path, r#"{"apiVersion":"compat.primehub.io/v1","metadata":{"name":"c"},"spec":{"name":"ab"}}"#)
        .await?;
    assert_eq!(
        no_kind.body["message"],
        "the object provided is unrecognized (must be of type CompatTest): Object 'Kind' is missing in '{\"apiVersion\":\"compat.primehub.io/v1\",\"metadata\":{\"name\":\"c\"},\"spec\":{\"name\":\"ab\"}}' ({\"apiVersion\":\"compat.primehub ...)"
    );
    let no_version = http
        .post(
            path,
            r#"{"kind":"CompatTest","metadata":{"name":"c"},"spec":{"name":"ab"}}"#,
        )
        .await?;
    assert_eq!(
        no_version.body["message"],
        "the API version in the data () does not match the expected API version (compat.primehub.io/v1)"
    );

    let status = http
        .send(
            axum::http::Method::PATCH,
            &format!("{path}/a/status"),
            "application/merge-patch+json",
            r#"{"status":{"phase":"p","bar":1}}"#,
        )
        .await?;
    assert_eq!(status.status, 200, "{}", status.body);
    assert_eq!(status.body["status"], json!({"phase": "p"}));
    assert_eq!(status.warnings, [r#"299 - "unknown field \"status.bar\"""#]);
    Ok(())
}

fn kubectl() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PRIMEHUB_TEST_KUBECTL") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("kubectl"))
        .find(|p| p.is_file())
}

fn run(kubectl: &PathBuf, kubeconfig: &str, args: &[&str]) -> (bool, String) {
    match Command::new(kubectl)
        .env("KUBECONFIG", kubeconfig)
        .env("HOME", std::env::temp_dir())
        .args(args)
        .output()
    {
        Ok(out) => (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        ),
        Err(e) => (false, e.to_string()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_explain_and_apply_as_against_a_real_server() -> TestResult {
    let Some(kubectl) = kubectl() else {
        eprintln!("no kubectl (PRIMEHUB_TEST_KUBECTL or PATH): kubectl checks skipped");
        return Ok(());
    };
    let cluster = FakeCluster::new();
    let server = start(&cluster).await?;
    let dir = std::env::temp_dir().join(format!("fake-openapi-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir)?;
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster: {{server: \"{}\"}}\ncontexts:\n- name: fake\n  context: {{cluster: fake, user: fake}}\ncurrent-context: fake\nusers:\n- name: fake\n  user: {{}}\n",
            server.url().trim_end_matches('/')
        ),
    )?;
    let fake_config = kubeconfig.to_string_lossy().into_owned();
    let real_config = std::env::var("PRIMEHUB_TEST_KUBECONFIG").ok();
    let k = kubectl.clone();
    let (fc, rc) = (fake_config.clone(), real_config.clone());
    tokio::task::spawn_blocking(move || -> Result<(), String> {
        for resource in ["pod.spec.containers", "deployment.spec.strategy", "phjob.spec"] {
            let (ok, fake) = run(&k, &fc, &["explain", resource]);
            assert!(ok, "kubectl explain {resource} against the fake: {fake}");
            assert!(fake.contains("FIELD:") && fake.contains("DESCRIPTION:"), "{fake}");
            if let Some(real_config) = &rc {
                let (ok, real) = run(&k, real_config, &["explain", resource]);
                if ok {
                    assert_eq!(fake, real, "kubectl explain {resource}: fake and real differ");
                } else {
                    eprintln!("kubectl explain {resource} failed on the real server: {real}");
                }
            }
        }

        if let Some(real_config) = &rc {
            // Our CRDs' documents are kube-apiserver's (the real server has them installed by
            // the real-tier tests: `primehub crds | kubectl apply -f -`).
            let path = "/openapi/v3/apis/primehub.io/v1alpha1";
            let (ok_real, real) = run(&k, real_config, &["get", "--raw", path]);
            let (ok_fake, fake) = run(&k, &fc, &["get", "--raw", path]);
            assert!(ok_fake, "{fake}");
            if ok_real {
                let real: Value = serde_json::from_str(&real).map_err(|e| e.to_string())?;
                let fake: Value = serde_json::from_str(&fake).map_err(|e| e.to_string())?;
                for part in ["paths", "components", "info"] {
                    assert!(real[part] == fake[part], "{path}: {part} differ from the real server's");
                }
            }
        }

        let bad = dir.join("bad.yaml");
        std::fs::write(
            &bad,
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: applied, namespace: hub}\ndata: {a: b}\nbogus: 1\n",
        )
        .map_err(|e| e.to_string())?;
        let (ok, out) = run(&k, &fc, &["apply", "-f", &bad.to_string_lossy()]);
        assert!(!ok, "kubectl apply with an unknown field must fail: {out}");
        assert!(
            out.contains("strict decoding error: unknown field \"bogus\""),
            "{out}"
        );
        let good = dir.join("good.yaml");
        std::fs::write(
            &good,
            "apiVersion: primehub.io/v1alpha1\nkind: PhJob\nmetadata: {name: applied, namespace: hub}\nspec: {command: x, displayName: x, groupId: g, groupName: g, image: i, instanceType: it, userId: u}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: applied, namespace: hub}\ndata: {a: b}\n",
        )
        .map_err(|e| e.to_string())?;
        let (ok, out) = run(&k, &fc, &["apply", "-f", &good.to_string_lossy()]);
        assert!(ok, "kubectl apply of valid objects: {out}");
        let (ok, out) = run(&k, &fc, &["apply", "-f", &good.to_string_lossy()]);
        assert!(ok && out.contains("unchanged"), "a second apply: {out}");
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    })
    .await??;
    server.shutdown().await;
    Ok(())
}
