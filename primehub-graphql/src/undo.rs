//! The undo log of a multi-step write (DESIGN §4.4): every Keycloak or cluster step a mutation
//! makes is recorded with what restores the state before it, so that when a later step fails
//! the request undoes what it did, newest first, and the caller sees the error with nothing
//! half-written.
//!
//! Steps that cannot be undone (removing a user's TOTP credential, writing a password) are made
//! last by the mutations and are never recorded here.

use primehub_keycloak::representation::{Attributes, GroupUpdate, UserUpdate};

use crate::error::Result;
use crate::state::ApiState;

/// One recorded step and what reverts it.
#[derive(Debug)]
enum Step {
    /// A realm role this request created (deleted on undo).
    RoleCreated(String),
    /// A role mapped onto (`added`) or unmapped from a group.
    Mapping {
        group: String,
        role: String,
        added: bool,
    },
    /// A user added to (`added`) or removed from a group.
    Membership {
        group: String,
        user: String,
        added: bool,
    },
    /// A user's administrator flag changed from `was`.
    Admin { user: String, was: bool },
    /// A user's fields changed; `before` writes them back.
    UserFields { user: String, before: UserUpdate },
    /// A group's attributes replaced; `before` are the old ones.
    GroupAttributes { group: String, before: Attributes },
    /// A PersistentVolumeClaim this request created in PrimeHub's namespace.
    ClaimCreated(String),
    /// A group this request created, by id (deleted on undo, with its memberships).
    GroupCreated(String),
}

/// What a request changed so far, to revert when a later step fails. Dropping it keeps the
/// changes (the request succeeded); [`undo`](Undo::undo) reverts them.
#[derive(Debug, Default)]
#[must_use = "undo the changes when a later step of the request fails"]
pub struct Undo {
    steps: Vec<Step>,
}

impl Undo {
    /// An empty log.
    pub fn new() -> Undo {
        Undo::default()
    }

    /// Reverts every recorded step, newest first. What cannot be reverted is logged with the
    /// object it concerns; the remaining steps are still reverted.
    pub async fn undo(self, state: &ApiState) {
        for step in self.steps.into_iter().rev() {
            if let Err(e) = revert(state, &step).await {
                tracing::error!(step = ?step, error = %e, "rollback: could not revert a step");
            }
        }
    }

    /// Creates `role` unless it exists; a role this request created is deleted on undo.
    pub async fn ensure_role(&mut self, state: &ApiState, role: &str) -> Result<()> {
        match state.admin.create_role(role, None).await {
            Ok(()) => {
                self.steps.push(Step::RoleCreated(role.to_owned()));
                Ok(())
            }
            Err(e) if e.is_conflict() => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Maps (`add`) or unmaps `role` on `group`.
    pub async fn set_mapping(
        &mut self,
        state: &ApiState,
        group: &str,
        role: &str,
        add: bool,
    ) -> Result<()> {
        set_mapping(state, group, role, add).await?;
        self.steps.push(Step::Mapping {
            group: group.to_owned(),
            role: role.to_owned(),
            added: add,
        });
        Ok(())
    }

    /// Adds `user` to (`add`) or removes them from `group`.
    pub async fn set_member(
        &mut self,
        state: &ApiState,
        group: &str,
        user: &str,
        add: bool,
    ) -> Result<()> {
        set_member(state, group, user, add).await?;
        self.steps.push(Step::Membership {
            group: group.to_owned(),
            user: user.to_owned(),
            added: add,
        });
        Ok(())
    }

    /// Sets `user`'s administrator flag, which was `was`.
    pub async fn set_admin(
        &mut self,
        state: &ApiState,
        user: &str,
        admin: bool,
        was: bool,
    ) -> Result<()> {
        state.admin.set_admin(user, admin).await?;
        self.steps.push(Step::Admin {
            user: user.to_owned(),
            was,
        });
        Ok(())
    }

    /// Applies `update` to `user`; `before` is the update that writes the old values back.
    pub async fn update_user(
        &mut self,
        state: &ApiState,
        user: &str,
        update: &UserUpdate,
        before: UserUpdate,
    ) -> Result<()> {
        state.admin.update_user(user, update).await?;
        self.steps.push(Step::UserFields {
            user: user.to_owned(),
            before,
        });
        Ok(())
    }

    /// Replaces `group`'s attributes with `attributes`; `before` are the current ones.
    pub async fn set_group_attributes(
        &mut self,
        state: &ApiState,
        group: &str,
        attributes: Attributes,
        before: Attributes,
    ) -> Result<()> {
        let update = GroupUpdate {
            name: None,
            attributes: Some(attributes),
        };
        state.admin.update_group(group, &update).await?;
        self.steps.push(Step::GroupAttributes {
            group: group.to_owned(),
            before,
        });
        Ok(())
    }

    /// Records that this request created the claim `name` (deleted on undo).
    pub fn claim_created(&mut self, name: &str) {
        self.steps.push(Step::ClaimCreated(name.to_owned()));
    }

    /// Records that this request created the group `id` (deleted on undo).
    pub fn group_created(&mut self, id: &str) {
        self.steps.push(Step::GroupCreated(id.to_owned()));
    }
}

/// Maps (`add`) or unmaps `role` on `group`.
async fn set_mapping(state: &ApiState, group: &str, role: &str, add: bool) -> Result<()> {
    let roles = [role.to_owned()];
    let done = if add {
        state.admin.add_group_roles(group, &roles).await
    } else {
        state.admin.remove_group_roles(group, &roles).await
    };
    Ok(done?)
}

/// Adds (`add`) or removes `user` as a member of `group`.
async fn set_member(state: &ApiState, group: &str, user: &str, add: bool) -> Result<()> {
    let done = if add {
        state.admin.add_member(group, user).await
    } else {
        state.admin.remove_member(group, user).await
    };
    Ok(done?)
}

async fn revert(state: &ApiState, step: &Step) -> Result<()> {
    match step {
        Step::RoleCreated(role) => match state.admin.delete_role(role).await {
            Err(e) if !e.is_not_found() => Err(e.into()),
            _ => Ok(()),
        },
        Step::Mapping { group, role, added } => set_mapping(state, group, role, !added).await,
        Step::Membership { group, user, added } => set_member(state, group, user, !added).await,
        Step::Admin { user, was } => Ok(state.admin.set_admin(user, *was).await?),
        Step::UserFields { user, before } => Ok(state.admin.update_user(user, before).await?),
        Step::GroupAttributes { group, before } => {
            let update = GroupUpdate {
                name: None,
                attributes: Some(before.clone()),
            };
            Ok(state.admin.update_group(group, &update).await?)
        }
        Step::ClaimCreated(name) => crate::resources::delete_claim(state, name).await,
        Step::GroupCreated(id) => match state.admin.delete_group(id).await {
            Err(e) if !e.is_not_found() => Err(e.into()),
            _ => Ok(()),
        },
    }
}
