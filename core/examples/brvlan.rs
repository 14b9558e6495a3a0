//! apwatch-core's bridge-VLAN encoders and decoders on the command line, in host byte order, for
//! tests/netns/vlan.sh to check them against a real kernel (requests as hex on stdout, one per
//! line; replies read from files of raw netlink messages, as brvlan_rec.py writes them).
//!
//!   brvlan add IFINDEX VID              RTM_SETLINK: VID as PVID, egress-untagged
//!   brvlan del IFINDEX FIRST [LAST]     RTM_DELLINK of FIRST..=LAST
//!   brvlan dump [compressed|links]      RTM_GETLINK dump: AF_BRIDGE + RTEXT_FILTER_BRVLAN
//!                                       (_COMPRESSED), or rtnl's AF_UNSPEC dump of all links
//!   brvlan show FILE...                 the ports of dump replies: "IFINDEX VID [PVID] [untagged]"
//!   brvlan plan IFINDEX VID FILE...     the requests moving port IFINDEX to VID only, in order
//!   brvlan links FILE...                AF_UNSPEC link replies: "IFINDEX NAME filtering=0|1"
//!                                       for bridges, "IFINDEX NAME vlan=VID parent=IFINDEX"

use std::io::Write;
use std::process::ExitCode;

use apwatch_core::brvlan::{self, ext, vflag, BridgePort};
use apwatch_core::linkinfo::{KindData, LinkInfo};
use apwatch_core::netlink::{Message, MessageKind};
use apwatch_core::vlanplan::Plan;
use apwatch_core::ByteOrder;

const O: ByteOrder = ByteOrder::NATIVE;

// println! panics on a closed pipe (`| head`); a test tool just stops talking
macro_rules! say {
    ($($t:tt)*) => {{ let _ = writeln!(std::io::stdout(), $($t)*); }};
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn num<T: std::str::FromStr>(s: Option<&String>) -> Result<T, String> {
    s.and_then(|s| s.parse().ok()).ok_or_else(|| "expected a number".to_string())
}

fn messages(files: &[String]) -> Result<Vec<Vec<u8>>, String> {
    files.iter().map(|f| std::fs::read(f).map_err(|e| format!("{f}: {e}"))).collect()
}

fn request(r: Result<usize, apwatch_core::EncodeError>, buf: &[u8]) -> Result<(), String> {
    let n = r.map_err(|e| format!("not encoded: {e}"))?;
    say!("{}", hex(buf.get(..n).unwrap_or(&[])));
    Ok(())
}

fn run(args: &[String]) -> Result<(), String> {
    let mut buf = [0u8; 128];
    match args.first().map(String::as_str) {
        Some("add") => {
            let (i, v) = (num(args.get(1))?, num(args.get(2))?);
            request(brvlan::add_vlan(&mut buf, O, 1, i, v, vflag::PVID | vflag::UNTAGGED), &buf)
        }
        Some("del") => {
            let (i, a) = (num(args.get(1))?, num(args.get(2))?);
            let b = if args.len() > 3 { num(args.get(3))? } else { a };
            request(brvlan::del_vlans(&mut buf, O, 1, i, a, b), &buf)
        }
        Some("dump") => match args.get(1).map(String::as_str) {
            Some("links") => request(apwatch_core::rtnl::get_links(&mut buf, O, 1), &buf),
            Some("compressed") => request(brvlan::get_port_vlans(&mut buf, O, 1, ext::BRVLAN_COMPRESSED), &buf),
            _ => request(brvlan::get_port_vlans(&mut buf, O, 1, ext::BRVLAN), &buf),
        },
        Some("show") => {
            for m in messages(args.get(1..).unwrap_or(&[]))? {
                let (msg, _) = Message::parse(&m, O).map_err(|e| e.to_string())?;
                if msg.kind() == MessageKind::Done {
                    continue;
                }
                let Some(p) = BridgePort::parse(&msg).map_err(|e| e.to_string())? else { continue };
                for r in p.vlans.iter() {
                    for vid in r.first..=r.last {
                        let pvid = if r.is_pvid() { " PVID" } else { "" };
                        let untagged = if r.is_untagged() { " untagged" } else { "" };
                        say!("{} {vid}{pvid}{untagged}", p.ifindex);
                    }
                }
            }
            Ok(())
        }
        Some("plan") => {
            let (i, v): (u32, u16) = (num(args.get(1))?, num(args.get(2))?);
            for m in messages(args.get(3..).unwrap_or(&[]))? {
                let (msg, _) = Message::parse(&m, O).map_err(|e| e.to_string())?;
                if msg.kind() == MessageKind::Done {
                    continue;
                }
                match BridgePort::parse(&msg).map_err(|e| e.to_string())? {
                    Some(p) if p.ifindex == i => {
                        for (seq, step) in (1..).zip(Plan::for_list(&p.vlans, v).ok_or("bad vid")?) {
                            request(step.emit(&mut buf, O, seq, i), &buf)?;
                        }
                        return Ok(());
                    }
                    _ => {}
                }
            }
            Err(format!("no port {i} in the dump"))
        }
        Some("links") => {
            for m in messages(args.get(1..).unwrap_or(&[]))? {
                let (msg, _) = Message::parse(&m, O).map_err(|e| e.to_string())?;
                if msg.kind() == MessageKind::Done {
                    continue;
                }
                let Some(l) = LinkInfo::parse(&msg).map_err(|e| e.to_string())? else { continue };
                let name = String::from_utf8_lossy(l.ifname.unwrap_or(b"?"));
                match (l.data, l.vlan_upper()) {
                    (KindData::Bridge(b), _) => {
                        say!("{} {name} filtering={}", l.ifindex, u8::from(b.vlan_filtering == Some(true)))
                    }
                    (_, Some((parent, vid))) => say!("{} {name} vlan={vid} parent={parent}", l.ifindex),
                    _ => {}
                }
            }
            Ok(())
        }
        _ => Err("usage: see the top of core/examples/brvlan.rs".to_string()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("brvlan: {e}");
            ExitCode::FAILURE
        }
    }
}
