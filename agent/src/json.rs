//! A small JSON writer for `monitor --json`, `status --json` and the state file: strings are
//! escaped per RFC 8259 (bytes that are not UTF-8 become \u00XX of the byte, so an SSID can
//! never break the document; `ssid_hex` carries the exact bytes).

use std::fmt::Write;

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

/// Builds one JSON object, field by field.
pub struct Object {
    out: String,
    first: bool,
}

impl Object {
    /// `{`
    pub fn new() -> Self {
        Object { out: String::from("{"), first: true }
    }

    fn key(&mut self, k: &str) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        string(&mut self.out, k.as_bytes());
        self.out.push(':');
    }

    /// A string field.
    pub fn str(mut self, k: &str, v: &[u8]) -> Self {
        self.key(k);
        string(&mut self.out, v);
        self
    }

    /// A number field.
    pub fn num(mut self, k: &str, v: impl std::fmt::Display) -> Self {
        self.key(k);
        let _ = write!(self.out, "{v}");
        self
    }

    /// A boolean field.
    pub fn bool(mut self, k: &str, v: bool) -> Self {
        self.key(k);
        self.out.push_str(if v { "true" } else { "false" });
        self
    }

    /// A field whose value is already JSON.
    pub fn raw(mut self, k: &str, json: &str) -> Self {
        self.key(k);
        self.out.push_str(json);
        self
    }

    /// An optional field: omitted when `None`.
    pub fn opt_num(self, k: &str, v: Option<impl std::fmt::Display>) -> Self {
        match v {
            Some(v) => self.num(k, v),
            None => self,
        }
    }

    /// `}`
    pub fn finish(mut self) -> String {
        self.out.push('}');
        self.out
    }
}

/// A JSON array of already-encoded values.
pub fn array(items: &[String]) -> String {
    format!("[{}]", items.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_hostile_bytes() {
        let mut s = String::new();
        string(&mut s, b"a\"b\\c\n\x00\xff\x80$(x)");
        assert_eq!(s, r#""a\"b\\c\n\u0000\u00ff\u0080$(x)""#);
        let o = Object::new().str("ssid", b"f\xffo").num("ifindex", 2).bool("up", true).finish();
        assert_eq!(o, r#"{"ssid":"f\u00ffo","ifindex":2,"up":true}"#);
    }
}
