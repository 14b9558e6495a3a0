//! The state file `status` reads: the active APs, their rules and bridges and since when,
//! written atomically by `run` whenever it changes.

use std::time::{SystemTime, UNIX_EPOCH};

use apwatch_core::config::Config;
use apwatch_core::escape::Hex;
use apwatch_core::policy::{Backend, Plan};
use apwatch_core::text::{number, pieces};
use apwatch_core::Ssid;

use crate::json::Object;
use crate::view::{IdMap, View};

/// When each active AP (by ifindex) started with its current SSID.
#[derive(Default)]
pub struct Since {
    started: IdMap<(Ssid, u64)>,
}

pub fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Since {
    /// Keeps start times of APs still up with the same SSID; forgets the rest.
    pub fn update(&mut self, plan: &Plan, view: &View) {
        let now = now_secs();
        let ssid_of = |i: u32| view.wifi.get(&i).and_then(|w| w.ssid.as_ref());
        // in place: an unchanged set of APs allocates nothing
        self.started.retain(|i| plan.active.iter().any(|a| a.ifindex == *i) && ssid_of(*i).is_some());
        for a in &plan.active {
            let Some(ssid) = ssid_of(a.ifindex) else { continue };
            match self.started.get(&a.ifindex) {
                Some((old, _)) if old == ssid => {}
                _ => self.started.insert(a.ifindex, (ssid.clone(), now)),
            }
        }
    }

    pub fn get(&self, ifindex: u32) -> Option<u64> {
        self.started.get(&ifindex).map(|(_, t)| *t)
    }
}

/// One active AP as the state file records it, its names borrowed from the file's text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Entry<'a> {
    pub phy: &'a str,
    pub ifname: &'a str,
    pub ifindex: u32,
    pub ssid: heapless::Vec<u8, 32>,
    pub rule: &'a str,
    pub bridge: &'a str,
    pub master: &'a str,
    pub since: u64,
    /// The VLAN the rule puts it in (VLAN-filtering bridges).
    pub vlan: Option<u16>,
}

fn field(s: &str) -> &str {
    if s.is_empty() {
        "-"
    } else {
        s
    }
}

fn unfield(s: &str) -> &str {
    if s == "-" {
        ""
    } else {
        s
    }
}

/// The state file: a version line, then one tab-separated line per active AP. Every field is
/// a kernel name (no whitespace), a validated config name, a number, or hex (the SSID). Into
/// `out` (emptied first; a caller that keeps it allocates nothing once it has grown).
pub fn render_into(
    out: &mut String,
    cfg: &Config,
    backend: Backend,
    plan: &Plan,
    view: &View,
    since: &Since,
    counters: [u64; 3],
) {
    use std::fmt::Write;
    let [malformed, spoofed, enobufs] = counters;
    out.clear();
    let _ = write!(
        out,
        "apwatch-state 1\npid {}\nbackend {}\ncounters {malformed} {spoofed} {enobufs}\n",
        std::process::id(),
        backend.name()
    );
    for a in &plan.active {
        let Some(w) = view.wifi.get(&a.ifindex) else { continue };
        let rule = a.rule.and_then(|i| cfg.rules.get(i)).map_or("", |r| r.name.as_str());
        let master = view.links.get(&a.ifindex).and_then(|l| l.master).and_then(|m| view.link_name(m));
        let bridge = a.target.as_ref().map_or("", |t| t.bridge.as_str());
        let _ = write!(out, "ap\t");
        match w.wiphy {
            Some(p) => {
                let _ = write!(out, "phy{p}");
            }
            None => out.push('-'),
        }
        let ssid = w.ssid.as_ref().map(|s| s.as_bytes()).unwrap_or_default();
        let _ = write!(
            out,
            "\t{}\t{}\t{}\t{}\t{}\t",
            field(w.ifname.as_str()),
            a.ifindex,
            Hex(ssid),
            field(rule),
            field(bridge)
        );
        // a kernel name: no whitespace, but bytes; written as `status` shows it (escaped as
        // SSIDs are in logs: the same as the name for the printable ASCII kernel names are)
        match master {
            Some(m) if !m.is_empty() => {
                let _ = write!(out, "{}", apwatch_core::escape::IwEscaped(m));
            }
            _ => out.push('-'),
        }
        let _ = write!(out, "\t{}\t", since.get(a.ifindex).unwrap_or(0));
        match a.target.as_ref().and_then(|t| t.vlan) {
            Some(v) => {
                let _ = writeln!(out, "{v}");
            }
            None => out.push_str("-\n"),
        }
    }
}

/// Reads a state file back.
pub fn parse(text: &str) -> Option<(u32, [u64; 3], Vec<Entry<'_>>)> {
    let mut lines = pieces(text, b'\n');
    if lines.next()? != "apwatch-state 1" {
        return None;
    }
    let mut pid = 0;
    let mut counters = [0; 3];
    let mut aps = Vec::new();
    for l in lines {
        let f: Vec<&str> = pieces(l, b'\t').collect();
        match f.as_slice() {
            ["ap", phy, ifname, ifindex, ssid, rule, bridge, master, since, rest @ ..] => aps.push(Entry {
                phy: unfield(phy),
                ifname: unfield(ifname),
                ifindex: number(ifindex.as_bytes())?,
                ssid: apwatch_core::escape::decode_hex::<32>(ssid.as_bytes())?,
                rule: unfield(rule),
                bridge: unfield(bridge),
                master: unfield(master),
                since: number(since.as_bytes())?,
                // a file from before VLANs has nine fields
                vlan: match rest {
                    [] | ["-"] => None,
                    [v] => Some(number(v.as_bytes())?),
                    _ => return None,
                },
            }),
            [other] => {
                if let Some(p) = other.strip_prefix("pid ") {
                    pid = number(p.as_bytes())?;
                }
                if let Some(c) = other.strip_prefix("counters ") {
                    for (slot, v) in counters.iter_mut().zip(pieces(c, b' ')) {
                        *slot = number(v.as_bytes())?;
                    }
                }
            }
            _ => {}
        }
    }
    Some((pid, counters, aps))
}

impl Entry<'_> {
    pub fn json(&self) -> Object {
        let o = Object::new()
            .str("phy", self.phy.as_bytes())
            .str("ifname", self.ifname.as_bytes())
            .num("ifindex", self.ifindex)
            .ssid(&self.ssid);
        let o = if self.rule.is_empty() { o } else { o.str("rule", self.rule.as_bytes()) };
        let o = if self.bridge.is_empty() { o } else { o.str("bridge", self.bridge.as_bytes()) };
        let o = if self.master.is_empty() { o } else { o.str("master", self.master.as_bytes()) };
        let o = match self.vlan {
            Some(v) => o.num("vlan", v),
            None => o,
        };
        o.num("since", self.since)
    }
}

/// The document of `status --json` and `ubus call apwatch status`.
pub fn json(pid: u32, running: bool, counters: [u64; 3], aps: &[Entry], radios: &[String]) -> Object {
    let items = aps.iter().map(|e| e.json().into()).collect();
    let [malformed, spoofed, enobufs] = counters;
    let c = Object::new().num("malformed", malformed).num("spoofed", spoofed).num("enobufs", enobufs);
    let radios = radios.iter().map(|r| Object::new().str("radio", r.as_bytes()).into()).collect();
    Object::new()
        .num("pid", pid)
        .bool("running", running)
        .array("aps", items)
        .field("counters", c.into())
        .array("radios", radios)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_survive_the_file() {
        let e = Entry {
            phy: "phy0",
            ifname: "wlan0",
            ifindex: 2,
            ssid: heapless::Vec::from_slice(b"a\tb\n\xff").unwrap(),
            rule: "guest",
            bridge: "br-guest",
            master: "",
            since: 5,
            vlan: None,
        };
        let text = format!(
            "apwatch-state 1\npid 7\nbackend rtnl\ncounters 1 2 3\nap\t{}\t{}\t2\t{}\t{}\t{}\t-\t5\n",
            e.phy,
            e.ifname,
            Hex(&e.ssid),
            e.rule,
            e.bridge
        );
        let (pid, c, aps) = parse(&text).unwrap();
        assert_eq!((pid, c, aps), (7, [1, 2, 3], vec![e.clone()]));
        assert_eq!(
            e.json().finish(),
            r#"{"phy":"phy0","ifname":"wlan0","ifindex":2,"ssid":"a\\x09b\\x0a\\xff","ssid_hex":"6109620aff","rule":"guest","bridge":"br-guest","since":5}"#
        );
        assert!(parse("garbage").is_none());
        // with a VLAN: a tenth field, and "vlan" in the JSON
        let v = text.replace("\t-\t5\n", "\t-\t5\t20\n");
        let (_, _, aps) = parse(&v).unwrap();
        assert_eq!(aps[0].vlan, Some(20));
        assert!(aps[0].json().finish().contains(r#""vlan":20,"since":5"#));
        assert!(parse(&text.replace("\t-\t5\n", "\t-\t5\tx\n")).is_none());
    }
}
