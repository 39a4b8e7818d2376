//! Replay gold token traces through the decoding tables in Rust alone and print setup and
//! per-step fill times (the binding's share of `benches/bench_tables.py` is the difference).
//!
//! ```text
//! python benches/bench_tables.py --dump-traces /tmp/traces.json
//! cargo run --release -p nerlm-benches --example replay -- /tmp/traces.json [REPS]
//! ```
//!
//! Cold = the first replay on a fresh table (caches empty); warm = the fastest of the other
//! replays, each on a fresh table too, so only process-wide effects (allocator, CPU caches)
//! differ.

use std::sync::Arc;
use std::time::Instant;

use nerlm_benches::{percentile, read_traces};
use nerlm_core::tables::{Matcher, TokenTable};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).expect("usage: replay TRACES.json [REPS]");
    let reps: usize = args.get(2).and_then(|x| x.parse().ok()).unwrap_or(5).max(2);
    let tr = read_traces(path);
    for t in &tr.traces {
        let (format, text, trace) = (t.format.as_str(), t.text.as_str(), &t.trace);
        let mut setup = Vec::new();
        let mut fills: Vec<Vec<u128>> = vec![Vec::new(); reps];
        for fill in fills.iter_mut() {
            let t0 = Instant::now();
            let table = Arc::new(
                TokenTable::compile(tr.vocab.clone(), format, &tr.labels, text, &tr.opts)
                    .expect("grammar"),
            );
            setup.push(t0.elapsed().as_nanos());
            let mut m = Matcher::new(table);
            let mut row = vec![0u32; tr.words];
            for &tok in trace {
                let t0 = Instant::now();
                m.fill_bitmask(&mut row).expect("fill");
                fill.push(t0.elapsed().as_nanos());

                m.accept_token(tok).expect("gold token");
            }
        }
        let mut cold = fills[0].clone();
        cold.sort_unstable();
        let mut warm = fills[1..]
            .iter()
            .map(|f| {
                let mut f = f.clone();
                f.sort_unstable();
                f
            })
            .min_by_key(|f| percentile(f, 0.5))
            .expect("reps >= 2");
        warm.sort_unstable();
        println!(
            "{format:>11} {:>6} chars: setup first {:>7.1} µs, min {:>7.1} µs | fill cold p50 {:.2} p90 {:.2} p99 {:.2} max {:.1} µs | warm p50 {:.2} p99 {:.2} µs",
            text.chars().count(),
            setup[0] as f64 / 1e3,
            *setup.iter().min().expect("reps") as f64 / 1e3,
            percentile(&cold, 0.5) as f64 / 1e3,
            percentile(&cold, 0.9) as f64 / 1e3,
            percentile(&cold, 0.99) as f64 / 1e3,
            *cold.last().expect("steps") as f64 / 1e3,
            percentile(&warm, 0.5) as f64 / 1e3,
            percentile(&warm, 0.99) as f64 / 1e3,
        );
    }
}
