//! The loop's timing rules: a burst of events is one re-query once it is over (a quiet window,
//! capped from its first event), and retries back off while something keeps failing.

use std::time::{Duration, Instant};

/// After the last hint of a burst, wait this long for more…
pub const QUIET: Duration = Duration::from_millis(5);
/// …but never longer than this from the first hint.
pub const MAX_DELAY: Duration = Duration::from_millis(50);
/// The first retry interval while something fails (an interrupted dump, a failed action,
/// nl80211 not loaded); it doubles per failure up to `RETRY << MAX_DOUBLINGS`.
pub const RETRY: Duration = Duration::from_secs(1);
/// 1, 2, 4 … 64 s.
const MAX_DOUBLINGS: u32 = 6;

/// The burst window: from the first hint, until the hints pause for [`QUIET`] or [`MAX_DELAY`]
/// has passed since the first.
#[derive(Clone, Copy, Debug, Default)]
pub struct Burst {
    /// (first hint, last hint) of the burst in progress.
    open: Option<(Instant, Instant)>,
}

impl Burst {
    /// A hint arrived at `now`: opens a burst or extends the quiet window of the open one.
    pub fn hint(&mut self, now: Instant) {
        self.open = Some(self.open.map_or((now, now), |(first, _)| (first, now)));
    }

    /// Asks for a reconcile without extending an open burst (start, reload, a retry).
    pub fn request(&mut self, now: Instant) {
        self.open.get_or_insert((now, now));
    }

    /// When the open burst ends.
    pub fn deadline(&self) -> Option<Instant> {
        self.open.map(|(first, last)| (last + QUIET).min(first + MAX_DELAY))
    }

    /// Whether the open burst is over at `now`; closes it when it is.
    pub fn take_due(&mut self, now: Instant) -> bool {
        match self.deadline() {
            Some(d) if now >= d => {
                self.open = None;
                true
            }
            _ => false,
        }
    }
}

/// Retries with exponential back-off while reconciles keep failing.
#[derive(Clone, Copy, Debug, Default)]
pub struct Backoff {
    failures: u32,
    retry_at: Option<Instant>,
}

impl Backoff {
    /// A reconcile succeeded: the next failure starts again at [`RETRY`].
    pub fn succeeded(&mut self) {
        self.failures = 0;
    }

    /// A reconcile failed at `now`: schedules the retry, each one twice as far as the last.
    pub fn failed(&mut self, now: Instant) {
        self.retry_at = Some(now + RETRY * (1u32 << self.failures.min(MAX_DOUBLINGS)));
        self.failures = self.failures.saturating_add(1);
    }

    /// When the scheduled retry is due.
    pub fn deadline(&self) -> Option<Instant> {
        self.retry_at
    }

    /// Whether the retry is due at `now`; clears it when it is.
    pub fn take_due(&mut self, now: Instant) -> bool {
        match self.retry_at {
            Some(t) if now >= t => {
                self.retry_at = None;
                true
            }
            _ => false,
        }
    }
}

/// A poll timeout. `tv_nsec` is an i32 or an i64 depending on the target (32-bit MIPS and ARM
/// with musl: i32); nanoseconds below a second fit both.
pub fn timespec(d: Duration) -> rustix::event::Timespec {
    rustix::event::Timespec { tv_sec: d.as_secs().try_into().unwrap_or(i64::MAX), tv_nsec: d.subsec_nanos() as _ }
}

/// The earliest of some optional deadlines.
pub fn earliest(deadlines: impl IntoIterator<Item = Option<Instant>>) -> Option<Instant> {
    deadlines.into_iter().flatten().min()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_burst_ends_after_a_quiet_window() {
        let t0 = Instant::now();
        let mut b = Burst::default();
        assert_eq!(b.deadline(), None);
        b.hint(t0);
        assert_eq!(b.deadline(), Some(t0 + QUIET));
        assert!(!b.take_due(t0 + QUIET - MS));
        // another event 3 ms in: the quiet window restarts from it
        b.hint(t0 + 3 * MS);
        assert_eq!(b.deadline(), Some(t0 + 3 * MS + QUIET));
        assert!(!b.take_due(t0 + QUIET));
        assert!(b.take_due(t0 + 3 * MS + QUIET));
        // closed: nothing is due until the next hint
        assert_eq!(b.deadline(), None);
        assert!(!b.take_due(t0 + 100 * MS));
    }

    #[test]
    fn a_storm_is_cut_at_the_max_delay() {
        let t0 = Instant::now();
        let mut b = Burst::default();
        let mut t = t0;
        while t < t0 + 2 * MAX_DELAY {
            b.hint(t);
            if b.take_due(t) {
                break;
            }
            t += MS;
        }
        // an event every millisecond never leaves 5 ms of quiet: the cap ends the burst
        assert_eq!(t, t0 + MAX_DELAY);
    }

    #[test]
    fn a_request_does_not_extend_an_open_burst() {
        let t0 = Instant::now();
        let mut b = Burst::default();
        b.hint(t0);
        b.request(t0 + 4 * MS);
        assert_eq!(b.deadline(), Some(t0 + QUIET));
        let mut idle = Burst::default();
        idle.request(t0);
        assert!(idle.take_due(t0 + QUIET));
    }

    #[test]
    fn retries_back_off_to_64_s_and_reset_on_success() {
        let t0 = Instant::now();
        let mut r = Backoff::default();
        assert_eq!(r.deadline(), None);
        let mut waits = Vec::new();
        for _ in 0..9 {
            r.failed(t0);
            waits.push(r.deadline().unwrap() - t0);
        }
        let secs: Vec<u64> = waits.iter().map(Duration::as_secs).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 64, 64, 64]);
        assert!(!r.take_due(t0 + Duration::from_secs(63)));
        assert!(r.take_due(t0 + Duration::from_secs(64)));
        assert_eq!(r.deadline(), None);
        r.succeeded();
        r.failed(t0);
        assert_eq!(r.deadline(), Some(t0 + RETRY));
    }

    #[test]
    fn earliest_ignores_absent_deadlines() {
        let t0 = Instant::now();
        assert_eq!(earliest([None, None]), None);
        assert_eq!(earliest([None, Some(t0 + MS), Some(t0)]), Some(t0));
    }
}
