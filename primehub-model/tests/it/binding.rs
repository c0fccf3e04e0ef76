//! What a user may launch in a group (primehub-datamodel.md §2.3, §4.2; controllers §5).

use primehub_model::binding::{
    BoundDataset, BoundResource, Catalog, GroupGrants, GroupRoles, group_offer, job_launchable,
    launch_datasets, launchable, launchable_groups, launchable_groups_with,
};
use primehub_model::crd::dataset::Dataset;
use primehub_model::crd::image::Image;
use primehub_model::crd::instance_type::InstanceType;
use primehub_model::roles::RoleNaming;
use serde_json::json;

fn image(name: &str, group: Option<&str>) -> Image {
    let mut spec = json!({"type": "both", "url": format!("{name}:latest")});
    if let Some(g) = group {
        spec["groupName"] = json!(g);
    }
    serde_json::from_value(
        json!({"apiVersion": "primehub.io/v1alpha1", "kind": "Image",
        "metadata": {"name": name, "namespace": "hub"}, "spec": spec}),
    )
    .unwrap()
}

fn instance_type(name: &str) -> InstanceType {
    serde_json::from_value(
        json!({"apiVersion": "primehub.io/v1alpha1", "kind": "InstanceType",
        "metadata": {"name": name, "namespace": "hub"},
        "spec": {"limits.cpu": 1, "limits.memory": "1G"}}),
    )
    .unwrap()
}

fn dataset(name: &str, launch_group_only: Option<bool>) -> Dataset {
    let mut meta = json!({"name": name, "namespace": "hub"});
    if let Some(v) = launch_group_only {
        meta["annotations"] = json!({"dataset.primehub.io/launchGroupOnly": v.to_string()});
    }
    serde_json::from_value(
        json!({"apiVersion": "primehub.io/v1alpha1", "kind": "Dataset",
        "metadata": meta, "spec": {"type": "pv", "volumeName": name}}),
    )
    .unwrap()
}

fn roles(r: &[&str]) -> Vec<String> {
    r.iter().map(|s| s.to_string()).collect()
}

fn res(name: &str, global: bool) -> BoundResource {
    BoundResource {
        name: name.into(),
        global,
    }
}

fn ds(name: &str, global: bool, writable: bool) -> BoundDataset {
    BoundDataset {
        name: name.into(),
        global,
        writable,
    }
}

struct World {
    images: Vec<Image>,
    instance_types: Vec<InstanceType>,
    datasets: Vec<Dataset>,
}

impl World {
    fn new() -> World {
        World {
            images: vec![
                image("base", None),
                image("tf", None),
                image("team-img", Some("team-a")),
                image("other-team-img", Some("team-b")),
            ],
            instance_types: vec![
                instance_type("cpu-1"),
                instance_type("gpu-1"),
                instance_type("big"),
            ],
            datasets: vec![
                dataset("global-ro", Some(true)),
                dataset("global-rw", None),
                dataset("team-a-only", Some(true)),
                dataset("team-b-shared", Some(false)),
                dataset("team-b-private", Some(true)),
            ],
        }
    }
    fn catalog(&self) -> Catalog<'_> {
        Catalog {
            images: &self.images,
            instance_types: &self.instance_types,
            datasets: &self.datasets,
        }
    }
}

#[test]
fn images_and_instance_types_group_first_then_global() {
    let w = World::new();
    let everyone = roles(&[
        "img:base",
        "it:cpu-1",
        "img:tf",
        "ds:global-ro",
        "ds:rw:global-rw",
    ]);
    let team_a = roles(&[
        "it:gpu-1",
        "img:tf",
        "img:team-img",
        "img:other-team-img",
        "ds:team-a-only",
        "ds:rw:global-ro",
    ]);
    let team_b = roles(&["it:big", "ds:team-b-shared", "ds:team-b-private"]);
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
    let a = launchable(&groups, "team-a", &RoleNaming::default(), &w.catalog()).unwrap();
    // An image's groupName does not filter: the role mapping alone decides, as in
    // jupyterhub_profiles.py and the controller's spawn.go (findImage never reads groupName).
    assert_eq!(
        a.images,
        vec![
            res("other-team-img", false),
            res("team-img", false),
            res("tf", true),
            res("base", true)
        ]
    );
    assert_eq!(
        a.instance_types,
        vec![res("gpu-1", false), res("cpu-1", true)]
    );
    assert_eq!(
        a.datasets,
        vec![
            // global, launchGroupOnly does not matter for global; writable via team-a's rw role
            ds("global-ro", true, true),
            ds("global-rw", true, true),
            ds("team-a-only", false, false),
            // held through team-b, not launchGroupOnly: mounted read-only
            ds("team-b-shared", false, false),
            // team-b-private is launchGroupOnly and bound to team-b only: not mounted
        ]
    );

    let b = launchable(&groups, "team-b", &RoleNaming::default(), &w.catalog()).unwrap();
    assert_eq!(b.images, vec![res("base", true), res("tf", true)]);
    assert_eq!(
        b.instance_types,
        vec![res("big", false), res("cpu-1", true)]
    );
    assert_eq!(
        b.datasets,
        vec![
            ds("global-ro", true, false),
            ds("global-rw", true, true),
            ds("team-b-private", false, false),
            ds("team-b-shared", false, false)
        ]
    );
}

#[test]
fn role_prefix_filters_other_clusters_and_foreign_roles() {
    let w = World::new();
    let everyone = roles(&[
        "cluster1:img:base",
        "cluster2:it:big",
        "it:cpu-1",
        "offline_access",
        "uma_authorization",
    ]);
    let team = roles(&[
        "cluster1:it:gpu-1",
        "cluster1:ds:rw:global-rw",
        "cluster1:img:nonexistent",
    ]);
    let groups = [
        GroupRoles {
            name: "everyone",
            roles: &everyone,
        },
        GroupRoles {
            name: "t",
            roles: &team,
        },
    ];
    let naming = RoleNaming {
        prefix: Some("cluster1".into()),
    };
    let t = launchable(&groups, "t", &naming, &w.catalog()).unwrap();
    assert_eq!(t.images, vec![res("base", true)]);
    assert_eq!(t.instance_types, vec![res("gpu-1", false)]);
    assert_eq!(t.datasets, vec![ds("global-rw", false, true)]);
}

#[test]
fn everyone_and_foreign_groups_are_refused() {
    let w = World::new();
    let none: Vec<String> = vec![];
    let groups = [
        GroupRoles {
            name: "everyone",
            roles: &none,
        },
        GroupRoles {
            name: "t",
            roles: &none,
        },
    ];
    let err = launchable(&groups, "everyone", &RoleNaming::default(), &w.catalog()).unwrap_err();
    assert!(err.to_string().contains("everyone"), "{err}");
    let err = launchable(&groups, "other", &RoleNaming::default(), &w.catalog()).unwrap_err();
    assert!(
        err.to_string().contains("not a member of group \"other\""),
        "{err}"
    );
    let all = launchable_groups(&groups, &RoleNaming::default(), &w.catalog()).unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].group, "t");
    assert!(
        all[0].images.is_empty() && all[0].instance_types.is_empty() && all[0].datasets.is_empty()
    );
}

/// A group-scoped image (`spec.groupName`) is offered wherever its role is mapped, including to
/// another group; and only where it is mapped.
#[test]
fn group_name_of_an_image_does_not_hide_or_grant_it() {
    let w = World::new();
    let none: Vec<String> = vec![];
    let team_b = roles(&["img:team-img"]);
    let groups = [
        GroupRoles {
            name: "everyone",
            roles: &none,
        },
        GroupRoles {
            name: "team-a",
            roles: &none,
        },
        GroupRoles {
            name: "team-b",
            roles: &team_b,
        },
    ];
    let naming = RoleNaming::default();
    let a = launchable(&groups, "team-a", &naming, &w.catalog()).unwrap();
    assert!(a.images.is_empty(), "groupName alone grants nothing");
    let b = launchable(&groups, "team-b", &naming, &w.catalog()).unwrap();
    assert_eq!(b.images, vec![res("team-img", false)]);
}

/// A job with an empty group runs in `everyone` (InfuseAI/primehub-controller
/// pkg/graphql/spawn.go: `if groupName == "" { groupName = "everyone" }`).
#[test]
fn job_with_empty_group_uses_everyone() {
    let w = World::new();
    let everyone = roles(&["img:base", "it:cpu-1", "ds:global-ro"]);
    let team = roles(&["it:gpu-1"]);
    let groups = [
        GroupRoles {
            name: "everyone",
            roles: &everyone,
        },
        GroupRoles {
            name: "team-a",
            roles: &team,
        },
    ];
    let naming = RoleNaming::default();
    for group in ["", "everyone"] {
        let j = job_launchable(&groups, group, &naming, &w.catalog()).unwrap();
        assert_eq!(j.group, "everyone");
        assert_eq!(j.images, vec![res("base", true)]);
        assert_eq!(j.instance_types, vec![res("cpu-1", true)]);
        assert_eq!(j.datasets, vec![ds("global-ro", true, false)]);
    }
    // A named group behaves as for notebooks.
    let j = job_launchable(&groups, "team-a", &naming, &w.catalog()).unwrap();
    assert_eq!(
        j,
        launchable(&groups, "team-a", &naming, &w.catalog()).unwrap()
    );
    // A user outside `everyone` cannot run a group-less job.
    let err = job_launchable(&groups[1..], "", &naming, &w.catalog()).unwrap_err();
    assert!(err.to_string().contains("everyone"), "{err}");
    // Notebooks still refuse everyone.
    assert!(launchable(&groups, "everyone", &naming, &w.catalog()).is_err());
}

proptest::proptest! {
    /// `launchable_groups_with` (each group's roles parsed once, for `me.effectiveGroups`) gives
    /// every group exactly what `launchable` gives it alone, for any mix of roles, including
    /// unknown resources, `ds:rw:` roles, launch-group-only datasets and roles of another prefix.
    #[test]
    fn all_groups_at_once_equal_each_group_alone(
        group_roles in proptest::collection::vec(
            proptest::collection::vec(0usize..ROLE_POOL.len(), 0..8), 1..5),
        everyone_roles in proptest::collection::vec(0usize..ROLE_POOL.len(), 0..6),
        in_everyone in proptest::bool::ANY,
    ) {
        let catalog_images = [image("a", None), image("b", Some("g1"))];
        let catalog_its = [instance_type("small"), instance_type("big")];
        let catalog_datasets = [dataset("d1", Some(true)), dataset("d2", Some(false)), dataset("d3", None)];
        let catalog = Catalog {
            images: &catalog_images,
            instance_types: &catalog_its,
            datasets: &catalog_datasets,
        };
        let pick = |indexes: &[usize]| -> Vec<String> {
            indexes.iter().map(|i| ROLE_POOL[*i].to_owned()).collect()
        };
        let names: Vec<String> = (0..group_roles.len()).map(|i| format!("g{i}")).collect();
        let role_lists: Vec<Vec<String>> = group_roles.iter().map(|r| pick(r)).collect();
        let everyone = pick(&everyone_roles);
        let mut groups: Vec<GroupRoles<'_>> = names
            .iter()
            .zip(&role_lists)
            .map(|(name, roles)| GroupRoles { name, roles })
            .collect();
        if in_everyone {
            groups.insert(0, GroupRoles { name: "everyone", roles: &everyone });
        }
        let naming = RoleNaming::default();
        let all = launchable_groups_with(&groups, &naming, &catalog);
        proptest::prop_assert_eq!(all.len(), names.len());
        for (one, name) in all.iter().zip(&names) {
            let alone = launchable(&groups, name, &naming, &catalog).unwrap();
            proptest::prop_assert_eq!(one, &alone);
        }
        // The parts a server keeps per group compose to the same answer.
        let grants: Vec<GroupGrants> = groups
            .iter()
            .map(|g| GroupGrants::parse(g.roles, &naming))
            .collect();
        let global = if in_everyone { grants[0].clone() } else { GroupGrants::default() };
        for g in &grants {
            let listed: Vec<&str> = g.datasets().collect();
            proptest::prop_assert!(listed.windows(2).all(|w| w[0] < w[1]), "{listed:?}");
            proptest::prop_assert!(listed.iter().all(|d| g.has_dataset(d)));
        }
        let held: std::collections::BTreeSet<&str> =
            grants.iter().flat_map(GroupGrants::datasets).collect();
        for (i, one) in all.iter().enumerate() {
            let own = &grants[i + usize::from(in_everyone)];
            let offer = group_offer(own, &global, &catalog);
            proptest::prop_assert_eq!(&offer.images, &one.images);
            proptest::prop_assert_eq!(&offer.instance_types, &one.instance_types);
            let datasets = launch_datasets(held.iter().copied(), own, &global, &catalog);
            proptest::prop_assert_eq!(&datasets, &one.datasets);
        }
    }
}

/// Roles the property above draws from.
const ROLE_POOL: &[&str] = &[
    "img:a",
    "img:b",
    "img:gone",
    "it:small",
    "it:big",
    "ds:d1",
    "ds:rw:d1",
    "ds:d2",
    "ds:rw:d2",
    "ds:d3",
    "ds:gone",
    "other:img:a",
    "admin",
];
