//! PrimeHub's permission table (reference §2.2) as async-graphql guards.
//!
//! The default for every query and mutation is **admin only**; each field that is open to more
//! callers says so with one of these guards. Rules that depend on the object (group admins,
//! group members, the caller's own user) are checked in the resolver with the helpers here,
//! because they need the arguments and the Keycloak cache.

use std::sync::Arc;

use async_graphql::{Context, Guard};

use crate::auth::Caller;
use crate::error::Error;

/// The message of a permission denial.
pub const NOT_PERMITTED: &str = "user not auth";

/// Which callers a field is open to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allow {
    /// System administrators.
    Admin,
    /// Administrators and the shared-secret client.
    AdminOrClient,
    /// Administrators and users (not the shared-secret client).
    AdminOrUser,
    /// Everyone authenticated: administrators, users and the shared-secret client.
    Authenticated,
}

impl Allow {
    /// Whether `caller` passes.
    pub fn permits(self, caller: &Caller) -> bool {
        match self {
            Allow::Admin => caller.is_admin(),
            Allow::AdminOrClient => caller.is_admin() || caller.is_client(),
            Allow::AdminOrUser => !caller.is_client(),
            Allow::Authenticated => true,
        }
    }
}

/// The caller of the request being executed.
pub fn caller<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Arc<Caller>> {
    ctx.data::<Arc<Caller>>()
        .map_err(|_| Error::NotAuth(crate::auth::NOT_AUTHORIZED.to_owned()).into())
}

/// The error of a denied permission.
pub fn denied() -> Error {
    Error::NotAuth(NOT_PERMITTED.to_owned())
}

impl Guard for Allow {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        let caller = caller(ctx)?;
        if self.permits(caller) {
            Ok(())
        } else {
            Err(denied().into())
        }
    }
}
