//! hostapd as a second witness of an AP's SSID. The kernel learns an SSID only from START_AP;
//! hostapd's in-place `reload` / `update_beacon` change what is on the air without telling it
//! (no event, GET_INTERFACE keeps the old SSID). Where a control socket serves an AP netdev, its
//! STATUS is read with every re-query of that netdev and on a slow timer, and what hostapd says
//! wins over the kernel, logged once per change.

use std::os::fd::{AsFd, BorrowedFd};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use apwatch_core::hostapd::{Event, EventKind, State};
use apwatch_core::nl80211::IfType;
use apwatch_core::Ssid;

use crate::hostapd::{self, Client, Dirs, Got, Open, Outcome};
use crate::view::{IdMap, View};

/// How often STATUS is read without an event. hostapd 2.10 sends no event for `reload` or
/// `update_beacon` (tests/data/hostapd/README.md), so this bounds how long stations of a
/// renamed SSID can land on the old SSID's network. One second: a STATUS costs one datagram
/// each way and hostapd answers from its event loop, so polling a few BSSes is nothing on a
/// router, while a station's association and DHCP take longer than that anyway.
pub const POLL: Duration = Duration::from_secs(1);
/// How long a STATUS may take before this round gives up on it (hostapd busy).
const TIMEOUT: Duration = hostapd::DEFAULT_TIMEOUT;

struct Attached {
    ifindex: u32,
    client: Client,
    /// What hostapd said last (for the once-per-change log line and the timer).
    said: Option<Ssid>,
}

/// The control sockets of AP netdevs.
pub struct Witness {
    dirs: Dirs,
    clients: Vec<Attached>,
    /// AP netdevs without a usable socket, with what was found (logged once per change).
    absent: IdMap<&'static str>,
    next_poll: Instant,
}

impl Witness {
    /// `ctrl_dir` is where hostapd makes its sockets; the agent binds its own ends in `own_dir`
    /// (stale ones of an earlier run are removed now).
    pub fn new(ctrl_dir: PathBuf, own_dir: PathBuf) -> Witness {
        match hostapd::remove_stale(&own_dir) {
            Ok(0) => {}
            Ok(n) => debug!("hostapd: removed {n} stale socket(s) in {}", own_dir.display()),
            Err(e) => debug!("hostapd: {}: {e}", own_dir.display()),
        }
        Witness {
            dirs: Dirs { ctrl: ctrl_dir, own: own_dir },
            clients: Vec::new(),
            absent: IdMap::default(),
            next_poll: Instant::now() + POLL,
        }
    }

    /// The sockets to poll.
    pub fn fds(&self) -> Vec<BorrowedFd<'_>> {
        self.clients.iter().map(|a| a.client.as_fd()).collect()
    }

    /// When the slow STATUS round is due (only while some socket is attached).
    pub fn next_poll(&self) -> Option<Instant> {
        (!self.clients.is_empty()).then_some(self.next_poll)
    }

    /// Attaches to the socket of every AP netdev that has one, drops clients of netdevs that
    /// are gone or no longer APs. hostapd restarting makes a new socket: a client whose
    /// hostapd went away is dropped and the next call attaches again.
    pub fn sync(&mut self, view: &View) {
        let is_ap = |i: u32| view.wifi.get(&i).is_some_and(|w| matches!(w.iftype, Some(IfType::Ap | IfType::P2pGo)));
        self.clients.retain(|a| is_ap(a.ifindex));
        let ids: Vec<u32> = view.wifi.values().map(|w| w.ifindex).filter(|i| is_ap(*i)).collect();
        self.absent.retain(|i| ids.contains(i));
        for ifindex in ids {
            if self.clients.iter().any(|a| a.ifindex == ifindex) {
                continue;
            }
            let Some(name) = view.link_name(ifindex).and_then(|n| std::str::from_utf8(n).ok()) else { continue };
            let found = match Client::open(&self.dirs, name, TIMEOUT) {
                Ok(Open::Attached(client)) => {
                    info!("{name}: hostapd control socket {}: attached", self.dirs.ctrl.join(name).display());
                    self.absent.remove(&ifindex);
                    self.clients.push(Attached { ifindex, client, said: None });
                    continue;
                }
                Ok(Open::NotThere) => "no hostapd control socket: the kernel's SSID is all there is",
                Ok(Open::Stale) => "a hostapd control socket nobody answers (hostapd killed?)",
                Ok(Open::Refused(r)) => {
                    debug!("{name}: hostapd answered ATTACH with {:?}", String::from_utf8_lossy(&r));
                    "the hostapd control socket refused ATTACH"
                }
                Err(e) => {
                    debug!("{name}: hostapd: {e}");
                    "the hostapd control socket cannot be used"
                }
            };
            if self.absent.get(&ifindex) != Some(&found) {
                info!("{name}: {found}");
                self.absent.insert(ifindex, found);
            }
        }
    }

    /// Reads hostapd's events; returns the netdevs to re-query (a BSS enabled or disabled, or
    /// hostapd going away).
    pub fn read_events(&mut self) -> Vec<u32> {
        let mut hints = Vec::new();
        self.clients.retain_mut(|a| loop {
            match a.client.recv_event() {
                Ok(Got::Event(raw)) => {
                    if let Ok(ev) = Event::parse(&raw) {
                        debug!("{}: hostapd event {}", a.client.ifname(), String::from_utf8_lossy(ev.name()));
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

    /// The slow round: STATUS of every attached socket; returns the netdevs whose SSID on
    /// hostapd's side changed since it was last read.
    pub fn poll(&mut self, now: Instant) -> Vec<u32> {
        self.next_poll = now + POLL;
        let mut hints = Vec::new();
        for a in &mut self.clients {
            if let Some(s) = status_ssid(&mut a.client) {
                if s != a.said {
                    hints.push(a.ifindex);
                }
            }
        }
        hints
    }

    /// Part of every re-query: for each of `ids` with a socket, what hostapd beacons replaces
    /// the kernel's SSID where they disagree (logged once per change).
    pub fn correct(&mut self, view: &mut View, ids: &[u32]) {
        for a in self.clients.iter_mut().filter(|a| ids.contains(&a.ifindex)) {
            let Some(said) = status_ssid(&mut a.client) else { continue };
            let Some(w) = view.wifi.get(&a.ifindex) else { continue };
            let mut w = w.clone();
            let changed = said != a.said;
            a.said = said.clone();
            match (said, &w.ssid) {
                (Some(h), Some(k)) if h != *k => {
                    if changed {
                        info!(
                            "{}: hostapd beacons ssid=\"{h}\", the kernel still says \"{k}\" (an in-place reload): following hostapd",
                            a.client.ifname()
                        );
                    }
                    w.ssid = Some(h);
                }
                (Some(h), None) if w.iftype == Some(IfType::Ap) => {
                    if changed {
                        info!(
                            "{}: hostapd beacons ssid=\"{h}\", the kernel has no SSID yet: following hostapd",
                            a.client.ifname()
                        );
                    }
                    w.ssid = Some(h);
                }
                (None, Some(k)) => {
                    if changed {
                        info!(
                            "{}: hostapd says the BSS is not beaconing; the kernel says \"{k}\": following hostapd",
                            a.client.ifname()
                        );
                    }
                    w.ssid = None;
                }
                _ => {}
            }
            view.wifi.insert(a.ifindex, w);
        }
    }

    /// The netdevs with an attached socket.
    pub fn attached(&self) -> Vec<u32> {
        self.clients.iter().map(|a| a.ifindex).collect()
    }
}

/// What hostapd's STATUS says this BSS beacons: `Some(ssid)` while the radio is ENABLED,
/// `None` while it is not; `None` from the function (no answer) when hostapd did not answer or
/// has no such BSS: the kernel's word stands then.
fn status_ssid(c: &mut Client) -> Option<Option<Ssid>> {
    let reply = match c.status(TIMEOUT) {
        Ok(Outcome::Ok(r)) => r,
        Ok(Outcome::Timeout | Outcome::Gone) | Err(_) => return None,
    };
    let status = reply.view().ok()?;
    let ap = status.ap(c.ifname().as_bytes()).ok()??;
    Some(matches!(ap.state, State::Enabled).then_some(ap.ssid))
}
