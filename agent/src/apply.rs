//! Applying a plan: the bridge actions as the policy names them, the DHCP drop-ins and their
//! dnsmasq restart, the state file, the status LED, and one log line per decision.

use std::path::Path;
use std::time::Instant;

use apwatch_core::config::Config;
use apwatch_core::escape::IwEscaped;
use apwatch_core::policy::{Action, Backend, Plan};
use apwatch_core::Ssid;

use crate::bridge::Bridges;
use crate::dhcp::Dnsmasq;
use crate::kernel::Kernel;
use crate::log::Once;
use crate::state::{self, Since};
use crate::status_led::StatusLed;
use crate::view::{IdMap, View};

/// How long netifd gets to carry out an `add_device`/`remove_device` before apwatch asks again.
const NETIFD_PATIENCE: std::time::Duration = std::time::Duration::from_secs(5);

pub struct Effects {
    pub bridges: Bridges,
    pub led: StatusLed,
    pub dnsmasq: Dnsmasq,
    since: Since,
    /// The active APs last announced (rule, SSID), for the up/down lines.
    announced: IdMap<(Option<usize>, Ssid)>,
    /// ubus requests in flight (see `recently_asked`).
    asked: Vec<(Action, Instant)>,
    state_file: Once,
}

impl Effects {
    pub fn new(bridges: Bridges, led: StatusLed) -> Effects {
        Effects {
            bridges,
            led,
            dnsmasq: Dnsmasq::new(),
            since: Since::default(),
            announced: IdMap::default(),
            asked: Vec::new(),
            state_file: Once::default(),
        }
    }

    /// Carries out the plan's bridge actions. Returns whether all succeeded, and the links to
    /// read back (each moved port, each created bridge): the kernel's answer, not our intent,
    /// is what the next round sees.
    pub fn bridge_actions(&mut self, kernel: &mut Kernel, view: &View, cfg: &Config, plan: &Plan) -> (bool, Vec<u32>) {
        let mut ok = true;
        let mut touched = Vec::new();
        for a in &plan.actions {
            if self.bridges.backend() == Backend::Ubus && self.recently_asked(a) {
                debug!("{}: asked netifd already, waiting for it", describe(a));
                continue;
            }
            log_action(a, view, cfg);
            match self.bridges.apply(kernel, view, a) {
                Ok(applied) => touched.extend(applied.created_bridge),
                Err(e) if e.is_transient() => {
                    debug!("{}: {e} (transient; retrying)", describe(a));
                    ok = false;
                }
                Err(e) => {
                    error!("{}: {e}", describe(a));
                    ok = false;
                }
            }
            touched.push(a.ifindex());
        }
        (ok, touched)
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
    pub fn announce(&mut self, plan: &Plan, view: &View, cfg: &Config) {
        let mut now = IdMap::default();
        for a in &plan.active {
            let Some(w) = view.wifi.get(&a.ifindex) else { continue };
            let Some(ssid) = w.ssid.clone() else { continue };
            let entry = (a.rule, ssid);
            if self.announced.get(&a.ifindex) != Some(&entry) {
                let (rule, ssid) = &entry;
                let name = ifname(view, a.ifindex);
                match rule.and_then(|i| cfg.rules.get(i)) {
                    Some(r) => info!("{name} AP up ssid=\"{ssid}\" rule={}", r.name),
                    None => info!("{name} AP up ssid=\"{ssid}\" matches no rule: left alone"),
                }
            }
            now.insert(a.ifindex, entry);
        }
        for ifindex in self.announced.keys() {
            if !now.contains_key(ifindex) {
                info!("{} AP down", ifname(view, *ifindex));
            }
        }
        self.announced = now;
    }

    /// After the bridges: DHCP drop-ins (and a dnsmasq restart when one changed), the state
    /// file, the LED. Returns `ok` and whether the drop-ins could be written.
    pub fn finish(&mut self, cfg: &Config, plan: &Plan, view: &View, counters: [u64; 3], ok: bool) -> bool {
        let mut ok = ok;
        match self.dnsmasq.sync(cfg, plan, view) {
            Ok(true) => self.dnsmasq.restart(cfg),
            Ok(false) => {}
            Err(e) => {
                error!("dnsmasq drop-ins in {}: {e}", cfg.main.dnsmasq_dir);
                ok = false;
            }
        }
        self.since.update(plan, view);
        let text = state::render(cfg, self.bridges.backend(), plan, view, &self.since, counters);
        if let Err(e) = state::write(Path::new(cfg.main.state_file.as_str()), &text) {
            if self.state_file.hit() {
                warn!("state file {}: {e} (`apwatch status` cannot see this agent; logged once)", cfg.main.state_file);
            }
        }
        let serving = plan.active.iter().any(|a| a.rule.is_some());
        self.led.show(ok, serving);
        ok
    }
}

fn describe(a: &Action) -> String {
    match a {
        Action::Join { ifname, to, .. } => format!("{ifname} -> {}", to.bridge),
        Action::Leave { ifname, from, .. } => format!("{ifname} leaving {}", from.bridge),
    }
}

fn ifname(view: &View, ifindex: u32) -> String {
    view.link_name(ifindex).map_or_else(|| format!("ifindex {ifindex}"), |n| String::from_utf8_lossy(n).into_owned())
}

fn log_action(a: &Action, view: &View, cfg: &Config) {
    match a {
        Action::Join { ifindex, ifname, rule, to, from } => {
            let ssid = view.wifi.get(ifindex).and_then(|w| w.ssid.as_ref()).map(|s| s.as_bytes()).unwrap_or_default();
            let rule = cfg.rules.get(*rule).map(|r| r.name.as_str()).unwrap_or("?");
            let was = from.as_ref().map(|f| format!(" (was {})", f.bridge)).unwrap_or_default();
            info!("{ifname} ssid=\"{}\" rule={rule} -> {}{was}", IwEscaped(ssid), to.bridge);
        }
        Action::Leave { ifindex, ifname, from } => {
            let why = match view.wifi.get(ifindex).and_then(|w| w.ssid.as_ref()) {
                Some(s) => format!("ssid=\"{s}\" matches no rule for it"),
                None => "is no longer an AP".to_owned(),
            };
            info!("{ifname} {why} -> leaves {}", from.bridge);
        }
    }
}
