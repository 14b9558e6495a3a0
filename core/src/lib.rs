//! apwatch-core: everything apwatch decides from bytes, with no I/O and no allocation.
//!
//! The wire layer follows smoltcp's `wire`: each protocol has a checked view over a borrowed
//! buffer and a typed representation, parsed with `nom` (no `alloc`). Byte order is a parameter
//! ([`ByteOrder`]): netlink is host order, and recorded captures are decoded as what they were
//! recorded in, on every target.
//!
//! - [`netlink`]: the nlmsghdr stream, NLMSG_ERROR/DONE/OVERRUN.
//! - [`attr`]: netlink attributes (nested, flags, typed getters).
//! - [`genl`], [`ctrl`]: generic netlink and family/multicast-group resolution.
//! - [`nl80211`], [`ssid`]: typed nl80211 events and interface records.
//! - [`hostapd`]: hostapd's control interface: requests, replies (`STATUS`), events.
//! - [`rtnl`]: rtnetlink link and address messages.
//! - [`writer`]: the request encoder every `emit`/request function uses.
//! - [`uci`], [`config`]: the UCI syntax and apwatch's configuration schema.
//! - [`policy`], [`dnsmasq`], [`pipeline`]: observed APs + rules → actions, DHCP drop-ins,
//!   and the bounded event queue shared by firmware and agent.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Tests may index and unwrap: a panic there is a failing test, not a crash on the wire.
#![cfg_attr(test, allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic))]

#[cfg(test)]
extern crate std;

#[macro_use]
mod fmt;

pub mod attr;
pub mod config;
pub mod ctrl;
pub mod dnsmasq;
pub mod endian;
pub mod error;
pub mod escape;
pub mod genl;
pub mod hostapd;
pub mod netlink;
pub mod nl80211;
pub mod pipeline;
pub mod policy;
pub mod rtnl;
pub mod ssid;
pub mod uci;
pub mod writer;

#[cfg(test)]
mod testdata;

pub use endian::ByteOrder;
pub use error::{EncodeError, Error};
pub use ssid::{Ssid, SsidRef};
