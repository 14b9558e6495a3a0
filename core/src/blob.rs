//! libubox `blob` and `blobmsg`: the big-endian TLV format every ubus message is made of.
//! Checked walks over a borrowed area ([`Attrs`], [`Fields`]), typed values, and a [`Writer`].
//!
//! An attribute starts with a u32 (big-endian on every host): bit 31 "extended" (a blobmsg
//! field, which carries a name), bits 30..24 the id (for blobmsg: the [`Type`]), bits 23..0 the
//! length including the 4-byte header. The next attribute starts at that length rounded up to
//! 4, and a container's length counts its children's padding, so containers are always
//! multiples of 4 while the last child's own length need not be (what libubox writes).

use crate::{EncodeError, Error};

/// Size of `struct blob_attr`.
pub const HEADER_LEN: usize = 4;
/// BLOB_ATTR_EXTENDED: a blobmsg field with a name header.
pub const EXTENDED: u32 = 1 << 31;
/// The largest attribute length the 24-bit field can hold.
pub const MAX_LEN: usize = 0x00ff_ffff;
/// The largest id (7 bits).
pub const MAX_ID: u8 = 0x7f;

mod field {
    /// Bits of the header word.
    pub const ID_SHIFT: u32 = 24;
    pub const ID_MASK: u32 = 0x7f;
    pub const LEN_MASK: u32 = 0x00ff_ffff;
    /// The blobmsg name header: u16 name length, the name, a NUL, padding to 4.
    pub const NAME_LEN: core::ops::Range<usize> = 0..2;
    pub const NAME: usize = 2;
}

/// Rounds a length up to blob's 4-byte alignment (saturating: never overflows).
pub fn pad(len: usize) -> usize {
    len.saturating_add(3) & !3
}

/// The length of a blobmsg name header for a name of `name_len` bytes (`blobmsg_hdrlen`).
pub fn name_header_len(name_len: usize) -> usize {
    pad(field::NAME.saturating_add(name_len).saturating_add(1))
}

/// blobmsg value types (`enum blobmsg_type`), as they appear in the id bits.
pub mod kind {
    /// BLOBMSG_TYPE_UNSPEC: raw bytes.
    pub const UNSPEC: u8 = 0;
    /// BLOBMSG_TYPE_ARRAY: fields with empty names.
    pub const ARRAY: u8 = 1;
    /// BLOBMSG_TYPE_TABLE: named fields.
    pub const TABLE: u8 = 2;
    /// BLOBMSG_TYPE_STRING: bytes and a NUL.
    pub const STRING: u8 = 3;
    /// BLOBMSG_TYPE_INT64
    pub const INT64: u8 = 4;
    /// BLOBMSG_TYPE_INT32
    pub const INT32: u8 = 5;
    /// BLOBMSG_TYPE_INT16
    pub const INT16: u8 = 6;
    /// BLOBMSG_TYPE_INT8, also BLOBMSG_TYPE_BOOL.
    pub const INT8: u8 = 7;
    /// BLOBMSG_TYPE_DOUBLE: an IEEE 754 double, big-endian.
    pub const DOUBLE: u8 = 8;
}

/// A blobmsg type; ids libubox does not define survive as `Unknown`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Type {
    /// Raw bytes.
    Unspec,
    /// A list of unnamed fields.
    Array,
    /// A list of named fields.
    Table,
    /// Text (bytes) with a NUL on the wire.
    String,
    /// 64-bit integer.
    Int64,
    /// 32-bit integer.
    Int32,
    /// 16-bit integer.
    Int16,
    /// 8-bit integer; also a bool.
    Int8,
    /// A double.
    Double,
    /// Another id.
    Unknown(u8),
}

impl Type {
    /// The type code.
    pub fn code(self) -> u8 {
        match self {
            Type::Unspec => kind::UNSPEC,
            Type::Array => kind::ARRAY,
            Type::Table => kind::TABLE,
            Type::String => kind::STRING,
            Type::Int64 => kind::INT64,
            Type::Int32 => kind::INT32,
            Type::Int16 => kind::INT16,
            Type::Int8 => kind::INT8,
            Type::Double => kind::DOUBLE,
            Type::Unknown(n) => n,
        }
    }
}

impl From<u8> for Type {
    fn from(n: u8) -> Type {
        match n {
            kind::UNSPEC => Type::Unspec,
            kind::ARRAY => Type::Array,
            kind::TABLE => Type::Table,
            kind::STRING => Type::String,
            kind::INT64 => Type::Int64,
            kind::INT32 => Type::Int32,
            kind::INT16 => Type::Int16,
            kind::INT8 => Type::Int8,
            kind::DOUBLE => Type::Double,
            other => Type::Unknown(other),
        }
    }
}

/// One blob attribute: id, extended bit, and its payload (the bytes after the header, up to
/// its length; padding excluded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Attr<'a> {
    id: u8,
    extended: bool,
    payload: &'a [u8],
}

fn word(buf: &[u8]) -> Option<u32> {
    let b: [u8; 4] = buf.get(..HEADER_LEN)?.try_into().ok()?;
    Some(u32::from_be_bytes(b))
}

impl<'a> Attr<'a> {
    /// Reads the attribute at the start of `buf`; returns it and the bytes after its padding
    /// (the last attribute of an area may come without padding).
    #[inline]
    pub fn parse(buf: &'a [u8]) -> Result<(Attr<'a>, &'a [u8]), Error> {
        let w = word(buf).ok_or(Error::BadAttributeLength)?;
        let len = (w & field::LEN_MASK) as usize;
        if len < HEADER_LEN {
            return Err(Error::BadAttributeLength);
        }
        let payload = buf.get(HEADER_LEN..len).ok_or(Error::BadAttributeLength)?;
        let rest = buf.get(pad(len)..).unwrap_or(&[]);
        // id is 7 bits: the mask makes the cast lossless
        let id = ((w >> field::ID_SHIFT) & field::ID_MASK) as u8;
        Ok((Attr { id, extended: w & EXTENDED != 0, payload }, rest))
    }

    /// The id (for a blobmsg field: its type code).
    pub fn id(&self) -> u8 {
        self.id
    }

    /// Whether the extended bit is set (a blobmsg field).
    pub fn is_extended(&self) -> bool {
        self.extended
    }

    /// The payload, without header and padding.
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// The attribute's own length (header included, padding not).
    pub fn raw_len(&self) -> usize {
        self.payload.len() + HEADER_LEN
    }

    fn fixed<const N: usize>(&self) -> Result<[u8; N], Error> {
        <[u8; N]>::try_from(self.payload).map_err(|_| Error::BadAttributeValue { kind: self.id.into() })
    }

    /// A u8 payload (exactly 1 byte).
    pub fn u8(&self) -> Result<u8, Error> {
        Ok(u8::from_be_bytes(self.fixed()?))
    }

    /// A u16 payload (exactly 2 bytes).
    pub fn u16(&self) -> Result<u16, Error> {
        Ok(u16::from_be_bytes(self.fixed()?))
    }

    /// A u32 payload (exactly 4 bytes).
    pub fn u32(&self) -> Result<u32, Error> {
        Ok(u32::from_be_bytes(self.fixed()?))
    }

    /// A u64 payload (exactly 8 bytes).
    pub fn u64(&self) -> Result<u64, Error> {
        Ok(u64::from_be_bytes(self.fixed()?))
    }

    /// A string payload: must end with a NUL (as libubox checks); returns the bytes before
    /// that final NUL, so nothing is lost even if the text holds another NUL.
    pub fn cstr(&self) -> Result<&'a [u8], Error> {
        match self.payload.split_last() {
            Some((0, text)) => Ok(text),
            _ => Err(Error::BadAttributeValue { kind: self.id.into() }),
        }
    }

    /// The payload as a plain blob area.
    pub fn nested(&self) -> Attrs<'a> {
        Attrs::new(self.payload)
    }

    /// The attribute as a blobmsg field.
    pub fn field(&self) -> Result<Field<'a>, Error> {
        Field::from_attr(self)
    }
}

/// Walks a plain blob area. A malformed attribute yields one error and ends the walk.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Attrs<'a> {
    rest: &'a [u8],
}

impl<'a> Attrs<'a> {
    /// Walks `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Attrs { rest: buf }
    }

    /// The first attribute with this id (errors before it are returned).
    pub fn find(self, id: u8) -> Result<Option<Attr<'a>>, Error> {
        for a in self {
            let a = a?;
            if a.id == id {
                return Ok(Some(a));
            }
        }
        Ok(None)
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<Attr<'a>, Error>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match Attr::parse(self.rest) {
            Ok((a, rest)) => {
                self.rest = rest;
                Some(Ok(a))
            }
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

impl core::iter::FusedIterator for Attrs<'_> {}

/// A blobmsg value. Integers are signed as blobmsg_json prints them; a bool is an `Int8`
/// (any non-zero is true: netifd sends 2).
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Value<'a> {
    /// Raw bytes.
    Unspec(&'a [u8]),
    /// An array: walk its elements (their names are empty).
    Array(Fields<'a>),
    /// A table: walk or look up its named fields.
    Table(Fields<'a>),
    /// Text without the NUL that ends it on the wire.
    String(&'a [u8]),
    /// INT64
    Int64(i64),
    /// INT32
    Int32(i32),
    /// INT16
    Int16(i16),
    /// INT8 (and bool)
    Int8(i8),
    /// DOUBLE
    Double(f64),
    /// A type id libubox does not define, with its bytes.
    Unknown {
        /// The type id.
        kind: u8,
        /// The value bytes.
        data: &'a [u8],
    },
}

impl<'a> Value<'a> {
    /// Decodes the value bytes of a field of type `kind`; integer sizes are exact.
    pub fn parse(kind: u8, data: &'a [u8]) -> Result<Value<'a>, Error> {
        let bad = || Error::BadAttributeValue { kind: kind.into() };
        Ok(match kind {
            kind::UNSPEC => Value::Unspec(data),
            kind::ARRAY => Value::Array(Fields::new(data)),
            kind::TABLE => Value::Table(Fields::new(data)),
            kind::STRING => match data.split_last() {
                Some((0, text)) => Value::String(text),
                _ => return Err(bad()),
            },
            kind::INT64 => Value::Int64(i64::from_be_bytes(data.try_into().map_err(|_| bad())?)),
            kind::INT32 => Value::Int32(i32::from_be_bytes(data.try_into().map_err(|_| bad())?)),
            kind::INT16 => Value::Int16(i16::from_be_bytes(data.try_into().map_err(|_| bad())?)),
            kind::INT8 => Value::Int8(i8::from_be_bytes(data.try_into().map_err(|_| bad())?)),
            kind::DOUBLE => Value::Double(f64::from_bits(u64::from_be_bytes(data.try_into().map_err(|_| bad())?))),
            other => Value::Unknown { kind: other, data },
        })
    }

    /// The type.
    pub fn kind(&self) -> Type {
        match self {
            Value::Unspec(_) => Type::Unspec,
            Value::Array(_) => Type::Array,
            Value::Table(_) => Type::Table,
            Value::String(_) => Type::String,
            Value::Int64(_) => Type::Int64,
            Value::Int32(_) => Type::Int32,
            Value::Int16(_) => Type::Int16,
            Value::Int8(_) => Type::Int8,
            Value::Double(_) => Type::Double,
            Value::Unknown { kind, .. } => Type::Unknown(*kind),
        }
    }

    /// A string's bytes.
    pub fn as_str(&self) -> Option<&'a [u8]> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// A bool (an INT8, any non-zero true), as `blobmsg_get_bool`.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Int8(v) => Some(*v != 0),
            _ => None,
        }
    }

    /// Any integer type, widened.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Int64(v) => Some(v),
            Value::Int32(v) => Some(v.into()),
            Value::Int16(v) => Some(v.into()),
            Value::Int8(v) => Some(v.into()),
            _ => None,
        }
    }

    /// An INT32.
    pub fn as_i32(&self) -> Option<i32> {
        match self {
            Value::Int32(v) => Some(*v),
            _ => None,
        }
    }

    /// A table's fields.
    pub fn as_table(&self) -> Option<Fields<'a>> {
        match self {
            Value::Table(t) => Some(t.clone()),
            _ => None,
        }
    }

    /// An array's elements.
    pub fn as_array(&self) -> Option<Fields<'a>> {
        match self {
            Value::Array(a) => Some(a.clone()),
            _ => None,
        }
    }
}

/// One blobmsg field: a name (empty in arrays) and a value.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Field<'a> {
    /// The name (without its NUL).
    pub name: &'a [u8],
    /// The value.
    pub value: Value<'a>,
}

impl<'a> Field<'a> {
    /// Decodes a blob attribute as a blobmsg field. Without the extended bit there is no name
    /// header (libubox allows that in arrays) and the name is empty.
    pub fn from_attr(attr: &Attr<'a>) -> Result<Field<'a>, Error> {
        if !attr.extended {
            return Ok(Field { name: &[], value: Value::parse(attr.id, attr.payload)? });
        }
        let p = attr.payload;
        let len: [u8; 2] = p.get(field::NAME_LEN).ok_or(Error::BadAttributeLength)?.try_into().unwrap_or([0; 2]);
        let name_len = usize::from(u16::from_be_bytes(len));
        let name_end = field::NAME + name_len;
        let name = p.get(field::NAME..name_end).ok_or(Error::BadAttributeLength)?;
        if p.get(name_end) != Some(&0) {
            return Err(Error::BadAttributeValue { kind: attr.id.into() });
        }
        let data = p.get(name_header_len(name_len)..).ok_or(Error::BadAttributeLength)?;
        Ok(Field { name, value: Value::parse(attr.id, data)? })
    }
}

/// Walks a blobmsg area: a table's or an array's contents, or a message's DATA. A malformed
/// field yields one error and ends the walk.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Fields<'a> {
    area: &'a [u8],
    rest: &'a [u8],
}

impl<'a> Fields<'a> {
    /// Walks the area `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Fields { area: buf, rest: buf }
    }

    /// The whole area this walk covers (from its start, whatever has been walked).
    pub fn as_bytes(&self) -> &'a [u8] {
        self.area
    }

    /// Whether the area has no fields.
    pub fn is_empty(&self) -> bool {
        self.area.is_empty()
    }

    /// The value of the field called `name`; with several, the last, as `blobmsg_parse` sees
    /// it. A malformed field anywhere in the area is an error.
    pub fn get(&self, name: &[u8]) -> Result<Option<Value<'a>>, Error> {
        let mut found = None;
        for f in Fields::new(self.area) {
            let f = f?;
            if f.name == name {
                found = Some(f.value);
            }
        }
        Ok(found)
    }

    /// A string field; `None` when absent or of another type (as `blobmsg_parse` ignores it).
    pub fn get_str(&self, name: &[u8]) -> Result<Option<&'a [u8]>, Error> {
        Ok(self.get(name)?.and_then(|v| v.as_str()))
    }

    /// A bool (INT8) field.
    pub fn get_bool(&self, name: &[u8]) -> Result<Option<bool>, Error> {
        Ok(self.get(name)?.and_then(|v| v.as_bool()))
    }

    /// An INT32 field.
    pub fn get_i32(&self, name: &[u8]) -> Result<Option<i32>, Error> {
        Ok(self.get(name)?.and_then(|v| v.as_i32()))
    }

    /// A table field.
    pub fn get_table(&self, name: &[u8]) -> Result<Option<Fields<'a>>, Error> {
        Ok(self.get(name)?.and_then(|v| v.as_table()))
    }

    /// An array field.
    pub fn get_array(&self, name: &[u8]) -> Result<Option<Fields<'a>>, Error> {
        Ok(self.get(name)?.and_then(|v| v.as_array()))
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<Field<'a>, Error>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let r = Attr::parse(self.rest).and_then(|(a, rest)| Ok((a.field()?, rest)));
        match r {
            Ok((f, rest)) => {
                self.rest = rest;
                Some(Ok(f))
            }
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

impl core::iter::FusedIterator for Fields<'_> {}

/// An open container (a nested blob, a table or an array); close it with
/// [`Writer::nest_end`], innermost first.
#[must_use]
#[derive(Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Nest {
    start: usize,
}

/// Writes blob attributes and blobmsg fields into a caller's buffer, as libubox lays them
/// out: zeroed padding, containers whose length counts their children's padding. A buffer
/// that is too small is [`EncodeError::BufferTooSmall`], never a panic.
#[derive(Debug)]
pub struct Writer<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl<'b> Writer<'b> {
    /// Writes from the start of `buf`.
    pub fn new(buf: &'b mut [u8]) -> Self {
        Writer { buf, len: 0 }
    }

    /// Writes into `buf` from offset `start` (the bytes before belong to a caller's header).
    pub(crate) fn at(buf: &'b mut [u8], start: usize) -> Self {
        Writer { buf, len: start }
    }

    /// The bytes written so far (from the start of the buffer).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The written bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    pub(crate) fn buf_mut(&mut self) -> &mut [u8] {
        self.buf
    }

    /// Copies an already encoded area as it is (unpadded: it is the last thing written).
    pub(crate) fn raw_area(&mut self, data: &[u8]) -> Result<(), EncodeError> {
        self.bytes(data)
    }

    fn bytes(&mut self, data: &[u8]) -> Result<(), EncodeError> {
        let end = self.len.checked_add(data.len()).ok_or(EncodeError::BufferTooSmall)?;
        self.buf.get_mut(self.len..end).ok_or(EncodeError::BufferTooSmall)?.copy_from_slice(data);
        self.len = end;
        Ok(())
    }

    fn pad(&mut self) -> Result<(), EncodeError> {
        let end = pad(self.len);
        self.buf.get_mut(self.len..end).ok_or(EncodeError::BufferTooSmall)?.fill(0);
        self.len = end;
        Ok(())
    }

    fn header(&mut self, id: u8, extended: bool, len: usize) -> Result<(), EncodeError> {
        if id > MAX_ID || len > MAX_LEN {
            return Err(EncodeError::ValueTooLarge);
        }
        let ext = if extended { EXTENDED } else { 0 };
        // len ≤ 24 bits (checked above): the cast is lossless
        let w = ext | u32::from(id) << field::ID_SHIFT | len as u32;
        self.bytes(&w.to_be_bytes())
    }

    /// A plain attribute with a raw payload.
    pub fn attr(&mut self, id: u8, payload: &[u8]) -> Result<(), EncodeError> {
        self.header(id, false, payload.len().saturating_add(HEADER_LEN))?;
        self.bytes(payload)?;
        self.pad()
    }

    /// A plain u8 attribute.
    pub fn attr_u8(&mut self, id: u8, v: u8) -> Result<(), EncodeError> {
        self.attr(id, &[v])
    }

    /// A plain u32 attribute.
    pub fn attr_u32(&mut self, id: u8, v: u32) -> Result<(), EncodeError> {
        self.attr(id, &v.to_be_bytes())
    }

    /// A plain string attribute (the bytes and a NUL).
    pub fn attr_str(&mut self, id: u8, s: &[u8]) -> Result<(), EncodeError> {
        self.header(id, false, s.len().saturating_add(HEADER_LEN + 1))?;
        self.bytes(s)?;
        self.bytes(&[0])?;
        self.pad()
    }

    /// Opens a plain nested attribute (UBUS_ATTR_DATA and the like).
    pub fn nest_start(&mut self, id: u8) -> Result<Nest, EncodeError> {
        let start = self.len;
        self.header(id, false, HEADER_LEN)?;
        Ok(Nest { start })
    }

    /// Closes a container opened by [`Writer::nest_start`], [`Writer::table_start`] or
    /// [`Writer::array_start`]: writes its length.
    pub fn nest_end(&mut self, nest: Nest) -> Result<(), EncodeError> {
        let len = self.len.checked_sub(nest.start).ok_or(EncodeError::BufferTooSmall)?;
        if len > MAX_LEN {
            return Err(EncodeError::ValueTooLarge);
        }
        let end = nest.start.checked_add(HEADER_LEN).ok_or(EncodeError::BufferTooSmall)?;
        let field = self.buf.get_mut(nest.start..end).ok_or(EncodeError::BufferTooSmall)?;
        let old = word(field).ok_or(EncodeError::BufferTooSmall)?;
        // len ≤ 24 bits (checked above): the cast is lossless
        let w = (old & !field::LEN_MASK) | len as u32;
        field.copy_from_slice(&w.to_be_bytes());
        Ok(())
    }

    fn name(&mut self, name: &[u8]) -> Result<(), EncodeError> {
        let n = u16::try_from(name.len()).map_err(|_| EncodeError::ValueTooLarge)?;
        self.bytes(&n.to_be_bytes())?;
        self.bytes(name)?;
        self.bytes(&[0])?;
        self.pad()
    }

    fn field_header(&mut self, kind: u8, name: &[u8], value_len: usize) -> Result<(), EncodeError> {
        let len = HEADER_LEN.saturating_add(name_header_len(name.len())).saturating_add(value_len);
        self.header(kind, true, len)?;
        self.name(name)
    }

    /// A blobmsg field of type `kind` with raw value bytes. For a table or an array the bytes
    /// are its (already encoded) contents, e.g. [`Fields::as_bytes`] of a decoded one.
    pub fn field(&mut self, kind: Type, name: &[u8], value: &[u8]) -> Result<(), EncodeError> {
        self.field_header(kind.code(), name, value.len())?;
        self.bytes(value)?;
        self.pad()
    }

    /// A string field (the bytes and a NUL).
    pub fn string(&mut self, name: &[u8], value: &[u8]) -> Result<(), EncodeError> {
        self.field_header(kind::STRING, name, value.len().saturating_add(1))?;
        self.bytes(value)?;
        self.bytes(&[0])?;
        self.pad()
    }

    /// A bool field (INT8 0 or 1, as `blobmsg_add_u8`).
    pub fn bool(&mut self, name: &[u8], value: bool) -> Result<(), EncodeError> {
        self.int8(name, value.into())
    }

    /// An INT8 field.
    pub fn int8(&mut self, name: &[u8], value: i8) -> Result<(), EncodeError> {
        self.field(Type::Int8, name, &value.to_be_bytes())
    }

    /// An INT16 field.
    pub fn int16(&mut self, name: &[u8], value: i16) -> Result<(), EncodeError> {
        self.field(Type::Int16, name, &value.to_be_bytes())
    }

    /// An INT32 field.
    pub fn int32(&mut self, name: &[u8], value: i32) -> Result<(), EncodeError> {
        self.field(Type::Int32, name, &value.to_be_bytes())
    }

    /// An INT64 field.
    pub fn int64(&mut self, name: &[u8], value: i64) -> Result<(), EncodeError> {
        self.field(Type::Int64, name, &value.to_be_bytes())
    }

    /// A DOUBLE field.
    pub fn double(&mut self, name: &[u8], value: f64) -> Result<(), EncodeError> {
        self.field(Type::Double, name, &value.to_bits().to_be_bytes())
    }

    /// An UNSPEC field with raw bytes.
    pub fn unspec(&mut self, name: &[u8], value: &[u8]) -> Result<(), EncodeError> {
        self.field(Type::Unspec, name, value)
    }

    /// A field holding a decoded value as it was (tables and arrays copied as their bytes).
    pub fn value(&mut self, name: &[u8], value: &Value<'_>) -> Result<(), EncodeError> {
        match value {
            Value::Unspec(b) => self.unspec(name, b),
            Value::Array(a) => self.field(Type::Array, name, a.as_bytes()),
            Value::Table(t) => self.field(Type::Table, name, t.as_bytes()),
            Value::String(s) => self.string(name, s),
            Value::Int64(v) => self.int64(name, *v),
            Value::Int32(v) => self.int32(name, *v),
            Value::Int16(v) => self.int16(name, *v),
            Value::Int8(v) => self.int8(name, *v),
            Value::Double(v) => self.double(name, *v),
            Value::Unknown { kind, data } => self.field(Type::Unknown(*kind), name, data),
        }
    }

    /// Opens a table field; its children are named fields.
    pub fn table_start(&mut self, name: &[u8]) -> Result<Nest, EncodeError> {
        let start = self.len;
        self.field_header(kind::TABLE, name, 0)?;
        Ok(Nest { start })
    }

    /// Opens an array field; give its elements empty names.
    pub fn array_start(&mut self, name: &[u8]) -> Result<Nest, EncodeError> {
        let start = self.len;
        self.field_header(kind::ARRAY, name, 0)?;
        Ok(Nest { start })
    }

    /// A table field whose contents `f` writes.
    pub fn table(
        &mut self,
        name: &[u8],
        f: impl FnOnce(&mut Self) -> Result<(), EncodeError>,
    ) -> Result<(), EncodeError> {
        let n = self.table_start(name)?;
        f(self)?;
        self.nest_end(n)
    }

    /// An array field whose elements `f` writes (with empty names).
    pub fn array(
        &mut self,
        name: &[u8],
        f: impl FnOnce(&mut Self) -> Result<(), EncodeError>,
    ) -> Result<(), EncodeError> {
        let n = self.array_start(name)?;
        f(self)?;
        self.nest_end(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    /// `{"name":"veth0","link-ext":true}` as the `ubus` CLI sent it (02-add_device.txt).
    const ADD_DEVICE_ARGS: [u8; 40] = [
        0x83, 0x00, 0x00, 0x12, 0x00, 0x04, b'n', b'a', b'm', b'e', 0x00, 0x00, b'v', b'e', b't', b'h', b'0', 0x00,
        0x00, 0x00, 0x87, 0x00, 0x00, 0x11, 0x00, 0x08, b'l', b'i', b'n', b'k', b'-', b'e', b'x', b't', 0x00, 0x00,
        0x01, 0x00, 0x00, 0x00,
    ];

    #[test]
    fn decodes_and_re_encodes_recorded_arguments() {
        let fields: Vec<Field> = Fields::new(&ADD_DEVICE_ARGS).map(Result::unwrap).collect();
        assert_eq!(fields.len(), 2);
        assert_eq!(fields[0], Field { name: b"name", value: Value::String(b"veth0") });
        assert_eq!(fields[1], Field { name: b"link-ext", value: Value::Int8(1) });
        let t = Fields::new(&ADD_DEVICE_ARGS);
        assert_eq!(t.get_str(b"name"), Ok(Some(&b"veth0"[..])));
        assert_eq!(t.get_bool(b"link-ext"), Ok(Some(true)));
        assert_eq!(t.get_bool(b"name"), Ok(None), "a field of another type is not there");
        assert_eq!(t.get(b"vlan"), Ok(None));
        let mut buf = [0xaa; 64];
        let mut w = Writer::new(&mut buf);
        w.string(b"name", b"veth0").unwrap();
        w.bool(b"link-ext", true).unwrap();
        assert_eq!(w.as_bytes(), &ADD_DEVICE_ARGS[..]);
    }

    #[test]
    fn nested_containers_count_padding_and_arrays_have_empty_names() {
        let mut buf = [0u8; 128];
        let mut w = Writer::new(&mut buf);
        w.table(b"t", |w| {
            w.array(b"a", |w| {
                w.string(b"", b"x")?;
                w.int32(b"", -2)
            })?;
            w.int8(b"b", 2)
        })
        .unwrap();
        let len = w.len();
        assert_eq!(len % 4, 0);
        let (a, rest) = Attr::parse(&buf[..len]).unwrap();
        assert!(rest.is_empty());
        assert_eq!(a.raw_len(), len, "the outer length counts every child's padding");
        let f = a.field().unwrap();
        assert_eq!(f.name, b"t");
        let t = f.value.as_table().unwrap();
        assert_eq!(t.get_bool(b"b"), Ok(Some(true)), "2 is true, as netifd sends it");
        assert_eq!(t.get(b"b"), Ok(Some(Value::Int8(2))));
        let arr: Vec<Field> = t.get_array(b"a").unwrap().unwrap().map(Result::unwrap).collect();
        assert_eq!(
            arr,
            [Field { name: b"", value: Value::String(b"x") }, Field { name: b"", value: Value::Int32(-2) }]
        );
        // the element's name header is 4 bytes: u16 0, NUL, one byte of padding
        let elem = &t.get_array(b"a").unwrap().unwrap().as_bytes()[..12];
        assert_eq!(elem, [0x83, 0, 0, 10, 0, 0, 0, 0, b'x', 0, 0, 0]);
    }

    #[test]
    fn last_duplicate_wins_like_blobmsg_parse() {
        let mut buf = [0u8; 64];
        let mut w = Writer::new(&mut buf);
        w.string(b"k", b"one").unwrap();
        w.string(b"k", b"two").unwrap();
        let n = w.len();
        assert_eq!(Fields::new(&buf[..n]).get_str(b"k"), Ok(Some(&b"two"[..])));
    }

    #[test]
    fn malformed_areas_are_errors_never_panics() {
        // length below the header
        assert_eq!(Attrs::new(&[0, 0, 0, 3]).next(), Some(Err(Error::BadAttributeLength)));
        // length past the end
        assert_eq!(Attrs::new(&[0, 0, 0, 9, 1, 2, 3, 4]).next(), Some(Err(Error::BadAttributeLength)));
        // fewer than 4 bytes
        let mut it = Attrs::new(&[0, 0]);
        assert_eq!(it.next(), Some(Err(Error::BadAttributeLength)));
        assert_eq!(it.next(), None);
        // a name that runs past the field
        assert_eq!(Fields::new(&[0x83, 0, 0, 8, 0, 9, b'a', 0]).next(), Some(Err(Error::BadAttributeLength)));
        // a name without its NUL
        assert_eq!(
            Fields::new(&[0x83, 0, 0, 9, 0, 1, b'a', b'b', 0]).next(),
            Some(Err(Error::BadAttributeValue { kind: 3 }))
        );
        // a string without NUL, an int32 of 3 bytes
        assert_eq!(
            Fields::new(&[0x83, 0, 0, 9, 0, 0, 0, 0, b'x']).next(),
            Some(Err(Error::BadAttributeValue { kind: 3 }))
        );
        assert_eq!(
            Fields::new(&[0x85, 0, 0, 11, 0, 0, 0, 0, 1, 2, 3]).next(),
            Some(Err(Error::BadAttributeValue { kind: 5 }))
        );
        // lookups report the malformed field
        assert_eq!(
            Fields::new(&[0x85, 0, 0, 11, 0, 0, 0, 0, 1, 2, 3]).get(b"x"),
            Err(Error::BadAttributeValue { kind: 5 })
        );
        // unknown types survive; a field without the extended bit has no name
        let f = Fields::new(&[0x8c, 0, 0, 9, 0, 0, 0, 0, 7]).next().unwrap().unwrap();
        assert_eq!(f.value, Value::Unknown { kind: 12, data: &[7] });
        let f = Fields::new(&[0x05, 0, 0, 8, 0, 0, 0, 7]).next().unwrap().unwrap();
        assert_eq!(f, Field { name: b"", value: Value::Int32(7) });
        // typed getters check exact sizes
        let (a, _) = Attr::parse(&[0x01, 0, 0, 8, 0, 0, 0, 7]).unwrap();
        assert_eq!((a.id(), a.is_extended(), a.u32()), (1, false, Ok(7)));
        assert_eq!(a.u16(), Err(Error::BadAttributeValue { kind: 1 }));
        assert_eq!(a.u64(), Err(Error::BadAttributeValue { kind: 1 }));
        assert_eq!(a.cstr(), Err(Error::BadAttributeValue { kind: 1 }));
    }

    #[test]
    fn short_buffers_and_oversized_values_are_encode_errors() {
        for n in 0..ADD_DEVICE_ARGS.len() {
            let mut buf = std::vec![0u8; n];
            let mut w = Writer::new(&mut buf);
            let r = w.string(b"name", b"veth0").and_then(|_| w.bool(b"link-ext", true));
            assert_eq!(r, Err(EncodeError::BufferTooSmall), "{n} bytes");
        }
        let mut buf = [0u8; 16];
        let mut w = Writer::new(&mut buf);
        let n = w.table_start(b"t").unwrap();
        assert_eq!(w.int64(b"x", 1), Err(EncodeError::BufferTooSmall));
        w.nest_end(n).unwrap();
        assert_eq!(Writer::new(&mut [0u8; 16]).attr(0x80, &[]), Err(EncodeError::ValueTooLarge));
        let big = std::vec![0u8; MAX_LEN];
        let mut out = std::vec![0u8; MAX_LEN + 16];
        assert_eq!(Writer::new(&mut out).unspec(b"", &big), Err(EncodeError::ValueTooLarge));
        let long_name = std::vec![b'n'; 70_000];
        assert_eq!(Writer::new(&mut out).string(&long_name, b""), Err(EncodeError::ValueTooLarge));
    }

    #[derive(Clone, Debug)]
    enum Tree {
        Str(Vec<u8>),
        I8(i8),
        I16(i16),
        I32(i32),
        I64(i64),
        F64(f64),
        Raw(Vec<u8>),
        Table(Vec<(Vec<u8>, Tree)>),
        Array(Vec<Tree>),
    }

    fn tree() -> impl Strategy<Value = Tree> {
        let text = proptest::collection::vec(1u8..=255, 0..12);
        let leaf = prop_oneof![
            text.clone().prop_map(Tree::Str),
            any::<i8>().prop_map(Tree::I8),
            any::<i16>().prop_map(Tree::I16),
            any::<i32>().prop_map(Tree::I32),
            any::<i64>().prop_map(Tree::I64),
            any::<f64>().prop_filter("NaN has no equality", |f| !f.is_nan()).prop_map(Tree::F64),
            proptest::collection::vec(any::<u8>(), 0..9).prop_map(Tree::Raw),
        ];
        leaf.prop_recursive(4, 48, 6, move |inner| {
            prop_oneof![
                proptest::collection::vec((proptest::collection::vec(1u8..=255, 0..9), inner.clone()), 0..6)
                    .prop_map(Tree::Table),
                proptest::collection::vec(inner, 0..6).prop_map(Tree::Array),
            ]
        })
    }

    fn write(w: &mut Writer, name: &[u8], t: &Tree) -> Result<(), EncodeError> {
        match t {
            Tree::Str(s) => w.string(name, s),
            Tree::I8(v) => w.int8(name, *v),
            Tree::I16(v) => w.int16(name, *v),
            Tree::I32(v) => w.int32(name, *v),
            Tree::I64(v) => w.int64(name, *v),
            Tree::F64(v) => w.double(name, *v),
            Tree::Raw(v) => w.unspec(name, v),
            Tree::Table(kids) => w.table(name, |w| kids.iter().try_for_each(|(n, k)| write(w, n, k))),
            Tree::Array(kids) => w.array(name, |w| kids.iter().try_for_each(|k| write(w, b"", k))),
        }
    }

    fn check(f: &Field, name: &[u8], t: &Tree) {
        assert_eq!(f.name, name);
        match (t, f.value.clone()) {
            (Tree::Str(s), Value::String(v)) => assert_eq!(v, &s[..]),
            (Tree::I8(s), Value::Int8(v)) => assert_eq!(v, *s),
            (Tree::I16(s), Value::Int16(v)) => assert_eq!(v, *s),
            (Tree::I32(s), Value::Int32(v)) => assert_eq!(v, *s),
            (Tree::I64(s), Value::Int64(v)) => assert_eq!(v, *s),
            (Tree::F64(s), Value::Double(v)) => assert_eq!(v.to_bits(), s.to_bits()),
            (Tree::Raw(s), Value::Unspec(v)) => assert_eq!(v, &s[..]),
            (Tree::Table(kids), Value::Table(fields)) => {
                let got: Vec<Field> = fields.map(Result::unwrap).collect();
                assert_eq!(got.len(), kids.len());
                for (g, (n, k)) in got.iter().zip(kids) {
                    check(g, n, k);
                }
            }
            (Tree::Array(kids), Value::Array(fields)) => {
                let got: Vec<Field> = fields.map(Result::unwrap).collect();
                assert_eq!(got.len(), kids.len());
                for (g, k) in got.iter().zip(kids) {
                    check(g, b"", k);
                }
            }
            (t, v) => panic!("{t:?} decoded as {v:?}"),
        }
    }

    /// Re-encodes a decoded field through the typed writer, recursing into containers.
    fn reencode(w: &mut Writer, f: &Field) -> Result<(), EncodeError> {
        match &f.value {
            Value::Table(t) => w.table(f.name, |w| t.clone().try_for_each(|c| reencode(w, &c.unwrap()))),
            Value::Array(a) => w.array(f.name, |w| a.clone().try_for_each(|c| reencode(w, &c.unwrap()))),
            v => w.value(f.name, v),
        }
    }

    proptest! {
        #[test]
        fn round_trips(t in tree(), name in proptest::collection::vec(1u8..=255, 0..9)) {
            let mut buf = std::vec![0u8; 8192];
            let mut w = Writer::new(&mut buf);
            write(&mut w, &name, &t).unwrap();
            let len = w.len();
            prop_assert_eq!(len % 4, 0);
            let mut it = Fields::new(&buf[..len]);
            let f = it.next().unwrap().unwrap();
            prop_assert!(it.next().is_none());
            check(&f, &name, &t);
            let mut again = std::vec![0u8; 8192];
            let mut w2 = Writer::new(&mut again);
            reencode(&mut w2, &f).unwrap();
            prop_assert_eq!(w2.as_bytes(), &buf[..len]);
            let mut w3 = Writer::new(&mut again);
            w3.value(f.name, &f.value).unwrap();
            prop_assert_eq!(w3.as_bytes(), &buf[..len]);
            // every prefix is too small, never a panic
            let cut = len / 2;
            let mut short = std::vec![0u8; cut];
            prop_assert_eq!(write(&mut Writer::new(&mut short), &name, &t), Err(EncodeError::BufferTooSmall));
        }

        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..256)) {
            let mut stack = std::vec![Fields::new(&data)];
            let mut steps = 0;
            while let Some(mut fields) = stack.pop() {
                if let Some(Ok(f)) = fields.next() {
                    stack.push(fields);
                    match f.value {
                        Value::Table(t) | Value::Array(t) => stack.push(t),
                        v => { let _ = (v.as_str(), v.as_bool(), v.as_i64(), v.kind()); }
                    }
                }
                steps += 1;
                prop_assert!(steps < 10_000);
            }
            for a in Attrs::new(&data).flatten() {
                let _ = (a.u8(), a.u16(), a.u32(), a.u64(), a.cstr(), a.nested().count());
            }
        }
    }
}
