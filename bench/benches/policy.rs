//! The agent's decision path without I/O: one event decided into actions (policy alone), and a
//! 10 000-event burst through the pipeline (decode → hint queue → dirty set → one reconcile).

use apwatch_bench::{burst_hints, policy_fixture};
use apwatch_core::config::Backend;
use apwatch_core::pipeline::{DirtySet, Pipeline};
use apwatch_core::policy::{self, Lan, Plan};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use std::hint::black_box;

fn decide(c: &mut Criterion) {
    let (ifaces, cfg) = policy_fixture();
    let rules = cfg.rules;
    let mut g = c.benchmark_group("policy");
    g.throughput(Throughput::Elements(1));
    g.bench_function("event_to_actions", |b| {
        b.iter(|| policy::reconcile(black_box(&ifaces), black_box(&rules), Backend::Rtnl))
    });
    // the same decision into a plan kept across reconciles (no new 12 KB plan to zero and return)
    let mut plan = Plan::default();
    g.bench_function("event_to_actions_in_place", |b| {
        b.iter(|| {
            policy::reconcile_into(&mut plan, black_box(&ifaces), black_box(&rules), Backend::Rtnl, &Lan::default());
            black_box(plan.actions.len())
        })
    });
    g.finish();

    let frames = burst_hints(10_000);
    let mut g = c.benchmark_group("pipeline");
    g.throughput(Throughput::Elements(10_000));
    g.bench_function("burst_10000_events", |b| {
        b.iter_batched(
            || (Pipeline::<NoopRawMutex, 64>::new(), DirtySet::default()),
            |(p, mut dirty)| {
                let mut resyncs = 0;
                for chunk in frames.chunks(64) {
                    // the reader decodes a datagram's worth of events, the reconciler drains
                    for &buf in chunk {
                        apwatch_bench::hint_from_frame(buf, &p);
                    }
                    resyncs += usize::from(p.drain(&mut dirty));
                }
                let plan = policy::reconcile(black_box(&ifaces), black_box(&rules), Backend::Rtnl);
                (resyncs, dirty.ids().len(), plan.actions.len())
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, decide);
criterion_main!(benches);
