//! ubus messages and blobmsg walks over arbitrary bytes: no panic, no endless loop, and every
//! message that decodes re-emits as the bytes it came from.
#![no_main]

use apwatch_core::blob::{Attrs, Fields, Value};
use apwatch_core::ubus::{
    self, BssInfo, BssNotice, InterfaceEvent, InterfaceStatus, Invoke, Message, ObjectEvent, ObjectInfo,
};
use libfuzzer_sys::fuzz_target;

/// Walks a blobmsg area and everything nested in it, with an explicit stack (input nesting
/// must not become recursion depth).
fn walk(area: &[u8]) {
    let mut stack = vec![Fields::new(area)];
    while let Some(top) = stack.last_mut() {
        match top.next() {
            Some(Ok(f)) => match f.value {
                Value::Table(t) | Value::Array(t) => {
                    let _ = (t.get_str(b"device"), t.get_bool(b"up"));
                    stack.push(t);
                }
                v => {
                    let _ = (v.as_str(), v.as_bool(), v.as_i64(), v.kind());
                }
            },
            _ => {
                stack.pop();
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = ubus::frame_len(data);
    let mut rest = data;
    while let Ok((m, next)) = Message::parse(rest) {
        let _ = (m.status(), m.objid(), m.objpath(), m.method(), m.active(), m.no_reply(), m.user());
        let _ = m.attrs().count();
        let _ = ObjectInfo::parse(&m);
        if let Some(s) = m.subscribers() {
            let _ = s.count();
        }
        if let Ok(inv) = Invoke::parse(&m) {
            if let Some(d) = &inv.data {
                let _ = (ObjectEvent::parse(inv.method, d), InterfaceEvent::parse(inv.method, d));
                let _ = BssNotice::parse(inv.method, d);
            }
        }
        for area in [m.data(), m.signature()].into_iter().flatten() {
            let _ = (InterfaceStatus::parse(&area), BssInfo::parse(&area));
            walk(area.as_bytes());
        }
        let mut out = vec![0u8; m.buffer_len()];
        assert_eq!(m.emit(&mut out), Ok(m.buffer_len()));
        assert_eq!(&out[..], &rest[..m.buffer_len()]);
        rest = next;
    }
    walk(data);
    for a in Attrs::new(data).flatten() {
        let _ = (a.u8(), a.u16(), a.u32(), a.u64(), a.cstr(), a.field(), a.nested().count());
    }
});
