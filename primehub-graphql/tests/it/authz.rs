//! The authorization matrix: every query and mutation of the schema × every kind of caller.
//!
//! The fields are read from the schema itself (introspection), and the test fails when one has
//! no row here, so a new field cannot slip in untested. Expected outcomes follow PrimeHub's
//! permission table (reference §2.2) with our deliberate fixes (README, differences):
//! a plain user reads only themself through `user`, never an arbitrary user; `group` is for
//! administrators, the shared-secret client, members and group admins; group admins update
//! their group (not its limits) and manage its group images (not granting them to others);
//! users see only the images granted to them; `me` is not for the shared-secret client; jobs
//! and schedules are for their group's members and administrators (PrimeHub: members only),
//! and what makes a job owned by the caller (create, rerun, run a schedule now) for members
//! only; an anonymous request is always HTTP 401 `NOT_AUTH`.

use std::collections::BTreeSet;

use primehub_graphql::dev::DevPlatform;
use serde_json::{Value, json};

use crate::support::*;

/// The kinds of caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Who {
    Anonymous,
    /// A user in no group of interest (a member of group `other` only).
    User,
    /// A member of group G.
    Member,
    /// A group admin of G (named in G's `admins`), not a member.
    GroupAdmin,
    /// A system administrator.
    Admin,
    /// The server-to-server client with the shared secret.
    Client,
}

use Who::*;

const ALL: [Who; 6] = [Anonymous, User, Member, GroupAdmin, Admin, Client];
const G: &str = "team-g";
const PASSWORD: &str = "Passw0rd-for-tests";

impl Who {
    /// A short tag naming the objects this caller's mutations work on.
    fn tag(self) -> &'static str {
        match self {
            Anonymous => "an",
            User => "us",
            Member => "me",
            GroupAdmin => "ga",
            Admin => "ad",
            Client => "cl",
        }
    }
}

/// The platform with the scene set, and a credential per caller.
struct Scene {
    platform: DevPlatform,
    admin: String,
    user: String,
    member: String,
    group_admin: String,
    /// Keycloak ids by username.
    ids: std::collections::HashMap<String, String>,
    g_id: String,
    /// PhJob and PhSchedule names by key (`job-<tag>`, `schedule-<tag>`, `job-g`, `schedule-g`):
    /// made by the member of G.
    jobs: std::collections::HashMap<String, String>,
}

impl Scene {
    fn token(&self, who: Who) -> Option<&str> {
        match who {
            Anonymous => None,
            User => Some(&self.user),
            Member => Some(&self.member),
            GroupAdmin => Some(&self.group_admin),
            Admin => Some(&self.admin),
            Client => Some(SHARED_SECRET),
        }
    }

    fn id(&self, username: &str) -> &str {
        &self.ids[username]
    }

    async fn as_admin(&self, query: &str, variables: Value) -> Value {
        let (status, body) = post_json(&self.platform, Some(&self.admin), query, variables).await;
        assert_eq!(status, 200, "{query}: {body}");
        data(&body).clone()
    }

    async fn create_user(&mut self, username: &str) -> String {
        let d = self
            .as_admin(
                "mutation($d: UserCreateInput!) { createUser(data: $d) { id } }",
                json!({"d": {"username": username, "email": format!("{username}@example.com")}}),
            )
            .await;
        let id = d["createUser"]["id"].as_str().unwrap().to_owned();
        self.platform
            .keycloak
            .realm("primehub")
            .unwrap()
            .set_password(username, PASSWORD)
            .unwrap();
        self.ids.insert(username.to_owned(), id.clone());
        id
    }
}

async fn scene() -> Scene {
    let platform = platform().await;
    let admin = admin_token(&platform);
    let mut scene = Scene {
        platform,
        admin,
        user: String::new(),
        member: String::new(),
        group_admin: String::new(),
        ids: Default::default(),
        g_id: String::new(),
        jobs: Default::default(),
    };
    for name in ["plain", "member", "gadmin", "bystander"] {
        scene.create_user(name).await;
    }
    for who in ALL {
        scene.create_user(&format!("victim-{}", who.tag())).await;
    }
    let d = scene
        .as_admin(
            "mutation($d: GroupCreateInput!) { createGroup(data: $d) { id } }",
            json!({"d": {"name": G, "admins": "gadmin", "quotaCpu": 4,
                "users": {"connect": [{"id": scene.id("member")}, {"id": scene.id("bystander")}]}}}),
        )
        .await;
    scene.g_id = d["createGroup"]["id"].as_str().unwrap().to_owned();
    let d = scene
        .as_admin(
            "mutation($d: GroupCreateInput!) { createGroup(data: $d) { id } }",
            json!({"d": {"name": "other", "users": {"connect": [{"id": scene.id("plain")}, {"id": scene.id("bystander")}]}}}),
        )
        .await;
    let other_id = d["createGroup"]["id"].as_str().unwrap().to_owned();
    scene.ids.insert("other".into(), other_id.clone());
    for who in ALL {
        let name = format!("grp-{}", who.tag());
        let d = scene
            .as_admin(
                "mutation($d: GroupCreateInput!) { createGroup(data: $d) { id } }",
                json!({"d": {"name": name}}),
            )
            .await;
        let id = d["createGroup"]["id"].as_str().unwrap().to_owned();
        scene.ids.insert(name, id);
    }
    let g = json!([{"id": scene.g_id}]);
    let both = json!([{"id": scene.g_id}, {"id": other_id}]);
    let other = json!([{"id": other_id}]);
    for (name, groups) in [("it-shared", &both), ("it-g", &g)] {
        scene
            .as_admin(
                "mutation($d: InstanceTypeCreateInput!) { createInstanceType(data: $d) { id } }",
                json!({"d": {"name": name, "cpuLimit": 1, "memoryLimit": 1, "groups": {"connect": groups}}}),
            )
            .await;
    }
    for (name, groups) in [("img-g", &g), ("img-other", &other)] {
        scene
            .as_admin(
                "mutation($d: ImageCreateInput!) { createImage(data: $d) { id } }",
                json!({"d": {"name": name, "url": "example/x:1", "groups": {"connect": groups}}}),
            )
            .await;
    }
    scene
        .as_admin(
            "mutation($d: ImageCreateInput!) { createImage(data: $d) { id } }",
            json!({"d": {"name": "gimg", "url": "example/g:1", "groupName": G}}),
        )
        .await;
    scene
        .as_admin(
            "mutation($d: DatasetCreateInput!) { createDataset(data: $d) { id } }",
            json!({"d": {"name": "ds-g", "type": "env", "variables": {"A": "1"}, "groups": {"connect": g}}}),
        )
        .await;
    // The objects each caller's mutations work on.
    for who in ALL {
        let t = who.tag();
        scene
            .as_admin(
                "mutation($d: InstanceTypeCreateInput!) { createInstanceType(data: $d) { id } }",
                json!({"d": {"name": format!("it-{t}"), "cpuLimit": 1, "memoryLimit": 1}}),
            )
            .await;
        scene
            .as_admin(
                "mutation($d: ImageCreateInput!) { createImage(data: $d) { id } }",
                json!({"d": {"name": format!("img-{t}"), "url": "example/x:1"}}),
            )
            .await;
        scene
            .as_admin(
                "mutation($d: ImageCreateInput!) { createImage(data: $d) { id } }",
                json!({"d": {"name": format!("gimg-{t}"), "groupName": G,
                    "imageSpec": {"baseImage": "jupyter/base-notebook", "packages": {"pip": ["numpy"]}}}}),
            )
            .await;
        scene
            .as_admin(
                "mutation($d: DatasetCreateInput!) { createDataset(data: $d) { id } }",
                json!({"d": {"name": format!("ds-{t}"), "type": "pv", "volumeSize": 1, "enableUploadServer": true}}),
            )
            .await;
        scene
            .as_admin(
                "mutation($d: SecretCreateInput!) { createSecret(data: $d) { id } }",
                json!({"d": {"name": format!("sec-{t}"), "secret": "ssh-key"}}),
            )
            .await;
    }
    scene.user = scene.platform.access_token("plain", PASSWORD).unwrap();
    scene.member = scene.platform.access_token("member", PASSWORD).unwrap();
    scene.group_admin = scene.platform.access_token("gadmin", PASSWORD).unwrap();
    // Jobs and schedules of G, made by its member: one to read, one per caller to change.
    let mut keys = vec!["g".to_owned()];
    keys.extend(ALL.iter().map(|w| w.tag().to_owned()));
    for key in keys {
        let (status, body) = post_json(
            &scene.platform,
            Some(&scene.member),
            "mutation($d: PhJobCreateInput!) { createPhJob(data: $d) { id } }",
            json!({"d": job_input(&scene.g_id, &format!("job {key}"))}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let id = data(&body)["createPhJob"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        scene.jobs.insert(format!("job-{key}"), id);
        let mut input = job_input(&scene.g_id, &format!("schedule {key}"));
        input["recurrence"] = json!({"type": "daily"});
        let (status, body) = post_json(
            &scene.platform,
            Some(&scene.member),
            "mutation($d: PhScheduleCreateInput!) { createPhSchedule(data: $d) { id } }",
            json!({"d": input}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let id = data(&body)["createPhSchedule"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        scene.jobs.insert(format!("schedule-{key}"), id);
    }
    scene
}

/// A job of group `group_id` on G's instance type and image.
fn job_input(group_id: &str, display_name: &str) -> Value {
    json!({"displayName": display_name, "groupId": group_id, "instanceType": "it-g",
        "image": "img-g", "command": "echo hi"})
}

/// What a row expects of a caller it allows.
#[derive(Clone, Copy)]
enum Allowed {
    /// No error at all.
    Ok,
    /// No `NOT_AUTH` error (the call may fail for another reason, e.g. no mail server).
    NotDenied,
}

/// A row's operation for a caller: the document and its variables.
type Op = dyn Fn(&Scene, Who) -> (String, Value);

/// One row of the matrix: a field, the operation (per caller, so mutations work on the caller's
/// own objects), and who is allowed.
struct Row {
    field: &'static str,
    variant: &'static str,
    allowed: &'static [Who],
    expect: Allowed,
    op: Box<Op>,
}

fn row(
    field: &'static str,
    variant: &'static str,
    allowed: &'static [Who],
    op: impl Fn(&Scene, Who) -> (String, Value) + 'static,
) -> Row {
    Row {
        field,
        variant,
        allowed,
        expect: Allowed::Ok,
        op: Box::new(op),
    }
}

fn q(query: &str) -> (String, Value) {
    (query.to_owned(), json!({}))
}

fn qv(query: &str, variables: Value) -> (String, Value) {
    (query.to_owned(), variables)
}

const AUTHENTICATED: &[Who] = &[User, Member, GroupAdmin, Admin, Client];
const USERS_AND_ADMIN: &[Who] = &[User, Member, GroupAdmin, Admin];
const ADMIN_CLIENT: &[Who] = &[Admin, Client];
const ADMIN: &[Who] = &[Admin];
const GROUP_MANAGERS: &[Who] = &[GroupAdmin, Admin];
const GROUP_READERS: &[Who] = &[Member, GroupAdmin, Admin, Client];
/// G's jobs and schedules: its members and administrators.
const JOB_READERS: &[Who] = &[Member, Admin];
/// Making a job or schedule of one's own in G: its members only.
const G_MEMBER: &[Who] = &[Member];

fn me_id(s: &Scene, who: Who) -> String {
    match who {
        User => s.id("plain").to_owned(),
        Member => s.id("member").to_owned(),
        GroupAdmin => s.id("gadmin").to_owned(),
        Admin => s.platform.realm.admin_user_id.clone(),
        // No user of their own: they ask for one user.
        Anonymous | Client => s.id("bystander").to_owned(),
    }
}

fn rows() -> Vec<Row> {
    let mut rows = vec![
        // ---- queries
        row("system", "", ADMIN_CLIENT, |_, _| {
            q("{ system { org { name } } }")
        }),
        row("timezone", "", AUTHENTICATED, |_, _| {
            q("{ timezone { name } }")
        }),
        row("me", "", USERS_AND_ADMIN, |_, _| {
            q("{ me { id username groups { name } } }")
        }),
        row("user", "themself", AUTHENTICATED, |s, w| {
            qv(
                "query($id: ID!) { user(where: {id: $id}) { id username } }",
                json!({"id": me_id(s, w)}),
            )
        }),
        row("user", "another user", ADMIN_CLIENT, |s, _| {
            qv(
                "query($id: ID!) { user(where: {id: $id}) { id email } }",
                json!({"id": s.id("bystander")}),
            )
        }),
        row("users", "", ADMIN, |_, _| q("{ users { id } }")),
        row("usersConnection", "", ADMIN, |_, _| {
            q("{ usersConnection { edges { node { id } } } }")
        }),
        row("group", "G", GROUP_READERS, |s, _| {
            qv(
                "query($id: ID!) { group(where: {id: $id}) { id name users { username } } }",
                json!({"id": s.g_id}),
            )
        }),
        row("groups", "", ADMIN_CLIENT, |_, _| q("{ groups { id } }")),
        row("groupsConnection", "", ADMIN_CLIENT, |_, _| {
            q("{ groupsConnection { edges { node { id } } } }")
        }),
        row("instanceType", "", ADMIN_CLIENT, |_, _| {
            q("{ instanceType(where: {id: \"it-g\"}) { id } }")
        }),
        row("instanceTypes", "", ADMIN_CLIENT, |_, _| {
            q("{ instanceTypes { id } }")
        }),
        row("instanceTypesConnection", "", ADMIN_CLIENT, |_, _| {
            q("{ instanceTypesConnection { edges { node { id } } } }")
        }),
        row("image", "", AUTHENTICATED, |_, _| {
            q("{ image(where: {id: \"img-g\"}) { id } }")
        }),
        row("images", "", AUTHENTICATED, |_, _| q("{ images { id } }")),
        row("imagesConnection", "", AUTHENTICATED, |_, _| {
            q("{ imagesConnection { edges { node { id } } } }")
        }),
        row("groupImages", "", AUTHENTICATED, |_, _| {
            q("{ groupImages { id } }")
        }),
        row("groupImagesConnection", "", AUTHENTICATED, |_, _| {
            q("{ groupImagesConnection { edges { node { id } } } }")
        }),
        row("dataset", "", ADMIN_CLIENT, |_, _| {
            q("{ dataset(where: {id: \"ds-g\"}) { id } }")
        }),
        row("datasets", "", ADMIN_CLIENT, |_, _| {
            q("{ datasets { id } }")
        }),
        row("datasetsConnection", "", ADMIN_CLIENT, |_, _| {
            q("{ datasetsConnection { edges { node { id } } } }")
        }),
        row("secret", "", ADMIN_CLIENT, |_, w| {
            qv(
                "query($id: ID!) { secret(where: {id: $id}) { id } }",
                json!({"id": format!("gitsync-secret-sec-{}", w.tag())}),
            )
        }),
        row("secrets", "", ADMIN_CLIENT, |_, _| q("{ secrets { id } }")),
        row("secretsConnection", "", ADMIN_CLIENT, |_, _| {
            q("{ secretsConnection { edges { node { id } } } }")
        }),
        row("phJob", "a job of G", JOB_READERS, |s, _| {
            qv(
                "query($id: ID!) { phJob(where: {id: $id}) { id phase } }",
                json!({"id": s.jobs["job-g"]}),
            )
        }),
        row("phJobs", "", USERS_AND_ADMIN, |_, _| q("{ phJobs { id } }")),
        row("phJobsConnection", "", USERS_AND_ADMIN, |_, _| {
            q("{ phJobsConnection { edges { node { id } } } }")
        }),
        row("phSchedule", "a schedule of G", JOB_READERS, |s, _| {
            qv(
                "query($id: ID!) { phSchedule(where: {id: $id}) { id } }",
                json!({"id": s.jobs["schedule-g"]}),
            )
        }),
        row("phSchedules", "", USERS_AND_ADMIN, |_, _| {
            q("{ phSchedules { id } }")
        }),
        row("phSchedulesConnection", "", USERS_AND_ADMIN, |_, _| {
            q("{ phSchedulesConnection { edges { node { id } } } }")
        }),
        // ---- mutations: creates
        row("createPhJob", "in G", G_MEMBER, |s, w| {
            qv(
                "mutation($d: PhJobCreateInput!) { createPhJob(data: $d) { id } }",
                json!({"d": job_input(&s.g_id, &format!("new job {}", w.tag()))}),
            )
        }),
        row("rerunPhJob", "a job of G", G_MEMBER, |s, _| {
            qv(
                "mutation($id: ID!) { rerunPhJob(where: {id: $id}) { id } }",
                json!({"id": s.jobs["job-g"]}),
            )
        }),
        row("cancelPhJob", "a job of G", JOB_READERS, |s, w| {
            qv(
                "mutation($id: ID!) { cancelPhJob(where: {id: $id}) { id } }",
                json!({"id": s.jobs[&format!("job-{}", w.tag())]}),
            )
        }),
        row("createPhSchedule", "in G", G_MEMBER, |s, w| {
            let mut d = job_input(&s.g_id, &format!("new schedule {}", w.tag()));
            d["recurrence"] = json!({"type": "weekly"});
            qv(
                "mutation($d: PhScheduleCreateInput!) { createPhSchedule(data: $d) { id } }",
                json!({"d": d}),
            )
        }),
        row(
            "updatePhSchedule",
            "a schedule of G",
            JOB_READERS,
            |s, w| {
                qv(
                    "mutation($id: ID!, $n: String) { updatePhSchedule(where: {id: $id}, data: {displayName: $n}) { id } }",
                    json!({"id": s.jobs[&format!("schedule-{}", w.tag())], "n": format!("by {}", w.tag())}),
                )
            },
        ),
        row("runPhSchedule", "a schedule of G", G_MEMBER, |s, _| {
            qv(
                "mutation($id: ID!) { runPhSchedule(where: {id: $id}) { job { id } } }",
                json!({"id": s.jobs["schedule-g"]}),
            )
        }),
        row(
            "deletePhSchedule",
            "a schedule of G",
            JOB_READERS,
            |s, w| {
                qv(
                    "mutation($id: ID!) { deletePhSchedule(where: {id: $id}) { id } }",
                    json!({"id": s.jobs[&format!("schedule-{}", w.tag())]}),
                )
            },
        ),
        row("updateSystem", "", ADMIN, |_, _| {
            q(
                "mutation { updateSystem(data: {defaultUserVolumeCapacity: 30}) { defaultUserVolumeCapacity } }",
            )
        }),
        row("createUser", "", ADMIN, |_, w| {
            qv(
                "mutation($d: UserCreateInput!) { createUser(data: $d) { id } }",
                json!({"d": {"username": format!("new-{}", w.tag())}}),
            )
        }),
        row("createGroup", "", ADMIN, |_, w| {
            qv(
                "mutation($d: GroupCreateInput!) { createGroup(data: $d) { id } }",
                json!({"d": {"name": format!("new-{}", w.tag())}}),
            )
        }),
        row("createInstanceType", "", ADMIN, |_, w| {
            qv(
                "mutation($d: InstanceTypeCreateInput!) { createInstanceType(data: $d) { id } }",
                json!({"d": {"name": format!("new-it-{}", w.tag()), "cpuLimit": 1, "memoryLimit": 1}}),
            )
        }),
        row("createImage", "system image", ADMIN, |_, w| {
            qv(
                "mutation($d: ImageCreateInput!) { createImage(data: $d) { id } }",
                json!({"d": {"name": format!("new-img-{}", w.tag()), "url": "example/x:2"}}),
            )
        }),
        row("createImage", "group image of G", GROUP_MANAGERS, |s, w| {
            qv(
                "mutation($d: ImageCreateInput!) { createImage(data: $d) { id } }",
                json!({"d": {"name": format!("new-gimg-{}", w.tag()), "url": "example/g:2", "groupName": G,
                    "groups": {"connect": [{"id": s.g_id}]}}}),
            )
        }),
        row(
            "createImage",
            "group image of G made global",
            ADMIN,
            |_, w| {
                qv(
                    "mutation($d: ImageCreateInput!) { createImage(data: $d) { id } }",
                    json!({"d": {"name": format!("new-gglob-{}", w.tag()), "url": "example/g:2", "groupName": G, "global": true}}),
                )
            },
        ),
        row("createDataset", "", ADMIN, |_, w| {
            qv(
                "mutation($d: DatasetCreateInput!) { createDataset(data: $d) { id } }",
                json!({"d": {"name": format!("new-ds-{}", w.tag()), "type": "env", "variables": {"B": "2"}}}),
            )
        }),
        row("createSecret", "", ADMIN, |_, w| {
            qv(
                "mutation($d: SecretCreateInput!) { createSecret(data: $d) { id } }",
                json!({"d": {"name": format!("new-sec-{}", w.tag()), "secret": "k"}}),
            )
        }),
        // ---- updates
        row("updateUser", "", ADMIN_CLIENT, |s, w| {
            qv(
                "mutation($id: ID!) { updateUser(where: {id: $id}, data: {firstName: \"Changed\"}) { id } }",
                json!({"id": s.id(&format!("victim-{}", w.tag()))}),
            )
        }),
        row(
            "updateGroup",
            "display name of G",
            GROUP_MANAGERS,
            |s, w| {
                qv(
                    "mutation($id: ID!, $n: String) { updateGroup(where: {id: $id}, data: {displayName: $n}) { id } }",
                    json!({"id": s.g_id, "n": format!("G by {}", w.tag())}),
                )
            },
        ),
        row("updateGroup", "quota of G", ADMIN, |s, _| {
            qv(
                "mutation($id: ID!) { updateGroup(where: {id: $id}, data: {quotaCpu: 64}) { id } }",
                json!({"id": s.g_id}),
            )
        }),
        row("updateInstanceType", "", ADMIN, |_, w| {
            qv(
                "mutation($id: ID!) { updateInstanceType(where: {id: $id}, data: {cpuLimit: 2}) { id } }",
                json!({"id": format!("it-{}", w.tag())}),
            )
        }),
        row("updateImage", "system image", ADMIN, |_, w| {
            qv(
                "mutation($id: ID!) { updateImage(where: {id: $id}, data: {description: \"d\"}) { id } }",
                json!({"id": format!("img-{}", w.tag())}),
            )
        }),
        row("updateImage", "group image of G", GROUP_MANAGERS, |_, w| {
            qv(
                "mutation($id: ID!) { updateImage(where: {id: $id}, data: {description: \"d\"}) { id } }",
                json!({"id": format!("gimg-{}", w.tag())}),
            )
        }),
        row(
            "updateImage",
            "group image of G made global",
            ADMIN,
            |_, w| {
                qv(
                    "mutation($id: ID!) { updateImage(where: {id: $id}, data: {global: true}) { id } }",
                    json!({"id": format!("gimg-{}", w.tag())}),
                )
            },
        ),
        row(
            "rebuildImage",
            "group image of G",
            GROUP_MANAGERS,
            |_, w| {
                qv(
                    "mutation($id: ID!) { rebuildImage(where: {id: $id}, data: {}) { id } }",
                    json!({"id": format!("gimg-{}", w.tag())}),
                )
            },
        ),
        row(
            "cancelImageBuild",
            "group image of G",
            GROUP_MANAGERS,
            |_, w| {
                qv(
                    "mutation($id: ID!) { cancelImageBuild(where: {id: $id}) { id } }",
                    json!({"id": format!("gimg-{}", w.tag())}),
                )
            },
        ),
        row("updateDataset", "", ADMIN, |_, w| {
            qv(
                "mutation($id: ID!) { updateDataset(where: {id: $id}, data: {description: \"d\"}) { id } }",
                json!({"id": format!("ds-{}", w.tag())}),
            )
        }),
        row("regenerateUploadServerSecret", "", ADMIN, |_, w| {
            qv(
                "mutation($id: ID!) { regenerateUploadServerSecret(where: {id: $id}) { id uploadServerSecret { username password } } }",
                json!({"id": format!("ds-{}", w.tag())}),
            )
        }),
        row("updateSecret", "", ADMIN, |_, w| {
            qv(
                "mutation($id: ID!) { updateSecret(where: {id: $id}, data: {displayName: \"d\"}) { id } }",
                json!({"id": format!("gitsync-secret-sec-{}", w.tag())}),
            )
        }),
        row("resetPassword", "", ADMIN, |s, w| {
            qv(
                "mutation($id: String) { resetPassword(id: $id, password: \"N3w-password\") { id } }",
                json!({"id": s.id(&format!("victim-{}", w.tag()))}),
            )
        }),
        row("revokeApiToken", "own tokens", USERS_AND_ADMIN, |_, _| {
            q("mutation { revokeApiToken { id } }")
        }),
        row("revokeApiToken", "another user's tokens", ADMIN, |s, w| {
            qv(
                "mutation($id: String) { revokeApiToken(userId: $id) { id } }",
                json!({"id": s.id(&format!("victim-{}", w.tag()))}),
            )
        }),
        // ---- deletes
        row("deleteUser", "", ADMIN, |s, w| {
            qv(
                "mutation($id: ID!) { deleteUser(where: {id: $id}) { id } }",
                json!({"id": s.id(&format!("victim-{}", w.tag()))}),
            )
        }),
        row("deleteInstanceType", "", ADMIN, |_, w| {
            qv(
                "mutation($id: ID!) { deleteInstanceType(where: {id: $id}) { id } }",
                json!({"id": format!("it-{}", w.tag())}),
            )
        }),
        row("deleteImage", "system image", ADMIN, |_, w| {
            qv(
                "mutation($id: ID!) { deleteImage(where: {id: $id}) { id } }",
                json!({"id": format!("img-{}", w.tag())}),
            )
        }),
        row("deleteImage", "group image of G", GROUP_MANAGERS, |_, w| {
            qv(
                "mutation($id: ID!) { deleteImage(where: {id: $id}) { id } }",
                json!({"id": format!("gimg-{}", w.tag())}),
            )
        }),
        row("deleteDataset", "", ADMIN, |_, w| {
            qv(
                "mutation($id: ID!) { deleteDataset(where: {id: $id}) { id } }",
                json!({"id": format!("ds-{}", w.tag())}),
            )
        }),
        row("deleteSecret", "", ADMIN, |_, w| {
            qv(
                "mutation($id: ID!) { deleteSecret(where: {id: $id}) { id } }",
                json!({"id": format!("gitsync-secret-sec-{}", w.tag())}),
            )
        }),
        row("deleteGroup", "", ADMIN, |s, w| {
            qv(
                "mutation($id: ID!) { deleteGroup(where: {id: $id}) { id } }",
                json!({"id": s.id(&format!("grp-{}", w.tag()))}),
            )
        }),
    ];
    for (field, variables) in [
        (
            "sendEmail",
            "mutation($id: String) { sendEmail(id: $id, resetActions: [\"VERIFY_EMAIL\"], expiresIn: 3600) { id } }",
        ),
        (
            "sendMultiEmail",
            "mutation($id: String) { sendMultiEmail(in: [$id], resetActions: [\"VERIFY_EMAIL\"], expiresIn: 3600) { status } }",
        ),
    ] {
        let mut r = row(field, "", ADMIN, move |s, w| {
            qv(
                variables,
                json!({"id": s.id(&format!("victim-{}", w.tag()))}),
            )
        });
        // The fake Keycloak has no mail server: the call may fail, but not for permission.
        r.expect = Allowed::NotDenied;
        rows.insert(rows.len() - 7, r);
    }
    rows
}

/// Every query and mutation field of the schema, from introspection.
async fn schema_fields(scene: &Scene) -> BTreeSet<String> {
    let d = scene
        .as_admin(
            "{ __schema { queryType { fields { name } } mutationType { fields { name } } } }",
            json!({}),
        )
        .await;
    let mut out = BTreeSet::new();
    for root in ["queryType", "mutationType"] {
        for f in d["__schema"][root]["fields"].as_array().unwrap() {
            out.insert(f["name"].as_str().unwrap().to_owned());
        }
    }
    out
}

fn codes(body: &Value) -> Vec<String> {
    body.get("errors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|e| {
            e["extensions"]["code"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_field_for_every_caller() {
    let scene = scene().await;
    let rows = rows();
    let fields = schema_fields(&scene).await;
    let covered: BTreeSet<String> = rows.iter().map(|r| r.field.to_owned()).collect();
    let missing: Vec<&String> = fields.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "fields without a row in the authorization matrix: {missing:?}"
    );
    let unknown: Vec<&String> = covered.difference(&fields).collect();
    assert!(
        unknown.is_empty(),
        "rows for fields the schema does not have: {unknown:?}"
    );

    let mut failures = Vec::new();
    let mut checked = 0;
    for r in &rows {
        for who in ALL {
            let (query, variables) = (r.op)(&scene, who);
            let (status, body) =
                post_json(&scene.platform, scene.token(who), &query, variables).await;
            checked += 1;
            let codes = codes(&body);
            let name = format!(
                "{}{} as {who:?}",
                r.field,
                if r.variant.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", r.variant)
                }
            );
            if who == Anonymous {
                if status != 401 || codes != ["NOT_AUTH"] {
                    failures.push(format!(
                        "{name}: expected HTTP 401 NOT_AUTH, got {status} {body}"
                    ));
                }
            } else if r.allowed.contains(&who) {
                let ok = status == 200
                    && match r.expect {
                        Allowed::Ok => body.get("errors").is_none(),
                        Allowed::NotDenied => !codes.iter().any(|c| c == "NOT_AUTH"),
                    };
                if !ok {
                    failures.push(format!(
                        "{name}: expected to be allowed, got {status} {body}"
                    ));
                }
            } else {
                let denied = status == 200
                    && codes.first().map(String::as_str) == Some("NOT_AUTH")
                    && body["data"]
                        .as_object()
                        .is_none_or(|d| d.values().all(Value::is_null));
                if !denied {
                    failures.push(format!("{name}: expected NOT_AUTH, got {status} {body}"));
                }
            }
        }
    }
    eprintln!(
        "authorization matrix: {} fields, {} rows × {} callers = {checked} calls, {} failures",
        fields.len(),
        rows.len(),
        ALL.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {checked} calls broke the permission table:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // Denied writes wrote nothing: every denied caller's objects are still there.
    for who in [User, Member, GroupAdmin, Client] {
        let t = who.tag();
        let d = scene
            .as_admin(
                "query($it: ID!, $img: ID!, $ds: ID!, $sec: ID!, $u: ID!) {
                    instanceType(where: {id: $it}) { cpuLimit }
                    image(where: {id: $img}) { description }
                    dataset(where: {id: $ds}) { description }
                    secret(where: {id: $sec}) { displayName }
                    user(where: {id: $u}) { id }
                }",
                json!({"it": format!("it-{t}"), "img": format!("img-{t}"), "ds": format!("ds-{t}"),
                    "sec": format!("gitsync-secret-sec-{t}"), "u": scene.id(&format!("victim-{t}"))}),
            )
            .await;
        assert_eq!(d["instanceType"]["cpuLimit"], 1.0, "{who:?}: {d}");
        assert_eq!(d["image"]["description"], Value::Null, "{who:?}: {d}");
        assert_eq!(d["dataset"]["description"], Value::Null, "{who:?}: {d}");
        assert_eq!(
            d["secret"]["displayName"],
            format!("sec-{t}"),
            "{who:?}: {d}"
        );
        assert!(d["user"]["id"].is_string(), "{who:?}: {d}");
    }
    // Denied job writes wrote nothing: those callers' jobs are not cancelled, their schedules
    // keep their names and exist.
    for who in [User, GroupAdmin, Client] {
        let t = who.tag();
        let d = scene
            .as_admin(
                "query($j: ID!, $s: ID!) { phJob(where: {id: $j}) { cancel phase } phSchedule(where: {id: $s}) { displayName } }",
                json!({"j": scene.jobs[&format!("job-{t}")], "s": scene.jobs[&format!("schedule-{t}")]}),
            )
            .await;
        assert_eq!(
            d["phJob"],
            json!({"cancel": false, "phase": "Pending"}),
            "{who:?}"
        );
        assert_eq!(
            d["phSchedule"]["displayName"],
            format!("schedule {t}"),
            "{who:?}"
        );
    }
    // The member's and the administrator's were cancelled, renamed and deleted.
    for who in [Member, Admin] {
        let t = who.tag();
        let d = scene
            .as_admin(
                "query($j: ID!) { phJob(where: {id: $j}) { cancel phase } }",
                json!({"j": scene.jobs[&format!("job-{t}")]}),
            )
            .await;
        assert_eq!(
            d["phJob"],
            json!({"cancel": true, "phase": "Cancelled"}),
            "{who:?}"
        );
    }
    // The group admin's image survived the others' attempts; theirs was deleted.
    let d = scene
        .as_admin(
            "{ a: image(where: {id: \"gimg-us\"}) { id } b: image(where: {id: \"gimg-ga\"}) { id } g: group(where: {id: \"GID\"}) { quotaCpu } }"
                .replace("GID", &scene.g_id)
                .as_str(),
            json!({}),
        )
        .await;
    assert_eq!(d["a"]["id"], "gimg-us");
    assert_eq!(d["b"], Value::Null);
    assert_eq!(
        d["g"]["quotaCpu"], 64.0,
        "only the administrator changed the quota"
    );
    scene.platform.shutdown().await.unwrap();
}

/// The images of interest in a list (the scene has more).
fn of_interest(list: &Value) -> BTreeSet<String> {
    let interesting = set(&["base-notebook", "img-g", "img-other", "gimg"]);
    names(list).intersection(&interesting).cloned().collect()
}

fn names(list: &Value) -> BTreeSet<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|i| i["id"].as_str().or(i["name"].as_str()).unwrap().to_owned())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_see_only_what_me_grants() {
    let scene = scene().await;
    let query = "{ images { id } imagesConnection { edges { node { id } } } groupImages { id }
        a: image(where: {id: \"img-g\"}) { id } b: image(where: {id: \"img-other\"}) { id } }";
    let expected: [(Who, &[&str]); 5] = [
        (User, &["base-notebook", "img-other"]),
        (Member, &["base-notebook", "img-g", "gimg"]),
        (GroupAdmin, &["base-notebook", "gimg"]),
        (Admin, &["base-notebook", "img-g", "img-other", "gimg"]),
        (Client, &["base-notebook", "img-g", "img-other", "gimg"]),
    ];
    for (who, images) in expected {
        let (status, body) = post_json(&scene.platform, scene.token(who), query, json!({})).await;
        assert_eq!(status, 200, "{who:?}: {body}");
        let d = data(&body);
        assert_eq!(of_interest(&d["images"]), set(images), "images as {who:?}");
        let edges: Vec<Value> = d["imagesConnection"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"].clone())
            .collect();
        assert_eq!(
            of_interest(&Value::Array(edges)),
            set(images),
            "imagesConnection as {who:?}"
        );
        let group_images: Vec<&str> = images.iter().copied().filter(|i| *i == "gimg").collect();
        assert_eq!(
            of_interest(&d["groupImages"]),
            set(&group_images),
            "groupImages as {who:?}"
        );
        assert_eq!(
            d["a"].is_object(),
            images.contains(&"img-g"),
            "image img-g as {who:?}"
        );
        assert_eq!(
            d["b"].is_object(),
            images.contains(&"img-other"),
            "image img-other as {who:?}"
        );
    }
    scene.platform.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_cannot_reach_other_groups_or_users_through_nested_fields() {
    let scene = scene().await;
    // The member of G reaches `other` (which shares it-shared with G) and the bystander (a
    // member of both) through nested fields only as far as the `group` rule allows.
    let query = "{ me { groups { name users { username } }
        effectiveGroups { name instanceTypes { name groups { name users { username } } }
          images { name groups { name } } datasets { name groups { name } }
          users { username groups { name } effectiveGroups { name } } } } }";
    let (status, body) = post_json(&scene.platform, Some(&scene.member), query, json!({})).await;
    assert_eq!(status, 200, "{body}");
    let text = data(&body).to_string();
    assert!(
        !text.contains("\"other\""),
        "a member of G sees group other: {text}"
    );
    assert!(
        !text.contains("\"plain\""),
        "a member of G sees plain, who is in other: {text}"
    );
    assert!(
        !text.contains("victim-"),
        "the everyone group's members are listed: {text}"
    );
    let me = &data(&body)["me"];
    let everyone = me["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "everyone")
        .expect("new users join everyone (a default group)");
    assert_eq!(
        everyone["users"],
        json!([]),
        "everyone's members are every user"
    );
    let g = me["effectiveGroups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == G)
        .expect("G in effectiveGroups");
    let members: BTreeSet<String> = g["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        members,
        set(&["bystander", "member"]),
        "co-members stay visible"
    );
    let shared = g["instanceTypes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "it-shared")
        .expect("it-shared");
    assert_eq!(names(&shared["groups"]), set(&[G]), "{shared}");

    // The administrator still sees everything.
    let (_, body) = post_json(
        &scene.platform,
        Some(&scene.admin),
        "{ instanceType(where: {id: \"it-shared\"}) { groups { name users { username } } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        names(&data(&body)["instanceType"]["groups"]),
        set(&[G, "other"])
    );
    // The shared-secret client reads any user with their groups (JupyterHub's query).
    let (_, body) = post_json(
        &scene.platform,
        Some(SHARED_SECRET),
        "query($id: ID!) { user(where: {id: $id}) { groups { name } } }",
        json!({"id": scene.id("bystander")}),
    )
    .await;
    let groups = names(&data(&body)["user"]["groups"]);
    assert!(groups.contains(G) && groups.contains("other"), "{groups:?}");
    scene.platform.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_admin_changes_members_and_names_not_limits_or_grants() {
    let scene = scene().await;
    let ga = Some(scene.group_admin.as_str());
    // Members and display name: yes.
    let (_, body) = post_json(&scene.platform, ga,
        "mutation($id: ID!, $u: ID!) { updateGroup(where: {id: $id}, data: {displayName: \"Team G\", users: {connect: [{id: $u}]}}) { displayName users { username } } }",
        json!({"id": scene.g_id, "u": scene.id("plain")})).await;
    let updated = &data(&body)["updateGroup"];
    assert_eq!(updated["displayName"], "Team G");
    assert!(
        updated["users"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["username"] == "plain"),
        "{updated}"
    );
    // Sending the current quota unchanged is fine; changing it is not, and names the field.
    let (_, body) = post_json(
        &scene.platform,
        ga,
        "mutation($id: ID!) { updateGroup(where: {id: $id}, data: {quotaCpu: 4}) { quotaCpu } }",
        json!({"id": scene.g_id}),
    )
    .await;
    assert_eq!(data(&body)["updateGroup"]["quotaCpu"], 4.0);
    for (field, value) in [
        ("quotaCpu", json!(8)),
        ("projectQuotaGpu", json!(2)),
        ("sharedVolumeCapacity", json!(5)),
        ("maxDeploy", json!(3)),
    ] {
        let (_, body) = post_json(&scene.platform, ga,
            &format!("mutation($id: ID!, $v: {}) {{ updateGroup(where: {{id: $id}}, data: {{{field}: $v}}) {{ id }} }}", if field == "quotaCpu" { "Float" } else { "Int" }),
            json!({"id": scene.g_id, "v": value})).await;
        assert_eq!(error_code(&body), "NOT_AUTH", "{field}: {body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains(&format!("data.{field}")),
            "{body}"
        );
    }
    let (_, body) = post_json(&scene.platform, Some(&scene.admin),
        "query($id: ID!) { group(where: {id: $id}) { quotaCpu projectQuotaGpu sharedVolumeCapacity maxDeploy } }",
        json!({"id": scene.g_id})).await;
    assert_eq!(
        data(&body)["group"],
        json!({"quotaCpu": 4.0, "projectQuotaGpu": null, "sharedVolumeCapacity": null, "maxDeploy": null})
    );
    // Another group's group image, or granting G's image to another group: no.
    let (_, body) = post_json(&scene.platform, ga,
        "mutation { createImage(data: {name: \"sneaky\", url: \"x/y:1\", groupName: \"other\"}) { id } }", json!({})).await;
    assert_eq!(error_code(&body), "NOT_AUTH", "{body}");
    let other_id = scene.id("other");
    let (_, body) = post_json(&scene.platform, ga,
        "mutation($o: ID!) { updateImage(where: {id: \"gimg\"}, data: {groups: {connect: [{id: $o}]}}) { id } }",
        json!({"o": other_id})).await;
    assert_eq!(error_code(&body), "NOT_AUTH", "{body}");
    let (_, body) = post_json(
        &scene.platform,
        ga,
        "mutation { updateImage(where: {id: \"gimg\"}, data: {groupName: \"other\"}) { id } }",
        json!({}),
    )
    .await;
    assert_eq!(error_code(&body), "NOT_AUTH", "{body}");
    // …while their own group is fine.
    let (_, body) = post_json(&scene.platform, ga,
        "mutation($g: ID!) { updateImage(where: {id: \"gimg\"}, data: {groups: {connect: [{id: $g}]}}) { id groups { name } } }",
        json!({"g": scene.g_id})).await;
    assert_eq!(names(&data(&body)["updateImage"]["groups"]), set(&[G]));
    // A member who is not an admin manages nothing.
    let (_, body) = post_json(
        &scene.platform,
        Some(&scene.member),
        "mutation { updateImage(where: {id: \"gimg\"}, data: {description: \"x\"}) { id } }",
        json!({}),
    )
    .await;
    assert_eq!(error_code(&body), "NOT_AUTH", "{body}");
    scene.platform.shutdown().await.unwrap();
}
