//! Re-querying the kernel: the full dump (start, ENOBUFS, retries) and the per-netdev re-query
//! after a burst of hints. The view holds what the kernel answered, never what an event said.

use crate::kernel::{self, Kernel, LinkInfo};
use crate::view::View;

/// Links and wireless interfaces, all of them.
pub fn full_dump(kernel: &mut Kernel, view: &mut View) -> kernel::Result<()> {
    view.links = kernel.dump_links()?.into_iter().map(|l| (l.ifindex, l)).collect();
    view.wifi = if kernel.has_wifi() {
        kernel.dump_interfaces()?.into_iter().map(|w| (w.ifindex, w)).collect()
    } else {
        Default::default()
    };
    debug!("resync: {} links, {} wireless interfaces", view.links.len(), view.wifi.len());
    Ok(())
}

/// The link and the wireless interface of each hinted netdev (latest wins: whatever the events
/// said, this is what the kernel says now).
pub fn requery(kernel: &mut Kernel, view: &mut View, ids: &[u32]) -> kernel::Result<()> {
    for &id in ids {
        refresh_link(kernel, view, id)?;
        let w = if kernel.has_wifi() { kernel.get_interface(id)? } else { None };
        match w {
            Some(w) => view.wifi.insert(id, w),
            None => view.wifi.remove(&id),
        }
    }
    Ok(())
}

/// Asks the kernel for link `id` and puts its answer (or its absence) into the view.
pub fn refresh_link(kernel: &mut Kernel, view: &mut View, id: u32) -> kernel::Result<()> {
    // a known link's record is refreshed in place: its buffers are reused
    let found = match view.links.get_mut(&id) {
        Some(known) => kernel.refresh_link(id, known)?,
        None => {
            let mut new = LinkInfo::default();
            let found = kernel.refresh_link(id, &mut new)?;
            if found {
                view.links.insert(id, new);
            }
            found
        }
    };
    if !found {
        view.links.remove(&id);
    }
    Ok(())
}

/// Every IPv4 address (for DHCP ranges given as offsets).
pub fn refresh_addrs(kernel: &mut Kernel, view: &mut View) -> kernel::Result<()> {
    view.addrs = kernel.dump_addrs()?;
    Ok(())
}

/// Every bridge port's VLANs (only read while some rule has a VLAN).
pub fn refresh_port_vlans(kernel: &mut Kernel, view: &mut View) -> kernel::Result<()> {
    view.port_vlans = kernel.dump_port_vlans()?.into_iter().collect();
    Ok(())
}
