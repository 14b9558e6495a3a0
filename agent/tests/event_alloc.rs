//! The event path allocates nothing per event: recorded nl80211 and rtnetlink events (tests/data)
//! go through `Events::handle`, the code `Events::read` runs on each datagram, while a counting
//! global allocator watches, after one warm-up round has sized the view's maps; and what a
//! reconcile that changes nothing does after its decision (announcements, drop-ins, state file).

#![cfg(target_endian = "little")] // the frames were recorded on x86
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use apwatch::events::{Events, Sink};
use apwatch::kernel::{Kernel, Nl80211};
use apwatch::socket::Protocol;
use apwatch::view::View;
use apwatch_core::pipeline::{DirtySet, Pipeline};
use embassy_sync::blocking_mutex::raw::NoopRawMutex;

#[path = "../../tests/support/counting_alloc.rs"]
mod counting;
use counting::allocations;

macro_rules! frames {
    ($($f:literal),* $(,)?) => { [$(include_bytes!(concat!("../../tests/data/frames/", $f)) as &[u8],)*] };
}

/// nl80211 messages are protocol 16 (NETLINK_GENERIC), rtnetlink's 0 (index.tsv); the genl
/// family id of nl80211 was 0x23 in the recording boots.
fn proto(frame: &[u8]) -> Protocol {
    if u16::from_le_bytes([frame[4], frame[5]]) == 0x23 {
        Protocol::Generic
    } else {
        Protocol::Route
    }
}

struct Agent {
    kernel: Kernel,
    events: Events,
    view: View,
    pipeline: Pipeline<NoopRawMutex, 64>,
    dirty: DirtySet,
}

impl Agent {
    fn new() -> Agent {
        let mut kernel = Kernel::open().expect("netlink sockets");
        let mut events = Events::open(&mut kernel).expect("event sockets");
        kernel.assume_nl80211(Nl80211 { family: 0x23, mlme: 0, config: 0 });
        events.genl = None; // only recorded bytes come in
        Agent { kernel, events, view: View::default(), pipeline: Pipeline::new(), dirty: DirtySet::default() }
    }

    /// Each frame as one datagram, the hint queue drained after each, as the loop does after a
    /// burst. Returns (START_APs acted on at once, hints).
    fn feed(&mut self, frames: &[&[u8]]) -> (usize, usize) {
        let (mut now, mut hints) = (0, 0);
        for f in frames {
            let mut sink = Sink { pipeline: &self.pipeline, view: &mut self.view, kernel: &self.kernel };
            let woke = self.events.handle(proto(f), f, &mut sink);
            now += usize::from(woke.now);
            hints += usize::from(woke.reconcile);
            self.pipeline.drain(&mut self.dirty);
            self.dirty.clear();
        }
        (now, hints)
    }
}

/// AP foo started, stopped (ifdown), restarted as bar on wlan0: START_AP, STOP_AP,
/// SET_INTERFACE, RTM_NEWLINK (up, down, bridged), and events the agent ignores.
const WLAN0: [&[u8]; 27] = frames![
    "start-ap-foo-001.bin",
    "start-ap-foo-002.bin",
    "start-ap-foo-003.bin",
    "start-ap-foo-004.bin",
    "start-ap-foo-005.bin",
    "start-ap-foo-006.bin",
    "start-ap-foo-007.bin",
    "bridge-dhcp-013.bin",
    "ifdown-003.bin",
    "ifdown-005.bin",
    "ifdown-007.bin",
    "ifdown-008.bin",
    "ifdown-009.bin",
    "ifdown-010.bin",
    "restart-bar-001.bin",
    "restart-bar-002.bin",
    "restart-bar-003.bin",
    "restart-bar-004.bin",
    "restart-bar-005.bin",
    "restart-bar-006.bin",
    "restart-bar-007.bin",
    "restart-bar-008.bin",
    "restart-bar-009.bin",
    "restart-bar-010.bin",
    "ifdown-004.bin",
    "ifdown-006.bin",
    "ifdown-002.bin",
];

/// A second BSS comes and goes: wlan0-1's RTM_NEWLINK, NEW_INTERFACE, START_AP, STOP_AP,
/// DEL_INTERFACE, RTM_DELLINK, between wlan0's events.
const TWO_BSS: [&[u8]; 22] = frames![
    "two-bss-001.bin",
    "two-bss-002.bin",
    "two-bss-003.bin",
    "two-bss-004.bin",
    "two-bss-005.bin",
    "two-bss-006.bin",
    "two-bss-007.bin",
    "two-bss-008.bin",
    "two-bss-009.bin",
    "two-bss-010.bin",
    "two-bss-011.bin",
    "two-bss-012.bin",
    "two-bss-013.bin",
    "two-bss-014.bin",
    "two-bss-015.bin",
    "two-bss-016.bin",
    "two-bss-017.bin",
    "two-bss-018.bin",
    "two-bss-019.bin",
    "two-bss-020.bin",
    "two-bss-021.bin",
    "two-bss-022.bin",
];

#[test]
fn the_counter_counts() {
    let n = allocations(|| drop(std::hint::black_box(vec![1u8; 16])));
    assert!(n >= 1, "a Vec must be counted, or the other tests prove nothing");
}

#[test]
fn events_of_known_netdevs_allocate_nothing() {
    let mut a = Agent::new();
    let warm = a.feed(&WLAN0);
    assert_eq!(
        warm,
        (3, 16),
        "START_AP foo, bar, foo acted on at once; hints (START_AP, STOP_AP, SET_INTERFACE, links)"
    );
    assert!(a.view.wifi.get(&2).is_some_and(|i| i.is_active_ap()));
    let mut seen = (0, 0);
    let n = allocations(|| {
        for _ in 0..10 {
            let (now, hints) = a.feed(&WLAN0);
            seen = (seen.0 + now, seen.1 + hints);
        }
    });
    // wlan0 is known from the first START_AP on: its two link events before it are hints now too
    assert_eq!(seen, (30, 180), "every round decided the same");
    assert_eq!(n, 0, "{n} allocations in 10 rounds of {} events", WLAN0.len());
}

#[test]
fn a_netdev_that_comes_and_goes_allocates_only_its_link_record() {
    let mut a = Agent::new();
    a.feed(&TWO_BSS);
    let rounds = 10;
    let n = allocations(|| {
        for _ in 0..rounds {
            let (now, _) = a.feed(&TWO_BSS);
            assert_eq!(now, 2, "START_AP of wlan0 and wlan0-1");
        }
    });
    assert!(!a.view.links.contains_key(&6), "wlan0-1 is gone after its RTM_DELLINK");
    // wlan0-1's first RTM_NEWLINK makes its record: the name's bytes, once per round
    assert_eq!(n, rounds, "{n} allocations in {rounds} rounds");
}

/// What a reconcile does after the decision when nothing changed (an AP link event's usual
/// end): the announcements, the DHCP drop-ins, the state file, the LED.
#[test]
fn a_reconcile_that_changes_nothing_allocates_nothing() {
    use apwatch::apply::Effects;
    use apwatch::bridge::Bridges;
    use apwatch::kernel::LinkInfo;
    use apwatch::status_led::StatusLed;
    use apwatch_core::config::BackendOption;
    use apwatch_core::nl80211::IfType;
    use apwatch_core::policy::{self, Iface};
    use apwatch_core::Ssid;

    let dir = std::env::temp_dir().join(format!("apwatch-alloc-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let d = dir.display();
    let text = format!(
        "config apwatch 'main'\n\toption backend 'rtnl'\n\toption dnsmasq_dir '{d}/dnsmasq.d'\n\
         \toption state_file '{d}/apwatch.state'\n\tlist dnsmasq_restart '/bin/true'\n\
         config rule 'foo'\n\toption ssid 'foo'\n\toption bridge 'br-foo'\n\toption dhcp_start '100'\n\
         \toption dhcp_limit '50'\n"
    );
    let cfg = apwatch_core::config::parse(text.as_bytes()).unwrap();
    let mut view = View::default();
    let link = |ifindex, name: &[u8], master| LinkInfo {
        ifindex,
        name: name.to_vec(),
        master,
        kind: None,
        up: true,
        carrier: true,
        vlan_filtering: false,
        vlan_upper: None,
    };
    view.links.insert(2, link(2, b"wlan0", Some(7)));
    view.links.insert(7, link(7, b"br-foo", None));
    view.addrs.push((7, std::net::Ipv4Addr::new(192, 0, 2, 1), 24));
    view.wifi.insert(
        2,
        Iface {
            ifindex: 2,
            ifname: apwatch::view::ifname(b"wlan0").unwrap(),
            wiphy: Some(0),
            wdev: Some(1),
            iftype: Some(IfType::Ap),
            ssid: Some(Ssid::new(b"foo").unwrap()),
            master: None,
            port_vlan: None,
        },
    );
    let plan = policy::reconcile_with(&view.ifaces(), &cfg.rules, policy::Backend::Rtnl, &policy::Lan::default());
    assert!(plan.actions.is_empty(), "wlan0 is in br-foo already: {:?}", plan.actions);
    assert!(plan.rule_active(0));
    let mut effects = Effects::new(Bridges::new(BackendOption::Rtnl), StatusLed::open(&cfg));
    let round = |effects: &mut Effects| {
        effects.announce(&plan, &view, &cfg);
        assert!(effects.finish(&cfg, &plan, &view, [0; 3], true));
    };
    // the first round writes the drop-in and the state file; the second sizes the buffers
    round(&mut effects);
    round(&mut effects);
    let dropin = std::fs::read_to_string(dir.join("dnsmasq.d/apwatch-foo.conf")).unwrap();
    assert!(dropin.contains("interface=br-foo"), "{dropin}");
    let n = allocations(|| {
        for _ in 0..10 {
            round(&mut effects);
        }
    });
    let state = std::fs::read_to_string(dir.join("apwatch.state")).unwrap();
    assert!(state.contains("\twlan0\t2\t666f6f\tfoo\tbr-foo\tbr-foo\t"), "{state}");
    assert_eq!(n, 0, "{n} allocations in 10 reconciles that changed nothing");
    let _ = std::fs::remove_dir_all(&dir);
}
