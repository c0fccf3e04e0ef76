//! Leader election on a `coordination.k8s.io/v1` Lease, so the controller can run with
//! replicas: one leads and runs the controllers, the others wait and take over when it stops.
//!
//! The protocol is client-go's `leaderelection` with a `LeaseLock`, on the injected
//! [`Clock`]:
//!
//! * no Lease yet: create it with this candidate as `holderIdentity` (`acquireTime` and
//!   `renewTime` now, `leaseDurationSeconds`, `leaseTransitions` 0); a create that conflicts
//!   means another candidate won;
//! * the Lease is ours: renew it (`renewTime` now);
//! * the Lease is another's and `renewTime + leaseDurationSeconds` is still ahead: wait;
//! * the Lease is expired or released (no holder): take it (`leaseTransitions` + 1);
//!
//! every write carries the Lease's `resourceVersion`, so of two candidates racing for an
//! expired Lease exactly one succeeds ([`decide`] is the pure part). A leader renews every
//! [`LeaseConfig::retry_period`]; one that cannot renew for [`LeaseConfig::lease_duration`]
//! has lost the Lease (another may hold it by then) and [`LeaderElector::run`] returns
//! [`Leadership::Lost`] — the binary exits, as controller-runtime does, and restarts as a
//! candidate. On shutdown the leader releases the Lease (empty holder), so a waiting replica
//! takes over at its next try instead of after the lease duration.
//!
//! Why not a crate: `kube-leader-election` reads the wall clock (not testable on virtual
//! time) and `kube-lease-manager` writes with server-side apply.

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, PostParams};
use primehub_model::clock::Clock;
use tokio::sync::watch;

use crate::error::Error;

/// Where and how long to lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseConfig {
    /// The Lease's namespace.
    pub namespace: String,
    /// The Lease's name (default `primehub-controller`).
    pub name: String,
    /// This candidate's identity (the pod's name and a random suffix).
    pub identity: String,
    /// How long a Lease stays valid without renewal (default 15 s).
    pub lease_duration: Duration,
    /// How often a candidate tries to acquire or renew (default 2 s).
    pub retry_period: Duration,
}

impl LeaseConfig {
    /// The defaults for `namespace` and `identity`.
    pub fn new(namespace: impl Into<String>, identity: impl Into<String>) -> LeaseConfig {
        LeaseConfig {
            namespace: namespace.into(),
            name: "primehub-controller".to_owned(),
            identity: identity.into(),
            lease_duration: Duration::from_secs(15),
            retry_period: Duration::from_secs(2),
        }
    }
}

/// What a candidate does with the Lease it read.
#[derive(Debug, Clone, PartialEq)]
pub enum LeaseMove {
    /// Create the Lease (none exists).
    Create(LeaseSpec),
    /// Write this spec (renew ours, or take an expired or released one).
    Update(LeaseSpec),
    /// Another candidate holds a valid Lease.
    Wait {
        /// The holder.
        holder: String,
    },
}

fn seconds(d: Duration) -> i32 {
    i32::try_from(d.as_secs()).unwrap_or(i32::MAX)
}

/// The candidate `identity`'s move at `now` given the Lease's spec (`None`: no Lease).
pub fn decide(
    current: Option<&LeaseSpec>,
    identity: &str,
    lease_duration: Duration,
    now: Timestamp,
) -> LeaseMove {
    let ours = |acquired: Option<MicroTime>, transitions: i32| LeaseSpec {
        holder_identity: Some(identity.to_owned()),
        lease_duration_seconds: Some(seconds(lease_duration)),
        acquire_time: acquired.or(Some(MicroTime(now))),
        renew_time: Some(MicroTime(now)),
        lease_transitions: Some(transitions),
        ..LeaseSpec::default()
    };
    let Some(spec) = current else {
        return LeaseMove::Create(ours(None, 0));
    };
    let holder = spec.holder_identity.as_deref().unwrap_or("");
    let transitions = spec.lease_transitions.unwrap_or(0);
    if holder == identity {
        return LeaseMove::Update(ours(spec.acquire_time.clone(), transitions));
    }
    let valid_until = spec.renew_time.as_ref().map(|renewed| {
        renewed.0
            + SignedDuration::from_secs(i64::from(
                spec.lease_duration_seconds
                    .unwrap_or(seconds(lease_duration)),
            ))
    });
    match valid_until {
        Some(until) if !holder.is_empty() && until > now => LeaseMove::Wait {
            holder: holder.to_owned(),
        },
        _ => LeaseMove::Update(ours(None, transitions.saturating_add(1))),
    }
}

/// How leading ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leadership {
    /// Shutdown arrived; the Lease was released if it was held.
    Stopped,
    /// The Lease could not be renewed within its duration.
    Lost,
}

/// A candidate for the Lease. See the [module docs](self).
#[derive(Clone)]
pub struct LeaderElector {
    api: Api<Lease>,
    clock: Arc<dyn Clock>,
    config: LeaseConfig,
    leading: watch::Sender<bool>,
}

impl std::fmt::Debug for LeaderElector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaderElector")
            .field("config", &self.config)
            .field("leading", &*self.leading.borrow())
            .finish_non_exhaustive()
    }
}

impl LeaderElector {
    /// A candidate on `client`.
    pub fn new(client: kube::Client, clock: Arc<dyn Clock>, config: LeaseConfig) -> LeaderElector {
        LeaderElector {
            api: Api::namespaced(client, &config.namespace),
            clock,
            config,
            leading: watch::Sender::new(false),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &LeaseConfig {
        &self.config
    }

    /// A receiver of whether this candidate leads now.
    pub fn leading(&self) -> watch::Receiver<bool> {
        self.leading.subscribe()
    }

    /// Whether this candidate leads now.
    pub fn is_leading(&self) -> bool {
        *self.leading.borrow()
    }

    /// One try: reads the Lease and acquires, renews or waits; returns whether this
    /// candidate holds the Lease now.
    ///
    /// # Errors
    ///
    /// The API server's errors other than a lost race (a 409 is "not leading").
    pub async fn try_acquire_or_renew(&self) -> Result<bool, Error> {
        let current = self.api.get_opt(&self.config.name).await?;
        let now = self.clock.now();
        let step = decide(
            current.as_ref().and_then(|l| l.spec.as_ref()),
            &self.config.identity,
            self.config.lease_duration,
            now,
        );
        let written = match step {
            LeaseMove::Wait { .. } => Ok(false),
            LeaseMove::Create(spec) => {
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(self.config.name.clone()),
                        namespace: Some(self.config.namespace.clone()),
                        ..ObjectMeta::default()
                    },
                    spec: Some(spec),
                };
                self.api
                    .create(&PostParams::default(), &lease)
                    .await
                    .map(|_| true)
            }
            LeaseMove::Update(spec) => {
                let mut lease = current.unwrap_or_default();
                lease.spec = Some(spec);
                self.api
                    .replace(&self.config.name, &PostParams::default(), &lease)
                    .await
                    .map(|_| true)
            }
        };
        let leading = match written {
            Ok(leading) => leading,
            Err(kube::Error::Api(e)) if e.code == 409 => false,
            Err(e) => return Err(e.into()),
        };
        self.leading
            .send_if_modified(|l| std::mem::replace(l, leading) != leading);
        Ok(leading)
    }

    /// Releases the Lease if this candidate holds it (empty holder, so another takes it at
    /// once).
    ///
    /// # Errors
    ///
    /// The API server's errors.
    pub async fn release(&self) -> Result<(), Error> {
        self.leading.send_replace(false);
        let Some(mut lease) = self.api.get_opt(&self.config.name).await? else {
            return Ok(());
        };
        let ours = lease
            .spec
            .as_ref()
            .and_then(|s| s.holder_identity.as_deref())
            == Some(self.config.identity.as_str());
        if !ours {
            return Ok(());
        }
        if let Some(spec) = lease.spec.as_mut() {
            spec.holder_identity = None;
            spec.lease_duration_seconds = Some(1);
        }
        match self
            .api
            .replace(&self.config.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(e)) if e.code == 409 => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Tries every retry period until `stop` resolves, leading whenever it can; returns
    /// [`Leadership::Lost`] when, once leading, no renewal succeeded for the lease duration
    /// (or another took the Lease), and [`Leadership::Stopped`] after releasing on `stop`.
    pub async fn run(&self, stop: impl std::future::Future<Output = ()>) -> Leadership {
        tokio::pin!(stop);
        let mut last_renewal: Option<tokio::time::Instant> = None;
        loop {
            match self.try_acquire_or_renew().await {
                Ok(true) => {
                    if last_renewal.is_none() {
                        tracing::info!(lease = %self.config.name, identity = %self.config.identity, "leading");
                    }
                    last_renewal = Some(tokio::time::Instant::now());
                }
                Ok(false) => {
                    if last_renewal.is_some() {
                        tracing::warn!(lease = %self.config.name, "another candidate took the lease");
                        return Leadership::Lost;
                    }
                }
                Err(error) => {
                    tracing::warn!(lease = %self.config.name, %error, "cannot acquire or renew the lease");
                    if let Some(at) = last_renewal
                        && at.elapsed() >= self.config.lease_duration
                    {
                        self.leading.send_replace(false);
                        return Leadership::Lost;
                    }
                }
            }
            tokio::select! {
                () = &mut stop => {
                    if let Err(error) = self.release().await {
                        tracing::warn!(%error, "cannot release the lease");
                    }
                    return Leadership::Stopped;
                }
                () = tokio::time::sleep(self.config.retry_period) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).expect("a time")
    }

    const D: Duration = Duration::from_secs(15);

    fn held_by(who: &str, renewed: i64) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(who.to_owned()),
            lease_duration_seconds: Some(15),
            acquire_time: Some(MicroTime(t(0))),
            renew_time: Some(MicroTime(t(renewed))),
            lease_transitions: Some(3),
            ..LeaseSpec::default()
        }
    }

    #[test]
    fn no_lease_is_created_with_us_as_holder() {
        let LeaseMove::Create(spec) = decide(None, "a", D, t(5)) else {
            panic!("a create")
        };
        assert_eq!(spec.holder_identity.as_deref(), Some("a"));
        assert_eq!(spec.lease_duration_seconds, Some(15));
        assert_eq!(spec.acquire_time, Some(MicroTime(t(5))));
        assert_eq!(spec.renew_time, Some(MicroTime(t(5))));
        assert_eq!(spec.lease_transitions, Some(0));
    }

    #[test]
    fn our_lease_is_renewed_keeping_its_acquire_time() {
        let LeaseMove::Update(spec) = decide(Some(&held_by("a", 1)), "a", D, t(100)) else {
            panic!("an update")
        };
        assert_eq!(spec.acquire_time, Some(MicroTime(t(0))));
        assert_eq!(spec.renew_time, Some(MicroTime(t(100))));
        assert_eq!(spec.lease_transitions, Some(3));
    }

    #[test]
    fn another_holders_valid_lease_waits_until_it_expires() {
        assert_eq!(
            decide(Some(&held_by("b", 10)), "a", D, t(24)),
            LeaseMove::Wait {
                holder: "b".to_owned()
            }
        );
        // renewTime + 15 s == now: expired.
        let LeaseMove::Update(spec) = decide(Some(&held_by("b", 10)), "a", D, t(25)) else {
            panic!("a takeover")
        };
        assert_eq!(spec.holder_identity.as_deref(), Some("a"));
        assert_eq!(spec.acquire_time, Some(MicroTime(t(25))));
        assert_eq!(spec.lease_transitions, Some(4));
    }

    #[test]
    fn a_released_lease_is_taken_at_once() {
        let mut released = held_by("b", 10);
        released.holder_identity = None;
        assert!(matches!(
            decide(Some(&released), "a", D, t(11)),
            LeaseMove::Update(_)
        ));
        // The holder's own duration counts, not ours.
        let mut long = held_by("b", 10);
        long.lease_duration_seconds = Some(60);
        assert!(matches!(
            decide(Some(&long), "a", D, t(69)),
            LeaseMove::Wait { .. }
        ));
    }
}
