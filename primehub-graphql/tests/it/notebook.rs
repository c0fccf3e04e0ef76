//! The notebook routes (`POST /api/notebook/pod`, `GET /api/notebook/groups`) in process
//! (`oneshot` on the API's router), on the fake Keycloak and the fake cluster with PrimeHub's
//! admission webhook: the parts against the builder's own output, every error code, the
//! options form's groups and usage, and that a warm cache answers without a Keycloak call.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, PostParams};
use primehub_graphql::dev::DevPlatform;
use primehub_model::attributes::SystemSettings;
use primehub_model::binding::Catalog;
use primehub_model::crd::{Dataset, Image, InstanceType};
use primehub_model::pod::job::UserGroup;
use primehub_model::pod::notebook::{
    KubeSpawnerNames, KubeSpawnerPod, NotebookOptions, NotebookParts, NotebookPodConfig,
    NotebookPodInput, NotebookUser, build_notebook_parts,
};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::support::*;

const PASSWORD: &str = "Passw0rd-for-notebooks";
const LAUNCH_ID: &str = "0f3c9a7e5d2b4c1a8e6f0a1b2c3d4e5f";

/// PrimeHub's `GRAPHQL_LAUNCH_CONTEXT_QUERY`, as the hub sends it (InfuseAI/primehub
/// `chart/scripts/jupyterhub/config/jupyterhub_profiles.py`).
const LAUNCH_CONTEXT_QUERY: &str = r#"query ($id: ID!) {
                    system { defaultUserVolumeCapacity }
                    user (where: { id: $id }) { id username isAdmin volumeCapacity
                    groups {
                            id
                            name
                            displayName
                            enabledSharedVolume
                            sharedVolumeCapacity
                            homeSymlink
                            launchGroupOnly
                            quotaCpu
                            quotaGpu
                            quotaMemory
                            projectQuotaCpu
                            projectQuotaGpu
                            projectQuotaMemory
                            instanceTypes { name displayName description spec global }
                            images { name displayName description spec global }
                            datasets { name displayName description spec global writable mountRoot homeSymlink launchGroupOnly }
                        }
                } }"#;

/// The platform with alice (in `team` and `tight`), bob (in `team`) and carol (in `other`).
struct Scene {
    platform: DevPlatform,
    alice_id: String,
    alice: String,
    bob: String,
    team_id: String,
}

async fn gql(p: &DevPlatform, admin: &str, query: &str, variables: Value) -> Value {
    let (status, body) = post_json(p, Some(admin), query, variables).await;
    assert_eq!(status, 200, "{query}: {body}");
    data(&body).clone()
}

async fn create_user(p: &DevPlatform, admin: &str, username: &str) -> String {
    let created = gql(
        p,
        admin,
        "mutation($d: UserCreateInput!) { createUser(data: $d) { id } }",
        json!({"d": {"username": username, "email": format!("{username}@example.com")}}),
    )
    .await;
    p.keycloak
        .realm("primehub")
        .unwrap()
        .set_password(username, PASSWORD)
        .unwrap();
    created["createUser"]["id"].as_str().unwrap().to_owned()
}

async fn create_group(p: &DevPlatform, admin: &str, input: Value) -> String {
    let created = gql(
        p,
        admin,
        "mutation($d: GroupCreateInput!) { createGroup(data: $d) { id } }",
        json!({ "d": input }),
    )
    .await;
    created["createGroup"]["id"].as_str().unwrap().to_owned()
}

async fn scene() -> Scene {
    let platform = platform().await;
    let admin = admin_token(&platform);
    let alice_id = create_user(&platform, &admin, "alice").await;
    let bob_id = create_user(&platform, &admin, "bob").await;
    let carol_id = create_user(&platform, &admin, "carol").await;
    let team_id = create_group(
        &platform,
        &admin,
        json!({"name": "team", "displayName": "Team A", "quotaCpu": 1,
            "users": {"connect": [{"id": alice_id}, {"id": bob_id}]}}),
    )
    .await;
    create_group(
        &platform,
        &admin,
        json!({"name": "tight", "projectQuotaMemory": 1,
            "users": {"connect": [{"id": alice_id}]}}),
    )
    .await;
    create_group(
        &platform,
        &admin,
        json!({"name": "other", "users": {"connect": [{"id": carol_id}]}}),
    )
    .await;
    // The team's own instance type and image, and the global cpu-1 bound to it as well.
    let team = json!([{"id": team_id}]);
    gql(
        &platform,
        &admin,
        "mutation($d: InstanceTypeCreateInput!) { createInstanceType(data: $d) { id } }",
        json!({"d": {"name": "it-team", "displayName": "Team's", "cpuLimit": 0.5, "memoryLimit": 1,
            "groups": {"connect": team}}}),
    )
    .await;
    gql(
        &platform,
        &admin,
        "mutation($d: ImageCreateInput!) { createImage(data: $d) { id } }",
        json!({"d": {"name": "img-team", "url": "example/team:1", "groups": {"connect": team}}}),
    )
    .await;
    gql(
        &platform,
        &admin,
        "mutation($d: InstanceTypeUpdateInput!) { updateInstanceType(where: {id: \"cpu-1\"}, data: $d) { id } }",
        json!({"d": {"groups": {"connect": team}}}),
    )
    .await;
    let alice = platform.access_token("alice", PASSWORD).unwrap();
    let bob = platform.access_token("bob", PASSWORD).unwrap();
    Scene {
        platform,
        alice_id,
        alice,
        bob,
        team_id,
    }
}

/// One answer: status and JSON body.
async fn call(p: &DevPlatform, request: Request<Body>) -> (StatusCode, Value) {
    let response = p
        .api
        .service
        .router()
        .oneshot(request)
        .await
        .expect("the router answers");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)));
    (status, body)
}

fn pod_request(token: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut builder = Request::builder()
        .method(Method::POST)
        .uri("/api/notebook/pod")
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    builder.body(body.into()).unwrap()
}

fn groups_request(token: Option<&str>, user_id: Option<&str>) -> Request<Body> {
    let uri = match user_id {
        Some(id) => format!("/api/notebook/groups?userId={id}"),
        None => "/api/notebook/groups".to_owned(),
    };
    let mut builder = Request::builder().method(Method::GET).uri(uri);
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    builder.body(Body::empty()).unwrap()
}

async fn pod(p: &DevPlatform, token: Option<&str>, body: &Value) -> (StatusCode, Value) {
    call(p, pod_request(token, body.to_string())).await
}

fn choice(user_id: &str, group: &str, instance_type: &str, image: &str) -> Value {
    json!({"userId": user_id, "group": group, "instanceType": instance_type, "image": image,
        "launchId": LAUNCH_ID})
}

/// The builder's parts for alice's choice, from an input assembled here from the platform's
/// Keycloak snapshot and resource stores.
fn expected_parts(s: &Scene, group: &str, instance_type: &str, image: &str) -> NotebookParts {
    let state = &s.platform.api.service.state;
    let snap = state.keycloak.snapshot();
    let user = snap.user(&s.alice_id).expect("alice is cached");
    let groups: Vec<UserGroup<'_>> = snap
        .user_group_ids(&s.alice_id)
        .iter()
        .map(|id| {
            let g = snap.group(id).expect("a cached group");
            UserGroup {
                name: &g.group.name,
                roles: snap.group_roles(id),
                attributes: &g.attributes,
            }
        })
        .collect();
    let launch_group_id = snap
        .group_by_name(group)
        .expect("the group")
        .group
        .id
        .clone();
    let everyone = snap
        .group(snap.everyone_group_id().expect("everyone"))
        .expect("everyone is cached");
    let system = SystemSettings::read(&everyone.group.attributes).value;
    let images: Vec<Image> = owned(state.stores.images());
    let instance_types: Vec<InstanceType> = owned(state.stores.instance_types());
    let datasets: Vec<Dataset> = owned(state.stores.datasets());
    let catalog = Catalog {
        images: &images,
        instance_types: &instance_types,
        datasets: &datasets,
    };
    let names = KubeSpawnerNames::default_for("alice");
    let input = NotebookPodInput {
        user: NotebookUser {
            name: "alice",
            volume_capacity: user.attributes.volume_capacity,
            time_zone: system.timezone_name.as_deref(),
        },
        default_user_volume_capacity: system.default_user_volume_capacity,
        groups: &groups,
        launch_group: group,
        launch_group_id: &launch_group_id,
        instance_type,
        image,
        options: NotebookOptions::default(),
        naming: &state.config.naming,
        resources: &catalog,
        spawner: &names,
        launch_id: LAUNCH_ID,
    };
    build_notebook_parts(&input, &NotebookPodConfig::default()).expect("the builder builds")
}

fn owned<K: Clone>(objects: Vec<std::sync::Arc<K>>) -> Vec<K> {
    objects.iter().map(|o| K::clone(o)).collect()
}

fn assert_error(answer: &(StatusCode, Value), status: u16, code: &str, field: Option<&str>) {
    let (got, body) = answer;
    assert_eq!(got.as_u16(), status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    match field {
        Some(field) => assert_eq!(body["field"], field, "{body}"),
        None => assert!(body.get("field").is_none(), "{body}"),
    }
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_parts_are_the_builders_for_the_same_input() {
    let s = scene().await;
    let (status, body) = pod(
        &s.platform,
        Some(SHARED_SECRET),
        &choice(&s.alice_id, "team", "cpu-1", "base-notebook"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let expected = serde_json::to_value(expected_parts(&s, "team", "cpu-1", "base-notebook"))
        .expect("parts serialise");
    let expected = expected.as_object().expect("an object");
    let got = body.as_object().expect("an object");
    for (field, value) in expected {
        assert_eq!(got.get(field), Some(value), "field {field}");
    }
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    // The serde names are the contract's.
    for field in [
        "launchGroup",
        "image",
        "imagePullSecrets",
        "cmd",
        "resources",
        "volumes",
        "volumeMounts",
        "env",
        "lifecycle",
        "labels",
        "annotations",
        "initContainers",
        "extraContainers",
        "nodeSelector",
        "tolerations",
        "shareProcessNamespace",
        "restartPolicy",
        "storageCapacity",
        "homePvc",
    ] {
        assert!(got.contains_key(field), "{field} missing");
    }
    let env = |name: &str| {
        body["env"]
            .as_array()
            .and_then(|e| e.iter().find(|v| v["name"] == name))
            .map(|v| v["value"].clone())
    };
    assert_eq!(env("GROUP_ID"), Some(json!(s.team_id)));
    assert_eq!(env("GROUP_NAME"), Some(json!("team")));
    assert_eq!(body["annotations"]["auditing.launch_id"], LAUNCH_ID);
    assert_eq!(body["labels"]["primehub.io/user"], "escaped-alice");

    // The user's own token, without userId: the same parts.
    let mut own = choice(&s.alice_id, "team", "cpu-1", "base-notebook");
    own.as_object_mut().unwrap().remove("userId");
    let (status, by_token) = pod(&s.platform, Some(&s.alice), &own).await;
    assert_eq!(status, 200, "{by_token}");
    assert_eq!(by_token, body);

    // Without launchId: a fresh UUID hex per request; the spawner's names as given.
    let (status, fresh) = pod(
        &s.platform,
        Some(&s.alice),
        &json!({"group": "team", "instanceType": "it-team", "image": "img-team",
            "spawner": {"podName": "jupyter-alice-2"}, "options": {"safeMode": true}}),
    )
    .await;
    assert_eq!(status, 200, "{fresh}");
    let id = fresh["annotations"]["auditing.launch_id"].as_str().unwrap();
    assert_eq!(id.len(), 32, "{id}");
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
    assert_eq!(fresh["annotations"]["auditing.pod_name"], "jupyter-alice-2");
    assert_eq!(fresh["homePvc"]["metadata"]["name"], "claim-alice");
    assert_eq!(fresh["image"], "example/team:1");
    s.platform.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_refusal_has_its_code_status_and_field() {
    let s = scene().await;
    let p = &s.platform;
    let a = s.alice_id.as_str();
    let secret = Some(SHARED_SECRET);

    // The builder's refusals: 422 NOT_ALLOWED with its message.
    let answer = pod(p, secret, &choice(a, "other", "cpu-1", "base-notebook")).await;
    assert_error(&answer, 422, "NOT_ALLOWED", Some("group"));
    assert_eq!(answer.1["message"], "Group not found: other");
    let answer = pod(p, secret, &choice(a, "everyone", "cpu-1", "base-notebook")).await;
    assert_error(&answer, 422, "NOT_ALLOWED", Some("group"));
    let answer = pod(p, secret, &choice(a, "tight", "it-team", "base-notebook")).await;
    assert_error(&answer, 422, "NOT_ALLOWED", Some("instanceType"));
    assert_eq!(answer.1["message"], "InstanceType not found: it-team");
    let answer = pod(p, secret, &choice(a, "tight", "it-team", "img-team")).await;
    assert_eq!(answer.1["message"], "InstanceType not found: it-team");
    let answer = pod(p, secret, &choice(a, "tight", "cpu-2", "img-team")).await;
    assert_error(&answer, 422, "NOT_ALLOWED", Some("image"));
    assert_eq!(answer.1["message"], "Image not found: img-team");
    let mut ssh = choice(a, "team", "cpu-1", "base-notebook");
    ssh["options"] = json!({"sshServer": true});
    let answer = pod(p, secret, &ssh).await;
    assert_error(&answer, 422, "NOT_ALLOWED", Some("options.sshServer"));

    // Quotas that can never fit, in the webhook's words.
    let answer = pod(p, secret, &choice(a, "team", "cpu-2", "base-notebook")).await;
    assert_error(&answer, 422, "QUOTA_NEVER_FITS", Some("instanceType"));
    assert_eq!(
        answer.1["message"],
        "User alice exceeded cpu quota: 1, requesting 2.0"
    );
    let answer = pod(p, secret, &choice(a, "tight", "cpu-1", "base-notebook")).await;
    assert_error(&answer, 422, "QUOTA_NEVER_FITS", Some("instanceType"));
    let message = answer.1["message"].as_str().unwrap().to_owned();
    assert!(
        message.starts_with("Group tight exceeded memory quota: 1073741824, requesting "),
        "{message}"
    );
    // The admission webhook refuses such a pod with the very same words.
    let parts = expected_parts(&s, "tight", "cpu-1", "base-notebook");
    let pod_object = parts.to_pod(&KubeSpawnerPod {
        name: "jupyter-alice",
        namespace: "hub",
        ..KubeSpawnerPod::default()
    });
    let pods: Api<Pod> = Api::namespaced(p.cluster.client(), "hub");
    let refused = pods
        .create(&PostParams::default(), &pod_object)
        .await
        .expect_err("the webhook refuses it");
    assert!(refused.to_string().contains(&message), "{refused}");

    // Unknown user.
    let answer = pod(
        p,
        secret,
        &choice("no-such-id", "team", "cpu-1", "base-notebook"),
    )
    .await;
    assert_error(&answer, 404, "USER_NOT_FOUND", Some("userId"));

    // Malformed bodies, naming the field.
    let answer = call(p, pod_request(secret, "{not json")).await;
    assert_error(&answer, 400, "BAD_REQUEST", None);
    let answer = pod(p, secret, &json!(["team"])).await;
    assert_error(&answer, 400, "BAD_REQUEST", None);
    let answer = pod(
        p,
        secret,
        &json!({"userId": a, "group": "team", "instanceType": "cpu-1"}),
    )
    .await;
    assert_error(&answer, 400, "BAD_REQUEST", Some("image"));
    let mut bad = choice(a, "team", "cpu-1", "base-notebook");
    bad["options"] = json!({"safeMode": "yes"});
    assert_error(
        &pod(p, secret, &bad).await,
        400,
        "BAD_REQUEST",
        Some("options.safeMode"),
    );
    let mut bad = choice(a, "team", "cpu-1", "base-notebook");
    bad["spawner"] = json!({"homeClaim": 7});
    assert_error(
        &pod(p, secret, &bad).await,
        400,
        "BAD_REQUEST",
        Some("spawner.homeClaim"),
    );
    let mut no_user = choice(a, "team", "cpu-1", "base-notebook");
    no_user.as_object_mut().unwrap().remove("userId");
    assert_error(
        &pod(p, secret, &no_user).await,
        400,
        "BAD_REQUEST",
        Some("userId"),
    );

    // Credentials: another user's id with a user token is 403, none or a bad one 401.
    let ok = choice(a, "team", "cpu-1", "base-notebook");
    assert_error(&pod(p, Some(&s.bob), &ok).await, 403, "NOT_AUTH", None);
    assert_error(&pod(p, None, &ok).await, 401, "NOT_AUTH", None);
    assert_error(
        &pod(p, Some("not-a-token"), &ok).await,
        401,
        "NOT_AUTH",
        None,
    );
    assert_eq!(pod(p, Some(&s.alice), &ok).await.0, 200);
    s.platform.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_groups_are_the_forms_with_usage_from_the_webhooks_ledger() {
    let s = scene().await;
    let p = &s.platform;
    let (status, body) = call(p, groups_request(Some(SHARED_SECRET), Some(&s.alice_id))).await;
    assert_eq!(status, 200, "{body}");
    let groups = body["groups"].as_array().expect("groups");
    let names: Vec<&str> = groups.iter().filter_map(|g| g["name"].as_str()).collect();
    assert_eq!(
        names,
        ["team", "tight"],
        "everyone left out, query order kept"
    );
    let team = &groups[0];
    assert_eq!(team["id"], s.team_id);
    assert_eq!(team["displayName"], "Team A");
    assert_eq!(team["quotaCpu"], 1.0);
    assert_eq!(team["quotaGpu"], Value::Null);
    assert_eq!(team["projectQuotaMemory"], Value::Null);
    let listed = |g: &Value, key: &str| -> Vec<String> {
        g[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap().to_owned())
            .collect()
    };
    // The group's own first (cpu-1 is also global: listed once, where the group has it).
    assert_eq!(
        listed(team, "instanceTypes"),
        ["cpu-1", "it-team", "cpu-2", "gpu-1", "gpu-2"]
    );
    assert_eq!(listed(team, "images"), ["img-team", "base-notebook"]);
    let it_team = &team["instanceTypes"][1];
    assert_eq!(it_team["global"], false);
    assert_eq!(it_team["displayName"], "Team's");
    assert_eq!(it_team["spec"]["limits.cpu"], 0.5);
    assert!(it_team.as_object().unwrap().contains_key("description"));
    assert_eq!(team["instanceTypes"][2]["global"], true);
    let tight = &groups[1];
    assert_eq!(
        tight["displayName"], "tight",
        "displayName falls back to the name"
    );
    assert_eq!(tight["projectQuotaMemory"], 1.0);
    assert_eq!(
        listed(tight, "instanceTypes"),
        ["cpu-1", "cpu-2", "gpu-1", "gpu-2"]
    );
    let zero = json!({"cpu": 0.0, "gpu": 0, "memory": 0.0});
    assert_eq!(team["usage"], zero);
    assert_eq!(tight["usage"], zero);

    // A notebook pod of the team, created in the cluster and admitted by the webhook, counts.
    let (status, parts) = pod(
        p,
        Some(SHARED_SECRET),
        &choice(&s.alice_id, "team", "cpu-1", "base-notebook"),
    )
    .await;
    assert_eq!(status, 200, "{parts}");
    let parts: NotebookParts = serde_json::from_value(parts).expect("parts");
    let pod_object = parts.to_pod(&KubeSpawnerPod {
        name: "jupyter-alice",
        namespace: "hub",
        ..KubeSpawnerPod::default()
    });
    let mut seen = p.api.service.state.stores.usage().subscribe();
    let pods: Api<Pod> = Api::namespaced(p.cluster.client(), "hub");
    let created = pods
        .create(&PostParams::default(), &pod_object)
        .await
        .expect("the webhook admits it");
    assert!(
        created
            .spec
            .as_ref()
            .and_then(|s| s.init_containers.as_ref())
            .is_none_or(Vec::is_empty),
        "the webhook removed the sentinel"
    );
    let stores = p.api.service.state.stores.clone();
    tokio::time::timeout(Duration::from_secs(10), async {
        while stores.group_usage("team").is_zero() {
            seen.changed().await.expect("the pod watch runs");
        }
    })
    .await
    .expect("the API's ledger counts the pod");
    let (_, body) = call(p, groups_request(Some(&s.alice), None)).await;
    let team = &body["groups"][0];
    assert_eq!(team["name"], "team");
    assert_eq!(team["usage"], json!({"cpu": 1.0, "gpu": 0, "memory": 2.0}));
    assert_eq!(body["groups"][1]["usage"], zero);

    // Bob sees his one group, with the same usage.
    let (status, body) = call(p, groups_request(Some(&s.bob), None)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["groups"].as_array().unwrap().len(), 1);
    assert_eq!(body["groups"][0]["usage"]["cpu"], 1.0);

    // Refusals as on the pod route.
    let answer = call(p, groups_request(Some(SHARED_SECRET), None)).await;
    assert_error(&answer, 400, "BAD_REQUEST", Some("userId"));
    let answer = call(p, groups_request(Some(SHARED_SECRET), Some("no-such-id"))).await;
    assert_error(&answer, 404, "USER_NOT_FOUND", Some("userId"));
    let answer = call(p, groups_request(Some(&s.bob), Some(&s.alice_id))).await;
    assert_error(&answer, 403, "NOT_AUTH", None);
    let answer = call(p, groups_request(None, Some(&s.alice_id))).await;
    assert_error(&answer, 401, "NOT_AUTH", None);
    s.platform.shutdown().await.unwrap();
}

/// Runs `work` until it runs in a window in which the cache made no Keycloak call of its own
/// (its event polls run every 2 s), and returns the calls anything else made meanwhile.
async fn calls_besides_the_cache<F, Fut>(p: &DevPlatform, work: F) -> u64
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let cache = &p.api.service.state.keycloak;
    for _ in 0..20 {
        let cache_before = cache.stats().keycloak_calls;
        let before = p.keycloak_calls.calls();
        work().await;
        let after = p.keycloak_calls.calls();
        if cache.stats().keycloak_calls == cache_before {
            return after - before;
        }
    }
    panic!("the cache polled Keycloak during every one of 20 tries");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warm_cache_answers_the_notebook_routes_and_the_launch_context_without_keycloak() {
    let s = scene().await;
    let p = &s.platform;
    let body = choice(&s.alice_id, "team", "cpu-1", "base-notebook");
    // Warm: the verifier has seen alice's token once.
    assert_eq!(pod(p, Some(&s.alice), &body).await.0, 200);
    let calls = calls_besides_the_cache(p, || async {
        assert_eq!(pod(p, Some(SHARED_SECRET), &body).await.0, 200);
        assert_eq!(pod(p, Some(&s.alice), &body).await.0, 200);
        let refused = pod(
            p,
            Some(SHARED_SECRET),
            &choice(&s.alice_id, "team", "cpu-2", "base-notebook"),
        )
        .await;
        assert_eq!(refused.0, 422);
        let (status, _) = call(p, groups_request(Some(SHARED_SECRET), Some(&s.alice_id))).await;
        assert_eq!(status, 200);
        let (status, _) = call(p, groups_request(Some(&s.alice), None)).await;
        assert_eq!(status, 200);
    })
    .await;
    assert_eq!(calls, 0, "no Keycloak call when the cache is warm");

    // The hub's launch-context query, with the shared secret, from the caches.
    let answer = std::sync::Mutex::new(Value::Null);
    let calls = calls_besides_the_cache(p, || async {
        let (status, body) = post_json(
            p,
            Some(SHARED_SECRET),
            LAUNCH_CONTEXT_QUERY,
            json!({"id": s.alice_id}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        *answer.lock().unwrap() = body;
    })
    .await;
    assert_eq!(calls, 0, "no Keycloak call for the launch context");
    let answer = answer.into_inner().unwrap();
    let data = data(&answer);
    assert!(
        data["system"]["defaultUserVolumeCapacity"].is_number(),
        "{data}"
    );
    let user = &data["user"];
    assert_eq!(user["id"], s.alice_id);
    assert_eq!(user["username"], "alice");
    assert_eq!(user["isAdmin"], false);
    assert!(user.as_object().unwrap().contains_key("volumeCapacity"));
    let groups = user["groups"].as_array().expect("groups");
    let names: Vec<&str> = groups.iter().filter_map(|g| g["name"].as_str()).collect();
    assert_eq!(names, ["everyone", "team", "tight"]);
    for group in groups {
        for field in [
            "id",
            "name",
            "displayName",
            "enabledSharedVolume",
            "sharedVolumeCapacity",
            "homeSymlink",
            "launchGroupOnly",
            "quotaCpu",
            "quotaGpu",
            "quotaMemory",
            "projectQuotaCpu",
            "projectQuotaGpu",
            "projectQuotaMemory",
            "instanceTypes",
            "images",
            "datasets",
        ] {
            assert!(
                group.as_object().unwrap().contains_key(field),
                "{field} in {group}"
            );
        }
    }
    let team = &groups[1];
    assert_eq!(team["quotaCpu"], 1.0);
    let own: Vec<&str> = team["instanceTypes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["name"].as_str())
        .collect();
    assert_eq!(
        own,
        ["cpu-1", "it-team"],
        "a group's own instance types only"
    );
    assert_eq!(team["instanceTypes"][1]["global"], false);
    assert_eq!(team["images"][0]["spec"]["url"], "example/team:1");
    let everyone = &groups[0];
    assert_eq!(everyone["instanceTypes"][0]["name"], "cpu-1");
    assert_eq!(everyone["instanceTypes"][0]["global"], true);
    s.platform.shutdown().await.unwrap();
}
