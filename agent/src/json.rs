//! One document, two renderings: JSON text (`monitor --json`, `status --json`) and blobmsg (the
//! bus: `ubus call apwatch status`, `apwatch.ap` events), so nothing has to parse JSON back.
//!
//! JSON strings are escaped per RFC 8259; bytes that are not UTF-8 become \u00XX of the byte, so
//! an SSID can never break the document (`ssid_hex` carries the exact bytes). The blobmsg is what
//! libubox's `blobmsg_add_json_from_string` makes of that text: strings as the JSON decodes
//! (a byte that is not UTF-8 as U+00XX in UTF-8), integers as int32 when they fit, else int64
//! (else double), booleans as int8, objects as tables, arrays as arrays (the one exception:
//! [`Value::Seconds`]).

use std::fmt::Write;
use std::time::Duration;

use apwatch_core::blob::Writer;
use apwatch_core::EncodeError;

/// Writes a JSON string literal for arbitrary bytes.
pub fn string(out: &mut String, bytes: &[u8]) {
    out.push('"');
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x20 || c == '\u{7f}' => {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\u{:04x}", b);
        }
    }
    out.push('"');
}

/// The bytes a JSON reader gets back from [`string`]: a byte that is not UTF-8 as U+00XX.
fn decoded(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.extend_from_slice(chunk.valid().as_bytes());
        for &b in chunk.invalid() {
            out.extend_from_slice(char::from(b).encode_utf8(&mut [0; 4]).as_bytes());
        }
    }
    out
}

/// Seconds with six decimals, in integers (float formatting would pull in much more code).
fn seconds(out: &mut String, d: Duration) {
    let _ = write!(out, "{}.{:06}", d.as_secs(), d.subsec_micros());
}

/// One value of a document.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Str(Vec<u8>),
    /// A string that is already display text (an escaped SSID, hex, a MAC): the same as
    /// [`Value::Str`] in JSON and blobmsg; a text line ([`Object::line`]) shows it as it is.
    Shown(Vec<u8>),
    Num(u64),
    /// A time (`monitor --json`): seconds with six decimals; in blobmsg a string of the same
    /// text, not a double (float code would cost the binary more than the monitor needs).
    Seconds(Duration),
    Bool(bool),
    Object(Object),
    Array(Vec<Value>),
}

impl From<Object> for Value {
    fn from(o: Object) -> Self {
        Value::Object(o)
    }
}

impl Value {
    fn json(&self, out: &mut String) {
        match self {
            Value::Str(s) | Value::Shown(s) => string(out, s),
            Value::Num(n) => {
                let _ = write!(out, "{n}");
            }
            Value::Seconds(d) => seconds(out, *d),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Object(o) => o.json(out),
            Value::Array(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.json(out);
                }
                out.push(']');
            }
        }
    }

    fn blob(&self, w: &mut Writer<'_>, name: &[u8]) -> Result<(), EncodeError> {
        match self {
            Value::Str(s) | Value::Shown(s) => w.string(name, &decoded(s)),
            Value::Num(n) => match (i32::try_from(*n), i64::try_from(*n)) {
                (Ok(v), _) => w.int32(name, v),
                (_, Ok(v)) => w.int64(name, v),
                _ => w.double(name, *n as f64),
            },
            Value::Seconds(d) => {
                let mut text = String::new();
                seconds(&mut text, *d);
                w.string(name, text.as_bytes())
            }
            Value::Bool(b) => w.bool(name, *b),
            Value::Object(o) => {
                let n = w.table_start(name)?;
                o.write_blob(w)?;
                w.nest_end(n)
            }
            Value::Array(items) => {
                let n = w.array_start(name)?;
                for v in items {
                    v.blob(w, b"")?;
                }
                w.nest_end(n)
            }
        }
    }
}

/// One object, built field by field, in order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Object {
    fields: Vec<(&'static str, Value)>,
}

impl Object {
    pub fn new() -> Self {
        Object::default()
    }

    /// Any field.
    pub fn field(mut self, k: &'static str, v: Value) -> Self {
        self.fields.push((k, v));
        self
    }

    /// A string field.
    pub fn str(self, k: &'static str, v: &[u8]) -> Self {
        self.field(k, Value::Str(v.to_vec()))
    }

    /// A string field of anything displayable, formatted straight into the field.
    pub fn text(self, k: &'static str, v: &dyn std::fmt::Display) -> Self {
        self.field(k, Value::Shown(v.to_string().into_bytes()))
    }

    /// An SSID's two fields: `ssid`, escaped as `iw` prints it, and `ssid_hex`, its bytes.
    pub fn ssid(self, ssid: &[u8]) -> Self {
        self.text("ssid", &apwatch_core::escape::IwEscaped(ssid)).text("ssid_hex", &apwatch_core::escape::Hex(ssid))
    }

    /// A number field.
    pub fn num(self, k: &'static str, v: impl Into<u64>) -> Self {
        self.field(k, Value::Num(v.into()))
    }

    /// A boolean field.
    pub fn bool(self, k: &'static str, v: bool) -> Self {
        self.field(k, Value::Bool(v))
    }

    /// An optional field: omitted when `None`.
    pub fn opt_num(self, k: &'static str, v: Option<impl Into<u64>>) -> Self {
        match v {
            Some(v) => self.num(k, v),
            None => self,
        }
    }

    /// An array field.
    pub fn array(self, k: &'static str, items: Vec<Value>) -> Self {
        self.field(k, Value::Array(items))
    }

    fn json(&self, out: &mut String) {
        out.push('{');
        for (i, (k, v)) in self.fields.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            string(out, k.as_bytes());
            out.push(':');
            v.json(out);
        }
        out.push('}');
    }

    /// The JSON text.
    pub fn finish(&self) -> String {
        let mut out = String::new();
        self.json(&mut out);
        out
    }

    /// One text line (`apwatch monitor`): the first two fields' values (the source and the
    /// event), then ` name=value` for each other field but the `skip`ped ones; strings
    /// quoted, raw bytes escaped as SSIDs are; nested objects and arrays only in JSON.
    pub fn line(&self, skip: &[&str]) -> String {
        let mut out = String::new();
        for (i, (k, v)) in self.fields.iter().enumerate() {
            if skip.contains(k) {
                continue;
            }
            if i < 2 {
                if let Value::Str(s) | Value::Shown(s) = v {
                    let sep = if out.is_empty() { "" } else { " " };
                    let _ = write!(out, "{sep}{}", apwatch_core::escape::IwEscaped(s));
                }
                continue;
            }
            let _ = match v {
                Value::Str(s) => write!(out, " {k}=\"{}\"", apwatch_core::escape::IwEscaped(s)),
                Value::Shown(s) => write!(out, " {k}=\"{}\"", std::str::from_utf8(s).unwrap_or_default()),
                Value::Num(n) => write!(out, " {k}={n}"),
                Value::Bool(b) => write!(out, " {k}={b}"),
                Value::Seconds(_) | Value::Object(_) | Value::Array(_) => Ok(()),
            };
        }
        out
    }

    /// The fields as blobmsg (the contents of a table, e.g. a ubus DATA).
    pub fn write_blob(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        for (k, v) in &self.fields {
            v.blob(w, k.as_bytes())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apwatch_core::blob::{Fields, Value as Blob};

    #[test]
    fn escapes_hostile_bytes() {
        let mut s = String::new();
        string(&mut s, b"a\"b\\c\n\x00\xff\x80$(x)");
        assert_eq!(s, r#""a\"b\\c\n\u0000\u00ff\u0080$(x)""#);
        let mut u = String::from("[");
        string(&mut u, "é\r\t\x7f\x1fü\u{10348}".as_bytes());
        assert_eq!(u, "[\"é\\r\\t\\u007f\\u001fü\u{10348}\"");
        let o = Object::new().str("ssid", b"f\xffo").num("ifindex", 2u32).bool("up", true).finish();
        assert_eq!(o, r#"{"ssid":"f\u00ffo","ifindex":2,"up":true}"#);
    }

    #[test]
    fn blobmsg_is_what_libubox_makes_of_the_json() {
        let ap = Object::new().str("phy", b"phy0").num("ifindex", 2u32).num("since", 1_764_300_000u64);
        let o = Object::new()
            .array("aps", vec![ap.into()])
            .num("big", 3_000_000_000u64)
            .num("huge", u64::MAX)
            .field("t", Value::Seconds(Duration::new(1_764_300_000, 123_456_789)))
            .bool("yes", true)
            .bool("no", false)
            .field("e", Object::new().into())
            .array("a", vec![])
            .str("s", b"q\"b\\s/\xff\n\x00");
        assert_eq!(
            o.finish(),
            r#"{"aps":[{"phy":"phy0","ifindex":2,"since":1764300000}],"big":3000000000,"huge":18446744073709551615,"t":1764300000.123456,"yes":true,"no":false,"e":{},"a":[],"s":"q\"b\\s/\u00ff\n\u0000"}"#
        );
        let mut buf = vec![0u8; 1024];
        let mut w = Writer::new(&mut buf);
        o.write_blob(&mut w).unwrap();
        let n = w.len();
        let t = Fields::new(&buf[..n]);
        let ap = t.get_array(b"aps").unwrap().unwrap().next().unwrap().unwrap().value.as_table().unwrap();
        assert_eq!(ap.get_str(b"phy"), Ok(Some(&b"phy0"[..])));
        assert_eq!(ap.get(b"ifindex"), Ok(Some(Blob::Int32(2))));
        assert_eq!(ap.get(b"since"), Ok(Some(Blob::Int32(1_764_300_000))));
        assert_eq!(t.get(b"big"), Ok(Some(Blob::Int64(3_000_000_000))));
        assert_eq!(t.get(b"huge"), Ok(Some(Blob::Double(18446744073709551615.0))));
        assert_eq!(t.get_str(b"t"), Ok(Some(&b"1764300000.123456"[..])));
        assert_eq!((t.get_bool(b"yes"), t.get_bool(b"no")), (Ok(Some(true)), Ok(Some(false))));
        assert_eq!(t.get_table(b"e").unwrap().map(|e| e.count()), Some(0));
        assert_eq!(t.get_array(b"a").unwrap().map(|e| e.count()), Some(0));
        let s: &[u8] = "q\"b\\s/\u{ff}\n\0".as_bytes();
        assert_eq!(t.get_str(b"s"), Ok(Some(s)));
        assert_eq!(t.count(), 9);
        assert_eq!(o.write_blob(&mut Writer::new(&mut [0u8; 8])), Err(EncodeError::BufferTooSmall));
    }
}
