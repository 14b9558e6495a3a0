//! The reconcile policy: from the interfaces as the kernel reports them and the rules, decide
//! which AP joins which bridge, which netdev leaves a bridge apwatch manages, and which rules
//! need DHCP. Pure and stateless: the same inputs give the same plan, so a restart, a burst of
//! events or a lost event all converge on what the kernel says now.
//!
//! An AP is *active* while its iftype is AP (or P2P-GO) *and* it has an SSID: hostapd's normal
//! exit sends no STOP_AP, and a bridged AP netdev then stays AP and up, with no SSID.

use core::fmt::Write;

use crate::config::{Backend, IfName, Rule, MAX_RULES};
use crate::nl80211::IfType;
use crate::ssid::Ssid;

pub use crate::limits::MAX_IFACES;

/// A wireless interface as observed: nl80211's view merged with rtnetlink's master.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Iface {
    /// The netdev.
    pub ifindex: u32,
    /// Its name.
    pub ifname: IfName,
    /// Its radio.
    pub wiphy: Option<u32>,
    /// Its type.
    pub iftype: Option<IfType>,
    /// The SSID it serves, if any.
    pub ssid: Option<Ssid>,
    /// The name of its master (bridge), if any.
    pub master: Option<IfName>,
}

impl Iface {
    /// Beaconing with an SSID.
    pub fn is_active_ap(&self) -> bool {
        matches!(self.iftype, Some(IfType::Ap | IfType::P2pGo)) && self.ssid.is_some()
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

/// The bridge an AP of `rule` belongs in: `bridge`, or for ubus without one, netifd's
/// `br-<network>`.
pub fn target_bridge(rule: &Rule, backend: Backend) -> Option<IfName> {
    match (backend, &rule.bridge, &rule.network) {
        (_, Some(b), _) => Some(b.clone()),
        (Backend::Ubus | Backend::Auto, None, Some(n)) => {
            let mut s = IfName::new();
            write!(s, "br-{n}").ok().map(|_| s)
        }
        _ => None,
    }
}

/// One step towards the wanted state.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Action {
    /// Make `ifindex` a port of `bridge` (moving it out of `was`, if set).
    Join {
        /// The AP netdev.
        ifindex: u32,
        /// Index into the rules.
        rule: usize,
        /// The bridge to join.
        bridge: IfName,
        /// The bridge it is in now, if any.
        was: Option<IfName>,
    },
    /// Take `ifindex` out of `bridge`, a bridge apwatch manages that it no longer belongs in.
    Leave {
        /// The netdev.
        ifindex: u32,
        /// Its current bridge.
        bridge: IfName,
    },
}

/// What an interface is to the policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Assignment {
    /// The netdev.
    pub ifindex: u32,
    /// The matching rule, for an active AP that matches one.
    pub rule: Option<usize>,
}

/// The decision of one reconcile.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Plan {
    /// Bridge changes, at most one per interface.
    pub actions: heapless::Vec<Action, MAX_IFACES>,
    /// Bit `i` set: rule `i` has at least one active AP, so its DHCP drop-in should exist.
    pub dhcp: u32,
    /// Every active AP and its rule.
    pub active: heapless::Vec<Assignment, MAX_IFACES>,
}

impl Plan {
    /// Whether rule `i` has an active AP.
    pub fn rule_active(&self, i: usize) -> bool {
        u32::try_from(i).ok().and_then(|i| self.dhcp.checked_shr(i)).is_some_and(|b| b & 1 != 0)
    }
}

/// Decides the plan for `ifaces` (at most [`MAX_IFACES`] are considered) under `rules`.
pub fn reconcile(ifaces: &[Iface], rules: &[Rule], backend: Backend) -> Plan {
    const _: () = assert!(MAX_RULES <= 32);
    let mut plan = Plan::default();
    let managed = |name: &IfName| rules.iter().any(|r| target_bridge(r, backend).as_ref() == Some(name));
    for iface in ifaces.iter().take(MAX_IFACES) {
        let matched = match_rule(iface, rules);
        if iface.is_active_ap() {
            let _ = plan.active.push(Assignment { ifindex: iface.ifindex, rule: matched.map(|(i, _)| i) });
        }
        let target = matched.and_then(|(i, r)| Some((i, target_bridge(r, backend)?)));
        let action = match (target, &iface.master) {
            (Some((i, bridge)), master) => {
                plan.dhcp |= 1u32.checked_shl(u32::try_from(i).unwrap_or(u32::MAX)).unwrap_or(0);
                (master.as_ref() != Some(&bridge)).then(|| Action::Join {
                    ifindex: iface.ifindex,
                    rule: i,
                    bridge,
                    was: master.clone(),
                })
            }
            (None, Some(m)) if managed(m) && iface.may_leave() => {
                Some(Action::Leave { ifindex: iface.ifindex, bridge: m.clone() })
            }
            (None, _) => None,
        };
        if let Some(a) = action {
            let _ = plan.actions.push(a);
        }
    }
    plan
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
            iftype: Some(IfType::Ap),
            ssid: ssid.map(|s| Ssid::new(s).unwrap()),
            master: master.map(name),
        }
    }

    fn join(ifindex: u32, rule: usize, bridge: &str, was: Option<&str>) -> Action {
        Action::Join { ifindex, rule, bridge: name(bridge), was: was.map(name) }
    }

    #[test]
    fn an_active_ap_joins_its_rules_bridge_and_wants_dhcp() {
        let p = reconcile(&[ap(2, Some(b"foo"), None)], &rules(), Backend::Rtnl);
        assert_eq!(p.actions.as_slice(), [join(2, 0, "br-foo", None)]);
        assert!(p.rule_active(0) && !p.rule_active(1));
        assert_eq!(p.active.as_slice(), [Assignment { ifindex: 2, rule: Some(0) }]);
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
                [Action::Join { bridge: b, .. }] => assert_eq!(b.as_str(), bridge),
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
        assert_eq!(p.actions.as_slice(), [Action::Leave { ifindex: 2, bridge: name("br-foo") }]);
        assert_eq!(p.dhcp, 0);
        assert!(p.active.is_empty());
        // back to station (not bridged): nothing
        let mut sta = ap(2, None, None);
        sta.iftype = Some(IfType::Station);
        assert_eq!(reconcile(&[sta], &rules(), Backend::Rtnl), Plan::default());
        // started again
        let p = reconcile(&[ap(2, Some(b"foo"), None)], &rules(), Backend::Rtnl);
        assert_eq!(p.actions.as_slice(), [join(2, 0, "br-foo", None)]);
    }

    #[test]
    fn two_bsses_on_one_radio_go_to_two_bridges() {
        let mut second = ap(6, Some(b"bar"), None);
        second.ifname = name("wlan0-1");
        let p = reconcile(&[ap(2, Some(b"foo"), None), second], &rules(), Backend::Rtnl);
        assert_eq!(p.actions.as_slice(), [join(2, 0, "br-foo", None), join(6, 1, "br-bar", None)]);
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
        assert_eq!(p.active.as_slice(), [Assignment { ifindex: 2, rule: None }]);
        let p = reconcile(&[ap(2, Some(b"other"), Some("br-foo"))], &rules(), Backend::Rtnl);
        assert_eq!(p.actions.as_slice(), [Action::Leave { ifindex: 2, bridge: name("br-foo") }]);
        // an AP/VLAN netdev in a managed bridge belongs to hostapd: untouched
        let mut vlan = ap(9, None, Some("br-foo"));
        vlan.iftype = Some(IfType::ApVlan);
        assert!(reconcile(&[vlan], &rules(), Backend::Rtnl).actions.is_empty());
    }

    #[test]
    fn ubus_backend_targets_netifd_bridges() {
        let p = reconcile(&[ap(2, Some(b"guest"), None)], &rules(), Backend::Ubus);
        assert_eq!(p.actions.as_slice(), [join(2, 3, "br-guest", None)]);
        // the rtnl backend cannot serve a network-only rule
        assert!(reconcile(&[ap(2, Some(b"guest"), None)], &rules(), Backend::Rtnl).actions.is_empty());
    }

    #[test]
    fn interface_capacity_is_bounded() {
        let many: std::vec::Vec<Iface> = (0..40).map(|i| ap(i, Some(b"foo"), None)).collect();
        let p = reconcile(&many, &rules(), Backend::Rtnl);
        assert_eq!(p.actions.len(), MAX_IFACES);
    }
}
