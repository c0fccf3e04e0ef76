//! The upload server of a Dataset (PrimeHub's `dataset-upload` hook, reference
//! `primehub-controllers.md` §3.3): a Deployment, a Service and an Ingress, all named
//! `dataset-upload-<dataset>` and labelled `app=<that name>`, while the Dataset's annotation
//! `dataset.primehub.io/uploadServer` is exactly `"true"` (anything else: none, and existing
//! ones are removed — this is how PrimeHub stops the server).
//!
//! - **Deployment**: containers `tusd` (port 1080, `tusd --hooks-dir /srv/tusd-hooks
//!   -base-path <upload>/files/ -metrics-path <upload>/metrics -behind-proxy`, as root, the data
//!   at `/srv/tusd-data/data`, the hooks from the ConfigMap `primehub-dataset-upload-hooks`
//!   with mode 0755) and `web-front-end` (port 80, the data at `/srv/data`, env
//!   `PRIMEHUB_SCHEME`, `PRIMEHUB_DOMAIN`, `FRONT_END_PATH`, `TUSD_PATH`), where
//!   `browse = <prefix>/<namespace>/<dataset>/browse` and `upload = …/upload`.
//! - **Data volume** `tus-volume` by `spec.type`: `pv` the claim `dataset-<volumeName>`
//!   ([`Dataset::pvc_name`]; PrimeHub's hook uses `dataset-<metadata.name>`, the spawners
//!   `dataset-<volumeName>` — the console makes both equal, and where they differ the server
//!   must write where notebooks read, so this follows the spawners; the legacy
//!   `volumeName: hostpath:<path>` is a hostPath), `nfs` `spec.nfs`, `hostPath`
//!   `spec.hostPath.path`.
//! - **Service**: ClusterIP, ports `tus` 1080 and `flask` 80.
//! - **Ingress** (`networking.k8s.io/v1`): host the PrimeHub domain, TLS from the
//!   configuration, `browse` → 80 and `upload` → 1080 (`ImplementationSpecific`), the
//!   configured annotations plus, when the Dataset has the annotation
//!   `dataset.primehub.io/uploadServerAuthSecretName`, nginx's basic auth through that
//!   Secret (an htpasswd file under the key `auth`, which the API's
//!   `regenerateUploadServerSecret` rewrites; the Ingress only names it, so a new password
//!   changes none of these objects).
//!
//! The chart gives the `tusd` container the resources of
//! `datasetUpload.interface.webFrontEndImage.resources` and `web-front-end` those of
//! `datasetUpload.interface.tusd.resources` (crossed over in PrimeHub's hook); the defaults of
//! [`UploadServerConfig`] reproduce what the chart renders for each container.
//!
//! **Rules** (each an [`crate::Error::InvalidField`] naming the field):
//!
//! | field | rule |
//! |---|---|
//! | `spec.type` | `pv`, `nfs` or `hostPath` (PrimeHub renders an empty volume for the others, which the API server rejects) |
//! | `spec.nfs.server`, `spec.nfs.path` | present and not empty for `nfs` |
//! | `spec.hostPath.path` | present and an absolute path for `hostPath` |
//! | `metadata.annotations[dataset.primehub.io/uploadServerAuthSecretName]` | when present, not empty |
//! | `metadata.name` | `dataset-upload-<name>` is a Service name (≤ 63 characters, no `.`) |
//!
//! Whether the auth Secret exists is for the controller to check.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    ConfigMapVolumeSource, Container, ContainerPort, EnvVar, HostPathVolumeSource, NFSVolumeSource,
    PersistentVolumeClaimVolumeSource, PodSpec, PodTemplateSpec, ResourceRequirements,
    SecurityContext, Service, ServicePort, ServiceSpec, Volume, VolumeMount,
};
use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec, IngressTLS, ServiceBackendPort,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{check_derived_name, identity, invalid, map};
use crate::crd::dataset::{ANNOTATION_UPLOAD_SERVER, ANNOTATION_UPLOAD_SERVER_AUTH_SECRET_NAME};
use crate::crd::{Dataset, DatasetType};
use crate::error::Result;

/// The ConfigMap of tusd's hooks (the post-finish script), made by the chart.
pub const HOOKS_CONFIGMAP: &str = "primehub-dataset-upload-hooks";
/// The label `app=dataset-upload-<dataset>` on every child and in the selectors.
pub const LABEL_APP: &str = "app";
/// The nginx annotations that switch basic auth on (with the Secret's name in `auth-secret`).
pub const AUTH_ANNOTATIONS: [&str; 6] = [
    "nginx.ingress.kubernetes.io/proxy-body-size",
    "nginx.ingress.kubernetes.io/proxy-request-buffering",
    "nginx.ingress.kubernetes.io/ssl-redirect",
    "nginx.ingress.kubernetes.io/auth-type",
    "nginx.ingress.kubernetes.io/auth-secret",
    "nginx.ingress.kubernetes.io/auth-realm",
];

/// What the chart's values fill into the hook.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadServerConfig {
    /// The chart's `primehub.dataset.path` (default `/dataset`): the paths' prefix.
    pub path_prefix: String,
    /// `primehub.scheme` (default `http`).
    pub scheme: String,
    /// `primehub.domain`: the Ingress host and `PRIMEHUB_DOMAIN`.
    pub domain: String,
    /// `datasetUpload.interface.replicas` (default 1).
    pub replicas: i32,
    /// `tusd.image.repository:tag` (default `tusproject/tusd:v1.10.0`).
    pub tusd_image: String,
    /// `tusd.image.pullPolicy` (default `IfNotPresent`).
    pub tusd_pull_policy: String,
    /// The `tusd` container's resources (the chart: `datasetUpload.interface.webFrontEndImage.resources`,
    /// default 200m / 256Mi limits and requests).
    pub tusd_resources: ResourceRequirements,
    /// `datasetUpload.interface.webFrontEndImage.repository:tag`.
    pub front_end_image: String,
    /// `datasetUpload.interface.webFrontEndImage.pullPolicy` (default `IfNotPresent`).
    pub front_end_pull_policy: String,
    /// The `web-front-end` container's resources (the chart: `datasetUpload.interface.tusd.resources`,
    /// default 200m / 128Mi limits and requests).
    pub front_end_resources: ResourceRequirements,
    /// `ingress.annotations` (the chart's default: cookie affinity, class `nginx`, tls-acme).
    pub ingress_annotations: BTreeMap<String, String>,
    /// `ingress.tls` (default none).
    pub ingress_tls: Vec<IngressTLS>,
}

fn resources(cpu: &str, memory: &str) -> ResourceRequirements {
    let q = BTreeMap::from([
        ("cpu".to_owned(), Quantity(cpu.to_owned())),
        ("memory".to_owned(), Quantity(memory.to_owned())),
    ]);
    ResourceRequirements {
        limits: Some(q.clone()),
        requests: Some(q),
        ..ResourceRequirements::default()
    }
}

impl Default for UploadServerConfig {
    fn default() -> Self {
        UploadServerConfig {
            path_prefix: "/dataset".to_owned(),
            scheme: "http".to_owned(),
            domain: "primehub.local".to_owned(),
            replicas: 1,
            tusd_image: "tusproject/tusd:v1.10.0".to_owned(),
            tusd_pull_policy: "IfNotPresent".to_owned(),
            tusd_resources: resources("200m", "256Mi"),
            front_end_image: "infuseai/dataset-upload-web-front-end:d744507a5e".to_owned(),
            front_end_pull_policy: "IfNotPresent".to_owned(),
            front_end_resources: resources("200m", "128Mi"),
            ingress_annotations: map([
                ("ingress.kubernetes.io/affinity", "cookie"),
                ("kubernetes.io/ingress.class", "nginx"),
                ("kubernetes.io/tls-acme", "true"),
            ]),
            ingress_tls: Vec::new(),
        }
    }
}

/// The three children of an upload server.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadServer {
    /// tusd and the browser.
    pub deployment: Deployment,
    /// Ports 1080 and 80.
    pub service: Service,
    /// `browse` and `upload` on the domain.
    pub ingress: Ingress,
}

/// The children's name for the Dataset named `dataset`.
pub fn resource_name(dataset: &str) -> String {
    format!("dataset-upload-{dataset}")
}

/// Whether the Dataset asks for an upload server: `dataset.primehub.io/uploadServer` is
/// exactly `"true"` (PrimeHub's hook compares the string).
pub fn wanted(dataset: &Dataset) -> bool {
    dataset.annotation(ANNOTATION_UPLOAD_SERVER) == Some("true")
}

/// The auth Secret's name: the annotation `dataset.primehub.io/uploadServerAuthSecretName`
/// when present (even empty: [`desired`] rejects that).
pub fn auth_secret_name(dataset: &Dataset) -> Option<&str> {
    dataset.annotation(ANNOTATION_UPLOAD_SERVER_AUTH_SECRET_NAME)
}

/// `<prefix>/<namespace>/<dataset>/browse` and `…/upload`.
pub fn paths(config: &UploadServerConfig, namespace: &str, dataset: &str) -> (String, String) {
    let base = format!(
        "{}/{namespace}/{dataset}",
        config.path_prefix.trim_end_matches('/')
    );
    (format!("{base}/browse"), format!("{base}/upload"))
}

fn data_volume(dataset: &Dataset) -> Result<Volume> {
    let mut volume = Volume {
        name: "tus-volume".to_owned(),
        ..Volume::default()
    };
    match dataset.spec.type_ {
        DatasetType::Pv => match (dataset.pvc_name(), dataset.spec.legacy_host_path()) {
            (Some(claim), _) => {
                volume.persistent_volume_claim = Some(PersistentVolumeClaimVolumeSource {
                    claim_name: claim,
                    read_only: None,
                });
            }
            (None, Some(path)) if path.starts_with('/') => {
                volume.host_path = Some(HostPathVolumeSource {
                    path: path.to_owned(),
                    type_: None,
                });
            }
            _ => {
                return Err(invalid(
                    "spec.volumeName",
                    "must name the claim, or be hostpath:<absolute path>",
                ));
            }
        },
        DatasetType::Nfs => {
            let nfs = dataset
                .spec
                .nfs
                .as_ref()
                .ok_or_else(|| invalid("spec.nfs", "is required for nfs datasets"))?;
            if nfs.server.trim().is_empty() {
                return Err(invalid("spec.nfs.server", "is required for nfs datasets"));
            }
            if nfs.path.trim().is_empty() {
                return Err(invalid("spec.nfs.path", "is required for nfs datasets"));
            }
            volume.nfs = Some(NFSVolumeSource {
                server: nfs.server.clone(),
                path: nfs.path.clone(),
                read_only: None,
            });
        }
        DatasetType::HostPath => {
            let path = dataset
                .spec
                .host_path
                .as_ref()
                .map(|h| h.path.as_str())
                .filter(|p| !p.is_empty())
                .ok_or_else(|| {
                    invalid("spec.hostPath.path", "is required for hostPath datasets")
                })?;
            if !path.starts_with('/') {
                return Err(invalid("spec.hostPath.path", "must be an absolute path"));
            }
            volume.host_path = Some(HostPathVolumeSource {
                path: path.to_owned(),
                type_: None,
            });
        }
        DatasetType::Git | DatasetType::Env | DatasetType::Other(_) => {
            return Err(invalid(
                "spec.type",
                format!(
                    "the upload server is only for pv, nfs and hostPath datasets (this one is {})",
                    dataset.spec.type_.as_str()
                ),
            ));
        }
    }
    Ok(volume)
}

fn env(name: &str, value: &str) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value: Some(value.to_owned()),
        value_from: None,
    }
}

fn mount(path: &str, name: &str) -> VolumeMount {
    VolumeMount {
        mount_path: path.to_owned(),
        name: name.to_owned(),
        ..VolumeMount::default()
    }
}

fn port(number: i32) -> Option<Vec<ContainerPort>> {
    Some(vec![ContainerPort {
        container_port: number,
        ..ContainerPort::default()
    }])
}

fn some_nonempty(r: &ResourceRequirements) -> Option<ResourceRequirements> {
    (r != &ResourceRequirements::default()).then(|| r.clone())
}

fn ingress_path(path: &str, service: &str, port: i32) -> HTTPIngressPath {
    HTTPIngressPath {
        backend: IngressBackend {
            service: Some(IngressServiceBackend {
                name: service.to_owned(),
                port: Some(ServiceBackendPort {
                    number: Some(port),
                    name: None,
                }),
            }),
            resource: None,
        },
        path: Some(path.to_owned()),
        path_type: "ImplementationSpecific".to_owned(),
    }
}

/// The upload server the Dataset asks for, in its namespace, without owner references (the
/// controller adds them); `None` when it asks for none ([`wanted`]).
///
/// # Errors
///
/// The rules in the module documentation, each naming its field.
pub fn desired(dataset: &Dataset, config: &UploadServerConfig) -> Result<Option<UploadServer>> {
    if !wanted(dataset) {
        return Ok(None);
    }
    let (name, namespace) = identity(dataset)?;
    let resource = resource_name(name);
    check_derived_name(&resource, true)?;
    let volume = data_volume(dataset)?;
    let auth_secret = match auth_secret_name(dataset) {
        Some(secret) if secret.trim().is_empty() => {
            return Err(invalid(
                format!("metadata.annotations[{ANNOTATION_UPLOAD_SERVER_AUTH_SECRET_NAME}]"),
                "must name a Secret (it is empty)",
            ));
        }
        other => other,
    };
    let (browse, upload) = paths(config, namespace, name);
    let labels = map([(LABEL_APP, resource.as_str())]);
    let meta = |labels: BTreeMap<String, String>| ObjectMeta {
        name: Some(resource.clone()),
        namespace: Some(namespace.to_owned()),
        labels: Some(labels),
        ..ObjectMeta::default()
    };

    let tusd = Container {
        name: "tusd".to_owned(),
        image: Some(config.tusd_image.clone()),
        ports: port(1080),
        image_pull_policy: Some(config.tusd_pull_policy.clone()),
        volume_mounts: Some(vec![
            mount("/srv/tusd-data/data", "tus-volume"),
            mount("/srv/tusd-hooks", "tus-hooks"),
        ]),
        command: Some(vec!["tusd".to_owned()]),
        args: Some(
            [
                "--hooks-dir",
                "/srv/tusd-hooks",
                "-base-path",
                &format!("{upload}/files/"),
                "-metrics-path",
                &format!("{upload}/metrics"),
                "-behind-proxy",
            ]
            .map(str::to_owned)
            .to_vec(),
        ),
        security_context: Some(SecurityContext {
            run_as_user: Some(0),
            ..SecurityContext::default()
        }),
        resources: some_nonempty(&config.tusd_resources),
        ..Container::default()
    };
    let front_end = Container {
        name: "web-front-end".to_owned(),
        image: Some(config.front_end_image.clone()),
        ports: port(80),
        image_pull_policy: Some(config.front_end_pull_policy.clone()),
        volume_mounts: Some(vec![mount("/srv/data", "tus-volume")]),
        env: Some(vec![
            env("PRIMEHUB_SCHEME", &config.scheme),
            env("PRIMEHUB_DOMAIN", &config.domain),
            env("FRONT_END_PATH", &browse),
            env("TUSD_PATH", &upload),
        ]),
        resources: some_nonempty(&config.front_end_resources),
        ..Container::default()
    };
    let hooks = Volume {
        name: "tus-hooks".to_owned(),
        config_map: Some(ConfigMapVolumeSource {
            name: HOOKS_CONFIGMAP.to_owned(),
            default_mode: Some(0o755),
            ..ConfigMapVolumeSource::default()
        }),
        ..Volume::default()
    };
    let deployment = Deployment {
        metadata: meta(labels.clone()),
        spec: DeploymentSpec {
            replicas: Some(config.replicas),
            selector: LabelSelector {
                match_labels: Some(labels.clone()),
                match_expressions: None,
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels.clone()),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    containers: vec![tusd, front_end],
                    volumes: Some(vec![volume, hooks]),
                    ..PodSpec::default()
                }),
            },
            ..DeploymentSpec::default()
        },
        status: None,
    };
    let service_port = |name: &str, number: i32| ServicePort {
        name: Some(name.to_owned()),
        port: number,
        target_port: Some(IntOrString::Int(number)),
        ..ServicePort::default()
    };
    let service = Service {
        metadata: meta(labels.clone()),
        spec: Some(ServiceSpec {
            selector: Some(labels.clone()),
            ports: Some(vec![service_port("tus", 1080), service_port("flask", 80)]),
            session_affinity: Some("None".to_owned()),
            type_: Some("ClusterIP".to_owned()),
            ..ServiceSpec::default()
        }),
        status: None,
    };
    let mut annotations = config.ingress_annotations.clone();
    if let Some(secret) = auth_secret {
        let values = [
            "0m",
            "off",
            "false",
            "basic",
            secret,
            "Authentication Required",
        ];
        for (key, value) in AUTH_ANNOTATIONS.iter().zip(values) {
            annotations.insert((*key).to_owned(), value.to_owned());
        }
    }
    let mut ingress_meta = meta(map([
        (LABEL_APP, resource.as_str()),
        ("component", "ingress"),
    ]));
    ingress_meta.annotations = (!annotations.is_empty()).then_some(annotations);
    let ingress = Ingress {
        metadata: ingress_meta,
        spec: Some(IngressSpec {
            rules: Some(vec![IngressRule {
                host: Some(config.domain.clone()).filter(|d| !d.is_empty()),
                http: Some(HTTPIngressRuleValue {
                    paths: vec![
                        ingress_path(&browse, &resource, 80),
                        ingress_path(&upload, &resource, 1080),
                    ],
                }),
            }]),
            tls: (!config.ingress_tls.is_empty()).then(|| config.ingress_tls.clone()),
            ..IngressSpec::default()
        }),
        status: None,
    };
    Ok(Some(UploadServer {
        deployment,
        service,
        ingress,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::{DatasetHostPath, DatasetNfs, DatasetSpec};
    use serde_json::{Value, json};

    fn dataset(name: &str, type_: DatasetType, annotations: &[(&str, &str)]) -> Dataset {
        let mut spec = DatasetSpec::new(type_);
        spec.volume_name = Some(name.to_owned());
        let mut d = Dataset::new(name, spec);
        d.metadata.namespace = Some("hub".to_owned());
        d.metadata.annotations = Some(
            annotations
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        );
        d
    }

    fn on(name: &str, type_: DatasetType) -> Dataset {
        dataset(
            name,
            type_,
            &[
                (ANNOTATION_UPLOAD_SERVER, "true"),
                (
                    ANNOTATION_UPLOAD_SERVER_AUTH_SECRET_NAME,
                    &format!("dataset-{name}"),
                ),
            ],
        )
    }

    fn render(d: &Dataset) -> (Value, Value, Value) {
        let config = UploadServerConfig {
            domain: "hub.example.com".into(),
            ..UploadServerConfig::default()
        };
        let s = desired(d, &config).expect("valid").expect("wanted");
        (
            serde_json::to_value(s.deployment).expect("json"),
            serde_json::to_value(s.service).expect("json"),
            serde_json::to_value(s.ingress).expect("json"),
        )
    }

    #[test]
    fn the_deployment_is_the_references() {
        let (deployment, _, _) = render(&on("mnist", DatasetType::Pv));
        assert_eq!(
            deployment["metadata"],
            json!({"name": "dataset-upload-mnist", "namespace": "hub", "labels": {"app": "dataset-upload-mnist"}})
        );
        let spec = &deployment["spec"];
        assert_eq!(spec["replicas"], 1);
        assert_eq!(
            spec["selector"],
            json!({"matchLabels": {"app": "dataset-upload-mnist"}})
        );
        assert_eq!(
            spec["template"]["metadata"],
            json!({"labels": {"app": "dataset-upload-mnist"}})
        );
        let pod = &spec["template"]["spec"];
        assert_eq!(
            pod["containers"][0],
            json!({
                "name": "tusd", "image": "tusproject/tusd:v1.10.0", "ports": [{"containerPort": 1080}],
                "imagePullPolicy": "IfNotPresent",
                "volumeMounts": [{"mountPath": "/srv/tusd-data/data", "name": "tus-volume"},
                                 {"mountPath": "/srv/tusd-hooks", "name": "tus-hooks"}],
                "command": ["tusd"],
                "args": ["--hooks-dir", "/srv/tusd-hooks", "-base-path", "/dataset/hub/mnist/upload/files/",
                         "-metrics-path", "/dataset/hub/mnist/upload/metrics", "-behind-proxy"],
                "securityContext": {"runAsUser": 0},
                "resources": {"limits": {"cpu": "200m", "memory": "256Mi"}, "requests": {"cpu": "200m", "memory": "256Mi"}}
            })
        );
        assert_eq!(
            pod["containers"][1],
            json!({
                "name": "web-front-end", "image": "infuseai/dataset-upload-web-front-end:d744507a5e",
                "ports": [{"containerPort": 80}], "imagePullPolicy": "IfNotPresent",
                "volumeMounts": [{"mountPath": "/srv/data", "name": "tus-volume"}],
                "env": [{"name": "PRIMEHUB_SCHEME", "value": "http"},
                        {"name": "PRIMEHUB_DOMAIN", "value": "hub.example.com"},
                        {"name": "FRONT_END_PATH", "value": "/dataset/hub/mnist/browse"},
                        {"name": "TUSD_PATH", "value": "/dataset/hub/mnist/upload"}],
                "resources": {"limits": {"cpu": "200m", "memory": "128Mi"}, "requests": {"cpu": "200m", "memory": "128Mi"}}
            })
        );
        assert_eq!(
            pod["volumes"],
            json!([
                {"name": "tus-volume", "persistentVolumeClaim": {"claimName": "dataset-mnist"}},
                {"name": "tus-hooks", "configMap": {"name": "primehub-dataset-upload-hooks", "defaultMode": 493}}
            ])
        );
    }

    #[test]
    fn the_service_is_the_references() {
        let (_, service, _) = render(&on("mnist", DatasetType::Pv));
        assert_eq!(
            service,
            json!({
                "apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "dataset-upload-mnist", "namespace": "hub", "labels": {"app": "dataset-upload-mnist"}},
                "spec": {"selector": {"app": "dataset-upload-mnist"},
                         "ports": [{"name": "tus", "port": 1080, "targetPort": 1080},
                                   {"name": "flask", "port": 80, "targetPort": 80}],
                         "sessionAffinity": "None", "type": "ClusterIP"}
            })
        );
    }

    #[test]
    fn the_ingress_has_basic_auth_through_the_named_secret() {
        let (_, _, ingress) = render(&on("mnist", DatasetType::Pv));
        assert_eq!(ingress["apiVersion"], "networking.k8s.io/v1");
        assert_eq!(
            ingress["metadata"]["labels"],
            json!({"app": "dataset-upload-mnist", "component": "ingress"})
        );
        assert_eq!(
            ingress["metadata"]["annotations"],
            json!({
                "ingress.kubernetes.io/affinity": "cookie",
                "kubernetes.io/ingress.class": "nginx",
                "kubernetes.io/tls-acme": "true",
                "nginx.ingress.kubernetes.io/proxy-body-size": "0m",
                "nginx.ingress.kubernetes.io/proxy-request-buffering": "off",
                "nginx.ingress.kubernetes.io/ssl-redirect": "false",
                "nginx.ingress.kubernetes.io/auth-type": "basic",
                "nginx.ingress.kubernetes.io/auth-secret": "dataset-mnist",
                "nginx.ingress.kubernetes.io/auth-realm": "Authentication Required"
            })
        );
        assert_eq!(
            ingress["spec"],
            json!({"rules": [{"host": "hub.example.com", "http": {"paths": [
                {"backend": {"service": {"name": "dataset-upload-mnist", "port": {"number": 80}}},
                 "pathType": "ImplementationSpecific", "path": "/dataset/hub/mnist/browse"},
                {"backend": {"service": {"name": "dataset-upload-mnist", "port": {"number": 1080}}},
                 "pathType": "ImplementationSpecific", "path": "/dataset/hub/mnist/upload"}
            ]}}]})
        );
    }

    #[test]
    fn without_the_secret_annotation_the_ingress_has_no_auth() {
        let d = dataset("a", DatasetType::Pv, &[(ANNOTATION_UPLOAD_SERVER, "true")]);
        let (_, _, ingress) = render(&d);
        let annotations = ingress["metadata"]["annotations"]
            .as_object()
            .expect("annotations");
        assert!(
            AUTH_ANNOTATIONS
                .iter()
                .all(|k| !annotations.contains_key(*k))
        );
    }

    #[test]
    fn tls_and_prefix_come_from_the_configuration() {
        let config = UploadServerConfig {
            path_prefix: "/up/".into(),
            ingress_tls: vec![IngressTLS {
                hosts: Some(vec!["hub.example.com".into()]),
                secret_name: Some("hub-tls".into()),
            }],
            ..UploadServerConfig::default()
        };
        let s = desired(&on("a", DatasetType::Pv), &config)
            .expect("valid")
            .expect("wanted");
        let ingress = serde_json::to_value(s.ingress).expect("json");
        assert_eq!(
            ingress["spec"]["tls"],
            json!([{"hosts": ["hub.example.com"], "secretName": "hub-tls"}])
        );
        assert_eq!(
            ingress["spec"]["rules"][0]["http"]["paths"][1]["path"],
            "/up/hub/a/upload"
        );
    }

    #[test]
    fn the_data_volume_follows_the_type() {
        let mut nfs = on("n", DatasetType::Nfs);
        nfs.spec.nfs = Some(DatasetNfs {
            server: "10.0.0.1".into(),
            path: "/export".into(),
        });
        assert_eq!(
            render(&nfs).0["spec"]["template"]["spec"]["volumes"][0],
            json!({"name": "tus-volume", "nfs": {"server": "10.0.0.1", "path": "/export"}})
        );
        let mut host = on("h", DatasetType::HostPath);
        host.spec.host_path = Some(DatasetHostPath {
            path: "/mnt/data".into(),
        });
        assert_eq!(
            render(&host).0["spec"]["template"]["spec"]["volumes"][0],
            json!({"name": "tus-volume", "hostPath": {"path": "/mnt/data"}})
        );
        let mut pv = on("p", DatasetType::Pv);
        pv.spec.volume_name = Some("other".into());
        assert_eq!(
            render(&pv).0["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"],
            "dataset-other"
        );
        pv.spec.volume_name = Some("hostpath:/legacy".into());
        assert_eq!(
            render(&pv).0["spec"]["template"]["spec"]["volumes"][0]["hostPath"]["path"],
            "/legacy"
        );
    }

    #[test]
    fn only_the_string_true_switches_it_on() {
        for value in ["false", "True", "", "yes"] {
            let d = dataset("a", DatasetType::Pv, &[(ANNOTATION_UPLOAD_SERVER, value)]);
            assert_eq!(
                desired(&d, &UploadServerConfig::default()),
                Ok(None),
                "{value}"
            );
        }
        let d = dataset("a", DatasetType::Pv, &[]);
        assert!(!wanted(&d));
    }

    fn rule(d: &Dataset) -> String {
        desired(d, &UploadServerConfig::default())
            .expect_err("invalid")
            .to_string()
    }

    #[test]
    fn git_and_env_datasets_have_no_upload_server() {
        assert_eq!(
            rule(&on("g", DatasetType::Git)),
            "invalid spec.type: the upload server is only for pv, nfs and hostPath datasets (this one is git)"
        );
        assert!(rule(&on("e", DatasetType::Env)).starts_with("invalid spec.type"));
    }

    #[test]
    fn nfs_needs_server_and_path() {
        assert_eq!(
            rule(&on("n", DatasetType::Nfs)),
            "invalid spec.nfs: is required for nfs datasets"
        );
        let mut d = on("n", DatasetType::Nfs);
        d.spec.nfs = Some(DatasetNfs {
            server: String::new(),
            path: "/x".into(),
        });
        assert_eq!(
            rule(&d),
            "invalid spec.nfs.server: is required for nfs datasets"
        );
        d.spec.nfs = Some(DatasetNfs {
            server: "s".into(),
            path: " ".into(),
        });
        assert_eq!(
            rule(&d),
            "invalid spec.nfs.path: is required for nfs datasets"
        );
    }

    #[test]
    fn host_path_needs_an_absolute_path() {
        assert_eq!(
            rule(&on("h", DatasetType::HostPath)),
            "invalid spec.hostPath.path: is required for hostPath datasets"
        );
        let mut d = on("h", DatasetType::HostPath);
        d.spec.host_path = Some(DatasetHostPath {
            path: "data".into(),
        });
        assert_eq!(
            rule(&d),
            "invalid spec.hostPath.path: must be an absolute path"
        );
    }

    #[test]
    fn an_empty_auth_secret_name_is_an_error() {
        let d = dataset(
            "a",
            DatasetType::Pv,
            &[
                (ANNOTATION_UPLOAD_SERVER, "true"),
                (ANNOTATION_UPLOAD_SERVER_AUTH_SECRET_NAME, ""),
            ],
        );
        assert_eq!(
            rule(&d),
            "invalid metadata.annotations[dataset.primehub.io/uploadServerAuthSecretName]: must name a Secret (it is empty)"
        );
    }

    #[test]
    fn the_name_must_make_a_service_name() {
        assert!(rule(&on(&"a".repeat(49), DatasetType::Pv)).starts_with("invalid metadata.name"));
        assert!(
            desired(
                &on(&"a".repeat(48), DatasetType::Pv),
                &UploadServerConfig::default()
            )
            .is_ok()
        );
        assert_eq!(
            rule(&on("a.b", DatasetType::Pv)),
            "invalid metadata.name: the child name \"dataset-upload-a.b\" contains '.', which a Service name cannot"
        );
    }
}
