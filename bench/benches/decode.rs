//! ns per message: one START_AP, and a 64-message mixed nl80211 buffer, decoded by apwatch-core,
//! wl-nl80211 and the hand-written floor, side by side in one run.

use apwatch_bench::{apwatch, buffer, floor, wl, NL80211_MIX, START_AP};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;

fn decode(c: &mut Criterion) {
    let mixed = buffer(NL80211_MIX, 64);
    for (name, buf, n) in [("start_ap", START_AP.to_vec(), 1u64), ("mixed64", mixed, 64)] {
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Elements(n));
        g.bench_with_input(BenchmarkId::new("apwatch", n), &buf, |b, buf| b.iter(|| apwatch(black_box(buf))));
        g.bench_with_input(BenchmarkId::new("floor", n), &buf, |b, buf| b.iter(|| floor(black_box(buf))));
        g.bench_with_input(BenchmarkId::new("wl-nl80211", n), &buf, |b, buf| b.iter(|| wl(black_box(buf))));
        g.finish();
    }
}

criterion_group!(benches, decode);
criterion_main!(benches);
