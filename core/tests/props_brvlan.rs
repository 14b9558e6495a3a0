//! Property tests of the bridge-VLAN code: requests round-trip in both byte orders, no input
//! makes a decoder panic, and every plan ends with the port in the wanted VLAN only without a
//! moment in which it carries that VLAN beside another.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::BTreeSet;

use apwatch_core::brvlan::{self, vflag, BridgePort, VlanList, VlanRange};
use apwatch_core::linkinfo::LinkInfo;
use apwatch_core::netlink::{Message, Messages};
use apwatch_core::vlanplan::{Plan, Step};
use apwatch_core::ByteOrder;
use proptest::prelude::*;

macro_rules! frames {
    ($($file:literal),* $(,)?) => { &[$(include_bytes!(concat!("../../tests/data/brvlan/", $file)) as &[u8]),*] };
}

/// Recorded AF_BRIDGE parts and notifications, and AF_UNSPEC links (x86: little-endian).
const FRAMES: &[&[u8]] = frames![
    "dump-brvlan-001.bin",
    "dump-brvlan-003.bin",
    "dump-brvlan-004.bin",
    "dump-compressed-004.bin",
    "add-p1-20-event-001.bin",
    "del-va-range-event-001.bin",
    "dump-links-002.bin",
    "dump-links-006.bin",
    "dump-links-008.bin",
];

fn order() -> impl Strategy<Value = ByteOrder> {
    prop_oneof![Just(ByteOrder::Little), Just(ByteOrder::Big)]
}

fn vid() -> impl Strategy<Value = u16> {
    1u16..=4094
}

/// A port's VLAN list as the kernel could report it: ascending, disjoint runs, at most one PVID.
fn current() -> impl Strategy<Value = Vec<VlanRange>> {
    (
        proptest::collection::btree_set(1u16..=4094, 0..40),
        proptest::option::of(any::<prop::sample::Index>()),
        any::<u64>(),
    )
        .prop_map(|(ids, pvid_at, untagged_bits)| {
            let ids: Vec<u16> = ids.into_iter().collect();
            let pvid = pvid_at.filter(|_| !ids.is_empty()).map(|i| ids[i.index(ids.len())]);
            ids.iter()
                .enumerate()
                .map(|(i, &v)| {
                    let mut flags = if untagged_bits >> (i % 64) & 1 != 0 { vflag::UNTAGGED } else { 0 };
                    if Some(v) == pvid {
                        flags |= vflag::PVID;
                    }
                    VlanRange::single(v, flags)
                })
                .collect()
        })
}

/// The kernel's port VLAN state, as far as the plan is concerned.
#[derive(Clone, Debug)]
struct Model {
    members: BTreeSet<u16>,
    untagged: BTreeSet<u16>,
    pvid: Option<u16>,
}

impl Model {
    fn of(current: &[VlanRange]) -> Model {
        let mut m = Model { members: BTreeSet::new(), untagged: BTreeSet::new(), pvid: None };
        for r in current {
            for v in r.first..=r.last {
                m.members.insert(v);
                if r.is_untagged() {
                    m.untagged.insert(v);
                }
            }
            if r.is_pvid() {
                m.pvid = Some(r.first);
            }
        }
        m
    }

    // what br_vlan_add / br_vlan_delete do with the request of a step
    fn apply(&mut self, s: Step) {
        match s {
            Step::Delete { first, last } => {
                for v in first..=last {
                    self.members.remove(&v);
                    self.untagged.remove(&v);
                    if self.pvid == Some(v) {
                        self.pvid = None;
                    }
                }
            }
            Step::Add { vid } => {
                self.members.insert(vid);
                self.untagged.insert(vid);
                self.pvid = Some(vid);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn requests_round_trip(o in order(), seq in any::<u32>(), ifindex in any::<u32>(), a in vid(), b in vid(),
                           pvid in any::<bool>(), untagged in any::<bool>()) {
        let flags = if pvid { vflag::PVID } else { 0 } | if untagged { vflag::UNTAGGED } else { 0 };
        let mut buf = [0u8; 64];
        let n = brvlan::add_vlan(&mut buf, o, seq, ifindex, a, flags).unwrap();
        let (m, rest) = Message::parse(&buf[..n], o).unwrap();
        prop_assert!(rest.is_empty());
        prop_assert_eq!(m.header.seq, seq);
        let p = BridgePort::parse(&m).unwrap().unwrap();
        prop_assert_eq!(p.ifindex, ifindex);
        prop_assert_eq!(p.vlans.iter().collect::<Vec<_>>(), vec![VlanRange::single(a, flags)]);

        let (first, last) = (a.min(b), a.max(b));
        let n = brvlan::del_vlans(&mut buf, o, seq, ifindex, first, last).unwrap();
        let p = BridgePort::parse(&Message::parse(&buf[..n], o).unwrap().0).unwrap().unwrap();
        prop_assert_eq!(p.vlans.iter().collect::<Vec<_>>(), vec![VlanRange { first, last, flags: 0 }]);
    }

    #[test]
    fn plans_end_in_the_wanted_vlan_only_and_never_carry_two(cur in current(), wanted in vid()) {
        let mut model = Model::of(&cur);
        let was_member = model.members.contains(&wanted);
        let plan = Plan::new(cur.iter().copied(), wanted).unwrap();
        let empty = plan.is_empty();
        let steps: Vec<Step> = plan.collect();
        prop_assert_eq!(empty, steps.is_empty());
        // at most one add, and it is last; the deletes ascend and never touch the wanted VLAN
        prop_assert!(steps.iter().rev().skip(1).all(|s| matches!(s, Step::Delete { .. })), "{:?}", steps);
        let mut after = 0u16;
        for s in &steps {
            if let Step::Delete { first, last } = *s {
                prop_assert!(first > after && first <= last && !(first..=last).contains(&wanted));
                after = last;
            }
        }
        for &s in &steps {
            model.apply(s);
            // the wanted VLAN, newly added, is never beside another one
            if !was_member && model.members.contains(&wanted) {
                prop_assert_eq!(model.members.len(), 1, "{:?} after {:?}", model, s);
            }
        }
        prop_assert_eq!(model.members.iter().copied().collect::<Vec<_>>(), vec![wanted]);
        prop_assert!(model.untagged.contains(&wanted));
        prop_assert_eq!(model.pvid, Some(wanted));
        // and a second plan from there has nothing to do
        let there = [VlanRange::single(wanted, vflag::PVID | vflag::UNTAGGED)];
        prop_assert!(Plan::new(there, wanted).unwrap().is_empty());
    }

    #[test]
    fn steps_encode_or_say_why(cur in current(), wanted in vid(), len in 0usize..64, o in order()) {
        for s in Plan::new(cur, wanted).unwrap() {
            let mut buf = vec![0u8; len];
            if let Ok(n) = s.emit(&mut buf, o, 1, 4) {
                let p = BridgePort::parse(&Message::parse(&buf[..n], o).unwrap().0).unwrap().unwrap();
                prop_assert_eq!(p.vlans.iter().count(), 1);
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512), o in order()) {
        for m in Messages::new(&bytes, o).flatten() {
            if let Ok(Some(p)) = BridgePort::parse(&m) {
                let _ = (p.vlans.pvid(), p.vlans.is_only(20), p.vlans.iter().count(), p.is_bridge());
                let _ = Plan::for_list(&p.vlans, 20).map(Iterator::count);
            }
            if let Ok(Some(l)) = LinkInfo::parse(&m) {
                let _ = (l.vlan_filtering(), l.vlan_upper(), l.is_vlan_of(2, 20));
            }
        }
        if let Ok(l) = VlanList::parse(&bytes, o) {
            // a list that parses iterates to its end without a hidden error
            let n = l.iter().count();
            let ranges: Vec<_> = l.iter().collect();
            prop_assert_eq!(n, ranges.len());
            prop_assert!(ranges.iter().all(|r| r.first >= 1 && r.last <= 4094 && r.first <= r.last));
        }
    }

    #[test]
    fn corrupted_frames_never_panic(i in 0usize..9, pos in any::<prop::sample::Index>(), val in any::<u8>(),
                                    cut in any::<prop::sample::Index>()) {
        let mut f = FRAMES[i].to_vec();
        let p = pos.index(f.len());
        f[p] = val;
        let c = cut.index(f.len() + 1);
        for m in Messages::new(&f[..c], ByteOrder::Little).flatten() {
            if let Ok(Some(p)) = BridgePort::parse(&m) {
                let _ = Plan::for_list(&p.vlans, 10).map(Iterator::count);
            }
            let _ = LinkInfo::parse(&m);
        }
    }
}
