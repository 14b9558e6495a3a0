//! What the agent knows of the kernel: wireless interfaces (nl80211), links (names, masters),
//! IPv4 addresses. Filled by dumps and re-queries, never by guessing from an event.

use std::net::Ipv4Addr;

use apwatch_core::brvlan::{vflag, VlanRange};
use apwatch_core::config::IfName;
use apwatch_core::policy::{Iface, VlanDevice};

use crate::kernel::LinkInfo;

/// A small map keyed by ifindex, kept sorted: a router has tens of links, and a `BTreeMap` per
/// value type would cost flash for nothing. The keys are a vector of their own, so the search,
/// and the bookkeeping of inserts and removals, is one copy of code for every value type.
#[derive(Clone, Debug)]
pub struct IdMap<V> {
    keys: Vec<u32>,
    vals: Vec<V>,
}

impl<V> Default for IdMap<V> {
    fn default() -> Self {
        IdMap { keys: Vec::new(), vals: Vec::new() }
    }
}

/// Where `k` is in `keys` (`Ok`), or where it would go (`Err`).
fn find(keys: &[u32], k: u32) -> Result<usize, usize> {
    keys.binary_search(&k)
}

/// Removes every key `keep` refuses from `keys`, and the value at the same place (`drop_at`).
fn retain_keys(keys: &mut Vec<u32>, keep: &mut dyn FnMut(&u32) -> bool, drop_at: &mut dyn FnMut(usize)) {
    let mut i = 0;
    while let Some(k) = keys.get(i) {
        if keep(k) {
            i += 1;
        } else {
            keys.remove(i);
            drop_at(i);
        }
    }
}

impl<V> IdMap<V> {
    pub fn get(&self, k: &u32) -> Option<&V> {
        find(&self.keys, *k).ok().and_then(|i| self.vals.get(i))
    }
    pub fn get_mut(&mut self, k: &u32) -> Option<&mut V> {
        find(&self.keys, *k).ok().and_then(|i| self.vals.get_mut(i))
    }
    pub fn contains_key(&self, k: &u32) -> bool {
        find(&self.keys, *k).is_ok()
    }
    pub fn insert(&mut self, k: u32, v: V) {
        match find(&self.keys, k) {
            Ok(i) => {
                if let Some(slot) = self.vals.get_mut(i) {
                    *slot = v;
                }
            }
            Err(i) => {
                self.keys.insert(i, k);
                self.vals.insert(i, v);
            }
        }
    }
    pub fn remove(&mut self, k: &u32) {
        if let Ok(i) = find(&self.keys, *k) {
            self.keys.remove(i);
            self.vals.remove(i);
        }
    }
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.vals.iter()
    }
    pub fn retain(&mut self, mut keep: impl FnMut(&u32) -> bool) {
        let vals = &mut self.vals;
        retain_keys(&mut self.keys, &mut keep, &mut |i| {
            vals.remove(i);
        });
    }
    pub fn iter(&self) -> impl Iterator<Item = (u32, &V)> {
        self.keys.iter().copied().zip(self.vals.iter())
    }
    pub fn len(&self) -> usize {
        self.keys.len()
    }
}

/// A key given twice keeps its first value (a dump lists each ifindex once).
impl<V> FromIterator<(u32, V)> for IdMap<V> {
    fn from_iter<I: IntoIterator<Item = (u32, V)>>(iter: I) -> Self {
        let mut m = IdMap::default();
        for (k, v) in iter {
            if let Err(i) = find(&m.keys, k) {
                m.keys.insert(i, k);
                m.vals.insert(i, v);
            }
        }
        m
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
    fn the_map_stays_sorted_and_keys_keep_their_values() {
        let mut m: IdMap<&str> = [(7, "g"), (2, "b"), (7, "second g"), (5, "e")].into_iter().collect();
        assert_eq!(m.iter().collect::<Vec<_>>(), [(2, &"b"), (5, &"e"), (7, &"g")]);
        m.insert(3, "c");
        m.insert(5, "E");
        assert_eq!(m.get(&5), Some(&"E"));
        assert_eq!(m.get(&4), None);
        *m.get_mut(&2).unwrap() = "B";
        m.remove(&7);
        m.remove(&8);
        assert_eq!(m.iter().collect::<Vec<_>>(), [(2, &"B"), (3, &"c"), (5, &"E")]);
        m.retain(|k| *k != 3);
        assert_eq!(m.values().copied().collect::<Vec<_>>(), ["B", "E"]);
        assert!(m.contains_key(&5) && !m.contains_key(&3));
        assert_eq!(m.len(), 2);
        m.retain(|_| false);
        assert_eq!(m.len(), 0);
    }

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
