//! The ubus benchmark measures real round trips: the peer answers with the recorded ubusd +
//! netifd bytes, and the native client and the CLI stand-in send the recorded CLI's bytes and
//! get STATUS 0 (and the failures the real pair gives where they should fail).

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::Ordering;

use apwatch::ubus::{Client, Error};
use apwatch_bench::ubus_peer::{Peer, Recorded, OBJECT_ID};
use apwatch_core::ubus::Status;

const CLI: &str = env!("CARGO_BIN_EXE_ubus-call");
const ARGS: &str = r#"{"name":"veth0","link-ext":true}"#;

fn sock(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("apwatch-bench-test-{}-{name}.sock", std::process::id()))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The bytes with the header's seq and peer zeroed.
fn masked(b: &[u8]) -> String {
    let mut b = b.to_vec();
    b[2..8].fill(0);
    hex(&b)
}

fn last_invoke(p: &Peer) -> Vec<u8> {
    p.stats().last_invoke.lock().unwrap().clone()
}

fn cli(path: &Path, object: &str, json: &str) -> i32 {
    let out =
        Command::new(CLI).args(["-s", path.to_str().unwrap(), "call", object, "add_device", json]).output().unwrap();
    assert!(out.stdout.is_empty(), "add_device has no DATA to print");
    out.status.code().unwrap()
}

#[test]
fn the_capture_is_the_cli_connection() {
    let r = Recorded::load();
    let lens = [&r.hello, &r.lookup, &r.lookup_data, &r.lookup_status, &r.invoke, &r.invoke_status].map(|m| m.len());
    assert_eq!(lens, [12, 40, 352, 20, 80, 28]);
    assert_eq!(&r.invoke[..8], &[0, 5, 0, 2, 0x6a, 0x14, 0xba, 0x8c], "INVOKE seq 2 to the object");
}

#[test]
fn the_peer_answers_the_recorded_requests_with_the_recorded_replies() {
    let r = Recorded::load();
    let p = Peer::start(&sock("raw")).unwrap();
    for _ in 0..2 {
        let mut s = UnixStream::connect(p.path()).unwrap();
        let mut hello = [0u8; 12];
        s.read_exact(&mut hello).unwrap();
        assert_eq!(masked(&hello), masked(&r.hello), "HELLO, a client id in the peer field");
        assert_eq!(
            u64::from(u32::from_be_bytes(hello[4..8].try_into().unwrap())),
            p.stats().last_client_id.load(Ordering::Relaxed)
        );
        s.write_all(&r.lookup).unwrap();
        let mut got = vec![0u8; r.lookup_data.len() + r.lookup_status.len()];
        s.read_exact(&mut got).unwrap();
        assert_eq!(hex(&got), hex(&[r.lookup_data.clone(), r.lookup_status.clone()].concat()));
        s.write_all(&r.invoke).unwrap();
        let mut got = vec![0u8; r.invoke_status.len()];
        s.read_exact(&mut got).unwrap();
        assert_eq!(hex(&got), hex(&r.invoke_status));
    }
    let st = p.stats();
    assert_eq!(st.connections.load(Ordering::Relaxed), 2);
    assert_eq!((st.lookups.load(Ordering::Relaxed), st.added.load(Ordering::Relaxed)), (2, 2));
    assert_eq!(st.refused.load(Ordering::Relaxed), 0);
}

#[test]
fn ids_differ_per_connection() {
    let p = Peer::start(&sock("ids")).unwrap();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let mut s = UnixStream::connect(p.path()).unwrap();
        let mut hello = [0u8; 12];
        s.read_exact(&mut hello).unwrap();
        ids.push(u32::from_be_bytes(hello[4..8].try_into().unwrap()));
    }
    ids.dedup();
    assert_eq!(ids.len(), 3, "{ids:x?}");
}

#[test]
fn native_client_long_lived_and_cold() {
    let r = Recorded::load();
    let p = Peer::start(&sock("native")).unwrap();
    let mut c = Client::new(Some(p.path()));
    for _ in 0..3 {
        c.add_device("guest", b"veth0", true, None).unwrap();
        assert_eq!(masked(&last_invoke(&p)), masked(&r.invoke));
    }
    // one connection, one lookup (cached), three INVOKEs with their own seqs
    let st = p.stats();
    assert_eq!((st.connections.load(Ordering::Relaxed), st.lookups.load(Ordering::Relaxed)), (1, 1));
    assert_eq!(st.added.load(Ordering::Relaxed), 3);
    assert_eq!(&last_invoke(&p)[2..8], &[0, 4, 0x6a, 0x14, 0xba, 0x8c]);

    // cold: a fresh client sends exactly what the CLI sent (LOOKUP seq 1, INVOKE seq 2)
    for _ in 0..2 {
        let mut cold = Client::new(Some(p.path()));
        cold.add_device("guest", b"veth0", true, None).unwrap();
        assert_eq!(hex(&last_invoke(&p)), hex(&r.invoke));
    }
    assert_eq!((st.connections.load(Ordering::Relaxed), st.added.load(Ordering::Relaxed)), (3, 5));

    // what fails with the real pair fails here
    assert_eq!(c.add_device("nosuch", b"veth0", true, None), Err(Error::Status(Status::NotFound)));
    assert_eq!(st.refused.load(Ordering::Relaxed), 1);
    // the name the bench uses (wlan0) is the same length: the same INVOKE but for the name
    c.add_device("guest", b"wlan0", true, None).unwrap();
    let inv = last_invoke(&p);
    assert_eq!(inv.len(), r.invoke.len());
    assert!(inv.windows(5).any(|w| w == b"wlan0"));
    drop(c);
}

#[test]
fn cli_stand_in_round_trip_and_exit_statuses() {
    let r = Recorded::load();
    let p = Peer::start(&sock("cli")).unwrap();
    assert_eq!(cli(p.path(), "network.interface.guest", ARGS), 0);
    assert_eq!(hex(&last_invoke(&p)), hex(&r.invoke), "the recorded CLI's INVOKE, byte for byte");
    let st = p.stats();
    assert_eq!((st.connections.load(Ordering::Relaxed), st.lookups.load(Ordering::Relaxed)), (1, 1));
    assert_eq!(st.added.load(Ordering::Relaxed), 1);

    // the CLI's exit statuses: LOOKUP NOT_FOUND 4, INVOKE INVALID_ARGUMENT 256 − 2
    assert_eq!(cli(p.path(), "network.interface.nosuch", ARGS), 4);
    assert_eq!(cli(p.path(), "network.interface.guest", r#"{"link-ext":true}"#), 254);
    assert_eq!(cli(p.path(), "network.interface.guest", "{"), 255, "bad JSON");
    assert_eq!(st.added.load(Ordering::Relaxed), 1);
    assert_eq!(st.refused.load(Ordering::Relaxed), 2);
    assert_eq!(cli(&sock("nobody-listens"), "network.interface.guest", ARGS), 255);
    assert_eq!(OBJECT_ID, u32::from_be_bytes(r.invoke[4..8].try_into().unwrap()));
}
