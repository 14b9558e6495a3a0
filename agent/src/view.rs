//! What the agent knows of the kernel: wireless interfaces (nl80211), links (names, masters),
//! IPv4 addresses. Filled by dumps and re-queries, never by guessing from an event.

use std::net::Ipv4Addr;

use apwatch_core::brvlan::{vflag, VlanRange};
use apwatch_core::config::IfName;
use apwatch_core::policy::{Iface, VlanDevice};

use crate::kernel::LinkInfo;

/// A small map keyed by ifindex, kept sorted: a router has tens of links, and a `BTreeMap` per
/// value type would cost flash for nothing.
#[derive(Clone, Debug)]
pub struct IdMap<V>(Vec<(u32, V)>);

impl<V> Default for IdMap<V> {
    fn default() -> Self {
        IdMap(Vec::new())
    }
}

impl<V> IdMap<V> {
    fn pos(&self, k: u32) -> Result<usize, usize> {
        self.0.binary_search_by_key(&k, |(id, _)| *id)
    }
    pub fn get(&self, k: &u32) -> Option<&V> {
        self.pos(*k).ok().and_then(|i| self.0.get(i)).map(|(_, v)| v)
    }
    pub fn get_mut(&mut self, k: &u32) -> Option<&mut V> {
        self.pos(*k).ok().and_then(|i| self.0.get_mut(i)).map(|(_, v)| v)
    }
    pub fn contains_key(&self, k: &u32) -> bool {
        self.pos(*k).is_ok()
    }
    pub fn insert(&mut self, k: u32, v: V) {
        match self.pos(k) {
            Ok(i) => {
                if let Some(slot) = self.0.get_mut(i) {
                    slot.1 = v;
                }
            }
            Err(i) => self.0.insert(i, (k, v)),
        }
    }
    pub fn remove(&mut self, k: &u32) {
        if let Ok(i) = self.pos(*k) {
            self.0.remove(i);
        }
    }
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.0.iter().map(|(_, v)| v)
    }
    pub fn retain(&mut self, mut keep: impl FnMut(&u32) -> bool) {
        self.0.retain(|(k, _)| keep(k));
    }
    pub fn iter(&self) -> impl Iterator<Item = (u32, &V)> {
        self.0.iter().map(|(k, v)| (*k, v))
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl<V> FromIterator<(u32, V)> for IdMap<V> {
    fn from_iter<I: IntoIterator<Item = (u32, V)>>(iter: I) -> Self {
        let mut v: Vec<(u32, V)> = iter.into_iter().collect();
        v.sort_by_key(|(k, _)| *k);
        v.dedup_by_key(|(k, _)| *k);
        IdMap(v)
    }
}

#[derive(Default)]
pub struct View {
    /// Wireless interfaces as nl80211 reports them (`master` is filled from `links` when the
    /// policy's input is made).
    pub wifi: IdMap<Iface>,
    pub links: IdMap<LinkInfo>,
    pub addrs: Vec<(u32, Ipv4Addr, u8)>,
    /// Bridge ports' VLANs (read only while some rule has a VLAN).
    pub port_vlans: IdMap<Vec<VlanRange>>,
}

/// The one VLAN a port carries, as PVID and egress-untagged, when it carries nothing else.
pub fn sole_vlan(ranges: &[VlanRange]) -> Option<u16> {
    let want = vflag::PVID | vflag::UNTAGGED;
    match ranges {
        [r] if r.first == r.last && r.flags & want == want => Some(r.first),
        _ => None,
    }
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

    /// The policy's input: wireless netdevs with their current name and master from rtnetlink.
    pub fn ifaces(&self) -> Vec<Iface> {
        let mut out = Vec::new();
        self.ifaces_into(&mut out);
        out
    }

    /// [`View::ifaces`] into a vector the caller keeps (emptied first).
    pub fn ifaces_into(&self, out: &mut Vec<Iface>) {
        out.clear();
        out.extend(self.wifi.values().filter_map(|w| {
            let link = self.links.get(&w.ifindex);
            let name = match link {
                Some(l) => ifname(&l.name)?,
                None => w.ifname.clone(),
            };
            let master = link.and_then(|l| l.master).and_then(|m| self.link_name(m)).and_then(ifname);
            let port_vlan = self.port_vlans.get(&w.ifindex).and_then(|v| sole_vlan(v));
            Some(Iface { ifname: name, master, port_vlan, ..w.clone() })
        }));
    }
}

impl View {
    /// Bridges with `vlan_filtering` on, and the VLAN devices of bridges (for the policy).
    pub fn vlan_facts(&self) -> (Vec<IfName>, Vec<VlanDevice>) {
        let filtering = self.links.values().filter(|l| l.vlan_filtering).filter_map(|l| ifname(&l.name)).collect();
        let devices = self
            .links
            .values()
            .filter_map(|l| {
                let (parent, vid) = l.vlan_upper?;
                Some(VlanDevice { bridge: ifname(self.link_name(parent)?)?, vid, name: ifname(&l.name)? })
            })
            .collect();
        (filtering, devices)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_single_pvid_untagged_vlan_is_sole() {
        let r = |first, last, flags| VlanRange { first, last, flags };
        let pu = vflag::PVID | vflag::UNTAGGED;
        assert_eq!(sole_vlan(&[r(20, 20, pu)]), Some(20));
        assert_eq!(sole_vlan(&[r(20, 20, vflag::PVID)]), None); // tagged egress
        assert_eq!(sole_vlan(&[r(1, 1, vflag::UNTAGGED), r(20, 20, pu)]), None); // two VLANs
        assert_eq!(sole_vlan(&[r(10, 20, pu)]), None);
        assert_eq!(sole_vlan(&[]), None);
    }
}
