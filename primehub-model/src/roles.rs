//! Keycloak realm-role names that bind PrimeHub resources to groups.
//!
//! A resource is granted to a group by mapping a realm role named after it onto the group:
//! `[<prefix>:]img:<name>`, `it:<name>`, `ds:<name>` (read-only), `ds:rw:<name>` (read-write) and
//! `ann:<name>`. The optional prefix is cluster-wide (`KC_ROLE_PREFIX`, for example `cluster1`)
//! and lets several clusters share one realm.
//!
//! [`ResourceRole::parse`] follows the console's `parseResourceRole`; [`RoleNaming`] builds the role
//! names of one cluster and picks that cluster's roles out of a group's realm-role mappings.
//!
//! ```
//! use primehub_model::roles::{ResourceRole, RoleKind, RoleNaming};
//!
//! let role = ResourceRole::parse("cluster1:it:cpu-only")?;
//! assert_eq!(role.prefix.as_deref(), Some("cluster1"));
//! assert_eq!(role.kind, RoleKind::InstanceType);
//! assert_eq!(role.name, "cpu-only");
//! assert_eq!(role.to_string(), "cluster1:it:cpu-only");
//!
//! let naming = RoleNaming::new(Some("cluster1".to_owned()))?;
//! assert_eq!(naming.dataset("mnist", true), "cluster1:ds:rw:mnist");
//! let mine: Vec<ResourceRole> = ["cluster1:img:base", "cluster2:img:base", "offline_access"]
//!     .into_iter()
//!     .filter_map(|r| naming.parse_own(r))
//!     .collect();
//! assert_eq!(mine.len(), 1);
//! assert_eq!(mine[0].name, "base");
//! # Ok::<(), primehub_model::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;

use crate::{Error, Result};

/// Separator between the parts of a role name.
pub const SEPARATOR: char = ':';

/// The token after `ds:` that marks a read-write dataset role.
pub const RW_MARKER: &str = "rw";

/// The resource type encoded in a role name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RoleKind {
    /// `img:` — an Image.
    Image,
    /// `it:` — an InstanceType.
    InstanceType,
    /// `ds:` — a Dataset (shown as "Volume" in newer UIs).
    Dataset,
    /// `ann:` — an Announcement.
    Announcement,
}

impl RoleKind {
    /// Every kind, in a fixed order.
    pub const ALL: [RoleKind; 4] = [
        RoleKind::Image,
        RoleKind::InstanceType,
        RoleKind::Dataset,
        RoleKind::Announcement,
    ];

    /// The type token used in role names: `img`, `it`, `ds` or `ann`.
    pub fn token(self) -> &'static str {
        match self {
            RoleKind::Image => "img",
            RoleKind::InstanceType => "it",
            RoleKind::Dataset => "ds",
            RoleKind::Announcement => "ann",
        }
    }

    /// The kind for a type token, `None` if `token` is not one (case-sensitive).
    pub fn from_token(token: &str) -> Option<Self> {
        match token {
            "img" => Some(RoleKind::Image),
            "it" => Some(RoleKind::InstanceType),
            "ds" => Some(RoleKind::Dataset),
            "ann" => Some(RoleKind::Announcement),
            _ => None,
        }
    }
}

impl fmt::Display for RoleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.token())
    }
}

/// A parsed PrimeHub resource role such as `cluster1:ds:rw:mnist`.
///
/// The fields are public; [`ResourceRole::new`] and [`ResourceRole::validate`] check that a value
/// formats to a role name that parses back to the same value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceRole {
    /// The cluster-wide role prefix (`KC_ROLE_PREFIX`), without the `:`; `None` when absent.
    pub prefix: Option<String>,
    /// The resource type.
    pub kind: RoleKind,
    /// `true` for `ds:rw:<name>` (read-write dataset); only datasets can be writable.
    pub writable: bool,
    /// The resource (custom resource) name.
    pub name: String,
}

fn invalid_role(role: &str, rule: impl Into<String>) -> Error {
    Error::InvalidRole {
        role: role.to_owned(),
        rule: rule.into(),
    }
}

/// Checks a role prefix: non-empty, no `:`, and not itself a type token (which would make role
/// names ambiguous).
fn check_prefix(prefix: &str) -> std::result::Result<(), String> {
    if prefix.is_empty() {
        return Err("the role prefix must not be empty".to_owned());
    }
    if prefix.contains(SEPARATOR) {
        return Err(format!("the role prefix {prefix:?} must not contain ':'"));
    }
    if RoleKind::from_token(prefix).is_some() {
        return Err(format!(
            "the role prefix {prefix:?} must not be a type token (img, it, ds, ann)"
        ));
    }
    Ok(())
}

impl ResourceRole {
    /// Builds a role and checks it with [`ResourceRole::validate`].
    pub fn new(
        prefix: Option<String>,
        kind: RoleKind,
        writable: bool,
        name: impl Into<String>,
    ) -> Result<Self> {
        let role = ResourceRole {
            prefix,
            kind,
            writable,
            name: name.into(),
        };
        role.validate()?;
        Ok(role)
    }

    /// Checks that this value formats to a role name that [`ResourceRole::parse`] reads back as the
    /// same value: the prefix (if any) is non-empty, has no `:` and is not a type token; the name
    /// is non-empty; only datasets are writable; and a read-only role's name does not start with
    /// `rw:` (it would read back as a writable dataset, or be rejected).
    pub fn validate(&self) -> Result<()> {
        if let Some(prefix) = &self.prefix {
            check_prefix(prefix).map_err(|rule| invalid_role(&self.to_role_name(), rule))?;
        }
        if self.name.is_empty() {
            return Err(invalid_role(
                &self.to_role_name(),
                "the resource name must not be empty",
            ));
        }
        if self.writable && self.kind != RoleKind::Dataset {
            return Err(invalid_role(
                &self.to_role_name(),
                "only dataset roles (ds:rw:<name>) can be writable",
            ));
        }
        if !self.writable && self.name.starts_with("rw:") {
            return Err(invalid_role(
                &self.to_role_name(),
                "a read-only role's resource name must not start with \"rw:\"",
            ));
        }
        Ok(())
    }

    /// Parses a Keycloak role name as the console's `parseResourceRole` does.
    ///
    /// Split on `:`. If the first token is a type token (`img`, `it`, `ds`, `ann`) there is no
    /// prefix and the name is the rest joined by `:`. Otherwise, if the second token is a type
    /// token, the first token is the prefix. Otherwise the role is foreign (`offline_access`,
    /// `default-roles-primehub`, …) and this returns [`Error::InvalidRole`].
    ///
    /// After `ds`, a `rw` token followed by at least one more token marks a writable dataset
    /// (`ds:rw:mnist`); `ds:rw` alone is the read-only role of a dataset named `rw`. A `rw` token
    /// after another type (`it:rw:x`) is rejected, as is an empty name or an empty prefix.
    ///
    /// ```
    /// use primehub_model::roles::{ResourceRole, RoleKind};
    /// let r = ResourceRole::parse("ds:rw:mnist")?;
    /// assert_eq!((r.kind, r.writable, r.name.as_str()), (RoleKind::Dataset, true, "mnist"));
    /// assert!(ResourceRole::parse("offline_access").is_err());
    /// # Ok::<(), primehub_model::Error>(())
    /// ```
    pub fn parse(role: &str) -> Result<Self> {
        let mut tokens = role.splitn(3, SEPARATOR);
        let first = tokens.next().unwrap_or_default();
        let (prefix, kind, rest) = if let Some(kind) = RoleKind::from_token(first) {
            // `rest` is everything after the first ':'.
            let rest = role.split_once(SEPARATOR).map(|(_, r)| r);
            (None, kind, rest)
        } else {
            let second = tokens.next();
            match second.and_then(RoleKind::from_token) {
                Some(kind) => (Some(first), kind, tokens.next()),
                None => {
                    return Err(invalid_role(
                        role,
                        "not a PrimeHub resource role: expected [<prefix>:]<img|it|ds|ann>:<name>",
                    ));
                }
            }
        };
        if let Some(prefix) = prefix {
            check_prefix(prefix).map_err(|rule| invalid_role(role, rule))?;
        }
        let rest = rest.unwrap_or_default();
        let (writable, name) = match rest.split_once(SEPARATOR) {
            Some((RW_MARKER, name)) if kind == RoleKind::Dataset => (true, name),
            Some((RW_MARKER, _)) => {
                return Err(invalid_role(
                    role,
                    format!(
                        "the rw marker is only valid for datasets (ds:rw:<name>), not for {kind}"
                    ),
                ));
            }
            _ => (false, rest),
        };
        if name.is_empty() {
            return Err(invalid_role(role, "the resource name must not be empty"));
        }
        Ok(ResourceRole {
            prefix: prefix.map(str::to_owned),
            kind,
            writable,
            name: name.to_owned(),
        })
    }

    /// The Keycloak role name: `[<prefix>:]<type>:[rw:]<name>`.
    pub fn to_role_name(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for ResourceRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(prefix) = &self.prefix {
            write!(f, "{prefix}{SEPARATOR}")?;
        }
        write!(f, "{}{SEPARATOR}", self.kind)?;
        if self.writable {
            write!(f, "{RW_MARKER}{SEPARATOR}")?;
        }
        f.write_str(&self.name)
    }
}

impl FromStr for ResourceRole {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        ResourceRole::parse(s)
    }
}

/// The role names of one PrimeHub cluster: its cluster-wide prefix (`KC_ROLE_PREFIX`, helm
/// `primehub.keycloak.rolePrefix`), `None` for no prefix.
///
/// The builders take resource names as given (they should be valid resource names, see
/// [`crate::names::validate_resource_name`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct RoleNaming {
    /// The prefix without the trailing `:`; `None` for unprefixed role names.
    pub prefix: Option<String>,
}

impl RoleNaming {
    /// A naming with the given prefix. `Some("")` is treated as no prefix; a prefix containing
    /// `:` or equal to a type token is rejected ([`Error::InvalidRole`]).
    pub fn new(prefix: Option<String>) -> Result<Self> {
        match prefix {
            None => Ok(RoleNaming { prefix: None }),
            Some(p) if p.is_empty() => Ok(RoleNaming { prefix: None }),
            Some(p) => {
                check_prefix(&p).map_err(|rule| invalid_role(&format!("{p}:"), rule))?;
                Ok(RoleNaming { prefix: Some(p) })
            }
        }
    }

    /// A naming without prefix (the default install).
    pub fn unprefixed() -> Self {
        RoleNaming { prefix: None }
    }

    /// The typed role for a resource of this cluster (not validated).
    pub fn resource_role(&self, kind: RoleKind, writable: bool, name: &str) -> ResourceRole {
        ResourceRole {
            prefix: self.prefix.clone(),
            kind,
            writable,
            name: name.to_owned(),
        }
    }

    fn role_name(&self, kind: RoleKind, writable: bool, name: &str) -> String {
        self.resource_role(kind, writable, name).to_role_name()
    }

    /// `[<prefix>:]img:<name>`.
    pub fn image(&self, name: &str) -> String {
        self.role_name(RoleKind::Image, false, name)
    }

    /// `[<prefix>:]it:<name>`.
    pub fn instance_type(&self, name: &str) -> String {
        self.role_name(RoleKind::InstanceType, false, name)
    }

    /// `[<prefix>:]ds:<name>` or, when `writable`, `[<prefix>:]ds:rw:<name>`.
    pub fn dataset(&self, name: &str, writable: bool) -> String {
        self.role_name(RoleKind::Dataset, writable, name)
    }

    /// `[<prefix>:]ann:<name>`.
    pub fn announcement(&self, name: &str) -> String {
        self.role_name(RoleKind::Announcement, false, name)
    }

    /// Parses `role` and returns it only if it is a resource role of this cluster (same prefix, or
    /// both unprefixed). Foreign roles, malformed roles and roles of another prefix give `None`;
    /// never panics. Use it to filter a group's realm-role mappings.
    pub fn parse_own(&self, role: &str) -> Option<ResourceRole> {
        ResourceRole::parse(role)
            .ok()
            .filter(|r| r.prefix == self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ds_rw_alone_is_a_dataset_named_rw() {
        let r = ResourceRole::parse("ds:rw").expect("parses");
        assert!(!r.writable);
        assert_eq!(r.name, "rw");
    }
}
