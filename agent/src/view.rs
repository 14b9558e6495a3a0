//! What the agent knows of the kernel: wireless interfaces (nl80211), links (names, masters),
//! IPv4 addresses. Filled by dumps and re-queries, never by guessing from an event.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use apwatch_core::config::IfName;
use apwatch_core::policy::Iface;

use crate::kernel::{LinkInfo, WifiInfo};

#[derive(Default)]
pub struct View {
    pub wifi: BTreeMap<u32, WifiInfo>,
    pub links: BTreeMap<u32, LinkInfo>,
    pub addrs: Vec<(u32, Ipv4Addr, u8)>,
}

/// A name from the kernel as an `IfName`; a name that does not fit is not ours to manage.
pub fn ifname(bytes: &[u8]) -> Option<IfName> {
    IfName::try_from(std::str::from_utf8(bytes).ok()?).ok()
}

impl View {
    pub fn link_name(&self, ifindex: u32) -> Option<&[u8]> {
        self.links.get(&ifindex).map(|l| l.name.as_slice())
    }

    pub fn ifindex_of(&self, name: &str) -> Option<u32> {
        self.links.values().find(|l| l.name == name.as_bytes()).map(|l| l.ifindex)
    }

    /// The first IPv4 address of link `name`.
    pub fn addr_of(&self, name: &str) -> Option<(Ipv4Addr, u8)> {
        let idx = self.ifindex_of(name)?;
        self.addrs.iter().find(|(i, _, _)| *i == idx).map(|(_, a, p)| (*a, *p))
    }

    /// The policy's input: wireless netdevs with their current master's name.
    pub fn ifaces(&self) -> Vec<Iface> {
        self.wifi
            .values()
            .filter_map(|w| {
                let link = self.links.get(&w.ifindex);
                let name = link.map_or(w.ifname.as_slice(), |l| l.name.as_slice());
                Some(Iface {
                    ifindex: w.ifindex,
                    ifname: ifname(name)?,
                    wiphy: w.wiphy,
                    iftype: w.iftype,
                    ssid: w.ssid.clone(),
                    master: link.and_then(|l| l.master).and_then(|m| self.link_name(m)).and_then(ifname),
                })
            })
            .collect()
    }
}
