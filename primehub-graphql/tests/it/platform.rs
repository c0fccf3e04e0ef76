//! End to end on the fakes over HTTP: the demo platform as clients see it.

use serde_json::{Value, json};

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_sees_demo_shape_through_me() {
    let platform = platform().await;
    let token = admin_token(&platform);
    let (status, body) = post_form(
        &platform,
        &token,
        "{ me { id username isAdmin groups { name } effectiveGroups { name images { name } instanceTypes { name global } datasets { name } } } }",
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let me = &data(&body)["me"];
    assert_eq!(me["username"], "phadmin");
    assert_eq!(me["isAdmin"], true);
    let groups: Vec<&str> = me["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert!(
        groups.contains(&"everyone") && groups.contains(&"phusers"),
        "{groups:?}"
    );
    let effective = me["effectiveGroups"].as_array().unwrap();
    assert_eq!(effective.len(), 1, "everyone is left out: {effective:?}");
    assert_eq!(effective[0]["name"], "phusers");
    let images: Vec<&str> = effective[0]["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(images, ["base-notebook"]);
    let types: Vec<&str> = effective[0]["instanceTypes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["cpu-1", "cpu-2", "gpu-1", "gpu-2"]);
    assert!(
        effective[0]["instanceTypes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["global"] == true)
    );
    assert!(body.get("errors").is_none());
    platform.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_or_bad_credentials_are_not_auth() {
    let platform = platform().await;
    let (status, body) = post_json(&platform, None, "{ me { id } }", json!({})).await;
    assert_eq!(status, 401);
    assert_eq!(error_code(&body), "NOT_AUTH");
    let (status, body) =
        post_json(&platform, Some("not-a-token"), "{ me { id } }", json!({})).await;
    assert_eq!(status, 401);
    assert_eq!(error_code(&body), "NOT_AUTH");
    assert_eq!(body["errors"][0]["message"], "request not authorized");
    platform.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_creates_group_user_and_instance_type() {
    let platform = platform().await;
    let token = admin_token(&platform);
    let (_, body) = post_json(&platform, Some(&token),
        "mutation($d: GroupCreateInput!) { createGroup(data: $d) { id name displayName quotaCpu quotaMemory admins } }",
        json!({"d": {"name": "team-a", "displayName": "Team A", "quotaCpu": 1.5, "quotaMemory": 2}})).await;
    let group = &data(&body)["createGroup"];
    assert_eq!(group["quotaCpu"], 1.5);
    assert_eq!(group["quotaMemory"], 2.0);
    assert_eq!(group["admins"], "");
    let gid = group["id"].as_str().unwrap().to_owned();

    let (_, body) = post_json(&platform, Some(&token),
        "mutation($d: UserCreateInput!) { createUser(data: $d) { id username groups { name } volumeCapacity } }",
        json!({"d": {"username": "alice", "email": "alice@example.com", "volumeCapacity": 30, "groups": {"connect": [{"id": gid}]}}})).await;
    let user = &data(&body)["createUser"];
    assert_eq!(user["volumeCapacity"], 30);
    let names: Vec<&str> = user["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"team-a"), "{names:?}");

    let (_, body) = post_json(&platform, Some(&token),
        "mutation($d: InstanceTypeCreateInput!) { createInstanceType(data: $d) { id cpuLimit memoryLimit gpuLimit global groups { name } } }",
        json!({"d": {"name": "it-small", "cpuLimit": 0.5, "memoryLimit": 1.5, "groups": {"connect": [{"id": gid}]}}})).await;
    let it = &data(&body)["createInstanceType"];
    assert_eq!(it["memoryLimit"], 1.5);
    assert_eq!(it["global"], false);
    assert_eq!(it["groups"][0]["name"], "team-a");

    let (_, body) = post_json(&platform, Some(&token),
        "{ instanceType(where: {id: \"it-small\"}) { spec } groupsConnection(page: 1) { edges { node { name } } pageInfo { currentPage totalPage } } }",
        json!({})).await;
    let d = data(&body);
    assert_eq!(d["instanceType"]["spec"]["limits.memory"], "1.5G");
    assert_eq!(d["groupsConnection"]["pageInfo"]["totalPage"], 1);

    // Invalid input: named field, nothing written.
    let (_, body) = post_json(&platform, Some(&token),
        "mutation { createInstanceType(data: {name: \"bad\", cpuLimit: -1, memoryLimit: 1}) { id } }", json!({})).await;
    assert_eq!(error_code(&body), "REQUEST_BODY_INVALID");
    assert_eq!(body["errors"][0]["extensions"]["field"], "data.cpuLimit");
    let (_, body) = post_json(
        &platform,
        Some(&token),
        "{ instanceType(where: {id: \"bad\"}) { id } }",
        json!({}),
    )
    .await;
    assert_eq!(data(&body)["instanceType"], serde_json::Value::Null);
    platform.shutdown().await.unwrap();
}

/// `primehub dev` runs the watcher: the demo's roles are all kept (it writes nothing for
/// them), a resource created straight in the cluster gets its role, and the API's own
/// role-then-resource create costs the watcher no write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watcher_runs_in_dev_and_loses_nothing() {
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use primehub_keycloak::{KeycloakAdmin, Page};
    use primehub_reconcile::{KubeApi, Typed};

    let platform = platform().await;
    let stats = platform.role_sync.clone();
    let listed = || stats.lists_applied.load(Ordering::Relaxed) >= 3;
    for _ in 0..1000 {
        if listed() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(listed(), "the watcher listed the three kinds");
    assert_eq!(stats.created.load(Ordering::Relaxed), 0);
    assert_eq!(stats.deleted.load(Ordering::Relaxed), 0);

    let realm = platform.keycloak.realm(&platform.realm.realm).unwrap();
    let roles = || async {
        realm
            .list_roles(None, Page::first(10_000))
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.name)
            .collect::<Vec<_>>()
    };
    for role in [
        "img:base-notebook",
        "it:cpu-1",
        "it:cpu-2",
        "it:gpu-1",
        "it:gpu-2",
    ] {
        assert!(roles().await.iter().any(|r| r == role), "{role}");
    }

    // Through the API: role first, then the resource; the watcher finds the role there.
    let token = admin_token(&platform);
    let (status, body) = post_form(
        &platform,
        &token,
        "mutation { createImage(data: {name: \"img-api\", url: \"r/i:1\"}) { id } }",
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // Straight into the cluster: the watcher makes the role.
    let images: Typed<primehub_model::crd::image::Image> = Typed::namespaced(
        std::sync::Arc::new(platform.cluster.clone()) as std::sync::Arc<dyn KubeApi>,
        primehub_graphql::dev::NAMESPACE,
    );
    let object = serde_json::from_value(json!({
        "apiVersion": "primehub.io/v1alpha1", "kind": "Image",
        "metadata": {"name": "img-kubectl"}, "spec": {"url": "r/k:1"}
    }))
    .unwrap();
    images.create(&object).await.unwrap();
    for _ in 0..1000 {
        if roles().await.iter().any(|r| r == "img:img-kubectl") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(roles().await.iter().any(|r| r == "img:img-kubectl"));
    assert_eq!(
        stats.created.load(Ordering::Relaxed),
        1,
        "only img-kubectl's role"
    );
    platform.shutdown().await.unwrap();
}

/// `POST /api/v1/namespaces/hub/pods` to `primehub dev` is admitted or denied by PrimeHub's
/// resource-validation webhook in process, with quotas the API just set; and the webhook's
/// GraphQL quota source (what `primehub-webhook --quota-source graphql` uses in an existing
/// install) reads the same quotas from this API with the shared secret.
#[tokio::test]
async fn dev_admits_pods_against_the_quotas_the_api_sets() {
    use std::time::Duration;

    use primehub_model::names::primehub_labels;
    use primehub_reconcile::webhook::quotas::{GraphqlQuotas, QuotaSource};

    let platform = platform().await;
    let token = platform
        .access_token(&platform.admin_username, ADMIN_PASSWORD)
        .unwrap();
    let (_, groups) = post_json(&platform, Some(&token), "{ groups { id name } }", json!({})).await;
    let id = groups["data"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "phusers")
        .map(|g| g["id"].as_str().unwrap().to_owned())
        .unwrap();
    let (status, updated) = post_json(
        &platform,
        Some(&token),
        "mutation($id: ID!) { updateGroup(where: {id: $id}, data: {quotaCpu: 1, projectQuotaMemory: 1.5}) { quotaCpu projectQuotaMemory } }",
        json!({"id": id}),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["data"]["updateGroup"]["quotaCpu"], 1.0, "{updated}");

    let pod = |name: &str, cpu: &str| {
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": primehub_labels("phadmin", "phusers")},
            "spec": {
                "initContainers": [{"name": "admission-is-not-found", "image": "admission-is-not-found", "command": ["false"]}],
                "containers": [{"name": "notebook", "image": "jupyter/base-notebook",
                                "resources": {"limits": {"cpu": cpu, "memory": "1Gi"}}}]
            }
        })
    };
    let pods_url = format!("{}/api/v1/namespaces/hub/pods", platform.url());
    let created = http()
        .post(&pods_url)
        .json(&pod("jupyter-phadmin", "800m"))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let created: Value = created.json().await.unwrap();
    // The sentinel is removed, and the empty list is not stored (as kube-apiserver stores an
    // empty list: not at all).
    assert_eq!(
        created["spec"]["initContainers"],
        Value::Null,
        "the sentinel is removed"
    );

    let refused = http()
        .post(&pods_url)
        .json(&pod("job-1", "300m"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 410);
    let status: Value = refused.json().await.unwrap();
    assert_eq!(
        status["message"],
        "admission webhook \"resources-validation-webhook.primehub.io\" denied the request: \
         User phadmin exceeded cpu quota: 1, requesting 0.3"
    );
    let refused = http()
        .post(&pods_url)
        .json(&pod("job-2", "100m"))
        .send()
        .await
        .unwrap();
    // 1 GiB used + 1 GiB asked is over the group's 1.5 GiB.
    let status: Value = refused.json().await.unwrap();
    assert_eq!(
        status["message"],
        "admission webhook \"resources-validation-webhook.primehub.io\" denied the request: \
         Group phusers exceeded memory quota: 1610612736, requesting 1073741824"
    );

    let graphql = GraphqlQuotas::new(
        &platform.graphql_url(),
        SHARED_SECRET,
        Duration::from_secs(10),
    )
    .unwrap();
    let quotas = graphql.group_quotas("phusers").await.unwrap().unwrap();
    assert_eq!(quotas.user.cpu.map(|c| c.millis()), Some(1000));
    assert_eq!(quotas.user.memory, None);
    assert_eq!(quotas.group.memory.map(|m| m.bytes()), Some(3 << 29));
    // "phuser" is contained in "phusers", but only an exact name counts.
    assert_eq!(graphql.group_quotas("phuser").await.unwrap(), None);
    let wrong = GraphqlQuotas::new(
        &platform.graphql_url(),
        "not-the-secret",
        Duration::from_secs(10),
    )
    .unwrap();
    let error = wrong.group_quotas("phusers").await.unwrap_err().to_string();
    assert!(error.contains("graphql"), "{error}");
}

/// `primehub dev` as a user sees jobs: submitted through GraphQL, held by the group's quota
/// while another job runs, then run to completion by the controllers and the pod simulator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submitted_jobs_queue_on_the_group_quota_and_run_to_success() {
    let platform = platform_with_jobs().await;
    let token = admin_token(&platform);
    let (_, body) = post_json(
        &platform,
        Some(&token),
        "{ me { groups { id name } } }",
        json!({}),
    )
    .await;
    let group = data(&body)["me"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "phusers")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // One CPU for the whole group: two cpu-1 jobs cannot run together.
    let (_, body) = post_json(
        &platform,
        Some(&token),
        "mutation($id: ID!) { updateGroup(where: {id: $id}, data: {projectQuotaCpu: 1}) { id } }",
        json!({"id": group}),
    )
    .await;
    assert!(body.get("errors").is_none(), "{body}");
    let submit = |command: &'static str| {
        let (platform, token, group) = (&platform, token.clone(), group.clone());
        async move {
            let (_, body) = post_json(
                platform,
                Some(&token),
                "mutation($d: PhJobCreateInput!) { createPhJob(data: $d) { id } }",
                json!({"d": {"displayName": command, "groupId": group, "instanceType": "cpu-1",
                             "image": "base-notebook", "command": command}}),
            )
            .await;
            data(&body)["createPhJob"]["id"]
                .as_str()
                .unwrap_or_else(|| panic!("{body}"))
                .to_owned()
        }
    };
    let first = submit("sleep 4; echo first").await;
    let second = submit("echo second").await;
    let job = |id: String| {
        let (platform, token) = (&platform, token.clone());
        async move {
            let (_, body) = post_json(
                platform,
                Some(&token),
                "query($id: ID!) { phJob(where: {id: $id}) { phase startTime finishTime } }",
                json!({"id": id}),
            )
            .await;
            data(&body)["phJob"].clone()
        }
    };
    let text = |v: &Value, key: &str| v[key].as_str().unwrap_or_default().to_owned();
    // Creation times have whole seconds: two jobs made in one second are ordered by name,
    // so either may go first. One must wait while the other is started.
    let started = |phase: &str| phase == "Preparing" || phase == "Running";
    let mut seen_held = false;
    for _ in 0..600 {
        let (a, b) = (job(first.clone()).await, job(second.clone()).await);
        let (a, b) = (text(&a, "phase"), text(&b, "phase"));
        if (started(&a) && b == "Pending") || (started(&b) && a == "Pending") {
            seen_held = true;
        }
        if a == "Succeeded" && b == "Succeeded" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(seen_held, "one job waited while the other was started");
    let (a, b) = (job(first).await, job(second).await);
    assert_eq!(text(&a, "phase"), "Succeeded", "{a}");
    assert_eq!(text(&b, "phase"), "Succeeded", "{b}");
    platform.shutdown().await.unwrap();
}

/// Deleting a group stops its jobs — the running one (its pod deleted) and the queued one —
/// and removes its schedules, whatever phase they are in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_group_stops_its_jobs_and_removes_its_schedules() {
    let platform = platform_with_jobs().await;
    let token = admin_token(&platform);
    let ask = |query: &'static str, variables: Value| {
        let (platform, token) = (&platform, token.clone());
        async move {
            let (_, body) = post_json(platform, Some(&token), query, variables).await;
            body
        }
    };
    let me = ask("{ me { id } }", json!({})).await;
    let me = data(&me)["me"]["id"].as_str().unwrap().to_owned();
    let body = ask(
        "mutation($d: GroupCreateInput!) { createGroup(data: $d) { id } }",
        json!({"d": {"name": "doomed", "projectQuotaCpu": 1, "users": {"connect": [{"id": me}]}}}),
    )
    .await;
    let group = data(&body)["createGroup"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();
    let input = |command: &str| {
        json!({"displayName": command, "groupId": group, "instanceType": "cpu-1",
               "image": "base-notebook", "command": command})
    };
    let submit = |command: &'static str| {
        let (ask, d) = (&ask, json!({"d": input(command)}));
        async move {
            let body = ask(
                "mutation($d: PhJobCreateInput!) { createPhJob(data: $d) { id } }",
                d,
            )
            .await;
            data(&body)["createPhJob"]["id"]
                .as_str()
                .unwrap_or_else(|| panic!("{body}"))
                .to_owned()
        }
    };
    let mut schedule = input("echo nightly");
    schedule["recurrence"] = json!({"type": "daily"});
    let body = ask(
        "mutation($d: PhScheduleCreateInput!) { createPhSchedule(data: $d) { id } }",
        json!({"d": schedule}),
    )
    .await;
    let schedule_id = data(&body)["createPhSchedule"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();
    let job = |id: String| {
        let ask = &ask;
        async move {
            let body = ask(
                "query($id: ID!) { phJob(where: {id: $id}) { phase message } }",
                json!({"id": id}),
            )
            .await;
            data(&body)["phJob"].clone()
        }
    };
    let schedules = || async {
        let body = ask("{ phSchedules { id } }", json!({})).await;
        data(&body)["phSchedules"].as_array().map_or(0, |all| {
            all.iter()
                .filter(|s| s["id"] == schedule_id.as_str())
                .count()
        })
    };
    // The first job runs (one CPU for the group), then the second is held.
    let first = submit("sleep 600").await;
    let mut running = false;
    for _ in 0..300 {
        if job(first.clone()).await["phase"] == "Running" {
            running = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(running, "the first job runs");
    assert_eq!(schedules().await, 1);
    let second = submit("echo queued").await;
    for _ in 0..10 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let b = job(second.clone()).await;
        assert_eq!(b["phase"], "Pending", "the second job is held: {b}");
    }

    let body = ask(
        "mutation($id: ID!) { deleteGroup(where: {id: $id}) { id } }",
        json!({"id": group}),
    )
    .await;
    assert!(body.get("errors").is_none(), "{body}");
    let (mut a, mut b) = (Value::Null, Value::Null);
    for _ in 0..300 {
        (a, b) = (job(first.clone()).await, job(second.clone()).await);
        if a["phase"] == "Cancelled" && b["phase"] == "Cancelled" && schedules().await == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    for j in [&a, &b] {
        assert_eq!(j["phase"], "Cancelled", "{j}");
        assert_eq!(j["message"], "Cancelled: group doomed was deleted", "{j}");
    }
    assert_eq!(schedules().await, 0, "the group's schedule is removed");
    let pods: kube::Api<k8s_openapi::api::core::v1::Pod> =
        kube::Api::namespaced(platform.cluster.client(), "hub");
    assert!(
        pods.get_opt(&first).await.unwrap().is_none(),
        "the running job's pod is deleted"
    );
    platform.shutdown().await.unwrap();
}

/// `primehub dev`: enabling a group's shared volume through GraphQL writes the claim as
/// PrimeHub's console does (`K8sGroupPvc`), and the group-volume controller makes its NFS
/// Service, StatefulSet and PersistentVolume in the fake cluster; deleting the group removes them
/// (the fake plays the garbage collector; it has no PV controller, so the claim stays Pending).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enabling_a_shared_volume_makes_its_nfs_server_and_volume() {
    use k8s_openapi::api::apps::v1::StatefulSet;
    use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Service};

    let platform = platform().await;
    let token = admin_token(&platform);
    let (_, body) = post_json(
        &platform,
        Some(&token),
        "mutation($d: GroupCreateInput!) { createGroup(data: $d) { id name } }",
        json!({"d": {"name": "ML_Team", "enabledSharedVolume": true, "sharedVolumeCapacity": 2}}),
    )
    .await;
    let id = data(&body)["createGroup"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let client = platform.cluster.client();
    let claims: kube::Api<PersistentVolumeClaim> = kube::Api::namespaced(client.clone(), "hub");
    let claim = claims.get("project-ml-team").await.unwrap();
    let claim_json = serde_json::to_value(&claim).unwrap();
    assert_eq!(
        claim_json["metadata"]["annotations"],
        json!({"primehub-group": "ml-team", "primehub-group-sc": "standard"})
    );
    assert_eq!(
        claim_json["spec"]["selector"],
        json!({"matchLabels": {"primehub-group": "ml-team", "primehub-namespace": "hub"}})
    );
    assert_eq!(claim_json["spec"]["storageClassName"], "");

    let services: kube::Api<Service> = kube::Api::namespaced(client.clone(), "hub");
    let servers: kube::Api<StatefulSet> = kube::Api::namespaced(client.clone(), "hub");
    let volumes: kube::Api<PersistentVolume> = kube::Api::all(client.clone());
    let mut found = false;
    for _ in 0..500 {
        if volumes
            .get_opt("hub-nfs-project-ml-team")
            .await
            .unwrap()
            .is_some()
        {
            found = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(found, "the volume was not made");
    let volume = volumes.get("hub-nfs-project-ml-team").await.unwrap();
    assert_eq!(volume.spec.unwrap().capacity.unwrap()["storage"].0, "2Gi");
    assert!(
        services
            .get_opt("nfs-project-ml-team")
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        servers
            .get_opt("nfs-project-ml-team")
            .await
            .unwrap()
            .is_some()
    );

    // The group's sharedVolumeState (ours) follows the claim and the server: the fake has no
    // PV controller and no kubelet, so the test binds the claim and readies the server as
    // they would.
    let volume_state = |id: String| {
        let (platform, token) = (&platform, &token);
        async move {
            let (_, body) = post_json(
                platform,
                Some(token),
                "query($w: GroupWhereUniqueInput!) { group(where: $w) { sharedVolumeState { phase reason } } }",
                json!({"w": {"id": id}}),
            )
            .await;
            data(&body)["group"]["sharedVolumeState"].clone()
        }
    };
    let until = |id: String, phase: &'static str| {
        let volume_state = &volume_state;
        async move {
            let mut last = Value::Null;
            for _ in 0..500 {
                last = volume_state(id.clone()).await;
                if last["phase"] == phase {
                    return last;
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            panic!("sharedVolumeState never became {phase}: {last}")
        }
    };
    assert_eq!(
        volume_state(id.clone()).await,
        json!({"phase": "Pending", "reason": null})
    );
    let params = kube::api::PatchParams::default();
    claims
        .patch(
            "project-ml-team",
            &params,
            &kube::api::Patch::Merge(json!({"spec": {"volumeName": "hub-nfs-project-ml-team"}})),
        )
        .await
        .unwrap();
    claims
        .patch_status(
            "project-ml-team",
            &params,
            &kube::api::Patch::Merge(json!({"status": {"phase": "Bound"}})),
        )
        .await
        .unwrap();
    until(id.clone(), "Bound").await;
    servers
        .patch_status(
            "nfs-project-ml-team",
            &params,
            &kube::api::Patch::Merge(json!({"status": {"replicas": 1, "readyReplicas": 1}})),
        )
        .await
        .unwrap();
    until(id.clone(), "Ready").await;
    // Lost (its volume deleted by hand): Failed, with the reason.
    claims
        .patch_status(
            "project-ml-team",
            &params,
            &kube::api::Patch::Merge(json!({"status": {"phase": "Lost"}})),
        )
        .await
        .unwrap();
    let failed = until(id.clone(), "Failed").await;
    assert_eq!(
        failed["reason"],
        "claim project-ml-team: lost its volume hub-nfs-project-ml-team"
    );
    // A group without a shared volume has no state.
    let (_, body) = post_json(
        &platform,
        Some(&token),
        "mutation($d: GroupCreateInput!) { createGroup(data: $d) { id sharedVolumeState { phase } } }",
        json!({"d": {"name": "plain"}}),
    )
    .await;
    assert_eq!(data(&body)["createGroup"]["sharedVolumeState"], Value::Null);

    // Deleting the group deletes the claim (as PrimeHub, turning the flag off keeps the
    // volume); the children follow.
    let (_, body) = post_json(
        &platform,
        Some(&token),
        "mutation($w: GroupWhereUniqueInput!) { deleteGroup(where: $w) { id } }",
        json!({"w": {"id": id}}),
    )
    .await;
    data(&body);
    let mut gone = false;
    for _ in 0..500 {
        if services
            .get_opt("nfs-project-ml-team")
            .await
            .unwrap()
            .is_none()
            && servers
                .get_opt("nfs-project-ml-team")
                .await
                .unwrap()
                .is_none()
            && volumes
                .get_opt("hub-nfs-project-ml-team")
                .await
                .unwrap()
                .is_none()
        {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(gone, "the children were not removed");
    platform.shutdown().await.unwrap();
}

/// The storage-class mode (PrimeHub's `PRIMEHUB_GROUP_VOLUME_STORAGE_CLASS`): the group's claim
/// is created with the `ReadWriteMany` class, without the `primehub-group` annotation and
/// selector, so the group-volume controller makes no NFS server; `sharedVolumeState` is `Ready`
/// once the class's provisioner binds the claim (the test binds it, as the fake has none).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storage_class_shared_volume_gets_no_nfs_server() {
    use k8s_openapi::api::apps::v1::StatefulSet;
    use k8s_openapi::api::core::v1::PersistentVolumeClaim;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let options = primehub_graphql::dev::DevOptions {
        admin_password: ADMIN_PASSWORD.into(),
        shared_secret: Some(SHARED_SECRET.into()),
        jobs: false,
        shared_volume_storage_class: Some("rwx-files".into()),
        ..primehub_graphql::dev::DevOptions::default()
    };
    let platform = primehub_graphql::dev::DevPlatform::start(listener, &options)
        .await
        .expect("platform starts");
    let token = admin_token(&platform);
    let (_, body) = post_json(
        &platform,
        Some(&token),
        "mutation($d: GroupCreateInput!) { createGroup(data: $d) { id sharedVolumeState { phase reason } } }",
        json!({"d": {"name": "ML_Team", "enabledSharedVolume": true, "sharedVolumeCapacity": 3}}),
    )
    .await;
    let created = &data(&body)["createGroup"];
    assert_eq!(
        created["sharedVolumeState"],
        json!({"phase": "Pending", "reason": null})
    );
    let id = created["id"].as_str().unwrap().to_owned();

    let client = platform.cluster.client();
    let claims: kube::Api<PersistentVolumeClaim> = kube::Api::namespaced(client.clone(), "hub");
    let claim = serde_json::to_value(claims.get("project-ml-team").await.unwrap()).unwrap();
    assert_eq!(claim["spec"]["storageClassName"], "rwx-files");
    assert_eq!(claim["spec"]["accessModes"], json!(["ReadWriteMany"]));
    assert_eq!(claim["spec"]["resources"]["requests"]["storage"], "3Gi");
    assert_eq!(claim["metadata"].get("annotations"), None, "{claim}");
    assert_eq!(claim["spec"].get("selector"), None, "{claim}");

    // The provisioner binds it: Ready, and still no NFS server.
    claims
        .patch_status(
            "project-ml-team",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(json!({"status": {"phase": "Bound"}})),
        )
        .await
        .unwrap();
    let mut state = Value::Null;
    for _ in 0..500 {
        let (_, body) = post_json(
            &platform,
            Some(&token),
            "query($w: GroupWhereUniqueInput!) { group(where: $w) { sharedVolumeState { phase } } }",
            json!({"w": {"id": id}}),
        )
        .await;
        state = data(&body)["group"]["sharedVolumeState"]["phase"].clone();
        if state == "Ready" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(state, "Ready");
    let servers: kube::Api<StatefulSet> = kube::Api::namespaced(client, "hub");
    assert!(
        servers
            .get_opt("nfs-project-ml-team")
            .await
            .unwrap()
            .is_none(),
        "no NFS server in the storage-class mode"
    );
    platform.shutdown().await.unwrap();
}
