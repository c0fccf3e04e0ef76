//! The Kubernetes OpenAPI documents of the built-in kinds the fake cluster serves.
//!
//! `openapi/kubernetes.json.gz` holds Kubernetes' own `swagger.json` (v2) and per group-version
//! v3 documents, from the k8s.io/kubernetes module of the version the real test tier runs
//! (`tools/kube-apiserver/go.mod`), cut down to the paths of the resources the fake serves and
//! the schemas they reference. `tools/openapi/update.py` regenerates it (see its header for how
//! to move to another Kubernetes minor). It is decompressed once, on first use.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::sync::LazyLock;

use serde::Deserialize;
use serde_json::Value;

static DOCUMENT: &[u8] = include_bytes!("openapi/kubernetes.json.gz");

/// The built-in kinds' OpenAPI documents.
#[derive(Debug)]
pub(crate) struct KubernetesOpenApi {
    /// The Kubernetes version they come from (`v1.37.2`).
    #[allow(dead_code)] // read by the tests
    pub(crate) kubernetes: String,
    /// The v2 (swagger) document.
    pub(crate) v2: Value,
    /// The v3 documents by group-version path (`api/v1`, `apis/apps/v1`).
    pub(crate) v3: BTreeMap<String, Value>,
    /// v2 definition names by (group, version, kind).
    by_gvk: HashMap<(String, String, String), String>,
}

#[derive(Deserialize)]
struct Stored {
    kubernetes: String,
    v2: Value,
    v3: BTreeMap<String, Value>,
}

static KUBERNETES: LazyLock<KubernetesOpenApi> = LazyLock::new(|| {
    let mut raw = Vec::new();
    // The document is part of the binary and checked by the tests: failing to read it is a
    // build defect, not an input error.
    #[allow(clippy::expect_used)]
    {
        flate2::read::GzDecoder::new(DOCUMENT)
            .read_to_end(&mut raw)
            .expect("the embedded OpenAPI document is valid gzip");
        let stored: Stored =
            serde_json::from_slice(&raw).expect("the embedded OpenAPI document is valid JSON");
        KubernetesOpenApi::new(stored)
    }
});

/// The built-in kinds' documents (decompressed on first use).
pub(crate) fn kubernetes() -> &'static KubernetesOpenApi {
    &KUBERNETES
}

impl KubernetesOpenApi {
    fn new(stored: Stored) -> KubernetesOpenApi {
        let mut by_gvk = HashMap::new();
        if let Some(definitions) = stored.v2.get("definitions").and_then(Value::as_object) {
            for (name, definition) in definitions {
                let Some(gvks) = definition
                    .get("x-kubernetes-group-version-kind")
                    .and_then(Value::as_array)
                else {
                    continue;
                };
                for gvk in gvks {
                    let field = |k: &str| gvk.get(k).and_then(Value::as_str).unwrap_or_default();
                    by_gvk.insert(
                        (
                            field("group").to_owned(),
                            field("version").to_owned(),
                            field("kind").to_owned(),
                        ),
                        name.clone(),
                    );
                }
            }
        }
        KubernetesOpenApi {
            kubernetes: stored.kubernetes,
            v2: stored.v2,
            v3: stored.v3,
            by_gvk,
        }
    }

    // The lookups below serve the strategic merge patch and validation (issue 10, in progress).
    /// The v2 definitions (`io.k8s.api.core.v1.Pod` → schema).
    #[allow(dead_code)]
    pub(crate) fn definitions(&self) -> Option<&serde_json::Map<String, Value>> {
        self.v2.get("definitions").and_then(Value::as_object)
    }

    /// The v2 definition name of a kind (`("", "v1", "Pod")` → `io.k8s.api.core.v1.Pod`).
    #[allow(dead_code)]
    pub(crate) fn definition_name(&self, group: &str, version: &str, kind: &str) -> Option<&str> {
        self.by_gvk
            .get(&(group.to_owned(), version.to_owned(), kind.to_owned()))
            .map(String::as_str)
    }

    /// The v2 definition `name`.
    #[allow(dead_code)]
    pub(crate) fn definition(&self, name: &str) -> Option<&Value> {
        self.definitions().and_then(|d| d.get(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::kinds::Kinds;

    #[test]
    fn every_served_built_in_kind_is_in_the_document() {
        let doc = kubernetes();
        assert!(doc.kubernetes.starts_with("v1."), "{}", doc.kubernetes);
        for sk in Kinds::standard().all() {
            if sk.kind.group == "primehub.io" {
                continue;
            }
            let name = doc
                .definition_name(&sk.kind.group, &sk.kind.version, &sk.kind.kind)
                .unwrap_or_else(|| panic!("{:?} has no definition", sk.kind));
            assert!(doc.definition(name).is_some(), "{name}");
            let gv = if sk.kind.group.is_empty() {
                format!("api/{}", sk.kind.version)
            } else {
                format!("apis/{}/{}", sk.kind.group, sk.kind.version)
            };
            let v3 = doc
                .v3
                .get(&gv)
                .unwrap_or_else(|| panic!("no v3 document for {gv}"));
            let paths = v3["paths"].as_object().map(|p| p.len()).unwrap_or_default();
            assert!(paths > 0, "{gv} has no paths");
            let plural_path = v3["paths"].as_object().is_some_and(|p| {
                p.keys()
                    .any(|k| k.ends_with(&format!("/{}", sk.kind.plural)))
            });
            assert!(plural_path, "{gv} lacks the paths of {}", sk.kind.plural);
        }
    }

    #[test]
    fn patch_metadata_is_in_the_definitions() {
        let doc = kubernetes();
        let spec = doc
            .definition("io.k8s.api.core.v1.PodSpec")
            .expect("PodSpec");
        let containers = &spec["properties"]["containers"];
        assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
        assert_eq!(containers["x-kubernetes-patch-strategy"], "merge");
    }
}
