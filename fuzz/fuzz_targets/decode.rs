//! Every decoder over arbitrary bytes, in both byte orders: no panic, no endless loop.
#![no_main]

use apwatch_core::attr::Attrs;
use apwatch_core::brvlan::{BridgePort, VlanList};
use apwatch_core::ctrl::Family;
use apwatch_core::genl::GenlMessage;
use apwatch_core::linkinfo::LinkInfo;
use apwatch_core::netlink::Messages;
use apwatch_core::nl80211::Event;
use apwatch_core::rtnl::{Address, Link};
use apwatch_core::vlanplan::Plan;
use apwatch_core::ByteOrder;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for order in [ByteOrder::Little, ByteOrder::Big] {
        for m in Messages::new(data, order).flatten() {
            let _ = m.error();
            let _ = Link::parse(&m);
            let _ = Address::parse(&m);
            if let Ok(Some(p)) = BridgePort::parse(&m) {
                let _ = (p.vlans.pvid(), p.vlans.is_only(20), p.is_bridge());
                // the plan walks what the decoder accepted: ranges up to 1..=4094
                let _ = Plan::for_list(&p.vlans, 20).map(Iterator::count);
            }
            if let Ok(Some(l)) = LinkInfo::parse(&m) {
                let _ = (l.vlan_filtering(), l.vlan_upper(), l.is_vlan_of(2, 20));
            }
            if let Ok(g) = GenlMessage::parse(&m) {
                if let Ok(e) = Event::parse(&g) {
                    let _ = (e.ifindex(), e.name());
                }
                if let Ok(f) = Family::parse(&g) {
                    let _ = f.groups().count();
                    let _ = f.group_id(b"mlme");
                }
            }
        }
        if let Ok(l) = VlanList::parse(data, order) {
            let _ = l.iter().count();
        }
        for a in Attrs::new(data, order).flatten() {
            let _ = (a.u8(), a.u16(), a.u32(), a.u64(), a.cstr(), a.flag());
            let _ = a.nested().flatten().count();
        }
    }
});
