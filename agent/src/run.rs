//! `apwatch run`: the service loop. It waits on the event sockets, the signals and the timers;
//! events become hints (events.rs), a finished burst becomes a re-query (observe.rs) and a
//! reconcile whose plan is carried out (apply.rs); timing.rs holds the burst and retry rules.

use crate::errno::Why;
use std::time::{Duration, Instant};

use apwatch_core::config::Config;
use apwatch_core::pipeline::{DirtySet, Hint, Pipeline};
use apwatch_core::policy;
use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use rustix::event::{poll, PollFd, PollFlags};

use crate::apply::Effects;
use crate::bridge::Bridges;
use crate::events::{Events, Sink};
use crate::kernel::Kernel;
use crate::log::Once;
use crate::observe;
use crate::signals::{Signal, Signals};
use crate::socket::Protocol;
use crate::status_led::StatusLed;
use crate::timing::{earliest, Backoff, Burst};
use crate::view::View;
use crate::witness::Witness;
use crate::{config_file, Exit};

/// The poll set's capacity: rtnetlink, signals, genl, the bus, hostapd's sockets and its bus.
const POLL_FDS: usize = 4 + apwatch_core::policy::MAX_IFACES + 1;

/// How often a running `dnsmasq_restart` is checked for its end.
const REAP: Duration = Duration::from_millis(50);

pub struct Agent {
    cfg: Config,
    cfg_path: String,
    kernel: Kernel,
    events: Events,
    view: View,
    pipeline: Pipeline<NoopRawMutex, 64>,
    dirty: DirtySet,
    addrs_dirty: bool,
    effects: Effects,
    burst: Burst,
    backoff: Backoff,
    /// A membership waits for netifd: look at the kernel again then.
    recheck: Option<Instant>,
    /// hostapd's control sockets: the second witness of an AP's SSID.
    witness: Witness,
    too_many: Once,
    /// The plan each reconcile refills (12 KB: kept, not built and copied per decision).
    plan: Option<Box<policy::Plan>>,
    /// The interfaces each decision reads (kept for the same reason).
    ifaces: Vec<policy::Iface>,
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
        error!("{}", e.in_file(cfg_path));
        return Exit::Config;
    }
    match Agent::start(cfg, cfg_path.to_owned(), bridges) {
        Ok(mut a) => a.main_loop(),
        Err(e) => {
            error!("cannot start: {}", Why(&e));
            Exit::Runtime
        }
    }
}

impl Agent {
    /// The agent, boxed: it is a few kilobytes (the config, the plan's buffers), and a box moves
    /// as one pointer where the value would be copied field by field.
    fn start(cfg: Config, cfg_path: String, bridges: Bridges) -> std::io::Result<Box<Agent>> {
        // temp files a crash (kill -9, power loss) left between create and rename
        crate::files::remove_stale_temp(std::path::Path::new(cfg.main.state_file.as_str()));
        for r in &cfg.rules {
            crate::files::remove_stale_temp(&crate::dhcp::path(
                std::path::Path::new(cfg.main.dnsmasq_dir.as_str()),
                &r.name,
            ));
        }
        let mut kernel = Kernel::open()?;
        #[cfg_attr(not(feature = "test-hooks"), allow(unused_mut))]
        let mut events = Events::open(&mut kernel)?;
        #[cfg(feature = "test-hooks")]
        if let Some(n) = std::env::var("APWATCH_TEST_RCVBUF").ok().and_then(|v| v.parse::<usize>().ok()) {
            events.force_rcvbuf(n)?;
        }
        let cfg_hostapd_dir = cfg.main.hostapd_ctrl_dir.to_string();
        let mut agent = Box::new(Agent {
            effects: Effects::new(bridges, StatusLed::open(&cfg)),
            cfg,
            cfg_path,
            kernel,
            events,
            view: View::default(),
            pipeline: Pipeline::new(),
            dirty: DirtySet::default(),
            addrs_dirty: true,
            burst: Burst::default(),
            backoff: Backoff::default(),
            recheck: None,
            witness: Witness::new(
                std::path::PathBuf::from(cfg_hostapd_dir),
                std::path::PathBuf::from(crate::hostapd::DEFAULT_OWN_DIR),
                crate::ubus::socket_path(None),
            ),
            too_many: Once::default(),
            plan: None,
            ifaces: Vec::new(),
        });
        agent.netifd_changed();
        info!(
            "started: backend {}, {} rule(s), config {}",
            agent.effects.bridges.backend().name(),
            agent.cfg.rules.len(),
            agent.cfg_path
        );
        Ok(agent)
    }

    fn main_loop(&mut self) -> Exit {
        let signals = match Signals::new() {
            Ok(s) => s,
            Err(e) => {
                error!("signals: {}", Why(&e));
                return Exit::Runtime;
            }
        };
        let (mut term, mut hup) = (false, false);

        self.pipeline.push(Hint::Resync);
        self.burst.request(Instant::now());
        loop {
            if term {
                info!("stopping on signal");
                return Exit::Ok;
            }
            if std::mem::take(&mut hup) {
                self.reload();
                self.pipeline.push(Hint::Resync);
                self.burst.request(Instant::now());
            }
            let now = Instant::now();
            let reap_at = self.effects.dnsmasq.busy().then(|| now + REAP);
            let bus_pending = self.effects.bridges.netifd().is_some_and(|n| n.has_pending()).then_some(now);
            let witness_pending = self.witness.has_pending().then_some(now);
            let deadline = earliest([
                self.burst.deadline(),
                self.backoff.deadline(),
                self.effects.led.next_tick(),
                reap_at,
                self.recheck,
                bus_pending,
                witness_pending,
                self.witness.next_poll(),
            ]);
            let timeout = deadline.map(|d| crate::timing::timespec(d.saturating_duration_since(now)));

            let (genl_ready, rtnl_ready, bus_ready) = {
                let bus = match &self.effects.bridges {
                    crate::bridge::Bridges::Ubus(n) => n.fd(),
                    crate::bridge::Bridges::Rtnl => None,
                };
                // on the stack: a wake-up allocates nothing. A control socket beyond POLL_FDS is
                // not polled; it is still read every round and its STATUS every second.
                let mut fds: heapless::Vec<PollFd<'_>, POLL_FDS> = heapless::Vec::new();
                let _ = fds.push(PollFd::new(&self.events.rtnl, PollFlags::IN));
                let _ = fds.push(PollFd::new(&signals, PollFlags::IN));
                let genl_at = self.events.genl.as_ref().and_then(|g| {
                    fds.push(PollFd::new(g, PollFlags::IN)).ok()?;
                    Some(fds.len() - 1)
                });
                let bus_at = bus.and_then(|b| {
                    fds.push(PollFd::from_borrowed_fd(b, PollFlags::IN)).ok()?;
                    Some(fds.len() - 1)
                });
                for f in self.witness.fds() {
                    if fds.push(PollFd::from_borrowed_fd(f, PollFlags::IN)).is_err() {
                        break;
                    }
                }
                match poll(&mut fds, timeout.as_ref()) {
                    Ok(_) | Err(rustix::io::Errno::INTR) => {}
                    Err(e) => {
                        error!("poll: {}", crate::errno::os(e));
                        return Exit::Runtime;
                    }
                }
                let ready = |at: Option<usize>| at.and_then(|i| fds.get(i)).is_some_and(|f| !f.revents().is_empty());
                (ready(genl_at), ready(Some(0)), ready(bus_at))
            };
            loop {
                match signals.next() {
                    Ok(Some(Signal::Stop)) => term = true,
                    Ok(Some(Signal::Reload)) => hup = true,
                    Ok(None) => break,
                    Err(e) => {
                        error!("signals: {}", Why(&e));
                        return Exit::Runtime;
                    }
                }
            }

            let mut sink = Sink { pipeline: &self.pipeline, view: &mut self.view, kernel: &self.kernel };
            let mut woke = crate::events::Woke::default();
            if genl_ready {
                woke |= self.events.read(Protocol::Generic, &mut sink);
            }
            if rtnl_ready {
                woke |= self.events.read(Protocol::Route, &mut sink);
            }
            let now = Instant::now();
            self.addrs_dirty |= woke.addresses;
            if woke.reconcile {
                self.burst.hint(now);
            }
            if woke.now && !self.reconcile() {
                self.backoff.failed(now);
            }
            if bus_ready || bus_pending.is_some() {
                hup |= self.read_bus();
            }
            // hostapd's events and the slow STATUS round are hints like the kernel's
            let mut hinted = self.witness.read_events(&self.view);
            if self.witness.next_poll().is_some_and(|t| now >= t) {
                hinted.extend(self.witness.poll(now, &self.view));
            }
            for id in hinted {
                self.pipeline.push(Hint::Interface(id));
                self.burst.hint(now);
            }
            if self.recheck.is_some_and(|t| now >= t) {
                self.recheck = None;
                self.burst.request(now);
            }
            self.effects.led.tick();
            self.effects.dnsmasq.reap(&self.cfg);
            if self.backoff.take_due(now) {
                self.addrs_dirty = true;
                if self.events.genl.is_none() {
                    self.pipeline.push(Hint::Resync);
                }
                self.burst.request(now);
            }
            if self.burst.take_due(now) {
                if self.reconcile_pending() {
                    self.backoff.succeeded();
                } else {
                    self.backoff.failed(now);
                }
            }
        }
    }

    fn reload(&mut self) {
        match config_file::load(&self.cfg_path) {
            Ok(cfg) => {
                let bridges = Bridges::new(cfg.main.backend);
                if let Err(e) = cfg.check_backend(bridges.backend()) {
                    error!("{}; keeping the last good configuration", e.in_file(&self.cfg_path));
                    return;
                }
                crate::log::set_level(cfg.main.log_level);
                if cfg.main.led != self.cfg.main.led || cfg.main.led_active_low != self.cfg.main.led_active_low {
                    self.effects.led = StatusLed::open(&cfg);
                }
                // the same backend keeps its bus connection and what it knows of netifd
                if bridges.backend() != self.effects.bridges.backend() {
                    self.effects.bridges = bridges;
                }
                self.cfg = cfg;
                self.effects.dnsmasq.config_changed();
                info!("configuration reloaded: {} rule(s)", self.cfg.rules.len());
                self.netifd_changed();
            }
            Err(e) => error!("{e}; keeping the last good configuration"),
        }
    }

    /// What the bus brought: netifd restarts and interface changes, `ubus call apwatch …`.
    /// True when `ubus call apwatch reload` asked for a reload.
    fn read_bus(&mut self) -> bool {
        let state_text = self.effects.state_text.clone();
        let Some(netifd) = self.effects.bridges.netifd() else { return false };
        let status = move || match crate::state::parse(&state_text) {
            Some((pid, counters, aps)) => crate::state::json(pid, true, counters, &aps, &crate::radios()),
            None => crate::state::json(std::process::id(), true, [0; 3], &[], &crate::radios()),
        };
        let news = netifd.drain(&status);
        if news.netifd_changed {
            self.netifd_changed();
        }
        news.reload
    }

    /// netifd (re)appeared, restarted or changed its interfaces, or the config changed: learn
    /// each rule's real device again and re-apply every membership now. A rule whose network
    /// has no device is a located warning: netifd would adopt the AP as the network's device.
    fn netifd_changed(&mut self) {
        let Some(netifd) = self.effects.bridges.netifd() else { return };
        netifd.register();
        netifd.forget_asked();
        for r in netifd.refresh_networks(&self.cfg.rules) {
            warn!(
                "{}:{}: rule '{}', option 'network': network '{}' has no device in netifd; its APs are not added \
                 (netifd would make one the network's main device)",
                self.cfg_path,
                r.line,
                r.name,
                r.network.as_deref().unwrap_or("?")
            );
        }
        self.pipeline.push(Hint::Resync);
        self.burst.request(Instant::now());
    }

    /// Re-queries what the hints name (or everything), then reconciles. False when something
    /// failed and a retry is due.
    fn reconcile_pending(&mut self) -> bool {
        let resync = self.pipeline.drain(&mut self.dirty);
        let refreshed = if resync {
            self.events.try_nl80211(&mut self.kernel);
            self.addrs_dirty = true;
            observe::full_dump(&mut self.kernel, &mut self.view)
        } else {
            observe::requery(&mut self.kernel, &mut self.view, self.dirty.ids())
        };
        if refreshed.is_ok() {
            // hostapd's word on the SSID is part of every re-query of an AP netdev
            self.witness.sync(&self.view);
            if resync {
                let ids = self.witness.attached(&self.view);
                self.witness.correct(&mut self.view, &ids);
            } else {
                self.witness.correct(&mut self.view, self.dirty.ids());
            }
        }
        self.dirty.clear();
        if let Err(e) = refreshed {
            error!("querying the kernel: {e}; retrying");
            self.pipeline.push(Hint::Resync);
            return false;
        }
        if self.cfg.rules.iter().any(|r| r.vlan.is_some()) {
            if let Err(e) = observe::refresh_port_vlans(&mut self.kernel, &mut self.view) {
                error!("reading bridge port VLANs: {e}; retrying");
                return false;
            }
        }
        if self.addrs_dirty {
            match observe::refresh_addrs(&mut self.kernel, &mut self.view) {
                Ok(()) => self.addrs_dirty = false,
                Err(e) => warn!("reading addresses: {e}"),
            }
        }
        self.reconcile()
    }

    /// Plans and applies until the plan asks for nothing more (bounded), then DHCP, state, LED.
    fn reconcile(&mut self) -> bool {
        let backend = self.effects.bridges.backend();
        if self.view.wifi.len() > policy::MAX_IFACES && self.too_many.hit() {
            warn!(
                "{} wireless interfaces: only the first {} (by ifindex) are managed (logged once)",
                self.view.wifi.len(),
                policy::MAX_IFACES
            );
        }
        let networks = self.effects.bridges.netifd().map(|n| n.networks.clone()).unwrap_or_default();
        let rules = &self.cfg.rules;
        let mut ifaces = std::mem::take(&mut self.ifaces);
        let mut decide = |plan: &mut policy::Plan, view: &View| {
            let (filtering, vlan_devices) = view.vlan_facts();
            let lan = policy::Lan { networks: &networks, filtering: &filtering, vlan_devices: &vlan_devices };
            view.ifaces_into(&mut ifaces);
            policy::reconcile_into(plan, &ifaces, rules, backend, &lan)
        };
        let vlans = self.cfg.rules.iter().any(|r| r.vlan.is_some());
        let mut plan = self.plan.take().unwrap_or_default();
        decide(&mut plan, &self.view);
        self.effects.announce(&plan, &self.view, &self.cfg);
        self.effects.report_problems(&plan, &self.cfg, &self.cfg_path);
        // rtnetlink answers synchronously: re-check and go on. netifd (ubus) acts later and its
        // link event brings the next reconcile; asking again now would only repeat the call.
        let rounds = match backend {
            policy::Backend::Ubus => 1,
            policy::Backend::Rtnl => 3,
        };
        let mut ok = true;
        for _round in 0..rounds {
            if plan.actions.is_empty() {
                break;
            }
            let round = self.effects.bridge_actions(&mut self.kernel, &self.view, &self.cfg, &plan);
            ok &= round.ok;
            for id in round.touched {
                if let Err(e) = observe::refresh_link(&mut self.kernel, &mut self.view, id) {
                    warn!("re-reading link {id}: {e}");
                }
            }
            if vlans {
                if let Err(e) = observe::refresh_port_vlans(&mut self.kernel, &mut self.view) {
                    warn!("re-reading bridge port VLANs: {e}");
                }
            }
            // netifd acts after answering: look at the kernel again once its patience is over
            self.recheck = self.effects.bridges.netifd().and_then(|n| n.recheck_at());
            if !ok {
                break;
            }
            decide(&mut plan, &self.view);
        }
        let done = self.effects.finish(&self.cfg, &plan, &self.view, self.events.counters.values(), ok);
        self.plan = Some(plan);
        self.ifaces = ifaces;
        done
    }
}
