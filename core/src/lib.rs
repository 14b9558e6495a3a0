//! apwatch-core: everything apwatch decides from bytes, with no I/O and no allocation.
//!
//! The wire layer follows smoltcp's `wire`: each protocol has a checked view over a borrowed
//! buffer and a typed representation (no `alloc`). Fixed headers are length-checked once and
//! then read at fixed offsets; `nom` parses the rest. Byte order is a parameter
//! ([`ByteOrder`]): netlink is host order, and recorded captures are decoded as what they were
//! recorded in, on every target. The hot path (message, attribute, genl and nl80211 decoding)
//! is `#[inline]`, so a crate using core compiles it with its byte order known, LTO or not.
//!
//! Modules, each importing only those listed before it (the module graph is a DAG):
//! - [`endian`], [`error`], [`limits`]: byte order and alignment, the error types, capacities.
//! - [`attr`]: netlink attributes (nested, flags, typed getters).
//! - [`netlink`]: the nlmsghdr stream, NLMSG_ERROR/DONE/OVERRUN.
//! - [`writer`]: the request encoder every `emit`/request function uses.
//! - [`genl`], [`ctrl`]: generic netlink and family/multicast-group resolution.
//! - [`escape`], [`ssid`], [`nl80211`]: typed nl80211 events and interface records.
//! - [`rtnl`]: rtnetlink link and address messages; [`linkinfo`]: bridge and VLAN link kinds;
//!   [`brvlan`], [`vlanplan`]: bridge port VLANs and the order of changing them.
//! - [`blob`], [`ubus`]: libubox blob/blobmsg and ubus messages (OpenWrt's bus).
//! - [`hostapd`]: hostapd's control interface: requests, replies (`STATUS`), events.
//! - [`uci`], [`config`]: the UCI syntax and apwatch's configuration schema.
//! - [`policy`], [`dnsmasq`], [`pipeline`]: observed APs + rules → actions, DHCP drop-ins,
//!   and the bounded event queue shared by firmware and agent.
//!
//! Core does not log: every failure is a typed [`Error`] for the caller to report.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Tests may index and unwrap: a panic there is a failing test, not a crash on the wire.
#![cfg_attr(test, allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic))]

#[cfg(test)]
extern crate std;

pub mod attr;
pub mod blob;
pub mod brvlan;
pub mod config;
pub mod ctrl;
pub mod dnsmasq;
pub mod endian;
pub mod errno;
pub mod error;
pub mod escape;
pub mod genl;
pub mod hostapd;
pub mod keyword;
pub mod limits;
pub mod linkinfo;
pub mod mac;
pub mod netlink;
pub mod nl80211;
pub mod pipeline;
pub mod policy;
pub mod rtnl;
pub mod ssid;
pub mod text;
pub mod ubus;
pub mod uci;
pub mod vlanplan;
pub mod writer;

#[cfg(test)]
mod testdata;

pub use endian::ByteOrder;
pub use error::{EncodeError, Error};
pub use ssid::{Ssid, SsidRef};
