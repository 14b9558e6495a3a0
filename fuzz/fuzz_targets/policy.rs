//! The policy under arbitrary event sequences: a simulated kernel (APs starting, stopping,
//! changing SSID, netdevs moved by others) and the agent's loop (reconcile, apply the plan)
//! must, once events stop, reach a fixed point that matches what the final kernel state implies.
#![no_main]

use apwatch_core::config::{self, Backend};
use apwatch_core::nl80211::IfType;
use apwatch_core::policy::{self, Action, Iface};
use apwatch_core::Ssid;
use libfuzzer_sys::fuzz_target;

const RULES: &str = "config rule 'a'\n option ssid 'a'\n option bridge 'br-a'\nconfig rule 'b'\n option ssid 'b'\n option bridge 'br-b'\n option phy 'phy1'\nconfig rule 'c'\n option ssid_hex 'ff00'\n option bridge 'br-a'\n";

fuzz_target!(|data: &[u8]| {
    let rules = config::parse(RULES.as_bytes()).unwrap().rules;
    let mut ifaces: Vec<Iface> = (0..4u32)
        .map(|i| Iface {
            ifindex: i + 2,
            ifname: heapless::String::try_from(format!("wlan{i}").as_str()).unwrap(),
            wiphy: Some(i % 2),
            wdev: None,
            iftype: Some(IfType::Station),
            ssid: None,
            master: None,
            port_vlan: None,
        })
        .collect();
    let ssids: [&[u8]; 4] = [b"a", b"b", b"\xff\x00", b"zz"];
    let bridges = ["br-a", "br-b", "br-lan"];
    for chunk in data.chunks(2) {
        let (op, arg) = (chunk[0], chunk.get(1).copied().unwrap_or(0));
        let i = usize::from(op >> 6);
        let f = &mut ifaces[i];
        match op & 0x7 {
            0 => {
                f.iftype = Some(IfType::Ap);
                f.ssid = Some(Ssid::new(ssids[usize::from(arg) % 4]).unwrap());
            }
            1 => f.ssid = None, // hostapd exits: no STOP_AP, SSID gone
            2 => {
                f.iftype = Some(IfType::Station);
                f.ssid = None;
            }
            3 => f.master = Some(heapless::String::try_from(bridges[usize::from(arg) % 3]).unwrap()),
            4 => f.master = None,
            5 => f.iftype = Some(IfType::ApVlan),
            _ => {
                // the agent runs now, mid-burst
                apply(&mut ifaces, &rules);
            }
        }
    }
    // events stop: a bounded number of rounds must reach a fixed point
    for _ in 0..2 {
        apply(&mut ifaces, &rules);
    }
    let plan = policy::reconcile(&ifaces, &rules, Backend::Rtnl);
    assert!(plan.actions.is_empty(), "no fixed point: {:?}", plan.actions);
    for f in &ifaces {
        match policy::match_rule(f, &rules) {
            Some((_, r)) => assert_eq!(f.master.as_ref(), r.bridge.as_ref()),
            None => assert!(
                !matches!(f.master.as_deref(), Some("br-a" | "br-b"))
                    || !matches!(f.iftype, Some(IfType::Ap | IfType::Station)),
                "{f:?} left in a managed bridge"
            ),
        }
    }
    // DHCP is wanted for exactly the rules that have an active AP
    for (i, _) in rules.iter().enumerate() {
        let has_ap = ifaces.iter().any(|f| policy::match_rule(f, &rules).is_some_and(|(r, _)| r == i));
        assert_eq!(plan.rule_active(i), has_ap, "rule {i}");
    }
});

fn apply(ifaces: &mut [Iface], rules: &[apwatch_core::config::Rule]) {
    for a in policy::reconcile(ifaces, rules, Backend::Rtnl).actions {
        match a {
            Action::Join { ifindex, to, .. } => {
                ifaces.iter_mut().find(|f| f.ifindex == ifindex).unwrap().master = Some(to.bridge)
            }
            Action::Leave { ifindex, .. } => ifaces.iter_mut().find(|f| f.ifindex == ifindex).unwrap().master = None,
            Action::SetVlan { .. } => unreachable!("no rule here has a VLAN"),
        }
    }
}
