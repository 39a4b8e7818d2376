//! Replay gold token traces (JSON from a file) and print Rust-only fill times per step kind.
use std::sync::Arc;
use std::time::Instant;
use nerlm_core::grammar::{Grammar, GrammarOptions};
use nerlm_core::tables::{bitmask_words, Matcher, TokenTable};
use nerlm_core::vocab::Vocab;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let json = std::fs::read_to_string(&args[1]).unwrap();
    let traces: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&args[2]).unwrap()).unwrap();
    let vocab = Arc::new(Vocab::from_tokenizer_json(&json, &[151_643]).unwrap());
    let labels: Vec<String> = ["人名","组织机构","景点","企业","电影","书名","政府","职位","地址","游戏"].iter().map(|s| s.to_string()).collect();
    let opts = GrammarOptions { grounded: true, ..Default::default() };
    for t in traces.as_array().unwrap() {
        let case = t["case"].as_str().unwrap();
        let fmt = if case == "A" { "iepile-json" } else { "xml-inline" };
        let text = t["text"].as_str().unwrap();
        let trace: Vec<u32> = t["trace"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect();
        let reps: usize = std::env::var("REPS").ok().and_then(|x| x.parse().ok()).unwrap_or(5);
        let mut all = vec![Vec::new(); trace.len()];
        let mut setup = Vec::new();
        for _ in 0..reps {
            let t0 = Instant::now();
            let g = Grammar::compile(fmt, &labels, text, &opts).unwrap();
            let table = Arc::new(TokenTable::new(vocab.clone(), g));
            setup.push(t0.elapsed().as_nanos());
            let mut m = Matcher::new(table);
            let mut row = vec![0u32; bitmask_words(151_936)];
            for (i, &tok) in trace.iter().enumerate() {
                let t0 = Instant::now();
                let n = m.fill_bitmask(&mut row).unwrap();
                all[i].push((t0.elapsed().as_nanos(), n));
                m.accept_token(tok).unwrap();
            }
        }
        // first rep = cold
        let mut cold: Vec<u128> = all.iter().map(|v| v[0].0).collect();
        let mut warm: Vec<u128> = all.iter().map(|v| v[1..].iter().map(|x| x.0).min().unwrap()).collect();
        cold.sort(); warm.sort();
        let p = |v: &Vec<u128>, q: f64| v[((v.len() as f64 * q).ceil() as usize).saturating_sub(1).min(v.len()-1)];
        setup.sort();
        println!("{case} {:>5}: setup {:>8} ns | cold p50 {:>6} p90 {:>6} p99 {:>7} max {:>7} | warm p50 {:>6}", t["size"], setup[0], p(&cold,0.5), p(&cold,0.9), p(&cold,0.99), cold[cold.len()-1], p(&warm,0.5));
        if args.len() > 3 {
            for (i, v) in all.iter().enumerate() { println!("  {i} tok {} n={} cold {}", trace[i], v[0].1, v[0].0); }
        }
    }
}
