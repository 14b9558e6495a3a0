//! `ubus-call [-s SOCKET] [-t SECONDS] call OBJECT METHOD [JSON]`: a stand-in for OpenWrt's C
//! `ubus` CLI in the benchmark `ubus` (no C `ubus` exists on the build machine or in a registry).
//!
//! One process does what `ubus call` does per run: connect, read ubusd's HELLO, turn the JSON
//! into blobmsg, LOOKUP the object, INVOKE the method, wait for its STATUS, exit. It does that
//! with the agent's own client (`apwatch::ubus::Client`, a fresh one per process), so the bytes
//! on the socket are the CLI's (LOOKUP seq 1, INVOKE seq 2, checked against the recording in
//! `tests/ubus_roundtrip.rs`) and the protocol work is the same as the benchmark's native
//! cold path: spawn − native cold is the price of the process itself.
//!
//! What differs from the C CLI: that one is linked dynamically against libubus, libubox,
//! libblobmsg_json and json-c (plus libc), so each run also maps and relocates those libraries;
//! this binary links its Rust code (client, codec, serde_json for the JSON as the CLI uses
//! json-c) statically and only libc and
//! libgcc_s dynamically, so the measured spawn cost is a lower bound for the real CLI's. It prints nothing for a reply without DATA
//! (add_device has none) and does not format DATA as JSON.
//!
//! Exit status, as the capture README records the CLI's: 0; a failed LOOKUP its status (4);
//! a failed INVOKE 256 − status; no socket, bad JSON or bad arguments 255.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use apwatch::ubus::{Client, Error};
use apwatch_core::blob::Writer;
use apwatch_core::EncodeError;
use serde_json::{Map, Value};

/// One JSON value as blobmsg the way libblobmsg_json types it: integers as int32 when they fit,
/// else int64; booleans as int8; other numbers as double.
fn field(w: &mut Writer<'_>, name: &[u8], v: &Value) -> Result<(), EncodeError> {
    match v {
        Value::Null => w.field(apwatch_core::blob::Type::Unspec, name, &[]),
        Value::Bool(b) => w.bool(name, *b),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => match i32::try_from(i) {
                Ok(i) => w.int32(name, i),
                Err(_) => w.int64(name, i),
            },
            (None, Some(f)) => w.double(name, f),
            (None, None) => Err(EncodeError::ValueTooLarge),
        },
        Value::String(s) => w.string(name, s.as_bytes()),
        Value::Array(a) => w.array(name, |w| a.iter().try_for_each(|v| field(w, b"", v))),
        Value::Object(o) => w.table(name, |w| table(w, o)),
    }
}

fn table(w: &mut Writer<'_>, o: &Map<String, Value>) -> Result<(), EncodeError> {
    o.iter().try_for_each(|(k, v)| field(w, k.as_bytes(), v))
}

fn usage() -> ExitCode {
    eprintln!("usage: ubus-call [-s SOCKET] [-t SECONDS] call OBJECT METHOD [JSON]");
    ExitCode::from(255)
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut socket: Option<PathBuf> = None;
    let mut timeout = Duration::from_secs(30); // the CLI's default `-t`
    let mut rest = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "-s" => socket = args.next().map(PathBuf::from),
            "-t" => match args.next().and_then(|t| t.parse().ok()) {
                Some(s) => timeout = Duration::from_secs(s),
                None => return usage(),
            },
            _ => rest.push(a),
        }
    }
    let (object, method, json) = match &rest[..] {
        [cmd, o, m] if cmd == "call" => (o.as_str(), m.as_str(), "{}"),
        [cmd, o, m, j] if cmd == "call" => (o.as_str(), m.as_str(), j.as_str()),
        _ => return usage(),
    };
    // the CLI parses the message before it connects
    let args: Map<String, Value> = match serde_json::from_str(json) {
        Ok(Value::Object(o)) => o,
        _ => {
            eprintln!("Failed to parse message data");
            return ExitCode::from(255);
        }
    };
    let mut client = Client::new(socket.as_deref());
    client.set_timeout(timeout);
    let write_args = |w: &mut Writer<'_>| table(w, &args);
    match client.invoke(object, method, write_args) {
        Ok(reply) if reply.status.code() == 0 => ExitCode::SUCCESS,
        Ok(reply) => {
            eprintln!("Command failed: {}", reply.status.name());
            ExitCode::from(u8::try_from(256 - reply.status.code().min(255)).unwrap_or(255))
        }
        Err(Error::Status(s)) => {
            eprintln!("Command failed: {}", s.name());
            ExitCode::from(u8::try_from(s.code()).unwrap_or(255))
        }
        Err(e) => {
            eprintln!("Failed to connect to ubus: {e}");
            ExitCode::from(255)
        }
    }
}
