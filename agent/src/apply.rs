//! Applying a plan: the bridge actions as the policy names them, the DHCP drop-ins and their
//! dnsmasq restart, the state file, the status LED, and one log line per decision.

use crate::errno::Why;
use crate::out::Part;
use std::path::Path;

use apwatch_core::config::Config;
use apwatch_core::escape::IwEscaped;
use apwatch_core::policy::{Action, Plan, Problem, Target};
use apwatch_core::Ssid;

use crate::bridge::{describe, Bridges, Outcome};
use crate::dhcp::Dnsmasq;
use crate::json;
use crate::kernel::Kernel;
use crate::log::Once;
use crate::state::{self, Since};
use crate::status_led::StatusLed;
use crate::view::{IdMap, View};

pub struct Effects {
    pub bridges: Bridges,
    pub led: StatusLed,
    pub dnsmasq: Dnsmasq,
    since: Since,
    /// The active APs last announced, for the up/moved/down lines and events.
    announced: IdMap<Announced>,
    /// The last error line per netdev: the same failure again is a debug line until it changes.
    last_error: IdMap<String>,
    state_file: Once,
    /// Problems already reported (each is logged once while it lasts).
    reported: Vec<Problem>,
    /// The state file's text as last rendered (`ubus call apwatch status` answers from it).
    pub state_text: String,
    /// The state file read back (kept: an unchanged state allocates nothing).
    state_scratch: Vec<u8>,
}

/// An active AP as last announced.
#[derive(Clone, Debug)]
struct Announced {
    ifname: String,
    wiphy: Option<u32>,
    ssid: Ssid,
    rule: Option<usize>,
    target: Option<Target>,
}

/// What one round of bridge actions did.
#[derive(Debug, Default)]
pub struct Round {
    /// Every action was carried out (or accepted by netifd).
    pub ok: bool,
    /// Links to read back: each moved port, each created bridge.
    pub touched: Vec<u32>,
}

impl Effects {
    pub fn new(bridges: Bridges, led: StatusLed) -> Effects {
        Effects {
            bridges,
            led,
            dnsmasq: Dnsmasq::new(),
            since: Since::default(),
            announced: IdMap::default(),
            last_error: IdMap::default(),
            state_file: Once::default(),
            reported: Vec::new(),
            state_text: String::new(),
            state_scratch: Vec::new(),
        }
    }

    /// Carries out the plan's bridge actions: the kernel's answer, not our intent, is what the
    /// next round sees, so the caller reads back every link in `touched`.
    pub fn bridge_actions(&mut self, kernel: &mut Kernel, view: &View, cfg: &Config, plan: &Plan) -> Round {
        let mut round = Round { ok: true, ..Round::default() };
        for a in &plan.actions {
            match self.bridges.apply(kernel, view, a, &plan.actions, cfg.main.rtnl_fallback) {
                Ok(Outcome::Waiting) => {
                    // netifd's own patience (Netifd::recheck_at) schedules the next look
                    debug!("{}: asked netifd already, waiting for it", describe(a));
                    continue;
                }
                Ok(Outcome::Done { created_bridge }) => {
                    log_action(a, view, cfg);
                    round.touched.extend(created_bridge);
                    self.last_error.remove(&a.ifindex());
                }
                Err(e) if e.is_transient() => {
                    log_action(a, view, cfg);
                    debug!("{}: {e} (transient; retrying)", describe(a));
                    round.ok = false;
                }
                Err(e) => {
                    let line = format!("{}: {e}", describe(a));
                    if self.last_error.get(&a.ifindex()) == Some(&line) {
                        debug!("{line} (again; retrying with back-off)");
                    } else {
                        log_action(a, view, cfg);
                        error!("{line}");
                        self.last_error.insert(a.ifindex(), line);
                    }
                    round.ok = false;
                }
            }
            round.touched.push(a.ifindex());
        }
        round
    }

    /// An `apwatch.ap` event on the bus (ubus backend): `up`, `moved` (its SSID or rule
    /// changed) or `down`, with the AP's names, its SSID (escaped and hex), its rule and where it
    /// belongs (for `down`: as it was).
    fn event(&mut self, action: &str, ap: &Announced, cfg: &Config) {
        let Some(netifd) = self.bridges.netifd() else { return };
        let ssid = ap.ssid.as_bytes();
        let mut o = json::Object::new()
            .str("action", action.as_bytes())
            .str("ifname", ap.ifname.as_bytes())
            .str("phy", ap.wiphy.map(|p| format!("phy{p}")).unwrap_or_default().as_bytes())
            .ssid(ssid);
        if let Some(r) = ap.rule.and_then(|i| cfg.rules.get(i)) {
            o = o.str("rule", r.name.as_bytes());
        }
        if let Some(t) = &ap.target {
            if let Some(n) = &t.network {
                o = o.str("network", n.as_bytes());
            }
            o = o.str("bridge", t.bridge.as_bytes());
            if let Some(v) = t.vlan {
                o = o.num("vlan", v);
            }
        }
        netifd.send_event(&o);
    }

    /// A located error for each new problem of the plan (a VLAN rule on a bridge without
    /// filtering, a VLAN without its device), once while it lasts.
    pub fn report_problems(&mut self, plan: &Plan, cfg: &Config, cfg_path: &str) {
        for p in &plan.problems {
            if self.reported.contains(p) {
                continue;
            }
            let (rule, text) = match p {
                Problem::NotFiltering { rule, bridge } => (
                    *rule,
                    format!("bridge {bridge} does not filter VLANs (no vlan_filtering, or no such bridge): its APs are left where they are"),
                ),
                Problem::NoVlanDevice { rule, bridge, vid } => {
                    (*rule, format!("{bridge} has no VLAN device for VLAN {vid} (e.g. {bridge}.{vid}): DHCP waits for one"))
                }
            };
            if let Some(r) = cfg.rules.get(rule) {
                error!("{cfg_path}:{}: rule '{}', option 'vlan': {text}", r.line, r.name);
            }
        }
        self.reported = plan.problems.iter().cloned().collect();
    }

    /// One line (and one bus event) when an AP comes up, changes SSID or rule, or goes down.
    pub fn announce(&mut self, plan: &Plan, view: &View, cfg: &Config) {
        // in place: an unchanged set of APs allocates nothing
        for a in &plan.active {
            let Some(w) = view.wifi.get(&a.ifindex) else { continue };
            let Some(ssid) = w.ssid.as_ref() else { continue };
            if let Some(b) = self.announced.get_mut(&a.ifindex).filter(|b| b.rule == a.rule && b.ssid == *ssid) {
                if b.target != a.target {
                    b.target = a.target.clone();
                }
                if view.link_name(a.ifindex).is_some_and(|n| n != b.ifname.as_bytes()) {
                    b.ifname = ifname(view, a.ifindex);
                }
                continue;
            }
            let before = self.announced.get(&a.ifindex).is_some();
            let ap = Announced {
                ifname: ifname(view, a.ifindex),
                wiphy: w.wiphy,
                ssid: ssid.clone(),
                rule: a.rule,
                target: a.target.clone(),
            };
            let (name, ssid) = (&ap.ifname, &ap.ssid);
            match ap.rule.and_then(|i| cfg.rules.get(i)) {
                Some(r) if ap.target.is_none() => error!(
                    "{name} AP up ssid=\"{ssid}\" rule={}: its network {} has no device in netifd \
                     (it would become that network's main device): not added",
                    r.name,
                    r.network.as_deref().unwrap_or("?")
                ),
                Some(r) => info!("{name} AP up ssid=\"{ssid}\" rule={}", r.name),
                None => info!("{name} AP up ssid=\"{ssid}\" matches no rule: left alone"),
            }
            let kind = if before { "moved" } else { "up" };
            self.event(kind, &ap, cfg);
            self.announced.insert(a.ifindex, ap);
        }
        let up =
            |i: u32| plan.active.iter().any(|a| a.ifindex == i) && view.wifi.get(&i).is_some_and(|w| w.ssid.is_some());
        if self.announced.iter().any(|(i, _)| !up(i)) {
            let gone: Vec<Announced> =
                self.announced.iter().filter(|(i, _)| !up(*i)).map(|(_, ap)| ap.clone()).collect();
            self.announced.retain(|i| up(*i));
            for ap in gone {
                info!("{} AP down", ap.ifname);
                self.event("down", &ap, cfg);
            }
        }
    }

    /// After the bridges: DHCP drop-ins (and a dnsmasq restart when one changed), the state
    /// file, the LED. Returns `ok` and whether the drop-ins could be written.
    pub fn finish(&mut self, cfg: &Config, plan: &Plan, view: &View, counters: [u64; 3], ok: bool) -> bool {
        let mut ok = ok;
        match self.dnsmasq.sync(cfg, plan, view) {
            Ok(true) => self.dnsmasq.restart(cfg),
            Ok(false) => {}
            Err(e) => {
                error!("dnsmasq drop-ins in {}: {}", cfg.main.dnsmasq_dir, Why(&e));
                ok = false;
            }
        }
        self.since.update(plan, view);
        state::render_into(&mut self.state_text, cfg, self.bridges.backend(), plan, view, &self.since, counters);
        let path = Path::new(cfg.main.state_file.as_str());
        if let Err(e) = crate::files::write_atomic(path, self.state_text.as_bytes(), &mut self.state_scratch) {
            if self.state_file.hit() {
                warn!(
                    "state file {}: {} (`apwatch status` cannot see this agent; logged once)",
                    cfg.main.state_file,
                    Why(&e)
                );
            }
        }
        let serving = plan.active.iter().any(|a| a.rule.is_some());
        self.led.show(ok, serving);
        ok
    }
}

fn ifname(view: &View, ifindex: u32) -> String {
    view.link_name(ifindex).map_or_else(|| format!("ifindex {ifindex}"), |n| IwEscaped(n).to_string())
}

fn log_action(a: &Action, view: &View, cfg: &Config) {
    match a {
        Action::Join { ifindex, ifname, rule, to, from } => {
            let ssid = view.wifi.get(ifindex).and_then(|w| w.ssid.as_ref()).map(|s| s.as_bytes()).unwrap_or_default();
            let rule = cfg.rules.get(*rule).map(|r| r.name.as_str()).unwrap_or("?");
            let was = Part(" (was ", from.as_ref().map(|f| &f.bridge as &dyn std::fmt::Display), ")");
            let vlan = Part(" vlan ", to.vlan.as_ref().map(|v| v as &dyn std::fmt::Display), "");
            info!("{ifname} ssid=\"{}\" rule={rule} -> {}{vlan}{was}", IwEscaped(ssid), to.bridge);
        }
        Action::SetVlan { ifindex, ifname, rule, to } => {
            let ssid = view.wifi.get(ifindex).and_then(|w| w.ssid.as_ref()).map(|s| s.as_bytes()).unwrap_or_default();
            let rule = cfg.rules.get(*rule).map(|r| r.name.as_str()).unwrap_or("?");
            let was = match view.port_vlans.get(ifindex).map(Vec::as_slice) {
                Some([r]) if r.first == r.last => Part(" (was vlan ", Some(&r.first), ")"),
                Some([]) | None => Part("", None, ""),
                Some(_) => Part("", Some(&" (was several vlans)"), ""),
            };
            info!(
                "{ifname} ssid=\"{}\" rule={rule} -> {} vlan {}{was}",
                IwEscaped(ssid),
                to.bridge,
                to.vlan.unwrap_or(0)
            );
        }
        Action::Leave { ifindex, ifname, from } => match view.wifi.get(ifindex).and_then(|w| w.ssid.as_ref()) {
            Some(s) => info!("{ifname} ssid=\"{s}\" matches no rule for it -> leaves {}", from.bridge),
            None => info!("{ifname} is no longer an AP -> leaves {}", from.bridge),
        },
    }
}
