//! dnsmasq drop-ins: one file per rule with an active AP, rendered by apwatch-core, written
//! atomically, removed when the rule's last AP goes; dnsmasq is restarted only when a file
//! really changed (it reads dhcp-range only at start).

use crate::errno::Why;
use std::io;
use std::path::{Path, PathBuf};

use apwatch_core::config::Config;
use apwatch_core::dnsmasq::{self, RenderError};
use apwatch_core::policy::Plan;

use crate::files;
use crate::log::Once;
use crate::spawn::{self, Child};
use crate::view::View;

pub struct Dnsmasq {
    no_address: Once,
    /// The running `dnsmasq_restart`, reaped from the event loop: the agent never waits for
    /// it, so a slow init script cannot delay the next AP.
    child: Option<Child>,
    /// Files changed again while it ran: restart once more when it ends.
    again: bool,
    /// Kept buffers (a reconcile that changes nothing allocates nothing): the rendered
    /// drop-in, its path, the file read back.
    text: String,
    path: PathBuf,
    scratch: Vec<u8>,
    /// Drop-ins of rules no longer configured were looked for (at start and after a reload).
    stale_checked: bool,
}

/// The drop-in path of a rule (for the start-up clean-up of temp files).
pub fn path(dir: &Path, rule: &str) -> PathBuf {
    let mut name = String::new();
    let _ = dnsmasq::file_name(rule, &mut name);
    dir.join(name)
}

impl Dnsmasq {
    pub fn new() -> Self {
        Dnsmasq {
            no_address: Once::default(),
            child: None,
            again: false,
            text: String::new(),
            path: PathBuf::new(),
            scratch: Vec::new(),
            stale_checked: false,
        }
    }

    /// The configuration changed: look for drop-ins of rules it no longer has at the next sync.
    pub fn config_changed(&mut self) {
        self.stale_checked = false;
    }

    /// Brings the drop-ins in line with the plan's DHCP files; returns whether any file changed.
    pub fn sync(&mut self, cfg: &Config, plan: &Plan, view: &View) -> io::Result<bool> {
        let dir = Path::new(cfg.main.dnsmasq_dir.as_str());
        let mut changed = false;
        for d in &plan.dhcp {
            let Some(rule) = cfg.rules.get(d.rule) else { continue };
            self.path.clear();
            self.path.push(dir);
            self.path.push(d.file.as_str());
            let p = self.path.as_path();
            let wanted = match &d.serve {
                Some(iface) => {
                    self.text.clear();
                    match dnsmasq::render(rule, iface, view.addr_of(iface), &mut self.text) {
                        Ok(_) => Some(iface),
                        Err(RenderError::NoBridgeAddress) => {
                            if self.no_address.hit() {
                                warn!("rule {}: {iface} has no IPv4 address yet; DHCP waits for one", rule.name);
                            }
                            continue; // keep whatever is there until the address appears
                        }
                        Err(e) => {
                            error!("rule {}: {e}", rule.name);
                            continue;
                        }
                    }
                }
                None => None,
            };
            match wanted {
                Some(iface) => {
                    if !crate::files::exists(dir) {
                        crate::files::create_dir_all(dir, 0o755)?;
                    }
                    if files::write_atomic(p, self.text.as_bytes(), &mut self.scratch)? {
                        info!("rule {}: DHCP on {iface} ({})", rule.name, crate::out::path(p));
                        changed = true;
                    }
                }
                None => {
                    if files::remove(p)? {
                        info!("rule {}: no AP up, DHCP drop-in removed", rule.name);
                        changed = true;
                    }
                }
            }
        }
        if !self.stale_checked {
            changed |= self.remove_stale(dir, cfg)?;
            self.stale_checked = true;
        }
        Ok(changed)
    }

    /// Drop-ins of rules that are no longer configured (after a reload).
    fn remove_stale(&self, dir: &Path, cfg: &Config) -> io::Result<bool> {
        let Ok(entries) = std::fs::read_dir(dir) else { return Ok(false) };
        let mut changed = false;
        for e in entries.flatten() {
            let name = e.file_name();
            let Some(rule) =
                name.to_str().and_then(|n| n.strip_prefix("apwatch-")).and_then(|n| n.strip_suffix(".conf"))
            else {
                continue;
            };
            if !cfg.rules.iter().any(|r| r.name.as_str() == rule) && files::remove(&e.path())? {
                info!("rule {rule} is gone from the config: drop-in removed");
                changed = true;
            }
        }
        Ok(changed)
    }

    /// Starts `dnsmasq_restart` (argv, no shell); if one is still running, once more after it.
    pub fn restart(&mut self, cfg: &Config) {
        if self.child.is_some() {
            self.again = true;
            return;
        }
        let argv: Vec<&str> = cfg.main.dnsmasq_restart.iter().map(|a| a.as_str()).collect();
        let Some(prog) = argv.first() else { return };
        match spawn::spawn(&argv) {
            Ok(c) => self.child = Some(c),
            Err(e) => error!("dnsmasq restart ({prog}) failed: {}", Why(&e)),
        }
    }

    /// Whether a restart is running (the loop then wakes to reap it).
    pub fn busy(&self) -> bool {
        self.child.is_some()
    }

    /// Reaps a finished restart and logs its outcome; starts the pending one.
    pub fn reap(&mut self, cfg: &Config) {
        let Some(c) = self.child.as_mut() else { return };
        let prog = cfg.main.dnsmasq_restart.first().map_or("", |p| p.as_str());
        match c.try_wait() {
            Ok(None) => return,
            Ok(Some(s)) if s.success() => info!("dnsmasq restarted"),
            Ok(Some(s)) => error!("dnsmasq restart ({prog}) failed: {s}"),
            Err(e) => error!("dnsmasq restart ({prog}): {}", Why(&e)),
        }
        self.child = None;
        if std::mem::take(&mut self.again) {
            self.restart(cfg);
        }
    }
}
