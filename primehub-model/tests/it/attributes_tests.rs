//! Tests for `primehub_model::attributes`: every key read and written back in the stored format,
//! unset handling, error reporting, preservation of unknown keys, and round trips.

use primehub_model::Error;
use primehub_model::attributes::*;
use primehub_model::quantity::{Cpu, Gpu, Memory};
use primehub_model::quota::Quota;
use proptest::prelude::*;

fn map(entries: &[(&str, &[&str])]) -> AttributeMap {
    entries
        .iter()
        .map(|(k, vs)| (k.to_string(), vs.iter().map(|v| v.to_string()).collect()))
        .collect()
}

const GIB: u64 = 1 << 30;

fn full_group_map() -> AttributeMap {
    map(&[
        ("displayName", &["Team A"]),
        ("quota-cpu", &["0.5"]),
        ("quota-gpu", &["1"]),
        ("quota-memory", &["1.5G"]),
        ("project-quota-cpu", &["8"]),
        ("project-quota-gpu", &["4"]),
        ("project-quota-memory", &["64G"]),
        ("user-volume-capacity", &["30G"]),
        ("enabled-shared-volume", &["true"]),
        ("shared-volume-capacity", &["200G"]),
        ("home-symlink", &["false"]),
        ("launch-group-only", &["true"]),
        ("enabled-deployment", &["true"]),
        ("max-deploy", &["5"]),
        ("job-default-active-deadline-seconds", &["86400"]),
        ("admins", &["alice", "bob"]),
        ("mlflow-tracking-uri", &["http://app-mlflow-xyz:5000"]),
        (
            "mlflow-ui-url",
            &["https://hub.example.com/console/apps/mlflow-xyz"],
        ),
        (
            "mlflow-tracking-envs",
            &[
                "MLFLOW_TRACKING_USERNAME=admin",
                "MLFLOW_TRACKING_PASSWORD=a=b",
            ],
        ),
        ("mlflow-artifact-envs", &["AWS_ACCESS_KEY_ID=minio"]),
    ])
}

#[test]
fn group_reads_every_key() {
    let g = GroupAttributes::from_map(&full_group_map()).expect("valid");
    assert_eq!(g.display_name.as_deref(), Some("Team A"));
    assert_eq!(g.quota_cpu, Some(Cpu::from_millis(500)));
    assert_eq!(g.quota_gpu, Some(Gpu::from_count(1)));
    assert_eq!(g.quota_memory, Some(Memory::from_bytes(3 * GIB / 2)));
    assert_eq!(g.project_quota_cpu, Some(Cpu::from_millis(8000)));
    assert_eq!(g.project_quota_gpu, Some(Gpu::from_count(4)));
    assert_eq!(g.project_quota_memory, Some(Memory::from_bytes(64 * GIB)));
    assert_eq!(g.user_volume_capacity, Some(Capacity::new(30)));
    assert_eq!(g.enabled_shared_volume, Some(true));
    assert_eq!(g.shared_volume_capacity, Some(Capacity::new(200)));
    assert_eq!(g.home_symlink, Some(false));
    assert_eq!(g.launch_group_only, Some(true));
    assert_eq!(g.enabled_deployment, Some(true));
    assert_eq!(g.max_deploy, Some(5));
    assert_eq!(g.job_default_active_deadline_seconds, Some(86400));
    assert_eq!(g.admins, ["alice", "bob"]);
    assert_eq!(
        g.mlflow_tracking_uri.as_deref(),
        Some("http://app-mlflow-xyz:5000")
    );
    assert_eq!(
        g.mlflow_ui_url.as_deref(),
        Some("https://hub.example.com/console/apps/mlflow-xyz")
    );
    assert_eq!(
        g.mlflow_tracking_envs,
        [
            EnvEntry::new("MLFLOW_TRACKING_USERNAME", "admin"),
            EnvEntry::new("MLFLOW_TRACKING_PASSWORD", "a=b"),
        ]
    );
    assert_eq!(
        g.mlflow_artifact_envs,
        [EnvEntry::new("AWS_ACCESS_KEY_ID", "minio")]
    );

    assert_eq!(
        g.user_quota(),
        Quota {
            cpu: Some(Cpu::from_millis(500)),
            gpu: Some(Gpu::from_count(1)),
            memory: Some(Memory::from_bytes(3 * GIB / 2)),
        }
    );
    assert_eq!(g.project_quota().cpu, Some(Cpu::from_millis(8000)));
    assert!(g.is_admin("alice") && g.is_admin("bob"));
    assert!(!g.is_admin("Alice") && !g.is_admin("carol") && !g.is_admin(""));
    assert!(g.shared_volume_enabled() && !g.home_symlink_enabled());
    assert!(g.launch_group_only_enabled() && g.deployment_enabled());
}

#[test]
fn group_writes_back_stored_format() {
    let original = full_group_map();
    let g = GroupAttributes::from_map(&original).expect("valid");
    assert_eq!(g.to_map(), original);
    assert_eq!(GroupAttributes::from_map(&g.to_map()), Ok(g));
}

#[test]
fn group_write_formats() {
    let g = GroupAttributes {
        quota_cpu: Some(Cpu::from_millis(1000)),
        project_quota_cpu: Some(Cpu::from_millis(1250)),
        quota_memory: Some(Memory::from_bytes(4 * GIB)),
        project_quota_memory: Some(Memory::from_bytes(GIB / 2)),
        quota_gpu: Some(Gpu::from_count(0)),
        enabled_shared_volume: Some(false),
        ..Default::default()
    };
    let m = g.to_map();
    assert_eq!(m["quota-cpu"], ["1"]);
    assert_eq!(m["project-quota-cpu"], ["1.25"]);
    assert_eq!(m["quota-memory"], ["4G"]);
    assert_eq!(m["project-quota-memory"], ["0.5G"]);
    assert_eq!(m["quota-gpu"], ["0"]);
    assert_eq!(m["enabled-shared-volume"], ["false"]);
    assert_eq!(m.len(), 6);
}

#[test]
fn unset_means_unlimited() {
    let g = GroupAttributes::from_map(&AttributeMap::new()).expect("empty is valid");
    assert_eq!(g, GroupAttributes::default());
    assert_eq!(g.user_quota(), Quota::default());
    assert_eq!(g.project_quota(), Quota::default());
    assert!(g.to_map().is_empty());
    assert!(!g.shared_volume_enabled() && g.home_symlink_enabled());
    assert!(g.launch_group_only_enabled() && !g.deployment_enabled());

    // empty strings, blank strings, empty lists and negative quotas are unset too
    let m = map(&[
        ("quota-cpu", &["-1"]),
        ("quota-gpu", &["-1"]),
        ("quota-memory", &[""]),
        ("project-quota-cpu", &["-0.5"]),
        ("project-quota-gpu", &[]),
        ("project-quota-memory", &["-1G"]),
        ("displayName", &["  "]),
        ("max-deploy", &[""]),
    ]);
    let g = GroupAttributes::from_map(&m).expect("valid");
    assert_eq!(g, GroupAttributes::default());
    // a real zero is a limit
    let g = GroupAttributes::from_map(&map(&[("quota-gpu", &["0"])])).expect("valid");
    assert_eq!(g.user_quota().gpu, Some(Gpu::from_count(0)));
}

#[test]
fn lenient_reads() {
    let m = map(&[
        ("enabled-shared-volume", &["TRUE"]),
        ("home-symlink", &["False"]),
        ("quota-cpu", &[" 2 "]),
        ("quota-memory", &["2"]), // bare number = GiB (GraphQL's float GB)
        ("shared-volume-capacity", &["100"]),
        ("admins", &["alice,bob", "carol", "alice"]),
        (
            "mlflow-tracking-envs",
            &[r#"[{"name":"A","value":"1"},{"name":"B","value":""}]"#],
        ),
    ]);
    let g = GroupAttributes::from_map(&m).expect("valid");
    assert_eq!(g.enabled_shared_volume, Some(true));
    assert_eq!(g.home_symlink, Some(false));
    assert_eq!(g.quota_cpu, Some(Cpu::from_millis(2000)));
    assert_eq!(g.quota_memory, Some(Memory::from_bytes(2 * GIB)));
    assert_eq!(g.shared_volume_capacity, Some(Capacity::new(100)));
    assert_eq!(g.admins, ["alice", "bob", "carol"]);
    assert_eq!(
        g.mlflow_tracking_envs,
        [EnvEntry::new("A", "1"), EnvEntry::new("B", "")]
    );
    // written back canonically
    let out = g.to_map();
    assert_eq!(out["enabled-shared-volume"], ["true"]);
    assert_eq!(out["home-symlink"], ["false"]);
    assert_eq!(out["quota-memory"], ["2G"]);
    assert_eq!(out["shared-volume-capacity"], ["100G"]);
    assert_eq!(out["admins"], ["alice", "bob", "carol"]);
    assert_eq!(out["mlflow-tracking-envs"], ["A=1", "B="]);
}

fn attr_error(result: Result<impl std::fmt::Debug, Error>) -> (String, String, String) {
    match result {
        Err(Error::InvalidAttribute { key, value, rule }) => (key, value, rule),
        other => panic!("expected InvalidAttribute, got {other:?}"),
    }
}

#[test]
fn bad_group_values_name_key_and_value() {
    let cases: &[(&str, &str, &str)] = &[
        ("quota-cpu", "lots", "decimal cores"),
        ("quota-cpu", "--1", "decimal cores"),
        ("project-quota-cpu", "1x", "decimal cores"),
        ("quota-gpu", "0.5", "whole number"),
        ("project-quota-gpu", "two", "whole number"),
        ("quota-memory", "4Q", "GiB"),
        ("project-quota-memory", "-x", "GiB"),
        ("user-volume-capacity", "1.5G", "whole number of GB"),
        ("shared-volume-capacity", "20Gi", "whole number of GB"),
        ("shared-volume-capacity", "-1G", "whole number of GB"),
        ("enabled-shared-volume", "yes", "\"true\" or \"false\""),
        ("home-symlink", "1", "\"true\" or \"false\""),
        ("launch-group-only", "no", "\"true\" or \"false\""),
        ("enabled-deployment", "on", "\"true\" or \"false\""),
        ("max-deploy", "-1", "integer"),
        ("max-deploy", "3.5", "integer"),
        ("job-default-active-deadline-seconds", "1d", "integer"),
        ("mlflow-tracking-envs", "[{\"name\":1}]", "JSON array"),
        ("mlflow-artifact-envs", "NOEQUALS", "NAME=value"),
    ];
    for (key, value, rule_part) in cases {
        let m = map(&[(key, &[value])]);
        let (k, v, rule) = attr_error(GroupAttributes::from_map(&m));
        assert_eq!(&k, key);
        assert_eq!(&v, value);
        assert!(rule.contains(rule_part), "{key}={value}: {rule}");
        let msg = GroupAttributes::from_map(&m)
            .expect_err("must be rejected")
            .to_string();
        assert!(
            msg.contains(key) && msg.contains(&format!("{value:?}")),
            "{msg}"
        );
    }
}

#[test]
fn write_to_preserves_unknown_keys() {
    let mut m = full_group_map();
    m.insert("quota-disk".into(), vec!["20".into()]);
    m.insert("canUseGpu".into(), vec!["true".into(), "x".into()]);
    m.insert("custom".into(), vec![]);
    GroupAttributes::default().write_to(&mut m);
    assert_eq!(
        m,
        map(&[
            ("quota-disk", &["20"]),
            ("canUseGpu", &["true", "x"]),
            ("custom", &[])
        ])
    );
}

#[test]
fn set_quota_helpers() {
    let mut g = GroupAttributes::default();
    let q = Quota {
        cpu: Some(Cpu::from_millis(1500)),
        gpu: None,
        memory: Some(Memory::from_bytes(GIB)),
    };
    g.set_user_quota(q);
    g.set_project_quota(q);
    assert_eq!(g.user_quota(), q);
    assert_eq!(g.project_quota(), q);
    let m = g.to_map();
    assert_eq!(m["quota-cpu"], ["1.5"]);
    assert_eq!(m["project-quota-memory"], ["1G"]);
    assert!(!m.contains_key("quota-gpu"));
}

#[test]
fn capacity() {
    assert_eq!(Capacity::parse("k", "20G"), Ok(Capacity::new(20)));
    assert_eq!(Capacity::parse("k", "0G"), Ok(Capacity::new(0)));
    assert_eq!(Capacity::parse("k", "7"), Ok(Capacity::new(7)));
    for bad in [
        "",
        "G",
        "1.5G",
        "20Gi",
        "-1G",
        "20 G",
        "x",
        "99999999999999999999G",
    ] {
        let (k, v, _) = attr_error(Capacity::parse("k", bad));
        assert_eq!((k.as_str(), v.as_str()), ("k", bad));
    }
    assert_eq!(Capacity::new(20).to_attribute_string(), "20G");
    assert_eq!(Capacity::new(20).to_string(), "20G");
    assert_eq!(Capacity::new(20).to_pvc_quantity(), "20Gi");
}

#[test]
fn user_attributes() {
    let m = map(&[
        ("volumeCapacity", &["50G"]),
        ("enableInviteUsers", &["true"]),
        ("annLastReadTime", &["1577836800"]),
        ("timezone", &["Asia/Taipei"]),
        ("locale", &["zh_TW"]),
        (
            "predefinedEnvs",
            &[r#"[{"name":"HTTP_PROXY","value":"http://proxy:3128"},{"name":"EMPTY","value":""}]"#],
        ),
        ("other", &["x"]),
    ]);
    let u = UserAttributes::from_map(&m).expect("valid");
    assert_eq!(
        u,
        UserAttributes {
            volume_capacity: Some(Capacity::new(50)),
            enable_invite_users: Some(true),
            ann_last_read_time: Some(1_577_836_800),
            timezone: Some("Asia/Taipei".into()),
            locale: Some("zh_TW".into()),
            predefined_envs: Some(vec![
                EnvEntry::new("HTTP_PROXY", "http://proxy:3128"),
                EnvEntry::new("EMPTY", ""),
            ]),
        }
    );
    let mut back = map(&[("other", &["x"])]);
    u.write_to(&mut back);
    assert_eq!(back, m);
    assert_eq!(UserAttributes::from_map(&u.to_map()), Ok(u));

    // legacy personalDiskQuota is a fallback, and is migrated on write
    let legacy = map(&[("personalDiskQuota", &["10G"])]);
    let u = UserAttributes::from_map(&legacy).expect("valid");
    assert_eq!(u.volume_capacity, Some(Capacity::new(10)));
    assert_eq!(u.to_map(), map(&[("volumeCapacity", &["10G"])]));
    let mut m = legacy.clone();
    u.write_to(&mut m);
    assert_eq!(m, map(&[("volumeCapacity", &["10G"])]));
    // the current key wins
    let both = map(&[
        ("personalDiskQuota", &["10G"]),
        ("volumeCapacity", &["30G"]),
    ]);
    assert_eq!(
        UserAttributes::from_map(&both)
            .expect("valid")
            .volume_capacity,
        Some(Capacity::new(30))
    );

    for (key, value) in [
        ("volumeCapacity", "big"),
        ("personalDiskQuota", "1.5G"),
        ("enableInviteUsers", "maybe"),
        ("annLastReadTime", "yesterday"),
        ("predefinedEnvs", "HTTP_PROXY=x"),
        ("predefinedEnvs", "[{\"name\": 1}]"),
    ] {
        let (k, v, _) = attr_error(UserAttributes::from_map(&map(&[(key, &[value])])));
        assert_eq!((k.as_str(), v.as_str()), (key, value));
    }
    assert_eq!(
        UserAttributes::from_map(&AttributeMap::new()),
        Ok(UserAttributes::default())
    );
}

#[test]
fn system_settings() {
    let m = map(&[
        ("org.name", &["InfuseAI"]),
        ("org.logo.contentType", &["image/png"]),
        ("org.logo.name", &["logo.png"]),
        ("org.logo.size", &["2048"]),
        ("org.logo.url", &["https://example.com/logo.png"]),
        ("defaultUserVolumeCapacity", &["20G"]),
        ("timezone", &["Asia/Taipei"]),
        ("smtp", &["kept"]),
    ]);
    let s = SystemSettings::from_map(&m).expect("valid");
    assert_eq!(
        s,
        SystemSettings {
            org_name: Some("InfuseAI".into()),
            org_logo_content_type: Some("image/png".into()),
            org_logo_name: Some("logo.png".into()),
            org_logo_size: Some(2048),
            org_logo_url: Some("https://example.com/logo.png".into()),
            default_user_volume_capacity: Some(Capacity::new(20)),
            timezone_name: Some("Asia/Taipei".into()),
        }
    );
    let mut back = map(&[("smtp", &["kept"])]);
    s.write_to(&mut back);
    assert_eq!(back, m);

    // legacy fallbacks: the console's system resolver reads `timezone`, then the legacy
    // object form `timezone.name`, and writes the flat `timezone`
    // (InfuseAI/primehub-console packages/graphql-server/src/resolvers/system.ts).
    let legacy = map(&[
        ("defaultUserDiskQuota", &["15G"]),
        ("timezone.name", &["UTC"]),
    ]);
    let s = SystemSettings::from_map(&legacy).expect("valid");
    assert_eq!(s.default_user_volume_capacity, Some(Capacity::new(15)));
    assert_eq!(s.timezone_name.as_deref(), Some("UTC"));
    assert_eq!(
        s.to_map(),
        map(&[
            ("defaultUserVolumeCapacity", &["15G"]),
            ("timezone", &["UTC"])
        ])
    );
    let both = map(&[("timezone", &["Asia/Tokyo"]), ("timezone.name", &["UTC"])]);
    let s2 = SystemSettings::from_map(&both).expect("valid");
    assert_eq!(
        s2.timezone_name.as_deref(),
        Some("Asia/Tokyo"),
        "timezone wins"
    );
    let mut written = both.clone();
    s2.write_to(&mut written);
    assert_eq!(written, map(&[("timezone", &["Asia/Tokyo"])]));
    let mut m = legacy.clone();
    s.write_to(&mut m);
    assert_eq!(m, s.to_map());

    let (k, v, _) = attr_error(SystemSettings::from_map(&map(&[(
        "org.logo.size",
        &["big"],
    )])));
    assert_eq!((k.as_str(), v.as_str()), ("org.logo.size", "big"));
    let (k, _, _) = attr_error(SystemSettings::from_map(&map(&[(
        "defaultUserVolumeCapacity",
        &["x"],
    )])));
    assert_eq!(k, "defaultUserVolumeCapacity");
}

#[test]
fn home_volume_capacity_resolution() {
    let mut user = UserAttributes::default();
    let mut system = SystemSettings::default();
    assert_eq!(home_volume_capacity(&user, &system), Capacity::new(20));
    system.default_user_volume_capacity = Some(Capacity::new(40));
    assert_eq!(home_volume_capacity(&user, &system), Capacity::new(40));
    user.volume_capacity = Some(Capacity::new(5));
    assert_eq!(home_volume_capacity(&user, &system), Capacity::new(5));
}

fn arb_opt_string() -> impl Strategy<Value = Option<String>> {
    // non-blank, no surrounding whitespace (values are trimmed on read)
    prop::option::of("[A-Za-z0-9:/._-][A-Za-z0-9 :/._-]{0,20}[A-Za-z0-9:/._-]|[A-Za-z0-9]")
}

fn arb_envs() -> impl Strategy<Value = Vec<EnvEntry>> {
    prop::collection::vec(
        ("[A-Z_][A-Z0-9_]{0,10}", "[ -~]{0,12}").prop_map(|(n, v)| EnvEntry::new(n, v.trim())),
        0..4,
    )
}

fn arb_group() -> impl Strategy<Value = GroupAttributes> {
    let quotas = (
        prop::option::of((0u64..10_000_000).prop_map(Cpu::from_millis)),
        prop::option::of((0u64..10_000).prop_map(Gpu::from_count)),
        prop::option::of((0u64..(1u64 << 40)).prop_map(|kib| Memory::from_bytes(kib << 10))),
        prop::option::of((0u64..10_000_000).prop_map(Cpu::from_millis)),
        prop::option::of((0u64..10_000).prop_map(Gpu::from_count)),
        prop::option::of((0u64..(1u64 << 40)).prop_map(|kib| Memory::from_bytes(kib << 10))),
    );
    let flags = (
        prop::option::of(any::<bool>()),
        prop::option::of(any::<bool>()),
        prop::option::of(any::<bool>()),
        prop::option::of(any::<bool>()),
        prop::option::of(any::<u32>()),
        prop::option::of(any::<u64>()),
        prop::option::of(any::<u64>().prop_map(Capacity::new)),
        prop::option::of(any::<u64>().prop_map(Capacity::new)),
    );
    let texts = (
        arb_opt_string(),
        arb_opt_string(),
        arb_opt_string(),
        prop::collection::btree_set("[a-z][a-z0-9_.@-]{0,10}", 0..4),
        arb_envs(),
        arb_envs(),
    );
    (quotas, flags, texts).prop_map(
        |(
            (qc, qg, qm, pc, pg, pm),
            (esv, hs, lgo, ed, md, jd, uvc, svc),
            (dn, uri, ui, admins, te, ae),
        )| GroupAttributes {
            display_name: dn,
            quota_cpu: qc,
            quota_gpu: qg,
            quota_memory: qm,
            project_quota_cpu: pc,
            project_quota_gpu: pg,
            project_quota_memory: pm,
            user_volume_capacity: uvc,
            enabled_shared_volume: esv,
            shared_volume_capacity: svc,
            home_symlink: hs,
            launch_group_only: lgo,
            enabled_deployment: ed,
            max_deploy: md,
            job_default_active_deadline_seconds: jd,
            admins: admins.into_iter().collect(),
            mlflow_tracking_uri: uri,
            mlflow_ui_url: ui,
            mlflow_tracking_envs: te,
            mlflow_artifact_envs: ae,
        },
    )
}

proptest! {
    #[test]
    fn group_round_trip(g in arb_group()) {
        let m = g.to_map();
        for (key, values) in &m {
            prop_assert!(group_keys::ALL.contains(&key.as_str()));
            prop_assert!(!values.is_empty());
            prop_assert!(values.iter().all(|v| !v.is_empty()));
            if !matches!(key.as_str(), "admins" | "mlflow-tracking-envs" | "mlflow-artifact-envs") {
                prop_assert_eq!(values.len(), 1);
            }
        }
        prop_assert_eq!(GroupAttributes::from_map(&m), Ok(g.clone()));
        // writing over a map with foreign keys keeps them and yields the same view
        let mut other = AttributeMap::new();
        other.insert("foreign".into(), vec!["1".into(), "2".into()]);
        other.insert("quota-cpu".into(), vec!["99".into()]);
        g.write_to(&mut other);
        prop_assert_eq!(other.get("foreign"), Some(&vec!["1".to_string(), "2".to_string()]));
        prop_assert_eq!(GroupAttributes::from_map(&other), Ok(g));
    }

    #[test]
    fn group_from_map_never_panics(
        entries in prop::collection::btree_map(
            prop::sample::select(group_keys::ALL.to_vec()),
            prop::collection::vec(any::<String>(), 0..3),
            0..8,
        )
    ) {
        let m: AttributeMap = entries.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        if let Ok(g) = GroupAttributes::from_map(&m) {
            // whatever reads, writes back to something that reads the same
            prop_assert_eq!(GroupAttributes::from_map(&g.to_map()), Ok(g));
        }
    }

    #[test]
    fn capacity_round_trip(n in any::<u64>()) {
        let c = Capacity::new(n);
        prop_assert_eq!(Capacity::parse("k", &c.to_attribute_string()), Ok(c));
    }
}

/// One malformed value is reported with its key and skipped; the quotas still apply
/// (issue 7 §6: a group is never lost to one bad attribute).
#[test]
fn group_reading_is_lenient_per_key() {
    let mut m = full_group_map();
    m.insert("max-deploy".into(), vec!["lots".into()]);
    m.insert("quota-gpu".into(), vec!["0.5".into()]);
    m.insert(
        "mlflow-tracking-envs".into(),
        vec!["GOOD=1".into(), "NOEQUALS".into(), "ALSO=2".into()],
    );
    let read = GroupAttributes::read(&m);
    let g = &read.value;
    // Everything readable was read: the other quotas apply.
    assert_eq!(g.quota_cpu, Some(Cpu::from_millis(500)));
    assert_eq!(
        g.quota_memory,
        Memory::from_gib(1).map(|m| Memory::from_bytes(m.bytes() + GIB / 2))
    );
    assert_eq!(g.project_quota_gpu, Some(Gpu::from_count(4)));
    assert!(g.is_admin("alice"));
    // The bad keys are unset; the bad env value alone is left out.
    assert_eq!(g.max_deploy, None);
    assert_eq!(g.quota_gpu, None);
    assert_eq!(
        g.mlflow_tracking_envs,
        vec![EnvEntry::new("GOOD", "1"), EnvEntry::new("ALSO", "2")]
    );
    let keys: Vec<(String, String)> = read
        .problems
        .iter()
        .map(|e| match e {
            Error::InvalidAttribute { key, value, .. } => (key.clone(), value.clone()),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        keys,
        vec![
            ("quota-gpu".to_owned(), "0.5".to_owned()),
            ("max-deploy".to_owned(), "lots".to_owned()),
            ("mlflow-tracking-envs".to_owned(), "NOEQUALS".to_owned()),
        ]
    );
    assert!(!read.is_clean());
    // The strict API reports the first problem.
    let (k, _, _) = attr_error(GroupAttributes::from_map(&m));
    assert_eq!(k, "quota-gpu");
    // A clean map reads the same both ways.
    let clean = GroupAttributes::read(&full_group_map());
    assert!(clean.is_clean());
    assert_eq!(
        clean.into_strict(),
        GroupAttributes::from_map(&full_group_map())
    );
}

#[test]
fn user_and_system_reading_is_lenient_per_key() {
    let m = map(&[
        ("volumeCapacity", &["big"]),
        ("personalDiskQuota", &["10G"]),
        ("enableInviteUsers", &["true"]),
        ("predefinedEnvs", &["not json"]),
    ]);
    let read = UserAttributes::read(&m);
    assert_eq!(read.value.enable_invite_users, Some(true));
    assert_eq!(
        read.value.volume_capacity,
        Some(Capacity::new(10)),
        "a bad current key falls back to the legacy one"
    );
    assert_eq!(read.value.predefined_envs, None);
    assert_eq!(read.problems.len(), 2);
    assert!(read.problems[1].to_string().contains("predefinedEnvs"));

    let s = SystemSettings::read(&map(&[
        ("org.logo.size", &["big"]),
        ("org.name", &["InfuseAI"]),
        ("timezone", &["Asia/Taipei"]),
    ]));
    assert_eq!(s.value.org_name.as_deref(), Some("InfuseAI"));
    assert_eq!(s.value.timezone_name.as_deref(), Some("Asia/Taipei"));
    assert_eq!(s.value.org_logo_size, None);
    assert_eq!(s.problems.len(), 1);
}

/// `predefinedEnvs` is one JSON string; written as a compact array of `{name, value}`, an object
/// `{NAME: value}` is accepted on read.
#[test]
fn predefined_envs_json_string() {
    let u = UserAttributes {
        predefined_envs: Some(vec![EnvEntry::new("A", "1"), EnvEntry::new("B", "x=y")]),
        ..UserAttributes::default()
    };
    let m = u.to_map();
    assert_eq!(
        m["predefinedEnvs"],
        [r#"[{"name":"A","value":"1"},{"name":"B","value":"x=y"}]"#]
    );
    assert_eq!(UserAttributes::from_map(&m), Ok(u));
    let object = map(&[("predefinedEnvs", &[r#"{"B": "2", "A": "1"}"#])]);
    assert_eq!(
        UserAttributes::from_map(&object).map(|u| u.predefined_envs),
        Ok(Some(vec![EnvEntry::new("A", "1"), EnvEntry::new("B", "2")]))
    );
    // An empty list is a set value, distinct from unset.
    let empty = UserAttributes {
        predefined_envs: Some(Vec::new()),
        ..UserAttributes::default()
    };
    assert_eq!(empty.to_map()["predefinedEnvs"], ["[]"]);
    assert_eq!(UserAttributes::from_map(&empty.to_map()), Ok(empty));
    let mut m = map(&[("predefinedEnvs", &["[]"]), ("other", &["x"])]);
    UserAttributes::default().write_to(&mut m);
    assert_eq!(m, map(&[("other", &["x"])]), "unset removes the key");
}
