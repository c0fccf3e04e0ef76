//! [`CountingAdmin`]: a [`KeycloakAdmin`] decorator that counts the calls made through it.
//!
//! Wrap the client a component talks to Keycloak with, and read [`CountingAdmin::calls`] to
//! prove how many Keycloak calls something cost — for example that a warm
//! [`KeycloakCache`](crate::cache::KeycloakCache) answers reads with none. Every trait method
//! counts as one call except [`realm`](KeycloakAdmin::realm), which asks Keycloak nothing.
//!
//! ```
//! # #[cfg(feature = "fake")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use primehub_keycloak::counting::CountingAdmin;
//! use primehub_keycloak::fake::FakeKeycloak;
//! use primehub_keycloak::{KeycloakAdmin, Page};
//!
//! let keycloak = FakeKeycloak::new()?;
//! let counted = Arc::new(CountingAdmin::new(keycloak.create_realm("demo")?));
//! counted.search_users(None, Page::default()).await?;
//! counted.count_users(None).await?;
//! assert_eq!(counted.calls(), 2);
//! assert_eq!(counted.calls_of("count_users"), 1);
//! # Ok(()) }
//! # #[cfg(not(feature = "fake"))]
//! # fn main() {}
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

use crate::admin::{KeycloakAdmin, forward_keycloak_admin};
use crate::error::Result;
use crate::representation::{
    AdminEvent, AdminEventQuery, ClientScopeMappings, Credential, ExecuteActionsEmail, Group,
    GroupUpdate, NewGroup, NewUser, OfflineSession, Page, RealmSettings, RealmSettingsUpdate, Role,
    RoleUpdate, User, UserUpdate,
};

/// Forwards every call to the inner client and counts it (in total and per method).
pub struct CountingAdmin<A: ?Sized> {
    total: AtomicU64,
    per_method: Mutex<BTreeMap<&'static str, u64>>,
    inner: A,
}

impl<A> CountingAdmin<A> {
    /// Counts the calls made to `inner`, from zero.
    pub fn new(inner: A) -> CountingAdmin<A> {
        CountingAdmin {
            total: AtomicU64::new(0),
            per_method: Mutex::new(BTreeMap::new()),
            inner,
        }
    }
}

impl<A: ?Sized> CountingAdmin<A> {
    /// The calls made so far (every method but `realm()`).
    pub fn calls(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// The calls made so far to the method named `method` (for example `"get_user"`).
    pub fn calls_of(&self, method: &str) -> u64 {
        self.lock().get(method).copied().unwrap_or(0)
    }

    /// The calls made so far, per method name (methods never called are absent).
    pub fn calls_by_method(&self) -> BTreeMap<&'static str, u64> {
        self.lock().clone()
    }

    /// Sets every counter back to zero.
    pub fn reset(&self) {
        self.total.store(0, Ordering::Relaxed);
        self.lock().clear();
    }

    /// The wrapped client.
    pub fn inner(&self) -> &A {
        &self.inner
    }

    fn hit(&self, method: &'static str) {
        self.total.fetch_add(1, Ordering::Relaxed);
        *self.lock().entry(method).or_default() += 1;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<&'static str, u64>> {
        // A poisoned map still holds valid counters.
        self.per_method
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl<A: ?Sized> fmt::Debug for CountingAdmin<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CountingAdmin")
            .field("calls", &self.calls())
            .finish_non_exhaustive()
    }
}

forward_keycloak_admin!(
    impl[A: ?Sized + KeycloakAdmin] CountingAdmin<A>,
    |s| &s.inner,
    |s, method| s.hit(method)
);
