//! PrimeHub's fresh-install objects, for `primehub dev` and tests: the bootstrap instance types
//! (`cpu-1`, `cpu-2`, `gpu-1`, `gpu-2`) and the image `base-notebook` ([`seed_demo`]), and the
//! Keycloak side of the demo: group `phusers` with the administrator, and the resources' realm
//! roles mapped to `everyone` ([`seed_keycloak_demo`]).
//!
//! ```
//! use std::sync::Arc;
//! use primehub_model::roles::RoleNaming;
//! use primehub_reconcile::fake::{seed, FakeCluster};
//! use primehub_reconcile::KubeApi;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> primehub_reconcile::Result<()> {
//! let cluster: Arc<dyn KubeApi> = Arc::new(FakeCluster::new());
//! let seeded = seed::seed_demo(cluster.clone(), "hub").await?;
//! assert_eq!(seeded.instance_types, ["cpu-1", "cpu-2", "gpu-1", "gpu-2"]);
//! assert_eq!(seeded.role_names(&RoleNaming::unprefixed())[0], "it:cpu-1");
//! // Idempotent: a second run finds everything in place.
//! seed::seed_demo(cluster, "hub").await?;
//! # Ok(())
//! # }
//! ```

use std::sync::Arc;

use k8s_openapi::api::core::v1::Toleration;
use primehub_model::crd::image::{Image, ImageCrdSpec, ImageType};
use primehub_model::crd::instance_type::{InstanceType, InstanceTypeSpec};
use primehub_model::roles::RoleNaming;

use primehub_keycloak::{KeycloakAdmin, KeycloakError, NewGroup};

use crate::api::{KubeApi, Typed};
use crate::error::{KubeError, Result};

/// The image of the demo `base-notebook`.
pub const BASE_NOTEBOOK_IMAGE: &str = "jupyter/base-notebook:latest";

/// What [`seed_demo`] put in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoResources {
    /// Names of the instance types.
    pub instance_types: Vec<String>,
    /// Names of the images.
    pub images: Vec<String>,
}

impl DemoResources {
    /// The Keycloak realm roles granting these resources (`it:<name>`, then `img:<name>`), to
    /// map to the `everyone` group.
    pub fn role_names(&self, naming: &RoleNaming) -> Vec<String> {
        self.instance_types
            .iter()
            .map(|n| naming.instance_type(n))
            .chain(self.images.iter().map(|n| naming.image(n)))
            .collect()
    }
}

fn toleration() -> Toleration {
    Toleration {
        key: Some("hub.jupyter.org/dedicated".into()),
        operator: Some("Equal".into()),
        value: Some("user".into()),
        effect: Some("NoSchedule".into()),
        ..Toleration::default()
    }
}

fn instance_type(
    name: &str,
    display: &str,
    limits: (u32, &str, Option<i64>),
    requests: Option<(serde_json::Number, &str)>,
) -> InstanceType {
    let mut spec = InstanceTypeSpec::new(limits.0.into(), limits.1);
    spec.display_name = Some(display.into());
    spec.limits_gpu = limits.2;
    if let Some((cpu, memory)) = requests {
        spec.requests_cpu = Some(cpu);
        spec.requests_memory = Some(memory.into());
    }
    spec.tolerations = vec![toleration()];
    InstanceType::new(name, spec)
}

/// The bootstrap instance types of PrimeHub: `cpu-1` (1 CPU / 2G, requests 1 / 2G), `cpu-2`
/// (2 / 10G), `gpu-1` (2 CPU / 7G / 1 GPU, requests 1.5 / 5G) and `gpu-2` (4 / 14G / 2 GPU), all
/// tolerating `hub.jupyter.org/dedicated=user:NoSchedule`.
pub fn demo_instance_types() -> Vec<InstanceType> {
    let one_and_a_half = serde_json::Number::from_f64(1.5).unwrap_or_else(|| 1.into());
    vec![
        instance_type("cpu-1", "CPU 1", (1, "2G", None), Some((1.into(), "2G"))),
        instance_type("cpu-2", "CPU 2", (2, "10G", None), None),
        instance_type(
            "gpu-1",
            "GPU 1",
            (2, "7G", Some(1)),
            Some((one_and_a_half, "5G")),
        ),
        instance_type("gpu-2", "GPU 2", (4, "14G", Some(2)), None),
    ]
}

/// The bootstrap image `base-notebook` (a universal image).
pub fn demo_images() -> Vec<Image> {
    vec![Image::new(
        "base-notebook",
        ImageCrdSpec {
            display_name: Some("base-notebook".into()),
            description: Some("Jupyter base notebook".into()),
            type_: Some(ImageType::Both),
            url: Some(BASE_NOTEBOOK_IMAGE.into()),
            url_for_gpu: Some(BASE_NOTEBOOK_IMAGE.into()),
            ..ImageCrdSpec::default()
        },
    )]
}

fn name_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> String {
    meta.name.clone().unwrap_or_default()
}

/// Creates the demo instance types and image in `namespace` (objects that already exist are
/// left alone).
pub async fn seed_demo(api: Arc<dyn KubeApi>, namespace: &str) -> Result<DemoResources> {
    let mut seeded = DemoResources {
        instance_types: Vec::new(),
        images: Vec::new(),
    };
    let types = Typed::<InstanceType>::namespaced(Arc::clone(&api), namespace);
    for it in demo_instance_types() {
        match types.create(&it).await {
            Ok(_) | Err(KubeError::AlreadyExists { .. }) => {}
            Err(e) => return Err(e),
        }
        seeded.instance_types.push(name_of(&it.metadata));
    }
    let images = Typed::<Image>::namespaced(api, namespace);
    for image in demo_images() {
        match images.create(&image).await {
            Ok(_) | Err(KubeError::AlreadyExists { .. }) => {}
            Err(e) => return Err(e),
        }
        seeded.images.push(name_of(&image.metadata));
    }
    Ok(seeded)
}

/// The demo's user group (PrimeHub's fresh install creates it with the administrator in it).
pub const DEMO_GROUP: &str = "phusers";

/// Seeds the Keycloak side of the demo, idempotently: the group [`DEMO_GROUP`] with the
/// administrator `admin_user_id` as a member, and the realm roles of `resources` mapped to the
/// `everyone` group (`everyone_group_id`), which makes them global. Returns the group's id.
pub async fn seed_keycloak_demo(
    keycloak: &dyn KeycloakAdmin,
    everyone_group_id: &str,
    admin_user_id: &str,
    resources: &DemoResources,
    naming: &RoleNaming,
) -> std::result::Result<String, KeycloakError> {
    let group = match keycloak.find_group_by_name(DEMO_GROUP).await? {
        Some(group) => group.id,
        None => {
            keycloak
                .create_group(&NewGroup {
                    name: DEMO_GROUP.into(),
                    ..NewGroup::default()
                })
                .await?
        }
    };
    keycloak.add_member(&group, admin_user_id).await?;
    let roles = resources.role_names(naming);
    for role in &roles {
        match keycloak.create_role(role, None).await {
            Ok(()) | Err(KeycloakError::Conflict { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    keycloak.add_group_roles(everyone_group_id, &roles).await?;
    Ok(group)
}
