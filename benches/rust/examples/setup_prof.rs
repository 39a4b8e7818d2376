use std::time::Instant;
use nerlm_core::grammar::{Grammar, GrammarOptions};
fn main() {
    let traces: serde_json::Value = serde_json::from_str(&std::fs::read_to_string("/tmp/traces.json").unwrap()).unwrap();
    let labels: Vec<String> = ["人名","组织机构","景点","企业","电影","书名","政府","职位","地址","游戏"].iter().map(|s| s.to_string()).collect();
    let opts = GrammarOptions { grounded: true, ..Default::default() };
    for (i, f) in [(4, "iepile-json"), (4, "clue-fill"), (5, "xml-inline")] {
        let text = traces[i]["text"].as_str().unwrap().to_string();
        let mut best = u128::MAX; let mut first = 0;
        for k in 0..300 { let t = Instant::now(); std::hint::black_box(Grammar::compile(f, &labels, &text, &opts).unwrap()); let e = t.elapsed().as_nanos(); if k == 0 { first = e; } best = best.min(e); }
        println!("{f} {}: first {} µs, min {} µs", text.chars().count(), first / 1000, best / 1000);
    }
}
