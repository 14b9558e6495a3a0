//! `callgrind-policy value|into ITERS`: the policy bench's decision (8 interfaces, 8 rules) ITERS
//! times, as a new plan returned by value (`reconcile`) or refilled in place (`reconcile_into`),
//! for instruction counts under `valgrind --tool=callgrind`, e.g. with the empty run subtracted:
//! `valgrind --tool=callgrind target/release/callgrind-policy into 2000` (the bench profile).
use apwatch_bench::policy_fixture;
use apwatch_core::config::Backend;
use apwatch_core::policy::{self, Lan, Plan};
use std::hint::black_box;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (mode, iters) = match &args[..] {
        [_, m, n] => (m.as_str(), n.parse::<u64>().unwrap_or(1)),
        _ => {
            eprintln!("usage: callgrind-policy value|into ITERS");
            std::process::exit(2);
        }
    };
    let (ifaces, cfg) = policy_fixture();
    let mut plan = Plan::default();
    let mut sum = 0usize;
    for _ in 0..iters {
        if mode == "into" {
            policy::reconcile_into(
                &mut plan,
                black_box(&ifaces),
                black_box(&cfg.rules),
                Backend::Rtnl,
                &Lan::default(),
            );
        } else {
            plan = policy::reconcile(black_box(&ifaces), black_box(&cfg.rules), Backend::Rtnl);
        }
        sum = sum.wrapping_add(black_box(&plan).actions.len());
    }
    println!("{sum}");
}
