//! Token-level session facts of the fake, in one place: whether a session still backs a token,
//! ending a client's session (refresh-token revocation; logout can reuse it), and the list of
//! revoked access tokens (access-token revocation).
//!
//! The fake keeps one [`SessionRec`](super::store::SessionRec) per session, client and
//! online/offline (Keycloak keeps a user session with one client session per client; a browser
//! SSO session shares its id among the clients that joined it, see `browser.rs`). A token names
//! its session in `sid`; tokens without one (client-credentials tokens)
//! have no session to end. Everything here runs under the [`FakeKeycloak`](super::FakeKeycloak)
//! mutex.

use super::store::RealmState;

impl RealmState {
    /// Whether session `sid` is still active for the client with internal id `client_uuid`:
    /// what Keycloak checks before it accepts a token naming `sid` (introspection, userinfo,
    /// revocation, refresh, the admin REST API).
    pub fn session_is_active(&self, sid: &str, client_uuid: &str) -> bool {
        self.sessions
            .values()
            .any(|s| s.id == sid && s.client_uuid == client_uuid)
    }

    /// Ends `client_uuid`'s part of session `sid`, as Keycloak does when a refresh or offline
    /// token is revoked: every token naming the session (access, refresh, offline, ID) stops
    /// working (`offline`: the offline session of an offline token, else the online one).
    /// Answers whether there was such a session.
    pub fn end_client_session(&mut self, sid: &str, client_uuid: &str, offline: bool) -> bool {
        let before = self.sessions.len();
        self.sessions
            .retain(|_, s| !(s.id == sid && s.client_uuid == client_uuid && s.offline == offline));
        let ended = self.sessions.len() != before;
        if ended {
            self.rekey(sid);
        }
        ended
    }

    /// Records the access token `jti` (expiring at `exp`, Unix seconds) as revoked, and forgets
    /// revoked tokens that have expired anyway (Keycloak keeps them as long as they could be
    /// used, at least 10 s).
    pub fn revoke_access_token(&mut self, jti: &str, exp: i64, now: i64) {
        self.revoked_access_tokens.retain(|_, until| *until >= now);
        self.revoked_access_tokens
            .insert(jti.to_owned(), exp.max(now + 10));
    }

    /// Whether the access token `jti` was revoked.
    pub fn access_token_revoked(&self, jti: &str) -> bool {
        self.revoked_access_tokens.contains_key(jti)
    }
}
