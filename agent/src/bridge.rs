//! Carrying out bridge actions: RTM_SETLINK IFLA_MASTER (rtnl backend), or OpenWrt's netifd
//! through `ubus call network.interface.<net> add_device|remove_device` run as argv (ubus).

use std::io;
use std::path::PathBuf;
use std::process::Command;

use apwatch_core::config::{Backend, Rule};
use apwatch_core::policy::{self, Action};

use crate::json;
use crate::kernel::Kernel;
use crate::view::View;

pub enum Bridges {
    Rtnl,
    Ubus { program: PathBuf },
}

/// The socket OpenWrt's ubusd listens on (either of the paths releases have used).
const UBUS_SOCKETS: [&str; 2] = ["/var/run/ubus/ubus.sock", "/var/run/ubus.sock"];

impl Bridges {
    /// Picks the backend; `auto` means ubus when ubusd is there.
    pub fn new(b: Backend) -> Bridges {
        let ubus =
            || Bridges::Ubus { program: std::env::var_os("APWATCH_UBUS").map_or_else(|| "ubus".into(), PathBuf::from) };
        match b {
            Backend::Rtnl => Bridges::Rtnl,
            Backend::Ubus => ubus(),
            Backend::Auto if UBUS_SOCKETS.iter().any(|p| std::path::Path::new(p).exists()) => ubus(),
            Backend::Auto => Bridges::Rtnl,
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Bridges::Rtnl => Backend::Rtnl,
            Bridges::Ubus { .. } => Backend::Ubus,
        }
    }

    /// Applies one action. The caller re-reads the kernel afterwards.
    pub fn apply(&self, kernel: &mut Kernel, view: &mut View, rules: &[Rule], action: &Action) -> io::Result<()> {
        match (self, action) {
            (Bridges::Rtnl, Action::Join { ifindex, bridge, .. }) => {
                let br = match view.ifindex_of(bridge) {
                    Some(i) => i,
                    None => {
                        kernel.create_bridge(bridge.as_bytes())?;
                        info!("created bridge {bridge}");
                        view.links = kernel.dump_links()?.into_iter().map(|l| (l.ifindex, l)).collect();
                        view.ifindex_of(bridge).ok_or_else(|| io::Error::other("bridge vanished after creation"))?
                    }
                };
                kernel.set_master(*ifindex, br)
            }
            (Bridges::Rtnl, Action::Leave { ifindex, .. }) => kernel.set_master(*ifindex, 0),
            (Bridges::Ubus { program }, Action::Join { ifindex, rule, was, .. }) => {
                let dev = view.link_name(*ifindex).unwrap_or_default().to_vec();
                if let Some(old) = was.as_ref().and_then(|w| network_of(rules, w)) {
                    ubus(program, &old, "remove_device", &dev)?;
                }
                let net = rules
                    .get(*rule)
                    .and_then(|r| r.network.as_deref())
                    .ok_or_else(|| io::Error::other("rule has no network"))?;
                ubus(program, net, "add_device", &dev)
            }
            (Bridges::Ubus { program }, Action::Leave { ifindex, bridge }) => {
                let dev = view.link_name(*ifindex).unwrap_or_default().to_vec();
                match network_of(rules, bridge) {
                    Some(net) => ubus(program, &net, "remove_device", &dev),
                    None => Ok(()),
                }
            }
        }
    }
}

/// The name of a resolved backend, for logs and the state file.
pub fn backend_name(b: Backend) -> &'static str {
    match b {
        Backend::Ubus => "ubus",
        _ => "rtnl",
    }
}

/// The netifd network whose bridge is `bridge`.
fn network_of(rules: &[Rule], bridge: &str) -> Option<String> {
    rules
        .iter()
        .find(|r| policy::target_bridge(r, Backend::Ubus).as_deref() == Some(bridge))
        .and_then(|r| r.network.as_deref().map(str::to_owned))
}

fn ubus(program: &std::path::Path, network: &str, method: &str, dev: &[u8]) -> io::Result<()> {
    let mut arg = json::Object::new().str("name", dev);
    if method == "add_device" {
        arg = arg.bool("link-ext", true);
    }
    let object = format!("network.interface.{network}");
    let status = Command::new(program).args(["call", &object, method, &arg.finish()]).status()?;
    if status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!("ubus call {object} {method} failed ({status})")))
    }
}
