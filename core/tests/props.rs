//! Property tests: requests and events round-trip through their encoders and decoders in both
//! byte orders, and no input — arbitrary bytes, or a real frame with bytes flipped — makes any
//! decoder panic or loop.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use apwatch_core::attr::Attrs;
use apwatch_core::config;
use apwatch_core::ctrl;
use apwatch_core::genl::GenlMessage;
use apwatch_core::netlink::{Message, Messages};
use apwatch_core::nl80211::{self, ApEvent, Event, IfType, Interface};
use apwatch_core::rtnl::{self, Link};
use apwatch_core::uci::Statements;
use apwatch_core::{ByteOrder, SsidRef};
use proptest::prelude::*;

fn order() -> impl Strategy<Value = ByteOrder> {
    prop_oneof![Just(ByteOrder::Little), Just(ByteOrder::Big)]
}

fn ssid() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 1..=32)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn ap_events_round_trip(o in order(), wiphy in proptest::option::of(any::<u32>()), ifindex in any::<u32>(),
                            wdev in proptest::option::of(any::<u64>()), s in proptest::option::of(ssid()),
                            link_id in proptest::option::of(any::<u8>()), start in any::<bool>(), family in 16u16..0x400) {
        let ev = ApEvent { wiphy, ifindex, wdev, ssid: s.as_deref().map(|s| SsidRef::new(s).unwrap()), link_id };
        let cmd = if start { nl80211::cmd::START_AP } else { nl80211::cmd::STOP_AP };
        let mut buf = [0u8; 128];
        let n = ev.emit(&mut buf, o, family, cmd).unwrap();
        let (m, rest) = Message::parse(&buf[..n], o).unwrap();
        prop_assert!(rest.is_empty());
        let g = GenlMessage::parse(&m).unwrap();
        prop_assert_eq!(g.family, family);
        let back = Event::parse(&g).unwrap();
        prop_assert_eq!(back, if start { Event::StartAp(ev) } else { Event::StopAp(ev) });
        // the u64 value sits 8-byte aligned in the message
        if wdev.is_some() {
            let a = g.attrs().find(nl80211::attr::WDEV).unwrap().unwrap();
            prop_assert_eq!((a.value().as_ptr() as usize - buf.as_ptr() as usize) % 8, 0);
        }
    }

    #[test]
    fn attributes_an_ap_event_does_not_use_never_change_it(o in order(), ifindex in any::<u32>(), s in proptest::option::of(ssid()),
                                                         kind in 0u16..400, value in proptest::collection::vec(any::<u8>(), 0..64)) {
        use nl80211::attr::{IFINDEX, MLO_LINK_ID, SSID, WDEV, WIPHY};
        prop_assume!(![WIPHY, IFINDEX, WDEV, SSID, MLO_LINK_ID].contains(&kind));
        let ev = ApEvent { wiphy: Some(1), ifindex, wdev: Some(7), ssid: s.as_deref().map(|s| SsidRef::new(s).unwrap()), link_id: None };
        let mut buf = [0u8; 256];
        let n = ev.emit(&mut buf, o, 0x23, nl80211::cmd::START_AP).unwrap();
        let before = GenlMessage::parse(&Message::parse(&buf[..n], o).unwrap().0).unwrap().attrs().count();
        // one more attribute of any other type, well framed, its value whatever
        let alen = 4 + value.len();
        buf[n..n + 2].copy_from_slice(&o.u16_bytes(alen as u16));
        buf[n + 2..n + 4].copy_from_slice(&o.u16_bytes(kind));
        buf[n + 4..n + alen].copy_from_slice(&value);
        let total = n + ((alen + 3) & !3);
        buf[..4].copy_from_slice(&o.u32_bytes(total as u32));
        let g = GenlMessage::parse(&Message::parse(&buf[..total], o).unwrap().0).unwrap();
        prop_assert_eq!(g.attrs().count(), before + 1);
        prop_assert_eq!(Event::parse(&g), Ok(Event::StartAp(ev)));
    }

    #[test]
    fn net_byteorder_flags_change_nothing(o in order(), ifindex in any::<u32>(), wiphy in any::<u32>(), wdev in any::<u64>(), link_id in any::<u8>()) {
        let ev = ApEvent { wiphy: Some(wiphy), ifindex, wdev: Some(wdev), ssid: None, link_id: Some(link_id) };
        let mut buf = [0u8; 128];
        let n = ev.emit(&mut buf, o, 0x23, nl80211::cmd::STOP_AP).unwrap();
        let headers: Vec<usize> = {
            let g = GenlMessage::parse(&Message::parse(&buf[..n], o).unwrap().0).unwrap();
            g.attrs().map(|a| a.unwrap().value().as_ptr() as usize - buf.as_ptr() as usize - 4).collect()
        };
        for at in headers {
            let raw = o.u16(buf[at + 2..at + 4].try_into().unwrap());
            buf[at + 2..at + 4].copy_from_slice(&o.u16_bytes(raw | apwatch_core::attr::F_NET_BYTEORDER));
        }
        let g = GenlMessage::parse(&Message::parse(&buf[..n], o).unwrap().0).unwrap();
        prop_assert!(g.attrs().all(|a| a.unwrap().is_net_byteorder()));
        prop_assert_eq!(Event::parse(&g), Ok(Event::StopAp(ev)));
    }

    #[test]
    fn interfaces_round_trip(o in order(), ifindex in proptest::option::of(1u32..), t in 0u32..14, s in proptest::option::of(ssid()),
                             name in "[a-z0-9-]{1,15}", mac in proptest::option::of(any::<[u8; 6]>()), wdev in proptest::option::of(any::<u64>())) {
        let iface = Interface {
            ifindex, ifname: Some(name.as_bytes()), iftype: Some(IfType::from(t)), wiphy: Some(0), wdev, mac,
            ssid: s.as_deref().map(|s| SsidRef::new(s).unwrap()),
        };
        let mut buf = [0u8; 160];
        let n = iface.emit(&mut buf, o, 0x23, nl80211::cmd::NEW_INTERFACE, 9).unwrap();
        let g = GenlMessage::parse(&Message::parse(&buf[..n], o).unwrap().0).unwrap();
        prop_assert_eq!(Event::parse(&g).unwrap(), Event::NewInterface(iface));
    }

    #[test]
    fn requests_round_trip(o in order(), seq in any::<u32>(), ifindex in any::<u32>(), master in any::<u32>(), name in "[a-z0-9-]{1,15}") {
        let mut buf = [0u8; 128];
        let n = rtnl::set_master(&mut buf, o, seq, ifindex, master).unwrap();
        let (m, _) = Message::parse(&buf[..n], o).unwrap();
        prop_assert_eq!(m.header.seq, seq);
        let l = Link::parse(&m).unwrap();
        prop_assert_eq!((l.ifindex, l.master), (ifindex, Some(master)));

        let n = rtnl::new_bridge(&mut buf, o, seq, name.as_bytes()).unwrap();
        let l = Link::parse(&Message::parse(&buf[..n], o).unwrap().0).unwrap();
        prop_assert_eq!(l.ifname, Some(name.as_bytes()));

        let n = nl80211::get_interface(&mut buf, o, 0x23, seq, Some(ifindex)).unwrap();
        let g = GenlMessage::parse(&Message::parse(&buf[..n], o).unwrap().0).unwrap();
        prop_assert_eq!(g.attrs().find(nl80211::attr::IFINDEX).unwrap().unwrap().u32(), Ok(ifindex));

        let n = ctrl::get_family(&mut buf, o, seq, name.as_bytes()).unwrap();
        let g = GenlMessage::parse(&Message::parse(&buf[..n], o).unwrap().0).unwrap();
        prop_assert_eq!(g.attrs().find(ctrl::attr::FAMILY_NAME).unwrap().unwrap().cstr(), Ok(name.as_bytes()));
    }

    #[test]
    fn encoders_never_overrun_small_buffers(len in 0usize..64, o in order()) {
        let mut buf = vec![0u8; len];
        // either fits or says so; never panics
        let _ = rtnl::new_bridge(&mut buf, o, 1, b"br-guest");
        let _ = ctrl::get_family(&mut buf, o, 1, b"nl80211");
        let _ = nl80211::get_interface(&mut buf, o, 0x23, 1, Some(2));
        let _ = rtnl::set_master(&mut buf, o, 1, 2, 7);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512), o in order()) {
        let mut t = common::Tally::default();
        common::decode_all(&bytes, o, 0x23, &mut t);
        for a in Attrs::new(&bytes, o).flatten() {
            let _ = (a.u8(), a.u16(), a.u32(), a.u64(), a.cstr(), a.nested().count());
        }
        for m in Messages::new(&bytes, o).flatten() {
            let _ = m.error();
            if let Ok(g) = GenlMessage::parse(&m) {
                let _ = ctrl::Family::parse(&g).map(|f| f.groups().count());
            }
            let _ = rtnl::Address::parse(&m);
        }
        let _ = Statements::new(&bytes).count();
        let _ = config::parse(&bytes);
    }

    #[test]
    fn corrupted_frames_never_panic(i in 0usize..19, pos in any::<prop::sample::Index>(), val in any::<u8>(), cut in any::<prop::sample::Index>()) {
        let mut f = common::FRAMES[i].to_vec();
        let p = pos.index(f.len());
        f[p] = val;
        let c = cut.index(f.len() + 1);
        let mut t = common::Tally::default();
        common::decode_all(&f[..c], ByteOrder::Little, 0x23, &mut t);
        if p >= 4 {
            prop_assert!(t.messages <= 1, "one frame, its length intact: at most one message");
        } else {
            // a changed nlmsg_len can split the frame: its attributes may then read as further
            // messages (recorded case: get-interface-reply-ap-foo.bin with length 33), each whole
            prop_assert!(t.messages as usize <= c / 16, "{} messages in {c} bytes", t.messages);
        }
    }

}

/// The case proptest found: a GET_INTERFACE reply whose nlmsg_len says 33 splits into its own
/// first 33 bytes and an attribute that reads as a 48-byte message; the rest is too short to be
/// one. Nothing panics, and nothing is read past a message's end.
#[test]
fn a_shortened_length_splits_a_frame_into_whole_messages() {
    let mut f = common::FRAMES[11].to_vec();
    assert_eq!(u32::from_le_bytes([f[0], f[1], f[2], f[3]]), 228);
    f[0] = 33;
    let mut t = common::Tally::default();
    common::decode_all(&f, ByteOrder::Little, 0x23, &mut t);
    assert_eq!((t.messages, t.errors), (2, 2), "{t:?}");
}
