//! `callgrind-decode DECODER INPUT ITERS`: runs one decoder over one input, for instruction
//! counts under `valgrind --tool=callgrind` (see bench/callgrind.sh).
use apwatch_bench::{apwatch, buffer, floor, wl, NL80211_MIX, START_AP};
use std::hint::black_box;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (decoder, input, iters) = match &args[..] {
        [_, d, i, n] => (d.as_str(), i.as_str(), n.parse::<u64>().unwrap_or(1)),
        _ => {
            eprintln!("usage: callgrind-decode apwatch|wl|floor start_ap|mixed64 ITERS");
            std::process::exit(2);
        }
    };
    let buf = if input == "start_ap" { START_AP.to_vec() } else { buffer(NL80211_MIX, 64) };
    let f: fn(&[u8]) -> u64 = match decoder {
        "apwatch" => apwatch,
        "wl" => wl,
        _ => floor,
    };
    let mut sum = 0u64;
    for _ in 0..iters {
        sum = sum.wrapping_add(f(black_box(&buf)));
    }
    println!("{sum}");
}
