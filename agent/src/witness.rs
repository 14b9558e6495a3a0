//! hostapd as a second witness of an AP's SSID. The kernel learns an SSID only from START_AP;
//! hostapd's in-place `reload` / `update_beacon` change what is on the air without telling it
//! (no event, GET_INTERFACE keeps the old SSID). Where a control socket serves an AP netdev, its
//! STATUS is read with every re-query of that netdev and on a slow timer, and what hostapd says
//! wins over the kernel, logged once per change. On OpenWrt hostapd says the same over ubus
//! (hostapd_ubus.rs): its notifications are hints, its `bss_info` speaks for a netdev no
//! control socket answers for.

use crate::errno::Why;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use apwatch_core::escape::IwEscaped;
use apwatch_core::hostapd::{Event, EventKind, State};
use apwatch_core::Ssid;

use crate::hostapd::{self, Client, Dirs, Got, Open, Outcome};
use crate::hostapd_ubus::{Heard, HostapdObject};
use crate::view::{IdMap, View};

/// How often STATUS is read without an event. hostapd 2.10 sends no event for `reload` or
/// `update_beacon` (tests/data/hostapd/README.md), so this bounds how long stations of a
/// renamed SSID can land on the old SSID's network. One second: a STATUS costs one datagram
/// each way and hostapd answers from its event loop, so polling a few BSSes is nothing on a
/// router, while a station's association and DHCP take longer than that anyway.
pub const POLL: Duration = Duration::from_secs(1);
/// How long a STATUS may take before this round gives up on it (hostapd busy).
const TIMEOUT: Duration = hostapd::DEFAULT_TIMEOUT;

/// What hostapd said per AP netdev, on the stack (the policy manages MAX_IFACES netdevs; one
/// beyond is not corrected).
type Said = heapless::Vec<(u32, Option<Ssid>), { apwatch_core::policy::MAX_IFACES }>;

struct Attached {
    ifindex: u32,
    client: Client,
}

/// The control sockets of AP netdevs.
pub struct Witness {
    dirs: Dirs,
    clients: Vec<Attached>,
    /// AP netdevs without a usable socket, with what was found (logged once per change).
    absent: IdMap<&'static str>,
    /// What hostapd said last per AP netdev (for the once-per-change log line and the timer).
    said: IdMap<Option<Ssid>>,
    next_poll: Instant,
    /// hostapd's ucode object on ubus (OpenWrt).
    bus: HostapdObject,
    /// A kept path buffer: looking for a socket that is not there allocates nothing.
    probe: PathBuf,
}

impl Witness {
    /// `ctrl_dir` is where hostapd makes its sockets; the agent binds its own ends in `own_dir`
    /// (stale ones of an earlier run are removed now). `ubus_socket`: where ubusd listens, if it
    /// runs.
    pub fn new(ctrl_dir: PathBuf, own_dir: PathBuf, ubus_socket: PathBuf) -> Witness {
        match hostapd::remove_stale(&own_dir) {
            Ok(0) => {}
            Ok(n) => debug!("hostapd: removed {n} stale socket(s) in {}", crate::out::path(&own_dir)),
            Err(e) => debug!("hostapd: {}: {}", crate::out::path(&own_dir), Why(&e)),
        }
        Witness {
            dirs: Dirs { ctrl: ctrl_dir, own: own_dir },
            clients: Vec::new(),
            absent: IdMap::default(),
            said: IdMap::default(),
            next_poll: Instant::now() + POLL,
            bus: HostapdObject::new(ubus_socket),
            probe: PathBuf::new(),
        }
    }

    /// The sockets to poll.
    pub fn fds(&self) -> impl Iterator<Item = BorrowedFd<'_>> {
        self.bus.fd().into_iter().chain(self.clients.iter().map(|a| a.client.as_fd()))
    }

    /// When the slow round is due: STATUS while some socket is attached, the bus while it is
    /// not subscribed.
    pub fn next_poll(&self) -> Option<Instant> {
        crate::timing::earliest([(!self.clients.is_empty()).then_some(self.next_poll), self.bus.next_try()])
    }

    /// Whether the bus connection holds messages the socket no longer reports (read them now).
    pub fn has_pending(&self) -> bool {
        self.bus.has_pending()
    }

    fn ap_ids(view: &View) -> Vec<u32> {
        view.wifi.values().filter(|w| w.is_ap()).map(|w| w.ifindex).collect()
    }

    /// Attaches to the socket of every AP netdev that has one, drops clients of netdevs that
    /// are gone or no longer APs. hostapd restarting makes a new socket: a client whose
    /// hostapd went away is dropped and the next call attaches again.
    pub fn sync(&mut self, view: &View) {
        let is_ap = |i: u32| view.wifi.get(&i).is_some_and(|w| w.is_ap());
        self.clients.retain(|a| is_ap(a.ifindex));
        let ids: heapless::Vec<u32, { apwatch_core::policy::MAX_IFACES }> = view
            .wifi
            .values()
            .map(|w| w.ifindex)
            .filter(|i| is_ap(*i))
            .take(apwatch_core::policy::MAX_IFACES)
            .collect();
        self.absent.retain(|i| ids.contains(i));
        for ifindex in ids {
            if self.clients.iter().any(|a| a.ifindex == ifindex) {
                continue;
            }
            let Some(name) = view.link_name(ifindex).and_then(|n| std::str::from_utf8(n).ok()) else { continue };
            self.probe.clear();
            self.probe.push(&self.dirs.ctrl);
            self.probe.push(name);
            let open = match crate::files::exists(&self.probe) {
                true => Client::open(&self.dirs, name, TIMEOUT),
                false => Ok(Open::NotThere),
            };
            let found = match open {
                Ok(Open::Attached(client)) => {
                    info!("{name}: hostapd control socket {}: attached", crate::out::path(&self.dirs.ctrl.join(name)));
                    self.absent.remove(&ifindex);
                    self.clients.push(Attached { ifindex, client });
                    continue;
                }
                Ok(Open::NotThere) if self.bus.subscribed() => {
                    "no hostapd control socket: hostapd's ubus object speaks for it"
                }
                Ok(Open::NotThere) => "no hostapd control socket: the kernel's SSID is all there is",
                Ok(Open::Stale) => "a hostapd control socket nobody answers (hostapd killed?)",
                Ok(Open::Refused(r)) => {
                    debug!("{name}: hostapd answered ATTACH with \"{}\"", IwEscaped(&r));
                    "the hostapd control socket refused ATTACH"
                }
                Ok(Open::Unusable(why)) => {
                    debug!("{name}: hostapd: {why}");
                    "the hostapd control socket cannot be used"
                }
                Err(e) => {
                    debug!("{name}: hostapd: {}", Why(&e));
                    "the hostapd control socket cannot be used"
                }
            };
            if self.absent.get(&ifindex) != Some(&found) {
                info!("{name}: {found}");
                self.absent.insert(ifindex, found);
            }
        }
    }

    /// Reads hostapd's events (control sockets and bus); returns the netdevs to re-query (a BSS
    /// enabled, disabled, added, reloaded or removed, or hostapd coming or going).
    pub fn read_events(&mut self, view: &View) -> Vec<u32> {
        let mut hints = Vec::new();
        for h in self.bus.drain() {
            match h {
                Heard::Bss(name) => {
                    hints.extend(view.wifi.values().filter(|w| w.ifname.as_bytes() == name).map(|w| w.ifindex))
                }
                Heard::All => {
                    // what hostapd says is news again (logged) once it speaks
                    self.said = IdMap::default();
                    hints.extend(Self::ap_ids(view));
                }
            }
        }
        // hostapd's object (re)appeared, or a retry is due: subscribe now (the loop reads events
        // every round, so this is the one place the bus is tried)
        if self.bus.ensure(Instant::now()) {
            hints.extend(Self::ap_ids(view));
        }
        self.clients.retain_mut(|a| loop {
            match a.client.recv_event() {
                Ok(Got::Event(raw)) => {
                    if let Ok(ev) = Event::parse(&raw) {
                        debug!("{}: hostapd event {}", a.client.ifname(), IwEscaped(ev.name()));
                        if matches!(ev.kind(), EventKind::ApEnabled | EventKind::ApDisabled | EventKind::Terminating) {
                            hints.push(a.ifindex);
                        }
                    }
                }
                Ok(Got::Nothing) => {
                    if a.client.lost_events() {
                        hints.push(a.ifindex);
                    }
                    break true;
                }
                Ok(Got::Gone) | Err(_) => {
                    info!("{}: hostapd went away", a.client.ifname());
                    hints.push(a.ifindex);
                    break false;
                }
            }
        });
        hints
    }

    /// The slow round: STATUS of every attached socket; returns the AP netdevs whose SSID on
    /// hostapd's side changed since it was last read.
    /// (The bus's retries, which `next_poll` also wakes the loop for, run in `read_events`.)
    pub fn poll(&mut self, now: Instant, view: &View) -> Vec<u32> {
        if self.clients.is_empty() || now < self.next_poll {
            return Vec::new();
        }
        self.next_poll = now + POLL;
        let ids: Vec<u32> = view.wifi.values().map(|w| w.ifindex).collect();
        // the bus is not polled: OpenWrt's hostapd notifies every BSS change
        self.said_by_hostapd(view, &ids, false)
            .into_iter()
            .filter(|(i, s)| self.said.get(i) != Some(s))
            .map(|(i, _)| i)
            .collect()
    }

    /// What hostapd says each of `ids` beacons: its own socket's STATUS, or (a `bss=` section
    /// without its own `ctrl_interface`) the STATUS of another BSS's socket on the same radio,
    /// which lists every BSS of the radio; else, with `bus`, `bss_info` of hostapd's object.
    fn said_by_hostapd(&mut self, view: &View, ids: &[u32], bus: bool) -> Said {
        let wiphy = |i: u32| view.wifi.get(&i).and_then(|w| w.wiphy);
        let mut out = Said::new();
        for a in &mut self.clients {
            let Some(reply) = status(&mut a.client) else { continue };
            let Ok(st) = reply.view() else { continue };
            let on = matches!(st.state(), State::Enabled);
            for &id in ids {
                let same_radio = id == a.ifindex || (wiphy(id).is_some() && wiphy(id) == wiphy(a.ifindex));
                if !same_radio || out.iter().any(|(i, _)| *i == id) {
                    continue;
                }
                let Some(name) = view.link_name(id) else { continue };
                if let Ok(Some(ap)) = st.ap(name) {
                    let _ = out.push((id, on.then_some(ap.ssid)));
                }
            }
        }
        if bus && self.bus.subscribed() {
            for &id in ids {
                if out.iter().any(|(i, _)| *i == id) {
                    continue;
                }
                let Some(name) = view.link_name(id) else { continue };
                if let Some(ssid) = self.bus.ssid(name) {
                    let _ = out.push((id, Some(ssid)));
                }
            }
        }
        out
    }

    /// Part of every re-query: for each of `ids` that hostapd serves, what it beacons replaces
    /// the kernel's SSID where they disagree (logged once per change).
    pub fn correct(&mut self, view: &mut View, ids: &[u32]) {
        for (id, said) in self.said_by_hostapd(view, ids, true) {
            let Some(w) = view.wifi.get(&id) else { continue };
            if !w.is_ap() {
                continue;
            }
            let mut w = w.clone();
            let changed = self.said.get(&id) != Some(&said);
            self.said.insert(id, said.clone());
            let name = w.ifname.clone();
            // Only the SSID of a beaconing AP is hostapd's to correct: whether the netdev beacons
            // at all is the kernel's to say (a netdev set down under a running hostapd stops
            // its AP while hostapd's STATUS still says ENABLED).
            if let (Some(h), Some(k)) = (said, &w.ssid) {
                if h != *k {
                    if changed {
                        info!("{name}: hostapd beacons ssid=\"{h}\", the kernel still says \"{k}\" (an in-place reload): following hostapd");
                    }
                    w.ssid = Some(h);
                }
            }
            view.wifi.insert(id, w);
        }
    }

    /// The AP netdevs hostapd may speak for (each has a socket, or a socket on its radio; every
    /// AP while hostapd's object is on the bus).
    pub fn attached(&self, view: &View) -> Vec<u32> {
        if self.bus.subscribed() {
            return Self::ap_ids(view);
        }
        let radios: Vec<Option<u32>> =
            self.clients.iter().map(|a| view.wifi.get(&a.ifindex).and_then(|w| w.wiphy)).collect();
        view.wifi
            .values()
            .filter(|w| {
                self.clients.iter().any(|a| a.ifindex == w.ifindex) || (w.wiphy.is_some() && radios.contains(&w.wiphy))
            })
            .map(|w| w.ifindex)
            .collect()
    }
}

/// STATUS of one socket; `None` when hostapd did not answer (busy, gone): the kernel's word
/// stands then.
fn status(c: &mut Client) -> Option<crate::hostapd::StatusReply<'_>> {
    match c.status(TIMEOUT) {
        Ok(Outcome::Ok(r)) => Some(r),
        Ok(Outcome::Timeout | Outcome::Gone) | Err(_) => None,
    }
}
