//! The 10-label grounded `iepile-json` grammar over the first 3,821 characters of CLUENER dev,
//! built in Rust alone: the first build of the process, the second, then the mean of `ITERS`
//! (default 2,000) more. For callgrind/perf runs of the per-request setup of issue #3:
//! `ITERS=200 valgrind --tool=callgrind target/release/examples/build_prof`.

use std::time::Instant;

use nerlm_core::grammar::{Grammar, GrammarOptions};

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared");
const CHARS: usize = 3821;

fn main() {
    let dev = std::fs::read_to_string(format!("{SHARED}/data/cluener/dev.json")).expect("dev");
    let mut text = String::new();
    for line in dev.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON");
        text.push_str(v["text"].as_str().expect("text"));
        if text.chars().count() >= CHARS {
            break;
        }
    }
    let text: String = text.chars().take(CHARS).collect();
    let labels: Vec<String> = [
        "人名",
        "组织机构",
        "景点",
        "企业",
        "电影",
        "书名",
        "政府",
        "职位",
        "地址",
        "游戏",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let opts = GrammarOptions {
        grounded: true,
        ..Default::default()
    };
    let build = || Grammar::compile("iepile-json", &labels, &text, &opts).expect("grammar");
    for which in ["first", "second"] {
        let t = Instant::now();
        std::hint::black_box(build());
        eprintln!("{which} build: {:.1} µs", t.elapsed().as_secs_f64() * 1e6);
    }
    let n: usize = std::env::var("ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(build());
    }
    eprintln!(
        "mean of {n} builds: {:.1} µs",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );
}
