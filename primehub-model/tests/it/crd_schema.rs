//! Shape of the generated CustomResourceDefinitions: names, scope, status subresource, printer
//! columns, structural schemas.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps,
};
use primehub_model::crd;

fn find<'a>(crds: &'a [CustomResourceDefinition], kind: &str) -> &'a CustomResourceDefinition {
    crds.iter()
        .find(|c| c.spec.names.kind == kind)
        .unwrap_or_else(|| panic!("no CRD for {kind}"))
}

fn root_schema(crd: &CustomResourceDefinition) -> &JSONSchemaProps {
    crd.spec.versions[0]
        .schema
        .as_ref()
        .and_then(|s| s.open_api_v3_schema.as_ref())
        .expect("schema")
}

fn spec_schema(crd: &CustomResourceDefinition) -> &JSONSchemaProps {
    root_schema(crd)
        .properties
        .as_ref()
        .and_then(|p| p.get("spec"))
        .expect("spec schema")
}

#[test]
fn kinds_plurals_and_order() {
    let crds = crd::all();
    let got: Vec<(&str, &str)> = crds
        .iter()
        .map(|c| (c.spec.names.kind.as_str(), c.spec.names.plural.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("InstanceType", "instancetypes"),
            ("Image", "images"),
            ("Dataset", "datasets"),
            ("ImageSpec", "imagespecs"),
            ("ImageSpecJob", "imagespecjobs"),
            ("PhJob", "phjobs"),
            ("PhSchedule", "phschedules"),
            ("PhDeployment", "phdeployments"),
            ("PhApplication", "phapplications"),
            ("PhAppTemplate", "phapptemplates"),
            ("License", "licenses"),
            ("Announcement", "announcements"),
        ]
    );
    for c in &crds {
        assert_eq!(c.spec.group, "primehub.io");
        assert_eq!(c.spec.scope, "Namespaced");
        assert_eq!(c.spec.versions.len(), 1);
        assert_eq!(c.spec.versions[0].name, "v1alpha1");
        assert!(c.spec.versions[0].served && c.spec.versions[0].storage);
        assert_eq!(
            c.metadata.name.as_deref(),
            Some(format!("{}.primehub.io", c.spec.names.plural).as_str())
        );
    }
}

#[test]
fn status_subresource_exactly_where_primehub_has_it() {
    let crds = crd::all();
    let with_status = [
        "ImageSpec",
        "ImageSpecJob",
        "PhJob",
        "PhSchedule",
        "PhDeployment",
        // InfuseAI/primehub-controller api/v1alpha1/phapplication_types.go:
        // +kubebuilder:subresource:status
        "PhApplication",
        "License",
    ];
    for c in &crds {
        let has = c.spec.versions[0]
            .subresources
            .as_ref()
            .is_some_and(|s| s.status.is_some());
        assert_eq!(
            has,
            with_status.contains(&c.spec.names.kind.as_str()),
            "status subresource of {}",
            c.spec.names.kind
        );
    }
    // Image still declares `status` in its schema (a plain field).
    let props = root_schema(find(&crds, "Image"))
        .properties
        .as_ref()
        .expect("properties");
    assert!(props.contains_key("status"), "Image schema has status");
}

#[test]
fn printer_columns() {
    let crds = crd::all();
    let columns = |kind: &str| -> Vec<(String, String)> {
        find(&crds, kind).spec.versions[0]
            .additional_printer_columns
            .iter()
            .flatten()
            .map(|c| (c.name.clone(), c.json_path.clone()))
            .collect()
    };
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    };
    let age = ("Age", ".metadata.creationTimestamp");
    assert!(columns("InstanceType").is_empty());
    assert_eq!(
        columns("Image"),
        pairs(&[
            ("Type", ".spec.type"),
            ("Group", ".spec.groupName"),
            ("Status", ".status.jobCondition.phase"),
            age
        ])
    );
    assert_eq!(columns("Dataset"), pairs(&[("Type", ".spec.type"), age]));
    assert_eq!(
        columns("ImageSpec"),
        pairs(&[("Status", ".status.phase"), age])
    );
    assert_eq!(
        columns("ImageSpecJob"),
        pairs(&[("Status", ".status.phase"), age])
    );
    assert_eq!(
        columns("PhJob"),
        pairs(&[
            ("User", ".spec.userName"),
            ("Group", ".spec.groupName"),
            ("Status", ".status.phase"),
            age
        ])
    );
    assert_eq!(
        columns("PhSchedule"),
        pairs(&[
            ("User", ".spec.jobTemplate.spec.userName"),
            ("Group", ".spec.jobTemplate.spec.groupName"),
            ("Invalid", ".status.invalid"),
            ("NextRun", ".status.nextRunTime"),
            age
        ])
    );
    assert_eq!(
        columns("PhDeployment"),
        pairs(&[
            ("Status", ".status.phase"),
            ("Replicas", ".status.replicas"),
            ("Available", ".status.availableReplicas")
        ])
    );
    // InfuseAI/primehub-controller api/v1alpha1/phapplication_types.go printcolumns.
    assert_eq!(
        columns("PhApplication"),
        pairs(&[
            ("Group", ".spec.groupName"),
            ("Status", ".status.phase"),
            ("Message", ".status.message")
        ])
    );
    for kind in ["PhAppTemplate", "License", "Announcement"] {
        assert!(columns(kind).is_empty(), "{kind}");
    }
}

#[test]
fn instance_type_schema_is_flat_and_preserves_unknown_fields() {
    let crds = crd::all();
    let spec = spec_schema(find(&crds, "InstanceType"));
    assert_eq!(spec.x_kubernetes_preserve_unknown_fields, Some(true));
    let props = spec.properties.as_ref().expect("properties");
    for key in [
        "displayName",
        "description",
        "limits.cpu",
        "limits.memory",
        "limits.nvidia.com/gpu",
        "requests.cpu",
        "requests.memory",
        "requests.nvidia.com/gpu",
        "tolerations",
        "nodeSelector",
    ] {
        assert!(props.contains_key(key), "missing {key}");
    }
    assert_eq!(props["limits.cpu"].type_.as_deref(), Some("number"));
    assert_eq!(
        props["limits.nvidia.com/gpu"].type_.as_deref(),
        Some("integer")
    );
    let mut required = spec.required.clone().unwrap_or_default();
    required.sort();
    assert_eq!(required, ["limits.cpu", "limits.memory"]);
    for kind in ["Dataset", "Announcement"] {
        assert_eq!(
            spec_schema(find(&crds, kind)).x_kubernetes_preserve_unknown_fields,
            Some(true),
            "{kind}"
        );
    }
}

/// Every node of a structural schema has a type, unless it preserves unknown fields or is
/// int-or-string; no `anyOf`/`oneOf`/`allOf` remain from enums and options.
fn assert_structural(path: &str, s: &JSONSchemaProps) {
    let exempt = s.x_kubernetes_preserve_unknown_fields == Some(true)
        || s.x_kubernetes_int_or_string == Some(true);
    assert!(exempt || s.type_.is_some(), "{path} has no type");
    assert!(
        s.one_of.is_none() && s.all_of.is_none(),
        "{path} has oneOf/allOf"
    );
    if s.x_kubernetes_int_or_string != Some(true) {
        assert!(s.any_of.is_none(), "{path} has anyOf");
    }
    for (k, v) in s.properties.iter().flatten() {
        assert_structural(&format!("{path}.{k}"), v);
    }
    if let Some(items) = &s.items {
        let json = serde_json::to_value(items).expect("items");
        let items: JSONSchemaProps = serde_json::from_value(json).expect("single items schema");
        assert_structural(&format!("{path}[]"), &items);
    }
}

#[test]
fn schemas_are_structural() {
    for c in crd::all() {
        assert_structural(&c.spec.names.kind, root_schema(&c));
    }
}

#[test]
fn enum_fields_are_plain_strings() {
    let crds = crd::all();
    let status = |kind: &str| -> JSONSchemaProps {
        root_schema(find(&crds, kind))
            .properties
            .as_ref()
            .expect("props")["status"]
            .clone()
    };
    for kind in ["PhJob", "PhDeployment", "PhApplication", "ImageSpecJob"] {
        let phase = &status(kind).properties.expect("status props")["phase"];
        assert_eq!(phase.type_.as_deref(), Some("string"), "{kind}");
        assert!(
            phase.enum_.is_none(),
            "{kind} phase must accept unknown strings"
        );
    }
}

#[test]
fn yaml_is_multi_document() -> Result<(), Box<dyn std::error::Error>> {
    let crds = crd::all();
    let yaml = crd::to_yaml(&crds)?;
    assert!(yaml.starts_with("---\n"));
    assert_eq!(yaml.matches("\n---\n").count() + 1, crds.len());
    let mut parsed = Vec::new();
    for doc in serde_yaml_ng::Deserializer::from_str(&yaml) {
        let c: CustomResourceDefinition = serde::Deserialize::deserialize(doc)?;
        parsed.push(c);
    }
    assert_eq!(parsed, crds);
    assert_eq!(crd::to_yaml(&[])?, "");
    Ok(())
}
