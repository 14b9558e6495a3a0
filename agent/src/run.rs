//! `apwatch run`: the service. Joins nl80211 "mlme" + "config" and rtnetlink link/address
//! groups, resyncs by dump at start and after ENOBUFS, turns every event into a hint, re-queries
//! the kernel for hinted interfaces once a burst is over (latest wins), and applies the policy's
//! plan: bridges, dnsmasq drop-ins, the state file, the status LED.

use std::io::Read;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use apwatch_core::config::{Backend, Config};
use apwatch_core::escape::IwEscaped;
use apwatch_core::genl::GenlMessage;
use apwatch_core::netlink::{MessageKind, Messages};
use apwatch_core::nl80211::Event;
use apwatch_core::pipeline::{DirtySet, Hint, Pipeline};
use apwatch_core::policy::{self, Action, Plan};
use apwatch_core::rtnl::{self, af, Link};
use apwatch_core::Ssid;
use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use rustix::event::{poll, PollFd, PollFlags, Timespec};

use crate::bridge::Bridges;
use crate::dnsmasq::Dnsmasq;
use crate::kernel::{Kernel, LinkInfo, ORDER};
use crate::log::Once;
use crate::netlink::{Protocol, Received, Socket};
use crate::state::{self, Since};
use crate::status_led::StatusLed;
use crate::view::{IdMap, View};
use crate::{config_file, Exit};

/// After the first hint of a burst, wait this long for the burst to end…
const QUIET: Duration = Duration::from_millis(5);
/// …but never longer than this from the first hint.
const MAX_DELAY: Duration = Duration::from_millis(50);
/// Retry interval while something failed (an interrupted dump, a failed action, nl80211 not loaded).
const RETRY: Duration = Duration::from_secs(1);
/// How long netifd gets to carry out an `add_device`/`remove_device` before apwatch asks again.
const NETIFD_PATIENCE: Duration = Duration::from_secs(5);
/// How often a running `dnsmasq_restart` is checked for its end.
const REAP: Duration = Duration::from_millis(50);

struct Counters {
    malformed: Once,
    spoofed: Once,
    enobufs: Once,
    too_many: Once,
    state_file: Once,
}

pub struct Agent {
    cfg: Config,
    cfg_path: String,
    kernel: Kernel,
    genl_events: Option<Socket>,
    rtnl_events: Socket,
    bridges: Bridges,
    dnsmasq: Dnsmasq,
    view: View,
    since: Since,
    pipeline: Pipeline<NoopRawMutex, 64>,
    dirty: DirtySet,
    addrs_dirty: bool,
    counters: Counters,
    led: StatusLed,
    buf: Vec<u8>,
    announced: IdMap<(Option<usize>, Ssid)>,
    /// ubus requests in flight (see `recently_asked`).
    asked: Vec<(Action, Instant)>,
}

fn kernel_release() -> (u32, u32) {
    let uname = rustix::system::uname();
    let release = uname.release().to_string_lossy();
    let mut parts = release.split(|c: char| !c.is_ascii_digit()).filter_map(|p| p.parse().ok());
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

pub fn run(cfg_path: &str) -> Exit {
    let cfg = match config_file::load(cfg_path) {
        Ok(c) => c,
        Err(e) => {
            error!("{e}");
            return Exit::Config;
        }
    };
    crate::log::set_level(cfg.main.log_level);
    if !cfg.main.enabled {
        info!("disabled in {cfg_path} (option enabled '0'); exiting");
        return Exit::Ok;
    }
    let bridges = Bridges::new(cfg.main.backend);
    if let Err(e) = cfg.check_backend(bridges.backend()) {
        error!("{}", config_file::invalid(cfg_path, e));
        return Exit::Config;
    }
    match Agent::start(cfg, cfg_path.to_owned(), bridges) {
        Ok(mut a) => a.main_loop(),
        Err(e) => {
            error!("cannot start: {e}");
            Exit::Runtime
        }
    }
}

impl Agent {
    fn start(cfg: Config, cfg_path: String, bridges: Bridges) -> std::io::Result<Agent> {
        // temp files a crash (kill -9, power loss) left between create and rename
        crate::files::remove_stale_temp(std::path::Path::new(cfg.main.state_file.as_str()));
        for r in &cfg.rules {
            crate::files::remove_stale_temp(&crate::dnsmasq::path(
                std::path::Path::new(cfg.main.dnsmasq_dir.as_str()),
                &r.name,
            ));
        }
        let mut kernel = Kernel::open()?;
        let rcvbuf_knob = std::env::var("APWATCH_TEST_RCVBUF").ok().and_then(|v| v.parse::<usize>().ok());
        let rtnl_events = Socket::open(Protocol::Route, 0, true)?;
        rtnl_events.join(rtnl::group::LINK)?;
        rtnl_events.join(rtnl::group::IPV4_IFADDR)?;
        let (major, minor) = kernel_release();
        let genl_events = match kernel.resolve_nl80211() {
            Ok(n) => {
                let s = n.subscribe()?;
                if (major, minor) >= (6, 3) {
                    info!(
                        "nl80211 family {:#x}, joined mlme and config; kernel {major}.{minor} announces START_AP",
                        n.family
                    );
                } else {
                    info!("nl80211 family {:#x}; kernel {major}.{minor} < 6.3 sends no START_AP: following link and interface events", n.family);
                }
                Some(s)
            }
            Err(e) => {
                warn!("nl80211 not available ({e}): following link events only, retrying");
                None
            }
        };
        let mut agent = Agent {
            led: StatusLed::open(&cfg),
            cfg,
            cfg_path,
            kernel,
            genl_events,
            rtnl_events,
            bridges,
            dnsmasq: Dnsmasq::new(),
            view: View::default(),
            since: Since::default(),
            pipeline: Pipeline::new(),
            dirty: DirtySet::default(),
            addrs_dirty: true,
            counters: Counters {
                malformed: Once::default(),
                spoofed: Once::default(),
                enobufs: Once::default(),
                too_many: Once::default(),
                state_file: Once::default(),
            },
            buf: vec![0; 64 * 1024],
            announced: IdMap::default(),
            asked: Vec::new(),
        };
        if let Some(n) = rcvbuf_knob {
            // test-only: a tiny buffer makes ENOBUFS happen on purpose
            agent.rtnl_events.set_rcvbuf(n)?;
            if let Some(g) = agent.genl_events.as_mut() {
                g.set_rcvbuf(n)?;
            }
            info!("receive buffers forced to {n} bytes (APWATCH_TEST_RCVBUF)");
        }
        info!(
            "started: backend {}, {} rule(s), config {}",
            crate::bridge::backend_name(agent.bridges.backend()),
            agent.cfg.rules.len(),
            agent.cfg_path
        );
        Ok(agent)
    }

    fn main_loop(&mut self) -> Exit {
        let term = Arc::new(AtomicBool::new(false));
        let hup = Arc::new(AtomicBool::new(false));
        let (mut sig_read, sig_write) = match UnixStream::pair() {
            Ok(p) => p,
            Err(e) => {
                error!("signal pipe: {e}");
                return Exit::Runtime;
            }
        };
        let registered = (|| -> std::io::Result<()> {
            sig_read.set_nonblocking(true)?;
            sig_write.set_nonblocking(true)?;
            for (sig, flag) in [(SIGTERM, &term), (SIGINT, &term), (SIGHUP, &hup)] {
                signal_hook::flag::register(sig, Arc::clone(flag))?;
                signal_hook::low_level::pipe::register(sig, sig_write.try_clone()?)?;
            }
            Ok(())
        })();
        if let Err(e) = registered {
            error!("signals: {e}");
            return Exit::Runtime;
        }

        self.pipeline.push(Hint::Resync);
        let mut burst: Option<(Instant, Instant)> = Some((Instant::now(), Instant::now()));
        let mut retry_at: Option<Instant> = None;
        let mut failures = 0u32;
        loop {
            if term.load(Ordering::SeqCst) {
                info!("stopping on signal");
                return Exit::Ok;
            }
            if hup.swap(false, Ordering::SeqCst) {
                self.reload();
                self.pipeline.push(Hint::Resync);
                burst.get_or_insert((Instant::now(), Instant::now()));
            }
            let now = Instant::now();
            let mut deadline: Option<Instant> = burst.map(|(first, last)| (last + QUIET).min(first + MAX_DELAY));
            let reap_at = self.dnsmasq.busy().then(|| now + REAP);
            for d in [retry_at, self.led.next_tick(), reap_at] {
                deadline = match (deadline, d) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
            let timeout = deadline.map(|d| {
                let left = d.saturating_duration_since(now);
                Timespec { tv_sec: left.as_secs() as _, tv_nsec: left.subsec_nanos() as _ }
            });

            let (genl_ready, rtnl_ready) = {
                let mut fds =
                    vec![PollFd::new(&self.rtnl_events, PollFlags::IN), PollFd::new(&sig_read, PollFlags::IN)];
                if let Some(g) = &self.genl_events {
                    fds.push(PollFd::new(g, PollFlags::IN));
                }
                match poll(&mut fds, timeout.as_ref()) {
                    Ok(_) | Err(rustix::io::Errno::INTR) => {}
                    Err(e) => {
                        error!("poll: {e}");
                        return Exit::Runtime;
                    }
                }
                let ready = |f: &PollFd<'_>| !f.revents().is_empty();
                (fds.get(2).is_some_and(ready), fds.first().is_some_and(ready))
            };
            let mut drain = [0u8; 64];
            while matches!(sig_read.read(&mut drain), Ok(n) if n > 0) {}

            let mut woke = false;
            if genl_ready {
                woke |= self.read_events(Protocol::Generic);
            }
            if rtnl_ready {
                woke |= self.read_events(Protocol::Route);
            }
            let now = Instant::now();
            if woke {
                burst = Some(burst.map_or((now, now), |(first, _)| (first, now)));
            }
            self.led.tick();
            self.dnsmasq.reap(&self.cfg);
            if retry_at.is_some_and(|t| now >= t) {
                retry_at = None;
                self.addrs_dirty = true;
                if self.genl_events.is_none() {
                    self.pipeline.push(Hint::Resync);
                }
                burst.get_or_insert((now, now));
            }
            if let Some((first, last)) = burst {
                if now >= last + QUIET || now >= first + MAX_DELAY {
                    burst = None;
                    if self.reconcile_pending() {
                        failures = 0;
                    } else {
                        // back off while it keeps failing: 1, 2, 4 … 64 s
                        retry_at = Some(now + RETRY * (1 << failures.min(6)));
                        failures += 1;
                    }
                }
            }
        }
    }

    fn reload(&mut self) {
        match config_file::load(&self.cfg_path) {
            Ok(cfg) => {
                let bridges = Bridges::new(cfg.main.backend);
                if let Err(e) = cfg.check_backend(bridges.backend()) {
                    error!("{}; keeping the last good configuration", config_file::invalid(&self.cfg_path, e));
                    return;
                }
                crate::log::set_level(cfg.main.log_level);
                if cfg.main.led != self.cfg.main.led || cfg.main.led_active_low != self.cfg.main.led_active_low {
                    self.led = StatusLed::open(&cfg);
                }
                self.bridges = bridges;
                self.cfg = cfg;
                info!("configuration reloaded: {} rule(s)", self.cfg.rules.len());
            }
            Err(e) => error!("{e}; keeping the last good configuration"),
        }
    }

    /// Reads every queued datagram of one event socket; true when anything asks for a reconcile.
    fn read_events(&mut self, proto: Protocol) -> bool {
        let mut woke = false;
        loop {
            let sock = match proto {
                Protocol::Generic => match &self.genl_events {
                    Some(s) => s,
                    None => return woke,
                },
                Protocol::Route => &self.rtnl_events,
            };
            match sock.recv(&mut self.buf, true) {
                Ok(Received::Data(n)) => {
                    let buf = std::mem::take(&mut self.buf);
                    for m in Messages::new(buf.get(..n).unwrap_or_default(), ORDER) {
                        match m {
                            Ok(m) => woke |= self.on_message(proto, &m),
                            Err(e) => self.malformed(proto, &e),
                        }
                    }
                    self.buf = buf;
                }
                Ok(Received::Spoofed(pid)) => {
                    if self.counters.spoofed.hit() {
                        warn!("ignored a netlink message from user-space port {pid}, not the kernel (counted; logged once)");
                    }
                }
                Ok(Received::WouldBlock) => return woke,
                Ok(Received::Overrun) => {
                    let sock = match proto {
                        Protocol::Generic => self.genl_events.as_mut(),
                        Protocol::Route => Some(&mut self.rtnl_events),
                    };
                    let (old, grown) = sock.map_or((0, None), |s| (s.rcvbuf(), s.grow_rcvbuf()));
                    self.counters.enobufs.hit();
                    match grown {
                        Some(new) => {
                            warn!("ENOBUFS on {} events: receive buffer {old} -> {new} bytes; full resync", name(proto))
                        }
                        None => {
                            warn!("ENOBUFS on {} events (buffer {old} bytes, at its bound); full resync", name(proto))
                        }
                    }
                    self.pipeline.push(Hint::Resync);
                    woke = true;
                }
                Err(e) => {
                    error!("reading {} events: {e}", name(proto));
                    return woke;
                }
            }
        }
    }

    fn malformed(&mut self, proto: Protocol, e: &apwatch_core::Error) {
        if self.counters.malformed.hit() {
            warn!("skipped a malformed {} message: {e} (counted; logged once)", name(proto));
        }
    }

    /// One event: update what is cheap to know, hint what must be re-queried.
    fn on_message(&mut self, proto: Protocol, m: &apwatch_core::netlink::Message<'_>) -> bool {
        match (proto, m.kind()) {
            (Protocol::Generic, MessageKind::Protocol(f)) if Some(f) == self.kernel.nl80211.map(|n| n.family) => {
                let ev = match GenlMessage::parse(m).and_then(|g| Event::parse(&g)) {
                    Ok(ev) => ev,
                    Err(e) => {
                        self.malformed(proto, &e);
                        return false;
                    }
                };
                match &ev {
                    Event::StartAp(e) => debug!(
                        "event start_ap ifindex={} ssid=\"{}\"",
                        e.ifindex,
                        e.ssid.map(|s| IwEscaped(s.as_bytes()).to_string()).unwrap_or_default()
                    ),
                    other => debug!(
                        "event {} ifindex={}",
                        other.name(),
                        other.ifindex().map_or("-".to_owned(), |i| i.to_string())
                    ),
                }
                match ev {
                    Event::StartAp(_)
                    | Event::StopAp(_)
                    | Event::NewInterface(_)
                    | Event::SetInterface(_)
                    | Event::DelInterface(_)
                    | Event::ChannelSwitch(_) => {
                        match ev.ifindex() {
                            Some(i) => {
                                // a full queue turns into a resync inside the pipeline
                                self.pipeline.push(Hint::Interface(i));
                                true
                            }
                            None => false,
                        }
                    }
                    _ => false,
                }
            }
            (Protocol::Route, MessageKind::Protocol(k @ (rtnl::kind::NEWLINK | rtnl::kind::DELLINK))) => {
                let l = match Link::parse(m) {
                    Ok(l) => l,
                    Err(e) => {
                        self.malformed(proto, &e);
                        return false;
                    }
                };
                if l.family != af::BRIDGE {
                    if k == rtnl::kind::NEWLINK {
                        self.view.links.insert(l.ifindex, LinkInfo::from_link(&l));
                    } else {
                        self.view.links.remove(&l.ifindex);
                    }
                }
                // every link event of a wireless netdev is a hint: on kernels before 6.3 (no
                // START_AP) carrier up is how an AP start shows; a new netdev announces itself
                // on nl80211's "config" group first
                if self.view.wifi.contains_key(&l.ifindex) || self.kernel.has_fake_wifi() {
                    self.pipeline.push(Hint::Interface(l.ifindex));
                    return true;
                }
                false
            }
            (Protocol::Route, MessageKind::Protocol(rtnl::kind::NEWADDR | rtnl::kind::DELADDR)) => {
                self.addrs_dirty = true;
                true
            }
            (_, MessageKind::Overrun) => {
                self.pipeline.push(Hint::Resync);
                true
            }
            _ => false,
        }
    }

    /// Re-queries what the hints name (or everything), then reconciles. False when something
    /// failed and a retry is due.
    fn reconcile_pending(&mut self) -> bool {
        let resync = self.pipeline.drain(&mut self.dirty);
        let refreshed = if resync { self.full_dump() } else { self.requery() };
        self.dirty.clear();
        if let Err(e) = refreshed {
            error!("querying the kernel: {e}; retrying");
            self.pipeline.push(Hint::Resync);
            return false;
        }
        if self.addrs_dirty {
            match self.kernel.dump_addrs() {
                Ok(a) => {
                    self.view.addrs = a;
                    self.addrs_dirty = false;
                }
                Err(e) => warn!("reading addresses: {e}"),
            }
        }
        self.reconcile()
    }

    fn full_dump(&mut self) -> std::io::Result<()> {
        if self.genl_events.is_none() {
            self.try_nl80211();
        }
        self.view.links = self.kernel.dump_links()?.into_iter().map(|l| (l.ifindex, l)).collect();
        self.view.wifi = if self.kernel.has_wifi() {
            self.kernel.dump_interfaces()?.into_iter().map(|w| (w.ifindex, w)).collect()
        } else {
            Default::default()
        };
        self.addrs_dirty = true;
        debug!("resync: {} links, {} wireless interfaces", self.view.links.len(), self.view.wifi.len());
        Ok(())
    }

    fn try_nl80211(&mut self) {
        if let Ok(n) = self.kernel.resolve_nl80211() {
            match n.subscribe() {
                Ok(s) => {
                    info!("nl80211 appeared (family {:#x}): joined mlme and config", n.family);
                    self.genl_events = Some(s);
                }
                Err(e) => warn!("nl80211 groups: {e}"),
            }
        }
    }

    fn requery(&mut self) -> std::io::Result<()> {
        let ids: Vec<u32> = self.dirty.ids().to_vec();
        for id in ids {
            self.refresh_link(id)?;
            let w = if self.kernel.has_wifi() { self.kernel.get_interface(id)? } else { None };
            match w {
                Some(w) => {
                    self.view.wifi.insert(id, w);
                }
                None => {
                    self.view.wifi.remove(&id);
                }
            }
        }
        Ok(())
    }

    /// Asks the kernel for link `id` and puts its answer (or its absence) into the view.
    fn refresh_link(&mut self, id: u32) -> std::io::Result<()> {
        match self.kernel.get_link(id)? {
            Some(l) => self.view.links.insert(id, l),
            None => self.view.links.remove(&id),
        }
        Ok(())
    }

    /// Applies the policy until it asks for nothing more (bounded), then DHCP, state, LED.
    fn reconcile(&mut self) -> bool {
        let backend = self.bridges.backend();
        let mut ok = true;
        if self.view.wifi.len() > policy::MAX_IFACES && self.counters.too_many.hit() {
            warn!(
                "{} wireless interfaces: only the first {} (by ifindex) are managed (logged once)",
                self.view.wifi.len(),
                policy::MAX_IFACES
            );
        }
        let mut plan = policy::reconcile(&self.view.ifaces(), &self.cfg.rules, backend);
        self.announce(&plan);
        // rtnetlink answers synchronously: re-check and go on. netifd (ubus) acts later and its
        // link event brings the next reconcile; asking again now would only repeat the call.
        let rounds = match backend {
            Backend::Ubus => 1,
            _ => 3,
        };
        for _round in 0..rounds {
            if plan.actions.is_empty() {
                break;
            }
            for a in &plan.actions {
                if backend == Backend::Ubus && self.recently_asked(a) {
                    debug!("{}: asked netifd already, waiting for it", self.describe(a));
                    continue;
                }
                self.log_action(a);
                if let Err(e) = self.bridges.apply(&mut self.kernel, &mut self.view, &self.cfg.rules, a) {
                    error!("{}: {e}", self.describe(a));
                    ok = false;
                }
                let id = match a {
                    Action::Join { ifindex, .. } | Action::Leave { ifindex, .. } => *ifindex,
                };
                // the kernel's answer, not our intent, is what the next round sees
                if let Err(e) = self.refresh_link(id) {
                    warn!("re-reading link {id}: {e}");
                }
            }
            if !ok {
                break;
            }
            plan = policy::reconcile(&self.view.ifaces(), &self.cfg.rules, backend);
        }
        match self.dnsmasq.sync(&self.cfg, backend, &plan, &self.view) {
            Ok(true) => self.dnsmasq.restart(&self.cfg),
            Ok(false) => {}
            Err(e) => {
                error!("dnsmasq drop-ins in {}: {e}", self.cfg.main.dnsmasq_dir);
                ok = false;
            }
        }
        self.since.update(&plan, &self.view);
        let c = &self.counters;
        let counters = [c.malformed.count(), c.spoofed.count(), c.enobufs.count()];
        let text = state::render(&self.cfg, backend, &plan, &self.view, &self.since, counters);
        if let Err(e) = state::write(std::path::Path::new(self.cfg.main.state_file.as_str()), &text) {
            if self.counters.state_file.hit() {
                warn!(
                    "state file {}: {e} (`apwatch status` cannot see this agent; logged once)",
                    self.cfg.main.state_file
                );
            }
        }
        let serving = plan.active.iter().any(|a| a.rule.is_some());
        self.led.show(ok, serving);
        ok
    }

    /// Whether netifd was asked for exactly this within the last few seconds (ubus only): the
    /// same request is not sent twice while netifd works on it.
    fn recently_asked(&mut self, a: &Action) -> bool {
        let now = Instant::now();
        self.asked.retain(|(_, t)| now.duration_since(*t) < NETIFD_PATIENCE);
        if self.asked.iter().any(|(x, _)| x == a) {
            return true;
        }
        self.asked.push((a.clone(), now));
        false
    }

    /// One line when an AP comes up, changes SSID or rule, or goes down.
    fn announce(&mut self, plan: &Plan) {
        let mut now = IdMap::default();
        for a in &plan.active {
            let Some(ssid) = self.view.wifi.get(&a.ifindex).and_then(|w| w.ssid.clone()) else { continue };
            let entry = (a.rule, ssid);
            if self.announced.get(&a.ifindex) != Some(&entry) {
                let (rule, ssid) = &entry;
                match rule.and_then(|i| self.cfg.rules.get(i)) {
                    Some(r) => info!("{} AP up ssid=\"{ssid}\" rule={}", self.ifname(a.ifindex), r.name),
                    None => info!("{} AP up ssid=\"{ssid}\" matches no rule: left alone", self.ifname(a.ifindex)),
                }
            }
            now.insert(a.ifindex, entry);
        }
        for ifindex in self.announced.keys() {
            if !now.contains_key(ifindex) {
                info!("{} AP down", self.ifname(*ifindex));
            }
        }
        self.announced = now;
    }

    fn describe(&self, a: &Action) -> String {
        match a {
            Action::Join { ifindex, bridge, .. } => format!("{} -> {bridge}", self.ifname(*ifindex)),
            Action::Leave { ifindex, bridge } => format!("{} leaving {bridge}", self.ifname(*ifindex)),
        }
    }

    fn ifname(&self, ifindex: u32) -> String {
        self.view
            .link_name(ifindex)
            .map_or_else(|| format!("ifindex {ifindex}"), |n| String::from_utf8_lossy(n).into_owned())
    }

    fn log_action(&self, a: &Action) {
        match a {
            Action::Join { ifindex, rule, bridge, was } => {
                let ssid =
                    self.view.wifi.get(ifindex).and_then(|w| w.ssid.as_ref()).map(|s| s.as_bytes()).unwrap_or_default();
                let rule = self.cfg.rules.get(*rule).map(|r| r.name.as_str()).unwrap_or("?");
                let was = was.as_ref().map(|w| format!(" (was {w})")).unwrap_or_default();
                info!("{} ssid=\"{}\" rule={rule} -> {bridge}{was}", self.ifname(*ifindex), IwEscaped(ssid));
            }
            Action::Leave { ifindex, bridge } => {
                let why = match self.view.wifi.get(ifindex).and_then(|w| w.ssid.as_ref()) {
                    Some(s) => format!("ssid=\"{s}\" matches no rule for it"),
                    None => "is no longer an AP".to_owned(),
                };
                info!("{} {why} -> leaves {bridge}", self.ifname(*ifindex));
            }
        }
    }
}

fn name(p: Protocol) -> &'static str {
    match p {
        Protocol::Generic => "nl80211",
        Protocol::Route => "rtnetlink",
    }
}
