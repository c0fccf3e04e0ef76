//! List what a user may launch in each of their groups: images, instance types and datasets,
//! from the custom resources in the namespace and the realm roles mapped onto the user's groups.
//! Run with `cargo run -p primehub-examples --example launch_choices`.

use primehub_model::binding::{Catalog, GroupRoles, launchable_groups};
use primehub_model::crd::dataset::Dataset;
use primehub_model::crd::image::Image;
use primehub_model::crd::instance_type::InstanceType;
use primehub_model::pod::{InstanceTypeResources, image_url};
use primehub_model::roles::RoleNaming;

const INSTANCE_TYPES: &str = r#"
apiVersion: primehub.io/v1alpha1
kind: InstanceType
metadata: {name: cpu-1, namespace: hub}
spec: {displayName: "CPU 1", limits.cpu: 1, limits.memory: 2G, requests.cpu: 1, requests.memory: 2G}
---
apiVersion: primehub.io/v1alpha1
kind: InstanceType
metadata: {name: gpu-1, namespace: hub}
spec: {displayName: "GPU 1", limits.cpu: 2, limits.memory: 7G, limits.nvidia.com/gpu: 1, requests.cpu: 1.5, requests.memory: 5G}
"#;

const IMAGES: &str = r#"
apiVersion: primehub.io/v1alpha1
kind: Image
metadata: {name: base-notebook, namespace: hub}
spec: {displayName: "Base notebook", type: both, url: "infuseai/docker-stacks:base-notebook", urlForGpu: "infuseai/docker-stacks:base-notebook-gpu"}
---
apiVersion: primehub.io/v1alpha1
kind: Image
metadata: {name: team-a-tf, namespace: hub}
spec: {displayName: "Team A TensorFlow", type: cpu, url: "registry.example/team-a/tf:2.15", groupName: team-a}
"#;

const DATASETS: &str = r#"
apiVersion: primehub.io/v1alpha1
kind: Dataset
metadata:
  name: mnist
  namespace: hub
  annotations: {dataset.primehub.io/launchGroupOnly: "false"}
spec: {displayName: mnist, type: pv, volumeName: mnist, pv: {provisioning: auto}}
---
apiVersion: primehub.io/v1alpha1
kind: Dataset
metadata:
  name: team-a-secrets
  namespace: hub
  annotations: {dataset.primehub.io/launchGroupOnly: "true"}
spec: {displayName: "team A secrets", type: env, variables: {TOKEN: "abc"}}
"#;

fn parse_all<T: serde::de::DeserializeOwned>(yaml: &str) -> Result<Vec<T>, serde_yaml_ng::Error> {
    serde_yaml_ng::Deserializer::from_str(yaml)
        .map(T::deserialize)
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let instance_types: Vec<InstanceType> = parse_all(INSTANCE_TYPES)?;
    let images: Vec<Image> = parse_all(IMAGES)?;
    let datasets: Vec<Dataset> = parse_all(DATASETS)?;
    let catalog = Catalog {
        images: &images,
        instance_types: &instance_types,
        datasets: &datasets,
    };

    // Realm roles mapped onto the user's groups (Keycloak group role mappings).
    let everyone = vec!["it:cpu-1".to_owned(), "img:base-notebook".to_owned()];
    let team_a = vec![
        "it:gpu-1".to_owned(),
        "img:team-a-tf".to_owned(),
        "ds:rw:mnist".to_owned(),
        "ds:team-a-secrets".to_owned(),
    ];
    let team_b = vec!["ds:mnist".to_owned(), "other-app-role".to_owned()];
    let groups = [
        GroupRoles {
            name: "everyone",
            roles: &everyone,
        },
        GroupRoles {
            name: "team-a",
            roles: &team_a,
        },
        GroupRoles {
            name: "team-b",
            roles: &team_b,
        },
    ];

    for choice in launchable_groups(&groups, &RoleNaming::default(), &catalog)? {
        println!("group {}:", choice.group);
        for it in &choice.instance_types {
            let Some(def) = instance_types
                .iter()
                .find(|i| i.metadata.name.as_deref() == Some(it.name.as_str()))
            else {
                continue;
            };
            let resources = InstanceTypeResources::from_instance_type(def)?;
            let limits = resources.limits();
            println!(
                "  instance type {:<8} cpu {} memory {} gpu {}{}",
                it.name,
                limits.cpu,
                limits.memory,
                limits.gpu,
                if it.global { "  (global)" } else { "" }
            );
            for image in &choice.images {
                if let Some(def) = images
                    .iter()
                    .find(|i| i.metadata.name.as_deref() == Some(image.name.as_str()))
                {
                    println!(
                        "    image {:<14} -> {}",
                        image.name,
                        image_url(def, resources.gpu()).unwrap_or("(no url)")
                    );
                }
            }
        }
        for ds in &choice.datasets {
            println!(
                "  dataset {:<15} {}",
                ds.name,
                if ds.writable {
                    "read-write"
                } else {
                    "read-only"
                }
            );
        }
    }
    Ok(())
}
