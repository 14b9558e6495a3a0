//! The reconcile policy: from the interfaces as the kernel reports them and the rules, decide
//! which AP joins which bridge, which netdev leaves a bridge apwatch manages, and which rules
//! need DHCP. Pure and stateless: the same inputs give the same plan, so a restart, a burst of
//! events or a lost event all converge on what the kernel says now.
//!
//! An AP is *active* while its iftype is AP (or P2P-GO) *and* it has an SSID: hostapd's normal
//! exit sends no STOP_AP, and a bridged AP netdev then stays AP and up, with no SSID.

use core::fmt::Write;

pub use crate::config::Backend;
use crate::config::{IfName, Name, Rule, MAX_RULES};
use crate::dnsmasq;
use crate::nl80211::{ApEvent, IfType, Interface};
use crate::ssid::Ssid;

pub use crate::limits::MAX_IFACES;

/// A wireless interface as observed: the owned record of nl80211's GET_INTERFACE (or an event),
/// with rtnetlink's master filled in by whoever holds the links.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Iface {
    /// The netdev.
    pub ifindex: u32,
    /// Its name.
    pub ifname: IfName,
    /// Its radio.
    pub wiphy: Option<u32>,
    /// Its wireless device id.
    pub wdev: Option<u64>,
    /// Its type.
    pub iftype: Option<IfType>,
    /// The SSID it serves, if any.
    pub ssid: Option<Ssid>,
    /// The name of its master (bridge), if any.
    pub master: Option<IfName>,
    /// The one VLAN the port is a member of, as PVID and egress-untagged, when that is all it
    /// carries (read from the bridge's VLAN table); `None`: anything else, or not known.
    pub port_vlan: Option<u16>,
}

impl Iface {
    /// The record of a decoded GET_INTERFACE reply; `None` without an ifindex, or with a name
    /// that is not a netdev name apwatch can manage (not UTF-8, too long).
    pub fn from_nl80211(i: &Interface<'_>) -> Option<Iface> {
        let ifname = core::str::from_utf8(i.ifname?).ok().and_then(|n| IfName::try_from(n).ok())?;
        Some(Iface {
            ifindex: i.ifindex?,
            ifname,
            wiphy: i.wiphy,
            wdev: i.wdev,
            iftype: i.iftype,
            ssid: i.ssid.map(|s| s.to_owned()),
            master: None,
            port_vlan: None,
        })
    }

    /// The record after a START_AP event: the kernel's word at that instant (iftype AP, the SSID
    /// it beacons), acted on at once; the re-query after the burst confirms or corrects it.
    /// `known` is the record so far; without one, `ifname` (from rtnetlink) names the netdev.
    /// `None` when the event cannot be a record: no SSID, or no name for an unknown netdev.
    pub fn after_start_ap(known: Option<&Iface>, ifname: Option<IfName>, ev: &ApEvent<'_>) -> Option<Iface> {
        let ssid = ev.ssid?.to_owned();
        let mut rec = match known {
            Some(k) => k.clone(),
            None => Iface {
                ifindex: ev.ifindex,
                ifname: ifname?,
                wiphy: None,
                wdev: None,
                iftype: None,
                ssid: None,
                master: None,
                port_vlan: None,
            },
        };
        rec.iftype = Some(IfType::Ap);
        rec.ssid = Some(ssid);
        rec.wiphy = ev.wiphy.or(rec.wiphy);
        rec.wdev = ev.wdev.or(rec.wdev);
        Some(rec)
    }

    /// An AP netdev (AP or P2P GO), with or without an SSID.
    pub fn is_ap(&self) -> bool {
        matches!(self.iftype, Some(IfType::Ap | IfType::P2pGo))
    }

    /// Beaconing with an SSID.
    pub fn is_active_ap(&self) -> bool {
        self.is_ap() && self.ssid.is_some()
    }

    /// The roles an AP netdev goes through; only these are ever taken out of a bridge
    /// (AP/VLAN, monitor and mesh netdevs belong to whoever made them).
    fn may_leave(&self) -> bool {
        matches!(self.iftype, Some(IfType::Ap | IfType::P2pGo | IfType::Station))
    }
}

/// The first rule (in file order) that matches an active AP.
pub fn match_rule<'r>(iface: &Iface, rules: &'r [Rule]) -> Option<(usize, &'r Rule)> {
    let ssid = iface.ssid.as_ref()?;
    if !iface.is_active_ap() {
        return None;
    }
    rules.iter().enumerate().find(|(_, r)| {
        r.ssid == *ssid
            && r.phy.is_none_or(|p| iface.wiphy == Some(p))
            && r.ifname.as_ref().is_none_or(|n| *n == iface.ifname)
    })
}

/// Where an AP of a rule belongs: the bridge, and with ubus the netifd network whose bridge it is.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Target {
    /// The bridge netdev.
    pub bridge: IfName,
    /// The netifd network to call (ubus backend only).
    pub network: Option<Name>,
    /// The VLAN the port carries on a VLAN-filtering bridge (PVID, untagged, nothing else).
    pub vlan: Option<u16>,
}

/// What netifd says a network's device is (`ubus call network.interface.<net> status`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct NetworkDevice {
    /// The netifd network.
    pub network: Name,
    /// Its device, when it has one; `None`: netifd would adopt an added netdev as the network's
    /// main device (and give it the network's address), so apwatch adds nothing to it.
    pub device: Option<IfName>,
    /// Where its addresses are (`l3_device`), where DHCP is served.
    pub l3_device: Option<IfName>,
}

/// A VLAN device of a bridge (`br-lan.20`: VLAN 20 on `br-lan`), where a VLAN's DHCP is served.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct VlanDevice {
    /// The bridge it is an upper of.
    pub bridge: IfName,
    /// Its VLAN id.
    pub vid: u16,
    /// Its name.
    pub name: IfName,
}

/// What the policy knows of the LAN side besides the APs: netifd's networks (ubus), the bridges
/// with `vlan_filtering` on, and the bridges' VLAN devices.
#[derive(Clone, Copy, Debug, Default)]
pub struct Lan<'a> {
    /// netifd's view of the rules' networks.
    pub networks: &'a [NetworkDevice],
    /// Bridges with `vlan_filtering` on.
    pub filtering: &'a [IfName],
    /// VLAN devices of bridges.
    pub vlan_devices: &'a [VlanDevice],
}

/// Something a rule asks for that cannot be done; the agent reports it as a located error.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Problem {
    /// A rule with a VLAN targets a bridge without `vlan_filtering` (or none): its APs are left
    /// where they are.
    NotFiltering {
        /// Index into the rules.
        rule: usize,
        /// The bridge.
        bridge: IfName,
    },
    /// A rule with a VLAN and DHCP, but the bridge has no VLAN device for that id (and netifd
    /// named no L3 device): DHCP waits for one.
    NoVlanDevice {
        /// Index into the rules.
        rule: usize,
        /// The bridge.
        bridge: IfName,
        /// The VLAN.
        vid: u16,
    },
}

/// The target of `rule` under `backend`: rtnl needs `bridge`; ubus needs `network`, and its bridge
/// is `bridge`, else the device netifd reports for the network (`networks`), else netifd's
/// usual `br-<network>` while netifd has not been asked yet.
pub fn target(rule: &Rule, backend: Backend, networks: &[NetworkDevice]) -> Option<Target> {
    match backend {
        Backend::Rtnl => Some(Target { bridge: rule.bridge.clone()?, network: None, vlan: rule.vlan }),
        Backend::Ubus => {
            let network = rule.network.clone()?;
            let bridge = match (&rule.bridge, networks.iter().find(|n| n.network == network)) {
                (Some(b), _) => b.clone(),
                (None, Some(n)) => n.device.clone()?,
                (None, None) => {
                    let mut s = IfName::new();
                    write!(s, "br-{network}").ok()?;
                    s
                }
            };
            Some(Target { bridge, network: Some(network), vlan: rule.vlan })
        }
    }
}

/// One step towards the wanted state, with everything the effect needs to carry it out.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Action {
    /// Make `ifindex` a port of `to.bridge`, moving it out of `from`, if set.
    Join {
        /// The AP netdev.
        ifindex: u32,
        /// Its name.
        ifname: IfName,
        /// Index into the rules.
        rule: usize,
        /// The bridge (and network) to join.
        to: Target,
        /// The bridge it is in now, if any, with the managed network it belongs to.
        from: Option<Target>,
    },
    /// `ifindex` is in the right bridge but carries other VLANs than `to.vlan`: make that VLAN
    /// its only one (PVID, untagged).
    SetVlan {
        /// The AP netdev.
        ifindex: u32,
        /// Its name.
        ifname: IfName,
        /// Index into the rules.
        rule: usize,
        /// Its bridge and VLAN (`vlan` is set).
        to: Target,
    },
    /// Take `ifindex` out of `from.bridge`, a bridge apwatch manages that it no longer belongs in.
    Leave {
        /// The netdev.
        ifindex: u32,
        /// Its name.
        ifname: IfName,
        /// Its current bridge (and the network that bridge serves).
        from: Target,
    },
}

impl Action {
    /// The netdev the action moves.
    pub fn ifindex(&self) -> u32 {
        match self {
            Action::Join { ifindex, .. } | Action::SetVlan { ifindex, .. } | Action::Leave { ifindex, .. } => *ifindex,
        }
    }
}

/// What an interface is to the policy.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Assignment {
    /// The netdev.
    pub ifindex: u32,
    /// The matching rule, for an active AP that matches one.
    pub rule: Option<usize>,
    /// Where that rule puts it (none when the rule cannot be served by this backend).
    pub target: Option<Target>,
}

/// The file name of a drop-in (`apwatch-<rule>.conf`).
pub type FileName = heapless::String<48>;

/// The DHCP drop-in of one rule: served on `serve`, or removed when `None`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DhcpFile {
    /// Index into the rules.
    pub rule: usize,
    /// The drop-in's file name in `dnsmasq_dir`.
    pub file: FileName,
    /// The interface dnsmasq serves (the rule's bridge) while the rule has an active AP and DHCP
    /// options; `None`: the file must not exist.
    pub serve: Option<IfName>,
}

/// The decision of one reconcile.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Plan {
    /// Bridge changes, at most one per interface.
    pub actions: heapless::Vec<Action, MAX_IFACES>,
    /// One entry per rule, in rule order.
    pub dhcp: heapless::Vec<DhcpFile, MAX_RULES>,
    /// Every active AP and its rule.
    pub active: heapless::Vec<Assignment, MAX_IFACES>,
    /// What rules ask for that cannot be done (once per rule and kind).
    pub problems: heapless::Vec<Problem, MAX_RULES>,
}

impl Plan {
    /// Whether rule `i` has an active AP.
    pub fn rule_active(&self, i: usize) -> bool {
        self.active.iter().any(|a| a.rule == Some(i))
    }

    /// The assignment of an active AP.
    pub fn assignment(&self, ifindex: u32) -> Option<&Assignment> {
        self.active.iter().find(|a| a.ifindex == ifindex)
    }
}

/// Decides the plan for `ifaces` (at most [`MAX_IFACES`] are considered) under `rules`.
pub fn reconcile(ifaces: &[Iface], rules: &[Rule], backend: Backend) -> Plan {
    reconcile_with(ifaces, rules, backend, &Lan::default())
}

/// [`reconcile`], with what is known of the LAN side: netifd's networks (ubus backend), the
/// VLAN-filtering bridges and their VLAN devices.
pub fn reconcile_with(ifaces: &[Iface], rules: &[Rule], backend: Backend, lan: &Lan<'_>) -> Plan {
    let mut plan = Plan::default();
    reconcile_into(&mut plan, ifaces, rules, backend, lan);
    plan
}

/// [`reconcile_with`] into a plan the caller keeps (emptied first): the same plan, without
/// making a new one. A plan is 12 KB of fixed-capacity vectors: a new one is zero-filled (rustc
/// stores `heapless::Vec::new()`'s uninitialised capacity as zeros) and returning it copies all
/// 12 KB, three quarters of a by-value reconcile's instructions (`callgrind-policy` in the bench crate).
pub fn reconcile_into(plan: &mut Plan, ifaces: &[Iface], rules: &[Rule], backend: Backend, lan: &Lan<'_>) {
    plan.actions.clear();
    plan.dhcp.clear();
    plan.active.clear();
    plan.problems.clear();
    let target = |r: &Rule| target(r, backend, lan.networks);
    // a bridge some rule targets is managed; with ubus it is also the network to leave
    let managed =
        |name: &IfName| rules.iter().filter_map(target).find(|t| t.bridge == *name).map(|t| Target { vlan: None, ..t });
    let filtering = |b: &IfName| lan.filtering.contains(b);
    // filled where it lies: a part built elsewhere and moved in is copied at its full capacity
    let Plan { actions, dhcp, active, problems } = plan;
    for iface in ifaces.iter().take(MAX_IFACES) {
        let matched = match_rule(iface, rules);
        let to = matched.and_then(|(_, r)| target(r));
        if iface.is_active_ap() {
            let _ =
                active.push(Assignment { ifindex: iface.ifindex, rule: matched.map(|(i, _)| i), target: to.clone() });
        }
        let from = || {
            iface.master.as_ref().map(|m| managed(m).unwrap_or(Target { bridge: m.clone(), network: None, vlan: None }))
        };
        let ifname = iface.ifname.clone();
        let action = match (matched, to) {
            (Some((rule, _)), Some(to)) if to.vlan.is_some() && !filtering(&to.bridge) => {
                add_problem(problems, Problem::NotFiltering { rule, bridge: to.bridge });
                None // left where it is
            }
            (Some((rule, _)), Some(to)) if iface.master.as_ref() != Some(&to.bridge) => {
                Some(Action::Join { ifindex: iface.ifindex, ifname, rule, to, from: from() })
            }
            (Some((rule, _)), Some(to)) if to.vlan.is_some() && iface.port_vlan != to.vlan => {
                Some(Action::SetVlan { ifindex: iface.ifindex, ifname, rule, to })
            }
            (Some(_), Some(_)) => None,
            _ => match iface.master.as_ref().and_then(&managed) {
                Some(from) if iface.may_leave() => Some(Action::Leave { ifindex: iface.ifindex, ifname, from }),
                _ => None,
            },
        };
        if let Some(a) = action {
            let _ = actions.push(a);
        }
    }
    for (i, rule) in rules.iter().enumerate().take(MAX_RULES) {
        let mut file = FileName::new();
        if dnsmasq::file_name(&rule.name, &mut file).is_err() {
            continue; // cannot happen: rule names are at most 32 bytes
        }
        // a rule whose APs are left where they are (no filtering) serves no DHCP either
        let unserved = problems.iter().any(|p| matches!(p, Problem::NotFiltering { rule, .. } if *rule == i));
        let serve = match target(rule) {
            Some(t) if rule.dhcp.is_some() && active.iter().any(|a| a.rule == Some(i)) && !unserved => {
                dhcp_interface(&t, lan, i, problems)
            }
            _ => None,
        };
        let _ = dhcp.push(DhcpFile { rule: i, file, serve });
    }
}

fn add_problem(problems: &mut heapless::Vec<Problem, MAX_RULES>, p: Problem) {
    if !problems.contains(&p) {
        let _ = problems.push(p);
    }
}

/// Where a rule's DHCP is served: netifd's L3 device of the network, else (with a VLAN) the
/// bridge's VLAN device of that id, else the bridge itself.
fn dhcp_interface(
    t: &Target,
    lan: &Lan<'_>,
    rule: usize,
    problems: &mut heapless::Vec<Problem, MAX_RULES>,
) -> Option<IfName> {
    let l3 = t
        .network
        .as_ref()
        .and_then(|n| lan.networks.iter().find(|x| x.network == *n))
        .and_then(|n| n.l3_device.clone());
    match (l3, t.vlan) {
        (Some(l3), _) => Some(l3),
        (None, None) => Some(t.bridge.clone()),
        (None, Some(vid)) => {
            let dev = lan.vlan_devices.iter().find(|d| d.bridge == t.bridge && d.vid == vid).map(|d| d.name.clone());
            if dev.is_none() {
                add_problem(problems, Problem::NoVlanDevice { rule, bridge: t.bridge.clone(), vid });
            }
            dev
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;

    const RULES: &str = "\
config rule 'foo'
\toption ssid 'foo'
\toption bridge 'br-foo'
\toption dhcp_range '192.0.2.10,192.0.2.20'
config rule 'bar'
\toption ssid 'bar'
\toption bridge 'br-bar'
config rule 'hex'
\toption ssid_hex '66ff6f80'
\toption bridge 'br-hex'
\toption phy 'phy1'
config rule 'net'
\toption ssid 'guest'
\toption network 'guest'
";

    fn rules() -> heapless::Vec<Rule, MAX_RULES> {
        config::parse(RULES.as_bytes()).unwrap().rules
    }

    fn name(s: &str) -> IfName {
        IfName::try_from(s).unwrap()
    }

    fn ap(ifindex: u32, ssid: Option<&[u8]>, master: Option<&str>) -> Iface {
        Iface {
            ifindex,
            ifname: name("wlan0"),
            wiphy: Some(0),
            wdev: None,
            iftype: Some(IfType::Ap),
            ssid: ssid.map(|s| Ssid::new(s).unwrap()),
            master: master.map(name),
            port_vlan: None,
        }
    }

    fn rtnl(bridge: &str) -> Target {
        Target { bridge: name(bridge), network: None, vlan: None }
    }

    fn join(ifindex: u32, rule: usize, bridge: &str, was: Option<&str>) -> Action {
        Action::Join { ifindex, ifname: name("wlan0"), rule, to: rtnl(bridge), from: was.map(rtnl) }
    }

    fn leave(ifindex: u32, bridge: &str) -> Action {
        Action::Leave { ifindex, ifname: name("wlan0"), from: rtnl(bridge) }
    }

    #[test]
    fn an_active_ap_joins_its_rules_bridge_and_wants_dhcp() {
        let p = reconcile(&[ap(2, Some(b"foo"), None)], &rules(), Backend::Rtnl);
        assert_eq!(p.actions.as_slice(), [join(2, 0, "br-foo", None)]);
        assert!(p.rule_active(0) && !p.rule_active(1));
        assert_eq!(p.active.as_slice(), [Assignment { ifindex: 2, rule: Some(0), target: Some(rtnl("br-foo")) }]);
        // the plan names the drop-in and the interface it serves; rules without DHCP options or
        // without an active AP have their file removed
        assert_eq!(p.dhcp[0].file.as_str(), "apwatch-foo.conf");
        assert_eq!(p.dhcp[0].serve.as_deref(), Some("br-foo"));
        assert!(p.dhcp[1..].iter().all(|d| d.serve.is_none()));
        assert_eq!(p.dhcp.len(), 4);
        // already there: nothing to do, DHCP still wanted
        let p = reconcile(&[ap(2, Some(b"foo"), Some("br-foo"))], &rules(), Backend::Rtnl);
        assert!(p.actions.is_empty());
        assert!(p.rule_active(0));
    }

    #[test]
    fn flip_flop_converges_to_the_last_ssid() {
        // foo -> bar -> foo within a burst: the kernel's latest truth is all the policy sees
        let mut state = ap(2, Some(b"foo"), None);
        for (ssid, bridge) in [(&b"bar"[..], "br-bar"), (b"foo", "br-foo"), (b"bar", "br-bar")] {
            state.ssid = Some(Ssid::new(ssid).unwrap());
            let p = reconcile(core::slice::from_ref(&state), &rules(), Backend::Rtnl);
            match p.actions.as_slice() {
                [Action::Join { to, .. }] => assert_eq!(to.bridge.as_str(), bridge),
                [] => assert_eq!(state.master.as_deref(), Some(bridge)),
                other => panic!("{other:?}"),
            }
            state.master = Some(name(bridge));
        }
        let p = reconcile(&[state], &rules(), Backend::Rtnl);
        assert!(p.actions.is_empty());
        assert!(p.rule_active(1) && !p.rule_active(0));
    }

    #[test]
    fn an_ap_moves_between_bridges() {
        let p = reconcile(&[ap(2, Some(b"bar"), Some("br-foo"))], &rules(), Backend::Rtnl);
        assert_eq!(p.actions.as_slice(), [join(2, 1, "br-bar", Some("br-foo"))]);
    }

    #[test]
    fn stop_then_start() {
        // hostapd exited: AP without SSID, still in the bridge -> leaves, DHCP off
        let p = reconcile(&[ap(2, None, Some("br-foo"))], &rules(), Backend::Rtnl);
        assert_eq!(p.actions.as_slice(), [leave(2, "br-foo")]);
        assert!(p.dhcp.iter().all(|d| d.serve.is_none()));
        assert!(p.active.is_empty());
        // back to station (not bridged): nothing
        let mut sta = ap(2, None, None);
        sta.iftype = Some(IfType::Station);
        let p = reconcile(&[sta], &rules(), Backend::Rtnl);
        assert!(p.actions.is_empty() && p.active.is_empty() && p.dhcp.iter().all(|d| d.serve.is_none()));
        // started again
        let p = reconcile(&[ap(2, Some(b"foo"), None)], &rules(), Backend::Rtnl);
        assert_eq!(p.actions.as_slice(), [join(2, 0, "br-foo", None)]);
    }

    #[test]
    fn two_bsses_on_one_radio_go_to_two_bridges() {
        let mut second = ap(6, Some(b"bar"), None);
        second.ifname = name("wlan0-1");
        let p = reconcile(&[ap(2, Some(b"foo"), None), second], &rules(), Backend::Rtnl);
        let mut join6 = join(6, 1, "br-bar", None);
        if let Action::Join { ifname, .. } = &mut join6 {
            *ifname = name("wlan0-1");
        }
        assert_eq!(p.actions.as_slice(), [join(2, 0, "br-foo", None), join6]);
        assert!(p.rule_active(0) && p.rule_active(1));
    }

    #[test]
    fn ssid_hex_rules_and_phy_filters() {
        let mut a = ap(3, Some(b"f\xffo\x80"), None);
        a.wiphy = Some(1);
        let p = reconcile(core::slice::from_ref(&a), &rules(), Backend::Rtnl);
        assert_eq!(p.actions.as_slice(), [join(3, 2, "br-hex", None)]);
        a.wiphy = Some(0);
        assert!(reconcile(&[a], &rules(), Backend::Rtnl).actions.is_empty());
    }

    #[test]
    fn no_rule_matches_leaves_it_alone_unless_in_a_managed_bridge() {
        let p = reconcile(&[ap(2, Some(b"other"), Some("br-lan"))], &rules(), Backend::Rtnl);
        assert!(p.actions.is_empty());
        assert_eq!(p.active.as_slice(), [Assignment { ifindex: 2, rule: None, target: None }]);
        let p = reconcile(&[ap(2, Some(b"other"), Some("br-foo"))], &rules(), Backend::Rtnl);
        assert_eq!(p.actions.as_slice(), [leave(2, "br-foo")]);
        // an AP/VLAN netdev in a managed bridge belongs to hostapd: untouched
        let mut vlan = ap(9, None, Some("br-foo"));
        vlan.iftype = Some(IfType::ApVlan);
        assert!(reconcile(&[vlan], &rules(), Backend::Rtnl).actions.is_empty());
    }

    #[test]
    fn ubus_backend_targets_netifd_bridges() {
        let p = reconcile(&[ap(2, Some(b"guest"), None)], &rules(), Backend::Ubus);
        let guest = Target { bridge: name("br-guest"), network: Some(Name::try_from("guest").unwrap()), vlan: None };
        let want = Action::Join { ifindex: 2, ifname: name("wlan0"), rule: 3, to: guest.clone(), from: None };
        assert_eq!(p.actions.as_slice(), [want]);
        // moving out of a managed bridge names the network to leave
        let mut a = ap(2, Some(b"other"), Some("br-guest"));
        a.ssid = Some(Ssid::new(b"other").unwrap());
        let p = reconcile(&[a], &rules(), Backend::Ubus);
        assert_eq!(p.actions.as_slice(), [Action::Leave { ifindex: 2, ifname: name("wlan0"), from: guest }]);
        // what netifd reports wins over the br-<network> guess; no device: not served at all
        let nets = |device: Option<&str>| {
            [NetworkDevice { network: Name::try_from("guest").unwrap(), device: device.map(name), l3_device: None }]
        };
        let p = reconcile_with(
            &[ap(2, Some(b"guest"), None)],
            &rules(),
            Backend::Ubus,
            &Lan { networks: &nets(Some("br-lan")), ..Lan::default() },
        );
        assert!(matches!(&p.actions[..], [Action::Join { to, .. }] if to.bridge == "br-lan"));
        let p = reconcile_with(
            &[ap(2, Some(b"guest"), None)],
            &rules(),
            Backend::Ubus,
            &Lan { networks: &nets(None), ..Lan::default() },
        );
        assert!(p.actions.is_empty());
        assert_eq!(p.active[0].rule, Some(3));
        assert_eq!(p.active[0].target, None);
        // the rtnl backend cannot serve a network-only rule
        assert!(reconcile(&[ap(2, Some(b"guest"), None)], &rules(), Backend::Rtnl).actions.is_empty());
    }

    #[test]
    fn the_record_is_filled_from_a_recorded_get_interface_reply() {
        use crate::genl::GenlMessage;
        use crate::netlink::Messages;
        use crate::nl80211::Event;
        let m = Messages::new(crate::testdata::GET_INTERFACE_AP_FOO, crate::ByteOrder::Little).next().unwrap().unwrap();
        let Event::NewInterface(i) = Event::parse(&GenlMessage::parse(&m).unwrap()).unwrap() else { panic!() };
        let rec = Iface::from_nl80211(&i).unwrap();
        assert_eq!(
            rec,
            Iface {
                ifindex: 2,
                ifname: name("wlan0"),
                wiphy: Some(0),
                wdev: Some(1),
                iftype: Some(IfType::Ap),
                ssid: Some(Ssid::new(b"foo").unwrap()),
                master: None,
                port_vlan: None,
            }
        );
        assert!(rec.is_active_ap());
        // a name apwatch cannot manage (not UTF-8) gives no record
        let mut bad = i;
        bad.ifname = Some(b"wl\xff");
        assert_eq!(Iface::from_nl80211(&bad), None);
        bad.ifname = i.ifname;
        bad.ifindex = None;
        assert_eq!(Iface::from_nl80211(&bad), None);
    }

    #[test]
    fn a_start_ap_event_is_the_record_at_that_instant() {
        let ev = ApEvent {
            wiphy: Some(1),
            ifindex: 2,
            wdev: Some(7),
            ssid: Some(crate::SsidRef::new(b"bar").unwrap()),
            link_id: None,
        };
        // a station netdev that was in no bridge becomes an active AP of "bar"
        let mut sta = ap(2, None, Some("br-lan"));
        sta.iftype = Some(IfType::Station);
        let rec = Iface::after_start_ap(Some(&sta), None, &ev).unwrap();
        assert_eq!((rec.iftype, rec.wiphy, rec.wdev), (Some(IfType::Ap), Some(1), Some(7)));
        assert_eq!(rec.ssid.as_ref().unwrap().as_bytes(), b"bar");
        assert_eq!(rec.master.as_deref(), Some("br-lan"));
        assert!(rec.is_active_ap());
        // an unknown netdev needs its name from rtnetlink
        assert_eq!(Iface::after_start_ap(None, None, &ev), None);
        let new = Iface::after_start_ap(None, Some(name("wlan1")), &ev).unwrap();
        assert_eq!((new.ifindex, new.ifname.as_str()), (2, "wlan1"));
        // without an SSID the event says nothing about where the AP belongs
        let no_ssid = ApEvent { ssid: None, ..ev };
        assert_eq!(Iface::after_start_ap(Some(&sta), None, &no_ssid), None);
    }

    const VLAN_RULES: &str = "\
config rule 'home'
\toption ssid 'home'
\toption bridge 'br-lan'
\toption vlan '10'
\toption dhcp_start '100'
\toption dhcp_limit '50'
config rule 'guest'
\toption ssid 'guest'
\toption bridge 'br-lan'
\toption vlan '20'
\toption dhcp_start '100'
\toption dhcp_limit '50'
config rule 'plain'
\toption ssid 'plain'
\toption bridge 'br-plain'
\toption dhcp_start '100'
\toption dhcp_limit '50'
";

    #[test]
    fn a_vlan_rule_joins_its_bridge_then_its_vlan_and_serves_dhcp_on_the_vlan_device() {
        let rules = config::parse(VLAN_RULES.as_bytes()).unwrap().rules;
        let filtering = [name("br-lan")];
        let devs = [
            VlanDevice { bridge: name("br-lan"), vid: 10, name: name("br-lan.10") },
            VlanDevice { bridge: name("br-lan"), vid: 20, name: name("br-lan.20") },
        ];
        let lan = Lan { filtering: &filtering, vlan_devices: &devs, ..Lan::default() };
        let to = |vid| Target { bridge: name("br-lan"), network: None, vlan: Some(vid) };
        // not in the bridge yet: join (the effect sets the VLAN with it)
        let p = reconcile_with(&[ap(2, Some(b"guest"), None)], &rules, Backend::Rtnl, &lan);
        assert_eq!(
            p.actions.as_slice(),
            [Action::Join { ifindex: 2, ifname: name("wlan0"), rule: 1, to: to(20), from: None }]
        );
        assert_eq!(p.dhcp[1].serve.as_deref(), Some("br-lan.20"));
        assert!(p.dhcp[0].serve.is_none() && p.problems.is_empty());
        // in br-lan but still carrying VLAN 10 (the SSID flipped home -> guest): only the VLAN moves
        let mut a = ap(2, Some(b"guest"), Some("br-lan"));
        a.port_vlan = Some(10);
        let p = reconcile_with(core::slice::from_ref(&a), &rules, Backend::Rtnl, &lan);
        assert_eq!(p.actions.as_slice(), [Action::SetVlan { ifindex: 2, ifname: name("wlan0"), rule: 1, to: to(20) }]);
        // the default PVID 1 after a join, or several VLANs: not "only 20" either
        a.port_vlan = None;
        assert_eq!(reconcile_with(core::slice::from_ref(&a), &rules, Backend::Rtnl, &lan).actions.len(), 1);
        // done: nothing to do
        a.port_vlan = Some(20);
        assert!(reconcile_with(&[a], &rules, Backend::Rtnl, &lan).actions.is_empty());
        // a rule without a VLAN beside them is served as before, on its bridge
        let p = reconcile_with(&[ap(3, Some(b"plain"), None)], &rules, Backend::Rtnl, &lan);
        assert!(matches!(&p.actions[..], [Action::Join { to, .. }] if to.bridge == "br-plain" && to.vlan.is_none()));
        assert_eq!(p.dhcp[2].serve.as_deref(), Some("br-plain"));
    }

    #[test]
    fn a_vlan_rule_on_a_bridge_without_filtering_leaves_the_ap_where_it_is() {
        let rules = config::parse(VLAN_RULES.as_bytes()).unwrap().rules;
        let p = reconcile_with(&[ap(2, Some(b"home"), Some("br-other"))], &rules, Backend::Rtnl, &Lan::default());
        assert!(p.actions.is_empty());
        assert_eq!(p.problems.as_slice(), [Problem::NotFiltering { rule: 0, bridge: name("br-lan") }]);
        // filtering but no VLAN device for DHCP: the port is handled, DHCP waits and says why
        let filtering = [name("br-lan")];
        let lan = Lan { filtering: &filtering, ..Lan::default() };
        let p = reconcile_with(&[ap(2, Some(b"home"), None)], &rules, Backend::Rtnl, &lan);
        assert_eq!(p.actions.len(), 1);
        assert_eq!(p.dhcp[0].serve, None);
        assert_eq!(p.problems.as_slice(), [Problem::NoVlanDevice { rule: 0, bridge: name("br-lan"), vid: 10 }]);
        // with ubus, netifd's l3_device is where DHCP goes
        let ubus_rules = config::parse(
            b"config rule 'guest'\n\toption ssid 'guest'\n\toption network 'guest'\n\toption vlan '20'\n\toption dhcp_start '100'\n\toption dhcp_limit '50'\n",
        )
        .unwrap()
        .rules;
        let nets = [NetworkDevice {
            network: Name::try_from("guest").unwrap(),
            device: Some(name("br-lan")),
            l3_device: Some(name("br-lan.20")),
        }];
        let lan = Lan { networks: &nets, filtering: &filtering, ..Lan::default() };
        let p = reconcile_with(&[ap(2, Some(b"guest"), None)], &ubus_rules, Backend::Ubus, &lan);
        assert!(matches!(&p.actions[..], [Action::Join { to, .. }] if to.bridge == "br-lan" && to.vlan == Some(20)));
        assert_eq!(p.dhcp[0].serve.as_deref(), Some("br-lan.20"));
    }

    #[test]
    fn a_plan_refilled_in_place_is_the_plan_made_anew() {
        let rules = rules();
        let inputs: [&[Iface]; 4] = [
            &[ap(2, Some(b"foo"), None), ap(6, Some(b"bar"), Some("br-foo"))],
            &[ap(2, None, Some("br-foo"))],
            &[ap(2, Some(b"other"), Some("br-bar"))],
            &[],
        ];
        let mut kept = reconcile(inputs[0], &rules, Backend::Rtnl);
        kept.problems.push(Problem::NotFiltering { rule: 9, bridge: name("br-x") }).unwrap();
        for (i, ifaces) in inputs.iter().enumerate() {
            for backend in [Backend::Rtnl, Backend::Ubus] {
                reconcile_into(&mut kept, ifaces, &rules, backend, &Lan::default());
                assert_eq!(kept, reconcile(ifaces, &rules, backend), "input {i}, {backend:?}");
            }
        }
    }

    #[test]
    fn interface_capacity_is_bounded() {
        let many: std::vec::Vec<Iface> = (0..40).map(|i| ap(i, Some(b"foo"), None)).collect();
        let p = reconcile(&many, &rules(), Backend::Rtnl);
        assert_eq!(p.actions.len(), MAX_IFACES);
    }
}
