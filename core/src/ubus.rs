//! ubus messages, as ubusd and libubus exchange them on the unix socket: the 8-byte header,
//! message types, `UBUS_ATTR_*` attributes and status codes; the requests a client sends.
//!
//! A message is `ubus_msghdr` {version u8 = 0, type u8, seq u16, peer u32}, all big-endian,
//! then one root blob attribute (id 0) whose length counts its own header: the message is
//! `8 + root length` bytes, and messages follow each other on the stream with no padding
//! between them. The root holds plain (non-extended) blob attributes; DATA and SIGNATURE
//! hold blobmsg fields (see [`crate::blob`]).

use crate::blob::{self, Attrs, Fields, Nest, Type, Writer};
use crate::keyword;
use crate::{EncodeError, Error, SsidRef};

/// Size of `struct ubus_msghdr`.
pub const HEADER_LEN: usize = 8;
/// The header and the root attribute's header: what a reader needs to know a message's length
/// (libubus reads exactly these 12 bytes first).
pub const PREFIX_LEN: usize = HEADER_LEN + blob::HEADER_LEN;
/// UBUS_MAX_MSGLEN: the largest root blob (padded) ubusd and libubus accept.
pub const MAX_BLOB_LEN: usize = 1 << 20;
/// UBUS_SYSTEM_OBJECT_EVENT: ubusd's own object for `send` and `register` (events).
pub const EVENT_OBJECT: u32 = 1;

mod field {
    use core::ops::Range;
    pub const VERSION: usize = 0;
    pub const TYPE: usize = 1;
    pub const SEQ: Range<usize> = 2..4;
    pub const PEER: Range<usize> = 4..8;
    pub const ROOT: Range<usize> = 8..12;
}

/// `enum ubus_msg_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum MessageType {
    /// ubusd's first message: the header's peer is the client id it assigned.
    Hello,
    /// The end of a request: its status.
    Status,
    /// A reply's data (lookup results, an invoke's DATA).
    Data,
    /// PING (answered with DATA).
    Ping,
    /// Look up objects by path.
    Lookup,
    /// Call a method (client → ubusd → object owner; also event delivery).
    Invoke,
    /// Register an object.
    AddObject,
    /// Unregister an object.
    RemoveObject,
    /// Subscribe an object to another's notifications.
    Subscribe,
    /// ubusd: the subscription ended (the target went away).
    Unsubscribe,
    /// A notification from an object owner; from ubusd: the subscriber set changed.
    Notify,
    /// Monitor traffic.
    Monitor,
    /// Another type.
    Unknown(u8),
}

impl MessageType {
    /// The type code.
    pub fn code(self) -> u8 {
        match self {
            MessageType::Hello => 0,
            MessageType::Status => 1,
            MessageType::Data => 2,
            MessageType::Ping => 3,
            MessageType::Lookup => 4,
            MessageType::Invoke => 5,
            MessageType::AddObject => 6,
            MessageType::RemoveObject => 7,
            MessageType::Subscribe => 8,
            MessageType::Unsubscribe => 9,
            MessageType::Notify => 10,
            MessageType::Monitor => 11,
            MessageType::Unknown(n) => n,
        }
    }
}

impl From<u8> for MessageType {
    fn from(n: u8) -> Self {
        match n {
            0 => MessageType::Hello,
            1 => MessageType::Status,
            2 => MessageType::Data,
            3 => MessageType::Ping,
            4 => MessageType::Lookup,
            5 => MessageType::Invoke,
            6 => MessageType::AddObject,
            7 => MessageType::RemoveObject,
            8 => MessageType::Subscribe,
            9 => MessageType::Unsubscribe,
            10 => MessageType::Notify,
            11 => MessageType::Monitor,
            other => MessageType::Unknown(other),
        }
    }
}

/// `enum ubus_msg_attr`: the root's attribute ids.
pub mod attr {
    /// UBUS_ATTR_STATUS: int32 status code.
    pub const STATUS: u8 = 1;
    /// UBUS_ATTR_OBJPATH: string.
    pub const OBJPATH: u8 = 2;
    /// UBUS_ATTR_OBJID: u32.
    pub const OBJID: u8 = 3;
    /// UBUS_ATTR_METHOD: string (also an event's name on delivery).
    pub const METHOD: u8 = 4;
    /// UBUS_ATTR_OBJTYPE: u32.
    pub const OBJTYPE: u8 = 5;
    /// UBUS_ATTR_SIGNATURE: blobmsg table of methods → table of argument types.
    pub const SIGNATURE: u8 = 6;
    /// UBUS_ATTR_DATA: blobmsg table.
    pub const DATA: u8 = 7;
    /// UBUS_ATTR_TARGET: u32 object id.
    pub const TARGET: u8 = 8;
    /// UBUS_ATTR_ACTIVE: int8, whether an object has subscribers.
    pub const ACTIVE: u8 = 9;
    /// UBUS_ATTR_NO_REPLY: int8, the sender waits for no reply.
    pub const NO_REPLY: u8 = 10;
    /// UBUS_ATTR_SUBSCRIBERS: nested u32 object ids.
    pub const SUBSCRIBERS: u8 = 11;
    /// UBUS_ATTR_USER: string, the caller's user (ubusd adds it).
    pub const USER: u8 = 12;
    /// UBUS_ATTR_GROUP: string, the caller's group (ubusd adds it).
    pub const GROUP: u8 = 13;
}

/// `enum ubus_msg_status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Status {
    /// 0
    Ok,
    /// 1
    InvalidCommand,
    /// 2: e.g. netifd's add_device without a string `name`.
    InvalidArgument,
    /// 3
    MethodNotFound,
    /// 4: no such object (ubusd), or no such member (netifd's remove_device).
    NotFound,
    /// 5
    NoData,
    /// 6
    PermissionDenied,
    /// 7
    Timeout,
    /// 8: e.g. add_device on an interface whose device is not a bridge.
    NotSupported,
    /// 9
    UnknownError,
    /// 10
    ConnectionFailed,
    /// 11
    NoMemory,
    /// 12
    ParseError,
    /// 13
    SystemError,
    /// Another code.
    Unknown(u32),
}

impl Status {
    /// The status code.
    pub fn code(self) -> u32 {
        match self {
            Status::Ok => 0,
            Status::InvalidCommand => 1,
            Status::InvalidArgument => 2,
            Status::MethodNotFound => 3,
            Status::NotFound => 4,
            Status::NoData => 5,
            Status::PermissionDenied => 6,
            Status::Timeout => 7,
            Status::NotSupported => 8,
            Status::UnknownError => 9,
            Status::ConnectionFailed => 10,
            Status::NoMemory => 11,
            Status::ParseError => 12,
            Status::SystemError => 13,
            Status::Unknown(n) => n,
        }
    }

    /// The name libubus's `ubus_strerror` tables use, in upper case (as in the captures).
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::InvalidCommand => "INVALID_COMMAND",
            Status::InvalidArgument => "INVALID_ARGUMENT",
            Status::MethodNotFound => "METHOD_NOT_FOUND",
            Status::NotFound => "NOT_FOUND",
            Status::NoData => "NO_DATA",
            Status::PermissionDenied => "PERMISSION_DENIED",
            Status::Timeout => "TIMEOUT",
            Status::NotSupported => "NOT_SUPPORTED",
            Status::UnknownError => "UNKNOWN_ERROR",
            Status::ConnectionFailed => "CONNECTION_FAILED",
            Status::NoMemory => "NO_MEMORY",
            Status::ParseError => "PARSE_ERROR",
            Status::SystemError => "SYSTEM_ERROR",
            Status::Unknown(_) => "UNKNOWN",
        }
    }
}

impl From<u32> for Status {
    fn from(n: u32) -> Self {
        match n {
            0 => Status::Ok,
            1 => Status::InvalidCommand,
            2 => Status::InvalidArgument,
            3 => Status::MethodNotFound,
            4 => Status::NotFound,
            5 => Status::NoData,
            6 => Status::PermissionDenied,
            7 => Status::Timeout,
            8 => Status::NotSupported,
            9 => Status::UnknownError,
            10 => Status::ConnectionFailed,
            11 => Status::NoMemory,
            12 => Status::ParseError,
            13 => Status::SystemError,
            other => Status::Unknown(other),
        }
    }
}

/// `struct ubus_msghdr`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Header {
    /// Always 0 (libubus and ubusd drop anything else).
    pub version: u8,
    /// The message type.
    pub kind: MessageType,
    /// The request's sequence number; replies carry it back.
    pub seq: u16,
    /// Client id or object id, depending on type and direction.
    pub peer: u32,
}

/// The length of the message at the start of a stream buffer, from its first
/// [`PREFIX_LEN`] bytes: `Truncated` while fewer are there, `BadMessageLength` for a root
/// shorter than its header or longer than ubusd allows (the connection is then unusable),
/// `UnexpectedMessage` for a version other than 0.
pub fn frame_len(buf: &[u8]) -> Result<usize, Error> {
    let prefix = buf.get(..PREFIX_LEN).ok_or(Error::Truncated)?;
    if prefix.get(field::VERSION) != Some(&0) {
        return Err(Error::UnexpectedMessage);
    }
    let root: [u8; 4] = prefix.get(field::ROOT).and_then(|r| r.try_into().ok()).ok_or(Error::Truncated)?;
    let len = (u32::from_be_bytes(root) & 0x00ff_ffff) as usize;
    if len < blob::HEADER_LEN || blob::pad(len) > MAX_BLOB_LEN {
        return Err(Error::BadMessageLength);
    }
    Ok(HEADER_LEN + len)
}

/// A checked view over one message in a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checks; accessors then return 0 / empty where it is short.
    pub fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }

    /// Wraps a buffer that holds at least one whole message (checked once, here).
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let p = Packet { buffer };
        p.check_len()?;
        Ok(p)
    }

    /// Checks that the buffer holds the whole message its header announces.
    pub fn check_len(&self) -> Result<(), Error> {
        let len = frame_len(self.buffer.as_ref())?;
        if self.buffer.as_ref().len() < len {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    fn bytes<const N: usize>(&self, r: core::ops::Range<usize>) -> [u8; N] {
        self.buffer.as_ref().get(r).and_then(|b| b.try_into().ok()).unwrap_or([0; N])
    }

    /// The version byte.
    pub fn version(&self) -> u8 {
        self.buffer.as_ref().get(field::VERSION).copied().unwrap_or(0)
    }

    /// The message type.
    pub fn kind(&self) -> MessageType {
        self.buffer.as_ref().get(field::TYPE).copied().unwrap_or(0).into()
    }

    /// The sequence number.
    pub fn seq(&self) -> u16 {
        u16::from_be_bytes(self.bytes(field::SEQ))
    }

    /// The peer field.
    pub fn peer(&self) -> u32 {
        u32::from_be_bytes(self.bytes(field::PEER))
    }

    /// The message's length on the wire: the header and the root attribute.
    pub fn total_len(&self) -> usize {
        HEADER_LEN + (u32::from_be_bytes(self.bytes(field::ROOT)) & 0x00ff_ffff) as usize
    }

    /// The root attribute's payload: the message's attributes.
    pub fn attrs(&self) -> &[u8] {
        self.buffer.as_ref().get(PREFIX_LEN..self.total_len()).unwrap_or(&[])
    }

    /// The header.
    pub fn header(&self) -> Header {
        Header { version: self.version(), kind: self.kind(), seq: self.seq(), peer: self.peer() }
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

/// One root attribute, typed. Ids ubus does not define survive as `Unknown`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Attr<'a> {
    /// UBUS_ATTR_STATUS
    Status(Status),
    /// UBUS_ATTR_OBJPATH
    ObjPath(&'a [u8]),
    /// UBUS_ATTR_OBJID
    ObjId(u32),
    /// UBUS_ATTR_METHOD
    Method(&'a [u8]),
    /// UBUS_ATTR_OBJTYPE
    ObjType(u32),
    /// UBUS_ATTR_SIGNATURE
    Signature(Fields<'a>),
    /// UBUS_ATTR_DATA
    Data(Fields<'a>),
    /// UBUS_ATTR_TARGET
    Target(u32),
    /// UBUS_ATTR_ACTIVE (the int8 as sent)
    Active(u8),
    /// UBUS_ATTR_NO_REPLY (the int8 as sent)
    NoReply(u8),
    /// UBUS_ATTR_SUBSCRIBERS: see [`SubscriberIds`].
    Subscribers(Attrs<'a>),
    /// UBUS_ATTR_USER
    User(&'a [u8]),
    /// UBUS_ATTR_GROUP
    Group(&'a [u8]),
    /// Another id.
    Unknown {
        /// The id.
        id: u8,
        /// The payload.
        payload: &'a [u8],
    },
}

impl<'a> Attr<'a> {
    /// Types a root attribute; a value of the wrong size for its id is an error.
    pub fn parse(a: &blob::Attr<'a>) -> Result<Attr<'a>, Error> {
        Ok(match a.id() {
            attr::STATUS => Attr::Status(a.u32()?.into()),
            attr::OBJPATH => Attr::ObjPath(a.cstr()?),
            attr::OBJID => Attr::ObjId(a.u32()?),
            attr::METHOD => Attr::Method(a.cstr()?),
            attr::OBJTYPE => Attr::ObjType(a.u32()?),
            attr::SIGNATURE => Attr::Signature(Fields::new(a.payload())),
            attr::DATA => Attr::Data(Fields::new(a.payload())),
            attr::TARGET => Attr::Target(a.u32()?),
            attr::ACTIVE => Attr::Active(a.u8()?),
            attr::NO_REPLY => Attr::NoReply(a.u8()?),
            attr::SUBSCRIBERS => Attr::Subscribers(a.nested()),
            attr::USER => Attr::User(a.cstr()?),
            attr::GROUP => Attr::Group(a.cstr()?),
            id => Attr::Unknown { id, payload: a.payload() },
        })
    }
}

/// The object ids in a SUBSCRIBERS attribute (each a u32 attribute).
#[derive(Clone, Debug)]
pub struct SubscriberIds<'a>(Attrs<'a>);

impl Iterator for SubscriberIds<'_> {
    type Item = Result<u32, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|a| a.and_then(|a| a.u32()))
    }
}

/// One decoded message: the header and its attributes (every one checked at parse), in the
/// order they came. Getters return the last of several, as libubus's `ubus_parse_msg`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Message<'a> {
    /// The header.
    pub header: Header,
    /// The top byte of the root's header word (extended bit and id): 0 from ubusd and
    /// libubus, which ignore it; kept so that `emit` gives back what came.
    root_top: u8,
    attrs: &'a [u8],
}

/// The attributes of a [`Message`], in order.
#[derive(Clone, Debug)]
pub struct MessageAttrs<'a>(Attrs<'a>);

impl<'a> Iterator for MessageAttrs<'a> {
    type Item = Attr<'a>;

    fn next(&mut self) -> Option<Attr<'a>> {
        // every attribute was checked by Message::parse: an error cannot come, and ends the walk
        self.0.next()?.ok().and_then(|a| Attr::parse(&a).ok())
    }
}

impl<'a> Message<'a> {
    /// Decodes the message at the start of `buf`; returns it and the bytes after it (the next
    /// message of the stream).
    pub fn parse(buf: &'a [u8]) -> Result<(Message<'a>, &'a [u8]), Error> {
        let len = frame_len(buf)?;
        let (this, rest) = (buf.get(..len).ok_or(Error::Truncated)?, buf.get(len..).unwrap_or(&[]));
        let p = Packet::new_unchecked(this);
        let attrs = this.get(PREFIX_LEN..).unwrap_or(&[]);
        for a in Attrs::new(attrs) {
            Attr::parse(&a?)?;
        }
        let root_top = this.get(HEADER_LEN).copied().unwrap_or(0);
        Ok((Message { header: p.header(), root_top, attrs }, rest))
    }

    /// The attributes in order.
    pub fn attrs(&self) -> MessageAttrs<'a> {
        MessageAttrs(Attrs::new(self.attrs))
    }

    /// The raw attribute area (the root's payload).
    pub fn attr_bytes(&self) -> &'a [u8] {
        self.attrs
    }

    fn last<T>(&self, f: impl Fn(Attr<'a>) -> Option<T>) -> Option<T> {
        self.attrs().filter_map(f).last()
    }

    /// STATUS
    pub fn status(&self) -> Option<Status> {
        self.last(|a| if let Attr::Status(s) = a { Some(s) } else { None })
    }

    /// OBJPATH
    pub fn objpath(&self) -> Option<&'a [u8]> {
        self.last(|a| if let Attr::ObjPath(s) = a { Some(s) } else { None })
    }

    /// OBJID
    pub fn objid(&self) -> Option<u32> {
        self.last(|a| if let Attr::ObjId(s) = a { Some(s) } else { None })
    }

    /// METHOD
    pub fn method(&self) -> Option<&'a [u8]> {
        self.last(|a| if let Attr::Method(s) = a { Some(s) } else { None })
    }

    /// OBJTYPE
    pub fn objtype(&self) -> Option<u32> {
        self.last(|a| if let Attr::ObjType(s) = a { Some(s) } else { None })
    }

    /// SIGNATURE
    pub fn signature(&self) -> Option<Fields<'a>> {
        self.last(|a| if let Attr::Signature(s) = a { Some(s) } else { None })
    }

    /// DATA
    pub fn data(&self) -> Option<Fields<'a>> {
        self.last(|a| if let Attr::Data(s) = a { Some(s) } else { None })
    }

    /// TARGET
    pub fn target(&self) -> Option<u32> {
        self.last(|a| if let Attr::Target(s) = a { Some(s) } else { None })
    }

    /// ACTIVE, as a bool.
    pub fn active(&self) -> Option<bool> {
        self.last(|a| if let Attr::Active(s) = a { Some(s != 0) } else { None })
    }

    /// NO_REPLY: set and non-zero.
    pub fn no_reply(&self) -> bool {
        self.last(|a| if let Attr::NoReply(s) = a { Some(s != 0) } else { None }).unwrap_or(false)
    }

    /// SUBSCRIBERS
    pub fn subscribers(&self) -> Option<SubscriberIds<'a>> {
        self.last(|a| if let Attr::Subscribers(s) = a { Some(SubscriberIds(s)) } else { None })
    }

    /// USER
    pub fn user(&self) -> Option<&'a [u8]> {
        self.last(|a| if let Attr::User(s) = a { Some(s) } else { None })
    }

    /// GROUP
    pub fn group(&self) -> Option<&'a [u8]> {
        self.last(|a| if let Attr::Group(s) = a { Some(s) } else { None })
    }

    /// The bytes [`Message::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        PREFIX_LEN + self.attrs.len()
    }

    /// Writes the message back (header, root, the attributes as they came).
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        let mut w = MessageWriter::new(buf, self.header.kind, self.header.seq, self.header.peer)?;
        w.w.raw_area(self.attrs)?;
        let len = w.finish()?;
        if let Some(b) = buf.get_mut(HEADER_LEN) {
            *b = self.root_top;
        }
        Ok(len)
    }
}

/// What DATA of a LOOKUP reply (one per object) or an ADD_OBJECT reply says about an object.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ObjectInfo<'a> {
    /// The path (lookups; absent in an ADD_OBJECT reply).
    pub path: Option<&'a [u8]>,
    /// The object id: the header's peer of an INVOKE to it.
    pub id: u32,
    /// The type id (absent for anonymous objects and reused types).
    pub type_id: Option<u32>,
    /// Its methods and their argument types.
    pub signature: Option<Fields<'a>>,
}

impl<'a> ObjectInfo<'a> {
    /// From a DATA message.
    pub fn parse(m: &Message<'a>) -> Result<Self, Error> {
        if m.header.kind != MessageType::Data {
            return Err(Error::UnexpectedMessage);
        }
        let id = m.objid().ok_or(Error::MissingAttribute { kind: attr::OBJID.into() })?;
        Ok(ObjectInfo { path: m.objpath(), id, type_id: m.objtype(), signature: m.signature() })
    }
}

/// An INVOKE as the object's owner receives it: a call (peer = the caller's client id), a
/// notification forwarded to a subscriber, or an event delivered to a listener (peer 0).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Invoke<'a> {
    /// Carried back in the reply.
    pub seq: u16,
    /// The caller's client id (0 for an event).
    pub peer: u32,
    /// The object called.
    pub objid: u32,
    /// The method, or the event's name.
    pub method: &'a [u8],
    /// The arguments (libubus answers INVALID_ARGUMENT when absent).
    pub data: Option<Fields<'a>>,
    /// The caller waits for no reply.
    pub no_reply: bool,
    /// The caller's user, when ubusd added it.
    pub user: Option<&'a [u8]>,
    /// The caller's group, when ubusd added it.
    pub group: Option<&'a [u8]>,
}

impl<'a> Invoke<'a> {
    /// From an INVOKE message.
    pub fn parse(m: &Message<'a>) -> Result<Self, Error> {
        if m.header.kind != MessageType::Invoke {
            return Err(Error::UnexpectedMessage);
        }
        Ok(Invoke {
            seq: m.header.seq,
            peer: m.header.peer,
            objid: m.objid().ok_or(Error::MissingAttribute { kind: attr::OBJID.into() })?,
            method: m.method().ok_or(Error::MissingAttribute { kind: attr::METHOD.into() })?,
            data: m.data(),
            no_reply: m.no_reply(),
            user: m.user(),
            group: m.group(),
        })
    }

    /// Whether ubusd delivers an event (peer 0, no caller).
    pub fn is_event(&self) -> bool {
        self.peer == 0
    }
}

/// `ubus.object.add` / `ubus.object.remove` (ubusd's own events): `{id: int32, path}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ObjectEvent<'a> {
    /// `ubus.object.add` (true) or `ubus.object.remove`.
    pub added: bool,
    /// The object id (sent as a signed int32; the bits are the id).
    pub id: u32,
    /// The object's path.
    pub path: &'a [u8],
}

impl<'a> ObjectEvent<'a> {
    /// From an event's name and data; `Ok(None)` for another event.
    pub fn parse(name: &[u8], data: &Fields<'a>) -> Result<Option<Self>, Error> {
        const NAMES: [(&[u8], bool); 2] = [(b"ubus.object.add", true), (b"ubus.object.remove", false)];
        let Some(added) = keyword::lookup(&NAMES, name) else { return Ok(None) };
        let id = data.get_i32(b"id")?.ok_or(Error::MissingAttribute { kind: blob::kind::INT32.into() })?;
        let path = data.get_str(b"path")?.ok_or(Error::MissingAttribute { kind: blob::kind::STRING.into() })?;
        Ok(Some(ObjectEvent { added, id: u32::from_ne_bytes(id.to_ne_bytes()), path }))
    }
}

/// `network.interface` (netifd's event): `{action: ifup|ifdown|…, interface}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct InterfaceEvent<'a> {
    /// `ifup`, `ifdown`, `ifupdate`, …
    pub action: &'a [u8],
    /// The network (interface section) name.
    pub interface: &'a [u8],
}

impl<'a> InterfaceEvent<'a> {
    /// From an event's name and data; `Ok(None)` for another event.
    pub fn parse(name: &[u8], data: &Fields<'a>) -> Result<Option<Self>, Error> {
        if name != b"network.interface" {
            return Ok(None);
        }
        let missing = Error::MissingAttribute { kind: blob::kind::STRING.into() };
        let action = data.get_str(b"action")?.ok_or(missing)?;
        let interface = data.get_str(b"interface")?.ok_or(missing)?;
        Ok(Some(InterfaceEvent { action, interface }))
    }
}

/// What `network.interface.<net> status` says that apwatch needs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct InterfaceStatus<'a> {
    /// `up`
    pub up: bool,
    /// `available`
    pub available: bool,
    /// `device`: the interface's main device, e.g. its bridge (absent: no device).
    pub device: Option<&'a [u8]>,
    /// `l3_device`: where its addresses are (absent while down).
    pub l3_device: Option<&'a [u8]>,
}

impl<'a> InterfaceStatus<'a> {
    /// From the DATA table of the reply.
    pub fn parse(data: &Fields<'a>) -> Result<Self, Error> {
        Ok(InterfaceStatus {
            up: data.get_bool(b"up")?.unwrap_or(false),
            available: data.get_bool(b"available")?.unwrap_or(false),
            device: data.get_str(b"device")?,
            l3_device: data.get_str(b"l3_device")?,
        })
    }
}

/// The path of OpenWrt hostapd's ucode object (`hostapd.uc`: methods `bss_info`, `config_set`,
/// …; notifications `bss.add` / `bss.reload` / `bss.remove` to its subscribers).
pub const HOSTAPD_OBJECT: &str = "hostapd";

/// What happened to a BSS, as hostapd's notification names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum BssChange {
    /// `bss.add`: hostapd set the BSS up.
    Add,
    /// `bss.reload`: its configuration was applied again (`wifi reload`: `bss.set_config`).
    Reload,
    /// `bss.remove`: hostapd took it down.
    Remove,
}

/// A notification of the `hostapd` object: `bss.<change> {name: ifname (, reconf: bool)}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BssNotice<'a> {
    /// What happened.
    pub change: BssChange,
    /// The BSS's netdev.
    pub ifname: &'a [u8],
}

impl<'a> BssNotice<'a> {
    /// From a notification's method and data; `Ok(None)` for another notification (hostapd's
    /// object may grow others).
    pub fn parse(method: &[u8], data: &Fields<'a>) -> Result<Option<Self>, Error> {
        const METHODS: [(&[u8], BssChange); 3] =
            [(b"bss.add", BssChange::Add), (b"bss.reload", BssChange::Reload), (b"bss.remove", BssChange::Remove)];
        let Some(change) = keyword::lookup(&METHODS, method) else { return Ok(None) };
        let ifname = data.get_str(b"name")?.ok_or(Error::MissingAttribute { kind: blob::kind::STRING.into() })?;
        Ok(Some(BssNotice { change, ifname }))
    }
}

/// What `hostapd bss_info {iface}` answers that apwatch needs: the `ssid=` line of the BSS's
/// configuration (hostapd.uc copies chosen config lines into the reply as strings). Absent
/// when the BSS is configured another way (`ssid2=`): hostapd then says nothing about it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BssInfo<'a> {
    /// The configured SSID, 1..=32 bytes (checked), raw.
    pub ssid: Option<SsidRef<'a>>,
}

impl<'a> BssInfo<'a> {
    /// From the DATA table of the reply. An empty `ssid` is no SSID; one over 32 bytes is
    /// `BadSsid`.
    pub fn parse(data: &Fields<'a>) -> Result<Self, Error> {
        let ssid = match data.get_str(b"ssid")? {
            None | Some([]) => None,
            Some(s) => Some(SsidRef::new(s)?),
        };
        Ok(BssInfo { ssid })
    }
}

/// The arguments of `hostapd bss_info`: `{iface: ifname}`.
pub fn bss_info_args(w: &mut Writer<'_>, ifname: &[u8]) -> Result<(), EncodeError> {
    w.string(b"iface", ifname)
}

/// Writes one message: the header, then typed attributes in the order called. The root's and
/// nested lengths are filled in by [`MessageWriter::finish`] and the closures' ends.
#[derive(Debug)]
pub struct MessageWriter<'b> {
    w: Writer<'b>,
    root: Nest,
    header: Header,
}

impl<'b> MessageWriter<'b> {
    /// Starts a message at the beginning of `buf`.
    pub fn new(buf: &'b mut [u8], kind: MessageType, seq: u16, peer: u32) -> Result<Self, EncodeError> {
        if buf.len() < PREFIX_LEN {
            return Err(EncodeError::BufferTooSmall);
        }
        let mut w = Writer::at(buf, HEADER_LEN);
        let root = w.nest_start(0)?;
        Ok(MessageWriter { w, root, header: Header { version: 0, kind, seq, peer } })
    }

    /// STATUS
    pub fn status(&mut self, s: Status) -> Result<&mut Self, EncodeError> {
        self.w.attr_u32(attr::STATUS, s.code())?;
        Ok(self)
    }

    /// OBJPATH
    pub fn objpath(&mut self, path: &[u8]) -> Result<&mut Self, EncodeError> {
        self.w.attr_str(attr::OBJPATH, path)?;
        Ok(self)
    }

    /// OBJID
    pub fn objid(&mut self, id: u32) -> Result<&mut Self, EncodeError> {
        self.w.attr_u32(attr::OBJID, id)?;
        Ok(self)
    }

    /// METHOD
    pub fn method(&mut self, method: &[u8]) -> Result<&mut Self, EncodeError> {
        self.w.attr_str(attr::METHOD, method)?;
        Ok(self)
    }

    /// OBJTYPE
    pub fn objtype(&mut self, id: u32) -> Result<&mut Self, EncodeError> {
        self.w.attr_u32(attr::OBJTYPE, id)?;
        Ok(self)
    }

    /// TARGET
    pub fn target(&mut self, id: u32) -> Result<&mut Self, EncodeError> {
        self.w.attr_u32(attr::TARGET, id)?;
        Ok(self)
    }

    /// ACTIVE
    pub fn active(&mut self, v: u8) -> Result<&mut Self, EncodeError> {
        self.w.attr_u8(attr::ACTIVE, v)?;
        Ok(self)
    }

    /// NO_REPLY
    pub fn no_reply(&mut self, v: u8) -> Result<&mut Self, EncodeError> {
        self.w.attr_u8(attr::NO_REPLY, v)?;
        Ok(self)
    }

    /// USER
    pub fn user(&mut self, user: &[u8]) -> Result<&mut Self, EncodeError> {
        self.w.attr_str(attr::USER, user)?;
        Ok(self)
    }

    /// GROUP
    pub fn group(&mut self, group: &[u8]) -> Result<&mut Self, EncodeError> {
        self.w.attr_str(attr::GROUP, group)?;
        Ok(self)
    }

    /// A nested attribute whose contents `f` writes: DATA and SIGNATURE hold blobmsg fields
    /// (the writer's `string`, `table`, …), SUBSCRIBERS plain u32 attributes.
    pub fn nested(
        &mut self,
        id: u8,
        f: impl FnOnce(&mut Writer<'b>) -> Result<(), EncodeError>,
    ) -> Result<&mut Self, EncodeError> {
        let n = self.w.nest_start(id)?;
        f(&mut self.w)?;
        self.w.nest_end(n)?;
        Ok(self)
    }

    /// DATA, a blobmsg table's contents written by `f` (`{}` when it writes nothing).
    pub fn data(
        &mut self,
        f: impl FnOnce(&mut Writer<'b>) -> Result<(), EncodeError>,
    ) -> Result<&mut Self, EncodeError> {
        self.nested(attr::DATA, f)
    }

    /// SIGNATURE, written by `f` (see [`signature_method`]).
    pub fn signature(
        &mut self,
        f: impl FnOnce(&mut Writer<'b>) -> Result<(), EncodeError>,
    ) -> Result<&mut Self, EncodeError> {
        self.nested(attr::SIGNATURE, f)
    }

    /// An attribute with a raw payload (any id).
    pub fn raw(&mut self, id: u8, payload: &[u8]) -> Result<&mut Self, EncodeError> {
        self.w.attr(id, payload)?;
        Ok(self)
    }

    /// Writes the root's length and the header; returns the message length.
    pub fn finish(self) -> Result<usize, EncodeError> {
        let MessageWriter { mut w, root, header } = self;
        w.nest_end(root)?;
        let len = w.len();
        if blob::pad(len.saturating_sub(HEADER_LEN)) > MAX_BLOB_LEN {
            return Err(EncodeError::ValueTooLarge);
        }
        let out = w.buf_mut();
        if let Some(b) = out.get_mut(field::VERSION) {
            *b = header.version;
        }
        if let Some(b) = out.get_mut(field::TYPE) {
            *b = header.kind.code();
        }
        out.get_mut(field::SEQ).ok_or(EncodeError::BufferTooSmall)?.copy_from_slice(&header.seq.to_be_bytes());
        out.get_mut(field::PEER).ok_or(EncodeError::BufferTooSmall)?.copy_from_slice(&header.peer.to_be_bytes());
        Ok(len)
    }
}

/// One method of an object's SIGNATURE: a table `name` of argument name → blobmsg type code
/// (int32), as libubus writes it for `ubus_add_object`.
pub fn signature_method(w: &mut Writer<'_>, name: &[u8], args: &[(&[u8], Type)]) -> Result<(), EncodeError> {
    w.table(name, |w| args.iter().try_for_each(|(arg, t)| w.int32(arg, t.code().into())))
}

/// LOOKUP of one object path (header peer 0). ubusd answers DATA per object, then STATUS.
pub fn lookup(buf: &mut [u8], seq: u16, path: &[u8]) -> Result<usize, EncodeError> {
    let mut m = MessageWriter::new(buf, MessageType::Lookup, seq, 0)?;
    m.objpath(path)?;
    m.finish()
}

/// INVOKE `method` of object `objid` with the arguments `args` writes (DATA is always sent,
/// `{}` when empty, as libubus does).
pub fn invoke(
    buf: &mut [u8],
    seq: u16,
    objid: u32,
    method: &[u8],
    args: impl FnOnce(&mut Writer<'_>) -> Result<(), EncodeError>,
) -> Result<usize, EncodeError> {
    let mut m = MessageWriter::new(buf, MessageType::Invoke, seq, objid)?;
    m.objid(objid)?.method(method)?.data(args)?;
    m.finish()
}

/// One method of an object apwatch registers: its name and its arguments' types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Method<'x> {
    /// The method's name.
    pub name: &'x [u8],
    /// Argument name → blobmsg type, in signature order.
    pub args: &'x [(&'x [u8], Type)],
}

/// ADD_OBJECT: `path` and a SIGNATURE of `methods`; `None` adds an anonymous object (no
/// attributes: what a listener or subscriber registers).
pub fn add_object(buf: &mut [u8], seq: u16, object: Option<(&[u8], &[Method<'_>])>) -> Result<usize, EncodeError> {
    let mut m = MessageWriter::new(buf, MessageType::AddObject, seq, 0)?;
    if let Some((path, methods)) = object {
        m.objpath(path)?.signature(|w| methods.iter().try_for_each(|m| signature_method(w, m.name, m.args)))?;
    }
    m.finish()
}

/// Registers listener object `objid` for events matching `pattern` (`*` for all, or a prefix
/// ending in `*`): INVOKE of ubusd's event object, method `register`.
pub fn register_event(buf: &mut [u8], seq: u16, objid: u32, pattern: &[u8]) -> Result<usize, EncodeError> {
    invoke(buf, seq, EVENT_OBJECT, b"register", |w| {
        w.int32(b"object", i32::from_ne_bytes(objid.to_ne_bytes()))?;
        w.string(b"pattern", pattern)
    })
}

/// Sends event `name` with the payload `data` writes: INVOKE of ubusd's event object, method
/// `send`, `{id: name, data: {...}}`. ubusd answers STATUS 0 at once, before delivery.
pub fn send_event(
    buf: &mut [u8],
    seq: u16,
    name: &[u8],
    data: impl FnOnce(&mut Writer<'_>) -> Result<(), EncodeError>,
) -> Result<usize, EncodeError> {
    invoke(buf, seq, EVENT_OBJECT, b"send", |w| {
        w.string(b"id", name)?;
        w.table(b"data", data)
    })
}

/// SUBSCRIBE own object `objid` to `target`'s notifications.
pub fn subscribe(buf: &mut [u8], seq: u16, objid: u32, target: u32) -> Result<usize, EncodeError> {
    let mut m = MessageWriter::new(buf, MessageType::Subscribe, seq, 0)?;
    m.objid(objid)?.target(target)?;
    m.finish()
}

/// The STATUS that ends an answer to an INVOKE of own object `objid` (`peer` = the caller's
/// client id from the INVOKE, `seq` its seq), as libubus sends it: STATUS, then OBJID.
pub fn reply_status(buf: &mut [u8], seq: u16, peer: u32, objid: u32, status: Status) -> Result<usize, EncodeError> {
    let mut m = MessageWriter::new(buf, MessageType::Status, seq, peer)?;
    m.status(status)?.objid(objid)?;
    m.finish()
}

/// The DATA of an answer to an INVOKE of own object `objid`: OBJID, then DATA as `data` writes
/// it. [`reply_status`] follows it.
pub fn reply_data(
    buf: &mut [u8],
    seq: u16,
    peer: u32,
    objid: u32,
    data: impl FnOnce(&mut Writer<'_>) -> Result<(), EncodeError>,
) -> Result<usize, EncodeError> {
    let mut m = MessageWriter::new(buf, MessageType::Data, seq, peer)?;
    m.objid(objid)?.data(data)?;
    m.finish()
}

/// The arguments of netifd's `add_device` / `remove_device`: `name`, `link-ext` when given,
/// and `vlan` as netifd's bridge parses it: `["<vid>:u*"]` (untagged, PVID).
pub fn device_args(
    w: &mut Writer<'_>,
    dev: &[u8],
    link_ext: Option<bool>,
    vlan: Option<u16>,
) -> Result<(), EncodeError> {
    w.string(b"name", dev)?;
    if let Some(ext) = link_ext {
        w.bool(b"link-ext", ext)?;
    }
    if let Some(vid) = vlan {
        let mut text: heapless::Vec<u8, 8> = heapless::Vec::new();
        let mut digits = [0u8; 5];
        let mut n = 0;
        let mut v = vid;
        loop {
            if let Some(d) = digits.get_mut(n) {
                *d = b'0' + (v % 10) as u8;
            }
            n += 1;
            v /= 10;
            if v == 0 || n == digits.len() {
                break;
            }
        }
        for d in digits.iter().take(n).rev() {
            text.push(*d).map_err(|_| EncodeError::ValueTooLarge)?;
        }
        text.extend_from_slice(b":u*").map_err(|_| EncodeError::ValueTooLarge)?;
        w.array(b"vlan", |w| w.string(b"", &text))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blob::{Field, Value};
    use proptest::prelude::*;
    use std::format;
    use std::string::String;
    use std::vec::Vec;

    /// Every recorded capture (copied from the shared set into tests/data/ubus).
    const CAPTURES: [(&str, &str); 14] = [
        ("01", include_str!("../../tests/data/ubus/01-hello.txt")),
        ("02", include_str!("../../tests/data/ubus/02-add_device.txt")),
        ("03", include_str!("../../tests/data/ubus/03-remove_device.txt")),
        ("04", include_str!("../../tests/data/ubus/04-status.txt")),
        ("05", include_str!("../../tests/data/ubus/05-error-no-such-interface.txt")),
        ("06", include_str!("../../tests/data/ubus/06-error-not-a-bridge.txt")),
        ("07", include_str!("../../tests/data/ubus/07-other-status.txt")),
        ("08", include_str!("../../tests/data/ubus/08-event-send-listen.txt")),
        ("09", include_str!("../../tests/data/ubus/09-netifd-start-events.txt")),
        ("10", include_str!("../../tests/data/ubus/10-netifd-restart-events.txt")),
        ("11", include_str!("../../tests/data/ubus/11-netifd-notify-subscriber.txt")),
        ("12", include_str!("../../tests/data/ubus/12-hostapd-object-server.txt")),
        ("13", include_str!("../../tests/data/ubus/13-hostapd-subscriber.txt")),
        ("14", include_str!("../../tests/data/ubus/14-hostapd-call.txt")),
    ];

    struct Recorded {
        /// Sent by the client (`C>S`).
        from_client: bool,
        bytes: Vec<u8>,
        /// The recorder's decoding, without time and annotations.
        decoded: String,
        /// The `## ` line of the connection it belongs to.
        conn: String,
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    fn recorded(text: &str) -> Vec<Recorded> {
        let mut out: Vec<Recorded> = Vec::new();
        let mut conn = String::new();
        for line in text.lines() {
            if let Some(c) = line.strip_prefix("## ") {
                conn = c.into();
            } else if let Some(h) = line.strip_prefix("C>S ").or(line.strip_prefix("S>C ")) {
                let from_client = line.starts_with("C>S");
                out.push(Recorded { from_client, bytes: hex(h), decoded: String::new(), conn: conn.clone() });
            } else if let Some(d) = line.strip_prefix("#   +") {
                let d = d.split_once(" ms  ").unwrap().1;
                let d = d.split("   [").next().unwrap();
                out.last_mut().unwrap().decoded = d.into();
            }
        }
        out
    }

    /// The `n`th message of the connection whose `## ` line contains `conn`.
    fn msg(file: &str, conn: &str, n: usize) -> &'static [u8] {
        let text = CAPTURES.iter().find(|(f, _)| *f == file).unwrap().1;
        recorded(text).into_iter().filter(|r| r.conn.contains(conn)).nth(n).unwrap().bytes.leak()
    }

    /// The first message of `file` whose recorded decoding contains `needle`.
    fn find(file: &str, needle: &str) -> &'static [u8] {
        let text = CAPTURES.iter().find(|(f, _)| *f == file).unwrap().1;
        recorded(text).into_iter().find(|r| r.decoded.contains(needle)).unwrap().bytes.leak()
    }

    fn type_name(t: MessageType) -> &'static str {
        match t {
            MessageType::Hello => "HELLO",
            MessageType::Status => "STATUS",
            MessageType::Data => "DATA",
            MessageType::Ping => "PING",
            MessageType::Lookup => "LOOKUP",
            MessageType::Invoke => "INVOKE",
            MessageType::AddObject => "ADD_OBJECT",
            MessageType::RemoveObject => "REMOVE_OBJECT",
            MessageType::Subscribe => "SUBSCRIBE",
            MessageType::Unsubscribe => "UNSUBSCRIBE",
            MessageType::Notify => "NOTIFY",
            MessageType::Monitor => "MONITOR",
            MessageType::Unknown(_) => "UNKNOWN",
        }
    }

    fn attr_name(id: u8) -> &'static str {
        ["UNSPEC", "STATUS", "OBJPATH", "OBJID", "METHOD", "OBJTYPE", "SIGNATURE", "DATA", "TARGET", "ACTIVE"]
            .get(usize::from(id))
            .copied()
            .unwrap_or(match id {
                10 => "NO_REPLY",
                11 => "SUBSCRIBERS",
                12 => "USER",
                13 => "GROUP",
                _ => "?",
            })
    }

    fn quoted(s: &[u8]) -> String {
        format!("\"{}\"", std::str::from_utf8(s).unwrap())
    }

    fn render_value(v: &Value) -> String {
        match v {
            Value::String(s) => quoted(s),
            Value::Int32(n) => format!("{n}(i32)"),
            Value::Int8(n) => format!("{}(i8:{n})", *n != 0),
            Value::Table(t) => render_table(t),
            Value::Array(a) => {
                let items: Vec<String> = a.clone().map(|f| render_value(&f.unwrap().value)).collect();
                format!("[{}]", items.join(","))
            }
            other => panic!("no such value in the captures: {other:?}"),
        }
    }

    fn render_table(t: &Fields) -> String {
        let items: Vec<String> =
            t.clone().map(Result::unwrap).map(|f| format!("{}:{}", quoted(f.name), render_value(&f.value))).collect();
        format!("{{{}}}", items.join(","))
    }

    /// Renders a message the way the recorder's decoder wrote it in the capture files.
    fn render(m: &Message, len: usize) -> String {
        let h = m.header;
        let mut attrs = Vec::new();
        for (raw, a) in Attrs::new(m.attr_bytes()).map(Result::unwrap).zip(m.attrs()) {
            let value = match a {
                Attr::Status(s) => format!("{} ({})", s.code(), s.name()),
                Attr::ObjPath(s) | Attr::Method(s) | Attr::User(s) | Attr::Group(s) => quoted(s),
                Attr::ObjId(n) | Attr::ObjType(n) | Attr::Target(n) => format!("0x{n:08x}"),
                Attr::Active(n) | Attr::NoReply(n) => format!("{n}"),
                Attr::Data(f) | Attr::Signature(f) => render_table(&f),
                Attr::Subscribers(s) => {
                    let ids: Vec<String> =
                        s.map(Result::unwrap).map(|a| format!("<id{} 0x{:08x}>", a.id(), a.u32().unwrap())).collect();
                    format!("{{{}}}", ids.join(","))
                }
                Attr::Unknown { .. } => panic!("no unknown attributes in the captures"),
            };
            attrs.push(format!("{}({},len {})={value}", attr_name(raw.id()), raw.id(), raw.raw_len()));
        }
        let attrs = if attrs.is_empty() { "(no attributes)".into() } else { attrs.join(" ") };
        format!(
            "{}({}) v{} seq={} peer=0x{:08x} len={len} | {attrs}",
            type_name(h.kind),
            h.kind.code(),
            h.version,
            h.seq,
            h.peer
        )
    }

    fn reencode_fields(w: &mut Writer, fields: &Fields) -> Result<(), EncodeError> {
        for f in fields.clone() {
            let f: Field = f.unwrap();
            match &f.value {
                Value::Table(t) => w.table(f.name, |w| reencode_fields(w, t))?,
                Value::Array(a) => w.array(f.name, |w| reencode_fields(w, a))?,
                v => w.value(f.name, v)?,
            }
        }
        Ok(())
    }

    /// Re-encodes a decoded message from its typed attributes through the writers.
    fn reencode(m: &Message, buf: &mut [u8]) -> usize {
        let mut w = MessageWriter::new(buf, m.header.kind, m.header.seq, m.header.peer).unwrap();
        for a in m.attrs() {
            match a {
                Attr::Status(s) => w.status(s),
                Attr::ObjPath(s) => w.objpath(s),
                Attr::ObjId(n) => w.objid(n),
                Attr::Method(s) => w.method(s),
                Attr::ObjType(n) => w.objtype(n),
                Attr::Signature(f) => w.signature(|w| reencode_fields(w, &f)),
                Attr::Data(f) => w.data(|w| reencode_fields(w, &f)),
                Attr::Target(n) => w.target(n),
                Attr::Active(n) => w.active(n),
                Attr::NoReply(n) => w.no_reply(n),
                Attr::Subscribers(s) => {
                    w.nested(attr::SUBSCRIBERS, |w| s.map(Result::unwrap).try_for_each(|a| w.attr(a.id(), a.payload())))
                }
                Attr::User(s) => w.user(s),
                Attr::Group(s) => w.group(s),
                Attr::Unknown { id, payload } => w.raw(id, payload),
            }
            .unwrap();
        }
        w.finish().unwrap()
    }

    #[test]
    fn every_recorded_message_decodes_exactly_and_re_encodes_byte_for_byte() {
        let mut total = 0;
        for (file, text) in CAPTURES {
            let msgs = recorded(text);
            assert!(!msgs.is_empty(), "{file}");
            for r in msgs {
                let b = &r.bytes;
                assert_eq!(frame_len(b), Ok(b.len()), "{file}: {}", r.decoded);
                let p = Packet::new_checked(&b[..]).unwrap();
                assert_eq!(p.total_len(), b.len());
                let (m, rest) = Message::parse(b).unwrap();
                assert!(rest.is_empty());
                assert_eq!(m.header, p.header());
                assert_eq!(render(&m, b.len()), r.decoded, "{file}");
                let mut out = std::vec![0u8; b.len() + 16];
                let n = reencode(&m, &mut out);
                assert_eq!(&out[..n], &b[..], "{file}: {}", r.decoded);
                assert_eq!(m.buffer_len(), b.len());
                let n = m.emit(&mut out).unwrap();
                assert_eq!(&out[..n], &b[..]);
                total += 1;
            }
        }
        assert_eq!(total, 425, "every message line of the 14 files");
    }

    #[test]
    fn a_recorded_stream_splits_into_whole_messages() {
        // the listener's connection of 09, back to back as ubusd wrote it
        let stream: Vec<u8> = recorded(CAPTURES[8].1)
            .into_iter()
            .filter(|r| r.conn.contains("conn 1 ") && !r.from_client)
            .flat_map(|r| r.bytes)
            .collect();
        let mut rest = &stream[..];
        let mut names = Vec::new();
        while !rest.is_empty() {
            let (m, r) = Message::parse(rest).unwrap();
            if let Ok(inv) = Invoke::parse(&m) {
                names.push(std::str::from_utf8(inv.method).unwrap());
            }
            rest = r;
        }
        assert_eq!(names.iter().filter(|n| **n == "ubus.object.add").count(), 8);
        assert_eq!(names.iter().filter(|n| **n == "network.interface").count(), 4);
        // every cut short of the whole first message says Truncated, never more
        for cut in 0..12 {
            assert_eq!(frame_len(&stream[..cut]), Err(Error::Truncated));
        }
        let first = frame_len(&stream).unwrap();
        for cut in 12..first {
            assert_eq!(Message::parse(&stream[..cut]).err(), Some(Error::Truncated));
        }
    }

    #[test]
    fn the_clients_requests_encode_as_recorded() {
        let mut buf = [0u8; 512];
        let guest = 0x6a14_ba8c;
        // what a test peer sends first: HELLO with the client id, no attributes
        let n = MessageWriter::new(&mut buf, MessageType::Hello, 0, 0x17d4_e333).unwrap().finish().unwrap();
        assert_eq!(&buf[..n], msg("02", "client", 0));
        let n = lookup(&mut buf, 1, b"network.interface.guest").unwrap();
        assert_eq!(&buf[..n], msg("02", "client", 1));
        let n = invoke(&mut buf, 2, guest, b"add_device", |w| device_args(w, b"veth0", Some(true), None)).unwrap();
        assert_eq!(&buf[..n], msg("02", "client", 4));
        let n = invoke(&mut buf, 2, guest, b"remove_device", |w| device_args(w, b"veth0", None, None)).unwrap();
        assert_eq!(&buf[..n], msg("03", "client", 4));
        let n = invoke(&mut buf, 2, guest, b"status", |_| Ok(())).unwrap();
        assert_eq!(&buf[..n], msg("04", "client", 4));
        let n =
            invoke(&mut buf, 2, 0xe621_4cf6, b"add_device", |w| device_args(w, b"veth0", Some(true), None)).unwrap();
        assert_eq!(&buf[..n], msg("06", "client", 4));
        // events: a listener's anonymous object, its registration, its answer to a delivery
        let n = add_object(&mut buf, 1, None).unwrap();
        assert_eq!(&buf[..n], msg("08", "listener", 1));
        let n = register_event(&mut buf, 2, 0x7281_abea, b"apwatch.ap").unwrap();
        assert_eq!(&buf[..n], msg("08", "listener", 4));
        let n = reply_status(&mut buf, 19, 0, 0x7281_abea, Status::Ok).unwrap();
        assert_eq!(&buf[..n], msg("08", "listener", 7));
        let n = register_event(&mut buf, 2, 0xcb2e_5464, b"*").unwrap();
        assert_eq!(&buf[..n], msg("09", "listener", 4));
        let n = register_event(&mut buf, 6, 0x0513_58c6, b"ubus.object.add").unwrap();
        assert_eq!(&buf[..n], msg("09", "netifd", 16));
        // sending one
        let n = send_event(&mut buf, 1, b"apwatch.ap", |w| {
            w.string(b"ifname", b"wlan0")?;
            w.string(b"ssid", b"foo")?;
            w.bool(b"up", true)
        })
        .unwrap();
        assert_eq!(&buf[..n], msg("08", "sender", 1));
        // an object with a method and its answers
        let bss_info = Method { name: b"bss_info", args: &[(b"iface", Type::String)] };
        let n = add_object(&mut buf, 1, Some((b"hostapd", &[bss_info]))).unwrap();
        assert_eq!(&buf[..n], msg("12", "object server", 1));
        let n = reply_data(&mut buf, 2, 0xca3f_2777, 0xdece_f44e, |w| {
            w.string(b"iface", b"wlan0")?;
            w.string(b"ssid", b"foo")?;
            w.bool(b"up", true)?;
            w.int32(b"freq", 2412)?;
            w.array(b"stations", |w| w.string(b"", b"aa:bb:cc:dd:ee:01"))
        })
        .unwrap();
        assert_eq!(&buf[..n], msg("12", "object server", 9));
        let n = reply_status(&mut buf, 2, 0xca3f_2777, 0xdece_f44e, Status::Ok).unwrap();
        assert_eq!(&buf[..n], msg("12", "object server", 10));
        // netifd's own: NOT_SUPPORTED from the plain interface, a subscription
        let n = reply_status(&mut buf, 2, 0x8277_a06b, 0xe621_4cf6, Status::NotSupported).unwrap();
        assert_eq!(&buf[..n], msg("06", "server", 1));
        let n = subscribe(&mut buf, 3, 0x6db9_a6f4, 0xdece_f44e).unwrap();
        assert_eq!(&buf[..n], msg("13", "subscriber", 7));
        // a lookup of everything has no OBJPATH
        let n = MessageWriter::new(&mut buf, MessageType::Lookup, 7, 0).unwrap().finish().unwrap();
        assert_eq!(&buf[..n], msg("09", "netifd", 18));
    }

    #[test]
    fn hostapds_notifications_and_bss_info_as_recorded() {
        // the notification as the subscriber gets it (an INVOKE of its own object)
        let (m, _) = Message::parse(msg("13", "subscriber", 9)).unwrap();
        let inv = Invoke::parse(&m).unwrap();
        let n = BssNotice::parse(inv.method, &inv.data.unwrap()).unwrap();
        assert_eq!(n, Some(BssNotice { change: BssChange::Add, ifname: b"wlan0" }));
        // bss_info's answer: the SSID, raw
        let (m, _) = Message::parse(msg("14", "server", 1)).unwrap();
        let info = BssInfo::parse(&m.data().unwrap()).unwrap();
        assert_eq!(info.ssid.map(|s| s.as_bytes()), Some(&b"foo"[..]));
        // the request's arguments, byte for byte
        let mut buf = [0u8; 128];
        let n = invoke(&mut buf, 2, 0xdece_f44e, b"bss_info", |w| bss_info_args(w, b"wlan0")).unwrap();
        assert_eq!(&buf[..n], msg("14", "client", 4));
    }

    #[test]
    fn hostapds_notices_checked() {
        let mut buf = [0u8; 256];
        let mut table = |f: &dyn Fn(&mut Writer<'_>) -> Result<(), EncodeError>| {
            let mut w = Writer::new(&mut buf);
            f(&mut w).unwrap();
            let n = w.len();
            buf[..n].to_vec()
        };
        let named = table(&|w| w.string(b"name", b"wlan1-1"));
        let reload = table(&|w| {
            w.string(b"name", b"wlan1")?;
            w.bool(b"reconf", true)
        });
        let nameless = table(&|w| w.bool(b"reconf", false));
        let int_name = table(&|w| w.int32(b"name", 1));
        assert_eq!(
            BssNotice::parse(b"bss.remove", &Fields::new(&named)),
            Ok(Some(BssNotice { change: BssChange::Remove, ifname: b"wlan1-1" }))
        );
        assert_eq!(
            BssNotice::parse(b"bss.reload", &Fields::new(&reload)),
            Ok(Some(BssNotice { change: BssChange::Reload, ifname: b"wlan1" }))
        );
        assert_eq!(BssNotice::parse(b"sta_auth", &Fields::new(&named)), Ok(None));
        assert!(BssNotice::parse(b"bss.add", &Fields::new(&nameless)).is_err());
        assert!(BssNotice::parse(b"bss.add", &Fields::new(&int_name)).is_err());
        // SSIDs are bytes: not UTF-8 is fine, empty is none, 33 bytes is refused
        let odd = table(&|w| w.string(b"ssid", b"\xff\x00caf\xc3"));
        assert_eq!(
            BssInfo::parse(&Fields::new(&odd)).unwrap().ssid.map(|s| s.as_bytes()),
            Some(&b"\xff\x00caf\xc3"[..])
        );
        let empty = table(&|w| w.string(b"ssid", b""));
        assert_eq!(BssInfo::parse(&Fields::new(&empty)), Ok(BssInfo { ssid: None }));
        let none = table(&|w| w.string(b"bssid", b"02:00:00:00:00:00"));
        assert_eq!(BssInfo::parse(&Fields::new(&none)), Ok(BssInfo { ssid: None }));
        let long = table(&|w| w.string(b"ssid", &[b'x'; 33]));
        assert_eq!(BssInfo::parse(&Fields::new(&long)), Err(Error::BadSsid));
    }

    #[test]
    fn vlan_arguments_are_what_netifds_bridge_parses() {
        let mut buf = [0u8; 128];
        let mut w = Writer::new(&mut buf);
        device_args(&mut w, b"wlan0", Some(false), Some(4094)).unwrap();
        let n = w.len();
        let t = Fields::new(&buf[..n]);
        assert_eq!(t.get_str(b"name"), Ok(Some(&b"wlan0"[..])));
        assert_eq!(t.get_bool(b"link-ext"), Ok(Some(false)));
        let vlans: Vec<Field> = t.get_array(b"vlan").unwrap().unwrap().map(Result::unwrap).collect();
        assert_eq!(vlans, [Field { name: b"", value: Value::String(b"4094:u*") }]);
        let mut w = Writer::new(&mut buf);
        device_args(&mut w, b"wlan0", None, Some(7)).unwrap();
        let n = w.len();
        let v = Fields::new(&buf[..n]).get_array(b"vlan").unwrap().unwrap().next().unwrap().unwrap();
        assert_eq!(v.value, Value::String(b"7:u*"));
    }

    #[test]
    fn typed_views_of_recorded_replies() {
        // hello: the client id is the header's peer
        let (m, _) = Message::parse(msg("02", "client", 0)).unwrap();
        assert_eq!((m.header.kind, m.header.seq, m.header.peer), (MessageType::Hello, 0, 0x17d4_e333));
        assert_eq!(m.attrs().count(), 0);
        // a lookup result
        let (m, _) = Message::parse(msg("02", "client", 2)).unwrap();
        let o = ObjectInfo::parse(&m).unwrap();
        assert_eq!((o.path, o.id, o.type_id), (Some(&b"network.interface.guest"[..]), 0x6a14_ba8c, Some(0x1b70_630d)));
        let sig = o.signature.unwrap();
        let add = sig.get_table(b"add_device").unwrap().unwrap();
        assert_eq!(add.get_i32(b"name"), Ok(Some(3)));
        assert_eq!(add.get_i32(b"vlan"), Ok(Some(1)));
        // an ADD_OBJECT reply, anonymous: no type
        let (m, _) = Message::parse(msg("08", "listener", 2)).unwrap();
        assert_eq!(
            ObjectInfo::parse(&m).unwrap(),
            ObjectInfo { path: None, id: 0x7281_abea, type_id: None, signature: None }
        );
        // status replies
        let (m, _) = Message::parse(msg("05", "client", 2)).unwrap();
        assert_eq!((m.status(), m.objid()), (Some(Status::NotFound), None));
        let (m, _) = Message::parse(msg("06", "client", 5)).unwrap();
        assert_eq!((m.status(), m.objid()), (Some(Status::NotSupported), Some(0xe621_4cf6)));
        assert_eq!(ObjectInfo::parse(&m), Err(Error::UnexpectedMessage));
        // interface status: bridged, and the network without device that adopted wlan0
        let (m, _) = Message::parse(msg("04", "client", 5)).unwrap();
        let s = InterfaceStatus::parse(&m.data().unwrap()).unwrap();
        let br = Some(&b"br-guest"[..]);
        assert_eq!(s, InterfaceStatus { up: true, available: true, device: br, l3_device: br });
        let (m, _) = Message::parse(find("07", "\"device\":\"wlan0\"")).unwrap();
        let s = InterfaceStatus::parse(&m.data().unwrap()).unwrap();
        assert_eq!(s, InterfaceStatus { up: false, available: false, device: Some(b"wlan0"), l3_device: None });
        // a call as the owner gets it
        let (m, _) = Message::parse(msg("02", "server", 0)).unwrap();
        let inv = Invoke::parse(&m).unwrap();
        assert_eq!((inv.seq, inv.peer, inv.objid, inv.method), (2, 0x17d4_e333, 0x6a14_ba8c, &b"add_device"[..]));
        assert_eq!(
            (inv.user, inv.group, inv.no_reply, inv.is_event()),
            (Some(&b"root"[..]), Some(&b"root"[..]), false, false)
        );
        assert_eq!(inv.data.unwrap().get_str(b"name"), Ok(Some(&b"veth0"[..])));
        // a notification forwarded to a subscriber: NO_REPLY first
        let (m, _) = Message::parse(msg("11", "subscriber", 9)).unwrap();
        let inv = Invoke::parse(&m).unwrap();
        assert!(inv.no_reply);
        assert_eq!(inv.method, b"interface.update");
        // events
        let (m, _) = Message::parse(find("10", "\"id\":1779743372(i32),\"path\":\"network.interface.guest\"")).unwrap();
        let inv = Invoke::parse(&m).unwrap();
        assert!(inv.is_event());
        let e = ObjectEvent::parse(inv.method, inv.data.as_ref().unwrap()).unwrap().unwrap();
        assert_eq!(e, ObjectEvent { added: false, id: 1_779_743_372, path: b"network.interface.guest" });
        let (m, _) = Message::parse(find("09", "\"id\":-434025226(i32)")).unwrap();
        let inv = Invoke::parse(&m).unwrap();
        let e = ObjectEvent::parse(inv.method, inv.data.as_ref().unwrap()).unwrap().unwrap();
        assert_eq!(e, ObjectEvent { added: true, id: 0xe621_4cf6, path: b"network.interface.plain" }, "negative int32");
        assert_eq!(InterfaceEvent::parse(inv.method, inv.data.as_ref().unwrap()), Ok(None));
        let (m, _) = Message::parse(find(
            "09",
            "=\"network.interface\" DATA(7,len 52)={\"action\":\"ifup\",\"interface\":\"guest\"}",
        ))
        .unwrap();
        let inv = Invoke::parse(&m).unwrap();
        let e = InterfaceEvent::parse(inv.method, inv.data.as_ref().unwrap()).unwrap().unwrap();
        assert_eq!(e, InterfaceEvent { action: b"ifup", interface: b"guest" });
        assert_eq!(ObjectEvent::parse(inv.method, inv.data.as_ref().unwrap()), Ok(None));
        // ubusd telling an owner about subscribers, and the owner's notify STATUS
        let (m, _) = Message::parse(find("12", "ACTIVE(9,len 5)=1")).unwrap();
        assert_eq!((m.header.kind, m.objid(), m.active()), (MessageType::Notify, Some(0xdece_f44e), Some(true)));
        let (m, _) = Message::parse(find("12", "SUBSCRIBERS")).unwrap();
        let ids: Vec<u32> = m.subscribers().unwrap().map(Result::unwrap).collect();
        assert_eq!(ids, [0x6db9_a6f4]);
    }

    #[test]
    fn malformed_messages_are_errors() {
        let good = msg("02", "client", 5); // STATUS 0, OBJID
        assert!(Message::parse(good).is_ok());
        let mut v1 = good.to_vec();
        v1[0] = 1;
        assert_eq!(Message::parse(&v1).err(), Some(Error::UnexpectedMessage));
        let mut short_root = good.to_vec();
        short_root[11] = 3;
        assert_eq!(Message::parse(&short_root).err(), Some(Error::BadMessageLength));
        let mut huge = good.to_vec();
        huge[9..12].copy_from_slice(&[0x10, 0, 1]);
        assert_eq!(frame_len(&huge), Err(Error::BadMessageLength));
        // an OBJID of 3 bytes inside a root that is otherwise fine
        let bad_objid = [0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 11, 3, 0, 0, 7, 1, 2, 3, 0];
        assert_eq!(Message::parse(&bad_objid).err(), Some(Error::BadAttributeValue { kind: 3 }));
        // an attribute running past the root
        let past = [0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 8, 3, 0, 0, 8, 1, 2, 3, 4];
        assert_eq!(Message::parse(&past).err(), Some(Error::BadAttributeLength));
        // unknown types and ids survive
        let odd = [0, 42, 0, 2, 0, 0, 0, 9, 0, 0, 0, 12, 99, 0, 0, 8, 1, 2, 3, 4];
        let (m, _) = Message::parse(&odd).unwrap();
        assert_eq!(m.header.kind, MessageType::Unknown(42));
        assert_eq!(m.attrs().next(), Some(Attr::Unknown { id: 99, payload: &[1, 2, 3, 4] }));
        assert_eq!(Status::from(77), Status::Unknown(77));
        assert_eq!(Status::from(77).code(), 77);
        // a writer short of room
        for n in 0..40 {
            assert_eq!(lookup(&mut std::vec![0u8; n], 1, b"network.interface.guest"), Err(EncodeError::BufferTooSmall));
        }
    }

    fn attr_strategy() -> impl Strategy<Value = (u8, Vec<u8>, u32)> {
        (1u8..=13, proptest::collection::vec(1u8..=255, 0..20), any::<u32>())
    }

    proptest! {
        #[test]
        fn typed_attributes_round_trip(
            kind in any::<u8>(), seq in any::<u16>(), peer in any::<u32>(),
            attrs in proptest::collection::vec(attr_strategy(), 0..8),
        ) {
            let mut buf = std::vec![0u8; 2048];
            let mut w = MessageWriter::new(&mut buf, kind.into(), seq, peer).unwrap();
            for (id, text, n) in &attrs {
                match *id {
                    attr::STATUS => w.status((*n).into()),
                    attr::OBJPATH => w.objpath(text),
                    attr::OBJID => w.objid(*n),
                    attr::METHOD => w.method(text),
                    attr::OBJTYPE => w.objtype(*n),
                    attr::TARGET => w.target(*n),
                    attr::ACTIVE => w.active(*n as u8),
                    attr::NO_REPLY => w.no_reply(*n as u8),
                    attr::USER => w.user(text),
                    attr::GROUP => w.group(text),
                    attr::DATA => w.data(|w| w.string(b"k", text)),
                    attr::SIGNATURE => w.signature(|w| signature_method(w, text, &[(b"a", Type::Array)])),
                    _ => w.nested(attr::SUBSCRIBERS, |w| w.attr_u32(0, *n)),
                }.unwrap();
            }
            let len = w.finish().unwrap();
            let (m, rest) = Message::parse(&buf[..len]).unwrap();
            prop_assert!(rest.is_empty());
            prop_assert_eq!(m.header, Header { version: 0, kind: kind.into(), seq, peer });
            let got: Vec<Attr> = m.attrs().collect();
            prop_assert_eq!(got.len(), attrs.len());
            for (a, (id, text, n)) in got.iter().zip(&attrs) {
                let ok = match (*id, a) {
                    (attr::STATUS, Attr::Status(s)) => s.code() == *n,
                    (attr::OBJPATH, Attr::ObjPath(s)) | (attr::METHOD, Attr::Method(s))
                    | (attr::USER, Attr::User(s)) | (attr::GROUP, Attr::Group(s)) => s == &&text[..],
                    (attr::OBJID, Attr::ObjId(v)) | (attr::OBJTYPE, Attr::ObjType(v)) | (attr::TARGET, Attr::Target(v)) => v == n,
                    (attr::ACTIVE, Attr::Active(v)) | (attr::NO_REPLY, Attr::NoReply(v)) => *v == *n as u8,
                    (attr::DATA, Attr::Data(f)) => f.get_str(b"k") == Ok(Some(&text[..])),
                    (attr::SIGNATURE, Attr::Signature(f)) => f.get_table(text).unwrap().unwrap().get_i32(b"a") == Ok(Some(1)),
                    (_, Attr::Subscribers(s)) => SubscriberIds(s.clone()).map(Result::unwrap).eq([*n]),
                    _ => false,
                };
                prop_assert!(ok, "{:?} from {:?}", a, (id, text, n));
            }
        }

        #[test]
        fn arbitrary_streams_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut rest = &data[..];
            while let Ok((m, r)) = Message::parse(rest) {
                let _ = (m.status(), m.objid(), m.method(), m.no_reply(), m.attrs().count());
                let _ = (ObjectInfo::parse(&m), Invoke::parse(&m));
                if let Some(d) = m.data() {
                    let _ = (InterfaceStatus::parse(&d), d.count());
                }
                let mut out = std::vec![0u8; m.buffer_len()];
                prop_assert_eq!(m.emit(&mut out), Ok(m.buffer_len()));
                prop_assert_eq!(&out[..], &rest[..m.buffer_len()]);
                rest = r;
            }
            // a root whose id and extended bit are set (ubusd ignores them) comes back as it was
            let mut odd = [0, 1, 0, 2, 0, 0, 0, 0, 0xfc, 0, 0, 12, 3, 0, 0, 8, 1, 2, 3, 4].to_vec();
            odd.extend_from_slice(&data);
            let (m, _) = Message::parse(&odd).unwrap();
            let mut out = std::vec![0u8; m.buffer_len()];
            prop_assert_eq!(m.emit(&mut out), Ok(20));
            prop_assert_eq!(&out[..], &odd[..20]);
        }
    }
}
