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

use nerlm_benches::read_shared;
use nerlm_core::grammar::GrammarOptions;
use nerlm_core::tables::{bitmask_words, Matcher, TokenTable};
use nerlm_core::vocab::Vocab;

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
    let json = read_shared("tokenizers/qwen2.5/tokenizer.json");
    let dump: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("traces")).expect("JSON");
    let vocab = Arc::new(Vocab::from_tokenizer_json(&json, &[151_643]).expect("vocab"));
    let labels: Vec<String> = dump["labels"]
        .as_array()
        .expect("labels")
        .iter()
        .map(|l| l.as_str().expect("label").to_string())
        .collect();
    let opts = GrammarOptions {
        grounded: true,
        ..Default::default()
    };
    let words = bitmask_words(dump["vocab_size"].as_u64().expect("vocab_size") as usize);
    let t = &dump["traces"][which];
    let format = t["format"].as_str().expect("format");
    let text = t["text"].as_str().expect("text");
    let trace: Vec<u32> = t["trace"]
        .as_array()
        .expect("trace")
        .iter()
        .map(|x| x.as_u64().expect("token id") as u32)
        .collect();
    let mut row = vec![0u32; words];
    let (mut best, mut sum) = (u128::MAX, 0u128);
    for _ in 0..reps {
        let table = Arc::new(
            TokenTable::compile(vocab.clone(), format, &labels, text, &opts).expect("grammar"),
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
