//! Every decoder over arbitrary bytes, in both byte orders: no panic, no endless loop.
#![no_main]

use apwatch_core::attr::Attrs;
use apwatch_core::ctrl::Family;
use apwatch_core::genl::GenlMessage;
use apwatch_core::netlink::Messages;
use apwatch_core::nl80211::Event;
use apwatch_core::rtnl::{Address, Link};
use apwatch_core::ByteOrder;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for order in [ByteOrder::Little, ByteOrder::Big] {
        for m in Messages::new(data, order).flatten() {
            let _ = m.error();
            let _ = Link::parse(&m);
            let _ = Address::parse(&m);
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
        for a in Attrs::new(data, order).flatten() {
            let _ = (a.u8(), a.u16(), a.u32(), a.u64(), a.cstr(), a.flag());
            let _ = a.nested().flatten().count();
        }
    }
});
