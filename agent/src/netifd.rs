//! OpenWrt's netifd over the native ubus client, with its semantics handled: the real device of
//! each rule's network (`status`), memberships asked with `add_device` and verified against the
//! kernel (netifd returns 0 in cases where nothing happens), stale memberships cleared, failed
//! calls retried, and apwatch's own object and events on the bus.

use apwatch_core::escape::IwEscaped;
use std::path::Path;
use std::time::{Duration, Instant};

use apwatch_core::config::{IfName, Rule};
use apwatch_core::policy::{Action, NetworkDevice};
use apwatch_core::ubus::Status;

use crate::json::Object;
use crate::ubus::{self, Client, Incoming};

/// How long netifd gets to carry out a membership before apwatch asks again.
pub const PATIENCE: Duration = Duration::from_secs(2);
/// Requests for one membership before `rtnl_fallback` (when allowed) sets it over rtnetlink.
const FALLBACK_AFTER: u32 = 3;

/// A membership asked of netifd and not yet seen in the kernel.
struct Asked {
    ifindex: u32,
    bridge: IfName,
    /// A Join (or VLAN change) rather than a Leave: a Leave right after a Join is not the
    /// same request and does not wait for it.
    join: bool,
    at: Instant,
    attempts: u32,
}

/// What to do with a Join or Leave now.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// Ask netifd.
    Ask,
    /// netifd was asked less than [`PATIENCE`] ago: wait for the kernel to show it.
    Wait,
    /// netifd was asked [`FALLBACK_AFTER`] times in vain and `rtnl_fallback` is on.
    Fallback,
}

/// What the bus brought, for the loop.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct BusNews {
    /// netifd's objects or interfaces changed (a restart, ifup/ifdown): re-read the networks and
    /// re-apply every membership.
    pub netifd_changed: bool,
    /// `ubus call apwatch reload`.
    pub reload: bool,
}

/// The bus connection and what apwatch knows of netifd.
pub struct Netifd {
    client: Client,
    /// What netifd said about each rule's network.
    pub networks: Vec<NetworkDevice>,
    asked: Vec<Asked>,
    generation: u64,
    object_added: bool,
    dropped: u64,
}

impl Netifd {
    /// A client for `socket` (default: `$APWATCH_UBUS_SOCKET`, else OpenWrt's paths); connects
    /// lazily.
    pub fn new(socket: Option<&Path>) -> Netifd {
        let mut client = Client::new(socket);
        // netifd answers at once; the loop must not stall behind a hung bus for long
        client.set_timeout(Duration::from_secs(2));
        Netifd { client, networks: Vec::new(), asked: Vec::new(), generation: 0, object_added: false, dropped: 0 }
    }

    /// The socket to poll, while connected.
    pub fn fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        self.client.fd()
    }

    /// Registers apwatch's object and the events it follows (again after a reconnect, by the
    /// client itself). Failures are logged; the next call tries again.
    pub fn register(&mut self) {
        if self.object_added {
            return;
        }
        let r = self
            .client
            .add_object(ubus::APWATCH_OBJECT)
            .and_then(|_| self.client.listen("ubus.object.add"))
            .and_then(|_| self.client.listen("ubus.object.remove"))
            .and_then(|_| self.client.listen("network.interface"));
        match r {
            Ok(()) => {
                self.object_added = true;
                self.generation = self.client.generation();
                info!("ubus: object apwatch registered at {}", crate::out::path(self.client.socket()));
            }
            Err(e) => warn!("ubus at {}: {e}", crate::out::path(self.client.socket())),
        }
    }

    /// Asks netifd for the device of every rule's network. Returns the rules whose network has
    /// no device (netifd would adopt an added netdev as its main device).
    pub fn refresh_networks<'r>(&mut self, rules: &'r [Rule]) -> Vec<&'r Rule> {
        let mut no_device = Vec::new();
        let mut seen: Vec<NetworkDevice> = Vec::new();
        for r in rules {
            let Some(net) = r.network.as_ref() else { continue };
            if seen.iter().any(|n| n.network == *net) {
                continue;
            }
            match self.client.interface_status(net) {
                Ok(st) => {
                    let device = st.device.as_deref().and_then(crate::view::ifname);
                    if device.is_none() {
                        no_device.push(r);
                    }
                    debug!("netifd: network {net}: device {}", device.as_deref().unwrap_or("none"));
                    let l3_device = st.l3_device.as_deref().and_then(crate::view::ifname);
                    seen.push(NetworkDevice { network: net.clone(), device, l3_device });
                }
                Err(ubus::Error::Status(Status::NotFound)) => {
                    debug!("netifd: no network {net} (yet)");
                }
                Err(e) => {
                    warn!("netifd: status of network {net}: {e}");
                    // keep what was known
                    if let Some(old) = self.networks.iter().find(|n| n.network == *net) {
                        seen.push(old.clone());
                    }
                }
            }
        }
        self.networks = seen;
        no_device
    }

    /// Whether to ask netifd for `a` now; forgets memberships the plan no longer wants.
    pub fn decide(&mut self, a: &Action, plan_actions: &[Action], fallback: bool) -> Decision {
        self.asked.retain(|x| plan_actions.iter().any(|p| key(p) == (x.ifindex, &x.bridge, x.join)));
        let now = Instant::now();
        match self.asked.iter().find(|x| (x.ifindex, &x.bridge, x.join) == key(a)) {
            Some(x) if now.duration_since(x.at) < PATIENCE => Decision::Wait,
            Some(x) if fallback && x.attempts >= FALLBACK_AFTER => Decision::Fallback,
            _ => Decision::Ask,
        }
    }

    /// When the oldest membership in flight is due for a check.
    pub fn recheck_at(&self) -> Option<Instant> {
        self.asked.iter().map(|x| x.at + PATIENCE).min()
    }

    /// Forgets every membership in flight (netifd restarted: ask again at once).
    pub fn forget_asked(&mut self) {
        self.asked.clear();
    }

    /// Carries out `a` through netifd: a Join first takes the netdev out of its old network and
    /// out of the target network (netifd may keep a stale member whose kernel port it dropped,
    /// and then answers a new `add_device` with 0 and does nothing), then adds it with
    /// `link-ext` (hostapd, not netifd, brings an AP netdev up). Counted as asked only when
    /// netifd accepted it.
    pub fn apply(&mut self, a: &Action) -> Result<(), ubus::Error> {
        match a {
            Action::Join { ifname, to, from, .. } => {
                let net = to.network.as_deref().ok_or(ubus::Error::BadReply)?;
                if let Some(old) = from.as_ref().and_then(|f| f.network.as_deref()).filter(|o| *o != net) {
                    ignore_not_found(self.client.remove_device(old, ifname.as_bytes()))?;
                }
                ignore_not_found(self.client.remove_device(net, ifname.as_bytes()))?;
                self.client.add_device(net, ifname.as_bytes(), true, to.vlan)?;
            }
            Action::SetVlan { ifname, to, .. } => {
                // netifd sets a member's VLANs when it adds it: take it out and in again
                let net = to.network.as_deref().ok_or(ubus::Error::BadReply)?;
                ignore_not_found(self.client.remove_device(net, ifname.as_bytes()))?;
                self.client.add_device(net, ifname.as_bytes(), true, to.vlan)?;
            }
            Action::Leave { ifname, from, .. } => {
                if let Some(net) = from.network.as_deref() {
                    ignore_not_found(self.client.remove_device(net, ifname.as_bytes()))?;
                }
            }
        }
        let (ifindex, bridge, join) = key(a);
        let now = Instant::now();
        match self.asked.iter_mut().find(|x| (x.ifindex, &x.bridge, x.join) == (ifindex, bridge, join)) {
            Some(x) => {
                x.at = now;
                x.attempts += 1;
            }
            None => self.asked.push(Asked { ifindex, bridge: bridge.clone(), join, at: now, attempts: 1 }),
        }
        Ok(())
    }

    /// Sends an `apwatch.ap` event; failures are debug lines: events are best effort.
    pub fn send_event(&mut self, event: &Object) {
        if let Err(e) = self.client.send_event(ubus::APWATCH_EVENT, |w| event.write_blob(w)) {
            debug!("ubus: event {}: {e}", ubus::APWATCH_EVENT);
        }
    }

    /// Handles what arrived on the bus; `status` renders `ubus call apwatch status`.
    pub fn drain(&mut self, status: &dyn Fn() -> Object) -> BusNews {
        let mut news = BusNews::default();
        loop {
            match self.client.next_incoming() {
                Ok(None) => break,
                Ok(Some(Incoming::Event(ev))) => {
                    if let Some(o) = ev.object_change() {
                        self.client.forget_id(o.id);
                        if o.path.starts_with(b"network.interface") {
                            debug!(
                                "ubus: netifd object {} {}",
                                IwEscaped(o.path),
                                if o.added { "added" } else { "removed" }
                            );
                            news.netifd_changed = true;
                        }
                    } else if let Some(i) = ev.interface_change() {
                        debug!("ubus: network {} {}", IwEscaped(i.interface), IwEscaped(i.action));
                        news.netifd_changed = true;
                    }
                }
                Ok(Some(Incoming::Call(call))) => {
                    let r = match call.method {
                        "status" => {
                            let doc = status();
                            self.client.reply_data(&call, &|w| doc.write_blob(w))
                        }
                        "reload" => {
                            news.reload = true;
                            self.client.reply(&call, Status::Ok)
                        }
                        _ => self.client.reply(&call, Status::MethodNotFound),
                    };
                    if let Err(e) = r {
                        warn!("ubus: answering apwatch {}: {e}", call.method);
                    }
                }
                Ok(Some(Incoming::Disconnected)) => {
                    warn!("ubus: connection to {} lost; reconnecting", crate::out::path(self.client.socket()));
                    news.netifd_changed = true;
                    break;
                }
                Ok(Some(Incoming::Malformed(e))) => debug!("ubus: skipped a malformed message: {e}"),
                Ok(Some(_)) => {}
                Err(e) => {
                    debug!("ubus: {e}");
                    break;
                }
            }
        }
        if self.client.dropped() != self.dropped {
            warn!("ubus: {} messages dropped while a request waited", self.client.dropped() - self.dropped);
            self.dropped = self.client.dropped();
        }
        if self.client.generation() != self.generation {
            // a new connection: ubusd or netifd may have restarted meanwhile
            self.generation = self.client.generation();
            news.netifd_changed = true;
        }
        news
    }

    /// Whether messages are queued without the socket being readable.
    pub fn has_pending(&self) -> bool {
        self.client.has_pending()
    }
}

fn key(a: &Action) -> (u32, &IfName, bool) {
    match a {
        Action::Join { ifindex, to, .. } | Action::SetVlan { ifindex, to, .. } => (*ifindex, &to.bridge, true),
        Action::Leave { ifindex, from, .. } => (*ifindex, &from.bridge, false),
    }
}

/// `remove_device` of a netdev that is not a member is NOT_FOUND: nothing to undo.
fn ignore_not_found(r: Result<(), ubus::Error>) -> Result<(), ubus::Error> {
    match r {
        Err(ubus::Error::Status(Status::NotFound)) => Ok(()),
        r => r,
    }
}
