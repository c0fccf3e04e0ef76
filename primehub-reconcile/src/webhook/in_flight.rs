//! Pods admitted but not yet seen by the pod watch.
//!
//! The usage ledger learns about a pod from the watch, a few milliseconds after the API server
//! stored it. Two creates arriving together would both be decided on the usage before either,
//! and could both slip under a quota. [`InFlight`] closes that gap: an admitted pod's charge is
//! *reserved* under the same lock the decision is made under, counts on top of the ledger, and
//! is released when the watch delivers the pod (its charge is then in the ledger) or, at the
//! latest, after the window (default [`InFlight::DEFAULT_WINDOW`]) — for a pod the API server
//! admitted but never stored (another webhook refused it, validation failed).
//!
//! A reservation is matched to the pod the watch delivers by name; for a pod created with
//! `generateName` (no name at admission time, as for Deployment pods) by the first new pod with
//! that `generateName` and the same group. Until the match, the charge may be counted twice
//! (ledger and reservation) for a moment: the error is on the safe side, never under.
//!
//! Time is tokio's clock, so tests run the window with paused time.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use primehub_model::quota::{PodCharge, ResourceAmounts};
use tokio::time::Instant;

#[derive(Debug, Clone)]
struct Reservation {
    /// The pod's name at admission; empty for `generateName` pods.
    name: String,
    /// The pod's `generateName`, when it has no name.
    generate_name: String,
    charge: PodCharge,
    expires: Instant,
}

#[derive(Debug, Default)]
struct State {
    reservations: Vec<Reservation>,
    /// Pods (`namespace/name` is implied by the owner: one `InFlight` per namespace) that
    /// already released a reservation, so their later events release no other one.
    released_by: VecDeque<(String, Instant)>,
}

/// The reservations of one namespace's admitted pods. Cheap to clone: clones share them.
#[derive(Debug, Clone)]
pub struct InFlight {
    state: Arc<Mutex<State>>,
    window: Duration,
}

impl Default for InFlight {
    fn default() -> Self {
        InFlight::new(InFlight::DEFAULT_WINDOW)
    }
}

impl InFlight {
    /// How long an admitted pod counts at most before the watch shows it: 10 s, far above the
    /// milliseconds a watch event takes, short enough that a pod refused after admission holds
    /// its quota only briefly.
    pub const DEFAULT_WINDOW: Duration = Duration::from_secs(10);

    /// No reservations; each lasts at most `window`.
    pub fn new(window: Duration) -> InFlight {
        InFlight {
            state: Arc::new(Mutex::new(State::default())),
            window,
        }
    }

    /// The window.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// Takes the lock decisions are made under, dropping expired reservations. Hold it while
    /// reading usage, deciding and reserving, so concurrent decisions see each other.
    pub fn lock(&self) -> InFlightGuard<'_> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        state.reservations.retain(|r| r.expires > now);
        while state.released_by.front().is_some_and(|(_, at)| *at <= now) {
            state.released_by.pop_front();
        }
        InFlightGuard {
            state,
            window: self.window,
        }
    }

    /// How many reservations are open (expired ones included until the next decision).
    pub fn len(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .reservations
            .len()
    }

    /// Whether no reservation is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The watch delivered `pod` (its charge is in the ledger now): release its reservation.
    pub fn observed(&self, pod: &Pod) {
        let Some(name) = pod.metadata.name.as_deref() else {
            return;
        };
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if state.reservations.is_empty() {
            return;
        }
        if let Some(at) = state.reservations.iter().position(|r| r.name == name) {
            state.reservations.remove(at);
            return;
        }
        let Some(generate_name) = pod.metadata.generate_name.as_deref() else {
            return;
        };
        if generate_name.is_empty()
            || !name.starts_with(generate_name)
            || state.released_by.iter().any(|(pod, _)| pod == name)
        {
            return;
        }
        let group = PodCharge::of_pod(pod).ok().flatten().map(|c| c.group);
        let found = state.reservations.iter().position(|r| {
            r.name.is_empty()
                && r.generate_name == generate_name
                && group.as_ref().is_none_or(|g| *g == r.charge.group)
        });
        if let Some(at) = found {
            let expires = state.reservations[at].expires;
            state.reservations.remove(at);
            state.released_by.push_back((name.to_owned(), expires));
        }
    }
}

/// The decision lock of an [`InFlight`], with what is reserved.
#[derive(Debug)]
pub struct InFlightGuard<'a> {
    state: MutexGuard<'a, State>,
    window: Duration,
}

impl InFlightGuard<'_> {
    /// What the open reservations add to group `group` and, when given, to `user` in it.
    pub fn pending(&self, group: &str, user: Option<&str>) -> (ResourceAmounts, ResourceAmounts) {
        let mut for_group = ResourceAmounts::ZERO;
        let mut for_user = ResourceAmounts::ZERO;
        for r in self
            .state
            .reservations
            .iter()
            .filter(|r| r.charge.group == group)
        {
            for_group = for_group.saturating_add(&r.charge.amounts);
            if user.is_some() && r.charge.user.as_deref() == user {
                for_user = for_user.saturating_add(&r.charge.amounts);
            }
        }
        (for_group, for_user)
    }

    /// Reserves `charge` for the pod named `name` (or, without a name, created with
    /// `generate_name`), for the window.
    pub fn reserve(&mut self, name: &str, generate_name: &str, charge: PodCharge) {
        if charge.amounts.is_zero() {
            return;
        }
        self.state.reservations.push(Reservation {
            name: name.to_owned(),
            generate_name: generate_name.to_owned(),
            charge,
            expires: Instant::now() + self.window,
        });
    }
}
