//! The first entity-start fill of a fresh table, in Rust alone: what sets the mask p99 of
//! `benches/bench_tables.py` case A. For trace `WHICH` of a `--dump-traces` file, each of
//! `REPS` fresh tables takes the first five gold tokens (`{"人名": ["`) and fills the mask at
//! the start of the entity string; prints the best, p10, p50, p90 and mean fill.
//!
//! Each table's fill finds the trie nodes its predecessor's fill just read in the caches. With
//! `EVICT_MB`, that many MiB are written between fills, so that the trie is cold as it is when
//! a request arrives after other work (4 evicts this VM's 512 KiB L2; 64 its 32 MiB L3 too).
//!
//! ```text
//! python benches/bench_tables.py --dump-traces /tmp/traces.json --cases A
//! cargo run --release -p nerlm-benches --example start_fill -- /tmp/traces.json WHICH REPS [EVICT_MB]
//! ```

use std::sync::Arc;
use std::time::Instant;

use nerlm_benches::{evict_caches, read_traces};
use nerlm_core::tables::{Matcher, TokenTable};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: start_fill TRACES.json WHICH REPS [EVICT_MB]";
    let path = args.get(1).expect(usage);
    let which: usize = args.get(2).and_then(|x| x.parse().ok()).expect(usage);
    let reps: usize = args
        .get(3)
        .and_then(|x| x.parse().ok())
        .unwrap_or(300)
        .max(1);
    let evict_mb: usize = args.get(4).map_or(0, |x| x.parse().expect(usage));
    let tr = read_traces(path);
    let t = &tr.traces[which];
    let (format, text, trace) = (t.format.as_str(), t.text.as_str(), &t.trace);
    let mut row = vec![0u32; tr.words];
    let mut junk = vec![0u8; evict_mb << 20];
    let mut all = Vec::with_capacity(reps);
    for _ in 0..reps {
        let table = Arc::new(
            TokenTable::compile(tr.vocab.clone(), format, &tr.labels, text, &tr.opts)
                .expect("grammar"),
        );
        let mut m = Matcher::new(table);
        for &tok in &trace[..5] {
            m.accept_token(tok).expect("gold token");
        }
        evict_caches(&mut junk);
        let t0 = Instant::now();
        let n = m.fill_bitmask(&mut row).expect("fill");
        all.push(t0.elapsed().as_nanos() as f64 / 1e3);
        std::hint::black_box(n);
    }
    let mean = all.iter().sum::<f64>() / reps as f64;
    all.sort_unstable_by(f64::total_cmp);
    let at = |q: f64| all[((reps - 1) as f64 * q) as usize];
    println!(
        "{format} {} chars, {evict_mb} MiB evicted between fills: entity-start fill best {:.1} \
         p10 {:.1} p50 {:.1} p90 {:.1} mean {mean:.1} µs over {reps} fresh tables",
        text.chars().count(),
        all[0],
        at(0.1),
        at(0.5),
        at(0.9),
    );
}
