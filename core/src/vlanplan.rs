//! Moving a bridge port to one VLAN: from its current VLAN list and the wanted id, the ordered
//! requests that leave it a member of that VLAN only, as PVID and egress-untagged.
//!
//! # The order: delete every other VLAN first, then add the wanted one
//!
//! The kernel applies each request on its own and the bridge forwards between two of them, so
//! the order decides what a station can see in between:
//!
//! - Adding first (`add 20 pvid untagged`, then `del 10`) moves the PVID at once (a port has
//!   one), but VLAN 10 stays a member, still egress-untagged, until the delete: the recorded
//!   dump `tests/data/brvlan/dump-brvlan-004.bin` shows exactly that (port `va`: 1 egress
//!   untagged beside 10 PVID untagged). In that window VLAN 10's broadcasts and floods reach the
//!   stations of VLAN 20's SSID: the isolation the VLANs exist for is broken.
//! - Deleting first leaves the port in no VLAN between the requests: a VLAN-filtering bridge
//!   drops every frame from and to it. That fails closed: a station that has just associated
//!   to the new SSID loses a frame or two, which DHCP and ARP retry.
//! - If the add fails after the deletes, the port is left in no VLAN: isolated, never in the
//!   wrong one; the next reconcile retries.
//!
//! The wanted VLAN is never deleted: when it is already a member with other flags, the add only
//! changes its flags. Runs of other VLANs go in one range delete each.
//!
//! What no order can close: a port that has just joined a filtering bridge is in its
//! `default_pvid` (1, PVID untagged; recorded in `dump-brvlan-003.bin`) until the first delete.

use crate::brvlan::{self, vflag, VlanList, VlanRange, VID_MAX, VID_MIN};
use crate::{ByteOrder, EncodeError};

const WORDS: usize = 64; // 4096 bits: every 12-bit VLAN id

/// A set of VLAN ids (a 512-byte bitmap, no allocation).
#[derive(Clone, PartialEq, Eq)]
pub struct VlanSet {
    words: [u64; WORDS],
}

impl Default for VlanSet {
    fn default() -> Self {
        VlanSet::new()
    }
}

impl core::fmt::Debug for VlanSet {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut l = f.debug_list();
        let mut from = 0;
        while let Some((a, b)) = self.next_run(from) {
            l.entry(&(a..=b));
            from = b.saturating_add(1);
            if b == u16::MAX {
                break;
            }
        }
        l.finish()
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for VlanSet {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "VlanSet({} ids)", self.len())
    }
}

impl VlanSet {
    /// The empty set.
    pub const fn new() -> Self {
        VlanSet { words: [0; WORDS] }
    }

    fn bit(vid: u16) -> (usize, u64) {
        (usize::from(vid >> 6), 1u64 << (vid & 63))
    }

    /// Adds `vid` (ids above 4095 are ignored: they are not VLAN ids).
    pub fn insert(&mut self, vid: u16) {
        let (w, b) = Self::bit(vid);
        if let Some(word) = self.words.get_mut(w) {
            *word |= b;
        }
    }

    /// Adds `first..=last`.
    pub fn insert_range(&mut self, first: u16, last: u16) {
        for vid in first..=last.min(4095) {
            self.insert(vid);
        }
    }

    /// Removes `vid`.
    pub fn remove(&mut self, vid: u16) {
        let (w, b) = Self::bit(vid);
        if let Some(word) = self.words.get_mut(w) {
            *word &= !b;
        }
    }

    /// Whether `vid` is in the set.
    pub fn contains(&self, vid: u16) -> bool {
        let (w, b) = Self::bit(vid);
        self.words.get(w).is_some_and(|word| word & b != 0)
    }

    /// How many ids.
    pub fn len(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// No id at all.
    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|&w| w == 0)
    }

    /// The first member at or after `from`.
    fn next_member(&self, from: u16) -> Option<u16> {
        let (mut w, _) = Self::bit(from);
        let mut word = self.words.get(w)? & (u64::MAX << (from & 63));
        loop {
            if word != 0 {
                return u16::try_from(w * 64 + word.trailing_zeros() as usize).ok();
            }
            w += 1;
            word = *self.words.get(w)?;
        }
    }

    /// The first non-member at or after `from` (4096 past the end).
    fn next_gap(&self, from: u16) -> u16 {
        let (mut w, _) = Self::bit(from);
        let Some(first) = self.words.get(w) else { return from };
        let mut word = !first & (u64::MAX << (from & 63));
        loop {
            if word != 0 {
                return u16::try_from(w * 64 + word.trailing_zeros() as usize).unwrap_or(u16::MAX);
            }
            w += 1;
            match self.words.get(w) {
                Some(next) => word = !next,
                None => return 4096,
            }
        }
    }

    /// The first run of consecutive members at or after `from`, as (first, last).
    pub fn next_run(&self, from: u16) -> Option<(u16, u16)> {
        let first = self.next_member(from)?;
        Some((first, self.next_gap(first).saturating_sub(1)))
    }
}

impl FromIterator<VlanRange> for VlanSet {
    fn from_iter<I: IntoIterator<Item = VlanRange>>(iter: I) -> Self {
        let mut s = VlanSet::new();
        for r in iter {
            s.insert_range(r.first, r.last);
        }
        s
    }
}

/// One request of a [`Plan`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Step {
    /// Take the port out of `first..=last` (RTM_DELLINK).
    Delete {
        /// The first VLAN id.
        first: u16,
        /// The last VLAN id.
        last: u16,
    },
    /// Make the port a member of `vid`, PVID and egress-untagged (RTM_SETLINK).
    Add {
        /// The VLAN id.
        vid: u16,
    },
}

impl Step {
    /// Encodes this step as the request for port `ifindex`.
    pub fn emit(&self, buf: &mut [u8], order: ByteOrder, seq: u32, ifindex: u32) -> Result<usize, EncodeError> {
        match *self {
            Step::Delete { first, last } => brvlan::del_vlans(buf, order, seq, ifindex, first, last),
            Step::Add { vid } => brvlan::add_vlan(buf, order, seq, ifindex, vid, vflag::PVID | vflag::UNTAGGED),
        }
    }
}

/// The steps from a port's current VLANs to `wanted` only: the deletes in ascending order, then
/// the add (see the module docs for why). An iterator; empty when the port is already there.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Plan {
    others: VlanSet,
    cursor: u16,
    add: Option<u16>,
}

impl Plan {
    /// Plans the move of a port whose VLANs are `current` to `wanted`; `None` when `wanted` is
    /// not a VLAN id a port can carry (1..=4094).
    pub fn new<I: IntoIterator<Item = VlanRange>>(current: I, wanted: u16) -> Option<Plan> {
        if !brvlan::is_valid_vid(wanted) {
            return None;
        }
        let want = vflag::PVID | vflag::UNTAGGED;
        let mut others = VlanSet::new();
        let mut in_place = false;
        for r in current {
            // A PVID is always a single entry; a range claiming one does not count as in place.
            in_place |= r.first == wanted && r.last == wanted && r.flags & want == want;
            others.insert_range(r.first.max(VID_MIN), r.last.min(VID_MAX));
        }
        others.remove(wanted);
        Some(Plan { others, cursor: VID_MIN, add: (!in_place).then_some(wanted) })
    }

    /// [`Plan::new`] from a decoded VLAN list.
    pub fn for_list(current: &VlanList<'_>, wanted: u16) -> Option<Plan> {
        Plan::new(current.iter(), wanted)
    }

    /// Nothing left to do: the port is a member of `wanted` only, PVID and untagged.
    pub fn is_empty(&self) -> bool {
        self.add.is_none() && self.others.next_member(self.cursor).is_none()
    }
}

impl Iterator for Plan {
    type Item = Step;

    fn next(&mut self) -> Option<Step> {
        if let Some((first, last)) = self.others.next_run(self.cursor) {
            self.cursor = last.saturating_add(1);
            return Some(Step::Delete { first, last });
        }
        self.cursor = 4096;
        self.add.take().map(|vid| Step::Add { vid })
    }
}

impl core::iter::FusedIterator for Plan {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::brvlan::BridgePort;
    use crate::netlink::Message;
    use std::vec::Vec;

    const PU: u16 = vflag::PVID | vflag::UNTAGGED;
    const LE: ByteOrder = ByteOrder::Little;

    fn steps(current: &[(u16, u16, u16)], wanted: u16) -> Vec<Step> {
        Plan::new(current.iter().map(|&(first, last, flags)| VlanRange { first, last, flags }), wanted)
            .unwrap()
            .collect()
    }

    use Step::{Add, Delete};

    #[test]
    fn deletes_come_before_the_add() {
        // a fresh port (the kernel's default PVID 1) to VLAN 20
        assert_eq!(steps(&[(1, 1, PU)], 20), [Delete { first: 1, last: 1 }, Add { vid: 20 }]);
        // the flip 10 -> 20
        assert_eq!(steps(&[(10, 10, PU)], 20), [Delete { first: 10, last: 10 }, Add { vid: 20 }]);
        // already there: nothing
        assert_eq!(steps(&[(20, 20, PU)], 20), []);
        assert!(Plan::new([VlanRange::single(20, PU | vflag::MASTER)], 20).unwrap().is_empty());
        // a port in no VLAN at all
        assert_eq!(steps(&[], 20), [Add { vid: 20 }]);
        // there, plus strays: only the deletes
        assert_eq!(
            steps(&[(1, 1, vflag::UNTAGGED), (20, 20, PU), (30, 30, 0)], 20),
            [Delete { first: 1, last: 1 }, Delete { first: 30, last: 30 }]
        );
    }

    #[test]
    fn the_wanted_vlan_is_never_deleted_only_its_flags_fixed() {
        // member but tagged, another VLAN is the PVID
        assert_eq!(steps(&[(10, 10, PU), (20, 20, 0)], 20), [Delete { first: 10, last: 10 }, Add { vid: 20 }]);
        // PVID but egress-tagged
        assert_eq!(steps(&[(20, 20, vflag::PVID)], 20), [Add { vid: 20 }]);
        // inside a range: the range is split around it
        assert_eq!(
            steps(&[(1, 1, PU), (15, 25, 0)], 20),
            [
                Delete { first: 1, last: 1 },
                Delete { first: 15, last: 19 },
                Delete { first: 21, last: 25 },
                Add { vid: 20 }
            ]
        );
        // a range claiming PVID is not "in place"
        assert_eq!(
            steps(&[(19, 21, PU)], 20),
            [Delete { first: 19, last: 19 }, Delete { first: 21, last: 21 }, Add { vid: 20 }]
        );
    }

    #[test]
    fn runs_are_merged_and_the_edges_hold() {
        // adjacent single entries and ranges become one delete each
        assert_eq!(
            steps(&[(1, 1, PU), (2, 2, 0), (3, 9, 0), (11, 11, 0)], 4094),
            [Delete { first: 1, last: 9 }, Delete { first: 11, last: 11 }, Add { vid: 4094 }]
        );
        // everything: two deletes around the wanted one
        assert_eq!(steps(&[(1, 4094, 0)], 1), [Delete { first: 2, last: 4094 }, Add { vid: 1 }]);
        assert_eq!(steps(&[(1, 4094, 0)], 4094), [Delete { first: 1, last: 4093 }, Add { vid: 4094 }]);
        // ids outside 1..=4094 in the input are not requests the kernel would take
        assert_eq!(steps(&[(0, 0, 0), (4095, 4095, 0)], 5), [Add { vid: 5 }]);
        assert!(Plan::new([], 0).is_none());
        assert!(Plan::new([], 4095).is_none());
    }

    #[test]
    fn from_the_recorded_ports() {
        let port = |f: &'static [u8]| {
            let (m, _) = Message::parse(f, LE).unwrap();
            BridgePort::parse(&m).unwrap().unwrap()
        };
        // p1 just joined: default PVID 1
        let p1 = port(include_bytes!("../../tests/data/brvlan/dump-brvlan-003.bin"));
        let plan: Vec<_> = Plan::for_list(&p1.vlans, 20).unwrap().collect();
        assert_eq!(plan, [Delete { first: 1, last: 1 }, Add { vid: 20 }]);
        // what the recorder did to p1 in the other order ended where this plan ends
        let after = port(include_bytes!("../../tests/data/brvlan/dump-after-003.bin"));
        assert!(Plan::for_list(&after.vlans, 20).unwrap().is_empty());
        // va (1 untagged, 10 PVID, 100-110, 200) to VLAN 10, from the plain and the compressed dump
        let want = [Delete { first: 1, last: 1 }, Delete { first: 100, last: 110 }, Delete { first: 200, last: 200 }];
        for f in [
            &include_bytes!("../../tests/data/brvlan/dump-brvlan-004.bin")[..],
            include_bytes!("../../tests/data/brvlan/dump-compressed-004.bin"),
        ] {
            let va = port(f);
            assert_eq!(Plan::for_list(&va.vlans, 10).unwrap().collect::<Vec<_>>(), want);
        }
    }

    #[test]
    fn steps_encode_as_the_brvlan_requests() {
        let mut buf = [0u8; 64];
        let n = Add { vid: 20 }.emit(&mut buf, LE, 1, 4).unwrap();
        assert_eq!(&buf[..n], include_bytes!("../../tests/data/brvlan/add-p1-20-req.bin"));
        let n = Delete { first: 100, last: 110 }.emit(&mut buf, LE, 1, 6).unwrap();
        assert_eq!(&buf[..n], include_bytes!("../../tests/data/brvlan/del-va-range-req.bin"));
        let n = Delete { first: 1, last: 1 }.emit(&mut buf, LE, 1, 4).unwrap();
        assert_eq!(&buf[..n], include_bytes!("../../tests/data/brvlan/del-p1-1-req.bin"));
    }

    #[test]
    fn vlan_sets() {
        let mut s: VlanSet =
            [VlanRange { first: 60, last: 70, flags: 0 }, VlanRange::single(4095, 0)].into_iter().collect();
        assert_eq!((s.len(), s.contains(63), s.contains(64), s.contains(71)), (12, true, true, false));
        assert_eq!(s.next_run(0), Some((60, 70)));
        assert_eq!(s.next_run(65), Some((65, 70)));
        assert_eq!(s.next_run(71), Some((4095, 4095)));
        s.remove(4095);
        assert_eq!(s.next_run(71), None);
        assert_eq!(std::format!("{s:?}"), "[60..=70]");
        s.insert(u16::MAX); // not a VLAN id: ignored
        assert_eq!(s.len(), 11);
        let mut all = VlanSet::new();
        all.insert_range(0, u16::MAX);
        assert_eq!((all.len(), all.next_run(0), all.next_run(4096)), (4096, Some((0, 4095)), None));
        assert!(VlanSet::new().is_empty() && !all.is_empty());
    }
}
