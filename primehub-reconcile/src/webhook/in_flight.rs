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
//! Every operation costs the same with 1 or 100 000 open reservations: sums are kept per group
//! and per user, reservations are indexed by name and `generateName`, and expiry walks a queue
//! in expiry order.
//!
//! Time is tokio's clock, so tests run the window with paused time.

use std::collections::{HashMap, HashSet, VecDeque};
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
}

/// What a group's open reservations add up to.
#[derive(Debug, Default)]
struct GroupSums {
    total: ResourceAmounts,
    count: usize,
    users: HashMap<String, (ResourceAmounts, usize)>,
}

#[derive(Debug, Default)]
struct State {
    next_id: u64,
    live: HashMap<u64, Reservation>,
    /// Ids in expiry order (every reservation lasts the same window); released ones are
    /// skipped when they come up.
    expiry: VecDeque<(u64, Instant)>,
    by_name: HashMap<String, u64>,
    by_generate_name: HashMap<String, VecDeque<u64>>,
    sums: HashMap<String, GroupSums>,
    /// Pods that already released a reservation through their `generateName`, so their later
    /// events release no other one; forgotten after the window.
    released_by: HashSet<String>,
    released_order: VecDeque<(String, Instant)>,
}

impl State {
    fn expire(&mut self, now: Instant) {
        while let Some(&(id, at)) = self.expiry.front() {
            if at > now {
                break;
            }
            self.expiry.pop_front();
            self.release(id);
        }
        while let Some((_, at)) = self.released_order.front() {
            if *at > now {
                break;
            }
            if let Some((pod, _)) = self.released_order.pop_front() {
                self.released_by.remove(&pod);
            }
        }
    }

    fn release(&mut self, id: u64) {
        let Some(r) = self.live.remove(&id) else {
            return;
        };
        if r.name.is_empty() {
            if let Some(queue) = self.by_generate_name.get_mut(&r.generate_name) {
                queue.retain(|other| *other != id);
                if queue.is_empty() {
                    self.by_generate_name.remove(&r.generate_name);
                }
            }
        } else if self.by_name.get(&r.name) == Some(&id) {
            self.by_name.remove(&r.name);
        }
        let Some(group) = self.sums.get_mut(&r.charge.group) else {
            return;
        };
        group.total = group.total.saturating_sub(&r.charge.amounts);
        group.count = group.count.saturating_sub(1);
        if let Some(user) = &r.charge.user
            && let Some((sum, count)) = group.users.get_mut(user)
        {
            *sum = sum.saturating_sub(&r.charge.amounts);
            *count = count.saturating_sub(1);
            if *count == 0 {
                group.users.remove(user);
            }
        }
        if group.count == 0 {
            self.sums.remove(&r.charge.group);
        }
    }
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

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes the lock decisions are made under, dropping expired reservations. Hold it while
    /// reading usage, deciding and reserving, so concurrent decisions see each other.
    pub fn lock(&self) -> InFlightGuard<'_> {
        let mut state = self.state();
        state.expire(Instant::now());
        InFlightGuard {
            state,
            window: self.window,
        }
    }

    /// How many reservations are open.
    pub fn len(&self) -> usize {
        let mut state = self.state();
        state.expire(Instant::now());
        state.live.len()
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
        let mut state = self.state();
        if state.live.is_empty() {
            return;
        }
        if let Some(&id) = state.by_name.get(name) {
            state.release(id);
            return;
        }
        let Some(generate_name) = pod.metadata.generate_name.as_deref() else {
            return;
        };
        if generate_name.is_empty()
            || !name.starts_with(generate_name)
            || state.released_by.contains(name)
        {
            return;
        }
        let group = PodCharge::of_pod(pod).ok().flatten().map(|c| c.group);
        let found = state.by_generate_name.get(generate_name).and_then(|queue| {
            queue.iter().copied().find(|id| {
                state
                    .live
                    .get(id)
                    .is_some_and(|r| group.as_ref().is_none_or(|g| *g == r.charge.group))
            })
        });
        if let Some(id) = found {
            state.release(id);
            let until = Instant::now() + self.window;
            state.released_by.insert(name.to_owned());
            state.released_order.push_back((name.to_owned(), until));
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
        let Some(sums) = self.state.sums.get(group) else {
            return (ResourceAmounts::ZERO, ResourceAmounts::ZERO);
        };
        let for_user = user
            .and_then(|u| sums.users.get(u))
            .map(|(sum, _)| *sum)
            .unwrap_or_default();
        (sums.total, for_user)
    }

    /// Reserves `charge` for the pod named `name` (or, without a name, created with
    /// `generate_name`), for the window. A charge of nothing is not kept.
    pub fn reserve(&mut self, name: &str, generate_name: &str, charge: PodCharge) {
        if charge.amounts.is_zero() {
            return;
        }
        let state = &mut *self.state;
        let id = state.next_id;
        state.next_id += 1;
        let group = state.sums.entry(charge.group.clone()).or_default();
        group.total = group.total.saturating_add(&charge.amounts);
        group.count += 1;
        if let Some(user) = &charge.user {
            let (sum, count) = group.users.entry(user.clone()).or_default();
            *sum = sum.saturating_add(&charge.amounts);
            *count += 1;
        }
        if name.is_empty() {
            state
                .by_generate_name
                .entry(generate_name.to_owned())
                .or_default()
                .push_back(id);
        } else if let Some(previous) = state.by_name.insert(name.to_owned(), id) {
            // A second admission of the same name (the first create failed after admission):
            // the pod the watch will show is the newer one.
            state.release(previous);
            state.by_name.insert(name.to_owned(), id);
        }
        state.expiry.push_back((id, Instant::now() + self.window));
        state.live.insert(
            id,
            Reservation {
                name: name.to_owned(),
                generate_name: generate_name.to_owned(),
                charge,
            },
        );
    }
}
