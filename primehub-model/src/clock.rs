//! The one clock every PrimeHub component reads time from.
//!
//! Everything that depends on the time — token expiry, the fake Keycloak's token lifetimes, the
//! fake cluster's `creationTimestamp` and `deletionTimestamp`, job names, cron schedules,
//! deadlines and TTLs — takes an `Arc<dyn Clock>` instead of calling the system clock. Production
//! code passes [`SystemClock`]; tests pass a [`ManualClock`] and move it forward explicitly, so
//! no test ever sleeps to make time pass.
//!
//! ```
//! use std::sync::Arc;
//! use primehub_model::clock::{Clock, ManualClock};
//!
//! let clock = Arc::new(ManualClock::at("2026-12-03T10:00:00Z".parse()?));
//! let shared: Arc<dyn Clock> = clock.clone();
//! assert_eq!(shared.now().to_string(), "2026-12-03T10:00:00Z");
//!
//! clock.advance(jiff::SignedDuration::from_secs(90));
//! assert_eq!(shared.now_unix(), 1_796_292_090);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::sync::Mutex;

use jiff::{SignedDuration, Timestamp};

/// A source of the current time. Object-safe: hold it as `Arc<dyn Clock>`.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant.
    fn now(&self) -> Timestamp;

    /// The current time in whole seconds since the Unix epoch.
    fn now_unix(&self) -> i64 {
        self.now().as_second()
    }

    /// The current time in milliseconds since the Unix epoch.
    fn now_unix_ms(&self) -> i64 {
        self.now().as_millisecond()
    }
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that stands still until it is set or advanced: for tests.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<Timestamp>,
}

impl ManualClock {
    /// A clock showing `now`.
    pub fn at(now: Timestamp) -> ManualClock {
        ManualClock {
            now: Mutex::new(now),
        }
    }

    /// A clock showing the system time at the moment of the call.
    pub fn starting_now() -> ManualClock {
        ManualClock::at(SystemClock.now())
    }

    /// Sets the time.
    pub fn set(&self, now: Timestamp) {
        *self.lock() = now;
    }

    /// Moves the time forward (or back, with a negative duration). A step that would leave the
    /// range of [`Timestamp`] saturates at its end.
    pub fn advance(&self, by: SignedDuration) {
        let mut now = self.lock();
        *now = now.saturating_add(by).unwrap_or(*now);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Timestamp> {
        // A poisoned lock still holds a valid timestamp.
        self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock::starting_now()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.lock()
    }
}

impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now(&self) -> Timestamp {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for Box<C> {
    fn now(&self) -> Timestamp {
        (**self).now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() -> Result<(), jiff::Error> {
        let start: Timestamp = "2026-01-01T00:00:00Z".parse()?;
        let clock = ManualClock::at(start);
        assert_eq!(clock.now(), start);
        clock.advance(SignedDuration::from_millis(1500));
        assert_eq!(clock.now_unix_ms(), start.as_millisecond() + 1500);
        assert_eq!(clock.now_unix(), start.as_second() + 1);
        clock.set(start);
        assert_eq!(clock.now(), start);
        clock.advance(SignedDuration::MAX);
        assert!(
            clock.now() > start,
            "advance saturates instead of panicking"
        );
        Ok(())
    }

    #[test]
    fn system_clock_is_close_to_now() {
        let before = Timestamp::now();
        let read = SystemClock.now();
        assert!(read >= before);
    }
}
