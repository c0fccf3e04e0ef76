//! The GraphQL flows a PrimeHub client runs, over HTTP only, written once and run against two
//! targets: `primehub dev`'s platform on the fakes (`fake_flows`) and the `primehub-apiserver`
//! binary on the real Keycloak and the real kube-apiserver (`real_apiserver`). A difference
//! between the fake and the real backends shows up as one of the two runs failing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use primehub_keycloak::{KeycloakAdmin, NewUser};
use serde_json::{Value, json};

/// The administrator's password the targets are bootstrapped with.
pub const ADMIN_PASSWORD: &str = "Flow-Admin-Passw0rd";
/// The shared secret the targets are started with.
pub const SHARED_SECRET: &str = "flow-shared-secret";
/// How soon a change made directly in Keycloak must show in the API (the bound).
pub const STALENESS_BOUND: Duration = Duration::from_secs(10);

/// Where the flows run.
pub struct Target {
    /// What it is, for messages (`fake`, `real`).
    pub label: &'static str,
    /// The API server's base URL (`/api/graphql`, `/api/token`, `/healthz`…).
    pub api_url: String,
    /// The realm's token endpoint.
    pub token_endpoint: String,
    /// The `admin-ui` client's secret.
    pub client_secret: String,
    /// Another admin client on the same realm, for changes made behind the API's back.
    pub keycloak: Arc<dyn KeycloakAdmin>,
}

fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

impl Target {
    /// An access token from the realm's token endpoint (password grant through `admin-ui`),
    /// as the console or the SDK gets one.
    pub async fn password_token(&self, username: &str, password: &str) -> String {
        let response = http()
            .post(&self.token_endpoint)
            .form(&[
                ("grant_type", "password"),
                ("client_id", "admin-ui"),
                ("client_secret", self.client_secret.as_str()),
                ("username", username),
                ("password", password),
                ("scope", "openid"),
            ])
            .send()
            .await
            .expect("the token endpoint answers");
        let status = response.status();
        let body: Value = response.json().await.expect("a JSON token response");
        assert!(
            status.is_success(),
            "[{}] password grant: {body}",
            self.label
        );
        body["access_token"]
            .as_str()
            .expect("an access token")
            .to_owned()
    }

    /// POSTs a query as JSON with a bearer credential; the HTTP status and the body.
    pub async fn post(&self, token: &str, query: &str, variables: Value) -> (u16, Value) {
        let response = http()
            .post(format!("{}/api/graphql", self.api_url))
            .bearer_auth(token)
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await
            .expect("the API answers");
        let status = response.status().as_u16();
        let body: Value = response.json().await.expect("a JSON GraphQL response");
        (status, body)
    }

    /// `data` of a query that must succeed.
    pub async fn data(&self, token: &str, query: &str, variables: Value) -> Value {
        let (status, body) = self.post(token, query, variables).await;
        assert!(
            status == 200 && body.get("errors").is_none(),
            "[{}] {query}\n→ HTTP {status}: {body}",
            self.label
        );
        body["data"].clone()
    }

    async fn get_status(&self, path: &str) -> u16 {
        http()
            .get(format!("{}{path}", self.api_url))
            .send()
            .await
            .expect("the API answers")
            .status()
            .as_u16()
    }
}

fn names(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("a list: {list}"))
        .iter()
        .filter_map(|item| item[key].as_str().map(str::to_owned))
        .collect()
}

fn edge_names(connection: &Value, key: &str) -> Vec<String> {
    connection["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("a connection: {connection}"))
        .iter()
        .filter_map(|edge| edge["node"][key].as_str().map(str::to_owned))
        .collect()
}

/// Runs every flow against `target`, whose realm has `phadmin` (password [`ADMIN_PASSWORD`])
/// and whose namespace holds nothing of PrimeHub's yet.
pub async fn run_all(target: &Target) {
    let label = target.label;
    assert_eq!(
        target.get_status("/healthz").await,
        200,
        "[{label}] healthz"
    );
    assert_eq!(target.get_status("/readyz").await, 200, "[{label}] readyz");

    // Anonymous and bad credentials reveal nothing.
    let (status, body) = target.post("not-a-token", "{ me { id } }", json!({})).await;
    assert_eq!(status, 401, "[{label}] {body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_AUTH");

    let admin = target.password_token("phadmin", ADMIN_PASSWORD).await;
    let me = target
        .data(&admin, "{ me { id username isAdmin } }", json!({}))
        .await;
    assert_eq!(me["me"]["username"], "phadmin", "[{label}]");
    assert_eq!(me["me"]["isAdmin"], true, "[{label}]");
    // The shared secret is the server-to-server client.
    let system = target
        .data(SHARED_SECRET, "{ system { timezone { name } } }", json!({}))
        .await;
    assert!(system["system"].is_object(), "[{label}] {system}");

    // ---- creates ----
    let group = target
        .data(
            &admin,
            "mutation($d: GroupCreateInput!) { createGroup(data: $d) { id name displayName quotaCpu enabledSharedVolume sharedVolumeCapacity } }",
            json!({"d": {"name": "flow-team", "displayName": "Flow Team", "quotaCpu": 2,
                         "enabledSharedVolume": true, "sharedVolumeCapacity": 1}}),
        )
        .await;
    let group = &group["createGroup"];
    assert_eq!(group["quotaCpu"], 2.0, "[{label}] {group}");
    assert_eq!(group["enabledSharedVolume"], true, "[{label}] {group}");
    let gid = group["id"].as_str().expect("group id").to_owned();

    let user = target
        .data(
            &admin,
            "mutation($d: UserCreateInput!) { createUser(data: $d) { id username email groups { name } } }",
            json!({"d": {"username": "flow-alice", "email": "flow-alice@example.com",
                         "groups": {"connect": [{"id": gid}]}}}),
        )
        .await;
    let uid = user["createUser"]["id"]
        .as_str()
        .expect("user id")
        .to_owned();
    assert!(
        names(&user["createUser"]["groups"], "name").contains(&"flow-team".to_owned()),
        "[{label}] {user}"
    );
    let alice_password = "Flow-Alice-Passw0rd";
    let reset = target
        .data(
            &admin,
            "mutation($id: String, $p: String) { resetPassword(id: $id, password: $p, temporary: false) { id } }",
            json!({"id": uid, "p": alice_password}),
        )
        .await;
    assert_eq!(reset["resetPassword"]["id"], uid.as_str(), "[{label}]");

    let it = target
        .data(
            &admin,
            "mutation($d: InstanceTypeCreateInput!) { createInstanceType(data: $d) { id name cpuLimit memoryLimit global groups { name } } }",
            json!({"d": {"name": "flow-cpu", "cpuLimit": 1, "memoryLimit": 1.5,
                         "groups": {"connect": [{"id": gid}]}}}),
        )
        .await;
    assert_eq!(it["createInstanceType"]["memoryLimit"], 1.5, "[{label}]");
    assert_eq!(it["createInstanceType"]["global"], false, "[{label}]");

    let image = target
        .data(
            &admin,
            "mutation($d: ImageCreateInput!) { createImage(data: $d) { id name url global } }",
            json!({"d": {"name": "flow-img", "displayName": "Flow image",
                         "url": "jupyter/base-notebook:latest", "global": true}}),
        )
        .await;
    assert_eq!(image["createImage"]["global"], true, "[{label}]");

    let dataset = target
        .data(
            &admin,
            "mutation($d: DatasetCreateInput!) { createDataset(data: $d) { id } }",
            json!({"d": {"name": "flow-env", "type": "env", "variables": {"FLOW_A": "1"},
                         "groups": {"connect": [{"id": gid, "writable": false}]}}}),
        )
        .await;
    assert_eq!(dataset["createDataset"]["id"], "flow-env", "[{label}]");

    let secret = target
        .data(
            &admin,
            "mutation($d: SecretCreateInput!) { createSecret(data: $d) { id name type displayName } }",
            json!({"d": {"name": "flow-key", "type": "opaque", "displayName": "Flow key",
                         "secret": "-----BEGIN KEY-----\nflow\n-----END KEY-----\n"}}),
        )
        .await;
    let secret_id = secret["createSecret"]["id"]
        .as_str()
        .expect("secret id")
        .to_owned();
    assert_eq!(secret_id, "gitsync-secret-flow-key", "[{label}]");

    // Conflicts and unknown ids carry PrimeHub's codes, whichever backend answers.
    let conflicts = [
        (
            "mutation { createGroup(data: {name: \"flow-team\"}) { id } }",
            "GROUP_CONFLICT_NAME",
        ),
        (
            "mutation { createUser(data: {username: \"flow-alice\"}) { id } }",
            "USER_CONFLICT_USERNAME",
        ),
        (
            "mutation { createUser(data: {username: \"flow-other\", email: \"flow-alice@example.com\"}) { id } }",
            "USER_CONFLICT_EMAIL",
        ),
        (
            "mutation { createInstanceType(data: {name: \"flow-cpu\", cpuLimit: 1, memoryLimit: 1}) { id } }",
            "RESOURCE_CONFLICT",
        ),
        (
            "mutation { createSecret(data: {name: \"flow-key\", type: opaque, secret: \"x\"}) { id } }",
            "RESOURCE_CONFLICT",
        ),
        (
            "mutation { deleteImage(where: {id: \"flow-no-such-image\"}) { id } }",
            "RESOURCE_NOT_FOUND",
        ),
        (
            "mutation { updateGroup(where: {id: \"no-such-group-id\"}, data: {displayName: \"x\"}) { id } }",
            "RESOURCE_NOT_FOUND",
        ),
    ];
    for (mutation, code) in conflicts {
        let (_, body) = target.post(&admin, mutation, json!({})).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], code,
            "[{label}] {mutation}: {body}"
        );
    }

    // Names are checked before anything is written.
    let (_, body) = target
        .post(
            &admin,
            "mutation { createImage(data: {name: \"Bad_Name\", url: \"x\"}) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "REQUEST_BODY_INVALID",
        "[{label}] {body}"
    );

    // ---- lists and connections ----
    let lists = target
        .data(
            &admin,
            "{ groups { name } users { username } instanceTypes { name } images { name } datasets { name } secrets { id }
               usersConnection(where: {username_contains: \"flow-\"}) { edges { node { username } } pageInfo { totalPage currentPage } }
               groupsConnection(page: 1) { edges { node { name } } pageInfo { totalPage currentPage } }
               instanceTypesConnection(first: 10) { edges { node { name } } }
               imagesConnection(first: 10) { edges { node { name } } }
               datasetsConnection(first: 10) { edges { node { name } } }
               secretsConnection(first: 10) { edges { node { id } } }
               byDisplayName: images(where: {displayName_contains: \"Flow\"}) { name }
               byName: groups(where: {name_contains: \"flow-\"}) { name }
               noMatch: instanceTypes(where: {name_contains: \"nothing-like-it\"}) { name } }",
            json!({}),
        )
        .await;
    assert!(
        names(&lists["groups"], "name").contains(&"flow-team".to_owned()),
        "[{label}] {lists}"
    );
    assert!(
        names(&lists["users"], "username").contains(&"flow-alice".to_owned()),
        "[{label}]"
    );
    assert_eq!(
        names(&lists["instanceTypes"], "name"),
        ["flow-cpu"],
        "[{label}]"
    );
    assert_eq!(names(&lists["images"], "name"), ["flow-img"], "[{label}]");
    assert_eq!(names(&lists["datasets"], "name"), ["flow-env"], "[{label}]");
    assert_eq!(
        names(&lists["secrets"], "id"),
        [secret_id.as_str()],
        "[{label}]"
    );
    assert_eq!(
        edge_names(&lists["usersConnection"], "username"),
        ["flow-alice"],
        "[{label}]"
    );
    assert_eq!(
        lists["usersConnection"]["pageInfo"]["totalPage"], 1,
        "[{label}]"
    );
    assert!(edge_names(&lists["groupsConnection"], "name").contains(&"flow-team".to_owned()));
    assert_eq!(
        edge_names(&lists["instanceTypesConnection"], "name"),
        ["flow-cpu"]
    );
    assert_eq!(edge_names(&lists["imagesConnection"], "name"), ["flow-img"]);
    assert_eq!(
        edge_names(&lists["datasetsConnection"], "name"),
        ["flow-env"]
    );
    assert_eq!(
        edge_names(&lists["secretsConnection"], "id"),
        [secret_id.as_str()]
    );

    // What alice may launch: her group's instance type and dataset, the global image.
    let alice = target.password_token("flow-alice", alice_password).await;
    let mine = target
        .data(
            &alice,
            "{ me { username isAdmin effectiveGroups { name instanceTypes { name } images { name } datasets { name } } } }",
            json!({}),
        )
        .await;
    assert_eq!(mine["me"]["username"], "flow-alice", "[{label}]");
    assert_eq!(mine["me"]["isAdmin"], false, "[{label}]");
    let groups = mine["me"]["effectiveGroups"].as_array().expect("groups");
    let team = groups
        .iter()
        .find(|g| g["name"] == "flow-team")
        .unwrap_or_else(|| panic!("[{label}] flow-team among {groups:?}"));
    assert_eq!(
        names(&team["instanceTypes"], "name"),
        ["flow-cpu"],
        "[{label}]"
    );
    assert_eq!(names(&team["images"], "name"), ["flow-img"], "[{label}]");
    assert_eq!(names(&team["datasets"], "name"), ["flow-env"], "[{label}]");
    // A plain user reads no other user.
    let (_, body) = target
        .post(&alice, "{ users { username } }", json!({}))
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "NOT_AUTH",
        "[{label}] {body}"
    );

    // ---- jobs and schedules: created as PrimeHub writes them, read from the job store ----
    let me = target
        .data(&alice, "{ me { groups { id name } } }", json!({}))
        .await;
    let team_id = me["me"]["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| g["name"] == "flow-team")
        .and_then(|g| g["id"].as_str())
        .unwrap_or_else(|| panic!("[{label}] flow-team in {me}"))
        .to_owned();
    let job = target
        .data(
            &alice,
            "mutation($d: PhJobCreateInput!) { createPhJob(data: $d) { id phase userName groupName logEndpoint instanceType { name } } }",
            json!({"d": {"displayName": "flow job", "groupId": team_id, "instanceType": "flow-cpu",
                         "image": "flow-img", "command": "echo flow", "activeDeadlineSeconds": 60}}),
        )
        .await;
    let job = &job["createPhJob"];
    let job_id = job["id"].as_str().expect("a job id").to_owned();
    assert!(job_id.starts_with("job-"), "[{label}] {job}");
    assert_eq!(job["phase"], "Pending", "[{label}] {job}");
    assert_eq!(job["userName"], "flow-alice", "[{label}] {job}");
    assert_eq!(job["instanceType"]["name"], "flow-cpu", "[{label}] {job}");
    let listed = target
        .data(&alice, "{ phJobs(where: {mine: true}) { id } }", json!({}))
        .await;
    assert_eq!(
        names(&listed["phJobs"], "id"),
        [job_id.as_str()],
        "[{label}]"
    );
    // The log endpoint answers (no pod yet: an empty log).
    let log_url = job["logEndpoint"].as_str().expect("logEndpoint");
    assert!(
        log_url.ends_with(&format!("/phjobs/{job_id}")),
        "[{label}] {log_url}"
    );
    let path = &log_url[log_url.find("/logs/").expect("a log path")..];
    let response = http()
        .get(format!("{}{path}?follow=false", target.api_url))
        .header("authorization", format!("Bearer {alice}"))
        .send()
        .await
        .expect("log request");
    assert_eq!(response.status().as_u16(), 200, "[{label}]");
    let cancelled = target
        .data(
            &alice,
            "mutation($id: ID!) { cancelPhJob(where: {id: $id}) { id } }",
            json!({ "id": job_id }),
        )
        .await;
    assert_eq!(cancelled["cancelPhJob"]["id"], job_id.as_str(), "[{label}]");
    let read = target
        .data(
            &alice,
            "query($id: ID!) { phJob(where: {id: $id}) { phase cancel } }",
            json!({ "id": job_id }),
        )
        .await;
    assert_eq!(
        read["phJob"],
        json!({"phase": "Cancelled", "cancel": true}),
        "[{label}]"
    );
    let schedule = target
        .data(
            &alice,
            "mutation($d: PhScheduleCreateInput!) { createPhSchedule(data: $d) { id recurrence { type cron } } }",
            json!({"d": {"displayName": "flow schedule", "groupId": team_id, "instanceType": "flow-cpu",
                         "image": "flow-img", "command": "echo flow", "recurrence": {"type": "custom", "cron": "0 3 * * *"}}}),
        )
        .await;
    let schedule_id = schedule["createPhSchedule"]["id"]
        .as_str()
        .expect("a schedule id")
        .to_owned();
    assert_eq!(
        schedule["createPhSchedule"]["recurrence"],
        json!({"type": "custom", "cron": "0 3 * * *"}),
        "[{label}]"
    );
    let ran = target
        .data(
            &alice,
            "mutation($id: ID!) { runPhSchedule(where: {id: $id}) { job { id displayName } } }",
            json!({ "id": schedule_id }),
        )
        .await;
    assert_eq!(
        ran["runPhSchedule"]["job"]["displayName"], "flow schedule",
        "[{label}]"
    );
    let removed = target
        .data(
            &alice,
            "mutation($id: ID!) { deletePhSchedule(where: {id: $id}) { id } }",
            json!({ "id": schedule_id }),
        )
        .await;
    assert_eq!(
        removed["deletePhSchedule"]["id"],
        schedule_id.as_str(),
        "[{label}]"
    );
    let (_, body) = target
        .post(
            &alice,
            "query($id: ID!) { phSchedule(where: {id: $id}) { id } }",
            json!({ "id": schedule_id }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "RESOURCE_NOT_FOUND",
        "[{label}] {body}"
    );

    // ---- updates ----
    let updated = target
        .data(
            &admin,
            "mutation($id: ID!) {
               updateGroup(where: {id: $id}, data: {displayName: \"Flow Team 2\", quotaCpu: 3}) { displayName quotaCpu }
               updateInstanceType(where: {id: \"flow-cpu\"}, data: {cpuLimit: 2}) { cpuLimit }
               updateImage(where: {id: \"flow-img\"}, data: {description: \"updated\"}) { description }
               updateDataset(where: {id: \"flow-env\"}, data: {description: \"updated\"}) { id }
               updateSecret(where: {id: \"gitsync-secret-flow-key\"}, data: {displayName: \"Flow key 2\"}) { displayName }
             }",
            json!({"id": gid}),
        )
        .await;
    assert_eq!(
        updated["updateGroup"]["displayName"], "Flow Team 2",
        "[{label}]"
    );
    assert_eq!(updated["updateGroup"]["quotaCpu"], 3.0, "[{label}]");
    assert_eq!(updated["updateInstanceType"]["cpuLimit"], 2.0, "[{label}]");
    assert_eq!(
        updated["updateImage"]["description"], "updated",
        "[{label}]"
    );
    assert_eq!(
        updated["updateSecret"]["displayName"], "Flow key 2",
        "[{label}]"
    );
    let user_update = target
        .data(
            &admin,
            "mutation($id: ID!) { updateUser(where: {id: $id}, data: {firstName: \"Alice\"}) { firstName } }",
            json!({"id": uid}),
        )
        .await;
    assert_eq!(user_update["updateUser"]["firstName"], "Alice", "[{label}]");
    let reread = target
        .data(
            &admin,
            "{ dataset(where: {id: \"flow-env\"}) { description variables } }",
            json!({}),
        )
        .await;
    assert_eq!(reread["dataset"]["description"], "updated", "[{label}]");
    assert_eq!(reread["dataset"]["variables"]["FLOW_A"], "1", "[{label}]");

    // ---- API tokens ----
    let response = http()
        .post(format!("{}/api/token", target.api_url))
        .form(&[("username", "flow-alice"), ("password", alice_password)])
        .send()
        .await
        .expect("POST /api/token");
    assert_eq!(response.status().as_u16(), 200, "[{label}]");
    let issued: Value = response.json().await.expect("JSON");
    let api_token = issued["apiToken"].as_str().expect("an apiToken").to_owned();
    let with_token = target
        .data(&api_token, "{ me { username } }", json!({}))
        .await;
    assert_eq!(with_token["me"]["username"], "flow-alice", "[{label}]");
    let count = target
        .data(
            &admin,
            "query($id: ID!) { user(where: {id: $id}) { apiTokenCount } }",
            json!({"id": uid}),
        )
        .await;
    assert_eq!(count["user"]["apiTokenCount"], 1, "[{label}]");
    let response = http()
        .post(format!("{}/api/token", target.api_url))
        .form(&[("username", "flow-alice"), ("password", "wrong")])
        .send()
        .await
        .expect("POST /api/token");
    assert_eq!(response.status().as_u16(), 401, "[{label}] wrong password");
    let revoked = target
        .data(
            &admin,
            "mutation($id: String) { revokeApiToken(userId: $id) { id } }",
            json!({"id": uid}),
        )
        .await;
    assert_eq!(revoked["revokeApiToken"]["id"], uid.as_str(), "[{label}]");
    let count = target
        .data(
            &admin,
            "query($id: ID!) { user(where: {id: $id}) { apiTokenCount } }",
            json!({"id": uid}),
        )
        .await;
    assert_eq!(count["user"]["apiTokenCount"], 0, "[{label}]");

    // ---- a change made directly in Keycloak shows within the bound ----
    let started = Instant::now();
    let bob = target
        .keycloak
        .create_user(&NewUser {
            username: "flow-bob".into(),
            enabled: true,
            ..NewUser::default()
        })
        .await
        .expect("creating a user directly in Keycloak");
    target
        .keycloak
        .add_member(&gid, &bob)
        .await
        .expect("adding him to the group directly in Keycloak");
    loop {
        let seen = target
            .data(
                &admin,
                "query($id: ID!) { group(where: {id: $id}) { users { username } } }",
                json!({"id": gid}),
            )
            .await;
        if names(&seen["group"]["users"], "username").contains(&"flow-bob".to_owned()) {
            break;
        }
        assert!(
            started.elapsed() < STALENESS_BOUND,
            "[{label}] a member added in Keycloak was not visible within {STALENESS_BOUND:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!(
        "[{label}] a member added directly in Keycloak was visible after {:?}",
        started.elapsed()
    );

    // ---- deletes ----
    let deleted = target
        .data(
            &admin,
            "mutation($gid: ID!, $uid: ID!, $bob: ID!) {
               deleteSecret(where: {id: \"gitsync-secret-flow-key\"}) { id }
               deleteDataset(where: {id: \"flow-env\"}) { id }
               deleteImage(where: {id: \"flow-img\"}) { id }
               deleteInstanceType(where: {id: \"flow-cpu\"}) { id }
               alice: deleteUser(where: {id: $uid}) { id }
               bob: deleteUser(where: {id: $bob}) { id }
               deleteGroup(where: {id: $gid}) { id }
             }",
            json!({"gid": gid, "uid": uid, "bob": bob}),
        )
        .await;
    assert_eq!(
        deleted["deleteGroup"]["id"],
        gid.as_str(),
        "[{label}] {deleted}"
    );
    let after = target
        .data(
            &admin,
            "{ groups { name } users { username } instanceTypes { name } images { name } datasets { name } secrets { id } }",
            json!({}),
        )
        .await;
    assert!(
        !names(&after["groups"], "name").contains(&"flow-team".to_owned()),
        "[{label}]"
    );
    assert!(
        !names(&after["users"], "username")
            .iter()
            .any(|u| u.starts_with("flow-")),
        "[{label}] {after}"
    );
    for kind in ["instanceTypes", "images", "datasets"] {
        assert_eq!(after[kind], json!([]), "[{label}] {kind}");
    }
    assert_eq!(after["secrets"], json!([]), "[{label}]");
    // The resources' roles went with them.
    for role in ["it:flow-cpu", "img:flow-img", "ds:flow-env"] {
        let gone = target.keycloak.get_role(role).await;
        assert!(gone.is_err(), "[{label}] role {role} is left: {gone:?}");
    }
}
