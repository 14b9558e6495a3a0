//! nl80211 events and interface records, typed and borrowing the receive buffer.
//!
//! Numbers from `include/uapi/linux/nl80211.h` (linux-libc-dev 6.1.187; unchanged in 6.12, and
//! checked against captures from a 6.12 kernel). START_AP is multicast on "mlme" since 6.3.
//!
//! Each kind of event reads only the attributes it carries into its type, each checked
//! exactly; the others are skipped unread, as the kernel's own parsers skip what a command's
//! policy does not name, so a malformed attribute an event does not use cannot cost the event.

use crate::attr::for_each as for_each_attr;
use crate::endian::ByteOrder;
use crate::error::{EncodeError, Error};
use crate::genl::{self, GenlMessage};
use crate::netlink::flags;
use crate::ssid::SsidRef;

/// Commands (`enum nl80211_commands`).
pub mod cmd {
    /// NL80211_CMD_GET_WIPHY
    pub const GET_WIPHY: u8 = 1;
    /// NL80211_CMD_NEW_WIPHY (also the GET_WIPHY reply)
    pub const NEW_WIPHY: u8 = 3;
    /// NL80211_CMD_GET_INTERFACE
    pub const GET_INTERFACE: u8 = 5;
    /// NL80211_CMD_SET_INTERFACE (also an event on "config": iftype changed)
    pub const SET_INTERFACE: u8 = 6;
    /// NL80211_CMD_NEW_INTERFACE (also the GET_INTERFACE reply)
    pub const NEW_INTERFACE: u8 = 7;
    /// NL80211_CMD_DEL_INTERFACE
    pub const DEL_INTERFACE: u8 = 8;
    /// NL80211_CMD_START_AP (= NEW_BEACON)
    pub const START_AP: u8 = 15;
    /// NL80211_CMD_STOP_AP (= DEL_BEACON)
    pub const STOP_AP: u8 = 16;
    /// NL80211_CMD_NEW_STATION
    pub const NEW_STATION: u8 = 19;
    /// NL80211_CMD_DEL_STATION
    pub const DEL_STATION: u8 = 20;
    /// NL80211_CMD_CH_SWITCH_NOTIFY
    pub const CH_SWITCH_NOTIFY: u8 = 88;
}

/// Attributes (`enum nl80211_attrs`).
pub mod attr {
    /// NL80211_ATTR_WIPHY (u32)
    pub const WIPHY: u16 = 1;
    /// NL80211_ATTR_WIPHY_NAME (string)
    pub const WIPHY_NAME: u16 = 2;
    /// NL80211_ATTR_IFINDEX (u32)
    pub const IFINDEX: u16 = 3;
    /// NL80211_ATTR_IFNAME (string)
    pub const IFNAME: u16 = 4;
    /// NL80211_ATTR_IFTYPE (u32)
    pub const IFTYPE: u16 = 5;
    /// NL80211_ATTR_MAC (6 bytes)
    pub const MAC: u16 = 6;
    /// NL80211_ATTR_WIPHY_BANDS (nested; each entry's type is an `enum nl80211_band`)
    pub const WIPHY_BANDS: u16 = 22;
    /// NL80211_ATTR_WIPHY_FREQ (u32, MHz)
    pub const WIPHY_FREQ: u16 = 38;
    /// NL80211_ATTR_GENERATION (u32)
    pub const GENERATION: u16 = 46;
    /// NL80211_ATTR_SSID (1..32 raw bytes)
    pub const SSID: u16 = 52;
    /// NL80211_ATTR_WDEV (u64, 64-bit aligned)
    pub const WDEV: u16 = 153;
    /// NL80211_ATTR_CHANNEL_WIDTH (u32)
    pub const CHANNEL_WIDTH: u16 = 159;
    /// NL80211_ATTR_SPLIT_WIPHY_DUMP (flag): the dump may split a wiphy over several messages
    pub const SPLIT_WIPHY_DUMP: u16 = 174;
    /// NL80211_ATTR_PAD: the alignment filler before a u64
    pub const PAD: u16 = 229;
    /// NL80211_ATTR_MLO_LINK_ID (u8)
    pub const MLO_LINK_ID: u16 = 313;
}

/// Interface types (`enum nl80211_iftype`); unknown values survive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum IfType {
    /// NL80211_IFTYPE_UNSPECIFIED
    Unspecified,
    /// NL80211_IFTYPE_ADHOC
    Adhoc,
    /// NL80211_IFTYPE_STATION
    Station,
    /// NL80211_IFTYPE_AP
    Ap,
    /// NL80211_IFTYPE_AP_VLAN
    ApVlan,
    /// NL80211_IFTYPE_MONITOR
    Monitor,
    /// NL80211_IFTYPE_MESH_POINT
    MeshPoint,
    /// NL80211_IFTYPE_P2P_CLIENT
    P2pClient,
    /// NL80211_IFTYPE_P2P_GO
    P2pGo,
    /// Anything else (WDS, P2P device, OCB, NAN, …)
    Other(u32),
}

impl From<u32> for IfType {
    fn from(v: u32) -> Self {
        match v {
            0 => IfType::Unspecified,
            1 => IfType::Adhoc,
            2 => IfType::Station,
            3 => IfType::Ap,
            4 => IfType::ApVlan,
            6 => IfType::Monitor,
            7 => IfType::MeshPoint,
            8 => IfType::P2pClient,
            9 => IfType::P2pGo,
            other => IfType::Other(other),
        }
    }
}

impl From<IfType> for u32 {
    fn from(t: IfType) -> u32 {
        match t {
            IfType::Unspecified => 0,
            IfType::Adhoc => 1,
            IfType::Station => 2,
            IfType::Ap => 3,
            IfType::ApVlan => 4,
            IfType::Monitor => 6,
            IfType::MeshPoint => 7,
            IfType::P2pClient => 8,
            IfType::P2pGo => 9,
            IfType::Other(v) => v,
        }
    }
}

impl IfType {
    /// A name as `iw` prints it.
    pub fn name(self) -> &'static str {
        match self {
            IfType::Unspecified => "unspecified",
            IfType::Adhoc => "IBSS",
            IfType::Station => "managed",
            IfType::Ap => "AP",
            IfType::ApVlan => "AP/VLAN",
            IfType::Monitor => "monitor",
            IfType::MeshPoint => "mesh point",
            IfType::P2pClient => "P2P-client",
            IfType::P2pGo => "P2P-GO",
            IfType::Other(_) => "other",
        }
    }
}

/// Which attributes each kind of event reads (bits of [`Fields::parse`]'s `WANT`).
mod want {
    pub const WIPHY: u16 = 1 << 0;
    pub const IFINDEX: u16 = 1 << 1;
    pub const IFNAME: u16 = 1 << 2;
    pub const IFTYPE: u16 = 1 << 3;
    pub const MAC: u16 = 1 << 4;
    pub const FREQ: u16 = 1 << 5;
    pub const SSID: u16 = 1 << 6;
    pub const WDEV: u16 = 1 << 7;
    pub const LINK_ID: u16 = 1 << 8;

    /// [`super::ApEvent`]
    pub const AP: u16 = WIPHY | IFINDEX | WDEV | SSID | LINK_ID;
    /// [`super::Interface`]
    pub const INTERFACE: u16 = IFINDEX | IFNAME | IFTYPE | WIPHY | WDEV | MAC | SSID;
    /// [`super::StationEvent`]
    pub const STATION: u16 = IFINDEX | MAC;
    /// [`super::ChannelSwitch`]
    pub const CH_SWITCH: u16 = IFINDEX | WIPHY | FREQ | LINK_ID;
    /// [`super::Event::Unknown`]
    pub const UNKNOWN: u16 = IFINDEX;
}

/// The attributes one kind of event reads, gathered in one pass over a message. `WANT` is a
/// constant per event, so each event gets its own loop with only its own arms.
#[derive(Clone, Copy, Default, Debug)]
struct Fields<'a> {
    wiphy: Option<u32>,
    ifindex: Option<u32>,
    ifname: Option<&'a [u8]>,
    iftype: Option<u32>,
    mac: Option<[u8; 6]>,
    freq: Option<u32>,
    ssid: Option<SsidRef<'a>>,
    wdev: Option<u64>,
    link_id: Option<u8>,
}

impl<'a> Fields<'a> {
    #[inline(always)]
    fn parse<const WANT: u16>(attrs: &'a [u8], order: ByteOrder) -> Result<Self, Error> {
        let wants = |bit: u16| WANT & bit != 0;
        let mut f = Fields::default();
        for_each_attr(attrs, order, |a| {
            match a.kind() {
                attr::WIPHY if wants(want::WIPHY) => f.wiphy = Some(a.u32()?),
                attr::IFINDEX if wants(want::IFINDEX) => f.ifindex = Some(a.u32()?),
                attr::IFNAME if wants(want::IFNAME) => f.ifname = Some(a.cstr()?),
                attr::IFTYPE if wants(want::IFTYPE) => f.iftype = Some(a.u32()?),
                attr::MAC if wants(want::MAC) => {
                    let mac =
                        <[u8; 6]>::try_from(a.value()).map_err(|_| Error::BadAttributeValue { kind: attr::MAC })?;
                    f.mac = Some(mac);
                }
                attr::WIPHY_FREQ if wants(want::FREQ) => f.freq = Some(a.u32()?),
                attr::SSID if wants(want::SSID) => f.ssid = ssid(a.value())?,
                attr::WDEV if wants(want::WDEV) => f.wdev = Some(a.u64()?),
                attr::MLO_LINK_ID if wants(want::LINK_ID) => f.link_id = Some(a.u8()?),
                _ => {}
            }
            Ok(())
        })?;
        Ok(f)
    }

    #[inline]
    fn ifindex(&self) -> Result<u32, Error> {
        self.ifindex.ok_or(Error::MissingAttribute { kind: attr::IFINDEX })
    }
}

/// An SSID attribute: 1..=32 bytes, or empty, which is no SSID. The kernel puts
/// NL80211_ATTR_SSID only when `ssid_len > 0`, so an empty one can only mean what an absent one
/// means; over 32 bytes is malformed.
#[inline]
fn ssid(value: &[u8]) -> Result<Option<SsidRef<'_>>, Error> {
    if value.is_empty() {
        Ok(None)
    } else {
        SsidRef::new(value).map(Some)
    }
}

/// START_AP / STOP_AP: which BSS (and for START_AP, which SSID) started or stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ApEvent<'a> {
    /// The radio.
    pub wiphy: Option<u32>,
    /// The AP netdev.
    pub ifindex: u32,
    /// The wireless device id.
    pub wdev: Option<u64>,
    /// The SSID (START_AP only). `None` when the attribute is absent *or empty*: the kernel
    /// sends NL80211_ATTR_SSID only when the SSID is 1 byte or longer, so an empty one means
    /// what an absent one means. More than 32 bytes makes the event an error ([`Error::BadSsid`]).
    pub ssid: Option<SsidRef<'a>>,
    /// The MLO link (MLO APs only).
    pub link_id: Option<u8>,
}

/// An interface record: a GET_INTERFACE reply, or a NEW/SET/DEL_INTERFACE event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Interface<'a> {
    /// The netdev; absent for wdevs without one (P2P device, NAN).
    pub ifindex: Option<u32>,
    /// The netdev name.
    pub ifname: Option<&'a [u8]>,
    /// The interface type.
    pub iftype: Option<IfType>,
    /// The radio.
    pub wiphy: Option<u32>,
    /// The wireless device id.
    pub wdev: Option<u64>,
    /// The MAC address.
    pub mac: Option<[u8; 6]>,
    /// The SSID the interface serves (AP) or is connected to; `None` when absent or empty, as
    /// for [`ApEvent::ssid`].
    pub ssid: Option<SsidRef<'a>>,
}

impl<'a> Interface<'a> {
    /// Decodes a GET_INTERFACE reply or NEW/SET/DEL_INTERFACE event.
    #[inline]
    pub fn parse(msg: &GenlMessage<'a>) -> Result<Self, Error> {
        Ok(Interface::from_fields(Fields::parse::<{ want::INTERFACE }>(msg.attrs, msg.order)?))
    }

    #[inline]
    fn from_fields(f: Fields<'a>) -> Self {
        Interface {
            ifindex: f.ifindex,
            ifname: f.ifname,
            iftype: f.iftype.map(IfType::from),
            wiphy: f.wiphy,
            wdev: f.wdev,
            mac: f.mac,
            ssid: f.ssid,
        }
    }

    /// Encodes this record as a message of command `cmd` (a reply or an event, as the kernel
    /// sends them: used by tests and by the fake kernel of the agent's tests).
    pub fn emit(&self, buf: &mut [u8], order: ByteOrder, family: u16, cmd: u8, seq: u32) -> Result<usize, EncodeError> {
        let mut w = genl::request(buf, order, family, 0, seq, cmd, 1)?;
        if let Some(v) = self.ifindex {
            w.attr_u32(attr::IFINDEX, v)?;
        }
        if let Some(n) = self.ifname {
            w.attr_str(attr::IFNAME, n)?;
        }
        if let Some(v) = self.wiphy {
            w.attr_u32(attr::WIPHY, v)?;
        }
        if let Some(t) = self.iftype {
            w.attr_u32(attr::IFTYPE, t.into())?;
        }
        if let Some(v) = self.wdev {
            w.attr_u64_aligned(attr::WDEV, v, attr::PAD)?;
        }
        if let Some(m) = self.mac {
            w.attr(attr::MAC, &m)?;
        }
        if let Some(s) = self.ssid {
            w.attr(attr::SSID, s.as_bytes())?;
        }
        w.finish()
    }
}

impl ApEvent<'_> {
    /// Encodes this event as the kernel multicasts it (`cmd` START_AP or STOP_AP).
    pub fn emit(&self, buf: &mut [u8], order: ByteOrder, family: u16, cmd: u8) -> Result<usize, EncodeError> {
        let mut w = genl::request(buf, order, family, 0, 0, cmd, 1)?;
        if let Some(v) = self.wiphy {
            w.attr_u32(attr::WIPHY, v)?;
        }
        w.attr_u32(attr::IFINDEX, self.ifindex)?;
        if let Some(v) = self.wdev {
            w.attr_u64_aligned(attr::WDEV, v, attr::PAD)?;
        }
        if let Some(s) = self.ssid {
            w.attr(attr::SSID, s.as_bytes())?;
        }
        if let Some(l) = self.link_id {
            w.attr_u8(attr::MLO_LINK_ID, l)?;
        }
        w.finish()
    }
}

/// NEW_STATION / DEL_STATION: a client associated with or left an AP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct StationEvent {
    /// The AP netdev.
    pub ifindex: u32,
    /// The station's address.
    pub mac: Option<[u8; 6]>,
}

/// CH_SWITCH_NOTIFY: an AP (or GO) moved to another channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ChannelSwitch {
    /// The netdev.
    pub ifindex: u32,
    /// The radio.
    pub wiphy: Option<u32>,
    /// The new control frequency (MHz).
    pub freq: Option<u32>,
    /// The MLO link.
    pub link_id: Option<u8>,
}

/// A typed nl80211 message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Event<'a> {
    /// NL80211_CMD_START_AP
    StartAp(ApEvent<'a>),
    /// NL80211_CMD_STOP_AP
    StopAp(ApEvent<'a>),
    /// NL80211_CMD_NEW_INTERFACE (also the GET_INTERFACE reply)
    NewInterface(Interface<'a>),
    /// NL80211_CMD_SET_INTERFACE
    SetInterface(Interface<'a>),
    /// NL80211_CMD_DEL_INTERFACE
    DelInterface(Interface<'a>),
    /// NL80211_CMD_NEW_STATION
    NewStation(StationEvent),
    /// NL80211_CMD_DEL_STATION
    DelStation(StationEvent),
    /// NL80211_CMD_CH_SWITCH_NOTIFY
    ChannelSwitch(ChannelSwitch),
    /// Any other command, kept so nothing new from the kernel is an error.
    Unknown {
        /// The command number.
        cmd: u8,
        /// The netdev, when the message names one.
        ifindex: Option<u32>,
    },
}

impl<'a> Event<'a> {
    /// Decodes an nl80211 message (the caller has checked the family id).
    #[inline]
    pub fn parse(msg: &GenlMessage<'a>) -> Result<Self, Error> {
        // One arm per kind of event, not per command: each attribute loop is compiled once.
        let (attrs, order, cmd) = (msg.attrs, msg.order, msg.cmd);
        Ok(match cmd {
            cmd::START_AP | cmd::STOP_AP => {
                let f = Fields::parse::<{ want::AP }>(attrs, order)?;
                let e =
                    ApEvent { wiphy: f.wiphy, ifindex: f.ifindex()?, wdev: f.wdev, ssid: f.ssid, link_id: f.link_id };
                if cmd == cmd::START_AP {
                    Event::StartAp(e)
                } else {
                    Event::StopAp(e)
                }
            }
            cmd::NEW_INTERFACE | cmd::SET_INTERFACE | cmd::DEL_INTERFACE => {
                let i = Interface::from_fields(Fields::parse::<{ want::INTERFACE }>(attrs, order)?);
                match cmd {
                    cmd::NEW_INTERFACE => Event::NewInterface(i),
                    cmd::SET_INTERFACE => Event::SetInterface(i),
                    _ => Event::DelInterface(i),
                }
            }
            cmd::NEW_STATION | cmd::DEL_STATION => {
                let f = Fields::parse::<{ want::STATION }>(attrs, order)?;
                let s = StationEvent { ifindex: f.ifindex()?, mac: f.mac };
                if cmd == cmd::NEW_STATION {
                    Event::NewStation(s)
                } else {
                    Event::DelStation(s)
                }
            }
            cmd::CH_SWITCH_NOTIFY => {
                let f = Fields::parse::<{ want::CH_SWITCH }>(attrs, order)?;
                Event::ChannelSwitch(ChannelSwitch {
                    ifindex: f.ifindex()?,
                    wiphy: f.wiphy,
                    freq: f.freq,
                    link_id: f.link_id,
                })
            }
            other => Event::Unknown { cmd: other, ifindex: Fields::parse::<{ want::UNKNOWN }>(attrs, order)?.ifindex },
        })
    }

    /// The netdev the event is about, if any.
    #[inline]
    pub fn ifindex(&self) -> Option<u32> {
        match self {
            Event::StartAp(e) | Event::StopAp(e) => Some(e.ifindex),
            Event::NewInterface(i) | Event::SetInterface(i) | Event::DelInterface(i) => i.ifindex,
            Event::NewStation(s) | Event::DelStation(s) => Some(s.ifindex),
            Event::ChannelSwitch(c) => Some(c.ifindex),
            Event::Unknown { ifindex, .. } => *ifindex,
        }
    }

    /// A short name for logs and `monitor`.
    pub fn name(&self) -> &'static str {
        match self {
            Event::StartAp(_) => "start_ap",
            Event::StopAp(_) => "stop_ap",
            Event::NewInterface(_) => "new_interface",
            Event::SetInterface(_) => "set_interface",
            Event::DelInterface(_) => "del_interface",
            Event::NewStation(_) => "new_station",
            Event::DelStation(_) => "del_station",
            Event::ChannelSwitch(_) => "ch_switch_notify",
            Event::Unknown { .. } => "unknown",
        }
    }
}

/// Part of a radio's description. GET_WIPHY dumps split a wiphy over several messages; merge
/// the `bands` of those with the same `index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Wiphy<'a> {
    /// The radio index (phyN).
    pub index: Option<u32>,
    /// Its name.
    pub name: Option<&'a [u8]>,
    /// Bit `n` set: the radio supports `enum nl80211_band` n (0 = 2.4 GHz, 1 = 5 GHz, 2 = 60 GHz,
    /// 3 = 6 GHz, …).
    pub bands: u32,
}

impl<'a> Wiphy<'a> {
    /// Decodes a NEW_WIPHY message (a GET_WIPHY reply part).
    pub fn parse(msg: &GenlMessage<'a>) -> Result<Self, Error> {
        if msg.cmd != cmd::NEW_WIPHY {
            return Err(Error::UnexpectedMessage);
        }
        let mut w = Wiphy { index: None, name: None, bands: 0 };
        for_each_attr(msg.attrs, msg.order, |a| {
            match a.kind() {
                attr::WIPHY => w.index = Some(a.u32()?),
                attr::WIPHY_NAME => w.name = Some(a.cstr()?),
                attr::WIPHY_BANDS => {
                    for band in a.nested() {
                        w.bands |= 1u32.checked_shl(u32::from(band?.kind())).unwrap_or(0);
                    }
                }
                _ => {}
            }
            Ok(())
        })?;
        Ok(w)
    }
}

/// Encodes a split NL80211_CMD_GET_WIPHY dump.
pub fn get_wiphy(buf: &mut [u8], order: ByteOrder, family: u16, seq: u32) -> Result<usize, EncodeError> {
    let mut w = genl::request(buf, order, family, flags::REQUEST | flags::DUMP, seq, cmd::GET_WIPHY, 0)?;
    w.attr(attr::SPLIT_WIPHY_DUMP, &[])?;
    w.finish()
}

/// Encodes NL80211_CMD_GET_INTERFACE: for one netdev (`Some(ifindex)`, answered by one record and
/// an ACK) or a dump of all (`None`).
pub fn get_interface(
    buf: &mut [u8],
    order: ByteOrder,
    family: u16,
    seq: u32,
    ifindex: Option<u32>,
) -> Result<usize, EncodeError> {
    let fl = match ifindex {
        Some(_) => flags::REQUEST | flags::ACK,
        None => flags::REQUEST | flags::DUMP,
    };
    let mut w = genl::request(buf, order, family, fl, seq, cmd::GET_INTERFACE, 0)?;
    if let Some(i) = ifindex {
        w.attr_u32(attr::IFINDEX, i)?;
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::Message;
    use crate::testdata;

    const LE: ByteOrder = ByteOrder::Little;

    fn event(frame: &[u8]) -> Event<'_> {
        let (m, _) = Message::parse(frame, LE).unwrap();
        Event::parse(&GenlMessage::parse(&m).unwrap()).unwrap()
    }

    fn start_ap_ssid(frame: &[u8]) -> (u32, &[u8]) {
        match event(frame) {
            Event::StartAp(e) => {
                assert_eq!((e.wiphy, e.wdev, e.link_id), (Some(0), e.wdev, None));
                (e.ifindex, e.ssid.unwrap().as_bytes())
            }
            other => panic!("not START_AP: {other:?}"),
        }
    }

    #[test]
    fn start_ap_from_captures() {
        match event(testdata::START_AP_FOO) {
            Event::StartAp(e) => {
                assert_eq!(e.wiphy, Some(0));
                assert_eq!(e.ifindex, 2);
                assert_eq!(e.wdev, Some(1));
                assert_eq!(e.ssid.unwrap().as_bytes(), b"foo");
                assert_eq!(e.link_id, None);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(start_ap_ssid(testdata::START_AP_BAR), (2, &b"bar"[..]));
        assert_eq!(start_ap_ssid(testdata::START_AP_32), (2, &b"0123456789abcdef0123456789ABCDEF"[..]));
        assert_eq!(start_ap_ssid(testdata::START_AP_NONUTF8), (2, &b"f\xffo\x80"[..]));
        assert_eq!(start_ap_ssid(testdata::TWO_BSS_FIRST), (2, &b"foo"[..]));
        assert_eq!(start_ap_ssid(testdata::TWO_BSS_SECOND), (6, &b"foo2"[..]));
    }

    #[test]
    fn stop_ap_and_stations_from_captures() {
        match event(testdata::STOP_AP) {
            Event::StopAp(e) => assert_eq!((e.wiphy, e.ifindex, e.wdev, e.ssid), (Some(0), 2, Some(1), None)),
            other => panic!("{other:?}"),
        }
        match event(testdata::NEW_STATION) {
            Event::NewStation(s) => assert_eq!(s, StationEvent { ifindex: 2, mac: Some([2, 0, 0, 0, 1, 0]) }),
            other => panic!("{other:?}"),
        }
        match event(testdata::DEL_STATION) {
            Event::DelStation(s) => assert_eq!(s.ifindex, 2),
            other => panic!("{other:?}"),
        }
        assert_eq!(event(testdata::REG_CHANGE), Event::Unknown { cmd: 36, ifindex: None });
        assert_eq!(event(testdata::REG_CHANGE).ifindex(), None);
    }

    #[test]
    fn interface_records_from_captures() {
        match event(testdata::SET_INTERFACE) {
            Event::SetInterface(i) => {
                assert_eq!(i.ifindex, Some(2));
                assert_eq!(i.ifname, Some(&b"wlan0"[..]));
                assert_eq!(i.iftype, Some(IfType::Ap));
                assert_eq!(i.mac, Some([2, 0, 0, 0, 0, 0]));
                assert_eq!(i.ssid, None);
            }
            other => panic!("{other:?}"),
        }
        // hostapd gone: back to station, on the "config" group
        match event(testdata::SET_INTERFACE_STATION) {
            Event::SetInterface(i) => assert_eq!((i.ifindex, i.iftype), (Some(2), Some(IfType::Station))),
            other => panic!("{other:?}"),
        }
        match event(testdata::GET_INTERFACE_AP_FOO) {
            Event::NewInterface(i) => {
                assert_eq!((i.ifindex, i.iftype, i.wiphy, i.wdev), (Some(2), Some(IfType::Ap), Some(0), Some(1)));
                assert_eq!(i.ssid.unwrap().as_bytes(), b"foo");
            }
            other => panic!("{other:?}"),
        }
        match event(testdata::GET_INTERFACE_NO_SSID) {
            Event::NewInterface(i) => assert_eq!(i.ssid, None),
            other => panic!("{other:?}"),
        }
        match event(testdata::DEL_INTERFACE) {
            Event::DelInterface(i) => assert_eq!(i.ifindex, Some(6)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn malformed_events_are_typed_errors() {
        let mut buf = [0u8; 128];
        // START_AP without IFINDEX
        let mut w = genl::request(&mut buf, LE, 0x23, 0, 0, cmd::START_AP, 1).unwrap();
        w.attr_u32(attr::WIPHY, 0).unwrap();
        let n = w.finish().unwrap();
        let (m, _) = Message::parse(&buf[..n], LE).unwrap();
        let g = GenlMessage::parse(&m).unwrap();
        assert_eq!(Event::parse(&g), Err(Error::MissingAttribute { kind: attr::IFINDEX }));
        // a 33-byte SSID
        let mut w = genl::request(&mut buf, LE, 0x23, 0, 0, cmd::START_AP, 1).unwrap();
        w.attr_u32(attr::IFINDEX, 2).unwrap();
        w.attr(attr::SSID, &[b'x'; 33]).unwrap();
        let n = w.finish().unwrap();
        let (m, _) = Message::parse(&buf[..n], LE).unwrap();
        assert_eq!(Event::parse(&GenlMessage::parse(&m).unwrap()), Err(Error::BadSsid));
        // an IFINDEX of 3 bytes
        let mut w = genl::request(&mut buf, LE, 0x23, 0, 0, cmd::STOP_AP, 1).unwrap();
        w.attr(attr::IFINDEX, &[1, 2, 3]).unwrap();
        let n = w.finish().unwrap();
        let (m, _) = Message::parse(&buf[..n], LE).unwrap();
        assert_eq!(
            Event::parse(&GenlMessage::parse(&m).unwrap()),
            Err(Error::BadAttributeValue { kind: attr::IFINDEX })
        );
        // the capture cut inside an attribute
        let mut cut = [0u8; 52];
        cut.copy_from_slice(&testdata::START_AP_FOO[..52]);
        cut[0] = 52;
        let (m, _) = Message::parse(&cut, LE).unwrap();
        assert_eq!(Event::parse(&GenlMessage::parse(&m).unwrap()), Err(Error::BadAttributeLength));
    }

    /// Decodes what `build` writes into `buf` after a genl header for `cmd`.
    fn decode_built<'b>(
        buf: &'b mut [u8; 256],
        cmd: u8,
        build: impl FnOnce(&mut crate::writer::MessageWriter<'_>),
    ) -> Result<Event<'b>, Error> {
        let mut w = genl::request(buf, LE, 0x23, 0, 0, cmd, 1).unwrap();
        build(&mut w);
        let n = w.finish().unwrap();
        let buf: &'b [u8] = buf;
        let (m, _) = Message::parse(&buf[..n], LE).unwrap();
        Event::parse(&GenlMessage::parse(&m).unwrap())
    }

    #[test]
    fn attributes_an_event_does_not_use_cannot_cost_it() {
        let mut b = [0u8; 256];
        let ap = ApEvent {
            wiphy: Some(0),
            ifindex: 2,
            wdev: None,
            ssid: Some(SsidRef::new(b"foo").unwrap()),
            link_id: None,
        };
        // START_AP with a malformed IFNAME (no NUL), IFTYPE (3 bytes), MAC (5 bytes), FREQ (2 bytes)
        let got = decode_built(&mut b, cmd::START_AP, |w| {
            w.attr_u32(attr::WIPHY, 0).unwrap();
            w.attr(attr::IFNAME, b"wlan0").unwrap();
            w.attr_u32(attr::IFINDEX, 2).unwrap();
            w.attr(attr::IFTYPE, &[3, 0, 0]).unwrap();
            w.attr(attr::MAC, &[2, 0, 0, 0, 0]).unwrap();
            w.attr(attr::WIPHY_FREQ, &[0x6c, 0x09]).unwrap();
            w.attr(attr::SSID, b"foo").unwrap();
        });
        assert_eq!(got, Ok(Event::StartAp(ap)));
        // a station event with a malformed SSID, WDEV and IFNAME
        let got = decode_built(&mut b, cmd::NEW_STATION, |w| {
            w.attr_u32(attr::IFINDEX, 2).unwrap();
            w.attr(attr::MAC, &[2, 0, 0, 0, 1, 0]).unwrap();
            w.attr(attr::SSID, &[b'x'; 40]).unwrap();
            w.attr(attr::WDEV, &[1, 0, 0, 0]).unwrap();
            w.attr(attr::IFNAME, b"x").unwrap();
        });
        assert_eq!(got, Ok(Event::NewStation(StationEvent { ifindex: 2, mac: Some([2, 0, 0, 0, 1, 0]) })));
        // an unknown command reads only IFINDEX
        let got = decode_built(&mut b, 99, |w| {
            w.attr(attr::WIPHY, &[0]).unwrap();
            w.attr_u32(attr::IFINDEX, 7).unwrap();
            w.attr(attr::MLO_LINK_ID, &[0, 0]).unwrap();
        });
        assert_eq!(got, Ok(Event::Unknown { cmd: 99, ifindex: Some(7) }));
        // a channel switch does not read the SSID or MAC
        let got = decode_built(&mut b, cmd::CH_SWITCH_NOTIFY, |w| {
            w.attr_u32(attr::IFINDEX, 2).unwrap();
            w.attr_u32(attr::WIPHY_FREQ, 2437).unwrap();
            w.attr(attr::SSID, &[]).unwrap();
            w.attr(attr::MAC, &[1]).unwrap();
        });
        assert_eq!(
            got,
            Ok(Event::ChannelSwitch(ChannelSwitch { ifindex: 2, wiphy: None, freq: Some(2437), link_id: None }))
        );
    }

    #[test]
    fn attributes_an_event_uses_stay_strict() {
        let mut b = [0u8; 256];
        // the same malformed IFNAME costs an interface record, which carries the name
        let got = decode_built(&mut b, cmd::NEW_INTERFACE, |w| {
            w.attr_u32(attr::IFINDEX, 2).unwrap();
            w.attr(attr::IFNAME, b"wlan0").unwrap();
        });
        assert_eq!(got, Err(Error::BadAttributeValue { kind: attr::IFNAME }));
        let used: [(u8, u16, &[u8], Error); 7] = [
            (cmd::START_AP, attr::WIPHY, &[0, 0], Error::BadAttributeValue { kind: attr::WIPHY }),
            (cmd::START_AP, attr::WDEV, &[1, 0, 0, 0], Error::BadAttributeValue { kind: attr::WDEV }),
            (cmd::STOP_AP, attr::MLO_LINK_ID, &[0, 0], Error::BadAttributeValue { kind: attr::MLO_LINK_ID }),
            (cmd::START_AP, attr::SSID, &[b'x'; 33], Error::BadSsid),
            (cmd::SET_INTERFACE, attr::IFTYPE, &[3, 0, 0], Error::BadAttributeValue { kind: attr::IFTYPE }),
            (cmd::DEL_STATION, attr::MAC, &[2, 0, 0, 0, 0], Error::BadAttributeValue { kind: attr::MAC }),
            (cmd::CH_SWITCH_NOTIFY, attr::WIPHY_FREQ, &[1], Error::BadAttributeValue { kind: attr::WIPHY_FREQ }),
        ];
        for (c, kind, value, err) in used {
            let got = decode_built(&mut b, c, |w| {
                w.attr_u32(attr::IFINDEX, 2).unwrap();
                w.attr(kind, value).unwrap();
            });
            assert_eq!(got, Err(err), "cmd {c} attribute {kind}");
        }
        // a broken attribute length anywhere leaves no way to walk on: an error for every event
        for c in [cmd::START_AP, cmd::NEW_STATION, 99] {
            let got = decode_built(&mut b, c, |w| {
                w.attr_u32(attr::IFINDEX, 2).unwrap();
                w.bytes(&[9, 0, 4, 0, b'w']).unwrap();
            });
            assert_eq!(got, Err(Error::BadAttributeLength), "cmd {c}");
        }
    }

    #[test]
    fn an_empty_ssid_is_no_ssid() {
        let mut b = [0u8; 256];
        let got = decode_built(&mut b, cmd::START_AP, |w| {
            w.attr_u32(attr::IFINDEX, 2).unwrap();
            w.attr(attr::SSID, &[]).unwrap();
        });
        assert_eq!(got, Ok(Event::StartAp(ApEvent { wiphy: None, ifindex: 2, wdev: None, ssid: None, link_id: None })));
        let got = decode_built(&mut b, cmd::NEW_INTERFACE, |w| {
            w.attr_u32(attr::IFINDEX, 2).unwrap();
            w.attr_u32(attr::IFTYPE, 3).unwrap();
            w.attr(attr::SSID, &[]).unwrap();
        });
        match got {
            Ok(Event::NewInterface(i)) => assert_eq!((i.iftype, i.ssid), (Some(IfType::Ap), None)),
            other => panic!("{other:?}"),
        }
        // the longest SSID still decodes; one byte more is malformed (above)
        let got = decode_built(&mut b, cmd::START_AP, |w| {
            w.attr_u32(attr::IFINDEX, 2).unwrap();
            w.attr(attr::SSID, &[b'x'; 32]).unwrap();
        });
        assert!(matches!(got, Ok(Event::StartAp(ApEvent { ssid: Some(s), .. })) if s.as_bytes() == [b'x'; 32]));
    }

    #[test]
    fn net_byteorder_on_an_integer_is_ignored_as_the_kernel_does() {
        // IFINDEX 2 in host order with NLA_F_NET_BYTEORDER set: nla_get_u32 reads 2
        for order in [ByteOrder::Little, ByteOrder::Big] {
            let mut buf = [0u8; 64];
            let mut w = genl::request(&mut buf, order, 0x23, 0, 0, cmd::STOP_AP, 1).unwrap();
            w.attr_u32(attr::IFINDEX | crate::attr::F_NET_BYTEORDER, 2).unwrap();
            w.attr_u32(attr::WIPHY | crate::attr::F_NET_BYTEORDER, 0x0102_0304).unwrap();
            let n = w.finish().unwrap();
            let (m, _) = Message::parse(&buf[..n], order).unwrap();
            match Event::parse(&GenlMessage::parse(&m).unwrap()) {
                Ok(Event::StopAp(e)) => assert_eq!((e.ifindex, e.wiphy), (2, Some(0x0102_0304))),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn emitted_events_equal_the_captured_bytes() {
        // What the kernel sent for "foo" is exactly what ApEvent::emit writes.
        let e = match event(testdata::START_AP_FOO) {
            Event::StartAp(e) => e,
            other => panic!("{other:?}"),
        };
        let mut buf = [0u8; 64];
        let n = e.emit(&mut buf, LE, 0x23, cmd::START_AP).unwrap();
        assert_eq!(&buf[..n], testdata::START_AP_FOO);
    }

    #[test]
    fn a_get_interface_dump_from_a_capture() {
        // `iw dev` on the hwsim VM: wlan1 (station), wlan0 (AP "foo"), then NLMSG_DONE
        let mut buf = std::vec::Vec::new();
        for f in [testdata::DUMP_IFACE_1, testdata::DUMP_IFACE_2, testdata::DUMP_DONE] {
            buf.extend_from_slice(f);
        }
        let mut ifaces = std::vec::Vec::new();
        let mut done = false;
        for m in crate::netlink::Messages::new(&buf, LE) {
            let m = m.unwrap();
            match m.kind() {
                crate::netlink::MessageKind::Done => done = true,
                _ => {
                    assert_ne!(m.header.flags & flags::MULTI, 0, "dump parts carry NLM_F_MULTI");
                    match Event::parse(&GenlMessage::parse(&m).unwrap()).unwrap() {
                        Event::NewInterface(i) => {
                            ifaces.push((i.ifindex, i.ifname, i.iftype, i.ssid.map(|s| s.as_bytes())))
                        }
                        other => panic!("{other:?}"),
                    }
                }
            }
        }
        assert!(done);
        assert_eq!(
            ifaces,
            [
                (Some(3), Some(&b"wlan1"[..]), Some(IfType::Station), None),
                (Some(2), Some(&b"wlan0"[..]), Some(IfType::Ap), Some(&b"foo"[..])),
            ]
        );
        // our dump request says what iw's says: GET_INTERFACE, REQUEST|DUMP, no attributes
        let (iw, _) = Message::parse(testdata::DUMP_REQUEST_IW, LE).unwrap();
        let mut ours = [0u8; 32];
        let n = get_interface(&mut ours, LE, 0x23, iw.header.seq, None).unwrap();
        let (m, _) = Message::parse(&ours[..n], LE).unwrap();
        assert_eq!(m.header.flags & (flags::REQUEST | flags::DUMP), iw.header.flags & (flags::REQUEST | flags::DUMP));
        assert_eq!((m.header.kind, m.payload.first()), (iw.header.kind, iw.payload.first()));
        assert_eq!(m.payload.len(), iw.payload.len());
    }

    #[test]
    fn wiphy_bands_from_a_capture_and_the_dump_request() {
        let (m, _) = Message::parse(testdata::NEW_WIPHY_BANDS, LE).unwrap();
        let w = Wiphy::parse(&GenlMessage::parse(&m).unwrap()).unwrap();
        assert_eq!((w.index, w.name), (Some(0), Some(&b"phy0"[..])));
        assert_eq!(w.bands, 1, "hwsim in hw_mode g: 2.4 GHz only in this part");
        let (m, _) = Message::parse(testdata::START_AP_FOO, LE).unwrap();
        assert_eq!(Wiphy::parse(&GenlMessage::parse(&m).unwrap()), Err(Error::UnexpectedMessage));
        for order in [ByteOrder::Little, ByteOrder::Big] {
            let mut buf = [0u8; 64];
            let n = get_wiphy(&mut buf, order, 0x23, 3).unwrap();
            let (m, _) = Message::parse(&buf[..n], order).unwrap();
            assert_eq!(m.header.flags, flags::REQUEST | flags::DUMP);
            let g = GenlMessage::parse(&m).unwrap();
            assert_eq!(g.cmd, cmd::GET_WIPHY);
            assert_eq!(g.attrs().find(attr::SPLIT_WIPHY_DUMP).unwrap().unwrap().flag(), Ok(()));
        }
    }

    #[test]
    fn get_interface_requests_round_trip() {
        for order in [ByteOrder::Little, ByteOrder::Big] {
            let mut buf = [0u8; 64];
            let n = get_interface(&mut buf, order, 0x23, 7, Some(2)).unwrap();
            let (m, _) = Message::parse(&buf[..n], order).unwrap();
            assert_eq!(m.header.flags, flags::REQUEST | flags::ACK);
            let g = GenlMessage::parse(&m).unwrap();
            assert_eq!(g.cmd, cmd::GET_INTERFACE);
            assert_eq!(g.attrs().find(attr::IFINDEX).unwrap().unwrap().u32(), Ok(2));
            let n = get_interface(&mut buf, order, 0x23, 8, None).unwrap();
            let (m, _) = Message::parse(&buf[..n], order).unwrap();
            assert_eq!(m.header.flags, flags::REQUEST | flags::DUMP);
            assert_eq!(GenlMessage::parse(&m).unwrap().attrs().count(), 0);
        }
    }
}
