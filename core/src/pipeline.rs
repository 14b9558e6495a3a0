//! The event pipeline shared by the agent and a firmware: the netlink reader pushes [`Hint`]s
//! into a bounded `embassy-sync` channel; the reconciler drains them into a [`DirtySet`] (a
//! burst of hints for one interface collapses into one re-query: latest wins). A full channel
//! or a full set turns into a resync request, a latest-wins `Signal`, never a lost update.

use embassy_sync::blocking_mutex::raw::RawMutex;
use embassy_sync::channel::Channel;
use embassy_sync::signal::Signal;

use crate::limits::MAX_IFACES;

/// Something changed; what the kernel says now must be asked again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Hint {
    /// This netdev changed (an nl80211 event or a link event).
    Interface(u32),
    /// Everything may have changed (ENOBUFS, a new radio, a reload).
    Resync,
}

/// Bounded hint queue plus a resync signal.
pub struct Pipeline<M: RawMutex, const N: usize> {
    hints: Channel<M, Hint, N>,
    resync: Signal<M, ()>,
}

impl<M: RawMutex, const N: usize> Default for Pipeline<M, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<M: RawMutex, const N: usize> Pipeline<M, N> {
    /// An empty pipeline.
    pub const fn new() -> Self {
        Pipeline { hints: Channel::new(), resync: Signal::new() }
    }

    /// Queues a hint; when the queue is full the hint becomes a resync. Returns false then.
    pub fn push(&self, hint: Hint) -> bool {
        let ok = match hint {
            Hint::Resync => false,
            h => self.hints.try_send(h).is_ok(),
        };
        if !ok {
            self.resync.signal(());
        }
        ok || hint == Hint::Resync
    }

    /// Moves every queued hint into `dirty`. Returns true when a full resync is due instead.
    pub fn drain(&self, dirty: &mut DirtySet) -> bool {
        while let Ok(h) = self.hints.try_receive() {
            if let Hint::Interface(i) = h {
                dirty.insert(i);
            }
        }
        let resync = self.resync.try_take().is_some() || dirty.overflowed;
        if resync {
            dirty.clear();
        }
        resync
    }

    /// The channel, for an async consumer (firmware) that awaits hints.
    pub fn hints(&self) -> &Channel<M, Hint, N> {
        &self.hints
    }

    /// The resync signal, for an async consumer.
    pub fn resync_signal(&self) -> &Signal<M, ()> {
        &self.resync
    }
}

#[cfg(feature = "defmt")]
impl<M: RawMutex, const N: usize> defmt::Format for Pipeline<M, N> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "Pipeline {{ queued: {}, capacity: {} }}", self.hints.len(), N)
    }
}

/// The set of interfaces to re-query, each once.
#[derive(Clone, Debug, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DirtySet {
    ids: heapless::Vec<u32, MAX_IFACES>,
    overflowed: bool,
}

impl DirtySet {
    /// Adds `ifindex` (once). More than [`MAX_IFACES`] distinct ids mark the set overflowed.
    pub fn insert(&mut self, ifindex: u32) {
        if !self.ids.contains(&ifindex) && self.ids.push(ifindex).is_err() {
            self.overflowed = true;
        }
    }

    /// The interfaces to re-query.
    pub fn ids(&self) -> &[u32] {
        &self.ids
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty() && !self.overflowed
    }

    /// Empties the set.
    pub fn clear(&mut self) {
        self.ids.clear();
        self.overflowed = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embassy_sync::blocking_mutex::raw::NoopRawMutex;

    #[test]
    fn bursts_collapse_and_overflow_turns_into_resync() {
        let p: Pipeline<NoopRawMutex, 4> = Pipeline::new();
        let mut d = DirtySet::default();
        assert!(p.push(Hint::Interface(2)) && p.push(Hint::Interface(2)) && p.push(Hint::Interface(6)));
        assert!(!p.drain(&mut d));
        assert_eq!(d.ids(), [2, 6]);
        d.clear();
        for _ in 0..4 {
            assert!(p.push(Hint::Interface(3)));
        }
        assert!(!p.push(Hint::Interface(4)), "a full queue must report the lost hint");
        assert!(p.drain(&mut d), "and turn it into a resync");
        assert!(d.is_empty());
        assert!(!p.drain(&mut d));
        assert!(p.push(Hint::Resync));
        assert!(p.drain(&mut d));
    }

    #[test]
    fn dirty_set_overflow_requests_resync() {
        let p: Pipeline<NoopRawMutex, 64> = Pipeline::new();
        let mut d = DirtySet::default();
        for i in 0..=MAX_IFACES as u32 {
            p.push(Hint::Interface(i));
        }
        assert!(p.drain(&mut d));
    }
}
