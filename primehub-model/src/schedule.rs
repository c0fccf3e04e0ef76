//! PrimeHub's recurring jobs (`PhSchedule`): cron expressions, the next run time in the system
//! time zone, the schedule's status, and the PhJob a run creates.
//!
//! PrimeHub's controller (InfuseAI/primehub-controller `ee/controllers/phschedule_controller.go`,
//! reference `primehub-controllers.md` §4.6) validates a `custom` expression with robfig/cron
//! v3's parser for five fields (minute, hour, day of month, month, day of week) and runs it as
//! `CRON_TZ=<system time zone> <expression>`. This module accepts exactly that grammar
//! ([`CronExpr::parse`]) and evaluates it with the maintained [`croner`] crate on `jiff` time
//! zones ([`CronExpr::next_after`]); the IANA database is bundled (`jiff`'s
//! `tzdb-bundle-always`), so the answer does not depend on the host.
//!
//! # The grammar (robfig/cron v3, five fields)
//!
//! Fields are separated by white space. Each field is a comma-separated list of `*` or `?`
//! (every value), `N`, `N-M`, each optionally followed by `/step`; `N/step` means `N-max/step`.
//! Months accept `jan`…`dec` and days of the week `sun`…`sat` (any case). Bounds: minute 0–59,
//! hour 0–23, day of month 1–31, month 1–12, day of week 0–6 (0 is Sunday; `7` is rejected, as
//! robfig rejects it). Day of month and day of week combine as in Vixie cron and robfig: when
//! either field is a star (`*` or `?`, with no step other than 1) both must match; otherwise
//! either may. Not accepted, as PrimeHub's validation does not accept them: descriptors
//! (`@daily`), six fields (seconds), `L`, `W`, `#`. Also rejected, where robfig would accept
//! them (deliberate): a `TZ=`/`CRON_TZ=` prefix (PrimeHub prepends its own and then fails to
//! register the schedule), `*-N` (robfig silently reads it as `*`), signed numbers (`+5`), and
//! expressions no date can satisfy (`0 0 30 2 *`; robfig parses them and never runs them).
//!
//! # Daylight saving time (a deliberate difference from PrimeHub)
//!
//! robfig/cron v3 walks the local clock by adding absolute hours, so (checked by running
//! robfig/cron v3.0.1): a **fixed-time** run whose local time is **skipped** by a spring-forward
//! change does not happen that day (a daily `30 2 * * *` in `America/New_York` has no run on
//! 2026-03-08), and one whose local time is **repeated** by a fall-back change runs **twice**
//! (`30 1 * * *` runs at 01:30 EDT and again at 01:30 EST on 2026-11-01). Here the rules of
//! Vixie cron and the Open Cron Pattern Specification apply, as `croner` implements them: a
//! fixed-time run in a gap runs at the first instant after the gap (03:00 EDT), and one in a
//! repeated hour runs once, at the first occurrence. Interval patterns (`0 * * * *`,
//! `*/15 * * * *`) behave as robfig's: times inside a gap do not exist, and a repeated hour is
//! run through twice.
//!
//! # Example
//!
//! ```
//! use primehub_model::schedule::{CronExpr, time_zone};
//!
//! let daily = CronExpr::parse("0 4 * * *")?;
//! let taipei = time_zone(Some("Asia/Taipei"))?;
//! let now: jiff::Timestamp = "2026-12-04T16:00:00Z".parse()?;
//! assert_eq!(daily.next_after(now, &taipei).map(|t| t.to_string()).as_deref(),
//!            Some("2026-12-04T20:00:00Z")); // 04:00 on the 5th in Taipei (UTC+8)
//!
//! let err = CronExpr::parse("0 4 * * 7").unwrap_err();
//! assert_eq!(err.to_string(),
//!            "invalid spec.recurrence.cron: day of week field \"7\": 7 is above the maximum 6");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use rand::SeedableRng;

use crate::attributes::SystemSettings;
use crate::crd::job::{LABEL_SCHEDULED_BY, PhJob, PhJobPhase};
use crate::crd::schedule::{PhSchedule, PhScheduleStatus, Recurrence, RecurrenceType};
use crate::error::{Error, Result};
use crate::names;

/// The field a cron expression is read from, named in every parse error.
pub const CRON_FIELD: &str = "spec.recurrence.cron";

/// The field the recurrence type is read from.
pub const TYPE_FIELD: &str = "spec.recurrence.type";

/// The status message of a schedule whose recurrence cannot be parsed (PrimeHub's text).
pub const RECURRENCE_INVALID_MESSAGE: &str = "phSchedule recurrence format invalid";

/// The status message of an inactive schedule (PrimeHub's text).
pub const INACTIVE_MESSAGE: &str = "This phSchedule is inactive";

/// The time zone schedules run in when the system sets none, or one the database does not know:
/// what PrimeHub's GraphQL `system.timezone` answers then.
pub const DEFAULT_TIME_ZONE: &str = "Etc/UTC";

/// The annotation `kubectl apply` keeps on the schedule; it describes the schedule, not the job,
/// so it is not copied onto the jobs a schedule creates.
pub const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// One of the five fields of a cron expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CronField {
    /// Minute, 0–59.
    Minute,
    /// Hour, 0–23.
    Hour,
    /// Day of month, 1–31.
    DayOfMonth,
    /// Month, 1–12 or `jan`…`dec`.
    Month,
    /// Day of week, 0–6 (Sunday is 0) or `sun`…`sat`.
    DayOfWeek,
}

impl CronField {
    /// The five fields in the order of an expression.
    pub const ALL: [CronField; 5] = [
        CronField::Minute,
        CronField::Hour,
        CronField::DayOfMonth,
        CronField::Month,
        CronField::DayOfWeek,
    ];

    /// The field's name in messages (`day of month`).
    pub fn name(self) -> &'static str {
        match self {
            CronField::Minute => "minute",
            CronField::Hour => "hour",
            CronField::DayOfMonth => "day of month",
            CronField::Month => "month",
            CronField::DayOfWeek => "day of week",
        }
    }

    /// The smallest and largest value.
    pub fn bounds(self) -> (u8, u8) {
        match self {
            CronField::Minute => (0, 59),
            CronField::Hour => (0, 23),
            CronField::DayOfMonth => (1, 31),
            CronField::Month => (1, 12),
            CronField::DayOfWeek => (0, 6),
        }
    }

    fn names(self) -> &'static [&'static str] {
        match self {
            CronField::Month => &[
                "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
            ],
            CronField::DayOfWeek => &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
            _ => &[],
        }
    }

    /// The value of a month or weekday name, if `text` is one.
    fn name_value(self, text: &str) -> Option<u8> {
        let lower = text.to_ascii_lowercase();
        let first = if self == CronField::Month { 1 } else { 0 };
        self.names()
            .iter()
            .position(|n| *n == lower)
            .and_then(|i| u8::try_from(i).ok())
            .map(|i| i + first)
    }
}

impl fmt::Display for CronField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The values one field allows, and whether it was written as a star (which decides how day of
/// month and day of week combine).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FieldSet {
    bits: u64,
    star: bool,
}

impl FieldSet {
    fn has(self, value: u8) -> bool {
        value < 64 && self.bits & (1u64 << value) != 0
    }

    fn values(self) -> impl Iterator<Item = u8> {
        (0u8..64).filter(move |v| self.has(*v))
    }
}

/// A parsed five-field cron expression (robfig/cron v3's grammar, see the [module docs](self)).
#[derive(Debug, Clone)]
pub struct CronExpr {
    text: String,
    fields: [FieldSet; 5],
    /// Boxed: croner's pattern is a few hundred bytes.
    cron: Box<croner::Cron>,
}

impl PartialEq for CronExpr {
    fn eq(&self, other: &Self) -> bool {
        self.fields == other.fields
    }
}

fn cron_error(rule: impl Into<String>) -> Error {
    Error::InvalidField {
        field: CRON_FIELD.to_owned(),
        rule: rule.into(),
    }
}

fn field_error(field: CronField, text: &str, rule: impl fmt::Display) -> Error {
    cron_error(format!("{field} field {text:?}: {rule}"))
}

/// A non-negative decimal number of at most a few digits, or a name of the field.
fn value(field: CronField, whole: &str, text: &str, allow_names: bool) -> Result<u8> {
    if allow_names && let Some(v) = field.name_value(text) {
        return Ok(v);
    }
    if text.is_empty() {
        return Err(field_error(field, whole, "a number is missing"));
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        let what = if field.names().is_empty() {
            "a number"
        } else {
            "a number or a name"
        };
        return Err(field_error(field, whole, format!("{text:?} is not {what}")));
    }
    let n: u32 = text
        .parse()
        .map_err(|_| field_error(field, whole, format!("{text} is too large")))?;
    u8::try_from(n).map_err(|_| field_error(field, whole, format!("{text} is too large")))
}

fn parse_part(field: CronField, whole: &str, part: &str) -> Result<FieldSet> {
    let (min, max) = field.bounds();
    let mut pieces = part.split('/');
    let range = pieces.next().unwrap_or_default();
    let step = pieces.next();
    if pieces.next().is_some() {
        return Err(field_error(field, whole, "more than one '/'"));
    }
    let (mut start, mut end, mut star) = if range == "*" || range == "?" {
        (min, max, true)
    } else {
        let mut bounds = range.split('-');
        let low = bounds.next().unwrap_or_default();
        let high = bounds.next();
        if bounds.next().is_some() {
            return Err(field_error(field, whole, "more than one '-'"));
        }
        if low == "*" || low == "?" {
            return Err(field_error(
                field,
                whole,
                "a range cannot start with a star",
            ));
        }
        let start = value(field, whole, low, true)?;
        let end = match high {
            Some(h) => value(field, whole, h, true)?,
            None => start,
        };
        (start, end, false)
    };
    let step = match step {
        None => 1,
        Some(s) => {
            let step = value(field, whole, s, false)?;
            if !star && !range.contains('-') {
                // `N/step` means `N-max/step`.
                end = max;
            }
            step
        }
    };
    if step == 0 {
        return Err(field_error(
            field,
            whole,
            "the step must be a positive number",
        ));
    }
    if step > 1 {
        star = false;
    }
    if start < min {
        return Err(field_error(
            field,
            whole,
            format!("{start} is below the minimum {min}"),
        ));
    }
    if end > max {
        return Err(field_error(
            field,
            whole,
            format!("{end} is above the maximum {max}"),
        ));
    }
    if start > end {
        return Err(field_error(
            field,
            whole,
            format!("the range starts at {start}, after its end {end}"),
        ));
    }
    let mut bits = 0u64;
    while start <= end {
        bits |= 1u64 << start;
        match start.checked_add(step) {
            Some(next) => start = next,
            None => break,
        }
    }
    Ok(FieldSet { bits, star })
}

fn parse_field(field: CronField, text: &str) -> Result<FieldSet> {
    let mut set = FieldSet {
        bits: 0,
        star: false,
    };
    for part in text.split(',') {
        let one = parse_part(field, text, part)?;
        set.bits |= one.bits;
        set.star |= one.star;
    }
    Ok(set)
}

/// The number of days a month can have (February: 29).
fn max_days(month: u8) -> u8 {
    match month {
        2 => 29,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl CronExpr {
    /// Parses a five-field expression with robfig/cron v3's grammar (see the
    /// [module docs](self)). Errors are [`Error::InvalidField`] for `spec.recurrence.cron`,
    /// naming the field of the expression and the rule it broke.
    pub fn parse(expression: &str) -> Result<CronExpr> {
        let text = expression.trim();
        if text.is_empty() {
            return Err(cron_error("the expression is empty"));
        }
        if text.starts_with("TZ=") || text.starts_with("CRON_TZ=") {
            return Err(cron_error(
                "a time zone prefix is not allowed: schedules run in the system time zone",
            ));
        }
        if text.starts_with('@') {
            return Err(cron_error(format!(
                "descriptors such as {:?} are not accepted; write five fields",
                text.split_whitespace().next().unwrap_or(text)
            )));
        }
        let parts: Vec<&str> = text.split_whitespace().collect();
        if parts.len() != 5 {
            return Err(cron_error(format!(
                "expected exactly 5 fields (minute hour day-of-month month day-of-week), found {}",
                parts.len()
            )));
        }
        let mut fields = [FieldSet {
            bits: 0,
            star: false,
        }; 5];
        for ((slot, field), part) in fields.iter_mut().zip(CronField::ALL).zip(&parts) {
            *slot = parse_field(field, part)?;
        }
        let [_, _, dom, month, dow] = fields;
        // With a star day of week, the day of month alone decides: some month must have it.
        if dow.star && !dom.star {
            let possible = month
                .values()
                .any(|m| dom.values().any(|d| d <= max_days(m)));
            if !possible {
                return Err(cron_error(format!(
                    "no date matches day of month {:?} in month {:?}",
                    parts[2], parts[3]
                )));
            }
        }
        let cron = croner::parser::CronParser::builder()
            .seconds(croner::parser::Seconds::Disallowed)
            .year(croner::parser::Year::Disallowed)
            .build()
            .parse(&canonical(&fields))
            .map_err(|e| cron_error(format!("cannot be evaluated: {e}")))?;
        Ok(CronExpr {
            text: parts.join(" "),
            fields,
            cron: Box::new(cron),
        })
    }

    /// The expression, its fields separated by single spaces.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the local date and time `at` (seconds ignored) is one the expression names.
    pub fn matches_civil(&self, at: jiff::civil::DateTime) -> bool {
        let [minute, hour, dom, month, dow] = self.fields;
        let small = |v: i8| u8::try_from(v).unwrap_or(u8::MAX);
        let day_ok = {
            let d = dom.has(small(at.day()));
            let w = dow.has(small(at.weekday().to_sunday_zero_offset()));
            if dom.star || dow.star { d && w } else { d || w }
        };
        minute.has(small(at.minute()))
            && hour.has(small(at.hour()))
            && month.has(small(at.month()))
            && day_ok
    }

    /// Whether every time of day is a single fixed minute (`30 2 * * *`), rather than an
    /// interval (`*/15 * * * *`, `0 * * * *`, `0 1,2 * * *`): the two behave differently at
    /// daylight-saving changes (module docs).
    pub fn is_fixed_time(&self) -> bool {
        matches!(self.cron.determine_job_type(), croner::JobType::FixedTime)
    }

    /// The first run time strictly after `after`, in time zone `tz`; `None` when there is none
    /// before the year 5000.
    pub fn next_after(&self, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let zoned = after.to_zoned(tz.clone());
        // croner steps from the next whole second; a run is always on a whole minute.
        self.cron
            .find_next_occurrence(&zoned, false)
            .ok()
            .map(|z| z.timestamp())
            .filter(|t| *t > after)
    }

    /// Whether `at` is a run time of the expression in `tz`: the first run after the second
    /// before it.
    pub fn is_run_time(&self, at: Timestamp, tz: &TimeZone) -> bool {
        at.subsec_nanosecond() == 0
            && at
                .checked_sub(SignedDuration::from_secs(1))
                .ok()
                .and_then(|before| self.next_after(before, tz))
                == Some(at)
    }
}

impl fmt::Display for CronExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The fields as croner reads them with robfig's meaning: a star as `*`, every other field as
/// the explicit list of its values (so steps, names and `N/step` mean what robfig says).
fn canonical(fields: &[FieldSet; 5]) -> String {
    fields
        .iter()
        .map(|f| {
            if f.star {
                "*".to_owned()
            } else {
                f.values()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The IANA time zone `name` (`None` or empty: [`DEFAULT_TIME_ZONE`]). An unknown name is an
/// [`Error::InvalidField`] for `timezone`.
pub fn time_zone(name: Option<&str>) -> Result<TimeZone> {
    let name = name.map(str::trim).filter(|n| !n.is_empty());
    let name = name.unwrap_or(DEFAULT_TIME_ZONE);
    TimeZone::get(name).map_err(|e| Error::InvalidField {
        field: "timezone".to_owned(),
        rule: format!("unknown time zone {name:?}: {e}"),
    })
}

/// The time zone schedules run in: the system setting (Keycloak's `everyone` group attribute
/// `timezone`), or [`DEFAULT_TIME_ZONE`] when it is unset or unknown — as PrimeHub's GraphQL
/// `system.timezone` answers.
pub fn system_time_zone(settings: &SystemSettings) -> TimeZone {
    time_zone(settings.timezone_name.as_deref()).unwrap_or(TimeZone::UTC)
}

/// What a schedule's recurrence asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// `inactive`: never runs.
    Inactive,
    /// The recurrence cannot run: the type is unknown, or the expression does not parse.
    Invalid(Error),
    /// Runs on this expression.
    Active(CronExpr),
}

/// What `recurrence` asks for: `daily`, `weekly` and `monthly` run on their fixed expressions,
/// `custom` on `cron` (an empty or missing one is invalid), an unknown type is invalid.
pub fn plan(recurrence: &Recurrence) -> Plan {
    match recurrence.type_.canonical() {
        RecurrenceType::Inactive => Plan::Inactive,
        RecurrenceType::Custom => {
            match CronExpr::parse(recurrence.cron.as_deref().unwrap_or_default()) {
                Ok(expr) => Plan::Active(expr),
                Err(e) => Plan::Invalid(e),
            }
        }
        RecurrenceType::Other(other) => Plan::Invalid(Error::InvalidField {
            field: TYPE_FIELD.to_owned(),
            rule: format!(
                "unknown recurrence type {other:?}; expected inactive, daily, weekly, monthly or custom"
            ),
        }),
        fixed => match fixed.fixed_cron().map(CronExpr::parse) {
            Some(Ok(expr)) => Plan::Active(expr),
            Some(Err(e)) => Plan::Invalid(e),
            None => Plan::Invalid(Error::InvalidField {
                field: TYPE_FIELD.to_owned(),
                rule: format!("recurrence type {:?} has no expression", fixed.as_str()),
            }),
        },
    }
}

/// The status of an inactive schedule: valid, no next run, [`INACTIVE_MESSAGE`].
pub fn inactive_status() -> PhScheduleStatus {
    PhScheduleStatus {
        invalid: false,
        next_run_time: None,
        message: Some(INACTIVE_MESSAGE.to_owned()),
    }
}

/// The status of an invalid schedule: no next run, `message`.
pub fn invalid_status(message: impl Into<String>) -> PhScheduleStatus {
    PhScheduleStatus {
        invalid: true,
        next_run_time: None,
        message: Some(message.into()),
    }
}

/// The status of a schedule whose recurrence does not parse: [`RECURRENCE_INVALID_MESSAGE`].
pub fn recurrence_invalid_status() -> PhScheduleStatus {
    invalid_status(RECURRENCE_INVALID_MESSAGE)
}

/// The status of a valid, active schedule: its next run, no message. (PrimeHub leaves an older
/// message, such as [`INACTIVE_MESSAGE`], in place; a valid schedule here has none.)
pub fn active_status(next_run: Timestamp) -> PhScheduleStatus {
    PhScheduleStatus {
        invalid: false,
        next_run_time: Some(Time(next_run)),
        message: None,
    }
}

/// Whether a run is due, for a schedule whose status says its next run is `next_run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Nothing is due (no next run recorded, it is in the future, or it is not a run time of
    /// the current expression and zone: the spec or the zone changed).
    No,
    /// The run at this time is due now.
    Run(Timestamp),
    /// The run at this time was missed by more than the starting deadline: skip it.
    Missed(Timestamp),
}

/// Whether the run recorded in the status (`next_run`) is due at `now`: it is, when it is not
/// in the future and is still a run time of `expr` in `tz`. A run later than `now` by more than
/// `starting_deadline` (the controller was down) is [`Due::Missed`]: PrimeHub loses every run
/// missed while its controller is down; here a run missed by at most the deadline is made up,
/// once.
pub fn due(
    expr: &CronExpr,
    tz: &TimeZone,
    next_run: Option<Timestamp>,
    now: Timestamp,
    starting_deadline: SignedDuration,
) -> Due {
    match next_run {
        Some(t) if t <= now && expr.is_run_time(t, tz) => {
            if now.duration_since(t) <= starting_deadline {
                Due::Run(t)
            } else {
                Due::Missed(t)
            }
        }
        _ => Due::No,
    }
}

/// Whether a job in `phase` keeps the next scheduled run from starting (no overlap): `Pending`,
/// `Preparing` or `Running`. A job without a status yet counts as `Pending` (PrimeHub compares
/// the empty phase with `Pending` and would start a second job next to it).
pub fn blocks_next_run(job: &PhJob) -> bool {
    matches!(
        job.phase().canonical(),
        PhJobPhase::Pending | PhJobPhase::Preparing | PhJobPhase::Running
    )
}

/// The schedule's annotations as the job carries them (all but
/// [`LAST_APPLIED_ANNOTATION`]).
fn job_annotations(schedule: &PhSchedule) -> Option<BTreeMap<String, String>> {
    let mut annotations = schedule.metadata.annotations.clone()?;
    annotations.remove(LAST_APPLIED_ANNOTATION);
    (!annotations.is_empty()).then_some(annotations)
}

fn job_from(schedule: &PhSchedule, name: String) -> Result<PhJob> {
    let schedule_name = schedule
        .metadata
        .name
        .clone()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| Error::InvalidField {
            field: "metadata.name".to_owned(),
            rule: "the PhSchedule has no name".to_owned(),
        })?;
    let spec = schedule.spec.job_template.spec.clone();
    let mut labels = names::primehub_labels(
        spec.user_name.as_deref().unwrap_or_default(),
        &spec.group_name,
    );
    labels.insert(LABEL_SCHEDULED_BY.to_owned(), schedule_name);
    Ok(PhJob {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: schedule.metadata.namespace.clone(),
            annotations: job_annotations(schedule),
            labels: Some(labels),
            ..ObjectMeta::default()
        },
        spec,
        status: None,
    })
}

/// A 64-bit FNV-1a hash: stable across versions and platforms.
fn fnv1a(bytes: impl IntoIterator<Item = u8>) -> u64 {
    bytes.into_iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The PhJob the scheduled run at `run_time` creates (PrimeHub's `buildPhJob`): named
/// `job-<run_time as UTC yyyyMMddHHmm>-<6 chars of [0-9a-z]>` in the schedule's namespace, with
/// the schedule's annotations, the labels `phjob.primehub.io/scheduledBy=<schedule>`,
/// `primehub.io/group` and `primehub.io/user` (escaped), and `jobTemplate.spec` as its spec.
///
/// The six characters are drawn from a generator seeded with the schedule's uid and
/// `run_time`, so the name of a run is the same however often it is computed: a controller
/// that created the job but could not record it retries with the same name and gets
/// `AlreadyExists` instead of a second job. (PrimeHub names the job after the time it is
/// created, with fresh random characters; a run on time is created within its minute.)
/// Errors when the schedule has no name.
pub fn scheduled_job(schedule: &PhSchedule, run_time: Timestamp) -> Result<PhJob> {
    let uid = schedule.metadata.uid.as_deref().unwrap_or_default();
    let seed = fnv1a(
        uid.bytes()
            .chain(
                schedule
                    .metadata
                    .name
                    .as_deref()
                    .unwrap_or_default()
                    .bytes(),
            )
            .chain(run_time.as_second().to_le_bytes()),
    );
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    job_from(schedule, names::job_name(run_time, &mut rng))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::job::PhJobSpec;
    use crate::crd::schedule::{PhJobTemplate, PhScheduleSpec};

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("a timestamp")
    }

    fn tz(name: &str) -> TimeZone {
        time_zone(Some(name)).expect("a known zone")
    }

    fn next(expr: &str, zone: &str, after: &str) -> String {
        CronExpr::parse(expr)
            .expect("parses")
            .next_after(ts(after), &tz(zone))
            .map(|t| t.to_string())
            .unwrap_or_default()
    }

    fn runs(expr: &str, zone: &str, after: &str, n: usize) -> Vec<String> {
        let expr = CronExpr::parse(expr).expect("parses");
        let zone = tz(zone);
        let mut t = ts(after);
        let mut out = Vec::new();
        for _ in 0..n {
            let Some(n) = expr.next_after(t, &zone) else {
                break;
            };
            out.push(n.to_string());
            t = n;
        }
        out
    }

    #[test]
    fn fixed_types_expand_as_primehub() {
        for (ty, text) in [
            ("daily", "0 4 * * *"),
            ("weekly", "0 4 * * 0"),
            ("monthly", "0 4 1 * *"),
        ] {
            let r = Recurrence {
                type_: RecurrenceType::from(ty),
                cron: Some("garbage".into()),
            };
            match plan(&r) {
                Plan::Active(e) => assert_eq!(e.as_str(), text),
                other => panic!("{ty}: {other:?}"),
            }
        }
        let inactive = Recurrence {
            type_: RecurrenceType::Inactive,
            cron: None,
        };
        assert_eq!(plan(&inactive), Plan::Inactive);
        let empty = Recurrence {
            type_: RecurrenceType::Custom,
            cron: None,
        };
        assert!(
            matches!(plan(&empty), Plan::Invalid(Error::InvalidField { field, .. }) if field == CRON_FIELD)
        );
        let unknown = Recurrence {
            type_: RecurrenceType::from("yearly"),
            cron: None,
        };
        assert!(
            matches!(plan(&unknown), Plan::Invalid(Error::InvalidField { field, .. }) if field == TYPE_FIELD)
        );
    }

    #[test]
    fn parse_errors_name_the_field_and_the_rule() {
        let cases = [
            ("", "the expression is empty"),
            ("0 4 * *", "expected exactly 5 fields"),
            ("0 4 * * * *", "expected exactly 5 fields"),
            ("@daily", "descriptors"),
            ("CRON_TZ=UTC 0 4 * * *", "time zone prefix"),
            (
                "60 4 * * *",
                "minute field \"60\": 60 is above the maximum 59",
            ),
            (
                "0 24 * * *",
                "hour field \"24\": 24 is above the maximum 23",
            ),
            (
                "0 4 0 * *",
                "day of month field \"0\": 0 is below the minimum 1",
            ),
            (
                "0 4 * 13 *",
                "month field \"13\": 13 is above the maximum 12",
            ),
            (
                "0 4 * * 7",
                "day of week field \"7\": 7 is above the maximum 6",
            ),
            ("*/0 * * * *", "the step must be a positive number"),
            ("5-1 * * * *", "the range starts at 5, after its end 1"),
            ("0 4 * * 1-", "a number is missing"),
            ("0 4 L * *", "\"L\" is not a number"),
            ("0 4 * * MON#2", "is not a number or a name"),
            ("+5 * * * *", "is not a number"),
            ("*-5 * * * *", "cannot start with a star"),
            ("1/2/3 * * * *", "more than one '/'"),
            ("1-2-3 * * * *", "more than one '-'"),
            ("0 0 30 2 *", "no date matches"),
            ("0 0 31 4,6 *", "no date matches"),
            ("99999999999 * * * *", "too large"),
        ];
        for (expr, rule) in cases {
            let err = CronExpr::parse(expr).expect_err(expr);
            let Error::InvalidField { field, rule: got } = &err else {
                panic!("{expr}: {err:?}");
            };
            assert_eq!(field, CRON_FIELD, "{expr}");
            assert!(got.contains(rule), "{expr}: {got}");
        }
    }

    #[test]
    fn robfig_grammar_is_accepted() {
        for expr in [
            "0 4 * * *",
            "*/15 * * * *",
            "5/15 * * * *",
            "0 4 ? * *",
            "0 4 * * SUN",
            "0 4 * JAN-mar mon-FRI",
            "0 0-23/2 1,15 * *",
            "  0   4 *\t* *  ",
            "0 0 29 2 *",
        ] {
            let parsed = CronExpr::parse(expr);
            assert!(parsed.is_ok(), "{expr}: {parsed:?}");
        }
        assert_eq!(
            CronExpr::parse("  0   4 *\t* *  ").map(|e| e.to_string()),
            Ok("0 4 * * *".to_owned())
        );
    }

    #[test]
    fn steps_names_and_day_combination_mean_what_robfig_says() {
        // N/step is N-max/step.
        assert_eq!(
            runs("5/15 * * * *", "UTC", "2026-01-01T00:00:00Z", 4),
            [
                "2026-01-01T00:05:00Z",
                "2026-01-01T00:20:00Z",
                "2026-01-01T00:35:00Z",
                "2026-01-01T00:50:00Z"
            ]
        );
        // */2 in day of month is not a star: day of month OR day of week (robfig v3.0.1 answers
        // the 1st, the 3rd, the 5th for 2026-01: 1 and 3 odd days, 5 a Monday and odd).
        assert_eq!(
            runs("0 4 */2 * MON", "UTC", "2026-01-01T00:00:00Z", 3),
            [
                "2026-01-01T04:00:00Z",
                "2026-01-03T04:00:00Z",
                "2026-01-05T04:00:00Z"
            ]
        );
        // A star day of month: the day of week alone decides.
        assert_eq!(
            runs("0 4 * * SUN", "UTC", "2026-01-01T00:00:00Z", 2),
            ["2026-01-04T04:00:00Z", "2026-01-11T04:00:00Z"]
        );
        // 0-6 is not a star: 1st OR any weekday = every day.
        assert_eq!(
            runs("0 4 1 * 0-6", "UTC", "2026-01-01T00:00:00Z", 2),
            ["2026-01-01T04:00:00Z", "2026-01-02T04:00:00Z"]
        );
        // Leap day.
        assert_eq!(
            next("0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z"),
            "2028-02-29T00:00:00Z"
        );
    }

    #[test]
    fn daily_in_taipei_has_no_dst() {
        assert_eq!(
            runs("0 4 * * *", "Asia/Taipei", "2026-12-04T16:00:00Z", 3),
            [
                "2026-12-04T20:00:00Z",
                "2026-12-05T20:00:00Z",
                "2026-12-06T20:00:00Z"
            ]
        );
    }

    #[test]
    fn new_york_spring_forward_runs_a_skipped_time_after_the_gap() {
        // 2026-03-08 02:00 EST -> 03:00 EDT. robfig skips the 8th (next: 03-09 06:30Z); we run
        // at 03:00 EDT (07:00Z), the first instant after the gap.
        assert_eq!(
            runs("30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z", 3),
            [
                "2026-03-08T07:00:00Z",
                "2026-03-09T06:30:00Z",
                "2026-03-10T06:30:00Z"
            ]
        );
        // The daily 04:00 moves from UTC-5 to UTC-4.
        assert_eq!(
            runs("0 4 * * *", "America/New_York", "2026-03-07T00:00:00Z", 2),
            ["2026-03-07T09:00:00Z", "2026-03-08T08:00:00Z"]
        );
        // Hourly: 01:00 EST, then 03:00 EDT (02:00 does not exist), as robfig.
        assert_eq!(
            runs("0 * * * *", "America/New_York", "2026-03-08T05:30:00Z", 3),
            [
                "2026-03-08T06:00:00Z",
                "2026-03-08T07:00:00Z",
                "2026-03-08T08:00:00Z"
            ]
        );
    }

    #[test]
    fn new_york_fall_back_runs_a_repeated_time_once() {
        // 2026-11-01 02:00 EDT -> 01:00 EST. robfig runs 01:30 twice (05:30Z and 06:30Z).
        assert_eq!(
            runs("30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z", 3),
            [
                "2026-11-01T05:30:00Z",
                "2026-11-02T06:30:00Z",
                "2026-11-03T06:30:00Z"
            ]
        );
        // Asked from between the two 01:30s (after the first run): the next day.
        assert_eq!(
            next("30 1 * * *", "America/New_York", "2026-11-01T05:30:10Z"),
            "2026-11-02T06:30:00Z"
        );
        // A daily 02:30 is after the change: once, at EST.
        assert_eq!(
            runs("30 2 * * *", "America/New_York", "2026-10-31T12:00:00Z", 2),
            ["2026-11-01T07:30:00Z", "2026-11-02T07:30:00Z"]
        );
        // Hourly runs through the repeated hour twice, as robfig.
        assert_eq!(
            runs("0 * * * *", "America/New_York", "2026-11-01T04:30:00Z", 3),
            [
                "2026-11-01T05:00:00Z",
                "2026-11-01T06:00:00Z",
                "2026-11-01T07:00:00Z"
            ]
        );
    }

    #[test]
    fn london_changes_at_one() {
        // 2026-03-29 01:00 GMT -> 02:00 BST: 01:30 is skipped, run at 02:00 BST (01:00Z).
        assert_eq!(
            runs("30 1 * * *", "Europe/London", "2026-03-28T12:00:00Z", 2),
            ["2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"]
        );
        // 2026-10-25 02:00 BST -> 01:00 GMT: 01:30 once, at BST (00:30Z).
        assert_eq!(
            runs("30 1 * * *", "Europe/London", "2026-10-24T12:00:00Z", 2),
            ["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"]
        );
        // A midnight job on the spring-forward day runs at midnight only.
        assert_eq!(
            runs("0 0 * * *", "Europe/London", "2026-03-28T12:00:00Z", 2),
            ["2026-03-29T00:00:00Z", "2026-03-29T23:00:00Z"]
        );
    }

    #[test]
    fn run_times_and_due_runs() {
        let expr = CronExpr::parse("0 4 * * *").expect("parses");
        let utc = TimeZone::UTC;
        let run = ts("2026-12-05T04:00:00Z");
        assert!(expr.is_run_time(run, &utc));
        assert!(!expr.is_run_time(ts("2026-12-05T04:00:01Z"), &utc));
        assert!(!expr.is_run_time(run, &tz("Asia/Taipei")));
        let hour = SignedDuration::from_hours(1);
        assert_eq!(due(&expr, &utc, None, run, hour), Due::No);
        assert_eq!(
            due(&expr, &utc, Some(run), ts("2026-12-05T03:59:59Z"), hour),
            Due::No
        );
        assert_eq!(due(&expr, &utc, Some(run), run, hour), Due::Run(run));
        assert_eq!(
            due(&expr, &utc, Some(run), ts("2026-12-05T05:00:00Z"), hour),
            Due::Run(run)
        );
        assert_eq!(
            due(&expr, &utc, Some(run), ts("2026-12-05T05:00:01Z"), hour),
            Due::Missed(run)
        );
        // The spec changed: the recorded time is no longer a run time.
        let hourly = CronExpr::parse("30 * * * *").expect("parses");
        assert_eq!(due(&hourly, &utc, Some(run), run, hour), Due::No);
        // The run after a gap is a run time too.
        let gap = CronExpr::parse("30 2 * * *").expect("parses");
        assert!(gap.is_run_time(ts("2026-03-08T07:00:00Z"), &tz("America/New_York")));
    }

    #[test]
    fn time_zones() {
        assert_eq!(
            time_zone(None).map(|z| z.iana_name().map(str::to_owned)),
            Ok(Some("Etc/UTC".to_owned()))
        );
        assert!(time_zone(Some("Mars/Olympus")).is_err());
        let settings = SystemSettings {
            timezone_name: Some("Mars/Olympus".into()),
            ..SystemSettings::default()
        };
        assert_eq!(system_time_zone(&settings), TimeZone::UTC);
        let settings = SystemSettings {
            timezone_name: Some("Asia/Taipei".into()),
            ..SystemSettings::default()
        };
        assert_eq!(system_time_zone(&settings).iana_name(), Some("Asia/Taipei"));
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        const ZONES: &[&str] = &[
            "UTC",
            "America/New_York",
            "Europe/London",
            "Asia/Taipei",
            "Australia/Lord_Howe",
            "America/Sao_Paulo",
            "Pacific/Chatham",
            "Asia/Kolkata",
        ];

        fn part(min: u8, max: u8) -> BoxedStrategy<String> {
            prop_oneof![
                Just("*".to_owned()),
                Just("?".to_owned()),
                (min..=max).prop_map(|n| n.to_string()),
                (min..=max, min..=max).prop_map(|(a, b)| format!("{}-{}", a.min(b), a.max(b))),
                (1u8..=max.max(1)).prop_map(|s| format!("*/{s}")),
                (min..=max, 1u8..=max.max(1)).prop_map(|(a, s)| format!("{a}/{s}")),
                (min..=max, min..=max, 1u8..=max.max(1)).prop_map(|(a, b, s)| format!(
                    "{}-{}/{s}",
                    a.min(b),
                    a.max(b)
                )),
            ]
            .boxed()
        }

        fn field(min: u8, max: u8) -> impl Strategy<Value = String> {
            prop::collection::vec(part(min, max), 1..=3).prop_map(|p| p.join(","))
        }

        fn expression() -> impl Strategy<Value = String> {
            (
                field(0, 59),
                field(0, 23),
                field(1, 31),
                prop_oneof![field(1, 12), Just("jan-mar,Oct".to_owned())],
                prop_oneof![field(0, 6), Just("MON-fri".to_owned())],
            )
                .prop_map(|(a, b, c, d, e)| format!("{a} {b} {c} {d} {e}"))
        }

        /// Whether `t` is the first instant after a forward change whose skipped wall-clock
        /// minutes include one that `expr` names (a fixed-time run moved past a gap).
        fn after_a_skipped_match(expr: &CronExpr, t: Timestamp, zone: &TimeZone) -> bool {
            let Ok(before) = t.checked_sub(SignedDuration::from_secs(1)) else {
                return false;
            };
            let wall_before = zone.to_datetime(before);
            let wall_after = zone.to_datetime(t);
            let Ok(mut m) = wall_before.checked_add(SignedDuration::from_secs(1)) else {
                return false;
            };
            while m < wall_after {
                if expr.matches_civil(m) {
                    return true;
                }
                let Ok(next) = m.checked_add(SignedDuration::from_mins(1)) else {
                    return false;
                };
                m = next;
            }
            false
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn parsing_never_panics(text in "\\PC{0,40}") {
                let _ = CronExpr::parse(&text);
            }

            #[test]
            fn parsing_cron_like_text_never_panics(text in "[0-9*?/,\\- a-zA-Z@#=]{0,30}") {
                if let Ok(expr) = CronExpr::parse(&text) {
                    let _ = expr.next_after(Timestamp::UNIX_EPOCH, &TimeZone::UTC);
                }
            }

            #[test]
            fn the_next_run_is_after_the_instant_and_matches(
                text in expression(),
                secs in 946_684_800i64..4_102_444_800i64,
                zone in prop::sample::select(ZONES),
            ) {
                let expr = match CronExpr::parse(&text) {
                    Ok(expr) => expr,
                    Err(e) => {
                        // Only unsatisfiable day/month combinations are refused.
                        prop_assert!(e.to_string().contains("no date matches"), "{text}: {e}");
                        return Ok(());
                    }
                };
                let zone = time_zone(Some(zone)).map_err(|e| TestCaseError::fail(e.to_string()))?;
                let instant = Timestamp::from_second(secs).map_err(|e| TestCaseError::fail(e.to_string()))?;
                let next = expr.next_after(instant, &zone);
                let Some(t) = next else {
                    return Err(TestCaseError::fail(format!("{text}: no run after {instant}")));
                };
                prop_assert!(t > instant);
                prop_assert_eq!(t.as_second() % 60, 0, "on a whole minute");
                let wall = zone.to_datetime(t);
                prop_assert!(
                    expr.matches_civil(wall) || after_a_skipped_match(&expr, t, &zone),
                    "{text} in {}: {t} ({wall}) does not match", zone.iana_name().unwrap_or("?")
                );
                prop_assert!(expr.is_run_time(t, &zone));
                // No run is left out in between (checked when the gap is short): every minute
                // before `t` that the expression names is the second of a repeated wall time
                // of a fixed-time expression (run once, at the first).
                if t.duration_since(instant) <= SignedDuration::from_hours(48) {
                    let mut u = Timestamp::from_second(secs - secs.rem_euclid(60) + 60)
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                    while u < t {
                        let wall = zone.to_datetime(u);
                        if expr.matches_civil(wall) {
                            let ambiguous = zone.to_ambiguous_timestamp(wall);
                            let second = ambiguous.is_ambiguous()
                                && ambiguous.later().ok() == Some(u);
                            prop_assert!(
                                second && expr.is_fixed_time(),
                                "{text}: {u} ({wall}) matches but the next run is {t}"
                            );
                        }
                        u = u.checked_add(SignedDuration::from_mins(1))
                            .map_err(|e| TestCaseError::fail(e.to_string()))?;
                    }
                }
            }
        }
    }

    fn schedule() -> PhSchedule {
        let mut s = PhSchedule::new(
            "nightly",
            PhScheduleSpec {
                recurrence: Recurrence {
                    type_: RecurrenceType::Daily,
                    cron: None,
                },
                job_template: PhJobTemplate {
                    metadata: None,
                    spec: PhJobSpec {
                        display_name: "train".into(),
                        user_id: "u-1".into(),
                        user_name: Some("Alice.Chen".into()),
                        group_id: "g-1".into(),
                        group_name: "Team_A".into(),
                        instance_type: "cpu-1".into(),
                        image: "base-notebook".into(),
                        command: "python train.py".into(),
                        ..PhJobSpec::default()
                    },
                },
            },
        );
        s.metadata.namespace = Some("hub".into());
        s.metadata.uid = Some("uid-1".into());
        s.metadata.annotations = Some(BTreeMap::from([
            ("owner".to_owned(), "ml-team".to_owned()),
            (LAST_APPLIED_ANNOTATION.to_owned(), "{}".to_owned()),
        ]));
        s
    }

    #[test]
    fn a_scheduled_job_is_built_as_primehub_builds_it() -> Result<()> {
        let s = schedule();
        let run = ts("2026-12-05T04:00:00Z");
        let job = scheduled_job(&s, run)?;
        let name = job.metadata.name.clone().unwrap_or_default();
        assert!(name.starts_with("job-202612050400-"), "{name}");
        assert_eq!(name.len(), "job-202612050400-abcdef".len());
        assert_eq!(scheduled_job(&s, run)?.metadata.name, Some(name.clone()));
        let other = scheduled_job(&s, ts("2026-12-06T04:00:00Z"))?;
        assert_ne!(other.metadata.name, Some(name));
        assert_eq!(job.metadata.namespace.as_deref(), Some("hub"));
        let labels = job.metadata.labels.clone().unwrap_or_default();
        assert_eq!(labels[LABEL_SCHEDULED_BY], "nightly");
        assert_eq!(labels[names::LABEL_GROUP], names::escape_label("Team_A"));
        assert_eq!(labels[names::LABEL_USER], names::escape_label("Alice.Chen"));
        assert_eq!(
            job.metadata.annotations,
            Some(BTreeMap::from([("owner".to_owned(), "ml-team".to_owned())]))
        );
        assert_eq!(job.spec, s.spec.job_template.spec);
        assert!(job.status.is_none());

        let mut nameless = s;
        nameless.metadata.name = None;
        assert!(scheduled_job(&nameless, run).is_err());
        Ok(())
    }

    #[test]
    fn statuses_and_overlap() {
        assert_eq!(inactive_status().message.as_deref(), Some(INACTIVE_MESSAGE));
        assert!(!inactive_status().invalid);
        let bad = recurrence_invalid_status();
        assert!(bad.invalid && bad.next_run_time.is_none());
        assert_eq!(bad.message.as_deref(), Some(RECURRENCE_INVALID_MESSAGE));
        let ok = active_status(ts("2026-12-05T04:00:00Z"));
        assert!(!ok.invalid && ok.message.is_none());

        let mut job = PhJob::new("j", PhJobSpec::default());
        assert!(blocks_next_run(&job), "no status yet counts as Pending");
        for (phase, blocks) in [
            (PhJobPhase::Pending, true),
            (PhJobPhase::Preparing, true),
            (PhJobPhase::Running, true),
            (PhJobPhase::Succeeded, false),
            (PhJobPhase::Failed, false),
            (PhJobPhase::Cancelled, false),
            (PhJobPhase::Unknown, false),
        ] {
            job.status = Some(crate::crd::job::PhJobStatus {
                phase: Some(phase.clone()),
                ..Default::default()
            });
            assert_eq!(blocks_next_run(&job), blocks, "{phase:?}");
        }
    }
}
