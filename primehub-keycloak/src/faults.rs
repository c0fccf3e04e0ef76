//! [`FaultyAdmin`]: a [`KeycloakAdmin`] decorator that makes chosen calls fail.
//!
//! Tests use it to make a later step of a multi-step write fail (a role mapping, a group
//! membership) and prove that the caller undoes the earlier steps. A call that is not set to
//! fail is forwarded unchanged; a failing call does not reach the inner client.
//!
//! ```
//! # #[cfg(feature = "fake")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use primehub_keycloak::faults::FaultyAdmin;
//! use primehub_keycloak::fake::FakeKeycloak;
//! use primehub_keycloak::{KeycloakAdmin, KeycloakError};
//!
//! let keycloak = FakeKeycloak::new()?;
//! let faulty = FaultyAdmin::new(keycloak.create_realm("demo")?);
//! faulty.fail_after("create_role", 1, KeycloakError::Transport { message: "down".into() });
//! faulty.create_role("first", None).await?;
//! assert!(faulty.create_role("second", None).await.is_err());
//! assert!(faulty.get_role("second").await.unwrap_err().is_not_found());
//! faulty.clear();
//! faulty.create_role("second", None).await?;
//! # Ok(()) }
//! # #[cfg(not(feature = "fake"))]
//! # fn main() {}
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::admin::{KeycloakAdmin, forward_keycloak_admin};
use crate::error::{KeycloakError, Result};
use crate::representation::{
    AdminEvent, AdminEventQuery, ClientScopeMappings, Credential, ExecuteActionsEmail, Group,
    GroupUpdate, NewGroup, NewUser, OfflineSession, Page, RealmSettings, RealmSettingsUpdate, Role,
    RoleUpdate, User, UserUpdate,
};

/// How one method fails: after `passes` more successful calls, with `error`.
#[derive(Debug, Clone)]
struct Fault {
    passes: u64,
    error: KeycloakError,
    /// How many calls fail before the method works again (`None`: every later call).
    failures: Option<u64>,
}

/// Forwards every call to the inner client, except the calls set to fail.
pub struct FaultyAdmin<A: ?Sized> {
    faults: Mutex<BTreeMap<String, Fault>>,
    inner: A,
}

impl<A> FaultyAdmin<A> {
    /// Forwards to `inner`; nothing fails until told to.
    pub fn new(inner: A) -> FaultyAdmin<A> {
        FaultyAdmin {
            faults: Mutex::new(BTreeMap::new()),
            inner,
        }
    }
}

impl<A: ?Sized> FaultyAdmin<A> {
    /// Every call of the method named `method` (for example `"add_group_roles"`) fails with
    /// `error` from now on.
    pub fn fail(&self, method: &str, error: KeycloakError) {
        self.fail_after(method, 0, error);
    }

    /// The next `passes` calls of `method` go through, every later one fails with `error`.
    pub fn fail_after(&self, method: &str, passes: u64, error: KeycloakError) {
        self.lock().insert(
            method.to_owned(),
            Fault {
                passes,
                error,
                failures: None,
            },
        );
    }

    /// The next `passes` calls of `method` go through, the one after fails with `error`, and
    /// later ones go through again (a blip: what a rollback then gets to undo).
    pub fn fail_once_after(&self, method: &str, passes: u64, error: KeycloakError) {
        self.lock().insert(
            method.to_owned(),
            Fault {
                passes,
                error,
                failures: Some(1),
            },
        );
    }

    /// No call fails any more.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// The wrapped client.
    pub fn inner(&self) -> &A {
        &self.inner
    }

    fn check(&self, method: &str) -> Result<()> {
        let mut faults = self.lock();
        match faults.get_mut(method) {
            None => Ok(()),
            Some(fault) if fault.passes > 0 => {
                fault.passes -= 1;
                Ok(())
            }
            Some(fault) => {
                let error = fault.error.clone();
                if let Some(left) = fault.failures.as_mut() {
                    *left = left.saturating_sub(1);
                    if *left == 0 {
                        faults.remove(method);
                    }
                }
                Err(error)
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Fault>> {
        // A poisoned map still holds valid faults.
        self.faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl<A: ?Sized> fmt::Debug for FaultyAdmin<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultyAdmin")
            .field("faults", &*self.lock())
            .finish_non_exhaustive()
    }
}

forward_keycloak_admin!(
    impl[A: ?Sized + KeycloakAdmin] FaultyAdmin<A>,
    |s| &s.inner,
    |s, method| s.check(method)?
);
