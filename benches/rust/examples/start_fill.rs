//! The first entity-start fill of a fresh table, in Rust alone: what sets the mask p99 of
//! `benches/bench_tables.py` case A. For trace `WHICH` of a `--dump-traces` file, each of
//! `REPS` fresh tables takes the first five gold tokens (`{"人名": ["`) and fills the mask at
//! the start of the entity string; prints the best and mean fill.
//!
//! ```text
//! python benches/bench_tables.py --dump-traces /tmp/traces.json --cases A
//! cargo run --release -p nerlm-benches --example start_fill -- /tmp/traces.json WHICH REPS
//! ```

use std::sync::Arc;
use std::time::Instant;

use nerlm_benches::read_traces;
use nerlm_core::tables::{Matcher, TokenTable};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: start_fill TRACES.json WHICH REPS";
    let path = args.get(1).expect(usage);
    let which: usize = args.get(2).and_then(|x| x.parse().ok()).expect(usage);
    let reps: usize = args
        .get(3)
        .and_then(|x| x.parse().ok())
        .unwrap_or(300)
        .max(1);
    let tr = read_traces(path);
    let t = &tr.traces[which];
    let (format, text, trace) = (t.format.as_str(), t.text.as_str(), &t.trace);
    let mut row = vec![0u32; tr.words];
    let (mut best, mut sum) = (u128::MAX, 0u128);
    for _ in 0..reps {
        let table = Arc::new(
            TokenTable::compile(tr.vocab.clone(), format, &tr.labels, text, &tr.opts)
                .expect("grammar"),
        );
        let mut m = Matcher::new(table);
        for &tok in &trace[..5] {
            m.accept_token(tok).expect("gold token");
        }
        let t0 = Instant::now();
        let n = m.fill_bitmask(&mut row).expect("fill");
        let e = t0.elapsed().as_nanos();
        (best, sum) = (best.min(e), sum + e);
        std::hint::black_box(n);
    }
    println!(
        "{format} {} chars: entity-start fill best {:.1} µs, mean {:.1} µs over {reps} fresh tables",
        text.chars().count(),
        best as f64 / 1e3,
        sum as f64 / 1e3 / reps as f64
    );
}
