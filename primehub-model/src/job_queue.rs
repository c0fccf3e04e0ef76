//! The job queue's decision: which pending PhJobs start now (Pending → Preparing).
//!
//! PrimeHub's job scheduler (`primehub-controllers.md` §4.3; InfuseAI/primehub-controller
//! `ee/controllers/phjob_scheduler.go`) decides, for every pending job:
//!
//! 1. a job whose instance type alone is bigger than its group's **user** or **group** quota can
//!    never run: it fails at once ([`Decision::NeverFits`], PrimeHub's reason `OverQuota` and
//!    message [`NEVER_FITS_MESSAGE`]);
//! 2. the others are queued per group, in creation order (ties broken by name, so a pass is
//!    deterministic);
//! 3. walking a group's queue with what is left of its quotas after current usage: a job that
//!    does not fit its **user's** remaining quota is skipped ([`Decision::WaitUser`]) and does
//!    not block the others; a job that does not fit the **group's** remaining quota stops the
//!    group's queue ([`Decision::WaitGroup`]; every later job of the group is
//!    [`Decision::Queued`] behind it — strict FIFO); a job that fits starts
//!    ([`Decision::Start`]) and its request is charged to both tiers for the rest of the pass.
//!
//! The arithmetic is [`crate::quota`]'s, the same the admission webhook decides with (DESIGN
//! §4.1): a request "fits" exactly when the webhook would admit a pod of that size on top of
//! the same usage. Usage comes through [`UsageView`]: the webhook's [`UsageLedger`] of pods,
//! plus the controller's reservations for jobs it moved to Preparing whose pods are not
//! counted yet ([`WithReservations`]), so two passes never start two jobs into one slot.
//!
//! Where we differ from PrimeHub, deliberately:
//!
//! * the request is the instance type's limits as the pod will carry them
//!   ([`crate::pod::InstanceTypeResources::limits`]): memory `2G` is 2 GiB, as in the pod
//!   (PrimeHub's scheduler counts 2·10⁹ bytes, then the pod gets 2 GiB, so the scheduler and the
//!   webhook disagreed), and AMD and Intel GPUs count as GPUs, as the webhook counts them;
//! * jobs are queued by group **name** (the quota and the pod labels are by name; PrimeHub
//!   grouped by `groupId` and looked usage up by name);
//! * a group the quota source does not know keeps its jobs waiting ([`Decision::UnknownGroup`]);
//!   the caller decides whether that fails them (PrimeHub fails a job whose group lookup
//!   errors with `cannot get group info`).
//!
//! ```
//! use primehub_model::job_queue::{plan, Decision, QueuedJob};
//! use primehub_model::quantity::Gpu;
//! use primehub_model::quota::{GroupQuotas, Quota, ResourceAmounts, UsageLedger};
//!
//! // PrimeHub's example 2: user and group quotas of 4 GPUs; A(2, bob), B(4, bob), C(2, lin).
//! let gpus = |n| ResourceAmounts { gpu: Gpu::from_count(n), ..ResourceAmounts::ZERO };
//! let four = Quota { gpu: Some(Gpu::from_count(4)), ..Quota::UNLIMITED };
//! let at = |s: i64| jiff::Timestamp::from_second(s).unwrap();
//! let jobs = [
//!     QueuedJob { name: "a", group: "ml", user: "bob", created: at(1), request: gpus(2) },
//!     QueuedJob { name: "b", group: "ml", user: "bob", created: at(2), request: gpus(4) },
//!     QueuedJob { name: "c", group: "ml", user: "lin", created: at(3), request: gpus(2) },
//! ];
//! let quotas = |_: &str| Some(GroupQuotas { user: four, group: four });
//! let decisions = plan(&jobs, quotas, &UsageLedger::new());
//! assert!(matches!(decisions[0], Decision::Start));
//! assert!(matches!(decisions[1], Decision::WaitUser(_))); // bob has 2 GPUs left
//! assert!(matches!(decisions[2], Decision::Start));       // lin is not blocked by bob
//! ```

use std::cmp::Ordering;
use std::collections::HashMap;

use jiff::Timestamp;

use crate::quota::{GroupQuotas, QuotaResource, ResourceAmounts, UsageLedger};

/// PrimeHub's `status.message` for a job whose instance type is bigger than its quota.
pub const NEVER_FITS_MESSAGE: &str =
    "Your instance type resource limit is bigger than your user or group quota.";

/// A pending job as the queue sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueuedJob<'a> {
    /// The job's name (ties in creation time are ordered by it).
    pub name: &'a str,
    /// The group the job runs in (`spec.groupName`).
    pub group: &'a str,
    /// The user who submitted it (`spec.userName`).
    pub user: &'a str,
    /// `metadata.creationTimestamp`: the queue's order.
    pub created: Timestamp,
    /// What its pod will be charged: the instance type's limits.
    pub request: ResourceAmounts,
}

/// What the queue decided for one job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// It fits both tiers now: move it to Preparing.
    Start,
    /// Its request is bigger than the user's or the group's whole quota: fail it
    /// ([`NEVER_FITS_MESSAGE`]).
    NeverFits,
    /// It does not fit what is left of its user's quota in the group (the resource named);
    /// later jobs of the group may still start.
    WaitUser(QuotaResource),
    /// It does not fit what is left of the group's quota (the resource named); it heads the
    /// group's blocked queue.
    WaitGroup(QuotaResource),
    /// It waits behind a job of its group that the group quota holds back (strict FIFO).
    Queued,
    /// The quota source does not know the group.
    UnknownGroup,
}

impl Decision {
    /// Whether the job stays pending after this pass.
    pub fn waits(&self) -> bool {
        matches!(
            self,
            Decision::WaitUser(_)
                | Decision::WaitGroup(_)
                | Decision::Queued
                | Decision::UnknownGroup
        )
    }
}

/// Current usage by group and by user within a group, in the webhook's terms.
pub trait UsageView {
    /// The group's usage: pods carrying its label, Pending or Running.
    fn group(&self, group: &str) -> ResourceAmounts;
    /// The user's usage in the group: pods carrying both labels.
    fn user_in_group(&self, group: &str, user: &str) -> ResourceAmounts;
}

impl UsageView for UsageLedger {
    fn group(&self, group: &str) -> ResourceAmounts {
        UsageLedger::group(self, group)
    }

    fn user_in_group(&self, group: &str, user: &str) -> ResourceAmounts {
        UsageLedger::user_in_group(self, group, user)
    }
}

/// Usage plus reservations: the ledger of counted pods and a second ledger of what started
/// jobs will use before their pods are counted.
#[derive(Debug, Clone, Copy)]
pub struct WithReservations<'a, U: ?Sized> {
    /// Counted usage.
    pub usage: &'a U,
    /// Reserved amounts, keyed like pods (a job's reservation is dropped once its pod exists).
    pub reserved: &'a UsageLedger,
}

impl<U: UsageView + ?Sized> UsageView for WithReservations<'_, U> {
    fn group(&self, group: &str) -> ResourceAmounts {
        self.usage
            .group(group)
            .saturating_add(&self.reserved.group(group))
    }

    fn user_in_group(&self, group: &str, user: &str) -> ResourceAmounts {
        self.usage
            .user_in_group(group, user)
            .saturating_add(&self.reserved.user_in_group(group, user))
    }
}

fn queue_order(a: &QueuedJob<'_>, b: &QueuedJob<'_>) -> Ordering {
    a.created.cmp(&b.created).then_with(|| a.name.cmp(b.name))
}

/// Decides every job of `jobs` in one pass; the answer's `i`-th decision is for `jobs[i]`.
///
/// `quotas` gives a group's quotas by name (`None`: unknown group); it is called once per
/// group. Usage is read once per group and once per user and group.
pub fn plan<'a>(
    jobs: &[QueuedJob<'a>],
    mut quotas: impl FnMut(&str) -> Option<GroupQuotas>,
    usage: &(impl UsageView + ?Sized),
) -> Vec<Decision> {
    let mut decisions = vec![Decision::Queued; jobs.len()];
    let mut by_group: HashMap<&'a str, Vec<usize>> = HashMap::new();
    for (i, job) in jobs.iter().enumerate() {
        by_group.entry(job.group).or_default().push(i);
    }
    for (group, mut queue) in by_group {
        let Some(limits) = quotas(group) else {
            for i in queue {
                decisions[i] = Decision::UnknownGroup;
            }
            continue;
        };
        queue.retain(|&i| {
            let fits = limits.could_ever_admit(&jobs[i].request);
            if !fits {
                decisions[i] = Decision::NeverFits;
            }
            fits
        });
        queue.sort_by(|&a, &b| queue_order(&jobs[a], &jobs[b]));
        let mut group_used = usage.group(group);
        let mut users_used: HashMap<&str, ResourceAmounts> = HashMap::new();
        let mut blocked = false;
        for i in queue {
            if blocked {
                decisions[i] = Decision::Queued;
                continue;
            }
            let job = &jobs[i];
            let user_used = users_used
                .entry(job.user)
                .or_insert_with(|| usage.user_in_group(group, job.user));
            if let Some(resource) = limits.user.first_exceeded(&job.request, user_used) {
                decisions[i] = Decision::WaitUser(resource);
                continue;
            }
            if let Some(resource) = limits.group.first_exceeded(&job.request, &group_used) {
                decisions[i] = Decision::WaitGroup(resource);
                blocked = true;
                continue;
            }
            *user_used = user_used.saturating_add(&job.request);
            group_used = group_used.saturating_add(&job.request);
            decisions[i] = Decision::Start;
        }
    }
    decisions
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quantity::{Cpu, Gpu, Memory};
    use crate::quota::{PodCharge, Quota};
    use proptest::prelude::*;

    fn gpus(n: u64) -> ResourceAmounts {
        ResourceAmounts {
            gpu: Gpu::from_count(n),
            ..ResourceAmounts::ZERO
        }
    }

    fn gpu_quota(n: u64) -> Quota {
        Quota {
            gpu: Some(Gpu::from_count(n)),
            ..Quota::UNLIMITED
        }
    }

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(s).expect("in range")
    }

    fn job<'a>(name: &'a str, group: &'a str, user: &'a str, s: i64, n: u64) -> QueuedJob<'a> {
        QueuedJob {
            name,
            group,
            user,
            created: at(s),
            request: gpus(n),
        }
    }

    fn four_each(_: &str) -> Option<GroupQuotas> {
        Some(GroupQuotas {
            user: gpu_quota(4),
            group: gpu_quota(4),
        })
    }

    #[test]
    fn prime_hub_example_1_group_quota_blocks_the_queue_in_order() {
        // A(2, bob), B(4, pan), C(2, lin): A starts, B is held by the group, C waits behind B.
        let jobs = [
            job("a", "ml", "bob", 1, 2),
            job("b", "ml", "pan", 2, 4),
            job("c", "ml", "lin", 3, 2),
        ];
        let d = plan(&jobs, four_each, &UsageLedger::new());
        assert_eq!(
            d,
            [
                Decision::Start,
                Decision::WaitGroup(QuotaResource::Gpu),
                Decision::Queued
            ]
        );
    }

    #[test]
    fn prime_hub_example_2_user_quota_skips_without_blocking() {
        let jobs = [
            job("a", "ml", "bob", 1, 2),
            job("b", "ml", "bob", 2, 4),
            job("c", "ml", "lin", 3, 2),
        ];
        let d = plan(&jobs, four_each, &UsageLedger::new());
        assert_eq!(
            d,
            [
                Decision::Start,
                Decision::WaitUser(QuotaResource::Gpu),
                Decision::Start
            ]
        );
    }

    #[test]
    fn order_is_creation_time_then_name_not_input_order() {
        let jobs = [
            job("late", "ml", "u1", 9, 3),
            job("b-early", "ml", "u2", 1, 3),
            job("a-early", "ml", "u3", 1, 3),
        ];
        let d = plan(&jobs, four_each, &UsageLedger::new());
        assert_eq!(d[2], Decision::Start, "a-early sorts first on the tie");
        assert_eq!(d[1], Decision::WaitGroup(QuotaResource::Gpu));
        assert_eq!(d[0], Decision::Queued);
    }

    #[test]
    fn a_job_bigger_than_either_quota_never_fits_and_does_not_block() {
        let quotas = |_: &str| {
            Some(GroupQuotas {
                user: gpu_quota(1),
                group: gpu_quota(8),
            })
        };
        let jobs = [
            job("big", "ml", "bob", 1, 2),
            job("small", "ml", "lin", 2, 1),
        ];
        let d = plan(&jobs, quotas, &UsageLedger::new());
        assert_eq!(d, [Decision::NeverFits, Decision::Start]);
        let quotas = |_: &str| {
            Some(GroupQuotas {
                user: gpu_quota(8),
                group: gpu_quota(1),
            })
        };
        let d = plan(&jobs, quotas, &UsageLedger::new());
        assert_eq!(d, [Decision::NeverFits, Decision::Start]);
    }

    #[test]
    fn never_fits_ignores_current_usage() {
        let mut ledger = UsageLedger::new();
        ledger.apply("hub/p", Some(charge("ml", "bob", gpus(4))));
        let jobs = [job("fits-later", "ml", "bob", 1, 4)];
        assert_eq!(
            plan(&jobs, four_each, &ledger),
            [Decision::WaitUser(QuotaResource::Gpu)]
        );
    }

    fn charge(group: &str, user: &str, amounts: ResourceAmounts) -> PodCharge {
        PodCharge {
            group: group.to_owned(),
            user: Some(user.to_owned()),
            amounts,
        }
    }

    #[test]
    fn current_usage_and_reservations_both_count() {
        let mut ledger = UsageLedger::new();
        ledger.apply("hub/running", Some(charge("ml", "bob", gpus(1))));
        let mut reserved = UsageLedger::new();
        reserved.apply("hub/preparing", Some(charge("ml", "lin", gpus(2))));
        let usage = WithReservations {
            usage: &ledger,
            reserved: &reserved,
        };
        let jobs = [job("two", "ml", "pan", 1, 2), job("one", "ml", "pan", 2, 1)];
        // 1 + 2 used of 4: a 2-GPU job is held by the group, the 1-GPU one waits behind it.
        assert_eq!(
            plan(&jobs, four_each, &usage),
            [Decision::WaitGroup(QuotaResource::Gpu), Decision::Queued]
        );
        assert_eq!(
            usage.user_in_group("ml", "lin"),
            gpus(2),
            "a reservation is charged to its user"
        );
        // Without the reservation both fit.
        assert_eq!(
            plan(&jobs, four_each, &ledger),
            [Decision::Start, Decision::Start]
        );
    }

    #[test]
    fn usage_of_another_group_or_user_does_not_count() {
        let mut ledger = UsageLedger::new();
        ledger.apply("hub/x", Some(charge("other", "bob", gpus(4))));
        ledger.apply("hub/y", Some(charge("ml", "lin", gpus(1))));
        let jobs = [job("a", "ml", "bob", 1, 3)];
        assert_eq!(plan(&jobs, four_each, &ledger), [Decision::Start]);
        let jobs = [job("a", "ml", "bob", 1, 4)];
        assert_eq!(
            plan(&jobs, four_each, &ledger),
            [Decision::WaitGroup(QuotaResource::Gpu)]
        );
    }

    #[test]
    fn started_jobs_are_charged_within_the_pass_for_both_tiers() {
        let quotas = |_: &str| {
            Some(GroupQuotas {
                user: gpu_quota(3),
                group: gpu_quota(10),
            })
        };
        let jobs = [
            job("a", "ml", "bob", 1, 2),
            job("b", "ml", "bob", 2, 2),
            job("c", "ml", "lin", 3, 3),
            job("d", "ml", "lin", 4, 3),
        ];
        assert_eq!(
            plan(&jobs, quotas, &UsageLedger::new()),
            [
                Decision::Start,
                Decision::WaitUser(QuotaResource::Gpu),
                Decision::Start,
                Decision::WaitUser(QuotaResource::Gpu)
            ]
        );
        let quotas = |_: &str| {
            Some(GroupQuotas {
                user: gpu_quota(10),
                group: gpu_quota(5),
            })
        };
        assert_eq!(
            plan(&jobs, quotas, &UsageLedger::new()),
            [
                Decision::Start,
                Decision::Start,
                Decision::WaitGroup(QuotaResource::Gpu),
                Decision::Queued
            ]
        );
    }

    #[test]
    fn a_job_that_exactly_fills_the_quota_starts() {
        let jobs = [job("a", "ml", "bob", 1, 4)];
        assert_eq!(
            plan(&jobs, four_each, &UsageLedger::new()),
            [Decision::Start]
        );
    }

    #[test]
    fn the_user_tier_is_checked_before_the_group_tier() {
        let quotas = |_: &str| {
            Some(GroupQuotas {
                user: gpu_quota(2),
                group: gpu_quota(2),
            })
        };
        let mut ledger = UsageLedger::new();
        ledger.apply("hub/p", Some(charge("ml", "bob", gpus(1))));
        // Neither tier fits: the user tier answers, so the group's queue is not stopped.
        let jobs = [job("a", "ml", "bob", 1, 2), job("b", "ml", "lin", 2, 1)];
        assert_eq!(
            plan(&jobs, quotas, &ledger),
            [Decision::WaitUser(QuotaResource::Gpu), Decision::Start]
        );
    }

    #[test]
    fn resources_are_checked_cpu_then_gpu_then_memory() {
        let quota = Quota {
            cpu: Some(Cpu::from_millis(1000)),
            gpu: Some(Gpu::from_count(0)),
            memory: Some(Memory::from_bytes(1 << 30)),
        };
        let quotas = move |_: &str| {
            Some(GroupQuotas {
                user: Quota::UNLIMITED,
                group: quota,
            })
        };
        let mut ledger = UsageLedger::new();
        ledger.apply(
            "hub/p",
            Some(charge(
                "ml",
                "x",
                ResourceAmounts {
                    cpu: Cpu::from_millis(1000),
                    gpu: Gpu::ZERO,
                    memory: Memory::from_bytes(1 << 30),
                },
            )),
        );
        let request = ResourceAmounts {
            cpu: Cpu::from_millis(1),
            gpu: Gpu::ZERO,
            memory: Memory::from_bytes(1),
        };
        let jobs = [QueuedJob {
            request,
            ..job("a", "ml", "bob", 1, 0)
        }];
        assert_eq!(
            plan(&jobs, quotas, &ledger),
            [Decision::WaitGroup(QuotaResource::Cpu)]
        );
        let jobs = [QueuedJob {
            request: ResourceAmounts {
                cpu: Cpu::ZERO,
                ..request
            },
            ..jobs[0]
        }];
        assert_eq!(
            plan(&jobs, quotas, &ledger),
            [Decision::WaitGroup(QuotaResource::Memory)]
        );
    }

    #[test]
    fn groups_are_independent_and_unknown_groups_wait() {
        let quotas = |g: &str| (g != "ghost").then(|| four_each(g)).flatten();
        let jobs = [
            job("a", "ml", "bob", 1, 4),
            job("b", "ml", "bob", 2, 1),
            job("c", "cv", "bob", 3, 4),
            job("d", "ghost", "bob", 4, 0),
        ];
        assert_eq!(
            plan(&jobs, quotas, &UsageLedger::new()),
            [
                Decision::Start,
                Decision::WaitUser(QuotaResource::Gpu),
                Decision::Start,
                Decision::UnknownGroup
            ]
        );
        assert!(Decision::UnknownGroup.waits());
        assert!(Decision::Queued.waits());
        assert!(!Decision::Start.waits());
        assert!(!Decision::NeverFits.waits());
    }

    #[test]
    fn quotas_are_asked_once_per_group() {
        let mut asked = Vec::new();
        let jobs = [
            job("a", "ml", "bob", 1, 1),
            job("b", "ml", "lin", 2, 1),
            job("c", "cv", "bob", 3, 1),
        ];
        plan(
            &jobs,
            |g| {
                asked.push(g.to_owned());
                four_each(g)
            },
            &UsageLedger::new(),
        );
        asked.sort();
        assert_eq!(asked, ["cv", "ml"]);
    }

    proptest! {
        /// Whatever the queue, what it starts fits both tiers on top of current usage, a
        /// waiting job would not have fitted when its turn came, and nothing after a job the
        /// group holds back starts.
        #[test]
        fn started_jobs_never_exceed_a_quota(
            specs in proptest::collection::vec((0u8..3, 0u8..3, 0i64..5, 0u64..5), 0..12),
            user_quota in 0u64..6,
            group_quota in 0u64..9,
            used in 0u64..4,
        ) {
            let names: Vec<String> = (0..specs.len()).map(|i| format!("j{i}")).collect();
            let groups = ["g0", "g1", "g2"];
            let users = ["u0", "u1", "u2"];
            let jobs: Vec<QueuedJob<'_>> = specs.iter().zip(&names).map(|(&(g, u, t, n), name)| QueuedJob {
                name, group: groups[usize::from(g)], user: users[usize::from(u)], created: at(t), request: gpus(n),
            }).collect();
            let mut ledger = UsageLedger::new();
            ledger.apply("hub/used", Some(charge("g0", "u0", gpus(used))));
            let limits = GroupQuotas { user: gpu_quota(user_quota), group: gpu_quota(group_quota) };
            let d = plan(&jobs, |_| Some(limits), &ledger);
            for group in groups {
                let mut order: Vec<usize> = (0..jobs.len()).filter(|&i| jobs[i].group == group).collect();
                order.sort_by(|&a, &b| queue_order(&jobs[a], &jobs[b]));
                let mut g_used = ledger.group(group);
                let mut u_used: HashMap<&str, ResourceAmounts> = HashMap::new();
                let mut stopped = false;
                for i in order {
                    let j = &jobs[i];
                    let uu = *u_used.entry(j.user).or_insert_with(|| ledger.user_in_group(group, j.user));
                    match d[i] {
                        Decision::Start => {
                            prop_assert!(!stopped);
                            prop_assert!(limits.user.admits(&j.request, &uu));
                            prop_assert!(limits.group.admits(&j.request, &g_used));
                            u_used.insert(j.user, uu.saturating_add(&j.request));
                            g_used = g_used.saturating_add(&j.request);
                        }
                        Decision::NeverFits => prop_assert!(!limits.could_ever_admit(&j.request)),
                        Decision::WaitUser(_) => prop_assert!(!stopped && !limits.user.admits(&j.request, &uu)),
                        Decision::WaitGroup(_) => {
                            prop_assert!(!stopped && !limits.group.admits(&j.request, &g_used));
                            stopped = true;
                        }
                        Decision::Queued => prop_assert!(stopped),
                        Decision::UnknownGroup => prop_assert!(false, "every group is known"),
                    }
                }
            }
        }
    }
}
