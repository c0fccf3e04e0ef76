//! Typed views of Keycloak attribute maps: group settings and quotas, user settings, and the
//! system settings stored on the `everyone` group.
//!
//! Keycloak stores attributes as `BTreeMap<String, Vec<String>>` ([`AttributeMap`]). The rules
//! followed here are PrimeHub's:
//!
//! * **Reading** uses element `[0]` of a key's list (except the list-valued `admins`,
//!   `mlflow-tracking-envs` and `mlflow-artifact-envs`). A missing key, an empty list or an
//!   empty/blank string means *unset*; for quotas unset means **unlimited**. A negative CPU, GPU or
//!   memory quota (old data wrote `-1`) is also read as unset.
//! * **Writing** ([`GroupAttributes::write_to`] etc.) sets exactly one value per key, removes the
//!   key when the field is unset (never writes empty strings or nulls), and touches only the keys
//!   the view owns: every other key in the map survives untouched.
//! * **Reading is lenient per key** ([`GroupAttributes::read`], [`UserAttributes::read`],
//!   [`SystemSettings::read`]): a value that cannot be read is reported as an
//!   [`Error::InvalidAttribute`] naming the key, the value and the expected format, and that one
//!   key is skipped (read as unset); every other key is still read. One malformed `max-deploy`
//!   never takes a group's quotas away. The strict `from_map` constructors return the first
//!   problem as an error instead, for callers that validate input they are about to write.
//!
//! Stored formats: CPU quotas as decimal cores (`"0.5"`), GPU quotas as integers (`"2"`), memory
//! quotas as `"<decimal>G"` meaning GiB (`"1.5G"`, DESIGN §4.1), capacities as whole `"<int>G"`
//! (see [`Capacity`]), booleans as `"true"`/`"false"` (read case-insensitively, written lowercase).
//!
//! ```
//! use std::collections::BTreeMap;
//! use primehub_model::attributes::{AttributeMap, Capacity, GroupAttributes, group_keys};
//!
//! let mut map = AttributeMap::new();
//! map.insert("quota-cpu".into(), vec!["0.5".into()]);
//! map.insert("project-quota-memory".into(), vec!["4G".into()]);
//! map.insert("shared-volume-capacity".into(), vec!["200G".into()]);
//! map.insert("admins".into(), vec!["alice".into(), "bob".into()]);
//! map.insert("something-else".into(), vec!["kept".into()]);
//!
//! let mut attrs = GroupAttributes::from_map(&map)?;
//! assert_eq!(attrs.user_quota().cpu.map(|c| c.millis()), Some(500));
//! assert_eq!(attrs.user_quota().gpu, None); // unset = unlimited
//! assert_eq!(attrs.project_quota().memory.map(|m| m.bytes()), Some(4 << 30));
//! assert_eq!(attrs.shared_volume_capacity.map(|c| c.to_pvc_quantity()), Some("200Gi".to_owned()));
//! assert!(attrs.is_admin("bob"));
//!
//! attrs.quota_cpu = None;
//! attrs.max_deploy = Some(3);
//! attrs.write_to(&mut map);
//! assert!(!map.contains_key(group_keys::QUOTA_CPU));
//! assert_eq!(map[group_keys::MAX_DEPLOY], ["3"]);
//! assert_eq!(map["something-else"], ["kept"]);
//! # Ok::<(), primehub_model::Error>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::quantity::{Cpu, Gpu, Memory};
use crate::quota::Quota;
use crate::{Error, Result};

/// A Keycloak attribute map: every key holds a list of strings.
pub type AttributeMap = BTreeMap<String, Vec<String>>;

/// Keycloak attribute keys of a group (reference §3.4).
pub mod group_keys {
    /// `displayName`: the UI name (string).
    pub const DISPLAY_NAME: &str = "displayName";
    /// `quota-cpu`: per-user CPU cap within the group, decimal cores.
    pub const QUOTA_CPU: &str = "quota-cpu";
    /// `quota-gpu`: per-user GPU cap, integer.
    pub const QUOTA_GPU: &str = "quota-gpu";
    /// `quota-memory`: per-user memory cap, `"<decimal>G"` (GiB).
    pub const QUOTA_MEMORY: &str = "quota-memory";
    /// `project-quota-cpu`: whole-group CPU cap, decimal cores.
    pub const PROJECT_QUOTA_CPU: &str = "project-quota-cpu";
    /// `project-quota-gpu`: whole-group GPU cap, integer.
    pub const PROJECT_QUOTA_GPU: &str = "project-quota-gpu";
    /// `project-quota-memory`: whole-group memory cap, `"<decimal>G"` (GiB).
    pub const PROJECT_QUOTA_MEMORY: &str = "project-quota-memory";
    /// `user-volume-capacity`: per-group default home-volume size, `"<int>G"`.
    pub const USER_VOLUME_CAPACITY: &str = "user-volume-capacity";
    /// `enabled-shared-volume`: the group shared volume exists, boolean.
    pub const ENABLED_SHARED_VOLUME: &str = "enabled-shared-volume";
    /// `shared-volume-capacity`: group shared-volume size, `"<int>G"`.
    pub const SHARED_VOLUME_CAPACITY: &str = "shared-volume-capacity";
    /// `home-symlink`: symlink the shared volume into home, boolean.
    pub const HOME_SYMLINK: &str = "home-symlink";
    /// `launch-group-only`: mount the shared volume only when launching with this group, boolean.
    pub const LAUNCH_GROUP_ONLY: &str = "launch-group-only";
    /// `enabled-deployment`: model deployment allowed, boolean.
    pub const ENABLED_DEPLOYMENT: &str = "enabled-deployment";
    /// `max-deploy`: cap on running deployments, integer.
    pub const MAX_DEPLOY: &str = "max-deploy";
    /// `job-default-active-deadline-seconds`: per-group default job timeout, integer seconds.
    pub const JOB_DEFAULT_ACTIVE_DEADLINE_SECONDS: &str = "job-default-active-deadline-seconds";
    /// `admins`: group admins, one username per value.
    pub const ADMINS: &str = "admins";
    /// `mlflow-tracking-uri`: MLflow tracking URI (string).
    pub const MLFLOW_TRACKING_URI: &str = "mlflow-tracking-uri";
    /// `mlflow-ui-url`: MLflow UI URL (string).
    pub const MLFLOW_UI_URL: &str = "mlflow-ui-url";
    /// `mlflow-tracking-envs`: MLflow tracking environment variables.
    pub const MLFLOW_TRACKING_ENVS: &str = "mlflow-tracking-envs";
    /// `mlflow-artifact-envs`: MLflow artifact-store environment variables.
    pub const MLFLOW_ARTIFACT_ENVS: &str = "mlflow-artifact-envs";

    /// Every key [`super::GroupAttributes`] reads and writes.
    pub const ALL: [&str; 20] = [
        DISPLAY_NAME,
        QUOTA_CPU,
        QUOTA_GPU,
        QUOTA_MEMORY,
        PROJECT_QUOTA_CPU,
        PROJECT_QUOTA_GPU,
        PROJECT_QUOTA_MEMORY,
        USER_VOLUME_CAPACITY,
        ENABLED_SHARED_VOLUME,
        SHARED_VOLUME_CAPACITY,
        HOME_SYMLINK,
        LAUNCH_GROUP_ONLY,
        ENABLED_DEPLOYMENT,
        MAX_DEPLOY,
        JOB_DEFAULT_ACTIVE_DEADLINE_SECONDS,
        ADMINS,
        MLFLOW_TRACKING_URI,
        MLFLOW_UI_URL,
        MLFLOW_TRACKING_ENVS,
        MLFLOW_ARTIFACT_ENVS,
    ];
}

/// Keycloak attribute keys of a user (reference §3.3).
pub mod user_keys {
    /// `volumeCapacity`: home-volume size, `"<int>G"`.
    pub const VOLUME_CAPACITY: &str = "volumeCapacity";
    /// `personalDiskQuota`: legacy name of `volumeCapacity` (read as a fallback, removed on write).
    pub const LEGACY_PERSONAL_DISK_QUOTA: &str = "personalDiskQuota";
    /// `enableInviteUsers`: the user may invite users, boolean.
    pub const ENABLE_INVITE_USERS: &str = "enableInviteUsers";
    /// `annLastReadTime`: when announcements were last read, unix seconds.
    pub const ANN_LAST_READ_TIME: &str = "annLastReadTime";
    /// `timezone`: the user's time zone (passed to pods as `TZ`).
    pub const TIMEZONE: &str = "timezone";
    /// `locale`: the UI locale.
    pub const LOCALE: &str = "locale";
    /// `predefinedEnvs`: environment variables the user defines for their notebooks and jobs,
    /// one JSON string (a JSON array of `{"name", "value"}` objects).
    pub const PREDEFINED_ENVS: &str = "predefinedEnvs";
}

/// Keycloak attribute keys of the `everyone` group that hold system settings (reference §3.5).
pub mod system_keys {
    /// `org.name`: organisation name.
    pub const ORG_NAME: &str = "org.name";
    /// `org.logo.contentType`: MIME type of the logo.
    pub const ORG_LOGO_CONTENT_TYPE: &str = "org.logo.contentType";
    /// `org.logo.name`: file name of the logo.
    pub const ORG_LOGO_NAME: &str = "org.logo.name";
    /// `org.logo.size`: size of the logo in bytes.
    pub const ORG_LOGO_SIZE: &str = "org.logo.size";
    /// `org.logo.url`: URL of the logo.
    pub const ORG_LOGO_URL: &str = "org.logo.url";
    /// `defaultUserVolumeCapacity`: default home-volume size, `"<int>G"`.
    pub const DEFAULT_USER_VOLUME_CAPACITY: &str = "defaultUserVolumeCapacity";
    /// `defaultUserDiskQuota`: legacy name of `defaultUserVolumeCapacity` (read as a fallback,
    /// removed on write).
    pub const LEGACY_DEFAULT_USER_DISK_QUOTA: &str = "defaultUserDiskQuota";
    /// `timezone`: the system time zone name, for example `"Asia/Taipei"` (cron schedules,
    /// `TZ`). The console's system resolver writes this flat key on every update
    /// (InfuseAI/primehub-console `packages/graphql-server/src/resolvers/system.ts`).
    pub const TIMEZONE: &str = "timezone";
    /// `timezone.name`: the legacy object form of `timezone` (`{timezone: {name}}` flattened);
    /// read when `timezone` is absent, removed on write.
    pub const LEGACY_TIMEZONE_NAME: &str = "timezone.name";
}

// ---------------------------------------------------------------------------------------------
// value codecs

fn invalid(key: &str, value: &str, rule: impl Into<String>) -> Error {
    Error::InvalidAttribute {
        key: key.to_owned(),
        value: value.to_owned(),
        rule: rule.into(),
    }
}

/// Attributes read leniently: what could be read, and one problem per value that could not.
///
/// Every problem is an [`Error::InvalidAttribute`] naming the key; the key it names was read as
/// unset (or, for list-valued keys, the bad value was left out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lenient<T> {
    /// The attributes that could be read.
    pub value: T,
    /// The values that could not be read, in key order.
    pub problems: Vec<Error>,
}

impl<T> Lenient<T> {
    /// Whether every value was read.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }

    /// The value when every key was read, else the first problem.
    pub fn into_strict(self) -> Result<T> {
        match self.problems.into_iter().next() {
            None => Ok(self.value),
            Some(e) => Err(e),
        }
    }
}

/// Collects per-key problems while reading.
#[derive(Debug, Default)]
struct Problems(Vec<Error>);

impl Problems {
    /// The value, or `None` with the error recorded.
    fn keep<T>(&mut self, r: Result<Option<T>>) -> Option<T> {
        match r {
            Ok(v) => v,
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }

    fn finish<T>(self, value: T) -> Lenient<T> {
        Lenient {
            value,
            problems: self.0,
        }
    }
}

/// Element `[0]` of `key`, trimmed; `None` when missing, empty or blank.
fn first<'a>(map: &'a AttributeMap, key: &str) -> Option<&'a str> {
    map.get(key)
        .and_then(|values| values.first())
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
}

fn set(map: &mut AttributeMap, key: &str, value: Option<String>) {
    match value {
        Some(v) => {
            map.insert(key.to_owned(), vec![v]);
        }
        None => {
            map.remove(key);
        }
    }
}

fn set_list(map: &mut AttributeMap, key: &str, values: Vec<String>) {
    if values.is_empty() {
        map.remove(key);
    } else {
        map.insert(key.to_owned(), values);
    }
}

fn read_string(map: &AttributeMap, key: &str) -> Option<String> {
    first(map, key).map(str::to_owned)
}

/// Reads `"true"`/`"false"` (any case).
fn read_bool(map: &AttributeMap, key: &str) -> Result<Option<bool>> {
    first(map, key)
        .map(|v| {
            if v.eq_ignore_ascii_case("true") {
                Ok(true)
            } else if v.eq_ignore_ascii_case("false") {
                Ok(false)
            } else {
                Err(invalid(key, v, "expected \"true\" or \"false\""))
            }
        })
        .transpose()
}

fn read_int<T: std::str::FromStr>(map: &AttributeMap, key: &str, what: &str) -> Result<Option<T>> {
    first(map, key)
        .map(|v| {
            v.strip_prefix('+')
                .unwrap_or(v)
                .parse::<T>()
                .map_err(|_| invalid(key, v, format!("expected {what}")))
        })
        .transpose()
}

fn bool_string(b: bool) -> String {
    if b { "true" } else { "false" }.to_owned()
}

/// Reads a quota with `parse`; a negative number means unlimited (old data wrote `-1`).
fn read_quota<T>(
    map: &AttributeMap,
    key: &str,
    format: &str,
    parse: fn(&str, &str) -> Result<T>,
) -> Result<Option<T>> {
    let Some(v) = first(map, key) else {
        return Ok(None);
    };
    let rule = |e: Error| match e {
        Error::InvalidQuantity { rule, .. } => {
            invalid(key, v, format!("expected {format}: {rule}"))
        }
        other => other,
    };
    if let Some(magnitude) = v.strip_prefix('-') {
        // A well-formed negative amount is the legacy spelling of "unlimited".
        return match parse(key, magnitude) {
            Ok(_) => Ok(None),
            Err(e) => Err(rule(e)),
        };
    }
    parse(key, v).map(Some).map_err(rule)
}

const CPU_FORMAT: &str = "decimal cores such as \"0.5\" (negative = unlimited)";
const GPU_FORMAT: &str = "a whole number of GPUs such as \"2\" (negative = unlimited)";
const MEMORY_FORMAT: &str = "GiB as \"<decimal>G\" such as \"1.5G\" (negative = unlimited)";
const CAPACITY_FORMAT: &str = "a whole number of GB as \"<int>G\" such as \"20G\"";

/// A volume capacity stored as whole gigabytes, `"<int>G"` (`user-volume-capacity`,
/// `shared-volume-capacity`, `volumeCapacity`, `defaultUserVolumeCapacity`).
///
/// PrimeHub turns these into PVC sizes `"<n>Gi"` ([`Capacity::to_pvc_quantity`]).
///
/// ```
/// use primehub_model::attributes::Capacity;
/// let c = Capacity::parse("volumeCapacity", "20G")?;
/// assert_eq!(c, Capacity::new(20));
/// assert_eq!(c.to_attribute_string(), "20G");
/// assert_eq!(c.to_pvc_quantity(), "20Gi");
/// assert!(Capacity::parse("volumeCapacity", "1.5G").is_err());
/// # Ok::<(), primehub_model::Error>(())
/// ```
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Capacity {
    /// The size in whole gigabytes (PVC `Gi`).
    pub gigabytes: u64,
}

impl Capacity {
    /// `gigabytes` GB.
    pub const fn new(gigabytes: u64) -> Self {
        Capacity { gigabytes }
    }

    /// Parses `"<int>G"`; a bare `"<int>"` is accepted too (the GraphQL field is a number of GB).
    /// `key` names the attribute in the error.
    pub fn parse(key: &str, value: &str) -> Result<Self> {
        let v = value.trim();
        let digits = v.strip_suffix('G').unwrap_or(v);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(key, value, format!("expected {CAPACITY_FORMAT}")));
        }
        digits
            .parse::<u64>()
            .map(Capacity::new)
            .map_err(|_| invalid(key, value, format!("expected {CAPACITY_FORMAT}: too large")))
    }

    /// The stored attribute text, `"<n>G"`.
    pub fn to_attribute_string(self) -> String {
        format!("{}G", self.gigabytes)
    }

    /// The PVC storage request, `"<n>Gi"`.
    pub fn to_pvc_quantity(self) -> String {
        format!("{}Gi", self.gigabytes)
    }
}

impl fmt::Display for Capacity {
    /// Formats as the stored attribute text, `"<n>G"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}G", self.gigabytes)
    }
}

fn read_capacity(map: &AttributeMap, key: &str) -> Result<Option<Capacity>> {
    first(map, key).map(|v| Capacity::parse(key, v)).transpose()
}

/// One `{name, value}` environment variable of the MLflow settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EnvEntry {
    /// Variable name.
    pub name: String,
    /// Variable value.
    pub value: String,
}

impl EnvEntry {
    /// A `name=value` entry.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        EnvEntry {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// Reads `mlflow-*-envs`. Two encodings are accepted:
///
/// * one value per variable, `NAME=value` (split at the first `=`), which is what the console's
///   group transform reads (`getMultivaluedFromAttr(..., transformEnvs)`), and
/// * a single value holding a JSON array `[{"name": …, "value": …}]`.
fn read_envs(map: &AttributeMap, key: &str, problems: &mut Problems) -> Vec<EnvEntry> {
    let values: Vec<&str> = map
        .get(key)
        .map(|vs| {
            vs.iter()
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let mut out = Vec::new();
    for v in values {
        if v.starts_with('[') {
            match parse_env_json(key, v) {
                Ok(parsed) => out.extend(parsed),
                Err(e) => problems.0.push(e),
            }
        } else if let Some((name, value)) = v.split_once('=') {
            out.push(EnvEntry::new(name, value));
        } else {
            problems.0.push(invalid(
                key,
                v,
                "expected NAME=value (one variable per value) or a JSON array of {name, value}",
            ));
        }
    }
    out
}

/// Parses a JSON array of `{"name", "value"}` objects.
fn parse_env_json(key: &str, v: &str) -> Result<Vec<EnvEntry>> {
    serde_json::from_str(v).map_err(|e| {
        invalid(
            key,
            v,
            format!("expected a JSON array of {{\"name\", \"value\"}} objects: {e}"),
        )
    })
}

/// Reads `predefinedEnvs`: one JSON string, either an array of `{"name", "value"}` objects (the
/// form written) or an object `{"NAME": "value"}` (accepted on read).
fn read_predefined_envs(map: &AttributeMap, key: &str) -> Result<Option<Vec<EnvEntry>>> {
    let Some(v) = first(map, key) else {
        return Ok(None);
    };
    if v.starts_with('{') {
        let object: BTreeMap<String, String> = serde_json::from_str(v).map_err(|e| {
            invalid(
                key,
                v,
                format!("expected a JSON array of {{\"name\", \"value\"}} objects: {e}"),
            )
        })?;
        return Ok(Some(
            object
                .into_iter()
                .map(|(name, value)| EnvEntry::new(name, value))
                .collect(),
        ));
    }
    parse_env_json(key, v).map(Some)
}

/// The stored `predefinedEnvs` text: a compact JSON array of `{"name", "value"}` objects.
fn predefined_envs_string(envs: &[EnvEntry]) -> String {
    // Serialising plain string pairs cannot fail; fall back to an empty array regardless.
    serde_json::to_string(envs).unwrap_or_else(|_| "[]".to_owned())
}

fn env_values(envs: &[EnvEntry]) -> Vec<String> {
    envs.iter()
        .map(|e| format!("{}={}", e.name, e.value))
        .collect()
}

/// Reads `admins`: every value is a username; a value containing commas (the GraphQL
/// comma-joined form) is split. Blank entries are dropped, duplicates kept once.
fn read_admins(map: &AttributeMap, key: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for value in map.get(key).into_iter().flatten() {
        for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if !out.iter().any(|existing| existing == name) {
                out.push(name.to_owned());
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// group

/// The PrimeHub attributes of a Keycloak group (reference §3.4); `None` (or an empty list) means
/// the attribute is unset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupAttributes {
    /// `displayName`.
    pub display_name: Option<String>,
    /// `quota-cpu`: per-user CPU cap within this group; `None` = unlimited.
    pub quota_cpu: Option<Cpu>,
    /// `quota-gpu`: per-user GPU cap; `None` = unlimited.
    pub quota_gpu: Option<Gpu>,
    /// `quota-memory`: per-user memory cap; `None` = unlimited.
    pub quota_memory: Option<Memory>,
    /// `project-quota-cpu`: whole-group CPU cap; `None` = unlimited.
    pub project_quota_cpu: Option<Cpu>,
    /// `project-quota-gpu`: whole-group GPU cap; `None` = unlimited.
    pub project_quota_gpu: Option<Gpu>,
    /// `project-quota-memory`: whole-group memory cap; `None` = unlimited.
    pub project_quota_memory: Option<Memory>,
    /// `user-volume-capacity`: per-group default home-volume size for members.
    pub user_volume_capacity: Option<Capacity>,
    /// `enabled-shared-volume`: the group shared volume exists (unset = false).
    pub enabled_shared_volume: Option<bool>,
    /// `shared-volume-capacity`: the shared volume's size (required when it is enabled).
    pub shared_volume_capacity: Option<Capacity>,
    /// `home-symlink`: symlink the shared volume into home (hub default true).
    pub home_symlink: Option<bool>,
    /// `launch-group-only`: mount the shared volume only when launching with this group (hub
    /// default true).
    pub launch_group_only: Option<bool>,
    /// `enabled-deployment`: model deployment allowed (unset = false).
    pub enabled_deployment: Option<bool>,
    /// `max-deploy`: cap on running (non-stopped) deployments.
    pub max_deploy: Option<u32>,
    /// `job-default-active-deadline-seconds`: the group's default job timeout in seconds.
    pub job_default_active_deadline_seconds: Option<u64>,
    /// `admins`: usernames of the group admins, stored one username per value; empty = unset.
    ///
    /// When reading, a value holding a comma-joined list (`"u1,u2"`, the GraphQL form) is split
    /// too; duplicates are dropped.
    pub admins: Vec<String>,
    /// `mlflow-tracking-uri`.
    pub mlflow_tracking_uri: Option<String>,
    /// `mlflow-ui-url`.
    pub mlflow_ui_url: Option<String>,
    /// `mlflow-tracking-envs`: written one `NAME=value` per value; empty = unset.
    ///
    /// Read also from a single JSON array `[{"name", "value"}]`.
    pub mlflow_tracking_envs: Vec<EnvEntry>,
    /// `mlflow-artifact-envs`: same encoding as `mlflow_tracking_envs`.
    pub mlflow_artifact_envs: Vec<EnvEntry>,
}

impl GroupAttributes {
    /// Reads the group attributes from a Keycloak attribute map, leniently: a value that cannot
    /// be read is reported in [`Lenient::problems`] (an [`Error::InvalidAttribute`] naming the key,
    /// the value and the expected format) and read as unset; every other key is still read, so
    /// one malformed value never takes the group's quotas away. Unknown keys are ignored.
    ///
    /// ```
    /// use primehub_model::attributes::{AttributeMap, GroupAttributes};
    /// let map: AttributeMap = [
    ///     ("quota-cpu".to_owned(), vec!["2".to_owned()]),
    ///     ("max-deploy".to_owned(), vec!["lots".to_owned()]),
    /// ].into();
    /// let read = GroupAttributes::read(&map);
    /// assert_eq!(read.value.user_quota().cpu.map(|c| c.millis()), Some(2000));
    /// assert_eq!(read.value.max_deploy, None);
    /// assert!(read.problems[0].to_string().contains("max-deploy"));
    /// assert!(GroupAttributes::from_map(&map).is_err());
    /// ```
    pub fn read(map: &AttributeMap) -> Lenient<Self> {
        use group_keys as k;
        let mut p = Problems::default();
        let value = GroupAttributes {
            display_name: read_string(map, k::DISPLAY_NAME),
            quota_cpu: p.keep(read_quota(map, k::QUOTA_CPU, CPU_FORMAT, Cpu::parse_cores)),
            quota_gpu: p.keep(read_quota(map, k::QUOTA_GPU, GPU_FORMAT, Gpu::parse_count)),
            quota_memory: p.keep(read_quota(
                map,
                k::QUOTA_MEMORY,
                MEMORY_FORMAT,
                Memory::parse_quota,
            )),
            project_quota_cpu: p.keep(read_quota(
                map,
                k::PROJECT_QUOTA_CPU,
                CPU_FORMAT,
                Cpu::parse_cores,
            )),
            project_quota_gpu: p.keep(read_quota(
                map,
                k::PROJECT_QUOTA_GPU,
                GPU_FORMAT,
                Gpu::parse_count,
            )),
            project_quota_memory: p.keep(read_quota(
                map,
                k::PROJECT_QUOTA_MEMORY,
                MEMORY_FORMAT,
                Memory::parse_quota,
            )),
            user_volume_capacity: p.keep(read_capacity(map, k::USER_VOLUME_CAPACITY)),
            enabled_shared_volume: p.keep(read_bool(map, k::ENABLED_SHARED_VOLUME)),
            shared_volume_capacity: p.keep(read_capacity(map, k::SHARED_VOLUME_CAPACITY)),
            home_symlink: p.keep(read_bool(map, k::HOME_SYMLINK)),
            launch_group_only: p.keep(read_bool(map, k::LAUNCH_GROUP_ONLY)),
            enabled_deployment: p.keep(read_bool(map, k::ENABLED_DEPLOYMENT)),
            max_deploy: p.keep(read_int(
                map,
                k::MAX_DEPLOY,
                "a non-negative integer such as \"3\"",
            )),
            job_default_active_deadline_seconds: p.keep(read_int(
                map,
                k::JOB_DEFAULT_ACTIVE_DEADLINE_SECONDS,
                "a non-negative integer number of seconds such as \"86400\"",
            )),
            admins: read_admins(map, k::ADMINS),
            mlflow_tracking_uri: read_string(map, k::MLFLOW_TRACKING_URI),
            mlflow_ui_url: read_string(map, k::MLFLOW_UI_URL),
            mlflow_tracking_envs: read_envs(map, k::MLFLOW_TRACKING_ENVS, &mut p),
            mlflow_artifact_envs: read_envs(map, k::MLFLOW_ARTIFACT_ENVS, &mut p),
        };
        p.finish(value)
    }

    /// Reads the group attributes strictly: the first value that cannot be read is an
    /// [`Error::InvalidAttribute`] naming the key, the value and the expected format. For
    /// validating input before it is written; readers of stored groups use
    /// [`GroupAttributes::read`].
    pub fn from_map(map: &AttributeMap) -> Result<Self> {
        Self::read(map).into_strict()
    }

    /// Writes these attributes into `map` in PrimeHub's stored formats: one value per set key,
    /// unset keys removed. Keys outside [`group_keys::ALL`] are left untouched.
    pub fn write_to(&self, map: &mut AttributeMap) {
        use group_keys as k;
        set(map, k::DISPLAY_NAME, self.display_name.clone());
        set(map, k::QUOTA_CPU, self.quota_cpu.map(Cpu::to_cores_string));
        set(
            map,
            k::QUOTA_GPU,
            self.quota_gpu.map(|g| g.count().to_string()),
        );
        set(
            map,
            k::QUOTA_MEMORY,
            self.quota_memory.map(Memory::to_quota_string),
        );
        set(
            map,
            k::PROJECT_QUOTA_CPU,
            self.project_quota_cpu.map(Cpu::to_cores_string),
        );
        set(
            map,
            k::PROJECT_QUOTA_GPU,
            self.project_quota_gpu.map(|g| g.count().to_string()),
        );
        set(
            map,
            k::PROJECT_QUOTA_MEMORY,
            self.project_quota_memory.map(Memory::to_quota_string),
        );
        set(
            map,
            k::USER_VOLUME_CAPACITY,
            self.user_volume_capacity.map(Capacity::to_attribute_string),
        );
        set(
            map,
            k::ENABLED_SHARED_VOLUME,
            self.enabled_shared_volume.map(bool_string),
        );
        set(
            map,
            k::SHARED_VOLUME_CAPACITY,
            self.shared_volume_capacity
                .map(Capacity::to_attribute_string),
        );
        set(map, k::HOME_SYMLINK, self.home_symlink.map(bool_string));
        set(
            map,
            k::LAUNCH_GROUP_ONLY,
            self.launch_group_only.map(bool_string),
        );
        set(
            map,
            k::ENABLED_DEPLOYMENT,
            self.enabled_deployment.map(bool_string),
        );
        set(map, k::MAX_DEPLOY, self.max_deploy.map(|n| n.to_string()));
        set(
            map,
            k::JOB_DEFAULT_ACTIVE_DEADLINE_SECONDS,
            self.job_default_active_deadline_seconds
                .map(|n| n.to_string()),
        );
        set_list(map, k::ADMINS, self.admins.clone());
        set(
            map,
            k::MLFLOW_TRACKING_URI,
            self.mlflow_tracking_uri.clone(),
        );
        set(map, k::MLFLOW_UI_URL, self.mlflow_ui_url.clone());
        set_list(
            map,
            k::MLFLOW_TRACKING_ENVS,
            env_values(&self.mlflow_tracking_envs),
        );
        set_list(
            map,
            k::MLFLOW_ARTIFACT_ENVS,
            env_values(&self.mlflow_artifact_envs),
        );
    }

    /// A new attribute map holding only these attributes.
    pub fn to_map(&self) -> AttributeMap {
        let mut map = AttributeMap::new();
        self.write_to(&mut map);
        map
    }

    /// The per-user quota within this group (`quota-cpu`, `quota-gpu`, `quota-memory`).
    pub fn user_quota(&self) -> Quota {
        Quota {
            cpu: self.quota_cpu,
            gpu: self.quota_gpu,
            memory: self.quota_memory,
        }
    }

    /// The whole-group quota (`project-quota-cpu`, `project-quota-gpu`, `project-quota-memory`).
    pub fn project_quota(&self) -> Quota {
        Quota {
            cpu: self.project_quota_cpu,
            gpu: self.project_quota_gpu,
            memory: self.project_quota_memory,
        }
    }

    /// Sets the per-user quota fields from `quota`.
    pub fn set_user_quota(&mut self, quota: Quota) {
        self.quota_cpu = quota.cpu;
        self.quota_gpu = quota.gpu;
        self.quota_memory = quota.memory;
    }

    /// Sets the whole-group quota fields from `quota`.
    pub fn set_project_quota(&mut self, quota: Quota) {
        self.project_quota_cpu = quota.cpu;
        self.project_quota_gpu = quota.gpu;
        self.project_quota_memory = quota.memory;
    }

    /// `true` if `username` is listed in `admins` (exact, case-sensitive match, as the console's
    /// `indexOf`).
    pub fn is_admin(&self, username: &str) -> bool {
        self.admins.iter().any(|a| a == username)
    }

    /// `enabled-shared-volume`, unset meaning `false`.
    pub fn shared_volume_enabled(&self) -> bool {
        self.enabled_shared_volume.unwrap_or(false)
    }

    /// `home-symlink`, unset meaning `true` (hub default).
    pub fn home_symlink_enabled(&self) -> bool {
        self.home_symlink.unwrap_or(true)
    }

    /// `launch-group-only`, unset meaning `true` (hub default).
    pub fn launch_group_only_enabled(&self) -> bool {
        self.launch_group_only.unwrap_or(true)
    }

    /// `enabled-deployment`, unset meaning `false`.
    pub fn deployment_enabled(&self) -> bool {
        self.enabled_deployment.unwrap_or(false)
    }
}

// ---------------------------------------------------------------------------------------------
// user

/// The PrimeHub attributes of a Keycloak user (reference §3.3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserAttributes {
    /// `volumeCapacity`: home-volume size; read from legacy `personalDiskQuota` when absent.
    pub volume_capacity: Option<Capacity>,
    /// `enableInviteUsers`: the user may invite users.
    pub enable_invite_users: Option<bool>,
    /// `annLastReadTime`: when announcements were last read, unix seconds.
    pub ann_last_read_time: Option<i64>,
    /// `timezone`: the user's time zone.
    pub timezone: Option<String>,
    /// `locale`: the UI locale.
    pub locale: Option<String>,
    /// `predefinedEnvs`: the user's own environment variables for notebooks and jobs, stored as
    /// one JSON string holding an array of `{"name", "value"}` objects; `None` = unset.
    pub predefined_envs: Option<Vec<EnvEntry>>,
}

impl UserAttributes {
    /// Reads the user attributes leniently (see [`GroupAttributes::read`]); `volumeCapacity`
    /// falls back to the legacy `personalDiskQuota`.
    pub fn read(map: &AttributeMap) -> Lenient<Self> {
        use user_keys as k;
        let mut p = Problems::default();
        let volume_capacity = match p.keep(read_capacity(map, k::VOLUME_CAPACITY)) {
            Some(c) => Some(c),
            None => p.keep(read_capacity(map, k::LEGACY_PERSONAL_DISK_QUOTA)),
        };
        let value = UserAttributes {
            volume_capacity,
            enable_invite_users: p.keep(read_bool(map, k::ENABLE_INVITE_USERS)),
            ann_last_read_time: p.keep(read_int(
                map,
                k::ANN_LAST_READ_TIME,
                "an integer number of unix seconds",
            )),
            timezone: read_string(map, k::TIMEZONE),
            locale: read_string(map, k::LOCALE),
            predefined_envs: p.keep(read_predefined_envs(map, k::PREDEFINED_ENVS)),
        };
        p.finish(value)
    }

    /// Reads the user attributes strictly: the first unreadable value is an error.
    pub fn from_map(map: &AttributeMap) -> Result<Self> {
        Self::read(map).into_strict()
    }

    /// Writes these attributes into `map` (one value per set key, unset keys removed). The legacy
    /// `personalDiskQuota` is removed: the value now lives in `volumeCapacity`. Other keys are left
    /// untouched.
    pub fn write_to(&self, map: &mut AttributeMap) {
        use user_keys as k;
        set(
            map,
            k::VOLUME_CAPACITY,
            self.volume_capacity.map(Capacity::to_attribute_string),
        );
        map.remove(k::LEGACY_PERSONAL_DISK_QUOTA);
        set(
            map,
            k::ENABLE_INVITE_USERS,
            self.enable_invite_users.map(bool_string),
        );
        set(
            map,
            k::ANN_LAST_READ_TIME,
            self.ann_last_read_time.map(|t| t.to_string()),
        );
        set(map, k::TIMEZONE, self.timezone.clone());
        set(map, k::LOCALE, self.locale.clone());
        set(
            map,
            k::PREDEFINED_ENVS,
            self.predefined_envs.as_deref().map(predefined_envs_string),
        );
    }

    /// A new attribute map holding only these attributes.
    pub fn to_map(&self) -> AttributeMap {
        let mut map = AttributeMap::new();
        self.write_to(&mut map);
        map
    }
}

// ---------------------------------------------------------------------------------------------
// system settings

/// The console's default home-volume size when neither the user nor the system sets one (`20G`).
pub const DEFAULT_USER_VOLUME_CAPACITY: Capacity = Capacity::new(20);

/// System settings, stored as attributes of the `everyone` group (reference §3.5).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SystemSettings {
    /// `org.name`.
    pub org_name: Option<String>,
    /// `org.logo.contentType`.
    pub org_logo_content_type: Option<String>,
    /// `org.logo.name`.
    pub org_logo_name: Option<String>,
    /// `org.logo.size`, in bytes.
    pub org_logo_size: Option<u64>,
    /// `org.logo.url`.
    pub org_logo_url: Option<String>,
    /// `defaultUserVolumeCapacity`; read from legacy `defaultUserDiskQuota` when absent.
    pub default_user_volume_capacity: Option<Capacity>,
    /// `timezone`: the system time zone name (`"Asia/Taipei"`); read from the legacy
    /// `timezone.name` when absent.
    pub timezone_name: Option<String>,
}

impl SystemSettings {
    /// Reads the system settings from the `everyone` group's attributes leniently (see
    /// [`GroupAttributes::read`]), with the legacy fallbacks `defaultUserDiskQuota` and
    /// `timezone.name`. The time zone is read as the console's system resolver reads it:
    /// `timezone` first, then the legacy object form `timezone.name`.
    pub fn read(map: &AttributeMap) -> Lenient<Self> {
        use system_keys as k;
        let mut p = Problems::default();
        let default_user_volume_capacity =
            match p.keep(read_capacity(map, k::DEFAULT_USER_VOLUME_CAPACITY)) {
                Some(c) => Some(c),
                None => p.keep(read_capacity(map, k::LEGACY_DEFAULT_USER_DISK_QUOTA)),
            };
        let value = SystemSettings {
            org_name: read_string(map, k::ORG_NAME),
            org_logo_content_type: read_string(map, k::ORG_LOGO_CONTENT_TYPE),
            org_logo_name: read_string(map, k::ORG_LOGO_NAME),
            org_logo_size: p.keep(read_int(
                map,
                k::ORG_LOGO_SIZE,
                "a non-negative integer number of bytes",
            )),
            org_logo_url: read_string(map, k::ORG_LOGO_URL),
            default_user_volume_capacity,
            timezone_name: read_string(map, k::TIMEZONE)
                .or_else(|| read_string(map, k::LEGACY_TIMEZONE_NAME)),
        };
        p.finish(value)
    }

    /// Reads the system settings strictly: the first unreadable value is an error.
    pub fn from_map(map: &AttributeMap) -> Result<Self> {
        Self::read(map).into_strict()
    }

    /// Writes the settings into `map` (one value per set key, unset keys removed). The time zone
    /// is written as the flat `timezone` key, as the console writes it. The legacy keys
    /// `defaultUserDiskQuota` and `timezone.name` are removed: their values now live in the
    /// current keys (and a console unflattening both `timezone` and `timezone.name` would read an
    /// object instead of our value). Other keys are left untouched.
    pub fn write_to(&self, map: &mut AttributeMap) {
        use system_keys as k;
        set(map, k::ORG_NAME, self.org_name.clone());
        set(
            map,
            k::ORG_LOGO_CONTENT_TYPE,
            self.org_logo_content_type.clone(),
        );
        set(map, k::ORG_LOGO_NAME, self.org_logo_name.clone());
        set(
            map,
            k::ORG_LOGO_SIZE,
            self.org_logo_size.map(|n| n.to_string()),
        );
        set(map, k::ORG_LOGO_URL, self.org_logo_url.clone());
        set(
            map,
            k::DEFAULT_USER_VOLUME_CAPACITY,
            self.default_user_volume_capacity
                .map(Capacity::to_attribute_string),
        );
        map.remove(k::LEGACY_DEFAULT_USER_DISK_QUOTA);
        set(map, k::TIMEZONE, self.timezone_name.clone());
        map.remove(k::LEGACY_TIMEZONE_NAME);
    }

    /// A new attribute map holding only these settings.
    pub fn to_map(&self) -> AttributeMap {
        let mut map = AttributeMap::new();
        self.write_to(&mut map);
        map
    }
}

/// The size of a user's home volume: the user's `volumeCapacity`, else the system
/// `defaultUserVolumeCapacity`, else [`DEFAULT_USER_VOLUME_CAPACITY`] (20 GB), as the hub
/// resolves it (reference §3.3; the groups' `user-volume-capacity` step is not applied, §13.6).
pub fn home_volume_capacity(user: &UserAttributes, system: &SystemSettings) -> Capacity {
    user.volume_capacity
        .or(system.default_user_volume_capacity)
        .unwrap_or(DEFAULT_USER_VOLUME_CAPACITY)
}
