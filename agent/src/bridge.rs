//! Carrying out bridge actions as the plan names them: RTM_SETLINK IFLA_MASTER (rtnl backend),
//! or OpenWrt's netifd over ubus (netifd.rs). The caller reads the kernel back afterwards.

use std::fmt;

use apwatch_core::config::BackendOption;
use apwatch_core::policy::{Action, Backend};

use crate::kernel::{self, Kernel};
use crate::netifd::{Decision, Netifd};
use crate::ubus;
use crate::view::View;

pub enum Bridges {
    Rtnl,
    Ubus(Box<Netifd>),
}

/// Why an action failed.
#[derive(Debug)]
pub enum Error {
    /// rtnetlink refused or failed.
    Kernel(kernel::Error),
    /// ubus or netifd refused or failed.
    Ubus(ubus::Error),
    /// The bridge was created but the kernel does not list it.
    BridgeVanished,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Kernel(e) => write!(f, "{e}"),
            Error::Ubus(e) => write!(f, "netifd: {e}"),
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

impl From<ubus::Error> for Error {
    fn from(e: ubus::Error) -> Self {
        Error::Ubus(e)
    }
}

/// What an action changed besides the port, for the caller to read back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Outcome {
    /// Carried out (rtnetlink) or accepted (netifd); `created_bridge` is a bridge made for it.
    Done { created_bridge: Option<u32> },
    /// netifd was asked recently: the kernel has not shown it yet.
    #[default]
    Waiting,
}

impl Bridges {
    /// Picks the backend; `auto` means ubus when ubusd is there.
    pub fn new(b: BackendOption) -> Bridges {
        let explicit = ubus::socket_env().map(std::path::PathBuf::from);
        let ubus_present =
            explicit.is_some() || ubus::SOCKET_PATHS.iter().any(|p| crate::files::exists(std::path::Path::new(p)));
        match b.resolve(ubus_present) {
            Backend::Rtnl => Bridges::Rtnl,
            Backend::Ubus => Bridges::Ubus(Box::new(Netifd::new(explicit.as_deref()))),
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Bridges::Rtnl => Backend::Rtnl,
            Bridges::Ubus(_) => Backend::Ubus,
        }
    }

    /// netifd, with the ubus backend.
    pub fn netifd(&mut self) -> Option<&mut Netifd> {
        match self {
            Bridges::Rtnl => None,
            Bridges::Ubus(n) => Some(n),
        }
    }

    /// Carries out one action of `plan_actions`. `view` only resolves the bridge's ifindex.
    /// `rtnl_fallback`: netifd may be bypassed when it keeps not doing a membership.
    pub fn apply(
        &mut self,
        kernel: &mut Kernel,
        view: &View,
        action: &Action,
        plan_actions: &[Action],
        rtnl_fallback: bool,
    ) -> Result<Outcome, Error> {
        let netifd = match self {
            Bridges::Rtnl => return rtnl(kernel, view, action),
            Bridges::Ubus(n) => n,
        };
        match netifd.decide(action, plan_actions, rtnl_fallback) {
            Decision::Wait => Ok(Outcome::Waiting),
            Decision::Fallback => {
                warn!(
                    "netifd did not carry out {} after repeated requests; rtnl_fallback: over rtnetlink",
                    describe(action)
                );
                rtnl(kernel, view, action)
            }
            Decision::Ask => {
                netifd.apply(action)?;
                Ok(Outcome::Done { created_bridge: None })
            }
        }
    }
}

/// RTM_SETLINK IFLA_MASTER, creating the bridge first when it does not exist.
fn rtnl(kernel: &mut Kernel, view: &View, action: &Action) -> Result<Outcome, Error> {
    match action {
        Action::Join { ifindex, to, .. } => {
            let mut created_bridge = None;
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
                    created_bridge = Some(br);
                    br
                }
            };
            kernel.set_master(*ifindex, br)?;
            if let Some(vid) = to.vlan {
                // a new port of a filtering bridge starts in its default PVID (1): read what
                // it is in now, then make `vid` its only VLAN
                set_vlan(kernel, *ifindex, vid)?;
            }
            Ok(Outcome::Done { created_bridge })
        }
        Action::SetVlan { ifindex, to, .. } => {
            if let Some(vid) = to.vlan {
                set_vlan(kernel, *ifindex, vid)?;
            }
            Ok(Outcome::Done { created_bridge: None })
        }
        Action::Leave { ifindex, .. } => {
            kernel.set_master(*ifindex, 0)?;
            Ok(Outcome::Done { created_bridge: None })
        }
    }
}

/// The port's VLANs as the kernel has them now, then the steps to `vid` only.
fn set_vlan(kernel: &mut Kernel, ifindex: u32, vid: u16) -> Result<(), Error> {
    let ports = kernel.dump_port_vlans()?;
    let current = ports.iter().find(|(i, _)| *i == ifindex).map(|(_, v)| v.as_slice()).unwrap_or_default();
    kernel.set_port_vlan(ifindex, current, vid)?;
    Ok(())
}

/// `wlan0 -> br-guest` / `wlan0 leaving br-guest`, for log lines.
pub fn describe(a: &Action) -> String {
    match a {
        Action::Join { ifname, to, .. } => match to.vlan {
            Some(v) => format!("{ifname} -> {} vlan {v}", to.bridge),
            None => format!("{ifname} -> {}", to.bridge),
        },
        Action::SetVlan { ifname, to, .. } => format!("{ifname} -> {} vlan {}", to.bridge, to.vlan.unwrap_or(0)),
        Action::Leave { ifname, from, .. } => format!("{ifname} leaving {}", from.bridge),
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
        assert!(!Error::Ubus(ubus::Error::Timeout).is_transient());
        // the line the agent logs keeps the kernel's words
        let e = Error::Kernel(kernel::Error::Kernel(libc::EPERM));
        assert_eq!(e.to_string(), "Operation not permitted (os error 1)");
    }
}
