//! Bad input: every mutation rejects a wrong type, a missing required field, an invalid name, a
//! negative quota or size, an unknown id and the domain rules with an error naming the field
//! and the rule — and writes nothing, proven by reading the fake Keycloak and the fake cluster
//! before and after each attempt. Plus: a multi-step write whose later step fails leaves no
//! trace (role, custom resource, PVC, group or user).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Secret};
use primehub_graphql::dev::{DevOptions, DevPlatform};
use primehub_keycloak::faults::FaultyAdmin;
use primehub_keycloak::{KeycloakAdmin, KeycloakError, Page};
use primehub_model::crd::dataset::Dataset;
use primehub_model::crd::image::Image;
use primehub_model::crd::instance_type::InstanceType;
use primehub_reconcile::admission::{AdmissionHandler, AdmissionRequest, AdmissionResponse};
use primehub_reconcile::{KubeApi, ListOptions, ResourceKind, Typed};
use serde_json::{Value, json};

use crate::support::*;

/// The platform's state as the backends hold it: every user (with admin flag, credentials and
/// groups), group (with attributes, role mappings and members), realm role, the realm settings,
/// the e-mails sent, and every image, instance type, dataset, secret and PVC of namespace `hub`
/// (with its resourceVersion, so any write shows).
type World = BTreeMap<String, Value>;

async fn world(platform: &DevPlatform) -> World {
    let kc = platform
        .keycloak
        .realm(&platform.realm.realm)
        .expect("the realm");
    let mut w = World::new();
    let all = Page::first(10_000);
    for user in kc.search_users(None, all).await.expect("users") {
        let mut groups: Vec<String> = kc
            .user_groups(&user.id)
            .await
            .expect("user groups")
            .into_iter()
            .map(|g| g.name)
            .collect();
        groups.sort();
        let entry = json!({
            "admin": kc.is_admin(&user.id).await.expect("admin flag"),
            "credentials": kc.user_credentials(&user.id).await.expect("credentials"),
            "groups": groups,
            "user": user,
        });
        w.insert(format!("user/{}", user.username), entry);
    }
    for group in kc.search_groups(None, all).await.expect("groups") {
        let mut roles: Vec<String> = kc
            .list_group_roles(&group.id)
            .await
            .expect("group roles")
            .into_iter()
            .map(|r| r.name)
            .collect();
        roles.sort();
        let mut members: Vec<String> = kc
            .list_members(&group.id, all)
            .await
            .expect("members")
            .into_iter()
            .map(|u| u.username)
            .collect();
        members.sort();
        let entry = json!({"group": group, "roles": roles, "members": members});
        w.insert(format!("group/{}", group.name), entry);
    }
    for role in kc.list_roles(None, all).await.expect("roles") {
        w.insert(format!("role/{}", role.name), json!(role));
    }
    w.insert(
        "realm".into(),
        json!(format!("{:?}", kc.realm_settings().await.expect("realm"))),
    );
    w.insert(
        "emails".into(),
        json!(format!("{:?}", kc.sent_emails().expect("emails"))),
    );
    for kind in [
        ResourceKind::of::<Image>(),
        ResourceKind::of::<InstanceType>(),
        ResourceKind::of::<Dataset>(),
        ResourceKind::of::<Secret>(),
        ResourceKind::of::<PersistentVolumeClaim>(),
    ] {
        let list = platform
            .cluster
            .list(&kind, Some("hub"), &ListOptions::default())
            .await
            .expect("list");
        for object in list.items {
            let name = object.metadata.name.clone().unwrap_or_default();
            w.insert(
                format!("{}/{name}", kind.plural),
                serde_json::to_value(&object).expect("JSON"),
            );
        }
    }
    w
}

/// Fails with every key that differs between `before` and `after`.
fn assert_same(before: &World, after: &World, what: &str) {
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let diffs: Vec<String> = keys
        .into_iter()
        .filter(|k| before.get(*k) != after.get(*k))
        .map(|k| {
            format!(
                "  {k}:\n    before {}\n    after  {}",
                before.get(k).map_or("(none)".into(), Value::to_string),
                after.get(k).map_or("(none)".into(), Value::to_string)
            )
        })
        .collect();
    assert!(
        diffs.is_empty(),
        "{what}\nchanged the state:\n{}",
        diffs.join("\n")
    );
}

/// The objects a test starts from, besides the demo seed.
struct Fx {
    platform: DevPlatform,
    token: String,
    ids: Vec<(&'static str, String)>,
}

/// What an attempt must answer.
enum Want {
    /// Our rule error: `REQUEST_BODY_INVALID`, `extensions.field`, the message naming the
    /// field and saying the rule.
    Rule(&'static str, &'static str),
    /// An error with this code whose message says this.
    Code(&'static str, &'static str),
    /// async-graphql's own validation: the message names the argument (`data.cpuLimit`,
    /// `where`) and says the rule (the expected type, or what is required).
    Schema(&'static str, &'static str),
}

use Want::{Code, Rule, Schema};

const ALICE_PASSWORD: &str = "alice-password-1";

impl Fx {
    /// Without the watcher: these tests compare the whole state right after each write.
    async fn new() -> Fx {
        Fx::on(platform_without_controllers().await).await
    }

    async fn on(platform: DevPlatform) -> Fx {
        let token = admin_token(&platform);
        let mut fx = Fx {
            platform,
            token,
            ids: Vec::new(),
        };
        let team = fx
            .ok("createGroup(data: {name: \"team-a\", quotaCpu: 2}) { id }")
            .await["createGroup"]["id"]
            .as_str()
            .expect("id")
            .to_owned();
        fx.ids.push(("@team", team));
        let my_group = fx
            .ok("createGroup(data: {name: \"My_Group\"}) { id }")
            .await["createGroup"]["id"]
            .as_str()
            .expect("id")
            .to_owned();
        fx.ids.push(("@mygroup", my_group));
        for (key, user) in [
            (
                "@alice",
                "{username: \"alice\", email: \"alice@example.com\", groups: {connect: [{id: \"@team\"}]}}",
            ),
            ("@bob", "{username: \"bob\", email: \"bob@example.com\"}"),
            ("@carol", "{username: \"carol\"}"),
        ] {
            let id = fx.ok(&format!("createUser(data: {user}) {{ id }}")).await["createUser"]["id"]
                .as_str()
                .expect("id")
                .to_owned();
            fx.ids.push((key, id));
        }
        fx.ok(&format!(
            "resetPassword(id: \"@alice\", password: \"{ALICE_PASSWORD}\") {{ id }}"
        ))
        .await;
        fx.ok("createInstanceType(data: {name: \"it-a\", cpuLimit: 2, memoryLimit: 4, cpuRequest: 1, memoryRequest: 2}) { id }").await;
        fx.ok("createImage(data: {name: \"img-plain\", url: \"registry/plain:1\"}) { id }")
            .await;
        fx.ok("createImage(data: {name: \"img-built\", imageSpec: {baseImage: \"ubuntu:22.04\"}}) { id }").await;
        fx.ok("createDataset(data: {name: \"ds-git\", type: \"git\", url: \"https://example.com/r.git\"}) { id }").await;
        fx.ok("createDataset(data: {name: \"ds-pv\", type: \"pv\", volumeSize: 1, groups: {connect: [{id: \"@team\", writable: true}]}}) { id }").await;
        fx.ok("createSecret(data: {name: \"sec-a\", secret: \"ssh-key\"}) { id }")
            .await;
        fx
    }

    fn expand(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (key, id) in &self.ids {
            out = out.replace(key, id);
        }
        out
    }

    /// Runs `mutation { <body> }`, which must succeed.
    async fn ok(&self, body: &str) -> Value {
        let query = format!("mutation {{ {} }}", self.expand(body));
        let (_, response) = post_json(&self.platform, Some(&self.token), &query, json!({})).await;
        data(&response).clone()
    }

    /// Runs `mutation { <body> }` (variables `vars`) as the admin, checks the error against
    /// `want`, and checks nothing was written.
    async fn rejects_with(&self, body: &str, vars: Value, want: Want) -> Value {
        let query = self.expand(body);
        let query = if query.starts_with("mutation") {
            query
        } else {
            format!("mutation {{ {query} }}")
        };
        let before = world(&self.platform).await;
        let (_, response) = post_json(&self.platform, Some(&self.token), &query, vars).await;
        let error = &response["errors"][0];
        assert!(error.is_object(), "{query}: no error in {response}");
        let message = error["message"].as_str().unwrap_or_default();
        let code = error["extensions"]["code"].as_str().unwrap_or_default();
        match want {
            Rule(field, says) => {
                assert_eq!(code, "REQUEST_BODY_INVALID", "{query}: {response}");
                assert_eq!(
                    error["extensions"]["field"], field,
                    "{query}: the field: {response}"
                );
                assert!(
                    message.contains(field) && message.contains(says),
                    "{query}: the message must name {field:?} and say {says:?}: {message}"
                );
            }
            Code(want_code, says) => {
                assert_eq!(code, want_code, "{query}: {response}");
                assert!(
                    message.contains(says),
                    "{query}: the message must say {says:?}: {message}"
                );
            }
            Schema(argument, says) => {
                let named = format!("argument \"{argument}\"");
                assert!(
                    message.contains(&named) && message.contains(says),
                    "{query}: the message must name {named} and say {says:?}: {message}"
                );
            }
        }
        if let Some(fields) = response["data"].as_object() {
            assert!(
                fields.values().all(Value::is_null),
                "{query}: an error with data: {response}"
            );
        }
        let after = world(&self.platform).await;
        assert_same(&before, &after, &query);
        assert!(
            self.platform.access_token("alice", ALICE_PASSWORD).is_ok(),
            "{query}: alice's password changed"
        );
        response
    }

    async fn rejects(&self, body: &str, want: Want) -> Value {
        self.rejects_with(body, json!({}), want).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn system_settings_reject_bad_input() {
    let fx = Fx::new().await;
    let cases = [
        (
            "updateSystem(data: {defaultUserVolumeCapacity: \"ten\"}) { org { name } }",
            Schema("data.defaultUserVolumeCapacity", "expected type \"Int\""),
        ),
        (
            "updateSystem { org { name } }",
            Schema("data", "is required but not provided"),
        ),
        (
            "updateSystem(data: {defaultUserVolumeCapacity: -1}) { org { name } }",
            Rule("data.defaultUserVolumeCapacity", "must be 0 or more"),
        ),
        (
            "updateSystem(data: {org: {name: \"Acme\", logo: {url: \"http://x/l.png\", size: -5}}}) { org { name } }",
            Rule("data.org.logo.size", "must be 0 or more"),
        ),
        (
            "updateSystem(data: {timezone: {name: \"Mars/Olympus\"}}) { org { name } }",
            Rule("data.timezone.name", "not a known time zone"),
        ),
        (
            "updateSystem(data: {smtp: {host: \"smtp.example.com\", from: \"a@example.com\", port: 70000}}) { org { name } }",
            Rule("data.smtp.port", "must be a port number"),
        ),
        (
            "updateSystem(data: {smtp: {host: \"smtp.example.com\", from: \"a@example.com\", port: 0}}) { org { name } }",
            Rule("data.smtp.port", "must be a port number"),
        ),
        (
            "updateSystem(data: {smtp: {from: \"a@example.com\"}}) { org { name } }",
            Rule("data.smtp.host", "is required"),
        ),
        (
            "updateSystem(data: {smtp: {host: \"smtp.example.com\"}}) { org { name } }",
            Rule("data.smtp.from", "is required"),
        ),
    ];
    for (body, want) in cases {
        fx.rejects(body, want).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_mutations_reject_bad_input() {
    let fx = Fx::new().await;
    let cases = [
        // createUser
        (
            "createUser(data: {username: \"dave\", volumeCapacity: \"big\"}) { id }",
            Schema("data.volumeCapacity", "expected type \"Int\""),
        ),
        (
            "createUser(data: {email: \"dave@example.com\"}) { id }",
            Schema("data", "field \"username\" of type \"String!\" is required"),
        ),
        (
            "createUser(data: {username: \"Dave!\"}) { id }",
            Rule("data.username", "lower-case letters"),
        ),
        (
            "createUser(data: {username: \"-dave\"}) { id }",
            Rule("data.username", "starting with a letter or digit"),
        ),
        (
            "createUser(data: {username: \"\"}) { id }",
            Rule("data.username", "lower-case letters"),
        ),
        (
            "createUser(data: {username: \"dave\", volumeCapacity: -1}) { id }",
            Rule("data.volumeCapacity", "must be 0 or more"),
        ),
        (
            "createUser(data: {username: \"dave\", groups: {connect: [{id: \"@team\"}, {id: \"no-such-group\"}]}}) { id }",
            Rule("data.groups.connect[1].id", "no group has id no-such-group"),
        ),
        (
            "createUser(data: {username: \"dave\", email: \"not-an-email\"}) { id }",
            Rule("data.email", "must be an email address"),
        ),
        (
            "createUser(data: {username: \"dave\", sendEmail: true}) { id }",
            Rule("data.email", "is required to send an activation email"),
        ),
        (
            "createUser(data: {username: \"dave\", email: \"dave@example.com\", sendEmail: true, expiresIn: -5}) { id }",
            Rule("data.expiresIn", "must be a positive number of seconds"),
        ),
        (
            "createUser(data: {username: \"dave\", email: \"dave@example.com\", sendEmail: true, resetActions: {set: [\"DANCE\"]}}) { id }",
            Rule("data.resetActions.set[0]", "must be one of"),
        ),
        (
            "createUser(data: {username: \"alice\"}) { id }",
            Code("USER_CONFLICT_USERNAME", "same username"),
        ),
        (
            "createUser(data: {username: \"alice2\", email: \"alice@example.com\"}) { id }",
            Code("USER_CONFLICT_EMAIL", "same email"),
        ),
        // updateUser
        (
            "updateUser(where: {id: \"@alice\"}, data: {enabled: \"yes\"}) { id }",
            Schema("data.enabled", "expected type \"Boolean\""),
        ),
        (
            "updateUser(data: {firstName: \"A\"}) { id }",
            Schema("where", "is required but not provided"),
        ),
        (
            "updateUser(where: {id: \"no-such-user\"}, data: {firstName: \"A\"}) { id }",
            Code("RESOURCE_NOT_FOUND", "no-such-user"),
        ),
        (
            "updateUser(where: {id: \"@alice\"}, data: {username: \"alicia\"}) { id }",
            Rule("data.username", "cannot be changed"),
        ),
        (
            "updateUser(where: {id: \"@alice\"}, data: {volumeCapacity: -3}) { id }",
            Rule("data.volumeCapacity", "must be 0 or more"),
        ),
        (
            "updateUser(where: {id: \"@alice\"}, data: {email: \"alice at example\"}) { id }",
            Rule("data.email", "must be an email address"),
        ),
        (
            "updateUser(where: {id: \"@alice\"}, data: {groups: {connect: [{id: \"no-such-group\"}]}}) { id }",
            Rule("data.groups.connect[0].id", "no group has id"),
        ),
        (
            "updateUser(where: {id: \"@alice\"}, data: {groups: {disconnect: [{id: \"no-such-group\"}]}}) { id }",
            Rule("data.groups.disconnect[0].id", "no group has id"),
        ),
        (
            "updateUser(where: {id: \"@alice\"}, data: {email: \"bob@example.com\"}) { id }",
            Code("USER_CONFLICT_EMAIL", "same email"),
        ),
        // deleteUser
        (
            "deleteUser { id }",
            Schema("where", "is required but not provided"),
        ),
        (
            "deleteUser(where: {id: true}) { id }",
            Schema("where.id", "expected type \"ID\""),
        ),
        (
            "deleteUser(where: {id: \"no-such-user\"}) { id }",
            Code("RESOURCE_NOT_FOUND", "no-such-user"),
        ),
        // sendEmail
        (
            "sendEmail(id: \"@alice\", expiresIn: \"soon\") { id }",
            Schema("expiresIn", "expected type \"Int\""),
        ),
        ("sendEmail { id }", Rule("id", "is required")),
        (
            "sendEmail(id: \"no-such-user\") { id }",
            Code("USER_NOT_EXIST", "no-such-user"),
        ),
        (
            "sendEmail(id: \"@carol\") { id }",
            Code("USER_EMAIL_NOT_EXIST", "no email"),
        ),
        (
            "sendEmail(id: \"@alice\", expiresIn: -1) { id }",
            Rule("expiresIn", "must be a positive number of seconds"),
        ),
        (
            "sendEmail(id: \"@alice\", resetActions: [\"UPDATE_PASSWORD\", \"DANCE\"]) { id }",
            Rule("resetActions[1]", "must be one of"),
        ),
        // sendMultiEmail
        (
            "sendMultiEmail(in: \"@alice\", expiresIn: \"soon\") { status }",
            Schema("expiresIn", "expected type \"Int\""),
        ),
        (
            "sendMultiEmail(in: [\"@alice\", \"no-such-user\"]) { status }",
            Rule("in[1]", "no user has id no-such-user"),
        ),
        (
            "sendMultiEmail(in: [\"@alice\"], expiresIn: 0) { status }",
            Rule("expiresIn", "must be a positive number of seconds"),
        ),
        (
            "sendMultiEmail(in: [\"@alice\"], resetActions: [\"DANCE\"]) { status }",
            Rule("resetActions[0]", "must be one of"),
        ),
        // resetPassword
        (
            "resetPassword(id: \"@alice\", password: \"x\", temporary: \"yes\") { id }",
            Schema("temporary", "expected type \"Boolean\""),
        ),
        (
            "resetPassword(password: \"new-password\") { id }",
            Rule("id", "is required"),
        ),
        (
            "resetPassword(id: \"@alice\") { id }",
            Rule("password", "is required"),
        ),
        (
            "resetPassword(id: \"@alice\", password: \"\") { id }",
            Rule("password", "must not be empty"),
        ),
        (
            "resetPassword(id: \"no-such-user\", password: \"new-password\") { id }",
            Code("USER_NOT_EXIST", "no-such-user"),
        ),
        // revokeApiToken
        (
            "revokeApiToken(userId: {id: \"@alice\"}) { id }",
            Schema("userId", "expected type \"String\""),
        ),
        (
            "revokeApiToken(userId: \"no-such-user\") { id }",
            Code("USER_NOT_EXIST", "no-such-user"),
        ),
    ];
    for (body, want) in cases {
        fx.rejects(body, want).await;
    }
    // The same through variables: the variable and the field are named.
    fx.rejects_with(
        "mutation($d: UserCreateInput!) { createUser(data: $d) { id } }",
        json!({"d": {"username": "dave", "volumeCapacity": "big"}}),
        Schema("data.volumeCapacity", "expected type \"Int\""),
    )
    .await;
    fx.rejects_with(
        "mutation($d: UserCreateInput!) { createUser(data: $d) { id } }",
        json!({"d": {"email": "dave@example.com"}}),
        Schema("data", "field \"username\" of type \"String!\" is required"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_mutations_reject_bad_input() {
    let fx = Fx::new().await;
    let cases = [
        // createGroup
        (
            "createGroup(data: {name: \"team-b\", quotaCpu: \"lots\"}) { id }",
            Schema("data.quotaCpu", "expected type \"Float\""),
        ),
        (
            "createGroup(data: {displayName: \"Team B\"}) { id }",
            Schema("data", "field \"name\" of type \"String!\" is required"),
        ),
        (
            "createGroup(data: {name: \"b\"}) { id }",
            Rule("data.name", "at least 2 characters"),
        ),
        (
            "createGroup(data: {name: \"_team\"}) { id }",
            Rule("data.name", "must start with a letter or digit"),
        ),
        (
            "createGroup(data: {name: \"team b\"}) { id }",
            Rule("data.name", "only letters, digits"),
        ),
        (
            "createGroup(data: {name: \"team-\"}) { id }",
            Rule("data.name", "letter or digit"),
        ),
        (
            "createGroup(data: {name: \"team-b\", quotaCpu: -1}) { id }",
            Rule("data.quotaCpu", "≥ 0"),
        ),
        (
            "createGroup(data: {name: \"team-b\", quotaGpu: -1}) { id }",
            Rule("data.quotaGpu", "must be 0 or more"),
        ),
        (
            "createGroup(data: {name: \"team-b\", quotaMemory: -0.5}) { id }",
            Rule("data.quotaMemory", "≥ 0"),
        ),
        (
            "createGroup(data: {name: \"team-b\", userVolumeCapacity: -1}) { id }",
            Rule("data.userVolumeCapacity", "must be 0 or more"),
        ),
        (
            "createGroup(data: {name: \"team-b\", projectQuotaCpu: -2}) { id }",
            Rule("data.projectQuotaCpu", "≥ 0"),
        ),
        (
            "createGroup(data: {name: \"team-b\", projectQuotaGpu: -2}) { id }",
            Rule("data.projectQuotaGpu", "must be 0 or more"),
        ),
        (
            "createGroup(data: {name: \"team-b\", projectQuotaMemory: -2}) { id }",
            Rule("data.projectQuotaMemory", "≥ 0"),
        ),
        (
            "createGroup(data: {name: \"team-b\", enabledSharedVolume: true, sharedVolumeCapacity: -1}) { id }",
            Rule("data.sharedVolumeCapacity", "must be 0 or more"),
        ),
        (
            "createGroup(data: {name: \"team-b\", maxDeploy: -1}) { id }",
            Rule("data.maxDeploy", "must be 0 or more"),
        ),
        (
            "createGroup(data: {name: \"team-b\", jobDefaultActiveDeadlineSeconds: -1}) { id }",
            Rule("data.jobDefaultActiveDeadlineSeconds", "must be 0 or more"),
        ),
        (
            "createGroup(data: {name: \"team-b\", enabledSharedVolume: true}) { id }",
            Rule(
                "data.sharedVolumeCapacity",
                "is required when enabledSharedVolume is true",
            ),
        ),
        (
            "createGroup(data: {name: \"team-b\", users: {connect: [{id: \"no-such-user\"}]}}) { id }",
            Rule("data.users.connect[0].id", "no user has id no-such-user"),
        ),
        (
            "createGroup(data: {name: \"team-a\"}) { id }",
            Code("GROUP_CONFLICT_NAME", "same name"),
        ),
        (
            "createGroup(data: {name: \"Team_A\"}) { id }",
            Code("GROUP_CONFLICT_NAME", "same name"),
        ),
        (
            "createGroup(data: {name: \"my-group\"}) { id }",
            Code("GROUP_CONFLICT_NAME", "same name"),
        ),
        (
            "createGroup(data: {name: \"MY-GROUP\"}) { id }",
            Code("GROUP_CONFLICT_NAME", "same name"),
        ),
        // updateGroup
        (
            "updateGroup(where: {id: \"@team\"}, data: {quotaGpu: 1.5}) { id }",
            Schema("data.quotaGpu", "expected type \"Int\""),
        ),
        (
            "updateGroup(data: {quotaGpu: 1}) { id }",
            Schema("where", "is required but not provided"),
        ),
        (
            "updateGroup(where: {id: \"no-such-group\"}, data: {quotaGpu: 1}) { id }",
            Code("RESOURCE_NOT_FOUND", "no-such-group"),
        ),
        (
            "updateGroup(where: {id: \"@team\"}, data: {name: \"team-z\"}) { id }",
            Rule("data.name", "cannot be changed"),
        ),
        (
            "updateGroup(where: {id: \"@team\"}, data: {quotaCpu: -1}) { id }",
            Rule("data.quotaCpu", "≥ 0"),
        ),
        (
            "updateGroup(where: {id: \"@team\"}, data: {projectQuotaMemory: -1}) { id }",
            Rule("data.projectQuotaMemory", "≥ 0"),
        ),
        (
            "updateGroup(where: {id: \"@team\"}, data: {enabledSharedVolume: true}) { id }",
            Rule(
                "data.sharedVolumeCapacity",
                "is required when enabledSharedVolume is true",
            ),
        ),
        (
            "updateGroup(where: {id: \"@team\"}, data: {trackingEnvs: [{name: \"1BAD\", value: \"x\"}]}) { id }",
            Rule("data.trackingEnvs[0].name", "environment variable name"),
        ),
        (
            "updateGroup(where: {id: \"@team\"}, data: {artifactEnvs: [{name: \"OK\", value: \"x\"}, {name: \"has space\", value: \"y\"}]}) { id }",
            Rule("data.artifactEnvs[1].name", "environment variable name"),
        ),
        (
            "updateGroup(where: {id: \"@team\"}, data: {trackingEnvs: [{value: \"x\"}]}) { id }",
            Rule("data.trackingEnvs[0].name", "is required"),
        ),
        (
            "updateGroup(where: {id: \"@team\"}, data: {trackingEnvs: {name: \"A\"}}) { id }",
            Rule("data.trackingEnvs", "must be a list"),
        ),
        (
            "updateGroup(where: {id: \"@team\"}, data: {users: {connect: [{id: \"no-such-user\"}]}}) { id }",
            Rule("data.users.connect[0].id", "no user has id"),
        ),
        (
            "updateGroup(where: {id: \"@team\"}, data: {users: {disconnect: [{id: \"no-such-user\"}]}}) { id }",
            Rule("data.users.disconnect[0].id", "no user has id"),
        ),
        // deleteGroup
        (
            "deleteGroup { id }",
            Schema("where", "is required but not provided"),
        ),
        (
            "deleteGroup(where: {id: \"no-such-group\"}) { id }",
            Code("RESOURCE_NOT_FOUND", "no-such-group"),
        ),
    ];
    for (body, want) in cases {
        fx.rejects(body, want).await;
    }
    // A claim named like the new group's shared volume exists: a conflict, and it is left alone.
    let claim: PersistentVolumeClaim = serde_json::from_value(json!({
        "metadata": {"name": "project-team-x", "namespace": "hub"},
        "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "1Gi"}}},
    }))
    .expect("a claim");
    Typed::<PersistentVolumeClaim>::namespaced(Arc::new(fx.platform.cluster.clone()), "hub")
        .create(&claim)
        .await
        .expect("claim created");
    fx.rejects(
        "createGroup(data: {name: \"Team_X\", enabledSharedVolume: true, sharedVolumeCapacity: 1}) { id }",
        Code("RESOURCE_CONFLICT", "PVC project-team-x already exist"),
    )
    .await;
    let everyone = fx.platform.realm.everyone_group_id.clone();
    fx.rejects(
        &format!("deleteGroup(where: {{id: \"{everyone}\"}}) {{ id }}"),
        Rule("where.id", "the everyone group cannot be deleted"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instance_type_mutations_reject_bad_input() {
    let fx = Fx::new().await;
    let new = |extra: &str| {
        format!(
            "createInstanceType(data: {{name: \"it-b\", cpuLimit: 2, memoryLimit: 4{extra}}}) {{ id }}"
        )
    };
    let cases: Vec<(String, Want)> = vec![
        (
            "createInstanceType(data: {name: \"it-b\", cpuLimit: \"two\", memoryLimit: 4}) { id }".into(),
            Schema("data.cpuLimit", "expected type \"Float\""),
        ),
        (
            "createInstanceType(data: {cpuLimit: 1, memoryLimit: 4}) { id }".into(),
            Schema("data", "field \"name\" of type \"String!\" is required"),
        ),
        (
            "createInstanceType(data: {name: \"It_B\", cpuLimit: 1, memoryLimit: 4}) { id }".into(),
            Rule("data.name", "bad character"),
        ),
        (
            "createInstanceType(data: {name: \"it-b\", memoryLimit: 4}) { id }".into(),
            Rule("data.cpuLimit", "is required"),
        ),
        (
            "createInstanceType(data: {name: \"it-b\", cpuLimit: 1}) { id }".into(),
            Rule("data.memoryLimit", "is required"),
        ),
        (
            "createInstanceType(data: {name: \"it-b\", cpuLimit: 0, memoryLimit: 4}) { id }".into(),
            Rule("data.cpuLimit", "must be greater than 0"),
        ),
        (
            "createInstanceType(data: {name: \"it-b\", cpuLimit: -1, memoryLimit: 4}) { id }".into(),
            Rule("data.cpuLimit", "must be greater than 0"),
        ),
        (
            "createInstanceType(data: {name: \"it-b\", cpuLimit: 1, memoryLimit: 0}) { id }".into(),
            Rule("data.memoryLimit", "must be greater than 0"),
        ),
        (
            new(", gpuLimit: -1"),
            Rule("data.gpuLimit", "must be 0 or more"),
        ),
        (
            new(", cpuRequest: 3"),
            Rule("data.cpuRequest", "must not exceed cpuLimit"),
        ),
        (
            new(", cpuRequest: -1"),
            Rule("data.cpuRequest", "must be greater than 0"),
        ),
        (
            new(", memoryRequest: 4.5"),
            Rule("data.memoryRequest", "must not exceed memoryLimit"),
        ),
        (
            new(", memoryRequest: 0"),
            Rule("data.memoryRequest", "must be greater than 0"),
        ),
        (
            new(", tolerations: {set: [{operator: \"Maybe\", key: \"k\"}]}"),
            Rule("data.tolerations.set[0].operator", "must be Equal or Exists"),
        ),
        (
            new(", tolerations: {set: [{operator: \"Exists\", key: \"k\", value: \"v\"}]}"),
            Rule(
                "data.tolerations.set[0].value",
                "must be empty when operator is Exists",
            ),
        ),
        (
            new(", tolerations: {set: [{operator: \"Exists\"}, {operator: \"Equal\", value: \"v\"}]}"),
            Rule(
                "data.tolerations.set[1].key",
                "is required when operator is Equal",
            ),
        ),
        (
            new(", tolerations: {set: [{operator: \"Equal\", key: \"k\"}]}"),
            Rule(
                "data.tolerations.set[0].value",
                "is required when operator is Equal",
            ),
        ),
        (
            new(", tolerations: {set: [{operator: \"Exists\", effect: \"Sometimes\"}]}"),
            Rule(
                "data.tolerations.set[0].effect",
                "must be NoSchedule, PreferNoSchedule, NoExecute or None",
            ),
        ),
        (
            new(", tolerations: {set: [{key: \"k\"}]}"),
            Schema("data.tolerations.set.0", "field \"operator\" of type \"String!\" is required"),
        ),
        (
            new(", nodeSelector: {disk: 5}"),
            Rule("data.nodeSelector.disk", "must be a string"),
        ),
        (
            new(", nodeSelector: [\"ssd\"]"),
            Rule("data.nodeSelector", "must be an object of strings"),
        ),
        (
            new(", groups: {connect: [{id: \"no-such-group\"}]}"),
            Rule("data.groups.connect[0].id", "no group has id no-such-group"),
        ),
        (
            "createInstanceType(data: {name: \"cpu-1\", cpuLimit: 1, memoryLimit: 1}) { id }".into(),
            Code("RESOURCE_CONFLICT", "Resource already exist"),
        ),
        (
            "createInstanceType(data: {name: \"it-a\", cpuLimit: 1, memoryLimit: 1}) { id }".into(),
            Code("RESOURCE_CONFLICT", "Resource already exist"),
        ),
        // updateInstanceType (it-a: cpu 2 / request 1, memory 4 / request 2)
        (
            "updateInstanceType(where: {id: \"it-a\"}, data: {gpuLimit: \"one\"}) { id }".into(),
            Schema("data.gpuLimit", "expected type \"Int\""),
        ),
        (
            "updateInstanceType(data: {cpuLimit: 1}) { id }".into(),
            Schema("where", "is required but not provided"),
        ),
        (
            "updateInstanceType(where: {id: \"no-such-type\"}, data: {cpuLimit: 1}) { id }".into(),
            Code("RESOURCE_NOT_FOUND", "no-such-type"),
        ),
        (
            "updateInstanceType(where: {id: \"it-a\"}, data: {name: \"it-z\"}) { id }".into(),
            Rule("data.name", "cannot be changed"),
        ),
        (
            "updateInstanceType(where: {id: \"it-a\"}, data: {cpuLimit: 0}) { id }".into(),
            Rule("data.cpuLimit", "must be greater than 0"),
        ),
        (
            "updateInstanceType(where: {id: \"it-a\"}, data: {memoryLimit: -4}) { id }".into(),
            Rule("data.memoryLimit", "must be greater than 0"),
        ),
        (
            "updateInstanceType(where: {id: \"it-a\"}, data: {gpuLimit: -1}) { id }".into(),
            Rule("data.gpuLimit", "must be 0 or more"),
        ),
        (
            "updateInstanceType(where: {id: \"it-a\"}, data: {cpuRequest: 2.5}) { id }".into(),
            Rule("data.cpuRequest", "must not exceed cpuLimit"),
        ),
        (
            "updateInstanceType(where: {id: \"it-a\"}, data: {memoryRequest: 5}) { id }".into(),
            Rule("data.memoryRequest", "must not exceed memoryLimit"),
        ),
        (
            "updateInstanceType(where: {id: \"it-a\"}, data: {cpuLimit: 0.5}) { id }".into(),
            Rule("data.cpuLimit", "must not be below cpuRequest"),
        ),
        (
            "updateInstanceType(where: {id: \"it-a\"}, data: {memoryLimit: 1}) { id }".into(),
            Rule("data.memoryLimit", "must not be below memoryRequest"),
        ),
        (
            "updateInstanceType(where: {id: \"it-a\"}, data: {tolerations: {set: [{operator: \"Exists\", value: \"v\"}]}}) { id }".into(),
            Rule(
                "data.tolerations.set[0].value",
                "must be empty when operator is Exists",
            ),
        ),
        (
            "updateInstanceType(where: {id: \"it-a\"}, data: {groups: {connect: [{id: \"no-such-group\"}]}}) { id }".into(),
            Rule("data.groups.connect[0].id", "no group has id"),
        ),
        (
            "updateInstanceType(where: {id: \"it-a\"}, data: {groups: {disconnect: [{id: \"no-such-group\"}]}}) { id }".into(),
            Rule("data.groups.disconnect[0].id", "no group has id"),
        ),
        // deleteInstanceType
        ("deleteInstanceType { id }".into(), Schema("where", "is required but not provided")),
        (
            "deleteInstanceType(where: {id: \"no-such-type\"}) { id }".into(),
            Code("RESOURCE_NOT_FOUND", "no-such-type"),
        ),
    ];
    for (body, want) in cases {
        fx.rejects(&body, want).await;
    }
    // Lowering a limit together with its request is fine.
    let d = fx
        .ok("updateInstanceType(where: {id: \"it-a\"}, data: {cpuLimit: 0.5, cpuRequest: 0.5}) { cpuLimit cpuRequest }")
        .await;
    assert_eq!(d["updateInstanceType"]["cpuRequest"], 0.5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_mutations_reject_bad_input() {
    let fx = Fx::new().await;
    let cases = [
        (
            "createImage(data: {name: \"img-b\", global: \"yes\"}) { id }",
            Schema("data.global", "expected type \"Boolean\""),
        ),
        (
            "createImage(data: {url: \"registry/b:1\"}) { id }",
            Schema("data", "field \"name\" of type \"String!\" is required"),
        ),
        (
            "createImage(data: {name: \"Img B\", url: \"registry/b:1\"}) { id }",
            Rule("data.name", "bad character"),
        ),
        (
            "createImage(data: {name: \"img-b\", type: \"tpu\"}) { id }",
            Rule("data.type", "must be cpu, gpu or both"),
        ),
        (
            "createImage(data: {name: \"img-b\", groupName: \"no-such-group\"}) { id }",
            Rule("data.groupName", "no group is named no-such-group"),
        ),
        (
            "createImage(data: {name: \"img-b\", groups: {connect: [{id: \"no-such-group\"}]}}) { id }",
            Rule("data.groups.connect[0].id", "no group has id"),
        ),
        (
            "createImage(data: {name: \"img-b\", imageSpec: {packages: {pip: [\"numpy\"]}}}) { id }",
            Rule("data.imageSpec.baseImage", "is required"),
        ),
        (
            "createImage(data: {name: \"base-notebook\", url: \"registry/b:1\"}) { id }",
            Code("RESOURCE_CONFLICT", "Resource already exist"),
        ),
        // updateImage
        (
            "updateImage(where: {id: \"img-plain\"}, data: {type: 3}) { id }",
            Schema("data.type", "expected type \"String\""),
        ),
        (
            "updateImage(data: {url: \"x\"}) { id }",
            Schema("where", "is required but not provided"),
        ),
        (
            "updateImage(where: {id: \"no-such-image\"}, data: {url: \"x\"}) { id }",
            Code("RESOURCE_NOT_FOUND", "no-such-image"),
        ),
        (
            "updateImage(where: {id: \"img-plain\"}, data: {name: \"img-z\"}) { id }",
            Rule("data.name", "cannot be changed"),
        ),
        (
            "updateImage(where: {id: \"img-plain\"}, data: {type: \"tpu\"}) { id }",
            Rule("data.type", "must be cpu, gpu or both"),
        ),
        (
            "updateImage(where: {id: \"img-plain\"}, data: {groupName: \"no-such-group\"}) { id }",
            Rule("data.groupName", "no group is named"),
        ),
        (
            "updateImage(where: {id: \"img-plain\"}, data: {imageSpec: {baseImage: \"\"}}) { id }",
            Rule("data.imageSpec.baseImage", "is required"),
        ),
        (
            "updateImage(where: {id: \"img-plain\"}, data: {groups: {connect: [{id: \"no-such-group\"}]}}) { id }",
            Rule("data.groups.connect[0].id", "no group has id"),
        ),
        (
            "updateImage(where: {id: \"img-plain\"}, data: {groups: {disconnect: [{id: \"no-such-group\"}]}}) { id }",
            Rule("data.groups.disconnect[0].id", "no group has id"),
        ),
        // deleteImage
        (
            "deleteImage { id }",
            Schema("where", "is required but not provided"),
        ),
        (
            "deleteImage(where: {id: \"no-such-image\"}) { id }",
            Code("RESOURCE_NOT_FOUND", "no-such-image"),
        ),
        // rebuildImage
        (
            "rebuildImage(where: {id: \"img-built\"}) { id }",
            Schema("data", "is required but not provided"),
        ),
        (
            "rebuildImage(where: {id: \"img-built\"}, data: {cancel: \"no\"}) { id }",
            Schema("data.cancel", "expected type \"Boolean\""),
        ),
        (
            "rebuildImage(where: {id: \"no-such-image\"}, data: {}) { id }",
            Code("RESOURCE_NOT_FOUND", "no-such-image"),
        ),
        (
            "rebuildImage(where: {id: \"img-plain\"}, data: {}) { id }",
            Rule("where.id", "has no build request"),
        ),
        // cancelImageBuild
        (
            "cancelImageBuild { id }",
            Schema("where", "is required but not provided"),
        ),
        (
            "cancelImageBuild(where: {id: \"no-such-image\"}) { id }",
            Code("RESOURCE_NOT_FOUND", "no-such-image"),
        ),
        (
            "cancelImageBuild(where: {id: \"img-plain\"}) { id }",
            Rule("where.id", "has no build request"),
        ),
    ];
    for (body, want) in cases {
        fx.rejects(body, want).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dataset_mutations_reject_bad_input() {
    let fx = Fx::new().await;
    let cases = [
        (
            "createDataset(data: {name: \"ds-b\", type: \"pv\", volumeSize: \"big\"}) { id }",
            Schema("data.volumeSize", "expected type \"Float\""),
        ),
        (
            "createDataset(data: {type: \"env\"}) { id }",
            Schema("data", "field \"name\" of type \"String!\" is required"),
        ),
        (
            "createDataset(data: {name: \"ds.\", type: \"env\"}) { id }",
            Rule(
                "data.name",
                "must start and end with a lowercase letter or digit",
            ),
        ),
        (
            "createDataset(data: {name: \"ds-b\"}) { id }",
            Rule("data.type", "is required"),
        ),
        (
            "createDataset(data: {name: \"ds-b\", type: \"s3\"}) { id }",
            Rule("data.type", "must be pv, nfs, hostPath, git or env"),
        ),
        (
            "createDataset(data: {name: \"ds-b\", type: \"git\"}) { id }",
            Rule("data.url", "is required for git datasets"),
        ),
        (
            "createDataset(data: {name: \"ds-b\", type: \"nfs\", nfsPath: \"/data\"}) { id }",
            Rule("data.nfsServer", "is required for nfs datasets"),
        ),
        (
            "createDataset(data: {name: \"ds-b\", type: \"nfs\", nfsServer: \"10.0.0.1\"}) { id }",
            Rule("data.nfsPath", "is required for nfs datasets"),
        ),
        (
            "createDataset(data: {name: \"ds-b\", type: \"hostPath\", hostPath: \"\"}) { id }",
            Rule("data.hostPath", "is required for hostPath datasets"),
        ),
        (
            "createDataset(data: {name: \"ds-b\", type: \"pv\"}) { id }",
            Rule("data.volumeSize", "at least 1"),
        ),
        (
            "createDataset(data: {name: \"ds-b\", type: \"pv\", pvProvisioning: \"auto\", volumeSize: 0}) { id }",
            Rule("data.volumeSize", "at least 1"),
        ),
        (
            "createDataset(data: {name: \"ds-b\", type: \"pv\", volumeSize: -5}) { id }",
            Rule("data.volumeSize", "at least 1"),
        ),
        (
            "createDataset(data: {name: \"ds-b\", type: \"pv\", volumeSize: 1.5}) { id }",
            Rule("data.volumeSize", "whole number of GB"),
        ),
        (
            "createDataset(data: {name: \"ds-b\", type: \"pv\", pvProvisioning: \"magic\", volumeSize: 1}) { id }",
            Rule("data.pvProvisioning", "must be auto or manual"),
        ),
        (
            "createDataset(data: {name: \"ds-b\", type: \"env\", variables: {A: 2}}) { id }",
            Rule("data.variables.A", "must be a string"),
        ),
        (
            "createDataset(data: {name: \"ds-b\", type: \"env\", variables: [\"A\"]}) { id }",
            Rule("data.variables", "must be an object of strings"),
        ),
        (
            "createDataset(data: {name: \"ds-b\", type: \"git\", url: \"https://x/r.git\", enableUploadServer: true}) { id }",
            Rule(
                "data.enableUploadServer",
                "is only for pv, nfs and hostPath",
            ),
        ),
        (
            "createDataset(data: {name: \"ds-b\", type: \"git\", url: \"https://x/r.git\", secret: {connect: {id: \"gitsync-secret-nope\"}}}) { id }",
            Rule(
                "data.secret.connect.id",
                "no secret has id gitsync-secret-nope",
            ),
        ),
        (
            "createDataset(data: {name: \"ds-b\", type: \"env\", groups: {connect: [{id: \"no-such-group\", writable: true}]}}) { id }",
            Rule("data.groups.connect[0].id", "no group has id"),
        ),
        (
            "createDataset(data: {name: \"ds-git\", type: \"env\"}) { id }",
            Code("RESOURCE_CONFLICT", "Resource already exist"),
        ),
        // updateDataset
        (
            "updateDataset(where: {id: \"ds-git\"}, data: {global: \"yes\"}) { id }",
            Schema("data.global", "expected type \"Boolean\""),
        ),
        (
            "updateDataset(data: {description: \"x\"}) { id }",
            Schema("where", "is required but not provided"),
        ),
        (
            "updateDataset(where: {id: \"no-such-dataset\"}, data: {description: \"x\"}) { id }",
            Code("RESOURCE_NOT_FOUND", "no-such-dataset"),
        ),
        (
            "updateDataset(where: {id: \"ds-git\"}, data: {name: \"ds-z\"}) { id }",
            Rule("data.name", "cannot be changed"),
        ),
        (
            "updateDataset(where: {id: \"ds-git\"}, data: {type: \"s3\"}) { id }",
            Rule("data.type", "must be pv, nfs, hostPath, git or env"),
        ),
        (
            "updateDataset(where: {id: \"ds-git\"}, data: {url: \"\"}) { id }",
            Rule("data.url", "is required for git datasets"),
        ),
        (
            "updateDataset(where: {id: \"ds-git\"}, data: {type: \"nfs\", nfsPath: \"/data\"}) { id }",
            Rule("data.nfsServer", "is required for nfs datasets"),
        ),
        (
            "updateDataset(where: {id: \"ds-git\"}, data: {type: \"hostPath\"}) { id }",
            Rule("data.hostPath", "is required for hostPath datasets"),
        ),
        (
            "updateDataset(where: {id: \"ds-git\"}, data: {secret: {connect: {id: \"gitsync-secret-nope\"}}}) { id }",
            Rule("data.secret.connect.id", "no secret has id"),
        ),
        (
            "updateDataset(where: {id: \"ds-git\"}, data: {enableUploadServer: true}) { id }",
            Rule(
                "data.enableUploadServer",
                "is only for pv, nfs and hostPath",
            ),
        ),
        (
            "updateDataset(where: {id: \"ds-git\"}, data: {groups: {connect: [{id: \"no-such-group\"}]}}) { id }",
            Rule("data.groups.connect[0].id", "no group has id"),
        ),
        (
            "updateDataset(where: {id: \"ds-git\"}, data: {groups: {disconnect: [{id: \"no-such-group\"}]}}) { id }",
            Rule("data.groups.disconnect[0].id", "no group has id"),
        ),
        // regenerateUploadServerSecret
        (
            "regenerateUploadServerSecret { id }",
            Schema("where", "is required but not provided"),
        ),
        (
            "regenerateUploadServerSecret(where: {id: \"no-such-dataset\"}) { id }",
            Code("RESOURCE_NOT_FOUND", "no-such-dataset"),
        ),
        (
            "regenerateUploadServerSecret(where: {id: \"ds-pv\"}) { id }",
            Rule("where.id", "upload server is not enabled"),
        ),
        // deleteDataset
        (
            "deleteDataset { id }",
            Schema("where", "is required but not provided"),
        ),
        (
            "deleteDataset(where: {id: \"no-such-dataset\"}) { id }",
            Code("RESOURCE_NOT_FOUND", "no-such-dataset"),
        ),
    ];
    for (body, want) in cases {
        fx.rejects(body, want).await;
    }
    // Names GraphQL literals cannot spell, through variables.
    let create = "mutation($v: JSON) { createDataset(data: {name: \"ds-b\", type: \"env\", variables: $v}) { id } }";
    for (variables, field) in [
        (json!({"GOOD": "1", "1BAD": "2"}), "data.variables.1BAD"),
        (json!({"A B": "2"}), "data.variables.A B"),
        (json!({"": "2"}), "data.variables."),
        (json!({"A=B": "2"}), "data.variables.A=B"),
    ] {
        fx.rejects_with(
            create,
            json!({"v": variables}),
            Rule(field, "environment variable name"),
        )
        .await;
    }
    fx.rejects_with(
        "mutation($v: JSON) { updateDataset(where: {id: \"ds-git\"}, data: {variables: $v}) { id } }",
        json!({"v": {"9LIVES": "x"}}),
        Rule("data.variables.9LIVES", "environment variable name"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_mutations_reject_bad_input() {
    let fx = Fx::new().await;
    let cases = [
        (
            "createSecret(data: {name: \"sec-b\", type: ssh, secret: \"k\"}) { id }",
            Schema(
                "data.type",
                "enumeration type \"SecretType\" does not contain",
            ),
        ),
        (
            "createSecret(data: {secret: \"k\"}) { id }",
            Schema("data", "field \"name\" of type \"String!\" is required"),
        ),
        (
            "createSecret(data: {name: \"Sec B\", secret: \"k\"}) { id }",
            Rule("data.name", "bad character"),
        ),
        (
            "createSecret(data: {name: \"sec-b\"}) { id }",
            Rule("data.secret", "is required"),
        ),
        (
            "createSecret(data: {name: \"sec-b\", type: opaque, secret: \"\"}) { id }",
            Rule("data.secret", "is required"),
        ),
        (
            "createSecret(data: {name: \"sec-b\", type: kubernetes, username: \"u\", password: \"p\"}) { id }",
            Rule("data.registryHost", "is required"),
        ),
        (
            "createSecret(data: {name: \"sec-b\", type: kubernetes, registryHost: \"r.io\", password: \"p\"}) { id }",
            Rule("data.username", "is required"),
        ),
        (
            "createSecret(data: {name: \"sec-b\", type: kubernetes, registryHost: \"r.io\", username: \"u\"}) { id }",
            Rule("data.password", "is required"),
        ),
        (
            "createSecret(data: {name: \"sec-a\", secret: \"k\"}) { id }",
            Code("RESOURCE_CONFLICT", "Resource already exist"),
        ),
        // updateSecret
        (
            "updateSecret(where: {id: \"gitsync-secret-sec-a\"}, data: {displayName: 5}) { id }",
            Schema("data.displayName", "expected type \"String\""),
        ),
        (
            "updateSecret(data: {displayName: \"x\"}) { id }",
            Schema("where", "is required but not provided"),
        ),
        (
            "updateSecret(where: {id: \"gitsync-secret-nope\"}, data: {displayName: \"x\"}) { id }",
            Code("RESOURCE_NOT_FOUND", "gitsync-secret-nope"),
        ),
        (
            "updateSecret(where: {id: \"gitsync-secret-sec-a\"}, data: {type: kubernetes}) { id }",
            Rule("data.type", "cannot be changed"),
        ),
        // deleteSecret
        (
            "deleteSecret { id }",
            Schema("where", "is required but not provided"),
        ),
        (
            "deleteSecret(where: {id: \"gitsync-secret-nope\"}) { id }",
            Code("RESOURCE_NOT_FOUND", "gitsync-secret-nope"),
        ),
    ];
    for (body, want) in cases {
        fx.rejects(body, want).await;
    }
    // Secrets that are not PrimeHub's (the API's own client secrets) are not found either.
    fx.rejects(
        "deleteSecret(where: {id: \"no-prefix\"}) { id }",
        Code("RESOURCE_NOT_FOUND", "no-prefix"),
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// Rollback of multi-step writes.

type Faulty = FaultyAdmin<Arc<dyn KeycloakAdmin>>;

/// A demo platform whose API writes to Keycloak through a [`FaultyAdmin`].
async fn faulty_platform() -> (Fx, Arc<Faulty>) {
    let slot: Arc<OnceLock<Arc<Faulty>>> = Arc::new(OnceLock::new());
    let keep = slot.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let options = DevOptions {
        admin_password: ADMIN_PASSWORD.into(),
        shared_secret: Some(SHARED_SECRET.into()),
        controllers: false,
        wrap_admin: Some(Arc::new(move |inner: Arc<dyn KeycloakAdmin>| {
            let faulty = Arc::new(FaultyAdmin::new(inner));
            let _ = keep.set(faulty.clone());
            faulty as Arc<dyn KeycloakAdmin>
        })),
        ..DevOptions::default()
    };
    let platform = DevPlatform::start(listener, &options)
        .await
        .expect("platform starts");
    let faulty = slot.get().expect("the API's admin was wrapped").clone();
    (Fx::on(platform).await, faulty)
}

fn keycloak_down() -> KeycloakError {
    KeycloakError::Transport {
        message: "injected: connection reset".into(),
    }
}

/// Denies creates of one resource (by plural), as a failing API server would.
struct DenyCreate(&'static str);

#[async_trait]
impl AdmissionHandler for DenyCreate {
    fn name(&self) -> &str {
        "deny-create.test"
    }

    fn handles(
        &self,
        resource: &kube::core::GroupVersionResource,
        operation: &primehub_reconcile::admission::Operation,
    ) -> bool {
        resource.resource == self.0
            && matches!(operation, primehub_reconcile::admission::Operation::Create)
    }

    async fn review(
        &self,
        request: &AdmissionRequest<kube::core::DynamicObject>,
    ) -> AdmissionResponse {
        AdmissionResponse::from(request).deny(format!("injected: no new {}", self.0))
    }
}

/// Runs `body`, which must fail with a backend error, and proves the state is as before.
async fn rolls_back(fx: &Fx, body: &str, code: &str) {
    let before = world(&fx.platform).await;
    let query = format!("mutation {{ {} }}", fx.expand(body));
    let (_, response) = post_json(&fx.platform, Some(&fx.token), &query, json!({})).await;
    assert_eq!(error_code(&response), code, "{query}: {response}");
    let after = world(&fx.platform).await;
    assert_same(&before, &after, &query);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_grants_undo_the_new_resource() {
    let (fx, faulty) = faulty_platform().await;
    faulty.fail("add_group_roles", keycloak_down());
    // The role and the custom resource were made before the mapping failed.
    rolls_back(
        &fx,
        "createInstanceType(data: {name: \"it-new\", cpuLimit: 1, memoryLimit: 1, groups: {connect: [{id: \"@team\"}]}}) { id }",
        "API_UNAVAILABLE",
    )
    .await;
    rolls_back(
        &fx,
        "createInstanceType(data: {name: \"it-new\", cpuLimit: 1, memoryLimit: 1, global: true}) { id }",
        "API_UNAVAILABLE",
    )
    .await;
    rolls_back(
        &fx,
        "createImage(data: {name: \"img-new\", url: \"r/i:1\", groups: {connect: [{id: \"@team\"}]}}) { id }",
        "API_UNAVAILABLE",
    )
    .await;
    // The second grant fails: the first is undone with the role.
    faulty.fail_after("add_group_roles", 1, keycloak_down());
    rolls_back(
        &fx,
        "createDataset(data: {name: \"ds-new\", type: \"env\", groups: {connect: [{id: \"@team\"}, {id: \"@mygroup\", writable: true}]}}) { id }",
        "API_UNAVAILABLE",
    )
    .await;
    // The API's view agrees: nothing named it-new, img-new or ds-new.
    faulty.clear();
    let (_, body) = post_json(
        &fx.platform,
        Some(&fx.token),
        "{ instanceType(where: {id: \"it-new\"}) { id } image(where: {id: \"img-new\"}) { id } dataset(where: {id: \"ds-new\"}) { id } }",
        json!({}),
    )
    .await;
    assert_eq!(
        data(&body),
        &json!({"instanceType": null, "image": null, "dataset": null})
    );
    // And the same writes succeed once Keycloak is back.
    fx.ok("createInstanceType(data: {name: \"it-new\", cpuLimit: 1, memoryLimit: 1, groups: {connect: [{id: \"@team\"}]}}) { id }").await;
    fx.ok("createDataset(data: {name: \"ds-new\", type: \"env\", groups: {connect: [{id: \"@team\"}, {id: \"@mygroup\", writable: true}]}}) { id }").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_custom_resource_create_deletes_the_role() {
    let fx = Fx::new().await;
    fx.platform
        .cluster
        .add_admission_handler(Arc::new(DenyCreate("instancetypes")));
    rolls_back(
        &fx,
        "createInstanceType(data: {name: \"it-new\", cpuLimit: 1, memoryLimit: 1, global: true}) { id }",
        "INTERNAL_ERROR",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_dataset_claim_undoes_the_dataset() {
    let fx = Fx::new().await;
    fx.platform
        .cluster
        .add_admission_handler(Arc::new(DenyCreate("persistentvolumeclaims")));
    // Role, ds:rw role, custom resource and both grants were made before the claim failed.
    rolls_back(
        &fx,
        "createDataset(data: {name: \"ds-new\", type: \"pv\", volumeSize: 5, global: true, groups: {connect: [{id: \"@team\", writable: true}, {id: \"@mygroup\"}]}}) { id }",
        "INTERNAL_ERROR",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_upload_secret_undoes_the_dataset_and_its_claim() {
    let fx = Fx::new().await;
    fx.platform
        .cluster
        .add_admission_handler(Arc::new(DenyCreate("secrets")));
    rolls_back(
        &fx,
        "createDataset(data: {name: \"ds-new\", type: \"pv\", volumeSize: 5, enableUploadServer: true, groups: {connect: [{id: \"@team\"}]}}) { id }",
        "INTERNAL_ERROR",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_group_volume_or_members_undo_the_group() {
    let (fx, faulty) = faulty_platform().await;
    // The group and its claim are made, then adding the second member fails: both are gone.
    faulty.fail_after("add_member", 1, keycloak_down());
    rolls_back(
        &fx,
        "createGroup(data: {name: \"team-new\", enabledSharedVolume: true, sharedVolumeCapacity: 10, users: {connect: [{id: \"@alice\"}, {id: \"@bob\"}]}}) { id }",
        "API_UNAVAILABLE",
    )
    .await;
    faulty.clear();
    // The name and the claim's name are free again.
    fx.ok("createGroup(data: {name: \"team-new\", enabledSharedVolume: true, sharedVolumeCapacity: 10, users: {connect: [{id: \"@alice\"}, {id: \"@bob\"}]}}) { id }").await;
    // The claim cannot be made: the group is gone.
    fx.platform
        .cluster
        .add_admission_handler(Arc::new(DenyCreate("persistentvolumeclaims")));
    rolls_back(
        &fx,
        "createGroup(data: {name: \"team-pvc\", enabledSharedVolume: true, sharedVolumeCapacity: 10, users: {connect: [{id: \"@alice\"}]}}) { id }",
        "INTERNAL_ERROR",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_user_setup_deletes_the_user() {
    let (fx, faulty) = faulty_platform().await;
    faulty.fail_after("add_member", 1, keycloak_down());
    rolls_back(
        &fx,
        "createUser(data: {username: \"dave\", email: \"dave@example.com\", groups: {connect: [{id: \"@team\"}, {id: \"@mygroup\"}]}}) { id }",
        "API_UNAVAILABLE",
    )
    .await;
    faulty.clear();
    faulty.fail("set_admin", keycloak_down());
    rolls_back(
        &fx,
        "createUser(data: {username: \"dave\", isAdmin: true}) { id }",
        "API_UNAVAILABLE",
    )
    .await;
    faulty.clear();
    // The username and email are free again.
    fx.ok("createUser(data: {username: \"dave\", email: \"dave@example.com\", isAdmin: true, groups: {connect: [{id: \"@team\"}, {id: \"@mygroup\"}]}}) { id }").await;
}

/// Denies updates (patches) of one resource (by plural), as a failing API server would.
struct DenyUpdate(&'static str);

#[async_trait]
impl AdmissionHandler for DenyUpdate {
    fn name(&self) -> &str {
        "deny-update.test"
    }

    fn handles(
        &self,
        resource: &kube::core::GroupVersionResource,
        operation: &primehub_reconcile::admission::Operation,
    ) -> bool {
        resource.resource == self.0
            && matches!(operation, primehub_reconcile::admission::Operation::Update)
    }

    async fn review(
        &self,
        request: &AdmissionRequest<kube::core::DynamicObject>,
    ) -> AdmissionResponse {
        AdmissionResponse::from(request).deny(format!("injected: no change to {}", self.0))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_updates_leave_mappings_and_resource_as_they_were() {
    let (fx, faulty) = faulty_platform().await;
    fx.ok("createInstanceType(data: {name: \"it-up\", cpuLimit: 1, memoryLimit: 1, groups: {connect: [{id: \"@team\"}]}}) { id }").await;
    fx.ok("createDataset(data: {name: \"ds-up\", type: \"env\", groups: {connect: [{id: \"@team\"}]}}) { id }").await;
    fx.ok("createImage(data: {name: \"img-up\", url: \"r/i:1\", groups: {connect: [{id: \"@team\"}]}}) { id }").await;

    // The everyone mapping is made, then the next mapping fails: undone, spec untouched.
    faulty.fail_once_after("add_group_roles", 1, keycloak_down());
    rolls_back(
        &fx,
        "updateInstanceType(where: {id: \"it-up\"}, data: {description: \"changed\", global: true, groups: {connect: [{id: \"@mygroup\"}], disconnect: [{id: \"@team\"}]}}) { id }",
        "API_UNAVAILABLE",
    )
    .await;
    // ds:rw is created and mapped and the read role unmapped before the next mapping fails:
    // the read mapping is back, the ds:rw mapping and role gone.
    faulty.fail_once_after("add_group_roles", 1, keycloak_down());
    rolls_back(
        &fx,
        "updateDataset(where: {id: \"ds-up\"}, data: {description: \"changed\", groups: {connect: [{id: \"@team\", writable: true}, {id: \"@mygroup\"}]}}) { id }",
        "API_UNAVAILABLE",
    )
    .await;
    // An unmapping fails after a mapping was made.
    faulty.fail_once_after("remove_group_roles", 0, keycloak_down());
    rolls_back(
        &fx,
        "updateImage(where: {id: \"img-up\"}, data: {description: \"changed\", groups: {connect: [{id: \"@mygroup\"}], disconnect: [{id: \"@team\"}]}}) { id }",
        "API_UNAVAILABLE",
    )
    .await;
    faulty.clear();

    // The API server refuses the resource's patch after the mappings were made: undone too.
    fx.platform
        .cluster
        .add_admission_handler(Arc::new(DenyUpdate("instancetypes")));
    let before = world(&fx.platform).await;
    let query = fx.expand("mutation { updateInstanceType(where: {id: \"it-up\"}, data: {description: \"changed\", global: true, groups: {connect: [{id: \"@mygroup\"}], disconnect: [{id: \"@team\"}]}}) { id } }");
    let (_, response) = post_json(&fx.platform, Some(&fx.token), &query, json!({})).await;
    assert!(!response["errors"].is_null(), "{response}");
    assert_same(&before, &world(&fx.platform).await, &query);

    // With nothing failing, the same updates go through.
    fx.ok("updateImage(where: {id: \"img-up\"}, data: {description: \"changed\", groups: {connect: [{id: \"@mygroup\"}], disconnect: [{id: \"@team\"}]}}) { id }").await;
    fx.ok("updateDataset(where: {id: \"ds-up\"}, data: {description: \"changed\", groups: {connect: [{id: \"@team\", writable: true}, {id: \"@mygroup\"}]}}) { id }").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_user_and_group_updates_are_undone() {
    let (fx, faulty) = faulty_platform().await;
    // Fields, the admin flag and one membership are written before the next membership fails.
    faulty.fail_once_after("add_member", 1, keycloak_down());
    rolls_back(
        &fx,
        "updateUser(where: {id: \"@bob\"}, data: {email: \"bob2@example.com\", firstName: \"Bob\", volumeCapacity: 30, isAdmin: true, groups: {connect: [{id: \"@team\"}, {id: \"@mygroup\"}]}}) { id }",
        "API_UNAVAILABLE",
    )
    .await;
    // A removal fails after an addition.
    faulty.fail_once_after("remove_member", 0, keycloak_down());
    rolls_back(
        &fx,
        "updateUser(where: {id: \"@alice\"}, data: {lastName: \"Liddell\", enabled: false, groups: {connect: [{id: \"@mygroup\"}], disconnect: [{id: \"@team\"}]}}) { id }",
        "API_UNAVAILABLE",
    )
    .await;
    // The group's attributes and its new shared volume claim are made before a member fails.
    faulty.fail_once_after("add_member", 0, keycloak_down());
    rolls_back(
        &fx,
        "updateGroup(where: {id: \"@mygroup\"}, data: {displayName: \"Changed\", quotaCpu: 8, enabledSharedVolume: true, sharedVolumeCapacity: 5, users: {connect: [{id: \"@carol\"}]}}) { id }",
        "API_UNAVAILABLE",
    )
    .await;
    faulty.fail_once_after("remove_member", 0, keycloak_down());
    rolls_back(
        &fx,
        "updateGroup(where: {id: \"@team\"}, data: {displayName: \"Changed\", users: {connect: [{id: \"@carol\"}], disconnect: [{id: \"@alice\"}]}}) { id }",
        "API_UNAVAILABLE",
    )
    .await;
    faulty.clear();

    // With nothing failing, the same updates go through and change what they say.
    fx.ok("updateUser(where: {id: \"@bob\"}, data: {email: \"bob2@example.com\", isAdmin: true, groups: {connect: [{id: \"@team\"}]}}) { id }").await;
    fx.ok("updateGroup(where: {id: \"@mygroup\"}, data: {enabledSharedVolume: true, sharedVolumeCapacity: 5, users: {connect: [{id: \"@carol\"}]}}) { id }").await;
    let after = world(&fx.platform).await;
    assert_eq!(after["user/bob"]["user"]["email"], "bob2@example.com");
    assert_eq!(after["user/bob"]["admin"], true);
    assert!(
        after.contains_key("persistentvolumeclaims/project-my-group"),
        "{:?}",
        after.keys()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_upload_secret_undoes_the_dataset_update() {
    let fx = Fx::new().await;
    fx.platform
        .cluster
        .add_admission_handler(Arc::new(DenyCreate("secrets")));
    // The mapping and the patch turning the upload server on are made, then the secret is
    // refused: the dataset, its annotations and the mapping are as they were. (The restoring
    // patch is a write of its own: only the dataset's version and generation move on.)
    let versionless = |mut world: World| {
        for object in world.values_mut() {
            if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.remove("resourceVersion");
                meta.remove("generation");
            }
        }
        world
    };
    let before = versionless(world(&fx.platform).await);
    let query = fx.expand("mutation { updateDataset(where: {id: \"ds-pv\"}, data: {description: \"changed\", enableUploadServer: true, global: true, groups: {connect: [{id: \"@mygroup\", writable: true}]}}) { id } }");
    let (_, response) = post_json(&fx.platform, Some(&fx.token), &query, json!({})).await;
    assert_eq!(error_code(&response), "INTERNAL_ERROR", "{response}");
    assert_same(&before, &versionless(world(&fx.platform).await), &query);
}
