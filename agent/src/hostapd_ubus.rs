//! OpenWrt's hostapd on ubus: the control sockets' witness (witness.rs) over the bus. hostapd's
//! ucode object `hostapd` notifies its subscribers `bss.add` / `bss.reload` / `bss.remove`
//! (`wifi reload` of a changed SSID is a `bss.reload`), and `bss_info {iface}` names the SSID a
//! BSS is configured with. Its own connection, so it works with either bridge backend.

use apwatch_core::escape::IwEscaped;
use std::os::fd::BorrowedFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use apwatch_core::config::LogLevel;
use apwatch_core::ubus::{BssInfo, BssNotice, Status, HOSTAPD_OBJECT};
use apwatch_core::Ssid;

use crate::ubus::{self, Client, Incoming};

/// How long hostapd may take to answer `bss_info` (its ucode runs in hostapd's event loop).
const TIMEOUT: Duration = Duration::from_secs(1);
/// How often a missing bus or a failed subscription is tried again. The object appearing is an
/// event (`ubus.object.add`) and needs no timer; this covers ubusd itself starting late.
pub const RETRY: Duration = Duration::from_secs(10);

/// What the bus said about hostapd's BSSes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Heard {
    /// A BSS of this netdev was added, reloaded or removed: re-query it.
    Bss(Vec<u8>),
    /// hostapd's object came, went or the bus connection changed: re-query every AP.
    All,
}

/// The subscription to hostapd's object.
pub struct HostapdObject {
    client: Client,
    /// hostapd's object id while subscribed to it.
    subscribed: Option<u32>,
    next_try: Instant,
    /// The last state logged (once per change).
    logged: &'static str,
}

impl HostapdObject {
    /// A client for `socket`; connects when [`HostapdObject::ensure`] is first due.
    pub fn new(socket: PathBuf) -> HostapdObject {
        let mut client = Client::new(Some(&socket));
        client.set_timeout(TIMEOUT);
        HostapdObject { client, subscribed: None, next_try: Instant::now(), logged: "" }
    }

    /// The socket to poll, while connected.
    pub fn fd(&self) -> Option<BorrowedFd<'_>> {
        self.client.fd()
    }

    /// Whether notifications come (hostapd's object is there and we are subscribed).
    pub fn subscribed(&self) -> bool {
        self.subscribed.is_some()
    }

    /// When [`HostapdObject::ensure`] wants to run again (not subscribed yet).
    pub fn next_try(&self) -> Option<Instant> {
        self.subscribed.is_none().then_some(self.next_try)
    }

    /// One line per change of state, at `level`.
    fn note(&mut self, level: LogLevel, state: &'static str) {
        if self.logged != state {
            self.logged = state;
            log_at!(level, "hostapd on ubus ({}): {state}", crate::out::path(self.client.socket()));
        }
    }

    /// Connects, follows `ubus.object.add` and subscribes to `hostapd` when due. True when a
    /// subscription started now (what hostapd says may differ from before: re-query all).
    pub fn ensure(&mut self, now: Instant) -> bool {
        if self.subscribed.is_some() || now < self.next_try {
            return false;
        }
        self.next_try = now + RETRY;
        if !crate::files::exists(self.client.socket()) {
            // not OpenWrt (or ubusd not started yet): a debug line, not news
            self.note(LogLevel::Debug, "no socket");
            return false;
        }
        if let Err(e) = self.client.listen("ubus.object.add") {
            debug!("hostapd on ubus: {e}");
            self.note(LogLevel::Info, "the bus cannot be used now; trying again");
            return false;
        }
        match self.client.subscribe(HOSTAPD_OBJECT) {
            Ok(id) => {
                self.subscribed = Some(id);
                self.note(LogLevel::Info, "subscribed to the hostapd object's bss.add/reload/remove");
                true
            }
            Err(ubus::Error::Status(Status::NotFound)) => {
                // its ubus.object.add brings the next try
                self.note(LogLevel::Info, "no hostapd object (yet): waiting for it");
                false
            }
            Err(e) => {
                debug!("hostapd on ubus: subscribe: {e}");
                self.note(LogLevel::Info, "subscribing to the hostapd object failed; trying again");
                false
            }
        }
    }

    /// Handles what arrived; returns what to re-query.
    pub fn drain(&mut self) -> Vec<Heard> {
        let mut heard = Vec::new();
        loop {
            match self.client.next_incoming() {
                Ok(None) => break,
                Ok(Some(Incoming::Notification(n))) => match BssNotice::parse(&n.name, &n.data()) {
                    Ok(Some(b)) => {
                        debug!("hostapd on ubus: {} {}", IwEscaped(&n.name), IwEscaped(b.ifname));
                        heard.push(Heard::Bss(b.ifname.to_vec()));
                    }
                    Ok(None) => {}
                    Err(e) => debug!("hostapd on ubus: skipped a malformed {}: {e}", IwEscaped(&n.name)),
                },
                Ok(Some(Incoming::Event(ev))) => {
                    if let Some(o) = ev.object_change().filter(|o| o.path == HOSTAPD_OBJECT.as_bytes() && o.added) {
                        // a (new) hostapd: its id is new, subscribe at once
                        self.client.forget_id(o.id);
                        self.client.forget(HOSTAPD_OBJECT.as_bytes());
                        self.subscribed = None;
                        self.next_try = Instant::now();
                        heard.push(Heard::All);
                    }
                }
                Ok(Some(Incoming::Unsubscribed { target })) if Some(target) == self.subscribed => {
                    self.subscribed = None;
                    self.client.forget(HOSTAPD_OBJECT.as_bytes());
                    self.note(LogLevel::Info, "the hostapd object went away: waiting for it");
                    heard.push(Heard::All);
                }
                Ok(Some(Incoming::Disconnected)) => {
                    self.subscribed = None;
                    self.next_try = Instant::now();
                    self.note(LogLevel::Info, "the bus connection was lost; connecting again");
                    heard.push(Heard::All);
                    break;
                }
                Ok(Some(Incoming::Malformed(e))) => debug!("hostapd on ubus: skipped a malformed message: {e}"),
                Ok(Some(_)) => {}
                Err(e) => {
                    debug!("hostapd on ubus: {e}");
                    break;
                }
            }
        }
        heard
    }

    /// The SSID hostapd's configuration gives the BSS of `ifname`, when hostapd serves it and
    /// says (`None`: no opinion: not subscribed, not hostapd's BSS, `ssid2=`, no answer).
    pub fn ssid(&mut self, ifname: &[u8]) -> Option<Ssid> {
        self.subscribed?;
        let reply =
            match self.client.invoke(HOSTAPD_OBJECT, "bss_info", |w| apwatch_core::ubus::bss_info_args(w, ifname)) {
                Ok(r) => r,
                Err(e) => {
                    debug!("hostapd on ubus: bss_info {}: {e}", IwEscaped(ifname));
                    return None;
                }
            };
        if reply.status != Status::Ok {
            return None;
        }
        match BssInfo::parse(&reply.data()?) {
            Ok(info) => info.ssid.map(|s| s.to_owned()),
            Err(e) => {
                debug!("hostapd on ubus: bss_info {}: {e}", IwEscaped(ifname));
                None
            }
        }
    }

    /// Whether messages are queued without the socket being readable.
    pub fn has_pending(&self) -> bool {
        self.client.has_pending()
    }
}
