//! Resolver behaviour on the fakes, in process (`GraphqlService::execute`), as PrimeHub's
//! reference describes it: effective groups, usage, side effects, masking, system settings.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, Secret};
use primehub_graphql::auth::{Caller, Identity};
use primehub_graphql::dev::{DevPlatform, NAMESPACE};
use primehub_keycloak::KeycloakAdmin;
use primehub_reconcile::{KubeApi, Typed};
use serde_json::{Value, json};

use crate::support::*;

fn admin(platform: &DevPlatform) -> Arc<Caller> {
    Arc::new(Caller::Admin(Identity {
        user_id: platform.realm.admin_user_id.clone(),
        username: "phadmin".into(),
    }))
}

async fn run(platform: &DevPlatform, caller: Arc<Caller>, query: &str, variables: Value) -> Value {
    let request = async_graphql::Request::new(query)
        .variables(async_graphql::Variables::from_json(variables));
    let response = platform.api.service.execute(caller, request).await;
    serde_json::to_value(&response).expect("response serializes")
}

async fn ok(platform: &DevPlatform, query: &str, variables: Value) -> Value {
    let body = run(platform, admin(platform), query, variables).await;
    data(&body).clone()
}

fn typed<K>(platform: &DevPlatform) -> Typed<K>
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
        + serde::Serialize
        + serde::de::DeserializeOwned
        + Clone
        + Send
        + Sync
        + 'static,
{
    Typed::namespaced(
        Arc::new(platform.cluster.clone()) as Arc<dyn KubeApi>,
        NAMESPACE,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn effective_groups_merge_global_and_other_groups_datasets() {
    let platform = platform().await;
    let d = ok(&platform, "mutation { a: createGroup(data: {name: \"grp-a\"}) { id } b: createGroup(data: {name: \"grp-b\"}) { id } }", json!({})).await;
    let (a, b) = (
        d["a"]["id"].as_str().unwrap().to_owned(),
        d["b"]["id"].as_str().unwrap().to_owned(),
    );
    let me = platform.realm.admin_user_id.clone();
    ok(&platform, "mutation($w: UserWhereUniqueInput!, $d: UserUpdateInput!) { updateUser(where: $w, data: $d) { id } }",
        json!({"w": {"id": me}, "d": {"groups": {"connect": [{"id": a}, {"id": b}]}}})).await;
    // ds-global: everyone, writable; ds-a: group a only (launch-group-only by default);
    // ds-b-open: group b, not launch-group-only → visible from group a too.
    ok(&platform, r#"mutation($a: ID!, $b: ID!) {
        g: createDataset(data: {name: "ds-global", type: "env", global: true}) { id }
        a: createDataset(data: {name: "ds-a", type: "env", groups: {connect: [{id: $a, writable: true}]}}) { id }
        o: createDataset(data: {name: "ds-b-open", type: "env", launchGroupOnly: false, groups: {connect: [{id: $b}]}}) { id }
        c: createDataset(data: {name: "ds-b-closed", type: "env", groups: {connect: [{id: $b}]}}) { id }
    }"#, json!({"a": a, "b": b})).await;
    let d = ok(
        &platform,
        "{ me { effectiveGroups { name datasets { name writable } } } }",
        json!({}),
    )
    .await;
    let groups = d["me"]["effectiveGroups"].as_array().unwrap();
    let of = |name: &str| -> Vec<(String, bool)> {
        let g = groups.iter().find(|g| g["name"] == name).expect("group");
        g["datasets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["name"].as_str().unwrap().to_owned(),
                    d["writable"].as_bool().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(
        of("grp-a"),
        [
            ("ds-a".to_owned(), true),
            ("ds-b-open".into(), false),
            ("ds-global".into(), false)
        ]
    );
    assert_eq!(
        of("grp-b"),
        [
            ("ds-b-closed".to_owned(), false),
            ("ds-b-open".into(), false),
            ("ds-global".into(), false)
        ]
    );
    // The plain group view shows only the group's own grants.
    let d = ok(
        &platform,
        "query($id: ID!) { group(where: {id: $id}) { datasets { name } } }",
        json!({"id": a}),
    )
    .await;
    assert_eq!(d["group"]["datasets"], json!([{"name": "ds-a"}]));
    platform.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_status_counts_running_pods_of_the_group() {
    let platform = platform().await;
    let d = ok(&platform, "{ groups { id name } }", json!({})).await;
    let phusers = d["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "phusers")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let pods = typed::<Pod>(&platform);
    let labels = primehub_model::names::primehub_labels("phadmin", "phusers");
    for (name, cpu, memory, phase) in [
        ("p1", "500m", "1Gi", "Running"),
        ("p2", "1", "512Mi", "Pending"),
        ("p3", "2", "4Gi", "Succeeded"),
    ] {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": name, "labels": labels},
            "spec": {"containers": [{"name": "main", "image": "x", "resources": {"limits": {"cpu": cpu, "memory": memory}}}]},
        })).unwrap();
        pods.create(&pod).await.unwrap();
        let patched = pods
            .patch_status(
                name,
                &primehub_reconcile::PatchBody::Merge(json!({"status": {"phase": phase}})),
            )
            .await
            .unwrap();
        let version = patched.metadata.resource_version.unwrap();
        let stores = &platform.api.service.state.stores;
        assert!(
            stores
                .wait_for_version::<primehub_reconcile::runtime::projection::PodView>(
                    name,
                    &version,
                    Duration::from_secs(5)
                )
                .await
        );
    }
    let d = ok(&platform, "query($id: ID!) { group(where: {id: $id}) { resourceStatus { cpuUsage memUsage gpuUsage } } }", json!({"id": phusers})).await;
    let status = d["group"]["resourceStatus"].clone();
    assert_eq!(
        status,
        json!({"cpuUsage": "1.5", "memUsage": "1.5", "gpuUsage": "0"})
    );
    platform.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_volume_claim_follows_the_group() {
    let platform = platform().await;
    let d = ok(&platform, "mutation { createGroup(data: {name: \"Data_Team\", enabledSharedVolume: true, sharedVolumeCapacity: 5}) { id homeSymlink launchGroupOnly sharedVolumeCapacity } }", json!({})).await;
    let group = &d["createGroup"];
    assert_eq!(
        (
            group["homeSymlink"].clone(),
            group["launchGroupOnly"].clone()
        ),
        (json!(true), json!(true))
    );
    let claims = typed::<PersistentVolumeClaim>(&platform);
    let claim = claims
        .get("project-data-team")
        .await
        .expect("the group's claim");
    let spec = claim.spec.unwrap();
    assert_eq!(spec.access_modes.unwrap(), ["ReadWriteMany"]);
    assert_eq!(
        spec.resources.unwrap().requests.unwrap()["storage"].0,
        "5Gi"
    );
    ok(
        &platform,
        "mutation($id: ID!) { deleteGroup(where: {id: $id}) { id } }",
        json!({"id": group["id"]}),
    )
    .await;
    assert!(
        claims.get_opt("project-data-team").await.unwrap().is_none(),
        "the claim goes with the group"
    );
    platform.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dataset_upload_server_secret_is_bcrypt_and_shown_once() {
    let platform = platform().await;
    let d = ok(&platform, "mutation { createDataset(data: {name: \"scans\", type: \"pv\", volumeSize: 2, enableUploadServer: true}) { id uploadServerSecret { username password } } }", json!({})).await;
    let secret = &d["createDataset"]["uploadServerSecret"];
    assert_eq!(secret["username"], "dataset-scans");
    let password = secret["password"].as_str().unwrap().to_owned();
    assert!(password.len() >= 20);
    let stored = typed::<Secret>(&platform)
        .get("dataset-scans")
        .await
        .unwrap();
    let line = String::from_utf8(stored.data.unwrap()["auth"].0.clone()).unwrap();
    let (user, hash) = line.split_once(':').unwrap();
    assert_eq!(user, "dataset-scans");
    assert!(hash.starts_with("$2y$"), "{hash}");
    assert!(bcrypt::verify(&password, hash).unwrap());
    assert!(!line.contains(&password));
    // The claim of an auto-provisioned pv dataset, and its size read back.
    assert!(
        typed::<PersistentVolumeClaim>(&platform)
            .get_opt("dataset-scans")
            .await
            .unwrap()
            .is_some()
    );
    let d = ok(&platform, "{ dataset(where: {id: \"scans\"}) { volumeSize enableUploadServer uploadServerLink pvProvisioning } }", json!({})).await;
    assert_eq!(d["dataset"]["volumeSize"], 2.0);
    assert_eq!(d["dataset"]["enableUploadServer"], true);
    assert_eq!(d["dataset"]["pvProvisioning"], "auto");
    // Regenerating gives a new password that verifies; the old one no longer does.
    let d = ok(&platform, "mutation { regenerateUploadServerSecret(where: {id: \"scans\"}) { uploadServerSecret { password } } }", json!({})).await;
    let new_password = d["regenerateUploadServerSecret"]["uploadServerSecret"]["password"]
        .as_str()
        .unwrap()
        .to_owned();
    let stored = typed::<Secret>(&platform)
        .get("dataset-scans")
        .await
        .unwrap();
    let line = String::from_utf8(stored.data.unwrap()["auth"].0.clone()).unwrap();
    let hash = line.split_once(':').unwrap().1;
    assert!(bcrypt::verify(&new_password, hash).unwrap());
    assert!(!bcrypt::verify(&password, hash).unwrap());
    // Deleting the dataset removes its claim, secret and roles.
    ok(
        &platform,
        "mutation { deleteDataset(where: {id: \"scans\"}) { id } }",
        json!({}),
    )
    .await;
    assert!(
        typed::<Secret>(&platform)
            .get_opt("dataset-scans")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        typed::<PersistentVolumeClaim>(&platform)
            .get_opt("dataset-scans")
            .await
            .unwrap()
            .is_none()
    );
    let realm = platform.keycloak.realm("primehub").unwrap();
    assert!(realm.get_role("ds:scans").await.is_err());
    platform.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_are_stored_as_primehub_does_and_masked() {
    let platform = platform().await;
    let d = ok(&platform, r#"mutation {
        o: createSecret(data: {name: "git-key", type: opaque, secret: "ssh-private-key"}) { id name type secret }
        k: createSecret(data: {name: "registry", type: kubernetes, registryHost: "r.example.com", username: "u", password: "p@ss"}) { id name displayName registryHost username password }
    }"#, json!({})).await;
    assert_eq!(
        d["o"],
        json!({"id": "gitsync-secret-git-key", "name": "git-key", "type": "opaque", "secret": "******"})
    );
    assert_eq!(
        d["k"],
        json!({"id": "image-registry", "name": "registry", "displayName": "registry", "registryHost": "r.example.com", "username": "u", "password": "******"})
    );
    let stored = typed::<Secret>(&platform)
        .get("image-registry")
        .await
        .unwrap();
    assert_eq!(
        stored.type_.as_deref(),
        Some("kubernetes.io/dockerconfigjson")
    );
    // "******" on update keeps the stored password.
    ok(&platform, "mutation { updateSecret(where: {id: \"image-registry\"}, data: {username: \"v\", password: \"******\"}) { id } }", json!({})).await;
    let stored = typed::<Secret>(&platform)
        .get("image-registry")
        .await
        .unwrap();
    let config: Value =
        serde_json::from_slice(&stored.data.unwrap()[".dockerconfigjson"].0).unwrap();
    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD
        .decode(config["auths"]["r.example.com"]["auth"].as_str().unwrap())
        .unwrap();
    assert_eq!(String::from_utf8(auth).unwrap(), "v:p@ss");
    let d = ok(&platform, "{ secrets { id } }", json!({})).await;
    let ids: Vec<&str> = d["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["gitsync-secret-git-key", "image-registry"],
        "the client Secrets of the bootstrap are not PrimeHub secrets"
    );
    platform.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_build_requests_and_modes() {
    let platform = platform().await;
    let d = ok(&platform, r#"mutation {
        createImage(data: {name: "custom", groupName: "phusers", imageSpec: {baseImage: "jupyter/base", packages: {pip: ["numpy"]}}}) { id type groupName isReady imageSpec { baseImage packages { pip apt } cancel } }
    }"#, json!({})).await;
    assert_eq!(d["createImage"]["type"], "both");
    assert_eq!(d["createImage"]["isReady"], false);
    assert_eq!(
        d["createImage"]["imageSpec"]["packages"],
        json!({"pip": ["numpy"], "apt": []})
    );
    let d = ok(
        &platform,
        "mutation { cancelImageBuild(where: {id: \"custom\"}) { imageSpec { cancel } } }",
        json!({}),
    )
    .await;
    assert_eq!(d["cancelImageBuild"]["imageSpec"]["cancel"], true);
    let d = ok(&platform, "mutation { rebuildImage(where: {id: \"custom\"}, data: {}) { imageSpec { cancel updateTime } } }", json!({})).await;
    assert_eq!(d["rebuildImage"]["imageSpec"]["cancel"], false);
    assert!(
        d["rebuildImage"]["imageSpec"]["updateTime"]
            .as_str()
            .unwrap()
            .contains('T')
    );
    let d = ok(&platform, "{ s: imagesConnection(mode: SYSTEM_ONLY) { edges { node { name } } } g: imagesConnection(mode: GROUP_ONLY) { edges { node { name } } } }", json!({})).await;
    assert_eq!(
        d["s"]["edges"],
        json!([{"node": {"name": "base-notebook"}}])
    );
    assert_eq!(d["g"]["edges"], json!([{"node": {"name": "custom"}}]));
    platform.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn system_settings_round_trip() {
    let platform = platform().await;
    let d = ok(&platform, "{ system { org { name } defaultUserVolumeCapacity timezone { name offset } keycloakCacheAgeSeconds } timezone { name } }", json!({})).await;
    assert_eq!(d["system"]["org"]["name"], "InfuseAI");
    assert_eq!(d["system"]["defaultUserVolumeCapacity"], 20);
    let d = ok(&platform, r#"mutation { updateSystem(data: {org: {name: "ACME"}, defaultUserVolumeCapacity: 50, timezone: {name: "Asia/Taipei"}, smtp: {host: "smtp.example.com", port: 587, from: "hub@example.com", enableStartTLS: true}}) { org { name } defaultUserVolumeCapacity timezone { name offset } smtp { host port from enableStartTLS } } }"#, json!({})).await;
    let s = &d["updateSystem"];
    assert_eq!(s["org"]["name"], "ACME");
    assert_eq!(s["defaultUserVolumeCapacity"], 50);
    assert_eq!(s["timezone"], json!({"name": "Asia/Taipei", "offset": 8.0}));
    assert_eq!(
        s["smtp"],
        json!({"host": "smtp.example.com", "port": 587, "from": "hub@example.com", "enableStartTLS": true})
    );
    // Stored where PrimeHub stores them: attributes of everyone, SMTP in the realm.
    let realm = platform.keycloak.realm("primehub").unwrap();
    let everyone = realm
        .get_group(&platform.realm.everyone_group_id)
        .await
        .unwrap();
    assert_eq!(everyone.attributes["defaultUserVolumeCapacity"], ["50G"]);
    assert_eq!(everyone.attributes["timezone"], ["Asia/Taipei"]);
    let body = run(
        &platform,
        admin(&platform),
        "mutation { updateSystem(data: {timezone: {name: \"Mars/Olympus\"}}) { org { name } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        body["errors"][0]["extensions"]["field"],
        "data.timezone.name"
    );
    platform.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_keycloak_change_shows_after_an_event_poll() {
    let platform = platform().await;
    let realm = platform.keycloak.realm("primehub").unwrap();
    let id = realm
        .create_group(&primehub_keycloak::NewGroup {
            name: "made-in-console".into(),
            attributes: Default::default(),
        })
        .await
        .unwrap();
    // Not through the API: the cache learns it from Keycloak's admin events.
    platform
        .api
        .service
        .state
        .keycloak
        .poll_events_once()
        .await
        .unwrap();
    let d = ok(
        &platform,
        "query($id: ID!) { group(where: {id: $id}) { name } }",
        json!({"id": id}),
    )
    .await;
    assert_eq!(d["group"]["name"], "made-in-console");
    platform.shutdown().await.unwrap();
}

/// `me.effectiveGroups` keeps each group's offer between requests: every change of a role
/// mapping, a membership or a resource shows in the next answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn effective_groups_show_every_change_at_once() {
    let platform = platform().await;
    let me = platform.realm.admin_user_id.clone();
    let group = ok(
        &platform,
        "mutation { createGroup(data: {name: \"grp-live\"}) { id } }",
        json!({}),
    )
    .await["createGroup"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let offered = || async {
        let d = ok(
            &platform,
            "{ me { effectiveGroups { name images { name } instanceTypes { name } datasets { name writable } } } }",
            json!({}),
        )
        .await;
        let groups = d["me"]["effectiveGroups"].as_array().unwrap().clone();
        groups
            .into_iter()
            .find(|g| g["name"] == "grp-live")
            .map(|g| {
                let names = |field: &str| -> Vec<String> {
                    g[field]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|x| match x["writable"].as_bool() {
                            Some(true) => format!("{}(rw)", x["name"].as_str().unwrap()),
                            _ => x["name"].as_str().unwrap().to_owned(),
                        })
                        .collect()
                };
                (names("images"), names("instanceTypes"), names("datasets"))
            })
    };
    assert_eq!(offered().await, None, "not a member yet");
    ok(&platform, "mutation($w: UserWhereUniqueInput!, $d: UserUpdateInput!) { updateUser(where: $w, data: $d) { id } }",
        json!({"w": {"id": me}, "d": {"groups": {"connect": [{"id": group}]}}})).await;
    let (images, its, datasets) = offered().await.expect("a member now");
    assert_eq!(images, ["base-notebook"]);
    assert_eq!(its, ["cpu-1", "cpu-2", "gpu-1", "gpu-2"]);
    assert!(datasets.is_empty());

    // A new image granted to the group comes first; a dataset granted read-write shows so.
    ok(&platform, r#"mutation($g: ID!) {
        i: createImage(data: {name: "img-live", url: "r/i:1", groups: {connect: [{id: $g}]}}) { id }
        d: createDataset(data: {name: "ds-live", type: "env", groups: {connect: [{id: $g, writable: true}]}}) { id }
    }"#, json!({"g": group})).await;
    let (images, _, datasets) = offered().await.unwrap();
    assert_eq!(images, ["img-live", "base-notebook"]);
    assert_eq!(datasets, ["ds-live(rw)"]);

    // Read-only now, then global, then no longer the group's.
    ok(&platform, r#"mutation($g: ID!) { updateDataset(where: {id: "ds-live"}, data: {groups: {connect: [{id: $g, writable: false}]}}) { id } }"#, json!({"g": group})).await;
    assert_eq!(offered().await.unwrap().2, ["ds-live"]);
    ok(&platform, r#"mutation($g: ID!) { updateImage(where: {id: "img-live"}, data: {global: true, groups: {disconnect: [{id: $g}]}}) { id } }"#, json!({"g": group})).await;
    assert_eq!(offered().await.unwrap().0, ["base-notebook", "img-live"]);

    // The image deleted behind the API's back (the role mapping stays): gone once the store
    // shows it.
    typed::<primehub_model::crd::image::Image>(&platform)
        .delete("img-live", &primehub_reconcile::DeleteOptions::default())
        .await
        .unwrap();
    assert!(
        platform
            .api
            .service
            .state
            .stores
            .wait_for_deletion::<primehub_model::crd::image::Image>(
                "img-live",
                Duration::from_secs(5)
            )
            .await
    );
    assert_eq!(offered().await.unwrap().0, ["base-notebook"]);

    // Out of the group: gone from the list.
    ok(&platform, "mutation($w: UserWhereUniqueInput!, $d: UserUpdateInput!) { updateUser(where: $w, data: $d) { id } }",
        json!({"w": {"id": me}, "d": {"groups": {"disconnect": [{"id": group}]}}})).await;
    assert_eq!(offered().await, None);
    platform.shutdown().await.unwrap();
}

/// The group lists answer plain selections directly (`schema::leaf`): exactly what the
/// executor gives, which an inline fragment forces.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_leaf_answers_equal_the_executors() {
    let platform = platform().await;
    let me = platform.realm.admin_user_id.clone();
    let group = ok(
        &platform,
        "mutation { createGroup(data: {name: \"grp-leaf\"}) { id } }",
        json!({}),
    )
    .await["createGroup"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(&platform, "mutation($w: UserWhereUniqueInput!, $d: UserUpdateInput!) { updateUser(where: $w, data: $d) { id } }",
        json!({"w": {"id": me}, "d": {"groups": {"connect": [{"id": group}]}}})).await;
    ok(&platform, r#"mutation($g: ID!) {
        a: createImage(data: {name: "img-full", displayName: "Full", description: "d", type: "both", url: "r/a:1", urlForGpu: "r/a:gpu", groupName: "grp-leaf", groups: {connect: [{id: $g}]}}) { id }
        b: createImage(data: {name: "img-bare", url: "r/b:1", groups: {connect: [{id: $g}]}}) { id }
        c: createInstanceType(data: {name: "it-desc", displayName: "Desc", description: "x", cpuLimit: 1, memoryLimit: 1, groups: {connect: [{id: $g}]}}) { id }
        d: createDataset(data: {name: "ds-rw", displayName: "RW", description: "y", type: "env", groups: {connect: [{id: $g, writable: true}]}}) { id }
        e: createDataset(data: {name: "ds-git", type: "git", url: "https://example.com/r.git", global: true}) { id }
    }"#, json!({"g": group})).await;
    let image = "id name displayName description type groupName url __typename";
    let it = "id name displayName description __typename";
    let dataset = "id name displayName description type writable __typename";
    let selection = |direct: bool| {
        let wrap = |ty: &str, fields: &str| {
            if direct {
                format!("{fields} alias: name")
            } else {
                format!("... on {ty} {{ {fields} alias: name }}")
            }
        };
        format!(
            "images {{ {} }} groupImages {{ {} }} instanceTypes {{ {} }} datasets {{ {} }}",
            wrap("Image", image),
            wrap("Image", image),
            wrap("InstanceType", it),
            wrap("Dataset", dataset)
        )
    };
    for shape in [
        "{ me { effectiveGroups { name SEL } } }",
        "query($g: ID!) { group(where: {id: $g}) { SEL } }",
    ] {
        let direct = ok(
            &platform,
            &shape.replace("SEL", &selection(true)),
            json!({"g": group}),
        )
        .await;
        let executor = ok(
            &platform,
            &shape.replace("SEL", &selection(false)),
            json!({"g": group}),
        )
        .await;
        assert_eq!(direct, executor, "{shape}");
        let text = direct.to_string();
        for name in [
            "img-full",
            "img-bare",
            "it-desc",
            "ds-rw",
            "\"writable\":true",
            "\"groupName\":\"grp-leaf\"",
        ] {
            assert!(text.contains(name), "{name} in {text}");
        }
    }
    platform.shutdown().await.unwrap();
}
