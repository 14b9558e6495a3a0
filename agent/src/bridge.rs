//! Carrying out bridge actions as the plan names them: RTM_SETLINK IFLA_MASTER (rtnl backend),
//! or OpenWrt's netifd through `ubus call network.interface.<net> add_device|remove_device`
//! run as argv (ubus). The caller reads the kernel back afterwards.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::process::{Command, ExitStatus};

use apwatch_core::config::BackendOption;
use apwatch_core::policy::{Action, Backend};

use crate::json;
use crate::kernel::{self, Kernel};
use crate::view::View;

pub enum Bridges {
    Rtnl,
    Ubus { program: PathBuf },
}

/// The socket OpenWrt's ubusd listens on (either of the paths releases have used).
const UBUS_SOCKETS: [&str; 2] = ["/var/run/ubus/ubus.sock", "/var/run/ubus.sock"];

/// Why an action failed.
#[derive(Debug)]
pub enum Error {
    /// rtnetlink refused or failed.
    Kernel(kernel::Error),
    /// The `ubus` CLI could not be started.
    Spawn(io::Error),
    /// `ubus call` ran and failed.
    Ubus { object: String, method: &'static str, status: ExitStatus },
    /// The plan gave no network for a ubus action (a rule without `network`).
    NoNetwork,
    /// The bridge was created but the kernel does not list it.
    BridgeVanished,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Kernel(e) => write!(f, "{e}"),
            Error::Spawn(e) => write!(f, "ubus: {e}"),
            Error::Ubus { object, method, status } => write!(f, "ubus call {object} {method} failed ({status})"),
            Error::NoNetwork => f.write_str("rule has no network"),
            Error::BridgeVanished => f.write_str("bridge vanished after creation"),
        }
    }
}

impl Error {
    /// A refusal that is expected to pass by itself: EOPNOTSUPP while hostapd is switching the
    /// netdev's type (a fast SSID ping-pong), EBUSY while another change is in flight. Logged as
    /// a debug line and retried, not reported as an error.
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Kernel(e) if matches!(e.errno(), Some(libc::EOPNOTSUPP | libc::EBUSY)))
    }
}

impl From<kernel::Error> for Error {
    fn from(e: kernel::Error) -> Self {
        Error::Kernel(e)
    }
}

/// What an action changed besides the port, for the caller to read back.
#[derive(Clone, Copy, Debug, Default)]
pub struct Applied {
    /// A bridge created for the action.
    pub created_bridge: Option<u32>,
}

impl Bridges {
    /// Picks the backend; `auto` means ubus when ubusd is there.
    pub fn new(b: BackendOption) -> Bridges {
        let ubus_present = UBUS_SOCKETS.iter().any(|p| std::path::Path::new(p).exists());
        match b.resolve(ubus_present) {
            Backend::Rtnl => Bridges::Rtnl,
            Backend::Ubus => {
                Bridges::Ubus { program: std::env::var_os("APWATCH_UBUS").map_or_else(|| "ubus".into(), PathBuf::from) }
            }
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Bridges::Rtnl => Backend::Rtnl,
            Bridges::Ubus { .. } => Backend::Ubus,
        }
    }

    /// Carries out one action. `view` only resolves the bridge's ifindex.
    pub fn apply(&self, kernel: &mut Kernel, view: &View, action: &Action) -> Result<Applied, Error> {
        match (self, action) {
            (Bridges::Rtnl, Action::Join { ifindex, to, .. }) => {
                let mut applied = Applied::default();
                let br = match view.ifindex_of(&to.bridge) {
                    Some(i) => i,
                    None => {
                        kernel.create_bridge(to.bridge.as_bytes())?;
                        info!("created bridge {}", to.bridge);
                        let links = kernel.dump_links()?;
                        let br = links
                            .iter()
                            .find(|l| l.name == to.bridge.as_bytes())
                            .map(|l| l.ifindex)
                            .ok_or(Error::BridgeVanished)?;
                        applied.created_bridge = Some(br);
                        br
                    }
                };
                kernel.set_master(*ifindex, br)?;
                Ok(applied)
            }
            (Bridges::Rtnl, Action::Leave { ifindex, .. }) => {
                kernel.set_master(*ifindex, 0)?;
                Ok(Applied::default())
            }
            (Bridges::Ubus { program }, Action::Join { ifname, to, from, .. }) => {
                if let Some(old) = from.as_ref().and_then(|f| f.network.as_deref()) {
                    ubus(program, old, "remove_device", ifname)?;
                }
                ubus(program, to.network.as_deref().ok_or(Error::NoNetwork)?, "add_device", ifname)?;
                Ok(Applied::default())
            }
            (Bridges::Ubus { program }, Action::Leave { ifname, from, .. }) => {
                if let Some(net) = from.network.as_deref() {
                    ubus(program, net, "remove_device", ifname)?;
                }
                Ok(Applied::default())
            }
        }
    }
}

fn ubus(program: &std::path::Path, network: &str, method: &'static str, dev: &str) -> Result<(), Error> {
    let mut arg = json::Object::new().str("name", dev.as_bytes());
    if method == "add_device" {
        arg = arg.bool("link-ext", true);
    }
    let object = format!("network.interface.{network}");
    let status = Command::new(program).args(["call", &object, method, &arg.finish()]).status().map_err(Error::Spawn)?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::Ubus { object, method, status })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_type_switch_or_busy_is_transient() {
        assert!(Error::Kernel(kernel::Error::Kernel(libc::EOPNOTSUPP)).is_transient());
        assert!(Error::Kernel(kernel::Error::Kernel(libc::EBUSY)).is_transient());
        assert!(!Error::Kernel(kernel::Error::Kernel(libc::EPERM)).is_transient());
        assert!(!Error::Kernel(kernel::Error::Timeout).is_transient());
        assert!(!Error::NoNetwork.is_transient());
        // the line the agent logs keeps the kernel's words
        let e = Error::Kernel(kernel::Error::Kernel(libc::EPERM));
        assert_eq!(e.to_string(), "Operation not permitted (os error 1)");
    }
}
