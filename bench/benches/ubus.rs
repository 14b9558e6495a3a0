//! One netifd `add_device` round trip over ubus, the agent's way against the old backend's: the
//! native client on its long-lived connection (ids cached, as `apwatch run` calls it), the same
//! client connecting afresh each time, and a process per call as the old backend spawned
//! `ubus call network.interface.<net> add_device {...}` (here the stand-in `ubus-call`, see
//! its header). All against one peer (`apwatch_bench::ubus_peer`); `/bin/true` spawned the
//! same way is the floor of any process per call.

use std::hint::black_box;
use std::path::Path;
use std::process::Command;

use apwatch::ubus::Client;
use apwatch_bench::ubus_peer::Peer;
use criterion::{criterion_group, criterion_main, Criterion};

const CLI: &str = env!("CARGO_BIN_EXE_ubus-call");
/// What the old backend passed (`bridge.rs` before the native client).
const ARGS: &str = r#"{"name":"wlan0","link-ext":true}"#;

fn spawn(program: &str, args: &[&str]) -> bool {
    Command::new(program).args(args).status().is_ok_and(|s| s.success())
}

fn round_trip(c: &mut Criterion) {
    let sock = std::env::temp_dir().join(format!("apwatch-bench-ubus-{}.sock", std::process::id()));
    let peer = Peer::start(&sock).unwrap();
    let path = peer.path().to_str().unwrap().to_owned();
    let mut g = c.benchmark_group("ubus_add_device");

    let mut client = Client::new(Some(peer.path()));
    client.add_device("guest", b"wlan0", true, None).unwrap(); // connected, ids cached
    g.bench_function("native", |b| {
        b.iter(|| assert!(client.add_device(black_box("guest"), b"wlan0", true, None).is_ok()))
    });
    drop(client);

    g.bench_function("native_cold", |b| {
        b.iter(|| {
            let mut c = Client::new(Some(peer.path()));
            assert!(c.add_device(black_box("guest"), b"wlan0", true, None).is_ok());
        })
    });

    let argv = ["-s", &path, "call", "network.interface.guest", "add_device", ARGS];
    g.bench_function("spawn_cli", |b| b.iter(|| assert!(spawn(CLI, &argv))));

    if Path::new("/bin/true").exists() {
        g.bench_function("spawn_true", |b| b.iter(|| assert!(spawn("/bin/true", &[]))));
    }
    g.finish();

    let s = peer.stats();
    eprintln!(
        "peer: {} connections, {} lookups, {} added, {} refused",
        s.connections.load(std::sync::atomic::Ordering::Relaxed),
        s.lookups.load(std::sync::atomic::Ordering::Relaxed),
        s.added.load(std::sync::atomic::Ordering::Relaxed),
        s.refused.load(std::sync::atomic::Ordering::Relaxed),
    );
    assert_eq!(s.refused.load(std::sync::atomic::Ordering::Relaxed), 0, "a round trip failed");
}

criterion_group!(benches, round_trip);
criterion_main!(benches);
