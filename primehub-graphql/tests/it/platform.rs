//! End to end on the fakes over HTTP: the demo platform as clients see it.

use serde_json::json;

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
